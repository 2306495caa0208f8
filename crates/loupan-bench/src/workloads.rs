//! The workloads W1-W7, each timed through the router (in process: the whole
//! HTTP stack without the network), through the service layer, and as raw SQL.

use loupan_domain::ids::{CustomerId, ProjectId, UnitId};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use axum::body::Body;
use axum::http::Request;
use loupan_service::{Services, customers, finance, inventory, sales};
use loupan_web::{AppState, WebConfig};
use serde::Serialize;
use tower::ServiceExt;

use crate::Scale;
use crate::data::{Rng, Seeded, chinese_name, mobile};
use crate::network::{Placement, Setup};

#[derive(Serialize, Clone)]
pub struct Measure {
    /// `router`, `service` or `raw_sql`.
    pub path: String,
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub per_second: f64,
}

#[derive(Serialize, Clone)]
pub struct WorkloadResult {
    pub name: String,
    pub what: String,
    pub measures: Vec<Measure>,
    /// `service / raw_sql` and `router / raw_sql` on p50.
    pub ratios: Vec<(String, f64)>,
    pub findings: Vec<String>,
}

pub(crate) fn measure(path: &str, samples: &[Duration], wall: Duration) -> Measure {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    Measure {
        path: path.to_owned(),
        n: ms.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: ms.last().copied().unwrap_or(0.0),
        per_second: ms.len() as f64 / wall.as_secs_f64().max(1e-9),
    }
}

pub(crate) fn fastest(samples: &[Duration]) -> f64 {
    samples.iter().min().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// `service / raw SQL`, and `router / (HTTP no-op floor + raw SQL)`: what the
/// web layer adds beyond the cost of any request and the query itself.
pub(crate) fn ratios(measures: &[Measure], noop_p50: f64) -> Vec<(String, f64)> {
    let p50 = |p: &str| measures.iter().find(|m| m.path == p).map(|m| m.p50_ms);
    let mut out = Vec::new();
    if let Some(raw) = p50("raw_sql").filter(|r| *r > 0.0) {
        for p in ["store", "service", "router"] {
            if let Some(v) = p50(p) {
                out.push((format!("{p} / raw_sql (p50)"), v / raw));
            }
        }
        if let Some(v) = p50("router") {
            out.push(("router / (no-op floor + raw_sql) (p50)".into(), v / (noop_p50 + raw)));
        }
    }
    out
}

/// The peak resident memory of this process (the server runs in it), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Times `n` calls of `f` one after another.
pub(crate) async fn timed<F, Fut, T>(n: usize, mut f: F) -> Result<(Vec<Duration>, Duration)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut samples = Vec::with_capacity(n);
    let wall = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        f(i).await?;
        samples.push(t.elapsed());
    }
    Ok((samples, wall.elapsed()))
}

/// After a workload's bulk load: the write-ahead log copied into the
/// database file now, so that the background checkpoint does not run during
/// the measurements (on SQLite), and the new rows' statistics taken.
pub(crate) async fn settle(services: &Services) -> Result<()> {
    if services.store.backend() == loupan_store::DbBackend::Sqlite {
        loupan_store::raw::query_count(services.store.conn(), "PRAGMA wal_checkpoint(TRUNCATE)", Vec::new()).await?;
    }
    // And the planner's statistics of what was just loaded, as a database in
    // use has them (autovacuum on PostgreSQL, `Store::refresh_statistics` on
    // SQLite); the first ANALYZE ran before the workloads seeded their own.
    loupan_store::raw::query_count(services.store.conn(), "ANALYZE", Vec::new()).await?;
    Ok(())
}

pub(crate) async fn get(router: &axum::Router, token: &str, path: &str) -> Result<()> {
    let req = Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty())?;
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    if !status.is_success() {
        return Err(anyhow!("GET {path} -> {status}"));
    }
    Ok(())
}

/// A customer search timed as raw SQL (the service's statements replayed),
/// through the service, and through the router, one query after another.
async fn search_three_ways(
    services: &Services,
    admin: &loupan_service::Actor,
    router: &axum::Router,
    token: &str,
    queries: &[String],
) -> Result<Vec<Measure>> {
    let n = queries.len();
    let query = |i: usize| customers::CustomerQuery { q: Some(queries[i].clone()), ..Default::default() };
    // Raw SQL: the very statements the service sends (the page with its
    // owners' names; on PostgreSQL a phone's other owners first), replayed on
    // the same connection.
    let (s_raw, w_raw) = timed(n, |i| {
        let q = query(i);
        async move { replay_search(services, admin, &q).await }
    })
    .await?;
    let (s_svc, w_svc) = timed(n, |i| {
        let q = query(i);
        async move { customers::search(services, admin, q, None, 51).await.map_err(svc) }
    })
    .await?;
    let (s_http, w_http) = timed(n, |i| {
        let path = format!("/api/v1/customers?q={}", form_urlencoded_path(&queries[i]));
        async move { get(router, token, &path).await }
    })
    .await?;
    Ok(vec![measure("raw_sql", &s_raw, w_raw), measure("service", &s_svc, w_svc), measure("router", &s_http, w_http)])
}

/// Replays what `customers::search` sends as raw statements: the page of
/// customers with their owners' names.
async fn replay_search(services: &Services, actor: &loupan_service::Actor, q: &customers::CustomerQuery) -> Result<()> {
    let statement = customers::search_statement(services, actor, q, 51).map_err(svc)?;
    loupan_store::raw::statement_count(services.store.conn(), statement).await?;
    Ok(())
}

