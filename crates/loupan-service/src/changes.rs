//! Business changes to deals (业务变更): an agent requests, the approval
//! engine routes the `deal_change` request, and `on_change_decided` executes
//! or drops it. Nothing the request would change happens before approval;
//! every change keeps what the deal was before and what it became.
//!
//! - 退房 / 退订 (`cancel_contract`, `cancel_subscription`): the unit returns to
//!   `available`, what the buyer paid becomes a refund due for finance.
//! - 换房 (`swap`): the deal moves to another unit of the project; the old unit
//!   returns to sale and the money paid moves to the new deal as a transfer
//!   (转款) on both sides; what the new deal does not need is a refund due.
//! - `change_price`, `change_payment_method`: a contract's plan is written again
//!   for the new price or terms and the money paid is allocated to it again.
//! - 更名 / 增减权益人 (`rename`): the buyers and their shares are replaced.

use chrono::{DateTime, Utc};
use loupan_domain::approvals::{DEAL_CHANGE, RequestKind};
use loupan_domain::customers::CustomerEventKind;
use loupan_domain::finance::{ReceiptChannel, RefundStatus};
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId, UnitId};
use loupan_domain::inventory::UnitEventKind;
use loupan_domain::inventory::UnitStatus;
use loupan_domain::sales::{ChangeStatus, ContractStatus, Ratio, SubscriptionStatus};
use loupan_domain::sentence::Sentence;
use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::inventory as store_inventory;
use loupan_store::sales::{self as store, BuyerRow, ContractRow, DealChangeRow, RefundRow, SubscriptionRow};
use loupan_store::{Connection, Transaction};
use serde::Serialize;
use serde_json::{Value, json};

use crate::approvals::{self, Outcome, Submission};
use crate::platform::audit::{self, Change};
use crate::platform::live::{self, UnitChange};
pub use crate::sales::{Buyer, NewBuyer, buyers};
use crate::sales::{Deal, buyers_json, check_buyers, load_deal, paid_on, visible_deal};
use crate::{Actor, ServiceError, ServiceResult, Services};

pub use loupan_domain::sales::ChangeKind;

/// Every kind of change by name, for translations and the forms.
pub const KINDS: [&str; 6] = [
    ChangeKind::CancelContract.name(),
    ChangeKind::CancelSubscription.name(),
    ChangeKind::Swap.name(),
    ChangeKind::ChangePrice.name(),
    ChangeKind::ChangePaymentMethod.name(),
    ChangeKind::Rename.name(),
];

