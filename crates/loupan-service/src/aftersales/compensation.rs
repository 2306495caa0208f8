//! Area compensation of a building (面积补差, A3, DOMAIN.md): the surveyed
//! areas of its units, then a batch computed for every active contract by the
//! project's rule, adjusted line by line with a reason, submitted to approval
//! (`area_compensation` requests) and applied when approved: the compensation
//! and the differences of the deed tax and the maintenance fund become
//! instalments the buyer pays, or refunds due to the buyer.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use loupan_domain::aftersales::{
    self as rules, AreaPair, CompensationBatchStatus, CompensationError, CompensationRule, FormulaFailure,
    SettlementRule,
};
use loupan_domain::approvals::RequestKind;
use loupan_domain::finance::RefundStatus;
use loupan_domain::ids::{BuildingId, ContractId, ProjectId, UnitId};
use loupan_domain::inventory::UnitEventKind;
use loupan_domain::sales::{ContractStatus, TermKind};
use loupan_domain::sentence::Sentence;
use loupan_domain::validation::optional_text;
use loupan_domain::{Area, Invalid, Money, Permission};
use loupan_store::aftersales::{self as store, BatchRow, CompensationRow};
use loupan_store::inventory::UnitRow;
use loupan_store::sales::{ContractRow, InstalmentRow, RefundRow};
use loupan_store::{Connection, StoreError, Transaction};
use serde::Serialize;

use super::settlement::{Settlement, settlement_of};
use crate::approvals::{self, Outcome, Submission};
use crate::inventory;
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// One contract's compensation as the screen and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub id: String,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub contract_id: ContractId,
    pub contract_number: String,
    pub contract_gross_area: Area,
    pub contract_inner_area: Area,
    pub measured_gross_area: Area,
    pub measured_inner_area: Area,
    pub contract_total: Money,
    /// The contract's price per m2 of gross area, to the fen (shown only).
    pub unit_price: Money,
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
    /// What the rule gives, and what will be applied (they differ after an adjustment).
    pub computed_amount: Money,
    pub amount: Money,
    pub adjustment_reason: Option<String>,
    pub adjusted_by: Option<String>,
    /// The error allows the buyer to rescind instead of settling.
    pub rescission_right: bool,
    pub homes_owned_before: i32,
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_before: Money,
    pub fund_after: Money,
    pub applied: bool,
}

/// The sums of a batch an approver decides on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub units: usize,
    /// What buyers pay in all, and what is refunded in all (positive).
    pub payable: Money,
    pub refundable: Money,
    pub deed_tax_difference: Money,
    pub fund_difference: Money,
    pub rescission_rights: usize,
    pub adjusted: usize,
}

/// A unit of the building that has no line, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub unit_id: UnitId,
    pub unit_number: String,
    /// `not_surveyed`, `no_contract`, `compensated` (in another batch) or the
    /// field code of an area the rule cannot use.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub status: CompensationBatchStatus,
    pub rule: SettlementRule,
    pub formula: Option<String>,
    pub due_days: i32,
    pub rescission_days: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub approval_id: Option<String>,
    pub totals: Totals,
    pub lines: Vec<Line>,
    /// Units left out, when the batch was just computed.
    pub skipped: Vec<Skipped>,
}

/// Days the buyer may rescind after the notice under the batch's rule.
fn rescission_days(rule: SettlementRule) -> u32 {
    match rule {
        SettlementRule::Statutory2001 => CompensationRule::Statutory2001.rescission_days(),
        SettlementRule::ModelContract2014Gross | SettlementRule::Formula => {
            CompensationRule::ModelContract2014Gross.rescission_days()
        }
    }
}

