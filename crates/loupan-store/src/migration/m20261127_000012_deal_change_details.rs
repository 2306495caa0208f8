//! Business changes keep their before and after (`details`), and deals get
//! their buyers (权益人) with shares.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000012_deal_change_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("deal_changes"))
                .add_column(text(Alias::new("details")).default("{}"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("deal_buyers"))
                .col(text(Alias::new("id")).primary_key())
                .col(text(Alias::new("deal_id")))
                .col(text(Alias::new("customer_id")))
                .col(big_integer(Alias::new("share_millionths")))
                .col(integer(Alias::new("position")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deal_buyers_deal")
                .table(Alias::new("deal_buyers"))
                .col(Alias::new("deal_id"))
                .col(Alias::new("position"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deal_buyers_customer")
                .table(Alias::new("deal_buyers"))
                .col(Alias::new("customer_id"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
