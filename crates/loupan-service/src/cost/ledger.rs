//! The dynamic cost (动态成本) read from the ledger: per item and rolled up the
//! tree, at any date, every figure drillable to its entries and documents.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::cost::{self as rules, Bucket, ControlMode, DocumentType, Figures};
use loupan_domain::ids::{CostItemId, CostPostingId, ProjectId};
use loupan_domain::{Money, Permission};
use loupan_store::cost::{self as store, PostingRow};
use serde::Serialize;

use super::tree::{CostItem, tree_of};
use super::visible_project;
use crate::{Actor, ServiceError, ServiceResult, Services};

/// The columns of the dynamic cost (API.md "Project cost"): every amount a
/// decimal string, `dynamic = contracted + changes + visas + pending +
/// expected`, `balance = target - dynamic`.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostColumns {
    pub target: Money,
    /// Signed contracts and supplementary agreements.
    pub contracted: Money,
    /// Design changes: estimates not yet confirmed plus confirmed amounts.
    pub changes: Money,
    pub changes_estimated: Money,
    pub changes_confirmed: Money,
    /// Site visas, likewise.
    pub visas: Money,
    pub visas_estimated: Money,
    pub visas_confirmed: Money,
    /// Planned contracts not yet signed.
    pub pending: Money,
    /// Further cost expected (预估).
    pub expected: Money,
    pub dynamic: Money,
    pub balance: Money,
}

impl CostColumns {
    pub fn add(&mut self, other: &CostColumns) {
        self.target += other.target;
        self.contracted += other.contracted;
        self.changes += other.changes;
        self.changes_estimated += other.changes_estimated;
        self.changes_confirmed += other.changes_confirmed;
        self.visas += other.visas;
        self.visas_estimated += other.visas_estimated;
        self.visas_confirmed += other.visas_confirmed;
        self.pending += other.pending;
        self.expected += other.expected;
        self.dynamic += other.dynamic;
        self.balance += other.balance;
    }
}

impl From<Figures> for CostColumns {
    fn from(f: Figures) -> Self {
        CostColumns {
            target: f.target,
            contracted: f.contracted,
            changes: f.changes(),
            changes_estimated: f.changes_estimated,
            changes_confirmed: f.changes_confirmed,
            visas: f.visas(),
            visas_estimated: f.visas_estimated,
            visas_confirmed: f.visas_confirmed,
            pending: f.pending,
            expected: f.expected,
            dynamic: f.dynamic(),
            balance: f.balance(),
        }
    }
}

/// One item's line of the dynamic cost: its own postings and everything below it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DynamicItem {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub parent_id: Option<CostItemId>,
    pub level: usize,
    pub leaf: bool,
    pub department: Option<String>,
    pub control_mode: ControlMode,
    #[serde(flatten)]
    pub columns: CostColumns,
    /// Target and dynamic cost per m² of the project's saleable area (None without units).
    pub target_per_m2: Option<Money>,
    pub dynamic_per_m2: Option<Money>,
    /// The same per m² of gross floor area (None until every building has one).
    pub target_per_m2_gfa: Option<Money>,
    pub dynamic_per_m2_gfa: Option<Money>,
    /// The dynamic cost is over the target.
    pub over_target: bool,
    /// Changes and visas exceed 5 % of the contracted amount.
    pub change_ratio_exceeded: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DynamicCost {
    pub project_id: ProjectId,
    pub as_of: NaiveDate,
    /// The project's saleable area (the gross area of its units), m², for the per-m² figures.
    pub saleable_area: loupan_domain::Area,
    /// The gross floor area of its buildings, m²; null while a building has none entered.
    pub gross_floor_area: Option<loupan_domain::Area>,
    /// In the order of their codes (a parent before its children), parents rolled up.
    pub items: Vec<DynamicItem>,
    /// The top-level items summed.
    pub total: CostColumns,
}

/// The dynamic cost of a project at a date (today when absent).
pub async fn dynamic_cost(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    as_of: Option<NaiveDate>,
) -> ServiceResult<DynamicCost> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    let as_of = as_of.unwrap_or_else(|| services.clock.today());
    let items = tree_of(store::items(conn, Some(&project)).await?);
    let mut own: BTreeMap<CostItemId, Figures> = BTreeMap::new();
    for (item, bucket, amount) in store::sums(conn, &project, as_of).await? {
        own.entry(item).or_default().post(bucket, amount);
    }
    let parents: BTreeMap<CostItemId, Option<CostItemId>> =
        items.iter().map(|i| (i.id.clone(), i.parent_id.clone())).collect();
    let rolled = rules::roll_up(&parents, &own);
    let area = store::saleable_area(conn, &project).await?;
    let gfa = store::gross_floor_areas(conn, std::slice::from_ref(&project)).await?.pop().and_then(|(_, a)| a);
    let per_gfa = |amount: Money| gfa.and_then(|a| rules::per_m2(amount, a));
    let mut total = Figures::default();
    let items: Vec<DynamicItem> = items
        .into_iter()
        .map(|item| {
            let figures = rolled.get(&item.id).copied().unwrap_or_default();
            if item.parent_id.is_none() {
                total.add(&figures);
            }
            DynamicItem {
                target_per_m2: rules::per_m2(figures.target, area),
                dynamic_per_m2: rules::per_m2(figures.dynamic(), area),
                target_per_m2_gfa: per_gfa(figures.target),
                dynamic_per_m2_gfa: per_gfa(figures.dynamic()),
                over_target: figures.balance().is_negative(),
                change_ratio_exceeded: rules::change_ratio_exceeded(&figures),
                cost_item_id: item.id,
                code: item.code,
                name: item.name,
                parent_id: item.parent_id,
                level: item.level,
                leaf: item.leaf,
                department: item.department,
                control_mode: item.control_mode,
                columns: figures.into(),
            }
        })
        .collect();
    Ok(DynamicCost {
        project_id: project,
        as_of,
        saleable_area: area,
        gross_floor_area: gfa,
        items,
        total: total.into(),
    })
}

