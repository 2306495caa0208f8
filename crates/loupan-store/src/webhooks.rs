//! Webhook subscriptions and the log of their deliveries.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use loupan_domain::platform::DeliveryStatus;

use crate::StoreResult;
use crate::entities::{webhook_deliveries, webhook_subscriptions};

pub use webhook_deliveries::Model as DeliveryRow;
pub use webhook_subscriptions::Model as SubscriptionRow;

pub async fn insert_subscription<C: ConnectionTrait>(c: &C, row: &SubscriptionRow) -> StoreResult<()> {
    webhook_subscriptions::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_subscription<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<SubscriptionRow>> {
    Ok(webhook_subscriptions::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn list_subscriptions<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<SubscriptionRow>> {
    Ok(webhook_subscriptions::Entity::find().order_by_asc(webhook_subscriptions::Column::CreatedAt).all(c).await?)
}

pub async fn active_subscriptions<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<SubscriptionRow>> {
    Ok(webhook_subscriptions::Entity::find()
        .filter(webhook_subscriptions::Column::Active.eq(true))
        .order_by_asc(webhook_subscriptions::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Stores a subscription's secret encrypted under another key (key rotation).
pub async fn set_secret<C: ConnectionTrait>(c: &C, id: &str, secret_encrypted: &str) -> StoreResult<()> {
    webhook_subscriptions::Entity::update_many()
        .col_expr(webhook_subscriptions::Column::SecretEncrypted, Expr::value(secret_encrypted.to_owned()))
        .filter(webhook_subscriptions::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn set_active<C: ConnectionTrait>(c: &C, id: &str, active: bool) -> StoreResult<bool> {
    let res = webhook_subscriptions::Entity::update_many()
        .col_expr(webhook_subscriptions::Column::Active, Expr::value(active))
        .filter(webhook_subscriptions::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_delivery<C: ConnectionTrait>(c: &C, row: &DeliveryRow) -> StoreResult<()> {
    webhook_deliveries::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_delivery<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<DeliveryRow>> {
    Ok(webhook_deliveries::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn deliveries_of<C: ConnectionTrait>(
    c: &C,
    subscription_id: &str,
    limit: u64,
) -> StoreResult<Vec<DeliveryRow>> {
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::SubscriptionId.eq(subscription_id))
        .order_by_desc(webhook_deliveries::Column::CreatedAt)
        .limit(limit)
        .all(c)
        .await?)
}

/// One attempt's outcome; `delivered` ends the delivery.
pub async fn record_attempt<C: ConnectionTrait>(
    c: &C,
    id: &str,
    status: DeliveryStatus,
    status_code: Option<i32>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let delivered = (status == DeliveryStatus::Delivered).then_some(now);
    webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::Status, Expr::value(status))
        .col_expr(webhook_deliveries::Column::Attempts, Expr::col(webhook_deliveries::Column::Attempts).add(1))
        .col_expr(webhook_deliveries::Column::LastStatusCode, Expr::value(status_code))
        .col_expr(webhook_deliveries::Column::LastError, Expr::value(error.map(str::to_owned)))
        .col_expr(webhook_deliveries::Column::DeliveredAt, Expr::value(delivered))
        .filter(webhook_deliveries::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Gives a delivery up (its attempts ran out); the last attempt's outcome stays.
pub async fn mark_failed<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<()> {
    webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::Status, Expr::value(DeliveryStatus::Failed))
        .filter(webhook_deliveries::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}
