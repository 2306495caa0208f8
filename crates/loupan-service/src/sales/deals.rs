//! Lists of deals: subscriptions and contracts found by project, building,
//! status, agent, customer and date, newest first, a page at a time or
//! exported whole; and the display names of a deal's unit, buyer and agent
//! that every list and report shows.

use loupan_domain::ids::{BuildingId, CustomerId, ProjectId, UnitId, UserId};
use std::collections::HashMap;

use chrono::NaiveDate;
use loupan_documents::xlsx::{self, Cell};
use loupan_domain::customers::PhoneNumber;
use loupan_domain::sales::{ContractStatus, SubscriptionStatus};
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::sales::{self as store, DealFilter};
use loupan_store::{customers as store_customers, inventory as store_inventory, users as store_users};
use serde::Serialize;

use crate::sales::{Contract, Subscription, sees_own_deals_only};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Display names for the deals of a report, loaded once each.
pub(crate) struct Names {
    units: HashMap<UnitId, String>,
    customers: HashMap<CustomerId, (String, String)>,
    users: HashMap<UserId, String>,
}

/// The unit, customer and agent of a deal.
pub(crate) type DealParties<'a> = (&'a UnitId, &'a CustomerId, &'a UserId);

impl Names {
    pub(crate) async fn load<C: loupan_store::Connection>(conn: &C, deals: &[DealParties<'_>]) -> ServiceResult<Names> {
        fn distinct<T: Ord>(deals: &[DealParties<'_>], pick: fn(&DealParties<'_>) -> T) -> Vec<T> {
            let mut ids: Vec<T> = deals.iter().map(pick).collect();
            ids.sort();
            ids.dedup();
            ids
        }
        let mut customers = HashMap::new();
        for chunk in distinct(deals, |d| d.1.clone()).chunks(500) {
            for c in store_customers::customers_by_ids(conn, chunk).await? {
                let phone = PhoneNumber::parse(&c.phone).map(|p| p.masked()).unwrap_or_default();
                customers.insert(c.id, (c.name, phone));
            }
        }
        let mut units = HashMap::new();
        for chunk in distinct(deals, |d| d.0.clone()).chunks(500) {
            for u in store_inventory::units_by_ids(conn, chunk).await? {
                units.insert(u.id, u.number);
            }
        }
        let mut users = HashMap::new();
        for agent in distinct(deals, |d| d.2.clone()) {
            let name = store_users::find_user(conn, &agent).await?.map(|u| u.display_name).unwrap_or_default();
            users.insert(agent, name);
        }
        Ok(Names { units, customers, users })
    }

    pub(crate) fn unit(&self, id: &UnitId) -> String {
        self.units.get(id).cloned().unwrap_or_default()
    }

    pub(crate) fn customer(&self, id: &CustomerId) -> (String, String) {
        self.customers.get(id).cloned().unwrap_or_default()
    }

    pub(crate) fn user(&self, id: &UserId) -> String {
        self.users.get(id).cloned().unwrap_or_default()
    }
}

/// Rows per page when the caller does not say, and at most.
pub const DEFAULT_PAGE: u64 = 50;
pub const MAX_PAGE: u64 = 500;

/// A search for deals; every condition is optional and all hold together.
#[derive(Debug, Clone, Default)]
pub struct DealQuery<S> {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    pub status: Option<S>,
    pub agent_id: Option<String>,
    pub customer_id: Option<String>,
    /// The deal's date (subscribed on / signed on), both ends included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// A deal in a list, with the names a reader needs beside its ids.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Listed<D> {
    #[serde(flatten)]
    pub deal: D,
    pub unit_number: String,
    pub customer_name: String,
    /// Masked (`138****5678`).
    pub customer_phone: String,
    pub agent_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DealPage<D> {
    pub items: Vec<D>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Checks the query and narrows it to what the reader may see: their
/// projects, and an agent's own deals.
fn filter<S>(actor: &Actor, q: &DealQuery<S>) -> ServiceResult<(DealFilter, u64)> {
    actor.require(Permission::ReadDeals)?;
    let mut errors = Invalid::default();
    let text = |t: &Option<String>| t.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let after = match text(&q.cursor) {
        None => None,
        Some(c) => match c.split_once(',').and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned()))) {
            Some(after) => Some(after),
            None => {
                errors.push("cursor", "invalid_cursor");
                None
            }
        },
    };
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        errors.push("to", "invalid_range");
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        errors.push("limit", "out_of_range");
    }
    errors.into_result()?;
    let mut agent_id = text(&q.agent_id).map(UserId::from);
    if sees_own_deals_only(actor) {
        // Asking for another agent's deals finds none, like any other condition.
        match (&agent_id, &actor.user_id) {
            (Some(asked), Some(me)) if asked != me => agent_id = Some(UserId::default()),
            _ => agent_id = actor.user_id.clone(),
        }
    }
    let filter = DealFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project_id: text(&q.project_id).map(ProjectId::from),
        building_id: text(&q.building_id).map(BuildingId::from),
        agent_id,
        customer_id: text(&q.customer_id).map(CustomerId::from),
        from: q.from,
        to: q.to,
        after,
    };
    Ok((filter, limit))
}

