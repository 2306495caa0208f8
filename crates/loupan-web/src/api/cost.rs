//! Project cost (API.md "Project cost"): the cost item tree and its group
//! template, target versions, contract planning, suppliers, cost contracts,
//! changes and visas, expected cost, and the dynamic cost with its
//! drill-down. The service's views and forms are the API's bodies as they
//! are; amounts are decimal strings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use loupan_domain::cost::Bucket;
use loupan_domain::ids::ProjectId;
use loupan_domain::inventory::FileOwner;
use loupan_service::cost::{
    self, ContractImpact, CostContract, CostItem, CostItemEdit, DynamicCost, ItemLedger, NewCostContract, NewCostItem,
    NewExpectedCost, NewPlanLine, NewSupplier, NewTargetVersion, NewVariation, PlanLine, Posting, Supplier,
    TargetVersion, TargetVersionDetail, TrialCalculation, TrialRequest, Variation, VariationConfirmation,
    VersionComparison,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::api::inventory::{AttachmentParams, FileDto, FileList, attach, attachments_of};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

type Created<T> = Result<(StatusCode, Json<T>), AppError>;

/// The group template every project's tree is copied from.
#[utoipa::path(get, path = "/api/v1/cost/template/items", tag = "cost",
    responses((status = 200, body = Vec<CostItem>), (status = 403, body = Problem)))]
