use loupan_domain::approvals::RequestKind;
use sea_orm::entity::prelude::*;

/// One version of the approval flow of a kind of request; a new edit is a new version.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_flows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: RequestKind,
    pub version: i32,
    /// The ordered steps as JSON (`loupan_domain::approvals::Step`).
    pub steps: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
