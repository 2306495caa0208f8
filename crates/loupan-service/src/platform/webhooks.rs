//! Webhooks: integrations (WeCom and DingTalk bots, BI, call centres) subscribe
//! a URL to event types. Services publish events inside their transaction;
//! each matching subscription gets a delivery row and a `webhook_delivery`
//! job, so an event is sent exactly when its change committed, and retried
//! with back-off through the job queue until the receiver answers 2xx.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use loupan_domain::Invalid;
use loupan_domain::Permission;
use loupan_domain::platform::DeliveryStatus;
use loupan_domain::validation::optional_text;
use loupan_store::Connection;
use loupan_store::webhooks::{self as store, DeliveryRow, SubscriptionRow};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::platform::audit::{self, Change};
use crate::platform::outbound;
use crate::{Actor, ServiceError, ServiceResult, Services, platform::jobs};

/// Every event type a subscription may ask for (API.md).
pub const EVENT_TYPES: [&str; 9] = [
    "customer.created",
    "unit.status_changed",
    "subscription.created",
    "contract.signed",
    "receipt.audited",
    "approval.decided",
    "notice.sent",
    "survey.created",
    "questionnaire.sent",
];

/// A delivery is given up after this many attempts (about 85 minutes of back-off).
pub const MAX_ATTEMPTS: i32 = 10;

/// Queues `event_type` with `data` for every active subscription that wants it.
pub async fn publish<C: Connection>(conn: &C, event_type: &str, data: Value) -> ServiceResult<()> {
    publish_many(conn, event_type, std::slice::from_ref(&data), |v| Ok(v.clone())).await
}

/// Publishes one event per item (an import's customers), reading the
/// subscriptions once; `payload` runs only when someone subscribes.
pub async fn publish_many<C: Connection, T: Sync>(
    conn: &C,
    event_type: &str,
    items: &[T],
    payload: fn(&T) -> ServiceResult<Value>,
) -> ServiceResult<()> {
    debug_assert!(EVENT_TYPES.contains(&event_type));
    let subscriptions = store::active_subscriptions(conn).await?;
    let wanted: Vec<&SubscriptionRow> =
        subscriptions.iter().filter(|s| s.event_types.split(',').any(|t| t == event_type)).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    for item in items {
        queue_delivery(conn, &wanted, event_type, payload(item)?).await?;
    }
    Ok(())
}

