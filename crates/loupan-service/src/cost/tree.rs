//! The cost item tree (成本科目): a group template copied into each project
//! and adjusted there, and the project's target cost (目标成本) in versions by
//! design stage, the current one posted to the ledger.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use loupan_domain::cost::{
    self as rules, AreaBasis, Bucket, ControlMode, DocumentType, Figures, TargetStage, TargetStatus,
};
use loupan_domain::ids::{CostItemId, CostPostingId, ProjectId, TargetVersionId};
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::cost::{self as store, CostItemRow, PostingRow, TargetRow, TargetVersionRow};
use serde::{Deserialize, Serialize};

use super::{by, money, visible_project};
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostItem {
    pub id: CostItemId,
    /// None: an item of the group template.
    pub project_id: Option<ProjectId>,
    pub parent_id: Option<CostItemId>,
    pub code: String,
    pub name: String,
    /// 1 at the top of the tree.
    pub level: usize,
    pub unit_of_measure: Option<String>,
    pub department: Option<String>,
    pub control_mode: ControlMode,
    /// Nothing below it: documents post to leaves only.
    pub leaf: bool,
}

/// The items of one tree, each with its level and whether it is a leaf.
pub(crate) fn tree_of(rows: Vec<CostItemRow>) -> Vec<CostItem> {
    let parents: BTreeSet<CostItemId> = rows.iter().filter_map(|r| r.parent_id.clone()).collect();
    let by_id: BTreeMap<CostItemId, Option<CostItemId>> =
        rows.iter().map(|r| (r.id.clone(), r.parent_id.clone())).collect();
    rows.into_iter()
        .map(|r| {
            let mut level = 1;
            let mut at = r.parent_id.clone();
            while let Some(p) = at {
                level += 1;
                if level > by_id.len() + 1 {
                    break;
                }
                at = by_id.get(&p).cloned().flatten();
            }
            CostItem {
                leaf: !parents.contains(&r.id),
                id: r.id,
                project_id: r.project_id,
                parent_id: r.parent_id,
                code: r.code,
                name: r.name,
                level,
                unit_of_measure: r.unit_of_measure,
                department: r.department,
                control_mode: r.control_mode,
            }
        })
        .collect()
}

/// A cost item as typed: codes are dotted by level (`02.01`), the parent's code first.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewCostItem {
    pub parent_id: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, max_length = 40, pattern = "^[A-Za-z0-9]+(\\.[A-Za-z0-9]+)*$")
    )]
    pub code: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 100)
    )]
    pub name: Option<String>,
    pub unit_of_measure: Option<String>,
    pub department: Option<String>,
    /// `strong` or `weak` (the parent's, or weak at the top, when absent).
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<loupan_domain::cost::ControlMode>))]
    pub control_mode: Option<String>,
}

/// What may change of an item: not its place in the tree.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostItemEdit {
    #[cfg_attr(feature = "utoipa", schema(min_length = 1, pattern = "\\S", max_length = 100))]
    pub name: Option<String>,
    pub unit_of_measure: Option<String>,
    pub department: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<loupan_domain::cost::ControlMode>))]
    pub control_mode: Option<String>,
}

fn control_mode(errors: &mut Invalid, text: Option<&str>) -> Option<ControlMode> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => ControlMode::parse(t).or_else(|| {
            errors.push("control_mode", "unknown_control_mode");
            None
        }),
    }
}

/// The group template's items (ReadCost).
pub async fn template(services: &Services, actor: &Actor) -> ServiceResult<Vec<CostItem>> {
    actor.require(Permission::ReadCost)?;
    Ok(tree_of(store::items(services.store.conn(), None).await?))
}

