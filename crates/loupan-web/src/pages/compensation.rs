//! 面积补差 for after-sales staff: a project's settlement rules, each
//! building's surveyed areas (the surveyor's spreadsheet) and its batch, a
//! batch line by line with adjustments, submission to approval.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::aftersales::{FundRate, rate_text};
use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::PropertyType;
use loupan_service::aftersales::compensation::{self, Batch};
use loupan_service::aftersales::measured;
use loupan_service::aftersales::settlement::{self, FundForm, SettlementForm, TiersForm};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

#[derive(Deserialize, Default)]
struct OverviewQuery {
    project_id: Option<String>,
}

async fn overview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<OverviewQuery>,
) -> Result<Response, AppError> {
    overview_page(&state, &actor, lang, q.project_id.map(ProjectId::from), (Value::UNDEFINED, None), StatusCode::OK)
        .await
}

/// The project's rules, buildings and batches; the first visible project unless one is chosen.
/// `entered`: the rules form as it was sent and refused, shown again as typed.
async fn overview_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    project_id: Option<ProjectId>,
    (errors, entered): (Value, Option<&FormData>),
    status: StatusCode,
) -> Result<Response, AppError> {
    let typed = |name: &str, stored: String| entered.and_then(|f| f.get(name)).map_or(stored, str::to_owned);
    actor.require(Permission::ReadAftersales)?;
    let s = &state.services;
    let projects = inventory::list_projects(s, actor).await?;
    let chosen = project_id.or_else(|| projects.first().map(|p| p.id.clone()));
    let mut page = base_context(actor, lang, "/aftersales");
    if let Some(project) = &chosen {
        let rules = settlement::settlement(s, actor, project).await?;
        let buildings: Vec<Value> = inventory::list_buildings(s, actor, project)
            .await?
            .into_iter()
            .map(|b| context! { id => b.id, name => b.name })
            .collect();
        let batches: Vec<Value> = compensation::list_batches(s, actor, Some(project))
            .await?
            .into_iter()
            .map(|b| {
                context! { id => b.id, building => b.building_name, status => b.status, rule => b.rule,
                units => b.totals.units, payable => b.totals.payable.grouped(), refundable => b.totals.refundable.grouped(),
                created_by => b.created_by, created_at => b.created_at.to_rfc3339() }
            })
            .collect();
        let funds: Vec<Value> = PropertyType::ALL
            .iter()
            .map(|kind| {
                let (method, value) = match rules.funds.get(kind) {
                    Some(FundRate::PerM2 { per_m2 }) => ("per_m2", per_m2.to_string()),
                    Some(FundRate::PercentOfPrice { ten_thousandths }) => {
                        ("percent_of_price", rate_text(*ten_thousandths))
                    }
                    None => ("", String::new()),
                };
                let method = typed(&format!("fund_method_{}", kind.name()), method.to_owned());
                let value = typed(&format!("fund_value_{}", kind.name()), value);
                context! { property_type => kind.name(), method => method, value => value }
            })
            .collect();
        let t = rules.deed_tax;
        page = context! {
            project_id => project,
            rules => context! { rule => typed("rule", rules.rule.name().to_owned()),
                formula => typed("formula", rules.formula.unwrap_or_default()),
                due_days => typed("due_days", rules.due_days.to_string()),
                threshold => typed("threshold", t.threshold.to_string()),
                first_small => typed("first_small", rate_text(t.first_small)),
                first_large => typed("first_large", rate_text(t.first_large)),
                second_small => typed("second_small", rate_text(t.second_small)),
                second_large => typed("second_large", rate_text(t.second_large)),
                further => typed("further", rate_text(t.further)) },
            funds => funds, buildings => buildings, batches => batches,
            variables => loupan_domain::aftersales::FORMULA_VARIABLES,
            ..base_context(actor, lang, "/aftersales")
        };
    }
    let projects: Vec<Value> = projects.into_iter().map(|p| context! { id => p.id, name => p.name }).collect();
    let html = render(
        state,
        "compensation.html",
        context! { projects => projects, errors => errors, may_manage => actor.can(Permission::ManageAftersales),
        ..page },
    )?;
    Ok((status, html).into_response())
}

