//! `POST /api/v1/auth/login` gives programs a bearer token (and browsers a
//! session cookie); `logout` ends it; `me` says who the token belongs to.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use loupan_domain::ids::UserId;
use loupan_service::platform::auth::{self, SessionKind};
use loupan_service::platform::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::admin::UserDto;
use crate::extract::{ApiJson, Authed};
use crate::middleware::{SESSION_COOKIE, set_cookie};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub username: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

/// Signs in with username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::api::Problem), (status = 429, body = crate::api::Problem)))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let username = req.username.unwrap_or_default();
    let password = req.password.unwrap_or_default();
    if username.trim().is_empty() || password.is_empty() {
        let field = if username.trim().is_empty() { "username" } else { "password" };
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", field, "required"));
    }
    let logged_in = auth::login(&state.services, &username, &password, SessionKind::Token).await?;
    let actor = &logged_in.actor;
    let body = LoginResponse {
        token: logged_in.token.clone(),
        user_id: actor.user_id.clone().unwrap_or_default(),
        username: actor.username.clone(),
        display_name: actor.display_name.clone(),
        roles: actor.roles.iter().map(|r| r.name().to_owned()).collect(),
    };
    let mut res = Json(body).into_response();
    let lifetime = state.services.config.token_lifetime.as_secs();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, &headers, SESSION_COOKIE, &logged_in.token, Some(lifetime)));
    Ok(res)
}

/// Ends the session or token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = crate::api::Problem)))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authed(actor): Authed,
) -> Result<Response, AppError> {
    auth::logout(&state.services, &actor).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, &headers, SESSION_COOKIE, "", Some(0)));
    Ok(res)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = UserDto), (status = 401, body = crate::api::Problem)))]
async fn me(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<UserDto>, AppError> {
    Ok(Json(users::own_profile(&state.services, &actor).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}