#[derive(Debug, Clone, Default)]
pub struct NewChange {
    pub kind: Option<String>,
    /// The contract or subscription.
    pub subject_id: Option<String>,
    pub reason: Option<String>,
    /// `swap`: the unit the deal moves to.
    pub new_unit_id: Option<String>,
    /// `swap`, `change_price`: the new total price.
    pub new_total_price: Option<String>,
    /// `swap` (optional), `change_payment_method`: the new payment method.
    pub payment_method_id: Option<String>,
    /// `rename`: the buyers after the change, main buyer first.
    pub buyers: Vec<NewBuyer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DealChange {
    pub id: String,
    pub project_id: ProjectId,
    pub kind: ChangeKind,
    pub subject_id: String,
    pub reason: String,
    pub status: ChangeStatus,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// `{"before": …, "after": …}`: the deal as it was and as it is to be (or became).
    pub details: Value,
    /// The approval request deciding it.
    pub approval_id: Option<String>,
}

impl From<DealChangeRow> for DealChange {
    fn from(r: DealChangeRow) -> Self {
        DealChange {
            id: r.id,
            project_id: r.project_id,
            kind: r.kind,
            subject_id: r.subject_id,
            reason: r.reason,
            status: r.status,
            requested_by: r.requested_by,
            decided_by: r.decided_by,
            decision_note: r.decision_note,
            created_at: r.created_at,
            decided_at: r.decided_at,
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
            approval_id: None,
        }
    }
}

async fn snapshot<C: Connection>(conn: &C, deal: &Deal) -> ServiceResult<Value> {
    let unit = store_inventory::find_unit(conn, deal.unit_id()).await?.map(|u| u.number).unwrap_or_default();
    Ok(json!({
        "deal": deal.number(), "unit_id": deal.unit_id(), "unit": unit, "total_price": deal.total(),
        "payment_method_id": deal.method_id(), "buyers": buyers_json(conn, deal).await?,
        "paid": paid_on(conn, deal).await?,
    }))
}

pub async fn request_change(services: &Services, actor: &Actor, form: NewChange) -> ServiceResult<DealChange> {
    actor.require(Permission::Sell)?;
    let mut errors = Invalid::default();
    let kind = match form.kind.as_deref() {
        Some(k) => ChangeKind::parse(k).or_else(|| {
            errors.push("kind", "unknown_kind");
            None
        }),
        None => {
            errors.push("kind", "required");
            None
        }
    };
    let subject_id = required_text(&mut errors, "subject_id", form.subject_id.as_deref(), 64);
    let reason = required_text(&mut errors, "reason", form.reason.as_deref(), 500);
    errors.into_result()?;
    let Some(kind) = kind else { return Err(Invalid::one("kind", "required").into()) };
    let deal = visible_deal(services, actor, Some(kind), &subject_id).await?;
    if !deal.is_active() {
        return Err(ServiceError::Conflict(match deal {
            Deal::Contract(_) => "contract_not_active",
            Deal::Subscription(_) => "subscription_not_active",
        }));
    }
    let tx = services.store.begin_write().await?;
    let project_id = deal.project_id().to_owned();
    let mut errors = Invalid::default();
    let paid = paid_on(&tx, &deal).await?;
    // What is asked for, checked now; checked again when it is executed.
    let (after, amount) = match kind {
        ChangeKind::Swap => {
            let unit = match form.new_unit_id.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                None => {
                    errors.push("new_unit_id", "needed_for_this_change");
                    None
                }
                Some(id) => match store_inventory::find_unit(&tx, &id.into()).await? {
                    Some(u) if u.project_id == project_id && &u.id != deal.unit_id() => Some(u),
                    _ => {
                        errors.push("new_unit_id", "unknown_unit");
                        None
                    }
                },
            };
            let total = new_total_price(&mut errors, form.new_total_price.as_deref());
            if !total.is_positive() && errors.0.iter().all(|e| e.field != "new_total_price") {
                errors.push("new_total_price", "must_be_positive");
            }
            let method =
                method_in_project(&tx, &project_id, form.payment_method_id.as_deref(), deal.method_id()).await?;
            if method.is_none() {
                errors.push("payment_method_id", "unknown_payment_method");
            }
            if let Some(u) = &unit
                && !(u.status == UnitStatus::Available
                    || (u.status == UnitStatus::Reserved
                        && store::active_reservation_of_unit(&tx, &u.id)
                            .await?
                            .is_some_and(|r| &r.customer_id == deal.customer_id())))
            {
                return Err(ServiceError::Conflict("unit_not_available"));
            }
            let unit_number = unit.as_ref().map(|u| u.number.clone()).unwrap_or_default();
            let after = json!({"unit_id": unit.map(|u| u.id), "unit": unit_number, "total_price": total,
                               "payment_method_id": method});
            (after, total)
        }
        ChangeKind::ChangePrice => {
            let total = new_total_price(&mut errors, form.new_total_price.as_deref());
            if !total.is_positive() && errors.0.iter().all(|e| e.field != "new_total_price") {
                errors.push("new_total_price", "must_be_positive");
            } else if total == deal.total() {
                errors.push("new_total_price", "unchanged");
            }
            (json!({"total_price": total}), total)
        }
        ChangeKind::ChangePaymentMethod => {
            let method = method_in_project(&tx, &project_id, form.payment_method_id.as_deref(), "").await?;
            match &method {
                None => errors.push("payment_method_id", "unknown_payment_method"),
                Some(m) if m == deal.method_id() => errors.push("payment_method_id", "unchanged"),
                Some(_) => {}
            }
            (json!({"payment_method_id": method}), deal.total())
        }
        ChangeKind::Rename => {
            let buyers = check_buyers(&tx, actor, &project_id, &form.buyers, &mut errors).await?;
            let list: Vec<Value> =
                buyers.iter().map(|(c, s)| json!({"customer_id": c, "share": s.to_string()})).collect();
            (json!({"buyers": list}), deal.total())
        }
        // Cancellations: the money paid comes back.
        ChangeKind::CancelContract | ChangeKind::CancelSubscription => {
            (json!({"unit_status": "available", "refund": paid}), paid)
        }
    };
    errors.into_result()?;
    let pending =
        store::deal_changes(&tx, Some(std::slice::from_ref(&project_id)), Some(ChangeStatus::Requested)).await?;
    if pending.iter().any(|c| c.subject_id == deal.id()) {
        return Err(ServiceError::Conflict("change_pending"));
    }
    let details = json!({"before": snapshot(&tx, &deal).await?, "after": after});
    let row = DealChangeRow {
        id: loupan_store::new_id(),
        project_id: project_id.clone(),
        kind,
        subject_id: deal.id().to_owned(),
        reason,
        status: ChangeStatus::Requested,
        requested_by: actor.display_name.clone(),
        decided_by: None,
        decision_note: None,
        created_at: services.clock.now(),
        decided_at: None,
        details: details.to_string(),
    };
    store::insert_deal_change(&tx, &row).await?;
    let change = DealChange::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "deal_change.request",
            record_type: "deal_change",
            record_id: change.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&change)?,
        },
    )
    .await?;
    let summary = Sentence::new(
        "approval_summary.deal_change",
        &[
            ("change_kind", kind.name().to_owned()),
            ("deal", deal.number().to_owned()),
            ("reason", change.reason.clone()),
            ("paid", paid.grouped()),
        ],
    );
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: DEAL_CHANGE,
            project_id: Some(project_id),
            subject_id: change.id.clone(),
            summary,
            facts: [("amount".to_owned(), amount.to_string())].into(),
            payload: json!({}),
        },
    )
    .await?;
    let change = store::find_deal_change(&tx, &change.id).await?.map(DealChange::from).unwrap_or(change);
    let change = DealChange { approval_id: Some(request.id), ..change };
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(change)
}

