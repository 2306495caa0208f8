//! Price adjustment plans (调价方案): a manager describes which units and by how
//! much (a percentage, an amount per m2 or per unit), sees the resulting price
//! of every unit, and submits it for approval (`price_adjustment` requests);
//! the plan is applied when the request is approved. Only unsold units change;
//! every change is kept in the unit's price history.

use chrono::{DateTime, Utc};
use loupan_domain::approvals::{PRICE_ADJUSTMENT, RequestKind};
use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::UnitStatus;
use loupan_domain::sales::{AdjustmentMethod, AdjustmentStatus, PriceShift};
use loupan_domain::sentence::Sentence;
use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::inventory::{self as store, PriceAdjustmentRow, UnitFilter, UnitPriceRow, UnitRow};
use serde::Serialize;

use crate::approvals::{self, Outcome, Submission};
use crate::inventory;
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

#[derive(Debug, Clone, Default)]
pub struct NewAdjustment {
    pub name: Option<String>,
    pub building_id: Option<String>,
    pub layout: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    /// `percent` (`"0.03"` raises by 3 %, `"-0.05"` lowers by 5 %), `per_m2` or `per_unit` (yuan, may be negative).
    pub method: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceChange {
    pub unit_id: UnitId,
    pub number: String,
    pub floor: i32,
    pub old_price: Money,
    pub new_price: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Adjustment {
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub building_id: Option<BuildingId>,
    pub layout: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    pub method: AdjustmentMethod,
    /// As typed: a ratio for `percent`, yuan otherwise.
    pub value: String,
    pub status: AdjustmentStatus,
    pub created_by: String,
    pub applied_by: Option<String>,
    pub units_changed: i64,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// The latest approval request for the plan.
    pub approval_id: Option<String>,
}

impl From<PriceAdjustmentRow> for Adjustment {
    fn from(r: PriceAdjustmentRow) -> Self {
        Adjustment {
            value: PriceShift::from_stored(r.method, r.value).to_string(),
            id: r.id,
            project_id: r.project_id,
            name: r.name,
            building_id: r.building_id,
            layout: r.layout,
            min_floor: r.min_floor,
            max_floor: r.max_floor,
            method: r.method,
            status: r.status,
            created_by: r.created_by,
            applied_by: r.applied_by,
            units_changed: r.units_changed,
            created_at: r.created_at,
            applied_at: r.applied_at,
            approval_id: None,
        }
    }
}

fn unsold(u: &UnitRow) -> bool {
    matches!(u.status, UnitStatus::Available | UnitStatus::Held | UnitStatus::NotForSale)
}

async fn matching_units<C: loupan_store::Connection>(
    conn: &C,
    row: &PriceAdjustmentRow,
) -> ServiceResult<Vec<UnitRow>> {
    let filter = UnitFilter {
        project_id: Some(row.project_id.clone()),
        building_id: row.building_id.clone(),
        layout: row.layout.clone(),
        min_floor: row.min_floor,
        max_floor: row.max_floor,
        ..Default::default()
    };
    Ok(store::search_units(conn, &filter, 100_000).await?.into_iter().filter(unsold).collect())
}

fn changes(units: &[UnitRow], row: &PriceAdjustmentRow) -> Vec<PriceChange> {
    units
        .iter()
        .map(|u| {
            let old = u.list_price;
            PriceChange {
                unit_id: u.id.clone(),
                number: u.number.clone(),
                floor: u.floor,
                old_price: old,
                new_price: PriceShift::from_stored(row.method, row.value).applied_to(old, u.gross_area),
            }
        })
        .collect()
}

/// Drafts a plan and returns it with the price every matching unit would get.
pub async fn create_adjustment(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: NewAdjustment,
) -> ServiceResult<(Adjustment, Vec<PriceChange>)> {
    actor.require(Permission::ManagePricing)?;
    inventory::get_project(services, actor, project_id).await?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 60);
    let method = match form.method.as_deref().map(str::trim).unwrap_or_default() {
        "" => {
            errors.push("method", "required");
            None
        }
        name => AdjustmentMethod::parse(name).or_else(|| {
            errors.push("method", "unknown_kind");
            None
        }),
    };
    let shift = method.and_then(|m| {
        PriceShift::parse(m, form.value.as_deref().unwrap_or_default()).map_err(|code| errors.push("value", code)).ok()
    });
    let building_id = form.building_id.filter(|b| !b.is_empty()).map(BuildingId::from);
    if let Some(b) = &building_id {
        match store::find_building(services.store.conn(), b).await? {
            Some(found) if &found.project_id == project_id => {}
            _ => errors.push("building_id", "unknown_building"),
        }
    }
    errors.clone().into_result()?;
    let row = PriceAdjustmentRow {
        id: loupan_store::new_id(),
        project_id: project_id.to_owned(),
        name,
        building_id,
        layout: form.layout.filter(|l| !l.trim().is_empty()),
        min_floor: form.min_floor,
        max_floor: form.max_floor,
        method: shift.map_or(AdjustmentMethod::Percent, PriceShift::method),
        value: shift.map_or(0, PriceShift::stored_value),
        status: AdjustmentStatus::Draft,
        created_by: actor.display_name.clone(),
        applied_by: None,
        units_changed: 0,
        created_at: services.clock.now(),
        applied_at: None,
    };
    let tx = services.store.begin_write().await?;
    let units = matching_units(&tx, &row).await?;
    if units.is_empty() {
        return Err(Invalid::one("building_id", "no_units_match").into());
    }
    let preview = changes(&units, &row);
    if preview.iter().any(|c| !c.new_price.is_positive()) {
        return Err(Invalid::one("value", "price_not_positive").into());
    }
    store::insert_price_adjustment(&tx, &row).await?;
    let adjustment = Adjustment::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "price_adjustment.create",
            record_type: "price_adjustment",
            record_id: adjustment.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&adjustment)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok((adjustment, preview))
}

