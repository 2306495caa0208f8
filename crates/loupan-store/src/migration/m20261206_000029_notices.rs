//! Notices and letters: templates (each edit a new version of its family, so
//! a batch keeps the text it was sent with), batches, and one row per
//! recipient of a batch, made when the batch is confirmed, so that running it
//! (and running it again after a crash) sends each recipient exactly once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261204_000022_project_cost::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000029_notices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("notice_templates"))
                .col(text(a("id")).primary_key())
                // Every version of one template shares its family.
                .col(text(a("family_id")))
                .col(integer(a("version")))
                // None: company-wide.
                .col(text_null(a("project_id")))
                .col(text(a("kind")))
                .col(text(a("channel")))
                .col(text(a("name")))
                .col(text_null(a("subject")))
                .col(text(a("body")))
                .col(text(a("created_by")))
                .col(text(a("created_by_name")))
                .col(timestamp_with_time_zone(a("created_at")))
                // When a newer version replaced it.
                .col(timestamp_with_time_zone_null(a("superseded_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_notice_templates_version", "notice_templates", &["family_id", "version"], true))
            .await?;
        m.create_table(
            Table::create()
                .table(a("notice_batches"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("template_id")))
                .col(text(a("kind")))
                .col(text(a("channel")))
                // Who it went to, as the user chose them (JSON).
                .col(text(a("audience")))
                .col(date(a("as_of")))
                .col(text(a("status")))
                .col(integer(a("total")))
                .col(integer(a("sent")))
                .col(integer(a("skipped")))
                .col(integer(a("failed")))
                // The merged letters, once done.
                .col(text_null(a("output_file_id")))
                .col(text(a("created_by")))
                .col(text(a("created_by_name")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone_null(a("finished_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_notice_batches_project", "notice_batches", &["project_id", "created_at"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(a("notice_recipients"))
                .col(text(a("id")).primary_key())
                .col(text(a("batch_id")))
                // Print order: building, then unit.
                .col(integer(a("position")))
                .col(text(a("customer_id")))
                .col(text_null(a("contract_id")))
                .col(text(a("status")))
                .col(text_null(a("skip_reason")))
                .col(text_null(a("subject")))
                // Exactly what was sent.
                .col(text_null(a("text")))
                .col(text_null(a("error")))
                .col(timestamp_with_time_zone_null(a("sent_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_notice_recipients_position", "notice_recipients", &["batch_id", "position"], true))
            .await?;
        m.create_index(index("ix_notice_recipients_customer", "notice_recipients", &["customer_id"], false)).await
    }
}
