//! Cross analysis of customers (交叉分析, S8/M1): any two attributes — grade,
//! source, kind, purpose, layout wanted, age band, budget band, project,
//! agent — crossed into a contingency table with counts, row and column
//! percentages and Pearson's chi-square test of their independence. Over the
//! customers the actor may see (agents: their own). A questionnaire's cross
//! analysis (`crate::questionnaires::analysis`) adds its answers to these.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use loupan_domain::Invalid;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::questionnaires::percent;
use loupan_domain::statistics;
use loupan_store::customers::{self as store, CrossRow};
use serde::Serialize;

use crate::{Actor, ServiceResult, Services};

/// The variables that may be crossed.
pub const VARIABLES: [&str; 9] = ["grade", "source", "kind", "purpose", "layout", "age", "budget", "project", "agent"];

/// Most customers one analysis reads.
const MAX_CUSTOMERS: u64 = 1_000_000;

/// A contingency table with its test.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CrossTable {
    pub rows_by: String,
    pub columns_by: String,
    /// Values of the row variable (`""`: not recorded), in order.
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// Display names where values are ids (projects, agents).
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    /// `counts[i][j]`: customers with row value i and column value j.
    pub counts: Vec<Vec<u64>>,
    /// Percent of the row (one decimal).
    pub row_percent: Vec<Vec<f64>>,
    /// Percent of the column (one decimal).
    pub column_percent: Vec<Vec<f64>>,
    pub row_totals: Vec<u64>,
    pub column_totals: Vec<u64>,
    pub total: u64,
    /// Pearson's chi-square statistic, over rows and columns with customers.
    pub chi_square: f64,
    pub degrees_of_freedom: u32,
    /// None when the test does not apply (one row or one column).
    pub p_value: Option<f64>,
    /// Whether the rule of thumb holds: every expected count at least 5.
    pub expected_at_least_five: bool,
    /// A side is a multiple choice: a respondent counts once per option
    /// chosen, so the chi-square test does not apply (p_value is none).
    pub multiple_response: bool,
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

/// Age bands by birthday as of `today`.
pub(crate) fn age_band(birthday: Option<NaiveDate>, today: NaiveDate) -> String {
    let Some(b) = birthday else { return String::new() };
    let mut age = today.year() - b.year();
    if (today.month(), today.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    match age {
        ..25 => "<25",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        _ => "55+",
    }
    .to_owned()
}

/// Budget bands in ten thousands of yuan (万).
pub(crate) fn budget_band(budget: Option<loupan_domain::Money>) -> String {
    let Some(m) = budget else { return String::new() };
    let wan = m.hundredths() / 1_000_000;
    match wan {
        ..100 => "<100万",
        100..=199 => "100-200万",
        200..=299 => "200-300万",
        300..=499 => "300-500万",
        _ => "500万+",
    }
    .to_owned()
}

fn value_of(row: &CrossRow, variable: &str, today: NaiveDate) -> String {
    match variable {
        "grade" => row.grade.clone().unwrap_or_default(),
        "source" => row.source.clone().unwrap_or_default(),
        "kind" => row.kind.name().to_owned(),
        "purpose" => row.purpose.clone().unwrap_or_default(),
        "layout" => row.wanted_layout.clone().unwrap_or_default(),
        "age" => age_band(row.birthday, today),
        "budget" => budget_band(row.budget),
        "project" => row.project_id.to_string(),
        _ => row.owner_id.to_string(),
    }
}

/// Crosses `rows_by` with `columns_by` over the customers the actor sees
/// (of one project if named).
pub async fn cross(
    services: &Services,
    actor: &Actor,
    rows_by: Option<&str>,
    columns_by: Option<&str>,
    project_id: Option<&ProjectId>,
) -> ServiceResult<CrossTable> {
    let scope = super::scope_of(actor)?;
    let mut errors = Invalid::default();
    let mut variable = |field: &str, v: Option<&str>| match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            errors.push(field, "required");
            String::new()
        }
        Some(v) if VARIABLES.contains(&v) => v.to_owned(),
        Some(_) => {
            errors.push(field, "unknown_value");
            String::new()
        }
    };
    let (rows_by, columns_by) = (variable("rows", rows_by), variable("columns", columns_by));
    errors.into_result()?;
    if let Some(p) = project_id
        && !actor.sees_project(p)
    {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let today = services.clock.today();
    let customers = store::cross_rows(conn, &scope, project_id, MAX_CUSTOMERS).await?;
    let mut cells: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in &customers {
        *cells.entry((value_of(c, &rows_by, today), value_of(c, &columns_by, today))).or_default() += 1;
    }
    let mut table = contingency(rows_by, columns_by, &cells, None, None, false);
    name_ids(conn, &mut table).await?;
    table.source = reader.from.into();
    Ok(table)
}

