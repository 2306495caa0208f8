use loupan_domain::cases::CaseKind;
use loupan_domain::ids::{CaseCategoryId, CaseRuleId, ProjectId, UserId};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CaseRuleId,
    pub project_id: ProjectId,
    /// None: every kind.
    pub kind: Option<CaseKind>,
    /// None: every category.
    pub category_id: Option<CaseCategoryId>,
    /// JSON array of the handlers' user ids, in turn order.
    pub handler_ids: String,
    pub supervisor_id: Option<UserId>,
    /// Cases given so far: the next handler is `turns % handlers`.
    pub turns: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
