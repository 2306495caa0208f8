use loupan_domain::approvals::TaskStatus;
use loupan_domain::ids::UserId;
use sea_orm::entity::prelude::*;

/// One approver's part in one step of a request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub request_id: String,
    pub step: i32,
    pub approver_id: UserId,
    /// `pending`, `approved`, `rejected`, `returned` or `closed` (the step ended without them).
    pub status: TaskStatus,
    pub acted_by_id: Option<String>,
    pub acted_by_name: Option<String>,
    pub comment: Option<String>,
    pub due_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub acted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
