//! Combined-condition queries over receipts and payment plans (F4): finance
//! asks "mortgage money of building 3 confirmed by the bank in March over
//! 100,000" or "down payments overdue this month" and gets the rows, their
//! count and sums, and an xlsx of them. Every condition is optional; they all
//! hold together.

use chrono::NaiveDate;
use loupan_documents::xlsx::{self, Cell};
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus};
use loupan_domain::ids::{BuildingId, ContractId, ProjectId, SubscriptionId};
use loupan_domain::sales::TermKind;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::finance::{self as store, Found, InstalmentFilter, ReceiptFilter, Scope};
use serde::Serialize;

use crate::finance::reports::{amount, headers, text};
use crate::sales::deals::{DealParties, Names};
use crate::{Actor, Say, ServiceError, ServiceResult, Services};

/// Rows per page at most (and when the caller does not say); the count and
/// sums always cover every match, and `next_cursor` leads to the rest.
pub const MAX_ROWS: u64 = 1000;

/// A receipt search as typed into the form or the query string (empty fields mean "any").
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ReceiptQuery {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub payer: Option<String>,
    pub number: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to `MAX_ROWS` (the default).
    pub limit: Option<u64>,
}

/// An instalment search as typed into the form or the query string (empty fields mean "any").
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct InstalmentQuery {
    pub project_id: Option<String>,
    pub building_id: Option<String>,
    pub kind: Option<String>,
    pub due_from: Option<String>,
    pub due_to: Option<String>,
    pub state: Option<String>,
    /// The day `overdue` and `not_due` are seen from; today (Beijing) when empty.
    pub as_of: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to `MAX_ROWS` (the default).
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiptHit {
    pub id: String,
    pub project_id: ProjectId,
    pub number: Option<String>,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    /// The deal's number (contract or subscription), unit and buyer.
    pub deal_number: String,
    pub unit_number: String,
    pub customer_name: String,
    pub payer: Option<String>,
    pub amount: Money,
    pub received_on: NaiveDate,
    pub channel: ReceiptChannel,
    pub status: ReceiptStatus,
    pub reverses: Option<String>,
    pub reversed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiptSearch {
    /// One page, newest first.
    pub items: Vec<ReceiptHit>,
    /// Every match, on every page.
    pub count: i64,
    pub total: Money,
    /// More pages follow.
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstalmentHit {
    pub id: String,
    pub contract_id: ContractId,
    pub contract_number: String,
    pub project_id: ProjectId,
    pub unit_number: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub agent_name: String,
    pub seq: i32,
    pub kind: TermKind,
    pub due_date: NaiveDate,
    pub amount: Money,
    pub paid: Money,
    pub unpaid: Money,
    /// Days past due on `as_of` while money is open; 0 otherwise.
    pub days_overdue: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstalmentSearch {
    pub as_of: NaiveDate,
    pub items: Vec<InstalmentHit>,
    pub count: i64,
    pub amount: Money,
    pub paid: Money,
    pub unpaid: Money,
    /// More pages follow.
    pub truncated: bool,
    pub next_cursor: Option<String>,
}

fn text_of(t: &Option<String>) -> Option<&str> {
    t.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn date(errors: &mut Invalid, field: &'static str, t: &Option<String>) -> Option<NaiveDate> {
    let t = text_of(t)?;
    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok()
}

fn money(errors: &mut Invalid, field: &'static str, t: &Option<String>) -> Option<Money> {
    let t = text_of(t)?;
    Money::parse(t).map_err(|e| errors.push(field, e.code())).ok()
}

/// A status or kind by name; an unknown one is `code` on the field.
fn named<T: std::str::FromStr>(
    errors: &mut Invalid,
    field: &'static str,
    t: &Option<String>,
    code: &'static str,
) -> Option<T> {
    let t = text_of(t)?;
    t.parse().map_err(|_| errors.push(field, code)).ok()
}

/// The projects a query covers: the caller's, narrowed to one if asked (a
/// project they do not see then finds nothing, like any other condition).
fn scope<'a>(actor: &'a Actor, project_id: Option<&'a ProjectId>) -> ServiceResult<Scope<'a>> {
    actor.require(Permission::ReadFinance)?;
    Ok(Scope { projects: actor.visible_projects(), project_id })
}

/// The cursor and page size of a query.
fn page(errors: &mut Invalid, cursor: &Option<String>, limit: Option<u64>) -> (Option<(NaiveDate, String)>, u64) {
    let after = text_of(cursor).and_then(|c| {
        let parsed = c.split_once(',').and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned())));
        if parsed.is_none() {
            errors.push("cursor", "invalid_cursor");
        }
        parsed
    });
    let limit = limit.unwrap_or(MAX_ROWS);
    if !(1..=MAX_ROWS).contains(&limit) {
        errors.push("limit", "out_of_range");
    }
    (after, limit)
}

fn cursor_of(date: NaiveDate, id: &str) -> String {
    format!("{date},{id}")
}

fn range_errors<T: PartialOrd>(errors: &mut Invalid, field: &'static str, low: Option<T>, high: Option<T>) {
    if let (Some(l), Some(h)) = (low, high)
        && l > h
    {
        errors.push(field, "invalid_range");
    }
}

pub async fn receipts(services: &Services, actor: &Actor, q: &ReceiptQuery) -> ServiceResult<ReceiptSearch> {
    let project = text_of(&q.project_id).map(ProjectId::from);
    let scope = scope(actor, project.as_ref())?;
    let mut errors = Invalid::default();
    let filter = ReceiptFilter {
        building_id: text_of(&q.building_id).map(BuildingId::from),
        status: named(&mut errors, "status", &q.status, "unknown_status"),
        channel: named(&mut errors, "channel", &q.channel, "unknown_channel"),
        from: date(&mut errors, "from", &q.from),
        to: date(&mut errors, "to", &q.to),
        min_amount: money(&mut errors, "min_amount", &q.min_amount),
        max_amount: money(&mut errors, "max_amount", &q.max_amount),
        payer: text_of(&q.payer).map(str::to_owned),
        number: text_of(&q.number).map(str::to_owned),
    };
    range_errors(&mut errors, "to", filter.from, filter.to);
    range_errors(&mut errors, "max_amount", filter.min_amount, filter.max_amount);
    let (after, limit) = page(&mut errors, &q.cursor, q.limit);
    errors.into_result()?;
    let conn = services.store.conn();
    let after = after.as_ref().map(|(d, id)| (*d, id.as_str()));
    let (mut rows, found) = store::search_receipts(conn, scope, &filter, after, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| cursor_of(r.received_on, &r.id))
    } else {
        None
    };
    // The deal of each receipt, for its number, unit and buyer.
    fn ids<T: Ord + Clone>(rows: &[store::ReceiptRow], pick: fn(&store::ReceiptRow) -> Option<&T>) -> Vec<T> {
        let mut v: Vec<T> = rows.iter().filter_map(|r| pick(r).cloned()).collect();
        v.sort();
        v.dedup();
        v
    }
    let mut deals = std::collections::HashMap::new();
    for chunk in ids(&rows, |r| r.contract_id.as_ref()).chunks(500) {
        for k in store::contracts_by_ids(conn, chunk).await? {
            deals.insert(k.id.to_string(), (k.number, k.unit_id, k.customer_id, k.agent_id));
        }
    }
    for chunk in ids(&rows, |r| r.subscription_id.as_ref()).chunks(500) {
        for s in store::subscriptions_by_ids(conn, chunk).await? {
            deals.insert(s.id.to_string(), (s.number, s.unit_id, s.customer_id, s.agent_id));
        }
    }
    let parties: Vec<DealParties<'_>> = deals.values().map(|(_, u, c, a)| (u, c, a)).collect();
    let names = Names::load(conn, &parties).await?;
    let items = rows
        .iter()
        .map(|r| {
            let deal = r
                .contract_id
                .as_ref()
                .map(ContractId::as_str)
                .or(r.subscription_id.as_ref().map(SubscriptionId::as_str))
                .and_then(|id| deals.get(id));
            let (deal_number, unit, customer) =
                deal.map_or_else(Default::default, |(n, u, c, _)| (n.clone(), names.unit(u), names.customer(c).0));
            ReceiptHit {
                id: r.id.clone(),
                project_id: r.project_id.clone(),
                number: r.number.clone(),
                contract_id: r.contract_id.clone(),
                subscription_id: r.subscription_id.clone(),
                deal_number,
                unit_number: unit,
                customer_name: customer,
                payer: r.payer.clone(),
                amount: r.amount,
                received_on: r.received_on,
                channel: r.channel,
                status: r.status,
                reverses: r.reverses.clone(),
                reversed_by: r.reversed_by.clone(),
            }
        })
        .collect();
    Ok(ReceiptSearch { items, count: found.count, total: found.amount, truncated: next_cursor.is_some(), next_cursor })
}

pub async fn instalments(services: &Services, actor: &Actor, q: &InstalmentQuery) -> ServiceResult<InstalmentSearch> {
    let project = text_of(&q.project_id).map(ProjectId::from);
    let scope = scope(actor, project.as_ref())?;
    let mut errors = Invalid::default();
    let today = services.clock.today();
    let filter = InstalmentFilter {
        building_id: text_of(&q.building_id).map(BuildingId::from),
        kind: named(&mut errors, "kind", &q.kind, "unknown_kind"),
        due_from: date(&mut errors, "due_from", &q.due_from),
        due_to: date(&mut errors, "due_to", &q.due_to),
        state: named(&mut errors, "state", &q.state, "unknown_state"),
        as_of: date(&mut errors, "as_of", &q.as_of).unwrap_or(today),
    };
    range_errors(&mut errors, "due_to", filter.due_from, filter.due_to);
    let (after, limit) = page(&mut errors, &q.cursor, q.limit);
    errors.into_result()?;
    let conn = services.store.conn();
    let after = after.as_ref().map(|(d, id)| (*d, id.as_str()));
    let (mut rows, Found { count, amount, paid }) =
        store::search_instalments(conn, scope, &filter, after, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|i| cursor_of(i.due_date, &i.id))
    } else {
        None
    };
    let mut contract_ids: Vec<ContractId> = rows.iter().map(|i| i.contract_id.clone()).collect();
    contract_ids.sort();
    contract_ids.dedup();
    let mut contracts = std::collections::HashMap::new();
    for chunk in contract_ids.chunks(500) {
        for k in store::contracts_by_ids(conn, chunk).await? {
            contracts.insert(k.id.clone(), k);
        }
    }
    let parties: Vec<DealParties<'_>> = contracts.values().map(|k| (&k.unit_id, &k.customer_id, &k.agent_id)).collect();
    let names = Names::load(conn, &parties).await?;
    let items = rows
        .into_iter()
        .filter_map(|i| {
            let k = contracts.get(&i.contract_id)?;
            let (customer_name, customer_phone) = names.customer(&k.customer_id);
            let open = i.amount - i.paid;
            Some(InstalmentHit {
                contract_number: k.number.clone(),
                project_id: k.project_id.clone(),
                unit_number: names.unit(&k.unit_id),
                customer_name,
                customer_phone,
                agent_name: names.user(&k.agent_id),
                days_overdue: if open.is_positive() { (filter.as_of - i.due_date).num_days().max(0) } else { 0 },
                id: i.id,
                contract_id: i.contract_id,
                seq: i.seq,
                kind: i.kind,
                due_date: i.due_date,
                amount: i.amount,
                paid: i.paid,
                unpaid: open,
            })
        })
        .collect();
    Ok(InstalmentSearch {
        as_of: filter.as_of,
        items,
        count,
        amount,
        paid,
        unpaid: amount - paid,
        truncated: next_cursor.is_some(),
        next_cursor,
    })
}

