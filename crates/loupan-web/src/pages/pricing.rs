//! A project's payment methods (付款方式) and the agents' discount limit, as
//! pages: the same rules as `/api/v1/projects/{id}/payment-methods`,
//! `/api/v1/payment-methods/{id}` and `/api/v1/projects/{id}/discount-limit`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::ids::ProjectId;
use loupan_domain::sales::{PaymentMethodKind, TermKind};
use loupan_service::sales::{self, NewPaymentMethod, NewTerm, PaymentMethod};
use loupan_service::{Actor, inventory};
use minijinja::{Value, context};

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, render};
use crate::{AppError, AppState};

/// Term rows a method's form offers (a plan rarely has more).
const TERM_ROWS: usize = 8;

/// The form's fields as typed: `name`, `kind`, `discount`, and for each row
/// `term_kind_{i}`, `term_ratio_{i}`, `term_days_{i}` (rows without a kind are empty).
fn method_form(form: &FormData) -> NewPaymentMethod {
    let terms = (0..TERM_ROWS)
        .filter_map(|i| {
            let kind = form.get(&format!("term_kind_{i}")).filter(|k| !k.is_empty())?;
            let days = form.get(&format!("term_days_{i}")).map(str::trim).filter(|d| !d.is_empty());
            Some(NewTerm {
                kind: Some(kind.to_owned()),
                ratio: form.text(&format!("term_ratio_{i}")),
                // A day count that does not read is refused like one out of range.
                days_after_signing: days.map(|d| d.parse().unwrap_or(-1)),
            })
        })
        .collect();
    NewPaymentMethod {
        name: form.text("name"),
        kind: form.text("kind"),
        discount: form.text("discount"),
        terms,
        non_standard: form.get("non_standard").is_some(),
    }
}

/// The form's values: what was typed, or the method's own.
fn form_values(typed: Option<&FormData>, method: Option<&PaymentMethod>) -> Value {
    let field = |name: &str, own: Option<String>| typed.map_or(own, |f| f.text(name)).unwrap_or_default();
    let terms: Vec<Value> = (0..TERM_ROWS)
        .map(|i| {
            let own = method.and_then(|m| m.terms.get(i));
            context! {
                i => i,
                kind => field(&format!("term_kind_{i}"), own.map(|t| t.kind.clone())),
                ratio => field(&format!("term_ratio_{i}"), own.map(|t| t.ratio.clone())),
                days => field(&format!("term_days_{i}"), own.map(|t| t.days_after_signing.to_string())),
            }
        })
        .collect();
    context! {
        name => field("name", method.map(|m| m.name.clone())),
        kind => field("kind", method.map(|m| m.kind.name().to_owned())),
        discount => field("discount", method.map(|m| m.discount.clone())),
        non_standard => typed.map_or(method.is_some_and(|m| m.non_standard), |f| f.get("non_standard").is_some()),
        terms => terms,
    }
}

fn method_value(m: &PaymentMethod) -> Value {
    context! {
        id => m.id, name => m.name, kind => m.kind, discount => m.discount, version => m.version,
        retired => m.retired_at.is_some(), non_standard => m.non_standard, retired_at => m.retired_at.map(|t| t.to_rfc3339()),
        terms => m.terms.iter().map(|t| context! { kind => t.kind, ratio => t.ratio, days => t.days_after_signing }).collect::<Vec<_>>(),
    }
}

fn choices() -> Value {
    context! {
        kinds => PaymentMethodKind::names().to_vec(),
        term_kinds => TermKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>(),
    }
}

async fn methods_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    project_id: &ProjectId,
    typed: Option<&FormData>,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let project = inventory::get_project(&state.services, actor, project_id).await?;
    let methods = sales::list_payment_methods(&state.services, actor, project_id).await?;
    let html = render(
        state,
        "payment_methods.html",
        context! {
            project => context! { id => project.id, name => project.name, discount_limit => project.agent_discount_limit },
            methods => methods.iter().map(method_value).collect::<Vec<_>>(),
            form => form_values(typed, None), choices => choices(), errors => errors,
            can_manage => actor.can(Permission::ManagePricing),
            ..base_context(actor, lang, "/projects")
        },
    )?;
    Ok((status, html).into_response())
}

async fn show_methods(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
) -> Result<Response, AppError> {
    methods_page(&state, &actor, lang, &id, None, Value::UNDEFINED, StatusCode::OK).await
}

async fn create_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        sales::create_payment_method(&state.services, &actor, &id, method_form(&form)).await,
        |_| format!("/projects/{id}/payment-methods"),
        |errors| {
            let errors = errors;
            methods_page(&state, &actor, lang, &id, Some(&form), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    )
}

async fn set_discount_limit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        inventory::set_agent_discount_limit(&state.services, &actor, &id, form.get("agent_discount_limit")).await,
        |_| format!("/projects/{id}/payment-methods"),
        |errors| {
            let errors = errors;
            methods_page(&state, &actor, lang, &id, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    )
}

async fn method_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    typed: Option<&FormData>,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let method = sales::get_payment_method(&state.services, actor, id).await?;
    let project = inventory::get_project(&state.services, actor, &method.project_id).await?;
    let html = render(
        state,
        "payment_method.html",
        context! {
            project => context! { id => project.id, name => project.name },
            method => method_value(&method), form => form_values(typed, Some(&method)), choices => choices(),
            errors => errors, can_manage => actor.can(Permission::ManagePricing),
            ..base_context(actor, lang, "/projects")
        },
    )?;
    Ok((status, html).into_response())
}

async fn show_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    method_page(&state, &actor, lang, &id, None, Value::UNDEFINED, StatusCode::OK).await
}

fn version_of(form: &FormData) -> i64 {
    form.get("version").and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Saves a change; a method in use comes back as its new version's page.
async fn change_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    form_post!(
        lang,
        sales::update_payment_method(&state.services, &actor, &id, version_of(&form), method_form(&form)).await,
        |m| format!("/payment-methods/{}", m.id),
        |errors| {
            let errors = errors;
            method_page(&state, &actor, lang, &id, Some(&form), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    )
}

async fn retire_method(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let m = sales::retire_payment_method(&state.services, &actor, &id, version_of(&form)).await?;
    Ok(Redirect::to(&format!("/projects/{}/payment-methods", m.project_id)).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/payment-methods", get(show_methods).post(create_method))
        .route("/projects/{id}/discount-limit", post(set_discount_limit))
        .route("/payment-methods/{id}", get(show_method).post(change_method))
        .route("/payment-methods/{id}/retire", post(retire_method))
}
