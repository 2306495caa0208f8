//! Business changes to deals (业务变更), requested and then decided, and the
//! refunds they leave for finance.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000008_deal_changes"
    }
}

fn t(n: &str) -> ColumnDef {
    text(Alias::new(n))
}
fn t_null(n: &str) -> ColumnDef {
    text_null(Alias::new(n))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("deal_changes"))
                .col(t("id").primary_key())
                .col(t("project_id"))
                .col(t("kind"))
                .col(t("subject_id"))
                .col(t("reason"))
                .col(t("status"))
                .col(t("requested_by"))
                .col(t_null("decided_by"))
                .col(t_null("decision_note"))
                .col(timestamp_with_time_zone(Alias::new("created_at")))
                .col(timestamp_with_time_zone_null(Alias::new("decided_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deal_changes_project_status")
                .table(Alias::new("deal_changes"))
                .col(Alias::new("project_id"))
                .col(Alias::new("status"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("refunds"))
                .col(t("id").primary_key())
                .col(t("project_id"))
                .col(t_null("contract_id"))
                .col(t_null("subscription_id"))
                .col(t("customer_id"))
                .col(big_integer(Alias::new("amount")))
                .col(t("status"))
                .col(t("change_id"))
                .col(timestamp_with_time_zone(Alias::new("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_refunds_project_status")
                .table(Alias::new("refunds"))
                .col(Alias::new("project_id"))
                .col(Alias::new("status"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
