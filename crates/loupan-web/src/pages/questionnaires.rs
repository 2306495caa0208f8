//! 问卷: the questionnaires of one's projects; the builder (questions added,
//! changed, moved and removed one at a time, each a new state of the
//! questionnaire checked by the service); the tablet page where an agent
//! fills one in with a customer; the analysis with the cross analysis; and
//! the page behind a customer's personal link (no login).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::ids::{CustomerId, QuestionnaireId};
use loupan_domain::questionnaires::{Choice, Question, QuestionKind, ShowIf, Stage};
use loupan_service::questionnaires::analysis::{self, Period};
use loupan_service::questionnaires::responses::{self, ResponseForm};
use loupan_service::questionnaires::{self as service, Questionnaire, QuestionnaireForm};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData, MaybeAuthed};
use crate::i18n::{self, Lang};
use crate::pages::{base_context, render};
use crate::views::field_messages;
use crate::{AppError, AppState};

const NAV: &str = "/questionnaires";

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
    res
}

/// The answers a form sent: every value of each question's field.
fn answers_of(data: &FormData, questions: &[Question]) -> BTreeMap<String, Vec<String>> {
    questions.iter().map(|q| (q.key.clone(), data.all(&q.key))).filter(|(_, v)| !v.is_empty()).collect()
}

// ---- The list and a new questionnaire ----

async fn list_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    errors: Value,
    values: Option<&FormData>,
) -> Result<Response, AppError> {
    let items = service::list(&state.services, actor, None, None).await?;
    let projects = inventory::list_projects(&state.services, actor).await?;
    let names: BTreeMap<String, String> = projects.iter().map(|p| (p.id.to_string(), p.name.clone())).collect();
    let ctx = context! {
        items => items.iter().map(|q| context! {
            id => q.id.to_string(), title => q.title.clone(), stage => q.stage.name(), version => q.version, open => q.open,
            project => names.get(q.project_id.as_str()).cloned().unwrap_or_default(), updated_at => q.updated_at.to_rfc3339(),
        }).collect::<Vec<_>>(),
        projects => projects.iter().map(|p| context! { id => p.id.to_string(), name => p.name.clone() }).collect::<Vec<_>>(),
        stages => Stage::names().to_vec(), kinds => QuestionKind::names().to_vec(),
        earlier => Vec::<Value>::new(), prefix => "questions[0].",
        may_manage => actor.can(Permission::ManageQuestionnaires),
        errors => errors, values => values.map(FormData::values).unwrap_or_default(),
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "questionnaires.html", ctx)?.into_response())
}

async fn index(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    list_page(&state, &actor, lang, Value::UNDEFINED, None).await
}

/// The question a builder form describes. Options are typed one label per
/// line; a label the question had keeps its key (so answers stay counted
/// under it), a new one gets the next free key. A condition names an
/// earlier question and its values by label (or number, for a scale).
fn question_of(data: &FormData, existing: &[Question], editing: Option<&Question>) -> Question {
    let text = data.text("text").unwrap_or_default();
    let kind = data.get("kind").and_then(QuestionKind::parse).unwrap_or(QuestionKind::Single);
    let key = match editing {
        Some(q) => q.key.clone(),
        None => (1..).map(|n| format!("q{n}")).find(|k| !existing.iter().any(|q| &q.key == k)).unwrap_or_default(),
    };
    let before: &[Choice] = editing.map(|q| q.options.as_slice()).unwrap_or(&[]);
    let mut options: Vec<Choice> = Vec::new();
    if matches!(kind, QuestionKind::Single | QuestionKind::Multiple) {
        for label in data.get("options").unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
            let key = before.iter().find(|o| o.label == label).map(|o| o.key.clone()).unwrap_or_else(|| {
                (1..)
                    .map(|n| format!("o{n}"))
                    .find(|k| !before.iter().chain(options.iter()).any(|o| &o.key == k))
                    .unwrap_or_default()
            });
            options.push(Choice { key, label: label.to_owned() });
        }
    }
    let show_if = data.text("show_if_question").map(|on| {
        let source = existing.iter().find(|q| q.key == on);
        let any_of = data
            .get("show_if_values")
            .unwrap_or_default()
            .split([',', '，', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                source
                    .and_then(|s| s.options.iter().find(|o| o.label == v || o.key == v))
                    .map_or_else(|| v.to_owned(), |o| o.key.clone())
            })
            .collect();
        ShowIf { question: on, any_of }
    });
    Question { key, text, kind, required: data.get("required").is_some(), options, show_if }
}

