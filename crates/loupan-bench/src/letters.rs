//! W7: a payment-reminder batch into one PDF, as the notice job makes it,
//! with phone lookups (W1) timed through the router while it runs, and the
//! process's resident memory sampled every 20 ms.
//!
//! A batch belongs to one project and the seeded projects hold a few hundred
//! contracts each (full scale), so W7 seeds a project of its own first:
//! 10,500 units under contract, signed over 2024–2026 on the scale's plan,
//! older instalments mostly paid. The batch goes to every contract overdue
//! at least 30 days today, in the payment reminder Loupan ships (letterhead
//! and logo, the arrears in figures and capitals, the plan's instalments as
//! a table).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use loupan_domain::notices::NoticeKind;
use loupan_service::Services;
use loupan_service::notices::{self, Audience, NewBatch, NewTemplate};

use crate::data::Seeded;
use crate::workloads::{Measure, WorkloadResult, form_urlencoded_path, get, measure, svc};

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
    scale: crate::Scale,
    letters: usize,
) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let shape = crate::data::Shape {
        projects: 1,
        buildings_per_project: 20,
        floors: 25,
        stacks: letters.div_ceil(20 * 25) + 1,
        customers_per_project: letters + letters / 20,
        contracted_percent: 100,
        terms: crate::data::shape(scale).terms,
    };
    let names = ("催款示范项目".to_owned(), "agent_w7".to_owned());
    let mut rng = crate::data::Rng::new(7);
    let terms = crate::data::plan_terms(shape.terms);
    let seeding = Instant::now();
    let project =
        crate::data::seed_project(services, &mut rng, &shape, &terms, &names, "Bench-admin-password-1").await?;
    println!(
        "W7: seeded a project of {} contracts in {:.1} s",
        project.counts.contracts,
        seeding.elapsed().as_secs_f64()
    );
    // The letterhead and logo the reminder signs with.
    let logo =
        notices::printed::upload_picture(services, admin, loupan_service::demo::LOGO.to_vec()).await.map_err(svc)?.0;
    notices::letterhead::set_letterhead(
        services,
        admin,
        notices::letterhead::LetterheadForm {
            name: Some("翠湖置业有限公司".into()),
            address: Some("苏州市工业园区翠湖路 1 号".into()),
            phone: Some("0512-8888 6666".into()),
            logo: Some(logo),
        },
    )
    .await
    .map_err(svc)?;
    let (name, body) = notices::sample_templates()
        .remove(&NoticeKind::PaymentReminder)
        .ok_or_else(|| anyhow!("Loupan ships no payment reminder"))?;
    let template = notices::create_template(
        services,
        admin,
        NewTemplate {
            kind: Some("payment_reminder".into()),
            channel: Some("letter".into()),
            name: Some(name.into()),
            project_id: None,
            body: Some(body.into()),
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
            project_id: project.id.clone(),
            audience: Audience::Arrears { min_days: 30 },
            as_of: None,
            details: Default::default(),
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
    let finished = run_to_the_end(services, admin, &batch.id).await;
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (done_batch, runs) = finished?;
    let lookup_samples = lookups.await??;
    let peak = memory.await?;
    let pdf = notices::batch_letters(services, admin, &batch.id).await.map_err(svc)?;
    let pdf_bytes = services.files.head(&format!("notices/{}.pdf", batch.id)).await?.unwrap_or_default();
    drop(pdf);
    let sent = usize::try_from(done_batch.sent).unwrap_or_default();
    let per_letter = vec![took / u32::try_from(sent.max(1)).unwrap_or(1); sent];
    let mut batch_measure: Measure = measure("service: notice job, letters into one PDF", &per_letter, took);
    batch_measure.p99_ms = batch_measure.p50_ms;
    let lookup = measure("router: W1 phone lookup while the batch runs", &lookup_samples, took);
    let mut measures = vec![batch_measure, lookup.clone()];
    let mut email_findings = Vec::new();
    match email_batch(services, admin, &project.id, body).await? {
        Some(mailed) => {
            let per = vec![mailed.took / u32::try_from(mailed.sent.max(1)).unwrap_or(1); mailed.sent];
            let mut m = measure("service: notice job, e-mails to a local SMTP server", &per, mailed.took);
            m.p99_ms = m.p50_ms;
            measures.push(m);
            email_findings.push(format!(
                "the same reminder by e-mail: {:.0} messages per second ({} sent in {:.1} s; the SMTP server received {})",
                mailed.sent as f64 / mailed.took.as_secs_f64(),
                mailed.sent,
                mailed.took.as_secs_f64(),
                mailed.received
            ));
        }
        None => email_findings.push("e-mail not measured: no python3 with aiosmtpd for the local SMTP server".into()),
    }
    Ok(WorkloadResult {
        name: "W7 letter batch".into(),
        what: format!(
            "a payment-reminder batch to every contract overdue at least 30 days in a project of {} contracts: {sent} letters (letterhead, logo, arrears in figures and capitals, the plan's instalments as a table) rendered, recorded on each customer's timeline and written into one PDF by the notice job",
            project.counts.contracts
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
        ]
        .into_iter()
        .chain(email_findings)
        .collect(),
        measures,
        ratios: Vec::new(),
    })
}

/// What the e-mail batch did.
struct Mailed {
    sent: usize,
    took: Duration,
    /// Messages the SMTP server wrote down.
    received: usize,
}

/// The same payment reminder by e-mail to every overdue buyer of `project`
/// (each given an address first), through the SMTP server of Loupan's tests
/// (`tests/smtp/receiver.py`, aiosmtpd) on a loopback port. None when this
/// machine has no aiosmtpd.
async fn email_batch(
    services: &Services,
    admin: &loupan_service::Actor,
    project: &loupan_domain::ids::ProjectId,
    body: &str,
) -> Result<Option<Mailed>> {
    use std::io::BufRead;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/receiver.py");
    let out = std::env::temp_dir().join(format!("loupan-bench-smtp-{}.jsonl", loupan_store::new_id()));
    let Ok(mut child) = std::process::Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return Ok(None);
    };
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    }
    let Some(port) = line.strip_prefix("listening ").and_then(|p| p.trim().parse::<u32>().ok()) else {
        let _ = child.kill();
        return Ok(None);
    };
    loupan_store::raw::execute(
        services.store.conn(),
        "UPDATE customers SET email = 'buyer-' || id || '@example.com' WHERE project_id = $1",
        vec![project.as_str().to_owned().into()],
    )
    .await?;
    notices::mail::set_smtp(
        services,
        admin,
        notices::mail::SmtpForm {
            host: Some("127.0.0.1".into()),
            port: Some(port),
            security: Some("none".into()),
            sender_name: Some("翠湖置业财务部".into()),
            sender_address: Some("finance@example.com".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(svc)?;
    let template = notices::create_template(
        services,
        admin,
        NewTemplate {
            kind: Some("payment_reminder".into()),
            channel: Some("email".into()),
            name: Some("催款通知书（邮件）".into()),
            subject: Some("{{ project.name }} 催款通知书（合同 {{ contract.number }}）".into()),
            body: Some(body.into()),
            ..Default::default()
        },
    )
    .await
    .map_err(svc)?;
    let batch = notices::create_batch(
        services,
        admin,
        NewBatch {
            template_id: template.id,
            project_id: project.clone(),
            audience: Audience::Arrears { min_days: 30 },
            as_of: None,
            details: Default::default(),
        },
    )
    .await
    .map_err(svc)?;
    let started = Instant::now();
    let finished = run_to_the_end(services, admin, &batch.id).await;
    let took = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let (finished, _) = finished?;
    let received = std::fs::read_to_string(&out).map(|t| t.lines().count()).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    Ok(Some(Mailed { sent: usize::try_from(finished.sent).unwrap_or_default(), took, received }))
}

/// Runs the job queue as a worker does until the batch is done (an hour at
/// most); the batch as it ended and how many jobs ran.
async fn run_to_the_end(
    services: &Services,
    admin: &loupan_service::Actor,
    batch: &loupan_domain::ids::NoticeBatchId,
) -> Result<(notices::Batch, usize)> {
    let started = Instant::now();
    let mut runs = 0;
    loop {
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        runs += loupan_service::platform::jobs::run_due(services, "bench", now).await.map_err(svc)?;
        let b = notices::get_batch(services, admin, batch).await.map_err(svc)?;
        if b.status == loupan_domain::notices::BatchStatus::Done {
            return Ok((b, runs));
        }
        if started.elapsed() > Duration::from_secs(3600) {
            return Err(anyhow!("the batch did not finish in an hour"));
        }
    }
}
