//! Project cost through the real router (API.md "Project cost"): the dynamic
//! cost of a seeded project against sums written out here, at past dates
//! too; strong and weak control; a change estimated then confirmed; target
//! versions compared and adopted; suppliers' credit codes; who sees what.
// Amounts in fen are written yuan_fen: `1_000_000_00` is a million yuan.
#![allow(clippy::inconsistent_digit_grouping)]

use std::collections::BTreeMap;

use crate::support::*;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Noon in Beijing on a date.
fn noon(date: &str) -> DateTime<Utc> {
    utc(&format!("{date}T04:00:00Z"))
}

async fn app_on(date: &str) -> TestApp {
    let zone = loupan_service::Clock::parse_zone("+08:00").unwrap();
    TestApp::with_clock(loupan_service::Clock::set_at(zone, noon(date))).await
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

fn ok(r: &Reply) -> Value {
    assert!(r.status.is_success(), "{}: {}", r.status, r.text);
    r.json()
}

/// The project's items by code.
async fn tree(app: &TestApp, token: &str, project: &str) -> BTreeMap<String, String> {
    let items = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/items")).token(token)).await);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["code"].as_str().unwrap().to_owned(), i["id"].as_str().unwrap().to_owned()))
        .collect()
}

/// A project with the group template copied and a third level under 03.01.
async fn costed_project(app: &TestApp, admin: &str, name: &str) -> (String, BTreeMap<String, String>) {
    let project = app.project(admin, name).await;
    let r =
        app.send(post(&format!("/api/v1/cost/projects/{project}/items/from-template"), json!({})).token(admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let items = tree(app, admin, &project).await;
    for (code, name) in [("03.01.01", "桩基工程"), ("03.01.02", "主体结构")] {
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/items"),
                    json!({"parent_id": items["03.01"], "code": code, "name": name, "unit_of_measure": "m2"}),
                )
                .token(admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r =
        app.send(post(&format!("/api/v1/cost/projects/{project}/items/from-template"), json!({})).token(admin)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a tree is copied once: {}", r.text);
    (project.clone(), tree(app, admin, &project).await)
}

async fn supplier(app: &TestApp, admin: &str, name: &str, code: &str) -> String {
    let r = app.send(post("/api/v1/cost/suppliers", json!({"name": name, "credit_code": code})).token(admin)).await;
    ok(&r)["id"].as_str().unwrap().to_owned()
}

/// One movement of the ledger as this test expects it.
struct Entry {
    code: String,
    column: &'static str,
    fen: i64,
    on: NaiveDate,
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// What an item shows as of a date: its own entries and those below it.
fn expected(entries: &[Entry], code: Option<&str>, as_of: NaiveDate) -> BTreeMap<&'static str, i64> {
    let mut sums: BTreeMap<&'static str, i64> =
        ["target", "contracted", "changes", "visas", "pending", "expected"].into_iter().map(|c| (c, 0)).collect();
    for e in entries.iter().filter(|e| e.on <= as_of) {
        if code.is_none_or(|c| e.code == c || e.code.starts_with(&format!("{c}."))) {
            *sums.get_mut(e.column).unwrap() += e.fen;
        }
    }
    let dynamic = sums["contracted"] + sums["changes"] + sums["visas"] + sums["pending"] + sums["expected"];
    sums.insert("dynamic", dynamic);
    sums.insert("balance", sums["target"] - dynamic);
    sums
}

#[tokio::test]
async fn the_dynamic_cost_of_every_item_is_the_sum_of_its_documents_at_any_date() {
    let app = app_on("2026-01-10").await;
    let mut admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "成本演示项目").await;
    let leaves: Vec<&str> = vec![
        "01.01", "01.02", "02.01", "02.02", "03.01.01", "03.01.02", "03.02", "03.03", "04.01", "04.02", "05", "06.01",
        "06.02",
    ];
    for code in &leaves {
        let r = app
            .send(patch(&format!("/api/v1/cost/items/{}", items[*code]), json!({"control_mode": "weak"})).token(&admin))
            .await;
        ok(&r);
    }
    let mut entries: Vec<Entry> = Vec::new();
    let entry = |code: &str, column, fen, on: &str| Entry { code: code.to_owned(), column, fen, on: date(on) };

    // Target v1 adopted on 2026-01-10, v2 on 2026-03-01: the ledger moves by the difference.
    let mut version_ids = Vec::new();
    for (v, stage) in [(1, "scheme"), (2, "preliminary")] {
        let lines: Vec<Value> = leaves
            .iter()
            .enumerate()
            .map(|(i, code)| json!({"cost_item_id": items[*code], "amount": yuan(1_000_000_00 * (i as i64 + 1) + v * 12_345_67)}))
            .collect();
        let r = app
            .send(
                post(&format!("/api/v1/cost/projects/{project}/targets"), json!({"stage": stage, "lines": lines}))
                    .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        version_ids.push(r.json()["version"]["id"].as_str().unwrap().to_owned());
    }
    ok(&app.send(post(&format!("/api/v1/cost/targets/{}/adopt", version_ids[0]), json!({})).token(&admin)).await);
    for (i, code) in leaves.iter().enumerate() {
        entries.push(entry(code, "target", 1_000_000_00 * (i as i64 + 1) + 12_345_67, "2026-01-10"));
    }

    // 20 plan lines, pending from 2026-01-10.
    let mut plan: Vec<(String, &str, i64, i64)> = Vec::new(); // id, item code, planned, contracted
    for i in 0..20i64 {
        let code = leaves[i as usize % leaves.len()];
        let planned = 300_000_00 + i * 12_345_67;
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/plan-lines"),
                    json!({"cost_item_id": items[code], "name": format!("合约{i}"), "planned_amount": yuan(planned),
                           "tender_mode": "邀请招标", "planned_month": "2026-04"}),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        plan.push((r.json()["id"].as_str().unwrap().to_owned(), code, planned, 0));
        entries.push(entry(code, "pending", planned, "2026-01-10"));
    }

    app.services.clock.set(noon("2026-03-01"));
    admin = app.admin().await;
    ok(&app.send(post(&format!("/api/v1/cost/targets/{}/adopt", version_ids[1]), json!({})).token(&admin)).await);
    for code in &leaves {
        entries.push(entry(code, "target", 12_345_67, "2026-03-01"));
    }
    let compared = ok(&app
        .send(get(&format!("/api/v1/cost/targets/compare?from={}&to={}", version_ids[0], version_ids[1])).token(&admin))
        .await);
    assert!(compared["items"].as_array().unwrap().iter().all(|i| i["difference"] == "12345.67"), "{compared}");
    assert_eq!(compared["from"]["status"], "superseded");

    app.services.clock.set(noon("2026-06-30"));
    admin = app.admin().await;
    // Contracts beyond their plan line wait for the project manager.
    let (_, pm) = app.user(&admin, "pm_ledger", &["project_manager"], &[&project]).await;
    let suppliers: Vec<String> =
        futures_join(&app, &admin, (0..3).map(|n| (format!("承包商{n}"), credit_code(n))).collect()).await;

    // 30 contracts, some over their line (weak control, with a reason).
    for j in 0..30i64 {
        let line = &mut plan[j as usize % 20];
        let amount = line.2 / 2 + j * 7_777_77;
        let on = format!("2026-{:02}-{:02}", 2 + j % 5, 1 + j % 28);
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/contracts"),
                    json!({"code": format!("HT-{j:03}"), "name": format!("合同{j}"), "supplier_id": suppliers[j as usize % 3],
                           "kind": "total_price", "retention_percent": "5", "signed_on": on,
                           "over_plan_reason": "设计深化后工程量增加",
                           "lines": [{"plan_line_id": line.0, "amount": yuan(amount)}]}),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let over = amount > line.2 - line.3;
        assert_eq!(r.json()["status"], if over { "pending" } else { "signed" }, "contract {j}");
        if over {
            let contract = r.json()["id"].as_str().unwrap().to_owned();
            let waiting = ok(&app.send(get("/api/v1/approvals?state=pending").token(&pm)).await);
            let request = waiting["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["subject_id"] == contract.as_str())
                .cloned()
                .unwrap();
            let path = format!("/api/v1/approvals/{}/approve", request["id"].as_str().unwrap());
            ok(&app.send(post(&path, json!({"comment": "同意"})).token(&pm)).await);
        }
        let released = amount.min((line.2 - line.3).max(0));
        line.3 += amount;
        entries.push(entry(line.1, "contracted", amount, &on));
        entries.push(entry(line.1, "pending", -released, &on));
    }

    // 40 changes and visas; every other one confirmed a month later at 500.00 less.
    for k in 0..40i64 {
        let code = leaves[k as usize % leaves.len()];
        let kind = if k % 2 == 0 { "change" } else { "visa" };
        let column = if k % 2 == 0 { "changes" } else { "visas" };
        let estimate = if k % 7 == 0 { -2_000_00 } else { 5_000_00 + k * 100_00 };
        let on = format!("2026-{:02}-{:02}", 2 + k % 4, 1 + k % 28);
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/variations"),
                    json!({"kind": kind, "cost_item_id": items[code], "reason": format!("变更{k}"),
                           "estimated_amount": yuan(estimate), "submitted_on": on}),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        entries.push(entry(code, column, estimate, &on));
        if k % 3 == 0 {
            let id = r.json()["id"].as_str().unwrap().to_owned();
            let confirmed_on = format!("2026-{:02}-{:02}", 3 + k % 4, 1 + k % 28);
            let r = app
                .send(
                    post(
                        &format!("/api/v1/cost/variations/{id}/confirm"),
                        json!({"confirmed_amount": yuan(estimate - 500_00), "confirmed_on": confirmed_on}),
                    )
                    .token(&admin),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            entries.push(entry(code, column, -500_00, &confirmed_on));
        }
    }
    for (code, amount, on) in [("03.01.02", 250_000_00, "2026-05-20"), ("06.02", -10_000_00, "2026-06-01")] {
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/expected"),
                    json!({"cost_item_id": items[code], "amount": yuan(amount), "reason": "材料价格上涨", "posted_on": on}),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        entries.push(entry(code, "expected", amount, on));
    }

    // The contracts list (and its export) reads every contract's lines at once:
    // a fixed number of statements, however many contracts there are.
    let before = app.services.store.statements_sent();
    let listed = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/contracts")).token(&admin)).await);
    let statements = app.services.store.statements_sent() - before;
    assert_eq!(listed.as_array().unwrap().len(), 30);
    assert!(listed.as_array().unwrap().iter().all(|k| !k["lines"].as_array().unwrap().is_empty()), "{listed}");
    assert!(statements <= 5, "the contracts list sent {statements} statements for 30 contracts");

    for as_of in ["2026-01-31", "2026-03-15", "2026-04-30", "2026-06-30"] {
        let r =
            app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost?as_of={as_of}")).token(&admin)).await;
        let body = ok(&r);
        assert_eq!(body["as_of"], as_of);
        let lines = body["items"].as_array().unwrap();
        assert_eq!(lines.len(), items.len());
        for line in lines {
            let code = line["code"].as_str().unwrap();
            for (column, fen) in expected(&entries, Some(code), date(as_of)) {
                assert_eq!(line[column].as_str(), Some(yuan(fen).as_str()), "{code} {column} as of {as_of}");
            }
            assert_eq!(line["cost_item_id"].as_str(), Some(items[code].as_str()));
        }
        for (column, fen) in expected(&entries, None, date(as_of)) {
            assert_eq!(body["total"][column].as_str(), Some(yuan(fen).as_str()), "total {column} as of {as_of}");
        }
    }
    // Without a date: today.
    let today = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    assert_eq!(today["as_of"], "2026-06-30");

    group_roll_up_is_the_sum_of_the_projects(&app, &admin, &project, &entries).await;
    a_monthly_report_freezes_a_closed_month_with_each_movement_explained(&app, &admin, &project, &items, &entries)
        .await;
}

/// The group's dynamic cost: this project and a second one summed, per
/// project, per first-level item and in total; today's figures (the kept
/// balances) and a past date's (the ledger) alike.
async fn group_roll_up_is_the_sum_of_the_projects(app: &TestApp, admin: &str, project: &str, entries: &[Entry]) {
    let (second, second_items) = costed_project(app, admin, "第二个项目").await;
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{second}/expected"),
                json!({"cost_item_id": second_items["03.02"], "amount": "4321.09", "reason": "预估安装费", "posted_on": "2026-06-30"}),
            )
            .token(admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let second_entries = [Entry { code: "03.02".into(), column: "expected", fen: 4_321_09, on: date("2026-06-30") }];
    for as_of in [None, Some("2026-04-30"), Some("2026-06-30")] {
        let path = match as_of {
            None => "/api/v1/cost/group/dynamic-cost".to_owned(),
            Some(d) => format!("/api/v1/cost/group/dynamic-cost?as_of={d}"),
        };
        let body = ok(&app.send(get(&path).token(admin)).await);
        let on = date(as_of.unwrap_or("2026-06-30"));
        assert_eq!(body["as_of"], on.to_string());
        let lines = body["projects"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "{body}");
        for (id, own) in [(project, entries), (second.as_str(), &second_entries[..])] {
            let line = lines.iter().find(|l| l["project_id"] == id).unwrap();
            for (column, fen) in expected(own, None, on) {
                assert_eq!(line[column].as_str(), Some(yuan(fen).as_str()), "{id} {column} as of {on}");
            }
        }
        let mut both: Vec<&Entry> = entries.iter().collect();
        both.extend(second_entries.iter());
        let both: Vec<Entry> =
            both.into_iter().map(|e| Entry { code: e.code.clone(), column: e.column, fen: e.fen, on: e.on }).collect();
        for (column, fen) in expected(&both, None, on) {
            assert_eq!(body["total"][column].as_str(), Some(yuan(fen).as_str()), "group {column} as of {on}");
        }
        for item in body["items"].as_array().unwrap() {
            let code = item["code"].as_str().unwrap();
            for (column, fen) in expected(&both, Some(code), on) {
                assert_eq!(item[column].as_str(), Some(yuan(fen).as_str()), "group item {code} {column} as of {on}");
            }
        }
        assert_eq!(body["items"].as_array().unwrap().len(), 6, "the six first-level items");
    }
    // The page shows the same.
    let page = app.send(get("/cost").token(admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("第二个项目") && page.text.contains("4,321.09"), "{}", page.text);
    // And the spreadsheet: a row per project and the group's total, at a past date too.
    for on in ["2026-04-30", "2026-06-30"] {
        let sheet = sheet_rows(
            &app.send(get(&format!("/api/v1/cost/group/dynamic-cost/export?as_of={on}")).token(admin)).await,
        );
        let mut all: Vec<Entry> =
            entries.iter().map(|e| Entry { code: e.code.clone(), column: e.column, fen: e.fen, on: e.on }).collect();
        all.extend(second_entries.iter().map(|e| Entry {
            code: e.code.clone(),
            column: e.column,
            fen: e.fen,
            on: e.on,
        }));
        let total = expected(&all, None, date(on));
        assert_eq!(sheet.len(), 4, "headers, two projects, the total: {sheet:?}");
        let columns = ["target", "contracted", "changes", "visas", "pending", "expected", "dynamic", "balance"];
        for (i, column) in columns.iter().enumerate() {
            assert_eq!(fen_of(&sheet[3][4 + i]), total[column], "{column} on {on}");
        }
        let second_row = sheet.iter().find(|r| r[0] == "第二个项目").unwrap();
        assert_eq!(fen_of(&second_row[10]), expected(&second_entries, None, date(on))["dynamic"], "{on}");
    }
}

/// May's report: the figures at May 31, each item's movement since April 30,
/// every moved leaf explained; issued once; a document dated back into May
/// afterwards changes the ledger's May but not the report.
async fn a_monthly_report_freezes_a_closed_month_with_each_movement_explained(
    app: &TestApp,
    admin: &str,
    project: &str,
    items: &BTreeMap<String, String>,
    entries: &[Entry],
) {
    let base = format!("/api/v1/cost/projects/{project}/reports");
    let draft = ok(&app.send(get(&format!("{base}/draft?month=2026-05")).token(admin)).await);
    assert_eq!(draft["as_of"], "2026-05-31");
    let mut moved = Vec::new();
    for line in draft["lines"].as_array().unwrap() {
        let code = line["code"].as_str().unwrap();
        let now = expected(entries, Some(code), date("2026-05-31"));
        let before = expected(entries, Some(code), date("2026-04-30"));
        assert_eq!(line["dynamic"].as_str(), Some(yuan(now["dynamic"]).as_str()), "{code}");
        assert_eq!(line["dynamic_before"].as_str(), Some(yuan(before["dynamic"]).as_str()), "{code}");
        assert_eq!(line["movement"].as_str(), Some(yuan(now["dynamic"] - before["dynamic"]).as_str()), "{code}");
        if line["leaf"] == true && now["dynamic"] != before["dynamic"] {
            moved.push(line["cost_item_id"].as_str().unwrap().to_owned());
        }
    }
    assert!(moved.len() >= 3, "May moved several items: {draft}");
    // Unexplained movements are named; a month not over yet is refused.
    let r = app.send(post(&base, json!({"month": "2026-05"})).token(admin)).await;
    let mut fields = r.error_fields();
    fields.sort();
    let mut wanted: Vec<String> = moved.iter().map(|id| format!("explanations.{id}")).collect();
    wanted.sort();
    assert_eq!((r.status, fields), (StatusCode::UNPROCESSABLE_ENTITY, wanted));
    let r = app.send(post(&base, json!({"month": "2026-06"})).token(admin)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["month".to_owned()]));
    let explanations: serde_json::Map<String, Value> =
        moved.iter().map(|id| (id.clone(), json!("五月签订合同与现场签证"))).collect();
    let form = json!({"month": "2026-05", "summary": "五月主体施工，签证增加", "explanations": explanations});
    let issued = app.send(post(&base, form.clone()).token(admin)).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    assert_eq!(app.send(post(&base, form).token(admin)).await.status, StatusCode::CONFLICT, "a month is reported once");

    // Expected cost dated back into May: the ledger's May moves, the report does not.
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/expected"),
                json!({"cost_item_id": items["06.01"], "amount": "999.99", "reason": "补录五月管理费", "posted_on": "2026-05-15"}),
            )
            .token(admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let kept = ok(&app.send(get(&format!("{base}/2026-05")).token(admin)).await);
    assert_eq!(kept["lines"], issued.json()["lines"]);
    assert_eq!(
        kept["total"]["dynamic"].as_str(),
        Some(yuan(expected(entries, None, date("2026-05-31"))["dynamic"]).as_str())
    );
    let line = |report: &Value| {
        report["lines"].as_array().unwrap().iter().find(|l| l["code"] == "06.01").unwrap()["dynamic"].clone()
    };
    let redrafted = ok(&app.send(get(&format!("{base}/draft?month=2026-05")).token(admin)).await);
    assert_ne!(line(&redrafted), line(&kept));
    let list = ok(&app.send(get(&base).token(admin)).await);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["month"], "2026-05");
    assert_eq!(list[0]["summary"], "五月主体施工，签证增加");
    let page = app.send(get(&format!("/cost/projects/{project}/reports/2026-05")).token(admin)).await;
    assert!(page.status == StatusCode::OK && page.text.contains("五月签订合同与现场签证"), "{}", page.text);
    // The spreadsheet is the report as issued, line by line, with the total and the summary.
    let sheet = sheet_rows(&app.send(get(&format!("{base}/2026-05/export")).token(admin)).await);
    let lines = kept["lines"].as_array().unwrap();
    assert_eq!(sheet.len(), lines.len() + 2, "{sheet:?}");
    for (row, line) in sheet[1..].iter().zip(lines) {
        assert_eq!(row[0], line["code"].as_str().unwrap());
        assert_eq!(fen_of(&row[8]), fen_of(line["dynamic"].as_str().unwrap()), "{}", row[0]);
        assert_eq!(fen_of(&row[11]), fen_of(line["movement"].as_str().unwrap()), "{}", row[0]);
        assert_eq!(row[12], line["explanation"].as_str().unwrap_or_default(), "{}", row[0]);
    }
    let total = sheet.last().unwrap();
    assert_eq!(fen_of(&total[8]), fen_of(kept["total"]["dynamic"].as_str().unwrap()));
    assert_eq!(total[12], "五月主体施工，签证增加");
    let page_sheet =
        sheet_rows(&app.send(get(&format!("/cost/projects/{project}/reports/2026-05/report.xlsx")).token(admin)).await);
    assert_eq!(page_sheet, sheet);
    assert_eq!(app.send(get(&format!("{base}/2026-04/export")).token(admin)).await.status, StatusCode::NOT_FOUND);
}

/// Approves, as `token`, the request waiting for them about `subject`; its summary.
async fn approve(app: &TestApp, token: &str, subject: &str) -> String {
    let waiting = ok(&app.send(get("/api/v1/approvals?state=pending").token(token)).await);
    let request = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject_id"] == subject)
        .cloned()
        .unwrap_or_else(|| panic!("nothing about {subject} waits: {waiting}"));
    let path = format!("/api/v1/approvals/{}/approve", request["id"].as_str().unwrap());
    ok(&app.send(post(&path, json!({"comment": "同意"})).token(token)).await);
    request["summary"].as_str().unwrap_or_default().to_owned()
}

async fn futures_join(app: &TestApp, admin: &str, specs: Vec<(String, String)>) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, code) in specs {
        ids.push(supplier(app, admin, &name, &code).await);
    }
    ids
}

/// A project with one plan line of 100,000.00 under 03.02, in the given control mode.
async fn one_line(app: &TestApp, admin: &str, mode: &str) -> (String, String, String, String) {
    let (project, items) = costed_project(app, admin, &format!("控制{mode}")).await;
    ok(&app
        .send(patch(&format!("/api/v1/cost/items/{}", items["03.02"]), json!({"control_mode": mode})).token(admin))
        .await);
    let line = ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/plan-lines"),
                json!({"cost_item_id": items["03.02"], "name": "机电安装", "planned_amount": "100000.00"}),
            )
            .token(admin),
        )
        .await);
    let supplier =
        supplier(app, admin, &format!("机电公司{mode}"), &credit_code(if mode == "strong" { 7 } else { 8 })).await;
    (project, items["03.02"].clone(), line["id"].as_str().unwrap().to_owned(), supplier)
}

#[tokio::test]
async fn a_contract_over_its_plan_line_is_refused_on_strong_control_and_needs_a_reason_on_weak() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let contract = |line: &str, supplier: &str, reason: Option<&str>| {
        json!({"code": "HT-1", "name": "机电安装合同", "supplier_id": supplier, "over_plan_reason": reason,
               "lines": [{"plan_line_id": line, "amount": "100000.01"}]})
    };

    let (project, item, line, supplier) = one_line(&app, &admin, "strong").await;
    let path = format!("/api/v1/cost/projects/{project}/contracts");
    let r = app.send(post(&path, contract(&line, &supplier, Some("理由"))).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), vec!["lines[0].amount"]);
    assert!(r.text.contains("over_plan_balance"), "{}", r.text);
    let within = json!({"code": "HT-2", "name": "机电安装合同", "supplier_id": supplier,
                        "lines": [{"plan_line_id": line, "amount": "100000.00"}]});
    assert_eq!(app.send(post(&path, within).token(&admin)).await.status, StatusCode::CREATED);
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    let line_of = |body: &Value, item: &str| {
        body["items"].as_array().unwrap().iter().find(|i| i["cost_item_id"] == item).cloned().unwrap()
    };
    let l = line_of(&cost, &item);
    assert_eq!((l["contracted"].as_str(), l["pending"].as_str()), (Some("100000.00"), Some("0.00")));

    let (project, item, line, supplier) = one_line(&app, &admin, "weak").await;
    let path = format!("/api/v1/cost/projects/{project}/contracts");
    let r = app.send(post(&path, contract(&line, &supplier, None)).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), vec!["over_plan_reason"]);
    // With a reason it goes to the project manager, showing the dynamic cost
    // before and after; it counts only once approved.
    let (_, pm) = app.user(&admin, "pm_weak", &["project_manager"], &[&project]).await;
    let r = app.send(post(&path, contract(&line, &supplier, Some("甲方指定品牌升级"))).token(&admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["over_plan_reason"].as_str()),
        (Some("pending"), Some("甲方指定品牌升级"))
    );
    let contract_id = r.json()["id"].as_str().unwrap().to_owned();
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    let l = line_of(&cost, &item);
    assert_eq!(
        (l["contracted"].as_str(), l["pending"].as_str()),
        (Some("0.00"), Some("100000.00")),
        "pending counts nowhere"
    );
    let impact = ok(&app.send(get(&format!("/api/v1/cost/contracts/{contract_id}/impact")).token(&pm)).await);
    assert_eq!((impact[0]["before"].as_str(), impact[0]["after"].as_str()), (Some("100000.00"), Some("100000.01")));
    let waiting = ok(&app.send(get("/api/v1/approvals?state=pending").token(&pm)).await);
    let request = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["subject_id"] == contract_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no request for the project manager: {waiting}"));
    assert!(request["summary"].as_str().unwrap().contains("动态成本 ¥100,000.00 → ¥100,000.01"), "{request}");
    // Each approver reads the summary in their own language.
    let english = ok(&app.send(get("/api/v1/approvals?state=pending").token(&pm).lang("en")).await);
    let said = english["items"].as_array().unwrap().iter().find(|a| a["subject_id"] == contract_id.as_str()).cloned();
    assert!(
        said.as_ref()
            .and_then(|a| a["summary"].as_str())
            .is_some_and(|s| s.contains("dynamic cost ¥100,000.00 → ¥100,000.01")),
        "{english}"
    );
    let bell = ok(&app.send(get("/api/v1/notifications").token(&pm).lang("en")).await);
    assert!(
        bell["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["title"].as_str().is_some_and(|t| t.starts_with("Cost contract "))),
        "{bell}"
    );
    assert_eq!(request["facts"]["over_plan"], "0.01");
    let page = app.send(get(&format!("/cost/contracts/{contract_id}")).token(&pm)).await;
    assert!(page.text.contains("contract-impact") && page.text.contains("100,000.01"), "{}", page.text);
    let r = app
        .send(
            post(&format!("/api/v1/approvals/{}/approve", request["id"].as_str().unwrap()), json!({"comment": "同意"}))
                .token(&pm),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        ok(&app.send(get(&format!("/api/v1/cost/contracts/{contract_id}")).token(&admin)).await)["status"],
        "signed"
    );
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    let l = line_of(&cost, &item);
    assert_eq!(
        (l["contracted"].as_str(), l["pending"].as_str(), l["dynamic"].as_str()),
        (Some("100000.01"), Some("0.00"), Some("100000.01"))
    );
    // A rejected one never counts.
    let mut again = contract(&line, &supplier, Some("再追加"));
    again["code"] = json!("HT-3");
    let r = app.send(post(&path, again).token(&admin)).await;
    assert_eq!(r.json()["status"], "pending", "{}", r.text);
    let rejected = r.json()["id"].as_str().unwrap().to_owned();
    let waiting = ok(&app.send(get("/api/v1/approvals?state=pending").token(&pm)).await);
    let request =
        waiting["items"].as_array().unwrap().iter().find(|a| a["subject_id"] == rejected.as_str()).cloned().unwrap();
    let r = app
        .send(
            post(&format!("/api/v1/approvals/{}/reject", request["id"].as_str().unwrap()), json!({"comment": "超支"}))
                .token(&pm),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        ok(&app.send(get(&format!("/api/v1/cost/contracts/{rejected}")).token(&admin)).await)["status"],
        "rejected"
    );
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    assert_eq!(line_of(&cost, &item)["contracted"], "100000.01");
    let lines = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/plan-lines")).token(&admin)).await);
    assert_eq!((lines[0]["contracted"].as_str(), lines[0]["balance"].as_str()), (Some("100000.01"), Some("0.00")));
}

