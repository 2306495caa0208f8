//! User administration and the audit trail (admins; executives may read the trail).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_service::platform::audit::AuditFilter;
use loupan_service::{platform::audit, platform::users};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, PageParams, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    /// Built-in role names (`sales_agent`, ...).
    pub roles: Vec<String>,
    pub project_ids: Vec<ProjectId>,
    pub disabled: bool,
    pub locale: Option<String>,
    pub manager_id: Option<UserId>,
    /// The department the user works in (cost items name theirs: responsibility cost).
    pub department: Option<String>,
    /// Send it back with an update; a stale version is refused with 409.
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<users::User> for UserDto {
    fn from(u: users::User) -> Self {
        UserDto {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            roles: u.roles.iter().map(|r| r.name().to_owned()).collect(),
            project_ids: u.project_ids,
            disabled: u.disabled,
            locale: u.locale,
            manager_id: u.manager_id,
            department: u.department,
            version: u.version,
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserRequest {
    #[schema(required = true, nullable = false, pattern = "^[a-z0-9._-]{3,32}$")]
    pub username: Option<String>,
    #[schema(required = true, nullable = false, min_length = 10, max_length = 1024)]
    pub password: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::api::RoleName>)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub project_ids: Vec<ProjectId>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    /// The version you read.
    pub version: i64,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub display_name: Option<String>,
    #[schema(value_type = Vec<crate::api::RoleName>)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub project_ids: Vec<ProjectId>,
    #[serde(default)]
    pub disabled: bool,
    /// The user's manager (approval steps "by the submitter's manager"); null for none.
    #[serde(default)]
    pub manager_id: Option<String>,
    /// The department the user works in, as cost items name it; null or empty for none.
    #[serde(default)]
    #[schema(max_length = 60)]
    pub department: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordRequest {
    #[schema(required = true, nullable = false, min_length = 10, max_length = 1024)]
    pub password: Option<String>,
}

/// Creates a user with roles and project memberships.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUserRequest,
    responses((status = 201, body = UserDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserDto>), AppError> {
    let form = users::NewUser {
        username: req.username,
        password: req.password,
        display_name: req.display_name,
        roles: req.roles,
        project_ids: req.project_ids,
    };
    let user = users::create_user(&state.services, &actor, form).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Users by username.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(PageParams),
    responses((status = 200, body = UserPage), (status = 403, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<UserDto>>, AppError> {
    let limit = page.limit();
    let rows = users::list_users(&state.services, &actor, page.after()?.as_deref(), limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |u| u.username.clone(), UserDto::from)))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    responses((status = 200, body = UserDto), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserDto>, AppError> {
    Ok(Json(users::get_user(&state.services, &actor, &id).await?.into()))
}

/// Edits name, roles, projects and the disabled flag. Disabling ends the
/// user's sessions at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UpdateUserRequest,
    responses((status = 200, body = UserDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserDto>, AppError> {
    let changes = users::UserChanges {
        version: req.version,
        display_name: req.display_name,
        roles: req.roles,
        project_ids: req.project_ids,
        disabled: req.disabled,
        manager_id: req.manager_id,
        department: req.department,
    };
    Ok(Json(users::update_user(&state.services, &actor, &id, changes).await?.into()))
}

/// Disables the user and ends their sessions.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin",
    responses((status = 200, body = UserDto), (status = 404, body = Problem)))]
async fn disable_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserDto>, AppError> {
    Ok(Json(users::set_disabled(&state.services, &actor, &id, true).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin",
    responses((status = 200, body = UserDto), (status = 404, body = Problem)))]
async fn enable_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserDto>, AppError> {
    Ok(Json(users::set_disabled(&state.services, &actor, &id, false).await?.into()))
}

/// Sets a new password; the user's sessions end.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password", tag = "admin", request_body = PasswordRequest,
    responses((status = 204), (status = 422, body = Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<StatusCode, AppError> {
    users::reset_password(&state.services, &actor, &id, req.password.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub seq: i64,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    /// The record before the change (sensitive fields masked).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub actor_id: Option<String>,
    /// 1-500 (a value outside is brought inside), default 50.
    #[param(minimum = 0, maximum = 65535)]
    pub limit: Option<u16>,
    pub cursor: Option<String>,
}

fn parse_json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// The audit trail, newest first, per record or per user.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Json<Page<AuditEntryDto>>, AppError> {
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let limit = page.limit();
    let before_seq = match page.after()? {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .map_err(|_| AppError::field(StatusCode::BAD_REQUEST, "invalid_query", "cursor", "invalid_cursor"))?,
        ),
    };
    let filter = AuditFilter {
        record_type: q.record_type.filter(|s| !s.is_empty()),
        record_id: q.record_id.filter(|s| !s.is_empty()),
        actor_id: q.actor_id.filter(|s| !s.is_empty()),
        before_seq,
    };
    let rows = audit::list(&state.services, &actor, &filter, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.seq.to_string(),
        |r| AuditEntryDto {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            record_type: r.record_type,
            record_id: r.record_id,
            before: parse_json(r.before_json),
            after: parse_json(r.after_json),
            hash: r.hash,
        },
    )))
}

#[derive(Serialize, ToSchema)]
pub struct AuditVerification {
    pub rows_checked: u64,
    pub intact: bool,
    /// The first row that does not match.
    pub broken_at_seq: Option<i64>,
    /// `missing_row`, `chain_broken` or `content_altered`.
    pub reason: Option<String>,
}

/// Recomputes the hash chain of the whole trail.
#[utoipa::path(get, path = "/api/v1/admin/audit/verify", tag = "admin",
    responses((status = 200, body = AuditVerification), (status = 403, body = Problem)))]
async fn verify_audit(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<AuditVerification>, AppError> {
    let v = audit::verify(&state.services, &actor).await?;
    Ok(Json(AuditVerification {
        rows_checked: v.rows_checked,
        intact: v.broken.is_none(),
        broken_at_seq: v.broken.map(|b| b.0),
        reason: v.broken.map(|b| b.1.to_owned()),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(reset_password))
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
}
