use loupan_domain::ids::{BuildingId, ProjectId};
use loupan_domain::sales::{AdjustmentMethod, AdjustmentStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "price_adjustments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub building_id: Option<BuildingId>,
    pub layout: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    /// `percent` (value in millionths), `per_m2` or `per_unit` (value in fen).
    pub method: AdjustmentMethod,
    pub value: i64,
    pub status: AdjustmentStatus,
    pub created_by: String,
    pub applied_by: Option<String>,
    pub units_changed: i64,
    pub created_at: DateTimeUtc,
    pub applied_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
