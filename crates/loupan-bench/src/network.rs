//! The network path with an open-loop load generator (issue 8's method). The
//! server is Loupan's router on a TCP port with its own runtime and its own
//! connection pool, as a separate process would have; the load is another
//! runtime sending requests at a fixed arrival rate, each from a task of its
//! own, so a slow server cannot slow the load down and hide its queueing (no
//! coordinated omission); how far sending lagged behind the schedule is
//! reported with the results, and each request is timed from its send. On a
//! machine with two or more cores, server and load run on threads pinned to
//! different cores (with `taskset`); the results say whether they were.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use loupan_service::platform::secrets::Secrets;
use loupan_service::{ServiceConfig, Services};
use loupan_store::Store;
use loupan_web::{AppState, WebConfig};

/// One stream of requests: a label, the paths to cycle through, requests per second.
pub struct Stream {
    pub label: String,
    pub paths: Vec<String>,
    pub rate: u32,
}

pub struct StreamResult {
    pub label: String,
    /// From when each request was due to its last byte.
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    pub errors: usize,
    /// How late the generator sent requests against the schedule (p99, max).
    pub p99_lag: Duration,
    pub max_lag: Duration,
    /// A closed loop's first request of each client, left out of `latencies`:
    /// it opens the client's connection and meets a server that has not yet
    /// prepared its statements or filled its caches.
    pub first: Vec<Duration>,
}

pub struct NetworkRun {
    pub streams: Vec<StreamResult>,
    /// Server and load each on their own core.
    pub pinned: bool,
}

