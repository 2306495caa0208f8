use loupan_domain::approvals::{ApprovalStatus, RequestKind};
use loupan_domain::ids::ProjectId;
use sea_orm::entity::prelude::*;

/// A request waiting for (or past) its decision.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: RequestKind,
    /// The flow version the request started with; it keeps it to the end.
    pub flow_id: String,
    pub project_id: Option<ProjectId>,
    pub subject_type: String,
    pub subject_id: String,
    pub summary: String,
    /// The summary as a `Sentence` (JSON); none on requests of earlier versions, which keep `summary`.
    pub summary_said: Option<String>,
    /// Facts the flow's conditions look at (JSON object).
    pub facts: String,
    /// What the module applies when approved (JSON, module-defined).
    pub payload: String,
    /// `pending`, `returned`, `approved`, `rejected` or `withdrawn`.
    pub status: ApprovalStatus,
    pub current_step: i32,
    pub submitted_by: String,
    pub submitter_name: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
