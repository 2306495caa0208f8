//! The `loupan` binary from the outside: configuration errors, first start,
//! user administration, audit verification and a session surviving a restart.
//! On PostgreSQL when `LOUPAN_TEST_DATABASE_URL` is set, else on SQLite.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use loupan_store::Connection;

use crate::free_port;

struct Env {
    dir: PathBuf,
    database_url: String,
    postgres: Option<(String, String)>,
}

impl Env {
    async fn new() -> Env {
        let unique = format!("c{}", loupan_store::new_id());
        let dir = std::env::temp_dir().join(format!("loupan-cli-{unique}"));
        std::fs::create_dir_all(&dir).unwrap();
        match std::env::var("LOUPAN_TEST_DATABASE_URL") {
            Ok(server) if !server.is_empty() => {
                let name = format!("loupan_{unique}");
                loupan_store::admin::create_postgres_database(&server, &name).await.unwrap();
                let database_url = loupan_store::admin::with_database(&server, &name);
                Env { dir, database_url, postgres: Some((server, name)) }
            }
            _ => {
                let database_url = format!("sqlite://{}/loupan.db", dir.display());
                Env { dir, database_url, postgres: None }
            }
        }
    }

    fn loupan(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loupan"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LOUPAN_DATA_DIR", &self.dir)
            .env("LOUPAN_DATABASE_URL", &self.database_url)
            .env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = self.loupan(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((server, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(loupan_store::admin::drop_postgres_database(&server, &name))
            })
            .join();
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn unknown_schemes_and_missing_folders_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("loupan-cli-{}", loupan_store::new_id()));
    for (url, expected) in [
        ("mysql://root@localhost/loupan", "unsupported database URL"),
        ("postgress://u@h/db", "unsupported database URL"),
        ("sqlite:///no/such/folder/loupan.db", "directory `/no/such/folder` does not exist"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_loupan"))
            .args(["migrate"])
            .env("LOUPAN_DATABASE_URL", url)
            .env("LOUPAN_DATA_DIR", &dir)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url} accepted");
        assert!(text(&out).contains(expected), "{url}: {}", text(&out));
    }
    assert!(!std::path::Path::new("/no/such/folder").exists());
}