/// Pins the calling thread to one core; false where that is not possible.
fn pin_current_thread(core: usize) -> bool {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else { return false };
    let Some(tid) = link.file_name().and_then(|t| t.to_str()).map(str::to_owned) else { return false };
    std::process::Command::new("taskset")
        .args(["-cp", &core.to_string(), &tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where the server and the load generator run on a machine of two or more cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The server on core 0 in a runtime of one thread (its SQLite
    /// connections' threads with it), the load on core 1: neither takes
    /// the other's processor, so the server has exactly one core.
    Pinned,
    /// The server as `loupan serve` runs it, a runtime worker per core, with
    /// the load and PostgreSQL beside it on every core, unpinned.
    Shared,
}

/// How the benchmark's server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    pub placement: Placement,
    /// False leaves SQLite's writers to its busy handler (before the queue).
    pub writer_queue: bool,
    /// False reads every request's session, user, roles and projects (before the cache).
    pub keep_actors: bool,
}

impl Setup {
    /// The server alone on one core, writers queued, actors kept.
    pub const PINNED: Setup = Setup { placement: Placement::Pinned, writer_queue: true, keep_actors: true };
}

/// Serves Loupan on 127.0.0.1 from a thread of its own, on a fresh pool to
/// `database_url`, until `stop` is dropped; returns the address, the server's
/// store (to count its statements) and whether the thread was pinned.
fn start_server(
    database_url: String,
    core: Option<usize>,
    setup: Setup,
) -> Result<((std::net::SocketAddr, Store), bool, tokio::sync::oneshot::Sender<()>)> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Named, so that a profile tells the server's threads from the load's.
    let server = std::thread::Builder::new().name("bench-server".into());
    server.spawn(move || {
        let pinned = setup.placement == Placement::Pinned && core.is_some_and(pin_current_thread);
        let runtime = match setup.placement {
            Placement::Pinned => tokio::runtime::Builder::new_current_thread().enable_all().build(),
            Placement::Shared => {
                tokio::runtime::Builder::new_multi_thread().thread_name("bench-server").enable_all().build()
            }
        };
        let runtime = match runtime {
            Ok(r) => r,
            Err(e) => return drop(ready_tx.send(Err(anyhow!(e)))),
        };
        runtime.block_on(async move {
            let started = async {
                let mut store = Store::connect(&database_url).await?;
                if !setup.writer_queue {
                    store = store.without_writer_queue();
                }
                let secrets = Secrets::from_master(&[7u8; 32]).map_err(|e| anyhow!("{e}"))?;
                let config = ServiceConfig { keep_actors: setup.keep_actors, ..ServiceConfig::default() };
                let services = Services::new(store.clone(), config, secrets);
                let router = loupan_web::app(AppState::new(services, WebConfig::default()));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                Ok::<_, anyhow::Error>((listener, router, store))
            };
            match started.await {
                Ok((listener, router, store)) => {
                    let address = listener.local_addr().map_err(|e| anyhow!(e));
                    let _ = ready_tx.send(address.map(|a| ((a, store), pinned)));
                    // As `loupan serve` does.
                    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                }
                Err(e) => drop(ready_tx.send(Err(e))),
            }
        });
    })?;
    let (address, pinned) = ready_rx.recv().context("the benchmark server did not start")??;
    Ok((address, pinned, stop_tx))
}

/// Runs each stream for `seconds` against a server of its own, one stream after another.
pub fn open_loop(database_url: &str, token: &str, streams: Vec<Stream>, seconds: u64) -> Result<NetworkRun> {
    let two_cores = std::thread::available_parallelism().map(|n| n.get() >= 2).unwrap_or(false);
    let ((address, _), server_pinned, stop) =
        start_server(database_url.to_owned(), two_cores.then_some(0), Setup::PINNED)?;
    let token = token.to_owned();
    let load =
        std::thread::Builder::new().name("bench-load".into()).spawn(move || -> Result<(Vec<StreamResult>, bool)> {
            let pinned = two_cores && pin_current_thread(1);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let results = runtime.block_on(async {
                let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
                let mut results = Vec::new();
                for stream in streams {
                    results.push(run_stream(&client, address, &token, stream, seconds).await?);
                }
                Ok::<_, anyhow::Error>(results)
            })?;
            Ok((results, pinned))
        })?;
    let (streams, load_pinned) = load.join().map_err(|_| anyhow!("the load generator panicked"))??;
    drop(stop);
    Ok(NetworkRun { streams, pinned: server_pinned && load_pinned })
}

async fn run_stream(
    client: &reqwest::Client,
    address: std::net::SocketAddr,
    token: &str,
    stream: Stream,
    seconds: u64,
) -> Result<StreamResult> {
    let total = usize::try_from(u64::from(stream.rate) * seconds)?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(stream.rate.max(1)));
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval * u32::try_from(i)?;
        tokio::time::sleep_until(due).await;
        let url = format!("http://{address}{}", stream.paths[i % stream.paths.len().max(1)]);
        let request = client.get(url).bearer_auth(token);
        tasks.spawn(async move {
            // The generator's own timer may wake a little after `due`; that lag is
            // reported apart, so it is not counted as the server's latency.
            let sent = tokio::time::Instant::now();
            let ok = match request.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (sent.elapsed(), sent - due, ok)
        });
    }
    let wall_start = Instant::now() - start.elapsed();
    let mut latencies = Vec::with_capacity(total);
    let mut lags = Vec::with_capacity(total);
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        let (latency, lag, ok) = done?;
        latencies.push(latency);
        lags.push(lag);
        if !ok {
            errors += 1;
        }
    }
    lags.sort();
    let max_lag = lags.last().copied().unwrap_or_default();
    let p99_lag = lags.get(lags.len().saturating_sub(1) * 99 / 100).copied().unwrap_or_default();
    Ok(StreamResult {
        label: stream.label,
        latencies,
        wall: wall_start.elapsed(),
        errors,
        p99_lag,
        max_lag,
        first: Vec::new(),
    })
}

/// One request of a closed loop: a GET, or a POST of a JSON body.
pub struct Request {
    pub path: String,
    pub body: Option<serde_json::Value>,
}

/// Requests sent by clients that each wait for an answer before their next
/// (a closed loop: a cashier does not post the next receipt before the last
/// one is saved), so the server sees exactly `clients` requests at once.
pub struct Clients {
    pub label: String,
    /// Dealt to the clients in turn.
    pub requests: Vec<Request>,
    pub clients: usize,
}

/// What a closed-loop run cost besides its time.
pub struct Cost {
    /// CPU of the server (Loupan's threads; on SQLite the database runs among them).
    pub server_cpu: Duration,
    /// CPU of PostgreSQL's processes (none on SQLite).
    pub database_cpu: Duration,
    /// Statements the server's store sent.
    pub statements: u64,
    /// CPU of the load generator (its one thread).
    pub load_cpu: Duration,
}

