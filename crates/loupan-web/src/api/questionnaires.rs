//! Questionnaires (S8/M1): designing them, answering them on the tablet or
//! through a personal link, their analysis and cross analysis. The service's
//! views are the API's bodies as they are.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::ids::QuestionnaireId;
use loupan_domain::questionnaires::Question;
use loupan_service::customers::cross::CrossTable;
use loupan_service::questionnaires::analysis::{self, Analysis, Period};
use loupan_service::questionnaires::responses::{self, Response, ResponseForm, SentLink};
use loupan_service::questionnaires::{self as service, Questionnaire, QuestionnaireForm, QuestionnaireLine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub project_id: Option<String>,
    /// `first_visit`, `subscription`, `contract`, `handover` or `brand` (empty: any).
    #[param(pattern = "^(|first_visit|subscription|contract|handover|brand)$")]
    pub stage: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionnaireList {
    pub items: Vec<QuestionnaireLine>,
    /// Always null: at most 500 questionnaires, newest first.
    pub next_cursor: Option<String>,
}

/// The questionnaires of the caller's projects, newest first.
#[utoipa::path(get, path = "/api/v1/questionnaires", tag = "questionnaires", params(ListParams),
    responses((status = 200, body = QuestionnaireList), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<QuestionnaireList>, AppError> {
    let items = service::list(&state.services, &actor, q.project_id.as_deref(), q.stage.as_deref()).await?;
    Ok(Json(QuestionnaireList { items, next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
pub struct QuestionnaireRequest {
    #[schema(required = true, nullable = false, pattern = "\\S")]
    pub project_id: Option<String>,
    /// `first_visit`, `subscription`, `contract`, `handover` or `brand`.
    #[schema(required = true, nullable = false, pattern = "^(first_visit|subscription|contract|handover|brand)$")]
    pub stage: Option<String>,
    #[schema(required = true, nullable = false, max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
    pub intro: Option<String>,
    /// The questions in order (1 to 100).
    #[schema(required = true, nullable = false, min_items = 1, max_items = 100)]
    pub questions: Option<Vec<Question>>,
    /// Takes answers (default, and null: true).
    pub open: Option<bool>,
}

/// Designs a questionnaire: its questions (single or multiple choice, a
/// scale 1–5 or 0–10, a number, a date, a text; required or not; shown only
/// when an earlier answer is one of some values) for a stage of a project.
#[utoipa::path(post, path = "/api/v1/questionnaires", tag = "questionnaires", request_body = QuestionnaireRequest,
    responses((status = 201, body = Questionnaire), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<QuestionnaireRequest>,
) -> Result<(StatusCode, Json<Questionnaire>), AppError> {
    let form = QuestionnaireForm {
        project_id: req.project_id,
        stage: req.stage,
        title: req.title,
        intro: req.intro,
        questions: req.questions,
        open: req.open,
        revision: None,
    };
    Ok((StatusCode::CREATED, Json(service::create(&state.services, &actor, form).await?)))
}

/// A questionnaire with the questions of its current version.
#[utoipa::path(get, path = "/api/v1/questionnaires/{id}", tag = "questionnaires", params(("id" = String, Path)),
    responses((status = 200, body = Questionnaire), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_one(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
) -> Result<Json<Questionnaire>, AppError> {
    Ok(Json(service::get(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct QuestionnairePatch {
    /// The revision read; another in between is refused (409 `questionnaire_changed`).
    #[schema(required = true, nullable = false)]
    pub revision: Option<i32>,
    #[schema(pattern = "^(first_visit|subscription|contract|handover|brand)$")]
    pub stage: Option<String>,
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
    pub intro: Option<String>,
    /// The questions in order; a new version when the current one has answers.
    #[schema(min_items = 1, max_items = 100)]
    pub questions: Option<Vec<Question>>,
    pub open: Option<bool>,
}

/// Changes a questionnaire; what is absent or null stays. Changed questions replace
/// the current version while nobody answered it, else make the next version
/// (answers keep the version they answered).
#[utoipa::path(patch, path = "/api/v1/questionnaires/{id}", tag = "questionnaires", params(("id" = String, Path)),
    request_body = QuestionnairePatch,
    responses((status = 200, body = Questionnaire), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiJson(req): ApiJson<QuestionnairePatch>,
) -> Result<Json<Questionnaire>, AppError> {
    let form = QuestionnaireForm {
        project_id: None,
        stage: req.stage,
        title: req.title,
        intro: req.intro,
        questions: req.questions,
        open: req.open,
        revision: req.revision,
    };
    Ok(Json(service::update(&state.services, &actor, &id, form).await?))
}

/// Answers as the API takes them: per question key a text, a number, or a
/// list of option keys (a multiple choice).
pub fn answers_of(given: BTreeMap<String, Value>) -> Result<BTreeMap<String, Vec<String>>, AppError> {
    let mut out = BTreeMap::new();
    for (key, value) in given {
        let one = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let values = match &value {
            Value::Null => Vec::new(),
            Value::Array(items) => items.iter().map(one).collect::<Option<Vec<String>>>().unwrap_or_default(),
            v => one(v).into_iter().collect(),
        };
        let understood = match &value {
            Value::Array(items) => items.len() == values.len(),
            Value::Null => true,
            _ => !values.is_empty(),
        };
        if !understood {
            return Err(AppError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                format!("answers.{key}"),
                "invalid_value",
            ));
        }
        out.insert(key, values);
    }
    Ok(out)
}

/// One answer as the document describes it (read as JSON, so a wrong kind is
/// named on its field).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AnswerValue {
    Text(String),
    Number(f64),
    List(Vec<AnswerScalar>),
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AnswerScalar {
    Text(String),
    Number(f64),
}

#[derive(Deserialize, ToSchema)]
pub struct ResponseRequest {
    /// The customer answering (of the questionnaire's project).
    #[schema(required = true, nullable = false, pattern = "\\S")]
    pub customer_id: Option<String>,
    /// Per question key: an option key (single choice), a list of option keys
    /// (multiple choice), a number (scales, numbers), `YYYY-MM-DD` or a text.
    #[schema(value_type = BTreeMap<String, AnswerValue>)]
    #[serde(default)]
    pub answers: BTreeMap<String, Value>,
}

/// Records a customer's answers given on the sales office's tablet. Answers
/// to questions not shown (by their conditions) are dropped.
#[utoipa::path(post, path = "/api/v1/questionnaires/{id}/responses", tag = "questionnaires", params(("id" = String, Path)),
    request_body = ResponseRequest,
    responses((status = 201, body = Response), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn answer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiJson(req): ApiJson<ResponseRequest>,
) -> Result<(StatusCode, Json<Response>), AppError> {
    let form = ResponseForm { customer_id: req.customer_id, answers: answers_of(req.answers)? };
    Ok((StatusCode::CREATED, Json(responses::answer(&state.services, &actor, &id, form).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// `YYYY-MM-DD`: answers from this day.
    #[param(format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`: answers until this day, included.
    #[param(format = Date)]
    pub to: Option<String>,
}

impl PeriodParams {
    fn period(&self) -> Period {
        Period { from: self.from.clone(), to: self.to.clone() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResponseList {
    pub items: Vec<Response>,
    /// Always null: the latest 500.
    pub next_cursor: Option<String>,
}

/// The latest responses (500) with their answers, and the links sent that
/// were not answered yet (with the link, for those who manage questionnaires).
#[utoipa::path(get, path = "/api/v1/questionnaires/{id}/responses", tag = "questionnaires", params(("id" = String, Path)),
    responses((status = 200, body = ResponseList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_responses(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
) -> Result<Json<ResponseList>, AppError> {
    let items = responses::list(&state.services, &actor, &id, None, 500).await?;
    Ok(Json(ResponseList { items, next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
pub struct QuestionnaireLinkRequest {
    /// The customer (of the questionnaire's project) the link is for.
    #[schema(required = true, nullable = false, pattern = "\\S")]
    pub customer_id: Option<String>,
}

/// Makes a personal link for a customer to answer (no login, once, 30
/// days); the webhook `questionnaire.sent` carries it to an SMS or WeChat gateway.
#[utoipa::path(post, path = "/api/v1/questionnaires/{id}/links", tag = "questionnaires", params(("id" = String, Path)),
    request_body = QuestionnaireLinkRequest,
    responses((status = 201, body = SentLink), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn send_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiJson(req): ApiJson<QuestionnaireLinkRequest>,
) -> Result<(StatusCode, Json<SentLink>), AppError> {
    let sent = responses::send_link(&state.services, &actor, &id, req.customer_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// The answers counted question by question: counts and percentages of each
/// option or scale value, mean and median of scales and numbers, the most
/// frequent words of texts; and the variables the cross analysis takes.
#[utoipa::path(get, path = "/api/v1/questionnaires/{id}/analysis", tag = "questionnaires",
    params(("id" = String, Path), PeriodParams),
    responses((status = 200, body = Analysis), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn analyse(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<PeriodParams>,
) -> Result<Json<Analysis>, AppError> {
    Ok(Json(analysis::analyse(&state.services, &actor, &id, &q.period()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CrossParams {
    /// A customer attribute (`grade`, `source`, `kind`, `purpose`, `layout`,
    /// `age`, `budget`, `project`, `agent`) or `q.<key>` of a choice or scale question.
    #[param(
        required = true,
        pattern = "^(grade|source|kind|purpose|layout|age|budget|project|agent|q\\.[a-z0-9_]{1,32})$"
    )]
    pub rows: Option<String>,
    /// The column variable, from the same list.
    #[param(
        required = true,
        pattern = "^(grade|source|kind|purpose|layout|age|budget|project|agent|q\\.[a-z0-9_]{1,32})$"
    )]
    pub columns: Option<String>,
    /// `YYYY-MM-DD`: answers from this day.
    #[param(format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`: answers until this day, included.
    #[param(format = Date)]
    pub to: Option<String>,
}

impl CrossParams {
    fn period(&self) -> Period {
        Period { from: self.from.clone(), to: self.to.clone() }
    }
}

/// Cross analysis (交叉分析) of the answered responses: two variables among
/// the customers' attributes and the answers, with counts, row and column
/// percentages and the chi-square test (none when a side is a multiple choice).
#[utoipa::path(get, path = "/api/v1/questionnaires/{id}/cross-analysis", tag = "questionnaires",
    params(("id" = String, Path), CrossParams),
    responses((status = 200, body = CrossTable), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn cross(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<CrossParams>,
) -> Result<Json<CrossTable>, AppError> {
    let table =
        analysis::cross(&state.services, &actor, &id, q.rows.as_deref(), q.columns.as_deref(), &q.period()).await?;
    Ok(Json(table))
}

/// The same as xlsx: counts with totals, row and column percentages, the test.
#[utoipa::path(get, path = "/api/v1/questionnaires/{id}/cross-analysis/export", tag = "questionnaires",
    params(("id" = String, Path), CrossParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn cross_export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<CrossParams>,
) -> Result<axum::response::Response, AppError> {
    let table =
        analysis::cross(&state.services, &actor, &id, q.rows.as_deref(), q.columns.as_deref(), &q.period()).await?;
    let bytes = analysis::cross_xlsx(&table, &|key| crate::i18n::t(lang, key))?;
    Ok(crate::api::xlsx_download(bytes, "cross-analysis.xlsx"))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(answer, list_responses))
        .routes(routes!(send_link))
        .routes(routes!(analyse))
        .routes(routes!(cross))
        .routes(routes!(cross_export))
}
