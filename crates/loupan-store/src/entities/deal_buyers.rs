use loupan_domain::ids::CustomerId;
use sea_orm::entity::prelude::*;

/// A buyer (权益人) of a subscription or contract and their share; position 0 is the main buyer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_buyers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub deal_id: String,
    pub customer_id: CustomerId,
    pub share_millionths: i64,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