async fn save_settlement(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let project = ProjectId::from(form.get("project_id").unwrap_or_default());
    let funds: Vec<FundForm> = PropertyType::ALL
        .iter()
        .filter_map(|kind| {
            let method = form.text(&format!("fund_method_{}", kind.name()))?;
            Some(FundForm {
                property_type: kind.name().to_owned(),
                method,
                value: form.get(&format!("fund_value_{}", kind.name())).unwrap_or_default().to_owned(),
            })
        })
        .collect();
    let settings = SettlementForm {
        rule: form.text("rule"),
        formula: Some(form.get("formula").unwrap_or_default().to_owned()),
        due_days: form.get("due_days").map(|d| d.trim().parse().unwrap_or(-1)),
        deed_tax: Some(TiersForm {
            threshold: form.text("threshold"),
            first_small: form.text("first_small"),
            first_large: form.text("first_large"),
            second_small: form.text("second_small"),
            second_large: form.text("second_large"),
            further: form.text("further"),
        }),
        funds: Some(funds.clone()),
    };
    match settlement::set_settlement(&state.services, &actor, &project, settings).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/aftersales/compensation?project_id={project}&notice=saved")).into_response())
        }
        Err(ServiceError::Invalid(mut invalid)) => {
            // The service names a rate by its place among those sent
            // (`funds[1].value`); the page shows it beside its property type.
            for e in &mut invalid.0 {
                let place = e.field.strip_prefix("funds[").and_then(|rest| rest.split_once(']')).map(|(i, _)| i);
                if let Some(form) = place.and_then(|i| i.parse::<usize>().ok()).and_then(|i| funds.get(i)) {
                    e.field = format!("funds.{}", form.property_type);
                }
            }
            let errors = field_messages(lang, &ServiceError::Invalid(invalid));
            overview_page(
                &state,
                &actor,
                lang,
                Some(project.clone()),
                (errors, Some(&form)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The surveyor's spreadsheet for one building: checked, and written when every row is right.
async fn import_areas(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let upload = crate::pages::Upload::read(multipart).await?;
    let check_only = upload.field("mode") == Some("validate");
    let building = inventory::get_building(&state.services, &actor, &id).await?;
    let (report, errors) =
        match measured::import_measured_areas(&state.services, &actor, &id, &upload.file, check_only).await {
            Ok(report) => (Some(crate::api::compensation::import_dto(report, lang)), Value::UNDEFINED),
            Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
            Err(e) => return Err(e.into()),
        };
    let html = render(
        &state,
        "compensation_import.html",
        context! { building => context! { id => building.id, name => building.name, project_id => building.project_id },
        report => report, errors => errors, ..base_context(&actor, lang, "/aftersales") },
    )?;
    Ok(html.into_response())
}

async fn create_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
) -> Result<Response, AppError> {
    let project = inventory::get_building(&state.services, &actor, &id).await?.project_id;
    form_post!(
        lang,
        compensation::create_batch(&state.services, &actor, &id).await,
        |batch| format!("/aftersales/batches/{}", batch.id),
        |errors| overview_page(&state, &actor, lang, Some(project.clone()), (errors, None), StatusCode::OK).await
    )
}

async fn batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let b = compensation::get_batch(&state.services, &actor, &id).await?;
    batch_page(&state, &actor, lang, b, (Value::UNDEFINED, None), StatusCode::OK).await
}

async fn batch_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    b: Batch,
    (errors, failed_line): (Value, Option<String>),
    status: StatusCode,
) -> Result<Response, AppError> {
    let lines: Vec<Value> = b
        .lines
        .iter()
        .map(|l| {
            context! { id => l.id, unit_id => l.unit_id, unit => l.unit_number, contract_id => l.contract_id, contract => l.contract_number,
            contract_gross => l.contract_gross_area.to_string(), measured_gross => l.measured_gross_area.to_string(),
            contract_inner => l.contract_inner_area.to_string(), measured_inner => l.measured_inner_area.to_string(),
            error_ratio => l.error_ratio, inner_error_ratio => l.inner_error_ratio, total => l.contract_total.grouped(),
            computed => l.computed_amount.to_string(), amount => l.amount.to_string(), refund => l.amount.is_negative(),
            adjusted => l.amount != l.computed_amount, reason => l.adjustment_reason, adjusted_by => l.adjusted_by,
            rescission => l.rescission_right, homes => l.homes_owned_before,
            deed_tax => (l.deed_tax_after - l.deed_tax_before).to_string(), fund => (l.fund_after - l.fund_before).to_string(),
            applied => l.applied, failed => failed_line.as_deref() == Some(l.id.as_str()) }
        })
        .collect();
    let skipped: Vec<Value> =
        b.skipped.iter().map(|s| context! { unit => s.unit_number, reason => s.reason }).collect();
    // The request is linked for those who may open it (its submitter, approvers and auditors).
    let may_see_approval = match &b.approval_id {
        Some(request) => loupan_service::approvals::may_open(&state.services, actor, request).await?,
        None => false,
    };
    let t = &b.totals;
    let html = render(
        state,
        "compensation_batch.html",
        context! {
            b => context! { id => b.id, project_id => b.project_id, building_id => b.building_id, building => b.building_name,
                status => b.status, rule => b.rule, formula => b.formula, due_days => b.due_days, rescission_days => b.rescission_days,
                created_by => b.created_by, created_at => b.created_at.to_rfc3339(), applied_by => b.applied_by,
                applied_at => b.applied_at.map(|a| a.to_rfc3339()), version => b.version, approval_id => b.approval_id },
            totals => context! { units => t.units, payable => t.payable.grouped(), refundable => t.refundable.grouped(),
                deed_tax => t.deed_tax_difference.grouped(), fund => t.fund_difference.grouped(),
                rescission_rights => t.rescission_rights, adjusted => t.adjusted },
            lines => lines, skipped => skipped, errors => errors,
            may_manage => actor.can(Permission::ManageAftersales), may_read_deals => actor.can(Permission::ReadDeals),
            may_see_approval => may_see_approval,
            ..base_context(actor, lang, "/aftersales")
        },
    )?;
    Ok((status, html).into_response())
}

