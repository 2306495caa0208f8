//! Surveyed areas (实测面积): entered per unit, or a building's from the
//! surveyor's spreadsheet by unit number, checked like the unit import (every
//! row first, row and column named, nothing written unless all is valid). A
//! unit whose compensation is at approval or applied keeps its areas: the
//! money was computed from them.

use std::collections::{HashMap, HashSet};

use loupan_documents::xlsx;
use loupan_domain::aftersales::CompensationBatchStatus;
use loupan_domain::ids::{BuildingId, UnitId};
use loupan_domain::inventory::UnitEventKind;
use loupan_domain::{Area, Invalid, Permission};
use loupan_store::Connection;
use loupan_store::aftersales as store;
use loupan_store::inventory::UnitRow;
use serde::Serialize;

use crate::inventory::{self, Unit};
use crate::platform::audit::{self, Change};
use crate::platform::import::{ColumnSpec, RowError, TableRows};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Surveyed areas as typed (m2, decimal strings).
#[derive(Debug, Clone, Default)]
pub struct MeasuredAreas {
    pub measured_gross_area: Option<String>,
    pub measured_inner_area: Option<String>,
    /// The unit's version as read (optional: stale edits are refused when given).
    pub version: Option<i64>,
}

/// Checks a pair of surveyed areas; each problem by field and code.
fn check(gross: Option<&str>, inner: Option<&str>) -> Result<(Area, Area), Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let mut read = |field, text: Option<&str>| match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push((field, "required"));
            None
        }
        Some(t) => match Area::parse(t) {
            Ok(a) if a.is_positive() => Some(a),
            Ok(_) => {
                errors.push((field, "must_be_positive"));
                None
            }
            Err(e) => {
                errors.push((field, e.code()));
                None
            }
        },
    };
    let gross = read("measured_gross_area", gross);
    let inner = read("measured_inner_area", inner);
    match (gross, inner) {
        (Some(g), Some(i)) if i > g => Err(vec![("measured_inner_area", "inner_above_gross")]),
        (Some(g), Some(i)) => Ok((g, i)),
        _ => Err(errors),
    }
}

/// Units whose compensation is at approval or applied: their areas are settled.
async fn settled_units<C: Connection>(conn: &C, units: &[UnitRow]) -> ServiceResult<HashSet<UnitId>> {
    let ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    let mut out = HashSet::new();
    let mut batches: HashMap<String, CompensationBatchStatus> = HashMap::new();
    for line in store::lines_of_units(conn, &ids).await? {
        let status = match batches.get(&line.batch_id) {
            Some(s) => *s,
            None => {
                let s =
                    store::find_batch(conn, &line.batch_id).await?.map_or(CompensationBatchStatus::Draft, |b| b.status);
                batches.insert(line.batch_id.clone(), s);
                s
            }
        };
        if status != CompensationBatchStatus::Draft {
            out.insert(line.unit_id);
        }
    }
    Ok(out)
}

async fn write<C: Connection>(
    conn: &C,
    actor: &Actor,
    unit: &UnitRow,
    areas: (Area, Area),
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    if !store::set_measured_areas(conn, &unit.id, unit.version, (Some(areas.0), Some(areas.1)), now).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    crate::sales::unit_event(
        conn,
        (actor, now),
        &unit.id,
        UnitEventKind::Surveyed,
        (unit.status, unit.status),
        Some(&format!("{} / {}", areas.0, areas.1)),
    )
    .await?;
    audit::record(
        conn,
        actor,
        Change {
            action: "unit.measured_areas",
            record_type: "unit",
            record_id: unit.id.as_str(),
            before: Some(serde_json::json!({
                "measured_gross_area": unit.measured_gross_area, "measured_inner_area": unit.measured_inner_area,
            })),
            after: Some(serde_json::json!({"measured_gross_area": areas.0, "measured_inner_area": areas.1})),
        },
    )
    .await
}