/// A project's cost item tree.
pub async fn items(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<CostItem>> {
    actor.require(Permission::ReadCost)?;
    let project = visible_project(services.store.conn(), actor, project).await?;
    Ok(tree_of(store::items(services.store.conn(), Some(&project)).await?))
}

/// Adds an item to a project's tree, or to the group template when `project` is None.
pub async fn add_item(
    services: &Services,
    actor: &Actor,
    project: Option<&ProjectId>,
    form: NewCostItem,
) -> ServiceResult<CostItem> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = match project {
        Some(p) => Some(visible_project(&tx, actor, p).await?),
        None => None,
    };
    let mut errors = Invalid::default();
    let code = required_text(&mut errors, "code", form.code.as_deref(), 40);
    if !code.is_empty()
        && !code.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        errors.push("code", "invalid_code");
    }
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let unit_of_measure = optional_text(&mut errors, "unit_of_measure", form.unit_of_measure.as_deref(), 20);
    let department = optional_text(&mut errors, "department", form.department.as_deref(), 60);
    let mode = control_mode(&mut errors, form.control_mode.as_deref());
    let existing = store::items(&tx, project.as_ref()).await?;
    let parent_given = form.parent_id.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let parent = match parent_given {
        None => None,
        Some(p) => match existing.iter().find(|i| i.id.as_str() == p) {
            None => {
                errors.push("parent_id", "unknown_cost_item");
                None
            }
            Some(parent) => Some(parent.clone()),
        },
    };
    if let Some(parent) = &parent {
        if !code.starts_with(&format!("{}.", parent.code)) {
            errors.push("code", "code_outside_parent");
        }
        // What was posted to a leaf would silently move under a new child.
        if project.is_some() && store::has_postings(&tx, &parent.id).await? {
            errors.push("parent_id", "item_has_postings");
        }
    } else if code.contains('.') && parent_given.is_none() {
        errors.push("parent_id", "required");
    }
    if existing.iter().any(|i| i.code == code) {
        errors.push("code", "code_taken");
    }
    errors.into_result()?;
    let row = CostItemRow {
        id: loupan_store::new_id().into(),
        project_id: project,
        control_mode: mode.or(parent.as_ref().map(|p| p.control_mode)).unwrap_or(ControlMode::Weak),
        parent_id: parent.map(|p| p.id),
        code,
        name,
        unit_of_measure,
        department,
        created_at: services.clock.now(),
    };
    store::insert_items(&tx, std::slice::from_ref(&row)).await?;
    let item = tree_of(vec![row]).remove(0);
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_item.create",
            record_type: "cost_item",
            record_id: item.id.as_str(),
            before: None,
            after: audit::snapshot(&item)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(item)
}

/// Renames an item, or changes its unit, department or control mode.
pub async fn edit_item(services: &Services, actor: &Actor, id: &str, form: CostItemEdit) -> ServiceResult<CostItem> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let row = store::find_item(&tx, &CostItemId::from(id)).await?.ok_or(ServiceError::NotFound("cost_item"))?;
    if let Some(p) = &row.project_id {
        visible_project(&tx, actor, p).await.map_err(|_| ServiceError::NotFound("cost_item"))?;
    }
    let mut errors = Invalid::default();
    let mut after = row.clone();
    if form.name.is_some() {
        after.name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    }
    if form.unit_of_measure.is_some() {
        after.unit_of_measure = optional_text(&mut errors, "unit_of_measure", form.unit_of_measure.as_deref(), 20);
    }
    if form.department.is_some() {
        after.department = optional_text(&mut errors, "department", form.department.as_deref(), 60);
    }
    if let Some(mode) = control_mode(&mut errors, form.control_mode.as_deref()) {
        after.control_mode = mode;
    }
    errors.into_result()?;
    store::update_item(&tx, &after).await?;
    let siblings = store::items(&tx, row.project_id.as_ref()).await?;
    let item = tree_of(siblings).into_iter().find(|i| i.id == row.id).ok_or(ServiceError::NotFound("cost_item"))?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_item.update",
            record_type: "cost_item",
            record_id: id,
            before: audit::snapshot(&tree_of(vec![row]).remove(0))?,
            after: audit::snapshot(&item)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(item)
}

