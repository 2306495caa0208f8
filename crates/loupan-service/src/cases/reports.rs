//! How the desk keeps its promises: cases registered in a period grouped by
//! project, kind, category, handler or month, with the share of deadlines met
//! and the mean response and resolution times in working minutes of the
//! company's calendar; and the open backlog by age.
//!
//! A deadline counts as met when the step came by it, missed when it came
//! later or has not come and the deadline has passed; a case whose deadline
//! is still ahead counts in neither.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use loupan_documents::xlsx::{self, Cell};
use loupan_domain::cases::{CaseKind, WorkCalendar};
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::{Invalid, Permission};
use loupan_store::cases::{self as store, CaseFilter, ReportRow};
use serde::Serialize;

use crate::{Actor, Say, ServiceError, ServiceResult, Services};

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Project,
    Kind,
    Category,
    Assignee,
    Month,
}

impl GroupBy {
    fn parse(text: &str) -> Option<GroupBy> {
        Some(match text {
            "project" => GroupBy::Project,
            "kind" => GroupBy::Kind,
            "category" => GroupBy::Category,
            "assignee" => GroupBy::Assignee,
            "month" => GroupBy::Month,
            _ => return None,
        })
    }
}

/// One group's figures.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlaLine {
    /// The group's key: a project, category or user id, a kind, a month (`2026-04`).
    pub key: String,
    /// Its name (a kind's name is its key; pages translate it).
    pub label: String,
    pub cases: u64,
    /// Still waiting on the company.
    pub open: u64,
    pub response_met: u64,
    pub response_missed: u64,
    pub resolution_met: u64,
    pub resolution_missed: u64,
    /// Met ÷ (met + missed) as a percentage with one decimal (`"87.5"`); none when nothing was due.
    pub response_met_percent: Option<String>,
    pub resolution_met_percent: Option<String>,
    /// Mean working minutes from registration to the first response, of the cases answered.
    pub mean_response_minutes: Option<i64>,
    /// Mean working minutes from registration to the reply, of the cases replied to.
    pub mean_resolution_minutes: Option<i64>,
    /// Mean callback score with one decimal (`"4.5"`), of the cases closed.
    pub mean_satisfaction: Option<String>,
    #[serde(skip)]
    response_minutes: i64,
    #[serde(skip)]
    responded: i64,
    #[serde(skip)]
    resolution_minutes: i64,
    #[serde(skip)]
    resolved: i64,
    #[serde(skip)]
    satisfaction_sum: i64,
    #[serde(skip)]
    scored: i64,
}

/// Open cases registered that many days ago or more (and fewer than the next bucket's).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BacklogBucket {
    /// `0-1`, `1-3`, `3-7`, `7-30`, `>30` (days since registration).
    pub label: String,
    pub cases: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlaReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: GroupBy,
    /// One line per group, in key order.
    pub items: Vec<SlaLine>,
    pub total: SlaLine,
    /// The open cases today by age (the project filter applies, the period does not).
    pub backlog: Vec<BacklogBucket>,
}

/// The report's conditions, as typed.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub project_id: Option<String>,
    /// `YYYY-MM-DD`, registration date, both ends included; default the year so far.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `project`, `kind` (default), `category`, `assignee` or `month`.
    pub by: Option<String>,
}

fn percent(met: u64, missed: u64) -> Option<String> {
    let due = met + missed;
    // Tenths of a percent, rounded half up, in integers.
    (due > 0).then(|| {
        let tenths = (met * 2000 + due) / (2 * due);
        format!("{}.{}", tenths / 10, tenths % 10)
    })
}

fn mean(sum: i64, count: i64) -> Option<i64> {
    (count > 0).then(|| (2 * sum + count) / (2 * count))
}

