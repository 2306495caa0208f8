use loupan_domain::cost::{TargetStage, TargetStatus};
use loupan_domain::ids::{ProjectId, TargetVersionId};
use sea_orm::entity::prelude::*;

/// A version of a project's target cost (目标成本), made at a design stage.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_target_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TargetVersionId,
    pub project_id: ProjectId,
    /// 1, 2, … within the project.
    pub number: i32,
    pub stage: TargetStage,
    pub status: TargetStatus,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub adopted_by: Option<String>,
    pub adopted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
