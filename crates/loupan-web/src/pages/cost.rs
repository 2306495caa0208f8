//! 成本 pages: a project's dynamic cost as a tree that drills down to the
//! ledger entries and documents behind each figure, the forms that post to
//! it (plan lines, contracts, changes and visas, expected cost), target
//! versions, suppliers and the group template. A form with mistakes comes
//! back with its values and each field's message (422).

use loupan_domain::ids::{BuildingId, ProjectId};
use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use loupan_domain::Permission;
use loupan_domain::cost::{AreaBasis, Bucket, ControlMode, CostContractKind, DocumentType, TargetStage, VariationKind};
use loupan_domain::inventory::FileOwner;
use loupan_service::{Actor, ServiceError, cost, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

const NAV: &str = "/cost";

/// A form that came back with mistakes: which one, its messages and what was typed.
pub(super) struct Sent {
    form: &'static str,
    errors: Value,
    values: BTreeMap<String, String>,
}

impl Sent {
    /// The field errors of `err`, or `err` itself when it is not about the input.
    fn of(form: &'static str, lang: Lang, data: &FormData, err: ServiceError) -> Result<Sent, AppError> {
        match err {
            ServiceError::Invalid(_) => {
                Ok(Sent { form, errors: field_messages(lang, &err), values: data.0.iter().cloned().collect() })
            }
            other => Err(other.into()),
        }
    }

    fn context(sent: &Option<Sent>) -> Value {
        match sent {
            Some(s) => context! { form => s.form, errors => s.errors.clone(), values => s.values.clone() },
            None => context! {},
        }
    }
}

fn page(html: axum::response::Html<String>, sent: &Option<Sent>) -> Response {
    let status = if sent.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, html).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct AsOf {
    as_of: Option<String>,
    bucket: Option<String>,
}

impl AsOf {
    /// The date asked for; a malformed one is the page's 422 like any field.
    fn date(&self) -> Result<Option<NaiveDate>, AppError> {
        as_of_date(self.as_of.as_deref())
    }
}

/// The `as_of` a page was asked for; a malformed one is the page's 422.
pub(super) fn as_of_date(text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match text.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "as_of", "invalid_date")),
    }
}

/// The group's dynamic cost: every project the reader sees with its totals,
/// the first-level items summed over them, and the projects without a tree.
async fn index(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<AsOf>,
) -> Result<Response, AppError> {
    let as_of = q.date()?;
    let group = cost::group_dynamic_cost(&state.services, &actor, as_of).await?;
    let html = render(
        &state,
        "cost_index.html",
        context! { group => Value::from_serialize(&group), as_of => as_of.map(|d| d.to_string()),
        can_manage => actor.can(Permission::ManageCost), ..base_context(&actor, lang, NAV) },
    )?;
    Ok(html.into_response())
}

