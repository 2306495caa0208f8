//! Server-rendered pages for people. Every text comes from the locale files
//! through `t(...)`; navigation shows only the modules the user may use.

/// What a page's form POST does with the service's answer: done → a
/// redirect to `$to` (the value bound by `$done`); input refused → the form
/// again (`$again`, a `Result<Response, _>` that sees the field messages as
/// `$errors`) answered 422; anything else → the error page.
///
/// `form_post!(lang, users::create_user(..).await, |_| "/admin/users".to_owned(),
///     |errors| users_page(.., errors).await)`
macro_rules! form_post {
    ($lang:expr, $result:expr, |$done:pat_param| $to:expr, |$errors:ident| $again:expr $(,)?) => {
        match $result {
            Ok($done) => Ok(axum::response::IntoResponse::into_response(axum::response::Redirect::to(&$to))),
            Err(e @ loupan_service::ServiceError::Invalid(_)) => {
                let $errors = $crate::views::field_messages($lang, &e);
                let mut page: axum::response::Response = $again?;
                *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                Ok(page)
            }
            Err(e) => Err(e.into()),
        }
    };
}

mod admin;
mod aftersales;
mod approvals;
mod attachments;
mod cases;
mod compensation;
mod cost;
mod cost_reports;
mod cost_sheets;
mod customers;
mod finance;
mod handover;
mod inventory;
mod login;
mod notices;
mod owner_form;
mod pricing;
mod processes;
mod questionnaires;
mod reception;
mod sales;
mod survey;
mod workbench;

use axum::Router;

use crate::AppState;
pub use crate::views::{base_context, field_messages, render};

/// A form posted as multipart with one file: the file's bytes (empty when
/// none came) and the other fields as text.
pub(crate) struct Upload {
    pub file: Vec<u8>,
    /// The file's name as the browser sent it (for display; its type is sniffed).
    pub file_name: String,
    pub fields: std::collections::BTreeMap<String, String>,
}

impl Upload {
    pub(crate) async fn read(
        multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
    ) -> Result<Upload, crate::AppError> {
        use axum::http::StatusCode;
        let bad = || crate::AppError::new(StatusCode::BAD_REQUEST, "invalid_input");
        let mut multipart = multipart.map_err(|_| bad())?;
        let mut upload = Upload { file: Vec::new(), file_name: String::new(), fields: Default::default() };
        while let Some(field) = multipart.next_field().await.map_err(|_| bad())? {
            match field.name().map(str::to_owned) {
                Some(name) if name == "file" => {
                    upload.file_name = field.file_name().unwrap_or_default().to_owned();
                    upload.file = field
                        .bytes()
                        .await
                        .map_err(|_| crate::AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                        .to_vec()
                }
                Some(name) => {
                    upload.fields.insert(name, field.text().await.unwrap_or_default());
                }
                None => {}
            }
        }
        Ok(upload)
    }

    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(workbench::router())
        .merge(admin::router())
        .merge(approvals::router())
        .merge(inventory::router())
        .merge(attachments::router())
        .merge(customers::router())
        .merge(sales::router())
        .merge(pricing::router())
        .merge(finance::router())
        .merge(handover::router())
        .merge(aftersales::router())
        .merge(compensation::router())
        .merge(processes::router())
        .merge(cost::router())
        .merge(cost_reports::router())
        .merge(cost_sheets::router())
        .merge(notices::router())
        .merge(cases::router())
        .merge(questionnaires::router())
        .merge(reception::router())
        .merge(survey::router())
        .merge(owner_form::router())
}
