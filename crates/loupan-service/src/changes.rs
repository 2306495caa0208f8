//! Business changes to deals (业务变更): an agent requests, the approval
//! engine routes the `deal_change` request, and `on_change_decided` executes
//! or drops it. Nothing the request would change happens before approval.
//! Built today: cancelling a contract (退房) or a subscription (退订): the
//! unit returns to `available` with history and what the buyer paid becomes a
//! refund due for finance.

use chrono::{DateTime, Utc};
use loupan_domain::approvals::DEAL_CHANGE;
use loupan_domain::inventory::UnitStatus;
use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::sales::{self as store, DealChangeRow, RefundRow};
use loupan_store::{customers as store_customers, finance as store_finance, inventory as store_inventory};
use serde::Serialize;

use crate::approvals::{self, Outcome, Submission};
use crate::audit::{self, Change};
use crate::live::{self, UnitChange};
use crate::{Actor, ServiceError, ServiceResult, Services};

pub const KINDS: [&str; 2] = ["cancel_contract", "cancel_subscription"];

#[derive(Debug, Clone, Default)]
pub struct NewChange {
    pub kind: Option<String>,
    pub subject_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DealChange {
    pub id: String,
    pub project_id: String,
    pub kind: String,
    pub subject_id: String,
    pub reason: String,
    pub status: String,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
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
            approval_id: None,
        }
    }
}

/// The project of an active deal the actor may see.
async fn active_subject(services: &Services, actor: &Actor, kind: &str, subject_id: &str) -> ServiceResult<String> {
    match kind {
        "cancel_contract" => {
            let k = crate::sales::get_contract(services, actor, subject_id)
                .await
                .map_err(|_| ServiceError::from(Invalid::one("subject_id", "unknown_contract")))?;
            if k.status != "active" {
                return Err(ServiceError::Conflict("contract_not_active"));
            }
            Ok(k.project_id)
        }
        _ => {
            let s = crate::sales::get_subscription(services, actor, subject_id)
                .await
                .map_err(|_| ServiceError::from(Invalid::one("subject_id", "unknown_subscription")))?;
            if s.status != "active" {
                return Err(ServiceError::Conflict("subscription_not_active"));
            }
            Ok(s.project_id)
        }
    }
}

pub async fn request_change(services: &Services, actor: &Actor, form: NewChange) -> ServiceResult<DealChange> {
    actor.require(Permission::Sell)?;
    let mut errors = Invalid::default();
    let kind = match form.kind.as_deref() {
        Some(k) if KINDS.contains(&k) => k.to_owned(),
        Some(_) => {
            errors.push("kind", "unknown_kind");
            String::new()
        }
        None => {
            errors.push("kind", "required");
            String::new()
        }
    };
    let subject_id = required_text(&mut errors, "subject_id", form.subject_id.as_deref(), 64);
    let reason = required_text(&mut errors, "reason", form.reason.as_deref(), 500);
    errors.into_result()?;
    let project_id = active_subject(services, actor, &kind, &subject_id).await?;
    let tx = services.store.begin_write().await?;
    let pending = store::deal_changes(&tx, Some(std::slice::from_ref(&project_id)), Some("requested")).await?;
    if pending.iter().any(|c| c.subject_id == subject_id) {
        return Err(ServiceError::Conflict("change_pending"));
    }
    let row = DealChangeRow {
        id: loupan_store::new_id(),
        project_id,
        kind,
        subject_id,
        reason,
        status: "requested".into(),
        requested_by: actor.display_name.clone(),
        decided_by: None,
        decision_note: None,
        created_at: loupan_store::now(),
        decided_at: None,
    };
    store::insert_deal_change(&tx, &row).await?;
    let change = DealChange::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "deal_change.request",
            record_type: "deal_change",
            record_id: &change.id,
            before: None,
            after: serde_json::to_value(&change).ok(),
        },
    )
    .await?;
    let paid = paid_on(&tx, &change.kind, &change.subject_id).await?;
    let summary = format!(
        "{}：{}（已付 {}）",
        if change.kind == "cancel_contract" { "退房" } else { "退订" },
        change.reason,
        Money::from_hundredths(paid)
    );
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: DEAL_CHANGE,
            project_id: Some(change.project_id.clone()),
            subject_type: "deal_change",
            subject_id: change.id.clone(),
            summary,
            facts: [("amount".to_owned(), Money::from_hundredths(paid).to_string())].into(),
            payload: serde_json::json!({}),
        },
    )
    .await?;
    let change = store::find_deal_change(&tx, &change.id).await?.map(DealChange::from).unwrap_or(change);
    let change = DealChange { approval_id: Some(request.id), ..change };
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(change)
}

/// What the buyer has paid on the deal (audited money), refunded if it is cancelled.
async fn paid_on<C: loupan_store::Connection>(conn: &C, kind: &str, subject_id: &str) -> ServiceResult<i64> {
    if kind == "cancel_contract" {
        Ok(store::instalments_of(conn, subject_id).await?.iter().map(|i| i.paid).sum())
    } else {
        Ok(store_finance::audited_total_of_subscription(conn, subject_id).await?)
    }
}

