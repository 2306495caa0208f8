//! C1, project cost (issue 19): the dynamic cost of one project whose ledger
//! holds thousands of contracts and ten times as many changes and visas —
//! through the router, the service, and as the raw statement the service
//! sends — and posting a site visa (the control check, the document and its
//! ledger entry in one transaction).

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::NaiveDate;
use loupan_domain::Money;
use loupan_domain::cost::{Bucket, CostContractKind, CostContractStatus, DocumentType, VariationKind, VariationStatus};
use loupan_domain::ids::{CostContractId, CostItemId, CostPostingId, PlanLineId, ProjectId, SupplierId, VariationId};
use loupan_service::{Services, cost, inventory};
use loupan_store::cost::{self as store, ContractLineRow, CostContractRow, PlanLineRow, PostingRow, VariationRow};

use crate::data::{Rng, Seeded};
use crate::workloads::{Measure, WorkloadResult, fastest, get, measure, ratios, svc, timed};

/// Contracts in the project by the size of the seeded group (issue 19: 5,000
/// contracts and 50,000 changes and visas at full scale).
fn contracts_for(seeded: &Seeded) -> usize {
    match seeded.counts.projects {
        p if p >= 100 => 5_000,
        p if p >= 10 => 2_000,
        _ => 500,
    }
}

