use loupan_domain::cost::ControlMode;
use loupan_domain::ids::{CostItemId, ProjectId};
use sea_orm::entity::prelude::*;

/// A cost item (成本科目) of a project, or of the group template when `project_id` is None.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CostItemId,
    pub project_id: Option<ProjectId>,
    pub parent_id: Option<CostItemId>,
    /// Dotted by level: `02`, `02.01`, `02.01.03`.
    pub code: String,
    pub name: String,
    pub unit_of_measure: Option<String>,
    /// The department responsible for the item (责任成本, PM5).
    pub department: Option<String>,
    pub control_mode: ControlMode,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
