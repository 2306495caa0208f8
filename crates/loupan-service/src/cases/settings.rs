//! What the customer-service desk keeps: working hours and the reopening
//! period, deadlines per kind and priority, the working calendar of each
//! year, the category tree and who gets which cases in each project.

use chrono::{Datelike, NaiveDate};
use loupan_domain::cases::{CalendarDay, CaseKind, CasePriority, SlaTarget, WorkCalendar, WorkHours};
use loupan_domain::ids::{CaseCategoryId, CaseRuleId, NoticeTemplateId, ProjectId, UserId};
use loupan_domain::notices::NoticeKind;
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::cases::{self as store, CalendarDayRow, CategoryRow, RuleRow, SlaTargetRow};
use loupan_store::settings::{self as store_settings, COMPANY, SettingRow};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

const DESK: &str = "service_desk";

/// How long after closing a case may be reopened, unless set.
const REOPEN_DAYS: i64 = 15;

/// A customer with this many complaints (投诉) within `REPEAT_DAYS` is an
/// exception and each further one raises an alert, unless set (0: never).
const REPEAT_COMPLAINTS: i64 = 3;
const REPEAT_DAYS: i64 = 90;

fn repeat_complaints() -> i64 {
    REPEAT_COMPLAINTS
}

fn repeat_days() -> i64 {
    REPEAT_DAYS
}

/// The desk's settings as stored (the repeat fields came later: a value
/// stored before them reads with the defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    work_hours: String,
    reopen_days: i64,
    #[serde(default = "repeat_complaints")]
    repeat_complaints: i64,
    #[serde(default = "repeat_days")]
    repeat_days: i64,
    #[serde(default)]
    survey_on_contract: bool,
    #[serde(default)]
    survey_template_id: Option<NoticeTemplateId>,
}

/// The desk's settings in force.
#[derive(Debug, Clone)]
pub(crate) struct Desk {
    pub work_hours: WorkHours,
    pub reopen_days: i64,
    /// Complaints within `repeat_days` that make a repeat complainer; 0: off.
    pub repeat_complaints: i64,
    pub repeat_days: i64,
    /// A satisfaction survey goes to the buyer when a contract is signed.
    pub survey_on_contract: bool,
    /// The notice template (its family) that takes each survey's link to its customer.
    pub survey_template_id: Option<NoticeTemplateId>,
}

pub(crate) async fn desk_settings<C: Connection>(conn: &C) -> ServiceResult<Desk> {
    let Some(row) = store_settings::find_setting(conn, COMPANY, DESK).await? else {
        return Ok(Desk {
            work_hours: WorkHours::default(),
            reopen_days: REOPEN_DAYS,
            repeat_complaints: REPEAT_COMPLAINTS,
            repeat_days: REPEAT_DAYS,
            survey_on_contract: false,
            survey_template_id: None,
        });
    };
    // A stored value that no longer reads is a fault to see, not a silent default.
    let stored: Stored = serde_json::from_str(&row.value).map_err(ServiceError::internal)?;
    let work_hours = WorkHours::parse(&stored.work_hours).map_err(ServiceError::internal)?;
    Ok(Desk {
        work_hours,
        reopen_days: stored.reopen_days,
        repeat_complaints: stored.repeat_complaints,
        repeat_days: stored.repeat_days,
        survey_on_contract: stored.survey_on_contract,
        survey_template_id: stored.survey_template_id,
    })
}

/// The company's working calendar: its hours and every day set apart.
pub async fn calendar<C: Connection>(conn: &C) -> ServiceResult<WorkCalendar> {
    let hours = desk_settings(conn).await?.work_hours;
    let days = store::calendar_days(conn).await?;
    Ok(WorkCalendar::new(
        hours,
        days.into_iter().map(|d| CalendarDay { date: d.day, working: d.working, name: d.name }),
    ))
}

pub(crate) async fn target_of<C: Connection>(
    conn: &C,
    kind: CaseKind,
    priority: CasePriority,
) -> ServiceResult<SlaTarget> {
    let rows = store::sla_targets(conn).await?;
    Ok(rows
        .into_iter()
        .find(|r| r.kind == kind && r.priority == priority)
        .map(|r| SlaTarget { response_minutes: r.response_minutes, resolution_minutes: r.resolution_minutes })
        .unwrap_or_else(|| SlaTarget::default_for(priority)))
}

