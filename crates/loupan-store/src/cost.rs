//! Project cost: the cost item tree, target versions, plan lines, suppliers,
//! contracts, changes and visas, and the cost ledger they post to.

use chrono::NaiveDate;
use loupan_domain::Money;
use loupan_domain::cost::{Bucket, CostContractStatus, TargetStatus, VariationStatus};
use loupan_domain::ids::{CostContractId, CostItemId, PlanLineId, ProjectId, SupplierId, TargetVersionId, VariationId};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use crate::StoreResult;
use crate::entities::{
    cost_contract_lines, cost_contracts, cost_item_balances, cost_items, cost_plan_lines, cost_postings, cost_reports,
    cost_target_versions, cost_targets, cost_variations, suppliers,
};

pub use cost_contract_lines::Model as ContractLineRow;
pub use cost_contracts::Model as CostContractRow;
pub use cost_items::Model as CostItemRow;
pub use cost_plan_lines::Model as PlanLineRow;
pub use cost_postings::Model as PostingRow;
pub use cost_reports::Model as CostReportRow;
pub use cost_target_versions::Model as TargetVersionRow;
pub use cost_targets::Model as TargetRow;
pub use cost_variations::Model as VariationRow;
pub use suppliers::Model as SupplierRow;

macro_rules! insert_all {
    ($name:ident, $module:ident) => {
        pub async fn $name<C: ConnectionTrait>(c: &C, rows: &[$module::Model]) -> StoreResult<()> {
            if rows.is_empty() {
                return Ok(());
            }
            // Bound parameters per statement stay well under SQLite's limit.
            for chunk in rows.chunks(500) {
                $module::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                    .exec_without_returning(c)
                    .await?;
            }
            Ok(())
        }
    };
}

insert_all!(insert_items, cost_items);
insert_all!(insert_targets, cost_targets);
insert_all!(insert_contract_lines, cost_contract_lines);
insert_all!(insert_plan_lines, cost_plan_lines);
insert_all!(insert_variations, cost_variations);
insert_all!(insert_contracts, cost_contracts);
insert_all!(insert_suppliers, suppliers);

