use sea_orm::entity::prelude::*;

/// An integration's URL subscribed to event types.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub url: String,
    /// The HMAC secret, encrypted like personal data.
    pub secret_encrypted: String,
    /// Comma-separated event types.
    pub event_types: String,
    pub description: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
