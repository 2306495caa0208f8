//! 通知 pages: the templates with their editor (field picker, preview on a
//! real customer, versions), the batch wizard (recipients → preview →
//! confirm → progress → letters), and what a customer was sent.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use loupan_domain::ids::{BuildingId, CustomerId, NoticeBatchId, NoticeRecipientId, NoticeTemplateId, ProjectId};
use loupan_domain::notices::{BatchStatus, NoticeKind, SmsProvider, SmtpSecurity};
use loupan_service::notices::{self, Audience, NewBatch, NewTemplate, Template, TestOutcome, mail, sms};
use loupan_service::{Actor, ServiceError, inventory};
use minijinja::{Value, context};

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, render};
use crate::views::field_messages;
use crate::{AppError, AppState};

const NAV: &str = "/notices";

fn template_view(t: &Template) -> Value {
    context! {
        id => t.id.as_str(), family_id => t.family_id.as_str(), version => t.version, kind => t.kind.name(),
        channel => t.channel.name(), name => t.name.clone(), project_id => t.project_id.as_ref().map(|p| p.as_str().to_owned()),
        subject => t.subject.clone(), body => t.body.clone(), attach_pdf => t.attach_pdf, created_by => t.created_by_name.clone(),
        sms_template_code => t.sms_template_code.clone(),
        sms_params => t.sms_params.as_ref().map(|p| p.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join("\n")),
        created_at => t.created_at.to_rfc3339(), current => t.superseded_at.is_none(),
    }
}

fn form_of(data: &FormData) -> NewTemplate {
    NewTemplate {
        kind: data.get("kind").map(str::to_owned),
        channel: data.get("channel").map(str::to_owned),
        name: data.get("name").map(str::to_owned),
        project_id: data.get("project_id").map(str::to_owned),
        subject: data.get("subject").map(str::to_owned),
        body: data.get("body").map(str::to_owned),
        attach_pdf: data.get("attach_pdf") == Some("1"),
        sms_template_code: data.get("sms_template_code").map(str::to_owned),
        sms_params: sms_params_of(data.get("sms_params").unwrap_or_default()),
    }
}

/// `name = text` per line, as typed for a text message's provider parameters.
fn sms_params_of(lines: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let params: std::collections::BTreeMap<String, String> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((name, text)) => (name.trim().to_owned(), text.trim().to_owned()),
            // A line without `=`: a parameter without text.
            None => (l.trim().to_owned(), String::new()),
        })
        .collect();
    (!params.is_empty()).then_some(params)
}

async fn projects(state: &AppState, actor: &Actor) -> Result<Vec<Value>, AppError> {
    Ok(inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id.as_str().to_owned(), name => p.name })
        .collect())
}

fn fields_by_kind(lang: Lang) -> Value {
    let map: std::collections::BTreeMap<&str, Vec<Value>> = NoticeKind::ALL
        .iter()
        .map(|k| {
            let fields = crate::api::notices::field_dtos(lang, notices::fields_of(*k))
                .into_iter()
                .map(|f| context! { name => f.name, label => f.label })
                .collect();
            (k.name(), fields)
        })
        .collect();
    Value::from_serialize(&map)
}

async fn index_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    errors: Value,
    typed: Option<&FormData>,
) -> Result<Response, AppError> {
    let templates: Vec<Value> =
        notices::list_templates(&state.services, actor).await?.iter().map(template_view).collect();
    let batches: Vec<Value> = notices::list_batches(&state.services, actor)
        .await?
        .into_iter()
        .map(|b| {
            context! { id => b.id.as_str().to_owned(), kind => b.kind.name(), status => b.status.name(), total => b.total,
            sent => b.sent, skipped => b.skipped, as_of => b.as_of.to_string(), by => b.created_by_name,
            at => b.created_at.to_rfc3339() }
        })
        .collect();
    let values = typed.map(|d| d.values()).unwrap_or_default();
    let care: Vec<Value> = notices::care::care(&state.services, actor)
        .await?
        .into_iter()
        .map(|c| {
            context! { occasion => c.occasion.name(), template_id => c.template_id.map(|t| t.as_str().to_owned()),
            next_date => c.next_date.map(|d| d.to_string()) }
        })
        .collect();
    let ctx = context! {
        care => care, may_set_care => actor.visible_projects().is_none(),
        templates => templates, batches => batches, kinds => NoticeKind::names().to_vec(),
        projects => projects(state, actor).await?, fields => fields_by_kind(lang), errors => errors, values => values,
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "notices.html", ctx)?.into_response())
}

