//! The handover (A4): appointment slots, each contract's handover and the
//! defects of its inspection.

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::handover::{DefectStatus, HandoverStatus};
use loupan_domain::ids::{BuildingId, ContractId, DefectId, HandoverId, HandoverSlotId, ProjectId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::StoreResult;
use crate::entities::{handover_defects as defects, handover_slots as slots, handovers};

pub use defects::Model as DefectRow;
pub use handovers::Model as HandoverRow;
pub use slots::Model as SlotRow;

pub async fn insert_slot<C: ConnectionTrait>(c: &C, row: &SlotRow) -> StoreResult<()> {
    slots::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_slot<C: ConnectionTrait>(c: &C, id: &HandoverSlotId) -> StoreResult<Option<SlotRow>> {
    Ok(slots::Entity::find_by_id(id.clone()).one(c).await?)
}

/// A building's slots from `from` on, by day and period.
pub async fn slots_of_building<C: ConnectionTrait>(
    c: &C,
    building: &BuildingId,
    from: Option<NaiveDate>,
) -> StoreResult<Vec<SlotRow>> {
    let mut q = slots::Entity::find().filter(slots::Column::BuildingId.eq(building.as_str()));
    if let Some(day) = from {
        q = q.filter(slots::Column::Day.gte(day));
    }
    Ok(q.order_by_asc(slots::Column::Day).order_by_asc(slots::Column::Period).all(c).await?)
}

/// Takes a place in a slot; false when it is full (checked and counted in one statement).
pub async fn take_place<C: ConnectionTrait>(c: &C, id: &HandoverSlotId) -> StoreResult<bool> {
    let res = slots::Entity::update_many()
        .col_expr(slots::Column::Booked, Expr::col(slots::Column::Booked).add(1))
        .filter(slots::Column::Id.eq(id.as_str()))
        .filter(Expr::col(slots::Column::Booked).lt(Expr::col(slots::Column::Capacity)))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives a place back (a booking moved or cancelled).
pub async fn free_place<C: ConnectionTrait>(c: &C, id: &HandoverSlotId) -> StoreResult<()> {
    slots::Entity::update_many()
        .col_expr(slots::Column::Booked, Expr::col(slots::Column::Booked).sub(1))
        .filter(slots::Column::Id.eq(id.as_str()))
        .filter(slots::Column::Booked.gt(0))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn insert_handover<C: ConnectionTrait>(c: &C, row: &HandoverRow) -> StoreResult<()> {
    handovers::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_handover<C: ConnectionTrait>(c: &C, id: &HandoverId) -> StoreResult<Option<HandoverRow>> {
    Ok(handovers::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn handover_of_contract<C: ConnectionTrait>(
    c: &C,
    contract: &ContractId,
) -> StoreResult<Option<HandoverRow>> {
    Ok(handovers::Entity::find().filter(handovers::Column::ContractId.eq(contract.as_str())).one(c).await?)
}

pub async fn handovers_of_contracts<C: ConnectionTrait>(
    c: &C,
    contracts: &[ContractId],
) -> StoreResult<Vec<HandoverRow>> {
    Ok(handovers::Entity::find()
        .filter(handovers::Column::ContractId.is_in(contracts.iter().map(ContractId::as_str)))
        .all(c)
        .await?)
}

pub async fn handover_by_token_hash<C: ConnectionTrait>(c: &C, hash: &str) -> StoreResult<Option<HandoverRow>> {
    Ok(handovers::Entity::find().filter(handovers::Column::TokenHash.eq(hash)).one(c).await?)
}

/// A building's handovers, optionally of one status.
pub async fn handovers_of_building<C: ConnectionTrait>(
    c: &C,
    building: &BuildingId,
    status: Option<HandoverStatus>,
) -> StoreResult<Vec<HandoverRow>> {
    let mut q = handovers::Entity::find().filter(handovers::Column::BuildingId.eq(building.as_str()));
    if let Some(s) = status {
        q = q.filter(handovers::Column::Status.eq(s));
    }
    Ok(q.order_by_asc(handovers::Column::OpenedAt).order_by_asc(handovers::Column::Id).all(c).await?)
}

/// The day a unit was handed over, if it was.
pub async fn handed_over_on<C: ConnectionTrait>(
    c: &C,
    unit: &loupan_domain::ids::UnitId,
) -> StoreResult<Option<NaiveDate>> {
    Ok(handovers::Entity::find()
        .filter(handovers::Column::UnitId.eq(unit.as_str()))
        .filter(handovers::Column::Status.eq(HandoverStatus::HandedOver))
        .order_by_desc(handovers::Column::HandedOverAt)
        .one(c)
        .await?
        .and_then(|h| h.handed_over_on))
}

/// The handovers booked into a slot.
pub async fn handovers_of_slot<C: ConnectionTrait>(c: &C, slot: &HandoverSlotId) -> StoreResult<Vec<HandoverRow>> {
    Ok(handovers::Entity::find().filter(handovers::Column::SlotId.eq(slot.as_str())).all(c).await?)
}

/// Writes the handover whole if nobody changed it since `expected_version` was read.
pub async fn update_handover<C: ConnectionTrait>(c: &C, row: &HandoverRow, expected_version: i64) -> StoreResult<bool> {
    use sea_orm::ActiveModelTrait;
    let mut active = row.clone().into_active_model().reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(row.id.clone());
    let result = handovers::Entity::update_many()
        .set(active)
        .filter(handovers::Column::Id.eq(row.id.as_str()))
        .filter(handovers::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn insert_defect<C: ConnectionTrait>(c: &C, row: &DefectRow) -> StoreResult<()> {
    defects::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_defect<C: ConnectionTrait>(c: &C, id: &DefectId) -> StoreResult<Option<DefectRow>> {
    Ok(defects::Entity::find_by_id(id.clone()).one(c).await?)
}

/// A handover's defects by number.
pub async fn defects_of<C: ConnectionTrait>(c: &C, handover: &HandoverId) -> StoreResult<Vec<DefectRow>> {
    Ok(defects::Entity::find()
        .filter(defects::Column::HandoverId.eq(handover.as_str()))
        .order_by_asc(defects::Column::Number)
        .all(c)
        .await?)
}

/// The next number of a handover's defects.
pub async fn next_defect_number<C: ConnectionTrait>(c: &C, handover: &HandoverId) -> StoreResult<i32> {
    let last = defects::Entity::find()
        .select_only()
        .column_as(defects::Column::Number.max(), "n")
        .filter(defects::Column::HandoverId.eq(handover.as_str()))
        .into_tuple::<Option<i32>>()
        .one(c)
        .await?
        .flatten();
    Ok(last.unwrap_or(0) + 1)
}

pub async fn update_defect<C: ConnectionTrait>(c: &C, row: &DefectRow, expected_version: i64) -> StoreResult<bool> {
    use sea_orm::ActiveModelTrait;
    let mut active = row.clone().into_active_model().reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(row.id.clone());
    let result = defects::Entity::update_many()
        .set(active)
        .filter(defects::Column::Id.eq(row.id.as_str()))
        .filter(defects::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Open defects past their deadline whose passing was not told yet, the oldest first.
pub async fn overdue_untold<C: ConnectionTrait>(c: &C, now: DateTime<Utc>, limit: u64) -> StoreResult<Vec<DefectRow>> {
    Ok(defects::Entity::find()
        .filter(defects::Column::Status.eq(DefectStatus::Open))
        .filter(defects::Column::DueAt.lt(now))
        .filter(defects::Column::EscalatedAt.is_null())
        .order_by_asc(defects::Column::DueAt)
        .limit(limit)
        .all(c)
        .await?)
}

/// Claims telling that a defect is overdue; false when another instance told it first.
pub async fn claim_overdue<C: ConnectionTrait>(c: &C, id: &DefectId, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = defects::Entity::update_many()
        .col_expr(defects::Column::EscalatedAt, Expr::value(now))
        .filter(defects::Column::Id.eq(id.as_str()))
        .filter(defects::Column::EscalatedAt.is_null())
        .filter(defects::Column::Status.eq(DefectStatus::Open))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// What a list of defects is limited to.
#[derive(Debug, Clone, Default)]
pub struct DefectFilter {
    /// None: every project (the caller sees all).
    pub projects: Option<Vec<ProjectId>>,
    pub project: Option<ProjectId>,
    pub status: Option<DefectStatus>,
    /// Only defects not yet accepted whose deadline passed before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub contractor: Option<String>,
}

/// Defects by `filter`, the soonest due first; `limit` rows after `offset`, and how many in all.
pub async fn list_defects<C: ConnectionTrait>(
    c: &C,
    f: &DefectFilter,
    (offset, limit): (u64, u64),
) -> StoreResult<(Vec<DefectRow>, u64)> {
    use sea_orm::PaginatorTrait;
    let mut q = defects::Entity::find();
    if let Some(p) = &f.projects {
        q = q.filter(defects::Column::ProjectId.is_in(p.iter().map(ProjectId::as_str)));
    }
    if let Some(p) = &f.project {
        q = q.filter(defects::Column::ProjectId.eq(p.as_str()));
    }
    if let Some(s) = f.status {
        q = q.filter(defects::Column::Status.eq(s));
    }
    if let Some(at) = f.overdue_at {
        q = q.filter(defects::Column::Status.eq(DefectStatus::Open)).filter(defects::Column::DueAt.lt(at));
    }
    if let Some(who) = &f.contractor {
        q = q.filter(defects::Column::Contractor.eq(who.as_str()));
    }
    let rows = q
        .clone()
        .order_by_asc(defects::Column::DueAt)
        .order_by_asc(defects::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(c)
        .await?;
    let total = match (offset, rows.len() as u64) {
        (0, n) if n < limit => n,
        _ => q.count(c).await?,
    };
    Ok((rows, total))
}