pub async fn list_changes(services: &Services, actor: &Actor, status: Option<&str>) -> ServiceResult<Vec<DealChange>> {
    actor.require(Permission::ReadDeals)?;
    let conn = services.store.conn();
    let mut out = Vec::new();
    for row in store::deal_changes(conn, actor.visible_projects(), status.filter(|s| !s.is_empty())).await? {
        let approval = crate::approvals::latest_for_subject(conn, "deal_change", &row.id).await?;
        out.push(DealChange { approval_id: approval.map(|a| a.id), ..row.into() });
    }
    Ok(out)
}

/// The approval engine's call: an approved change is executed in the deciding
/// transaction; a rejected or withdrawn one is closed and changes nothing.
pub(crate) async fn on_change_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<Vec<UnitChange>> {
    let id = request.subject_id.as_str();
    let change = store::find_deal_change(tx, id).await?.ok_or(ServiceError::NotFound("deal_change"))?;
    let now = loupan_store::now();
    if outcome != Outcome::Approved {
        if !store::decide_deal_change(tx, id, "rejected", &actor.display_name, None, now).await? {
            return Err(ServiceError::Conflict("change_decided"));
        }
        audit::record(
            tx,
            actor,
            Change {
                action: "deal_change.reject",
                record_type: "deal_change",
                record_id: id,
                before: Some(serde_json::json!({"status": "requested"})),
                after: Some(serde_json::json!({"status": "rejected"})),
            },
        )
        .await?;
        return Ok(Vec::new());
    }
    if !store::decide_deal_change(tx, id, "executed", &actor.display_name, None, now).await? {
        return Err(ServiceError::Conflict("change_decided"));
    }
    // What the deal was, what the buyer paid (audited), which unit it held.
    let (unit_id, customer_id, paid, from, contract_id, subscription_id) = match change.kind.as_str() {
        "cancel_contract" => {
            let k = store::find_contract(tx, &change.subject_id).await?.ok_or(ServiceError::NotFound("contract"))?;
            if !store::cancel_contract(tx, &k.id).await? {
                return Err(ServiceError::Conflict("contract_not_active"));
            }
            let paid: i64 = store::instalments_of(tx, &k.id).await?.iter().map(|i| i.paid).sum();
            (k.unit_id, k.customer_id, paid, UnitStatus::Contracted, Some(k.id), None)
        }
        _ => {
            let s = store::find_subscription(tx, &change.subject_id)
                .await?
                .ok_or(ServiceError::NotFound("subscription"))?;
            if !store::cancel_subscription(tx, &s.id).await? {
                return Err(ServiceError::Conflict("subscription_not_active"));
            }
            let paid = store_finance::audited_total_of_subscription(tx, &s.id).await?;
            (s.unit_id, s.customer_id, paid, UnitStatus::Subscribed, None, Some(s.id))
        }
    };
    let now = loupan_store::now();
    if !store::change_unit_status(tx, &unit_id, from.name(), UnitStatus::Available.name(), now).await? {
        return Err(ServiceError::Conflict("unit_not_available"));
    }
    let unit = store_inventory::find_unit(tx, &unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    store::insert_unit_event(
        tx,
        &store::UnitEventRow {
            id: loupan_store::new_id(),
            unit_id: unit_id.clone(),
            kind: "cancelled".into(),
            from_status: from.name().into(),
            to_status: UnitStatus::Available.name().into(),
            reference: Some(change.reason.clone()),
            actor_name: actor.display_name.clone(),
            occurred_at: now,
        },
    )
    .await?;
    if paid > 0 {
        store::insert_refund(
            tx,
            &RefundRow {
                id: loupan_store::new_id(),
                project_id: change.project_id.clone(),
                contract_id,
                subscription_id,
                customer_id: customer_id.clone(),
                amount: paid,
                status: "due".into(),
                change_id: change.id.clone(),
                created_at: now,
            },
        )
        .await?;
    }
    store_customers::insert_event(
        tx,
        &store_customers::EventRow {
            id: loupan_store::new_id(),
            customer_id,
            kind: "cancellation".into(),
            summary: format!("{} 号房退房/退订，应退 {}", unit.number, Money::from_hundredths(paid)),
            actor_name: actor.display_name.clone(),
            occurred_at: now,
        },
    )
    .await?;
    let live_change =
        UnitChange { unit_id, building_id: unit.building_id.clone(), status: UnitStatus::Available.name().into() };
    live::announce_in_tx(services, tx, &live_change).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "deal_change.execute",
            record_type: "deal_change",
            record_id: id,
            before: Some(serde_json::json!({"status": "requested"})),
            after: Some(serde_json::json!({"status": "executed", "refund": Money::from_hundredths(paid)})),
        },
    )
    .await?;
    Ok(vec![live_change])
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub project_id: String,
    pub contract_id: Option<String>,
    pub subscription_id: Option<String>,
    pub customer_id: String,
    pub amount: Money,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// Refunds owed to buyers after cancellations (finance pays them).
pub async fn refunds(services: &Services, actor: &Actor, status: Option<&str>) -> ServiceResult<Vec<Refund>> {
    actor.require(Permission::ReadFinance)?;
    Ok(store::refunds(services.store.conn(), actor.visible_projects(), status.filter(|s| !s.is_empty()))
        .await?
        .into_iter()
        .map(|r| Refund {
            id: r.id,
            project_id: r.project_id,
            contract_id: r.contract_id,
            subscription_id: r.subscription_id,
            customer_id: r.customer_id,
            amount: Money::from_hundredths(r.amount),
            status: r.status,
            created_at: r.created_at,
        })
        .collect())
}