async fn template(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Vec<CostItem>>, AppError> {
    Ok(Json(cost::template(&state.services, &actor).await?))
}

/// Adds an item to the group template.
#[utoipa::path(post, path = "/api/v1/cost/template/items", tag = "cost", request_body = NewCostItem,
    responses((status = 201, body = CostItem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_template_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<NewCostItem>,
) -> Created<CostItem> {
    Ok((StatusCode::CREATED, Json(cost::add_item(&state.services, &actor, None, form).await?)))
}

/// A project's cost item tree (成本科目), by code.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/items", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CostItem>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn items(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<CostItem>>, AppError> {
    Ok(Json(cost::items(&state.services, &actor, &id).await?))
}

/// Adds an item to a project's tree; a code extends its parent's (`02.01` under `02`).
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/items", tag = "cost", params(("id" = String, Path)),
    request_body = NewCostItem,
    responses((status = 201, body = CostItem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn add_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewCostItem>,
) -> Created<CostItem> {
    Ok((StatusCode::CREATED, Json(cost::add_item(&state.services, &actor, Some(&id), form).await?)))
}

/// Copies the group template into a project that has no tree yet (409 when it has one).
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/items/from-template", tag = "cost",
    params(("id" = String, Path)),
    responses((status = 201, body = Vec<CostItem>), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn copy_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Created<Vec<CostItem>> {
    Ok((StatusCode::CREATED, Json(cost::copy_template(&state.services, &actor, &id).await?)))
}

/// Renames an item or changes its unit, responsible department or control mode.
#[utoipa::path(patch, path = "/api/v1/cost/items/{id}", tag = "cost", params(("id" = String, Path)),
    request_body = CostItemEdit,
    responses((status = 200, body = CostItem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn edit_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(form): ApiJson<CostItemEdit>,
) -> Result<Json<CostItem>, AppError> {
    Ok(Json(cost::edit_item(&state.services, &actor, &id, form).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerParams {
    /// The date the figures are as of (today when absent).
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    pub as_of: Option<NaiveDate>,
    /// Only the entries of one column.
    pub bucket: Option<Bucket>,
}

/// An item's figures and the ledger entries behind them (its own and those below it).
#[utoipa::path(get, path = "/api/v1/cost/items/{id}/postings", tag = "cost",
    params(("id" = String, Path), LedgerParams),
    responses((status = 200, body = ItemLedger), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn item_postings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LedgerParams>,
) -> Result<Json<ItemLedger>, AppError> {
    Ok(Json(cost::item_ledger(&state.services, &actor, &id, q.as_of, q.bucket).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// `YYYY-MM-DD`; today when absent. Postings dated later are left out.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    pub as_of: Option<NaiveDate>,
}

/// 动态成本: per cost item, parents rolled up, at a date.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/dynamic-cost", tag = "cost",
    params(("id" = String, Path), AsOfParams),
    responses((status = 200, body = DynamicCost), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn dynamic_cost(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<AsOfParams>,
) -> Result<Json<DynamicCost>, AppError> {
    Ok(Json(cost::dynamic_cost(&state.services, &actor, &id, q.as_of).await?))
}

/// The dynamic cost at a date as an xlsx table, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/dynamic-cost/export", tag = "cost",
    params(("id" = String, Path), AsOfParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_dynamic_cost(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<AsOfParams>,
) -> Result<axum::response::Response, AppError> {
    Ok(crate::api::xlsx_download(dynamic_cost_xlsx(&state, &actor, lang, &id, q.as_of).await?, "dynamic-cost.xlsx"))
}

/// The dynamic cost spreadsheet with headers in `lang` (the page's download too).
pub(crate) async fn dynamic_cost_xlsx(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: crate::i18n::Lang,
    project: &ProjectId,
    as_of: Option<NaiveDate>,
) -> Result<Vec<u8>, AppError> {
    let headers: Vec<String> = cost::EXPORT_COLUMNS
        .iter()
        .map(|c| match *c {
            "code" | "name" | "department" | "dynamic_per_m2" => crate::i18n::t(lang, &format!("cost.{c}")),
            column => crate::i18n::t(lang, &format!("cost.column.{column}")),
        })
        .collect();
    let total = crate::i18n::t(lang, "cost.total");
    Ok(cost::dynamic_cost_xlsx(&state.services, actor, project, as_of, &headers, &total).await?)
}

/// The project's target cost versions, oldest first.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/targets", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TargetVersion>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn versions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<TargetVersion>>, AppError> {
    Ok(Json(cost::versions(&state.services, &actor, &id).await?))
}

/// Saves a draft target version (an amount per leaf item); it counts once adopted.
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/targets", tag = "cost", params(("id" = String, Path)),
    request_body = NewTargetVersion,
    responses((status = 201, body = TargetVersionDetail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn new_version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewTargetVersion>,
) -> Created<TargetVersionDetail> {
    Ok((StatusCode::CREATED, Json(cost::new_version(&state.services, &actor, &id, form).await?)))
}

#[utoipa::path(get, path = "/api/v1/cost/targets/{id}", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = TargetVersionDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TargetVersionDetail>, AppError> {
    Ok(Json(cost::version(&state.services, &actor, &id).await?))
}

/// Makes a draft version the current target; the ledger receives each item's difference.
#[utoipa::path(post, path = "/api/v1/cost/targets/{id}/adopt", tag = "cost", params(("id" = String, Path)),
    request_body = cost::Adoption,
    responses((status = 200, body = TargetVersionDetail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn adopt(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(form): ApiJson<cost::Adoption>,
) -> Result<Json<TargetVersionDetail>, AppError> {
    Ok(Json(cost::adopt_version(&state.services, &actor, &id, form).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// The earlier version.
    pub from: String,
    /// The later version (same project).
    pub to: String,
}

/// Two target versions item by item.
#[utoipa::path(get, path = "/api/v1/cost/targets/compare", tag = "cost", params(CompareParams),
    responses((status = 200, body = VersionComparison), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn compare(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CompareParams>,
) -> Result<Json<VersionComparison>, AppError> {
    Ok(Json(cost::compare(&state.services, &actor, &q.from, &q.to).await?))
}

/// 测算: a target per leaf item proposed from the per-m² dynamic cost of
/// finished projects (matched by item code), scaled to this project's
/// saleable area. Nothing is saved; post the lines as a target version.
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/trial-calculation", tag = "cost", params(("id" = String, Path)),
    request_body = TrialRequest,
    responses((status = 200, body = TrialCalculation), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn trial_calculation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<TrialRequest>,
) -> Result<Json<TrialCalculation>, AppError> {
    Ok(Json(cost::trial_calculation(&state.services, &actor, &id, form).await?))
}

/// Contract planning (合约规划): the planned contracts of the project.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/plan-lines", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<PlanLine>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn plan_lines(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<PlanLine>>, AppError> {
    Ok(Json(cost::plan_lines(&state.services, &actor, &id).await?))
}

/// Plans a contract under a leaf item; its amount counts as pending until signed.
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/plan-lines", tag = "cost", params(("id" = String, Path)),
    request_body = NewPlanLine,
    responses((status = 201, body = PlanLine), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn add_plan_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewPlanLine>,
) -> Created<PlanLine> {
    Ok((StatusCode::CREATED, Json(cost::add_plan_line(&state.services, &actor, &id, form).await?)))
}

/// Suppliers and contractors, group-wide.
#[utoipa::path(get, path = "/api/v1/cost/suppliers", tag = "cost",
    responses((status = 200, body = Vec<Supplier>), (status = 403, body = Problem)))]
async fn suppliers(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Vec<Supplier>>, AppError> {
    Ok(Json(cost::suppliers(&state.services, &actor).await?))
}

/// Registers a supplier; the unified social credit code is checked with its
/// check character (422 on the field `credit_code`) and may be registered once.
#[utoipa::path(post, path = "/api/v1/cost/suppliers", tag = "cost", request_body = NewSupplier,
    responses((status = 201, body = Supplier), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_supplier(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<NewSupplier>,
) -> Created<Supplier> {
    Ok((StatusCode::CREATED, Json(cost::add_supplier(&state.services, &actor, form).await?)))
}

#[utoipa::path(get, path = "/api/v1/cost/suppliers/{id}", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Supplier), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn supplier(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Supplier>, AppError> {
    Ok(Json(cost::supplier(&state.services, &actor, &id).await?))
}

/// Blacklists a supplier: no new contracts with it.
#[utoipa::path(post, path = "/api/v1/cost/suppliers/{id}/blacklist", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Supplier), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn blacklist(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Supplier>, AppError> {
    Ok(Json(cost::set_blacklisted(&state.services, &actor, &id, true).await?))
}

#[utoipa::path(post, path = "/api/v1/cost/suppliers/{id}/unblacklist", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Supplier), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unblacklist(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Supplier>, AppError> {
    Ok(Json(cost::set_blacklisted(&state.services, &actor, &id, false).await?))
}

#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/contracts", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CostContract>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn contracts(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<CostContract>>, AppError> {
    Ok(Json(cost::contracts(&state.services, &actor, &id).await?))
}

/// Submits a cost contract against plan lines. Over a line's balance: refused
/// (`over_plan_balance`) on a strong-control item, needs `over_plan_reason`
/// on a weak one and then the approval of a `cost_contract` request (by
/// default the project manager's): `status` is `pending` until it is decided.
/// Within the plan the default flow signs it at once (`signed`).
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/contracts", tag = "cost", params(("id" = String, Path)),
    request_body = NewCostContract,
    responses((status = 201, body = CostContract), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn sign_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewCostContract>,
) -> Created<CostContract> {
    Ok((StatusCode::CREATED, Json(cost::sign_contract(&state.services, &actor, &id, form).await?)))
}

#[utoipa::path(get, path = "/api/v1/cost/contracts/{id}", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = CostContract), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CostContract>, AppError> {
    Ok(Json(cost::contract(&state.services, &actor, &id).await?))
}

/// What a contract waiting for approval would do to the dynamic cost of its
/// items (before and after); a decided contract's items with no change.
#[utoipa::path(get, path = "/api/v1/cost/contracts/{id}/impact", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ContractImpact>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn contract_impact(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ContractImpact>>, AppError> {
    Ok(Json(cost::contract_impact(&state.services, &actor, &id).await?))
}

/// Design changes and site visas of the project, newest first.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/variations", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Variation>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn variations(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<Variation>>, AppError> {
    Ok(Json(cost::variations(&state.services, &actor, &id).await?))
}

/// Submits a design change or site visa at its estimate (申报).
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/variations", tag = "cost", params(("id" = String, Path)),
    request_body = NewVariation,
    responses((status = 201, body = Variation), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn submit_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewVariation>,
) -> Created<Variation> {
    Ok((StatusCode::CREATED, Json(cost::submit_variation(&state.services, &actor, &id, form).await?)))
}

#[utoipa::path(get, path = "/api/v1/cost/variations/{id}", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Variation), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Variation>, AppError> {
    Ok(Json(cost::variation(&state.services, &actor, &id).await?))
}

/// Confirms a change or visa at completion (完工确认): the confirmed amount replaces the estimate.
#[utoipa::path(post, path = "/api/v1/cost/variations/{id}/confirm", tag = "cost", params(("id" = String, Path)),
    request_body = VariationConfirmation,
    responses((status = 200, body = Variation), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn confirm_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(form): ApiJson<VariationConfirmation>,
) -> Result<Json<Variation>, AppError> {
    Ok(Json(cost::confirm_variation(&state.services, &actor, &id, form).await?))
}

/// Records further cost expected on an item (预估), with its reason.
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/expected", tag = "cost", params(("id" = String, Path)),
    request_body = NewExpectedCost,
    responses((status = 201, body = Posting), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn add_expected(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<NewExpectedCost>,
) -> Created<Posting> {
    Ok((StatusCode::CREATED, Json(cost::add_expected(&state.services, &actor, &id, form).await?)))
}

/// The group's dynamic cost (集团动态成本): every project the caller sees
/// with its totals, the first-level items summed over them, and the group
/// total. Today's figures come from the balances kept with every posting.
#[utoipa::path(get, path = "/api/v1/cost/group/dynamic-cost", tag = "cost", params(AsOfParams),
    responses((status = 200, body = cost::GroupDynamicCost), (status = 403, body = Problem)))]
async fn group_dynamic_cost(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AsOfParams>,
) -> Result<Json<cost::GroupDynamicCost>, AppError> {
    Ok(Json(cost::group_dynamic_cost(&state.services, &actor, q.as_of).await?))
}

/// The group's dynamic cost as xlsx, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/group/dynamic-cost/export", tag = "cost", params(AsOfParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem)))]
async fn export_group_dynamic_cost(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<AsOfParams>,
) -> Result<axum::response::Response, AppError> {
    group_xlsx(&state, &actor, lang, q.as_of).await
}

/// The group's dynamic cost spreadsheet (the `/cost` page's download too).
pub(crate) async fn group_xlsx(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: crate::i18n::Lang,
    as_of: Option<NaiveDate>,
) -> Result<axum::response::Response, AppError> {
    let word = |key: &str| crate::i18n::t(lang, key);
    let bytes = cost::group_xlsx(&state.services, actor, as_of, &word).await?;
    Ok(crate::api::xlsx_download(bytes, "group-dynamic-cost.xlsx"))
}

/// Responsibility cost as xlsx, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/responsibility/export", tag = "cost", params(ResponsibilityParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem)))]
async fn export_responsibility(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ResponsibilityParams>,
) -> Result<axum::response::Response, AppError> {
    responsibility_xlsx(&state, &actor, lang, q.department.as_deref(), q.as_of).await
}

/// The responsibility cost spreadsheet (the page's download too).
pub(crate) async fn responsibility_xlsx(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: crate::i18n::Lang,
    department: Option<&str>,
    as_of: Option<NaiveDate>,
) -> Result<axum::response::Response, AppError> {
    let word = |key: &str| crate::i18n::t(lang, key);
    let bytes = cost::responsibility_xlsx(&state.services, actor, department, as_of, &word).await?;
    Ok(crate::api::xlsx_download(bytes, "responsibility-cost.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponsibilityParams {
    /// One department, as cost items name it; every department when absent.
    pub department: Option<String>,
    /// `YYYY-MM-DD`; today when absent.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    pub as_of: Option<NaiveDate>,
}

/// 责任成本 (PM5): each department's items summed per project, with the
/// items over their target.
#[utoipa::path(get, path = "/api/v1/cost/responsibility", tag = "cost", params(ResponsibilityParams),
    responses((status = 200, body = cost::ResponsibilityCost), (status = 403, body = Problem)))]
async fn responsibility(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ResponsibilityParams>,
) -> Result<Json<cost::ResponsibilityCost>, AppError> {
    Ok(Json(cost::responsibility_cost(&state.services, &actor, q.department.as_deref(), q.as_of).await?))
}

/// A project's issued monthly cost reports (成本月报), newest month first.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/reports", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = Vec<cost::CostReportSummary>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn reports(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<cost::CostReportSummary>>, AppError> {
    Ok(Json(cost::reports(&state.services, &actor, &id).await?))
}

/// Issues a closed month's report: the figures at its last day frozen with
/// each moved item's explanation. A month is reported once (409 after).
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/reports", tag = "cost", params(("id" = String, Path)),
    request_body = cost::NewCostReport,
    responses((status = 201, body = cost::CostReport), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn issue_report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(form): ApiJson<cost::NewCostReport>,
) -> Created<cost::CostReport> {
    Ok((StatusCode::CREATED, Json(cost::issue_report(&state.services, &actor, &id, form).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthParams {
    /// `YYYY-MM`, a month that has ended.
    #[param(required = true, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// A month's report as it would be issued now, with the items that moved.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/reports/draft", tag = "cost",
    params(("id" = String, Path), MonthParams),
    responses((status = 200, body = cost::CostReport), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn report_draft(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<MonthParams>,
) -> Result<Json<cost::CostReport>, AppError> {
    Ok(Json(cost::report_draft(&state.services, &actor, &id, q.month.as_deref()).await?))
}

/// An issued report, as it was issued.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/reports/{month}", tag = "cost",
    params(("id" = String, Path), ("month" = String, Path)),
    responses((status = 200, body = cost::CostReport), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, month)): ApiPath<(ProjectId, String)>,
) -> Result<Json<cost::CostReport>, AppError> {
    Ok(Json(cost::report(&state.services, &actor, &id, &month).await?))
}

/// An issued report as xlsx, as it was issued, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/reports/{month}/export", tag = "cost",
    params(("id" = String, Path), ("month" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath((id, month)): ApiPath<(ProjectId, String)>,
) -> Result<axum::response::Response, AppError> {
    report_xlsx(&state, &actor, lang, &id, &month).await
}

/// An issued report's spreadsheet (the report page's download too).
pub(crate) async fn report_xlsx(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: crate::i18n::Lang,
    project: &ProjectId,
    month: &str,
) -> Result<axum::response::Response, AppError> {
    let word = |key: &str| crate::i18n::t(lang, key);
    let bytes = cost::report_xlsx(&state.services, actor, project, month, &word).await?;
    Ok(crate::api::xlsx_download(bytes, "cost-report.xlsx"))
}

/// Attaches a file to a cost contract (the signed scan, bills of quantities):
/// PDF, pictures, Office documents, zip archives or DWG drawings, at most 10 MB.
/// The body is the file; it is read and removed through `/api/v1/files/{id}`.
#[utoipa::path(post, path = "/api/v1/cost/contracts/{id}/files", tag = "cost", params(("id" = String, Path), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn attach_to_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachmentParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    attach(&state, &actor, FileOwner::CostContract, &id, q.file_name, body).await
}

/// A cost contract's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/cost/contracts/{id}/files", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = FileList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn contract_files(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FileList>, AppError> {
    attachments_of(&state, &actor, FileOwner::CostContract, &id).await
}

/// Attaches a file to a design change or site visa (drawings, site photos);
/// the same types and size as a contract's.
#[utoipa::path(post, path = "/api/v1/cost/variations/{id}/files", tag = "cost", params(("id" = String, Path), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn attach_to_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachmentParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    attach(&state, &actor, FileOwner::CostVariation, &id, q.file_name, body).await
}

/// A change's or visa's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/cost/variations/{id}/files", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, body = FileList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn variation_files(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FileList>, AppError> {
    attachments_of(&state, &actor, FileOwner::CostVariation, &id).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemImportParams {
    /// `check` (the default: report every problem, write nothing) or `import`.
    #[param(pattern = "^(check|import)$")]
    pub mode: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ItemImportReportDto {
    pub rows: usize,
    pub errors: Vec<crate::api::customers::ImportRowError>,
    pub created: usize,
    pub updated: usize,
    pub written: bool,
}

pub(crate) fn item_import_dto(r: cost::ItemImportReport, lang: crate::i18n::Lang) -> ItemImportReportDto {
    ItemImportReportDto {
        rows: r.rows,
        errors: crate::api::customers::ImportRowError::all_of(r.errors, lang),
        created: r.created,
        updated: r.updated,
        written: r.written,
    }
}

fn write_mode(mode: Option<&str>) -> Result<bool, AppError> {
    match mode.unwrap_or("check") {
        "check" => Ok(false),
        "import" => Ok(true),
        _ => Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "mode", "unknown_mode")),
    }
}

/// A project's cost item tree as xlsx (科目编码, 科目名称, 计量单位, 责任部门, 控制方式: the importer's headers).
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/items/export", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_items(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<axum::response::Response, AppError> {
    let bytes = cost::items_xlsx(&state.services, &actor, Some(&id)).await?;
    Ok(crate::api::xlsx_download(bytes, "cost-items.xlsx"))
}

/// Imports items from xlsx into a project's tree: unknown codes are added
/// under their parent codes, known ones updated. Nothing is written unless
/// every row is valid.
#[utoipa::path(post, path = "/api/v1/cost/projects/{id}/items/import", tag = "cost",
    params(("id" = String, Path), ItemImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ItemImportReportDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn import_items(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<ItemImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<ItemImportReportDto>, AppError> {
    let write = write_mode(q.mode.as_deref())?;
    let report = cost::import_items(&state.services, &actor, Some(&id), &body, write).await?;
    Ok(Json(item_import_dto(report, lang)))
}

/// The group template as xlsx.
#[utoipa::path(get, path = "/api/v1/cost/template/items/export", tag = "cost",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem)))]
async fn export_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<axum::response::Response, AppError> {
    let bytes = cost::items_xlsx(&state.services, &actor, None).await?;
    Ok(crate::api::xlsx_download(bytes, "cost-template.xlsx"))
}

/// Imports items from xlsx into the group template, as for a project.
#[utoipa::path(post, path = "/api/v1/cost/template/items/import", tag = "cost", params(ItemImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ItemImportReportDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ItemImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<ItemImportReportDto>, AppError> {
    let write = write_mode(q.mode.as_deref())?;
    let report = cost::import_items(&state.services, &actor, None, &body, write).await?;
    Ok(Json(item_import_dto(report, lang)))
}

/// Asks to change a plan line's planned amount (合约规划调整): an approval
/// request (`plan_adjustment`, the project manager by default); approved, the
/// line and its pending cost move. A strongly controlled line takes a larger
/// contract only this way.
#[utoipa::path(post, path = "/api/v1/cost/plan-lines/{id}/adjustments", tag = "cost", params(("id" = String, Path)),
    request_body = cost::PlanAdjustment,
    responses((status = 201, body = crate::api::approvals::ApprovalDto), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn adjust_plan_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(form): ApiJson<cost::PlanAdjustment>,
) -> Created<crate::api::approvals::ApprovalDto> {
    let request = cost::request_plan_adjustment(&state.services, &actor, &id, form).await?;
    Ok((StatusCode::CREATED, Json(crate::api::approvals::ApprovalDto::of(request, lang))))
}

/// A project's plan lines, contracts or changes and visas as xlsx, headers
/// and words in `lang` (the pages' downloads too).
pub(crate) async fn documents_xlsx(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: crate::i18n::Lang,
    project: &ProjectId,
    table: cost::DocumentTable,
) -> Result<axum::response::Response, AppError> {
    let headers: Vec<String> = table
        .columns()
        .iter()
        .map(|c| match *c {
            "contracted" | "balance" => crate::i18n::t(lang, &format!("cost.column.{c}")),
            other => crate::i18n::t(lang, &format!("cost.{other}")),
        })
        .collect();
    let word = |key: &str| crate::i18n::t(lang, key);
    let bytes = cost::documents_xlsx(&state.services, actor, project, table, &headers, &word).await?;
    let name = match table {
        cost::DocumentTable::PlanLines => "plan-lines.xlsx",
        cost::DocumentTable::Contracts => "cost-contracts.xlsx",
        cost::DocumentTable::Variations => "changes-and-visas.xlsx",
    };
    Ok(crate::api::xlsx_download(bytes, name))
}

/// A project's plan lines (合约规划) as xlsx, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/plan-lines/export", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_plan_lines(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<axum::response::Response, AppError> {
    documents_xlsx(&state, &actor, lang, &id, cost::DocumentTable::PlanLines).await
}

/// A project's cost contracts as xlsx, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/contracts/export", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_contracts(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<axum::response::Response, AppError> {
    documents_xlsx(&state, &actor, lang, &id, cost::DocumentTable::Contracts).await
}

/// A project's design changes and site visas as xlsx, headers in the caller's language.
#[utoipa::path(get, path = "/api/v1/cost/projects/{id}/variations/export", tag = "cost", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_variations(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<axum::response::Response, AppError> {
    documents_xlsx(&state, &actor, lang, &id, cost::DocumentTable::Variations).await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(template, add_template_item))
        .routes(routes!(items, add_item))
        .routes(routes!(copy_template))
        .routes(routes!(edit_item))
        .routes(routes!(item_postings))
        .routes(routes!(dynamic_cost))
        .routes(routes!(export_dynamic_cost))
        .routes(routes!(versions, new_version))
        .routes(routes!(compare))
        .routes(routes!(trial_calculation))
        .routes(routes!(version))
        .routes(routes!(adopt))
        .routes(routes!(plan_lines, add_plan_line))
        .routes(routes!(suppliers, add_supplier))
        .routes(routes!(supplier))
        .routes(routes!(blacklist))
        .routes(routes!(unblacklist))
        .routes(routes!(contracts, sign_contract))
        .routes(routes!(contract))
        .routes(routes!(contract_impact))
        .routes(routes!(variations, submit_variation))
        .routes(routes!(variation))
        .routes(routes!(confirm_variation))
        .routes(routes!(add_expected))
        .routes(routes!(group_dynamic_cost))
        .routes(routes!(export_group_dynamic_cost))
        .routes(routes!(responsibility))
        .routes(routes!(export_responsibility))
        .routes(routes!(reports, issue_report))
        .routes(routes!(report_draft))
        .routes(routes!(report))
        .routes(routes!(export_report))
        .routes(routes!(contract_files, attach_to_contract))
        .routes(routes!(variation_files, attach_to_variation))
        .routes(routes!(export_items))
        .routes(routes!(import_items))
        .routes(routes!(export_template))
        .routes(routes!(import_template))
        .routes(routes!(adjust_plan_line))
        .routes(routes!(export_plan_lines))
        .routes(routes!(export_contracts))
        .routes(routes!(export_variations))
}

/// A first-level item has an undotted code; a deeper one names its parent.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{requires_one_of, text_schema};
    let code = |pattern: &str| -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(40))
            .pattern(Some(pattern))
            .into()
    };
    requires_one_of(
        openapi,
        "NewCostItem",
        vec![
            vec![("code", code("^[A-Za-z0-9]+$"))],
            vec![("code", code(r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+$")), ("parent_id", text_schema())],
        ],
    );
}
