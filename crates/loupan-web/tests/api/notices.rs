//! Notices and letters through the real router: a template refused with the
//! line and the field it got wrong; a payment reminder previewed on a real
//! customer; a batch to everyone overdue at least 30 days, with the amounts
//! of the arrears report, printed in unit order, each recipient once even
//! when the job runs again; what was sent on the customer's timeline, for
//! whoever may see the customer. E-mail through a real SMTP server
//! (aiosmtpd, `tests/smtp/receiver.py`): each recipient addressed alone, the
//! Chinese subject and name decoded, the letter attached as a PDF, a refusal
//! kept with the server's answer, nobody sent twice.

use crate::support::*;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

fn ok(r: &Reply) -> Value {
    assert!(r.status.is_success(), "{}: {}", r.status, r.text);
    r.json()
}

/// Noon in Beijing on 2026-06-01: the day the reminders go out.
fn june_first() -> DateTime<Utc> {
    "2026-06-01T04:00:00Z".parse().unwrap()
}

struct Office {
    app: TestApp,
    admin: String,
    project: String,
    building: String,
    agent: String,
    other_agent: String,
    finance: String,
    method: String,
    units: std::cell::Cell<u32>,
}

async fn office() -> Office {
    office_with(loupan_service::ServiceConfig::default()).await
}

async fn office_with(config: loupan_service::ServiceConfig) -> Office {
    let zone = loupan_service::Clock::parse_zone("+08:00").unwrap();
    let app = TestApp::with_config_and_clock(config, loupan_service::Clock::set_at(zone, june_first())).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    let (_, other_agent) = app.user(&admin, "agent2", &["sales_agent"], &[&project]).await;
    let (_, finance) = app.user(&admin, "fin", &["finance"], &[&project]).await;
    let building = ok(&app
        .send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin))
        .await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let method = ok(&app
        .send(
            post(
                &format!("/api/v1/projects/{project}/payment-methods"),
                json!({"name": "分期付款", "kind": "instalments", "discount": "0",
                "terms": [{"kind": "down_payment", "ratio": "0.3", "days_after_signing": 0},
                          {"kind": "instalment", "ratio": "0.7", "days_after_signing": 90}]}),
            )
            .token(&admin),
        )
        .await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Office { app, admin, project, building, agent, other_agent, finance, method, units: 0.into() }
}

impl Office {
    /// A contract of 1,000,000.00 for a new customer on unit `number`, signed on `signed_on`.
    async fn contract(&self, name: &str, phone: &str, number: &str, signed_on: &str) -> (String, String) {
        self.contract_with(json!({"name": name, "phone": phone}), number, signed_on).await
    }

    /// The same for a customer described by `customer` (name, phone, e-mail, …).
    async fn contract_with(&self, mut customer: Value, number: &str, signed_on: &str) -> (String, String) {
        let n = self.units.get();
        self.units.set(n + 1);
        let unit = ok(&self
            .app
            .send(
                post(
                    &format!("/api/v1/buildings/{}/units", self.building),
                    json!({"floor": number[..number.len() - 2].parse::<i32>().unwrap(), "number": number,
                        "layout": "3室2厅", "gross_area": "89.37", "inner_area": "77.37", "list_price": "1000000.00"}),
                )
                .token(&self.admin),
            )
            .await)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let customer = ok(&self
            .app
            .send(
                post("/api/v1/customers", {
                    customer["project_id"] = json!(self.project);
                    customer
                })
                .token(&self.agent),
            )
            .await)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"unit_id": unit, "customer_id": customer, "payment_method_id": self.method,
                          "total_price": "1000000.00", "signed_on": signed_on});
        let contract = ok(&self.app.send(post("/api/v1/sales/contracts", body).token(&self.agent)).await)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (contract, customer)
    }

    /// The batch's job once more, as after a crash or a retry by hand.
    async fn run_batch_again(&self, batch_id: &str) {
        let again = loupan_service::platform::jobs::enqueue(
            self.app.services.store.conn(),
            loupan_service::platform::jobs::NewJob {
                kind: loupan_service::platform::jobs::JobKind::NoticeBatch,
                payload: json!({"batch_id": batch_id}),
                run_at: Some(june_first()),
                unique_key: None,
                max_attempts: 1,
                created_by: None,
            },
        )
        .await
        .unwrap();
        assert!(again.is_some());
        self.run_jobs().await;
    }

    /// A new template as `body` describes it, by `token`; its id.
    async fn template(&self, token: &str, body: Value) -> String {
        let r = self.app.send(post("/api/v1/notices/templates", body).token(token)).await;
        ok(&r)["id"].as_str().unwrap().to_owned()
    }

    async fn run_jobs(&self) -> usize {
        loupan_service::platform::jobs::run_due(&self.app.services, "test", june_first() + chrono::Duration::minutes(1))
            .await
            .unwrap()
    }
}

const REMINDER: &str = "# 催款通知书\n\n尊敬的 {{ customer.name }}：\n\n您的 {{ building.name }} {{ unit.number }} 号房（合同 {{ contract.number }}）截至 {{ arrears.as_of|cn_date }} 逾期 {{ arrears.overdue|money }} 元（大写：{{ arrears.overdue|capital }}），已逾期 {{ arrears.days_overdue }} 天。";

