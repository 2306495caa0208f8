use loupan_domain::Money;
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus};
use loupan_domain::ids::{ContractId, ProjectId, SubscriptionId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: Money,
    pub received_on: Date,
    pub channel: ReceiptChannel,
    pub status: ReceiptStatus,
    pub recorded_by: String,
    pub audited_by: Option<String>,
    pub arrived_at: Option<DateTimeUtc>,
    pub audited_at: Option<DateTimeUtc>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    /// Who paid (the buyer, a relative, the mortgage bank), as written on the receipt.
    pub payer: Option<String>,
    /// The receipt book (票据) the number was issued from, and the number.
    pub book_id: Option<String>,
    pub number: Option<String>,
    /// A reversing entry names the receipt it corrects; the corrected one names its reversal.
    pub reverses: Option<String>,
    pub reversed_by: Option<String>,
    /// The other half of a deposit transfer (定金转房款): both are audited together.
    pub pair_id: Option<String>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
