use loupan_domain::ids::BuildingId;
use sea_orm::entity::prelude::*;

/// A building declared ready for handover, and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "building_readiness")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub building_id: BuildingId,
    pub ready_on: Date,
    pub declared_by: String,
    pub declared_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
