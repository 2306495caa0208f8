//! Sales: payment methods, subscriptions (认购) and contracts (签约) with their
//! payment plans (F2). The unit changes status in the same transaction as the
//! deal is written, by a conditional write, so a unit is never sold twice and
//! nothing is half-written.

pub mod deals;
pub mod pricing;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::access::DataScope;
use loupan_domain::approvals::{RequestKind, SPECIAL_DISCOUNT};
use loupan_domain::customers::CustomerEventKind;
use loupan_domain::ids::{ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use loupan_domain::inventory::UnitEventKind;
use loupan_domain::inventory::UnitStatus;
use loupan_domain::sales::{
    ContractStatus, PaymentMethodKind, Ratio, ReservationStatus, SubscriptionStatus, Term, TermKind, check_terms,
    payment_plan,
};
use loupan_domain::sentence::Sentence;
use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::customers as store_customers;
use loupan_store::finance as store_finance;
use loupan_store::inventory as store_inventory;
use loupan_store::sales::{
    self as store, BuyerRow, ContractRow, InstalmentRow, PaymentMethodRow, SubscriptionRow, UnitEventRow,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::platform::audit::{self, Change};
use crate::platform::live::{self, UnitChange};
use crate::{Actor, ServiceError, ServiceResult, Services};

#[derive(Debug, Clone, Default)]
pub struct NewTerm {
    pub kind: Option<String>,
    pub ratio: Option<String>,
    pub days_after_signing: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPaymentMethod {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub discount: Option<String>,
    pub terms: Vec<NewTerm>,
    /// 非标付款方式: a contract on it waits for approval (`non_standard_contract`).
    pub non_standard: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentMethod {
    pub id: String,
    pub project_id: ProjectId,
    pub name: String,
    pub kind: PaymentMethodKind,
    /// A ratio (`"0.03"` for 3 %).
    pub discount: String,
    pub terms: Vec<TermView>,
    pub version: i64,
    /// When it stopped being offered for new deals; the deals made with it keep it.
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The method this one is a new version of.
    pub replaces_id: Option<String>,
    /// 非标付款方式: a contract on it waits for approval.
    pub non_standard: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TermView {
    pub kind: String,
    pub ratio: String,
    pub days_after_signing: u32,
}

#[derive(Serialize, Deserialize)]
struct StoredTerm {
    kind: String,
    ratio_millionths: i64,
    days_after_signing: u32,
}

pub(crate) fn stored_terms(row: &PaymentMethodRow) -> ServiceResult<Vec<Term>> {
    let stored: Vec<StoredTerm> = serde_json::from_str(&row.terms_json).map_err(ServiceError::internal)?;
    stored
        .into_iter()
        .map(|t| {
            Ok(Term {
                kind: TermKind::parse(&t.kind).ok_or_else(|| ServiceError::internal("unknown term kind stored"))?,
                ratio: Ratio::from_millionths(t.ratio_millionths),
                days_after_signing: t.days_after_signing,
            })
        })
        .collect()
}

fn method_view(row: PaymentMethodRow) -> ServiceResult<PaymentMethod> {
    let terms = stored_terms(&row)?
        .into_iter()
        .map(|t| TermView {
            kind: t.kind.name().to_owned(),
            ratio: t.ratio.to_string(),
            days_after_signing: t.days_after_signing,
        })
        .collect();
    Ok(PaymentMethod {
        discount: Ratio::from_millionths(row.discount_millionths).to_string(),
        id: row.id,
        project_id: row.project_id,
        name: row.name,
        kind: row.kind,
        terms,
        version: row.version,
        retired_at: row.retired_at,
        replaces_id: row.replaces_id,
        non_standard: row.non_standard,
    })
}

async fn visible_project<C: Connection>(conn: &C, actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    if !actor.sees_project(project_id) || store_inventory::find_project(conn, project_id).await?.is_none() {
        return Err(ServiceError::NotFound("project"));
    }
    Ok(())
}

/// A payment method's fields, checked: name, kind, discount and the terms as stored.
struct ValidMethod {
    name: String,
    kind: PaymentMethodKind,
    discount: Ratio,
    terms_json: String,
    non_standard: bool,
}

fn valid_method(form: &NewPaymentMethod) -> ServiceResult<ValidMethod> {
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 50);
    let kind = match form.kind.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push("kind", "required");
            PaymentMethodKind::OneOff
        }
        Some(k) => PaymentMethodKind::parse(k).unwrap_or_else(|| {
            errors.push("kind", "unknown_kind");
            PaymentMethodKind::OneOff
        }),
    };
    let discount = match form.discount.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => Ratio::ZERO,
        Some(d) => Ratio::parse(d).map_err(|code| errors.push("discount", code)).unwrap_or(Ratio::ZERO),
    };
    let mut terms = Vec::new();
    for (i, t) in form.terms.iter().enumerate() {
        let kind = match t.kind.as_deref().and_then(TermKind::parse) {
            Some(k) => k,
            None => {
                errors.push(format!("terms[{i}].kind"), "unknown_kind");
                continue;
            }
        };
        let ratio = match t.ratio.as_deref().map(Ratio::parse) {
            Some(Ok(r)) => r,
            Some(Err(code)) => {
                errors.push(format!("terms[{i}].ratio"), code);
                continue;
            }
            None => {
                errors.push(format!("terms[{i}].ratio"), "required");
                continue;
            }
        };
        let days = match t.days_after_signing.unwrap_or(0) {
            d @ 0..=3650 => d as u32,
            _ => {
                errors.push(format!("terms[{i}].days_after_signing"), "out_of_range");
                continue;
            }
        };
        terms.push(Term { kind, ratio, days_after_signing: days });
    }
    if errors.is_empty()
        && let Err(code) = check_terms(&terms)
    {
        errors.push("terms", code);
    }
    errors.into_result()?;
    let stored: Vec<StoredTerm> = terms
        .iter()
        .map(|t| StoredTerm {
            kind: t.kind.name().to_owned(),
            ratio_millionths: t.ratio.millionths(),
            days_after_signing: t.days_after_signing,
        })
        .collect();
    Ok(ValidMethod {
        name,
        kind,
        discount,
        terms_json: serde_json::to_string(&stored).map_err(ServiceError::internal)?,
        non_standard: form.non_standard,
    })
}

async fn record_method<C: Connection>(
    conn: &C,
    actor: &Actor,
    action: &str,
    before: Option<&PaymentMethod>,
    after: &PaymentMethod,
) -> ServiceResult<()> {
    audit::record(
        conn,
        actor,
        Change {
            action,
            record_type: "payment_method",
            record_id: after.id.as_str(),
            before: before.map(audit::snapshot).transpose()?.flatten(),
            after: audit::snapshot(after)?,
        },
    )
    .await
}

pub async fn create_payment_method(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: NewPaymentMethod,
) -> ServiceResult<PaymentMethod> {
    actor.require(Permission::ManagePricing)?;
    visible_project(services.store.conn(), actor, project_id).await?;
    let v = valid_method(&form)?;
    let row = PaymentMethodRow {
        id: loupan_store::new_id(),
        project_id: project_id.to_owned(),
        name: v.name,
        kind: v.kind,
        discount_millionths: v.discount.millionths(),
        terms_json: v.terms_json,
        version: 1,
        created_at: services.clock.now(),
        retired_at: None,
        replaces_id: None,
        non_standard: v.non_standard,
    };
    let tx = services.store.begin_write().await?;
    if store::method_name_taken(&tx, project_id, &row.name, None).await? {
        return Err(Invalid::one("name", "taken").into());
    }
    store::insert_payment_method(&tx, &row).await?;
    let method = method_view(row)?;
    record_method(&tx, actor, "payment_method.create", None, &method).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(method)
}

async fn managed_method<C: Connection>(conn: &C, actor: &Actor, id: &str) -> ServiceResult<PaymentMethodRow> {
    actor.require(Permission::ManagePricing)?;
    match store::find_payment_method(conn, id).await? {
        Some(m) if actor.sees_project(&m.project_id) => Ok(m),
        _ => Err(ServiceError::NotFound("payment_method")),
    }
}

pub async fn get_payment_method(services: &Services, actor: &Actor, id: &str) -> ServiceResult<PaymentMethod> {
    actor.require(Permission::ReadProjects)?;
    match store::find_payment_method(services.store.conn(), id).await? {
        Some(m) if actor.sees_project(&m.project_id) => method_view(m),
        _ => Err(ServiceError::NotFound("payment_method")),
    }
}

/// Changes a payment method. One that no deal has used yet is changed in
/// place; one in use keeps its terms for the deals made with it: it is
/// retired and the change becomes a new method in its place (a new id, the
/// old one in `replaces_id`). Either way `version` must be the one read.
pub async fn update_payment_method(
    services: &Services,
    actor: &Actor,
    id: &str,
    version: i64,
    form: NewPaymentMethod,
) -> ServiceResult<PaymentMethod> {
    let tx = services.store.begin_write().await?;
    let current = managed_method(&tx, actor, id).await?;
    if current.retired_at.is_some() {
        return Err(ServiceError::Conflict("payment_method_retired"));
    }
    let v = valid_method(&form)?;
    if store::method_name_taken(&tx, &current.project_id, &v.name, Some(id)).await? {
        return Err(Invalid::one("name", "taken").into());
    }
    let before = method_view(current.clone())?;
    let now = services.clock.now();
    let changed = if store::payment_method_in_use(&tx, id).await? {
        if !store::retire_payment_method(&tx, id, version, now).await? {
            return Err(ServiceError::Conflict("stale_version"));
        }
        let row = PaymentMethodRow {
            id: loupan_store::new_id(),
            project_id: current.project_id.clone(),
            name: v.name,
            kind: v.kind,
            discount_millionths: v.discount.millionths(),
            terms_json: v.terms_json,
            version: 1,
            created_at: now,
            retired_at: None,
            replaces_id: Some(id.to_owned()),
            non_standard: v.non_standard,
        };
        store::insert_payment_method(&tx, &row).await?;
        let retired = store::find_payment_method(&tx, id).await?.ok_or(ServiceError::NotFound("payment_method"))?;
        record_method(&tx, actor, "payment_method.retire", Some(&before), &method_view(retired)?).await?;
        let method = method_view(row)?;
        record_method(&tx, actor, "payment_method.create", None, &method).await?;
        method
    } else {
        let row = PaymentMethodRow {
            name: v.name,
            kind: v.kind,
            discount_millionths: v.discount.millionths(),
            terms_json: v.terms_json,
            non_standard: v.non_standard,
            ..current
        };
        if !store::update_payment_method(&tx, &row, version).await? {
            return Err(ServiceError::Conflict("stale_version"));
        }
        let method =
            method_view(store::find_payment_method(&tx, id).await?.ok_or(ServiceError::NotFound("payment_method"))?)?;
        record_method(&tx, actor, "payment_method.update", Some(&before), &method).await?;
        method
    };
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(changed)
}

/// Stops offering a method for new deals; the deals made with it keep it.
pub async fn retire_payment_method(
    services: &Services,
    actor: &Actor,
    id: &str,
    version: i64,
) -> ServiceResult<PaymentMethod> {
    let tx = services.store.begin_write().await?;
    let current = managed_method(&tx, actor, id).await?;
    if current.retired_at.is_some() {
        return Err(ServiceError::Conflict("payment_method_retired"));
    }
    let before = method_view(current)?;
    if !store::retire_payment_method(&tx, id, version, services.clock.now()).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let method =
        method_view(store::find_payment_method(&tx, id).await?.ok_or(ServiceError::NotFound("payment_method"))?)?;
    record_method(&tx, actor, "payment_method.retire", Some(&before), &method).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(method)
}

pub async fn list_payment_methods(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
) -> ServiceResult<Vec<PaymentMethod>> {
    actor.require(Permission::ReadProjects)?;
    let conn = services.store.conn();
    visible_project(conn, actor, project_id).await?;
    store::payment_methods_of(conn, project_id).await?.into_iter().map(method_view).collect()
}

pub(crate) fn parse_money(errors: &mut Invalid, field: &str, text: Option<&str>) -> Money {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push(field, "required");
            Money::ZERO
        }
        Some(t) => Money::parse(t).map_err(|e| errors.push(field, e.code())).unwrap_or(Money::ZERO),
    }
}