/// Deadlines of one kind and priority, in working minutes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Target {
    pub kind: CaseKind,
    pub priority: CasePriority,
    /// Working minutes, at most a month of them.
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 44640))]
    pub response_minutes: i64,
    /// Not shorter than the response's.
    #[cfg_attr(feature = "utoipa", schema(minimum = 1, maximum = 44640))]
    pub resolution_minutes: i64,
}

/// The desk's settings.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeskSettings {
    /// Working periods of a working day: `09:00-12:00,13:00-18:00`.
    pub work_hours: String,
    /// Days after closing during which a case may be reopened.
    pub reopen_days: i64,
    /// A customer with this many complaints within `repeat_days` is a repeat
    /// complainer (an exception, and an alert at each further complaint); 0: off.
    pub repeat_complaints: i64,
    pub repeat_days: i64,
    /// A satisfaction survey (its link) goes to the buyer when a contract is signed.
    pub survey_on_contract: bool,
    /// The notice template (kind `survey`: a text message, an e-mail or a
    /// letter) that takes each survey's link to its customer when the survey
    /// is made, named by its first version's id (its edits are sent too);
    /// none: the desk hands the link over.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub survey_template_id: Option<NoticeTemplateId>,
    /// Every kind × priority.
    pub targets: Vec<Target>,
}

pub async fn settings(services: &Services, actor: &Actor) -> ServiceResult<DeskSettings> {
    actor.require(Permission::ReadCases)?;
    let conn = services.store.conn();
    let desk = desk_settings(conn).await?;
    let mut targets = Vec::new();
    let stored = store::sla_targets(conn).await?;
    for kind in CaseKind::ALL {
        for priority in CasePriority::ALL {
            let t = stored
                .iter()
                .find(|r| r.kind == kind && r.priority == priority)
                .map(|r| SlaTarget { response_minutes: r.response_minutes, resolution_minutes: r.resolution_minutes })
                .unwrap_or_else(|| SlaTarget::default_for(priority));
            targets.push(Target {
                kind,
                priority,
                response_minutes: t.response_minutes,
                resolution_minutes: t.resolution_minutes,
            });
        }
    }
    Ok(DeskSettings {
        work_hours: desk.work_hours.to_string(),
        reopen_days: desk.reopen_days,
        repeat_complaints: desk.repeat_complaints,
        repeat_days: desk.repeat_days,
        survey_on_contract: desk.survey_on_contract,
        survey_template_id: desk.survey_template_id,
        targets,
    })
}

/// A notice template the desk may send surveys with.
#[derive(Debug, Clone, Serialize)]
pub struct SurveyTemplate {
    /// The template's family (its first version's id), as the settings keep it.
    pub id: NoticeTemplateId,
    pub name: String,
    /// `letter`, `email` or `sms`.
    pub channel: String,
    /// The template's project; none: every project's.
    pub project_id: Option<ProjectId>,
}

/// The current survey templates, for the settings page.
pub async fn survey_templates(services: &Services, actor: &Actor) -> ServiceResult<Vec<SurveyTemplate>> {
    actor.require(Permission::ReadCases)?;
    Ok(loupan_store::notices::current_templates(services.store.conn(), actor.visible_projects())
        .await?
        .into_iter()
        .filter(|t| t.kind == NoticeKind::Survey)
        .map(|t| SurveyTemplate {
            id: t.family_id,
            name: t.name,
            channel: t.channel.name().to_owned(),
            project_id: t.project_id,
        })
        .collect())
}

/// New settings, as typed; targets not named keep theirs.
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    pub work_hours: Option<String>,
    pub reopen_days: Option<i64>,
    pub repeat_complaints: Option<i64>,
    pub repeat_days: Option<i64>,
    pub survey_on_contract: Option<bool>,
    /// None: unchanged; blank: none.
    pub survey_template_id: Option<String>,
    pub targets: Vec<Target>,
}

/// A month of working minutes: no deadline is longer.
const LONGEST_TARGET: i64 = 31 * 24 * 60;

