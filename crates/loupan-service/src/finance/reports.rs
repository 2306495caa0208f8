//! Finance reports: reconciliation of the three departments' bases (核帐, F5),
//! the contract ledger (合同台帐, F6), arrears by agent and project (F7) and the
//! money state of every unit of a building (财控图, F4). Each is a read over the
//! plans and receipts the sales and cashier modules write; xlsx exports carry
//! the same lines.

use loupan_domain::ids::{BuildingId, ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use loupan_documents::xlsx::{self, Cell};
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_domain::sales::NOT_DUE;
use loupan_domain::{Money, Permission};
use loupan_store::finance::{self as store, ReceiptRow, Scope};
use loupan_store::sales::{ContractRow, InstalmentRow};

use serde::Serialize;

use crate::inventory::{Building, Unit};
use crate::sales::deals::{DealParties, Names};
use crate::{Actor, Say, ServiceError, ServiceResult, Services};

/// Whose count of the money a report follows (F5): sales counts every receipt
/// recorded, the cashier what the bank confirmed, finance what it audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Sales,
    Cashier,
    Finance,
}

impl Basis {
    pub const ALL: [Basis; 3] = [Basis::Sales, Basis::Cashier, Basis::Finance];

    pub fn parse(text: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|b| b.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Basis::Sales => "sales",
            Basis::Cashier => "cashier",
            Basis::Finance => "finance",
        }
    }

    /// Whether a refund in `status` counts on this basis: sales from the
    /// moment it is owed, the cashier once paid out, finance once audited.
    pub fn counts_refund(self, status: RefundStatus) -> bool {
        use RefundStatus::*;
        match self {
            Basis::Sales => matches!(status, Due | Paid | Audited),
            Basis::Cashier => matches!(status, Paid | Audited),
            Basis::Finance => status == Audited,
        }
    }

    /// Whether a receipt in `status` counts on this basis.
    pub fn counts(self, status: ReceiptStatus) -> bool {
        use ReceiptStatus::*;
        match self {
            Basis::Sales => matches!(status, InTransit | Arrived | Audited),
            Basis::Cashier => matches!(status, Arrived | Audited),
            Basis::Finance => status == Audited,
        }
    }
}

/// The projects a report covers: the caller's (all for admins and executives),
/// narrowed to one project if asked; a project they do not see is not found.
fn scope<'a>(actor: &'a Actor, project_id: Option<&'a ProjectId>) -> ServiceResult<Scope<'a>> {
    actor.require(Permission::ReadFinance)?;
    if let Some(p) = project_id
        && !actor.sees_project(p)
    {
        return Err(ServiceError::NotFound("project"));
    }
    Ok(Scope { projects: actor.visible_projects(), project_id })
}

/// One receipt as the reports list it.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptLine {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: Money,
    pub received_on: NaiveDate,
    pub channel: ReceiptChannel,
    pub status: ReceiptStatus,
    pub recorded_by: String,
}

/// Where two departments' totals part: the receipts one counts and the other not yet.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// `sales_cashier` (money recorded, not yet confirmed by the bank) or
    /// `cashier_finance` (confirmed, not yet audited).
    pub between: &'static str,
    /// The receipt status that makes it: `in_transit` or `arrived`.
    pub status: ReceiptStatus,
    pub amount: Money,
    pub receipts: Vec<ReceiptLine>,
}

/// One refund as the reconciliation lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RefundLine {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: Money,
    /// When the cashier paid it out; None while it is still owed.
    pub paid_on: Option<NaiveDate>,
    pub status: RefundStatus,
}

