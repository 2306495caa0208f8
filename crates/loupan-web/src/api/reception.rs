//! Reception at the sales office's door (案场接待, S4): find a returning
//! visitor, register visits, the day's rotation of agents on duty, and a
//! stream of visits for the agents' workbenches. The service's views are the
//! API's bodies as they are.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{ProjectId, VisitId};
use loupan_service::reception::{self, Card, NewVisit, Queue, Visit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    /// A phone in any format (`+86 139-0013-9000`) or the beginning of a name
    /// (or its pinyin); a part of a number finds nobody.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CardList {
    pub items: Vec<Card>,
    /// Always null: a lookup answers at most ten customers.
    pub next_cursor: Option<String>,
}

/// The project's registered customers a visitor at the door may be: by phone
/// (their main or another phone) or name. Each card names the customer's
/// agent, grade, last visit and open deals; the phone is masked unless the
/// caller owns the customer.
#[utoipa::path(get, path = "/api/v1/projects/{id}/reception/lookup", tag = "reception",
    params(("id" = String, Path), LookupParams),
    responses((status = 200, body = CardList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn lookup(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<LookupParams>,
) -> Result<Json<CardList>, AppError> {
    let typed = q.q.unwrap_or_default();
    if typed.chars().count() > 100 {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "q", "too_long"));
    }
    let items = reception::lookup(&state.services, &actor, &id, &typed).await?;
    Ok(Json(CardList { items, next_cursor: None }))
}

/// The day's reception at a project: the agents on duty in the order of the
/// rotation (each free or with a visitor), who takes the next new visitor,
/// and today's visits.
#[utoipa::path(get, path = "/api/v1/projects/{id}/reception", tag = "reception", params(("id" = String, Path)),
    responses((status = 200, body = Queue), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_queue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Queue>, AppError> {
    Ok(Json(reception::queue(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct QueueRequest {
    /// Today's agents on duty in the order they take new visitors: the
    /// project's sales agents and managers, each once (at most 100).
    #[schema(required = true, nullable = false, max_items = 100)]
    pub agent_ids: Option<Vec<String>>,
}

/// Sets today's rotation (sales managers): who is on duty and in which order.
/// An agent already on duty keeps the visitor they are with.
#[utoipa::path(put, path = "/api/v1/projects/{id}/reception/queue", tag = "reception", params(("id" = String, Path)),
    request_body = QueueRequest,
    responses((status = 200, body = Queue), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_queue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<QueueRequest>,
) -> Result<Json<Queue>, AppError> {
    let Some(agent_ids) = req.agent_ids else {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "agent_ids", "required"));
    };
    Ok(Json(reception::set_queue(&state.services, &actor, &id, agent_ids).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct VisitRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub project_id: Option<String>,
    /// A returning customer (from the lookup): their own agent receives them.
    pub customer_id: Option<String>,
    /// A new visitor's name (without `customer_id`).
    #[schema(max_length = 60)]
    pub name: Option<String>,
    /// A new visitor's phone, any format (without `customer_id`).
    #[schema(value_type = Option<crate::api::MobilePhone>)]
    pub phone: Option<String>,
    /// Where a new visitor heard of the project (`路过`, `朋友介绍`).
    #[schema(max_length = 60)]
    pub source: Option<String>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Registers a visitor at the door. With `customer_id`, a returning
/// customer's visit for their own agent (busy from now if on duty). Without,
/// a new customer is registered for the next free agent of today's rotation,
/// who moves to the end of the queue: 409 `no_agent_on_duty` or
/// `no_agent_free`; 422 `already_registered` on `phone` when the project
/// knows the phone (look them up instead). The visit counts as a follow-up
/// of kind `visit` and appears on the agent's workbench at once.
#[utoipa::path(post, path = "/api/v1/reception/visits", tag = "reception", request_body = VisitRequest,
    responses((status = 201, body = Visit), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register_visit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<VisitRequest>,
) -> Result<(StatusCode, Json<Visit>), AppError> {
    // A phone given is a phone: leave the field out when there is none.
    if req.phone.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "phone", "invalid_phone"));
    }
    let form = NewVisit {
        project_id: req.project_id,
        customer_id: req.customer_id,
        name: req.name,
        phone: req.phone,
        source: req.source,
        note: req.note,
    };
    Ok((StatusCode::CREATED, Json(reception::register_visit(&state.services, &actor, form).await?)))
}

/// Ends a visit: its agent is free for the next visitor. 409 `visit_ended`
/// when it had ended.
#[utoipa::path(post, path = "/api/v1/reception/visits/{id}/end", tag = "reception", params(("id" = String, Path)),
    responses((status = 200, body = Visit), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end_visit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<VisitId>,
) -> Result<Json<Visit>, AppError> {
    Ok(Json(reception::end_visit(&state.services, &actor, &id).await?))
}

#[derive(Deserialize)]
pub struct EventsParams {
    /// Only the signed-in agent's own visitors (their workbench).
    #[serde(default)]
    pub mine: bool,
}

/// Visits as server-sent events: each event `visit` carries the visit's id,
/// project, agent and `event` (`arrived`, `ended`), for the signed-in user's
/// own visitors and (without `mine=true`) the doors of their projects they
/// keep; `reload` means the client fell behind.
pub async fn visit_events(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<EventsParams>,
) -> axum::response::sse::Sse<
    impl tokio_stream::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::Event;
    use loupan_service::platform::live::LiveChange;
    use tokio_stream::StreamExt;
    let updates = tokio_stream::wrappers::BroadcastStream::new(state.services.live.subscribe());
    let stream = updates.filter_map(move |message| match message {
        Ok(LiveChange::Visit(change)) if reception::concerns(&actor, &change, q.mine) => {
            Event::default().event("visit").json_data(&change).ok()
        }
        Ok(_) => None,
        Err(_) => Some(Event::default().event("reload").data("behind")),
    });
    crate::live::stream(&state, stream)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(get_queue))
        .routes(routes!(put_queue))
        .routes(routes!(register_visit))
        .routes(routes!(end_visit))
        .route("/api/v1/reception/events", axum::routing::get(visit_events))
}