pub async fn set_settings(services: &Services, actor: &Actor, form: SettingsForm) -> ServiceResult<DeskSettings> {
    actor.require(Permission::ManageCases)?;
    let before = settings(services, actor).await?;
    let mut errors = Invalid::default();
    let work_hours = match form.work_hours.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => WorkHours::parse(&before.work_hours).map_err(ServiceError::internal)?,
        Some(text) => WorkHours::parse(text).unwrap_or_else(|e| {
            errors.push("work_hours", e.code());
            WorkHours::default()
        }),
    };
    let reopen_days = form.reopen_days.unwrap_or(before.reopen_days);
    if !(0..=365).contains(&reopen_days) {
        errors.push("reopen_days", "out_of_range");
    }
    let repeat_complaints = form.repeat_complaints.unwrap_or(before.repeat_complaints);
    // 0 turns the rule off; 1 alerts on every complaint.
    if !(0..=100).contains(&repeat_complaints) {
        errors.push("repeat_complaints", "out_of_range");
    }
    let repeat_days = form.repeat_days.unwrap_or(before.repeat_days);
    if !(1..=365).contains(&repeat_days) {
        errors.push("repeat_days", "out_of_range");
    }
    for t in &form.targets {
        let ok = |m: i64| (1..=LONGEST_TARGET).contains(&m);
        if !ok(t.response_minutes) {
            errors.push("response_minutes", "out_of_range");
        }
        if !ok(t.resolution_minutes) {
            errors.push("resolution_minutes", "out_of_range");
        } else if t.resolution_minutes < t.response_minutes {
            errors.push("resolution_minutes", "below_response");
        }
    }
    // Kept as the template's family: its edits (new versions) go on being sent.
    let survey_template_id = match form.survey_template_id.as_deref().map(str::trim) {
        None => before.survey_template_id.clone(),
        Some("") => None,
        Some(id) => {
            match loupan_store::notices::current_version(services.store.conn(), &NoticeTemplateId::from(id)).await? {
                Some(t) if t.kind == NoticeKind::Survey => Some(t.family_id),
                Some(_) => {
                    errors.push("survey_template_id", "not_a_survey_template");
                    None
                }
                None => {
                    errors.push("survey_template_id", "unknown_template");
                    None
                }
            }
        }
    };
    errors.into_result()?;
    let survey_on_contract = form.survey_on_contract.unwrap_or(before.survey_on_contract);
    let tx = services.store.begin_write().await?;
    let stored = Stored {
        work_hours: work_hours.to_string(),
        reopen_days,
        repeat_complaints,
        repeat_days,
        survey_on_contract,
        survey_template_id: survey_template_id.clone(),
    };
    store_settings::put_setting(
        &tx,
        &SettingRow {
            scope: COMPANY.to_owned(),
            key: DESK.to_owned(),
            value: serde_json::to_string(&stored).map_err(ServiceError::internal)?,
            updated_by: actor.audit_id().unwrap_or_default(),
            updated_at: services.clock.now(),
        },
    )
    .await?;
    let rows: Vec<SlaTargetRow> = form
        .targets
        .iter()
        .map(|t| SlaTargetRow {
            kind: t.kind,
            priority: t.priority,
            response_minutes: t.response_minutes,
            resolution_minutes: t.resolution_minutes,
        })
        .collect();
    store::put_sla_targets(&tx, &rows).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "settings.service_desk",
            record_type: "settings",
            record_id: COMPANY,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&form.targets).ok().map(|targets| {
                serde_json::json!({"work_hours": stored.work_hours, "reopen_days": reopen_days,
                    "repeat_complaints": repeat_complaints, "repeat_days": repeat_days,
                    "survey_on_contract": survey_on_contract, "survey_template_id": survey_template_id,
                    "targets": targets})
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    settings(services, actor).await
}

/// A day of the calendar set apart from Monday-to-Friday.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Day {
    pub date: NaiveDate,
    /// True: a make-up working day (调休上班); false: a holiday (放假).
    pub working: bool,
    /// The holiday it belongs to (春节, 国庆节).
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, max_length = 40, pattern = "\\S"))]
    pub name: String,
}

/// The days set apart in `year`.
pub async fn calendar_of(services: &Services, actor: &Actor, year: i32) -> ServiceResult<Vec<Day>> {
    actor.require(Permission::ReadCases)?;
    if !(2000..=2100).contains(&year) {
        return Err(Invalid::one("year", "out_of_range").into());
    }
    Ok(store::calendar_days(services.store.conn())
        .await?
        .into_iter()
        .filter(|d| d.day.year() == year)
        .map(|d| Day { date: d.day, working: d.working, name: d.name })
        .collect())
}

