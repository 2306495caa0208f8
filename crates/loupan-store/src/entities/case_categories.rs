use loupan_domain::ids::CaseCategoryId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_categories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CaseCategoryId,
    pub parent_id: Option<CaseCategoryId>,
    pub name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