#[tokio::test]
async fn a_change_estimated_then_confirmed_moves_the_dynamic_cost_by_exactly_those_amounts() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "变更项目").await;
    let item = &items["03.01.02"];
    let dynamic = || async {
        let body = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
        let line =
            body["items"].as_array().unwrap().iter().find(|i| i["cost_item_id"] == item.as_str()).cloned().unwrap();
        (
            line["dynamic"].as_str().unwrap().to_owned(),
            line["changes"].as_str().unwrap().to_owned(),
            body["total"]["dynamic"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(dynamic().await, ("0.00".into(), "0.00".into(), "0.00".into()));
    let (_, pm) = app.user(&admin, "pm_change", &["project_manager"], &[&project]).await;
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/variations"),
                json!({"kind": "change", "cost_item_id": item, "reason": "地下室层高调整", "estimated_amount": "100000.00",
                       "submitted_on": "2026-05-10"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let change = r.json();
    // Above 50,000.00 a change waits for the project manager and counts nothing yet.
    assert_eq!((change["code"].as_str(), change["status"].as_str()), (Some("BG-0001"), Some("pending")));
    let id = change["id"].as_str().unwrap().to_owned();
    assert_eq!(dynamic().await, ("0.00".into(), "0.00".into(), "0.00".into()));
    let early = post(&format!("/api/v1/cost/variations/{id}/confirm"), json!({"confirmed_amount": "1.00"}));
    assert_eq!(app.send(early.token(&admin)).await.status, StatusCode::CONFLICT, "confirmed once approved");
    let summary = approve(&app, &pm, &id).await;
    assert!(summary.contains("BG-0001") && summary.contains("0.00") && summary.contains("100,000.00"), "{summary}");
    let change = ok(&app.send(get(&format!("/api/v1/cost/variations/{id}")).token(&admin)).await);
    assert_eq!(change["status"], "estimated");
    assert_eq!(dynamic().await, ("100000.00".into(), "100000.00".into(), "100000.00".into()));

    let confirm = |amount: &str| {
        post(
            &format!("/api/v1/cost/variations/{id}/confirm"),
            json!({"confirmed_amount": amount, "confirmed_on": "2026-06-20"}),
        )
    };
    let r = app.send(confirm("86500.00").token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["status"].as_str(), r.json()["amount"].as_str()), (Some("confirmed"), Some("86500.00")));
    assert_eq!(dynamic().await, ("86500.00".into(), "86500.00".into(), "86500.00".into()));
    assert_eq!(app.send(confirm("1.00").token(&admin)).await.status, StatusCode::CONFLICT, "confirmed once");

    // Each step drills down to the change itself; before the confirmation the estimate stood.
    let ledger = ok(&app.send(get(&format!("/api/v1/cost/items/{}/postings", items["03"])).token(&admin)).await);
    let steps: Vec<(String, String, String, String)> = ledger["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(
                (p["document_type"].as_str(), p["document_id"].as_str()),
                (Some("variation"), Some(id.as_str()))
            );
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            (s("posted_on"), s("bucket"), s("amount"), s("cost_item_id"))
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("2026-05-10".into(), "changes_estimated".into(), "100000.00".into(), item.clone()),
            ("2026-06-20".into(), "changes_estimated".into(), "-100000.00".into(), item.clone()),
            ("2026-06-20".into(), "changes_confirmed".into(), "86500.00".into(), item.clone()),
        ]
    );
    assert_eq!(ledger["columns"]["changes"], "86500.00");
    let before =
        ok(&app.send(get(&format!("/api/v1/cost/items/{item}/postings?as_of=2026-06-19")).token(&admin)).await);
    assert_eq!(
        (before["columns"]["changes_estimated"].as_str(), before["columns"]["dynamic"].as_str()),
        (Some("100000.00"), Some("100000.00"))
    );

    // A confirmation before the submission, or a date to come, is refused by field.
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/variations"),
                json!({"kind": "visa", "cost_item_id": item, "reason": "", "estimated_amount": "x", "submitted_on": "2026-07-01"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_fields(), vec!["reason", "estimated_amount", "submitted_on"]);
}

#[tokio::test]
async fn suppliers_are_refused_on_a_wrong_credit_code_and_a_blacklisted_one_signs_nothing() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    for (code, error) in [
        ("91350100M000100Y44", "invalid_credit_code_check"),
        ("91350100M000100Y4", "invalid_credit_code_length"),
        ("91350100M000I00Y43", "invalid_credit_code_character"),
    ] {
        let r = app
            .send(post("/api/v1/cost/suppliers", json!({"name": "某建设集团", "credit_code": code})).token(&admin))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {}", r.text);
        assert_eq!(r.error_fields(), vec!["credit_code"], "{code}");
        assert!(r.text.contains(error), "{}", r.text);
    }
    let r = app
        .send(
            post("/api/v1/cost/suppliers", json!({"name": "某建设集团", "credit_code": "91350100m000100y43"}))
                .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["credit_code"], "91350100M000100Y43");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let again = app
        .send(
            post("/api/v1/cost/suppliers", json!({"name": "另一家", "credit_code": "91350100M000100Y43"}))
                .token(&admin),
        )
        .await;
    assert_eq!(
        (again.status, again.error_fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["credit_code".to_owned()])
    );
    let zh = app
        .send(
            post("/api/v1/cost/suppliers", json!({"name": "某", "credit_code": "91350100M000100Y44"}))
                .token(&admin)
                .lang("zh-CN"),
        )
        .await;
    assert!(zh.json()["errors"][0]["message"].as_str().unwrap().contains("校验"), "{}", zh.text);

    ok(&app.send(post(&format!("/api/v1/cost/suppliers/{id}/blacklist"), json!({})).token(&admin)).await);
    let (project, items) = costed_project(&app, &admin, "黑名单项目").await;
    let line = ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/plan-lines"),
                json!({"cost_item_id": items["05"], "name": "配套", "planned_amount": "10.00"}),
            )
            .token(&admin),
        )
        .await);
    let r = app
        .send(post(&format!("/api/v1/cost/projects/{project}/contracts"),
                   json!({"code": "HT-9", "name": "配套合同", "supplier_id": id, "lines": [{"plan_line_id": line["id"], "amount": "10.00"}]}))
            .token(&admin))
        .await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["supplier_id".to_owned()]));
}

