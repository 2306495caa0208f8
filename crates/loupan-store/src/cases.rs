//! Customer-service cases (C4): the cases, their history, categories,
//! assignment rules, deadlines per kind and priority, and the working calendar.

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::cases::{CaseKind, CaseStatus};
use loupan_domain::ids::{CaseCategoryId, CaseId, ContractId, CustomerId, ProjectId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::StoreResult;
use crate::entities::{calendar_days, case_categories, case_events, case_rules, contracts, service_cases, sla_targets};

pub use calendar_days::Model as CalendarDayRow;
pub use case_categories::Model as CategoryRow;
pub use case_events::Model as CaseEventRow;
pub use case_rules::Model as RuleRow;
pub use service_cases::Model as CaseRow;
pub use sla_targets::Model as SlaTargetRow;

pub async fn insert_case<C: ConnectionTrait>(c: &C, row: &CaseRow) -> StoreResult<()> {
    service_cases::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_case<C: ConnectionTrait>(c: &C, id: &CaseId) -> StoreResult<Option<CaseRow>> {
    Ok(service_cases::Entity::find_by_id(id.clone()).one(c).await?)
}

/// Writes the case whole if nobody changed it since `expected_version` was read.
pub async fn update_case<C: ConnectionTrait>(c: &C, row: &CaseRow, expected_version: i64) -> StoreResult<bool> {
    use sea_orm::ActiveModelTrait;
    let mut active = row.clone().into_active_model().reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(row.id.clone());
    let result = service_cases::Entity::update_many()
        .set(active)
        .filter(service_cases::Column::Id.eq(&row.id))
        .filter(service_cases::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What a list of cases is limited to.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// None: every project (the caller sees all).
    pub projects: Option<Vec<ProjectId>>,
    pub project: Option<ProjectId>,
    pub status: Option<CaseStatus>,
    pub kind: Option<loupan_domain::cases::CaseKind>,
    pub assignee: Option<UserId>,
    pub customer: Option<CustomerId>,
    /// Only cases still waiting on the company.
    pub open_only: bool,
    /// Only open cases past a deadline at this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub registered_from: Option<DateTime<Utc>>,
    pub registered_to: Option<DateTime<Utc>>,
}

const CLOSED: [CaseStatus; 3] = [CaseStatus::Closed, CaseStatus::Merged, CaseStatus::Confirmed];

/// Cases newest first, after the cursor `(registered_at, id)` of the last one shown.
pub async fn list_cases<C: ConnectionTrait>(
    c: &C,
    filter: &CaseFilter,
    after: Option<(DateTime<Utc>, CaseId)>,
    limit: u64,
) -> StoreResult<Vec<CaseRow>> {
    use service_cases::Column as Col;
    let mut q = filtered(filter);
    if let Some((at, id)) = after {
        q = q.filter(
            sea_orm::Condition::any()
                .add(Col::RegisteredAt.lt(at))
                .add(sea_orm::Condition::all().add(Col::RegisteredAt.eq(at)).add(Col::Id.lt(id))),
        );
    }
    Ok(q.order_by_desc(Col::RegisteredAt).order_by_desc(Col::Id).limit(limit).all(c).await?)
}

/// What the SLA report reads of a case: its groups, deadlines and steps,
/// not its texts.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ReportRow {
    pub project_id: ProjectId,
    pub kind: CaseKind,
    pub category_id: Option<CaseCategoryId>,
    pub assignee_id: Option<UserId>,
    pub status: CaseStatus,
    pub registered_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub replied_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<i32>,
}

/// Every case matching `filter`, for a report (no order, no limit), with
/// only the columns the report reads.
pub async fn cases_for_report<C: ConnectionTrait>(c: &C, filter: &CaseFilter) -> StoreResult<Vec<ReportRow>> {
    Ok(report_query(filter).into_model::<ReportRow>().all(c).await?)
}

/// The statement `cases_for_report` sends, for the benchmark's raw side.
pub fn report_statement(backend: sea_orm::DbBackend, filter: &CaseFilter) -> Statement {
    use sea_orm::QueryTrait;
    report_query(filter).build(backend)
}

fn report_query(filter: &CaseFilter) -> sea_orm::Select<service_cases::Entity> {
    use service_cases::Column as Col;
    filtered(filter).select_only().columns([
        Col::ProjectId,
        Col::Kind,
        Col::CategoryId,
        Col::AssigneeId,
        Col::Status,
        Col::RegisteredAt,
        Col::ResponseDueAt,
        Col::ResolutionDueAt,
        Col::FirstResponseAt,
        Col::RepliedAt,
        Col::Satisfaction,
    ])
}

fn filtered(filter: &CaseFilter) -> sea_orm::Select<service_cases::Entity> {
    use service_cases::Column as Col;
    let mut q = service_cases::Entity::find();
    if let Some(projects) = &filter.projects {
        q = q.filter(Col::ProjectId.is_in(projects.iter().map(|p| p.0.clone())));
    }
    if let Some(p) = &filter.project {
        q = q.filter(Col::ProjectId.eq(p));
    }
    if let Some(s) = filter.status {
        q = q.filter(Col::Status.eq(s));
    }
    if let Some(k) = filter.kind {
        q = q.filter(Col::Kind.eq(k));
    }
    if let Some(a) = &filter.assignee {
        q = q.filter(Col::AssigneeId.eq(a));
    }
    if let Some(customer) = &filter.customer {
        q = q.filter(Col::CustomerId.eq(customer));
    }
    if filter.open_only || filter.overdue_at.is_some() {
        q = q.filter(Col::Status.is_not_in(CLOSED));
    }
    if let Some(now) = filter.overdue_at {
        q = q.filter(
            sea_orm::Condition::any()
                .add(sea_orm::Condition::all().add(Col::FirstResponseAt.is_null()).add(Col::ResponseDueAt.lt(now)))
                .add(sea_orm::Condition::all().add(Col::RepliedAt.is_null()).add(Col::ResolutionDueAt.lt(now))),
        );
    }
    if let Some(from) = filter.registered_from {
        q = q.filter(Col::RegisteredAt.gte(from));
    }
    if let Some(to) = filter.registered_to {
        q = q.filter(Col::RegisteredAt.lt(to));
    }
    q
}

/// The customer's complaints registered since `since`, merged ones not counted
/// (they are the same event as another).
pub async fn complaints_since<C: ConnectionTrait>(
    c: &C,
    customer: &CustomerId,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    use service_cases::Column as Col;
    Ok(service_cases::Entity::find()
        .filter(Col::CustomerId.eq(customer))
        .filter(Col::Kind.eq(CaseKind::Complaint))
        .filter(Col::Status.ne(CaseStatus::Merged))
        .filter(Col::RegisteredAt.gte(since))
        .count(c)
        .await?)
}

/// Customers with at least `at_least` complaints since `since` (merged ones
/// not counted) in the projects given, most complaints first: (customer, complaints).
pub async fn repeat_complainers<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project: Option<&ProjectId>,
    since: DateTime<Utc>,
    at_least: i64,
    limit: u64,
) -> StoreResult<Vec<(CustomerId, i64)>> {
    use service_cases::Column as Col;
    let complaints = Col::Id.count();
    let mut q = service_cases::Entity::find()
        .select_only()
        .column(Col::CustomerId)
        .column_as(complaints.clone(), "complaints")
        .filter(Col::CustomerId.is_not_null())
        .filter(Col::Kind.eq(CaseKind::Complaint))
        .filter(Col::Status.ne(CaseStatus::Merged))
        .filter(Col::RegisteredAt.gte(since));
    if let Some(projects) = projects {
        q = q.filter(Col::ProjectId.is_in(projects.iter().cloned()));
    }
    if let Some(p) = project {
        q = q.filter(Col::ProjectId.eq(p));
    }
    Ok(q.group_by(Col::CustomerId)
        .having(complaints.clone().gte(at_least))
        .order_by_desc(complaints)
        .order_by_asc(Col::CustomerId)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await?)
}

pub async fn insert_event<C: ConnectionTrait>(c: &C, row: &CaseEventRow) -> StoreResult<()> {
    case_events::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn events_of<C: ConnectionTrait>(c: &C, case_id: &CaseId) -> StoreResult<Vec<CaseEventRow>> {
    Ok(case_events::Entity::find()
        .filter(case_events::Column::CaseId.eq(case_id))
        .order_by_asc(case_events::Column::At)
        .order_by_asc(case_events::Column::Id)
        .all(c)
        .await?)
}

/// Cases of a customer in the last `since`, for the repeated-complaint check and the timeline.
pub async fn cases_of_customer<C: ConnectionTrait>(
    c: &C,
    customer_id: &CustomerId,
    since: Option<DateTime<Utc>>,
) -> StoreResult<Vec<CaseRow>> {
    let mut q = service_cases::Entity::find().filter(service_cases::Column::CustomerId.eq(customer_id));
    if let Some(since) = since {
        q = q.filter(service_cases::Column::RegisteredAt.gte(since));
    }
    Ok(q.order_by_desc(service_cases::Column::RegisteredAt).all(c).await?)
}

/// The active contracts of a customer in a project (to link a case to its unit).
pub async fn active_contracts_of<C: ConnectionTrait>(
    c: &C,
    customer_id: &CustomerId,
    project_id: &ProjectId,
) -> StoreResult<Vec<contracts::Model>> {
    Ok(contracts::Entity::find()
        .filter(contracts::Column::CustomerId.eq(customer_id))
        .filter(contracts::Column::ProjectId.eq(project_id))
        .filter(contracts::Column::Status.eq(loupan_domain::sales::ContractStatus::Active))
        .order_by_asc(contracts::Column::SignedOn)
        .all(c)
        .await?)
}

pub async fn find_contract_of_unit<C: ConnectionTrait>(
    c: &C,
    contract_id: &ContractId,
) -> StoreResult<Option<contracts::Model>> {
    Ok(contracts::Entity::find_by_id(contract_id.clone()).one(c).await?)
}

// ---- Deadlines ----

/// Which deadline a reminder or escalation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    Response,
    Resolution,
}

/// Which of the two things happens at a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    /// Before the deadline, to the handler.
    Remind,
    /// After it, to the next level.
    Escalate,
}