async fn adjust_line(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, line)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, AppError> {
    let adjustment = compensation::LineAdjustment {
        amount: form.text("amount"),
        reason: form.text("reason"),
        homes_owned_before: form.get("homes_owned_before").map(|h| h.trim().parse().unwrap_or(-1)),
        version: form.get("version").and_then(|v| v.parse().ok()),
    };
    match compensation::adjust_line(&state.services, &actor, &id, &line, adjustment).await {
        Ok(_) => Ok(Redirect::to(&format!("/aftersales/batches/{id}#line-{line}")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            let b = compensation::get_batch(&state.services, &actor, &id).await?;
            batch_page(&state, &actor, lang, b, (errors, Some(line)), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn submit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let version = form.get("version").and_then(|v| v.parse().ok());
    compensation::submit_batch(&state.services, &actor, &id, version).await?;
    Ok(Redirect::to(&format!("/aftersales/batches/{id}")).into_response())
}

async fn recompute(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let version = form.get("version").and_then(|v| v.parse().ok());
    // Recomputed: shown at once with the units it left out.
    let b = compensation::recompute(&state.services, &actor, &id, version).await?;
    batch_page(&state, &actor, lang, b, (Value::UNDEFINED, None), StatusCode::OK).await
}

/// A unit's surveyed areas from its page.
async fn unit_areas(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UnitId>,
    form: FormData,
) -> Result<Response, AppError> {
    let areas = measured::MeasuredAreas {
        measured_gross_area: form.text("measured_gross_area"),
        measured_inner_area: form.text("measured_inner_area"),
        version: form.get("version").and_then(|v| v.parse().ok()),
    };
    match measured::set_measured_areas(&state.services, &actor, &id, areas).await {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}#measured-areas")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            crate::pages::sales::unit_page_with_errors(&state, &actor, lang, &id, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/aftersales", get(|| async { Redirect::to("/aftersales/service-cases") }))
        .route("/aftersales/compensation", get(overview))
        .route("/aftersales/compensation/settlement", post(save_settlement))
        .route("/aftersales/buildings/{id}/measured-areas", post(import_areas))
        .route("/aftersales/buildings/{id}/batches", post(create_batch))
        .route("/aftersales/batches/{id}", get(batch))
        .route("/aftersales/batches/{id}/lines/{line}", post(adjust_line))
        .route("/aftersales/batches/{id}/submit", post(submit))
        .route("/aftersales/batches/{id}/recompute", post(recompute))
        .route("/units/{id}/measured-areas", post(unit_areas))
}
