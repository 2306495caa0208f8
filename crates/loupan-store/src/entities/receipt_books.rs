use loupan_domain::ids::ProjectId;
use sea_orm::entity::prelude::*;

/// A receipt book (票据): numbers `first_number..=last_number` under a prefix,
/// issued in order; `next_number` is the next one to issue.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipt_books")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub prefix: String,
    pub first_number: i64,
    pub last_number: i64,
    pub next_number: i64,
    pub registered_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
