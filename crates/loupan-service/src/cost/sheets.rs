//! The cost item tree in and out of Excel: a project's tree (or the group
//! template) as a sheet with the headers Loupan's importer reads, and an
//! import that adds the codes it does not know under their parents and
//! updates the names, units, departments and control modes of those it does.
//! A check run reports every problem by row and column and writes nothing;
//! the import writes nothing unless every row is valid.

use std::collections::{BTreeMap, BTreeSet};

use loupan_documents::xlsx::{self, Cell};
use loupan_domain::cost::ControlMode;
use loupan_domain::ids::{CostItemId, ProjectId};
use loupan_domain::{Invalid, Permission};
use loupan_store::cost::{self as store, CostItemRow};
use serde::Serialize;

use super::tree::tree_of;
use super::visible_project;
use crate::platform::audit::{self, Change};
use crate::platform::import::{ColumnSpec, RowError, TableRows};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Field, the header Loupan writes, the headers it accepts.
const COLUMNS: [ColumnSpec; 5] = [
    ("code", "科目编码", &["科目编码", "编码", "code"]),
    ("name", "科目名称", &["科目名称", "名称", "name"]),
    ("unit_of_measure", "计量单位", &["计量单位", "单位", "unit_of_measure"]),
    ("department", "责任部门", &["责任部门", "部门", "department"]),
    ("control_mode", "控制方式", &["控制方式", "control_mode"]),
];

/// The words a sheet uses for a control mode.
fn mode_of(text: &str) -> Option<ControlMode> {
    match text {
        "强控" | "强控制" | "刚性" => Some(ControlMode::Strong),
        "弱控" | "弱控制" | "柔性" => Some(ControlMode::Weak),
        other => ControlMode::parse(other),
    }
}

fn mode_word(mode: ControlMode) -> &'static str {
    match mode {
        ControlMode::Strong => "强控",
        ControlMode::Weak => "弱控",
    }
}

/// A tree as xlsx (the project's, or the group template's when `project` is None).
pub async fn items_xlsx(services: &Services, actor: &Actor, project: Option<&ProjectId>) -> ServiceResult<Vec<u8>> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = match project {
        Some(p) => Some(visible_project(conn, actor, p).await?),
        None => None,
    };
    let headers: Vec<String> = COLUMNS.iter().map(|(_, header, _)| (*header).to_owned()).collect();
    let rows: Vec<Vec<Cell>> = tree_of(store::items(conn, project.as_ref()).await?)
        .into_iter()
        .map(|i| {
            vec![
                Cell::Text(i.code),
                Cell::Text(i.name),
                i.unit_of_measure.map_or(Cell::Empty, Cell::Text),
                i.department.map_or(Cell::Empty, Cell::Text),
                Cell::Text(mode_word(i.control_mode).to_owned()),
            ]
        })
        .collect();
    xlsx::write_table("成本科目", &headers, &rows).map_err(ServiceError::internal)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ItemImportReport {
    pub rows: usize,
    /// Every problem, by Excel row (the header is row 1) and column.
    pub errors: Vec<RowError>,
    /// Codes the tree did not have (added) and codes it had (updated).
    pub created: usize,
    pub updated: usize,
    /// False for a check, or when a row was invalid.
    pub written: bool,
}

/// One valid row.
struct Line {
    code: String,
    name: String,
    unit_of_measure: Option<String>,
    department: Option<String>,
    control_mode: Option<ControlMode>,
}

