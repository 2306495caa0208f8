//! Finance reports through the API: reconciliation (核帐), the contract ledger
//! (合同台帐), arrears (欠款), the 财控图 of a building, and xlsx exports of each
//! (and of the ageing report).

use loupan_domain::ids::{BuildingId, ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_service::finance::reports::{self as reports, Basis};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::api::inventory::UnitDto;
use crate::extract::{ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

fn date(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", field, "invalid_date")),
    }
}

fn required_date(field: &'static str, text: Option<&str>) -> Result<NaiveDate, AppError> {
    date(field, text)?
        .ok_or_else(|| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", field, "required"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationParams {
    /// First day of the period, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day of the period, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub to: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptLineDto {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: String,
    pub received_on: NaiveDate,
    pub channel: ReceiptChannel,
    pub status: ReceiptStatus,
    pub recorded_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct DifferenceDto {
    /// `sales_cashier` or `cashier_finance`.
    pub between: String,
    /// `in_transit` or `arrived`: the receipts one department counts and the next not yet.
    pub status: ReceiptStatus,
    pub amount: String,
    pub receipts: Vec<ReceiptLineDto>,
}

#[derive(Serialize, ToSchema)]
pub struct RefundLineDto {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: String,
    /// None while still owed.
    pub paid_on: Option<NaiveDate>,
    pub status: RefundStatus,
}

#[derive(Serialize, ToSchema)]
pub struct RefundDifferenceDto {
    /// `sales_cashier` (owed, not paid out) or `cashier_finance` (paid out, not audited).
    pub between: String,
    /// `due` or `paid`.
    pub status: RefundStatus,
    pub amount: String,
    pub refunds: Vec<RefundLineDto>,
}

/// Each department's total of the money received in the period, and where they differ.
#[derive(Serialize, ToSchema)]
pub struct ReconciliationDto {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub project_id: Option<ProjectId>,
    pub signed_contracts: u64,
    pub signed_amount: String,
    /// `sales` (every receipt recorded), `cashier` (arrived at the bank), `finance` (audited).
    pub totals: BTreeMap<String, String>,
    /// Channel → basis → amount.
    pub by_channel: BTreeMap<String, BTreeMap<String, String>>,
    pub differences: Vec<DifferenceDto>,
    /// Refunded in the period per basis: `sales` (owed from the cancellation on),
    /// `cashier` (paid out), `finance` (audited).
    pub refunds: BTreeMap<String, String>,
    /// Received less refunded, per basis.
    pub net: BTreeMap<String, String>,
    pub refund_differences: Vec<RefundDifferenceDto>,
    pub source: crate::api::DataSourceDto,
}

fn as_text(map: BTreeMap<&'static str, loupan_domain::Money>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, v)| (k.to_owned(), v.to_string())).collect()
}

impl From<reports::Reconciliation> for ReconciliationDto {
    fn from(r: reports::Reconciliation) -> Self {
        ReconciliationDto {
            from: r.from,
            to: r.to,
            project_id: r.project_id,
            signed_contracts: r.signed_contracts as u64,
            signed_amount: r.signed_amount.to_string(),
            totals: as_text(r.totals),
            by_channel: r.by_channel.into_iter().map(|(k, v)| (k, as_text(v))).collect(),
            differences: r
                .differences
                .into_iter()
                .map(|d| DifferenceDto {
                    between: d.between.to_owned(),
                    status: d.status,
                    amount: d.amount.to_string(),
                    receipts: d
                        .receipts
                        .into_iter()
                        .map(|l| ReceiptLineDto {
                            id: l.id,
                            project_id: l.project_id,
                            contract_id: l.contract_id,
                            contract_number: l.contract_number,
                            subscription_id: l.subscription_id,
                            amount: l.amount.to_string(),
                            received_on: l.received_on,
                            channel: l.channel,
                            status: l.status,
                            recorded_by: l.recorded_by,
                        })
                        .collect(),
                })
                .collect(),
            refunds: as_text(r.refunds),
            net: as_text(r.net),
            source: r.source,
            refund_differences: r
                .refund_differences
                .into_iter()
                .map(|d| RefundDifferenceDto {
                    between: d.between.to_owned(),
                    status: d.status,
                    amount: d.amount.to_string(),
                    refunds: d
                        .refunds
                        .into_iter()
                        .map(|l| RefundLineDto {
                            id: l.id,
                            project_id: l.project_id,
                            contract_id: l.contract_id,
                            contract_number: l.contract_number,
                            subscription_id: l.subscription_id,
                            amount: l.amount.to_string(),
                            paid_on: l.paid_on,
                            status: l.status,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The period a reconciliation covers: the given dates, or the current month to date.
pub fn period(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), AppError> {
    use chrono::Datelike;
    let to = date("to", to)?.unwrap_or(today);
    let from = date("from", from)?.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
    Ok((from, to))
}

/// 核帐 (F5): money received in the period on the sales, cashier and finance
/// bases, and the in-transit and arrived receipts that make the differences.
#[utoipa::path(get, path = "/api/v1/finance/reports/reconciliation", tag = "finance", params(ReconciliationParams),
    responses((status = 200, body = ReconciliationDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn reconciliation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReconciliationParams>,
) -> Result<Json<ReconciliationDto>, AppError> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), state.services.clock.today())?;
    let r =
        reports::reconciliation(&state.services, &actor, ProjectId::given(q.project_id.as_deref()).as_ref(), from, to)
            .await?;
    Ok(Json(r.into()))
}

/// The reconciliation as xlsx.
#[utoipa::path(get, path = "/api/v1/finance/reports/reconciliation/export", tag = "finance", params(ReconciliationParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn reconciliation_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ReconciliationParams>,
) -> Result<Response, AppError> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), state.services.clock.today())?;
    let r =
        reports::reconciliation(&state.services, &actor, ProjectId::given(q.project_id.as_deref()).as_ref(), from, to)
            .await?;
    Ok(crate::api::xlsx_download(
        reports::reconciliation_xlsx(&r, &|key| crate::i18n::t(lang, key))?,
        "reconciliation.xlsx",
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerParams {
    /// `YYYY-MM-DD`; today when omitted.
    #[param(format = Date)]
    pub as_of: Option<String>,
    pub project_id: Option<String>,
    /// `finance` (audited money, the default), `cashier` (arrived) or `sales` (recorded).
    #[param(pattern = "^(finance|cashier|sales)?$")]
    pub basis: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerLineDto {
    pub contract_id: ContractId,
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// Masked, e.g. `138****8000`.
    pub customer_phone: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub signed_on: NaiveDate,
    pub total: String,
    pub plan: String,
    pub paid: String,
    pub unpaid: String,
    pub due: String,
    pub overdue: String,
    pub overdue_since: Option<NaiveDate>,
    pub days_overdue: i64,
}

impl From<reports::LedgerLine> for LedgerLineDto {
    fn from(l: reports::LedgerLine) -> Self {
        LedgerLineDto {
            contract_id: l.contract_id,
            number: l.number,
            project_id: l.project_id,
            unit_id: l.unit_id,
            unit_number: l.unit_number,
            customer_id: l.customer_id,
            customer_name: l.customer_name,
            customer_phone: l.customer_phone,
            agent_id: l.agent_id,
            agent_name: l.agent_name,
            signed_on: l.signed_on,
            total: l.total.to_string(),
            plan: l.plan.to_string(),
            paid: l.paid.to_string(),
            unpaid: l.unpaid.to_string(),
            due: l.due.to_string(),
            overdue: l.overdue.to_string(),
            overdue_since: l.overdue_since,
            days_overdue: l.days_overdue,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerTotalsDto {
    pub contracts: u64,
    pub total: String,
    pub plan: String,
    pub paid: String,
    pub unpaid: String,
    pub due: String,
    pub overdue: String,
}

/// 合同台帐 as of a date: per contract total, plan, paid, unpaid, due and overdue.
#[derive(Serialize, ToSchema)]
pub struct LedgerDto {
    pub as_of: NaiveDate,
    pub basis: String,
    pub project_id: Option<ProjectId>,
    pub items: Vec<LedgerLineDto>,
    pub totals: LedgerTotalsDto,
    pub source: crate::api::DataSourceDto,
}

pub fn ledger_args(q: &LedgerParams, today: NaiveDate) -> Result<(NaiveDate, Basis), AppError> {
    let as_of = date("as_of", q.as_of.as_deref())?.unwrap_or(today);
    let basis = match q.basis.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => Basis::Finance,
        Some(b) => Basis::parse(b).ok_or_else(|| {
            AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "basis", "unknown_basis")
        })?,
    };
    Ok((as_of, basis))
}

/// 合同台帐 (F6) of the active contracts, as of any date, on any department's basis.
#[utoipa::path(get, path = "/api/v1/finance/reports/ledger", tag = "finance", params(LedgerParams),
    responses((status = 200, body = LedgerDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn ledger(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> Result<Json<LedgerDto>, AppError> {
    let (as_of, basis) = ledger_args(&q, state.services.clock.today())?;
    let l = reports::ledger(&state.services, &actor, ProjectId::given(q.project_id.as_deref()).as_ref(), as_of, basis)
        .await?;
    let t = l.totals;
    Ok(Json(LedgerDto {
        as_of: l.as_of,
        basis: l.basis.name().to_owned(),
        project_id: l.project_id,
        items: l.lines.into_iter().map(LedgerLineDto::from).collect(),
        totals: LedgerTotalsDto {
            contracts: t.contracts as u64,
            total: t.total.to_string(),
            plan: t.plan.to_string(),
            paid: t.paid.to_string(),
            unpaid: t.unpaid.to_string(),
            due: t.due.to_string(),
            overdue: t.overdue.to_string(),
        },
        source: l.source,
    }))
}

/// The contract ledger as xlsx.
#[utoipa::path(get, path = "/api/v1/finance/reports/ledger/export", tag = "finance", params(LedgerParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn ledger_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> Result<Response, AppError> {
    let (as_of, basis) = ledger_args(&q, state.services.clock.today())?;
    let l = reports::ledger(&state.services, &actor, ProjectId::given(q.project_id.as_deref()).as_ref(), as_of, basis)
        .await?;
    Ok(crate::api::xlsx_download(reports::ledger_xlsx(&l, &|key| crate::i18n::t(lang, key))?, "ledger.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArrearsParams {
    /// `YYYY-MM-DD`; today when omitted.
    #[param(format = Date)]
    pub as_of: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ArrearsLineDto {
    #[serde(flatten)]
    pub contract: LedgerLineDto,
    /// The ageing bucket of the oldest overdue instalment.
    pub bucket: String,
}

#[derive(Serialize, ToSchema)]
pub struct AgentArrearsDto {
    pub project_id: ProjectId,
    pub agent_id: UserId,
    pub agent_name: String,
    pub contracts: u64,
    pub overdue: String,
}

/// Contracts with money due and unpaid (audited basis), most overdue first, and totals per agent.
#[derive(Serialize, ToSchema)]
pub struct ArrearsDto {
    pub as_of: NaiveDate,
    pub project_id: Option<ProjectId>,
    pub items: Vec<ArrearsLineDto>,
    pub by_agent: Vec<AgentArrearsDto>,
    pub total: String,
    pub source: crate::api::DataSourceDto,
}

fn as_of(text: Option<&str>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    Ok(date("as_of", text)?.unwrap_or(today))
}

/// 欠款 (F7): the arrears list overdue notices are sent from, by agent and project.
#[utoipa::path(get, path = "/api/v1/finance/reports/arrears", tag = "finance", params(ArrearsParams),
    responses((status = 200, body = ArrearsDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn arrears(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ArrearsParams>,
) -> Result<Json<ArrearsDto>, AppError> {
    let a = reports::arrears(
        &state.services,
        &actor,
        ProjectId::given(q.project_id.as_deref()).as_ref(),
        as_of(q.as_of.as_deref(), state.services.clock.today())?,
    )
    .await?;
    Ok(Json(ArrearsDto {
        as_of: a.as_of,
        project_id: a.project_id,
        items: a
            .lines
            .into_iter()
            .map(|l| ArrearsLineDto { contract: l.ledger.into(), bucket: l.bucket.to_owned() })
            .collect(),
        by_agent: a
            .by_agent
            .into_iter()
            .map(|g| AgentArrearsDto {
                project_id: g.project_id,
                agent_id: g.agent_id,
                agent_name: g.agent_name,
                contracts: g.contracts as u64,
                overdue: g.overdue.to_string(),
            })
            .collect(),
        total: a.total.to_string(),
        source: a.source,
    }))
}

/// The arrears list as xlsx.
#[utoipa::path(get, path = "/api/v1/finance/reports/arrears/export", tag = "finance", params(ArrearsParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn arrears_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ArrearsParams>,
) -> Result<Response, AppError> {
    let a = reports::arrears(
        &state.services,
        &actor,
        ProjectId::given(q.project_id.as_deref()).as_ref(),
        as_of(q.as_of.as_deref(), state.services.clock.today())?,
    )
    .await?;
    Ok(crate::api::xlsx_download(reports::arrears_xlsx(&a, &|key| crate::i18n::t(lang, key))?, "arrears.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgeingExportParams {
    /// `YYYY-MM-DD`.
    #[param(format = Date, required = true, nullable = false)]
    pub as_of: Option<String>,
    pub project_id: Option<String>,
}

/// The ageing report as xlsx.
#[utoipa::path(get, path = "/api/v1/finance/reports/ageing/export", tag = "finance", params(AgeingExportParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn ageing_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<AgeingExportParams>,
) -> Result<Response, AppError> {
    let a = loupan_service::finance::ageing(
        &state.services,
        &actor,
        required_date("as_of", q.as_of.as_deref())?,
        ProjectId::given(q.project_id.as_deref()).as_ref(),
        None,
    )
    .await?;
    Ok(crate::api::xlsx_download(reports::ageing_xlsx(&a, &|key| crate::i18n::t(lang, key))?, "ageing.xlsx"))
}

#[derive(Serialize, ToSchema)]
pub struct UnitMoneyDto {
    pub unit: UnitDto,
    /// `unsold`, `subscribed`, `not_due`, `partly_paid`, `paid_in_full`, `mortgage_pending`, `overdue`.
    pub state: String,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub plan: Option<String>,
    pub paid: Option<String>,
}

/// 财控图: a building's units coloured by the money state of their deal.
#[derive(Serialize, ToSchema)]
pub struct FinanceChartDto {
    pub building_id: BuildingId,
    pub building_name: String,
    pub items: Vec<UnitMoneyDto>,
    /// Units per state, every state present.
    pub counts: BTreeMap<String, u64>,
}

/// 财控图 (F4) of a building, on the audited basis, today.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/finance-chart", tag = "finance",
    responses((status = 200, body = FinanceChartDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn finance_chart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<Json<FinanceChartDto>, AppError> {
    let today = state.services.clock.today();
    let (building, tiles) = reports::finance_chart(&state.services, &actor, &id, today).await?;
    let mut counts: BTreeMap<String, u64> = reports::MoneyState::ALL.iter().map(|s| (s.name().to_owned(), 0)).collect();
    for t in &tiles {
        *counts.entry(t.state.name().to_owned()).or_default() += 1;
    }
    Ok(Json(FinanceChartDto {
        building_id: building.id,
        building_name: building.name,
        items: tiles
            .into_iter()
            .map(|t| UnitMoneyDto {
                state: t.state.name().to_owned(),
                contract_id: t.contract_id,
                contract_number: t.contract_number,
                plan: t.plan.map(|m| m.to_string()),
                paid: t.paid.map(|m| m.to_string()),
                unit: t.unit.into(),
            })
            .collect(),
        counts,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reconciliation))
        .routes(routes!(reconciliation_export))
        .routes(routes!(ledger))
        .routes(routes!(ledger_export))
        .routes(routes!(arrears))
        .routes(routes!(arrears_export))
        .routes(routes!(ageing_export))
        .routes(routes!(finance_chart))
}