/// Writes ledger entries and moves their items' kept balances by them, in
/// the caller's transaction: one statement for the entries, one for the
/// balances (summed per item and bucket first, so no row is hit twice).
pub async fn insert_postings<C: ConnectionTrait>(c: &C, rows: &[PostingRow]) -> StoreResult<()> {
    use sea_orm::sea_query::OnConflict;
    if rows.is_empty() {
        return Ok(());
    }
    let mut moved: std::collections::BTreeMap<(CostItemId, Bucket), (ProjectId, Money)> = Default::default();
    for r in rows {
        let entry = moved.entry((r.cost_item_id.clone(), r.bucket)).or_insert((r.project_id.clone(), Money::ZERO));
        entry.1 += r.amount;
    }
    // Bound parameters per statement stay well under SQLite's limit.
    for chunk in rows.chunks(500) {
        cost_postings::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    let balances: Vec<cost_item_balances::Model> = moved
        .into_iter()
        .map(|((cost_item_id, bucket), (project_id, amount))| cost_item_balances::Model {
            cost_item_id,
            bucket,
            project_id,
            amount,
        })
        .collect();
    for chunk in balances.chunks(500) {
        cost_item_balances::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .on_conflict(
                OnConflict::columns([cost_item_balances::Column::CostItemId, cost_item_balances::Column::Bucket])
                    .value(
                        cost_item_balances::Column::Amount,
                        Expr::cust("cost_item_balances.amount + excluded.amount"),
                    )
                    .to_owned(),
            )
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The kept balances of some projects' items: (project, item, bucket, amount).
pub async fn balances_of_projects<C: ConnectionTrait>(
    c: &C,
    projects: &[ProjectId],
) -> StoreResult<Vec<(ProjectId, CostItemId, Bucket, Money)>> {
    use cost_item_balances::Column;
    Ok(cost_item_balances::Entity::find()
        .select_only()
        .column(Column::ProjectId)
        .column(Column::CostItemId)
        .column(Column::Bucket)
        .column(Column::Amount)
        .filter(Column::ProjectId.is_in(projects.iter().cloned()))
        .into_tuple()
        .all(c)
        .await?)
}

/// Some items' kept balances: today's sums without reading their entries.
pub async fn balances_of_items<C: ConnectionTrait>(
    c: &C,
    items: &[CostItemId],
) -> StoreResult<Vec<(CostItemId, Bucket, Money)>> {
    use cost_item_balances::Column;
    Ok(cost_item_balances::Entity::find()
        .select_only()
        .column(Column::CostItemId)
        .column(Column::Bucket)
        .column(Column::Amount)
        .filter(Column::CostItemId.is_in(items.iter().cloned()))
        .into_tuple()
        .all(c)
        .await?)
}

/// Some projects' ledgers up to a date, summed by project, item and bucket.
pub async fn sums_of_projects<C: ConnectionTrait>(
    c: &C,
    projects: &[ProjectId],
    as_of: NaiveDate,
) -> StoreResult<Vec<(ProjectId, CostItemId, Bucket, Money)>> {
    use cost_postings::Column;
    Ok(cost_postings::Entity::find()
        .select_only()
        .column(Column::ProjectId)
        .column(Column::CostItemId)
        .column(Column::Bucket)
        .column_as(sum_of(Column::Amount), "total")
        .filter(Column::ProjectId.is_in(projects.iter().cloned()))
        .filter(Column::PostedOn.lte(as_of))
        .group_by(Column::ProjectId)
        .group_by(Column::CostItemId)
        .group_by(Column::Bucket)
        .into_tuple()
        .all(c)
        .await?)
}

/// The items of some projects' trees, by project and code.
pub async fn items_of_projects<C: ConnectionTrait>(c: &C, projects: &[ProjectId]) -> StoreResult<Vec<CostItemRow>> {
    Ok(cost_items::Entity::find()
        .filter(cost_items::Column::ProjectId.is_in(projects.iter().cloned()))
        .order_by_asc(cost_items::Column::ProjectId)
        .order_by_asc(cost_items::Column::Code)
        .all(c)
        .await?)
}

/// The saleable area of some projects (the gross area of their units).
pub async fn saleable_areas<C: ConnectionTrait>(
    c: &C,
    projects: &[ProjectId],
) -> StoreResult<Vec<(ProjectId, loupan_domain::Area)>> {
    use crate::entities::units;
    let rows: Vec<(ProjectId, Option<i64>)> = units::Entity::find()
        .select_only()
        .column(units::Column::ProjectId)
        .column_as(
            SimpleExpr::from(Func::cast_as(Func::sum(Expr::col(units::Column::GrossArea)), Alias::new("BIGINT"))),
            "total",
        )
        .filter(units::Column::ProjectId.is_in(projects.iter().map(|p| p.as_str().to_owned())))
        .group_by(units::Column::ProjectId)
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|(p, a)| (p, loupan_domain::Area::from_hundredths(a.unwrap_or(0)))).collect())
}

/// Department names the cost items use, the template's and every project's.
pub async fn departments<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<String>> {
    use cost_items::Column;
    Ok(cost_items::Entity::find()
        .select_only()
        .column(Column::Department)
        .distinct()
        .filter(Column::Department.is_not_null())
        .order_by_asc(Column::Department)
        .into_tuple::<String>()
        .all(c)
        .await?)
}

pub async fn insert_report<C: ConnectionTrait>(c: &C, row: &CostReportRow) -> StoreResult<()> {
    cost_reports::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// A project's monthly reports, newest month first.
pub async fn reports<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<Vec<CostReportRow>> {
    Ok(cost_reports::Entity::find()
        .filter(cost_reports::Column::ProjectId.eq(project.clone()))
        .order_by_desc(cost_reports::Column::Month)
        .all(c)
        .await?)
}

pub async fn find_report<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
    month: &str,
) -> StoreResult<Option<CostReportRow>> {
    Ok(cost_reports::Entity::find()
        .filter(cost_reports::Column::ProjectId.eq(project.clone()))
        .filter(cost_reports::Column::Month.eq(month))
        .one(c)
        .await?)
}

/// The items of a project's tree, or of the group template (`None`), by code.
pub async fn items<C: ConnectionTrait>(c: &C, project: Option<&ProjectId>) -> StoreResult<Vec<CostItemRow>> {
    let q = cost_items::Entity::find();
    let q = match project {
        Some(p) => q.filter(cost_items::Column::ProjectId.eq(p.clone())),
        None => q.filter(cost_items::Column::ProjectId.is_null()),
    };
    Ok(q.order_by_asc(cost_items::Column::Code).all(c).await?)
}

pub async fn find_item<C: ConnectionTrait>(c: &C, id: &CostItemId) -> StoreResult<Option<CostItemRow>> {
    Ok(cost_items::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn update_item<C: ConnectionTrait>(c: &C, row: &CostItemRow) -> StoreResult<()> {
    cost_items::Entity::update(row.clone().into_active_model().reset_all()).exec(c).await?;
    Ok(())
}

pub async fn versions<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<Vec<TargetVersionRow>> {
    Ok(cost_target_versions::Entity::find()
        .filter(cost_target_versions::Column::ProjectId.eq(project.clone()))
        .order_by_asc(cost_target_versions::Column::Number)
        .all(c)
        .await?)
}

pub async fn find_version<C: ConnectionTrait>(c: &C, id: &TargetVersionId) -> StoreResult<Option<TargetVersionRow>> {
    Ok(cost_target_versions::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn insert_version<C: ConnectionTrait>(c: &C, row: &TargetVersionRow) -> StoreResult<()> {
    cost_target_versions::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Moves a version from one status to another; false when it was not in `from`
/// (another adoption got there first).
pub async fn set_version_status<C: ConnectionTrait>(
    c: &C,
    id: &TargetVersionId,
    from: TargetStatus,
    to: TargetStatus,
    adopted: Option<(&str, chrono::DateTime<chrono::Utc>)>,
) -> StoreResult<bool> {
    let mut q = cost_target_versions::Entity::update_many()
        .col_expr(cost_target_versions::Column::Status, Expr::value(to.name()))
        .filter(cost_target_versions::Column::Id.eq(id.clone()))
        .filter(cost_target_versions::Column::Status.eq(from.name()));
    if let Some((by, at)) = adopted {
        q = q
            .col_expr(cost_target_versions::Column::AdoptedBy, Expr::value(by))
            .col_expr(cost_target_versions::Column::AdoptedAt, Expr::value(at));
    }
    Ok(q.exec(c).await?.rows_affected == 1)
}

pub async fn targets<C: ConnectionTrait>(c: &C, version: &TargetVersionId) -> StoreResult<Vec<TargetRow>> {
    Ok(cost_targets::Entity::find().filter(cost_targets::Column::VersionId.eq(version.clone())).all(c).await?)
}

pub async fn plan_lines<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<Vec<PlanLineRow>> {
    Ok(cost_plan_lines::Entity::find()
        .filter(cost_plan_lines::Column::ProjectId.eq(project.clone()))
        .order_by_asc(cost_plan_lines::Column::CreatedAt)
        .order_by_asc(cost_plan_lines::Column::Id)
        .all(c)
        .await?)
}

pub async fn find_plan_line<C: ConnectionTrait>(c: &C, id: &PlanLineId) -> StoreResult<Option<PlanLineRow>> {
    Ok(cost_plan_lines::Entity::find_by_id(id.clone()).one(c).await?)
}

/// Adds `amount` to what is signed against a plan line, and answers the line
/// as it is afterwards. With `within_plan` the update only happens if the
/// line stays within its planned amount (None otherwise): one conditional
/// statement, so two contracts signed at once cannot both take the last of
/// a strongly controlled line (PostgreSQL's row lock and SQLite's writer lock
/// order them).
pub async fn charge_plan_line<C: ConnectionTrait>(
    c: &C,
    id: &PlanLineId,
    amount: Money,
    within_plan: bool,
) -> StoreResult<Option<PlanLineRow>> {
    use cost_plan_lines::Column;
    let mut q = cost_plan_lines::Entity::update_many()
        .col_expr(Column::Contracted, Expr::col(Column::Contracted).add(amount.hundredths()))
        .filter(Column::Id.eq(id.clone()));
    if within_plan {
        q = q.filter(Expr::col(Column::Contracted).add(amount.hundredths()).lte(Expr::col(Column::PlannedAmount)));
    }
    if q.exec(c).await?.rows_affected != 1 {
        return Ok(None);
    }
    find_plan_line(c, id).await
}

/// Moves a plan line's planned amount by `change` unless that would leave it
/// below what is already contracted (one conditional statement, like the
/// charge, so a contract signed meanwhile is never undercut); the line after.
pub async fn adjust_planned_amount<C: ConnectionTrait>(
    c: &C,
    id: &PlanLineId,
    change: Money,
) -> StoreResult<Option<PlanLineRow>> {
    use cost_plan_lines::Column;
    let res = cost_plan_lines::Entity::update_many()
        .col_expr(Column::PlannedAmount, Expr::col(Column::PlannedAmount).add(change.hundredths()))
        .filter(Column::Id.eq(id.clone()))
        .filter(Expr::col(Column::PlannedAmount).add(change.hundredths()).gte(Expr::col(Column::Contracted)))
        .exec(c)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    find_plan_line(c, id).await
}

pub async fn suppliers<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<SupplierRow>> {
    Ok(suppliers::Entity::find()
        .order_by_asc(suppliers::Column::Name)
        .order_by_asc(suppliers::Column::Id)
        .all(c)
        .await?)
}

pub async fn find_supplier<C: ConnectionTrait>(c: &C, id: &SupplierId) -> StoreResult<Option<SupplierRow>> {
    Ok(suppliers::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn supplier_by_credit_code<C: ConnectionTrait>(c: &C, code: &str) -> StoreResult<Option<SupplierRow>> {
    Ok(suppliers::Entity::find().filter(suppliers::Column::CreditCode.eq(code)).one(c).await?)
}

pub async fn set_blacklisted<C: ConnectionTrait>(c: &C, id: &SupplierId, blacklisted: bool) -> StoreResult<()> {
    suppliers::Entity::update_many()
        .col_expr(suppliers::Column::Blacklisted, Expr::value(blacklisted))
        .filter(suppliers::Column::Id.eq(id.clone()))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn contracts<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<Vec<CostContractRow>> {
    Ok(cost_contracts::Entity::find()
        .filter(cost_contracts::Column::ProjectId.eq(project.clone()))
        .order_by_asc(cost_contracts::Column::Code)
        .all(c)
        .await?)
}

pub async fn find_contract<C: ConnectionTrait>(c: &C, id: &CostContractId) -> StoreResult<Option<CostContractRow>> {
    Ok(cost_contracts::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn contract_by_code<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
    code: &str,
) -> StoreResult<Option<CostContractRow>> {
    Ok(cost_contracts::Entity::find()
        .filter(cost_contracts::Column::ProjectId.eq(project.clone()))
        .filter(cost_contracts::Column::Code.eq(code))
        .one(c)
        .await?)
}

/// Moves a contract from one status to another (and notes its approval);
/// false when it was not in `from`.
pub async fn set_contract_status<C: ConnectionTrait>(
    c: &C,
    id: &CostContractId,
    from: CostContractStatus,
    to: CostContractStatus,
    approval_id: Option<&str>,
) -> StoreResult<bool> {
    use cost_contracts::Column;
    let mut q = cost_contracts::Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.name()))
        .filter(Column::Id.eq(id.clone()))
        .filter(Column::Status.eq(from.name()));
    if let Some(a) = approval_id {
        q = q.col_expr(Column::ApprovalId, Expr::value(a));
    }
    Ok(q.exec(c).await?.rows_affected == 1)
}

pub async fn contract_lines<C: ConnectionTrait>(c: &C, contract: &CostContractId) -> StoreResult<Vec<ContractLineRow>> {
    Ok(cost_contract_lines::Entity::find()
        .filter(cost_contract_lines::Column::ContractId.eq(contract.clone()))
        .order_by_asc(cost_contract_lines::Column::Id)
        .all(c)
        .await?)
}

/// The lines of every contract of a project, in one statement, by contract.
pub async fn contract_lines_of_project<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
) -> StoreResult<std::collections::HashMap<CostContractId, Vec<ContractLineRow>>> {
    let rows = cost_contract_lines::Entity::find()
        .filter(
            cost_contract_lines::Column::ContractId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(cost_contracts::Column::Id)
                    .from(cost_contracts::Entity)
                    .and_where(cost_contracts::Column::ProjectId.eq(project.clone()))
                    .to_owned(),
            ),
        )
        .order_by_asc(cost_contract_lines::Column::Id)
        .all(c)
        .await?;
    let mut by_contract: std::collections::HashMap<CostContractId, Vec<ContractLineRow>> = Default::default();
    for row in rows {
        by_contract.entry(row.contract_id.clone()).or_default().push(row);
    }
    Ok(by_contract)
}

pub async fn variations<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<Vec<VariationRow>> {
    Ok(cost_variations::Entity::find()
        .filter(cost_variations::Column::ProjectId.eq(project.clone()))
        .order_by_desc(cost_variations::Column::SubmittedOn)
        .order_by_desc(cost_variations::Column::Code)
        .all(c)
        .await?)
}

pub async fn find_variation<C: ConnectionTrait>(c: &C, id: &VariationId) -> StoreResult<Option<VariationRow>> {
    Ok(cost_variations::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn variation_by_code<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
    code: &str,
) -> StoreResult<Option<VariationRow>> {
    Ok(cost_variations::Entity::find()
        .filter(cost_variations::Column::ProjectId.eq(project.clone()))
        .filter(cost_variations::Column::Code.eq(code))
        .one(c)
        .await?)
}

/// Confirms an estimated change or visa; false when it was already confirmed
/// (two confirmations at once: the second finds nothing to move).
pub async fn confirm_variation<C: ConnectionTrait>(
    c: &C,
    id: &VariationId,
    amount: Money,
    on: NaiveDate,
    by: &str,
) -> StoreResult<bool> {
    use cost_variations::Column;
    let res = cost_variations::Entity::update_many()
        .col_expr(Column::Status, Expr::value(VariationStatus::Confirmed.name()))
        .col_expr(Column::ConfirmedAmount, Expr::value(amount.hundredths()))
        .col_expr(Column::ConfirmedOn, Expr::value(on))
        .col_expr(Column::ConfirmedBy, Expr::value(by))
        .filter(Column::Id.eq(id.clone()))
        .filter(Column::Status.eq(VariationStatus::Estimated.name()))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Moves a change or visa from one status to another; false when it was not
/// in `from` any more (decided twice).
pub async fn set_variation_status<C: ConnectionTrait>(
    c: &C,
    id: &VariationId,
    from: VariationStatus,
    to: VariationStatus,
    approval: Option<&str>,
) -> StoreResult<bool> {
    use cost_variations::Column;
    let mut update = cost_variations::Entity::update_many().col_expr(Column::Status, Expr::value(to.name()));
    if let Some(a) = approval {
        update = update.col_expr(Column::ApprovalId, Expr::value(a.to_owned()));
    }
    let res = update.filter(Column::Id.eq(id.clone())).filter(Column::Status.eq(from.name())).exec(c).await?;
    Ok(res.rows_affected == 1)
}

/// The gross floor area of some projects: the sum of their buildings', None
/// while a building of the project has none entered (a part would mislead).
pub async fn gross_floor_areas<C: ConnectionTrait>(
    c: &C,
    projects: &[ProjectId],
) -> StoreResult<Vec<(ProjectId, Option<loupan_domain::Area>)>> {
    use crate::entities::buildings::{Column as B, Entity as Buildings};
    let rows: Vec<(ProjectId, Option<i64>, i64, i64)> = Buildings::find()
        .select_only()
        .column(B::ProjectId)
        .column_as(
            SimpleExpr::from(Func::cast_as(Func::sum(Expr::col(B::GrossFloorArea)), Alias::new("BIGINT"))),
            "total",
        )
        .column_as(SimpleExpr::from(Func::cast_as(Func::count(Expr::col(B::Id)), Alias::new("BIGINT"))), "buildings")
        .column_as(
            SimpleExpr::from(Func::cast_as(Func::count(Expr::col(B::GrossFloorArea)), Alias::new("BIGINT"))),
            "known",
        )
        .filter(B::ProjectId.is_in(projects.iter().map(|p| p.as_str().to_owned())))
        .group_by(B::ProjectId)
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(p, total, buildings, known)| {
            let area = (buildings == known).then(|| loupan_domain::Area::from_hundredths(total.unwrap_or(0)));
            (p, area)
        })
        .collect())
}

/// A project's saleable area: the gross area of all its units.
pub async fn saleable_area<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<loupan_domain::Area> {
    use crate::entities::units;
    let total: Option<Option<i64>> = units::Entity::find()
        .select_only()
        .column_as(
            SimpleExpr::from(Func::cast_as(Func::sum(Expr::col(units::Column::GrossArea)), Alias::new("BIGINT"))),
            "total",
        )
        .filter(units::Column::ProjectId.eq(project.as_str()))
        .into_tuple::<Option<i64>>()
        .one(c)
        .await?;
    Ok(loupan_domain::Area::from_hundredths(total.flatten().unwrap_or(0)))
}

fn sum_of(col: cost_postings::Column) -> SimpleExpr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

/// The ledger of a project up to a date, summed by item and bucket.
pub async fn sums<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
    as_of: NaiveDate,
) -> StoreResult<Vec<(CostItemId, Bucket, Money)>> {
    use cost_postings::Column;
    Ok(cost_postings::Entity::find()
        .select_only()
        .column(Column::CostItemId)
        .column(Column::Bucket)
        .column_as(sum_of(Column::Amount), "total")
        .filter(Column::ProjectId.eq(project.clone()))
        .filter(Column::PostedOn.lte(as_of))
        .group_by(Column::CostItemId)
        .group_by(Column::Bucket)
        .into_tuple::<(CostItemId, Bucket, Money)>()
        .all(c)
        .await?)
}

/// The date of a project's latest entry in a bucket.
pub async fn latest_posting_on<C: ConnectionTrait>(
    c: &C,
    project: &ProjectId,
    bucket: Bucket,
) -> StoreResult<Option<NaiveDate>> {
    use cost_postings::Column;
    Ok(cost_postings::Entity::find()
        .select_only()
        .column_as(Expr::col(Column::PostedOn).max(), "latest")
        .filter(Column::ProjectId.eq(project.clone()))
        .filter(Column::Bucket.eq(bucket.name()))
        .into_tuple::<Option<NaiveDate>>()
        .one(c)
        .await?
        .flatten())
}

/// Whether anything was ever posted to an item.
pub async fn has_postings<C: ConnectionTrait>(c: &C, item: &CostItemId) -> StoreResult<bool> {
    Ok(cost_postings::Entity::find().filter(cost_postings::Column::CostItemId.eq(item.clone())).one(c).await?.is_some())
}

/// The entries of some items up to a date, oldest first: the drill-down.
pub async fn postings_of_items<C: ConnectionTrait>(
    c: &C,
    items: &[CostItemId],
    as_of: NaiveDate,
) -> StoreResult<Vec<PostingRow>> {
    use cost_postings::Column;
    Ok(cost_postings::Entity::find()
        .filter(Column::CostItemId.is_in(items.iter().cloned()))
        .filter(Column::PostedOn.lte(as_of))
        .order_by_asc(Column::PostedOn)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(c)
        .await?)
}

pub async fn postings_of_document<C: ConnectionTrait>(c: &C, document: &str) -> StoreResult<Vec<PostingRow>> {
    use cost_postings::Column;
    Ok(cost_postings::Entity::find()
        .filter(Column::DocumentId.eq(document))
        .order_by_asc(Column::PostedOn)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(c)
        .await?)
}