/// Copies the group template into a project that has no tree yet.
pub async fn copy_template(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<CostItem>> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    if !store::items(&tx, Some(&project)).await?.is_empty() {
        return Err(ServiceError::Conflict("cost_tree_exists"));
    }
    let template = store::items(&tx, None).await?;
    let ids: BTreeMap<CostItemId, CostItemId> =
        template.iter().map(|t| (t.id.clone(), CostItemId::from(loupan_store::new_id()))).collect();
    let now = services.clock.now();
    let rows: Vec<CostItemRow> = template
        .into_iter()
        .map(|t| CostItemRow {
            id: ids[&t.id].clone(),
            project_id: Some(project.clone()),
            parent_id: t.parent_id.and_then(|p| ids.get(&p).cloned()),
            created_at: now,
            ..t
        })
        .collect();
    store::insert_items(&tx, &rows).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_item.copy_template",
            record_type: "project",
            record_id: project.as_str(),
            before: None,
            after: Some(serde_json::json!({ "items": rows.len() })),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(tree_of(rows))
}

/// The leaf items of a project by id, for documents that post to them.
pub(crate) async fn leaves<C: Connection>(
    conn: &C,
    project: &ProjectId,
) -> ServiceResult<BTreeMap<CostItemId, CostItem>> {
    Ok(tree_of(store::items(conn, Some(project)).await?)
        .into_iter()
        .filter(|i| i.leaf)
        .map(|i| (i.id.clone(), i))
        .collect())
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TargetVersion {
    pub id: TargetVersionId,
    pub project_id: ProjectId,
    pub number: i32,
    pub stage: TargetStage,
    pub status: TargetStatus,
    pub note: Option<String>,
    pub total: Money,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub adopted_by: Option<String>,
    pub adopted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TargetLine {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TargetVersionDetail {
    pub version: TargetVersion,
    pub lines: Vec<TargetLine>,
}

fn version_of(row: TargetVersionRow, lines: &[TargetRow]) -> TargetVersion {
    TargetVersion {
        total: lines.iter().map(|l| l.amount).sum(),
        id: row.id,
        project_id: row.project_id,
        number: row.number,
        stage: row.stage,
        status: row.status,
        note: row.note,
        created_by: row.created_by,
        created_at: row.created_at,
        adopted_by: row.adopted_by,
        adopted_at: row.adopted_at,
    }
}

/// A target version as typed: an amount per leaf item (absent items: zero).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewTargetVersion {
    /// `scheme`, `preliminary`, `construction_drawings` or `final`.
    #[cfg_attr(feature = "utoipa", schema(value_type = loupan_domain::cost::TargetStage, required = true, nullable = false))]
    pub stage: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub lines: Vec<NewTargetLine>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewTargetLine {
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub cost_item_id: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::NonNegative))]
    pub amount: Option<String>,
}

/// Saves a draft target version; it counts once adopted.
pub async fn new_version(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewTargetVersion,
) -> ServiceResult<TargetVersionDetail> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    let mut errors = Invalid::default();
    let stage = match form.stage.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push("stage", "required");
            None
        }
        Some(s) => TargetStage::parse(s).or_else(|| {
            errors.push("stage", "unknown_stage");
            None
        }),
    };
    let note = optional_text(&mut errors, "note", form.note.as_deref(), 500);
    let leaves = leaves(&tx, &project).await?;
    let version_id = TargetVersionId::from(loupan_store::new_id());
    let mut lines: Vec<TargetRow> = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        let item = line.cost_item_id.as_deref().map(str::trim).unwrap_or_default();
        let amount = money(&mut errors, &field("amount"), line.amount.as_deref());
        if amount.is_negative() {
            errors.push(field("amount"), "must_not_be_negative");
        }
        match leaves.get(&CostItemId::from(item)) {
            None => errors.push(field("cost_item_id"), "unknown_cost_item"),
            Some(_) if lines.iter().any(|l| l.cost_item_id.as_str() == item) => {
                errors.push(field("cost_item_id"), "listed_twice")
            }
            Some(leaf) => lines.push(TargetRow {
                id: loupan_store::new_id(),
                version_id: version_id.clone(),
                cost_item_id: leaf.id.clone(),
                amount,
            }),
        }
    }
    errors.into_result()?;
    let number = store::versions(&tx, &project).await?.iter().map(|v| v.number).max().unwrap_or(0) + 1;
    let row = TargetVersionRow {
        id: version_id,
        project_id: project,
        number,
        stage: stage.unwrap_or(TargetStage::Scheme),
        status: TargetStatus::Draft,
        note,
        created_by: by(actor),
        created_at: services.clock.now(),
        adopted_by: None,
        adopted_at: None,
    };
    store::insert_version(&tx, &row).await?;
    store::insert_targets(&tx, &lines).await?;
    let detail = detail_of(&tx, row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_target.create",
            record_type: "cost_target_version",
            record_id: detail.version.id.as_str(),
            before: None,
            after: audit::snapshot(&detail)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(detail)
}

