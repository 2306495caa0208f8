use loupan_domain::ids::{CostReportId, ProjectId};
use sea_orm::entity::prelude::*;

/// A monthly cost report (成本月报) as issued: its lines never change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cost_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CostReportId,
    pub project_id: ProjectId,
    /// `YYYY-MM`.
    pub month: String,
    pub as_of: Date,
    /// The lines as JSON (the service's `ReportLine`s).
    pub lines: String,
    pub summary: Option<String>,
    pub issued_by: String,
    pub issued_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
