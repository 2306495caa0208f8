//! Files in an S3-compatible store: a real S3 server (moto's server mode,
//! from PyPI, started by the test on a loopback port) behind
//! `LOUPAN_FILES_URL`. The store itself (put, get, head, delete, list, a key
//! that is not there, a prefix that keeps two installations apart); a photo
//! uploaded through one instance and served by another (two instances on
//! PostgreSQL, each with a data folder of its own); and on SQLite a backup
//! that takes the bucket's files and a restore that puts them into another
//! bucket, from which they are served again.
//!
//! moto is found at `LOUPAN_MOTO_SERVER` or in the venv `.ci/run` makes
//! (`~/.cache/loupan-s3-venv`); CI sets `LOUPAN_REQUIRE_DEPLOY_TOOLS`, so there
//! the test cannot be skipped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use loupan_service::platform::files::FileStore;
use loupan_service::platform::s3::{S3Config, S3Files};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::{free_port, wait_for_port};

const DEMO_PASSWORD: &str = "Files-demo-pass-1";
const ADMIN_PASSWORD: &str = "Files-admin-pass-1";
const SECRET_KEY: &str = "66696c657320696e206120627563b8d1c0b6e4f2a3c5d7e9f1a2b3c4d5e6f708";
/// A small PNG: the upload's type is read from its bytes.
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
    6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0D, b'I', b'D', b'A', b'T', 0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1,
    0x0D, 0x0A, 0x2D, 0xB4, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82,
];

fn moto_server() -> Option<PathBuf> {
    let path = std::env::var("LOUPAN_MOTO_SERVER").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/loupan-s3-venv/bin/moto_server")
    });
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("LOUPAN_REQUIRE_DEPLOY_TOOLS").is_err(), "moto's S3 server is required ({})", path.display());
    eprintln!("moto's S3 server is not installed ({}); skipped", path.display());
    None
}