fn parse_date(errors: &mut Invalid, field: &str, text: Option<&str>) -> NaiveDate {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push(field, "required");
            NaiveDate::MIN
        }
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| errors.push(field, "invalid_date"))
            .unwrap_or(NaiveDate::MIN),
    }
}

/// A deal the actor may see: agents their own, others their projects'.
fn may_see_deal(actor: &Actor, project_id: &ProjectId, agent_id: &UserId) -> bool {
    if !actor.can(Permission::ReadDeals) || !actor.sees_project(project_id) {
        return false;
    }
    !sees_own_deals_only(actor) || actor.user_id.as_ref() == Some(agent_id)
}

/// An agent sees their own deals; anyone with a wider role sees the project's.
pub(crate) fn sees_own_deals_only(actor: &Actor) -> bool {
    actor.customer_scope() == Some(DataScope::Own)
        && !actor.can(Permission::ReadFinance)
        && !actor.can(Permission::ManagePricing)
}

/// The customer belongs to the unit's project and is within the actor's data
/// scope (an agent sells to their own customers).
pub(crate) async fn may_sell_to<C: Connection>(
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    customer_id: &CustomerId,
) -> ServiceResult<bool> {
    let Some(c) = store_customers::find_customer(conn, customer_id).await? else { return Ok(false) };
    Ok(&c.project_id == project_id
        && match actor.customer_scope() {
            Some(DataScope::All) => true,
            Some(DataScope::Project) => actor.sees_project(&c.project_id),
            Some(DataScope::Own) => actor.user_id.as_ref().map(UserId::as_str) == Some(c.owner_id.as_str()),
            None => false,
        })
}

/// What a sale needs checked before the unit is touched.
struct SaleParties {
    unit: store_inventory::UnitRow,
    method: PaymentMethodRow,
}

async fn check_parties<C: Connection>(
    conn: &C,
    actor: &Actor,
    unit_id: &UnitId,
    customer_id: &CustomerId,
    method_id: &str,
) -> ServiceResult<SaleParties> {
    let unit = store_inventory::find_unit(conn, unit_id).await?;
    let unit = match unit {
        Some(u) if actor.sees_project(&u.project_id) => u,
        _ => return Err(Invalid::one("unit_id", "unknown_unit").into()),
    };
    if !may_sell_to(conn, actor, &unit.project_id, customer_id).await? {
        return Err(Invalid::one("customer_id", "unknown_customer").into());
    }
    let method = match store::find_payment_method(conn, method_id).await? {
        Some(m) if m.project_id == unit.project_id => m,
        _ => return Err(Invalid::one("payment_method_id", "unknown_payment_method").into()),
    };
    Ok(SaleParties { unit, method })
}

/// New deals are made only with methods in force.
fn in_force(method: &PaymentMethodRow) -> ServiceResult<()> {
    match method.retired_at {
        Some(_) => Err(Invalid::one("payment_method_id", "retired_payment_method").into()),
        None => Ok(()),
    }
}

/// A unit's history entry, at `now` by the company's clock.
pub(crate) async fn unit_event<C: Connection>(
    conn: &C,
    (actor, now): (&Actor, DateTime<Utc>),
    unit_id: &UnitId,
    kind: UnitEventKind,
    (from, to): (UnitStatus, UnitStatus),
    reference: Option<&str>,
) -> ServiceResult<()> {
    store::insert_unit_event(
        conn,
        &UnitEventRow {
            id: loupan_store::new_id(),
            unit_id: unit_id.to_owned(),
            kind: kind.name().to_owned(),
            from_status: from.name().to_owned(),
            to_status: to.name().to_owned(),
            reference: reference.map(str::to_owned),
            actor_name: actor.display_name.clone(),
            occurred_at: now,
        },
    )
    .await?;
    Ok(())
}

/// A line of a customer's timeline about a deal (`customers::timeline_row`).
pub(crate) async fn customer_event<C: Connection>(
    conn: &C,
    by: (&Actor, DateTime<Utc>),
    customer_id: &CustomerId,
    kind: CustomerEventKind,
    facts: &[(&str, &str)],
) -> ServiceResult<()> {
    store_customers::insert_event(conn, &crate::customers::timeline_row(customer_id, by, kind, facts)?).await?;
    // A deal began or ended: grade rules that look at deals see it at once.
    crate::customers::grades::regrade(conn, &[customer_id.to_owned()], by.1).await?;
    Ok(())
}

