//! Finance reports through the real router: reconciliation of the sales,
//! cashier and finance bases with the receipts that make the differences, the
//! contract ledger at any date on any basis, arrears by agent, the 财控图, and
//! the xlsx exports carrying the same figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::*;

struct Books {
    app: TestApp,
    admin: String,
    project: String,
    building: String,
    agent: String,
    cashier: String,
    finance: String,
    instalments: String,
    mortgage: String,
    next: std::cell::Cell<u32>,
}

async fn books() -> Books {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, cashier) = app.user(&admin, "cashier", &["cashier"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let building = app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let method = |body: Value| {
        let app = &app;
        let (admin, project) = (&admin, &project);
        async move {
            let r = app.send(post(&format!("/api/v1/projects/{project}/payment-methods"), body).token(admin)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let instalments = method(json!({"name": "分期付款", "kind": "instalments", "discount": "0",
        "terms": [{"kind": "down_payment", "ratio": "0.3", "days_after_signing": 0},
                  {"kind": "instalment", "ratio": "0.3", "days_after_signing": 90},
                  {"kind": "instalment", "ratio": "0.4", "days_after_signing": 180}]}))
    .await;
    let mortgage = method(json!({"name": "按揭", "kind": "commercial_mortgage", "discount": "0",
        "terms": [{"kind": "down_payment", "ratio": "0.3", "days_after_signing": 0},
                  {"kind": "mortgage", "ratio": "0.7", "days_after_signing": 30}]}))
    .await;
    Books { app, admin, project, building, agent, cashier, finance, instalments, mortgage, next: 1.into() }
}

impl Books {
    async fn unit(&self) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        let body = json!({"floor": 1 + n / 4, "number": format!("{}", 100 + n), "layout": "3室2厅",
                          "gross_area": "89.37", "inner_area": "77.37", "list_price": "1000000.00"});
        let r =
            self.app.send(post(&format!("/api/v1/buildings/{}/units", self.building), body).token(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn customer(&self, name: &str, phone: &str) -> String {
        let r = self
            .app
            .send(
                post("/api/v1/customers", json!({"name": name, "phone": phone, "project_id": self.project}))
                    .token(&self.agent),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// A contract of 1,000,000.00 signed on `signed_on`; returns (contract id, unit id).
    async fn contract(&self, name: &str, phone: &str, method: &str, signed_on: &str) -> (String, String) {
        let (unit, customer) = (self.unit().await, self.customer(name, phone).await);
        let body = json!({"unit_id": unit, "customer_id": customer, "payment_method_id": method,
                          "total_price": "1000000.00", "signed_on": signed_on});
        let r = self.app.send(post("/api/v1/sales/contracts", body).token(&self.agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (r.json()["id"].as_str().unwrap().to_owned(), unit)
    }

    /// Money received on a contract, taken as far as `to` (`in_transit`, `arrived` or `audited`).
    async fn receipt(&self, contract: &str, amount: &str, on: &str, to: &str) -> String {
        let body = json!({"contract_id": contract, "amount": amount, "received_on": on, "channel": "transfer"});
        let r = self.app.send(post("/api/v1/finance/receipts", body).token(&self.cashier)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.json()["id"].as_str().unwrap().to_owned();
        if to != "in_transit" {
            let r = self
                .app
                .send(post(&format!("/api/v1/finance/receipts/{id}/arrive"), json!({})).token(&self.cashier))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        if to == "audited" {
            let r = self
                .app
                .send(post(&format!("/api/v1/finance/receipts/{id}/audit"), json!({})).token(&self.finance))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        id
    }

    async fn report(&self, path: &str) -> Value {
        let r = self.app.send(get(path).token(&self.finance)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        r.json()
    }

    async fn sheet(&self, path: &str) -> Vec<Vec<String>> {
        let r = self.app.send(get(path).token(&self.finance)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        loupan_documents::xlsx::read_first_sheet(&r.bytes)
            .unwrap()
            .into_iter()
            .map(|row| row.iter().map(|c| c.as_text().unwrap_or_default()).collect())
            .collect()
    }
}

#[tokio::test]
async fn reconciliation_shows_each_departments_total_and_the_receipts_between_them() {
    let b = books().await;
    let (a, _) = b.contract("甲", "13800000001", &b.instalments, "2026-01-10").await;
    let (_, _) = b.contract("乙", "13800000002", &b.instalments, "2026-01-20").await;
    b.receipt(&a, "300000.00", "2026-01-10", "audited").await;
    let arrived = b.receipt(&a, "100000.00", "2026-02-01", "arrived").await;
    let in_transit = b.receipt(&a, "50000.00", "2026-02-02", "in_transit").await;
    // Outside the period: counted by nobody here.
    b.receipt(&a, "7000.00", "2026-03-05", "in_transit").await;

    let path = format!("/api/v1/finance/reports/reconciliation?from=2026-01-01&to=2026-02-28&project_id={}", b.project);
    let r = b.report(&path).await;
    assert_eq!(r["totals"], json!({"sales": "450000.00", "cashier": "400000.00", "finance": "300000.00"}));
    assert_eq!((r["signed_contracts"].as_u64(), r["signed_amount"].as_str()), (Some(2), Some("2000000.00")));
    let difference =
        |status: &str| r["differences"].as_array().unwrap().iter().find(|d| d["status"] == status).unwrap().clone();
    let transit = difference("in_transit");
    assert_eq!((transit["between"].as_str(), transit["amount"].as_str()), (Some("sales_cashier"), Some("50000.00")));
    assert_eq!(transit["receipts"].as_array().unwrap().len(), 1);
    assert_eq!(transit["receipts"][0]["id"], in_transit.as_str());
    let waiting = difference("arrived");
    assert_eq!((waiting["between"].as_str(), waiting["amount"].as_str()), (Some("cashier_finance"), Some("100000.00")));
    assert_eq!(waiting["receipts"][0]["id"], arrived.as_str());
    assert!(waiting["receipts"][0]["contract_number"].as_str().unwrap().starts_with("HT"));
    assert_eq!(r["by_channel"]["transfer"]["cashier"], "400000.00");

    // Auditing the arrived receipt closes that difference.
    let r = b.app.send(post(&format!("/api/v1/finance/receipts/{arrived}/audit"), json!({})).token(&b.finance)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = b.report(&path).await;
    assert_eq!(r["totals"]["finance"], "400000.00");
    assert_eq!(r["differences"][1]["amount"], "0.00");

    // The export has the three totals and a row per receipt of a difference.
    let rows = b.sheet(&path.replace("reconciliation?", "reconciliation/export?")).await;
    assert_eq!(rows[1][0], "销售口径合计");
    assert_eq!(rows[1][3], "450000");
    assert!(rows.iter().any(|row| row.contains(&in_transit)));
    // An end before the start is named.
    let r =
        b.app.send(get("/api/v1/finance/reports/reconciliation?from=2026-03-01&to=2026-02-01").token(&b.finance)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["to".to_owned()]));
}

#[tokio::test]
async fn the_ledger_answers_at_any_date_on_any_basis_and_arrears_follow_it() {
    let b = books().await;
    let (a, _) = b.contract("甲", "13800000001", &b.instalments, "2026-01-10").await;
    let (c, _) = b.contract("丙", "13800000003", &b.instalments, "2026-01-10").await;
    b.receipt(&a, "300000.00", "2026-01-10", "audited").await;
    b.receipt(&a, "100000.00", "2026-02-01", "arrived").await;
    // Plan of each: 300,000 due 2026-01-10, 300,000 due 2026-04-10, 400,000 due 2026-07-09.
    let ledger = |as_of: &str, basis: &str| {
        format!("/api/v1/finance/reports/ledger?as_of={as_of}&basis={basis}&project_id={}", b.project)
    };
    let l = b.report(&ledger("2026-05-01", "finance")).await;
    let line =
        |l: &Value, id: &str| l["items"].as_array().unwrap().iter().find(|x| x["contract_id"] == id).unwrap().clone();
    let la = line(&l, &a);
    assert_eq!(
        [&la["plan"], &la["paid"], &la["unpaid"], &la["due"], &la["overdue"]],
        ["1000000.00", "300000.00", "700000.00", "600000.00", "300000.00"]
    );
    assert_eq!((la["overdue_since"].as_str(), la["days_overdue"].as_i64()), (Some("2026-04-10"), Some(21)));
    assert_eq!(la["customer_phone"], "138****0001", "phones are masked in the ledger");
    let lc = line(&l, &c);
    assert_eq!((lc["paid"].as_str(), lc["overdue"].as_str()), (Some("0.00"), Some("600000.00")));
    assert_eq!(lc["overdue_since"], "2026-01-10");
    assert_eq!(l["totals"]["overdue"], "900000.00");
    // The cashier's basis counts the arrived money too.
    let la = line(&b.report(&ledger("2026-05-01", "cashier")).await, &a);
    assert_eq!((la["paid"].as_str(), la["overdue"].as_str()), (Some("400000.00"), Some("200000.00")));
    // Before the second receipt, and before anything was due.
    let la = line(&b.report(&ledger("2026-01-31", "cashier")).await, &a);
    assert_eq!(
        (la["paid"].as_str(), la["due"].as_str(), la["overdue"].as_str()),
        (Some("300000.00"), Some("300000.00"), Some("0.00"))
    );
    let la = line(&b.report(&ledger("2026-01-09", "finance")).await, &a);
    assert_eq!((la["paid"].as_str(), la["due"].as_str()), (Some("0.00"), Some("0.00")));
    let r = b.app.send(get(&ledger("2026-05-01", "gossip")).token(&b.finance)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["basis".to_owned()]));

    // Arrears as of 2026-05-01: the most overdue first, by agent, bucketed as DOMAIN.md says.
    let arrears = b.report(&format!("/api/v1/finance/reports/arrears?as_of=2026-05-01&project_id={}", b.project)).await;
    let items = arrears["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!((items[0]["contract_id"].as_str(), items[0]["bucket"].as_str()), (Some(c.as_str()), Some("91-180")));
    assert_eq!((items[1]["contract_id"].as_str(), items[1]["bucket"].as_str()), (Some(a.as_str()), Some("1-30")));
    assert_eq!(arrears["total"], "900000.00");
    assert_eq!(arrears["by_agent"][0]["agent_name"], "agent");
    assert_eq!(
        (arrears["by_agent"][0]["contracts"].as_u64(), arrears["by_agent"][0]["overdue"].as_str()),
        (Some(2), Some("900000.00"))
    );

    // The exports carry the same figures.
    let rows = b.sheet(&ledger("2026-05-01", "finance").replace("ledger?", "ledger/export?")).await;
    assert_eq!(rows.last().unwrap()[0], "合计");
    assert_eq!(rows.last().unwrap()[11], "900000");
    let rows =
        b.sheet(&format!("/api/v1/finance/reports/arrears/export?as_of=2026-05-01&project_id={}", b.project)).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][8], "91-180");
    let rows = b.sheet("/api/v1/finance/reports/ageing/export?as_of=2026-05-01").await;
    assert_eq!(rows.last().unwrap()[0], "合计");

    // The pages show them to finance.
    for page in [
        "/finance/ledger?as_of=2026-05-01",
        "/finance/arrears?as_of=2026-05-01",
        "/finance/reconciliation?from=2026-01-01&to=2026-12-31",
    ] {
        let r = b.app.send(get(page).token(&b.finance)).await;
        assert_eq!(r.status, StatusCode::OK, "{page}: {}", r.text);
        assert!(r.text.contains("900000.00") || page.contains("reconciliation"), "{page}");
    }
    assert_eq!(b.app.send(get("/finance/ledger").token(&b.agent)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_finance_chart_colours_units_by_the_money_of_their_deal() {
    let b = books().await;
    let unsold = b.unit().await;
    let (overdue, overdue_unit) = b.contract("甲", "13800000001", &b.instalments, "2026-01-10").await;
    let (paid, paid_unit) = b.contract("乙", "13800000002", &b.instalments, "2026-01-10").await;
    let (loan, loan_unit) = b.contract("丙", "13800000003", &b.mortgage, "2026-01-10").await;
    b.receipt(&overdue, "100000.00", "2026-01-10", "audited").await;
    b.receipt(&paid, "1000000.00", "2026-01-10", "audited").await;
    b.receipt(&loan, "300000.00", "2026-01-10", "audited").await;
    let (subscribed_unit, customer) = (b.unit().await, b.customer("丁", "13800000004").await);
    let body = json!({"unit_id": subscribed_unit, "customer_id": customer, "payment_method_id": b.instalments,
                      "total_price": "1000000.00", "deposit": "20000.00", "subscribed_on": "2026-11-27"});
    assert_eq!(b.app.send(post("/api/v1/sales/subscriptions", body).token(&b.agent)).await.status, StatusCode::CREATED);

    let chart = b.report(&format!("/api/v1/buildings/{}/finance-chart", b.building)).await;
    let state = |unit: &str| {
        chart["items"].as_array().unwrap().iter().find(|t| t["unit"]["id"] == unit).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(state(&unsold), "unsold");
    assert_eq!(state(&overdue_unit), "overdue");
    assert_eq!(state(&paid_unit), "paid_in_full");
    assert_eq!(state(&loan_unit), "mortgage_pending");
    assert_eq!(state(&subscribed_unit), "subscribed");
    assert_eq!(chart["counts"]["overdue"], 1);
    let page = b.app.send(get(&format!("/buildings/{}/finance", b.building)).token(&b.finance)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("ms-mortgage_pending") && page.text.contains("待按揭放款"));
    assert_eq!(
        b.app.send(get(&format!("/api/v1/buildings/{}/finance-chart", b.building)).token(&b.agent)).await.status,
        StatusCode::FORBIDDEN
    );
}
