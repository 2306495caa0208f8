//! Projects, buildings and the sales control chart (销控图).

use axum::Router;
use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::inventory::UnitStatus;
use loupan_service::{Actor, ServiceError, inventory, unit_import};
use minijinja::{Value, context};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

async fn projects_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let summaries = inventory::project_summaries(&state.services, actor).await?;
    let mut projects = Vec::new();
    for s in summaries {
        let buildings = inventory::list_buildings(&state.services, actor, &s.project.id).await?;
        projects.push(context! {
            id => s.project.id, name => s.project.name, city => s.project.city, total => s.total_units,
            buildings => buildings.into_iter().map(|b| context! { id => b.id, name => b.name }).collect::<Vec<_>>(),
        });
    }
    let html = render(
        state,
        "projects.html",
        context! { projects => projects, can_create => actor.can(Permission::ManageProjects),
                   can_price => actor.can(Permission::ManagePricing),
        can_manage => actor.can(Permission::ManageInventory), errors => errors,
        ..base_context(actor, lang, "/projects") },
    )?;
    Ok((status, html).into_response())
}

async fn list_projects(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    projects_page(&state, &actor, lang, Value::UNDEFINED, StatusCode::OK).await
}

async fn create_project(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = inventory::NewProject { name: form.text("name"), city: form.text("city") };
    match inventory::create_project(&state.services, &actor, new).await {
        Ok(_) => Ok(Redirect::to("/projects").into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            projects_page(&state, &actor, lang, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn create_building(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(project_id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    match inventory::create_building(
        &state.services,
        &actor,
        &project_id,
        inventory::NewBuilding { name: form.text("name") },
    )
    .await
    {
        Ok(b) => Ok(Redirect::to(&format!("/buildings/{}", b.id)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            projects_page(&state, &actor, lang, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The 销控图 of one building: floors top-down, units across, coloured by status.
async fn building_chart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    chart_page(&state, &actor, lang, &id, Value::UNDEFINED, StatusCode::OK).await
}

async fn chart_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (building, units) = inventory::building_chart(&state.services, actor, id).await?;
    let project = inventory::get_project(&state.services, actor, &building.project_id).await?;
    let mut floors: Vec<(i32, Vec<Value>)> = Vec::new();
    for u in units {
        let cell = context! {
            id => u.id, number => u.number, layout => u.layout, status => u.status.name(),
            gross_area => u.gross_area.to_string(), list_price => u.list_price.to_string(),
        };
        match floors.last_mut() {
            Some((floor, cells)) if *floor == u.floor => cells.push(cell),
            _ => floors.push((u.floor, vec![cell])),
        }
    }
    let floors: Vec<Value> =
        floors.into_iter().map(|(floor, cells)| context! { floor => floor, units => cells }).collect();
    let legend: Vec<&str> = UnitStatus::ALL.iter().map(|s| s.name()).collect();
    let html = render(
        state,
        "building.html",
        context! { building => context! { id => building.id, name => building.name },
        project => context! { id => project.id, name => project.name },
        floors => floors, legend => legend, errors => errors, can_manage => actor.can(Permission::ManageInventory),
        ..base_context(actor, lang, "/projects") },
    )?;
    Ok((status, html).into_response())
}

/// Bulk creation from the chart page: one stack per line, `layout, gross, inner, unit price`.
async fn generate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let stacks = form
        .get("stacks")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split([',', '，']).map(|p| Some(p.trim().to_owned()).filter(|p| !p.is_empty()));
            inventory::StackSpec {
                layout: parts.next().flatten(),
                gross_area: parts.next().flatten(),
                inner_area: parts.next().flatten(),
                unit_price: parts.next().flatten(),
            }
        })
        .collect();
    let request = inventory::GenerateUnits {
        from_floor: form.get("from_floor").and_then(|v| v.trim().parse().ok()),
        to_floor: form.get("to_floor").and_then(|v| v.trim().parse().ok()),
        stacks,
        status: form.text("status"),
    };
    match inventory::generate_units(&state.services, &actor, &id, request).await {
        Ok(_) => Ok(Redirect::to(&format!("/buildings/{id}")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            chart_page(&state, &actor, lang, &id, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Excel import from the projects page: the file and the mode come as multipart.
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let mut multipart = multipart.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
    let mut file = Vec::new();
    let mut mode = String::from("all");
    while let Some(field) =
        multipart.next_field().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?
    {
        match field.name() {
            Some("file") => {
                file = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                    .to_vec()
            }
            Some("mode") => mode = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let mode = unit_import::ImportMode::parse(&mode).unwrap_or(unit_import::ImportMode::Validate);
    let project = inventory::get_project(&state.services, &actor, &id).await?;
    let (report, errors) = match unit_import::import_units(&state.services, &actor, &id, &file, mode).await {
        Ok(report) => (Some(crate::api::inventory::report_dto(report, lang)), Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let html = render(
        &state,
        "import_result.html",
        context! { project => context! { id => project.id, name => project.name }, report => report, errors => errors,
        ..base_context(&actor, lang, "/projects") },
    )?;
    Ok(html.into_response())
}

/// Drafts a price adjustment from the projects page and shows its preview.
async fn draft_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(project_id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = loupan_service::pricing::NewAdjustment {
        name: form.text("name"),
        building_id: form.text("building_id"),
        layout: form.text("layout"),
        min_floor: form.get("min_floor").and_then(|v| v.trim().parse().ok()),
        max_floor: form.get("max_floor").and_then(|v| v.trim().parse().ok()),
        method: form.text("method"),
        value: form.text("value"),
    };
    match loupan_service::pricing::create_adjustment(&state.services, &actor, &project_id, new).await {
        Ok((adjustment, _)) => Ok(Redirect::to(&format!("/price-adjustments/{}", adjustment.id)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            projects_page(&state, &actor, lang, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn show_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let conn_rows = loupan_service::pricing::preview(&state.services, &actor, &id).await?;
    let adjustment = loupan_service::pricing::get_adjustment(&state.services, &actor, &id).await?;
    let changes: Vec<Value> = conn_rows
        .into_iter()
        .map(|c| context! { number => c.number, floor => c.floor, old => c.old_price.to_string(), new => c.new_price.to_string() })
        .collect();
    let html = render(
        &state,
        "price_adjustment.html",
        context! { a => context! { id => adjustment.id, name => adjustment.name, method => adjustment.method, value => adjustment.value,
                        status => adjustment.status, units_changed => adjustment.units_changed, project_id => adjustment.project_id, approval_id => adjustment.approval_id },
        changes => changes, ..base_context(&actor, lang, "/projects") },
    )?;
    Ok(html.into_response())
}

async fn submit_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    loupan_service::pricing::submit_adjustment(&state.services, &actor, &id).await?;
    Ok(Redirect::to(&format!("/price-adjustments/{id}")).into_response())
}

/// Server-sent events with the building's unit changes, so that an open 销控图
/// updates without a reload. A client that falls behind is told to reload.
async fn building_events(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    inventory::get_building(&state.services, &actor, &id).await?;
    let updates = BroadcastStream::new(state.services.live.subscribe());
    let stream = updates.filter_map(move |message| match message {
        Ok(change) if change.building_id == id => Event::default().event("unit").json_data(&change).ok().map(Ok),
        Ok(_) => None,
        Err(_) => Some(Ok(Event::default().event("reload").data("behind"))),
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}/buildings", post(create_building))
        .route("/buildings/{id}", get(building_chart))
        .route("/buildings/{id}/events", get(building_events))
        .route("/buildings/{id}/generate", post(generate))
        .route("/projects/{id}/import", post(import))
        .route("/projects/{id}/price-adjustments", post(draft_adjustment))
        .route("/price-adjustments/{id}", get(show_adjustment))
        .route("/price-adjustments/{id}/submit", post(submit_adjustment))
}
