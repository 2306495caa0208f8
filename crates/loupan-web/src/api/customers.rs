//! Customers (C1-C3, S2-S7): registration with the duplicate check, search,
//! follow-ups, the timeline, duplicate rulings, transfers, and revealing
//! personal data (logged).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_service::customers::{self, Customer, DuplicateMatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, PageParams, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: String,
    pub project_id: String,
    pub owner_id: String,
    pub owner_name: String,
    /// `individual` or `enterprise`.
    pub kind: String,
    pub name: String,
    /// In full for the owning agent, else masked (`138****8000`).
    pub phone: String,
    pub phone_masked: bool,
    pub id_type: Option<String>,
    /// Always masked (`110105********002X`); see `/reveal`.
    pub id_number_masked: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    pub last_contact_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when this customer was merged into another.
    pub merged_into: Option<String>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        CustomerDto {
            id: c.id,
            project_id: c.project_id,
            owner_id: c.owner_id,
            owner_name: c.owner_name,
            kind: c.kind,
            name: c.name,
            phone: c.phone,
            phone_masked: c.phone_masked,
            id_type: c.id_type,
            id_number_masked: c.id_number_masked,
            source: c.source,
            grade: c.grade,
            notes: c.notes,
            last_contact_at: c.last_contact_at,
            merged_into: c.merged_into,
            version: c.version,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateDto {
    pub customer_id: String,
    /// `name`, `phone`, `both` or `id_number`.
    #[serde(rename = "match")]
    pub match_kind: String,
    /// Display name of the agent who owns the other customer.
    pub owner_agent: String,
    pub owner_id: String,
}

impl From<DuplicateMatch> for DuplicateDto {
    fn from(d: DuplicateMatch) -> Self {
        DuplicateDto {
            customer_id: d.customer_id,
            match_kind: d.match_kind.to_owned(),
            owner_agent: d.owner_agent,
            owner_id: d.owner_id,
        }
    }
}

/// The registered customer and the customers it collides with.
#[derive(Serialize, ToSchema)]
pub struct RegisteredDto {
    #[serde(flatten)]
    pub customer: CustomerDto,
    /// Non-empty: a duplicate record was opened for managers.
    pub duplicates: Vec<DuplicateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewCustomerRequest {
    pub project_id: Option<String>,
    pub name: Option<String>,
    /// Any format: `+86 138-0013-8000`, `13800138000`, full-width digits.
    pub phone: Option<String>,
    /// `individual` (default) or `enterprise`.
    pub kind: Option<String>,
    /// `resident_id`, `passport`, `hk_macau_permit`, `taiwan_permit`, `business_license`.
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    /// Register for another agent (managers).
    pub owner_id: Option<String>,
}

/// Registers a customer; duplicates by name, phone or ID number are listed and
/// open a duplicate record for managers.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomerRequest,
    responses((status = 201, body = RegisteredDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewCustomerRequest>,
) -> Result<(StatusCode, Json<RegisteredDto>), AppError> {
    let form = customers::NewCustomer {
        project_id: req.project_id,
        name: req.name,
        phone: req.phone,
        kind: req.kind,
        id_type: req.id_type,
        id_number: req.id_number,
        source: req.source,
        grade: req.grade,
        notes: req.notes,
        owner_id: req.owner_id,
    };
    let done = customers::register(&state.services, &actor, form).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredDto {
            customer: done.customer.into(),
            duplicates: done.duplicates.into_iter().map(Into::into).collect(),
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerParams {
    /// A phone in any format, a resident ID number, or the start of a name,
    /// its pinyin (`zhangsan`) or initials (`zs`).
    pub q: Option<String>,
    pub project_id: Option<String>,
    pub owner_id: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    pub limit: Option<u16>,
    pub cursor: Option<String>,
}

/// Customers within the caller's data scope.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerParams),
    responses((status = 200, body = CustomerPage), (status = 403, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CustomerParams>,
) -> Result<Json<Page<CustomerDto>>, AppError> {
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let limit = page.limit();
    let query = customers::CustomerQuery {
        q: q.q,
        project_id: q.project_id,
        owner_id: q.owner_id,
        grade: q.grade,
        source: q.source,
    };
    let rows = customers::search(&state.services, &actor, query, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |c| c.id.clone(), CustomerDto::from)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CustomerDto>, AppError> {
    Ok(Json(customers::get(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct RevealRequest {
    /// Why the full numbers are needed (kept in the audit trail).
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedDto {
    pub phone: String,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
}

/// Full phone and ID number, for users with the reveal right; logged with the reason.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reveal", tag = "customers", request_body = RevealRequest,
    responses((status = 200, body = RevealedDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RevealRequest>,
) -> Result<Json<RevealedDto>, AppError> {
    let r = customers::reveal(&state.services, &actor, &id, req.reason.as_deref()).await?;
    Ok(Json(RevealedDto { phone: r.phone, id_type: r.id_type, id_number: r.id_number }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewFollowUpRequest {
    /// `visit` (来访), `call` (来电) or `follow_up` (跟进, default).
    pub kind: Option<String>,
    pub outcome: Option<String>,
    /// `YYYY-MM-DD`.
    pub next_contact_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpDto {
    pub id: String,
    pub kind: String,
    pub outcome: String,
    pub next_contact_on: Option<chrono::NaiveDate>,
    pub author_id: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

impl From<customers::FollowUp> for FollowUpDto {
    fn from(f: customers::FollowUp) -> Self {
        FollowUpDto {
            id: f.id,
            kind: f.kind,
            outcome: f.outcome,
            next_contact_on: f.next_contact_on,
            author_id: f.author_id,
            occurred_at: f.occurred_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpList {
    pub items: Vec<FollowUpDto>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/follow-ups", tag = "customers", request_body = NewFollowUpRequest,
    responses((status = 201, body = FollowUpDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_follow_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NewFollowUpRequest>,
) -> Result<(StatusCode, Json<FollowUpDto>), AppError> {
    let form = customers::NewFollowUp { kind: req.kind, outcome: req.outcome, next_contact_on: req.next_contact_on };
    let f = customers::add_follow_up(&state.services, &actor, &id, form).await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/follow-ups", tag = "customers",
    responses((status = 200, body = FollowUpList), (status = 404, body = Problem)))]
async fn list_follow_ups(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Page<FollowUpDto>>, AppError> {
    let items = customers::follow_ups(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEntryDto {
    /// `registered`, `follow_up`, `transfer`, `duplicate_ruling`, … (later: deals, payments, complaints).
    pub kind: String,
    pub summary: String,
    pub actor_name: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub items: Vec<TimelineEntryDto>,
    pub next_cursor: Option<String>,
}

/// Everything that touched the customer, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers",
    responses((status = 200, body = Timeline), (status = 404, body = Problem)))]
async fn timeline(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Page<TimelineEntryDto>>, AppError> {
    let items = customers::timeline(&state.services, &actor, &id).await?;
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| TimelineEntryDto {
                kind: e.kind,
                summary: e.summary,
                actor_name: e.actor_name,
                occurred_at: e.occurred_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateCheckParams {
    pub project_id: String,
    pub phone: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateList {
    pub items: Vec<DuplicateDto>,
    pub next_cursor: Option<String>,
}

/// The duplicate warning while typing, without saving anything.
#[utoipa::path(get, path = "/api/v1/customers/duplicate-check", tag = "customers", params(DuplicateCheckParams),
    responses((status = 200, body = DuplicateList)))]
async fn duplicate_check(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<DuplicateCheckParams>,
) -> Result<Json<Page<DuplicateDto>>, AppError> {
    let found =
        customers::check_duplicates(&state.services, &actor, &q.project_id, q.phone.as_deref(), q.name.as_deref())
            .await?;
    Ok(Json(Page { items: found.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateRecordDto {
    pub id: String,
    pub project_id: String,
    #[serde(rename = "match")]
    pub match_kind: String,
    /// `open`, `kept_both` or `assigned`.
    pub status: String,
    pub customer: CustomerDto,
    pub matched: CustomerDto,
    pub ruling_note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateRecordList {
    pub items: Vec<DuplicateRecordDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateRecordParams {
    /// `open`, `kept_both`, `assigned`; default all.
    pub status: Option<String>,
    pub limit: Option<u16>,
}

/// Duplicate records of the manager's projects.
#[utoipa::path(get, path = "/api/v1/customers/duplicate-records", tag = "customers", params(DuplicateRecordParams),
    responses((status = 200, body = DuplicateRecordList), (status = 403, body = Problem)))]
async fn duplicate_records(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<DuplicateRecordParams>,
) -> Result<Json<Page<DuplicateRecordDto>>, AppError> {
    let limit = u64::from(q.limit.unwrap_or(100).clamp(1, 500));
    let rows = customers::duplicate_records(&state.services, &actor, q.status.as_deref(), limit).await?;
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|r| DuplicateRecordDto {
                id: r.id,
                project_id: r.project_id,
                match_kind: r.match_kind,
                status: r.status,
                customer: r.customer.into(),
                matched: r.matched.into(),
                ruling_note: r.ruling_note,
                created_at: r.created_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RulingRequest {
    /// `keep_both`, `assign_to_first` (the later registration goes to the first agent) or
    /// `merge` (the later registration is merged into the first; undoable).
    pub ruling: String,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/duplicate-records/{id}/rule", tag = "customers", request_body = RulingRequest,
    responses((status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RulingRequest>,
) -> Result<StatusCode, AppError> {
    customers::rule_duplicate(&state.services, &actor, &id, &req.ruling, req.note.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct TransferRequest {
    #[serde(default)]
    pub customer_ids: Vec<String>,
    /// Instead of ids: every customer of this agent (user id).
    pub from_agent: Option<String>,
    /// The receiving agent (user id).
    pub to_agent: Option<String>,
    /// Also move the customers to this project (S7).
    pub to_project: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TransferResult {
    pub transferred: usize,
}

/// Hands customers to another agent (S6), optionally to another project (S7).
#[utoipa::path(post, path = "/api/v1/customers/transfer", tag = "customers", request_body = TransferRequest,
    responses((status = 200, body = TransferResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn transfer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Json<TransferResult>, AppError> {
    let form = customers::Transfer {
        customer_ids: req.customer_ids,
        from_agent: req.from_agent,
        to_agent: req.to_agent,
        to_project: req.to_project,
    };
    Ok(Json(TransferResult { transferred: customers::transfer(&state.services, &actor, form).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerImportParams {
    pub project_id: String,
    /// `check` (default: report invalid rows and duplicates, write nothing) or `import`.
    pub mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRowError {
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRowDuplicates {
    pub row: usize,
    pub name: String,
    pub duplicates: Vec<DuplicateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerImportReportDto {
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<ImportRowError>,
    pub duplicates: Vec<ImportRowDuplicates>,
    pub created: usize,
    pub written: bool,
}

pub fn import_report_dto(
    r: loupan_service::customer_import::CustomerImportReport,
    lang: crate::i18n::Lang,
) -> CustomerImportReportDto {
    CustomerImportReportDto {
        rows: r.rows,
        valid_rows: r.valid_rows,
        errors: r
            .errors
            .into_iter()
            .map(|e| ImportRowError {
                row: e.row,
                column: e.column,
                code: e.code.to_owned(),
                message: crate::i18n::t(lang, &format!("field_error.{}", e.code)),
            })
            .collect(),
        duplicates: r
            .duplicates
            .into_iter()
            .map(|d| ImportRowDuplicates {
                row: d.row,
                name: d.name,
                duplicates: d.duplicates.into_iter().map(Into::into).collect(),
            })
            .collect(),
        created: r.created,
        written: r.written,
    }
}

/// Imports customers from an xlsx (the body) with the form's rules and duplicate check.
#[utoipa::path(post, path = "/api/v1/customers/import", tag = "customers", params(CustomerImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = CustomerImportReportDto), (status = 422, body = Problem)))]
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<CustomerImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<CustomerImportReportDto>, AppError> {
    let write = match q.mode.as_deref().unwrap_or("check") {
        "check" => false,
        "import" => true,
        _ => return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "mode", "unknown_mode")),
    };
    let report =
        loupan_service::customer_import::import_customers(&state.services, &actor, &q.project_id, &body, write).await?;
    Ok(Json(import_report_dto(report, lang)))
}

/// The customers of a search as xlsx, masked as on screen (the export is audited).
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(CustomerParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CustomerParams>,
) -> Result<axum::response::Response, AppError> {
    let query = customers::CustomerQuery {
        q: q.q,
        project_id: q.project_id,
        owner_id: q.owner_id,
        grade: q.grade,
        source: q.source,
    };
    let bytes = loupan_service::customer_import::export_customers(&state.services, &actor, query).await?;
    Ok(crate::api::xlsx_download(bytes, "customers.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportJobParams {
    pub project_id: String,
}

/// Starts an import of the xlsx (the body) as a background job, for large files:
/// follow it at `GET /api/v1/jobs/{id}` (progress, then the report as `result`).
#[utoipa::path(post, path = "/api/v1/customers/import/jobs", tag = "customers", params(ImportJobParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 202, body = crate::api::integrations::JobDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ImportJobParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<crate::api::integrations::JobDto>), AppError> {
    let job = loupan_service::customer_import::start_import_job(&state.services, &actor, &q.project_id, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The customer merged into this one (it is then hidden from lists).
    pub merged_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeDto {
    pub id: String,
    pub kept_id: String,
    pub merged_id: String,
    /// Rows moved, per `table.column`.
    pub moved: std::collections::BTreeMap<String, usize>,
    pub merged_by: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub undone: bool,
}

impl From<customers::Merge> for MergeDto {
    fn from(m: customers::Merge) -> Self {
        MergeDto {
            id: m.id,
            kept_id: m.kept_id,
            merged_id: m.merged_id,
            moved: m.moved,
            merged_by: m.merged_by,
            merged_at: m.merged_at,
            undone: m.undone,
        }
    }
}

/// Merges another customer of the project into this one: follow-ups, deals and
/// history move here; the merge can be undone.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", request_body = MergeRequest,
    responses((status = 201, body = MergeDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<(StatusCode, Json<MergeDto>), AppError> {
    let m = customers::merge_customers(&state.services, &actor, &id, &req.merged_id).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Undoes a merge: every row it moved goes back to the merged customer.
#[utoipa::path(post, path = "/api/v1/customer-merges/{id}/undo", tag = "customers",
    responses((status = 200, body = MergeDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn undo_merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MergeDto>, AppError> {
    Ok(Json(customers::undo_merge(&state.services, &actor, &id).await?.into()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search, register))
        .routes(routes!(duplicate_check))
        .routes(routes!(import))
        .routes(routes!(import_job))
        .routes(routes!(merge))
        .routes(routes!(undo_merge))
        .routes(routes!(export))
        .routes(routes!(duplicate_records))
        .routes(routes!(rule))
        .routes(routes!(transfer))
        .routes(routes!(get_customer))
        .routes(routes!(reveal))
        .routes(routes!(list_follow_ups, add_follow_up))
        .routes(routes!(timeline))
}
