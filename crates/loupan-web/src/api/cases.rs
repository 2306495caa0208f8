//! Customer service (C4): cases from registration to the callback, and what
//! the desk keeps — deadlines, working hours, the working calendar of each
//! year, categories and each project's assignment rules. The service's views
//! are the API's bodies as they are.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::{CaseId, CaseRuleId, ProjectId};
use loupan_domain::inventory::FileOwner;
use loupan_service::cases::reports::{self, ReportQuery, SlaReport};
use loupan_service::cases::settings::{self, Category, Day, DeskSettings, Rule, RuleForm, SettingsForm, Target};
use loupan_service::cases::surveys;
use loupan_service::cases::{self, ActionForm, CaseDetail, CasePage, CaseQuery, NewCase, Registered};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::api::inventory::{AttachmentParams, FileDto, FileList, attach, attachments_of};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

type Created<T> = Result<(StatusCode, Json<T>), AppError>;

#[derive(Deserialize, ToSchema)]
pub struct NewCaseRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub project_id: Option<String>,
    /// `complaint` (投诉), `repair` (报修), `enquiry` (咨询) or `suggestion` (建议).
    #[schema(required = true, nullable = false, pattern = "^(complaint|repair|enquiry|suggestion)$")]
    pub kind: Option<String>,
    pub category_id: Option<String>,
    /// `urgent`, `high`, `normal` (the default, also when empty) or `low`.
    #[schema(pattern = "^(|urgent|high|normal|low)$")]
    pub priority: Option<String>,
    /// `phone` (the default, also when empty), `visit`, `email`, `wechat` or `web_form`.
    #[schema(pattern = "^(|phone|visit|email|wechat|web_form)$")]
    pub channel: Option<String>,
    /// Who called; the linked customer's name when absent (a name, a phone
    /// or a customer is needed: `caller_needed`).
    #[schema(max_length = 100)]
    pub caller_name: Option<String>,
    /// Any format (`+86 139-0013-9000`): the customer reached at it is linked.
    #[schema(value_type = Option<crate::api::MobilePhone>)]
    pub caller_phone: Option<String>,
    /// The customer, when the desk chose among `customer_candidates`.
    pub customer_id: Option<String>,
    pub unit_id: Option<String>,
    pub contract_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 2000, pattern = "\\S")]
    pub description: Option<String>,
}