#[tokio::test]
async fn a_template_with_a_wrong_field_or_syntax_is_refused_naming_the_line() {
    let o = office().await;
    let r = o
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "greeting", "name": "春节问候", "body": "尊敬的 {{ customer.name }}：\n欠款 {{ arrears.overdue }}"}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let e = &r.json()["errors"][0];
    assert_eq!((e["field"].as_str(), e["code"].as_str()), (Some("body"), Some("unknown_merge_field")));
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("第 2 行") && message.contains("arrears.overdue"), "{message}");
    let r = o
        .app
        .send(
            post("/api/v1/notices/templates", json!({"kind": "free", "name": "x", "body": "第一行\n{% if %}"}))
                .token(&o.admin)
                .lang("en"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let e = &r.json()["errors"][0];
    assert_eq!(e["code"], "template_syntax");
    assert!(e["message"].as_str().unwrap().starts_with("line 2 does not parse"), "{e}");
    // A template can reach nothing outside itself.
    let r = o
        .app
        .send(
            post("/api/v1/notices/templates", json!({"kind": "free", "name": "x", "body": "{% include 'config' %}"}))
                .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Agents do not design letters.
    let r = o
        .app
        .send(post("/api/v1/notices/templates", json!({"kind": "free", "name": "x", "body": "你好"})).token(&o.agent))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The picker offers a kind's fields with their labels.
    let fields = ok(&o.app.send(get("/api/v1/notices/fields?kind=payment_reminder").token(&o.admin).lang("en")).await);
    assert!(
        fields.as_array().unwrap().iter().any(|f| f["name"] == "arrears.overdue" && f["label"] == "Overdue amount")
    );
}

#[tokio::test]
async fn payment_reminders_go_once_to_everyone_overdue_thirty_days_with_the_arrears_reports_amounts() {
    let o = office().await;
    // Signed in January: the down payment (300,000) is overdue since then and
    // the instalment (700,000) since 5 April.
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    let (_, han) = o.contract("韩梅梅", "13800138002", "201", "2026-01-05").await;
    // Signed ten days ago: overdue, but not thirty days.
    let (_, _recent) = o.contract("王小明", "13800138003", "101", "2026-05-22").await;

    // 韩梅梅 refuses marketing: payment reminders are owed to her all the same.
    let consent = ok(&o
        .app
        .send(post(&format!("/api/v1/customers/{han}/marketing-consent"), json!({"opted_out": true})).token(&o.agent))
        .await);
    assert_eq!(consent["marketing_opt_out"], true);

    let template = ok(&o
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "payment_reminder", "name": "催款通知书", "body": REMINDER}),
            )
            .token(&o.finance),
        )
        .await);
    let template_id = template["id"].as_str().unwrap().to_owned();
    assert_eq!(template["version"], 1);

    // Previewed on a real customer, every field is filled.
    let letter = ok(&o
        .app
        .send(
            post(&format!("/api/v1/notices/templates/{template_id}/preview"), json!({"customer_id": li}))
                .token(&o.finance),
        )
        .await);
    let text = letter["text"].as_str().unwrap();
    assert!(text.contains("尊敬的 李雷") && text.contains("1号楼 301 号房"), "{text}");
    assert!(text.contains("逾期 1,000,000.00 元（大写：壹佰万元整）") && text.contains("2026年6月1日"), "{text}");

    // Who is overdue at least 30 days, as the arrears report says it.
    let arrears = ok(&o
        .app
        .send(
            get(&format!("/api/v1/finance/reports/arrears?as_of=2026-06-01&project_id={}", o.project))
                .token(&o.finance),
        )
        .await);
    let due_thirty: Vec<&Value> =
        arrears["items"].as_array().unwrap().iter().filter(|l| l["days_overdue"].as_i64().unwrap() >= 30).collect();
    assert_eq!(due_thirty.len(), 2);
    let batch = json!({"template_id": template_id, "project_id": o.project, "as_of": "2026-06-01",
                       "audience": {"source": "arrears", "min_days": 30}});
    let plan = ok(&o.app.send(post("/api/v1/notices/batches/preview", batch.clone()).token(&o.finance)).await);
    assert_eq!(plan["count"], 2);
    // Printed in building and unit order: 201 before 301.
    assert_eq!(plan["first"][0]["customer_id"], han.as_str());
    let created = o.app.send(post("/api/v1/notices/batches", batch).token(&o.finance)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let batch_id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["status"], "queued");

    assert!(o.run_jobs().await >= 1);
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}")).token(&o.finance)).await);
    assert_eq!(
        (done["status"].as_str(), done["sent"].as_i64(), done["total"].as_i64()),
        (Some("done"), Some(2), Some(2))
    );

    // Each recipient once: the sending is on the timeline once, even when the batch's job runs again.
    o.run_batch_again(&batch_id).await;
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{li}/timeline")).token(&o.agent)).await);
    let notices: Vec<&Value> = timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "notice").collect();
    assert_eq!(notices.len(), 1, "{timeline}");
    assert!(notices[0]["summary"].as_str().unwrap().contains("催款通知书"), "{}", notices[0]);

    // The owner sees exactly what was sent; another agent does not.
    let sending = notices[0]["facts"]["sending"].as_str().unwrap();
    let sent = ok(&o.app.send(get(&format!("/api/v1/notices/sendings/{sending}")).token(&o.agent)).await);
    assert!(sent["text"].as_str().unwrap().contains("逾期 1,000,000.00 元"), "{sent}");
    assert_eq!(sent["template_version"], 1);
    let r = o.app.send(get(&format!("/api/v1/notices/sendings/{sending}")).token(&o.other_agent)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A new version leaves the batch with the one it used.
    let v2 = ok(&o
        .app
        .send(
            put(
                &format!("/api/v1/notices/templates/{template_id}"),
                json!({"kind": "payment_reminder", "name": "催款通知书", "body": format!("{REMINDER}\n\n请尽快缴款。")}),
            )
            .token(&o.finance),
        )
        .await);
    assert_eq!(v2["version"], 2);
    let r = o
        .app
        .send(
            put(
                &format!("/api/v1/notices/templates/{template_id}"),
                json!({"kind": "payment_reminder", "name": "x", "body": REMINDER}),
            )
            .token(&o.finance),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let sent = ok(&o.app.send(get(&format!("/api/v1/notices/sendings/{sending}")).token(&o.admin)).await);
    assert_eq!(sent["template_version"], 1);

    // The pages: the list, the editor with its picker, a preview, a batch plan, the batch and the letter.
    for path in
        ["/notices".to_owned(), format!("/notices/templates/{template_id}"), format!("/notices/batches/{batch_id}")]
    {
        let page = o.app.send(get(&path).token(&o.finance)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
    }
    let page = o.app.send(get(&format!("/notices/batches/{batch_id}")).token(&o.finance)).await;
    assert!(page.text.contains("id=\"recipients\"") && page.text.contains("韩梅梅"), "the sending log: {}", page.text);
    let current = v2["id"].as_str().unwrap();
    let page = o.app.send(get(&format!("/notices/templates/{current}")).token(&o.finance)).await;
    assert!(
        page.text.contains("data-merge-field=\"arrears.overdue\"") && page.text.contains("batch-form"),
        "{}",
        page.text
    );
    let page = o
        .app
        .send(
            form(&format!("/notices/templates/{current}/preview"), &[("customer_id", &li), ("as_of", "2026-06-01")])
                .token(&o.finance),
        )
        .await;
    assert!(page.text.contains("壹佰万元整") && page.text.contains("请尽快缴款"), "{}", page.text);
    let page = o
        .app
        .send(
            form(
                &format!("/notices/templates/{current}/batch"),
                &[("project_id", &o.project), ("source", "arrears"), ("min_days", "30"), ("as_of", "2026-06-01")],
            )
            .token(&o.finance),
        )
        .await;
    assert!(page.text.contains("id=\"batch-count\"") && page.text.contains("confirm-batch"), "{}", page.text);
    let page = o.app.send(get(&format!("/notices/sendings/{sending}")).token(&o.agent)).await;
    assert!(page.text.contains("sending-text") && !page.text.contains("韩梅梅"), "{}", page.text);
    let page = o.app.send(get(&format!("/customers/{li}")).token(&o.agent)).await;
    assert!(page.text.contains(&format!("/notices/sendings/{sending}")), "the timeline links to the letter");

    // The letters: one PDF, in unit order, with the amounts in capitals.
    let r = o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/letters.pdf")).token(&o.finance)).await;
    if !loupan_documents::pdf::available() {
        assert!(std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() != Ok("1"), "CI needs a CJK font for letters");
        return;
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.bytes.starts_with(b"%PDF"));
    if let Some(text) = pdf_text(&r.bytes) {
        let (first, second) =
            (text.find("韩梅梅").expect("韩梅梅's letter"), text.find("李雷").expect("李雷's letter"));
        assert!(first < second, "201 prints before 301");
        assert!(text.contains("壹佰万元整") && !text.contains("王小明"), "{text}");
    }
    // Or one PDF per customer, named in print order.
    let r = o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/letters.zip")).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let files = loupan_documents::zip::read(&r.bytes).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0001-韩梅梅.pdf", "0002-李雷.pdf"]);
    if let Some(text) = pdf_text(&files[1].1) {
        assert!(text.contains("李雷") && !text.contains("韩梅梅") && text.contains("壹佰万元整"), "{text}");
    }
}

/// Two tiny PNGs without transparency: a company logo and the scan of a pre-printed form.
const LOGO: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8,
    2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE, 0, 0, 0, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8, 0xCF, 0xC0, 0,
    0, 0x03, 0x01, 0x01, 0, 0x18, 0xDD, 0x8D, 0xB0, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
const FORM_SCAN: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7B, 0x40, 0xE8, 0xDD, 0x00, 0x00, 0x00, 0x0F, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xFF, 0xFF, 0xFF, 0xBB, 0x77, 0xEF, 0x00, 0x14, 0x8C, 0x05, 0xC8, 0xE1,
    0x59, 0x16, 0x47, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// How many pictures a PDF carries.
fn pictures_in(pdf: &[u8]) -> usize {
    let image = b"/Subtype/Image";
    pdf.windows(image.len()).filter(|w| w == image).count()
}

