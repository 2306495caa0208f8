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
