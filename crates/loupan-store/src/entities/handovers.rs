use loupan_domain::handover::HandoverStatus;
use loupan_domain::ids::{BuildingId, ContractId, HandoverId, HandoverSlotId, ProjectId, UnitId};
use sea_orm::entity::prelude::*;

/// A contract's handover, from the booking link to the keys.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "handovers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: HandoverId,
    pub contract_id: ContractId,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub unit_id: UnitId,
    pub status: HandoverStatus,
    pub token_hash: String,
    pub token_cipher: String,
    pub opened_by: String,
    pub opened_at: DateTimeUtc,
    pub slot_id: Option<HandoverSlotId>,
    pub booked_by: Option<String>,
    pub booked_at: Option<DateTimeUtc>,
    pub checked_in_by: Option<String>,
    pub checked_in_at: Option<DateTimeUtc>,
    pub documents: String,
    pub keys: Option<String>,
    pub meters: Option<String>,
    pub open_defects_accepted: bool,
    pub handed_over_on: Option<Date>,
    pub handed_over_at: Option<DateTimeUtc>,
    pub handed_over_by: Option<String>,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
