//! Area compensation (面积补差, A3). A batch is computed for one building from
//! the surveyed areas and the active contracts; each line keeps what it was
//! computed from (forecast and measured areas of both bases, the contract
//! total, the rule) and what it comes to (amount, ratios, the rescission flag,
//! deed tax and maintenance fund before and after), so an approver reads the
//! figures that will be applied. `applied_contract_id` is set only when a line
//! is applied: its unique index makes compensating one contract twice fail
//! whatever two instances try at once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261219_000047_area_compensation"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("compensation_batches"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("building_id")))
                // draft, pending (at approval), applied.
                .col(text(a("status")))
                // 2001, 2014_gross or formula; the formula's text when it is one.
                .col(text(a("rule")))
                .col(text_null(a("formula")))
                // Days after approval (the notice) that a buyer's payment is due.
                .col(integer(a("due_days")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(text_null(a("applied_by")))
                .col(timestamp_with_time_zone_null(a("applied_at")))
                .col(big_integer(a("version")))
                .foreign_key(
                    ForeignKey::create().from(a("compensation_batches"), a("project_id")).to(a("projects"), a("id")),
                )
                .foreign_key(
                    ForeignKey::create().from(a("compensation_batches"), a("building_id")).to(a("buildings"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_compensation_batches_building")
                .table(a("compensation_batches"))
                .col(a("building_id"))
                .col(a("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("compensations"))
                .col(text(a("id")).primary_key())
                .col(text(a("batch_id")))
                .col(text(a("project_id")))
                .col(text(a("unit_id")))
                .col(text(a("contract_id")))
                .col(big_integer(a("contract_gross_area")))
                .col(big_integer(a("contract_inner_area")))
                .col(big_integer(a("measured_gross_area")))
                .col(big_integer(a("measured_inner_area")))
                .col(big_integer(a("contract_total")))
                // As computed by the rule, and as it will be applied (after an adjustment).
                .col(big_integer(a("computed_amount")))
                .col(big_integer(a("amount")))
                .col(text_null(a("adjustment_reason")))
                .col(text_null(a("adjusted_by")))
                .col(boolean(a("rescission_right")))
                .col(text(a("error_ratio")))
                .col(text_null(a("inner_error_ratio")))
                .col(big_integer(a("unit_price")))
                .col(integer(a("homes_owned_before")))
                .col(big_integer(a("deed_tax_before")))
                .col(big_integer(a("deed_tax_after")))
                .col(big_integer(a("fund_before")))
                .col(big_integer(a("fund_after")))
                .col(text_null(a("applied_contract_id")))
                .foreign_key(
                    ForeignKey::create().from(a("compensations"), a("batch_id")).to(a("compensation_batches"), a("id")),
                )
                .foreign_key(ForeignKey::create().from(a("compensations"), a("unit_id")).to(a("units"), a("id")))
                .foreign_key(
                    ForeignKey::create().from(a("compensations"), a("contract_id")).to(a("contracts"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_compensations_batch").table(a("compensations")).col(a("batch_id")).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_compensations_contract")
                .table(a("compensations"))
                .col(a("contract_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_compensations_applied_contract")
                .table(a("compensations"))
                .col(a("applied_contract_id"))
                .unique()
                .to_owned(),
        )
        .await
    }
}
