//! Reception at the sales office's door (案场接待, S4). Whoever receives
//! visitors types a phone (any format) or a name and sees at once whether the
//! visitor is a registered customer of the project — whose agent, grade, last
//! visit, open deals — and registers the visit for that agent. A new visitor
//! is registered and handed to the next agent in the day's rotation
//! (轮岗/排号): the queue of agents on duty in its order, an agent busy with a
//! visitor skipped, the one who takes a new visitor moved to the end. A
//! manager sets who is on duty and in which order. Every visit is also a
//! follow-up of kind `visit`, so it counts on the customer (grades) and the
//! agent, and it appears on the agent's workbench as it happens.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::customers::{FollowUpKind, PhoneNumber, VisitKind};
use loupan_domain::ids::{CustomerId, ProjectId, UserId, VisitId};
use loupan_domain::validation::optional_text;
use loupan_domain::{Invalid, Permission, Role};
use loupan_store::Connection;
use loupan_store::customers::{self as store_customers, CustomerFilter, CustomerScope};
use loupan_store::reception::{self as store, DutyRow, VisitRow};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::platform::live::{self, VisitChange};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// At most this many customers answer one lookup.
const LOOKUP_LIMIT: u64 = 10;

/// The roles whose holders may be on duty: they own the customers they receive.
const DUTY_ROLES: [Role; 2] = [Role::SalesAgent, Role::SalesManager];

/// A registered customer as reception sees them: enough to greet them and
/// call their agent; the phone masked unless the receiver owns the customer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Card {
    pub customer_id: CustomerId,
    pub name: String,
    pub phone: String,
    pub owner_id: UserId,
    pub owner_name: String,
    pub grade: Option<String>,
    pub last_visit_at: Option<DateTime<Utc>>,
    /// Active subscriptions and contracts.
    pub open_deals: u32,
    /// The owner is on duty today and free to receive them.
    pub owner_free: bool,
}

/// A visit registered at the door.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Visit {
    pub id: VisitId,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub agent_id: UserId,
    pub agent_name: String,
    /// `returning` (老客户) or `new` (新客户).
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub kind: VisitKind,
    /// Handed over by the rotation rather than to the customer's own agent.
    pub by_rotation: bool,
    pub note: Option<String>,
    pub arrived_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// An agent in the day's queue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OnDuty {
    pub user_id: UserId,
    pub name: String,
    /// The visit they are with; none when free.
    pub visit_id: Option<VisitId>,
    /// Visitors received today.
    pub visitors: i32,
}

/// The day's reception at one project.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Queue {
    pub project_id: ProjectId,
    pub day: NaiveDate,
    /// In the order of the rotation.
    pub agents: Vec<OnDuty>,
    /// Who a new visitor would go to now (the first free agent).
    pub next_agent_id: Option<UserId>,
    /// Today's visits, latest first.
    pub visits: Vec<Visit>,
}

/// A visitor at the door: a registered customer (`customer_id`), or a new one
/// (`name` and `phone`, and optionally where they heard of the project).
#[derive(Debug, Clone, Default)]
pub struct NewVisit {
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    pub note: Option<String>,
}

fn known_project(actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    if actor.sees_project(project_id) { Ok(()) } else { Err(ServiceError::NotFound("project")) }
}

async fn project_exists<C: Connection>(conn: &C, actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    known_project(actor, project_id)?;
    match loupan_store::inventory::find_project(conn, project_id).await? {
        Some(_) => Ok(()),
        None => Err(ServiceError::NotFound("project")),
    }
}

async fn names_of<C: Connection>(conn: &C, ids: Vec<UserId>) -> ServiceResult<HashMap<UserId, String>> {
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(loupan_store::users::display_names(conn, &ids).await?.into_iter().collect())
}

