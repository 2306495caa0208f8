//! Finance: receipts move `in_transit` → `arrived` → `audited`; only audited
//! money is allocated to a contract's instalments (in due-date order) and
//! reduces what is outstanding. The ageing report buckets what is unpaid.

pub mod customer_money;
pub mod queries;
pub mod receipt_books;
pub mod reports;
pub mod settings;

use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId};
use loupan_domain::sentence::Sentence;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use loupan_domain::approvals::RequestKind;
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_domain::sales::{ContractStatus, OpenAmount};
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::finance::{self as store, AllocationRow, ReceiptRow};
use loupan_store::sales as store_sales;
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::sales::visible_contract;
use crate::{Actor, ServiceError, ServiceResult, Services};

/// The channel a cashier typed: one of `ReceiptChannel::TYPED`.
fn typed_channel(errors: &mut Invalid, text: Option<&str>) -> ReceiptChannel {
    match text.map(str::trim) {
        None | Some("") => {
            errors.push("channel", "required");
            ReceiptChannel::Cash
        }
        Some(c) => ReceiptChannel::typed(c).unwrap_or_else(|| {
            errors.push("channel", "unknown_channel");
            ReceiptChannel::Cash
        }),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewReceipt {
    pub contract_id: Option<String>,
    pub subscription_id: Option<String>,
    pub amount: Option<String>,
    pub received_on: Option<String>,
    pub channel: Option<String>,
    /// Who paid, as written on the receipt; the buyer when empty.
    pub payer: Option<String>,
    /// The receipt book to take the number from; the project's oldest book with numbers left when empty.
    pub book_id: Option<String>,
    /// Why a cheque is dated after today (远期支票); required for such a cheque, kept on the receipt.
    pub post_dated_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub amount: Money,
    pub received_on: NaiveDate,
    pub channel: ReceiptChannel,
    /// `in_transit`, `arrived`, `audited` or `void`.
    pub status: ReceiptStatus,
    pub recorded_by: String,
    pub audited_by: Option<String>,
    pub payer: Option<String>,
    /// The receipt number (票据号) issued from a book, if the project keeps books.
    pub number: Option<String>,
    pub book_id: Option<String>,
    /// Set on a reversing entry: the receipt it corrects.
    pub reverses: Option<String>,
    /// Set on a corrected receipt: its reversing entry.
    pub reversed_by: Option<String>,
    /// The other half of a deposit transfer (定金转房款).
    pub pair_id: Option<String>,
    pub note: Option<String>,
}

impl From<ReceiptRow> for Receipt {
    fn from(r: ReceiptRow) -> Self {
        Receipt {
            id: r.id,
            project_id: r.project_id,
            contract_id: r.contract_id,
            subscription_id: r.subscription_id,
            amount: r.amount,
            received_on: r.received_on,
            channel: r.channel,
            status: r.status,
            recorded_by: r.recorded_by,
            audited_by: r.audited_by,
            payer: r.payer,
            number: r.number,
            book_id: r.book_id,
            reverses: r.reverses,
            reversed_by: r.reversed_by,
            pair_id: r.pair_id,
            note: r.note,
        }
    }
}

/// Records money received against a contract (or a subscription's deposit).
pub async fn record_receipt(services: &Services, actor: &Actor, form: NewReceipt) -> ServiceResult<Receipt> {
    actor.require(Permission::RecordReceipts)?;
    let tx = services.store.begin_write().await?;
    let receipt = record_receipt_in(services, &tx, actor, form).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(receipt)
}

/// Records a receipt inside the caller's transaction (a loan's disbursement
/// recorded from its service case), checked as `record_receipt` checks it.
pub(crate) async fn record_receipt_in(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    form: NewReceipt,
) -> ServiceResult<Receipt> {
    actor.require(Permission::RecordReceipts)?;
    let mut errors = Invalid::default();
    let amount = match form.amount.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("amount", "required");
            Money::ZERO
        }
        Some(t) => match Money::parse(t) {
            Ok(m) if m.is_positive() => m,
            Ok(_) => {
                errors.push("amount", "must_be_positive");
                Money::ZERO
            }
            Err(e) => {
                errors.push("amount", e.code());
                Money::ZERO
            }
        },
    };
    let received_on = match form.received_on.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("received_on", "required");
            NaiveDate::MIN
        }
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| errors.push("received_on", "invalid_date"))
            .unwrap_or(NaiveDate::MIN),
    };
    let channel = typed_channel(&mut errors, form.channel.as_deref());
    let payer = loupan_domain::validation::optional_text(&mut errors, "payer", form.payer.as_deref(), 100);
    let post_dated_reason = loupan_domain::validation::optional_text(
        &mut errors,
        "post_dated_reason",
        form.post_dated_reason.as_deref(),
        200,
    );
    // Money is received today or before; only a cheque may carry a later date, with the reason kept.
    let note = if received_on > services.clock.today() {
        match (channel, post_dated_reason) {
            (ReceiptChannel::Cheque, Some(reason)) => Some(format!("post-dated cheque: {reason}")),
            (ReceiptChannel::Cheque, None) => {
                errors.push("post_dated_reason", "required");
                None
            }
            _ => {
                errors.push("received_on", "in_the_future");
                None
            }
        }
    } else {
        None
    };
    let contract_id = ContractId::given(form.contract_id.as_deref());
    let subscription_id = SubscriptionId::given(form.subscription_id.as_deref());
    if contract_id.is_none() && subscription_id.is_none() {
        errors.push("contract_id", "required");
    }
    errors.into_result()?;
    let (project_id, buyer) = match (&contract_id, &subscription_id) {
        (Some(cid), _) => {
            let contract = visible_contract(tx, actor, cid)
                .await
                .map_err(|e| e.when_absent(|| Invalid::one("contract_id", "unknown_contract").into()))?;
            if contract.status != ContractStatus::Active {
                return Err(ServiceError::Conflict("contract_not_active"));
            }
            let unpaid: Money = store_sales::instalments_of(tx, cid).await?.iter().map(|i| i.amount - i.paid).sum();
            if amount > unpaid {
                return Err(Invalid::one("amount", "exceeds_outstanding").into());
            }
            (contract.project_id, contract.customer_id)
        }
        (None, Some(sid)) => {
            let sub = crate::sales::get_subscription(services, actor, sid)
                .await
                .map_err(|e| e.when_absent(|| Invalid::one("subscription_id", "unknown_subscription").into()))?;
            (sub.project_id, sub.customer_id)
        }
        (None, None) => return Err(Invalid::one("contract_id", "required").into()),
    };
    // The receipt names who paid; the buyer unless someone else is written.
    let payer = match payer {
        Some(p) => Some(p),
        None => loupan_store::customers::customers_by_ids(tx, std::slice::from_ref(&buyer))
            .await?
            .into_iter()
            .next()
            .map(|c| c.name),
    };
    let (book_id, number) =
        crate::finance::receipt_books::issue(tx, &project_id, form.book_id.as_deref().filter(|b| !b.is_empty()))
            .await?;
    let now = services.clock.now();
    let row = ReceiptRow {
        id: loupan_store::new_id(),
        project_id,
        contract_id,
        subscription_id,
        amount,
        received_on,
        channel,
        status: ReceiptStatus::InTransit,
        recorded_by: actor.by(),
        audited_by: None,
        arrived_at: None,
        audited_at: None,
        version: 1,
        created_at: now,
        payer,
        book_id,
        number,
        reverses: None,
        reversed_by: None,
        pair_id: None,
        note,
    };
    store::insert_receipt(tx, &row).await?;
    on_timeline(tx, (actor, now), &buyer, &row, "recorded").await?;
    let receipt = Receipt::from(row);
    audit::record(
        tx,
        actor,
        Change {
            action: "receipt.record",
            record_type: "receipt",
            record_id: receipt.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&receipt)?,
        },
    )
    .await?;
    Ok(receipt)
}

