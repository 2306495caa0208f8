use loupan_domain::Money;
use loupan_domain::cost::Bucket;
use loupan_domain::ids::{CostItemId, ProjectId};
use sea_orm::entity::prelude::*;

/// The sum of every ledger entry of an item in one bucket, kept with each
/// posting in its transaction: today's figures without reading the ledger.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_item_balances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub cost_item_id: CostItemId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: Bucket,
    pub project_id: ProjectId,
    pub amount: Money,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
