use loupan_domain::Money;
use loupan_domain::ids::{CostContractId, CostItemId, PlanLineId};
use sea_orm::entity::prelude::*;

/// The part of a contract charged to one plan line.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_contract_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub contract_id: CostContractId,
    pub plan_line_id: PlanLineId,
    pub cost_item_id: CostItemId,
    pub amount: Money,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
