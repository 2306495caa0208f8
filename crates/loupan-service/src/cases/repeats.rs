//! Repeat complainers (重复投诉, C2 and C4): a customer with the desk's number
//! of complaints within its period (3 in 90 days unless set) is a customer
//! exception, and each complaint from the one that reaches the number alerts
//! the customer's agent and the case's supervisor (without one, the
//! administrators of the project). Merged cases are the same event as
//! another and do not count.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use loupan_domain::cases::CaseKind;
use loupan_domain::ids::{CustomerId, ProjectId};
use loupan_domain::platform::NotificationKind;
use loupan_domain::sentence::Sentence;
use loupan_store::Connection;
use loupan_store::cases::{self as store, CaseRow};
use serde::Serialize;

use super::settings::desk_settings;
use crate::customers::exceptions::{ExceptionCustomer, visible_people};
use crate::platform::notifications::{self, Notice};
use crate::{Actor, ServiceResult, Services};

/// Most repeat complainers listed.
const MAX_ROWS: u64 = 200;

/// Alerts when `row`, a complaint of a known customer, is one of the desk's
/// number within its period (called when the case is registered or linked).
pub(crate) async fn alert_if_repeated<C: Connection>(conn: &C, row: &CaseRow, now: DateTime<Utc>) -> ServiceResult<()> {
    if row.kind != CaseKind::Complaint {
        return Ok(());
    }
    let Some(customer_id) = &row.customer_id else { return Ok(()) };
    let desk = desk_settings(conn).await?;
    if desk.repeat_complaints == 0 {
        return Ok(());
    }
    let complaints = store::complaints_since(conn, customer_id, now - Duration::days(desk.repeat_days)).await?;
    if i64::try_from(complaints).unwrap_or(i64::MAX) < desk.repeat_complaints {
        return Ok(());
    }
    let Some(customer) = loupan_store::customers::find_customer(conn, customer_id).await? else { return Ok(()) };
    let desk_people = match &row.supervisor_id {
        Some(supervisor) => vec![supervisor.clone()],
        None => loupan_store::approvals::users_with_role(conn, "admin", Some(&row.project_id), true).await?,
    };
    let (count, days) = (complaints.to_string(), desk.repeat_days.to_string());
    let title = format!("{}：{days} 天内第 {count} 次投诉（{}）", customer.name, row.number);
    let said = Sentence::new(
        "case_alert.repeated_complaints",
        &[("customer", customer.name.clone()), ("count", count), ("days", days), ("number", row.number.clone())],
    );
    // The desk opens the case; the customer's agent, who may not read cases, the customer.
    let customer_page = format!("/customers/{}", customer.id);
    for (recipients, link) in [(desk_people, super::link_of(&row.id)), (vec![customer.owner_id.clone()], customer_page)]
    {
        notifications::notify(
            conn,
            &recipients,
            &Notice {
                kind: NotificationKind::RepeatedComplaints,
                title: &title,
                title_said: Some(&said),
                body: "",
                link: &link,
            },
        )
        .await?;
    }
    Ok(())
}

/// A customer with the desk's number of complaints or more within its period.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatComplainer {
    pub customer: ExceptionCustomer,
    /// Complaints within the period (merged ones not counted).
    pub complaints: i64,
}

/// The repeat complainers the actor may see, with the rule that found them.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatComplainers {
    /// Complaints that make a repeat complainer (0: the rule is off, nobody listed).
    pub complaints: i64,
    /// Within this many days up to today.
    pub days: i64,
    pub customers: Vec<RepeatComplainer>,
}

/// The customer exceptions of repeated complaints, for those who see the other
/// exceptions (agents: their own customers; managers: their projects').
pub async fn repeat_complainers(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
) -> ServiceResult<RepeatComplainers> {
    crate::customers::scope_of(actor)?;
    let conn = services.store.conn();
    let desk = desk_settings(conn).await?;
    let mut found =
        RepeatComplainers { complaints: desk.repeat_complaints, days: desk.repeat_days, customers: Vec::new() };
    if desk.repeat_complaints == 0 {
        return Ok(found);
    }
    let since = services.clock.now() - Duration::days(desk.repeat_days);
    let rows =
        store::repeat_complainers(conn, actor.visible_projects(), project_id, since, desk.repeat_complaints, MAX_ROWS)
            .await?;
    let mut people: HashMap<CustomerId, ExceptionCustomer> =
        visible_people(conn, actor, rows.iter().map(|(id, _)| id.clone()).collect()).await?;
    found.customers = rows
        .into_iter()
        .filter_map(|(id, complaints)| people.remove(&id).map(|customer| RepeatComplainer { customer, complaints }))
        .collect();
    Ok(found)
}