/// What one contract comes to under `settlement`; `Err` names why it cannot.
pub(crate) fn compute(
    settlement: &Settlement,
    formula: Option<&loupan_domain::formula::Formula>,
    unit: &UnitRow,
    contract: &ContractRow,
    homes_owned_before: u32,
) -> Result<Computed, &'static str> {
    let (Some(measured_gross), Some(measured_inner)) = (unit.measured_gross_area, unit.measured_inner_area) else {
        return Err("not_surveyed");
    };
    let gross = AreaPair { contracted: unit.gross_area, measured: measured_gross };
    let inner = AreaPair { contracted: unit.inner_area, measured: measured_inner };
    let total = contract.total_price;
    let c = match (settlement.rule, formula) {
        (SettlementRule::Formula, Some(f)) => {
            rules::compensation_by_formula(f, total, gross, inner).map_err(|e| match e {
                FormulaFailure::AreaNotPositive(field) => field,
                FormulaFailure::Evaluation(loupan_domain::formula::EvalError::DivisionByZero) => {
                    "formula_division_by_zero"
                }
                FormulaFailure::Evaluation(loupan_domain::formula::EvalError::Overflow) => "formula_overflow",
            })?
        }
        (SettlementRule::ModelContract2014Gross, _) => {
            rules::area_compensation(CompensationRule::ModelContract2014Gross, total, gross, Some(inner))
                .map_err(compensation_error)?
        }
        _ => {
            rules::area_compensation(CompensationRule::Statutory2001, total, gross, None).map_err(compensation_error)?
        }
    };
    let settled = total.checked_add(c.amount).ok_or("out_of_range")?;
    let fees =
        settlement.fees(unit.property_type, homes_owned_before, (total, gross.contracted), (settled, gross.measured));
    Ok(Computed {
        amount: c.amount,
        rescission_right: c.rescission_right,
        unit_price: c.unit_price,
        error_ratio: c.error_ratio,
        inner_error_ratio: c.inner_error_ratio.or_else(|| Some(inner.error_ratio())),
        deed_tax_before: fees.deed_tax_before,
        deed_tax_after: fees.deed_tax_after,
        fund_before: fees.fund_before,
        fund_after: fees.fund_after,
    })
}

fn compensation_error(e: CompensationError) -> &'static str {
    match e {
        CompensationError::AreaNotPositive(field) => field,
        CompensationError::TotalNegative => "contract_total",
    }
}

pub(crate) struct Computed {
    pub amount: Money,
    pub rescission_right: bool,
    pub unit_price: Money,
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_before: Money,
    pub fund_after: Money,
}

