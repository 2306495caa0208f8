//! Projects, buildings and units: the inventory a sales office sells from.

use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::{PropertyType, UnitStatus};
use loupan_domain::sales::AdjustmentStatus;
use loupan_domain::{Area, Money};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::StoreResult;
use crate::entities::{buildings, projects, units};

pub use buildings::Model as BuildingRow;
pub use projects::Model as ProjectRow;
pub use units::Model as UnitRow;

pub async fn insert_project<C: ConnectionTrait>(c: &C, row: &ProjectRow) -> StoreResult<()> {
    projects::Entity::insert(projects::ActiveModel {
        id: Set(row.id.clone()),
        name: Set(row.name.clone()),
        city: Set(row.city.clone()),
        agent_discount_limit_millionths: Set(row.agent_discount_limit_millionths),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

/// The extra discount agents of the project may give without a special approval.
pub async fn set_agent_discount_limit<C: ConnectionTrait>(c: &C, id: &ProjectId, millionths: i64) -> StoreResult<bool> {
    let res = projects::Entity::update_many()
        .col_expr(projects::Column::AgentDiscountLimitMillionths, Expr::value(millionths))
        .col_expr(projects::Column::Version, Expr::col(projects::Column::Version).add(1))
        .filter(projects::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn find_project<C: ConnectionTrait>(c: &C, id: &ProjectId) -> StoreResult<Option<ProjectRow>> {
    Ok(projects::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Projects by name; `only` restricts to a member's projects (None: all).
pub async fn list_projects<C: ConnectionTrait>(c: &C, only: Option<&[ProjectId]>) -> StoreResult<Vec<ProjectRow>> {
    let mut q = projects::Entity::find().order_by_asc(projects::Column::Name);
    if let Some(ids) = only {
        q = q.filter(projects::Column::Id.is_in(ids.iter().cloned()));
    }
    Ok(q.all(c).await?)
}

pub async fn count_projects<C: ConnectionTrait>(c: &C) -> StoreResult<u64> {
    Ok(projects::Entity::find().count(c).await?)
}

/// Sets a building's gross floor area and moves its version on.
pub async fn set_gross_floor_area<C: ConnectionTrait>(
    c: &C,
    id: &BuildingId,
    area: Option<Area>,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<bool> {
    let res = buildings::Entity::update_many()
        .col_expr(buildings::Column::GrossFloorArea, Expr::value(area.map(|a| a.hundredths())))
        .col_expr(buildings::Column::Version, Expr::col(buildings::Column::Version).add(1))
        .col_expr(buildings::Column::UpdatedAt, Expr::value(now))
        .filter(buildings::Column::Id.eq(id.clone()))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_building<C: ConnectionTrait>(c: &C, row: &BuildingRow) -> StoreResult<()> {
    buildings::Entity::insert(buildings::ActiveModel {
        id: Set(row.id.clone()),
        project_id: Set(row.project_id.clone()),
        name: Set(row.name.clone()),
        phase: Set(row.phase.clone()),
        gross_floor_area: Set(row.gross_floor_area),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

pub async fn find_building<C: ConnectionTrait>(c: &C, id: &BuildingId) -> StoreResult<Option<BuildingRow>> {
    Ok(buildings::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn list_buildings_of_project<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
) -> StoreResult<Vec<BuildingRow>> {
    Ok(buildings::Entity::find()
        .filter(buildings::Column::ProjectId.eq(project_id))
        .order_by_asc(buildings::Column::Name)
        .all(c)
        .await?)
}

pub async fn insert_unit<C: ConnectionTrait>(c: &C, row: &UnitRow) -> StoreResult<()> {
    units::Entity::insert(units::ActiveModel {
        id: Set(row.id.clone()),
        building_id: Set(row.building_id.clone()),
        project_id: Set(row.project_id.clone()),
        floor: Set(row.floor),
        number: Set(row.number.clone()),
        layout: Set(row.layout.clone()),
        gross_area: Set(row.gross_area),
        inner_area: Set(row.inner_area),
        list_price: Set(row.list_price),
        status: Set(row.status),
        property_type: Set(row.property_type),
        orientation: Set(row.orientation.clone()),
        decoration: Set(row.decoration),
        floor_price: Set(row.floor_price),
        measured_gross_area: Set(row.measured_gross_area),
        measured_inner_area: Set(row.measured_inner_area),
        entrance: Set(row.entrance.clone()),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

pub async fn find_unit<C: ConnectionTrait>(c: &C, id: &UnitId) -> StoreResult<Option<UnitRow>> {
    Ok(units::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// The unit search of the sales office: every filter is optional and combined.
#[derive(Debug, Default, Clone)]
pub struct UnitFilter {
    /// Restrict to these projects (a member's projects); None: every project.
    pub project_ids: Option<Vec<ProjectId>>,
    pub project_id: Option<ProjectId>,
    pub building_id: Option<BuildingId>,
    pub status: Option<UnitStatus>,
    pub layout: Option<String>,
    pub min_area: Option<Area>,
    pub max_area: Option<Area>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    pub max_total_price: Option<Money>,
    pub min_total_price: Option<Money>,
    pub orientation: Option<String>,
    pub property_type: Option<PropertyType>,
    pub sort: UnitSort,
    /// The page cursor: units after it in the search's order.
    pub after: Option<UnitCursor>,
}

/// Where a page of a unit search ends: the last unit's id and, when sorted by
/// a value, that value as stored. Clients see it as opaque text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitCursor {
    value: Option<i64>,
    id: UnitId,
}

impl UnitCursor {
    /// The cursor after a unit (its id, list price, gross area and floor) in a
    /// search sorted by `sort`.
    pub fn after(sort: UnitSort, id: &UnitId, (price, area, floor): (Money, Area, i32)) -> UnitCursor {
        let value = match sort {
            UnitSort::Created => None,
            UnitSort::PriceAsc | UnitSort::PriceDesc => Some(price.hundredths()),
            UnitSort::AreaAsc | UnitSort::AreaDesc => Some(area.hundredths()),
            UnitSort::FloorAsc | UnitSort::FloorDesc => Some(i64::from(floor)),
        };
        UnitCursor { value, id: id.clone() }
    }

    /// Reads a cursor this search wrote: "value|id" when sorted by a value, else the id.
    pub fn parse(text: &str, sort: UnitSort) -> Option<UnitCursor> {
        if sort == UnitSort::Created {
            return Some(UnitCursor { value: None, id: UnitId::from(text) });
        }
        let (value, id) = text.split_once('|')?;
        Some(UnitCursor { value: Some(value.parse().ok()?), id: UnitId::from(id) })
    }
}

impl std::fmt::Display for UnitCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.value {
            Some(v) => write!(f, "{v}|{}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// The order of a unit search; ties are broken by id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnitSort {
    #[default]
    Created,
    PriceAsc,
    PriceDesc,
    AreaAsc,
    AreaDesc,
    FloorAsc,
    FloorDesc,
}

/// Units in the requested order, `limit` of them after the cursor.
pub async fn search_units<C: ConnectionTrait>(c: &C, f: &UnitFilter, limit: u64) -> StoreResult<Vec<UnitRow>> {
    use sea_orm::Condition;
    use units::Column as U;
    let (column, descending) = match f.sort {
        UnitSort::Created => (None, false),
        UnitSort::PriceAsc => (Some(U::ListPrice), false),
        UnitSort::PriceDesc => (Some(U::ListPrice), true),
        UnitSort::AreaAsc => (Some(U::GrossArea), false),
        UnitSort::AreaDesc => (Some(U::GrossArea), true),
        UnitSort::FloorAsc => (Some(U::Floor), false),
        UnitSort::FloorDesc => (Some(U::Floor), true),
    };
    let mut q = units::Entity::find().limit(limit);
    if let Some(col) = column {
        q = if descending { q.order_by_desc(col) } else { q.order_by_asc(col) };
        if let Some(UnitCursor { value: Some(v), id }) = &f.after {
            let v = *v;
            let beyond = if descending { Expr::col(col).lt(v) } else { Expr::col(col).gt(v) };
            q = q.filter(
                Condition::any().add(beyond).add(Condition::all().add(Expr::col(col).eq(v)).add(U::Id.gt(id.as_str()))),
            );
        }
    } else if let Some(after) = &f.after {
        q = q.filter(U::Id.gt(&after.id));
    }
    q = q.order_by_asc(U::Id);
    if let Some(ids) = &f.project_ids {
        q = q.filter(U::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(v) = &f.project_id {
        q = q.filter(U::ProjectId.eq(v.as_str()));
    }
    if let Some(v) = &f.building_id {
        q = q.filter(U::BuildingId.eq(v.as_str()));
    }
    if let Some(v) = &f.status {
        q = q.filter(U::Status.eq(*v));
    }
    if let Some(v) = &f.layout {
        q = q.filter(U::Layout.eq(v.as_str()));
    }
    if let Some(v) = f.min_area {
        q = q.filter(U::GrossArea.gte(v));
    }
    if let Some(v) = f.max_area {
        q = q.filter(U::GrossArea.lte(v));
    }
    if let Some(v) = f.min_floor {
        q = q.filter(U::Floor.gte(v));
    }
    if let Some(v) = f.max_floor {
        q = q.filter(U::Floor.lte(v));
    }
    if let Some(v) = f.max_total_price {
        q = q.filter(U::ListPrice.lte(v));
    }
    if let Some(v) = f.min_total_price {
        q = q.filter(U::ListPrice.gte(v));
    }
    if let Some(v) = &f.orientation {
        q = q.filter(U::Orientation.eq(v.as_str()));
    }
    if let Some(v) = &f.property_type {
        q = q.filter(U::PropertyType.eq(*v));
    }
    Ok(q.all(c).await?)
}

/// Units of one building, by floor and number: the rows of the 销控图.
pub async fn units_by_ids<C: ConnectionTrait>(c: &C, ids: &[UnitId]) -> StoreResult<Vec<UnitRow>> {
    Ok(units::Entity::find().filter(units::Column::Id.is_in(ids.iter().cloned())).all(c).await?)
}

pub async fn units_of_building<C: ConnectionTrait>(c: &C, building_id: &BuildingId) -> StoreResult<Vec<UnitRow>> {
    Ok(units::Entity::find()
        .filter(units::Column::BuildingId.eq(building_id))
        .order_by_desc(units::Column::Floor)
        .order_by_asc(units::Column::Number)
        .all(c)
        .await?)
}

/// How many units each project has in each status: `(project_id, status, count)`.
pub async fn unit_status_counts<C: ConnectionTrait>(
    c: &C,
    only: Option<&[ProjectId]>,
) -> StoreResult<Vec<(ProjectId, UnitStatus, i64)>> {
    use sea_orm::sea_query::{Expr, Func};
    let mut q = units::Entity::find()
        .select_only()
        .column(units::Column::ProjectId)
        .column(units::Column::Status)
        .column_as(Expr::from(Func::count(Expr::col(units::Column::Id))), "n")
        .group_by(units::Column::ProjectId)
        .group_by(units::Column::Status);
    if let Some(ids) = only {
        q = q.filter(units::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    Ok(q.into_tuple::<(ProjectId, UnitStatus, i64)>().all(c).await?)
}

pub async fn find_building_by_name<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    name: &str,
) -> StoreResult<Option<BuildingRow>> {
    Ok(buildings::Entity::find()
        .filter(buildings::Column::ProjectId.eq(project_id))
        .filter(buildings::Column::Name.eq(name))
        .one(c)
        .await?)
}

pub async fn find_unit_by_number<C: ConnectionTrait>(
    c: &C,
    building_id: &BuildingId,
    number: &str,
) -> StoreResult<Option<UnitRow>> {
    Ok(units::Entity::find()
        .filter(units::Column::BuildingId.eq(building_id))
        .filter(units::Column::Number.eq(number))
        .one(c)
        .await?)
}

/// Rewrites a unit's description and price (an import updating by unit number).
pub async fn update_unit_details<C: ConnectionTrait>(c: &C, row: &UnitRow) -> StoreResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    units::Entity::update_many()
        .col_expr(units::Column::Floor, Expr::value(row.floor))
        .col_expr(units::Column::Layout, Expr::value(row.layout.clone()))
        .col_expr(units::Column::GrossArea, Expr::value(row.gross_area))
        .col_expr(units::Column::InnerArea, Expr::value(row.inner_area))
        .col_expr(units::Column::ListPrice, Expr::value(row.list_price))
        .col_expr(units::Column::PropertyType, Expr::value(row.property_type))
        .col_expr(units::Column::Orientation, Expr::value(row.orientation.clone()))
        .col_expr(units::Column::Decoration, Expr::value(row.decoration))
        .col_expr(units::Column::FloorPrice, Expr::value(row.floor_price))
        .col_expr(units::Column::Entrance, Expr::value(row.entrance.clone()))
        .col_expr(units::Column::Version, Expr::col(units::Column::Version).add(1))
        .col_expr(units::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(units::Column::Id.eq(row.id.as_str()))
        .exec(c)
        .await?;
    Ok(())
}

pub use crate::entities::price_adjustments::Model as PriceAdjustmentRow;
pub use crate::entities::unit_prices::Model as UnitPriceRow;

pub async fn insert_price_adjustment<C: ConnectionTrait>(c: &C, row: &PriceAdjustmentRow) -> StoreResult<()> {
    use sea_orm::IntoActiveModel;
    crate::entities::price_adjustments::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(c)
        .await?;
    Ok(())
}

pub async fn find_price_adjustment<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<PriceAdjustmentRow>> {
    Ok(crate::entities::price_adjustments::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn price_adjustments_of<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
) -> StoreResult<Vec<PriceAdjustmentRow>> {
    use crate::entities::price_adjustments as pa;
    Ok(pa::Entity::find()
        .filter(pa::Column::ProjectId.eq(project_id))
        .order_by_desc(pa::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Marks a draft applied; false when it is no longer a draft (applied twice).
/// Moves a plan between `draft` and `pending` (waiting for approval), only from `from`.
pub async fn set_adjustment_status<C: ConnectionTrait>(
    c: &C,
    id: &str,
    from: AdjustmentStatus,
    to: AdjustmentStatus,
) -> StoreResult<bool> {
    use crate::entities::price_adjustments as pa;
    let res = pa::Entity::update_many()
        .col_expr(pa::Column::Status, Expr::value(to))
        .filter(pa::Column::Id.eq(id))
        .filter(pa::Column::Status.eq(from))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn mark_adjustment_applied<C: ConnectionTrait>(
    c: &C,
    id: &str,
    by: &str,
    units_changed: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<bool> {
    use crate::entities::price_adjustments as pa;
    use sea_orm::sea_query::Expr;
    let res = pa::Entity::update_many()
        .col_expr(pa::Column::Status, Expr::value(AdjustmentStatus::Applied))
        .col_expr(pa::Column::AppliedBy, Expr::value(by.to_owned()))
        .col_expr(pa::Column::UnitsChanged, Expr::value(units_changed))
        .col_expr(pa::Column::AppliedAt, Expr::value(now))
        .filter(pa::Column::Id.eq(id))
        .filter(pa::Column::Status.eq(AdjustmentStatus::Pending))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Sets a unit's list price only while it is still unsold; records the change.
pub async fn change_list_price<C: ConnectionTrait>(
    c: &C,
    unit: &UnitRow,
    new_price: Money,
    history: &UnitPriceRow,
) -> StoreResult<bool> {
    use sea_orm::IntoActiveModel;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let res = units::Entity::update_many()
        .col_expr(units::Column::ListPrice, Expr::value(new_price))
        .col_expr(units::Column::Version, Expr::col(units::Column::Version).add(1))
        .col_expr(units::Column::UpdatedAt, Expr::value(history.changed_at))
        .filter(units::Column::Id.eq(unit.id.as_str()))
        .filter(units::Column::Status.is_in([UnitStatus::Available, UnitStatus::Held, UnitStatus::NotForSale]))
        .exec(c)
        .await?;
    if res.rows_affected == 1 {
        crate::entities::unit_prices::Entity::insert(history.clone().into_active_model())
            .exec_without_returning(c)
            .await?;
    }
    Ok(res.rows_affected == 1)
}

pub async fn price_history_of<C: ConnectionTrait>(c: &C, unit_id: &UnitId) -> StoreResult<Vec<UnitPriceRow>> {
    use crate::entities::unit_prices as up;
    Ok(up::Entity::find().filter(up::Column::UnitId.eq(unit_id)).order_by_asc(up::Column::ChangedAt).all(c).await?)
}

/// The price changes an applied adjustment made.
pub async fn price_changes_of_adjustment<C: ConnectionTrait>(
    c: &C,
    adjustment_id: &str,
) -> StoreResult<Vec<UnitPriceRow>> {
    use crate::entities::unit_prices as up;
    Ok(up::Entity::find()
        .filter(up::Column::AdjustmentId.eq(adjustment_id))
        .order_by_asc(up::Column::UnitId)
        .all(c)
        .await?)
}
