//! The workbench (工作台): the user's home. Approvals, reminders and alerts
//! arrive here as their modules land; today it shows the user's projects.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use loupan_service::inventory;
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
    let roles: Vec<String> = actor.roles.iter().map(|r| format!("role.{}", r.name())).collect();
    render(
        &state,
        "workbench.html",
        context! { projects => projects, role_keys => roles, ..base_context(&actor, lang, "/") },
    )
}

pub fn router() -> axum::Router<AppState> {
    Router::new().route("/", get(workbench))
}
