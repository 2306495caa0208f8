//! Saved filters: a user's named searches (the customer list's conditions today).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000016_saved_filters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("saved_filters"))
                .col(text(a("id")).primary_key())
                .col(text(a("user_id")))
                .col(text(a("list")))
                .col(text(a("name")))
                .col(text(a("query")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_saved_filters_user_list_name")
                .table(a("saved_filters"))
                .col(a("user_id"))
                .col(a("list"))
                .col(a("name"))
                .unique()
                .to_owned(),
        )
        .await
    }
}