fn cursor(date: NaiveDate, id: &str) -> String {
    format!("{date},{id}")
}

async fn named<D, R>(
    services: &Services,
    rows: Vec<R>,
    limit: u64,
    parties: impl Fn(&R) -> (UnitId, CustomerId, UserId, NaiveDate, String),
    view: impl Fn(R) -> D,
) -> ServiceResult<DealPage<Listed<D>>> {
    let mut rows = rows;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let keys: Vec<_> = rows.iter().map(&parties).collect();
    let refs: Vec<DealParties<'_>> = keys.iter().map(|(u, c, a, _, _)| (u, c, a)).collect();
    let names = Names::load(services.store.conn(), &refs).await?;
    let next_cursor = if more { keys.last().map(|k| cursor(k.3, &k.4)) } else { None };
    let items = rows
        .into_iter()
        .zip(&keys)
        .map(|(row, (unit, customer, agent, _, _))| {
            let (customer_name, customer_phone) = names.customer(customer);
            Listed {
                deal: view(row),
                unit_number: names.unit(unit),
                customer_name,
                customer_phone,
                agent_name: names.user(agent),
            }
        })
        .collect();
    Ok(DealPage { items, next_cursor })
}

/// 认购 in the reader's scope, newest first.
pub async fn subscriptions(
    services: &Services,
    actor: &Actor,
    q: &DealQuery<SubscriptionStatus>,
) -> ServiceResult<DealPage<Listed<Subscription>>> {
    let (filter, limit) = filter(actor, q)?;
    let rows = store::search_subscriptions(services.store.conn(), &filter, q.status, limit + 1).await?;
    named(
        services,
        rows,
        limit,
        |r| (r.unit_id.clone(), r.customer_id.clone(), r.agent_id.clone(), r.subscribed_on, r.id.to_string()),
        Subscription::from,
    )
    .await
}

/// 签约 in the reader's scope, newest first.
pub async fn contracts(
    services: &Services,
    actor: &Actor,
    q: &DealQuery<ContractStatus>,
) -> ServiceResult<DealPage<Listed<Contract>>> {
    let (filter, limit) = filter(actor, q)?;
    let rows = store::search_contracts(services.store.conn(), &filter, q.status, limit + 1).await?;
    named(
        services,
        rows,
        limit,
        |r| (r.unit_id.clone(), r.customer_id.clone(), r.agent_id.clone(), r.signed_on, r.id.to_string()),
        Contract::from,
    )
    .await
}

/// Column keys of a deals export, in order; the caller names them in the
/// reader's language.
pub const EXPORT_COLUMNS: [&str; 8] = ["number", "date", "unit", "customer", "phone", "agent", "status", "total_price"];

/// One line of an export, whatever the kind of deal.
struct ExportLine {
    number: String,
    date: NaiveDate,
    status: String,
    total_price: Money,
}

