//! The satisfaction survey behind a customer's personal link (满意度调查),
//! without signing in: two scores and a comment, answered once while the
//! link is valid. The page shows nothing about the customer.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use loupan_service::cases::surveys::{self, Answer};
use loupan_service::{Actor, ServiceError};
use minijinja::{Value, context};

use crate::extract::{FormData, MaybeAuthed};
use crate::i18n::{self, Lang};
use crate::pages::render;
use crate::views::field_messages;
use crate::{AppError, AppState};

#[derive(Default)]
struct Shown {
    questionnaire: Value,
    errors: Value,
    values: Value,
    /// Why the link cannot be answered (answered, expired), or the thanks.
    said: Option<String>,
    done: bool,
}

fn view(
    state: &AppState,
    lang: Lang,
    actor: Option<&Actor>,
    token: &str,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, AppError> {
    let csrf = actor.and_then(|a| a.session.as_ref()).map(|s| s.csrf_token.clone()).unwrap_or_default();
    let html = render(
        state,
        "survey.html",
        context! {
            lang => lang.code(), csrf => csrf, token => token, survey => shown.questionnaire,
            errors => shown.errors, values => shown.values, said => shown.said, done => shown.done,
            csat_scale => (1..=5).collect::<Vec<i32>>(), nps_scale => (0..=10).collect::<Vec<i32>>(),
        },
    )?;
    Ok((status, html).into_response())
}

/// An answered or expired link is a page that says so (409), an unknown one 404.
fn closed(lang: Lang, e: &ServiceError) -> Option<(String, StatusCode)> {
    match e {
        ServiceError::Conflict(code @ ("survey_answered" | "survey_expired")) => {
            Some((i18n::t(lang, &format!("error.{code}")), StatusCode::CONFLICT))
        }
        _ => None,
    }
}

async fn show(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match surveys::open(&state.services, &token).await {
        Ok(q) => {
            let shown = Shown { questionnaire: Value::from_serialize(&q), ..Shown::default() };
            view(&state, lang, actor.as_ref(), &token, shown, StatusCode::OK)
        }
        Err(e) => match closed(lang, &e) {
            Some((said, status)) => {
                view(&state, lang, actor.as_ref(), &token, Shown { said: Some(said), ..Shown::default() }, status)
            }
            None => Err(e.into()),
        },
    }
}

async fn send(
    State(state): State<AppState>,
    lang: Lang,
    MaybeAuthed(actor): MaybeAuthed,
    Path(token): Path<String>,
    data: FormData,
) -> Result<Response, AppError> {
    let answer = Answer { csat: data.text("csat"), nps: data.text("nps"), comment: data.text("comment") };
    match surveys::answer(&state.services, &token, answer).await {
        Ok(_) => {
            let shown = Shown { said: Some(i18n::t(lang, "survey.thanks")), done: true, ..Shown::default() };
            view(&state, lang, actor.as_ref(), &token, shown, StatusCode::OK)
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let q = surveys::open(&state.services, &token).await?;
            let shown = Shown {
                questionnaire: Value::from_serialize(&q),
                errors: field_messages(lang, &e),
                values: Value::from_serialize(data.values()),
                ..Shown::default()
            };
            view(&state, lang, actor.as_ref(), &token, shown, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => match closed(lang, &e) {
            Some((said, status)) => {
                view(&state, lang, actor.as_ref(), &token, Shown { said: Some(said), ..Shown::default() }, status)
            }
            None => Err(e.into()),
        },
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/survey/{token}", get(show).post(send))
}