#[tokio::test]
async fn project_managers_see_their_projects_cost_and_record_variations_but_keep_no_budget() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (mine, my_items) = costed_project(&app, &admin, "我的项目").await;
    let (other, _) = costed_project(&app, &admin, "别人的项目").await;
    let (_, pm) = app.user(&admin, "pm1", &["project_manager"], &[&mine]).await;
    let (_, agent) = app.user(&admin, "agent1", &["sales_agent"], &[&mine]).await;

    assert_eq!(
        app.send(get(&format!("/api/v1/cost/projects/{mine}/dynamic-cost")).token(&pm)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(get(&format!("/api/v1/cost/projects/{other}/dynamic-cost")).token(&pm)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send(get(&format!("/api/v1/cost/projects/{mine}/dynamic-cost")).token(&agent)).await.status,
        StatusCode::FORBIDDEN
    );
    let visa =
        json!({"kind": "visa", "cost_item_id": my_items["04.02"], "reason": "苗木替换", "estimated_amount": "3200.00"});
    let r = app.send(post(&format!("/api/v1/cost/projects/{mine}/variations"), visa.clone()).token(&pm)).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (StatusCode::CREATED, Some("QZ-0001")), "{}", r.text);
    assert_eq!(
        app.send(post(&format!("/api/v1/cost/projects/{other}/variations"), visa).token(&pm)).await.status,
        StatusCode::NOT_FOUND
    );
    // The visa puts 04.02 (no target yet) over its target: the project manager's workbench says so.
    let bench = ok(&app.send(get("/api/v1/workbench").token(&pm)).await);
    let alert = bench["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "cost_over_target").cloned();
    assert_eq!(alert.map(|a| a["count"].clone()), Some(json!(1)), "{bench}");
    let plan = json!({"cost_item_id": my_items["04.02"], "name": "景观", "planned_amount": "1.00"});
    assert_eq!(
        app.send(post(&format!("/api/v1/cost/projects/{mine}/plan-lines"), plan).token(&pm)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_tree_keeps_codes_under_their_parent_and_documents_on_leaves() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "科目项目").await;
    let add = |body: Value| post(&format!("/api/v1/cost/projects/{project}/items"), body);
    let r = app.send(add(json!({"parent_id": items["02"], "code": "03.09", "name": "错位"})).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["code"]);
    let r = app.send(add(json!({"parent_id": items["02"], "code": "02.01", "name": "重复"})).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["code"]);
    let r = app.send(add(json!({"code": "07", "name": "财务费用", "control_mode": "loose"})).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["control_mode"]);
    // A parent item takes no documents: they post to the leaves below it.
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/plan-lines"),
                json!({"cost_item_id": items["03"], "name": "总包", "planned_amount": "1.00"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["cost_item_id"]);
    // A leaf with postings gets no children.
    ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/expected"),
                json!({"cost_item_id": items["05"], "amount": "1.00", "reason": "预留"}),
            )
            .token(&admin),
        )
        .await);
    let r = app.send(add(json!({"parent_id": items["05"], "code": "05.01", "name": "会所"})).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["parent_id"]);
    let template = ok(&app.send(get("/api/v1/cost/template/items").token(&admin)).await);
    let top: Vec<&str> =
        template.as_array().unwrap().iter().filter(|i| i["level"] == 1).map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(top, ["土地费用", "前期工程费", "建筑安装工程费", "基础设施费", "公共配套设施费", "开发间接费"]);
}

