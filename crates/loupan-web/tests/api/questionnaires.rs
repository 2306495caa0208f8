//! Questionnaires through the real router: a questionnaire with a condition
//! answered 200 times on the tablet, its distributions equal to what was
//! answered, the cross analysis of grade × an answer equal to a chi-square
//! computed here; versions kept once answered; a personal link answered once
//! without login, and refused when expired.

use crate::support::*;
use axum::http::StatusCode;
use chrono::{FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

struct Office {
    app: TestApp,
    project: String,
    /// Customer service: designs and reads.
    desk: String,
    agent: String,
}

async fn office() -> Office {
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    let now = beijing.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap().with_timezone(&Utc);
    let app = TestApp::with_clock(loupan_service::Clock::set_at(beijing, now)).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, desk) = app.user(&admin, "desk", &["service"], &[&project]).await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    Office { app, project, desk, agent }
}

impl Office {
    async fn ok(&self, call: Call, token: &str, status: StatusCode) -> Value {
        let r = self.app.send(call.token(token)).await;
        assert_eq!(r.status, status, "{}", r.text);
        r.json()
    }

    async fn customer(&self, token: &str, name: &str, phone: &str, grade: &str) -> String {
        let body = json!({"project_id": self.project, "name": name, "phone": phone, "grade": grade});
        self.ok(post("/api/v1/customers", body), token, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
    }

    async fn design(&self) -> Value {
        let questions = json!([
            {"key": "heard", "text": "您从哪里得知本项目？", "kind": "single", "required": true,
             "options": [{"key": "ad", "label": "广告"}, {"key": "friend", "label": "朋友介绍"}, {"key": "web", "label": "网络"}]},
            {"key": "why", "text": "打动您的是？", "kind": "multiple", "required": true,
             "options": [{"key": "school", "label": "学区"}, {"key": "metro", "label": "地铁"}, {"key": "view", "label": "景观"}],
             "show_if": {"question": "heard", "any_of": ["friend", "web"]}},
            {"key": "score", "text": "对案场服务的评分", "kind": "scale5", "required": true},
            {"key": "area", "text": "期望面积（㎡）", "kind": "number"},
            {"key": "note", "text": "其他建议", "kind": "text"}
        ]);
        let body =
            json!({"project_id": self.project, "stage": "first_visit", "title": "首访问卷", "questions": questions});
        self.ok(post("/api/v1/questionnaires", body), &self.desk, StatusCode::CREATED).await
    }
}

/// The seeded answers of respondent i: grade, heard, why, score.
fn seeded(i: usize) -> (&'static str, &'static str, Vec<&'static str>, u32) {
    let grade = if i % 5 < 2 { "A" } else { "B" };
    // Grade A hears more often from friends: the two are not independent.
    let heard = match (grade, i % 7) {
        ("A", 0..=3) | ("B", 0..=1) => "friend",
        (_, 2..=4) => "ad",
        _ => "web",
    };
    let why = match i % 4 {
        0 => vec!["school"],
        1 => vec!["school", "view"],
        2 => vec!["metro"],
        _ => vec!["view", "metro", "school"],
    };
    (grade, heard, why, (i % 5) as u32 + 1)
}

#[tokio::test]
async fn two_hundred_answers_are_counted_and_crossed_with_the_chi_square_test() {
    let o = office().await;
    let q = o.design().await;
    let id = q["id"].as_str().unwrap().to_owned();
    assert_eq!((q["version"].as_i64(), q["answered"].as_bool()), (Some(1), Some(false)));
    let n = 200;
    for i in 0..n {
        let (grade, heard, why, score) = seeded(i);
        let customer = o.customer(&o.agent, &format!("客户{i:03}"), &format!("1390000{i:04}"), grade).await;
        // `why` is sent every time; for those who saw an ad it is not shown and is dropped.
        let answers = json!({"heard": heard, "why": why, "score": score, "area": if i % 2 == 0 { json!("89.5") } else { json!(null) }});
        let r = o
            .ok(
                post(
                    &format!("/api/v1/questionnaires/{id}/responses"),
                    json!({"customer_id": customer, "answers": answers}),
                ),
                &o.agent,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(r["answers"].get("why").is_some(), heard != "ad", "{r}");
    }

    let analysis = o.ok(get(&format!("/api/v1/questionnaires/{id}/analysis")), &o.desk, StatusCode::OK).await;
    assert_eq!(analysis["responses"], n);
    let question =
        |key: &str| analysis["questions"].as_array().unwrap().iter().find(|q| q["key"] == key).unwrap().clone();
    let count = |q: &Value, value: &str| {
        q["values"].as_array().unwrap().iter().find(|v| v["value"] == value).unwrap()["count"].as_u64().unwrap()
    };
    let heard = question("heard");
    for option in ["ad", "friend", "web"] {
        let expected = (0..n).filter(|i| seeded(*i).1 == option).count() as u64;
        assert_eq!(count(&heard, option), expected, "{option}");
    }
    let why = question("why");
    let shown: Vec<usize> = (0..n).filter(|i| seeded(*i).1 != "ad").collect();
    assert_eq!(why["answered"].as_u64(), Some(shown.len() as u64));
    for option in ["school", "metro", "view"] {
        let expected = shown.iter().filter(|i| seeded(**i).2.contains(&option)).count() as u64;
        assert_eq!(count(&why, option), expected, "{option}");
    }
    let scores: Vec<u32> = (0..n).map(|i| seeded(i).3).collect();
    let mean = f64::from(scores.iter().sum::<u32>()) / n as f64;
    assert_eq!(question("score")["mean"].as_f64(), Some((mean * 100.0).round() / 100.0));
    assert_eq!(question("area")["answered"].as_u64(), Some(100));
    assert_eq!(question("area")["median"].as_f64(), Some(89.5));

    // Grade × where they heard of the project, with the test computed here.
    let table = o
        .ok(
            get(&format!("/api/v1/questionnaires/{id}/cross-analysis?rows=grade&columns=q.heard")),
            &o.desk,
            StatusCode::OK,
        )
        .await;
    assert_eq!(table["rows"], json!(["A", "B"]));
    assert_eq!(table["columns"], json!(["ad", "friend", "web"]), "in the questionnaire's order");
    assert_eq!(table["column_labels"], json!(["广告", "朋友介绍", "网络"]));
    let observed: Vec<Vec<f64>> = ["A", "B"]
        .iter()
        .map(|g| {
            ["ad", "friend", "web"]
                .iter()
                .map(|h| (0..n).filter(|i| seeded(*i).0 == *g && seeded(*i).1 == *h).count() as f64)
                .collect()
        })
        .collect();
    for (i, row) in observed.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            assert_eq!(table["counts"][i][j].as_f64(), Some(*cell));
        }
    }
    let total: f64 = observed.iter().flatten().sum();
    let row_totals: Vec<f64> = observed.iter().map(|r| r.iter().sum()).collect();
    let column_totals: Vec<f64> = (0..3).map(|j| observed.iter().map(|r| r[j]).sum()).collect();
    let mut chi_square = 0.0;
    for i in 0..2 {
        for j in 0..3 {
            let expected = row_totals[i] * column_totals[j] / total;
            chi_square += (observed[i][j] - expected).powi(2) / expected;
        }
    }
    // Two degrees of freedom: the survival function is exp(−x/2) exactly.
    let p = (-chi_square / 2.0).exp();
    assert_eq!(table["degrees_of_freedom"], 2);
    assert!((table["chi_square"].as_f64().unwrap() - chi_square).abs() < 1e-9, "{table}");
    assert!((table["p_value"].as_f64().unwrap() - p).abs() < 1e-9, "{} vs {p}", table["p_value"]);
    let friend_of_a = observed[0][1] / row_totals[0] * 100.0;
    assert_eq!(table["row_percent"][0][1].as_f64(), Some((friend_of_a * 10.0).round() / 10.0));
    // The page's chart draws the same figures as its table: each column a
    // series over the rows, in percent of the row.
    let page =
        o.app.send(get(&format!("/questionnaires/{id}/analysis?rows=grade&columns=q.heard")).token(&o.desk)).await;
    let chart = chart_on(&page.text, "cross-chart");
    assert_eq!(chart["kind"], "stacked");
    assert_eq!(chart["labels"], json!(["A", "B"]));
    let series = chart["series"].as_array().unwrap();
    assert_eq!(
        series.iter().map(|s| s["label"].clone()).collect::<Vec<_>>(),
        table["column_labels"].as_array().unwrap().clone()
    );
    for (j, s) in series.iter().enumerate() {
        for i in 0..2 {
            assert_eq!(s["data"][i], table["row_percent"][i][j], "row {i}, column {j}");
        }
    }
    let heard = chart_on(&page.text, "chart-heard");
    assert_eq!(heard["labels"], json!(["广告", "朋友介绍", "网络"]));
    assert!(page.text.contains("/assets/vendor/chart.umd.min.js"), "the page loads the chart library");
    let library = o.app.send(get("/assets/vendor/chart.umd.min.js")).await;
    assert_eq!(library.status, StatusCode::OK);
    assert!(library.text.contains("Chart.js v4"), "the vendored library is served from Loupan itself");

