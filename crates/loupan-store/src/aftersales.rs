//! After-sales records: surveyed areas on units and the area-compensation
//! batches with their lines (面积补差).

use chrono::{DateTime, Utc};
use loupan_domain::Area;
use loupan_domain::Money;
use loupan_domain::aftersales::{CompensationBatchStatus, SettlementRule};
use loupan_domain::ids::{BuildingId, ContractId, ProjectId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::StoreResult;
use crate::entities::{compensation_batches as batches, compensations as lines, units};

pub use batches::Model as BatchRow;
pub use lines::Model as CompensationRow;

/// Writes a unit's surveyed areas if it is still at `version`; false when it moved on.
pub async fn set_measured_areas<C: ConnectionTrait>(
    c: &C,
    unit_id: &UnitId,
    version: i64,
    (gross, inner): (Option<Area>, Option<Area>),
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = units::Entity::update_many()
        .col_expr(units::Column::MeasuredGrossArea, Expr::value(gross))
        .col_expr(units::Column::MeasuredInnerArea, Expr::value(inner))
        .col_expr(units::Column::Version, Expr::col(units::Column::Version).add(1))
        .col_expr(units::Column::UpdatedAt, Expr::value(now))
        .filter(units::Column::Id.eq(unit_id.as_str()))
        .filter(units::Column::Version.eq(version))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_batch<C: ConnectionTrait>(c: &C, row: &BatchRow) -> StoreResult<()> {
    batches::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_batch<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<BatchRow>> {
    Ok(batches::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// A project's batches (all of them when `projects` is `None`), newest first.
pub async fn batches<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    building: Option<&BuildingId>,
) -> StoreResult<Vec<BatchRow>> {
    let mut q = batches::Entity::find();
    if let Some(p) = projects {
        q = q.filter(batches::Column::ProjectId.is_in(p.iter().cloned()));
    }
    if let Some(b) = building {
        q = q.filter(batches::Column::BuildingId.eq(b.as_str()));
    }
    Ok(q.order_by_desc(batches::Column::CreatedAt).order_by_desc(batches::Column::Id).all(c).await?)
}

/// Moves a batch from one status to another and bumps its version; false if it was not in `from`.
pub async fn move_batch<C: ConnectionTrait>(
    c: &C,
    id: &str,
    (from, at_version): (CompensationBatchStatus, Option<i64>),
    to: CompensationBatchStatus,
    applied: Option<(&str, DateTime<Utc>)>,
) -> StoreResult<bool> {
    let mut q = batches::Entity::update_many()
        .col_expr(batches::Column::Status, Expr::value(to))
        .col_expr(batches::Column::Version, Expr::col(batches::Column::Version).add(1));
    if let Some((by, at)) = applied {
        q = q
            .col_expr(batches::Column::AppliedBy, Expr::value(by.to_owned()))
            .col_expr(batches::Column::AppliedAt, Expr::value(at));
    }
    q = q.filter(batches::Column::Id.eq(id)).filter(batches::Column::Status.eq(from));
    if let Some(version) = at_version {
        q = q.filter(batches::Column::Version.eq(version));
    }
    Ok(q.exec(c).await?.rows_affected == 1)
}

/// Takes the draft's version (an edit of its lines); false when the batch is
/// no longer a draft at `version`.
pub async fn touch_draft<C: ConnectionTrait>(c: &C, id: &str, version: i64) -> StoreResult<bool> {
    let res = batches::Entity::update_many()
        .col_expr(batches::Column::Version, Expr::col(batches::Column::Version).add(1))
        .filter(batches::Column::Id.eq(id))
        .filter(batches::Column::Status.eq(CompensationBatchStatus::Draft))
        .filter(batches::Column::Version.eq(version))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records the rule a recomputed draft was computed by.
pub async fn set_rule<C: ConnectionTrait>(
    c: &C,
    id: &str,
    rule: SettlementRule,
    formula: Option<&str>,
    due_days: i32,
) -> StoreResult<()> {
    batches::Entity::update_many()
        .col_expr(batches::Column::Rule, Expr::value(rule))
        .col_expr(batches::Column::Formula, Expr::value(formula.map(str::to_owned)))
        .col_expr(batches::Column::DueDays, Expr::value(due_days))
        .filter(batches::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn lines_of_batch<C: ConnectionTrait>(c: &C, batch_id: &str) -> StoreResult<Vec<CompensationRow>> {
    Ok(lines::Entity::find()
        .filter(lines::Column::BatchId.eq(batch_id))
        .order_by_asc(lines::Column::UnitId)
        .all(c)
        .await?)
}

/// The sums of a batch's lines, as the list of batches shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSums {
    pub lines: i64,
    /// Positive amounts (the buyers pay) and negative ones as positive (refunds).
    pub payable: Money,
    pub refundable: Money,
    pub deed_tax_difference: Money,
    pub fund_difference: Money,
    pub rescission_rights: i64,
    pub adjusted: i64,
}

/// The sums of each of `batch_ids` that has lines, in one statement.
pub async fn batch_sums<C: ConnectionTrait>(
    c: &C,
    batch_ids: &[String],
) -> StoreResult<std::collections::HashMap<String, BatchSums>> {
    let mut out = std::collections::HashMap::new();
    let backend = c.get_database_backend();
    for chunk in batch_ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sum = |e: &str| format!("CAST(COALESCE(SUM({e}), 0) AS BIGINT)");
        let sql = format!(
            "SELECT batch_id, CAST(COUNT(*) AS BIGINT), {}, {}, {}, {}, {}, {} FROM compensations \
             WHERE batch_id IN ({}) GROUP BY batch_id",
            sum("CASE WHEN amount > 0 THEN amount ELSE 0 END"),
            sum("CASE WHEN amount < 0 THEN -amount ELSE 0 END"),
            sum("deed_tax_after - deed_tax_before"),
            sum("fund_after - fund_before"),
            sum("CASE WHEN rescission_right THEN 1 ELSE 0 END"),
            sum("CASE WHEN adjustment_reason IS NULL THEN 0 ELSE 1 END"),
            marks.join(", ")
        );
        let values: Vec<sea_orm::Value> = chunk.iter().map(|id| id.clone().into()).collect();
        let statement =
            sea_orm::Statement::from_sql_and_values(backend, crate::raw::placeholders(backend, &sql), values);
        for row in c.query_all_raw(statement).await? {
            let n = |i: usize| row.try_get_by_index::<i64>(i);
            out.insert(
                row.try_get_by_index::<String>(0)?,
                BatchSums {
                    lines: n(1)?,
                    payable: Money::from_hundredths(n(2)?),
                    refundable: Money::from_hundredths(n(3)?),
                    deed_tax_difference: Money::from_hundredths(n(4)?),
                    fund_difference: Money::from_hundredths(n(5)?),
                    rescission_rights: n(6)?,
                    adjusted: n(7)?,
                },
            );
        }
    }
    Ok(out)
}

pub async fn find_line<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<CompensationRow>> {
    Ok(lines::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// The lines naming these contracts, in batches of any status: a contract is
/// in one open or applied batch at a time.
pub async fn lines_of_contracts<C: ConnectionTrait>(
    c: &C,
    contract_ids: &[ContractId],
) -> StoreResult<Vec<CompensationRow>> {
    let mut out = Vec::new();
    for chunk in contract_ids.chunks(500) {
        out.extend(lines::Entity::find().filter(lines::Column::ContractId.is_in(chunk.iter().cloned())).all(c).await?);
    }
    Ok(out)
}

/// The compensation lines of these units.
pub async fn lines_of_units<C: ConnectionTrait>(c: &C, unit_ids: &[UnitId]) -> StoreResult<Vec<CompensationRow>> {
    let mut out = Vec::new();
    for chunk in unit_ids.chunks(500) {
        out.extend(lines::Entity::find().filter(lines::Column::UnitId.is_in(chunk.iter().cloned())).all(c).await?);
    }
    Ok(out)
}

/// The compensation lines of one unit (its history).
pub async fn lines_of_unit<C: ConnectionTrait>(c: &C, unit_id: &UnitId) -> StoreResult<Vec<CompensationRow>> {
    Ok(lines::Entity::find().filter(lines::Column::UnitId.eq(unit_id.as_str())).all(c).await?)
}

pub async fn delete_lines_of_batch<C: ConnectionTrait>(c: &C, batch_id: &str) -> StoreResult<()> {
    lines::Entity::delete_many().filter(lines::Column::BatchId.eq(batch_id)).exec(c).await?;
    Ok(())
}

/// What an adjustment writes on a line: the amount applied and why, and the
/// deed tax and fund that follow from it.
pub struct LineChange<'a> {
    pub amount: Money,
    pub reason: Option<&'a str>,
    pub adjusted_by: Option<&'a str>,
    pub homes_owned_before: i32,
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_after: Money,
}

pub async fn adjust_line<C: ConnectionTrait>(c: &C, id: &str, change: &LineChange<'_>) -> StoreResult<bool> {
    let res = lines::Entity::update_many()
        .col_expr(lines::Column::Amount, Expr::value(change.amount))
        .col_expr(lines::Column::AdjustmentReason, Expr::value(change.reason.map(str::to_owned)))
        .col_expr(lines::Column::AdjustedBy, Expr::value(change.adjusted_by.map(str::to_owned)))
        .col_expr(lines::Column::HomesOwnedBefore, Expr::value(change.homes_owned_before))
        .col_expr(lines::Column::DeedTaxBefore, Expr::value(change.deed_tax_before))
        .col_expr(lines::Column::DeedTaxAfter, Expr::value(change.deed_tax_after))
        .col_expr(lines::Column::FundAfter, Expr::value(change.fund_after))
        .filter(lines::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Marks a line applied. Fails with a unique violation when its contract was
/// compensated by another batch (the index on `applied_contract_id`).
pub async fn mark_applied<C: ConnectionTrait>(c: &C, line: &CompensationRow) -> StoreResult<bool> {
    let res = lines::Entity::update_many()
        .col_expr(lines::Column::AppliedContractId, Expr::value(line.contract_id.as_str().to_owned()))
        .filter(lines::Column::Id.eq(line.id.as_str()))
        .filter(lines::Column::AppliedContractId.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}