#[tokio::test]
async fn migrate_check_lists_pending_migrations_and_applies_nothing() {
    let env = Env::new().await;
    let out = env.run(&["migrate", "--check"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("have not run") && text(&out).contains("m2026"), "{}", text(&out));
    // Nothing was applied: the same list again.
    assert_eq!(env.run(&["migrate", "--check"], &[]).stdout, out.stdout);
    assert!(env.run(&["migrate"], &[]).status.success());
    let out = env.run(&["migrate", "--check"], &[]);
    assert!(out.status.success() && text(&out).contains("up to date"), "{}", text(&out));
}

#[tokio::test]
async fn first_start_prints_the_admin_password_once_and_demo_fills_the_database() {
    let env = Env::new().await;
    let first = env.run(&["demo"], &[]);
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("created user `admin` with password: "), "{out}");
    assert!(out.contains("144 units") && out.contains("liqiang"), "{out}");
    let second = env.run(&["demo"], &[]);
    assert!(second.status.success());
    let out = text(&second);
    assert!(!out.contains("with password"), "the password is shown only once: {out}");
    assert!(out.contains("already has projects"), "{out}");
    // The demo's contracts owe money: their kept balances agree with the
    // instalments, until one is changed behind Loupan's back.
    let out = env.run(&["audit", "verify"], &[]);
    assert!(out.status.success() && text(&out).contains("open balances agree"), "{}", text(&out));
    let store = loupan_store::Store::connect(&env.database_url).await.unwrap();
    let changed = loupan_store::raw::execute(
        store.conn(),
        "UPDATE project_open_balances SET amount = amount - 100 \
         WHERE due_date = (SELECT MIN(due_date) FROM project_open_balances)",
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(changed, 1);
    store.close().await.unwrap();
    let out = env.run(&["audit", "verify"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 open balances differ") && text(&out).contains("open balance project "),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn users_are_managed_from_the_terminal_and_audit_verify_detects_tampering() {
    let env = Env::new().await;
    let pw = [("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1"), ("LOUPAN_USER_PASSWORD", "Wang-fang-password")];
    let out = env.run(&["user", "create", "wangfang", "--display-name", "王芳", "--role", "sales_manager"], &pw);
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["user", "create", "wangfang", "--role", "sales_manager"], &pw);
    assert!(!out.status.success());
    assert!(text(&out).contains("username: taken"), "{}", text(&out));
    let out = env.run(&["user", "create", "x", "--role", "wizard"], &pw);
    assert!(text(&out).contains("roles: unknown_role"), "{}", text(&out));
    let out = env.run(&["user", "disable", "wangfang"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = env.run(&["user", "reset-password", "wangfang"], &[]);
    assert!(text(&out).contains("new password: "), "a generated password is shown once: {}", text(&out));
    let out = env.run(&["user", "disable", "nobody"], &[]);
    assert!(!out.status.success() && text(&out).contains("user not found"));

    let out = env.run(&["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit trail intact: 3 rows verified"), "{}", text(&out));

    let store = loupan_store::Store::connect(&env.database_url).await.unwrap();
    loupan_store::audit::drop_append_only_guard(store.conn()).await.unwrap();
    store.conn().execute_unprepared("UPDATE audit_log SET actor_name = 'someone' WHERE seq = 2").await.unwrap();
    store.close().await.unwrap();
    let out = env.run(&["audit", "verify"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("audit trail broken at row 2: content_altered"), "{}", text(&out));
}

fn http(port: u16, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    let status = reply.split(' ').nth(1)?.parse().ok()?;
    Some((status, reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

fn start(env: &Env, port: u16) -> Child {
    let mut child = env
        .loupan(&["serve"])
        .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if !ready_within(port, Duration::from_secs(30)) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("server did not start");
    }
    child
}

/// Whether the instance on `port` answers `/readyz` with 200 within `limit`.
fn ready_within(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while http(port, "GET", "/readyz", None, None).is_none_or(|(s, _)| s != 200) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

#[tokio::test]
async fn a_session_survives_a_server_restart() {
    let env = Env::new().await;
    let port = free_port();
    let mut server = start(&env, port);
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"username":"admin","password":"Admin-cli-password-1"}"#),
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    server.kill().unwrap();
    server.wait().unwrap();

    let mut server = start(&env, port);
    let (status, body) = http(port, "GET", "/api/v1/auth/me", None, Some(&token)).unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"username\":\"admin\""));
}

/// The running server keeps the actors of the tokens it serves; a user
/// disabled from the terminal (another process) is still refused at the very
/// next request, and a new password ends the sessions the same way.
#[tokio::test]
async fn a_user_disabled_from_the_terminal_is_refused_by_the_running_server_at_once() {
    let env = Env::new().await;
    let port = free_port();
    let mut server = start(&env, port);
    let password = [("LOUPAN_USER_PASSWORD", "Wang-fang-password")];
    let out = env.run(&["user", "create", "wangfang", "--role", "sales_manager"], &password);
    assert!(out.status.success(), "{}", text(&out));
    let login = || {
        let body = r#"{"username":"wangfang","password":"Wang-fang-password"}"#;
        let (status, body) = http(port, "POST", "/api/v1/auth/login", Some(body), None).unwrap();
        (status == 200)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned())
    };
    let me = |token: &str| http(port, "GET", "/api/v1/auth/me", None, Some(token)).unwrap().0;
    let token = login().expect("signed in");
    assert_eq!((me(&token), me(&token)), (200, 200));
    let out = env.run(&["user", "disable", "wangfang"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let refused = me(&token);
    assert!(login().is_none(), "a disabled user cannot sign in");
    let out = env.run(&["user", "enable", "wangfang"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let token = login().expect("signed in again");
    assert_eq!((me(&token), me(&token)), (200, 200));
    let out = env.run(&["user", "reset-password", "wangfang"], &password);
    assert!(out.status.success(), "{}", text(&out));
    let ended = me(&token);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!((refused, ended), (401, 401));
}

#[tokio::test]
async fn a_backup_restores_into_an_empty_data_folder() {
    let env = Env::new().await;
    assert!(env.run(&["demo"], &[("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1")]).status.success());
    let dest = env.dir.join("backup-1");
    let out = env.run(&["backup", dest.to_str().unwrap()], &[]);
    if env.postgres.is_some() {
        assert!(!out.status.success() && text(&out).contains("pg_dump"), "{}", text(&out));
        return;
    }
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("chain intact"), "{}", text(&out));
    assert!(!env.run(&["backup", dest.to_str().unwrap()], &[]).status.success(), "never overwrites a backup");

    // A new machine: an empty data folder.
    let fresh = env.dir.join("fresh-data");
    let restore = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_loupan"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LOUPAN_DATA_DIR", &fresh)
            .output()
            .unwrap()
    };
    let out = restore(&["restore", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = restore(&["audit", "verify"]);
    assert!(out.status.success() && text(&out).contains("audit trail intact"), "{}", text(&out));
    let out = restore(&["user", "disable", "liqiang"]);
    assert!(out.status.success(), "the demo users came back: {}", text(&out));
    let out = restore(&["restore", dest.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("exists"), "never restores over a database");
}

/// Nothing secret or personal reaches the server's log, even at debug level:
/// not the password or token of a sign-in, not the phone searched for in a
/// query string, not the phone or ID number of a new customer or of a reveal.
#[tokio::test]
async fn the_log_holds_no_tokens_passwords_or_personal_data() {
    let env = Env::new().await;
    let port = free_port();
    let log = env.dir.join("server.log");
    let mut child = env
        .loupan(&["serve", "--demo"])
        .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1")
        .env("LOUPAN_LOG", "debug")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(env.dir.join("server.err")).unwrap())
        .spawn()
        .unwrap();
    assert!(ready_within(port, Duration::from_secs(60)), "server did not start");
    let password = "Admin-cli-password-1";
    let (_, body) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        Some(&format!(r#"{{"username":"admin","password":"{password}"}}"#)),
        None,
    )
    .unwrap();
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let (_, projects) = http(port, "GET", "/api/v1/projects", None, Some(&token)).unwrap();
    let project =
        serde_json::from_str::<serde_json::Value>(&projects).unwrap()["items"][0]["id"].as_str().unwrap().to_owned();
    let (phone, id_number) = ("13912340077", "11010519491231002X");
    let customer = format!(
        r#"{{"name":"日志测试","phone":"{phone}","id_type":"resident_id","id_number":"{id_number}","project_id":"{project}"}}"#
    );
    let (status, body) = http(port, "POST", "/api/v1/customers", Some(&customer), Some(&token)).unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, _) = http(port, "GET", &format!("/api/v1/customers?q={phone}"), None, Some(&token)).unwrap();
    assert_eq!(status, 200);
    let reveal = format!("/api/v1/customers/{id}/reveal");
    let (status, body) = http(port, "POST", &reveal, Some(r#"{"reason":"核对"}"#), Some(&token)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(id_number), "the reveal shows the number to the permitted user");
    // A failed sign-in with a password that is someone's real one mistyped.
    http(port, "POST", "/api/v1/auth/login", Some(r#"{"username":"admin","password":"Admin-cli-password-2"}"#), None);
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let logged = format!(
        "{}{}",
        std::fs::read_to_string(&log).unwrap(),
        std::fs::read_to_string(env.dir.join("server.err")).unwrap()
    );
    assert!(logged.contains("/api/v1/customers"), "the log records requests at debug level:\n{logged}");
    for secret in [password, "Admin-cli-password-2", token.as_str(), phone, id_number, "1391234"] {
        assert!(!logged.contains(secret), "the log contains `{secret}`");
    }
}

#[tokio::test]
async fn rotating_the_key_re_encrypts_every_id_number_and_an_interrupted_rotation_can_be_finished() {
    use loupan_service::platform::secrets::Secrets;
    let env = Env::new().await;
    assert!(env.run(&["demo"], &[("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1")]).status.success());
    let keys = env.dir.join("keys");
    let read_key = || Secrets::parse_master(&std::fs::read_to_string(keys.join("personal-data.key")).unwrap()).unwrap();
    let old = Secrets::from_master(&read_key()).unwrap();
    let store = loupan_store::Store::connect(&env.database_url).await.unwrap();
    let ciphers = || async { loupan_store::customers::id_ciphers_after(store.conn(), None, 1000).await.unwrap() };
    let before = ciphers().await;
    assert!(!before.is_empty(), "the demo has an enterprise customer with a credit code");

    let out = env.run(&["keys", "rotate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("re-encrypted {} ID numbers", before.len())), "{}", text(&out));
    let new = Secrets::from_master(&read_key()).unwrap();
    let retired = std::fs::read_dir(&keys)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("personal-data.key.retired-"));
    assert_eq!(retired.count(), 1, "the old key is kept aside");
    let after = ciphers().await;
    assert_eq!(after.len(), before.len());
    for ((id, was), (same_id, now)) in before.iter().zip(&after) {
        assert_eq!(id, same_id);
        assert_ne!(was, now);
        let number = old.decrypt(was).unwrap();
        assert_eq!(new.decrypt(now).unwrap(), number, "the same number under the new key");
        assert!(old.decrypt(now).is_err(), "and no longer under the old one");
        let row = loupan_store::customers::find_customer(store.conn(), id).await.unwrap().unwrap();
        assert_eq!(row.id_number_index.unwrap(), new.blind_index(&number).unwrap(), "exact search keeps working");
    }
    let out = env.run(&["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    // A rotation that died after writing its new key: nothing starts until it is finished.
    std::fs::write(keys.join("personal-data.key.new"), "ab".repeat(32)).unwrap();
    let out = env.run(&["audit", "verify"], &[]);
    assert!(!out.status.success() && text(&out).contains("keys rotate"), "{}", text(&out));
    let out = env.run(&["keys", "rotate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!keys.join("personal-data.key.new").exists());
    let newest = Secrets::from_master(&read_key()).unwrap();
    assert_eq!(newest.decrypt(&ciphers().await[0].1).unwrap(), old.decrypt(&before[0].1).unwrap());
}

/// SIGTERM: the instance first drains (`/readyz` 503 while it still serves),
/// then stops: an open 销控图 stream ends instead of holding the process, and
/// it exits 0. Before that, the gauges are on `/metrics`, the request id
/// comes back on the response and reaches the webhook its request caused,
/// and the log is one JSON object per line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_stops_and_a_request_id_follows_its_work() {
    use serde_json::{Value, json};
    let env = Env::new().await;
    let port = free_port();
    let log = env.dir.join("server.log");
    let mut child = env
        .loupan(&["serve", "--demo"])
        .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOUPAN_ADMIN_PASSWORD", "Admin-cli-password-1")
        .env("LOUPAN_WEBHOOK_ALLOW", "127.0.0.1")
        .env("LOUPAN_LOG_FORMAT", "json")
        .env("LOUPAN_DRAIN_SECONDS", "2")
        .env("LOUPAN_SHUTDOWN_SECONDS", "10")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(ready_within(port, Duration::from_secs(90)), "server did not start");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let call = |req: reqwest::RequestBuilder| async move {
        let r = req.send().await.unwrap();
        let id = r.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), id, serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap_or(Value::Null))
    };
    let json_post = |path: &str, token: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let (_, _, login) = call(
        client
            .post(format!("{base}/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(json!({"username": "admin", "password": "Admin-cli-password-1"}).to_string()),
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();

    // The request id: the caller's when acceptable, a new one otherwise, and on the webhook it causes.
    let (hook_port, received) = crate::webhook_receiver();
    let hook = json!({"url": format!("http://127.0.0.1:{hook_port}/hook"), "event_types": ["customer.created"]});
    let (status, _, body) = call(json_post("/api/v1/webhooks", &token, hook)).await;
    assert_eq!(status, 201, "{body}");
    let (_, _, projects) = call(client.get(format!("{base}/api/v1/projects")).bearer_auth(&token)).await;
    let project = projects["items"][0]["id"].as_str().unwrap().to_owned();
    let customer = json!({"name": "追踪", "phone": "13500135000", "project_id": project});
    let (status, id, body) =
        call(json_post("/api/v1/customers", &token, customer).header("X-Request-Id", "trace-me-1")).await;
    assert_eq!((status, id.as_deref()), (201, Some("trace-me-1")), "{body}");
    let (_, id, _) = call(client.get(format!("{base}/healthz")).header("X-Request-Id", "two words\tand a tab")).await;
    let id = id.unwrap();
    assert!(id != "two words\tand a tab" && !id.is_empty(), "an unacceptable id was echoed: {id:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !received.lock().unwrap().iter().any(|d| d.body["data"]["name"] == "追踪") {
        assert!(Instant::now() < deadline, "the webhook was not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivery = received.lock().unwrap().iter().find(|d| d.body["data"]["name"] == "追踪").unwrap().clone();
    assert_eq!(delivery.request_id.as_deref(), Some("trace-me-1"), "the webhook does not name its request");

    // The gauges, with a 销控图 stream open.
    let (_, _, units) =
        call(client.get(format!("{base}/api/v1/units?project_id={project}&limit=1")).bearer_auth(&token)).await;
    let building = units["items"][0]["building_id"].as_str().unwrap().to_owned();
    let mut stream =
        client.get(format!("{base}/api/v1/buildings/{building}/events")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "loupan_sse_clients 1",
        "loupan_draining 0",
        "loupan_jobs{status=\"queued\"}",
        "loupan_job_lag_seconds ",
        "loupan_db_pool_connections{state=\"idle\"}",
        "loupan_db_pool_max_connections ",
    ] {
        assert!(metrics.contains(line), "/metrics lacks `{line}`:\n{metrics}");
    }
    // SQLite's writers have committed (the demo data, the customer above).
    if env.postgres.is_none() {
        let counter = |name: &str| {
            let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_default();
            line.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or_default()
        };
        let (commits, writes) = (counter("loupan_db_commits_total"), counter("loupan_db_writes_total"));
        assert!(commits > 0 && writes >= commits, "commits {commits}, writes {writes}:\n{metrics}");
    }

    // SIGTERM: draining first, still serving; then the stream ends and the process exits 0.
    let signalled = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    loop {
        let (status, _, body) = call(client.get(format!("{base}/readyz"))).await;
        if status == 503 {
            assert_eq!(body["status"], "draining");
            break;
        }
        assert!(signalled.elapsed() < Duration::from_secs(2), "/readyz still {status} after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, _) = call(client.get(format!("{base}/api/v1/auth/me")).bearer_auth(&token)).await;
    assert_eq!(status, 200, "a draining instance still serves");
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(_) => break,
            Err(_) => panic!("the event stream stayed open after the instance stopped"),
        }
    }
    assert!(signalled.elapsed() >= Duration::from_secs(2), "the stream ended before the drain was over");
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(15), "the server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.success(), "exit status {exited}");

    let log = std::fs::read_to_string(&log).unwrap();
    // `--demo` prints its users to the same output, as plain text; the log lines are JSON.
    let lines: Vec<Value> =
        log.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).expect(l)).collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "shutting down"), "{log}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "Loupan stopped"), "{log}");
}
