use loupan_domain::ids::{QuestionnaireId, ResponseId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_answers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub response_id: ResponseId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub question_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub questionnaire_id: QuestionnaireId,
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
