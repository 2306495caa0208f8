//! The monthly cost report (成本月报): a closed month's dynamic cost frozen as
//! it was issued, each item's movement since the previous month's end and
//! the cost engineer's explanation of it. Documents dated back into a
//! reported month later change the ledger's figures for that date, never the
//! report.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use loupan_domain::ids::{CostItemId, CostReportId, ProjectId};
use loupan_domain::validation::optional_text;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::cost::{self as store, CostReportRow};
use serde::{Deserialize, Serialize};

use super::ledger::{CostColumns, dynamic_cost};
use super::{by, visible_project};
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// One item's line of a monthly report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReportLine {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub level: usize,
    pub leaf: bool,
    /// At the month's last day.
    #[serde(flatten)]
    pub columns: CostColumns,
    /// The dynamic cost at the previous month's last day.
    pub dynamic_before: Money,
    /// `dynamic - dynamic_before`.
    pub movement: Money,
    /// Why it moved: required for every leaf that moved.
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostReport {
    /// None for a draft (not issued yet).
    pub id: Option<CostReportId>,
    pub project_id: ProjectId,
    /// `YYYY-MM`.
    pub month: String,
    pub as_of: NaiveDate,
    /// In the order of their codes, parents rolled up.
    pub lines: Vec<ReportLine>,
    pub total: CostColumns,
    pub total_before: Money,
    pub summary: Option<String>,
    pub issued_by: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
}

/// An issued report in a list (without its lines).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostReportSummary {
    pub id: CostReportId,
    pub month: String,
    pub as_of: NaiveDate,
    pub target: Money,
    pub dynamic: Money,
    pub movement: Money,
    pub summary: Option<String>,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
}

/// Issuing a month's report.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewCostReport {
    /// `YYYY-MM`, a month that has ended.
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$"))]
    pub month: Option<String>,
    /// The month in a few sentences.
    #[cfg_attr(feature = "utoipa", schema(max_length = 2000))]
    pub summary: Option<String>,
    /// Cost item id → why its dynamic cost moved (every leaf that moved needs one).
    #[serde(default)]
    pub explanations: BTreeMap<String, String>,
}