/// The values of one side present in `cells`, in `order` when given (a
/// question's options, then values it no longer has), else sorted, each with
/// its label.
fn side(present: Vec<String>, order: Option<&[(String, String)]>) -> (Vec<String>, Vec<String>) {
    let mut present = present;
    present.sort();
    present.dedup();
    match order {
        None => (present.clone(), present),
        Some(order) => {
            let mut values: Vec<(String, String)> =
                order.iter().filter(|(v, _)| present.contains(v)).cloned().collect();
            values
                .extend(present.iter().filter(|p| !order.iter().any(|(v, _)| v == *p)).map(|p| (p.clone(), p.clone())));
            values.into_iter().unzip()
        }
    }
}

/// The contingency table of counted `cells` (row value, column value) with its
/// percentages and chi-square test. `multiple_response`: a side counts each
/// option a respondent chose, so the counts are not independent observations
/// and the test is not given.
pub(crate) fn contingency(
    rows_by: String,
    columns_by: String,
    cells: &BTreeMap<(String, String), u64>,
    row_order: Option<&[(String, String)]>,
    column_order: Option<&[(String, String)]>,
    multiple_response: bool,
) -> CrossTable {
    let (rows, row_labels) = side(cells.keys().map(|(r, _)| r.clone()).collect(), row_order);
    let (columns, column_labels) = side(cells.keys().map(|(_, c)| c.clone()).collect(), column_order);
    let counts: Vec<Vec<u64>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cells.get(&(r.clone(), c.clone())).copied().unwrap_or(0)).collect())
        .collect();
    let row_totals: Vec<u64> = counts.iter().map(|r| r.iter().sum()).collect();
    let column_totals: Vec<u64> = (0..columns.len()).map(|j| counts.iter().map(|r| r[j]).sum()).collect();
    let total: u64 = row_totals.iter().sum();
    let row_percent =
        counts.iter().zip(&row_totals).map(|(r, t)| r.iter().map(|n| percent(*n, *t)).collect()).collect();
    let column_percent =
        counts.iter().map(|r| r.iter().zip(&column_totals).map(|(n, t)| percent(*n, *t)).collect()).collect();
    let expected_at_least_five = row_totals
        .iter()
        .all(|r| column_totals.iter().all(|c| total == 0 || (*r as f64) * (*c as f64) / (total as f64) >= 5.0));
    let test = match multiple_response {
        false => statistics::chi_square(&counts),
        true => statistics::ChiSquare { statistic: 0.0, degrees_of_freedom: 0, p_value: None },
    };
    CrossTable {
        rows_by,
        columns_by,
        rows,
        columns,
        row_labels,
        column_labels,
        counts,
        row_percent,
        column_percent,
        row_totals,
        column_totals,
        total,
        chi_square: test.statistic,
        degrees_of_freedom: test.degrees_of_freedom,
        p_value: test.p_value,
        expected_at_least_five,
        multiple_response,
        source: crate::platform::replica::DataSource::PRIMARY,
    }
}

/// Shows agents and projects by name where a side is `agent` or `project`.
pub(crate) async fn name_ids<C: loupan_store::Connection>(conn: &C, table: &mut CrossTable) -> ServiceResult<()> {
    let CrossTable { rows_by, columns_by, rows, columns, row_labels, column_labels, .. } = table;
    for (variable, values, shown) in [(&*rows_by, &*rows, row_labels), (&*columns_by, &*columns, column_labels)] {
        match variable.as_str() {
            "agent" => {
                let ids: Vec<UserId> = values.iter().map(|v| UserId::from(v.as_str())).collect();
                let names: BTreeMap<String, String> = loupan_store::users::display_names(conn, &ids)
                    .await?
                    .into_iter()
                    .map(|(id, n)| (id.to_string(), n))
                    .collect();
                *shown = values.iter().map(|v| names.get(v).cloned().unwrap_or_else(|| v.clone())).collect();
            }
            "project" => {
                let ids: Vec<ProjectId> = values.iter().map(|v| ProjectId::from(v.as_str())).collect();
                let names: BTreeMap<String, String> = loupan_store::inventory::list_projects(conn, Some(&ids))
                    .await?
                    .into_iter()
                    .map(|p| (p.id.to_string(), p.name))
                    .collect();
                *shown = values.iter().map(|v| names.get(v).cloned().unwrap_or_else(|| v.clone())).collect();
            }
            _ => {}
        }
    }
    Ok(())
}
