use loupan_domain::ids::{CustomerId, NoticeRecipientId, ProjectId, QuestionnaireId, ResponseId, UserId};
use loupan_domain::questionnaires::ResponseChannel;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ResponseId,
    pub questionnaire_id: QuestionnaireId,
    pub version: i32,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub channel: ResponseChannel,
    pub answered_by: Option<UserId>,
    pub token_hash: Option<String>,
    pub token_cipher: Option<String>,
    pub notice_recipient_id: Option<NoticeRecipientId>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