#[tokio::test]
async fn printed_letters_carry_a_logo_a_table_page_numbers_and_fields_placed_on_a_scanned_form_left_off_paper() {
    let o = office().await;
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    let (_, _han) = o.contract("韩梅梅", "13800138002", "201", "2026-01-05").await;

    let upload = |bytes: &[u8]| post_bytes("/api/v1/notices/pictures", bytes.to_vec(), "image/png").token(&o.finance);
    let logo = o.app.send(upload(LOGO)).await;
    assert_eq!(logo.status, StatusCode::CREATED, "{}", logo.text);
    let logo = logo.json();
    let logo_name = logo["name"].as_str().unwrap().to_owned();
    assert_eq!(
        (logo_name.len(), logo["image_line"].as_str().unwrap()),
        (32, format!("@image {logo_name} 40").as_str())
    );
    assert_eq!(ok(&o.app.send(upload(LOGO)).await)["name"], logo_name.as_str(), "the same picture, the same name");
    let form_name = ok(&o.app.send(upload(FORM_SCAN)).await)["name"].as_str().unwrap().to_owned();
    let r = o.app.send(upload(b"GIF89a not a picture")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["code"], "unsupported_file_type");

    let save = |body: String| {
        post("/api/v1/notices/templates", json!({"kind": "payment_reminder", "name": "催款（套打）", "body": body}))
            .token(&o.finance)
    };
    // A mark letters do not know, and a picture nobody uploaded: refused naming the line.
    let r = o.app.send(save("# 通知\n尊敬的 {{ customer.name }}：\n@colour red".into())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["code"], "letter_markup");
    assert!(r.json()["errors"][0]["message"].as_str().unwrap().contains('3'), "{}", r.text);
    let r = o.app.send(save(format!("# 通知\n@image {} 30", "0".repeat(32)))).await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_picture", "{}", r.text);

    let body = format!(
        "@header {{{{ project.name }}}} 营销中心\n@footer 第 {{page}} 页 共 {{pages}} 页\n@image {logo_name} 30 right\n@form {form_name}\n# 催款通知书\n\n尊敬的 {{{{ customer.name }}}}：\n\n| 项目 | 金额（元） |\n|---|---:|\n| 逾期 | {{{{ arrears.overdue|money }}}} |\n\n@right {{{{ today|cn_date }}}}\n@at 30,250 {{{{ customer.name }}}}（套打）"
    );
    let template = ok(&o.app.send(save(body)).await);
    let template_id = template["id"].as_str().unwrap().to_owned();

    let r = o
        .app
        .send(
            post(&format!("/api/v1/notices/templates/{template_id}/preview.pdf"), json!({"customer_id": li}))
                .token(&o.finance),
        )
        .await;
    if !loupan_documents::pdf::available() {
        assert!(std::env::var("LOUPAN_REQUIRE_BROWSER").as_deref() != Ok("1"), "CI needs a CJK font for letters");
        return;
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/pdf");
    assert_eq!(pictures_in(&r.bytes), 2, "the preview shows the logo and the scanned form");
    if let Some(text) = pdf_text(&r.bytes) {
        // pdftotext keeps some spaces and drops others: words are compared without them.
        let text = text.replace(' ', "");
        for words in [
            "翠湖名苑营销中心",
            "第1页共1页",
            "尊敬的李雷",
            "1,000,000.00",
            "2026年6月1日",
            "李雷（套打）",
            "金额（元）",
        ] {
            assert!(text.contains(words), "{words} in {text}");
        }
    }

    // On paper the form is left off; the logo is printed once for the whole batch, each letter numbered on its own.
    let batch = json!({"template_id": template_id, "project_id": o.project, "as_of": "2026-06-01",
                       "audience": {"source": "arrears", "min_days": 30}});
    let created = o.app.send(post("/api/v1/notices/batches", batch).token(&o.finance)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let batch_id = created.json()["id"].as_str().unwrap().to_owned();
    o.run_jobs().await;
    let r = o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/letters.pdf")).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(pictures_in(&r.bytes), 1, "the logo, shared; no form");
    if let Some(text) = pdf_text(&r.bytes) {
        assert_eq!(text.replace(' ', "").matches("第1页共1页").count(), 2, "{text}");
        assert!(text.contains("韩梅梅（套打）") && text.contains("李雷（套打）"), "{text}");
    }

    // The calibration page to measure a form with, and the editor's tools.
    let r = o.app.send(get("/api/v1/notices/calibration.pdf").token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    if let Some(text) = pdf_text(&r.bytes) {
        assert!(text.contains("100 mm"), "{text}");
    }
    let page = o.app.send(get(&format!("/notices/templates/{template_id}")).token(&o.finance)).await;
    assert!(
        ["picture-form", "preview-pdf", "/notices/calibration.pdf", "letter-marks"]
            .iter()
            .all(|id| page.text.contains(id)),
        "{}",
        page.text
    );
    let r = o
        .app
        .send(
            form(
                &format!("/notices/templates/{template_id}/preview.pdf"),
                &[("customer_id", &li), ("as_of", "2026-06-01")],
            )
            .token(&o.finance),
        )
        .await;
    assert_eq!((r.status, r.bytes.starts_with(b"%PDF")), (StatusCode::OK, true), "{}", r.text);
}

#[tokio::test]
async fn a_letter_merges_the_letterhead_every_buyer_and_the_plans_instalments_as_a_table() {
    let o = office().await;
    let (contract, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    // His wife joins the contract (加名), approved by the manager.
    let wife = ok(&o
        .app
        .send(
            post("/api/v1/customers", json!({"name": "韩梅梅", "phone": "13800138002", "project_id": o.project}))
                .token(&o.agent),
        )
        .await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, manager) = o.app.user(&o.admin, "manager", &["sales_manager"], &[&o.project]).await;
    let change = json!({"kind": "rename", "subject_id": contract, "reason": "加名",
                        "buyers": [{"customer_id": li, "share": "0.5"}, {"customer_id": wife, "share": "0.5"}]});
    let approval = ok(&o.app.send(post("/api/v1/sales/changes", change).token(&o.agent)).await)["approval_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&o.app.send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({})).token(&manager)).await);

    // The letterhead is the administrator's; a logo must be a picture uploaded before.
    let head = json!({"name": "翠湖置业有限公司", "address": "杭州市西湖区翠湖路 1 号", "phone": "0571-88886666"});
    let set_head = |token: &str, body: Value| o.app.send(put("/api/v1/notices/letterhead", body).token(token));
    assert_eq!(set_head(&o.finance, head.clone()).await.status, StatusCode::FORBIDDEN);
    let r = set_head(&o.admin, json!({"name": " ", "logo": "0".repeat(32)})).await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!((r.status, fields), (StatusCode::UNPROCESSABLE_ENTITY, vec!["logo".to_owned(), "name".to_owned()]));
    let logo = ok(&o
        .app
        .send(post_bytes("/api/v1/notices/pictures", LOGO.to_vec(), "image/png").token(&o.admin))
        .await)["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut with_logo = head.clone();
    with_logo["logo"] = json!(logo);
    assert_eq!(ok(&set_head(&o.admin, with_logo).await)["logo"], logo.as_str());
    assert_eq!(ok(&o.app.send(get("/api/v1/notices/letterhead").token(&o.finance)).await)["name"], "翠湖置业有限公司");

    // The picker offers the instalment table ready to print.
    let fields = ok(&o.app.send(get("/api/v1/notices/fields?kind=payment_reminder").token(&o.finance)).await);
    let table = fields.as_array().unwrap().iter().find(|f| f["name"] == "plan.instalments").unwrap();
    assert_eq!(table["label"], "付款明细（表格）");
    let snippet = table["snippet"].as_str().unwrap().to_owned();
    assert!(
        snippet.starts_with("| 期次 | 款项 | 应付日期 |") && snippet.contains("{% for row in plan.instalments %}"),
        "{snippet}"
    );

    let body = format!(
        "@logo 30 right\n# 缴款通知\n\n尊敬的 {{{{ contract.buyers }}}}：\n\n您选择的付款方式为{{{{ plan.name }}}}，明细如下：\n\n{snippet}\n@right {{{{ company.name }}}}\n@right 地址：{{{{ company.address }}}} 电话：{{{{ company.phone }}}}"
    );
    let template = o.template(&o.finance, json!({"kind": "payment_reminder", "name": "缴款通知", "body": body})).await;
    let preview = ok(&o
        .app
        .send(
            post(
                &format!("/api/v1/notices/templates/{template}/preview"),
                json!({"customer_id": li, "as_of": "2026-06-01"}),
            )
            .token(&o.finance),
        )
        .await);
    let text = preview["text"].as_str().unwrap();
    // The contract's plan: 30 % at signing, 70 % 90 days later, nothing paid yet.
    for words in [
        "尊敬的 李雷、韩梅梅：",
        "付款方式为分期付款",
        "| 1 | 首付款 | 2026年1月5日 | 300,000.00 | 0.00 | 300,000.00 |",
        "| 2 | 分期款 | 2026年4月5日 | 700,000.00 | 0.00 | 700,000.00 |",
        "@right 翠湖置业有限公司",
        "电话：0571-88886666",
    ] {
        assert!(text.contains(words), "{words} in {text}");
    }
    // On paper, the letterhead's logo where the letter says @logo.
    let pdf = || {
        post(&format!("/api/v1/notices/templates/{template}/preview.pdf"), json!({"customer_id": li})).token(&o.finance)
    };
    let r = o.app.send(pdf()).await;
    if loupan_documents::pdf::available() {
        assert_eq!((r.status, pictures_in(&r.bytes)), (StatusCode::OK, 1), "the logo: {}", r.text);
    }
    // Without a logo the mark prints nothing, and the letter still prints.
    ok(&set_head(&o.admin, head).await);
    let r = o.app.send(pdf()).await;
    if loupan_documents::pdf::available() {
        assert_eq!((r.status, pictures_in(&r.bytes)), (StatusCode::OK, 0), "{}", r.text);
    }
    // The settings page has the letterhead form.
    let page = o.app.send(get("/admin/sending").token(&o.admin)).await;
    assert!(page.text.contains("letterhead-form") && page.text.contains("翠湖置业有限公司"), "{}", page.text);
}

#[tokio::test]
async fn a_handover_notice_states_the_batchs_dates_and_place_in_every_letter() {
    let o = office().await;
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    o.contract("韩梅梅", "13800138002", "201", "2026-01-05").await;
    let body = "尊敬的 {{ customer.name }}：请于 {{ handover.starts_on|cn_date }} 至 {{ handover.ends_on|cn_date }} 到{{ handover.place }}办理 {{ unit.number }} 号房的交房手续。预约：{{ handover.link }}";
    let template = o.template(&o.admin, json!({"kind": "handover_notice", "name": "交房通知", "body": body})).await;
    // A payment reminder has no handover to state.
    let r = o
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "payment_reminder", "name": "x", "body": "{{ handover.place }}"}),
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_merge_field", "{}", r.text);

    let details =
        json!({"handover.starts_on": "2026-07-01", "handover.ends_on": "2026-07-15", "handover.place": "物业服务中心"});
    let preview = |details: Value| {
        post(&format!("/api/v1/notices/templates/{template}/preview"), json!({"customer_id": li, "details": details}))
            .token(&o.admin)
    };
    let text = ok(&o.app.send(preview(details.clone())).await)["text"].as_str().unwrap().to_owned();
    // Before the building is ready there is no handover, so no link yet.
    assert_eq!(text, "尊敬的 李雷：请于 2026年7月1日 至 2026年7月15日 到物业服务中心办理 301 号房的交房手续。预约：");
    for (wrong, field, code) in [
        (
            json!({"handover.starts_on": "2026-07-01", "handover.place": "物业"}),
            "details.handover.ends_on",
            "needed_for_this_kind",
        ),
        (
            json!({"handover.starts_on": "2026-07-15", "handover.ends_on": "2026-07-01", "handover.place": "物业"}),
            "details.handover.ends_on",
            "before_start",
        ),
        (
            json!({"handover.starts_on": "7月1日", "handover.ends_on": "2026-07-01", "handover.place": "物业"}),
            "details.handover.starts_on",
            "invalid_date",
        ),
        (
            json!({"handover.starts_on": "2026-07-01", "handover.ends_on": "2026-07-02", "handover.place": "物业", "handover.hour": "9"}),
            "details.handover.hour",
            "unknown_merge_field_name",
        ),
    ] {
        let r = o.app.send(preview(wrong)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(
            (r.json()["errors"][0]["field"].as_str(), r.json()["errors"][0]["code"].as_str()),
            (Some(field), Some(code)),
            "{}",
            r.text
        );
    }
    // The building is declared ready: each buyer's handover opens with its booking link.
    let ready = format!("/api/v1/buildings/{}/handover-readiness", o.building);
    ok(&o.app.send(post(&ready, json!({"ready_on": "2026-06-30"})).token(&o.admin)).await);
    // The batch keeps what it stated, and every letter says it.
    let batch = json!({"template_id": template, "project_id": o.project,
                       "audience": {"source": "building", "building_id": o.building}, "details": details});
    let created = ok(&o.app.send(post("/api/v1/notices/batches", batch).token(&o.admin)).await);
    assert_eq!(created["details"]["handover.place"], "物业服务中心");
    o.run_jobs().await;
    let id = created["id"].as_str().unwrap();
    let log = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}/recipients")).token(&o.admin)).await);
    let mut sent = Vec::new();
    for r in log.as_array().unwrap() {
        let sending = ok(&o
            .app
            .send(get(&format!("/api/v1/notices/sendings/{}", r["id"].as_str().unwrap())).token(&o.admin))
            .await);
        sent.push(sending["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(sent.len(), 2, "{log}");
    assert!(sent.iter().all(|t| t.contains("2026年7月15日 到物业服务中心")), "{sent:?}");
    // Each with the buyer's own link, which opens their booking page.
    let links: Vec<&str> = sent.iter().map(|t| t.rsplit("预约：").next().unwrap()).collect();
    assert!(links.iter().all(|l| l.contains("/handover/") && l.len() > 40), "{sent:?}");
    assert_ne!(links[0], links[1]);
    let path = &links[0][links[0].find("/handover/").unwrap()..];
    assert_eq!(o.app.send(get(path)).await.status, StatusCode::OK);
    // The page asks for them in the preview and in the batch.
    let page = o.app.send(get(&format!("/notices/templates/{template}")).token(&o.admin)).await;
    assert!(
        page.text.contains("name=\"details.handover.starts_on\"") && page.text.contains("batch-details"),
        "{}",
        page.text
    );
    let r = o
        .app
        .send(
            form(
                &format!("/notices/templates/{template}/batch"),
                &[
                    ("project_id", &o.project),
                    ("source", "building"),
                    ("building_id", &o.building),
                    ("details.handover.starts_on", "2026-07-01"),
                    ("details.handover.ends_on", ""),
                    ("details.handover.place", "物业"),
                ],
            )
            .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

#[tokio::test]
async fn marketing_skips_those_who_refused_it_and_counts_them() {
    let o = office().await;
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    let (_, han) = o.contract("韩梅梅", "13800138002", "201", "2026-01-05").await;
    let (_, wang) = o.contract("王小明", "13800138003", "101", "2026-05-22").await;
    let consent = |id: &str, opted_out: bool| {
        post(&format!("/api/v1/customers/{id}/marketing-consent"), json!({"opted_out": opted_out}))
    };
    let r = o.app.send(consent(&han, true).token(&o.agent)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Another agent's customer is not theirs to change.
    let r = o.app.send(consent(&han, false).token(&o.other_agent)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let greeting = o
        .template(
            &o.admin,
            json!({"kind": "greeting", "name": "端午问候", "body": "尊敬的 {{ customer.name }}：端午安康！"}),
        )
        .await;
    let batch = json!({"template_id": greeting, "project_id": o.project,
                       "audience": {"source": "customers", "customer_ids": [li, han, wang]}});
    let plan = ok(&o.app.send(post("/api/v1/notices/batches/preview", batch.clone()).token(&o.admin)).await);
    assert_eq!((plan["count"].as_u64(), plan["skipped_opted_out"].as_u64()), (Some(2), Some(1)));
    let id = ok(&o.app.send(post("/api/v1/notices/batches", batch).token(&o.admin)).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.run_jobs().await;
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}")).token(&o.admin)).await);
    assert_eq!((done["sent"].as_i64(), done["skipped"].as_i64(), done["total"].as_i64()), (Some(2), Some(1), Some(3)));
    let log = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}/recipients")).token(&o.admin)).await);
    let skipped: Vec<&Value> = log.as_array().unwrap().iter().filter(|r| r["status"] == "skipped").collect();
    assert_eq!(
        (skipped.len(), skipped[0]["customer_id"].as_str(), skipped[0]["skip_reason"].as_str()),
        (1, Some(han.as_str()), Some("opted_out"))
    );
    // The sending log as a spreadsheet says the same, in the reader's language.
    let sheet =
        o.app.send(get(&format!("/api/v1/notices/batches/{id}/recipients/export")).token(&o.admin).lang("en")).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.text);
    let rows: Vec<Vec<String>> = loupan_documents::xlsx::read_first_sheet(&sheet.bytes)
        .unwrap()
        .into_iter()
        .map(|row| row.iter().map(|c| c.as_text().unwrap_or_default()).collect())
        .collect();
    assert_eq!(rows[0][0], "Customer");
    assert!(rows.iter().any(|r| r[0] == "韩梅梅" && r[1] == "Skipped" && r[2] == "refused marketing"), "{rows:?}");
    // Her choice is on her timeline, and she has no greeting there.
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{han}/timeline")).token(&o.agent)).await);
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"consent") && !kinds.contains(&"notice"), "{kinds:?}");
    // Accepting again lets the next greeting reach her.
    let r = o.app.send(consent(&han, false).token(&o.agent)).await;
    assert_eq!(r.json()["marketing_opt_out"], false);
    let again = json!({"template_id": greeting, "project_id": o.project,
                       "audience": {"source": "customers", "customer_ids": [han]}});
    let plan = ok(&o.app.send(post("/api/v1/notices/batches/preview", again).token(&o.admin)).await);
    assert_eq!(plan["count"], 1);
}

#[tokio::test]
async fn a_batch_to_a_saved_filter_reaches_whoever_it_finds_when_confirmed_buyers_first_in_unit_order() {
    let o = office().await;
    let register = |name: &str, phone: &str, grade: &str, project: &str| {
        let body = json!({"name": name, "phone": phone, "grade": grade, "project_id": project});
        let app = &o.app;
        let admin = o.admin.clone();
        async move { ok(&app.send(post("/api/v1/customers", body).token(&admin)).await)["id"].as_str().unwrap().to_owned() }
    };
    let (_, buyer_high) =
        o.contract_with(json!({"name": "高层买家", "phone": "13800138011", "grade": "A"}), "1201", "2026-01-05").await;
    let (_, buyer_low) =
        o.contract_with(json!({"name": "低层买家", "phone": "13800138012", "grade": "A"}), "301", "2026-01-05").await;
    let visitor = register("来访客", "13800138013", "A", &o.project).await;
    register("B级客", "13800138014", "B", &o.project).await;
    let elsewhere = o.app.project(&o.admin, "别处").await;
    register("别处A级", "13800138015", "A", &elsewhere).await;
    let saved = ok(&o
        .app
        .send(post("/api/v1/customers/saved-filters", json!({"name": "A级", "query": "grade=A"})).token(&o.admin))
        .await);
    let greeting =
        o.template(&o.admin, json!({"kind": "greeting", "name": "问候", "body": "{{ customer.name }}，您好"})).await;
    // A customer registered after the filter was saved is found too: it keeps conditions, not names.
    let late = register("后来者", "13800138016", "A", &o.project).await;
    let batch = json!({"template_id": greeting, "project_id": o.project,
                       "audience": {"source": "saved_filter", "filter_id": saved["id"]}});
    let plan = ok(&o.app.send(post("/api/v1/notices/batches/preview", batch.clone()).token(&o.admin)).await);
    assert_eq!(plan["count"], 4, "{plan}");
    let id = ok(&o.app.send(post("/api/v1/notices/batches", batch).token(&o.admin)).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.run_jobs().await;
    let log = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}/recipients")).token(&o.admin)).await);
    let to: Vec<&str> = log.as_array().unwrap().iter().map(|r| r["customer_id"].as_str().unwrap()).collect();
    // Buyers in the order of their units, then the others as the list finds them.
    let mut others = vec![visitor.as_str(), late.as_str()];
    others.sort();
    assert_eq!(to, [vec![buyer_low.as_str(), buyer_high.as_str()], others].concat());
    // Another user's filter is not theirs to use.
    let (_, manager) = o.app.user(&o.admin, "manager", &["sales_manager"], &[&o.project]).await;
    let r = o
        .app
        .send(
            post(
                "/api/v1/notices/batches/preview",
                json!({"template_id": greeting, "project_id": o.project,
                       "audience": {"source": "saved_filter", "filter_id": saved["id"]}}),
            )
            .token(&manager),
        )
        .await;
    assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["audience.filter_id".to_owned()]));
}

/// A real SMTP server (aiosmtpd) writing what it accepts as JSON lines.
struct Receiver {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
}

impl Receiver {
    /// The SMTP server; None when this machine lacks Debian's python3-aiosmtpd (CI installs it).
    fn start() -> Option<Receiver> {
        Receiver::run("tests/smtp/receiver.py", &[]).or_else(Receiver::missing)
    }

    /// A script of `tests/` that prints `listening PORT` and writes what it received to its first argument.
    fn run(script: &str, args: &[&str]) -> Option<Receiver> {
        use std::io::BufRead;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(script);
        let out = std::env::temp_dir().join(format!("loupan-receiver-{}.jsonl", loupan_store::new_id()));
        let mut child = std::process::Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&out)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        match line.strip_prefix("listening ").and_then(|p| p.trim().parse().ok()) {
            Some(port) => Some(Receiver { child, port, out }),
            None => {
                let _ = child.kill();
                None
            }
        }
    }

    fn missing() -> Option<Receiver> {
        assert!(std::env::var("LOUPAN_REQUIRE_SMTP").as_deref() != Ok("1"), "CI needs python3-aiosmtpd");
        None
    }

    /// Every message accepted so far.
    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for m in self.messages() {
            for a in m["attachments"].as_array().into_iter().flatten() {
                let _ = std::fs::remove_file(a["path"].as_str().unwrap_or_default());
            }
        }
        let _ = std::fs::remove_file(&self.out);
    }
}

#[tokio::test]
async fn a_marketing_email_carries_an_unsubscribe_link_that_records_the_refusal_without_signing_in() {
    let Some(smtp) = Receiver::start() else { return };
    let config =
        loupan_service::ServiceConfig { public_url: Some("https://crm.example.cn".into()), ..Default::default() };
    let o = office_with(config).await;
    let (_, li) = o
        .contract_with(
            json!({"name": "李雷", "phone": "13800138001", "email": "lilei@example.cn"}),
            "301",
            "2026-01-05",
        )
        .await;
    ok(&o
        .app
        .send(
            put(
                "/api/v1/notices/smtp",
                json!({"host": "127.0.0.1", "port": smtp.port, "security": "none",
                       "sender_name": "翠湖名苑", "sender_address": "service@example.cn"}),
            )
            .token(&o.admin),
        )
        .await);
    let template = ok(&o
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "greeting", "channel": "email", "name": "中秋问候", "subject": "中秋快乐",
                       "body": "@header 不该出现在邮件里\n{{ customer.name }}，中秋快乐！\n@right 翠湖名苑"}),
            )
            .token(&o.finance),
        )
        .await);
    let batch = json!({"template_id": template["id"], "project_id": o.project,
                       "audience": {"source": "customers", "customer_ids": [li]}});
    let created = o.app.send(post("/api/v1/notices/batches", batch).token(&o.finance)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    o.run_jobs().await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body = messages[0]["body"].as_str().unwrap();
    assert!(body.contains("李雷，中秋快乐！") && body.contains("翠湖名苑") && !body.contains("@header"), "{body}");
    let prefix = format!("https://crm.example.cn/unsubscribe/{li}/");
    let link = body.lines().find_map(|l| l.split_whitespace().find(|w| w.starts_with(&prefix))).expect("the link");
    assert_eq!(messages[0]["list_unsubscribe"], format!("<{link}>").as_str());
    assert_eq!(messages[0]["list_unsubscribe_post"], "List-Unsubscribe=One-Click");

    // Opened without signing in: a question and one button; a forged token is nobody's.
    let path = link.trim_start_matches("https://crm.example.cn");
    let page = o.app.send(get(path)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"unsubscribe\""), "{}", page.text);
    let forged = format!("{}{}", &path[..path.len() - 4], "0000");
    assert_eq!(o.app.send(get(&forged)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(o.app.send(form(&forged, &[])).await.status, StatusCode::NOT_FOUND);
    let done = o.app.send(form(path, &[])).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("id=\"unsubscribed\""), "{}", done.text);

    // Recorded on the customer as any refusal: marketing skips them, the timeline says so.
    let customer = ok(&o.app.send(get(&format!("/api/v1/customers/{li}")).token(&o.agent)).await);
    assert_eq!(customer["marketing_opt_out"], true, "{customer}");
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{li}/timeline")).token(&o.agent)).await);
    assert!(timeline["items"].as_array().unwrap().iter().any(|e| e["kind"] == "consent"), "{timeline}");
    // The one-click POST of a mail program, again: nothing changes twice.
    assert_eq!(o.app.send(form(path, &[])).await.status, StatusCode::OK);
}

