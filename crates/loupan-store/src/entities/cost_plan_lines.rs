use loupan_domain::Money;
use loupan_domain::ids::{CostItemId, PlanLineId, ProjectId};
use sea_orm::entity::prelude::*;

/// A planned contract (合约规划) under a cost item.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_plan_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: PlanLineId,
    pub project_id: ProjectId,
    pub cost_item_id: CostItemId,
    pub name: String,
    pub planned_amount: Money,
    /// Signed against it so far (the sum of its contract lines).
    pub contracted: Money,
    pub tender_mode: Option<String>,
    /// `YYYY-MM`.
    pub planned_month: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
