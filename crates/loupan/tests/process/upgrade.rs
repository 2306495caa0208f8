//! A rolling upgrade on PostgreSQL. The previous release's `loupan` (built by
//! `.ci/run` from the commit named in `.ci/previous-release`; its path in
//! `LOUPAN_PREVIOUS_BINARY`) serves a database under traffic while this
//! release checks, migrates and starts beside it; then both serve side by
//! side, sharing sessions and each other's writes, and the previous release
//! keeps writing rows without the new column. Migrations only expand
//! (ARCHITECTURE.md), so nothing the old release does may fail.
//!
//! Then the other direction: this release starts on a database that a newer
//! release migrated further (a migration it does not know), as an instance
//! restarted in the middle of the next upgrade would.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::crash::login;
use crate::{free_port, wait_for_port};

const DEMO_PASSWORD: &str = "Upgrade-demo-pass-1";
const ADMIN_PASSWORD: &str = "Upgrade-admin-pass-1";
const SECRET_KEY: &str = "757067726164652074657374206b6579b8d1c0b6e4f2a3c5d7e9f1a2b3c4d5e6";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn register(client: &reqwest::Client, base: &str, token: &str, body: Value) -> Result<String, String> {
    let r = client
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("{status} {text}"));
    }
    Ok(serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_serves_through_the_migration_and_beside_the_new_one() {
    let Some(server) = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("the rolling upgrade is a PostgreSQL test; skipped on SQLite");
        return;
    };
    let Some(previous) = std::env::var("LOUPAN_PREVIOUS_BINARY").ok().filter(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            std::env::var("LOUPAN_REQUIRE_DEPLOY_TOOLS").is_err(),
            "LOUPAN_PREVIOUS_BINARY must name the previous release's loupan (.ci/run builds it)"
        );
        eprintln!("no previous release's binary (LOUPAN_PREVIOUS_BINARY); skipped");
        return;
    };
    let name = format!("loupan_upgrade_{}", std::process::id());
    loupan_store::admin::create_postgres_database(&server, &name).await.unwrap();
    let database_url = loupan_store::admin::with_database(&server, &name);
    let dir = std::env::temp_dir().join(format!("loupan-upgrade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |program: &str, data: &str, args: &[&str]| {
        let data_dir = dir.join(data);
        std::fs::create_dir_all(&data_dir).unwrap();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("LOUPAN_DATA_DIR", data_dir)
            .env("LOUPAN_DATABASE_URL", &database_url)
            .env("LOUPAN_SECRET_KEY", SECRET_KEY)
            .env("LOUPAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LOUPAN_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LOUPAN_WEBHOOK_ALLOW", "127.0.0.1")
            .env("LOUPAN_LOG", "warn");
        cmd
    };
    let current = env!("CARGO_BIN_EXE_loupan");
    let serve = |program: &str, data: &str| {
        let port = free_port();
        let mut child = run(program, data, &["serve"])
            .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{data}.log"))).unwrap())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, data);
        (Server(child), format!("http://127.0.0.1:{port}"))
    };

    // The previous release, with its demo data, under traffic.
    let demo = run(&previous, "old", &["demo"]).output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let (old, old_base) = serve(&previous, "old");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let agent = login(&client, &old_base, "liqiang", DEMO_PASSWORD).await;
    let admin = login(&client, &old_base, "admin", ADMIN_PASSWORD).await;
    let projects = client.get(format!("{old_base}/api/v1/projects")).bearer_auth(&agent).send().await.unwrap();
    let projects: Value = serde_json::from_str(&projects.text().await.unwrap()).unwrap();
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    // Every registration queues a webhook delivery, so both releases write jobs.
    let hook = client
        .post(format!("{old_base}/api/v1/webhooks"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(
            json!({"url": format!("http://127.0.0.1:{}/hook", free_port()), "event_types": ["customer.created"]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status().as_u16(), 201);

    let check = run(current, "new", &["migrate", "--check"]).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout).to_string();
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(said.contains("m20261223_000051_job_request_ids"), "{said}");

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let written = Arc::new(Mutex::new(Vec::<String>::new()));
    let traffic = {
        let (client, base, agent, project) = (client.clone(), old_base.clone(), agent.clone(), project.clone());
        let (stop, failures, written) = (stop.clone(), failures.clone(), written.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body =
                    json!({"name": format!("旧版{n}"), "phone": format!("1340000{n:04}"), "project_id": project});
                match register(&client, &base, &agent, body).await {
                    Ok(id) => written.lock().unwrap().push(id),
                    Err(e) => failures.lock().unwrap().push(format!("register: {e}")),
                }
                let r = client.get(format!("{base}/api/v1/customers?limit=5")).bearer_auth(&agent).send().await;
                match r {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => failures.lock().unwrap().push(format!("read: {}", r.status())),
                    Err(e) => failures.lock().unwrap().push(format!("read: {e}")),
                }
            }
        })
    };
    while written.lock().unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The new release migrates as it starts, while the old one serves.
    let migrating_at = loupan_store::now();
    let (new, new_base) = serve(current, "new");
    let before = written.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while written.lock().unwrap().len() < before + 20 {
        assert!(Instant::now() < deadline, "the previous release stopped writing after the migration");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Side by side: a session of the old serves on the new, each reads the other's writes.
    let on_new =
        register(&client, &new_base, &agent, json!({"name": "新版", "phone": "13400009999", "project_id": project}))
            .await
            .unwrap();
    let old_write = written.lock().unwrap().last().unwrap().clone();
    for (base, id) in [(&old_base, &on_new), (&new_base, &old_write)] {
        let r = client.get(format!("{base}/api/v1/customers/{id}")).bearer_auth(&agent).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{base} cannot read {id}");
    }
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "the previous release failed during the upgrade: {failures:?}");
    let check = run(current, "new", &["migrate", "--check"]).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));

    // The old release's jobs after the migration have no request id; the new release's have one.
    let store = loupan_store::Store::connect(&database_url).await.unwrap();
    let since = migrating_at.to_rfc3339();
    let count = |filter: &str| {
        let sql =
            format!("SELECT id FROM jobs WHERE kind = 'webhook_delivery' AND created_at > '{since}' AND {filter}");
        let store = &store;
        async move { loupan_store::raw::query_column(store.conn(), &sql, vec![], "id").await.unwrap().len() }
    };
    assert!(count("request_id IS NULL").await > 0, "no job written by the previous release after the migration");
    assert!(count("request_id IS NOT NULL").await > 0, "no job of the new release names its request");
    drop(old);
    drop(new);

    // A newer release's migration this one does not know: it still starts and serves.
    loupan_store::raw::execute(
        store.conn(),
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000999_from_the_future', 0)",
        vec![],
    )
    .await
    .unwrap();
    store.close().await.unwrap();
    let check = run(current, "new", &["migrate", "--check"]).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(check.status.success() && said.contains("m20991231_000999_from_the_future"), "{said}");
    let (restarted, base) = serve(current, "new");
    let r = client.get(format!("{base}/api/v1/customers/{on_new}")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    drop(restarted);

    let line = format!(
        "rolling upgrade (PostgreSQL): the previous release ({}) wrote {} customers through the new release's \
         migration without a failure; both served side by side; a newer schema is served too",
        std::env::var("LOUPAN_PREVIOUS_RELEASE").unwrap_or_else(|_| "previous".into()),
        written.lock().unwrap().len()
    );
    eprintln!("{line}");
    crate::ci_summary(&line);
    loupan_store::admin::drop_postgres_database(&server, &name).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