/// The status a sale for `customer_id` takes the unit from: `reserved` when
/// the unit is reserved for this very customer (the reservation is converted),
/// else `available`.
pub(crate) async fn claimable_from<C: Connection>(
    conn: &C,
    unit_id: &UnitId,
    customer_id: &CustomerId,
) -> ServiceResult<UnitStatus> {
    if let Some(r) = store::active_reservation_of_unit(conn, unit_id).await?
        && &r.customer_id == customer_id
        && store::end_reservation(conn, &r.id, ReservationStatus::Converted).await?
    {
        return Ok(UnitStatus::Reserved);
    }
    Ok(UnitStatus::Available)
}

/// The unit is no longer in the state the sale needs: someone else was first.
pub(crate) fn unit_taken() -> ServiceError {
    ServiceError::Conflict("unit_not_available")
}

#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    pub unit_id: Option<String>,
    pub customer_id: Option<String>,
    pub total_price: Option<String>,
    pub deposit: Option<String>,
    pub payment_method_id: Option<String>,
    pub subscribed_on: Option<String>,
    /// Buyers (权益人) with shares when there are several; the first is `customer_id`.
    pub buyers: Vec<NewBuyer>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: SubscriptionId,
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub total_price: Money,
    pub deposit: Money,
    pub payment_method_id: String,
    pub subscribed_on: NaiveDate,
    pub status: SubscriptionStatus,
}

impl From<SubscriptionRow> for Subscription {
    fn from(r: SubscriptionRow) -> Self {
        Subscription {
            id: r.id,
            number: r.number,
            project_id: r.project_id,
            unit_id: r.unit_id,
            customer_id: r.customer_id,
            agent_id: r.agent_id,
            total_price: r.total_price,
            deposit: r.deposit,
            payment_method_id: r.payment_method_id,
            subscribed_on: r.subscribed_on,
            status: r.status,
        }
    }
}

/// Several buyers, checked: the first is the deal's customer, shares add up to 1.
async fn checked_buyers<C: Connection>(
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    customer_id: &CustomerId,
    buyers: &[NewBuyer],
) -> ServiceResult<Vec<(CustomerId, i64)>> {
    if buyers.is_empty() {
        return Ok(Vec::new());
    }
    let mut errors = Invalid::default();
    let list = check_buyers(conn, actor, project_id, buyers, &mut errors).await?;
    if list.first().is_some_and(|(c, _)| c != customer_id) {
        errors.push("buyers", "main_buyer_first");
    }
    errors.into_result()?;
    Ok(list.into_iter().map(|(c, s)| (c, s.millionths())).collect())
}

/// A subscription's fields, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValidSubscription {
    unit_id: UnitId,
    customer_id: CustomerId,
    payment_method_id: String,
    total: Money,
    deposit: Money,
    subscribed_on: NaiveDate,
    /// (customer, share in millionths); empty: the customer alone.
    #[serde(default)]
    buyers: Vec<(CustomerId, i64)>,
}

fn validate_subscription(form: &NewSubscription) -> ServiceResult<ValidSubscription> {
    let mut errors = Invalid::default();
    let unit_id = required_text(&mut errors, "unit_id", form.unit_id.as_deref(), 64);
    let customer_id = required_text(&mut errors, "customer_id", form.customer_id.as_deref(), 64);
    let payment_method_id = required_text(&mut errors, "payment_method_id", form.payment_method_id.as_deref(), 64);
    let total = parse_money(&mut errors, "total_price", form.total_price.as_deref());
    let deposit = parse_money(&mut errors, "deposit", form.deposit.as_deref());
    let subscribed_on = parse_date(&mut errors, "subscribed_on", form.subscribed_on.as_deref());
    if !total.is_positive() && errors.0.iter().all(|e| e.field != "total_price") {
        errors.push("total_price", "must_be_positive");
    }
    if deposit.is_negative() {
        errors.push("deposit", "must_not_be_negative");
    } else if deposit > total {
        errors.push("deposit", "exceeds_total");
    }
    errors.into_result()?;
    Ok(ValidSubscription {
        unit_id: unit_id.into(),
        customer_id: customer_id.into(),
        payment_method_id,
        total,
        deposit,
        subscribed_on,
        buyers: Vec::new(),
    })
}

/// The price an agent may agree for a unit on a payment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PriceLimits {
    /// List price less the payment method's discount.
    pub standard: Money,
    /// The lowest total without a special approval (特批): the standard price
    /// less the project's agent discount limit, and never below the floor price.
    pub minimum: Money,
}

async fn price_limits<C: Connection>(
    conn: &C,
    unit: &store_inventory::UnitRow,
    method: &PaymentMethodRow,
) -> ServiceResult<PriceLimits> {
    let list = unit.list_price;
    let standard = list.checked_sub(Ratio::from_millionths(method.discount_millionths).of(list)).unwrap_or(list);
    let limit =
        store_inventory::find_project(conn, &unit.project_id).await?.map_or(0, |p| p.agent_discount_limit_millionths);
    let by_limit = standard.checked_sub(Ratio::from_millionths(limit).of(standard)).unwrap_or(standard);
    let floor = unit.floor_price.unwrap_or_default();
    Ok(PriceLimits { standard, minimum: by_limit.max(floor) })
}

/// The lowest price an agent may agree without a special approval (for the deal form).
pub async fn limits_for(
    services: &Services,
    actor: &Actor,
    unit_id: &UnitId,
    payment_method_id: &str,
) -> ServiceResult<PriceLimits> {
    actor.require(Permission::Sell)?;
    let conn = services.store.conn();
    let unit = match store_inventory::find_unit(conn, unit_id).await? {
        Some(u) if actor.sees_project(&u.project_id) => u,
        _ => return Err(ServiceError::NotFound("unit")),
    };
    match store::find_payment_method(conn, payment_method_id).await? {
        Some(m) if m.project_id == unit.project_id => price_limits(conn, &unit, &m).await,
        _ => Err(ServiceError::NotFound("payment_method")),
    }
}

/// Writes the subscription and moves the unit, in `tx`. `agent_id` is the agent
/// credited with the sale (the submitter, when a special discount was approved).
async fn write_subscription(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    agent_id: UserId,
    v: ValidSubscription,
    parties: SaleParties,
) -> ServiceResult<(Subscription, UnitChange)> {
    let now = services.clock.now();
    let from = claimable_from(tx, &v.unit_id, &v.customer_id).await?;
    if !store::change_unit_status(tx, &v.unit_id, from, UnitStatus::Subscribed, now).await? {
        return Err(unit_taken());
    }
    let number = store::next_number(tx, &parties.unit.project_id, "subscription").await?;
    let row = SubscriptionRow {
        id: loupan_store::new_id().into(),
        project_id: parties.unit.project_id.clone(),
        unit_id: v.unit_id,
        customer_id: v.customer_id,
        agent_id,
        number: format!("RG{number:06}"),
        total_price: v.total,
        deposit: v.deposit,
        payment_method_id: parties.method.id,
        subscribed_on: v.subscribed_on,
        status: SubscriptionStatus::Active,
        version: 1,
        created_at: now,
    };
    store::insert_subscription(tx, &row).await?;
    let buyers: Vec<BuyerRow> = v
        .buyers
        .iter()
        .enumerate()
        .map(|(i, (customer, share))| BuyerRow {
            id: loupan_store::new_id(),
            deal_id: row.id.to_string(),
            customer_id: customer.clone(),
            share_millionths: *share,
            position: i32::try_from(i).unwrap_or(i32::MAX),
        })
        .collect();
    store::replace_buyers(tx, row.id.as_str(), &buyers).await?;
    unit_event(
        tx,
        (actor, services.clock.now()),
        &row.unit_id,
        UnitEventKind::Subscribed,
        (from, UnitStatus::Subscribed),
        Some(&row.number),
    )
    .await?;
    let change = UnitChange {
        unit_id: row.unit_id.clone(),
        building_id: parties.unit.building_id.clone(),
        status: UnitStatus::Subscribed,
    };
    live::announce_in_tx(services, tx, &change).await?;
    customer_event(
        tx,
        (actor, services.clock.now()),
        &row.customer_id,
        CustomerEventKind::Subscription,
        &[("unit", &parties.unit.number), ("total", &v.total.grouped())],
    )
    .await?;
    let subscription = Subscription::from(row);
    audit::record(
        tx,
        actor,
        Change {
            action: "subscription.create",
            record_type: "subscription",
            record_id: subscription.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&subscription)?,
        },
    )
    .await?;
    crate::platform::webhooks::publish(tx, "subscription.created", crate::platform::audit::payload(&subscription)?)
        .await?;
    Ok((subscription, change))
}

