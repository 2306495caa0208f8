//! Live updates for open pages (the 销控图 changes colour while people look
//! at it; a visitor handed to an agent appears on their workbench). Changes
//! are published by the services that make them; pages subscribe. Across
//! instances they travel through PostgreSQL NOTIFY.

use loupan_domain::ids::{BuildingId, ProjectId, UnitId, UserId, VisitId};
use loupan_store::Connection;
use loupan_store::live::{self as store_live, UNIT_CHANNEL};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::{ServiceResult, Services};

/// A unit changed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitChange {
    pub unit_id: UnitId,
    pub building_id: BuildingId,
    pub status: loupan_domain::inventory::UnitStatus,
}

/// A visitor arrived at a sales office for an agent, or their visit ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitChange {
    pub visit_id: VisitId,
    pub project_id: ProjectId,
    pub agent_id: UserId,
    /// `arrived` or `ended`.
    pub event: String,
}

/// Anything an open page may follow. Untagged on the wire, so that an
/// instance of an earlier version still reads the unit changes it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LiveChange {
    Unit(UnitChange),
    Visit(VisitChange),
}

#[derive(Debug)]
pub struct LiveUpdates {
    sender: broadcast::Sender<LiveChange>,
}

impl Default for LiveUpdates {
    fn default() -> Self {
        // A slow page that falls more than this behind reloads instead.
        LiveUpdates { sender: broadcast::channel(1024).0 }
    }
}

impl LiveUpdates {
    pub fn subscribe(&self) -> broadcast::Receiver<LiveChange> {
        self.sender.subscribe()
    }

    fn deliver(&self, change: LiveChange) {
        // No subscribers is normal: nobody has the chart open.
        let _ = self.sender.send(change);
    }
}

fn is_postgres(services: &Services) -> bool {
    services.store.backend() == loupan_store::DbBackend::Postgres
}

/// Inside the writing transaction: on PostgreSQL the change is queued with the
/// transaction and reaches every instance only if it commits.
/// Integrations hear of it through the `unit.status_changed` webhook, queued here too.
pub async fn announce_in_tx<C: Connection>(services: &Services, conn: &C, change: &UnitChange) -> ServiceResult<()> {
    crate::platform::webhooks::publish(conn, "unit.status_changed", crate::platform::audit::payload(change)?).await?;
    if is_postgres(services) {
        let payload = serde_json::to_string(change).map_err(crate::ServiceError::internal)?;
        store_live::notify(conn, UNIT_CHANNEL, &payload).await?;
    }
    Ok(())
}

/// Something moved on a unit's deal while its status stayed (a receipt
/// audited, a service step done): the 财控图 and the service board change.
/// Open charts hear of it; integrations have the module's own event.
pub async fn announce_activity_in_tx<C: Connection>(
    services: &Services,
    conn: &C,
    change: &UnitChange,
) -> ServiceResult<()> {
    if is_postgres(services) {
        let payload = serde_json::to_string(change).map_err(crate::ServiceError::internal)?;
        store_live::notify(conn, UNIT_CHANNEL, &payload).await?;
    }
    Ok(())
}

/// After the commit: on SQLite (one process) the change is broadcast here.
pub fn announce_after_commit(services: &Services, change: UnitChange) {
    if !is_postgres(services) {
        services.live.deliver(LiveChange::Unit(change));
    }
}

/// A visit's change, inside its transaction (PostgreSQL: delivered at commit).
pub async fn announce_visit_in_tx<C: Connection>(
    services: &Services,
    conn: &C,
    change: &VisitChange,
) -> ServiceResult<()> {
    if is_postgres(services) {
        let payload =
            serde_json::to_string(&LiveChange::Visit(change.clone())).map_err(crate::ServiceError::internal)?;
        store_live::notify(conn, UNIT_CHANNEL, &payload).await?;
    }
    Ok(())
}

/// A visit's change after the commit (SQLite: broadcast in this process).
pub fn announce_visit_after_commit(services: &Services, change: VisitChange) {
    if !is_postgres(services) {
        services.live.deliver(LiveChange::Visit(change));
    }
}

/// On PostgreSQL, starts listening for changes made by any instance.
pub fn start(services: &Services) {
    if !is_postgres(services) {
        return;
    }
    let live = services.live.clone();
    let url = services.store.url().to_owned();
    tokio::spawn(store_live::listen(url, UNIT_CHANNEL, move |payload| {
        match serde_json::from_str::<LiveChange>(&payload) {
            Ok(change) => live.deliver(change),
            Err(e) => tracing::warn!(error = %e, "unreadable live update"),
        }
    }));
}