/// Replaces the days set apart in `year` (the State Council's notice of the year).
pub async fn set_calendar(services: &Services, actor: &Actor, year: i32, days: Vec<Day>) -> ServiceResult<Vec<Day>> {
    actor.require(Permission::ManageCases)?;
    let (Some(from), Some(to)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) else {
        return Err(Invalid::one("year", "out_of_range").into());
    };
    if !(2000..=2100).contains(&year) {
        return Err(Invalid::one("year", "out_of_range").into());
    }
    let mut errors = Invalid::default();
    let mut seen = std::collections::BTreeSet::new();
    for d in &days {
        if d.date.year() != year {
            errors.push("days", "date_outside_year");
        } else if !seen.insert(d.date) {
            errors.push("days", "listed_twice");
        }
        if d.name.trim().is_empty() || d.name.chars().count() > 40 {
            errors.push("days", "name_required");
        }
    }
    errors.into_result()?;
    let before = calendar_of(services, actor, year).await?;
    let rows: Vec<CalendarDayRow> = days
        .iter()
        .map(|d| CalendarDayRow { day: d.date, working: d.working, name: d.name.trim().to_owned() })
        .collect();
    let tx = services.store.begin_write().await?;
    store::replace_calendar_days(&tx, from, to, &rows).await?;
    let record_id = year.to_string();
    audit::record(
        &tx,
        actor,
        Change {
            action: "settings.calendar",
            record_type: "calendar",
            record_id: &record_id,
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&days).ok(),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    calendar_of(services, actor, year).await
}

/// A case category; `parent_id` makes the tree (报修 › 水电 › 漏水).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: CaseCategoryId,
    pub parent_id: Option<CaseCategoryId>,
    pub name: String,
    /// The names from the root, `报修 › 水电 › 漏水`.
    pub path: String,
}

fn tree(rows: Vec<CategoryRow>) -> Vec<Category> {
    let path_of = |row: &CategoryRow| {
        let mut names = vec![row.name.clone()];
        let mut parent = row.parent_id.clone();
        // A tree of at most 10 levels; the bound also stops a loop in bad data.
        for _ in 0..10 {
            let Some(p) = parent.as_ref().and_then(|id| rows.iter().find(|r| &r.id == id)) else { break };
            names.push(p.name.clone());
            parent = p.parent_id.clone();
        }
        names.reverse();
        names.join(" › ")
    };
    let mut categories: Vec<Category> = rows
        .iter()
        .map(|r| Category { id: r.id.clone(), parent_id: r.parent_id.clone(), name: r.name.clone(), path: path_of(r) })
        .collect();
    categories.sort_by(|a, b| a.path.cmp(&b.path));
    categories
}

pub async fn categories(services: &Services, actor: &Actor) -> ServiceResult<Vec<Category>> {
    actor.require(Permission::ReadCases)?;
    Ok(tree(store::categories(services.store.conn()).await?))
}

pub async fn add_category(
    services: &Services,
    actor: &Actor,
    name: Option<&str>,
    parent_id: Option<&str>,
) -> ServiceResult<Category> {
    actor.require(Permission::ManageCases)?;
    let mut errors = Invalid::default();
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        errors.push("name", "required");
    } else if name.chars().count() > 40 {
        errors.push("name", "too_long");
    }
    let tx = services.store.begin_write().await?;
    let parent = parent_id.map(str::trim).filter(|p| !p.is_empty()).map(CaseCategoryId::from);
    if let Some(p) = &parent
        && store::find_category(&tx, p).await?.is_none()
    {
        errors.push("parent_id", "unknown_category");
    }
    let existing = store::categories(&tx).await?;
    if existing.iter().any(|c| c.name == name && c.parent_id == parent) {
        errors.push("name", "taken");
    }
    errors.into_result()?;
    let row = CategoryRow {
        id: CaseCategoryId::from(loupan_store::new_id()),
        parent_id: parent,
        name: name.to_owned(),
        created_at: services.clock.now(),
    };
    store::insert_category(&tx, &row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    let id = row.id.clone();
    let mut all = existing;
    all.push(row);
    tree(all).into_iter().find(|c| c.id == id).ok_or(ServiceError::NotFound("category"))
}

/// Who gets a project's cases of a kind and category: handlers in turn, and
/// the supervisor escalations go to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: CaseRuleId,
    pub project_id: ProjectId,
    /// None: every kind.
    pub kind: Option<CaseKind>,
    /// None: every category.
    pub category_id: Option<CaseCategoryId>,
    pub handler_ids: Vec<UserId>,
    pub supervisor_id: Option<UserId>,
    /// The supervisor's name (not always one of the project's handlers).
    pub supervisor_name: Option<String>,
}

