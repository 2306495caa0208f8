use loupan_domain::ids::QuestionnaireId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub questionnaire_id: QuestionnaireId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    /// The questions as JSON (`loupan_domain::questionnaires::Question`).
    pub questions: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
