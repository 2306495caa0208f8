//! Customer service (客服, C4): complaints, repairs, enquiries and suggestions
//! from owners and buyers, worked from registration to the callback.
//!
//! A case is linked to its customer by the caller's phone (normalised, the
//! same customer the reception desk would find), and to the customer's unit
//! and contract when there is only one; with several, the desk chooses. Its
//! deadlines are set when it is registered, in working time of the company's
//! calendar (`settings`), and the scheduled `case_deadlines` job reminds the
//! handler before each deadline and escalates to the supervisor after it —
//! each once, whichever instance runs the job.

pub mod owner_form;
pub mod repeats;
pub mod reports;
pub mod settings;
pub mod surveys;

use chrono::{DateTime, Duration, Utc};
use loupan_domain::Invalid;
use loupan_domain::Permission;
use loupan_domain::cases::{CaseAction, CaseChannel, CaseKind, CasePriority, CaseStatus, SlaTarget, WorkCalendar};
use loupan_domain::customers::{CustomerEventKind, PhoneNumber};
use loupan_domain::ids::{CaseCategoryId, CaseId, ContractId, CustomerId, ProjectId, UnitId, UserId};
use loupan_domain::platform::NotificationKind;
use loupan_store::Connection;
use loupan_store::cases::{self as store, Alarm, CaseEventRow, CaseFilter, CaseRow, Deadline};
use loupan_store::{customers as store_customers, inventory as store_inventory, users as store_users};
use serde::Serialize;

use crate::platform::notifications::{self, Notice};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Longest description, reply or note a case keeps.
const TEXT_LIMIT: usize = 2000;

/// A case as users and programs see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: CaseId,
    /// 报事单号, numbered per project (`BS000042`).
    pub number: String,
    pub project_id: ProjectId,
    pub kind: CaseKind,
    pub category_id: Option<CaseCategoryId>,
    pub category_name: Option<String>,
    pub priority: CasePriority,
    pub channel: CaseChannel,
    pub status: CaseStatus,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub unit_id: Option<UnitId>,
    pub contract_id: Option<ContractId>,
    pub caller_name: String,
    /// Masked (`139****9000`).
    pub caller_phone: Option<String>,
    pub description: String,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub supervisor_id: Option<UserId>,
    pub registered_at: DateTime<Utc>,
    /// First response due (working time of the company's calendar).
    pub response_due_at: DateTime<Utc>,
    /// Resolution (the reply to the customer) due.
    pub resolution_due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub replied_at: Option<DateTime<Utc>>,
    pub reply: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The callback's score, 1 (very unhappy) to 5 (very satisfied).
    pub satisfaction: Option<i32>,
    pub callback_note: Option<String>,
    /// The case this one was merged into (status `merged`).
    pub merged_into: Option<CaseId>,
    /// The response came late, or is late now.
    pub response_overdue: bool,
    /// The reply came late, or is late now.
    pub resolution_overdue: bool,
    pub version: i64,
}

/// One step of a case's history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    /// `registered`, a case action (`assign`, `start`, …), `reminded` or `escalated`.
    pub action: String,
    /// The status after it.
    pub status: CaseStatus,
    pub note: Option<String>,
}

/// A case with its history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub events: Vec<CaseEvent>,
}

/// Someone the desk may mean: several customers share the caller's phone,
/// or the customer has several contracts in the project.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Candidate {
    pub id: String,
    pub label: String,
}

/// A registered case and what was left for the desk to choose.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Registered {
    #[serde(flatten)]
    pub case: Case,
    /// Customers reached at the caller's phone when more than one: choose with `customer_id`.
    pub customer_candidates: Vec<Candidate>,
    /// The customer's contracts in the project when more than one: choose with `contract_id`.
    pub contract_candidates: Vec<Candidate>,
}

/// A case to register, as typed.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub project_id: Option<String>,
    pub kind: Option<String>,
    pub category_id: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub customer_id: Option<String>,
    pub unit_id: Option<String>,
    pub contract_id: Option<String>,
    pub description: Option<String>,
}

fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn named<T>(
    errors: &mut Invalid,
    field: &'static str,
    text: &Option<String>,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let t = given(text)?;
    parse(t).or_else(|| {
        errors.push(field, "unknown_value");
        None
    })
}

fn long_text(errors: &mut Invalid, field: &'static str, text: &Option<String>, required: bool) -> Option<String> {
    match given(text) {
        None => {
            if required {
                errors.push(field, "required");
            }
            None
        }
        Some(t) if t.chars().count() > TEXT_LIMIT => {
            errors.push(field, "too_long");
            None
        }
        Some(t) => Some(t.to_owned()),
    }
}

/// What the registration found the case is about.
struct Links {
    customer: Option<loupan_store::customers::CustomerRow>,
    unit_id: Option<UnitId>,
    contract_id: Option<ContractId>,
    customer_candidates: Vec<Candidate>,
    contract_candidates: Vec<Candidate>,
}

