//! Inventory through the real router: a whole building generated in one
//! operation, all or nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_33_floor_building_of_264_units_is_created_in_one_operation() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let b = app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "3号楼"})).token(&admin))
        .await
        .json();
    let building = b["id"].as_str().unwrap();
    let stacks: Vec<_> = (1..=8)
        .map(|i| json!({"layout": if i % 2 == 0 { "3室2厅" } else { "2室2厅" }, "gross_area": "89.37", "inner_area": "72.15", "unit_price": "15000"}))
        .collect();
    let generate = || {
        post(
            &format!("/api/v1/buildings/{building}/units/generate"),
            json!({"from_floor": 1, "to_floor": 33, "stacks": stacks}),
        )
        .token(&admin)
    };
    let r = app.send(generate()).await;
    assert_eq!((r.status, r.json()["created"].as_u64()), (StatusCode::CREATED, Some(264)), "{}", r.text);
    let page = app
        .send(get(&format!("/api/v1/units?building_id={building}&min_floor=33&limit=500")).token(&admin))
        .await
        .json();
    let numbers: Vec<&str> = page["items"].as_array().unwrap().iter().map(|u| u["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["3301", "3302", "3303", "3304", "3305", "3306", "3307", "3308"]);
    assert_eq!(page["items"][0]["list_price"], "1340550.00", "area × unit price");

    // Running it again would duplicate numbers: refused, and nothing is written.
    let again = app.send(generate()).await;
    assert_eq!((again.status, again.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["stacks".to_owned()]));
    let all = app.send(get(&format!("/api/v1/units?building_id={building}&limit=500")).token(&admin)).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 264);

    let bad = json!({"from_floor": 5, "to_floor": 2, "stacks": [{"layout": "", "gross_area": "80", "inner_area": "90", "unit_price": "-1"}]});
    let r = app.send(post(&format!("/api/v1/buildings/{building}/units/generate"), bad).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["to_floor", "stacks[0].layout", "stacks[0].inner_area", "stacks[0].unit_price"]);
}
