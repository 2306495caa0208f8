//! Logging in and out, and turning a session token back into an acting user.
//!
//! Sessions live in the database (every instance sees them, they survive a
//! restart); only a SHA-256 of the token is stored. Repeated failures for one
//! username are refused for a while, whichever instance they reach.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use loupan_domain::Role;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_store::sessions::{self as store_sessions, SessionRow};
use loupan_store::users as store_users;

use crate::actor::SessionInfo;
use crate::platform::actors::KnownSession;
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services, random_hex, sha256_hex};

/// A browser (cookie, idle timeout) or a program (bearer token, long-lived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Browser,
    Token,
}

impl SessionKind {
    fn name(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Token => "token",
        }
    }
}

/// A successful login: the secret token to hand to the client, once.
pub struct LoggedIn {
    pub token: String,
    pub actor: Actor,
}

impl std::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedIn").field("actor", &self.actor).finish_non_exhaustive()
    }
}

/// Hashes a password with argon2id (on a blocking thread: it is slow on purpose).
pub async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(ServiceError::internal)
    })
    .await
    .map_err(ServiceError::internal)?
}

async fn verify_password(password: String, hash: String) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(ServiceError::internal)?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(ServiceError::internal)?
}

fn to_chrono(d: std::time::Duration) -> ChronoDuration {
    ChronoDuration::from_std(d).unwrap_or(ChronoDuration::MAX)
}

pub async fn login(services: &Services, username: &str, password: &str, kind: SessionKind) -> ServiceResult<LoggedIn> {
    let cfg = &services.config;
    let conn = services.store.conn();
    let username = username.trim();
    let now = services.clock.now();
    let window = to_chrono(cfg.lockout_window);
    let failures =
        store_users::login_failures_since(conn, username, now - window, cfg.max_failed_logins as u64).await?;
    if failures.len() >= cfg.max_failed_logins
        && let Some(oldest) = failures.last()
    {
        let retry_after_secs = (*oldest + window - now).num_seconds().max(1) as u64;
        return Err(ServiceError::TooManyAttempts { retry_after_secs });
    }
    let user = store_users::find_user_by_username(conn, username).await?;
    let password_ok = match &user {
        Some(u) => verify_password(password.to_owned(), u.password_hash.clone()).await?,
        // Spend the same time on an unknown username, so timing does not reveal which exist.
        None => hash_password(password.to_owned()).await.map(|_| false)?,
    };
    let user = match user {
        Some(u) if password_ok => u,
        _ => {
            store_users::record_login_failure(conn, username, now).await?;
            return Err(ServiceError::Unauthenticated("invalid_credentials"));
        }
    };
    if user.disabled {
        return Err(ServiceError::Unauthenticated("account_disabled"));
    }
    let token = random_hex(32)?;
    let lifetime = match kind {
        SessionKind::Browser => cfg.absolute_timeout,
        SessionKind::Token => cfg.token_lifetime,
    };
    let row = SessionRow {
        id: sha256_hex(token.as_bytes()),
        user_id: user.id.clone(),
        kind: kind.name().to_owned(),
        csrf_token: random_hex(16)?,
        created_at: now,
        last_seen_at: now,
        expires_at: now + to_chrono(lifetime),
    };
    let tx = services.store.begin_write().await?;
    store_users::clear_login_failures(&tx, username).await?;
    store_sessions::insert_session(&tx, &row).await?;
    let actor =
        load_actor(&tx, &user.id, Some(&row)).await?.ok_or(ServiceError::Unauthenticated("invalid_credentials"))?;
    audit::record(
        &tx,
        &actor,
        Change {
            action: "user.login",
            record_type: "user",
            record_id: user.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"session_kind": kind.name()})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(LoggedIn { token, actor })
}

