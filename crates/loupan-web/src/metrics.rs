//! Request counts and latencies per route, in Prometheus text format at
//! `/metrics` with the instance's gauges (database pool, job queue and its
//! lag, open event streams, draining), plus `/healthz` (process alive) and
//! `/readyz` (database reachable and not draining).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    bucket_counts: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    /// Server-sent event streams open now (`crate::live`).
    pub(crate) sse_clients: AtomicI64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut routes) = self.routes.lock() else { return };
        let stats = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.count += 1;
        stats.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.bucket_counts[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(routes) = self.routes.lock() else { return out };
        out.push_str("# HELP loupan_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE loupan_http_requests_total counter\n");
        for ((method, route), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "loupan_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP loupan_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE loupan_http_request_duration_seconds histogram\n");
        for ((method, route), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(stats.bucket_counts) {
                let _ = writeln!(out, "loupan_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ =
                writeln!(out, "loupan_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "loupan_http_request_duration_seconds_sum{{{labels}}} {}", stats.sum_seconds);
            let _ = writeln!(out, "loupan_http_request_duration_seconds_count{{{labels}}} {}", stats.count);
        }
        out
    }
}

/// Route layer: runs after routing, so the matched route template is known
/// (`/api/v1/projects/{id}`), keeping the label set small.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

/// The gauges of this instance: read when scraped.
async fn gauges(state: &AppState) -> String {
    let mut out = String::new();
    let services = &state.services;
    let pool = services.store.pool_connections();
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    gauge(&mut out, "loupan_db_pool_connections", "Database connections of this instance's pool by state.");
    let _ = writeln!(out, "loupan_db_pool_connections{{state=\"in_use\"}} {}", pool.open.saturating_sub(pool.idle));
    let _ = writeln!(out, "loupan_db_pool_connections{{state=\"idle\"}} {}", pool.idle);
    gauge(&mut out, "loupan_db_pool_max_connections", "The most connections the pool opens.");
    let _ = writeln!(out, "loupan_db_pool_max_connections {}", pool.max);
    if let Some(writes) = services.store.writer_commits() {
        // SQLite's queued writers share COMMITs when they queue: writes over commits is the group size.
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(&mut out, "loupan_db_commits_total", "COMMITs of SQLite's queued writers.", writes.commits);
        counter(&mut out, "loupan_db_writes_total", "Writes those COMMITs made durable.", writes.writes);
    }
    gauge(&mut out, "loupan_sse_clients", "Server-sent event streams open on this instance.");
    let _ = writeln!(out, "loupan_sse_clients {}", state.metrics.sse_clients.load(Ordering::Relaxed));
    gauge(&mut out, "loupan_draining", "1 while the instance is shutting down.");
    let _ = writeln!(out, "loupan_draining {}", u8::from(services.lifecycle.is_draining()));
    // The reporting replica, when one is configured: whether it answers and how far behind it is.
    let replica = loupan_service::platform::replica::DataSource::from(services.store.for_reports().await.from);
    if replica.database == loupan_domain::platform::ReportDatabase::Replica || replica.fallback.is_some() {
        let up = replica.fallback != Some(loupan_domain::platform::ReplicaFallback::ReplicaUnreachable);
        gauge(&mut out, "loupan_replica_up", "1 when the reporting replica answers.");
        let _ = writeln!(out, "loupan_replica_up {}", u8::from(up));
        if let Some(ms) = replica.lag_ms {
            gauge(&mut out, "loupan_replica_lag_seconds", "How far the reporting replica is behind the primary.");
            let _ = writeln!(out, "loupan_replica_lag_seconds {}", ms as f64 / 1000.0);
        }
    }
    // The queue is shared by every instance: each reports the same figures.
    match loupan_service::platform::jobs::queue_gauges(services).await {
        Ok(queue) => {
            gauge(&mut out, "loupan_jobs", "Jobs in the shared queue by status.");
            for status in loupan_domain::platform::JobStatus::ALL {
                let n = queue.counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "loupan_jobs{{status=\"{}\"}} {n}", status.name());
            }
            gauge(&mut out, "loupan_job_lag_seconds", "How long the longest-waiting due job has waited.");
            let _ = writeln!(out, "loupan_job_lag_seconds {}", queue.lag_seconds);
        }
        Err(e) => tracing::warn!(error = %e.chain(), "metrics: could not read the job queue"),
    }
    out
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    text.push_str(&gauges(&state).await);
    let mut res = text.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    res
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.services.lifecycle.is_draining() {
        // A balancer's health check takes the instance out before it stops.
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "draining"}))).into_response()
    } else if state.services.store.ping().await {
        Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "database unreachable"}))).into_response()
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz)).route("/readyz", get(readyz))
}
