//! Customer grades (C3): each project's managers define rules — conditions on
//! needs, visits and deals — tried in order; the first rule that holds gives
//! the grade. A grade typed by hand overrides the rules until it is cleared.
//! Grades follow a customer's registration, profile changes and follow-ups at
//! once; after the rules change, `apply` grades the project's customers again.

use loupan_domain::ids::{CustomerId, ProjectId};
use std::collections::HashMap;

use loupan_domain::{Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::customers::{self as store, CustomerRow, GradeRuleRow};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// What must all hold for a rule's grade; an absent condition always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeConditions {
    /// At least this many visits (来访) recorded as follow-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_visits: Option<u32>,
    /// A budget of at least this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_budget: Option<Money>,
    /// An active subscription or contract (true), or none (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_deal: Option<bool>,
    /// The purpose is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
    /// Last contact within this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacted_within_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GradeRule {
    pub grade: String,
    pub conditions: GradeConditions,
}

/// A rule as typed: the grade and its conditions.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GradeRuleInput {
    pub grade: Option<String>,
    #[serde(default)]
    pub conditions: GradeConditions,
}

/// The facts rules look at beyond the customer row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub visits: u32,
    pub has_deal: bool,
}

impl GradeConditions {
    fn hold(&self, c: &CustomerRow, facts: Facts, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.min_visits.is_none_or(|n| facts.visits >= n)
            && self.min_budget.is_none_or(|m| c.budget.is_some_and(|b| b >= m))
            && self.has_deal.is_none_or(|d| facts.has_deal == d)
            && (self.purposes.is_empty() || c.purpose.as_ref().is_some_and(|p| self.purposes.contains(p)))
            && self.contacted_within_days.is_none_or(|days| {
                c.last_contact_at.is_some_and(|at| now - at <= chrono::Duration::days(i64::from(days)))
            })
    }
}

/// A project's rules, in order.
pub(crate) struct Rules(Vec<GradeRule>);

impl Rules {
    pub(crate) async fn of_project<C: Connection>(conn: &C, project_id: &ProjectId) -> ServiceResult<Rules> {
        let rows = store::grade_rules_of(conn, project_id).await?;
        Ok(Rules(rows.iter().map(rule_of).collect::<ServiceResult<_>>()?))
    }

    /// The grade the rules give, or `None` when the project has no rules (the grade stays).
    fn grade(&self, c: &CustomerRow, facts: Facts, now: chrono::DateTime<chrono::Utc>) -> Option<Option<String>> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.iter().find(|r| r.conditions.hold(c, facts, now)).map(|r| r.grade.clone()))
    }

    /// Grades a customer about to be registered (no visits or deals yet) unless graded by hand.
    pub(crate) fn grade_new(&self, row: &mut CustomerRow, now: chrono::DateTime<chrono::Utc>) {
        if !row.grade_manual
            && let Some(grade) = self.grade(row, Facts::default(), now)
        {
            row.grade = grade;
        }
    }
}

fn rule_of(row: &GradeRuleRow) -> ServiceResult<GradeRule> {
    Ok(GradeRule {
        grade: row.grade.clone(),
        conditions: serde_json::from_str(&row.conditions).map_err(ServiceError::internal)?,
    })
}