async fn visible_adjustment<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> ServiceResult<PriceAdjustmentRow> {
    if actor.can(Permission::ManagePricing) {
        return match store::find_price_adjustment(conn, id).await? {
            Some(r) if actor.sees_project(&r.project_id) => Ok(r),
            _ => Err(ServiceError::NotFound("price_adjustment")),
        };
    }
    // Its approvers (by default the project manager) read what they are asked to approve.
    if let Some(request) = approvals::latest_for_subject(conn, RequestKind::PriceAdjustment, id).await?
        && approvals::may_see(conn, actor, &request.id, now).await?
        && let Some(r) = store::find_price_adjustment(conn, id).await?
    {
        return Ok(r);
    }
    Err(ServiceError::Forbidden)
}

pub async fn list_adjustments(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
) -> ServiceResult<Vec<Adjustment>> {
    actor.require(Permission::ManagePricing)?;
    inventory::get_project(services, actor, project_id).await?;
    Ok(store::price_adjustments_of(services.store.conn(), project_id)
        .await?
        .into_iter()
        .map(Adjustment::from)
        .collect())
}

pub async fn get_adjustment(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Adjustment> {
    let conn = services.store.conn();
    let row = visible_adjustment(conn, actor, id, services.clock.now()).await?;
    let approval = approvals::latest_for_subject(conn, RequestKind::PriceAdjustment, id).await?;
    Ok(Adjustment { approval_id: approval.map(|a| a.id), ..row.into() })
}

/// A draft: the prices it would set now (units sold since drop out).
/// Applied: the changes it made.
pub async fn preview(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Vec<PriceChange>> {
    let conn = services.store.conn();
    let row = visible_adjustment(conn, actor, id, services.clock.now()).await?;
    if row.status != AdjustmentStatus::Applied {
        let units = matching_units(conn, &row).await?;
        return Ok(changes(&units, &row));
    }
    let mut out = Vec::new();
    for h in store::price_changes_of_adjustment(conn, id).await? {
        if let Some(u) = store::find_unit(conn, &h.unit_id).await? {
            out.push(PriceChange {
                unit_id: u.id,
                number: u.number,
                floor: u.floor,
                old_price: h.old_price,
                new_price: h.new_price,
            });
        }
    }
    Ok(out)
}

/// Submits a draft for approval; nothing changes until it is approved.
pub async fn submit_adjustment(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Adjustment> {
    // Approvers may read an adjustment; only pricing managers submit one.
    actor.require(Permission::ManagePricing)?;
    let tx = services.store.begin_write().await?;
    let row = visible_adjustment(&tx, actor, id, services.clock.now()).await?;
    if row.status != AdjustmentStatus::Draft
        || !store::set_adjustment_status(&tx, id, AdjustmentStatus::Draft, AdjustmentStatus::Pending).await?
    {
        return Err(ServiceError::Conflict("adjustment_not_draft"));
    }
    let units = matching_units(&tx, &row).await?;
    let planned = changes(&units, &row);
    let old: Money = planned.iter().map(|c| c.old_price).sum();
    let new: Money = planned.iter().map(|c| c.new_price).sum();
    let facts =
        [("units".to_owned(), planned.len().to_string()), ("change_percent".to_owned(), (new - old).percent_of(old))]
            .into();
    let summary = Sentence::new(
        "approval_summary.price_adjustment",
        &[
            ("name", row.name.clone()),
            ("units", planned.len().to_string()),
            ("old", old.grouped()),
            ("new", new.grouped()),
        ],
    );
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: PRICE_ADJUSTMENT,
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
            action: "price_adjustment.submit",
            record_type: "price_adjustment",
            record_id: id,
            before: Some(serde_json::json!({"status": "draft"})),
            after: Some(serde_json::json!({"status": "pending"})),
        },
    )
    .await?;
    let out = visible_adjustment(&tx, actor, id, services.clock.now()).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(Adjustment { approval_id: Some(request.id), ..out.into() })
}

/// The approval engine's call. Approved: every still-unsold matching unit gets
/// its new price in the deciding transaction, each change in the unit's price
/// history. Rejected or withdrawn: the plan is a draft again and nothing changed.
pub(crate) async fn on_adjustment_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<()> {
    let id = request.subject_id.as_str();
    let row = store::find_price_adjustment(tx, id).await?.ok_or(ServiceError::NotFound("price_adjustment"))?;
    if outcome != Outcome::Approved {
        if !store::set_adjustment_status(tx, id, AdjustmentStatus::Pending, AdjustmentStatus::Draft).await? {
            return Err(ServiceError::Conflict("adjustment_not_pending"));
        }
        return Ok(());
    }
    let units = matching_units(tx, &row).await?;
    let now = services.clock.now();
    let mut changed = 0;
    for (unit, change) in units.iter().zip(changes(&units, &row)) {
        let history = UnitPriceRow {
            id: loupan_store::new_id(),
            unit_id: unit.id.clone(),
            old_price: change.old_price,
            new_price: change.new_price,
            adjustment_id: Some(row.id.clone()),
            actor_name: actor.display_name.clone(),
            changed_at: now,
        };
        if store::change_list_price(tx, unit, change.new_price, &history).await? {
            changed += 1;
        }
    }
    if !store::mark_adjustment_applied(tx, id, &actor.display_name, changed, now).await? {
        return Err(ServiceError::Conflict("adjustment_not_pending"));
    }
    audit::record(
        tx,
        actor,
        Change {
            action: "price_adjustment.apply",
            record_type: "price_adjustment",
            record_id: id,
            before: Some(serde_json::json!({"status": "pending"})),
            after: Some(serde_json::json!({"status": "applied", "units_changed": changed})),
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceHistoryEntry {
    pub old_price: Money,
    pub new_price: Money,
    pub adjustment_id: Option<String>,
    pub actor_name: String,
    pub changed_at: DateTime<Utc>,
}

pub async fn price_history(
    services: &Services,
    actor: &Actor,
    unit_id: &UnitId,
) -> ServiceResult<Vec<PriceHistoryEntry>> {
    inventory::get_unit(services, actor, unit_id).await?;
    Ok(store::price_history_of(services.store.conn(), unit_id)
        .await?
        .into_iter()
        .map(|h| PriceHistoryEntry {
            old_price: h.old_price,
            new_price: h.new_price,
            adjustment_id: h.adjustment_id,
            actor_name: h.actor_name,
            changed_at: h.changed_at,
        })
        .collect())
}
