//! Integrations for admins: webhook subscriptions with their delivery log, and
//! the background job queue.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use loupan_domain::platform::{DeliveryStatus, JobStatus};
use loupan_service::{platform::jobs, platform::webhooks};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<webhooks::Subscription> for WebhookDto {
    fn from(s: webhooks::Subscription) -> Self {
        WebhookDto {
            id: s.id,
            url: s.url,
            event_types: s.event_types,
            description: s.description,
            active: s.active,
            created_by: s.created_by,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    pub webhook: WebhookDto,
    /// The HMAC-SHA256 signing secret. Shown this once; store it in the receiver.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookDto>,
    /// Every event type a subscription may ask for.
    pub event_types: Vec<String>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewWebhookRequest {
    /// `http` or `https` on a public address (or one `LOUPAN_WEBHOOK_ALLOW` lets through).
    #[schema(
        required = true,
        nullable = false,
        max_length = 500,
        pattern = "^https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)*[a-z]([a-z0-9-]*[a-z0-9])?(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~-]*)*$"
    )]
    pub url: Option<String>,
    #[serde(default)]
    #[schema(required = true, schema_with = event_types_schema)]
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "integrations",
    responses((status = 200, body = WebhookList), (status = 403, body = Problem)))]
async fn list(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<WebhookList>, AppError> {
    let items = webhooks::subscriptions(&state.services, &actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(WebhookList {
        items,
        event_types: webhooks::EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        next_cursor: None,
    }))
}

/// Subscribes a URL to event types; each delivery is signed with the returned secret.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "integrations", request_body = NewWebhookRequest,
    responses((status = 201, body = CreatedWebhookDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhookDto>), AppError> {
    let form = webhooks::NewSubscription { url: req.url, event_types: req.event_types, description: req.description };
    let created = webhooks::create_subscription(&state.services, &actor, form).await?;
    Ok((StatusCode::CREATED, Json(CreatedWebhookDto { webhook: created.subscription.into(), secret: created.secret })))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/activate", tag = "integrations",
    responses((status = 200, body = WebhookDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn activate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookDto>, AppError> {
    Ok(Json(webhooks::set_active(&state.services, &actor, &id, true).await?.into()))
}

/// Stops deliveries to the subscription (pending ones are given up).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deactivate", tag = "integrations",
    responses((status = 200, body = WebhookDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn deactivate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookDto>, AppError> {
    Ok(Json(webhooks::set_active(&state.services, &actor, &id, false).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<webhooks::Delivery> for DeliveryDto {
    fn from(d: webhooks::Delivery) -> Self {
        DeliveryDto {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryDto>,
    pub next_cursor: Option<String>,
}

/// The last 200 deliveries to a subscription, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "integrations",
    responses((status = 200, body = DeliveryList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn deliveries(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryList>, AppError> {
    let items = webhooks::deliveries(&state.services, &actor, &id).await?.into_iter().map(Into::into).collect();
    Ok(Json(DeliveryList { items, next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct JobDto {
    pub id: String,
    pub kind: String,
    /// `queued`, `running`, `done` or `dead`.
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub progress_done: i64,
    pub progress_total: i64,
    pub result: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<jobs::Job> for JobDto {
    fn from(j: jobs::Job) -> Self {
        JobDto {
            id: j.id,
            kind: j.kind,
            status: j.status,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            last_error: j.last_error,
            progress_done: j.progress_done,
            progress_total: j.progress_total,
            result: j.result,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleDto {
    pub name: String,
    pub kind: String,
    pub interval_seconds: i64,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCount {
    pub status: JobStatus,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct JobOverview {
    pub counts: Vec<StatusCount>,
    pub schedules: Vec<ScheduleDto>,
    pub items: Vec<JobDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    #[param(value_type = Option<JobStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
    pub kind: Option<String>,
}

/// The queue: counts per state, the schedules, and the latest 200 jobs.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "integrations", params(JobParams),
    responses((status = 200, body = JobOverview), (status = 403, body = Problem)))]
async fn list_jobs(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<JobParams>,
) -> Result<Json<JobOverview>, AppError> {
    let o = jobs::overview(&state.services, &actor, q.status.as_deref(), q.kind.as_deref()).await?;
    Ok(Json(JobOverview {
        counts: o.counts.into_iter().map(|(status, count)| StatusCount { status, count }).collect(),
        schedules: o
            .schedules
            .into_iter()
            .map(|s| ScheduleDto {
                name: s.name,
                kind: s.kind,
                interval_seconds: s.interval_seconds,
                next_run_at: s.next_run_at,
                last_run_at: s.last_run_at,
            })
            .collect(),
        items: o.jobs.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// One job with its progress (long jobs report done/total as they go).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "integrations",
    responses((status = 200, body = JobDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobDto>, AppError> {
    Ok(Json(jobs::get(&state.services, &actor, &id).await?.into()))
}

/// Queues a job that gave up once more.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "integrations",
    responses((status = 200, body = JobDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn retry_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobDto>, AppError> {
    Ok(Json(jobs::retry(&state.services, &actor, &id).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(deliveries))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
}

/// At least one of the event types a subscription may ask for.
fn event_types_schema() -> utoipa::openapi::schema::Array {
    let name = utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(webhooks::EVENT_TYPES));
    utoipa::openapi::schema::ArrayBuilder::new().items(name).min_items(Some(1)).build()
}
