//! Files: floor plans and photos of units, the site plan of a project (鸟瞰图)
//! and where buildings sit on it, attachments of cost contracts and of
//! changes and visas. The bytes go through the platform's
//! `FileStore`; what a file is and belongs to is a row here.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{BuildingId, ProjectId};
use loupan_domain::inventory::{FileOwner, FilePurpose, UnitStatus};
use loupan_domain::{Invalid, Permission};
use loupan_store::cost as store_cost;
use loupan_store::files::{self as store, FileRow, RegionRow};
use loupan_store::inventory as store_inventory;
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::platform::files::{FileBody, store_failed};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Largest file accepted (a photo from a phone, a scanned floor plan).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct StoredFile {
    pub id: String,
    pub owner_type: FileOwner,
    pub owner_id: String,
    pub purpose: FilePurpose,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

impl StoredFile {
    /// A picture a browser shows (as a thumbnail on the owner's page).
    pub fn is_picture(&self) -> bool {
        matches!(self.content_type.as_str(), "image/png" | "image/jpeg" | "image/webp" | "image/gif")
    }

    /// Served to be shown in the browser (pictures and PDFs); anything else
    /// is offered as a download, never opened inline.
    pub fn shown_inline(&self) -> bool {
        self.is_picture() || self.content_type == "application/pdf"
    }
}

impl From<FileRow> for StoredFile {
    fn from(r: FileRow) -> Self {
        StoredFile {
            id: r.id,
            owner_type: r.owner_type,
            owner_id: r.owner_id,
            purpose: r.purpose,
            file_name: r.file_name,
            content_type: r.content_type,
            size: r.size,
            uploaded_by: r.uploaded_by,
            created_at: r.created_at,
        }
    }
}

/// A file's name without the folders a browser may send, at most 200 characters.
pub(crate) fn base_name(file_name: &str) -> String {
    file_name.trim().rsplit(['/', '\\']).next().unwrap_or_default().chars().take(200).collect()
}

/// The type a file really is, from its first bytes (what the client says is
/// not trusted); containers (zip, the old Office format) are told apart by the
/// file's extension, which only picks among types of the same container.
pub(crate) fn sniff(bytes: &[u8], file_name: &str) -> Option<&'static str> {
    let extension = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some(match extension.as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            _ => "application/zip",
        })
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(match extension.as_str() {
            "xls" => "application/vnd.ms-excel",
            "ppt" => "application/vnd.ms-powerpoint",
            _ => "application/msword",
        })
    } else if bytes.starts_with(b"AC10") {
        // AutoCAD drawings (施工图, 变更图纸): AC1015 … AC1032.
        Some("image/vnd.dwg")
    } else {
        None
    }
}

/// The project a file's owner belongs to, if the actor may see it.
async fn owner_project(
    services: &Services,
    actor: &Actor,
    owner: FileOwner,
    owner_id: &str,
) -> ServiceResult<ProjectId> {
    let conn = services.store.conn();
    let project = match owner {
        FileOwner::Unit => store_inventory::find_unit(conn, &owner_id.into()).await?.map(|u| u.project_id),
        FileOwner::Project => store_inventory::find_project(conn, &owner_id.into()).await?.map(|p| p.id),
        FileOwner::CostContract => store_cost::find_contract(conn, &owner_id.into()).await?.map(|c| c.project_id),
        FileOwner::CostVariation => store_cost::find_variation(conn, &owner_id.into()).await?.map(|v| v.project_id),
        FileOwner::ServiceCase => loupan_store::cases::find_case(conn, &owner_id.into()).await?.map(|c| c.project_id),
        FileOwner::HandoverDefect => {
            loupan_store::handovers::find_defect(conn, &owner_id.into()).await?.map(|d| d.project_id)
        }
    };
    match project {
        Some(p) if actor.sees_project(&p) => Ok(p),
        _ => Err(ServiceError::NotFound(owner.name())),
    }
}

