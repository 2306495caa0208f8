//! Story tests of the foundation through the real router: sign-in, roles and
//! data scope, errors, sessions across instances, the audit trail, idempotency,
//! CSRF, pages and the API description. Each test has a fresh database.

use crate::support::*;
use axum::http::StatusCode;
use loupan_store::Connection;
use serde_json::json;

#[tokio::test]
async fn anonymous_callers_get_401_problems_in_their_language() {
    let app = TestApp::new().await;
    for path in
        ["/api/v1/admin/users", "/api/v1/projects", "/api/v1/units", "/api/v1/customers", "/api/v1/nothing/here"]
    {
        let r = app.send(get(path)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.content_type(), "application/problem+json", "{path}");
        assert_eq!(r.json()["title"], "请先登录。", "zh-CN is the default");
    }
    let r = app.send(get("/api/v1/projects").lang("en-GB,en;q=0.9")).await;
    assert_eq!(r.json()["title"], "Please sign in first.");
    let r = app.send(get("/api/v1/projects").token("made-up-token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["code"], "session_expired");
    for path in ["/healthz", "/readyz"] {
        assert_eq!(app.send(get(path)).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_then_throttled() {
    let app = TestApp::new().await;
    let wrong = || post("/api/v1/auth/login", json!({"username": "admin", "password": "not-the-password"}));
    for _ in 0..5 {
        let r = app.send(wrong()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["code"], "invalid_credentials");
    }
    let r = app.send(wrong()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_some());
    // Even the right password waits out the lockout: guessing gains nothing.
    let r = app.send(post("/api/v1/auth/login", json!({"username": "admin", "password": ADMIN_PASSWORD}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another instance sees the same count (it lives in the database).
    let (second, _) = app.second_instance().await;
    assert_eq!(send_to(&second, wrong()).await.status, StatusCode::TOO_MANY_REQUESTS);
    // An unknown user is told the same as a wrong password.
    let r = app.send(post("/api/v1/auth/login", json!({"username": "nobody", "password": "whatever-123"}))).await;
    assert_eq!(r.json()["code"], "invalid_credentials");
}

#[tokio::test]
async fn roles_and_project_membership_decide_what_a_user_sees() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let mine = app.project(&admin, "翠湖名苑").await;
    let other = app.project(&admin, "金色港湾").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&mine]).await;
    let (_, boss) = app.user(&admin, "boss", &["executive"], &[]).await;

    // Agents may not administer users.
    let r = app.send(get("/api/v1/admin/users").token(&agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.content_type(), "application/problem+json");
    let r = app.send(post("/api/v1/projects", json!({"name": "x", "city": "y"})).token(&agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Members see their projects only; another project's existence is not revealed.
    let listed = app.send(get("/api/v1/projects").token(&agent)).await.json();
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![mine.as_str()]);
    assert_eq!(app.send(get(&format!("/api/v1/projects/{other}")).token(&agent)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send(get(&format!("/api/v1/projects/{mine}")).token(&agent)).await.status, StatusCode::OK);

    // Executives see every project.
    let listed = app.send(get("/api/v1/projects").token(&boss)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // Units of a project the agent does not belong to stay invisible to searches.
    let b = app
        .send(post(&format!("/api/v1/projects/{other}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await
        .json();
    let unit = json!({"floor": 3, "number": "301", "layout": "3室2厅", "gross_area": "89.37", "inner_area": "77.37", "list_price": "1340550.00"});
    let r = app.send(post(&format!("/api/v1/buildings/{}/units", b["id"].as_str().unwrap()), unit).token(&admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let found = app.send(get("/api/v1/units").token(&agent)).await.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 0);
    let found = app.send(get("/api/v1/units").token(&boss)).await.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_names_every_field_and_never_answers_5xx() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let r =
        app.send(post("/api/v1/admin/users", json!({"password": "short", "roles": ["wizard"]})).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["username", "password", "roles"]);
    let en = app
        .send(
            post("/api/v1/admin/users", json!({"username": "Bad Name!", "password": "long-enough-pw"}))
                .token(&admin)
                .lang("en"),
        )
        .await;
    let err = &en.json()["errors"][0];
    assert_eq!((err["field"].as_str(), err["code"].as_str()), (Some("username"), Some("invalid_username")));
    assert_eq!(err["message"], "Use 3-32 lowercase letters, digits and . _ -");

    let r = app.send(post("/api/v1/projects", json!({})).token(&admin).raw(b"{not json")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], "malformed_json");
    let r = app.send(post("/api/v1/projects", json!({"name": 5, "city": "苏州"})).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["name"]);
    let r =
        app.send(post("/api/v1/projects", json!({"name": "x".repeat(200_000), "city": "苏州"})).token(&admin)).await;
    assert!(r.status.is_client_error(), "{}", r.status);

    let p = app.project(&admin, "翠湖名苑").await;
    let b =
        app.send(post(&format!("/api/v1/projects/{p}/buildings"), json!({"name": "1号楼"})).token(&admin)).await.json();
    let units = format!("/api/v1/buildings/{}/units", b["id"].as_str().unwrap());
    let r = app
        .send(post(&units, json!({"floor": 0, "number": "", "layout": "3室", "gross_area": "89.375", "inner_area": "95.00", "list_price": "-1.00"})).token(&admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["floor", "number", "gross_area", "list_price"]);
    let r = app
        .send(post(&units, json!({"floor": 2, "number": "201", "layout": "3室", "gross_area": "80.00", "inner_area": "95.00", "list_price": "1.00", "status": "contracted"})).token(&admin))
        .await;
    assert_eq!(r.error_fields(), vec!["inner_area", "status"]);

    for path in [
        "/api/v1/units?min_floor=abc",
        "/api/v1/units?min_area=ten",
        "/api/v1/units?status=sold",
        "/api/v1/units?cursor=zz",
        "/api/v1/projects/%00%ff",
    ] {
        let r = app.send(get(path).token(&admin)).await;
        assert!(r.status.is_client_error(), "{path} -> {}", r.status);
        assert_eq!(r.content_type(), "application/problem+json", "{path}");
    }
    let r = app.send(get("/api/v1/projects").token(&admin).header("x-http-method-override", "DELETE")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.send(patch("/api/v1/projects", json!({})).token(&admin)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.content_type(), "application/problem+json");
}

#[tokio::test]
async fn unit_search_combines_filters_and_pages_with_a_cursor() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let p = app.project(&admin, "翠湖名苑").await;
    let b =
        app.send(post(&format!("/api/v1/projects/{p}/buildings"), json!({"name": "1号楼"})).token(&admin)).await.json();
    let b = b["id"].as_str().unwrap().to_owned();
    for floor in 1..=4 {
        for (n, area, price) in [(1, "89.37", "1340550.00"), (2, "72.10", "1009400.00")] {
            let body = json!({"floor": floor, "number": format!("{floor}0{n}"), "layout": "3室2厅", "gross_area": area,
                              "inner_area": "60.00", "list_price": price});
            assert_eq!(
                app.send(post(&format!("/api/v1/buildings/{b}/units"), body).token(&admin)).await.status,
                StatusCode::CREATED
            );
        }
    }
    let dup = json!({"floor": 1, "number": "101", "layout": "x", "gross_area": "1.00", "inner_area": "1.00", "list_price": "1.00"});
    let r = app.send(post(&format!("/api/v1/buildings/{b}/units"), dup).token(&admin)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["number".to_owned()]));

    let count = |q: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.send(get(&format!("/api/v1/units?{q}")).token(&admin)).await.json()["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count(format!("project_id={p}&min_area=80")).await, 4);
    assert_eq!(count(format!("building_id={b}&min_floor=2&max_floor=3")).await, 4);
    assert_eq!(count("max_total_price=1009400.00&status=available".into()).await, 4);
    assert_eq!(count("max_area=72.09".into()).await, 0);

    let first = app.send(get("/api/v1/units?limit=5").token(&admin)).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app.send(get(&format!("/api/v1/units?limit=5&cursor={cursor}")).token(&admin)).await.json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(rest["items"][0]["gross_area"].as_str().unwrap().split('.').nth(1).unwrap().len(), 2);
}

#[tokio::test]
async fn stale_versions_are_refused_instead_of_losing_an_update() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let (id, _) = app.user(&admin, "agent", &["sales_agent"], &[]).await;
    let user = app.send(get(&format!("/api/v1/admin/users/{id}")).token(&admin)).await.json();
    let v = user["version"].as_i64().unwrap();
    let edit = |name: &str| json!({"version": v, "display_name": name, "roles": ["sales_agent"]});
    let r = app.send(patch(&format!("/api/v1/admin/users/{id}"), edit("王芳")).token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["version"].as_i64().unwrap(), v + 1);
    let r = app.send(patch(&format!("/api/v1/admin/users/{id}"), edit("李强")).token(&admin)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["code"], "stale_version");
    let now = app.send(get(&format!("/api/v1/admin/users/{id}")).token(&admin)).await.json();
    assert_eq!(now["display_name"], "王芳");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let (id, agent) = app.user(&admin, "agent", &["sales_agent"], &[]).await;
    // Two instances on one database, each keeping the actors of the tokens it
    // served (on SQLite, as `loupan serve` runs) and having served the agent just before.
    let (second, second_services) = app.second_instance().await;
    keeping_actors(&app.services);
    keeping_actors(&second_services);
    assert_eq!(app.send(get("/api/v1/auth/me").token(&agent)).await.status, StatusCode::OK);
    assert_eq!(send_to(&second, get("/api/v1/auth/me").token(&agent)).await.status, StatusCode::OK);
    // On SQLite the second instance now answers the agent without
    // authenticating again: only the profile's reads of user, roles and projects.
    let before = second_services.store.statements_sent();
    assert_eq!(send_to(&second, get("/api/v1/auth/me").token(&agent)).await.status, StatusCode::OK);
    let authentication = if second_services.actors.in_use() { 0 } else { 1 };
    assert_eq!(second_services.store.statements_sent() - before, 3 + authentication);
    let r = app.send(post(&format!("/api/v1/admin/users/{id}/disable"), json!({})).token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Refused at the very next request on either instance.
    assert_eq!(send_to(&second, get("/api/v1/customers").token(&agent)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(get("/api/v1/auth/me").token(&agent)).await.status, StatusCode::UNAUTHORIZED);
    let r = app.send(post("/api/v1/auth/login", json!({"username": "agent", "password": "Pw-agent-0123456789"}))).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("account_disabled")));
    // An admin cannot lock themselves out.
    let me = app.send(get("/api/v1/auth/me").token(&admin)).await.json();
    let r = app
        .send(post(&format!("/api/v1/admin/users/{}/disable", me["id"].as_str().unwrap()), json!({})).token(&admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn sessions_survive_a_restart_and_work_on_a_second_instance() {
    let app = TestApp::new().await;
    let token = app.admin().await;
    let (second, second_services) = app.second_instance().await;
    keeping_actors(&app.services);
    keeping_actors(&second_services);
    assert_eq!(app.send(get("/api/v1/auth/me").token(&token)).await.status, StatusCode::OK);
    let r = send_to(&second, get("/api/v1/auth/me").token(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["username"], "admin");
    // Logging out on one instance ends the session everywhere.
    assert_eq!(
        send_to(&second, post("/api/v1/auth/logout", json!({})).token(&token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.send(get("/api/v1/auth/me").token(&token)).await.status, StatusCode::UNAUTHORIZED);
}

/// Roles, projects and passwords changed on one instance hold at the next
/// request on another, although both keep the actors of the tokens they serve.
#[tokio::test]
async fn changes_to_a_user_hold_at_their_next_request_on_every_instance() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (id, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (second, second_services) = app.second_instance().await;
    keeping_actors(&app.services);
    keeping_actors(&second_services);
    let users = || get("/api/v1/admin/users").token(&agent);
    let units = || get(&format!("/api/v1/projects/{project}/buildings")).token(&agent);
    assert_eq!(send_to(&second, users()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send_to(&second, units()).await.status, StatusCode::OK);
    let version = |r: Reply| r.json()["version"].as_i64().unwrap();
    let v = version(app.send(get(&format!("/api/v1/admin/users/{id}")).token(&admin)).await);
    let edit = |version: i64, role: &str, projects: Vec<&String>| {
        patch(
            &format!("/api/v1/admin/users/{id}"),
            json!({"version": version, "display_name": "李强", "roles": [role], "project_ids": projects}),
        )
        .token(&admin)
    };
    // Out of the project.
    let r = app.send(edit(v, "sales_agent", vec![])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(send_to(&second, units()).await.status, StatusCode::OK);
    // Back in it, as an administrator.
    let r = app.send(edit(v + 1, "admin", vec![&project])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(send_to(&second, users()).await.status, StatusCode::OK);
    assert_eq!(send_to(&second, units()).await.status, StatusCode::OK);
    // And an agent again.
    let r = app.send(edit(v + 2, "sales_agent", vec![&project])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(send_to(&second, users()).await.status, StatusCode::FORBIDDEN);
    // A new password ends the old sessions everywhere.
    let r = app
        .send(
            post(&format!("/api/v1/admin/users/{id}/password"), json!({"password": "Pw-agent-new-0123456789"}))
                .token(&admin),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(send_to(&second, units()).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(units()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn idle_browser_sessions_expire() {
    let config =
        loupan_service::ServiceConfig { idle_timeout: std::time::Duration::from_secs(1), ..Default::default() };
    let app = TestApp::with_config(config).await;
    let session = browser_login(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = app.send(get("/").header("cookie", &format!("loupan_session={}", session.0))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers["location"].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn every_write_leaves_a_chained_audit_row_and_tampering_is_detected() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let p = app.project(&admin, "翠湖名苑").await;
    let (id, _) = app.user(&admin, "agent", &["sales_agent"], &[&p]).await;
    let edit = json!({"version": 1, "display_name": "李强", "roles": ["sales_manager"], "project_ids": [p]});
    assert_eq!(app.send(patch(&format!("/api/v1/admin/users/{id}"), edit).token(&admin)).await.status, StatusCode::OK);

    let trail = app.send(get(&format!("/api/v1/admin/audit?record_id={id}")).token(&admin)).await.json();
    let rows = trail["items"].as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["user.update", "user.login", "user.create"]);
    let update = &rows[0];
    assert_eq!(update["before"]["display_name"], "agent");
    assert_eq!(update["after"]["display_name"], "李强");
    assert_eq!(update["after"]["roles"], json!(["sales_manager"]));
    assert_eq!(update["actor_name"], "admin");
    assert!(!trail.to_string().contains("argon2"), "password hashes never reach the trail");
    let project_rows =
        app.send(get(&format!("/api/v1/admin/audit?record_type=project&record_id={p}")).token(&admin)).await.json();
    assert_eq!(project_rows["items"][0]["after"]["name"], "翠湖名苑");

    let agent = app.login("agent", "Pw-agent-0123456789").await;
    assert_eq!(app.send(get("/api/v1/admin/audit").token(&agent)).await.status, StatusCode::FORBIDDEN);

    let ok = app.send(get("/api/v1/admin/audit/verify").token(&admin)).await.json();
    assert_eq!(ok["intact"], true);
    let checked = ok["rows_checked"].as_u64().unwrap();
    assert!(checked >= 6, "{checked}");

    // The database refuses edits to the trail…
    let refused =
        app.services.store.conn().execute_unprepared("UPDATE audit_log SET actor_name = 'x' WHERE seq = 3").await;
    assert!(refused.is_err(), "the audit trail accepted an UPDATE");
    assert!(app.services.store.conn().execute_unprepared("DELETE FROM audit_log WHERE seq = 3").await.is_err());
    // …and someone who removes that guard first is still caught by the chain.
    loupan_store::audit::drop_append_only_guard(app.services.store.conn()).await.unwrap();
    app.services
        .store
        .conn()
        .execute_unprepared("UPDATE audit_log SET after_json = '{\"display_name\":\"someone else\"}' WHERE seq = 3")
        .await
        .unwrap();
    let broken = app.send(get("/api/v1/admin/audit/verify").token(&admin)).await.json();
    assert_eq!(broken["intact"], false);
    assert_eq!(broken["broken_at_seq"], 3);
    assert_eq!(broken["reason"], "content_altered");

    // Or deletes one.
    app.services.store.conn().execute_unprepared("DELETE FROM audit_log WHERE seq = 3").await.unwrap();
    let broken = app.send(get("/api/v1/admin/audit/verify").token(&admin)).await.json();
    assert_eq!((broken["broken_at_seq"].as_i64(), broken["reason"].as_str()), (Some(3), Some("missing_row")));
}

#[tokio::test]
async fn an_idempotency_key_does_the_work_once() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let create = |name: &str| {
        post("/api/v1/projects", json!({"name": name, "city": "苏州"})).token(&admin).header("idempotency-key", "k-1")
    };
    let first = app.send(create("翠湖名苑")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = app.send(create("翠湖名苑")).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let listed = app.send(get("/api/v1/projects").token(&admin)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let other = app.send(create("金色港湾")).await;
    assert_eq!((other.status, other.json()["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));
    // A failed request frees its key for a corrected retry.
    let bad = post("/api/v1/projects", json!({"name": ""})).token(&admin).header("idempotency-key", "k-2");
    assert_eq!(app.send(bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = post("/api/v1/projects", json!({"name": "金色港湾", "city": "无锡"}))
        .token(&admin)
        .header("idempotency-key", "k-2");
    assert_eq!(app.send(good).await.status, StatusCode::CREATED);
    // A claim left by a request that died is freed after a while, not stuck forever.
    let me = app.send(get("/api/v1/auth/me").token(&admin)).await.json();
    let stale = loupan_store::now() - chrono::Duration::minutes(10);
    loupan_store::idempotency::claim_key(app.services.store.conn(), me["id"].as_str().unwrap(), "k-3", "other", stale)
        .await
        .unwrap();
    let retry = post("/api/v1/projects", json!({"name": "星河湾", "city": "无锡"}))
        .token(&admin)
        .header("idempotency-key", "k-3");
    assert_eq!(app.send(retry).await.status, StatusCode::CREATED);
    // A fresh claim still in progress is not taken over.
    loupan_store::idempotency::claim_key(
        app.services.store.conn(),
        me["id"].as_str().unwrap(),
        "k-4",
        "other",
        loupan_store::now(),
    )
    .await
    .unwrap();
    let busy = post("/api/v1/projects", json!({"name": "御景园", "city": "无锡"}))
        .token(&admin)
        .header("idempotency-key", "k-4");
    assert_eq!(app.send(busy).await.status, StatusCode::CONFLICT);
}

/// Signs in through the login form as a browser does; returns (session, csrf).
async fn browser_login(app: &TestApp) -> (String, String) {
    let page = app.send(get("/login")).await;
    assert_eq!(page.status, StatusCode::OK);
    let login_csrf = page.cookie("loupan_login_csrf").unwrap();
    assert!(page.text.contains(&login_csrf), "the form carries the token");
    // Without the matching token, the form is refused.
    let forged = form("/login", &[("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf_token", "forged")]);
    let r = app.send(forged.header("cookie", &format!("loupan_login_csrf={login_csrf}"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(
            form(
                "/login",
                &[
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("csrf_token", &login_csrf),
                    ("next", "/admin/users"),
                ],
            )
            .header("cookie", &format!("loupan_login_csrf={login_csrf}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers["location"], "/admin/users");
    let set_cookie =
        r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join("\n");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let session = r.cookie("loupan_session").unwrap();
    let home = app.send(get("/").header("cookie", &format!("loupan_session={session}"))).await;
    let csrf = home.text.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (session, csrf)
}

#[tokio::test]
async fn pages_need_a_session_and_forms_need_their_csrf_token() {
    let app = TestApp::new().await;
    let r = app.send(get("/admin/users")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login?next=%2Fadmin%2Fusers");

    let (session, csrf) = browser_login(&app).await;
    let cookie = format!("loupan_session={session}");
    let home = app.send(get("/").header("cookie", &cookie)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.text.contains("工作台") && home.text.contains("用户管理"),
        "Chinese by default, admin sees user admin"
    );

    // A form without the session's token changes nothing.
    let fields = [
        ("username", "wangfang"),
        ("display_name", "王芳"),
        ("password", "Wang-fang-12345"),
        ("roles", "sales_manager"),
    ];
    let r = app.send(form("/admin/users", &fields).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("页面已过期"), "{}", r.text);
    let mut with_token = fields.to_vec();
    with_token.push(("csrf_token", &csrf));
    let r = app.send(form("/admin/users", &with_token).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let roles = app.send(get("/admin/roles").header("cookie", &cookie)).await;
    assert!(roles.text.contains("置业顾问") && roles.text.contains("认购与签约"), "the role table is shown");
    let list = app.send(get("/admin/users").header("cookie", &cookie)).await;
    assert!(list.text.contains("王芳") && list.text.contains("销售经理"), "{}", list.text);

    // The same session used by a script must send the token as a header.
    let r = app.send(post("/api/v1/projects", json!({"name": "x", "city": "y"})).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(
            post("/api/v1/projects", json!({"name": "x", "city": "y"}))
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Form errors are shown on the form, in the user's language.
    let bad = [("username", "X"), ("password", "short"), ("csrf_token", csrf.as_str())];
    let r = app.send(form("/admin/users", &bad).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("密码至少 10 个字符"), "{}", r.text);

    // Switching to English is remembered on the account.
    let r = app
        .send(
            form("/lang", &[("lang", "en"), ("back", "/admin/users"), ("csrf_token", &csrf)]).header("cookie", &cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = app.send(get("/").header("cookie", &cookie)).await;
    assert!(home.text.contains("Workbench") && home.text.contains("Users"), "{}", home.text);

    // A sales agent's navigation has no administration.
    let r = app.send(form("/logout", &[("csrf_token", &csrf)]).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(get("/").header("cookie", &cookie)).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_agents_navigation_shows_only_their_modules() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.user(&admin, "agent", &["sales_agent"], &[]).await;
    let page = app.send(get("/login")).await;
    let login_csrf = page.cookie("loupan_login_csrf").unwrap();
    let r = app
        .send(
            form("/login", &[("username", "agent"), ("password", "Pw-agent-0123456789"), ("csrf_token", &login_csrf)])
                .header("cookie", &format!("loupan_login_csrf={login_csrf}")),
        )
        .await;
    let cookie = format!("loupan_session={}", r.cookie("loupan_session").unwrap());
    let home = app.send(get("/").header("cookie", &cookie)).await;
    assert!(home.text.contains("项目房源"));
    assert!(!home.text.contains("用户管理") && !home.text.contains("审计日志"));
    let r = app.send(get("/admin/users").header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("您没有执行此操作的权限"));
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::new().await;
    let doc = app.send(get("/api/v1/openapi.json")).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{id}",
        "/api/v1/admin/audit",
        "/api/v1/projects",
        "/api/v1/projects/{id}/buildings",
        "/api/v1/buildings/{id}/units",
        "/api/v1/units",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(
        doc["paths"]["/api/v1/units"]["get"]["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "min_area")
    );
}

#[tokio::test]
async fn metrics_count_requests_per_route() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.send(get("/api/v1/projects").token(&admin)).await;
    let p = app.project(&admin, "翠湖名苑").await;
    app.send(get(&format!("/api/v1/projects/{p}")).token(&admin)).await;
    let text = app.send(get("/metrics")).await.text;
    assert!(
        text.contains(r#"loupan_http_requests_total{method="GET",route="/api/v1/projects",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/projects/{id}""#), "route templates, not raw ids");
    assert!(text.contains("loupan_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn sqlite_and_postgresql_end_at_the_same_schema() {
    let app = TestApp::new().await;
    let schema = app.services.store.describe_schema().await.unwrap().join("\n") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../loupan-store/schema.snapshot");
    if std::env::var("LOUPAN_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(path, &schema).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    // The same snapshot is checked on both databases, so they match each other.
    assert_eq!(
        schema, expected,
        "schema differs from {path}; run with LOUPAN_UPDATE_SNAPSHOTS=1 after a new migration"
    );
}

#[tokio::test]
async fn a_server_copies_the_write_ahead_log_into_the_database_file_beside_the_requests() {
    let app = TestApp::new().await;
    app.admin().await;
    app.services.store.spawn_wal_checkpoints();
    let Some(path) = app.database_url.strip_prefix("sqlite://") else {
        return; // PostgreSQL keeps its own log: nothing is spawned.
    };
    // Below SQLite's own threshold nothing else copies the log: the
    // administrator and the session are still only in `-wal`.
    let content = || std::fs::read(path).unwrap_or_default();
    let before = content();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while content() == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(content() != before, "the database file stayed as it was ({} bytes)", before.len());
}

/// The bundled SQLite gives each connection a page cache of its own: built
/// with `SQLITE_ENABLE_MEMORY_MANAGEMENT` (libsqlite3-sys's default, undone
/// in `.cargo/config.toml`), the connections share one, and a large report
/// ran three times slower on some of the pool's connections than on others.
/// Nor does it keep memory statistics, which cost a global mutex per allocation.
#[tokio::test]
async fn sqlite_keeps_a_page_cache_per_connection() {
    let app = TestApp::new().await;
    if !app.database_url.starts_with("sqlite:") {
        return; // PostgreSQL: a server of its own.
    }
    let options = loupan_store::raw::query_column(
        app.services.store.conn(),
        "SELECT compile_options FROM pragma_compile_options",
        Vec::new(),
        "compile_options",
    )
    .await
    .unwrap();
    assert!(options.iter().any(|o| o == "ENABLE_STAT4"), "libsqlite3-sys's options are listed: {options:?}");
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "one page cache shared: {options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "a global mutex on every allocation: {options:?}");
    assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "every look-up prepared again for its value: {options:?}");
}

/// SQLite has one writer at a time; the others wait their turn first come,
/// first served, instead of sleeping in its busy handler and waking in any
/// order; reads go on beside the writer.
#[tokio::test]
async fn writers_take_their_turns_in_the_order_they_came() {
    let app = TestApp::new().await;
    if !app.database_url.starts_with("sqlite:") {
        return; // PostgreSQL's writers lock rows, not the database: no queue.
    }
    let store = app.services.store.clone();
    let first = store.begin_write().await.unwrap();
    let served = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for arrival in 0..8 {
        let (store, served) = (store.clone(), served.clone());
        writers.push(tokio::spawn(async move {
            let tx = store.begin_write().await.unwrap();
            served.lock().unwrap().push(arrival);
            tx.execute_unprepared("UPDATE settings SET key = key WHERE 1 = 0").await.unwrap();
            tx.commit().await.unwrap();
        }));
        // Each is waiting before the next arrives.
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    // A read is answered while the writer holds the database.
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), store.conn().execute_unprepared("SELECT 1"));
    assert!(read.await.is_ok_and(|r| r.is_ok()), "a read waited for the writer");
    assert!(served.lock().unwrap().is_empty(), "a writer was let in beside the first");
    first.commit().await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(*served.lock().unwrap(), (0..8).collect::<Vec<_>>());
}

/// Writers that queue behind each other share one COMMIT, and a writer whose
/// work fails takes back only its own writes: the others' survive, and each
/// writer is answered only once its writes are durable.
#[tokio::test]
async fn queued_writers_share_a_commit_and_one_that_fails_takes_back_only_its_own() {
    let app = TestApp::new().await;
    if !app.database_url.starts_with("sqlite:") {
        return; // PostgreSQL commits each transaction on its own connection.
    }
    let store = app.services.store.clone();
    let before = store.writer_commits().unwrap();
    let setting = |key: &str| loupan_store::settings::SettingRow {
        scope: "test".into(),
        key: key.into(),
        value: "1".into(),
        updated_by: "test".into(),
        updated_at: chrono::Utc::now(),
    };
    let first = store.begin_write().await.unwrap();
    loupan_store::settings::put_setting(&first, &setting("first")).await.unwrap();
    let mut writers = Vec::new();
    for (key, fails) in [("a", false), ("b", true), ("c", false), ("d", false)] {
        let (store, row) = (store.clone(), setting(key));
        writers.push(tokio::spawn(async move {
            let tx = store.begin_write().await.unwrap();
            loupan_store::settings::put_setting(&tx, &row).await.unwrap();
            if fails {
                // A statement fails and the writer gives up: its savepoint is rolled back.
                assert!(tx.execute_unprepared("INSERT INTO no_such_table VALUES (1)").await.is_err());
                drop(tx);
                return None;
            }
            tx.commit().await.unwrap();
            // Answered: the write is visible to every reader.
            let seen = loupan_store::settings::find_setting(store.conn(), "test", &row.key).await.unwrap();
            Some(seen.is_some())
        }));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    first.commit().await.unwrap();
    let mut answered = Vec::new();
    for writer in writers {
        answered.push(writer.await.unwrap());
    }
    assert_eq!(answered, [Some(true), None, Some(true), Some(true)]);
    for (key, kept) in [("first", true), ("a", true), ("b", false), ("c", true), ("d", true)] {
        let found = loupan_store::settings::find_setting(store.conn(), "test", key).await.unwrap();
        assert_eq!(found.is_some(), kept, "{key}");
    }
    let after = store.writer_commits().unwrap();
    assert_eq!(after.writes - before.writes, 4);
    // The failed statement closed its group, so the writes after it form another.
    assert!(after.commits - before.commits <= 2, "{before:?} -> {after:?}: no commit was shared");
    // A writer alone commits at once.
    let alone = store.begin_write().await.unwrap();
    loupan_store::settings::put_setting(&alone, &setting("alone")).await.unwrap();
    alone.commit().await.unwrap();
    let last = store.writer_commits().unwrap();
    assert_eq!((last.commits - after.commits, last.writes - after.writes), (1, 1));
}

/// Instances started together on one PostgreSQL database migrate it one at a
/// time (without the lock two create the same table and one fails).
#[tokio::test]
async fn instances_starting_together_migrate_one_at_a_time() {
    let Ok(server) = std::env::var("LOUPAN_TEST_DATABASE_URL") else {
        return; // A SQLite file is one instance's.
    };
    let name = format!("loupan_migrate_{}", loupan_store::new_id());
    loupan_store::admin::create_postgres_database(&server, &name).await.unwrap();
    let url = loupan_store::admin::with_database(&server, &name);
    let mut starting = Vec::new();
    for _ in 0..4 {
        let store = loupan_store::Store::connect(&url).await.unwrap();
        starting.push(tokio::spawn(async move { store.migrate().await.map(|()| store) }));
    }
    let mut stores = Vec::new();
    for instance in starting {
        stores.push(instance.await.unwrap().expect("every instance started"));
    }
    assert!(stores[0].pending_migrations().await.unwrap().is_empty());
    for store in stores {
        store.close().await.unwrap();
    }
    loupan_store::admin::drop_postgres_database(&server, &name).await.unwrap();
}

/// The audit pages render their rows (a query-string filter in each row's links
/// once made both answer 500 as soon as there was anything to show).
#[tokio::test]
async fn the_audit_trail_and_a_users_history_show_their_rows() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (agent_id, _) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let page = app.send(get("/admin/audit").token(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("user.create"), "the trail lists the new user");
    assert!(page.text.contains(&format!("record_id={agent_id}")), "rows link to their record's history");
    let page = app.send(get(&format!("/admin/users/{agent_id}")).token(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
}
