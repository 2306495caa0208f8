//! Users, their roles and project memberships, and failed-login counting.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{ProjectId, UserId};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::entities::{login_failures, user_projects, user_roles, users};
use crate::{StoreResult, new_id};

pub use users::Model as UserRow;

pub async fn insert_user<C: ConnectionTrait>(c: &C, row: &UserRow) -> StoreResult<()> {
    users::Entity::insert(users::ActiveModel {
        id: Set(row.id.clone()),
        username: Set(row.username.clone()),
        display_name: Set(row.display_name.clone()),
        password_hash: Set(row.password_hash.clone()),
        locale: Set(row.locale.clone()),
        disabled: Set(row.disabled),
        manager_id: Set(row.manager_id.clone()),
        department: Set(row.department.clone()),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

pub async fn find_user<C: ConnectionTrait>(c: &C, id: &UserId) -> StoreResult<Option<UserRow>> {
    Ok(users::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Display names of some users (a list page's owners), in one statement.
pub async fn display_names<C: ConnectionTrait>(c: &C, ids: &[UserId]) -> StoreResult<Vec<(UserId, String)>> {
    Ok(users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .filter(users::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(c)
        .await?)
}

pub async fn find_user_by_username<C: ConnectionTrait>(c: &C, username: &str) -> StoreResult<Option<UserRow>> {
    Ok(users::Entity::find().filter(users::Column::Username.eq(username)).one(c).await?)
}

pub async fn count_users<C: ConnectionTrait>(c: &C) -> StoreResult<u64> {
    Ok(users::Entity::find().count(c).await?)
}

/// Users ordered by username, `limit` of them after the username `after`.
pub async fn list_users<C: ConnectionTrait>(c: &C, after: Option<&str>, limit: u64) -> StoreResult<Vec<UserRow>> {
    let mut q = users::Entity::find().order_by_asc(users::Column::Username).limit(limit);
    if let Some(after) = after {
        q = q.filter(users::Column::Username.gt(after));
    }
    Ok(q.all(c).await?)
}

/// The profile fields an administrator edits.
pub struct Profile<'a> {
    pub display_name: &'a str,
    pub disabled: bool,
    pub manager_id: Option<&'a UserId>,
    pub department: Option<&'a str>,
}

/// Writes profile fields if the row is still at `expected_version`; false when
/// someone else changed it first (the caller answers 409).
pub async fn update_user_profile<C: ConnectionTrait>(
    c: &C,
    id: &UserId,
    expected_version: i64,
    profile: Profile<'_>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = users::Entity::update_many()
        .col_expr(users::Column::DisplayName, Expr::value(profile.display_name.to_owned()))
        .col_expr(users::Column::ManagerId, Expr::value(profile.manager_id.map(UserId::to_string)))
        .col_expr(users::Column::Disabled, Expr::value(profile.disabled))
        .col_expr(users::Column::Department, Expr::value(profile.department.map(str::to_owned)))
        .col_expr(users::Column::Version, Expr::col(users::Column::Version).add(1))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(id))
        .filter(users::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_password_hash<C: ConnectionTrait>(
    c: &C,
    id: &UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash.to_owned()))
        .col_expr(users::Column::Version, Expr::col(users::Column::Version).add(1))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn set_user_locale<C: ConnectionTrait>(c: &C, id: &UserId, locale: &str) -> StoreResult<()> {
    users::Entity::update_many()
        .col_expr(users::Column::Locale, Expr::value(locale.to_owned()))
        .filter(users::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn roles_of<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<Vec<String>> {
    let rows = user_roles::Entity::find()
        .filter(user_roles::Column::UserId.eq(user_id))
        .order_by_asc(user_roles::Column::Role)
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|r| r.role).collect())
}

pub async fn replace_roles<C: ConnectionTrait>(c: &C, user_id: &UserId, roles: &[String]) -> StoreResult<()> {
    user_roles::Entity::delete_many().filter(user_roles::Column::UserId.eq(user_id)).exec(c).await?;
    for role in roles {
        user_roles::Entity::insert(user_roles::ActiveModel {
            user_id: Set(user_id.to_owned()),
            role: Set(role.clone()),
        })
        .exec_without_returning(c)
        .await?;
    }
    Ok(())
}

pub async fn project_ids_of<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<Vec<ProjectId>> {
    let rows = user_projects::Entity::find()
        .filter(user_projects::Column::UserId.eq(user_id))
        .order_by_asc(user_projects::Column::ProjectId)
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|r| r.project_id).collect())
}

pub async fn replace_projects<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    project_ids: &[ProjectId],
) -> StoreResult<()> {
    user_projects::Entity::delete_many().filter(user_projects::Column::UserId.eq(user_id)).exec(c).await?;
    for project_id in project_ids {
        user_projects::Entity::insert(user_projects::ActiveModel {
            user_id: Set(user_id.to_owned()),
            project_id: Set(project_id.clone()),
        })
        .exec_without_returning(c)
        .await?;
    }
    Ok(())
}

pub async fn record_login_failure<C: ConnectionTrait>(c: &C, username: &str, now: DateTime<Utc>) -> StoreResult<()> {
    login_failures::Entity::insert(login_failures::ActiveModel {
        id: Set(new_id()),
        username: Set(username.to_owned()),
        failed_at: Set(now),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

/// Failed logins for `username` since `since`, newest first (at most `limit`).
pub async fn login_failures_since<C: ConnectionTrait>(
    c: &C,
    username: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<DateTime<Utc>>> {
    let rows = login_failures::Entity::find()
        .filter(login_failures::Column::Username.eq(username))
        .filter(login_failures::Column::FailedAt.gte(since))
        .order_by_desc(login_failures::Column::FailedAt)
        .limit(limit)
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|r| r.failed_at).collect())
}

pub async fn clear_login_failures<C: ConnectionTrait>(c: &C, username: &str) -> StoreResult<()> {
    login_failures::Entity::delete_many().filter(login_failures::Column::Username.eq(username)).exec(c).await?;
    Ok(())
}
