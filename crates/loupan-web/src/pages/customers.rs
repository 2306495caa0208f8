//! Customer pages: search, registration with a live duplicate warning, the
//! customer's page (profile, timeline, follow-ups) and the managers' duplicate list.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_service::{Actor, ServiceError, customers, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

fn customer_view(c: &customers::Customer) -> Value {
    context! {
        id => c.id.clone(), name => c.name.clone(), phone => c.phone.clone(), owner_name => c.owner_name.clone(),
        kind => c.kind.clone(), grade => c.grade.clone(), source => c.source.clone(), notes => c.notes.clone(),
        id_type => c.id_type.clone(), id_number_masked => c.id_number_masked.clone(),
        last_contact_at => c.last_contact_at.map(|t| t.to_rfc3339()), created_at => c.created_at.to_rfc3339(),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    project_id: Option<String>,
    grade: Option<String>,
    source: Option<String>,
    after: Option<String>,
}

impl SearchQuery {
    /// The conditions as a query string (for "more", the export and saved filters).
    fn conditions(&self) -> String {
        let mut out = Vec::new();
        for (k, v) in
            [("q", &self.q), ("project_id", &self.project_id), ("grade", &self.grade), ("source", &self.source)]
        {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                out.push(format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
            }
        }
        out.join("&")
    }
}

async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<SearchQuery>,
) -> Result<Html<String>, AppError> {
    const PAGE: u64 = 50;
    let query = customers::CustomerQuery {
        q: q.q.clone(),
        project_id: q.project_id.clone(),
        grade: q.grade.clone(),
        source: q.source.clone(),
        ..Default::default()
    };
    let mut rows = customers::search(&state.services, &actor, query, q.after.clone(), PAGE + 1).await?;
    let next = if rows.len() as u64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|c| c.id.clone())
    } else {
        None
    };
    let projects: Vec<Value> = inventory::list_projects(&state.services, &actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    render(
        &state,
        "customers.html",
        context! {
            customers => rows.iter().map(customer_view).collect::<Vec<_>>(), q => q.q, next => next, projects => projects,
            project_id => q.project_id, grade => q.grade, source => q.source, conditions => q.conditions(),
            saved => loupan_service::saved_filters::list(&state.services, &actor).await?.into_iter()
                .map(|f| context! { id => f.id, name => f.name, query => f.query }).collect::<Vec<_>>(),
            can_register => actor.can(Permission::WriteCustomers), can_rule => actor.can(Permission::ManageCustomers),
            ..base_context(&actor, lang, "/customers")
        },
    )
}

async fn new_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    typed: Value,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let projects: Vec<Value> = inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        state,
        "customer_new.html",
        context! { projects => projects, form => typed, errors => errors, ..base_context(actor, lang, "/customers") },
    )?;
    Ok((status, html).into_response())
}

async fn show_new(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    actor.require(Permission::WriteCustomers)?;
    new_page(&state, &actor, lang, Value::UNDEFINED, Value::UNDEFINED, StatusCode::OK).await
}