#[tokio::test]
async fn payment_reminders_by_email_reach_each_customer_once_with_the_letter_attached() {
    let Some(smtp) = Receiver::start() else { return };
    let o = office().await;
    let (_, li) = o
        .contract_with(
            json!({"name": "李雷", "phone": "13800138001", "email": "lilei@example.cn"}),
            "301",
            "2026-01-05",
        )
        .await;
    let (_, han) = o
        .contract_with(
            json!({"name": "韩梅梅", "phone": "13800138002", "email": "refuse-han@example.cn"}),
            "201",
            "2026-01-05",
        )
        .await;
    let (_, zhang) = o.contract("张伟", "13800138004", "401", "2026-01-05").await;

    // An e-mail template needs a subject; its fields are checked like the body's.
    let template = |subject: Value| {
        post(
            "/api/v1/notices/templates",
            json!({"kind": "payment_reminder", "channel": "email", "name": "催款通知书", "subject": subject,
                   "body": REMINDER, "attach_pdf": true}),
        )
    };
    let r = o.app.send(template(Value::Null).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["errors"][0]["field"], "subject");
    let r = o.app.send(template(json!("{{ customer.nmae }}")).token(&o.finance)).await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_merge_field", "{}", r.text);
    let t =
        ok(&o.app.send(template(json!("{{ project.name }} 催款通知：{{ customer.name }}")).token(&o.finance)).await);
    assert_eq!((t["channel"].as_str(), t["attach_pdf"].as_bool()), (Some("email"), Some(true)));
    let template_id = t["id"].as_str().unwrap().to_owned();
    let batch = json!({"template_id": template_id, "project_id": o.project, "as_of": "2026-06-01",
                       "audience": {"source": "arrears", "min_days": 30}});

    // Until an administrator sets up the server, nothing is queued.
    let r = o.app.send(post("/api/v1/notices/batches", batch.clone()).token(&o.finance)).await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (StatusCode::CONFLICT, Some("smtp_not_configured")),
        "{}",
        r.text
    );

    // The password is kept encrypted and never shown; only administrators see the settings.
    let settings = |user: Value, password: Value| {
        put(
            "/api/v1/notices/smtp",
            json!({"host": "127.0.0.1", "port": smtp.port, "security": "none", "user": user, "password": password,
                   "sender_name": "翠湖名苑 客户服务中心", "sender_address": "service@example.cn"}),
        )
    };
    let shown = ok(&o.app.send(settings(json!("mailer"), json!("s3cret-Pa55")).token(&o.admin)).await);
    assert_eq!(shown["has_password"], true);
    assert!(!shown.to_string().contains("s3cret-Pa55"));
    let stored =
        loupan_store::settings::find_setting(o.app.services.store.conn(), "company", "smtp").await.unwrap().unwrap();
    assert!(!stored.value.contains("s3cret-Pa55") && stored.value.contains("password_encrypted"));
    let r = o.app.send(get("/api/v1/notices/smtp").token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = o.app.send(put("/api/v1/notices/smtp", json!({"host": "a b", "port": 70000})).token(&o.admin)).await;
    let errors = r.json();
    let fields: Vec<&str> = errors["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"host") && fields.contains(&"port") && fields.contains(&"sender_name"), "{}", r.text);
    // This server takes mail without signing in.
    ok(&o
        .app
        .send(
            put(
                "/api/v1/notices/smtp",
                json!({"host": "127.0.0.1", "port": smtp.port, "security": "none", "clear_password": true,
                       "sender_name": "翠湖名苑 客户服务中心", "sender_address": "service@example.cn"}),
            )
            .token(&o.admin),
        )
        .await);
    let test = ok(&o.app.send(post("/api/v1/notices/smtp/test", json!({"to": "it@example.cn"})).token(&o.admin)).await);
    assert_eq!(test["delivered"], true, "{test}");
    assert!(test["answer"].as_str().unwrap().contains("queued"), "the server's own answer: {test}");
    let refused =
        ok(&o.app.send(post("/api/v1/notices/smtp/test", json!({"to": "refuse@example.cn"})).token(&o.admin)).await);
    assert_eq!(refused["delivered"], false);
    assert!(refused["answer"].as_str().unwrap().contains("mailbox unavailable"), "{refused}");
    assert_eq!(smtp.messages().len(), 1);

    // Who has no address is counted, not sent to.
    let plan = ok(&o.app.send(post("/api/v1/notices/batches/preview", batch.clone()).token(&o.finance)).await);
    assert_eq!((plan["count"].as_u64(), plan["skipped_no_address"].as_u64()), (Some(2), Some(1)), "{plan}");
    assert_eq!(plan["first"][0]["subject"], "翠湖名苑 催款通知：韩梅梅");
    let created = o.app.send(post("/api/v1/notices/batches", batch).token(&o.finance)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let batch_id = created.json()["id"].as_str().unwrap().to_owned();
    o.run_jobs().await;
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}")).token(&o.finance)).await);
    assert_eq!(
        (done["status"].as_str(), done["sent"].as_i64(), done["failed"].as_i64(), done["skipped"].as_i64()),
        (Some("done"), Some(1), Some(1), Some(1)),
        "{done}"
    );
    let log = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/recipients")).token(&o.finance)).await);
    let of = |id: &str| log.as_array().unwrap().iter().find(|r| r["customer_id"] == id).unwrap().clone();
    assert_eq!(of(&han)["status"], "failed");
    assert!(of(&han)["error"].as_str().unwrap().contains("550"), "the server's answer is kept: {log}");
    assert_eq!(
        (of(&zhang)["status"].as_str(), of(&zhang)["skip_reason"].as_str()),
        (Some("skipped"), Some("no_email"))
    );
    let sent_id = of(&li)["id"].as_str().unwrap().to_owned();

    // What arrived: to 李雷 alone, the subject and name decoded, the letter attached.
    let mail: Vec<Value> =
        smtp.messages().into_iter().filter(|m| m["subject"] != "Loupan 邮件测试 / test message").collect();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["envelope_to"], json!(["lilei@example.cn"]));
    assert_eq!(m["to"], "李雷 <lilei@example.cn>");
    assert_eq!(m["from"], "翠湖名苑 客户服务中心 <service@example.cn>");
    assert_eq!(m["subject"], "翠湖名苑 催款通知：李雷");
    assert_eq!(m["message_id"], format!("<{sent_id}@loupan>"));
    assert!(m["list_unsubscribe"].is_null(), "a payment reminder is owed, not marketing: no unsubscribe");
    let body = m["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.contains("尊敬的 李雷") && body.contains("壹佰万元整"), "{body}");
    let attachment = &m["attachments"][0];
    assert_eq!(
        (attachment["name"].as_str(), attachment["content_type"].as_str()),
        (Some("催款通知书.pdf"), Some("application/pdf"))
    );
    let pdf = std::fs::read(attachment["path"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("李雷") && text.contains("壹佰万元整"), "{text}");
    }

    // Run again, nobody hears twice; the timeline holds the e-mail as sent.
    o.run_batch_again(&batch_id).await;
    assert_eq!(smtp.messages().len(), 2, "the test message and 李雷's, nothing more");
    let sending = ok(&o.app.send(get(&format!("/api/v1/notices/sendings/{sent_id}")).token(&o.agent)).await);
    assert_eq!(
        (sending["channel"].as_str(), sending["subject"].as_str()),
        (Some("email"), Some("翠湖名苑 催款通知：李雷"))
    );
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{li}/timeline")).token(&o.agent).lang("en")).await);
    assert!(
        timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "notice" && e["summary"].as_str().unwrap().contains("e-mail")),
        "{timeline}"
    );

    // The pages: the settings with the test button, the log with the server's answer.
    let page = o.app.send(get("/admin/sending").token(&o.admin)).await;
    assert!(page.text.contains("id=\"smtp-test\"") && !page.text.contains("s3cret"), "{}", page.text);
    let page = o.app.send(form("/admin/sending/test", &[("to", "refuse@example.cn")]).token(&o.admin)).await;
    assert!(page.text.contains("id=\"smtp-outcome\"") && page.text.contains("550"), "{}", page.text);
    let page = o.app.send(form("/admin/sending", &[("host", ""), ("port", "x")]).token(&o.admin)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = o.app.send(get("/admin/sending").token(&o.finance)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = o.app.send(get(&format!("/notices/batches/{batch_id}")).token(&o.finance)).await;
    assert!(page.text.contains("mailbox unavailable") && page.text.contains("batch-failed"), "{}", page.text);
}

#[tokio::test]
async fn text_messages_reach_who_may_be_reached_signed_as_the_provider_checks() {
    let gateway = Receiver::run("tests/sms/receiver.py", &["receiver-secret"]).expect("the local SMS gateway");
    let o = office().await;
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    let (_, han) = o.contract("韩梅梅", "138-0013-8002", "201", "2026-01-05").await;
    let (_, zhang) = o.contract("张伟", "+86 138 0013 8004", "401", "2026-01-05").await;
    ok(&o
        .app
        .send(post(&format!("/api/v1/customers/{han}/marketing-consent"), json!({"opted_out": true})).token(&o.agent))
        .await);

    // Alibaba Cloud SMS: approved templates with parameters, requests signed.
    let aliyun = json!({"provider": "aliyun", "endpoint": format!("http://127.0.0.1:{}/aliyun", gateway.port),
        "access_key_id": "LTAI-loupan-test", "access_key_secret": "receiver-secret", "sign_name": "翠湖名苑",
        "rate_per_second": 50});
    let shown = ok(&o.app.send(put("/api/v1/notices/sms", aliyun.clone()).token(&o.admin)).await);
    assert_eq!(shown["has_secret"], true);
    assert!(!shown.to_string().contains("receiver-secret"));
    let r = o.app.send(put("/api/v1/notices/sms", aliyun).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let template = |kind: &str, body: &str, params: Value| {
        post(
            "/api/v1/notices/templates",
            json!({"kind": kind, "channel": "sms", "name": format!("{kind} 短信"), "body": body,
                   "sms_template_code": "SMS_1001", "sms_params": params}),
        )
    };
    let r = o.app.send(template("greeting", "你好", json!({"名字": "{{ customer.nmae }}"})).token(&o.admin)).await;
    let codes: Vec<(String, String)> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert!(codes.contains(&("sms_params.名字".into(), "invalid_parameter_name".into())), "{codes:?}");
    assert!(codes.contains(&("sms_params.名字".into(), "unknown_merge_field".into())), "{codes:?}");
    let greeting = ok(&o
        .app
        .send(
            template("greeting", "尊敬的{{ customer.name }}，端午安康！", json!({"name": "{{ customer.name }}"}))
                .token(&o.admin),
        )
        .await);
    let greeting_id = greeting["id"].as_str().unwrap().to_owned();
    // The preview counts the message as the operator bills it, the unsubscribe phrase included.
    let preview = ok(&o
        .app
        .send(
            post(&format!("/api/v1/notices/templates/{greeting_id}/preview"), json!({"customer_id": li}))
                .token(&o.admin),
        )
        .await);
    assert_eq!(preview["text"], "尊敬的李雷，端午安康！回T退订");
    assert_eq!((preview["sms"]["chars"].as_u64(), preview["sms"]["segments"].as_u64()), (Some(15), Some(1)));

    // Marketing reaches the two who did not refuse it.
    let batch = json!({"template_id": greeting_id, "project_id": o.project,
                       "audience": {"source": "customers", "customer_ids": [li, han, zhang]}});
    let id = ok(&o.app.send(post("/api/v1/notices/batches", batch).token(&o.admin)).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.run_jobs().await;
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}")).token(&o.admin)).await);
    assert_eq!(
        (done["sent"].as_i64(), done["skipped"].as_i64(), done["failed"].as_i64()),
        (Some(2), Some(1), Some(0)),
        "{done}"
    );
    let requests = gateway.messages();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert_eq!(r["signature_ok"], true, "the gateway recomputed the signature: {r}");
        assert_eq!((r["template_code"].as_str(), r["sign_name"].as_str()), (Some("SMS_1001"), Some("翠湖名苑")));
    }
    let phones: Vec<&str> = requests.iter().map(|r| r["phone"].as_str().unwrap()).collect();
    assert_eq!(phones, ["13800138001", "13800138004"]);
    assert_eq!(requests[0]["params"], json!({"name": "李雷"}));

    // A payment reminder is owed to all three, the one who refused marketing too.
    let reminder = ok(&o
        .app
        .send(
            template(
                "payment_reminder",
                "尊敬的{{ customer.name }}，您的{{ unit.number }}号房已逾期{{ arrears.overdue|money }}元，请尽快缴款。",
                json!({"name": "{{ customer.name }}", "amount": "{{ arrears.overdue|money }}"}),
            )
            .token(&o.finance),
        )
        .await);
    let batch = json!({"template_id": reminder["id"], "project_id": o.project, "as_of": "2026-06-01",
                       "audience": {"source": "arrears", "min_days": 30}});
    let id = ok(&o.app.send(post("/api/v1/notices/batches", batch).token(&o.finance)).await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    o.run_jobs().await;
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}")).token(&o.finance)).await);
    assert_eq!((done["sent"].as_i64(), done["skipped"].as_i64()), (Some(3), Some(0)), "{done}");
    let requests = gateway.messages();
    assert_eq!(requests.len(), 5);
    assert!(requests[2..].iter().all(|r| r["signature_ok"] == true && r["params"]["amount"] == "1,000,000.00"));
    let log = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{id}/recipients")).token(&o.finance)).await);
    let to_han = log.as_array().unwrap().iter().find(|r| r["customer_id"] == han.as_str()).unwrap();
    let sent = ok(&o
        .app
        .send(get(&format!("/api/v1/notices/sendings/{}", to_han["id"].as_str().unwrap())).token(&o.agent))
        .await);
    assert!(
        sent["text"].as_str().unwrap().contains("逾期1,000,000.00元")
            && !sent["text"].as_str().unwrap().contains("回T退订")
    );

    // A generic HTTP gateway: the body filled in and escaped as JSON; a refusal kept with the answer.
    let http = json!({"provider": "http", "url": format!("http://127.0.0.1:{}/http", gateway.port),
        "body_template": "{\"mobile\": \"{{phone}}\", \"content\": \"{{text}}\"}", "success_contains": "\"ok\""});
    ok(&o.app.send(put("/api/v1/notices/sms", http).token(&o.admin)).await);
    let test =
        ok(&o.app.send(post("/api/v1/notices/sms/test", json!({"phone": "138 0013 8009"})).token(&o.admin)).await);
    assert_eq!(test["delivered"], true, "{test}");
    let refused =
        ok(&o.app.send(post("/api/v1/notices/sms/test", json!({"phone": "13900000000"})).token(&o.admin)).await);
    assert_eq!(refused["delivered"], false);
    assert!(refused["answer"].as_str().unwrap().contains("number unreachable"), "{refused}");
    let last = gateway.messages().into_iter().rev().nth(1).unwrap();
    assert_eq!(
        (last["phone"].as_str(), last["text"].as_str()),
        (Some("13800138009"), Some("Loupan 短信测试 / test message"))
    );
    let r = o
        .app
        .send(
            put("/api/v1/notices/sms", json!({"provider": "http", "url": "ftp://x", "rate_per_second": 0}))
                .token(&o.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> =
        r.json()["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert!(
        fields.contains(&"url".into())
            && fields.contains(&"rate_per_second".into())
            && fields.contains(&"body_template".into()),
        "{fields:?}"
    );

    // 张伟 answers 回T退订 with a T: the provider pushes the reply to the path the
    // settings show, and the refusal is recorded; a reply that is no refusal is not.
    let settings = ok(&o.app.send(get("/api/v1/notices/sms").token(&o.admin)).await);
    let reply_path = settings["reply_path"].as_str().unwrap().to_owned();
    assert!(reply_path.starts_with("/api/v1/notices/sms/replies/"), "{settings}");
    let forged = format!("{}0", &reply_path[..reply_path.len() - 1]);
    assert_eq!(o.app.send(post(&forged, json!([]))).await.status, StatusCode::NOT_FOUND);
    let replies = json!([
        {"phone_number": "13800138004", "content": "T", "sign_name": "翠湖名苑", "send_time": "2026-06-01 12:00:00",
         "dest_code": "1234", "sequence_id": 1},
        {"phone_number": "13800138001", "content": "好的，谢谢"}
    ]);
    let answer = ok(&o.app.send(post(&reply_path, replies)).await);
    assert_eq!((answer["code"].as_i64(), answer["opted_out"].as_i64()), (Some(0), Some(1)), "{answer}");
    let refused = |id: String| {
        let app = &o.app;
        let agent = o.agent.clone();
        async move {
            ok(&app.send(get(&format!("/api/v1/customers/{id}")).token(&agent)).await)["marketing_opt_out"].clone()
        }
    };
    assert_eq!((refused(zhang.clone()).await, refused(li.clone()).await), (json!(true), json!(false)));

    // The pages: settings with both gateways, the editor with the length counter.
    let page = o.app.send(get("/admin/sending").token(&o.admin)).await;
    assert!(
        page.text.contains("id=\"sms-form\"")
            && page.text.contains("id=\"sms-test\"")
            && page.text.contains("id=\"sms-reply-url\"")
            && !page.text.contains("receiver-secret")
    );
    let page = o.app.send(get(&format!("/notices/templates/{greeting_id}")).token(&o.admin)).await;
    assert!(page.text.contains("id=\"sms-length\"") && page.text.contains("SMS_1001"), "{}", page.text);
    let page = o
        .app
        .send(form(&format!("/notices/templates/{greeting_id}/preview"), &[("customer_id", &li)]).token(&o.admin))
        .await;
    assert!(page.text.contains("id=\"preview-sms\""), "{}", page.text);
}

#[tokio::test]
async fn a_birthday_kept_by_the_lunar_calendar_is_greeted_on_its_lunar_date_not_the_solar_one() {
    use chrono::Datelike;
    use loupan_service::platform::jobs;
    let o = office().await;
    // Born on Mid-Autumn (八月十五) 1990: the lunar birthday in 2026 is Mid-Autumn 2026, 25 September.
    let born = loupan_domain::notices::Occasion::MidAutumn
        .next_on_or_after(chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap())
        .unwrap();
    let (_, zhao) = o
        .contract_with(
            json!({"name": "赵六", "phone": "13800138006", "birthday": born.to_string(), "birthday_lunar": true}),
            "301",
            "2026-01-05",
        )
        .await;
    let customer = ok(&o.app.send(get(&format!("/api/v1/customers/{zhao}")).token(&o.agent)).await);
    assert_eq!(customer["birthday_lunar"], true, "{customer}");
    let page = o.app.send(get(&format!("/customers/{zhao}")).token(&o.agent)).await;
    assert!(page.text.contains("birthday-lunar-shown"), "{}", page.text);
    let template = ok(&o
        .app
        .send(
            post(
                "/api/v1/notices/templates",
                json!({"kind": "greeting", "name": "生日问候", "body": "{{ customer.name }}，生日快乐！"}),
            )
            .token(&o.admin),
        )
        .await);
    ok(&o
        .app
        .send(put("/api/v1/notices/care", json!({"templates": {"birthday": template["id"]}})).token(&o.admin))
        .await);
    let greet_on = |day: &str| {
        let morning: DateTime<Utc> = format!("{day}T00:00:00Z").parse().unwrap();
        let app = &o.app;
        async move {
            jobs::enqueue(
                app.services.store.conn(),
                jobs::NewJob {
                    kind: jobs::JobKind::Greetings,
                    payload: json!({}),
                    run_at: Some(morning),
                    unique_key: None,
                    max_attempts: 1,
                    created_by: None,
                },
            )
            .await
            .unwrap();
            while jobs::run_due(&app.services, "one", morning).await.unwrap() > 0 {}
        }
    };
    let birthday_batches = || async {
        let batches = ok(&o.app.send(get("/api/v1/notices/batches").token(&o.admin)).await);
        batches.as_array().unwrap().iter().filter(|b| b["audience"]["occasion"] == "birthday").count()
    };
    // On the solar date of birth in 2026: nobody.
    greet_on(&format!("2026-{:02}-{:02}", born.month(), born.day())).await;
    assert_eq!(birthday_batches().await, 0);
    // On the lunar date: 赵六.
    greet_on("2026-09-25").await;
    assert_eq!(birthday_batches().await, 1);
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{zhao}/timeline")).token(&o.agent)).await);
    assert_eq!(timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "notice").count(), 1);
    // The form keeps the choice: an edit without it keeps it, one that clears it clears it.
    let edited = ok(&o
        .app
        .send(
            patch(&format!("/api/v1/customers/{zhao}"), json!({"notes": "中秋生日", "version": customer["version"]}))
                .token(&o.agent),
        )
        .await);
    assert_eq!(edited["birthday_lunar"], true, "{edited}");
}

#[tokio::test]
async fn birthday_and_holiday_greetings_go_out_once_on_their_morning_from_any_instance() {
    use loupan_service::platform::jobs;
    let o = office().await;
    let (_, li) = o
        .contract_with(json!({"name": "李雷", "phone": "13800138001", "birthday": "1988-06-02"}), "301", "2026-01-05")
        .await;
    let (_, han) = o
        .contract_with(json!({"name": "韩梅梅", "phone": "13800138002", "birthday": "1990-06-02"}), "201", "2026-01-05")
        .await;
    let (_, _wang) = o
        .contract_with(json!({"name": "王小明", "phone": "13800138003", "birthday": "1985-07-02"}), "101", "2026-01-05")
        .await;
    ok(&o
        .app
        .send(post(&format!("/api/v1/customers/{han}/marketing-consent"), json!({"opted_out": true})).token(&o.agent))
        .await);
    let template = |name: &str, body: &str| {
        post("/api/v1/notices/templates", json!({"kind": "greeting", "name": name, "body": body}))
    };
    let birthday =
        ok(&o.app.send(template("生日问候", "尊敬的 {{ customer.name }}：生日快乐！").token(&o.admin)).await)["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let mid_autumn =
        ok(&o.app.send(template("中秋问候", "尊敬的 {{ customer.name }}：中秋快乐！").token(&o.admin)).await)["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let care = json!({"templates": {"birthday": birthday, "mid_autumn": mid_autumn}});
    // The company's greetings are not for someone who sees only some projects.
    let r = o.app.send(put("/api/v1/notices/care", care.clone()).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let set = ok(&o.app.send(put("/api/v1/notices/care", care).token(&o.admin)).await);
    let of = |name: &str| set.as_array().unwrap().iter().find(|c| c["occasion"] == name).unwrap().clone();
    assert_eq!(of("birthday")["template_id"], birthday.as_str());
    assert_eq!(of("mid_autumn")["next_date"], "2026-09-25");
    assert_eq!(of("spring_festival")["next_date"], "2027-02-06");
    let r = o.app.send(put("/api/v1/notices/care", json!({"templates": {"birthday": "nope"}})).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // 08:00 on 2 June in Beijing: the schedule turns into one job, whichever instance ticks.
    let (_, second) = o.app.second_instance().await;
    jobs::ensure_schedules(&o.app.services).await.unwrap();
    let morning: DateTime<Utc> = "2026-06-02T00:00:00Z".parse().unwrap();
    let (a, b) = tokio::join!(jobs::tick_schedules(&o.app.services, morning), jobs::tick_schedules(&second, morning));
    let greetings_jobs = || async {
        jobs::overview(&o.app.services, &loupan_service::Actor::system("test"), None, None)
            .await
            .unwrap()
            .jobs
            .into_iter()
            .filter(|j| j.kind == "greetings")
            .count()
    };
    assert!(a.unwrap() + b.unwrap() >= 1);
    assert_eq!(greetings_jobs().await, 1, "one greetings job for the morning");
    // Both instances work the queue; the birthday batch is made once and sent.
    let later = morning + chrono::Duration::minutes(1);
    let (a, b) = tokio::join!(jobs::run_due(&o.app.services, "one", later), jobs::run_due(&second, "two", later));
    a.unwrap();
    b.unwrap();
    while jobs::run_due(&o.app.services, "one", later).await.unwrap() > 0 {}
    let batches = ok(&o.app.send(get("/api/v1/notices/batches").token(&o.admin)).await);
    let made: Vec<&Value> = batches.as_array().unwrap().iter().filter(|b| b["kind"] == "greeting").collect();
    assert_eq!(made.len(), 1, "{batches}");
    assert_eq!((made[0]["sent"].as_i64(), made[0]["skipped"].as_i64()), (Some(1), Some(1)), "{}", made[0]);
    assert_eq!(made[0]["audience"]["occasion"], "birthday");

    // The same morning again (a retry, a second worker): nobody is greeted twice.
    jobs::enqueue(
        o.app.services.store.conn(),
        jobs::NewJob {
            kind: jobs::JobKind::Greetings,
            payload: json!({}),
            run_at: Some(morning),
            unique_key: None,
            max_attempts: 1,
            created_by: None,
        },
    )
    .await
    .unwrap();
    while jobs::run_due(&second, "two", later).await.unwrap() > 0 {}
    let batches = ok(&o.app.send(get("/api/v1/notices/batches").token(&o.admin)).await);
    assert_eq!(batches.as_array().unwrap().iter().filter(|b| b["kind"] == "greeting").count(), 1);
    let timeline = ok(&o.app.send(get(&format!("/api/v1/customers/{li}/timeline")).token(&o.agent)).await);
    assert_eq!(timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "notice").count(), 1);

    // Mid-Autumn: every customer of the project, once for the year.
    let mid_autumn_morning: DateTime<Utc> = "2026-09-25T00:00:00Z".parse().unwrap();
    for _ in 0..2 {
        jobs::enqueue(
            o.app.services.store.conn(),
            jobs::NewJob {
                kind: jobs::JobKind::Greetings,
                payload: json!({}),
                run_at: Some(mid_autumn_morning),
                unique_key: None,
                max_attempts: 1,
                created_by: None,
            },
        )
        .await
        .unwrap();
        while jobs::run_due(&o.app.services, "one", mid_autumn_morning).await.unwrap() > 0 {}
    }
    let batches = ok(&o.app.send(get("/api/v1/notices/batches").token(&o.admin)).await);
    let festive: Vec<&Value> =
        batches.as_array().unwrap().iter().filter(|b| b["audience"]["occasion"] == "mid_autumn").collect();
    assert_eq!(festive.len(), 1, "{batches}");
    assert_eq!((festive[0]["total"].as_i64(), festive[0]["sent"].as_i64()), (Some(3), Some(2)));

    // The page: the greetings with their next dates.
    let page = o.app.send(get("/notices").token(&o.admin)).await;
    assert!(page.text.contains("id=\"care-form\"") && page.text.contains("2026-09-25"), "{}", page.text);
}

#[tokio::test]
async fn a_questionnaire_invitation_gives_every_owner_a_link_of_their_own() {
    let config =
        loupan_service::ServiceConfig { public_url: Some("https://crm.example.cn".into()), ..Default::default() };
    let o = office_with(config).await;
    let (_, li) = o.contract("李雷", "13800138001", "301", "2026-01-05").await;
    let (_, han) = o.contract("韩梅梅", "13800138002", "302", "2026-01-06").await;
    let questionnaire = ok(&o
        .app
        .send(
            post(
                "/api/v1/questionnaires",
                json!({"project_id": o.project, "stage": "brand", "title": "业主满意度调查",
                       "questions": [{"key": "score", "text": "您对社区满意吗？", "kind": "scale5", "required": true}]}),
            )
            .token(&o.admin),
        )
        .await)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let template = o
        .template(
            &o.admin,
            json!({"kind": "questionnaire", "channel": "letter", "name": "问卷邀请",
                   "body": "{{ customer.name }}，请填写《{{ questionnaire.title }}》：{{ questionnaire.link }}"}),
        )
        .await;
    let batch = |id: &str| {
        json!({"template_id": template, "project_id": o.project, "audience": {"source": "owners"},
               "details": {"questionnaire.id": id}})
    };
    // Only a questionnaire of the project, by someone who may send it.
    let r = o.app.send(post("/api/v1/notices/batches", batch("nope")).token(&o.admin)).await;
    assert_eq!(
        (r.status, r.json()["errors"][0]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("unknown_questionnaire"))
    );
    let r = o.app.send(post("/api/v1/notices/batches", batch(&questionnaire)).token(&o.finance)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "finance does not manage questionnaires: {}", r.text);
    let preview = ok(&o.app.send(post("/api/v1/notices/batches/preview", batch(&questionnaire)).token(&o.admin)).await);
    assert_eq!(preview["count"], 2, "{preview}");
    assert!(preview["first"][0]["text"].as_str().unwrap().contains("业主满意度调查"), "{preview}");
    let created = o.app.send(post("/api/v1/notices/batches", batch(&questionnaire)).token(&o.admin)).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let batch_id = created.json()["id"].as_str().unwrap().to_owned();
    o.run_jobs().await;

    // Each owner's letter carries their own link; each link answers once.
    let recipients =
        ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/recipients")).token(&o.admin)).await);
    let mut links = Vec::new();
    for r in recipients.as_array().unwrap() {
        assert_eq!(r["status"], "sent", "{r}");
        let sending = ok(&o
            .app
            .send(get(&format!("/api/v1/notices/sendings/{}", r["id"].as_str().unwrap())).token(&o.admin))
            .await);
        let text = sending["text"].as_str().unwrap().to_owned();
        let link = text.split('：').nth(1).unwrap().trim().to_owned();
        assert!(link.starts_with("https://crm.example.cn/questionnaire/"), "{text}");
        assert!(text.starts_with(if r["customer_id"] == li.as_str() { "李雷" } else { "韩梅梅" }), "{text}");
        links.push(link);
    }
    assert_eq!(links.len(), 2);
    assert_ne!(links[0], links[1]);
    let path = links[0].trim_start_matches("https://crm.example.cn");
    let answered = o.app.send(form(path, &[("score", "5")])).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
    assert_eq!(o.app.send(form(path, &[("score", "1")])).await.status, StatusCode::CONFLICT);
    let responses =
        ok(&o.app.send(get(&format!("/api/v1/questionnaires/{questionnaire}/responses")).token(&o.admin)).await);
    let answered: Vec<&Value> =
        responses["items"].as_array().unwrap().iter().filter(|r| !r["answered_at"].is_null()).collect();
    assert_eq!(answered.len(), 1);
    assert!([li.as_str(), han.as_str()].contains(&answered[0]["customer_id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_satisfaction_survey_reaches_its_customer_by_text_message_with_their_own_link() {
    let gateway = Receiver::run("tests/sms/receiver.py", &["receiver-secret"]).expect("the local SMS gateway");
    let config =
        loupan_service::ServiceConfig { public_url: Some("https://crm.example.cn".into()), ..Default::default() };
    let o = office_with(config).await;
    let aliyun = json!({"provider": "aliyun", "endpoint": format!("http://127.0.0.1:{}/aliyun", gateway.port),
        "access_key_id": "LTAI-loupan-test", "access_key_secret": "receiver-secret", "sign_name": "翠湖名苑",
        "rate_per_second": 50});
    ok(&o.app.send(put("/api/v1/notices/sms", aliyun).token(&o.admin)).await);
    let survey_template = |body: &str| {
        json!({"kind": "survey", "channel": "sms", "name": "满意度调查短信", "body": body,
               "sms_template_code": "SMS_2001",
               "sms_params": {"name": "{{ customer.name }}", "link": "{{ survey.link }}", "until": "{{ survey.expires_on }}"}})
    };
    let template = o
        .template(
            &o.admin,
            survey_template("{{ customer.name }}您好，请评价我们的{{ survey.about }}：{{ survey.link }}"),
        )
        .await;

    // Its preview shows a link; it is not sent as a batch of one's own.
    let (_, first) = o.contract("李雷", "13800138001", "301", "2026-05-20").await;
    let preview = ok(&o
        .app
        .send(
            post(&format!("/api/v1/notices/templates/{template}/preview"), json!({"customer_id": first}))
                .token(&o.admin),
        )
        .await);
    assert!(preview["text"].as_str().unwrap().contains("https://crm.example.cn/survey/"), "{preview}");
    let batch = json!({"template_id": template, "project_id": o.project,
                       "audience": {"source": "customers", "customer_ids": [first]}});
    let r = o.app.send(post("/api/v1/notices/batches", batch).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.error_fields(), ["template_id"]);
    assert_eq!(r.json()["errors"][0]["code"], "sent_with_surveys");

    // The desk chooses it (a template of another kind is refused) and asks for a survey on signing.
    let letter = o
        .template(&o.admin, json!({"kind": "free", "channel": "letter", "name": "便函", "body": "{{ customer.name }}"}))
        .await;
    let r = o.app.send(put("/api/v1/service/settings", json!({"survey_template_id": letter})).token(&o.admin)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["code"], "not_a_survey_template");
    let settings = ok(&o
        .app
        .send(
            put("/api/v1/service/settings", json!({"survey_on_contract": true, "survey_template_id": template}))
                .token(&o.admin),
        )
        .await);
    assert_eq!(settings["survey_template_id"], template.as_str());

    // A signing sends the buyer a survey, and the survey its link by text message.
    let (contract, han) = o.contract("韩梅梅", "138-0013-8002", "302", "2026-06-01").await;
    // The survey's job queues its notice; the notice's job sends it.
    o.run_jobs().await;
    o.run_jobs().await;
    let surveys = ok(&o.app.send(get(&format!("/api/v1/service/surveys?subject_id={contract}")).token(&o.admin)).await);
    let survey = &surveys["items"][0];
    assert_eq!(survey["customer_id"], han.as_str());
    let batch_id = survey["notice_batch_id"].as_str().expect("the survey names its notice").to_owned();
    let done = ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}")).token(&o.admin)).await);
    assert_eq!(
        (done["kind"].as_str(), done["sent"].as_i64(), done["total"].as_i64()),
        (Some("survey"), Some(1), Some(1))
    );
    let messages = gateway.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["phone"], "13800138002");
    assert_eq!(messages[0]["params"]["name"], "韩梅梅");
    assert_eq!(messages[0]["params"]["until"], "2026-06-15");
    let link = messages[0]["params"]["link"].as_str().unwrap().to_owned();
    assert_eq!(survey["link"].as_str().map(|l| format!("https://crm.example.cn{l}")), Some(link.clone()));
    // The link is the customer's: it opens without signing in and takes one answer.
    let path = link.trim_start_matches("https://crm.example.cn");
    assert_eq!(o.app.send(get(path)).await.status, StatusCode::OK);
    let answer = o.app.send(form(path, &[("csat", "5"), ("nps", "9")])).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    // An edit of the template is what the next survey sends (its family is kept).
    let edited = ok(&o
        .app
        .send(
            put(
                &format!("/api/v1/notices/templates/{template}"),
                survey_template(
                    "{{ customer.name }}您好，{{ survey.about }}调查：{{ survey.link }}（{{ survey.expires_on }}前）",
                ),
            )
            .token(&o.admin),
        )
        .await);
    assert_ne!(edited["id"], template.as_str());
    let (second, _) = o.contract("张伟", "13800138004", "401", "2026-06-01").await;
    o.run_jobs().await;
    o.run_jobs().await;
    let surveys = ok(&o.app.send(get(&format!("/api/v1/service/surveys?subject_id={second}")).token(&o.admin)).await);
    let batch_id = surveys["items"][0]["notice_batch_id"].as_str().unwrap().to_owned();
    let recipients =
        ok(&o.app.send(get(&format!("/api/v1/notices/batches/{batch_id}/recipients")).token(&o.admin)).await);
    let sending = ok(&o
        .app
        .send(get(&format!("/api/v1/notices/sendings/{}", recipients[0]["id"].as_str().unwrap())).token(&o.admin))
        .await);
    assert!(sending["text"].as_str().unwrap().contains("签约服务调查：https://crm.example.cn/survey/"), "{sending}");
    assert_eq!(gateway.messages().len(), 2);

    // By e-mail without an SMTP server set up the survey is still made, its link left to the desk.
    let email = o
        .template(
            &o.admin,
            json!({"kind": "survey", "channel": "email", "name": "满意度调查邮件", "subject": "满意度调查",
                   "body": "{{ customer.name }}：{{ survey.link }}"}),
        )
        .await;
    ok(&o.app.send(put("/api/v1/service/settings", json!({"survey_template_id": email})).token(&o.admin)).await);
    let (third, _) = o.contract("王芳", "13800138005", "402", "2026-06-01").await;
    o.run_jobs().await;
    let surveys = ok(&o.app.send(get(&format!("/api/v1/service/surveys?subject_id={third}")).token(&o.admin)).await);
    assert!(surveys["items"][0]["notice_batch_id"].is_null());
    assert!(surveys["items"][0]["link"].as_str().is_some());
}
