//! The notice batch that took a survey's link to its customer (the desk's
//! survey template, C5), so the desk sees whether and how it went.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261218_000045_survey_notices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("surveys")).add_column(text_null(a("notice_batch_id"))).to_owned()).await
    }
}