/// Registered customers of the project reached at the typed phone (any
/// format, also their other phones), or whose name (or its pinyin) begins
/// with the typed text.
pub async fn lookup(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    typed: &str,
) -> ServiceResult<Vec<Card>> {
    actor.require(Permission::Receive)?;
    let conn = services.store.conn();
    project_exists(conn, actor, project_id).await?;
    let typed = typed.trim();
    let mut filter = CustomerFilter { project_id: Some(project_id.clone()), ..CustomerFilter::default() };
    let digits = typed.chars().filter(char::is_ascii_digit).count();
    match PhoneNumber::parse(typed) {
        Ok(phone) => filter.phone = Some(phone.as_str().to_owned()),
        // Part of a number finds nobody rather than everybody.
        Err(_) if digits >= 3 => return Ok(Vec::new()),
        Err(_) if typed.chars().count() < 2 && typed.is_ascii() => return Ok(Vec::new()),
        Err(_) => filter.text = Some(typed.to_owned()),
    }
    let scope = CustomerScope::Projects(vec![project_id.clone()]);
    let found = store_customers::search_named_customers(conn, &scope, &filter, LOOKUP_LIMIT).await?;
    let ids: Vec<CustomerId> = found.iter().map(|f| f.row.id.clone()).collect();
    let last = store::last_visits(conn, &ids).await?;
    let deals = store::open_deals(conn, &ids).await?;
    let free: Vec<UserId> = store::duty_of(conn, project_id, services.clock.today())
        .await?
        .into_iter()
        .filter(|d| d.visit_id.is_none())
        .map(|d| d.user_id)
        .collect();
    Ok(found
        .into_iter()
        .map(|f| {
            let r = f.row;
            let phone = PhoneNumber::from_stored(r.phone);
            let own = actor.user_id.as_ref() == Some(&r.owner_id);
            Card {
                last_visit_at: last.get(&r.id).copied(),
                open_deals: deals.get(&r.id).copied().unwrap_or(0),
                owner_name: f.owner_name.unwrap_or_else(|| r.owner_id.to_string()),
                owner_free: free.contains(&r.owner_id),
                phone: if own { phone.display() } else { phone.masked() },
                customer_id: r.id,
                name: r.name,
                owner_id: r.owner_id,
                grade: r.grade,
            }
        })
        .collect())
}

fn view(row: VisitRow, customer_name: String, names: &HashMap<UserId, String>) -> Visit {
    Visit {
        agent_name: names.get(&row.agent_id).cloned().unwrap_or_else(|| row.agent_id.to_string()),
        customer_name,
        id: row.id,
        project_id: row.project_id,
        customer_id: row.customer_id,
        agent_id: row.agent_id,
        kind: row.kind,
        by_rotation: row.by_rotation,
        note: row.note,
        arrived_at: row.arrived_at,
        ended_at: row.ended_at,
    }
}

async fn views<C: Connection>(conn: &C, rows: Vec<VisitRow>) -> ServiceResult<Vec<Visit>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let names = names_of(conn, rows.iter().map(|r| r.agent_id.clone()).collect()).await?;
    let mut ids: Vec<CustomerId> = rows.iter().map(|r| r.customer_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let customers: HashMap<CustomerId, String> =
        store_customers::customers_by_ids(conn, &ids).await?.into_iter().map(|c| (c.id, c.name)).collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = customers.get(&r.customer_id).cloned().unwrap_or_default();
            view(r, name, &names)
        })
        .collect())
}