async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = customers::NewCustomer {
        project_id: form.text("project_id"),
        name: form.text("name"),
        phone: form.text("phone"),
        kind: form.text("kind"),
        id_type: form.text("id_type"),
        id_number: form.text("id_number"),
        source: form.text("source"),
        grade: form.text("grade"),
        notes: form.text("notes"),
        owner_id: None,
    };
    match customers::register(&state.services, &actor, new).await {
        Ok(done) => Ok(Redirect::to(&format!("/customers/{}?duplicates={}", done.customer.id, done.duplicates.len()))
            .into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let typed = context! {
                project_id => form.text("project_id"), name => form.text("name"), phone => form.text("phone"),
                id_type => form.text("id_type"), source => form.text("source"), grade => form.text("grade"), notes => form.text("notes"),
            };
            new_page(&state, &actor, lang, typed, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    duplicates: Option<usize>,
}

async fn detail_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    extra: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let customer = customers::get(&state.services, actor, id).await?;
    let timeline: Vec<Value> = customers::timeline(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|e| context! { kind => e.kind, summary => e.summary, actor => e.actor_name, at => e.occurred_at.to_rfc3339() })
        .collect();
    let merges: Vec<Value> = customers::merges_of(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|m| context! { id => m.id, merged_id => m.merged_id, by => m.merged_by, at => m.merged_at.to_rfc3339(), undone => m.undone })
        .collect();
    let html = render(
        state,
        "customer.html",
        minijinja::value::merge_maps([
            context! {
                c => customer_view(&customer), timeline => timeline, merges => merges,
                merged_into => customer.merged_into.clone(),
                can_merge => actor.can(Permission::ManageCustomers),
                can_reveal => actor.can(Permission::RevealPersonalData), can_write => actor.can(Permission::WriteCustomers),
            },
            extra,
            base_context(actor, lang, "/customers"),
        ]),
    )?;
    Ok((status, html).into_response())
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    detail_page(&state, &actor, lang, &id, context! { duplicates => q.duplicates.unwrap_or(0) }, StatusCode::OK).await
}

async fn add_follow_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = customers::NewFollowUp {
        kind: form.text("kind"),
        outcome: form.text("outcome"),
        next_contact_on: form.text("next_contact_on"),
    };
    match customers::add_follow_up(&state.services, &actor, &id, new).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            detail_page(
                &state,
                &actor,
                lang,
                &id,
                context! { errors => field_messages(lang, &e) },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    match customers::reveal(&state.services, &actor, &id, form.get("reason")).await {
        Ok(r) => {
            let revealed = context! { phone => r.phone, id_number => r.id_number };
            detail_page(&state, &actor, lang, &id, context! { revealed => revealed }, StatusCode::OK).await
        }
        Err(e @ ServiceError::Invalid(_)) => {
            detail_page(
                &state,
                &actor,
                lang,
                &id,
                context! { errors => field_messages(lang, &e) },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn duplicates(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let records: Vec<Value> = customers::duplicate_records(&state.services, &actor, None, 200)
        .await?
        .into_iter()
        .map(|r| {
            context! { id => r.id, kind => r.match_kind, status => r.status, customer => customer_view(&r.customer),
            matched => customer_view(&r.matched), note => r.ruling_note, at => r.created_at.to_rfc3339() }
        })
        .collect();
    render(
        &state,
        "customer_duplicates.html",
        context! { records => records, ..base_context(&actor, lang, "/customers") },
    )
}

async fn rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let ruling = form.text("ruling").unwrap_or_default();
    customers::rule_duplicate(&state.services, &actor, &id, &ruling, form.get("note").filter(|n| !n.is_empty()))
        .await?;
    Ok(Redirect::to("/customers/duplicates").into_response())
}

/// Excel import from the customers page (multipart: project, mode, file).
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let bad = || AppError::new(StatusCode::BAD_REQUEST, "invalid_input");
    let mut multipart = multipart.map_err(|_| bad())?;
    let (mut file, mut mode, mut project) = (Vec::new(), String::from("check"), String::new());
    while let Some(field) = multipart.next_field().await.map_err(|_| bad())? {
        match field.name() {
            Some("file") => {
                file = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                    .to_vec()
            }
            Some("mode") => mode = field.text().await.unwrap_or_default(),
            Some("project_id") => project = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    // Writing runs as a background job with its progress on a page of its own.
    if mode == "import" {
        return match loupan_service::customer_import::start_import_job(&state.services, &actor, &project, &file).await {
            Ok(job) => Ok(Redirect::to(&format!("/customers/import/{}", job.id)).into_response()),
            Err(e @ ServiceError::Invalid(_)) => {
                let html = render(
                    &state,
                    "customer_import.html",
                    context! { errors => field_messages(lang, &e), ..base_context(&actor, lang, "/customers") },
                )?;
                Ok(html.into_response())
            }
            Err(e) => Err(e.into()),
        };
    }
    let (report, errors) = match loupan_service::customer_import::import_customers(
        &state.services,
        &actor,
        &project,
        &file,
        false,
    )
    .await
    {
        Ok(r) => (Some(crate::api::customers::import_report_dto(r, lang)), Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let html = render(
        &state,
        "customer_import.html",
        context! { report => report, errors => errors, ..base_context(&actor, lang, "/customers") },
    )?;
    Ok(html.into_response())
}

/// A background import: its progress while it runs, then its report.
async fn import_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = loupan_service::jobs::get(&state.services, &actor, &id).await?;
    if job.kind != "customer_import" {
        return Err(AppError::new(StatusCode::NOT_FOUND, "not_found"));
    }
    let report = job.result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()).map(|mut r| {
        // Row errors carry codes; the page shows them in the reader's language.
        if let Some(errors) = r["errors"].as_array_mut() {
            for e in errors {
                let code = e["code"].as_str().unwrap_or_default().to_owned();
                e["message"] = serde_json::Value::from(crate::i18n::t(lang, &format!("field_error.{code}")));
            }
        }
        Value::from_serialize(&r)
    });
    let errors = if job.status == "dead" {
        Value::from_serialize(std::collections::BTreeMap::from([("file", crate::i18n::t(lang, "error.import_failed"))]))
    } else {
        Value::UNDEFINED
    };
    let running = matches!(job.status.as_str(), "queued" | "running");
    let html = render(
        &state,
        "customer_import.html",
        context! { report => report, errors => errors, running => running,
        job => context! { id => job.id, done => job.progress_done, total => job.progress_total, status => job.status },
        ..base_context(&actor, lang, "/customers") },
    )?;
    Ok(html.into_response())
}

async fn undo_merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, merge)): Path<(String, String)>,
) -> Result<Response, AppError> {
    customers::undo_merge(&state.services, &actor, &merge).await?;
    Ok(Redirect::to(&format!("/customers/{id}")).into_response())
}

#[derive(serde::Deserialize)]
struct ExceptionQuery {
    project_id: Option<String>,
    days: Option<String>,
}

/// 异常客户: who has gone silent, owes money overdue, or cancelled lately.
async fn exceptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    axum::extract::Query(q): axum::extract::Query<ExceptionQuery>,
) -> Result<Html<String>, AppError> {
    let days = match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(d.parse::<i64>().map_err(|_| {
            AppError::field(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "days", "out_of_range")
        })?),
    };
    let e = loupan_service::customer_exceptions::list(&state.services, &actor, q.project_id.as_deref(), days).await?;
    let person = |c: &loupan_service::customer_exceptions::ExceptionCustomer| {
        context! { id => c.id, name => c.name, phone => c.phone, owner => c.owner_name }
    };
    let projects: Vec<Value> = loupan_service::inventory::list_projects(&state.services, &actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    render(
        &state,
        "customer_exceptions.html",
        context! {
            days => e.silent_days, project_id => q.project_id, projects => projects,
            silent => e.silent.iter().map(|s| context! { c => person(&s.customer), days => s.days_silent,
                last => s.last_contact_at.map(|d| d.to_rfc3339()) }).collect::<Vec<_>>(),
            overdue => e.overdue.iter().map(|o| context! { c => person(&o.customer), amount => o.overdue.to_string(),
                since => o.overdue_since.to_string(), days => o.days_overdue }).collect::<Vec<_>>(),
            cancelled => e.cancelled.iter().map(|x| context! { c => person(&x.customer), kind => x.kind,
                deal_id => x.deal_id, reason => x.reason, at => x.cancelled_at.to_rfc3339() }).collect::<Vec<_>>(),
            ..base_context(&actor, lang, "/customers")
        },
    )
}

async fn save_filter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    form: FormData,
) -> Result<Response, AppError> {
    let query = form.text("query").unwrap_or_default();
    let saved = loupan_service::saved_filters::save(&state.services, &actor, form.get("name"), Some(&query)).await?;
    Ok(Redirect::to(&format!("/customers?{}", saved.query)).into_response())
}

async fn delete_filter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    loupan_service::saved_filters::delete(&state.services, &actor, &id).await?;
    Ok(Redirect::to("/customers").into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/merges/{merge}/undo", post(undo_merge))
        .route("/customers", get(list))
        .route("/customers/import/{job_id}", get(import_job))
        .route("/customers/new", get(show_new).post(create))
        .route("/customers/duplicates", get(duplicates))
        .route("/customers/exceptions", get(exceptions))
        .route("/customers/saved-filters", post(save_filter))
        .route("/customers/saved-filters/{id}/delete", post(delete_filter))
        .route("/customers/import", post(import))
        .route("/customers/duplicates/{id}/rule", post(rule))
        .route("/customers/{id}", get(show))
        .route("/customers/{id}/follow-ups", post(add_follow_up))
        .route("/customers/{id}/reveal", post(reveal))
}
