//! The service layer's error: what the caller did wrong, or that we failed.
//! The web layer maps each kind to a status and a translated message. A failure
//! keeps its cause as a source chain, so the one place that logs it (the web
//! layer's renderer, the job runner, the CLI) can write the whole chain.

use loupan_domain::Invalid;
use loupan_store::StoreError;

/// The cause of an unexpected failure, with its own sources.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

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
    /// The database could not be reached or stopped answering: the request may
    /// succeed later. Never reported as "not found".
    #[error("the database is unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// Anything unexpected. The cause goes to the log, never to the user.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ServiceError {
    /// An unexpected failure: a message, or an error whose chain is kept.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        ServiceError::Internal(cause.into())
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
            ServiceError::StoreUnavailable(_) => "service_unavailable",
            ServiceError::Internal(_) => "internal",
        }
    }

    /// Whether the record was not there (or not for this user) rather than the
    /// lookup failing: a caller may turn this, and only this, into its own answer.
    pub fn is_absence(&self) -> bool {
        matches!(self, ServiceError::NotFound(_) | ServiceError::Forbidden)
    }

    /// For a lookup whose absence means something else to the caller (an
    /// unknown field value, another record's 404): absence becomes `absent()`,
    /// while a failure (an outage, a bug) stays what it is.
    pub fn when_absent(self, absent: impl FnOnce() -> ServiceError) -> ServiceError {
        if self.is_absence() { absent() } else { self }
    }

    /// The error and each of its sources, `: `-separated, for the log (a source
    /// already quoted by the text before it is not repeated).
    pub fn chain(&self) -> String {
        chain(self)
    }
}

/// `err` and its sources on one line, for a log.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        if err.is_outage() { ServiceError::StoreUnavailable(err) } else { ServiceError::Internal(Box::new(err)) }
    }
}

/// No font to print with is a setup problem the user is told about; anything else about a PDF is ours.
impl From<loupan_documents::pdf::PdfError> for ServiceError {
    fn from(err: loupan_documents::pdf::PdfError) -> Self {
        match err {
            loupan_documents::pdf::PdfError::NoFont => ServiceError::Unavailable("pdf_font_missing"),
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A list filter naming a status or kind: absent or empty means "any", a name
/// the enum does not know is the field's `unknown_status` error (never an empty list).
pub fn status_filter<T: std::str::FromStr>(field: &'static str, value: Option<&str>) -> ServiceResult<Option<T>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(name) => name.parse().map(Some).map_err(|_| Invalid::one(field, "unknown_status").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("row 7 is not JSON")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn an_internal_error_keeps_its_whole_chain() {
        let err = ServiceError::internal(Inner(std::io::Error::other("disk gone")));
        assert_eq!(err.chain(), "internal error: row 7 is not JSON: disk gone");
        assert_eq!(ServiceError::internal("no randomness").chain(), "internal error: no randomness");
    }
}