/// Puts a receipt on its buyer's timeline (`variant`: `recorded`, `reversed`),
/// linking the contract it pays when there is one.
async fn on_timeline<C: loupan_store::Connection>(
    conn: &C,
    by: (&Actor, chrono::DateTime<chrono::Utc>),
    buyer: &CustomerId,
    receipt: &ReceiptRow,
    variant: &str,
) -> ServiceResult<()> {
    let link = receipt.contract_id.as_ref().map(|c| format!("/contracts/{c}")).unwrap_or_default();
    crate::customers::add_event(
        conn,
        by,
        buyer,
        loupan_domain::customers::CustomerEventKind::Receipt,
        &[
            ("variant", variant),
            ("amount", &receipt.amount.grouped()),
            ("number", receipt.number.as_deref().unwrap_or("—")),
            ("link", &link),
        ],
    )
    .await
}

/// The buyer of the deal a receipt pays.
async fn buyer_of<C: loupan_store::Connection>(conn: &C, receipt: &ReceiptRow) -> ServiceResult<Option<CustomerId>> {
    if let Some(contract) = &receipt.contract_id {
        let found = loupan_store::finance::contracts_by_ids(conn, std::slice::from_ref(contract)).await?;
        return Ok(found.into_iter().next().map(|k| k.customer_id));
    }
    if let Some(subscription) = &receipt.subscription_id {
        let found = loupan_store::finance::subscriptions_by_ids(conn, std::slice::from_ref(subscription)).await?;
        return Ok(found.into_iter().next().map(|s| s.customer_id));
    }
    Ok(None)
}

