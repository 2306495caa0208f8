//! Service processes after the contract (A1, A2): the company's definitions,
//! versioned, and the cases that follow a contract through them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use loupan_domain::ids::{ContractId, ProcessCaseId, ProcessDefinitionId, ProjectId};
use loupan_domain::processes::{FeeAmount, StepDefinition};
use loupan_service::aftersales::processes::{
    self, CaseQuery, Definition, DefinitionForm, FeeForm, ProcessCase, ProcessCaseSummary, Readiness, ServiceBoard,
    StepDone, StepForm,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProcessFeeDto {
    /// 代收 fee's name (`抵押登记费`).
    #[schema(required = true, nullable = false, min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: Option<String>,
    /// A fixed amount in yuan (`"80.00"`); or…
    #[schema(value_type = Option<crate::api::Positive>)]
    pub amount: Option<String>,
    /// …a formula over `contract_total`, `gross_area` and `inner_area`
    /// (`"gross_area * 3"`), exact, rounded half up to the fen.
    #[schema(max_length = 200)]
    pub formula: Option<String>,
}

/// A document of a step's checklist (`身份证`): a name of one to sixty characters.
pub struct DocumentName;

impl utoipa::PartialSchema for DocumentName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(60))
            .pattern(Some("\\S"))
            .into()
    }
}

impl ToSchema for DocumentName {}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProcessStepDto {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: Option<String>,
    /// The role whose people do the step (`aftersales`, `sales_agent`, `finance`, …).
    #[schema(required = true, nullable = false, value_type = Option<crate::api::RoleName>)]
    pub role: Option<String>,
    /// Days to do it, from the previous step's completion or the case's start.
    #[schema(required = true, nullable = false, minimum = 0, maximum = 3650)]
    pub due_days: Option<u32>,
    /// `previous_step` (default) or `start`.
    #[schema(pattern = "^(|previous_step|start)$")]
    pub from: Option<String>,
    /// The documents to receive before the step is done.
    #[serde(default)]
    #[schema(max_items = 30, value_type = Vec<DocumentName>)]
    pub documents: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub fees: Vec<ProcessFeeDto>,
    /// Days before the deadline the step's people are reminded (not more than `due_days`).
    #[schema(minimum = 0, maximum = 3650)]
    pub remind_days_before: Option<u32>,
}

impl From<StepDefinition> for ProcessStepDto {
    fn from(s: StepDefinition) -> Self {
        ProcessStepDto {
            name: Some(s.name),
            role: Some(s.role.name().to_owned()),
            due_days: Some(s.due_days),
            from: Some(s.from.name().to_owned()),
            documents: s.documents,
            fees: s
                .fees
                .into_iter()
                .map(|f| {
                    let (amount, formula) = match f.amount {
                        FeeAmount::Fixed(m) => (Some(m.to_string()), None),
                        FeeAmount::Formula(t) => (None, Some(t)),
                    };
                    ProcessFeeDto { name: Some(f.name), amount, formula }
                })
                .collect(),
            remind_days_before: Some(s.remind_days_before),
        }
    }
}