pub async fn run(
    services: &Services,
    seeded: &Seeded,
    noop_p50: f64,
    contracts: Option<usize>,
) -> Result<Vec<WorkloadResult>> {
    let admin = &seeded.admin;
    let router = loupan_web::app(loupan_web::AppState::new(services.clone(), loupan_web::WebConfig::default()));
    let token = &seeded.admin_token;
    let conn = services.store.conn();
    let mut rng = Rng::new(19);
    let (project, leaves) = project_with_tree(services, admin, "成本基准项目").await?;
    let supplier = cost::add_supplier(
        services,
        admin,
        cost::NewSupplier {
            name: Some("基准总包".into()),
            credit_code: loupan_domain::cost::complete_credit_code("91320100000000001"),
            ..Default::default()
        },
    )
    .await
    .map_err(svc)?;
    let project_id = ProjectId::from(project.id.as_str());
    let contracts = contracts.unwrap_or_else(|| contracts_for(seeded)).max(10);
    let variations = contracts * 10;
    let started = Instant::now();
    seed_ledger(services, &project_id, &leaves, &supplier.id, contracts, variations, &mut rng).await?;
    let seeded_in = started.elapsed();

    // The dynamic cost, four ways in each round.
    let as_of = services.clock.today();
    let sql = "SELECT cost_item_id, bucket, CAST(SUM(amount) AS BIGINT) FROM cost_postings \
               WHERE project_id = $1 AND posted_on <= $2 GROUP BY cost_item_id, bucket";
    let path = format!("/api/v1/cost/projects/{}/dynamic-cost", project.id);
    let (mut s_raw, mut s_svc, mut s_http) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..60 {
        let t = Instant::now();
        loupan_store::raw::query_count(conn, sql, vec![project.id.clone().into(), as_of.into()]).await?;
        s_raw.push(t.elapsed());
        let t = Instant::now();
        cost::dynamic_cost(services, admin, &project.id, Some(as_of)).await.map_err(svc)?;
        s_svc.push(t.elapsed());
        let t = Instant::now();
        get(&router, token, &path).await?;
        s_http.push(t.elapsed());
    }
    let busy = |s: &[Duration]| s.iter().sum::<Duration>();
    let measures = vec![
        measure("raw_sql", &s_raw, busy(&s_raw)),
        measure("service", &s_svc, busy(&s_svc)),
        measure("router", &s_http, busy(&s_http)),
    ];
    let dynamic = WorkloadResult {
        name: "C1 dynamic cost of one project".into(),
        what: format!(
            "every cost item, parents rolled up, of a project with {contracts} contracts and {variations} changes and visas \
             (ledger seeded in {:.1}s); raw SQL is the ledger's GROUP BY the service sends",
            seeded_in.as_secs_f64()
        ),
        ratios: ratios(&measures, noop_p50),
        measures,
        findings: vec![format!(
            "fastest round, ms: raw_sql {:.1}, service {:.1}, router {:.1}",
            fastest(&s_raw),
            fastest(&s_svc),
            fastest(&s_http)
        )],
    };

    // Posting a visa: the document, the control check and the ledger entry.
    let leaf = leaves[0].to_string();
    let (samples, wall) = timed(300, |i| {
        let leaf = leaf.clone();
        let project = project.id.clone();
        async move {
            cost::submit_variation(
                services,
                admin,
                &project,
                cost::NewVariation {
                    kind: Some("visa".into()),
                    cost_item_id: Some(leaf),
                    reason: Some(format!("基准签证{i}")),
                    estimated_amount: Some("1280.00".into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(svc)
        }
    })
    .await?;
    let post: Measure = measure("service", &samples, wall);
    let visa = WorkloadResult {
        name: "C1 posting a site visa".into(),
        what: "submit_variation one after another: the visa, its number, its ledger entry and the audit record in one transaction".into(),
        measures: vec![post],
        ratios: Vec::new(),
        findings: Vec::new(),
    };
    let group = group_roll_up(services, seeded, &router, &supplier.id, &mut rng, noop_p50).await?;
    Ok(vec![dynamic, visa, group])
}

/// A new project with the group template's tree, and its leaf items.
async fn project_with_tree(
    services: &Services,
    admin: &loupan_service::Actor,
    name: &str,
) -> Result<(inventory::Project, Vec<CostItemId>)> {
    let project = inventory::create_project(
        services,
        admin,
        inventory::NewProject { name: Some(name.to_owned()), city: Some("苏州".into()) },
    )
    .await
    .map_err(svc)?;
    cost::copy_template(services, admin, &project.id).await.map_err(svc)?;
    let leaves = cost::items(services, admin, &project.id)
        .await
        .map_err(svc)?
        .into_iter()
        .filter(|i| i.leaf)
        .map(|i| i.id)
        .collect();
    Ok((project, leaves))
}

/// Projects in the group for the roll-up (issue 19: 100).
const GROUP_PROJECTS: usize = 100;

/// The group's dynamic cost over 100 projects: the measured project and 99
/// more, each with the template's tree and a ledger of its own (50 contracts,
/// 500 changes and visas) — today's figures from the kept balances, and a
/// past date's from the ledgers as a finding.
async fn group_roll_up(
    services: &Services,
    seeded: &Seeded,
    router: &axum::Router,
    supplier: &SupplierId,
    rng: &mut Rng,
    noop_p50: f64,
) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let conn = services.store.conn();
    let started = Instant::now();
    for n in 1..GROUP_PROJECTS {
        let (project, leaves) = project_with_tree(services, admin, &format!("集团成本项目{n:03}")).await?;
        seed_ledger(services, &project.id, &leaves, supplier, 50, 500, rng).await?;
    }
    let seeded_in = started.elapsed();
    let projects = loupan_store::inventory::list_projects(conn, None).await?;
    let ids: Vec<String> = projects.iter().map(|p| p.id.as_str().to_owned()).collect();
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT project_id, cost_item_id, bucket, amount FROM cost_item_balances WHERE project_id IN ({})",
        placeholders.join(", ")
    );
    let (mut s_raw, mut s_svc, mut s_http) = (Vec::new(), Vec::new(), Vec::new());
    let mut with_tree = 0;
    for _ in 0..40 {
        let t = Instant::now();
        loupan_store::raw::query_count(conn, &sql, ids.iter().cloned().map(Into::into).collect()).await?;
        s_raw.push(t.elapsed());
        let t = Instant::now();
        with_tree = cost::group_dynamic_cost(services, admin, None).await.map_err(svc)?.projects.len();
        s_svc.push(t.elapsed());
        let t = Instant::now();
        get(router, &seeded.admin_token, "/api/v1/cost/group/dynamic-cost").await?;
        s_http.push(t.elapsed());
    }
    let mut s_past = Vec::new();
    let past = services.clock.today() - chrono::Duration::days(30);
    for _ in 0..5 {
        let t = Instant::now();
        cost::group_dynamic_cost(services, admin, Some(past)).await.map_err(svc)?;
        s_past.push(t.elapsed());
    }
    let busy = |s: &[Duration]| s.iter().sum::<Duration>();
    let measures = vec![
        measure("raw_sql", &s_raw, busy(&s_raw)),
        measure("service", &s_svc, busy(&s_svc)),
        measure("router", &s_http, busy(&s_http)),
    ];
    let postings = loupan_store::raw::query_count(conn, "SELECT id FROM cost_postings", Vec::new()).await?;
    Ok(WorkloadResult {
        name: "C1 group roll-up".into(),
        what: format!(
            "the group's dynamic cost today over {with_tree} projects with cost trees ({postings} ledger entries; 99 projects of 50 contracts and 500 changes and visas seeded in {:.1}s), read from the kept balances; raw SQL is the balances' SELECT the service sends",
            seeded_in.as_secs_f64()
        ),
        ratios: ratios(&measures, noop_p50),
        measures,
        findings: vec![format!(
            "at a past date (every ledger summed up to it instead of the balances): fastest {:.0} ms, slowest {:.0} ms",
            fastest(&s_past),
            s_past.iter().max().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
        )],
    })
}

/// Writes the plan, contracts, changes and visas of a busy project straight
/// into the store, with the ledger entries the service would post for them.
async fn seed_ledger(
    services: &Services,
    project: &ProjectId,
    leaves: &[CostItemId],
    supplier: &SupplierId,
    contracts: usize,
    variations: usize,
    rng: &mut Rng,
) -> Result<()> {
    let tx = services.store.begin_write().await?;
    let now = services.clock.now();
    let day =
        |n: usize| NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default() + chrono::Duration::days((n % 600) as i64);
    let posting = |item: &CostItemId, bucket, amount, on, document: (DocumentType, &str)| PostingRow {
        id: CostPostingId::from(loupan_store::new_id()),
        project_id: project.clone(),
        cost_item_id: item.clone(),
        bucket,
        amount,
        posted_on: on,
        document_type: document.0,
        document_id: document.1.to_owned(),
        note: None,
        posted_by: "bench".into(),
        created_at: now,
    };
    let lines: Vec<PlanLineRow> = (0..contracts / 10)
        .map(|n| PlanLineRow {
            id: PlanLineId::from(loupan_store::new_id()),
            project_id: project.clone(),
            cost_item_id: leaves[n % leaves.len()].clone(),
            name: format!("合约{n}"),
            planned_amount: Money::yuan(5_000_000),
            contracted: Money::ZERO,
            tender_mode: None,
            planned_month: None,
            created_by: "bench".into(),
            created_at: now,
        })
        .collect();
    let mut postings: Vec<PostingRow> = lines
        .iter()
        .map(|l| {
            posting(&l.cost_item_id, Bucket::Pending, l.planned_amount, day(0), (DocumentType::PlanLine, l.id.as_str()))
        })
        .collect();
    let mut contract_rows = Vec::new();
    let mut contract_lines = Vec::new();
    for n in 0..contracts {
        let line = &lines[n % lines.len()];
        let amount = Money::yuan(400_000 + rng.below(100_000) as i64);
        let id = CostContractId::from(loupan_store::new_id());
        postings.push(posting(
            &line.cost_item_id,
            Bucket::Contracted,
            amount,
            day(n),
            (DocumentType::Contract, id.as_str()),
        ));
        postings.push(posting(
            &line.cost_item_id,
            Bucket::Pending,
            -amount,
            day(n),
            (DocumentType::Contract, id.as_str()),
        ));
        contract_lines.push(ContractLineRow {
            id: loupan_store::new_id(),
            contract_id: id.clone(),
            plan_line_id: line.id.clone(),
            cost_item_id: line.cost_item_id.clone(),
            amount,
        });
        contract_rows.push(CostContractRow {
            id,
            project_id: project.clone(),
            code: format!("HT-{n:05}"),
            name: format!("合同{n}"),
            supplier_id: supplier.clone(),
            kind: CostContractKind::TotalPrice,
            amount,
            retention_bp: 300,
            payment_terms: None,
            signed_on: day(n),
            amends_id: None,
            over_plan_reason: None,
            status: CostContractStatus::Signed,
            approval_id: None,
            created_by: "bench".into(),
            created_at: now,
        });
    }
    let mut variation_rows = Vec::new();
    for n in 0..variations {
        let item = &leaves[n % leaves.len()];
        let kind = if n % 2 == 0 { VariationKind::Change } else { VariationKind::Visa };
        let estimate = Money::yuan(1_000 + rng.below(50_000) as i64);
        let id = VariationId::from(loupan_store::new_id());
        let (estimated, confirmed_bucket) = kind.buckets();
        postings.push(posting(item, estimated, estimate, day(n), (DocumentType::Variation, id.as_str())));
        let confirmed = (n % 3 == 0).then(|| estimate - Money::yuan(100));
        if let Some(c) = confirmed {
            postings.push(posting(item, estimated, -estimate, day(n + 30), (DocumentType::Variation, id.as_str())));
            postings.push(posting(item, confirmed_bucket, c, day(n + 30), (DocumentType::Variation, id.as_str())));
        }
        variation_rows.push(VariationRow {
            id,
            project_id: project.clone(),
            kind,
            code: format!("BM-{n:06}"),
            contract_id: None,
            cost_item_id: item.clone(),
            reason: "基准".into(),
            estimated_amount: estimate,
            confirmed_amount: confirmed,
            status: if confirmed.is_some() { VariationStatus::Confirmed } else { VariationStatus::Estimated },
            submitted_on: day(n),
            confirmed_on: confirmed.map(|_| day(n + 30)),
            created_by: "bench".into(),
            created_at: now,
            confirmed_by: None,
            approval_id: None,
        });
    }
    store::insert_plan_lines(&tx, &lines).await?;
    store::insert_contracts(&tx, &contract_rows).await?;
    store::insert_contract_lines(&tx, &contract_lines).await?;
    store::insert_variations(&tx, &variation_rows).await?;
    store::insert_postings(&tx, &postings).await?;
    tx.commit().await?;
    Ok(())
}
