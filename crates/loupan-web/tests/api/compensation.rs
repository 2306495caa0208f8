//! Area compensation of a building through the real router (DOMAIN.md A3):
//! surveyed areas from a spreadsheet, a batch by the project's rule with
//! DOMAIN.md's worked examples, approval by the project manager and finance,
//! and what lands on each contract (the compensation, the deed-tax and
//! maintenance-fund differences, refunds due); a rejection changes nothing,
//! a project's own formula is checked when saved.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Site {
    app: TestApp,
    admin: String,
    project: String,
    building: String,
    agent: String,
    aftersales: String,
    pm: String,
    finance: String,
    method: String,
    next: std::cell::Cell<u32>,
}

async fn site() -> Site {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, aftersales) = app.user(&admin, "after", &["aftersales"], &[&project]).await;
    let (_, pm) = app.user(&admin, "pmgr", &["project_manager"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let r =
        app.send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin)).await;
    let building = r.json()["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            post(
                &format!("/api/v1/projects/{project}/payment-methods"),
                json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
                       "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 7}]}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let method = r.json()["id"].as_str().unwrap().to_owned();
    Site { app, admin, project, building, agent, aftersales, pm, finance, method, next: 1.into() }
}

impl Site {
    /// A unit of 100.00 m2 (80.00 inside) sold for 2,000,000.00; returns (unit number, contract id).
    async fn sold(&self) -> (String, String) {
        let n = self.next.get();
        self.next.set(n + 1);
        let number = format!("{}", 100 + n);
        let body = json!({"floor": 1, "number": number, "layout": "3室2厅",
                          "gross_area": "100.00", "inner_area": "80.00", "list_price": "2000000.00"});
        let r =
            self.app.send(post(&format!("/api/v1/buildings/{}/units", self.building), body).token(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let unit = r.json()["id"].as_str().unwrap().to_owned();
        // The third buyer already owns two homes: a third home's deed tax.
        let mut customer =
            json!({"name": format!("业主{n}"), "phone": format!("1380000{n:04}"), "project_id": self.project});
        if n == 3 {
            customer["homes_owned"] = json!(2);
        }
        let r = self.app.send(post("/api/v1/customers", customer).token(&self.agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let body = json!({"unit_id": unit, "customer_id": r.json()["id"], "payment_method_id": self.method,
                          "total_price": "2000000.00", "signed_on": "2026-01-10"});
        let r = self.app.send(post("/api/v1/sales/contracts", body).token(&self.agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (number, r.json()["id"].as_str().unwrap().to_owned())
    }

    async fn survey(&self, rows: &[(&str, &str, &str)], mode: &str) -> Value {
        use loupan_documents::xlsx::{Cell, write_table};
        let headers: Vec<String> = ["房号", "实测建筑面积", "实测套内面积"].iter().map(|h| (*h).to_owned()).collect();
        let cells: Vec<Vec<Cell>> = rows
            .iter()
            .map(|(n, g, i)| {
                vec![Cell::Text((*n).to_owned()), Cell::Text((*g).to_owned()), Cell::Text((*i).to_owned())]
            })
            .collect();
        let bytes = write_table("实测面积", &headers, &cells).unwrap();
        let path = format!("/api/v1/buildings/{}/measured-areas/import?mode={mode}", self.building);
        let r = self.app.send(post_bytes(&path, bytes, XLSX).token(&self.aftersales)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()
    }

    async fn batch(&self) -> Value {
        let r = self
            .app
            .send(
                post(&format!("/api/v1/buildings/{}/compensation-batches", self.building), json!({}))
                    .token(&self.aftersales),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    async fn decide(&self, token: &str, batch: &str, verb: &str) {
        let r = self.app.send(get("/api/v1/approvals?state=pending").token(token)).await;
        let items = r.json()["items"].as_array().cloned().unwrap_or_default();
        let request = items
            .iter()
            .find(|i| i["subject_id"] == batch)
            .unwrap_or_else(|| panic!("no request for the batch in {}", r.text));
        let body = if verb == "reject" { json!({"comment": "面积数据待复核"}) } else { json!({}) };
        let r = self
            .app
            .send(post(&format!("/api/v1/approvals/{}/{verb}", request["id"].as_str().unwrap()), body).token(token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    async fn plan(&self, contract: &str) -> Vec<(String, String)> {
        let r =
            self.app.send(get(&format!("/api/v1/sales/contracts/{contract}/payment-plan")).token(&self.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["kind"].as_str().unwrap().to_owned(), i["amount"].as_str().unwrap().to_owned()))
            .collect()
    }
}

fn line<'a>(batch: &'a Value, number: &str) -> &'a Value {
    batch["lines"].as_array().unwrap().iter().find(|l| l["unit_number"] == number).unwrap()
}

#[tokio::test]
async fn a_building_batch_settles_domain_md_examples_and_lands_on_the_plans_when_approved() {
    let s = site().await;
    let mut sold = Vec::new();
    for _ in 0..6 {
        sold.push(s.sold().await);
    }
    let n = |i: usize| sold[i].0.as_str();
    // The maintenance fund: 2 % of the price for homes.
    let r = s
        .app
        .send(
            put(
                &format!("/api/v1/projects/{}/settlement", s.project),
                json!({"funds": [{"property_type": "residential", "method": "percent_of_price", "value": "0.02"}]}),
            )
            .token(&s.aftersales),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["rule"], "2001");

    // A check first: a bad row names its row and column and nothing is written.
    let report = s.survey(&[(n(0), "102.00", "81.60"), ("999", "100", "80"), (n(1), "80.00", "81.00")], "all").await;
    assert_eq!(report["written"], false);
    let codes: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [(3, "unknown_unit"), (4, "inner_above_gross")]);
    let report = s
        .survey(
            &[
                (n(0), "102.00", "81.60"),
                (n(1), "103.00", "82.40"),
                (n(2), "104.50", "83.60"),
                (n(3), "98.00", "78.40"),
                (n(4), "95.00", "76.00"),
            ],
            "all",
        )
        .await;
    assert_eq!((report["written"].as_bool(), report["updated"].as_u64()), (Some(true), Some(5)), "{report}");

    let batch = s.batch().await;
    let id = batch["id"].as_str().unwrap().to_owned();
    assert_eq!(batch["status"], "draft");
    assert_eq!(batch["lines"].as_array().unwrap().len(), 5);
    let skipped: Vec<&str> =
        batch["skipped"].as_array().unwrap().iter().map(|k| k["reason"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["not_surveyed"], "the sixth unit has no survey yet");
    for (i, amount, rescind) in [
        (0, "40000.00", false),
        (1, "60000.00", false),
        (2, "60000.00", true),
        (3, "-40000.00", false),
        (4, "-140000.00", true),
    ] {
        let l = line(&batch, n(i));
        assert_eq!((l["amount"].as_str(), l["rescission_right"].as_bool()), (Some(amount), Some(rescind)), "{l}");
    }
    // 2,040,000 at 1 % against 2,000,000 at 1 %: 400.00 more deed tax; 2 % fund: 800.00 more.
    let first = line(&batch, n(0));
    assert_eq!(
        (first["deed_tax_before"].as_str(), first["deed_tax_after"].as_str()),
        (Some("20000.00"), Some("20400.00"))
    );
    assert_eq!((first["fund_before"].as_str(), first["fund_after"].as_str()), (Some("40000.00"), Some("40800.00")));
    // The buyer's profile sets the tier: 3 % for a third home, before and after.
    let third = line(&batch, n(2));
    assert_eq!(third["homes_owned_before"], 2);
    assert_eq!(
        (third["deed_tax_before"].as_str(), third["deed_tax_after"].as_str()),
        (Some("60000.00"), Some("61800.00"))
    );
    assert_eq!(batch["totals"]["payable"], "160000.00");
    assert_eq!(batch["totals"]["refundable"], "180000.00");

    // An adjustment needs a reason; a stale version is refused.
    let line_path = |l: &Value| format!("/api/v1/compensation-batches/{id}/lines/{}", l["id"].as_str().unwrap());
    let r = s.app.send(patch(&line_path(first), json!({"amount": "39000.00"})).token(&s.aftersales)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["reason"]);
    let r = s
        .app
        .send(
            patch(&line_path(first), json!({"amount": "39000.00", "reason": "业主协商", "version": 0}))
                .token(&s.aftersales),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = s
        .app
        .send(patch(&line_path(first), json!({"amount": "39000.00", "reason": "业主协商"})).token(&s.aftersales))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let adjusted = r.json();
    assert_eq!(line(&adjusted, n(0))["amount"], "39000.00");
    assert_eq!(line(&adjusted, n(0))["computed_amount"], "40000.00");
    assert_eq!(adjusted["totals"]["adjusted"], 1);
    // The list sums the lines in the database: the same totals as the batch's own.
    let r = s.app.send(get(&format!("/api/v1/projects/{}/compensation-batches", s.project)).token(&s.aftersales)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = r.json()["items"].as_array().unwrap().iter().find(|b| b["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(listed["totals"], adjusted["totals"]);

    // Rejected: a draft again, and no plan changed.
    let r =
        s.app.send(post(&format!("/api/v1/compensation-batches/{id}/submit"), json!({})).token(&s.aftersales)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"], "pending");
    let r = s
        .app
        .send(
            put(
                &format!("/api/v1/units/{}/measured-areas", line(&batch, n(0))["unit_id"].as_str().unwrap()),
                json!({"measured_gross_area": "101.00", "measured_inner_area": "80.80"}),
            )
            .token(&s.aftersales),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "areas are settled while at approval: {}", r.text);
    s.decide(&s.pm, &id, "reject").await;
    let r = s.app.send(get(&format!("/api/v1/compensation-batches/{id}")).token(&s.aftersales)).await;
    assert_eq!(r.json()["status"], "draft");
    assert_eq!(s.plan(&sold[0].1).await, [("down_payment".to_owned(), "2000000.00".to_owned())]);

    // Approved by the project manager, then finance (refunds are owed).
    let r =
        s.app.send(post(&format!("/api/v1/compensation-batches/{id}/submit"), json!({})).token(&s.aftersales)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.decide(&s.pm, &id, "approve").await;
    let r = s.app.send(get(&format!("/api/v1/compensation-batches/{id}")).token(&s.aftersales)).await;
    assert_eq!(r.json()["status"], "pending", "finance decides next");
    s.decide(&s.finance, &id, "approve").await;
    let r = s.app.send(get(&format!("/api/v1/compensation-batches/{id}")).token(&s.aftersales)).await;
    let applied = r.json();
    assert_eq!(applied["status"], "applied");
    assert!(applied["lines"].as_array().unwrap().iter().all(|l| l["applied"] == true));

    let pay = |k: &str, a: &str| (k.to_owned(), a.to_owned());
    assert_eq!(
        s.plan(&sold[0].1).await,
        [
            pay("down_payment", "2000000.00"),
            pay("compensation", "39000.00"),
            pay("fee", "390.00"),
            pay("fee", "780.00")
        ]
    );
    // 95.00 m2: refunds of the compensation, 1,400.00 of deed tax and 2,800.00 of fund.
    assert_eq!(s.plan(&sold[4].1).await, [pay("down_payment", "2000000.00")]);
    let r = s.app.send(get("/api/v1/finance/refunds?status=due").token(&s.finance)).await;
    let mut refunds: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["contract_id"] == sold[4].1.as_str())
        .map(|f| f["amount"].as_str().unwrap().to_owned())
        .collect();
    refunds.sort();
    assert_eq!(refunds, ["1400.00", "140000.00", "2800.00"]);

    // The unit's history names the survey and the compensation; its areas are settled now.
    let unit = line(&applied, n(0))["unit_id"].as_str().unwrap().to_owned();
    let r = s.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&s.admin)).await;
    let kinds: Vec<String> =
        r.json()["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
    assert!(kinds.contains(&"surveyed".to_owned()) && kinds.contains(&"compensated".to_owned()), "{kinds:?}");
    let r = s.app.send(get(&format!("/api/v1/units/{unit}/compensations")).token(&s.pm)).await;
    assert_eq!(r.json()["items"][0]["amount"], "39000.00");
    // The batch as a spreadsheet, a row per contract with its amounts.
    let r =
        s.app.send(get(&format!("/api/v1/compensation-batches/{id}/export")).token(&s.aftersales).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sheet = loupan_documents::xlsx::read_first_sheet(&r.bytes).unwrap();
    let text = |c: &loupan_documents::xlsx::Cell| c.as_text().unwrap_or_default();
    assert_eq!(text(&sheet[0][0]), "房号");
    assert_eq!(sheet.len(), 1 + applied["lines"].as_array().unwrap().len(), "a header and a row per contract");
    let first =
        sheet.iter().find(|row| text(&row[1]) == line(&applied, n(0))["contract_number"].as_str().unwrap()).unwrap();
    assert_eq!(
        (text(&first[9]), text(&first[10]), text(&first[12])),
        ("40000".to_owned(), "39000".to_owned(), "否".to_owned())
    );
    // The area-compensation notice merges each buyer's compensation as applied.
    let body = "{{ compensation.direction }} {{ compensation.amount }} 元（误差 {{ compensation.error_percent }}，实测 {{ compensation.measured_gross_area }} m²），退房权：{{ compensation.rescission }}";
    let r = s
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "area_compensation_notice", "name": "补差通知", "body": body}),
            )
            .token(&s.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let template = r.json()["id"].as_str().unwrap().to_owned();
    let letter = |contract: String| {
        let (s, template) = (&s, &template);
        async move {
            let c = s.app.send(get(&format!("/api/v1/sales/contracts/{contract}")).token(&s.admin)).await.json();
            let body = json!({"customer_id": c["customer_id"], "contract_id": contract});
            let r =
                s.app.send(post(&format!("/api/v1/notices/templates/{template}/preview"), body).token(&s.admin)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json()["text"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(letter(sold[0].1.clone()).await, "补缴 39000.00 元（误差 2.00%，实测 102.00 m²），退房权：否");
    assert_eq!(letter(sold[4].1.clone()).await, "退还 140000.00 元（误差 -5.00%，实测 95.00 m²），退房权：是");
    // Nothing left to compensate in the building: a second batch is refused.
    let r = s
        .app
        .send(post(&format!("/api/v1/buildings/{}/compensation-batches", s.building), json!({})).token(&s.aftersales))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

#[tokio::test]
async fn a_projects_own_formula_is_checked_when_saved_and_settles_a_one_percent_band() {
    let s = site().await;
    let (a, _) = s.sold().await;
    let (b, _) = s.sold().await;
    let (c, _) = s.sold().await;
    let settle = |body: Value| {
        let s = &s;
        async move {
            s.app.send(put(&format!("/api/v1/projects/{}/settlement", s.project), body).token(&s.aftersales)).await
        }
    };
    let r = settle(json!({"rule": "formula", "formula": "(measured_area - contract_area) * price"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["formula"]);
    assert!(r.text.contains("price"), "the unknown variable is named: {}", r.text);
    let r = settle(json!({"rule": "formula"})).await;
    assert_eq!(r.error_fields(), ["formula"], "a formula rule needs its formula");
    let band = "if(abs(error_ratio) <= 1%, area_difference * unit_price, \
                if(error_ratio > 0, 1% * contract_total, \
                -(1% * contract_total + 2 * (abs(area_difference) - 1% * contract_area) * unit_price)))";
    let r = settle(json!({"rule": "formula", "formula": band})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["rule"], "formula");
    s.survey(&[(&a, "100.50", "80.40"), (&b, "102.00", "81.60"), (&c, "98.00", "78.40")], "all").await;
    let batch = s.batch().await;
    assert_eq!(batch["rule"], "formula");
    // 0.5 m2 more: 10,000.00; 2 m2 more: 1 % of the price, 20,000.00; 2 m2 less: 1 % once and 1 % twice.
    for (number, amount) in [(&a, "10000.00"), (&b, "20000.00"), (&c, "-60000.00")] {
        assert_eq!(line(&batch, number)["amount"], amount);
    }
}

#[tokio::test]
async fn the_2014_rule_flags_an_inner_area_beyond_three_percent_and_staff_without_the_right_are_refused() {
    let s = site().await;
    let (a, _) = s.sold().await;
    let r = s
        .app
        .send(
            put(&format!("/api/v1/projects/{}/settlement", s.project), json!({"rule": "2014_gross"}))
                .token(&s.aftersales),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.survey(&[(&a, "102.00", "83.00")], "all").await;
    let batch = s.batch().await;
    let l = line(&batch, &a);
    assert_eq!((l["amount"].as_str(), l["rescission_right"].as_bool()), (Some("40000.00"), Some(true)));
    assert_eq!(l["inner_error_ratio"], "0.0375");
    assert_eq!(batch["rescission_days"], 15);
    // A second open batch of the building is refused; the agent may not compute one.
    let r = s
        .app
        .send(post(&format!("/api/v1/buildings/{}/compensation-batches", s.building), json!({})).token(&s.aftersales))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = s
        .app
        .send(post(&format!("/api/v1/buildings/{}/compensation-batches", s.building), json!({})).token(&s.agent))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = s
        .app
        .send(get(&format!("/api/v1/compensation-batches/{}", batch["id"].as_str().unwrap())).token(&s.agent))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// Four computations of one building at once (on PostgreSQL they overlap):
/// one batch is opened, the others are told that it exists.
#[tokio::test]
async fn a_building_computed_four_times_at_once_has_one_open_batch() {
    let s = site().await;
    let (a, _) = s.sold().await;
    s.survey(&[(&a, "101.00", "80.50")], "all").await;
    let path = format!("/api/v1/buildings/{}/compensation-batches", s.building);
    let call = || s.app.send(post(&path, json!({})).token(&s.aftersales));
    let (r1, r2, r3, r4) = tokio::join!(call(), call(), call(), call());
    let mut statuses: Vec<u16> = [r1, r2, r3, r4].iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409]);
    let r = s.app.send(get(&format!("/api/v1/projects/{}/compensation-batches", s.project)).token(&s.aftersales)).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1, "{}", r.text);
}

#[tokio::test]
async fn a_264_unit_building_surveyed_from_a_spreadsheet_settles_every_plan_in_one_batch() {
    let s = site().await;
    let mut sold = Vec::new();
    for _ in 0..264 {
        sold.push(s.sold().await);
    }
    // DOMAIN.md's five cases and an exact survey, in turn: +2.00, +3.00, +4.50, −2.00, −5.00, 0 m².
    const GROSS: [&str; 6] = ["102.00", "103.00", "104.50", "98.00", "95.00", "100.00"];
    const AMOUNT: [&str; 6] = ["40000.00", "60000.00", "60000.00", "-40000.00", "-140000.00", "0.00"];
    let rows: Vec<(&str, &str, &str)> =
        sold.iter().enumerate().map(|(i, (number, _))| (number.as_str(), GROSS[i % 6], "80.00")).collect();
    let report = s.survey(&rows, "all").await;
    assert_eq!((&report["written"], &report["errors"]), (&json!(true), &json!([])), "{report}");
    let batch = s.batch().await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let lines = batch["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 264);
    for (i, (number, _)) in sold.iter().enumerate() {
        assert_eq!(line(&batch, number)["amount"], AMOUNT[i % 6], "unit {number}");
    }
    // 44 of each: 44 × (40,000 + 60,000 + 60,000) paid, 44 × (40,000 + 140,000) refunded.
    assert_eq!(
        (&batch["totals"]["payable"], &batch["totals"]["refundable"]),
        (&json!("7040000.00"), &json!("7920000.00"))
    );
    let r =
        s.app.send(post(&format!("/api/v1/compensation-batches/{id}/submit"), json!({})).token(&s.aftersales)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    s.decide(&s.pm, &id, "approve").await;
    s.decide(&s.finance, &id, "approve").await;
    let applied = s.app.send(get(&format!("/api/v1/compensation-batches/{id}")).token(&s.aftersales)).await.json();
    assert_eq!(applied["status"], "applied");
    // Every plan that owes more has its compensation and the deed tax's difference.
    for (i, (_, contract)) in sold.iter().enumerate().take(6) {
        let plan = s.plan(contract).await;
        let kinds: Vec<&str> = plan.iter().map(|(k, _)| k.as_str()).collect();
        match i {
            0..=2 => assert!(kinds.contains(&"compensation") && kinds.contains(&"fee"), "{i}: {plan:?}"),
            _ => assert_eq!(kinds, ["down_payment"], "{i}: nothing more to pay"),
        }
    }
    // Refunds are due for the smaller homes: the compensation and the deed tax's difference.
    let r = s.app.send(get("/api/v1/finance/refunds?status=due&limit=500").token(&s.finance)).await;
    let refunds = r.json()["items"].as_array().unwrap().clone();
    let of = |contract: &str| refunds.iter().filter(|f| f["contract_id"] == contract).count();
    assert!(of(&sold[3].1) >= 2 && of(&sold[4].1) >= 2 && of(&sold[5].1) == 0, "{refunds:?}");
    // The ledger asks each buyer for the price and what the survey added.
    let ledger = s
        .app
        .send(get(&format!("/api/v1/finance/reports/ledger?basis=finance&project_id={}", s.project)).token(&s.finance))
        .await
        .json();
    let plan_of = |contract: &str| {
        ledger["items"].as_array().unwrap().iter().find(|l| l["contract_id"] == contract).unwrap()["plan"].clone()
    };
    let first = s.plan(&sold[0].1).await;
    let asked: i64 = first.iter().map(|(_, a)| a.replace('.', "").parse::<i64>().unwrap()).sum();
    assert_eq!(plan_of(&sold[0].1), json!(format!("{}.{:02}", asked / 100, asked % 100)));
    assert_eq!(plan_of(&sold[5].1), "2000000.00");
}