impl SlaLine {
    fn add(&mut self, row: &ReportRow, calendar: &WorkCalendar, services: &Services, now: DateTime<Utc>) {
        self.cases += 1;
        if row.status.is_open() {
            self.open += 1;
        }
        let local = |at: DateTime<Utc>| services.clock.local(at);
        let judged = |done: Option<DateTime<Utc>>, due: DateTime<Utc>| match done {
            Some(at) => Some(at <= due),
            None if now > due => Some(false),
            None => None,
        };
        match judged(row.first_response_at, row.response_due_at) {
            Some(true) => self.response_met += 1,
            Some(false) => self.response_missed += 1,
            None => {}
        }
        match judged(row.replied_at, row.resolution_due_at) {
            Some(true) => self.resolution_met += 1,
            Some(false) => self.resolution_missed += 1,
            None => {}
        }
        if let Some(at) = row.first_response_at {
            self.response_minutes += calendar.working_minutes_between(local(row.registered_at), local(at));
            self.responded += 1;
        }
        if let Some(at) = row.replied_at {
            self.resolution_minutes += calendar.working_minutes_between(local(row.registered_at), local(at));
            self.resolved += 1;
        }
        if let Some(score) = row.satisfaction {
            self.satisfaction_sum += i64::from(score);
            self.scored += 1;
        }
    }

    fn finish(mut self) -> SlaLine {
        self.response_met_percent = percent(self.response_met, self.response_missed);
        self.resolution_met_percent = percent(self.resolution_met, self.resolution_missed);
        self.mean_response_minutes = mean(self.response_minutes, self.responded);
        self.mean_resolution_minutes = mean(self.resolution_minutes, self.resolved);
        self.mean_satisfaction =
            mean(self.satisfaction_sum * 10, self.scored).map(|t| format!("{}.{}", t / 10, t % 10));
        self
    }
}

const BACKLOG: [(&str, i64); 5] = [("0-1", 0), ("1-3", 1), ("3-7", 3), ("7-30", 7), (">30", 30)];

/// The SLA report of the cases the actor may see.
pub async fn sla(services: &Services, actor: &Actor, q: &ReportQuery) -> ServiceResult<SlaReport> {
    actor.require(Permission::ReadCases)?;
    let mut errors = Invalid::default();
    let date = |errors: &mut Invalid, field: &'static str, text: &Option<String>| match text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok(),
    };
    let today = services.clock.today();
    let from = date(&mut errors, "from", &q.from)
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = date(&mut errors, "to", &q.to).unwrap_or(today);
    if to < from {
        errors.push("to", "before_from");
    }
    let by = match q.by.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => GroupBy::Kind,
        Some(b) => GroupBy::parse(b).unwrap_or_else(|| {
            errors.push("by", "unknown_value");
            GroupBy::Kind
        }),
    };
    errors.into_result()?;
    let project = q.project_id.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(ProjectId::from);
    let conn = services.store.conn();
    let calendar = super::settings::calendar(conn).await?;
    let now = services.clock.now();
    let filter = CaseFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project: project.clone(),
        registered_from: Some(services.clock.start_of_day(from)),
        registered_to: Some(services.clock.start_of_day(to + Duration::days(1))),
        ..CaseFilter::default()
    };
    let rows = store::cases_for_report(conn, &filter).await?;
    let mut groups: BTreeMap<String, SlaLine> = BTreeMap::new();
    let mut total = SlaLine { key: "total".into(), label: String::new(), ..SlaLine::default() };
    for row in rows.iter().filter(|r| r.status != loupan_domain::cases::CaseStatus::Merged) {
        let key = match by {
            GroupBy::Project => row.project_id.to_string(),
            GroupBy::Kind => row.kind.name().to_owned(),
            GroupBy::Category => row.category_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            GroupBy::Assignee => row.assignee_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            GroupBy::Month => {
                let d = services.clock.date_of(row.registered_at);
                format!("{:04}-{:02}", d.year(), d.month())
            }
        };
        groups
            .entry(key.clone())
            .or_insert_with(|| SlaLine { key, ..SlaLine::default() })
            .add(row, &calendar, services, now);
        total.add(row, &calendar, services, now);
    }
    let labels = labels(services, by, groups.keys()).await?;
    let items = groups
        .into_values()
        .map(|mut line| {
            line.label = labels.get(&line.key).cloned().unwrap_or_else(|| line.key.clone());
            line.finish()
        })
        .collect();
    let open = store::cases_for_report(
        conn,
        &CaseFilter {
            projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
            project,
            open_only: true,
            ..CaseFilter::default()
        },
    )
    .await?;
    let mut backlog: Vec<BacklogBucket> =
        BACKLOG.iter().map(|(label, _)| BacklogBucket { label: (*label).to_owned(), cases: 0 }).collect();
    for row in open {
        let age = (now - row.registered_at).num_days();
        if let Some(i) = BACKLOG.iter().rposition(|(_, from)| age >= *from)
            && let Some(bucket) = backlog.get_mut(i)
        {
            bucket.cases += 1;
        }
    }
    Ok(SlaReport { from, to, by, items, total: total.finish(), backlog })
}