/// Imports a tree from xlsx into a project (or the group template when
/// `project` is None); `write` false: a check.
pub async fn import_items(
    services: &Services,
    actor: &Actor,
    project: Option<&ProjectId>,
    bytes: &[u8],
    write: bool,
) -> ServiceResult<ItemImportReport> {
    actor.require(Permission::ManageCost)?;
    // Whose tree it is comes before what the file says.
    let project = match project {
        Some(p) => Some(visible_project(services.store.conn(), actor, p).await?),
        None => None,
    };
    let table =
        xlsx::read_first_sheet(bytes).map_err(|_| ServiceError::from(Invalid::one("file", "not_an_xlsx_file")))?;
    let mut errors = Vec::new();
    let rows = TableRows::new(&table, &COLUMNS, &["code", "name"], &mut errors);
    let mut lines: Vec<(usize, Line)> = Vec::new();
    for row in rows.iter() {
        let mut invalid = Invalid::default();
        let code = loupan_domain::validation::required_text(&mut invalid, "code", row.text("code").as_deref(), 40);
        if !code.is_empty()
            && !code.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            invalid.push("code", "invalid_code");
        }
        let name = loupan_domain::validation::required_text(&mut invalid, "name", row.text("name").as_deref(), 100);
        let unit_of_measure = loupan_domain::validation::optional_text(
            &mut invalid,
            "unit_of_measure",
            row.text("unit_of_measure").as_deref(),
            20,
        );
        let department =
            loupan_domain::validation::optional_text(&mut invalid, "department", row.text("department").as_deref(), 60);
        let control_mode = match row.text("control_mode") {
            None => None,
            Some(t) => mode_of(&t).or_else(|| {
                invalid.push("control_mode", "unknown_control_mode");
                None
            }),
        };
        if lines.iter().any(|(_, l)| l.code == code) {
            invalid.push("code", "listed_twice");
        }
        if invalid.is_empty() {
            lines.push((row.line, Line { code, name, unit_of_measure, department, control_mode }));
        } else {
            errors.extend(invalid.0.into_iter().map(|f| RowError {
                row: row.line,
                column: rows.header_of(&f.field),
                code: f.code,
            }));
        }
    }
    let mut report = ItemImportReport { rows: rows.len(), ..Default::default() };
    let tx = services.store.begin_write().await?;
    let existing: BTreeMap<String, CostItemRow> =
        store::items(&tx, project.as_ref()).await?.into_iter().map(|i| (i.code.clone(), i)).collect();
    // Parents come first whatever the sheet's order: shorter codes first.
    lines.sort_by_key(|(_, l)| l.code.matches('.').count());
    let mut ids: BTreeMap<String, CostItemId> = existing.iter().map(|(c, i)| (c.clone(), i.id.clone())).collect();
    let mut modes: BTreeMap<String, ControlMode> = existing.iter().map(|(c, i)| (c.clone(), i.control_mode)).collect();
    let mut with_postings: BTreeSet<String> = BTreeSet::new();
    let mut created = Vec::new();
    let mut updated = Vec::new();
    let now = services.clock.now();
    for (line, l) in lines {
        let parent_code = l.code.rsplit_once('.').map(|(p, _)| p.to_owned());
        if let Some(row) = existing.get(&l.code) {
            let mut row = row.clone();
            row.name = l.name;
            row.unit_of_measure = l.unit_of_measure;
            row.department = l.department;
            if let Some(m) = l.control_mode {
                row.control_mode = m;
            }
            updated.push(row);
            continue;
        }
        let parent = match &parent_code {
            None => None,
            Some(p) => match ids.get(p) {
                Some(id) => Some(id.clone()),
                None => {
                    errors.push(RowError { row: line, column: COLUMNS[0].1.to_owned(), code: "unknown_parent" });
                    continue;
                }
            },
        };
        // What was posted to a leaf would silently move under a new child.
        if let (Some(p), Some(parent_id)) = (&parent_code, &parent)
            && project.is_some()
            && existing.contains_key(p)
            && (with_postings.contains(p) || store::has_postings(&tx, parent_id).await?)
        {
            with_postings.insert(p.clone());
            errors.push(RowError { row: line, column: COLUMNS[0].1.to_owned(), code: "item_has_postings" });
            continue;
        }
        let mode = l
            .control_mode
            .or_else(|| parent_code.as_ref().and_then(|p| modes.get(p).copied()))
            .unwrap_or(ControlMode::Weak);
        let row = CostItemRow {
            id: loupan_store::new_id().into(),
            project_id: project.clone(),
            parent_id: parent,
            code: l.code.clone(),
            name: l.name,
            unit_of_measure: l.unit_of_measure,
            department: l.department,
            control_mode: mode,
            created_at: now,
        };
        ids.insert(l.code.clone(), row.id.clone());
        modes.insert(l.code, mode);
        created.push(row);
    }
    errors.sort_by_key(|e| e.row);
    report.errors = errors;
    report.created = created.len();
    report.updated = updated.len();
    if !write || !report.errors.is_empty() {
        return Ok(report);
    }
    store::insert_items(&tx, &created).await?;
    for row in &updated {
        store::update_item(&tx, row).await?;
    }
    let scope = project.as_ref().map_or_else(|| "template".to_owned(), ToString::to_string);
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_items.import",
            record_type: if project.is_some() { "project" } else { "cost_template" },
            record_id: &scope,
            before: None,
            after: audit::snapshot(&serde_json::json!({
                "created": created.iter().map(|i| &i.code).collect::<Vec<_>>(),
                "updated": updated.iter().map(|i| &i.code).collect::<Vec<_>>(),
            }))?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    report.written = true;
    Ok(report)
}

/// The cost documents a project's page lists, as spreadsheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentTable {
    PlanLines,
    Contracts,
    Variations,
}