/// Computes the lines of a building: one per active contract of a surveyed
/// unit that no other batch holds.
async fn compute_lines<C: Connection>(
    conn: &C,
    batch_id: &str,
    building_id: &BuildingId,
    settlement: &Settlement,
) -> ServiceResult<(Vec<CompensationRow>, Vec<Skipped>)> {
    let formula = settlement.parsed_formula()?;
    let units = loupan_store::inventory::units_of_building(conn, building_id).await?;
    let unit_ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    let contracts: HashMap<UnitId, ContractRow> = loupan_store::finance::active_contracts_of_units(conn, &unit_ids)
        .await?
        .into_iter()
        .map(|k| (k.unit_id.clone(), k))
        .collect();
    let contract_ids: Vec<ContractId> = contracts.values().map(|k| k.id.clone()).collect();
    // The deed tax's tier starts from the homes the buyer's profile says they
    // own (a first home when it does not say); a line can correct it.
    let buyer_ids: Vec<loupan_domain::ids::CustomerId> = contracts.values().map(|k| k.customer_id.clone()).collect();
    let mut homes: HashMap<loupan_domain::ids::CustomerId, i32> = HashMap::new();
    for chunk in buyer_ids.chunks(500) {
        for c in loupan_store::customers::customers_by_ids(conn, chunk).await? {
            homes.insert(c.id, c.homes_owned.unwrap_or(0).clamp(0, 100));
        }
    }
    let taken: std::collections::HashSet<ContractId> = store::lines_of_contracts(conn, &contract_ids)
        .await?
        .into_iter()
        .filter(|l| l.batch_id != batch_id)
        .map(|l| l.contract_id)
        .collect();
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for unit in &units {
        let skip = |reason| Skipped { unit_id: unit.id.clone(), unit_number: unit.number.clone(), reason };
        let Some(contract) = contracts.get(&unit.id) else {
            if unit.measured_gross_area.is_some() {
                skipped.push(skip("no_contract"));
            }
            continue;
        };
        if taken.contains(&contract.id) {
            skipped.push(skip("compensated"));
            continue;
        }
        let homes_owned_before = homes.get(&contract.customer_id).copied().unwrap_or(0);
        let c = match compute(settlement, formula.as_ref(), unit, contract, homes_owned_before.unsigned_abs()) {
            Ok(c) => c,
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        lines.push(CompensationRow {
            id: loupan_store::new_id(),
            batch_id: batch_id.to_owned(),
            project_id: unit.project_id.clone(),
            unit_id: unit.id.clone(),
            contract_id: contract.id.clone(),
            contract_gross_area: unit.gross_area,
            contract_inner_area: unit.inner_area,
            measured_gross_area: unit.measured_gross_area.unwrap_or(unit.gross_area),
            measured_inner_area: unit.measured_inner_area.unwrap_or(unit.inner_area),
            contract_total: contract.total_price,
            computed_amount: c.amount,
            amount: c.amount,
            adjustment_reason: None,
            adjusted_by: None,
            rescission_right: c.rescission_right,
            error_ratio: c.error_ratio,
            inner_error_ratio: c.inner_error_ratio,
            unit_price: c.unit_price,
            homes_owned_before,
            deed_tax_before: c.deed_tax_before,
            deed_tax_after: c.deed_tax_after,
            fund_before: c.fund_before,
            fund_after: c.fund_after,
            applied_contract_id: None,
        });
    }
    Ok((lines, skipped))
}

async fn batch_view<C: Connection>(conn: &C, row: BatchRow, skipped: Vec<Skipped>) -> ServiceResult<Batch> {
    let (lines, totals) = lines_view(conn, store::lines_of_batch(conn, &row.id).await?).await?;
    let building = loupan_store::inventory::find_building(conn, &row.building_id).await?.map(|b| b.name);
    let approval = approvals::latest_for_subject(conn, RequestKind::AreaCompensation, &row.id).await?;
    Ok(Batch {
        id: row.id,
        project_id: row.project_id,
        building_id: row.building_id,
        building_name: building.unwrap_or_default(),
        status: row.status,
        rescission_days: rescission_days(row.rule),
        rule: row.rule,
        formula: row.formula,
        due_days: row.due_days,
        created_by: row.created_by,
        created_at: row.created_at,
        applied_by: row.applied_by,
        applied_at: row.applied_at,
        version: row.version,
        approval_id: approval.map(|a| a.id),
        totals,
        lines,
        skipped,
    })
}

/// Lines with their unit and contract numbers, floor by floor as the 销控图
/// reads, and their sums.
async fn lines_view<C: Connection>(conn: &C, lines: Vec<CompensationRow>) -> ServiceResult<(Vec<Line>, Totals)> {
    let unit_ids: Vec<UnitId> = lines.iter().map(|l| l.unit_id.clone()).collect();
    let contract_ids: Vec<ContractId> = lines.iter().map(|l| l.contract_id.clone()).collect();
    let mut numbers: HashMap<UnitId, (i32, String)> = HashMap::new();
    for chunk in unit_ids.chunks(500) {
        for u in loupan_store::inventory::units_by_ids(conn, chunk).await? {
            numbers.insert(u.id, (u.floor, u.number));
        }
    }
    let mut contract_numbers: HashMap<ContractId, String> = HashMap::new();
    for chunk in contract_ids.chunks(500) {
        for k in loupan_store::finance::contracts_by_ids(conn, chunk).await? {
            contract_numbers.insert(k.id, k.number);
        }
    }
    let mut totals = Totals { units: lines.len(), ..Totals::default() };
    let mut out: Vec<(i32, Line)> = lines
        .into_iter()
        .map(|l| {
            if l.amount.is_negative() {
                totals.refundable += -l.amount;
            } else {
                totals.payable += l.amount;
            }
            totals.deed_tax_difference += l.deed_tax_after - l.deed_tax_before;
            totals.fund_difference += l.fund_after - l.fund_before;
            totals.rescission_rights += usize::from(l.rescission_right);
            totals.adjusted += usize::from(l.adjustment_reason.is_some());
            let (floor, unit_number) = numbers.get(&l.unit_id).cloned().unwrap_or_default();
            let line = Line {
                unit_number,
                contract_number: contract_numbers.get(&l.contract_id).cloned().unwrap_or_default(),
                applied: l.applied_contract_id.is_some(),
                id: l.id,
                unit_id: l.unit_id,
                contract_id: l.contract_id,
                contract_gross_area: l.contract_gross_area,
                contract_inner_area: l.contract_inner_area,
                measured_gross_area: l.measured_gross_area,
                measured_inner_area: l.measured_inner_area,
                contract_total: l.contract_total,
                unit_price: l.unit_price,
                error_ratio: l.error_ratio,
                inner_error_ratio: l.inner_error_ratio,
                computed_amount: l.computed_amount,
                amount: l.amount,
                adjustment_reason: l.adjustment_reason,
                adjusted_by: l.adjusted_by,
                rescission_right: l.rescission_right,
                homes_owned_before: l.homes_owned_before,
                deed_tax_before: l.deed_tax_before,
                deed_tax_after: l.deed_tax_after,
                fund_before: l.fund_before,
                fund_after: l.fund_after,
            };
            (floor, line)
        })
        .collect();
    out.sort_by(|(fa, a), (fb, b)| (fa, &a.unit_number).cmp(&(fb, &b.unit_number)));
    Ok((out.into_iter().map(|(_, l)| l).collect(), totals))
}

async fn visible_batch<C: Connection>(conn: &C, actor: &Actor, id: &str) -> ServiceResult<BatchRow> {
    match store::find_batch(conn, id).await? {
        Some(b) if actor.sees_project(&b.project_id) => Ok(b),
        _ => Err(ServiceError::NotFound("compensation_batch")),
    }
}

/// Computes a new batch for a building from its surveyed units. A building
/// has one open batch at a time; recompute it instead.
pub async fn create_batch(services: &Services, actor: &Actor, building_id: &BuildingId) -> ServiceResult<Batch> {
    actor.require(Permission::ManageAftersales)?;
    let building = inventory::get_building(services, actor, building_id).await?;
    let tx = services.store.begin_write().await?;
    let open = store::batches(&tx, None, Some(building_id)).await?;
    if open.iter().any(|b| b.status != CompensationBatchStatus::Applied) {
        return Err(ServiceError::Conflict("open_batch_exists"));
    }
    let settlement = settlement_of(&tx, &building.project_id).await?;
    let now = services.clock.now();
    let row = BatchRow {
        id: loupan_store::new_id(),
        project_id: building.project_id.clone(),
        building_id: building_id.clone(),
        status: CompensationBatchStatus::Draft,
        rule: settlement.rule,
        formula: settlement.formula.clone(),
        due_days: i32::try_from(settlement.due_days).map_err(ServiceError::internal)?,
        created_by: actor.display_name.clone(),
        created_at: now,
        applied_by: None,
        applied_at: None,
        version: 1,
    };
    // The batch first: a computation of the same building running at once on
    // another instance waits here on the partial unique index and is refused
    // when this one commits, instead of finding the units already in a batch.
    match store::insert_batch(&tx, &row).await {
        Ok(()) => {}
        Err(StoreError::Unique(_)) => return Err(ServiceError::Conflict("open_batch_exists")),
        Err(e) => return Err(e.into()),
    }
    let (lines, skipped) = compute_lines(&tx, &row.id, building_id, &settlement).await?;
    if lines.is_empty() {
        return Err(Invalid::one("building_id", "nothing_to_compensate").into());
    }
    loupan_store::bulk::insert_compensations(&tx, &lines).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "compensation_batch.create",
            record_type: "compensation_batch",
            record_id: &row.id,
            before: None,
            after: Some(serde_json::json!({"building_id": building_id, "rule": row.rule, "lines": lines.len()})),
        },
    )
    .await?;
    let out = batch_view(&tx, row, skipped).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(out)
}

