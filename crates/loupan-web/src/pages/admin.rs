//! User administration and the audit trail, for administrators.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use loupan_domain::Role;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_service::platform::audit::{self, AuditFilter};
use loupan_service::{Actor, inventory, platform::users};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::{self, Lang};
use crate::pages::{base_context, render};
use crate::{AppError, AppState};

fn user_view(u: &users::User) -> Value {
    context! {
        id => u.id.clone(), username => u.username.clone(), display_name => u.display_name.clone(),
        role_keys => u.roles.iter().map(|r| format!("role.{}", r.name())).collect::<Vec<_>>(),
        roles => u.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
        project_ids => u.project_ids.clone(), disabled => u.disabled, version => u.version,
        manager_id => u.manager_id.clone(), department => u.department.clone(),
    }
}

fn all_roles() -> Vec<Value> {
    Role::ALL.iter().map(|r| context! { name => r.name(), key => format!("role.{}", r.name()) }).collect()
}

async fn project_options(state: &AppState, actor: &Actor) -> Result<Vec<Value>, AppError> {
    Ok(inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect())
}

#[derive(Deserialize)]
struct Notice {
    notice: Option<String>,
    after: Option<String>,
}

fn notice_text(lang: Lang, key: Option<&str>) -> Option<String> {
    match key {
        Some(k @ ("created" | "saved" | "password_reset")) => Some(i18n::t(lang, &format!("users.{k}"))),
        _ => None,
    }
}

/// What the user list page shows besides the list: the new-user form as typed,
/// its errors, and a notice about the last action.
struct UserForm {
    typed: Value,
    errors: Value,
    notice: Option<String>,
    status: StatusCode,
}

async fn users_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    after: Option<&str>,
    view: UserForm,
) -> Result<Response, AppError> {
    let UserForm { typed: form, errors, notice, status } = view;
    const PAGE: u64 = 50;
    let mut list = users::list_users(&state.services, actor, after, PAGE + 1).await?;
    let next = if list.len() as u64 > PAGE {
        list.truncate(PAGE as usize);
        list.last().map(|u| u.username.clone())
    } else {
        None
    };
    let html = render(
        state,
        "users.html",
        context! {
            users => list.iter().map(user_view).collect::<Vec<_>>(),
            next => next, all_roles => all_roles(), projects => project_options(state, actor).await?,
            form => form, errors => errors, notice => notice,
            ..base_context(actor, lang, "/admin/users")
        },
    )?;
    Ok((status, html).into_response())
}

async fn list_users(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<Notice>,
) -> Result<Response, AppError> {
    let notice = notice_text(lang, q.notice.as_deref());
    let view = UserForm { typed: Value::UNDEFINED, errors: Value::UNDEFINED, notice, status: StatusCode::OK };
    users_page(&state, &actor, lang, q.after.as_deref(), view).await
}

async fn create_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new_user = users::NewUser {
        username: form.text("username"),
        password: form.text("password"),
        display_name: form.text("display_name"),
        roles: form.all("roles"),
        project_ids: form.all("project_ids").into_iter().map(ProjectId::from).collect(),
    };
    form_post!(
        lang,
        users::create_user(&state.services, &actor, new_user).await,
        |_| "/admin/users?notice=created",
        |errors| {
            let typed = context! {
                username => form.text("username"), display_name => form.text("display_name"),
                roles => form.all("roles"), project_ids => form.all("project_ids"),
            };
            let view = UserForm { typed, errors, notice: None, status: StatusCode::UNPROCESSABLE_ENTITY };
            users_page(&state, &actor, lang, None, view).await
        }
    )
}

async fn audit_rows(state: &AppState, actor: &Actor, filter: &AuditFilter, limit: u64) -> Result<Vec<Value>, AppError> {
    Ok(audit::list(&state.services, actor, filter, limit)
        .await?
        .into_iter()
        .map(|r| {
            context! {
                seq => r.seq, at => r.occurred_at.to_rfc3339(), actor => r.actor_name, actor_id => r.actor_id,
                action => r.action, record_type => r.record_type, record_id => r.record_id,
                before => r.before_json, after => r.after_json,
            }
        })
        .collect())
}