/// The user behind a session token, or 401 when it is unknown, expired, idle
/// too long, or its user is disabled.
pub async fn authenticate(services: &Services, token: &str) -> ServiceResult<Actor> {
    let conn = services.store.conn();
    let id = sha256_hex(token.as_bytes());
    let now = services.clock.now();
    let idle = to_chrono(services.config.idle_timeout);
    // A kept session that looks idle may have been seen by another process
    // since: the database decides.
    let lookup = services.actors.look_up(&id);
    if let Some(known) = lookup.kept
        && is_live(&known.kind, known.last_seen_at, known.expires_at, now, idle)
    {
        keep_seen(services, &id, known.last_seen_at, now).await?;
        return Ok(known.actor);
    }
    let generation = lookup.generation;
    // The session, its user, their roles and projects: one statement.
    let Some(row) = store_sessions::find_session_actor(conn, &id).await? else {
        services.actors.forget(&id);
        return Err(ServiceError::Unauthenticated("session_expired"));
    };
    if !is_live(&row.kind, row.last_seen_at, row.expires_at, now, idle) {
        services.actors.forget(&id);
        store_sessions::delete_session(conn, &id).await?;
        return Err(ServiceError::Unauthenticated("session_expired"));
    }
    if row.disabled {
        services.actors.forget(&id);
        return Err(ServiceError::Unauthenticated("session_expired"));
    }
    let listed = |list: &Option<String>| {
        let mut items: Vec<String> =
            list.as_deref().unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        items.sort();
        items
    };
    let actor = Actor {
        roles: listed(&row.roles).iter().filter_map(|r| Role::parse(r)).collect(),
        project_ids: listed(&row.projects).into_iter().map(ProjectId::from).collect(),
        session: Some(SessionInfo { id: row.id, csrf_token: row.csrf_token }),
        user_id: Some(row.user_id),
        username: row.username,
        display_name: row.display_name,
        locale: row.locale,
    };
    services.actors.keep(
        &id,
        generation,
        KnownSession {
            actor: actor.clone(),
            kind: row.kind,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        },
    );
    keep_seen(services, &id, row.last_seen_at, now).await?;
    Ok(actor)
}

/// One write a minute per session is enough to track idleness.
async fn keep_seen(
    services: &Services,
    id: &str,
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    if now - last_seen_at > ChronoDuration::seconds(60) {
        store_sessions::touch_session(services.store.conn(), id, now).await?;
        services.actors.seen(id, now);
    }
    Ok(())
}

fn is_live(
    kind: &str,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    idle: ChronoDuration,
) -> bool {
    if now >= expires_at {
        return false;
    }
    // Tokens for programs have no idle timeout, only their lifetime.
    kind != SessionKind::Browser.name() || now - last_seen_at < idle
}

/// Ends the session of `actor` (if it came with one).
pub async fn logout(services: &Services, actor: &Actor) -> ServiceResult<()> {
    if let Some(session) = &actor.session {
        let tx = services.store.begin_write().await?;
        store_sessions::delete_session(&tx, &session.id).await?;
        if let Some(user_id) = &actor.user_id {
            audit::record(
                &tx,
                actor,
                Change {
                    action: "user.logout",
                    record_type: "user",
                    record_id: user_id.as_str(),
                    before: None,
                    after: None,
                },
            )
            .await?;
        }
        // The session ends on every instance at once.
        services.actors.commit(tx).await?;
    }
    Ok(())
}

/// Builds the acting user from the database; None when missing or disabled.
pub(crate) async fn load_actor<C: loupan_store::Connection>(
    conn: &C,
    user_id: &UserId,
    session: Option<&SessionRow>,
) -> ServiceResult<Option<Actor>> {
    let Some(user) = store_users::find_user(conn, user_id).await? else { return Ok(None) };
    if user.disabled {
        return Ok(None);
    }
    let roles = store_users::roles_of(conn, user_id).await?.iter().filter_map(|r| Role::parse(r)).collect();
    let project_ids = store_users::project_ids_of(conn, user_id).await?;
    Ok(Some(Actor {
        user_id: Some(user.id),
        username: user.username,
        display_name: user.display_name,
        roles,
        project_ids,
        locale: user.locale,
        session: session.map(|s| SessionInfo { id: s.id.clone(), csrf_token: s.csrf_token.clone() }),
    }))
}

/// Removes sessions past their absolute expiry (housekeeping at start).
pub async fn purge_expired_sessions(services: &Services) -> ServiceResult<u64> {
    Ok(store_sessions::delete_expired_sessions(services.store.conn(), services.clock.now()).await?)
}

/// A fresh random token for a form that has no session yet (the login form).
pub fn new_form_token() -> ServiceResult<String> {
    random_hex(16)
}
