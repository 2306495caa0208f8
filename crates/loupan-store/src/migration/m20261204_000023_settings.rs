//! Settings a company or one project keeps (the ageing buckets first): one
//! row per scope and key, the value as JSON, changed with its author and time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000023_settings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("settings"))
                // `company`, or `project:{id}`.
                .col(text(a("scope")))
                .col(text(a("key")))
                .col(text(a("value")))
                .col(text(a("updated_by")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .primary_key(Index::create().col(a("scope")).col(a("key")))
                .to_owned(),
        )
        .await
    }
}
