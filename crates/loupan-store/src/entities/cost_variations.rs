use loupan_domain::Money;
use loupan_domain::cost::{VariationKind, VariationStatus};
use loupan_domain::ids::{CostContractId, CostItemId, ProjectId, VariationId};
use sea_orm::entity::prelude::*;

/// A design change (设计变更) or site visa (现场签证).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_variations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: VariationId,
    pub project_id: ProjectId,
    pub kind: VariationKind,
    pub code: String,
    pub contract_id: Option<CostContractId>,
    pub cost_item_id: CostItemId,
    pub reason: String,
    pub estimated_amount: Money,
    pub confirmed_amount: Option<Money>,
    pub status: VariationStatus,
    pub submitted_on: Date,
    pub confirmed_on: Option<Date>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub confirmed_by: Option<String>,
    /// The approval request it went through.
    pub approval_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
