//! Where a heavy report read its data. A group may point Loupan at a
//! PostgreSQL streaming replica (`LOUPAN_REPLICA_URL`): the ageing report, the
//! contract ledger and their exports then read from it, and say how far
//! behind it was; when it does not answer or is further behind than allowed,
//! they read the primary and say why.

pub use loupan_domain::platform::{ReplicaFallback as FallbackReason, ReportDatabase as Database};
use loupan_store::{Fallback, ReadFrom};
use serde::Serialize;

/// Where a heavy report read its data: the primary, or the streaming
/// replica and how far behind it was; when a replica is configured but was
/// not used, why (`replica_unreachable`, `replica_behind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DataSource {
    pub database: Database,
    /// How far the replica was behind (when it answered); shown as seconds
    /// with three decimals (`"0.042"`), null when it was not asked or did not answer.
    #[serde(rename = "lag_seconds", serialize_with = "as_seconds")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, pattern = "^[0-9]+\\.[0-9]{3}$"))]
    pub lag_ms: Option<u64>,
    pub fallback: Option<FallbackReason>,
}

fn as_seconds<S: serde::Serializer>(lag_ms: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match lag_ms {
        Some(ms) => s.serialize_str(&format!("{}.{:03}", ms / 1000, ms % 1000)),
        None => s.serialize_none(),
    }
}

impl DataSource {
    /// The primary, with no replica configured.
    pub const PRIMARY: DataSource = DataSource { database: Database::Primary, lag_ms: None, fallback: None };
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
