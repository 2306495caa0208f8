//! SQLite's writers: one at a time, in the order they came, on a connection of
//! their own, and committed in groups when they queue.
//!
//! A write's COMMIT makes it durable: the pages it changed go to the
//! write-ahead log and the log is synced (`synchronous=FULL`). A customer's
//! registration changes about 45 pages (its row, seventeen indexes, the
//! timeline, the audit chain) and the sync is a millisecond of disk, all inside
//! the one turn SQLite allows. So when others are waiting, a writer that is done
//! passes the turn on with its transaction still open: the next one writes in a
//! savepoint of the same transaction, and one COMMIT makes the whole group
//! durable, each shared page written once. No writer is answered before the
//! COMMIT that made its writes durable; one whose work fails rolls back to its
//! savepoint and leaves the others' writes alone.
//!
//! Whoever holds the turn may end the open group. A member that passed the
//! turn on queues again behind the writers it let in, and when its turn comes
//! either finds its group committed or commits it. A group is never left open
//! with no one coming back for it: the member's way back runs as a task of its
//! own, whatever the caller does meanwhile.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;

use crate::{StoreError, StoreResult};

/// How long a transaction waits for its turn to write before the request is
/// answered "unavailable, try again" (as a pool that has no connection left).
const WRITER_QUEUE_WAIT: Duration = Duration::from_secs(10);

/// The writers' queue of one SQLite file, shared by every store of this
/// process that opens it, so that two pools on one file still queue behind
/// each other.
#[derive(Default)]
pub(crate) struct WriterQueue {
    turn: Arc<tokio::sync::Mutex<Turn>>,
    /// Writers waiting for the turn: new ones, and members of the open group
    /// coming back for its outcome. A writer that is done passes its
    /// transaction on only when someone is waiting.
    waiting: AtomicUsize,
    commits: AtomicU64,
    writes: AtomicU64,
}

impl fmt::Debug for WriterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterQueue").field("waiting", &self.waiting.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

/// What the turn guards: the open group, if one is waiting for its COMMIT.
#[derive(Default)]
struct Turn {
    open: Option<Group>,
}

/// Writes that share one transaction and will share its COMMIT.
struct Group {
    outer: DatabaseTransaction,
    /// Which store's connection the transaction is on (`Writers::id`).
    connection: u64,
    outcome: Arc<Outcome>,
}

#[derive(Default)]
struct Outcome {
    /// Set once, when the group's transaction ends.
    result: OnceLock<Result<(), DbErr>>,
    /// A member's statement failed, and SQLite may have rolled the whole
    /// transaction back with it: no one else joins, and the group ends with
    /// the member that failed or the next writer to take the turn.
    closed: AtomicBool,
}

/// SQLite's writers of one store: the queue, and a connection of their own.
#[derive(Clone, Debug)]
pub(crate) struct Writers {
    pub(crate) queue: Arc<WriterQueue>,
    /// A pool of one connection that only queued writers use. SQLite empties
    /// a connection's page cache whenever another connection has written, so
    /// on the shared pool every write began by reading its pages again from
    /// the file (105 `pread`s per registration, 20 on this connection); on a
    /// connection that only the writers use, the cache is still valid when
    /// the next one begins.
    pub(crate) db: DatabaseConnection,
    /// Tells this store's connection from another store's on the same file.
    id: u64,
}

impl Writers {
    pub(crate) fn new(queue: Arc<WriterQueue>, db: DatabaseConnection) -> Writers {
        static IDS: AtomicU64 = AtomicU64::new(1);
        Writers { queue, db, id: IDS.fetch_add(1, Ordering::Relaxed) }
    }

