//! Live-update fan-out between instances. On PostgreSQL a change is announced
//! with `pg_notify` inside the writing transaction (so it is delivered only if
//! it commits) and every instance LISTENs; SQLite has one process, which
//! broadcasts in memory instead.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::StoreResult;

pub const UNIT_CHANNEL: &str = "loupan_unit_changes";

/// Queues `payload` on `channel` for delivery at commit (PostgreSQL only).
pub async fn notify<C: ConnectionTrait>(c: &C, channel: &str, payload: &str) -> StoreResult<()> {
    if c.get_database_backend() == DbBackend::Postgres {
        c.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [channel.into(), payload.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Listens on `channel` forever, calling `deliver` with each payload;
/// reconnects after a lost connection.
pub async fn listen(url: String, channel: &'static str, deliver: impl Fn(String) + Send + 'static) {
    use sea_orm::sqlx::postgres::PgListener;
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(channel).await {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(n) => deliver(n.payload().to_owned()),
                            Err(e) => {
                                tracing::warn!(error = %e, "live updates: connection lost");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live updates: cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
