//! 案场接待: the reception page for the tablet at the sales office's door.
//! Type a phone or a name: a registered customer's card appears (their agent,
//! grade, last visit, open deals) with "register the visit"; nobody found,
//! the new visitor's form hands them to the next agent on duty. Beside it,
//! the day's rotation (who is free, who is with whom) and today's visits;
//! a manager sets who is on duty and in which order.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::access::DataScope;
use loupan_domain::customers::PhoneNumber;
use loupan_domain::ids::{ProjectId, VisitId};
use loupan_service::reception::{self, NewVisit};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::{self, Lang};
use crate::pages::{base_context, render};
use crate::{AppError, AppState};

const NAV: &str = "/reception";

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    project_id: Option<String>,
    /// What was typed at the door.
    q: Option<String>,
    /// The visit just registered (its agent is named at the top).
    visit: Option<String>,
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Whether the actor may open the customer's record (reception itself may not).
fn opens_customers(actor: &Actor) -> bool {
    matches!(actor.customer_scope(), Some(DataScope::Project | DataScope::All))
}

struct Shown<'a> {
    errors: Value,
    values: Option<&'a FormData>,
    problem: Option<String>,
}

async fn page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    q: &PageQuery,
    shown: Shown<'_>,
) -> Result<Response, AppError> {
    actor.require(Permission::Receive)?;
    let projects = inventory::list_projects(&state.services, actor).await?;
    let project_id = ProjectId::given(q.project_id.as_deref()).or_else(|| projects.first().map(|p| p.id.clone()));
    let Some(project_id) = project_id else {
        let ctx = context! { projects => Vec::<Value>::new(), ..base_context(actor, lang, NAV) };
        return Ok(render(state, "reception.html", ctx)?.into_response());
    };
    let typed = q.q.as_deref().map(str::trim).unwrap_or_default();
    let cards = if typed.is_empty() {
        Vec::new()
    } else {
        reception::lookup(&state.services, actor, &project_id, typed).await?
    };
    let queue = reception::queue(&state.services, actor, &project_id).await?;
    let candidates = if actor.can(Permission::ManageReception) {
        reception::duty_candidates(&state.services, actor, &project_id).await?
    } else {
        Vec::new()
    };
    let on_duty: Vec<String> = queue.agents.iter().map(|a| a.user_id.to_string()).collect();
    let candidates: Vec<Value> = candidates
        .into_iter()
        .map(|(id, name)| {
            let order = on_duty.iter().position(|d| d == id.as_str()).map(|i| i + 1);
            context! { id => id.to_string(), name => name, order => order }
        })
        .collect();
    let just = VisitId::given(q.visit.as_deref()).and_then(|id| queue.visits.iter().find(|v| v.id == id).cloned());
    // Nobody found: the new visitor's form starts with what was typed.
    let typed_phone = PhoneNumber::parse(typed).is_ok();
    let ctx = context! {
        projects => projects.iter().map(|p| context! { id => p.id.to_string(), name => p.name.clone() }).collect::<Vec<_>>(),
        project_id => project_id.to_string(), typed => typed,
        cards => Value::from_serialize(&cards), queue => Value::from_serialize(&queue),
        just => just.map(|v| Value::from_serialize(&v)),
        new_phone => if typed_phone { typed } else { "" }, new_name => if typed_phone { "" } else { typed },
        candidates => candidates, may_manage => actor.can(Permission::ManageReception),
        opens_customers => opens_customers(actor), me => actor.user_id.as_ref().map(|u| u.to_string()),
        errors => shown.errors, values => shown.values.map(FormData::values).unwrap_or_default(),
        problem => shown.problem,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "reception.html", ctx)?.into_response())
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    page(&state, &actor, lang, &q, Shown { errors: Value::UNDEFINED, values: None, problem: None }).await
}

/// Registers a visit (a returning customer's, or a new visitor's) and shows
/// who receives them; a field error or an empty rotation is shown on the page.
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let form = NewVisit {
        project_id: data.text("project_id"),
        customer_id: data.text("customer_id"),
        name: data.text("name"),
        phone: data.text("phone"),
        source: data.text("source"),
        note: data.text("note"),
    };
    let q = PageQuery { project_id: data.text("project_id"), q: data.text("q"), visit: None };
    match reception::register_visit(&state.services, &actor, form).await {
        Ok(v) => Ok(Redirect::to(&format!("/reception?project_id={}&visit={}", encoded(v.project_id.as_str()), v.id))
            .into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = crate::views::field_messages(lang, &e);
            let mut res = page(&state, &actor, lang, &q, Shown { errors, values: Some(&data), problem: None }).await?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(ServiceError::Conflict(code)) => {
            let problem = Some(i18n::t(lang, &format!("error.{code}")));
            let mut res =
                page(&state, &actor, lang, &q, Shown { errors: Value::UNDEFINED, values: Some(&data), problem })
                    .await?;
            *res.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends a visit, back to where it was ended (the reception page or the workbench).
async fn end(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<VisitId>,
    data: FormData,
) -> Result<Response, AppError> {
    let visit = match reception::end_visit(&state.services, &actor, &id).await {
        Ok(v) => v,
        // Ended at the other door a moment ago: the page shows it.
        Err(ServiceError::Conflict("visit_ended")) => {
            return Ok(Redirect::to(data.get("back").filter(|b| *b == "/").unwrap_or("/reception")).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let to = match data.get("back") {
        Some("/") => "/".to_owned(),
        _ => format!("/reception?project_id={}", encoded(visit.project_id.as_str())),
    };
    Ok(Redirect::to(&to).into_response())
}

/// Sets today's rotation from the manager's form: each agent ticked `on_<id>`
/// with their place `order_<id>` (ties keep the list's order).
async fn save_queue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let project_id = data.text("project_id").unwrap_or_default();
    let mut chosen: Vec<(u32, usize, String)> = Vec::new();
    for (i, id) in data.all("agent").into_iter().enumerate() {
        if data.get(&format!("on_{id}")).is_some() {
            let order = data.get(&format!("order_{id}")).and_then(|o| o.trim().parse().ok()).unwrap_or(u32::MAX);
            chosen.push((order, i, id));
        }
    }
    chosen.sort();
    let ids = chosen.into_iter().map(|(_, _, id)| id).collect();
    let q = PageQuery { project_id: Some(project_id.clone()), q: None, visit: None };
    match reception::set_queue(&state.services, &actor, &ProjectId::from(project_id.as_str()), ids).await {
        Ok(_) => Ok(Redirect::to(&format!("/reception?project_id={}#queue", encoded(&project_id))).into_response()),
        // The form offers only the project's agents, each once: a refusal means
        // the list changed meanwhile, said in one sentence.
        Err(ServiceError::Invalid(_)) => {
            let problem = Some(i18n::t(lang, "reception.queue_refused"));
            let mut res =
                page(&state, &actor, lang, &q, Shown { errors: Value::UNDEFINED, values: None, problem }).await?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reception", get(show).post(register))
        .route("/reception/visits/{id}/end", post(end))
        .route("/reception/queue", post(save_queue))
}
