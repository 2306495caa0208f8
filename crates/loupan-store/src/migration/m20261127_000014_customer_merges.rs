//! Merging customers (and undoing it): the merged record points at the one it
//! was merged into, and each merge keeps exactly which rows it moved.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000014_customer_merges"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("customers")).add_column(text_null(a("merged_into"))).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(a("customer_merges"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("kept_id")))
                .col(text(a("merged_id")))
                .col(text(a("moved")))
                .col(text(a("merged_by")))
                .col(timestamp_with_time_zone(a("merged_at")))
                .col(text_null(a("undone_by")))
                .col(timestamp_with_time_zone_null(a("undone_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_customer_merges_kept").table(a("customer_merges")).col(a("kept_id")).to_owned(),
        )
        .await?;
        Ok(())
    }
}