/// The project's cost page, with a form's mistakes when one came back.
async fn project_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ProjectId,
    as_of: Option<NaiveDate>,
    sent: Option<Sent>,
) -> Result<Response, AppError> {
    let services = &state.services;
    let dynamic = cost::dynamic_cost(services, actor, id, as_of).await?;
    let project = inventory::get_project(services, actor, id).await?;
    let plan = cost::plan_lines(services, actor, id).await?;
    let contracts = cost::contracts(services, actor, id).await?;
    let variations = cost::variations(services, actor, id).await?;
    let suppliers: Vec<_> = cost::suppliers(services, actor).await?.into_iter().filter(|s| !s.blacklisted).collect();
    let leaves: Vec<_> = dynamic.items.iter().filter(|i| i.leaf).collect();
    let names: BTreeMap<String, String> =
        dynamic.items.iter().map(|i| (i.cost_item_id.to_string(), format!("{} {}", i.code, i.name))).collect();
    let supplier_names: BTreeMap<String, String> =
        cost::suppliers(services, actor).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    let buildings = inventory::list_buildings(services, actor, id).await?;
    let html = render(
        state,
        "cost_project.html",
        context! {
            project => context! { id => project.id, name => project.name },
            cost => Value::from_serialize(&dynamic), leaves => Value::from_serialize(&leaves),
            names => names, supplier_names => supplier_names,
            plan => Value::from_serialize(&plan), contracts => Value::from_serialize(&contracts),
            variations => Value::from_serialize(&variations), suppliers => Value::from_serialize(&suppliers),
            buildings => Value::from_serialize(&buildings),
            can_enter_areas => actor.can(Permission::ManageCost) || actor.can(Permission::ManageInventory),
            as_of => as_of.map(|d| d.to_string()),
            kinds => CostContractKind::names(), variation_kinds => VariationKind::names(), modes => ControlMode::names(),
            can_manage => actor.can(Permission::ManageCost), can_record => actor.can(Permission::RecordVariations),
            sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn project(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    Query(q): Query<AsOf>,
) -> Result<Response, AppError> {
    project_page(&state, &actor, lang, &id, q.date()?, None).await
}

async fn export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    Query(q): Query<AsOf>,
) -> Result<Response, AppError> {
    let bytes = crate::api::cost::dynamic_cost_xlsx(&state, &actor, lang, &id, q.date()?).await?;
    Ok(crate::api::xlsx_download(bytes, "dynamic-cost.xlsx"))
}

async fn group_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<AsOf>,
) -> Result<Response, AppError> {
    crate::api::cost::group_xlsx(&state, &actor, lang, q.date()?).await
}

fn back_to(id: &ProjectId, anchor: &str) -> Response {
    Redirect::to(&format!("/cost/projects/{id}#{anchor}")).into_response()
}

async fn copy_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<ProjectId>,
) -> Result<Response, AppError> {
    cost::copy_template(&state.services, &actor, &id).await?;
    Ok(back_to(&id, "tree"))
}

fn new_item(form: &FormData) -> cost::NewCostItem {
    cost::NewCostItem {
        parent_id: form.text("parent_id"),
        code: form.text("code"),
        name: form.text("name"),
        unit_of_measure: form.text("unit_of_measure"),
        department: form.text("department"),
        control_mode: form.text("control_mode"),
    }
}

async fn add_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    match cost::add_item(&state.services, &actor, Some(&id), new_item(&form)).await {
        Ok(_) => Ok(back_to(&id, "tree")),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("item", lang, &form, e)?)).await,
    }
}

async fn add_plan_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let line = cost::NewPlanLine {
        cost_item_id: form.text("cost_item_id"),
        name: form.text("name"),
        planned_amount: form.text("planned_amount"),
        tender_mode: form.text("tender_mode"),
        planned_month: form.text("planned_month"),
    };
    match cost::add_plan_line(&state.services, &actor, &id, line).await {
        Ok(_) => Ok(back_to(&id, "plan")),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("plan", lang, &form, e)?)).await,
    }
}

async fn sign_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let contract = cost::NewCostContract {
        code: form.text("code"),
        name: form.text("name"),
        supplier_id: form.text("supplier_id"),
        kind: form.text("kind"),
        retention_percent: form.text("retention_percent"),
        payment_terms: form.text("payment_terms"),
        signed_on: form.text("signed_on"),
        amends_id: form.text("amends_id"),
        over_plan_reason: form.text("over_plan_reason"),
        lines: vec![cost::NewContractLine { plan_line_id: form.text("plan_line_id"), amount: form.text("amount") }],
    };
    match cost::sign_contract(&state.services, &actor, &id, contract).await {
        Ok(c) => Ok(Redirect::to(&format!("/cost/contracts/{}", c.id)).into_response()),
        Err(e) => {
            let mut sent = Sent::of("contract", lang, &form, e)?;
            // The form has one line: its errors show on its fields.
            if let Some(map) = sent.errors.as_object() {
                let mut errors: BTreeMap<String, String> = BTreeMap::new();
                for (k, v) in map.try_iter_pairs().into_iter().flatten() {
                    let key = k.to_string().replace("lines[0].", "");
                    errors.insert(if key == "lines" { "plan_line_id".into() } else { key }, v.to_string());
                }
                sent.errors = Value::from_serialize(&errors);
            }
            project_page(&state, &actor, lang, &id, None, Some(sent)).await
        }
    }
}

