//! 成本 pages beyond one project's tree: responsibility cost per department
//! (责任成本) and the monthly cost reports (成本月报) with the form that
//! issues one, explaining each item that moved.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Datelike;
use loupan_domain::ids::ProjectId;
use loupan_service::{Actor, ServiceError, cost, inventory, workbench};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

const NAV: &str = "/cost";

#[derive(Debug, Default, Deserialize)]
struct ResponsibilityQuery {
    department: Option<String>,
    as_of: Option<String>,
}

/// One department's items (or every department's) across the reader's
/// projects; the reader's own department first when they have one.
async fn responsibility(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ResponsibilityQuery>,
) -> Result<Response, AppError> {
    let as_of = super::cost::as_of_date(q.as_of.as_deref())?;
    let own = workbench::own_department(&state.services, &actor).await?;
    let department = match q.department {
        Some(d) => Some(d),
        None => own.clone(),
    };
    let cost = cost::responsibility_cost(&state.services, &actor, department.as_deref(), as_of).await?;
    let html = render(
        &state,
        "cost_responsibility.html",
        context! {
            responsibility => Value::from_serialize(&cost), departments => cost::department_names(&state.services, &actor).await?,
            own_department => own, as_of => as_of.map(|d| d.to_string()), ..base_context(&actor, lang, NAV)
        },
    )?;
    Ok(html.into_response())
}

async fn responsibility_xlsx(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ResponsibilityQuery>,
) -> Result<Response, AppError> {
    let as_of = super::cost::as_of_date(q.as_of.as_deref())?;
    crate::api::cost::responsibility_xlsx(&state, &actor, lang, q.department.as_deref(), as_of).await
}

async fn report_xlsx(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, month)): Path<(ProjectId, String)>,
) -> Result<Response, AppError> {
    crate::api::cost::report_xlsx(&state, &actor, lang, &id, &month).await
}

#[derive(Debug, Default, Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// The project's issued reports and, for a chosen closed month, the draft to
/// explain and issue.
async fn reports_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ProjectId,
    month: Option<&str>,
    sent: Option<(Value, FormData)>,
) -> Result<Response, AppError> {
    let services = &state.services;
    let project = inventory::get_project(services, actor, id).await?;
    let issued = cost::reports(services, actor, id).await?;
    let (draft, month_errors) = match month.map(str::trim).filter(|m| !m.is_empty()) {
        None => (None, Value::UNDEFINED),
        Some(m) => match cost::report_draft(services, actor, id, Some(m)).await {
            Ok(d) => (Some(d), Value::UNDEFINED),
            Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
            Err(e) => return Err(e.into()),
        },
    };
    let today = state.services.clock.today();
    let (errors, values) = match &sent {
        Some((errors, form)) => (errors.clone(), form.values()),
        None => (month_errors, Default::default()),
    };
    let html = render(
        state,
        "cost_reports.html",
        context! {
            project => context! { id => project.id, name => project.name },
            issued => Value::from_serialize(&issued), draft => Value::from_serialize(&draft),
            month => month, last_month => (today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today)).format("%Y-%m").to_string(),
            errors => errors, values => values,
            can_manage => actor.can(loupan_domain::Permission::ManageCost),
            ..base_context(actor, lang, NAV)
        },
    )?;
    let status = if sent.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, html).into_response())
}

async fn reports(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, AppError> {
    reports_page(&state, &actor, lang, &id, q.month.as_deref(), None).await
}

async fn issue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let explanations = form
        .values()
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("explanation.")?.to_owned(), v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let report = cost::NewCostReport { month: form.text("month"), summary: form.text("summary"), explanations };
    match cost::issue_report(&state.services, &actor, &id, report).await {
        Ok(r) => Ok(Redirect::to(&format!("/cost/projects/{id}/reports/{}", r.month)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            let month = form.text("month");
            reports_page(&state, &actor, lang, &id, month.as_deref(), Some((errors, form))).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, month)): Path<(ProjectId, String)>,
) -> Result<Response, AppError> {
    let project = inventory::get_project(&state.services, &actor, &id).await?;
    let report = cost::report(&state.services, &actor, &id, &month).await?;
    let html = render(
        &state,
        "cost_report.html",
        context! {
            project => context! { id => project.id, name => project.name },
            report => Value::from_serialize(&report), ..base_context(&actor, lang, NAV)
        },
    )?;
    Ok(html.into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cost/responsibility", get(responsibility))
        .route("/cost/responsibility.xlsx", get(responsibility_xlsx))
        .route("/cost/projects/{id}/reports", get(reports).post(issue))
        .route("/cost/projects/{id}/reports/{month}", get(report))
        .route("/cost/projects/{id}/reports/{month}/report.xlsx", get(report_xlsx))
}
