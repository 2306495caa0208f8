use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub building_id: String,
    pub project_id: String,
    pub floor: i32,
    pub number: String,
    pub layout: String,
    /// Hundredths of a square metre.
    pub gross_area: i64,
    pub inner_area: i64,
    /// Fen.
    pub list_price: i64,
    pub status: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
