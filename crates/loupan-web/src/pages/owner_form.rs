//! The owners' report form (业主报事), without signing in: a page per project
//! that owners reach from a link or a QR code on a poster in the lobby, and
//! that QR code itself (an SVG of the form's address).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use loupan_domain::cases::CaseKind;
use loupan_domain::ids::ProjectId;
use loupan_service::cases::owner_form::{self, FormProject, OwnerReport, Photo};
use loupan_service::{Actor, ServiceError};
use minijinja::{Value, context};

use crate::extract::{ClientAddress, FormData, MaybeAuthed};
use crate::i18n::Lang;
use crate::pages::render;
use crate::views::field_messages;
use crate::{AppError, AppState};

/// What the page shows: the form (again, with what was typed and why it was
/// refused) or the number of the case the owner's report became.
#[derive(Default)]
struct Shown {
    errors: Value,
    values: Value,
    number: Option<String>,
}

fn view(
    state: &AppState,
    lang: Lang,
    actor: Option<&Actor>,
    project: &FormProject,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, AppError> {
    // A signed-in user's form posts are checked against their session's token.
    let csrf = actor.and_then(|a| a.session.as_ref()).map(|s| s.csrf_token.clone()).unwrap_or_default();
    let html = render(
        state,
        "owner_report.html",
        context! {
            lang => lang.code(), csrf => csrf, project => context! { id => project.id.as_str().to_owned(), name => project.name.clone() },
            kinds => CaseKind::names().to_vec(), errors => shown.errors, values => shown.values, number => shown.number,
            max_photos => owner_form::MAX_PHOTOS,
        },
    )?;
    Ok((status, html).into_response())
}

async fn show(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(project_id): Path<ProjectId>,
) -> Result<Response, AppError> {
    let project = owner_form::form_project(&state.services, &project_id).await?;
    view(&state, lang, actor.as_ref(), &project, Shown::default(), StatusCode::OK)
}

/// The form as posted: its fields, and its photos when it came as multipart
/// (a browser sends it so; a plain form without photos works too).
struct Posted {
    data: FormData,
    photos: Vec<Photo>,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Posted {
    type Rejection = AppError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            return Ok(Posted { data: FormData::from_request(req, state).await?, photos: Vec::new() });
        }
        let bad = || AppError::new(StatusCode::BAD_REQUEST, "invalid_input");
        let mut parts = axum::extract::Multipart::from_request(req, state).await.map_err(|_| bad())?;
        let (mut fields, mut photos) = (Vec::new(), Vec::new());
        while let Some(field) = parts.next_field().await.map_err(|_| bad())? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "photos" {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?;
                photos.push(Photo { file_name, bytes: bytes.to_vec() });
            } else {
                fields.push((name, field.text().await.map_err(|_| bad())?));
            }
        }
        Ok(Posted { data: FormData(fields), photos })
    }
}

async fn send(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    ClientAddress(address): ClientAddress,
    Path(project_id): Path<ProjectId>,
    Posted { data, photos }: Posted,
) -> Result<Response, AppError> {
    let project = owner_form::form_project(&state.services, &project_id).await?;
    let form = OwnerReport {
        caller_name: data.text("caller_name"),
        caller_phone: data.text("caller_phone"),
        kind: data.text("kind"),
        description: data.text("description"),
        photos,
    };
    let typed = || Value::from_serialize(data.values());
    let (shown, status) = match owner_form::report(&state.services, &project_id, address.as_deref(), form).await {
        Ok(number) => (Shown { number: Some(number), ..Shown::default() }, StatusCode::OK),
        Err(e @ ServiceError::Invalid(_)) => (
            Shown { errors: field_messages(lang, &e), values: typed(), number: None },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(ServiceError::TooManyAttempts { .. }) => {
            let said = crate::i18n::t(lang, "owner_form.too_many");
            let errors = Value::from_serialize(std::collections::BTreeMap::from([("form", said)]));
            (Shown { errors, values: typed(), number: None }, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(e) => return Err(e.into()),
    };
    view(&state, lang, actor.as_ref(), &project, shown, status)
}

/// The form's address as a QR code for a poster: under `LOUPAN_PUBLIC_URL`
/// when Loupan knows it, else under the host the request was made to.
async fn qr_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
) -> Result<Response, AppError> {
    let project = owner_form::form_project(&state.services, &project_id).await?;
    let origin = match state.services.config.public_url.as_deref() {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            let https = headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes() == b"https");
            format!("{}://{host}", if https { "https" } else { "http" })
        }
    };
    let address = format!("{origin}/report/{}", project.id);
    let code = qrcode::QrCode::new(address.as_bytes())
        .map_err(|e| AppError::from(ServiceError::internal(std::io::Error::other(e.to_string()))))?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new().route("/report/{project_id}", get(show).post(send)).route("/report/{project_id}/qr.svg", get(qr_code))
}
