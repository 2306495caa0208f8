//! Payment methods, subscriptions, contracts and payment plans (S1, F2).

pub mod pricing;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use loupan_domain::sales::{ContractStatus, ReservationStatus, SubscriptionStatus, TermKind};
use loupan_service::sales::{self, Contract, Instalment, PaymentMethod, Subscription, deals};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::i18n::{Lang, t};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct TermRequest {
    /// `deposit`, `down_payment`, `instalment`, `mortgage`, `compensation`, `fee`.
    #[schema(value_type = TermKind, required = true, nullable = false)]
    pub kind: Option<String>,
    /// A decimal string: `"0.3"`.
    #[schema(required = true, nullable = false, pattern = "^(0(\\.[0-9]{1,6})?|1(\\.0{1,6})?)$")]
    pub ratio: Option<String>,
    #[schema(minimum = 0, maximum = 3650)]
    pub days_after_signing: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewPaymentMethodRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 50)]
    pub name: Option<String>,
    /// `one_off`, `instalments`, `commercial_mortgage`, `provident_fund`, `combined`.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(one_off|instalments|commercial_mortgage|provident_fund|combined)$"
    )]
    pub kind: Option<String>,
    /// A ratio, `"0.02"` for 2 %; blank is none.
    #[schema(pattern = "^(0(\\.[0-9]{1,6})?|1(\\.0{1,6})?)?$")]
    pub discount: Option<String>,
    /// Ratios adding up to exactly 1.
    #[serde(default)]
    #[schema(required = true, min_items = 1)]
    pub terms: Vec<TermRequest>,
    /// 非标付款方式: a contract on it waits for the approval flow `non_standard_contract`.
    #[serde(default)]
    pub non_standard: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TermDto {
    pub kind: String,
    pub ratio: String,
    pub days_after_signing: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentMethodDto {
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub kind: loupan_domain::sales::PaymentMethodKind,
    pub discount: String,
    pub terms: Vec<TermDto>,
    /// Send it back when changing or retiring the method.
    pub version: i64,
    /// Set once the method is no longer offered for new deals.
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The method this one is a new version of.
    pub replaces_id: Option<String>,
    /// 非标付款方式: a contract on it waits for approval.
    pub non_standard: bool,
}

impl From<PaymentMethod> for PaymentMethodDto {
    fn from(m: PaymentMethod) -> Self {
        PaymentMethodDto {
            id: m.id,
            project_id: m.project_id,
            name: m.name,
            kind: m.kind,
            discount: m.discount,
            terms: m
                .terms
                .into_iter()
                .map(|t| TermDto { kind: t.kind, ratio: t.ratio, days_after_signing: t.days_after_signing })
                .collect(),
            version: m.version,
            retired_at: m.retired_at,
            replaces_id: m.replaces_id,
            non_standard: m.non_standard,
        }
    }
}

impl NewPaymentMethodRequest {
    fn form(self) -> sales::NewPaymentMethod {
        sales::NewPaymentMethod {
            name: self.name,
            kind: self.kind,
            discount: self.discount,
            terms: self
                .terms
                .into_iter()
                .map(|t| sales::NewTerm { kind: t.kind, ratio: t.ratio, days_after_signing: t.days_after_signing })
                .collect(),
            non_standard: self.non_standard,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePaymentMethodRequest {
    /// The `version` read.
    pub version: i64,
    #[serde(flatten)]
    pub method: NewPaymentMethodRequest,
}

#[derive(Deserialize, ToSchema)]
pub struct VersionRequest {
    /// The `version` read.
    pub version: i64,
}

#[utoipa::path(get, path = "/api/v1/payment-methods/{id}", tag = "sales",
    responses((status = 200, body = PaymentMethodDto), (status = 404, body = Problem)))]
async fn get_payment_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentMethodDto>, AppError> {
    Ok(Json(sales::get_payment_method(&state.services, &actor, &id).await?.into()))
}

/// Changes a payment method. One no deal has used is changed in place; one in
/// use is retired and the answer is the new method that replaces it (a new
/// `id`, the old one in `replaces_id`), so deals already made keep their terms.
#[utoipa::path(put, path = "/api/v1/payment-methods/{id}", tag = "sales", request_body = ChangePaymentMethodRequest,
    responses((status = 200, body = PaymentMethodDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn change_payment_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ChangePaymentMethodRequest>,
) -> Result<Json<PaymentMethodDto>, AppError> {
    let method = sales::update_payment_method(&state.services, &actor, &id, req.version, req.method.form()).await?;
    Ok(Json(method.into()))
}

/// Stops offering a method for new deals (deals made with it keep it); methods are never deleted.
#[utoipa::path(post, path = "/api/v1/payment-methods/{id}/retire", tag = "sales", request_body = VersionRequest,
    responses((status = 200, body = PaymentMethodDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn retire_payment_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<VersionRequest>,
) -> Result<Json<PaymentMethodDto>, AppError> {
    Ok(Json(sales::retire_payment_method(&state.services, &actor, &id, req.version).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentMethodList {
    pub items: Vec<PaymentMethodDto>,
    pub next_cursor: Option<String>,
}

/// Defines a payment method of a project; its term ratios must sum to 1.
#[utoipa::path(post, path = "/api/v1/projects/{id}/payment-methods", tag = "sales", request_body = NewPaymentMethodRequest,
    responses((status = 201, body = PaymentMethodDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_payment_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<NewPaymentMethodRequest>,
) -> Result<(StatusCode, Json<PaymentMethodDto>), AppError> {
    let method = sales::create_payment_method(&state.services, &actor, &id, req.form()).await?;
    Ok((StatusCode::CREATED, Json(method.into())))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/payment-methods", tag = "sales",
    responses((status = 200, body = PaymentMethodList), (status = 404, body = Problem)))]
async fn list_payment_methods(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Page<PaymentMethodDto>>, AppError> {
    let items = sales::list_payment_methods(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewSubscriptionRequest {
    #[schema(required = true, nullable = false, min_length = 1)]
    pub unit_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub customer_id: Option<String>,
    /// Yuan, two decimals.
    #[schema(required = true, nullable = false, value_type = crate::api::Positive)]
    pub total_price: Option<String>,
    #[schema(required = true, nullable = false, value_type = crate::api::NonNegative)]
    pub deposit: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub payment_method_id: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, required = true, nullable = false)]
    pub subscribed_on: Option<String>,
    /// Several buyers (权益人) with shares adding up to 1, the first being `customer_id`; omit for one.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub buyers: Vec<crate::api::changes::BuyerRequest>,
}

#[derive(Deserialize, ToSchema)]
pub struct SpecialDiscountRequest {
    #[serde(flatten)]
    pub subscription: NewSubscriptionRequest,
    /// Why the buyer should get this price (shown to the approvers).
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionDto {
    pub id: SubscriptionId,
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub total_price: String,
    pub deposit: String,
    pub payment_method_id: String,
    pub subscribed_on: chrono::NaiveDate,
    /// `active`, `converted` (to a contract) or `cancelled`.
    pub status: SubscriptionStatus,
}

impl From<Subscription> for SubscriptionDto {
    fn from(s: Subscription) -> Self {
        SubscriptionDto {
            id: s.id,
            number: s.number,
            project_id: s.project_id,
            unit_id: s.unit_id,
            customer_id: s.customer_id,
            agent_id: s.agent_id,
            total_price: s.total_price.to_string(),
            deposit: s.deposit.to_string(),
            payment_method_id: s.payment_method_id,
            subscribed_on: s.subscribed_on,
            status: s.status,
        }
    }
}

/// 认购: moves an available unit to `subscribed`. Of concurrent attempts on one
/// unit exactly one succeeds; the others get 409 `unit_not_available`.
#[utoipa::path(post, path = "/api/v1/sales/subscriptions", tag = "sales", request_body = NewSubscriptionRequest,
    responses((status = 201, body = SubscriptionDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn subscribe(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewSubscriptionRequest>,
) -> Result<(StatusCode, Json<SubscriptionDto>), AppError> {
    let form = sales::NewSubscription {
        buyers: req
            .buyers
            .into_iter()
            .map(|b| loupan_service::changes::NewBuyer { customer_id: b.customer_id, share: b.share })
            .collect(),
        unit_id: req.unit_id,
        customer_id: req.customer_id,
        total_price: req.total_price,
        deposit: req.deposit,
        payment_method_id: req.payment_method_id,
        subscribed_on: req.subscribed_on,
    };
    Ok((StatusCode::CREATED, Json(sales::subscribe(&state.services, &actor, form).await?.into())))
}

/// 特批折扣: a subscription below what the agent may agree alone goes to approval;
/// it is made when the request is approved, and nothing changes if it is rejected.
#[utoipa::path(post, path = "/api/v1/sales/subscriptions/special-discount", tag = "sales", request_body = SpecialDiscountRequest,
    responses((status = 201, body = crate::api::approvals::ApprovalDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn special_discount(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiJson(req): ApiJson<SpecialDiscountRequest>,
) -> Result<(StatusCode, Json<crate::api::approvals::ApprovalDto>), AppError> {
    let r = req.subscription;
    let form = sales::NewSubscription {
        buyers: r
            .buyers
            .into_iter()
            .map(|b| loupan_service::changes::NewBuyer { customer_id: b.customer_id, share: b.share })
            .collect(),
        unit_id: r.unit_id,
        customer_id: r.customer_id,
        total_price: r.total_price,
        deposit: r.deposit,
        payment_method_id: r.payment_method_id,
        subscribed_on: r.subscribed_on,
    };
    let request = sales::request_special_discount(&state.services, &actor, form, req.reason.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(crate::api::approvals::ApprovalDto::of(request, lang))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    pub payment_method_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PriceLimitsDto {
    /// List price less the payment method's discount.
    pub standard: String,
    /// The lowest total without a special approval (never below the floor price).
    pub minimum: String,
}

/// What an agent may agree for a unit on a payment method without a special approval.
#[utoipa::path(get, path = "/api/v1/units/{id}/price-limits", tag = "sales", params(LimitParams),
    responses((status = 200, body = PriceLimitsDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn price_limits(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
    ApiQuery(q): ApiQuery<LimitParams>,
) -> Result<Json<PriceLimitsDto>, AppError> {
    let l = sales::limits_for(&state.services, &actor, &id, &q.payment_method_id).await?;
    Ok(Json(PriceLimitsDto { standard: l.standard.to_string(), minimum: l.minimum.to_string() }))
}

#[utoipa::path(get, path = "/api/v1/sales/subscriptions/{id}", tag = "sales",
    responses((status = 200, body = SubscriptionDto), (status = 404, body = Problem)))]
async fn get_subscription(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<SubscriptionId>,
) -> Result<Json<SubscriptionDto>, AppError> {
    Ok(Json(sales::get_subscription(&state.services, &actor, &id).await?.into()))
}

/// The subscription letter (认购书) to print and sign, as PDF.
#[utoipa::path(get, path = "/api/v1/sales/subscriptions/{id}/letter.pdf", tag = "sales",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem), (status = 503, body = Problem)))]
async fn subscription_letter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<SubscriptionId>,
) -> Result<axum::response::Response, AppError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let pdf = sales::subscription_letter(&state.services, &actor, &id).await?;
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"subscription-letter.pdf\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
pub struct NewContractRequest {
    /// Sign from this subscription…
    pub subscription_id: Option<String>,
    /// …or directly for a unit and a customer.
    pub unit_id: Option<String>,
    pub customer_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub payment_method_id: Option<String>,
    #[schema(required = true, nullable = false, value_type = crate::api::Positive)]
    pub total_price: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date, required = true, nullable = false)]
    pub signed_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ContractDto {
    pub id: ContractId,
    /// Unique per project.
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub subscription_id: Option<SubscriptionId>,
    pub payment_method_id: String,
    pub total_price: String,
    pub signed_on: chrono::NaiveDate,
    pub status: ContractStatus,
}

impl From<Contract> for ContractDto {
    fn from(c: Contract) -> Self {
        ContractDto {
            id: c.id,
            number: c.number,
            project_id: c.project_id,
            unit_id: c.unit_id,
            customer_id: c.customer_id,
            agent_id: c.agent_id,
            subscription_id: c.subscription_id,
            payment_method_id: c.payment_method_id,
            total_price: c.total_price.to_string(),
            signed_on: c.signed_on,
            status: c.status,
        }
    }
}

/// 签约: moves the unit to `contracted` and writes the payment plan. On a
/// payment method marked `non_standard` the contract waits for the approval
/// flow `non_standard_contract` (202) and is signed when it is approved.
#[utoipa::path(post, path = "/api/v1/sales/contracts", tag = "sales", request_body = NewContractRequest,
    responses((status = 201, body = ContractDto, description = "Signed"),
        (status = 202, body = crate::api::WaitingForApproval, description = "Waits for approval (non-standard payment method)"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewContractRequest>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let form = sales::NewContract {
        subscription_id: req.subscription_id,
        unit_id: req.unit_id,
        customer_id: req.customer_id,
        payment_method_id: req.payment_method_id,
        total_price: req.total_price,
        signed_on: req.signed_on,
    };
    Ok(match sales::sign_contract(&state.services, &actor, form).await? {
        sales::Signing::Signed(c) => (StatusCode::CREATED, Json(ContractDto::from(*c))).into_response(),
        sales::Signing::Waiting { approval_id } => {
            (StatusCode::ACCEPTED, Json(crate::api::WaitingForApproval { approval_id })).into_response()
        }
    })
}

#[utoipa::path(get, path = "/api/v1/sales/contracts/{id}", tag = "sales",
    responses((status = 200, body = ContractDto), (status = 404, body = Problem)))]
async fn get_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<ContractDto>, AppError> {
    Ok(Json(sales::get_contract(&state.services, &actor, &id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct InstalmentDto {
    pub seq: i32,
    /// `deposit`, `down_payment`, `instalment`, `mortgage`, `compensation`, `fee`.
    pub kind: TermKind,
    pub due_date: chrono::NaiveDate,
    pub amount: String,
    /// Audited money allocated to this instalment.
    pub paid: String,
    pub outstanding: String,
}

impl From<Instalment> for InstalmentDto {
    fn from(i: Instalment) -> Self {
        InstalmentDto {
            seq: i.seq,
            kind: i.kind,
            due_date: i.due_date,
            amount: i.amount.to_string(),
            paid: i.paid.to_string(),
            outstanding: i.outstanding.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PaymentPlan {
    pub items: Vec<InstalmentDto>,
    pub next_cursor: Option<String>,
}

/// The contract's payment plan with paid and outstanding amounts (audited basis).
#[utoipa::path(get, path = "/api/v1/sales/contracts/{id}/payment-plan", tag = "sales",
    responses((status = 200, body = PaymentPlan), (status = 404, body = Problem)))]
async fn payment_plan(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<Page<InstalmentDto>>, AppError> {
    let items = sales::payment_plan_of(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct UnitEventDto {
    /// Why: `held`, `released`, `reserved`, `reservation_expired`, `subscribed`,
    /// `contracted`, `cancelled`, `swapped_out`, `swapped_in`, `surveyed`, `compensated`.
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    /// The deal's number, the other unit of a swap or a cancellation's reason.
    pub reference: Option<String>,
    pub actor_name: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct UnitHistory {
    pub items: Vec<UnitEventDto>,
    pub next_cursor: Option<String>,
}

/// Every status change of a unit, oldest first.
#[utoipa::path(get, path = "/api/v1/units/{id}/history", tag = "inventory",
    responses((status = 200, body = UnitHistory), (status = 404, body = Problem)))]
async fn unit_history(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<Page<UnitEventDto>>, AppError> {
    let items = sales::unit_history(&state.services, &actor, &id).await?;
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| UnitEventDto {
                kind: e.kind,
                from_status: e.from_status,
                to_status: e.to_status,
                reference: e.reference,
                actor_name: e.actor_name,
                occurred_at: e.occurred_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewReservationRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub unit_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub customer_id: Option<String>,
    /// 1-30 days, default 3.
    #[schema(minimum = 1, maximum = 30)]
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReservationDto {
    pub id: String,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    /// `active`, `converted`, `expired`.
    pub status: ReservationStatus,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// 预留: keeps an available unit for one customer for some days; it expires by itself.
#[utoipa::path(post, path = "/api/v1/sales/reservations", tag = "sales", request_body = NewReservationRequest,
    responses((status = 201, body = ReservationDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reserve(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewReservationRequest>,
) -> Result<(StatusCode, Json<ReservationDto>), AppError> {
    let r = sales::reserve(
        &state.services,
        &actor,
        sales::NewReservation { unit_id: req.unit_id, customer_id: req.customer_id, days: req.days },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ReservationDto {
            id: r.id,
            unit_id: r.unit_id,
            customer_id: r.customer_id,
            agent_id: r.agent_id,
            status: r.status,
            expires_at: r.expires_at,
        }),
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_payment_methods, create_payment_method))
        .routes(routes!(get_payment_method, change_payment_method))
        .routes(routes!(retire_payment_method))
        .routes(routes!(list_subscriptions, subscribe))
        .routes(routes!(export_subscriptions))
        .routes(routes!(special_discount))
        .routes(routes!(price_limits))
        .routes(routes!(reserve))
        .routes(routes!(get_subscription))
        .routes(routes!(subscription_letter))
        .routes(routes!(list_contracts, sign_contract))
        .routes(routes!(export_contracts))
        .routes(routes!(get_contract))
        .routes(routes!(payment_plan))
        .routes(routes!(unit_history))
}

/// The conditions of a list of deals, once per kind of deal (their statuses differ).
macro_rules! deal_params {
    ($name:ident, $status:ty) => {
        /// Conditions of a list of deals; all optional, all holding together.
        #[derive(Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            pub project_id: Option<String>,
            pub building_id: Option<String>,
            pub status: Option<$status>,
            /// An agent sees their own deals whatever this says.
            pub agent_id: Option<String>,
            pub customer_id: Option<String>,
            /// The deal's date (subscribed on / signed on), both ends included.
            #[serde(default, deserialize_with = "crate::extract::optional_date")]
            pub from: Option<chrono::NaiveDate>,
            #[serde(default, deserialize_with = "crate::extract::optional_date")]
            pub to: Option<chrono::NaiveDate>,
            /// `next_cursor` of the previous page.
            pub cursor: Option<String>,
            /// Rows per page, 50 when absent.
            #[param(minimum = 1, maximum = 500)]
            pub limit: Option<u64>,
        }

        impl $name {
            fn query(self) -> deals::DealQuery<$status> {
                deals::DealQuery {
                    project_id: self.project_id,
                    building_id: self.building_id,
                    status: self.status,
                    agent_id: self.agent_id,
                    customer_id: self.customer_id,
                    from: self.from,
                    to: self.to,
                    cursor: self.cursor,
                    limit: self.limit,
                }
            }
        }
    };
}

deal_params!(SubscriptionParams, SubscriptionStatus);
deal_params!(ContractParams, ContractStatus);

/// 认购 the reader may see, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/sales/subscriptions", tag = "sales", params(SubscriptionParams),
    responses((status = 200, body = deals::DealPage<deals::Listed<Subscription>>), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<SubscriptionParams>,
) -> Result<Json<deals::DealPage<deals::Listed<Subscription>>>, AppError> {
    Ok(Json(deals::subscriptions(&state.services, &actor, &q.query()).await?))
}

/// 签约 the reader may see, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/sales/contracts", tag = "sales", params(ContractParams),
    responses((status = 200, body = deals::DealPage<deals::Listed<Contract>>), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn list_contracts(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ContractParams>,
) -> Result<Json<deals::DealPage<deals::Listed<Contract>>>, AppError> {
    Ok(Json(deals::contracts(&state.services, &actor, &q.query()).await?))
}

fn export_headers(lang: Lang, date_key: &str) -> Vec<String> {
    deals::EXPORT_COLUMNS
        .iter()
        .map(|c| match *c {
            "date" => t(lang, date_key),
            c => t(lang, &format!("deals.{c}")),
        })
        .collect()
}

/// Every subscription the conditions find (all pages), as xlsx.
#[utoipa::path(get, path = "/api/v1/sales/subscriptions/export", tag = "sales", params(SubscriptionParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn export_subscriptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<SubscriptionParams>,
) -> Result<axum::response::Response, AppError> {
    let headers = export_headers(lang, "deals.subscribed_on");
    let bytes = deals::subscriptions_xlsx(
        &state.services,
        &actor,
        &q.query(),
        &headers,
        |s| t(lang, &format!("deals.status.{}", s.name())),
        &t(lang, "deals.total"),
    )
    .await?;
    Ok(crate::api::xlsx_download(bytes, "subscriptions.xlsx"))
}

/// Every contract the conditions find (all pages), as xlsx.
#[utoipa::path(get, path = "/api/v1/sales/contracts/export", tag = "sales", params(ContractParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn export_contracts(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ContractParams>,
) -> Result<axum::response::Response, AppError> {
    let headers = export_headers(lang, "deals.signed_on");
    let bytes = deals::contracts_xlsx(
        &state.services,
        &actor,
        &q.query(),
        &headers,
        |s| t(lang, &format!("deals.status.{}", s.name())),
        &t(lang, "deals.total"),
    )
    .await?;
    Ok(crate::api::xlsx_download(bytes, "contracts.xlsx"))
}

/// A contract is signed from a subscription, or for a unit and a customer.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{requires_one_of, text_schema};
    requires_one_of(
        openapi,
        "NewContractRequest",
        vec![
            vec![("subscription_id", text_schema())],
            vec![("unit_id", text_schema()), ("customer_id", text_schema())],
        ],
    );
}
