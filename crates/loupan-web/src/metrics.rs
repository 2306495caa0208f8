//! Request counts and latencies per route, in Prometheus text format at
//! `/metrics`, plus `/healthz` (process alive) and `/readyz` (database reachable).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
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

async fn metrics(State(state): State<AppState>) -> Response {
    let mut res = state.metrics.render().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    res
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.services.store.ping().await {
        Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "database unreachable"}))).into_response()
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz)).route("/readyz", get(readyz))
}