async fn visible_receipt<C: loupan_store::Connection>(conn: &C, actor: &Actor, id: &str) -> ServiceResult<ReceiptRow> {
    match store::find_receipt(conn, id).await? {
        Some(r) if actor.sees_project(&r.project_id) && actor.can(Permission::ReadFinance) => Ok(r),
        _ => Err(ServiceError::NotFound("receipt")),
    }
}

pub async fn get_receipt(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Receipt> {
    actor.require(Permission::ReadFinance)?;
    Ok(visible_receipt(services.store.conn(), actor, id).await?.into())
}

/// 到帐: the bank confirms the money arrived.
pub async fn mark_arrived(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Receipt> {
    actor.require(Permission::RecordReceipts)?;
    let tx = services.store.begin_write().await?;
    let before = visible_receipt(&tx, actor, id).await?;
    if !store::mark_arrived(&tx, id, services.clock.now()).await? {
        return Err(ServiceError::Conflict("receipt_not_in_transit"));
    }
    let after = visible_receipt(&tx, actor, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "receipt.arrive",
            record_type: "receipt",
            record_id: id,
            before: Some(serde_json::json!({"status": before.status})),
            after: Some(serde_json::json!({"status": after.status})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(after.into())
}

/// 审核: finance audits arrived money; it is then allocated to the contract's
/// instalments in due-date order and counts as paid.
pub async fn audit_receipt(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Receipt> {
    actor.require(Permission::AuditReceipts)?;
    let tx = services.store.begin_write().await?;
    let before = visible_receipt(&tx, actor, id).await?;
    let by = actor.by();
    if !store::mark_audited(&tx, id, &by, services.clock.now()).await? {
        return Err(ServiceError::Conflict("receipt_not_arrived"));
    }
    // A deposit transfer is audited as a whole: both halves count from the same moment.
    let mut halves = vec![before.clone()];
    if let Some(pair) = &before.pair_id {
        let other = store::find_receipt(&tx, pair).await?.ok_or(ServiceError::NotFound("receipt"))?;
        if !store::mark_audited(&tx, pair, &by, services.clock.now()).await? {
            return Err(ServiceError::Conflict("receipt_not_arrived"));
        }
        halves.push(other);
    }
    let mut allocations = Vec::new();
    for half in halves.iter().filter(|h| h.amount.is_positive()) {
        if let Some(contract_id) = &half.contract_id {
            let (made, left) = allocate(&tx, &half.id, contract_id, half.amount).await?;
            allocations.extend(made);
            if left.is_positive() {
                // More than the plan still owes (e.g. the plan changed since recording).
                return Err(Invalid::one("amount", "exceeds_outstanding").into());
            }
        }
    }
    let after = visible_receipt(&tx, actor, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "receipt.audit",
            record_type: "receipt",
            record_id: id,
            before: Some(serde_json::json!({"status": before.status})),
            after: Some(serde_json::json!({"status": after.status, "allocations": allocations})),
        },
    )
    .await?;
    crate::platform::webhooks::publish(
        &tx,
        "receipt.audited",
        crate::platform::audit::payload(&Receipt::from(after.clone()))?,
    )
    .await?;
    let change = money_change(&tx, &after).await?;
    if let Some(change) = &change {
        crate::platform::live::announce_activity_in_tx(services, &tx, change).await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    if let Some(change) = change {
        crate::platform::live::announce_after_commit(services, change);
    }
    Ok(after.into())
}

/// The unit whose money a receipt moved, for the open 财控图 (its status unchanged).
async fn money_change<C: loupan_store::Connection>(
    conn: &C,
    receipt: &ReceiptRow,
) -> ServiceResult<Option<crate::platform::live::UnitChange>> {
    let unit_id = match (&receipt.contract_id, &receipt.subscription_id) {
        (Some(k), _) => store_sales::find_contract(conn, k).await?.map(|k| k.unit_id),
        (None, Some(s)) => store_sales::find_subscription(conn, s).await?.map(|s| s.unit_id),
        (None, None) => None,
    };
    let Some(unit_id) = unit_id else { return Ok(None) };
    Ok(loupan_store::inventory::find_unit(conn, &unit_id).await?.map(|u| crate::platform::live::UnitChange {
        unit_id: u.id,
        building_id: u.building_id,
        status: u.status,
    }))
}

/// Settles `amount` of a receipt against the contract's instalments in due-date
/// order; returns what was allocated and what is left over.
pub(crate) async fn allocate<C: loupan_store::Connection>(
    conn: &C,
    receipt_id: &str,
    contract_id: &ContractId,
    amount: Money,
) -> ServiceResult<(Vec<serde_json::Value>, Money)> {
    let mut plan = store_sales::instalments_of(conn, contract_id).await?;
    plan.sort_by_key(|i| (i.due_date, i.seq));
    let open: Vec<OpenAmount> =
        plan.iter().map(|i| OpenAmount { due: i.due_date, seq: i.seq, open: i.amount - i.paid }).collect();
    let (takes, left) = loupan_domain::sales::allocate(&open, amount);
    let mut allocations = Vec::new();
    let mut paid = Vec::with_capacity(takes.len());
    for (index, take) in takes {
        let instalment = &plan[index];
        store::insert_allocation(
            conn,
            &AllocationRow {
                id: loupan_store::new_id(),
                receipt_id: receipt_id.to_owned(),
                instalment_id: instalment.id.clone(),
                amount: take,
            },
        )
        .await?;
        paid.push((instalment.id.clone(), take));
        allocations.push(serde_json::json!({"instalment": instalment.seq, "amount": take}));
    }
    store_sales::add_paid(conn, contract_id, &paid).await?;
    Ok((allocations, left))
}

/// After a contract's plan was rewritten: every audited receipt is allocated
/// again, oldest first. Returns money the new plan does not need (a refund due).
pub(crate) async fn reallocate_contract<C: loupan_store::Connection>(
    conn: &C,
    contract_id: &ContractId,
) -> ServiceResult<Money> {
    let mut receipts: Vec<ReceiptRow> = store::receipts_of_contract(conn, contract_id)
        .await?
        .into_iter()
        .filter(|r| r.status == ReceiptStatus::Audited && r.amount.is_positive() && r.reversed_by.is_none())
        .collect();
    receipts.sort_by_key(|r| (r.audited_at, r.created_at));
    let mut excess = Money::ZERO;
    for r in receipts {
        excess += allocate(conn, &r.id, contract_id, r.amount).await?.1;
    }
    Ok(excess)
}

/// Money moved between deals (转款, a unit swap): an audited receipt on each
/// side, negative on the deal it leaves, positive on the deal it joins. The
/// audited receipts themselves are never edited.
pub(crate) async fn transfer_receipt<C: loupan_store::Connection>(
    conn: &C,
    clock: &crate::Clock,
    actor: &Actor,
    project_id: &ProjectId,
    deal: (Option<ContractId>, Option<SubscriptionId>),
    amount: Money,
) -> ServiceResult<String> {
    let now = clock.now();
    let by = actor.by();
    let row = ReceiptRow {
        id: loupan_store::new_id(),
        project_id: project_id.to_owned(),
        contract_id: deal.0,
        subscription_id: deal.1,
        amount,
        received_on: clock.date_of(now),
        channel: ReceiptChannel::DealTransfer,
        status: ReceiptStatus::Audited,
        recorded_by: by.clone(),
        audited_by: Some(by),
        arrived_at: Some(now),
        audited_at: Some(now),
        version: 1,
        created_at: now,
        payer: None,
        book_id: None,
        number: None,
        reverses: None,
        reversed_by: None,
        pair_id: None,
        note: None,
    };
    store::insert_receipt(conn, &row).await?;
    Ok(row.id)
}

pub async fn receipts_of_contract(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
) -> ServiceResult<Vec<Receipt>> {
    actor.require(Permission::ReadDeals)?;
    let conn = services.store.conn();
    visible_contract(conn, actor, contract_id).await?;
    Ok(store::receipts_of_contract(conn, contract_id).await?.into_iter().map(Receipt::from).collect())
}

/// Unpaid amounts by ageing bucket (every bucket present, zero included).
#[derive(Debug, Clone, Serialize)]
pub struct AgeingReport {
    pub as_of: NaiveDate,
    /// The buckets' labels in order (`not_due`, `1-30`, …, `>365`): the keys of the maps below.
    pub buckets: Vec<String>,
    pub totals: BTreeMap<String, Money>,
    pub contracts: Vec<ContractAgeing>,
    /// The primary or the replica, and how far behind (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContractAgeing {
    pub contract_id: ContractId,
    pub number: String,
    pub customer_id: CustomerId,
    pub amounts: BTreeMap<String, Money>,
}

/// 帐龄 (F7) on the audited basis, for the projects the actor may see, in the
/// buckets of the project asked for (the company's over several projects):
/// the totals, and the contracts that owe money, most overdue first (the
/// first `limit` of them; all when None).
pub async fn ageing(
    services: &Services,
    actor: &Actor,
    as_of: NaiveDate,
    project_id: Option<&ProjectId>,
    limit: Option<u64>,
) -> ServiceResult<AgeingReport> {
    actor.require(Permission::ReadFinance)?;
    if let Some(p) = project_id
        && !actor.sees_project(p)
    {
        return Err(ServiceError::NotFound("project"));
    }
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let (buckets, _) = settings::ageing_buckets_of(conn, project_id).await?;
    let labels = buckets.labels();
    // From the kept balances (`loupan_store::balances`): the totals from one row
    // per project and day, the contracts from what they still owe, most
    // overdue first; settled instalments are never read.
    let bounds = buckets.ranges(as_of);
    let visible = actor.visible_projects();
    let sums = loupan_store::balances::ageing_totals(conn, visible, project_id, &bounds).await?;
    let totals: BTreeMap<String, Money> = labels.iter().cloned().zip(sums).collect();
    let rows = loupan_store::balances::ageing_by_contract(conn, visible, project_id, &bounds, limit).await?;
    let mut contracts: Vec<ContractAgeing> = Vec::with_capacity(rows.len());
    for row in rows {
        let amounts = labels.iter().cloned().zip(row.amounts).collect();
        contracts.push(ContractAgeing {
            contract_id: row.contract_id,
            number: row.number,
            customer_id: row.customer_id,
            amounts,
        });
    }
    Ok(AgeingReport { as_of, buckets: labels, totals, contracts, source: reader.from.into() })
}

/// Where the kept open balances (which the ageing report reads) differ from
/// what the instalments and contracts say, recomputed from them; empty when
/// they agree (`loupan audit verify`).
pub async fn open_balance_differences(
    services: &Services,
    actor: &Actor,
) -> ServiceResult<Vec<loupan_store::balances::BalanceDifference>> {
    actor.require(Permission::ReadFinance)?;
    Ok(loupan_store::balances::differences(services.store.conn()).await?)
}

/// Corrects a receipt without editing money that counts: money not yet audited
/// (`in_transit`, `arrived`) is voided with the reason by the cashier; audited
/// money gets a reversing entry (a negative audited receipt naming it) from
/// finance, and the contract's audited money is allocated again, so the plan
/// shows what is really paid. Returns the voided receipt or the reversing entry.
pub async fn reverse_receipt(
    services: &Services,
    actor: &Actor,
    id: &str,
    reason: Option<&str>,
) -> ServiceResult<Receipt> {
    actor.require(Permission::RecordReceipts)?;
    let mut errors = Invalid::default();
    let reason = loupan_domain::validation::required_text(&mut errors, "reason", reason, 200);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let before = visible_receipt(&tx, actor, id).await?;
    if before.reverses.is_some() || before.reversed_by.is_some() || before.pair_id.is_some() {
        return Err(ServiceError::Conflict("receipt_not_reversible"));
    }
    if before.channel == ReceiptChannel::DealTransfer || !before.amount.is_positive() {
        return Err(ServiceError::Conflict("receipt_not_reversible"));
    }
    let result = match before.status {
        ReceiptStatus::InTransit | ReceiptStatus::Arrived => {
            if !store::void_uncounted(&tx, id, &reason).await? {
                return Err(ServiceError::Conflict("receipt_not_reversible"));
            }
            visible_receipt(&tx, actor, id).await?
        }
        ReceiptStatus::Audited => {
            actor.require(Permission::AuditReceipts)?;
            let now = services.clock.now();
            let by = actor.by();
            let reversal = ReceiptRow {
                id: loupan_store::new_id(),
                amount: -before.amount,
                received_on: services.clock.date_of(now),
                status: ReceiptStatus::Audited,
                recorded_by: by.clone(),
                audited_by: Some(by),
                arrived_at: Some(now),
                audited_at: Some(now),
                version: 1,
                created_at: now,
                book_id: None,
                number: None,
                reverses: Some(before.id.clone()),
                reversed_by: None,
                pair_id: None,
                note: Some(reason.clone()),
                ..before.clone()
            };
            store::insert_receipt(&tx, &reversal).await?;
            if !store::mark_reversed(&tx, id, &reversal.id).await? {
                return Err(ServiceError::Conflict("receipt_not_reversible"));
            }
            if let Some(contract_id) = &before.contract_id {
                store::reset_allocations(&tx, contract_id).await?;
                let excess = reallocate_contract(&tx, contract_id).await?;
                if excess.is_positive() {
                    return Err(ServiceError::internal("a reversal left more money than before"));
                }
            }
            reversal
        }
        ReceiptStatus::Void => return Err(ServiceError::Conflict("receipt_not_reversible")),
    };
    if let Some(buyer) = buyer_of(&tx, &before).await? {
        on_timeline(&tx, (actor, services.clock.now()), &buyer, &before, "reversed").await?;
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "receipt.reverse",
            record_type: "receipt",
            record_id: id,
            before: Some(serde_json::json!({"status": before.status, "amount": before.amount})),
            after: Some(serde_json::json!({"status": result.status, "reversal": result.id, "reason": reason})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(result.into())
}

/// What a deposit transfer did: moved the money (the contract's half of the
/// pair), or waits for the approval a group's flow asks for.
#[derive(Debug, Clone)]
pub enum DepositTransfer {
    Done(Box<Receipt>),
    Waiting { approval_id: String },
}

/// What a contract's subscription still holds to move: (subscription, amount).
async fn transferable<C: loupan_store::Connection>(
    conn: &C,
    contract: &loupan_store::sales::ContractRow,
) -> ServiceResult<(SubscriptionId, Money)> {
    if contract.status != ContractStatus::Active {
        return Err(ServiceError::Conflict("contract_not_active"));
    }
    let Some(subscription_id) = contract.subscription_id.clone() else {
        return Err(ServiceError::Conflict("no_deposit_to_transfer"));
    };
    // What is left on the subscription: audited deposits less earlier transfers, and no
    // transfer waiting for its audit.
    let on_subscription = store::receipts_of_subscription(conn, &subscription_id).await?;
    if on_subscription.iter().any(|r| r.pair_id.is_some() && r.status == ReceiptStatus::Arrived) {
        return Err(ServiceError::Conflict("deposit_transfer_pending"));
    }
    let deposit: Money = on_subscription.iter().filter(|r| r.status == ReceiptStatus::Audited).map(|r| r.amount).sum();
    if !deposit.is_positive() {
        return Err(ServiceError::Conflict("no_deposit_to_transfer"));
    }
    let unpaid: Money = store_sales::instalments_of(conn, &contract.id).await?.iter().map(|i| i.amount - i.paid).sum();
    if deposit > unpaid {
        return Err(Invalid::one("amount", "exceeds_outstanding").into());
    }
    Ok((subscription_id, deposit))
}

/// Writes the pair of receipts of a transfer, recorded by `by`; returns the contract's half.
async fn write_transfer(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    contract: &loupan_store::sales::ContractRow,
    by: &str,
) -> ServiceResult<ReceiptRow> {
    let (subscription_id, deposit) = transferable(tx, contract).await?;
    let now = services.clock.now();
    let half = |amount: Money, contract_id: Option<ContractId>, subscription: Option<SubscriptionId>| ReceiptRow {
        id: loupan_store::new_id(),
        project_id: contract.project_id.clone(),
        contract_id,
        subscription_id: subscription,
        amount,
        received_on: services.clock.date_of(now),
        channel: ReceiptChannel::DepositTransfer,
        status: ReceiptStatus::Arrived,
        recorded_by: by.to_owned(),
        audited_by: None,
        arrived_at: Some(now),
        audited_at: None,
        version: 1,
        created_at: now,
        payer: None,
        book_id: None,
        number: None,
        reverses: None,
        reversed_by: None,
        pair_id: None,
        note: None,
    };
    let mut minus = half(-deposit, None, Some(subscription_id));
    let mut plus = half(deposit, Some(contract.id.clone()), None);
    minus.pair_id = Some(plus.id.clone());
    plus.pair_id = Some(minus.id.clone());
    store::insert_receipt(tx, &minus).await?;
    store::insert_receipt(tx, &plus).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "receipt.deposit_transfer",
            record_type: "contract",
            record_id: contract.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"amount": deposit, "receipts": [minus.id, plus.id]})),
        },
    )
    .await?;
    Ok(plus)
}

/// 定金转房款: the audited deposit of the subscription a contract was signed
/// from moves to the contract as a pair of receipts (minus on the
/// subscription, plus on the contract), both `arrived` — the money is in the
/// bank already — and counted only when finance audits the pair (F3). Done at
/// once unless the group's flow for deposit transfers has a step that applies.
pub async fn transfer_deposit(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
) -> ServiceResult<DepositTransfer> {
    actor.require(Permission::RecordReceipts)?;
    let tx = services.store.begin_write().await?;
    let contract = visible_contract(&tx, actor, contract_id)
        .await
        .map_err(|e| e.when_absent(|| Invalid::one("contract_id", "unknown_contract").into()))?;
    let (_, deposit) = transferable(&tx, &contract).await?;
    if open_approval(&tx, RequestKind::DepositTransfer, contract_id.as_str()).await?.is_some() {
        return Err(ServiceError::Conflict("deposit_transfer_pending"));
    }
    let (request, after) = crate::approvals::submit(
        services,
        &tx,
        actor,
        crate::approvals::Submission {
            kind: RequestKind::DepositTransfer,
            project_id: Some(contract.project_id.clone()),
            subject_id: contract_id.to_string(),
            summary: Sentence::new(
                "approval_summary.deposit_transfer",
                &[("amount", deposit.grouped()), ("contract", contract.number.clone())],
            ),
            facts: [("amount".to_owned(), deposit.to_string())].into(),
            payload: serde_json::json!({}),
        },
    )
    .await?;
    // Approved at once (no step applied): the handler wrote the pair in this transaction.
    let done = store::receipts_of_contract(&tx, contract_id)
        .await?
        .into_iter()
        .filter(|r| {
            r.channel == ReceiptChannel::DepositTransfer && r.status == ReceiptStatus::Arrived && r.pair_id.is_some()
        })
        .max_by_key(|r| r.created_at);
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(match done {
        Some(plus) if request.status == loupan_domain::approvals::ApprovalStatus::Approved => {
            DepositTransfer::Done(Box::new(plus.into()))
        }
        _ => DepositTransfer::Waiting { approval_id: request.id },
    })
}

/// A deposit transfer was decided: approved, the pair of receipts is written
/// (recorded by the cashier who asked; the deposit is checked again now).
pub(crate) async fn on_deposit_transfer_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: crate::approvals::Outcome,
) -> ServiceResult<()> {
    if outcome != crate::approvals::Outcome::Approved {
        return Ok(());
    }
    let contract = store_sales::find_contract(tx, &request.subject_id.as_str().into())
        .await?
        .ok_or(ServiceError::NotFound("contract"))?;
    write_transfer(services, tx, actor, &contract, &request.submitted_by).await.map(|_| ())
}

/// A refund owed to a buyer, paid out and audited like money received (F3).
#[derive(Debug, Clone, Serialize)]
pub struct RefundPayment {
    pub id: String,
    pub status: RefundStatus,
    /// The approval the payment waits for, where a flow for refunds is configured.
    pub pending_approval_id: Option<String>,
    pub amount: Money,
    pub paid_on: Option<NaiveDate>,
    pub channel: Option<ReceiptChannel>,
    pub paid_by: Option<String>,
    pub audited_by: Option<String>,
}

fn refund_payment(r: loupan_store::sales::RefundRow) -> RefundPayment {
    RefundPayment {
        id: r.id,
        status: r.status,
        pending_approval_id: None,
        amount: r.amount,
        paid_on: r.paid_on,
        channel: r.channel,
        paid_by: r.paid_by,
        audited_by: r.audited_by,
    }
}

async fn visible_refund<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    id: &str,
) -> ServiceResult<loupan_store::sales::RefundRow> {
    match store::find_refund(conn, id).await? {
        Some(r) if actor.sees_project(&r.project_id) => Ok(r),
        _ => Err(ServiceError::NotFound("refund")),
    }
}

