use loupan_domain::ids::{NoticeTemplateId, ProjectId};
use loupan_domain::notices::{NoticeChannel, NoticeKind};
use sea_orm::entity::prelude::*;

/// One version of a letter, e-mail or SMS template.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NoticeTemplateId,
    /// The first version's id, shared by every later one.
    pub family_id: NoticeTemplateId,
    pub version: i32,
    /// None: company-wide.
    pub project_id: Option<ProjectId>,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    pub name: String,
    /// An e-mail's subject.
    pub subject: Option<String>,
    pub body: String,
    /// An e-mail that also carries its text as a printed letter (PDF).
    pub attach_pdf: bool,
    /// A text message's template at the provider (`SMS_123456789`).
    pub sms_template_code: Option<String>,
    /// The provider template's parameters as a JSON object of template texts.
    pub sms_params: Option<String>,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: DateTimeUtc,
    pub superseded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
