//! Round trips per request (#23): the statements the hot paths send, all of
//! them, authentication included, held to a budget. A page that starts
//! asking the database once per row, or an extra look-up on every request,
//! fails here before it shows in a benchmark.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::json;

/// The reply to `call` and the statements it cost.
async fn counted(app: &TestApp, call: Call) -> (Reply, u64) {
    let before = app.services.store.statements_sent();
    let reply = app.send(call).await;
    (reply, app.services.store.statements_sent() - before)
}

/// With actors kept (as `loupan serve` runs on SQLite), a known token costs no statement.
#[tokio::test]
async fn the_hot_paths_keep_to_their_budget_of_statements() {
    hot_paths_within_budget(true).await;
}

/// Without the cache, authenticating is one statement per request.
#[tokio::test]
async fn the_hot_paths_keep_to_their_budget_of_statements_without_kept_actors() {
    hot_paths_within_budget(false).await;
}

async fn hot_paths_within_budget(keep_actors: bool) {
    let app = TestApp::with_config(loupan_service::ServiceConfig { keep_actors, ..Default::default() }).await;
    let postgres = std::env::var("LOUPAN_TEST_DATABASE_URL").is_ok();
    // PostgreSQL keeps no actors (see `platform::actors`).
    let kept = keep_actors && !postgres;
    assert_eq!(app.services.actors.in_use(), kept);
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let building = app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 1..=6 {
        let unit = json!({"floor": n, "number": format!("{n}01"), "layout": "3室2厅", "gross_area": "89.37",
                          "inner_area": "77.37", "list_price": "1000000.00"});
        let r = app.send(post(&format!("/api/v1/buildings/{building}/units"), unit).token(&admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let mut ids = Vec::new();
    for (name, phone) in [("李雷", "13800138001"), ("韩梅梅", "13800138002"), ("李娜", "13800138003")] {
        let body = json!({"name": name, "phone": phone, "project_id": project});
        let r = app.send(post("/api/v1/customers", body).token(&agent)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    // (what, the request, its budget: authentication is one of them unless the
    // token's actor is kept, as it is after the agent's requests above)
    let authentication = if kept { 0 } else { 1 };
    let budgets = [
        // Authenticate (session, user, roles and projects in one statement);
        // the profile reads the user, roles and projects itself.
        ("who am I", get("/api/v1/auth/me"), 4),
        // Authenticate; the page (its ids, from the main phones and the other
        // phones, their rows and the owners' names in one statement).
        ("W1 lookup by phone", get("/api/v1/customers?q=138-0013-8002"), 2),
        ("W1 search by name", get("/api/v1/customers?q=li"), 2),
        // Authenticate; the row with its owner's name and other phones.
        ("W1 read by id", get(&format!("/api/v1/customers/{}", ids[0])), 2),
        ("销控图", get(&format!("/api/v1/buildings/{building}/chart")), 3),
        // Approvals, alerts, notifications, cost, the agent's visitors at the
        // door and the service processes' steps that are theirs.
        ("workbench", get("/api/v1/workbench"), 9),
        // Authenticate; the project; the page with its owners' names; last
        // visits, subscriptions and contracts, today's queue.
        ("reception lookup", get(&format!("/api/v1/projects/{project}/reception/lookup?q=138-0013-8002")), 7),
    ];
    let mut over = Vec::new();
    for (what, call, budget) in budgets {
        let budget = budget - 1 + authentication;
        let (reply, statements) = counted(&app, call.token(&agent)).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text);
        println!("{what}: {statements} statements (budget {budget})");
        if statements > budget {
            over.push(format!("{what}: {statements} statements, budget {budget}"));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}