async fn submit_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let variation = cost::NewVariation {
        kind: form.text("kind"),
        code: form.text("code"),
        contract_id: form.text("contract_id"),
        cost_item_id: form.text("cost_item_id"),
        reason: form.text("reason"),
        estimated_amount: form.text("estimated_amount"),
        submitted_on: form.text("submitted_on"),
    };
    match cost::submit_variation(&state.services, &actor, &id, variation).await {
        Ok(v) => Ok(Redirect::to(&format!("/cost/variations/{}", v.id)).into_response()),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("variation", lang, &form, e)?)).await,
    }
}

async fn add_expected(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let expected = cost::NewExpectedCost {
        cost_item_id: form.text("cost_item_id"),
        amount: form.text("amount"),
        reason: form.text("reason"),
        posted_on: form.text("posted_on"),
    };
    match cost::add_expected(&state.services, &actor, &id, expected).await {
        Ok(_) => Ok(back_to(&id, "tree")),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("expected", lang, &form, e)?)).await,
    }
}

/// A building's gross floor area, entered from the cost page (per-m² figures need it).
async fn set_gross_floor_area(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let building = BuildingId::from(form.text("building_id").unwrap_or_default());
    if inventory::get_building(&state.services, &actor, &building).await?.project_id != id {
        return Err(ServiceError::NotFound("building").into());
    }
    let area = form.text("gross_floor_area");
    match inventory::set_gross_floor_area(&state.services, &actor, &building, area.as_deref()).await {
        Ok(_) => Ok(back_to(&id, "buildings")),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("gfa", lang, &form, e)?)).await,
    }
}

async fn adjust_plan_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let line = form.text("plan_line_id").unwrap_or_default();
    let adjustment = cost::PlanAdjustment { planned_amount: form.text("planned_amount"), reason: form.text("reason") };
    match cost::request_plan_adjustment(&state.services, &actor, &line, adjustment).await {
        Ok(request) => Ok(Redirect::to(&format!("/approvals/{}", request.id)).into_response()),
        Err(e) => project_page(&state, &actor, lang, &id, None, Some(Sent::of("adjust", lang, &form, e)?)).await,
    }
}

/// Where a posting's document is shown.
fn document_link(document_type: DocumentType, id: &str, project: &str) -> Option<String> {
    match document_type {
        DocumentType::Contract => Some(format!("/cost/contracts/{id}")),
        DocumentType::Variation => Some(format!("/cost/variations/{id}")),
        DocumentType::TargetVersion => Some(format!("/cost/targets/{id}")),
        DocumentType::PlanLine => Some(format!("/cost/projects/{project}#plan")),
        DocumentType::Expected => None,
    }
}

fn postings(list: &[cost::Posting], project: &str) -> Vec<Value> {
    list.iter()
        .map(|p| {
            context! {
                posted_on => p.posted_on.to_string(), bucket => p.bucket.name(), amount => p.amount.to_string(),
                document_type => p.document_type.name(), note => p.note.clone(), posted_by => p.posted_by.clone(),
                link => document_link(p.document_type, &p.document_id, project),
            }
        })
        .collect()
}

async fn item_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    q: &AsOf,
    sent: Option<Sent>,
) -> Result<Response, AppError> {
    let bucket = match q.bucket.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(Bucket::parse(b).ok_or_else(|| {
            AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "bucket", "unknown_status")
        })?),
    };
    let ledger = cost::item_ledger(&state.services, actor, id, q.date()?, bucket).await?;
    let project = ledger.item.project_id.as_ref().map(|p| p.to_string()).unwrap_or_default();
    let html = render(
        state,
        "cost_item.html",
        context! {
            ledger => Value::from_serialize(&ledger), postings => postings(&ledger.postings, &project),
            project_id => project, bucket => bucket.map(Bucket::name), buckets => Bucket::names(),
            modes => ControlMode::names(), can_manage => actor.can(Permission::ManageCost),
            sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Response, AppError> {
    item_page(&state, &actor, lang, &id, &q, None).await
}

async fn edit_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let edit = cost::CostItemEdit {
        name: form.text("name"),
        unit_of_measure: form.text("unit_of_measure"),
        department: form.text("department"),
        control_mode: form.text("control_mode"),
    };
    match cost::edit_item(&state.services, &actor, &id, edit).await {
        Ok(_) => Ok(Redirect::to(&format!("/cost/items/{id}")).into_response()),
        Err(e) => item_page(&state, &actor, lang, &id, &AsOf::default(), Some(Sent::of("edit", lang, &form, e)?)).await,
    }
}

async fn contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    contract_page(&state, &actor, lang, &id, None).await
}

