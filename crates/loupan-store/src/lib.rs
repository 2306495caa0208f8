//! Loupan's storage: one schema on SQLite and PostgreSQL, chosen at run time from
//! the database URL. Queries are named after what the caller wants
//! (`find_user_by_username`), never generic CRUD; they take any connection so a
//! service can run several in one transaction.

pub mod aftersales;
pub mod approvals;
pub mod audit;
pub mod balances;
pub mod cases;
pub mod cost;
pub mod customers;
pub mod entities;
pub mod files;
pub mod finance;
pub mod handovers;
pub mod idempotency;
pub mod inventory;
pub mod jobs;
pub mod live;
pub mod migration;
pub mod notices;
pub mod notifications;
pub mod processes;
pub mod questionnaires;
pub mod rate_hits;
pub mod reception;
pub mod sales;
pub mod sessions;
pub mod settings;
pub mod surveys;
pub mod users;
pub mod webhooks;
mod writers;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use sea_orm::{ConnectionTrait as Connection, DbBackend};
pub use writers::Transaction;
use writers::{WriterQueue, Writers};

/// What went wrong below the service layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configured database cannot be used (unknown scheme, missing directory).
    #[error("{0}")]
    Config(String),
    /// A unique constraint refused the write; the service turns it into a field error.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("database error: {0}")]
    Db(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Unique(detail),
            _ => StoreError::Db(err),
        }
    }
}

impl StoreError {
    /// The database could not be reached or stopped answering (down, restarting,
    /// network lost, pool exhausted), as opposed to refusing a statement: the
    /// request may succeed later, and the caller says "unavailable", never "not found".
    pub fn is_outage(&self) -> bool {
        use sea_orm::{RuntimeErr, sqlx};
        let StoreError::Db(err) = self else { return false };
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
                e.as_ref(),
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database Loupan runs on.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// Kept for connections outside the pool (PostgreSQL LISTEN).
    url: String,
    /// Statements sent since the store was opened: tests hold each request to
    /// a budget of round trips, so that a page that starts querying per row fails one.
    statements: Arc<AtomicU64>,
    /// On SQLite, the queue of transactions waiting to write and the one
    /// connection they write on (see `begin_write`); none on PostgreSQL, whose
    /// writers lock rows, not the database.
    writers: Option<Writers>,
    /// A PostgreSQL streaming replica heavy reports read from (`for_reports`).
    replica: Option<Replica>,
}

#[derive(Clone, Debug)]
struct Replica {
    db: DatabaseConnection,
    /// Further behind than this, reports read the primary instead.
    max_lag: Duration,
}

/// Where a report read its data, so that it can say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    /// No replica is configured.
    Primary,
    /// The replica, this many milliseconds behind the primary.
    Replica { lag_ms: u64 },
    /// A replica is configured but was not used.
    Fallback(Fallback),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// It did not answer (down, unreachable, or not a replica of ours).
    Unreachable,
    /// It answered, this many milliseconds behind: more than allowed.
    Behind { lag_ms: u64 },
}

/// The connection a report reads from, and which one it is.
pub struct ReportReader<'a> {
    pub conn: &'a DatabaseConnection,
    pub from: ReadFrom,
}

/// PostgreSQL advisory lock key of the migrations ("loupanMG" as a number).
const MIGRATION_LOCK: i64 = 7_813_593_004_042_505_543;

/// See `Store::writer_commits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterCommits {
    pub commits: u64,
    pub writes: u64,
}

/// The writers' queue of a SQLite file, shared by every store of this process
/// that opens it, so that two pools on one file still queue behind each other.
fn writer_queue_of(path: &str) -> Arc<WriterQueue> {
    static QUEUES: OnceLock<Mutex<HashMap<String, Arc<WriterQueue>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string());
    let mut queues = QUEUES.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    queues.entry(key).or_default().clone()
}

/// Which database a URL names, decided before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite { path: String },
    Postgres,
}

/// Parses the scheme of `LOUPAN_DATABASE_URL`. An unknown scheme is an error
/// here, so a typo never silently creates an empty database somewhere else.
pub fn database_kind(url: &str) -> StoreResult<DatabaseKind> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(DatabaseKind::Postgres);
    }
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or_default().to_owned();
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::Config(format!(
                "`{url}`: Loupan needs a SQLite file (sqlite:///path/to/loupan.db), not an in-memory database"
            )));
        }
        return Ok(DatabaseKind::Sqlite { path });
    }
    Err(StoreError::Config(format!(
        "unsupported database URL `{}`: use sqlite:///path/to/loupan.db or postgres://user@host/db",
        redact_url(url)
    )))
}

