//! The `loupan` binary: serve the web UI and API, run migrations, load demo
//! data, manage users and verify the audit trail from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use loupan_service::platform::secrets::Secrets;
use loupan_service::{Actor, ServiceConfig, ServiceError, Services, demo, platform::audit, platform::users};
use loupan_store::Store;
use loupan_web::{AppState, WebConfig};

/// mimalloc for every allocation of the process, SQLite's included (see the
/// workspace's Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "loupan",
    version,
    about = "Loupan (楼盘): sales, finance, customer service and cost control for real-estate developers"
)]
struct Cli {
    #[command(flatten)]
    storage: StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct StorageArgs {
    /// Folder for the SQLite database, keys and attachments.
    #[arg(long, env = "LOUPAN_DATA_DIR", default_value = "./loupan-data", global = true)]
    data_dir: PathBuf,
    /// `sqlite:///path/loupan.db` or `postgres://user@host/db` (default: a SQLite file in the data folder).
    #[arg(long, env = "LOUPAN_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Master key for personal data, 64 hex characters (default: `keys/personal-data.key`
    /// in the data folder, created on first start). Instances sharing a database share it.
    #[arg(long, env = "LOUPAN_SECRET_KEY", global = true, hide_env_values = true)]
    secret_key: Option<String>,
    /// The company's time zone, for "today" and every date shown: a name
    /// without daylight saving time (Asia/Shanghai, Asia/Hong_Kong, UTC, ...) or an offset (+08:00).
    #[arg(long, env = "LOUPAN_TIME_ZONE", default_value = "Asia/Shanghai", global = true)]
    time_zone: String,
    /// Internal networks webhooks may be sent to, comma-separated (`10.20.0.0/16,192.168.1.5`).
    /// Public addresses always may; loopback, private and link-local ones only when listed.
    #[arg(long, env = "LOUPAN_WEBHOOK_ALLOW", default_value = "", global = true)]
    webhook_allow: String,
    /// The address customers reach Loupan at from outside (`https://crm.example.com`):
    /// marketing e-mails carry an unsubscribe link under it.
    #[arg(long, env = "LOUPAN_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// A PostgreSQL streaming replica of the database, `postgres://…`: heavy
    /// reports (ageing, the contract ledger, their exports) read from it.
    #[arg(long, env = "LOUPAN_REPLICA_URL", global = true, hide_env_values = true)]
    replica_url: Option<String>,
    /// Where uploaded files live: `s3://bucket/prefix` for an S3-compatible
    /// store (endpoint `LOUPAN_S3_ENDPOINT`, `AWS_REGION`, credentials
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`), shared by every
    /// instance; default: `files/` in the data folder.
    #[arg(long, env = "LOUPAN_FILES_URL", global = true)]
    files_url: Option<String>,
    /// Seconds the replica may be behind; further behind (or down), reports read the primary.
    #[arg(long, env = "LOUPAN_REPLICA_MAX_LAG_SECONDS", default_value_t = 30, global = true)]
    replica_max_lag_seconds: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the JSON API.
    Serve {
        #[arg(long, env = "LOUPAN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Fill an empty database with a demo company first.
        #[arg(long)]
        demo: bool,
        /// Password of `admin` on first start (default: random, printed once).
        #[arg(long, env = "LOUPAN_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// Mark cookies Secure (set when a TLS proxy does not send X-Forwarded-Proto).
        #[arg(long, env = "LOUPAN_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Behind a proxy that appends the caller's address to X-Forwarded-For:
        /// limits per address (the owners' report form) count that address.
        #[arg(long, env = "LOUPAN_TRUST_FORWARDED_FOR")]
        trust_forwarded_for: bool,
        #[command(flatten)]
        shutdown: Shutdown,
    },
    /// Bring the database schema up to date and exit.
    Migrate {
        /// Only list the migrations that have not run, and exit 1 if there are
        /// any (0 when the schema is up to date); applies nothing.
        #[arg(long)]
        check: bool,
    },
    /// Fill an empty database with a demo company.
    Demo {
        #[arg(long, env = "LOUPAN_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The background job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Copy the SQLite database and the personal-data key into a new folder, while Loupan runs.
    Backup {
        /// A folder that does not exist yet.
        destination: PathBuf,
    },
    /// The personal-data master key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Put a backup in place of an empty data folder (stop Loupan first).
    Restore {
        /// A folder written by `loupan backup`.
        source: PathBuf,
    },
}

/// How an instance leaves on SIGTERM or Ctrl-C.
#[derive(Args, Clone, Copy)]
struct Shutdown {
    /// Seconds to keep serving with `/readyz` answering 503 before stopping,
    /// so that a balancer's health check takes the instance out first.
    #[arg(long, env = "LOUPAN_DRAIN_SECONDS", default_value_t = 0)]
    drain_seconds: u64,
    /// Seconds, after stopping, to wait for requests in flight and the running
    /// job; then the process exits anyway (a job left running goes to another
    /// instance when its lease passes).
    #[arg(long, env = "LOUPAN_SHUTDOWN_SECONDS", default_value_t = 30)]
    shutdown_seconds: u64,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (the password is read from LOUPAN_USER_PASSWORD or generated and printed).
    Create {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// A built-in role (repeatable): admin, executive, sales_manager, sales_agent, cashier, finance, ...
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// A project id the user belongs to (repeatable).
        #[arg(long = "project")]
        projects: Vec<String>,
        #[arg(long, env = "LOUPAN_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password (from LOUPAN_USER_PASSWORD or generated and printed); ends the user's sessions.
    ResetPassword {
        username: String,
        #[arg(long, env = "LOUPAN_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Disable a user and end their sessions at once.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Counts per state, the schedules, and the latest jobs.
    List {
        /// Only jobs in this state: queued, running, done, dead.
        #[arg(long)]
        status: Option<String>,
    },
    /// Queue a job that gave up once more.
    Retry { id: String },
    /// Run what is due now in this process, then exit (for cron-like setups and debugging).
    RunDue,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-encrypt every ID number and webhook secret under a new master key
    /// (stop the other instances first). The key file is replaced and the old
    /// key kept beside it, renamed; with LOUPAN_SECRET_KEY the new key is
    /// printed for you to set on every instance.
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain, and the open balances from the instalments;
    /// exits non-zero if any row was altered or removed or a balance differs.
    Verify,
}

#[tokio::main]
async fn main() -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOUPAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=warn"));
    // One JSON object per line for a group's log collector; with the spans
    // (the request's id, a job's id and the request that queued it).
    if std::env::var("LOUPAN_LOG_FORMAT").is_ok_and(|f| f == "json") {
        tracing_subscriber::fmt().json().with_span_list(true).with_current_span(false).with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let cli = Cli::parse();
    // A restore must not open (and so create) the database it is about to replace.
    if let Command::Restore { source } = &cli.command {
        return restore(&cli.storage, source).await;
    }
    if let Command::Keys(KeysCommand::Rotate) = &cli.command {
        return rotate_key(&cli.storage).await;
    }
    // A check must not apply what it reports.
    if let Command::Migrate { check: true } = &cli.command {
        let store = Store::connect(&database_url(&cli.storage)?).await?;
        let versions = store.schema_versions().await?;
        if !versions.unknown.is_empty() {
            // Expand-only migrations: this release still runs on it (docs/DEPLOYMENT.md).
            println!("the database was migrated by a newer release; this one serves on it without:");
            for name in &versions.unknown {
                println!("  {name}");
            }
        }
        let pending = versions.pending;
        if pending.is_empty() {
            println!("database schema is up to date");
            return Ok(());
        }
        println!("{} migrations have not run (loupan migrate applies them):", pending.len());
        for name in &pending {
            println!("  {name}");
        }
        std::process::exit(1);
    }
    let services = open(&cli.storage).await?;
    match cli.command {
        Command::Serve { listen, demo: with_demo, admin_password, secure_cookies, trust_forwarded_for, shutdown } => {
            first_start(&services, admin_password).await?;
            if with_demo {
                fill_demo(&services).await?;
            }
            serve(services, listen, WebConfig { secure_cookies, trust_forwarded_for }, shutdown).await
        }
        Command::Migrate { .. } => {
            println!("database schema is up to date");
            Ok(())
        }
        Command::Demo { admin_password } => {
            first_start(&services, admin_password).await?;
            fill_demo(&services).await
        }
        Command::User(cmd) => user_command(&services, cmd).await,
        Command::Jobs(cmd) => jobs_command(&services, cmd).await,
        Command::Backup { destination } => backup(&cli.storage, &services, &destination).await,
        Command::Restore { .. } | Command::Keys(_) => Ok(()),
        Command::Audit(AuditCommand::Verify) => {
            let cli = Actor::system("cli");
            let v = audit::verify(&services, &cli).await?;
            if let Some((seq, reason)) = v.broken {
                bail!("audit trail broken at row {seq}: {reason} ({} rows before it verified)", v.rows_checked)
            }
            println!("audit trail intact: {} rows verified", v.rows_checked);
            let differences = loupan_service::finance::open_balance_differences(&services, &cli).await?;
            if differences.is_empty() {
                println!("open balances agree with the instalments");
                return Ok(());
            }
            for d in differences.iter().take(20) {
                println!("open balance {}: kept {}, the instalments say {}", d.key, d.kept, d.recomputed);
            }
            bail!("{} open balances differ from the instalments", differences.len())
        }
    }
}

async fn jobs_command(services: &Services, cmd: JobsCommand) -> Result<()> {
    let system = Actor::system("cli");
    match cmd {
        JobsCommand::List { status } => {
            let o = loupan_service::platform::jobs::overview(services, &system, status.as_deref(), None).await?;
            let counts: Vec<String> = o.counts.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            println!("jobs by state: {}", if counts.is_empty() { "none".into() } else { counts.join(", ") });
            for s in &o.schedules {
                println!(
                    "schedule {:<22} every {:>6}s  next {}",
                    s.name,
                    s.interval_seconds,
                    s.next_run_at.to_rfc3339()
                );
            }
            for j in o.jobs.iter().take(50) {
                let progress = if j.progress_total > 0 {
                    format!(" {}/{}", j.progress_done, j.progress_total)
                } else {
                    String::new()
                };
                println!(
                    "{}  {:<20} {:<8} attempts {}/{}{}  {}",
                    j.id,
                    j.kind,
                    j.status,
                    j.attempts,
                    j.max_attempts,
                    progress,
                    j.last_error.as_deref().or(j.result.as_deref()).unwrap_or("")
                );
            }
            Ok(())
        }
        JobsCommand::Retry { id } => {
            let j = loupan_service::platform::jobs::retry(services, &system, &id).await?;
            println!("job {} queued again", j.id);
            Ok(())
        }
        JobsCommand::RunDue => {
            loupan_service::platform::jobs::ensure_schedules(services).await?;
            let now = loupan_store::now();
            let scheduled = loupan_service::platform::jobs::tick_schedules(services, now).await?;
            let worker = format!("cli-{}", std::process::id());
            let mut ran = 0;
            loop {
                let n = loupan_service::platform::jobs::run_due(services, &worker, loupan_store::now()).await?;
                if n == 0 {
                    break;
                }
                ran += n;
            }
            println!("{scheduled} scheduled runs queued, {ran} jobs run");
            Ok(())
        }
    }
}

/// Opens (and migrates) the configured database. The default SQLite file is
/// created in the data folder; an explicit URL must name an existing folder.
async fn open(args: &StorageArgs) -> Result<Services> {
    let url = database_url(args)?;
    let zone = loupan_service::Clock::parse_zone(&args.time_zone)?;
    let webhook_allow = loupan_service::platform::outbound::Network::parse_list(&args.webhook_allow)
        .map_err(|e| anyhow::anyhow!("LOUPAN_WEBHOOK_ALLOW: {e}"))?;
    let store = Store::connect(&url).await?;
    let pending = store.pending_migrations().await?;
    if !pending.is_empty() {
        tracing::info!(count = pending.len(), "applying migrations");
    }
    store.migrate().await?;
    let store = match args.replica_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(replica) => {
            store.with_replica(replica, std::time::Duration::from_secs(args.replica_max_lag_seconds)).await?
        }
        None => store,
    };
    let secrets = Secrets::from_master(&master_key(args)?).map_err(explain)?;
    let files = file_store(args)?;
    let public_url =
        args.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(|u| u.trim_end_matches('/').to_owned());
    if let Some(url) = &public_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        anyhow::bail!("LOUPAN_PUBLIC_URL must start with https:// or http:// (it is {url})");
    }
    let services =
        Services::new(store, ServiceConfig { webhook_allow, public_url, ..ServiceConfig::default() }, secrets)
            .with_files(files)
            .with_clock(loupan_service::Clock::system(zone));
    // Data the migrations could not compute (it needs the service's rules).
    let counted = loupan_service::cases::count_step_minutes(&services).await?;
    if counted > 0 {
        tracing::info!(cases = counted, "counted the working minutes of answered cases");
    }
    Ok(services)
}

/// The configured file store: a bucket (`LOUPAN_FILES_URL=s3://…`) or the data folder's `files/`.
fn file_store(args: &StorageArgs) -> Result<std::sync::Arc<dyn loupan_service::platform::files::FileStore>> {
    use loupan_service::platform::{files::LocalFiles, s3};
    Ok(match args.files_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            let config = s3::S3Config::from_url(url, |name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
            std::sync::Arc::new(s3::S3Files::new(config)?)
        }
        None => std::sync::Arc::new(LocalFiles::new(args.data_dir.join("files"))),
    })
}

/// `LOUPAN_DATABASE_URL`, or the SQLite file in the data folder (created with
/// the folder when missing).
fn database_url(args: &StorageArgs) -> Result<String> {
    Ok(match &args.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("cannot create data folder {}", args.data_dir.display()))?;
            let path = std::fs::canonicalize(&args.data_dir)?.join("loupan.db");
            format!("sqlite://{}", path.display())
        }
    })
}

