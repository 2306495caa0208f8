//! Where files are and what they belong to (the bytes are in the file store),
//! and the buildings' regions on their project's site plan.

use loupan_domain::ids::ProjectId;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use loupan_domain::inventory::FileOwner;

use crate::StoreResult;
use crate::entities::{building_regions, files};

pub use building_regions::Model as RegionRow;
pub use files::Model as FileRow;

pub async fn insert_file<C: ConnectionTrait>(c: &C, row: &FileRow) -> StoreResult<()> {
    files::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_file<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<FileRow>> {
    Ok(files::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn files_of<C: ConnectionTrait>(c: &C, owner_type: FileOwner, owner_id: &str) -> StoreResult<Vec<FileRow>> {
    Ok(files::Entity::find()
        .filter(files::Column::OwnerType.eq(owner_type))
        .filter(files::Column::OwnerId.eq(owner_id))
        .order_by_asc(files::Column::CreatedAt)
        .all(c)
        .await?)
}

/// The files of several owners of one type, oldest first, in one query.
pub async fn files_of_owners<C: ConnectionTrait>(
    c: &C,
    owner_type: FileOwner,
    owner_ids: &[&str],
) -> StoreResult<Vec<FileRow>> {
    if owner_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(files::Entity::find()
        .filter(files::Column::OwnerType.eq(owner_type))
        .filter(files::Column::OwnerId.is_in(owner_ids.iter().copied()))
        .order_by_asc(files::Column::CreatedAt)
        .all(c)
        .await?)
}

pub async fn delete_file<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<bool> {
    Ok(files::Entity::delete_by_id(id.to_owned()).exec(c).await?.rows_affected == 1)
}

/// Sets (or replaces) a building's region on the site plan.
pub async fn upsert_region<C: ConnectionTrait>(c: &C, row: &RegionRow) -> StoreResult<()> {
    use building_regions::Column as R;
    building_regions::Entity::insert(row.clone().into_active_model())
        .on_conflict(OnConflict::column(R::BuildingId).update_columns([R::X, R::Y, R::W, R::H]).to_owned())
        .exec_without_returning(c)
        .await?;
    Ok(())
}

pub async fn regions_of<C: ConnectionTrait>(c: &C, project_id: &ProjectId) -> StoreResult<Vec<RegionRow>> {
    Ok(building_regions::Entity::find().filter(building_regions::Column::ProjectId.eq(project_id)).all(c).await?)
}
