use loupan_domain::ids::ProjectId;
use sea_orm::entity::prelude::*;

/// A project's grade rule: the first rule (by position) whose conditions all
/// hold gives a customer its grade.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grade_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub position: i32,
    pub grade: String,
    /// JSON object of conditions (`{"min_visits":2,"min_budget":300000000}`).
    pub conditions: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