/// The first and last day of a `YYYY-MM` month.
fn month_bounds(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

/// A month's lines as the ledger says them now (no explanations).
async fn lines_of_month(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    first: NaiveDate,
    last: NaiveDate,
) -> ServiceResult<(Vec<ReportLine>, CostColumns, Money)> {
    let before = dynamic_cost(services, actor, project, first.pred_opt()).await?;
    let before: BTreeMap<CostItemId, Money> =
        before.items.into_iter().map(|i| (i.cost_item_id, i.columns.dynamic)).collect();
    let now = dynamic_cost(services, actor, project, Some(last)).await?;
    let total_before = now
        .items
        .iter()
        .filter(|i| i.parent_id.is_none())
        .map(|i| before.get(&i.cost_item_id).copied().unwrap_or_default())
        .sum();
    let lines = now
        .items
        .into_iter()
        .map(|i| {
            let dynamic_before = before.get(&i.cost_item_id).copied().unwrap_or_default();
            ReportLine {
                movement: i.columns.dynamic - dynamic_before,
                dynamic_before,
                cost_item_id: i.cost_item_id,
                code: i.code,
                name: i.name,
                level: i.level,
                leaf: i.leaf,
                columns: i.columns,
                explanation: None,
            }
        })
        .collect();
    Ok((lines, now.total, total_before))
}

fn checked_month(errors: &mut Invalid, month: Option<&str>, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    match month.map(str::trim).filter(|m| !m.is_empty()) {
        None => errors.push("month", "required"),
        Some(m) => match month_bounds(m) {
            None => errors.push("month", "invalid_month"),
            Some((_, last)) if last >= today => errors.push("month", "month_not_over"),
            Some(bounds) => return Some(bounds),
        },
    }
    None
}

/// A month's report as it would be issued now: the figures and the items that
/// moved, for the cost engineer to explain.
pub async fn report_draft(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    month: Option<&str>,
) -> ServiceResult<CostReport> {
    actor.require(Permission::ReadCost)?;
    let project = visible_project(services.store.conn(), actor, project).await?;
    let mut errors = Invalid::default();
    let bounds = checked_month(&mut errors, month, services.clock.today());
    errors.into_result()?;
    let (first, last) = bounds.ok_or_else(|| ServiceError::internal("checked month without bounds"))?;
    let (lines, total, total_before) = lines_of_month(services, actor, &project, first, last).await?;
    Ok(CostReport {
        id: None,
        project_id: project,
        month: first.format("%Y-%m").to_string(),
        as_of: last,
        lines,
        total,
        total_before,
        summary: None,
        issued_by: None,
        issued_at: None,
    })
}

/// Issues a closed month's report: its figures are frozen with the
/// explanations; a month is reported once (409 after).
pub async fn issue_report(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewCostReport,
) -> ServiceResult<CostReport> {
    actor.require(Permission::ManageCost)?;
    let project = visible_project(services.store.conn(), actor, project).await?;
    let mut errors = Invalid::default();
    let bounds = checked_month(&mut errors, form.month.as_deref(), services.clock.today());
    let summary = optional_text(&mut errors, "summary", form.summary.as_deref(), 2000);
    errors.into_result()?;
    let (first, last) = bounds.ok_or_else(|| ServiceError::internal("checked month without bounds"))?;
    let month = first.format("%Y-%m").to_string();
    let tx = services.store.begin_write().await?;
    if store::find_report(&tx, &project, &month).await?.is_some() {
        return Err(ServiceError::Conflict("report_exists"));
    }
    let (mut lines, total, total_before) = lines_of_month(services, actor, &project, first, last).await?;
    let mut errors = Invalid::default();
    let mut explanations = form.explanations;
    for line in &mut lines {
        let field = format!("explanations.{}", line.cost_item_id);
        let given = explanations.remove(line.cost_item_id.as_str());
        line.explanation = optional_text(&mut errors, &field, given.as_deref(), 500);
        if line.leaf && !line.movement.is_zero() && line.explanation.is_none() {
            errors.push(&field, "explanation_needed");
        }
    }
    for unknown in explanations.keys() {
        errors.push(format!("explanations.{unknown}"), "unknown_cost_item");
    }
    errors.into_result()?;
    let row = CostReportRow {
        id: CostReportId::from(loupan_store::new_id()),
        project_id: project.clone(),
        month: month.clone(),
        as_of: last,
        lines: serde_json::to_string(&lines).map_err(ServiceError::internal)?,
        summary,
        issued_by: by(actor),
        issued_at: services.clock.now(),
    };
    match store::insert_report(&tx, &row).await {
        Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("report_exists")),
        other => other?,
    }
    let report = CostReport {
        id: Some(row.id.clone()),
        project_id: project,
        month,
        as_of: last,
        lines,
        total,
        total_before,
        summary: row.summary,
        issued_by: Some(row.issued_by),
        issued_at: Some(row.issued_at),
    };
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_report.issue",
            record_type: "cost_report",
            record_id: row.id.as_str(),
            before: None,
            after: audit::snapshot(&report)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(report)
}

fn report_of(row: CostReportRow) -> ServiceResult<CostReport> {
    let lines: Vec<ReportLine> = serde_json::from_str(&row.lines).map_err(ServiceError::internal)?;
    let mut total = CostColumns::default();
    let mut total_before = Money::ZERO;
    for line in lines.iter().filter(|l| l.level == 1) {
        total.add(&line.columns);
        total_before += line.dynamic_before;
    }
    Ok(CostReport {
        id: Some(row.id),
        project_id: row.project_id,
        month: row.month,
        as_of: row.as_of,
        lines,
        total,
        total_before,
        summary: row.summary,
        issued_by: Some(row.issued_by),
        issued_at: Some(row.issued_at),
    })
}

/// A project's issued reports, newest month first.
pub async fn reports(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<CostReportSummary>> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    store::reports(conn, &project)
        .await?
        .into_iter()
        .map(|row| {
            let report = report_of(row)?;
            Ok(CostReportSummary {
                id: report.id.clone().ok_or_else(|| ServiceError::internal("issued report without id"))?,
                movement: report.total.dynamic - report.total_before,
                target: report.total.target,
                dynamic: report.total.dynamic,
                month: report.month,
                as_of: report.as_of,
                summary: report.summary,
                issued_by: report.issued_by.unwrap_or_default(),
                issued_at: report.issued_at.unwrap_or_default(),
            })
        })
        .collect()
}

/// One issued report, as it was issued.
pub async fn report(services: &Services, actor: &Actor, project: &ProjectId, month: &str) -> ServiceResult<CostReport> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    report_of(store::find_report(conn, &project, month).await?.ok_or(ServiceError::NotFound("cost_report"))?)
}
