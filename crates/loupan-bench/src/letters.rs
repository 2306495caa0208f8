//! W7: a batch of printed letters into one PDF, as the notice job makes it,
//! with phone lookups (W1) timed through the router while it runs, and the
//! process's resident memory sampled every 20 ms.
//!
//! The seeded projects hold at most a few thousand contracts each, and a
//! batch belongs to one project, so the 10,000 letters go to the customers of
//! the first project, one each, in the payment reminder's layout (running
//! header and footer, a title, paragraphs with the customer's name, an
//! instalment-like table, the sender on the right).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use loupan_domain::ids::CustomerId;
use loupan_service::Services;
use loupan_service::notices::{self, Audience, NewBatch, NewTemplate};

use crate::data::Seeded;
use crate::workloads::{Measure, WorkloadResult, form_urlencoded_path, get, measure, svc};

const LETTER: &str = "@header {{ project.name }} 营销中心\n@footer 第 {page} 页 共 {pages} 页\n# 缴款提示函\n\n尊敬的 {{ customer.name }} 先生/女士：\n\n感谢您选择{{ project.name }}。根据您与我司签订的商品房买卖合同，请按下表所列日期足额缴纳房款；如已缴付，请忽略本函。逾期缴款将按合同约定计收违约金。\n\n| 期次 | 到期日 | 应缴（元） | 备注 |\n|---|---|---:|---|\n| 1 | 2026年1月15日 | 300,000.00 | 首付款 |\n| 2 | 2026年3月15日 | 200,000.00 | |\n| 3 | 2026年5月15日 | 200,000.00 | |\n| 4 | 2026年7月15日 | 300,000.00 | 尾款 |\n\n如有疑问，请致电售楼处财务室。\n\n@right {{ project.name }} 营销中心\n@right {{ today|cn_date }}";

/// Current resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0.0, |kib: f64| kib / 1024.0)
}

pub async fn run(
    services: &Services,
    seeded: &Seeded,
    router: &axum::Router,
    letters: usize,
) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let conn = services.store.conn();
    // The seeded projects are alike: the first one's customers, up to `letters`.
    let project = seeded.projects.first().cloned().ok_or_else(|| anyhow!("no project seeded"))?;
    let ids = loupan_store::raw::query_column(
        conn,
        &format!("SELECT id FROM customers WHERE project_id = $1 ORDER BY id LIMIT {letters}"),
        vec![project.as_str().to_owned().into()],
        "id",
    )
    .await?;
    let customer_ids: Vec<CustomerId> = ids.into_iter().map(CustomerId::from).collect();
    let template = notices::create_template(
        services,
        admin,
        NewTemplate {
            kind: Some("free".into()),
            channel: Some("letter".into()),
            name: Some("缴款提示函".into()),
            project_id: None,
            body: Some(LETTER.into()),
            ..Default::default()
        },
    )
    .await
    .map_err(svc)?;
    let batch = notices::create_batch(
        services,
        admin,
        NewBatch {
            template_id: template.id.clone(),
            project_id: project,
            audience: Audience::Customers { customer_ids },
            as_of: None,
        },
    )
    .await
    .map_err(svc)?;

    // While the batch runs: phone lookups through the router, and the memory.
    let done = Arc::new(AtomicBool::new(false));
    let phones: Vec<String> = seeded.sample_customers.iter().map(|c| c.2.clone()).collect();
    let lookups = {
        let (done, router, token) = (done.clone(), router.clone(), seeded.admin_token.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let path = format!("/api/v1/customers?q={}", form_urlencoded_path(&phones[i % phones.len()]));
                let t = Instant::now();
                get(&router, &token, &path).await?;
                samples.push(t.elapsed());
                i += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok::<_, anyhow::Error>(samples)
        })
    };
    let memory = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak: f64 = 0.0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let before = rss_mib();
    let started = Instant::now();
    let mut runs = 0;
    loop {
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        runs += loupan_service::platform::jobs::run_due(services, "bench", now).await.map_err(svc)?;
        let b = notices::get_batch(services, admin, &batch.id).await.map_err(svc)?;
        if b.status == loupan_domain::notices::BatchStatus::Done {
            break;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            return Err(anyhow!("the batch did not finish in an hour"));
        }
    }
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let lookup_samples = lookups.await??;
    let peak = memory.await?;
    let done_batch = notices::get_batch(services, admin, &batch.id).await.map_err(svc)?;
    let pdf = notices::batch_letters(services, admin, &batch.id).await.map_err(svc)?;
    let pdf_bytes = services.files.head(&format!("notices/{}.pdf", batch.id)).await?.unwrap_or_default();
    drop(pdf);
    let sent = usize::try_from(done_batch.sent).unwrap_or_default();
    let per_letter = vec![took / u32::try_from(sent.max(1)).unwrap_or(1); sent];
    let mut batch_measure: Measure = measure("service: notice job, letters into one PDF", &per_letter, took);
    batch_measure.p99_ms = batch_measure.p50_ms;
    let lookup = measure("router: W1 phone lookup while the batch runs", &lookup_samples, took);
    Ok(WorkloadResult {
        name: "W7 letter batch".into(),
        what: format!(
            "a batch of {sent} printed letters (header, footer, table, right-aligned sender) rendered, recorded on each customer's timeline and written into one PDF by the notice job"
        ),
        findings: vec![
            format!(
                "{:.0} letters per second ({sent} in {:.1} s, {runs} job runs)",
                sent as f64 / took.as_secs_f64(),
                took.as_secs_f64()
            ),
            format!("the PDF: {:.1} MiB", pdf_bytes as f64 / 1024.0 / 1024.0),
            format!("resident memory: {before:.0} MiB before, {peak:.0} MiB at most while the batch ran"),
            format!("W1 phone lookup while it ran: p99 {:.1} ms over {} requests", lookup.p99_ms, lookup.n),
        ],
        measures: vec![batch_measure, lookup],
        ratios: Vec::new(),
    })
}
