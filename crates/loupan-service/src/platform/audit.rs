//! The audit trail: every write records who, when, what, before and after.
//! Sensitive fields are masked before they are stored; each row's hash covers
//! the previous row's hash, so editing or deleting an old row is detectable.

use loupan_domain::Permission;
use loupan_store::Connection;
pub use loupan_store::audit::AuditFilter;
use loupan_store::audit::{self as store_audit, AuditRow};
use serde_json::Value;

use crate::{Actor, ServiceError, ServiceResult, Services, sha256_hex};

/// The hash the first row chains to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Field names whose values never enter the trail.
const SENSITIVE: [&str; 6] = ["password", "password_hash", "token", "csrf_token", "id_number", "secret"];

/// Replaces sensitive values (at any depth) by `"***"`.
pub fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SENSITIVE.contains(&key.as_str()) {
                    *v = Value::String("***".into());
                } else {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// One change to record.
/// A record as the trail keeps it. A record that cannot be serialised is a
/// failure of the write, never a `null` in the trail.
pub(crate) fn snapshot<T: serde::Serialize + ?Sized>(record: &T) -> ServiceResult<Option<serde_json::Value>> {
    serde_json::to_value(record).map(Some).map_err(ServiceError::internal)
}

/// A record as a webhook event carries it; failing to serialise fails the write.
pub(crate) fn payload<T: serde::Serialize + ?Sized>(record: &T) -> ServiceResult<serde_json::Value> {
    serde_json::to_value(record).map_err(ServiceError::internal)
}

pub struct Change<'a> {
    pub action: &'a str,
    pub record_type: &'a str,
    pub record_id: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Appends a row to the trail inside the caller's transaction, so the change and
/// its record commit together or not at all.
pub async fn record<C: Connection>(conn: &C, actor: &Actor, change: Change<'_>) -> ServiceResult<()> {
    store_audit::lock_chain(conn).await?;
    let (prev_seq, prev_hash) = store_audit::last_link(conn).await?.unwrap_or((0, GENESIS.to_owned()));
    let row = link(actor, change, prev_seq, prev_hash);
    store_audit::insert_audit_row(conn, &row).await?;
    Ok(())
}

/// The row of a change chained after `(prev_seq, prev_hash)`.
fn link(actor: &Actor, change: Change<'_>, prev_seq: i64, prev_hash: String) -> AuditRow {
    // Sensitive fields are masked before anything is stored.
    let as_text = |v: Option<Value>| {
        v.map(|mut v| {
            mask(&mut v);
            v.to_string()
        })
    };
    let mut row = AuditRow {
        seq: prev_seq + 1,
        occurred_at: loupan_store::now(),
        actor_id: actor.audit_id(),
        actor_name: actor.username.clone(),
        action: change.action.to_owned(),
        record_type: change.record_type.to_owned(),
        record_id: change.record_id.to_owned(),
        before_json: as_text(change.before),
        after_json: as_text(change.after),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row_hash(&row);
    row
}

/// Records many changes of one actor in order (an import): the same chained
/// rows as one `record` each, with the chain read once and the rows written
/// in a few statements.
pub async fn record_many<C: Connection>(conn: &C, actor: &Actor, changes: Vec<Change<'_>>) -> ServiceResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    store_audit::lock_chain(conn).await?;
    let (mut seq, mut hash) = store_audit::last_link(conn).await?.unwrap_or((0, GENESIS.to_owned()));
    let mut rows = Vec::with_capacity(changes.len());
    for change in changes {
        let row = link(actor, change, seq, hash);
        (seq, hash) = (row.seq, row.hash.clone());
        rows.push(row);
    }
    store_audit::insert_audit_rows(conn, &rows).await?;
    Ok(())
}

/// The hash of a row's content and its predecessor's hash. Fields are encoded as
/// a JSON array so that no two different rows give the same input.
fn row_hash(row: &AuditRow) -> String {
    let content = serde_json::json!([
        row.prev_hash,
        row.seq,
        row.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        row.actor_id,
        row.actor_name,
        row.action,
        row.record_type,
        row.record_id,
        row.before_json,
        row.after_json,
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// A page of the trail for an auditor (admin, executive): newest first.
pub async fn list(
    services: &Services,
    actor: &Actor,
    filter: &AuditFilter,
    limit: u64,
) -> ServiceResult<Vec<AuditRow>> {
    actor.require(Permission::ReadAudit)?;
    Ok(store_audit::list_audit(services.store.conn(), filter, limit).await?)
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub rows_checked: u64,
    /// The first row that does not match, and why.
    pub broken: Option<(i64, &'static str)>,
}

/// Recomputes every hash from the first row on.
pub async fn verify(services: &Services, actor: &Actor) -> ServiceResult<Verification> {
    actor.require(Permission::ReadAudit)?;
    let conn = services.store.conn();
    let mut expected_prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let batch = store_audit::audit_rows_after(conn, expected_seq - 1, 1000).await?;
        if batch.is_empty() {
            return Ok(Verification { rows_checked: checked, broken: None });
        }
        for row in batch {
            let broken = if row.seq != expected_seq {
                Some("missing_row")
            } else if row.prev_hash != expected_prev {
                Some("chain_broken")
            } else if row_hash(&row) != row.hash {
                Some("content_altered")
            } else {
                None
            };
            if let Some(reason) = broken {
                return Ok(Verification { rows_checked: checked, broken: Some((expected_seq, reason)) });
            }
            checked += 1;
            expected_seq += 1;
            expected_prev = row.hash;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_nested_sensitive_fields() {
        let mut v = serde_json::json!({"username": "a", "password_hash": "x", "nested": [{"id_number": "1101"}]});
        mask(&mut v);
        assert_eq!(v, serde_json::json!({"username": "a", "password_hash": "***", "nested": [{"id_number": "***"}]}));
    }
}