/// A cost contract's page; `attachment_error` says why a file was refused.
pub(super) async fn contract_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    attachment_error: Option<String>,
) -> Result<Response, AppError> {
    let c = cost::contract(&state.services, actor, id).await?;
    let entries = cost::postings_of_document(&state.services, actor, &c.project_id, c.id.as_str()).await?;
    let supplier = cost::supplier(&state.services, actor, c.supplier_id.as_str()).await?;
    // While it waits for approval, its approvers see what it would do to the dynamic cost.
    let impact = if c.status == loupan_domain::cost::CostContractStatus::Pending {
        cost::contract_impact(&state.services, actor, id).await?
    } else {
        Vec::new()
    };
    let attachments = super::attachments::attachments(state, actor, FileOwner::CostContract, id).await?;
    let names: BTreeMap<String, String> = cost::items(&state.services, actor, &c.project_id)
        .await?
        .into_iter()
        .map(|i| (i.id.to_string(), format!("{} {}", i.code, i.name)))
        .collect();
    let failed = attachment_error.is_some();
    let may_see_approval = match &c.approval_id {
        Some(request) => loupan_service::approvals::may_open(&state.services, actor, request.as_str()).await?,
        None => false,
    };
    let html = render(
        state,
        "cost_contract.html",
        context! {
            contract => Value::from_serialize(&c), supplier => Value::from_serialize(&supplier), names => names,
            impact => Value::from_serialize(&impact),
            postings => postings(&entries, c.project_id.as_str()),
            attachments => attachments, attachment_error => attachment_error,
            attach_action => format!("/cost/contracts/{id}/attachments"),
            can_attach => actor.can(FileOwner::CostContract.permissions().1),
            may_see_approval => may_see_approval,
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(if failed { (StatusCode::UNPROCESSABLE_ENTITY, html).into_response() } else { html.into_response() })
}

pub(super) async fn variation_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    sent: Option<Sent>,
    attachment_error: Option<String>,
) -> Result<Response, AppError> {
    let v = cost::variation(&state.services, actor, id).await?;
    let entries = cost::postings_of_document(&state.services, actor, &v.project_id, v.id.as_str()).await?;
    let attachments = super::attachments::attachments(state, actor, FileOwner::CostVariation, id).await?;
    let failed = attachment_error.is_some();
    let may_see_approval = match &v.approval_id {
        Some(request) => loupan_service::approvals::may_open(&state.services, actor, request.as_str()).await?,
        None => false,
    };
    let html = render(
        state,
        "cost_variation.html",
        context! {
            variation => Value::from_serialize(&v), postings => postings(&entries, v.project_id.as_str()),
            can_record => actor.can(Permission::RecordVariations), sent => Sent::context(&sent),
            attachments => attachments, attachment_error => attachment_error,
            attach_action => format!("/cost/variations/{id}/attachments"),
            can_attach => actor.can(FileOwner::CostVariation.permissions().1),
            may_see_approval => may_see_approval,
            ..base_context(actor, lang, NAV)
        },
    )?;
    if failed {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    Ok(page(html, &sent))
}

async fn variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    variation_page(&state, &actor, lang, &id, None, None).await
}

async fn confirm_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let confirmation = cost::VariationConfirmation {
        confirmed_amount: form.text("confirmed_amount"),
        confirmed_on: form.text("confirmed_on"),
    };
    match cost::confirm_variation(&state.services, &actor, &id, confirmation).await {
        Ok(_) => Ok(Redirect::to(&format!("/cost/variations/{id}")).into_response()),
        Err(e) => variation_page(&state, &actor, lang, &id, Some(Sent::of("confirm", lang, &form, e)?), None).await,
    }
}

