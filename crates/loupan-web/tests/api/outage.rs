//! An outage looks like an outage. A lookup whose failure used to be read as
//! "not found" now answers 500 with the cause in the log, and a database that
//! stopped answering is 503 `service_unavailable`, never 404 or 422.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::*;
use axum::http::StatusCode;
use loupan_store::Connection;

/// The log lines written while the test runs.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_log() -> (Log, tracing::subscriber::DefaultGuard) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    (log, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn a_failed_lookup_is_a_failure_and_a_stopped_database_is_unavailable() {
    let (log, _guard) = capture_log();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let buyers = "/api/v1/sales/deals/no-such-deal/buyers";

    // With the database well, an unknown deal is a 404.
    let r = app.send(get(buyers).token(&admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // The contracts table is gone (a botched restore, say): the lookup fails,
    // and that is not "no such deal".
    app.services.store.conn().execute_unprepared("ALTER TABLE contracts RENAME TO contracts_lost").await.unwrap();
    let r = app.send(get(buyers).token(&admin)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
    assert_eq!(r.json()["code"], "internal");
    assert!(!r.text.contains("contracts"), "the cause stays out of the answer: {}", r.text);
    let logged = log.text();
    assert!(logged.contains("internal error") && logged.contains("contracts"), "the cause is in the log: {logged}");
    app.services.store.conn().execute_unprepared("ALTER TABLE contracts_lost RENAME TO contracts").await.unwrap();

    // The database stops answering: every request that needs it is a 503.
    app.services.store.conn().close_by_ref().await.unwrap();
    let r = app.send(get(buyers).token(&admin)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.json()["code"], "service_unavailable");
    let logged = log.text();
    assert!(logged.contains("database unavailable"), "the outage is in the log: {logged}");
}