/// 认购: the unit goes from `available` to `subscribed` for this customer. A
/// total below what the agent may agree alone needs `request_special_discount`.
pub async fn subscribe(services: &Services, actor: &Actor, form: NewSubscription) -> ServiceResult<Subscription> {
    actor.require(Permission::Sell)?;
    let mut v = validate_subscription(&form)?;
    let tx = services.store.begin_write().await?;
    let parties = check_parties(&tx, actor, &v.unit_id, &v.customer_id, &v.payment_method_id).await?;
    in_force(&parties.method)?;
    v.buyers = checked_buyers(&tx, actor, &parties.unit.project_id, &v.customer_id, &form.buyers).await?;
    // Sold already: say so before talking about the price (the claim below decides).
    if !matches!(parties.unit.status, UnitStatus::Available | UnitStatus::Reserved) {
        return Err(unit_taken());
    }
    if v.total < price_limits(&tx, &parties.unit, &parties.method).await?.minimum {
        return Err(Invalid::one("total_price", "needs_special_approval").into());
    }
    let agent_id = actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str()));
    let (subscription, change) = write_subscription(services, &tx, actor, agent_id, v, parties).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_after_commit(services, change);
    Ok(subscription)
}

/// 特批折扣: a subscription below what the agent may agree alone, submitted for
/// approval. Nothing is written but the request; when it is approved the
/// subscription is made in the approver's transaction (if the unit is still
/// free for this customer), when rejected nothing changes.
pub async fn request_special_discount(
    services: &Services,
    actor: &Actor,
    form: NewSubscription,
    reason: Option<&str>,
) -> ServiceResult<crate::approvals::Request> {
    actor.require(Permission::Sell)?;
    let mut v = validate_subscription(&form)?;
    let mut errors = Invalid::default();
    let reason = required_text(&mut errors, "reason", reason, 500);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let parties = check_parties(&tx, actor, &v.unit_id, &v.customer_id, &v.payment_method_id).await?;
    in_force(&parties.method)?;
    v.buyers = checked_buyers(&tx, actor, &parties.unit.project_id, &v.customer_id, &form.buyers).await?;
    let limits = price_limits(&tx, &parties.unit, &parties.method).await?;
    if v.total >= limits.minimum {
        return Err(Invalid::one("total_price", "no_special_approval_needed").into());
    }
    let free = match parties.unit.status {
        UnitStatus::Available => true,
        UnitStatus::Reserved => {
            store::active_reservation_of_unit(&tx, &v.unit_id).await?.is_some_and(|r| r.customer_id == v.customer_id)
        }
        _ => false,
    };
    if !free {
        return Err(unit_taken());
    }
    let open = loupan_store::approvals::requests_of_subject(&tx, "unit", v.unit_id.as_str()).await?;
    if open.iter().any(|r| r.kind == SPECIAL_DISCOUNT && r.status.is_open()) {
        return Err(ServiceError::Conflict("request_pending"));
    }
    let customer = store_customers::find_customer(&tx, &v.customer_id).await?.map(|c| c.name).unwrap_or_default();
    let discount = (limits.standard - v.total).percent_of(limits.standard);
    let summary = Sentence::new(
        "approval_summary.special_discount",
        &[
            ("unit", parties.unit.number.clone()),
            ("customer", customer),
            ("total", v.total.grouped()),
            ("standard", limits.standard.grouped()),
            ("discount_percent", discount.clone()),
            ("reason", reason.clone()),
        ],
    );
    let agent_id = actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str()));
    let payload = serde_json::json!({"subscription": v, "agent_id": agent_id, "reason": reason});
    let (request, after) = crate::approvals::submit(
        services,
        &tx,
        actor,
        crate::approvals::Submission {
            kind: SPECIAL_DISCOUNT,
            project_id: Some(parties.unit.project_id.clone()),
            subject_id: v.unit_id.to_string(),
            summary,
            facts: [("discount_percent".to_owned(), discount), ("amount".to_owned(), v.total.to_string())].into(),
            payload,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(request)
}

/// The approval engine's call for a special discount: approved, the
/// subscription is written now for the agent who asked; otherwise nothing.
pub(crate) async fn on_special_discount_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: crate::approvals::Outcome,
) -> ServiceResult<Vec<UnitChange>> {
    if outcome != crate::approvals::Outcome::Approved {
        return Ok(Vec::new());
    }
    #[derive(Deserialize)]
    struct Payload {
        subscription: ValidSubscription,
        agent_id: UserId,
    }
    let payload: Payload = serde_json::from_str(&request.payload).map_err(ServiceError::internal)?;
    let v = payload.subscription;
    // The agent's right to sell to this customer was checked when they asked.
    let parties =
        check_parties(tx, &Actor::system("approvals"), &v.unit_id, &v.customer_id, &v.payment_method_id).await?;
    let (_, change) = write_subscription(services, tx, actor, payload.agent_id, v, parties).await?;
    Ok(vec![change])
}

