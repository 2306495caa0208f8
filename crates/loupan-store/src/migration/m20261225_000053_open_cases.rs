//! The SLA report's backlog counts the open cases by age. It read the whole
//! table to find them (65 ms over 200,000 cases on SQLite, most of them
//! closed); by status they are read from an index alone, in a few ranges.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261225_000053_open_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_index(
            Index::create()
                .name("ix_service_cases_status")
                .table(a("service_cases"))
                .col(a("status"))
                .col(a("registered_at"))
                .to_owned(),
        )
        .await
    }
}
