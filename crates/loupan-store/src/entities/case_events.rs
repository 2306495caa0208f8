use loupan_domain::cases::CaseStatus;
use loupan_domain::ids::{CaseId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub case_id: CaseId,
    pub at: DateTimeUtc,
    pub actor_id: Option<UserId>,
    pub actor_name: String,
    /// A `CaseAction`'s name, or `registered`, `reminded`, `escalated`, `merged`.
    pub action: String,
    /// The status after the event.
    pub status: CaseStatus,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