/// The chosen payment method of the project, or `default` when none was chosen.
async fn method_in_project<C: Connection>(
    conn: &C,
    project_id: &ProjectId,
    chosen: Option<&str>,
    default: &str,
) -> ServiceResult<Option<String>> {
    let id = chosen.map(str::trim).filter(|m| !m.is_empty()).unwrap_or(default);
    if id.is_empty() {
        return Ok(None);
    }
    Ok(store::find_payment_method(conn, id).await?.filter(|m| &m.project_id == project_id).map(|m| m.id))
}

pub async fn list_changes(services: &Services, actor: &Actor, status: Option<&str>) -> ServiceResult<Vec<DealChange>> {
    actor.require(Permission::ReadDeals)?;
    let status = crate::error::status_filter("status", status)?;
    let conn = services.store.conn();
    let mut out = Vec::new();
    for row in store::deal_changes(conn, actor.visible_projects(), status).await? {
        let approval = crate::approvals::latest_for_subject(conn, RequestKind::DealChange, &row.id).await?;
        out.push(DealChange { approval_id: approval.map(|a| a.id), ..row.into() });
    }
    Ok(out)
}

/// The approval engine's call: an approved change is executed in the deciding
/// transaction; a rejected or withdrawn one is closed and changes nothing.
pub(crate) async fn on_change_decided(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<Vec<UnitChange>> {
    let id = request.subject_id.as_str();
    let change = store::find_deal_change(tx, id).await?.ok_or(ServiceError::NotFound("deal_change"))?;
    let now = services.clock.now();
    if outcome != Outcome::Approved {
        if !store::decide_deal_change(tx, id, ChangeStatus::Rejected, &actor.display_name, None, now).await? {
            return Err(ServiceError::Conflict("change_decided"));
        }
        audit::record(
            tx,
            actor,
            Change {
                action: "deal_change.reject",
                record_type: "deal_change",
                record_id: id,
                before: Some(json!({"status": "requested"})),
                after: Some(json!({"status": "rejected"})),
            },
        )
        .await?;
        return Ok(Vec::new());
    }
    if !store::decide_deal_change(tx, id, ChangeStatus::Executed, &actor.display_name, None, now).await? {
        return Err(ServiceError::Conflict("change_decided"));
    }
    let deal = load_deal(tx, &change.subject_id).await?;
    if !deal.is_active() {
        return Err(ServiceError::Conflict(match deal {
            Deal::Contract(_) => "contract_not_active",
            Deal::Subscription(_) => "subscription_not_active",
        }));
    }
    let details: Value = serde_json::from_str(&change.details).map_err(ServiceError::internal)?;
    let asked = &details["after"];
    let (result, unit_changes) = match change.kind {
        ChangeKind::CancelContract | ChangeKind::CancelSubscription => {
            cancel(services, tx, actor, &change, &deal).await?
        }
        ChangeKind::Swap => swap(services, tx, actor, &change, &deal, asked).await?,
        ChangeKind::ChangePrice | ChangeKind::ChangePaymentMethod => {
            (change_terms(tx, &deal, asked, (&change, services.clock.now())).await?, Vec::new())
        }
        ChangeKind::Rename => (rename(tx, (actor, services.clock.now()), &deal, asked).await?, Vec::new()),
    };
    let details = json!({"before": details["before"], "after": asked, "result": result});
    store::set_change_details(tx, id, &details.to_string()).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "deal_change.execute",
            record_type: "deal_change",
            record_id: id,
            before: Some(json!({"status": "requested", "deal": details["before"]})),
            after: Some(json!({"status": "executed", "result": details["result"]})),
        },
    )
    .await?;
    Ok(unit_changes)
}

