use loupan_domain::ids::ProcessCaseId;
use sea_orm::entity::prelude::*;

/// A document of a step's checklist, received: who ticked it and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_case_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: ProcessCaseId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub document: String,
    pub received_at: DateTimeUtc,
    pub received_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
