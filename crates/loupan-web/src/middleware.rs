//! Cross-cutting request handling: who is calling and in which language, CSRF,
//! idempotency keys, error rendering, security headers and the fallback.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use loupan_service::platform::idempotency::{self, Start};
use loupan_service::{ServiceError, platform::auth};

use crate::AppState;
use crate::error::{AppError, Failure, failure_for_status};
use crate::extract::{Caller, FormData};
use crate::i18n::{self, Lang};

pub const SESSION_COOKIE: &str = "loupan_session";
pub const LANG_COOKIE: &str = "loupan_lang";
/// Double-submit token protecting the login form (there is no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "loupan_login_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when served over TLS.
pub fn set_cookie(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: Option<u64>,
) -> HeaderValue {
    let tls = state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if tls {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Path=/"))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Language of a request before we know the user: cookie, then browser.
fn request_lang(headers: &HeaderMap, api: bool) -> Lang {
    let from_cookie = if api { None } else { cookie(headers, LANG_COOKIE).and_then(|c| Lang::from_code(&c)) };
    from_cookie
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// Equal-time comparison for secrets.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves the caller from a bearer token or the session cookie, picks the
/// language, and enforces CSRF on every state-changing request made with the
/// cookie: forms carry `csrf_token`, scripts in the page send `X-CSRF-Token`.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let path = req.uri().path().to_owned();
    let api = is_api(&path);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let (token, via_cookie) = match bearer {
        Some(t) => (Some(t), false),
        None => (cookie(headers, SESSION_COOKIE), true),
    };
    let mut caller = Caller { actor: None, stale_credential: false, via_cookie, lang: request_lang(headers, api) };
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        match auth::authenticate(&state.services, &token).await {
            Ok(actor) => caller.actor = Some(actor),
            Err(ServiceError::Unauthenticated(_)) => caller.stale_credential = true,
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    if !api
        && cookie(req.headers(), LANG_COOKIE).is_none()
        && let Some(lang) = caller.actor.as_ref().and_then(|a| a.locale.as_deref()).and_then(Lang::from_code)
    {
        caller.lang = lang;
    }
    let lang = caller.lang;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && caller.via_cookie {
        let expected = match &caller.actor {
            Some(actor) => actor.session.as_ref().map(|s| s.csrf_token.clone()),
            None if path == "/login" => cookie(req.headers(), LOGIN_CSRF_COOKIE),
            // Without a user nothing can change; the handler answers 401.
            None => None,
        };
        let needs_check = caller.actor.is_some() || path == "/login";
        if needs_check {
            let multipart = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("multipart/form-data"));
            let presented = if api {
                req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
            } else if multipart {
                // File uploads carry the token in the form's action URL.
                FormData::parse(req.uri().query().unwrap_or_default().as_bytes()).text("csrf_token")
            } else {
                let (parts, body) = req.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
                    return with_lang(
                        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").into_response(),
                        lang,
                    );
                };
                let token = FormData::parse(&bytes).text("csrf_token");
                req = Request::from_parts(parts, Body::from(bytes));
                token
            };
            let ok = matches!((&expected, &presented), (Some(e), Some(p)) if same_secret(e, p));
            if !ok {
                return with_lang(AppError::new(StatusCode::FORBIDDEN, "csrf_failed").into_response(), lang);
            }
        }
    }
    req.extensions_mut().insert(caller);
    with_lang(next.run(req).await, lang)
}

fn with_lang(mut res: Response, lang: Lang) -> Response {
    res.extensions_mut().insert(lang);
    res
}

/// Renders failures: problem+json under `/api`, an HTML page elsewhere (a
/// sign-in redirect when the visitor is not signed in).
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let target = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let method = req.method().clone();
    let api = is_api(&path);
    let fallback_lang = request_lang(req.headers(), api);
    let mut res = next.run(req).await;
    let lang = res.extensions().get::<Lang>().copied().unwrap_or(fallback_lang);
    let failure = match res.extensions_mut().remove::<Failure>() {
        Some(f) => f,
        None if (res.status().is_client_error() || res.status().is_server_error())
            && !res.headers().contains_key(header::CONTENT_TYPE) =>
        {
            failure_for_status(res.status())
        }
        None => return res,
    };
    if failure.status.is_server_error() {
        tracing::error!(%path, status = %failure.status, code = failure.code, "request failed");
    }
    if api || path == "/metrics" {
        return problem_response(&failure, lang);
    }
    if failure.status == StatusCode::UNAUTHORIZED {
        let next = if method == Method::GET { target } else { "/".into() };
        return Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response();
    }
    crate::views::error_page(&state, &failure, lang)
}

pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// RFC 9457 problem details in the caller's language.
pub fn problem_response(failure: &Failure, lang: Lang) -> Response {
    let title = i18n::t(lang, &format!("error.{}", failure.code));
    let errors: Vec<serde_json::Value> = failure
        .fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "field": f.field,
                "code": f.code,
                "message": i18n::field_message(lang, f),
            })
        })
        .collect();
    let detail = if errors.is_empty() {
        title.clone()
    } else {
        let parts: Vec<String> =
            failure.fields.iter().map(|f| format!("{}: {}", f.field, i18n::field_message(lang, f))).collect();
        format!("{title} ({})", parts.join("; "))
    };
    let body = serde_json::json!({
        "type": format!("urn:loupan:problem:{}", failure.code),
        "title": title,
        "status": failure.status.as_u16(),
        "detail": detail,
        "code": failure.code,
        "errors": errors,
    });
    let mut res = (failure.status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    h.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    if let Some(secs) = failure.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        h.insert(header::RETRY_AFTER, v);
    }
    res
}

/// `X-Request-Id`: the balancer's when it sent an acceptable one, else a new
/// one. It names the request's log span, goes back on the response and on
/// every job the request queues (`platform::request`).
pub async fn request_id(mut req: Request, next: Next) -> Response {
    use loupan_service::platform::request;
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| request::accepted(v))
        .map_or_else(request::new_id, str::to_owned);
    let value = HeaderValue::from_str(&id).ok();
    if let Some(value) = &value {
        req.headers_mut().insert(REQUEST_ID, value.clone());
    }
    let mut res = request::within(id, next.run(req)).await;
    if let Some(value) = value {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    res
}

pub const REQUEST_ID: &str = "x-request-id";

/// `Idempotency-Key` on API POSTs: the first answer is stored and replayed to
/// repeats; a failed request frees the key so the client can retry.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let actor = req.extensions().get::<Caller>().and_then(|c| c.actor.clone());
    let (Some(key), Some(actor)) = (key, actor) else { return next.run(req).await };
    if req.method() != Method::POST || !is_api(req.uri().path()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // A file upload may be repeated too.
    let Ok(bytes) = axum::body::to_bytes(body, crate::UPLOAD_LIMIT).await else {
        return AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").into_response();
    };
    let mut fingerprint = format!("{} {}\n", parts.method, parts.uri).into_bytes();
    fingerprint.extend_from_slice(&bytes);
    match idempotency::start(&state.services, &actor, &key, &fingerprint).await {
        Err(e) => AppError::from(e).into_response(),
        Ok(Start::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut res = (status, body).into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(Start::Proceed) => {
            let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            if !res.status().is_success() {
                if let Err(e) = idempotency::abandon(&state.services, &actor, &key).await {
                    tracing::error!(error = %e.chain(), "could not release idempotency key");
                }
                return res;
            }
            let (parts, body) = res.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal").into_response();
            };
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = idempotency::finish(&state.services, &actor, &key, parts.status.as_u16(), &text).await {
                tracing::error!(error = %e.chain(), "could not store idempotent answer");
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

/// Unknown routes: 401 under `/api` for anonymous callers (the API's shape is
/// not revealed to them), else 404.
pub async fn fallback(
    crate::extract::MaybeAuthed(actor): crate::extract::MaybeAuthed,
    uri: axum::http::Uri,
) -> AppError {
    if is_api(uri.path()) && actor.is_none() {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated")
    } else {
        AppError::new(StatusCode::NOT_FOUND, "route_not_found")
    }
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // Pages and API answers may carry personal data: no cache keeps them,
    // unless the handler chose otherwise (downloads of plans, static assets).
    if !is_asset && !h.contains_key("cache-control") {
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    res
}

/// A handler that panicked answers 500 like any unexpected failure (the
/// connection stays up, the user sees the translated message), and the cause
/// goes to the log.
pub fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = message, "request handler panicked");
    AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal").into_response()
}