/// The personal-data master key: from `LOUPAN_SECRET_KEY`, else from the key
/// file in the data folder, which is created (readable by its owner only) on
/// first start. Losing it makes encrypted ID numbers unreadable: back it up.
fn master_key(args: &StorageArgs) -> Result<[u8; 32]> {
    if let Some(text) = args.secret_key.as_deref().filter(|t| !t.is_empty()) {
        return Secrets::parse_master(text).context("LOUPAN_SECRET_KEY must be 64 hexadecimal characters");
    }
    let dir = args.data_dir.join("keys");
    let path = dir.join("personal-data.key");
    if dir.join(PENDING_KEY_FILE).exists() {
        bail!("a key rotation was interrupted: run `loupan keys rotate` to finish it before anything else");
    }
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return Secrets::parse_master(&text).with_context(|| format!("{} is not a valid key", path.display()));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = Secrets::generate_master().map_err(explain)?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "created the personal-data key; back it up with the database");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

async fn first_start(services: &Services, admin_password: Option<String>) -> Result<()> {
    if let Some(generated) =
        users::ensure_admin(services, admin_password.filter(|p| !p.is_empty())).await.map_err(explain)?
    {
        // Printed once, on the first start only; no other default password exists.
        tracing::warn!("created user `admin` with password: {generated}  (shown once; change it after signing in)");
    }
    Ok(())
}

