//! The append-only audit trail. Rows are numbered without gaps and each carries
//! the hash of the one before, so a changed or deleted row breaks the chain.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::StoreResult;
use crate::entities::audit_log;

pub use audit_log::Model as AuditRow;

/// Serialises writers of the chain until the transaction ends. SQLite write
/// transactions already hold the database's single write lock.
pub async fn lock_chain<C: ConnectionTrait>(c: &C) -> StoreResult<()> {
    if c.get_database_backend() == DbBackend::Postgres {
        c.execute_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(7741001)")).await?;
    }
    Ok(())
}

/// The sequence number and hash of the newest row, if any.
pub async fn last_link<C: ConnectionTrait>(c: &C) -> StoreResult<Option<(i64, String)>> {
    let row = audit_log::Entity::find().order_by_desc(audit_log::Column::Seq).one(c).await?;
    Ok(row.map(|r| (r.seq, r.hash)))
}

pub async fn insert_audit_row<C: ConnectionTrait>(c: &C, row: &AuditRow) -> StoreResult<()> {
    insert_audit_rows(c, std::slice::from_ref(row)).await
}

/// What to show of the trail: one record's history, one user's actions, or all.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub actor_id: Option<String>,
    /// Rows older than this sequence number (the page cursor).
    pub before_seq: Option<i64>,
}

/// Newest first.
pub async fn list_audit<C: ConnectionTrait>(c: &C, filter: &AuditFilter, limit: u64) -> StoreResult<Vec<AuditRow>> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Seq).limit(limit);
    if let Some(t) = &filter.record_type {
        q = q.filter(audit_log::Column::RecordType.eq(t.as_str()));
    }
    if let Some(id) = &filter.record_id {
        q = q.filter(audit_log::Column::RecordId.eq(id.as_str()));
    }
    if let Some(actor) = &filter.actor_id {
        q = q.filter(audit_log::Column::ActorId.eq(actor.as_str()));
    }
    if let Some(seq) = filter.before_seq {
        q = q.filter(audit_log::Column::Seq.lt(seq));
    }
    Ok(q.all(c).await?)
}

/// Oldest first, from `after_seq` on: the order in which the chain is verified.
pub async fn audit_rows_after<C: ConnectionTrait>(c: &C, after_seq: i64, limit: u64) -> StoreResult<Vec<AuditRow>> {
    Ok(audit_log::Entity::find()
        .filter(audit_log::Column::Seq.gt(after_seq))
        .order_by_asc(audit_log::Column::Seq)
        .limit(limit)
        .all(c)
        .await?)
}

/// Removes the append-only triggers: only for tests that play the attacker
/// who has the database password, to prove the hash chain still catches them.
pub async fn drop_append_only_guard<C: ConnectionTrait>(c: &C) -> StoreResult<()> {
    match c.get_database_backend() {
        DbBackend::Postgres => {
            c.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log").await?;
        }
        _ => {
            c.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update").await?;
            c.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_delete").await?;
        }
    }
    Ok(())
}

/// Many chained rows at once (imports); the caller computed their links.
pub async fn insert_audit_rows<C: ConnectionTrait>(c: &C, rows: &[AuditRow]) -> StoreResult<()> {
    for chunk in rows.chunks(400) {
        audit_log::Entity::insert_many(chunk.iter().map(|row| audit_log::ActiveModel {
            seq: Set(row.seq),
            occurred_at: Set(row.occurred_at),
            actor_id: Set(row.actor_id.clone()),
            actor_name: Set(row.actor_name.clone()),
            action: Set(row.action.clone()),
            record_type: Set(row.record_type.clone()),
            record_id: Set(row.record_id.clone()),
            before_json: Set(row.before_json.clone()),
            after_json: Set(row.after_json.clone()),
            prev_hash: Set(row.prev_hash.clone()),
            hash: Set(row.hash.clone()),
        }))
        .exec_without_returning(c)
        .await?;
    }
    Ok(())
}
