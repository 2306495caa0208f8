//! Satisfaction surveys (C5): one row per personal link sent to a customer
//! after an event (a case closed, a contract signed, a handover). The link's
//! token is kept only as its SHA-256 (`token_hash`): whoever reads the
//! database cannot answer in the customer's name (the desk reads the link
//! back from `token_cipher`, encrypted like ID numbers). The answer is written once,
//! with `UPDATE … WHERE answered_at IS NULL`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261216_000042_surveys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("surveys"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("customer_id")))
                // `case_closed`, `contract_signed` or `handover`.
                .col(text(a("event")))
                // The case or contract it asks about.
                .col(text(a("subject_id")))
                // The customer's agent when it was sent, and the case's handler.
                .col(text_null(a("agent_id")))
                .col(text_null(a("handler_id")))
                .col(text(a("token_hash")).unique_key())
                // The token encrypted with the master key, so the desk can
                // hand the link over again (a phone call, WeChat).
                .col(text(a("token_cipher")))
                .col(text(a("sent_by")))
                .col(timestamp_with_time_zone(a("sent_at")))
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("answered_at")))
                .col(integer_null(a("csat")))
                .col(integer_null(a("nps")))
                .col(text_null(a("comment")))
                // The case a low score opened.
                .col(text_null(a("case_id")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_surveys_project_sent")
                .table(a("surveys"))
                .col(a("project_id"))
                .col(a("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_surveys_subject").table(a("surveys")).col(a("subject_id")).to_owned())
            .await
    }
}
