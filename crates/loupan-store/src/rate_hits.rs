//! Requests counted against a limit, by key, shared by every instance.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::entities::rate_hits;
use crate::{StoreResult, new_id};

/// Forgets the key's requests before `since`, records one at `now`, and
/// returns how many the key has made since `since`, this one included.
pub async fn hit<C: ConnectionTrait>(c: &C, key: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64> {
    rate_hits::Entity::delete_many()
        .filter(rate_hits::Column::Key.eq(key))
        .filter(rate_hits::Column::At.lt(since))
        .exec(c)
        .await?;
    rate_hits::Entity::insert(rate_hits::ActiveModel { id: Set(new_id()), key: Set(key.to_owned()), at: Set(now) })
        .exec_without_returning(c)
        .await?;
    Ok(rate_hits::Entity::find()
        .filter(rate_hits::Column::Key.eq(key))
        .filter(rate_hits::Column::At.gte(since))
        .count(c)
        .await?)
}
