//! The service layer's error: what the caller did wrong, or that we failed.
//! The web layer maps each kind to a status and a translated message.

use loupan_domain::Invalid;
use loupan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No valid session or token; the code says why (`invalid_credentials`, ...).
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// Authenticated, but the role or data scope does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// The record does not exist, or existence must not be revealed to this user.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input fields were wrong; every one is named.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The record's state forbids it (stale version, already sold, ...).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Too many failed logins: wait and retry.
    #[error("too many attempts, retry after {retry_after_secs}s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// Something the installation lacks (a font for PDF letters); the code says what.
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// Anything unexpected. The cause goes to the log, never to the user.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ServiceError::Internal(cause.to_string())
    }

    /// The stable code the UI translates.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Unauthenticated(code) => code,
            ServiceError::Forbidden => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Invalid(_) => "invalid_input",
            ServiceError::Conflict(code) => code,
            ServiceError::TooManyAttempts { .. } => "too_many_attempts",
            ServiceError::Unavailable(code) => code,
            ServiceError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        ServiceError::Internal(err.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
