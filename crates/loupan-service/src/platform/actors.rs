//! The acting users of recent session tokens, kept in memory on SQLite so
//! that a request need not read its session, user, roles and projects again.
//!
//! Whatever changes who may do what (a user edited or disabled, a password
//! reset, a language chosen, a logout) ends every entry before its writer
//! replies, in every process on the database:
//! - in this process, when the change commits (`commit`);
//! - in other processes (the `loupan user` commands beside a running server),
//!   through a file beside the database whose content each change replaces,
//!   and which every lookup reads: a small read, far cheaper than a statement.
//!
//! Nothing is kept on PostgreSQL. Its instances could only be told by NOTIFY,
//! which arrives after the writer's reply: under load another instance served
//! a disabled user's next request in 5 of 20 runs, and that request must be refused.
//!
//! An entry also ends after `LIFETIME`, a bound on anything changed behind
//! Loupan's back (SQL typed by hand).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use loupan_store::{DatabaseKind, Store, Transaction};

use crate::{Actor, ServiceError, ServiceResult};

/// An entry is read again from the database after this long, whatever happened.
pub const LIFETIME: Duration = Duration::from_secs(10);
/// More sessions than this in use at once start the cache afresh.
const CAPACITY: usize = 10_000;

/// A session token's actor, with what is needed to tell that the session is still live.
#[derive(Debug, Clone)]
pub struct KnownSession {
    pub actor: Actor,
    pub kind: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What `ActorCache::look_up` found.
#[derive(Debug)]
pub struct Lookup {
    pub kept: Option<KnownSession>,
    /// None when nothing is kept.
    pub generation: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    session: KnownSession,
    generation: u64,
    loaded: Instant,
}

/// On SQLite, the change file and the content this process last read from it.
#[derive(Debug)]
struct WatchedFile {
    file: ChangeFile,
    last_read: AtomicU64,
}

#[derive(Debug)]
pub struct ActorCache {
    /// False when `ServiceConfig::keep_actors` is off: nothing is kept, but
    /// this process's changes still reach the others.
    enabled: bool,
    entries: Mutex<HashMap<String, Entry>>,
    /// Moves on every change; an entry of an earlier generation is not used.
    generation: AtomicU64,
    /// None on PostgreSQL, where nothing is kept.
    change_file: Option<WatchedFile>,
}

impl ActorCache {
    pub fn for_store(store: &Store, keep: bool) -> ActorCache {
        let change_file = match loupan_store::database_kind(store.url()) {
            Ok(DatabaseKind::Sqlite { path }) => {
                let file = ChangeFile { path: PathBuf::from(format!("{path}-actors")) };
                let last_read = AtomicU64::new(file.read().unwrap_or_default());
                Some(WatchedFile { file, last_read })
            }
            _ => None,
        };
        ActorCache { enabled: keep, entries: Mutex::default(), generation: AtomicU64::new(0), change_file }
    }

    /// The current generation, or None when nothing is kept (PostgreSQL, the
    /// cache turned off, an unreadable change file).
    fn generation(&self) -> Option<u64> {
        let WatchedFile { file, last_read } = self.change_file.as_ref().filter(|_| self.enabled)?;
        let now = match file.read() {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, path = %file.path.display(), "cannot read the actors' change file");
                return None;
            }
        };
        if now != last_read.load(Ordering::SeqCst) {
            // Moved before `last_read` is set, so whoever sees the new content
            // as read also sees the new generation.
            self.generation.fetch_add(1, Ordering::SeqCst);
            last_read.store(now, Ordering::SeqCst);
        }
        Some(self.generation.load(Ordering::SeqCst))
    }

    /// The kept session of a token's hash, if nothing changed since it was
    /// read, and the generation read to tell: a session then read from the
    /// database is kept with it (`keep`), so a change committed during that
    /// read ends the entry.
    pub fn look_up(&self, token_hash: &str) -> Lookup {
        let generation = self.generation();
        let kept = generation.and_then(|generation| {
            let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let entry = entries.get(token_hash)?;
            (entry.generation == generation && entry.loaded.elapsed() < LIFETIME).then(|| entry.session.clone())
        });
        Lookup { kept, generation }
    }

    /// Keeps a session read from the database while `generation` was current.
    pub fn keep(&self, token_hash: &str, generation: Option<u64>, session: KnownSession) {
        let Some(generation) = generation else { return };
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(token_hash) {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), Entry { session, generation, loaded: Instant::now() });
    }

    /// The session was seen at `at` (its idle time starts again).
    pub fn seen(&self, token_hash: &str, at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = entries.get_mut(token_hash) {
            entry.session.last_seen_at = at;
        }
    }

    pub fn forget(&self, token_hash: &str) {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(token_hash);
    }

    /// Commits a transaction that changed users, roles, projects or sessions,
    /// and ends every kept actor, here and in the other processes, before the
    /// caller replies.
    pub async fn commit(&self, tx: Transaction) -> ServiceResult<()> {
        tx.commit().await.map_err(ServiceError::internal)?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        if let Some(WatchedFile { file, .. }) = &self.change_file
            && let Err(e) = file.replace()
        {
            // The change is saved; a server beside this process may use its
            // old actors until their lifetime ends.
            tracing::error!(error = %e, path = %file.path.display(), "cannot write the actors' change file");
        }
        Ok(())
    }

    /// True while kept actors are used (SQLite, unless turned off).
    pub fn in_use(&self) -> bool {
        self.generation().is_some()
    }
}

/// A file beside a SQLite database holding eight random bytes, replaced after
/// every change to who may do what; a process that reads other bytes than
/// before knows that its kept actors are stale. Random, not a counter, so two
/// processes changing it at once cannot write the same content.
#[derive(Debug)]
struct ChangeFile {
    path: PathBuf,
}

impl ChangeFile {
    /// Zero while no process has changed anything yet.
    fn read(&self) -> std::io::Result<u64> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(bytes.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn replace(&self) -> std::io::Result<()> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::write(&self.path, bytes)
    }
}