    /// Takes this writer's turn, then joins the open group or begins a
    /// transaction of its own (`BEGIN IMMEDIATE`).
    pub(crate) async fn begin(&self) -> StoreResult<Transaction> {
        let mut turn = self.queue.take_turn(Some(WRITER_QUEUE_WAIT)).await?;
        // A group on another store's connection holds SQLite's write lock, and
        // a closed one takes no one in: either ends before this writer begins,
        // in a task of its own, so that its members hear how it ended even if
        // this writer stops waiting.
        if let Some(group) = &turn.open
            && (group.connection != self.id || group.outcome.closed.load(Ordering::Acquire))
        {
            let queue = self.queue.clone();
            let ended = tokio::spawn(async move {
                let result = queue.end_group(&mut turn).await;
                (turn, result)
            });
            let (back, result) =
                ended.await.map_err(|e| DbErr::Custom(format!("ending a group of writes stopped: {e}")))?;
            turn = back;
            if let Err(e) = result {
                tracing::warn!(error = %e, "a group of writes could not be committed; its writers were told so");
            }
        }
        let (inner, joined) = match &turn.open {
            Some(group) => match group.outer.begin().await {
                Ok(savepoint) => (savepoint, Some(group.outcome.clone())),
                Err(e) => {
                    group.outcome.closed.store(true, Ordering::Release);
                    return Err(e.into());
                }
            },
            None => {
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                };
                (self.db.begin_with_options(options).await?, None)
            }
        };
        let queued = Queued { queue: self.queue.clone(), turn, connection: self.id, joined };
        let backend = DbBackend::Sqlite;
        Ok(Transaction { inner: Some(inner), queued: Some(queued), failed: AtomicBool::new(false), backend })
    }
}

impl WriterQueue {
    /// (COMMITs, committed writes) on this file's queued writers' connections
    /// since the process started: with writers queueing, fewer of the first.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.commits.load(Ordering::Relaxed), self.writes.load(Ordering::Relaxed))
    }

    async fn take_turn(self: &Arc<Self>, wait: Option<Duration>) -> StoreResult<OwnedMutexGuard<Turn>> {
        /// Counts a writer as waiting until it has the turn or gives up.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        let turn = self.turn.clone().lock_owned();
        match wait {
            None => Ok(turn.await),
            Some(wait) => tokio::time::timeout(wait, turn)
                .await
                .map_err(|_| StoreError::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))),
        }
    }

    fn someone_waits(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Commits the open group and tells its members how it went.
    async fn end_group(&self, turn: &mut Turn) -> Result<(), DbErr> {
        let Some(group) = turn.open.take() else { return Ok(()) };
        let result = group.outer.commit().await;
        if result.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        let _ = group.outcome.result.set(result.clone());
        result
    }

    /// Rolls the open group back: a member's savepoint could not be released,
    /// so what the transaction holds is in doubt. None of its writers has been
    /// answered yet, and each is told of the failure.
    async fn abort_group(&self, turn: &mut Turn, cause: DbErr) -> Result<(), DbErr> {
        let Some(group) = turn.open.take() else { return Err(cause) };
        if let Err(e) = group.outer.rollback().await {
            tracing::warn!(error = %e, "rolling back a group of writes failed");
        }
        let _ = group.outcome.result.set(Err(cause.clone()));
        Err(cause)
    }

    /// A member that passed the turn on comes back for its group's outcome,
    /// committing the group itself if no one has yet.
    async fn come_back(self: Arc<Self>, outcome: Arc<Outcome>) -> Result<(), DbErr> {
        let mut turn = self.take_turn(None).await.map_err(|e| DbErr::Custom(e.to_string()))?;
        if let Some(result) = outcome.result.get() {
            return result.clone();
        }
        // Groups end in the order they opened, so an unended one is the open one.
        match &turn.open {
            Some(group) if Arc::ptr_eq(&group.outcome, &outcome) => self.end_group(&mut turn).await,
            _ => Err(DbErr::Custom("a group of writes was lost before its commit".into())),
        }
    }
}

/// A writer's place in the queue while its transaction is open.
struct Queued {
    queue: Arc<WriterQueue>,
    turn: OwnedMutexGuard<Turn>,
    connection: u64,
    /// The group this writer joined (its transaction is a savepoint of the
    /// group's); none when it began the transaction itself.
    joined: Option<Arc<Outcome>>,
}

