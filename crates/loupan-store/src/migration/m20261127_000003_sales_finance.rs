//! Sales and money: payment methods, subscriptions, contracts and their payment
//! plans, receipts and their allocation to instalments, unit history, and the
//! per-project number sequences of business documents.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000003_sales_finance"
    }
}

fn id(table: &str) -> TableCreateStatement {
    Table::create().table(Alias::new(table)).col(text(Alias::new("id")).primary_key()).to_owned()
}

fn t(name: &str) -> ColumnDef {
    text(Alias::new(name))
}
fn t_null(name: &str) -> ColumnDef {
    text_null(Alias::new(name))
}
fn big(name: &str) -> ColumnDef {
    big_integer(Alias::new(name))
}
fn int(name: &str) -> ColumnDef {
    integer(Alias::new(name))
}
fn day(name: &str) -> ColumnDef {
    date(Alias::new(name))
}
fn instant(name: &str) -> ColumnDef {
    timestamp_with_time_zone(Alias::new(name))
}
fn instant_null(name: &str) -> ColumnDef {
    timestamp_with_time_zone_null(Alias::new(name))
}

fn index(name: &str, table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            id("payment_methods")
                .col(t("project_id"))
                .col(t("name"))
                .col(t("kind"))
                .col(big("discount_millionths"))
                .col(t("terms_json"))
                .col(big("version"))
                .col(instant("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_payment_methods_project_name", "payment_methods", &["project_id", "name"], true))
            .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("number_sequences"))
                .col(t("project_id"))
                .col(t("kind"))
                .col(big("next_value"))
                .primary_key(Index::create().col(Alias::new("project_id")).col(Alias::new("kind")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            id("subscriptions")
                .col(t("project_id"))
                .col(t("unit_id"))
                .col(t("customer_id"))
                .col(t("agent_id"))
                .col(t("number"))
                .col(big("total_price"))
                .col(big("deposit"))
                .col(t("payment_method_id"))
                .col(day("subscribed_on"))
                .col(t("status"))
                .col(big("version"))
                .col(instant("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_subscriptions_project_number", "subscriptions", &["project_id", "number"], true))
            .await?;
        m.create_index(index("ix_subscriptions_unit", "subscriptions", &["unit_id"], false)).await?;
        m.create_table(
            id("contracts")
                .col(t("project_id"))
                .col(t("unit_id"))
                .col(t("customer_id"))
                .col(t("agent_id"))
                .col(t_null("subscription_id"))
                .col(t("number"))
                .col(t("payment_method_id"))
                .col(big("total_price"))
                .col(day("signed_on"))
                .col(t("status"))
                .col(big("version"))
                .col(instant("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_contracts_project_number", "contracts", &["project_id", "number"], true)).await?;
        m.create_index(index("ix_contracts_unit", "contracts", &["unit_id"], false)).await?;
        m.create_index(index("ix_contracts_project_status", "contracts", &["project_id", "status"], false)).await?;
        m.create_table(
            id("instalments")
                .col(t("contract_id"))
                .col(int("seq"))
                .col(t("kind"))
                .col(day("due_date"))
                .col(big("amount"))
                .col(big("paid"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_instalments_contract_seq", "instalments", &["contract_id", "seq"], true)).await?;
        m.create_table(
            id("receipts")
                .col(t("project_id"))
                .col(t_null("contract_id"))
                .col(t_null("subscription_id"))
                .col(big("amount"))
                .col(day("received_on"))
                .col(t("channel"))
                .col(t("status"))
                .col(t("recorded_by"))
                .col(t_null("audited_by"))
                .col(instant_null("arrived_at"))
                .col(instant_null("audited_at"))
                .col(big("version"))
                .col(instant("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_receipts_contract", "receipts", &["contract_id"], false)).await?;
        m.create_table(
            id("receipt_allocations").col(t("receipt_id")).col(t("instalment_id")).col(big("amount")).to_owned(),
        )
        .await?;
        m.create_index(index("ix_receipt_allocations_receipt", "receipt_allocations", &["receipt_id"], false)).await?;
        m.create_table(
            id("unit_events")
                .col(t("unit_id"))
                .col(t("kind"))
                .col(t("from_status"))
                .col(t("to_status"))
                .col(t_null("reference"))
                .col(t("actor_name"))
                .col(instant("occurred_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_unit_events_unit", "unit_events", &["unit_id", "occurred_at"], false)).await?;
        Ok(())
    }
}
