use loupan_domain::cases::{CaseChannel, CaseKind, CasePriority, CaseStatus};
use loupan_domain::ids::{CaseCategoryId, CaseId, ContractId, CustomerId, ProjectId, UnitId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CaseId,
    pub number: String,
    pub project_id: ProjectId,
    pub kind: CaseKind,
    pub category_id: Option<CaseCategoryId>,
    pub priority: CasePriority,
    pub channel: CaseChannel,
    pub status: CaseStatus,
    pub customer_id: Option<CustomerId>,
    pub unit_id: Option<UnitId>,
    pub contract_id: Option<ContractId>,
    pub caller_name: String,
    pub caller_phone: Option<String>,
    pub description: String,
    pub assignee_id: Option<UserId>,
    pub supervisor_id: Option<UserId>,
    pub registered_by: Option<UserId>,
    pub registered_at: DateTimeUtc,
    pub response_remind_at: DateTimeUtc,
    pub response_due_at: DateTimeUtc,
    pub resolution_remind_at: DateTimeUtc,
    pub resolution_due_at: DateTimeUtc,
    pub first_response_at: Option<DateTimeUtc>,
    pub replied_at: Option<DateTimeUtc>,
    pub reply: Option<String>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub satisfaction: Option<i32>,
    pub callback_note: Option<String>,
    pub merged_into: Option<CaseId>,
    pub response_reminded_at: Option<DateTimeUtc>,
    pub response_escalated_at: Option<DateTimeUtc>,
    pub resolution_reminded_at: Option<DateTimeUtc>,
    pub resolution_escalated_at: Option<DateTimeUtc>,
    pub version: i64,
    /// Working minutes from registration to the first response, once it came.
    pub response_minutes: Option<i64>,
    /// Working minutes from registration to the reply, once it came.
    pub resolution_minutes: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
