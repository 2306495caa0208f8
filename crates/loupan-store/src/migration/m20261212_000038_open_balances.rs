//! Open balances kept beside the instalments (#23): what each active
//! contract still owes per due date (`open_balances`), and the same summed per
//! project and due date (`project_open_balances`). Every allocation,
//! reversal, refund, plan change and cancellation rewrites its contract's rows
//! in its own transaction (`store::balances::keep`), so the ageing report
//! reads owed money without walking the settled instalments of a group, and
//! its totals from one row per project and day. Filled here from the records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000038_open_balances"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("open_balances"))
                .col(text(a("contract_id")))
                .col(date(a("due_date")))
                .col(text(a("project_id")))
                // Fen still owed on that date's instalments: always above zero.
                .col(big_integer(a("amount")))
                .primary_key(Index::create().col(a("contract_id")).col(a("due_date")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_open_balances_project_due")
                .table(a("open_balances"))
                .col(a("project_id"))
                .col(a("due_date"))
                .col(a("contract_id"))
                .to_owned(),
        )
        .await?;
        // The report's first page walks this in order: the first rows of each
        // contract met are its oldest owed day, so the most overdue come first.
        m.create_index(
            Index::create()
                .name("ix_open_balances_due")
                .table(a("open_balances"))
                .col(a("due_date"))
                .col(a("contract_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("project_open_balances"))
                .col(text(a("project_id")))
                .col(date(a("due_date")))
                .col(big_integer(a("amount")))
                .primary_key(Index::create().col(a("project_id")).col(a("due_date")))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO open_balances (contract_id, due_date, project_id, amount) \
             SELECT i.contract_id, i.due_date, c.project_id, CAST(SUM(i.amount - i.paid) AS BIGINT) \
             FROM instalments i JOIN contracts c ON c.id = i.contract_id \
             WHERE c.status = 'active' AND i.paid < i.amount \
             GROUP BY i.contract_id, i.due_date, c.project_id",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO project_open_balances (project_id, due_date, amount) \
             SELECT project_id, due_date, CAST(SUM(amount) AS BIGINT) FROM open_balances GROUP BY project_id, due_date",
        )
        .await?;
        Ok(())
    }
}
