//! Service processes through the real router (A1, A2): a mortgage contract
//! starts its cases by itself, each step reaches the workbench of the people
//! who do it, documents are ticked before a step is done, an overdue step is
//! reminded and escalated once even with two instances running the job, and
//! definitions are versioned while running cases keep theirs.

use crate::support::*;
use axum::http::StatusCode;
use chrono::{FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    beijing().with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

struct Office {
    app: TestApp,
    admin: String,
    project: String,
    building: String,
    agent: String,
    agent_id: String,
    other_agent: String,
    after: String,
    after_id: String,
    manager: String,
    mortgage: String,
    one_off: String,
    next: std::cell::Cell<u32>,
}

async fn office() -> Office {
    let app = TestApp::with_clock(loupan_service::Clock::set_at(beijing(), at(2026, 3, 2, 9))).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (manager_id, manager) = app.user(&admin, "manager", &["sales_manager"], &[&project]).await;
    let (agent_id, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, other_agent) = app.user(&admin, "agent2", &["sales_agent"], &[&project]).await;
    let (after_id, after) = app.user(&admin, "after", &["aftersales"], &[&project]).await;
    // The agent reports to the sales manager: escalations go up to them.
    let r = app.send(get(&format!("/api/v1/admin/users/{agent_id}")).token(&admin)).await;
    let user = r.json();
    let body = json!({"version": user["version"], "display_name": user["display_name"], "roles": ["sales_agent"],
                      "project_ids": [project], "manager_id": manager_id});
    let r = app.send(patch(&format!("/api/v1/admin/users/{agent_id}"), body).token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r =
        app.send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin)).await;
    let building = r.json()["id"].as_str().unwrap().to_owned();
    let method = |body: Value| {
        let (app, admin, project) = (&app, &admin, &project);
        async move {
            let r = app.send(post(&format!("/api/v1/projects/{project}/payment-methods"), body).token(admin)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let mortgage = method(json!({"name": "按揭", "kind": "commercial_mortgage", "discount": "0",
        "terms": [{"kind": "down_payment", "ratio": "0.3", "days_after_signing": 7},
                  {"kind": "mortgage", "ratio": "0.7", "days_after_signing": 60}]}))
    .await;
    let one_off = method(json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
        "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 7}]}))
    .await;
    Office {
        app,
        admin,
        project,
        building,
        agent,
        agent_id,
        other_agent,
        after,
        after_id,
        manager,
        mortgage,
        one_off,
        next: 1.into(),
    }
}

impl Office {
    async fn ok(&self, call: Call, token: &str, status: StatusCode) -> Value {
        let r = self.app.send(call.token(token)).await;
        assert_eq!(r.status, status, "{}", r.text);
        r.json()
    }

    /// A unit sold by the agent on `method`, signed on `signed_on`; the contract's id.
    async fn sold(&self, method: &str, signed_on: &str) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        let body = json!({"floor": 1, "number": format!("{}", 100 + n), "layout": "3室2厅",
                          "gross_area": "100.00", "inner_area": "80.00", "list_price": "2000000.00"});
        let unit = self
            .ok(post(&format!("/api/v1/buildings/{}/units", self.building), body), &self.admin, StatusCode::CREATED)
            .await;
        let customer =
            json!({"name": format!("业主{n}"), "phone": format!("1390000{n:04}"), "project_id": self.project});
        let customer = self.ok(post("/api/v1/customers", customer), &self.agent, StatusCode::CREATED).await;
        let body = json!({"unit_id": unit["id"], "customer_id": customer["id"], "payment_method_id": method,
                          "total_price": "2000000.00", "signed_on": signed_on});
        let contract = self.ok(post("/api/v1/sales/contracts", body), &self.agent, StatusCode::CREATED).await;
        contract["id"].as_str().unwrap().to_owned()
    }

    async fn cases_of(&self, contract: &str) -> Vec<Value> {
        let r = self.ok(get(&format!("/api/v1/contracts/{contract}/service-cases")), &self.after, StatusCode::OK).await;
        r["items"].as_array().unwrap().clone()
    }

    async fn steps_on_workbench(&self, token: &str) -> Vec<(String, String)> {
        let w = self.ok(get("/api/v1/workbench"), token, StatusCode::OK).await;
        assert_eq!(w["process_steps_total"], json!(w["process_steps"].as_array().unwrap().len()), "{w}");
        w["process_steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["kind"].as_str().unwrap().to_owned(), c["current_step"].as_str().unwrap().to_owned()))
            .collect()
    }
}

fn kind_of<'a>(cases: &'a [Value], kind: &str) -> &'a Value {
    cases.iter().find(|c| c["kind"] == kind).unwrap_or_else(|| panic!("no {kind} case in {cases:?}"))
}

#[tokio::test]
async fn a_mortgage_contract_starts_its_cases_and_each_step_reaches_the_workbench_of_its_role() {
    let o = office().await;
    let contract = o.sold(&o.mortgage, "2026-03-01").await;
    let cases = o.cases_of(&contract).await;
    let mut kinds: Vec<&str> = cases.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["mortgage", "registration"]);
    let mortgage = kind_of(&cases, "mortgage");
    assert_eq!(mortgage["status"], "open");
    assert_eq!(mortgage["current_step"], "收集按揭资料");
    assert_eq!(mortgage["current_role"], "sales_agent");
    assert_eq!(mortgage["assignee_id"], json!(o.agent_id));
    // Seven days from the signing.
    assert_eq!(mortgage["due_on"], "2026-03-08");
    // A one-off payment starts only the registration.
    let paid_at_once = o.sold(&o.one_off, "2026-03-01").await;
    let kinds: Vec<Value> = o.cases_of(&paid_at_once).await.iter().map(|c| c["kind"].clone()).collect();
    assert_eq!(kinds, [json!("registration")]);

    // The agent's own steps are on their workbench; nobody else's agent sees them.
    let mut mine = o.steps_on_workbench(&o.agent).await;
    mine.sort();
    assert_eq!(
        mine,
        [
            ("mortgage".to_owned(), "收集按揭资料".to_owned()),
            ("registration".to_owned(), "网签".to_owned()),
            ("registration".to_owned(), "网签".to_owned())
        ]
    );
    assert!(o.steps_on_workbench(&o.other_agent).await.is_empty());
    assert!(o.steps_on_workbench(&o.after).await.is_empty());

    // Not done while a document of the checklist is missing; the missing ones are named.
    let id = mortgage["id"].as_str().unwrap().to_owned();
    let case = o.ok(get(&format!("/api/v1/aftersales/service-cases/{id}")), &o.agent, StatusCode::OK).await;
    assert_eq!(case["may_work"], true);
    let complete = |version: &Value| json!({"position": 0, "version": version});
    let r = o
        .app
        .send(
            post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), complete(&case["version"]))
                .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("documents_missing") && r.text.contains("银行流水"), "{}", r.text);
    // Another agent does not see the case (not their deal).
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/service-cases/{id}/documents"),
                json!({"position": 0, "document": "身份证"}),
            )
            .token(&o.other_agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let mine = format!("/api/v1/aftersales/service-cases?project_id={}", o.project);
    let r = o.app.send(get(&mine).token(&o.other_agent)).await;
    assert_eq!(r.json()["items"], json!([]), "{}", r.text);
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/service-cases/{id}/documents"),
                json!({"position": 0, "document": "房产证"}),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a document not on the list: {}", r.text);
    o.app.services.clock.set(at(2026, 3, 5, 10));
    let mut case = Value::Null;
    for document in ["身份证", "户口簿", "婚姻证明", "收入证明", "银行流水", "身份证"] {
        case = o
            .ok(
                post(
                    &format!("/api/v1/aftersales/service-cases/{id}/documents"),
                    json!({"position": 0, "document": document}),
                ),
                &o.agent,
                StatusCode::OK,
            )
            .await;
    }
    let received = &case["steps"][0]["documents"];
    assert!(received.as_array().unwrap().iter().all(|d| d["received_by"] == json!(o.agent_id)), "{received}");
    // A stale version is refused; the one read is accepted.
    let r = o
        .app
        .send(post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), complete(&json!(0))).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let case = o
        .ok(
            post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), complete(&case["version"])),
            &o.agent,
            StatusCode::OK,
        )
        .await;
    assert_eq!(case["steps"][0]["done_on"], "2026-03-05");
    assert_eq!(case["current_step"], "银行面签");
    assert_eq!(case["current_role"], "aftersales");
    // Seven days from the day the step before it was done.
    assert_eq!(case["due_on"], "2026-03-12");
    // The steps after it are projected again from then: fifteen days after the bank's signing.
    assert_eq!(case["steps"][2]["due_on"], "2026-03-27");
    assert_eq!(o.steps_on_workbench(&o.after).await, [("mortgage".to_owned(), "银行面签".to_owned())]);
    assert_eq!(o.steps_on_workbench(&o.agent).await.len(), 2);
    // The mortgage step's fee is shown for the contract.
    assert_eq!(case["steps"][3]["fees"], json!([{"name": "抵押登记费", "amount": "80.00"}]));

    // Through the last step: the case is completed and leaves every workbench.
    let mut case = case;
    while case["status"] == "open" {
        let position = case["current_position"].as_i64().unwrap() as usize;
        for d in case["steps"][position]["documents"].as_array().unwrap().clone() {
            o.ok(
                post(
                    &format!("/api/v1/aftersales/service-cases/{id}/documents"),
                    json!({"position": position, "document": d["name"]}),
                ),
                &o.admin,
                StatusCode::OK,
            )
            .await;
        }
        let body = json!({"position": position, "version": case["version"], "note": "办结"});
        case = o
            .ok(post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), body), &o.admin, StatusCode::OK)
            .await;
    }
    assert_eq!(case["status"], "completed");
    assert_eq!(case["current_step"], Value::Null);
    // The mortgage registration's fee was billed on the plan when its step came, due on its deadline.
    let plan = o.ok(get(&format!("/api/v1/sales/contracts/{contract}/payment-plan")), &o.agent, StatusCode::OK).await;
    let fees: Vec<(&str, &str)> = plan
        .as_array()
        .or(plan["items"].as_array())
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "fee")
        .map(|i| (i["amount"].as_str().unwrap(), i["due_date"].as_str().unwrap()))
        .collect();
    assert_eq!(fees, [("80.00", case["steps"][3]["due_on"].as_str().unwrap())]);
    assert!(o.steps_on_workbench(&o.after).await.is_empty());
    let listed =
        o.ok(get("/api/v1/aftersales/service-cases?kind=mortgage&status=completed"), &o.after, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn an_overdue_step_is_reminded_and_escalated_once_with_two_instances() {
    let o = office().await;
    let contract = o.sold(&o.one_off, "2026-03-02").await;
    let case = kind_of(&o.cases_of(&contract).await, "registration").clone();
    // 网签: three days, reminded two days before.
    assert_eq!(case["due_on"], "2026-03-05");
    let services = o.app.services.clone();
    let (_, second) = o.app.second_instance().await;
    let run = |now| {
        let (a, b) = (services.clone(), second.clone());
        async move {
            let (x, y) = tokio::join!(
                loupan_service::aftersales::processes::check_deadlines(&a, now),
                loupan_service::aftersales::processes::check_deadlines(&b, now)
            );
            x.unwrap() + y.unwrap()
        }
    };
    assert_eq!(run(at(2026, 3, 2, 10)).await, 0);
    // The reminder day: the agent is reminded, once.
    assert_eq!(run(at(2026, 3, 3, 8)).await, 1);
    assert_eq!(run(at(2026, 3, 3, 9)).await, 0);
    // The deadline's own day is not late yet.
    assert_eq!(run(at(2026, 3, 5, 20)).await, 0);
    // The day after: escalated to the agent's manager, once.
    assert_eq!(run(at(2026, 3, 6, 8)).await, 1);
    assert_eq!(run(at(2026, 3, 6, 9)).await, 0);
    assert_eq!(run(at(2026, 3, 9, 9)).await, 0);
    let bell = |token: String| {
        let app = &o.app;
        async move {
            let r = app.send(get("/api/v1/notifications").token(&token)).await;
            let json = r.json();
            let items = json["items"].as_array().or(json.as_array()).cloned().unwrap_or_default();
            items.iter().map(|n| n["kind"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(bell(o.agent.clone()).await, ["process_step_due_soon"]);
    assert_eq!(bell(o.manager.clone()).await, ["process_step_overdue"]);
    o.app.services.clock.set(at(2026, 3, 6, 9));
    let id = case["id"].as_str().unwrap();
    let detail = o.ok(get(&format!("/api/v1/aftersales/service-cases/{id}")), &o.agent, StatusCode::OK).await;
    assert_eq!(detail["overdue"], true);
    assert_eq!(detail["escalated"], true);
    assert_eq!((&detail["steps"][0]["reminded"], &detail["steps"][0]["escalated"]), (&json!(true), &json!(true)));
    let overdue = o.ok(get("/api/v1/aftersales/service-cases?overdue=true"), &o.after, StatusCode::OK).await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1, "{overdue}");
    // Done late, the next step's alarms start afresh from its own deadline.
    o.ok(
        post(&format!("/api/v1/aftersales/service-cases/{id}/documents"), json!({"position": 0, "document": "身份证"})),
        &o.agent,
        StatusCode::OK,
    )
    .await;
    let body = json!({"position": 0, "version": detail["version"]});
    let moved =
        o.ok(post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), body), &o.agent, StatusCode::OK).await;
    assert_eq!(moved["due_on"], "2026-03-13");
    assert_eq!(moved["escalated"], false);
    assert_eq!(run(at(2026, 3, 9, 9)).await, 0);
    assert_eq!(run(at(2026, 3, 11, 9)).await, 1);
    assert!(loupan_service::platform::jobs::KINDS.contains(&"process_deadlines"));
}

fn steps(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "role": "aftersales", "due_days": 10, "documents": ["身份证"], "remind_days_before": 1}))
            .collect(),
    )
}

