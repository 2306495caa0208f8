//! `GET /api/v1/workbench` (API.md): the caller's pending approvals, own
//! requests, alerts, and the count of unread notifications.

use axum::Json;
use axum::extract::State;
use loupan_service::workbench;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::approvals::ApprovalDto;
use crate::extract::Authed;
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct AlertDto {
    /// `follow_ups_due`, `stale_customers`, `open_duplicates`, `overdue_instalments`,
    /// `cost_over_target`, `cost_change_ratio`, `cost_department_over`.
    pub kind: String,
    pub count: u64,
    pub link: String,
}

#[derive(Serialize, ToSchema)]
pub struct Workbench {
    /// Approval requests waiting for the caller's decision (theirs and delegated ones).
    pub pending_approvals: Vec<ApprovalDto>,
    /// The caller's own requests still pending or returned to them.
    pub own_requests: Vec<ApprovalDto>,
    pub alerts: Vec<AlertDto>,
    pub unread_notifications: u64,
    /// The responsibility cost of the caller's department (责任成本), when
    /// they work in one and read cost.
    pub responsibility: Option<loupan_service::cost::ResponsibilityCost>,
    /// Visitors registered at the door for the caller who are with them now (S4).
    pub visitors: Vec<loupan_service::reception::Visit>,
    /// Current steps of service processes (A1) that are the caller's to do,
    /// the soonest due first (at most 20), and how many there are.
    pub process_steps: Vec<loupan_service::aftersales::processes::ProcessCaseSummary>,
    pub process_steps_total: u64,
}

#[utoipa::path(get, path = "/api/v1/workbench", tag = "workbench", responses((status = 200, body = Workbench)))]
async fn workbench(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
) -> Result<Json<Workbench>, AppError> {
    let w = workbench::workbench(&state.services, &actor).await?;
    Ok(Json(Workbench {
        pending_approvals: w.pending_approvals.into_iter().map(|i| ApprovalDto::of_inbox(i, lang)).collect(),
        own_requests: w.own_requests.into_iter().map(|r| ApprovalDto::of(r, lang)).collect(),
        alerts: w
            .alerts
            .into_iter()
            .map(|a| AlertDto { kind: a.kind.to_owned(), count: a.count, link: a.link.to_owned() })
            .collect(),
        unread_notifications: w.unread_notifications,
        responsibility: w.responsibility,
        visitors: w.visitors,
        process_steps: w.process_steps,
        process_steps_total: w.process_steps_total,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct NavCounts {
    /// Requests waiting for the caller's decision.
    pub approvals: u64,
    /// Unread notifications.
    pub notifications: u64,
}

/// The numbers the navigation shows beside "approvals" and the bell.
#[utoipa::path(get, path = "/api/v1/workbench/counts", tag = "workbench", responses((status = 200, body = NavCounts)))]
async fn counts(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<NavCounts>, AppError> {
    let c = workbench::nav_counts(&state.services, &actor).await?;
    Ok(Json(NavCounts { approvals: c.approvals, notifications: c.notifications }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(workbench)).routes(routes!(counts))
}
