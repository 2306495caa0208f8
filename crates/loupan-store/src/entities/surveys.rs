use loupan_domain::ids::{CaseId, CustomerId, NoticeBatchId, ProjectId, SurveyId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SurveyId,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub event: loupan_domain::cases::SurveyEvent,
    pub subject_id: String,
    pub agent_id: Option<UserId>,
    pub handler_id: Option<UserId>,
    pub token_hash: String,
    pub token_cipher: String,
    pub sent_by: String,
    pub sent_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub answered_at: Option<DateTimeUtc>,
    pub csat: Option<i32>,
    pub nps: Option<i32>,
    pub comment: Option<String>,
    pub case_id: Option<CaseId>,
    /// The notice batch that took the link to the customer.
    pub notice_batch_id: Option<NoticeBatchId>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
