//! The handover through the real router (A4): refused with every blocking
//! item named while money is owed; after payment the buyer books through
//! their link, checks in, the inspection finds two defects that engineering
//! rectifies (one found again at re-inspection), the keys are handed over,
//! the unit is `handed_over`, the record prints, and the warranty runs.

use crate::support::*;
use axum::http::StatusCode;
use chrono::{FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<Utc> {
    beijing().with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

struct Site {
    app: TestApp,
    admin: String,
    project: String,
    building: String,
    agent: String,
    after: String,
    engineer: String,
    finance: String,
    one_off: String,
    next: std::cell::Cell<u32>,
}

async fn site() -> Site {
    let app = TestApp::with_clock(loupan_service::Clock::set_at(beijing(), at(2026, 7, 1, 9))).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, after) = app.user(&admin, "after", &["aftersales"], &[&project]).await;
    let (_, engineer) = app.user(&admin, "engineer", &["project_manager"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let r =
        app.send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin)).await;
    let building = r.json()["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            post(
                &format!("/api/v1/projects/{project}/payment-methods"),
                json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
                       "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 7}]}),
            )
            .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let one_off = r.json()["id"].as_str().unwrap().to_owned();
    Site { app, admin, project, building, agent, after, engineer, finance, one_off, next: 1.into() }
}

impl Site {
    async fn ok(&self, call: Call, token: &str, status: StatusCode) -> Value {
        let r = self.app.send(call.token(token)).await;
        assert_eq!(r.status, status, "{}", r.text);
        r.json()
    }

    /// A unit sold for 2,000,000.00 paid at once; (contract, unit).
    async fn sold(&self) -> (String, String) {
        let n = self.next.get();
        self.next.set(n + 1);
        let body = json!({"floor": 1, "number": format!("{}", 100 + n), "layout": "3室2厅",
                          "gross_area": "100.00", "inner_area": "80.00", "list_price": "2000000.00"});
        let unit = self
            .ok(post(&format!("/api/v1/buildings/{}/units", self.building), body), &self.admin, StatusCode::CREATED)
            .await;
        let customer =
            json!({"name": format!("业主{n}"), "phone": format!("1390000{n:04}"), "project_id": self.project});
        let customer = self.ok(post("/api/v1/customers", customer), &self.agent, StatusCode::CREATED).await;
        let body = json!({"unit_id": unit["id"], "customer_id": customer["id"], "payment_method_id": self.one_off,
                          "total_price": "2000000.00", "signed_on": "2026-06-01"});
        let contract = self.ok(post("/api/v1/sales/contracts", body), &self.agent, StatusCode::CREATED).await;
        (contract["id"].as_str().unwrap().to_owned(), unit["id"].as_str().unwrap().to_owned())
    }

    /// The whole price received and audited.
    async fn paid(&self, contract: &str) {
        let body = json!({"contract_id": contract, "amount": "2000000.00", "channel": "transfer",
                          "received_on": "2026-07-01"});
        let r = self.ok(post("/api/v1/finance/receipts", body), &self.finance, StatusCode::CREATED).await;
        let id = r["id"].as_str().unwrap();
        for step in ["arrive", "audit"] {
            self.ok(post(&format!("/api/v1/finance/receipts/{id}/{step}"), json!({})), &self.finance, StatusCode::OK)
                .await;
        }
    }

    async fn ready(&self) -> Value {
        let path = format!("/api/v1/buildings/{}/handover-readiness", self.building);
        self.ok(post(&path, json!({"ready_on": "2026-07-01"})), &self.after, StatusCode::OK).await
    }

    async fn slot(&self, day: &str, period: &str, capacity: i64) -> String {
        let body = json!({"day": day, "period": period, "capacity": capacity});
        let path = format!("/api/v1/buildings/{}/handover-slots", self.building);
        let s = self.ok(post(&path, body), &self.after, StatusCode::CREATED).await;
        s["id"].as_str().unwrap().to_owned()
    }
}

/// `(field, code)` of each error of a problem.
fn codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_handover_is_refused_while_money_is_owed_then_booked_inspected_rectified_and_handed_over() {
    let s = site().await;
    let (contract, unit) = s.sold().await;
    // Before anything: the unpaid price blocks, named with its amount.
    let check = s.ok(get(&format!("/api/v1/contracts/{contract}/handover/check")), &s.after, StatusCode::OK).await;
    assert_eq!(check["clear"], false);
    let blocking = check["blocking"].as_array().unwrap();
    assert_eq!(blocking.len(), 1, "{check}");
    assert_eq!((&blocking[0]["kind"], &blocking[0]["unpaid"]), (&json!("unpaid_instalment"), &json!("2000000.00")));
    let r = s.app.send(get(&format!("/api/v1/contracts/{contract}/handover")).token(&s.after)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s.app.send(post(&format!("/api/v1/contracts/{contract}/handover"), json!({})).token(&s.after)).await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("building_not_ready"), "{}", r.text);
    // The building is declared ready: the handover opens with the buyer's link.
    assert_eq!(s.ready().await["handovers_opened"], 1);
    let h = s.ok(get(&format!("/api/v1/contracts/{contract}/handover")), &s.after, StatusCode::OK).await;
    assert_eq!(h["status"], "open");
    let id = h["id"].as_str().unwrap().to_owned();
    let link = h["link"].as_str().unwrap().to_owned();
    let token = link.strip_prefix("/handover/").unwrap().to_owned();
    let morning = s.slot("2026-07-10", "09:00-12:00", 1).await;
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/buildings/{}/handover-slots", s.building),
                json!({"day": "2026-07-10", "period": "09:00-12:00", "capacity": 5}),
            )
            .token(&s.after),
        )
        .await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("slot_exists"), "{}", r.text);
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/buildings/{}/handover-slots", s.building),
                json!({"day": "2026-06-30", "period": "下午", "capacity": 0}),
            )
            .token(&s.after),
        )
        .await;
    assert_eq!(r.error_fields(), ["day", "capacity"]);
    // Booking is refused while the price is owed, the instalment named in the message.
    let book = format!("/api/v1/aftersales/handovers/{id}/appointment");
    let r = s.app.send(post(&book, json!({"slot_id": morning})).token(&s.after).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(codes(&r.json()), [("settlement".to_owned(), "unpaid_instalment".to_owned())]);
    assert!(r.text.contains("2,000,000.00"), "{}", r.text);
    let r = s.app.send(get(&format!("/api/v1/handover-bookings/{token}"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let booking = r.json();
    assert_eq!((&booking["payment_outstanding"], &booking["unit_number"]), (&json!(true), &json!("101")));
    // Paid: the buyer books through the link without logging in.
    s.paid(&contract).await;
    let r = s.app.send(post(&format!("/api/v1/handover-bookings/{token}"), json!({"slot_id": morning}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let booked = r.json();
    assert_eq!((&booked["status"], &booked["appointment"]["period"]), (&json!("booked"), &json!("09:00-12:00")));
    let r = s.app.send(get("/api/v1/handover-bookings/0123456789abcdef0123456789abcdef")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The period is full: another buyer cannot take it.
    let (other, _) = s.sold().await;
    s.paid(&other).await;
    let other_h = s.ok(post(&format!("/api/v1/contracts/{other}/handover"), json!({})), &s.after, StatusCode::OK).await;
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/handovers/{}/appointment", other_h["id"].as_str().unwrap()),
                json!({"slot_id": morning}),
            )
            .token(&s.after),
        )
        .await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("slot_full"), "{}", r.text);
    // On the day: checked in with one document of three.
    s.app.services.clock.set(at(2026, 7, 10, 9));
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/handovers/{id}/defects"),
                json!({"room": "主卧", "item": "decoration", "severity": "minor", "description": "墙面开裂"}),
            )
            .token(&s.after),
        )
        .await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("not_checked_in"), "{}", r.text);
    let h = s
        .ok(
            post(&format!("/api/v1/aftersales/handovers/{id}/check-in"), json!({"documents": ["购房合同"]})),
            &s.after,
            StatusCode::OK,
        )
        .await;
    assert_eq!(h["status"], "checked_in");
    let r = s
        .app
        .send(
            post(&format!("/api/v1/aftersales/handovers/{id}/check-in"), json!({"documents": ["户口本"]}))
                .token(&s.after),
        )
        .await;
    assert_eq!(r.error_fields(), ["documents[0]"]);
    // The inspection: two defects, their deadlines by severity.
    let defect = |room: &str, item: &str, severity: &str, text: &str| {
        let body = json!({"room": room, "item": item, "severity": severity, "description": text,
                          "contractor": "中建三局"});
        let (s, path) = (&s, format!("/api/v1/aftersales/handovers/{id}/defects"));
        async move { s.ok(post(&path, body), &s.after, StatusCode::CREATED).await }
    };
    let leak = defect("卫生间", "waterproofing", "urgent", "淋浴区地面渗水").await;
    let crack = defect("主卧", "decoration", "minor", "墙面开裂").await;
    assert_eq!((&leak["number"], &crack["number"]), (&json!(1), &json!(2)));
    assert_eq!(leak["due_at"], json!(at(2026, 7, 11, 9)));
    assert_eq!(crack["due_at"], json!(at(2026, 7, 25, 9)));
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/handovers/{id}/defects"),
                json!({"room": "", "item": "roof", "severity": "grave", "description": "x"}),
            )
            .token(&s.after),
        )
        .await;
    assert_eq!(r.error_fields(), ["room", "item", "severity"]);
    let r = s
        .app
        .send(
            post(
                &format!("/api/v1/aftersales/handovers/{id}/defects"),
                json!({"room": "厨房", "item": "plumbing", "severity": "normal", "description": "x"}),
            )
            .token(&s.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let leak_id = leak["id"].as_str().unwrap().to_owned();
    let png = [&b"\x89PNG\r\n\x1a\n"[..], b"water on the floor"].concat();
    let r = s
        .app
        .send(
            post_bytes(&format!("/api/v1/aftersales/defects/{leak_id}/photos?file_name=leak.png"), png, "image/png")
                .token(&s.after),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Engineering is told of each under the bell.
    let bell = |token: String| {
        let app = &s.app;
        async move {
            let json = app.send(get("/api/v1/notifications").token(&token)).await.json();
            let items = json["items"].as_array().or(json.as_array()).cloned().unwrap_or_default();
            items.iter().map(|n| n["kind"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(bell(s.engineer.clone()).await, ["defect_to_rectify", "defect_to_rectify"]);
    // Engineering's list: both open, the urgent one first.
    let list = s.ok(get("/api/v1/aftersales/defects?status=open"), &s.engineer, StatusCode::OK).await;
    let numbers: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|d| &d["number"]).collect();
    assert_eq!(numbers, [&json!(1), &json!(2)]);
    // The keys wait for the documents and the defects.
    let complete = format!("/api/v1/aftersales/handovers/{id}/complete");
    let keys = json!({"keys": [{"name": "入户门钥匙", "count": 3}, {"name": "信报箱钥匙", "count": 1}],
                      "meters": [{"meter": "水表", "reading": "12.5"}, {"meter": "电表", "reading": "305"}]});
    let r = s.app.send(post(&complete, keys.clone()).token(&s.after)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        codes(&r.json()),
        [
            ("settlement".to_owned(), "document_missing".to_owned()),
            ("settlement".to_owned(), "document_missing".to_owned())
        ]
    );
    assert!(r.text.contains("买受人身份证原件"), "{}", r.text);
    s.ok(
        post(
            &format!("/api/v1/aftersales/handovers/{id}/check-in"),
            json!({"documents": ["买受人身份证原件", "交房通知书"]}),
        ),
        &s.after,
        StatusCode::OK,
    )
    .await;
    let r = s.app.send(post(&complete, keys.clone()).token(&s.after)).await;
    assert_eq!(codes(&r.json()), [("accept_open_defects".to_owned(), "defects_open".to_owned())]);
    // Rectified; the leak found again at re-inspection, then fixed and accepted.
    let rectify = |defect: &str| format!("/api/v1/aftersales/defects/{defect}/rectify");
    let reinspect = |defect: &str| format!("/api/v1/aftersales/defects/{defect}/reinspect");
    let r = s.app.send(post(&rectify(&leak_id), json!({})).token(&s.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    s.app.services.clock.set(at(2026, 7, 10, 15));
    let d = s.ok(post(&rectify(&leak_id), json!({"note": "重做防水层"})), &s.engineer, StatusCode::OK).await;
    assert_eq!(d["status"], "rectified");
    assert_eq!(bell(s.after.clone()).await, ["defect_rectified"], "its finder is asked to re-inspect");
    let r = s.app.send(post(&reinspect(&leak_id), json!({"accepted": false})).token(&s.after)).await;
    assert_eq!(codes(&r.json()), [("note".to_owned(), "needed_to_reject".to_owned())]);
    let d = s
        .ok(post(&reinspect(&leak_id), json!({"accepted": false, "note": "仍有渗水"})), &s.after, StatusCode::OK)
        .await;
    assert_eq!((&d["status"], &d["rejections"]), (&json!("open"), &json!(1)));
    assert_eq!(d["due_at"], json!(at(2026, 7, 11, 15)), "a new deadline from the re-inspection");
    let r = s.app.send(post(&reinspect(&leak_id), json!({"accepted": true})).token(&s.after)).await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("defect_not_rectified"), "{}", r.text);
    s.ok(post(&rectify(&leak_id), json!({})), &s.engineer, StatusCode::OK).await;
    let d = s.ok(post(&reinspect(&leak_id), json!({"accepted": true})), &s.after, StatusCode::OK).await;
    assert_eq!(d["status"], "accepted");
    let crack_id = crack["id"].as_str().unwrap();
    s.ok(post(&rectify(crack_id), json!({})), &s.engineer, StatusCode::OK).await;
    s.ok(post(&reinspect(crack_id), json!({"accepted": true})), &s.after, StatusCode::OK).await;
    let r = s
        .app
        .send(post(&complete, json!({"keys": [], "meters": [{"meter": "气表", "reading": "-1"}]})).token(&s.after))
        .await;
    assert_eq!(r.error_fields(), ["keys", "meters[0].reading"]);
    // The keys: the unit is handed over, its handover case closed, the warranty runs.
    let h = s.ok(post(&complete, keys), &s.after, StatusCode::OK).await;
    assert_eq!((&h["status"], &h["handed_over_on"]), (&json!("handed_over"), &json!("2026-07-10")));
    assert_eq!(h["check"]["clear"], true, "{h}");
    let u = s.ok(get(&format!("/api/v1/units/{unit}")), &s.after, StatusCode::OK).await;
    assert_eq!(u["status"], "handed_over");
    let cases = s.ok(get(&format!("/api/v1/contracts/{contract}/service-cases")), &s.after, StatusCode::OK).await;
    let case = cases["items"].as_array().unwrap().iter().find(|c| c["kind"] == "handover").unwrap().clone();
    assert_eq!(case["status"], "completed", "{case}");
    let warranty = s.ok(get(&format!("/api/v1/units/{unit}/warranty")), &s.after, StatusCode::OK).await;
    let until =
        |item: &str| warranty["items"].as_array().unwrap().iter().find(|w| w["item"] == item).unwrap()["until"].clone();
    assert_eq!((until("waterproofing"), until("electrical")), (json!("2031-07-09"), json!("2028-07-09")));
    // A repair of the home shows what its warranty still covers.
    let body = json!({"project_id": s.project, "kind": "repair", "unit_id": unit, "caller_name": "业主1",
                      "description": "卫生间墙角又渗水"});
    let repair = s.ok(post("/api/v1/service/cases", body), &s.admin, StatusCode::CREATED).await;
    let page = s
        .app
        .send(get(&format!("/service/cases/{}", repair["id"].as_str().unwrap())).token(&s.admin).lang("zh-CN"))
        .await;
    assert!(page.text.contains("case-warranty") && page.text.contains("防水 截止 2031-07-09"), "{}", page.text);
    let r = s.app.send(post(&complete, json!({"keys": [{"name": "钥匙", "count": 1}]})).token(&s.after)).await;
    assert!(r.status == StatusCode::CONFLICT && r.text.contains("handed_over"), "{}", r.text);
    // The record prints (a 503 names a missing font on a machine without one).
    let r = s.app.send(get(&format!("/api/v1/aftersales/handovers/{id}/record.pdf")).token(&s.after)).await;
    match r.status {
        StatusCode::OK => {
            assert!(r.bytes.starts_with(b"%PDF"), "{}", r.content_type());
            if let Some(text) = pdf_text(&r.bytes) {
                for words in ["房屋交付确认书", "入户门钥匙", "淋浴区地面渗水", "已验收", "2031年07月09日"]
                {
                    assert!(text.replace(' ', "").contains(words), "{words} in {text}");
                }
            }
        }
        status => {
            assert!(status == StatusCode::SERVICE_UNAVAILABLE && r.text.contains("pdf_font_missing"), "{}", r.text)
        }
    }
    // The other buyer's handover keeps its own state; the slot keeps its one place taken.
    let slots = s.ok(get(&format!("/api/v1/buildings/{}/handover-slots", s.building)), &s.after, StatusCode::OK).await;
    assert_eq!((&slots["items"][0]["booked"], &slots["items"][0]["available"]), (&json!(1), &json!(0)));
    let list = s.ok(get(&format!("/api/v1/buildings/{}/handovers", s.building)), &s.after, StatusCode::OK).await;
    let states: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|l| &l["status"]).collect();
    assert_eq!(states, [&json!("handed_over"), &json!("open")]);
}

#[tokio::test]
async fn a_project_sets_its_deadlines_warranty_and_documents_never_below_the_regulation() {
    let s = site().await;
    let path = format!("/api/v1/projects/{}/handover-rules", s.project);
    let rules = s.ok(get(&path), &s.after, StatusCode::OK).await;
    assert_eq!(
        (&rules["deadline_hours"]["urgent"], &rules["warranty_months"]["waterproofing"]),
        (&json!(24), &json!(60))
    );
    let r = s
        .app
        .send(
            put(&path, json!({"deadline_hours": {"urgent": 4, "grave": 1}, "warranty_months": {"waterproofing": 36}}))
                .token(&s.after),
        )
        .await;
    assert_eq!(codes(&r.json()), [("warranty_months.waterproofing".to_owned(), "below_regulation".to_owned())]);
    let r = s.app.send(put(&path, json!({"deadline_hours": {"urgent": 4}})).token(&s.engineer)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let rules = s
        .ok(
            put(
                &path,
                json!({"deadline_hours": {"urgent": 4}, "warranty_months": {"waterproofing": 96},
                              "documents": ["身份证"]}),
            ),
            &s.after,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (&rules["deadline_hours"]["urgent"], &rules["warranty_months"]["waterproofing"], &rules["documents"]),
        (&json!(4), &json!(96), &json!(["身份证"]))
    );
    // The project's deadline applies to the next defect.
    let (contract, _) = s.sold().await;
    s.paid(&contract).await;
    s.ready().await;
    let h = s.ok(get(&format!("/api/v1/contracts/{contract}/handover")), &s.after, StatusCode::OK).await;
    let id = h["id"].as_str().unwrap();
    s.ok(
        post(&format!("/api/v1/aftersales/handovers/{id}/check-in"), json!({"documents": ["身份证"]})),
        &s.after,
        StatusCode::OK,
    )
    .await;
    let d = s
        .ok(
            post(
                &format!("/api/v1/aftersales/handovers/{id}/defects"),
                json!({"room": "厨房", "item": "plumbing", "severity": "urgent", "description": "水管漏水"}),
            ),
            &s.after,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(d["due_at"], json!(at(2026, 7, 1, 13)));
}

#[tokio::test]
async fn the_pages_show_the_handover_and_the_buyer_books_on_the_link_page_without_signing_in() {
    let s = site().await;
    let (contract, _) = s.sold().await;
    s.ready().await;
    let slot = s.slot("2026-07-10", "14:00-17:00", 5).await;
    let h = s.ok(get(&format!("/api/v1/contracts/{contract}/handover")), &s.after, StatusCode::OK).await;
    let id = h["id"].as_str().unwrap();
    let token = h["link"].as_str().unwrap().strip_prefix("/handover/").unwrap().to_owned();
    let page = s.app.send(get(&format!("/aftersales/handovers/{id}")).token(&s.after).lang("zh-CN")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("第 1 期（首付款）尚欠 2,000,000.00 元"), "{}", page.text);
    // The buyer's page says money is owed, and a booking is refused in words.
    let link = s.app.send(get(&format!("/handover/{token}")).lang("zh-CN")).await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.text);
    assert!(link.text.contains("尚有款项未结清") && link.text.contains("101"), "{}", link.text);
    let r = s.app.send(form(&format!("/handover/{token}"), &[("slot_id", &slot)]).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("尚欠 2,000,000.00 元"), "{}", r.text);
    s.paid(&contract).await;
    let r = s.app.send(form(&format!("/handover/{token}"), &[("slot_id", &slot)]).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("您的预约已登记") && r.text.contains("14:00-17:00"), "{}", r.text);
    let r = s.app.send(get("/handover/not-a-token")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for path in ["/aftersales/handovers", "/aftersales/defects", &format!("/aftersales/handovers/{id}")] {
        let r = s.app.send(get(path).token(&s.after)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let list = s.app.send(get(&format!("/aftersales/handovers?building_id={}", s.building)).token(&s.after)).await;
    assert!(list.text.contains("14:00-17:00") && list.text.contains(id), "{}", list.text);
    let r = s.app.send(get("/aftersales/defects").token(&s.agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The project's rules on the list page: a warranty below the regulation is
    // refused beside its field; a valid change is kept.
    let rules = format!("/aftersales/projects/{}/handover-rules", s.project);
    let mut fields = vec![("building_id", s.building.as_str()), ("hours_urgent", "12"), ("months_waterproofing", "36")];
    fields.push(("documents", "身份证\n购房合同"));
    let r = s.app.send(form(&rules, &fields).token(&s.after).lang("zh-CN")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("不得短于法定最低保修期"), "{}", r.text);
    fields[2] = ("months_waterproofing", "72");
    let r = s.app.send(form(&rules, &fields).token(&s.after)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let saved = s.ok(get(&format!("/api/v1/projects/{}/handover-rules", s.project)), &s.after, StatusCode::OK).await;
    assert_eq!(
        (&saved["deadline_hours"]["urgent"], &saved["warranty_months"]["waterproofing"], &saved["documents"]),
        (&json!(12), &json!(72), &json!(["身份证", "购房合同"]))
    );
}

#[tokio::test]
async fn a_defect_past_its_deadline_is_told_once_whatever_the_instances() {
    let s = site().await;
    let (contract, _) = s.sold().await;
    s.paid(&contract).await;
    s.ready().await;
    let h = s.ok(get(&format!("/api/v1/contracts/{contract}/handover")), &s.after, StatusCode::OK).await;
    let id = h["id"].as_str().unwrap();
    let documents = json!({"documents": ["买受人身份证原件", "购房合同", "交房通知书"]});
    s.ok(post(&format!("/api/v1/aftersales/handovers/{id}/check-in"), documents), &s.after, StatusCode::OK).await;
    let body = json!({"room": "卫生间", "item": "waterproofing", "severity": "urgent", "description": "地漏反水"});
    s.ok(post(&format!("/api/v1/aftersales/handovers/{id}/defects"), body), &s.after, StatusCode::CREATED).await;
    let (_, second) = s.app.second_instance().await;
    let check = |services: loupan_service::Services, at| async move {
        loupan_service::aftersales::handover::check_defect_deadlines(&services, at).await.unwrap()
    };
    // Within its 24 hours nothing is told; past them, once, from either instance.
    assert_eq!(check(s.app.services.clone(), at(2026, 7, 2, 8)).await, 0);
    let late = at(2026, 7, 2, 10);
    let (a, b) = tokio::join!(check(s.app.services.clone(), late), check(second.clone(), late));
    assert_eq!(a + b, 1);
    assert_eq!(check(second, at(2026, 7, 2, 11)).await, 0);
    let bell = |token: &str| {
        let call = get("/api/v1/notifications").token(token);
        let app = &s.app;
        async move {
            let json = app.send(call).await.json();
            let items = json["items"].as_array().or(json.as_array()).cloned().unwrap_or_default();
            items.iter().filter(|n| n["kind"] == "defect_overdue").count()
        }
    };
    assert_eq!((bell(&s.engineer).await, bell(&s.after).await), (1, 1), "engineering and the finder");
}