/// Names of the groups' keys.
async fn labels<'a>(
    services: &Services,
    by: GroupBy,
    keys: impl Iterator<Item = &'a String>,
) -> ServiceResult<BTreeMap<String, String>> {
    let keys: Vec<&String> = keys.collect();
    let conn = services.store.conn();
    Ok(match by {
        GroupBy::Kind | GroupBy::Month => BTreeMap::new(),
        GroupBy::Project => {
            let mut out = BTreeMap::new();
            for k in keys {
                if let Some(p) = loupan_store::inventory::find_project(conn, &ProjectId::from(k.as_str())).await? {
                    out.insert(k.clone(), p.name);
                }
            }
            out
        }
        GroupBy::Category => store::categories(conn)
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .filter(|(id, _)| keys.contains(&id))
            .collect(),
        GroupBy::Assignee => {
            let ids: Vec<UserId> = keys.iter().filter(|k| !k.is_empty()).map(|k| UserId::from(k.as_str())).collect();
            if ids.is_empty() {
                BTreeMap::new()
            } else {
                loupan_store::users::display_names(conn, &ids)
                    .await?
                    .into_iter()
                    .map(|(id, name)| (id.to_string(), name))
                    .collect()
            }
        }
    })
}

/// The report as xlsx: one line per group, then the total.
pub fn sla_xlsx(report: &SlaReport, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    const COLUMNS: [&str; 10] = [
        "case_reports.group",
        "case_reports.cases",
        "case_reports.open",
        "case_reports.response_met",
        "case_reports.response_missed",
        "case_reports.response_met_percent",
        "case_reports.resolution_met_percent",
        "case_reports.mean_response_minutes",
        "case_reports.mean_resolution_minutes",
        "case_reports.mean_satisfaction",
    ];
    let headers: Vec<String> = COLUMNS.iter().map(|k| say(k)).collect();
    let number = |n: u64| Cell::Number(n as f64);
    let opt_text = |t: &Option<String>| t.clone().map_or(Cell::Empty, Cell::Text);
    let opt_number = |n: Option<i64>| n.map_or(Cell::Empty, |n| Cell::Number(n as f64));
    let line = |l: &SlaLine, label: String| {
        vec![
            Cell::Text(label),
            number(l.cases),
            number(l.open),
            number(l.response_met),
            number(l.response_missed),
            opt_text(&l.response_met_percent),
            opt_text(&l.resolution_met_percent),
            opt_number(l.mean_response_minutes),
            opt_number(l.mean_resolution_minutes),
            opt_text(&l.mean_satisfaction),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = report
        .items
        .iter()
        .map(|l| {
            let label = match (report.by, CaseKind::parse(&l.key)) {
                (GroupBy::Kind, Some(kind)) => say(&format!("case_kind.{}", kind.name())),
                _ => l.label.clone(),
            };
            line(l, label)
        })
        .collect();
    rows.push(line(&report.total, say("case_reports.total")));
    xlsx::write_table(&say("case_reports.title"), &headers, &rows).map_err(ServiceError::internal)
}