/// An S3 server on a loopback port, stopped when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl S3Server {
    fn start(program: &PathBuf) -> S3Server {
        let port = free_port();
        let mut child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "moto_server");
        S3Server { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    async fn make_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)).send().await.unwrap();
        assert!(r.status().is_success(), "bucket {bucket}: {}", r.status());
    }

    fn env(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| match name {
            "LOUPAN_S3_ENDPOINT" => Some(self.endpoint.clone()),
            "AWS_ACCESS_KEY_ID" => Some("loupan".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("loupan-secret".into()),
            _ => None,
        }
    }

    fn store(&self, url: &str) -> S3Files {
        S3Files::new(S3Config::from_url(url, self.env()).unwrap()).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn read_all(store: &S3Files, key: &str) -> Vec<u8> {
    let mut file = store.get(key).await.unwrap();
    let mut bytes = Vec::new();
    file.reader.read_to_end(&mut bytes).await.unwrap();
    assert_eq!(file.len, bytes.len() as u64);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_store_keeps_lists_and_forgets_files() {
    let Some(program) = moto_server() else { return };
    let s3 = S3Server::start(&program);
    s3.make_bucket("loupan-store").await;
    let store = s3.store("s3://loupan-store/group-a");
    let other = s3.store("s3://loupan-store/group-b");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(store.put("2026/plan", Box::pin(std::io::Cursor::new(big.clone()))).await.unwrap(), 3_000_000);
    store.put("notices/pictures/ab12", Box::pin(std::io::Cursor::new(PNG.to_vec()))).await.unwrap();
    other.put("2026/elsewhere", Box::pin(std::io::Cursor::new(b"b".to_vec()))).await.unwrap();
    assert_eq!(read_all(&store, "2026/plan").await, big);
    assert_eq!(store.head("2026/plan").await.unwrap(), Some(3_000_000));
    assert_eq!(store.head("2026/none").await.unwrap(), None);
    assert_eq!(store.get("2026/none").await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    // Each installation lists only its own prefix.
    assert_eq!(store.keys().await.unwrap(), ["2026/plan", "notices/pictures/ab12"]);
    assert_eq!(other.keys().await.unwrap(), ["2026/elsewhere"]);
    store.delete("2026/plan").await.unwrap();
    store.delete("2026/plan").await.unwrap();
    assert_eq!(store.head("2026/plan").await.unwrap(), None);
    // A wrong endpoint is an error, not an empty store.
    let nowhere = S3Files::new(
        S3Config::from_url("s3://loupan-store", |n| match n {
            "LOUPAN_S3_ENDPOINT" => Some(format!("http://127.0.0.1:{}", free_port())),
            _ => s3.env()(n),
        })
        .unwrap(),
    )
    .unwrap();
    assert!(nowhere.keys().await.is_err());
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_uploaded_on_one_instance_is_served_by_another_and_survives_a_restore() {
    let Some(program) = moto_server() else { return };
    let s3 = S3Server::start(&program);
    s3.make_bucket("loupan-files").await;
    let pg = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    let dir = std::env::temp_dir().join(format!("loupan-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("loupan_files_{}", std::process::id());
    let database_url = match &pg {
        Some(server) => {
            loupan_store::admin::create_postgres_database(server, &name).await.unwrap();
            loupan_store::admin::with_database(server, &name)
        }
        None => format!("sqlite://{}/loupan.db", dir.display()),
    };
    let loupan = |data_dir: &std::path::Path, bucket: &str, database_url: &str| {
        std::fs::create_dir_all(data_dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loupan"));
        cmd.env("LOUPAN_DATA_DIR", data_dir)
            .env("LOUPAN_DATABASE_URL", database_url)
            .env("LOUPAN_SECRET_KEY", SECRET_KEY)
            .env("LOUPAN_FILES_URL", format!("s3://{bucket}/loupan"))
            .env("LOUPAN_S3_ENDPOINT", &s3.endpoint)
            .env("AWS_ACCESS_KEY_ID", "loupan")
            .env("AWS_SECRET_ACCESS_KEY", "loupan-secret")
            .env("LOUPAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LOUPAN_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("LOUPAN_LOG", "warn");
        cmd
    };
    let serve = |data_dir: &std::path::Path, bucket: &str, database_url: &str| {
        let port = free_port();
        let mut child = loupan(data_dir, bucket, database_url)
            .arg("serve")
            .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child, "loupan serve");
        Instance { child, base: format!("http://127.0.0.1:{port}") }
    };
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    let demo = loupan(&dir_a, "loupan-files", &database_url).arg("demo").output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let a = serve(&dir_a, "loupan-files", &database_url);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let login = |base: String| {
        let client = client.clone();
        async move { crate::crash::login(&client, &base, "admin", ADMIN_PASSWORD).await }
    };
    let token = login(a.base.clone()).await;
    let units = client.get(format!("{}/api/v1/units?limit=1", a.base)).bearer_auth(&token).send().await.unwrap();
    let units: Value = serde_json::from_str(&units.text().await.unwrap()).unwrap();
    let unit = units["items"][0]["id"].as_str().unwrap().to_owned();
    let uploaded = client
        .post(format!("{}/api/v1/units/{unit}/files?purpose=photo&file_name=%E5%AE%9E%E6%99%AF.png", a.base))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 201);
    let file: Value = serde_json::from_str(&uploaded.text().await.unwrap()).unwrap();
    let file_id = file["id"].as_str().unwrap().to_owned();
    let download = |base: String, token: String| {
        let client = client.clone();
        let file_id = file_id.clone();
        async move {
            let r = client.get(format!("{base}/api/v1/files/{file_id}")).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.bytes().await.unwrap().to_vec()
        }
    };
    // The bytes are in the bucket, not in the instance's folder.
    let bucket = s3.store("s3://loupan-files/loupan");
    assert!(!bucket.keys().await.unwrap().is_empty());
    assert!(!dir_a.join("files").exists(), "the instance kept the file on its own disk");

    if pg.is_some() {
        // Another instance, its own empty data folder, the same database and bucket.
        let b = serve(&dir_b, "loupan-files", &database_url);
        let token_b = login(b.base.clone()).await;
        assert_eq!(download(b.base.clone(), token_b).await, PNG, "instance B served other bytes");
        drop(b);
        drop(a);
        if let Some(server) = &pg {
            loupan_store::admin::drop_postgres_database(server, &name).await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // SQLite: a backup takes the bucket's files; a restore into a fresh folder
    // puts them into another bucket, which then serves the photo.
    assert_eq!(download(a.base.clone(), token.clone()).await, PNG);
    drop(a);
    let backup = dir.join("backup");
    let out = loupan(&dir_a, "loupan-files", &database_url).arg("backup").arg(&backup).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("uploaded files copied") && !said.contains(" 0 uploaded"), "{said}");
    s3.make_bucket("loupan-restored").await;
    let fresh = dir.join("fresh");
    let fresh_db = format!("sqlite://{}/loupan.db", fresh.display());
    let out = loupan(&fresh, "loupan-restored", &fresh_db).arg("restore").arg(&backup).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Before anything runs on the restored data (its jobs may write letters).
    assert_eq!(
        s3.store("s3://loupan-restored/loupan").keys().await.unwrap(),
        bucket.keys().await.unwrap(),
        "the restore put back every file"
    );
    let restored = serve(&fresh, "loupan-restored", &fresh_db);
    let token = login(restored.base.clone()).await;
    assert_eq!(download(restored.base.clone(), token).await, PNG, "the restored bucket lacks the photo");
    drop(restored);
    let _ = std::fs::remove_dir_all(&dir);
}
