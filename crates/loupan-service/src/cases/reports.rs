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
use loupan_domain::cases::CaseKind;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::{Invalid, Permission};
use loupan_store::cases::{self as store, CaseFilter, ReportKey, SlaSums};
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
    sums: SlaSums,
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
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
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
    fn add(&mut self, more: &SlaSums) {
        let sums = &mut self.sums;
        sums.cases += more.cases;
        sums.open += more.open;
        sums.response_met += more.response_met;
        sums.response_missed += more.response_missed;
        sums.resolution_met += more.resolution_met;
        sums.resolution_missed += more.resolution_missed;
        sums.response_minutes += more.response_minutes;
        sums.responded += more.responded;
        sums.resolution_minutes += more.resolution_minutes;
        sums.resolved += more.resolved;
        sums.satisfaction_sum += more.satisfaction_sum;
        sums.scored += more.scored;
    }

    fn finish(mut self) -> SlaLine {
        let s = &self.sums;
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        self.cases = count(s.cases);
        self.open = count(s.open);
        self.response_met = count(s.response_met);
        self.response_missed = count(s.response_missed);
        self.resolution_met = count(s.resolution_met);
        self.resolution_missed = count(s.resolution_missed);
        self.response_met_percent = percent(self.response_met, self.response_missed);
        self.resolution_met_percent = percent(self.resolution_met, self.resolution_missed);
        self.mean_response_minutes = mean(s.response_minutes, s.responded);
        self.mean_resolution_minutes = mean(s.resolution_minutes, s.resolved);
        self.mean_satisfaction = mean(s.satisfaction_sum * 10, s.scored).map(|t| format!("{}.{}", t / 10, t % 10));
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
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let now = services.clock.now();
    let filter = CaseFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project,
        registered_from: Some(services.clock.start_of_day(from)),
        registered_to: Some(services.clock.start_of_day(to + Duration::days(1))),
        ..CaseFilter::default()
    };
    let key = match by {
        GroupBy::Project => ReportKey::Project,
        GroupBy::Kind => ReportKey::Kind,
        GroupBy::Category => ReportKey::Category,
        GroupBy::Assignee => ReportKey::Assignee,
        GroupBy::Month => ReportKey::Months(months(services, from, to)),
    };
    let mut groups: BTreeMap<String, SlaLine> = BTreeMap::new();
    let mut total = SlaLine { key: "total".into(), ..SlaLine::default() };
    for sums in store::sla_sums(conn, &filter, &key, now).await? {
        total.add(&sums);
        groups
            .entry(sums.key.clone())
            .or_insert_with(|| SlaLine { key: sums.key.clone(), ..SlaLine::default() })
            .add(&sums);
    }
    let labels = labels(services, by, groups.keys()).await?;
    let items = groups
        .into_values()
        .map(|mut line| {
            line.label = labels.get(&line.key).cloned().unwrap_or_else(|| line.key.clone());
            line.finish()
        })
        .collect();
    // A case is in a bucket from the instant it is that many days old; the
    // statement numbers the buckets oldest first, and the youngest takes the rest.
    let cuts: Vec<DateTime<Utc>> =
        BACKLOG.iter().rev().filter(|(_, days)| *days > 0).map(|(_, days)| now - Duration::days(*days)).collect();
    let mut backlog: Vec<BacklogBucket> =
        BACKLOG.iter().map(|(label, _)| BacklogBucket { label: (*label).to_owned(), cases: 0 }).collect();
    for (oldest_first, cases) in store::backlog(conn, &filter, &cuts).await? {
        if let Some(i) = BACKLOG.len().checked_sub(oldest_first + 1)
            && let Some(bucket) = backlog.get_mut(i)
        {
            bucket.cases += u64::try_from(cases).unwrap_or_default();
        }
    }
    Ok(SlaReport { from, to, by, items, total: total.finish(), backlog, source: reader.from.into() })
}

/// The company's calendar months from `from` to `to`: each `YYYY-MM` with
/// the instant its month ends.
fn months(services: &Services, from: NaiveDate, to: NaiveDate) -> Vec<(String, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut first = from.with_day(1).unwrap_or(from);
    while first <= to {
        let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(to + Duration::days(1));
        out.push((format!("{:04}-{:02}", first.year(), first.month()), services.clock.start_of_day(next)));
        first = next;
    }
    out
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