/// Every receipt the query finds, page after page to the last (for exports).
pub async fn all_receipts(services: &Services, actor: &Actor, q: &ReceiptQuery) -> ServiceResult<ReceiptSearch> {
    // The paging asked for is checked as a list's is; the export then walks every page.
    let mut errors = Invalid::default();
    page(&mut errors, &q.cursor, q.limit);
    errors.into_result()?;
    let mut q = ReceiptQuery { cursor: None, limit: Some(MAX_ROWS), ..q.clone() };
    let mut all = receipts(services, actor, &q).await?;
    while let Some(next) = all.next_cursor.take() {
        q.cursor = Some(next);
        let page = receipts(services, actor, &q).await?;
        all.items.extend(page.items);
        all.next_cursor = page.next_cursor;
    }
    all.truncated = false;
    Ok(all)
}

/// Every instalment the query finds, page after page to the last (for exports).
pub async fn all_instalments(
    services: &Services,
    actor: &Actor,
    q: &InstalmentQuery,
) -> ServiceResult<InstalmentSearch> {
    let mut errors = Invalid::default();
    page(&mut errors, &q.cursor, q.limit);
    errors.into_result()?;
    let mut q = InstalmentQuery { cursor: None, limit: Some(MAX_ROWS), ..q.clone() };
    let mut all = instalments(services, actor, &q).await?;
    // Every page is seen from the same day, even across midnight.
    q.as_of = Some(all.as_of.to_string());
    while let Some(next) = all.next_cursor.take() {
        q.cursor = Some(next);
        let page = instalments(services, actor, &q).await?;
        all.items.extend(page.items);
        all.next_cursor = page.next_cursor;
    }
    all.truncated = false;
    Ok(all)
}

