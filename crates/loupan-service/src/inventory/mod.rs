//! Projects, buildings and units. Members see their projects' inventory;
//! admins and executives see every project.

pub mod files;
pub mod import;

use loupan_domain::ids::{BuildingId, ProjectId, UnitId};
use loupan_domain::inventory::{Decoration, PropertyType, UnitStatus};
use loupan_domain::sales::Ratio;
use loupan_domain::validation::required_text;
use loupan_domain::{Area, Invalid, Money, Permission};
use loupan_store::StoreError;
use loupan_store::inventory::{self as store, BuildingRow, ProjectRow, UnitCursor, UnitFilter, UnitRow, UnitSort};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub city: String,
    /// Extra discount (ratio) agents may give without a special approval.
    pub agent_discount_limit: String,
    pub version: i64,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            name: r.name,
            city: r.city,
            agent_discount_limit: Ratio::from_millionths(r.agent_discount_limit_millionths).to_string(),
            version: r.version,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Building {
    pub id: BuildingId,
    pub project_id: ProjectId,
    pub name: String,
    /// The phase (分期), if the project is built in phases.
    pub phase: Option<String>,
    /// 总建筑面积, m², everything built (basements and shared spaces too); the
    /// cost per m² of gross floor area is read against it.
    pub gross_floor_area: Option<Area>,
    pub version: i64,
}