async fn detail_of<C: Connection>(conn: &C, row: TargetVersionRow) -> ServiceResult<TargetVersionDetail> {
    let targets = store::targets(conn, &row.id).await?;
    let items: BTreeMap<CostItemId, CostItemRow> =
        store::items(conn, Some(&row.project_id)).await?.into_iter().map(|i| (i.id.clone(), i)).collect();
    let mut lines: Vec<TargetLine> = targets
        .iter()
        .filter_map(|t| {
            items.get(&t.cost_item_id).map(|i| TargetLine {
                cost_item_id: i.id.clone(),
                code: i.code.clone(),
                name: i.name.clone(),
                amount: t.amount,
            })
        })
        .collect();
    lines.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(TargetVersionDetail { version: version_of(row, &targets), lines })
}

async fn visible_version<C: Connection>(conn: &C, actor: &Actor, id: &str) -> ServiceResult<TargetVersionRow> {
    match store::find_version(conn, &TargetVersionId::from(id)).await? {
        Some(v) if actor.sees_project(&v.project_id) => Ok(v),
        _ => Err(ServiceError::NotFound("target_version")),
    }
}

pub async fn versions(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<TargetVersion>> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    let mut out = Vec::new();
    for row in store::versions(conn, &project).await? {
        let targets = store::targets(conn, &row.id).await?;
        out.push(version_of(row, &targets));
    }
    Ok(out)
}

pub async fn version(services: &Services, actor: &Actor, id: &str) -> ServiceResult<TargetVersionDetail> {
    actor.require(Permission::ReadCost)?;
    let row = visible_version(services.store.conn(), actor, id).await?;
    detail_of(services.store.conn(), row).await
}

/// Makes a draft version the current target: the one it replaces is
/// superseded, and the ledger receives each item's difference, dated today.
/// Adopting a target version: the day it takes effect (today when absent).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Adoption {
    /// `YYYY-MM-DD`: not after today, nor before the project's last adoption
    /// (a version approved last month and recorded today).
    #[cfg_attr(feature = "utoipa", schema(format = Date))]
    pub adopted_on: Option<String>,
}

