//! The `loupan` program from the outside, as a process: its commands, the
//! browser stories and the crawl against a server with demo data, and servers
//! killed under write traffic (SIGKILL, power cuts), three servers behind a
//! load balancer, and the deployment examples checked by their tools. One test binary, so that
//! the long ones run side by side instead of one after another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod cli;
mod crash;
mod deploy;
mod files;
mod group;
mod replica;
mod upgrade;

/// A line for the summary CI prints at the end of its log.
fn ci_summary(line: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("LOUPAN_CI_SUMMARY") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(f, "{line}").unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `child` (named `what` in failures) listens on `port`.
fn wait_for_port(port: u16, child: &mut std::process::Child, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "{what} exited before it listened");
        assert!(std::time::Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Debian's nginx (not on root's PATH everywhere).
fn nginx() -> &'static str {
    if std::path::Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" }
}

/// Stops an nginx started with `daemon off`: SIGTERM, so that its master stops
/// the workers too (SIGKILL would leave them running, holding their ports).
fn stop_nginx(nginx: &mut std::process::Child) {
    let _ = std::process::Command::new("kill").args(["-TERM", &nginx.id().to_string()]).status();
    let _ = nginx.wait();
}

/// A webhook delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Delivery {
    /// `Loupan-Delivery`.
    id: String,
    /// `Loupan-Request-Id`, when the delivery names the request that caused it.
    request_id: Option<String>,
    body: serde_json::Value,
}

/// A webhook receiver on a loopback port: every delivery, as it arrives.
fn webhook_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Delivery>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            // Headers, then as many bytes as Content-Length says.
            let (head, body) = loop {
                let Ok(n) = stream.read(&mut buf) else { break (String::new(), Vec::new()) };
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while data.len() < end + 4 + length {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    }
                    break (head, data[end + 4..].to_vec());
                }
            };
            let header = |name: &str| head.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
            if let Some(id) = header("loupan-delivery:") {
                let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                seen.lock().unwrap().push(Delivery { id, request_id: header("loupan-request-id:"), body });
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, received)
}
