//! Reception at the sales office through the real router: a returning visitor
//! found by a phone in any format and received by their own agent; new
//! visitors handed round the day's rotation, a busy agent skipped and the
//! one who took a visitor moved to the end; the visit counted as a follow-up
//! and shown on the agent's workbench as it happens.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

struct Door {
    app: TestApp,
    project: String,
    manager: String,
    /// (id, token) of three agents.
    agents: Vec<(String, String)>,
}

async fn door() -> Door {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, manager) = app.user(&admin, "manager", &["sales_manager"], &[&project]).await;
    let mut agents = Vec::new();
    for name in ["agent_a", "agent_b", "agent_c"] {
        agents.push(app.user(&admin, name, &["sales_agent"], &[&project]).await);
    }
    Door { app, project, manager, agents }
}

impl Door {
    async fn ok(&self, call: Call, token: &str, status: StatusCode) -> Value {
        let r = self.app.send(call.token(token)).await;
        assert_eq!(r.status, status, "{}", r.text);
        r.json()
    }

    async fn set_queue(&self, order: &[usize]) -> Value {
        let ids: Vec<&str> = order.iter().map(|i| self.agents[*i].0.as_str()).collect();
        self.ok(
            put(&format!("/api/v1/projects/{}/reception/queue", self.project), json!({"agent_ids": ids})),
            &self.manager,
            StatusCode::OK,
        )
        .await
    }

    async fn newcomer(&self, name: &str, phone: &str) -> Value {
        self.ok(
            post("/api/v1/reception/visits", json!({"project_id": self.project, "name": name, "phone": phone})),
            &self.manager,
            StatusCode::CREATED,
        )
        .await
    }

    fn agent_of(&self, visit: &Value) -> usize {
        self.agents.iter().position(|(id, _)| visit["agent_id"] == id.as_str()).expect("one of the agents")
    }

