use loupan_domain::ids::{ProcessDefinitionId, ProjectId};
use loupan_domain::inventory::PropertyType;
use loupan_domain::processes::{ProcessKind, StartEvent};
use sea_orm::entity::prelude::*;

/// One version of a service process's definition (its steps as JSON).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ProcessDefinitionId,
    pub lineage_id: ProcessDefinitionId,
    pub version: i32,
    pub kind: ProcessKind,
    pub name: String,
    pub start_event: StartEvent,
    pub city: Option<String>,
    pub project_id: Option<ProjectId>,
    pub property_type: Option<PropertyType>,
    pub steps: String,
    pub current: bool,
    pub retired: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
