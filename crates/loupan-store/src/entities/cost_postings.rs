use loupan_domain::Money;
use loupan_domain::cost::{Bucket, DocumentType};
use loupan_domain::ids::{CostItemId, CostPostingId, ProjectId};
use sea_orm::entity::prelude::*;

/// One immutable entry of the cost ledger: an amount moved into a bucket of an
/// item on a date by a document. Corrections are further entries.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_postings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CostPostingId,
    pub project_id: ProjectId,
    pub cost_item_id: CostItemId,
    pub bucket: Bucket,
    pub amount: Money,
    pub posted_on: Date,
    pub document_type: DocumentType,
    pub document_id: String,
    pub note: Option<String>,
    pub posted_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
