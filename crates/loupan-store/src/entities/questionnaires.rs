use loupan_domain::ids::{ProjectId, QuestionnaireId};
use loupan_domain::questionnaires::Stage;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaires")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: QuestionnaireId,
    pub project_id: ProjectId,
    pub stage: Stage,
    pub title: String,
    pub intro: Option<String>,
    pub version: i32,
    pub revision: i32,
    pub open: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
