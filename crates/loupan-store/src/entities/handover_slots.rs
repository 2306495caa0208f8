use loupan_domain::ids::{BuildingId, HandoverSlotId, ProjectId};
use sea_orm::entity::prelude::*;

/// An appointment period of a building's handover day, with its places.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "handover_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: HandoverSlotId,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub day: Date,
    pub period: String,
    pub capacity: i32,
    pub booked: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