/// Finds the customer, unit and contract a case is about: those named, or
/// those the caller's phone leads to when it leads to one.
async fn links<C: Connection>(
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    form: &NewCase,
    phone: Option<&PhoneNumber>,
    errors: &mut Invalid,
) -> ServiceResult<Links> {
    let mut found = Links {
        customer: None,
        unit_id: None,
        contract_id: None,
        customer_candidates: Vec::new(),
        contract_candidates: Vec::new(),
    };
    if let Some(id) = given(&form.customer_id) {
        match store_customers::find_customer(conn, &CustomerId::from(id)).await? {
            Some(row) if crate::customers::may_see(actor, &row) && row.merged_into.is_none() => {
                found.customer = Some(row)
            }
            _ => errors.push("customer_id", "unknown_customer"),
        }
    } else if let Some(phone) = phone {
        let ids = store_customers::ids_with_phone(conn, phone.as_str()).await?;
        let mut seen: Vec<_> = store_customers::customers_by_ids(conn, &ids)
            .await?
            .into_iter()
            .filter(|c| crate::customers::may_see(actor, c))
            .collect();
        // A customer of the case's project first: owners call about their home.
        seen.sort_by_key(|c| (c.project_id != *project_id, c.name.clone()));
        let in_project = seen.iter().filter(|c| c.project_id == *project_id).count();
        if seen.len() == 1 || in_project == 1 {
            found.customer = seen.into_iter().next();
        } else {
            found.customer_candidates =
                seen.into_iter().map(|c| Candidate { id: c.id.0.clone(), label: c.name.clone() }).collect();
        }
    }
    if let Some(id) = given(&form.contract_id) {
        match store::find_contract_of_unit(conn, &ContractId::from(id)).await? {
            Some(c)
                if c.project_id == *project_id
                    && found.customer.as_ref().is_none_or(|cust| cust.id == c.customer_id) =>
            {
                found.unit_id = Some(c.unit_id.clone());
                found.contract_id = Some(c.id);
            }
            _ => errors.push("contract_id", "unknown_contract"),
        }
    } else if let Some(id) = given(&form.unit_id) {
        match store_inventory::find_unit(conn, &UnitId::from(id)).await? {
            Some(u) if u.project_id == *project_id => {
                let contract = loupan_store::sales::active_contract_of_unit(conn, &u.id).await?;
                found.contract_id = contract
                    .filter(|c| found.customer.as_ref().is_none_or(|cust| cust.id == c.customer_id))
                    .map(|c| c.id);
                found.unit_id = Some(u.id);
            }
            _ => errors.push("unit_id", "unknown_unit"),
        }
    } else if let Some(customer) = &found.customer {
        let contracts = store::active_contracts_of(conn, &customer.id, project_id).await?;
        if let [only] = contracts.as_slice() {
            found.unit_id = Some(only.unit_id.clone());
            found.contract_id = Some(only.id.clone());
        } else {
            found.contract_candidates =
                contracts.into_iter().map(|c| Candidate { id: c.id.0.clone(), label: c.number }).collect();
        }
    }
    Ok(found)
}

/// The rule that gives a case of `kind` and `category` in `project` to a
/// handler: the most specific (category, then kind) of the project's rules.
async fn assignment<C: Connection>(
    conn: &C,
    project_id: &ProjectId,
    kind: CaseKind,
    category: Option<&CaseCategoryId>,
) -> ServiceResult<Option<(UserId, Option<UserId>)>> {
    let rules = store::rules_of(conn, project_id).await?;
    let best = rules
        .into_iter()
        .filter(|r| r.kind.is_none_or(|k| k == kind))
        .filter(|r| r.category_id.is_none() || r.category_id.as_ref() == category)
        .max_by_key(|r| (r.category_id.is_some(), r.kind.is_some(), std::cmp::Reverse(r.created_at)));
    let Some(rule) = best else { return Ok(None) };
    let handlers: Vec<UserId> = serde_json::from_str(&rule.handler_ids).map_err(ServiceError::internal)?;
    if handlers.is_empty() {
        return Ok(None);
    }
    let turn = store::take_turn(conn, &rule.id).await?;
    let index = usize::try_from(turn.rem_euclid(handlers.len() as i64)).unwrap_or(0);
    Ok(handlers.get(index).cloned().map(|h| (h, rule.supervisor_id.clone())))
}

/// When each deadline of a case registered at `now` falls, by the company's calendar.
async fn deadlines<C: Connection>(
    services: &Services,
    conn: &C,
    kind: CaseKind,
    priority: CasePriority,
    now: DateTime<Utc>,
) -> ServiceResult<[DateTime<Utc>; 4]> {
    let calendar = settings::calendar(conn).await?;
    let target = settings::target_of(conn, kind, priority).await?;
    let local = services.clock.local(now);
    let after = |minutes: i64| match calendar.add_working_minutes(local, minutes) {
        Some(at) => services.clock.instant_of(at),
        // A calendar without working time: count the clock's minutes rather than never.
        None => now + Duration::minutes(minutes),
    };
    Ok([
        after(SlaTarget::remind_after(target.response_minutes)),
        after(target.response_minutes),
        after(SlaTarget::remind_after(target.resolution_minutes)),
        after(target.resolution_minutes),
    ])
}

