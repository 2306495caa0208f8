use loupan_domain::ids::ProcessCaseId;
use sea_orm::entity::prelude::*;

/// One step of a case: when it was due and when it was done, by whom.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_case_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: ProcessCaseId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub name: String,
    pub role: String,
    pub due_on: Date,
    pub done_on: Option<Date>,
    pub done_at: Option<DateTimeUtc>,
    pub done_by: Option<String>,
    pub note: Option<String>,
    pub reminded_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
