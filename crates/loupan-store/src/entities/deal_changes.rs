use loupan_domain::ids::ProjectId;
use loupan_domain::sales::{ChangeKind, ChangeStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    /// `cancel_contract` (退房), `cancel_subscription` (退订), `swap` (换房),
    /// `change_price`, `change_payment_method` or `rename` (更名/增减权益人).
    pub kind: ChangeKind,
    pub subject_id: String,
    pub reason: String,
    /// `requested`, `executed` or `rejected`.
    pub status: ChangeStatus,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    /// What the change needs and what it did: `{"before": …, "after": …}` (JSON).
    pub details: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
