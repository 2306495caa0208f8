//! User administration: accounts, roles, project membership, disabling.
//! Only holders of `ManageUsers` (admins) may change accounts.

use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Permission, Role};
use loupan_store::users::{self as store_users, UserRow};
use loupan_store::{StoreError, inventory as store_inventory, sessions as store_sessions};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::platform::auth::hash_password;
use crate::{Actor, ServiceError, ServiceResult, Services, random_hex};

pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user as administrators see it (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub project_ids: Vec<ProjectId>,
    pub disabled: bool,
    pub locale: Option<String>,
    /// Approval steps "by the submitter's manager" go to this user.
    pub manager_id: Option<UserId>,
    /// The department the user works in: their items' responsibility cost (PM5).
    pub department: Option<String>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The fields of a new account, as typed (validated here).
#[derive(Debug, Default, Clone)]
pub struct NewUser {
    pub username: Option<String>,
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub project_ids: Vec<ProjectId>,
}

/// Changes to an account; `version` must be the one the editor saw.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub version: i64,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub project_ids: Vec<ProjectId>,
    pub disabled: bool,
    /// The user's manager; None or empty for nobody.
    pub manager_id: Option<String>,
    /// None or empty for none.
    pub department: Option<String>,
}

fn valid_username(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

fn check_password(errors: &mut Invalid, field: &str, password: Option<&str>) -> String {
    match password {
        None | Some("") => errors.push(field, "required"),
        Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => errors.push(field, "password_too_short"),
        Some(p) if p.chars().count() > 1024 => errors.push(field, "too_long"),
        Some(p) => return p.to_owned(),
    }
    String::new()
}

fn parse_roles(errors: &mut Invalid, roles: &[String]) -> Vec<Role> {
    let mut parsed = Vec::new();
    for name in roles {
        match Role::parse(name.trim()) {
            Some(r) if !parsed.contains(&r) => parsed.push(r),
            Some(_) => {}
            None => errors.push("roles", "unknown_role"),
        }
    }
    parsed
}

async fn check_projects<C: loupan_store::Connection>(
    conn: &C,
    errors: &mut Invalid,
    ids: &[ProjectId],
) -> ServiceResult<Vec<ProjectId>> {
    let mut ok = Vec::new();
    for id in ids {
        if store_inventory::find_project(conn, id).await?.is_none() {
            errors.push("project_ids", "unknown_project");
        } else if !ok.contains(id) {
            ok.push(id.clone());
        }
    }
    Ok(ok)
}

async fn to_user<C: loupan_store::Connection>(conn: &C, row: UserRow) -> ServiceResult<User> {
    let roles = store_users::roles_of(conn, &row.id).await?.iter().filter_map(|r| Role::parse(r)).collect();
    let project_ids = store_users::project_ids_of(conn, &row.id).await?;
    Ok(User {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        roles,
        project_ids,
        disabled: row.disabled,
        locale: row.locale,
        manager_id: row.manager_id,
        department: row.department,
        version: row.version,
        created_at: row.created_at,
    })
}

fn snapshot(user: &User) -> ServiceResult<serde_json::Value> {
    crate::platform::audit::payload(user)
}

pub async fn create_user(services: &Services, actor: &Actor, form: NewUser) -> ServiceResult<User> {
    actor.require(Permission::ManageUsers)?;
    let mut errors = Invalid::default();
    let username = required_text(&mut errors, "username", form.username.as_deref(), 32).to_lowercase();
    if !username.is_empty() && !valid_username(&username) {
        errors.push("username", "invalid_username");
    }
    let password = check_password(&mut errors, "password", form.password.as_deref());
    let display_name = optional_text(&mut errors, "display_name", form.display_name.as_deref(), 60)
        .unwrap_or_else(|| username.clone());
    let roles = parse_roles(&mut errors, &form.roles);
    let tx = services.store.begin_write().await?;
    let project_ids = check_projects(&tx, &mut errors, &form.project_ids).await?;
    if errors.is_empty() && store_users::find_user_by_username(&tx, &username).await?.is_some() {
        errors.push("username", "taken");
    }
    errors.into_result()?;
    let now = services.clock.now();
    let row = UserRow {
        id: loupan_store::new_id().into(),
        username,
        display_name,
        password_hash: hash_password(password).await?,
        locale: None,
        disabled: false,
        manager_id: None,
        department: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    match store_users::insert_user(&tx, &row).await {
        Err(StoreError::Unique(_)) => return Err(Invalid::one("username", "taken").into()),
        other => other?,
    }
    let role_names: Vec<String> = roles.iter().map(|r| r.name().to_owned()).collect();
    store_users::replace_roles(&tx, &row.id, &role_names).await?;
    store_users::replace_projects(&tx, &row.id, &project_ids).await?;
    let user = to_user(&tx, row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "user.create",
            record_type: "user",
            record_id: user.id.as_str(),
            before: None,
            after: Some(snapshot(&user)?),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(user)
}

pub async fn list_users(
    services: &Services,
    actor: &Actor,
    after: Option<&str>,
    limit: u64,
) -> ServiceResult<Vec<User>> {
    actor.require(Permission::ManageUsers)?;
    let conn = services.store.conn();
    let mut users = Vec::new();
    for row in store_users::list_users(conn, after, limit).await? {
        users.push(to_user(conn, row).await?);
    }
    Ok(users)
}

pub async fn get_user(services: &Services, actor: &Actor, id: &UserId) -> ServiceResult<User> {
    actor.require(Permission::ManageUsers)?;
    let conn = services.store.conn();
    let row = store_users::find_user(conn, id).await?.ok_or(ServiceError::NotFound("user"))?;
    to_user(conn, row).await
}

/// The signed-in user's own account (no administration right needed).
pub async fn own_profile(services: &Services, actor: &Actor) -> ServiceResult<User> {
    let id = actor.user_id.as_ref().ok_or(ServiceError::NotFound("user"))?;
    let conn = services.store.conn();
    let row = store_users::find_user(conn, id).await?.ok_or(ServiceError::NotFound("user"))?;
    to_user(conn, row).await
}

pub async fn find_user_by_username(services: &Services, actor: &Actor, username: &str) -> ServiceResult<User> {
    actor.require(Permission::ManageUsers)?;
    let conn = services.store.conn();
    let row = store_users::find_user_by_username(conn, username).await?.ok_or(ServiceError::NotFound("user"))?;
    to_user(conn, row).await
}

/// Edits an account. Disabling it ends all its sessions in the same transaction.
pub async fn update_user(services: &Services, actor: &Actor, id: &UserId, changes: UserChanges) -> ServiceResult<User> {
    actor.require(Permission::ManageUsers)?;
    let mut errors = Invalid::default();
    let display_name = required_text(&mut errors, "display_name", changes.display_name.as_deref(), 60);
    let roles = parse_roles(&mut errors, &changes.roles);
    let department = optional_text(&mut errors, "department", changes.department.as_deref(), 60);
    if actor.user_id.as_ref() == Some(id) && (changes.disabled || !roles.contains(&Role::Admin)) {
        // An admin locking themselves out is always a mistake.
        errors.push("roles", "cannot_demote_self");
    }
    let tx = services.store.begin_write().await?;
    let before_row = store_users::find_user(&tx, id).await?.ok_or(ServiceError::NotFound("user"))?;
    let project_ids = check_projects(&tx, &mut errors, &changes.project_ids).await?;
    let manager_id = UserId::given(changes.manager_id.as_deref());
    if let Some(m) = &manager_id {
        if m == id {
            errors.push("manager_id", "not_yourself");
        } else if store_users::find_user(&tx, m).await?.is_none() {
            errors.push("manager_id", "unknown_user");
        }
    }
    errors.into_result()?;
    let before = to_user(&tx, before_row).await?;
    let now = services.clock.now();
    if !store_users::update_user_profile(
        &tx,
        id,
        changes.version,
        store_users::Profile {
            display_name: &display_name,
            disabled: changes.disabled,
            manager_id: manager_id.as_ref(),
            department: department.as_deref(),
        },
        now,
    )
    .await?
    {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let role_names: Vec<String> = roles.iter().map(|r| r.name().to_owned()).collect();
    store_users::replace_roles(&tx, id, &role_names).await?;
    store_users::replace_projects(&tx, id, &project_ids).await?;
    if changes.disabled {
        store_sessions::delete_sessions_of_user(&tx, id).await?;
    }
    let row = store_users::find_user(&tx, id).await?.ok_or(ServiceError::NotFound("user"))?;
    let after = to_user(&tx, row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "user.update",
            record_type: "user",
            record_id: id.as_str(),
            before: Some(snapshot(&before)?),
            after: Some(snapshot(&after)?),
        },
    )
    .await?;
    services.actors.commit(tx).await?;
    Ok(after)
}

/// Disables or re-enables an account without touching anything else.
pub async fn set_disabled(services: &Services, actor: &Actor, id: &UserId, disabled: bool) -> ServiceResult<User> {
    let user = get_user(services, actor, id).await?;
    let changes = UserChanges {
        version: user.version,
        display_name: Some(user.display_name.clone()),
        roles: user.roles.iter().map(|r| r.name().to_owned()).collect(),
        project_ids: user.project_ids.clone(),
        disabled,
        manager_id: user.manager_id.as_ref().map(UserId::to_string),
        department: user.department.clone(),
    };
    update_user(services, actor, id, changes).await
}

/// Sets a new password and ends the user's sessions (they sign in again).
pub async fn reset_password(
    services: &Services,
    actor: &Actor,
    id: &UserId,
    password: Option<&str>,
) -> ServiceResult<()> {
    actor.require(Permission::ManageUsers)?;
    let mut errors = Invalid::default();
    let password = check_password(&mut errors, "password", password);
    errors.into_result()?;
    let hash = hash_password(password).await?;
    let tx = services.store.begin_write().await?;
    store_users::find_user(&tx, id).await?.ok_or(ServiceError::NotFound("user"))?;
    store_users::set_password_hash(&tx, id, &hash, services.clock.now()).await?;
    store_sessions::delete_sessions_of_user(&tx, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "user.reset_password",
            record_type: "user",
            record_id: id.as_str(),
            before: None,
            after: Some(serde_json::json!({"password": "changed"})),
        },
    )
    .await?;
    services.actors.commit(tx).await?;
    Ok(())
}

/// The signed-in user's own language choice (`zh-CN` or `en`).
pub async fn set_own_locale(services: &Services, actor: &Actor, locale: &str) -> ServiceResult<()> {
    let Some(id) = &actor.user_id else { return Ok(()) };
    if !["zh-CN", "en"].contains(&locale) {
        return Err(Invalid::one("locale", "unknown_locale").into());
    }
    let tx = services.store.begin_write().await?;
    store_users::set_user_locale(&tx, id, locale).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "user.set_locale",
            record_type: "user",
            record_id: id.as_str(),
            before: Some(serde_json::json!({"locale": actor.locale})),
            after: Some(serde_json::json!({"locale": locale})),
        },
    )
    .await?;
    services.actors.commit(tx).await?;
    Ok(())
}

