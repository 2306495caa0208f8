use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub contract_id: Option<String>,
    pub subscription_id: Option<String>,
    pub amount: i64,
    pub received_on: Date,
    pub channel: String,
    pub status: String,
    pub recorded_by: String,
    pub audited_by: Option<String>,
    pub arrived_at: Option<DateTimeUtc>,
    pub audited_at: Option<DateTimeUtc>,
    pub version: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
