//! Service processes for after-sales staff and agents (A1, A2): the cases
//! of the caller's projects, a case step by step with its documents ticked
//! and a receipt slip (收件回执) to print, and the company's definitions,
//! edited into new versions.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::ids::{ContractId, ProcessCaseId, ProcessDefinitionId, ProjectId};
use loupan_domain::processes::{FeeAmount, ProcessKind, ProcessStatus};
use loupan_service::aftersales::processes::{
    self, CaseQuery, DefinitionForm, FeeForm, ProcessCase, StepDone, StepForm,
};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

const PAGE: u64 = 50;

#[derive(Deserialize, Default)]
struct ListQuery {
    project_id: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    overdue: Option<String>,
    mine: Option<String>,
    page: Option<u64>,
}

fn chosen(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let s = &state.services;
    let page = q.page.unwrap_or(0).min(10_000);
    let query = CaseQuery {
        project_id: chosen(&q.project_id).map(ProjectId::from),
        building_id: None,
        kind: chosen(&q.kind).and_then(|k| ProcessKind::parse(&k)),
        status: chosen(&q.status).and_then(|k| ProcessStatus::parse(&k)),
        overdue: q.overdue.is_some(),
        mine: q.mine.is_some(),
        offset: page * PAGE,
        limit: PAGE,
    };
    let (cases, total) = processes::cases(s, &actor, &query).await?;
    let projects: Vec<Value> = inventory::list_projects(s, &actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        &state,
        "service_cases.html",
        context! {
            cases => cases, total => total, page => page, more => (page + 1) * PAGE < total,
            projects => projects, kinds => ProcessKind::names(), statuses => ProcessStatus::names(),
            q => context! { project_id => q.project_id, kind => q.kind, status => q.status,
                overdue => q.overdue.is_some(), mine => q.mine.is_some() },
            ..base_context(&actor, lang, "/aftersales")
        },
    )?;
    Ok(html.into_response())
}

async fn case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
) -> Result<Response, AppError> {
    let c = processes::case(&state.services, &actor, &id).await?;
    case_page(&state, &actor, lang, c, Value::UNDEFINED, StatusCode::OK)
}

fn case_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    c: ProcessCase,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let html = render(
        state,
        "service_case.html",
        context! { c => c, errors => errors, may_read_deals => actor.can(Permission::ReadDeals),
            today => state.services.clock.today().to_string(),
        ..base_context(actor, lang, "/aftersales") },
    )?;
    Ok((status, html).into_response())
}

