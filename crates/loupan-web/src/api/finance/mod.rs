//! Receipts and the ageing report (F1-F7).

pub mod queries;
pub mod receipt_books;
pub mod reports;

use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId};
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_service::finance::{self, Receipt, settings};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct NewReceiptRequest {
    pub contract_id: Option<String>,
    /// A deposit received for a subscription.
    pub subscription_id: Option<String>,
    /// Yuan, positive, two decimals.
    #[schema(required = true, nullable = false, value_type = crate::api::Positive)]
    pub amount: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(required = true, nullable = false, format = Date)]
    pub received_on: Option<String>,
    /// `cash`, `transfer`, `pos`, `cheque`, `mortgage_bank`, `provident_fund`.
    #[schema(required = true, nullable = false, value_type = crate::api::ChannelName)]
    pub channel: Option<String>,
    /// Who paid, as written on the receipt.
    pub payer: Option<String>,
    /// The receipt book (票据) to take the number from; the project's oldest book with numbers left when omitted.
    pub book_id: Option<String>,
    /// A `received_on` after today is refused (`in_the_future`) unless the
    /// channel is `cheque` and this says why the cheque is post-dated (远期支票);
    /// the reason is kept in the receipt's `note`.
    pub post_dated_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptDto {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: String,
    pub received_on: chrono::NaiveDate,
    pub channel: ReceiptChannel,
    /// `in_transit`, `arrived`, `audited`, or `void` (entered by mistake, never counted).
    pub status: ReceiptStatus,
    pub recorded_by: String,
    pub audited_by: Option<String>,
    pub payer: Option<String>,
    /// The receipt number (票据号), when the project keeps receipt books.
    pub number: Option<String>,
    pub book_id: Option<String>,
    /// On a reversing entry: the receipt it corrects.
    pub reverses: Option<String>,
    /// On a corrected receipt: its reversing entry.
    pub reversed_by: Option<String>,
    /// The other half of a deposit transfer (定金转房款).
    pub pair_id: Option<String>,
    pub note: Option<String>,
}

