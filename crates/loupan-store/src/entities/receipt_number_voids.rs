use sea_orm::entity::prelude::*;

/// A receipt number that will never stand for money: a spoiled form, or the
/// number of a receipt that was reversed. Every gap in a book is one of these.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "receipt_number_voids")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub book_id: String,
    pub number: i64,
    pub reason: String,
    pub receipt_id: Option<String>,
    pub voided_by: String,
    pub voided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