/// Chooses the greeting of each occasion (`template.<occasion>` fields).
async fn set_care(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let templates = loupan_domain::notices::Occasion::ALL
        .into_iter()
        .map(|o| (o.name().to_owned(), data.get(&format!("template.{}", o.name())).map(str::to_owned)))
        .collect();
    form_post!(
        lang,
        notices::care::set_care(&state.services, &actor, notices::care::CareForm { templates }).await,
        |_| "/notices#care",
        |errors| index_page(&state, &actor, lang, errors, None).await
    )
}

async fn index(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    index_page(&state, &actor, lang, Value::UNDEFINED, None).await
}

async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        notices::create_template(&state.services, &actor, form_of(&data)).await,
        |t| format!("/notices/templates/{}", t.id),
        |errors| index_page(&state, &actor, lang, errors, Some(&data)).await
    )
}

/// What the template page shows beside the template: a preview, a batch plan, mistakes.
#[derive(Default)]
struct Shown {
    /// Which form the errors and typed values belong to: `edit`, `preview` or `batch`.
    form: &'static str,
    errors: Value,
    typed: Option<FormData>,
    preview: Option<notices::Letter>,
    plan: Option<(notices::BatchPreview, FormData)>,
    /// A picture just uploaded: the lines that print it (`@image …`, `@form …`).
    picture: Option<(String, String)>,
}

async fn template_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &NoticeTemplateId,
    shown: Shown,
) -> Result<Response, AppError> {
    let t = notices::get_template(&state.services, actor, id).await?;
    let versions: Vec<Value> =
        notices::template_versions(&state.services, actor, id).await?.iter().map(template_view).collect();
    let project_list = projects(state, actor).await?;
    // The buildings of the projects the template may be sent in.
    let mut buildings: Vec<Value> = Vec::new();
    for p in inventory::list_projects(&state.services, actor).await? {
        if t.project_id.as_ref().is_none_or(|only| only == &p.id) {
            buildings.extend(buildings_of(state, actor, &p.id, &p.name).await?);
        }
    }
    // The user's own saved customer filters, for a batch to whoever they find.
    let filters: Vec<Value> = match loupan_service::customers::saved_filters::list(&state.services, actor).await {
        Ok(list) => list.into_iter().map(|f| context! { id => f.id, name => f.name }).collect(),
        Err(ServiceError::Forbidden) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    // A questionnaire invitation names one of the questionnaires that take answers.
    let questionnaires: Vec<Value> = if t.kind == loupan_domain::notices::NoticeKind::Questionnaire {
        match loupan_service::questionnaires::list(&state.services, actor, None, None).await {
            Ok(list) => list
                .into_iter()
                .filter(|q| q.open)
                .map(|q| context! { id => q.id.to_string(), name => q.title, project_id => q.project_id.to_string() })
                .collect(),
            Err(ServiceError::Forbidden) => Vec::new(),
            Err(e) => return Err(e.into()),
        }
    } else {
        Vec::new()
    };
    let letter = |l: notices::Letter| {
        context! { subject => l.subject, text => l.text, customer => l.customer_name, unit => l.unit_number,
        sms => l.sms.map(|c| context! { chars => c.chars, segments => c.segments }) }
    };
    let preview = shown.preview.map(letter);
    let plan = shown.plan.map(|(p, data)| {
        context! { count => p.count, skipped => p.skipped_opted_out, no_address => p.skipped_no_address,
        first => p.first.into_iter().map(letter).collect::<Vec<_>>(), values => data.values() }
    });
    let ctx = context! {
        tpl => template_view(&t), versions => versions, projects => project_list, buildings => buildings, filters => filters,
        fields => crate::api::notices::field_dtos(lang, notices::fields_of(t.kind)).into_iter().map(|f| context! { name => f.name, label => f.label, snippet => f.snippet }).collect::<Vec<_>>(),
        form => shown.form, errors => shown.errors, values => shown.typed.map(|d| d.values()).unwrap_or_default(),
        preview => preview, plan => plan,
        picture => shown.picture.map(|(image, form)| context! { image_line => image, form_line => form }),
        printed => t.channel == loupan_domain::notices::NoticeChannel::Letter || t.attach_pdf,
        batch_fields => t.kind.batch_fields().iter().map(|f| context! { name => f, label => crate::i18n::t(lang, &format!("notice_field.{f}")), date => f.ends_with("_on"),
            choices => (*f == "questionnaire.id").then(|| questionnaires.clone()) }).collect::<Vec<_>>(),
        today => state.services.clock.today().to_string(),
        ..base_context(actor, lang, NAV)
    };
    Ok(render(state, "notice_template.html", ctx)?.into_response())
}

async fn buildings_of(
    state: &AppState,
    actor: &Actor,
    project: &ProjectId,
    name: &str,
) -> Result<Vec<Value>, AppError> {
    Ok(inventory::list_buildings(&state.services, actor, project)
        .await?
        .into_iter()
        .map(|b| context! { id => b.id.as_str().to_owned(), name => format!("{name} {}", b.name), project_id => project.as_str().to_owned() })
        .collect())
}

async fn template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
) -> Result<Response, AppError> {
    template_page(&state, &actor, lang, &id, Shown::default()).await
}