#[tokio::test]
async fn the_pages_show_the_tree_drill_down_to_documents_and_return_forms_with_their_mistakes() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "页面项目").await;
    let page = |path: &str| get(path).token(&admin);
    let r = app.send(page(&format!("/cost/projects/{project}"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("动态成本") && r.text.contains("03.01.02 主体结构") && r.text.contains("强控"),
        "{}",
        r.text
    );

    // A form with mistakes comes back with what was typed and each field's message.
    let plan = |amount: &str| {
        form(
            &format!("/cost/projects/{project}/plan-lines"),
            &[("cost_item_id", items["03.01.02"].as_str()), ("name", "主体施工总承包"), ("planned_amount", amount)],
        )
        .token(&admin)
    };
    let r = app.send(plan("三千万")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("主体施工总承包") && r.text.contains("三千万"), "the values stay");
    let r = app.send(plan("30000000.00")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    let r = app
        .send(form("/cost/suppliers", &[("name", "中建某局"), ("credit_code", "91350100M000100Y44")]).token(&admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("校验码不符"), "{}", r.text);
    let r = app
        .send(form("/cost/suppliers", &[("name", "中建某局"), ("credit_code", "91350100M000100Y43")]).token(&admin))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let supplier =
        ok(&app.send(get("/api/v1/cost/suppliers").token(&admin)).await)[0]["id"].as_str().unwrap().to_owned();
    let line = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/plan-lines")).token(&admin)).await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            form(
                &format!("/cost/projects/{project}/contracts"),
                &[
                    ("code", "HT-001"),
                    ("name", "主体施工总承包合同"),
                    ("supplier_id", &supplier),
                    ("kind", "total_price"),
                    ("plan_line_id", &line),
                    ("amount", "30000000.01"),
                    ("retention_percent", "3"),
                ],
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "03.01 is strongly controlled: {}", r.text);
    assert!(r.text.contains("超出合约规划余额"), "{}", r.text);
    let r = app
        .send(
            form(
                &format!("/cost/projects/{project}/contracts"),
                &[
                    ("code", "HT-001"),
                    ("name", "主体施工总承包合同"),
                    ("supplier_id", &supplier),
                    ("kind", "total_price"),
                    ("plan_line_id", &line),
                    ("amount", "29000000.00"),
                    ("signed_on", "2026-05-01"),
                ],
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let contract = r.headers["location"].to_str().unwrap().to_owned();
    let r = app
        .send(
            form(
                &format!("/cost/projects/{project}/variations"),
                &[
                    ("kind", "visa"),
                    ("cost_item_id", &items["03.01.02"]),
                    ("reason", "冬季施工措施"),
                    ("estimated_amount", "12000.00"),
                ],
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let visa = r.headers["location"].to_str().unwrap().to_owned();
    let r = app.send(form(&format!("{visa}/confirm"), &[("confirmed_amount", "abc")]).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.send(form(&format!("{visa}/confirm"), &[("confirmed_amount", "11800.00")]).token(&admin)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    // Every figure drills down: the item's ledger names its documents, which show their entries.
    let r = app.send(page(&format!("/cost/items/{}?as_of=2026-06-30", items["03"]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id_of = |path: &str| path.rsplit('/').next().unwrap().to_owned();
    assert!(
        r.text.contains(&id_of(&contract)) && r.text.contains(&id_of(&visa)) && r.text.contains("29,000,000.00"),
        "{}",
        r.text
    );
    for path in [contract.as_str(), visa.as_str()] {
        let r = app.send(page(path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(r.text.contains("成本台账明细"), "{path}");
    }
    let r = app.send(page(&visa)).await;
    assert!(r.text.contains("11,800.00") && r.text.contains("已确认"), "{}", r.text);

    // Target versions: two drafts, one adopted, compared.
    for amount in ["31000000.00", "32000000.00"] {
        let key = format!("amount_{}", items["03.01.02"]);
        let r = app
            .send(
                form(&format!("/cost/projects/{project}/targets"), &[("stage", "scheme"), (&key, amount)])
                    .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let versions = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/targets")).token(&admin)).await);
    let (v1, v2) = (versions[0]["id"].as_str().unwrap(), versions[1]["id"].as_str().unwrap());
    // A date that is not one comes back in the form, with its message.
    let r = app.send(form(&format!("/cost/targets/{v2}/adopt"), &[("adopted_on", "2026-13-45")]).token(&admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("role=\"alert\"") && r.text.contains("value=\"2026-13-45\""), "{}", r.text);
    let r = app.send(form(&format!("/cost/targets/{v2}/adopt"), &[]).token(&admin)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    for path in [
        format!("/cost/targets/{v2}"),
        format!("/cost/targets/compare?from={v1}&to={v2}"),
        format!("/cost/projects/{project}/targets"),
        "/cost".to_owned(),
        "/cost/suppliers".to_owned(),
        "/cost/template".to_owned(),
    ] {
        let r = app.send(page(&path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let r = app.send(page(&format!("/cost/projects/{project}"))).await;
    assert!(
        r.text.contains("32,000,000.00") && r.text.contains("30,011,800.00"),
        "target and dynamic cost shown: {}",
        r.text
    );
    // The table as a spreadsheet, headers in the reader's language, amounts as numbers.
    let r =
        app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost/export")).token(&admin).lang("en")).await;
    assert_eq!(r.status, StatusCode::OK);
    let rows = loupan_documents::xlsx::read_first_sheet(&r.bytes).unwrap();
    let text = |c: &loupan_documents::xlsx::Cell| c.as_text().unwrap_or_default();
    assert_eq!(rows[0][..4].iter().map(text).collect::<Vec<_>>(), ["Code", "Name", "Responsible department", "Target"]);
    let total = rows.last().unwrap();
    assert_eq!((text(&total[1]), text(&total[9])), ("Total".to_owned(), "30011800".to_owned()));
    let r = app.send(page(&format!("/cost/projects/{project}/dynamic-cost.xlsx"))).await;
    assert_eq!(
        (r.status, r.content_type()),
        (StatusCode::OK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let r = app.send(page(&format!("/cost/projects/{project}?as_of=2026-02-30"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A building with one unit of `gross` m² in the project; the building's id.
async fn one_unit(app: &TestApp, admin: &str, project: &str, gross: &str) -> String {
    let b = ok(&app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(admin))
        .await);
    let r = app
        .send(
            post(
                &format!("/api/v1/buildings/{}/units", b["id"].as_str().unwrap()),
                json!({"floor": 1, "number": "101", "layout": "3室2厅", "gross_area": gross, "inner_area": "80.00",
                       "list_price": "1000000.00", "floor_price": "900000.00"}),
            )
            .token(admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    b["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_trial_calculation_scales_finished_projects_per_m2_figures_to_this_project() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (a, a_items) = costed_project(&app, &admin, "已完工甲").await;
    let (b, b_items) = costed_project(&app, &admin, "已完工乙").await;
    let (mine, mine_items) = costed_project(&app, &admin, "新项目").await;
    one_unit(&app, &admin, &a, "333.33").await;
    one_unit(&app, &admin, &b, "500.00").await;
    one_unit(&app, &admin, &mine, "120.50").await;
    // Project A: a contract of 1,000,000.00 within its plan; project B: 2,000,000.00 expected.
    let supplier = supplier(&app, &admin, "总包", &credit_code(31)).await;
    let line = ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{a}/plan-lines"),
                json!({"cost_item_id": a_items["03.01.02"], "name": "主体", "planned_amount": "1000000.00"}),
            )
            .token(&admin),
        )
        .await);
    ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{a}/contracts"),
                json!({"code": "A-1", "name": "主体合同", "supplier_id": supplier,
                          "lines": [{"plan_line_id": line["id"], "amount": "1000000.00"}]}),
            )
            .token(&admin),
        )
        .await);
    ok(&app
        .send(
            post(
                &format!("/api/v1/cost/projects/{b}/expected"),
                json!({"cost_item_id": b_items["03.01.02"], "amount": "2000000.00", "reason": "结算"}),
            )
            .token(&admin),
        )
        .await);

    let trial = |sources: Value| {
        post(&format!("/api/v1/cost/projects/{mine}/trial-calculation"), json!({"source_project_ids": sources}))
    };
    let r = ok(&app.send(trial(json!([a, b])).token(&admin)).await);
    assert_eq!(r["area"], "120.50");
    // 1,000,000.00 / 333.33 = 3000.03 and 2,000,000.00 / 500.00 = 4000.00 per m²; their mean
    // 3500.015 is 3500.02, and 3500.02 × 120.50 = 421752.41.
    let lines = r["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{r}");
    assert_eq!(
        (lines[0]["code"].as_str(), lines[0]["per_m2"].as_str(), lines[0]["amount"].as_str()),
        (Some("03.01.02"), Some("3500.02"), Some("421752.41"))
    );
    assert_eq!(lines[0]["cost_item_id"].as_str(), Some(mine_items["03.01.02"].as_str()));
    // From A alone: 3000.03 × 120.50 = 361503.615, half away from zero: 361503.62.
    let r = ok(&app.send(trial(json!([a])).token(&admin)).await);
    assert_eq!(
        (r["lines"][0]["per_m2"].as_str(), r["lines"][0]["amount"].as_str()),
        (Some("3000.03"), Some("361503.62"))
    );
    let r = app.send(trial(json!([mine, "nope"])).token(&admin)).await;
    assert_eq!(
        (r.status, r.error_fields()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["source_project_ids".to_owned(); 2])
    );

    // The page fills the new version's form with the proposal.
    let page = app.send(get(&format!("/cost/projects/{mine}/targets?source={a}&source={b}")).token(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("value=\"421,752.41\""), "{}", page.text);
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{a}/dynamic-cost")).token(&admin)).await);
    assert_eq!(cost["saleable_area"], "333.33");
    let item = cost["items"].as_array().unwrap().iter().find(|i| i["code"] == "03.01.02").cloned().unwrap();
    assert_eq!(item["dynamic_per_m2"], "3000.03");
}

#[tokio::test]
async fn a_department_sees_its_responsibility_cost_and_is_alerted_when_an_item_goes_over() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (mine, items) = costed_project(&app, &admin, "责任成本项目").await;
    let (other, other_items) = costed_project(&app, &admin, "别的项目").await;
    let (engineer_id, engineer) = app.user(&admin, "gongcheng", &["cost_engineer"], &[&mine]).await;
    // The administrator names the engineer's department.
    let user = ok(&app.send(get(&format!("/api/v1/admin/users/{engineer_id}")).token(&admin)).await);
    let r = app
        .send(
            patch(
                &format!("/api/v1/admin/users/{engineer_id}"),
                json!({"version": user["version"], "display_name": "工程部 王工", "roles": ["cost_engineer"],
                       "project_ids": [mine], "department": "工程部"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(ok(&r)["department"], "工程部");
    // 03.02 (工程部) gets a target of 10,000.00 and 12,000.50 expected; 02.01 (设计部) goes over too.
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{mine}/targets"),
                json!({"stage": "scheme", "lines": [{"cost_item_id": items["03.02"], "amount": "10000.00"},
                                                    {"cost_item_id": items["03.03"], "amount": "5000.00"}]}),
            )
            .token(&admin),
        )
        .await;
    let version = ok(&r)["version"]["id"].as_str().unwrap().to_owned();
    ok(&app.send(post(&format!("/api/v1/cost/targets/{version}/adopt"), json!({})).token(&admin)).await);
    for (project, item, amount) in [
        (&mine, &items["03.02"], "12000.50"),
        (&mine, &items["03.03"], "1000.00"),
        (&mine, &items["02.01"], "800.00"),
        (&other, &other_items["03.02"], "7.00"),
    ] {
        let r = app
            .send(
                post(
                    &format!("/api/v1/cost/projects/{project}/expected"),
                    json!({"cost_item_id": item, "amount": amount, "reason": "预估"}),
                )
                .token(&admin),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let bench = ok(&app.send(get("/api/v1/workbench").token(&engineer)).await);
    let alert = bench["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "cost_department_over").cloned();
    assert_eq!(alert.map(|a| a["count"].clone()), Some(json!(1)), "{bench}");
    let lines = bench["responsibility"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "only the engineer's project: {bench}");
    let line = &lines[0];
    assert_eq!((line["department"].as_str(), line["project_id"].as_str()), (Some("工程部"), Some(mine.as_str())));
    assert_eq!((line["target"].as_str(), line["dynamic"].as_str()), (Some("15000.00"), Some("13000.50")));
    assert_eq!(line["balance"], "1999.50");
    let over: Vec<&str> = line["over_target"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(over, vec!["03.02"]);
    assert_eq!(line["over_target"][0]["balance"], "-2000.50");

    // Every department of both projects for the administrator; one when named.
    let all = ok(&app.send(get("/api/v1/cost/responsibility").token(&admin)).await);
    let design: Vec<&Value> = all["lines"].as_array().unwrap().iter().filter(|l| l["department"] == "设计部").collect();
    assert_eq!(design.len(), 2, "设计部 in both projects: {all}");
    let one =
        ok(&app.send(get("/api/v1/cost/responsibility?department=%E8%AE%BE%E8%AE%A1%E9%83%A8").token(&admin)).await);
    assert!(one["lines"].as_array().unwrap().iter().all(|l| l["department"] == "设计部"), "{one}");
    let page = app.send(get("/").token(&engineer)).await;
    assert!(
        page.text.contains("responsibility-cost")
            && !page.text.contains("12,000.50")
            && page.text.contains("13,000.50"),
        "{}",
        page.text
    );
    let page = app.send(get("/cost/responsibility").token(&engineer)).await;
    assert!(page.status == StatusCode::OK && page.text.contains("03.02"), "{}", page.text);
    // The same as a spreadsheet: the engineer's one line, the item over target named.
    let sheet = sheet_rows(
        &app.send(get("/cost/responsibility.xlsx?department=%E5%B7%A5%E7%A8%8B%E9%83%A8").token(&engineer)).await,
    );
    assert_eq!(sheet.len(), 2, "{sheet:?}");
    assert_eq!(
        (sheet[1][0].as_str(), sheet[1][1].as_str(), sheet[1][9].as_str()),
        ("工程部", "责任成本项目", "13000.5")
    );
    assert!(sheet[1][11].starts_with("03.02 "), "{sheet:?}");
}

/// The first sheet of an xlsx reply, each cell as text.
fn sheet_rows(r: &Reply) -> Vec<Vec<String>> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    loupan_documents::xlsx::read_first_sheet(&r.bytes)
        .unwrap()
        .iter()
        .map(|row| row.iter().map(|c| c.as_text().unwrap_or_default()).collect())
        .collect()
}

/// A spreadsheet's number as fen.
fn fen_of(cell: &str) -> i64 {
    (cell.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {cell}")) * 100.0).round() as i64
}

#[tokio::test]
async fn changes_and_visas_are_approved_by_their_size_before_they_count() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "签证审批项目").await;
    let (_, pm) = app.user(&admin, "pm_size", &["project_manager"], &[&project]).await;
    let (_, boss) = app.user(&admin, "boss_size", &["executive"], &[&project]).await;
    let submit = |kind: &str, amount: &str| {
        post(
            &format!("/api/v1/cost/projects/{project}/variations"),
            json!({"kind": kind, "cost_item_id": items["04.02"], "reason": "苗木调整", "estimated_amount": amount}),
        )
    };
    let expected_now = || async {
        let body = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
        body["total"]["dynamic"].as_str().unwrap().to_owned()
    };
    // 50,000.00 and a saving of as much: no step, they count at once.
    for amount in ["50000.00", "-50000.00"] {
        let r = app.send(submit("visa", amount).token(&admin)).await;
        assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::CREATED, Some("estimated")), "{}", r.text);
    }
    assert_eq!(expected_now().await, "0.00");
    // 50,000.01: the project manager; rejected, it never counts.
    let r = app.send(submit("visa", "50000.01").token(&admin)).await;
    let small = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["status"], "pending");
    let waiting = ok(&app.send(get("/api/v1/approvals?state=pending").token(&pm)).await);
    let request =
        waiting["items"].as_array().unwrap().iter().find(|a| a["subject_id"] == small.as_str()).cloned().unwrap();
    let path = format!("/api/v1/approvals/{}/reject", request["id"].as_str().unwrap());
    ok(&app.send(post(&path, json!({"comment": "签证依据不足"})).token(&pm)).await);
    let rejected = ok(&app.send(get(&format!("/api/v1/cost/variations/{small}")).token(&admin)).await);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(expected_now().await, "0.00");
    // 600,000.00: the project manager, then the general manager; it counts once both approved.
    let r = app.send(submit("change", "600000.00").token(&admin)).await;
    let big = r.json()["id"].as_str().unwrap().to_owned();
    approve(&app, &pm, &big).await;
    assert_eq!(ok(&app.send(get(&format!("/api/v1/cost/variations/{big}")).token(&admin)).await)["status"], "pending");
    assert_eq!(expected_now().await, "0.00");
    approve(&app, &boss, &big).await;
    assert_eq!(
        ok(&app.send(get(&format!("/api/v1/cost/variations/{big}")).token(&admin)).await)["status"],
        "estimated"
    );
    assert_eq!(expected_now().await, "600000.00");
    // The page links the change to its approval.
    let page = app.send(get(&format!("/cost/variations/{big}")).token(&admin)).await;
    assert!(page.text.contains("variation-approval"), "{}", page.text);
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn sheet(rows: &[[&str; 5]]) -> Vec<u8> {
    use loupan_documents::xlsx::{Cell, write_table};
    let headers: Vec<String> = ["科目编码", "科目名称", "计量单位", "责任部门", "控制方式"].map(String::from).to_vec();
    let rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| r.iter().map(|c| if c.is_empty() { Cell::Empty } else { Cell::Text((*c).to_owned()) }).collect())
        .collect();
    write_table("成本科目", &headers, &rows).unwrap()
}

#[tokio::test]
async fn the_tree_goes_out_to_excel_and_comes_back_with_new_items_and_changes() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "科目导入项目").await;
    let r = app.send(get(&format!("/api/v1/cost/projects/{project}/items/export")).token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let table = loupan_documents::xlsx::read_first_sheet(&r.bytes).unwrap();
    let text = |c: &loupan_documents::xlsx::Cell| c.as_text().unwrap_or_default();
    assert_eq!(
        table[0].iter().map(text).collect::<Vec<_>>(),
        ["科目编码", "科目名称", "计量单位", "责任部门", "控制方式"]
    );
    assert_eq!(table.len(), items.len() + 1);
    let row_0302 = table.iter().find(|r| r.first().map(text).as_deref() == Some("03.02")).unwrap();
    assert_eq!(row_0302.iter().map(text).collect::<Vec<_>>(), ["03.02", "安装工程", "m2", "工程部", "强控"]);

    // Something already posted to 06.01: it takes no children.
    let r = app
        .send(
            post(
                &format!("/api/v1/cost/projects/{project}/expected"),
                json!({"cost_item_id": items["06.01"], "amount": "10.00", "reason": "预估"}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let path = format!("/api/v1/cost/projects/{project}/items/import");
    let wrong = sheet(&[
        ["03.02", "安装工程（含消防）", "m2", "机电部", ""],
        ["07.01", "不可预见费", "", "成本管理部", ""],
        ["07", "预备费", "", "成本管理部", "强控"],
        ["x..y", "坏编码", "", "", ""],
        ["09.01", "没有上级", "", "", ""],
        ["03.02.01", "消防工程", "m2", "机电部", "中控"],
        ["06.01.01", "监理费", "", "", ""],
        ["07", "重复", "", "", ""],
    ]);
    let r = app.send(post_bytes(&format!("{path}?mode=import"), wrong, XLSX).token(&admin)).await;
    let report = ok(&r);
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (5, "invalid_code"),
            (6, "unknown_parent"),
            (7, "unknown_control_mode"),
            (8, "item_has_postings"),
            (9, "listed_twice")
        ]
    );
    assert_eq!(report["written"], false);
    assert_eq!(tree(&app, &admin, &project).await, items, "nothing written");

    let right = sheet(&[
        ["03.02", "安装工程（含消防）", "m2", "机电部", ""],
        ["07.01", "不可预见费", "", "成本管理部", ""],
        ["07", "预备费", "", "成本管理部", "强控"],
        ["03.02.01", "消防工程", "m2", "机电部", "弱控"],
    ]);
    let check = ok(&app.send(post_bytes(&path, right.clone(), XLSX).token(&admin)).await);
    assert_eq!(
        (check["created"].as_u64(), check["updated"].as_u64(), &check["written"]),
        (Some(3), Some(1), &json!(false))
    );
    let done = ok(&app.send(post_bytes(&format!("{path}?mode=import"), right, XLSX).token(&admin)).await);
    assert_eq!(done["written"], true);
    let after = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/items")).token(&admin)).await);
    let by_code = |code: &str| after.as_array().unwrap().iter().find(|i| i["code"] == code).cloned().unwrap();
    assert_eq!(
        (by_code("03.02")["name"].as_str(), by_code("03.02")["department"].as_str()),
        (Some("安装工程（含消防）"), Some("机电部"))
    );
    assert_eq!(by_code("03.02")["leaf"], false);
    assert_eq!(by_code("07.01")["parent_id"], by_code("07")["id"]);
    assert_eq!(by_code("07.01")["control_mode"], "strong", "a new item takes its parent's control mode");
    assert_eq!(by_code("03.02.01")["control_mode"], "weak");
    // A file that is not a spreadsheet is refused by field.
    let r = app.send(post_bytes(&path, b"not a sheet".to_vec(), XLSX).token(&admin)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["file".to_owned()]));
}

#[tokio::test]
async fn a_strong_line_takes_a_larger_contract_once_its_adjustment_is_approved() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, item, line, supplier) = one_line(&app, &admin, "strong").await;
    let (_, pm) = app.user(&admin, "pm_adjust", &["project_manager"], &[&project]).await;
    let contracts = format!("/api/v1/cost/projects/{project}/contracts");
    let first = json!({"code": "HT-A", "name": "机电一期", "supplier_id": supplier,
                       "lines": [{"plan_line_id": line, "amount": "60000.00"}]});
    assert_eq!(app.send(post(&contracts, first).token(&admin)).await.status, StatusCode::CREATED);
    let second = json!({"code": "HT-B", "name": "机电二期", "supplier_id": supplier,
                        "lines": [{"plan_line_id": line, "amount": "55000.00"}]});
    let r = app.send(post(&contracts, second.clone()).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["lines[0].amount"], "over the strong line's 40,000.00 left: {}", r.text);

    let adjust = format!("/api/v1/cost/plan-lines/{line}/adjustments");
    for (amount, code) in [("100000.00", "same_amount"), ("59999.99", "below_contracted")] {
        let r = app.send(post(&adjust, json!({"planned_amount": amount, "reason": "二期增加"})).token(&admin)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["planned_amount".to_owned()]));
        assert!(r.text.contains(code), "{}", r.text);
    }
    let r = app
        .send(post(&adjust, json!({"planned_amount": "115000.00", "reason": "二期机电增加消防联动"})).token(&admin))
        .await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::CREATED, Some("pending")), "{}", r.text);
    let pending = |body: &Value| {
        let l = body["items"].as_array().unwrap().iter().find(|i| i["cost_item_id"] == item.as_str()).cloned().unwrap();
        l["pending"].as_str().unwrap().to_owned()
    };
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    assert_eq!(pending(&cost), "40000.00", "nothing moves before the approval");
    let summary = approve(&app, &pm, &line).await;
    assert!(summary.contains("100,000.00") && summary.contains("115,000.00"), "{summary}");
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    assert_eq!(pending(&cost), "55000.00");
    let lines = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/plan-lines")).token(&admin)).await);
    assert_eq!(lines[0]["planned_amount"], "115000.00");
    let r = app.send(post(&contracts, second).token(&admin)).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::CREATED, Some("signed")), "{}", r.text);
    let cost = ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(&admin)).await);
    assert_eq!(pending(&cost), "0.00");
    // The adjustment's entry drills down to the plan line, with its reason.
    let ledger = ok(&app.send(get(&format!("/api/v1/cost/items/{item}/postings?bucket=pending")).token(&admin)).await);
    assert!(
        ledger["postings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["amount"] == "15000.00" && p["note"] == "二期机电增加消防联动"),
        "{ledger}"
    );
}

#[tokio::test]
async fn a_target_version_takes_effect_on_the_day_it_names() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, items) = costed_project(&app, &admin, "目标生效项目").await;
    let version = |amount: &str| {
        post(
            &format!("/api/v1/cost/projects/{project}/targets"),
            json!({"stage": "scheme", "lines": [{"cost_item_id": items["03.02"], "amount": amount}]}),
        )
    };
    let target_on = |on: &'static str| {
        let app = &app;
        let admin = &admin;
        let project = &project;
        async move {
            let body = ok(&app
                .send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost?as_of={on}")).token(admin))
                .await);
            body["total"]["target"].as_str().unwrap().to_owned()
        }
    };
    let first = ok(&app.send(version("1000.00").token(&admin)).await)["version"]["id"].as_str().unwrap().to_owned();
    let adopt = |id: &str, on: &str| post(&format!("/api/v1/cost/targets/{id}/adopt"), json!({"adopted_on": on}));
    ok(&app.send(adopt(&first, "2026-02-01").token(&admin)).await);
    assert_eq!((target_on("2026-01-31").await, target_on("2026-02-01").await), ("0.00".into(), "1000.00".into()));
    let second = ok(&app.send(version("1500.00").token(&admin)).await)["version"]["id"].as_str().unwrap().to_owned();
    for (on, code) in [("2026-01-15", "before_last_adoption"), ("2026-07-01", "in_the_future")] {
        let r = app.send(adopt(&second, on).token(&admin)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["adopted_on".to_owned()]));
        assert!(r.text.contains(code), "{}", r.text);
    }
    ok(&app.send(adopt(&second, "2026-04-01").token(&admin)).await);
    assert_eq!((target_on("2026-03-31").await, target_on("2026-04-01").await), ("1000.00".into(), "1500.00".into()));
}

#[tokio::test]
async fn plan_lines_contracts_and_variations_export_as_they_are_listed() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, _item, line, supplier) = one_line(&app, &admin, "strong").await;
    let contract = json!({"code": "HT-X", "name": "机电合同", "supplier_id": supplier, "kind": "unit_price",
                          "lines": [{"plan_line_id": line, "amount": "12345.67"}]});
    ok(&app.send(post(&format!("/api/v1/cost/projects/{project}/contracts"), contract).token(&admin)).await);
    let rows = |path: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let r = app.send(get(&path).token(admin)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let table = loupan_documents::xlsx::read_first_sheet(&r.bytes).unwrap();
            table
                .iter()
                .map(|row| row.iter().map(|c| c.as_text().unwrap_or_default()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        }
    };
    let plan = rows(format!("/api/v1/cost/projects/{project}/plan-lines/export")).await;
    assert_eq!(plan[0][0], "规划合同");
    assert_eq!((plan[1][0].as_str(), plan[1][4].as_str(), plan[1][6].as_str()), ("机电安装", "100000", "87654.33"));
    let contracts = rows(format!("/api/v1/cost/projects/{project}/contracts/export")).await;
    assert_eq!(contracts[1][..6], ["HT-X", "机电合同", "机电公司strong", "单价合同", "2026-06-30", "已签订"]);
    let variations = rows(format!("/api/v1/cost/projects/{project}/variations/export")).await;
    assert_eq!(variations.len(), 1, "headers only: {variations:?}");
}

/// Expected cost of `amount` on 03.01.02 of a project.
async fn expect(app: &TestApp, admin: &str, project: &str, item: &str, amount: &str) {
    let body = json!({"cost_item_id": item, "amount": amount, "reason": "结算"});
    ok(&app.send(post(&format!("/api/v1/cost/projects/{project}/expected"), body).token(admin)).await);
}

#[tokio::test]
async fn per_m2_figures_read_against_the_gross_floor_area_once_every_building_has_one() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (a, a_items) = costed_project(&app, &admin, "已完工甲").await;
    let (b, b_items) = costed_project(&app, &admin, "已完工乙").await;
    let (mine, _) = costed_project(&app, &admin, "新项目").await;
    let a_building = one_unit(&app, &admin, &a, "333.33").await;
    let b_building = one_unit(&app, &admin, &b, "500.00").await;
    let my_building = one_unit(&app, &admin, &mine, "120.50").await;
    expect(&app, &admin, &a, &a_items["03.01.02"], "1000000.00").await;
    expect(&app, &admin, &b, &b_items["03.01.02"], "2000000.00").await;
    let cost_of = |project: String| {
        let app = &app;
        let admin = &admin;
        async move { ok(&app.send(get(&format!("/api/v1/cost/projects/{project}/dynamic-cost")).token(admin)).await) }
    };
    let item =
        |cost: &Value| cost["items"].as_array().unwrap().iter().find(|i| i["code"] == "03.01.02").cloned().unwrap();

    // Nothing entered yet: no figure per m² of gross floor area, and no trial on it.
    let cost = cost_of(a.clone()).await;
    assert_eq!(
        (cost["gross_floor_area"].clone(), item(&cost)["dynamic_per_m2_gfa"].clone()),
        (Value::Null, Value::Null)
    );
    let trial = |basis: &str| {
        post(
            &format!("/api/v1/cost/projects/{mine}/trial-calculation"),
            json!({"source_project_ids": [a, b], "basis": basis}),
        )
    };
    let r = app.send(trial("gross_floor_area").token(&admin)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["project_id".to_owned()]));
    assert!(r.text.contains("gross floor area") || r.text.contains("总建筑面积"), "{}", r.text);
    assert_eq!(app.send(trial("volume").token(&admin)).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A cost engineer enters them; a sales agent may not; nonsense is refused on the field.
    let (_, engineer) = app.user(&admin, "ce_gfa", &["cost_engineer"], &[&a, &b, &mine]).await;
    let (_, agent) = app.user(&admin, "agent_gfa", &["sales_agent"], &[&a]).await;
    let gfa = |building: &str, area: Value| {
        patch(&format!("/api/v1/buildings/{building}"), json!({"gross_floor_area": area}))
    };
    assert_eq!(app.send(gfa(&a_building, json!("400.00")).token(&agent)).await.status, StatusCode::FORBIDDEN);
    for bad in ["0", "-5.00", "12.345", "abc", "20000000.00"] {
        let r = app.send(gfa(&a_building, json!(bad)).token(&engineer)).await;
        assert_eq!(
            (r.status, r.error_fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["gross_floor_area".to_owned()]),
            "{bad}"
        );
    }
    let r = ok(&app.send(gfa(&a_building, json!("400.00")).token(&engineer)).await);
    assert_eq!((r["gross_floor_area"].as_str(), r["version"].as_i64()), (Some("400.00"), Some(2)));
    ok(&app.send(gfa(&b_building, json!("625.00")).token(&engineer)).await);
    assert_eq!(
        ok(&app.send(get(&format!("/api/v1/buildings/{a_building}")).token(&agent)).await)["gross_floor_area"],
        "400.00"
    );

    // 1,000,000.00 / 400.00 = 2500.00 per m² of gross floor area (and 3000.03 of saleable area).
    let cost = cost_of(a.clone()).await;
    assert_eq!(cost["gross_floor_area"], "400.00");
    let line = item(&cost);
    assert_eq!(
        (line["dynamic_per_m2"].as_str(), line["dynamic_per_m2_gfa"].as_str()),
        (Some("3000.03"), Some("2500.00"))
    );
    assert_eq!(line["target_per_m2_gfa"], "0.00");
    // A second building without one makes the project's figure unknown again, not a part.
    let second =
        ok(&app.send(post(&format!("/api/v1/projects/{a}/buildings"), json!({"name": "2号楼"})).token(&admin)).await);
    assert_eq!(cost_of(a.clone()).await["gross_floor_area"], Value::Null);
    ok(&app.send(gfa(second["id"].as_str().unwrap(), json!("100.00")).token(&engineer)).await);
    // 1,000,000.00 / 500.00 = 2000.00.
    let cost = cost_of(a.clone()).await;
    assert_eq!(
        (cost["gross_floor_area"].as_str(), item(&cost)["dynamic_per_m2_gfa"].as_str()),
        (Some("500.00"), Some("2000.00"))
    );
    let group = ok(&app.send(get("/api/v1/cost/group/dynamic-cost").token(&admin)).await);
    let line = group["projects"].as_array().unwrap().iter().find(|p| p["project_id"] == a.as_str()).cloned().unwrap();
    assert_eq!(
        (line["gross_floor_area"].as_str(), line["dynamic_per_m2_gfa"].as_str()),
        (Some("500.00"), Some("2000.00"))
    );

    // The trial on gross floor area: A 2000.00 and B 2,000,000.00 / 625.00 = 3200.00 per m²,
    // their mean 2600.00, × this project's 150.00 m² = 390,000.00.
    ok(&app.send(gfa(&my_building, json!("150")).token(&engineer)).await);
    let r = ok(&app.send(trial("gross_floor_area").token(&admin)).await);
    assert_eq!((r["basis"].as_str(), r["area"].as_str()), (Some("gross_floor_area"), Some("150.00")));
    let lines = r["lines"].as_array().unwrap();
    assert_eq!(
        (lines[0]["code"].as_str(), lines[0]["per_m2"].as_str(), lines[0]["amount"].as_str()),
        (Some("03.01.02"), Some("2600.00"), Some("390000.00")),
        "{r}"
    );
    // On saleable area it is as before: 3500.02 × 120.50.
    let r = ok(&app.send(trial("saleable_area").token(&admin)).await);
    assert_eq!(r["lines"][0]["amount"], "421752.41");

    // The pages: the cost page lists the buildings' areas with a form, the trial offers the basis.
    let page = app.send(get(&format!("/cost/projects/{mine}")).token(&engineer)).await;
    assert!(
        page.status == StatusCode::OK
            && page.text.contains("id=\"building-areas\"")
            && page.text.contains("value=\"150.00\""),
        "{}",
        page.text
    );
    let r = app
        .send(
            form(
                &format!("/cost/projects/{mine}/gross-floor-area"),
                &[("building_id", &my_building), ("gross_floor_area", "-1")],
            )
            .token(&engineer),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("value=\"-1\""), "the typed value comes back: {}", r.text);
    let r = app
        .send(
            form(
                &format!("/cost/projects/{mine}/gross-floor-area"),
                &[("building_id", &a_building), ("gross_floor_area", "1")],
            )
            .token(&engineer),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a building of another project");
    let r = app
        .send(
            form(
                &format!("/cost/projects/{mine}/gross-floor-area"),
                &[("building_id", &my_building), ("gross_floor_area", "180.00")],
            )
            .token(&engineer),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = app
        .send(get(&format!("/cost/projects/{mine}/targets?source={a}&source={b}&basis=gross_floor_area")).token(&admin))
        .await;
    // 2600.00 × 180.00 = 468,000.00.
    assert!(page.status == StatusCode::OK && page.text.contains("value=\"468,000.00\""), "{}", page.text);
}

/// A body as a browser posts a form with one file.
fn multipart(file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

#[tokio::test]
async fn contracts_and_variations_keep_their_attachments_for_those_who_see_them() {
    let app = app_on("2026-06-30").await;
    let admin = app.admin().await;
    let (project, item, line, supplier) = one_line(&app, &admin, "weak").await;
    let contract = json!({"code": "HT-F", "name": "机电合同", "supplier_id": supplier,
                          "lines": [{"plan_line_id": line, "amount": "50000.00"}]});
    let contract =
        ok(&app.send(post(&format!("/api/v1/cost/projects/{project}/contracts"), contract).token(&admin)).await);
    let contract = contract["id"].as_str().unwrap().to_owned();
    let files = format!("/api/v1/cost/contracts/{contract}/files");
    let upload = |name: &str, bytes: &[u8]| {
        post_bytes(&format!("{files}?file_name={}", urlencoding(name)), bytes.to_vec(), "application/octet-stream")
    };
    let scan = ok(&app.send(upload("合同扫描件.pdf", b"%PDF-1.4\n% signed scan\n").token(&admin)).await);
    assert_eq!(
        (scan["content_type"].as_str(), scan["purpose"].as_str(), scan["owner_type"].as_str()),
        (Some("application/pdf"), Some("attachment"), Some("cost_contract"))
    );
    let bill = ok(&app.send(upload("工程量清单.xlsx", b"PK\x03\x04 the bill of quantities").token(&admin)).await);
    assert_eq!(bill["content_type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    // What is not a known document is refused on the file, in the reader's language.
    let r = app.send(upload("notes.txt", b"just text").token(&admin).lang("zh-CN")).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["file".to_owned()]));
    assert_eq!(app.send(upload("empty.pdf", b"").token(&admin)).await.error_fields(), vec!["file".to_owned()]);

    let list = ok(&app.send(get(&files).token(&admin)).await);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // A picture or PDF is shown; an office document is downloaded under its (Chinese) name.
    let r = app.send(get(&format!("/api/v1/files/{}", bill["id"].as_str().unwrap())).token(&admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, b"PK\x03\x04 the bill of quantities");
    let disposition = r.headers.get("content-disposition").unwrap().to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename*=UTF-8''%E5%B7%A5%E7%A8%8B%E9%87%8F%E6%B8%85%E5%8D%95.xlsx");
    let r = app.send(get(&format!("/api/v1/files/{}", scan["id"].as_str().unwrap())).token(&admin)).await;
    assert!(r.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("inline"));

    // The project manager sees them and attaches site photos to a visa, but not to the contract;
    // a sales agent and a manager of another project see nothing.
    let (_, pm) = app.user(&admin, "pm_files", &["project_manager"], &[&project]).await;
    let (_, agent) = app.user(&admin, "agent_files", &["sales_agent"], &[&project]).await;
    let (other_project, _) = costed_project(&app, &admin, "别的项目").await;
    let (_, other_pm) = app.user(&admin, "pm_other_files", &["project_manager"], &[&other_project]).await;
    assert_eq!(app.send(get(&files).token(&pm)).await.status, StatusCode::OK);
    assert_eq!(app.send(upload("x.pdf", b"%PDF-1.4").token(&pm)).await.status, StatusCode::FORBIDDEN);
    let scan_path = format!("/api/v1/files/{}", scan["id"].as_str().unwrap());
    assert_eq!(app.send(get(&scan_path).token(&agent)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.send(get(&scan_path).token(&other_pm)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send(get(&files).token(&other_pm)).await.status, StatusCode::NOT_FOUND);
    let visa = json!({"kind": "visa", "cost_item_id": item, "reason": "现场签证", "estimated_amount": "3200.00"});
    let visa = ok(&app.send(post(&format!("/api/v1/cost/projects/{project}/variations"), visa).token(&pm)).await);
    let visa = visa["id"].as_str().unwrap().to_owned();
    let photo = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    let r = app
        .send(
            post_bytes(
                &format!("/api/v1/cost/variations/{visa}/files?file_name=site.jpg"),
                photo.to_vec(),
                "image/jpeg",
            )
            .token(&pm),
        )
        .await;
    assert_eq!((r.status, r.json()["content_type"].as_str()), (StatusCode::CREATED, Some("image/jpeg")), "{}", r.text);
    assert_eq!(app.send(delete(&scan_path).token(&pm)).await.status, StatusCode::FORBIDDEN);

    // The pages: listed with their names, a refused file comes back with the reason, removal goes back.
    let page = app.send(get(&format!("/cost/contracts/{contract}")).token(&admin)).await;
    assert!(page.text.contains("合同扫描件.pdf") && page.text.contains("id=\"attachment-form\""), "{}", page.text);
    let r = app
        .send(
            post_bytes(
                &format!("/cost/contracts/{contract}/attachments"),
                multipart("readme.txt", b"plain"),
                "multipart/form-data; boundary=XyZ",
            )
            .token(&admin)
            .lang("en"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("role=\"alert\"") && r.text.contains("工程量清单.xlsx"), "{}", r.text);
    let r = app
        .send(
            post_bytes(
                &format!("/cost/variations/{visa}/attachments"),
                multipart("图纸.dwg", b"AC1032 drawing"),
                "multipart/form-data; boundary=XyZ",
            )
            .token(&pm),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let listed = ok(&app.send(get(&format!("/api/v1/cost/variations/{visa}/files")).token(&pm)).await);
    let types: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|f| f["content_type"].as_str().unwrap()).collect();
    assert!(types.contains(&"image/vnd.dwg") && types.contains(&"image/jpeg"), "{types:?}");
    let r = app.send(form(&format!("/files/{}/delete", scan["id"].as_str().unwrap()), &[]).token(&admin)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get("location").unwrap(), &format!("/cost/contracts/{contract}#attachments"));
    assert_eq!(ok(&app.send(get(&files).token(&admin)).await)["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.send(get(&scan_path).token(&admin)).await.status, StatusCode::NOT_FOUND);
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'.' { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}
