//! Finance settings of the company and of each project: the ageing buckets
//! (DOMAIN.md's default until someone sets others). A project's own setting
//! wins over the company's; a report over several projects uses the company's,
//! so that its columns line up.

use loupan_domain::ids::ProjectId;
use loupan_domain::sales::AgeingBuckets;
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::settings::{self as store, COMPANY, SettingRow, project_scope};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

const AGEING_BUCKETS: &str = "ageing_buckets";

/// Where the buckets in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    /// DOMAIN.md's default: nobody has set any.
    Default,
    Company,
    Project,
}

/// The ageing buckets in force for the company or a project.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AgeingSetting {
    /// None: the company's setting.
    pub project_id: Option<ProjectId>,
    /// The most days overdue of each bucket after `not_due`, increasing; the
    /// last bucket holds everything beyond the last limit.
    pub limits: Vec<u32>,
    /// The buckets' labels as reports key them: `not_due`, `1-30`, …, `>365`.
    pub labels: Vec<String>,
    pub source: SettingSource,
}

/// The buckets for a report over `project_id` (the company's when None).
pub(crate) async fn ageing_buckets_of<C: Connection>(
    conn: &C,
    project_id: Option<&ProjectId>,
) -> ServiceResult<(AgeingBuckets, SettingSource)> {
    let mut scopes = Vec::with_capacity(2);
    if let Some(p) = project_id {
        scopes.push(project_scope(p));
    }
    scopes.push(COMPANY.to_owned());
    let Some(row) = store::first_setting(conn, &scopes, AGEING_BUCKETS).await? else {
        return Ok((AgeingBuckets::default(), SettingSource::Default));
    };
    // A stored value that no longer reads is a fault to see, not a silent default.
    let buckets: AgeingBuckets = serde_json::from_str(&row.value).map_err(ServiceError::internal)?;
    let source = if row.scope == COMPANY { SettingSource::Company } else { SettingSource::Project };
    Ok((buckets, source))
}

fn view(project_id: Option<&ProjectId>, buckets: &AgeingBuckets, source: SettingSource) -> AgeingSetting {
    AgeingSetting {
        project_id: project_id.cloned(),
        limits: buckets.limits().to_vec(),
        labels: buckets.labels(),
        source,
    }
}

fn check_scope(actor: &Actor, project_id: Option<&ProjectId>) -> ServiceResult<()> {
    if let Some(p) = project_id
        && !actor.sees_project(p)
    {
        return Err(ServiceError::NotFound("project"));
    }
    Ok(())
}

pub async fn ageing_setting(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
) -> ServiceResult<AgeingSetting> {
    actor.require(Permission::ReadFinance)?;
    check_scope(actor, project_id)?;
    let (buckets, source) = ageing_buckets_of(services.store.conn(), project_id).await?;
    Ok(view(project_id, &buckets, source))
}

/// `30, 60, 90` as typed into a form, as limits (errors on the field `limits`).
pub fn parse_limits(text: &str) -> ServiceResult<Vec<u32>> {
    AgeingBuckets::parse(text).map(|b| b.limits().to_vec()).map_err(|code| Invalid::one("limits", code).into())
}

/// Sets the ageing buckets of the company (finance who sees every project)
/// or of one project; `None` for a project returns it to the company's.
pub async fn set_ageing_buckets(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
    limits: Option<Vec<u32>>,
) -> ServiceResult<AgeingSetting> {
    actor.require(Permission::AuditReceipts)?;
    check_scope(actor, project_id)?;
    if project_id.is_none() && actor.visible_projects().is_some() {
        // The company's buckets shape every project's reports.
        return Err(ServiceError::Forbidden);
    }
    let buckets = match limits {
        Some(limits) => Some(AgeingBuckets::new(limits).map_err(|code| Invalid::one("limits", code))?),
        // A project's own are dropped for the company's; the company's for DOMAIN.md's defaults.
        None => None,
    };
    let scope = project_id.map_or_else(|| COMPANY.to_owned(), project_scope);
    let tx = services.store.begin_write().await?;
    let before = store::find_setting(&tx, &scope, AGEING_BUCKETS).await?;
    match &buckets {
        Some(b) => {
            let row = SettingRow {
                scope: scope.clone(),
                key: AGEING_BUCKETS.to_owned(),
                value: serde_json::to_string(b).map_err(ServiceError::internal)?,
                updated_by: actor.audit_id().unwrap_or_default(),
                updated_at: services.clock.now(),
            };
            store::put_setting(&tx, &row).await?;
        }
        None => {
            store::delete_setting(&tx, &scope, AGEING_BUCKETS).await?;
        }
    }
    let as_value = |v: Option<&str>| v.map(serde_json::from_str::<serde_json::Value>).transpose();
    audit::record(
        &tx,
        actor,
        Change {
            action: "settings.ageing_buckets",
            record_type: "settings",
            record_id: scope.as_str(),
            before: as_value(before.as_ref().map(|r| r.value.as_str())).map_err(ServiceError::internal)?,
            after: audit::snapshot(&buckets)?,
        },
    )
    .await?;
    let (now, source) = ageing_buckets_of(&tx, project_id).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(view(project_id, &now, source))
}