/// One entry of the ledger, with the document behind it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Posting {
    pub id: CostPostingId,
    pub cost_item_id: CostItemId,
    pub bucket: Bucket,
    pub amount: Money,
    pub posted_on: NaiveDate,
    pub document_type: DocumentType,
    pub document_id: String,
    pub note: Option<String>,
    pub posted_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<PostingRow> for Posting {
    fn from(r: PostingRow) -> Self {
        Posting {
            id: r.id,
            cost_item_id: r.cost_item_id,
            bucket: r.bucket,
            amount: r.amount,
            posted_on: r.posted_on,
            document_type: r.document_type,
            document_id: r.document_id,
            note: r.note,
            posted_by: r.posted_by,
            created_at: r.created_at,
        }
    }
}

/// An item's figures at a date and the entries that make them up (its own and
/// those of every item below it).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ItemLedger {
    pub item: CostItem,
    pub as_of: NaiveDate,
    pub columns: CostColumns,
    /// Oldest first; only the asked bucket's when one was asked.
    pub postings: Vec<Posting>,
}

pub async fn item_ledger(
    services: &Services,
    actor: &Actor,
    item: &str,
    as_of: Option<NaiveDate>,
    bucket: Option<Bucket>,
) -> ServiceResult<ItemLedger> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let row = store::find_item(conn, &CostItemId::from(item)).await?.ok_or(ServiceError::NotFound("cost_item"))?;
    let Some(project) = row.project_id.clone().filter(|p| actor.sees_project(p)) else {
        return Err(ServiceError::NotFound("cost_item"));
    };
    let as_of = as_of.unwrap_or_else(|| services.clock.today());
    let tree = tree_of(store::items(conn, Some(&project)).await?);
    // The item and everything below it: codes extend their parent's.
    let prefix = format!("{}.", row.code);
    let ids: Vec<CostItemId> =
        tree.iter().filter(|i| i.code == row.code || i.code.starts_with(&prefix)).map(|i| i.id.clone()).collect();
    let all = store::postings_of_items(conn, &ids, as_of).await?;
    let mut figures = Figures::default();
    for p in &all {
        figures.post(p.bucket, p.amount);
    }
    let postings = all.into_iter().filter(|p| bucket.is_none_or(|b| b == p.bucket)).map(Posting::from).collect();
    let item = tree.into_iter().find(|i| i.id == row.id).ok_or(ServiceError::NotFound("cost_item"))?;
    Ok(ItemLedger { item, as_of, columns: figures.into(), postings })
}

/// The entries a document posted, for its page.
pub async fn postings_of_document(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    document: &str,
) -> ServiceResult<Vec<Posting>> {
    actor.require(Permission::ReadCost)?;
    if !actor.sees_project(project) {
        return Err(ServiceError::NotFound("project"));
    }
    Ok(store::postings_of_document(services.store.conn(), document).await?.into_iter().map(Posting::from).collect())
}

/// The columns of the dynamic cost's spreadsheet, in order; the caller names
/// them in the reader's language.
pub const EXPORT_COLUMNS: [&str; 13] = [
    "code",
    "name",
    "department",
    "target",
    "contracted",
    "changes",
    "visas",
    "pending",
    "expected",
    "dynamic",
    "balance",
    "dynamic_per_m2",
    "dynamic_per_m2_gfa",
];

/// The dynamic cost at a date as an xlsx table (amounts as numbers), one row
/// per item with its code, parents rolled up, and a total row.
pub async fn dynamic_cost_xlsx(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    as_of: Option<NaiveDate>,
    headers: &[String],
    total_label: &str,
) -> ServiceResult<Vec<u8>> {
    use loupan_documents::xlsx::{Cell, write_table};
    let cost = dynamic_cost(services, actor, project, as_of).await?;
    let money = |m: Money| Cell::Number(m.to_spreadsheet_number());
    let figures = |c: &CostColumns| {
        [c.target, c.contracted, c.changes, c.visas, c.pending, c.expected, c.dynamic, c.balance].map(money)
    };
    let mut rows: Vec<Vec<Cell>> = cost
        .items
        .iter()
        .map(|i| {
            let mut row = vec![
                Cell::Text(i.code.clone()),
                Cell::Text(i.name.clone()),
                Cell::Text(i.department.clone().unwrap_or_default()),
            ];
            row.extend(figures(&i.columns));
            row.push(i.dynamic_per_m2.map_or(Cell::Empty, money));
            row.push(i.dynamic_per_m2_gfa.map_or(Cell::Empty, money));
            row
        })
        .collect();
    let mut total = vec![Cell::Empty, Cell::Text(total_label.to_owned()), Cell::Empty];
    total.extend(figures(&cost.total));
    total.extend([Cell::Empty, Cell::Empty]);
    rows.push(total);
    write_table(&format!("动态成本 {}", cost.as_of), headers, &rows).map_err(ServiceError::internal)
}
