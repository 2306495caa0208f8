//! `GET /api/v1/workbench` (API.md): the caller's pending approvals, own
//! requests, and alerts.

use axum::Json;
use axum::extract::State;
use loupan_service::workbench;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::extract::Authed;
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct AlertDto {
    /// `stale_customers`, `open_duplicates`, `overdue_instalments`.
    pub kind: String,
    pub count: u64,
    pub link: String,
}

#[derive(Serialize, ToSchema)]
pub struct Workbench {
    /// Approval requests waiting for the caller (the approval engine is not built yet: always empty).
    pub pending_approvals: Vec<serde_json::Value>,
    /// The caller's own requests (likewise).
    pub own_requests: Vec<serde_json::Value>,
    pub alerts: Vec<AlertDto>,
}

#[utoipa::path(get, path = "/api/v1/workbench", tag = "workbench", responses((status = 200, body = Workbench)))]
async fn workbench(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Workbench>, AppError> {
    let alerts = workbench::alerts(&state.services, &actor).await?;
    Ok(Json(Workbench {
        pending_approvals: Vec::new(),
        own_requests: Vec::new(),
        alerts: alerts
            .into_iter()
            .map(|a| AlertDto { kind: a.kind.to_owned(), count: a.count, link: a.link.to_owned() })
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(workbench))
}