/// Registers a case: linked to the customer reached at the caller's phone (and
/// their unit and contract when they have one in the project), numbered, with
/// its deadlines in working time and the handler the project's rules name.
/// Several customers or contracts possible: listed to choose from, none linked.
#[utoipa::path(post, path = "/api/v1/service/cases", tag = "service", request_body = NewCaseRequest,
    responses((status = 201, body = Registered), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewCaseRequest>,
) -> Created<Registered> {
    // A phone given is a phone: leave the field out when there is none.
    if req.caller_phone.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(AppError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "caller_phone",
            "invalid_phone",
        ));
    }
    let form = NewCase {
        project_id: req.project_id,
        kind: req.kind,
        category_id: req.category_id,
        priority: req.priority,
        channel: req.channel,
        caller_name: req.caller_name,
        caller_phone: req.caller_phone,
        customer_id: req.customer_id,
        unit_id: req.unit_id,
        contract_id: req.contract_id,
        description: req.description,
    };
    Ok((StatusCode::CREATED, Json(cases::register(&state.services, &actor, form).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseParams {
    pub project_id: Option<String>,
    /// Empty: any.
    #[param(pattern = "^(|registered|assigned|in_progress|replied|confirmed|closed|merged)$")]
    pub status: Option<String>,
    #[param(pattern = "^(|complaint|repair|enquiry|suggestion)$")]
    pub kind: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    /// `open` (waiting on the company) or `overdue` (open and past a deadline).
    #[param(pattern = "^(|open|overdue)$")]
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Cases of the caller's projects, newest first.
#[utoipa::path(get, path = "/api/v1/service/cases", tag = "service", params(CaseParams),
    responses((status = 200, body = CasePage), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CaseParams>,
) -> Result<Json<CasePage>, AppError> {
    let query = CaseQuery {
        project_id: q.project_id,
        status: q.status,
        kind: q.kind,
        assignee_id: q.assignee_id,
        customer_id: q.customer_id,
        state: q.state,
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(cases::list(&state.services, &actor, &query).await?))
}

/// A case with its history.
#[utoipa::path(get, path = "/api/v1/service/cases/{id}", tag = "service", params(("id" = String, Path)),
    responses((status = 200, body = CaseDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CaseId>,
) -> Result<Json<CaseDetail>, AppError> {
    Ok(Json(cases::get(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CaseActionRequest {
    /// `assign` (needs `assignee_id`), `start`, `reply` (needs `note`: the
    /// answer), `confirm`, `reject` (needs `note`), `close` (needs
    /// `satisfaction`), `reopen` (needs `note`, within the reopening period),
    /// `merge` (needs `into_case_id`: another open case of the project about
    /// the same event, which carries on; this one ends as `merged`).
    #[schema(required = true, nullable = false, pattern = "^(assign|start|reply|confirm|reject|close|reopen|merge)$")]
    pub action: Option<String>,
    pub assignee_id: Option<String>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// The callback's score: 1 (very unhappy) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction: Option<i64>,
    /// `merge`: the case this one joins.
    pub into_case_id: Option<String>,
    /// The version read: 409 `case_changed` when the case moved meanwhile.
    pub version: Option<i64>,
}

/// Moves a case one step: registered → assigned → in progress → replied →
/// confirmed → closed (and back: `reject`, `reopen`; or `merge` into another
/// open case, which records the merge in both histories). A step that does not
/// apply to the case's status is refused with 422 `not_allowed_now`.
#[utoipa::path(post, path = "/api/v1/service/cases/{id}/actions", tag = "service", params(("id" = String, Path)),
    request_body = CaseActionRequest,
    responses((status = 200, body = CaseDetail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(req): ApiJson<CaseActionRequest>,
) -> Result<Json<CaseDetail>, AppError> {
    let form = ActionForm {
        action: req.action,
        assignee_id: req.assignee_id,
        note: req.note,
        satisfaction: req.satisfaction,
        into_case_id: req.into_case_id,
        version: req.version,
    };
    Ok(Json(cases::act(&state.services, &actor, &id, form).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct LinkRequest {
    pub customer_id: Option<String>,
    pub contract_id: Option<String>,
}

/// Links the case to the customer (and contract) the desk chose among the
/// candidates; the customer's only active contract in the project follows.
#[utoipa::path(post, path = "/api/v1/service/cases/{id}/link", tag = "service", params(("id" = String, Path)),
    request_body = LinkRequest,
    responses((status = 200, body = CaseDetail), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CaseId>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<Json<CaseDetail>, AppError> {
    Ok(Json(cases::link(&state.services, &actor, &id, req.customer_id, req.contract_id).await?))
}

/// Working hours, the reopening period and the deadline of every kind × priority.
#[utoipa::path(get, path = "/api/v1/service/settings", tag = "service",
    responses((status = 200, body = DeskSettings), (status = 403, body = Problem)))]
async fn get_settings(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<DeskSettings>, AppError> {
    Ok(Json(settings::settings(&state.services, &actor).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct DeskSettingsRequest {
    /// `09:00-12:00,13:00-18:00`: periods in order, without overlap (empty: unchanged).
    #[schema(
        pattern = "^\\s*(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9](,([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])*)?\\s*$"
    )]
    pub work_hours: Option<String>,
    #[schema(minimum = 0, maximum = 365)]
    pub reopen_days: Option<i64>,
    /// Complaints within `repeat_days` that make a customer a repeat
    /// complainer (an exception, and an alert at each further one); 0: off.
    #[schema(minimum = 0, maximum = 100)]
    pub repeat_complaints: Option<i64>,
    #[schema(minimum = 1, maximum = 365)]
    pub repeat_days: Option<i64>,
    /// Send a satisfaction survey (its link) to the buyer when a contract is signed.
    pub survey_on_contract: Option<bool>,
    /// The notice template (kind `survey`) that takes each survey's link to
    /// its customer; blank: none (the desk hands links over).
    #[schema(nullable = true)]
    pub survey_template_id: Option<String>,
    /// The targets to change (working minutes); others keep theirs.
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// Changes the desk's settings; cases registered afterwards use them.
#[utoipa::path(put, path = "/api/v1/service/settings", tag = "service", request_body = DeskSettingsRequest,
    responses((status = 200, body = DeskSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<DeskSettings>, AppError> {
    // An object only: every field is optional, and serde would read a struct from an array too.
    let ApiJson(req) = ApiJson::<DeskSettingsRequest>::from_value(serde_json::Value::Object(body))?;
    let form = SettingsForm {
        work_hours: req.work_hours,
        reopen_days: req.reopen_days,
        repeat_complaints: req.repeat_complaints,
        repeat_days: req.repeat_days,
        survey_on_contract: req.survey_on_contract,
        survey_template_id: req.survey_template_id,
        targets: req.targets,
    };
    Ok(Json(settings::set_settings(&state.services, &actor, form).await?))
}

/// The days of `year` set apart from Monday to Friday: holidays and make-up working days.
#[utoipa::path(get, path = "/api/v1/service/calendar/{year}", tag = "service",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    responses((status = 200, body = Vec<Day>), (status = 403, body = Problem)))]
async fn get_calendar(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(year): ApiPath<i32>,
) -> Result<Json<Vec<Day>>, AppError> {
    Ok(Json(settings::calendar_of(&state.services, &actor, year).await?))
}

/// Replaces the days of `year` set apart (the State Council's notice of the year).
#[utoipa::path(put, path = "/api/v1/service/calendar/{year}", tag = "service",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100)), request_body = Vec<Day>,
    responses((status = 200, body = Vec<Day>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_calendar(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(year): ApiPath<i32>,
    ApiJson(days): ApiJson<Vec<Day>>,
) -> Result<Json<Vec<Day>>, AppError> {
    Ok(Json(settings::set_calendar(&state.services, &actor, year, days).await?))
}

/// The category tree, each with its path from the root.
#[utoipa::path(get, path = "/api/v1/service/categories", tag = "service",
    responses((status = 200, body = Vec<Category>), (status = 403, body = Problem)))]
async fn list_categories(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Category>>, AppError> {
    Ok(Json(settings::categories(&state.services, &actor).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewCategoryRequest {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 40, pattern = "\\S")]
    pub name: Option<String>,
    pub parent_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/service/categories", tag = "service", request_body = NewCategoryRequest,
    responses((status = 201, body = Category), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_category(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewCategoryRequest>,
) -> Created<Category> {
    let c = settings::add_category(&state.services, &actor, req.name.as_deref(), req.parent_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Who gets the project's cases: the most specific rule (category, then kind) wins.
#[utoipa::path(get, path = "/api/v1/projects/{id}/case-rules", tag = "service", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Rule>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Vec<Rule>>, AppError> {
    Ok(Json(settings::rules(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewRuleRequest {
    /// None or empty: every kind.
    #[schema(pattern = "^(|complaint|repair|enquiry|suggestion)$")]
    pub kind: Option<String>,
    /// None: every category.
    pub category_id: Option<String>,
    /// Users who work cases in the project, taking turns.
    #[schema(required = true, min_items = 1)]
    #[serde(default)]
    pub handler_ids: Vec<String>,
    /// Who a missed deadline is escalated to (none: the administrators).
    pub supervisor_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/case-rules", tag = "service", params(("id" = String, Path)),
    request_body = NewRuleRequest,
    responses((status = 201, body = Rule), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn add_rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<NewRuleRequest>,
) -> Created<Rule> {
    let form = RuleForm {
        kind: req.kind,
        category_id: req.category_id,
        handler_ids: req.handler_ids,
        supervisor_id: req.supervisor_id,
    };
    Ok((StatusCode::CREATED, Json(settings::add_rule(&state.services, &actor, &id, form).await?)))
}

#[utoipa::path(delete, path = "/api/v1/case-rules/{id}", tag = "service", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CaseRuleId>,
) -> Result<StatusCode, AppError> {
    settings::delete_rule(&state.services, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    pub project_id: Option<String>,
    /// First registration date counted (default: 1 January of this year).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last registration date counted (default: today).
    #[param(format = Date)]
    pub to: Option<String>,
    /// `kind` (default, also when empty), `project`, `category`, `assignee` or `month`.
    #[param(pattern = "^(|project|kind|category|assignee|month)$")]
    pub by: Option<String>,
}

impl ReportParams {
    fn query(self) -> ReportQuery {
        ReportQuery { project_id: self.project_id, from: self.from, to: self.to, by: self.by }
    }
}

/// Cases registered in the period by group: deadlines met and missed, mean
/// response and resolution in working minutes, mean satisfaction; and the
/// open backlog by age.
#[utoipa::path(get, path = "/api/v1/service/reports/sla", tag = "service", params(ReportParams),
    responses((status = 200, body = SlaReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn sla_report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Json<SlaReport>, AppError> {
    Ok(Json(reports::sla(&state.services, &actor, &q.query()).await?))
}

/// The same as xlsx.
#[utoipa::path(get, path = "/api/v1/service/reports/sla/export", tag = "service", params(ReportParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn sla_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<axum::response::Response, AppError> {
    let report = reports::sla(&state.services, &actor, &q.query()).await?;
    Ok(crate::api::xlsx_download(reports::sla_xlsx(&report, &|key| crate::i18n::t(lang, key))?, "case-sla.xlsx"))
}

/// Attaches a file to a case: photos of the damage, the owner's letter (PDF,
/// pictures, Office documents, zip archives; at most 10 MB). The body is the
/// file; it is read and removed through `/api/v1/files/{id}`.
#[utoipa::path(post, path = "/api/v1/service/cases/{id}/files", tag = "service", params(("id" = String, Path), AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn attach_to_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachmentParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<FileDto>), AppError> {
    attach(&state, &actor, FileOwner::ServiceCase, &id, q.file_name, body).await
}

/// A case's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/service/cases/{id}/files", tag = "service", params(("id" = String, Path)),
    responses((status = 200, body = FileList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn case_files(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FileList>, AppError> {
    attachments_of(&state, &actor, FileOwner::ServiceCase, &id).await
}

#[derive(Deserialize, ToSchema)]
pub struct NewSurveyRequest {
    /// A case with a customer: asks about how it was handled.
    pub case_id: Option<String>,
    /// A contract: asks about the signing or, with `event` `handover`, the handover.
    pub contract_id: Option<String>,
    /// `case_closed` (with a case), `contract_signed` (the default with a contract) or `handover`.
    #[schema(pattern = "^(|case_closed|contract_signed|handover)$")]
    pub event: Option<String>,
}

/// Sends a satisfaction survey (C5): a personal link for the customer,
/// answered once without signing in within 14 days. Closing a case with a
/// customer sends one by itself. The link is in the answer (and in the
/// `survey.created` webhook for an SMS or WeChat gateway).
#[utoipa::path(post, path = "/api/v1/service/surveys", tag = "service", request_body = NewSurveyRequest,
    responses((status = 201, body = loupan_service::cases::surveys::SentSurvey), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn send_survey(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewSurveyRequest>,
) -> Created<loupan_service::cases::surveys::SentSurvey> {
    let form = surveys::NewSurvey { case_id: req.case_id, contract_id: req.contract_id, event: req.event };
    Ok((StatusCode::CREATED, Json(surveys::send(&state.services, &actor, form).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyParams {
    pub project_id: Option<String>,
    /// A case or contract: its surveys.
    pub subject_id: Option<String>,
    pub customer_id: Option<String>,
    /// `YYYY-MM-DD`: surveys sent from this day.
    #[param(format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`: surveys sent until this day, included.
    #[param(format = Date)]
    pub to: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyReportParams {
    pub project_id: Option<String>,
    pub subject_id: Option<String>,
    pub customer_id: Option<String>,
    /// `YYYY-MM-DD`: surveys sent from this day.
    #[param(format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`: surveys sent until this day, included.
    #[param(format = Date)]
    pub to: Option<String>,
    /// `project` (default), `agent`, `handler`, `event` or `month`.
    #[param(pattern = "^(|project|agent|handler|event|month)$")]
    pub by: Option<String>,
}

impl SurveyParams {
    fn query(&self) -> surveys::SurveyQuery {
        surveys::SurveyQuery {
            project_id: self.project_id.clone(),
            subject_id: self.subject_id.clone(),
            customer_id: self.customer_id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

#[derive(serde::Serialize, ToSchema)]
pub struct SurveyList {
    pub items: Vec<loupan_service::cases::surveys::Survey>,
    /// Always null: the latest 500.
    pub next_cursor: Option<String>,
}

/// The latest surveys sent (at most 500), newest first, with their answers;
/// `link` while they may be answered, for those who work cases.
#[utoipa::path(get, path = "/api/v1/service/surveys", tag = "service", params(SurveyParams),
    responses((status = 200, body = SurveyList), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_surveys(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<SurveyParams>,
) -> Result<Json<SurveyList>, AppError> {
    Ok(Json(SurveyList { items: surveys::list(&state.services, &actor, &q.query()).await?, next_cursor: None }))
}

/// Satisfaction by group: surveys sent and answered, mean CSAT (1–5), NPS
/// (promoters 9–10 less detractors 0–6, in percent) and low scores.
#[utoipa::path(get, path = "/api/v1/service/surveys/report", tag = "service", params(SurveyReportParams),
    responses((status = 200, body = loupan_service::cases::surveys::ScoreReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn survey_report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<SurveyReportParams>,
) -> Result<Json<loupan_service::cases::surveys::ScoreReport>, AppError> {
    let filter = surveys::SurveyQuery {
        project_id: q.project_id,
        subject_id: q.subject_id,
        customer_id: q.customer_id,
        from: q.from,
        to: q.to,
    };
    Ok(Json(surveys::report(&state.services, &actor, &filter, q.by.as_deref()).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(get_case))
        .routes(routes!(act))
        .routes(routes!(link))
        .routes(routes!(attach_to_case, case_files))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_calendar, put_calendar))
        .routes(routes!(list_categories, add_category))
        .routes(routes!(list_rules, add_rule))
        .routes(routes!(delete_rule))
        .routes(routes!(sla_report))
        .routes(routes!(sla_export))
        .routes(routes!(send_survey, list_surveys))
        .routes(routes!(survey_report))
}