impl DocumentTable {
    /// Each column's key; the caller names them in the reader's language.
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            DocumentTable::PlanLines => {
                &["plan_line", "item", "tender_mode", "planned_month", "planned_amount", "contracted", "balance"]
            }
            DocumentTable::Contracts => {
                &["contract_code", "contract_name", "supplier", "kind", "signed_on", "status", "amount"]
            }
            DocumentTable::Variations => {
                &["code", "kind", "item", "reason", "submitted_on", "estimated_amount", "confirmed_amount", "status"]
            }
        }
    }
}

/// A project's plan lines, contracts or changes and visas as xlsx, amounts as
/// numbers; `word` names a kind or status (`cost.kind.total_price`, …) in the
/// reader's language.
pub async fn documents_xlsx(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    table: DocumentTable,
    headers: &[String],
    word: &(dyn Fn(&str) -> String + Sync),
) -> ServiceResult<Vec<u8>> {
    let money = |m: loupan_domain::Money| Cell::Number(m.to_spreadsheet_number());
    let text = |t: String| Cell::Text(t);
    let items: BTreeMap<CostItemId, String> = super::items(services, actor, project)
        .await?
        .into_iter()
        .map(|i| (i.id, format!("{} {}", i.code, i.name)))
        .collect();
    let item = |id: &CostItemId| text(items.get(id).cloned().unwrap_or_default());
    let (sheet, rows): (&str, Vec<Vec<Cell>>) = match table {
        DocumentTable::PlanLines => (
            "合约规划",
            super::plan_lines(services, actor, project)
                .await?
                .into_iter()
                .map(|l| {
                    vec![
                        text(l.name),
                        item(&l.cost_item_id),
                        l.tender_mode.map_or(Cell::Empty, text),
                        l.planned_month.map_or(Cell::Empty, text),
                        money(l.planned_amount),
                        money(l.contracted),
                        money(l.balance),
                    ]
                })
                .collect(),
        ),
        DocumentTable::Contracts => {
            let suppliers: BTreeMap<_, _> =
                super::suppliers(services, actor).await?.into_iter().map(|s| (s.id, s.name)).collect();
            (
                "成本合同",
                super::contracts(services, actor, project)
                    .await?
                    .into_iter()
                    .map(|c| {
                        vec![
                            text(c.code),
                            text(c.name),
                            text(suppliers.get(&c.supplier_id).cloned().unwrap_or_default()),
                            text(word(&format!("cost.kind.{}", c.kind.name()))),
                            text(c.signed_on.to_string()),
                            text(word(&format!("cost.contract_status.{}", c.status.name()))),
                            money(c.amount),
                        ]
                    })
                    .collect(),
            )
        }
        DocumentTable::Variations => (
            "变更签证",
            super::variations(services, actor, project)
                .await?
                .into_iter()
                .map(|v| {
                    vec![
                        text(v.code),
                        text(word(&format!("cost.variation.{}", v.kind.name()))),
                        item(&v.cost_item_id),
                        text(v.reason),
                        text(v.submitted_on.to_string()),
                        money(v.estimated_amount),
                        v.confirmed_amount.map_or(Cell::Empty, money),
                        text(word(&format!("cost.variation_status.{}", v.status.name()))),
                    ]
                })
                .collect(),
        ),
    };
    xlsx::write_table(sheet, headers, &rows).map_err(ServiceError::internal)
}

/// The eight figures of the dynamic cost, as translation keys and cells.
const FIGURE_HEADERS: [&str; 8] = [
    "cost.column.target",
    "cost.column.contracted",
    "cost.column.changes",
    "cost.column.visas",
    "cost.column.pending",
    "cost.column.expected",
    "cost.column.dynamic",
    "cost.column.balance",
];

fn money(m: loupan_domain::Money) -> Cell {
    Cell::Number(m.to_spreadsheet_number())
}

fn area(a: loupan_domain::Area) -> Cell {
    Cell::Number(a.to_spreadsheet_number())
}

fn figure_cells(c: &super::CostColumns) -> [Cell; 8] {
    [c.target, c.contracted, c.changes, c.visas, c.pending, c.expected, c.dynamic, c.balance].map(money)
}

fn headers(word: &(dyn Fn(&str) -> String + Sync), before: &[&str], after: &[&str]) -> Vec<String> {
    before.iter().chain(FIGURE_HEADERS.iter()).chain(after).map(|k| word(k)).collect()
}

/// Every header key the report spreadsheets below use (for the translation test).
pub fn report_sheet_headers() -> Vec<&'static str> {
    let mut keys = vec!["cost.code", "cost.name", "cost.dynamic_month_before", "cost.movement", "cost.explanation"];
    keys.extend(["projects.name", "projects.city", "cost.basis.saleable_area", "cost.basis.gross_floor_area"]);
    keys.extend(["cost.dynamic_per_m2", "cost.dynamic_per_m2_gfa", "cost.items_over_target", "cost.total"]);
    keys.extend(["cost.department", "cost.items_count", "cost.group_total"]);
    keys.extend(FIGURE_HEADERS);
    keys
}

