//! Company and project settings: one row per scope and key, written whole.

use loupan_domain::ids::ProjectId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};

use crate::StoreResult;
use crate::entities::settings;

pub use settings::Model as SettingRow;

/// The company's scope; a project's is `project:{id}`.
pub const COMPANY: &str = "company";

pub fn project_scope(project_id: &ProjectId) -> String {
    format!("project:{project_id}")
}

pub async fn find_setting<C: ConnectionTrait>(c: &C, scope: &str, key: &str) -> StoreResult<Option<SettingRow>> {
    Ok(settings::Entity::find_by_id((scope.to_owned(), key.to_owned())).one(c).await?)
}

/// The first of `scopes` (most specific first) that has the key.
pub async fn first_setting<C: ConnectionTrait>(c: &C, scopes: &[String], key: &str) -> StoreResult<Option<SettingRow>> {
    let rows = settings::Entity::find()
        .filter(settings::Column::Key.eq(key))
        .filter(settings::Column::Scope.is_in(scopes.iter().cloned()))
        .all(c)
        .await?;
    Ok(scopes.iter().find_map(|s| rows.iter().find(|r| &r.scope == s).cloned()))
}

pub async fn put_setting<C: ConnectionTrait>(c: &C, row: &SettingRow) -> StoreResult<()> {
    settings::Entity::insert(row.clone().into_active_model())
        .on_conflict(
            OnConflict::columns([settings::Column::Scope, settings::Column::Key])
                .update_columns([settings::Column::Value, settings::Column::UpdatedBy, settings::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// Removes a setting (the scope falls back to the wider one); false if there was none.
pub async fn delete_setting<C: ConnectionTrait>(c: &C, scope: &str, key: &str) -> StoreResult<bool> {
    Ok(settings::Entity::delete_by_id((scope.to_owned(), key.to_owned())).exec(c).await?.rows_affected == 1)
}