/// Computes a draft again from the units' current areas and the project's
/// current rules; adjustments are dropped with the old lines.
pub async fn recompute(services: &Services, actor: &Actor, id: &str, version: Option<i64>) -> ServiceResult<Batch> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let row = visible_batch(&tx, actor, id).await?;
    if !store::touch_draft(&tx, id, version.unwrap_or(row.version)).await? {
        return Err(ServiceError::Conflict(if row.status == CompensationBatchStatus::Draft {
            "stale_version"
        } else {
            "batch_not_draft"
        }));
    }
    let settlement = settlement_of(&tx, &row.project_id).await?;
    store::delete_lines_of_batch(&tx, id).await?;
    let (lines, skipped) = compute_lines(&tx, id, &row.building_id, &settlement).await?;
    loupan_store::bulk::insert_compensations(&tx, &lines).await?;
    let due_days = i32::try_from(settlement.due_days).map_err(ServiceError::internal)?;
    store::set_rule(&tx, id, settlement.rule, settlement.formula.as_deref(), due_days).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "compensation_batch.recompute",
            record_type: "compensation_batch",
            record_id: id,
            before: Some(serde_json::json!({"rule": row.rule})),
            after: Some(serde_json::json!({"rule": settlement.rule, "lines": lines.len()})),
        },
    )
    .await?;
    let row = visible_batch(&tx, actor, id).await?;
    let out = batch_view(&tx, row, skipped).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(out)
}

