//! Crash test: the real server under write traffic (customers registered,
//! units subscribed, deposits received), killed with SIGKILL at random moments
//! and started again, many times. Every write the server acknowledged (a 201
//! that reached the client) must be there after the restart, and at the end
//! the database must pass its integrity check, no unit may have two active
//! deals, allocations must equal what each instalment counts as paid, and the
//! audit chain must verify.
//!
//! `LOUPAN_CRASH_ITERATIONS` sets the number of kills (50 by default, 200 in
//! CI, 1,000 for the long run in the README); `LOUPAN_TEST_DATABASE_URL` runs
//! it on PostgreSQL.
//!
//! The power-loss variant (50 cuts by default, and a control of up to 20 that stops at its first loss;
//! `LOUPAN_POWERLOSS_CUTS` for more; it needs a C compiler, which CI installs,
//! and is skipped without one unless `LOUPAN_REQUIRE_POWERLOSS` is set) runs
//! the server on SQLite through a fault-injecting
//! file layer (`powerloss/lossy.c`, LD_PRELOAD) and, after each kill, throws
//! away every write that was not fsynced — all of them, or all but a random
//! first part — as a power cut would, before starting the server again.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Crash-admin-pass-1";
const DEMO_PASSWORD: &str = "Crash-demo-pass-1";

struct Server {
    dir: std::path::PathBuf,
    database_url: Option<String>,
    port: u16,
    /// The fault-injecting file layer the server runs on, for the power-loss test.
    lossy: Option<Lossy>,
}

/// The shared library of `powerloss/lossy.c` and the folder of its undo logs.
struct Lossy {
    library: std::path::PathBuf,
    logs: std::path::PathBuf,
    /// The control run: fsync is acknowledged and does nothing.
    fsync_lies: bool,
}

impl Server {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loupan"));
        cmd.args(args)
            .env("LOUPAN_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("LOUPAN_DATA_DIR", &self.dir)
            .env("LOUPAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LOUPAN_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LOUPAN_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match &self.database_url {
            Some(url) => cmd.env("LOUPAN_DATABASE_URL", url),
            None => cmd.env_remove("LOUPAN_DATABASE_URL"),
        };
        cmd
    }

    fn start(&self) -> Child {
        self.try_start().expect("server did not start")
    }