/// Hides a password in a database URL before it reaches a log or an error.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Pages (4 KiB) of write-ahead log after which a commit checkpoints itself.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// See `Store::schema_versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaVersions {
    /// Known to this release, not yet run (in order).
    pub pending: Vec<String>,
    /// Run by a newer release, unknown to this one.
    pub unknown: Vec<String>,
}

/// See `Store::pool_connections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConnections {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store {
    /// Opens the database named by `url`. A SQLite file is created when missing,
    /// but only inside a directory that exists: a typo'd directory is an error.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        let mut writers = None;
        let mut db = match database_kind(url)? {
            DatabaseKind::Sqlite { path } => {
                let parent = Path::new(&path).parent().filter(|p| !p.as_os_str().is_empty());
                if let Some(dir) = parent
                    && !dir.is_dir()
                {
                    return Err(StoreError::Config(format!(
                        "SQLite database `{path}`: directory `{}` does not exist",
                        dir.display()
                    )));
                }
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                    .map_err(|e| StoreError::Config(format!("SQLite database `{path}`: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Prefix searches (`LIKE 'zs%'`) can then use an index;
                    // every searched column is stored lower case anyway.
                    .pragma("case_sensitive_like", "true")
                    // Sorting a page out of tens of thousands of matches (a
                    // surname among a million customers) stays in memory, and
                    // each connection keeps 8 MiB of hot pages instead of 2.
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", "-8192")
                    // A server copies the log into the database file from a
                    // background task (`spawn_wal_checkpoints`), so no request
                    // waits for it; a commit still does it itself when the log
                    // passes 64 MiB (a tool without that task, a task that stalls).
                    .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string());
                let pool = |connections: u32| {
                    SqlitePoolOptions::new()
                        .max_connections(connections)
                        // sqlx pings a connection each time it leaves the pool
                        // (and again when it comes back): on SQLite a round trip
                        // to the connection's thread, for a file that cannot hang up.
                        .test_before_acquire(false)
                        .connect_with(options.clone())
                };
                let config = |e: sea_orm::sqlx::Error| StoreError::Config(format!("SQLite database `{path}`: {e}"));
                let readers = pool(8).await.map_err(config)?;
                let writer = pool(1).await.map_err(config)?;
                writers = Some(Writers::new(
                    writer_queue_of(&path),
                    sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
                ));
                sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(readers)
            }
            DatabaseKind::Postgres => {
                let mut options = ConnectOptions::new(url.to_owned());
                options
                    .max_connections(20)
                    .min_connections(1)
                    .connect_timeout(Duration::from_secs(10))
                    // A round trip to PostgreSQL before every statement only
                    // for connections that sat idle long enough to have been
                    // dropped (a restart, a firewall); a hot connection that
                    // broke fails its statement, and sqlx's own check when it
                    // comes back to the pool throws it away.
                    .test_before_acquire_if_idle_for(Duration::from_secs(30))
                    .sqlx_logging(false);
                Database::connect(options)
                    .await
                    .map_err(|e| StoreError::Config(format!("PostgreSQL `{}`: {e}", redact_url(url))))?
            }
        };
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        let count = move |_: &sea_orm::metric::Info<'_>| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        if let Some(writers) = &mut writers {
            writers.db.set_metric_callback(count.clone());
        }
        db.set_metric_callback(count);
        Ok(Store { db, url: url.to_owned(), statements, writers, replica: None })
    }

    /// Heavy reports read from the PostgreSQL streaming replica at `url`
    /// unless it is more than `max_lag` behind or does not answer. The
    /// replica is not needed to start: it is connected to when first asked.
    pub async fn with_replica(mut self, url: &str, max_lag: Duration) -> StoreResult<Store> {
        if self.backend() != DbBackend::Postgres || !matches!(database_kind(url)?, DatabaseKind::Postgres) {
            return Err(StoreError::Config("a read replica is a PostgreSQL replica of a PostgreSQL primary".into()));
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(10)
            .min_connections(0)
            // A replica that is down must cost a report little before it falls back.
            .connect_timeout(Duration::from_secs(2))
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(true)
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .map_err(|e| StoreError::Config(format!("replica `{}`: {e}", redact_url(url))))?;
        self.replica = Some(Replica { db, max_lag });
        Ok(self)
    }

    /// The connection a heavy report (ageing, ledger, exports, dashboards)
    /// reads from: the replica when it answers and is close enough behind,
    /// else the primary, saying which and why.
    pub async fn for_reports(&self) -> ReportReader<'_> {
        let Some(replica) = &self.replica else { return ReportReader { conn: &self.db, from: ReadFrom::Primary } };
        // Caught up (everything received is replayed) is no lag, however long the
        // primary has been idle; else the age of the last transaction replayed.
        const LAG: &str = "SELECT (CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                 WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                 ELSE COALESCE(EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp())) * 1000, 0) \
                 END)::bigint AS lag_ms";
        let lag = replica
            .db
            .query_one_raw(sea_orm::Statement::from_string(DbBackend::Postgres, LAG))
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<Option<i64>>("", "lag_ms").ok().flatten());
        let from = match lag.map(|ms| u64::try_from(ms).unwrap_or(0)) {
            // Not in recovery: a primary named as the replica is a mistake, not a replica.
            None => ReadFrom::Fallback(Fallback::Unreachable),
            Some(lag_ms) if u128::from(lag_ms) > replica.max_lag.as_millis() => {
                ReadFrom::Fallback(Fallback::Behind { lag_ms })
            }
            Some(lag_ms) => return ReportReader { conn: &replica.db, from: ReadFrom::Replica { lag_ms } },
        };
        ReportReader { conn: &self.db, from }
    }

    /// The same database with SQLite's writers left to its busy handler, as
    /// before the queue: for the benchmark that compares the two.
    pub fn without_writer_queue(mut self) -> Store {
        self.writers = None;
        self
    }

    /// The connection pool as `/metrics` shows it: open, idle and the most allowed.
    pub fn pool_connections(&self) -> PoolConnections {
        let (open, idle, max) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            _ => {
                // The readers' pool and the writers' connection.
                let pools = std::iter::once(&self.db).chain(self.writers.as_ref().map(|w| &w.db));
                pools.map(|db| db.get_sqlite_connection_pool()).fold((0, 0, 0), |(open, idle, max), pool| {
                    (open + pool.size(), idle + pool.num_idle(), max + pool.options().get_max_connections())
                })
            }
        };
        PoolConnections { open, idle: u32::try_from(idle).unwrap_or(u32::MAX), max }
    }

    /// On SQLite, the queued writers' COMMITs and the writes they made durable
    /// since the process started (every store on the file counts): when
    /// writers queue, one COMMIT serves several (`writers`). None on PostgreSQL.
    pub fn writer_commits(&self) -> Option<WriterCommits> {
        self.writers.as_ref().map(|w| {
            let (commits, writes) = w.queue.counts();
            WriterCommits { commits, writes }
        })
    }

    /// How many statements this store has sent (in and out of transactions).
    pub fn statements_sent(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Brings the schema up to date. Safe to run on every start and from several
    /// instances: already-applied migrations are skipped, and on PostgreSQL
    /// instances starting together take turns (an advisory lock held by a
    /// transaction of its own while the migrations run on other connections),
    /// so two never create the same table at once. A SQLite file is one
    /// instance's.
    pub async fn migrate(&self) -> StoreResult<()> {
        let turn = if self.backend() == DbBackend::Postgres {
            let tx = self.db.begin().await?;
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await?;
            Some(tx)
        } else {
            None
        };
        let migrated = self.migrate_in_turn().await;
        if let Some(tx) = turn {
            // Ending the transaction releases the lock, whatever the migrations did.
            tx.commit().await?;
        }
        migrated
    }

    async fn migrate_in_turn(&self) -> StoreResult<()> {
        let schema = self.schema_versions().await?;
        if schema.unknown.is_empty() {
            // Up to date (every start after the first): the migrator would
            // only read the same table again.
            if schema.pending.is_empty() {
                return Ok(());
            }
            return Ok(migration::Migrator::up(&self.db, None).await?);
        }
        // A newer release migrated this database while this one still serves
        // (a rolling upgrade, or an instance restarted mid-way): migrations only
        // expand, so this release runs on the newer schema, as long as every
        // migration it knows has run.
        if !schema.pending.is_empty() {
            return Err(StoreError::Config(format!(
                "the database has migrations this release does not know ({}) but lacks some it does ({}): \
                 run the newest release's `loupan migrate`",
                schema.unknown.join(", "),
                schema.pending.join(", ")
            )));
        }
        tracing::warn!(newer = ?schema.unknown, "the database was migrated by a newer release; serving on it");
        Ok(())
    }

    /// Names of the migrations that have not yet run.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        Ok(self.schema_versions().await?.pending)
    }

    /// Migrations this release knows that have not run, and ones that have run that it does not know.
    pub async fn schema_versions(&self) -> StoreResult<SchemaVersions> {
        let known: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let backend = self.backend();
        let exists = match backend {
            DbBackend::Postgres => {
                "SELECT 1 AS one FROM information_schema.tables WHERE table_name = 'seaql_migrations'"
            }
            _ => "SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        };
        let applied: Vec<String> = if raw::query_count(&self.db, exists, vec![]).await? == 0 {
            Vec::new()
        } else {
            raw::query_column(&self.db, "SELECT version FROM seaql_migrations", vec![], "version").await?
        };
        Ok(SchemaVersions {
            pending: known.iter().filter(|k| !applied.contains(k)).cloned().collect(),
            unknown: applied.iter().filter(|a| !known.contains(a)).cloned().collect(),
        })
    }

    /// The URL the store was opened with (holds credentials: never log it raw).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Brings the planner's statistics up to date where nothing else does.
    /// On SQLite no one analyzes unless the application asks, and without
    /// statistics its planner guesses every index equally good; `PRAGMA
    /// optimize` analyzes the tables whose contents changed enough since the
    /// last time (a quick no-op otherwise). PostgreSQL's autovacuum keeps its
    /// own (docs/DEPLOYMENT.md): nothing to do there.
    pub async fn refresh_statistics(&self) -> StoreResult<()> {
        if self.backend() == DbBackend::Sqlite {
            self.db.execute_unprepared("PRAGMA optimize=0x10002").await?;
        }
        Ok(())
    }

    /// On SQLite, copies the committed pages of the write-ahead log into the
    /// database file ten times a second, beside the requests, for as long as
    /// the process runs. Without it the commit that crosses SQLite's threshold does
    /// the copying before it returns (a large import: an eighth of its time).
    /// Passive: it waits for no reader or writer. Nothing to do on PostgreSQL.
    /// Often, because the copy ends with an `fsync` of the database file that
    /// the writers' `fsync` of the log waits behind on the disk: at twice a
    /// second that was one stall of all writers in flight, the p99 of W2 with
    /// 16 clients at 45-54 ms; ten times a second, 18-36 ms.
    pub fn spawn_wal_checkpoints(&self) {
        const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
        if self.backend() != DbBackend::Sqlite {
            return;
        }
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WAL_CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A failure (a full disk) is logged when it starts and when it
            // ends, not ten times a second in between.
            let mut failing = false;
            loop {
                tick.tick().await;
                match db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(
                            error = %e,
                            "write-ahead log checkpoint failed; retrying every {} ms",
                            WAL_CHECKPOINT_EVERY.as_millis()
                        );
                    }
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("write-ahead log checkpoints work again");
                    }
                    _ => {}
                }
            }
        });
    }

    /// The connection for reads outside a transaction.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so a read-then-write can never be refused
    /// half-way by another writer. SQLite has one writer at a time and makes the
    /// others sleep and poll (its busy handler wakes them at growing intervals,
    /// so a writer that came first may be served last, seconds later); here they
    /// wait their turn in a first-come queue instead, woken the moment the
    /// writer before them ends, and write on a connection of their own; when
    /// they queue, they share COMMITs (`writers`). Reads never queue: the
    /// write-ahead log serves them beside the writer.
    pub async fn begin_write(&self) -> StoreResult<Transaction> {
        match &self.writers {
            Some(writers) => writers.begin().await,
            None => {
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                };
                Ok(Transaction::unqueued(self.db.begin_with_options(options).await?))
            }
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` while it is in
    /// use (`VACUUM INTO`). PostgreSQL has its own tools (pg_dump).
    pub async fn backup_sqlite_to(&self, path: &Path) -> StoreResult<()> {
        use sea_orm::{ConnectionTrait, Statement};
        if self.backend() != DbBackend::Sqlite {
            return Err(StoreError::Config(
                "backups of PostgreSQL are made with its own tools: pg_dump, or pg_basebackup with a WAL archive for point-in-time recovery (docs/DEPLOYMENT.md)".into(),
            ));
        }
        let target = path.to_str().ok_or_else(|| StoreError::Config(format!("unusable path {}", path.display())))?;
        self.db
            .execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [target.into()]))
            .await?;
        Ok(())
    }

    /// True when the database answers a trivial query.
    /// SQLite's own check of the database file (`PRAGMA integrity_check`);
    /// PostgreSQL has no such pass and answers true.
    pub async fn integrity_ok(&self) -> StoreResult<bool> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(true);
        }
        use sea_orm::ConnectionTrait;
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, "PRAGMA integrity_check".to_owned()))
            .await?;
        Ok(row.and_then(|r| r.try_get_by_index::<String>(0).ok()).as_deref() == Some("ok"))
    }

    pub async fn ping(&self) -> bool {
        self.db.ping().await.is_ok()
    }

    pub async fn close(self) -> StoreResult<()> {
        if let Some(writers) = self.writers {
            writers.db.close().await?;
        }
        self.db.close().await?;
        Ok(())
    }

    /// The tables and columns as the database reports them, normalised so that
    /// SQLite and PostgreSQL can be compared: `table.column type null|not_null`.
    pub async fn describe_schema(&self) -> StoreResult<Vec<String>> {
        describe_schema(&self.db).await
    }
}

async fn describe_schema(db: &DatabaseConnection) -> StoreResult<Vec<String>> {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Col {
        table_name: String,
        column_name: String,
        data_type: String,
        is_nullable: String,
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
             is_nullable::text AS is_nullable FROM information_schema.columns WHERE table_schema = current_schema()"
        }
        _ => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'NO' ELSE 'YES' END AS is_nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
    };
    let cols = Col::find_by_statement(Statement::from_string(backend, sql)).all(db).await?;
    let mut lines: Vec<String> = cols
        .into_iter()
        .filter(|c| c.table_name != "seaql_migrations")
        .map(|c| {
            format!(
                "{}.{} {} {}",
                c.table_name,
                c.column_name,
                type_class(&c.data_type),
                if c.is_nullable == "YES" { "null" } else { "not_null" }
            )
        })
        .collect();
    // Our named indexes (primary keys and UNIQUE columns are named by each dialect).
    let index_sql = match backend {
        DbBackend::Postgres => "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema()",
        _ => "SELECT name FROM sqlite_master WHERE type = 'index'",
    };
    #[derive(FromQueryResult)]
    struct Index {
        name: String,
    }
    let indexes = Index::find_by_statement(Statement::from_string(backend, index_sql)).all(db).await?;
    lines.extend(
        indexes
            .into_iter()
            .filter(|i| i.name.starts_with("ix_") || i.name.starts_with("ux_"))
            .map(|i| format!("index {}", i.name)),
    );
    lines.sort();
    Ok(lines)
}

/// Maps each dialect's spelling of a type to the kind of value it holds.
fn type_class(data_type: &str) -> &'static str {
    let t = data_type.to_ascii_lowercase();
    if t.contains("time") {
        "instant"
    } else if t == "date" || t == "date_text" {
        "date"
    } else if t.contains("bool") {
        "boolean"
    } else if t.contains("int") {
        // SQLite declares BIGINT columns as `integer`, which is 64-bit there anyway.
        "integer"
    } else if t.contains("char") || t.contains("text") {
        "text"
    } else if t.contains("json") {
        "json"
    } else {
        "other"
    }
}

/// A new opaque identifier: time-ordered, so lists sorted by id follow creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The machine's current instant as Loupan stores it: UTC, microseconds.
/// For what the machine did when (the audit trail, the job queue, deliveries,
/// notifications); business time (a deal's history, grades, delegations,
/// deadlines) comes from the service's `Clock`, which a test can set.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(matches!(database_kind("mysql://x"), Err(StoreError::Config(_))));
        assert!(matches!(database_kind("postgress://x"), Err(StoreError::Config(_))));
        assert!(matches!(database_kind("sqlite::memory:"), Err(StoreError::Config(_))));
        assert_eq!(database_kind("postgres://u@h/db").ok(), Some(DatabaseKind::Postgres));
        assert_eq!(
            database_kind("sqlite:///tmp/x.db?mode=rwc").ok(),
            Some(DatabaseKind::Sqlite { path: "/tmp/x.db".into() })
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}

/// Creating and dropping whole PostgreSQL databases: each test gets its own.
pub mod admin {
    use sea_orm::{ConnectionTrait, Database};

    use crate::{StoreResult, redact_url};

    fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() < 60
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    /// `url` with its database name replaced by `name`.
    pub fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let root = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        match query {
            Some(q) => format!("{root}/{name}?{q}"),
            None => format!("{root}/{name}"),
        }
    }

    /// A connection to the server's maintenance database, where databases are made and dropped.
    async fn server(server_url: &str) -> StoreResult<sea_orm::DatabaseConnection> {
        Database::connect(server_url)
            .await
            .map_err(|e| crate::StoreError::Config(format!("PostgreSQL `{}`: {e}", redact_url(server_url))))
    }

    /// Runs one statement about databases (which cannot run in a transaction) on the server.
    async fn on_server(server_url: &str, names: &[&str], sql: &str) -> StoreResult<()> {
        if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
            return Err(crate::StoreError::Config(format!("bad database name {bad}")));
        }
        let db = server(server_url).await?;
        db.execute_unprepared(sql).await?;
        db.close().await?;
        Ok(())
    }

    pub async fn create_postgres_database(server_url: &str, name: &str) -> StoreResult<()> {
        on_server(server_url, &[name], &format!("CREATE DATABASE {name}")).await
    }

    pub async fn drop_postgres_database(server_url: &str, name: &str) -> StoreResult<()> {
        on_server(server_url, &[name], &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
    }

    /// A new database `name` copied from `template` (`CREATE DATABASE … TEMPLATE`),
    /// a third of the time of migrating an empty one.
    pub async fn create_postgres_database_from(server_url: &str, name: &str, template: &str) -> StoreResult<()> {
        on_server(server_url, &[name, template], &format!("CREATE DATABASE {name} TEMPLATE {template}")).await
    }

    /// Makes `name` a migrated database to copy test databases from, unless it
    /// exists. Test processes running at once take turns on an advisory lock,
    /// so one of them makes it and the others find it. Other databases whose
    /// names start with `stale_prefix` are earlier builds' templates and are
    /// dropped (one still being copied from is left for next time).
    pub async fn ensure_postgres_template(server_url: &str, name: &str, stale_prefix: &str) -> StoreResult<()> {
        use sea_orm::{DbBackend, Statement};
        if !valid_name(name) || !name.starts_with(stale_prefix) {
            return Err(crate::StoreError::Config(format!("bad template name {name}")));
        }
        let db = server(server_url).await?;
        // A session lock on this connection's database: every test process
        // connects to the same server database to make its copies.
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).await?;
        let made = async {
            let existing: Vec<String> = crate::raw::query_column(
                &db,
                "SELECT datname FROM pg_database WHERE datname LIKE $1",
                vec![format!("{stale_prefix}%").into()],
                "datname",
            )
            .await?;
            if !existing.iter().any(|n| n == name) {
                // Made under another name and renamed when complete, so that
                // a process killed half-way leaves no half-migrated template.
                let building = format!("{name}_new");
                db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building}")).await?;
                db.execute_unprepared(&format!("CREATE DATABASE {building}")).await?;
                let store = crate::Store::connect(&with_database(server_url, &building)).await?;
                store.migrate().await?;
                store.close().await?;
                db.execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}")).await?;
            }
            for stale in existing.iter().filter(|n| *n != name && n.starts_with(stale_prefix) && valid_name(n)) {
                let _ =
                    db.execute_raw(Statement::from_string(DbBackend::Postgres, format!("DROP DATABASE {stale}"))).await;
            }
            Ok::<_, crate::StoreError>(())
        }
        .await;
        let unlocked = db.execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})")).await;
        db.close().await?;
        made?;
        unlocked?;
        Ok(())
    }

    const TEMPLATE_LOCK: i64 = 7_813_593_004_042_505_544;

    #[cfg(test)]
    mod tests {
        #[test]
        fn replaces_the_database_name() {
            assert_eq!(super::with_database("postgres://u@h:5432/test", "x1"), "postgres://u@h:5432/x1");
            assert_eq!(
                super::with_database("postgres://u@h/test?sslmode=disable", "x1"),
                "postgres://u@h/x1?sslmode=disable"
            );
            assert_eq!(super::with_database("postgres://u@h", "x1"), "postgres://u@h/x1");
        }
    }
}

/// What tests need from SeaORM to read raw rows, without depending on it.
pub mod sea_orm_reexport {
    pub use sea_orm::{FromQueryResult, JsonValue, Statement};
}

/// Many rows at once, for the benchmark's data generator and imports.
pub mod bulk {
    use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};

    use crate::StoreResult;
    use crate::entities::{
        compensations, contracts, customers, instalments, questionnaire_answers, questionnaire_responses,
        service_cases, units,
    };

    /// SQLite allows 32 766 bound values per statement; stay well below.
    const ROWS_PER_STATEMENT: usize = 500;

    macro_rules! bulk_insert {
        ($name:ident, $module:ident) => {
            pub async fn $name<C: ConnectionTrait>(c: &C, rows: &[$module::Model]) -> StoreResult<()> {
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    $module::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
                        .exec_without_returning(c)
                        .await?;
                }
                Ok(())
            }
        };
    }

    bulk_insert!(insert_units, units);
    bulk_insert!(insert_customers, customers);
    bulk_insert!(insert_contracts, contracts);
    bulk_insert!(insert_instalments, instalments);
    bulk_insert!(insert_questionnaire_responses, questionnaire_responses);
    bulk_insert!(insert_questionnaire_answers, questionnaire_answers);
    bulk_insert!(insert_service_cases, service_cases);
    bulk_insert!(insert_compensations, compensations);
}

/// Raw SQL for the benchmark's physical-limit baseline: the same queries the
/// store runs, without the layers above.
pub mod raw {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

    use crate::StoreResult;

    /// `$1`, `$2`, … as the backend writes placeholders (`?` on SQLite).
    pub(crate) fn placeholders(backend: DbBackend, sql: &str) -> String {
        if backend == DbBackend::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// Runs `sql` (placeholders written `$1`, `$2`, … and rewritten to `?` on
    /// SQLite, so each placeholder needs its own value, in order) and returns
    /// the number of rows.
    pub async fn query_count<C: ConnectionTrait>(c: &C, sql: &str, values: Vec<Value>) -> StoreResult<usize> {
        let backend = c.get_database_backend();
        Ok(c.query_all_raw(Statement::from_sql_and_values(backend, placeholders(backend, sql), values)).await?.len())
    }

    /// Runs a statement that changes rows (placeholders as for `query_count`)
    /// and returns how many it changed: for a benchmark's own setup.
    pub async fn execute<C: ConnectionTrait>(c: &C, sql: &str, values: Vec<Value>) -> StoreResult<u64> {
        let backend = c.get_database_backend();
        let statement = Statement::from_sql_and_values(backend, placeholders(backend, sql), values);
        Ok(c.execute_raw(statement).await?.rows_affected())
    }

    /// Runs `sql` (placeholders as for `query_count`) and returns one text column of every row.
    pub async fn query_column<C: ConnectionTrait>(
        c: &C,
        sql: &str,
        values: Vec<Value>,
        column: &str,
    ) -> StoreResult<Vec<String>> {
        let backend = c.get_database_backend();
        let statement = Statement::from_sql_and_values(backend, placeholders(backend, sql), values);
        statement_column(c, statement, column).await
    }

    /// Runs a statement and returns one text column of every row (a benchmark
    /// replaying a list reads the owners it then looks up).
    pub async fn statement_column<C: ConnectionTrait>(
        c: &C,
        statement: Statement,
        column: &str,
    ) -> StoreResult<Vec<String>> {
        let rows = c.query_all_raw(statement).await?;
        Ok(rows.iter().map(|r| r.try_get::<String>("", column)).collect::<Result<_, _>>()?)
    }

    /// Runs a statement the storage layer built (so a benchmark replays exactly
    /// what the service sends) and returns the number of rows.
    pub async fn statement_count<C: ConnectionTrait>(c: &C, statement: Statement) -> StoreResult<usize> {
        Ok(c.query_all_raw(statement).await?.len())
    }
}