#[tokio::test]
async fn definitions_are_versioned_checked_when_saved_and_running_cases_keep_theirs() {
    let o = office().await;
    let list = o.ok(get("/api/v1/aftersales/processes"), &o.after, StatusCode::OK).await;
    let mut kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["handover", "mortgage", "provident_fund", "registration", "title"]);
    let registration = list["items"].as_array().unwrap().iter().find(|d| d["kind"] == "registration").unwrap().clone();
    assert_eq!(registration["version"], 1);
    let before = o.sold(&o.one_off, "2026-03-01").await;

    // Refused with every wrong field named.
    let bad = json!({"name": "网签备案", "start_event": "contract_signed", "version": 1, "steps": [
        {"name": "网签", "role": "janitor", "due_days": 3},
        {"name": "备案", "role": "aftersales", "due_days": 5, "remind_days_before": 6,
         "fees": [{"name": "备案费", "formula": "gross_area * rate"}]}]});
    let id = registration["id"].as_str().unwrap();
    let r = o.app.send(put(&format!("/api/v1/aftersales/processes/{id}"), bad).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["steps[0].role", "steps[1].fees[0].formula", "steps[1].remind_days_before"]);
    // The company's definition is the whole company's: after-sales staff of one project may not change it.
    let good = json!({"name": "网签备案（新）", "start_event": "contract_signed", "version": 1,
                      "steps": steps(&["网签", "备案"])});
    let r = o.app.send(put(&format!("/api/v1/aftersales/processes/{id}"), good.clone()).token(&o.after)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let v2 = o.ok(put(&format!("/api/v1/aftersales/processes/{id}"), good.clone()), &o.admin, StatusCode::OK).await;
    assert_eq!((&v2["version"], &v2["lineage_id"]), (&json!(2), &registration["lineage_id"]));
    // Saved again on the version read before: someone saved meanwhile.
    let r = o.app.send(put(&format!("/api/v1/aftersales/processes/{id}"), good).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let detail = o.ok(get(&format!("/api/v1/aftersales/processes/{id}")), &o.after, StatusCode::OK).await;
    assert_eq!(detail["definition"]["current"], false);
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);

    // A project's own definition, by its after-sales staff, wins over the company's.
    let own = json!({"kind": "registration", "name": "翠湖网签", "start_event": "contract_signed",
                     "project_id": o.project, "steps": steps(&["网签备案一步办"])});
    let own = o.ok(post("/api/v1/aftersales/processes", own), &o.after, StatusCode::CREATED).await;
    let after = o.sold(&o.one_off, "2026-03-02").await;
    let started = |contract: String| {
        let o = &o;
        async move {
            let id = kind_of(&o.cases_of(&contract).await, "registration")["id"].as_str().unwrap().to_owned();
            o.ok(get(&format!("/api/v1/aftersales/service-cases/{id}")), &o.after, StatusCode::OK).await
        }
    };
    let old = started(before).await;
    assert_eq!((&old["definition_version"], &old["current_step"]), (&json!(1), &json!("网签")));
    let new = started(after).await;
    assert_eq!((&new["definition_id"], &new["current_step"]), (&own["id"], &json!("网签备案一步办")));
    // Retired, it applies nowhere: the company's newest version applies again.
    let own_id = own["id"].as_str().unwrap();
    let retire = json!({"name": "翠湖网签", "start_event": "contract_signed", "project_id": o.project, "retired": true,
                        "version": 1, "steps": steps(&["网签备案一步办"])});
    o.ok(put(&format!("/api/v1/aftersales/processes/{own_id}"), retire), &o.after, StatusCode::OK).await;
    let latest = started(o.sold(&o.one_off, "2026-03-03").await).await;
    assert_eq!((&latest["definition_id"], &latest["definition_version"]), (&v2["id"], &json!(2)));
}

