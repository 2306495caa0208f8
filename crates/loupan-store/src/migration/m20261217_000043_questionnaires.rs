//! Questionnaires (S8/M1). A questionnaire's questions are kept per version
//! (`questionnaire_versions`, the questions as JSON): once a version has
//! answers, an edit makes the next version, so every response is read with
//! the questions it answered. A response is answered on the sales office's
//! tablet for a customer or by the customer through a personal link (the
//! token kept as SHA-256 plus encrypted, as satisfaction surveys do).
//! `questionnaire_answers` holds one row per value given (a multiple
//! choice's options each), which the analysis and the cross analysis group
//! in SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261217_000043_questionnaires"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("questionnaires"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                // first_visit, subscription, contract, handover, brand.
                .col(text(a("stage")))
                .col(text(a("title")))
                .col(text_null(a("intro")))
                // The version answered from now on.
                .col(integer(a("version")))
                // Taken by each edit (optimistic concurrency).
                .col(integer(a("revision")))
                // Closed questionnaires take no more answers.
                .col(boolean(a("open")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(ForeignKey::create().from(a("questionnaires"), a("project_id")).to(a("projects"), a("id")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_questionnaires_project")
                .table(a("questionnaires"))
                .col(a("project_id"))
                .col(a("stage"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("questionnaire_versions"))
                .col(text(a("questionnaire_id")))
                .col(integer(a("version")))
                .col(text(a("questions")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .primary_key(Index::create().col(a("questionnaire_id")).col(a("version")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("questionnaire_responses"))
                .col(text(a("id")).primary_key())
                .col(text(a("questionnaire_id")))
                .col(integer(a("version")))
                .col(text(a("project_id")))
                .col(text(a("customer_id")))
                // `tablet` (an agent for the customer) or `link`.
                .col(text(a("channel")))
                // The user who filled it in on the tablet.
                .col(text_null(a("answered_by")))
                .col(text_null(a("token_hash")).unique_key())
                .col(text_null(a("token_cipher")))
                // The notice that carried the link (a brand survey or care
                // campaign sent through the notice channels).
                .col(text_null(a("notice_recipient_id")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone_null(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("answered_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_questionnaire_responses_answered")
                .table(a("questionnaire_responses"))
                .col(a("questionnaire_id"))
                .col(a("answered_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_questionnaire_responses_customer")
                .table(a("questionnaire_responses"))
                .col(a("customer_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_questionnaire_responses_notice")
                .table(a("questionnaire_responses"))
                .col(a("notice_recipient_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("questionnaire_answers"))
                .col(text(a("response_id")))
                .col(text(a("questionnaire_id")))
                .col(text(a("question_key")))
                // The value's place among the question's values (texts can be
                // too long for a key of their own).
                .col(integer(a("position")))
                .col(text(a("value")))
                .primary_key(Index::create().col(a("response_id")).col(a("question_key")).col(a("position")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_questionnaire_answers_question")
                .table(a("questionnaire_answers"))
                .col(a("questionnaire_id"))
                .col(a("question_key"))
                .to_owned(),
        )
        .await
    }
}