/// Enters or corrects one unit's surveyed areas.
pub async fn set_measured_areas(
    services: &Services,
    actor: &Actor,
    unit_id: &UnitId,
    form: MeasuredAreas,
) -> ServiceResult<Unit> {
    actor.require(Permission::ManageAftersales)?;
    inventory::get_unit(services, actor, unit_id).await?;
    let areas = check(form.measured_gross_area.as_deref(), form.measured_inner_area.as_deref()).map_err(|e| {
        let mut invalid = Invalid::default();
        for (field, code) in e {
            invalid.push(field, code);
        }
        invalid
    })?;
    let tx = services.store.begin_write().await?;
    let unit = loupan_store::inventory::find_unit(&tx, unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    if form.version.is_some_and(|v| v != unit.version) {
        return Err(ServiceError::Conflict("stale_version"));
    }
    if !settled_units(&tx, std::slice::from_ref(&unit)).await?.is_empty() {
        return Err(ServiceError::Conflict("unit_compensated"));
    }
    write(&tx, actor, &unit, areas, services.clock.now()).await?;
    let unit = loupan_store::inventory::find_unit(&tx, unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(unit.into())
}

const COLUMNS: [ColumnSpec; 3] = [
    ("number", "房号", &["房号", "number", "unit"]),
    ("measured_gross_area", "实测建筑面积", &["实测建筑面积", "measured_gross_area", "measured gross area"]),
    ("measured_inner_area", "实测套内面积", &["实测套内面积", "measured_inner_area", "measured inner area"]),
];

#[derive(Debug, Clone, Serialize, Default)]
pub struct MeasuredImport {
    pub rows: usize,
    pub errors: Vec<RowError>,
    pub updated: usize,
    /// Rows that repeat the areas already stored.
    pub unchanged: usize,
    /// False when nothing was written (a check, or errors).
    pub written: bool,
}

/// A building's surveyed areas from an xlsx (房号, 实测建筑面积, 实测套内面积).
/// All rows are checked first; nothing is written unless every one is valid,
/// and `check_only` writes nothing at all.
pub async fn import_measured_areas(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    bytes: &[u8],
    check_only: bool,
) -> ServiceResult<MeasuredImport> {
    actor.require(Permission::ManageAftersales)?;
    inventory::get_building(services, actor, building_id).await?;
    let table =
        xlsx::read_first_sheet(bytes).map_err(|_| ServiceError::from(Invalid::one("file", "not_an_xlsx_file")))?;
    let mut errors = Vec::new();
    let rows = TableRows::new(&table, &COLUMNS, &["number", "measured_gross_area", "measured_inner_area"], &mut errors);
    if check_only {
        // A check writes nothing: it does not wait for, or hold, the writer.
        let (report, _) = check_sheet(services.store.conn(), building_id, &rows, errors).await?;
        return Ok(report);
    }
    // An import checks inside its write, so that what it writes is what it checked.
    let tx = services.store.begin_write().await?;
    let (mut report, plan) = check_sheet(&tx, building_id, &rows, errors).await?;
    if !report.errors.is_empty() || plan.is_empty() {
        return Ok(report);
    }
    let now = services.clock.now();
    for (unit, areas) in plan {
        write(&tx, actor, &unit, areas, now).await?;
        report.updated += 1;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    report.written = true;
    Ok(report)
}

/// The report of a surveyor's sheet and the units it would change.
async fn check_sheet<C: Connection>(
    conn: &C,
    building_id: &BuildingId,
    rows: &TableRows<'_>,
    mut errors: Vec<RowError>,
) -> ServiceResult<(MeasuredImport, Vec<(UnitRow, (Area, Area))>)> {
    let units: HashMap<String, UnitRow> = loupan_store::inventory::units_of_building(conn, building_id)
        .await?
        .into_iter()
        .map(|u| (u.number.clone(), u))
        .collect();
    let settled = settled_units(conn, &units.values().cloned().collect::<Vec<_>>()).await?;
    let mut report = MeasuredImport { rows: rows.len(), ..MeasuredImport::default() };
    let mut seen = HashSet::new();
    let mut plan = Vec::new();
    for row in rows.iter() {
        let error = |column: &str, code| RowError { row: row.line, column: rows.header_of(column), code };
        let number = row.text("number").unwrap_or_default();
        let Some(unit) = units.get(&number) else {
            errors.push(error("number", if number.is_empty() { "required" } else { "unknown_unit" }));
            continue;
        };
        if !seen.insert(number.clone()) {
            errors.push(error("number", "duplicate"));
            continue;
        }
        match check(row.text("measured_gross_area").as_deref(), row.text("measured_inner_area").as_deref()) {
            Err(problems) => errors.extend(problems.into_iter().map(|(field, code)| error(field, code))),
            Ok(areas) if unit.measured_gross_area == Some(areas.0) && unit.measured_inner_area == Some(areas.1) => {
                report.unchanged += 1;
            }
            Ok(_) if settled.contains(&unit.id) => errors.push(error("number", "unit_compensated")),
            Ok(areas) => plan.push((unit.clone(), areas)),
        }
    }
    errors.sort_by_key(|e| e.row);
    report.errors = errors;
    Ok((report, plan))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn surveyed_areas_are_positive_and_the_inner_within_the_gross() {
        assert!(check(Some("102.00"), Some("81.5")).is_ok());
        assert_eq!(check(Some("80"), Some("81")), Err(vec![("measured_inner_area", "inner_above_gross")]));
        assert_eq!(
            check(Some("0"), None),
            Err(vec![("measured_gross_area", "must_be_positive"), ("measured_inner_area", "required")])
        );
    }
}
