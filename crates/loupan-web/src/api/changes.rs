//! Business changes to deals (退房, 退订) and the refunds they leave.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::finance::{ReceiptChannel, RefundStatus};
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId};
use loupan_domain::sales::{ChangeKind, ChangeStatus};
use loupan_service::changes::{self, DealChange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct BuyerRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub customer_id: Option<String>,
    /// A ratio: `"0.5"`. The shares of all buyers add up to exactly 1.
    #[schema(required = true, nullable = false, pattern = "^(0\\.[0-9]{0,5}[1-9]|1(\\.0{1,6})?)$")]
    pub share: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewChangeRequest {
    /// `cancel_contract` (退房), `cancel_subscription` (退订), `swap` (换房),
    /// `change_price`, `change_payment_method` or `rename` (更名/增减权益人).
    #[schema(value_type = Option<ChangeKind>, required = true, nullable = false)]
    pub kind: Option<String>,
    /// The contract or subscription.
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub subject_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub reason: Option<String>,
    /// `swap`: the unit to move to (available, or reserved for the same buyer).
    pub new_unit_id: Option<String>,
    /// `swap`, `change_price`: yuan, two decimals.
    pub new_total_price: Option<String>,
    /// `change_payment_method` (and optionally `swap`).
    pub payment_method_id: Option<String>,
    /// `rename`: the buyers after the change, main buyer first.
    #[serde(default)]
    pub buyers: Vec<BuyerRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct DealChangeDto {
    pub id: String,
    pub project_id: ProjectId,
    pub kind: ChangeKind,
    pub subject_id: String,
    pub reason: String,
    /// `requested`, `executed` or `rejected`.
    pub status: ChangeStatus,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `{"before": …, "after": …}` and, once executed, `"result"`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The approval request deciding it (`/api/v1/approvals/{id}`).
    pub approval_id: Option<String>,
}

impl From<DealChange> for DealChangeDto {
    fn from(c: DealChange) -> Self {
        DealChangeDto {
            id: c.id,
            project_id: c.project_id,
            kind: c.kind,
            subject_id: c.subject_id,
            reason: c.reason,
            status: c.status,
            requested_by: c.requested_by,
            decided_by: c.decided_by,
            decision_note: c.decision_note,
            created_at: c.created_at,
            decided_at: c.decided_at,
            details: c.details,
            approval_id: c.approval_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DealChangeList {
    pub items: Vec<DealChangeDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeParams {
    /// Only changes in this status; all when absent.
    #[param(value_type = Option<ChangeStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundParams {
    /// Only refunds in this status; all when absent.
    #[param(value_type = Option<RefundStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
}

/// Requests a change and submits it for approval (`deal_change`); nothing
/// changes until the request is approved.
#[utoipa::path(post, path = "/api/v1/sales/changes", tag = "sales", request_body = NewChangeRequest,
    responses((status = 201, body = DealChangeDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn request(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewChangeRequest>,
) -> Result<(StatusCode, Json<DealChangeDto>), AppError> {
    let form = changes::NewChange {
        kind: req.kind,
        subject_id: req.subject_id,
        reason: req.reason,
        new_unit_id: req.new_unit_id,
        new_total_price: req.new_total_price,
        payment_method_id: req.payment_method_id,
        buyers: req
            .buyers
            .into_iter()
            .map(|b| changes::NewBuyer { customer_id: b.customer_id, share: b.share })
            .collect(),
    };
    Ok((StatusCode::CREATED, Json(changes::request_change(&state.services, &actor, form).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/sales/changes", tag = "sales", params(ChangeParams),
    responses((status = 200, body = DealChangeList), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ChangeParams>,
) -> Result<Json<Page<DealChangeDto>>, AppError> {
    let items = changes::list_changes(&state.services, &actor, q.status.as_deref()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct RefundDto {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub customer_id: CustomerId,
    pub amount: String,
    /// `due`, `paid` (by the cashier) or `audited` (by finance).
    pub status: RefundStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub paid_on: Option<chrono::NaiveDate>,
    pub channel: Option<ReceiptChannel>,
    pub paid_by: Option<String>,
    pub audited_by: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundList {
    pub items: Vec<RefundDto>,
    pub next_cursor: Option<String>,
}

/// Refunds owed to buyers after cancellations.
#[utoipa::path(get, path = "/api/v1/finance/refunds", tag = "finance", params(RefundParams),
    responses((status = 200, body = RefundList), (status = 403, body = Problem)))]
async fn refunds(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<RefundParams>,
) -> Result<Json<Page<RefundDto>>, AppError> {
    let items = changes::refunds(&state.services, &actor, q.status.as_deref()).await?;
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|r| RefundDto {
                id: r.id,
                project_id: r.project_id,
                contract_id: r.contract_id,
                subscription_id: r.subscription_id,
                customer_id: r.customer_id,
                amount: r.amount.to_string(),
                status: r.status,
                created_at: r.created_at,
                paid_on: r.paid_on,
                channel: r.channel,
                paid_by: r.paid_by,
                audited_by: r.audited_by,
                note: r.note,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct BuyerDto {
    pub customer_id: CustomerId,
    pub share: String,
}

#[derive(Serialize, ToSchema)]
pub struct BuyerList {
    pub items: Vec<BuyerDto>,
    pub next_cursor: Option<String>,
}

/// The buyers (权益人) of a contract or subscription with their shares, main buyer first.
#[utoipa::path(get, path = "/api/v1/sales/deals/{id}/buyers", tag = "sales",
    responses((status = 200, body = BuyerList), (status = 404, body = Problem)))]
async fn buyers(
    State(state): State<AppState>,
    Authed(actor): Authed,
    crate::extract::ApiPath(id): crate::extract::ApiPath<String>,
) -> Result<Json<BuyerList>, AppError> {
    let items = changes::buyers(&state.services, &actor, &id)
        .await?
        .into_iter()
        .map(|b| BuyerDto { customer_id: b.customer_id, share: b.share })
        .collect();
    Ok(Json(BuyerList { items, next_cursor: None }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, request)).routes(routes!(refunds)).routes(routes!(buyers))
}
