//! Customer-service cases (C4): the cases, their history, categories,
//! assignment rules, deadlines per kind and priority, and the working calendar.

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::cases::{CaseKind, CaseStatus};
use loupan_domain::ids::{CaseCategoryId, CaseId, ContractId, CustomerId, ProjectId, UserId};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
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

/// What the SLA report groups cases by, as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKey {
    Project,
    Kind,
    Category,
    Assignee,
    /// Calendar months of the company: each label with the instant its month
    /// ends (the last label takes every later case).
    Months(Vec<(String, DateTime<Utc>)>),
}

/// One group's counts and sums for the SLA report, all additive (the total
/// is the sum of the groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaSums {
    pub key: String,
    pub cases: i64,
    pub open: i64,
    pub response_met: i64,
    pub response_missed: i64,
    pub resolution_met: i64,
    pub resolution_missed: i64,
    pub response_minutes: i64,
    pub responded: i64,
    pub resolution_minutes: i64,
    pub resolved: i64,
    pub satisfaction_sum: i64,
    pub scored: i64,
}

/// `project_id IN (…)`, `project_id = …`, the registration period and the
/// open statuses of `filter` as SQL conditions (only these of its fields).
fn report_where(backend: DbBackend, filter: &CaseFilter, values: &mut Vec<Value>) -> String {
    let mut bind = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let mut sql = String::new();
    if let Some(projects) = &filter.projects {
        if projects.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let list: Vec<String> = projects.iter().map(|p| bind(Value::from(p.as_str().to_owned()))).collect();
            sql.push_str(&format!(" AND project_id IN ({})", list.join(", ")));
        }
    }
    if let Some(p) = &filter.project {
        sql.push_str(&format!(" AND project_id = {}", bind(Value::from(p.as_str().to_owned()))));
    }
    // SQLite keeps no statistics here and would walk the registration index
    // for a year too, reading the table in index order (four times slower
    // than reading it through); `+` keeps it off the index for a long period.
    let long = match (filter.registered_from, filter.registered_to) {
        (Some(from), Some(to)) => to - from > chrono::Duration::days(62),
        _ => true,
    };
    let column = if backend == DbBackend::Sqlite && long { "+registered_at" } else { "registered_at" };
    if let Some(from) = filter.registered_from {
        sql.push_str(&format!(" AND {column} >= {}", bind(Value::from(from))));
    }
    if let Some(to) = filter.registered_to {
        sql.push_str(&format!(" AND {column} < {}", bind(Value::from(to))));
    }
    if filter.open_only {
        // Named rather than `NOT IN` the closed ones: the index on status
        // then reads the open cases alone.
        let list: Vec<String> =
            CaseStatus::ALL.iter().filter(|s| !CLOSED.contains(s)).map(|s| bind(Value::from(s.name()))).collect();
        sql.push_str(&format!(" AND status IN ({})", list.join(", ")));
    }
    sql
}

/// The SLA report's statement: the cases of `filter` (merged ones left out,
/// they are the same event as another) grouped by `key`, with the deadlines
/// met and missed at `now` and the working minutes kept on each case.
pub fn sla_statement(backend: DbBackend, filter: &CaseFilter, key: &ReportKey, now: DateTime<Utc>) -> Statement {
    let mut values: Vec<Value> = Vec::new();
    let bind = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let key_sql = match key {
        ReportKey::Project => "project_id".to_owned(),
        ReportKey::Kind => "kind".to_owned(),
        ReportKey::Category => "COALESCE(category_id, '')".to_owned(),
        ReportKey::Assignee => "COALESCE(assignee_id, '')".to_owned(),
        ReportKey::Months(months) => match months.split_last() {
            None => "''".to_owned(),
            Some(((last, _), [])) => format!("CAST({} AS TEXT)", bind(&mut values, Value::from(last.clone()))),
            Some(((last, _), earlier)) => {
                let mut sql = String::from("CASE");
                for (label, end) in earlier {
                    let end = bind(&mut values, Value::from(*end));
                    let label = bind(&mut values, Value::from(label.clone()));
                    sql.push_str(&format!(" WHEN registered_at < {end} THEN {label}"));
                }
                sql.push_str(&format!(" ELSE {} END", bind(&mut values, Value::from(last.clone()))));
                sql
            }
        },
    };
    finish_sla(backend, &key_sql, filter, values, now)
}

