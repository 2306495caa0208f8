//! Price adjustment plans and unit price history (S1 price lists).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::sales::{AdjustmentMethod, AdjustmentStatus};
use loupan_service::sales::pricing::{self, Adjustment, PriceChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct NewAdjustmentRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub name: Option<String>,
    /// Limit to one building (default: the whole project).
    pub building_id: Option<String>,
    pub layout: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    #[schema(required = true, nullable = false, value_type = AdjustmentMethod)]
    pub method: Option<String>,
    /// `"0.03"` (+3 %) or `"-0.05"` for `percent`; yuan (may be negative) otherwise.
    #[schema(required = true, nullable = false, pattern = "^-?0\\.(0[1-9]|[1-4][0-9]?|50?)$")]
    pub value: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentDto {
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
    /// `draft`, `pending` (waiting for approval) or `applied`.
    pub status: AdjustmentStatus,
    pub created_by: String,
    pub applied_by: Option<String>,
    pub units_changed: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub applied_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest approval request for the plan.
    pub approval_id: Option<String>,
}

impl From<Adjustment> for AdjustmentDto {
    fn from(a: Adjustment) -> Self {
        AdjustmentDto {
            id: a.id,
            project_id: a.project_id,
            name: a.name,
            building_id: a.building_id,
            layout: a.layout,
            min_floor: a.min_floor,
            max_floor: a.max_floor,
            method: a.method,
            value: a.value,
            status: a.status,
            created_by: a.created_by,
            applied_by: a.applied_by,
            units_changed: a.units_changed,
            created_at: a.created_at,
            applied_at: a.applied_at,
            approval_id: a.approval_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PriceChangeDto {
    pub unit_id: UnitId,
    pub number: String,
    pub floor: i32,
    pub old_price: String,
    pub new_price: String,
}

impl From<PriceChange> for PriceChangeDto {
    fn from(c: PriceChange) -> Self {
        PriceChangeDto {
            unit_id: c.unit_id,
            number: c.number,
            floor: c.floor,
            old_price: c.old_price.to_string(),
            new_price: c.new_price.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DraftedAdjustment {
    pub adjustment: AdjustmentDto,
    /// The price each matching unsold unit would get.
    pub preview: Vec<PriceChangeDto>,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentList {
    pub items: Vec<AdjustmentDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewList {
    pub items: Vec<PriceChangeDto>,
    pub next_cursor: Option<String>,
}

/// Drafts a price adjustment plan; nothing changes until it is applied.
#[utoipa::path(post, path = "/api/v1/projects/{id}/price-adjustments", tag = "inventory", request_body = NewAdjustmentRequest,
    responses((status = 201, body = DraftedAdjustment), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<NewAdjustmentRequest>,
) -> Result<(StatusCode, Json<DraftedAdjustment>), AppError> {
    let form = pricing::NewAdjustment {
        name: req.name,
        building_id: req.building_id,
        layout: req.layout,
        min_floor: req.min_floor,
        max_floor: req.max_floor,
        method: req.method,
        value: req.value,
    };
    let (adjustment, preview) = pricing::create_adjustment(&state.services, &actor, &id, form).await?;
    Ok((
        StatusCode::CREATED,
        Json(DraftedAdjustment {
            adjustment: adjustment.into(),
            preview: preview.into_iter().map(Into::into).collect(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/price-adjustments", tag = "inventory",
    responses((status = 200, body = AdjustmentList), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Page<AdjustmentDto>>, AppError> {
    let items = pricing::list_adjustments(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/price-adjustments/{id}", tag = "inventory",
    responses((status = 200, body = AdjustmentDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdjustmentDto>, AppError> {
    Ok(Json(pricing::get_adjustment(&state.services, &actor, &id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/price-adjustments/{id}/preview", tag = "inventory",
    responses((status = 200, body = PreviewList), (status = 404, body = Problem)))]
async fn preview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Page<PriceChangeDto>>, AppError> {
    let items = pricing::preview(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// Submits a draft for approval (`price_adjustment`); the new prices take effect
/// for the units still unsold when the request is approved.
#[utoipa::path(post, path = "/api/v1/price-adjustments/{id}/submit", tag = "inventory",
    responses((status = 200, body = AdjustmentDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn submit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdjustmentDto>, AppError> {
    Ok(Json(pricing::submit_adjustment(&state.services, &actor, &id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct PriceHistoryEntryDto {
    pub old_price: String,
    pub new_price: String,
    pub adjustment_id: Option<String>,
    pub actor_name: String,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceHistory {
    pub items: Vec<PriceHistoryEntryDto>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/units/{id}/price-history", tag = "inventory",
    responses((status = 200, body = PriceHistory), (status = 404, body = Problem)))]
async fn history(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<Page<PriceHistoryEntryDto>>, AppError> {
    let items = pricing::price_history(&state.services, &actor, &id).await?;
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|h| PriceHistoryEntryDto {
                old_price: h.old_price.to_string(),
                new_price: h.new_price.to_string(),
                adjustment_id: h.adjustment_id,
                actor_name: h.actor_name,
                changed_at: h.changed_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_adjustment))
        .routes(routes!(preview))
        .routes(routes!(submit))
        .routes(routes!(history))
}