/// A query-string value, percent-encoded (Chinese characters in a path).
pub(crate) fn form_urlencoded_path(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub(crate) fn svc(e: loupan_service::ServiceError) -> anyhow::Error {
    anyhow!("{e}")
}

pub async fn run(
    services: &Services,
    database_url: &str,
    seeded: &Seeded,
    scale: crate::Scale,
    wanted: &[String],
    cost_contracts: Option<usize>,
) -> Result<Vec<WorkloadResult>> {
    let router = loupan_web::app(AppState::new(services.clone(), WebConfig::default()));
    let admin = &seeded.admin;
    let token = &seeded.admin_token;
    let conn = services.store.conn();
    let mut results = Vec::new();
    let mut rng = Rng::new(42);
    let on = |w: &str| wanted.iter().any(|x| x == w);

    // The HTTP no-op floor: a request through the whole router (auth, error
    // rendering, security headers) that touches no data.
    let (s_noop, w_noop) = timed(500, |_| {
        let router = &router;
        async move { get(router, token, "/healthz").await }
    })
    .await?;
    let noop = measure("router", &s_noop, w_noop);
    let noop_p50 = noop.p50_ms;
    results.push(WorkloadResult {
        name: "HTTP no-op floor".into(),
        what: "GET /healthz through the router with a bearer token".into(),
        measures: vec![noop],
        ratios: Vec::new(),
        findings: Vec::new(),
    });

    if on("W1") {
        let n = 300;
        let phones: Vec<String> =
            (0..n).map(|i| seeded.sample_customers[i % seeded.sample_customers.len()].2.clone()).collect();
        let initials: Vec<String> =
            (0..n).map(|i| seeded.sample_customers[i % seeded.sample_customers.len()].3.clone()).collect();
        // A name prefix as reception types it: the surname alone, the widest prefix there is
        // (a common surname is several percent of all customers).
        let surnames: Vec<String> = (0..n)
            .map(|i| seeded.sample_customers[i % seeded.sample_customers.len()].1.chars().take(1).collect())
            .collect();
        // One letter, as an admin starts typing: a tenth of all customers match the commonest.
        let letters: Vec<String> = initials.iter().map(|i| i.chars().take(1).collect()).collect();
        for (name, what, queries) in [
            ("W1 customer lookup by phone", "GET /api/v1/customers?q=<phone> (masked list page of matches)", &phones),
            (
                "W1 customer search by pinyin initials",
                "GET /api/v1/customers?q=<initials> (first page of 50)",
                &initials,
            ),
            (
                "W1 customer search by one pinyin letter",
                "GET /api/v1/customers?q=<first initial> as an admin (everyone's customers; first page of 50)",
                &letters,
            ),
            (
                "W1 customer search by surname",
                "GET /api/v1/customers?q=<surname> (name prefix of one character; first page of 50)",
                &surnames,
            ),
        ] {
            let measures = search_three_ways(services, admin, &router, token, queries).await?;
            results.push(WorkloadResult {
                name: name.into(),
                what: what.into(),
                ratios: ratios(&measures, noop_p50),
                measures,
                findings: Vec::new(),
            });
        }
        // The everyday case: a sales manager searching their own project's
        // customers (10,000 of the million), where the scope is a condition too.
        let manager_surnames: Vec<String> = seeded
            .sample_customers
            .iter()
            .filter(|c| c.0 == seeded.projects[0])
            .chain(seeded.sample_customers.iter())
            .map(|c| c.1.chars().take(1).collect())
            .take(n)
            .collect();
        let mut measures = Vec::new();
        for (label, queries) in
            [("service (manager): surname", &manager_surnames), ("service (manager): initials", &initials)]
        {
            let (s, w) = timed(queries.len(), |i| {
                let q = customers::CustomerQuery { q: Some(queries[i].clone()), ..Default::default() };
                async move { customers::search(services, &seeded.manager, q, None, 51).await.map_err(svc) }
            })
            .await?;
            measures.push(measure(label, &s, w));
        }
        results.push(WorkloadResult {
            name: "W1 customer search as a project's sales manager".into(),
            what: "customers::search scoped to one project of 10,000 customers (surname; pinyin initials)".into(),
            ratios: Vec::new(),
            measures,
            findings: Vec::new(),
        });

        // The same requests over a socket, at fixed arrival rates.
        const SECONDS: u64 = 10;
        let streams = vec![
            crate::network::Stream {
                label: "no-op floor (GET /healthz) at 200/s".into(),
                paths: vec!["/healthz".into()],
                rate: 200,
            },
            crate::network::Stream {
                label: "lookup by phone at 200/s".into(),
                paths: phones.iter().map(|p| format!("/api/v1/customers?q={p}")).collect(),
                rate: 200,
            },
            crate::network::Stream {
                label: "search by pinyin initials at 50/s".into(),
                paths: initials.iter().map(|p| format!("/api/v1/customers?q={p}")).collect(),
                rate: 50,
            },
            crate::network::Stream {
                label: "search by surname at 50/s".into(),
                paths: surnames.iter().map(|p| format!("/api/v1/customers?q={}", form_urlencoded_path(p))).collect(),
                rate: 50,
            },
        ];
        let (url, token) = (database_url.to_owned(), token.clone());
        let run =
            tokio::task::spawn_blocking(move || crate::network::open_loop(&url, &token, streams, SECONDS)).await??;
        let mut findings = vec![if run.pinned {
            "server and load generator on separate threads pinned to cores 0 and 1 (taskset)".to_owned()
        } else {
            "server and load generator on separate threads, not pinned (one core, or taskset unavailable)".to_owned()
        }];
        let mut measures = Vec::new();
        for s in &run.streams {
            findings.push(format!(
                "{}: {} requests, {} failed, sent behind schedule by at most {:.2} ms (p99 {:.2} ms)",
                s.label,
                s.latencies.len(),
                s.errors,
                s.max_lag.as_secs_f64() * 1000.0,
                s.p99_lag.as_secs_f64() * 1000.0
            ));
            measures.push(measure(&format!("network: {}", s.label), &s.latencies, s.wall));
        }
        results.push(WorkloadResult {
            name: "W1 over the network, open loop".into(),
            what: format!(
                "the server on a TCP port with its own pool, requests sent at a fixed rate for {SECONDS} s each"
            ),
            ratios: Vec::new(),
            measures,
            findings,
        });

        // The mix as fast as it is answered: clients that send the next request
        // when the last one is answered, phone, two characters of a name and a
        // customer read by id in rotation.
        let mix: Vec<String> = (0..3 * n)
            .map(|i| {
                let sample = &seeded.sample_customers[(i / 3) % seeded.sample_customers.len()];
                match i % 3 {
                    0 => format!("/api/v1/customers?q={}", sample.2),
                    1 => format!(
                        "/api/v1/customers?q={}",
                        form_urlencoded_path(&sample.1.chars().take(2).collect::<String>())
                    ),
                    _ => format!("/api/v1/customers/{}", seeded.customer_ids[(i / 3) % seeded.customer_ids.len()].1),
                }
            })
            .collect();
        const MIX_REQUESTS: usize = 12_000;
        let (mut measures, mut findings) = (Vec::new(), Vec::new());
        // First with the server alone on one core, then as `loupan serve`
        // runs on this machine: a worker per core, beside the load and the
        // database; and on SQLite that again reading each request's actor (before the cache).
        // (PostgreSQL keeps no actors: the last run would be the second again.)
        let postgres = database_url.starts_with("postgres");
        for (placement, keep_actors, how) in [
            (Placement::Pinned, true, ""),
            (Placement::Shared, true, ", server on every core"),
            (Placement::Shared, false, ", server on every core, actors not kept"),
        ] {
            if postgres && !keep_actors {
                continue;
            }
            let runs = [4, 16]
                .into_iter()
                .map(|clients| crate::network::Clients {
                    label: format!("{clients} connections{how}"),
                    requests: (0..MIX_REQUESTS)
                        .map(|i| crate::network::Request { path: mix[i % mix.len()].clone(), body: None })
                        .collect(),
                    clients,
                })
                .collect();
            let setup = Setup { placement, writer_queue: true, keep_actors };
            closed_loop(database_url, &seeded.admin_token, setup, runs, &mut measures, &mut findings).await?;
        }
        results.push(WorkloadResult {
            name: "W1 mix over the socket, closed loop".into(),
            what: format!(
                "GET by phone, by two characters of a name and a customer by id in rotation, {MIX_REQUESTS} requests per run; \
                 the server alone on core 0 and the load on core 1 (issue 8's method), then the server as `loupan serve` \
                 runs it (a runtime worker per core) sharing both cores with the load and the database, then on SQLite that \
                 again with every request reading its session, user, roles and projects (no cache of actors; \
                 PostgreSQL keeps none)"
            ),
            ratios: Vec::new(),
            measures,
            findings,
        });
    }

    // S4: reception at the door of the first project types a phone as the
    // visitor says it, or a surname; the target is p99 < 20 ms.
    if on("S4") {
        let project = &seeded.projects[0];
        let ours: Vec<&(loupan_domain::ids::ProjectId, String, String, String)> =
            seeded.sample_customers.iter().filter(|c| &c.0 == project).collect();
        anyhow::ensure!(!ours.is_empty(), "no sample customers in the first project");
        let n = 300;
        let phones: Vec<String> = (0..n).map(|i| ours[i % ours.len()].2.clone()).collect();
        let surnames: Vec<String> = (0..n).map(|i| ours[i % ours.len()].1.chars().take(1).collect()).collect();
        let mut measures = Vec::new();
        for (label, queries) in [("phone", &phones), ("surname", &surnames)] {
            let (s, w) = timed(n, |i| {
                let path =
                    format!("/api/v1/projects/{project}/reception/lookup?q={}", form_urlencoded_path(&queries[i]));
                let router = &router;
                async move { get(router, token, &path).await }
            })
            .await?;
            measures.push(measure(&format!("router: {label}"), &s, w));
            let (s, w) = timed(n, |i| {
                let typed = queries[i].clone();
                async move {
                    loupan_service::reception::lookup(services, &seeded.manager, project, &typed).await.map_err(svc)
                }
            })
            .await?;
            measures.push(measure(&format!("service (manager): {label}"), &s, w));
        }
        results.push(WorkloadResult {
            name: "S4 reception lookup".into(),
            what: "GET /api/v1/projects/{id}/reception/lookup?q=<phone as said | surname> (cards with agent, grade, last visit, open deals)".into(),
            ratios: Vec::new(),
            measures,
            findings: Vec::new(),
        });
    }

    if on("W2") {
        let n = 200;
        let project = seeded.projects[0].clone();
        let (s_svc, w_svc) = timed(n, |_| {
            let form = customers::NewCustomer {
                project_id: Some(project.to_string()),
                name: Some(chinese_name(&mut rng)),
                phone: Some(mobile(&mut rng)),
                owner_id: admin.user_id.as_ref().map(ToString::to_string),
                ..Default::default()
            };
            async move { customers::register(services, admin, form).await.map(|_| ()).map_err(svc) }
        })
        .await?;
        let mut found = 0;
        let planted = &seeded.planted;
        for (project, name, typed, original) in planted {
            let matches =
                customers::check_duplicates(services, admin, project, Some(typed), Some(name)).await.map_err(svc)?;
            if matches
                .iter()
                .any(|m| &m.customer_id == original && m.match_kind == loupan_domain::customers::MatchKind::Both)
            {
                found += 1;
            }
        }
        let recall = if planted.is_empty() { 1.0 } else { found as f64 / planted.len() as f64 };
        // An xlsx of 2,000 new customers through the same rules and duplicate check.
        use loupan_documents::xlsx::{Cell, write_table};
        let headers: Vec<String> = ["姓名", "电话"].iter().map(|h| (*h).to_owned()).collect();
        let rows: Vec<Vec<Cell>> =
            (0..2000).map(|_| vec![Cell::Text(chinese_name(&mut rng)), Cell::Text(mobile(&mut rng))]).collect();
        let file = write_table("客户", &headers, &rows).map_err(|e| anyhow!("{e}"))?;
        let t = Instant::now();
        let report = loupan_service::customers::import::import_customers(services, admin, &project, &file, true)
            .await
            .map_err(svc)?;
        let import_wall = t.elapsed();
        let mut import = measure("service", &[import_wall], import_wall);
        import.path = "service: xlsx import of 2,000 rows (whole file)".into();
        import.per_second = report.created as f64 / import_wall.as_secs_f64().max(1e-9);
        let measures = vec![measure("service", &s_svc, w_svc), import];
        results.push(WorkloadResult {
            name: "W2 register with duplicate check".into(),
            what: "customers::register (validation, pinyin, duplicate query, insert, timeline, audit)".into(),
            ratios: Vec::new(),
            measures,
            findings: vec![
                format!("planted duplicates found: {found} of {} (recall {:.1}%)", planted.len(), recall * 100.0),
                format!(
                    "xlsx import: {} rows written, {:.0} rows/s",
                    report.created,
                    report.created as f64 / import_wall.as_secs_f64().max(1e-9)
                ),
            ],
        });
        let admin_id = admin.user_id.as_ref().map(ToString::to_string);
        // Somebody new each time: the duplicate check would refuse a repeat.
        let body = |_| {
            serde_json::json!({
                "project_id": project.to_string(),
                "name": chinese_name(&mut rng),
                "phone": mobile(&mut rng),
                "owner_id": admin_id,
            })
        };
        let name = "W2 registrations over the socket, closed loop";
        results.push(writers_over_the_socket(database_url, token, name, "/api/v1/customers", body).await?);
    }

    if on("W3") {
        let n = 200;
        let buildings = &seeded.buildings;
        let (s_raw, w_raw) = timed(n, |i| {
            let b = buildings[i % buildings.len()].clone();
            async move {
                loupan_store::raw::query_count(
                    conn,
                    "SELECT * FROM units WHERE building_id = $1 ORDER BY floor DESC, number",
                    vec![b.into()],
                )
                .await?;
                Ok(())
            }
        })
        .await?;
        let (s_svc, w_svc) = timed(n, |i| {
            let b = buildings[i % buildings.len()].clone();
            async move { inventory::building_chart(services, admin, &b).await.map(|_| ()).map_err(svc) }
        })
        .await?;
        let (s_http, w_http) = timed(n, |i| {
            let path = format!("/buildings/{}", buildings[i % buildings.len()]);
            let router = &router;
            async move { get(router, token, &path).await }
        })
        .await?;
        let measures = vec![
            measure("raw_sql", &s_raw, w_raw),
            measure("service", &s_svc, w_svc),
            measure("router", &s_http, w_http),
        ];
        results.push(WorkloadResult {
            name: "W3 sales control chart of one building".into(),
            what: "GET /buildings/{id} (the rendered 销控图 page)".into(),
            ratios: ratios(&measures, noop_p50),
            measures,
            findings: Vec::new(),
        });
    }

    if on("W3") {
        // Issue #3: the chart of a 264-unit building in a project of 50,000 units,
        // and a project-wide search with combined filters.
        let started = Instant::now();
        let project = inventory::create_project(
            services,
            admin,
            inventory::NewProject { name: Some("大盘五万套".into()), city: Some("成都".into()) },
        )
        .await
        .map_err(svc)?;
        let now = loupan_store::now();
        let mut big_buildings = Vec::new();
        const LAYOUTS: [(&str, &str, &str); 4] = [
            ("3室2厅", "119.37", "98.71"),
            ("2室2厅", "89.12", "73.01"),
            ("4室2厅", "142.80", "117.02"),
            ("3室2厅", "105.46", "87.65"),
        ];
        for b in 0..190 {
            let building = inventory::create_building(
                services,
                admin,
                &project.id,
                inventory::NewBuilding {
                    name: Some(format!("{}号楼", b + 1)),
                    phase: Some(format!("{}期", b / 50 + 1)),
                    ..Default::default()
                },
            )
            .await
            .map_err(svc)?;
            let mut rows = Vec::with_capacity(264);
            for floor in 1..=33 {
                for stack in 0..8 {
                    let (layout, gross, inner) = LAYOUTS[stack % LAYOUTS.len()];
                    let area = |text: &str| loupan_domain::Area::parse(text).map_err(|e| anyhow!("{text}: {e:?}"));
                    let (gross, inner) = (area(gross)?, area(inner)?);
                    // Yuan per m2, rising with the floor and the building.
                    let price = gross.priced_at(loupan_domain::Money::yuan(15_000 + 40 * i64::from(floor) + 97 * b));
                    rows.push(loupan_store::inventory::UnitRow {
                        id: loupan_store::new_id().into(),
                        building_id: building.id.clone(),
                        project_id: project.id.clone(),
                        floor,
                        number: format!("{floor}{:02}", stack + 1),
                        layout: layout.into(),
                        gross_area: gross,
                        inner_area: inner,
                        list_price: price,
                        status: if (floor + stack as i32) % 5 == 0 {
                            loupan_domain::inventory::UnitStatus::Contracted
                        } else {
                            loupan_domain::inventory::UnitStatus::Available
                        },
                        property_type: loupan_domain::inventory::PropertyType::Residential,
                        orientation: Some(if stack % 2 == 0 { "南北通透" } else { "朝南" }.into()),
                        decoration: Some(loupan_domain::inventory::Decoration::Shell),
                        floor_price: Some(price.times_percent(97)),
                        measured_gross_area: None,
                        measured_inner_area: None,
                        entrance: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    });
                }
            }
            let tx = services.store.begin_write().await?;
            loupan_store::bulk::insert_units(&tx, &rows).await?;
            tx.commit().await?;
            big_buildings.push(building.id);
        }
        let seeded_in = started.elapsed();
        let n = 200;
        let (s_raw, w_raw) = timed(n, |i| {
            let b = big_buildings[i % big_buildings.len()].clone();
            async move {
                loupan_store::raw::query_count(
                    conn,
                    "SELECT * FROM units WHERE building_id = $1 ORDER BY floor DESC, number",
                    vec![b.into()],
                )
                .await?;
                Ok(())
            }
        })
        .await?;
        let (s_http, w_http) = timed(n, |i| {
            let path = format!("/buildings/{}", big_buildings[i % big_buildings.len()]);
            let router = &router;
            async move { get(router, token, &path).await }
        })
        .await?;
        let search = |i: usize| inventory::UnitQuery {
            project_id: Some(project.id.to_string()),
            status: Some("available".into()),
            layout: Some("3室2厅".into()),
            min_floor: Some(5 + (i % 10) as i32),
            max_floor: Some(25),
            min_total_price: Some("1500000".into()),
            max_total_price: Some("3000000".into()),
            orientation: Some("南北通透".into()),
            sort: Some("price".into()),
            ..Default::default()
        };
        let (s_search, w_search) = timed(n, |i| {
            let q = search(i);
            async move { inventory::search_units(services, admin, q, None, 50).await.map(|_| ()).map_err(svc) }
        })
        .await?;
        let mut chart = measure("router", &s_http, w_http);
        chart.path = "router: 销控图 page, 264 units".into();
        let mut raw = measure("raw_sql", &s_raw, w_raw);
        raw.path = "raw_sql: the building's units".into();
        let mut found = measure("service", &s_search, w_search);
        found.path = "service: project-wide search, 7 filters, by price, 50 a page".into();
        let measures = vec![raw, chart, found];
        results.push(WorkloadResult {
            name: "W3 chart in a 50,000-unit project".into(),
            what: "190 buildings × 264 units in one project; GET /buildings/{id}; unit search across the project"
                .into(),
            ratios: Vec::new(),
            measures,
            findings: vec![format!("project of 50,160 units written in {:.1}s", seeded_in.as_secs_f64())],
        });
    }

    if on("W4") {
        // Issue #6: 100 hot units, 2,000 buyers at once; each offers the unit's list price.
        let hot: Vec<(ProjectId, UnitId)> = seeded.available_units.iter().take(100).cloned().collect();
        let buyers = 2000;
        let mut prices: HashMap<UnitId, String> = HashMap::new();
        for (_, unit) in &hot {
            if let Some(u) = loupan_store::inventory::find_unit(conn, unit).await? {
                prices.insert(unit.clone(), u.list_price.to_string());
            }
        }
        let by_project: HashMap<&str, Vec<&CustomerId>> =
            seeded.customer_ids.iter().fold(HashMap::new(), |mut m, (p, c)| {
                m.entry(p.as_str()).or_insert_with(Vec::new).push(c);
                m
            });
        let mut tasks = Vec::new();
        let wall = Instant::now();
        for i in 0..buyers {
            let (project, unit) = hot[i % hot.len()].clone();
            let customers = by_project.get(project.as_str()).cloned().unwrap_or_default();
            let Some(customer) = customers.get(i % customers.len().max(1)).map(|c| c.to_string()) else { continue };
            let method = seeded.methods[seeded.projects.iter().position(|p| *p == project).unwrap_or(0)].clone();
            let services = services.clone();
            let admin = admin.clone();
            let price = prices.get(&unit).cloned().unwrap_or_default();
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let form = sales::NewSubscription {
                    buyers: Vec::new(),
                    unit_id: Some(unit.to_string()),
                    customer_id: Some(customer),
                    total_price: Some(price),
                    deposit: Some("50000.00".into()),
                    payment_method_id: Some(method),
                    subscribed_on: Some("2026-11-27".into()),
                };
                let outcome = sales::subscribe(&services, &admin, form).await;
                let other = match &outcome {
                    Ok(_) | Err(loupan_service::ServiceError::Conflict(_)) => None,
                    Err(e) => Some(e.to_string()),
                };
                (unit, outcome.is_ok(), other, t.elapsed())
            }));
        }
        let mut wins: HashMap<UnitId, usize> = HashMap::new();
        let mut samples = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for t in tasks {
            let (unit, ok, other, d) = t.await?;
            samples.push(d);
            if ok {
                *wins.entry(unit).or_default() += 1;
            } else if let Some(e) = other {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
        let wall = wall.elapsed();
        let double_sales = wins.values().filter(|n| **n > 1).count();
        let mut stored_doubles = 0;
        for (_, unit) in &hot {
            let n = loupan_store::raw::query_count(
                conn,
                "SELECT id FROM subscriptions WHERE unit_id = $1 AND status = 'active'",
                vec![unit.clone().into()],
            )
            .await?;
            if n > 1 {
                stored_doubles += 1;
            }
        }
        results.push(WorkloadResult {
            name: "W4 flash sale".into(),
            what: format!("{buyers} concurrent buyers racing for {} hot units (service layer, one process)", hot.len()),
            measures: vec![measure("service", &samples, wall)],
            ratios: Vec::new(),
            findings: vec![
                format!("units sold: {} of {}", wins.len(), hot.len()),
                format!("double sales reported: {double_sales}; units with more than one active subscription in the database: {stored_doubles}"),
                format!(
                    "attempts failing other than with 409: {errors}{}",
                    first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
                ),
            ],
        });
    }

    if on("W5") {
        let units: Vec<(ProjectId, UnitId)> = seeded.available_units.iter().skip(100).take(200).cloned().collect();
        let by_project: HashMap<&ProjectId, &CustomerId> = seeded.customer_ids.iter().map(|(p, c)| (p, c)).collect();
        let mut contract_ids = Vec::new();
        let mut s_k = Vec::new();
        let started = Instant::now();
        for (project, unit) in &units {
            let method = seeded.methods[seeded.projects.iter().position(|p| p == project).unwrap_or(0)].clone();
            // The list price: a lower one would need a special approval.
            let price = loupan_store::inventory::find_unit(conn, unit).await?.map(|u| u.list_price).unwrap_or_default();
            let form = sales::NewContract {
                unit_id: Some(unit.to_string()),
                customer_id: by_project.get(&project).map(|c| c.to_string()),
                payment_method_id: Some(method),
                total_price: Some(price.to_string()),
                signed_on: Some("2026-11-27".into()),
                ..Default::default()
            };
            let t = Instant::now();
            let k = sales::sign_contract(services, admin, form).await.map_err(svc)?;
            s_k.push(t.elapsed());
            let k = k.signed().ok_or_else(|| anyhow!("a standard method left the contract waiting for approval"))?;
            contract_ids.push(k.id.to_string());
        }
        let w_k = started.elapsed();
        // Each step of a receipt on its own: the cashier posts it (one write
        // transaction: number, receipt, audit trail), the bank confirms it, finance
        // audits it (allocation to the plan).
        let (mut s_post, mut s_arrive, mut s_audit) = (Vec::new(), Vec::new(), Vec::new());
        for contract in &contract_ids {
            let form = finance::NewReceipt {
                contract_id: Some(contract.clone()),
                amount: Some("100000.00".into()),
                received_on: Some("2026-11-27".into()),
                channel: Some("transfer".into()),
                ..Default::default()
            };
            let t = Instant::now();
            let r = finance::record_receipt(services, admin, form).await.map_err(svc)?;
            s_post.push(t.elapsed());
            let t = Instant::now();
            finance::mark_arrived(services, admin, &r.id).await.map_err(svc)?;
            s_arrive.push(t.elapsed());
            let t = Instant::now();
            finance::audit_receipt(services, admin, &r.id).await.map_err(svc)?;
            s_audit.push(t.elapsed());
        }
        let busy = |s: &[Duration]| s.iter().sum::<Duration>();
        // Several cashiers at once: 8 posting concurrently, 2 receipts per contract each.
        let workers = 8;
        let per_worker = contract_ids.len() * 2 / workers;
        let wall = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (services, admin) = (services.clone(), admin.clone());
            let contracts: Vec<String> =
                (0..per_worker).map(|j| contract_ids[(w * per_worker + j) % contract_ids.len()].clone()).collect();
            tasks.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                for contract in contracts {
                    let form = finance::NewReceipt {
                        contract_id: Some(contract),
                        amount: Some("1000.00".into()),
                        received_on: Some("2026-11-27".into()),
                        channel: Some("pos".into()),
                        ..Default::default()
                    };
                    let t = Instant::now();
                    finance::record_receipt(&services, &admin, form).await.map_err(svc)?;
                    samples.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(samples)
            }));
        }
        let mut s_concurrent = Vec::new();
        for t in tasks {
            s_concurrent.extend(t.await??);
        }
        let w_concurrent = wall.elapsed();
        let mut contract = measure("service", &s_k, w_k);
        contract.path = "service: contract with plan".into();
        let mut post = measure("service", &s_post, busy(&s_post));
        post.path = "service: receipt posted".into();
        let mut concurrent = measure("service", &s_concurrent, w_concurrent);
        concurrent.path = format!("service: receipt posted, {workers} cashiers at once");
        let mut arrive = measure("service", &s_arrive, busy(&s_arrive));
        arrive.path = "service: arrival confirmed".into();
        let mut audit = measure("service", &s_audit, busy(&s_audit));
        audit.path = "service: audit with allocation".into();
        let mut findings = Vec::new();
        if format!("{:?}", services.store.backend()).to_lowercase().contains("sqlite") {
            findings.push("SQLite runs with synchronous=FULL (the shipped setting)".to_owned());
        }
        findings.push(format!(
            "a receipt through all three steps: {:.0} per second (one cashier)",
            s_post.len() as f64 / (busy(&s_post) + busy(&s_arrive) + busy(&s_audit)).as_secs_f64().max(1e-9)
        ));
        let body = |i: usize| {
            serde_json::json!({
                "contract_id": contract_ids[i % contract_ids.len()],
                "amount": "1.00",
                "received_on": "2026-11-27",
                "channel": "pos",
            })
        };
        let name = "W5 receipts over the socket, closed loop";
        let socket = writers_over_the_socket(database_url, token, name, "/api/v1/finance/receipts", body).await?;
        results.push(WorkloadResult {
            name: "W5 contracts and receipts".into(),
            what: "sales::sign_contract (unit write, plan, timeline, audit); each step of a receipt timed on its own"
                .into(),
            measures: vec![contract, post, concurrent, arrive, audit],
            ratios: Vec::new(),
            findings,
        });
        results.push(socket);
    }

    if on("C1") {
        results.extend(crate::cost::run(services, seeded, noop_p50, cost_contracts).await?);
    }
    if on("W7") {
        results.push(crate::letters::run(services, seeded, &router, scale, 10_000).await?);
    }
    if on("S8") {
        results.push(crate::questionnaires::run(services, seeded, &router, noop_p50).await?);
    }
    if on("C4") {
        results.push(crate::cases::run(services, seeded, &router, noop_p50).await?);
    }
    if on("A3") {
        results.push(crate::compensation::run(services, seeded, &router).await?);
    }
    if on("A1") {
        results.push(crate::processes::run(services, seeded, &router).await?);
    }
    if on("A4") {
        results.push(crate::handover::run(services, seeded, &router).await?);
    }
    if on("W6") {
        let rounds = 15;
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();
        // The raw side replays the statement the service sends: the per-contract
        // bucket sums over every unpaid instalment.
        let bounds = loupan_domain::sales::AgeingBuckets::default().ranges(as_of);
        // Each round runs the paths one after the other, so that whatever
        // drifts during the run (cache, other load) weighs on all of them alike.
        let (mut s_raw, mut s_store, mut s_svc, mut s_http, mut s_all) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            // The reference: the statement over every open instalment the report
            // ran before it kept balances.
            let t = Instant::now();
            let statement = loupan_store::sales::ageing_statement(conn, None, None, &bounds);
            loupan_store::raw::statement_count(conn, statement).await?;
            s_raw.push(t.elapsed());
            // The storage layer's part of the report: totals from the kept days,
            // and the first page of 50 contracts, most overdue first.
            let t = Instant::now();
            loupan_store::balances::ageing_totals(conn, None, None, &bounds).await?;
            loupan_store::balances::ageing_by_contract(conn, None, None, &bounds, Some(50)).await?;
            s_store.push(t.elapsed());
            let t = Instant::now();
            finance::ageing(services, admin, as_of, None, Some(50)).await.map_err(svc)?;
            s_svc.push(t.elapsed());
            let t = Instant::now();
            get(&router, token, "/api/v1/finance/reports/ageing?as_of=2026-11-27&limit=50").await?;
            s_http.push(t.elapsed());
            let t = Instant::now();
            finance::ageing(services, admin, as_of, None, None).await.map_err(svc)?;
            s_all.push(t.elapsed());
        }
        let busy = |s: &[Duration]| s.iter().sum::<Duration>();
        let mut all = measure("service", &s_all, busy(&s_all));
        all.path = "service: every contract that owes".into();
        let measures = vec![
            measure("raw_sql", &s_raw, busy(&s_raw)),
            measure("store", &s_store, busy(&s_store)),
            measure("service", &s_svc, busy(&s_svc)),
            measure("router", &s_http, busy(&s_http)),
            all,
        ];
        results.push(WorkloadResult {
            name: "W6 ageing report".into(),
            what: "totals and the first 50 contracts, most overdue first, from the kept open balances; raw_sql is the reference: the GROUP BY over every open instalment of every active contract, per contract and bucket".into(),
            ratios: ratios(&measures, noop_p50),
            measures,
            findings: vec![format!(
                "fastest round, ms: raw_sql {:.1}, store {:.1}, service {:.1}, router {:.1}",
                fastest(&s_raw),
                fastest(&s_store),
                fastest(&s_svc),
                fastest(&s_http)
            )],
        });
    }
    Ok(results)
}