async fn update(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
    data: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        notices::update_template(&state.services, &actor, &id, form_of(&data)).await,
        |t| format!("/notices/templates/{}", t.id),
        |errors| template_page(
            &state,
            &actor,
            lang,
            &id,
            Shown { form: "edit", errors, typed: Some(data.clone()), ..Shown::default() }
        )
        .await
    )
}

fn date_of(data: &FormData, field: &str) -> Result<Option<NaiveDate>, ServiceError> {
    match data.get(field).map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| loupan_domain::Invalid::one(field, "invalid_date").into()),
    }
}

/// The customer and the date a preview is asked for.
fn preview_input(data: &FormData) -> Result<notices::PreviewOf, ServiceError> {
    let customer_id = CustomerId::given(data.get("customer_id"))
        .ok_or_else(|| ServiceError::from(loupan_domain::Invalid::one("customer_id", "required")))?;
    Ok(notices::PreviewOf { customer_id, contract_id: None, as_of: date_of(data, "as_of")?, details: details_of(data) })
}

/// What a batch states for all its letters, from the form's `details.<field>` inputs.
fn details_of(data: &FormData) -> std::collections::BTreeMap<String, String> {
    data.0.iter().filter_map(|(k, v)| k.strip_prefix("details.").map(|field| (field.to_owned(), v.clone()))).collect()
}

