use loupan_domain::ids::{CustomerId, ProjectId, UserId, VisitId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: VisitId,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub received_by: UserId,
    pub kind: loupan_domain::customers::VisitKind,
    pub by_rotation: bool,
    pub note: Option<String>,
    pub arrived_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