/// Grades these customers again by their projects' rules (hand-set grades
/// stay); how many grades changed.
pub(crate) async fn regrade<C: Connection>(
    conn: &C,
    customer_ids: &[CustomerId],
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<u64> {
    let rows = store::customers_by_ids(conn, customer_ids).await?;
    let rows: Vec<CustomerRow> = rows.into_iter().filter(|r| !r.grade_manual && r.merged_into.is_none()).collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let mut rules: HashMap<ProjectId, Rules> = HashMap::new();
    for r in &rows {
        if !rules.contains_key(&r.project_id) {
            rules.insert(r.project_id.clone(), Rules::of_project(conn, &r.project_id).await?);
        }
    }
    if rules.values().all(|r| r.0.is_empty()) {
        return Ok(0);
    }
    let ids: Vec<CustomerId> = rows.iter().map(|r| r.id.clone()).collect();
    let facts = store::grading_facts(conn, &ids).await?;
    let mut changes = Vec::new();
    for r in &rows {
        let f = facts.get(&r.id).map(|(visits, has_deal)| Facts { visits: *visits, has_deal: *has_deal });
        if let Some(grade) = rules[&r.project_id].grade(r, f.unwrap_or_default(), now)
            && grade != r.grade
        {
            changes.push((r.id.clone(), grade));
        }
    }
    Ok(store::set_rule_grades(conn, &changes).await?)
}

fn check_project(actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    if actor.sees_project(project_id) { Ok(()) } else { Err(ServiceError::NotFound("project")) }
}

pub async fn rules(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Vec<GradeRule>> {
    actor.require(Permission::ReadCustomers)?;
    check_project(actor, project_id)?;
    Ok(Rules::of_project(services.store.conn(), project_id).await?.0)
}

/// Replaces a project's grade rules (managers); existing grades change when
/// the rules are applied.
pub async fn set_rules(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    input: Vec<GradeRuleInput>,
) -> ServiceResult<Vec<GradeRule>> {
    actor.require(Permission::ManageCustomers)?;
    check_project(actor, project_id)?;
    let mut errors = Invalid::default();
    if input.len() > 20 {
        errors.push("rules", "too_many");
    }
    let mut rules = Vec::new();
    for (i, r) in input.into_iter().enumerate().take(20) {
        let grade =
            loupan_domain::validation::required_text(&mut errors, &format!("rules[{i}].grade"), r.grade.as_deref(), 20);
        let c = r.conditions;
        if c.purposes.iter().any(|p| !loupan_domain::customers::PURPOSES.contains(&p.as_str())) {
            errors.push(format!("rules[{i}].conditions.purposes"), "unknown_purpose");
        }
        if c.min_budget.is_some_and(|m| m.is_negative()) {
            errors.push(format!("rules[{i}].conditions.min_budget"), "must_not_be_negative");
        }
        if c.contacted_within_days.is_some_and(|d| d == 0 || d > 3650) {
            errors.push(format!("rules[{i}].conditions.contacted_within_days"), "out_of_range");
        }
        if c.min_visits.is_some_and(|v| v > 1000) {
            errors.push(format!("rules[{i}].conditions.min_visits"), "out_of_range");
        }
        rules.push(GradeRule { grade, conditions: c });
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    if loupan_store::inventory::find_project(&tx, project_id).await?.is_none() {
        return Err(ServiceError::NotFound("project"));
    }
    let before = Rules::of_project(&tx, project_id).await?.0;
    let now = services.clock.now();
    let rows: Vec<GradeRuleRow> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(GradeRuleRow {
                id: loupan_store::new_id(),
                project_id: project_id.to_owned(),
                position: i32::try_from(i).unwrap_or(i32::MAX),
                grade: r.grade.clone(),
                conditions: serde_json::to_string(&r.conditions).map_err(ServiceError::internal)?,
                updated_by: actor.display_name.clone(),
                updated_at: now,
            })
        })
        .collect::<ServiceResult<_>>()?;
    store::set_grade_rules(&tx, project_id, &rows).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.grade_rules",
            record_type: "project",
            record_id: project_id.as_str(),
            before: crate::platform::audit::snapshot(&before)?,
            after: crate::platform::audit::snapshot(&rules)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(rules)
}

#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Customers looked at (hand-graded ones are skipped).
    pub checked: u64,
    /// Grades that changed.
    pub changed: u64,
}

/// Grades every customer of the project again by its rules, a page at a time
/// (each page its own transaction, so a large project does not hold the writer).
pub async fn apply(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Applied> {
    actor.require(Permission::ManageCustomers)?;
    check_project(actor, project_id)?;
    let mut applied = Applied { checked: 0, changed: 0 };
    let mut after: Option<CustomerId> = None;
    loop {
        let tx = services.store.begin_write().await?;
        let ids = store::customer_ids_of_project(&tx, project_id, after.as_ref(), 400).await?;
        let Some(last) = ids.last().cloned() else { break };
        applied.changed += regrade(&tx, &ids, services.clock.now()).await?;
        applied.checked += ids.len() as u64;
        tx.commit().await.map_err(ServiceError::internal)?;
        after = Some(last);
    }
    let tx = services.store.begin_write().await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.apply_grade_rules",
            record_type: "project",
            record_id: project_id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&applied)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(applied)
}
