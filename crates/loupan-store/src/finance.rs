//! Receipts and their allocation to a contract's instalments.

use chrono::{DateTime, Utc};
use loupan_domain::Money;
use loupan_domain::finance::{InstalmentState, ReceiptChannel, ReceiptStatus, RefundStatus};
use loupan_domain::ids::{BuildingId, ContractId, ProjectId, SubscriptionId, UnitId};
use loupan_domain::sales::{ContractStatus, SubscriptionStatus};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use crate::StoreResult;
use crate::entities::{receipt_allocations, receipts};

pub use receipt_allocations::Model as AllocationRow;
pub use receipts::Model as ReceiptRow;

pub async fn insert_receipt<C: ConnectionTrait>(c: &C, row: &ReceiptRow) -> StoreResult<()> {
    receipts::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_receipt<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<ReceiptRow>> {
    Ok(receipts::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn receipts_of_contract<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<Vec<ReceiptRow>> {
    Ok(receipts::Entity::find()
        .filter(receipts::Column::ContractId.eq(contract_id))
        .order_by_asc(receipts::Column::Id)
        .all(c)
        .await?)
}

/// `in_transit` → `arrived`, only from `in_transit`.
pub async fn mark_arrived<C: ConnectionTrait>(c: &C, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::Status, Expr::value(ReceiptStatus::Arrived))
        .col_expr(receipts::Column::ArrivedAt, Expr::value(now))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::Status.eq(ReceiptStatus::InTransit))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// `arrived` → `audited`, only from `arrived`.
pub async fn mark_audited<C: ConnectionTrait>(c: &C, id: &str, by: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::Status, Expr::value(ReceiptStatus::Audited))
        .col_expr(receipts::Column::AuditedAt, Expr::value(now))
        .col_expr(receipts::Column::AuditedBy, Expr::value(by.to_owned()))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::Status.eq(ReceiptStatus::Arrived))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_allocation<C: ConnectionTrait>(c: &C, row: &AllocationRow) -> StoreResult<()> {
    receipt_allocations::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Audited money received against a subscription (its deposit).
pub async fn audited_total_of_subscription<C: ConnectionTrait>(
    c: &C,
    subscription_id: &SubscriptionId,
) -> StoreResult<Money> {
    let rows = receipts::Entity::find()
        .filter(receipts::Column::SubscriptionId.eq(subscription_id))
        .filter(receipts::Column::Status.eq(ReceiptStatus::Audited))
        .all(c)
        .await?;
    Ok(rows.iter().map(|r| r.amount).sum())
}

/// Which contracts a report covers: the caller's projects (None: all) and optionally one project.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub projects: Option<&'a [ProjectId]>,
    pub project_id: Option<&'a ProjectId>,
}

/// Active contracts in scope, by number.
pub async fn active_contracts<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    let mut q = contracts::Entity::find().filter(contracts::Column::Status.eq(ContractStatus::Active));
    if let Some(ids) = scope.projects {
        q = q.filter(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        q = q.filter(contracts::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_asc(contracts::Column::ProjectId).order_by_asc(contracts::Column::Number).all(c).await?)
}

/// Contracts signed in `[from, to]` (whatever became of them since), for the sales basis.
pub async fn contracts_signed<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    let mut q = contracts::Entity::find()
        .filter(contracts::Column::SignedOn.gte(from))
        .filter(contracts::Column::SignedOn.lte(to));
    if let Some(ids) = scope.projects {
        q = q.filter(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        q = q.filter(contracts::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_asc(contracts::Column::Number).all(c).await?)
}

/// Every instalment of the active contracts in scope.
pub async fn instalments_in<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
) -> StoreResult<Vec<crate::sales::InstalmentRow>> {
    use crate::entities::{contracts, instalments};
    use sea_orm::{JoinType, QuerySelect};
    let relation: sea_orm::RelationDef = instalments::Entity::belongs_to(contracts::Entity)
        .from(instalments::Column::ContractId)
        .to(contracts::Column::Id)
        .into();
    let mut q = instalments::Entity::find()
        .join(JoinType::InnerJoin, relation)
        .filter(contracts::Column::Status.eq(ContractStatus::Active));
    if let Some(ids) = scope.projects {
        q = q.filter(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        q = q.filter(contracts::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_asc(instalments::Column::ContractId).order_by_asc(instalments::Column::Seq).all(c).await?)
}

/// Receipts in scope received in `[from, to]` (either end open), oldest first.
pub async fn receipts_in<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> StoreResult<Vec<ReceiptRow>> {
    let mut q = receipts::Entity::find();
    if let Some(ids) = scope.projects {
        q = q.filter(receipts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        q = q.filter(receipts::Column::ProjectId.eq(p));
    }
    if let Some(d) = from {
        q = q.filter(receipts::Column::ReceivedOn.gte(d));
    }
    if let Some(d) = to {
        q = q.filter(receipts::Column::ReceivedOn.lte(d));
    }
    Ok(q.order_by_asc(receipts::Column::ReceivedOn).order_by_asc(receipts::Column::Id).all(c).await?)
}

/// The refunds a reconciliation of `[from, to]` counts: those paid out in
/// the period (whatever has happened since), and those still owed that were
/// created in it (`created_from` ≤ created_at < `created_until`, the period's
/// instants in the company's time zone).
pub async fn refunds_in<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    created_from: chrono::DateTime<chrono::Utc>,
    created_until: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Vec<crate::sales::RefundRow>> {
    use crate::entities::refunds as rf;
    use loupan_domain::finance::RefundStatus;
    use sea_orm::Condition;
    let mut q = rf::Entity::find().filter(
        Condition::any().add(Condition::all().add(rf::Column::PaidOn.gte(from)).add(rf::Column::PaidOn.lte(to))).add(
            Condition::all()
                .add(rf::Column::Status.eq(RefundStatus::Due))
                .add(rf::Column::CreatedAt.gte(created_from))
                .add(rf::Column::CreatedAt.lt(created_until)),
        ),
    );
    if let Some(ids) = scope.projects {
        q = q.filter(rf::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        q = q.filter(rf::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_asc(rf::Column::CreatedAt).order_by_asc(rf::Column::Id).all(c).await?)
}

/// The active contracts of these units (at most one each).
pub async fn active_contracts_of_units<C: ConnectionTrait>(
    c: &C,
    unit_ids: &[UnitId],
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    let mut out = Vec::new();
    for chunk in unit_ids.chunks(500) {
        out.extend(
            contracts::Entity::find()
                .filter(contracts::Column::Status.eq(ContractStatus::Active))
                .filter(contracts::Column::UnitId.is_in(chunk.iter().cloned()))
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Which of these units have an active subscription.
pub async fn units_with_active_subscription<C: ConnectionTrait>(
    c: &C,
    unit_ids: &[UnitId],
) -> StoreResult<std::collections::HashSet<UnitId>> {
    use crate::entities::subscriptions;
    let mut out = std::collections::HashSet::new();
    for chunk in unit_ids.chunks(500) {
        for s in subscriptions::Entity::find()
            .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
            .filter(subscriptions::Column::UnitId.is_in(chunk.iter().cloned()))
            .all(c)
            .await?
        {
            out.insert(s.unit_id);
        }
    }
    Ok(out)
}

/// The instalments of these contracts.
pub async fn instalments_of_contracts<C: ConnectionTrait>(
    c: &C,
    contract_ids: &[ContractId],
) -> StoreResult<Vec<crate::sales::InstalmentRow>> {
    use crate::entities::instalments;
    let mut out = Vec::new();
    for chunk in contract_ids.chunks(500) {
        out.extend(
            instalments::Entity::find()
                .filter(instalments::Column::ContractId.is_in(chunk.iter().cloned()))
                .order_by_asc(instalments::Column::Seq)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

pub use crate::entities::receipt_books::Model as ReceiptBookRow;
pub use crate::entities::receipt_number_voids::Model as NumberVoidRow;

pub async fn insert_book<C: ConnectionTrait>(c: &C, row: &ReceiptBookRow) -> StoreResult<()> {
    crate::entities::receipt_books::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_book<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<ReceiptBookRow>> {
    Ok(crate::entities::receipt_books::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// The books of a project (or of the caller's projects), oldest first.
pub async fn books<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
) -> StoreResult<Vec<ReceiptBookRow>> {
    use crate::entities::receipt_books as rb;
    let mut q = rb::Entity::find();
    if let Some(ids) = projects {
        q = q.filter(rb::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = project_id {
        q = q.filter(rb::Column::ProjectId.eq(p));
    }
    Ok(q.order_by_asc(rb::Column::CreatedAt).order_by_asc(rb::Column::Id).all(c).await?)
}

/// Takes the next number of a book, if it has one left: a conditional update,
/// so two cashiers never get the same number (on PostgreSQL the row lock
/// orders them; on SQLite the writer lock does).
pub async fn take_number<C: ConnectionTrait>(c: &C, book_id: &str) -> StoreResult<Option<i64>> {
    use crate::entities::receipt_books as rb;
    let res = rb::Entity::update_many()
        .col_expr(rb::Column::NextNumber, Expr::col(rb::Column::NextNumber).add(1))
        .filter(rb::Column::Id.eq(book_id))
        .filter(Expr::col(rb::Column::NextNumber).lte(Expr::col(rb::Column::LastNumber)))
        .exec(c)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    Ok(find_book(c, book_id).await?.map(|b| b.next_number - 1))
}

pub async fn insert_void<C: ConnectionTrait>(c: &C, row: &NumberVoidRow) -> StoreResult<()> {
    crate::entities::receipt_number_voids::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(c)
        .await?;
    Ok(())
}

pub async fn voids_of_book<C: ConnectionTrait>(c: &C, book_id: &str) -> StoreResult<Vec<NumberVoidRow>> {
    use crate::entities::receipt_number_voids as v;
    Ok(v::Entity::find().filter(v::Column::BookId.eq(book_id)).order_by_asc(v::Column::Number).all(c).await?)
}

pub async fn receipts_of_book<C: ConnectionTrait>(c: &C, book_id: &str) -> StoreResult<Vec<ReceiptRow>> {
    Ok(receipts::Entity::find().filter(receipts::Column::BookId.eq(book_id)).all(c).await?)
}

/// Marks a receipt as reversed by `reversal`, only once.
pub async fn mark_reversed<C: ConnectionTrait>(c: &C, id: &str, reversal: &str) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::ReversedBy, Expr::value(reversal.to_owned()))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::ReversedBy.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Money not yet counted (`in_transit`, `arrived`) entered by mistake: voided, with the reason.
pub async fn void_uncounted<C: ConnectionTrait>(c: &C, id: &str, note: &str) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::Status, Expr::value(ReceiptStatus::Void))
        .col_expr(receipts::Column::Note, Expr::value(note.to_owned()))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::Status.is_in([ReceiptStatus::InTransit, ReceiptStatus::Arrived]))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_pair<C: ConnectionTrait>(c: &C, id: &str, pair_id: &str) -> StoreResult<()> {
    receipts::Entity::update_many()
        .col_expr(receipts::Column::PairId, Expr::value(pair_id.to_owned()))
        .filter(receipts::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Clears what a contract's instalments count as paid and the allocations behind
/// it, so that the audited receipts can be allocated again (after a reversal).
pub async fn reset_allocations<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<()> {
    use crate::entities::instalments;
    use sea_orm::QuerySelect;
    let ids: Vec<String> = instalments::Entity::find()
        .select_only()
        .column(instalments::Column::Id)
        .filter(instalments::Column::ContractId.eq(contract_id))
        .into_tuple()
        .all(c)
        .await?;
    if !ids.is_empty() {
        receipt_allocations::Entity::delete_many()
            .filter(receipt_allocations::Column::InstalmentId.is_in(ids))
            .exec(c)
            .await?;
    }
    instalments::Entity::update_many()
        .col_expr(instalments::Column::Paid, Expr::value(0i64))
        .filter(instalments::Column::ContractId.eq(contract_id))
        .exec(c)
        .await?;
    crate::balances::keep(c, contract_id).await?;
    Ok(())
}

pub async fn find_refund<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<crate::sales::RefundRow>> {
    Ok(crate::entities::refunds::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// `due` → `paid`, only from `due`.
pub async fn pay_refund<C: ConnectionTrait>(
    c: &C,
    id: &str,
    (paid_on, channel, by, note): (chrono::NaiveDate, ReceiptChannel, &str, Option<&str>),
) -> StoreResult<bool> {
    use crate::entities::refunds as rf;
    let res = rf::Entity::update_many()
        .col_expr(rf::Column::Status, Expr::value(RefundStatus::Paid))
        .col_expr(rf::Column::PaidOn, Expr::value(paid_on))
        .col_expr(rf::Column::Channel, Expr::value(channel.name()))
        .col_expr(rf::Column::PaidBy, Expr::value(by.to_owned()))
        .col_expr(rf::Column::Note, Expr::value(note.map(str::to_owned)))
        .filter(rf::Column::Id.eq(id))
        .filter(rf::Column::Status.eq(RefundStatus::Due))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// `paid` → `audited`, only from `paid`.
pub async fn audit_refund<C: ConnectionTrait>(c: &C, id: &str, by: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    use crate::entities::refunds as rf;
    let res = rf::Entity::update_many()
        .col_expr(rf::Column::Status, Expr::value(RefundStatus::Audited))
        .col_expr(rf::Column::AuditedBy, Expr::value(by.to_owned()))
        .col_expr(rf::Column::AuditedAt, Expr::value(now))
        .filter(rf::Column::Id.eq(id))
        .filter(rf::Column::Status.eq(RefundStatus::Paid))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn receipts_of_subscription<C: ConnectionTrait>(
    c: &C,
    subscription_id: &SubscriptionId,
) -> StoreResult<Vec<ReceiptRow>> {
    Ok(receipts::Entity::find()
        .filter(receipts::Column::SubscriptionId.eq(subscription_id))
        .order_by_asc(receipts::Column::Id)
        .all(c)
        .await?)
}

/// Conditions of a receipt search (F4); each is optional and they all hold together.
#[derive(Debug, Clone, Default)]
pub struct ReceiptFilter {
    pub building_id: Option<BuildingId>,
    pub status: Option<ReceiptStatus>,
    pub channel: Option<ReceiptChannel>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub min_amount: Option<Money>,
    pub max_amount: Option<Money>,
    /// Part of the payer's name.
    pub payer: Option<String>,
    /// Part of the printed receipt number.
    pub number: Option<String>,
}

/// What a search found in all: how many rows and their sums in fen (the page may hold fewer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    pub count: i64,
    pub amount: Money,
    pub paid: Money,
}

/// Contracts and subscriptions of the units of a building, as subqueries.
fn deals_in_building(
    building_id: &BuildingId,
) -> (sea_orm::sea_query::SelectStatement, sea_orm::sea_query::SelectStatement) {
    use crate::entities::{contracts, subscriptions, units};
    use sea_orm::sea_query::Query;
    let units_of = Query::select()
        .column(units::Column::Id)
        .from(units::Entity)
        .and_where(units::Column::BuildingId.eq(building_id))
        .to_owned();
    let contracts_of = Query::select()
        .column(contracts::Column::Id)
        .from(contracts::Entity)
        .and_where(contracts::Column::UnitId.in_subquery(units_of.clone()))
        .to_owned();
    let subscriptions_of = Query::select()
        .column(subscriptions::Column::Id)
        .from(subscriptions::Entity)
        .and_where(subscriptions::Column::UnitId.in_subquery(units_of))
        .to_owned();
    (contracts_of, subscriptions_of)
}

fn receipt_conditions(scope: Scope<'_>, f: &ReceiptFilter) -> sea_orm::Condition {
    use sea_orm::Condition;
    let mut all = Condition::all();
    if let Some(ids) = scope.projects {
        all = all.add(receipts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        all = all.add(receipts::Column::ProjectId.eq(p));
    }
    if let Some(b) = &f.building_id {
        let (contracts_of, subscriptions_of) = deals_in_building(b);
        all = all.add(
            Condition::any()
                .add(receipts::Column::ContractId.in_subquery(contracts_of))
                .add(receipts::Column::SubscriptionId.in_subquery(subscriptions_of)),
        );
    }
    if let Some(s) = &f.status {
        all = all.add(receipts::Column::Status.eq(*s));
    }
    if let Some(ch) = &f.channel {
        all = all.add(receipts::Column::Channel.eq(*ch));
    }
    if let Some(d) = f.from {
        all = all.add(receipts::Column::ReceivedOn.gte(d));
    }
    if let Some(d) = f.to {
        all = all.add(receipts::Column::ReceivedOn.lte(d));
    }
    if let Some(a) = f.min_amount {
        all = all.add(receipts::Column::Amount.gte(a));
    }
    if let Some(a) = f.max_amount {
        all = all.add(receipts::Column::Amount.lte(a));
    }
    if let Some(p) = &f.payer {
        all = all.add(receipts::Column::Payer.contains(p.as_str()));
    }
    if let Some(n) = &f.number {
        all = all.add(receipts::Column::Number.contains(n.as_str()));
    }
    all
}

/// SUM of a bigint column, cast back to bigint (PostgreSQL answers numeric).
fn sum_of(col: impl sea_orm::sea_query::IntoColumnRef) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Alias, Func};
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

/// Receipts meeting every condition, newest first, at most `limit`, with the
/// count and sum of all of them.
pub async fn search_receipts<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
    filter: &ReceiptFilter,
    after: Option<(chrono::NaiveDate, &str)>,
    limit: u64,
) -> StoreResult<(Vec<ReceiptRow>, Found)> {
    use receipts::Column as R;
    use sea_orm::{Condition, QuerySelect};
    // Newest first; the page after `(received_on, id)` of the previous page's last row.
    let mut page = receipts::Entity::find().filter(receipt_conditions(scope, filter));
    if let Some((date, id)) = after {
        page = page.filter(
            Condition::any()
                .add(R::ReceivedOn.lt(date))
                .add(Condition::all().add(R::ReceivedOn.eq(date)).add(R::Id.lt(id))),
        );
    }
    let rows = page.order_by_desc(R::ReceivedOn).order_by_desc(R::Id).limit(limit).all(c).await?;
    let (count, amount): (i64, Option<Money>) = receipts::Entity::find()
        .select_only()
        .column_as(receipts::Column::Id.count(), "n")
        .column_as(sum_of((receipts::Entity, receipts::Column::Amount)), "amount")
        .filter(receipt_conditions(scope, filter))
        .into_tuple()
        .one(c)
        .await?
        .unwrap_or((0, None));
    Ok((rows, Found { count, amount: amount.unwrap_or_default(), paid: Money::ZERO }))
}

/// Conditions of a search over the payment plans of active contracts (F4).
#[derive(Debug, Clone)]
pub struct InstalmentFilter {
    pub building_id: Option<BuildingId>,
    pub kind: Option<loupan_domain::sales::TermKind>,
    pub due_from: Option<chrono::NaiveDate>,
    pub due_to: Option<chrono::NaiveDate>,
    /// Where the instalment stands on `as_of`.
    pub state: Option<InstalmentState>,
    pub as_of: chrono::NaiveDate,
}

fn instalment_conditions(scope: Scope<'_>, f: &InstalmentFilter) -> sea_orm::Condition {
    use crate::entities::{contracts, instalments};
    use sea_orm::Condition;
    let col = |c: instalments::Column| Expr::col((instalments::Entity, c));
    let mut all = Condition::all().add(contracts::Column::Status.eq(ContractStatus::Active));
    if let Some(ids) = scope.projects {
        all = all.add(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = scope.project_id {
        all = all.add(contracts::Column::ProjectId.eq(p));
    }
    if let Some(b) = &f.building_id {
        let (contracts_of, _) = deals_in_building(b);
        all = all.add(instalments::Column::ContractId.in_subquery(contracts_of));
    }
    if let Some(k) = &f.kind {
        all = all.add(instalments::Column::Kind.eq(*k));
    }
    if let Some(d) = f.due_from {
        all = all.add(instalments::Column::DueDate.gte(d));
    }
    if let Some(d) = f.due_to {
        all = all.add(instalments::Column::DueDate.lte(d));
    }
    let open = col(instalments::Column::Paid).lt(col(instalments::Column::Amount));
    match f.state {
        Some(InstalmentState::Overdue) => all = all.add(open).add(instalments::Column::DueDate.lt(f.as_of)),
        Some(InstalmentState::NotDue) => all = all.add(open).add(instalments::Column::DueDate.gte(f.as_of)),
        Some(InstalmentState::Unpaid) => all = all.add(instalments::Column::Paid.eq(0)),
        Some(InstalmentState::PartlyPaid) => all = all.add(open).add(instalments::Column::Paid.gt(0)),
        Some(InstalmentState::Paid) => {
            all = all.add(col(instalments::Column::Paid).gte(col(instalments::Column::Amount)))
        }
        None => {}
    }
    all
}

/// Instalments meeting every condition, by due date, at most `limit`, with
/// the count and sums of all of them.
pub async fn search_instalments<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
    filter: &InstalmentFilter,
    after: Option<(chrono::NaiveDate, &str)>,
    limit: u64,
) -> StoreResult<(Vec<crate::sales::InstalmentRow>, Found)> {
    use crate::entities::{contracts, instalments};
    use sea_orm::{JoinType, QuerySelect};
    let joined = || {
        let relation: sea_orm::RelationDef = instalments::Entity::belongs_to(contracts::Entity)
            .from(instalments::Column::ContractId)
            .to(contracts::Column::Id)
            .into();
        instalments::Entity::find().join(JoinType::InnerJoin, relation).filter(instalment_conditions(scope, filter))
    };
    // Soonest due first; the page after `(due_date, id)` of the previous page's last row.
    let mut page = joined();
    if let Some((date, id)) = after {
        use instalments::Column as I;
        page = page.filter(
            sea_orm::Condition::any().add(Expr::col((instalments::Entity, I::DueDate)).gt(date)).add(
                sea_orm::Condition::all()
                    .add(Expr::col((instalments::Entity, I::DueDate)).eq(date))
                    .add(Expr::col((instalments::Entity, I::Id)).gt(id)),
            ),
        );
    }
    let rows = page
        .order_by_asc(instalments::Column::DueDate)
        .order_by_asc(instalments::Column::Id)
        .limit(limit)
        .all(c)
        .await?;
    let (count, amount, paid): (i64, Option<Money>, Option<Money>) = joined()
        .select_only()
        .column_as(Expr::col((instalments::Entity, instalments::Column::Id)).count(), "n")
        .column_as(sum_of((instalments::Entity, instalments::Column::Amount)), "amount")
        .column_as(sum_of((instalments::Entity, instalments::Column::Paid)), "paid")
        .into_tuple()
        .one(c)
        .await?
        .unwrap_or((0, None, None));
    Ok((rows, Found { count, amount: amount.unwrap_or_default(), paid: paid.unwrap_or_default() }))
}

pub async fn contracts_by_ids<C: ConnectionTrait>(
    c: &C,
    ids: &[ContractId],
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    Ok(contracts::Entity::find().filter(contracts::Column::Id.is_in(ids.iter().cloned())).all(c).await?)
}

pub async fn subscriptions_by_ids<C: ConnectionTrait>(
    c: &C,
    ids: &[SubscriptionId],
) -> StoreResult<Vec<crate::sales::SubscriptionRow>> {
    use crate::entities::subscriptions;
    Ok(subscriptions::Entity::find().filter(subscriptions::Column::Id.is_in(ids.iter().cloned())).all(c).await?)
}

/// Every contract and subscription of a customer, whatever their status
/// (the money tab of the customer): `(contracts, subscriptions)`.
pub async fn deals_of_customer<C: ConnectionTrait>(
    c: &C,
    customer_id: &loupan_domain::ids::CustomerId,
) -> StoreResult<(Vec<crate::sales::ContractRow>, Vec<crate::sales::SubscriptionRow>)> {
    use crate::entities::{contracts, subscriptions};
    let contracts = contracts::Entity::find()
        .filter(contracts::Column::CustomerId.eq(customer_id))
        .order_by_asc(contracts::Column::SignedOn)
        .order_by_asc(contracts::Column::Id)
        .all(c)
        .await?;
    let subscriptions = subscriptions::Entity::find()
        .filter(subscriptions::Column::CustomerId.eq(customer_id))
        .order_by_asc(subscriptions::Column::SubscribedOn)
        .order_by_asc(subscriptions::Column::Id)
        .all(c)
        .await?;
    Ok((contracts, subscriptions))
}

/// The receipts of these deals, oldest first.
pub async fn receipts_of_deals<C: ConnectionTrait>(
    c: &C,
    contract_ids: &[ContractId],
    subscription_ids: &[SubscriptionId],
) -> StoreResult<Vec<ReceiptRow>> {
    if contract_ids.is_empty() && subscription_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(receipts::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(receipts::Column::ContractId.is_in(contract_ids.iter().cloned()))
                .add(receipts::Column::SubscriptionId.is_in(subscription_ids.iter().cloned())),
        )
        .order_by_asc(receipts::Column::ReceivedOn)
        .order_by_asc(receipts::Column::Id)
        .all(c)
        .await?)
}

/// The refunds owed to a customer, oldest first.
pub async fn refunds_of_customer<C: ConnectionTrait>(
    c: &C,
    customer_id: &loupan_domain::ids::CustomerId,
) -> StoreResult<Vec<crate::sales::RefundRow>> {
    use crate::entities::refunds;
    Ok(refunds::Entity::find()
        .filter(refunds::Column::CustomerId.eq(customer_id))
        .order_by_asc(refunds::Column::CreatedAt)
        .order_by_asc(refunds::Column::Id)
        .all(c)
        .await?)
}