/// On first start with no users, creates `admin` with `password`, or with a
/// random one that is returned so the caller can print it once.
pub async fn ensure_admin(services: &Services, password: Option<String>) -> ServiceResult<Option<String>> {
    if store_users::count_users(services.store.conn()).await? > 0 {
        return Ok(None);
    }
    let generated = password.is_none();
    let password = match password {
        Some(p) => p,
        None => random_hex(9)?,
    };
    let form = NewUser {
        username: Some("admin".into()),
        password: Some(password.clone()),
        display_name: Some("管理员".into()),
        roles: vec!["admin".into()],
        project_ids: Vec::new(),
    };
    match create_user(services, &Actor::system("first-start"), form).await {
        Ok(_) => Ok(generated.then_some(password)),
        // Another instance started at the same moment and created it first.
        Err(ServiceError::Invalid(e)) if e.0.iter().any(|f| f.code == "taken") => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain() {
        for ok in ["admin", "wang.fang", "agent_01", "li-qiang"] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["ab", "Admin", "张三", "a b", "x@y", &"a".repeat(33)] {
            assert!(!valid_username(bad), "{bad}");
        }
    }
}

/// A colleague as anyone signed in may see them: to delegate to, or to name in a flow.
#[derive(Debug, Clone, Serialize)]
pub struct Colleague {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}

/// Enabled users by name (the first thousand).
pub async fn colleagues(services: &Services, actor: &Actor) -> ServiceResult<Vec<Colleague>> {
    if actor.user_id.is_none() && !actor.can(Permission::ManageUsers) {
        return Err(ServiceError::Forbidden);
    }
    let mut out: Vec<Colleague> = store_users::list_users(services.store.conn(), None, 1000)
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| Colleague { id: u.id, username: u.username, display_name: u.display_name })
        .collect();
    out.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    Ok(out)
}
