use loupan_domain::Money;
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use loupan_domain::sales::ContractStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ContractId,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub subscription_id: Option<SubscriptionId>,
    pub number: String,
    pub payment_method_id: String,
    pub total_price: Money,
    pub signed_on: Date,
    pub status: ContractStatus,
    pub version: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
