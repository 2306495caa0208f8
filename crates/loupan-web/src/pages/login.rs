//! Signing in and out, and choosing the language.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_service::platform::auth::{self, SessionKind};
use loupan_service::{ServiceError, platform::users};
use minijinja::context;
use serde::Deserialize;

use crate::extract::{FormData, MaybeAuthed};
use crate::i18n::{self, Lang};
use crate::middleware::{LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, set_cookie};
use crate::pages::render;
use crate::{AppError, AppState};

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Only local paths, so a crafted link cannot send users elsewhere after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    next: &str,
    username: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let token = auth::new_form_token()?;
    let html = render(
        state,
        "login.html",
        context! { lang => lang.code(), other_lang => if lang == Lang::ZhCn { "en" } else { "zh-CN" },
        csrf => token.clone(), next => next, username => username, error => error },
    )?;
    let mut res = (status, html).into_response();
    res.headers_mut().insert(header::SET_COOKIE, set_cookie(state, headers, LOGIN_CSRF_COOKIE, &token, None));
    Ok(res)
}

async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Query(q): Query<NextParam>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref());
    if actor.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    login_page(&state, &headers, lang, &next, "", None, StatusCode::OK)
}

async fn submit_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let username = form.text("username").unwrap_or_default();
    let password = form.text("password").unwrap_or_default();
    let next = safe_next(form.get("next"));
    match auth::login(&state.services, &username, &password, SessionKind::Browser).await {
        Ok(logged_in) => {
            let mut res = Redirect::to(&next).into_response();
            let age = state.services.config.absolute_timeout.as_secs();
            res.headers_mut()
                .append(header::SET_COOKIE, set_cookie(&state, &headers, SESSION_COOKIE, &logged_in.token, Some(age)));
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&state, &headers, LOGIN_CSRF_COOKIE, "", Some(0)));
            Ok(res)
        }
        Err(e @ (ServiceError::Unauthenticated(_) | ServiceError::TooManyAttempts { .. })) => {
            let status = if matches!(e, ServiceError::TooManyAttempts { .. }) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let message = i18n::t(lang, &format!("error.{}", e.code()));
            login_page(&state, &headers, lang, &next, &username, Some(message), status)
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeAuthed(actor): MaybeAuthed,
) -> Result<Response, AppError> {
    if let Some(actor) = actor {
        auth::logout(&state.services, &actor).await?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, &headers, SESSION_COOKIE, "", Some(0)));
    Ok(res)
}

/// Switches the language: remembered in a cookie, and on the account when signed in.
async fn set_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeAuthed(actor): MaybeAuthed,
    form: FormData,
) -> Result<Response, AppError> {
    let lang = form.get("lang").and_then(Lang::from_code).unwrap_or_default();
    if let Some(actor) = actor {
        users::set_own_locale(&state.services, &actor, lang.code()).await?;
    }
    let mut res = Redirect::to(&safe_next(form.get("back"))).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, &headers, LANG_COOKIE, lang.code(), Some(365 * 24 * 3600)));
    Ok(res)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(submit_login))
        .route("/logout", post(logout))
        .route("/lang", post(set_language))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