/// Registers a case: links it, numbers it, sets its deadlines and gives it
/// to the handler the project's rules name.
pub async fn register(services: &Services, actor: &Actor, form: NewCase) -> ServiceResult<Registered> {
    actor.require(Permission::WorkCases)?;
    let tx = services.store.begin_write().await?;
    let done = register_in(services, &tx, actor, form).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(done)
}

pub(crate) async fn register_in<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    form: NewCase,
) -> ServiceResult<Registered> {
    let mut errors = Invalid::default();
    let project_id = match given(&form.project_id) {
        None => {
            errors.push("project_id", "required");
            None
        }
        Some(p) => {
            let p = ProjectId::from(p);
            if actor.sees_project(&p) && store_inventory::find_project(conn, &p).await?.is_some() {
                Some(p)
            } else {
                errors.push("project_id", "unknown_project");
                None
            }
        }
    };
    let kind = named(&mut errors, "kind", &form.kind, CaseKind::parse);
    if given(&form.kind).is_none() {
        errors.push("kind", "required");
    }
    let priority = named(&mut errors, "priority", &form.priority, CasePriority::parse).unwrap_or(CasePriority::Normal);
    let channel = named(&mut errors, "channel", &form.channel, CaseChannel::parse).unwrap_or(CaseChannel::Phone);
    let category_id = match given(&form.category_id) {
        None => None,
        Some(id) => {
            let id = CaseCategoryId::from(id);
            if store::find_category(conn, &id).await?.is_none() {
                errors.push("category_id", "unknown_category");
            }
            Some(id)
        }
    };
    let phone = match given(&form.caller_phone) {
        None => None,
        Some(p) => PhoneNumber::parse(p).map_err(|code| errors.push("caller_phone", code)).ok(),
    };
    let description = long_text(&mut errors, "description", &form.description, true);
    let caller_name = given(&form.caller_name).map(str::to_owned);
    if caller_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        errors.push("caller_name", "too_long");
    }
    let Some(project_id) = project_id else {
        return Err(errors.into_result().err().unwrap_or_else(|| Invalid::one("project_id", "required")).into());
    };
    let links = links(conn, actor, &project_id, &form, phone.as_ref(), &mut errors).await?;
    // Whom to call back: a name, a phone, or the customer found.
    if caller_name.is_none() && links.customer.is_none() && phone.is_none() {
        errors.push("caller_name", "caller_needed");
    }
    errors.into_result()?;
    let (Some(kind), Some(description)) = (kind, description) else {
        return Err(Invalid::one("kind", "required").into());
    };
    let now = services.clock.now();
    let [response_remind_at, response_due_at, resolution_remind_at, resolution_due_at] =
        deadlines(services, conn, kind, priority, now).await?;
    let number = format!("BS{:06}", loupan_store::sales::next_number(conn, &project_id, "case").await?);
    let handler = assignment(conn, &project_id, kind, category_id.as_ref()).await?;
    let caller_name = caller_name
        .or_else(|| links.customer.as_ref().map(|c| c.name.clone()))
        .unwrap_or_else(|| phone.as_ref().map(PhoneNumber::masked).unwrap_or_default());
    let row = CaseRow {
        id: CaseId::from(loupan_store::new_id()),
        number,
        project_id: project_id.clone(),
        kind,
        category_id,
        priority,
        channel,
        status: if handler.is_some() { CaseStatus::Assigned } else { CaseStatus::Registered },
        customer_id: links.customer.as_ref().map(|c| c.id.clone()),
        unit_id: links.unit_id.clone(),
        contract_id: links.contract_id.clone(),
        caller_name,
        caller_phone: phone.as_ref().map(|p| p.as_str().to_owned()),
        description,
        assignee_id: handler.as_ref().map(|(h, _)| h.clone()),
        supervisor_id: handler.as_ref().and_then(|(_, s)| s.clone()),
        registered_by: actor.user_id.clone(),
        registered_at: now,
        response_remind_at,
        response_due_at,
        resolution_remind_at,
        resolution_due_at,
        first_response_at: None,
        replied_at: None,
        reply: None,
        confirmed_at: None,
        closed_at: None,
        satisfaction: None,
        callback_note: None,
        merged_into: None,
        response_reminded_at: None,
        response_escalated_at: None,
        resolution_reminded_at: None,
        resolution_escalated_at: None,
        version: 1,
        response_minutes: None,
        resolution_minutes: None,
    };
    store::insert_case(conn, &row).await?;
    event(conn, &row.id, (actor, now), "registered", CaseStatus::Registered, None).await?;
    if let Some((handler, _)) = &handler {
        let system = Actor::system("cases");
        event(conn, &row.id, (&system, now), CaseAction::Assign.name(), CaseStatus::Assigned, Some(handler.as_str()))
            .await?;
        tell_assignee(conn, &row, handler).await?;
    }
    repeats::alert_if_repeated(conn, &row, now).await?;
    if let Some(customer) = &links.customer {
        crate::customers::add_event(
            conn,
            (actor, now),
            &customer.id,
            CustomerEventKind::Case,
            &[
                ("number", &row.number),
                ("case_kind", kind.name()),
                ("variant", "registered"),
                ("link", &link_of(&row.id)),
            ],
        )
        .await?;
    }
    let case = view(conn, row, now).await?;
    Ok(Registered {
        case,
        customer_candidates: links.customer_candidates,
        contract_candidates: links.contract_candidates,
    })
}

