//! Every route of the OpenAPI document, called the wrong way: anonymously
//! (401), by a user without rights, and by an admin with empty, malformed and
//! oversized bodies and unknown ids. None may answer 5xx, and every error is
//! problem+json. New routes are covered as soon as they are documented.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::json;

fn call(method: &str, path: &str) -> Call {
    match method {
        "get" => get(path),
        "patch" => patch(path, json!({})),
        "put" => put(path, json!({})),
        "delete" => delete(path),
        _ => post(path, json!({})),
    }
}

#[tokio::test]
async fn no_route_answers_5xx_and_anonymous_callers_get_401_everywhere() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, outsider) = app.user(&admin, "cost", &["cost_engineer"], &[]).await;
    let doc = app.send(get("/api/v1/openapi.json")).await.json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            // Signing in, and the SMS provider pushing replies (its path's secret is its key).
            // and a buyer's handover booking link (its token is its key).
            let public = path == "/api/v1/auth/login"
                || path.starts_with("/api/v1/notices/sms/replies/")
                || path.starts_with("/api/v1/handover-bookings/");
            let concrete = path.replace("{id}", "01a2nonexistent");
            let with_project = path.replace("{id}", &project);
            // 1. Anonymous.
            let r = app.send(call(method, &concrete)).await;
            if !public {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
            }
            assert_eq!(r.content_type(), "application/problem+json", "{method} {path}");
            // 2. Signed in without the rights, on unknown and on real ids.
            for p in [&concrete, &with_project] {
                let r = app.send(call(method, p).token(&outsider)).await;
                assert!(
                    r.status.is_client_error() || r.status.is_success(),
                    "outsider {method} {p} -> {}: {}",
                    r.status,
                    r.text
                );
            }
            // 3. An admin with nonsense.
            for p in [&concrete, &with_project] {
                for body in [&b"{not json"[..], b"[]", b"{\"name\": {\"nested\": true}, \"version\": \"x\"}", b"null"] {
                    let r = app.send(call(method, p).token(&admin).raw(body)).await;
                    assert!(
                        !r.status.is_server_error(),
                        "admin {method} {p} with {:?} -> {}: {}",
                        String::from_utf8_lossy(body),
                        r.status,
                        r.text
                    );
                    if r.status.is_client_error() {
                        assert_eq!(r.content_type(), "application/problem+json", "{method} {p}");
                    }
                }
                let r = app
                    .send(call(method, &format!("{p}?limit=-1&cursor=%ZZ&as_of=yesterday&min_floor=x")).token(&admin))
                    .await;
                assert!(!r.status.is_server_error(), "admin {method} {p} with a bad query -> {}", r.status);
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} operations in the OpenAPI document");
    ci_summary(&format!(
        "every route ({}): {checked} operations called anonymously, without rights and with bad input; no 5xx",
        database_name()
    ));
}
