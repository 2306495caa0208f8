//! The workbench (工作台): what needs the user's attention. Approvals arrive
//! with the approval engine; today the alerts are customers nobody followed up,
//! duplicate records waiting for a ruling, and overdue instalments.

use loupan_domain::Permission;
use serde::Serialize;

use crate::{Actor, ServiceResult, Services};

/// Days without contact after which a customer is flagged.
pub const STALE_AFTER_DAYS: i64 = 14;

/// Every kind of alert, for translations and clients.
pub const ALERT_KINDS: [&str; 4] = ["stale_customers", "open_duplicates", "overdue_instalments", "pending_changes"];

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
        let before = loupan_store::now() - chrono::Duration::days(STALE_AFTER_DAYS);
        let count = loupan_store::customers::count_stale_customers(conn, &scope, before).await?;
        if count > 0 {
            out.push(Alert { kind: "stale_customers", count, link: "/customers" });
        }
    }
    if actor.can(Permission::ManageCustomers) {
        let open = loupan_store::customers::list_duplicates(conn, actor.visible_projects(), Some("open"), 1000).await?;
        if !open.is_empty() {
            out.push(Alert { kind: "open_duplicates", count: open.len() as u64, link: "/customers/duplicates" });
        }
    }
    if actor.can(Permission::DecideDealChanges) {
        let pending = loupan_store::sales::deal_changes(conn, actor.visible_projects(), Some("requested")).await?;
        if !pending.is_empty() {
            out.push(Alert { kind: "pending_changes", count: pending.len() as u64, link: "/sales/changes" });
        }
    }
    if actor.can(Permission::ReadFinance) {
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        let open = loupan_store::sales::open_instalments(conn, actor.visible_projects(), None).await?;
        let overdue = open.iter().filter(|(_, _, _, due, _)| *due < today).count() as u64;
        if overdue > 0 {
            out.push(Alert { kind: "overdue_instalments", count: overdue, link: "/finance/ageing" });
        }
    }
    Ok(out)
}
