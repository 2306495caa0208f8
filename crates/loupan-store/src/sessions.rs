//! Server-side sessions, shared by every instance through the database.

use chrono::{DateTime, Utc};
use loupan_domain::ids::UserId;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::StoreResult;
use crate::entities::sessions;

pub use sessions::Model as SessionRow;

pub async fn insert_session<C: ConnectionTrait>(c: &C, row: &SessionRow) -> StoreResult<()> {
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(row.id.clone()),
        user_id: Set(row.user_id.clone()),
        kind: Set(row.kind.clone()),
        csrf_token: Set(row.csrf_token.clone()),
        created_at: Set(row.created_at),
        last_seen_at: Set(row.last_seen_at),
        expires_at: Set(row.expires_at),
    })
    .exec_without_returning(c)
    .await?;
    Ok(())
}

pub async fn find_session<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<SessionRow>> {
    Ok(sessions::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn touch_session<C: ConnectionTrait>(c: &C, id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
        .filter(sessions::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn delete_session<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<()> {
    sessions::Entity::delete_by_id(id.to_owned()).exec(c).await?;
    Ok(())
}

/// Ends every session of a user at once (a disabled user is out immediately).
pub async fn delete_sessions_of_user<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<u64> {
    Ok(sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id)).exec(c).await?.rows_affected)
}

pub async fn delete_expired_sessions<C: ConnectionTrait>(c: &C, now: DateTime<Utc>) -> StoreResult<u64> {
    Ok(sessions::Entity::delete_many().filter(sessions::Column::ExpiresAt.lt(now)).exec(c).await?.rows_affected)
}

/// A session and its user, with what the user may do, as one statement
/// reads them for a request whose actor is not kept: the roles and projects come as
/// comma-separated lists (none for a user without any).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct SessionActorRow {
    pub id: String,
    pub user_id: UserId,
    pub kind: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub username: String,
    pub display_name: String,
    pub locale: Option<String>,
    pub disabled: bool,
    pub roles: Option<String>,
    pub projects: Option<String>,
}

/// The session of a token's hash with its user, roles and projects, in one
/// statement: authenticating a request costs one round trip at most.
pub async fn find_session_actor<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<SessionActorRow>> {
    use crate::entities::users;
    use sea_orm::{JoinType, QuerySelect};
    let backend = c.get_database_backend();
    let list = |table: &str, column: &str| {
        let joined = match backend {
            sea_orm::DbBackend::Postgres => format!("string_agg({column}, ',' ORDER BY {column})"),
            _ => format!("group_concat({column}, ',')"),
        };
        Expr::cust(format!("(SELECT {joined} FROM {table} WHERE {table}.user_id = sessions.user_id)"))
    };
    let to_user: sea_orm::RelationDef =
        sessions::Entity::belongs_to(users::Entity).from(sessions::Column::UserId).to(users::Column::Id).into();
    Ok(sessions::Entity::find_by_id(id.to_owned())
        .select_only()
        .columns([
            sessions::Column::Id,
            sessions::Column::UserId,
            sessions::Column::Kind,
            sessions::Column::CsrfToken,
            sessions::Column::CreatedAt,
            sessions::Column::LastSeenAt,
            sessions::Column::ExpiresAt,
        ])
        .columns([users::Column::Username, users::Column::DisplayName, users::Column::Locale, users::Column::Disabled])
        .expr_as(list("user_roles", "role"), "roles")
        .expr_as(list("user_projects", "project_id"), "projects")
        .join(JoinType::InnerJoin, to_user)
        .into_model::<SessionActorRow>()
        .one(c)
        .await?)
}