/// Registers a visitor at the door: a returning customer's visit for their
/// own agent (who becomes busy if on duty and free), or a new customer
/// registered for, and handed to, the next free agent of the rotation.
pub async fn register_visit(services: &Services, actor: &Actor, form: NewVisit) -> ServiceResult<Visit> {
    actor.require(Permission::Receive)?;
    let receiver = actor.user_id.clone().ok_or(ServiceError::Forbidden)?;
    let mut errors = Invalid::default();
    let project_id = ProjectId::given(form.project_id.as_deref());
    if project_id.is_none() {
        errors.push("project_id", "required");
    }
    let note = optional_text(&mut errors, "note", form.note.as_deref(), 500);
    // Checked for a returning visitor too, though only a new one is registered with them.
    optional_text(&mut errors, "source", form.source.as_deref(), 60);
    optional_text(&mut errors, "name", form.name.as_deref(), 60);
    if let Some(phone) = form.phone.as_deref().filter(|p| !p.trim().is_empty())
        && let Err(code) = PhoneNumber::parse(phone)
    {
        errors.push("phone", code);
    }
    let customer_id = CustomerId::given(form.customer_id.as_deref());
    let newcomer = crate::customers::NewCustomer {
        project_id: form.project_id.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        source: form.source.clone(),
        ..Default::default()
    };
    // A new visitor needs a name and a phone; a returning one neither.
    if customer_id.is_none() {
        for (field, value) in [("name", &form.name), ("phone", &form.phone)] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                errors.push(field, "needed_for_new_visitor");
            }
        }
    }
    if customer_id.is_none()
        && let Err(invalid) = crate::customers::validate_form(&newcomer, services.clock.today())
    {
        for e in invalid.0 {
            if !errors.0.iter().any(|x| x.field == e.field) {
                errors.0.push(e);
            }
        }
    }
    errors.into_result()?;
    let Some(project_id) = project_id else { return Err(ServiceError::internal("checked above")) };
    let now = services.clock.now();
    let today = services.clock.today();
    let tx = services.store.begin_write().await?;
    if !actor.sees_project(&project_id) || loupan_store::inventory::find_project(&tx, &project_id).await?.is_none() {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    let visit_id = VisitId::from(loupan_store::new_id());
    let (customer_id, customer_name, agent_id, kind, by_rotation) = match customer_id {
        Some(id) => {
            let customer = match store_customers::find_customer(&tx, &id).await? {
                Some(c) if c.project_id == project_id && c.merged_into.is_none() => c,
                _ => return Err(Invalid::one("customer_id", "unknown_customer").into()),
            };
            // Their own agent receives them, if on duty and free; else the visit waits for them.
            store::claim_agent(&tx, &project_id, today, &customer.owner_id, &visit_id, None).await?;
            (customer.id, customer.name, customer.owner_id, VisitKind::Returning, false)
        }
        None => {
            if let Ok(phone) = PhoneNumber::parse(form.phone.as_deref().unwrap_or_default()) {
                let known = store_customers::ids_with_phone(&tx, phone.as_str()).await?;
                let rows = store_customers::customers_by_ids(&tx, &known).await?;
                if rows.iter().any(|r| r.project_id == project_id) {
                    return Err(Invalid::one("phone", "already_registered").into());
                }
            }
            let agent = next_free_agent(&tx, &project_id, today, &visit_id).await?;
            let registered = crate::customers::register_for(services, &tx, actor, &newcomer, agent.clone()).await?;
            (registered.customer.id, registered.customer.name, agent, VisitKind::New, true)
        }
    };
    let row = VisitRow {
        id: visit_id,
        project_id: project_id.clone(),
        customer_id: customer_id.clone(),
        agent_id: agent_id.clone(),
        received_by: receiver,
        kind,
        by_rotation,
        note: note.clone(),
        arrived_at: now,
        ended_at: None,
    };
    store::insert_visit(&tx, &row).await?;
    let outcome = note.unwrap_or_else(|| match kind {
        VisitKind::Returning => "到访（前台登记）".to_owned(),
        VisitKind::New => "首次到访（前台登记，轮岗分配）".to_owned(),
    });
    crate::customers::write_follow_up(
        services,
        &tx,
        actor,
        &customer_id,
        agent_id.clone(),
        FollowUpKind::Visit,
        outcome,
        None,
    )
    .await?;
    let names = names_of(&tx, vec![agent_id.clone()]).await?;
    let visit = view(row, customer_name, &names);
    audit::record(
        &tx,
        actor,
        Change {
            action: "reception.visit",
            record_type: "visit",
            record_id: visit.id.as_str(),
            before: None,
            after: audit::snapshot(&visit)?,
        },
    )
    .await?;
    let change = VisitChange { visit_id: visit.id.clone(), project_id, agent_id, event: "arrived".to_owned() };
    live::announce_visit_in_tx(services, &tx, &change).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_visit_after_commit(services, change);
    Ok(visit)
}

