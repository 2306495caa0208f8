//! The test harness: the real router over a fresh database per test, on SQLite
//! by default and on PostgreSQL when `LOUPAN_TEST_DATABASE_URL` is set (each
//! test creates its own database there and drops it at the end).
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use loupan_service::{ServiceConfig, Services, platform::users};
use loupan_store::Store;
use loupan_web::{AppState, WebConfig};
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "Admin-test-password-1";

enum Db {
    Sqlite { dir: std::path::PathBuf },
    Postgres { server_url: String, name: String },
}

pub struct TestApp {
    pub router: Router,
    pub services: Services,
    pub database_url: String,
    db: Db,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    /// Field names of a problem+json body.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// One request to build and send.
pub struct Call {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
    content_type: Option<&'static str>,
    headers: Vec<(String, String)>,
}

pub fn get(path: &str) -> Call {
    Call { method: "GET", path: path.into(), body: None, content_type: None, headers: vec![] }
}

pub fn post(path: &str, body: Value) -> Call {
    Call {
        method: "POST",
        path: path.into(),
        body: Some(body.to_string().into_bytes()),
        content_type: Some("application/json"),
        headers: vec![],
    }
}

pub fn put(path: &str, body: Value) -> Call {
    Call {
        method: "PUT",
        path: path.into(),
        body: Some(body.to_string().into_bytes()),
        content_type: Some("application/json"),
        headers: vec![],
    }
}

pub fn delete(path: &str) -> Call {
    Call { method: "DELETE", path: path.into(), body: None, content_type: None, headers: vec![] }
}

pub fn patch(path: &str, body: Value) -> Call {
    Call {
        method: "PATCH",
        path: path.into(),
        body: Some(body.to_string().into_bytes()),
        content_type: Some("application/json"),
        headers: vec![],
    }
}

/// A browser form submission.
pub fn form(path: &str, fields: &[(&str, &str)]) -> Call {
    let body: String = form_encode(fields);
    Call {
        method: "POST",
        path: path.into(),
        body: Some(body.into_bytes()),
        content_type: Some("application/x-www-form-urlencoded"),
        headers: vec![],
    }
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Call {
    pub fn raw(mut self, body: &[u8]) -> Self {
        self.body = Some(body.to_vec());
        self
    }
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn lang(self, lang: &str) -> Self {
        self.header("accept-language", lang)
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(ServiceConfig::default()).await
    }

    pub async fn with_config(config: ServiceConfig) -> TestApp {
        Self::build(config, loupan_service::Clock::default()).await
    }

    /// A Loupan whose clock the test sets (`app.services.clock.set(...)`).
    pub async fn with_clock(clock: loupan_service::Clock) -> TestApp {
        Self::build(ServiceConfig::default(), clock).await
    }

    /// Both: settings of its own and a clock the test sets.
    pub async fn with_config_and_clock(config: ServiceConfig, clock: loupan_service::Clock) -> TestApp {
        Self::build(config, clock).await
    }

    async fn build(config: ServiceConfig, clock: loupan_service::Clock) -> TestApp {
        let unique = format!("t{}", loupan_store::new_id());
        let (database_url, db) = match std::env::var("LOUPAN_TEST_DATABASE_URL") {
            Ok(server_url) if !server_url.is_empty() => {
                let name = format!("loupan_{unique}");
                let template = postgres_template(&server_url).await;
                loupan_store::admin::create_postgres_database_from(&server_url, &name, template)
                    .await
                    .expect("create test database");
                (loupan_store::admin::with_database(&server_url, &name), Db::Postgres { server_url, name })
            }
            _ => {
                let dir = std::env::temp_dir().join(format!("loupan-test-{unique}"));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::copy(sqlite_template().await, dir.join("loupan.db")).expect("copy the migrated database");
                (format!("sqlite://{}/loupan.db", dir.display()), Db::Sqlite { dir })
            }
        };
        let store = Store::connect(&database_url).await.expect("connect");
        let secrets = loupan_service::platform::secrets::Secrets::from_master(&[42u8; 32]).unwrap();
        let services = Services::new(store, config, secrets).with_clock(clock);
        users::ensure_admin(&services, Some(ADMIN_PASSWORD.into())).await.expect("admin");
        let router = loupan_web::app(AppState::new(services.clone(), WebConfig::default()));
        TestApp { router, services, database_url, db }
    }

    /// A second Loupan instance on the same database (or the same one after a restart).
    pub async fn second_instance(&self) -> (Router, Services) {
        self.second_instance_with(self.services.config.clone()).await
    }

    /// A second instance configured otherwise (e.g. after a setting changed).
    pub async fn second_instance_with(&self, config: ServiceConfig) -> (Router, Services) {
        let store = Store::connect(&self.database_url).await.expect("connect");
        let secrets = loupan_service::platform::secrets::Secrets::from_master(&[42u8; 32]).unwrap();
        let services = Services::new(store, config, secrets).with_clock(self.services.clock.clone());
        (loupan_web::app(AppState::new(services.clone(), WebConfig::default())), services)
    }

    pub async fn send(&self, call: Call) -> Reply {
        send_to(&self.router, call).await
    }

    /// The same Loupan reached through a proxy that appends the caller's
    /// address to `X-Forwarded-For` (`LOUPAN_TRUST_FORWARDED_FOR`).
    pub fn behind_proxy(&self) -> Router {
        loupan_web::app(AppState::new(
            self.services.clone(),
            WebConfig { trust_forwarded_for: true, ..WebConfig::default() },
        ))
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .send(post("/api/v1/auth/login", serde_json::json!({"username": username, "password": password})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text);
        r.json()["token"].as_str().unwrap().to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `roles` in `projects` and signs them in.
    pub async fn user(&self, admin: &str, username: &str, roles: &[&str], projects: &[&str]) -> (String, String) {
        let password = format!("Pw-{username}-0123456789");
        let r = self
            .send(
                post(
                    "/api/v1/admin/users",
                    serde_json::json!({"username": username, "password": password, "display_name": username,
                                       "roles": roles, "project_ids": projects}),
                )
                .token(admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "create {username}: {}", r.text);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        (id, self.login(username, &password).await)
    }

    pub async fn project(&self, admin: &str, name: &str) -> String {
        let r =
            self.send(post("/api/v1/projects", serde_json::json!({"name": name, "city": "苏州"})).token(admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }
}

pub async fn send_to(router: &Router, call: Call) -> Reply {
    let mut req = Request::builder().method(call.method).uri(&call.path);
    if let Some(ct) = call.content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    for (k, v) in &call.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(call.body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
}

/// Each test starts from a copy of one migrated database rather than running
/// every migration again (half a second of a core per test, a minute or two
/// over the suite). The template is made once per build of this test binary
/// and shared by the processes of that build (nextest runs one per test).
fn template_key() -> String {
    use std::hash::{Hash, Hasher};
    let exe = std::env::current_exe().expect("the test binary's path");
    let meta = std::fs::metadata(&exe).expect("the test binary's metadata");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    exe.hash(&mut hasher);
    meta.len().hash(&mut hasher);
    meta.modified().ok().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

static SQLITE_TEMPLATE: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
static POSTGRES_TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn sqlite_template() -> &'static std::path::Path {
    SQLITE_TEMPLATE
        .get_or_init(|| async {
            const PREFIX: &str = "loupan-test-template-";
            let tmp = std::env::temp_dir();
            let path = tmp.join(format!("{PREFIX}{}.db", template_key()));
            if !path.exists() {
                let dir = tmp.join(format!("{PREFIX}{}", loupan_store::new_id()));
                std::fs::create_dir_all(&dir).unwrap();
                let store = Store::connect(&format!("sqlite://{}/loupan.db", dir.display())).await.expect("connect");
                store.migrate().await.expect("migrate");
                // A file of its own, renamed into place whole: another process
                // making the same template at the same time replaces it with the same.
                let made = dir.join("template.db");
                store.backup_sqlite_to(&made).await.expect("copy the migrated database");
                store.close().await.expect("close");
                std::fs::rename(&made, &path).expect("put the template in place");
                let _ = std::fs::remove_dir_all(&dir);
                // Earlier builds' templates, once no run of theirs can still be copying.
                let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
                for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < hour_ago);
                    if name.starts_with(PREFIX) && entry.path() != path && old {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
            path
        })
        .await
}

async fn postgres_template(server_url: &str) -> &'static str {
    POSTGRES_TEMPLATE
        .get_or_init(|| async {
            const PREFIX: &str = "loupan_template_";
            let name = format!("{PREFIX}{}", template_key());
            loupan_store::admin::ensure_postgres_template(server_url, &name, PREFIX)
                .await
                .expect("make the template database");
            name
        })
        .await
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.db {
            Db::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Db::Postgres { server_url, name } => {
                let (server_url, name) = (server_url.clone(), name.clone());
                // Drop runs inside the test's runtime; use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async {
                        if let Err(e) = loupan_store::admin::drop_postgres_database(&server_url, &name).await {
                            eprintln!("could not drop test database {name}: {e}");
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Checks that `services` keeps the actors of the tokens it serves, as
/// `loupan serve` does on SQLite (PostgreSQL keeps none: see `platform::actors`).
pub fn keeping_actors(services: &Services) {
    let sqlite = std::env::var("LOUPAN_TEST_DATABASE_URL").is_err();
    assert_eq!(services.actors.in_use(), sqlite);
}

/// A POST with raw bytes (file uploads through the API).
pub fn post_bytes(path: &str, bytes: Vec<u8>, content_type: &'static str) -> Call {
    Call { method: "POST", path: path.into(), body: Some(bytes), content_type: Some(content_type), headers: vec![] }
}

/// The database the tests run on, as the CI summary names it.
/// A valid unified social credit code (GB 32100-2015) numbered `n`: 17
/// characters and their check character.
#[allow(dead_code)]
pub fn credit_code(n: u32) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let body = format!("91110000{n:09}");
    let mut weight = 1;
    let mut sum = 0;
    for c in body.bytes() {
        sum += CHARS.iter().position(|x| *x == c).expect("a code character") * weight;
        weight = weight * 3 % 31;
    }
    format!("{body}{}", CHARS[(31 - sum % 31) % 31] as char)
}

pub fn database_name() -> &'static str {
    if std::env::var("LOUPAN_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) { "PostgreSQL" } else { "SQLite" }
}

/// One line for the summary `.ci/run` prints at the end (when it asks for one).
pub fn ci_summary(line: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("LOUPAN_CI_SUMMARY") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(f, "{line}").unwrap();
    }
}

/// The text of a PDF, when poppler's pdftotext is here (CI has it).
pub fn pdf_text(bytes: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("loupan-pdf-{}", loupan_store::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("letters.pdf"), bytes).unwrap();
    let out =
        std::process::Command::new("pdftotext").arg("-enc").arg("UTF-8").arg(dir.join("letters.pdf")).arg("-").output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        // Lines break between any two characters of Chinese text: read across them.
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).replace('\n', "")),
        _ => {
            assert!(
                std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "CI needs pdftotext (poppler-utils)"
            );
            None
        }
    }
}
