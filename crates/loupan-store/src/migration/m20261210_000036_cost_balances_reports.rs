//! Project cost beyond one project's ledger: each item's balance kept per
//! bucket beside the dated entries (the group's roll-up reads them, not the
//! ledger), the monthly cost report frozen as it was issued, the department
//! each user works in (responsibility cost, PM5), and the approval a change
//! or visa goes through.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261204_000022_project_cost::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000036_cost_balances_reports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("cost_item_balances"))
                .col(text(a("cost_item_id")))
                .col(text(a("bucket")))
                .col(text(a("project_id")))
                // The sum of every entry of the item and bucket.
                .col(big_integer(a("amount")))
                .primary_key(Index::create().col(a("cost_item_id")).col(a("bucket")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_cost_item_balances_project", "cost_item_balances", &["project_id"], false)).await?;
        // Existing ledgers are summed once.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO cost_item_balances (cost_item_id, bucket, project_id, amount) \
                 SELECT cost_item_id, bucket, project_id, SUM(amount) FROM cost_postings \
                 GROUP BY cost_item_id, bucket, project_id",
            )
            .await?;
        m.create_table(
            Table::create()
                .table(a("cost_reports"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                // `YYYY-MM`; the figures are those at the month's last day.
                .col(text(a("month")))
                .col(date(a("as_of")))
                // The lines as issued (JSON): figures, movement and explanation per item.
                .col(text(a("lines")))
                .col(text_null(a("summary")))
                .col(text(a("issued_by")))
                .col(timestamp_with_time_zone(a("issued_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_cost_reports_month", "cost_reports", &["project_id", "month"], true)).await?;
        m.alter_table(Table::alter().table(a("users")).add_column(text_null(a("department"))).to_owned()).await?;
        // Changes and visas go through an approval routed by their amount.
        m.alter_table(Table::alter().table(a("cost_variations")).add_column(text_null(a("approval_id"))).to_owned())
            .await
    }
}
