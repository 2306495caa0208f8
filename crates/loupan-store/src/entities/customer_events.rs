use loupan_domain::ids::CustomerId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub customer_id: CustomerId,
    /// A `CustomerEventKind` by name (earlier versions wrote others: kept as text).
    pub kind: String,
    /// As earlier versions wrote it (Chinese); empty where `params` says it.
    pub summary: String,
    /// The facts of the sentence, a JSON object of strings; absent on entries of earlier versions.
    pub params: Option<String>,
    pub actor_name: String,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
