//! Customer-service cases through the real router: a call from a phone in
//! any format links the customer, unit and contract; the project's rule gives
//! the case to its handlers in turn; the case goes through every state to the
//! callback and shows on the customer's timeline; deadlines are counted in
//! working hours of the company's calendar, and the reminder and escalation
//! of each happen once even with two instances running the job together.

use crate::support::*;
use axum::http::StatusCode;
use chrono::{FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    admin: String,
    project: String,
    agent: String,
    desk: String,
    desk_id: String,
    fixer: String,
    fixer_id: String,
    boss_id: String,
    boss: String,
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// The instant of a Beijing wall-clock time.
fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    beijing().with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
}

async fn desk(now: chrono::DateTime<Utc>) -> Desk {
    let app = TestApp::with_clock(loupan_service::Clock::set_at(beijing(), now)).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (desk_id, desk) = app.user(&admin, "desk", &["service"], &[&project]).await;
    let (fixer_id, fixer) = app.user(&admin, "fixer", &["aftersales"], &[&project]).await;
    let (boss_id, boss) = app.user(&admin, "boss", &["service"], &[&project]).await;
    Desk { app, admin, project, agent, desk, desk_id, fixer, fixer_id, boss_id, boss }
}

impl Desk {
    async fn ok(&self, call: Call, token: &str, status: StatusCode) -> Value {
        let r = self.app.send(call.token(token)).await;
        assert_eq!(r.status, status, "{}", r.text);
        r.json()
    }

