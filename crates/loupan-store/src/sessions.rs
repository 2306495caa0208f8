//! Server-side sessions, shared by every instance through the database.

use chrono::{DateTime, Utc};
use loupan_domain::ids::UserId;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::StoreResult;
use crate::entities::sessions;

pub use sessions::Model as SessionRow;

pub async fn insert_session<C: ConnectionTrait>(c: &C, row: &SessionRow) -> StoreResult<()> {
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(row.id.clone()),
        user_id: Set(row.user_id.clone()),
        kind: Set(row.kind.clone()),
        csrf_token: Set(row.csrf_token.clone()),
        created_at: Set(row.created_at),
        last_seen_at: Set(row.last_seen_at),
        expires_at: Set(row.expires_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

pub async fn find_session<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<SessionRow>> {
    Ok(sessions::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn touch_session<C: ConnectionTrait>(c: &C, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn delete_session<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<()> {
    sessions::Entity::delete_by_id(id.to_owned()).exec(c).await?;
    Ok(())
}

/// Ends every session of a user at once (a disabled user is out immediately).
pub async fn delete_sessions_of_user<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<u64> {
    Ok(sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id)).exec(c).await?.rows_affected)
}

pub async fn delete_expired_sessions<C: ConnectionTrait>(c: &C, now: DateTime<Utc>) -> StoreResult<u64> {
    Ok(sessions::Entity::delete_many().filter(sessions::Column::ExpiresAt.lt(now)).exec(c).await?.rows_affected)
}