/// The cashier pays a refund out (`due` → `paid`).
pub async fn pay_refund(
    services: &Services,
    actor: &Actor,
    id: &str,
    paid_on: Option<&str>,
    channel: Option<&str>,
    note: Option<&str>,
) -> ServiceResult<RefundPayment> {
    actor.require(Permission::RecordReceipts)?;
    let mut errors = Invalid::default();
    let paid_on = match paid_on.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("paid_on", "required");
            NaiveDate::MIN
        }
        Some(t) => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            // A refund is paid out today or was before; never later.
            Ok(day) if day > services.clock.today() => {
                errors.push("paid_on", "in_the_future");
                day
            }
            Ok(day) => day,
            Err(_) => {
                errors.push("paid_on", "invalid_date");
                NaiveDate::MIN
            }
        },
    };
    let channel = typed_channel(&mut errors, channel);
    let note = loupan_domain::validation::optional_text(&mut errors, "note", note, 200);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let refund = visible_refund(&tx, actor, id).await?;
    if refund.status != RefundStatus::Due {
        return Err(ServiceError::Conflict("refund_not_due"));
    }
    if open_approval(&tx, RequestKind::RefundPayment, id).await?.is_some() {
        return Err(ServiceError::Conflict("approval_pending"));
    }
    // Paid at once unless the group's flow for refunds has a step that applies;
    // then `on_refund_payment_decided` pays it when approved.
    let (request, after) = crate::approvals::submit(
        services,
        &tx,
        actor,
        crate::approvals::Submission {
            kind: RequestKind::RefundPayment,
            project_id: Some(refund.project_id.clone()),
            subject_id: id.to_owned(),
            summary: Sentence::new(
                "approval_summary.refund_payment",
                &[("amount", refund.amount.grouped()), ("channel", channel.to_string())],
            ),
            facts: [("amount".to_owned(), refund.amount.to_string())].into(),
            payload: serde_json::json!({"paid_on": paid_on, "channel": channel, "note": note}),
        },
    )
    .await?;
    let mut view = refund_payment(visible_refund(&tx, actor, id).await?);
    if view.status == RefundStatus::Due {
        view.pending_approval_id = Some(request.id.clone());
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(view)
}

