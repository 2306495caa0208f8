//! The owners' report form (业主报事, C4): a page per project, opened from its
//! link or QR code without signing in. What an owner sends becomes a case
//! with the channel `web_form`, linked by the phone given like a call, and
//! the owner is told only its number. Each address may send `PER_ADDRESS`
//! an hour and each project takes `PER_PROJECT` an hour, counted across
//! instances (`platform::rate_limit`); forms refused count nothing.

use chrono::Duration;
use loupan_domain::Invalid;
use loupan_domain::cases::CaseKind;
use loupan_domain::ids::ProjectId;
use loupan_domain::inventory::{FileOwner, FilePurpose};

use super::NewCase;
use crate::platform::rate_limit::{self, Limit};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Reports one address may send a project within the hour.
pub const PER_ADDRESS: Limit = Limit { max: 5, window: Duration::hours(1) };
/// Reports a project takes within the hour, whoever sends them.
pub const PER_PROJECT: Limit = Limit { max: 200, window: Duration::hours(1) };

/// The project a form is for: what the owner sees of it.
#[derive(Debug, Clone)]
pub struct FormProject {
    pub id: ProjectId,
    pub name: String,
}

/// The project of a form link; 404 when there is no such project.
pub async fn form_project(services: &Services, project_id: &ProjectId) -> ServiceResult<FormProject> {
    let project = loupan_store::inventory::find_project(services.store.conn(), project_id)
        .await?
        .ok_or(ServiceError::NotFound("project"))?;
    Ok(FormProject { id: project.id, name: project.name })
}

/// Photos an owner may send with a report (of the damage, the leak).
pub const MAX_PHOTOS: usize = 3;

/// A photo as the browser sent it.
#[derive(Debug, Clone, Default)]
pub struct Photo {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What an owner typed.
#[derive(Debug, Clone, Default)]
pub struct OwnerReport {
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub kind: Option<String>,
    pub description: Option<String>,
    /// At most `MAX_PHOTOS` pictures; empty ones (a file input left blank) are ignored.
    pub photos: Vec<Photo>,
}

/// Registers the owner's report as a case of the project and returns its
/// number. `address`: where it came from, for the limit per address.
pub async fn report(
    services: &Services,
    project_id: &ProjectId,
    address: Option<&str>,
    form: OwnerReport,
) -> ServiceResult<String> {
    let project = form_project(services, project_id).await?;
    // A name and a phone to call back are needed here: nobody at the desk heard the owner.
    let mut errors = Invalid::default();
    if super::given(&form.caller_name).is_none() {
        errors.push("caller_name", "required");
    }
    if super::given(&form.caller_phone).is_none() {
        errors.push("caller_phone", "required");
    }
    if super::given(&form.kind).and_then(CaseKind::parse).is_none() {
        errors.push("kind", if super::given(&form.kind).is_none() { "required" } else { "unknown_value" });
    }
    let photos: Vec<Photo> = form.photos.into_iter().filter(|p| !p.bytes.is_empty()).collect();
    let mut checked = Vec::with_capacity(photos.len());
    if photos.len() > MAX_PHOTOS {
        errors.push("photos", "too_many_photos");
    }
    for photo in photos.into_iter().take(MAX_PHOTOS) {
        let content_type = crate::inventory::files::sniff(&photo.bytes, &photo.file_name);
        if photo.bytes.len() > crate::inventory::files::MAX_FILE_BYTES {
            errors.push("photos", "file_too_large");
        } else if let Some(t) = content_type.filter(|t| t.starts_with("image/")) {
            checked.push((photo, t));
        } else {
            errors.push("photos", "photo_not_a_picture");
        }
    }
    errors.into_result()?;
    let case = NewCase {
        project_id: Some(project.id.to_string()),
        kind: form.kind,
        channel: Some("web_form".into()),
        caller_name: form.caller_name,
        caller_phone: form.caller_phone,
        description: form.description,
        ..NewCase::default()
    };
    let mut desk = Actor::system("owner_form");
    desk.display_name = "业主报事表单".into();
    // Counted in the registering transaction: a refused form (a typing
    // mistake, or one too many) counts nothing.
    let tx = services.store.begin_write().await?;
    let done = super::register_in(services, &tx, &desk, case).await?;
    rate_limit::admit(&tx, &format!("owner_form:{project_id}"), PER_PROJECT).await?;
    if let Some(address) = address {
        rate_limit::admit(&tx, &format!("owner_form:{project_id}:{address}"), PER_ADDRESS).await?;
    }
    // The photos' bytes only once the report is admitted: a refused flood stores nothing.
    for (photo, content_type) in checked {
        let name = crate::inventory::files::base_name(&photo.file_name);
        let row = crate::inventory::files::keep_bytes(
            services,
            (FileOwner::ServiceCase, done.case.id.as_str(), FilePurpose::Attachment),
            if name.is_empty() { "photo".into() } else { name },
            content_type,
            &desk.display_name,
            photo.bytes,
        )
        .await?;
        crate::inventory::files::record_file_in(&tx, &desk, row).await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(done.case.number)
}
