//! The handover for after-sales staff and engineering (A4), tablet first:
//! a building's handovers and appointment slots, one handover from the
//! settlement check to the keys (the inspection's defects with photos from
//! the tablet's camera), engineering's list of defects, and the buyer's
//! booking page behind their link (no login).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::handover::{DefectSeverity, DefectStatus, HandoverStatus, WarrantyItem};
use loupan_domain::ids::{BuildingId, ContractId, DefectId, HandoverId, ProjectId};
use loupan_domain::inventory::FileOwner;
use loupan_service::aftersales::handover::{self, Completion, Handover, NewDefect, NewSlot};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData, MaybeAuthed};
use crate::i18n::{self, Lang};
use crate::pages::{Upload, base_context, render};
use crate::{AppError, AppState};

type Multipart = Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>;

const PAGE: u64 = 50;

fn chosen(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Every message of a refusal, in order (a settlement check names several items under one field).
fn messages(lang: Lang, err: &ServiceError) -> Vec<String> {
    match err {
        ServiceError::Invalid(invalid) => invalid.0.iter().map(|f| i18n::field_message(lang, f)).collect(),
        other => vec![i18n::t(lang, &format!("error.{}", other.code()))],
    }
}

#[derive(Deserialize, Default)]
struct BuildingQuery {
    building_id: Option<String>,
}

/// A building's handovers and its appointment slots.
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<BuildingQuery>,
) -> Result<Response, AppError> {
    actor.require(Permission::ReadAftersales)?;
    let s = &state.services;
    let (buildings, first) = super::processes::buildings_to_choose(s, &actor).await?;
    let chosen = chosen(&q.building_id).map(BuildingId::from).or(first);
    let listed = listed(s, &actor, chosen, buildings).await?;
    let project = match &listed.0 {
        Some(b) => Some(inventory::get_building(s, &actor, b).await?.project_id),
        None => None,
    };
    list_page(&state, &actor, lang, listed, project, Value::UNDEFINED).await
}

/// The chosen building, the buildings to choose from, its handovers and its slots.
type Listed = (Option<BuildingId>, Vec<Value>, Vec<handover::HandoverLine>, Vec<handover::Slot>);

async fn listed(
    s: &loupan_service::Services,
    actor: &Actor,
    chosen: Option<BuildingId>,
    buildings: Vec<Value>,
) -> Result<Listed, AppError> {
    let (lines, slots) = match &chosen {
        Some(b) => (handover::handovers_of_building(s, actor, b, None).await?, handover::slots(s, actor, b).await?),
        None => (Vec::new(), Vec::new()),
    };
    Ok((chosen, buildings, lines, slots))
}

/// The list page with the project's handover rules (and a refused change's errors).
async fn list_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    (chosen, buildings, lines, slots): Listed,
    project: Option<ProjectId>,
    errors: Value,
) -> Result<Response, AppError> {
    let s = &state.services;
    let rules = match &project {
        Some(p) => Some(handover::rules(s, actor, p).await?),
        None => None,
    };
    let rules = rules.map(|r| {
        let hours: Vec<Value> = DefectSeverity::ALL
            .into_iter()
            .map(|v| context! { name => v.name(), value => r.deadline(v).num_hours() })
            .collect();
        let months: Vec<Value> = WarrantyItem::ALL
            .into_iter()
            .map(|i| context! { name => i.name(), value => r.months(i), least => i.default_months() })
            .collect();
        context! { hours => hours, months => months, documents => r.documents.join("\n") }
    });
    let status = if errors.is_undefined() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let html = render(
        state,
        "handovers.html",
        context! {
            rules => rules, project_id => project, errors => errors,
            building_id => chosen, buildings => buildings, lines => lines, slots => slots,
            may_manage => actor.can(Permission::ManageAftersales), today => s.clock.today().to_string(),
            ..base_context(actor, lang, "/aftersales")
        },
    )?;
    Ok((status, html).into_response())
}