/// Writes per run of [`writers_over_the_socket`].
const WRITES_OVER_THE_SOCKET: usize = 800;

/// Bodies made by `body` posted to `path` by 4 and then 16 clients at once,
/// each waiting for its answer before the next (`network::closed_loop`), first
/// with SQLite's writers in Loupan's queue and then, for comparison, left to
/// SQLite's busy handler as before the queue (on PostgreSQL both runs are the
/// same code).
async fn writers_over_the_socket(
    database_url: &str,
    token: &str,
    name: &str,
    path: &str,
    mut body: impl FnMut(usize) -> serde_json::Value,
) -> Result<WorkloadResult> {
    let mut measures = Vec::new();
    let mut findings = Vec::new();
    for writer_queue in [true, false] {
        let how = if writer_queue { "writers queued" } else { "busy handler (before the queue)" };
        let runs = [4, 16]
            .into_iter()
            .map(|clients| crate::network::Clients {
                label: format!("{clients} clients, {how}"),
                requests: (0..WRITES_OVER_THE_SOCKET)
                    .map(|i| crate::network::Request { path: path.to_owned(), body: Some(body(i)) })
                    .collect(),
                clients,
            })
            .collect();
        let setup = Setup { writer_queue, ..Setup::PINNED };
        closed_loop(database_url, token, setup, runs, &mut measures, &mut findings).await?;
    }
    Ok(WorkloadResult {
        name: name.into(),
        what: format!("POST {path} over a TCP port, {WRITES_OVER_THE_SOCKET} requests per run"),
        ratios: Vec::new(),
        measures,
        findings,
    })
}