    // A multiple choice counts each option chosen: no test.
    let multiple = o
        .ok(
            get(&format!("/api/v1/questionnaires/{id}/cross-analysis?rows=q.why&columns=grade")),
            &o.desk,
            StatusCode::OK,
        )
        .await;
    assert_eq!((multiple["multiple_response"].as_bool(), multiple["p_value"].is_null()), (Some(true), true));
    // Texts and numbers are not categories; unknown names are refused on their field.
    let r = o
        .app
        .send(get(&format!("/api/v1/questionnaires/{id}/cross-analysis?rows=q.area&columns=q.nope")).token(&o.desk))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<(String, String)> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(fields, [("rows".into(), "not_a_category".into()), ("columns".into(), "unknown_question".into())]);
    let xlsx = o
        .app
        .send(
            get(&format!("/api/v1/questionnaires/{id}/cross-analysis/export?rows=grade&columns=q.heard"))
                .token(&o.desk),
        )
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.bytes.starts_with(b"PK"), "an xlsx is a zip");
    // Agents answer but do not read the analysis.
    assert_eq!(
        o.app.send(get(&format!("/api/v1/questionnaires/{id}/analysis")).token(&o.agent)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn answers_are_checked_and_an_answered_version_is_kept() {
    let o = office().await;
    let q = o.design().await;
    let id = q["id"].as_str().unwrap().to_owned();
    let customer = o.customer(&o.agent, "王建国", "13900139000", "A").await;
    let responses = format!("/api/v1/questionnaires/{id}/responses");
    // Required and shown, out of range, unknown option: each named on its field.
    let r = o
        .app
        .send(
            post(
                &responses,
                json!({"customer_id": customer, "answers": {"heard": "friend", "score": 9, "note": ["a", {}]}}),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "answers.note");
    let r = o
        .app
        .send(
            post(&responses, json!({"customer_id": customer, "answers": {"heard": "tv", "score": 9}})).token(&o.agent),
        )
        .await;
    let codes: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, ["answers.heard:unknown_option", "answers.score:answer_not_on_the_scale"]);
    let r = o
        .app
        .send(
            post(&responses, json!({"customer_id": customer, "answers": {"heard": "web", "score": 4}})).token(&o.agent),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["field"], "answers.why", "{}", r.text);

    // Editing before any answer replaces version 1.
    let mut questions = q["questions"].clone();
    questions[2]["text"] = json!("对置业顾问的评分");
    let edited = o
        .ok(
            patch(&format!("/api/v1/questionnaires/{id}"), json!({"revision": q["revision"], "questions": questions})),
            &o.desk,
            StatusCode::OK,
        )
        .await;
    assert_eq!(edited["version"], 1);
    o.ok(
        post(&responses, json!({"customer_id": customer, "answers": {"heard": "ad", "score": 4}})),
        &o.agent,
        StatusCode::CREATED,
    )
    .await;
    // A stale revision is a conflict; after an answer an edit makes version 2.
    let stale = o
        .app
        .send(
            patch(&format!("/api/v1/questionnaires/{id}"), json!({"revision": q["revision"], "title": "x"}))
                .token(&o.desk),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let mut questions = edited["questions"].clone();
    questions.as_array_mut().unwrap().push(json!({"key": "budget", "text": "预算", "kind": "single", "required": true,
        "options": [{"key": "low", "label": "300万以下"}, {"key": "high", "label": "300万以上"}]}));
    let v2 = o
        .ok(
            patch(
                &format!("/api/v1/questionnaires/{id}"),
                json!({"revision": edited["revision"], "questions": questions}),
            ),
            &o.desk,
            StatusCode::OK,
        )
        .await;
    assert_eq!((v2["version"].as_i64(), v2["answered"].as_bool()), (Some(2), Some(false)));
    o.ok(
        post(&responses, json!({"customer_id": customer, "answers": {"heard": "ad", "score": 5, "budget": "high"}})),
        &o.agent,
        StatusCode::CREATED,
    )
    .await;
    let list = o.ok(get(&responses), &o.desk, StatusCode::OK).await;
    let versions: Vec<i64> = list["items"].as_array().unwrap().iter().map(|r| r["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [2, 1]);
    let analysis = o.ok(get(&format!("/api/v1/questionnaires/{id}/analysis")), &o.desk, StatusCode::OK).await;
    assert_eq!(analysis["questions"][0]["answered"], 2, "both versions count");
    // The answer is on the customer's timeline.
    let timeline = o.ok(get(&format!("/api/v1/customers/{customer}/timeline")), &o.agent, StatusCode::OK).await;
    assert!(timeline["items"].as_array().unwrap().iter().any(|e| e["kind"] == "questionnaire"), "{timeline}");

    // A closed questionnaire takes no answers; a customer of another project is refused.
    o.ok(
        patch(&format!("/api/v1/questionnaires/{id}"), json!({"revision": v2["revision"], "open": false})),
        &o.desk,
        StatusCode::OK,
    )
    .await;
    let r = o
        .app
        .send(
            post(
                &responses,
                json!({"customer_id": customer, "answers": {"heard": "ad", "score": 5, "budget": "high"}}),
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str().map(str::to_owned)),
        (StatusCode::CONFLICT, Some("questionnaire_closed".into()))
    );
}

#[tokio::test]
async fn a_personal_link_is_answered_once_without_login_and_expires() {
    let o = office().await;
    let q = o.design().await;
    let id = q["id"].as_str().unwrap().to_owned();
    let customer = o.customer(&o.agent, "王芳", "13900139001", "B").await;
    let sent = o
        .ok(
            post(&format!("/api/v1/questionnaires/{id}/links"), json!({"customer_id": customer})),
            &o.desk,
            StatusCode::CREATED,
        )
        .await;
    let link = sent["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("/questionnaire/"), "{link}");
    // The page shows the questions and nothing of the customer.
    let page = o.app.send(get(&link)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("首访问卷") && page.text.contains("朋友介绍") && !page.text.contains("王芳"));
    // A shown required question left out is named; nothing is recorded.
    let r = o.app.send(form(&link, &[("heard", "friend"), ("score", "5")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = o
        .app
        .send(form(
            &link,
            &[("heard", "friend"), ("why", "school"), ("why", "view"), ("score", "5"), ("note", "样板间很好")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("questionnaire-thanks"));
    let again = o.app.send(form(&link, &[("heard", "ad"), ("score", "1")])).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let list = o.ok(get(&format!("/api/v1/questionnaires/{id}/responses")), &o.desk, StatusCode::OK).await;
    let answered = &list["items"][0];
    assert_eq!(
        (answered["channel"].as_str(), answered["answers"]["why"].clone()),
        (Some("link"), json!(["school", "view"]))
    );
    assert!(answered["link"].is_null());
    // An unknown token is not found; an expired link is refused.
    assert_eq!(o.app.send(get("/questionnaire/0123456789abcdef0123456789abcdef")).await.status, StatusCode::NOT_FOUND);
    let late = o
        .ok(
            post(&format!("/api/v1/questionnaires/{id}/links"), json!({"customer_id": customer})),
            &o.desk,
            StatusCode::CREATED,
        )
        .await;
    let later = o.app.services.clock.now() + chrono::Duration::days(31);
    o.app.services.clock.set(later);
    assert_eq!(o.app.send(get(late["link"].as_str().unwrap())).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_pages_show_the_list_the_builder_the_tablet_and_the_analysis() {
    let o = office().await;
    let q = o.design().await;
    let id = q["id"].as_str().unwrap().to_owned();
    let customer = o.customer(&o.agent, "王建国", "13900139000", "A").await;
    let answers = json!({"heard": "friend", "why": ["school"], "score": 4, "note": "样板间 很好"});
    o.ok(
        post(&format!("/api/v1/questionnaires/{id}/responses"), json!({"customer_id": customer, "answers": answers})),
        &o.agent,
        StatusCode::CREATED,
    )
    .await;
    for (path, token, shows) in [
        ("/questionnaires".to_owned(), &o.desk, "首访问卷"),
        (format!("/questionnaires/{id}"), &o.desk, "朋友介绍"),
        (format!("/questionnaires/{id}?edit=why"), &o.desk, "show_if_values"),
        (format!("/questionnaires/{id}/answer"), &o.agent, "data-show-if=\"heard\""),
        (format!("/questionnaires/{id}/answer?customer_id={customer}"), &o.agent, "王建国"),
        (format!("/questionnaires/{id}/analysis"), &o.desk, "cross-table"),
        (format!("/questionnaires/{id}/analysis?rows=q.why&columns=grade"), &o.desk, "cross-table"),
    ] {
        let r = o.app.send(get(&path).token(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(r.text.contains(shows), "{path} shows {shows}");
    }
    // The tablet finds the customer by phone and records the answers.
    let r = o
        .app
        .send(
            form(
                &format!("/questionnaires/{id}/answer"),
                &[("customer_q", "139 0013 9000"), ("heard", "ad"), ("score", "5")],
            )
            .token(&o.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // Two customers of one name: the tablet offers both to choose one, keeping the answers.
    let namesake = o.customer(&o.agent, "王建国", "13700137000", "B").await;
    let answer_path = format!("/questionnaires/{id}/answer");
    let r = o
        .app
        .send(form(&answer_path, &[("customer_q", "王建国"), ("heard", "ad"), ("score", "3")]).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("customer-choices") && r.text.contains(&customer) && r.text.contains(&namesake),
        "{}",
        r.text
    );
    let r = o
        .app
        .send(form(&answer_path, &[("customer_id", &namesake), ("heard", "ad"), ("score", "3")]).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let responses = o.ok(get(&format!("/api/v1/questionnaires/{id}/responses")), &o.desk, StatusCode::OK).await;
    assert!(responses["items"].as_array().unwrap().iter().any(|r| r["customer_id"] == namesake.as_str()));
    // The builder adds a question with a condition typed by label.
    let r = o
        .app
        .send(
            form(
                &format!("/questionnaires/{id}/questions"),
                &[
                    ("revision", "1"),
                    ("text", "看过哪些户型？"),
                    ("kind", "multiple"),
                    ("options", "两房\n三房"),
                    ("show_if_question", "heard"),
                    ("show_if_values", "朋友介绍, 网络"),
                ],
            )
            .token(&o.desk),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let after = o.ok(get(&format!("/api/v1/questionnaires/{id}")), &o.desk, StatusCode::OK).await;
    assert_eq!(after["version"], 2, "answered: a new version");
    let added = after["questions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(added["show_if"], json!({"question": "heard", "any_of": ["friend", "web"]}));
    assert_eq!(added["options"], json!([{"key": "o1", "label": "两房"}, {"key": "o2", "label": "三房"}]));
}

/// The figures a page's chart draws: the JSON of `<canvas id="{id}" … data-chart='…'>`.
fn chart_on(html: &str, id: &str) -> Value {
    let canvas = &html[html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no chart {id}"))..];
    let start = canvas.find("data-chart='").expect("data-chart") + "data-chart='".len();
    let end = start + canvas[start..].find('\'').expect("end of data-chart");
    serde_json::from_str(&canvas[start..end]).expect("the chart's figures are JSON")
}