async fn unit_back_to_sale(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    deal: &Deal,
    kind: UnitEventKind,
    reference: &str,
) -> ServiceResult<UnitChange> {
    let from = deal.status_of_unit();
    if !store::change_unit_status(tx, deal.unit_id(), from, UnitStatus::Available, services.clock.now()).await? {
        return Err(ServiceError::Conflict("unit_not_available"));
    }
    crate::sales::unit_event(
        tx,
        (actor, services.clock.now()),
        deal.unit_id(),
        kind,
        (from, UnitStatus::Available),
        Some(reference),
    )
    .await?;
    let unit = store_inventory::find_unit(tx, deal.unit_id()).await?.ok_or(ServiceError::NotFound("unit"))?;
    let change =
        UnitChange { unit_id: unit.id.clone(), building_id: unit.building_id.clone(), status: UnitStatus::Available };
    live::announce_in_tx(services, tx, &change).await?;
    Ok(change)
}

async fn end_deal<C: Connection>(conn: &C, deal: &Deal) -> ServiceResult<()> {
    let ended = match deal {
        Deal::Contract(k) => store::cancel_contract(conn, &k.id).await?,
        Deal::Subscription(s) => store::cancel_subscription(conn, &s.id).await?,
    };
    if ended { Ok(()) } else { Err(ServiceError::Conflict("deal_not_active")) }
}

async fn refund_due<C: Connection>(
    conn: &C,
    deal: &Deal,
    change_id: &str,
    amount: Money,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    if !amount.is_positive() {
        return Ok(());
    }
    let (contract_id, subscription_id) = match deal {
        Deal::Contract(k) => (Some(k.id.clone()), None),
        Deal::Subscription(s) => (None, Some(s.id.clone())),
    };
    store::insert_refund(
        conn,
        &RefundRow {
            id: loupan_store::new_id(),
            project_id: deal.project_id().to_owned(),
            contract_id,
            subscription_id,
            customer_id: deal.customer_id().clone(),
            amount,
            status: RefundStatus::Due,
            change_id: change_id.to_owned(),
            created_at: now,
            channel: None,
            paid_by: None,
            audited_by: None,
            note: None,
            paid_on: None,
            audited_at: None,
        },
    )
    .await?;
    Ok(())
}

