//! A4: a handover day. A 100-unit building (10 floors of 10) is sold and
//! paid through the service and declared ready; each buyer then books,
//! checks in with their documents, the inspection finds two defects that
//! engineering rectifies and the inspector accepts, and the keys are handed
//! over — the whole handover timed through the service, one buyer after
//! another. A handover (with its settlement check, defects and warranty) is
//! then read through the router as the desk's tablet reads it.

use anyhow::Result;
use loupan_service::Services;
use loupan_service::aftersales::handover::{self, Completion, NewDefect, NewSlot};
use loupan_service::aftersales::processes;
use loupan_service::customers::{self, NewCustomer};
use loupan_service::inventory::{self, NewBuilding, NewUnit};
use loupan_service::sales::{self, NewContract};

use crate::data::Seeded;
use crate::workloads::{WorkloadResult, get, measure, svc, timed};

const FLOORS: i32 = 10;
const STACKS: i32 = 10;

pub async fn run(services: &Services, seeded: &Seeded, router: &axum::Router) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let project = seeded.projects.first().ok_or_else(|| anyhow::anyhow!("no project seeded"))?;
    let method = seeded.methods.first().ok_or_else(|| anyhow::anyhow!("no payment method seeded"))?;
    let building = inventory::create_building(
        services,
        admin,
        project,
        NewBuilding { name: Some("交房楼".into()), ..NewBuilding::default() },
    )
    .await
    .map_err(svc)?;
    let today = services.clock.today();
    let started = std::time::Instant::now();
    let mut contracts = Vec::new();
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
                    name: Some(format!("交房业主{n}")),
                    phone: Some(format!("1760{n:07}")),
                    ..NewCustomer::default()
                },
            )
            .await
            .map_err(svc)?;
            let signed = sales::sign_contract(
                services,
                admin,
                NewContract {
                    unit_id: Some(unit.id.to_string()),
                    customer_id: Some(customer.customer.id.to_string()),
                    payment_method_id: Some(method.clone()),
                    total_price: Some("2000000.00".into()),
                    signed_on: Some("2026-03-02".into()),
                    ..NewContract::default()
                },
            )
            .await
            .map_err(svc)?;
            let Some(contract) = signed.signed() else { continue };
            // Everything the plan asks (the price and any fee) paid and audited.
            let check = handover::check(services, admin, &contract.id).await.map_err(svc)?;
            let owed: loupan_domain::Money = check.blocking.iter().filter_map(|b| b.unpaid).sum();
            let receipt = loupan_service::finance::record_receipt(
                services,
                admin,
                loupan_service::finance::NewReceipt {
                    contract_id: Some(contract.id.to_string()),
                    amount: Some(owed.to_string()),
                    received_on: Some(today.to_string()),
                    channel: Some("transfer".into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(svc)?;
            loupan_service::finance::mark_arrived(services, admin, &receipt.id).await.map_err(svc)?;
            loupan_service::finance::audit_receipt(services, admin, &receipt.id).await.map_err(svc)?;
            contracts.push(contract.id.clone());
        }
    }
    let ready = processes::declare_ready(services, admin, &building.id, Some(&today.to_string())).await.map_err(svc)?;
    let slot = NewSlot { day: Some(today.to_string()), period: Some("全天".into()), capacity: Some(500) };
    let slot = handover::add_slot(services, admin, &building.id, slot).await.map_err(svc)?;
    let documents = handover::rules(services, admin, project).await.map_err(svc)?.documents;
    let prepared_in = started.elapsed();
    let lines = handover::handovers_of_building(services, admin, &building.id, None).await.map_err(svc)?;
    let remark = |room: &str, item: &str, severity: &str| NewDefect {
        room: Some(room.into()),
        item: Some(item.into()),
        severity: Some(severity.into()),
        description: Some("验房发现的问题".into()),
        contractor: Some("总包".into()),
    };
    let (s_flow, w_flow) = timed(lines.len(), |i| {
        let (id, slot_id, documents) = (lines[i].id.clone(), slot.id.clone(), documents.clone());
        let remark = &remark;
        async move {
            handover::book(services, admin, &id, Some(slot_id.as_str())).await.map_err(svc)?;
            handover::check_in(services, admin, &id, &documents).await.map_err(svc)?;
            for (room, item, severity) in [("卫生间", "waterproofing", "urgent"), ("主卧", "decoration", "minor")]
            {
                let d = handover::add_defect(services, admin, &id, remark(room, item, severity)).await.map_err(svc)?;
                handover::rectify(services, admin, &d.id, None).await.map_err(svc)?;
                handover::reinspect(services, admin, &d.id, Some(true), None).await.map_err(svc)?;
            }
            let keys = Completion {
                keys: vec![("入户门钥匙".into(), Some(3))],
                meters: vec![("水表".into(), "1.5".into())],
                accept_open_defects: false,
            };
            handover::complete(services, admin, &id, keys).await.map_err(svc)
        }
    })
    .await?;
    let mut flow =
        measure("service: a whole handover (book, check in, 2 defects rectified and accepted, keys)", &s_flow, w_flow);
    flow.path = "service: book → check-in → 2 defects → rectify → accept → keys".into();
    let first = lines.first().ok_or_else(|| anyhow::anyhow!("no handover opened"))?;
    let path = format!("/api/v1/aftersales/handovers/{}", first.id);
    let (samples, wall) = timed(300, |_| get(router, &seeded.admin_token, &path)).await?;
    let mut read = measure("router: a handover handed over (check, defects, warranty)", &samples, wall);
    read.path = "router: GET /api/v1/aftersales/handovers/{id}".into();
    let check_path = format!("/api/v1/contracts/{}/handover/check", first.contract_id);
    let (s_check, w_check) = timed(300, |_| get(router, &seeded.admin_token, &check_path)).await?;
    let mut check = measure("router: the settlement check", &s_check, w_check);
    check.path = "router: GET /api/v1/contracts/{id}/handover/check".into();
    let findings = vec![
        format!(
            "{} units sold, paid and audited, the building declared ready ({} handovers opened) in {:.1} s",
            contracts.len(),
            ready.handovers_opened,
            prepared_in.as_secs_f64()
        ),
        format!(
            "{} handovers completed one after another in {:.1} s: {:.0} ms each at p50, {:.0} per minute",
            lines.len(),
            w_flow.as_secs_f64(),
            flow.p50_ms,
            lines.len() as f64 * 60.0 / w_flow.as_secs_f64().max(f64::EPSILON)
        ),
        format!("a handover's page data p99 {:.1} ms through the router", read.p99_ms),
    ];
    Ok(WorkloadResult {
        name: "A4 handover".into(),
        what: "a ready 100-unit building handed over buyer by buyer, then a handover read 300 times".into(),
        measures: vec![flow, read, check],
        ratios: Vec::new(),
        findings,
    })
}
