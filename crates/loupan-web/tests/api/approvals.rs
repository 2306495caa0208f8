//! The approval engine through the real router: special discounts routed by
//! their size, rejections that change nothing, flows edited into new versions
//! while running requests keep theirs, returns, delegation, deadlines that
//! remind and escalate, and the workbench of each role.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

struct Office {
    app: TestApp,
    project: String,
    admin: String,
    agent: String,
    agent_id: String,
    other_agent: String,
    manager: String,
    manager_id: String,
    pm: String,
    finance: String,
    building: String,
    method: String,
    customer: String,
}

async fn office() -> Office {
    office_on(TestApp::new().await).await
}

async fn office_on(app: TestApp) -> Office {
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (agent_id, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, other_agent) = app.user(&admin, "agent2", &["sales_agent"], &[&project]).await;
    let (manager_id, manager) = app.user(&admin, "wangfang", &["sales_manager"], &[&project]).await;
    let (_, pm) = app.user(&admin, "pmgr", &["project_manager"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let building = app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pm_method = app
        .send(
            post(
                &format!("/api/v1/projects/{project}/payment-methods"),
                json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
                       "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 0}]}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(pm_method.status, StatusCode::CREATED, "{}", pm_method.text);
    let method = pm_method.json()["id"].as_str().unwrap().to_owned();
    let customer = app
        .send(
            post("/api/v1/customers", json!({"name": "孙七", "phone": "13600136000", "project_id": project}))
                .token(&agent),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Office {
        app,
        project,
        admin,
        agent,
        agent_id,
        other_agent,
        manager,
        manager_id,
        pm,
        finance,
        building,
        method,
        customer,
    }
}

impl Office {
    /// A unit listed at 1,000,000.00 with a floor price of 900,000.00.
    async fn unit(&self, number: &str) -> String {
        let body = json!({"floor": 1, "number": number, "layout": "3室2厅", "gross_area": "100.00", "inner_area": "80.00",
                          "list_price": "1000000.00", "floor_price": "900000.00"});
        let r =
            self.app.send(post(&format!("/api/v1/buildings/{}/units", self.building), body).token(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    fn deal(&self, unit: &str, total: &str) -> Value {
        json!({"unit_id": unit, "customer_id": self.customer, "total_price": total, "deposit": "20000.00",
               "payment_method_id": self.method, "subscribed_on": "2026-11-27"})
    }

    /// The agent asks for a special discount; returns the approval request.
    async fn ask(&self, unit: &str, total: &str) -> Value {
        let mut body = self.deal(unit, total);
        body["reason"] = json!("老客户介绍，一次性付款");
        let r = self.app.send(post("/api/v1/sales/subscriptions/special-discount", body).token(&self.agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    async fn unit_status(&self, unit: &str) -> String {
        self.app.send(get(&format!("/api/v1/units/{unit}")).token(&self.admin)).await.json()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn inbox(&self, token: &str) -> Vec<Value> {
        let r = self.app.send(get("/api/v1/approvals?state=pending").token(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()["items"].as_array().unwrap().clone()
    }

    async fn decide(&self, token: &str, id: &str, action: &str, comment: &str) -> Reply {
        self.app.send(post(&format!("/api/v1/approvals/{id}/{action}"), json!({"comment": comment})).token(token)).await
    }
}

#[tokio::test]
async fn a_discount_above_the_threshold_needs_the_sales_manager_then_the_project_manager() {
    let o = office().await;
    let small = o.unit("101").await;
    let large = o.unit("102").await;

    // Below the list price the agent cannot subscribe alone.
    let r = o.app.send(post("/api/v1/sales/subscriptions", o.deal(&small, "980000.00")).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["code"], "needs_special_approval");
    // A price the agent may agree needs no request.
    let mut at_list = o.deal(&small, "1000000.00");
    at_list["reason"] = json!("x");
    let r = o.app.send(post("/api/v1/sales/subscriptions/special-discount", at_list).token(&o.agent)).await;
    assert_eq!(r.json()["errors"][0]["code"], "no_special_approval_needed");

    // 2 %: one step, the sales manager.
    let req = o.ask(&small, "980000.00").await;
    assert_eq!((req["status"].as_str(), req["kind"].as_str()), (Some("pending"), Some("special_discount")));
    assert_eq!(req["facts"], json!({"discount_percent": "2.00", "amount": "980000.00"}));
    assert_eq!(o.unit_status(&small).await, "available", "nothing changes before approval");
    let id = req["id"].as_str().unwrap();
    assert!(o.inbox(&o.pm).await.is_empty());
    assert_eq!(o.inbox(&o.manager).await[0]["id"], id);
    // Only an approver of the current step may decide; others do not even see it.
    assert_eq!(o.decide(&o.agent, id, "approve", "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(o.decide(&o.other_agent, id, "approve", "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        o.app.send(get(&format!("/api/v1/approvals/{id}")).token(&o.other_agent)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = o.decide(&o.manager, id, "approve", "同意").await;
    assert_eq!(r.json()["status"], "approved", "{}", r.text);
    assert_eq!(o.unit_status(&small).await, "subscribed");
    let deals = o.app.send(get(&format!("/api/v1/units/{small}/history")).token(&o.agent)).await.json();
    assert_eq!(deals["items"][0]["to_status"], "subscribed");

    // 5 %: the sales manager, then the project manager.
    let req = o.ask(&large, "950000.00").await;
    let id = req["id"].as_str().unwrap();
    assert_eq!(req["facts"]["discount_percent"], "5.00");
    assert!(o.inbox(&o.pm).await.is_empty(), "the project manager comes second");
    let r = o.decide(&o.manager, id, "approve", "").await;
    assert_eq!((r.json()["status"].as_str(), r.json()["current_step"].as_i64()), (Some("pending"), Some(1)));
    assert_eq!(o.unit_status(&large).await, "available");
    assert!(o.inbox(&o.manager).await.is_empty());
    assert_eq!(o.inbox(&o.pm).await[0]["id"], id);
    let r = o.decide(&o.pm, id, "approve", "").await;
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(o.unit_status(&large).await, "subscribed");

    // The trail has every step; the agent heard of both outcomes.
    let detail = o.app.send(get(&format!("/api/v1/approvals/{id}")).token(&o.agent)).await.json();
    let actions: Vec<&str> =
        detail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submitted", "approved", "approved"]);
    assert_eq!(detail["tasks"].as_array().unwrap().len(), 2);
    let notes = o.app.send(get("/api/v1/notifications?unread=true").token(&o.agent)).await.json();
    assert_eq!(notes["unread"], 2);
    assert!(notes["items"].as_array().unwrap().iter().all(|n| n["kind"] == "approval_approved"));
    // And the audit log has the decisions.
    let audit =
        o.app.send(get(&format!("/api/v1/admin/audit?record_type=approval&record_id={id}")).token(&o.admin)).await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.text.contains("approval.approve"), "{}", audit.text);
}

#[tokio::test]
async fn a_rejected_discount_changes_nothing() {
    let o = office().await;
    let unit = o.unit("201").await;
    let req = o.ask(&unit, "940000.00").await;
    let id = req["id"].as_str().unwrap();
    let r = o.decide(&o.manager, id, "reject", "").await;
    assert_eq!(r.error_fields(), vec!["comment"], "a rejection gives its reason");
    let r = o.decide(&o.manager, id, "reject", "低于本月底线").await;
    assert_eq!(r.json()["status"], "rejected");
    assert_eq!(o.unit_status(&unit).await, "available");
    let history = o.app.send(get(&format!("/api/v1/units/{unit}/history")).token(&o.agent)).await.json();
    assert_eq!(history["items"], json!([]));
    assert_eq!(o.decide(&o.manager, id, "approve", "").await.status, StatusCode::CONFLICT);
    // The unit stays free for a sale at a price the agent may agree.
    let r = o.app.send(post("/api/v1/sales/subscriptions", o.deal(&unit, "1000000.00")).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A request on a unit sold meanwhile is refused up front.
    let r = o
        .app
        .send(
            post("/api/v1/sales/subscriptions/special-discount", {
                let mut b = o.deal(&unit, "950000.00");
                b["reason"] = json!("x");
                b
            })
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn returned_requests_are_resubmitted_and_withdrawn_ones_change_nothing() {
    let o = office().await;
    let unit = o.unit("301").await;
    let req = o.ask(&unit, "990000.00").await;
    let id = req["id"].as_str().unwrap();
    let r = o.decide(&o.manager, id, "return", "请附客户的付款承诺书").await;
    assert_eq!(r.json()["status"], "returned", "{}", r.text);
    assert!(o.inbox(&o.manager).await.is_empty());
    let wb = o.app.send(get("/api/v1/workbench").token(&o.agent)).await.json();
    assert_eq!(wb["own_requests"][0]["status"], "returned");
    // The agent attaches the letter, comments and resubmits.
    let r = o
        .app
        .send(
            post_bytes(
                &format!("/api/v1/approvals/{id}/attachments?file_name=承诺书.pdf"),
                b"%PDF-1.4 ...".to_vec(),
                "application/pdf",
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let attachment = r.json()["id"].as_str().unwrap().to_owned();
    let r = o
        .app
        .send(post(&format!("/api/v1/approvals/{id}/comments"), json!({"comment": "已附承诺书"})).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = o.app.send(post(&format!("/api/v1/approvals/{id}/resubmit"), json!({})).token(&o.agent)).await;
    assert_eq!(r.json()["status"], "pending", "{}", r.text);
    // The manager reads the attachment; a stranger cannot.
    let file = o.app.send(get(&format!("/api/v1/approvals/{id}/attachments/{attachment}")).token(&o.manager)).await;
    assert_eq!((file.status, file.text.as_str()), (StatusCode::OK, "%PDF-1.4 ..."));
    assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let file = o.app.send(get(&format!("/api/v1/approvals/{id}/attachments/{attachment}")).token(&o.other_agent)).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    // Withdrawn, the request closes and the unit stays available.
    let r = o.app.send(post(&format!("/api/v1/approvals/{id}/withdraw"), json!({})).token(&o.agent)).await;
    assert_eq!(r.json()["status"], "withdrawn");
    assert_eq!(o.unit_status(&unit).await, "available");
    assert!(o.inbox(&o.manager).await.is_empty());
    assert_eq!(o.decide(&o.manager, id, "approve", "").await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn edited_flows_are_new_versions_and_running_requests_keep_theirs() {
    let o = office().await;
    let first = o.unit("401").await;
    let second = o.unit("402").await;
    let running = o.ask(&first, "990000.00").await;
    assert_eq!(running["flow_version"], 1);

    // Agents cannot touch flows; admins see the built-in default.
    assert_eq!(o.app.send(get("/api/v1/approval-flows").token(&o.agent)).await.status, StatusCode::FORBIDDEN);
    let flows = o.app.send(get("/api/v1/approval-flows").token(&o.admin)).await.json();
    let discount = flows["items"].as_array().unwrap().iter().find(|f| f["kind"] == "special_discount").unwrap();
    assert_eq!(discount["steps"].as_array().unwrap().len(), 2);

    // New flow: the submitter's manager, then finance AND the sales manager (all) above 1,000,000.00 — never here.
    let r = o
        .app
        .send(
            patch(
                &format!("/api/v1/admin/users/{}", o.agent_id),
                json!({"version": 1, "display_name": "agent", "roles": ["sales_agent"], "project_ids": [o.project], "manager_id": o.manager_id}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let steps = json!({"steps": [
        {"name": "直属上级", "approvers": {"type": "manager"}},
        {"name": "财务与销售会签", "approvers": {"type": "role", "role": "finance"}, "mode": "all",
         "condition": {"fact": "amount", "op": "gt", "value": "1000000"}},
        {"name": "财务确认", "approvers": {"type": "role", "role": "finance"}, "condition": {"fact": "discount_percent", "op": "ge", "value": "1"}}
    ]});
    let bad = json!({"steps": [{"name": "", "approvers": {"type": "role", "role": "king"}}]});
    let r = o.app.send(put("/api/v1/approval-flows/special_discount", bad).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = o
        .app
        .send(put("/api/v1/approval-flows/special_discount", json!({"steps": [{"name": "x", "approvers": {"type": "role", "role": "finance"}, "condition": {"fact": "colour", "op": "eq", "value": "1"}}]})).token(&o.admin))
        .await;
    assert_eq!(r.error_fields(), vec!["steps[0].condition"]);
    let r = o.app.send(put("/api/v1/approval-flows/special_discount", steps).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["version"], 2);
    let history = o.app.send(get("/api/v1/approval-flows/special_discount").token(&o.admin)).await.json();
    assert_eq!(history["items"].as_array().unwrap().len(), 2);

    // The running request still follows version 1: approved by the sales manager alone.
    let r = o.decide(&o.manager, running["id"].as_str().unwrap(), "approve", "").await;
    assert_eq!((r.json()["status"].as_str(), r.json()["flow_version"].as_i64()), (Some("approved"), Some(1)));

    // A new one follows version 2: the agent's manager, then finance (1 %, not above 1,000,000).
    let req = o.ask(&second, "990000.00").await;
    assert_eq!(req["flow_version"], 2);
    let id = req["id"].as_str().unwrap();
    assert_eq!(o.inbox(&o.manager).await[0]["step_name"], "直属上级");
    o.decide(&o.manager, id, "approve", "").await;
    let inbox = o.inbox(&o.finance).await;
    assert_eq!(inbox[0]["step_name"], "财务确认", "the amount condition skipped the countersign step");
    let r = o.decide(&o.finance, id, "approve", "").await;
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(o.unit_status(&second).await, "subscribed");
}

#[tokio::test]
async fn a_delegate_decides_while_the_approver_is_away() {
    let o = office().await;
    let (deputy_id, deputy) = o.app.user(&o.admin, "deputy", &["sales_agent"], &[&o.project]).await;
    let r = o
        .app
        .send(
            post(
                "/api/v1/delegations",
                json!({"to_user_id": deputy_id, "starts_on": "2026-11-01", "ends_on": "2099-12-31"}),
            )
            .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let delegation = r.json()["id"].as_str().unwrap().to_owned();
    let r = o
        .app
        .send(
            post(
                "/api/v1/delegations",
                json!({"to_user_id": o.manager_id, "starts_on": "2026-12-01", "ends_on": "2026-11-01"}),
            )
            .token(&o.manager),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["ends_on", "to_user_id"]);

    let unit = o.unit("501").await;
    let req = o.ask(&unit, "990000.00").await;
    let id = req["id"].as_str().unwrap();
    let inbox = o.inbox(&deputy).await;
    assert_eq!((inbox[0]["id"].as_str(), inbox[0]["on_behalf_of"].as_str()), (Some(id), Some("wangfang")));
    let r = o.decide(&deputy, id, "approve", "代王芳审批").await;
    assert_eq!(r.json()["status"], "approved", "{}", r.text);
    let detail = o.app.send(get(&format!("/api/v1/approvals/{id}")).token(&o.manager)).await.json();
    assert_eq!(detail["tasks"][0]["acted_by_name"], "deputy");
    assert_eq!(detail["tasks"][0]["approver_name"], "wangfang");

    // Revoked, the delegation gives no more rights.
    let r = o.app.send(delete(&format!("/api/v1/delegations/{delegation}")).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let next = o.unit("502").await;
    let req = o.ask(&next, "990000.00").await;
    assert!(o.inbox(&deputy).await.is_empty());
    assert_eq!(o.decide(&deputy, req["id"].as_str().unwrap(), "approve", "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_step_past_its_deadline_reminds_its_approvers_and_escalates() {
    let zone = loupan_service::Clock::parse_zone("Asia/Shanghai").unwrap();
    let o = office_on(TestApp::with_clock(loupan_service::Clock::set_at(zone, chrono::Utc::now())).await).await;
    let (_, executive) = o.app.user(&o.admin, "boss", &["executive"], &[]).await;
    let steps = json!({"steps": [{"name": "销售经理审批", "approvers": {"type": "role", "role": "sales_manager"},
        "deadline_hours": 4, "escalate_to": {"type": "role", "role": "executive"}}]});
    let r = o.app.send(put("/api/v1/approval-flows/special_discount", steps).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let unit = o.unit("601").await;
    let req = o.ask(&unit, "990000.00").await;
    let id = req["id"].as_str().unwrap();
    assert!(o.inbox(&o.manager).await[0]["due_at"].is_string());

    let clock = &o.app.services.clock;
    assert_eq!(
        loupan_service::approvals::check_deadlines(&o.app.services, clock.now()).await.unwrap(),
        0,
        "not due yet"
    );
    clock.set(clock.now() + chrono::Duration::hours(5));
    assert_eq!(loupan_service::approvals::check_deadlines(&o.app.services, clock.now()).await.unwrap(), 1);
    assert_eq!(loupan_service::approvals::check_deadlines(&o.app.services, clock.now()).await.unwrap(), 0, "once only");
    let notes = o.app.send(get("/api/v1/notifications").token(&o.manager)).await.json();
    assert!(notes["items"].as_array().unwrap().iter().any(|n| n["kind"] == "approval_overdue"), "{notes}");
    let notes = o.app.send(get("/api/v1/notifications").token(&executive)).await.json();
    assert_eq!(notes["items"][0]["kind"], "approval_escalated", "{notes}");
    // The executive may now decide the step too.
    let r = o.decide(&executive, id, "approve", "特批").await;
    assert_eq!(r.json()["status"], "approved", "{}", r.text);
    let detail = o.app.send(get(&format!("/api/v1/approvals/{id}")).token(&o.admin)).await.json();
    let actions: Vec<&str> =
        detail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["submitted", "reminded", "escalated", "approved"]);
    assert_eq!(o.unit_status(&unit).await, "subscribed");
}

#[tokio::test]
async fn the_workbench_gives_each_role_its_own_items() {
    let o = office().await;
    let unit = o.unit("701").await;
    let req = o.ask(&unit, "990000.00").await;
    let id = req["id"].as_str().unwrap();
    let agent = o.app.send(get("/api/v1/workbench").token(&o.agent)).await.json();
    assert_eq!(agent["pending_approvals"], json!([]));
    assert_eq!(agent["own_requests"][0]["id"], id);
    let manager = o.app.send(get("/api/v1/workbench").token(&o.manager)).await.json();
    assert_eq!(manager["pending_approvals"][0]["id"], id);
    assert_eq!(manager["own_requests"], json!([]));
    assert_eq!(manager["unread_notifications"], 1);
    let counts = o.app.send(get("/api/v1/workbench/counts").token(&o.manager)).await.json();
    assert_eq!(counts, json!({"approvals": 1, "notifications": 1}));
    let finance = o.app.send(get("/api/v1/workbench").token(&o.finance)).await.json();
    assert_eq!((finance["pending_approvals"].clone(), finance["own_requests"].clone()), (json!([]), json!([])));
    // Marking read empties the bell.
    let r = o.app.send(post("/api/v1/notifications/read-all", json!({})).token(&o.manager)).await;
    assert_eq!(r.json()["marked"], 1);
    let counts = o.app.send(get("/api/v1/workbench/counts").token(&o.manager)).await.json();
    assert_eq!(counts["notifications"], 0);
}

#[tokio::test]
async fn a_step_for_all_waits_for_every_approver_and_a_named_user_gets_their_own_step() {
    let o = office().await;
    let (_, second_finance) = o.app.user(&o.admin, "fin2", &["finance"], &[&o.project]).await;
    let (boss_id, boss) = o.app.user(&o.admin, "boss", &["executive"], &[]).await;
    let steps = json!({"steps": [
        {"name": "财务会签", "approvers": {"type": "role", "role": "finance"}, "mode": "all"},
        {"name": "总经理", "approvers": {"type": "user", "user_id": boss_id}, "condition": {"fact": "amount", "op": "lt", "value": "999000"}}
    ]});
    let r = o.app.send(put("/api/v1/approval-flows/special_discount", steps).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let unit = o.unit("801").await;
    let req = o.ask(&unit, "990000.00").await;
    let id = req["id"].as_str().unwrap();
    let r = o.decide(&o.finance, id, "approve", "").await;
    assert_eq!((r.json()["status"].as_str(), r.json()["current_step"].as_i64()), (Some("pending"), Some(0)));
    assert_eq!(o.decide(&o.finance, id, "approve", "").await.status, StatusCode::FORBIDDEN, "one vote each");
    assert!(o.inbox(&boss).await.is_empty(), "the next step waits for every finance approver");
    let r = o.decide(&second_finance, id, "approve", "").await;
    assert_eq!(r.json()["current_step"], 1);
    assert_eq!(o.inbox(&boss).await[0]["id"], id);
    let r = o.decide(&boss, id, "approve", "").await;
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(o.unit_status(&unit).await, "subscribed");
}

#[tokio::test]
async fn below_the_floor_price_no_discount_limit_lets_a_deal_take_effect_without_approval() {
    let o = office().await;
    // Agents may give up to 20 % here, but never below the floor price of 900,000.00.
    let r = o
        .app
        .send(
            put(&format!("/api/v1/projects/{}/discount-limit", o.project), json!({"agent_discount_limit": "0.2"}))
                .token(&o.admin),
        )
        .await;
    assert_eq!(r.json()["agent_discount_limit"], "0.2", "{}", r.text);
    let limit = o
        .app
        .send(
            put(&format!("/api/v1/projects/{}/discount-limit", o.project), json!({"agent_discount_limit": "0.5"}))
                .token(&o.admin),
        )
        .await;
    assert_eq!(limit.error_fields(), vec!["agent_discount_limit"], "more than 20 % is refused");
    let unit = o.unit("901").await;
    let limits = o
        .app
        .send(get(&format!("/api/v1/units/{unit}/price-limits?payment_method_id={}", o.method)).token(&o.agent))
        .await
        .json();
    assert_eq!(limits, json!({"standard": "1000000.00", "minimum": "900000.00"}));
    let r = o.app.send(post("/api/v1/sales/subscriptions", o.deal(&unit, "899999.99")).token(&o.agent)).await;
    assert_eq!(r.json()["errors"][0]["code"], "needs_special_approval");
    let r = o.app.send(post("/api/v1/sales/contracts", json!({"unit_id": unit, "customer_id": o.customer, "payment_method_id": o.method, "total_price": "899999.99", "signed_on": "2026-11-27"})).token(&o.agent)).await;
    assert_eq!(r.json()["errors"][0]["code"], "needs_special_approval", "a direct contract too");
    assert_eq!(o.unit_status(&unit).await, "available");
    let r = o.app.send(post("/api/v1/sales/subscriptions", o.deal(&unit, "900000.00")).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::CREATED, "at the floor price the agent may agree alone: {}", r.text);
}

#[tokio::test]
async fn a_contract_on_a_non_standard_payment_method_waits_for_the_sales_manager() {
    let o = office().await;
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "分期付款（非标）", "kind": "instalments", "non_standard": true,
                       "terms": [{"kind": "down_payment", "ratio": "0.2", "days_after_signing": 0},
                                 {"kind": "instalment", "ratio": "0.8", "days_after_signing": 180}]}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!((r.status, r.json()["non_standard"].as_bool()), (StatusCode::CREATED, Some(true)), "{}", r.text);
    let special = r.json()["id"].as_str().unwrap().to_owned();
    let contract = |unit: &str, method: &str| {
        json!({"unit_id": unit, "customer_id": o.customer, "payment_method_id": method,
               "total_price": "1000000.00", "signed_on": "2026-11-28"})
    };

    // At list price on the standard method: signed at once, as before.
    let plain = o.unit("301").await;
    let r = o.app.send(post("/api/v1/sales/contracts", contract(&plain, &o.method)).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // On the non-standard one: nothing is signed until the sales manager approves.
    let unit = o.unit("302").await;
    let r = o.app.send(post("/api/v1/sales/contracts", contract(&unit, &special)).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(o.unit_status(&unit).await, "available");
    let again = o.app.send(post("/api/v1/sales/contracts", contract(&unit, &special)).token(&o.agent)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "one request per unit at a time");
    let inbox = o.inbox(&o.manager).await;
    assert_eq!(
        (inbox[0]["id"].as_str(), inbox[0]["kind"].as_str()),
        (Some(id.as_str()), Some("non_standard_contract"))
    );
    let req = o.app.send(get(&format!("/api/v1/approvals/{id}")).token(&o.agent)).await.json();
    assert_eq!(req["request"]["facts"], json!({"amount": "1000000.00", "below_list_percent": "0.00"}), "{req}");
    let r = o.decide(&o.manager, &id, "approve", "同意").await;
    assert_eq!(r.json()["status"], "approved", "{}", r.text);
    assert_eq!(o.unit_status(&unit).await, "contracted");
    let list = o.app.send(get(&format!("/api/v1/sales/contracts?agent_id={}", o.agent_id)).token(&o.agent)).await;
    let signed: Vec<Value> =
        list.json()["items"].as_array().unwrap().iter().filter(|c| c["unit_id"] == unit.as_str()).cloned().collect();
    assert_eq!(signed.len(), 1, "{}", list.text);
    assert_eq!(signed[0]["payment_method_id"], special.as_str());
    let contract_id = signed[0]["id"].as_str().unwrap();
    let plan =
        o.app.send(get(&format!("/api/v1/sales/contracts/{contract_id}/payment-plan")).token(&o.agent)).await.json();
    let amounts: Vec<&str> = plan["items"].as_array().unwrap().iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["200000.00", "800000.00"]);

    // A subscription turned into a contract on it: rejected, the subscription stands.
    let subscribed = o.unit("303").await;
    let r = o.app.send(post("/api/v1/sales/subscriptions", o.deal(&subscribed, "1000000.00")).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sid = r.json()["id"].as_str().unwrap().to_owned();
    let body = json!({"subscription_id": sid, "payment_method_id": special, "total_price": "1000000.00",
                      "signed_on": "2026-11-29"});
    let r = o.app.send(post("/api/v1/sales/contracts", body.clone()).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(o.decide(&o.manager, &id, "reject", "客户资质不符").await.json()["status"], "rejected");
    assert_eq!(o.unit_status(&subscribed).await, "subscribed");
    let sub = o.app.send(get(&format!("/api/v1/sales/subscriptions/{sid}")).token(&o.agent)).await.json();
    assert_eq!(sub["status"], "active");

    // The pages: the box on the method's form, the deal form's warning, the approval after signing.
    let fields = [
        ("name", "延期付款（非标）"),
        ("kind", "one_off"),
        ("non_standard", "1"),
        ("term_kind_0", "down_payment"),
        ("term_ratio_0", "1"),
        ("term_days_0", "90"),
    ];
    let r = o.app.send(form(&format!("/projects/{}/payment-methods", o.project), &fields).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let methods = o.app.send(get(&format!("/api/v1/projects/{}/payment-methods", o.project)).token(&o.admin)).await;
    let deferred = methods.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "延期付款（非标）")
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m["non_standard"].as_bool()))
        .unwrap();
    assert_eq!(deferred.1, Some(true));
    let page_unit = o.unit("304").await;
    let page = o.app.send(get(&format!("/units/{page_unit}")).token(&o.agent)).await;
    assert!(page.text.contains("签约需审批"), "the deal form says which methods wait");
    let fields = [
        ("customer_id", o.customer.as_str()),
        ("payment_method_id", deferred.0.as_str()),
        ("total_price", "1,000,000.00"),
        ("date", "2026-11-30"),
    ];
    let r = o.app.send(form(&format!("/units/{page_unit}/contract"), &fields).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(r.headers["location"].to_str().unwrap().starts_with("/approvals/"), "{:?}", r.headers);
    assert_eq!(o.unit_status(&page_unit).await, "available");

    // A group that asks only when the price is also below list: at list price, signed at once.
    let step = json!({"name": "销售经理审批", "approvers": {"type": "role", "role": "sales_manager"},
                      "condition": {"fact": "below_list_percent", "op": "gt", "value": "0"}});
    let r =
        o.app.send(put("/api/v1/approval-flows/non_standard_contract", json!({"steps": [step]})).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = o.app.send(post("/api/v1/sales/contracts", body).token(&o.agent)).await;
    assert_eq!(
        (r.status, r.json()["subscription_id"].as_str()),
        (StatusCode::CREATED, Some(sid.as_str())),
        "{}",
        r.text
    );
    assert_eq!(o.unit_status(&subscribed).await, "contracted");
}