/// Stores a file for a unit (`floor_plan`, `photo`), a project (`site_plan`,
/// which replaces the previous one), a cost contract or a change/visa
/// (`attachment`); `purpose` is a name as the user sent it.
pub async fn upload(
    services: &Services,
    actor: &Actor,
    (owner_type, owner_id, purpose): (FileOwner, &str, &str),
    file_name: &str,
    bytes: Vec<u8>,
) -> ServiceResult<StoredFile> {
    actor.require(owner_type.permissions().1)?;
    owner_project(services, actor, owner_type, owner_id).await?;
    let mut errors = Invalid::default();
    let purpose = FilePurpose::parse(purpose.trim()).filter(|p| p.fits(owner_type));
    if purpose.is_none() {
        errors.push("purpose", "unknown_purpose");
    }
    let name = base_name(file_name);
    let content_type = sniff(&bytes, &name);
    if bytes.is_empty() {
        errors.push("file", "empty_file");
    } else if bytes.len() > MAX_FILE_BYTES {
        errors.push("file", "file_too_large");
    } else if !content_type.is_some_and(|t| purpose.is_none_or(|p| p.accepts(t))) {
        errors.push("file", "unsupported_file_type");
    }
    let Some(purpose) = purpose else { return Err(errors.into()) };
    errors.into_result()?;
    let content_type = content_type.unwrap_or("application/octet-stream");
    let row = keep_bytes(
        services,
        (owner_type, owner_id, purpose),
        if name.is_empty() { "file".into() } else { name },
        content_type,
        &actor.display_name,
        bytes,
    )
    .await?;
    let tx = services.store.begin_write().await?;
    let mut replaced = Vec::new();
    if purpose == FilePurpose::SitePlan {
        for old in store::files_of(&tx, owner_type, owner_id).await?.into_iter().filter(|f| f.purpose == purpose) {
            store::delete_file(&tx, &old.id).await?;
            replaced.push(old.storage_key);
        }
    }
    let file = record_file_in(&tx, actor, row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    for key in replaced {
        // The row is gone; a file left behind by a failure here is only disk space.
        if let Err(e) = services.files.delete(&key).await {
            tracing::warn!(%key, error = %e, "could not remove a replaced file");
        }
    }
    Ok(file)
}

/// Stores a checked file's bytes and returns its row, for the caller to
/// write (`record_file_in`) once the bytes are kept.
pub(crate) async fn keep_bytes(
    services: &Services,
    (owner_type, owner_id, purpose): (FileOwner, &str, FilePurpose),
    file_name: String,
    content_type: &str,
    uploaded_by: &str,
    bytes: Vec<u8>,
) -> ServiceResult<FileRow> {
    let now = services.clock.now();
    let id = loupan_store::new_id();
    let key = format!("{}/{id}", now.format("%Y"));
    let size = i64::try_from(bytes.len()).map_err(ServiceError::internal)?;
    services.files.put(&key, Box::pin(std::io::Cursor::new(bytes))).await.map_err(|e| store_failed(&key, e))?;
    Ok(FileRow {
        id,
        owner_type,
        owner_id: owner_id.to_owned(),
        purpose,
        file_name,
        content_type: content_type.to_owned(),
        size,
        storage_key: key,
        uploaded_by: uploaded_by.to_owned(),
        created_at: now,
    })
}

/// Writes a stored file's row and its audit entry in the caller's transaction.
pub(crate) async fn record_file_in<C: loupan_store::Connection>(
    conn: &C,
    actor: &Actor,
    row: FileRow,
) -> ServiceResult<StoredFile> {
    store::insert_file(conn, &row).await?;
    let file = StoredFile::from(row);
    audit::record(
        conn,
        actor,
        Change {
            action: "file.upload",
            record_type: file.owner_type.name(),
            record_id: &file.owner_id,
            before: None,
            after: crate::platform::audit::snapshot(&file)?,
        },
    )
    .await?;
    Ok(file)
}

pub async fn files_of(
    services: &Services,
    actor: &Actor,
    owner_type: FileOwner,
    owner_id: &str,
) -> ServiceResult<Vec<StoredFile>> {
    actor.require(owner_type.permissions().0)?;
    owner_project(services, actor, owner_type, owner_id).await?;
    Ok(store::files_of(services.store.conn(), owner_type, owner_id).await?.into_iter().map(StoredFile::from).collect())
}

/// A file's row, for a user who holds what `need` asks of its owner's kind
/// (reading or managing) and sees the owner.
async fn visible_file(
    services: &Services,
    actor: &Actor,
    id: &str,
    need: fn((Permission, Permission)) -> Permission,
) -> ServiceResult<FileRow> {
    let row = store::find_file(services.store.conn(), id).await?.ok_or(ServiceError::NotFound("file"))?;
    actor.require(need(row.owner_type.permissions()))?;
    owner_project(services, actor, row.owner_type, &row.owner_id)
        .await
        .map_err(|e| e.when_absent(|| ServiceError::NotFound("file")))?;
    Ok(row)
}

/// A file and its bytes (streamed from the store), for a user who may see its owner.
pub async fn download(services: &Services, actor: &Actor, id: &str) -> ServiceResult<(StoredFile, FileBody)> {
    let row = visible_file(services, actor, id, |(read, _)| read).await?;
    let body = services.files.get(&row.storage_key).await.map_err(|e| store_failed(&row.storage_key, e))?;
    Ok((row.into(), body))
}

/// Removes a file (its row at once, its bytes after) and says what it was.
pub async fn delete(services: &Services, actor: &Actor, id: &str) -> ServiceResult<StoredFile> {
    let file = StoredFile::from(visible_file(services, actor, id, |(_, manage)| manage).await?);
    let tx = services.store.begin_write().await?;
    let row = store::find_file(&tx, id).await?.ok_or(ServiceError::NotFound("file"))?;
    store::delete_file(&tx, id).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "file.delete",
            record_type: file.owner_type.name(),
            record_id: file.owner_id.as_str(),
            before: crate::platform::audit::snapshot(&file)?,
            after: None,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    if let Err(e) = services.files.delete(&row.storage_key).await {
        tracing::warn!(key = %row.storage_key, error = %e, "could not remove a deleted file");
    }
    Ok(file)
}

/// A building's rectangle on the site plan, in thousandths of the image.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Region {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

pub async fn set_region(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    r: Region,
) -> ServiceResult<Region> {
    actor.require(Permission::ManageInventory)?;
    let building = crate::inventory::get_building(services, actor, building_id).await?;
    let mut errors = Invalid::default();
    if !(0..1000).contains(&r.x) {
        errors.push("x", "out_of_range");
    }
    if !(0..1000).contains(&r.y) {
        errors.push("y", "out_of_range");
    }
    // A size is 1-1000; one that runs off the edge from where it starts is another mistake.
    if !(1..=1000).contains(&r.w) {
        errors.push("w", "out_of_range");
    } else if r.x + r.w > 1000 {
        errors.push("w", "outside_the_site_plan");
    }
    if !(1..=1000).contains(&r.h) {
        errors.push("h", "out_of_range");
    } else if r.y + r.h > 1000 {
        errors.push("h", "outside_the_site_plan");
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    store::upsert_region(
        &tx,
        &RegionRow {
            building_id: building.id.clone(),
            project_id: building.project_id.clone(),
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
        },
    )
    .await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "site_plan.region",
            record_type: "building",
            record_id: building.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&r)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(r)
}

/// A building on the bird's-eye view: where it is, and what is left to sell.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedBuilding {
    pub building: crate::inventory::Building,
    pub region: Option<Region>,
    pub units: usize,
    pub available: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Birdseye {
    pub site_plan: Option<StoredFile>,
    pub buildings: Vec<PlacedBuilding>,
}

/// 鸟瞰图: the project's site plan and each building's region on it.
pub async fn birdseye(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Birdseye> {
    crate::inventory::get_project(services, actor, project_id).await?;
    actor.require(Permission::ReadInventory)?;
    let conn = services.store.conn();
    let site_plan = store::files_of(conn, FileOwner::Project, project_id.as_str())
        .await?
        .into_iter()
        .rfind(|f| f.purpose == FilePurpose::SitePlan)
        .map(StoredFile::from);
    let regions = store::regions_of(conn, project_id).await?;
    let mut buildings = Vec::new();
    for b in crate::inventory::list_buildings(services, actor, project_id).await? {
        let units = store_inventory::units_of_building(conn, &b.id).await?;
        let available = units.iter().filter(|u| u.status == UnitStatus::Available).count();
        let region = regions.iter().find(|r| r.building_id == b.id).map(|r| Region { x: r.x, y: r.y, w: r.w, h: r.h });
        buildings.push(PlacedBuilding { units: units.len(), available, region, building: b });
    }
    Ok(Birdseye { site_plan, buildings })
}