#[tokio::test]
async fn a_case_is_started_by_hand_once_per_kind_and_cancelled_with_a_reason() {
    let o = office().await;
    let contract = o.sold(&o.one_off, "2026-03-01").await;
    let start = json!({"contract_id": contract, "kind": "title"});
    let r = o.app.send(post("/api/v1/aftersales/service-cases", start.clone()).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let case = o.ok(post("/api/v1/aftersales/service-cases", start.clone()), &o.after, StatusCode::CREATED).await;
    assert_eq!(
        (&case["kind"], &case["current_step"], &case["started_by"]),
        (&json!("title"), &json!("收齐办证资料"), &json!(o.after_id))
    );
    // Started today, thirty days for the first step.
    assert_eq!(case["due_on"], "2026-04-01");
    let r = o.app.send(post("/api/v1/aftersales/service-cases", start.clone()).token(&o.after)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("case_exists"), "{}", r.text);
    let id = case["id"].as_str().unwrap();
    let r = o
        .app
        .send(
            post(&format!("/api/v1/aftersales/service-cases/{id}/cancel"), json!({"version": case["version"]}))
                .token(&o.after),
        )
        .await;
    assert_eq!(r.error_fields(), ["reason"]);
    let cancelled = o
        .ok(
            post(
                &format!("/api/v1/aftersales/service-cases/{id}/cancel"),
                json!({"version": case["version"], "reason": "客户自行办理"}),
            ),
            &o.after,
            StatusCode::OK,
        )
        .await;
    assert_eq!((&cancelled["status"], &cancelled["cancel_reason"]), (&json!("cancelled"), &json!("客户自行办理")));
    o.ok(post("/api/v1/aftersales/service-cases", start), &o.after, StatusCode::CREATED).await;
    let r = o
        .app
        .send(
            post("/api/v1/aftersales/service-cases", json!({"contract_id": contract, "kind": "lottery"}))
                .token(&o.after),
        )
        .await;
    assert_eq!(r.error_fields(), ["kind"]);
    assert_eq!(o.cases_of(&contract).await.len(), 3);
}

#[tokio::test]
async fn the_service_board_colours_a_buildings_units_by_the_step_of_their_case() {
    let o = office().await;
    let first = o.sold(&o.mortgage, "2026-03-01").await;
    let second = o.sold(&o.mortgage, "2026-03-01").await;
    o.sold(&o.one_off, "2026-03-01").await;
    // An unsold unit too.
    let body = json!({"floor": 2, "number": "201", "layout": "2室", "gross_area": "90.00", "inner_area": "75.00",
                      "list_price": "1800000.00"});
    o.ok(post(&format!("/api/v1/buildings/{}/units", o.building), body), &o.admin, StatusCode::CREATED).await;
    // The first buyer's papers are in: their case moves to the bank's signing.
    let id = kind_of(&o.cases_of(&first).await, "mortgage")["id"].as_str().unwrap().to_owned();
    let case = o.ok(get(&format!("/api/v1/aftersales/service-cases/{id}")), &o.agent, StatusCode::OK).await;
    for d in case["steps"][0]["documents"].as_array().unwrap() {
        let body = json!({"position": 0, "document": d["name"]});
        o.ok(post(&format!("/api/v1/aftersales/service-cases/{id}/documents"), body), &o.agent, StatusCode::OK).await;
    }
    let body = json!({"position": 0, "version": case["version"]});
    o.ok(post(&format!("/api/v1/aftersales/service-cases/{id}/complete"), body), &o.agent, StatusCode::OK).await;
    // Eight days after the signing the second buyer's papers are late; the
    // bank's signing of the first is due today (seven days after 2 March).
    o.app.services.clock.set(at(2026, 3, 9, 9));
    let board = o
        .ok(get(&format!("/api/v1/buildings/{}/service-board?kind=mortgage", o.building)), &o.after, StatusCode::OK)
        .await;
    let steps: Vec<(i64, &str, i64, i64)> = board["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["position"].as_i64().unwrap(),
                s["name"].as_str().unwrap(),
                s["units"].as_i64().unwrap(),
                s["overdue"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, [(0, "收集按揭资料", 1, 1), (1, "银行面签", 1, 0)]);
    assert_eq!((&board["completed"], &board["without_case"]), (&json!(0), &json!(2)));
    let units = board["units"].as_array().unwrap();
    // The top floor first.
    assert_eq!(units[0]["number"], "201");
    assert_eq!(units[0]["case_id"], Value::Null);
    let second_tile = units.iter().find(|u| u["case_id"].is_string() && u["position"] == 0).unwrap();
    assert_eq!((&second_tile["step"], &second_tile["overdue"]), (&json!("收集按揭资料"), &json!(true)));
    let cases = o.cases_of(&second).await;
    assert_eq!(second_tile["case_id"], kind_of(&cases, "mortgage")["id"]);
    // Registration: every sold unit has a case.
    let board = o
        .ok(get(&format!("/api/v1/buildings/{}/service-board?kind=registration", o.building)), &o.after, StatusCode::OK)
        .await;
    assert_eq!(board["steps"][0]["units"], 3);
    // Agents work from their workbench; the board is after-sales'.
    let r = o.app.send(get(&format!("/api/v1/buildings/{}/service-board", o.building)).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r =
        o.app.send(get(&format!("/api/v1/buildings/{}/service-board?kind=lottery", o.building)).token(&o.after)).await;
    assert_eq!(r.error_fields(), ["kind"]);
}

#[tokio::test]
async fn a_loan_disbursement_is_a_receipt_that_settles_the_loan_instalment_once_audited() {
    let o = office().await;
    let (_, finance) = o.app.user(&o.admin, "fin", &["finance"], &[&o.project]).await;
    let contract = o.sold(&o.mortgage, "2026-03-01").await;
    let cases = o.cases_of(&contract).await;
    let id = kind_of(&cases, "mortgage")["id"].as_str().unwrap().to_owned();
    let case = o.ok(get(&format!("/api/v1/aftersales/service-cases/{id}")), &finance, StatusCode::OK).await;
    assert_eq!(case["may_disburse"], true);
    let path = format!("/api/v1/aftersales/service-cases/{id}/disbursement");
    let body = |version: &Value| json!({"lender": "招商银行杭州分行", "received_on": "2026-03-02", "version": version});
    let r = o.app.send(post(&path, body(&case["version"])).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let registration = kind_of(&cases, "registration")["id"].as_str().unwrap().to_owned();
    let r = o
        .app
        .send(
            post(&format!("/api/v1/aftersales/service-cases/{registration}/disbursement"), body(&json!(1)))
                .token(&finance),
        )
        .await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("not_a_loan"), "{}", r.text);
    // The down payment came in first; the bank pays the loan term (70 %).
    let receipt = |body: Value| {
        let (o, finance) = (&o, &finance);
        async move {
            let r = o.ok(post("/api/v1/finance/receipts", body), finance, StatusCode::CREATED).await;
            r["id"].as_str().unwrap().to_owned()
        }
    };
    let audit = |id: String| {
        let (o, finance) = (&o, &finance);
        async move {
            for step in ["arrive", "audit"] {
                o.ok(post(&format!("/api/v1/finance/receipts/{id}/{step}"), json!({})), finance, StatusCode::OK).await;
            }
        }
    };
    let down = receipt(json!({"contract_id": contract, "amount": "600000.00", "channel": "transfer",
                              "received_on": "2026-03-02"}))
    .await;
    audit(down).await;
    let done = o.ok(post(&path, body(&case["version"])), &finance, StatusCode::OK).await;
    let d = &done["disbursement"];
    assert_eq!(
        (&d["amount"], &d["lender"], &d["received_on"]),
        (&json!("1400000.00"), &json!("招商银行杭州分行"), &json!("2026-03-02"))
    );
    assert_eq!(done["may_disburse"], false);
    let r = o.app.send(post(&path, body(&done["version"])).token(&finance)).await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("already_disbursed"), "{}", r.text);
    // Through arrival and audit like any receipt: the loan term is settled.
    audit(d["receipt_id"].as_str().unwrap().to_owned()).await;
    let plan = o.ok(get(&format!("/api/v1/sales/contracts/{contract}/payment-plan")), &o.agent, StatusCode::OK).await;
    let items = plan.as_array().or(plan["items"].as_array()).unwrap().clone();
    let loan = items.iter().find(|i| i["kind"] == "mortgage").unwrap();
    assert_eq!((&loan["paid"], &loan["amount"]), (&json!("1400000.00"), &json!("1400000.00")), "{plan}");
}

#[tokio::test]
async fn a_building_declared_ready_starts_the_title_and_handover_cases_of_its_contracts_once() {
    let o = office().await;
    let first = o.sold(&o.mortgage, "2026-03-01").await;
    let second = o.sold(&o.one_off, "2026-03-01").await;
    let path = format!("/api/v1/buildings/{}/handover-readiness", o.building);
    let r = o.app.send(post(&path, json!({"ready_on": "2026-06-30"})).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = o.app.send(post(&path, json!({"ready_on": "6月30日"})).token(&o.after)).await;
    assert_eq!(r.error_fields(), ["ready_on"]);
    let ready = o.ok(post(&path, json!({"ready_on": "2026-06-30"})), &o.after, StatusCode::OK).await;
    assert_eq!((&ready["ready_on"], &ready["cases_started"]), (&json!("2026-06-30"), &json!(4)));
    for contract in [&first, &second] {
        let cases = o.cases_of(contract).await;
        for kind in ["title", "handover"] {
            let case = kind_of(&cases, kind);
            assert_eq!((&case["started_on"], &case["status"]), (&json!("2026-06-30"), &json!("open")), "{case}");
        }
    }
    // The handover's first step: seven days from the readiness.
    assert_eq!(kind_of(&o.cases_of(&first).await, "handover")["due_on"], "2026-07-07");
    // A contract signed since: declared again, only its cases start.
    let third = o.sold(&o.one_off, "2026-07-01").await;
    let again = o.ok(post(&path, json!({"ready_on": "2026-06-30"})), &o.after, StatusCode::OK).await;
    assert_eq!(again["cases_started"], 2);
    assert_eq!(o.cases_of(&third).await.len(), 3);
    let board = o
        .ok(get(&format!("/api/v1/buildings/{}/service-board?kind=handover", o.building)), &o.after, StatusCode::OK)
        .await;
    assert_eq!((&board["ready_on"], &board["steps"][0]["units"]), (&json!("2026-06-30"), &json!(3)));
}
