//! The sales spine through the real router: payment plans to the fen, a unit
//! sold exactly once under 200 concurrent attempts, receipts that count only
//! once audited, and the ageing report.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

struct Office {
    app: TestApp,
    project: String,
    admin: String,
    agent: String,
    other_agent: String,
    cashier: String,
    finance: String,
    building: String,
    method: String,
}

async fn office() -> Office {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, other_agent) = app.user(&admin, "agent2", &["sales_agent"], &[&project]).await;
    let (_, cashier) = app.user(&admin, "cashier", &["cashier"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let building = app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pm = app
        .send(
            post(
                &format!("/api/v1/projects/{project}/payment-methods"),
                json!({"name": "分期付款", "kind": "instalments", "discount": "0",
                       "terms": [{"kind": "down_payment", "ratio": "0.3", "days_after_signing": 0},
                                 {"kind": "instalment", "ratio": "0.3", "days_after_signing": 90},
                                 {"kind": "instalment", "ratio": "0.4", "days_after_signing": 180}]}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(pm.status, StatusCode::CREATED, "{}", pm.text);
    let method = pm.json()["id"].as_str().unwrap().to_owned();
    // Agents here may give up to 10 % without a special approval (the tests sell below list price).
    let r = app
        .send(
            put(&format!("/api/v1/projects/{project}/discount-limit"), json!({"agent_discount_limit": "0.1"}))
                .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    Office { app, project, admin, agent, other_agent, cashier, finance, building, method }
}

impl Office {
    async fn unit(&self, number: &str, status: Option<&str>) -> String {
        let mut body = json!({"floor": 1, "number": number, "layout": "3室2厅", "gross_area": "89.37", "inner_area": "77.37", "list_price": "1050000.00"});
        if let Some(s) = status {
            body["status"] = json!(s);
        }
        let r =
            self.app.send(post(&format!("/api/v1/buildings/{}/units", self.building), body).token(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn customer(&self, token: &str, name: &str, phone: &str) -> String {
        let r = self
            .app
            .send(
                post("/api/v1/customers", json!({"name": name, "phone": phone, "project_id": self.project}))
                    .token(token),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn contract(&self, unit: &str, customer: &str, total: &str, signed_on: &str) -> Value {
        let r = self
            .app
            .send(
                post("/api/v1/sales/contracts", json!({"unit_id": unit, "customer_id": customer, "payment_method_id": self.method, "total_price": total, "signed_on": signed_on}))
                    .token(&self.agent),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    async fn plan(&self, token: &str, contract: &str) -> Vec<Value> {
        let r = self.app.send(get(&format!("/api/v1/sales/contracts/{contract}/payment-plan")).token(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["items"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_contract_gets_a_plan_that_sums_to_the_price_and_finance_sees_it_at_once() {
    let o = office().await;
    let unit = o.unit("101", None).await;
    let customer = o.customer(&o.agent, "孙七", "13600136000").await;
    let k = o.contract(&unit, &customer, "1234567.89", "2026-01-10").await;
    assert!(k["number"].as_str().unwrap().starts_with("HT"));
    let plan = o.plan(&o.finance, k["id"].as_str().unwrap()).await;
    let amounts: Vec<&str> = plan.iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["370370.37", "370370.37", "493827.15"]);
    let dues: Vec<&str> = plan.iter().map(|i| i["due_date"].as_str().unwrap()).collect();
    assert_eq!(dues, ["2026-01-10", "2026-04-10", "2026-07-09"]);
    assert!(plan.iter().all(|i| i["paid"] == "0.00" && i["outstanding"] == i["amount"]));
    // The unit is contracted and its history says so.
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    assert_eq!(history["items"][0]["to_status"], "contracted");
    // Another agent cannot see the deal; a second sale of the unit is refused.
    let r =
        o.app.send(get(&format!("/api/v1/sales/contracts/{}", k["id"].as_str().unwrap())).token(&o.other_agent)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = o.customer(&o.other_agent, "周八", "13600136001").await;
    let r = o.app
        .send(post("/api/v1/sales/subscriptions", json!({"unit_id": unit, "customer_id": other, "total_price": "1.00", "deposit": "0", "payment_method_id": o.method, "subscribed_on": "2026-01-11"})).token(&o.other_agent))
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CONFLICT, Some("unit_not_available")));
}

#[tokio::test]
async fn payment_methods_must_cover_the_whole_price() {
    let o = office().await;
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "x", "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "0.5"}]}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["terms".to_owned()]));
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "", "kind": "barter", "terms": [{"kind": "gift", "ratio": "1.5"}]}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["name", "kind", "terms[0].kind"]);
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "x", "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "1"}]}),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_contended_unit_is_sold_exactly_once_under_200_concurrent_attempts() {
    let o = office().await;
    let unit = o.unit("1801", None).await;
    let mut customers = Vec::new();
    for i in 0..200 {
        customers.push(o.customer(&o.agent, &format!("抢房{i}"), &format!("135{i:08}")).await);
    }
    let mut tasks = Vec::new();
    for customer in customers {
        let router = o.app.router.clone();
        let body = json!({"unit_id": unit, "customer_id": customer, "total_price": "1050000.00", "deposit": "50000.00",
                          "payment_method_id": o.method, "subscribed_on": "2026-02-01"});
        let token = o.agent.clone();
        tasks.push(tokio::spawn(async move {
            send_to(&router, post("/api/v1/sales/subscriptions", body).token(&token)).await
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(r.json()["code"], "unit_not_available");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!((created, conflicts), (1, 199));
    let subscribed = o
        .app
        .send(get(&format!("/api/v1/units?building_id={}&status=subscribed", o.building)).token(&o.agent))
        .await
        .json();
    assert_eq!(subscribed["items"].as_array().unwrap().len(), 1);
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "exactly one deal touched the unit");
}

#[tokio::test]
async fn held_units_cannot_be_sold_and_subscriptions_become_contracts_once() {
    let o = office().await;
    let held = o.unit("201", Some("held")).await;
    let customer = o.customer(&o.agent, "吴九", "13500135000").await;
    let subscribe = |unit: &str| {
        post(
            "/api/v1/sales/subscriptions",
            json!({"unit_id": unit, "customer_id": customer, "total_price": "1000000.00", "deposit": "20000.00",
                                                   "payment_method_id": o.method, "subscribed_on": "2026-03-01"}),
        )
        .token(&o.agent)
    };
    assert_eq!(o.app.send(subscribe(&held)).await.status, StatusCode::CONFLICT);
    let unit = o.unit("202", None).await;
    let r = o.app.send(subscribe(&unit)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sub = r.json();
    let sign = || {
        post("/api/v1/sales/contracts", json!({"subscription_id": sub["id"], "payment_method_id": o.method, "total_price": "1000000.00", "signed_on": "2026-03-05"}))
            .token(&o.agent)
    };
    let k = o.app.send(sign()).await;
    assert_eq!(k.status, StatusCode::CREATED, "{}", k.text);
    assert_eq!(k.json()["subscription_id"], sub["id"]);
    let again = o.app.send(sign()).await;
    assert_eq!((again.status, again.json()["code"].as_str()), (StatusCode::CONFLICT, Some("subscription_not_active")));
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    let steps: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["to_status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["subscribed", "contracted"]);
    let timeline = o.app.send(get(&format!("/api/v1/customers/{customer}/timeline")).token(&o.agent)).await.json();
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["contract", "subscription", "registered"]);
}

#[tokio::test]
async fn only_audited_receipts_reduce_what_is_outstanding_and_ageing_buckets_the_rest() {
    let o = office().await;
    let unit = o.unit("301", None).await;
    let customer = o.customer(&o.agent, "郑十", "13400134000").await;
    let k = o.contract(&unit, &customer, "1234567.89", "2026-01-10").await;
    let kid = k["id"].as_str().unwrap();
    let receipt = |amount: &str, key: &str| {
        post(
            "/api/v1/finance/receipts",
            json!({"contract_id": kid, "amount": amount, "received_on": "2026-01-10", "channel": "transfer"}),
        )
        .token(&o.cashier)
        .header("idempotency-key", key)
    };
    let r = o.app.send(receipt("400000.00", "r-1")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rid = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(o.app.send(receipt("400000.00", "r-1")).await.json()["id"], rid.as_str());
    assert_eq!(o.plan(&o.finance, kid).await[0]["outstanding"], "370370.37", "in-transit money does not count");

    // The cashier may not audit; finance must see it arrive first.
    assert_eq!(
        o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/audit"), json!({})).token(&o.cashier)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/audit"), json!({})).token(&o.finance)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/arrive"), json!({})).token(&o.cashier)).await.status,
        StatusCode::OK
    );
    let audited = o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/audit"), json!({})).token(&o.finance)).await;
    assert_eq!((audited.status, audited.json()["status"].as_str()), (StatusCode::OK, Some("audited")));
    let plan = o.plan(&o.finance, kid).await;
    let outstanding: Vec<&str> = plan.iter().map(|i| i["outstanding"].as_str().unwrap()).collect();
    assert_eq!(outstanding, ["0.00", "340740.74", "493827.15"], "allocated in due-date order");

    // On 2026-05-20 the second instalment (due 2026-04-10) is 40 days overdue.
    let rep = o
        .app
        .send(
            get(&format!("/api/v1/finance/reports/ageing?as_of=2026-05-20&project_id={}", o.project)).token(&o.finance),
        )
        .await
        .json();
    assert_eq!(
        rep["totals"],
        json!({"not_due": "493827.15", "1-30": "0.00", "31-60": "340740.74", "61-90": "0.00", "91-180": "0.00", "181-365": "0.00", ">365": "0.00"})
    );
    assert_eq!(rep["contracts"][0]["contract_id"], kid);
    assert_eq!(rep["contracts"][0]["amounts"]["31-60"], "340740.74");
    assert_eq!(
        o.app.send(get("/api/v1/finance/reports/ageing?as_of=2026-05-20").token(&o.agent)).await.status,
        StatusCode::FORBIDDEN
    );

    // The project sets its own buckets: the same money falls where a hand count puts it
    // (40 days overdue is in 16-45), in the report, the arrears list, the export and the page.
    let setting = |limits: Value, project: bool, token: &str| {
        let path = if project {
            format!("/api/v1/finance/settings/ageing-buckets?project_id={}", o.project)
        } else {
            "/api/v1/finance/settings/ageing-buckets".to_owned()
        };
        put(&path, json!({"limits": limits})).token(token)
    };
    // `limits` must be there: `null` resets a project, absence is a mistake.
    let path = format!("/api/v1/finance/settings/ageing-buckets?project_id={}", o.project);
    let r = o.app.send(put(&path, json!({})).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = o.app.send(setting(json!([15, 45, 120]), true, &o.finance)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["source"].as_str(), r.json()["labels"][2].as_str()), (Some("project"), Some("16-45")));
    let ageing = |q: &str| get(&format!("/api/v1/finance/reports/ageing?as_of=2026-05-20{q}")).token(&o.finance);
    let rep = o.app.send(ageing(&format!("&project_id={}", o.project))).await.json();
    assert_eq!(rep["buckets"], json!(["not_due", "1-15", "16-45", "46-120", ">120"]));
    assert_eq!(
        rep["totals"],
        json!({"not_due": "493827.15", "1-15": "0.00", "16-45": "340740.74", "46-120": "0.00", ">120": "0.00"})
    );
    let arrears = o
        .app
        .send(
            get(&format!("/api/v1/finance/reports/arrears?as_of=2026-06-01&project_id={}", o.project))
                .token(&o.finance),
        )
        .await
        .json();
    assert_eq!(arrears["items"][0]["bucket"], "46-120", "52 days overdue: {arrears}");
    let page =
        o.app.send(get(&format!("/finance/ageing?as_of=2026-05-20&project_id={}", o.project)).token(&o.finance)).await;
    assert!(page.text.contains("逾期 16-45 天") && page.text.contains("340,740.74"), "{}", page.text);
    let sheet = o
        .app
        .send(
            get(&format!("/api/v1/finance/reports/ageing/export?as_of=2026-05-20&project_id={}", o.project))
                .token(&o.finance),
        )
        .await;
    let rows = loupan_documents::xlsx::read_first_sheet(&sheet.bytes).unwrap();
    assert_eq!(
        rows[0].iter().map(|c| c.as_text().unwrap_or_default()).collect::<Vec<_>>(),
        ["合同编号", "not_due", "1-15", "16-45", "46-120", ">120"]
    );
    // The company's buckets need someone who sees every project; bad limits are named.
    assert_eq!(o.app.send(setting(json!([10, 20]), false, &o.finance)).await.status, StatusCode::FORBIDDEN);
    let r = o.app.send(setting(json!([30, 30]), true, &o.finance)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["limits".to_owned()]));
    let r = o.app.send(setting(json!([10, 20]), false, &o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Returned to the company's: the project now counts in 1-10, 11-20, >20.
    let r = o.app.send(setting(Value::Null, true, &o.finance)).await;
    assert_eq!(r.json()["source"], "company", "{}", r.text);
    let rep = o.app.send(ageing(&format!("&project_id={}", o.project))).await.json();
    assert_eq!(rep["totals"][">20"], "340740.74", "{rep}");
    // And the company's returned to DOMAIN.md's defaults.
    let r = o.app.send(setting(Value::Null, false, &o.admin)).await;
    assert_eq!((r.status, r.json()["source"].as_str()), (StatusCode::OK, Some("default")), "{}", r.text);
    let rep = o.app.send(ageing(&format!("&project_id={}", o.project))).await.json();
    assert_eq!(rep["totals"]["31-60"], "340740.74", "{rep}");
    let r = o.app.send(setting(json!([10, 20]), false, &o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The page's form does the same, and names a mistake.
    let r = o
        .app
        .send(
            form("/finance/ageing/buckets", &[("project_id", o.project.as_str()), ("limits", "60, 30")])
                .token(&o.finance),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("buckets-form") && r.text.contains("60, 30"));

    // Bad money input is named, never a 5xx.
    for (body, field) in [
        (json!({"contract_id": kid, "amount": "-5.00", "received_on": "2026-01-10", "channel": "cash"}), "amount"),
        (json!({"contract_id": kid, "amount": "1.001", "received_on": "2026-01-10", "channel": "cash"}), "amount"),
        (json!({"contract_id": kid, "amount": "1.00", "received_on": "2026-13-40", "channel": "cash"}), "received_on"),
        (json!({"contract_id": kid, "amount": "1.00", "received_on": "2026-01-10", "channel": "bitcoin"}), "channel"),
        (json!({"contract_id": kid, "amount": "9999999.00", "received_on": "2026-01-10", "channel": "cash"}), "amount"),
    ] {
        let r = o.app.send(post("/api/v1/finance/receipts", body).token(&o.cashier)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_owned()]));
    }
}

#[tokio::test]
async fn sales_control_holds_and_releases_units_with_history() {
    let o = office().await;
    let unit = o.unit("501", None).await;
    let customer = o.customer(&o.agent, "冯十一", "13300133000").await;
    assert_eq!(
        o.app.send(post(&format!("/api/v1/units/{unit}/hold"), json!({})).token(&o.agent)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = o.app.send(post(&format!("/api/v1/units/{unit}/hold"), json!({})).token(&o.admin)).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("held")));
    let attempt = || {
        post(
            "/api/v1/sales/subscriptions",
            json!({"unit_id": unit, "customer_id": customer, "total_price": "1000000.00", "deposit": "0",
                                                   "payment_method_id": o.method, "subscribed_on": "2026-03-01"}),
        )
        .token(&o.agent)
    };
    assert_eq!(o.app.send(attempt()).await.status, StatusCode::CONFLICT);
    assert_eq!(
        o.app.send(post(&format!("/api/v1/units/{unit}/hold"), json!({})).token(&o.admin)).await.status,
        StatusCode::CONFLICT
    );
    let r = o.app.send(post(&format!("/api/v1/units/{unit}/release"), json!({})).token(&o.admin)).await;
    assert_eq!(r.json()["status"], "available");
    assert_eq!(o.app.send(attempt()).await.status, StatusCode::CREATED);
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    let steps: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("held", "held"), ("released", "available"), ("subscribed", "subscribed")]);
}

#[tokio::test]
async fn unit_changes_reach_open_charts_on_every_instance() {
    let o = office().await;
    let unit = o.unit("601", None).await;
    // On PostgreSQL a second instance hears it through NOTIFY; SQLite has one process.
    let (_, second) = o.app.second_instance().await;
    let postgres = o.app.services.store.backend() == loupan_store::DbBackend::Postgres;
    let mut updates = if postgres {
        loupan_service::platform::live::start(&second);
        second.live.subscribe()
    } else {
        o.app.services.live.subscribe()
    };
    let wait = std::time::Duration::from_millis(500);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The listener needs a moment to start: toggle until a first change arrives.
    loop {
        assert!(std::time::Instant::now() < deadline, "no live update arrived");
        o.app.send(post(&format!("/api/v1/units/{unit}/hold"), json!({})).token(&o.admin)).await;
        if tokio::time::timeout(wait, updates.recv()).await.is_ok() {
            break;
        }
        o.app.send(post(&format!("/api/v1/units/{unit}/release"), json!({})).token(&o.admin)).await;
        if tokio::time::timeout(wait, updates.recv()).await.is_ok() {
            break;
        }
    }
    while tokio::time::timeout(wait, updates.recv()).await.is_ok() {}
    // Now one definite change, and exactly that arrives.
    let now = o.app.send(get(&format!("/api/v1/units/{unit}")).token(&o.admin)).await.json();
    let (action, expected) = if now["status"] == "held" { ("release", "available") } else { ("hold", "held") };
    assert_eq!(
        o.app.send(post(&format!("/api/v1/units/{unit}/{action}"), json!({})).token(&o.admin)).await.status,
        StatusCode::OK
    );
    let change = tokio::time::timeout(std::time::Duration::from_secs(5), updates.recv())
        .await
        .expect("in time")
        .expect("a change");
    let loupan_service::platform::live::LiveChange::Unit(change) = change else { panic!("{change:?}") };
    assert_eq!(
        (change.unit_id.as_str(), change.building_id.as_str(), change.status.name()),
        (unit.as_str(), o.building.as_str(), expected)
    );
}

#[tokio::test]
async fn the_workbench_lists_what_needs_attention() {
    let o = office().await;
    let unit = o.unit("701", None).await;
    let customer = o.customer(&o.agent, "褚十二", "13200132000").await;
    o.contract(&unit, &customer, "1000000.00", "2025-01-10").await;
    let wb = o.app.send(get("/api/v1/workbench").token(&o.finance)).await.json();
    let overdue =
        wb["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "overdue_instalments").expect("an overdue alert");
    assert_eq!(overdue["count"], 3, "all three instalments of a 2025 contract are overdue");
    assert_eq!(wb["pending_approvals"], json!([]));
    // The same buyer registered by a second agent gives the manager a ruling to make.
    o.customer(&o.other_agent, "褚十二", "13200132000").await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    let wb = o.app.send(get("/api/v1/workbench").token(&manager)).await.json();
    assert!(wb["alerts"].as_array().unwrap().iter().any(|a| a["kind"] == "open_duplicates" && a["count"] == 1), "{wb}");
    let wb = o.app.send(get("/api/v1/workbench").token(&o.agent)).await.json();
    assert!(
        wb["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["kind"] != "overdue_instalments" && a["kind"] != "open_duplicates")
    );
}

#[tokio::test]
async fn a_cancellation_waits_for_the_manager_then_frees_the_unit_and_leaves_a_refund() {
    let o = office().await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    // The project grades buyers with a deal apart (C3): the grade follows the deal both ways.
    let rules = json!({"rules": [{"grade": "成交", "conditions": {"has_deal": true}}, {"grade": "意向"}]});
    let r = o.app.send(put(&format!("/api/v1/projects/{}/grade-rules", o.project), rules).token(&manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let unit = o.unit("801", None).await;
    let customer = o.customer(&o.agent, "卫十三", "13100131000").await;
    let grade = |token: &str| o.app.send(get(&format!("/api/v1/customers/{customer}")).token(token));
    assert_eq!(grade(&o.agent).await.json()["grade"], "意向");
    let k = o.contract(&unit, &customer, "1000000.00", "2026-01-10").await;
    assert_eq!(grade(&o.agent).await.json()["grade"], "成交");
    let kid = k["id"].as_str().unwrap();
    // 300,000.00 of the down payment is audited; it must come back.
    let r = o
        .app
        .send(
            post(
                "/api/v1/finance/receipts",
                json!({"contract_id": kid, "amount": "300000.00", "received_on": "2026-01-10", "channel": "transfer"}),
            )
            .token(&o.cashier),
        )
        .await;
    let rid = r.json()["id"].as_str().unwrap().to_owned();
    o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/arrive"), json!({})).token(&o.cashier)).await;
    o.app.send(post(&format!("/api/v1/finance/receipts/{rid}/audit"), json!({})).token(&o.finance)).await;

    let request = |reason: &str| {
        post("/api/v1/sales/changes", json!({"kind": "cancel_contract", "subject_id": kid, "reason": reason}))
            .token(&o.agent)
    };
    let r = o.app.send(request("客户资金问题")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let change = r.json();
    assert_eq!(o.app.send(request("again")).await.status, StatusCode::CONFLICT, "one pending request per deal");
    // Nothing has changed yet.
    assert_eq!(o.app.send(get(&format!("/api/v1/units/{unit}")).token(&o.agent)).await.json()["status"], "contracted");
    // The request waits in the manager's approvals; agents cannot decide it.
    let wb = o.app.send(get("/api/v1/workbench").token(&manager)).await.json();
    let approval = change["approval_id"].as_str().unwrap();
    assert_eq!(wb["pending_approvals"][0]["id"], approval, "{wb}");
    assert_eq!(wb["pending_approvals"][0]["facts"]["amount"], "300000.00");
    assert_eq!(
        o.app.send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({})).token(&o.agent)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = o
        .app
        .send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({"comment": "同意"})).token(&manager))
        .await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("approved")), "{}", r.text);
    assert_eq!(
        o.app.send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({})).token(&manager)).await.status,
        StatusCode::CONFLICT
    );
    let changes = o.app.send(get("/api/v1/sales/changes").token(&manager)).await.json();
    assert_eq!(changes["items"][0]["status"], "executed");
    assert_eq!(o.app.send(get(&format!("/api/v1/units/{unit}")).token(&o.agent)).await.json()["status"], "available");
    assert_eq!(
        o.app.send(get(&format!("/api/v1/sales/contracts/{kid}")).token(&o.agent)).await.json()["status"],
        "cancelled"
    );
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    let steps: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(steps, ["contracted", "cancelled"]);
    let refunds = o.app.send(get("/api/v1/finance/refunds?status=due").token(&o.finance)).await.json();
    assert_eq!(refunds["items"][0]["amount"], "300000.00");
    assert_eq!(refunds["items"][0]["contract_id"], kid);
    let rep = o
        .app
        .send(
            get(&format!("/api/v1/finance/reports/ageing?as_of=2026-12-31&project_id={}", o.project)).token(&o.finance),
        )
        .await
        .json();
    assert!(
        rep["contracts"].as_array().unwrap().iter().all(|c| c["contract_id"] != kid),
        "a cancelled contract owes nothing"
    );
    assert_eq!(grade(&manager).await.json()["grade"], "意向", "no deal any more");
    // The unit can be sold again.
    let other = o.customer(&o.other_agent, "韦十四", "13100131001").await;
    let r = o.app
        .send(post("/api/v1/sales/subscriptions", json!({"unit_id": unit, "customer_id": other, "total_price": "990000.00", "deposit": "0", "payment_method_id": o.method, "subscribed_on": "2026-12-01"})).token(&o.other_agent))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn a_rejected_cancellation_changes_nothing() {
    let o = office().await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    let unit = o.unit("802", None).await;
    let customer = o.customer(&o.agent, "蒋十五", "13100131002").await;
    let k = o.contract(&unit, &customer, "1000000.00", "2026-01-10").await;
    let r = o
        .app
        .send(
            post(
                "/api/v1/sales/changes",
                json!({"kind": "cancel_contract", "subject_id": k["id"], "reason": "想换房"}),
            )
            .token(&o.agent),
        )
        .await;
    let approval = r.json()["approval_id"].as_str().unwrap().to_owned();
    let reject = |body: Value| post(&format!("/api/v1/approvals/{approval}/reject"), body).token(&manager);
    assert_eq!(o.app.send(reject(json!({}))).await.error_fields(), vec!["comment"], "a rejection needs a reason");
    let r = o.app.send(reject(json!({"comment": "已网签，不予退房"}))).await;
    assert_eq!(r.json()["status"], "rejected", "{}", r.text);
    let changes = o.app.send(get("/api/v1/sales/changes").token(&manager)).await.json();
    assert_eq!(changes["items"][0]["status"], "rejected");
    assert_eq!(o.app.send(get(&format!("/api/v1/units/{unit}")).token(&o.agent)).await.json()["status"], "contracted");
    assert_eq!(o.app.send(get("/api/v1/finance/refunds").token(&o.finance)).await.json()["items"], json!([]));
    let r = o
        .app
        .send(
            post("/api/v1/sales/changes", json!({"kind": "demolish", "subject_id": "", "reason": ""})).token(&o.agent),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["kind", "subject_id", "reason"]);
}

#[tokio::test]
async fn a_reservation_keeps_a_unit_for_one_customer_and_expires_by_itself() {
    let o = office().await;
    let unit = o.unit("901", None).await;
    let buyer = o.customer(&o.agent, "沈十六", "13000130000").await;
    let other = o.customer(&o.other_agent, "韩十七", "13000130001").await;
    let r = o
        .app
        .send(
            post("/api/v1/sales/reservations", json!({"unit_id": unit, "customer_id": buyer, "days": 3}))
                .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let subscribe = |customer: &str, token: &str| {
        post(
            "/api/v1/sales/subscriptions",
            json!({"unit_id": unit, "customer_id": customer, "total_price": "1000000.00", "deposit": "0",
                                                   "payment_method_id": o.method, "subscribed_on": "2026-11-27"}),
        )
        .token(token)
    };
    assert_eq!(
        o.app.send(subscribe(&other, &o.other_agent)).await.status,
        StatusCode::CONFLICT,
        "kept for the other customer"
    );
    assert_eq!(
        o.app.send(subscribe(&buyer, &o.agent)).await.status,
        StatusCode::CREATED,
        "the reserved customer may buy"
    );
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    let steps: Vec<&str> =
        history["items"].as_array().unwrap().iter().map(|e| e["to_status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["reserved", "subscribed"]);

    // Another reservation that nobody converts runs out.
    let unit2 = o.unit("902", None).await;
    o.app
        .send(
            post("/api/v1/sales/reservations", json!({"unit_id": unit2, "customer_id": buyer, "days": 3}))
                .token(&o.agent),
        )
        .await;
    let now = loupan_store::now();
    assert_eq!(loupan_service::sales::expire_reservations(&o.app.services, now).await.unwrap(), 0, "not yet due");
    let later = now + chrono::Duration::days(3) + chrono::Duration::minutes(1);
    assert_eq!(loupan_service::sales::expire_reservations(&o.app.services, later).await.unwrap(), 1);
    assert_eq!(o.app.send(get(&format!("/api/v1/units/{unit2}")).token(&o.agent)).await.json()["status"], "available");
    let r = o
        .app
        .send(
            post("/api/v1/sales/reservations", json!({"unit_id": unit2, "customer_id": buyer, "days": 99}))
                .token(&o.agent),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["days"]);
}

impl Office {
    /// A contract with `paid` received, arrived and audited.
    async fn paid_contract(&self, number: &str, customer: &str, total: &str, paid: &str) -> (String, String) {
        let unit = self.unit(number, None).await;
        let k = self.contract(&unit, customer, total, "2026-01-10").await;
        let kid = k["id"].as_str().unwrap().to_owned();
        let r = self
            .app
            .send(
                post(
                    "/api/v1/finance/receipts",
                    json!({"contract_id": kid, "amount": paid, "received_on": "2026-01-10", "channel": "transfer"}),
                )
                .token(&self.cashier),
            )
            .await;
        let rid = r.json()["id"].as_str().unwrap().to_owned();
        self.app.send(post(&format!("/api/v1/finance/receipts/{rid}/arrive"), json!({})).token(&self.cashier)).await;
        let r =
            self.app.send(post(&format!("/api/v1/finance/receipts/{rid}/audit"), json!({})).token(&self.finance)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (unit, kid)
    }

    /// Requests a change as the agent and has the manager approve it; returns the executed change.
    async fn change(&self, manager: &str, body: Value) -> Value {
        let r = self.app.send(post("/api/v1/sales/changes", body).token(&self.agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let approval = r.json()["approval_id"].as_str().unwrap().to_owned();
        let r = self.app.send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({})).token(manager)).await;
        assert_eq!(r.json()["status"], "approved", "{}", r.text);
        let id = r.json()["subject_id"].as_str().unwrap().to_owned();
        let all = self.app.send(get("/api/v1/sales/changes").token(manager)).await.json();
        all["items"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone()
    }
}

#[tokio::test]
async fn a_unit_swap_moves_the_paid_money_to_the_new_deal_and_both_units_keep_history() {
    let o = office().await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    let customer = o.customer(&o.agent, "褚十八", "13200132000").await;
    let (old_unit, old_k) = o.paid_contract("1001", &customer, "1000000.00", "300000.00").await;
    let new_unit = o.unit("1002", None).await;
    // Nothing happens before approval.
    let bad = o
        .app
        .send(
            post("/api/v1/sales/changes", json!({"kind": "swap", "subject_id": old_k, "reason": "换大户型"}))
                .token(&o.agent),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["new_unit_id", "new_total_price"]);
    let change = o
        .change(&manager, json!({"kind": "swap", "subject_id": old_k, "reason": "换大户型", "new_unit_id": new_unit, "new_total_price": "1020000.00"}))
        .await;
    assert_eq!(change["status"], "executed", "{change}");
    assert_eq!(change["details"]["before"]["paid"], "300000.00");
    let new_k = change["details"]["result"]["new_deal_id"].as_str().unwrap().to_owned();

    let unit = |id: &str| get(&format!("/api/v1/units/{id}")).token(&o.agent);
    assert_eq!(o.app.send(unit(&old_unit)).await.json()["status"], "available");
    assert_eq!(o.app.send(unit(&new_unit)).await.json()["status"], "contracted");
    let kinds = |h: Value| -> Vec<String> {
        h["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
    };
    let h = o.app.send(get(&format!("/api/v1/units/{old_unit}/history")).token(&o.agent)).await.json();
    assert_eq!(kinds(h), ["contracted", "swapped_out"]);
    let h = o.app.send(get(&format!("/api/v1/units/{new_unit}/history")).token(&o.agent)).await.json();
    assert_eq!(kinds(h), ["swapped_in"]);
    let old = o.app.send(get(&format!("/api/v1/sales/contracts/{old_k}")).token(&o.agent)).await.json();
    assert_eq!(old["status"], "cancelled");
    // The new contract's plan sums to its price and already holds the money paid.
    let plan = o.plan(&o.finance, &new_k).await;
    let sum: f64 = plan.iter().map(|i| i["amount"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert!((sum - 1_020_000.0).abs() < 0.001, "{plan:?}");
    assert_eq!((plan[0]["amount"].as_str(), plan[0]["paid"].as_str()), (Some("306000.00"), Some("300000.00")));
    // Finance sees the transfer on both sides; nothing is refunded.
    let receipts = o.app.send(get(&format!("/api/v1/finance/receipts?contract_id={new_k}")).token(&o.finance)).await;
    assert!(receipts.text.contains("deal_transfer") && receipts.text.contains("300000.00"), "{}", receipts.text);
    let receipts = o.app.send(get(&format!("/api/v1/finance/receipts?contract_id={old_k}")).token(&o.finance)).await;
    assert!(receipts.text.contains("-300000.00"), "{}", receipts.text);
    assert_eq!(o.app.send(get("/api/v1/finance/refunds").token(&o.finance)).await.json()["items"], json!([]));
}

#[tokio::test]
async fn price_and_payment_method_changes_rewrite_the_plan_and_keep_the_money_paid() {
    let o = office().await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    let customer = o.customer(&o.agent, "卫十九", "13200132001").await;
    let (_, k) = o.paid_contract("1101", &customer, "1000000.00", "300000.00").await;
    let r = o
        .app
        .send(
            post(
                "/api/v1/sales/changes",
                json!({"kind": "change_price", "subject_id": k, "reason": "x", "new_total_price": "1000000.00"}),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "unchanged");
    let change = o
        .change(
            &manager,
            json!({"kind": "change_price", "subject_id": k, "reason": "面积差补", "new_total_price": "950000.00"}),
        )
        .await;
    assert_eq!(change["details"]["before"]["total_price"], "1000000.00");
    let plan = o.plan(&o.finance, &k).await;
    let amounts: Vec<&str> = plan.iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["285000.00", "285000.00", "380000.00"]);
    let paid: Vec<&str> = plan.iter().map(|i| i["paid"].as_str().unwrap()).collect();
    assert_eq!(paid, ["285000.00", "15000.00", "0.00"], "the money paid is allocated again, earliest first");
    let contract = o.app.send(get(&format!("/api/v1/sales/contracts/{k}")).token(&o.agent)).await.json();
    assert_eq!(contract["total_price"], "950000.00");

    // A one-off payment method: one instalment, the money paid on it.
    let one_off = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "一次性", "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 7}]}),
            )
            .token(&o.admin),
        )
        .await
        .json();
    o.change(&manager, json!({"kind": "change_payment_method", "subject_id": k, "reason": "改一次性付款", "payment_method_id": one_off["id"]}))
        .await;
    let plan = o.plan(&o.finance, &k).await;
    assert_eq!(plan.len(), 1);
    assert_eq!((plan[0]["amount"].as_str(), plan[0]["paid"].as_str()), (Some("950000.00"), Some("300000.00")));

    // A price below what was paid: the difference becomes a refund due.
    o.change(
        &manager,
        json!({"kind": "change_price", "subject_id": k, "reason": "协商降价", "new_total_price": "250000.00"}),
    )
    .await;
    let refunds = o.app.send(get("/api/v1/finance/refunds?status=due").token(&o.finance)).await.json();
    assert_eq!(
        (refunds["items"][0]["amount"].as_str(), refunds["items"][0]["contract_id"].as_str()),
        (Some("50000.00"), Some(k.as_str()))
    );
}

#[tokio::test]
async fn buyers_and_their_shares_change_only_when_approved() {
    let o = office().await;
    let (_, manager) = o.app.user(&o.admin, "mgr", &["sales_manager"], &[&o.project]).await;
    let husband = o.customer(&o.agent, "蒋二十", "13200132002").await;
    let wife = o.customer(&o.agent, "沈二一", "13200132003").await;
    let stranger = o.customer(&o.other_agent, "韩二二", "13200132004").await;
    let unit = o.unit("1201", None).await;
    let k = o.contract(&unit, &husband, "1000000.00", "2026-01-10").await["id"].as_str().unwrap().to_owned();
    let buyers = |k: &str| get(&format!("/api/v1/sales/deals/{k}/buyers")).token(&o.agent);
    assert_eq!(o.app.send(buyers(&k)).await.json()["items"], json!([{"customer_id": husband, "share": "1"}]));
    let request = |list: Value| {
        post("/api/v1/sales/changes", json!({"kind": "rename", "subject_id": k, "reason": "加名", "buyers": list}))
            .token(&o.agent)
    };
    let r = o
        .app
        .send(request(json!([{"customer_id": husband, "share": "0.5"}, {"customer_id": wife, "share": "0.4"}])))
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "shares_must_sum_to_one");
    let r = o
        .app
        .send(request(json!([{"customer_id": husband, "share": "0.5"}, {"customer_id": stranger, "share": "0.5"}])))
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_customer", "an agent adds only their own customers");
    let change = o
        .change(&manager, json!({"kind": "rename", "subject_id": k, "reason": "加名", "buyers": [{"customer_id": wife, "share": "0.5"}, {"customer_id": husband, "share": "0.5"}]}))
        .await;
    assert_eq!(change["details"]["before"]["buyers"], json!([{"customer_id": husband, "share": "1"}]));
    let now = o.app.send(buyers(&k)).await.json();
    assert_eq!(now["items"], json!([{"customer_id": wife, "share": "0.5"}, {"customer_id": husband, "share": "0.5"}]));
    let contract = o.app.send(get(&format!("/api/v1/sales/contracts/{k}")).token(&o.agent)).await.json();
    assert_eq!(contract["customer_id"], wife, "the first buyer is the main buyer");
    let timeline = o.app.send(get(&format!("/api/v1/customers/{wife}/timeline")).token(&o.agent)).await;
    assert!(timeline.text.contains("rename"), "{}", timeline.text);
}

#[tokio::test]
async fn the_subscription_letter_prints_the_deal_with_the_price_in_capital_numerals() {
    let o = office().await;
    let unit = o.unit("1301", None).await;
    let customer = o.customer(&o.agent, "杨二三", "13200132005").await;
    let r = o
        .app
        .send(post("/api/v1/sales/subscriptions", json!({"unit_id": unit, "customer_id": customer, "total_price": "1005000.00", "deposit": "50000.00", "payment_method_id": o.method, "subscribed_on": "2026-11-27"})).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/sales/subscriptions/{id}/letter.pdf");
    assert_eq!(o.app.send(get(&path).token(&o.other_agent)).await.status, StatusCode::NOT_FOUND);
    let required = std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() == Ok("1");
    let r = o.app.send(get(&path).token(&o.agent)).await;
    if !loupan_documents::pdf::available() {
        assert!(!required, "CI needs a CJK font for letters");
        assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("pdf_font_missing")));
        eprintln!("*** letter test SKIPPED: no CJK font ***");
        return;
    }
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/pdf");
    let dir = std::env::temp_dir().join(format!("loupan-letter-{}", loupan_store::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = r.bytes.clone();
    assert!(bytes.starts_with(b"%PDF"));
    std::fs::write(dir.join("letter.pdf"), &bytes).unwrap();
    let text = match std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(dir.join("letter.pdf"))
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            assert!(!required, "CI needs pdftotext (poppler-utils)");
            eprintln!("*** letter text check SKIPPED: no pdftotext ***");
            return;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    for expected in ["商品房认购书", "1301", "杨二三", "壹佰万零伍仟元整", "伍万元整", "1,005,000.00", "分期付款"]
    {
        assert!(text.contains(expected), "{expected} missing from the letter:\n{text}");
    }
    // Printing is audited (the letter carries personal data).
    let audit =
        o.app.send(get(&format!("/api/v1/admin/audit?record_type=subscription&record_id={id}")).token(&o.admin)).await;
    assert!(audit.text.contains("subscription.print_letter"), "{}", audit.text);
}

#[tokio::test]
async fn a_subscription_may_have_several_buyers_who_carry_over_to_the_contract() {
    let o = office().await;
    let a = o.customer(&o.agent, "朱二四", "13200132006").await;
    let b = o.customer(&o.agent, "秦二五", "13200132007").await;
    let unit = o.unit("1401", None).await;
    let body = |buyers: Value| {
        json!({"unit_id": unit, "customer_id": a, "total_price": "1050000.00", "deposit": "50000.00",
               "payment_method_id": o.method, "subscribed_on": "2026-11-27", "buyers": buyers})
    };
    let r = o
        .app
        .send(
            post(
                "/api/v1/sales/subscriptions",
                body(json!([{"customer_id": b, "share": "0.6"}, {"customer_id": a, "share": "0.4"}])),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "main_buyer_first");
    let r = o
        .app
        .send(
            post(
                "/api/v1/sales/subscriptions",
                body(json!([{"customer_id": a, "share": "0.6"}, {"customer_id": b, "share": "0.4"}])),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sid = r.json()["id"].as_str().unwrap().to_owned();
    let expected = json!([{"customer_id": a, "share": "0.6"}, {"customer_id": b, "share": "0.4"}]);
    let buyers = o.app.send(get(&format!("/api/v1/sales/deals/{sid}/buyers")).token(&o.agent)).await.json();
    assert_eq!(buyers["items"], expected);
    let r = o
        .app
        .send(post("/api/v1/sales/contracts", json!({"subscription_id": sid, "payment_method_id": o.method, "total_price": "1050000.00", "signed_on": "2026-12-01"})).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let kid = r.json()["id"].as_str().unwrap().to_owned();
    let buyers = o.app.send(get(&format!("/api/v1/sales/deals/{kid}/buyers")).token(&o.agent)).await.json();
    assert_eq!(buyers["items"], expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_sales_of_a_project_at_the_same_moment_all_get_their_own_numbers() {
    let o = office().await;
    let mut deals = Vec::new();
    for i in 0..20 {
        let unit = o.unit(&format!("15{i:02}"), None).await;
        let customer = o.customer(&o.agent, &format!("首开{i}"), &format!("1370000{i:04}")).await;
        deals.push((unit, customer));
    }
    let mut tasks = Vec::new();
    for (unit, customer) in deals {
        let router = o.app.router.clone();
        let body = json!({"unit_id": unit, "customer_id": customer, "total_price": "1050000.00", "deposit": "0",
                          "payment_method_id": o.method, "subscribed_on": "2026-02-01"});
        let token = o.agent.clone();
        tasks.push(tokio::spawn(async move {
            send_to(&router, post("/api/v1/sales/subscriptions", body).token(&token)).await
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        numbers.push(r.json()["number"].as_str().unwrap().to_owned());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("RG{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn deals_are_listed_newest_first_page_by_page_within_the_readers_scope_and_exported_whole() {
    let o = office().await;
    let mine = o.customer(&o.agent, "周一", "13600136101").await;
    for (i, day) in ["2026-01-05", "2026-01-06", "2026-01-06", "2026-01-07", "2026-01-09"].iter().enumerate() {
        let unit = o.unit(&format!("2{i:02}"), None).await;
        o.contract(&unit, &mine, "1000000.00", day).await;
    }
    let theirs = o.customer(&o.other_agent, "吴二", "13600136102").await;
    let unit = o.unit("301", None).await;
    let r = o
        .app
        .send(
            post("/api/v1/sales/contracts", json!({"unit_id": unit, "customer_id": theirs, "payment_method_id": o.method, "total_price": "1000000.00", "signed_on": "2026-01-08"}))
                .token(&o.other_agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let subscribed = o.unit("302", None).await;
    let r = o
        .app
        .send(
            post("/api/v1/sales/subscriptions", json!({"unit_id": subscribed, "customer_id": mine, "payment_method_id": o.method, "total_price": "980000.00", "deposit": "20000.00", "subscribed_on": "2026-01-10"}))
                .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The agent pages through their own five contracts, newest first; the other agent's is not among them.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = o.app.send(get(&format!("/api/v1/sales/contracts?limit=2{cursor}")).token(&o.agent)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = r.json();
        pages += 1;
        for k in page["items"].as_array().unwrap() {
            assert_eq!(k["customer_name"], "周一");
            assert_eq!(k["agent_name"], "agent");
            seen.push(k["signed_on"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["2026-01-09", "2026-01-07", "2026-01-06", "2026-01-06", "2026-01-05"]);

    // Finance sees the project's six; conditions narrow them.
    let o = &o;
    let count = |q: &str| {
        let q = q.to_owned();
        async move {
            let r = o.app.send(get(&format!("/api/v1/sales/contracts?limit=500{q}")).token(&o.finance)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json()["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("").await, 6);
    assert_eq!(count(&format!("&customer_id={theirs}")).await, 1);
    assert_eq!(count("&from=2026-01-06&to=2026-01-08").await, 4);
    assert_eq!(count(&format!("&building_id={}", o.building)).await, 6);
    assert_eq!(count("&building_id=elsewhere").await, 0);
    assert_eq!(count("&status=cancelled").await, 0);
    assert_eq!(count(&format!("&project_id={}&status=active", o.project)).await, 6);
    // Another agent asking for this agent's deals finds none of them.
    let me = o.app.send(get("/api/v1/auth/me").token(&o.agent)).await.json();
    let r = o
        .app
        .send(get(&format!("/api/v1/sales/contracts?agent_id={}", me["id"].as_str().unwrap())).token(&o.other_agent))
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);

    // The subscription is listed on its own.
    let r = o.app.send(get("/api/v1/sales/subscriptions").token(&o.agent)).await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["deposit"].as_str(), items[0]["status"].as_str()), (Some("20000.00"), Some("active")));

    // Bad conditions are named.
    let r = o
        .app
        .send(get("/api/v1/sales/contracts?from=2026-02-01&to=2026-01-01&cursor=nonsense").token(&o.finance))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["cursor", "to"]);
    let r = o.app.send(get("/api/v1/sales/contracts?status=sold").token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // The export holds every match, not a page, and a total line.
    let r = o.app.send(get("/api/v1/sales/contracts/export?limit=1").token(&o.finance).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = loupan_documents::xlsx::read_first_sheet(&r.bytes).unwrap();
    let text = |c: &loupan_documents::xlsx::Cell| c.as_text().unwrap_or_default();
    assert_eq!(text(&rows[0][1]), "签约日期");
    assert_eq!(rows.len(), 1 + 6 + 1);
    assert_eq!(text(&rows[1][6]), "有效");
    assert_eq!(rows[7][7], loupan_documents::xlsx::Cell::Number(6_000_000.0));
}

#[tokio::test]
async fn an_api_client_follows_the_chart_through_the_event_stream() {
    use tokio_stream::StreamExt;
    use tower::ServiceExt;
    let o = office().await;
    let unit = o.unit("801", None).await;
    if o.app.services.store.backend() == loupan_store::DbBackend::Postgres {
        loupan_service::platform::live::start(&o.app.services);
    }
    let request = axum::http::Request::get(format!("/api/v1/buildings/{}/events", o.building))
        .header("authorization", format!("Bearer {}", o.agent))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = o.app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut received = String::new();
    // The listener may need a moment on PostgreSQL: hold and release until an event arrives.
    for action in ["hold", "release"].iter().cycle() {
        assert!(std::time::Instant::now() < deadline, "no event arrived: {received}");
        o.app.send(post(&format!("/api/v1/units/{unit}/{action}"), json!({})).token(&o.admin)).await;
        if let Ok(Some(Ok(frame))) = tokio::time::timeout(std::time::Duration::from_millis(500), body.next()).await {
            received.push_str(&String::from_utf8_lossy(&frame));
            if received.contains("event: unit") {
                break;
            }
        }
    }
    let data = received.lines().find_map(|l| l.strip_prefix("data: ")).expect("a data line");
    let change: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        (change["unit_id"].as_str(), change["building_id"].as_str()),
        (Some(unit.as_str()), Some(o.building.as_str()))
    );
    // Another project's building is not found.
    let r = o.app.send(get("/api/v1/buildings/elsewhere/events").token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_payment_method_in_use_is_retired_and_replaced_so_deals_keep_their_terms() {
    let o = office().await;
    let method = |id: &str| get(&format!("/api/v1/payment-methods/{id}")).token(&o.admin);
    let change = |id: &str, version: i64, down: &str| {
        put(
            &format!("/api/v1/payment-methods/{id}"),
            json!({"version": version, "name": "分期付款", "kind": "instalments", "discount": "0",
                   "terms": [{"kind": "down_payment", "ratio": down, "days_after_signing": 0},
                             {"kind": "instalment", "ratio": "0.5", "days_after_signing": 90}]}),
        )
        .token(&o.admin)
    };
    // Unused: changed in place.
    let r = o.app.send(change(&o.method, 1, "0.5")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["id"].as_str(), r.json()["version"].as_i64()), (Some(o.method.as_str()), Some(2)));
    assert_eq!(o.app.send(change(&o.method, 1, "0.5")).await.status, StatusCode::CONFLICT, "a stale version");
    // In use: the contract keeps its plan, the change becomes a new method.
    let unit = o.unit("901", None).await;
    let customer = o.customer(&o.agent, "冯九", "13900139009").await;
    let k = o.contract(&unit, &customer, "1000000.00", "2026-03-01").await;
    let r = o.app.send(change(&o.method, 2, "0.5")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_id = r.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, o.method);
    assert_eq!(r.json()["replaces_id"], o.method.as_str());
    assert!(o.app.send(method(&o.method)).await.json()["retired_at"].is_string());
    let plan = o.plan(&o.finance, k["id"].as_str().unwrap()).await;
    assert_eq!(plan.len(), 2);
    // New deals take only methods in force.
    let other = o.unit("902", None).await;
    let r = o
        .app
        .send(
            post("/api/v1/sales/contracts", json!({"unit_id": other, "customer_id": customer, "payment_method_id": o.method, "total_price": "1000000.00", "signed_on": "2026-03-02"}))
                .token(&o.agent),
        )
        .await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["payment_method_id".to_owned()]));
    let r = o
        .app
        .send(
            post("/api/v1/sales/contracts", json!({"unit_id": other, "customer_id": customer, "payment_method_id": new_id, "total_price": "1000000.00", "signed_on": "2026-03-02"}))
                .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The list shows both, the one in force first; a second method may not take its name.
    let list = o.app.send(get(&format!("/api/v1/projects/{}/payment-methods", o.project)).token(&o.agent)).await.json();
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [new_id.as_str(), o.method.as_str()]);
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "分期付款", "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "1"}]}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.error_fields(), ["name"]);
    // Retired, never deleted; an agent may not do it.
    let retire = |token: &str, version: i64| {
        post(&format!("/api/v1/payment-methods/{new_id}/retire"), json!({"version": version})).token(token)
    };
    assert_eq!(o.app.send(retire(&o.agent, 1)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(o.app.send(retire(&o.admin, 1)).await.status, StatusCode::OK);
    assert_eq!(o.app.send(retire(&o.admin, 2)).await.status, StatusCode::CONFLICT);

    // The pages do the same: a method from term rows, a mistake named with what was typed.
    let page = o.app.send(get(&format!("/projects/{}/payment-methods", o.project)).token(&o.admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("method-form") && page.text.contains("已停用"));
    let fields = [
        ("name", "一次性付款"),
        ("kind", "one_off"),
        ("discount", "0.02"),
        ("term_kind_0", "down_payment"),
        ("term_ratio_0", "0.5"),
        ("term_days_0", "0"),
    ];
    let r = o.app.send(form(&format!("/projects/{}/payment-methods", o.project), &fields).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "shares must add up to 1");
    assert!(r.text.contains("一次性付款"), "the form keeps what was typed");
    let mut fields = fields.to_vec();
    fields[4] = ("term_ratio_0", "1");
    let r = o.app.send(form(&format!("/projects/{}/payment-methods", o.project), &fields).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = o
        .app
        .send(
            form(&format!("/projects/{}/discount-limit", o.project), &[("agent_discount_limit", "0.05")])
                .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let project = o.app.send(get(&format!("/api/v1/projects/{}", o.project)).token(&o.admin)).await.json();
    assert_eq!(project["agent_discount_limit"], "0.05");
}

#[tokio::test]
async fn a_customer_registered_from_a_deal_form_comes_back_chosen() {
    let o = office().await;
    let unit = o.unit("951", None).await;
    let page = o.app.send(get(&format!("/units/{unit}")).token(&o.agent)).await;
    assert!(page.text.contains(r#"data-picker="customers""#), "the deal forms offer the picker");
    let new = format!("/customers/new?project_id={}&amp;return_to=/units/{unit}", o.project);
    assert!(page.text.contains(&new), "{}", page.text);
    let form_page = o.app.send(get(&new.replace("&amp;", "&")).token(&o.agent)).await;
    let escaped = format!("/units/{unit}").replace('/', "&#x2f;");
    assert!(form_page.text.contains(&format!(r#"name="return_to" value="{escaped}""#)), "{}", form_page.text);
    let back = format!("/units/{unit}");
    let fields = [
        ("project_id", o.project.as_str()),
        ("phone", "13988887777"),
        ("name", "欧阳明"),
        ("return_to", back.as_str()),
    ];
    let r = o.app.send(form("/customers/new", &fields).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let location = r.headers["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("/units/{unit}?customer_id=")) && location.ends_with("&duplicates=0"),
        "{location}"
    );
    let id = location.split("customer_id=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let page = o.app.send(get(&location).token(&o.agent)).await;
    assert!(page.text.contains(&format!(r#"<option value="{id}" selected>"#)), "{}", page.text);
    // Never back to another site.
    for (n, evil) in ["//evil.example.com/x", "https://evil.example.com/", "/\\evil"].iter().enumerate() {
        let phone = format!("1398888770{n}");
        let fields =
            [("project_id", o.project.as_str()), ("phone", phone.as_str()), ("name", "司马光"), ("return_to", evil)];
        let r = o.app.send(form("/customers/new", &fields).token(&o.agent)).await;
        let location = r.headers["location"].to_str().unwrap();
        assert!(location.starts_with("/customers/"), "{evil} → {location}");
    }
}