    /// The server, or None if it exited before it listened (it refused the
    /// database: after a lying disk's power cut, a file SQLite finds malformed).
    fn try_start(&self) -> Option<Child> {
        let mut serve = self.command(&["serve"]);
        if let Some(lossy) = &self.lossy {
            serve
                .env("LD_PRELOAD", &lossy.library)
                .env("LOUPAN_LOSSY_DIR", std::fs::canonicalize(&self.dir).unwrap())
                .env("LOUPAN_LOSSY_LOG", &lossy.logs);
            if lossy.fsync_lies {
                serve.env("LOUPAN_LOSSY_FSYNC_LIES", "1");
            }
        }
        let mut child = serve.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if child.try_wait().unwrap().is_some() {
                return None;
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(child)
    }
}

/// A small deterministic generator for the kill moments.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// What the server acknowledged: (kind, id).
type Acks = Arc<Mutex<Vec<(&'static str, String)>>>;

/// Signs in through the API; the session's bearer token.
pub(crate) async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(json!({"username": username, "password": password}).to_string())
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Option<Value> {
    let r = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    if r.status().as_u16() != 201 {
        return None;
    }
    // Only a response read to its end is an acknowledgement.
    serde_json::from_str(&r.text().await.ok()?).ok()
}

struct Traffic {
    base: String,
    agent: String,
    cashier: String,
    project: String,
    method: String,
}

/// Registers customers, subscribes units for them and records deposits, until aborted.
async fn write_traffic(t: Arc<Traffic>, units: Arc<Mutex<Vec<(String, String)>>>, acks: Acks, seq: u64) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for n in 0.. {
        let phone = format!("139{:08}", (seq * 10_000 + n) % 100_000_000);
        let body = json!({"name": format!("压测{seq}-{n}"), "phone": phone, "project_id": t.project});
        let Some(c) = post(&client, format!("{}/api/v1/customers", t.base), &t.agent, body).await else { continue };
        let customer = c["id"].as_str().unwrap().to_owned();
        acks.lock().unwrap().push(("customer", customer.clone()));
        let unit = units.lock().unwrap().pop();
        let Some((unit, price)) = unit else { continue };
        let body = json!({"unit_id": unit, "customer_id": customer, "total_price": price, "deposit": "20000.00",
                          "payment_method_id": t.method, "subscribed_on": "2026-11-27"});
        let Some(s) = post(&client, format!("{}/api/v1/sales/subscriptions", t.base), &t.agent, body).await else {
            continue;
        };
        let subscription = s["id"].as_str().unwrap().to_owned();
        acks.lock().unwrap().push(("subscription", subscription.clone()));
        let body = json!({"subscription_id": subscription, "amount": "20000.00", "received_on": "2026-11-27", "channel": "pos"});
        if let Some(r) = post(&client, format!("{}/api/v1/finance/receipts", t.base), &t.cashier, body).await {
            acks.lock().unwrap().push(("receipt", r["id"].as_str().unwrap().to_owned()));
        }
    }
}

fn path_of(kind: &str, id: &str) -> String {
    match kind {
        "customer" => format!("/api/v1/customers/{id}"),
        "subscription" => format!("/api/v1/sales/subscriptions/{id}"),
        _ => format!("/api/v1/finance/receipts/{id}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_the_invariants_hold() {
    let iterations: u64 = std::env::var("LOUPAN_CRASH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let pg = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let run = kill_and_restart(iterations, pg.clone(), None).await;
    assert!(run.lost.is_empty(), "acknowledged writes lost: {:?}", run.lost);
    let line = format!(
        "crash harness ({}): {iterations} SIGKILL iterations, {} acknowledged writes checked, 4 invariants hold",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        run.checked
    );
    eprintln!("{line}");
    crate::ci_summary(&line);
}

/// Power cuts on SQLite: after each kill every write not yet fsynced is thrown
/// away (every other iteration all of them, else all but a random first part of
/// each file's). Nothing acknowledged may be lost. Then the control: the same
/// with a disk that acknowledges fsync and keeps nothing must lose acknowledged
/// writes (it stops at the first), or the layer is not doing its work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_loss_keeps_every_acknowledged_write() {
    if std::env::var("LOUPAN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("power loss is a test of SQLite's files; it ran in the SQLite suite");
        return;
    }
    let iterations: u64 = std::env::var("LOUPAN_POWERLOSS_CUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let build = std::env::temp_dir().join(format!("loupan-lossy-{}", std::process::id()));
    std::fs::create_dir_all(&build).unwrap();
    let library = build.join("lossy.so");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/process/powerloss/lossy.c");
    let cc = Command::new("cc").args(["-shared", "-fPIC", "-O2", "-o"]).arg(&library).arg(source).arg("-ldl").status();
    if !cc.is_ok_and(|s| s.success()) {
        // A machine without a C compiler cannot build the fault-injecting layer; CI has one.
        assert!(std::env::var("LOUPAN_REQUIRE_POWERLOSS").is_err(), "cc could not build the fault-injecting layer");
        eprintln!("power loss skipped: no C compiler (install gcc to run it)");
        return;
    }
    let lossy = |fsync_lies| Lossy { library: library.clone(), logs: build.join("logs"), fsync_lies };

    let run = kill_and_restart(iterations, None, Some(lossy(false))).await;
    assert!(run.lost.is_empty(), "acknowledged writes lost to a power cut: {:?}", run.lost);
    assert!(run.dropped_writes > 0, "no unsynced write was ever dropped: the layer is not in the server");
    let control = kill_and_restart(iterations.min(20), None, Some(lossy(true))).await;
    assert!(
        !control.lost.is_empty() || control.refused,
        "with fsync lying, nothing acknowledged was lost and the database was never refused: the test cannot see loss"
    );
    let _ = std::fs::remove_dir_all(&build);
    let line = format!(
        "power loss (SQLite, synchronous=FULL): {iterations} cuts, {} acknowledged writes checked, none lost; \
         {} unsynced writes ({} bytes) dropped; 4 invariants hold. Control with fsync lying: {} cuts, {} of {} \
         acknowledged writes lost{}.",
        run.checked,
        run.dropped_writes,
        run.dropped_bytes,
        control.cuts,
        control.lost.len(),
        control.checked,
        if control.refused { ", and the database found damaged (detected loss)" } else { "" }
    );
    eprintln!("{line}");
    crate::ci_summary(&line);
}

/// What a run of kills found.
struct Run {
    /// Kills made (fewer than asked when the database was refused).
    cuts: u64,
    /// The server refused the database after a cut, or it failed the integrity
    /// check at the end (only a lying disk may cause either).
    refused: bool,
    checked: usize,
    /// Acknowledged writes missing after a restart: (iteration, kind, id).
    lost: Vec<(u64, &'static str, String)>,
    dropped_writes: usize,
    dropped_bytes: u64,
}

/// Demo data, then `iterations` times: write traffic, SIGKILL at a random
/// moment, (with `lossy`) a power cut, restart, and every acknowledged write
/// read back. At the end the invariants and the audit chain. The control run
/// of the power-loss test expects losses, so they are returned, not asserted.
async fn kill_and_restart(iterations: u64, pg: Option<String>, lossy: Option<Lossy>) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "loupan-crash-{}-{}",
        std::process::id(),
        lossy.as_ref().map_or("kill", |l| if l.fsync_lies { "control" } else { "power" })
    ));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(l) = &lossy {
        let _ = std::fs::remove_dir_all(&l.logs);
        std::fs::create_dir_all(&l.logs).unwrap();
    }
    let name = format!("loupan_crash_{}", std::process::id());
    let database_url = match &pg {
        Some(server) => {
            loupan_store::admin::create_postgres_database(server, &name).await.unwrap();
            Some(loupan_store::admin::with_database(server, &name))
        }
        None => None,
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server { dir: dir.clone(), database_url: database_url.clone(), port, lossy };
    assert!(server.command(&["demo"]).status().unwrap().success(), "demo data");
    let base = format!("http://127.0.0.1:{port}");
    // Sign in once: sessions live in the database and survive the kills.
    let mut child = server.start();
    let client = reqwest::Client::new();
    let agent = login(&client, &base, "liqiang", DEMO_PASSWORD).await;
    let cashier = login(&client, &base, "chenjing", DEMO_PASSWORD).await;
    let get = |path: String, token: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
            (r.status().as_u16(), serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap_or(Value::Null))
        }
    };
    let (_, projects) = get("/api/v1/projects".into(), agent.clone()).await;
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, methods) = get(format!("/api/v1/projects/{project}/payment-methods"), agent.clone()).await;
    let method = methods["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, free) = get(format!("/api/v1/units?project_id={project}&status=available&limit=500"), agent.clone()).await;
    let units: Vec<(String, String)> = free["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_owned(), u["list_price"].as_str().unwrap().to_owned()))
        .collect();
    let units = Arc::new(Mutex::new(units));
    let traffic = Arc::new(Traffic { base: base.clone(), agent: agent.clone(), cashier, project, method });

    let mut rng = Lcg(0x5EED);
    let mut run = Run { cuts: 0, refused: false, checked: 0, lost: Vec::new(), dropped_writes: 0, dropped_bytes: 0 };
    for i in 0..iterations {
        let acks: Acks = Arc::default();
        let writer = tokio::spawn(write_traffic(traffic.clone(), units.clone(), acks.clone(), i));
        // Cut while writes are flowing: after the first one was acknowledged (on
        // a busy machine the server may take a while to answer after a restart,
        // and a cut before any traffic would prove nothing), then at a random moment.
        let flowing = std::time::Instant::now() + Duration::from_secs(10);
        while acks.lock().unwrap().is_empty() && std::time::Instant::now() < flowing {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(30 + rng.below(300))).await;
        child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        child.wait().unwrap();
        writer.abort();
        let _ = writer.await;
        if let Some(l) = &server.lossy {
            let (writes, bytes) = undo_unsynced(&l.logs, &mut rng, i % 2 == 1);
            run.dropped_writes += writes;
            run.dropped_bytes += bytes;
        }
        run.cuts += 1;
        child = match server.try_start() {
            Some(child) => child,
            // Only the control's lying disk may corrupt the file; anywhere else it fails the test.
            None if server.lossy.as_ref().is_some_and(|l| l.fsync_lies) => {
                run.refused = true;
                let _ = std::fs::remove_dir_all(&dir);
                return run;
            }
            None => panic!("server did not start after cut {i}"),
        };
        let acked = acks.lock().unwrap().clone();
        for (kind, id) in acked {
            // Receipts are read by the cashier who recorded them, the rest by the agent.
            let token = if kind == "receipt" { traffic.cashier.clone() } else { agent.clone() };
            let (status, _) = get(path_of(kind, &id), token).await;
            if status != 200 {
                run.lost.push((i, kind, id));
            }
            run.checked += 1;
        }
        if server.lossy.as_ref().is_some_and(|l| l.fsync_lies) && !run.lost.is_empty() {
            // The control has shown that the test sees loss. Its lost sessions would
            // refuse every later write, so further cuts would only wait for acknowledgements.
            child.kill().unwrap();
            child.wait().unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            return run;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some(l) = &server.lossy {
        undo_unsynced(&l.logs, &mut rng, false);
    }

    // The invariants, on the database as the last kill left it.
    let url = database_url.clone().unwrap_or_else(|| format!("sqlite://{}/loupan.db", dir.display()));
    if server.lossy.as_ref().is_some_and(|l| l.fsync_lies) {
        // The control's lying disk may leave a file SQLite finds damaged: that is
        // loss detected, which the control exists to show, not a failure.
        let store = loupan_store::Store::connect(&url).await.unwrap();
        let sound = store.integrity_ok().await.unwrap_or(false);
        store.close().await.unwrap();
        if !sound {
            run.refused = true;
            let _ = std::fs::remove_dir_all(&dir);
            return run;
        }
    }
    if lossy_run(&server) {
        eprintln!("power-loss run: checking the invariants after {} cuts", run.cuts);
    }
    assert_invariants(&url).await;
    let verify = server.command(&["audit", "verify"]).status().unwrap();
    assert!(verify.success(), "the audit chain does not verify");
    if let Some(server_url) = &pg {
        loupan_store::admin::drop_postgres_database(server_url, &name).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// The power cut: plays each file's undo log backwards, so that the file holds
/// what it held at its last fsync — plus, with `keep_some`, a random first part
/// of the writes since (written in order, the rest still in the page cache).
/// Returns the writes dropped and the bytes they had written over.
fn undo_unsynced(logs: &std::path::Path, rng: &mut Lcg, keep_some: bool) -> (usize, u64) {
    use std::os::unix::fs::FileExt;
    let (mut writes, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(logs).unwrap() {
        let log = entry.unwrap().path();
        let Some(name) = log.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".undo")) else {
            continue;
        };
        let target = std::path::PathBuf::from(name.replace('%', "/"));
        let data = std::fs::read(&log).unwrap();
        // Records: offset, size before, n, then the n bytes that were there. A record cut
        // short by the kill belongs to a write that never happened.
        let mut records = Vec::new();
        let mut at = 0;
        let word = |i: usize| u64::from_ne_bytes(data[i..i + 8].try_into().unwrap());
        while at + 24 <= data.len() {
            let (offset, size, n) = (word(at), word(at + 8), usize::try_from(word(at + 16)).unwrap());
            if at + 24 + n > data.len() {
                break;
            }
            records.push((offset, size, &data[at + 24..at + 24 + n]));
            at += 24 + n;
        }
        let kept = if keep_some { usize::try_from(rng.below(records.len() as u64 + 1)).unwrap() } else { 0 };
        if let Ok(file) = std::fs::OpenOptions::new().write(true).open(&target) {
            for (offset, size, old) in records[kept..].iter().rev() {
                file.set_len(*size).unwrap();
                file.write_all_at(old, *offset).unwrap();
                writes += 1;
                bytes += old.len() as u64;
            }
            file.sync_all().unwrap();
        }
        std::fs::remove_file(&log).unwrap();
    }
    (writes, bytes)
}

fn lossy_run(server: &Server) -> bool {
    server.lossy.as_ref().is_some_and(|l| !l.fsync_lies)
}

/// The invariants every test here checks, on a database given by URL: the
/// integrity check, one active deal per unit, allocations equal to what is paid.
async fn assert_invariants(url: &str) {
    let store = loupan_store::Store::connect(url).await.unwrap();
    assert!(store.integrity_ok().await.unwrap(), "integrity check failed");
    let rows = |sql: &'static str| {
        let store = store.clone();
        async move { loupan_store::raw::query_count(store.conn(), sql, Vec::new()).await.unwrap() }
    };
    assert_eq!(
        rows("SELECT unit_id FROM subscriptions WHERE status = 'active' GROUP BY unit_id HAVING COUNT(*) > 1").await,
        0,
        "a unit with two active subscriptions"
    );
    assert_eq!(
        rows("SELECT s.unit_id FROM subscriptions s JOIN contracts k ON k.unit_id = s.unit_id WHERE s.status = 'active' AND k.status = 'active'").await,
        0,
        "a unit both subscribed and contracted"
    );
    assert_eq!(
        rows("SELECT i.id FROM instalments i LEFT JOIN (SELECT instalment_id, SUM(amount) AS s FROM receipt_allocations GROUP BY instalment_id) a ON a.instalment_id = i.id WHERE i.paid <> COALESCE(a.s, 0)").await,
        0,
        "allocations differ from what instalments count as paid"
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_traffic_restores_to_a_sound_database() {
    if std::env::var("LOUPAN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        // `loupan backup` copies SQLite; PostgreSQL is backed up with pg_dump (README).
        return;
    }
    let dir = std::env::temp_dir().join(format!("loupan-backup-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server { dir: dir.join("live"), database_url: None, port, lossy: None };
    std::fs::create_dir_all(&server.dir).unwrap();
    assert!(server.command(&["demo"]).status().unwrap().success());
    let mut child = server.start();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let agent = login(&client, &base, "liqiang", DEMO_PASSWORD).await;
    let cashier = login(&client, &base, "chenjing", DEMO_PASSWORD).await;
    let projects: Value = serde_json::from_str(
        &client.get(format!("{base}/api/v1/projects")).bearer_auth(&agent).send().await.unwrap().text().await.unwrap(),
    )
    .unwrap();
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    let methods: Value = serde_json::from_str(
        &client
            .get(format!("{base}/api/v1/projects/{project}/payment-methods"))
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let method = methods["items"][0]["id"].as_str().unwrap().to_owned();
    let traffic = Arc::new(Traffic { base: base.clone(), agent, cashier, project, method });
    let acks: Acks = Arc::default();
    let writer = tokio::spawn(write_traffic(traffic, Arc::default(), acks.clone(), 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The backup runs while the server keeps writing.
    let backup = dir.join("backup");
    let out = server.command(&["backup", backup.to_str().unwrap()]).status().unwrap();
    assert!(out.success(), "backup under load");
    let before_backup = acks.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    writer.abort();
    let _ = writer.await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(before_backup > 0, "the backup was taken while writes were acknowledged");
    // Restored into an empty folder, the copy is sound and its audit chain verifies.
    let restored = Server { dir: dir.join("restored"), database_url: None, port, lossy: None };
    std::fs::create_dir_all(&restored.dir).unwrap();
    assert!(restored.command(&["restore", backup.to_str().unwrap()]).status().unwrap().success());
    assert_invariants(&format!("sqlite://{}/loupan.db", restored.dir.display())).await;
    assert!(restored.command(&["audit", "verify"]).status().unwrap().success(), "restored audit chain");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real SMTP server (aiosmtpd, `tests/smtp/receiver.py`) that takes
/// `delay_ms` over each message; None where python3-aiosmtpd is missing.
fn smtp_receiver(out: &std::path::Path, delay_ms: u32) -> Option<(Child, u16)> {
    use std::io::BufRead;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/receiver.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(out)
        .arg(delay_ms.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).ok()?;
    match line.strip_prefix("listening ").and_then(|p| p.trim().parse().ok()) {
        Some(port) => Some((child, port)),
        None => {
            let _ = child.kill();
            None
        }
    }
}

/// The messages the receiver accepted, in order.
fn received(out: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(out).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// An e-mail batch with the server killed (SIGKILL) in the middle: after the
/// restart the job is taken up again once its lease runs out and finishes;
/// every recipient got their message, and the only one that can arrive twice
/// is the one in flight at the kill, carrying the same Message-ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_batch_killed_mid_way_reaches_everyone_once() {
    let dir = std::env::temp_dir().join(format!("loupan-crash-{}-mail", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("received.jsonl");
    let Some((mut smtp, smtp_port)) = smtp_receiver(&out, 40) else {
        assert!(std::env::var("LOUPAN_REQUIRE_SMTP").as_deref() != Ok("1"), "CI needs python3-aiosmtpd");
        eprintln!("skipped: no python3-aiosmtpd");
        return;
    };
    let pg = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let name = format!("loupan_crash_mail_{}", std::process::id());
    let database_url = match &pg {
        Some(server) => {
            loupan_store::admin::create_postgres_database(server, &name).await.unwrap();
            Some(loupan_store::admin::with_database(server, &name))
        }
        None => None,
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server { dir: dir.clone(), database_url, port, lossy: None };
    assert!(server.command(&["demo"]).status().unwrap().success(), "demo data");
    let mut child = server.start();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let admin = login(&client, &base, "admin", ADMIN_PASSWORD).await;
    let agent = login(&client, &base, "liqiang", DEMO_PASSWORD).await;
    let call = |method: reqwest::Method, path: String, token: String, body: Option<Value>| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let mut r = client.request(method, format!("{base}{path}")).bearer_auth(token);
            if let Some(body) = body {
                r = r.header("content-type", "application/json").body(body.to_string());
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap_or(Value::Null))
        }
    };
    let (_, projects) = call(reqwest::Method::GET, "/api/v1/projects".into(), agent.clone(), None).await;
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    let mut customers = Vec::new();
    for i in 0..60 {
        let body = json!({"name": format!("邮件客户{i}"), "phone": format!("1390000{i:04}"),
                          "email": format!("c{i}@example.cn"), "project_id": project});
        let (status, c) = call(reqwest::Method::POST, "/api/v1/customers".into(), agent.clone(), Some(body)).await;
        assert_eq!(status, 201, "{c}");
        customers.push(c["id"].as_str().unwrap().to_owned());
    }
    let smtp_settings = json!({"host": "127.0.0.1", "port": smtp_port, "security": "none",
                               "sender_name": "翠湖名苑 客户服务中心", "sender_address": "service@example.cn"});
    let (status, _) =
        call(reqwest::Method::PUT, "/api/v1/notices/smtp".into(), admin.clone(), Some(smtp_settings)).await;
    assert_eq!(status, 200);
    let template = json!({"kind": "free", "channel": "email", "name": "服务通知", "subject": "{{ customer.name }}，您好",
                          "body": "尊敬的 {{ customer.name }}：\n\n物业服务中心将于下周一起延长服务时间。"});
    let (status, t) =
        call(reqwest::Method::POST, "/api/v1/notices/templates".into(), admin.clone(), Some(template)).await;
    assert_eq!(status, 201, "{t}");
    let batch = json!({"template_id": t["id"], "project_id": project,
                       "audience": {"source": "customers", "customer_ids": customers}});
    let (status, b) = call(reqwest::Method::POST, "/api/v1/notices/batches".into(), admin.clone(), Some(batch)).await;
    assert_eq!(status, 202, "{b}");
    let batch_id = b["id"].as_str().unwrap().to_owned();

    // Killed once a third has gone.
    let deadline = Instant::now() + Duration::from_secs(60);
    while received(&out).len() < 20 {
        assert!(Instant::now() < deadline, "the batch did not start sending");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = received(&out).len();
    assert!(at_kill < 60, "killed before the end");
    let mut child = server.start();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let (_, b) =
            call(reqwest::Method::GET, format!("/api/v1/notices/batches/{batch_id}"), admin.clone(), None).await;
        if b["status"] == "done" {
            break b;
        }
        assert!(Instant::now() < deadline, "the batch did not finish after the restart: {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((done["sent"].as_i64(), done["failed"].as_i64()), (Some(60), Some(0)), "{done}");
    let (_, log) =
        call(reqwest::Method::GET, format!("/api/v1/notices/batches/{batch_id}/recipients"), admin.clone(), None).await;
    let mut expected: Vec<String> =
        log.as_array().unwrap().iter().map(|r| format!("<{}@loupan>", r["id"].as_str().unwrap())).collect();
    expected.sort();
    let mail = received(&out);
    let mut ids: Vec<String> = mail.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    let repeats = ids.len() - {
        let mut distinct = ids.clone();
        distinct.dedup();
        assert_eq!(distinct, expected, "every recipient's message arrived, and no other");
        distinct.len()
    };
    assert!(repeats <= 1, "only the message in flight at the kill may arrive twice: {repeats} repeats");
    for m in &mail {
        assert_eq!(m["envelope_to"].as_array().unwrap().len(), 1, "each recipient addressed alone: {m}");
    }
    let line = format!(
        "e-mail batch killed mid-way ({}): 60 recipients, {at_kill} sent before the kill, all reached, {repeats} repeated",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    eprintln!("{line}");
    crate::ci_summary(&line);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = smtp.kill();
    let _ = smtp.wait();
    if let Some(server_url) = &pg {
        loupan_store::admin::drop_postgres_database(server_url, &name).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
