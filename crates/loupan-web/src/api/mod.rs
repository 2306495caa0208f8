//! The JSON API under `/api/v1` (API.md). Routes are declared with their
//! OpenAPI description next to the handler, so `/api/v1/openapi.json` is
//! generated from the code and cannot drift from it.

pub mod admin;
pub mod approvals;
pub mod auth;
pub mod changes;
pub mod customers;
pub mod finance;
pub mod integrations;
pub mod inventory;
pub mod pricing;
pub mod sales;
pub mod workbench;

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Loupan API", description = "Sales, finance, customer service and cost control for real-estate developers."),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    components(schemas(Problem, FieldProblem)),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "admin", description = "Users, roles and the audit trail"),
        (name = "inventory", description = "Projects, buildings and units (S1)"),
        (name = "customers", description = "Customers, duplicates, follow-ups and transfers (C1-C3, S2-S7)"),
        (name = "sales", description = "Payment methods, subscriptions, contracts and payment plans (S1, F2)"),
        (name = "finance", description = "Receipts and reports (F1-F7)"),
        (name = "workbench", description = "The user's to-dos and alerts (PM1)"),
        (name = "approvals", description = "Approval requests, flows, delegation and notifications (PM2)"),
        (name = "integrations", description = "Webhooks and the background job queue"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::middleware::SESSION_COOKIE))),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(admin::router())
        .merge(inventory::router())
        .merge(customers::router())
        .merge(sales::router())
        .merge(finance::router())
        .merge(workbench::router())
        .merge(pricing::router())
        .merge(changes::router())
        .merge(approvals::router())
        .merge(integrations::router())
}

/// RFC 9457 problem details, in the language of `Accept-Language`.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `urn:loupan:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case error code.
    pub code: String,
    pub errors: Vec<FieldProblem>,
}

/// One offending input field.
#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// 1-500, default 50.
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> u64 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }

    /// The decoded cursor (cursors are hex so they stay opaque and URL-safe).
    pub fn after(&self) -> Result<Option<String>, crate::AppError> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => hex::decode(c).ok().and_then(|b| String::from_utf8(b).ok()).map(Some).ok_or_else(|| {
                crate::AppError::field(axum::http::StatusCode::BAD_REQUEST, "invalid_query", "cursor", "invalid_cursor")
            }),
        }
    }
}

/// A page of a list: `items` and the cursor of the next page (null at the end).
#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` were fetched with `limit + 1`; the extra row only says there is more.
    pub fn from_rows<R>(mut rows: Vec<R>, limit: u64, key: impl Fn(&R) -> String, map: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| hex::encode(key(r))) } else { None };
        Page { items: rows.into_iter().map(map).collect(), next_cursor }
    }
}

/// An xlsx file as a download.
pub fn xlsx_download(bytes: Vec<u8>, filename: &'static str) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}
