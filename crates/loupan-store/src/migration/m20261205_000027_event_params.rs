//! A customer's history entry says what happened as its kind and the facts
//! that go into the sentence (`{"number": "1-1203"}`), which each reader sees
//! in their own language; the Chinese `summary` earlier versions wrote stays
//! for their entries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000027_event_params"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("customer_events")).add_column(text_null(a("params"))).to_owned()).await
    }
}