pub async fn get_subscription(services: &Services, actor: &Actor, id: &SubscriptionId) -> ServiceResult<Subscription> {
    actor.require(Permission::ReadDeals)?;
    match store::find_subscription(services.store.conn(), id).await? {
        Some(r) if may_see_deal(actor, &r.project_id, &r.agent_id) => Ok(r.into()),
        _ => Err(ServiceError::NotFound("subscription")),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewContract {
    pub subscription_id: Option<String>,
    pub unit_id: Option<String>,
    pub customer_id: Option<String>,
    pub payment_method_id: Option<String>,
    pub total_price: Option<String>,
    pub signed_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Contract {
    pub id: ContractId,
    pub number: String,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub subscription_id: Option<SubscriptionId>,
    pub payment_method_id: String,
    pub total_price: Money,
    pub signed_on: NaiveDate,
    pub status: ContractStatus,
}

impl From<ContractRow> for Contract {
    fn from(r: ContractRow) -> Self {
        Contract {
            id: r.id,
            number: r.number,
            project_id: r.project_id,
            unit_id: r.unit_id,
            customer_id: r.customer_id,
            agent_id: r.agent_id,
            subscription_id: r.subscription_id,
            payment_method_id: r.payment_method_id,
            total_price: r.total_price,
            signed_on: r.signed_on,
            status: r.status,
        }
    }
}

/// A contract being signed: on a standard method it is signed at once; on a
/// non-standard one (非标付款方式) it waits for the approval flow of
/// `non_standard_contract` unless that flow has no step that applies.
#[derive(Debug, Clone)]
pub enum Signing {
    Signed(Box<Contract>),
    /// Signed when the request is approved (the unit is not held meanwhile).
    Waiting {
        approval_id: String,
    },
}

impl Signing {
    /// The contract, if it was signed at once.
    pub fn signed(self) -> Option<Contract> {
        match self {
            Signing::Signed(c) => Some(*c),
            Signing::Waiting { .. } => None,
        }
    }
}

/// A contract's fields, checked; what a waiting contract's approval carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValidContract {
    /// Chosen before approval, so that the contract is found once it is signed.
    id: ContractId,
    subscription_id: Option<SubscriptionId>,
    unit_id: UnitId,
    customer_id: CustomerId,
    payment_method_id: String,
    total: Money,
    signed_on: NaiveDate,
}

fn valid_contract(form: NewContract) -> ServiceResult<ValidContract> {
    let mut errors = Invalid::default();
    let method_id = required_text(&mut errors, "payment_method_id", form.payment_method_id.as_deref(), 64);
    let total = parse_money(&mut errors, "total_price", form.total_price.as_deref());
    let signed_on = parse_date(&mut errors, "signed_on", form.signed_on.as_deref());
    if !total.is_positive() && errors.0.iter().all(|e| e.field != "total_price") {
        errors.push("total_price", "must_be_positive");
    }
    let subscription_id = SubscriptionId::given(form.subscription_id.as_deref());
    if subscription_id.is_none() {
        required_text(&mut errors, "unit_id", form.unit_id.as_deref(), 64);
        required_text(&mut errors, "customer_id", form.customer_id.as_deref(), 64);
    }
    errors.into_result()?;
    Ok(ValidContract {
        id: loupan_store::new_id().into(),
        subscription_id,
        unit_id: form.unit_id.unwrap_or_default().into(),
        customer_id: form.customer_id.unwrap_or_default().into(),
        payment_method_id: method_id,
        total,
        signed_on,
    })
}

/// What signing checked and writing needs.
struct CheckedContract {
    parties: SaleParties,
    /// The subscription it comes from, with its buyers.
    subscription: Option<SubscriptionRow>,
    limits: PriceLimits,
}

/// Every check of a contract before anything is written; fills in the unit
/// and customer from the subscription.
async fn check_contract<C: Connection>(
    conn: &C,
    actor: &Actor,
    v: &mut ValidContract,
) -> ServiceResult<CheckedContract> {
    let subscription = match &v.subscription_id {
        Some(sid) => {
            let sub = match store::find_subscription(conn, sid).await? {
                Some(s) if may_see_deal(actor, &s.project_id, &s.agent_id) => s,
                _ => return Err(Invalid::one("subscription_id", "unknown_subscription").into()),
            };
            if sub.status != SubscriptionStatus::Active {
                return Err(ServiceError::Conflict("subscription_not_active"));
            }
            v.unit_id.clone_from(&sub.unit_id);
            v.customer_id.clone_from(&sub.customer_id);
            Some(sub)
        }
        None => None,
    };
    let parties = check_parties(conn, actor, &v.unit_id, &v.customer_id, &v.payment_method_id).await?;
    // A subscription made with a method since retired still becomes its contract.
    if subscription.as_ref().map(|s| s.payment_method_id.as_str()) != Some(parties.method.id.as_str()) {
        in_force(&parties.method)?;
    }
    if subscription.is_none() && !matches!(parties.unit.status, UnitStatus::Available | UnitStatus::Reserved) {
        return Err(unit_taken());
    }
    // The subscription's price stands (it may carry an approved special discount).
    let limits = price_limits(conn, &parties.unit, &parties.method).await?;
    if v.total < limits.minimum && subscription.as_ref().is_none_or(|s| v.total < s.total_price) {
        return Err(Invalid::one("total_price", "needs_special_approval").into());
    }
    Ok(CheckedContract { parties, subscription, limits })
}

/// What a signing starts in other modules, in the signing's transaction
/// (`crate::handlers::contract_signed`).
pub(crate) type SignedFn = for<'a> fn(
    &'a Services,
    &'a loupan_store::Transaction,
    (&'a ContractRow, &'a store_inventory::UnitRow),
    loupan_domain::sales::PaymentMethodKind,
    chrono::DateTime<chrono::Utc>,
) -> crate::BoxFuture<'a, ServiceResult<()>>;

/// 签约: from an active subscription (unit `subscribed` → `contracted`) or
/// directly (`available` → `contracted`); the payment plan is written at once.
/// On a non-standard payment method the contract waits for approval.
pub async fn sign_contract(services: &Services, actor: &Actor, form: NewContract) -> ServiceResult<Signing> {
    actor.require(Permission::Sell)?;
    let mut v = valid_contract(form)?;
    let tx = services.store.begin_write().await?;
    let checked = check_contract(&tx, actor, &mut v).await?;
    let agent_id = actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str()));
    if checked.parties.method.non_standard {
        let signing = request_non_standard_contract(services, &tx, actor, agent_id, &v, &checked).await?;
        tx.commit().await.map_err(ServiceError::internal)?;
        signing.1.run(services);
        return Ok(signing.0);
    }
    let (contract, change) = write_contract(services, &tx, actor, agent_id, v, checked).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_after_commit(services, change);
    Ok(Signing::Signed(Box::new(contract)))
}

/// Submits a contract on a non-standard method for approval; approved at
/// once (no step applies), the handler has signed it in this transaction.
async fn request_non_standard_contract(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    agent_id: UserId,
    v: &ValidContract,
    checked: &CheckedContract,
) -> ServiceResult<(Signing, crate::approvals::AfterCommit)> {
    let open = loupan_store::approvals::requests_of_subject(tx, "unit", v.unit_id.as_str()).await?;
    if open.iter().any(|r| r.kind == RequestKind::NonStandardContract && r.status.is_open()) {
        return Err(ServiceError::Conflict("request_pending"));
    }
    let list = checked.parties.unit.list_price;
    let below_list = if v.total < list { (list - v.total).percent_of(list) } else { "0.00".to_owned() };
    let customer = store_customers::find_customer(tx, &v.customer_id).await?.map(|c| c.name).unwrap_or_default();
    let summary = Sentence::new(
        "approval_summary.non_standard_contract",
        &[
            ("unit", checked.parties.unit.number.clone()),
            ("customer", customer),
            ("method", checked.parties.method.name.clone()),
            ("total", v.total.grouped()),
            ("standard", checked.limits.standard.grouped()),
        ],
    );
    let (request, after) = crate::approvals::submit(
        services,
        tx,
        actor,
        crate::approvals::Submission {
            kind: RequestKind::NonStandardContract,
            project_id: Some(checked.parties.unit.project_id.clone()),
            subject_id: v.unit_id.to_string(),
            summary,
            facts: [("amount".to_owned(), v.total.to_string()), ("below_list_percent".to_owned(), below_list)].into(),
            payload: serde_json::json!({"contract": v, "agent_id": agent_id}),
        },
    )
    .await?;
    let signing = match store::find_contract(tx, &v.id).await? {
        Some(row) if request.status == loupan_domain::approvals::ApprovalStatus::Approved => {
            Signing::Signed(Box::new(row.into()))
        }
        _ => Signing::Waiting { approval_id: request.id },
    };
    Ok((signing, after))
}

/// The approval engine's call for a contract on a non-standard method:
/// approved, it is checked again and signed for the agent who asked.
pub(crate) async fn on_non_standard_contract_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: crate::approvals::Outcome,
) -> ServiceResult<Vec<UnitChange>> {
    if outcome != crate::approvals::Outcome::Approved {
        return Ok(Vec::new());
    }
    #[derive(Deserialize)]
    struct Payload {
        contract: ValidContract,
        agent_id: UserId,
    }
    let payload: Payload = serde_json::from_str(&request.payload).map_err(ServiceError::internal)?;
    let mut v = payload.contract;
    // The agent's right to sell was checked when they asked; the unit and price are checked again now.
    let checked = check_contract(tx, &Actor::system("approvals"), &mut v).await?;
    let (_, change) = write_contract(services, tx, actor, payload.agent_id, v, checked).await?;
    Ok(vec![change])
}