async fn targets_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ProjectId,
    sent: Option<Sent>,
    request: cost::TrialRequest,
) -> Result<Response, AppError> {
    let versions = cost::versions(&state.services, actor, id).await?;
    let sources = request.source_project_ids.clone();
    let basis = request.basis.unwrap_or(AreaBasis::SaleableArea);
    // A trial calculation asked for: its amounts fill the new version's form.
    let (trial, trial_errors) = if sources.is_empty() {
        (None, Value::UNDEFINED)
    } else {
        match cost::trial_calculation(&state.services, actor, id, request).await {
            Ok(t) => (Some(t), Value::UNDEFINED),
            Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
            Err(e) => return Err(e.into()),
        }
    };
    let amounts: BTreeMap<String, String> = trial
        .as_ref()
        .map(|t| t.lines.iter().map(|l| (format!("amount_{}", l.cost_item_id), l.amount.to_string())).collect())
        .unwrap_or_default();
    let others: Vec<Value> = inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .filter(|p| &p.id != id)
        .map(|p| context! { checked => sources.contains(&p.id), id => p.id, name => p.name })
        .collect();
    let project = inventory::get_project(&state.services, actor, id).await?;
    let leaves: Vec<_> = cost::items(&state.services, actor, id).await?.into_iter().filter(|i| i.leaf).collect();
    let html = render(
        state,
        "cost_targets.html",
        context! {
            project => context! { id => project.id, name => project.name },
            versions => Value::from_serialize(&versions), leaves => Value::from_serialize(&leaves),
            trial => Value::from_serialize(&trial), trial_errors => trial_errors, amounts => amounts, others => others,
            basis => basis, bases => AreaBasis::names(),
            stages => TargetStage::names(), can_manage => actor.can(Permission::ManageCost),
            sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn targets(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    // `?source=a&source=b&basis=gross_floor_area`: the finished projects of a
    // trial calculation and the area its per-m² figures are of.
    let mut request = cost::TrialRequest::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "source" if !v.is_empty() => request.source_project_ids.push(ProjectId::from(v.into_owned())),
            "basis" => request.basis = v.parse().ok(),
            _ => {}
        }
    }
    targets_page(&state, &actor, lang, &id, None, request).await
}

async fn new_version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    // One amount field per leaf item, named by its id; blank ones are left out.
    let lines = form
        .0
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("amount_").map(|item| (item, v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(item, v)| cost::NewTargetLine { cost_item_id: Some(item.to_owned()), amount: Some(v.clone()) })
        .collect();
    let version = cost::NewTargetVersion { stage: form.text("stage"), note: form.text("note"), lines };
    match cost::new_version(&state.services, &actor, &id, version).await {
        Ok(v) => Ok(Redirect::to(&format!("/cost/targets/{}", v.version.id)).into_response()),
        Err(e) => {
            targets_page(&state, &actor, lang, &id, Some(Sent::of("version", lang, &form, e)?), Default::default())
                .await
        }
    }
}

async fn version(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    version_page(&state, &actor, lang, &id, None).await
}

/// A target version; `sent` is an adoption refused for its input, shown in its form.
async fn version_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    sent: Option<Sent>,
) -> Result<Response, AppError> {
    let detail = cost::version(&state.services, actor, id).await?;
    let others = cost::versions(&state.services, actor, &detail.version.project_id).await?;
    let html = render(
        state,
        "cost_version.html",
        context! {
            detail => Value::from_serialize(&detail), others => Value::from_serialize(&others),
            can_manage => actor.can(Permission::ManageCost), sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn adopt(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    match cost::adopt_version(&state.services, &actor, &id, cost::Adoption { adopted_on: form.text("adopted_on") })
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/cost/targets/{id}")).into_response()),
        Err(e) => version_page(&state, &actor, lang, &id, Some(Sent::of("adopt", lang, &form, e)?)).await,
    }
}

#[derive(Debug, Deserialize)]
struct CompareQuery {
    from: String,
    to: String,
}

async fn compare(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let comparison = cost::compare(&state.services, &actor, &q.from, &q.to).await?;
    let html = render(
        &state,
        "cost_compare.html",
        context! { comparison => Value::from_serialize(&comparison), ..base_context(&actor, lang, NAV) },
    )?;
    Ok(html.into_response())
}

async fn suppliers_page(state: &AppState, actor: &Actor, lang: Lang, sent: Option<Sent>) -> Result<Response, AppError> {
    let suppliers = cost::suppliers(&state.services, actor).await?;
    let html = render(
        state,
        "cost_suppliers.html",
        context! {
            suppliers => Value::from_serialize(&suppliers), can_manage => actor.can(Permission::ManageCost),
            sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn suppliers(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    suppliers_page(&state, &actor, lang, None).await
}

async fn add_supplier(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let supplier = cost::NewSupplier {
        name: form.text("name"),
        credit_code: form.text("credit_code"),
        qualifications: form.text("qualifications"),
        contact_name: form.text("contact_name"),
        contact_phone: form.text("contact_phone"),
    };
    match cost::add_supplier(&state.services, &actor, supplier).await {
        Ok(_) => Ok(Redirect::to("/cost/suppliers").into_response()),
        Err(e) => suppliers_page(&state, &actor, lang, Some(Sent::of("supplier", lang, &form, e)?)).await,
    }
}

async fn blacklist(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, step)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let on = match step.as_str() {
        "blacklist" => true,
        "unblacklist" => false,
        _ => return Err(AppError::new(StatusCode::NOT_FOUND, "route_not_found")),
    };
    cost::set_blacklisted(&state.services, &actor, &id, on).await?;
    Ok(Redirect::to("/cost/suppliers").into_response())
}

async fn template_page(state: &AppState, actor: &Actor, lang: Lang, sent: Option<Sent>) -> Result<Response, AppError> {
    let items = cost::template(&state.services, actor).await?;
    let html = render(
        state,
        "cost_template.html",
        context! {
            items => Value::from_serialize(&items), modes => ControlMode::names(),
            can_manage => actor.can(Permission::ManageCost), sent => Sent::context(&sent),
            ..base_context(actor, lang, NAV)
        },
    )?;
    Ok(page(html, &sent))
}

async fn template(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    template_page(&state, &actor, lang, None).await
}

async fn add_template_item(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    match cost::add_item(&state.services, &actor, None, new_item(&form)).await {
        Ok(_) => Ok(Redirect::to("/cost/template").into_response()),
        Err(e) => template_page(&state, &actor, lang, Some(Sent::of("item", lang, &form, e)?)).await,
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cost", get(index))
        .route("/cost/group.xlsx", get(group_export))
        .route("/cost/projects/{id}", get(project))
        .route("/cost/projects/{id}/dynamic-cost.xlsx", get(export))
        .route("/cost/projects/{id}/items/from-template", post(copy_template))
        .route("/cost/projects/{id}/items", post(add_item))
        .route("/cost/projects/{id}/plan-lines", post(add_plan_line))
        .route("/cost/projects/{id}/contracts", post(sign_contract))
        .route("/cost/projects/{id}/variations", post(submit_variation))
        .route("/cost/projects/{id}/expected", post(add_expected))
        .route("/cost/projects/{id}/plan-adjustments", post(adjust_plan_line))
        .route("/cost/projects/{id}/gross-floor-area", post(set_gross_floor_area))
        .route("/cost/projects/{id}/targets", get(targets).post(new_version))
        .route("/cost/items/{id}", get(item).post(edit_item))
        .route("/cost/contracts/{id}", get(contract))
        .route("/cost/variations/{id}", get(variation))
        .route("/cost/variations/{id}/confirm", post(confirm_variation))
        .route("/cost/targets/compare", get(compare))
        .route("/cost/targets/{id}", get(version))
        .route("/cost/targets/{id}/adopt", post(adopt))
        .route("/cost/suppliers", get(suppliers).post(add_supplier))
        .route("/cost/suppliers/{id}/{step}", post(blacklist))
        .route("/cost/template", get(template).post(add_template_item))
}
