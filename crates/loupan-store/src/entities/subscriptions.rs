use loupan_domain::Money;
use loupan_domain::ids::{CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use loupan_domain::sales::SubscriptionStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SubscriptionId,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub number: String,
    pub total_price: Money,
    pub deposit: Money,
    pub payment_method_id: String,
    pub subscribed_on: Date,
    pub status: SubscriptionStatus,
    pub version: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
