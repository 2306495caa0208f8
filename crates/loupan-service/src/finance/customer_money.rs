//! The customer's money (C2, F1): every deal's plan, receipts and refunds,
//! with the totals on each department's basis (F5) counted as the finance
//! reports count them, so the customer page and the ledger never disagree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loupan_domain::finance::{ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_domain::ids::{ContractId, CustomerId, SubscriptionId, UnitId};
use loupan_domain::{Money, Permission};
use loupan_store::finance as store;
use loupan_store::sales::InstalmentRow;
use serde::Serialize;

use crate::finance::reports::{Basis, due_and_overdue};
use crate::sales::deals::{DealParties, Names};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// One instalment of a contract's plan.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InstalmentLine {
    pub seq: i32,
    /// `down_payment`, `instalment`, `mortgage`, `compensation`, a fee, ….
    pub kind: String,
    pub due_date: NaiveDate,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReceiptEntry {
    pub id: String,
    pub number: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub amount: Money,
    pub received_on: NaiveDate,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub channel: ReceiptChannel,
    /// `in_transit`, `arrived` or `audited`; which bases count it follows.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: ReceiptStatus,
    /// The receipt this one reverses (a negative amount), if any.
    pub reverses: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RefundEntry {
    pub id: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub amount: Money,
    /// `due`, `paid` or `audited`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: RefundStatus,
    pub paid_on: Option<NaiveDate>,
}

/// One deal's money on one basis, as the ledger (合同台帐) has it for a
/// contract as of today.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OnBasis {
    /// Received by today and counted on the basis (reversals subtract).
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub received: Money,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub refunded: Money,
    /// Received less refunded.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub net: Money,
    /// The ledger's `paid`: received, kept between nothing and the plan (contracts).
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub paid: Money,
    /// The plan less `paid`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub unpaid: Money,
    /// Due by today and not paid (money settles instalments in due-date order).
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub overdue: Money,
}

impl OnBasis {
    fn add(&mut self, other: &OnBasis) -> ServiceResult<()> {
        let sum = |a: Money, b: Money| a.checked_add(b).ok_or_else(|| ServiceError::internal("money overflows"));
        self.received = sum(self.received, other.received)?;
        self.refunded = sum(self.refunded, other.refunded)?;
        self.net = sum(self.net, other.net)?;
        self.paid = sum(self.paid, other.paid)?;
        self.unpaid = sum(self.unpaid, other.unpaid)?;
        self.overdue = sum(self.overdue, other.overdue)?;
        Ok(())
    }
}

/// A subscription (认购) or contract (合同) of the customer with its money.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DealMoney {
    /// `contract` or `subscription`.
    pub kind: &'static str,
    pub id: String,
    pub number: String,
    /// The deal's status (`active`, `converted`, `cancelled`, …).
    pub status: String,
    pub date: NaiveDate,
    pub unit_id: UnitId,
    pub unit_number: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub total_price: Money,
    /// What the plan asks for (contracts; a subscription's deposit otherwise).
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub plan_total: Money,
    pub plan: Vec<InstalmentLine>,
    pub receipts: Vec<ReceiptEntry>,
    pub refunds: Vec<RefundEntry>,
    /// Keyed `sales`, `cashier`, `finance`.
    pub bases: BTreeMap<String, OnBasis>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CustomerMoney {
    pub customer_id: CustomerId,
    pub as_of: NaiveDate,
    /// Contracts first, then subscriptions, oldest first.
    pub deals: Vec<DealMoney>,
    /// Over every deal, keyed `sales`, `cashier`, `finance`.
    pub totals: BTreeMap<String, OnBasis>,
}

fn on_basis(
    basis: Basis,
    receipts: &[&loupan_store::finance::ReceiptRow],
    refunds: &[&loupan_store::sales::RefundRow],
    plan: Option<&[&InstalmentRow]>,
    as_of: NaiveDate,
) -> ServiceResult<OnBasis> {
    let received: Money =
        receipts.iter().filter(|r| r.received_on <= as_of && basis.counts(r.status)).map(|r| r.amount).sum();
    let refunded: Money = refunds.iter().filter(|r| basis.counts_refund(r.status)).map(|r| r.amount).sum();
    let net = received.checked_sub(refunded).ok_or_else(|| ServiceError::internal("money overflows"))?;
    let (paid, unpaid, overdue) = match plan {
        Some(plan) => {
            let total: Money = plan.iter().map(|i| i.amount).sum();
            let paid = received.clamp(Money::ZERO, total);
            let (_, overdue, _) = due_and_overdue(plan, paid, as_of);
            (paid, total - paid, overdue)
        }
        None => (Money::ZERO, Money::ZERO, Money::ZERO),
    };
    Ok(OnBasis { received, refunded, net, paid, unpaid, overdue })
}