fn alarm_columns(
    deadline: Deadline,
    alarm: Alarm,
) -> (service_cases::Column, service_cases::Column, service_cases::Column) {
    use service_cases::Column as Col;
    // (when it is due, what stops it, when it happened)
    match (deadline, alarm) {
        (Deadline::Response, Alarm::Remind) => (Col::ResponseRemindAt, Col::FirstResponseAt, Col::ResponseRemindedAt),
        (Deadline::Response, Alarm::Escalate) => (Col::ResponseDueAt, Col::FirstResponseAt, Col::ResponseEscalatedAt),
        (Deadline::Resolution, Alarm::Remind) => (Col::ResolutionRemindAt, Col::RepliedAt, Col::ResolutionRemindedAt),
        (Deadline::Resolution, Alarm::Escalate) => (Col::ResolutionDueAt, Col::RepliedAt, Col::ResolutionEscalatedAt),
    }
}

/// Open cases whose alarm is due at `now` and has not happened.
pub async fn due_alarms<C: ConnectionTrait>(
    c: &C,
    deadline: Deadline,
    alarm: Alarm,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<CaseRow>> {
    let (due, stop, happened) = alarm_columns(deadline, alarm);
    Ok(service_cases::Entity::find()
        .filter(due.lte(now))
        .filter(stop.is_null())
        .filter(happened.is_null())
        .filter(service_cases::Column::Status.is_not_in(CLOSED))
        .order_by_asc(due)
        .limit(limit)
        .all(c)
        .await?)
}

/// Marks the alarm as happened; false when another instance got there first.
pub async fn claim_alarm<C: ConnectionTrait>(
    c: &C,
    id: &CaseId,
    deadline: Deadline,
    alarm: Alarm,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (_, stop, happened) = alarm_columns(deadline, alarm);
    let result = service_cases::Entity::update_many()
        .col_expr(happened, Expr::value(now))
        .filter(service_cases::Column::Id.eq(id))
        .filter(happened.is_null())
        .filter(stop.is_null())
        // Closed or merged since it was read as due: nothing to raise.
        .filter(service_cases::Column::Status.is_not_in(CLOSED))
        .exec(c)
        .await?;
    Ok(result.rows_affected == 1)
}

// ---- Categories ----

pub async fn categories<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<CategoryRow>> {
    Ok(case_categories::Entity::find().order_by_asc(case_categories::Column::Name).all(c).await?)
}

pub async fn find_category<C: ConnectionTrait>(c: &C, id: &CaseCategoryId) -> StoreResult<Option<CategoryRow>> {
    Ok(case_categories::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn insert_category<C: ConnectionTrait>(c: &C, row: &CategoryRow) -> StoreResult<()> {
    case_categories::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

// ---- Assignment rules ----

pub async fn rules_of<C: ConnectionTrait>(c: &C, project_id: &ProjectId) -> StoreResult<Vec<RuleRow>> {
    Ok(case_rules::Entity::find()
        .filter(case_rules::Column::ProjectId.eq(project_id))
        .order_by_asc(case_rules::Column::CreatedAt)
        .all(c)
        .await?)
}

pub async fn find_rule<C: ConnectionTrait>(c: &C, id: &loupan_domain::ids::CaseRuleId) -> StoreResult<Option<RuleRow>> {
    Ok(case_rules::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn insert_rule<C: ConnectionTrait>(c: &C, row: &RuleRow) -> StoreResult<()> {
    case_rules::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn delete_rule<C: ConnectionTrait>(c: &C, id: &loupan_domain::ids::CaseRuleId) -> StoreResult<bool> {
    Ok(case_rules::Entity::delete_by_id(id.clone()).exec(c).await?.rows_affected == 1)
}

/// Takes the rule's next turn: the number of cases it gave before this one.
/// Inside the registering transaction, so two cases never take the same turn.
pub async fn take_turn<C: ConnectionTrait>(c: &C, id: &loupan_domain::ids::CaseRuleId) -> StoreResult<i64> {
    let backend = c.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE case_rules SET turns = turns + 1 WHERE id = $1 RETURNING turns",
        _ => "UPDATE case_rules SET turns = turns + 1 WHERE id = ? RETURNING turns",
    };
    let row = c.query_one_raw(Statement::from_sql_and_values(backend, sql, [id.as_str().into()])).await?;
    let turns: i64 = match row {
        Some(r) => r.try_get("", "turns")?,
        None => 0,
    };
    Ok(turns - 1)
}

// ---- Deadlines per kind and priority ----

pub async fn sla_targets<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<SlaTargetRow>> {
    Ok(sla_targets::Entity::find().all(c).await?)
}

pub async fn put_sla_targets<C: ConnectionTrait>(c: &C, rows: &[SlaTargetRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sla_targets::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
        .on_conflict(
            OnConflict::columns([sla_targets::Column::Kind, sla_targets::Column::Priority])
                .update_columns([sla_targets::Column::ResponseMinutes, sla_targets::Column::ResolutionMinutes])
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

// ---- The working calendar ----

pub async fn calendar_days<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<CalendarDayRow>> {
    Ok(calendar_days::Entity::find().order_by_asc(calendar_days::Column::Day).all(c).await?)
}

/// Replaces the days set apart between `from` and `to` (a year) with `rows`.
pub async fn replace_calendar_days<C: ConnectionTrait>(
    c: &C,
    from: NaiveDate,
    to: NaiveDate,
    rows: &[CalendarDayRow],
) -> StoreResult<()> {
    calendar_days::Entity::delete_many()
        .filter(calendar_days::Column::Day.gte(from))
        .filter(calendar_days::Column::Day.lte(to))
        .exec(c)
        .await?;
    if !rows.is_empty() {
        calendar_days::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}
