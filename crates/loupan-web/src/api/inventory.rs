//! Projects, buildings and units (S1) and the combined unit search.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::{Decoration, FileOwner, FilePurpose, PropertyType, UnitStatus};
use loupan_service::inventory::import;
use loupan_service::inventory::{self, Building, Project, Unit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, PageParams, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct ProjectDto {
    pub id: ProjectId,
    pub name: String,
    pub city: String,
    /// Extra discount (a ratio, `"0.01"` = 1 %) agents may give without a special approval.
    pub agent_discount_limit: String,
    pub version: i64,
}

impl From<Project> for ProjectDto {
    fn from(p: Project) -> Self {
        ProjectDto {
            id: p.id,
            name: p.name,
            city: p.city,
            agent_discount_limit: p.agent_discount_limit,
            version: p.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    pub items: Vec<ProjectDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BuildingDto {
    pub id: BuildingId,
    pub project_id: ProjectId,
    pub name: String,
    pub phase: Option<String>,
    /// 总建筑面积, m², two decimals; null until entered.
    pub gross_floor_area: Option<String>,
    pub version: i64,
}

impl From<Building> for BuildingDto {
    fn from(b: Building) -> Self {
        BuildingDto {
            id: b.id,
            project_id: b.project_id,
            name: b.name,
            phase: b.phase,
            gross_floor_area: b.gross_floor_area.map(|a| a.to_string()),
            version: b.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BuildingList {
    pub items: Vec<BuildingDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UnitDto {
    pub id: UnitId,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub floor: i32,
    pub number: String,
    pub layout: String,
    /// Square metres, two decimals (`"89.37"`).
    pub gross_area: String,
    pub inner_area: String,
    /// Yuan, two decimals (`"1340550.00"`).
    pub list_price: String,
    /// `not_for_sale`, `available`, `held`, `reserved`, `subscribed`, `contracted`, `handed_over`.
    pub status: UnitStatus,
    pub property_type: PropertyType,
    pub orientation: Option<String>,
    pub decoration: Option<Decoration>,
    pub floor_price: Option<String>,
    /// Surveyed areas (实测), once known.
    pub measured_gross_area: Option<String>,
    pub measured_inner_area: Option<String>,
    /// 单元.
    pub entrance: Option<String>,
    pub version: i64,
}

impl From<Unit> for UnitDto {
    fn from(u: Unit) -> Self {
        UnitDto {
            id: u.id,
            project_id: u.project_id,
            building_id: u.building_id,
            floor: u.floor,
            number: u.number,
            layout: u.layout,
            gross_area: u.gross_area.to_string(),
            inner_area: u.inner_area.to_string(),
            list_price: u.list_price.to_string(),
            status: u.status,
            property_type: u.property_type,
            orientation: u.orientation,
            decoration: u.decoration,
            floor_price: u.floor_price.map(|m| m.to_string()),
            measured_gross_area: u.measured_gross_area.map(|a| a.to_string()),
            measured_inner_area: u.measured_inner_area.map(|a| a.to_string()),
            entrance: u.entrance,
            version: u.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnitPage {
    pub items: Vec<UnitDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewProjectRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub city: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewBuildingRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub name: Option<String>,
    /// 分期 (`一期`), optional.
    pub phase: Option<String>,
    /// 总建筑面积, m² as a decimal string, optional (empty: not known yet).
    #[schema(example = "12500.00", pattern = "^([1-9][0-9]{0,6}(\\.[0-9]{1,2})?)?$")]
    pub gross_floor_area: Option<String>,
}

/// What may be changed on a building.
#[derive(Deserialize, ToSchema)]
pub struct BuildingPatch {
    /// 总建筑面积, m² as a decimal string (up to 9,999,999.99); null or empty clears it.
    #[schema(example = "12500.00", pattern = "^([1-9][0-9]{0,6}(\\.[0-9]{1,2})?)?$")]
    pub gross_floor_area: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewUnitRequest {
    /// -10 to 200; there is no floor 0.
    #[schema(required = true, nullable = false, minimum = -10, maximum = 200)]
    pub floor: Option<i32>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub number: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub layout: Option<String>,
    /// Square metres as a decimal string.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub gross_area: Option<String>,
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub inner_area: Option<String>,
    /// Yuan as a decimal string.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub list_price: Option<String>,
    /// `available` (default), `not_for_sale` or `held`.
    #[schema(value_type = Option<String>, pattern = "^(available|not_for_sale|held)?$")]
    pub status: Option<String>,
    /// `residential` (default), `commercial`, `parking`, `storage`.
    #[schema(pattern = "^(residential|commercial|parking|storage)$")]
    pub property_type: Option<String>,
    /// Free text: `朝南`, `南北通透`, …
    pub orientation: Option<String>,
    /// `shell` (毛坯) or `furnished` (精装).
    pub decoration: Option<String>,
    /// 底价 in yuan; not above the list price.
    #[schema(pattern = "^(([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub floor_price: Option<String>,
}

/// Creates a project (admins).
#[utoipa::path(post, path = "/api/v1/projects", tag = "inventory", request_body = NewProjectRequest,
    responses((status = 201, body = ProjectDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_project(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewProjectRequest>,
) -> Result<(StatusCode, Json<ProjectDto>), AppError> {
    let project =
        inventory::create_project(&state.services, &actor, inventory::NewProject { name: req.name, city: req.city })
            .await?;
    Ok((StatusCode::CREATED, Json(project.into())))
}

/// The projects the caller may see.
#[utoipa::path(get, path = "/api/v1/projects", tag = "inventory",
    responses((status = 200, body = ProjectList)))]
async fn list_projects(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Page<ProjectDto>>, AppError> {
    let items = inventory::list_projects(&state.services, &actor).await?;
    Ok(Json(Page { items: items.into_iter().map(ProjectDto::from).collect(), next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "inventory",
    responses((status = 200, body = ProjectDto), (status = 404, body = Problem)))]
async fn get_project(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<ProjectDto>, AppError> {
    Ok(Json(inventory::get_project(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct DiscountLimitRequest {
    /// A ratio between 0 and 0.2 (`"0.01"` = 1 %).
    #[schema(required = true, nullable = false, pattern = "^0(\\.([01][0-9]{0,3}|20{0,3}))?$")]
    pub agent_discount_limit: Option<String>,
}

/// Sets the extra discount agents of the project may give without a special approval (特批).
#[utoipa::path(put, path = "/api/v1/projects/{id}/discount-limit", tag = "inventory", request_body = DiscountLimitRequest,
    responses((status = 200, body = ProjectDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_discount_limit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<DiscountLimitRequest>,
) -> Result<Json<ProjectDto>, AppError> {
    let p =
        inventory::set_agent_discount_limit(&state.services, &actor, &id, req.agent_discount_limit.as_deref()).await?;
    Ok(Json(p.into()))
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/buildings", tag = "inventory", request_body = NewBuildingRequest,
    responses((status = 201, body = BuildingDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_building(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<NewBuildingRequest>,
) -> Result<(StatusCode, Json<BuildingDto>), AppError> {
    let building = inventory::create_building(
        &state.services,
        &actor,
        &id,
        inventory::NewBuilding { name: req.name, phase: req.phase, gross_floor_area: req.gross_floor_area },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(building.into())))
}

#[utoipa::path(get, path = "/api/v1/buildings/{id}", tag = "inventory",
    responses((status = 200, body = BuildingDto), (status = 404, body = Problem)))]
async fn get_building(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<Json<BuildingDto>, AppError> {
    Ok(Json(inventory::get_building(&state.services, &actor, &id).await?.into()))
}

/// Enters or clears the building's gross floor area (inventory keepers and cost engineers).
#[utoipa::path(patch, path = "/api/v1/buildings/{id}", tag = "inventory", request_body = BuildingPatch,
    responses((status = 200, body = BuildingDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn patch_building(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiJson(req): ApiJson<BuildingPatch>,
) -> Result<Json<BuildingDto>, AppError> {
    let building =
        inventory::set_gross_floor_area(&state.services, &actor, &id, req.gross_floor_area.as_deref()).await?;
    Ok(Json(building.into()))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/buildings", tag = "inventory",
    responses((status = 200, body = BuildingList), (status = 404, body = Problem)))]
async fn list_buildings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Page<BuildingDto>>, AppError> {
    let items = inventory::list_buildings(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(BuildingDto::from).collect(), next_cursor: None }))
}

/// Adds a unit to a building; it is `available` unless a `status` is given.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/units", tag = "inventory", request_body = NewUnitRequest,
    responses((status = 201, body = UnitDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiJson(req): ApiJson<NewUnitRequest>,
) -> Result<(StatusCode, Json<UnitDto>), AppError> {
    let form = inventory::NewUnit {
        floor: req.floor,
        number: req.number,
        layout: req.layout,
        gross_area: req.gross_area,
        inner_area: req.inner_area,
        list_price: req.list_price,
        status: req.status,
        property_type: req.property_type,
        orientation: req.orientation,
        decoration: req.decoration,
        floor_price: req.floor_price,
    };
    let unit = inventory::create_unit(&state.services, &actor, &id, form).await?;
    Ok((StatusCode::CREATED, Json(unit.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitParams {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    #[param(value_type = Option<UnitStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
    pub layout: Option<String>,
    /// Gross area in m2, inclusive.
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub min_area: Option<String>,
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub max_area: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    /// List price in yuan, inclusive.
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub max_total_price: Option<String>,
    #[param(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub min_total_price: Option<String>,
    /// As written on the unit (`朝南`, `南北通透`, …).
    pub orientation: Option<String>,
    /// `residential`, `commercial`, `parking` or `storage`.
    #[param(pattern = "^(residential|commercial|parking|storage)?$")]
    pub property_type: Option<String>,
    /// `created` (default), `price`, `-price`, `area`, `-area`, `floor`, `-floor`.
    #[param(pattern = "^(created|-?price|-?area|-?floor)?$")]
    pub sort: Option<String>,
    /// 1-500 (a value outside is brought inside), default 50.
    #[param(minimum = 0, maximum = 65535)]
    pub limit: Option<u16>,
    pub cursor: Option<String>,
}

impl UnitParams {
    /// The filters and the page.
    fn split(self) -> (inventory::UnitQuery, PageParams) {
        let query = inventory::UnitQuery {
            project_id: self.project_id,
            building_id: self.building_id,
            status: self.status,
            layout: self.layout,
            min_area: self.min_area,
            max_area: self.max_area,
            min_floor: self.min_floor,
            max_floor: self.max_floor,
            max_total_price: self.max_total_price,
            min_total_price: self.min_total_price,
            orientation: self.orientation,
            property_type: self.property_type,
            sort: self.sort,
        };
        (query, PageParams { limit: self.limit, cursor: self.cursor })
    }
}

/// Unit search: every filter optional and combined.
#[utoipa::path(get, path = "/api/v1/units", tag = "inventory", params(UnitParams),
    responses((status = 200, body = UnitPage), (status = 422, body = Problem)))]
async fn search_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<UnitParams>,
) -> Result<Json<Page<UnitDto>>, AppError> {
    let (query, page) = q.split();
    let limit = page.limit();
    let sort = query.sort.clone();
    let rows = inventory::search_units(&state.services, &actor, query, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |u| inventory::cursor_of(u, sort.as_deref()), UnitDto::from)))
}

/// One stack of a generated building: every field is needed (as for one unit).
#[derive(Deserialize, ToSchema)]
pub struct StackRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub layout: Option<String>,
    /// m2, two decimals.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub gross_area: Option<String>,
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub inner_area: Option<String>,
    /// Yuan per m2 of gross area.
    #[schema(
        required = true,
        nullable = false,
        pattern = "^([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
    )]
    pub unit_price: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct GenerateUnitsRequest {
    /// -10 to 200 (no floor 0); 1 when absent.
    #[schema(minimum = -10, maximum = 200)]
    pub from_floor: Option<i32>,
    #[schema(required = true, nullable = false, minimum = -10, maximum = 200)]
    pub to_floor: Option<i32>,
    /// One entry per stack: every floor gets one unit of each, numbered `{floor}{stack:02}`.
    #[serde(default)]
    #[schema(required = true, min_items = 1, max_items = 40)]
    pub stacks: Vec<StackRequest>,
    /// `available` (default), `not_for_sale` or `held`.
    #[schema(value_type = Option<String>, pattern = "^(available|not_for_sale|held)?$")]
    pub status: Option<String>,
    /// Stacks per entrance (单元): 4 puts stacks 1-4 in 1单元, 5-8 in 2单元.
    pub stacks_per_entrance: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct GeneratedUnits {
    pub created: usize,
}

/// Creates a building's units floors × stacks in one transaction.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/units/generate", tag = "inventory", request_body = GenerateUnitsRequest,
    responses((status = 201, body = GeneratedUnits), (status = 422, body = Problem)))]
async fn generate_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiJson(req): ApiJson<GenerateUnitsRequest>,
) -> Result<(StatusCode, Json<GeneratedUnits>), AppError> {
    let form = inventory::GenerateUnits {
        from_floor: req.from_floor,
        to_floor: req.to_floor,
        status: req.status,
        stacks_per_entrance: req.stacks_per_entrance,
        stacks: req
            .stacks
            .into_iter()
            .map(|s| inventory::StackSpec {
                layout: s.layout,
                gross_area: s.gross_area,
                inner_area: s.inner_area,
                unit_price: s.unit_price,
            })
            .collect(),
    };
    let created = inventory::generate_units(&state.services, &actor, &id, form).await?;
    Ok((StatusCode::CREATED, Json(GeneratedUnits { created })))
}

#[utoipa::path(get, path = "/api/v1/units/{id}", tag = "inventory",
    responses((status = 200, body = UnitDto), (status = 404, body = Problem)))]
async fn get_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<UnitDto>, AppError> {
    Ok(Json(inventory::get_unit(&state.services, &actor, &id).await?.into()))
}

/// 销控: holds an available unit back from sale (managers).
#[utoipa::path(post, path = "/api/v1/units/{id}/hold", tag = "inventory",
    responses((status = 200, body = UnitDto), (status = 409, body = Problem)))]
async fn hold_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<UnitDto>, AppError> {
    loupan_service::sales::set_sales_control(&state.services, &actor, &id, true).await?;
    Ok(Json(inventory::get_unit(&state.services, &actor, &id).await?.into()))
}

/// Releases a held or not-yet-released unit for sale (managers).
#[utoipa::path(post, path = "/api/v1/units/{id}/release", tag = "inventory",
    responses((status = 200, body = UnitDto), (status = 409, body = Problem)))]
async fn release_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<UnitDto>, AppError> {
    loupan_service::sales::set_sales_control(&state.services, &actor, &id, false).await?;
    Ok(Json(inventory::get_unit(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `validate` (check only), `all` (default: write only if every row is valid), `valid_only`.
    #[param(pattern = "^(validate|all|valid_only)?$")]
    pub mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorDto {
    /// The row number in Excel (the header is row 1).
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReportDto {
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<RowErrorDto>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub buildings_created: usize,
    pub written: bool,
}

/// A file's problems by row and column, each with its message in the caller's language.
pub fn row_errors(
    errors: Vec<loupan_service::platform::import::RowError>,
    lang: crate::i18n::Lang,
) -> Vec<RowErrorDto> {
    errors
        .into_iter()
        .map(|e| RowErrorDto {
            row: e.row,
            column: e.column,
            code: e.code.to_owned(),
            message: crate::i18n::t(lang, &format!("field_error.{}", e.code)),
        })
        .collect()
}

pub fn report_dto(r: import::ImportReport, lang: crate::i18n::Lang) -> ImportReportDto {
    ImportReportDto {
        rows: r.rows,
        valid_rows: r.valid_rows,
        errors: row_errors(r.errors, lang),
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        buildings_created: r.buildings_created,
        written: r.written,
    }
}

/// Imports units from an xlsx (the body): every row is checked first; re-importing updates by building and unit number.
#[utoipa::path(post, path = "/api/v1/projects/{id}/units/import", tag = "inventory", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ImportReportDto), (status = 422, body = Problem)))]
async fn import_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<ProjectId>,
    ApiQuery(q): ApiQuery<ImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<ImportReportDto>, AppError> {
    let mode = import::ImportMode::parse(q.mode.as_deref().unwrap_or("all"))
        .ok_or_else(|| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "mode", "unknown_mode"))?;
    let report = import::import_units(&state.services, &actor, &id, &body, mode).await?;
    Ok(Json(report_dto(report, lang)))
}

/// The units of a search as xlsx (the same columns the import reads).
#[utoipa::path(get, path = "/api/v1/units/export", tag = "inventory", params(UnitParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn export_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<UnitParams>,
) -> Result<axum::response::Response, AppError> {
    let (query, _) = q.split();
    let bytes = import::export_units(&state.services, &actor, query).await?;
    Ok(crate::api::xlsx_download(bytes, "units.xlsx"))
}

#[derive(Deserialize, ToSchema)]
pub struct BulkEditRequest {
    #[schema(min_items = 1)]
    pub unit_ids: Vec<UnitId>,
    pub layout: Option<String>,
    /// m2, two decimals.
    #[schema(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub gross_area: Option<String>,
    #[schema(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub inner_area: Option<String>,
    /// Yuan, two decimals; kept in each unit's price history.
    #[schema(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub list_price: Option<String>,
    #[schema(pattern = "^(-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?)?$")]
    pub floor_price: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkEditReportDto {
    pub changed: usize,
    /// Numbers of the units left alone because they are sold.
    pub skipped_sold: Vec<String>,
}

/// Sets layout, areas or prices on a selection of unsold units, all or nothing.
#[utoipa::path(post, path = "/api/v1/units/bulk-edit", tag = "inventory", request_body = BulkEditRequest,
    responses((status = 200, body = BulkEditReportDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn bulk_edit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<BulkEditRequest>,
) -> Result<Json<BulkEditReportDto>, AppError> {
    let form = inventory::BulkEdit {
        unit_ids: req.unit_ids,
        layout: req.layout,
        gross_area: req.gross_area,
        inner_area: req.inner_area,
        list_price: req.list_price,
        floor_price: req.floor_price,
        reason: req.reason,
    };
    let r = inventory::bulk_edit(&state.services, &actor, form).await?;
    Ok(Json(BulkEditReportDto { changed: r.changed, skipped_sold: r.skipped_sold }))
}

#[derive(Serialize, ToSchema)]
pub struct FileDto {
    pub id: String,
    pub owner_type: FileOwner,
    pub owner_id: String,
    pub purpose: FilePurpose,
    pub file_name: String,
    /// Found from the file's bytes: `image/png`, `image/jpeg`, `image/webp`, `image/gif`, `application/pdf`;
    /// attachments may also be Office documents, zip archives or DWG drawings (`image/vnd.dwg`).
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<loupan_service::inventory::files::StoredFile> for FileDto {
    fn from(f: loupan_service::inventory::files::StoredFile) -> Self {
        FileDto {
            id: f.id,
            owner_type: f.owner_type,
            owner_id: f.owner_id,
            purpose: f.purpose,
            file_name: f.file_name,
            content_type: f.content_type,
            size: f.size,
            uploaded_by: f.uploaded_by,
            created_at: f.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub items: Vec<FileDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `photo` (the default) or `floor_plan`.
    #[param(value_type = Option<crate::api::UnitFilePurpose>)]
    pub purpose: Option<String>,
    pub file_name: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SitePlanParams {
    pub file_name: Option<String>,
}

/// A floor plan (image or PDF) or a photo of the unit; the body is the file.
#[utoipa::path(post, path = "/api/v1/units/{id}/files", tag = "inventory", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn upload_unit_file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    let purpose = q.purpose.unwrap_or_else(|| "photo".into());
    let f = loupan_service::inventory::files::upload(
        &state.services,
        &actor,
        (FileOwner::Unit, &id, &purpose),
        q.file_name.as_deref().unwrap_or("file"),
        body.to_vec(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

#[utoipa::path(get, path = "/api/v1/units/{id}/files", tag = "inventory",
    responses((status = 200, body = FileList), (status = 404, body = Problem)))]
async fn unit_files(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FileList>, AppError> {
    let items = loupan_service::inventory::files::files_of(&state.services, &actor, FileOwner::Unit, &id).await?;
    Ok(Json(FileList { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// The project's site plan image for the bird's-eye view (replaces the previous one).
#[utoipa::path(post, path = "/api/v1/projects/{id}/site-plan", tag = "inventory", params(SitePlanParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn upload_site_plan(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<SitePlanParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    let f = loupan_service::inventory::files::upload(
        &state.services,
        &actor,
        (FileOwner::Project, &id, "site_plan"),
        q.file_name.as_deref().unwrap_or("site-plan"),
        body.to_vec(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

/// A stored file's bytes, with its type.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "inventory",
    responses((status = 200, content_type = "*/*", body = Vec<u8>, description = "The file as its sniffed type (PNG, JPEG, WebP, GIF or PDF)"),
        (status = 404, body = Problem)))]
async fn get_file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, AppError> {
    let (f, body) = loupan_service::inventory::files::download(&state.services, &actor, &id).await?;
    Ok(file_response(&f, body))
}

/// Images and PDFs as their sniffed type, shown inline (never script: types are
/// sniffed, `nosniff` is set), streamed from the file store as they are read;
/// other attachments (Office documents, archives, drawings) are downloaded
/// under their name.
pub fn file_response(
    f: &loupan_service::inventory::files::StoredFile,
    body: loupan_service::platform::files::FileBody,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(body.reader)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
    if let Ok(v) = HeaderValue::from_str(&f.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    let disposition = if f.shown_inline() { "inline" } else { "attachment" };
    // RFC 6266/5987: the name percent-encoded as UTF-8, so Chinese names survive.
    let encoded: String = f
        .file_name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "inventory",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    loupan_service::inventory::files::delete(&state.services, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
pub struct RegionDto {
    /// Left edge, in thousandths of the site plan's width.
    #[schema(minimum = 0, maximum = 999)]
    pub x: i32,
    /// Top edge, in thousandths of its height.
    #[schema(minimum = 0, maximum = 999)]
    pub y: i32,
    /// Width; `x + w` is at most 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub w: i32,
    /// Height; `y + h` is at most 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub h: i32,
}

/// Where the building is on its project's site plan.
#[utoipa::path(put, path = "/api/v1/buildings/{id}/region", tag = "inventory", request_body = RegionDto,
    responses((status = 200, body = RegionDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_region(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiJson(r): ApiJson<RegionDto>,
) -> Result<Json<RegionDto>, AppError> {
    let region = loupan_service::inventory::files::Region { x: r.x, y: r.y, w: r.w, h: r.h };
    let saved = loupan_service::inventory::files::set_region(&state.services, &actor, &id, region).await?;
    Ok(Json(RegionDto { x: saved.x, y: saved.y, w: saved.w, h: saved.h }))
}

#[derive(Serialize, ToSchema)]
pub struct PlacedBuildingDto {
    pub building: BuildingDto,
    pub region: Option<RegionDto>,
    pub units: usize,
    pub available: usize,
}

#[derive(Serialize, ToSchema)]
pub struct BirdseyeDto {
    pub site_plan: Option<FileDto>,
    pub buildings: Vec<PlacedBuildingDto>,
}

/// 鸟瞰图: the site plan and where each building is on it.
#[utoipa::path(get, path = "/api/v1/projects/{id}/birdseye", tag = "inventory",
    responses((status = 200, body = BirdseyeDto), (status = 404, body = Problem)))]
async fn birdseye(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<BirdseyeDto>, AppError> {
    let b = loupan_service::inventory::files::birdseye(&state.services, &actor, &id).await?;
    Ok(Json(BirdseyeDto {
        site_plan: b.site_plan.map(Into::into),
        buildings: b
            .buildings
            .into_iter()
            .map(|p| PlacedBuildingDto {
                region: p.region.map(|r| RegionDto { x: r.x, y: r.y, w: r.w, h: r.h }),
                units: p.units,
                available: p.available,
                building: p.building.into(),
            })
            .collect(),
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project))
        .routes(routes!(set_discount_limit))
        .routes(routes!(list_buildings, create_building))
        .routes(routes!(get_building, patch_building))
        .routes(routes!(create_unit))
        .routes(routes!(search_units))
        .routes(routes!(bulk_edit))
        .routes(routes!(unit_files, upload_unit_file))
        .routes(routes!(upload_site_plan))
        .routes(routes!(get_file, delete_file))
        .routes(routes!(set_region))
        .routes(routes!(birdseye))
        .routes(routes!(building_chart))
        .routes(routes!(chart_pdf))
        // A stream, described in docs/API.md rather than in the OpenAPI document
        // (which cannot say "never ends", and whose fuzzers would wait on it).
        .route("/api/v1/buildings/{id}/events", axum::routing::get(building_events))
        .routes(routes!(get_unit))
        .routes(routes!(generate_units))
        .routes(routes!(import_units))
        .routes(routes!(export_units))
        .routes(routes!(hold_unit))
        .routes(routes!(release_unit))
}

/// One floor of a 销控图, its units left to right.
#[derive(Serialize, ToSchema)]
pub struct ChartFloor {
    pub floor: i32,
    pub units: Vec<UnitDto>,
}

/// Units of one status and their list prices added up.
#[derive(Serialize, ToSchema)]
pub struct ChartStatusTotal {
    pub status: UnitStatus,
    pub units: usize,
    /// Yuan, two decimals.
    pub list_price_total: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChartLayoutTotal {
    pub layout: String,
    pub units: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ChartTotalsDto {
    /// Every status that has units, in sales-cycle order.
    pub by_status: Vec<ChartStatusTotal>,
    /// What is still `available`, per layout.
    pub available_by_layout: Vec<ChartLayoutTotal>,
}

/// A building's 销控图: floors top down, units across, with the totals beside it.
#[derive(Serialize, ToSchema)]
pub struct ChartDto {
    pub building: BuildingDto,
    pub floors: Vec<ChartFloor>,
    pub totals: ChartTotalsDto,
}

/// The 销控图 of a building as data (the page and the PDF show the same).
/// Changes arrive afterwards on `GET /api/v1/buildings/{id}/events`.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/chart", tag = "inventory",
    responses((status = 200, body = ChartDto), (status = 404, body = Problem)))]
async fn building_chart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<Json<ChartDto>, AppError> {
    let (building, units) = inventory::building_chart(&state.services, &actor, &id).await?;
    let totals = inventory::chart_totals(&units);
    let mut floors: Vec<ChartFloor> = Vec::new();
    for unit in units {
        match floors.last_mut() {
            Some(f) if f.floor == unit.floor => f.units.push(unit.into()),
            _ => floors.push(ChartFloor { floor: unit.floor, units: vec![unit.into()] }),
        }
    }
    let totals = ChartTotalsDto {
        by_status: totals
            .by_status
            .into_iter()
            .map(|(status, units, amount)| ChartStatusTotal { status, units, list_price_total: amount.to_string() })
            .collect(),
        available_by_layout: totals
            .available_by_layout
            .into_iter()
            .map(|(layout, units)| ChartLayoutTotal { layout, units })
            .collect(),
    };
    Ok(Json(ChartDto { building: building.into(), floors, totals }))
}

/// The 销控图 printed: an A4 PDF with each unit's status in words, for the
/// sales-office wall.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/chart.pdf", tag = "inventory",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn chart_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<axum::response::Response, AppError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let pdf = inventory::chart_pdf(&state.services, &actor, &id).await?;
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"sales-control-chart.pdf\""));
    Ok(res)
}

/// Live changes to a building's units as server-sent events, so that an open
/// 销控图 follows every sale without reloading: each event `unit` carries the
/// unit's id, its building and its new status as JSON; an event `reload`
/// means the client fell behind and should fetch the chart again. Comments
/// keep the connection alive.
pub async fn building_events(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<
    axum::response::sse::Sse<
        impl tokio_stream::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    AppError,
> {
    use axum::response::sse::Event;
    use loupan_service::platform::live::LiveChange;
    use tokio_stream::StreamExt;
    inventory::get_building(&state.services, &actor, &id).await?;
    let updates = tokio_stream::wrappers::BroadcastStream::new(state.services.live.subscribe());
    let stream = updates.filter_map(move |message| match message {
        Ok(LiveChange::Unit(change)) if change.building_id == id => {
            Event::default().event("unit").json_data(&change).ok()
        }
        Ok(_) => None,
        Err(_) => Some(Event::default().event("reload").data("behind")),
    });
    Ok(crate::live::stream(&state, stream))
}

/// Attachments (附件) of an owner that keeps them: a cost contract, a change
/// or visa, a customer-service case.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentParams {
    /// The name to keep (`合同扫描件.pdf`, `漏水照片.jpg`); its type is found from the bytes.
    pub file_name: Option<String>,
}

pub(crate) async fn attach(
    state: &AppState,
    actor: &loupan_service::Actor,
    owner: FileOwner,
    id: &str,
    file_name: Option<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    let name = file_name.unwrap_or_else(|| "attachment".into());
    let f = loupan_service::inventory::files::upload(
        &state.services,
        actor,
        (owner, id, "attachment"),
        &name,
        body.to_vec(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

pub(crate) async fn attachments_of(
    state: &AppState,
    actor: &loupan_service::Actor,
    owner: FileOwner,
    id: &str,
) -> Result<Json<FileList>, AppError> {
    let items = loupan_service::inventory::files::files_of(&state.services, actor, owner, id).await?;
    Ok(Json(FileList { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}