/// The money of every deal of a customer the actor may see, as of today.
pub async fn customer_money(
    services: &Services,
    actor: &Actor,
    customer_id: &CustomerId,
) -> ServiceResult<CustomerMoney> {
    actor.require(Permission::ReadDeals)?;
    let conn = services.store.conn();
    crate::customers::visible(conn, actor, customer_id).await?;
    let as_of = services.clock.today();
    let (contracts, subscriptions) = store::deals_of_customer(conn, customer_id).await?;
    let contract_ids: Vec<ContractId> = contracts.iter().map(|k| k.id.clone()).collect();
    let subscription_ids: Vec<SubscriptionId> = subscriptions.iter().map(|s| s.id.clone()).collect();
    let receipts = store::receipts_of_deals(conn, &contract_ids, &subscription_ids).await?;
    let refunds = store::refunds_of_customer(conn, customer_id).await?;
    let instalments = store::instalments_of_contracts(conn, &contract_ids).await?;
    let parties: Vec<DealParties<'_>> = contracts
        .iter()
        .map(|k| (&k.unit_id, &k.customer_id, &k.agent_id))
        .chain(subscriptions.iter().map(|s| (&s.unit_id, &s.customer_id, &s.agent_id)))
        .collect();
    let names = Names::load(conn, &parties).await?;
    let receipt_entry = |r: &&loupan_store::finance::ReceiptRow| ReceiptEntry {
        id: r.id.clone(),
        number: r.number.clone(),
        amount: r.amount,
        received_on: r.received_on,
        channel: r.channel,
        status: r.status,
        reverses: r.reverses.clone(),
    };
    let refund_entry = |r: &&loupan_store::sales::RefundRow| RefundEntry {
        id: r.id.clone(),
        amount: r.amount,
        status: r.status,
        paid_on: r.paid_on,
    };
    let mut deals = Vec::with_capacity(contracts.len() + subscriptions.len());
    for k in &contracts {
        let plan: Vec<&InstalmentRow> = instalments.iter().filter(|i| i.contract_id == k.id).collect();
        let paid_in: Vec<_> = receipts.iter().filter(|r| r.contract_id.as_ref() == Some(&k.id)).collect();
        let paid_out: Vec<_> = refunds.iter().filter(|r| r.contract_id.as_ref() == Some(&k.id)).collect();
        let mut bases = BTreeMap::new();
        for basis in Basis::ALL {
            bases.insert(basis.name().to_owned(), on_basis(basis, &paid_in, &paid_out, Some(&plan), as_of)?);
        }
        deals.push(DealMoney {
            kind: "contract",
            id: k.id.to_string(),
            number: k.number.clone(),
            status: k.status.name().to_owned(),
            date: k.signed_on,
            unit_id: k.unit_id.clone(),
            unit_number: names.unit(&k.unit_id),
            total_price: k.total_price,
            plan_total: plan.iter().map(|i| i.amount).sum(),
            plan: plan
                .iter()
                .map(|i| InstalmentLine {
                    seq: i.seq,
                    kind: i.kind.name().to_owned(),
                    due_date: i.due_date,
                    amount: i.amount,
                })
                .collect(),
            receipts: paid_in.iter().map(receipt_entry).collect(),
            refunds: paid_out.iter().map(refund_entry).collect(),
            bases,
        });
    }
    for s in &subscriptions {
        let paid_in: Vec<_> = receipts.iter().filter(|r| r.subscription_id.as_ref() == Some(&s.id)).collect();
        let paid_out: Vec<_> = refunds.iter().filter(|r| r.subscription_id.as_ref() == Some(&s.id)).collect();
        let mut bases = BTreeMap::new();
        for basis in Basis::ALL {
            bases.insert(basis.name().to_owned(), on_basis(basis, &paid_in, &paid_out, None, as_of)?);
        }
        deals.push(DealMoney {
            kind: "subscription",
            id: s.id.to_string(),
            number: s.number.clone(),
            status: s.status.name().to_owned(),
            date: s.subscribed_on,
            unit_id: s.unit_id.clone(),
            unit_number: names.unit(&s.unit_id),
            total_price: s.total_price,
            plan_total: s.deposit,
            plan: Vec::new(),
            receipts: paid_in.iter().map(receipt_entry).collect(),
            refunds: paid_out.iter().map(refund_entry).collect(),
            bases,
        });
    }
    let mut totals: BTreeMap<String, OnBasis> = BTreeMap::new();
    for deal in &deals {
        for (basis, figures) in &deal.bases {
            totals.entry(basis.clone()).or_default().add(figures)?;
        }
    }
    for basis in Basis::ALL {
        totals.entry(basis.name().to_owned()).or_default();
    }
    Ok(CustomerMoney { customer_id: customer_id.clone(), as_of, deals, totals })
}
