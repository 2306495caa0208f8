use loupan_domain::Money;
use loupan_domain::ids::ContractId;
use loupan_domain::sales::TermKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instalments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub contract_id: ContractId,
    pub seq: i32,
    pub kind: TermKind,
    pub due_date: Date,
    pub amount: Money,
    /// Sum of the audited allocations to this instalment, kept with them in one transaction.
    pub paid: Money,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
