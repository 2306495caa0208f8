use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub owner_id: String,
    pub kind: String,
    pub name: String,
    pub name_pinyin: String,
    pub name_initials: String,
    /// E.164.
    pub phone: String,
    pub id_type: Option<String>,
    /// AES-256-GCM, never the number in clear.
    pub id_number_cipher: Option<String>,
    /// HMAC-SHA256 of the number: exact lookup without decrypting.
    pub id_number_index: Option<String>,
    pub id_number_masked: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    pub last_contact_at: Option<DateTimeUtc>,
    /// Set when the customer was merged into another (the record stays, hidden from lists, so the merge can be undone).
    pub merged_into: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