impl From<BuildingRow> for Building {
    fn from(r: BuildingRow) -> Self {
        Building {
            id: r.id,
            project_id: r.project_id,
            name: r.name,
            phase: r.phase,
            gross_floor_area: r.gross_floor_area,
            version: r.version,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: UnitId,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub floor: i32,
    pub number: String,
    pub layout: String,
    pub gross_area: Area,
    pub inner_area: Area,
    pub list_price: Money,
    pub status: UnitStatus,
    pub property_type: PropertyType,
    pub orientation: Option<String>,
    pub decoration: Option<Decoration>,
    pub floor_price: Option<Money>,
    pub measured_gross_area: Option<Area>,
    pub measured_inner_area: Option<Area>,
    /// The entrance (单元) the unit is reached by.
    pub entrance: Option<String>,
    pub version: i64,
}

impl From<UnitRow> for Unit {
    fn from(r: UnitRow) -> Self {
        Unit {
            id: r.id,
            project_id: r.project_id,
            building_id: r.building_id,
            floor: r.floor,
            number: r.number,
            layout: r.layout,
            gross_area: r.gross_area,
            inner_area: r.inner_area,
            list_price: r.list_price,
            status: r.status,
            property_type: r.property_type,
            orientation: r.orientation,
            decoration: r.decoration,
            floor_price: r.floor_price,
            measured_gross_area: r.measured_gross_area,
            measured_inner_area: r.measured_inner_area,
            entrance: r.entrance,
            version: r.version,
        }
    }
}

fn snapshot<T: Serialize>(v: &T) -> ServiceResult<Option<serde_json::Value>> {
    crate::platform::audit::snapshot(v)
}

#[derive(Debug, Default, Clone)]
pub struct NewProject {
    pub name: Option<String>,
    pub city: Option<String>,
}

pub async fn create_project(services: &Services, actor: &Actor, form: NewProject) -> ServiceResult<Project> {
    actor.require(Permission::ManageProjects)?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let city = required_text(&mut errors, "city", form.city.as_deref(), 50);
    errors.into_result()?;
    let now = services.clock.now();
    let row = ProjectRow {
        id: loupan_store::new_id().into(),
        name,
        city,
        agent_discount_limit_millionths: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let tx = services.store.begin_write().await?;
    match store::insert_project(&tx, &row).await {
        Err(StoreError::Unique(_)) => return Err(Invalid::one("name", "taken").into()),
        other => other?,
    }
    let project = Project::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "project.create",
            record_type: "project",
            record_id: project.id.as_str(),
            before: None,
            after: snapshot(&project)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(project)
}

/// Sets the extra discount (a ratio, `"0.01"` = 1 %) agents of the project may
/// give without a special approval (特批).
pub async fn set_agent_discount_limit(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    limit: Option<&str>,
) -> ServiceResult<Project> {
    actor.require(Permission::ManagePricing)?;
    let before = get_project(services, actor, project_id).await?;
    let text = limit.map(str::trim).unwrap_or_default();
    let ratio = if text.is_empty() {
        Err("required")
    } else {
        Ratio::parse(text).and_then(|r| if r.millionths() > 200_000 { Err("out_of_range") } else { Ok(r) })
    }
    .map_err(|code| Invalid::one("agent_discount_limit", code))?;
    let tx = services.store.begin_write().await?;
    store::set_agent_discount_limit(&tx, project_id, ratio.millionths()).await?;
    let after: Project = store::find_project(&tx, project_id).await?.ok_or(ServiceError::NotFound("project"))?.into();
    audit::record(
        &tx,
        actor,
        Change {
            action: "project.discount_limit",
            record_type: "project",
            record_id: project_id.as_str(),
            before: snapshot(&before)?,
            after: snapshot(&after)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(after)
}

pub async fn list_projects(services: &Services, actor: &Actor) -> ServiceResult<Vec<Project>> {
    actor.require(Permission::ReadProjects)?;
    let rows = store::list_projects(services.store.conn(), actor.visible_projects()).await?;
    Ok(rows.into_iter().map(Project::from).collect())
}

/// A project the actor may see; 404 otherwise (its existence is not revealed).
pub async fn get_project(services: &Services, actor: &Actor, id: &ProjectId) -> ServiceResult<Project> {
    actor.require(Permission::ReadProjects)?;
    if !actor.sees_project(id) {
        return Err(ServiceError::NotFound("project"));
    }
    let row = store::find_project(services.store.conn(), id).await?.ok_or(ServiceError::NotFound("project"))?;
    Ok(row.into())
}

#[derive(Debug, Default, Clone)]
pub struct NewBuilding {
    pub name: Option<String>,
    /// 分期, e.g. `一期`; empty for none.
    pub phase: Option<String>,
    /// 总建筑面积 in m² (`"12500.00"`); empty when not known yet.
    pub gross_floor_area: Option<String>,
}

/// A gross floor area as typed: empty is unknown; otherwise positive and at
/// most 10,000,000 m² (a typo, not a building).
fn gross_floor_area(errors: &mut Invalid, text: Option<&str>) -> Option<Area> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    match Area::parse(text) {
        Ok(a) if !a.is_positive() => {
            errors.push("gross_floor_area", "must_be_positive");
            None
        }
        Ok(a) if a.hundredths() > 1_000_000_000 => {
            errors.push("gross_floor_area", "out_of_range");
            None
        }
        Ok(a) => Some(a),
        Err(e) => {
            errors.push("gross_floor_area", e.code());
            None
        }
    }
}

pub async fn create_building(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: NewBuilding,
) -> ServiceResult<Building> {
    actor.require(Permission::ManageInventory)?;
    let project = get_project(services, actor, project_id).await?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 50);
    let phase = loupan_domain::validation::optional_text(&mut errors, "phase", form.phase.as_deref(), 30);
    let gross_floor_area = gross_floor_area(&mut errors, form.gross_floor_area.as_deref());
    errors.into_result()?;
    let now = services.clock.now();
    let row = BuildingRow {
        id: loupan_store::new_id().into(),
        project_id: project.id,
        name,
        phase,
        gross_floor_area,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let tx = services.store.begin_write().await?;
    match store::insert_building(&tx, &row).await {
        Err(StoreError::Unique(_)) => return Err(Invalid::one("name", "taken").into()),
        other => other?,
    }
    let building = Building::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "building.create",
            record_type: "building",
            record_id: building.id.as_str(),
            before: None,
            after: snapshot(&building)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(building)
}

/// Enters (or clears, with empty text) a building's gross floor area. Those who
/// keep the inventory and cost engineers (whose per-m² figures need it) may.
pub async fn set_gross_floor_area(
    services: &Services,
    actor: &Actor,
    id: &BuildingId,
    area: Option<&str>,
) -> ServiceResult<Building> {
    if !actor.can(Permission::ManageInventory) {
        actor.require(Permission::ManageCost)?;
    }
    let before = get_building(services, actor, id).await?;
    let mut errors = Invalid::default();
    let area = gross_floor_area(&mut errors, area);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    if !store::set_gross_floor_area(&tx, id, area, services.clock.now()).await? {
        return Err(ServiceError::NotFound("building"));
    }
    let after: Building = store::find_building(&tx, id).await?.ok_or(ServiceError::NotFound("building"))?.into();
    audit::record(
        &tx,
        actor,
        Change {
            action: "building.gross_floor_area",
            record_type: "building",
            record_id: id.as_str(),
            before: snapshot(&before)?,
            after: snapshot(&after)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(after)
}

pub async fn list_buildings(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
) -> ServiceResult<Vec<Building>> {
    get_project(services, actor, project_id).await?;
    let rows = store::list_buildings_of_project(services.store.conn(), project_id).await?;
    Ok(rows.into_iter().map(Building::from).collect())
}

pub async fn get_building(services: &Services, actor: &Actor, id: &BuildingId) -> ServiceResult<Building> {
    actor.require(Permission::ReadInventory)?;
    let row = store::find_building(services.store.conn(), id).await?.ok_or(ServiceError::NotFound("building"))?;
    if !actor.sees_project(&row.project_id) {
        return Err(ServiceError::NotFound("building"));
    }
    Ok(row.into())
}

/// A unit as typed: numbers as decimal strings, validated here.
#[derive(Debug, Default, Clone)]
pub struct NewUnit {
    pub floor: Option<i32>,
    pub number: Option<String>,
    pub layout: Option<String>,
    pub gross_area: Option<String>,
    pub inner_area: Option<String>,
    pub list_price: Option<String>,
    pub status: Option<String>,
    /// `residential` (default), `commercial`, `parking`, `storage`.
    pub property_type: Option<String>,
    pub orientation: Option<String>,
    /// `shell` or `furnished`.
    pub decoration: Option<String>,
    pub floor_price: Option<String>,
}

/// The optional descriptive fields of a unit, checked.
pub(crate) struct UnitDetails {
    pub property_type: PropertyType,
    pub orientation: Option<String>,
    pub decoration: Option<Decoration>,
    pub floor_price: Option<Money>,
}

pub(crate) fn parse_details(
    errors: &mut Invalid,
    property_type: Option<&str>,
    orientation: Option<&str>,
    decoration: Option<&str>,
    floor_price: Option<&str>,
    list_price: Option<Money>,
) -> UnitDetails {
    let property_type = match property_type.map(str::trim).filter(|t| !t.is_empty()) {
        None => PropertyType::Residential,
        Some(t) => PropertyType::parse(t).unwrap_or_else(|| {
            errors.push("property_type", "unknown_kind");
            PropertyType::Residential
        }),
    };
    let orientation = loupan_domain::validation::optional_text(errors, "orientation", orientation, 20);
    let decoration = match decoration.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Decoration::parse(t).or_else(|| {
            errors.push("decoration", "unknown_kind");
            None
        }),
    };
    let floor_price = match floor_price.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match Money::parse(t) {
            Ok(m) if m.is_negative() => {
                errors.push("floor_price", "must_not_be_negative");
                None
            }
            Ok(m) if list_price.is_some_and(|l| m > l) => {
                errors.push("floor_price", "floor_above_list");
                None
            }
            Ok(m) => Some(m),
            Err(e) => {
                errors.push("floor_price", e.code());
                None
            }
        },
    };
    UnitDetails { property_type, orientation, decoration, floor_price }
}

fn parse_quantity<T>(
    errors: &mut Invalid,
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Result<T, loupan_domain::quantity::DecimalError>,
) -> Option<T> {
    match text.map(str::trim) {
        None | Some("") => {
            errors.push(field, "required");
            None
        }
        Some(t) => match parse(t) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(field, e.code());
                None
            }
        },
    }
}

pub async fn create_unit(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    form: NewUnit,
) -> ServiceResult<Unit> {
    actor.require(Permission::ManageInventory)?;
    let building = get_building(services, actor, building_id).await?;
    let mut errors = Invalid::default();
    let floor = match form.floor {
        None => {
            errors.push("floor", "required");
            0
        }
        Some(0) => {
            // There is no floor 0: 1 is the ground floor, -1 the first below it.
            errors.push("floor", "no_floor_zero");
            0
        }
        Some(f) if !(-10..=200).contains(&f) => {
            errors.push("floor", "out_of_range");
            0
        }
        Some(f) => f,
    };
    let number = required_text(&mut errors, "number", form.number.as_deref(), 20);
    let layout = required_text(&mut errors, "layout", form.layout.as_deref(), 50);
    let gross = parse_quantity(&mut errors, "gross_area", form.gross_area.as_deref(), Area::parse);
    let inner = parse_quantity(&mut errors, "inner_area", form.inner_area.as_deref(), Area::parse);
    let price = parse_quantity(&mut errors, "list_price", form.list_price.as_deref(), Money::parse);
    if gross.is_some_and(|a| !a.is_positive()) {
        errors.push("gross_area", "must_be_positive");
    }
    if inner.is_some_and(|a| !a.is_positive()) {
        errors.push("inner_area", "must_be_positive");
    }
    if let (Some(g), Some(i)) = (gross, inner)
        && i > g
    {
        errors.push("inner_area", "inner_exceeds_gross");
    }
    if price.is_some_and(Money::is_negative) {
        errors.push("list_price", "must_not_be_negative");
    }
    let details = parse_details(
        &mut errors,
        form.property_type.as_deref(),
        form.orientation.as_deref(),
        form.decoration.as_deref(),
        form.floor_price.as_deref(),
        price,
    );
    let status = match form.status.as_deref().map(str::trim) {
        None | Some("") => UnitStatus::Available,
        Some(s) => match UnitStatus::parse(s) {
            Some(st @ (UnitStatus::Available | UnitStatus::NotForSale | UnitStatus::Held)) => st,
            Some(_) => {
                // Sold states are reached through sales, never typed in.
                errors.push("status", "status_not_settable");
                UnitStatus::Available
            }
            None => {
                errors.push("status", "unknown_status");
                UnitStatus::Available
            }
        },
    };
    errors.into_result()?;
    let now = services.clock.now();
    let row = UnitRow {
        id: loupan_store::new_id().into(),
        building_id: building.id,
        project_id: building.project_id,
        floor,
        number,
        layout,
        gross_area: gross.unwrap_or_default(),
        inner_area: inner.unwrap_or_default(),
        list_price: price.unwrap_or_default(),
        status,
        property_type: details.property_type,
        orientation: details.orientation,
        decoration: details.decoration,
        floor_price: details.floor_price,
        measured_gross_area: None,
        measured_inner_area: None,
        entrance: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let tx = services.store.begin_write().await?;
    let unit = insert_audited(&tx, actor, row, Invalid::one("number", "taken")).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(unit)
}

/// Inserts a unit with its audit row; a taken number becomes `on_duplicate`.
async fn insert_audited<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    row: UnitRow,
    on_duplicate: Invalid,
) -> ServiceResult<Unit> {
    match store::insert_unit(conn, &row).await {
        Err(StoreError::Unique(_)) => return Err(on_duplicate.into()),
        other => other?,
    }
    let unit = Unit::from(row);
    audit::record(
        conn,
        actor,
        Change {
            action: "unit.create",
            record_type: "unit",
            record_id: unit.id.as_str(),
            before: None,
            after: snapshot(&unit)?,
        },
    )
    .await?;
    Ok(unit)
}

/// Search filters as typed in a query string; checked here.
#[derive(Debug, Default, Clone)]
pub struct UnitQuery {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    pub status: Option<String>,
    pub layout: Option<String>,
    pub min_area: Option<String>,
    pub max_area: Option<String>,
    pub min_floor: Option<i32>,
    pub max_floor: Option<i32>,
    pub max_total_price: Option<String>,
    pub min_total_price: Option<String>,
    pub orientation: Option<String>,
    pub property_type: Option<String>,
    /// `created` (default), `price`, `-price`, `area`, `-area`, `floor`, `-floor`.
    pub sort: Option<String>,
}

fn unit_sort(text: Option<&str>) -> Option<UnitSort> {
    Some(match text.map(str::trim).unwrap_or("") {
        "" | "created" => UnitSort::Created,
        "price" => UnitSort::PriceAsc,
        "-price" => UnitSort::PriceDesc,
        "area" => UnitSort::AreaAsc,
        "-area" => UnitSort::AreaDesc,
        "floor" => UnitSort::FloorAsc,
        "-floor" => UnitSort::FloorDesc,
        _ => return None,
    })
}

/// The page cursor after `unit` in a search sorted by `sort` (opaque to clients).
pub fn cursor_of(unit: &Unit, sort: Option<&str>) -> String {
    let sort = unit_sort(sort).unwrap_or_default();
    UnitCursor::after(sort, &unit.id, (unit.list_price, unit.gross_area, unit.floor)).to_string()
}

pub async fn search_units(
    services: &Services,
    actor: &Actor,
    query: UnitQuery,
    after_id: Option<String>,
    limit: u64,
) -> ServiceResult<Vec<Unit>> {
    actor.require(Permission::ReadInventory)?;
    let mut errors = Invalid::default();
    fn optional<T>(
        errors: &mut Invalid,
        field: &str,
        text: Option<&str>,
        parse: fn(&str) -> Result<T, loupan_domain::quantity::DecimalError>,
    ) -> Option<T> {
        let text = text.map(str::trim).filter(|t| !t.is_empty())?;
        parse(text).map_err(|e| errors.push(field, e.code())).ok()
    }
    let min_area = optional(&mut errors, "min_area", query.min_area.as_deref(), Area::parse);
    let max_area = optional(&mut errors, "max_area", query.max_area.as_deref(), Area::parse);
    let max_total_price = optional(&mut errors, "max_total_price", query.max_total_price.as_deref(), Money::parse);
    let min_total_price = optional(&mut errors, "min_total_price", query.min_total_price.as_deref(), Money::parse);
    let sort = unit_sort(query.sort.as_deref()).unwrap_or_else(|| {
        errors.push("sort", "unknown_sort");
        UnitSort::Created
    });
    let property_type = query.property_type.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|p| {
        let known = PropertyType::parse(p);
        if known.is_none() {
            errors.push("property_type", "unknown_property_type");
        }
        known
    });
    let after = after_id.and_then(|c| {
        let cursor = UnitCursor::parse(&c, sort);
        if cursor.is_none() {
            errors.push("cursor", "invalid_cursor");
        }
        cursor
    });
    let status = query.status.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| {
        let parsed = UnitStatus::parse(s);
        if parsed.is_none() {
            errors.push("status", "unknown_status");
        }
        parsed
    });
    errors.into_result()?;
    let filter = UnitFilter {
        project_ids: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project_id: query.project_id.filter(|s| !s.is_empty()).map(ProjectId::from),
        building_id: query.building_id.filter(|s| !s.is_empty()).map(BuildingId::from),
        status,
        layout: query.layout.filter(|s| !s.is_empty()),
        min_area,
        max_area,
        min_floor: query.min_floor,
        max_floor: query.max_floor,
        max_total_price,
        min_total_price,
        orientation: query.orientation.filter(|s| !s.is_empty()),
        property_type,
        sort,
        after,
    };
    let rows = store::search_units(services.store.conn(), &filter, limit).await?;
    Ok(rows.into_iter().map(Unit::from).collect())
}