async fn fill_demo(services: &Services) -> Result<()> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("demo units");
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    // A fixed demo password for scripted demos and browser tests; random otherwise.
    let password = std::env::var("LOUPAN_DEMO_PASSWORD").ok();
    match demo::fill(services, password, &progress).await.map_err(explain)? {
        Some(summary) => {
            bar.finish_and_clear();
            println!(
                "demo company created: project 翠湖名苑 with {} units and {} customers",
                summary.units, summary.customers
            );
            println!("demo users (password {}):", summary.password);
            for (username, role) in summary.users {
                println!("  {username:10} {role}");
            }
        }
        None => {
            bar.finish_and_clear();
            println!("the database already has projects; demo data not added");
        }
    }
    Ok(())
}

async fn serve(services: Services, listen: SocketAddr, config: WebConfig, shutdown: Shutdown) -> Result<()> {
    match loupan_service::platform::auth::purge_expired_sessions(&services).await {
        Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e.chain(), "could not remove expired sessions"),
    }
    if let Err(e) = services.store.refresh_statistics().await {
        tracing::warn!(error = %e, "could not refresh the planner's statistics");
    }
    loupan_service::platform::live::start(&services);
    // Scheduled work (reservation expiry, approval deadlines, reminders) and
    // queued jobs (webhook deliveries) run from the database's job queue.
    let worker = loupan_service::platform::jobs::start(&services);
    services.store.spawn_wal_checkpoints();
    let lifecycle = services.lifecycle.clone();
    let app = loupan_web::app(AppState::new(services, config));
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!("Loupan is serving on http://{listen}");
    // Small answers go out at once rather than waiting for the client's ACK (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // On the signal: drain (still serving, `/readyz` 503), then stop: the
    // listener closes, event streams end, requests in flight are answered.
    let stopping = {
        let lifecycle = lifecycle.clone();
        async move {
            shutdown_signal().await;
            lifecycle.begin_draining();
            if shutdown.drain_seconds > 0 {
                tracing::info!(seconds = shutdown.drain_seconds, "draining: /readyz answers 503");
                tokio::time::sleep(std::time::Duration::from_secs(shutdown.drain_seconds)).await;
            }
            lifecycle.stop();
        }
    };
    // The peer's address is kept for limits per address (`ClientAddress`).
    let server = async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stopping)
            .await
    };
    let limit = async {
        lifecycle.stopped().await;
        tokio::time::sleep(std::time::Duration::from_secs(shutdown.shutdown_seconds)).await;
    };
    tokio::select! {
        served = server => served?,
        () = limit => {
            tracing::warn!(seconds = shutdown.shutdown_seconds, "requests still open at the shutdown limit; leaving them");
            return Ok(());
        }
    }
    // The worker finishes the job it is running (given the limit once more).
    if tokio::time::timeout(std::time::Duration::from_secs(shutdown.shutdown_seconds), worker).await.is_err() {
        tracing::warn!(
            "the running job did not finish within the shutdown limit; its lease passes to another instance"
        );
    }
    tracing::info!("Loupan stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

/// A random password for an account created or reset from the terminal.
fn generated_password() -> Result<String> {
    let token = loupan_service::platform::auth::new_form_token().map_err(explain)?;
    Ok(token[..18].to_owned())
}

async fn user_command(services: &Services, cmd: UserCommand) -> Result<()> {
    let actor = Actor::system("cli");
    match cmd {
        UserCommand::Create { username, display_name, roles, projects, password } => {
            let (password, show) = match password {
                Some(p) => (p, false),
                None => (generated_password()?, true),
            };
            let form = users::NewUser {
                username: Some(username),
                password: Some(password.clone()),
                display_name,
                roles,
                project_ids: projects.into_iter().map(Into::into).collect(),
            };
            let user = users::create_user(services, &actor, form).await.map_err(explain)?;
            println!("created user {} ({})", user.username, user.id);
            if show {
                println!("password: {password}  (shown once)");
            }
        }
        UserCommand::ResetPassword { username, password } => {
            let user = users::find_user_by_username(services, &actor, &username).await.map_err(explain)?;
            let (password, show) = match password {
                Some(p) => (p, false),
                None => (generated_password()?, true),
            };
            users::reset_password(services, &actor, &user.id, Some(&password)).await.map_err(explain)?;
            println!("password of {username} reset; their sessions have ended");
            if show {
                println!("new password: {password}  (shown once)");
            }
        }
        UserCommand::Disable { username } | UserCommand::Enable { username } if username.is_empty() => {
            bail!("username required")
        }
        UserCommand::Disable { username } => {
            let user = users::find_user_by_username(services, &actor, &username).await.map_err(explain)?;
            users::set_disabled(services, &actor, &user.id, true).await.map_err(explain)?;
            println!("{username} disabled; their sessions have ended");
        }
        UserCommand::Enable { username } => {
            let user = users::find_user_by_username(services, &actor, &username).await.map_err(explain)?;
            users::set_disabled(services, &actor, &user.id, false).await.map_err(explain)?;
            println!("{username} enabled");
        }
    }
    Ok(())
}

/// A service error as an operator should read it on the terminal.
fn explain(err: ServiceError) -> anyhow::Error {
    match err {
        ServiceError::Invalid(invalid) => {
            let fields: Vec<String> = invalid.0.iter().map(|f| format!("{}: {}", f.field, f.code)).collect();
            anyhow::anyhow!("invalid input: {}", fields.join(", "))
        }
        ServiceError::NotFound(what) => anyhow::anyhow!("{what} not found"),
        other => anyhow::anyhow!(other),
    }
}

const BACKUP_DB: &str = "loupan.db";
const KEY_FILE: &str = "personal-data.key";
/// The new key while a rotation runs: written before the data is re-encrypted,
/// renamed over the key file after the commit.
const PENDING_KEY_FILE: &str = "personal-data.key.new";

fn hex_key(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// `loupan keys rotate`: see `KeysCommand::Rotate`. Safe to run again after an
/// interruption: if the data already opens with the pending key, only the
/// files are switched; if not, the rotation starts over.
async fn rotate_key(args: &StorageArgs) -> Result<()> {
    use loupan_service::platform::secrets;
    let dir = args.data_dir.join("keys");
    let (current, pending) = (dir.join(KEY_FILE), dir.join(PENDING_KEY_FILE));
    let from_env = args.secret_key.as_deref().is_some_and(|t| !t.is_empty());
    // Open with the current key (the pending one must not stop this command).
    let parked = pending.with_extension("checking");
    if !from_env && pending.exists() {
        std::fs::rename(&pending, &parked)?;
    }
    let services = open(args).await;
    if !from_env && parked.exists() {
        std::fs::rename(&parked, &pending)?;
    }
    let services = services?;
    if !from_env && pending.exists() {
        let text = std::fs::read_to_string(&pending)?;
        let key = Secrets::parse_master(&text).context("the pending key file is not a valid key")?;
        let next = Secrets::from_master(&key).map_err(explain)?;
        let opens_new = secrets::opens_stored_data(&services, &next).await.map_err(explain)?;
        let opens_old = secrets::opens_stored_data(&services, &services.secrets).await.map_err(explain)?;
        if opens_new && !opens_old {
            switch_key_files(&current, &pending)?;
            println!("finished the interrupted rotation: the data was already under the new key");
            return Ok(());
        }
        std::fs::remove_file(&pending)?;
    }
    let key = Secrets::generate_master().map_err(explain)?;
    let next = Secrets::from_master(&key).map_err(explain)?;
    if from_env {
        // Shown before the data moves, so that a failure later cannot lose it.
        println!("new personal-data key (set LOUPAN_SECRET_KEY to it on every instance): {}", hex_key(&key));
    } else {
        std::fs::create_dir_all(&dir)?;
        write_private(&pending, &hex_key(&key)).with_context(|| format!("cannot write {}", pending.display()))?;
    }
    let rotated = secrets::rotate(&services, &next).await.map_err(explain)?;
    if !from_env {
        switch_key_files(&current, &pending)?;
    }
    println!(
        "re-encrypted {} ID numbers and {} webhook secrets under the new key",
        rotated.id_numbers, rotated.webhook_secrets
    );
    Ok(())
}

/// Retires the key file (kept, renamed with the time) and puts the pending key in its place.
fn switch_key_files(current: &std::path::Path, pending: &std::path::Path) -> Result<()> {
    if current.exists() {
        let retired = current.with_extension(format!("key.retired-{}", loupan_store::now().format("%Y%m%dT%H%M%S")));
        std::fs::rename(current, &retired)?;
        println!("the old key is kept at {} (delete it once backups made with it have expired)", retired.display());
    }
    std::fs::rename(pending, current)?;
    Ok(())
}

async fn backup(args: &StorageArgs, services: &Services, destination: &std::path::Path) -> Result<()> {
    if destination.exists() {
        bail!("{} already exists: back up into a new folder", destination.display());
    }
    std::fs::create_dir_all(destination).with_context(|| format!("cannot create {}", destination.display()))?;
    let target = std::fs::canonicalize(destination)?.join(BACKUP_DB);
    services.store.backup_sqlite_to(&target).await?;
    let key = args.data_dir.join("keys").join(KEY_FILE);
    if args.secret_key.is_none() && key.exists() {
        std::fs::copy(&key, destination.join(KEY_FILE)).with_context(|| format!("cannot copy {}", key.display()))?;
    }
    // Uploaded files (floor plans, photos, site plans, the notices' pictures),
    // from the folder or the bucket, are never changed in place, so copying
    // them after the database copy misses nothing it names.
    let into = loupan_service::platform::files::LocalFiles::new(destination.join("files"));
    let copied = loupan_service::platform::files::copy_all(services.files.as_ref(), &into)
        .await
        .context("cannot copy the uploaded files")?;
    let v = audit::verify(services, &Actor::system("backup")).await.map_err(explain)?;
    println!("{copied} uploaded files copied");
    println!(
        "backup written to {} ({} audit rows, chain {})",
        destination.display(),
        v.rows_checked,
        if v.broken.is_none() { "intact" } else { "BROKEN" }
    );
    if args.secret_key.is_some() {
        println!("the personal-data key comes from LOUPAN_SECRET_KEY: keep it with the backup");
    }
    Ok(())
}

async fn restore(args: &StorageArgs, source: &std::path::Path) -> Result<()> {
    if args.database_url.as_deref().is_some_and(|u| !u.starts_with("sqlite:")) {
        bail!("restore puts back a SQLite backup; for PostgreSQL use pg_restore");
    }
    let db = match &args.database_url {
        Some(url) => match loupan_store::database_kind(url)? {
            loupan_store::DatabaseKind::Sqlite { path } => PathBuf::from(path),
            loupan_store::DatabaseKind::Postgres => {
                bail!("restore puts back a SQLite backup; for PostgreSQL use pg_restore")
            }
        },
        None => args.data_dir.join(BACKUP_DB),
    };
    let backup_db = source.join(BACKUP_DB);
    if !backup_db.exists() {
        bail!("{} has no {BACKUP_DB}: not a Loupan backup", source.display());
    }
    if db.exists() {
        bail!("{} exists: restore only into an empty data folder (move the old one aside first)", db.display());
    }
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(&backup_db, &db).with_context(|| format!("cannot write {}", db.display()))?;
    let key = source.join(KEY_FILE);
    if key.exists() {
        let keys = args.data_dir.join("keys");
        std::fs::create_dir_all(&keys)?;
        std::fs::copy(&key, keys.join(KEY_FILE))?;
    }
    // Into the data folder or the bucket this installation is configured with.
    let from = loupan_service::platform::files::LocalFiles::new(source.join("files"));
    let copied = loupan_service::platform::files::copy_all(&from, file_store(args)?.as_ref())
        .await
        .context("cannot put the uploaded files back")?;
    println!("restored {} and {copied} uploaded files from {}", db.display(), source.display());
    Ok(())
}