/// Where two departments' refund totals part: owed but not paid out
/// (`sales_cashier`), paid out but not audited (`cashier_finance`).
#[derive(Debug, Clone, Serialize)]
pub struct RefundDifference {
    pub between: &'static str,
    /// The refund status that makes it: `due` or `paid`.
    pub status: RefundStatus,
    pub amount: Money,
    pub refunds: Vec<RefundLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub project_id: Option<ProjectId>,
    /// Contracts signed in the period and their total price (what sales reports as sold).
    pub signed_contracts: usize,
    pub signed_amount: Money,
    /// Money received in the period on each department's basis.
    pub totals: BTreeMap<&'static str, Money>,
    /// The same per receipt channel: channel → basis → amount.
    pub by_channel: BTreeMap<String, BTreeMap<&'static str, Money>>,
    pub differences: Vec<Difference>,
    /// Money paid back in the period on each basis: refunds paid out in it,
    /// and for sales also those still owed that arose in it.
    pub refunds: BTreeMap<&'static str, Money>,
    /// Received less refunded, per basis.
    pub net: BTreeMap<&'static str, Money>,
    pub refund_differences: Vec<RefundDifference>,
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

fn money_sum<'a>(amounts: impl Iterator<Item = &'a Money>) -> Money {
    amounts.sum()
}

/// 核帐: each department's total of the money received in `[from, to]` and the
/// receipts that make up the differences between them.
pub async fn reconciliation(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
    from: NaiveDate,
    to: NaiveDate,
) -> ServiceResult<Reconciliation> {
    let scope = scope(actor, project_id)?;
    if from > to {
        return Err(loupan_domain::Invalid::one("to", "before_from").into());
    }
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let signed = store::contracts_signed(conn, scope, from, to).await?;
    let receipts = store::receipts_in(conn, scope, Some(from), Some(to)).await?;
    let numbers = contract_numbers(conn, &receipts).await?;
    let mut totals = BTreeMap::new();
    let mut by_channel: BTreeMap<String, BTreeMap<&'static str, Money>> = BTreeMap::new();
    for basis in Basis::ALL {
        let counted = receipts.iter().filter(|r| basis.counts(r.status));
        totals.insert(basis.name(), money_sum(counted.clone().map(|r| &r.amount)));
        for r in counted {
            let entry =
                by_channel.entry(r.channel.name().to_owned()).or_default().entry(basis.name()).or_insert(Money::ZERO);
            *entry = entry.checked_add(r.amount).unwrap_or(*entry);
        }
    }
    let line = |r: &ReceiptRow| ReceiptLine {
        id: r.id.clone(),
        project_id: r.project_id.clone(),
        contract_id: r.contract_id.clone(),
        contract_number: r.contract_id.as_ref().and_then(|c| numbers.get(c).cloned()),
        subscription_id: r.subscription_id.clone(),
        amount: r.amount,
        received_on: r.received_on,
        channel: r.channel,
        status: r.status,
        recorded_by: r.recorded_by.clone(),
    };
    let differences = [("sales_cashier", ReceiptStatus::InTransit), ("cashier_finance", ReceiptStatus::Arrived)]
        .into_iter()
        .map(|(between, status)| {
            let lines: Vec<ReceiptLine> = receipts.iter().filter(|r| r.status == status).map(line).collect();
            Difference {
                between,
                status,
                amount: money_sum(receipts.iter().filter(|r| r.status == status).map(|r| &r.amount)),
                receipts: lines,
            }
        })
        .collect();
    let refund_rows = store::refunds_in(
        conn,
        scope,
        from,
        to,
        services.clock.start_of_day(from),
        services.clock.start_of_day(to + chrono::Days::new(1)),
    )
    .await?;
    let mut refund_contracts: Vec<ContractId> = refund_rows.iter().filter_map(|r| r.contract_id.clone()).collect();
    refund_contracts.sort();
    refund_contracts.dedup();
    let mut refund_numbers = HashMap::new();
    for chunk in refund_contracts.chunks(500) {
        for k in store::contracts_by_ids(conn, chunk).await? {
            refund_numbers.insert(k.id, k.number);
        }
    }
    let refund_line = |r: &loupan_store::sales::RefundRow| RefundLine {
        id: r.id.clone(),
        project_id: r.project_id.clone(),
        contract_id: r.contract_id.clone(),
        contract_number: r.contract_id.as_ref().and_then(|c| refund_numbers.get(c).cloned()),
        subscription_id: r.subscription_id.clone(),
        amount: r.amount,
        paid_on: r.paid_on,
        status: r.status,
    };
    let mut refunds = BTreeMap::new();
    let mut net = BTreeMap::new();
    for basis in Basis::ALL {
        let refunded = money_sum(refund_rows.iter().filter(|r| basis.counts_refund(r.status)).map(|r| &r.amount));
        refunds.insert(basis.name(), refunded);
        let received = totals.get(basis.name()).copied().unwrap_or(Money::ZERO);
        net.insert(
            basis.name(),
            received.checked_sub(refunded).ok_or_else(|| ServiceError::internal("reconciliation overflows"))?,
        );
    }
    let refund_differences = [("sales_cashier", RefundStatus::Due), ("cashier_finance", RefundStatus::Paid)]
        .into_iter()
        .map(|(between, status)| {
            let of: Vec<_> = refund_rows.iter().filter(|r| r.status == status).collect();
            RefundDifference {
                between,
                status,
                amount: money_sum(of.iter().map(|r| &r.amount)),
                refunds: of.into_iter().map(refund_line).collect(),
            }
        })
        .collect();
    Ok(Reconciliation {
        from,
        to,
        project_id: project_id.cloned(),
        signed_contracts: signed.len(),
        signed_amount: money_sum(signed.iter().map(|k| &k.total_price)),
        totals,
        by_channel,
        differences,
        refunds,
        net,
        refund_differences,
        source: reader.from.into(),
    })
}

