use loupan_domain::customers::DuplicateStatus;
use loupan_domain::ids::{CustomerId, ProjectId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_duplicates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub matched_customer_id: CustomerId,
    pub match_kind: loupan_domain::customers::MatchKind,
    pub status: DuplicateStatus,
    pub ruling_note: Option<String>,
    pub ruled_by: Option<String>,
    pub ruled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
