use loupan_domain::Area;
use loupan_domain::ids::{BuildingId, ProjectId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "buildings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BuildingId,
    pub project_id: ProjectId,
    pub name: String,
    /// The phase (分期) the building belongs to, if the project has phases.
    pub phase: Option<String>,
    /// 总建筑面积: everything built, basements and shared spaces included; unknown until entered.
    pub gross_floor_area: Option<Area>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