async fn contract_numbers<C: loupan_store::Connection>(
    conn: &C,
    receipts: &[ReceiptRow],
) -> ServiceResult<HashMap<ContractId, String>> {
    let mut numbers = HashMap::new();
    for id in receipts.iter().filter_map(|r| r.contract_id.as_ref()) {
        if !numbers.contains_key(id)
            && let Some(k) = loupan_store::sales::find_contract(conn, id).await?
        {
            numbers.insert(id.clone(), k.number);
        }
    }
    Ok(numbers)
}

/// One contract in the ledger (合同台帐) as of a date, on one basis.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerLine {
    pub contract_id: ContractId,
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// Masked (`138****8000`): the ledger goes to people who chase payments, not to marketing.
    pub customer_phone: String,
    pub agent_id: UserId,
    pub agent_name: String,
    pub signed_on: NaiveDate,
    pub total: Money,
    /// What the payment plan asks for (the total, plus compensation and fees later).
    pub plan: Money,
    pub paid: Money,
    pub unpaid: Money,
    /// Instalments due on or before the date.
    pub due: Money,
    /// Due and not paid (money settles instalments in due-date order).
    pub overdue: Money,
    /// The due date of the oldest instalment not paid in full, if overdue.
    pub overdue_since: Option<NaiveDate>,
    pub days_overdue: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    pub as_of: NaiveDate,
    pub basis: Basis,
    pub project_id: Option<ProjectId>,
    pub lines: Vec<LedgerLine>,
    pub totals: LedgerTotals,
    /// The primary or the replica, and how far behind (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerTotals {
    pub contracts: usize,
    pub total: Money,
    pub plan: Money,
    pub paid: Money,
    pub unpaid: Money,
    pub due: Money,
    pub overdue: Money,
}

