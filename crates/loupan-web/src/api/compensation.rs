//! Area compensation of a building (面积补差, A3): surveyed areas per unit or
//! from a surveyor's spreadsheet, a project's settlement rules, and batches
//! computed, adjusted, submitted to approval and applied to the plans.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use loupan_domain::aftersales::{CompensationBatchStatus, FundRate, SettlementRule, rate_text};
use loupan_domain::ids::{BuildingId, ContractId, ProjectId, UnitId};
use loupan_domain::inventory::PropertyType;
use loupan_domain::{Area, Money};
use loupan_service::aftersales::compensation::{self, Batch, BatchSummary, Line, Skipped, Totals};
use loupan_service::aftersales::measured::{self, MeasuredImport};
use loupan_service::aftersales::settlement::{self, FundForm, Settlement, SettlementForm, TiersForm};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::inventory::{RowErrorDto, UnitDto};
use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct MeasuredAreasRequest {
    /// 实测建筑面积, m2.
    #[schema(value_type = crate::api::Positive, required = true, nullable = false)]
    pub measured_gross_area: Option<String>,
    /// 实测套内面积, m2 (not above the gross area).
    #[schema(value_type = crate::api::Positive, required = true, nullable = false)]
    pub measured_inner_area: Option<String>,
    /// The unit's version as read; a stale one is refused with 409.
    pub version: Option<i64>,
}

