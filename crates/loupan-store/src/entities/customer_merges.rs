use loupan_domain::ids::{CustomerId, ProjectId};
use sea_orm::entity::prelude::*;

/// One merge of two customers, with every row it moved (JSON), so it can be undone exactly.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_merges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub kept_id: CustomerId,
    pub merged_id: CustomerId,
    pub moved: String,
    pub merged_by: String,
    pub merged_at: DateTimeUtc,
    pub undone_by: Option<String>,
    pub undone_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