async fn event<C: Connection>(
    conn: &C,
    case_id: &CaseId,
    (actor, at): (&Actor, DateTime<Utc>),
    action: &str,
    status: CaseStatus,
    note: Option<&str>,
) -> ServiceResult<()> {
    store::insert_event(
        conn,
        &CaseEventRow {
            id: loupan_store::new_id(),
            case_id: case_id.clone(),
            at,
            actor_id: actor.user_id.clone(),
            actor_name: actor.display_name.clone(),
            action: action.to_owned(),
            status,
            note: note.map(str::to_owned),
        },
    )
    .await?;
    Ok(())
}

fn link_of(id: &CaseId) -> String {
    format!("/service/cases/{id}")
}

fn title_of(row: &CaseRow) -> String {
    let mut title = format!("{} {}", row.number, row.caller_name);
    let summary: String = row.description.chars().take(40).collect();
    if !summary.is_empty() {
        title.push_str(": ");
        title.push_str(&summary);
    }
    title
}

async fn tell_assignee<C: Connection>(conn: &C, row: &CaseRow, assignee: &UserId) -> ServiceResult<()> {
    notifications::notify(
        conn,
        std::slice::from_ref(assignee),
        &Notice {
            kind: NotificationKind::CaseAssigned,
            title: &title_of(row),
            title_said: None,
            body: "",
            link: &link_of(&row.id),
        },
    )
    .await
}

fn is_late(done: Option<DateTime<Utc>>, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    done.unwrap_or(now) > due
}

/// The case with the names a reader needs (customer, category, assignee).
async fn view<C: Connection>(conn: &C, row: CaseRow, now: DateTime<Utc>) -> ServiceResult<Case> {
    let mut cases = views(conn, vec![row], now).await?;
    cases.pop().ok_or(ServiceError::NotFound("case"))
}

async fn views<C: Connection>(conn: &C, rows: Vec<CaseRow>, now: DateTime<Utc>) -> ServiceResult<Vec<Case>> {
    let mut users: Vec<UserId> = rows.iter().filter_map(|r| r.assignee_id.clone()).collect();
    users.sort();
    users.dedup();
    let user_names = if users.is_empty() { Vec::new() } else { store_users::display_names(conn, &users).await? };
    let mut customer_ids: Vec<CustomerId> = rows.iter().filter_map(|r| r.customer_id.clone()).collect();
    customer_ids.sort();
    customer_ids.dedup();
    let customers = if customer_ids.is_empty() {
        Vec::new()
    } else {
        store_customers::customers_by_ids(conn, &customer_ids).await?
    };
    let categories =
        if rows.iter().any(|r| r.category_id.is_some()) { store::categories(conn).await? } else { Vec::new() };
    Ok(rows
        .into_iter()
        .map(|r| Case {
            customer_name: r
                .customer_id
                .as_ref()
                .and_then(|id| customers.iter().find(|c| &c.id == id))
                .map(|c| c.name.clone()),
            assignee_name: r
                .assignee_id
                .as_ref()
                .and_then(|id| user_names.iter().find(|(u, _)| u == id))
                .map(|(_, n)| n.clone()),
            category_name: r
                .category_id
                .as_ref()
                .and_then(|id| categories.iter().find(|c| &c.id == id))
                .map(|c| c.name.clone()),
            response_overdue: r.status != CaseStatus::Merged && is_late(r.first_response_at, r.response_due_at, now),
            resolution_overdue: r.status != CaseStatus::Merged && is_late(r.replied_at, r.resolution_due_at, now),
            caller_phone: r.caller_phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()).map(|p| p.masked()),
            id: r.id,
            number: r.number,
            project_id: r.project_id,
            kind: r.kind,
            category_id: r.category_id,
            priority: r.priority,
            channel: r.channel,
            status: r.status,
            customer_id: r.customer_id,
            unit_id: r.unit_id,
            contract_id: r.contract_id,
            caller_name: r.caller_name,
            description: r.description,
            assignee_id: r.assignee_id,
            supervisor_id: r.supervisor_id,
            registered_at: r.registered_at,
            response_due_at: r.response_due_at,
            resolution_due_at: r.resolution_due_at,
            first_response_at: r.first_response_at,
            replied_at: r.replied_at,
            reply: r.reply,
            confirmed_at: r.confirmed_at,
            closed_at: r.closed_at,
            satisfaction: r.satisfaction,
            callback_note: r.callback_note,
            merged_into: r.merged_into,
            version: r.version,
        })
        .collect())
}