/// Re-shows the case with the refusal beside the form, or goes back to it.
async fn after(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ProcessCaseId,
    result: Result<ProcessCase, ServiceError>,
    anchor: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/aftersales/service-cases/{id}{anchor}")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            let c = processes::case(&state.services, actor, id).await?;
            case_page(state, actor, lang, c, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

fn number<T: std::str::FromStr>(form: &FormData, name: &str) -> Option<T> {
    form.get(name).and_then(|v| v.trim().parse().ok())
}

async fn receive(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
    form: FormData,
) -> Result<Response, AppError> {
    let position: i32 = number(&form, "position").unwrap_or(-1);
    let document = form.get("document").unwrap_or_default().to_owned();
    let result = processes::receive_document(&state.services, &actor, &id, position, &document).await;
    after(&state, &actor, lang, &id, result, &format!("#step-{position}")).await
}

async fn complete(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
    form: FormData,
) -> Result<Response, AppError> {
    let done =
        StepDone { position: number(&form, "position"), note: form.text("note"), version: number(&form, "version") };
    let result = processes::complete_step(&state.services, &actor, &id, done).await;
    after(&state, &actor, lang, &id, result, "").await
}

async fn disburse(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
    form: FormData,
) -> Result<Response, AppError> {
    let disbursement = processes::DisbursementForm {
        amount: form.text("amount"),
        received_on: form.text("received_on"),
        lender: form.text("lender"),
        version: number(&form, "version"),
    };
    let result = processes::record_disbursement(&state.services, &actor, &id, disbursement).await;
    after(&state, &actor, lang, &id, result, "#disbursement").await
}

async fn cancel(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
    form: FormData,
) -> Result<Response, AppError> {
    let result =
        processes::cancel_case(&state.services, &actor, &id, form.get("reason"), number(&form, "version")).await;
    after(&state, &actor, lang, &id, result, "").await
}

#[derive(Deserialize, Default)]
struct ReceiptQuery {
    position: Option<i32>,
}

/// 收件回执: the documents of a step received so far, to print and hand to the buyer.
async fn receipt(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessCaseId>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response, AppError> {
    let c = processes::case(&state.services, &actor, &id).await?;
    let position = q.position.or(c.summary.current_position).unwrap_or(0);
    let step = c.steps.iter().find(|s| s.position == position).cloned();
    let Some(step) = step else { return Err(ServiceError::NotFound("step").into()) };
    let printed_at = state.services.clock.now().to_rfc3339();
    let missing: Vec<&str> =
        step.documents.iter().filter(|d| d.received_at.is_none()).map(|d| d.name.as_str()).collect();
    let html = render(
        &state,
        "service_case_receipt.html",
        context! { c => c, step => step, missing => missing, printed_at => printed_at, ..base_context(&actor, lang, "/aftersales") },
    )?;
    Ok(html.into_response())
}

/// Starts a case by hand from a contract's page.
async fn start(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(contract): Path<ContractId>,
    form: FormData,
) -> Result<Response, AppError> {
    let c = processes::start_case(&state.services, &actor, &contract, form.get("kind")).await?;
    Ok(Redirect::to(&format!("/aftersales/service-cases/{}", c.summary.id)).into_response())
}

async fn definitions(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    let list = processes::definitions(&state.services, &actor).await?;
    let html = render(
        &state,
        "process_definitions.html",
        context! { definitions => list, ..base_context(&actor, lang, "/aftersales") },
    )?;
    Ok(html.into_response())
}

async fn definition(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessDefinitionId>,
) -> Result<Response, AppError> {
    definition_page(&state, &actor, lang, &id, (Value::UNDEFINED, None), StatusCode::OK).await
}

/// The steps as the edit form's rows: each field by its row, two empty rows to add steps.
fn step_rows(steps: &[loupan_domain::processes::StepDefinition]) -> Vec<Value> {
    let mut rows: Vec<Value> = steps
        .iter()
        .map(|s| {
            let fees: Vec<String> = s
                .fees
                .iter()
                .map(|f| match &f.amount {
                    FeeAmount::Fixed(m) => format!("{}={m}", f.name),
                    FeeAmount::Formula(t) => format!("{}={t}", f.name),
                })
                .collect();
            context! { name => s.name, role => s.role.name(), due_days => s.due_days, from => s.from.name(),
            remind => s.remind_days_before, documents => s.documents.join("\n"), fees => fees.join("\n") }
        })
        .collect();
    for _ in 0..2 {
        rows.push(context! { name => "", role => "aftersales", due_days => "", from => "previous_step", remind => 0,
        documents => "", fees => "" });
    }
    rows
}

async fn definition_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ProcessDefinitionId,
    (errors, typed): (Value, Option<Vec<Value>>),
    status: StatusCode,
) -> Result<Response, AppError> {
    let (d, versions) = processes::definition(&state.services, actor, id).await?;
    let rows = typed.unwrap_or_else(|| step_rows(&d.steps));
    let may_edit = actor.can(Permission::ManageAftersales)
        && match &d.project_id {
            Some(p) => actor.sees_project(p),
            None => actor.visible_projects().is_none(),
        };
    let projects: Vec<Value> = inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        state,
        "process_definition.html",
        context! { d => d, versions => versions, rows => rows, errors => errors, may_edit => may_edit,
        may_copy => actor.can(Permission::ManageAftersales), projects => projects,
        roles => loupan_domain::Role::ALL.iter().map(|r| r.name()).collect::<Vec<_>>(),
        ..base_context(actor, lang, "/aftersales") },
    )?;
    Ok((status, html).into_response())
}

/// The edit form's rows as the service reads them; rows without a name or
/// anything else typed are left out. Fees are typed one per line, `name=amount`
/// or `name=formula`.
fn steps_of(form: &FormData) -> (Vec<StepForm>, Vec<Value>) {
    let mut steps = Vec::new();
    let mut rows = Vec::new();
    for i in 0..processes_max_rows() {
        let field = |name: &str| form.get(&format!("step_{i}_{name}")).map(str::to_owned);
        let Some(name) = field("name") else { break };
        let documents = field("documents").unwrap_or_default();
        let fees = field("fees").unwrap_or_default();
        let due_days = field("due_days").unwrap_or_default();
        if name.trim().is_empty() && documents.trim().is_empty() && fees.trim().is_empty() && due_days.trim().is_empty()
        {
            continue;
        }
        rows.push(context! { name => name, role => field("role"), due_days => due_days, from => field("from"),
        remind => field("remind"), documents => documents, fees => fees });
        steps.push(StepForm {
            name: Some(name),
            role: field("role"),
            due_days: Some(due_days),
            from: field("from"),
            documents: documents.lines().map(str::to_owned).collect(),
            fees: fees
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|line| {
                    let (name, value) = line.split_once('=').unwrap_or((line, ""));
                    let value = value.trim();
                    let is_amount = loupan_domain::Money::parse(value).is_ok();
                    FeeForm {
                        name: Some(name.trim().to_owned()),
                        amount: is_amount.then(|| value.to_owned()),
                        formula: (!is_amount && !value.is_empty()).then(|| value.to_owned()),
                    }
                })
                .collect(),
            remind_days_before: field("remind"),
        });
    }
    (steps, rows)
}

