//! Payment methods, subscriptions, contracts and payment plans, the unit's
//! status changes (conditional writes: a unit is never sold twice) and history.

use chrono::{DateTime, Utc};
use loupan_domain::Money;
use loupan_domain::finance::RefundStatus;
use loupan_domain::ids::{BuildingId, ContractId, CustomerId, ProjectId, SubscriptionId, UnitId, UserId};
use loupan_domain::inventory::UnitStatus;
use loupan_domain::sales::{ChangeKind, ChangeStatus, ContractStatus, ReservationStatus, SubscriptionStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{contracts, instalments, number_sequences, payment_methods, subscriptions, unit_events, units};
use crate::{StoreError, StoreResult};

pub use contracts::Model as ContractRow;
pub use instalments::Model as InstalmentRow;
pub use payment_methods::Model as PaymentMethodRow;
pub use subscriptions::Model as SubscriptionRow;
pub use unit_events::Model as UnitEventRow;

pub async fn insert_payment_method<C: ConnectionTrait>(c: &C, row: &PaymentMethodRow) -> StoreResult<()> {
    payment_methods::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_payment_method<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<PaymentMethodRow>> {
    Ok(payment_methods::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// A project's payment methods by name, those in force first.
pub async fn payment_methods_of<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
) -> StoreResult<Vec<PaymentMethodRow>> {
    let mut rows = payment_methods::Entity::find()
        .filter(payment_methods::Column::ProjectId.eq(project_id))
        .order_by_asc(payment_methods::Column::Name)
        .order_by_asc(payment_methods::Column::CreatedAt)
        .all(c)
        .await?;
    rows.sort_by_key(|r| r.retired_at.is_some());
    Ok(rows)
}

/// Whether a method in force other than `except` has this name in the project.
pub async fn method_name_taken<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    name: &str,
    except: Option<&str>,
) -> StoreResult<bool> {
    let mut q = payment_methods::Entity::find()
        .filter(payment_methods::Column::ProjectId.eq(project_id))
        .filter(payment_methods::Column::Name.eq(name))
        .filter(payment_methods::Column::RetiredAt.is_null());
    if let Some(id) = except {
        q = q.filter(payment_methods::Column::Id.ne(id));
    }
    Ok(q.one(c).await?.is_some())
}

/// Whether any subscription or contract was made with the method.
pub async fn payment_method_in_use<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<bool> {
    Ok(subscriptions::Entity::find().filter(subscriptions::Column::PaymentMethodId.eq(id)).one(c).await?.is_some()
        || contracts::Entity::find().filter(contracts::Column::PaymentMethodId.eq(id)).one(c).await?.is_some())
}

/// Rewrites a method nobody has used yet, if it is still at `version`.
pub async fn update_payment_method<C: ConnectionTrait>(
    c: &C,
    row: &PaymentMethodRow,
    version: i64,
) -> StoreResult<bool> {
    use payment_methods::Column as M;
    let res = payment_methods::Entity::update_many()
        .col_expr(M::Name, Expr::value(row.name.clone()))
        .col_expr(M::Kind, Expr::value(row.kind))
        .col_expr(M::DiscountMillionths, Expr::value(row.discount_millionths))
        .col_expr(M::TermsJson, Expr::value(row.terms_json.clone()))
        .col_expr(M::NonStandard, Expr::value(row.non_standard))
        .col_expr(M::Version, Expr::value(version + 1))
        .filter(M::Id.eq(row.id.as_str()))
        .filter(M::Version.eq(version))
        .filter(M::RetiredAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Retires a method in force; false if it was already retired (or is not at `version`).
pub async fn retire_payment_method<C: ConnectionTrait>(
    c: &C,
    id: &str,
    version: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    use payment_methods::Column as M;
    let res = payment_methods::Entity::update_many()
        .col_expr(M::RetiredAt, Expr::value(at))
        .col_expr(M::Version, Expr::value(version + 1))
        .filter(M::Id.eq(id))
        .filter(M::Version.eq(version))
        .filter(M::RetiredAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The next number of a kind of document in a project (1, 2, …). One
/// statement moves the row and says the number (`UPDATE … RETURNING`, which
/// locks it, so concurrent documents never get the same number); the first
/// document of its kind creates the row first (concurrent first ones: one
/// inserts, the others do nothing) and never fails.
pub async fn next_number<C: ConnectionTrait>(c: &C, project_id: &ProjectId, kind: &str) -> StoreResult<i64> {
    use sea_orm::sea_query::OnConflict;
    let backend = c.get_database_backend();
    let moved = || {
        sea_orm::Statement::from_sql_and_values(
            backend,
            crate::raw::placeholders(
                backend,
                "UPDATE number_sequences SET next_value = next_value + 1 \
                 WHERE project_id = $1 AND kind = $2 RETURNING next_value",
            ),
            [project_id.as_str().into(), kind.into()],
        )
    };
    if let Some(row) = c.query_one_raw(moved()).await? {
        return Ok(row.try_get::<i64>("", "next_value")? - 1);
    }
    number_sequences::Entity::insert(number_sequences::ActiveModel {
        project_id: Set(project_id.to_owned()),
        kind: Set(kind.to_owned()),
        next_value: Set(1),
    })
    .on_conflict(
        OnConflict::columns([number_sequences::Column::ProjectId, number_sequences::Column::Kind])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(c)
    .await?;
    let row = c.query_one_raw(moved()).await?.ok_or_else(|| StoreError::Config("number sequence vanished".into()))?;
    Ok(row.try_get::<i64>("", "next_value")? - 1)
}

/// Moves a unit from `from` to `to` only if it is still in `from`: the one
/// write that decides who gets the unit. False when someone else was first.
pub async fn change_unit_status<C: ConnectionTrait>(
    c: &C,
    unit_id: &UnitId,
    from: UnitStatus,
    to: UnitStatus,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = units::Entity::update_many()
        .col_expr(units::Column::Status, Expr::value(to))
        .col_expr(units::Column::Version, Expr::col(units::Column::Version).add(1))
        .col_expr(units::Column::UpdatedAt, Expr::value(now))
        .filter(units::Column::Id.eq(unit_id))
        .filter(units::Column::Status.eq(from))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_unit_event<C: ConnectionTrait>(c: &C, row: &UnitEventRow) -> StoreResult<()> {
    unit_events::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn unit_events_of<C: ConnectionTrait>(c: &C, unit_id: &UnitId) -> StoreResult<Vec<UnitEventRow>> {
    Ok(unit_events::Entity::find()
        .filter(unit_events::Column::UnitId.eq(unit_id))
        .order_by_asc(unit_events::Column::OccurredAt)
        .all(c)
        .await?)
}

pub async fn insert_subscription<C: ConnectionTrait>(c: &C, row: &SubscriptionRow) -> StoreResult<()> {
    subscriptions::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_subscription<C: ConnectionTrait>(c: &C, id: &SubscriptionId) -> StoreResult<Option<SubscriptionRow>> {
    Ok(subscriptions::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Marks an active subscription as converted into a contract; false if it was not active.
pub async fn convert_subscription<C: ConnectionTrait>(c: &C, id: &SubscriptionId) -> StoreResult<bool> {
    let res = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::Status, Expr::value(SubscriptionStatus::Converted))
        .col_expr(subscriptions::Column::Version, Expr::col(subscriptions::Column::Version).add(1))
        .filter(subscriptions::Column::Id.eq(id))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_contract<C: ConnectionTrait>(c: &C, row: &ContractRow) -> StoreResult<()> {
    contracts::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_contract<C: ConnectionTrait>(c: &C, id: &ContractId) -> StoreResult<Option<ContractRow>> {
    Ok(contracts::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Adds instalments to contracts' plans, and what they owe to the contracts' open balances.
pub async fn insert_instalments<C: ConnectionTrait>(c: &C, rows: &[InstalmentRow]) -> StoreResult<()> {
    for row in rows {
        instalments::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    }
    let contracts: std::collections::BTreeSet<&ContractId> = rows.iter().map(|r| &r.contract_id).collect();
    for contract in contracts {
        crate::balances::keep(c, contract).await?;
    }
    Ok(())
}

/// A contract's plan in order.
pub async fn instalments_of<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<Vec<InstalmentRow>> {
    Ok(instalments::Entity::find()
        .filter(instalments::Column::ContractId.eq(contract_id))
        .order_by_asc(instalments::Column::Seq)
        .all(c)
        .await?)
}

/// Counts allocated money as paid on instalments of one contract
/// (instalment id, amount) and keeps the contract's open balances.
pub async fn add_paid<C: ConnectionTrait>(
    c: &C,
    contract_id: &ContractId,
    paid: &[(String, Money)],
) -> StoreResult<()> {
    for (instalment_id, amount) in paid {
        instalments::Entity::update_many()
            .col_expr(instalments::Column::Paid, Expr::col(instalments::Column::Paid).add(*amount))
            .filter(instalments::Column::Id.eq(instalment_id))
            .filter(instalments::Column::ContractId.eq(contract_id))
            .exec(c)
            .await?;
    }
    if !paid.is_empty() {
        crate::balances::keep(c, contract_id).await?;
    }
    Ok(())
}

/// The active subscription on a unit, if any.
pub async fn active_subscription_of_unit<C: ConnectionTrait>(
    c: &C,
    unit_id: &UnitId,
) -> StoreResult<Option<SubscriptionRow>> {
    Ok(subscriptions::Entity::find()
        .filter(subscriptions::Column::UnitId.eq(unit_id))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .one(c)
        .await?)
}

/// The active contract on a unit, if any.
pub async fn active_contract_of_unit<C: ConnectionTrait>(c: &C, unit_id: &UnitId) -> StoreResult<Option<ContractRow>> {
    Ok(contracts::Entity::find()
        .filter(contracts::Column::UnitId.eq(unit_id))
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .one(c)
        .await?)
}

/// Starts a project's numbering of `kind` at `next_value` (after bulk imports
/// that numbered documents themselves).
pub async fn start_numbering_at<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    kind: &str,
    next_value: i64,
) -> StoreResult<()> {
    number_sequences::Entity::insert(number_sequences::ActiveModel {
        project_id: Set(project_id.to_owned()),
        kind: Set(kind.to_owned()),
        next_value: Set(next_value),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

/// The unpaid part of the active contracts' instalments of some projects,
/// filtered and joined once for the ageing queries.
fn open_instalments_query(
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
) -> sea_orm::Select<instalments::Entity> {
    use sea_orm::JoinType;
    let relation: sea_orm::RelationDef = instalments::Entity::belongs_to(contracts::Entity)
        .from(instalments::Column::ContractId)
        .to(contracts::Column::Id)
        .into();
    let mut q = instalments::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, relation)
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .filter(
            Expr::col((instalments::Entity, instalments::Column::Paid))
                .lt(Expr::col((instalments::Entity, instalments::Column::Amount))),
        );
    if let Some(ids) = projects {
        q = q.filter(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = project_id {
        q = q.filter(contracts::Column::ProjectId.eq(p));
    }
    q
}

pub use crate::balances::ContractAgeingRow;

/// The ageing query over the records themselves: per active contract with
/// money open, the unpaid amounts summed per due-date range (`[from, until)`,
/// `None` unbounded) by the database, ordered by contract. The report reads
/// the kept balances (`balances::ageing_by_contract`); this stays as their
/// reference, for the tests that compare the two and the benchmark.
pub fn ageing_statement<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    ranges: &[(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)],
) -> sea_orm::Statement {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, CaseStatement, Condition, Func, SimpleExpr};
    let due = || Expr::col((instalments::Entity, instalments::Column::DueDate));
    let open: SimpleExpr = Expr::col((instalments::Entity, instalments::Column::Amount))
        .sub(Expr::col((instalments::Entity, instalments::Column::Paid)));
    let mut q = open_instalments_query(projects, project_id)
        .column(instalments::Column::ContractId)
        .column(contracts::Column::Number)
        .column(contracts::Column::CustomerId);
    for (i, (from, until)) in ranges.iter().enumerate() {
        let mut within = Condition::all();
        if let Some(f) = from {
            within = within.add(due().gte(*f));
        }
        if let Some(u) = until {
            within = within.add(due().lt(*u));
        }
        let amount = CaseStatement::new().case(within, open.clone()).finally(0);
        // SUM of a bigint is numeric on PostgreSQL: cast back to fen.
        let sum: SimpleExpr = Func::cast_as(Func::sum(amount), Alias::new("BIGINT")).into();
        q = q.column_as(sum, format!("b{i}"));
    }
    q.group_by(instalments::Column::ContractId)
        .group_by(contracts::Column::Number)
        .group_by(contracts::Column::CustomerId)
        .order_by_asc(instalments::Column::ContractId)
        .build(c.get_database_backend())
}

pub async fn ageing_by_contract<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    ranges: &[(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)],
) -> StoreResult<Vec<ContractAgeingRow>> {
    let statement = ageing_statement(c, projects, project_id, ranges);
    let mut out = Vec::new();
    for row in c.query_all_raw(statement).await? {
        let mut amounts = Vec::with_capacity(ranges.len());
        for i in 0..ranges.len() {
            amounts.push(row.try_get::<Option<Money>>("", &format!("b{i}"))?.unwrap_or_default());
        }
        out.push(ContractAgeingRow {
            contract_id: row.try_get("", "contract_id")?,
            number: row.try_get("", "number")?,
            customer_id: row.try_get("", "customer_id")?,
            amounts,
        });
    }
    Ok(out)
}

/// How many unpaid instalments of active contracts fell due before `today`.
pub async fn overdue_instalment_count<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    today: chrono::NaiveDate,
) -> StoreResult<u64> {
    let n: Option<i64> = open_instalments_query(projects, None)
        .column_as(Expr::col((instalments::Entity, instalments::Column::Id)).count(), "n")
        .filter(instalments::Column::DueDate.lt(today))
        .into_tuple()
        .one(c)
        .await?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}

pub use crate::entities::deal_changes::Model as DealChangeRow;
pub use crate::entities::refunds::Model as RefundRow;

pub async fn insert_deal_change<C: ConnectionTrait>(c: &C, row: &DealChangeRow) -> StoreResult<()> {
    crate::entities::deal_changes::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_deal_change<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<DealChangeRow>> {
    Ok(crate::entities::deal_changes::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn deal_changes<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    status: Option<ChangeStatus>,
) -> StoreResult<Vec<DealChangeRow>> {
    use crate::entities::deal_changes as dc;
    let mut q = dc::Entity::find().order_by_desc(dc::Column::CreatedAt).limit(500);
    if let Some(ids) = projects {
        q = q.filter(dc::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(s) = status {
        q = q.filter(dc::Column::Status.eq(s));
    }
    Ok(q.all(c).await?)
}

/// Records a decision on a requested change; false when it was decided already.
pub async fn decide_deal_change<C: ConnectionTrait>(
    c: &C,
    id: &str,
    status: ChangeStatus,
    by: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    use crate::entities::deal_changes as dc;
    let res = dc::Entity::update_many()
        .col_expr(dc::Column::Status, Expr::value(status))
        .col_expr(dc::Column::DecidedBy, Expr::value(by.to_owned()))
        .col_expr(dc::Column::DecisionNote, Expr::value(note.map(str::to_owned)))
        .col_expr(dc::Column::DecidedAt, Expr::value(now))
        .filter(dc::Column::Id.eq(id))
        .filter(dc::Column::Status.eq(ChangeStatus::Requested))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Ends an active contract or subscription; false when it was not active.
pub async fn cancel_contract<C: ConnectionTrait>(c: &C, id: &ContractId) -> StoreResult<bool> {
    let res = contracts::Entity::update_many()
        .col_expr(contracts::Column::Status, Expr::value(ContractStatus::Cancelled))
        .col_expr(contracts::Column::Version, Expr::col(contracts::Column::Version).add(1))
        .filter(contracts::Column::Id.eq(id))
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .exec(c)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    // A cancelled contract owes nothing any more.
    crate::balances::keep(c, id).await?;
    Ok(true)
}

pub async fn cancel_subscription<C: ConnectionTrait>(c: &C, id: &SubscriptionId) -> StoreResult<bool> {
    let res = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::Status, Expr::value(SubscriptionStatus::Cancelled))
        .col_expr(subscriptions::Column::Version, Expr::col(subscriptions::Column::Version).add(1))
        .filter(subscriptions::Column::Id.eq(id))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_refund<C: ConnectionTrait>(c: &C, row: &RefundRow) -> StoreResult<()> {
    crate::entities::refunds::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn refunds<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    status: Option<RefundStatus>,
) -> StoreResult<Vec<RefundRow>> {
    use crate::entities::refunds as rf;
    let mut q = rf::Entity::find().order_by_desc(rf::Column::CreatedAt).limit(500);
    if let Some(ids) = projects {
        q = q.filter(rf::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(s) = status {
        q = q.filter(rf::Column::Status.eq(s));
    }
    Ok(q.all(c).await?)
}

pub use crate::entities::reservations::Model as ReservationRow;

pub async fn insert_reservation<C: ConnectionTrait>(c: &C, row: &ReservationRow) -> StoreResult<()> {
    crate::entities::reservations::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn active_reservation_of_unit<C: ConnectionTrait>(
    c: &C,
    unit_id: &UnitId,
) -> StoreResult<Option<ReservationRow>> {
    use crate::entities::reservations as rv;
    Ok(rv::Entity::find()
        .filter(rv::Column::UnitId.eq(unit_id))
        .filter(rv::Column::Status.eq(ReservationStatus::Active))
        .one(c)
        .await?)
}

/// Active reservations past their expiry.
pub async fn due_reservations<C: ConnectionTrait>(c: &C, now: DateTime<Utc>) -> StoreResult<Vec<ReservationRow>> {
    use crate::entities::reservations as rv;
    Ok(rv::Entity::find()
        .filter(rv::Column::Status.eq(ReservationStatus::Active))
        .filter(rv::Column::ExpiresAt.lte(now))
        .order_by_asc(rv::Column::ExpiresAt)
        .limit(500)
        .all(c)
        .await?)
}

/// Ends an active reservation with `status`; false when it was no longer active.
pub async fn end_reservation<C: ConnectionTrait>(c: &C, id: &str, status: ReservationStatus) -> StoreResult<bool> {
    use crate::entities::reservations as rv;
    let res = rv::Entity::update_many()
        .col_expr(rv::Column::Status, Expr::value(status))
        .filter(rv::Column::Id.eq(id))
        .filter(rv::Column::Status.eq(ReservationStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub use crate::entities::deal_buyers::Model as BuyerRow;

/// The buyers of a deal, main buyer first.
pub async fn buyers_of<C: ConnectionTrait>(c: &C, deal_id: &str) -> StoreResult<Vec<BuyerRow>> {
    use crate::entities::deal_buyers as b;
    Ok(b::Entity::find().filter(b::Column::DealId.eq(deal_id)).order_by_asc(b::Column::Position).all(c).await?)
}

/// The buyers of many deals, each deal's main buyer first.
pub async fn buyers_of_deals<C: ConnectionTrait>(c: &C, deal_ids: &[&str]) -> StoreResult<Vec<BuyerRow>> {
    use crate::entities::deal_buyers as b;
    let mut out = Vec::new();
    for chunk in deal_ids.chunks(500) {
        out.extend(
            b::Entity::find()
                .filter(b::Column::DealId.is_in(chunk.iter().copied()))
                .order_by_asc(b::Column::DealId)
                .order_by_asc(b::Column::Position)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

pub async fn replace_buyers<C: ConnectionTrait>(c: &C, deal_id: &str, rows: &[BuyerRow]) -> StoreResult<()> {
    use crate::entities::deal_buyers as b;
    b::Entity::delete_many().filter(b::Column::DealId.eq(deal_id)).exec(c).await?;
    for row in rows {
        b::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    }
    Ok(())
}

/// The main buyer of an active contract changes (更名).
pub async fn set_contract_customer<C: ConnectionTrait>(
    c: &C,
    id: &ContractId,
    customer_id: &CustomerId,
) -> StoreResult<bool> {
    let res = contracts::Entity::update_many()
        .col_expr(contracts::Column::CustomerId, Expr::value(customer_id.to_owned()))
        .col_expr(contracts::Column::Version, Expr::col(contracts::Column::Version).add(1))
        .filter(contracts::Column::Id.eq(id))
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_subscription_customer<C: ConnectionTrait>(
    c: &C,
    id: &SubscriptionId,
    customer_id: &CustomerId,
) -> StoreResult<bool> {
    let res = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::CustomerId, Expr::value(customer_id.to_owned()))
        .col_expr(subscriptions::Column::Version, Expr::col(subscriptions::Column::Version).add(1))
        .filter(subscriptions::Column::Id.eq(id))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// New price and payment method of an active contract (its plan is rewritten separately).
pub async fn set_contract_terms<C: ConnectionTrait>(
    c: &C,
    id: &ContractId,
    total: Money,
    method_id: &str,
) -> StoreResult<bool> {
    let res = contracts::Entity::update_many()
        .col_expr(contracts::Column::TotalPrice, Expr::value(total))
        .col_expr(contracts::Column::PaymentMethodId, Expr::value(method_id.to_owned()))
        .col_expr(contracts::Column::Version, Expr::col(contracts::Column::Version).add(1))
        .filter(contracts::Column::Id.eq(id))
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_subscription_terms<C: ConnectionTrait>(
    c: &C,
    id: &SubscriptionId,
    total: Money,
    method_id: &str,
) -> StoreResult<bool> {
    let res = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::TotalPrice, Expr::value(total))
        .col_expr(subscriptions::Column::PaymentMethodId, Expr::value(method_id.to_owned()))
        .col_expr(subscriptions::Column::Version, Expr::col(subscriptions::Column::Version).add(1))
        .filter(subscriptions::Column::Id.eq(id))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Removes a contract's plan and the allocations to it (derived data: the
/// receipts stay), before a new plan is written and the money allocated again.
pub async fn delete_plan<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<()> {
    use crate::entities::receipt_allocations as ra;
    let ids: Vec<String> = instalments::Entity::find()
        .select_only()
        .column(instalments::Column::Id)
        .filter(instalments::Column::ContractId.eq(contract_id))
        .into_tuple()
        .all(c)
        .await?;
    if !ids.is_empty() {
        ra::Entity::delete_many().filter(ra::Column::InstalmentId.is_in(ids)).exec(c).await?;
    }
    instalments::Entity::delete_many().filter(instalments::Column::ContractId.eq(contract_id)).exec(c).await?;
    crate::balances::keep(c, contract_id).await?;
    Ok(())
}

/// What an executed change did, kept with what it was asked to do.
pub async fn set_change_details<C: ConnectionTrait>(c: &C, id: &str, details: &str) -> StoreResult<()> {
    use crate::entities::deal_changes as dc;
    dc::Entity::update_many()
        .col_expr(dc::Column::Details, Expr::value(details.to_owned()))
        .filter(dc::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Cancellations (退房, 退订) carried out since `since` in some projects, newest first.
pub async fn cancellations_since<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    since: DateTime<Utc>,
) -> StoreResult<Vec<DealChangeRow>> {
    use crate::entities::deal_changes as dc;
    let mut q = dc::Entity::find()
        .filter(dc::Column::Kind.is_in([ChangeKind::CancelContract, ChangeKind::CancelSubscription]))
        .filter(dc::Column::Status.eq(ChangeStatus::Executed))
        .filter(dc::Column::DecidedAt.gte(since));
    if let Some(ids) = projects {
        q = q.filter(dc::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = project_id {
        q = q.filter(dc::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_desc(dc::Column::DecidedAt).limit(500).all(c).await?)
}

/// Conditions of a list of deals (subscriptions or contracts); all optional,
/// all holding together. Newest first by the deal's date, then by id.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    /// The projects the reader sees; `None`: all of them.
    pub projects: Option<Vec<ProjectId>>,
    pub project_id: Option<ProjectId>,
    pub building_id: Option<BuildingId>,
    pub agent_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    /// The last deal of the previous page: (date, id).
    pub after: Option<(chrono::NaiveDate, String)>,
}

/// One macro for both kinds of deal, whose tables differ only in the date
/// column and the status type.
macro_rules! search_deals {
    ($name:ident, $table:ident, $date:ident, $status:ty) => {
        pub async fn $name<C: ConnectionTrait>(
            c: &C,
            f: &DealFilter,
            status: Option<$status>,
            limit: u64,
        ) -> StoreResult<Vec<$table::Model>> {
            use sea_orm::Condition;
            use sea_orm::sea_query::Query;
            use $table::Column as D;
            let mut q = $table::Entity::find().order_by_desc(D::$date).order_by_desc(D::Id).limit(limit);
            if let Some(ids) = &f.projects {
                q = q.filter(D::ProjectId.is_in(ids.iter().cloned()));
            }
            if let Some(v) = &f.project_id {
                q = q.filter(D::ProjectId.eq(v.as_str()));
            }
            if let Some(v) = &f.building_id {
                q = q.filter(
                    Expr::col(D::UnitId).in_subquery(
                        Query::select()
                            .column(units::Column::Id)
                            .from(units::Entity)
                            .and_where(units::Column::BuildingId.eq(v.as_str()))
                            .to_owned(),
                    ),
                );
            }
            if let Some(v) = &f.agent_id {
                q = q.filter(D::AgentId.eq(v.as_str()));
            }
            if let Some(v) = &f.customer_id {
                q = q.filter(D::CustomerId.eq(v.as_str()));
            }
            if let Some(v) = f.from {
                q = q.filter(D::$date.gte(v));
            }
            if let Some(v) = f.to {
                q = q.filter(D::$date.lte(v));
            }
            if let Some(v) = status {
                q = q.filter(D::Status.eq(v));
            }
            if let Some((date, id)) = &f.after {
                q = q.filter(
                    Condition::any()
                        .add(D::$date.lt(*date))
                        .add(Condition::all().add(D::$date.eq(*date)).add(D::Id.lt(id.as_str()))),
                );
            }
            Ok(q.all(c).await?)
        }
    };
}

search_deals!(search_subscriptions, subscriptions, SubscribedOn, SubscriptionStatus);
search_deals!(search_contracts, contracts, SignedOn, ContractStatus);
