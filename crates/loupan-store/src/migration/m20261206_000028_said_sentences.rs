//! An approval request's summary and a notification's title are kept as a
//! sentence (translation key and facts, JSON) that each reader sees in their
//! own language; the Chinese text earlier versions wrote stays for their rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000028_said_sentences"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("approval_requests")).add_column(text_null(a("summary_said"))).to_owned())
            .await?;
        m.alter_table(Table::alter().table(a("notifications")).add_column(text_null(a("title_said"))).to_owned()).await
    }
}