impl Queued {
    async fn commit(self, inner: DatabaseTransaction, failed: bool) -> Result<(), DbErr> {
        let Queued { queue, mut turn, connection, joined } = self;
        let outcome = match joined {
            None => {
                // This writer began the transaction. Alone, or after a failed
                // statement (the transaction may be gone), it commits at once.
                if failed || !queue.someone_waits() {
                    inner.commit().await?;
                    queue.commits.fetch_add(1, Ordering::Relaxed);
                    queue.writes.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let outcome = Arc::new(Outcome::default());
                turn.open = Some(Group { outer: inner, connection, outcome: outcome.clone() });
                outcome
            }
            Some(outcome) => {
                if let Err(e) = inner.commit().await {
                    return queue.abort_group(&mut turn, e).await;
                }
                if failed {
                    outcome.closed.store(true, Ordering::Release);
                }
                if outcome.closed.load(Ordering::Acquire) || !queue.someone_waits() {
                    let result = queue.end_group(&mut turn).await;
                    if result.is_ok() {
                        queue.writes.fetch_add(1, Ordering::Relaxed);
                    }
                    return result;
                }
                outcome
            }
        };
        drop(turn);
        let result = queue.clone().come_back(outcome).await;
        if result.is_ok() {
            queue.writes.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// A transaction that writes. On SQLite it holds its turn in the writers'
/// queue until it is committed, rolled back or dropped.
pub struct Transaction {
    /// A transaction of its own, or a savepoint in a group's.
    inner: Option<DatabaseTransaction>,
    /// None on PostgreSQL, whose writers lock rows, not the database.
    queued: Option<Queued>,
    /// A statement of this transaction failed.
    failed: AtomicBool,
    backend: DbBackend,
}

impl Transaction {
    pub(crate) fn unqueued(inner: DatabaseTransaction) -> Transaction {
        let backend = inner.get_database_backend();
        Transaction { inner: Some(inner), queued: None, failed: AtomicBool::new(false), backend }
    }

    /// Makes the writes durable. A queued writer that others are waiting
    /// behind returns when its group's COMMIT has.
    pub async fn commit(mut self) -> Result<(), DbErr> {
        let Some(inner) = self.inner.take() else { return Err(ended()) };
        let Some(queued) = self.queued.take() else { return inner.commit().await };
        let failed = self.failed.load(Ordering::Acquire);
        // As a task of its own: if the caller stops waiting, the group still ends.
        tokio::spawn(queued.commit(inner, failed))
            .await
            .unwrap_or_else(|e| Err(DbErr::Custom(format!("the commit of a group of writes stopped: {e}"))))
    }

    pub async fn rollback(mut self) -> Result<(), DbErr> {
        let Some(inner) = self.inner.take() else { return Err(ended()) };
        self.close_group_if_failed();
        inner.rollback().await
    }

    /// After a failed statement SQLite may have rolled back the whole
    /// transaction, the group's writes with it: a savepoint begun after that
    /// would start a transaction of its own, so no one joins the group again.
    fn close_group_if_failed(&self) {
        if self.failed.load(Ordering::Acquire)
            && let Some(Queued { joined: Some(outcome), .. }) = &self.queued
        {
            outcome.closed.store(true, Ordering::Release);
        }
    }

    /// Only `commit`, `rollback` and `drop` take it, and they end the transaction.
    fn inner(&self) -> Result<&DatabaseTransaction, DbErr> {
        self.inner.as_ref().ok_or_else(ended)
    }

    fn watch<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if result.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        result
    }
}

fn ended() -> DbErr {
    DbErr::Custom("the transaction has ended".into())
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Rolled back (to its savepoint, in a group) before the turn passes
        // on: the rollback is queued on the connection ahead of the next
        // writer's statements. A group it joined stays open for its members.
        self.close_group_if_failed();
        drop(self.inner.take());
        drop(self.queued.take());
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Transaction {
    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.watch(self.inner()?.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.watch(self.inner()?.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.watch(self.inner()?.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.watch(self.inner()?.query_all_raw(stmt).await)
    }
}
