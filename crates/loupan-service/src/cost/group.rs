//! The cost of many projects at once: the group's roll-up (every project the
//! reader sees, per project and per first-level item) and responsibility
//! cost (责任成本, PM5): each department's items with their target. Today's
//! figures come from the balances kept with every posting, so the roll-up
//! reads a few rows per item whatever the size of the ledgers; a past date's
//! come from the ledger itself.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loupan_domain::cost::{self as rules, Figures};
use loupan_domain::ids::{CostItemId, ProjectId};
use loupan_domain::{Area, Money, Permission};
use loupan_store::Connection;
use loupan_store::cost as store;
use serde::Serialize;

use super::ledger::CostColumns;
use super::tree::{CostItem, tree_of};
use crate::{Actor, ServiceResult, Services};

/// One project's tree with each item's figures, parents rolled up.
pub(crate) struct ProjectFigures {
    pub items: Vec<CostItem>,
    pub rolled: BTreeMap<CostItemId, Figures>,
}

impl ProjectFigures {
    fn of(&self, item: &CostItemId) -> Figures {
        self.rolled.get(item).copied().unwrap_or_default()
    }

    /// The first-level items summed.
    fn total(&self) -> Figures {
        let mut total = Figures::default();
        for item in self.items.iter().filter(|i| i.parent_id.is_none()) {
            total.add(&self.of(&item.id));
        }
        total
    }

    pub fn leaves(&self) -> impl Iterator<Item = (&CostItem, Figures)> {
        self.items.iter().filter(|i| i.leaf).map(|i| (i, self.of(&i.id)))
    }
}

/// The figures of some projects at a date, in three statements whatever
/// their number: their trees, and their balances (today) or ledgers summed
/// (a past date). Projects without a cost tree are left out.
pub(crate) async fn figures_of_projects<C: Connection>(
    conn: &C,
    projects: &[ProjectId],
    as_of: NaiveDate,
    today: NaiveDate,
) -> ServiceResult<BTreeMap<ProjectId, ProjectFigures>> {
    if projects.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut rows_by_project: BTreeMap<ProjectId, Vec<store::CostItemRow>> = BTreeMap::new();
    for row in store::items_of_projects(conn, projects).await? {
        if let Some(project) = row.project_id.clone() {
            rows_by_project.entry(project).or_default().push(row);
        }
    }
    // No posting is ever dated after today, so today's sums are the balances.
    let sums = if as_of >= today {
        store::balances_of_projects(conn, projects).await?
    } else {
        store::sums_of_projects(conn, projects, as_of).await?
    };
    let mut own: BTreeMap<ProjectId, BTreeMap<CostItemId, Figures>> = BTreeMap::new();
    for (project, item, bucket, amount) in sums {
        own.entry(project).or_default().entry(item).or_default().post(bucket, amount);
    }
    Ok(rows_by_project
        .into_iter()
        .map(|(project, rows)| {
            let items = tree_of(rows);
            let parents: BTreeMap<CostItemId, Option<CostItemId>> =
                items.iter().map(|i| (i.id.clone(), i.parent_id.clone())).collect();
            let rolled = rules::roll_up(&parents, own.get(&project).unwrap_or(&BTreeMap::new()));
            (project, ProjectFigures { items, rolled })
        })
        .collect())
}

/// One project's line of the group's dynamic cost.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProjectCost {
    pub project_id: ProjectId,
    pub name: String,
    pub city: String,
    pub saleable_area: Area,
    /// The gross floor area of its buildings; null while a building has none.
    pub gross_floor_area: Option<Area>,
    #[serde(flatten)]
    pub columns: CostColumns,
    pub dynamic_per_m2: Option<Money>,
    pub dynamic_per_m2_gfa: Option<Money>,
    pub over_target: bool,
    /// Leaf items whose dynamic cost is over their target.
    pub items_over_target: u64,
}

