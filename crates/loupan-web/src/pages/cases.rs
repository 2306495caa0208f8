//! 客服报事 pages: the desk's list of cases with the registration form, a
//! case with its history and the next steps its status allows, and the
//! desk's settings (deadlines, working hours, the calendar of a year,
//! categories and each project's assignment rules).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::cases::{CaseAction, CaseChannel, CaseKind, CasePriority};
use loupan_domain::ids::{CaseId, CaseRuleId, ProjectId};
use loupan_domain::inventory::FileOwner;
use loupan_service::cases::settings::{self, Day, RuleForm, SettingsForm, Target};
use loupan_service::cases::{self, ActionForm, CaseQuery, NewCase};
use loupan_service::{Actor, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, render};
use crate::{AppError, AppState};

const NAV: &str = "/service/cases";

async fn projects(state: &AppState, actor: &Actor) -> Result<Vec<Value>, AppError> {
    Ok(inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id.as_str().to_owned(), name => p.name })
        .collect())
}

async fn categories(state: &AppState, actor: &Actor) -> Result<Vec<Value>, AppError> {
    Ok(settings::categories(&state.services, actor)
        .await?
        .into_iter()
        .map(|c| context! { id => c.id.as_str().to_owned(), path => c.path })
        .collect())
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    state: Option<String>,
    project_id: Option<String>,
    /// One customer's cases (from the customer exceptions' repeated complaints).
    customer_id: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    q: &ListQuery,
    errors: Value,
    typed: Option<&FormData>,
    chosen: Option<&cases::Registered>,
) -> Result<Response, AppError> {
    let query = CaseQuery {
        project_id: q.project_id.clone(),
        state: q.state.clone(),
        customer_id: q.customer_id.clone(),
        cursor: q.cursor.clone(),
        ..CaseQuery::default()
    };
    let page = cases::list(&state.services, actor, &query).await?;
    let ctx = context! {
        cases => Value::from_serialize(&page.items), next_cursor => page.next_cursor,
        state => q.state.clone().unwrap_or_default(), project_id => q.project_id.clone().unwrap_or_default(),
        customer_id => q.customer_id.clone().unwrap_or_default(),
        may_register => actor.can(Permission::WorkCases), may_manage => actor.can(Permission::ManageCases),
        projects => projects(state, actor).await?, categories => categories(state, actor).await?,
        kinds => CaseKind::names().to_vec(), priorities => CasePriority::names().to_vec(),
        channels => CaseChannel::names().to_vec(),
        errors => errors, values => typed.map(FormData::values).unwrap_or_default(),
        chosen => chosen.map(Value::from_serialize),
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "cases.html", ctx)?.into_response())
}

async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    list_page(&state, &actor, lang, &q, Value::UNDEFINED, None, None).await
}

fn new_case(data: &FormData) -> NewCase {
    NewCase {
        project_id: data.text("project_id"),
        kind: data.text("kind"),
        category_id: data.text("category_id"),
        priority: data.text("priority"),
        channel: data.text("channel"),
        caller_name: data.text("caller_name"),
        caller_phone: data.text("caller_phone"),
        customer_id: data.text("customer_id"),
        unit_id: data.text("unit_id"),
        contract_id: data.text("contract_id"),
        description: data.text("description"),
    }
}

/// Registers a case and opens it; when the phone led to several customers
/// (or the customer has several contracts) the case page offers them.
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        cases::register(&state.services, &actor, new_case(&data)).await,
        |r| {
            let choose =
                if r.customer_candidates.is_empty() && r.contract_candidates.is_empty() { "" } else { "?choose=1" };
            format!("/service/cases/{}{choose}", r.case.id)
        },
        |errors| list_page(&state, &actor, lang, &ListQuery::default(), errors, Some(&data), None).await
    )
}

#[derive(Debug, Default, Deserialize)]
struct CaseQueryString {
    choose: Option<String>,
}