async fn edit_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &UserId,
    errors: Value,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user = users::get_user(&state.services, actor, id).await?;
    let history = if actor.can(loupan_domain::Permission::ReadAudit) {
        let filter =
            AuditFilter { record_type: Some("user".into()), record_id: Some(id.to_string()), ..Default::default() };
        audit_rows(state, actor, &filter, 50).await?
    } else {
        Vec::new()
    };
    let html = render(
        state,
        "user_edit.html",
        context! {
            u => user_view(&user), all_roles => all_roles(), projects => project_options(state, actor).await?,
            people => users::colleagues(&state.services, actor).await?.into_iter()
                .map(|c| context! { id => c.id, name => c.display_name, username => c.username }).collect::<Vec<_>>(),
            departments => loupan_service::cost::department_names(&state.services, actor).await?,
            errors => errors, notice => notice, history => history,
            ..base_context(actor, lang, "/admin/users")
        },
    )?;
    Ok((status, html).into_response())
}

async fn show_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UserId>,
    Query(q): Query<Notice>,
) -> Result<Response, AppError> {
    let notice = notice_text(lang, q.notice.as_deref());
    edit_page(&state, &actor, lang, &id, Value::UNDEFINED, notice, StatusCode::OK).await
}

async fn update_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UserId>,
    form: FormData,
) -> Result<Response, AppError> {
    let changes = users::UserChanges {
        version: form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        display_name: form.text("display_name"),
        roles: form.all("roles"),
        project_ids: form.all("project_ids").into_iter().map(ProjectId::from).collect(),
        disabled: form.get("disabled") == Some("on"),
        manager_id: form.text("manager_id"),
        department: form.text("department"),
    };
    form_post!(
        lang,
        users::update_user(&state.services, &actor, &id, changes).await,
        |_| format!("/admin/users/{id}?notice=saved"),
        |errors| edit_page(&state, &actor, lang, &id, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

async fn reset_password(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UserId>,
    form: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        users::reset_password(&state.services, &actor, &id, form.get("password")).await,
        |()| format!("/admin/users/{id}?notice=password_reset"),
        |errors| edit_page(&state, &actor, lang, &id, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

#[derive(Deserialize)]
struct AuditQuery {
    record_id: Option<String>,
    actor_id: Option<String>,
    before: Option<i64>,
}

async fn audit_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    const PAGE: u64 = 100;
    let filter = AuditFilter {
        record_type: None,
        record_id: q.record_id.clone().filter(|s| !s.is_empty()),
        actor_id: q.actor_id.clone().filter(|s| !s.is_empty()),
        before_seq: q.before,
    };
    let rows = audit_rows(&state, &actor, &filter, PAGE).await?;
    let older = if rows.len() as u64 == PAGE { rows.last().and_then(|r| r.get_attr("seq").ok()) } else { None };
    render(
        &state,
        "audit.html",
        context! { rows => rows, older => older, record_id => q.record_id, actor_id => q.actor_id,
        ..base_context(&actor, lang, "/admin/audit") },
    )
}

async fn verify_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let v = audit::verify(&state.services, &actor).await?;
    let message = match v.broken {
        None => i18n::t_with(lang, "audit.verified", &[("n", &v.rows_checked.to_string())]),
        Some((seq, reason)) => i18n::t_with(lang, "audit.broken", &[("seq", &seq.to_string()), ("reason", reason)]),
    };
    let filter = AuditFilter::default();
    let rows = audit_rows(&state, &actor, &filter, 100).await?;
    render(
        &state,
        "audit.html",
        context! { rows => rows, verification => message, intact => v.broken.is_none(),
        ..base_context(&actor, lang, "/admin/audit") },
    )
}

/// The built-in roles and what each may do (the permission table of the code).
async fn roles_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    actor.require(loupan_domain::Permission::ManageUsers)?;
    let roles: Vec<Value> = Role::ALL
        .iter()
        .map(|r| {
            let permissions: Vec<String> = r.permissions().iter().map(|p| format!("permission.{}", p.name())).collect();
            context! { key => format!("role.{}", r.name()), name => r.name(), permissions => permissions,
            all_projects => r.sees_all_projects() }
        })
        .collect();
    render(&state, "roles.html", context! { roles => roles, ..base_context(&actor, lang, "/admin/users") })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/{id}", get(show_user).post(update_user))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/roles", get(roles_page))
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit/verify", get(verify_page))
}