/// Enters or corrects a unit's surveyed areas (refused once its compensation is at approval or applied).
#[utoipa::path(put, path = "/api/v1/units/{id}/measured-areas", tag = "aftersales", request_body = MeasuredAreasRequest,
    responses((status = 200, body = UnitDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_measured_areas(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
    ApiJson(req): ApiJson<MeasuredAreasRequest>,
) -> Result<Json<UnitDto>, AppError> {
    let form = measured::MeasuredAreas {
        measured_gross_area: req.measured_gross_area,
        measured_inner_area: req.measured_inner_area,
        version: req.version,
    };
    Ok(Json(measured::set_measured_areas(&state.services, &actor, &id, form).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasuredImportParams {
    /// `validate` (check only) or `all` (default: write only if every row is valid).
    #[param(pattern = "^(validate|all)?$")]
    pub mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MeasuredImportDto {
    pub rows: usize,
    pub errors: Vec<RowErrorDto>,
    pub updated: usize,
    pub unchanged: usize,
    pub written: bool,
}

pub fn import_dto(r: MeasuredImport, lang: crate::i18n::Lang) -> MeasuredImportDto {
    MeasuredImportDto {
        rows: r.rows,
        errors: crate::api::inventory::row_errors(r.errors, lang),
        updated: r.updated,
        unchanged: r.unchanged,
        written: r.written,
    }
}

/// A building's surveyed areas from an xlsx (the body) with the columns 房号,
/// 实测建筑面积 and 实测套内面积: every row is checked first.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/measured-areas/import", tag = "aftersales",
    params(MeasuredImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = MeasuredImportDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn import_measured_areas(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<BuildingId>,
    ApiQuery(q): ApiQuery<MeasuredImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<MeasuredImportDto>, AppError> {
    let check_only = match q.mode.as_deref().unwrap_or("all") {
        "validate" => true,
        "all" | "" => false,
        _ => return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "mode", "unknown_mode")),
    };
    let report = measured::import_measured_areas(&state.services, &actor, &id, &body, check_only).await?;
    Ok(Json(import_dto(report, lang)))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeedTaxTiersDto {
    /// Gross area up to which the small-home rates apply, m2 (`"140.00"`).
    #[schema(value_type = Option<crate::api::Positive>)]
    pub threshold: Option<String>,
    /// Rates as fractions (`"0.015"` is 1.5 %), at most four places, at most 0.05.
    #[schema(pattern = "^0(\\.(0[0-4][0-9]{0,2}|050{0,2}|0))?$")]
    pub first_small: Option<String>,
    #[schema(pattern = "^0(\\.(0[0-4][0-9]{0,2}|050{0,2}|0))?$")]
    pub first_large: Option<String>,
    #[schema(pattern = "^0(\\.(0[0-4][0-9]{0,2}|050{0,2}|0))?$")]
    pub second_small: Option<String>,
    #[schema(pattern = "^0(\\.(0[0-4][0-9]{0,2}|050{0,2}|0))?$")]
    pub second_large: Option<String>,
    /// A third home or more.
    #[schema(pattern = "^0(\\.(0[0-4][0-9]{0,2}|050{0,2}|0))?$")]
    pub further: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct FundRateDto {
    pub property_type: PropertyType,
    /// `per_m2` (yuan per m2 of gross area) or `percent_of_price` (a fraction).
    #[schema(pattern = "^(per_m2|percent_of_price)$")]
    pub method: String,
    /// Yuan for `per_m2` (`"85.00"`, two places), a fraction of at most 0.1
    /// for `percent_of_price` (`"0.02"`, four places); above zero.
    #[schema(pattern = "^[0-9]{1,13}(\\.[0-9]{1,4})?$")]
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct SettlementDto {
    pub rule: SettlementRule,
    pub formula: Option<String>,
    /// Days after the notice (the approval) that a buyer's payment is due.
    pub due_days: u32,
    pub deed_tax: DeedTaxTiersDto,
    pub funds: Vec<FundRateDto>,
    /// The names a formula may use.
    pub formula_variables: Vec<&'static str>,
}

impl From<Settlement> for SettlementDto {
    fn from(s: Settlement) -> Self {
        let t = s.deed_tax;
        SettlementDto {
            rule: s.rule,
            formula: s.formula,
            due_days: s.due_days,
            deed_tax: DeedTaxTiersDto {
                threshold: Some(t.threshold.to_string()),
                first_small: Some(rate_text(t.first_small)),
                first_large: Some(rate_text(t.first_large)),
                second_small: Some(rate_text(t.second_small)),
                second_large: Some(rate_text(t.second_large)),
                further: Some(rate_text(t.further)),
            },
            funds: s
                .funds
                .into_iter()
                .map(|(property_type, rate)| match rate {
                    FundRate::PerM2 { per_m2 } => {
                        FundRateDto { property_type, method: "per_m2".into(), value: per_m2.to_string() }
                    }
                    FundRate::PercentOfPrice { ten_thousandths } => FundRateDto {
                        property_type,
                        method: "percent_of_price".into(),
                        value: rate_text(ten_thousandths),
                    },
                })
                .collect(),
            formula_variables: loupan_domain::aftersales::FORMULA_VARIABLES.to_vec(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct SettlementRequest {
    /// `2001`, `2014_gross` or `formula`; absent keeps the current rule.
    pub rule: Option<SettlementRule>,
    /// The project's own rule: an expression over `formula_variables` with
    /// `+ - * /`, `%`, comparisons, `min`, `max`, `abs` and `if(condition, then, else)`.
    #[schema(max_length = 2000)]
    pub formula: Option<String>,
    #[schema(minimum = 1, maximum = 365)]
    pub due_days: Option<i64>,
    pub deed_tax: Option<DeedTaxTiersDto>,
    /// When given, every rate (an empty list removes them).
    pub funds: Option<Vec<FundRateDto>>,
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/settlement", tag = "aftersales",
    responses((status = 200, body = SettlementDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_settlement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<SettlementDto>, AppError> {
    Ok(Json(settlement::settlement(&state.services, &actor, &id).await?.into()))
}

/// Sets the project's settlement rules; a formula naming an unknown variable is refused with that name.
#[utoipa::path(put, path = "/api/v1/projects/{id}/settlement", tag = "aftersales", request_body = SettlementRequest,
    responses((status = 200, body = SettlementDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn put_settlement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<SettlementRequest>,
) -> Result<Json<SettlementDto>, AppError> {
    let form = SettlementForm {
        rule: req.rule.map(|r| r.name().to_owned()),
        formula: req.formula,
        due_days: req.due_days,
        deed_tax: req.deed_tax.map(|t| TiersForm {
            threshold: t.threshold,
            first_small: t.first_small,
            first_large: t.first_large,
            second_small: t.second_small,
            second_large: t.second_large,
            further: t.further,
        }),
        funds: req.funds.map(|f| {
            f.into_iter()
                .map(|f| FundForm {
                    property_type: f.property_type.name().to_owned(),
                    method: f.method,
                    value: f.value,
                })
                .collect()
        }),
    };
    Ok(Json(settlement::set_settlement(&state.services, &actor, &id, form).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CompensationDto {
    pub id: String,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub contract_id: ContractId,
    pub contract_number: String,
    /// Forecast (预测) areas the contract priced, and the surveyed (实测) ones, m2.
    pub contract_gross_area: Area,
    pub contract_inner_area: Area,
    pub measured_gross_area: Area,
    pub measured_inner_area: Area,
    pub contract_total: Money,
    pub unit_price: Money,
    /// (measured − contracted) ÷ contracted, four decimals.
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
    /// What the rule gives.
    pub computed_amount: Money,
    /// What will be applied: positive the buyer pays, negative a refund.
    pub amount: Money,
    pub adjustment_reason: Option<String>,
    pub adjusted_by: Option<String>,
    pub rescission_right: bool,
    pub homes_owned_before: i32,
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_before: Money,
    pub fund_after: Money,
    pub applied: bool,
}

impl From<Line> for CompensationDto {
    fn from(l: Line) -> Self {
        CompensationDto {
            id: l.id,
            unit_id: l.unit_id,
            unit_number: l.unit_number,
            contract_id: l.contract_id,
            contract_number: l.contract_number,
            contract_gross_area: l.contract_gross_area,
            contract_inner_area: l.contract_inner_area,
            measured_gross_area: l.measured_gross_area,
            measured_inner_area: l.measured_inner_area,
            contract_total: l.contract_total,
            unit_price: l.unit_price,
            error_ratio: l.error_ratio,
            inner_error_ratio: l.inner_error_ratio,
            computed_amount: l.computed_amount,
            amount: l.amount,
            adjustment_reason: l.adjustment_reason,
            adjusted_by: l.adjusted_by,
            rescission_right: l.rescission_right,
            homes_owned_before: l.homes_owned_before,
            deed_tax_before: l.deed_tax_before,
            deed_tax_after: l.deed_tax_after,
            fund_before: l.fund_before,
            fund_after: l.fund_after,
            applied: l.applied,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TotalsDto {
    pub units: usize,
    pub payable: Money,
    pub refundable: Money,
    pub deed_tax_difference: Money,
    pub fund_difference: Money,
    pub rescission_rights: usize,
    pub adjusted: usize,
}

impl From<Totals> for TotalsDto {
    fn from(t: Totals) -> Self {
        TotalsDto {
            units: t.units,
            payable: t.payable,
            refundable: t.refundable,
            deed_tax_difference: t.deed_tax_difference,
            fund_difference: t.fund_difference,
            rescission_rights: t.rescission_rights,
            adjusted: t.adjusted,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SkippedDto {
    pub unit_id: UnitId,
    pub unit_number: String,
    /// `no_contract`, `compensated`, or the area the rule could not use.
    pub reason: String,
}

impl From<Skipped> for SkippedDto {
    fn from(s: Skipped) -> Self {
        SkippedDto { unit_id: s.unit_id, unit_number: s.unit_number, reason: s.reason.to_owned() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchDto {
    pub id: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub status: CompensationBatchStatus,
    pub rule: SettlementRule,
    pub formula: Option<String>,
    pub due_days: i32,
    /// Days a buyer with the right may rescind after the notice.
    pub rescission_days: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub approval_id: Option<String>,
    pub totals: TotalsDto,
    pub lines: Vec<CompensationDto>,
    /// Units of the building left out when it was computed, and why.
    pub skipped: Vec<SkippedDto>,
}

impl From<Batch> for BatchDto {
    fn from(b: Batch) -> Self {
        BatchDto {
            id: b.id,
            project_id: b.project_id,
            building_id: b.building_id,
            building_name: b.building_name,
            status: b.status,
            rule: b.rule,
            formula: b.formula,
            due_days: b.due_days,
            rescission_days: b.rescission_days,
            created_by: b.created_by,
            created_at: b.created_at,
            applied_by: b.applied_by,
            applied_at: b.applied_at,
            version: b.version,
            approval_id: b.approval_id,
            totals: b.totals.into(),
            lines: b.lines.into_iter().map(Into::into).collect(),
            skipped: b.skipped.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchSummaryDto {
    pub id: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub status: CompensationBatchStatus,
    pub rule: SettlementRule,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    pub totals: TotalsDto,
}

impl From<BatchSummary> for BatchSummaryDto {
    fn from(b: BatchSummary) -> Self {
        BatchSummaryDto {
            id: b.id,
            project_id: b.project_id,
            building_id: b.building_id,
            building_name: b.building_name,
            status: b.status,
            rule: b.rule,
            created_by: b.created_by,
            created_at: b.created_at,
            applied_at: b.applied_at,
            totals: b.totals.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchList {
    pub items: Vec<BatchSummaryDto>,
    pub next_cursor: Option<String>,
}

/// Computes a building's batch: one line per active contract of a surveyed unit, by the project's rule.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/compensation-batches", tag = "aftersales",
    responses((status = 201, body = BatchDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<(StatusCode, Json<BatchDto>), AppError> {
    Ok((StatusCode::CREATED, Json(compensation::create_batch(&state.services, &actor, &id).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/compensation-batches", tag = "aftersales",
    responses((status = 200, body = BatchList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_batches(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Page<BatchSummaryDto>>, AppError> {
    let items = compensation::list_batches(&state.services, &actor, Some(&id)).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/compensation-batches/{id}", tag = "aftersales",
    responses((status = 200, body = BatchDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BatchDto>, AppError> {
    Ok(Json(compensation::get_batch(&state.services, &actor, &id).await?.into()))
}

/// The batch as xlsx, one row per contract (areas, errors, amounts computed
/// and applied, deed tax and fund before and after), in the caller's language.
#[utoipa::path(get, path = "/api/v1/compensation-batches/{id}/export", tag = "aftersales",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, AppError> {
    let batch = compensation::get_batch(&state.services, &actor, &id).await?;
    let bytes = compensation::batch_xlsx(&batch, &|key| crate::i18n::t(lang, key))?;
    Ok(crate::api::xlsx_download(bytes, "area-compensation.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParams {
    /// The batch's version as read; a stale one is refused with 409.
    pub version: Option<i64>,
}

/// Computes a draft again from the current areas and rules (adjustments are dropped).
#[utoipa::path(post, path = "/api/v1/compensation-batches/{id}/recompute", tag = "aftersales", params(VersionParams),
    responses((status = 200, body = BatchDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn recompute(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionParams>,
) -> Result<Json<BatchDto>, AppError> {
    Ok(Json(compensation::recompute(&state.services, &actor, &id, q.version).await?.into()))
}

/// Submits a draft to approval (`area_compensation`); the plans change when it is approved.
#[utoipa::path(post, path = "/api/v1/compensation-batches/{id}/submit", tag = "aftersales", params(VersionParams),
    responses((status = 200, body = BatchDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn submit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionParams>,
) -> Result<Json<BatchDto>, AppError> {
    Ok(Json(compensation::submit_batch(&state.services, &actor, &id, q.version).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct LineAdjustmentRequest {
    /// The amount to apply, yuan (negative: a refund).
    #[schema(pattern = "^-?[0-9]{1,13}(\\.[0-9]{1,2})?$")]
    pub amount: Option<String>,
    /// Why the amount differs from the computed one (required then).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Homes the buyer's family owned before, for the deed tax (0: a first home).
    #[schema(minimum = 0, maximum = 100)]
    pub homes_owned_before: Option<i64>,
    /// The batch's version as read.
    pub version: Option<i64>,
}

/// Adjusts one line of a draft: the amount with a reason, or the buyer's homes owned before.
#[utoipa::path(patch, path = "/api/v1/compensation-batches/{id}/lines/{line_id}", tag = "aftersales",
    request_body = LineAdjustmentRequest,
    params(("id" = String, Path), ("line_id" = String, Path)),
    responses((status = 200, body = BatchDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn adjust_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, line_id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<LineAdjustmentRequest>,
) -> Result<Json<BatchDto>, AppError> {
    let form = compensation::LineAdjustment {
        amount: req.amount,
        reason: req.reason,
        homes_owned_before: req.homes_owned_before,
        version: req.version,
    };
    Ok(Json(compensation::adjust_line(&state.services, &actor, &id, &line_id, form).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct CompensationList {
    pub items: Vec<CompensationDto>,
    pub next_cursor: Option<String>,
}

/// A unit's area compensations (computed, adjusted, applied).
#[utoipa::path(get, path = "/api/v1/units/{id}/compensations", tag = "aftersales",
    responses((status = 200, body = CompensationList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unit_compensations(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<Page<CompensationDto>>, AppError> {
    let items = compensation::compensations_of_unit(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_measured_areas))
        .routes(routes!(import_measured_areas))
        .routes(routes!(get_settlement, put_settlement))
        .routes(routes!(create_batch))
        .routes(routes!(list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(export_batch))
        .routes(routes!(recompute))
        .routes(routes!(submit))
        .routes(routes!(adjust_line))
        .routes(routes!(unit_compensations))
}
