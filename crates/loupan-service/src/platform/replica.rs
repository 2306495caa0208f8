//! Where a heavy report read its data. A group may point Loupan at a
//! PostgreSQL streaming replica (`LOUPAN_REPLICA_URL`): the ageing report, the
//! contract ledger and their exports then read from it, and say how far
//! behind it was; when it does not answer or is further behind than allowed,
//! they read the primary and say why.

pub use loupan_domain::platform::{ReplicaFallback as FallbackReason, ReportDatabase as Database};
use loupan_store::{Fallback, ReadFrom};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataSource {
    pub database: Database,
    /// How far the replica was behind (when it answered).
    pub lag_ms: Option<u64>,
    pub fallback: Option<FallbackReason>,
}

impl From<ReadFrom> for DataSource {
    fn from(from: ReadFrom) -> Self {
        let primary = |fallback, lag_ms| DataSource { database: Database::Primary, lag_ms, fallback };
        match from {
            ReadFrom::Primary => primary(None, None),
            ReadFrom::Replica { lag_ms } => {
                DataSource { database: Database::Replica, lag_ms: Some(lag_ms), fallback: None }
            }
            ReadFrom::Fallback(Fallback::Unreachable) => primary(Some(FallbackReason::ReplicaUnreachable), None),
            ReadFrom::Fallback(Fallback::Behind { lag_ms }) => {
                primary(Some(FallbackReason::ReplicaBehind), Some(lag_ms))
            }
        }
    }
}
