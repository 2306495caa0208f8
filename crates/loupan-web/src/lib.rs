//! Loupan's web face: server-rendered pages for people and the JSON API for
//! programs, both thin layers over `loupan-service`.
//!
//! A request passes, outside in: tracing, metrics, body limit, error rendering
//! (problem+json or an HTML page in the caller's language), authentication and
//! CSRF, idempotency keys, then the handler.

pub mod api;
pub mod assets;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod live;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod views;

use std::sync::Arc;

use axum::Router;
use loupan_service::Services;

pub use error::AppError;

/// The largest JSON or form body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The largest request body accepted at all: a file upload (a photo from a
/// phone, a scanned contract) of up to `MAX_FILE_BYTES` with its envelope.
/// Bodies read as JSON or forms stay within `BODY_LIMIT`.
pub const UPLOAD_LIMIT: usize = loupan_service::inventory::files::MAX_FILE_BYTES + 64 * 1024;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub services: Services,
    pub templates: minijinja::Environment<'static>,
    pub metrics: metrics::Metrics,
    /// Mark cookies `Secure` even without `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// Behind a proxy: the caller's address is the last of `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Options of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    pub secure_cookies: bool,
    /// Loupan is reached through a proxy (nginx, a load balancer) that appends
    /// the caller's address to `X-Forwarded-For`; without a proxy the header
    /// is the caller's own word and is ignored.
    pub trust_forwarded_for: bool,
}

impl AppState {
    pub fn new(services: Services, config: WebConfig) -> Self {
        let templates = views::templates(services.clock.zone());
        AppState(Arc::new(Inner {
            services,
            templates,
            metrics: metrics::Metrics::default(),
            secure_cookies: config.secure_cookies,
            trust_forwarded_for: config.trust_forwarded_for,
        }))
    }
}

/// The whole application: pages, API, assets, health and metrics.
pub fn app(state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    let (api_router, openapi) = api::router().split_for_parts();
    let mut openapi = openapi_document(openapi);
    api::complete(&mut openapi);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api_router)
        .merge(pages::router())
        .merge(assets::router())
        .merge(metrics::router())
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(middleware::fallback)
        .route_layer(from_fn_with_state(state.clone(), metrics::record))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_response))
        .layer(from_fn_with_state(state.clone(), middleware::idempotency))
        .layer(from_fn_with_state(state.clone(), middleware::authenticate))
        .layer(from_fn_with_state(state.clone(), middleware::render_errors))
        .layer(from_fn(middleware::security_headers))
        // Files (`Bytes`, multipart) up to the upload limit; JSON and forms
        // read their bodies within `BODY_LIMIT` themselves.
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(UPLOAD_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .layer(from_fn(middleware::request_id))
        .with_state(state)
}

/// The span of one request in the log: its id, method and path only. Query
/// strings carry what users search for (phones, names), so they never reach the log.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req.headers().get(middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
}

/// The OpenAPI document as served: generated from the routes, with the version.
fn openapi_document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