/// An issued monthly report (成本月报) as xlsx, as it was issued: each item's
/// figures at the month's end, the dynamic cost a month before, the movement
/// and its explanation, and the total.
pub async fn report_xlsx(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    month: &str,
    word: &(dyn Fn(&str) -> String + Sync),
) -> ServiceResult<Vec<u8>> {
    let report = super::report(services, actor, project, month).await?;
    let mut rows: Vec<Vec<Cell>> = report
        .lines
        .iter()
        .map(|l| {
            let mut row = vec![Cell::Text(l.code.clone()), Cell::Text(l.name.clone())];
            row.extend(figure_cells(&l.columns));
            row.extend([money(l.dynamic_before), money(l.movement)]);
            row.push(l.explanation.clone().map_or(Cell::Empty, Cell::Text));
            row
        })
        .collect();
    let mut total = vec![Cell::Empty, Cell::Text(word("cost.total"))];
    total.extend(figure_cells(&report.total));
    total.extend([money(report.total_before), money(report.total.dynamic - report.total_before)]);
    total.push(report.summary.clone().map_or(Cell::Empty, Cell::Text));
    rows.push(total);
    let headers =
        headers(word, &["cost.code", "cost.name"], &["cost.dynamic_month_before", "cost.movement", "cost.explanation"]);
    xlsx::write_table(&format!("成本月报 {}", report.month), &headers, &rows).map_err(ServiceError::internal)
}

/// The group's dynamic cost at a date as xlsx: a row per project (its areas,
/// figures, per-m² figures and items over target) and the group total.
pub async fn group_xlsx(
    services: &Services,
    actor: &Actor,
    as_of: Option<chrono::NaiveDate>,
    word: &(dyn Fn(&str) -> String + Sync),
) -> ServiceResult<Vec<u8>> {
    let group = super::group_dynamic_cost(services, actor, as_of).await?;
    let mut rows: Vec<Vec<Cell>> = group
        .projects
        .iter()
        .map(|p| {
            let mut row = vec![
                Cell::Text(p.name.clone()),
                Cell::Text(p.city.clone()),
                area(p.saleable_area),
                p.gross_floor_area.map_or(Cell::Empty, area),
            ];
            row.extend(figure_cells(&p.columns));
            row.push(p.dynamic_per_m2.map_or(Cell::Empty, money));
            row.push(p.dynamic_per_m2_gfa.map_or(Cell::Empty, money));
            row.push(Cell::Number(p.items_over_target as f64));
            row
        })
        .collect();
    let mut total = vec![Cell::Text(word("cost.group_total")), Cell::Empty, Cell::Empty, Cell::Empty];
    total.extend(figure_cells(&group.total));
    rows.push(total);
    let headers = headers(
        word,
        &["projects.name", "projects.city", "cost.basis.saleable_area", "cost.basis.gross_floor_area"],
        &["cost.dynamic_per_m2", "cost.dynamic_per_m2_gfa", "cost.items_over_target"],
    );
    xlsx::write_table(&format!("集团动态成本 {}", group.as_of), &headers, &rows).map_err(ServiceError::internal)
}

/// Responsibility cost (责任成本) as xlsx: a row per department and project,
/// the items over target named in the last column.
pub async fn responsibility_xlsx(
    services: &Services,
    actor: &Actor,
    department: Option<&str>,
    as_of: Option<chrono::NaiveDate>,
    word: &(dyn Fn(&str) -> String + Sync),
) -> ServiceResult<Vec<u8>> {
    let cost = super::responsibility_cost(services, actor, department, as_of).await?;
    let rows: Vec<Vec<Cell>> = cost
        .lines
        .iter()
        .map(|l| {
            let mut row = vec![
                Cell::Text(l.department.clone()),
                Cell::Text(l.project_name.clone()),
                Cell::Number(l.items as f64),
            ];
            row.extend(figure_cells(&l.columns));
            let over: Vec<String> =
                l.over_target.iter().map(|i| format!("{} {} {}", i.code, i.name, i.balance)).collect();
            row.push(if over.is_empty() { Cell::Empty } else { Cell::Text(over.join("; ")) });
            row
        })
        .collect();
    let headers = headers(word, &["cost.department", "projects.name", "cost.items_count"], &["cost.items_over_target"]);
    xlsx::write_table(&format!("责任成本 {}", cost.as_of), &headers, &rows).map_err(ServiceError::internal)
}
