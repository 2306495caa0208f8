//! The deployment examples in `deploy/` are checked by their own tools, so the
//! guide (docs/DEPLOYMENT.md) cannot drift from what works: the systemd unit
//! by `systemd-analyze verify`, the nginx site by `nginx -t` and by serving a
//! real instance through it over TLS, the PostgreSQL settings against the
//! running server's `pg_settings`, and the Dockerfile by reading it (no Docker
//! engine runs here): what it copies exists and what it starts is the binary.
//!
//! CI sets `LOUPAN_REQUIRE_DEPLOY_TOOLS` (and installs nginx), so there no
//! check is skipped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../deploy/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Whether `tool` runs here; a missing tool fails the test where CI requires it.
fn have(tool: &str, version_arg: &str) -> bool {
    let found = Command::new(tool).arg(version_arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var("LOUPAN_REQUIRE_DEPLOY_TOOLS").is_err(), "{tool} is required here");
        eprintln!("{tool} is not installed: its check of the deployment example is skipped");
    }
    found
}

fn scratch(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loupan-deploy-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_systemd_unit_verifies() {
    if !have("systemd-analyze", "--version") {
        return;
    }
    let dir = scratch("systemd");
    let env_file = dir.join("loupan.env");
    std::fs::write(&env_file, "LOUPAN_LISTEN=127.0.0.1:8080\n").unwrap();
    let unit = example("loupan.service")
        .replace("/usr/local/bin/loupan", env!("CARGO_BIN_EXE_loupan"))
        .replace("/etc/loupan/loupan.env", env_file.to_str().unwrap());
    assert!(unit.contains("ExecStart=") && unit.contains(" serve"), "the unit starts `loupan serve`");
    let path = dir.join("loupan.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // An unknown or misspelt setting is only a warning to systemd: any word from it fails here.
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_site_passes_nginx_t_and_serves_loupan_over_tls() {
    if !have(crate::nginx(), "-v") || !have("openssl", "version") {
        return;
    }
    let dir = scratch("nginx");
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=crm.example.com"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl could not make a certificate");

    // One instance on SQLite stands for the group.
    let port = crate::free_port();
    let mut loupan = Command::new(env!("CARGO_BIN_EXE_loupan"))
        .arg("serve")
        .env("LOUPAN_DATA_DIR", dir.join("data"))
        .env_remove("LOUPAN_DATABASE_URL")
        .env("LOUPAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOUPAN_ADMIN_PASSWORD", "Deploy-admin-pass-1")
        .env("LOUPAN_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    crate::wait_for_port(port, &mut loupan, "loupan serve");

    // The example as shipped, but for its addresses: the instances, the ports and the certificate.
    let (http, https) = (crate::free_port(), crate::free_port());
    let mut site = String::new();
    let mut upstream_written = false;
    for line in example("nginx.conf").lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("server 10.0.0.") {
            if !upstream_written {
                site.push_str(&format!("    server 127.0.0.1:{port} max_fails=2 fail_timeout=10s;\n"));
                upstream_written = true;
            }
            continue;
        }
        let line = line
            .replace("listen 80;", &format!("listen 127.0.0.1:{http};"))
            .replace("listen 443 ssl", &format!("listen 127.0.0.1:{https} ssl"))
            .replace("/etc/ssl/loupan/fullchain.pem", cert.to_str().unwrap())
            .replace("/etc/ssl/loupan/privkey.pem", key.to_str().unwrap())
            .replace("allow 10.0.0.0/8;", "allow 127.0.0.1;");
        site.push_str(&line);
        site.push('\n');
    }
    assert!(upstream_written, "the example names its instances as `server 10.0.0.…`");
    std::fs::write(dir.join("loupan.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
         fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n    \
         include {d}/loupan.conf;\n}}\n"
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, main).unwrap();
    let test = Command::new(crate::nginx()).arg("-t").arg("-p").arg(&dir).arg("-c").arg(&conf).output().unwrap();
    let said = String::from_utf8_lossy(&test.stderr).to_string();
    assert!(test.status.success() && said.contains("test is successful"), "nginx -t:\n{said}");

    let mut nginx = Command::new(crate::nginx())
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    crate::wait_for_port(https, &mut nginx, "nginx");
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let served = async {
        let ready = client.get(format!("https://127.0.0.1:{https}/readyz")).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 200);
        // nginx's request id reached Loupan, which answers with it.
        let id = ready.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "not nginx's $request_id: {id}");
        assert!(ready.headers().contains_key("strict-transport-security"));
        let plain = client.get(format!("http://127.0.0.1:{http}/login")).send().await.unwrap();
        assert_eq!(plain.status().as_u16(), 301);
        assert!(plain.headers()["location"].to_str().unwrap().starts_with("https://"));
        // The event streams' location reaches Loupan too (which asks for a sign-in).
        let events = client.get(format!("https://127.0.0.1:{https}/api/v1/reception/events")).send().await.unwrap();
        assert_eq!(events.status().as_u16(), 401);
        let metrics = client.get(format!("https://127.0.0.1:{https}/metrics")).send().await.unwrap();
        assert_eq!(metrics.status().as_u16(), 200, "the monitoring address may read /metrics");
    };
    let started = Instant::now();
    served.await;
    assert!(started.elapsed() < Duration::from_secs(30));
    crate::stop_nginx(&mut nginx);
    let _ = loupan.kill();
    let _ = loupan.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every setting of `deploy/postgresql.conf` is one the server knows, with a
