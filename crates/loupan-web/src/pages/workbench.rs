//! The workbench (工作台): the user's home. Approvals waiting for them, their
//! own open requests, alerts from every module, and their projects.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use loupan_service::{inventory, workbench};
use minijinja::context;

use crate::extract::Authed;
use crate::i18n::Lang;
use crate::pages::{base_context, render};
use crate::{AppError, AppState};

async fn workbench(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Html<String>, AppError> {
    let summaries = if actor.can(loupan_domain::Permission::ReadProjects) {
        inventory::project_summaries(&state.services, &actor).await?
    } else {
        Vec::new()
    };
    let projects: Vec<minijinja::Value> = summaries
        .iter()
        .map(|s| {
            let statuses: Vec<minijinja::Value> = s
                .by_status
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(st, n)| context! { status => st.name(), count => n })
                .collect();
            context! { id => s.project.id.clone(), name => s.project.name.clone(), city => s.project.city.clone(),
            total => s.total_units, statuses => statuses }
        })
        .collect();
    let w = workbench::workbench(&state.services, &actor).await?;
    let pending: Vec<minijinja::Value> = w
        .pending_approvals
        .iter()
        .map(|i| {
            context! { id => i.request.id.clone(), kind => i.request.kind.clone(), summary => crate::views::said_or(lang, i.request.summary_said.as_ref(), &i.request.summary),
            submitter => i.request.submitter_name.clone(), step => i.step_name.clone(),
            due_at => i.due_at.map(|d| d.to_rfc3339()), on_behalf_of => i.on_behalf_of.clone() }
        })
        .collect();
    let own: Vec<minijinja::Value> = w
        .own_requests
        .iter()
        .map(|r| context! { id => r.id.clone(), kind => r.kind.clone(), summary => crate::views::said_or(lang, r.summary_said.as_ref(), &r.summary), status => r.status.clone() })
        .collect();
    let alerts: Vec<minijinja::Value> =
        w.alerts.iter().map(|a| context! { kind => a.kind, count => a.count, link => a.link }).collect();
    let roles: Vec<String> = actor.roles.iter().map(|r| format!("role.{}", r.name())).collect();
    render(
        &state,
        "workbench.html",
        context! { projects => projects, role_keys => roles, pending => pending, own => own, alerts => alerts,
        unread => w.unread_notifications, visitors => minijinja::Value::from_serialize(&w.visitors),
        receives_visitors => actor.can(loupan_domain::Permission::WriteCustomers) && actor.user_id.is_some(),
        responsibility => minijinja::Value::from_serialize(&w.responsibility),
        process_steps => minijinja::Value::from_serialize(&w.process_steps),
        process_steps_total => w.process_steps_total,
        ..base_context(&actor, lang, "/") },
    )
}

pub fn router() -> axum::Router<AppState> {
    Router::new().route("/", get(workbench))
}