pub(super) async fn case_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &CaseId,
    errors: Value,
    show_choices: bool,
) -> Result<Response, AppError> {
    let detail = cases::get(&state.services, actor, id).await?;
    let actions: Vec<&str> =
        CaseAction::ALL.into_iter().filter(|a| a.next(detail.case.status).is_some()).map(CaseAction::name).collect();
    let handlers = if actor.can(Permission::WorkCases) {
        cases::handlers(&state.services, actor, &detail.case.project_id).await?
    } else {
        Vec::new()
    };
    let merge_into = if actor.can(Permission::WorkCases) && actions.contains(&CaseAction::Merge.name()) {
        cases::merge_candidates(&state.services, actor, id).await?
    } else {
        Vec::new()
    };
    let attachments = super::attachments::attachments(state, actor, FileOwner::ServiceCase, id.as_str()).await?;
    let attachment_error = errors.get_attr("file").ok().filter(|v| !v.is_undefined());
    // Offered again on the case page: who else shares the phone, which other contracts.
    let choices = if show_choices { Some(cases::choices(&state.services, actor, id).await?) } else { None };
    let survey_query =
        loupan_service::cases::surveys::SurveyQuery { subject_id: Some(id.to_string()), ..Default::default() };
    let surveys = loupan_service::cases::surveys::list(&state.services, actor, &survey_query).await?;
    // A repair of a home handed over: what its warranty still covers.
    let warranty = match &detail.case.unit_id {
        Some(unit) if detail.case.kind == loupan_domain::cases::CaseKind::Repair => {
            match loupan_service::aftersales::handover::warranty(&state.services, actor, unit).await {
                Ok(items) => items,
                Err(e) if e.is_absence() => Vec::new(),
                Err(e) => return Err(e.into()),
            }
        }
        _ => Vec::new(),
    };
    let ctx = context! {
        warranty => Value::from_serialize(&warranty),
        surveys => Value::from_serialize(&surveys),
        c => Value::from_serialize(&detail.case), events => Value::from_serialize(&detail.events),
        actions => actions, may_work => actor.can(Permission::WorkCases), may_read_deals => actor.can(Permission::ReadDeals),
        may_send_notices => actor.can(Permission::SendNotices),
        handlers => handlers.into_iter().map(|(id, name)| context! { id => id.as_str().to_owned(), name => name }).collect::<Vec<_>>(),
        attachments => attachments, attachment_error => attachment_error,
        attach_action => format!("/service/cases/{id}/attachments"), can_attach => actor.can(Permission::WorkCases),
        merge_into => merge_into.into_iter().map(|(id, label)| context! { id => id.as_str().to_owned(), label => label }).collect::<Vec<_>>(),
        choices => choices.map(|c| Value::from_serialize(&c)), errors => errors,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "case.html", ctx)?.into_response())
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CaseId>,
    Query(q): Query<CaseQueryString>,
) -> Result<Response, AppError> {
    case_page(&state, &actor, lang, &id, Value::UNDEFINED, q.choose.is_some()).await
}

async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CaseId>,
    data: FormData,
) -> Result<Response, AppError> {
    let form = ActionForm {
        action: data.text("action"),
        assignee_id: data.text("assignee_id"),
        note: data.text("note"),
        // A score that does not read is refused like one out of range.
        satisfaction: data.get("satisfaction").filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap_or(0)),
        into_case_id: data.text("into_case_id"),
        version: data.get("version").and_then(|v| v.trim().parse().ok()),
    };
    form_post!(
        lang,
        cases::act(&state.services, &actor, &id, form).await,
        |_| format!("/service/cases/{id}"),
        |errors| case_page(&state, &actor, lang, &id, errors, false).await
    )
}

/// Links a case registered without a customer or contract to the one the desk chose.
async fn link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CaseId>,
    data: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        cases::link(&state.services, &actor, &id, data.text("customer_id"), data.text("contract_id")).await,
        |_| format!("/service/cases/{id}"),
        |errors| case_page(&state, &actor, lang, &id, errors, true).await
    )
}

#[derive(Debug, Default, Deserialize)]
struct SettingsQuery {
    year: Option<i32>,
    project_id: Option<String>,
}

