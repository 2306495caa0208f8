use loupan_domain::ids::{ContractId, ProjectId, UnitId};
use loupan_domain::{Area, Money};
use sea_orm::entity::prelude::*;

/// One contract's area compensation in a batch, with the figures it was computed from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "compensations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub batch_id: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub contract_id: ContractId,
    /// Forecast (预测) areas the contract was priced on, and the surveyed (实测) ones.
    pub contract_gross_area: Area,
    pub contract_inner_area: Area,
    pub measured_gross_area: Area,
    pub measured_inner_area: Area,
    pub contract_total: Money,
    /// As the rule computed it, and as it will be applied.
    pub computed_amount: Money,
    pub amount: Money,
    pub adjustment_reason: Option<String>,
    pub adjusted_by: Option<String>,
    pub rescission_right: bool,
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
    pub unit_price: Money,
    pub homes_owned_before: i32,
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_before: Money,
    pub fund_after: Money,
    /// Set when applied; unique, so a contract is compensated once.
    pub applied_contract_id: Option<ContractId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
