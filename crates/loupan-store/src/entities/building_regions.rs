use loupan_domain::ids::{BuildingId, ProjectId};
use sea_orm::entity::prelude::*;

/// Where a building is on its project's site plan, in thousandths of the image's width and height.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "building_regions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub building_id: BuildingId,
    pub project_id: ProjectId,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