async fn preview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
    data: FormData,
) -> Result<Response, AppError> {
    let letter = async { notices::preview(&state.services, &actor, &id, &preview_input(&data)?).await }.await;
    match letter {
        Ok(l) => {
            template_page(
                &state,
                &actor,
                lang,
                &id,
                Shown { form: "preview", preview: Some(l), typed: Some(data), ..Shown::default() },
            )
            .await
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            refused(&state, &actor, lang, &id, Shown { form: "preview", errors, typed: Some(data), ..Shown::default() })
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The preview as the printed letter (a new tab); refused input shows on the page.
async fn preview_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
    data: FormData,
) -> Result<Response, AppError> {
    let pdf = async { notices::preview_pdf(&state.services, &actor, &id, &preview_input(&data)?).await }.await;
    match pdf {
        Ok(pdf) => Ok(crate::api::notices::inline_pdf(pdf, "preview.pdf")),
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            refused(&state, &actor, lang, &id, Shown { form: "preview", errors, typed: Some(data), ..Shown::default() })
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Uploads a picture for the template's letters (multipart `file`): the
/// editor's script asks for JSON and writes the line into the text; without
/// a script the page shows the lines to copy.
async fn upload_picture(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
    headers: axum::http::HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    use axum::http::StatusCode;
    let mut multipart = multipart.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
    let mut bytes = Vec::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?
    {
        if field.name() == Some("file") {
            bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                .to_vec();
        }
    }
    let wants_json =
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    match notices::printed::upload_picture(&state.services, &actor, bytes).await {
        Ok((name, _, _)) => {
            let lines = (format!("@image {name} 40"), format!("@form {name}"));
            if wants_json {
                return Ok(
                    axum::Json(serde_json::json!({ "image_line": lines.0, "form_line": lines.1 })).into_response()
                );
            }
            template_page(
                &state,
                &actor,
                lang,
                &id,
                Shown { form: "picture", picture: Some(lines), ..Shown::default() },
            )
            .await
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let errors = field_messages(lang, &e);
            if wants_json {
                let body = axum::Json(serde_json::json!({ "errors": errors }));
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
            }
            refused(&state, &actor, lang, &id, Shown { form: "picture", errors, ..Shown::default() }).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The unsubscribe link of a marketing e-mail, opened without signing in:
/// the customer confirms with one button (mail programs POST it themselves).
async fn unsubscribe_page(
    State(state): State<AppState>,
    lang: Lang,
    crate::extract::MaybeAuthed(actor): crate::extract::MaybeAuthed,
    Path((id, token)): Path<(CustomerId, String)>,
) -> Result<Response, AppError> {
    let done = loupan_service::customers::unsubscriber(&state.services, &id, &token).await?;
    unsubscribe_view(&state, lang, actor.as_ref(), done)
}

async fn unsubscribe(
    State(state): State<AppState>,
    lang: Lang,
    crate::extract::MaybeAuthed(actor): crate::extract::MaybeAuthed,
    Path((id, token)): Path<(CustomerId, String)>,
) -> Result<Response, AppError> {
    loupan_service::customers::unsubscribe(&state.services, &id, &token).await?;
    unsubscribe_view(&state, lang, actor.as_ref(), true)
}

fn unsubscribe_view(state: &AppState, lang: Lang, actor: Option<&Actor>, done: bool) -> Result<Response, AppError> {
    let csrf = actor.and_then(|a| a.session.as_ref()).map(|s| s.csrf_token.clone()).unwrap_or_default();
    let html = render(state, "unsubscribe.html", context! { lang => lang.code(), done => done, csrf => csrf })?;
    Ok(html.into_response())
}

async fn calibration_page(Authed(actor): Authed) -> Result<Response, AppError> {
    Ok(crate::api::notices::inline_pdf(notices::calibration_page(&actor)?, "calibration.pdf"))
}

/// The field messages of refused input; a conflict (nobody to send to, no
/// SMTP server) said at `field`.
fn messages_at(lang: Lang, e: &ServiceError, field: &str) -> Value {
    match e {
        ServiceError::Conflict(code) => Value::from_serialize(
            [(field, crate::i18n::t(lang, &format!("error.{code}")))]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
        _ => field_messages(lang, e),
    }
}

/// The template page again with the input it refused and why (422).
async fn refused(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &NoticeTemplateId,
    shown: Shown,
) -> Result<Response, AppError> {
    let mut page = template_page(state, actor, lang, id, shown).await?;
    *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(page)
}

fn batch_of(id: &NoticeTemplateId, data: &FormData) -> Result<NewBatch, ServiceError> {
    let project_id = ProjectId::given(data.get("project_id"))
        .ok_or_else(|| ServiceError::from(loupan_domain::Invalid::one("project_id", "required")))?;
    let audience = match data.get("source").unwrap_or("arrears") {
        "owners" => Audience::Owners,
        "building" => Audience::Building {
            building_id: BuildingId::given(data.get("building_id"))
                .ok_or_else(|| ServiceError::from(loupan_domain::Invalid::one("building_id", "required")))?,
        },
        "saved_filter" => Audience::SavedFilter {
            filter_id: data
                .get("filter_id")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| ServiceError::from(loupan_domain::Invalid::one("audience.filter_id", "required")))?
                .to_owned(),
        },
        "customers" => Audience::Customers {
            customer_ids: data
                .get("customer_ids")
                .unwrap_or_default()
                .split([',', ' ', '\n', '，'])
                .filter_map(|s| CustomerId::given(Some(s)))
                .collect(),
        },
        _ => Audience::Arrears {
            min_days: data
                .get("min_days")
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map_or(Ok(1), str::parse::<u16>)
                .map_err(|_| ServiceError::from(loupan_domain::Invalid::one("min_days", "invalid_number")))?,
        },
    };
    Ok(NewBatch {
        template_id: id.clone(),
        project_id,
        audience,
        as_of: date_of(data, "as_of")?,
        details: details_of(data),
    })
}

/// Previews a batch (`confirm` absent) or confirms it.
async fn batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeTemplateId>,
    data: FormData,
) -> Result<Response, AppError> {
    let result = async {
        let form = batch_of(&id, &data)?;
        if data.get("confirm").is_some() {
            notices::create_batch(&state.services, &actor, form).await.map(Ok)
        } else {
            notices::preview_batch(&state.services, &actor, &form).await.map(Err)
        }
    }
    .await;
    match result {
        Ok(Ok(b)) => Ok(Redirect::to(&format!("/notices/batches/{}", b.id)).into_response()),
        Ok(Err(plan)) => {
            template_page(
                &state,
                &actor,
                lang,
                &id,
                Shown { form: "batch", plan: Some((plan, data)), ..Shown::default() },
            )
            .await
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let errors = messages_at(lang, &e, "batch");
            refused(&state, &actor, lang, &id, Shown { form: "batch", errors, typed: Some(data), ..Shown::default() })
                .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn batch_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeBatchId>,
) -> Result<Html<String>, AppError> {
    let b = notices::get_batch(&state.services, &actor, &id).await?;
    let template = notices::get_template(&state.services, &actor, &b.template_id).await?;
    let recipients: Vec<Value> = notices::batch_recipients(&state.services, &actor, &id)
        .await?
        .into_iter()
        .map(|r| {
            context! { id => r.id.as_str().to_owned(), customer_id => r.customer_id.as_str().to_owned(), name => r.customer_name,
            status => r.status.name(), skip_reason => r.skip_reason, error => r.error, sent_at => r.sent_at.map(|t| t.to_rfc3339()) }
        })
        .collect();
    let ctx = context! {
        recipients => recipients,
        b => context! { id => b.id.as_str().to_owned(), kind => b.kind.name(), status => b.status.name(), total => b.total,
            sent => b.sent, skipped => b.skipped, failed => b.failed, as_of => b.as_of.to_string(), by => b.created_by_name,
            at => b.created_at.to_rfc3339(), finished_at => b.finished_at.map(|t| t.to_rfc3339()), has_letters => b.has_letters,
            running => b.status != BatchStatus::Done },
        template => template_view(&template),
        ..base_context(&actor, lang, NAV)
    };
    render(&state, "notice_batch.html", ctx)
}

async fn batch_letters(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<NoticeBatchId>,
) -> Result<Response, AppError> {
    let body = notices::batch_letters(&state.services, &actor, &id).await?;
    Ok(crate::api::notices::pdf_response(body, &format!("letters-{id}.pdf")))
}

async fn batch_letters_zip(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<NoticeBatchId>,
) -> Result<Response, AppError> {
    let bytes = notices::batch_letters_zip(&state.services, &actor, &id).await?;
    Ok(crate::api::notices::zip_response(bytes, &format!("letters-{id}.zip")))
}

async fn sending(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<NoticeRecipientId>,
) -> Result<Html<String>, AppError> {
    let s = notices::sending(&state.services, &actor, &id).await?;
    let ctx = context! {
        s => context! { kind => s.kind.name(), channel => s.channel.name(), template => s.template_name, version => s.template_version,
            subject => s.subject, text => s.text, sent_at => s.sent_at.map(|t| t.to_rfc3339()), customer_id => s.customer_id.as_str().to_owned() },
        ..base_context(&actor, lang, "/customers")
    };
    render(&state, "notice_sending.html", ctx)
}

// ---- Sending settings: the company's SMTP server and SMS gateway ----

/// What the settings page shows beside the settings: which form (`smtp`,
/// `sms`) the refused input or a test's outcome belongs to.
#[derive(Default)]
struct SettingsShown<'a> {
    form: &'static str,
    errors: Value,
    typed: Option<&'a FormData>,
    outcome: Option<TestOutcome>,
}

async fn settings_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    shown: SettingsShown<'_>,
) -> Result<Response, AppError> {
    let smtp = mail::smtp_settings(&state.services, actor).await?;
    let gateway = sms::sms_settings(&state.services, actor).await?;
    let typed = |form: &str| shown.typed.filter(|_| shown.form == form).map(|d| Value::from_serialize(d.values()));
    let smtp_values = typed("smtp").unwrap_or_else(|| match &smtp {
        Some(s) => Value::from_serialize(s),
        None => Value::from_serialize(context! { port => 587, security => "starttls" }),
    });
    let sms_values = typed("sms").unwrap_or_else(|| match &gateway {
        Some(s) => Value::from_serialize(s),
        None => Value::from_serialize(
            context! { provider => "http", method => "POST", content_type => "application/json", rate_per_second => 10 },
        ),
    });
    let head = notices::letterhead::letterhead(&state.services, actor).await?;
    let letterhead_values = typed("letterhead").unwrap_or_else(|| Value::from_serialize(&head));
    let ctx = context! {
        letterhead => letterhead_values, logo => head.logo,
        values => smtp_values, has_password => smtp.as_ref().is_some_and(|s| s.has_password), configured => smtp.is_some(),
        sms => sms_values, has_secret => gateway.as_ref().is_some_and(|s| s.has_secret), sms_configured => gateway.is_some(),
        reply_url => gateway.as_ref().map(|g| format!("{}{}", state.services.config.public_url.as_deref().unwrap_or_default(), g.reply_path)),
        securities => SmtpSecurity::names().to_vec(), providers => SmsProvider::names().to_vec(),
        form => shown.form, errors => shown.errors,
        outcome => shown.outcome.map(|o| context! { delivered => o.delivered, answer => o.answer }),
        ..base_context(actor, lang, SETTINGS)
    };
    Ok(render(state, "notice_settings.html", ctx)?.into_response())
}

const SETTINGS: &str = "/admin/sending";

async fn settings(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    settings_page(&state, &actor, lang, SettingsShown::default()).await
}

async fn save_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let text = |field: &str| data.get(field).map(str::to_owned);
    let (form, saved) = if data.get("form") == Some("sms") {
        let form = sms::SmsForm {
            provider: text("provider"),
            url: text("url"),
            method: text("method"),
            content_type: text("content_type"),
            body_template: text("body_template"),
            success_contains: text("success_contains"),
            endpoint: text("endpoint"),
            access_key_id: text("access_key_id"),
            access_key_secret: text("access_key_secret"),
            clear_secret: data.get("clear_secret") == Some("1"),
            sign_name: text("sign_name"),
            region_id: text("region_id"),
            // A rate that does not read is refused like one out of range.
            rate_per_second: data.get("rate_per_second").map(|r| r.trim().parse::<u32>().unwrap_or(0)),
        };
        ("sms", sms::set_sms(&state.services, &actor, form).await.map(drop))
    } else {
        let form = mail::SmtpForm {
            host: text("host"),
            // A port that does not read is refused like one out of range.
            port: data.get("port").map(|p| p.trim().parse::<u32>().unwrap_or(0)),
            security: text("security"),
            user: text("user"),
            password: text("password"),
            clear_password: data.get("clear_password") == Some("1"),
            sender_name: text("sender_name"),
            sender_address: text("sender_address"),
        };
        ("smtp", mail::set_smtp(&state.services, &actor, form).await.map(drop))
    };
    form_post!(lang, saved, |()| SETTINGS, |errors| {
        settings_page(&state, &actor, lang, SettingsShown { form, errors, typed: Some(&data), outcome: None }).await
    })
}

/// The letterhead form: text fields and, if chosen, a new logo (multipart,
/// the CSRF token in the query as for a template's pictures).
async fn save_letterhead(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    use axum::http::StatusCode;
    let mut multipart = multipart.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
    let mut fields = Vec::new();
    let mut logo_bytes = Vec::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            logo_bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                .to_vec();
        } else {
            let text = field.text().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
            fields.push((name, text));
        }
    }
    let data = FormData(fields);
    let saved = async {
        let logo = if !logo_bytes.is_empty() {
            Some(notices::printed::upload_picture(&state.services, &actor, logo_bytes).await?.0)
        } else if data.get("clear_logo") == Some("1") {
            None
        } else {
            notices::letterhead::letterhead(&state.services, &actor).await?.logo
        };
        let form = notices::letterhead::LetterheadForm {
            name: data.text("name"),
            address: data.text("address"),
            phone: data.text("phone"),
            logo,
        };
        notices::letterhead::set_letterhead(&state.services, &actor, form).await.map(drop)
    }
    .await;
    form_post!(lang, saved, |()| SETTINGS, |errors| {
        settings_page(
            &state,
            &actor,
            lang,
            SettingsShown { form: "letterhead", errors, typed: Some(&data), outcome: None },
        )
        .await
    })
}

async fn test_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    data: FormData,
) -> Result<Response, AppError> {
    let (form, outcome) = if data.get("form") == Some("sms") {
        ("sms", sms::send_test(&state.services, &actor, data.get("phone").unwrap_or_default()).await)
    } else {
        ("smtp", mail::send_test(&state.services, &actor, data.get("to").unwrap_or_default()).await)
    };
    match outcome {
        Ok(outcome) => {
            settings_page(&state, &actor, lang, SettingsShown { form, outcome: Some(outcome), ..Default::default() })
                .await
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let errors = messages_at(lang, &e, if form == "sms" { "phone" } else { "to" });
            let mut page =
                settings_page(&state, &actor, lang, SettingsShown { form, errors, ..Default::default() }).await?;
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notices", get(index).post(create))
        .route("/notices/care", post(set_care))
        .route("/notices/templates/{id}", get(template).post(update))
        .route("/notices/templates/{id}/preview", post(preview))
        .route("/notices/templates/{id}/preview.pdf", post(preview_pdf))
        .route("/notices/templates/{id}/pictures", post(upload_picture))
        .route("/notices/calibration.pdf", get(calibration_page))
        .route("/unsubscribe/{id}/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/notices/templates/{id}/batch", post(batch))
        .route("/notices/batches/{id}", get(batch_page))
        .route("/notices/batches/{id}/letters.pdf", get(batch_letters))
        .route("/notices/batches/{id}/letters.zip", get(batch_letters_zip))
        .route("/notices/sendings/{id}", get(sending))
        .route(SETTINGS, get(settings).post(save_settings))
        .route("/admin/sending/test", post(test_settings))
        .route("/admin/sending/letterhead", post(save_letterhead))
}
