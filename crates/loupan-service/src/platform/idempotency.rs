//! `Idempotency-Key`: the same key twice from one user gives the first answer
//! again and does the work once. A key reused for a different request is refused.

use loupan_domain::ids::UserId;
use loupan_store::idempotency::{self as store, Claim};

use crate::{Actor, ServiceError, ServiceResult, Services, sha256_hex};

/// A request slower than this is taken to have died (a crash between claiming
/// the key and storing the answer).
const ABANDONED_AFTER_SECS: i64 = 300;

/// What to do with a request that carries a key.
pub enum Start {
    /// First time: do the work, then `finish` (or `abandon` if it failed).
    Proceed,
    /// Seen before: answer this again.
    Replay { status: u16, body: String },
}

fn owner(actor: &Actor) -> &str {
    actor.user_id.as_ref().map(UserId::as_str).unwrap_or(&actor.username)
}

/// `fingerprint` identifies the request (method, path, body).
pub async fn start(services: &Services, actor: &Actor, key: &str, fingerprint: &[u8]) -> ServiceResult<Start> {
    if key.is_empty() || key.len() > 200 {
        return Err(loupan_domain::Invalid::one("Idempotency-Key", "invalid_idempotency_key").into());
    }
    let hash = sha256_hex(fingerprint);
    let owner_id = owner(actor);
    let row = match store::claim_key(services.store.conn(), owner_id, key, &hash, services.clock.now()).await? {
        Claim::New => return Ok(Start::Proceed),
        Claim::Existing(row) => row,
    };
    match (row.status_code, row.response_body) {
        // Answered before: the same request gets the same answer.
        (Some(status), Some(body)) if row.request_hash == hash => {
            Ok(Start::Replay { status: u16::try_from(status).unwrap_or(200), body })
        }
        (Some(_), _) => Err(ServiceError::Conflict("idempotency_key_reused")),
        // A claim without an answer for this long belongs to a request that
        // died with its process: free it, or the key would be stuck forever.
        _ if services.clock.now() - row.created_at > chrono::Duration::seconds(ABANDONED_AFTER_SECS) => {
            store::release_key(services.store.conn(), owner_id, key).await?;
            match store::claim_key(services.store.conn(), owner_id, key, &hash, services.clock.now()).await? {
                Claim::New => Ok(Start::Proceed),
                Claim::Existing(_) => Err(ServiceError::Conflict("idempotency_in_progress")),
            }
        }
        _ if row.request_hash != hash => Err(ServiceError::Conflict("idempotency_key_reused")),
        _ => Err(ServiceError::Conflict("idempotency_in_progress")),
    }
}

pub async fn finish(services: &Services, actor: &Actor, key: &str, status: u16, body: &str) -> ServiceResult<()> {
    Ok(store::complete_key(services.store.conn(), owner(actor), key, status, body).await?)
}

pub async fn abandon(services: &Services, actor: &Actor, key: &str) -> ServiceResult<()> {
    Ok(store::release_key(services.store.conn(), owner(actor), key).await?)
}
