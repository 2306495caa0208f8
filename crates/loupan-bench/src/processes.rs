//! A1: the service board of a 264-unit building (33 floors of 8). Every unit
//! is sold through the service, so each contract starts its registration
//! case; a third of the cases moved on a step, a third two. The board is read
//! through the router as after-sales staff read it. The target: p99
//! under 50 ms.

use anyhow::Result;
use loupan_domain::processes::ProcessKind;
use loupan_service::Services;
use loupan_service::aftersales::processes::{self, StepDone};
use loupan_service::customers::{self, NewCustomer};
use loupan_service::inventory::{self, NewBuilding, NewUnit};
use loupan_service::sales::{self, NewContract};

use crate::data::Seeded;
use crate::workloads::{WorkloadResult, get, measure, svc, timed};

const FLOORS: i32 = 33;
const STACKS: i32 = 8;

pub async fn run(services: &Services, seeded: &Seeded, router: &axum::Router) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let project = seeded.projects.first().ok_or_else(|| anyhow::anyhow!("no project seeded"))?;
    let method = seeded.methods.first().ok_or_else(|| anyhow::anyhow!("no payment method seeded"))?;
    let building = inventory::create_building(
        services,
        admin,
        project,
        NewBuilding { name: Some("服务看板楼".into()), ..NewBuilding::default() },
    )
    .await
    .map_err(svc)?;
    let started = std::time::Instant::now();
    for floor in 1..=FLOORS {
        for stack in 1..=STACKS {
            let unit = inventory::create_unit(
                services,
                admin,
                &building.id,
                NewUnit {
                    floor: Some(floor),
                    number: Some(format!("{floor}{stack:02}")),
                    layout: Some("3室2厅".into()),
                    gross_area: Some("100.00".into()),
                    inner_area: Some("80.00".into()),
                    list_price: Some("2000000.00".into()),
                    status: Some("available".into()),
                    property_type: Some("residential".into()),
                    ..NewUnit::default()
                },
            )
            .await
            .map_err(svc)?;
            let n = floor * 100 + stack;
            let customer = customers::register(
                services,
                admin,
                NewCustomer {
                    project_id: Some(project.to_string()),
                    name: Some(format!("看板业主{n}")),
                    phone: Some(format!("1770{n:07}")),
                    ..NewCustomer::default()
                },
            )
            .await
            .map_err(svc)?;
            sales::sign_contract(
                services,
                admin,
                NewContract {
                    unit_id: Some(unit.id.to_string()),
                    customer_id: Some(customer.customer.id.to_string()),
                    payment_method_id: Some(method.clone()),
                    total_price: Some("2000000.00".into()),
                    signed_on: Some("2026-11-02".into()),
                    ..NewContract::default()
                },
            )
            .await
            .map_err(svc)?;
        }
    }
    let board = processes::board(services, admin, &building.id, ProcessKind::Registration).await.map_err(svc)?;
    // A third moved one step, a third two: the board has three colours.
    for (i, tile) in board.units.iter().enumerate() {
        let Some(id) = &tile.case_id else { continue };
        for _ in 0..(i % 3) {
            let case = processes::case(services, admin, id).await.map_err(svc)?;
            let Some(position) = case.summary.current_position else { break };
            for d in &case.steps[position as usize].documents {
                processes::receive_document(services, admin, id, position, &d.name).await.map_err(svc)?;
            }
            let done = StepDone { position: Some(position), note: None, version: Some(case.version) };
            processes::complete_step(services, admin, id, done).await.map_err(svc)?;
        }
    }
    let prepared_in = started.elapsed();
    let board = processes::board(services, admin, &building.id, ProcessKind::Registration).await.map_err(svc)?;
    let path = format!("/api/v1/buildings/{}/service-board?kind=registration", building.id);
    let (samples, wall) = timed(300, |_| get(router, &seeded.admin_token, &path)).await?;
    let mut read = measure("router: the service board of 264 units", &samples, wall);
    read.path = "router: GET /api/v1/buildings/{id}/service-board".into();
    let (s_svc, w_svc) = timed(300, |_| {
        let id = building.id.clone();
        async move { processes::board(services, admin, &id, ProcessKind::Registration).await.map_err(svc) }
    })
    .await?;
    let service = measure("service: the board", &s_svc, w_svc);
    let steps: Vec<String> = board.steps.iter().map(|s| format!("{} {}", s.name, s.units)).collect();
    let findings = vec![
        format!(
            "{} units sold through the service with their registration cases and moved on in {:.1} s; at the steps: {}",
            board.units.len(),
            prepared_in.as_secs_f64(),
            steps.join(", ")
        ),
        format!("board p99 {:.1} ms through the router (target < 50 ms)", read.p99_ms),
    ];
    Ok(WorkloadResult {
        name: "A1 service board".into(),
        what: "a 264-unit building (33 floors × 8) coloured by each unit's registration step, read 300 times".into(),
        measures: vec![read, service],
        ratios: Vec::new(),
        findings,
    })
}
