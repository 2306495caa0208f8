use loupan_domain::ids::{BuildingId, ContractId, ProcessCaseId, ProcessDefinitionId, ProjectId, UnitId, UserId};
use loupan_domain::processes::{ProcessKind, ProcessStatus};
use sea_orm::entity::prelude::*;

/// A contract's case of a service process, and where it stands now.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ProcessCaseId,
    pub definition_id: ProcessDefinitionId,
    pub kind: ProcessKind,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub unit_id: UnitId,
    pub contract_id: ContractId,
    pub status: ProcessStatus,
    pub started_on: Date,
    pub started_by: String,
    pub started_at: DateTimeUtc,
    pub current_position: Option<i32>,
    pub current_step: Option<String>,
    pub current_role: Option<String>,
    pub assignee_id: Option<UserId>,
    pub due_on: Option<Date>,
    pub remind_on: Option<Date>,
    pub reminded_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub disbursement_receipt_id: Option<String>,
    pub disbursed_amount: Option<loupan_domain::Money>,
    pub disbursed_on: Option<Date>,
    pub lender: Option<String>,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
