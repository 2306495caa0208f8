//! Scheduled greetings: a batch made for an occasion (a holiday of a year, a
//! day's birthdays) carries its key, unique, so that however many instances
//! run the morning job, each occasion makes one batch per project.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000033_greetings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("notice_batches")).add_column(text_null(a("occasion"))).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("notice_batches_occasion")
                .table(a("notice_batches"))
                .col(a("occasion"))
                .unique()
                .to_owned(),
        )
        .await
    }
}