async fn settings_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    q: &SettingsQuery,
    errors: Value,
) -> Result<Response, AppError> {
    let desk = settings::settings(&state.services, actor).await?;
    let year = q.year.unwrap_or_else(|| chrono::Datelike::year(&state.services.clock.today()));
    let days = settings::calendar_of(&state.services, actor, year).await?;
    let calendar_text: String =
        days.iter().map(|d| format!("{},{},{}\n", d.date, if d.working { 1 } else { 0 }, d.name)).collect();
    let projects = projects(state, actor).await?;
    let project_id = q
        .project_id
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| projects.first().and_then(|p| p.get_attr("id").ok()).map(|v| v.to_string()));
    let rules = match &project_id {
        Some(p) => settings::rules(&state.services, actor, &ProjectId::from(p.as_str())).await?,
        None => Vec::new(),
    };
    let handlers = match &project_id {
        Some(p) => cases::handlers(&state.services, actor, &ProjectId::from(p.as_str())).await?,
        None => Vec::new(),
    };
    let ctx = context! {
        desk => Value::from_serialize(&desk), year => year, calendar_text => calendar_text,
        categories => categories(state, actor).await?, projects => projects, project_id => project_id,
        rules => Value::from_serialize(&rules), kinds => CaseKind::names().to_vec(),
        handlers => handlers.into_iter().map(|(id, name)| context! { id => id.as_str().to_owned(), name => name }).collect::<Vec<_>>(),
        survey_templates => Value::from_serialize(settings::survey_templates(&state.services, actor).await?),
        may_manage => actor.can(Permission::ManageCases), errors => errors,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "case_settings.html", ctx)?.into_response())
}

async fn show_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, AppError> {
    settings_page(&state, &actor, lang, &q, Value::UNDEFINED).await
}

async fn save_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let mut targets = Vec::new();
    for kind in CaseKind::ALL {
        for priority in CasePriority::ALL {
            let minutes = |what: &str| {
                data.get(&format!("{what}.{}.{}", kind.name(), priority.name()))
                    // A number that does not read is refused like one out of range.
                    .map(|m| m.trim().parse::<i64>().unwrap_or(0))
            };
            if let (Some(response_minutes), Some(resolution_minutes)) = (minutes("response"), minutes("resolution")) {
                targets.push(Target { kind, priority, response_minutes, resolution_minutes });
            }
        }
    }
    let form = SettingsForm {
        work_hours: data.text("work_hours"),
        reopen_days: data.get("reopen_days").map(|d| d.trim().parse().unwrap_or(-1)),
        repeat_complaints: data.get("repeat_complaints").map(|d| d.trim().parse().unwrap_or(-1)),
        repeat_days: data.get("repeat_days").map(|d| d.trim().parse().unwrap_or(-1)),
        // The whole form is posted: an unticked box is a no.
        survey_on_contract: Some(data.get("survey_on_contract").is_some()),
        survey_template_id: data.get("survey_template_id").map(str::to_owned),
        targets,
    };
    form_post!(lang, settings::set_settings(&state.services, &actor, form).await, |_| "/service/settings", |errors| {
        settings_page(&state, &actor, lang, &SettingsQuery::default(), errors).await
    })
}

/// The calendar of a year as typed: one `date,0|1,name` per line.
fn days_of(text: &str) -> Result<Vec<Day>, loupan_domain::Invalid> {
    let mut days = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.splitn(3, [',', '，']).map(str::trim).collect();
        let (Some(date), Some(working), Some(name)) = (parts.first(), parts.get(1), parts.get(2)) else {
            return Err(loupan_domain::Invalid::one("days", "invalid_line"));
        };
        let Ok(date) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            return Err(loupan_domain::Invalid::one("days", "invalid_date"));
        };
        let working = match *working {
            "1" => true,
            "0" => false,
            _ => return Err(loupan_domain::Invalid::one("days", "invalid_line")),
        };
        days.push(Day { date, working, name: (*name).to_owned() });
    }
    Ok(days)
}

async fn save_calendar(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let year = data.get("year").and_then(|y| y.trim().parse::<i32>().ok()).unwrap_or(0);
    let result = match days_of(data.get("days").unwrap_or_default()) {
        Ok(days) => settings::set_calendar(&state.services, &actor, year, days).await,
        Err(invalid) => Err(invalid.into()),
    };
    let q = SettingsQuery { year: Some(year), project_id: None };
    form_post!(lang, result, |_| format!("/service/settings?year={year}#calendar"), |errors| settings_page(
        &state, &actor, lang, &q, errors
    )
    .await)
}

async fn add_category(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        settings::add_category(&state.services, &actor, data.get("name"), data.get("parent_id")).await,
        |_| "/service/settings#categories",
        |errors| settings_page(&state, &actor, lang, &SettingsQuery::default(), errors).await
    )
}

async fn add_rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let project = ProjectId::from(data.get("project_id").unwrap_or_default());
    let form = RuleForm {
        kind: data.text("kind"),
        category_id: data.text("category_id"),
        handler_ids: data.all("handler_ids"),
        supervisor_id: data.text("supervisor_id"),
    };
    let q = SettingsQuery { year: None, project_id: Some(project.as_str().to_owned()) };
    form_post!(
        lang,
        settings::add_rule(&state.services, &actor, &project, form).await,
        |_| format!("/service/settings?project_id={project}#rules"),
        |errors| settings_page(&state, &actor, lang, &q, errors).await
    )
}