/// Writes a checked contract: the unit changes status by a conditional
/// write (a unit is never sold twice), the payment plan and buyers with it.
async fn write_contract(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    agent_id: UserId,
    v: ValidContract,
    checked: CheckedContract,
) -> ServiceResult<(Contract, UnitChange)> {
    let now = services.clock.now();
    let CheckedContract { parties, subscription, .. } = checked;
    let (from_status, copied_buyers) = match &subscription {
        Some(sub) => {
            if !store::convert_subscription(tx, &sub.id).await? {
                return Err(ServiceError::Conflict("subscription_not_active"));
            }
            (UnitStatus::Subscribed, store::buyers_of(tx, sub.id.as_str()).await?)
        }
        None => (claimable_from(tx, &v.unit_id, &v.customer_id).await?, Vec::new()),
    };
    if !store::change_unit_status(tx, &v.unit_id, from_status, UnitStatus::Contracted, now).await? {
        return Err(unit_taken());
    }
    let number = store::next_number(tx, &parties.unit.project_id, "contract").await?;
    let row = ContractRow {
        id: v.id,
        project_id: parties.unit.project_id.clone(),
        unit_id: v.unit_id,
        customer_id: v.customer_id,
        agent_id,
        subscription_id: v.subscription_id,
        number: format!("HT{number:06}"),
        payment_method_id: parties.method.id.clone(),
        total_price: v.total,
        signed_on: v.signed_on,
        status: ContractStatus::Active,
        version: 1,
        created_at: now,
    };
    store::insert_contract(tx, &row).await?;
    write_plan(tx, &row.id, &parties.method, v.total, v.signed_on).await?;
    // The buyers of the subscription are the buyers of the contract.
    let buyers: Vec<BuyerRow> = copied_buyers
        .into_iter()
        .map(|b| BuyerRow { id: loupan_store::new_id(), deal_id: row.id.to_string(), ..b })
        .collect();
    store::replace_buyers(tx, row.id.as_str(), &buyers).await?;
    unit_event(
        tx,
        (actor, services.clock.now()),
        &row.unit_id,
        UnitEventKind::Contracted,
        (from_status, UnitStatus::Contracted),
        Some(&row.number),
    )
    .await?;
    let change = UnitChange {
        unit_id: row.unit_id.clone(),
        building_id: parties.unit.building_id.clone(),
        status: UnitStatus::Contracted,
    };
    live::announce_in_tx(services, tx, &change).await?;
    customer_event(
        tx,
        (actor, services.clock.now()),
        &row.customer_id,
        CustomerEventKind::Contract,
        &[("unit", &parties.unit.number), ("contract", &row.number), ("total", &v.total.grouped())],
    )
    .await?;
    // The service processes a signing starts (registration, the loan), through the
    // top of the crate so that sales does not import after-sales.
    (services.handlers.contract_signed)(services, tx, (&row, &parties.unit), parties.method.kind, now).await?;
    let contract = Contract::from(row);
    audit::record(
        tx,
        actor,
        Change {
            action: "contract.sign",
            record_type: "contract",
            record_id: contract.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&contract)?,
        },
    )
    .await?;
    crate::platform::webhooks::publish(tx, "contract.signed", crate::platform::audit::payload(&contract)?).await?;
    crate::cases::surveys::after_signing(
        services,
        tx,
        actor,
        &contract.project_id,
        &contract.customer_id,
        &contract.id,
    )
    .await?;
    Ok((contract, change))
}

/// Writes a contract's payment plan from the method's terms (F2): it sums to `total` exactly.
pub(crate) async fn write_plan<C: Connection>(
    conn: &C,
    contract_id: &ContractId,
    method: &PaymentMethodRow,
    total: Money,
    signed_on: NaiveDate,
) -> ServiceResult<()> {
    let terms = stored_terms(method)?;
    let plan: Vec<InstalmentRow> = payment_plan(&terms, total, signed_on)
        .into_iter()
        .enumerate()
        .map(|(i, p)| InstalmentRow {
            id: loupan_store::new_id(),
            contract_id: contract_id.to_owned(),
            seq: i as i32 + 1,
            kind: p.kind,
            due_date: p.due_date,
            amount: p.amount,
            paid: Money::ZERO,
        })
        .collect();
    store::insert_instalments(conn, &plan).await?;
    Ok(())
}

pub(crate) async fn visible_contract<C: Connection>(
    conn: &C,
    actor: &Actor,
    id: &ContractId,
) -> ServiceResult<ContractRow> {
    actor.require(Permission::ReadDeals)?;
    match store::find_contract(conn, id).await? {
        Some(r) if may_see_deal(actor, &r.project_id, &r.agent_id) => Ok(r),
        _ => Err(ServiceError::NotFound("contract")),
    }
}

pub async fn get_contract(services: &Services, actor: &Actor, id: &ContractId) -> ServiceResult<Contract> {
    Ok(visible_contract(services.store.conn(), actor, id).await?.into())
}

/// One instalment of a plan with what has been paid on the audited basis.
#[derive(Debug, Clone, Serialize)]
pub struct Instalment {
    pub seq: i32,
    pub kind: TermKind,
    pub due_date: NaiveDate,
    pub amount: Money,
    pub paid: Money,
    pub outstanding: Money,
}

impl From<InstalmentRow> for Instalment {
    fn from(r: InstalmentRow) -> Self {
        Instalment {
            seq: r.seq,
            kind: r.kind,
            due_date: r.due_date,
            amount: r.amount,
            paid: r.paid,
            outstanding: r.amount - r.paid,
        }
    }
}

