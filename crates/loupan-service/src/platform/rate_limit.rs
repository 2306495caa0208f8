//! Limits on what comes in from outside without signing in (the owners'
//! report form): at most so many requests per key within a window, counted
//! in the database so that every instance counts the same requests.

use chrono::Duration;

use loupan_store::Connection;

use crate::{ServiceError, ServiceResult};

/// At most `max` requests per key within `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

/// Counts a request for `key` in the caller's transaction; 429
/// (`TooManyAttempts`) when it is one too many, and the transaction, rolled
/// back, leaves nothing counted. Machine time, not the company's clock: this
/// is about the machine's load.
pub async fn admit<C: Connection>(conn: &C, key: &str, limit: Limit) -> ServiceResult<()> {
    let now = loupan_store::now();
    let made = loupan_store::rate_hits::hit(conn, key, now - limit.window, now).await?;
    if made > limit.max {
        return Err(ServiceError::TooManyAttempts {
            retry_after_secs: u64::try_from(limit.window.num_seconds()).unwrap_or(3600),
        });
    }
    Ok(())
}
