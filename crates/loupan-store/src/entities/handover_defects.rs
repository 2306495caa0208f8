use loupan_domain::handover::{DefectSeverity, DefectStatus, WarrantyItem};
use loupan_domain::ids::{DefectId, HandoverId, ProjectId, UnitId};
use sea_orm::entity::prelude::*;

/// A defect found at a handover's inspection, on its way to acceptance.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "handover_defects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DefectId,
    pub handover_id: HandoverId,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub number: i32,
    pub room: String,
    pub item: WarrantyItem,
    pub severity: DefectSeverity,
    pub description: String,
    pub contractor: Option<String>,
    pub status: DefectStatus,
    pub found_by: String,
    pub found_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub rectified_by: Option<String>,
    pub rectified_at: Option<DateTimeUtc>,
    pub rectify_note: Option<String>,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<DateTimeUtc>,
    pub rejections: i32,
    pub reinspect_note: Option<String>,
    pub escalated_at: Option<DateTimeUtc>,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
