//! Customers through the real router: duplicate check, data scope on every
//! customer route, personal data encrypted and masked, follow-ups, timeline,
//! duplicate rulings and transfers.

use crate::support::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

struct Office {
    app: TestApp,
    project: String,
    admin: String,
    manager: String,
    agent_a: (String, String),
    agent_b: (String, String),
}

async fn office() -> Office {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, manager) = app.user(&admin, "mgr", &["sales_manager"], &[&project]).await;
    let agent_a = app.user(&admin, "agent_a", &["sales_agent"], &[&project]).await;
    let agent_b = app.user(&admin, "agent_b", &["sales_agent"], &[&project]).await;
    Office { app, project, admin, manager, agent_a, agent_b }
}

async fn register(o: &Office, token: &str, body: Value) -> Value {
    let mut body = body;
    body["project_id"] = json!(o.project);
    let r = o.app.send(post("/api/v1/customers", body).token(token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn registration_finds_duplicates_by_phone_in_any_format_and_by_name() {
    let o = office().await;
    let first = register(&o, &o.agent_a.1, json!({"name": "张三", "phone": "13800138000"})).await;
    assert_eq!(first["duplicates"], json!([]));
    assert_eq!(first["phone"], "13800138000", "the owner sees the whole number");
    let second = register(&o, &o.agent_b.1, json!({"name": "张三", "phone": "+86 138-0013-8000"})).await;
    assert_eq!(second["duplicates"][0]["match"], "both");
    assert_eq!(second["duplicates"][0]["owner_agent"], "agent_a");
    let third = register(&o, &o.agent_b.1, json!({"name": "李四", "phone": "１３８ ００１３ ８０００"})).await;
    let kinds: Vec<&str> =
        third["duplicates"].as_array().unwrap().iter().map(|d| d["match"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["phone", "phone"]);
    let by_name = register(&o, &o.agent_b.1, json!({"name": "张三", "phone": "13900000001"})).await;
    assert!(by_name["duplicates"].as_array().unwrap().iter().all(|d| d["match"] == "name"));

    // While typing, before saving.
    let r = o
        .app
        .send(
            get(&format!("/api/v1/customers/duplicate-check?project_id={}&phone=138%200013%208000", o.project))
                .token(&o.agent_b.1),
        )
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3);

    let records = o.app.send(get("/api/v1/customers/duplicate-records?status=open").token(&o.manager)).await.json();
    assert_eq!(records["items"].as_array().unwrap().len(), 5);
    assert_eq!(
        o.app.send(get("/api/v1/customers/duplicate-records").token(&o.agent_a.1)).await.status,
        StatusCode::FORBIDDEN
    );

    // The manager gives the second registration of 张三 to the first agent.
    let rec = records["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer"]["id"] == second["id"] && r["match"] == "both")
        .unwrap();
    let rule = format!("/api/v1/customers/duplicate-records/{}/rule", rec["id"].as_str().unwrap());
    let r = o.app.send(post(&rule, json!({"ruling": "assign_to_first", "note": "首访在前"})).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = o.app.send(post(&rule, json!({"ruling": "keep_both"})).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let moved =
        o.app.send(get(&format!("/api/v1/customers/{}", second["id"].as_str().unwrap())).token(&o.agent_a.1)).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(
        o.app
            .send(get(&format!("/api/v1/customers/{}", second["id"].as_str().unwrap())).token(&o.agent_b.1))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn agents_reach_only_their_own_customers_through_every_route() {
    let o = office().await;
    let c = register(&o, &o.agent_a.1, json!({"name": "王五", "phone": "13900139000"})).await;
    let id = c["id"].as_str().unwrap();
    let b = &o.agent_b.1;
    for call in [
        get(&format!("/api/v1/customers/{id}")),
        get(&format!("/api/v1/customers/{id}/follow-ups")),
        get(&format!("/api/v1/customers/{id}/timeline")),
    ] {
        assert_eq!(o.app.send(call.token(b)).await.status, StatusCode::NOT_FOUND);
    }
    let r = o.app.send(post(&format!("/api/v1/customers/{id}/follow-ups"), json!({"outcome": "偷看"})).token(b)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = o.app.send(post(&format!("/api/v1/customers/{id}/reveal"), json!({"reason": "x"})).token(b)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = o
        .app
        .send(post("/api/v1/customers/transfer", json!({"customer_ids": [id], "to_agent": o.agent_b.0})).token(b))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let listed = o.app.send(get("/api/v1/customers").token(b)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let listed = o.app.send(get("/api/v1/customers?q=13900139000").token(b)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);

    // The project's manager sees the customer, with the phone masked.
    let seen = o.app.send(get(&format!("/api/v1/customers/{id}")).token(&o.manager)).await.json();
    assert_eq!(seen["phone"], "139****9000");
    // An agent of another project sees nothing even with the id.
    let other = o.app.project(&o.admin, "金色港湾").await;
    let (_, outsider) = o.app.user(&o.admin, "mgr2", &["sales_manager"], &[&other]).await;
    assert_eq!(
        o.app.send(get(&format!("/api/v1/customers/{id}")).token(&outsider)).await.status,
        StatusCode::NOT_FOUND
    );
    // Roles without customer rights are refused outright.
    let (_, cost) = o.app.user(&o.admin, "cost", &["cost_engineer"], &[&o.project]).await;
    assert_eq!(o.app.send(get("/api/v1/customers").token(&cost)).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn id_numbers_are_encrypted_at_rest_masked_and_revealed_only_with_a_logged_reason() {
    let o = office().await;
    let c = register(
        &o,
        &o.agent_a.1,
        json!({"name": "赵六", "phone": "13700137000", "id_type": "resident_id", "id_number": "11010519491231002x"}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["id_number_masked"], "110105********002X");
    assert!(!c.to_string().contains("11010519491231002X"));
    let r = o.app.send(post("/api/v1/customers", json!({"project_id": o.project, "name": "钱七", "phone": "13700137001", "id_number": "110105194912310021"})).token(&o.agent_a.1)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["id_number".to_owned()]));

    // Nothing in the database holds the number in clear.
    use loupan_store::sea_orm_reexport::{FromQueryResult, JsonValue, Statement};
    let backend = o.app.services.store.backend();
    let rows = JsonValue::find_by_statement(Statement::from_string(backend, "SELECT * FROM customers".to_owned()))
        .all(o.app.services.store.conn())
        .await
        .unwrap();
    let raw = serde_json::to_string(&rows).unwrap();
    assert!(
        raw.contains("110105********002X") && !raw.contains("11010519491231002X") && !raw.contains("1101051949"),
        "{raw}"
    );

    // Found by exact ID number through the blind index.
    let found = o.app.send(get("/api/v1/customers?q=11010519491231002X").token(&o.agent_a.1)).await.json();
    assert_eq!(found["items"][0]["id"], id);

    let r = o.app.send(post(&format!("/api/v1/customers/{id}/reveal"), json!({})).token(&o.manager)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason".to_owned()]));
    let r = o
        .app
        .send(post(&format!("/api/v1/customers/{id}/reveal"), json!({"reason": "网签核对"})).token(&o.manager))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["id_number"], "11010519491231002X");
    let trail = o.app.send(get(&format!("/api/v1/admin/audit?record_id={id}")).token(&o.admin)).await.json();
    let reveal = &trail["items"][0];
    assert_eq!(reveal["action"], "customer.reveal_personal_data");
    assert_eq!(reveal["after"]["reason"], "网签核对");
    assert_eq!(reveal["actor_name"], "mgr");
    assert!(!trail.to_string().contains("11010519491231002X"), "the trail never holds the number");
}

#[tokio::test]
async fn search_by_pinyin_initials_and_phone_in_any_format() {
    let o = office().await;
    register(&o, &o.agent_a.1, json!({"name": "张三", "phone": "13800138000"})).await;
    register(&o, &o.agent_a.1, json!({"name": "张三丰", "phone": "13800138001"})).await;
    register(&o, &o.agent_a.1, json!({"name": "李四", "phone": "13800138002"})).await;
    // 伟 is U+4F1F and 传 U+4F20: a prefix search ends where the next character begins.
    register(&o, &o.agent_a.1, json!({"name": "王伟", "phone": "13800138003"})).await;
    register(&o, &o.agent_a.1, json!({"name": "王传", "phone": "13800138004"})).await;
    register(&o, &o.agent_a.1, json!({"name": "王伟明", "phone": "13800138005"})).await;
    let names = |v: Value| {
        v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    for (q, expected) in [
        ("zhangsan", vec!["张三", "张三丰"]),
        ("zs", vec!["张三", "张三丰"]),
        ("ZSF", vec!["张三丰"]),
        ("张", vec!["张三", "张三丰"]),
        ("+86%20138-0013-8002", vec!["李四"]),
        ("ls", vec!["李四"]),
        ("%25", vec![]),
        ("王伟", vec!["王伟", "王伟明"]),
        ("王传", vec!["王传"]),
        ("王_", vec![]),
        ("王%25", vec![]),
        ("wangw", vec!["王伟", "王伟明"]),
        ("wc", vec!["王传"]),
    ] {
        let found = o.app.send(get(&format!("/api/v1/customers?q={q}")).token(&o.agent_a.1)).await;
        assert_eq!(found.status, StatusCode::OK, "{q}: {}", found.text);
        assert_eq!(names(found.json()), expected, "q={q}");
    }
}

/// A customer is found by the surname's reading as a surname, by full pinyin
/// and by initials: 曾 zeng (not ceng), 单 shan, 区 ou, 乐 yue, and compound
/// surnames as one surname (欧阳 ouyang, 尉迟 yuchi, 万俟 moqi).
#[tokio::test]
async fn surnames_are_found_by_their_reading_as_surnames() {
    let o = office().await;
    let people = [
        ("曾志伟", "zengzhiwei", "zzw"),
        ("单田芳", "shantianfang", "stf"),
        ("区志明", "ouzhiming", "ozm"),
        ("乐嘉", "yuejia", "yj"),
        ("查良镛", "zhaliang", "zly"),
        ("欧阳娜娜", "ouyang", "oynn"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("万俟卨", "moqi", "mqx"),
        ("诸葛亮", "zhugeliang", "zgl"),
    ];
    for (i, (name, _, _)) in people.iter().enumerate() {
        register(&o, &o.agent_a.1, json!({"name": name, "phone": format!("1370013{i:04}")})).await;
    }
    for (name, full, initials) in people {
        for q in [full, initials] {
            let found = o.app.send(get(&format!("/api/v1/customers?q={q}")).token(&o.agent_a.1)).await;
            assert_eq!(found.status, StatusCode::OK, "{q}: {}", found.text);
            let listed = found.json()["items"].as_array().unwrap().iter().any(|c| c["name"] == name);
            assert!(listed, "{name} by {q}: {}", found.text);
        }
    }
    let found = o.app.send(get("/api/v1/customers?q=ceng").token(&o.agent_a.1)).await.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "曾 as a surname is not ceng");

    // Customers registered under the old reading are read again by the migration's refresh.
    use loupan_store::Connection;
    let conn = o.app.services.store.conn();
    conn.execute_unprepared(
        "UPDATE customers SET name_pinyin = 'cengzhiwei', name_initials = 'czw' WHERE name = '曾志伟'",
    )
    .await
    .unwrap();
    let stale = o.app.send(get("/api/v1/customers?q=zengzhiwei").token(&o.agent_a.1)).await.json();
    assert_eq!(stale["items"].as_array().unwrap().len(), 0);
    assert_eq!(loupan_store::customers::refresh_name_pinyin(conn).await.unwrap(), 1, "only the stale one changes");
    let found = o.app.send(get("/api/v1/customers?q=zengzhiwei").token(&o.agent_a.1)).await.json();
    assert_eq!(found["items"][0]["name"], "曾志伟");
}

/// One letter typed by someone who sees every customer is a search by first
/// initial (its own index, in id order): it finds exactly what the same
/// letter finds in a project's scope, Latin names included.
#[tokio::test]
async fn one_letter_finds_the_same_customers_for_the_whole_group_as_in_a_project() {
    let o = office().await;
    let names = ["曾志伟", "查良镛", "诸葛亮", "张三", "王五", "欧阳娜娜", "Zoe Smith", "zack", "1号客户", "区志明"];
    for (i, name) in names.iter().enumerate() {
        register(&o, &o.agent_a.1, json!({"name": name, "phone": format!("1370014{i:04}")})).await;
    }
    let listed = |r: &Value| -> Vec<String> {
        r["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    for (q, expected) in [("z", 6), ("o", 2), ("w", 1), ("1", 1), ("x", 0)] {
        let everyone = o.app.send(get(&format!("/api/v1/customers?q={q}")).token(&o.admin)).await;
        assert_eq!(everyone.status, StatusCode::OK, "{}", everyone.text);
        let scoped = o.app.send(get(&format!("/api/v1/customers?q={q}")).token(&o.agent_a.1)).await;
        let (everyone, scoped) = (listed(&everyone.json()), listed(&scoped.json()));
        assert_eq!(everyone, scoped, "q={q}");
        assert_eq!(everyone.len(), expected, "q={q}: {everyone:?}");
    }
}

/// The first one or two characters of a name typed by someone who sees
/// every customer are an equality on the name's start (an index of its own,
/// in id order): they find exactly what the same characters find in a
/// project's scope, page after page, and nothing whose name only contains them.
#[tokio::test]
async fn a_surname_or_two_characters_find_the_same_customers_for_the_whole_group_as_in_a_project() {
    let o = office().await;
    let names = ["王伟", "王传", "王伟明", "王", "汪伟", "李王伟", "王伟伟", "a座王伟", "a座", "王%"];
    for (i, name) in names.iter().enumerate() {
        register(&o, &o.agent_a.1, json!({"name": name, "phone": format!("1370015{i:04}")})).await;
    }
    let other = o.app.project(&o.admin, "滨江花园").await;
    let r = o
        .app
        .send(
            post("/api/v1/customers", json!({"name": "王伟强", "phone": "13700159999", "project_id": other}))
                .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Every page of two, as the cursor walks them.
    let pages = |token: String, q: &'static str| {
        let app = &o.app;
        async move {
            let mut names = Vec::new();
            let mut cursor = String::new();
            loop {
                let path = format!(
                    "/api/v1/customers?q={}&limit=2&cursor={cursor}",
                    form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
                );
                let page = app.send(get(&path).token(&token)).await;
                assert_eq!(page.status, StatusCode::OK, "{q}: {}", page.text);
                let page = page.json();
                names.extend(page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()));
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = next.to_owned(),
                    None => return names,
                }
            }
        }
    };
    for (q, in_project) in [
        ("王", vec!["王伟", "王传", "王伟明", "王", "王伟伟", "王%"]),
        ("王伟", vec!["王伟", "王伟明", "王伟伟"]),
        ("王传", vec!["王传"]),
        ("王伟明", vec!["王伟明"]),
        ("汪", vec!["汪伟"]),
        ("a座", vec!["a座王伟", "a座"]),
        ("a", vec!["a座王伟", "a座"]),
        ("王%", vec!["王%"]),
        ("王_", vec![]),
        ("伟", vec![]),
    ] {
        let scoped = pages(o.agent_a.1.clone(), q).await;
        assert_eq!(scoped, in_project, "q={q} in the project");
        let everyone = pages(o.admin.clone(), q).await;
        let elsewhere: Vec<String> = everyone.iter().filter(|n| !scoped.contains(n)).cloned().collect();
        let expected_elsewhere = if "王伟强".starts_with(q) { vec!["王伟强".to_owned()] } else { vec![] };
        assert_eq!(elsewhere, expected_elsewhere, "q={q} for the whole group: {everyone:?}");
        assert_eq!(
            everyone.iter().filter(|n| scoped.contains(n)).collect::<Vec<_>>(),
            scoped.iter().collect::<Vec<_>>(),
            "q={q}"
        );
    }
}

#[tokio::test]
async fn follow_ups_and_transfers_appear_on_the_timeline() {
    let o = office().await;
    let c = register(&o, &o.agent_a.1, json!({"name": "孙七", "phone": "13600136000"})).await;
    let id = c["id"].as_str().unwrap();
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/customers/{id}/follow-ups"),
                json!({"kind": "visit", "outcome": "看了3室户型", "next_contact_on": "2026-12-01"}),
            )
            .token(&o.agent_a.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/customers/{id}/follow-ups"),
                json!({"kind": "dance", "outcome": "", "next_contact_on": "2026-13-01"}),
            )
            .token(&o.agent_a.1),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["kind", "outcome", "next_contact_on"]);
    let me = o.app.send(get(&format!("/api/v1/customers/{id}")).token(&o.agent_a.1)).await.json();
    assert!(me["last_contact_at"].is_string());

    // Agent A leaves: the manager hands all their customers to agent B.
    let r = o
        .app
        .send(
            post("/api/v1/customers/transfer", json!({"from_agent": o.agent_a.0, "to_agent": o.agent_b.0}))
                .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["transferred"], 1);
    assert_eq!(
        o.app.send(get(&format!("/api/v1/customers/{id}")).token(&o.agent_a.1)).await.status,
        StatusCode::NOT_FOUND
    );
    let timeline = o.app.send(get(&format!("/api/v1/customers/{id}/timeline")).token(&o.agent_b.1)).await.json();
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["transfer", "follow_up", "registered"]);
    // Each reader sees the story in their own language; programs get its facts.
    assert_eq!(timeline["items"][2]["facts"]["name"], "孙七");
    assert_eq!(timeline["items"][2]["summary"], "登记客户 孙七");
    let agent_b_name = timeline["items"][0]["facts"]["agent"].as_str().unwrap().to_owned();
    assert_eq!(timeline["items"][0]["summary"], format!("转给 {agent_b_name}"));
    let english =
        o.app.send(get(&format!("/api/v1/customers/{id}/timeline")).token(&o.agent_b.1).lang("en")).await.json();
    assert_eq!(english["items"][0]["summary"], format!("Handed to {agent_b_name}"));
    assert!(english["items"][1]["summary"].as_str().unwrap().starts_with("Visit: "), "{}", english["items"][1]);
    assert!(timeline["items"][1]["summary"].as_str().unwrap().starts_with("来访："), "{}", timeline["items"][1]);
    let follow_ups = o.app.send(get(&format!("/api/v1/customers/{id}/follow-ups")).token(&o.agent_b.1)).await.json();
    assert_eq!(follow_ups["items"][0]["outcome"], "看了3室户型", "history stays with the customer");
    // A transfer to someone outside the project is refused.
    let (outsider, _) = o.app.user(&o.admin, "outsider", &["sales_agent"], &[]).await;
    let r = o
        .app
        .send(post("/api/v1/customers/transfer", json!({"customer_ids": [id], "to_agent": outsider})).token(&o.manager))
        .await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["to_agent".to_owned()]));
}

#[tokio::test]
async fn bad_customer_input_names_the_fields() {
    let o = office().await;
    let a = &o.agent_a.1;
    let r =
        o.app.send(post("/api/v1/customers", json!({"phone": "13800000001", "project_id": o.project})).token(a)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]));
    let r = o
        .app
        .send(post("/api/v1/customers", json!({"name": "钱八", "phone": "call me", "project_id": o.project})).token(a))
        .await;
    assert_eq!(r.error_fields(), vec!["phone"]);
    let r = o
        .app
        .send(
            post(
                "/api/v1/customers",
                json!({"name": "x".repeat(200_000), "phone": "13800000002", "project_id": o.project}),
            )
            .token(a),
        )
        .await;
    assert!(r.status.is_client_error());
    let other = o.app.project(&o.admin, "金色港湾").await;
    let r = o
        .app
        .send(post("/api/v1/customers", json!({"name": "钱八", "phone": "13800000003", "project_id": other})).token(a))
        .await;
    assert_eq!(r.error_fields(), vec!["project_id"]);
}

fn customer_sheet(rows: &[[&str; 4]]) -> Vec<u8> {
    use loupan_documents::xlsx::{Cell, write_table};
    let headers: Vec<String> = ["姓名", "电话", "证件号码", "来源渠道"].iter().map(|h| (*h).to_owned()).collect();
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| r.iter().map(|v| if v.is_empty() { Cell::Empty } else { Cell::Text((*v).to_owned()) }).collect())
        .collect();
    write_table("客户", &headers, &cells).unwrap()
}

#[tokio::test]
async fn customers_import_from_excel_with_the_forms_rules_and_duplicate_check() {
    let o = office().await;
    register(&o, &o.agent_a.1, json!({"name": "张三", "phone": "13800138000"})).await;
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let import = |bytes: Vec<u8>, mode: &str| {
        post_bytes(&format!("/api/v1/customers/import?project_id={}&mode={mode}", o.project), bytes, xlsx)
            .token(&o.agent_b.1)
    };
    let file = customer_sheet(&[
        ["李雷", "13912345678", "", "网络"],
        ["张三", "+86 138-0013-8000", "", ""],
        ["韩梅梅", "call me", "", ""],
        ["王五", "13712345678", "110105194912310021", ""],
    ]);
    let r = o.app.send(import(file.clone(), "check")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let report = r.json();
    let errors: Vec<(u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(4, "电话", "invalid_phone"), (5, "证件号码", "invalid_id_number")]);
    assert_eq!(report["duplicates"][0]["row"], 3);
    assert_eq!(report["duplicates"][0]["duplicates"][0]["match"], "both");
    assert_eq!(report["written"], false);
    // With invalid rows the import itself writes nothing either.
    assert_eq!(o.app.send(import(file, "import")).await.json()["written"], false);
    assert_eq!(
        o.app.send(get("/api/v1/customers").token(&o.agent_b.1)).await.json()["items"].as_array().unwrap().len(),
        0
    );

    let fixed = customer_sheet(&[["李雷", "13912345678", "", "网络"], ["张三", "+86 138-0013-8000", "", ""]]);
    let report = o.app.send(import(fixed, "import")).await.json();
    assert_eq!((report["created"].as_u64(), report["written"].as_bool()), (Some(2), Some(true)));
    let mine = o.app.send(get("/api/v1/customers").token(&o.agent_b.1)).await.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let records = o.app.send(get("/api/v1/customers/duplicate-records?status=open").token(&o.manager)).await.json();
    assert_eq!(records["items"].as_array().unwrap().len(), 1, "the imported duplicate awaits a ruling");

    // Rows of one file match each other and earlier imports, as registrations one by one would.
    let again = customer_sheet(&[
        ["赵六", "13612345678", "", ""],
        ["赵六", "136 1234 5678", "", ""],
        ["李雷", "13500000000", "", ""],
    ]);
    let report = o.app.send(import(again, "import")).await.json();
    assert_eq!(report["created"], 3);
    let rows: Vec<(u64, &str)> = report["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["row"].as_u64().unwrap(), d["duplicates"][0]["match"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [(3, "both"), (4, "name")]);
    let records = o.app.send(get("/api/v1/customers/duplicate-records?status=open").token(&o.manager)).await.json();
    assert_eq!(records["items"].as_array().unwrap().len(), 3);
    let timeline = o
        .app
        .send(
            get(&format!("/api/v1/customers/{}/timeline", mine["items"][0]["id"].as_str().unwrap()))
                .token(&o.agent_b.1),
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK);
    // Every imported customer is in the audit trail, and the chain holds.
    let trail = o.app.send(get("/api/v1/admin/audit?record_type=customer&limit=100").token(&o.admin)).await.json();
    let registered = trail["items"].as_array().unwrap().iter().filter(|i| i["action"] == "customer.register").count();
    assert_eq!(registered, 6, "one registration and five imported");
    let verified = o.app.send(get("/api/v1/admin/audit/verify").token(&o.admin)).await.json();
    assert_eq!(verified["intact"], true, "{verified}");

    // The manager's export is masked and audited.
    let req = axum::http::Request::get("/api/v1/customers/export")
        .header("authorization", format!("Bearer {}", o.manager))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(o.app.router.clone(), req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    let table = loupan_documents::xlsx::read_first_sheet(&bytes).unwrap();
    let phones: Vec<String> = table.iter().skip(1).filter_map(|r| r[1].as_text()).collect();
    assert_eq!(phones.len(), 6);
    assert!(phones.iter().all(|p| p.contains("****")), "{phones:?}");
    let trail = o.app.send(get("/api/v1/admin/audit?record_type=customer_list").token(&o.admin)).await.json();
    assert_eq!(trail["items"][0]["after"]["rows"], 6);
    // Agents have no export right: a leaving agent does not take the list along.
    let r = o.app.send(get("/api/v1/customers/export").token(&o.agent_b.1)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!o.app.send(get("/customers").token(&o.agent_b.1)).await.text.contains("/api/v1/customers/export"));
}

#[tokio::test]
async fn a_large_import_runs_as_a_job_whose_progress_and_report_its_owner_follows() {
    let o = office().await;
    let names: Vec<(String, String)> =
        (0..450).map(|i| (format!("批量客户{i:03}"), format!("1390000{i:04}"))).collect();
    let rows: Vec<[&str; 4]> = names.iter().map(|(n, p)| [n.as_str(), p.as_str(), "", "团购"]).collect();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let path = format!("/api/v1/customers/import/jobs?project_id={}", o.project);
    let r = o.app.send(post_bytes(&path, b"not a spreadsheet".to_vec(), xlsx).token(&o.agent_b.1)).await;
    assert_eq!(r.error_fields(), vec!["file"], "a file that is no xlsx is refused at once");
    let r = o.app.send(post_bytes(&path, customer_sheet(&rows), xlsx).token(&o.agent_b.1)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job = r.json();
    let id = job["id"].as_str().unwrap();
    assert_eq!(job["status"], "queued");
    // Only its owner (and admins) follow it.
    let r = o.app.send(get(&format!("/api/v1/jobs/{id}")).token(&o.agent_a.1)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ran = loupan_service::platform::jobs::run_due(&o.app.services, "test", chrono::Utc::now()).await.unwrap();
    assert_eq!(ran, 1);
    let job = o.app.send(get(&format!("/api/v1/jobs/{id}")).token(&o.agent_b.1)).await.json();
    assert_eq!(job["status"], "done", "{job}");
    let report: Value = serde_json::from_str(job["result"].as_str().unwrap()).unwrap();
    assert_eq!((report["created"].as_u64(), report["written"].as_bool()), (Some(450), Some(true)));
    assert_eq!((job["progress_done"].as_i64(), job["progress_total"].as_i64()), (Some(450), Some(450)), "{job}");
    let found = o.app.send(get("/api/v1/customers?q=批量客户4").token(&o.agent_b.1)).await.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 50);
    // The page of the job shows the report.
    let page = o.app.send(get(&format!("/customers/import/{id}")).token(&o.agent_b.1)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("import-summary"), "{}", page.text);
}

#[tokio::test]
async fn customers_due_a_contact_today_reach_their_agent_on_the_workbench_and_by_the_morning_reminder() {
    let o = office().await;
    let c = register(&o, &o.agent_a.1, json!({"name": "李雷", "phone": "13912345678"})).await;
    let id = c["customer"]["id"].as_str().or(c["id"].as_str()).unwrap().to_owned();
    let today = o.app.services.clock.today().to_string();
    let r = o
        .app
        .send(
            post(
                &format!("/api/v1/customers/{id}/follow-ups"),
                json!({"kind": "call", "outcome": "约周末看房", "next_contact_on": today}),
            )
            .token(&o.agent_a.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let due = |wb: &Value| wb["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "follow_ups_due").cloned();
    let wb = o.app.send(get("/api/v1/workbench").token(&o.agent_a.1)).await.json();
    assert_eq!(due(&wb).unwrap()["count"], 1, "{wb}");
    let wb = o.app.send(get("/api/v1/workbench").token(&o.agent_b.1)).await.json();
    assert!(due(&wb).is_none(), "another agent's customer is not theirs to call");
    // The morning job puts it under the agent's bell.
    let tx = o.app.services.store.begin_write().await.unwrap();
    loupan_service::platform::jobs::enqueue(
        &tx,
        loupan_service::platform::jobs::NewJob {
            kind: loupan_service::platform::jobs::JobKind::FollowUpReminders,
            payload: json!({}),
            run_at: None,
            unique_key: None,
            max_attempts: 1,
            created_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(loupan_service::platform::jobs::run_due(&o.app.services, "t", chrono::Utc::now()).await.unwrap(), 1);
    let notes = o.app.send(get("/api/v1/notifications").token(&o.agent_a.1)).await.json();
    assert_eq!(
        (notes["items"][0]["kind"].as_str(), notes["items"][0]["title"].as_str()),
        (Some("follow_up_due"), Some("李雷"))
    );
    assert_eq!(o.app.send(get("/api/v1/notifications").token(&o.agent_b.1)).await.json()["unread"], 0);
}

/// Which customer every row that names a customer points at, table by table.
async fn references(app: &TestApp) -> Vec<(String, String, String)> {
    use loupan_store::sea_orm_reexport::{FromQueryResult, JsonValue, Statement};
    let mut out = Vec::new();
    for (table, column) in loupan_store::customers::CUSTOMER_REFERENCES {
        let sql = format!("SELECT id, {column} AS who FROM {table} ORDER BY id");
        let rows = JsonValue::find_by_statement(Statement::from_string(app.services.store.backend(), sql))
            .all(app.services.store.conn())
            .await
            .unwrap();
        for r in rows {
            out.push((table.to_owned(), r["id"].as_str().unwrap().to_owned(), r["who"].as_str().unwrap().to_owned()));
        }
    }
    out
}

#[tokio::test]
async fn merging_two_customers_and_undoing_it_leaves_the_data_exactly_as_before() {
    let o = office().await;
    let first = register(&o, &o.agent_a.1, json!({"name": "张三", "phone": "13800138000"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let later = register(&o, &o.agent_b.1, json!({"name": "张三", "phone": "+86 138-0013-8000"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, id) in [(&o.agent_a.1, &first), (&o.agent_b.1, &later), (&o.agent_b.1, &later)] {
        let r = o
            .app
            .send(
                post(&format!("/api/v1/customers/{id}/follow-ups"), json!({"kind": "visit", "outcome": "看样板间"}))
                    .token(token),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let before = references(&o.app).await;
    // Agents cannot merge; the manager merges the later registration into the first.
    let path = format!("/api/v1/customers/{first}/merge");
    assert_eq!(
        o.app.send(post(&path, json!({"merged_id": later})).token(&o.agent_a.1)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = o.app.send(post(&path, json!({"merged_id": later})).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let merge = r.json();
    assert_eq!(merge["moved"]["follow_ups.customer_id"], 2);
    assert_eq!(
        o.app.send(post(&path, json!({"merged_id": later})).token(&o.manager)).await.status,
        StatusCode::CONFLICT
    );
    let follow_ups = o.app.send(get(&format!("/api/v1/customers/{first}/follow-ups")).token(&o.manager)).await.json();
    assert_eq!(follow_ups["items"].as_array().unwrap().len(), 3, "the later customer's follow-ups moved");
    let list = o.app.send(get("/api/v1/customers?q=张三").token(&o.manager)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "the merged customer is no longer listed");
    assert_eq!(
        o.app.send(get(&format!("/api/v1/customers/{later}")).token(&o.manager)).await.json()["merged_into"],
        first
    );

    // Undone, every row names its customer as before (the merge's own history entries aside).
    let undo = format!("/api/v1/customer-merges/{}/undo", merge["id"].as_str().unwrap());
    let r = o.app.send(post(&undo, json!({})).token(&o.manager)).await;
    assert_eq!(r.json()["undone"], true, "{}", r.text);
    assert_eq!(o.app.send(post(&undo, json!({})).token(&o.manager)).await.status, StatusCode::CONFLICT);
    let after: Vec<_> =
        references(&o.app).await.into_iter().filter(|row| before.iter().any(|b| b.1 == row.1)).collect();
    assert_eq!(after, before);
    let list = o.app.send(get("/api/v1/customers?q=张三").token(&o.manager)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(
        o.app.send(get(&format!("/api/v1/customers/{later}")).token(&o.manager)).await.json()["merged_into"].is_null()
    );

    // The duplicate ruling "merge" does the same from the manager's list.
    let records = o.app.send(get("/api/v1/customers/duplicate-records?status=open").token(&o.manager)).await.json();
    let record = records["items"][0]["id"].as_str().unwrap().to_owned();
    let r = o
        .app
        .send(
            post(&format!("/api/v1/customers/duplicate-records/{record}/rule"), json!({"ruling": "merge"}))
                .token(&o.manager),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(
        o.app.send(get(&format!("/api/v1/customers/{later}")).token(&o.manager)).await.json()["merged_into"],
        first
    );
}

#[tokio::test]
async fn exceptions_list_the_silent_the_overdue_and_the_cancelled_with_why() {
    let o = office().await;
    let silent = register(&o, &o.agent_a.1, json!({"name": "甲", "phone": "13800000001"})).await;
    let owing = register(&o, &o.agent_a.1, json!({"name": "乙", "phone": "13800000002"})).await;
    let leaving = register(&o, &o.agent_a.1, json!({"name": "丙", "phone": "13800000003"})).await;
    let other = register(&o, &o.agent_b.1, json!({"name": "丁", "phone": "13800000004"})).await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let forty_days_ago = chrono::Utc::now() - chrono::Duration::days(40);
    for c in [&silent, &other] {
        loupan_store::customers::touch_last_contact(o.app.services.store.conn(), &id(c).into(), forty_days_ago)
            .await
            .unwrap();
    }
    // Two contracts of agent A's customers: one with its whole price due long ago, one cancelled.
    let building = o
        .app
        .send(post(&format!("/api/v1/projects/{}/buildings", o.project), json!({"name": "1号楼"})).token(&o.admin))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let method = o
        .app
        .send(
            post(
                &format!("/api/v1/projects/{}/payment-methods", o.project),
                json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
                       "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 0}]}),
            )
            .token(&o.admin),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut contracts = Vec::new();
    for (n, customer) in [(1, &owing), (2, &leaving)] {
        let unit = o
            .app
            .send(
                post(
                    &format!("/api/v1/buildings/{building}/units"),
                    json!({"floor": 1, "number": format!("10{n}"), "layout": "3室2厅", "gross_area": "89.37",
                           "inner_area": "77.37", "list_price": "1000000.00"}),
                )
                .token(&o.admin),
            )
            .await
            .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"unit_id": unit, "customer_id": id(customer), "payment_method_id": method,
                          "total_price": "1000000.00", "signed_on": "2026-01-10"});
        let r = o.app.send(post("/api/v1/sales/contracts", body).token(&o.agent_a.1)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        contracts.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    let change = json!({"kind": "cancel_contract", "subject_id": contracts[1], "reason": "客户资金问题"});
    let r = o.app.send(post("/api/v1/sales/changes", change).token(&o.agent_a.1)).await;
    let approval = r.json()["approval_id"].as_str().unwrap().to_owned();
    let r = o.app.send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({})).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let list = |token: &str, q: &str| o.app.send(get(&format!("/api/v1/customers/exceptions{q}")).token(token));
    let names = |v: &Value, part: &str| -> Vec<String> {
        v[part].as_array().unwrap().iter().map(|x| x["customer"]["name"].as_str().unwrap().to_owned()).collect()
    };
    // Agent A sees their own customers' exceptions, each with why.
    let mine = list(&o.agent_a.1, "").await.json();
    assert_eq!(names(&mine, "silent"), ["甲"]);
    assert_eq!(mine["silent"][0]["days_silent"], 40);
    assert_eq!(names(&mine, "overdue"), ["乙"]);
    assert_eq!(
        (mine["overdue"][0]["overdue"].as_str(), mine["overdue"][0]["overdue_since"].as_str()),
        (Some("1000000.00"), Some("2026-01-10"))
    );
    assert_eq!(names(&mine, "cancelled"), ["丙"]);
    assert_eq!(
        (mine["cancelled"][0]["kind"].as_str(), mine["cancelled"][0]["reason"].as_str()),
        (Some("cancel_contract"), Some("客户资金问题"))
    );
    assert!(mine["silent"][0]["customer"]["phone"].as_str().unwrap().contains("****"));
    // The manager sees the project's; a longer silence finds fewer; nonsense is named.
    let all = list(&o.manager, "").await.json();
    assert_eq!(names(&all, "silent"), ["甲", "丁"]);
    // The workbench counts the same silent customers the list shows, and not a merged record.
    let app = &o.app;
    let silent_alert = |token: String| async move {
        let wb = app.send(get("/api/v1/workbench").token(&token)).await.json();
        wb["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "stale_customers").map(|a| a["count"].clone())
    };
    assert_eq!(silent_alert(o.agent_a.1.clone()).await, Some(json!(1)));
    assert_eq!(silent_alert(o.manager.clone()).await, Some(json!(2)));
    let r = o
        .app
        .send(
            post(&format!("/api/v1/customers/{}/merge", id(&silent)), json!({"merged_id": id(&other)}))
                .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(names(&list(&o.manager, "").await.json(), "silent"), ["甲"]);
    assert_eq!(silent_alert(o.manager.clone()).await, Some(json!(1)));
    assert_eq!(names(&list(&o.manager, "?days=60").await.json(), "silent"), Vec::<String>::new());
    let r = list(&o.manager, "?days=0").await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["days".to_owned()]));
    // The page shows the same.
    let page = o.app.send(get("/customers/exceptions").token(&o.manager)).await;
    assert!(page.text.contains("客户资金问题") && page.text.contains("1,000,000.00"), "{}", page.text);
}

#[tokio::test]
async fn the_list_filters_by_grade_and_source_and_each_user_keeps_named_filters() {
    let o = office().await;
    for (name, phone, grade, source) in
        [("甲", "13800000001", "A", "网络"), ("乙", "13800000002", "A", "来访"), ("丙", "13800000003", "B", "网络")]
    {
        register(&o, &o.agent_a.1, json!({"name": name, "phone": phone, "grade": grade, "source": source})).await;
    }
    let page = o.app.send(get("/customers?grade=A&source=%E7%BD%91%E7%BB%9C").token(&o.agent_a.1)).await;
    assert!(page.text.contains(">甲<") && !page.text.contains(">乙<") && !page.text.contains(">丙<"), "{}", page.text);

    let save = |token: &str, body: Value| o.app.send(post("/api/v1/customers/saved-filters", body).token(token));
    let r = save(&o.agent_a.1, json!({"name": "A级网络", "query": "source=网络&grade=A&grade=B"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let saved = r.json();
    // Known conditions only, once each, in a fixed order.
    assert_eq!(saved["query"], "grade=A&source=%E7%BD%91%E7%BB%9C");
    let found = o
        .app
        .send(get(&format!("/api/v1/customers?{}", saved["query"].as_str().unwrap())).token(&o.agent_a.1))
        .await
        .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    for (body, field) in [
        (json!({"name": "", "query": "grade=A"}), "name"),
        (json!({"name": "x", "query": "salary=high"}), "query"),
        (json!({"name": "x", "query": ""}), "query"),
    ] {
        let r = save(&o.agent_a.1, body).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_owned()]));
    }
    // The same name replaces; filters are personal.
    save(&o.agent_a.1, json!({"name": "A级网络", "query": "grade=A"})).await;
    let mine = o.app.send(get("/api/v1/customers/saved-filters").token(&o.agent_a.1)).await.json();
    assert_eq!((mine["items"].as_array().unwrap().len(), mine["items"][0]["query"].as_str()), (1, Some("grade=A")));
    let theirs = o.app.send(get("/api/v1/customers/saved-filters").token(&o.agent_b.1)).await.json();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    let id = mine["items"][0]["id"].as_str().unwrap().to_owned();
    let remove = |token: &str| o.app.send(delete(&format!("/api/v1/customers/saved-filters/{id}")).token(token));
    assert_eq!(remove(&o.agent_b.1).await.status, StatusCode::NOT_FOUND);
    let page = o.app.send(get("/customers").token(&o.agent_a.1)).await;
    assert!(page.text.contains("A级网络"));
    assert_eq!(remove(&o.agent_a.1).await.status, StatusCode::NO_CONTENT);
    assert_eq!(remove(&o.agent_a.1).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_profile_keeps_contacts_needs_and_categories_and_every_phone_is_checked_for_duplicates() {
    let o = office().await;
    let a = &o.agent_a.1;
    let c = register(
        &o,
        a,
        json!({"name": "周一", "phone": "13800000011", "other_phones": [{"phone": "139-0000-0011", "label": "办公"}],
            "email": "zhou@example.cn", "wechat": "zhou_yi", "birthday": "1985-06-01", "address": "杭州市西湖区",
            "categories": "member, potential", "tags": "学区，全款", "budget": "3000000", "wanted_layout": "3室2厅",
            "wanted_area_min": "89", "wanted_area_max": "120.5", "purpose": "upgrade", "homes_owned": 1}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let page = o.app.send(get("/customers/new").token(a)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("name=\"other_phones\"") && page.text.contains("name=\"budget\""));
    let page = o.app.send(get(&format!("/customers/{id}")).token(a)).await;
    assert!(page.text.contains("13900000011"), "the other phone is on the page: {}", page.text);
    assert!(page.text.contains("3室2厅") && page.text.contains("学区"), "the profile is on the page");
    assert_eq!(c["tags"], json!(["学区", "全款"]));
    assert_eq!(
        c["needs"],
        json!({"budget": "3000000.00", "layout": "3室2厅", "area_min": "89.00", "area_max": "120.50",
            "purpose": "upgrade", "homes_owned": 1})
    );
    let mine = o.app.send(get(&format!("/api/v1/customers/{id}")).token(a)).await.json();
    assert_eq!(mine["other_phones"], json!([{"phone": "13900000011", "label": "办公"}]));
    let managers = o.app.send(get(&format!("/api/v1/customers/{id}")).token(&o.manager)).await.json();
    assert_eq!(managers["other_phones"][0]["phone"], "139****0011", "masked like the main phone");

    // Another agent registers the buyer under the second phone: it is the same phone.
    let again = register(&o, &o.agent_b.1, json!({"name": "周先生", "phone": "+86 139 0000 0011"})).await;
    assert_eq!(
        again["duplicates"],
        json!([{"customer_id": id, "match": "phone", "owner_agent": "agent_a", "owner_id": o.agent_a.0}])
    );
    // And the other way round: a new customer's other phone is someone's main phone.
    let third = register(
        &o,
        &o.agent_b.1,
        json!({"name": "吴三", "phone": "13700000011", "other_phones": [{"phone": "13800000011"}]}),
    )
    .await;
    assert!(third["duplicates"].as_array().unwrap().iter().any(|d| d["customer_id"] == id && d["match"] == "phone"));
    // Reception finds the customer by either phone.
    let found = o.app.send(get("/api/v1/customers?q=139%200000%200011").token(&o.manager)).await.json();
    let ids: Vec<&str> = found["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id) && ids.contains(&again["id"].as_str().unwrap()), "{found}");

    // An enterprise customer is identified by its unified social credit code, checked to the last character.
    let enterprise = |id_type: &str, number: &str| {
        json!({"name": "杭州某某科技有限公司", "phone": "057188880000", "kind": "enterprise", "contact_person": "王经理",
            "id_type": id_type, "id_number": number, "project_id": o.project})
    };
    let r = o.app.send(post("/api/v1/customers", enterprise("business_license", "91350100M000100Y44")).token(a)).await;
    assert_eq!(r.error_fields(), vec!["id_number"]);
    let r = o.app.send(post("/api/v1/customers", enterprise("resident_id", "11010519491231002X")).token(a)).await;
    assert_eq!(r.error_fields(), vec!["id_type"]);
    let r = o.app.send(post("/api/v1/customers", enterprise("business_license", "91350100M000100Y43")).token(a)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((r.json()["kind"].as_str(), r.json()["contact_person"].as_str()), (Some("enterprise"), Some("王经理")));

    // Every bad field at once, in the user's language.
    let r = o
        .app
        .send(
            post(
                "/api/v1/customers",
                json!({"name": "郑四", "phone": "13800000012", "project_id": o.project, "email": "zheng@", "birthday": "2999-01-01",
                    "wanted_area_min": "120", "wanted_area_max": "90", "purpose": "villa", "categories": "vip",
                    "budget": "1.001", "other_phones": [{"phone": "call me"}]}),
            )
            .token(a)
            .lang("en"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["birthday", "budget", "categories", "email", "other_phones[0]", "purpose", "wanted_area_max"],
        "{}",
        r.text
    );
    assert!(r.text.contains("Not a valid e-mail address"), "{}", r.text);

    // Excel carries the profile too, in the words a sales office uses, with the same checks.
    use loupan_documents::xlsx::{Cell, write_table};
    let headers: Vec<String> = ["姓名", "电话", "客户类型", "预算", "意向户型", "置业目的", "电子邮箱"]
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
    let text = |v: &str| Cell::Text(v.to_owned());
    let rows = vec![
        vec![
            text("钱七"),
            text("13800000071"),
            text("个人"),
            text("2800000"),
            text("3室2厅"),
            text("改善"),
            Cell::Empty,
        ],
        vec![text("孙八"), text("13800000072"), text("个人"), text("很多"), Cell::Empty, text("度假"), text("sun@")],
    ];
    let sheet = write_table("客户", &headers, &rows).unwrap();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let r = o
        .app
        .send(
            post_bytes(&format!("/api/v1/customers/import?project_id={}&mode=check", o.project), sheet, xlsx).token(a),
        )
        .await;
    let report = r.json();
    let columns: Vec<&str> =
        report["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
    assert_eq!(columns, vec!["电子邮箱", "预算", "置业目的"], "{}", r.text);
}

#[tokio::test]
async fn editing_a_customer_needs_the_current_version_and_checks_what_changed_for_duplicates() {
    let o = office().await;
    let a = &o.agent_a.1;
    let c = register(
        &o,
        a,
        json!({"name": "冯五", "phone": "13800000021", "budget": "2000000", "id_number": "11010519491231002X"}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let other = register(&o, &o.agent_b.1, json!({"name": "陈六", "phone": "13700000021"})).await;
    let edit = |token: &str, body: Value| o.app.send(patch(&format!("/api/v1/customers/{id}"), body).token(token));

    let r = edit(a, json!({"version": 1, "phone": "137-0000-0021", "wechat": "feng5", "purpose": "investment"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changed = r.json();
    assert_eq!(changed["duplicates"][0]["customer_id"], other["id"]);
    assert_eq!(changed["duplicates"][0]["match"], "phone");
    assert_eq!((changed["version"].as_i64(), changed["wechat"].as_str()), (Some(2), Some("feng5")));
    assert_eq!(changed["needs"]["budget"], "2000000.00", "what was not sent stays");
    assert_eq!(changed["id_number_masked"], c["id_number_masked"], "the ID stays unless a new one is typed");
    let records = o.app.send(get("/api/v1/customers/duplicate-records").token(&o.manager)).await.json();
    assert!(records["items"].as_array().unwrap().iter().any(|r| r["customer"]["id"] == id), "the manager rules on it");

    // Someone else saved first: the stale form is refused, nothing written.
    let r = edit(a, json!({"version": 1, "notes": "旧表单"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let now = o.app.send(get(&format!("/api/v1/customers/{id}")).token(a)).await.json();
    assert_eq!((now["version"].as_i64(), now["notes"].as_str()), (Some(2), None));
    // Without a version, with a bad field, or by another agent.
    assert_eq!(edit(a, json!({"notes": "x"})).await.error_fields(), vec!["version"]);
    assert_eq!(edit(a, json!({"version": 2, "name": " "})).await.error_fields(), vec!["name"]);
    assert_eq!(edit(&o.agent_b.1, json!({"version": 2, "notes": "x"})).await.status, StatusCode::NOT_FOUND);
    // An empty text clears an optional field; the manager of the project may edit.
    let r = edit(&o.manager, json!({"version": 2, "wechat": "", "budget": ""})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json()["wechat"].as_str(), r.json()["needs"]["budget"].as_str()), (None, None));
    let timeline = o.app.send(get(&format!("/api/v1/customers/{id}/timeline")).token(a)).await.json();
    assert_eq!(timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "updated").count(), 2);

    // The same through the page.
    let page = o.app.send(get(&format!("/customers/{id}")).token(a)).await;
    assert!(page.text.contains("id=\"edit-customer\""), "{}", page.text);
    let r = o
        .app
        .send(
            form(
                &format!("/customers/{id}/edit"),
                &[
                    ("version", "3"),
                    ("name", "冯五"),
                    ("phone", "13700000021"),
                    ("categories", "buyer"),
                    ("categories", "loyal"),
                    ("tags", "老业主"),
                    ("wanted_layout", "4室2厅"),
                    ("other_phones", "13600000021, 0571-8888 0000"),
                ],
            )
            .token(a),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let after = o.app.send(get(&format!("/api/v1/customers/{id}")).token(a)).await.json();
    assert_eq!(after["categories"], json!(["loyal", "buyer"]));
    assert_eq!(after["other_phones"].as_array().unwrap().len(), 2);
    let r = o
        .app
        .send(form(&format!("/customers/{id}/edit"), &[("version", "3"), ("name", "冯五"), ("phone", "1")]).token(a))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn grade_rules_grade_by_needs_and_visits_and_leave_hand_set_grades_alone() {
    let o = office().await;
    let a = &o.agent_a.1;
    let rules = json!({"rules": [
        {"grade": "A", "conditions": {"min_visits": 2}},
        {"grade": "B", "conditions": {"min_budget": "3000000", "purposes": ["upgrade", "education"]}},
        {"grade": "C"}]});
    let path = format!("/api/v1/projects/{}/grade-rules", o.project);
    assert_eq!(o.app.send(put(&path, rules.clone()).token(a)).await.status, StatusCode::FORBIDDEN);
    let r = o.app.send(put(&path, rules).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(o.app.send(get(&path).token(a)).await.json()["items"].as_array().unwrap().len(), 3);

    let rich =
        register(&o, a, json!({"name": "褚一", "phone": "13800000031", "budget": "5000000", "purpose": "upgrade"}))
            .await;
    let plain = register(&o, a, json!({"name": "卫二", "phone": "13800000032"})).await;
    let vip = register(&o, a, json!({"name": "蒋三", "phone": "13800000033", "grade": "VIP"})).await;
    assert_eq!(
        (rich["grade"].as_str(), plain["grade"].as_str(), vip["grade"].as_str()),
        (Some("B"), Some("C"), Some("VIP"))
    );
    assert_eq!((rich["grade_manual"].as_bool(), vip["grade_manual"].as_bool()), (Some(false), Some(true)));

    // Two visits make an A at once.
    let plain_id = plain["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = o
            .app
            .send(
                post(&format!("/api/v1/customers/{plain_id}/follow-ups"), json!({"kind": "visit", "outcome": "看房"}))
                    .token(a),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    assert_eq!(grade_of(&o, plain_id).await, "A");

    // New rules apply to everyone on demand, except the hand-set grade.
    let r = o
        .app
        .send(
            put(&path, json!({"rules": [{"grade": "B+", "conditions": {"min_budget": "4000000"}}, {"grade": "D"}]}))
                .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = o.app.send(post(&format!("{path}/apply"), json!({})).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!({"checked": 3, "changed": 2}));
    assert_eq!(grade_of(&o, rich["id"].as_str().unwrap()).await, "B+");
    assert_eq!(grade_of(&o, plain_id).await, "D");
    assert_eq!(grade_of(&o, vip["id"].as_str().unwrap()).await, "VIP");
    // Clearing the hand-set grade gives it back to the rules.
    let r = o
        .app
        .send(
            patch(&format!("/api/v1/customers/{}", vip["id"].as_str().unwrap()), json!({"version": 1, "grade": ""}))
                .token(a),
        )
        .await;
    assert_eq!((r.status, r.json()["grade"].as_str()), (StatusCode::OK, Some("D")), "{}", r.text);

    // Bad rules are refused, field by field, and the page edits the same rules.
    let r = o
        .app
        .send(
            put(
                &path,
                json!({"rules": [{"grade": "", "conditions": {"purposes": ["villa"], "contacted_within_days": 0}}]}),
            )
            .token(&o.manager),
        )
        .await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["rules[0].conditions.contacted_within_days", "rules[0].conditions.purposes", "rules[0].grade"]
    );
    let page = o.app.send(get(&format!("/customers/grade-rules?project_id={}", o.project)).token(&o.manager)).await;
    assert!(page.text.contains("value=\"B+\""), "{}", page.text);
    assert_eq!(o.app.send(get("/customers/grade-rules").token(a)).await.status, StatusCode::FORBIDDEN);
    let r = o
        .app
        .send(
            form(
                "/customers/grade-rules",
                &[
                    ("project_id", o.project.as_str()),
                    ("grade", "A"),
                    ("min_visits", "1"),
                    ("min_budget", ""),
                    ("has_deal", ""),
                    ("contacted_within_days", ""),
                    ("grade", ""),
                    ("min_visits", ""),
                    ("min_budget", ""),
                    ("has_deal", ""),
                    ("contacted_within_days", ""),
                    ("apply", "1"),
                ],
            )
            .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(grade_of(&o, plain_id).await, "A");
    assert_eq!(grade_of(&o, rich["id"].as_str().unwrap()).await, serde_json::Value::Null, "no rule holds: no grade");
}

#[tokio::test]
async fn the_list_filters_by_kind_needs_and_last_contact_and_a_filtered_group_moves_to_another_project() {
    let o = office().await;
    let a = &o.agent_a.1;
    let mut ids: Vec<String> = Vec::new();
    for body in [
        json!({"name": "甲一", "phone": "13800000041", "budget": "3500000", "wanted_layout": "3室2厅", "purpose": "upgrade", "categories": "potential", "grade": "C"}),
        json!({"name": "乙二", "phone": "13800000042", "budget": "8000000", "wanted_layout": "4室2厅", "purpose": "investment", "categories": "member", "grade": "C"}),
        json!({"name": "某公司", "phone": "13800000043", "kind": "enterprise", "grade": "A"}),
    ] {
        ids.push(register(&o, a, body).await["id"].as_str().unwrap().to_owned());
    }
    let r = o
        .app
        .send(
            post(&format!("/api/v1/customers/{}/follow-ups", ids[1]), json!({"kind": "call", "outcome": "约周末"}))
                .token(a),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let today = o.app.services.clock.today();
    let tomorrow = today.succ_opt().unwrap();
    assert_eq!(names_found(&o, "kind=enterprise").await, vec!["某公司"]);
    assert_eq!(names_found(&o, "category=member").await, vec!["乙二"]);
    assert_eq!(names_found(&o, "min_budget=3000000&max_budget=5000000").await, vec!["甲一"]);
    assert_eq!(names_found(&o, "purpose=investment&layout=4%E5%AE%A4").await, vec!["乙二"]);
    assert_eq!(names_found(&o, &format!("contacted_since={today}")).await, vec!["乙二"]);
    assert_eq!(
        names_found(&o, &format!("contacted_before={today}")).await,
        vec!["某公司", "甲一"],
        "never contacted counts"
    );
    assert_eq!(names_found(&o, &format!("contacted_since={tomorrow}")).await, Vec::<String>::new());
    let r = o
        .app
        .send(get("/api/v1/customers?min_budget=lots&kind=robot&contacted_before=yesterday").token(&o.manager))
        .await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["contacted_before", "kind", "min_budget"]);
    let page = o.app.send(get("/customers?min_budget=lots").token(&o.manager)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("role=\"alert\""), "the page says what is wrong");

    // S7: the manager hands every C-grade customer of the project to another project and agent.
    let other = o.app.project(&o.admin, "金色港湾").await;
    let (far_agent, far_token) = o.app.user(&o.admin, "far_agent", &["sales_agent"], &[&other]).await;
    let (_, mgr2) = o.app.user(&o.admin, "mgr2", &["sales_manager"], &[&o.project, &other]).await;
    let matching = json!({"project_id": o.project, "grade": "C"});
    let r = o
        .app
        .send(
            post(
                "/api/v1/customers/transfer",
                json!({"matching": matching, "to_agent": far_agent, "to_project": other}),
            )
            .token(a),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = o
        .app
        .send(
            post(
                "/api/v1/customers/transfer",
                json!({"matching": matching, "to_agent": far_agent, "to_project": other}),
            )
            .token(&mgr2),
        )
        .await;
    assert_eq!((r.status, r.json()["transferred"].as_u64()), (StatusCode::OK, Some(2)), "{}", r.text);
    let theirs = o.app.send(get(&format!("/api/v1/customers?project_id={other}")).token(&far_token)).await.json();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 2);
    let timeline = o.app.send(get(&format!("/api/v1/customers/{}/timeline", ids[1])).token(&far_token)).await.json();
    assert_eq!(timeline["items"][0]["kind"], "transfer");
    assert!(timeline["items"].as_array().unwrap().iter().any(|e| e["kind"] == "follow_up"), "history goes along");

    // The page: tick customers, or take everyone the conditions find.
    let r = o
        .app
        .send(
            form(
                "/customers/transfer",
                &[
                    ("conditions", format!("project_id={}&kind=enterprise", o.project).as_str()),
                    ("scope", "matching"),
                    ("to_agent", o.agent_b.0.as_str()),
                    ("to_project", ""),
                ],
            )
            .token(&o.manager),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("id=\"transfer-done\""), "{}", r.text);
    let b = o.app.send(get(&format!("/api/v1/customers/{}", ids[2])).token(&o.agent_b.1)).await.json();
    assert_eq!(b["owner_id"], json!(o.agent_b.0));
}

async fn grade_of(o: &Office, id: &str) -> Value {
    o.app.send(get(&format!("/api/v1/customers/{id}")).token(&o.manager)).await.json()["grade"].clone()
}

/// The names a manager's search finds, sorted.
async fn names_found(o: &Office, query: &str) -> Vec<String> {
    let r = o.app.send(get(&format!("/api/v1/customers?{query}")).token(&o.manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    let mut n: Vec<String> =
        r.json()["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    n.sort();
    n
}

#[tokio::test]
async fn cross_analysis_counts_percentages_and_tests_independence() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, other) = app.user(&admin, "other", &["sales_agent"], &[&project]).await;
    // Grade × source: A/路过 10, A/朋友介绍 20, B/路过 30, B/朋友介绍 40.
    let mut n = 0;
    for (grade, source, count) in [("A", "路过", 10), ("A", "朋友介绍", 20), ("B", "路过", 30), ("B", "朋友介绍", 40)]
    {
        for _ in 0..count {
            n += 1;
            let body = json!({"name": format!("客户{n}"), "phone": format!("137{n:08}"), "project_id": project,
                              "grade": grade, "source": source});
            let r = app.send(post("/api/v1/customers", body).token(&agent)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    }
    let r = app.send(get("/api/v1/customers/cross-analysis?rows=grade&columns=source").token(&agent)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = r.json();
    assert_eq!(t["rows"], json!(["A", "B"]));
    assert_eq!(t["columns"], json!(["朋友介绍", "路过"]));
    assert_eq!(t["counts"], json!([[20, 10], [40, 30]]));
    assert_eq!(t["row_percent"][0], json!([66.7, 33.3]));
    assert_eq!(t["column_percent"][0], json!([33.3, 25.0]));
    assert_eq!((t["total"].as_u64(), t["degrees_of_freedom"].as_u64()), (Some(100), Some(1)));
    // By hand: expected 12, 18, 28, 42 → Σ 4/e; p from Python's math.erfc(√(x/2)).
    let chi = t["chi_square"].as_f64().unwrap();
    assert!((chi - (4.0 / 12.0 + 4.0 / 18.0 + 4.0 / 28.0 + 4.0 / 42.0)).abs() < 1e-9, "{t}");
    assert!((t["p_value"].as_f64().unwrap() - 0.372_998_483_613_487_14).abs() < 1e-9, "{t}");
    assert_eq!(t["expected_at_least_five"], true);
    // Another agent's scope holds none of them; a manager's the project's.
    let theirs = app.send(get("/api/v1/customers/cross-analysis?rows=grade&columns=source").token(&other)).await.json();
    assert_eq!((theirs["total"].as_u64(), theirs["p_value"].is_null()), (Some(0), true));
    let r = app.send(get("/api/v1/customers/cross-analysis?rows=colour&columns=source").token(&agent)).await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["rows".to_owned()]));
    let page = app.send(get("/customers/cross-analysis?rows=grade&columns=source").token(&agent)).await;
    assert!(page.status == StatusCode::OK && page.text.contains("id=\"cross-table\""), "{}", page.text);
}