/// Runs `runs` through `network::closed_loop` and adds each one's latencies
/// and what it cost per request (CPU of the server and of PostgreSQL,
/// statements) to `measures` and `findings`.
async fn closed_loop(
    database_url: &str,
    token: &str,
    setup: Setup,
    runs: Vec<crate::network::Clients>,
    measures: &mut Vec<Measure>,
    findings: &mut Vec<String>,
) -> Result<()> {
    let (url, token) = (database_url.to_owned(), token.to_owned());
    let (run, costs) =
        tokio::task::spawn_blocking(move || crate::network::closed_loop(&url, &token, runs, setup)).await??;
    for (s, cost) in run.streams.iter().zip(costs) {
        // The costs cover every request, the first ones too.
        let requests = (s.latencies.len() + s.first.len()).max(1) as f64;
        let per_request = |d: Duration| d.as_secs_f64() * 1e6 / requests;
        let slowest_first = s.first.iter().max().copied().unwrap_or_default();
        findings.push(format!(
            "{}: {} requests measured after each client's first ({} first requests, which open the connections: slowest {:.2} ms), {} failed, {:.0} µs of server CPU, {:.0} µs of PostgreSQL CPU and {:.0} µs of the load generator's per request, {:.1} statements per request",
            s.label,
            s.latencies.len(),
            s.first.len(),
            slowest_first.as_secs_f64() * 1e3,
            s.errors,
            per_request(cost.server_cpu),
            per_request(cost.database_cpu),
            per_request(cost.load_cpu),
            cost.statements as f64 / requests,
        ));
        let mut measured = measure(&format!("network: {}", s.label), &s.latencies, s.wall);
        measured.per_second = requests / s.wall.as_secs_f64().max(1e-9);
        measures.push(measured);
    }
    if setup.placement == Placement::Pinned && !run.pinned {
        findings.push("server and load generator not pinned to cores (one core, or taskset unavailable)".into());
    }
    Ok(())
}