/// A case the actor may see; 404 otherwise.
async fn visible<C: Connection>(conn: &C, actor: &Actor, id: &CaseId) -> ServiceResult<CaseRow> {
    actor.require(Permission::ReadCases)?;
    match store::find_case(conn, id).await? {
        Some(row) if actor.sees_project(&row.project_id) => Ok(row),
        _ => Err(ServiceError::NotFound("case")),
    }
}

pub async fn get(services: &Services, actor: &Actor, id: &CaseId) -> ServiceResult<CaseDetail> {
    let conn = services.store.conn();
    let row = visible(conn, actor, id).await?;
    let events = store::events_of(conn, id)
        .await?
        .into_iter()
        .map(|e| CaseEvent { at: e.at, actor_name: e.actor_name, action: e.action, status: e.status, note: e.note })
        .collect();
    let case = views(conn, vec![row], services.clock.now()).await?.pop().ok_or(ServiceError::NotFound("case"))?;
    Ok(CaseDetail { case, events })
}

/// Conditions of a list of cases, as typed.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// `open`: still waiting on the company; `overdue`: open and past a deadline.
    pub state: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CasePage {
    pub items: Vec<Case>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Cases of the actor's projects, newest first.
pub async fn list(services: &Services, actor: &Actor, q: &CaseQuery) -> ServiceResult<CasePage> {
    actor.require(Permission::ReadCases)?;
    let mut errors = Invalid::default();
    let status = named(&mut errors, "status", &q.status, CaseStatus::parse);
    let kind = named(&mut errors, "kind", &q.kind, CaseKind::parse);
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        errors.push("limit", "out_of_range");
    }
    let (open_only, overdue) = match given(&q.state) {
        None => (false, false),
        Some("open") => (true, false),
        Some("overdue") => (true, true),
        Some(_) => {
            errors.push("state", "unknown_value");
            (false, false)
        }
    };
    let after = match given(&q.cursor) {
        None => None,
        Some(c) => match c.split_once(',').and_then(|(at, id)| Some((at.parse::<DateTime<Utc>>().ok()?, id))) {
            Some((at, id)) => Some((at, CaseId::from(id))),
            None => {
                errors.push("cursor", "invalid_cursor");
                None
            }
        },
    };
    errors.into_result()?;
    let now = services.clock.now();
    let filter = CaseFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project: given(&q.project_id).map(ProjectId::from),
        status,
        kind,
        assignee: given(&q.assignee_id).map(UserId::from),
        customer: given(&q.customer_id).map(CustomerId::from),
        open_only,
        overdue_at: overdue.then_some(now),
        ..CaseFilter::default()
    };
    let conn = services.store.conn();
    let mut rows = store::list_cases(conn, &filter, after, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor =
        if more { rows.last().map(|r| format!("{},{}", r.registered_at.to_rfc3339(), r.id)) } else { None };
    Ok(CasePage { items: views(conn, rows, now).await?, next_cursor })
}

/// What a user does to a case, as typed.
#[derive(Debug, Clone, Default)]
pub struct ActionForm {
    pub action: Option<String>,
    /// `assign`: the handler.
    pub assignee_id: Option<String>,
    /// `reply`: the answer; `reject`, `reopen`: why; otherwise a remark.
    pub note: Option<String>,
    /// `close`: the callback's score, 1–5.
    pub satisfaction: Option<i64>,
    /// `merge`: the open case of the same project this one joins.
    pub into_case_id: Option<String>,
    /// The version the user saw: a case changed since is refused (409).
    pub version: Option<i64>,
}

/// May `user` work cases of `project`?
async fn may_work<C: Connection>(conn: &C, user_id: &UserId, project_id: &ProjectId) -> ServiceResult<bool> {
    let Some(user) = store_users::find_user(conn, user_id).await? else { return Ok(false) };
    if user.disabled {
        return Ok(false);
    }
    let roles: Vec<loupan_domain::Role> =
        store_users::roles_of(conn, user_id).await?.iter().filter_map(|r| loupan_domain::Role::parse(r)).collect();
    if !loupan_domain::access::grants(&roles, Permission::WorkCases) {
        return Ok(false);
    }
    Ok(roles.iter().any(|r| r.sees_all_projects())
        || store_users::project_ids_of(conn, user_id).await?.contains(project_id))
}

/// Keeps on the case the working minutes its steps took so far, by `calendar`
/// (the SLA report sums them).
pub fn count_minutes(row: &mut CaseRow, calendar: &WorkCalendar, clock: &crate::Clock) {
    let registered = clock.local(row.registered_at);
    let took = |at: Option<DateTime<Utc>>| at.map(|at| calendar.working_minutes_between(registered, clock.local(at)));
    row.response_minutes = took(row.first_response_at);
    row.resolution_minutes = took(row.replied_at);
}

