use loupan_domain::inventory::{FileOwner, FilePurpose};
use sea_orm::entity::prelude::*;

/// A stored file (floor plan, photo, site plan) and what it belongs to; the
/// bytes live in the file store under `storage_key`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub owner_type: FileOwner,
    pub owner_id: String,
    pub purpose: FilePurpose,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub uploaded_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
