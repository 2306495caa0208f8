//! Attachments (附件) of cost contracts and of changes and visas (the signed
//! scan, bills of quantities, drawings, site photos) and of customer-service
//! cases (photos of the damage, the owner's letter). The bytes are kept like
//! every other file; who may add or remove them follows the owner.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use loupan_domain::inventory::FileOwner;
use loupan_service::inventory::files;
use loupan_service::{Actor, ServiceError};
use minijinja::{Value, context};

use crate::extract::Authed;
use crate::i18n::Lang;
use crate::pages::Upload;
use crate::{AppError, AppState};

type Multipart = Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>;

/// The owner's attachments for its page, oldest first, pictures marked.
pub(super) async fn attachments(
    state: &AppState,
    actor: &Actor,
    owner: FileOwner,
    id: &str,
) -> Result<Vec<Value>, AppError> {
    Ok(files::files_of(&state.services, actor, owner, id)
        .await?
        .into_iter()
        .map(|f| {
            context! {
                is_image => f.is_picture(),
                kb => (f.size + 1023) / 1024,
                ..Value::from_serialize(&f)
            }
        })
        .collect())
}

fn page_of(owner: FileOwner, id: &str) -> String {
    match owner {
        FileOwner::CostContract => format!("/cost/contracts/{id}"),
        FileOwner::CostVariation => format!("/cost/variations/{id}"),
        FileOwner::Unit => format!("/units/{id}"),
        FileOwner::Project => format!("/projects/{id}/birdseye"),
        FileOwner::ServiceCase => format!("/service/cases/{id}"),
        FileOwner::HandoverDefect => format!("/aftersales/defects/{id}"),
    }
}

/// Stores the file and goes back to the owner's page; a refused file shows
/// that page again with the reason beside the upload form.
async fn attach(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    owner: FileOwner,
    id: &str,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = Upload::read(multipart).await?;
    match files::upload(&state.services, actor, (owner, id, "attachment"), &upload.file_name, upload.file).await {
        Ok(_) => Ok(Redirect::to(&format!("{}#attachments", page_of(owner, id))).into_response()),
        Err(ServiceError::Invalid(invalid)) => {
            let reason = invalid.0.iter().map(|f| crate::i18n::field_message(lang, f)).collect::<Vec<_>>().join(" ");
            match owner {
                FileOwner::CostVariation => {
                    super::cost::variation_page(state, actor, lang, id, None, Some(reason)).await
                }
                FileOwner::ServiceCase => {
                    let errors = Value::from_serialize(std::collections::BTreeMap::from([("file", reason)]));
                    let page = super::cases::case_page(state, actor, lang, &id.into(), errors, false).await?;
                    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
                }
                _ => super::cost::contract_page(state, actor, lang, id, Some(reason)).await,
            }
        }
        Err(e) => Err(e.into()),
    }
}

async fn attach_to_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    attach(&state, &actor, lang, FileOwner::CostContract, &id, multipart).await
}

async fn attach_to_variation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    attach(&state, &actor, lang, FileOwner::CostVariation, &id, multipart).await
}

async fn attach_to_case(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    attach(&state, &actor, lang, FileOwner::ServiceCase, &id, multipart).await
}

/// Removes an attachment (kept in the audit log) and goes back to its owner.
async fn remove(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let file = files::delete(&state.services, &actor, &id).await?;
    Ok(Redirect::to(&format!("{}#attachments", page_of(file.owner_type, &file.owner_id))).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cost/contracts/{id}/attachments", post(attach_to_contract))
        .route("/cost/variations/{id}/attachments", post(attach_to_variation))
        .route("/service/cases/{id}/attachments", post(attach_to_case))
        .route("/files/{id}/delete", post(remove))
}