/// Takes the first free agent of the day's queue for `visit_id` and moves
/// them to its end. Another door may take the same agent at the same
/// moment: the claim is conditional, and the loser reads the queue again.
async fn next_free_agent<C: Connection>(
    conn: &C,
    project_id: &ProjectId,
    day: NaiveDate,
    visit_id: &VisitId,
) -> ServiceResult<UserId> {
    for _ in 0..5 {
        let queue = store::duty_of(conn, project_id, day).await?;
        if queue.is_empty() {
            return Err(ServiceError::Conflict("no_agent_on_duty"));
        }
        let last = queue.iter().map(|d| d.position).max().unwrap_or(0);
        let Some(free) = queue.iter().find(|d| d.visit_id.is_none()) else {
            return Err(ServiceError::Conflict("no_agent_free"));
        };
        if store::claim_agent(conn, project_id, day, &free.user_id, visit_id, Some(last + 1)).await? {
            return Ok(free.user_id.clone());
        }
    }
    Err(ServiceError::Conflict("no_agent_free"))
}

/// Ends a visit: the agent is free for the next visitor. The agent
/// themselves or reception ends it.
pub async fn end_visit(services: &Services, actor: &Actor, id: &VisitId) -> ServiceResult<Visit> {
    actor.require(Permission::Receive)?;
    let tx = services.store.begin_write().await?;
    let row = match store::find_visit(&tx, id).await? {
        Some(r) if actor.sees_project(&r.project_id) => r,
        _ => return Err(ServiceError::NotFound("visit")),
    };
    let now = services.clock.now();
    if !store::end_visit(&tx, id, now).await? {
        return Err(ServiceError::Conflict("visit_ended"));
    }
    store::free_agent(&tx, id).await?;
    let change = VisitChange {
        visit_id: row.id.clone(),
        project_id: row.project_id.clone(),
        agent_id: row.agent_id.clone(),
        event: "ended".to_owned(),
    };
    let ended = VisitRow { ended_at: Some(now), ..row };
    let visit = views(&tx, vec![ended]).await?.pop().ok_or_else(|| ServiceError::internal("visit vanished"))?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "reception.visit_ended",
            record_type: "visit",
            record_id: visit.id.as_str(),
            before: None,
            after: audit::snapshot(&visit)?,
        },
    )
    .await?;
    live::announce_visit_in_tx(services, &tx, &change).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_visit_after_commit(services, change);
    Ok(visit)
}

async fn queue_in<C: Connection>(services: &Services, conn: &C, project_id: &ProjectId) -> ServiceResult<Queue> {
    let day = services.clock.today();
    let duty = store::duty_of(conn, project_id, day).await?;
    let names = names_of(conn, duty.iter().map(|d| d.user_id.clone()).collect()).await?;
    let from = services.clock.start_of_day(day);
    let to = services.clock.start_of_day(day.succ_opt().unwrap_or(day));
    let visits = views(conn, store::visits_between(conn, project_id, from, to, 200).await?).await?;
    Ok(Queue {
        project_id: project_id.clone(),
        day,
        next_agent_id: duty.iter().find(|d| d.visit_id.is_none()).map(|d| d.user_id.clone()),
        agents: duty
            .into_iter()
            .map(|d| OnDuty {
                name: names.get(&d.user_id).cloned().unwrap_or_else(|| d.user_id.to_string()),
                user_id: d.user_id,
                visit_id: d.visit_id,
                visitors: d.visitors,
            })
            .collect(),
        visits,
    })
}

