//! The durable job queue and webhooks: a job enqueued before a restart runs
//! after it, two instances never run the same job, a worker that died gives
//! its jobs back, schedules fire once across instances, and a webhook
//! receiver gets each subscribed event once, signed, even after failing twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use loupan_service::{Services, platform::jobs, platform::webhooks};
use serde_json::{Value, json};

/// A webhook receiver on a free local port: it records what arrives and
/// answers 500 to the first `fail_first` deliveries.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    attempts: Arc<AtomicUsize>,
    fail_first: usize,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    if r.attempts.fetch_add(1, Ordering::SeqCst) < r.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.got.lock().unwrap().push((headers, body));
    StatusCode::NO_CONTENT
}

/// A Loupan that may deliver to this test's receivers on 127.0.0.1 (refused by default).
async fn local_receivers() -> TestApp {
    let allow = loupan_service::platform::outbound::Network::parse_list("127.0.0.1").unwrap();
    TestApp::with_config(loupan_service::ServiceConfig { webhook_allow: allow, ..Default::default() }).await
}

async fn receiver(fail_first: usize) -> (String, Receiver) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let r = Receiver { fail_first, ..Default::default() };
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), r)
}

/// Subscribes `url` to `types`; returns the signing secret.
async fn subscribe(app: &TestApp, admin: &str, url: &str, types: &[&str]) -> (String, String) {
    let r = app.send(post("/api/v1/webhooks", json!({"url": url, "event_types": types})).token(admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let body = r.json();
    (body["webhook"]["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

fn check_signature(secret: &str, headers: &HeaderMap, body: &str) {
    let ts = headers["loupan-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["loupan-signature"].to_str().unwrap(), expected);
}

async fn drain(services: &Services, worker: &str, at: chrono::DateTime<chrono::Utc>) -> usize {
    let mut ran = 0;
    loop {
        let n = jobs::run_due(services, worker, at).await.unwrap();
        if n == 0 {
            return ran;
        }
        ran += n;
    }
}

#[tokio::test]
async fn a_job_enqueued_before_a_restart_runs_after_it_and_the_event_arrives_signed() {
    let app = local_receivers().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let (url, rx) = receiver(0).await;
    let (id, secret) = subscribe(&app, &admin, &url, &["customer.created"]).await;
    // Bad subscriptions are refused with their fields named.
    let r = app.send(post("/api/v1/webhooks", json!({"url": "ftp://x", "event_types": ["nope"]})).token(&admin)).await;
    assert_eq!(r.error_fields(), vec!["url", "event_types"]);
    let (_, agent) = app.user(&admin, "agent", &["sales_agent"], &[&project]).await;
    assert_eq!(app.send(get("/api/v1/webhooks").token(&agent)).await.status, StatusCode::FORBIDDEN);

    let r = app
        .send(
            post("/api/v1/customers", json!({"name": "孙七", "phone": "13600136000", "project_id": project}))
                .token(&agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let customer = r.json()["id"].as_str().unwrap().to_owned();
    // An event nobody subscribed to queues nothing.
    app.send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})).token(&admin)).await;
    let queued = app.send(get("/api/v1/jobs?status=queued").token(&admin)).await.json();
    assert_eq!(queued["items"].as_array().unwrap().len(), 1, "{queued}");
    assert!(rx.got.lock().unwrap().is_empty(), "nothing runs in the request");

    // "Restart": a new instance on the same database runs the job.
    let (_, restarted) = app.second_instance().await;
    assert_eq!(drain(&restarted, "after-restart", chrono::Utc::now()).await, 1);
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    check_signature(&secret, headers, body);
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["data"]["id"].as_str()),
        (Some("customer.created"), Some(customer.as_str()))
    );
    assert!(event["id"].is_string() && event["occurred_at"].is_string());
    assert_eq!(event["data"]["phone"], "136****6000", "integrations get masked personal data");
    let deliveries = app.send(get(&format!("/api/v1/webhooks/{id}/deliveries")).token(&admin)).await.json();
    assert_eq!(
        (deliveries["items"][0]["status"].as_str(), deliveries["items"][0]["attempts"].as_i64()),
        (Some("delivered"), Some(1))
    );
    assert_eq!(drain(&restarted, "again", chrono::Utc::now()).await, 0, "done jobs never run again");
}

#[tokio::test]
async fn an_import_queues_one_masked_event_per_imported_customer_for_its_subscribers() {
    use loupan_documents::xlsx::{Cell, write_table};
    let app = local_receivers().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "翠湖名苑").await;
    let headers = vec!["姓名".to_owned(), "电话".to_owned()];
    let sheet = |rows: &[(&str, &str)]| {
        let cells: Vec<Vec<Cell>> =
            rows.iter().map(|(n, p)| vec![Cell::Text((*n).to_owned()), Cell::Text((*p).to_owned())]).collect();
        write_table("客户", &headers, &cells).unwrap()
    };
    let import = |bytes: Vec<u8>| {
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        post_bytes(&format!("/api/v1/customers/import?project_id={project}&mode=import"), bytes, xlsx).token(&admin)
    };
    // Nobody subscribed: nothing queued.
    let r = app.send(import(sheet(&[("周八", "13700137000")]))).await;
    assert_eq!(r.json()["created"], 1, "{}", r.text);
    let queued = app.send(get("/api/v1/jobs?status=queued").token(&admin)).await.json();
    assert_eq!(queued["items"].as_array().unwrap().len(), 0, "{queued}");

    let (url, rx) = receiver(0).await;
    subscribe(&app, &admin, &url, &["customer.created"]).await;
    let r = app.send(import(sheet(&[("吴九", "13900139000"), ("郑十", "+86 135-0013-5000")]))).await;
    assert_eq!(r.json()["created"], 2, "{}", r.text);
    assert_eq!(drain(&app.services, "w", chrono::Utc::now()).await, 2);
    let got = rx.got.lock().unwrap().clone();
    let mut phones: Vec<(String, String)> = got
        .iter()
        .map(|(_, body)| {
            let event: Value = serde_json::from_str(body).unwrap();
            assert_eq!(event["type"], "customer.created");
            (event["data"]["name"].as_str().unwrap().to_owned(), event["data"]["phone"].as_str().unwrap().to_owned())
        })
        .collect();
    phones.sort();
    assert_eq!(
        phones,
        vec![("吴九".to_owned(), "139****9000".to_owned()), ("郑十".to_owned(), "135****5000".to_owned())]
    );
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() {
    let app = local_receivers().await;
    let admin = app.admin().await;
    let (url, rx) = receiver(2).await;
    let (id, secret) = subscribe(&app, &admin, &url, &["approval.decided", "unit.status_changed"]).await;
    let tx = app.services.store.begin_write().await.unwrap();
    webhooks::publish(&tx, "unit.status_changed", json!({"unit_id": "u1", "building_id": "b1", "status": "held"}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let now = chrono::Utc::now();
    assert_eq!(drain(&app.services, "w", now).await, 1);
    assert_eq!(drain(&app.services, "w", now).await, 0, "the retry waits for its back-off");
    assert_eq!(drain(&app.services, "w", now + chrono::Duration::seconds(6)).await, 1);
    assert!(rx.got.lock().unwrap().is_empty());
    let jobs_now = app.send(get("/api/v1/jobs").token(&admin)).await.json();
    assert_eq!(jobs_now["items"][0]["attempts"], 2);
    assert!(jobs_now["items"][0]["last_error"].as_str().unwrap().contains("500"), "{jobs_now}");
    assert_eq!(drain(&app.services, "w", now + chrono::Duration::seconds(30)).await, 1);
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered once");
    check_signature(&secret, &got[0].0, &got[0].1);
    assert_eq!(rx.attempts.load(Ordering::SeqCst), 3);
    let d = app.send(get(&format!("/api/v1/webhooks/{id}/deliveries")).token(&admin)).await.json();
    assert_eq!((d["items"][0]["status"].as_str(), d["items"][0]["attempts"].as_i64()), (Some("delivered"), Some(3)));
    assert_eq!(drain(&app.services, "w", now + chrono::Duration::hours(2)).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_run_the_same_job_twice() {
    const EVENTS: usize = 200;
    let app = local_receivers().await;
    let admin = app.admin().await;
    let (url, rx) = receiver(0).await;
    subscribe(&app, &admin, &url, &["customer.created"]).await;
    let tx = app.services.store.begin_write().await.unwrap();
    for n in 0..EVENTS {
        webhooks::publish(&tx, "customer.created", json!({"n": n})).await.unwrap();
    }
    tx.commit().await.unwrap();
    let (_, second) = app.second_instance().await;
    let now = chrono::Utc::now();
    let a = tokio::spawn({
        let s = app.services.clone();
        async move { drain(&s, "instance-a", now).await }
    });
    let b = tokio::spawn(async move { drain(&second, "instance-b", now).await });
    let (ran_a, ran_b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(ran_a + ran_b, EVENTS, "a {ran_a} + b {ran_b}");
    let got = rx.got.lock().unwrap().clone();
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for (headers, _) in &got {
        *per_delivery.entry(headers["loupan-delivery"].to_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(per_delivery.len(), EVENTS);
    assert!(per_delivery.values().all(|&n| n == 1), "a delivery arrived twice");
    let overview = app.send(get("/api/v1/jobs?status=done").token(&admin)).await.json();
    assert_eq!(overview["counts"], json!([{"status": "done", "count": EVENTS}]));
}

#[tokio::test]
async fn a_job_of_a_worker_that_died_is_taken_over_after_its_lease() {
    let app = local_receivers().await;
    let admin = app.admin().await;
    let (url, rx) = receiver(0).await;
    subscribe(&app, &admin, &url, &["contract.signed"]).await;
    let tx = app.services.store.begin_write().await.unwrap();
    webhooks::publish(&tx, "contract.signed", json!({"id": "k1"})).await.unwrap();
    tx.commit().await.unwrap();
    let now = chrono::Utc::now();
    // A worker claims the job and dies before finishing it.
    let tx = app.services.store.begin_write().await.unwrap();
    let claimed =
        loupan_store::jobs::claim_jobs(&tx, "died", now, now + chrono::Duration::minutes(5), 8).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(drain(&app.services, "alive", now + chrono::Duration::minutes(1)).await, 0, "the lease still holds");
    assert_eq!(drain(&app.services, "alive", now + chrono::Duration::minutes(6)).await, 1);
    assert_eq!(rx.got.lock().unwrap().len(), 1);
    // The dead worker's late finish is refused: the job is someone else's now.
    assert!(
        !loupan_store::jobs::finish_job(app.services.store.conn(), &claimed[0].id, "died", None, now).await.unwrap()
    );
}

#[tokio::test]
async fn each_scheduled_run_is_queued_once_across_instances() {
    let app = local_receivers().await;
    let admin = app.admin().await;
    jobs::ensure_schedules(&app.services).await.unwrap();
    let (_, second) = app.second_instance().await;
    jobs::ensure_schedules(&second).await.unwrap();
    let now = chrono::Utc::now() + chrono::Duration::seconds(1);
    let first = jobs::tick_schedules(&app.services, now).await.unwrap();
    let again = jobs::tick_schedules(&second, now).await.unwrap();
    assert_eq!((first, again), (5, 0), "reservation expiry, approval, case, process and defect deadlines, once");
    assert_eq!(drain(&second, "b", now).await, 5);
    let o = app.send(get("/api/v1/jobs").token(&admin)).await.json();
    let kinds: Vec<&str> = o["items"].as_array().unwrap().iter().map(|j| j["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"expire_reservations")
            && kinds.contains(&"approval_deadlines")
            && kinds.contains(&"case_deadlines")
            && kinds.contains(&"process_deadlines"),
        "{kinds:?}"
    );
    assert!(o["items"].as_array().unwrap().iter().all(|j| j["status"] == "done"), "{o}");
    let names: Vec<&str> = o["schedules"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "approval_deadlines",
            "case_deadlines",
            "defect_deadlines",
            "follow_up_reminders",
            "greetings",
            "housekeeping",
            "process_deadlines",
            "reservation_expiry"
        ]
    );
    // A minute later, each runs again; the morning reminders and greetings wait for the morning.
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(jobs::tick_schedules(&second, later).await.unwrap(), 3);
}

/// Housekeeping forgets finished jobs after a week, jobs that gave up after a
/// month, and idempotency keys after a week; it keeps open jobs and the jobs
/// that hold an import's or a batch's report, and a recent key still replays.
#[tokio::test]
async fn housekeeping_forgets_old_jobs_and_keys_and_keeps_what_is_still_read() {
    use loupan_domain::platform::JobStatus;
    use loupan_store::idempotency::{self as keys, Claim};
    let app = local_receivers().await;
    let admin = app.admin().await;
    let conn = app.services.store.conn();
    let now = chrono::Utc::now();
    let ago = |days: i64| now - chrono::Duration::days(days);
    let rows = [
        ("old-done", "expire_reservations", JobStatus::Done, Some(ago(8)), false),
        ("recent-done", "expire_reservations", JobStatus::Done, Some(ago(6)), true),
        ("dead-a-while", "webhook_delivery", JobStatus::Dead, Some(ago(8)), true),
        ("dead-long-ago", "webhook_delivery", JobStatus::Dead, Some(ago(31)), false),
        ("old-import", "customer_import", JobStatus::Done, Some(ago(100)), true),
        ("old-batch", "notice_batch", JobStatus::Done, Some(ago(100)), true),
        ("still-queued", "approval_deadlines", JobStatus::Queued, None, true),
    ];
    for (id, kind, status, finished_at, _) in &rows {
        let row = loupan_store::jobs::JobRow {
            id: (*id).to_owned(),
            kind: (*kind).to_owned(),
            payload: "{}".into(),
            status: *status,
            attempts: 1,
            max_attempts: 1,
            run_at: ago(100),
            locked_by: None,
            locked_until: None,
            last_error: None,
            progress_done: 0,
            progress_total: 0,
            result: None,
            unique_key: None,
            created_by: None,
            created_at: ago(100),
            finished_at: *finished_at,
            request_id: None,
        };
        assert!(loupan_store::jobs::insert_job(conn, &row).await.unwrap());
    }
    let project = |name: &str, key: &str| {
        post("/api/v1/projects", json!({"name": name, "city": "苏州"})).token(&admin).header("idempotency-key", key)
    };
    let first = app.send(project("留存项目", "recent-key")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(matches!(keys::claim_key(conn, "someone", "old-key", "h", ago(8)).await.unwrap(), Claim::New));

    let tidied = loupan_service::platform::housekeeping::tidy(&app.services, now).await.unwrap();
    assert_eq!((tidied.jobs, tidied.idempotency_keys), (2, 1));
    for (id, _, _, _, kept) in &rows {
        assert_eq!(loupan_store::jobs::find_job(conn, id).await.unwrap().is_some(), *kept, "{id}");
    }
    let again = app.send(project("留存项目", "recent-key")).await;
    assert_eq!((again.status, again.text), (StatusCode::CREATED, first.text), "a recent key still replays");
    assert!(matches!(keys::claim_key(conn, "someone", "old-key", "h", now).await.unwrap(), Claim::New));
    // Once more finds nothing left to do.
    let twice = loupan_service::platform::housekeeping::tidy(&app.services, now).await.unwrap();
    assert_eq!((twice.jobs, twice.idempotency_keys), (0, 0));
}

/// Webhooks may not reach the server's own or the company's internal
/// addresses unless an administrator allows the network: refused when
/// subscribed, and again when delivered (a name may resolve elsewhere later).
#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.8/x",
    ] {
        let r = app
            .send(post("/api/v1/webhooks", json!({"url": url, "event_types": ["customer.created"]})).token(&admin))
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["url".to_owned()]), "{url}");
        assert_eq!(r.json()["errors"][0]["code"], "internal_address", "{url}");
    }
    // Allowed when subscribed, refused when delivered after the setting changed:
    // the address is checked at every delivery, and the receiver hears nothing.
    let (url, rx) = receiver(0).await;
    let allowing = local_receivers().await;
    let admin = allowing.admin().await;
    let project = allowing.project(&admin, "翠湖名苑").await;
    let (id, _) = subscribe(&allowing, &admin, &url, &["customer.created"]).await;
    let r = allowing
        .send(
            post("/api/v1/customers", json!({"name": "孙七", "phone": "13600136000", "project_id": project}))
                .token(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (_, strict) = allowing.second_instance_with(loupan_service::ServiceConfig::default()).await;
    assert_eq!(drain(&strict, "strict", chrono::Utc::now()).await, 1);
    assert!(rx.got.lock().unwrap().is_empty(), "nothing was sent");
    let deliveries = allowing.send(get(&format!("/api/v1/webhooks/{id}/deliveries")).token(&admin)).await.json();
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["status"], "failed", "{deliveries}");
    assert!(delivery["last_error"].as_str().unwrap().contains("not allowed"), "{deliveries}");
}
