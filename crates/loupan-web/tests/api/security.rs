//! Security basics (issue #9, item 5): headers on every answer, no caching of
//! anything that may hold personal data, a new session at every sign-in.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn pages_and_api_answers_carry_the_security_headers_and_are_never_cached() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let r = app
        .send(
            post("/api/v1/customers", json!({"name": "孙七", "phone": "13600136000", "project_id": project}))
                .token(&admin),
        )
        .await;
    let customer = r.json()["id"].as_str().unwrap().to_owned();
    for call in [
        get("/login"),
        get(&format!("/api/v1/customers/{customer}")).token(&admin),
        get("/api/v1/customers").token(&admin),
        get("/no/such/page"),
    ] {
        let r = app.send(call).await;
        let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let csp = h("content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "no inline script: {csp}");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "same-origin");
        assert_eq!(h("cache-control"), "no-store", "personal data is never cached");
    }
    // Static assets may be cached.
    let r = app.send(get("/assets/loupan.css")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
}

#[tokio::test]
async fn signing_in_always_starts_a_new_session() {
    let app = TestApp::new().await;
    let page = app.send(get("/login")).await;
    let login_csrf = page.cookie("loupan_login_csrf").unwrap();
    let sign_in = |planted: &str| {
        form("/login", &[("username", "admin"), ("password", ADMIN_PASSWORD), ("csrf_token", &login_csrf)])
            .header("cookie", &format!("loupan_login_csrf={login_csrf}; loupan_session={planted}"))
    };
    // A session id planted by someone else is never adopted.
    let first = app.send(sign_in("attacker-chosen-id")).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    let a = first.cookie("loupan_session").unwrap();
    assert_ne!(a, "attacker-chosen-id");
    // Posting the sign-in form while signed in is refused (the form's token is not the session's).
    assert_eq!(app.send(sign_in(&a)).await.status, StatusCode::FORBIDDEN);
    let second = app.send(sign_in("")).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.text);
    let b = second.cookie("loupan_session").unwrap();
    assert_ne!(a, b, "every sign-in gets a session of its own");
    // Tokens never travel in URLs: the redirect after sign-in carries none.
    let location = second.headers["location"].to_str().unwrap();
    assert!(!location.contains(&b) && !location.contains("token"), "{location}");
}
