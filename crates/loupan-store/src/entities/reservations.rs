use loupan_domain::ids::{CustomerId, ProjectId, UnitId, UserId};
use loupan_domain::sales::ReservationStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    /// `active`, `released`, `expired` or `converted`.
    pub status: ReservationStatus,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
