use chrono::NaiveDate;
use loupan_domain::ids::{NoticeBatchId, NoticeTemplateId, ProjectId};
use loupan_domain::notices::{BatchStatus, NoticeChannel, NoticeKind};
use sea_orm::entity::prelude::*;

/// A sending of one template version to a chosen group of customers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NoticeBatchId,
    pub project_id: ProjectId,
    pub template_id: NoticeTemplateId,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    /// Who it went to, as chosen (JSON).
    pub audience: String,
    pub as_of: NaiveDate,
    /// What the batch states for all its letters (a handover's dates and place), JSON by merge field.
    pub details: Option<String>,
    pub status: BatchStatus,
    pub total: i32,
    pub sent: i32,
    pub skipped: i32,
    pub failed: i32,
    pub output_file_id: Option<String>,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// A greeting's occasion (`spring_festival:2027:{project}`), unique: one batch each.
    pub occasion: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