pub async fn get_batch(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Batch> {
    actor.require(Permission::ReadAftersales)?;
    let conn = services.store.conn();
    let row = visible_batch(conn, actor, id).await?;
    batch_view(conn, row, Vec::new()).await
}

/// A batch in a list: its figures without the lines.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    pub id: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub status: CompensationBatchStatus,
    pub rule: SettlementRule,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    pub totals: Totals,
}

pub async fn list_batches(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
) -> ServiceResult<Vec<BatchSummary>> {
    actor.require(Permission::ReadAftersales)?;
    let conn = services.store.conn();
    let projects: Option<Vec<ProjectId>> = match (project_id, actor.visible_projects()) {
        (Some(p), _) if !actor.sees_project(p) => return Err(ServiceError::NotFound("project")),
        (Some(p), _) => Some(vec![p.clone()]),
        (None, Some(v)) => Some(v.to_vec()),
        (None, None) => None,
    };
    let rows = store::batches(conn, projects.as_deref(), None).await?;
    // The sums in one statement, not every line of every batch.
    let sums = store::batch_sums(conn, &rows.iter().map(|b| b.id.clone()).collect::<Vec<_>>()).await?;
    let mut buildings: HashMap<BuildingId, String> = HashMap::new();
    let mut out = Vec::new();
    for b in rows {
        if !buildings.contains_key(&b.building_id) {
            let name = loupan_store::inventory::find_building(conn, &b.building_id).await?.map(|x| x.name);
            buildings.insert(b.building_id.clone(), name.unwrap_or_default());
        }
        let s = sums.get(&b.id).copied().unwrap_or_default();
        let count = |n: i64| usize::try_from(n).unwrap_or_default();
        out.push(BatchSummary {
            building_name: buildings.get(&b.building_id).cloned().unwrap_or_default(),
            id: b.id,
            project_id: b.project_id,
            building_id: b.building_id,
            status: b.status,
            rule: b.rule,
            created_by: b.created_by,
            created_at: b.created_at,
            applied_at: b.applied_at,
            totals: Totals {
                units: count(s.lines),
                payable: s.payable,
                refundable: s.refundable,
                deed_tax_difference: s.deed_tax_difference,
                fund_difference: s.fund_difference,
                rescission_rights: count(s.rescission_rights),
                adjusted: count(s.adjusted),
            },
        });
    }
    Ok(out)
}

/// A manual adjustment of one line (a negotiated settlement, a survey the
/// rule cannot see), or the buyer's homes owned before for the deed tax.
#[derive(Debug, Clone, Default)]
pub struct LineAdjustment {
    /// The amount to apply, yuan (negative: a refund); absent keeps it.
    pub amount: Option<String>,
    /// Required when the amount differs from the computed one.
    pub reason: Option<String>,
    pub homes_owned_before: Option<i64>,
    pub version: Option<i64>,
}

