//! Housekeeping, once a day (the `housekeeping` job, whichever instance runs
//! it): the tables that grow with every request but whose rows stop
//! mattering after a while stay bounded. The scheduled checks alone queue a
//! job a minute each, thousands a day, which nobody reads after a week.
//! On SQLite it also refreshes the planner's statistics, which nothing else
//! keeps there.

use chrono::{DateTime, Duration, Utc};
use loupan_domain::platform::JobStatus;
use serde::Serialize;

use crate::platform::jobs::JobKind;
use crate::{ServiceError, ServiceResult, Services};

/// How long a job that finished is kept for the admin's jobs page.
pub const DONE_JOBS_KEPT_DAYS: i64 = 7;
/// How long a job that gave up is kept to be looked at and requeued.
pub const DEAD_JOBS_KEPT_DAYS: i64 = 30;
/// How long an `Idempotency-Key` gives its first answer again.
pub const IDEMPOTENCY_KEYS_KEPT_DAYS: i64 = 7;

/// Rows deleted per transaction, so that writers never wait long behind it.
const BATCH: u64 = 1000;

/// What one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tidied {
    pub jobs: u64,
    pub idempotency_keys: u64,
    pub sessions: u64,
}

pub async fn tidy(services: &Services, now: DateTime<Utc>) -> ServiceResult<Tidied> {
    let kinds: Vec<&str> = JobKind::ALL.into_iter().filter(|k| k.forgotten_when_ended()).map(JobKind::name).collect();
    let mut tidied = Tidied::default();
    for (status, days) in [(JobStatus::Done, DONE_JOBS_KEPT_DAYS), (JobStatus::Dead, DEAD_JOBS_KEPT_DAYS)] {
        loop {
            let tx = services.store.begin_write().await?;
            let deleted =
                loupan_store::jobs::delete_ended(&tx, &kinds, status, now - Duration::days(days), BATCH).await?;
            tx.commit().await.map_err(ServiceError::internal)?;
            tidied.jobs += deleted;
            if deleted < BATCH {
                break;
            }
        }
    }
    let tx = services.store.begin_write().await?;
    tidied.idempotency_keys =
        loupan_store::idempotency::delete_before(&tx, now - Duration::days(IDEMPOTENCY_KEYS_KEPT_DAYS)).await?;
    tidied.sessions = loupan_store::sessions::delete_expired_sessions(&tx, now).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    // A day's registrations and receipts change what the planner should know.
    services.store.refresh_statistics().await?;
    Ok(tidied)
}
