use loupan_domain::cases::{CaseKind, CasePriority};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: CaseKind,
    #[sea_orm(primary_key, auto_increment = false)]
    pub priority: CasePriority,
    pub response_minutes: i64,
    pub resolution_minutes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