fn sheet(
    sheet_name: &str,
    lines: Vec<(ExportLine, Listed<()>)>,
    headers: &[String],
    total_label: &str,
) -> ServiceResult<Vec<u8>> {
    let text = |t: &str| Cell::Text(t.to_owned());
    let mut total = Money::ZERO;
    let mut rows: Vec<Vec<Cell>> = Vec::with_capacity(lines.len() + 1);
    for (line, names) in &lines {
        total = total.checked_add(line.total_price).ok_or_else(|| ServiceError::internal("export total overflows"))?;
        rows.push(vec![
            text(&line.number),
            text(&line.date.to_string()),
            text(&names.unit_number),
            text(&names.customer_name),
            text(&names.customer_phone),
            text(&names.agent_name),
            text(&line.status),
            Cell::Number(line.total_price.to_spreadsheet_number()),
        ]);
    }
    let mut last = vec![Cell::Empty; EXPORT_COLUMNS.len()];
    last[0] = Cell::Text(format!("{total_label} {}", lines.len()));
    last[EXPORT_COLUMNS.len() - 1] = Cell::Number(total.to_spreadsheet_number());
    rows.push(last);
    xlsx::write_table(sheet_name, headers, &rows).map_err(ServiceError::internal)
}

fn split<D>(listed: Listed<D>) -> (D, Listed<()>) {
    let Listed { deal, unit_number, customer_name, customer_phone, agent_name } = listed;
    (deal, Listed { deal: (), unit_number, customer_name, customer_phone, agent_name })
}

/// Every deal the query finds, page after page to the last, each as an
/// export line with its names. The conditions are checked as a list's are.
async fn every_deal<S: Clone, D, F>(
    actor: &Actor,
    q: &DealQuery<S>,
    page_of: impl Fn(DealQuery<S>) -> F,
    line: impl Fn(D) -> ExportLine,
) -> ServiceResult<Vec<(ExportLine, Listed<()>)>>
where
    F: std::future::Future<Output = ServiceResult<DealPage<Listed<D>>>>,
{
    filter(actor, q)?;
    let mut q = DealQuery { cursor: None, limit: Some(MAX_PAGE), ..q.clone() };
    let mut lines = Vec::new();
    loop {
        let page = page_of(q.clone()).await?;
        lines.extend(page.items.into_iter().map(|listed| {
            let (deal, names) = split(listed);
            (line(deal), names)
        }));
        match page.next_cursor {
            Some(next) => q.cursor = Some(next),
            None => return Ok(lines),
        }
    }
}

/// Every subscription the query finds (all pages) as a spreadsheet with
/// `headers` (in `EXPORT_COLUMNS` order) and a total line.
pub async fn subscriptions_xlsx(
    services: &Services,
    actor: &Actor,
    q: &DealQuery<SubscriptionStatus>,
    headers: &[String],
    status_label: impl Fn(SubscriptionStatus) -> String,
    total_label: &str,
) -> ServiceResult<Vec<u8>> {
    let lines = every_deal(
        actor,
        q,
        |q| async move { subscriptions(services, actor, &q).await },
        |s: Subscription| ExportLine {
            number: s.number,
            date: s.subscribed_on,
            status: status_label(s.status),
            total_price: s.total_price,
        },
    )
    .await?;
    sheet("subscriptions", lines, headers, total_label)
}

/// Every contract the query finds, as `subscriptions_xlsx` does.
pub async fn contracts_xlsx(
    services: &Services,
    actor: &Actor,
    q: &DealQuery<ContractStatus>,
    headers: &[String],
    status_label: impl Fn(ContractStatus) -> String,
    total_label: &str,
) -> ServiceResult<Vec<u8>> {
    let lines = every_deal(
        actor,
        q,
        |q| async move { contracts(services, actor, &q).await },
        |k: Contract| ExportLine {
            number: k.number,
            date: k.signed_on,
            status: status_label(k.status),
            total_price: k.total_price,
        },
    )
    .await?;
    sheet("contracts", lines, headers, total_label)
}