pub async fn payment_plan_of(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
) -> ServiceResult<Vec<Instalment>> {
    let conn = services.store.conn();
    visible_contract(conn, actor, contract_id).await?;
    Ok(store::instalments_of(conn, contract_id).await?.into_iter().map(Instalment::from).collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitEvent {
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    pub reference: Option<String>,
    pub actor_name: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// Every status change of a unit, oldest first.
pub async fn unit_history(services: &Services, actor: &Actor, unit_id: &UnitId) -> ServiceResult<Vec<UnitEvent>> {
    actor.require(Permission::ReadInventory)?;
    let conn = services.store.conn();
    match store_inventory::find_unit(conn, unit_id).await? {
        Some(u) if actor.sees_project(&u.project_id) => {}
        _ => return Err(ServiceError::NotFound("unit")),
    }
    Ok(store::unit_events_of(conn, unit_id)
        .await?
        .into_iter()
        .map(|e| UnitEvent {
            kind: e.kind,
            from_status: e.from_status,
            to_status: e.to_status,
            reference: e.reference,
            actor_name: e.actor_name,
            occurred_at: e.occurred_at,
        })
        .collect())
}

/// The deals currently on a unit (what its page shows).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnitDeals {
    pub subscription: Option<Subscription>,
    pub contract: Option<Contract>,
}

pub async fn deals_of_unit(services: &Services, actor: &Actor, unit_id: &UnitId) -> ServiceResult<UnitDeals> {
    let conn = services.store.conn();
    let subscription = store::active_subscription_of_unit(conn, unit_id)
        .await?
        .filter(|s| may_see_deal(actor, &s.project_id, &s.agent_id))
        .map(Subscription::from);
    let contract = store::active_contract_of_unit(conn, unit_id)
        .await?
        .filter(|c| may_see_deal(actor, &c.project_id, &c.agent_id))
        .map(Contract::from);
    Ok(UnitDeals { subscription, contract })
}

/// 销控: a manager holds an available unit back from sale, or releases a held
/// or not-yet-released unit for sale. Conditional like every status change.
pub async fn set_sales_control(
    services: &Services,
    actor: &Actor,
    unit_id: &UnitId,
    hold: bool,
) -> ServiceResult<UnitStatus> {
    actor.require(Permission::ManageInventory)?;
    let tx = services.store.begin_write().await?;
    let unit = match store_inventory::find_unit(&tx, unit_id).await? {
        Some(u) if actor.sees_project(&u.project_id) => u,
        _ => return Err(ServiceError::NotFound("unit")),
    };
    let from = unit.status;
    let to = match (hold, from) {
        (true, UnitStatus::Available) => UnitStatus::Held,
        (false, UnitStatus::Held | UnitStatus::NotForSale) => UnitStatus::Available,
        _ => return Err(ServiceError::Conflict("unit_not_available")),
    };
    if !store::change_unit_status(&tx, unit_id, from, to, services.clock.now()).await? {
        return Err(ServiceError::Conflict("unit_not_available"));
    }
    let kind = if hold { UnitEventKind::Held } else { UnitEventKind::Released };
    unit_event(&tx, (actor, services.clock.now()), unit_id, kind, (from, to), None).await?;
    let change = UnitChange { unit_id: unit_id.to_owned(), building_id: unit.building_id.clone(), status: to };
    live::announce_in_tx(services, &tx, &change).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: if hold { "unit.hold" } else { "unit.release" },
            record_type: "unit",
            record_id: unit_id.as_str(),
            before: Some(serde_json::json!({"status": from.name()})),
            after: Some(serde_json::json!({"status": to.name()})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_after_commit(services, change);
    Ok(to)
}

#[derive(Debug, Clone, Default)]
pub struct NewReservation {
    pub unit_id: Option<String>,
    pub customer_id: Option<String>,
    /// 1 to 30; default 3.
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub id: String,
    pub unit_id: UnitId,
    pub customer_id: CustomerId,
    pub agent_id: UserId,
    pub status: ReservationStatus,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl From<store::ReservationRow> for Reservation {
    fn from(r: store::ReservationRow) -> Self {
        Reservation {
            id: r.id,
            unit_id: r.unit_id,
            customer_id: r.customer_id,
            agent_id: r.agent_id,
            status: r.status,
            expires_at: r.expires_at,
        }
    }
}

/// 预留: keeps an available unit for a customer for some days, without money.
/// Only that customer can then subscribe it; it expires by itself.
pub async fn reserve(services: &Services, actor: &Actor, form: NewReservation) -> ServiceResult<Reservation> {
    actor.require(Permission::Sell)?;
    let mut errors = Invalid::default();
    let unit_id = UnitId::from(required_text(&mut errors, "unit_id", form.unit_id.as_deref(), 64));
    let customer_id = CustomerId::from(required_text(&mut errors, "customer_id", form.customer_id.as_deref(), 64));
    let days = form.days.unwrap_or(3);
    if !(1..=30).contains(&days) {
        errors.push("days", "out_of_range");
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let unit = match store_inventory::find_unit(&tx, &unit_id).await? {
        Some(u) if actor.sees_project(&u.project_id) => u,
        _ => return Err(Invalid::one("unit_id", "unknown_unit").into()),
    };
    if !may_sell_to(&tx, actor, &unit.project_id, &customer_id).await? {
        return Err(Invalid::one("customer_id", "unknown_customer").into());
    }
    let now = services.clock.now();
    if !store::change_unit_status(&tx, &unit_id, UnitStatus::Available, UnitStatus::Reserved, now).await? {
        return Err(unit_taken());
    }
    let row = store::ReservationRow {
        id: loupan_store::new_id(),
        project_id: unit.project_id.clone(),
        unit_id: unit_id.clone(),
        customer_id,
        agent_id: actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str())),
        status: ReservationStatus::Active,
        expires_at: now + chrono::Duration::days(days),
        created_at: now,
    };
    store::insert_reservation(&tx, &row).await?;
    unit_event(
        &tx,
        (actor, services.clock.now()),
        &unit_id,
        UnitEventKind::Reserved,
        (UnitStatus::Available, UnitStatus::Reserved),
        None,
    )
    .await?;
    let change =
        UnitChange { unit_id: unit_id.clone(), building_id: unit.building_id.clone(), status: UnitStatus::Reserved };
    live::announce_in_tx(services, &tx, &change).await?;
    let reservation = Reservation::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "reservation.create",
            record_type: "reservation",
            record_id: reservation.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&reservation)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_after_commit(services, change);
    Ok(reservation)
}

/// Ends reservations past their expiry: each unit returns to `available`.
/// Safe to run on several instances at once (every step is conditional).
pub async fn expire_reservations(services: &Services, now: chrono::DateTime<chrono::Utc>) -> ServiceResult<usize> {
    let system = Actor::system("reservations");
    let due = store::due_reservations(services.store.conn(), now).await?;
    let mut expired = 0;
    for r in due {
        let tx = services.store.begin_write().await?;
        if !store::end_reservation(&tx, &r.id, ReservationStatus::Expired).await? {
            continue;
        }
        if store::change_unit_status(&tx, &r.unit_id, UnitStatus::Reserved, UnitStatus::Available, now).await? {
            unit_event(
                &tx,
                (&system, now),
                &r.unit_id,
                UnitEventKind::ReservationExpired,
                (UnitStatus::Reserved, UnitStatus::Available),
                None,
            )
            .await?;
        }
        audit::record(
            &tx,
            &system,
            Change {
                action: "reservation.expire",
                record_type: "reservation",
                record_id: r.id.as_str(),
                before: Some(serde_json::json!({"status": "active"})),
                after: Some(serde_json::json!({"status": "expired"})),
            },
        )
        .await?;
        let building_id = store_inventory::find_unit(&tx, &r.unit_id).await?.map(|u| u.building_id).unwrap_or_default();
        let change = UnitChange { unit_id: r.unit_id.clone(), building_id, status: UnitStatus::Available };
        live::announce_in_tx(services, &tx, &change).await?;
        tx.commit().await.map_err(ServiceError::internal)?;
        live::announce_after_commit(services, change);
        expired += 1;
    }
    Ok(expired)
}

/// The subscription letter (认购书) as PDF: the unit, the buyers, the price in
/// figures and in capital numerals, deposit, payment terms, the usual clauses
/// and signature lines. ID numbers are printed masked.
pub async fn subscription_letter(services: &Services, actor: &Actor, id: &SubscriptionId) -> ServiceResult<Vec<u8>> {
    use loupan_documents::pdf::Block;
    let s = get_subscription(services, actor, id).await?;
    let conn = services.store.conn();
    let unit = store_inventory::find_unit(conn, &s.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let building = store_inventory::find_building(conn, &unit.building_id).await?.map(|b| b.name).unwrap_or_default();
    let project = store_inventory::find_project(conn, &s.project_id).await?.map(|p| p.name).unwrap_or_default();
    let method = store::find_payment_method(conn, &s.payment_method_id).await?;
    let mut buyers = Vec::new();
    for b in self::buyers(services, actor, s.id.as_str()).await? {
        if let Some(c) = store_customers::find_customer(conn, &b.customer_id).await? {
            let id_number = c.id_number_masked.clone().unwrap_or_else(|| "—".into());
            let share = Ratio::parse(&b.share)
                .map(|r| format!("{}%", loupan_domain::approvals::percent(r.millionths(), 1_000_000)))
                .unwrap_or(b.share);
            buyers.push(format!("{}（证件号 {id_number}，份额 {share}）", c.name));
        }
    }
    let agent = loupan_store::users::find_user(conn, &s.agent_id).await?.map(|u| u.display_name).unwrap_or_default();
    let terms: Vec<String> = match &method {
        Some(m) => stored_terms(m)?
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let share = loupan_domain::approvals::percent(t.ratio.millionths(), 1_000_000);
                match t.days_after_signing {
                    0 => format!("第{}期：房款的 {share}%，签约时付清", i + 1),
                    days => format!("第{}期：房款的 {share}%，签约后 {days} 天内付清", i + 1),
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let area = |a: loupan_domain::Area| format!("{a} 平方米");
    let blocks = vec![
        Block::Title("商品房认购书".into()),
        Block::Paragraph(format!("认购书编号：{}　　认购日期：{}", s.number, s.subscribed_on)),
        Block::Heading("一、认购房屋".into()),
        Block::Fields(vec![
            ("项目".into(), project),
            ("房号".into(), format!("{building} {} 号房", unit.number)),
            ("户型".into(), unit.layout.clone()),
            ("预测建筑面积".into(), area(unit.gross_area)),
            ("预测套内面积".into(), area(unit.inner_area)),
        ]),
        Block::Heading("二、买受人".into()),
        Block::Paragraph(buyers.join("；")),
        Block::Heading("三、价款与定金".into()),
        Block::Fields(vec![
            ("成交总价".into(), format!("人民币 {} 元（大写：{}）", s.total_price.grouped(), s.total_price.in_chinese_words())),
            ("定金".into(), format!("人民币 {} 元（大写：{}）", s.deposit.grouped(), s.deposit.in_chinese_words())),
            ("付款方式".into(), method.as_ref().map(|m| m.name.clone()).unwrap_or_default()),
            ("付款安排".into(), terms.join("\n")),
            ("置业顾问".into(), agent),
        ]),
        Block::Heading("四、约定".into()),
        Block::Paragraph("1. 买受人应自本认购书签署之日起七日内与出卖人签订《商品房买卖合同》；签约时定金转为房款（定金转房款）。".into()),
        Block::Paragraph("2. 买受人逾期未签约的，出卖人有权另行出售该房屋，定金按《中华人民共和国民法典》有关定金的规定处理；因出卖人原因未能签约的，出卖人双倍返还定金。".into()),
        Block::Paragraph("3. 房屋面积以房产测绘机构实测为准，面积差异按买卖合同约定处理。".into()),
        Block::Paragraph("4. 本认购书一式两份，双方各执一份，自双方签字（盖章）之日起生效。".into()),
        Block::Signatures(vec!["出卖人（盖章）：".into(), "买受人（签字）：".into(), "日期：".into()]),
    ];
    let pdf = loupan_documents::pdf::render(&blocks)?;
    // Letters carry personal data: who printed which is kept.
    let tx = services.store.begin_write().await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "subscription.print_letter",
            record_type: "subscription",
            record_id: s.id.as_str(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(pdf)
}

// Deals of either kind and their buyers (权益人), shared by sales and business changes.

/// A buyer as typed: the customer and their share (a ratio, `"0.5"`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewBuyer {
    pub customer_id: Option<String>,
    pub share: Option<String>,
}

/// A deal of either kind (a contract or a subscription), as changes and buyers see it.
pub(crate) enum Deal {
    Contract(ContractRow),
    Subscription(SubscriptionRow),
}

impl Deal {
    pub(crate) fn id(&self) -> &str {
        match self {
            Deal::Contract(k) => k.id.as_str(),
            Deal::Subscription(s) => s.id.as_str(),
        }
    }
    pub(crate) fn project_id(&self) -> &ProjectId {
        match self {
            Deal::Contract(k) => &k.project_id,
            Deal::Subscription(s) => &s.project_id,
        }
    }
    pub(crate) fn unit_id(&self) -> &UnitId {
        match self {
            Deal::Contract(k) => &k.unit_id,
            Deal::Subscription(s) => &s.unit_id,
        }
    }
    pub(crate) fn customer_id(&self) -> &CustomerId {
        match self {
            Deal::Contract(k) => &k.customer_id,
            Deal::Subscription(s) => &s.customer_id,
        }
    }
    pub(crate) fn number(&self) -> &str {
        match self {
            Deal::Contract(k) => &k.number,
            Deal::Subscription(s) => &s.number,
        }
    }
    pub(crate) fn total(&self) -> Money {
        match self {
            Deal::Contract(k) => k.total_price,
            Deal::Subscription(s) => s.total_price,
        }
    }
    pub(crate) fn method_id(&self) -> &str {
        match self {
            Deal::Contract(k) => &k.payment_method_id,
            Deal::Subscription(s) => &s.payment_method_id,
        }
    }
    pub(crate) fn status_of_unit(&self) -> UnitStatus {
        match self {
            Deal::Contract(_) => UnitStatus::Contracted,
            Deal::Subscription(_) => UnitStatus::Subscribed,
        }
    }
    pub(crate) fn is_active(&self) -> bool {
        match self {
            Deal::Contract(k) => k.status == ContractStatus::Active,
            Deal::Subscription(s) => s.status == SubscriptionStatus::Active,
        }
    }
}

/// A deal the actor may see. Cancellations name their kind of deal; the other
/// changes apply to whichever the id is.
pub(crate) async fn visible_deal(
    services: &Services,
    actor: &Actor,
    kind: Option<loupan_domain::sales::ChangeKind>,
    subject_id: &str,
) -> ServiceResult<Deal> {
    // Not a visible contract is "try a subscription"; a failed lookup is a failure.
    fn visible<T>(found: ServiceResult<T>) -> ServiceResult<Option<T>> {
        match found {
            Ok(deal) => Ok(Some(deal)),
            Err(e) if e.is_absence() => Ok(None),
            Err(e) => Err(e),
        }
    }
    if kind != Some(loupan_domain::sales::ChangeKind::CancelSubscription)
        && let Some(k) = visible(get_contract(services, actor, &subject_id.into()).await.map(|k| k.id))?
        && let Some(row) = store::find_contract(services.store.conn(), &k).await?
    {
        return Ok(Deal::Contract(row));
    }
    if kind != Some(loupan_domain::sales::ChangeKind::CancelContract)
        && let Some(s) = visible(get_subscription(services, actor, &subject_id.into()).await.map(|s| s.id))?
        && let Some(row) = store::find_subscription(services.store.conn(), &s).await?
    {
        return Ok(Deal::Subscription(row));
    }
    let code = match kind {
        Some(loupan_domain::sales::ChangeKind::CancelContract) => "unknown_contract",
        Some(loupan_domain::sales::ChangeKind::CancelSubscription) => "unknown_subscription",
        _ => "unknown_deal",
    };
    Err(Invalid::one("subject_id", code).into())
}

pub(crate) async fn load_deal<C: Connection>(conn: &C, subject_id: &str) -> ServiceResult<Deal> {
    if let Some(k) = store::find_contract(conn, &subject_id.into()).await? {
        return Ok(Deal::Contract(k));
    }
    store::find_subscription(conn, &subject_id.into())
        .await?
        .map(Deal::Subscription)
        .ok_or(ServiceError::NotFound("deal"))
}

/// What the buyer has paid on the deal (audited money).
pub(crate) async fn paid_on<C: Connection>(conn: &C, deal: &Deal) -> ServiceResult<Money> {
    match deal {
        Deal::Contract(k) => Ok(store::instalments_of(conn, &k.id).await?.iter().map(|i| i.paid).sum()),
        Deal::Subscription(s) => Ok(store_finance::audited_total_of_subscription(conn, &s.id).await?),
    }
}

pub(crate) async fn buyers_json<C: Connection>(conn: &C, deal: &Deal) -> ServiceResult<Value> {
    let rows = store::buyers_of(conn, deal.id()).await?;
    if rows.is_empty() {
        return Ok(json!([{"customer_id": deal.customer_id(), "share": "1"}]));
    }
    Ok(Value::from(
        rows.iter()
            .map(|b| json!({"customer_id": b.customer_id, "share": Ratio::from_millionths(b.share_millionths).to_string()}))
            .collect::<Vec<_>>(),
    ))
}

/// The buyers as typed, checked: known customers of the project the actor may
/// sell to, no one twice, shares that add up to exactly 1.
pub(crate) async fn check_buyers<C: Connection>(
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    buyers: &[NewBuyer],
    errors: &mut Invalid,
) -> ServiceResult<Vec<(CustomerId, Ratio)>> {
    let mut out: Vec<(CustomerId, Ratio)> = Vec::new();
    if buyers.is_empty() {
        errors.push("buyers", "required");
    } else if buyers.len() > 5 {
        errors.push("buyers", "too_many");
    }
    for b in buyers {
        let id = CustomerId::from(b.customer_id.as_deref().map(str::trim).unwrap_or_default());
        let share = match b.share.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Ratio::parse(s).map_err(|code| errors.push("buyers", code)).unwrap_or(Ratio::ZERO),
            None => {
                errors.push("buyers", "required");
                Ratio::ZERO
            }
        };
        if share.millionths() <= 0 {
            errors.push("buyers", "must_be_positive");
        }
        if id.as_str().is_empty() || !may_sell_to(conn, actor, project_id, &id).await? {
            errors.push("buyers", "unknown_customer");
        } else if out.iter().any(|(c, _)| c == &id) {
            errors.push("buyers", "duplicate_buyer");
        }
        out.push((id, share));
    }
    if !buyers.is_empty() && out.iter().map(|(_, s)| s.millionths()).sum::<i64>() != Ratio::ONE.millionths() {
        errors.push("buyers", "shares_must_sum_to_one");
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Buyer {
    pub customer_id: CustomerId,
    pub share: String,
}

/// The buyers of a deal the actor may see (the main buyer alone when none were set).
pub async fn buyers(services: &Services, actor: &Actor, deal_id: &str) -> ServiceResult<Vec<Buyer>> {
    actor.require(Permission::ReadDeals)?;
    let deal = visible_deal(services, actor, None, deal_id).await.map_err(|e| match e {
        // `visible_deal` names an unknown deal as a field of a change request; here it is the path.
        ServiceError::Invalid(_) => ServiceError::NotFound("deal"),
        other => other.when_absent(|| ServiceError::NotFound("deal")),
    })?;
    let rows = store::buyers_of(services.store.conn(), deal.id()).await?;
    if rows.is_empty() {
        return Ok(vec![Buyer { customer_id: deal.customer_id().clone(), share: Ratio::ONE.to_string() }]);
    }
    Ok(rows
        .into_iter()
        .map(|b| Buyer { customer_id: b.customer_id, share: Ratio::from_millionths(b.share_millionths).to_string() })
        .collect())
}
