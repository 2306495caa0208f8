//! Notifications inside Loupan (the bell). Every module notifies through
//! `notify`, in its own transaction, so a notice exists exactly when what it
//! announces does. E-mail and SMS delivery (the notices issue) will read from
//! here: they become jobs enqueued by `notify` per channel.

use chrono::{DateTime, Utc};
use loupan_domain::ids::UserId;
use loupan_domain::platform::NotificationKind;
use loupan_domain::sentence::Sentence;
use loupan_store::Connection;
use loupan_store::notifications::{self as store, NotificationRow};
use serde::Serialize;

use crate::{Actor, ServiceError, ServiceResult, Services};

/// Every kind of notification, for translations and clients.
pub const KINDS: [&str; NotificationKind::ALL.len()] = {
    let mut names = [""; NotificationKind::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = NotificationKind::ALL[i].name();
        i += 1;
    }
    names
};

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    /// `title_said` in the reader's language, or the text it was written with.
    pub title: String,
    pub title_said: Option<Sentence>,
    pub body: String,
    /// Where the user deals with it.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = ServiceError;

    fn try_from(r: NotificationRow) -> ServiceResult<Self> {
        Ok(Notification {
            id: r.id,
            kind: r.kind,
            title: r.title,
            title_said: said_of(r.title_said.as_deref())?,
            body: r.body,
            link: r.link,
            created_at: r.created_at,
            read: r.read_at.is_some(),
        })
    }
}

/// A sentence as a row keeps it (JSON); none on rows of earlier versions.
pub(crate) fn said_of(stored: Option<&str>) -> ServiceResult<Option<Sentence>> {
    stored.map(|s| serde_json::from_str(s).map_err(ServiceError::internal)).transpose()
}

/// What to tell, before it is addressed.
pub struct Notice<'a> {
    pub kind: NotificationKind,
    pub title: &'a str,
    /// The title as a sentence each reader sees in their language (then `title` is the fallback).
    pub title_said: Option<&'a Sentence>,
    pub body: &'a str,
    pub link: &'a str,
}

/// Puts `notice` under the bell of each user (duplicates and blanks skipped).
pub async fn notify<C: Connection>(conn: &C, user_ids: &[UserId], notice: &Notice<'_>) -> ServiceResult<()> {
    let now = loupan_store::now();
    let mut seen: Vec<&UserId> = Vec::new();
    for user_id in user_ids.iter().filter(|u| !u.as_str().is_empty()) {
        if seen.contains(&user_id) {
            continue;
        }
        seen.push(user_id);
        store::insert_notification(
            conn,
            &NotificationRow {
                id: loupan_store::new_id(),
                user_id: user_id.clone(),
                kind: notice.kind,
                title: notice.title.chars().take(200).collect(),
                title_said: notice.title_said.map(serde_json::to_string).transpose().map_err(ServiceError::internal)?,
                body: notice.body.chars().take(1000).collect(),
                link: notice.link.to_owned(),
                created_at: now,
                read_at: None,
            },
        )
        .await?;
    }
    Ok(())
}

fn user_of(actor: &Actor) -> ServiceResult<&UserId> {
    actor.user_id.as_ref().ok_or(ServiceError::Forbidden)
}

pub async fn list(services: &Services, actor: &Actor, unread_only: bool) -> ServiceResult<Vec<Notification>> {
    let user = user_of(actor)?;
    store::notifications_of(services.store.conn(), user, unread_only, 100)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}

pub async fn unread_count(services: &Services, actor: &Actor) -> ServiceResult<u64> {
    match actor.user_id.as_ref() {
        Some(user) => Ok(store::count_unread(services.store.conn(), user).await?),
        None => Ok(0),
    }
}

/// Marks one of the caller's notifications read; another user's is not found.
pub async fn mark_read(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Notification> {
    let user = user_of(actor)?;
    let conn = services.store.conn();
    match store::find_notification(conn, id).await? {
        Some(n) if &n.user_id == user => {
            store::mark_read(conn, user, Some(id), services.clock.now()).await?;
            Ok(Notification { read: true, ..n.try_into()? })
        }
        _ => Err(ServiceError::NotFound("notification")),
    }
}

pub async fn mark_all_read(services: &Services, actor: &Actor) -> ServiceResult<u64> {
    let user = user_of(actor)?;
    Ok(store::mark_read(services.store.conn(), user, None, services.clock.now()).await?)
}
