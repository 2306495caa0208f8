use loupan_domain::platform::JobStatus;
use sea_orm::entity::prelude::*;

/// A unit of background work, stored so it survives restarts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub payload: String,
    /// `queued`, `running`, `done` or `dead` (gave up after `max_attempts`).
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTimeUtc,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub progress_done: i64,
    pub progress_total: i64,
    pub result: Option<String>,
    /// At most one job per key (scheduled runs use it).
    pub unique_key: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The `X-Request-Id` of the request that queued it (none for scheduled runs).
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
