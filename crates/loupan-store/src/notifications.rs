//! Items under each user's bell.

use chrono::{DateTime, Utc};
use loupan_domain::ids::UserId;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::StoreResult;
use crate::entities::notifications;

pub use notifications::Model as NotificationRow;

pub async fn insert_notification<C: ConnectionTrait>(c: &C, row: &NotificationRow) -> StoreResult<()> {
    notifications::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn notifications_of<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    unread_only: bool,
    limit: u64,
) -> StoreResult<Vec<NotificationRow>> {
    let mut q = notifications::Entity::find().filter(notifications::Column::UserId.eq(user_id));
    if unread_only {
        q = q.filter(notifications::Column::ReadAt.is_null());
    }
    Ok(q.order_by_desc(notifications::Column::CreatedAt).limit(limit).all(c).await?)
}

pub async fn count_unread<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<u64> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null())
        .count(c)
        .await?)
}

/// Marks one (or, with `id` None, every) unread item of the user read.
pub async fn mark_read<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    id: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut q = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(now))
        .filter(notifications::Column::UserId.eq(user_id))
        .filter(notifications::Column::ReadAt.is_null());
    if let Some(id) = id {
        q = q.filter(notifications::Column::Id.eq(id));
    }
    Ok(q.exec(c).await?.rows_affected)
}

pub async fn find_notification<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<NotificationRow>> {
    Ok(notifications::Entity::find_by_id(id.to_owned()).one(c).await?)
}
