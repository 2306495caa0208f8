use loupan_domain::Money;
use loupan_domain::finance::{ReceiptChannel, RefundStatus};
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub customer_id: CustomerId,
    /// Fen owed back to the buyer.
    pub amount: Money,
    /// `due`, `paid` (the cashier paid it out), `audited` (finance checked it).
    pub status: RefundStatus,
    pub change_id: String,
    pub created_at: DateTimeUtc,
    /// Paid out by the cashier (`paid`), then audited by finance (`audited`).
    pub channel: Option<ReceiptChannel>,
    pub paid_by: Option<String>,
    pub audited_by: Option<String>,
    pub note: Option<String>,
    pub paid_on: Option<Date>,
    pub audited_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
