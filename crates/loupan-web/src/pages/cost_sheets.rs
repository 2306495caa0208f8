//! The cost item tree as a spreadsheet from the pages: a project's tree or
//! the group template downloaded, and a sheet uploaded to check, then import.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use loupan_domain::ids::ProjectId;
use loupan_service::{ServiceError, cost, inventory};
use minijinja::{Value, context};

use crate::extract::Authed;
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

async fn export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<ProjectId>,
) -> Result<Response, AppError> {
    let bytes = cost::items_xlsx(&state.services, &actor, Some(&id)).await?;
    Ok(crate::api::xlsx_download(bytes, "cost-items.xlsx"))
}

async fn export_template(State(state): State<AppState>, Authed(actor): Authed) -> Result<Response, AppError> {
    let bytes = cost::items_xlsx(&state.services, &actor, None).await?;
    Ok(crate::api::xlsx_download(bytes, "cost-template.xlsx"))
}

/// The uploaded file and the mode (`check` unless `import`).
async fn upload(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(Vec<u8>, bool), AppError> {
    let upload = crate::pages::Upload::read(multipart).await?;
    let write = upload.field("mode") == Some("import");
    Ok((upload.file, write))
}

async fn import_page(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: Lang,
    project: Option<&ProjectId>,
    file: Vec<u8>,
    write: bool,
) -> Result<Response, AppError> {
    let (report, errors) = match cost::import_items(&state.services, actor, project, &file, write).await {
        Ok(r) => (Some(crate::api::cost::item_import_dto(r, lang)), Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let back = match project {
        Some(p) => {
            let name = inventory::get_project(&state.services, actor, p).await?.name;
            context! { href => format!("/cost/projects/{p}"), name => name, action => format!("/cost/projects/{p}/items/import") }
        }
        None => context! { href => "/cost/template", name => "", action => "/cost/template/import" },
    };
    let status = if report.as_ref().is_some_and(|r| !r.errors.is_empty()) || !errors.is_undefined() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = render(
        state,
        "cost_import.html",
        context! { report => report, errors => errors, back => back, ..base_context(actor, lang, "/cost") },
    )?;
    Ok((status, html).into_response())
}

async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let (file, write) = upload(multipart).await?;
    import_page(&state, &actor, lang, Some(&id), file, write).await
}

async fn import_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let (file, write) = upload(multipart).await?;
    import_page(&state, &actor, lang, None, file, write).await
}

async fn export_table(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, table)): Path<(ProjectId, String)>,
) -> Result<Response, AppError> {
    let table = match table.as_str() {
        "plan-lines.xlsx" => cost::DocumentTable::PlanLines,
        "contracts.xlsx" => cost::DocumentTable::Contracts,
        "variations.xlsx" => cost::DocumentTable::Variations,
        _ => return Err(AppError::new(StatusCode::NOT_FOUND, "not_found")),
    };
    crate::api::cost::documents_xlsx(&state, &actor, lang, &id, table).await
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cost/projects/{id}/tables/{table}", get(export_table))
        .route("/cost/projects/{id}/items.xlsx", get(export))
        .route("/cost/projects/{id}/items/import", post(import))
        .route("/cost/template.xlsx", get(export_template))
        .route("/cost/template/import", post(import_template))
}