async fn cancel(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    change: &DealChangeRow,
    deal: &Deal,
) -> ServiceResult<(Value, Vec<UnitChange>)> {
    let paid = paid_on(tx, deal).await?;
    end_deal(tx, deal).await?;
    let unit_change = unit_back_to_sale(services, tx, actor, deal, UnitEventKind::Cancelled, &change.reason).await?;
    refund_due(tx, deal, &change.id, paid, services.clock.now()).await?;
    let unit = store_inventory::find_unit(tx, deal.unit_id()).await?.map(|u| u.number).unwrap_or_default();
    crate::sales::customer_event(
        tx,
        (actor, services.clock.now()),
        deal.customer_id(),
        CustomerEventKind::Cancellation,
        &[("unit", &unit), ("refund", &paid.grouped())],
    )
    .await?;
    Ok((json!({"refund": paid}), vec![unit_change]))
}

/// 换房: the old deal ends and its unit returns to sale; a new deal of the same
/// kind takes the new unit; the money paid moves across as a transfer.
async fn swap(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    change: &DealChangeRow,
    deal: &Deal,
    asked: &Value,
) -> ServiceResult<(Value, Vec<UnitChange>)> {
    let new_unit_id =
        &UnitId::from(asked["unit_id"].as_str().ok_or_else(|| ServiceError::internal("swap without a unit"))?);
    let total = Money::parse(asked["total_price"].as_str().unwrap_or_default()).map_err(ServiceError::internal)?;
    let method_id = asked["payment_method_id"].as_str().unwrap_or(deal.method_id());
    let method = store::find_payment_method(tx, method_id).await?.ok_or(ServiceError::NotFound("payment_method"))?;
    let new_unit = store_inventory::find_unit(tx, new_unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let paid = paid_on(tx, deal).await?;
    let buyers = store::buyers_of(tx, deal.id()).await?;

    // The old deal ends; its unit is for sale again.
    end_deal(tx, deal).await?;
    let number_old = deal.number().to_owned();
    let now = services.clock.now();
    let to = deal.status_of_unit();
    // The new unit is taken by a conditional write, as in any sale.
    let from = crate::sales::claimable_from(tx, new_unit_id, deal.customer_id()).await?;
    if !store::change_unit_status(tx, new_unit_id, from, to, now).await? {
        return Err(crate::sales::unit_taken());
    }
    let (new_id, new_number) = match deal {
        Deal::Contract(k) => {
            let number = format!("HT{:06}", store::next_number(tx, &k.project_id, "contract").await?);
            let row = ContractRow {
                id: loupan_store::new_id().into(),
                unit_id: new_unit_id.clone(),
                number: number.clone(),
                payment_method_id: method.id.clone(),
                total_price: total,
                signed_on: services.clock.today(),
                status: ContractStatus::Active,
                version: 1,
                created_at: now,
                ..k.clone()
            };
            store::insert_contract(tx, &row).await?;
            crate::sales::write_plan(tx, &row.id, &method, total, row.signed_on).await?;
            (row.id.to_string(), number)
        }
        Deal::Subscription(s) => {
            let number = format!("RG{:06}", store::next_number(tx, &s.project_id, "subscription").await?);
            let row = SubscriptionRow {
                id: loupan_store::new_id().into(),
                unit_id: new_unit_id.clone(),
                number: number.clone(),
                payment_method_id: method.id.clone(),
                total_price: total,
                deposit: s.deposit.min(total),
                subscribed_on: services.clock.today(),
                status: SubscriptionStatus::Active,
                version: 1,
                created_at: now,
                ..s.clone()
            };
            store::insert_subscription(tx, &row).await?;
            (row.id.to_string(), number)
        }
    };
    if !buyers.is_empty() {
        let moved: Vec<BuyerRow> =
            buyers.into_iter().map(|b| BuyerRow { id: loupan_store::new_id(), deal_id: new_id.clone(), ..b }).collect();
        store::replace_buyers(tx, &new_id, &moved).await?;
    }
    let old_change = unit_back_to_sale(services, tx, actor, deal, UnitEventKind::SwappedOut, &new_number).await?;
    crate::sales::unit_event(
        tx,
        (actor, services.clock.now()),
        new_unit_id,
        UnitEventKind::SwappedIn,
        (from, to),
        Some(&number_old),
    )
    .await?;
    let new_change = UnitChange { unit_id: new_unit_id.clone(), building_id: new_unit.building_id.clone(), status: to };
    live::announce_in_tx(services, tx, &new_change).await?;

    // The money follows the buyer: out of the old deal, into the new one.
    let mut refund = Money::ZERO;
    if paid.is_positive() {
        let project = deal.project_id();
        let (old_side, new_side) = match deal {
            Deal::Contract(k) => ((Some(k.id.clone()), None), (Some(ContractId::from(new_id.as_str())), None)),
            Deal::Subscription(s) => ((None, Some(s.id.clone())), (None, Some(SubscriptionId::from(new_id.as_str())))),
        };
        crate::finance::transfer_receipt(tx, &services.clock, actor, project, old_side, -paid).await?;
        let receipt = crate::finance::transfer_receipt(tx, &services.clock, actor, project, new_side, paid).await?;
        if let Deal::Contract(_) = deal {
            refund = crate::finance::allocate(tx, &receipt, &ContractId::from(new_id.as_str()), paid).await?.1;
        }
        if refund.is_positive() {
            let new_deal = load_deal(tx, &new_id).await?;
            refund_due(tx, &new_deal, &change.id, refund, services.clock.now()).await?;
        }
    }
    crate::sales::customer_event(
        tx,
        (actor, services.clock.now()),
        deal.customer_id(),
        CustomerEventKind::Swap,
        &[("from", &number_old), ("to", &new_unit.number), ("paid", &paid.grouped())],
    )
    .await?;
    let result = json!({"new_deal_id": new_id, "new_deal": new_number, "moved": paid,
                        "refund": refund});
    Ok((result, vec![old_change, new_change]))
}

/// New price or payment method. A contract's plan is written again and the
/// money paid allocated to it again (earliest instalments first); what the new
/// plan does not need becomes a refund due.
async fn change_terms<C: Connection>(
    conn: &C,
    deal: &Deal,
    asked: &Value,
    (change, now): (&DealChangeRow, chrono::DateTime<chrono::Utc>),
) -> ServiceResult<Value> {
    let total = match asked["total_price"].as_str() {
        Some(t) => Money::parse(t).map_err(ServiceError::internal)?,
        None => deal.total(),
    };
    let method_id = asked["payment_method_id"].as_str().unwrap_or(deal.method_id()).to_owned();
    let method = store::find_payment_method(conn, &method_id).await?.ok_or(ServiceError::NotFound("payment_method"))?;
    match deal {
        Deal::Contract(k) => {
            if !store::set_contract_terms(conn, &k.id, total, &method.id).await? {
                return Err(ServiceError::Conflict("contract_not_active"));
            }
            store::delete_plan(conn, &k.id).await?;
            crate::sales::write_plan(conn, &k.id, &method, total, k.signed_on).await?;
            let excess = crate::finance::reallocate_contract(conn, &k.id).await?;
            refund_due(conn, deal, &change.id, excess, now).await?;
            Ok(json!({"total_price": total, "payment_method_id": method.id, "refund": excess}))
        }
        Deal::Subscription(s) => {
            if !store::set_subscription_terms(conn, &s.id, total, &method.id).await? {
                return Err(ServiceError::Conflict("subscription_not_active"));
            }
            Ok(json!({"total_price": total, "payment_method_id": method.id}))
        }
    }
}

/// 更名 / 增减权益人: the buyers and their shares; the first is the main buyer.
async fn rename<C: Connection>(
    conn: &C,
    (actor, now): (&Actor, chrono::DateTime<chrono::Utc>),
    deal: &Deal,
    asked: &Value,
) -> ServiceResult<Value> {
    /// A buyer as the approved request names them (checked when it was made).
    #[derive(serde::Deserialize, Serialize)]
    struct AskedBuyer {
        customer_id: CustomerId,
        share: String,
    }
    let list: Vec<AskedBuyer> = serde_json::from_value(asked["buyers"].clone()).map_err(ServiceError::internal)?;
    let mut rows = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let share = Ratio::parse(&b.share).map_err(ServiceError::internal)?;
        rows.push(BuyerRow {
            id: loupan_store::new_id(),
            deal_id: deal.id().to_owned(),
            customer_id: b.customer_id.clone(),
            share_millionths: share.millionths(),
            position: i32::try_from(i).map_err(ServiceError::internal)?,
        });
    }
    let Some(main) = rows.first().map(|r| r.customer_id.clone()) else {
        return Err(ServiceError::internal("rename without buyers"));
    };
    let before: Vec<CustomerId> = match buyers_json(conn, deal).await?.as_array() {
        Some(a) => a.iter().filter_map(|b| b["customer_id"].as_str().map(CustomerId::from)).collect(),
        None => Vec::new(),
    };
    let set = match deal {
        Deal::Contract(k) => store::set_contract_customer(conn, &k.id, &main).await?,
        Deal::Subscription(s) => store::set_subscription_customer(conn, &s.id, &main).await?,
    };
    if !set {
        return Err(ServiceError::Conflict("deal_not_active"));
    }
    store::replace_buyers(conn, deal.id(), &rows).await?;
    for r in &rows {
        if !before.contains(&r.customer_id) {
            crate::sales::customer_event(
                conn,
                (actor, now),
                &r.customer_id,
                CustomerEventKind::Rename,
                &[("variant", "joined"), ("deal", deal.number())],
            )
            .await?;
        }
    }
    for c in before.iter().filter(|c| !rows.iter().any(|r| &r.customer_id == *c)) {
        let facts = [("variant", "left"), ("deal", deal.number())];
        crate::sales::customer_event(conn, (actor, now), c, CustomerEventKind::Rename, &facts).await?;
    }
    Ok(json!({"buyers": list}))
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub project_id: ProjectId,
    pub contract_id: Option<ContractId>,
    pub subscription_id: Option<SubscriptionId>,
    pub customer_id: CustomerId,
    pub amount: Money,
    pub status: RefundStatus,
    pub created_at: DateTime<Utc>,
    /// How and when the cashier paid it out, and who audited it.
    pub paid_on: Option<chrono::NaiveDate>,
    pub channel: Option<ReceiptChannel>,
    pub paid_by: Option<String>,
    pub audited_by: Option<String>,
    pub note: Option<String>,
}

/// Refunds owed to buyers after cancellations and changes (finance pays them).
pub async fn refunds(services: &Services, actor: &Actor, status: Option<&str>) -> ServiceResult<Vec<Refund>> {
    actor.require(Permission::ReadFinance)?;
    let status = crate::error::status_filter("status", status)?;
    Ok(store::refunds(services.store.conn(), actor.visible_projects(), status)
        .await?
        .into_iter()
        .map(|r| Refund {
            id: r.id,
            project_id: r.project_id,
            contract_id: r.contract_id,
            subscription_id: r.subscription_id,
            customer_id: r.customer_id,
            amount: r.amount,
            status: r.status,
            created_at: r.created_at,
            paid_on: r.paid_on,
            channel: r.channel,
            paid_by: r.paid_by,
            audited_by: r.audited_by,
            note: r.note,
        })
        .collect())
}

/// The new price a swap or a price change needs (the other kinds take none).
fn new_total_price(errors: &mut Invalid, text: Option<&str>) -> loupan_domain::Money {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("new_total_price", "needed_for_this_change");
            loupan_domain::Money::ZERO
        }
        Some(t) => crate::sales::parse_money(errors, "new_total_price", Some(t)),
    }
}