impl From<ProcessStepDto> for StepForm {
    fn from(s: ProcessStepDto) -> Self {
        StepForm {
            name: s.name,
            role: s.role,
            due_days: s.due_days.map(|d| d.to_string()),
            from: s.from,
            documents: s.documents,
            fees: s.fees.into_iter().map(|f| FeeForm { name: f.name, amount: f.amount, formula: f.formula }).collect(),
            remind_days_before: s.remind_days_before.map(|d| d.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionDto {
    pub id: ProcessDefinitionId,
    /// Shared by every version.
    pub lineage_id: ProcessDefinitionId,
    pub version: i32,
    /// `mortgage`, `provident_fund`, `registration`, `title` or `handover`.
    pub kind: String,
    pub name: String,
    /// `contract_signed`, `building_ready` or `manual`.
    pub start_event: String,
    pub city: Option<String>,
    pub project_id: Option<ProjectId>,
    pub property_type: Option<String>,
    pub steps: Vec<ProcessStepDto>,
    pub current: bool,
    pub retired: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<Definition> for DefinitionDto {
    fn from(d: Definition) -> Self {
        DefinitionDto {
            id: d.id,
            lineage_id: d.lineage_id,
            version: d.version,
            kind: d.kind.name().to_owned(),
            name: d.name,
            start_event: d.start_event.name().to_owned(),
            city: d.city,
            project_id: d.project_id,
            property_type: d.property_type.map(|t| t.name().to_owned()),
            steps: d.steps.into_iter().map(ProcessStepDto::from).collect(),
            current: d.current,
            retired: d.retired,
            created_by: d.created_by,
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionList {
    pub items: Vec<DefinitionDto>,
}

/// The current version of every process definition the caller may read.
#[utoipa::path(get, path = "/api/v1/aftersales/processes", tag = "aftersales",
    responses((status = 200, body = DefinitionList), (status = 403, body = Problem)))]
async fn list_definitions(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<DefinitionList>, AppError> {
    let items = processes::definitions(&state.services, &actor).await?;
    Ok(Json(DefinitionList { items: items.into_iter().map(DefinitionDto::from).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionDetail {
    pub definition: DefinitionDto,
    /// Every version, the newest first.
    pub versions: Vec<DefinitionDto>,
}

/// A version of a definition with every version of it.
#[utoipa::path(get, path = "/api/v1/aftersales/processes/{id}", tag = "aftersales",
    responses((status = 200, body = DefinitionDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_definition(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessDefinitionId>,
) -> Result<Json<DefinitionDetail>, AppError> {
    let (d, versions) = processes::definition(&state.services, &actor, &id).await?;
    Ok(Json(DefinitionDetail {
        definition: d.into(),
        versions: versions.into_iter().map(DefinitionDto::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct DefinitionRequest {
    /// A new definition's kind; a new version keeps its definition's.
    #[schema(pattern = "^(|mortgage|provident_fund|registration|title|handover)$")]
    pub kind: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: Option<String>,
    /// `contract_signed`, `building_ready` or `manual` (default).
    #[schema(pattern = "^(|contract_signed|building_ready|manual)$")]
    pub start_event: Option<String>,
    /// Where it applies; unset: everywhere. A project's wins over a city's, a city's over the company's.
    #[schema(max_length = 40)]
    pub city: Option<String>,
    pub project_id: Option<String>,
    #[schema(pattern = "^(|residential|commercial|parking|storage)$")]
    pub property_type: Option<String>,
    #[schema(min_items = 1, max_items = 30)]
    pub steps: Vec<ProcessStepDto>,
    /// A retired definition applies nowhere (running cases keep it).
    #[serde(default)]
    pub retired: bool,
    /// The version read (for a new version); another saved meanwhile is a 409.
    pub version: Option<i32>,
}

impl DefinitionRequest {
    fn form(self) -> DefinitionForm {
        DefinitionForm {
            kind: self.kind,
            name: self.name,
            start_event: self.start_event,
            city: self.city,
            project_id: self.project_id,
            property_type: self.property_type,
            steps: self.steps.into_iter().map(StepForm::from).collect(),
            retired: self.retired,
            version: self.version,
        }
    }
}

/// A new process definition (where it applies, its steps).
#[utoipa::path(post, path = "/api/v1/aftersales/processes", tag = "aftersales", request_body = DefinitionRequest,
    responses((status = 201, body = DefinitionDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_definition(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<DefinitionRequest>,
) -> Result<(StatusCode, Json<DefinitionDto>), AppError> {
    let d = processes::save_definition(&state.services, &actor, None, req.form()).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// Saves the next version of a definition; cases already started keep theirs.
#[utoipa::path(put, path = "/api/v1/aftersales/processes/{id}", tag = "aftersales", request_body = DefinitionRequest,
    responses((status = 200, body = DefinitionDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_definition(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessDefinitionId>,
    ApiJson(req): ApiJson<DefinitionRequest>,
) -> Result<Json<DefinitionDto>, AppError> {
    Ok(Json(processes::save_definition(&state.services, &actor, Some(&id), req.form()).await?.into()))
}

/// A page of cases.
#[derive(Serialize, ToSchema)]
pub struct ServiceCasePage {
    pub items: Vec<ProcessCaseSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseParams {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    #[param(pattern = "^(|mortgage|provident_fund|registration|title|handover)$")]
    pub kind: Option<String>,
    #[param(pattern = "^(|open|completed|cancelled)$")]
    pub status: Option<String>,
    /// Only cases whose current step is past its deadline.
    pub overdue: Option<bool>,
    /// Only cases whose current step is the caller's to do.
    pub mine: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,9}$")]
    pub cursor: Option<String>,
}

/// Cases of the caller's projects, the soonest due first.
#[utoipa::path(get, path = "/api/v1/aftersales/service-cases", tag = "aftersales", params(CaseParams),
    responses((status = 200, body = ServiceCasePage), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_cases(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CaseParams>,
) -> Result<Json<ServiceCasePage>, AppError> {
    let empty = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let (offset, limit) = crate::api::offset_page(&q.cursor, q.limit)?;
    let query = CaseQuery {
        project_id: empty(&q.project_id).map(ProjectId::from),
        building_id: empty(&q.building_id).map(loupan_domain::ids::BuildingId::from),
        kind: match empty(&q.kind) {
            None => None,
            Some(k) => Some(loupan_domain::processes::ProcessKind::parse(&k).ok_or_else(|| {
                AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "kind", "unknown_value")
            })?),
        },
        status: match empty(&q.status) {
            None => None,
            Some(s) => Some(loupan_domain::processes::ProcessStatus::parse(&s).ok_or_else(|| {
                AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "status", "unknown_value")
            })?),
        },
        overdue: q.overdue.unwrap_or(false),
        mine: q.mine.unwrap_or(false),
        offset,
        limit,
    };
    let (items, total) = processes::cases(&state.services, &actor, &query).await?;
    let next_cursor = crate::api::next_offset(offset, items.len(), total);
    Ok(Json(ServiceCasePage { items, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
pub struct StartCaseRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub contract_id: Option<String>,
    #[schema(required = true, nullable = false, pattern = "^(mortgage|provident_fund|registration|title|handover)$")]
    pub kind: Option<String>,
}

/// Starts a case for a contract by hand, on the most specific definition of
/// its kind; a contract has one case of a kind that is not cancelled (409 `case_exists`).
#[utoipa::path(post, path = "/api/v1/aftersales/service-cases", tag = "aftersales", request_body = StartCaseRequest,
    responses((status = 201, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn start_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<StartCaseRequest>,
) -> Result<(StatusCode, Json<ProcessCase>), AppError> {
    let Some(contract) = req.contract_id.filter(|c| !c.trim().is_empty()) else {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "contract_id", "required"));
    };
    let case = processes::start_case(&state.services, &actor, &ContractId::from(contract), req.kind.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(case)))
}

/// A case with its steps, documents and fees.
#[utoipa::path(get, path = "/api/v1/aftersales/service-cases/{id}", tag = "aftersales",
    responses((status = 200, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessCaseId>,
) -> Result<Json<ProcessCase>, AppError> {
    Ok(Json(processes::case(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CompleteStepRequest {
    /// The current step's position as read; another is a 409.
    #[schema(required = true, nullable = false, minimum = 0)]
    pub position: Option<i32>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// The case's version as read.
    #[schema(required = true, nullable = false)]
    pub version: Option<i64>,
}

/// Marks the current step done (422 `documents_missing` while a listed
/// document is not received) and moves the case to its next step.
#[utoipa::path(post, path = "/api/v1/aftersales/service-cases/{id}/complete", tag = "aftersales",
    request_body = CompleteStepRequest,
    responses((status = 200, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn complete_step(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessCaseId>,
    ApiJson(req): ApiJson<CompleteStepRequest>,
) -> Result<Json<ProcessCase>, AppError> {
    let form = StepDone { position: req.position, note: req.note, version: req.version };
    Ok(Json(processes::complete_step(&state.services, &actor, &id, form).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentRequest {
    /// The step the document belongs to.
    #[schema(required = true, nullable = false, minimum = 0)]
    pub position: Option<i32>,
    /// A document of the step's checklist, by name.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 60)]
    pub document: Option<String>,
}

/// Ticks a document as received (who and when are kept); ticking it again changes nothing.
#[utoipa::path(post, path = "/api/v1/aftersales/service-cases/{id}/documents", tag = "aftersales",
    request_body = DocumentRequest,
    responses((status = 200, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn receive_document(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessCaseId>,
    ApiJson(req): ApiJson<DocumentRequest>,
) -> Result<Json<ProcessCase>, AppError> {
    let (Some(position), Some(document)) = (req.position, req.document) else {
        return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "document", "required"));
    };
    Ok(Json(processes::receive_document(&state.services, &actor, &id, position, &document).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CancelCaseRequest {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    pub reason: Option<String>,
    #[schema(required = true, nullable = false)]
    pub version: Option<i64>,
}

/// Stops an open case (a loan refused, a contract rescinded); another of its kind may then start.
#[utoipa::path(post, path = "/api/v1/aftersales/service-cases/{id}/cancel", tag = "aftersales",
    request_body = CancelCaseRequest,
    responses((status = 200, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn cancel_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessCaseId>,
    ApiJson(req): ApiJson<CancelCaseRequest>,
) -> Result<Json<ProcessCase>, AppError> {
    Ok(Json(processes::cancel_case(&state.services, &actor, &id, req.reason.as_deref(), req.version).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct DisbursementRequest {
    /// Decimal yuan; the contract's open loan instalments when absent.
    #[schema(value_type = Option<crate::api::Positive>)]
    pub amount: Option<String>,
    /// The day the money arrived (not after today).
    #[schema(required = true, nullable = false, format = Date)]
    pub received_on: Option<String>,
    /// The bank or provident-fund centre that paid (the receipt's payer).
    #[schema(required = true, nullable = false, min_length = 1, max_length = 100, pattern = "\\S")]
    pub lender: Option<String>,
    /// The case's version as read.
    #[schema(required = true, nullable = false)]
    pub version: Option<i64>,
}

/// 放款: the bank paid a mortgage or provident-fund loan. A receipt on the
/// contract (channel `mortgage_bank` or `provident_fund`, the lender as payer)
/// goes on through arrival and audit like any other; the case keeps it.
/// Finance staff (`record_receipts`); 409 `not_a_loan`, `already_disbursed`.
#[utoipa::path(post, path = "/api/v1/aftersales/service-cases/{id}/disbursement", tag = "aftersales",
    request_body = DisbursementRequest,
    responses((status = 200, body = ProcessCase), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn disbursement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProcessCaseId>,
    ApiJson(req): ApiJson<DisbursementRequest>,
) -> Result<Json<ProcessCase>, AppError> {
    let form = processes::DisbursementForm {
        amount: req.amount,
        received_on: req.received_on,
        lender: req.lender,
        version: req.version,
    };
    Ok(Json(processes::record_disbursement(&state.services, &actor, &id, form).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ContractCases {
    pub items: Vec<ProcessCaseSummary>,
}

/// A contract's service cases (cancelled ones too), in the order they started.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/service-cases", tag = "aftersales",
    responses((status = 200, body = ContractCases), (status = 403, body = Problem)))]
async fn contract_cases(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<ContractCases>, AppError> {
    Ok(Json(ContractCases { items: processes::cases_of_contract(&state.services, &actor, &id).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// The process whose steps colour the board (default `mortgage`).
    #[param(pattern = "^(|mortgage|provident_fund|registration|title|handover)$")]
    pub kind: Option<String>,
}

/// 服务看板: the building's units (the 销控图's grid) with the step their case
/// of the process is at, the number of units at each step, and which are overdue.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/service-board", tag = "aftersales", params(BoardParams),
    responses((status = 200, body = ServiceBoard), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn service_board(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<loupan_domain::ids::BuildingId>,
    ApiQuery(q): ApiQuery<BoardParams>,
) -> Result<Json<ServiceBoard>, AppError> {
    let kind = match q.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => loupan_domain::processes::ProcessKind::Mortgage,
        Some(k) => loupan_domain::processes::ProcessKind::parse(k).ok_or_else(|| {
            AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "kind", "unknown_value")
        })?,
    };
    Ok(Json(processes::board(&state.services, &actor, &id, kind).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ReadinessRequest {
    /// The day the building is ready for handover (交付条件具备).
    #[schema(required = true, nullable = false, format = Date)]
    pub ready_on: Option<String>,
}

/// Declares a building ready for handover: each active contract of its units
/// starts the cases whose definitions start on `building_ready` (the title
/// certificate, the handover), counted from that day. Declared again, only
/// the missing cases start.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/handover-readiness", tag = "aftersales",
    request_body = ReadinessRequest,
    responses((status = 200, body = Readiness), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn declare_ready(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<loupan_domain::ids::BuildingId>,
    ApiJson(req): ApiJson<ReadinessRequest>,
) -> Result<Json<Readiness>, AppError> {
    Ok(Json(processes::declare_ready(&state.services, &actor, &id, req.ready_on.as_deref()).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_definitions, create_definition))
        .routes(routes!(get_definition, put_definition))
        .routes(routes!(list_cases, start_case))
        .routes(routes!(get_case))
        .routes(routes!(complete_step))
        .routes(routes!(receive_document))
        .routes(routes!(cancel_case))
        .routes(routes!(disbursement))
        .routes(routes!(contract_cases))
        .routes(routes!(service_board))
        .routes(routes!(declare_ready))
}
