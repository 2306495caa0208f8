//! 异常客户 (C2): the customers a manager should look at — no contact for N
//! days, money overdue on a contract, a deal cancelled lately — each with why.
//! Agents see their own customers' exceptions, managers their projects'.

use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId, UserId};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::customers::PhoneNumber;
use loupan_domain::sales::ChangeKind;
use loupan_domain::{Invalid, Money};
use loupan_store::customers::{self as store, CustomerRow};
use serde::Serialize;

use crate::{Actor, ServiceResult, Services};

/// Days without contact after which a customer is flagged (here and on the workbench).
pub const STALE_AFTER_DAYS: i64 = 14;

/// How far back a cancelled deal still counts.
pub const CANCELLED_WITHIN_DAYS: i64 = 30;
const MAX_ROWS: u64 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct ExceptionCustomer {
    pub id: CustomerId,
    pub name: String,
    /// Masked.
    pub phone: String,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub owner_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Silent {
    pub customer: ExceptionCustomer,
    /// The last contact, or `None` when never contacted since registration.
    pub last_contact_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    pub days_silent: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    pub customer: ExceptionCustomer,
    pub overdue: Money,
    pub overdue_since: NaiveDate,
    pub days_overdue: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    pub customer: ExceptionCustomer,
    /// `cancel_contract` (退房) or `cancel_subscription` (退订).
    pub kind: ChangeKind,
    pub deal_id: String,
    pub reason: String,
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exceptions {
    pub silent_days: i64,
    pub silent: Vec<Silent>,
    pub overdue: Vec<Overdue>,
    pub cancelled: Vec<Cancelled>,
}

/// The exceptions of the customers the actor may see; `days`: silence that
/// counts (default: the workbench's 14), `project_id`: one project.
pub async fn list(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
    days: Option<i64>,
) -> ServiceResult<Exceptions> {
    let scope = crate::customers::scope_of(actor)?;
    let silent_days = days.unwrap_or(STALE_AFTER_DAYS);
    if !(1..=3650).contains(&silent_days) {
        return Err(Invalid::one("days", "out_of_range").into());
    }
    let conn = services.store.conn();
    let now = services.clock.now();
    let today = services.clock.today();
    let mut names: HashMap<UserId, String> = HashMap::new();

    let stale =
        store::stale_customers(conn, &scope, project_id, now - chrono::Duration::days(silent_days), MAX_ROWS).await?;
    let mut silent = Vec::with_capacity(stale.len());
    for row in stale {
        let since = row.last_contact_at.unwrap_or(row.created_at);
        silent.push(Silent {
            last_contact_at: row.last_contact_at,
            registered_at: row.created_at,
            days_silent: (now - since).num_days(),
            customer: person(conn, &mut names, row).await?,
        });
    }

    // Money and cancellations are found per deal, then kept to the customers the actor sees.
    let mut overdue = Vec::new();
    let owing =
        loupan_store::customers::customers_with_overdue_money(conn, actor.visible_projects(), project_id, today)
            .await?;
    let rows = visible_rows(conn, actor, owing.iter().map(|(id, _, _)| id.clone()).collect()).await?;
    for (id, fen, since) in owing {
        if let Some(row) = rows.get(&id) {
            overdue.push(Overdue {
                customer: person(conn, &mut names, row.clone()).await?,
                overdue: fen,
                overdue_since: since,
                days_overdue: (today - since).num_days(),
            });
        }
        if overdue.len() as u64 >= MAX_ROWS {
            break;
        }
    }

    let changes = loupan_store::sales::cancellations_since(
        conn,
        actor.visible_projects(),
        project_id,
        now - chrono::Duration::days(CANCELLED_WITHIN_DAYS),
    )
    .await?;
    let ids = |kind: ChangeKind| changes.iter().filter(move |c| c.kind == kind).map(|c| c.subject_id.as_str());
    let mut buyer_of: HashMap<String, CustomerId> = HashMap::new();
    for k in loupan_store::finance::contracts_by_ids(
        conn,
        &ids(ChangeKind::CancelContract).map(ContractId::from).collect::<Vec<_>>(),
    )
    .await?
    {
        buyer_of.insert(k.id.to_string(), k.customer_id);
    }
    for s in loupan_store::finance::subscriptions_by_ids(
        conn,
        &ids(ChangeKind::CancelSubscription).map(SubscriptionId::from).collect::<Vec<_>>(),
    )
    .await?
    {
        buyer_of.insert(s.id.to_string(), s.customer_id);
    }
    let rows = visible_rows(conn, actor, buyer_of.values().cloned().collect()).await?;
    let mut cancelled = Vec::new();
    for change in changes {
        let Some(row) = buyer_of.get(&change.subject_id).and_then(|c| rows.get(c)) else { continue };
        cancelled.push(Cancelled {
            customer: person(conn, &mut names, row.clone()).await?,
            kind: change.kind,
            deal_id: change.subject_id,
            reason: change.reason,
            cancelled_at: change.decided_at.unwrap_or(change.created_at),
        });
    }
    Ok(Exceptions { silent_days, silent, overdue, cancelled })
}

/// The customers among `ids` the actor may see, as an exception lists them.
pub(crate) async fn visible_people<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    ids: Vec<CustomerId>,
) -> ServiceResult<HashMap<CustomerId, ExceptionCustomer>> {
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut out = HashMap::new();
    for (id, row) in visible_rows(conn, actor, ids).await? {
        out.insert(id, person(conn, &mut names, row).await?);
    }
    Ok(out)
}

/// The customers among `ids` the actor may see, by id.
async fn visible_rows<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    mut ids: Vec<CustomerId>,
) -> ServiceResult<HashMap<CustomerId, CustomerRow>> {
    ids.sort();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in store::customers_by_ids(conn, chunk).await? {
            if row.merged_into.is_none() && crate::customers::may_see(actor, &row) {
                out.insert(row.id.clone(), row);
            }
        }
    }
    Ok(out)
}

async fn person<C: loupan_store::Connection>(
    conn: &C,
    names: &mut HashMap<UserId, String>,
    row: CustomerRow,
) -> ServiceResult<ExceptionCustomer> {
    let owner_name = match names.get(&row.owner_id) {
        Some(n) => n.clone(),
        None => {
            let n = loupan_store::users::find_user(conn, &row.owner_id)
                .await?
                .map_or_else(|| row.owner_id.to_string(), |u| u.display_name);
            names.insert(row.owner_id.clone(), n.clone());
            n
        }
    };
    Ok(ExceptionCustomer {
        phone: PhoneNumber::parse(&row.phone).map(|p| p.masked()).unwrap_or_default(),
        id: row.id,
        name: row.name,
        project_id: row.project_id,
        owner_id: row.owner_id,
        owner_name,
    })
}