impl From<Receipt> for ReceiptDto {
    fn from(r: Receipt) -> Self {
        ReceiptDto {
            id: r.id,
            project_id: r.project_id,
            contract_id: r.contract_id,
            subscription_id: r.subscription_id,
            amount: r.amount.to_string(),
            received_on: r.received_on,
            channel: r.channel,
            status: r.status,
            recorded_by: r.recorded_by,
            audited_by: r.audited_by,
            payer: r.payer,
            number: r.number,
            book_id: r.book_id,
            reverses: r.reverses,
            reversed_by: r.reversed_by,
            pair_id: r.pair_id,
            note: r.note,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptList {
    pub items: Vec<ReceiptDto>,
    pub next_cursor: Option<String>,
}

/// Records money received (`in_transit`). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/finance/receipts", tag = "finance", request_body = NewReceiptRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key twice records once")),
    responses((status = 201, body = ReceiptDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn record(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewReceiptRequest>,
) -> Result<(StatusCode, Json<ReceiptDto>), AppError> {
    let form = finance::NewReceipt {
        contract_id: req.contract_id,
        subscription_id: req.subscription_id,
        amount: req.amount,
        received_on: req.received_on,
        channel: req.channel,
        payer: req.payer,
        book_id: req.book_id,
        post_dated_reason: req.post_dated_reason,
    };
    Ok((StatusCode::CREATED, Json(finance::record_receipt(&state.services, &actor, form).await?.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptParams {
    pub contract_id: ContractId,
}

#[utoipa::path(get, path = "/api/v1/finance/receipts", tag = "finance", params(ReceiptParams),
    responses((status = 200, body = ReceiptList), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReceiptParams>,
) -> Result<Json<Page<ReceiptDto>>, AppError> {
    let items = finance::receipts_of_contract(&state.services, &actor, &q.contract_id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/finance/receipts/{id}", tag = "finance",
    responses((status = 200, body = ReceiptDto), (status = 404, body = Problem)))]
async fn get_receipt(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReceiptDto>, AppError> {
    Ok(Json(finance::get_receipt(&state.services, &actor, &id).await?.into()))
}

/// 到帐: the money arrived in the bank.
#[utoipa::path(post, path = "/api/v1/finance/receipts/{id}/arrive", tag = "finance",
    responses((status = 200, body = ReceiptDto), (status = 409, body = Problem)))]
async fn arrive(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReceiptDto>, AppError> {
    Ok(Json(finance::mark_arrived(&state.services, &actor, &id).await?.into()))
}

/// 审核: finance audits the receipt; it then reduces what is outstanding.
#[utoipa::path(post, path = "/api/v1/finance/receipts/{id}/audit", tag = "finance",
    responses((status = 200, body = ReceiptDto), (status = 409, body = Problem)))]
async fn audit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReceiptDto>, AppError> {
    Ok(Json(finance::audit_receipt(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgeingParams {
    /// `YYYY-MM-DD`.
    #[param(format = Date)]
    pub as_of: String,
    pub project_id: Option<String>,
    /// Only the first contracts, most overdue first (1 to 100,000); all when absent.
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ContractAgeingDto {
    pub contract_id: ContractId,
    pub number: String,
    pub customer_id: CustomerId,
    /// Every bucket of `buckets`, keyed by its label.
    pub amounts: BTreeMap<String, String>,
}

/// Totals over every bucket, and each contract that still owes something.
#[derive(Serialize, ToSchema)]
pub struct AgeingDto {
    pub as_of: chrono::NaiveDate,
    /// The buckets' labels in order: `not_due`, then the days overdue of each
    /// (`1-30`, `31-60`, `61-90`, `91-180`, `181-365`, `>365` by default; a
    /// company or project may set others at `/api/v1/finance/settings/ageing-buckets`).
    pub buckets: Vec<String>,
    pub totals: BTreeMap<String, String>,
    pub contracts: Vec<ContractAgeingDto>,
    pub source: crate::api::DataSourceDto,
}

fn as_text(map: BTreeMap<String, loupan_domain::Money>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

/// 帐龄: unpaid instalments by days overdue, on the audited basis.
#[utoipa::path(get, path = "/api/v1/finance/reports/ageing", tag = "finance", params(AgeingParams),
    responses((status = 200, body = AgeingDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn ageing(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AgeingParams>,
) -> Result<Json<AgeingDto>, AppError> {
    let as_of = chrono::NaiveDate::parse_from_str(q.as_of.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "as_of", "invalid_date"))?;
    if q.limit.is_some_and(|n| !(1..=100_000).contains(&n)) {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "limit", "out_of_range"));
    }
    let project_id = ProjectId::given(q.project_id.as_deref());
    let report = finance::ageing(&state.services, &actor, as_of, project_id.as_ref(), q.limit).await?;
    Ok(Json(AgeingDto {
        as_of: report.as_of,
        buckets: report.buckets,
        totals: as_text(report.totals),
        contracts: report
            .contracts
            .into_iter()
            .map(|c| ContractAgeingDto {
                contract_id: c.contract_id,
                number: c.number,
                customer_id: c.customer_id,
                amounts: as_text(c.amounts),
            })
            .collect(),
        source: report.source,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ReasonRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub reason: Option<String>,
}

/// Corrects a receipt: money not yet audited is voided (the cashier); audited
/// money gets a reversing entry (finance) and the plan is settled again.
/// Answers the voided receipt or the reversing entry. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/finance/receipts/{id}/reverse", tag = "finance", request_body = ReasonRequest,
    responses((status = 200, body = ReceiptDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reverse(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ReasonRequest>,
) -> Result<Json<ReceiptDto>, AppError> {
    Ok(Json(finance::reverse_receipt(&state.services, &actor, &id, req.reason.as_deref()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct DepositTransferRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub contract_id: Option<String>,
}

/// 定金转房款: the audited deposit of the contract's subscription moves to the
/// contract as a pair of receipts that count once finance audits them.
/// Answers the contract's half. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/finance/deposit-transfers", tag = "finance", request_body = DepositTransferRequest,
    responses((status = 201, body = ReceiptDto, description = "Moved: the contract's half of the pair"),
        (status = 202, body = crate::api::WaitingForApproval, description = "Waits for approval (a flow for deposit transfers is configured)"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn deposit_transfer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<DepositTransferRequest>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let Some(contract_id) = ContractId::given(req.contract_id.as_deref()) else {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "contract_id", "required"));
    };
    Ok(match finance::transfer_deposit(&state.services, &actor, &contract_id).await? {
        finance::DepositTransfer::Done(r) => (StatusCode::CREATED, Json(ReceiptDto::from(*r))).into_response(),
        finance::DepositTransfer::Waiting { approval_id } => {
            (StatusCode::ACCEPTED, Json(crate::api::WaitingForApproval { approval_id })).into_response()
        }
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PayRefundRequest {
    /// `YYYY-MM-DD`.
    #[schema(format = Date, required = true, nullable = false)]
    pub paid_on: Option<String>,
    /// `cash`, `transfer`, `pos`, `cheque`, `mortgage_bank` or `provident_fund`.
    #[schema(required = true, nullable = false, pattern = "^(cash|transfer|pos|cheque|mortgage_bank|provident_fund)$")]
    pub channel: Option<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundPaymentDto {
    pub id: String,
    /// `due`, `paid`, `audited`.
    pub status: RefundStatus,
    /// Still `due` because the payment waits for this approval (a flow for refunds is configured).
    pub pending_approval_id: Option<String>,
    pub amount: String,
    pub paid_on: Option<chrono::NaiveDate>,
    pub channel: Option<ReceiptChannel>,
    pub paid_by: Option<String>,
    pub audited_by: Option<String>,
}

impl From<finance::RefundPayment> for RefundPaymentDto {
    fn from(r: finance::RefundPayment) -> Self {
        RefundPaymentDto {
            id: r.id,
            status: r.status,
            pending_approval_id: r.pending_approval_id,
            amount: r.amount.to_string(),
            paid_on: r.paid_on,
            channel: r.channel,
            paid_by: r.paid_by,
            audited_by: r.audited_by,
        }
    }
}

/// The cashier pays a refund out to the buyer. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/finance/refunds/{id}/pay", tag = "finance", request_body = PayRefundRequest,
    responses((status = 200, body = RefundPaymentDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn pay_refund(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PayRefundRequest>,
) -> Result<Json<RefundPaymentDto>, AppError> {
    let r = finance::pay_refund(
        &state.services,
        &actor,
        &id,
        req.paid_on.as_deref(),
        req.channel.as_deref(),
        req.note.as_deref(),
    )
    .await?;
    Ok(Json(r.into()))
}

/// Finance audits a refund paid out.
#[utoipa::path(post, path = "/api/v1/finance/refunds/{id}/audit", tag = "finance",
    responses((status = 200, body = RefundPaymentDto), (status = 409, body = Problem)))]
async fn audit_refund(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RefundPaymentDto>, AppError> {
    Ok(Json(finance::audit_refund(&state.services, &actor, &id).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reverse))
        .routes(routes!(deposit_transfer))
        .routes(routes!(pay_refund))
        .routes(routes!(audit_refund))
        .merge(crate::api::finance::receipt_books::router())
        .routes(routes!(list, record))
        .routes(routes!(get_receipt))
        .routes(routes!(arrive))
        .routes(routes!(audit))
        .routes(routes!(ageing))
        .routes(routes!(ageing_setting, set_ageing_setting))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SettingScopeParams {
    /// A project's own setting; the company's when absent.
    pub project_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct AgeingSettingRequest {
    /// The most days overdue of each bucket after `not_due`, increasing
    /// (`[30, 60, 90, 180, 365]` is DOMAIN.md's default). `null` for a project
    /// returns it to the company's buckets.
    /// Required: absent is not taken for `null` (which resets a project).
    #[schema(schema_with = bucket_limits_schema, required = true)]
    #[serde(default, deserialize_with = "present")]
    pub limits: Option<Option<Vec<u32>>>,
}

/// A field that may be `null` but must be there: absent stays `None`, `null` is `Some(None)`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// 1-12 limits of 1 to 36,500 days each (increasing, which a schema cannot say), or null.
fn bucket_limits_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let days = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(36_500));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(days)
        .min_items(Some(1))
        .max_items(Some(loupan_domain::sales::AgeingBuckets::MAX_LIMITS))
        .build()
}

/// The ageing buckets in force for the company or a project, and where they come from.
#[utoipa::path(get, path = "/api/v1/finance/settings/ageing-buckets", tag = "finance", params(SettingScopeParams),
    responses((status = 200, body = settings::AgeingSetting), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn ageing_setting(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<SettingScopeParams>,
) -> Result<Json<settings::AgeingSetting>, AppError> {
    let project = ProjectId::given(q.project_id.as_deref());
    let project = project.as_ref();
    Ok(Json(settings::ageing_setting(&state.services, &actor, project).await?))
}

/// Sets the ageing buckets of the company (finance who sees every project) or of
/// one project; every ageing report, arrears list and export uses them.
#[utoipa::path(put, path = "/api/v1/finance/settings/ageing-buckets", tag = "finance", params(SettingScopeParams),
    request_body = AgeingSettingRequest,
    responses((status = 200, body = settings::AgeingSetting), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_ageing_setting(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<SettingScopeParams>,
    ApiJson(req): ApiJson<AgeingSettingRequest>,
) -> Result<Json<settings::AgeingSetting>, AppError> {
    let project = ProjectId::given(q.project_id.as_deref());
    let project = project.as_ref();
    let Some(limits) = req.limits else {
        return Err(loupan_service::ServiceError::from(loupan_domain::Invalid::one("limits", "required")).into());
    };
    Ok(Json(settings::set_ageing_buckets(&state.services, &actor, project, limits).await?))
}

/// Money is received on a contract or, as a deposit, on a subscription.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{requires_one_of, text_schema};
    requires_one_of(
        openapi,
        "NewReceiptRequest",
        vec![vec![("contract_id", text_schema())], vec![("subscription_id", text_schema())]],
    );
}
