//! The handover (A4): the settlement check, appointment slots and bookings
//! (by staff, or by the buyer through their link without logging in), the
//! check-in, the inspection's defects and their rectification, the keys,
//! the record as PDF, and the warranty of a unit handed over.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use loupan_domain::handover::{DefectSeverity, HandoverRules, WarrantyItem};
use loupan_domain::ids::{BuildingId, ContractId, DefectId, HandoverId, ProjectId, UnitId};
use loupan_domain::inventory::FileOwner;
use loupan_service::aftersales::handover::{
    self, Booking, Completion, Defect, Handover, HandoverLine, NewDefect, NewSlot, RulesForm, SettlementCheck, Slot,
    Warranty,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::api::inventory::{AttachmentParams, FileDto};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

/// What stands between a contract and its keys: every unpaid instalment
/// (compensation and fees included), an area compensation the survey calls
/// for that is not applied yet, and, once the handover is open, each
/// document the buyer has not brought.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/handover/check", tag = "aftersales",
    responses((status = 200, body = SettlementCheck), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn settlement_check(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<SettlementCheck>, AppError> {
    Ok(Json(handover::check(&state.services, &actor, &id).await?))
}

/// A contract's handover; 404 before it is opened.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/handover", tag = "aftersales",
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn contract_handover(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover::handover_of_contract(&state.services, &actor, &id).await?))
}

/// Opens the handover of a contract whose building is ready (declaring the
/// building ready opens those of its contracts then): the buyer's booking
/// link is made. Answers the existing handover when there is one. 409
/// `building_not_ready`, `contract_not_active`.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/handover", tag = "aftersales",
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn open_handover(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ContractId>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover::open(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HandoverListParams {
    /// `open`, `booked`, `checked_in`, `handed_over`.
    #[param(pattern = "^(|open|booked|checked_in|handed_over)$")]
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HandoverList {
    pub items: Vec<HandoverLine>,
}

/// A building's handovers by unit.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/handovers", tag = "aftersales", params(HandoverListParams),
    responses((status = 200, body = HandoverList), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn building_handovers(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiQuery(q): ApiQuery<HandoverListParams>,
) -> Result<Json<HandoverList>, AppError> {
    let items = handover::handovers_of_building(&state.services, &actor, &id, q.status.as_deref()).await?;
    Ok(Json(HandoverList { items }))
}

#[derive(Serialize, ToSchema)]
pub struct SlotList {
    pub items: Vec<Slot>,
}

/// A building's appointment slots from today on.
#[utoipa::path(get, path = "/api/v1/buildings/{id}/handover-slots", tag = "aftersales",
    responses((status = 200, body = SlotList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_slots(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
) -> Result<Json<SlotList>, AppError> {
    Ok(Json(SlotList { items: handover::slots(&state.services, &actor, &id).await? }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewSlotRequest {
    /// From today on.
    #[schema(required = true, nullable = false, format = Date)]
    pub day: Option<String>,
    /// As the buyer reads it: `09:00-12:00`.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 20, pattern = "\\S")]
    pub period: Option<String>,
    /// How many buyers the period takes.
    #[schema(required = true, nullable = false, minimum = 1, maximum = 500)]
    pub capacity: Option<i64>,
}

/// Adds an appointment period to a ready building's handover day; 409
/// `slot_exists` for the same day and period, `building_not_ready`.
#[utoipa::path(post, path = "/api/v1/buildings/{id}/handover-slots", tag = "aftersales", request_body = NewSlotRequest,
    responses((status = 201, body = Slot), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_slot(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<BuildingId>,
    ApiJson(req): ApiJson<NewSlotRequest>,
) -> Result<(StatusCode, Json<Slot>), AppError> {
    let form = NewSlot { day: req.day, period: req.period, capacity: req.capacity };
    Ok((StatusCode::CREATED, Json(handover::add_slot(&state.services, &actor, &id, form).await?)))
}

/// A handover with its appointment, documents, defects, keys and warranty.
#[utoipa::path(get, path = "/api/v1/aftersales/handovers/{id}", tag = "aftersales",
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_handover(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover::handover(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct BookRequest {
    /// A slot of the handover's building, from today on.
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub slot_id: Option<String>,
}

/// Books (or moves) the appointment. Refused while money is owed, each
/// unpaid item named (422, `settlement`); 409 `slot_full`, `handover_checked_in`.
#[utoipa::path(post, path = "/api/v1/aftersales/handovers/{id}/appointment", tag = "aftersales",
    request_body = BookRequest,
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn book(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
    ApiJson(req): ApiJson<BookRequest>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover::book(&state.services, &actor, &id, req.slot_id.as_deref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CheckInRequest {
    /// Documents the buyer brought, by the names the project asks for.
    #[serde(default)]
    #[schema(max_items = 30)]
    pub documents: Vec<String>,
}

/// The buyer arrived (签到): the inspection may start. Refused while money is
/// owed, each unpaid item named. Called again, it ticks more documents.
#[utoipa::path(post, path = "/api/v1/aftersales/handovers/{id}/check-in", tag = "aftersales",
    request_body = CheckInRequest,
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn check_in(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
    ApiJson(req): ApiJson<CheckInRequest>,
) -> Result<Json<Handover>, AppError> {
    Ok(Json(handover::check_in(&state.services, &actor, &id, &req.documents).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewDefectRequest {
    /// Where: `主卧`, `厨房`.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 40, pattern = "\\S")]
    pub room: Option<String>,
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(structure|waterproofing|heating_cooling|electrical|plumbing|decoration)$"
    )]
    pub item: Option<String>,
    /// Sets the deadline: `urgent` (24 h by default), `normal` (7 days), `minor` (15 days).
    #[schema(required = true, nullable = false, pattern = "^(urgent|normal|minor)$")]
    pub severity: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 500, pattern = "\\S")]
    pub description: Option<String>,
    /// The contractor responsible (free text).
    #[schema(max_length = 100)]
    pub contractor: Option<String>,
}

/// A remark of the inspection (验房): a defect for engineering with its
/// deadline by severity. 409 `not_checked_in`.
#[utoipa::path(post, path = "/api/v1/aftersales/handovers/{id}/defects", tag = "aftersales",
    request_body = NewDefectRequest,
    responses((status = 201, body = Defect), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_defect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
    ApiJson(req): ApiJson<NewDefectRequest>,
) -> Result<(StatusCode, Json<Defect>), AppError> {
    let form = NewDefect {
        room: req.room,
        item: req.item,
        severity: req.severity,
        description: req.description,
        contractor: req.contractor,
    };
    Ok((StatusCode::CREATED, Json(handover::add_defect(&state.services, &actor, &id, form).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct KeyRequest {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 40, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(required = true, nullable = false, minimum = 1, maximum = 99)]
    pub count: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
pub struct MeterRequest {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 40, pattern = "\\S")]
    pub meter: Option<String>,
    /// A non-negative decimal with at most three places.
    #[schema(required = true, nullable = false, pattern = "^[0-9]{1,12}(\\.[0-9]{1,3})?$")]
    pub reading: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[schema(required = true, nullable = false, min_items = 1, max_items = 20)]
    pub keys: Option<Vec<KeyRequest>>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub meters: Vec<MeterRequest>,
    /// The buyer takes the keys with defects still open; they are listed on the record.
    #[serde(default)]
    pub accept_open_defects: bool,
}

/// Hands the keys over. Refused with every blocking item named (money,
/// compensation, documents: 422 `settlement`) and while a defect is not
/// accepted (422 `defects_open`, unless `accept_open_defects`). The unit
/// becomes `handed_over`; the warranty starts today.
#[utoipa::path(post, path = "/api/v1/aftersales/handovers/{id}/complete", tag = "aftersales",
    request_body = CompleteRequest,
    responses((status = 200, body = Handover), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn complete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> Result<Json<Handover>, AppError> {
    let form = Completion {
        keys: req.keys.unwrap_or_default().into_iter().map(|k| (k.name.unwrap_or_default(), k.count)).collect(),
        meters: req.meters.into_iter().map(|m| (m.meter.unwrap_or_default(), m.reading.unwrap_or_default())).collect(),
        accept_open_defects: req.accept_open_defects,
    };
    Ok(Json(handover::complete(&state.services, &actor, &id, form).await?))
}

/// The handover record (房屋交付确认书) as a PDF letter; 409 `not_handed_over`.
#[utoipa::path(get, path = "/api/v1/aftersales/handovers/{id}/record.pdf", tag = "aftersales",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
async fn record_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<HandoverId>,
) -> Result<Response, AppError> {
    let pdf = handover::record_pdf(&state.services, &actor, &id).await?;
    Ok(crate::api::notices::inline_pdf(pdf, "handover-record.pdf"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DefectParams {
    pub project_id: Option<String>,
    /// `open`, `rectified`, `accepted`.
    #[param(pattern = "^(|open|rectified|accepted)$")]
    pub status: Option<String>,
    /// Only open defects past their deadline.
    pub overdue: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]{0,9}$")]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DefectPage {
    pub items: Vec<Defect>,
    pub next_cursor: Option<String>,
}

/// Defects of the caller's projects for engineering, the soonest due first.
#[utoipa::path(get, path = "/api/v1/aftersales/defects", tag = "aftersales", params(DefectParams),
    responses((status = 200, body = DefectPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_defects(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<DefectParams>,
) -> Result<Json<DefectPage>, AppError> {
    let given = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let (offset, limit) = crate::api::offset_page(&q.cursor, q.limit)?;
    let project = given(&q.project_id).map(ProjectId::from);
    let (items, total) = handover::defects(
        &state.services,
        &actor,
        project.as_ref(),
        q.status.as_deref(),
        q.overdue.unwrap_or(false),
        (offset, limit),
    )
    .await?;
    let next_cursor = crate::api::next_offset(offset, items.len(), total);
    Ok(Json(DefectPage { items, next_cursor }))
}

/// A defect with its photos.
#[utoipa::path(get, path = "/api/v1/aftersales/defects/{id}", tag = "aftersales",
    responses((status = 200, body = Defect), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_defect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<DefectId>,
) -> Result<Json<Defect>, AppError> {
    Ok(Json(handover::defect(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct RectifyRequest {
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Engineering fixed it (整改完成): it awaits re-inspection. 409 `defect_not_open`.
#[utoipa::path(post, path = "/api/v1/aftersales/defects/{id}/rectify", tag = "aftersales",
    request_body = RectifyRequest,
    responses((status = 200, body = Defect), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn rectify(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<DefectId>,
    ApiJson(req): ApiJson<RectifyRequest>,
) -> Result<Json<Defect>, AppError> {
    Ok(Json(handover::rectify(&state.services, &actor, &id, req.note.as_deref()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct ReinspectRequest {
    /// Accepted; or found again (a `note` says why, and a new deadline runs).
    #[schema(required = true, nullable = false)]
    pub accepted: Option<bool>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Re-inspection (复验) of a rectified defect. 409 `defect_not_rectified`.
#[utoipa::path(post, path = "/api/v1/aftersales/defects/{id}/reinspect", tag = "aftersales",
    request_body = ReinspectRequest,
    responses((status = 200, body = Defect), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reinspect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<DefectId>,
    ApiJson(req): ApiJson<ReinspectRequest>,
) -> Result<Json<Defect>, AppError> {
    Ok(Json(handover::reinspect(&state.services, &actor, &id, req.accepted, req.note.as_deref()).await?))
}

/// Adds a photo of a defect (a picture of at most 10 MB; the body is the file).
#[utoipa::path(post, path = "/api/v1/aftersales/defects/{id}/photos", tag = "aftersales",
    params(("id" = String, Path), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn add_photo(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachmentParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    let name = q.file_name.unwrap_or_else(|| "photo".into());
    let f = loupan_service::inventory::files::upload(
        &state.services,
        &actor,
        (FileOwner::HandoverDefect, &id, "photo"),
        &name,
        body.to_vec(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

#[derive(Serialize, ToSchema)]
pub struct WarrantyList {
    /// Empty before the unit is handed over.
    pub items: Vec<Warranty>,
}

/// A unit's warranty (保修期) per item, from its handover day.
#[utoipa::path(get, path = "/api/v1/units/{id}/warranty", tag = "aftersales",
    responses((status = 200, body = WarrantyList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn unit_warranty(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<UnitId>,
) -> Result<Json<WarrantyList>, AppError> {
    Ok(Json(WarrantyList { items: handover::warranty(&state.services, &actor, &id).await? }))
}

/// Hours engineering has to rectify a defect, by severity (up to ten years).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeadlineHoursDto {
    #[schema(minimum = 1, maximum = 87600)]
    pub urgent: Option<i64>,
    #[schema(minimum = 1, maximum = 87600)]
    pub normal: Option<i64>,
    #[schema(minimum = 1, maximum = 87600)]
    pub minor: Option<i64>,
}

/// Months of warranty by item, never below the regulation's minimum.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WarrantyMonthsDto {
    /// The design life; 600 (50 years) by default.
    #[schema(minimum = 600, maximum = 1200)]
    pub structure: Option<i64>,
    #[schema(minimum = 60, maximum = 1200)]
    pub waterproofing: Option<i64>,
    /// Two heating and cooling seasons.
    #[schema(minimum = 24, maximum = 1200)]
    pub heating_cooling: Option<i64>,
    #[schema(minimum = 24, maximum = 1200)]
    pub electrical: Option<i64>,
    #[schema(minimum = 24, maximum = 1200)]
    pub plumbing: Option<i64>,
    #[schema(minimum = 24, maximum = 1200)]
    pub decoration: Option<i64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HandoverRulesDto {
    pub deadline_hours: Option<DeadlineHoursDto>,
    pub warranty_months: Option<WarrantyMonthsDto>,
    /// The documents a buyer brings to the handover, the whole list.
    #[schema(max_items = 30, value_type = Option<Vec<crate::api::processes::DocumentName>>)]
    pub documents: Option<Vec<String>>,
}

impl From<HandoverRules> for HandoverRulesDto {
    fn from(r: HandoverRules) -> Self {
        let hours = |s: DefectSeverity| Some(r.deadline(s).num_hours());
        let months = |i: WarrantyItem| Some(i64::from(r.months(i)));
        HandoverRulesDto {
            deadline_hours: Some(DeadlineHoursDto {
                urgent: hours(DefectSeverity::Urgent),
                normal: hours(DefectSeverity::Normal),
                minor: hours(DefectSeverity::Minor),
            }),
            warranty_months: Some(WarrantyMonthsDto {
                structure: months(WarrantyItem::Structure),
                waterproofing: months(WarrantyItem::Waterproofing),
                heating_cooling: months(WarrantyItem::HeatingCooling),
                electrical: months(WarrantyItem::Electrical),
                plumbing: months(WarrantyItem::Plumbing),
                decoration: months(WarrantyItem::Decoration),
            }),
            documents: Some(r.documents),
        }
    }
}

impl HandoverRulesDto {
    fn into_form(self) -> RulesForm {
        let named = |pairs: Vec<(&str, Option<i64>)>| -> BTreeMap<String, i64> {
            pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect()
        };
        RulesForm {
            deadline_hours: self
                .deadline_hours
                .map(|d| named(vec![("urgent", d.urgent), ("normal", d.normal), ("minor", d.minor)])),
            warranty_months: self.warranty_months.map(|w| {
                named(vec![
                    ("structure", w.structure),
                    ("waterproofing", w.waterproofing),
                    ("heating_cooling", w.heating_cooling),
                    ("electrical", w.electrical),
                    ("plumbing", w.plumbing),
                    ("decoration", w.decoration),
                ])
            }),
            documents: self.documents,
        }
    }
}

/// A project's handover rules: deadlines by severity, warranty by item, documents.
#[utoipa::path(get, path = "/api/v1/projects/{id}/handover-rules", tag = "aftersales",
    responses((status = 200, body = HandoverRulesDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<HandoverRulesDto>, AppError> {
    Ok(Json(handover::rules(&state.services, &actor, &id).await?.into()))
}

/// Changes a project's handover rules; a part left out keeps its value.
#[utoipa::path(put, path = "/api/v1/projects/{id}/handover-rules", tag = "aftersales", request_body = HandoverRulesDto,
    responses((status = 200, body = HandoverRulesDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn put_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<HandoverRulesDto>,
) -> Result<Json<HandoverRulesDto>, AppError> {
    Ok(Json(handover::set_rules(&state.services, &actor, &id, req.into_form()).await?.into()))
}

/// The buyer's booking page as data (no login): the unit, the appointment
/// and the free places. 404 for an unknown link.
#[utoipa::path(get, path = "/api/v1/handover-bookings/{token}", tag = "aftersales",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, body = Booking), (status = 404, body = Problem)))]
async fn get_booking(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Json<Booking>, AppError> {
    Ok(Json(handover::booking(&state.services, &token).await?))
}

/// The buyer books or moves their appointment through their link (no login;
/// at most 20 times an hour). 422 `settlement` while money is owed, 409 `slot_full`.
#[utoipa::path(post, path = "/api/v1/handover-bookings/{token}", tag = "aftersales",
    params(("token" = String, Path, pattern = "^[0-9a-f]{32}$")), request_body = BookRequest,
    responses((status = 200, body = Booking), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn book_by_link(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    ApiJson(req): ApiJson<BookRequest>,
) -> Result<Json<Booking>, AppError> {
    Ok(Json(handover::book_by_link(&state.services, &token, req.slot_id.as_deref()).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(settlement_check))
        .routes(routes!(contract_handover, open_handover))
        .routes(routes!(building_handovers))
        .routes(routes!(list_slots, add_slot))
        .routes(routes!(get_handover))
        .routes(routes!(book))
        .routes(routes!(check_in))
        .routes(routes!(add_defect))
        .routes(routes!(complete))
        .routes(routes!(record_pdf))
        .routes(routes!(list_defects))
        .routes(routes!(get_defect))
        .routes(routes!(rectify))
        .routes(routes!(reinspect))
        .routes(routes!(add_photo))
        .routes(routes!(unit_warranty))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(get_booking, book_by_link))
}
