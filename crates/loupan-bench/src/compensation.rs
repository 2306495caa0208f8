//! A3: the area compensation of every seeded building. Every unit is
//! surveyed (measured areas within a few percent of the forecast, some beyond
//! 3 %), then each building's batch is computed (one line per active
//! contract, with the deed tax and fund before and after) and applied on
//! approval (instalments or refunds, audit rows, open balances; SQLite with
//! `synchronous=FULL`). The targets: at least 2,000 units computed
//! and 500 applied per second.

use anyhow::Result;
use loupan_domain::approvals::{Approvers, Condition, Mode, Op, Step};
use loupan_domain::{Permission, Role};
use loupan_service::Services;
use loupan_service::aftersales::compensation;
use loupan_service::aftersales::settlement::{self, FundForm, SettlementForm};

use crate::data::Seeded;
use crate::workloads::{WorkloadResult, get, measure, svc, timed};

pub async fn run(services: &Services, seeded: &Seeded, router: &axum::Router) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    anyhow::ensure!(admin.can(Permission::ManageAftersales), "the bench's admin computes the batches");
    // Measured = forecast ± up to 3 % by floor (integer hundredths), and 4 % on every seventh floor.
    loupan_store::raw::query_count(
        services.store.conn(),
        "UPDATE units SET measured_gross_area = gross_area + gross_area * ((floor % 7) - 3) / 100, \
         measured_inner_area = inner_area + inner_area * ((floor % 7) - 3) / 100",
        Vec::new(),
    )
    .await?;
    for project in &seeded.projects {
        let rules = SettlementForm {
            funds: Some(vec![FundForm {
                property_type: "residential".into(),
                method: "percent_of_price".into(),
                value: "0.02".into(),
            }]),
            ..SettlementForm::default()
        };
        settlement::set_settlement(services, admin, project, rules).await.map_err(svc)?;
    }
    // Approved as submitted: a step whose condition never holds.
    let never = Step {
        name: "总经理审批".into(),
        approvers: Approvers::Role { role: Role::Executive },
        mode: Mode::Any,
        condition: Some(Condition { fact: "units".into(), op: Op::Gt, value: "1000000000".into() }),
        deadline_hours: None,
        escalate_to: None,
    };
    loupan_service::approvals::save_flow(services, admin, "area_compensation", vec![never]).await.map_err(svc)?;
    crate::workloads::settle(services).await?;

    let buildings = &seeded.buildings;
    let mut batches = Vec::with_capacity(buildings.len());
    let mut lines = 0usize;
    let started = std::time::Instant::now();
    let (s_compute, w_compute) = timed(buildings.len(), |i| {
        let building = buildings[i].clone();
        async move { compensation::create_batch(services, admin, &building).await.map_err(svc) }
    })
    .await?;
    let computed_in = started.elapsed();
    for b in compensation::list_batches(services, admin, None).await.map_err(svc)? {
        lines += b.totals.units;
        batches.push(b.id);
    }
    let n_view = 15.min(batches.len());
    let paths: Vec<String> = batches.iter().map(|b| format!("/api/v1/compensation-batches/{b}")).collect();
    let (s_view, w_view) = timed(n_view, |i| get(router, &seeded.admin_token, &paths[i])).await?;
    let applying = std::time::Instant::now();
    let (s_apply, w_apply) = timed(batches.len(), |i| {
        let id = batches[i].clone();
        async move { compensation::submit_batch(services, admin, &id, None).await.map_err(svc) }
    })
    .await?;
    let applied_in = applying.elapsed();
    let applied = compensation::list_batches(services, admin, None)
        .await
        .map_err(svc)?
        .iter()
        .filter(|b| b.status == loupan_domain::aftersales::CompensationBatchStatus::Applied)
        .count();
    let computed_per_s = lines as f64 / computed_in.as_secs_f64().max(1e-9);
    let applied_per_s = lines as f64 / applied_in.as_secs_f64().max(1e-9);
    let mut compute = measure("service: compute a building", &s_compute, w_compute);
    compute.per_second = computed_per_s;
    let mut apply = measure("service: submit and apply a building", &s_apply, w_apply);
    apply.per_second = applied_per_s;
    let mut view = measure("router: a batch with its lines", &s_view, w_view);
    view.path = "router: GET a batch".into();
    let measures = vec![compute, apply, view];
    let findings = vec![
        format!("every unit surveyed; {lines} contracts in {} building batches", buildings.len()),
        format!(
            "computed {computed_per_s:.0} units/s ({:.1} s; target ≥ 2,000), applied {applied_per_s:.0} units/s ({:.1} s; target ≥ 500); {applied} of {} batches applied",
            computed_in.as_secs_f64(),
            applied_in.as_secs_f64(),
            batches.len()
        ),
    ];
    Ok(WorkloadResult {
        name: "A3 area compensation".into(),
        what: format!(
            "a batch for each of {} buildings (one line per active contract, deed tax and 2 % fund before and after), then each submitted and applied at once",
            buildings.len()
        ),
        measures,
        ratios: Vec::new(),
        findings,
    })
}