/// The open approval request about a record, if any.
async fn open_approval<C: loupan_store::Connection>(
    conn: &C,
    kind: RequestKind,
    subject_id: &str,
) -> ServiceResult<Option<loupan_store::approvals::RequestRow>> {
    Ok(loupan_store::approvals::requests_of_subject(conn, kind.subject_type(), subject_id)
        .await?
        .into_iter()
        .find(|r| r.status.is_open()))
}

#[derive(serde::Deserialize)]
struct RefundPaid {
    paid_on: NaiveDate,
    channel: ReceiptChannel,
    note: Option<String>,
}

/// A refund's payment was decided: approved, it is paid out as the cashier
/// entered it (by the cashier who asked); otherwise it stays owed.
pub(crate) async fn on_refund_payment_decided(
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: crate::approvals::Outcome,
) -> ServiceResult<()> {
    if outcome != crate::approvals::Outcome::Approved {
        return Ok(());
    }
    let paid: RefundPaid = serde_json::from_str(&request.payload).map_err(ServiceError::internal)?;
    let id = request.subject_id.as_str();
    let by = request.submitted_by.as_str();
    if !store::pay_refund(tx, id, (paid.paid_on, paid.channel, by, paid.note.as_deref())).await? {
        return Err(ServiceError::Conflict("refund_not_due"));
    }
    // The money went back to the buyer: on their timeline beside what they paid.
    if let Some(refund) = store::find_refund(tx, id).await? {
        let link = refund.contract_id.as_ref().map(|c| format!("/contracts/{c}")).unwrap_or_default();
        let at = request.decided_at.unwrap_or(request.updated_at);
        crate::customers::add_event(
            tx,
            (actor, at),
            &refund.customer_id,
            loupan_domain::customers::CustomerEventKind::Receipt,
            &[("variant", "refunded"), ("amount", &refund.amount.grouped()), ("link", &link)],
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        Change {
            action: "refund.pay",
            record_type: "refund",
            record_id: id,
            before: Some(serde_json::json!({"status": "due"})),
            after: Some(serde_json::json!({"status": "paid", "paid_on": paid.paid_on, "channel": paid.channel, "approval_id": request.id})),
        },
    )
    .await
}

/// Finance audits a refund paid out (`paid` → `audited`).
pub async fn audit_refund(services: &Services, actor: &Actor, id: &str) -> ServiceResult<RefundPayment> {
    actor.require(Permission::AuditReceipts)?;
    let tx = services.store.begin_write().await?;
    visible_refund(&tx, actor, id).await?;
    let by = actor.by();
    if !store::audit_refund(&tx, id, &by, services.clock.now()).await? {
        return Err(ServiceError::Conflict("refund_not_paid"));
    }
    let after = visible_refund(&tx, actor, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "refund.audit",
            record_type: "refund",
            record_id: id,
            before: Some(serde_json::json!({"status": "paid"})),
            after: Some(serde_json::json!({"status": "audited"})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(refund_payment(after))
}