    /// A customer with a signed contract on a new unit; returns (customer, unit, contract).
    async fn buyer(&self, name: &str, phone: &str, number: &str) -> (String, String, String) {
        let building = self
            .ok(
                post(&format!("/api/v1/projects/{}/buildings", self.project), json!({"name": number})),
                &self.admin,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let unit = self
            .ok(
                post(
                    &format!("/api/v1/buildings/{building}/units"),
                    json!({"floor": 3, "number": number, "layout": "3室2厅", "gross_area": "89.37",
                           "inner_area": "77.37", "list_price": "1000000.00"}),
                ),
                &self.admin,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let customer = self
            .ok(
                post("/api/v1/customers", json!({"name": name, "phone": phone, "project_id": self.project})),
                &self.agent,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let method = self
            .ok(
                post(
                    &format!("/api/v1/projects/{}/payment-methods", self.project),
                    json!({"name": format!("一次性 {number}"), "kind": "one_off", "discount": "0",
                           "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 0}]}),
                ),
                &self.admin,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let contract = self
            .ok(
                post(
                    "/api/v1/sales/contracts",
                    json!({"unit_id": unit, "customer_id": customer, "payment_method_id": method,
                           "total_price": "1000000.00", "signed_on": "2026-03-01"}),
                ),
                &self.agent,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (customer, unit, contract)
    }

    async fn act(&self, case: &str, body: Value, token: &str) -> Value {
        self.ok(post(&format!("/api/v1/service/cases/{case}/actions"), body), token, StatusCode::OK).await
    }
}

#[tokio::test]
async fn a_call_links_customer_unit_and_contract_and_the_case_goes_through_every_state() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (customer, unit, contract) = d.buyer("王芳", "13900139000", "1-301").await;
    // Repairs of the project go to the desk and the fixer in turn; the boss hears of breaches.
    let rule = json!({"kind": "repair", "handler_ids": [d.desk_id, d.fixer_id], "supervisor_id": d.boss_id});
    d.ok(post(&format!("/api/v1/projects/{}/case-rules", d.project), rule), &d.admin, StatusCode::CREATED).await;

    let body = json!({"project_id": d.project, "kind": "repair", "caller_phone": "+86 139-0013-9000",
                      "description": "卫生间漏水"});
    let case = d.ok(post("/api/v1/service/cases", body.clone()), &d.desk, StatusCode::CREATED).await;
    assert_eq!(case["customer_id"], customer.as_str());
    assert_eq!(case["unit_id"], unit.as_str());
    assert_eq!(case["contract_id"], contract.as_str());
    assert_eq!(case["caller_name"], "王芳");
    assert_eq!(case["caller_phone"], "139****9000");
    assert_eq!(case["status"], "assigned");
    assert_eq!(case["assignee_id"], d.desk_id.as_str());
    assert_eq!(case["number"], "BS000001");
    // The next repair goes to the fixer, the one after back to the desk.
    let second = d.ok(post("/api/v1/service/cases", body.clone()), &d.desk, StatusCode::CREATED).await;
    assert_eq!(second["assignee_id"], d.fixer_id.as_str());
    let third = d.ok(post("/api/v1/service/cases", body), &d.desk, StatusCode::CREATED).await;
    assert_eq!(third["assignee_id"], d.desk_id.as_str());
    // A complaint matches no rule: registered, waiting for someone to assign it.
    let complaint = d
        .ok(
            post(
                "/api/v1/service/cases",
                json!({"project_id": d.project, "kind": "complaint",
                "caller_name": "路人", "description": "噪音"}),
            ),
            &d.desk,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(complaint["status"], "registered");
    assert!(complaint["customer_id"].is_null());

    let id = case["id"].as_str().unwrap();
    // Replying before taking it up is not a step of the process.
    let r = d
        .app
        .send(
            post(&format!("/api/v1/service/cases/{id}/actions"), json!({"action": "close", "satisfaction": 5}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["action"]);
    // A reply needs its text; a stale version is refused.
    let r = d
        .app
        .send(
            post(&format!("/api/v1/service/cases/{id}/actions"), json!({"action": "start", "version": 0}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    d.app.services.clock.set(at(2026, 12, 2, 10, 30));
    let started = d.act(id, json!({"action": "start"}), &d.fixer).await;
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["response_overdue"], false);
    let r = d
        .app
        .send(post(&format!("/api/v1/service/cases/{id}/actions"), json!({"action": "reply"})).token(&d.desk))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["note"]);
    d.act(id, json!({"action": "reply", "note": "已更换密封圈"}), &d.desk).await;
    let rejected = d.act(id, json!({"action": "reject", "note": "仍在滴水"}), &d.desk).await;
    assert_eq!(rejected["status"], "in_progress");
    assert!(rejected["replied_at"].is_null());
    d.act(id, json!({"action": "reply", "note": "更换了整段水管"}), &d.desk).await;
    d.act(id, json!({"action": "confirm"}), &d.desk).await;
    let r = d
        .app
        .send(
            post(&format!("/api/v1/service/cases/{id}/actions"), json!({"action": "close", "satisfaction": 6}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["satisfaction"]);
    let closed = d.act(id, json!({"action": "close", "satisfaction": 4, "note": "回访满意"}), &d.desk).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["satisfaction"], 4);
    let actions: Vec<&str> =
        closed["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["registered", "assign", "start", "reply", "reject", "reply", "confirm", "close"]);

    // Reopened within the period; after it, refused.
    d.app.services.clock.set(at(2026, 12, 10, 10, 0));
    let reopened = d.act(id, json!({"action": "reopen", "note": "又漏了"}), &d.desk).await;
    assert_eq!(reopened["status"], "in_progress");
    d.act(id, json!({"action": "reply", "note": "再修"}), &d.desk).await;
    d.act(id, json!({"action": "confirm"}), &d.desk).await;
    d.act(id, json!({"action": "close", "satisfaction": 5}), &d.desk).await;
    d.app.services.clock.set(at(2026, 12, 30, 10, 0));
    let r = d
        .app
        .send(
            post(&format!("/api/v1/service/cases/{id}/actions"), json!({"action": "reopen", "note": "x"}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("reopen_period_over"), "{}", r.text);

    // The customer's timeline tells the story.
    let timeline = d.ok(get(&format!("/api/v1/customers/{customer}/timeline")), &d.desk, StatusCode::OK).await;
    let text = timeline.to_string();
    assert!(text.contains("BS000001"), "{text}");
    // The customer's page says it in words.
    let page = d.app.send(get(&format!("/customers/{customer}")).token(&d.desk).lang("zh-CN")).await;
    assert!(page.text.contains("报事 BS000001（报修）"), "{}", page.text);

    // Lists: open cases, a customer's cases; an agent has no access to cases.
    let open = d.ok(get("/api/v1/service/cases?state=open"), &d.desk, StatusCode::OK).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 3);
    let mine =
        d.ok(get(&format!("/api/v1/service/cases?customer_id={customer}&limit=2")), &d.desk, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let cursor = mine["next_cursor"].as_str().unwrap().to_owned();
    let rest = d
        .ok(
            get(&format!("/api/v1/service/cases?customer_id={customer}&limit=2&cursor={}", urlencode(&cursor))),
            &d.desk,
            StatusCode::OK,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let r = d.app.send(get("/api/v1/service/cases").token(&d.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The boss hears nothing of a case that kept its deadlines.
    let _ = &d.boss;
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B").replace(',', "%2C")
}

#[tokio::test]
async fn several_customers_at_one_phone_are_offered_and_the_desk_links_one() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (husband, _, contract) = d.buyer("李强", "13700137000", "2-101").await;
    // His wife registered with the same phone (a duplicate the managers may rule on later).
    let wife = d
        .ok(
            post("/api/v1/customers", json!({"name": "张丽", "phone": "13700137000", "project_id": d.project})),
            &d.agent,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = d
        .ok(
            post(
                "/api/v1/service/cases",
                json!({"project_id": d.project, "kind": "complaint",
                "caller_phone": "137 0013 7000", "description": "物业费账单有误"}),
            ),
            &d.desk,
            StatusCode::CREATED,
        )
        .await;
    assert!(case["customer_id"].is_null());
    let mut offered: Vec<&str> =
        case["customer_candidates"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    offered.sort();
    let mut both = vec![husband.as_str(), wife.as_str()];
    both.sort();
    assert_eq!(offered, both);
    let id = case["id"].as_str().unwrap();
    // The page offers the same choice.
    let page = d.app.send(get(&format!("/service/cases/{id}?choose=1")).token(&d.desk)).await;
    assert!(page.text.contains("case-choices") && page.text.contains("张丽"), "{}", page.text);
    // Linking the husband brings his only contract and unit.
    let linked = d
        .ok(post(&format!("/api/v1/service/cases/{id}/link"), json!({"customer_id": husband})), &d.desk, StatusCode::OK)
        .await;
    assert_eq!(linked["customer_id"], husband.as_str());
    assert_eq!(linked["contract_id"], contract.as_str());
    // Another project's customer or an unknown one is refused on its field.
    let r = d
        .app
        .send(post(&format!("/api/v1/service/cases/{id}/link"), json!({"customer_id": "nobody"})).token(&d.desk))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["customer_id"]);
}

#[tokio::test]
async fn bad_input_is_named_field_by_field_in_both_languages() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let r = d
        .app
        .send(
            post("/api/v1/service/cases", json!({"project_id": d.project, "kind": "gripe", "caller_phone": "12"}))
                .token(&d.desk)
                .lang("zh-CN"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["caller_name", "caller_phone", "description", "kind"]);
    assert!(r.text.contains("caller_needed"), "{}", r.text);
    assert!(r.text.contains("不是可选的值"), "{}", r.text);
    let r = d
        .app
        .send(
            post("/api/v1/service/cases", json!({"project_id": "elsewhere", "kind": "repair", "description": "x"}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.error_fields(), ["project_id"]);
    // The page keeps what was typed and says what is wrong.
    let page = d
        .app
        .send(
            form(
                "/service/cases",
                &[("project_id", &d.project), ("kind", "repair"), ("caller_name", "赵先生"), ("description", "")],
            )
            .token(&d.desk)
            .lang("en"),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("赵先生") && page.text.contains("Required"), "{}", page.text);
    // Settings refuse unreadable hours and a calendar day outside its year.
    let r = d.app.send(put("/api/v1/service/settings", json!({"work_hours": "9-18"})).token(&d.admin)).await;
    assert_eq!(r.error_fields(), ["work_hours"]);
    let r = d
        .app
        .send(
            put("/api/v1/service/calendar/2026", json!([{"date": "2027-01-01", "working": false, "name": "元旦"}]))
                .token(&d.admin),
        )
        .await;
    assert_eq!(r.error_fields(), ["days"]);
    // Only those who manage the desk change its settings.
    let r = d.app.send(put("/api/v1/service/settings", json!({"reopen_days": 3})).token(&d.desk)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Qingming 2026: Saturday 4 to Monday 6 April off.
fn qingming() -> Value {
    json!([{"date": "2026-04-04", "working": false, "name": "清明节"},
           {"date": "2026-04-05", "working": false, "name": "清明节"},
           {"date": "2026-04-06", "working": false, "name": "清明节"}])
}

#[tokio::test]
async fn deadlines_count_working_hours_of_the_calendar_and_each_alarm_happens_once() {
    // Friday 3 April 2026, 17:00, before the Qingming holiday.
    let d = desk(at(2026, 4, 3, 17, 0)).await;
    d.ok(put("/api/v1/service/calendar/2026", qingming()), &d.admin, StatusCode::OK).await;
    let targets = json!({"targets": [{"kind": "complaint", "priority": "high", "response_minutes": 240, "resolution_minutes": 960}]});
    let settings = d.ok(put("/api/v1/service/settings", targets), &d.admin, StatusCode::OK).await;
    assert_eq!(settings["work_hours"], "09:00-12:00,13:00-18:00");
    let rule = json!({"handler_ids": [d.desk_id], "supervisor_id": d.boss_id});
    d.ok(post(&format!("/api/v1/projects/{}/case-rules", d.project), rule), &d.admin, StatusCode::CREATED).await;
    let case = d
        .ok(
            post(
                "/api/v1/service/cases",
                json!({"project_id": d.project, "kind": "complaint", "priority": "high",
                "caller_name": "钱先生", "description": "电梯困人"}),
            ),
            &d.desk,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(case["response_overdue"], false, "{case}");
    // One working hour on Friday, the holiday and the weekend off, three hours on Tuesday morning.
    assert_eq!(case["response_due_at"], json!(at(2026, 4, 7, 12, 0)));
    // 16 working hours: 1 on Friday, 8 on Tuesday, 7 on Wednesday.
    assert_eq!(case["resolution_due_at"], json!(at(2026, 4, 8, 17, 0)));
    let id = case["id"].as_str().unwrap().to_owned();

    let services = d.app.services.clone();
    let (_, second) = d.app.second_instance().await;
    let run = |now| {
        let (a, b) = (services.clone(), second.clone());
        async move {
            let (x, y) = tokio::join!(
                loupan_service::cases::check_deadlines(&a, now),
                loupan_service::cases::check_deadlines(&b, now)
            );
            x.unwrap() + y.unwrap()
        }
    };
    // Nothing during the holiday: three quarters of the time is not gone yet.
    assert_eq!(run(at(2026, 4, 6, 12, 0)).await, 0);
    // Tuesday 11:00: a quarter of the response time left → the handler is reminded, once.
    assert_eq!(run(at(2026, 4, 7, 11, 0)).await, 1);
    assert_eq!(run(at(2026, 4, 7, 11, 30)).await, 0);
    // Past noon without a response: escalated to the supervisor, once.
    assert_eq!(run(at(2026, 4, 7, 12, 1)).await, 1);
    assert_eq!(run(at(2026, 4, 7, 12, 30)).await, 0);
    d.app.services.clock.set(at(2026, 4, 7, 12, 30));
    let detail = d.ok(get(&format!("/api/v1/service/cases/{id}")), &d.desk, StatusCode::OK).await;
    assert_eq!(detail["response_overdue"], true);
    let alarms: Vec<(&str, &str)> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "reminded" || e["action"] == "escalated")
        .map(|e| (e["action"].as_str().unwrap(), e["note"].as_str().unwrap()))
        .collect();
    assert_eq!(alarms, [("reminded", "response"), ("escalated", "response")]);
    let bell = |token: String| {
        let app = &d.app;
        async move {
            let r = app.send(get("/api/v1/notifications").token(&token)).await;
            let kinds: Vec<String> = r.json()["items"]
                .as_array()
                .or(r.json().as_array())
                .map(|a| a.iter().map(|n| n["kind"].as_str().unwrap_or("").to_owned()).collect())
                .unwrap_or_default();
            kinds
        }
    };
    let desk_kinds = bell(d.desk.clone()).await;
    assert_eq!(desk_kinds.iter().filter(|k| *k == "case_due_soon").count(), 1, "{desk_kinds:?}");
    assert_eq!(desk_kinds.iter().filter(|k| *k == "case_assigned").count(), 1, "{desk_kinds:?}");
    let boss_kinds = bell(d.boss.clone()).await;
    assert_eq!(boss_kinds, ["case_escalated"]);
    // Answering in time stops the resolution's alarms.
    d.app.services.clock.set(at(2026, 4, 7, 14, 0));
    d.act(&id, json!({"action": "start"}), &d.desk).await;
    d.act(&id, json!({"action": "reply", "note": "已派人维修"}), &d.desk).await;
    assert_eq!(run(at(2026, 4, 9, 9, 0)).await, 0);
    let overdue = d.ok(get("/api/v1/service/cases?state=overdue"), &d.desk, StatusCode::OK).await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 0, "answered late but answered: {overdue}");
    // The scheduled job is known to the queue.
    assert!(loupan_service::platform::jobs::KINDS.contains(&"case_deadlines"));
    let _ = (&d.fixer, &d.fixer_id);
}

#[tokio::test]
async fn the_sla_report_counts_deadlines_kept_and_working_minutes() {
    // Monday 7 December 2026, 09:00.
    let d = desk(at(2026, 12, 7, 9, 0)).await;
    let rule = json!({"handler_ids": [d.desk_id]});
    d.ok(post(&format!("/api/v1/projects/{}/case-rules", d.project), rule), &d.admin, StatusCode::CREATED).await;
    let register = |kind: &str, priority: &str| {
        let body = json!({"project_id": d.project, "kind": kind, "priority": priority, "caller_name": "业主",
                          "description": "x"});
        let d = &d;
        async move {
            d.ok(post("/api/v1/service/cases", body), &d.desk, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let a = register("repair", "normal").await; // response 4 h, resolution 3 days
    let b = register("complaint", "high").await; // response 2 h: never answered
    let c = register("repair", "normal").await;
    d.app.services.clock.set(at(2026, 12, 7, 10, 0));
    d.act(&a, json!({"action": "start"}), &d.desk).await;
    // Exactly at its deadline (09:00 + 180 + 60 working minutes) is in time.
    d.app.services.clock.set(at(2026, 12, 7, 14, 0));
    d.act(&c, json!({"action": "start"}), &d.desk).await;
    d.app.services.clock.set(at(2026, 12, 8, 10, 0));
    d.act(&a, json!({"action": "reply", "note": "修好了"}), &d.desk).await;
    d.act(&a, json!({"action": "confirm"}), &d.desk).await;
    d.act(&a, json!({"action": "close", "satisfaction": 4}), &d.desk).await;
    d.app.services.clock.set(at(2026, 12, 8, 10, 30));

    let r = d.ok(get("/api/v1/service/reports/sla?from=2026-12-01&to=2026-12-31"), &d.desk, StatusCode::OK).await;
    let line = |key: &str| r["items"].as_array().unwrap().iter().find(|l| l["key"] == key).unwrap().clone();
    let repair = line("repair");
    assert_eq!((repair["cases"].as_u64(), repair["open"].as_u64()), (Some(2), Some(1)), "{repair}");
    assert_eq!((repair["response_met"].as_u64(), repair["response_missed"].as_u64()), (Some(2), Some(0)));
    assert_eq!(repair["response_met_percent"], "100.0");
    // The second repair's resolution is not due yet: counted in neither.
    assert_eq!((repair["resolution_met"].as_u64(), repair["resolution_missed"].as_u64()), (Some(1), Some(0)));
    // (60 + 240) / 2 working minutes; Monday 09:00 → Tuesday 10:00 is 480 + 60.
    assert_eq!(repair["mean_response_minutes"], 150);
    assert_eq!(repair["mean_resolution_minutes"], 540);
    assert_eq!(repair["mean_satisfaction"], "4.0");
    let complaint = line("complaint");
    assert_eq!((complaint["response_met"].as_u64(), complaint["response_missed"].as_u64()), (Some(0), Some(1)));
    assert_eq!(complaint["response_met_percent"], "0.0");
    assert!(complaint["resolution_met_percent"].is_null(), "due Tuesday 17:00, not yet");
    assert!(complaint["mean_response_minutes"].is_null());
    let total = &r["total"];
    assert_eq!(total["cases"], 3);
    assert_eq!(total["response_met_percent"], "66.7");
    let backlog: Vec<(String, u64)> = r["backlog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["label"].as_str().unwrap().to_owned(), b["cases"].as_u64().unwrap()))
        .collect();
    assert_eq!(backlog[1], ("1-3".to_owned(), 2), "{backlog:?}");
    assert_eq!(backlog.iter().map(|b| b.1).sum::<u64>(), 2);
    // By handler: all three are the desk's.
    let by = d.ok(get("/api/v1/service/reports/sla?by=assignee"), &d.desk, StatusCode::OK).await;
    assert_eq!(by["items"][0]["label"], "desk");
    assert_eq!(by["items"][0]["cases"], 3);
    // A period before the cases has none; the end before the start is refused.
    let none = d.ok(get("/api/v1/service/reports/sla?from=2026-11-01&to=2026-11-30"), &d.desk, StatusCode::OK).await;
    assert_eq!(none["total"]["cases"], 0);
    let r2 = d.app.send(get("/api/v1/service/reports/sla?from=2026-12-31&to=2026-12-01").token(&d.desk)).await;
    assert_eq!(r2.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r2.error_fields(), ["to"]);
    // The xlsx carries the same figures; the page shows them.
    let x = d
        .app
        .send(get("/api/v1/service/reports/sla/export?from=2026-12-01&to=2026-12-31").token(&d.desk).lang("zh-CN"))
        .await;
    assert_eq!(x.status, StatusCode::OK);
    let sheet: Vec<Vec<String>> = loupan_documents::xlsx::read_first_sheet(&x.bytes)
        .unwrap()
        .into_iter()
        .map(|row| row.iter().map(|c| c.as_text().unwrap_or_default()).collect())
        .collect();
    assert_eq!(sheet.len(), 4, "{sheet:?}");
    assert_eq!(sheet[3][0], "合计");
    assert_eq!(sheet[3][1], "3");
    assert_eq!(sheet[3][5], "66.7");
    let page = d.app.send(get("/service/reports?from=2026-12-01&to=2026-12-31").token(&d.desk).lang("zh-CN")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("66.7%") && page.text.contains("报修"), "{}", page.text);

    // Minutes counted before Loupan kept them on the case (migration 000044)
    // are counted when it opens the database, to the same figures.
    use loupan_store::Connection;
    let conn = d.app.services.store.conn();
    conn.execute_unprepared("UPDATE service_cases SET response_minutes = NULL, resolution_minutes = NULL")
        .await
        .unwrap();
    assert_eq!(loupan_service::cases::count_step_minutes(&d.app.services).await.unwrap(), 2);
    assert_eq!(loupan_service::cases::count_step_minutes(&d.app.services).await.unwrap(), 0);
    let again = d.ok(get("/api/v1/service/reports/sla?from=2026-12-01&to=2026-12-31"), &d.desk, StatusCode::OK).await;
    assert_eq!(again, r);

    // By month of the company's calendar: a case registered at 23:59 on
    // 30 November (15:59 UTC) is November's.
    d.app.services.clock.set(at(2026, 11, 30, 23, 59));
    register("repair", "normal").await;
    d.app.services.clock.set(at(2026, 12, 8, 10, 30));
    let months = |r: &serde_json::Value| -> Vec<(String, u64)> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["key"].as_str().unwrap().to_owned(), l["cases"].as_u64().unwrap()))
            .collect()
    };
    let two =
        d.ok(get("/api/v1/service/reports/sla?by=month&from=2026-10-01&to=2026-12-31"), &d.desk, StatusCode::OK).await;
    assert_eq!(months(&two), [("2026-11".to_owned(), 1), ("2026-12".to_owned(), 3)]);
    assert_eq!(two["total"]["cases"], 4);
    let one =
        d.ok(get("/api/v1/service/reports/sla?by=month&from=2026-12-01&to=2026-12-31"), &d.desk, StatusCode::OK).await;
    assert_eq!(months(&one), [("2026-12".to_owned(), 3)]);
    let _ = (&b, &d.fixer, &d.fixer_id, &d.boss, &d.boss_id, &d.agent);
}

#[tokio::test]
async fn a_case_about_the_same_event_merges_into_the_open_one_and_both_histories_say_so() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    d.buyer("王芳", "13900139000", "1-301").await;
    let register = |description: &'static str| {
        let body = json!({"project_id": d.project, "kind": "complaint", "channel": "phone",
                          "caller_name": "王芳", "caller_phone": "139 0013 9000", "description": description});
        d.ok(post("/api/v1/service/cases", body), &d.desk, StatusCode::CREATED)
    };
    let first = register("楼上漏水到客厅").await;
    let second = register("客厅天花板漏水，第二次来电").await;
    let second_status = second["status"].clone();
    let (first, second) = (first["id"].as_str().unwrap().to_owned(), second["id"].as_str().unwrap().to_owned());
    let far_project = d.app.project(&d.admin, "远洋天地").await;
    let far = d
        .ok(
            post(
                "/api/v1/service/cases",
                json!({"project_id": far_project, "kind": "repair", "caller_name": "赵先生", "description": "门锁坏了"}),
            ),
            &d.admin,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refused on the field, each for its reason.
    let refused = |body: Value, token: String| {
        let (app, first) = (&d.app, first.clone());
        async move {
            let r = app.send(post(&format!("/api/v1/service/cases/{first}/actions"), body).token(&token)).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
            r.json()["errors"][0]["code"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(refused(json!({"action": "merge"}), d.desk.clone()).await, "needed_for_this_action");
    assert_eq!(refused(json!({"action": "merge", "into_case_id": first}), d.desk.clone()).await, "same_case");
    assert_eq!(refused(json!({"action": "merge", "into_case_id": "nothing"}), d.desk.clone()).await, "unknown_case");
    // The desk does not see the other project's case; the admin sees that it is another project's.
    assert_eq!(refused(json!({"action": "merge", "into_case_id": far}), d.desk.clone()).await, "unknown_case");
    assert_eq!(
        refused(json!({"action": "merge", "into_case_id": far}), d.admin.clone()).await,
        "case_of_another_project"
    );

    // The page offers the project's other open cases.
    let page = d.app.send(get(&format!("/service/cases/{first}")).token(&d.desk)).await;
    assert!(page.text.contains("action-merge") && page.text.contains(&second) && !page.text.contains(&far));

    let merged = d.act(&first, json!({"action": "merge", "into_case_id": second, "note": "同一处漏水"}), &d.desk).await;
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merged_into"], second.as_str());
    assert_eq!(merged["events"].as_array().unwrap().last().unwrap()["note"], "BS000002 · 同一处漏水");
    let carried = d.ok(get(&format!("/api/v1/service/cases/{second}")), &d.desk, StatusCode::OK).await;
    let joined = carried["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (joined["action"].as_str(), joined["note"].as_str()),
        (Some("merged_in"), Some("BS000001 · 同一处漏水"))
    );
    assert_eq!(carried["status"], second_status, "the case that carries on keeps its status: {carried}");

    // Merged is an end: no further step, nothing merges into it.
    assert_eq!(refused(json!({"action": "start"}), d.desk.clone()).await, "not_allowed_now");
    let r = d
        .app
        .send(
            post(&format!("/api/v1/service/cases/{second}/actions"), json!({"action": "merge", "into_case_id": first}))
                .token(&d.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["code"], "case_not_open");

    // Its deadlines raise nothing and it is not in the backlog; the page links the case that carries on.
    loupan_service::cases::check_deadlines(&d.app.services, at(2026, 12, 31, 10, 0)).await.unwrap();
    let after = d.ok(get(&format!("/api/v1/service/cases/{first}")), &d.desk, StatusCode::OK).await;
    assert!(
        after["events"].as_array().unwrap().iter().all(|e| e["action"] != "reminded" && e["action"] != "escalated")
    );
    let open = d.ok(get("/api/v1/service/cases?state=open"), &d.desk, StatusCode::OK).await;
    let ids: Vec<&str> = open["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str()]);
    let page = d.app.send(get(&format!("/service/cases/{first}")).token(&d.desk)).await;
    assert!(page.text.contains("case-merged-into") && page.text.contains(&format!("/service/cases/{second}")));
}

#[tokio::test]
async fn a_third_complaint_in_ninety_days_makes_an_exception_and_alerts_the_agent() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (customer, _, _) = d.buyer("王芳", "13900139000", "1-301").await;
    let register = |kind: &'static str, description: &'static str| {
        let body = json!({"project_id": d.project, "kind": kind, "caller_name": "王芳",
                          "caller_phone": "13900139000", "description": description});
        d.ok(post("/api/v1/service/cases", body), &d.desk, StatusCode::CREATED)
    };
    let repeated = |token: String| {
        let app = &d.app;
        async move {
            let r = app.send(get("/api/v1/customers/exceptions").token(&token)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json()["repeated_complaints"].clone()
        }
    };
    let alerts = |token: String| {
        let app = &d.app;
        async move {
            let r = app.send(get("/api/v1/notifications").token(&token)).await;
            let items = r.json()["items"].as_array().cloned().unwrap_or_default();
            items.into_iter().filter(|n| n["kind"] == "repeated_complaints").collect::<Vec<Value>>()
        }
    };
    // A complaint 100 days ago is outside the 90 days.
    d.app.services.clock.set(at(2026, 8, 24, 10, 0));
    register("complaint", "去年的噪音").await;
    d.app.services.clock.set(at(2026, 12, 2, 10, 0));
    let first = register("complaint", "楼上装修噪音").await;
    register("repair", "水龙头漏水").await;
    register("complaint", "物业态度差").await;
    assert_eq!(repeated(d.admin.clone()).await["customers"], json!([]), "two complaints within 90 days");
    assert!(alerts(d.agent.clone()).await.is_empty());

    let third = register("complaint", "噪音又来了").await;
    let found = repeated(d.admin.clone()).await;
    assert_eq!((found["complaints"].as_i64(), found["days"].as_i64()), (Some(3), Some(90)));
    assert_eq!(found["customers"][0]["customer"]["id"], customer.as_str());
    assert_eq!(found["customers"][0]["complaints"], 3);
    // The agent who owns her sees it and is alerted; so are the administrators (no supervisor named).
    assert_eq!(repeated(d.agent.clone()).await["customers"][0]["customer"]["id"], customer.as_str());
    let said = alerts(d.agent.clone()).await;
    assert_eq!(said.len(), 1, "{said:?}");
    // The agent is sent to the customer (an agent does not read cases), the administrators to the case.
    assert!(said[0]["title"].as_str().unwrap().contains("王芳"), "{said:?}");
    assert_eq!(said[0]["link"], format!("/customers/{customer}"));
    let to_admin = alerts(d.admin.clone()).await;
    assert_eq!(to_admin.len(), 1);
    assert_eq!(to_admin[0]["link"], format!("/service/cases/{}", third["id"].as_str().unwrap()));
    let page = d.app.send(get("/customers/exceptions").token(&d.admin)).await;
    assert!(
        page.text.contains("exceptions-repeated")
            && page.text.contains(&format!("/service/cases?customer_id={customer}"))
    );

    // A duplicate merged away is not another complaint.
    let (first, third) = (first["id"].as_str().unwrap(), third["id"].as_str().unwrap());
    d.act(first, json!({"action": "merge", "into_case_id": third}), &d.desk).await;
    assert_eq!(repeated(d.admin.clone()).await["customers"], json!([]));

    // The company sets its own rule; 0 turns it off; nonsense is refused on its field.
    let set = |body: Value| d.app.send(put("/api/v1/service/settings", body).token(&d.admin));
    let r = set(json!({"repeat_complaints": 2, "repeat_days": 30})).await;
    assert_eq!((r.json()["repeat_complaints"].as_i64(), r.json()["repeat_days"].as_i64()), (Some(2), Some(30)));
    assert_eq!(repeated(d.admin.clone()).await["customers"][0]["complaints"], 2);
    set(json!({"repeat_complaints": 0})).await;
    assert_eq!(repeated(d.admin.clone()).await["customers"], json!([]));
    let r = set(json!({"repeat_complaints": -1, "repeat_days": 0})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["repeat_complaints", "repeat_days"]);
}

#[tokio::test]
async fn an_owner_reports_through_the_projects_form_without_signing_in_within_a_limit() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (customer, _, contract) = d.buyer("王芳", "13900139000", "1-301").await;
    let path = format!("/report/{}", d.project);
    let page = d.app.send(get(&path)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("翠湖名苑") && page.text.contains("owner-report"), "{}", page.text);
    assert_eq!(d.app.send(get("/report/nothing")).await.status, StatusCode::NOT_FOUND);
    let qr = d.app.send(get(&format!("{path}/qr.svg"))).await;
    assert_eq!(qr.status, StatusCode::OK);
    assert!(qr.text.starts_with("<?xml") && qr.text.contains("<svg"), "{}", qr.text);

    // Refused field by field, with what was typed kept.
    let r = d.app.send(form(&path, &[("kind", "repair"), ("description", "门锁坏了")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("门锁坏了") && r.text.matches("class=\"error\"").count() == 2, "{}", r.text);

    // The phone in any format links her, her unit and her contract; she learns only the number.
    let fields =
        [("kind", "repair"), ("caller_name", "王女士"), ("caller_phone", "139-0013-9000"), ("description", "门锁坏了")];
    let r = d.app.send(form(&path, &fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("owner-report-sent") && r.text.contains("BS000001") && !r.text.contains("1-301"),
        "{}",
        r.text
    );
    let list = d.ok(get(&format!("/api/v1/service/cases?customer_id={customer}")), &d.desk, StatusCode::OK).await;
    let case = &list["items"][0];
    assert_eq!((case["channel"].as_str(), case["contract_id"].as_str()), (Some("web_form"), Some(contract.as_str())));
    assert_eq!(case["caller_name"], "王女士");

    // Through a proxy each address may send five an hour; a refused form counts nothing.
    let proxied = d.app.behind_proxy();
    let from = |address: &'static str| {
        let (router, path) = (proxied.clone(), path.clone());
        async move {
            send_to(&router, form(&path, &fields).header("x-forwarded-for", &format!("203.0.113.9, {address}"))).await
        }
    };
    let typo = send_to(&proxied, form(&path, &[("kind", "repair")]).header("x-forwarded-for", "198.51.100.7")).await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    for _ in 0..5 {
        assert_eq!(from("198.51.100.7").await.status, StatusCode::OK);
    }
    let sixth = from("198.51.100.7").await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth.text.contains("owner-report-refused") && sixth.text.contains("门锁坏了"), "{}", sixth.text);
    assert_eq!(from("198.51.100.8").await.status, StatusCode::OK, "another address is counted apart");
    // Without a trusted proxy the header is the caller's own word: it is not an address.
    for _ in 0..6 {
        let r = d.app.send(form(&path, &fields).header("x-forwarded-for", "198.51.100.7")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn photos_of_the_damage_go_with_the_case_for_those_who_see_it() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let body = json!({"project_id": d.project, "kind": "repair", "caller_name": "赵先生", "description": "阳台渗水"});
    let case = d.ok(post("/api/v1/service/cases", body), &d.desk, StatusCode::CREATED).await;
    let id = case["id"].as_str().unwrap();
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"JFIF photo of the balcony"].concat();
    let attach = |bytes: Vec<u8>, token: String| {
        let app = &d.app;
        async move {
            app.send(
                post_bytes(&format!("/api/v1/service/cases/{id}/files?file_name=阳台.jpg"), bytes, "image/jpeg")
                    .token(&token),
            )
            .await
        }
    };
    let r = attach(jpeg.clone(), d.fixer.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.json()["content_type"].as_str(), r.json()["file_name"].as_str()),
        (Some("image/jpeg"), Some("阳台.jpg"))
    );
    let file = r.json()["id"].as_str().unwrap().to_owned();
    // Something that is no known kind of file is refused on its field; an agent may not add to a case.
    let r = attach(b"MZ\x90\x00 an executable".to_vec(), d.desk.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), ["file"]);
    assert_eq!(attach(jpeg.clone(), d.agent.clone()).await.status, StatusCode::FORBIDDEN);

    let listed = d.ok(get(&format!("/api/v1/service/cases/{id}/files")), &d.boss, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let photo = d.app.send(get(&format!("/api/v1/files/{file}")).token(&d.boss)).await;
    assert_eq!(photo.status, StatusCode::OK);
    // Another project's desk does not see it.
    let elsewhere = d.app.project(&d.admin, "远洋天地").await;
    let (_, stranger) = d.app.user(&d.admin, "stranger", &["service"], &[&elsewhere]).await;
    assert_eq!(d.app.send(get(&format!("/api/v1/files/{file}")).token(&stranger)).await.status, StatusCode::NOT_FOUND);
    // The case page shows it with the upload form.
    let page = d.app.send(get(&format!("/service/cases/{id}")).token(&d.desk)).await;
    assert!(page.text.contains("attachment-form") && page.text.contains("阳台.jpg"), "{}", page.text);
}

impl Desk {
    /// A case of the customer reached at `phone`, taken through every step and closed.
    async fn closed_case(&self, phone: &str) -> Value {
        let body =
            json!({"project_id": self.project, "kind": "repair", "caller_phone": phone, "description": "门锁坏了"});
        let case = self.ok(post("/api/v1/service/cases", body), &self.desk, StatusCode::CREATED).await;
        let id = case["id"].as_str().unwrap();
        for step in [
            json!({"action": "assign", "assignee_id": self.desk_id}),
            json!({"action": "start"}),
            json!({"action": "reply", "note": "已更换门锁"}),
            json!({"action": "confirm"}),
            json!({"action": "close", "satisfaction": 4}),
        ] {
            self.act(id, step, &self.desk).await;
        }
        case
    }

    async fn surveys_of(&self, subject: &str) -> Vec<Value> {
        let list =
            self.ok(get(&format!("/api/v1/service/surveys?subject_id={subject}")), &self.desk, StatusCode::OK).await;
        list["items"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_closed_case_sends_a_survey_answered_once_without_login_and_a_low_score_opens_a_case() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (customer, _, contract) = d.buyer("王芳", "13900139000", "1-301").await;
    let case = d.closed_case("13900139000").await;
    let surveys = d.surveys_of(case["id"].as_str().unwrap()).await;
    assert_eq!(surveys.len(), 1, "closing the case sent one");
    let link = surveys[0]["link"].as_str().unwrap().to_owned();
    assert_eq!(
        (surveys[0]["event"].as_str(), surveys[0]["customer_id"].as_str()),
        (Some("case_closed"), Some(customer.as_str()))
    );
    assert!(link.starts_with("/survey/"), "{link}");
    // Anyone with the link, without signing in, sees the questions and nothing of the customer.
    let page = d.app.send(get(&link)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("翠湖名苑") && !page.text.contains("王芳") && !page.text.contains("13900139000"));
    // Out of range is refused on its field; nothing is recorded.
    let r = d.app.send(form(&link, &[("csat", "6"), ("nps", "11")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = d.app.send(form(&link, &[("csat", "5"), ("nps", "9"), ("comment", "师傅很专业")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("survey-thanks"));
    // Once only.
    let again = d.app.send(form(&link, &[("csat", "1"), ("nps", "0")])).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(d.app.send(get(&link)).await.status, StatusCode::CONFLICT);
    let answered = &d.surveys_of(case["id"].as_str().unwrap()).await[0];
    assert_eq!((answered["csat"].as_i64(), answered["nps"].as_i64()), (Some(5), Some(9)));
    assert!(answered["link"].is_null() && answered["case_id"].is_null());
    // An unknown token is not found; guessing finds nothing.
    assert_eq!(d.app.send(get("/survey/0123456789abcdef0123456789abcdef")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(d.app.send(get("/survey/..%2Fadmin")).await.status, StatusCode::NOT_FOUND);

    // The desk sends one about the contract; a low score opens a complaint for the customer.
    let sent =
        d.ok(post("/api/v1/service/surveys", json!({"contract_id": contract})), &d.desk, StatusCode::CREATED).await;
    assert_eq!(sent["survey"]["event"], "contract_signed");
    let link = sent["link"].as_str().unwrap().to_owned();
    let r = d.app.send(form(&link, &[("csat", "2"), ("nps", "8"), ("comment", "交付拖延")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let low = &d.surveys_of(&contract).await[0];
    let opened = low["case_id"].as_str().expect("a case for the low score");
    let opened = d.ok(get(&format!("/api/v1/service/cases/{opened}")), &d.desk, StatusCode::OK).await;
    assert_eq!((opened["kind"].as_str(), opened["customer_id"].as_str()), (Some("complaint"), Some(customer.as_str())));
    assert!(opened["description"].as_str().unwrap().contains("交付拖延"));
    // A low satisfaction is a customer exception, for the agent too.
    let exceptions = d.ok(get("/api/v1/customers/exceptions"), &d.agent, StatusCode::OK).await;
    let low = exceptions["low_satisfaction"].as_array().unwrap();
    assert_eq!(low.len(), 1, "{exceptions}");
    assert_eq!((low[0]["customer"]["id"].as_str(), low[0]["csat"].as_i64()), (Some(customer.as_str()), Some(2)));
    // The answers are on the customer's timeline.
    let timeline = d.ok(get(&format!("/api/v1/customers/{customer}/timeline")), &d.admin, StatusCode::OK).await;
    let answers = timeline["items"].as_array().unwrap().iter().filter(|e| e["facts"]["variant"] == "survey").count();
    assert_eq!(answers, 2, "{timeline}");

    // Scores: CSAT (5 + 2) / 2, NPS one promoter (9) and one passive (8) of two: 50.
    let report = d.ok(get("/api/v1/service/surveys/report?by=event"), &d.desk, StatusCode::OK).await;
    assert_eq!(report["total"]["sent"], 2);
    assert_eq!(report["total"]["answered"], 2);
    assert_eq!(report["total"]["csat"], 3.5);
    assert_eq!(report["total"]["nps"], 50.0);
    assert_eq!(report["total"]["low_scores"], 1);
    assert_eq!(report["items"].as_array().unwrap().len(), 2);
    let by_project = d.ok(get("/api/v1/service/surveys/report"), &d.desk, StatusCode::OK).await;
    assert_eq!(by_project["items"][0]["label"], "翠湖名苑", "{by_project}");
    let r = d.app.send(get("/api/v1/service/surveys/report?by=colour").token(&d.desk)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["by".to_owned()]));
    // Neither a case nor a contract; and an agent does not send surveys.
    let r = d.app.send(post("/api/v1/service/surveys", json!({})).token(&d.desk)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = d.app.send(post("/api/v1/service/surveys", json!({"contract_id": contract})).token(&d.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let page = d.app.send(get("/service/surveys?by=agent").token(&d.desk)).await;
    assert!(page.status == StatusCode::OK && page.text.contains("id=\"survey-report\""), "{}", page.text);
}

#[tokio::test]
async fn a_survey_link_expires_after_two_weeks() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    d.buyer("王芳", "13900139000", "1-301").await;
    let case = d.closed_case("13900139000").await;
    let link = d.surveys_of(case["id"].as_str().unwrap()).await[0]["link"].as_str().unwrap().to_owned();
    d.app.services.clock.set(at(2026, 12, 16, 10, 1));
    let r = d.app.send(form(&link, &[("csat", "5"), ("nps", "10")])).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("survey-closed"));
    let listed = &d.surveys_of(case["id"].as_str().unwrap()).await[0];
    assert!(listed["link"].is_null() && listed["answered_at"].is_null());
}

#[tokio::test]
async fn a_signed_contract_sends_a_survey_when_the_desk_asks_for_one() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (_, _, before) = d.buyer("王芳", "13900139000", "1-301").await;
    assert!(d.surveys_of(&before).await.is_empty(), "off by default");
    let settings =
        d.ok(put("/api/v1/service/settings", json!({"survey_on_contract": true})), &d.admin, StatusCode::OK).await;
    assert_eq!(settings["survey_on_contract"], true);
    let (customer, _, contract) = d.buyer("李雷", "13900139001", "1-302").await;
    let surveys = d.surveys_of(&contract).await;
    assert_eq!(surveys.len(), 1, "{surveys:?}");
    assert_eq!(
        (surveys[0]["event"].as_str(), surveys[0]["customer_id"].as_str()),
        (Some("contract_signed"), Some(customer.as_str()))
    );
    assert!(surveys[0]["link"].as_str().is_some_and(|l| l.starts_with("/survey/")));
    // Other settings keep it; the settings page's form turns it off when unticked.
    let kept = d.ok(put("/api/v1/service/settings", json!({"reopen_days": 10})), &d.admin, StatusCode::OK).await;
    assert_eq!(kept["survey_on_contract"], true);
}

/// A form as a browser posts it with files: `(name, value)` fields, then
/// `(field, file name, bytes)` files.
fn multipart_form(fields: &[(&str, &str)], files: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

#[tokio::test]
async fn an_owner_sends_photos_from_a_phone_with_the_report() {
    let d = desk(at(2026, 12, 2, 10, 0)).await;
    let (customer, _, _) = d.buyer("王芳", "13900139000", "1-301").await;
    let path = format!("/report/{}", d.project);
    let fields =
        [("kind", "repair"), ("caller_name", "王女士"), ("caller_phone", "13900139000"), ("description", "卫生间漏水")];
    // A phone's photo is a few megabytes.
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.resize(3 * 1024 * 1024, 7);
    let png = [&b"\x89PNG\r\n\x1a\n"[..], b"ceiling"].concat();
    let send = |files: Vec<(&'static str, &'static str, Vec<u8>)>| {
        let body = multipart_form(&fields, &files);
        let app = &d.app;
        let path = path.clone();
        async move { app.send(post_bytes(&path, body, "multipart/form-data; boundary=XyZ").lang("en")).await }
    };
    let cases = || async {
        d.ok(get(&format!("/api/v1/service/cases?customer_id={customer}")), &d.desk, StatusCode::OK).await["items"]
            .as_array()
            .unwrap()
            .len()
    };

    // Four photos, or a file that is not a picture, are refused and register nothing.
    let four = (0..4).map(|_| ("photos", "p.png", png.clone())).collect();
    let r = send(four).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("At most 3 photos") && r.text.contains("卫生间漏水"), "{}", r.text);
    let r = send(vec![("photos", "notes.pdf", b"%PDF-1.7 notes".to_vec())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("Send photos only"), "{}", r.text);
    assert_eq!(cases().await, 0);

    // Two photos and an empty file input (none chosen) go with the case.
    let r = send(vec![
        ("photos", "漏水.jpg", photo.clone()),
        ("photos", "天花.png", png.clone()),
        ("photos", "", Vec::new()),
    ])
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("owner-report-sent"));
    let list = d.ok(get(&format!("/api/v1/service/cases?customer_id={customer}")), &d.desk, StatusCode::OK).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let files = d.ok(get(&format!("/api/v1/service/cases/{id}/files")), &d.desk, StatusCode::OK).await;
    let mut seen: Vec<(String, String, u64)> = files["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file_name"].as_str().unwrap().into(),
                f["content_type"].as_str().unwrap().into(),
                f["size"].as_u64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("天花.png".to_owned(), "image/png".to_owned(), png.len() as u64),
            ("漏水.jpg".to_owned(), "image/jpeg".to_owned(), photo.len() as u64)
        ]
    );

    // The desk attaches a phone's photo through the API too; beyond 10 MB the
    // file is refused on its field, and far beyond the request is too large.
    let attach = |bytes: Vec<u8>| {
        let app = &d.app;
        let (id, token) = (id.clone(), d.desk.clone());
        async move {
            app.send(
                post_bytes(&format!("/api/v1/service/cases/{id}/files?file_name=p.jpg"), bytes, "image/jpeg")
                    .token(&token),
            )
            .await
        }
    };
    assert_eq!(attach(photo.clone()).await.status, StatusCode::CREATED);
    let mut big = photo.clone();
    big.resize(10 * 1024 * 1024 + 1, 7);
    let r = attach(big).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["file".to_owned()]), "{}", r.text);
    let mut huge = photo;
    huge.resize(12 * 1024 * 1024, 7);
    assert_eq!(attach(huge).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    // JSON stays within a megabyte.
    let long = "x".repeat(1024 * 1024 + 1);
    let r = d.app.send(post("/api/v1/service/cases", json!({"description": long})).token(&d.desk)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
}