/// Saves a project's handover rules from the list page's form.
async fn save_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(project): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    // A number that does not read is sent on as -1: refused as out of range beside its field.
    let number = |name: String| form.get(&name).map(|v| v.trim().parse::<i64>().unwrap_or(-1));
    let pick = |names: &[&'static str], prefix: &str| -> std::collections::BTreeMap<String, i64> {
        names.iter().filter_map(|n| number(format!("{prefix}{n}")).map(|v| ((*n).to_owned(), v))).collect()
    };
    let rules = handover::RulesForm {
        deadline_hours: Some(pick(&DefectSeverity::names(), "hours_")),
        warranty_months: Some(pick(&WarrantyItem::names(), "months_")),
        documents: form
            .get("documents")
            .map(|d| d.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()),
    };
    let building = form.get("building_id").filter(|b| !b.trim().is_empty()).map(BuildingId::from);
    match handover::set_rules(&state.services, &actor, &project, rules).await {
        Ok(_) => {
            let to = building.map(|b| format!("?building_id={b}")).unwrap_or_default();
            Ok(Redirect::to(&format!("/aftersales/handovers{to}#rules")).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let s = &state.services;
            let (buildings, first) = super::processes::buildings_to_choose(s, &actor).await?;
            let listed = listed(s, &actor, building.or(first), buildings).await?;
            let errors = crate::views::field_messages(lang, &e);
            list_page(&state, &actor, lang, listed, Some(project), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn add_slot(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<BuildingId>,
    form: FormData,
) -> Result<Response, AppError> {
    let slot = NewSlot {
        day: form.text("day"),
        period: form.text("period"),
        capacity: form.get("capacity").and_then(|c| c.trim().parse().ok()),
    };
    handover::add_slot(&state.services, &actor, &id, slot).await?;
    Ok(Redirect::to(&format!("/aftersales/handovers?building_id={id}#slots")).into_response())
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<HandoverId>,
) -> Result<Response, AppError> {
    let h = handover::handover(&state.services, &actor, &id).await?;
    page(&state, &actor, lang, h, Vec::new(), StatusCode::OK).await
}

async fn page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    h: Handover,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let slots = match h.status {
        HandoverStatus::Open | HandoverStatus::Booked => {
            handover::slots(&state.services, actor, &h.building_id).await?
        }
        _ => Vec::new(),
    };
    let base = state.services.config.public_url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned();
    let html = render(
        state,
        "handover.html",
        context! {
            h => Value::from_serialize(&h), slots => slots, errors => errors, public_url => base,
            may_manage => actor.can(Permission::ManageAftersales),
            may_rectify => actor.can(Permission::RectifyDefects),
            may_read_deals => actor.can(Permission::ReadDeals),
            items => WarrantyItem::names(), severities => DefectSeverity::names(),
            ..base_context(actor, lang, "/aftersales")
        },
    )?;
    Ok((status, html).into_response())
}

/// Back to the handover, or the handover again with the refusal on top.
async fn after<T>(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &HandoverId,
    result: Result<T, ServiceError>,
    anchor: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/aftersales/handovers/{id}{anchor}")).into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let status = if matches!(e, ServiceError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            let h = handover::handover(&state.services, actor, id).await?;
            page(state, actor, lang, h, messages(lang, &e), status).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn book(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<HandoverId>,
    form: FormData,
) -> Result<Response, AppError> {
    let result = handover::book(&state.services, &actor, &id, form.get("slot_id")).await;
    after(&state, &actor, lang, &id, result, "#appointment").await
}

async fn check_in(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<HandoverId>,
    form: FormData,
) -> Result<Response, AppError> {
    let result = handover::check_in(&state.services, &actor, &id, &form.all("documents")).await;
    after(&state, &actor, lang, &id, result, "#inspection").await
}

/// A remark of the inspection, with a photo from the tablet's camera if one was taken.
async fn add_defect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<HandoverId>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = Upload::read(multipart).await?;
    let form = NewDefect {
        room: upload.field("room").map(str::to_owned),
        item: upload.field("item").map(str::to_owned),
        severity: upload.field("severity").map(str::to_owned),
        description: upload.field("description").map(str::to_owned),
        contractor: upload.field("contractor").map(str::to_owned),
    };
    let s = &state.services;
    let result = match handover::add_defect(s, &actor, &id, form).await {
        Ok(defect) if !upload.file.is_empty() => {
            let name = if upload.file_name.is_empty() { "photo.jpg" } else { upload.file_name.as_str() };
            inventory::files::upload(
                s,
                &actor,
                (FileOwner::HandoverDefect, defect.id.as_str(), "photo"),
                name,
                upload.file,
            )
            .await
            .map(|_| ())
        }
        other => other.map(|_| ()),
    };
    after(&state, &actor, lang, &id, result, "#defects").await
}

async fn add_photo(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<DefectId>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = Upload::read(multipart).await?;
    let s = &state.services;
    let defect = handover::defect(s, &actor, &id).await?;
    let name = if upload.file_name.is_empty() { "photo.jpg" } else { upload.file_name.as_str() };
    let result =
        inventory::files::upload(s, &actor, (FileOwner::HandoverDefect, id.as_str(), "photo"), name, upload.file).await;
    after(&state, &actor, lang, &defect.handover_id, result, &format!("#defect-{}", defect.number)).await
}

async fn rectify(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<DefectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let s = &state.services;
    let defect = handover::defect(s, &actor, &id).await?;
    let result = handover::rectify(s, &actor, &id, form.get("note")).await;
    if form.get("back").is_some_and(|b| b == "defects") && result.is_ok() {
        return Ok(Redirect::to("/aftersales/defects").into_response());
    }
    after(&state, &actor, lang, &defect.handover_id, result, &format!("#defect-{}", defect.number)).await
}

async fn reinspect(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<DefectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let s = &state.services;
    let defect = handover::defect(s, &actor, &id).await?;
    let accepted = form.get("accepted").map(|a| a == "true");
    let result = handover::reinspect(s, &actor, &id, accepted, form.get("note")).await;
    after(&state, &actor, lang, &defect.handover_id, result, &format!("#defect-{}", defect.number)).await
}

/// A defect's own address (its photos' owner) is its place on the handover.
async fn defect_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<DefectId>,
) -> Result<Response, AppError> {
    let d = handover::defect(&state.services, &actor, &id).await?;
    Ok(Redirect::to(&format!("/aftersales/handovers/{}#defect-{}", d.handover_id, d.number)).into_response())
}

async fn complete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<HandoverId>,
    form: FormData,
) -> Result<Response, AppError> {
    // The form's rows come with the usual names; a row without a count or a
    // reading was not handed over or read.
    let keys = form
        .all("key_name")
        .into_iter()
        .zip(form.all("key_count"))
        .filter(|(_, count)| !count.trim().is_empty())
        .map(|(name, count)| (name, Some(count.trim().parse().unwrap_or(0))))
        .collect();
    let meters = form
        .all("meter")
        .into_iter()
        .zip(form.all("reading"))
        .filter(|(_, reading)| !reading.trim().is_empty())
        .collect();
    let done = Completion { keys, meters, accept_open_defects: form.get("accept_open_defects").is_some() };
    let result = handover::complete(&state.services, &actor, &id, done).await;
    after(&state, &actor, lang, &id, result, "").await
}

async fn record(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<HandoverId>,
) -> Result<Response, AppError> {
    let pdf = handover::record_pdf(&state.services, &actor, &id).await?;
    Ok(crate::api::notices::inline_pdf(pdf, "handover-record.pdf"))
}

/// Opens a contract's handover from its page.
async fn open(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(contract): Path<ContractId>,
) -> Result<Response, AppError> {
    let h = handover::open(&state.services, &actor, &contract).await?;
    Ok(Redirect::to(&format!("/aftersales/handovers/{}", h.id)).into_response())
}

#[derive(Deserialize, Default)]
struct DefectQuery {
    project_id: Option<String>,
    status: Option<String>,
    overdue: Option<String>,
    page: Option<u64>,
}

/// Engineering's list: the defects of the caller's projects, the soonest due first.
async fn defects(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<DefectQuery>,
) -> Result<Response, AppError> {
    let s = &state.services;
    let page = q.page.unwrap_or(0).min(10_000);
    let project = chosen(&q.project_id).map(ProjectId::from);
    let status = chosen(&q.status).filter(|st| DefectStatus::parse(st).is_some());
    let (items, total) =
        handover::defects(s, &actor, project.as_ref(), status.as_deref(), q.overdue.is_some(), (page * PAGE, PAGE))
            .await?;
    let projects: Vec<Value> = inventory::list_projects(s, &actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        &state,
        "defects.html",
        context! {
            defects => items, total => total, page => page, more => (page + 1) * PAGE < total, projects => projects,
            statuses => DefectStatus::names(), may_rectify => actor.can(Permission::RectifyDefects),
            q => context! { project_id => q.project_id, status => status, overdue => q.overdue.is_some() },
            ..base_context(&actor, lang, "/aftersales")
        },
    )?;
    Ok(html.into_response())
}

// ---------------------------------------------------------------------------
// The buyer's link

fn booking_view(
    state: &AppState,
    lang: Lang,
    actor: Option<&Actor>,
    token: &str,
    booking: Value,
    said: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = actor.and_then(|a| a.session.as_ref()).map(|s| s.csrf_token.clone()).unwrap_or_default();
    let html = render(
        state,
        "handover_booking.html",
        context! { lang => lang.code(), csrf => csrf, token => token, b => booking, said => said },
    )?;
    Ok((status, html).into_response())
}

async fn booking(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let b = handover::booking(&state.services, &token).await?;
    booking_view(&state, lang, actor.as_ref(), &token, Value::from_serialize(&b), None, StatusCode::OK)
}

async fn book_by_link(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    match handover::book_by_link(&state.services, &token, form.get("slot_id")).await {
        Ok(b) => {
            let said = i18n::t(lang, "handover.booked_thanks");
            booking_view(&state, lang, actor.as_ref(), &token, Value::from_serialize(&b), Some(said), StatusCode::OK)
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let b = handover::booking(&state.services, &token).await?;
            let said = messages(lang, &e).join(" ");
            let status = if matches!(e, ServiceError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            booking_view(&state, lang, actor.as_ref(), &token, Value::from_serialize(&b), Some(said), status)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/aftersales/handovers", get(list))
        .route("/aftersales/buildings/{id}/handover-slots", post(add_slot))
        .route("/aftersales/projects/{id}/handover-rules", post(save_rules))
        .route("/aftersales/handovers/{id}", get(show))
        .route("/aftersales/handovers/{id}/appointment", post(book))
        .route("/aftersales/handovers/{id}/check-in", post(check_in))
        .route("/aftersales/handovers/{id}/defects", post(add_defect))
        .route("/aftersales/handovers/{id}/complete", post(complete))
        .route("/aftersales/handovers/{id}/record.pdf", get(record))
        .route("/aftersales/defects", get(defects))
        .route("/aftersales/defects/{id}", get(defect_page))
        .route("/aftersales/defects/{id}/photos", post(add_photo))
        .route("/aftersales/defects/{id}/rectify", post(rectify))
        .route("/aftersales/defects/{id}/reinspect", post(reinspect))
        .route("/contracts/{id}/handover", post(open))
        .route("/handover/{token}", get(booking).post(book_by_link))
}