pub async fn adopt_version(
    services: &Services,
    actor: &Actor,
    id: &str,
    form: Adoption,
) -> ServiceResult<TargetVersionDetail> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let row = visible_version(&tx, actor, id).await?;
    if row.status != TargetStatus::Draft {
        return Err(ServiceError::Conflict("target_not_draft"));
    }
    let mut errors = Invalid::default();
    let today = super::document_date(&mut errors, "adopted_on", form.adopted_on.as_deref(), services.clock.today());
    if store::latest_posting_on(&tx, &row.project_id, Bucket::Target).await?.is_some_and(|last| today < last) {
        errors.push("adopted_on", "before_last_adoption");
    }
    errors.into_result()?;
    let now = services.clock.now();
    let mut before: BTreeMap<CostItemId, Money> = BTreeMap::new();
    for v in store::versions(&tx, &row.project_id).await? {
        if v.status == TargetStatus::Current {
            for t in store::targets(&tx, &v.id).await? {
                before.insert(t.cost_item_id, t.amount);
            }
            store::set_version_status(&tx, &v.id, TargetStatus::Current, TargetStatus::Superseded, None).await?;
        }
    }
    if !store::set_version_status(&tx, &row.id, TargetStatus::Draft, TargetStatus::Current, Some((&by(actor), now)))
        .await?
    {
        return Err(ServiceError::Conflict("target_not_draft"));
    }
    let mut after: BTreeMap<CostItemId, Money> = BTreeMap::new();
    for t in store::targets(&tx, &row.id).await? {
        after.insert(t.cost_item_id, t.amount);
    }
    let items: BTreeSet<&CostItemId> = before.keys().chain(after.keys()).collect();
    let postings: Vec<PostingRow> = items
        .into_iter()
        .filter_map(|item| {
            let delta = after.get(item).copied().unwrap_or_default() - before.get(item).copied().unwrap_or_default();
            (!delta.is_zero()).then(|| PostingRow {
                id: CostPostingId::from(loupan_store::new_id()),
                project_id: row.project_id.clone(),
                cost_item_id: item.clone(),
                bucket: Bucket::Target,
                amount: delta,
                posted_on: today,
                document_type: DocumentType::TargetVersion,
                document_id: row.id.as_str().to_owned(),
                note: None,
                posted_by: by(actor),
                created_at: now,
            })
        })
        .collect();
    store::insert_postings(&tx, &postings).await?;
    let adopted = store::find_version(&tx, &row.id).await?.ok_or(ServiceError::NotFound("target_version"))?;
    let detail = detail_of(&tx, adopted).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_target.adopt",
            record_type: "cost_target_version",
            record_id: id,
            before: None,
            after: audit::snapshot(&detail.version)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(detail)
}

/// One item in a comparison of two versions.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VersionDifference {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub from: Money,
    pub to: Money,
    pub difference: Money,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VersionComparison {
    pub from: TargetVersion,
    pub to: TargetVersion,
    pub items: Vec<VersionDifference>,
}

/// Two versions of one project side by side, item by item.
pub async fn compare(services: &Services, actor: &Actor, from: &str, to: &str) -> ServiceResult<VersionComparison> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let (a, b) = (visible_version(conn, actor, from).await?, visible_version(conn, actor, to).await?);
    if a.project_id != b.project_id {
        return Err(Invalid::one("to", "other_project").into());
    }
    let (a, b) = (detail_of(conn, a).await?, detail_of(conn, b).await?);
    let mut rows: BTreeMap<String, VersionDifference> = BTreeMap::new();
    for (side, detail) in [(0, &a), (1, &b)] {
        for l in &detail.lines {
            let row = rows.entry(l.code.clone()).or_insert_with(|| VersionDifference {
                cost_item_id: l.cost_item_id.clone(),
                code: l.code.clone(),
                name: l.name.clone(),
                from: Money::ZERO,
                to: Money::ZERO,
                difference: Money::ZERO,
            });
            if side == 0 {
                row.from = l.amount;
            } else {
                row.to = l.amount;
            }
        }
    }
    let items = rows.into_values().map(|r| VersionDifference { difference: r.to - r.from, ..r }).collect();
    Ok(VersionComparison { from: a.version, to: b.version, items })
}

/// Finished projects to take per-m² figures from.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TrialRequest {
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(required = true, min_items = 1))]
    pub source_project_ids: Vec<ProjectId>,
    /// What the per-m² figures are of: `saleable_area` (when absent) or `gross_floor_area`.
    #[serde(default)]
    pub basis: Option<AreaBasis>,
}