/// A first-level item (matched by code across projects: their trees come
/// from the group template) summed over the projects.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct GroupItem {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub columns: CostColumns,
    pub over_target: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct GroupDynamicCost {
    pub as_of: NaiveDate,
    /// Every project with a cost tree that the reader sees, by name.
    pub projects: Vec<ProjectCost>,
    /// First-level items by code.
    pub items: Vec<GroupItem>,
    pub total: CostColumns,
    /// Projects the reader sees that have no cost tree yet.
    pub without_tree: Vec<ProjectRef>,
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProjectRef {
    pub project_id: ProjectId,
    pub name: String,
    pub city: String,
}

/// The dynamic cost of every project the actor sees, summed to the group.
pub async fn group_dynamic_cost(
    services: &Services,
    actor: &Actor,
    as_of: Option<NaiveDate>,
) -> ServiceResult<GroupDynamicCost> {
    actor.require(Permission::ReadCost)?;
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let today = services.clock.today();
    let as_of = as_of.unwrap_or(today);
    let projects = loupan_store::inventory::list_projects(conn, actor.visible_projects()).await?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id.clone()).collect();
    let figures = figures_of_projects(conn, &ids, as_of, today).await?;
    let areas: BTreeMap<ProjectId, Area> = store::saleable_areas(conn, &ids).await?.into_iter().collect();
    let floor_areas: BTreeMap<ProjectId, Option<Area>> =
        store::gross_floor_areas(conn, &ids).await?.into_iter().collect();
    let template_names: BTreeMap<String, String> =
        store::items(conn, None).await?.into_iter().map(|i| (i.code, i.name)).collect();
    let mut items: BTreeMap<String, (String, Figures)> = BTreeMap::new();
    let mut total = Figures::default();
    let mut lines = Vec::new();
    let mut without_tree = Vec::new();
    for project in projects {
        let Some(f) = figures.get(&project.id) else {
            without_tree.push(ProjectRef { project_id: project.id, name: project.name, city: project.city });
            continue;
        };
        for item in f.items.iter().filter(|i| i.parent_id.is_none()) {
            let name = template_names.get(&item.code).cloned().unwrap_or_else(|| item.name.clone());
            items.entry(item.code.clone()).or_insert((name, Figures::default())).1.add(&f.of(&item.id));
        }
        let sum = f.total();
        total.add(&sum);
        let area = areas.get(&project.id).copied().unwrap_or_default();
        let gross_floor_area = floor_areas.get(&project.id).copied().flatten();
        lines.push(ProjectCost {
            dynamic_per_m2: rules::per_m2(sum.dynamic(), area),
            dynamic_per_m2_gfa: gross_floor_area.and_then(|a| rules::per_m2(sum.dynamic(), a)),
            gross_floor_area,
            over_target: sum.balance().is_negative(),
            items_over_target: f.leaves().filter(|(_, l)| l.balance().is_negative()).count() as u64,
            project_id: project.id,
            name: project.name,
            city: project.city,
            saleable_area: area,
            columns: sum.into(),
        });
    }
    Ok(GroupDynamicCost {
        as_of,
        projects: lines,
        items: items
            .into_iter()
            .map(|(code, (name, figures))| GroupItem {
                code,
                name,
                over_target: figures.balance().is_negative(),
                columns: figures.into(),
            })
            .collect(),
        total: total.into(),
        without_tree,
        source: reader.from.into(),
    })
}

/// A leaf item over its target, for the department's alerts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ItemOverTarget {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub target: Money,
    pub dynamic: Money,
    pub balance: Money,
}

/// One department's items in one project, summed (leaves only, so an item is
/// never counted twice whatever department its parent names).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DepartmentCost {
    pub department: String,
    pub project_id: ProjectId,
    pub project_name: String,
    #[serde(flatten)]
    pub columns: CostColumns,
    pub items: u64,
    pub over_target: Vec<ItemOverTarget>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ResponsibilityCost {
    pub as_of: NaiveDate,
    /// The department asked for; None: every department.
    pub department: Option<String>,
    /// By department, then project name.
    pub lines: Vec<DepartmentCost>,
}

/// 责任成本: the dynamic cost of each department's items with their target,
/// per project the actor sees; one department's when named. Items without a
/// department are left out.
pub async fn responsibility_cost(
    services: &Services,
    actor: &Actor,
    department: Option<&str>,
    as_of: Option<NaiveDate>,
) -> ServiceResult<ResponsibilityCost> {
    actor.require(Permission::ReadCost)?;
    let today = services.clock.today();
    let as_of = as_of.unwrap_or(today);
    let department = department.map(str::trim).filter(|d| !d.is_empty());
    let conn = services.store.conn();
    let projects = loupan_store::inventory::list_projects(conn, actor.visible_projects()).await?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id.clone()).collect();
    let figures = figures_of_projects(conn, &ids, as_of, today).await?;
    let mut lines = Vec::new();
    for project in &projects {
        let Some(f) = figures.get(&project.id) else { continue };
        let mut by_department: BTreeMap<&str, DepartmentCost> = BTreeMap::new();
        let mut sums: BTreeMap<&str, Figures> = BTreeMap::new();
        for (item, figures) in f.leaves() {
            let Some(name) = item.department.as_deref() else { continue };
            if department.is_some_and(|d| d != name) {
                continue;
            }
            let line = by_department.entry(name).or_insert_with(|| DepartmentCost {
                department: name.to_owned(),
                project_id: project.id.clone(),
                project_name: project.name.clone(),
                columns: CostColumns::default(),
                items: 0,
                over_target: Vec::new(),
            });
            line.items += 1;
            sums.entry(name).or_default().add(&figures);
            if figures.balance().is_negative() {
                line.over_target.push(ItemOverTarget {
                    cost_item_id: item.id.clone(),
                    code: item.code.clone(),
                    name: item.name.clone(),
                    target: figures.target,
                    dynamic: figures.dynamic(),
                    balance: figures.balance(),
                });
            }
        }
        for (name, mut line) in by_department {
            line.columns = sums.get(name).copied().unwrap_or_default().into();
            lines.push(line);
        }
    }
    lines.sort_by(|a, b| a.department.cmp(&b.department).then_with(|| a.project_name.cmp(&b.project_name)));
    Ok(ResponsibilityCost { as_of, department: department.map(str::to_owned), lines })
}

/// The department names cost items use (the template's and every project's),
/// offered where a user's department is chosen (administrators) and where
/// responsibility cost is read (cost readers).
pub async fn department_names(services: &Services, actor: &Actor) -> ServiceResult<Vec<String>> {
    if !actor.can(Permission::ReadCost) {
        actor.require(Permission::ManageUsers)?;
    }
    Ok(store::departments(services.store.conn()).await?)
}