async fn rule_of<C: Connection>(conn: &C, row: RuleRow) -> ServiceResult<Rule> {
    let supervisor_name = match &row.supervisor_id {
        Some(id) => loupan_store::users::find_user(conn, id).await?.map(|u| u.display_name),
        None => None,
    };
    Ok(Rule {
        supervisor_name,
        handler_ids: serde_json::from_str(&row.handler_ids).map_err(ServiceError::internal)?,
        id: row.id,
        project_id: row.project_id,
        kind: row.kind,
        category_id: row.category_id,
        supervisor_id: row.supervisor_id,
    })
}

fn check_project(actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    if actor.sees_project(project_id) { Ok(()) } else { Err(ServiceError::NotFound("project")) }
}

pub async fn rules(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Vec<Rule>> {
    actor.require(Permission::ReadCases)?;
    check_project(actor, project_id)?;
    let conn = services.store.conn();
    if loupan_store::inventory::find_project(conn, project_id).await?.is_none() {
        return Err(ServiceError::NotFound("project"));
    }
    let mut rules = Vec::new();
    for row in store::rules_of(conn, project_id).await? {
        rules.push(rule_of(conn, row).await?);
    }
    Ok(rules)
}

/// A rule to add, as typed.
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    pub kind: Option<String>,
    pub category_id: Option<String>,
    pub handler_ids: Vec<String>,
    pub supervisor_id: Option<String>,
}

pub async fn add_rule(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: RuleForm,
) -> ServiceResult<Rule> {
    actor.require(Permission::ManageCases)?;
    check_project(actor, project_id)?;
    let tx = services.store.begin_write().await?;
    if loupan_store::inventory::find_project(&tx, project_id).await?.is_none() {
        return Err(ServiceError::NotFound("project"));
    }
    let mut errors = Invalid::default();
    let text = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let kind = match text(&form.kind) {
        None => None,
        Some(k) => CaseKind::parse(&k).or_else(|| {
            errors.push("kind", "unknown_value");
            None
        }),
    };
    let category_id = text(&form.category_id).map(CaseCategoryId::from);
    if let Some(c) = &category_id
        && store::find_category(&tx, c).await?.is_none()
    {
        errors.push("category_id", "unknown_category");
    }
    let mut handlers: Vec<UserId> = Vec::new();
    for h in form.handler_ids.iter().map(|h| h.trim()) {
        // A blank id names nobody who works cases.
        if h.is_empty() {
            errors.push("handler_ids", "cannot_work_cases");
            continue;
        }
        let h = UserId::from(h);
        if handlers.contains(&h) {
            continue;
        }
        if !super::may_work(&tx, &h, project_id).await? {
            errors.push("handler_ids", "cannot_work_cases");
        }
        handlers.push(h);
    }
    if form.handler_ids.is_empty() {
        errors.push("handler_ids", "required");
    }
    let supervisor_id = text(&form.supervisor_id).map(UserId::from);
    if let Some(s) = &supervisor_id
        && loupan_store::users::find_user(&tx, s).await?.is_none_or(|u| u.disabled)
    {
        errors.push("supervisor_id", "unknown_user");
    }
    let same =
        store::rules_of(&tx, project_id).await?.into_iter().any(|r| r.kind == kind && r.category_id == category_id);
    if same {
        errors.push("kind", "rule_exists");
    }
    errors.into_result()?;
    let row = RuleRow {
        id: CaseRuleId::from(loupan_store::new_id()),
        project_id: project_id.clone(),
        kind,
        category_id,
        handler_ids: serde_json::to_string(&handlers).map_err(ServiceError::internal)?,
        supervisor_id,
        turns: 0,
        created_at: services.clock.now(),
    };
    store::insert_rule(&tx, &row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "case_rule.created",
            record_type: "case_rule",
            record_id: row.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"project_id": project_id, "kind": kind.map(CaseKind::name),
                "category_id": row.category_id, "handler_ids": handlers, "supervisor_id": row.supervisor_id})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    rule_of(services.store.conn(), row).await
}

pub async fn delete_rule(services: &Services, actor: &Actor, id: &CaseRuleId) -> ServiceResult<()> {
    actor.require(Permission::ManageCases)?;
    let tx = services.store.begin_write().await?;
    match store::find_rule(&tx, id).await? {
        Some(r) if actor.sees_project(&r.project_id) => {}
        _ => return Err(ServiceError::NotFound("case_rule")),
    }
    store::delete_rule(&tx, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "case_rule.deleted",
            record_type: "case_rule",
            record_id: id.as_str(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)
}