const fn processes_max_rows() -> usize {
    loupan_domain::processes::MAX_STEPS + 2
}

fn definition_form(form: &FormData, steps: Vec<StepForm>) -> DefinitionForm {
    DefinitionForm {
        kind: form.text("kind"),
        name: form.text("name"),
        start_event: form.text("start_event"),
        city: form.text("city"),
        project_id: form.text("project_id"),
        property_type: form.text("property_type"),
        steps,
        retired: form.get("retired").is_some(),
        version: number(form, "version"),
    }
}

/// Saves the next version (or, with `copy`, a new definition for a project).
async fn save(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProcessDefinitionId>,
    form: FormData,
) -> Result<Response, AppError> {
    let (steps, rows) = steps_of(&form);
    let copy = form.get("copy").is_some();
    let lineage = (!copy).then_some(&id);
    match processes::save_definition(&state.services, &actor, lineage, definition_form(&form, steps)).await {
        Ok(d) => Ok(Redirect::to(&format!("/aftersales/processes/{}", d.id)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            definition_page(&state, &actor, lang, &id, (errors, Some(rows)), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    building_id: Option<String>,
    kind: Option<String>,
}

/// How many projects' buildings the board's choice lists.
const BOARD_PROJECTS: usize = 50;

/// The buildings of the caller's projects (the first fifty projects), to
/// choose one from, and the first of them.
pub(super) async fn buildings_to_choose(
    s: &loupan_service::Services,
    actor: &Actor,
) -> Result<(Vec<Value>, Option<loupan_domain::ids::BuildingId>), AppError> {
    let mut buildings = Vec::new();
    let mut first = None;
    for p in inventory::list_projects(s, actor).await?.into_iter().take(BOARD_PROJECTS) {
        for b in inventory::list_buildings(s, actor, &p.id).await? {
            first.get_or_insert_with(|| b.id.clone());
            buildings.push(context! { id => b.id, name => b.name, project => p.name.clone() });
        }
    }
    Ok((buildings, first))
}

/// 服务看板: a building's units coloured by the step of their case.
async fn board_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<BoardQuery>,
) -> Result<Response, AppError> {
    actor.require(Permission::ReadAftersales)?;
    let s = &state.services;
    let (buildings, first) = buildings_to_choose(s, &actor).await?;
    let chosen = chosen(&q.building_id).map(loupan_domain::ids::BuildingId::from).or(first);
    let kind = chosen_kind(&q.kind);
    let board = match &chosen {
        Some(building) => Some(processes::board(s, &actor, building, kind).await?),
        None => None,
    };
    let mut floors: Vec<Value> = Vec::new();
    if let Some(b) = &board {
        let mut current: Option<(i32, Vec<&processes::BoardUnit>)> = None;
        for u in &b.units {
            match &mut current {
                Some((floor, units)) if *floor == u.floor => units.push(u),
                _ => {
                    if let Some((floor, units)) = current.take() {
                        floors.push(context! { floor => floor, units => Value::from_serialize(&units) });
                    }
                    current = Some((u.floor, vec![u]));
                }
            }
        }
        if let Some((floor, units)) = current {
            floors.push(context! { floor => floor, units => Value::from_serialize(&units) });
        }
    }
    let html = render(
        &state,
        "service_board.html",
        context! { board => Value::from_serialize(&board), floors => floors, buildings => buildings,
            may_declare => actor.can(Permission::ManageAftersales), today => s.clock.today().to_string(),
        kinds => ProcessKind::names(), ..base_context(&actor, lang, "/aftersales") },
    )?;
    Ok(html.into_response())
}

/// Declares the board's building ready for handover, then shows its handover cases.
async fn ready(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<loupan_domain::ids::BuildingId>,
    form: FormData,
) -> Result<Response, AppError> {
    processes::declare_ready(&state.services, &actor, &id, form.get("ready_on")).await?;
    Ok(Redirect::to(&format!("/aftersales/board?building_id={id}&kind=handover")).into_response())
}

fn chosen_kind(text: &Option<String>) -> ProcessKind {
    chosen(text).and_then(|k| ProcessKind::parse(&k)).unwrap_or(ProcessKind::Mortgage)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/aftersales/service-cases", get(list))
        .route("/aftersales/service-cases/{id}", get(case))
        .route("/aftersales/service-cases/{id}/documents", post(receive))
        .route("/aftersales/service-cases/{id}/complete", post(complete))
        .route("/aftersales/service-cases/{id}/cancel", post(cancel))
        .route("/aftersales/service-cases/{id}/disbursement", post(disburse))
        .route("/aftersales/service-cases/{id}/receipt", get(receipt))
        .route("/contracts/{id}/service-cases", post(start))
        .route("/aftersales/board", get(board_page))
        .route("/aftersales/buildings/{id}/ready", post(ready))
        .route("/aftersales/processes", get(definitions))
        .route("/aftersales/processes/{id}", get(definition).post(save))
}