/// The day's queue of agents on duty and today's visits.
pub async fn queue(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Queue> {
    actor.require(Permission::Receive)?;
    let conn = services.store.conn();
    project_exists(conn, actor, project_id).await?;
    queue_in(services, conn, project_id).await
}

/// Who may be put on duty at a project: its sales agents and managers.
pub async fn duty_candidates(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
) -> ServiceResult<Vec<(UserId, String)>> {
    actor.require(Permission::Receive)?;
    known_project(actor, project_id)?;
    let conn = services.store.conn();
    let mut ids = Vec::new();
    for role in DUTY_ROLES {
        ids.extend(loupan_store::approvals::users_with_role(conn, role.name(), Some(project_id), false).await?);
    }
    let mut named: Vec<(UserId, String)> = names_of(conn, ids).await?.into_iter().collect();
    named.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(named)
}

/// Sets who is on duty today and in which order (the first takes the next
/// new visitor). An agent already on duty keeps the visitor they are with
/// and their count; one left out leaves the queue.
pub async fn set_queue(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    agent_ids: Vec<String>,
) -> ServiceResult<Queue> {
    actor.require(Permission::ManageReception)?;
    let tx = services.store.begin_write().await?;
    project_exists(&tx, actor, project_id).await?;
    let allowed: Vec<UserId> = {
        let mut ids = Vec::new();
        for role in DUTY_ROLES {
            ids.extend(loupan_store::approvals::users_with_role(&tx, role.name(), Some(project_id), false).await?);
        }
        ids
    };
    let mut errors = Invalid::default();
    let mut chosen: Vec<UserId> = Vec::new();
    if agent_ids.len() > 100 {
        errors.push("agent_ids", "too_many");
    }
    for (i, id) in agent_ids.iter().enumerate() {
        let id = UserId::from(id.trim());
        if !allowed.contains(&id) {
            errors.push(format!("agent_ids[{i}]"), "not_an_agent");
        } else if chosen.contains(&id) {
            errors.push(format!("agent_ids[{i}]"), "duplicate_agent");
        } else {
            chosen.push(id);
        }
    }
    errors.into_result()?;
    let day = services.clock.today();
    let before: HashMap<UserId, DutyRow> =
        store::duty_of(&tx, project_id, day).await?.into_iter().map(|d| (d.user_id.clone(), d)).collect();
    let rows: Vec<DutyRow> = chosen
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let kept = before.get(id);
            DutyRow {
                project_id: project_id.clone(),
                day,
                user_id: id.clone(),
                position: i as i64 + 1,
                visit_id: kept.and_then(|d| d.visit_id.clone()),
                visitors: kept.map_or(0, |d| d.visitors),
            }
        })
        .collect();
    store::replace_duty(&tx, project_id, day, &rows).await?;
    let after: Vec<&str> = chosen.iter().map(UserId::as_str).collect();
    audit::record(
        &tx,
        actor,
        Change {
            action: "reception.queue",
            record_type: "project",
            record_id: project_id.as_str(),
            before: None,
            after: Some(serde_json::json!({ "day": day, "agent_ids": after })),
        },
    )
    .await?;
    let queue = queue_in(services, &tx, project_id).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(queue)
}

/// The visitors the signed-in agent is with now (their workbench).
pub async fn my_visitors(services: &Services, actor: &Actor) -> ServiceResult<Vec<Visit>> {
    let Some(user_id) = &actor.user_id else { return Ok(Vec::new()) };
    if !actor.can(Permission::WriteCustomers) {
        return Ok(Vec::new());
    }
    let conn = services.store.conn();
    views(conn, store::open_visits_of_agent(conn, user_id).await?).await
}

/// Whether a live visit change concerns the actor: their own visitor, or
/// (unless `mine_only`) a project whose door they keep.
pub fn concerns(actor: &Actor, change: &VisitChange, mine_only: bool) -> bool {
    actor.user_id.as_ref() == Some(&change.agent_id)
        || (!mine_only && actor.can(Permission::Receive) && actor.sees_project(&change.project_id))
}
