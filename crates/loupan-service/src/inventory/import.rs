//! Units in and out of Excel. An import checks every row first and reports
//! row, column and reason; nothing is written unless the whole file is valid,
//! or the user asks to import only the valid rows. Re-importing a file updates
//! units by building and number instead of duplicating them.

use loupan_documents::xlsx::{self, Cell};
use loupan_domain::ids::ProjectId;
use loupan_domain::inventory::UnitStatus;
use loupan_domain::{Area, Invalid, Money, Permission};
use loupan_store::inventory::{self as store, BuildingRow, UnitRow};
use serde::Serialize;

use crate::inventory::{self, Unit, UnitQuery};
use crate::platform::audit::{self, Change};
use crate::platform::import::RowError;
use crate::{Actor, ServiceError, ServiceResult, Services};

/// The columns, by field: the Chinese header Loupan writes, and the headers it accepts.
const COLUMNS: [(&str, &str, &[&str]); 13] = [
    ("building", "楼栋", &["楼栋", "building"]),
    ("floor", "楼层", &["楼层", "floor"]),
    ("number", "房号", &["房号", "number", "unit"]),
    ("layout", "户型", &["户型", "layout"]),
    ("gross_area", "建筑面积", &["建筑面积", "gross_area", "gross area"]),
    ("inner_area", "套内面积", &["套内面积", "inner_area", "inner area"]),
    ("list_price", "标价", &["标价", "list_price", "list price", "总价"]),
    ("status", "状态", &["状态", "status"]),
    ("property_type", "业态", &["业态", "property_type", "property type"]),
    ("orientation", "朝向", &["朝向", "orientation"]),
    ("decoration", "装修", &["装修", "decoration"]),
    ("floor_price", "底价", &["底价", "floor_price", "floor price"]),
    ("entrance", "单元", &["单元", "entrance"]),
];

/// Optional columns: a file without them still imports.
const OPTIONAL: [&str; 6] = ["status", "property_type", "orientation", "decoration", "floor_price", "entrance"];

/// How much of an import to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Check only.
    Validate,
    /// Write everything, only if every row is valid.
    All,
    /// Write the valid rows, skip the others.
    ValidOnly,
}