async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let first = question_of(&data, &[], None);
    let form = QuestionnaireForm {
        project_id: data.text("project_id"),
        stage: data.text("stage"),
        title: data.text("title"),
        intro: data.text("intro"),
        questions: Some(vec![first]),
        open: Some(true),
        revision: None,
    };
    match service::create(&state.services, &actor, form).await {
        Ok(q) => Ok(Redirect::to(&format!("/questionnaires/{}", q.id)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let res = list_page(&state, &actor, lang, field_messages(lang, &e), Some(&data)).await?;
            Ok(with_status(res, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- The builder ----

#[derive(Debug, Default, Deserialize)]
struct BuilderQuery {
    /// The question being changed.
    edit: Option<String>,
}

#[derive(Default)]
struct Said {
    errors: Value,
    values: Option<BTreeMap<String, String>>,
    problem: Option<String>,
    /// A personal link just made.
    link: Option<String>,
    /// The customers a phone or name typed found, to choose one of.
    choices: Vec<Value>,
}

async fn builder_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &QuestionnaireId,
    edit: Option<&str>,
    said: Said,
) -> Result<Response, AppError> {
    let q = service::get(&state.services, actor, id).await?;
    let reads = actor.can(Permission::ReadQuestionnaires);
    let recent = if reads { responses::list(&state.services, actor, id, None, 20).await? } else { Vec::new() };
    let project = inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .find(|p| p.id == q.project_id)
        .map(|p| p.name)
        .unwrap_or_default();
    let at = edit.and_then(|k| q.questions.iter().position(|x| x.key == k));
    let editing = at.map(|i| &q.questions[i]);
    // A condition names an earlier question: those before the one changed, or all for a new one.
    let earlier = &q.questions[..at.unwrap_or(q.questions.len())];
    let prefix = format!("questions[{}].", at.unwrap_or(q.questions.len()));
    let edit_form = editing.map(|e| {
        let on = e.show_if.as_ref();
        let source = on.and_then(|c| q.questions.iter().find(|x| x.key == c.question));
        let shown_values: Vec<String> = on
            .map(|c| {
                c.any_of
                    .iter()
                    .map(|v| {
                        source
                            .and_then(|s| s.options.iter().find(|o| &o.key == v))
                            .map_or_else(|| v.clone(), |o| o.label.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        context! {
            key => e.key.clone(), text => e.text.clone(), kind => e.kind.name(), required => e.required,
            options => e.options.iter().map(|o| o.label.clone()).collect::<Vec<_>>().join("\n"),
            show_if_question => on.map(|c| c.question.clone()), show_if_values => shown_values.join(", "),
        }
    });
    let ctx = context! {
        q => Value::from_serialize(&q), project => project, kinds => QuestionKind::names().to_vec(),
        stages => Stage::names().to_vec(), edit => edit_form.clone(),
        earlier => Value::from_serialize(earlier), prefix => prefix,
        recent => Value::from_serialize(&recent),
        may_manage => actor.can(Permission::ManageQuestionnaires), may_answer => actor.can(Permission::AnswerQuestionnaires),
        may_read => reads,
        // What was typed when refused, else the question being changed.
        values => match said.values { Some(v) => Value::from_serialize(&v), None => edit_form.unwrap_or_default() },
        errors => said.errors, problem => said.problem, link => said.link, choices => said.choices,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "questionnaire.html", ctx)?.into_response())
}

async fn builder(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    Query(query): Query<BuilderQuery>,
) -> Result<Response, AppError> {
    builder_page(&state, &actor, lang, &id, query.edit.as_deref(), Said::default()).await
}

/// Saves a new state of the questionnaire; a refusal shows the builder with
/// what was typed and why.
async fn save(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &QuestionnaireId,
    form: QuestionnaireForm,
    data: &FormData,
    edit: Option<&str>,
) -> Result<Response, AppError> {
    match service::update(&state.services, actor, id, form).await {
        Ok(_) => Ok(Redirect::to(&format!("/questionnaires/{id}#questions")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let said = Said { errors: field_messages(lang, &e), values: Some(data.values()), ..Said::default() };
            let res = builder_page(state, actor, lang, id, edit, said).await?;
            Ok(with_status(res, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(ServiceError::Conflict(code)) => {
            let said = Said { problem: Some(i18n::t(lang, &format!("error.{code}"))), ..Said::default() };
            let res = builder_page(state, actor, lang, id, edit, said).await?;
            Ok(with_status(res, StatusCode::CONFLICT))
        }
        Err(e) => Err(e.into()),
    }
}

fn revision_of(data: &FormData) -> Option<i32> {
    data.get("revision").and_then(|r| r.trim().parse().ok())
}

/// The title, introduction, stage and whether it takes answers.
async fn save_details(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    data: FormData,
) -> Result<Response, AppError> {
    let form = QuestionnaireForm {
        stage: data.text("stage"),
        title: Some(data.text("title").unwrap_or_default()),
        intro: Some(data.text("intro").unwrap_or_default()),
        open: Some(data.get("open").is_some()),
        revision: revision_of(&data),
        ..QuestionnaireForm::default()
    };
    save(&state, &actor, lang, &id, form, &data, None).await
}

/// Adds a question, or changes the one named by `original` in place.
async fn save_question(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    data: FormData,
) -> Result<Response, AppError> {
    let current = service::get(&state.services, &actor, &id).await?;
    let mut questions = current.questions.clone();
    let original = data.text("original");
    let at = original.as_ref().and_then(|k| questions.iter().position(|q| &q.key == k));
    let earlier: Vec<Question> = match at {
        Some(i) => questions[..i].to_vec(),
        None => questions.clone(),
    };
    let editing = at.map(|i| questions[i].clone());
    let mut question = question_of(&data, &earlier, editing.as_ref());
    if editing.is_none() {
        // A new key among all the questions, not only the earlier ones.
        question.key =
            (1..).map(|n| format!("q{n}")).find(|k| !questions.iter().any(|q| &q.key == k)).unwrap_or_default();
    }
    match at {
        Some(i) => questions[i] = question,
        None => questions.push(question),
    }
    let form =
        QuestionnaireForm { questions: Some(questions), revision: revision_of(&data), ..QuestionnaireForm::default() };
    save(&state, &actor, lang, &id, form, &data, original.as_deref()).await
}

/// Moves a question up or down, or removes it (`action`: up, down, delete).
async fn arrange_question(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, key)): Path<(QuestionnaireId, String)>,
    data: FormData,
) -> Result<Response, AppError> {
    let current: Questionnaire = service::get(&state.services, &actor, &id).await?;
    let mut questions = current.questions.clone();
    let Some(i) = questions.iter().position(|q| q.key == key) else {
        return Err(ServiceError::NotFound("question").into());
    };
    match data.get("action") {
        Some("up") if i > 0 => questions.swap(i, i - 1),
        Some("down") if i + 1 < questions.len() => questions.swap(i, i + 1),
        Some("delete") => {
            questions.remove(i);
        }
        _ => {}
    }
    let form =
        QuestionnaireForm { questions: Some(questions), revision: revision_of(&data), ..QuestionnaireForm::default() };
    save(&state, &actor, lang, &id, form, &data, None).await
}

/// Makes a personal link for a customer found by phone in the project.
async fn send_link(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    data: FormData,
) -> Result<Response, AppError> {
    let q = service::get(&state.services, &actor, &id).await?;
    let customer = match find_customer(&state, &actor, &q, &data, "phone").await? {
        Found::Typed(customer) => customer,
        Found::Several(choices) => {
            let page = builder_page(&state, &actor, lang, &id, None, choose_among(lang, &data, choices)).await?;
            return Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    let said = match responses::send_link(&state.services, &actor, &id, customer.as_deref()).await {
        Ok(sent) => Said { link: Some(sent.link), ..Said::default() },
        Err(e @ ServiceError::Invalid(_)) => {
            Said { errors: field_messages(lang, &e), values: Some(data.values()), ..Said::default() }
        }
        Err(ServiceError::Conflict(code)) => {
            Said { problem: Some(i18n::t(lang, &format!("error.{code}"))), ..Said::default() }
        }
        Err(e) => return Err(e.into()),
    };
    let status = if said.link.is_some() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(with_status(builder_page(&state, &actor, lang, &id, None, said).await?, status))
}

/// Whom a phone or a name typed found among the questionnaire's project's customers.
enum Found {
    Typed(Option<String>),
    /// Several: the page offers them to choose one (id and what tells them apart).
    Several(Vec<Value>),
}

/// The customer chosen on the form, or the one customer of the
/// questionnaire's project at the phone or name typed (`field`).
async fn find_customer(
    state: &AppState,
    actor: &Actor,
    q: &Questionnaire,
    data: &FormData,
    field: &str,
) -> Result<Found, AppError> {
    if let Some(chosen) = data.text("customer_id") {
        return Ok(Found::Typed(Some(chosen)));
    }
    let typed = data.get(field).unwrap_or_default().trim();
    if typed.is_empty() {
        return Ok(Found::Typed(None));
    }
    let query = loupan_service::customers::CustomerQuery {
        q: Some(typed.to_owned()),
        project_id: Some(q.project_id.to_string()),
        ..Default::default()
    };
    let found = loupan_service::customers::search(&state.services, actor, query, None, 10).await?;
    Ok(match found.as_slice() {
        [only] => Found::Typed(Some(only.id.to_string())),
        // Nobody: a customer id that is nobody's, refused on its field.
        [] => Found::Typed(Some(String::from("-"))),
        several => Found::Several(
            several
                .iter()
                .map(|c| context! { id => c.id.to_string(), name => c.name.clone(), phone => c.phone.clone(), agent => c.owner_name.clone() })
                .collect(),
        ),
    })
}

/// The form again, asking to choose among the customers found.
fn choose_among(lang: Lang, data: &FormData, choices: Vec<Value>) -> Said {
    let errors =
        Value::from_serialize(BTreeMap::from([("customer_id", i18n::t(lang, "questionnaires.choose_customer"))]));
    Said { errors, values: Some(data.values()), choices, ..Said::default() }
}

// ---- The tablet ----

#[derive(Debug, Default, Deserialize)]
struct TabletQuery {
    customer_id: Option<String>,
    /// A response just recorded.
    done: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn tablet_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &QuestionnaireId,
    customer: Option<&str>,
    said: Said,
    given: BTreeMap<String, Vec<String>>,
    done: bool,
) -> Result<Response, AppError> {
    actor.require(Permission::AnswerQuestionnaires)?;
    let q = service::get(&state.services, actor, id).await?;
    let customer = match CustomerId::given(customer) {
        Some(c) => match loupan_service::customers::get(&state.services, actor, &c).await {
            Ok(found) => Some(context! { id => found.id.to_string(), name => found.name.clone() }),
            Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let ctx = context! {
        q => Value::from_serialize(&q), questions => Value::from_serialize(&q.questions), customer => customer,
        given => Value::from_serialize(&given), errors => said.errors, values => said.values.unwrap_or_default(),
        problem => said.problem, done => done, choices => said.choices,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "questionnaire_tablet.html", ctx)?.into_response())
}

async fn tablet(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    Query(query): Query<TabletQuery>,
) -> Result<Response, AppError> {
    let done = query.done.is_some();
    tablet_page(&state, &actor, lang, &id, query.customer_id.as_deref(), Said::default(), BTreeMap::new(), done).await
}

/// Records the answers given on the tablet; the customer is the one chosen,
/// or found by the phone or name typed.
async fn tablet_answer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    data: FormData,
) -> Result<Response, AppError> {
    let q = service::get(&state.services, &actor, &id).await?;
    let answers = answers_of(&data, &q.questions);
    let customer = match find_customer(&state, &actor, &q, &data, "customer_q").await? {
        Found::Typed(customer) => customer,
        Found::Several(choices) => {
            let said = choose_among(lang, &data, choices);
            let res = tablet_page(&state, &actor, lang, &id, None, said, answers, false).await?;
            return Ok(with_status(res, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    let form = ResponseForm { customer_id: customer.clone(), answers: answers.clone() };
    match responses::answer(&state.services, &actor, &id, form).await {
        Ok(_) => Ok(Redirect::to(&format!("/questionnaires/{id}/answer?done=1")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let said = Said { errors: field_messages(lang, &e), values: Some(data.values()), ..Said::default() };
            let chosen = customer.filter(|c| c != "-");
            let res = tablet_page(&state, &actor, lang, &id, chosen.as_deref(), said, answers, false).await?;
            Ok(with_status(res, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(ServiceError::Conflict(code)) => {
            let said = Said { problem: Some(i18n::t(lang, &format!("error.{code}"))), ..Said::default() };
            let res = tablet_page(&state, &actor, lang, &id, None, said, answers, false).await?;
            Ok(with_status(res, StatusCode::CONFLICT))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- The analysis ----

#[derive(Debug, Default, Deserialize)]
struct AnalysisQuery {
    rows: Option<String>,
    columns: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn analysis_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<QuestionnaireId>,
    Query(query): Query<AnalysisQuery>,
) -> Result<Response, AppError> {
    let period = Period { from: query.from.clone(), to: query.to.clone() };
    let (found, mut errors, mut status) = match analysis::analyse(&state.services, &actor, &id, &period).await {
        Ok(a) => (a, Value::UNDEFINED, StatusCode::OK),
        // An unreadable day: the whole period, with the day's error beside its field.
        Err(e @ ServiceError::Invalid(_)) => {
            let all = analysis::analyse(&state.services, &actor, &id, &Period::default()).await?;
            return render_analysis(
                &state,
                &actor,
                lang,
                &all,
                &query,
                Value::UNDEFINED,
                field_messages(lang, &e),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(e) => return Err(e.into()),
    };
    let rows = query.rows.clone().unwrap_or_else(|| "grade".into());
    let columns = query.columns.clone().or_else(|| found.variables.iter().find(|v| v.starts_with("q.")).cloned());
    let mut table = Value::UNDEFINED;
    if let Some(columns) = columns {
        match analysis::cross(&state.services, &actor, &id, Some(&rows), Some(&columns), &period).await {
            Ok(t) => table = Value::from_serialize(&t),
            Err(e @ ServiceError::Invalid(_)) => {
                errors = field_messages(lang, &e);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Err(e) => return Err(e.into()),
        }
    }
    render_analysis(&state, &actor, lang, &found, &query, table, errors, status)
}

#[allow(clippy::too_many_arguments)]
fn render_analysis(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    found: &analysis::Analysis,
    query: &AnalysisQuery,
    table: Value,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    // Each variable with its name: an attribute's translation, a question's text.
    let variables: Vec<Value> = found
        .variables
        .iter()
        .map(|v| {
            let label = match v.strip_prefix("q.") {
                Some(key) => found.questions.iter().find(|q| q.key == key).map(|q| q.text.clone()).unwrap_or_default(),
                None => i18n::t(lang, &format!("cross.var_{v}")),
            };
            context! { value => v.clone(), label => label }
        })
        .collect();
    let rows = query.rows.clone().unwrap_or_else(|| "grade".into());
    let columns = query.columns.clone().or_else(|| found.variables.iter().find(|v| v.starts_with("q.")).cloned());
    let export = format!(
        "/api/v1/questionnaires/{}/cross-analysis/export?{}",
        found.questionnaire.id,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("rows", &rows)
            .append_pair("columns", columns.as_deref().unwrap_or_default())
            .append_pair("from", query.from.as_deref().unwrap_or_default())
            .append_pair("to", query.to.as_deref().unwrap_or_default())
            .finish()
    );
    let ctx = context! {
        a => Value::from_serialize(found), variables => variables, table => table, errors => errors,
        query => context! { rows => rows, columns => columns, from => query.from.clone(), to => query.to.clone() },
        export => export,
        ..base_context(actor, lang, NAV)
    };
    Ok((status, render(state, "questionnaire_analysis.html", ctx)?).into_response())
}

// ---- The personal link (no login) ----

#[derive(Default)]
struct LinkShown {
    questionnaire: Value,
    errors: Value,
    given: BTreeMap<String, Vec<String>>,
    said: Option<String>,
    done: bool,
}

fn link_view(
    state: &AppState,
    lang: Lang,
    actor: Option<&Actor>,
    token: &str,
    shown: LinkShown,
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = actor.and_then(|a| a.session.as_ref()).map(|s| s.csrf_token.clone()).unwrap_or_default();
    let questions = shown.questionnaire.get_attr("questions").unwrap_or_default();
    let html = render(
        state,
        "questionnaire_link.html",
        context! {
            lang => lang.code(), csrf => csrf, token => token, questionnaire => shown.questionnaire,
            questions => questions, errors => shown.errors, given => Value::from_serialize(&shown.given),
            said => shown.said, done => shown.done,
        },
    )?;
    Ok((status, html).into_response())
}

/// An answered, expired or closed link is a page that says so (409); an unknown one 404.
fn closed(lang: Lang, e: &ServiceError) -> Option<String> {
    match e {
        ServiceError::Conflict(
            code @ ("questionnaire_answered" | "questionnaire_expired" | "questionnaire_closed"),
        ) => Some(i18n::t(lang, &format!("error.{code}"))),
        _ => None,
    }
}

async fn link_show(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match responses::open(&state.services, &token).await {
        Ok(q) => {
            let shown = LinkShown { questionnaire: Value::from_serialize(&q), ..LinkShown::default() };
            link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::OK)
        }
        Err(e) => match closed(lang, &e) {
            Some(said) => {
                let shown = LinkShown { said: Some(said), ..LinkShown::default() };
                link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::CONFLICT)
            }
            None => Err(e.into()),
        },
    }
}

async fn link_answer(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
    data: FormData,
) -> Result<Response, AppError> {
    let q = match responses::open(&state.services, &token).await {
        Ok(q) => q,
        Err(e) => {
            return match closed(lang, &e) {
                Some(said) => {
                    let shown = LinkShown { said: Some(said), ..LinkShown::default() };
                    link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::CONFLICT)
                }
                None => Err(e.into()),
            };
        }
    };
    let given = answers_of(&data, &q.questions);
    match responses::answer_link(&state.services, &token, given.clone()).await {
        Ok(()) => {
            let shown =
                LinkShown { said: Some(i18n::t(lang, "questionnaires.thanks")), done: true, ..LinkShown::default() };
            link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::OK)
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let shown = LinkShown {
                questionnaire: Value::from_serialize(&q),
                errors: field_messages(lang, &e),
                given,
                ..LinkShown::default()
            };
            link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => match closed(lang, &e) {
            Some(said) => {
                let shown = LinkShown { said: Some(said), ..LinkShown::default() };
                link_view(&state, lang, actor.as_ref(), &token, shown, StatusCode::CONFLICT)
            }
            None => Err(e.into()),
        },
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/questionnaires", get(index).post(create))
        .route("/questionnaires/{id}", get(builder).post(save_details))
        .route("/questionnaires/{id}/questions", post(save_question))
        .route("/questionnaires/{id}/questions/{key}", post(arrange_question))
        .route("/questionnaires/{id}/links", post(send_link))
        .route("/questionnaires/{id}/answer", get(tablet).post(tablet_answer))
        .route("/questionnaires/{id}/analysis", get(analysis_page))
        .route("/questionnaire/{token}", get(link_show).post(link_answer))
}