/// Counts the working minutes of the steps of cases answered before Loupan
/// kept them (migration 000044), by today's calendar; nothing to do after the
/// first time. Returns how many cases it counted.
pub async fn count_step_minutes(services: &Services) -> ServiceResult<u64> {
    let mut counted = 0;
    loop {
        let tx = services.store.begin_write().await?;
        let rows = store::cases_without_minutes(&tx, 500).await?;
        if rows.is_empty() {
            return Ok(counted);
        }
        let calendar = settings::calendar(&tx).await?;
        for mut row in rows {
            count_minutes(&mut row, &calendar, &services.clock);
            store::set_step_minutes(&tx, &row.id, row.response_minutes, row.resolution_minutes).await?;
            counted += 1;
        }
        tx.commit().await.map_err(ServiceError::internal)?;
    }
}

/// Moves a case one step of its process.
pub async fn act(services: &Services, actor: &Actor, id: &CaseId, form: ActionForm) -> ServiceResult<CaseDetail> {
    actor.require(Permission::WorkCases)?;
    let tx = services.store.begin_write().await?;
    let mut row = visible(&tx, actor, id).await?;
    let mut errors = Invalid::default();
    let action = match given(&form.action) {
        None => {
            errors.push("action", "required");
            None
        }
        Some(a) => CaseAction::parse(a).or_else(|| {
            errors.push("action", "unknown_value");
            None
        }),
    };
    let note = long_text(&mut errors, "note", &form.note, false);
    if note.is_none() && matches!(action, Some(CaseAction::Reply | CaseAction::Reject | CaseAction::Reopen)) {
        errors.push("note", "needed_for_this_action");
    }
    errors.into_result()?;
    let Some(action) = action else { return Err(Invalid::one("action", "required").into()) };
    if form.version.is_some_and(|v| v != row.version) {
        return Err(ServiceError::Conflict("case_changed"));
    }
    let Some(next) = action.next(row.status) else {
        return Err(Invalid::one("action", "not_allowed_now").into());
    };
    let now = services.clock.now();
    let expected = row.version;
    let mut told = None;
    let mut merged_into = None;
    match action {
        CaseAction::Assign => {
            let Some(assignee) = given(&form.assignee_id).map(UserId::from) else {
                return Err(Invalid::one("assignee_id", "needed_for_this_action").into());
            };
            if !may_work(&tx, &assignee, &row.project_id).await? {
                return Err(Invalid::one("assignee_id", "cannot_work_cases").into());
            }
            row.assignee_id = Some(assignee.clone());
            told = Some(assignee);
        }
        CaseAction::Start => {
            row.first_response_at.get_or_insert(now);
        }
        CaseAction::Reply => {
            row.first_response_at.get_or_insert(now);
            row.replied_at = Some(now);
            row.reply = note.clone();
        }
        CaseAction::Confirm => row.confirmed_at = Some(now),
        // The reply did not solve it: the resolution is still to come.
        CaseAction::Reject => row.replied_at = None,
        CaseAction::Close => {
            let Some(score) = form.satisfaction else {
                return Err(Invalid::one("satisfaction", "needed_for_this_action").into());
            };
            if !(1..=5).contains(&score) {
                return Err(Invalid::one("satisfaction", "out_of_range").into());
            }
            row.satisfaction = i32::try_from(score).ok();
            row.callback_note = note.clone();
            row.closed_at = Some(now);
        }
        CaseAction::Reopen => {
            let reopen_days = settings::desk_settings(&tx).await?.reopen_days;
            let closed_on = row.closed_at.map(|c| services.clock.date_of(c)).unwrap_or_else(|| services.clock.today());
            let days = (services.clock.date_of(now) - closed_on).num_days();
            if !loupan_domain::cases::may_reopen(days, reopen_days) {
                return Err(Invalid::one("action", "reopen_period_over").into());
            }
            row.closed_at = None;
            row.confirmed_at = None;
            row.replied_at = None;
            row.satisfaction = None;
        }
        CaseAction::Merge => {
            let mut target = merge_target(&tx, actor, &row, given(&form.into_case_id)).await?;
            // The case carrying on takes a new version too: one closed or merged
            // elsewhere meanwhile is a conflict, not a merge into a finished case.
            let read = target.version;
            target.version += 1;
            if !store::update_case(&tx, &target, read).await? {
                return Err(ServiceError::Conflict("case_changed"));
            }
            row.merged_into = Some(target.id.clone());
            merged_into = Some(target);
        }
    }
    if matches!(action, CaseAction::Start | CaseAction::Reply | CaseAction::Reject | CaseAction::Reopen) {
        let calendar = settings::calendar(&tx).await?;
        count_minutes(&mut row, &calendar, &services.clock);
    }
    row.status = next;
    row.version += 1;
    if !store::update_case(&tx, &row, expected).await? {
        return Err(ServiceError::Conflict("case_changed"));
    }
    let shown_note = match (action, &merged_into) {
        (CaseAction::Assign, _) => note.clone().or_else(|| row.assignee_id.as_ref().map(|a| a.as_str().to_owned())),
        (CaseAction::Merge, Some(target)) => {
            Some(note.as_deref().map_or_else(|| target.number.clone(), |n| format!("{} · {n}", target.number)))
        }
        _ => note.clone(),
    };
    event(&tx, &row.id, (actor, now), action.name(), next, shown_note.as_deref()).await?;
    if let Some(target) = &merged_into {
        // The case that carries on says which one joined it, so its handler sees the whole story.
        let joined = note.as_deref().map_or_else(|| row.number.clone(), |n| format!("{} · {n}", row.number));
        event(&tx, &target.id, (actor, now), "merged_in", target.status, Some(&joined)).await?;
    }
    if let Some(assignee) = &told {
        tell_assignee(&tx, &row, assignee).await?;
    }
    if action == CaseAction::Close
        && let Some(customer) = &row.customer_id
    {
        let score = row.satisfaction.unwrap_or_default().to_string();
        crate::customers::add_event(
            &tx,
            (actor, now),
            customer,
            CustomerEventKind::Case,
            &[
                ("number", &row.number),
                ("case_kind", row.kind.name()),
                ("variant", "closed"),
                ("score", &score),
                ("link", &link_of(&row.id)),
            ],
        )
        .await?;
        // The customer is asked too, by a link of their own (C5).
        let subject = surveys::Subject {
            project_id: row.project_id.clone(),
            customer_id: customer.clone(),
            event: loupan_domain::cases::SurveyEvent::CaseClosed,
            subject_id: row.id.to_string(),
            handler_id: row.assignee_id.clone(),
        };
        surveys::create_in(services, &tx, actor, subject).await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    get(services, actor, id).await
}

/// The case `into` that `row` may merge into: visible to the actor, in the
/// same project, another case, still open.
async fn merge_target<C: Connection>(
    conn: &C,
    actor: &Actor,
    row: &CaseRow,
    into: Option<&str>,
) -> ServiceResult<CaseRow> {
    let Some(into) = into.map(CaseId::from) else {
        return Err(Invalid::one("into_case_id", "needed_for_this_action").into());
    };
    if into == row.id {
        return Err(Invalid::one("into_case_id", "same_case").into());
    }
    let target = match store::find_case(conn, &into).await? {
        Some(t) if actor.sees_project(&t.project_id) => t,
        _ => return Err(Invalid::one("into_case_id", "unknown_case").into()),
    };
    if target.project_id != row.project_id {
        return Err(Invalid::one("into_case_id", "case_of_another_project").into());
    }
    if !target.status.is_open() {
        return Err(Invalid::one("into_case_id", "case_not_open").into());
    }
    Ok(target)
}

/// The open cases of the same project that `id` may be merged into, the same
/// customer's first, then the newest: (id, `BS000003 · caller · description`).
pub async fn merge_candidates(services: &Services, actor: &Actor, id: &CaseId) -> ServiceResult<Vec<(CaseId, String)>> {
    let conn = services.store.conn();
    let row = visible(conn, actor, id).await?;
    let filter = store::CaseFilter { project: Some(row.project_id.clone()), open_only: true, ..Default::default() };
    let mut rows: Vec<CaseRow> = store::list_cases(conn, &filter, None, MERGE_CANDIDATES)
        .await?
        .into_iter()
        .filter(|c| c.id != row.id)
        .collect();
    // Stable: the newest first within each group.
    rows.sort_by_key(|c| row.customer_id.is_none() || c.customer_id != row.customer_id);
    Ok(rows
        .into_iter()
        .map(|c| {
            let about: String = c.description.chars().take(30).collect();
            (c.id, format!("{} · {} · {about}", c.number, c.caller_name))
        })
        .collect())
}

/// How many open cases the merge form offers.
const MERGE_CANDIDATES: u64 = 100;

/// Reminds handlers before each deadline and escalates after it, each once.
/// Run by the scheduled `case_deadlines` job; returns how many alarms it raised.
pub async fn check_deadlines(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let system = Actor::system("cases");
    let mut raised = 0;
    for deadline in [Deadline::Response, Deadline::Resolution] {
        for alarm in [Alarm::Remind, Alarm::Escalate] {
            let due = store::due_alarms(services.store.conn(), deadline, alarm, now, 500).await?;
            for row in due {
                let tx = services.store.begin_write().await?;
                if !store::claim_alarm(&tx, &row.id, deadline, alarm, now).await? {
                    continue;
                }
                let recipients = match (alarm, &row.assignee_id, &row.supervisor_id) {
                    (Alarm::Remind, Some(assignee), _) => vec![assignee.clone()],
                    (Alarm::Escalate, _, Some(supervisor)) => vec![supervisor.clone()],
                    // Nobody named: the project's service desk is reminded, the administrators hear of a breach.
                    (Alarm::Remind, None, _) => {
                        loupan_store::approvals::users_with_role(&tx, "service", Some(&row.project_id), false).await?
                    }
                    (Alarm::Escalate, _, None) => {
                        loupan_store::approvals::users_with_role(&tx, "admin", Some(&row.project_id), true).await?
                    }
                };
                let (kind, action) = match alarm {
                    Alarm::Remind => (NotificationKind::CaseDueSoon, "reminded"),
                    Alarm::Escalate => (NotificationKind::CaseEscalated, "escalated"),
                };
                notifications::notify(
                    &tx,
                    &recipients,
                    &Notice { kind, title: &title_of(&row), title_said: None, body: "", link: &link_of(&row.id) },
                )
                .await?;
                let which = match deadline {
                    Deadline::Response => "response",
                    Deadline::Resolution => "resolution",
                };
                event(&tx, &row.id, (&system, now), action, row.status, Some(which)).await?;
                tx.commit().await.map_err(ServiceError::internal)?;
                raised += 1;
            }
        }
    }
    Ok(raised)
}

/// Who may be given a project's cases: its service and after-sales staff.
pub async fn handlers(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
) -> ServiceResult<Vec<(UserId, String)>> {
    actor.require(Permission::ReadCases)?;
    if !actor.sees_project(project_id) {
        return Err(ServiceError::NotFound("project"));
    }
    let conn = services.store.conn();
    let mut ids = loupan_store::approvals::users_with_role(conn, "service", Some(project_id), false).await?;
    ids.extend(loupan_store::approvals::users_with_role(conn, "aftersales", Some(project_id), false).await?);
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut named = store_users::display_names(conn, &ids).await?;
    named.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(named)
}

/// What the desk may still link a case to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Choices {
    /// Customers reached at the caller's phone (when none is linked).
    pub customers: Vec<Candidate>,
    /// The linked customer's active contracts in the project (when none is linked).
    pub contracts: Vec<Candidate>,
}