impl ImportMode {
    pub fn parse(text: &str) -> Option<ImportMode> {
        match text {
            "validate" => Some(ImportMode::Validate),
            "all" | "" => Some(ImportMode::All),
            "valid_only" => Some(ImportMode::ValidOnly),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<RowError>,
    pub created: usize,
    pub updated: usize,
    /// Rows identical to the unit already stored (nothing to do).
    pub unchanged: usize,
    pub buildings_created: usize,
    /// False when nothing was written (a check, or errors in "all" mode).
    pub written: bool,
}

struct Row {
    line: usize,
    building: String,
    floor: i32,
    number: String,
    layout: String,
    gross: Area,
    inner: Area,
    price: Money,
    status: Option<UnitStatus>,
    details: crate::inventory::UnitDetails,
    /// 单元; empty: none.
    entrance: Option<String>,
    /// The file has a 单元 column (without one, units keep theirs).
    entrance_given: bool,
}

fn header_index(headers: &[Cell]) -> Vec<Option<usize>> {
    COLUMNS
        .iter()
        .map(|(_, _, names)| {
            headers
                .iter()
                .position(|h| h.as_text().is_some_and(|t| names.iter().any(|n| n.eq_ignore_ascii_case(t.trim()))))
        })
        .collect()
}

fn parse_rows(table: &[Vec<Cell>], errors: &mut Vec<RowError>) -> Vec<Row> {
    let Some(headers) = table.first() else {
        errors.push(RowError { row: 1, column: String::new(), code: "empty_file" });
        return Vec::new();
    };
    let index = header_index(headers);
    for (i, (field, header, _)) in COLUMNS.iter().enumerate() {
        if index[i].is_none() && !OPTIONAL.contains(field) {
            errors.push(RowError { row: 1, column: (*header).to_owned(), code: "missing_column" });
        }
    }
    if !errors.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, cells) in table.iter().enumerate().skip(1) {
        let line = n + 1;
        let text = |i: usize| index[i].and_then(|c| cells.get(c)).and_then(Cell::as_text);
        if (0..COLUMNS.len()).all(|i| text(i).is_none()) {
            continue; // blank line
        }
        let before = errors.len();
        let mut fail =
            |i: usize, code: &'static str| errors.push(RowError { row: line, column: COLUMNS[i].1.to_owned(), code });
        let mut required = |i: usize| match text(i) {
            Some(t) if t.chars().count() <= 50 => t,
            Some(_) => {
                fail(i, "too_long");
                String::new()
            }
            None => {
                fail(i, "required");
                String::new()
            }
        };
        let building = required(0);
        let number = required(2);
        let layout = required(3);
        let floor = match text(1).map(|t| t.parse::<i32>()) {
            Some(Ok(f)) if (-10..=200).contains(&f) && f != 0 => f,
            Some(Ok(_)) => {
                fail(1, "out_of_range");
                0
            }
            Some(Err(_)) => {
                fail(1, "not_a_number");
                0
            }
            None => {
                fail(1, "required");
                0
            }
        };
        let gross: Option<Area> = positive_quantity(text(4)).map_err(|code| fail(4, code)).ok();
        let inner: Option<Area> = positive_quantity(text(5)).map_err(|code| fail(5, code)).ok();
        let price: Option<Money> = positive_quantity(text(6)).map_err(|code| fail(6, code)).ok();
        if let (Some(gross), Some(inner)) = (gross, inner)
            && inner > gross
        {
            fail(5, "inner_exceeds_gross");
        }
        let status = match text(7) {
            None => None,
            Some(t) => match UnitStatus::parse(&t).or_else(|| status_from_chinese(&t)) {
                Some(s) => Some(s),
                None => {
                    fail(7, "unknown_status");
                    None
                }
            },
        };
        let mut invalid = Invalid::default();
        let details = crate::inventory::parse_details(
            &mut invalid,
            text(8).map(|t| property_type_from_chinese(&t)).as_deref(),
            text(9).as_deref(),
            text(10).map(|t| decoration_from_chinese(&t)).as_deref(),
            text(11).as_deref(),
            price,
        );
        for f in invalid.0 {
            let i = COLUMNS.iter().position(|(field, _, _)| *field == f.field).unwrap_or(0);
            fail(i, f.code);
        }
        let entrance = text(12);
        if entrance.as_ref().is_some_and(|e| e.chars().count() > 20) {
            fail(12, "too_long");
        }
        if !building.is_empty() && !number.is_empty() && !seen.insert((building.clone(), number.clone())) {
            fail(2, "duplicate_in_file");
        }
        if errors.len() == before {
            rows.push(Row {
                line,
                building,
                floor,
                number,
                layout,
                gross: gross.unwrap_or_default(),
                inner: inner.unwrap_or_default(),
                price: price.unwrap_or_default(),
                status,
                details,
                entrance,
                entrance_given: index[12].is_some(),
            });
        }
    }
    rows
}

/// True when an import row says what the unit already is.
fn same_details(unit: &UnitRow, row: &Row) -> bool {
    unit.floor == row.floor
        && unit.layout == row.layout
        && unit.gross_area == row.gross
        && unit.inner_area == row.inner
        && unit.list_price == row.price
        && unit.property_type == row.details.property_type
        && unit.orientation == row.details.orientation
        && unit.decoration == row.details.decoration
        && unit.floor_price == row.details.floor_price
        && (!row.entrance_given || unit.entrance == row.entrance)
}

fn property_type_from_chinese(text: &str) -> String {
    match text {
        "住宅" => "residential",
        "商业" | "商铺" => "commercial",
        "车位" => "parking",
        "储藏室" | "储藏间" => "storage",
        other => other,
    }
    .to_owned()
}

fn decoration_from_chinese(text: &str) -> String {
    match text {
        "毛坯" => "shell",
        "精装" | "精装修" => "furnished",
        other => other,
    }
    .to_owned()
}

fn status_from_chinese(text: &str) -> Option<UnitStatus> {
    match text {
        "可售" => Some(UnitStatus::Available),
        "销控" => Some(UnitStatus::Held),
        "未推售" => Some(UnitStatus::NotForSale),
        "已认购" => Some(UnitStatus::Subscribed),
        "已签约" => Some(UnitStatus::Contracted),
        "预留" => Some(UnitStatus::Reserved),
        "已交房" => Some(UnitStatus::HandedOver),
        _ => None,
    }
}

/// Imports an xlsx of units into a project (see the module doc).
pub async fn import_units(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    bytes: &[u8],
    mode: ImportMode,
) -> ServiceResult<ImportReport> {
    actor.require(Permission::ManageInventory)?;
    inventory::get_project(services, actor, project_id).await?;
    let table =
        xlsx::read_first_sheet(bytes).map_err(|_| ServiceError::from(Invalid::one("file", "not_an_xlsx_file")))?;
    let mut errors = Vec::new();
    let rows = parse_rows(&table, &mut errors);
    let mut report = ImportReport { rows: table.len().saturating_sub(1), valid_rows: rows.len(), ..Default::default() };
    // Rows that would change a sold unit are errors too; they need the database.
    let tx = services.store.begin_write().await?;
    let mut plan = Vec::new();
    for row in rows {
        let building = store::find_building_by_name(&tx, project_id, &row.building).await?;
        let existing = match &building {
            Some(b) => store::find_unit_by_number(&tx, &b.id, &row.number).await?,
            None => None,
        };
        let settable = |s: UnitStatus| matches!(s, UnitStatus::Available | UnitStatus::Held | UnitStatus::NotForSale);
        match &existing {
            // The status column only sets the status of new units; after that,
            // status changes go through sales control and sales, with history.
            None if row.status.is_some_and(|s| !settable(s)) => {
                errors.push(RowError { row: row.line, column: "状态".into(), code: "status_not_settable" });
                report.valid_rows -= 1;
                continue;
            }
            Some(u) if same_details(u, &row) => {
                report.unchanged += 1;
                continue;
            }
            Some(u) if !settable(u.status) => {
                errors.push(RowError { row: row.line, column: "房号".into(), code: "unit_sold" });
                report.valid_rows -= 1;
                continue;
            }
            _ => plan.push((row, existing)),
        }
    }
    errors.sort_by_key(|e| e.row);
    report.errors = errors;
    let write = match mode {
        ImportMode::Validate => false,
        ImportMode::All => report.errors.is_empty(),
        ImportMode::ValidOnly => true,
    };
    if !write || plan.is_empty() {
        return Ok(report);
    }
    let now = services.clock.now();
    let mut buildings: std::collections::HashMap<String, BuildingRow> = std::collections::HashMap::new();
    for (row, existing) in plan {
        let building = match buildings.get(&row.building) {
            Some(b) => b.clone(),
            None => {
                let b = match store::find_building_by_name(&tx, project_id, &row.building).await? {
                    Some(b) => b,
                    None => {
                        let b = BuildingRow {
                            id: loupan_store::new_id().into(),
                            project_id: project_id.to_owned(),
                            name: row.building.clone(),
                            phase: None,
                            gross_floor_area: None,
                            version: 1,
                            created_at: now,
                            updated_at: now,
                        };
                        store::insert_building(&tx, &b).await?;
                        report.buildings_created += 1;
                        b
                    }
                };
                buildings.insert(row.building.clone(), b.clone());
                b
            }
        };
        match existing {
            Some(old) => {
                let mut new = old.clone();
                new.floor = row.floor;
                new.layout = row.layout;
                new.gross_area = row.gross;
                new.inner_area = row.inner;
                new.list_price = row.price;
                new.property_type = row.details.property_type;
                new.orientation = row.details.orientation.clone();
                new.decoration = row.details.decoration;
                new.floor_price = row.details.floor_price;
                if row.entrance_given {
                    new.entrance = row.entrance.clone();
                }
                new.updated_at = now;
                store::update_unit_details(&tx, &new).await?;
                let (before, after) = (Unit::from(old), Unit::from(new));
                audit::record(
                    &tx,
                    actor,
                    Change {
                        action: "unit.import_update",
                        record_type: "unit",
                        record_id: after.id.as_str(),
                        before: crate::platform::audit::snapshot(&before)?,
                        after: crate::platform::audit::snapshot(&after)?,
                    },
                )
                .await?;
                report.updated += 1;
            }
            None => {
                let unit = UnitRow {
                    id: loupan_store::new_id().into(),
                    building_id: building.id.clone(),
                    project_id: project_id.to_owned(),
                    floor: row.floor,
                    number: row.number,
                    layout: row.layout,
                    gross_area: row.gross,
                    inner_area: row.inner,
                    list_price: row.price,
                    status: row.status.unwrap_or(UnitStatus::Available),
                    property_type: row.details.property_type,
                    orientation: row.details.orientation,
                    decoration: row.details.decoration,
                    floor_price: row.details.floor_price,
                    measured_gross_area: None,
                    measured_inner_area: None,
                    entrance: row.entrance,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_unit(&tx, &unit).await?;
                let unit = Unit::from(unit);
                audit::record(
                    &tx,
                    actor,
                    Change {
                        action: "unit.import_create",
                        record_type: "unit",
                        record_id: unit.id.as_str(),
                        before: None,
                        after: crate::platform::audit::snapshot(&unit)?,
                    },
                )
                .await?;
                report.created += 1;
            }
        }
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    report.written = true;
    Ok(report)
}

/// The units of a search as an xlsx that imports back unchanged.
pub async fn export_units(services: &Services, actor: &Actor, query: UnitQuery) -> ServiceResult<Vec<u8>> {
    let units = inventory::search_units(services, actor, query, None, 100_000).await?;
    let conn = services.store.conn();
    let mut names = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(units.len());
    for u in units {
        if !names.contains_key(&u.building_id) {
            let name = store::find_building(conn, &u.building_id).await?.map(|b| b.name).unwrap_or_default();
            names.insert(u.building_id.clone(), name);
        }
        rows.push(vec![
            Cell::Text(names.get(&u.building_id).cloned().unwrap_or_default()),
            Cell::Number(f64::from(u.floor)),
            Cell::Text(u.number),
            Cell::Text(u.layout),
            Cell::Number(u.gross_area.to_spreadsheet_number()),
            Cell::Number(u.inner_area.to_spreadsheet_number()),
            Cell::Number(u.list_price.to_spreadsheet_number()),
            Cell::Text(u.status.name().to_owned()),
            Cell::Text(u.property_type.name().to_owned()),
            u.orientation.clone().map_or(Cell::Empty, Cell::Text),
            u.decoration.map_or(Cell::Empty, |d| Cell::Text(d.name().to_owned())),
            u.floor_price.map_or(Cell::Empty, |m| Cell::Number(m.to_spreadsheet_number())),
            u.entrance.clone().map_or(Cell::Empty, Cell::Text),
        ]);
    }
    let headers: Vec<String> = COLUMNS.iter().map(|(_, h, _)| (*h).to_owned()).collect();
    xlsx::write_table("房源", &headers, &rows).map_err(ServiceError::internal)
}

/// An area or a price in a cell: required, a decimal with at most two places, above zero.
fn positive_quantity<T>(text: Option<String>) -> Result<T, &'static str>
where
    T: std::str::FromStr<Err = loupan_domain::quantity::DecimalError> + Default + PartialOrd,
{
    match text.map(|t| t.parse::<T>()) {
        Some(Ok(v)) if v > T::default() => Ok(v),
        Some(Ok(_)) => Err("must_be_positive"),
        Some(Err(e)) => Err(e.code()),
        None => Err("required"),
    }
}
