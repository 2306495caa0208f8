//! Saved filters through the API: the caller's named searches of the customer list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_service::customers::saved_filters::{self as filters, SavedFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct SavedFilterDto {
    pub id: String,
    /// The list it filters: `customers`.
    pub list: String,
    pub name: String,
    /// The conditions as a query string for `GET /api/v1/customers`, e.g. `grade=A&source=%E7%BD%91%E7%BB%9C`.
    pub query: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<SavedFilter> for SavedFilterDto {
    fn from(f: SavedFilter) -> Self {
        SavedFilterDto { id: f.id, list: f.list, name: f.name, query: f.query, created_at: f.created_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SavedFilterList {
    pub items: Vec<SavedFilterDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewSavedFilter {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub name: Option<String>,
    /// Conditions of the customer list as a query string (`grade=A&source=web`):
    /// its parameters, each given a value.
    #[schema(required = true, nullable = false, schema_with = query_schema)]
    pub query: Option<String>,
}

/// `name=value` pairs of the customer list's conditions, joined by `&`.
fn query_schema() -> utoipa::openapi::schema::Object {
    let key = loupan_service::customers::CONDITIONS.join("|");
    let pair = format!("({key})=[^&]*");
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .max_length(Some(1000))
        .pattern(Some(format!("^{pair}(&{pair})*$")))
        .build()
}

/// The caller's saved filters of the customer list, by name.
#[utoipa::path(get, path = "/api/v1/customers/saved-filters", tag = "customers",
    responses((status = 200, body = SavedFilterList), (status = 403, body = Problem)))]
async fn list(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Page<SavedFilterDto>>, AppError> {
    let items = filters::list(&state.services, &actor).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// Saves conditions under a name (the caller's filter of that name is replaced).
#[utoipa::path(post, path = "/api/v1/customers/saved-filters", tag = "customers", request_body = NewSavedFilter,
    responses((status = 201, body = SavedFilterDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewSavedFilter>,
) -> Result<(StatusCode, Json<SavedFilterDto>), AppError> {
    let saved = filters::save(&state.services, &actor, req.name.as_deref(), req.query.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// Deletes one of the caller's saved filters.
#[utoipa::path(delete, path = "/api/v1/customers/saved-filters/{id}", tag = "customers",
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    filters::delete(&state.services, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, save)).routes(routes!(delete))
}
