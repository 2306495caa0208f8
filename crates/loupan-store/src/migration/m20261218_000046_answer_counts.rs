//! A questionnaire's answers counted from an index alone: questionnaire,
//! question, value and position in index order, so the distribution of every
//! question is one pass without a sort or a lookup of the rows. It replaces
//! the index on (questionnaire, question), its prefix.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261218_000046_answer_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_index(
            Index::create()
                .name("ix_questionnaire_answers_values")
                .table(a("questionnaire_answers"))
                .col(a("questionnaire_id"))
                .col(a("question_key"))
                .col(a("value"))
                .col(a("position"))
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop().name("ix_questionnaire_answers_question").table(a("questionnaire_answers")).to_owned(),
        )
        .await
    }
}
