use loupan_domain::Money;
use loupan_domain::ids::{CostItemId, TargetVersionId};
use sea_orm::entity::prelude::*;

/// One cost item's amount in a target cost version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub version_id: TargetVersionId,
    pub cost_item_id: CostItemId,
    pub amount: Money,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