async fn queue_delivery<C: Connection>(
    conn: &C,
    wanted: &[&SubscriptionRow],
    event_type: &str,
    data: Value,
) -> ServiceResult<()> {
    let now = loupan_store::now();
    let event_id = loupan_store::new_id();
    let body = serde_json::json!({
        "id": event_id,
        "type": event_type,
        "occurred_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    for s in wanted.iter() {
        let delivery = DeliveryRow {
            id: loupan_store::new_id(),
            subscription_id: s.id.clone(),
            event_id: event_id.clone(),
            event_type: event_type.to_owned(),
            body: body.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            created_at: now,
            delivered_at: None,
        };
        store::insert_delivery(conn, &delivery).await?;
        jobs::enqueue(
            conn,
            jobs::NewJob {
                kind: crate::platform::jobs::JobKind::WebhookDelivery,
                payload: serde_json::json!({"delivery_id": delivery.id}),
                run_at: None,
                unique_key: None,
                max_attempts: MAX_ATTEMPTS,
                created_by: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// `sha256=<hex HMAC-SHA256 of "timestamp.body">` (API.md).
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A client that sends requests for `host` to `address` only (no redirects,
/// so a receiver cannot send Loupan on to an internal address either).
fn client_to(host: &str, address: std::net::SocketAddr) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Loupan-Webhooks/", env!("CARGO_PKG_VERSION")))
        .resolve(host, address)
        .build()
}

/// One attempt of one delivery (the `webhook_delivery` job). An error makes the
/// job retry later; the attempt is logged on the delivery either way.
pub async fn deliver(services: &Services, delivery_id: &str) -> Result<(), String> {
    let conn = services.store.conn();
    let delivery = store::find_delivery(conn, delivery_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("delivery {delivery_id} vanished"))?;
    if delivery.status == DeliveryStatus::Delivered {
        return Ok(());
    }
    let subscription = store::find_subscription(conn, &delivery.subscription_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "subscription deleted".to_owned())?;
    let now = services.clock.now();
    if !subscription.active {
        store::record_attempt(conn, delivery_id, DeliveryStatus::Failed, None, Some("subscription inactive"), now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    // The address is checked at every delivery (a name may resolve elsewhere
    // by now) and the request goes to the address checked.
    let url = reqwest::Url::parse(&subscription.url).map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let address = match outbound::vetted_address(&host, port, &services.config.webhook_allow).await {
        Ok(address) => address,
        Err(outbound::Unvetted::Refused(refused)) => {
            store::record_attempt(conn, delivery_id, DeliveryStatus::Failed, None, Some(&refused), now)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        Err(outbound::Unvetted::Unresolved(why)) => {
            store::record_attempt(conn, delivery_id, DeliveryStatus::Pending, None, Some(&why), now)
                .await
                .map_err(|e| e.to_string())?;
            return Err(why);
        }
    };
    let secret = services.secrets.decrypt(&subscription.secret_encrypted).map_err(|e| e.to_string())?;
    let timestamp = now.timestamp().to_string();
    let mut request = client_to(&host, address).map_err(|e| e.to_string())?.post(url);
    if let Some(id) = crate::platform::request::current() {
        request = request.header("Loupan-Request-Id", id);
    }
    let sent = request
        .header("Content-Type", "application/json")
        .header("Loupan-Event", &delivery.event_type)
        .header("Loupan-Delivery", &delivery.id)
        .header("Loupan-Timestamp", &timestamp)
        .header("Loupan-Signature", signature(&secret, &timestamp, &delivery.body))
        .body(delivery.body.clone())
        .send()
        .await;
    let (code, error) = match sent {
        Ok(r) if r.status().is_success() => (Some(i32::from(r.status().as_u16())), None),
        Ok(r) => (Some(i32::from(r.status().as_u16())), Some(format!("receiver answered {}", r.status()))),
        Err(e) => (None, Some(format!("could not reach receiver: {e}"))),
    };
    let status = if error.is_none() { DeliveryStatus::Delivered } else { DeliveryStatus::Pending };
    store::record_attempt(conn, delivery_id, status, code, error.as_deref(), services.clock.now())
        .await
        .map_err(|e| e.to_string())?;
    error.map_or(Ok(()), Err)
}

/// The job gave up: the delivery is marked failed for the admin page.
pub async fn give_up(services: &Services, delivery_id: &str) -> ServiceResult<()> {
    let conn = services.store.conn();
    if let Some(d) = store::find_delivery(conn, delivery_id).await?
        && d.status != DeliveryStatus::Delivered
    {
        store::mark_failed(conn, &d.id).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for Subscription {
    fn from(r: SubscriptionRow) -> Self {
        Subscription {
            id: r.id,
            url: r.url,
            event_types: r.event_types.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            description: r.description,
            active: r.active,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// A new subscription and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: Subscription,
    pub secret: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    pub url: Option<String>,
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

pub async fn create_subscription(
    services: &Services,
    actor: &Actor,
    form: NewSubscription,
) -> ServiceResult<CreatedSubscription> {
    actor.require(Permission::ManageIntegrations)?;
    let mut errors = Invalid::default();
    let url = form.url.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if url.is_empty() {
        errors.push("url", "required");
    } else if url.len() > 500 {
        errors.push("url", "too_long");
    } else {
        match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => {
                let host = parsed.host_str().unwrap_or_default();
                if outbound::host_refused(host, &services.config.webhook_allow) {
                    errors.push("url", "internal_address");
                }
            }
            _ => errors.push("url", "invalid_url"),
        }
    }
    let mut types: Vec<String> =
        form.event_types.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    types.sort();
    types.dedup();
    if types.is_empty() {
        errors.push("event_types", "required");
    } else if types.iter().any(|t| !EVENT_TYPES.contains(&t.as_str())) {
        errors.push("event_types", "unknown_event_type");
    }
    let description = optional_text(&mut errors, "description", form.description.as_deref(), 200).unwrap_or_default();
    errors.into_result()?;
    let secret = crate::random_hex(32)?;
    let row = SubscriptionRow {
        id: loupan_store::new_id(),
        url,
        secret_encrypted: services.secrets.encrypt(&secret)?,
        event_types: types.join(","),
        description,
        active: true,
        created_by: actor.display_name.clone(),
        created_at: services.clock.now(),
    };
    let tx = services.store.begin_write().await?;
    store::insert_subscription(&tx, &row).await?;
    let subscription = Subscription::from(row);
    audit::record(
        &tx,
        actor,
        Change {
            action: "webhook.create",
            record_type: "webhook",
            record_id: subscription.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&subscription)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(CreatedSubscription { subscription, secret })
}

pub async fn subscriptions(services: &Services, actor: &Actor) -> ServiceResult<Vec<Subscription>> {
    actor.require(Permission::ManageIntegrations)?;
    Ok(store::list_subscriptions(services.store.conn()).await?.into_iter().map(Subscription::from).collect())
}

pub async fn set_active(services: &Services, actor: &Actor, id: &str, active: bool) -> ServiceResult<Subscription> {
    actor.require(Permission::ManageIntegrations)?;
    let tx = services.store.begin_write().await?;
    if !store::set_active(&tx, id, active).await? {
        return Err(ServiceError::NotFound("webhook"));
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: if active { "webhook.activate" } else { "webhook.deactivate" },
            record_type: "webhook",
            record_id: id,
            before: None,
            after: None,
        },
    )
    .await?;
    let row = store::find_subscription(&tx, id).await?.ok_or(ServiceError::NotFound("webhook"))?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(row.into())
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub async fn deliveries(services: &Services, actor: &Actor, subscription_id: &str) -> ServiceResult<Vec<Delivery>> {
    actor.require(Permission::ManageIntegrations)?;
    let conn = services.store.conn();
    if store::find_subscription(conn, subscription_id).await?.is_none() {
        return Err(ServiceError::NotFound("webhook"));
    }
    Ok(store::deliveries_of(conn, subscription_id, 200)
        .await?
        .into_iter()
        .map(|d| Delivery {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        let s = signature("secret", "1700000000", r#"{"id":"1"}"#);
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64, "{s}");
        assert_ne!(s, signature("secret", "1700000001", r#"{"id":"1"}"#));
        assert_ne!(s, signature("secret", "1700000000", r#"{"id":"2"}"#));
        assert_ne!(s, signature("other", "1700000000", r#"{"id":"1"}"#));
        assert_eq!(s, signature("secret", "1700000000", r#"{"id":"1"}"#));
    }
}