/// One building's units, top floor first: the rows of the 销控图.
pub async fn building_chart(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
) -> ServiceResult<(Building, Vec<Unit>)> {
    let building = get_building(services, actor, building_id).await?;
    let rows = store::units_of_building(services.store.conn(), building_id).await?;
    Ok((building, rows.into_iter().map(Unit::from).collect()))
}

/// A project with its number of units in each status (the workbench summary).
#[derive(Debug, Clone, Serialize)]
pub struct ProjectSummary {
    pub project: Project,
    pub total_units: i64,
    /// `(status, count)` for every status, in sales-cycle order.
    pub by_status: Vec<(UnitStatus, i64)>,
}

pub async fn project_summaries(services: &Services, actor: &Actor) -> ServiceResult<Vec<ProjectSummary>> {
    let projects = list_projects(services, actor).await?;
    let counts = store::unit_status_counts(services.store.conn(), actor.visible_projects()).await?;
    Ok(projects
        .into_iter()
        .map(|project| {
            let by_status: Vec<(UnitStatus, i64)> = UnitStatus::ALL
                .into_iter()
                .map(|s| {
                    let n = counts.iter().filter(|(p, st, _)| *p == project.id && *st == s).map(|c| c.2).sum();
                    (s, n)
                })
                .collect();
            ProjectSummary { total_units: by_status.iter().map(|(_, n)| n).sum(), project, by_status }
        })
        .collect())
}

