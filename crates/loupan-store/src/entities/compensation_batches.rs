use loupan_domain::aftersales::{CompensationBatchStatus, SettlementRule};
use loupan_domain::ids::{BuildingId, ProjectId};
use sea_orm::entity::prelude::*;

/// A building's area compensations (面积补差), computed, approved and applied together.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "compensation_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub status: CompensationBatchStatus,
    pub rule: SettlementRule,
    pub formula: Option<String>,
    pub due_days: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub applied_by: Option<String>,
    pub applied_at: Option<DateTimeUtc>,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