/// Runs each group of clients against a server of its own, one after another.
pub fn closed_loop(
    database_url: &str,
    token: &str,
    runs: Vec<Clients>,
    setup: Setup,
) -> Result<(NetworkRun, Vec<Cost>)> {
    let two_cores = std::thread::available_parallelism().map(|n| n.get() >= 2).unwrap_or(false);
    let placement = setup.placement;
    let ((address, store), server_pinned, stop) = start_server(database_url.to_owned(), two_cores.then_some(0), setup)?;
    let token = token.to_owned();
    let load = std::thread::Builder::new().name("bench-load".into()).spawn(
        move || -> Result<(Vec<(StreamResult, Cost)>, bool)> {
            let pinned = placement == Placement::Pinned && two_cores && pin_current_thread(1);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let results = runtime.block_on(async {
                let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
                let mut results = Vec::new();
                for run in runs {
                    let (process, load, database, statements) =
                        (process_cpu(), thread_cpu(), postgres_cpu(), store.statements_sent());
                    let result = run_clients(&client, address, &token, run).await?;
                    // The load generator's own CPU is this thread's; the rest of
                    // the process is the server.
                    let cost = Cost {
                        server_cpu: (process_cpu() - process).saturating_sub(thread_cpu() - load),
                        database_cpu: postgres_cpu().saturating_sub(database),
                        statements: store.statements_sent() - statements,
                        load_cpu: thread_cpu() - load,
                    };
                    results.push((result, cost));
                }
                Ok::<_, anyhow::Error>(results)
            })?;
            Ok((results, pinned))
        },
    )?;
    let (results, load_pinned) = load.join().map_err(|_| anyhow!("the load generator panicked"))??;
    drop(stop);
    let (streams, costs) = results.into_iter().unzip();
    Ok((NetworkRun { streams, pinned: server_pinned && load_pinned }, costs))
}

/// Whose CPU time a `/proc/.../stat` line is read for.
#[derive(Clone, Copy)]
enum Spent {
    /// The process's (or thread's) own.
    Own,
    /// Its own and that of its children that ended and were waited for.
    WithEndedChildren,
}

/// CPU time (user and system) in a `/proc/.../stat` line, counted in the
/// kernel's fixed 100 ticks a second.
fn cpu_of_stat(stat: &str, spent: Spent) -> Duration {
    // The command name in parentheses may hold spaces: count from after it.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default().split_whitespace().collect();
    let columns: &[usize] = match spent {
        Spent::Own => &[11, 12],
        Spent::WithEndedChildren => &[11, 12, 13, 14],
    };
    let ticks: u64 = columns.iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

fn process_cpu() -> Duration {
    std::fs::read_to_string("/proc/self/stat").map(|s| cpu_of_stat(&s, Spent::Own)).unwrap_or_default()
}

fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/stat").map(|s| cpu_of_stat(&s, Spent::Own)).unwrap_or_default()
}

/// CPU of every PostgreSQL process on this machine (the benchmark's database
/// is the only busy one while it runs), with the backends that have ended:
/// the postmaster waits for them, and the kernel adds their time to its
/// children's. A run's server closes its connections when it stops, so a sum
/// over the live processes alone would drop what their backends had spent
/// and could come out lower after a run than before it (read as 0 µs).
fn postgres_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Duration::ZERO };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .map(|s| cpu_of_stat(&s, Spent::WithEndedChildren))
        .sum()
}

async fn run_clients(
    client: &reqwest::Client,
    address: std::net::SocketAddr,
    token: &str,
    run: Clients,
) -> Result<StreamResult> {
    let clients = run.clients.max(1);
    let mut queues: Vec<Vec<Request>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, request) in run.requests.into_iter().enumerate() {
        queues[i % clients].push(request);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for requests in queues {
        let (client, token) = (client.clone(), token.to_owned());
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(requests.len());
            let mut errors = 0;
            for request in requests {
                let url = format!("http://{address}{}", request.path);
                let call = match request.body {
                    Some(body) => client.post(url).header("content-type", "application/json").body(body.to_string()),
                    None => client.get(url),
                };
                let sent = Instant::now();
                let ok = match call.bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                samples.push(sent.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (samples, errors)
        });
    }
    let (mut latencies, mut first, mut errors) = (Vec::new(), Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (samples, failed) = done?;
        let mut samples = samples.into_iter();
        first.extend(samples.next());
        latencies.extend(samples);
        errors += failed;
    }
    Ok(StreamResult {
        label: run.label,
        latencies,
        wall: started.elapsed(),
        errors,
        p99_lag: Duration::ZERO,
        max_lag: Duration::ZERO,
        first,
    })
}
