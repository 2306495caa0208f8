//! C4: the SLA report over 200,000 customer-service cases registered this
//! year across the seeded projects (most answered within hours and closed
//! with a score, some late, some still open). The targets: under
//! 200 ms and at most 1.5 times the raw SQL it replays (the report's two
//! statements: the period's cases grouped, and the open backlog by age).

use anyhow::Result;
use chrono::{Datelike, Duration, NaiveDate};
use loupan_domain::cases::{CaseChannel, CaseKind, CasePriority, CaseStatus};
use loupan_domain::ids::CaseId;
use loupan_service::Services;
use loupan_service::cases::reports::{self, ReportQuery};
use loupan_store::cases::{CaseFilter, CaseRow, ReportKey};

use crate::data::{Rng, Seeded};
use crate::workloads::{WorkloadResult, get, measure, svc, timed};

const CASES: usize = 200_000;

pub async fn run(services: &Services, seeded: &Seeded, router: &axum::Router, noop_p50: f64) -> Result<WorkloadResult> {
    let clock = &services.clock;
    let today = clock.today();
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let days = (today - year_start).num_days().max(1);
    let start = clock.start_of_day(year_start);
    let now = clock.now();
    let mut rng = Rng::new(4);
    let seeding = std::time::Instant::now();
    let calendar = loupan_service::cases::settings::calendar(services.store.conn()).await.map_err(svc)?;
    let mut rows = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let project = seeded.projects[i % seeded.projects.len()].clone();
        let registered_at =
            start + Duration::minutes(rng.below(days as u64 * 24 * 60) as i64).min(now - start - Duration::minutes(1));
        let kind = *rng.pick(&CaseKind::ALL);
        let answered = rng.below(100) < 90;
        let first_response_at = answered.then(|| registered_at + Duration::minutes(rng.below(8 * 60) as i64));
        let replied_at = first_response_at
            .filter(|_| rng.below(100) < 85)
            .map(|at| at + Duration::minutes(rng.below(72 * 60) as i64));
        let closed = replied_at.is_some() && rng.below(100) < 80;
        let status = match (first_response_at, replied_at, closed) {
            (_, Some(_), true) => CaseStatus::Closed,
            (_, Some(_), false) => CaseStatus::Replied,
            (Some(_), None, _) => CaseStatus::InProgress,
            (None, ..) => CaseStatus::Registered,
        };
        // Answers in the future of the clock did not happen yet.
        let (first_response_at, replied_at) =
            (first_response_at.filter(|at| *at <= now), replied_at.filter(|at| *at <= now));
        rows.push(CaseRow {
            id: CaseId::from(loupan_store::new_id()),
            number: format!("BJ{i:07}"),
            project_id: project,
            kind,
            category_id: None,
            priority: CasePriority::Normal,
            channel: CaseChannel::Phone,
            status,
            customer_id: None,
            unit_id: None,
            contract_id: None,
            caller_name: "业主".into(),
            caller_phone: None,
            description: "楼道灯不亮，请尽快维修。".into(),
            assignee_id: seeded.admin.user_id.clone(),
            supervisor_id: None,
            registered_by: None,
            registered_at,
            response_remind_at: registered_at + Duration::hours(3),
            response_due_at: registered_at + Duration::hours(4),
            resolution_remind_at: registered_at + Duration::hours(36),
            resolution_due_at: registered_at + Duration::hours(48),
            first_response_at,
            replied_at,
            reply: replied_at.map(|_| "已修复".to_owned()),
            confirmed_at: None,
            closed_at: if status == CaseStatus::Closed { replied_at } else { None },
            satisfaction: (status == CaseStatus::Closed).then(|| 1 + rng.below(5) as i32),
            callback_note: None,
            merged_into: None,
            response_reminded_at: None,
            response_escalated_at: None,
            resolution_reminded_at: None,
            resolution_escalated_at: None,
            version: 1,
            response_minutes: None,
            resolution_minutes: None,
        });
        if let Some(row) = rows.last_mut() {
            loupan_service::cases::count_minutes(row, &calendar, clock);
        }
    }
    let tx = services.store.begin_write().await?;
    loupan_store::bulk::insert_service_cases(&tx, &rows).await?;
    tx.commit().await?;
    crate::workloads::settle(services).await?;
    let mut findings = vec![format!(
        "seeded {CASES} cases registered since {year_start} over {} projects in {:.1} s",
        seeded.projects.len(),
        seeding.elapsed().as_secs_f64()
    )];

    let n = 15;
    let admin = &seeded.admin;
    let token = &seeded.admin_token;
    let conn = services.store.conn();
    let backend = conn.get_database_backend();
    let period = CaseFilter {
        registered_from: Some(clock.start_of_day(year_start)),
        registered_to: Some(clock.start_of_day(today + Duration::days(1))),
        ..CaseFilter::default()
    };
    let cuts: Vec<_> = [30, 7, 3, 1].iter().map(|d| now - Duration::days(*d)).collect();
    let (s_raw, w_raw) = timed(n, |_| async {
        let a = loupan_store::raw::statement_count(
            conn,
            loupan_store::cases::sla_statement(backend, &period, &ReportKey::Kind, now),
        )
        .await?;
        let b =
            loupan_store::raw::statement_count(conn, loupan_store::cases::backlog_statement(backend, &period, &cuts))
                .await?;
        Ok::<_, anyhow::Error>(a + b)
    })
    .await?;
    let (s_svc, w_svc) =
        timed(n, |_| async { reports::sla(services, admin, &ReportQuery::default()).await.map(|_| ()).map_err(svc) })
            .await?;
    let (s_router, w_router) = timed(n, |_| get(router, token, "/api/v1/service/reports/sla")).await?;
    let (s_month, w_month) = timed(n, |_| get(router, token, "/api/v1/service/reports/sla?by=month")).await?;
    let mut by_month = measure("router", &s_month, w_month);
    by_month.path = "router: by month".into();
    let measures = vec![
        measure("raw_sql", &s_raw, w_raw),
        measure("service", &s_svc, w_svc),
        measure("router", &s_router, w_router),
        by_month,
    ];
    let ratios = crate::workloads::ratios(&measures, noop_p50);
    let router_p50 = measures[2].p50_ms;
    findings.push(format!(
        "SLA report by kind for the year through the router: p50 {router_p50:.1} ms, p99 {:.1} ms (target < 200 ms, ≤ 1.5 × raw)",
        measures[2].p99_ms
    ));
    Ok(WorkloadResult {
        name: "C4 SLA report".into(),
        what: format!(
            "GET /api/v1/service/reports/sla (the year so far, by kind) over {CASES} cases: deadlines met, mean working minutes, backlog"
        ),
        measures,
        ratios,
        findings,
    })
}