pub async fn adjust_line(
    services: &Services,
    actor: &Actor,
    batch_id: &str,
    line_id: &str,
    form: LineAdjustment,
) -> ServiceResult<Batch> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let batch = visible_batch(&tx, actor, batch_id).await?;
    let line = match store::find_line(&tx, line_id).await? {
        Some(l) if l.batch_id == batch.id => l,
        _ => return Err(ServiceError::NotFound("compensation")),
    };
    let mut errors = Invalid::default();
    let amount = match form.amount.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => line.amount,
        Some(t) => Money::parse(t).unwrap_or_else(|e| {
            errors.push("amount", e.code());
            line.amount
        }),
    };
    let reason = optional_text(&mut errors, "reason", form.reason.as_deref(), 500);
    if amount != line.computed_amount && reason.is_none() && !errors.0.iter().any(|e| e.field == "amount") {
        errors.push("reason", "reason_needed_for_adjustment");
    }
    let homes = match form.homes_owned_before {
        None => line.homes_owned_before,
        Some(n) => i32::try_from(n).ok().filter(|n| (0..=100).contains(n)).unwrap_or_else(|| {
            errors.push("homes_owned_before", "out_of_range");
            line.homes_owned_before
        }),
    };
    errors.into_result()?;
    if !store::touch_draft(&tx, batch_id, form.version.unwrap_or(batch.version)).await? {
        return Err(ServiceError::Conflict(if batch.status == CompensationBatchStatus::Draft {
            "stale_version"
        } else {
            "batch_not_draft"
        }));
    }
    let settlement = settlement_of(&tx, &batch.project_id).await?;
    let settled = line.contract_total.checked_add(amount).ok_or(Invalid::one("amount", "out_of_range"))?;
    let homes_u32 = u32::try_from(homes).map_err(ServiceError::internal)?;
    let unit = loupan_store::inventory::find_unit(&tx, &line.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let fees = settlement.fees(
        unit.property_type,
        homes_u32,
        (line.contract_total, line.contract_gross_area),
        (settled, line.measured_gross_area),
    );
    // Back to the computed amount: the adjustment is withdrawn.
    let (reason, by) = if amount == line.computed_amount {
        (None, None)
    } else {
        (reason.as_deref(), Some(actor.display_name.as_str()))
    };
    let change = store::LineChange {
        amount,
        reason,
        adjusted_by: by,
        homes_owned_before: homes,
        deed_tax_before: fees.deed_tax_before,
        deed_tax_after: fees.deed_tax_after,
        fund_after: fees.fund_after,
    };
    store::adjust_line(&tx, line_id, &change).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "compensation.adjust",
            record_type: "compensation",
            record_id: line_id,
            before: Some(serde_json::json!({"amount": line.amount, "homes_owned_before": line.homes_owned_before})),
            after: Some(serde_json::json!({"amount": amount, "reason": reason, "homes_owned_before": homes})),
        },
    )
    .await?;
    let row = visible_batch(&tx, actor, batch_id).await?;
    let out = batch_view(&tx, row, Vec::new()).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(out)
}

/// Submits a draft to approval; nothing reaches a plan until it is approved.
pub async fn submit_batch(services: &Services, actor: &Actor, id: &str, version: Option<i64>) -> ServiceResult<Batch> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let row = visible_batch(&tx, actor, id).await?;
    if row.status != CompensationBatchStatus::Draft {
        return Err(ServiceError::Conflict("batch_not_draft"));
    }
    // The draft as the caller saw it: an adjustment made since on another
    // instance makes the submission stale, not silently part of it.
    let seen = version.unwrap_or(row.version);
    if !store::move_batch(&tx, id, (CompensationBatchStatus::Draft, Some(seen)), CompensationBatchStatus::Pending, None)
        .await?
    {
        return Err(ServiceError::Conflict(if seen == row.version { "batch_not_draft" } else { "stale_version" }));
    }
    let view = batch_view(&tx, row.clone(), Vec::new()).await?;
    let t = &view.totals;
    let net = t.payable - t.refundable;
    let facts = [
        ("amount".to_owned(), net.to_string()),
        ("refunds".to_owned(), t.refundable.to_string()),
        ("units".to_owned(), t.units.to_string()),
    ]
    .into();
    let summary = Sentence::new(
        "approval_summary.area_compensation",
        &[
            ("building", view.building_name.clone()),
            ("units", t.units.to_string()),
            ("payable", t.payable.grouped()),
            ("refundable", t.refundable.grouped()),
        ],
    );
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: RequestKind::AreaCompensation,
            project_id: Some(row.project_id.clone()),
            subject_id: row.id.clone(),
            summary,
            facts,
            payload: serde_json::json!({}),
        },
    )
    .await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "compensation_batch.submit",
            record_type: "compensation_batch",
            record_id: id,
            before: Some(serde_json::json!({"status": "draft"})),
            after: Some(serde_json::json!({"status": "pending", "approval_id": request.id})),
        },
    )
    .await?;
    let row = visible_batch(&tx, actor, id).await?;
    let out = batch_view(&tx, row, Vec::new()).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(out)
}

