use loupan_domain::Money;
use loupan_domain::cost::{CostContractKind, CostContractStatus};
use loupan_domain::ids::{CostContractId, ProjectId, SupplierId};
use sea_orm::entity::prelude::*;

/// A signed cost contract, or a supplementary agreement (补充协议) when `amends_id` is set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CostContractId,
    pub project_id: ProjectId,
    pub code: String,
    pub name: String,
    pub supplier_id: SupplierId,
    pub kind: CostContractKind,
    pub amount: Money,
    /// Retention (质保金) in hundredths of a percent.
    pub retention_bp: i32,
    pub payment_terms: Option<String>,
    pub signed_on: Date,
    pub amends_id: Option<CostContractId>,
    /// Why it was signed over a weak-control plan line's balance.
    pub over_plan_reason: Option<String>,
    pub status: CostContractStatus,
    pub approval_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