/// A project's area on a basis (None: gross floor area not entered for every building).
async fn area_on<C: loupan_store::Connection>(
    c: &C,
    project: &ProjectId,
    basis: AreaBasis,
) -> ServiceResult<Option<loupan_domain::Area>> {
    Ok(match basis {
        AreaBasis::SaleableArea => Some(store::saleable_area(c, project).await?),
        AreaBasis::GrossFloorArea => {
            store::gross_floor_areas(c, std::slice::from_ref(project)).await?.pop().and_then(|(_, a)| a)
        }
    })
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TrialSource {
    pub project_id: ProjectId,
    pub name: String,
    /// Its area on the calculation's basis, m² (zero when not known: it gives no figures).
    pub area: loupan_domain::Area,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TrialLine {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    /// The mean of the sources' dynamic cost per m² of this item.
    pub per_m2: Money,
    /// `per_m2` × this project's area on the basis.
    pub amount: Money,
}

/// 测算: a target proposed from finished projects, to edit and save as a version.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TrialCalculation {
    pub project_id: ProjectId,
    pub basis: AreaBasis,
    /// This project's area on the basis, m².
    pub area: loupan_domain::Area,
    pub sources: Vec<TrialSource>,
    /// Leaf items of this project that a source has under the same code.
    pub lines: Vec<TrialLine>,
}

/// Proposes a target per leaf item from the per-m² dynamic cost of finished
/// projects (matched by item code), scaled to this project's saleable area or
/// gross floor area.
/// Nothing is saved: the proposal is edited and saved as a target version.
pub async fn trial_calculation(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: TrialRequest,
) -> ServiceResult<TrialCalculation> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    let basis = form.basis.unwrap_or(AreaBasis::SaleableArea);
    let area = area_on(conn, &project, basis).await?.unwrap_or_default();
    let mut errors = Invalid::default();
    if !area.is_positive() {
        let code = match basis {
            AreaBasis::SaleableArea => "no_saleable_area",
            AreaBasis::GrossFloorArea => "no_gross_floor_area",
        };
        errors.push("project_id", code);
    }
    if form.source_project_ids.is_empty() {
        errors.push("source_project_ids", "required");
    }
    let today = services.clock.today();
    let mut sources = Vec::new();
    // Per source: (its area, dynamic cost by item code).
    let mut figures: Vec<(loupan_domain::Area, BTreeMap<String, Money>)> = Vec::new();
    for id in &form.source_project_ids {
        let source = match visible_project(conn, actor, id).await {
            Ok(p) if p != project => p,
            Ok(_) | Err(ServiceError::NotFound(_)) => {
                errors.push("source_project_ids", "unknown_project");
                continue;
            }
            Err(e) => return Err(e),
        };
        let codes: BTreeMap<CostItemId, String> =
            store::items(conn, Some(&source)).await?.into_iter().map(|i| (i.id, i.code)).collect();
        let mut own: BTreeMap<CostItemId, Figures> = BTreeMap::new();
        for (item, bucket, amount) in store::sums(conn, &source, today).await? {
            own.entry(item).or_default().post(bucket, amount);
        }
        let by_code = own.into_iter().filter_map(|(id, f)| codes.get(&id).map(|c| (c.clone(), f.dynamic()))).collect();
        let source_area = area_on(conn, &source, basis).await?.unwrap_or_default();
        let name = loupan_store::inventory::find_project(conn, &source).await?.map(|p| p.name).unwrap_or_default();
        sources.push(TrialSource { project_id: source, name, area: source_area });
        figures.push((source_area, by_code));
    }
    errors.into_result()?;
    let mut lines = Vec::new();
    for item in tree_of(store::items(conn, Some(&project)).await?).into_iter().filter(|i| i.leaf) {
        let known: Vec<(Money, loupan_domain::Area)> =
            figures.iter().filter_map(|(a, by_code)| by_code.get(&item.code).map(|m| (*m, *a))).collect();
        if let Some((per_m2, amount)) = rules::trial_amount(&known, area) {
            lines.push(TrialLine { cost_item_id: item.id, code: item.code, name: item.name, per_m2, amount });
        }
    }
    Ok(TrialCalculation { project_id: project, basis, area, sources, lines })
}
