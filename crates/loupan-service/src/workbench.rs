//! The workbench (工作台): what needs the user's attention: approvals waiting
//! for them, their own requests still open, and alerts that modules publish
//! by adding a kind here (customers nobody followed up, duplicate records
//! waiting for a ruling, overdue instalments).

use loupan_domain::Permission;
use loupan_domain::customers::DuplicateStatus;
use serde::Serialize;

use crate::{Actor, ServiceResult, Services};

pub use crate::customers::exceptions::STALE_AFTER_DAYS;

/// Every kind of alert, for translations and clients.
pub const ALERT_KINDS: [&str; 7] = [
    "follow_ups_due",
    "stale_customers",
    "open_duplicates",
    "overdue_instalments",
    "cost_over_target",
    "cost_change_ratio",
    "cost_department_over",
];

/// The projects whose cost a member's workbench watches, at most.
const COST_PROJECTS_WATCHED: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// One of `ALERT_KINDS`.
    pub kind: &'static str,
    pub count: u64,
    /// Where the user deals with it.
    pub link: &'static str,
}

pub async fn alerts(services: &Services, actor: &Actor) -> ServiceResult<Vec<Alert>> {
    let conn = services.store.conn();
    let mut out = Vec::new();
    if actor.can(Permission::ReadCustomers)
        && let Ok(scope) = crate::customers::scope_of(actor)
    {
        let today = services.clock.today();
        let due = loupan_store::customers::count_contacts_due(conn, &scope, today).await?;
        if due > 0 {
            out.push(Alert { kind: "follow_ups_due", count: due, link: "/customers" });
        }
        let before = services.clock.now() - chrono::Duration::days(STALE_AFTER_DAYS);
        let count = loupan_store::customers::count_stale_customers(conn, &scope, before).await?;
        if count > 0 {
            out.push(Alert { kind: "stale_customers", count, link: "/customers/exceptions" });
        }
    }
    if actor.can(Permission::ManageCustomers) {
        let open =
            loupan_store::customers::list_duplicates(conn, actor.visible_projects(), Some(DuplicateStatus::Open), 1000)
                .await?;
        if !open.is_empty() {
            out.push(Alert { kind: "open_duplicates", count: open.len() as u64, link: "/customers/duplicates" });
        }
    }
    if actor.can(Permission::ReadFinance) {
        let today = services.clock.today();
        let overdue = loupan_store::sales::overdue_instalment_count(conn, actor.visible_projects(), today).await?;
        if overdue > 0 {
            out.push(Alert { kind: "overdue_instalments", count: overdue, link: "/finance/ageing" });
        }
    }
    // Cost engineers and project managers: cost items of their projects over
    // target, or with changes and visas beyond 5 % of the contracted amount;
    // a department's people: their department's items over target (PM5).
    if actor.can(Permission::ReadCost) {
        let today = services.clock.today();
        let watched: Vec<_> = actor.project_ids.iter().take(COST_PROJECTS_WATCHED).cloned().collect();
        let figures = crate::cost::figures_of_projects(conn, &watched, today, today).await?;
        let leaves = || figures.values().flat_map(|f| f.leaves());
        let over = leaves().filter(|(_, f)| f.balance().is_negative()).count() as u64;
        let changes = leaves().filter(|(_, f)| loupan_domain::cost::change_ratio_exceeded(f)).count() as u64;
        if over > 0 {
            out.push(Alert { kind: "cost_over_target", count: over, link: "/cost" });
        }
        if changes > 0 {
            out.push(Alert { kind: "cost_change_ratio", count: changes, link: "/cost" });
        }
        if let Some(department) = own_department(services, actor).await? {
            let mine = leaves()
                .filter(|(item, f)| item.department.as_ref() == Some(&department) && f.balance().is_negative())
                .count() as u64;
            if mine > 0 {
                out.push(Alert { kind: "cost_department_over", count: mine, link: "/cost/responsibility" });
            }
        }
    }
    Ok(out)
}

/// The department the signed-in user works in, if any.
pub async fn own_department(services: &Services, actor: &Actor) -> ServiceResult<Option<String>> {
    let Some(id) = &actor.user_id else { return Ok(None) };
    Ok(loupan_store::users::find_user(services.store.conn(), id).await?.and_then(|u| u.department))
}

/// Everything the workbench shows, for the page and `GET /api/v1/workbench`.
#[derive(Debug, Clone, Serialize)]
pub struct Workbench {
    pub pending_approvals: Vec<crate::approvals::InboxItem>,
    pub own_requests: Vec<crate::approvals::Request>,
    pub alerts: Vec<Alert>,
    pub unread_notifications: u64,
    /// The responsibility cost of the user's department (PM5), when they
    /// work in one and read cost.
    pub responsibility: Option<crate::cost::ResponsibilityCost>,
    /// Visitors registered at the door for the user who are with them now.
    pub visitors: Vec<crate::reception::Visit>,
    /// The current steps of service processes that are the user's to do, the
    /// soonest due first (at most `STEPS_SHOWN`), and how many there are.
    pub process_steps: Vec<crate::aftersales::processes::ProcessCaseSummary>,
    pub process_steps_total: u64,
}

/// How many of their process steps the workbench lists (the rest are a link away).
pub const STEPS_SHOWN: u64 = 20;

pub async fn workbench(services: &Services, actor: &Actor) -> ServiceResult<Workbench> {
    let (process_steps, process_steps_total) =
        crate::aftersales::processes::my_steps(services, actor, STEPS_SHOWN).await?;
    Ok(Workbench {
        pending_approvals: crate::approvals::inbox(services, actor).await?,
        own_requests: crate::approvals::submitted(services, actor, true).await?,
        alerts: alerts(services, actor).await?,
        unread_notifications: crate::platform::notifications::unread_count(services, actor).await?,
        responsibility: match actor.can(Permission::ReadCost) {
            true => match own_department(services, actor).await? {
                Some(department) => {
                    Some(crate::cost::responsibility_cost(services, actor, Some(&department), None).await?)
                }
                None => None,
            },
            false => None,
        },
        visitors: crate::reception::my_visitors(services, actor).await?,
        process_steps,
        process_steps_total,
    })
}

/// The numbers beside "approvals" and the bell in the navigation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NavCounts {
    pub approvals: u64,
    pub notifications: u64,
}

pub async fn nav_counts(services: &Services, actor: &Actor) -> ServiceResult<NavCounts> {
    Ok(NavCounts {
        approvals: crate::approvals::inbox(services, actor).await?.len() as u64,
        notifications: crate::platform::notifications::unread_count(services, actor).await?,
    })
}
