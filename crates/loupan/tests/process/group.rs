//! Loupan as a group: three `loupan serve` processes on one PostgreSQL
//! database behind nginx (round robin, no sticky sessions), driven only
//! through the balancer. Each instance has its own data folder, so nothing
//! may hide in one instance's memory or disk: a session signed in on one
//! serves on the others, an idempotency key replayed elsewhere gets the first
//! answer, failed sign-ins count across instances, a 销控图 open on one
//! instance hears a sale made on another, a webhook is delivered once
//! whichever instance's job worker takes it, and an instance killed with
//! SIGKILL under traffic loses no acknowledged write while the balancer
//! retries the reads it had taken.
//!
//! It needs PostgreSQL (`LOUPAN_TEST_DATABASE_URL`) and nginx; CI installs
//! nginx and sets `LOUPAN_REQUIRE_DEPLOY_TOOLS`, so there it cannot be skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};

use crate::{free_port, nginx, wait_for_port};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const DEMO_PASSWORD: &str = "Group-demo-pass-1";
const ADMIN_PASSWORD: &str = "Group-admin-pass-1";
/// Instances sharing a database share the personal-data key.
const SECRET_KEY: &str = "6c6f7570616e2067726f7570207465737420b8d1c0b6e4f2a3c5d7e9f1a2b3c4";
/// The header nginx adds to every answer: which instance gave it.
const UPSTREAM: &str = "x-loupan-upstream";

struct Instance {
    port: u16,
    child: Option<Child>,
}

struct Group {
    dir: std::path::PathBuf,
    /// The PostgreSQL server and the database made for this run.
    server: String,
    name: String,
    database_url: String,
    instances: Vec<Instance>,
    nginx: Option<Child>,
    base: String,
}

impl Group {
    fn command(&self, data_dir: &std::path::Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loupan"));
        cmd.args(args)
            .env("LOUPAN_DATA_DIR", data_dir)
            .env("LOUPAN_DATABASE_URL", &self.database_url)
            .env("LOUPAN_SECRET_KEY", SECRET_KEY)
            .env("LOUPAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LOUPAN_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LOUPAN_WEBHOOK_ALLOW", "127.0.0.1")
            .env("LOUPAN_TRUST_FORWARDED_FOR", "true")
            .env("LOUPAN_LOG", "warn")
            .stdout(Stdio::null());
        cmd
    }

    fn start_instance(&mut self, n: usize) {
        let data_dir = self.dir.join(format!("instance-{n}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        let log = std::fs::File::create(self.dir.join(format!("instance-{n}.log"))).unwrap();
        let port = self.instances[n].port;
        let mut child = self
            .command(&data_dir, &["serve"])
            .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
            .stderr(log)
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "loupan serve");
        self.instances[n].child = Some(child);
    }

    fn start_nginx(&mut self, port: u16) {
        let upstreams: String = self
            .instances
            .iter()
            .map(|i| format!("        server 127.0.0.1:{} max_fails=1 fail_timeout=5s;\n", i.port))
            .collect();
        let dir = self.dir.display();
        let conf = format!(
            "worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-body;
    proxy_temp_path {dir}/nginx-proxy;
    fastcgi_temp_path {dir}/nginx-fastcgi;
    uwsgi_temp_path {dir}/nginx-uwsgi;
    scgi_temp_path {dir}/nginx-scgi;
    upstream loupan {{
{upstreams}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 12m;
        location / {{
            proxy_pass http://loupan;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # The 销控图 and the workbench stream server-sent events.
            proxy_buffering off;
            proxy_read_timeout 1h;
            # Only idempotent requests are tried on the next instance (nginx's default).
            proxy_next_upstream error timeout http_502 http_503;
            add_header X-Loupan-Upstream $upstream_addr always;
        }}
    }}
}}
"
        );
        let path = self.dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let mut child = Command::new(nginx())
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "nginx");
        self.nginx = Some(child);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(nginx) = self.nginx.as_mut() {
            crate::stop_nginx(nginx);
        }
        for child in self.instances.iter_mut().filter_map(|i| i.child.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Also when an assertion failed: no database or folder is left behind.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(loupan_store::admin::drop_postgres_database(&server, &name))
        });
        if let Err(e) = dropped.join().unwrap() {
            eprintln!("could not drop the group's database: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// reqwest is built without its `json` feature.
trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json").body(body.to_string())
    }
}

/// An answer through the balancer: status, body, and the instance that gave it.
struct Answer {
    status: u16,
    body: Value,
    upstream: String,
}