    async fn end(&self, visit: &Value) {
        let id = visit["id"].as_str().unwrap();
        self.ok(post(&format!("/api/v1/reception/visits/{id}/end"), json!({})), &self.manager, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn a_returning_visitor_is_found_by_any_phone_format_and_received_by_their_agent() {
    let d = door().await;
    let (agent_a, token_a) = &d.agents[0];
    let customer = d
        .ok(
            post("/api/v1/customers", json!({"name": "王建国", "phone": "13900139000", "project_id": d.project})),
            token_a,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    d.set_queue(&[1, 0]).await;
    // Another agent keeps the door: they find the customer, masked, with their agent.
    let token_b = &d.agents[1].1;
    let lookup = |typed: &str| get(&format!("/api/v1/projects/{}/reception/lookup?q={}", d.project, enc(typed)));
    let found = d.ok(lookup("+86 139-0013-9000"), token_b, StatusCode::OK).await;
    let cards = found["items"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{found}");
    assert_eq!(cards[0]["customer_id"], customer.as_str());
    assert_eq!(cards[0]["owner_id"], agent_a.as_str());
    assert_eq!(cards[0]["owner_name"], "agent_a");
    assert_eq!(cards[0]["last_visit_at"], Value::Null);
    assert_eq!(cards[0]["open_deals"], 0);
    assert_eq!(cards[0]["owner_free"], true);
    assert_ne!(cards[0]["phone"], "13900139000", "masked for another agent");
    // By name, and the owner sees the phone in full.
    let by_name = d.ok(lookup("王建"), token_a, StatusCode::OK).await;
    assert_eq!(by_name["items"][0]["customer_id"], customer.as_str());
    assert!(by_name["items"][0]["phone"].as_str().unwrap().contains("139"), "{by_name}");
    // Part of a number finds nobody rather than everybody.
    assert_eq!(d.ok(lookup("139"), token_b, StatusCode::OK).await["items"], json!([]));
    assert_eq!(d.ok(lookup(""), token_b, StatusCode::OK).await["items"], json!([]));

    let visit = d
        .ok(
            post(
                "/api/v1/reception/visits",
                json!({"project_id": d.project, "customer_id": customer, "note": "看样板间"}),
            ),
            token_b,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!((visit["kind"].as_str(), visit["agent_id"].as_str()), (Some("returning"), Some(agent_a.as_str())));
    assert_eq!(visit["by_rotation"], false);
    // Counted on the customer and the agent: a follow-up of kind visit by agent A.
    let follow_ups = d.ok(get(&format!("/api/v1/customers/{customer}/follow-ups")), token_a, StatusCode::OK).await;
    let visits: Vec<&Value> = follow_ups["items"].as_array().unwrap().iter().filter(|f| f["kind"] == "visit").collect();
    assert_eq!(visits.len(), 1, "{follow_ups}");
    assert_eq!(visits[0]["author_id"], agent_a.as_str());
    // On agent A's workbench, and A is busy in the queue without losing their place.
    let bench = d.ok(get("/api/v1/workbench"), token_a, StatusCode::OK).await;
    assert_eq!(bench["visitors"][0]["id"], visit["id"], "{bench}");
    let queue = d.ok(get(&format!("/api/v1/projects/{}/reception", d.project)), token_b, StatusCode::OK).await;
    let order: Vec<(&str, bool)> = queue["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["user_id"].as_str().unwrap(), a["visit_id"].is_string()))
        .collect();
    assert_eq!(order, [(d.agents[1].0.as_str(), false), (agent_a.as_str(), true)]);
    assert_eq!(queue["visits"][0]["id"], visit["id"]);
    let again = d.ok(lookup("13900139000"), token_b, StatusCode::OK).await;
    assert!(again["items"][0]["last_visit_at"].is_string(), "{again}");
    assert_eq!(again["items"][0]["owner_free"], false);
    // Over: off the workbench, free again; ending twice is a conflict.
    d.end(&visit).await;
    assert_eq!(d.ok(get("/api/v1/workbench"), token_a, StatusCode::OK).await["visitors"], json!([]));
    let r = d
        .app
        .send(
            post(&format!("/api/v1/reception/visits/{}/end", visit["id"].as_str().unwrap()), json!({})).token(token_b),
        )
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CONFLICT, Some("visit_ended")));
    // A new visitor with a phone the project knows is sent to the lookup.
    let r = d
        .app
        .send(
            post("/api/v1/reception/visits", json!({"project_id": d.project, "name": "王", "phone": "139 0013 9000"}))
                .token(token_b),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["phone"]);
}

fn enc(text: &str) -> String {
    form_encode(&[("q", text)]).trim_start_matches("q=").to_owned()
}

#[tokio::test]
async fn new_visitors_go_round_the_rotation_skipping_busy_agents() {
    let d = door().await;
    // Nobody on duty yet.
    let r = d
        .app
        .send(
            post("/api/v1/reception/visits", json!({"project_id": d.project, "name": "赵一", "phone": "13700000001"}))
                .token(&d.manager),
        )
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CONFLICT, Some("no_agent_on_duty")));
    let queue = d.set_queue(&[0, 1, 2]).await;
    assert_eq!(queue["next_agent_id"], d.agents[0].0.as_str());

    let first = d.newcomer("赵一", "137-0000-0001").await;
    let second = d.newcomer("钱二", "13700000002").await;
    assert_eq!((d.agent_of(&first), d.agent_of(&second)), (0, 1));
    assert_eq!((first["kind"].as_str(), first["by_rotation"].as_bool()), (Some("new"), Some(true)));
    // The new customer belongs to the agent who received them.
    let customer = d
        .ok(
            get(&format!("/api/v1/customers/{}", first["customer_id"].as_str().unwrap())),
            &d.agents[0].1,
            StatusCode::OK,
        )
        .await;
    assert_eq!(customer["owner_id"], d.agents[0].0.as_str());
    assert_eq!(customer["phone"], "13700000001");

    // A's visitor leaves: A is free, but behind C now. C's own customer comes back: C is busy.
    d.end(&first).await;
    let token_c = &d.agents[2].1;
    let own = d
        .ok(
            post("/api/v1/customers", json!({"name": "孙三", "phone": "13700000003", "project_id": d.project})),
            token_c,
            StatusCode::CREATED,
        )
        .await;
    let back = d
        .ok(
            post("/api/v1/reception/visits", json!({"project_id": d.project, "customer_id": own["id"]})),
            &d.manager,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(d.agent_of(&back), 2);
    // The next new visitor skips busy C (first in the queue) and goes to A.
    let third = d.newcomer("李四", "13700000004").await;
    assert_eq!(d.agent_of(&third), 0);
    // Everybody busy: the visitor waits.
    let r = d
        .app
        .send(
            post("/api/v1/reception/visits", json!({"project_id": d.project, "name": "周五", "phone": "13700000005"}))
                .token(&d.manager),
        )
        .await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CONFLICT, Some("no_agent_free")), "{}", r.text);
    // Nothing was half-written: the refused visitor is not a customer.
    let found = d
        .ok(get(&format!("/api/v1/projects/{}/reception/lookup?q=13700000005", d.project)), &d.manager, StatusCode::OK)
        .await;
    assert_eq!(found["items"], json!([]));
    let queue = d.ok(get(&format!("/api/v1/projects/{}/reception", d.project)), &d.manager, StatusCode::OK).await;
    let visitors: Vec<i64> =
        queue["agents"].as_array().unwrap().iter().map(|a| a["visitors"].as_i64().unwrap()).collect();
    // C (1: their own customer), B (1), A (2), in the queue's order.
    assert_eq!(visitors, [1, 1, 2]);
    assert_eq!(queue["next_agent_id"], Value::Null);

    // The manager reorders: kept busy states; refused agents are named.
    let reordered = d.set_queue(&[1, 0]).await;
    let kept: Vec<bool> = reordered["agents"].as_array().unwrap().iter().map(|a| a["visit_id"].is_string()).collect();
    assert_eq!(kept, [true, true]);
    let r = d
        .app
        .send(
            put(
                &format!("/api/v1/projects/{}/reception/queue", d.project),
                json!({"agent_ids": [d.agents[0].0, "nobody", d.agents[0].0]}),
            )
            .token(&d.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["agent_ids[1]", "agent_ids[2]"]);
    // Agents receive, but only managers set the rotation.
    let r = d
        .app
        .send(
            put(&format!("/api/v1/projects/{}/reception/queue", d.project), json!({"agent_ids": []}))
                .token(&d.agents[0].1),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_doors_at_once_never_give_one_agent_two_new_visitors() {
    let d = door().await;
    d.set_queue(&[0, 1]).await;
    let one = d.app.send(
        post("/api/v1/reception/visits", json!({"project_id": d.project, "name": "甲", "phone": "13600000001"}))
            .token(&d.manager),
    );
    let two = d.app.send(
        post("/api/v1/reception/visits", json!({"project_id": d.project, "name": "乙", "phone": "13600000002"}))
            .token(&d.agents[2].1),
    );
    let (one, two) = tokio::join!(one, two);
    assert_eq!((one.status, two.status), (StatusCode::CREATED, StatusCode::CREATED), "{} {}", one.text, two.text);
    assert_ne!(one.json()["agent_id"], two.json()["agent_id"]);
}

#[tokio::test]
async fn a_visitor_reaches_the_agents_workbench_live() {
    use tokio_stream::StreamExt;
    use tower::ServiceExt;
    let d = door().await;
    d.set_queue(&[0]).await;
    if d.app.services.store.backend() == loupan_store::DbBackend::Postgres {
        loupan_service::platform::live::start(&d.app.services);
        // The listener needs a moment to LISTEN.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let stream = |token: &str| {
        axum::http::Request::get("/api/v1/reception/events?mine=true")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let mine = d.app.router.clone().oneshot(stream(&d.agents[0].1)).await.unwrap();
    assert_eq!(mine.headers()["content-type"], "text/event-stream");
    let others = d.app.router.clone().oneshot(stream(&d.agents[1].1)).await.unwrap();
    let mut mine = mine.into_body().into_data_stream();
    let mut others = others.into_body().into_data_stream();
    let visit = d.newcomer("吴六", "13500000006").await;
    let mut received = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !received.contains("event: visit") {
        assert!(std::time::Instant::now() < deadline, "no event arrived: {received}");
        if let Ok(Some(Ok(frame))) = tokio::time::timeout(std::time::Duration::from_millis(500), mine.next()).await {
            received.push_str(&String::from_utf8_lossy(&frame));
        }
    }
    let data = received.lines().find_map(|l| l.strip_prefix("data: ")).expect("a data line");
    let change: Value = serde_json::from_str(data).unwrap();
    assert_eq!((change["visit_id"].clone(), change["event"].as_str()), (visit["id"].clone(), Some("arrived")));
    // Another agent's own stream hears nothing of it.
    let heard = tokio::time::timeout(std::time::Duration::from_millis(300), others.next()).await;
    assert!(
        !matches!(&heard, Ok(Some(Ok(frame))) if String::from_utf8_lossy(frame).contains("event: visit")),
        "{heard:?}"
    );
}

#[tokio::test]
async fn the_reception_page_finds_registers_and_hands_over() {
    let d = door().await;
    d.set_queue(&[0, 1]).await;
    let cookie = d.app.login("manager", "Pw-manager-0123456789").await;
    let page = d.app.send(get(&format!("/reception?project_id={}&q=13800000009", d.project)).token(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("id=\"new-visitor\""), "nobody found: the new visitor's form");
    assert!(page.text.contains("value=\"13800000009\""), "the phone typed is carried over");
    let html = d.app.send(get("/reception").token(&cookie)).await;
    assert!(html.text.contains("agent_a"), "the queue is shown");
    // The agent's workbench shows the section that follows visits live.
    let bench = d.app.send(get("/").token(&d.agents[0].1)).await;
    assert!(bench.text.contains("/api/v1/reception/events?mine=true"), "{}", bench.text);
    // A cashier does not keep the door.
    let admin = d.app.admin().await;
    let (_, cashier) = d.app.user(&admin, "cashier", &["cashier"], &[&d.project]).await;
    assert_eq!(d.app.send(get("/reception").token(&cashier)).await.status, StatusCode::FORBIDDEN);
}
