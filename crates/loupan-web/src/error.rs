//! Errors on their way to the user. Handlers return `AppError`; it travels as a
//! response extension to `render_errors`, which knows the caller's language and
//! writes problem+json for the API or an HTML page for people. Unexpected
//! failures become a generic 500 whose cause goes only to the log.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use loupan_domain::FieldError;
use loupan_service::ServiceError;

/// What went wrong, in stable codes; rendered later in the caller's language.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub code: &'static str,
    pub fields: Vec<FieldError>,
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
pub struct AppError(pub Failure);

impl AppError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        AppError(Failure { status, code, fields: Vec::new(), retry_after: None })
    }

    pub fn field(status: StatusCode, code: &'static str, field: impl Into<String>, field_code: &'static str) -> Self {
        AppError(Failure { status, code, fields: vec![FieldError::new(field, field_code)], retry_after: None })
    }
}

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        let code = err.code();
        let (status, fields, retry_after) = match &err {
            ServiceError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, Vec::new(), None),
            ServiceError::Forbidden => (StatusCode::FORBIDDEN, Vec::new(), None),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, Vec::new(), None),
            ServiceError::Invalid(invalid) => (StatusCode::UNPROCESSABLE_ENTITY, invalid.0.clone(), None),
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, Vec::new(), None),
            ServiceError::TooManyAttempts { retry_after_secs } => {
                (StatusCode::TOO_MANY_REQUESTS, Vec::new(), Some(*retry_after_secs))
            }
            ServiceError::Unavailable(code) => {
                tracing::warn!(code, "feature unavailable on this installation");
                (StatusCode::SERVICE_UNAVAILABLE, Vec::new(), None)
            }
            ServiceError::StoreUnavailable(_) => {
                // An outage looks like an outage: 503, the cause in the log.
                tracing::error!(cause = %err.chain(), "database unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, Vec::new(), None)
            }
            ServiceError::Internal(_) => {
                tracing::error!(cause = %err.chain(), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, Vec::new(), None)
            }
        };
        AppError(Failure { status, code, fields, retry_after })
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                // axum reports "…: <path>: <serde message>"; the path names the field.
                let text = e.body_text();
                let detail = text.split_once(": ").map_or(text.as_str(), |(_, rest)| rest);
                let field = detail.split_once(": ").map(|(path, _)| path.to_owned()).filter(|p| !p.contains(' '));
                match field {
                    Some(field) => {
                        AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json_field", field, "invalid_type")
                    }
                    None => AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json_field"),
                }
            }
            JsonRejection::MissingJsonContentType(_) => {
                AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::BytesRejection(_) => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            _ => AppError::new(StatusCode::BAD_REQUEST, "malformed_json"),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(_: QueryRejection) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_query")
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_path")
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.0.status.into_response();
        res.extensions_mut().insert(self.0);
        res
    }
}

/// The failure a bare status stands for, when a layer (routing, body limit)
/// answered without an `AppError`.
pub fn failure_for_status(status: StatusCode) -> Failure {
    let code = match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        s if s.is_server_error() => "internal",
        _ => "invalid_input",
    };
    Failure { status, code, fields: Vec::new(), retry_after: None }
}