pub fn receipts_xlsx(s: &ReceiptSearch, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let headers = headers(
        say,
        &[
            "finance.number",
            "finance.received_on",
            "finance.deal",
            "finance.unit",
            "finance.customer",
            "finance.payer",
            "finance.channel",
            "finance.status",
            "finance.amount",
        ],
    );
    let mut rows: Vec<Vec<Cell>> = s
        .items
        .iter()
        .map(|r| {
            vec![
                text(r.number.clone().unwrap_or_default()),
                text(r.received_on.to_string()),
                text(&r.deal_number),
                text(&r.unit_number),
                text(&r.customer_name),
                text(r.payer.clone().unwrap_or_default()),
                text(say(&format!("channel.{}", r.channel.name()))),
                text(say(&format!("receipt.{}", r.status.name()))),
                amount(r.amount),
            ]
        })
        .collect();
    let mut total = vec![Cell::Empty; 9];
    total[0] = text(say("finance.total_receipts").replace("{count}", &s.count.to_string()));
    total[8] = amount(s.total);
    rows.push(total);
    xlsx::write_table(&say("finance.receipt_query"), &headers, &rows).map_err(ServiceError::internal)
}

pub fn instalments_xlsx(s: &InstalmentSearch, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let headers = headers(
        say,
        &[
            "finance.contract_number",
            "finance.unit",
            "finance.customer",
            "customers.phone",
            "finance.agent",
            "finance.seq",
            "finance.term_kind",
            "finance.due_date",
            "finance.amount_due",
            "finance.paid",
            "finance.unpaid",
            "finance.days_overdue",
        ],
    );
    let mut rows: Vec<Vec<Cell>> = s
        .items
        .iter()
        .map(|i| {
            vec![
                text(&i.contract_number),
                text(&i.unit_number),
                text(&i.customer_name),
                text(&i.customer_phone),
                text(&i.agent_name),
                Cell::Number(f64::from(i.seq)),
                text(say(&format!("term.{}", i.kind.name()))),
                text(i.due_date.to_string()),
                amount(i.amount),
                amount(i.paid),
                amount(i.unpaid),
                Cell::Number(i.days_overdue as f64),
            ]
        })
        .collect();
    let mut total = vec![Cell::Empty; 12];
    total[0] = text(say("finance.total_terms").replace("{count}", &s.count.to_string()));
    total[8] = amount(s.amount);
    total[9] = amount(s.paid);
    total[10] = amount(s.unpaid);
    rows.push(total);
    xlsx::write_table(&say("finance.plan_query"), &headers, &rows).map_err(ServiceError::internal)
}
