//! Combined-condition queries over receipts and payment plans (F4), with xlsx exports.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use loupan_domain::finance::{InstalmentState, ReceiptChannel, ReceiptStatus};
use loupan_domain::ids::{ContractId, ProjectId, SubscriptionId};
use loupan_domain::sales::TermKind;
use loupan_service::finance::queries::{
    self as queries, InstalmentQuery, InstalmentSearch, ReceiptQuery, ReceiptSearch,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiQuery, Authed};
use crate::{AppError, AppState};

/// Every condition is optional; those given all hold.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQueryParams {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    /// `in_transit`, `arrived`, `audited` or `void`.
    #[param(value_type = Option<ReceiptStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
    /// `cash`, `transfer`, `pos`, `cheque`, `mortgage_bank`, `provident_fund`, `deal_transfer`, `deposit_transfer`.
    pub channel: Option<String>,
    /// Received on or after, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Received on or before, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub to: Option<String>,
    /// Yuan, e.g. `100000.00`.
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub min_amount: Option<String>,
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub max_amount: Option<String>,
    /// Part of the payer's name.
    pub payer: Option<String>,
    /// Part of the printed receipt number.
    pub number: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1000 at most (and when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

impl From<ReceiptQueryParams> for ReceiptQuery {
    fn from(p: ReceiptQueryParams) -> Self {
        ReceiptQuery {
            project_id: p.project_id,
            building_id: p.building_id,
            status: p.status,
            channel: p.channel,
            from: p.from,
            to: p.to,
            min_amount: p.min_amount,
            max_amount: p.max_amount,
            payer: p.payer,
            number: p.number,
            cursor: p.cursor,
            limit: p.limit,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptHitDto {
    pub id: String,
    pub project_id: ProjectId,
    pub number: Option<String>,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub deal_number: String,
    pub unit_number: String,
    pub customer_name: String,
    pub payer: Option<String>,
    pub amount: String,
    pub received_on: NaiveDate,
    pub channel: ReceiptChannel,
    pub status: ReceiptStatus,
    pub reverses: Option<String>,
    pub reversed_by: Option<String>,
}

/// The newest matches (at most 1,000) with the count and total of all of them.
#[derive(Serialize, ToSchema)]
pub struct ReceiptSearchDto {
    pub items: Vec<ReceiptHitDto>,
    pub count: i64,
    pub total: String,
    /// More pages follow: fetch them with `cursor=next_cursor`.
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

impl From<ReceiptSearch> for ReceiptSearchDto {
    fn from(s: ReceiptSearch) -> Self {
        ReceiptSearchDto {
            items: s
                .items
                .into_iter()
                .map(|r| ReceiptHitDto {
                    id: r.id,
                    project_id: r.project_id,
                    number: r.number,
                    contract_id: r.contract_id,
                    subscription_id: r.subscription_id,
                    deal_number: r.deal_number,
                    unit_number: r.unit_number,
                    customer_name: r.customer_name,
                    payer: r.payer,
                    amount: r.amount.to_string(),
                    received_on: r.received_on,
                    channel: r.channel,
                    status: r.status,
                    reverses: r.reverses,
                    reversed_by: r.reversed_by,
                })
                .collect(),
            count: s.count,
            total: s.total.to_string(),
            truncated: s.truncated,
            next_cursor: s.next_cursor,
        }
    }
}

/// Receipts meeting every condition given, newest first.
#[utoipa::path(get, path = "/api/v1/finance/queries/receipts", tag = "finance", params(ReceiptQueryParams),
    responses((status = 200, body = ReceiptSearchDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn receipts(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReceiptQueryParams>,
) -> Result<Json<ReceiptSearchDto>, AppError> {
    Ok(Json(queries::receipts(&state.services, &actor, &q.into()).await?.into()))
}

/// The same receipts as xlsx, with a total row.
#[utoipa::path(get, path = "/api/v1/finance/queries/receipts/export", tag = "finance", params(ReceiptQueryParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 422, body = Problem)))]
async fn receipts_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ReceiptQueryParams>,
) -> Result<Response, AppError> {
    let found = queries::all_receipts(&state.services, &actor, &q.into()).await?;
    Ok(crate::api::xlsx_download(queries::receipts_xlsx(&found, &|key| crate::i18n::t(lang, key))?, "receipts.xlsx"))
}

/// Every condition is optional; those given all hold. Only active contracts' plans.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstalmentQueryParams {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    /// `deposit`, `down_payment`, `instalment`, `mortgage`, `compensation` or `fee`.
    #[param(value_type = Option<TermKind>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub kind: Option<String>,
    /// Due on or after, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub due_from: Option<String>,
    /// Due on or before, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub due_to: Option<String>,
    /// `overdue`, `not_due`, `unpaid`, `partly_paid` or `paid` (audited money).
    #[param(value_type = Option<InstalmentState>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub state: Option<String>,
    /// The day `overdue` is seen from; today when omitted.
    #[param(format = Date)]
    pub as_of: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1000 at most (and when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

impl From<InstalmentQueryParams> for InstalmentQuery {
    fn from(p: InstalmentQueryParams) -> Self {
        InstalmentQuery {
            project_id: p.project_id,
            building_id: p.building_id,
            kind: p.kind,
            due_from: p.due_from,
            due_to: p.due_to,
            state: p.state,
            as_of: p.as_of,
            cursor: p.cursor,
            limit: p.limit,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstalmentHitDto {
    pub id: String,
    pub contract_id: ContractId,
    pub contract_number: String,
    pub project_id: ProjectId,
    pub unit_number: String,
    pub customer_name: String,
    /// Masked.
    pub customer_phone: String,
    pub agent_name: String,
    pub seq: i32,
    pub kind: TermKind,
    pub due_date: NaiveDate,
    pub amount: String,
    pub paid: String,
    pub unpaid: String,
    pub days_overdue: i64,
}

/// The earliest-due matches (at most 1,000) with the count and sums of all of them.
#[derive(Serialize, ToSchema)]
pub struct InstalmentSearchDto {
    pub as_of: NaiveDate,
    pub items: Vec<InstalmentHitDto>,
    pub count: i64,
    pub amount: String,
    pub paid: String,
    pub unpaid: String,
    /// More pages follow: fetch them with `cursor=next_cursor`.
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

impl From<InstalmentSearch> for InstalmentSearchDto {
    fn from(s: InstalmentSearch) -> Self {
        InstalmentSearchDto {
            as_of: s.as_of,
            items: s
                .items
                .into_iter()
                .map(|i| InstalmentHitDto {
                    id: i.id,
                    contract_id: i.contract_id,
                    contract_number: i.contract_number,
                    project_id: i.project_id,
                    unit_number: i.unit_number,
                    customer_name: i.customer_name,
                    customer_phone: i.customer_phone,
                    agent_name: i.agent_name,
                    seq: i.seq,
                    kind: i.kind,
                    due_date: i.due_date,
                    amount: i.amount.to_string(),
                    paid: i.paid.to_string(),
                    unpaid: i.unpaid.to_string(),
                    days_overdue: i.days_overdue,
                })
                .collect(),
            count: s.count,
            amount: s.amount.to_string(),
            paid: s.paid.to_string(),
            unpaid: s.unpaid.to_string(),
            truncated: s.truncated,
            next_cursor: s.next_cursor,
        }
    }
}

/// Payment-plan instalments meeting every condition given, earliest due first.
#[utoipa::path(get, path = "/api/v1/finance/queries/instalments", tag = "finance", params(InstalmentQueryParams),
    responses((status = 200, body = InstalmentSearchDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn instalments(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<InstalmentQueryParams>,
) -> Result<Json<InstalmentSearchDto>, AppError> {
    Ok(Json(queries::instalments(&state.services, &actor, &q.into()).await?.into()))
}

/// The same instalments as xlsx, with a total row.
#[utoipa::path(get, path = "/api/v1/finance/queries/instalments/export", tag = "finance", params(InstalmentQueryParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 422, body = Problem)))]
async fn instalments_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<InstalmentQueryParams>,
) -> Result<Response, AppError> {
    let found = queries::all_instalments(&state.services, &actor, &q.into()).await?;
    Ok(crate::api::xlsx_download(
        queries::instalments_xlsx(&found, &|key| crate::i18n::t(lang, key))?,
        "instalments.xlsx",
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receipts))
        .routes(routes!(receipts_export))
        .routes(routes!(instalments))
        .routes(routes!(instalments_export))
}
