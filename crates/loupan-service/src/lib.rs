//! Loupan's use cases. Every public operation takes the acting user first and
//! checks their right and data scope here, so that pages, the JSON API, the CLI
//! and background jobs can never disagree about who may do what.

// The foundations every area uses.
pub mod actor;
pub mod clock;
pub mod error;
pub mod platform;

// The business areas, each a folder (or a file while it is one): they call the
// platform and the areas below them, never back up (`.ci/module-cycles`).
pub mod aftersales;
pub mod approvals;
pub mod cases;
pub mod changes;
pub mod cost;
pub mod customers;
pub mod finance;
pub mod inventory;
pub mod notices;
pub mod questionnaires;
pub mod reception;
pub mod sales;

// Above the areas: what spans them.
pub mod demo;
pub mod handlers;
pub mod workbench;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use loupan_store::Store;

pub use actor::Actor;
pub use clock::Clock;
pub use error::{ServiceError, ServiceResult};
pub use loupan_store::StoreError;

/// Session lifetimes and login throttling; the defaults suit a sales office.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// A browser session ends after this long without a request.
    pub idle_timeout: Duration,
    /// A browser session ends this long after login, however active.
    pub absolute_timeout: Duration,
    /// Lifetime of a bearer token issued to a program.
    pub token_lifetime: Duration,
    /// Failed logins for one username within `lockout_window` before refusing more.
    pub max_failed_logins: usize,
    pub lockout_window: Duration,
    /// Internal networks webhooks may be sent to (public addresses always may).
    pub webhook_allow: Vec<platform::outbound::Network>,
    /// Where customers reach Loupan from outside (`https://crm.example.com`):
    /// marketing e-mails carry an unsubscribe link under it; none without it.
    pub public_url: Option<String>,
    /// Keep the actors of recent session tokens in memory (`platform::actors`);
    /// off, every request reads its session, user, roles and projects.
    pub keep_actors: bool,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(2 * 3600),
            absolute_timeout: Duration::from_secs(12 * 3600),
            token_lifetime: Duration::from_secs(30 * 24 * 3600),
            max_failed_logins: 5,
            lockout_window: Duration::from_secs(15 * 60),
            webhook_allow: Vec::new(),
            public_url: None,
            keep_actors: true,
        }
    }
}

/// The services over one database, shared by every request.
#[derive(Clone, Debug)]
pub struct Services {
    pub store: Store,
    pub config: ServiceConfig,
    pub secrets: Arc<platform::secrets::Secrets>,
    pub live: Arc<platform::live::LiveUpdates>,
    /// The actors of recent session tokens (`platform::actors`).
    pub actors: Arc<platform::actors::ActorCache>,
    /// Progress of the long jobs running in this process (see `jobs::Progress`).
    pub progress: Arc<platform::jobs::LiveProgress>,
    /// Where uploaded files live (a local folder unless replaced).
    pub files: Arc<dyn platform::files::FileStore>,
    /// Now and today in the company's time zone; tests set it.
    pub clock: Clock,
    /// Draining and stopping on SIGTERM (`/readyz`, streams, the job worker).
    pub lifecycle: Arc<platform::lifecycle::Lifecycle>,
    /// What approval decisions and jobs do in their modules (`handlers`).
    pub(crate) handlers: handlers::Handlers,
}

impl Services {
    pub fn new(store: Store, config: ServiceConfig, secrets: platform::secrets::Secrets) -> Self {
        // A folder of its own per process until the caller says where files belong.
        let files =
            platform::files::LocalFiles::new(std::env::temp_dir().join(format!("loupan-files-{}", std::process::id())));
        Self {
            actors: Arc::new(platform::actors::ActorCache::for_store(&store, config.keep_actors)),
            store,
            config,
            secrets: Arc::new(secrets),
            live: Arc::default(),
            progress: Arc::default(),
            files: Arc::new(files),
            clock: Clock::default(),
            lifecycle: Arc::default(),
            handlers: handlers::Handlers::default(),
        }
    }

    /// Uses `clock` for now and today (another time zone, or a set time in tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `files` for uploaded files (the server passes `LOUPAN_DATA_DIR/files`).
    pub fn with_files(mut self, files: Arc<dyn platform::files::FileStore>) -> Self {
        self.files = files;
        self
    }
}

/// A future the engines get back from a callback (`handlers`).
/// Says a text of Loupan's by its translation key in the reader's language.
/// What the service writes for people to read outside a page (spreadsheet
/// headers and totals) names its texts by key and is handed the web's
/// translations through this.
pub type Say<'a> = &'a dyn Fn(&str) -> String;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Random bytes as lowercase hex, for tokens and generated passwords.
pub(crate) fn random_hex(bytes: usize) -> ServiceResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| ServiceError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