fn finish_sla(
    backend: DbBackend,
    key_sql: &str,
    filter: &CaseFilter,
    mut values: Vec<Value>,
    now: DateTime<Utc>,
) -> Statement {
    let closed: Vec<String> = CLOSED
        .iter()
        .map(|s| {
            values.push(Value::from(s.name()));
            format!("${}", values.len())
        })
        .collect();
    values.push(Value::from(now));
    let now_1 = format!("${}", values.len());
    values.push(Value::from(now));
    let now_2 = format!("${}", values.len());
    values.push(Value::from(CaseStatus::Merged.name()));
    let merged = format!("${}", values.len());
    // Each case's outcomes are worked out first and only they are grouped:
    // SQLite groups by sorting, and sorting the few small numbers instead
    // of the timestamps they come from makes the report a sixth faster
    // there. `LIMIT -1` (no limit) keeps SQLite from merging the two
    // levels back into one; PostgreSQL groups by hashing and merges them.
    let flag = |condition: &str| format!("CASE WHEN {condition} THEN 1 ELSE 0 END");
    let outcomes = [
        flag(&format!("status NOT IN ({})", closed.join(", "))),
        flag("first_response_at <= response_due_at"),
        flag(&format!(
            "first_response_at > response_due_at OR (first_response_at IS NULL AND response_due_at < {now_1})"
        )),
        flag("replied_at <= resolution_due_at"),
        flag(&format!("replied_at > resolution_due_at OR (replied_at IS NULL AND resolution_due_at < {now_2})")),
    ];
    let mut inner = format!("SELECT {key_sql} AS k");
    for (i, outcome) in outcomes.iter().enumerate() {
        inner.push_str(&format!(", {outcome} AS o{i}"));
    }
    inner.push_str(&format!(
        ", response_minutes, resolution_minutes, satisfaction FROM service_cases WHERE status <> {merged}"
    ));
    inner.push_str(&report_where(backend, filter, &mut values));
    if backend == DbBackend::Sqlite {
        inner.push_str(" LIMIT -1");
    }
    let total = |column: &str| format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)");
    let count = |column: &str| format!("CAST(COUNT({column}) AS BIGINT)");
    let mut columns = vec!["CAST(COUNT(*) AS BIGINT)".to_owned()];
    columns.extend((0..outcomes.len()).map(|i| total(&format!("o{i}"))));
    for column in ["response_minutes", "resolution_minutes", "satisfaction"] {
        columns.push(total(column));
        columns.push(count(column));
    }
    let sql = format!("SELECT k, {} FROM ({inner}) AS cases GROUP BY k", columns.join(", "));
    Statement::from_sql_and_values(backend, crate::raw::placeholders(backend, &sql), values)
}

/// The SLA report's groups (see `sla_statement`), in no order.
pub async fn sla_sums<C: ConnectionTrait>(
    c: &C,
    filter: &CaseFilter,
    key: &ReportKey,
    now: DateTime<Utc>,
) -> StoreResult<Vec<SlaSums>> {
    let statement = sla_statement(c.get_database_backend(), filter, key, now);
    let mut out = Vec::new();
    for row in c.query_all_raw(statement).await? {
        let n = |i: usize| row.try_get_by_index::<i64>(i);
        out.push(SlaSums {
            key: row.try_get_by_index(0)?,
            cases: n(1)?,
            open: n(2)?,
            response_met: n(3)?,
            response_missed: n(4)?,
            resolution_met: n(5)?,
            resolution_missed: n(6)?,
            response_minutes: n(7)?,
            responded: n(8)?,
            resolution_minutes: n(9)?,
            resolved: n(10)?,
            satisfaction_sum: n(11)?,
            scored: n(12)?,
        });
    }
    Ok(out)
}

/// The open backlog's statement: the open cases of `filter` counted by age,
/// `cuts` being the instants at which an age bucket starts, oldest first
/// (bucket 0 holds cases registered at or before the first cut, the last
/// bucket the newest).
pub fn backlog_statement(backend: DbBackend, filter: &CaseFilter, cuts: &[DateTime<Utc>]) -> Statement {
    let mut values: Vec<Value> = Vec::new();
    let mut bucket = String::from("CASE");
    for (i, cut) in cuts.iter().enumerate() {
        values.push(Value::from(*cut));
        bucket.push_str(&format!(" WHEN registered_at <= ${} THEN {i}", values.len()));
    }
    bucket.push_str(&format!(" ELSE {} END", cuts.len()));
    let filter = CaseFilter { open_only: true, registered_from: None, registered_to: None, ..filter.clone() };
    let mut sql =
        format!("SELECT CAST({bucket} AS BIGINT) AS bucket, CAST(COUNT(*) AS BIGINT) FROM service_cases WHERE 1 = 1");
    sql.push_str(&report_where(backend, &filter, &mut values));
    sql.push_str(" GROUP BY 1");
    Statement::from_sql_and_values(backend, crate::raw::placeholders(backend, &sql), values)
}

/// Open cases of `filter` by age bucket (see `backlog_statement`): `(bucket, cases)`.
pub async fn backlog<C: ConnectionTrait>(
    c: &C,
    filter: &CaseFilter,
    cuts: &[DateTime<Utc>],
) -> StoreResult<Vec<(usize, i64)>> {
    let statement = backlog_statement(c.get_database_backend(), filter, cuts);
    let mut out = Vec::new();
    for row in c.query_all_raw(statement).await? {
        let bucket: i64 = row.try_get_by_index(0)?;
        out.push((usize::try_from(bucket).unwrap_or_default(), row.try_get_by_index(1)?));
    }
    Ok(out)
}

/// Cases answered or replied to whose working minutes are not kept yet
/// (answered before migration 000044), at most `limit`.
pub async fn cases_without_minutes<C: ConnectionTrait>(c: &C, limit: u64) -> StoreResult<Vec<CaseRow>> {
    use service_cases::Column as Col;
    Ok(service_cases::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(Col::FirstResponseAt.is_not_null())
                        .add(Col::ResponseMinutes.is_null()),
                )
                .add(sea_orm::Condition::all().add(Col::RepliedAt.is_not_null()).add(Col::ResolutionMinutes.is_null())),
        )
        .limit(limit)
        .all(c)
        .await?)
}

/// Keeps the working minutes of one case's steps.
pub async fn set_step_minutes<C: ConnectionTrait>(
    c: &C,
    id: &CaseId,
    response: Option<i64>,
    resolution: Option<i64>,
) -> StoreResult<()> {
    use service_cases::Column as Col;
    service_cases::Entity::update_many()
        .col_expr(Col::ResponseMinutes, Expr::value(response))
        .col_expr(Col::ResolutionMinutes, Expr::value(resolution))
        .filter(Col::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
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
