//! After-sales calculators (API.md "Area compensation and fees"): the
//! statutory area compensation of one unit and the default deed tax, for
//! integrators and for checking a figure. Amounts are decimal strings.

use axum::Json;
use axum::extract::State;
use loupan_service::aftersales;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct AreaCompensationRequest {
    /// `2001` (《商品房销售管理办法》 art. 20, one area basis) or `2014_gross`
    /// (model contract GF-2014-0171, priced per m2 of gross area).
    #[schema(required = true, nullable = false, pattern = "^(2001|2014_gross)$")]
    pub rule: Option<String>,
    /// The contract's total price, yuan.
    #[schema(value_type = crate::api::Positive, required = true, nullable = false)]
    pub contract_total: Option<String>,
    /// `2001`: contracted area of the basis the contract priced on, m2.
    pub contract_area: Option<String>,
    /// `2001`: measured (registered) area of the same basis, m2.
    pub measured_area: Option<String>,
    /// `2014_gross`: contracted gross area (建筑面积), m2.
    pub contract_gross_area: Option<String>,
    pub measured_gross_area: Option<String>,
    /// `2014_gross`: contracted inner area (套内面积), m2.
    pub contract_inner_area: Option<String>,
    pub measured_inner_area: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AreaCompensationDto {
    pub rule: String,
    /// Positive: the buyer pays; negative: the developer refunds (yuan).
    pub amount: String,
    /// The error is beyond 3 % (either area under `2014_gross`): the buyer may rescind.
    pub rescission_right: bool,
    /// Days the buyer has to rescind after the notice (30 under `2001`, 15 under `2014_gross`).
    pub rescission_days: u32,
    /// Contract total ÷ contracted area, to the fen (shown only; the amount uses the total).
    pub unit_price: String,
    /// (measured − contracted) ÷ contracted of the priced basis, four decimals (`"-0.0500"`).
    pub error_ratio: String,
    /// The same for the inner area (`2014_gross` only).
    pub inner_error_ratio: Option<String>,
}

/// 面积补差 of one unit by the statutory default (DOMAIN.md).
#[utoipa::path(post, path = "/api/v1/aftersales/area-compensation/calculate", tag = "aftersales",
    request_body = AreaCompensationRequest,
    responses((status = 200, body = AreaCompensationDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn area_compensation(
    State(_state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<AreaCompensationRequest>,
) -> Result<Json<AreaCompensationDto>, AppError> {
    let input = aftersales::CompensationInput {
        rule: req.rule,
        contract_total: req.contract_total,
        contract_area: req.contract_area,
        measured_area: req.measured_area,
        contract_gross_area: req.contract_gross_area,
        measured_gross_area: req.measured_gross_area,
        contract_inner_area: req.contract_inner_area,
        measured_inner_area: req.measured_inner_area,
    };
    let c = aftersales::area_compensation(&actor, &input)?;
    Ok(Json(AreaCompensationDto {
        rule: c.rule.to_owned(),
        amount: c.amount.to_string(),
        rescission_right: c.rescission_right,
        rescission_days: c.rescission_days,
        unit_price: c.unit_price.to_string(),
        error_ratio: c.error_ratio,
        inner_error_ratio: c.inner_error_ratio,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct DeedTaxRequest {
    /// The settled price, yuan.
    #[schema(value_type = crate::api::Positive, required = true, nullable = false)]
    pub price: Option<String>,
    /// Gross area (建筑面积), m2.
    #[schema(value_type = crate::api::Positive, required = true, nullable = false)]
    pub gross_area: Option<String>,
    /// Homes the buyer's family owned before: 0 for a first home, 1 for a second.
    #[schema(required = true, nullable = false, minimum = 0, maximum = 100)]
    pub homes_owned_before: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct DeedTaxDto {
    /// The rate as a decimal (`"0.015"` for 1.5 %).
    pub rate: String,
    /// The tax, yuan.
    pub amount: String,
}

/// 契税 by the default tiers (announcement 2024 No. 16).
#[utoipa::path(post, path = "/api/v1/aftersales/deed-tax/calculate", tag = "aftersales",
    request_body = DeedTaxRequest,
    responses((status = 200, body = DeedTaxDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn deed_tax(
    State(_state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<DeedTaxRequest>,
) -> Result<Json<DeedTaxDto>, AppError> {
    let t = aftersales::deed_tax(&actor, &req.price, &req.gross_area, req.homes_owned_before)?;
    Ok(Json(DeedTaxDto { rate: t.rate, amount: t.amount.to_string() }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(area_compensation)).routes(routes!(deed_tax))
}

/// Each rule reads its own areas.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{Positive, one_name, requires_one_of};
    use utoipa::PartialSchema;
    requires_one_of(
        openapi,
        "AreaCompensationRequest",
        vec![
            vec![
                ("rule", one_name("2001")),
                ("contract_area", Positive::schema()),
                ("measured_area", Positive::schema()),
            ],
            vec![
                ("rule", one_name("2014_gross")),
                ("contract_gross_area", Positive::schema()),
                ("measured_gross_area", Positive::schema()),
                ("contract_inner_area", Positive::schema()),
                ("measured_inner_area", Positive::schema()),
            ],
        ],
    );
}
