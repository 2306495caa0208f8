//! Heavy reports on a real PostgreSQL streaming replica: the test makes a
//! primary cluster of its own (initdb), a replica of it (pg_basebackup) on
//! another port, and a Loupan on the primary with `LOUPAN_REPLICA_URL`. The
//! ageing report and the contract ledger read the replica and say how far
//! behind it was; with the replica's replay paused behind a write they read
//! the primary and say the replica is behind; with the replica stopped they
//! read the primary and say it did not answer; and the page says so too.
//!
//! Runs in the PostgreSQL suite (`LOUPAN_TEST_DATABASE_URL`), where the
//! server's programs are installed; as root it runs them as `postgres`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, wait_for_port};

const DEMO_PASSWORD: &str = "Replica-demo-pass-1";

/// PostgreSQL's own programs (`pg_config --bindir`).
fn bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.join("initdb").exists().then_some(dir)
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Two clusters in a folder of the test's, stopped and removed when dropped.
struct Clusters {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    primary_port: u16,
    replica_port: u16,
}

impl Clusters {
    /// A PostgreSQL program, as the `postgres` user when the test runs as root.
    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.pg(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn data(&self, which: &str) -> String {
        self.dir.join(which).display().to_string()
    }

    fn start(&self, which: &str) {
        let log = self.dir.join(format!("{which}.log")).display().to_string();
        self.run("pg_ctl", &["-D", &self.data(which), "-l", &log, "-w", "-t", "60", "start"]);
    }

    fn stop(&self, which: &str) {
        let _ = self.pg("pg_ctl").args(["-D", &self.data(which), "-m", "immediate", "-w", "stop"]).output();
    }

    fn url(&self, port: u16, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{database}")
    }

    fn make(bin: PathBuf) -> Clusters {
        let dir = std::env::temp_dir().join(format!("loupan-replica-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sockets")).unwrap();
        let as_postgres = running_as_root();
        let clusters = Clusters { dir, bin, as_postgres, primary_port: free_port(), replica_port: free_port() };
        if as_postgres {
            let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&clusters.dir).status().unwrap();
            assert!(chown.success());
        }
        let primary = clusters.data("primary");
        clusters.run("initdb", &["-D", &primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-N"]);
        // Its own port and socket folder, replication allowed (initdb's pg_hba
        // lets local replication connections in with trust), and fast rather than durable.
        let settings = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nwal_level = replica\n\
             max_wal_senders = 4\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            clusters.primary_port,
            clusters.dir.join("sockets").display()
        );
        append(&Path::new(&primary).join("postgresql.conf"), &settings);
        clusters.start("primary");
        let replica = clusters.data("replica");
        let port = clusters.primary_port.to_string();
        clusters.run(
            "pg_basebackup",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D", &replica, "-R", "-X", "stream"],
        );
        append(
            &Path::new(&replica).join("postgresql.conf"),
            &format!("port = {}\nhot_standby = on\n", clusters.replica_port),
        );
        clusters.start("replica");
        clusters
    }
}

/// Appends to a cluster's file (written as root, it stays readable by `postgres`).
fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

impl Drop for Clusters {
    fn drop(&mut self) {
        self.stop("replica");
        self.stop("primary");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> (u16, Value) {
    let r = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

/// The heavy reports besides ageing and the ledger: (API, page) of each.
fn heavy_reports(questionnaire: &str) -> Vec<(String, String)> {
    [
        ("/api/v1/finance/reports/arrears", "/finance/arrears"),
        ("/api/v1/finance/reports/reconciliation", "/finance/reconciliation"),
        ("/api/v1/service/reports/sla", "/service/reports"),
        ("/api/v1/service/surveys/report", "/service/surveys"),
        ("/api/v1/customers/cross-analysis?rows=grade&columns=source", "/customers/cross-analysis"),
        ("/api/v1/cost/group/dynamic-cost", "/cost"),
    ]
    .into_iter()
    .map(|(api, page)| (api.to_owned(), page.to_owned()))
    .chain([
        (
            format!("/api/v1/questionnaires/{questionnaire}/analysis"),
            format!("/questionnaires/{questionnaire}/analysis"),
        ),
        (
            format!("/api/v1/questionnaires/{questionnaire}/cross-analysis?rows=grade&columns=project"),
            format!("/questionnaires/{questionnaire}/analysis"),
        ),
    ])
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_read_the_replica_and_say_so_and_fall_back_when_it_is_behind_or_down() {
    if std::env::var("LOUPAN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        // The PostgreSQL suite: the server's programs are here.
    } else {
        eprintln!("the read replica is a PostgreSQL test; skipped on SQLite");
        return;
    }
    let Some(bin) = bindir() else {
        assert!(std::env::var("LOUPAN_REQUIRE_DEPLOY_TOOLS").is_err(), "PostgreSQL's programs (initdb) are required");
        eprintln!("PostgreSQL's server programs are not installed; skipped");
        return;
    };
    let clusters = Clusters::make(bin);
    let name = "loupan_replica";
    let primary_admin = clusters.url(clusters.primary_port, "postgres");
    loupan_store::admin::create_postgres_database(&primary_admin, name).await.unwrap();
    let data_dir = clusters.dir.join("loupan");
    std::fs::create_dir_all(&data_dir).unwrap();
    let loupan = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loupan"));
        cmd.args(args)
            .env("LOUPAN_DATA_DIR", &data_dir)
            .env("LOUPAN_DATABASE_URL", clusters.url(clusters.primary_port, name))
            .env("LOUPAN_REPLICA_URL", clusters.url(clusters.replica_port, name))
            .env("LOUPAN_REPLICA_MAX_LAG_SECONDS", "2")
            .env("LOUPAN_ADMIN_PASSWORD", "Replica-admin-pass-1")
            .env("LOUPAN_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LOUPAN_LOG", "warn")
            .stdout(Stdio::null());
        cmd
    };
    assert!(loupan(&["demo"]).stderr(Stdio::null()).status().unwrap().success(), "demo data");
    let port = free_port();
    let mut server: Child = loupan(&["serve"])
        .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(std::fs::File::create(clusters.dir.join("loupan.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for_port(port, &mut server, "loupan serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let login = |user: &'static str, password: &'static str| crate::crash::login(&client, &base, user, password);
    let finance = login("liuyang", DEMO_PASSWORD).await;
    let agent = login("liqiang", DEMO_PASSWORD).await;
    let admin = login("admin", "Replica-admin-pass-1").await;
    let ageing = format!("{base}/api/v1/finance/reports/ageing?as_of=2026-12-06");
    let ledger = format!("{base}/api/v1/finance/reports/ledger?as_of=2026-12-06");

    // The replica, caught up: both reports read it and say how far behind it was.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (primary_ageing, primary_ledger) = loop {
        let (status, a) = get(&client, ageing.clone(), &finance).await;
        assert_eq!(status, 200, "{a}");
        if a["source"]["database"] == "replica" {
            let (_, l) = get(&client, ledger.clone(), &finance).await;
            break (a, l);
        }
        assert!(Instant::now() < deadline, "the ageing report never read the replica: {}", a["source"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lag = primary_ageing["source"]["lag_seconds"].as_str().unwrap();
    assert!(lag.parse::<f64>().unwrap() <= 2.0, "lag {lag}");
    assert_eq!(primary_ledger["source"]["database"], "replica", "{}", primary_ledger["source"]);
    assert!(primary_ageing["totals"].as_object().is_some_and(|t| !t.is_empty()));
    let page = client.get(format!("{base}/finance/ageing")).bearer_auth(&finance).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("data-database=\"replica\""), "the ageing page does not say it read the replica");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("loupan_replica_up 1") && metrics.contains("loupan_replica_lag_seconds "), "{metrics}");
    // Every other heavy report reads it too, and its page says so.
    let (_, questionnaires) = get(&client, format!("{base}/api/v1/questionnaires"), &admin).await;
    let questionnaire = questionnaires["items"][0]["id"].as_str().expect("the demo's questionnaire").to_owned();
    let reports = heavy_reports(&questionnaire);
    for (api, page) in &reports {
        let (status, report) = get(&client, format!("{base}{api}"), &admin).await;
        assert_eq!((status, &report["source"]["database"]), (200, &json!("replica")), "{api}: {report}");
        let html = client.get(format!("{base}{page}")).bearer_auth(&admin).send().await.unwrap();
        assert!(
            html.text().await.unwrap().contains("data-database=\"replica\""),
            "{page} does not say it read the replica"
        );
    }

    // Replay paused and the primary written to: the replica falls behind, and the
    // reports read the primary, saying why.
    let replica_admin = loupan_store::Store::connect(&clusters.url(clusters.replica_port, name)).await.unwrap();
    loupan_store::raw::execute(replica_admin.conn(), "SELECT pg_wal_replay_pause()", vec![]).await.unwrap();
    let (_, projects) = get(&client, format!("{base}/api/v1/projects"), &agent).await;
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    let behind = loop {
        // Each write is a transaction the paused replica receives and does not replay.
        n += 1;
        let body = json!({"name": format!("副本{n}"), "phone": format!("1350000{n:04}"), "project_id": project});
        let r = client
            .post(format!("{base}/api/v1/customers"))
            .bearer_auth(&agent)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let (_, a) = get(&client, ageing.clone(), &finance).await;
        if a["source"]["fallback"] == "replica_behind" {
            break a;
        }
        assert!(Instant::now() < deadline, "the paused replica was never behind: {}", a["source"]);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(behind["source"]["database"], "primary");
    assert!(behind["source"]["lag_seconds"].as_str().unwrap().parse::<f64>().unwrap() > 2.0);
    assert_eq!(behind["totals"], primary_ageing["totals"], "the same figures from the primary");
    loupan_store::raw::execute(replica_admin.conn(), "SELECT pg_wal_replay_resume()", vec![]).await.unwrap();
    replica_admin.close().await.unwrap();

    // The replica stopped: the primary again, saying the replica did not answer.
    clusters.stop("replica");
    let started = Instant::now();
    let (status, down) = get(&client, ledger.clone(), &finance).await;
    assert_eq!(status, 200, "{down}");
    assert_eq!(down["source"], json!({"database": "primary", "lag_seconds": null, "fallback": "replica_unreachable"}));
    assert!(started.elapsed() < Duration::from_secs(10), "falling back took {:?}", started.elapsed());
    assert_eq!(down["totals"], primary_ledger["totals"]);
    let page = client.get(format!("{base}/finance/ledger")).bearer_auth(&finance).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("data-database=\"primary\""));
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("loupan_replica_up 0"), "{metrics}");
    for (api, _) in &reports {
        let (status, report) = get(&client, format!("{base}{api}"), &admin).await;
        assert_eq!((status, &report["source"]["fallback"]), (200, &json!("replica_unreachable")), "{api}: {report}");
    }

    let _ = server.kill();
    let _ = server.wait();
    let line = "read replica (a PostgreSQL cluster made by pg_basebackup): ageing, ledger and the other heavy reports \
                read it with their lag, fall back when it is behind (replay paused) and when it is stopped, and say so";
    eprintln!("{line}");
    crate::ci_summary(line);
}
