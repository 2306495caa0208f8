//! Requests from outside counted against a limit (the owners' report form):
//! one row per request, by key (`owner_form:<project>:<address>`), so that
//! every instance counts the same requests; a key's old rows are deleted
//! when it is next counted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261214_000040_rate_hits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("rate_hits"))
                .col(text(a("id")).primary_key())
                .col(text(a("key")))
                .col(timestamp_with_time_zone(a("at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_rate_hits_key_at").table(a("rate_hits")).col(a("key")).col(a("at")).to_owned(),
        )
        .await
    }
}
