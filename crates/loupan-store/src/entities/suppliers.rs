use loupan_domain::ids::SupplierId;
use sea_orm::entity::prelude::*;

/// A supplier or contractor, group-wide.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suppliers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SupplierId,
    pub name: String,
    /// 统一社会信用代码, checked (GB 32100-2015) and in capitals.
    pub credit_code: String,
    pub qualifications: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub blacklisted: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