pub async fn choices(services: &Services, actor: &Actor, id: &CaseId) -> ServiceResult<Choices> {
    let conn = services.store.conn();
    let row = visible(conn, actor, id).await?;
    let mut customers = Vec::new();
    let mut contracts = Vec::new();
    if row.customer_id.is_none()
        && let Some(phone) = &row.caller_phone
    {
        let ids = store_customers::ids_with_phone(conn, phone).await?;
        customers = store_customers::customers_by_ids(conn, &ids)
            .await?
            .into_iter()
            .filter(|c| crate::customers::may_see(actor, c))
            .map(|c| Candidate { id: c.id.0, label: c.name })
            .collect();
    }
    if let (Some(customer), None) = (&row.customer_id, &row.contract_id) {
        contracts = store::active_contracts_of(conn, customer, &row.project_id)
            .await?
            .into_iter()
            .map(|c| Candidate { id: c.id.0, label: c.number })
            .collect();
    }
    Ok(Choices { customers, contracts })
}

/// Links a case to the customer and contract the desk chose.
pub async fn link(
    services: &Services,
    actor: &Actor,
    id: &CaseId,
    customer_id: Option<String>,
    contract_id: Option<String>,
) -> ServiceResult<CaseDetail> {
    actor.require(Permission::WorkCases)?;
    let tx = services.store.begin_write().await?;
    let mut row = visible(&tx, actor, id).await?;
    let expected = row.version;
    let customer_before = row.customer_id.clone();
    let mut errors = Invalid::default();
    if let Some(cid) = given(&customer_id) {
        match store_customers::find_customer(&tx, &CustomerId::from(cid)).await? {
            Some(c) if crate::customers::may_see(actor, &c) && c.merged_into.is_none() => {
                if row.customer_id.as_ref() != Some(&c.id) {
                    row.contract_id = None;
                    row.unit_id = None;
                }
                row.customer_id = Some(c.id);
            }
            _ => errors.push("customer_id", "unknown_customer"),
        }
    }
    if let Some(kid) = given(&contract_id) {
        match store::find_contract_of_unit(&tx, &ContractId::from(kid)).await? {
            Some(k)
                if k.project_id == row.project_id && row.customer_id.as_ref().is_none_or(|c| *c == k.customer_id) =>
            {
                row.customer_id = Some(k.customer_id.clone());
                row.unit_id = Some(k.unit_id.clone());
                row.contract_id = Some(k.id);
            }
            _ => errors.push("contract_id", "unknown_contract"),
        }
    }
    if given(&customer_id).is_none() && given(&contract_id).is_none() {
        errors.push("customer_id", "nothing_to_change");
    }
    errors.into_result()?;
    // With the customer chosen, their only contract in the project follows.
    if let (Some(customer), None) = (&row.customer_id, &row.contract_id)
        && let [only] = store::active_contracts_of(&tx, customer, &row.project_id).await?.as_slice()
    {
        row.unit_id = Some(only.unit_id.clone());
        row.contract_id = Some(only.id.clone());
    }
    row.version += 1;
    if !store::update_case(&tx, &row, expected).await? {
        return Err(ServiceError::Conflict("case_changed"));
    }
    let now = services.clock.now();
    let note = [row.customer_id.as_ref().map(CustomerId::as_str), row.contract_id.as_ref().map(ContractId::as_str)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    event(&tx, &row.id, (actor, now), "linked", row.status, Some(&note)).await?;
    // A complaint now known to be this customer's counts towards their repeats.
    if row.customer_id != customer_before {
        repeats::alert_if_repeated(&tx, &row, now).await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    get(services, actor, id).await
}
