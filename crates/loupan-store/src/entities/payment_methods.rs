use loupan_domain::ids::ProjectId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_methods")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub kind: loupan_domain::sales::PaymentMethodKind,
    pub discount_millionths: i64,
    /// `[{"kind","ratio_millionths","days_after_signing"}]`
    pub terms_json: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    /// No longer offered for new deals; the deals made with it keep it.
    pub retired_at: Option<DateTimeUtc>,
    /// The method this one is a new version of.
    pub replaces_id: Option<String>,
    /// 非标付款方式: a contract on it waits for approval.
    pub non_standard: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
