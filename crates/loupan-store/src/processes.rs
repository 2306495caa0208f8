//! Service processes (A1, A2): versioned definitions, the cases started from
//! them, their steps and the documents received.

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::ids::{BuildingId, ContractId, ProcessCaseId, ProcessDefinitionId, ProjectId, UserId};
use loupan_domain::processes::{ProcessKind, ProcessStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::StoreResult;
use crate::entities::{
    building_readiness as readiness, process_case_documents as documents, process_case_steps as steps,
    process_cases as cases, process_definitions as definitions,
};

pub use cases::Model as CaseRow;
pub use definitions::Model as DefinitionRow;
pub use documents::Model as DocumentRow;
pub use steps::Model as StepRow;

pub async fn any_definition<C: ConnectionTrait>(c: &C) -> StoreResult<bool> {
    Ok(definitions::Entity::find().limit(1).one(c).await?.is_some())
}

/// The current version of every definition (retired ones too), newest first.
pub async fn current_definitions<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<DefinitionRow>> {
    Ok(definitions::Entity::find()
        .filter(definitions::Column::Current.eq(true))
        .order_by_desc(definitions::Column::CreatedAt)
        .order_by_desc(definitions::Column::Id)
        .all(c)
        .await?)
}

pub async fn find_definition<C: ConnectionTrait>(
    c: &C,
    id: &ProcessDefinitionId,
) -> StoreResult<Option<DefinitionRow>> {
    Ok(definitions::Entity::find_by_id(id.clone()).one(c).await?)
}

/// Every version of a definition, the newest first.
pub async fn versions<C: ConnectionTrait>(c: &C, lineage: &ProcessDefinitionId) -> StoreResult<Vec<DefinitionRow>> {
    Ok(definitions::Entity::find()
        .filter(definitions::Column::LineageId.eq(lineage.as_str()))
        .order_by_desc(definitions::Column::Version)
        .all(c)
        .await?)
}

pub async fn insert_definition<C: ConnectionTrait>(c: &C, row: &DefinitionRow) -> StoreResult<()> {
    definitions::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Makes `version` of a lineage no longer current; false when it was not the current one.
pub async fn supersede<C: ConnectionTrait>(c: &C, lineage: &ProcessDefinitionId, version: i32) -> StoreResult<bool> {
    let res = definitions::Entity::update_many()
        .col_expr(definitions::Column::Current, Expr::value(false))
        .filter(definitions::Column::LineageId.eq(lineage.as_str()))
        .filter(definitions::Column::Version.eq(version))
        .filter(definitions::Column::Current.eq(true))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_case<C: ConnectionTrait>(c: &C, row: &CaseRow, steps: &[StepRow]) -> StoreResult<()> {
    cases::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    steps::Entity::insert_many(steps.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec_without_returning(c)
        .await?;
    Ok(())
}

pub async fn find_case<C: ConnectionTrait>(c: &C, id: &ProcessCaseId) -> StoreResult<Option<CaseRow>> {
    Ok(cases::Entity::find_by_id(id.clone()).one(c).await?)
}

/// The contract's case of `kind` that is not cancelled.
pub async fn live_case_of<C: ConnectionTrait>(
    c: &C,
    contract_id: &ContractId,
    kind: ProcessKind,
) -> StoreResult<Option<CaseRow>> {
    Ok(cases::Entity::find()
        .filter(cases::Column::ContractId.eq(contract_id.as_str()))
        .filter(cases::Column::Kind.eq(kind))
        .filter(cases::Column::Status.ne(ProcessStatus::Cancelled))
        .one(c)
        .await?)
}

pub async fn cases_of_contract<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<Vec<CaseRow>> {
    Ok(cases::Entity::find()
        .filter(cases::Column::ContractId.eq(contract_id.as_str()))
        .order_by_asc(cases::Column::StartedAt)
        .all(c)
        .await?)
}

pub async fn steps_of<C: ConnectionTrait>(c: &C, case_id: &ProcessCaseId) -> StoreResult<Vec<StepRow>> {
    Ok(steps::Entity::find()
        .filter(steps::Column::CaseId.eq(case_id.as_str()))
        .order_by_asc(steps::Column::Position)
        .all(c)
        .await?)
}

pub async fn documents_of<C: ConnectionTrait>(c: &C, case_id: &ProcessCaseId) -> StoreResult<Vec<DocumentRow>> {
    Ok(documents::Entity::find()
        .filter(documents::Column::CaseId.eq(case_id.as_str()))
        .order_by_asc(documents::Column::Position)
        .order_by_asc(documents::Column::ReceivedAt)
        .all(c)
        .await?)
}

/// Ticks a document as received; false when it already was.
pub async fn receive_document<C: ConnectionTrait>(c: &C, row: &DocumentRow) -> StoreResult<bool> {
    let res = documents::Entity::insert(row.clone().into_active_model())
        .on_conflict_do_nothing_on([
            documents::Column::CaseId,
            documents::Column::Position,
            documents::Column::Document,
        ])
        .exec_without_returning(c)
        .await?;
    Ok(matches!(res, sea_orm::TryInsertResult::Inserted(1)))
}

/// Where a case moves to: its next step, or none when it is closed.
#[derive(Debug, Clone)]
pub struct Move {
    pub status: ProcessStatus,
    /// Position, name, role, assignee, due and reminder dates of the step now current.
    pub current: Option<(i32, String, String, Option<UserId>, NaiveDate, NaiveDate)>,
    pub closed: Option<(String, DateTime<Utc>)>,
    pub cancel_reason: Option<String>,
}

/// Moves an open case at `version` on; false when someone else moved it first.
pub async fn move_case<C: ConnectionTrait>(c: &C, id: &ProcessCaseId, version: i64, to: Move) -> StoreResult<bool> {
    let (position, name, role, assignee, due, remind) = match to.current {
        Some((p, n, r, a, d, w)) => (Some(p), Some(n), Some(r), a, Some(d), Some(w)),
        None => (None, None, None, None, None, None),
    };
    let (closed_by, closed_at) = to.closed.map_or((None, None), |(by, at)| (Some(by), Some(at)));
    let res = cases::Entity::update_many()
        .col_expr(cases::Column::Status, Expr::value(to.status))
        .col_expr(cases::Column::CurrentPosition, Expr::value(position))
        .col_expr(cases::Column::CurrentStep, Expr::value(name))
        .col_expr(cases::Column::CurrentRole, Expr::value(role))
        .col_expr(cases::Column::AssigneeId, Expr::value(assignee))
        .col_expr(cases::Column::DueOn, Expr::value(due))
        .col_expr(cases::Column::RemindOn, Expr::value(remind))
        .col_expr(cases::Column::RemindedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(cases::Column::EscalatedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(cases::Column::ClosedBy, Expr::value(closed_by))
        .col_expr(cases::Column::ClosedAt, Expr::value(closed_at))
        .col_expr(cases::Column::CancelReason, Expr::value(to.cancel_reason))
        .col_expr(cases::Column::Version, Expr::col(cases::Column::Version).add(1))
        .filter(cases::Column::Id.eq(id.as_str()))
        .filter(cases::Column::Version.eq(version))
        .filter(cases::Column::Status.eq(ProcessStatus::Open))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn finish_step<C: ConnectionTrait>(
    c: &C,
    case_id: &ProcessCaseId,
    position: i32,
    (by, at, on): (&str, DateTime<Utc>, NaiveDate),
    note: Option<&str>,
) -> StoreResult<()> {
    steps::Entity::update_many()
        .col_expr(steps::Column::DoneBy, Expr::value(by.to_owned()))
        .col_expr(steps::Column::DoneAt, Expr::value(at))
        .col_expr(steps::Column::DoneOn, Expr::value(on))
        .col_expr(steps::Column::Note, Expr::value(note.map(str::to_owned)))
        .filter(steps::Column::CaseId.eq(case_id.as_str()))
        .filter(steps::Column::Position.eq(position))
        .exec(c)
        .await?;
    Ok(())
}

/// A step that became current later than its case started is due counted
/// from then: its row takes the deadline computed when it did.
pub async fn set_step_due<C: ConnectionTrait>(
    c: &C,
    case_id: &ProcessCaseId,
    position: i32,
    due: NaiveDate,
) -> StoreResult<()> {
    steps::Entity::update_many()
        .col_expr(steps::Column::DueOn, Expr::value(due))
        .filter(steps::Column::CaseId.eq(case_id.as_str()))
        .filter(steps::Column::Position.eq(position))
        .exec(c)
        .await?;
    Ok(())
}

/// Which alarm of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    /// On the reminder day, before the deadline.
    Remind,
    /// The day after the deadline.
    Escalate,
}

/// Open cases whose current step's alarm is due on `today` and not raised yet.
pub async fn due_alarms<C: ConnectionTrait>(
    c: &C,
    alarm: Alarm,
    today: NaiveDate,
    limit: u64,
) -> StoreResult<Vec<CaseRow>> {
    let q = cases::Entity::find().filter(cases::Column::Status.eq(ProcessStatus::Open));
    let q = match alarm {
        Alarm::Remind => q.filter(cases::Column::RemindOn.lte(today)).filter(cases::Column::RemindedAt.is_null()),
        Alarm::Escalate => q.filter(cases::Column::DueOn.lt(today)).filter(cases::Column::EscalatedAt.is_null()),
    };
    Ok(q.order_by_asc(cases::Column::Id).limit(limit).all(c).await?)
}

/// Marks the alarm raised for the step the case is at; false when another
/// instance raised it first or the case moved on.
pub async fn claim_alarm<C: ConnectionTrait>(
    c: &C,
    row: &CaseRow,
    alarm: Alarm,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (column, step_column) = match alarm {
        Alarm::Remind => (cases::Column::RemindedAt, steps::Column::RemindedAt),
        Alarm::Escalate => (cases::Column::EscalatedAt, steps::Column::EscalatedAt),
    };
    let res = cases::Entity::update_many()
        .col_expr(column, Expr::value(now))
        .filter(cases::Column::Id.eq(row.id.as_str()))
        .filter(cases::Column::Version.eq(row.version))
        .filter(column.is_null())
        .exec(c)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    if let Some(position) = row.current_position {
        steps::Entity::update_many()
            .col_expr(step_column, Expr::value(now))
            .filter(steps::Column::CaseId.eq(row.id.as_str()))
            .filter(steps::Column::Position.eq(position))
            .exec(c)
            .await?;
    }
    Ok(true)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// None: every project.
    pub projects: Option<Vec<ProjectId>>,
    pub building: Option<BuildingId>,
    pub kind: Option<ProcessKind>,
    pub status: Option<ProcessStatus>,
    /// Open cases whose current step is for one of these roles…
    pub roles: Option<Vec<String>>,
    /// …and for nobody in particular or for this person.
    pub for_user: Option<UserId>,
    /// Open cases whose current step is past its deadline on this day.
    pub overdue_on: Option<NaiveDate>,
    /// Only the cases of this agent's contracts.
    pub agent: Option<UserId>,
}

/// Cases by `filter`, the soonest due first, then the newest; `limit` rows
/// after `offset`, and how many there are in all.
pub async fn list_cases<C: ConnectionTrait>(
    c: &C,
    f: &CaseFilter,
    (offset, limit): (u64, u64),
) -> StoreResult<(Vec<CaseRow>, u64)> {
    use sea_orm::PaginatorTrait;
    let mut q = cases::Entity::find();
    if let Some(p) = &f.projects {
        q = q.filter(cases::Column::ProjectId.is_in(p.iter().cloned()));
    }
    if let Some(b) = &f.building {
        q = q.filter(cases::Column::BuildingId.eq(b.as_str()));
    }
    if let Some(k) = f.kind {
        q = q.filter(cases::Column::Kind.eq(k));
    }
    if let Some(s) = f.status {
        q = q.filter(cases::Column::Status.eq(s));
    }
    if let Some(roles) = &f.roles {
        q = q
            .filter(cases::Column::Status.eq(ProcessStatus::Open))
            .filter(cases::Column::CurrentRole.is_in(roles.clone()));
    }
    if let Some(user) = &f.for_user {
        q = q.filter(
            sea_orm::Condition::any()
                .add(cases::Column::AssigneeId.is_null())
                .add(cases::Column::AssigneeId.eq(user.as_str())),
        );
    }
    if let Some(agent) = &f.agent {
        use crate::entities::contracts;
        use sea_orm::sea_query::Query;
        let theirs = Query::select()
            .column(contracts::Column::Id)
            .from(contracts::Entity)
            .and_where(contracts::Column::AgentId.eq(agent.as_str()))
            .to_owned();
        q = q.filter(cases::Column::ContractId.in_subquery(theirs));
    }
    if let Some(day) = f.overdue_on {
        q = q.filter(cases::Column::Status.eq(ProcessStatus::Open)).filter(cases::Column::DueOn.lt(day));
    }
    let rows = q
        .clone()
        .order_by_asc(cases::Column::DueOn)
        .order_by_desc(cases::Column::StartedAt)
        .order_by_asc(cases::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(c)
        .await?;
    // A first page that is not full is the whole list: no count needed.
    let total = match (offset, rows.len() as u64) {
        (0, n) if n < limit => n,
        _ => q.count(c).await?,
    };
    Ok((rows, total))
}

/// A building's cases of a process that are not cancelled, the oldest first.
pub async fn cases_of_building<C: ConnectionTrait>(
    c: &C,
    building: &BuildingId,
    kind: ProcessKind,
) -> StoreResult<Vec<CaseRow>> {
    Ok(cases::Entity::find()
        .filter(cases::Column::BuildingId.eq(building.as_str()))
        .filter(cases::Column::Kind.eq(kind))
        .filter(cases::Column::Status.ne(ProcessStatus::Cancelled))
        .order_by_asc(cases::Column::StartedAt)
        .order_by_asc(cases::Column::Id)
        .all(c)
        .await?)
}

/// Records a loan case's disbursement at `version`; false when the case moved
/// or was disbursed meanwhile.
pub async fn set_disbursement<C: ConnectionTrait>(
    c: &C,
    id: &ProcessCaseId,
    version: i64,
    (receipt_id, amount, on, lender): (&str, loupan_domain::Money, NaiveDate, &str),
) -> StoreResult<bool> {
    let res = cases::Entity::update_many()
        .col_expr(cases::Column::DisbursementReceiptId, Expr::value(receipt_id.to_owned()))
        .col_expr(cases::Column::DisbursedAmount, Expr::value(amount))
        .col_expr(cases::Column::DisbursedOn, Expr::value(on))
        .col_expr(cases::Column::Lender, Expr::value(lender.to_owned()))
        .col_expr(cases::Column::Version, Expr::col(cases::Column::Version).add(1))
        .filter(cases::Column::Id.eq(id.as_str()))
        .filter(cases::Column::Version.eq(version))
        .filter(cases::Column::DisbursementReceiptId.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub use readiness::Model as ReadinessRow;

pub async fn readiness_of<C: ConnectionTrait>(c: &C, building: &BuildingId) -> StoreResult<Option<ReadinessRow>> {
    Ok(readiness::Entity::find_by_id(building.clone()).one(c).await?)
}

/// Declares a building ready on a day, or moves the day it was declared for.
pub async fn set_readiness<C: ConnectionTrait>(c: &C, row: &ReadinessRow) -> StoreResult<()> {
    readiness::Entity::insert(row.clone().into_active_model())
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(readiness::Column::BuildingId)
                .update_columns([
                    readiness::Column::ReadyOn,
                    readiness::Column::DeclaredBy,
                    readiness::Column::DeclaredAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}