pub fn write_results(
    out: &Path,
    backend: &str,
    scale: Scale,
    seeded: &Seeded,
    results: &[WorkloadResult],
) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let scale = format!("{scale:?}").to_lowercase();
    let machine = serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "loupan": env!("CARGO_PKG_VERSION"),
        "measured_on": chrono::Utc::now().to_rfc3339(),
        "peak_rss_mib": peak_rss_mib(),
    });
    let doc = serde_json::json!({ "machine": machine, "backend": backend, "scale": scale, "data": seeded.counts, "workloads": results });
    std::fs::write(out.join(format!("{backend}-{scale}.json")), serde_json::to_string_pretty(&doc)?)?;
    let mut md = format!(
        "# Loupan benchmark: {backend}, {scale} scale\n\n{} · {} CPUs · {} build · {}\n\nData: {}\n\n| workload | path | n | p50 ms | p99 ms | max ms | per s |\n|---|---|---|---|---|---|---|\n",
        std::env::consts::OS,
        machine["cpus"],
        machine["profile"].as_str().unwrap_or_default(),
        machine["measured_on"].as_str().unwrap_or_default(),
        seeded.summary()
    );
    for r in results {
        for m in &r.measures {
            md.push_str(&format!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} |\n",
                r.name, m.path, m.n, m.p50_ms, m.p99_ms, m.max_ms, m.per_second
            ));
        }
    }
    if let Some(rss) = machine["peak_rss_mib"].as_f64() {
        md.push_str(&format!(
            "\nPeak RSS of the benchmark process (the server runs in it; seeding included): {rss:.0} MiB\n"
        ));
    }
    md.push_str("\n## Ratios and findings\n\n");
    for r in results {
        md.push_str(&format!("- **{}** ({})", r.name, r.what));
        for (k, v) in &r.ratios {
            md.push_str(&format!("; {k} = {v:.2}"));
        }
        for f in &r.findings {
            md.push_str(&format!("; {f}"));
        }
        md.push('\n');
    }
    std::fs::write(out.join(format!("{backend}-{scale}.md")), &md)?;
    println!("{md}");
    Ok(())
}