async fn delete_rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<CaseRuleId>,
    data: FormData,
) -> Result<Response, AppError> {
    settings::delete_rule(&state.services, &actor, &id).await?;
    // The field is typed by the browser: encoded, so no value can break the Location header.
    let project: String =
        form_urlencoded::byte_serialize(data.get("project_id").unwrap_or_default().as_bytes()).collect();
    Ok(axum::response::Redirect::to(&format!("/service/settings?project_id={project}#rules")).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ReportQueryString {
    project_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

/// 报事统计: the SLA report with its filters and the xlsx of the same.
async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ReportQueryString>,
) -> Result<Response, AppError> {
    let query = loupan_service::cases::reports::ReportQuery {
        project_id: q.project_id.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        by: q.by.clone(),
    };
    let (report, errors, status) = match loupan_service::cases::reports::sla(&state.services, &actor, &query).await {
        Ok(r) => (Value::from_serialize(&r), Value::UNDEFINED, axum::http::StatusCode::OK),
        Err(e @ loupan_service::ServiceError::Invalid(_)) => {
            (Value::UNDEFINED, crate::views::field_messages(lang, &e), axum::http::StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(e.into()),
    };
    let export = format!(
        "/api/v1/service/reports/sla/export?project_id={}&from={}&to={}&by={}",
        q.project_id.as_deref().unwrap_or_default(),
        q.from.as_deref().unwrap_or_default(),
        q.to.as_deref().unwrap_or_default(),
        q.by.as_deref().unwrap_or_default()
    );
    let ctx = context! {
        report => report, errors => errors, projects => projects(&state, &actor).await?,
        q => context! { project_id => q.project_id, from => q.from, to => q.to, by => q.by.unwrap_or_else(|| "kind".into()) },
        groups => ["kind", "project", "category", "assignee", "month"], export => export,
        ..base_context(&actor, lang, NAV)
    };
    let mut page = render(&state, "case_report.html", ctx)?.into_response();
    *page.status_mut() = status;
    Ok(page)
}

#[derive(Debug, Default, Deserialize)]
struct SurveyQueryString {
    project_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

/// 满意度: CSAT and NPS by project, agent, handler, event or month, with a
/// bar for each line beside its figures, and the latest surveys.
async fn survey_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<SurveyQueryString>,
) -> Result<Response, AppError> {
    use loupan_service::cases::surveys::{self, SurveyQuery};
    let query =
        SurveyQuery { project_id: q.project_id.clone(), from: q.from.clone(), to: q.to.clone(), ..Default::default() };
    let (report, errors, status) = match surveys::report(&state.services, &actor, &query, q.by.as_deref()).await {
        Ok(r) => (Value::from_serialize(&r), Value::UNDEFINED, axum::http::StatusCode::OK),
        Err(e @ loupan_service::ServiceError::Invalid(_)) => {
            (Value::UNDEFINED, crate::views::field_messages(lang, &e), axum::http::StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => return Err(e.into()),
    };
    let latest = if errors.is_undefined() { surveys::list(&state.services, &actor, &query).await? } else { Vec::new() };
    let ctx = context! {
        report => report, errors => errors, surveys => Value::from_serialize(latest.iter().take(50).collect::<Vec<_>>()),
        projects => projects(&state, &actor).await?,
        q => context! { project_id => q.project_id, from => q.from, to => q.to, by => q.by.unwrap_or_else(|| "project".into()) },
        groups => ["project", "agent", "handler", "event", "month"],
        ..base_context(&actor, lang, NAV)
    };
    let mut page = render(&state, "case_surveys.html", ctx)?.into_response();
    *page.status_mut() = status;
    Ok(page)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service/cases", get(list).post(register))
        .route("/service/cases/{id}", get(show))
        .route("/service/cases/{id}/actions", post(act))
        .route("/service/cases/{id}/link", post(link))
        .route("/service/settings", get(show_settings).post(save_settings))
        .route("/service/reports", get(report))
        .route("/service/surveys", get(survey_page))
        .route("/service/calendar", post(save_calendar))
        .route("/service/categories", post(add_category))
        .route("/service/rules", post(add_rule))
        .route("/service/rules/{id}/delete", post(delete_rule))
}