pub async fn get_unit(services: &Services, actor: &Actor, id: &UnitId) -> ServiceResult<Unit> {
    actor.require(Permission::ReadInventory)?;
    match store::find_unit(services.store.conn(), id).await? {
        Some(u) if actor.sees_project(&u.project_id) => Ok(u.into()),
        _ => Err(ServiceError::NotFound("unit")),
    }
}

/// One stack (单元/户型列) of a building: every floor has one unit of it.
#[derive(Debug, Clone, Default)]
pub struct StackSpec {
    pub layout: Option<String>,
    pub gross_area: Option<String>,
    pub inner_area: Option<String>,
    /// Yuan per m2 of gross area; the list price is area × unit price, to the fen.
    pub unit_price: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GenerateUnits {
    pub from_floor: Option<i32>,
    pub to_floor: Option<i32>,
    pub stacks: Vec<StackSpec>,
    /// `available` (default), `not_for_sale` or `held`.
    pub status: Option<String>,
    /// Stacks per entrance (单元): 4 puts stacks 1-4 in 1单元, 5-8 in 2单元; None: no entrances.
    pub stacks_per_entrance: Option<u32>,
}

/// The list price of `area` at `unit_price` per m2, rounded half away from zero to the fen.
pub fn price_of(area: Area, unit_price: Money) -> Money {
    area.priced_at(unit_price)
}

/// Creates a building's units floor by floor and stack by stack in one
/// transaction (unit `1203` is floor 12, stack 3); all or nothing.
pub async fn generate_units(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    form: GenerateUnits,
) -> ServiceResult<usize> {
    actor.require(Permission::ManageInventory)?;
    let building = get_building(services, actor, building_id).await?;
    let mut errors = Invalid::default();
    let from = form.from_floor.unwrap_or(1);
    let to = match form.to_floor {
        Some(t) => t,
        None => {
            errors.push("to_floor", "required");
            0
        }
    };
    if from == 0 {
        errors.push("from_floor", "no_floor_zero");
    } else if !(-10..=200).contains(&from) {
        errors.push("from_floor", "out_of_range");
    }
    if to == 0 {
        errors.push("to_floor", "no_floor_zero");
    } else if !(-10..=200).contains(&to) {
        errors.push("to_floor", "out_of_range");
    } else if to < from {
        errors.push("to_floor", "below_from_floor");
    }
    if form.stacks.is_empty() || form.stacks.len() > 40 {
        errors.push("stacks", if form.stacks.is_empty() { "required" } else { "out_of_range" });
    }
    let mut stacks = Vec::new();
    for (i, s) in form.stacks.iter().enumerate() {
        let field = |name: &str| format!("stacks[{i}].{name}");
        let layout = required_text(&mut errors, &field("layout"), s.layout.as_deref(), 50);
        let gross = parse_quantity(&mut errors, &field("gross_area"), s.gross_area.as_deref(), Area::parse);
        let inner = parse_quantity(&mut errors, &field("inner_area"), s.inner_area.as_deref(), Area::parse);
        let unit_price = parse_quantity(&mut errors, &field("unit_price"), s.unit_price.as_deref(), Money::parse);
        if let (Some(g), Some(i)) = (gross, inner)
            && (!g.is_positive() || !i.is_positive() || i > g)
        {
            errors.push(field("inner_area"), "inner_exceeds_gross");
        }
        // As for one unit: a price of 0 is a unit still to be priced (a price plan sets it).
        if unit_price.is_some_and(Money::is_negative) {
            errors.push(field("unit_price"), "must_not_be_negative");
        }
        if let (Some(g), Some(i), Some(p)) = (gross, inner, unit_price) {
            stacks.push((layout, g, i, p));
        }
    }
    let status = match form.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => UnitStatus::Available,
        Some(s) => match UnitStatus::parse(s) {
            Some(st @ (UnitStatus::Available | UnitStatus::NotForSale | UnitStatus::Held)) => st,
            _ => {
                errors.push("status", "status_not_settable");
                UnitStatus::Available
            }
        },
    };
    errors.into_result()?;
    let now = services.clock.now();
    let tx = services.store.begin_write().await?;
    let mut created = 0;
    for floor in (from..=to).filter(|f| *f != 0) {
        for (n, (layout, gross, inner, unit_price)) in stacks.iter().enumerate() {
            let row = UnitRow {
                id: loupan_store::new_id().into(),
                building_id: building.id.clone(),
                project_id: building.project_id.clone(),
                floor,
                number: format!("{floor}{:02}", n + 1),
                layout: layout.clone(),
                gross_area: *gross,
                inner_area: *inner,
                list_price: price_of(*gross, *unit_price),
                status,
                property_type: PropertyType::Residential,
                orientation: None,
                decoration: None,
                floor_price: None,
                measured_gross_area: None,
                measured_inner_area: None,
                entrance: form.stacks_per_entrance.filter(|p| *p > 0).map(|p| format!("{}单元", n as u32 / p + 1)),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            insert_audited(&tx, actor, row, Invalid::one("stacks", "units_exist")).await?;
            created += 1;
        }
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_price_is_area_times_unit_price_to_the_fen() {
        let price = |a: &str, p: &str| price_of(Area::parse(a).unwrap(), Money::parse(p).unwrap()).to_string();
        assert_eq!(price("89.37", "15000"), "1340550.00");
        assert_eq!(price("89.37", "15000.33"), "1340579.49"); // 1340579.4921
        assert_eq!(price("0.01", "0.50"), "0.01"); // 0.005 rounds up
        assert_eq!(price("118.46", "23800"), "2819348.00");
    }
}

/// What a bulk edit sets on every selected unit; empty fields stay as they are.
#[derive(Debug, Default, Clone)]
pub struct BulkEdit {
    pub unit_ids: Vec<UnitId>,
    pub layout: Option<String>,
    pub gross_area: Option<String>,
    pub inner_area: Option<String>,
    pub list_price: Option<String>,
    pub floor_price: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BulkEditReport {
    pub changed: usize,
    /// Units left alone because they are sold (their price and areas belong to the deal).
    pub skipped_sold: Vec<String>,
}

/// Sets layout, areas or prices on a selection of unsold units in one
/// transaction; a price change goes into each unit's price history.
pub async fn bulk_edit(services: &Services, actor: &Actor, form: BulkEdit) -> ServiceResult<BulkEditReport> {
    actor.require(Permission::ManageInventory)?;
    let mut errors = Invalid::default();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let layout = text(&form.layout);
    if layout.as_ref().is_some_and(|l| l.chars().count() > 30) {
        errors.push("layout", "too_long");
    }
    let area = |errors: &mut Invalid, field: &str, v: &Option<String>| {
        text(v).and_then(|t| match Area::parse(&t) {
            Ok(a) if a.is_positive() => Some(a),
            Ok(_) => {
                errors.push(field, "must_be_positive");
                None
            }
            Err(e) => {
                errors.push(field, e.code());
                None
            }
        })
    };
    let money = |errors: &mut Invalid, field: &str, v: &Option<String>| {
        text(v).and_then(|t| match Money::parse(&t) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(_) => {
                errors.push(field, "must_be_positive");
                None
            }
            Err(e) => {
                errors.push(field, e.code());
                None
            }
        })
    };
    let gross = area(&mut errors, "gross_area", &form.gross_area);
    let inner = area(&mut errors, "inner_area", &form.inner_area);
    let list = money(&mut errors, "list_price", &form.list_price);
    let floor = money(&mut errors, "floor_price", &form.floor_price);
    let reason = text(&form.reason).unwrap_or_else(|| "批量修改".into());
    if form.unit_ids.is_empty() {
        errors.push("unit_ids", "required");
    } else if form.unit_ids.len() > 2000 {
        errors.push("unit_ids", "too_many");
    }
    if layout.is_none() && gross.is_none() && inner.is_none() && list.is_none() && floor.is_none() {
        errors.push("layout", "nothing_to_change");
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let now = services.clock.now();
    let mut report = BulkEditReport { changed: 0, skipped_sold: Vec::new() };
    for id in &form.unit_ids {
        let row = match store::find_unit(&tx, id).await? {
            Some(u) if actor.sees_project(&u.project_id) => u,
            _ => return Err(Invalid::one("unit_ids", "unknown_unit").into()),
        };
        if !matches!(row.status, UnitStatus::Available | UnitStatus::Held | UnitStatus::NotForSale) {
            report.skipped_sold.push(row.number.clone());
            continue;
        }
        let before = Unit::from(row.clone());
        let mut next = row.clone();
        if let Some(l) = &layout {
            next.layout = l.clone();
        }
        if let Some(a) = gross {
            next.gross_area = a;
        }
        if let Some(a) = inner {
            next.inner_area = a;
        }
        if let Some(f) = floor {
            next.floor_price = Some(f);
        }
        if next.inner_area > next.gross_area {
            return Err(Invalid::one("inner_area", "exceeds_gross_area").into());
        }
        next.updated_at = now;
        store::update_unit_details(&tx, &UnitRow { list_price: row.list_price, ..next.clone() }).await?;
        if let Some(p) = list
            && p != row.list_price
        {
            let history = loupan_store::inventory::UnitPriceRow {
                id: loupan_store::new_id(),
                unit_id: row.id.clone(),
                old_price: row.list_price,
                new_price: p,
                adjustment_id: None,
                actor_name: actor.display_name.clone(),
                changed_at: now,
            };
            store::change_list_price(&tx, &next, p, &history).await?;
        }
        let after = store::find_unit(&tx, id).await?.map(Unit::from);
        audit::record(
            &tx,
            actor,
            Change {
                action: "unit.bulk_edit",
                record_type: "unit",
                record_id: id.as_str(),
                before: snapshot(&before)?,
                after: after.as_ref().map(snapshot).transpose()?.flatten().map(|mut v| {
                    v["reason"] = serde_json::Value::from(reason.clone());
                    v
                }),
            },
        )
        .await?;
        report.changed += 1;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(report)
}

/// The totals beside a 销控图: units and list-price amounts per status, and
/// what is still for sale per layout.
#[derive(Debug, Clone, Serialize)]
pub struct ChartTotals {
    pub by_status: Vec<(UnitStatus, usize, Money)>,
    pub available_by_layout: Vec<(String, usize)>,
}

pub fn chart_totals(units: &[Unit]) -> ChartTotals {
    let mut by_status = Vec::new();
    for status in UnitStatus::ALL {
        let of: Vec<&Unit> = units.iter().filter(|u| u.status == status).collect();
        if of.is_empty() {
            continue;
        }
        let amount = of.iter().fold(Money::ZERO, |sum, u| sum.checked_add(u.list_price).unwrap_or(sum));
        by_status.push((status, of.len(), amount));
    }
    let mut layouts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for u in units.iter().filter(|u| u.status == UnitStatus::Available) {
        *layouts.entry(u.layout.clone()).or_default() += 1;
    }
    ChartTotals { by_status, available_by_layout: layouts.into_iter().collect() }
}

/// Status as printed on Chinese documents.
fn status_zh(s: UnitStatus) -> &'static str {
    match s {
        UnitStatus::NotForSale => "未推售",
        UnitStatus::Available => "可售",
        UnitStatus::Held => "销控",
        UnitStatus::Reserved => "预留",
        UnitStatus::Subscribed => "已认购",
        UnitStatus::Contracted => "已签约",
        UnitStatus::HandedOver => "已交房",
    }
}

/// The 销控图 of a building as PDF: floors top down, each unit with its status
/// in words (readable in black and white), layout, area and price; totals below.
pub async fn chart_pdf(services: &Services, actor: &Actor, building_id: &BuildingId) -> ServiceResult<Vec<u8>> {
    use loupan_documents::pdf::Block;
    let (building, units) = building_chart(services, actor, building_id).await?;
    let project = get_project(services, actor, &building.project_id).await?;
    let mut floors: Vec<(i32, Vec<&Unit>)> = Vec::new();
    for u in &units {
        match floors.last_mut() {
            Some((f, list)) if *f == u.floor => list.push(u),
            _ => floors.push((u.floor, vec![u])),
        }
    }
    let columns = floors.iter().map(|(_, l)| l.len()).max().unwrap_or(0).min(8);
    let mut header = vec!["楼层".to_owned()];
    header.extend((1..=columns).map(|i| format!("{i:02}")));
    let rows: Vec<Vec<String>> = floors
        .iter()
        .map(|(floor, list)| {
            let mut row = vec![format!("{floor} 层")];
            row.extend(list.iter().take(columns).map(|u| {
                format!(
                    "{} {}\n{}\n{} ㎡\n¥{}",
                    u.number,
                    status_zh(u.status),
                    u.layout,
                    u.gross_area,
                    u.list_price.grouped()
                )
            }));
            while row.len() < columns + 1 {
                row.push(String::new());
            }
            row
        })
        .collect();
    let totals = chart_totals(&units);
    let mut summary: Vec<(String, String)> = totals
        .by_status
        .iter()
        .map(|(s, n, amount)| (status_zh(*s).to_owned(), format!("{n} 套，标价合计 ¥{}", amount.grouped())))
        .collect();
    let layouts: Vec<String> = totals.available_by_layout.iter().map(|(l, n)| format!("{l} {n} 套")).collect();
    summary.push(("各户型剩余可售".into(), if layouts.is_empty() { "—".into() } else { layouts.join("，") }));
    let today = services.clock.local(services.clock.now()).format("%Y-%m-%d %H:%M");
    let blocks = vec![
        Block::Title(format!("{} {} 销控图", project.name, building.name)),
        Block::Paragraph(format!("打印时间：{today}　　共 {} 套", units.len())),
        Block::Table { header, rows, size: 7.5 },
        Block::Heading("汇总".into()),
        Block::Fields(summary),
    ];
    Ok(loupan_documents::pdf::render(&blocks)?)
}
