use loupan_domain::ids::UserId;
use sea_orm::entity::prelude::*;

/// An item under a user's bell.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: UserId,
    pub kind: loupan_domain::platform::NotificationKind,
    pub title: String,
    /// The title as a `Sentence` (JSON) when Loupan composed it; `title` is then empty.
    pub title_said: Option<String>,
    pub body: String,
    pub link: String,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
