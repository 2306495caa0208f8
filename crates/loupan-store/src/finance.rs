//! Receipts and their allocation to a contract's instalments.

use chrono::{DateTime, Utc};
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

pub async fn receipts_of_contract<C: ConnectionTrait>(c: &C, contract_id: &str) -> StoreResult<Vec<ReceiptRow>> {
    Ok(receipts::Entity::find()
        .filter(receipts::Column::ContractId.eq(contract_id))
        .order_by_asc(receipts::Column::Id)
        .all(c)
        .await?)
}

/// `in_transit` → `arrived`, only from `in_transit`.
pub async fn mark_arrived<C: ConnectionTrait>(c: &C, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::Status, Expr::value("arrived"))
        .col_expr(receipts::Column::ArrivedAt, Expr::value(now))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::Status.eq("in_transit"))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// `arrived` → `audited`, only from `arrived`.
pub async fn mark_audited<C: ConnectionTrait>(c: &C, id: &str, by: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = receipts::Entity::update_many()
        .col_expr(receipts::Column::Status, Expr::value("audited"))
        .col_expr(receipts::Column::AuditedAt, Expr::value(now))
        .col_expr(receipts::Column::AuditedBy, Expr::value(by.to_owned()))
        .col_expr(receipts::Column::Version, Expr::col(receipts::Column::Version).add(1))
        .filter(receipts::Column::Id.eq(id))
        .filter(receipts::Column::Status.eq("arrived"))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_allocation<C: ConnectionTrait>(c: &C, row: &AllocationRow) -> StoreResult<()> {
    receipt_allocations::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Audited money received against a subscription (its deposit), in fen.
pub async fn audited_total_of_subscription<C: ConnectionTrait>(c: &C, subscription_id: &str) -> StoreResult<i64> {
    let rows = receipts::Entity::find()
        .filter(receipts::Column::SubscriptionId.eq(subscription_id))
        .filter(receipts::Column::Status.eq("audited"))
        .all(c)
        .await?;
    Ok(rows.iter().map(|r| r.amount).sum())
}

/// Which contracts a report covers: the caller's projects (None: all) and optionally one project.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub projects: Option<&'a [String]>,
    pub project_id: Option<&'a str>,
}

/// Active contracts in scope, by number.
pub async fn active_contracts<C: ConnectionTrait>(
    c: &C,
    scope: Scope<'_>,
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    let mut q = contracts::Entity::find().filter(contracts::Column::Status.eq("active"));
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
    let mut q =
        instalments::Entity::find().join(JoinType::InnerJoin, relation).filter(contracts::Column::Status.eq("active"));
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

/// The active contracts of these units (at most one each).
pub async fn active_contracts_of_units<C: ConnectionTrait>(
    c: &C,
    unit_ids: &[String],
) -> StoreResult<Vec<crate::sales::ContractRow>> {
    use crate::entities::contracts;
    let mut out = Vec::new();
    for chunk in unit_ids.chunks(500) {
        out.extend(
            contracts::Entity::find()
                .filter(contracts::Column::Status.eq("active"))
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
    unit_ids: &[String],
) -> StoreResult<std::collections::HashSet<String>> {
    use crate::entities::subscriptions;
    let mut out = std::collections::HashSet::new();
    for chunk in unit_ids.chunks(500) {
        for s in subscriptions::Entity::find()
            .filter(subscriptions::Column::Status.eq("active"))
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
    contract_ids: &[String],
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
