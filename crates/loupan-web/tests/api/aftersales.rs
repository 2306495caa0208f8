//! After-sales calculators through the real router (API.md "Area compensation
//! and fees"): DOMAIN.md's worked examples, the 2014 rule, the deed tax tiers,
//! bad input named field by field, and who may use them.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_calculators_answer_by_the_rules_of_domain_md() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let compensation = |measured: &str| {
        post(
            "/api/v1/aftersales/area-compensation/calculate",
            json!({"rule": "2001", "contract_total": "2000000.00", "contract_area": "100.00", "measured_area": measured}),
        )
    };
    for (measured, amount, rescind) in [
        ("102.00", "40000.00", false),
        ("103.00", "60000.00", false),
        ("104.50", "60000.00", true),
        ("98.00", "-40000.00", false),
        ("95.00", "-140000.00", true),
    ] {
        let r = app.send(compensation(measured).token(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let body = r.json();
        assert_eq!((body["amount"].as_str(), body["rescission_right"].as_bool()), (Some(amount), Some(rescind)));
    }
    let r = app
        .send(
            post(
                "/api/v1/aftersales/area-compensation/calculate",
                json!({"rule": "2014_gross", "contract_total": "2000000.00",
                       "contract_gross_area": "100.00", "measured_gross_area": "102.00",
                       "contract_inner_area": "80.00", "measured_inner_area": "83.00"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!((body["amount"].as_str(), body["rescission_right"].as_bool()), (Some("40000.00"), Some(true)));
    assert_eq!(body["rescission_days"], 15);

    let r = app
        .send(
            post(
                "/api/v1/aftersales/deed-tax/calculate",
                json!({"price": "3000000.00", "gross_area": "144.00", "homes_owned_before": 1}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["rate"].as_str(), r.json()["amount"].as_str()), (Some("0.02"), Some("60000.00")));
}

#[tokio::test]
async fn bad_input_is_named_field_by_field_and_only_after_sales_and_finance_may_calculate() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let r = app
        .send(
            post(
                "/api/v1/aftersales/area-compensation/calculate",
                json!({"rule": "2001", "contract_total": "abc", "contract_area": "0", "measured_area": "1.001"}),
            )
            .token(&admin)
            .lang("en"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields: Vec<String> =
        r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["contract_total", "measured_area"]);
    let r = app
        .send(
            post(
                "/api/v1/aftersales/area-compensation/calculate",
                json!({"rule": "2001", "contract_total": "1.00", "contract_area": "0", "measured_area": "1"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "contract_area");
    let r =
        app.send(post("/api/v1/aftersales/area-compensation/calculate", json!({"rule": "1999"})).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "rule");

    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, aftersales) = app.user(&admin, "after", &["aftersales"], &[&project]).await;
    let body = json!({"price": "1000000.00", "gross_area": "90.00", "homes_owned_before": 0});
    let r = app.send(post("/api/v1/aftersales/deed-tax/calculate", body.clone()).token(&agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.send(post("/api/v1/aftersales/deed-tax/calculate", body).token(&aftersales)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["amount"], "10000.00");
}

#[tokio::test]
async fn the_calculator_page_computes_and_names_bad_fields() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let r = app
        .send(
            get("/aftersales/calculator?form=compensation&rule=2001&contract_total=2000000.00&contract_area=100.00&measured_area=95.00")
                .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("-140,000.00") && r.text.contains("开发商退还"), "amounts read grouped: {}", r.text);
    let r = app
        .send(get("/aftersales/calculator?form=deed_tax&price=abc&gross_area=90&homes_owned_before=x").token(&admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text.matches(r#"class="error""#).count(), 2, "price and homes are both named: {}", r.text);
    let r = app
        .send(
            get("/aftersales/calculator?form=deed_tax&price=1000000&gross_area=90&homes_owned_before=0").token(&admin),
        )
        .await;
    assert!(r.text.contains("10,000.00"), "{}", r.text);
}