async fn send(req: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
    let r = req.send().await?;
    let status = r.status().as_u16();
    let upstream = r.headers().get(UPSTREAM).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = r.text().await?;
    Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), upstream })
}

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> Answer {
    send(
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json_body(&json!({"username": username, "password": password})),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_serve_as_one() {
    let Some(server) = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("the group of instances runs on PostgreSQL (LOUPAN_TEST_DATABASE_URL); skipped on SQLite");
        return;
    };
    if Command::new(nginx()).arg("-v").stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var("LOUPAN_REQUIRE_DEPLOY_TOOLS").is_err(), "nginx is required (apt-get install nginx)");
        eprintln!("the group of instances needs nginx; skipped");
        return;
    }
    let name = format!("loupan_group_{}", std::process::id());
    loupan_store::admin::create_postgres_database(&server, &name).await.unwrap();
    let dir = std::env::temp_dir().join(format!("loupan-group-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut group = Group {
        dir: dir.clone(),
        server: server.clone(),
        name: name.clone(),
        database_url: loupan_store::admin::with_database(&server, &name),
        instances: (0..3).map(|_| Instance { port: free_port(), child: None }).collect(),
        nginx: None,
        base: String::new(),
    };
    let demo = group.command(&dir.join("instance-0"), &["demo"]).stderr(Stdio::null()).status().unwrap();
    assert!(demo.success(), "demo data");
    for n in 0..3 {
        group.start_instance(n);
    }
    let balancer = free_port();
    group.start_nginx(balancer);
    group.base = format!("http://127.0.0.1:{balancer}");
    let base = group.base.clone();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    // A session signed in on one instance serves on every other.
    let signed_in = login(&client, &base, "liqiang", DEMO_PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let agent = signed_in.body["token"].as_str().unwrap().to_owned();
    let mut served_by = BTreeSet::new();
    for _ in 0..6 {
        let a = send(client.get(format!("{base}/api/v1/projects")).bearer_auth(&agent)).await.unwrap();
        assert_eq!(a.status, 200, "a session signed in elsewhere, on {}: {}", a.upstream, a.body);
        served_by.insert(a.upstream);
    }
    assert_eq!(served_by.len(), 3, "round robin reached {served_by:?}, not three instances");
    let a = send(client.get(format!("{base}/api/v1/projects")).bearer_auth(&agent)).await.unwrap();
    let project = a.body["items"][0]["id"].as_str().unwrap().to_owned();

    // An idempotency key replayed on other instances gets the first answer, and the work is done once.
    let key = "group-registration-1";
    let body = json!({"name": "群组测试", "phone": "13700137001", "project_id": project});
    let mut answers = Vec::new();
    for _ in 0..3 {
        let req = client.post(format!("{base}/api/v1/customers")).bearer_auth(&agent).header("Idempotency-Key", key);
        answers.push(send(req.json_body(&body)).await.unwrap());
    }
    assert!(answers.iter().all(|a| a.status == 201), "{:?}", answers.iter().map(|a| &a.body).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| a.body == answers[0].body), "a replay on another instance answered differently");
    assert_eq!(
        answers.iter().map(|a| &a.upstream).collect::<BTreeSet<_>>().len(),
        3,
        "the replays stayed on one instance"
    );
    let found = send(client.get(format!("{base}/api/v1/customers?q=13700137001")).bearer_auth(&agent)).await.unwrap();
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1, "registered more than once: {}", found.body);

    // Failed sign-ins count across instances: five wrong passwords on any of them lock the sixth try.
    let mut tried_on = BTreeSet::new();
    for _ in 0..5 {
        let a = login(&client, &base, "zhangwei", "not-the-password").await;
        assert_eq!(a.status, 401);
        tried_on.insert(a.upstream);
    }
    assert_eq!(tried_on.len(), 3);
    let locked = login(&client, &base, "zhangwei", DEMO_PASSWORD).await;
    assert_eq!(locked.status, 429, "the sixth sign-in was not refused: {}", locked.body);

    // A 销控图 open on one instance hears a sale made on another.
    let free = send(
        client.get(format!("{base}/api/v1/units?project_id={project}&status=available&limit=50")).bearer_auth(&agent),
    )
    .await
    .unwrap();
    let units = free.body["items"].as_array().unwrap().clone();
    let building = units[0]["building_id"].as_str().unwrap().to_owned();
    let methods = send(client.get(format!("{base}/api/v1/projects/{project}/payment-methods")).bearer_auth(&agent))
        .await
        .unwrap();
    let method = methods.body["items"][0]["id"].as_str().unwrap().to_owned();
    let mut stream =
        client.get(format!("{base}/api/v1/buildings/{building}/events")).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let listening_on = stream.headers().get(UPSTREAM).unwrap().to_str().unwrap().to_owned();
    let customer = answers[0].body["id"].as_str().unwrap().to_owned();
    let mut sold = None;
    for unit in units.iter().filter(|u| u["building_id"] == building.as_str()).take(3) {
        let body = json!({"unit_id": unit["id"], "customer_id": customer, "total_price": unit["list_price"],
                          "deposit": "20000.00", "payment_method_id": method, "subscribed_on": "2026-12-06"});
        let a = send(client.post(format!("{base}/api/v1/sales/subscriptions")).bearer_auth(&agent).json_body(&body))
            .await
            .unwrap();
        assert_eq!(a.status, 201, "{}", a.body);
        if a.upstream != listening_on {
            sold = Some(unit["id"].as_str().unwrap().to_owned());
            break;
        }
    }
    let sold = sold.expect("every sale went to the instance holding the stream");
    let mut heard = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !heard.contains(&sold) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.chunk()).await {
            Ok(Ok(Some(chunk))) => heard.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("the 销控图 on {listening_on} did not hear the sale of {sold} made elsewhere; heard {heard:?}"),
        }
    }
    drop(stream);

    // Webhooks: each event delivered once, whichever instance's worker took it.
    let admin = login(&client, &base, "admin", ADMIN_PASSWORD).await.body["token"].as_str().unwrap().to_owned();
    let (hook_port, received) = crate::webhook_receiver();
    let hook =
        send(client.post(format!("{base}/api/v1/webhooks")).bearer_auth(&admin).json_body(
            &json!({"url": format!("http://127.0.0.1:{hook_port}/hook"), "event_types": ["customer.created"]}),
        ))
        .await
        .unwrap();
    assert_eq!(hook.status, 201, "{}", hook.body);
    let mut registered = BTreeSet::new();
    for n in 0..12 {
        let body =
            json!({"name": format!("回调{n}"), "phone": format!("1370013{:04}", 100 + n), "project_id": project});
        let a =
            send(client.post(format!("{base}/api/v1/customers")).bearer_auth(&agent).json_body(&body)).await.unwrap();
        assert_eq!(a.status, 201, "{}", a.body);
        registered.insert(a.body["id"].as_str().unwrap().to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered_ids = || {
        received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|d| d.body["data"]["id"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    while !registered.iter().all(|id| delivered_ids().contains(id)) {
        assert!(Instant::now() < deadline, "webhooks not delivered: {:?}", received.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Three workers poll every second: give a second delivery time to show itself.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let deliveries = received.lock().unwrap().clone();
    let mut per_customer: BTreeMap<String, usize> = BTreeMap::new();
    for id in delivered_ids() {
        *per_customer.entry(id).or_default() += 1;
    }
    assert!(per_customer.values().all(|n| *n == 1), "a webhook was delivered twice: {per_customer:?}");
    let delivery_ids: BTreeSet<&String> = deliveries.iter().map(|d| &d.id).collect();
    assert_eq!(delivery_ids.len(), deliveries.len(), "one delivery id came twice");

    // One instance killed under traffic: reads keep succeeding (the balancer tries the
    // next instance), and every write that was acknowledged is there afterwards.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let failed_reads = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut traffic = Vec::new();
    for client_no in 0..4u64 {
        let (client, base, agent, project) = (client.clone(), base.clone(), agent.clone(), project.clone());
        let (stop, acked, failed_reads) = (stop.clone(), acked.clone(), failed_reads.clone());
        traffic.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let body = json!({"name": format!("并发{client_no}-{n}"), "phone": format!("136{client_no:02}{n:06}"),
                                  "project_id": project});
                let req = client.post(format!("{base}/api/v1/customers")).bearer_auth(&agent);
                if let Ok(a) = send(req.json_body(&body)).await
                    && a.status == 201
                {
                    acked.lock().unwrap().push(a.body["id"].as_str().unwrap().to_owned());
                }
                match send(client.get(format!("{base}/api/v1/customers?limit=5")).bearer_auth(&agent)).await {
                    Ok(a) if a.status == 200 => {}
                    Ok(a) => failed_reads.lock().unwrap().push(format!("{} from {}: {}", a.status, a.upstream, a.body)),
                    Err(e) => failed_reads.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 20 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let victim = group.instances[1].child.as_mut().unwrap();
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let killed_at = acked.lock().unwrap().len();
    let after_kill = Instant::now();
    while acked.lock().unwrap().len() < killed_at + 40 && after_kill.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in traffic {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= killed_at + 40,
        "writes stopped after the kill: {} before, {} in all",
        killed_at,
        acked.len()
    );
    let failed_reads = failed_reads.lock().unwrap().clone();
    assert!(failed_reads.is_empty(), "reads failed while an instance died: {failed_reads:?}");
    for id in &acked {
        let a = send(client.get(format!("{base}/api/v1/customers/{id}")).bearer_auth(&agent)).await.unwrap();
        assert_eq!(a.status, 200, "acknowledged customer {id} is missing");
        assert_ne!(a.upstream.split(", ").last(), Some(format!("127.0.0.1:{}", group.instances[1].port).as_str()));
    }
    let line = format!(
        "group (PostgreSQL, nginx, 3 instances): sessions, idempotency, sign-in throttling, the 销控图 stream and \
         webhooks shared; one instance killed after {killed_at} writes, {} acknowledged writes all there, no read failed",
        acked.len()
    );
    eprintln!("{line}");
    crate::ci_summary(&line);
}