/// value of its kind (on PostgreSQL only: it asks the running server).
#[tokio::test]
async fn the_postgresql_settings_are_known_to_the_server() {
    let Some(server) = std::env::var("LOUPAN_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("the PostgreSQL settings are checked against a PostgreSQL server; skipped on SQLite");
        return;
    };
    let store = loupan_store::Store::connect(&server).await.unwrap();
    let mut checked = 0;
    for line in example("postgresql.conf").lines() {
        let line = line.split('#').next().unwrap().trim();
        let Some((name, value)) = line.split_once('=') else { continue };
        let (name, value) = (name.trim(), value.trim().trim_matches('\''));
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "odd setting name {name:?}");
        let sql = format!(
            "SELECT vartype || '|' || coalesce(array_to_string(enumvals, ','), '') AS d FROM pg_settings WHERE name = '{name}'"
        );
        let found = loupan_store::raw::query_column(store.conn(), &sql, vec![], "d").await.unwrap();
        let [description] = found.as_slice() else { panic!("PostgreSQL has no setting `{name}`") };
        let (kind, choices) = description.split_once('|').unwrap();
        let fits = match kind {
            "bool" => ["on", "off", "true", "false"].contains(&value),
            "enum" => choices.split(',').any(|c| c == value),
            "integer" | "real" => {
                let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                digits.parse::<f64>().is_ok()
                    && ["", "B", "kB", "MB", "GB", "TB", "ms", "s", "min", "h", "d"].contains(&&value[digits.len()..])
            }
            _ => !value.is_empty(),
        };
        assert!(fits, "`{name} = {value}` is not a {kind} setting's value ({choices})");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} settings read");
    store.close().await.unwrap();
}

#[test]
fn the_dockerfile_copies_what_exists_and_runs_loupan() {
    let dockerfile = example("Dockerfile");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let known =
        ["FROM", "WORKDIR", "COPY", "RUN", "USER", "ENV", "VOLUME", "EXPOSE", "STOPSIGNAL", "ENTRYPOINT", "CMD"];
    let mut stages = Vec::new();
    // Instructions, with continued lines joined.
    let joined = dockerfile.replace("\\\n", " ");
    for line in joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (instruction, rest) = line.split_once(' ').unwrap_or((line, ""));
        assert!(known.contains(&instruction), "unexpected instruction {instruction}");
        match instruction {
            "FROM" => stages.push(rest.to_owned()),
            "COPY" if !rest.starts_with("--from=") => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                for source in &words[..words.len() - 1] {
                    assert!(
                        root.join(source).exists(),
                        "the Dockerfile copies {source}, which is not in the repository"
                    );
                }
            }
            _ => {}
        }
    }
    // The build stage's toolchain is at least the workspace's rust-version.
    let toolchain = stages[0].strip_prefix("rust:").unwrap().split('-').next().unwrap().to_owned();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let needed = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let version = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(version(&toolchain) >= version(needed), "rust:{toolchain} is older than rust-version {needed}");
    assert_eq!(stages.len(), 2, "a build stage and a small runtime stage");
    assert!(joined.contains("cargo build --release --locked -p loupan"));
    assert!(joined.contains("COPY --from=build /src/target/release/loupan /usr/local/bin/loupan"));
    assert!(joined.contains("\"/usr/local/bin/loupan\"]") && joined.contains("CMD [\"serve\"]"));
    assert!(joined.contains("USER loupan"), "the image runs unprivileged");
    // The build context leaves the build folders out.
    let ignored = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "target"));
}
