use loupan_domain::ids::{ContractId, CustomerId, NoticeBatchId, NoticeRecipientId};
use loupan_domain::notices::RecipientStatus;
use sea_orm::entity::prelude::*;

/// One letter of a batch: to a customer, about one of their contracts or none.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_recipients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NoticeRecipientId,
    pub batch_id: NoticeBatchId,
    /// Print order within the batch (building, then unit).
    pub position: i32,
    pub customer_id: CustomerId,
    pub contract_id: Option<ContractId>,
    pub status: RecipientStatus,
    pub skip_reason: Option<String>,
    pub subject: Option<String>,
    /// Exactly what was sent.
    pub text: Option<String>,
    pub error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
