use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::{Decoration, PropertyType, UnitStatus};
use loupan_domain::{Area, Money};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UnitId,
    pub building_id: BuildingId,
    pub project_id: ProjectId,
    pub floor: i32,
    pub number: String,
    pub layout: String,
    /// Hundredths of a square metre.
    pub gross_area: Area,
    pub inner_area: Area,
    /// Fen.
    pub list_price: Money,
    pub status: UnitStatus,
    pub property_type: PropertyType,
    pub orientation: Option<String>,
    pub decoration: Option<Decoration>,
    /// Fen; discounts below it need approval.
    pub floor_price: Option<Money>,
    /// Hundredths of m2, once surveyed (实测).
    pub measured_gross_area: Option<Area>,
    pub measured_inner_area: Option<Area>,
    /// The entrance (单元) of the building the unit is reached by.
    pub entrance: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