/// The approval engine's call. Approved: every line lands on its contract in
/// the deciding transaction. Rejected or withdrawn: the batch is a draft again.
pub(crate) async fn on_batch_decided(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<()> {
    let id = request.subject_id.as_str();
    let row = store::find_batch(tx, id).await?.ok_or(ServiceError::NotFound("compensation_batch"))?;
    if outcome != Outcome::Approved {
        if !store::move_batch(tx, id, (CompensationBatchStatus::Pending, None), CompensationBatchStatus::Draft, None)
            .await?
        {
            return Err(ServiceError::Conflict("batch_not_pending"));
        }
        return Ok(());
    }
    let now = services.clock.now();
    let applied = apply(services, tx, actor, &row, now).await?;
    if !store::move_batch(
        tx,
        id,
        (CompensationBatchStatus::Pending, None),
        CompensationBatchStatus::Applied,
        Some((&actor.display_name, now)),
    )
    .await?
    {
        return Err(ServiceError::Conflict("batch_not_pending"));
    }
    audit::record(
        tx,
        actor,
        Change {
            action: "compensation_batch.apply",
            record_type: "compensation_batch",
            record_id: id,
            before: Some(serde_json::json!({"status": "pending"})),
            after: Some(serde_json::json!({"status": "applied", "lines": applied})),
        },
    )
    .await?;
    Ok(())
}

/// What one applied line put on its contract.
struct Landed {
    instalments: Vec<InstalmentRow>,
    refunds: Vec<RefundRow>,
}

/// Puts every line on its contract: the compensation, then the deed tax and
/// the fund differences, each an instalment due `due_days` after today (the
/// notice) when the buyer pays, or a refund due when the buyer is owed.
async fn apply(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    batch: &BatchRow,
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let lines = store::lines_of_batch(tx, &batch.id).await?;
    let contract_ids: Vec<ContractId> = lines.iter().map(|l| l.contract_id.clone()).collect();
    let mut contracts: HashMap<ContractId, ContractRow> = HashMap::new();
    let mut next_seq: BTreeMap<ContractId, i32> = BTreeMap::new();
    // A unit's status goes into its history unchanged: read them all at once.
    let unit_ids: Vec<UnitId> = lines.iter().map(|l| l.unit_id.clone()).collect();
    let mut unit_statuses = HashMap::new();
    for chunk in unit_ids.chunks(500) {
        for u in loupan_store::inventory::units_by_ids(tx, chunk).await? {
            unit_statuses.insert(u.id, u.status);
        }
    }
    for chunk in contract_ids.chunks(500) {
        for k in loupan_store::finance::contracts_by_ids(tx, chunk).await? {
            contracts.insert(k.id.clone(), k);
        }
        for i in loupan_store::finance::instalments_of_contracts(tx, chunk).await? {
            let seq = next_seq.entry(i.contract_id.clone()).or_insert(0);
            *seq = (*seq).max(i.seq + 1);
        }
    }
    let due = services.clock.date_of(now) + Duration::days(i64::from(batch.due_days));
    let mut landed = Landed { instalments: Vec::new(), refunds: Vec::new() };
    let mut applied = 0;
    for line in &lines {
        let Some(contract) = contracts.get(&line.contract_id) else {
            return Err(ServiceError::NotFound("contract"));
        };
        // A contract cancelled since the batch was computed owes nothing more:
        // its cancellation settled the money.
        if contract.status != ContractStatus::Active {
            continue;
        }
        match store::mark_applied(tx, line).await {
            Ok(true) => {}
            Ok(false) => return Err(ServiceError::Conflict("batch_not_pending")),
            Err(StoreError::Unique(_)) => return Err(ServiceError::Conflict("contract_compensated")),
            Err(e) => return Err(e.into()),
        }
        let seq = next_seq.entry(contract.id.clone()).or_insert(0);
        for (kind, amount) in [
            (TermKind::Compensation, line.amount),
            (TermKind::Fee, line.deed_tax_after - line.deed_tax_before),
            (TermKind::Fee, line.fund_after - line.fund_before),
        ] {
            if amount.is_positive() {
                landed.instalments.push(InstalmentRow {
                    id: loupan_store::new_id(),
                    contract_id: contract.id.clone(),
                    seq: *seq,
                    kind,
                    due_date: due,
                    amount,
                    paid: Money::ZERO,
                });
                *seq += 1;
            } else if amount.is_negative() {
                landed.refunds.push(RefundRow {
                    id: loupan_store::new_id(),
                    project_id: contract.project_id.clone(),
                    contract_id: Some(contract.id.clone()),
                    subscription_id: None,
                    customer_id: contract.customer_id.clone(),
                    amount: -amount,
                    status: RefundStatus::Due,
                    // The record that made it due: here the compensation line.
                    change_id: line.id.clone(),
                    created_at: now,
                    channel: None,
                    paid_by: None,
                    audited_by: None,
                    note: Some(kind.printed_name().to_owned()),
                    paid_on: None,
                    audited_at: None,
                });
            }
        }
        let status = *unit_statuses.get(&line.unit_id).ok_or(ServiceError::NotFound("unit"))?;
        crate::sales::unit_event(
            tx,
            (actor, now),
            &line.unit_id,
            UnitEventKind::Compensated,
            (status, status),
            Some(&line.amount.to_string()),
        )
        .await?;
        audit::record(
            tx,
            actor,
            Change {
                action: "compensation.apply",
                record_type: "contract",
                record_id: contract.id.as_str(),
                before: Some(serde_json::json!({"total_price": contract.total_price})),
                after: Some(serde_json::json!({
                    "compensation": line.amount,
                    "deed_tax_difference": line.deed_tax_after - line.deed_tax_before,
                    "fund_difference": line.fund_after - line.fund_before,
                    "batch_id": batch.id,
                })),
            },
        )
        .await?;
        applied += 1;
    }
    loupan_store::sales::insert_instalments(tx, &landed.instalments).await?;
    for refund in &landed.refunds {
        loupan_store::sales::insert_refund(tx, refund).await?;
    }
    Ok(applied)
}

/// The compensations of a unit, for its history.
pub async fn compensations_of_unit(services: &Services, actor: &Actor, unit_id: &UnitId) -> ServiceResult<Vec<Line>> {
    actor.require(Permission::ReadAftersales)?;
    inventory::get_unit(services, actor, unit_id).await?;
    let conn = services.store.conn();
    Ok(lines_view(conn, store::lines_of_unit(conn, unit_id).await?).await?.0)
}

/// A batch as a spreadsheet, one row per contract, for the surveyor's and
/// finance's own checks: areas before and after, the errors, the amounts as
/// computed and as applied, and the deed tax and fund before and after.
pub fn batch_xlsx(batch: &Batch, say: crate::Say<'_>) -> ServiceResult<Vec<u8>> {
    use loupan_documents::xlsx::{self, Cell};
    const COLUMNS: [&str; 19] = [
        "unit.number",
        "sales.contract",
        "compensation.contract_total",
        "compensation.contract_gross",
        "compensation.measured_gross",
        "compensation.contract_inner",
        "compensation.measured_inner",
        "compensation.error_ratio",
        "compensation.inner_error_ratio",
        "compensation.computed",
        "compensation.amount",
        "compensation.reason",
        "compensation.rescission_right",
        "compensation.homes",
        "compensation.deed_tax_before",
        "compensation.deed_tax_after",
        "compensation.fund_before",
        "compensation.fund_after",
        "compensation.applied",
    ];
    let headers: Vec<String> = COLUMNS.iter().map(|k| say(k)).collect();
    let money = |m: Money| Cell::Number(m.to_spreadsheet_number());
    let area = |a: loupan_domain::Area| Cell::Number(a.to_spreadsheet_number());
    let yes = |b: bool| Cell::Text(say(if b { "common.yes" } else { "common.no" }));
    let rows: Vec<Vec<Cell>> = batch
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::Text(l.unit_number.clone()),
                Cell::Text(l.contract_number.clone()),
                money(l.contract_total),
                area(l.contract_gross_area),
                area(l.measured_gross_area),
                area(l.contract_inner_area),
                area(l.measured_inner_area),
                Cell::Text(l.error_ratio.clone()),
                l.inner_error_ratio.clone().map_or(Cell::Empty, Cell::Text),
                money(l.computed_amount),
                money(l.amount),
                l.adjustment_reason.clone().map_or(Cell::Empty, Cell::Text),
                yes(l.rescission_right),
                Cell::Number(f64::from(l.homes_owned_before)),
                money(l.deed_tax_before),
                money(l.deed_tax_after),
                money(l.fund_before),
                money(l.fund_after),
                yes(l.applied),
            ]
        })
        .collect();
    xlsx::write_table(&say("compensation.title"), &headers, &rows).map_err(ServiceError::internal)
}