/// What a contract's plan asks for by `as_of` and what of it is paid, given
/// `paid` settled in due-date order: (due, overdue, oldest unpaid due date).
pub(crate) fn due_and_overdue(
    plan: &[&InstalmentRow],
    paid: Money,
    as_of: NaiveDate,
) -> (Money, Money, Option<NaiveDate>) {
    let mut sorted: Vec<&&InstalmentRow> = plan.iter().collect();
    sorted.sort_by_key(|i| (i.due_date, i.seq));
    let due: Money = sorted.iter().filter(|i| i.due_date <= as_of).map(|i| i.amount).sum();
    let mut left = paid;
    let mut since = None;
    for i in &sorted {
        let settled = left.clamp(Money::ZERO, i.amount);
        left -= settled;
        if settled < i.amount && i.due_date <= as_of && since.is_none() {
            since = Some(i.due_date);
        }
    }
    (due, (due - paid).max(Money::ZERO), since)
}

/// 合同台帐 of the active contracts in scope, as of `as_of` on `basis`: paid is
/// the money received by that date that the basis counts.
pub async fn ledger(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
    as_of: NaiveDate,
    basis: Basis,
) -> ServiceResult<Ledger> {
    let scope = scope(actor, project_id)?;
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let contracts = store::active_contracts(conn, scope).await?;
    let instalments = store::instalments_in(conn, scope).await?;
    let receipts = store::receipts_in(conn, scope, None, Some(as_of)).await?;
    let mut plans: HashMap<&str, Vec<&InstalmentRow>> = HashMap::new();
    for i in &instalments {
        plans.entry(i.contract_id.as_str()).or_default().push(i);
    }
    let mut received: HashMap<&str, Money> = HashMap::new();
    for r in receipts.iter().filter(|r| basis.counts(r.status)) {
        if let Some(k) = r.contract_id.as_ref().map(ContractId::as_str) {
            *received.entry(k).or_default() += r.amount;
        }
    }
    let parties: Vec<DealParties<'_>> = contracts.iter().map(|k| (&k.unit_id, &k.customer_id, &k.agent_id)).collect();
    let names = Names::load(conn, &parties).await?;
    let mut lines = Vec::with_capacity(contracts.len());
    let mut totals = LedgerTotals::default();
    for k in &contracts {
        let plan = plans.get(k.id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let plan_total: Money = plan.iter().map(|i| i.amount).sum();
        let paid = received.get(k.id.as_str()).copied().unwrap_or_default().clamp(Money::ZERO, plan_total);
        let (due, overdue, since) = due_and_overdue(plan, paid, as_of);
        let line = LedgerLine {
            contract_id: k.id.clone(),
            number: k.number.clone(),
            project_id: k.project_id.clone(),
            unit_id: k.unit_id.clone(),
            unit_number: names.unit(&k.unit_id),
            customer_id: k.customer_id.clone(),
            customer_name: names.customer(&k.customer_id).0,
            customer_phone: names.customer(&k.customer_id).1,
            agent_id: k.agent_id.clone(),
            agent_name: names.user(&k.agent_id),
            signed_on: k.signed_on,
            total: k.total_price,
            plan: plan_total,
            paid,
            unpaid: plan_total - paid,
            due,
            overdue,
            overdue_since: since.filter(|_| overdue.is_positive()),
            days_overdue: since.filter(|_| overdue.is_positive()).map_or(0, |d| (as_of - d).num_days()),
        };
        totals.add(&line);
        lines.push(line);
    }
    Ok(Ledger { as_of, basis, project_id: project_id.cloned(), lines, totals, source: reader.from.into() })
}

impl LedgerTotals {
    fn add(&mut self, l: &LedgerLine) {
        let sum = |a: Money, b: Money| a.checked_add(b).unwrap_or(a);
        self.contracts += 1;
        self.total = sum(self.total, l.total);
        self.plan = sum(self.plan, l.plan);
        self.paid = sum(self.paid, l.paid);
        self.unpaid = sum(self.unpaid, l.unpaid);
        self.due = sum(self.due, l.due);
        self.overdue = sum(self.overdue, l.overdue);
    }
}

/// One contract in arrears: the ledger line with its ageing bucket.
#[derive(Debug, Clone, Serialize)]
pub struct ArrearsLine {
    #[serde(flatten)]
    pub ledger: LedgerLine,
    /// The ageing bucket of the oldest overdue instalment (`1-30`, …), in
    /// the buckets of the report's project (the company's over several).
    pub bucket: String,
}

/// What an agent's customers owe, per project.
#[derive(Debug, Clone, Serialize)]
pub struct AgentArrears {
    pub project_id: ProjectId,
    pub agent_id: UserId,
    pub agent_name: String,
    pub contracts: usize,
    pub overdue: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arrears {
    pub as_of: NaiveDate,
    pub project_id: Option<ProjectId>,
    /// Most overdue first: the list overdue notices are sent from.
    pub lines: Vec<ArrearsLine>,
    pub by_agent: Vec<AgentArrears>,
    pub total: Money,
    /// Where the ledger it comes from read (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

/// 欠款: contracts with money due and not paid on the audited basis, oldest
/// first, and the totals per agent and project.
pub async fn arrears(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
    as_of: NaiveDate,
) -> ServiceResult<Arrears> {
    let ledger = ledger(services, actor, project_id, as_of, Basis::Finance).await?;
    let (buckets, _) = crate::finance::settings::ageing_buckets_of(services.store.conn(), project_id).await?;
    let mut lines: Vec<ArrearsLine> = ledger
        .lines
        .into_iter()
        .filter(|l| l.overdue.is_positive())
        .map(|l| {
            let bucket = l.overdue_since.map_or_else(|| NOT_DUE.to_owned(), |d| buckets.label_of(d, as_of));
            ArrearsLine { ledger: l, bucket }
        })
        .collect();
    lines.sort_by(|a, b| {
        b.ledger.days_overdue.cmp(&a.ledger.days_overdue).then_with(|| a.ledger.number.cmp(&b.ledger.number))
    });
    let mut groups: BTreeMap<(ProjectId, UserId), AgentArrears> = BTreeMap::new();
    for l in &lines {
        let g =
            groups.entry((l.ledger.project_id.clone(), l.ledger.agent_id.clone())).or_insert_with(|| AgentArrears {
                project_id: l.ledger.project_id.clone(),
                agent_id: l.ledger.agent_id.clone(),
                agent_name: l.ledger.agent_name.clone(),
                contracts: 0,
                overdue: Money::ZERO,
            });
        g.contracts += 1;
        g.overdue = g.overdue.checked_add(l.ledger.overdue).unwrap_or(g.overdue);
    }
    let total: Money = lines.iter().map(|l| l.ledger.overdue).sum();
    Ok(Arrears {
        as_of,
        project_id: project_id.cloned(),
        lines,
        by_agent: groups.into_values().collect(),
        total,
        source: ledger.source,
    })
}

/// A unit's money state on the 财控图.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyState {
    /// No deal: nothing to collect.
    Unsold,
    /// Subscribed, no contract yet (the deposit is all there is).
    Subscribed,
    /// Contracted, nothing due yet and nothing paid.
    NotDue,
    PartlyPaid,
    PaidInFull,
    /// Everything but the loan is paid; the bank has not paid out yet.
    MortgagePending,
    /// An instalment other than the loan is due and not paid.
    Overdue,
}

impl MoneyState {
    pub const ALL: [MoneyState; 7] = [
        MoneyState::Unsold,
        MoneyState::Subscribed,
        MoneyState::NotDue,
        MoneyState::PartlyPaid,
        MoneyState::PaidInFull,
        MoneyState::MortgagePending,
        MoneyState::Overdue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MoneyState::Unsold => "unsold",
            MoneyState::Subscribed => "subscribed",
            MoneyState::NotDue => "not_due",
            MoneyState::PartlyPaid => "partly_paid",
            MoneyState::PaidInFull => "paid_in_full",
            MoneyState::MortgagePending => "mortgage_pending",
            MoneyState::Overdue => "overdue",
        }
    }

    /// The state of a contract's plan on `today`, on the audited basis.
    pub fn of_plan(plan: &[InstalmentRow], today: NaiveDate) -> MoneyState {
        let is_loan = |i: &InstalmentRow| i.kind == loupan_domain::sales::TermKind::Mortgage;
        let (amount, paid): (Money, Money) =
            plan.iter().fold((Money::ZERO, Money::ZERO), |(a, p), i| (a + i.amount, p + i.paid));
        if amount.is_positive() && paid >= amount {
            MoneyState::PaidInFull
        } else if plan.iter().any(|i| !is_loan(i) && i.due_date <= today && i.paid < i.amount) {
            MoneyState::Overdue
        } else if plan.iter().any(|i| is_loan(i) && i.paid < i.amount)
            && plan.iter().filter(|i| !is_loan(i)).all(|i| i.paid >= i.amount)
        {
            MoneyState::MortgagePending
        } else if paid.is_positive() {
            MoneyState::PartlyPaid
        } else {
            MoneyState::NotDue
        }
    }
}

/// One tile of the 财控图.
#[derive(Debug, Clone, Serialize)]
pub struct UnitMoney {
    pub unit: Unit,
    pub state: MoneyState,
    pub contract_id: Option<ContractId>,
    pub contract_number: Option<String>,
    pub plan: Option<Money>,
    pub paid: Option<Money>,
}

/// 财控图: the building's units with the money state of their deal today.
pub async fn finance_chart(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    today: NaiveDate,
) -> ServiceResult<(Building, Vec<UnitMoney>)> {
    actor.require(Permission::ReadFinance)?;
    let (building, units) = crate::inventory::building_chart(services, actor, building_id).await?;
    let conn = services.store.conn();
    let ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    let contracts = store::active_contracts_of_units(conn, &ids).await?;
    let subscribed = store::units_with_active_subscription(conn, &ids).await?;
    let contract_ids: Vec<ContractId> = contracts.iter().map(|k| k.id.clone()).collect();
    let mut plans: HashMap<ContractId, Vec<InstalmentRow>> = HashMap::new();
    for i in store::instalments_of_contracts(conn, &contract_ids).await? {
        plans.entry(i.contract_id.clone()).or_default().push(i);
    }
    let by_unit: HashMap<&str, &ContractRow> = contracts.iter().map(|k| (k.unit_id.as_str(), k)).collect();
    let tiles = units
        .into_iter()
        .map(|unit| match by_unit.get(unit.id.as_str()) {
            Some(k) => {
                let plan = plans.get(&k.id).map(Vec::as_slice).unwrap_or_default();
                UnitMoney {
                    state: MoneyState::of_plan(plan, today),
                    contract_id: Some(k.id.clone()),
                    contract_number: Some(k.number.clone()),
                    plan: Some(plan.iter().map(|i| i.amount).sum()),
                    paid: Some(plan.iter().map(|i| i.paid).sum()),
                    unit,
                }
            }
            None => UnitMoney {
                state: if subscribed.contains(&unit.id) { MoneyState::Subscribed } else { MoneyState::Unsold },
                contract_id: None,
                contract_number: None,
                plan: None,
                paid: None,
                unit,
            },
        })
        .collect();
    Ok((building, tiles))
}

pub(crate) fn amount(m: Money) -> Cell {
    Cell::Number(m.to_spreadsheet_number())
}

pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Spreadsheet headers: each key said in the reader's language.
pub(crate) fn headers(say: Say<'_>, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| say(k)).collect()
}

/// The columns every per-contract sheet begins with.
const CONTRACT_COLUMNS: [&str; 5] =
    ["finance.contract_number", "finance.unit", "finance.customer", "customers.phone", "finance.agent"];

/// A contract's cells under [`CONTRACT_COLUMNS`].
fn contract_cells(l: &LedgerLine) -> Vec<Cell> {
    vec![text(&l.number), text(&l.unit_number), text(&l.customer_name), text(&l.customer_phone), text(&l.agent_name)]
}

/// The ledger as xlsx, one row per contract and a total row.
pub fn ledger_xlsx(ledger: &Ledger, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let headers = headers(
        say,
        &[
            &CONTRACT_COLUMNS[..],
            &[
                "finance.signed_on",
                "finance.total_price",
                "finance.plan",
                "finance.paid",
                "finance.unpaid",
                "finance.due",
                "finance.overdue",
                "finance.days_overdue",
            ],
        ]
        .concat(),
    );
    let mut rows: Vec<Vec<Cell>> = ledger
        .lines
        .iter()
        .map(|l| {
            let mut cells = contract_cells(l);
            cells.extend([
                text(l.signed_on.to_string()),
                amount(l.total),
                amount(l.plan),
                amount(l.paid),
                amount(l.unpaid),
                amount(l.due),
                amount(l.overdue),
                Cell::Number(l.days_overdue as f64),
            ]);
            cells
        })
        .collect();
    let t = &ledger.totals;
    rows.push(vec![
        text(say("finance.total")),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        amount(t.total),
        amount(t.plan),
        amount(t.paid),
        amount(t.unpaid),
        amount(t.due),
        amount(t.overdue),
        Cell::Empty,
    ]);
    xlsx::write_table(&say("finance.ledger"), &headers, &rows).map_err(ServiceError::internal)
}

/// Arrears as xlsx, most overdue first.
pub fn arrears_xlsx(arrears: &Arrears, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let headers = headers(
        say,
        &[
            &CONTRACT_COLUMNS[..],
            &["finance.overdue", "finance.overdue_since", "finance.days_overdue", "finance.bucket"],
        ]
        .concat(),
    );
    let rows: Vec<Vec<Cell>> = arrears
        .lines
        .iter()
        .map(|a| {
            let l = &a.ledger;
            let mut cells = contract_cells(l);
            cells.extend([
                amount(l.overdue),
                l.overdue_since.map_or(Cell::Empty, |d| text(d.to_string())),
                Cell::Number(l.days_overdue as f64),
                text(&a.bucket),
            ]);
            cells
        })
        .collect();
    xlsx::write_table(&say("finance.arrears"), &headers, &rows).map_err(ServiceError::internal)
}

/// Reconciliation as xlsx: the three totals, then every receipt of a difference.
pub fn reconciliation_xlsx(r: &Reconciliation, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let headers = headers(
        say,
        &[
            "finance.project",
            "finance.receipt",
            "finance.contract_number",
            "finance.amount",
            "finance.received_on",
            "finance.channel",
            "finance.status",
            "finance.difference",
        ],
    );
    let mut rows = Vec::new();
    let of = |map: &BTreeMap<&'static str, Money>, basis: &str| amount(map.get(basis).copied().unwrap_or(Money::ZERO));
    for basis in ["sales", "cashier", "finance"] {
        for (total, map) in [("receipts", &r.totals), ("refunds", &r.refunds), ("net", &r.net)] {
            let label = say(&format!("reconciliation.{basis}.{total}"));
            rows.push(vec![text(label), Cell::Empty, Cell::Empty, of(map, basis)]);
        }
    }
    for d in &r.differences {
        for l in &d.receipts {
            rows.push(vec![
                text(l.project_id.as_str()),
                text(&l.id),
                text(l.contract_number.clone().unwrap_or_default()),
                amount(l.amount),
                text(l.received_on.to_string()),
                text(say(&format!("channel.{}", l.channel.name()))),
                text(say(&format!("receipt.{}", l.status.name()))),
                text(say(&format!("difference.{}", d.between))),
            ]);
        }
    }
    for d in &r.refund_differences {
        for l in &d.refunds {
            rows.push(vec![
                text(l.project_id.as_str()),
                text(format!("{} {}", say("finance.refund"), l.id)),
                text(l.contract_number.clone().unwrap_or_default()),
                amount(-l.amount),
                text(l.paid_on.map(|d| d.to_string()).unwrap_or_default()),
                Cell::Empty,
                text(say(&format!("refund.{}", l.status.name()))),
                text(say(&format!("refund_difference.{}", d.between))),
            ]);
        }
    }
    xlsx::write_table(&say("finance.reconciliation"), &headers, &rows).map_err(ServiceError::internal)
}

/// The ageing report as xlsx: one row per contract with an amount in a bucket.
pub fn ageing_xlsx(report: &crate::finance::AgeingReport, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let mut headers = vec![say("finance.contract_number")];
    headers.extend(report.buckets.iter().cloned());
    let row = |first: String, amounts: &BTreeMap<String, Money>| {
        let mut row = vec![text(first)];
        row.extend(report.buckets.iter().map(|b| amount(amounts.get(b).copied().unwrap_or(Money::ZERO))));
        row
    };
    let mut rows: Vec<Vec<Cell>> = report
        .contracts
        .iter()
        .filter(|c| c.amounts.values().any(|m| !m.is_zero()))
        .map(|c| row(c.number.clone(), &c.amounts))
        .collect();
    rows.push(row(say("finance.total"), &report.totals));
    xlsx::write_table(&say("finance.ageing"), &headers, &rows).map_err(ServiceError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instalment(seq: i32, kind: &str, due: &str, amount: i64, paid: i64) -> InstalmentRow {
        InstalmentRow {
            id: format!("i{seq}"),
            contract_id: "k".into(),
            seq,
            kind: kind.parse().expect("a term kind"),
            due_date: NaiveDate::parse_from_str(due, "%Y-%m-%d").unwrap(),
            amount: Money::yuan(amount),
            paid: Money::yuan(paid),
        }
    }

    fn yuan(v: i64) -> Money {
        Money::yuan(v)
    }

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn money_states_follow_the_plan() {
        let plan = |down_paid, loan_paid| {
            vec![
                instalment(1, "down_payment", "2026-01-10", 300, down_paid),
                instalment(2, "mortgage", "2026-02-10", 700, loan_paid),
            ]
        };
        assert_eq!(MoneyState::of_plan(&plan(0, 0), day("2026-01-01")), MoneyState::NotDue);
        assert_eq!(MoneyState::of_plan(&plan(0, 0), day("2026-01-11")), MoneyState::Overdue);
        assert_eq!(MoneyState::of_plan(&plan(100, 0), day("2026-01-05")), MoneyState::PartlyPaid);
        assert_eq!(MoneyState::of_plan(&plan(300, 0), day("2026-03-01")), MoneyState::MortgagePending);
        assert_eq!(MoneyState::of_plan(&plan(300, 700), day("2026-03-01")), MoneyState::PaidInFull);
    }

    #[test]
    fn overdue_is_what_is_due_beyond_what_is_paid_in_due_order() {
        let a = instalment(1, "down_payment", "2026-01-10", 300, 0);
        let b = instalment(2, "instalment", "2026-04-10", 300, 0);
        let c = instalment(3, "instalment", "2026-07-10", 400, 0);
        let plan = [&a, &b, &c];
        assert_eq!(due_and_overdue(&plan, yuan(0), day("2026-01-09")), (yuan(0), yuan(0), None));
        assert_eq!(due_and_overdue(&plan, yuan(0), day("2026-01-10")), (yuan(300), yuan(300), Some(day("2026-01-10"))));
        assert_eq!(
            due_and_overdue(&plan, yuan(300), day("2026-05-01")),
            (yuan(600), yuan(300), Some(day("2026-04-10")))
        );
        assert_eq!(
            due_and_overdue(&plan, yuan(450), day("2026-05-01")),
            (yuan(600), yuan(150), Some(day("2026-04-10")))
        );
        assert_eq!(due_and_overdue(&plan, yuan(1000), day("2027-01-01")), (yuan(1000), yuan(0), None));
    }
}
