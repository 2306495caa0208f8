//! `Idempotency-Key` bookkeeping: the first request with a key claims it; a
//! repeat gets the stored answer instead of doing the work again.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::entities::idempotency_keys;
use crate::{StoreError, StoreResult};

pub use idempotency_keys::Model as IdempotencyRow;

pub enum Claim {
    /// The key is ours: do the work, then `complete_key`.
    New,
    /// The key was used before (its answer may still be in the making).
    Existing(IdempotencyRow),
}

pub async fn claim_key<C: ConnectionTrait>(
    c: &C,
    user_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Claim> {
    let inserted = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        status_code: Set(None),
        response_body: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(c)
    .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(Claim::New),
        Err(StoreError::Unique(_)) => {
            let row = idempotency_keys::Entity::find_by_id((user_id.to_owned(), key.to_owned()))
                .one(c)
                .await?
                .ok_or_else(|| StoreError::Unique("idempotency key vanished".into()))?;
            Ok(Claim::Existing(row))
        }
        Err(e) => Err(e),
    }
}

pub async fn complete_key<C: ConnectionTrait>(
    c: &C,
    user_id: &str,
    key: &str,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    idempotency_keys::Entity::update_many()
        .col_expr(idempotency_keys::Column::StatusCode, Expr::value(i32::from(status)))
        .col_expr(idempotency_keys::Column::ResponseBody, Expr::value(body.to_owned()))
        .filter(idempotency_keys::Column::UserId.eq(user_id))
        .filter(idempotency_keys::Column::Key.eq(key))
        .exec(c)
        .await?;
    Ok(())
}

/// Frees a key whose request failed, so the client may retry it.
pub async fn release_key<C: ConnectionTrait>(c: &C, user_id: &str, key: &str) -> StoreResult<()> {
    idempotency_keys::Entity::delete_by_id((user_id.to_owned(), key.to_owned())).exec(c).await?;
    Ok(())
}

/// Forgets the keys first used before `before`: a retry comes within minutes,
/// and the table would otherwise keep every answer ever given.
pub async fn delete_before<C: ConnectionTrait>(c: &C, before: DateTime<Utc>) -> StoreResult<u64> {
    Ok(idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::CreatedAt.lt(before))
        .exec(c)
        .await?
        .rows_affected)
}
