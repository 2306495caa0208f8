//! Payment methods are versioned: a method that deals already use is never
//! changed or deleted but retired (`retired_at`), and an edit of it becomes a
//! new method that `replaces_id` names. Names are unique among the methods in
//! force (the service checks it), so a new version keeps its name.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000024_payment_method_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        let table = || Table::alter().table(a("payment_methods")).to_owned();
        m.alter_table(table().add_column(timestamp_with_time_zone_null(a("retired_at"))).to_owned()).await?;
        m.alter_table(table().add_column(text_null(a("replaces_id"))).to_owned()).await?;
        m.drop_index(Index::drop().name("ux_payment_methods_project_name").table(a("payment_methods")).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("ix_payment_methods_project_name")
                .table(a("payment_methods"))
                .col(a("project_id"))
                .col(a("name"))
                .to_owned(),
        )
        .await
    }
}
