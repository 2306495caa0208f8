//! The handover (交房/入伙, A4). A contract's handover is opened when its
//! building is declared ready (or by hand afterwards), with the buyer's
//! booking link. The settlement check names everything that stands in the
//! way: money still owed on the plan (compensation and fees included), an
//! area compensation not yet applied, documents not yet brought. Money
//! blocks booking and check-in; everything blocks the keys. On the day the
//! buyer checks in, inspects the unit (验房), and each remark is a defect
//! for engineering with a deadline by severity: rectified, then
//! re-inspected and accepted (or found again). The keys and meter readings
//! complete it: the unit becomes `handed_over`, its handover process case
//! is closed, the record prints as a PDF letter, and the warranty runs from
//! that day.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::handover::{
    DefectSeverity, DefectStatus, HandoverRules, HandoverStatus, MAX_DEADLINE_HOURS, MAX_WARRANTY_MONTHS, WarrantyItem,
};
use loupan_domain::ids::{BuildingId, ContractId, DefectId, HandoverId, HandoverSlotId, ProjectId, UnitId, UserId};
use loupan_domain::inventory::{FileOwner, UnitEventKind, UnitStatus};
use loupan_domain::platform::NotificationKind;
use loupan_domain::sales::ContractStatus;
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::handovers::{self as store, DefectFilter, DefectRow, HandoverRow, SlotRow};
use loupan_store::sales::ContractRow;
use loupan_store::settings::{self as store_settings, COMPANY, project_scope};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::platform::live::{self, UnitChange};
use crate::platform::notifications::{self, Notice};
use crate::platform::rate_limit::{self, Limit};
use crate::{Actor, ServiceError, ServiceResult, Services};

const KEY: &str = "aftersales.handover";

/// Bookings one link may make within the hour (a buyer changes their mind a few times).
pub const PER_LINK: Limit = Limit { max: 20, window: chrono::Duration::hours(1) };

// ---------------------------------------------------------------------------
// Rules

/// A project's handover rules as stored (the company's, or the defaults).
pub(crate) async fn rules_of<C: Connection>(conn: &C, project_id: &ProjectId) -> ServiceResult<HandoverRules> {
    let scopes = [project_scope(project_id), COMPANY.to_owned()];
    match store_settings::first_setting(conn, &scopes, KEY).await? {
        Some(row) => serde_json::from_str(&row.value).map_err(ServiceError::internal),
        None => Ok(HandoverRules::default()),
    }
}

pub async fn rules(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<HandoverRules> {
    actor.require(Permission::ReadAftersales)?;
    crate::inventory::get_project(services, actor, project_id).await?;
    rules_of(services.store.conn(), project_id).await
}

/// A change of a project's handover rules; a part left out keeps its value.
#[derive(Debug, Clone, Default)]
pub struct RulesForm {
    /// Hours to rectify, by severity name.
    pub deadline_hours: Option<BTreeMap<String, i64>>,
    /// Months of warranty, by item name.
    pub warranty_months: Option<BTreeMap<String, i64>>,
    /// The documents a buyer brings, the whole list.
    pub documents: Option<Vec<String>>,
}

pub async fn set_rules(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: RulesForm,
) -> ServiceResult<HandoverRules> {
    actor.require(Permission::ManageAftersales)?;
    crate::inventory::get_project(services, actor, project_id).await?;
    let before = rules_of(services.store.conn(), project_id).await?;
    let mut after = before.clone();
    let mut errors = Invalid::default();
    for (name, hours) in form.deadline_hours.unwrap_or_default() {
        let field = format!("deadline_hours.{name}");
        match (DefectSeverity::parse(&name), u32::try_from(hours)) {
            (None, _) => errors.push(field, "unknown_severity"),
            (Some(s), Ok(h)) if (1..=MAX_DEADLINE_HOURS).contains(&h) => {
                after.deadline_hours.insert(s, h);
            }
            _ => errors.push(field, "out_of_range"),
        }
    }
    for (name, months) in form.warranty_months.unwrap_or_default() {
        let field = format!("warranty_months.{name}");
        match (WarrantyItem::parse(&name), u32::try_from(months)) {
            (None, _) => errors.push(field, "unknown_item"),
            // Never below the regulation's minimum.
            (Some(i), Ok(m)) if m < i.default_months() => errors.push(field, "below_regulation"),
            (Some(i), Ok(m)) if m <= MAX_WARRANTY_MONTHS => {
                after.warranty_months.insert(i, m);
            }
            _ => errors.push(field, "out_of_range"),
        }
    }
    if let Some(documents) = form.documents {
        let mut list: Vec<String> = Vec::new();
        for (i, d) in documents.iter().enumerate() {
            let name = required_text(&mut errors, &format!("documents[{i}]"), Some(d), 60);
            if name.is_empty() {
                continue;
            }
            if list.contains(&name) {
                errors.push(format!("documents[{i}]"), "duplicate");
            }
            list.push(name);
        }
        if list.len() > 30 {
            errors.push("documents", "too_many");
        }
        after.documents = list;
    }
    errors.into_result()?;
    super::save_project_setting(services, actor, project_id, (KEY, "settings.handover"), (&before, &after)).await?;
    Ok(after)
}

// ---------------------------------------------------------------------------
// The settlement check

/// Something that stands between the buyer and the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BlockingItem {
    /// `unpaid_instalment`, `compensation_open` or `document_missing`.
    pub kind: &'static str,
    /// The instalment's number on the plan.
    pub seq: Option<i32>,
    /// The instalment's printed name (房款, 面积补差款, a fee's name) or the document's.
    pub name: Option<String>,
    /// What is still owed on the instalment.
    pub unpaid: Option<Money>,
    pub due_date: Option<NaiveDate>,
}

impl BlockingItem {
    /// Money stands in the way of the appointment too; documents only of the keys.
    pub fn is_money(&self) -> bool {
        self.kind != "document_missing"
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = Vec::new();
        if let Some(seq) = self.seq {
            facts.push(("seq", seq.to_string()));
        }
        if let Some(name) = &self.name {
            facts.push(("name", name.clone()));
        }
        if let Some(unpaid) = self.unpaid {
            facts.push(("amount", unpaid.grouped()));
        }
        facts
    }
}

/// Whether a contract may be handed over, and if not, why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SettlementCheck {
    pub contract_id: ContractId,
    /// Nothing stands in the way.
    pub clear: bool,
    pub blocking: Vec<BlockingItem>,
}

/// Every blocking item of a contract: each instalment with money unpaid (on
/// the audited basis), an area compensation the survey calls for that is not
/// on the plan yet, and, given the handover, each document not yet received.
async fn blocking_items<C: Connection>(
    conn: &C,
    contract: &ContractRow,
    documents: Option<(&HandoverRules, &HandoverRow)>,
) -> ServiceResult<Vec<BlockingItem>> {
    let mut items = Vec::new();
    for i in loupan_store::sales::instalments_of(conn, &contract.id).await? {
        let unpaid = i.amount - i.paid;
        if unpaid.is_positive() {
            items.push(BlockingItem {
                kind: "unpaid_instalment",
                seq: Some(i.seq),
                name: Some(i.kind.printed_name().to_owned()),
                unpaid: Some(unpaid),
                due_date: Some(i.due_date),
            });
        }
    }
    let unit = loupan_store::inventory::find_unit(conn, &contract.unit_id).await?;
    if unit.is_some_and(|u| u.measured_gross_area.is_some()) {
        let lines = loupan_store::aftersales::lines_of_contracts(conn, std::slice::from_ref(&contract.id)).await?;
        if !lines.iter().any(|l| l.applied_contract_id.is_some()) {
            items.push(BlockingItem { kind: "compensation_open", seq: None, name: None, unpaid: None, due_date: None });
        }
    }
    if let Some((rules, row)) = documents {
        let received = received_documents(row)?;
        for name in &rules.documents {
            if !received.iter().any(|r| &r.name == name) {
                items.push(BlockingItem {
                    kind: "document_missing",
                    seq: None,
                    name: Some(name.clone()),
                    unpaid: None,
                    due_date: None,
                });
            }
        }
    }
    Ok(items)
}

/// Refuses with every blocking item named (422, one error per item under `settlement`).
fn refuse_if_blocked(items: &[BlockingItem]) -> ServiceResult<()> {
    let mut errors = Invalid::default();
    for item in items {
        errors.push_with("settlement", item.kind, item.facts());
    }
    Ok(errors.into_result()?)
}

async fn visible_contract<C: Connection>(conn: &C, actor: &Actor, id: &ContractId) -> ServiceResult<ContractRow> {
    actor.require(Permission::ReadAftersales)?;
    match loupan_store::sales::find_contract(conn, id).await? {
        Some(c) if actor.sees_project(&c.project_id) => Ok(c),
        _ => Err(ServiceError::NotFound("contract")),
    }
}

/// The settlement check of a contract (清算), with its handover's documents once it has one.
pub async fn check(services: &Services, actor: &Actor, contract_id: &ContractId) -> ServiceResult<SettlementCheck> {
    let conn = services.store.conn();
    let contract = visible_contract(conn, actor, contract_id).await?;
    let handover = store::handover_of_contract(conn, contract_id).await?;
    let rules = rules_of(conn, &contract.project_id).await?;
    let blocking = blocking_items(conn, &contract, handover.as_ref().map(|h| (&rules, h))).await?;
    Ok(SettlementCheck { contract_id: contract.id, clear: blocking.is_empty(), blocking })
}

// ---------------------------------------------------------------------------
// Views

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReceivedDocument {
    pub name: String,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
}

/// A key handed over: `入户门钥匙` × 3.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KeyLine {
    pub name: String,
    pub count: u32,
}

/// A meter read on the day: `水表` 12.5.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MeterReading {
    pub meter: String,
    /// As read, a decimal with at most three places.
    pub reading: String,
}

fn received_documents(row: &HandoverRow) -> ServiceResult<Vec<ReceivedDocument>> {
    serde_json::from_str(&row.documents).map_err(ServiceError::internal)
}

fn json_list<T: serde::de::DeserializeOwned>(text: &Option<String>) -> ServiceResult<Vec<T>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t).map_err(ServiceError::internal),
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Slot {
    pub id: HandoverSlotId,
    pub building_id: BuildingId,
    pub day: NaiveDate,
    /// `09:00-12:00`.
    pub period: String,
    pub capacity: i32,
    pub booked: i32,
    pub available: i32,
}

impl From<SlotRow> for Slot {
    fn from(r: SlotRow) -> Self {
        Slot {
            available: (r.capacity - r.booked).max(0),
            id: r.id,
            building_id: r.building_id,
            day: r.day,
            period: r.period,
            capacity: r.capacity,
            booked: r.booked,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DefectPhoto {
    pub file_id: String,
    pub file_name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Defect {
    pub id: DefectId,
    pub handover_id: HandoverId,
    pub project_id: ProjectId,
    pub unit_id: UnitId,
    pub number: i32,
    pub room: String,
    /// `structure`, `waterproofing`, `heating_cooling`, `electrical`, `plumbing`, `decoration`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub item: WarrantyItem,
    /// `urgent`, `normal`, `minor`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub severity: DefectSeverity,
    pub description: String,
    pub contractor: Option<String>,
    /// `open`, `rectified`, `accepted`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: DefectStatus,
    pub found_by: String,
    pub found_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Open past its deadline.
    pub overdue: bool,
    pub rectified_by: Option<String>,
    pub rectified_at: Option<DateTime<Utc>>,
    pub rectify_note: Option<String>,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Re-inspections that found it not fixed.
    pub rejections: i32,
    pub reinspect_note: Option<String>,
    pub photos: Vec<DefectPhoto>,
    pub version: i64,
}

/// The photos of these defects, by defect id, read in one query.
async fn photos_of<C: Connection>(conn: &C, ids: &[&str]) -> ServiceResult<BTreeMap<String, Vec<DefectPhoto>>> {
    let mut by_defect: BTreeMap<String, Vec<DefectPhoto>> = BTreeMap::new();
    for f in loupan_store::files::files_of_owners(conn, FileOwner::HandoverDefect, ids).await? {
        by_defect.entry(f.owner_id).or_default().push(DefectPhoto { file_id: f.id, file_name: f.file_name });
    }
    Ok(by_defect)
}

fn defect_view(r: DefectRow, now: DateTime<Utc>, photos: Vec<DefectPhoto>) -> Defect {
    Defect {
        overdue: r.status == DefectStatus::Open && r.due_at < now,
        id: r.id,
        handover_id: r.handover_id,
        project_id: r.project_id,
        unit_id: r.unit_id,
        number: r.number,
        room: r.room,
        item: r.item,
        severity: r.severity,
        description: r.description,
        contractor: r.contractor,
        status: r.status,
        found_by: r.found_by,
        found_at: r.found_at,
        due_at: r.due_at,
        rectified_by: r.rectified_by,
        rectified_at: r.rectified_at,
        rectify_note: r.rectify_note,
        accepted_by: r.accepted_by,
        accepted_at: r.accepted_at,
        rejections: r.rejections,
        reinspect_note: r.reinspect_note,
        photos,
        version: r.version,
    }
}

/// One item's warranty from the handover day.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Warranty {
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub item: WarrantyItem,
    pub months: u32,
    pub from: NaiveDate,
    /// The last day covered.
    pub until: NaiveDate,
    pub in_force: bool,
}

fn warranty_of(rules: &HandoverRules, from: NaiveDate, today: NaiveDate) -> Vec<Warranty> {
    rules
        .warranty(from)
        .into_iter()
        .map(|(item, months, until)| Warranty { item, months, from, until, in_force: today <= until })
        .collect()
}

/// A contract's handover as after-sales staff work it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Handover {
    pub id: HandoverId,
    pub contract_id: ContractId,
    pub contract_number: String,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub building_name: String,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub customer_name: String,
    /// `open`, `booked`, `checked_in`, `handed_over`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: HandoverStatus,
    /// The buyer's booking link (`/handover/<token>`), for staff to hand over.
    pub link: Option<String>,
    pub appointment: Option<Slot>,
    pub booked_by: Option<String>,
    pub booked_at: Option<DateTime<Utc>>,
    pub checked_in_by: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// The documents the project asks for, and those received.
    pub documents_required: Vec<String>,
    pub documents: Vec<ReceivedDocument>,
    pub defects: Vec<Defect>,
    pub keys: Vec<KeyLine>,
    pub meters: Vec<MeterReading>,
    /// The buyer took the keys with defects still to rectify (遗留问题).
    pub open_defects_accepted: bool,
    pub handed_over_on: Option<NaiveDate>,
    pub handed_over_at: Option<DateTime<Utc>>,
    pub handed_over_by: Option<String>,
    pub check: SettlementCheck,
    /// From the handover day on.
    pub warranty: Vec<Warranty>,
    /// The display names of the users named in `*_by` fields, by id.
    pub people: BTreeMap<String, String>,
    pub version: i64,
}

async fn view<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    row: HandoverRow,
) -> ServiceResult<Handover> {
    let contract =
        loupan_store::sales::find_contract(conn, &row.contract_id).await?.ok_or(ServiceError::NotFound("contract"))?;
    let unit = loupan_store::inventory::find_unit(conn, &row.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let building = loupan_store::inventory::find_building(conn, &row.building_id).await?;
    let customer = loupan_store::customers::find_customer(conn, &contract.customer_id).await?;
    let rules = rules_of(conn, &row.project_id).await?;
    let now = services.clock.now();
    let mut defects = Vec::new();
    let rows = store::defects_of(conn, &row.id).await?;
    let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let mut photos = photos_of(conn, &ids).await?;
    for d in rows {
        let of_it = photos.remove(d.id.as_str()).unwrap_or_default();
        defects.push(defect_view(d, now, of_it));
    }
    let appointment = match &row.slot_id {
        Some(id) => store::find_slot(conn, id).await?.map(Slot::from),
        None => None,
    };
    let blocking = blocking_items(conn, &contract, Some((&rules, &row))).await?;
    let link = match actor.can(Permission::ManageAftersales) && row.status != HandoverStatus::HandedOver {
        true => Some(format!("/handover/{}", services.secrets.decrypt(&row.token_cipher)?)),
        false => None,
    };
    let mut named: Vec<UserId> = [&row.booked_by, &row.checked_in_by, &row.handed_over_by]
        .into_iter()
        .flatten()
        .cloned()
        .chain(received_documents(&row)?.into_iter().map(|d| d.received_by))
        .chain(defects.iter().flat_map(|d| {
            [Some(d.found_by.clone()), d.rectified_by.clone(), d.accepted_by.clone()].into_iter().flatten()
        }))
        .map(UserId::from)
        .collect();
    named.sort();
    named.dedup();
    let people = loupan_store::users::display_names(conn, &named)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    Ok(Handover {
        people,
        link,
        contract_number: contract.number,
        building_name: building.map(|b| b.name).unwrap_or_default(),
        unit_number: unit.number,
        customer_name: customer.map(|c| c.name).unwrap_or_default(),
        appointment,
        documents_required: rules.documents.clone(),
        documents: received_documents(&row)?,
        defects,
        keys: json_list(&row.keys)?,
        meters: json_list(&row.meters)?,
        check: SettlementCheck { contract_id: row.contract_id.clone(), clear: blocking.is_empty(), blocking },
        warranty: row.handed_over_on.map(|on| warranty_of(&rules, on, services.clock.today())).unwrap_or_default(),
        id: row.id,
        contract_id: row.contract_id,
        project_id: row.project_id,
        building_id: row.building_id,
        unit_id: row.unit_id,
        status: row.status,
        booked_by: row.booked_by,
        booked_at: row.booked_at,
        checked_in_by: row.checked_in_by,
        checked_in_at: row.checked_in_at,
        open_defects_accepted: row.open_defects_accepted,
        handed_over_on: row.handed_over_on,
        handed_over_at: row.handed_over_at,
        handed_over_by: row.handed_over_by,
        version: row.version,
    })
}

async fn visible<C: Connection>(conn: &C, actor: &Actor, id: &HandoverId) -> ServiceResult<HandoverRow> {
    actor.require(Permission::ReadAftersales)?;
    match store::find_handover(conn, id).await? {
        Some(r) if actor.sees_project(&r.project_id) => Ok(r),
        _ => Err(ServiceError::NotFound("handover")),
    }
}

pub async fn handover(services: &Services, actor: &Actor, id: &HandoverId) -> ServiceResult<Handover> {
    let conn = services.store.conn();
    let row = visible(conn, actor, id).await?;
    view(services, conn, actor, row).await
}

/// A contract's handover; 404 `handover` before it is opened.
pub async fn handover_of_contract(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
) -> ServiceResult<Handover> {
    let conn = services.store.conn();
    visible_contract(conn, actor, contract_id).await?;
    let row = store::handover_of_contract(conn, contract_id).await?.ok_or(ServiceError::NotFound("handover"))?;
    view(services, conn, actor, row).await
}

/// A line of a building's handover list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HandoverLine {
    pub id: HandoverId,
    pub contract_id: ContractId,
    pub unit_id: UnitId,
    pub unit_number: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: HandoverStatus,
    pub appointment_day: Option<NaiveDate>,
    pub appointment_period: Option<String>,
    pub handed_over_on: Option<NaiveDate>,
}

/// A building's handovers by unit number, optionally of one status.
pub async fn handovers_of_building(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    status: Option<&str>,
) -> ServiceResult<Vec<HandoverLine>> {
    actor.require(Permission::ReadAftersales)?;
    crate::inventory::get_building(services, actor, building_id).await?;
    let status = crate::error::status_filter::<HandoverStatus>("status", status)?;
    let conn = services.store.conn();
    let rows = store::handovers_of_building(conn, building_id, status).await?;
    let units: BTreeMap<UnitId, String> = loupan_store::inventory::units_of_building(conn, building_id)
        .await?
        .into_iter()
        .map(|u| (u.id, u.number))
        .collect();
    let slots: BTreeMap<HandoverSlotId, SlotRow> =
        store::slots_of_building(conn, building_id, None).await?.into_iter().map(|s| (s.id.clone(), s)).collect();
    let mut lines: Vec<HandoverLine> = rows
        .into_iter()
        .map(|r| {
            let slot = r.slot_id.as_ref().and_then(|s| slots.get(s));
            HandoverLine {
                unit_number: units.get(&r.unit_id).cloned().unwrap_or_default(),
                appointment_day: slot.map(|s| s.day),
                appointment_period: slot.map(|s| s.period.clone()),
                id: r.id,
                contract_id: r.contract_id,
                unit_id: r.unit_id,
                status: r.status,
                handed_over_on: r.handed_over_on,
            }
        })
        .collect();
    // 201 before 1001: shorter numbers first, then as written.
    lines.sort_by(|a, b| (a.unit_number.len(), &a.unit_number).cmp(&(b.unit_number.len(), &b.unit_number)));
    Ok(lines)
}

// ---------------------------------------------------------------------------
// Opening

/// Opens a contract's handover in the caller's transaction, unless it has
/// one: its booking link is made here. Returns whether one was opened.
pub(crate) async fn open_in<C: Connection>(
    services: &Services,
    conn: &C,
    by: &str,
    contract: &ContractRow,
    building_id: &BuildingId,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    if store::handover_of_contract(conn, &contract.id).await?.is_some() {
        return Ok(false);
    }
    let token = crate::random_hex(16)?;
    let row = HandoverRow {
        id: HandoverId::from(loupan_store::new_id()),
        contract_id: contract.id.clone(),
        project_id: contract.project_id.clone(),
        building_id: building_id.clone(),
        unit_id: contract.unit_id.clone(),
        status: HandoverStatus::Open,
        token_hash: crate::sha256_hex(token.as_bytes()),
        token_cipher: services.secrets.encrypt(&token)?,
        opened_by: by.to_owned(),
        opened_at: now,
        slot_id: None,
        booked_by: None,
        booked_at: None,
        checked_in_by: None,
        checked_in_at: None,
        documents: "[]".into(),
        keys: None,
        meters: None,
        open_defects_accepted: false,
        handed_over_on: None,
        handed_over_at: None,
        handed_over_by: None,
        version: 1,
    };
    match store::insert_handover(conn, &row).await {
        Ok(()) => Ok(true),
        // Another instance opened it at the same moment: one handover, theirs.
        Err(loupan_store::StoreError::Unique(_)) => Err(ServiceError::Conflict("stale_version")),
        Err(e) => Err(e.into()),
    }
}

/// Opens the handover of a contract whose building is ready (a contract
/// signed after the declaration); answers the existing one if it has one.
pub async fn open(services: &Services, actor: &Actor, contract_id: &ContractId) -> ServiceResult<Handover> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let contract = visible_contract(&tx, actor, contract_id).await?;
    if contract.status != ContractStatus::Active {
        return Err(ServiceError::Conflict("contract_not_active"));
    }
    let unit =
        loupan_store::inventory::find_unit(&tx, &contract.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    if loupan_store::processes::readiness_of(&tx, &unit.building_id).await?.is_none() {
        return Err(ServiceError::Conflict("building_not_ready"));
    }
    let now = services.clock.now();
    if open_in(services, &tx, &actor.by(), &contract, &unit.building_id, now).await? {
        let row = store::handover_of_contract(&tx, contract_id).await?.ok_or(ServiceError::NotFound("handover"))?;
        audit::record(
            &tx,
            actor,
            Change {
                action: "handover.open",
                record_type: "handover",
                record_id: row.id.as_str(),
                before: None,
                after: Some(serde_json::json!({"contract_id": contract.id})),
            },
        )
        .await?;
    }
    let row = store::handover_of_contract(&tx, contract_id).await?.ok_or(ServiceError::NotFound("handover"))?;
    let view = view(services, &tx, actor, row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(view)
}

// ---------------------------------------------------------------------------
// Slots and bookings

#[derive(Debug, Clone, Default)]
pub struct NewSlot {
    pub day: Option<String>,
    pub period: Option<String>,
    pub capacity: Option<i64>,
}

/// The most buyers one period takes.
pub const MAX_CAPACITY: i32 = 500;

pub async fn add_slot(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    form: NewSlot,
) -> ServiceResult<Slot> {
    actor.require(Permission::ManageAftersales)?;
    let building = crate::inventory::get_building(services, actor, building_id).await?;
    let mut errors = Invalid::default();
    let day = match form.day.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("day", "required");
            None
        }
        Some(t) => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) if d < services.clock.today() => {
                errors.push("day", "in_the_past");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.push("day", "invalid_date");
                None
            }
        },
    };
    let period = required_text(&mut errors, "period", form.period.as_deref(), 20);
    let capacity = match form.capacity {
        None => {
            errors.push("capacity", "required");
            0
        }
        Some(c) => match i32::try_from(c) {
            Ok(c) if (1..=MAX_CAPACITY).contains(&c) => c,
            _ => {
                errors.push("capacity", "out_of_range");
                0
            }
        },
    };
    errors.into_result()?;
    let Some(day) = day else { return Err(Invalid::one("day", "required").into()) };
    let tx = services.store.begin_write().await?;
    if loupan_store::processes::readiness_of(&tx, building_id).await?.is_none() {
        return Err(ServiceError::Conflict("building_not_ready"));
    }
    let row = SlotRow {
        id: HandoverSlotId::from(loupan_store::new_id()),
        project_id: building.project_id.clone(),
        building_id: building_id.clone(),
        day,
        period,
        capacity,
        booked: 0,
        created_by: actor.by(),
        created_at: services.clock.now(),
    };
    match store::insert_slot(&tx, &row).await {
        Ok(()) => {}
        Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("slot_exists")),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover_slot.create",
            record_type: "building",
            record_id: building_id.as_str(),
            before: None,
            after: Some(serde_json::json!({"slot_id": row.id, "day": day, "period": row.period, "capacity": capacity})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(row.into())
}

/// A building's slots from today on.
pub async fn slots(services: &Services, actor: &Actor, building_id: &BuildingId) -> ServiceResult<Vec<Slot>> {
    actor.require(Permission::ReadAftersales)?;
    crate::inventory::get_building(services, actor, building_id).await?;
    let today = services.clock.today();
    Ok(store::slots_of_building(services.store.conn(), building_id, Some(today))
        .await?
        .into_iter()
        .map(Slot::from)
        .collect())
}

/// Books `slot` for a handover in the caller's transaction (moving an
/// earlier booking): refused with the money items named while money is owed.
async fn book_in<C: Connection>(
    services: &Services,
    conn: &C,
    row: HandoverRow,
    slot_id: Option<&str>,
    by: String,
) -> ServiceResult<HandoverRow> {
    match row.status {
        HandoverStatus::Open | HandoverStatus::Booked => {}
        HandoverStatus::CheckedIn => return Err(ServiceError::Conflict("handover_checked_in")),
        HandoverStatus::HandedOver => return Err(ServiceError::Conflict("handed_over")),
    }
    let Some(slot_id) = slot_id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(Invalid::one("slot_id", "required").into());
    };
    let slot_id = HandoverSlotId::from(slot_id);
    let slot = match store::find_slot(conn, &slot_id).await? {
        Some(s) if s.building_id == row.building_id => s,
        _ => return Err(Invalid::one("slot_id", "unknown_slot").into()),
    };
    if slot.day < services.clock.today() {
        return Err(Invalid::one("slot_id", "slot_past").into());
    }
    if row.slot_id.as_ref() == Some(&slot.id) {
        return Ok(row);
    }
    let contract =
        loupan_store::sales::find_contract(conn, &row.contract_id).await?.ok_or(ServiceError::NotFound("contract"))?;
    let money: Vec<BlockingItem> =
        blocking_items(conn, &contract, None).await?.into_iter().filter(BlockingItem::is_money).collect();
    refuse_if_blocked(&money)?;
    if !store::take_place(conn, &slot.id).await? {
        return Err(ServiceError::Conflict("slot_full"));
    }
    if let Some(previous) = &row.slot_id {
        store::free_place(conn, previous).await?;
    }
    let mut next = row.clone();
    next.status = HandoverStatus::Booked;
    next.slot_id = Some(slot.id);
    next.booked_by = Some(by);
    next.booked_at = Some(services.clock.now());
    next.version += 1;
    if !store::update_handover(conn, &next, row.version).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    Ok(next)
}

/// Books an appointment for the buyer (at the desk, on the phone).
pub async fn book(
    services: &Services,
    actor: &Actor,
    id: &HandoverId,
    slot_id: Option<&str>,
) -> ServiceResult<Handover> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    let before = row.slot_id.clone();
    let row = book_in(services, &tx, row, slot_id, actor.by()).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover.book",
            record_type: "handover",
            record_id: id.as_str(),
            before: Some(serde_json::json!({"slot_id": before})),
            after: Some(serde_json::json!({"slot_id": row.slot_id})),
        },
    )
    .await?;
    let view = view(services, &tx, actor, row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(view)
}

/// What the buyer sees behind their link: their unit, their appointment and
/// the places still free; nothing about money beyond whether it blocks.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Booking {
    pub project_name: String,
    pub building_name: String,
    pub unit_number: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: HandoverStatus,
    pub appointment: Option<Slot>,
    /// Periods from today on with a place free.
    pub slots: Vec<Slot>,
    /// Money still owed stands in the way of booking: the buyer is asked to call.
    pub payment_outstanding: bool,
}

async fn by_token<C: Connection>(conn: &C, token: &str) -> ServiceResult<HandoverRow> {
    // Tokens are 32 hex digits; anything else is no handover, without a lookup.
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::NotFound("handover"));
    }
    store::handover_by_token_hash(conn, &crate::sha256_hex(token.as_bytes()))
        .await?
        .ok_or(ServiceError::NotFound("handover"))
}

async fn booking_of<C: Connection>(services: &Services, conn: &C, row: &HandoverRow) -> ServiceResult<Booking> {
    let project = loupan_store::inventory::find_project(conn, &row.project_id).await?;
    let building = loupan_store::inventory::find_building(conn, &row.building_id).await?;
    let unit = loupan_store::inventory::find_unit(conn, &row.unit_id).await?;
    let contract =
        loupan_store::sales::find_contract(conn, &row.contract_id).await?.ok_or(ServiceError::NotFound("handover"))?;
    let payment_outstanding = blocking_items(conn, &contract, None).await?.iter().any(BlockingItem::is_money);
    let today = services.clock.today();
    let all = store::slots_of_building(conn, &row.building_id, Some(today)).await?;
    let appointment = row.slot_id.as_ref().and_then(|id| all.iter().find(|s| &s.id == id)).cloned().map(Slot::from);
    let appointment = match (appointment, &row.slot_id) {
        (None, Some(id)) => store::find_slot(conn, id).await?.map(Slot::from),
        (a, _) => a,
    };
    Ok(Booking {
        project_name: project.map(|p| p.name).unwrap_or_default(),
        building_name: building.map(|b| b.name).unwrap_or_default(),
        unit_number: unit.map(|u| u.number).unwrap_or_default(),
        status: row.status,
        appointment,
        slots: all.into_iter().filter(|s| s.booked < s.capacity).map(Slot::from).collect(),
        payment_outstanding,
    })
}

/// The handover behind a buyer's link (no login); 404 for an unknown link.
pub async fn booking(services: &Services, token: &str) -> ServiceResult<Booking> {
    let conn = services.store.conn();
    let row = by_token(conn, token).await?;
    booking_of(services, conn, &row).await
}

/// The buyer books (or moves) their appointment through their link.
pub async fn book_by_link(services: &Services, token: &str, slot_id: Option<&str>) -> ServiceResult<Booking> {
    let tx = services.store.begin_write().await?;
    let row = by_token(&tx, token).await?;
    rate_limit::admit(&tx, &format!("handover_booking:{}", row.id), PER_LINK).await?;
    let mut buyer = Actor::system("handover_link");
    buyer.display_name = "买受人".into();
    let before = row.slot_id.clone();
    let row = book_in(services, &tx, row, slot_id, "buyer".to_owned()).await?;
    audit::record(
        &tx,
        &buyer,
        Change {
            action: "handover.book",
            record_type: "handover",
            record_id: row.id.as_str(),
            before: Some(serde_json::json!({"slot_id": before})),
            after: Some(serde_json::json!({"slot_id": row.slot_id, "by": "buyer"})),
        },
    )
    .await?;
    let booking = booking_of(services, &tx, &row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(booking)
}

// ---------------------------------------------------------------------------
// On the day

/// The buyer arrives (签到) with documents; ticking more documents later is
/// the same call. Refused with the money items named while money is owed.
pub async fn check_in(
    services: &Services,
    actor: &Actor,
    id: &HandoverId,
    documents: &[String],
) -> ServiceResult<Handover> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    if row.status == HandoverStatus::HandedOver {
        return Err(ServiceError::Conflict("handed_over"));
    }
    let rules = rules_of(&tx, &row.project_id).await?;
    let mut errors = Invalid::default();
    for (i, d) in documents.iter().enumerate() {
        if !rules.documents.iter().any(|r| r == d.trim()) {
            errors.push(format!("documents[{i}]"), "unknown_document");
        }
    }
    errors.into_result()?;
    let contract =
        loupan_store::sales::find_contract(&tx, &row.contract_id).await?.ok_or(ServiceError::NotFound("contract"))?;
    if row.status != HandoverStatus::CheckedIn {
        let money: Vec<BlockingItem> =
            blocking_items(&tx, &contract, None).await?.into_iter().filter(BlockingItem::is_money).collect();
        refuse_if_blocked(&money)?;
    }
    let now = services.clock.now();
    let mut received = received_documents(&row)?;
    for d in documents {
        let name = d.trim();
        if !received.iter().any(|r| r.name == name) {
            received.push(ReceivedDocument { name: name.to_owned(), received_by: actor.by(), received_at: now });
        }
    }
    let mut next = row.clone();
    if row.status != HandoverStatus::CheckedIn {
        next.status = HandoverStatus::CheckedIn;
        next.checked_in_by = Some(actor.by());
        next.checked_in_at = Some(now);
    }
    next.documents = serde_json::to_string(&received).map_err(ServiceError::internal)?;
    next.version += 1;
    if !store::update_handover(&tx, &next, row.version).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover.check_in",
            record_type: "handover",
            record_id: id.as_str(),
            before: Some(serde_json::json!({"status": row.status})),
            after: Some(serde_json::json!({"status": next.status, "documents": documents})),
        },
    )
    .await?;
    let view = view(services, &tx, actor, next).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(view)
}

#[derive(Debug, Clone, Default)]
pub struct NewDefect {
    pub room: Option<String>,
    pub item: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub contractor: Option<String>,
}

/// A remark of the inspection, a defect for engineering with its deadline by severity.
pub async fn add_defect(services: &Services, actor: &Actor, id: &HandoverId, form: NewDefect) -> ServiceResult<Defect> {
    actor.require(Permission::ManageAftersales)?;
    let mut errors = Invalid::default();
    let room = required_text(&mut errors, "room", form.room.as_deref(), 40);
    let item = match form.item.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("item", "required");
            None
        }
        Some(t) => WarrantyItem::parse(t).or_else(|| {
            errors.push("item", "unknown_item");
            None
        }),
    };
    let severity = match form.severity.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push("severity", "required");
            None
        }
        Some(t) => DefectSeverity::parse(t).or_else(|| {
            errors.push("severity", "unknown_severity");
            None
        }),
    };
    let description = required_text(&mut errors, "description", form.description.as_deref(), 500);
    let contractor = optional_text(&mut errors, "contractor", form.contractor.as_deref(), 100);
    errors.into_result()?;
    let (Some(item), Some(severity)) = (item, severity) else {
        return Err(Invalid::one("item", "required").into());
    };
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    if row.status != HandoverStatus::CheckedIn {
        return Err(ServiceError::Conflict("not_checked_in"));
    }
    let rules = rules_of(&tx, &row.project_id).await?;
    let now = services.clock.now();
    let defect = DefectRow {
        id: DefectId::from(loupan_store::new_id()),
        handover_id: row.id.clone(),
        project_id: row.project_id.clone(),
        unit_id: row.unit_id.clone(),
        number: store::next_defect_number(&tx, &row.id).await?,
        room,
        item,
        severity,
        description,
        contractor,
        status: DefectStatus::Open,
        found_by: actor.by(),
        found_at: now,
        due_at: now + rules.deadline(severity),
        rectified_by: None,
        rectified_at: None,
        rectify_note: None,
        accepted_by: None,
        accepted_at: None,
        rejections: 0,
        reinspect_note: None,
        escalated_at: None,
        version: 1,
    };
    match store::insert_defect(&tx, &defect).await {
        Ok(()) => {}
        // Two remarks typed at once on two tablets took the same number.
        Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("stale_version")),
        Err(e) => return Err(e.into()),
    }
    tell(&tx, &defect).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover_defect.create",
            record_type: "handover_defect",
            record_id: defect.id.as_str(),
            before: None,
            after: Some(serde_json::json!({
                "handover_id": row.id, "number": defect.number, "room": defect.room, "item": item,
                "severity": severity, "due_at": defect.due_at,
            })),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(defect_view(defect, now, Vec::new()))
}

async fn visible_defect<C: Connection>(conn: &C, actor: &Actor, id: &DefectId) -> ServiceResult<DefectRow> {
    actor.require(Permission::ReadAftersales)?;
    match store::find_defect(conn, id).await? {
        Some(r) if actor.sees_project(&r.project_id) => Ok(r),
        _ => Err(ServiceError::NotFound("handover_defect")),
    }
}

pub async fn defect(services: &Services, actor: &Actor, id: &DefectId) -> ServiceResult<Defect> {
    let conn = services.store.conn();
    let row = visible_defect(conn, actor, id).await?;
    let photos = photos_of(conn, &[id.as_str()]).await?.remove(id.as_str()).unwrap_or_default();
    Ok(defect_view(row, services.clock.now(), photos))
}

/// Tells engineering (the project's project managers) of a defect to
/// rectify, or its finder that it awaits their re-inspection; in the
/// caller's transaction.
async fn tell<C: Connection>(conn: &C, defect: &DefectRow) -> ServiceResult<()> {
    let (kind, to) = match defect.status {
        DefectStatus::Open => {
            let role = loupan_domain::Role::ProjectManager.name();
            let engineers =
                loupan_store::approvals::users_with_role(conn, role, Some(&defect.project_id), false).await?;
            (NotificationKind::DefectToRectify, engineers)
        }
        DefectStatus::Rectified => {
            let finder = UserId::from(defect.found_by.as_str());
            // Found by Loupan itself (the demo, an import): nobody to tell.
            let known = loupan_store::users::find_user(conn, &finder).await?.is_some();
            (NotificationKind::DefectRectified, if known { vec![finder] } else { Vec::new() })
        }
        DefectStatus::Accepted => return Ok(()),
    };
    if to.is_empty() {
        return Ok(());
    }
    let unit = loupan_store::inventory::find_unit(conn, &defect.unit_id).await?.map(|u| u.number).unwrap_or_default();
    let title = format!("{unit} · {} · {}", defect.room, defect.description);
    let link = format!("/aftersales/handovers/{}#defect-{}", defect.handover_id, defect.number);
    let notice = Notice { kind, title: &title, title_said: None, body: "", link: &link };
    notifications::notify(conn, &to, &notice).await
}

async fn move_defect(
    services: &Services,
    actor: &Actor,
    id: &DefectId,
    action: &'static str,
    change: impl FnOnce(&DefectRow, &mut DefectRow) -> ServiceResult<()>,
) -> ServiceResult<Defect> {
    let tx = services.store.begin_write().await?;
    let row = visible_defect(&tx, actor, id).await?;
    let mut next = row.clone();
    change(&row, &mut next)?;
    next.version += 1;
    if !store::update_defect(&tx, &next, row.version).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    tell(&tx, &next).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action,
            record_type: "handover_defect",
            record_id: id.as_str(),
            before: Some(serde_json::json!({"status": row.status, "due_at": row.due_at})),
            after: Some(serde_json::json!({
                "status": next.status, "due_at": next.due_at,
                "note": next.reinspect_note.as_ref().filter(|_| next.status == DefectStatus::Open).or(next.rectify_note.as_ref()),
            })),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    let photos = photos_of(services.store.conn(), &[id.as_str()]).await?.remove(id.as_str()).unwrap_or_default();
    Ok(defect_view(next, services.clock.now(), photos))
}

/// Engineering says a defect is fixed (整改完成); it awaits re-inspection.
pub async fn rectify(services: &Services, actor: &Actor, id: &DefectId, note: Option<&str>) -> ServiceResult<Defect> {
    actor.require(Permission::RectifyDefects)?;
    let mut errors = Invalid::default();
    let note = optional_text(&mut errors, "note", note, 500);
    errors.into_result()?;
    let now = services.clock.now();
    move_defect(services, actor, id, "handover_defect.rectify", |row, next| {
        if row.status != DefectStatus::Open {
            return Err(ServiceError::Conflict("defect_not_open"));
        }
        next.status = DefectStatus::Rectified;
        next.rectified_by = Some(actor.by());
        next.rectified_at = Some(now);
        next.rectify_note = note;
        Ok(())
    })
    .await
}

/// Re-inspection (复验) of a rectified defect: accepted, or open again with a
/// new deadline and the reason (required).
pub async fn reinspect(
    services: &Services,
    actor: &Actor,
    id: &DefectId,
    accepted: Option<bool>,
    note: Option<&str>,
) -> ServiceResult<Defect> {
    actor.require(Permission::ManageAftersales)?;
    let mut errors = Invalid::default();
    let note = optional_text(&mut errors, "note", note, 500);
    match accepted {
        None => errors.push("accepted", "required"),
        // Found again: the buyer and engineering are told why.
        Some(false) if note.is_none() => errors.push("note", "needed_to_reject"),
        Some(_) => {}
    }
    errors.into_result()?;
    let accepted = accepted == Some(true);
    let now = services.clock.now();
    let rules = {
        let conn = services.store.conn();
        let row = visible_defect(conn, actor, id).await?;
        rules_of(conn, &row.project_id).await?
    };
    move_defect(services, actor, id, "handover_defect.reinspect", |row, next| {
        if row.status != DefectStatus::Rectified {
            return Err(ServiceError::Conflict("defect_not_rectified"));
        }
        if accepted {
            next.status = DefectStatus::Accepted;
            next.accepted_by = Some(actor.by());
            next.accepted_at = Some(now);
        } else {
            next.status = DefectStatus::Open;
            next.rejections += 1;
            next.due_at = now + rules.deadline(row.severity);
            // A new deadline, told again when it passes.
            next.escalated_at = None;
            next.rectified_by = None;
            next.rectified_at = None;
        }
        next.reinspect_note = note;
        Ok(())
    })
    .await
}

/// The `defect_deadlines` job: each open defect past its deadline is told
/// once to the project's project managers and to whoever found it, whatever
/// the number of instances (claimed by a conditional update). Returns how
/// many were told.
pub async fn check_defect_deadlines(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let overdue = store::overdue_untold(services.store.conn(), now, 500).await?;
    let mut told = 0;
    for defect in overdue {
        let tx = services.store.begin_write().await?;
        if !store::claim_overdue(&tx, &defect.id, now).await? {
            continue;
        }
        let role = loupan_domain::Role::ProjectManager.name();
        let mut to = loupan_store::approvals::users_with_role(&tx, role, Some(&defect.project_id), false).await?;
        let finder = UserId::from(defect.found_by.as_str());
        if loupan_store::users::find_user(&tx, &finder).await?.is_some() {
            to.push(finder);
        }
        let unit =
            loupan_store::inventory::find_unit(&tx, &defect.unit_id).await?.map(|u| u.number).unwrap_or_default();
        let title = format!("{unit} · {} · {}", defect.room, defect.description);
        let link = format!("/aftersales/handovers/{}#defect-{}", defect.handover_id, defect.number);
        let notice =
            Notice { kind: NotificationKind::DefectOverdue, title: &title, title_said: None, body: "", link: &link };
        notifications::notify(&tx, &to, &notice).await?;
        tx.commit().await.map_err(ServiceError::internal)?;
        told += 1;
    }
    Ok(told)
}

/// Defects for engineering, the soonest due first; `limit` after `offset`, and how many in all.
pub async fn defects(
    services: &Services,
    actor: &Actor,
    project: Option<&ProjectId>,
    status: Option<&str>,
    overdue: bool,
    (offset, limit): (u64, u64),
) -> ServiceResult<(Vec<Defect>, u64)> {
    actor.require(Permission::ReadAftersales)?;
    if let Some(p) = project
        && !actor.sees_project(p)
    {
        return Ok((Vec::new(), 0));
    }
    let now = services.clock.now();
    let filter = DefectFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project: project.cloned(),
        status: crate::error::status_filter::<DefectStatus>("status", status)?,
        overdue_at: overdue.then_some(now),
        contractor: None,
    };
    let (rows, total) = store::list_defects(services.store.conn(), &filter, (offset, limit)).await?;
    Ok((rows.into_iter().map(|r| defect_view(r, now, Vec::new())).collect(), total))
}

// ---------------------------------------------------------------------------
// The keys

#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub keys: Vec<(String, Option<i64>)>,
    pub meters: Vec<(String, String)>,
    /// The buyer takes the keys with defects still open (listed on the record).
    pub accept_open_defects: bool,
}

/// A meter's reading: a non-negative decimal with at most three places.
fn reading(text: &str) -> Option<String> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 3
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(t.contains('.') && frac.is_empty());
    ok.then(|| t.to_owned())
}

/// Hands the keys over: everything in the settlement check must be clear,
/// every defect accepted unless the buyer accepts them open. The unit becomes
/// `handed_over`, the handover process case closes, the warranty starts.
pub async fn complete(
    services: &Services,
    actor: &Actor,
    id: &HandoverId,
    form: Completion,
) -> ServiceResult<Handover> {
    actor.require(Permission::ManageAftersales)?;
    let mut errors = Invalid::default();
    let mut keys = Vec::new();
    for (i, (name, count)) in form.keys.iter().enumerate() {
        let name = required_text(&mut errors, &format!("keys[{i}].name"), Some(name), 40);
        match count.and_then(|c| u32::try_from(c).ok()).filter(|c| (1..=99).contains(c)) {
            Some(count) if !name.is_empty() => keys.push(KeyLine { name, count }),
            Some(_) => {}
            None => errors.push(format!("keys[{i}].count"), "out_of_range"),
        }
    }
    if form.keys.is_empty() {
        errors.push("keys", "required");
    }
    let mut meters = Vec::new();
    for (i, (meter, value)) in form.meters.iter().enumerate() {
        let meter = required_text(&mut errors, &format!("meters[{i}].meter"), Some(meter), 40);
        match reading(value) {
            Some(reading) if !meter.is_empty() => meters.push(MeterReading { meter, reading }),
            Some(_) => {}
            None => errors.push(format!("meters[{i}].reading"), "invalid_reading"),
        }
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    match row.status {
        HandoverStatus::CheckedIn => {}
        HandoverStatus::HandedOver => return Err(ServiceError::Conflict("handed_over")),
        _ => return Err(ServiceError::Conflict("not_checked_in")),
    }
    let contract =
        loupan_store::sales::find_contract(&tx, &row.contract_id).await?.ok_or(ServiceError::NotFound("contract"))?;
    if contract.status != ContractStatus::Active {
        return Err(ServiceError::Conflict("contract_not_active"));
    }
    let rules = rules_of(&tx, &row.project_id).await?;
    refuse_if_blocked(&blocking_items(&tx, &contract, Some((&rules, &row))).await?)?;
    let open = store::defects_of(&tx, &row.id).await?.iter().filter(|d| d.status != DefectStatus::Accepted).count();
    if open > 0 && !form.accept_open_defects {
        let mut refused = Invalid::default();
        refused.push_with("accept_open_defects", "defects_open", vec![("count", open.to_string())]);
        return Err(refused.into());
    }
    let now = services.clock.now();
    let today = services.clock.today();
    if !loupan_store::sales::change_unit_status(&tx, &row.unit_id, UnitStatus::Contracted, UnitStatus::HandedOver, now)
        .await?
    {
        return Err(ServiceError::Conflict("unit_not_contracted"));
    }
    crate::sales::unit_event(
        &tx,
        (actor, now),
        &row.unit_id,
        UnitEventKind::HandedOver,
        (UnitStatus::Contracted, UnitStatus::HandedOver),
        Some(&contract.number),
    )
    .await?;
    let mut next = row.clone();
    next.status = HandoverStatus::HandedOver;
    next.keys = Some(serde_json::to_string(&keys).map_err(ServiceError::internal)?);
    next.meters = Some(serde_json::to_string(&meters).map_err(ServiceError::internal)?);
    next.open_defects_accepted = open > 0;
    next.handed_over_on = Some(today);
    next.handed_over_at = Some(now);
    next.handed_over_by = Some(actor.by());
    next.version += 1;
    if !store::update_handover(&tx, &next, row.version).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    super::processes::close_by_handover(&tx, actor, &row.contract_id, (now, today)).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover.complete",
            record_type: "handover",
            record_id: id.as_str(),
            before: Some(serde_json::json!({"status": row.status})),
            after: Some(serde_json::json!({
                "status": next.status, "keys": keys, "meters": meters, "open_defects": open, "handed_over_on": today,
            })),
        },
    )
    .await?;
    let change = UnitChange {
        unit_id: row.unit_id.clone(),
        building_id: row.building_id.clone(),
        status: UnitStatus::HandedOver,
    };
    live::announce_in_tx(services, &tx, &change).await?;
    let view = view(services, &tx, actor, next).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    live::announce_after_commit(services, change);
    Ok(view)
}

/// The warranty of a unit handed over; empty before its handover.
pub async fn warranty(services: &Services, actor: &Actor, unit_id: &UnitId) -> ServiceResult<Vec<Warranty>> {
    let unit = crate::inventory::get_unit(services, actor, unit_id).await?;
    let conn = services.store.conn();
    let Some(on) = store::handed_over_on(conn, unit_id).await? else { return Ok(Vec::new()) };
    let rules = rules_of(conn, &unit.project_id).await?;
    Ok(warranty_of(&rules, on, services.clock.today()))
}

// ---------------------------------------------------------------------------
// The record

fn severity_text(s: DefectSeverity) -> &'static str {
    match s {
        DefectSeverity::Urgent => "紧急",
        DefectSeverity::Normal => "一般",
        DefectSeverity::Minor => "轻微",
    }
}

fn item_text(i: WarrantyItem) -> &'static str {
    match i {
        WarrantyItem::Structure => "地基基础和主体结构",
        WarrantyItem::Waterproofing => "防水",
        WarrantyItem::HeatingCooling => "供热与供冷系统",
        WarrantyItem::Electrical => "电气管线",
        WarrantyItem::Plumbing => "给排水管道",
        WarrantyItem::Decoration => "装修工程",
    }
}

fn status_text(s: DefectStatus) -> &'static str {
    match s {
        DefectStatus::Open => "待整改",
        DefectStatus::Rectified => "待复验",
        DefectStatus::Accepted => "已验收",
    }
}

/// Table cells cannot hold the table's own bars or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "／").replace(['\n', '\r'], " ")
}

/// The handover record (交房确认书) as the company's letter markup: the unit,
/// the keys, the meters, the defects and the warranty, for both to sign.
pub fn record_text(h: &Handover, project_name: &str, company: &str) -> String {
    let mut t = String::new();
    t.push_str("@logo 25 right\n# 房屋交付确认书\n\n");
    t.push_str(&format!(
        "项目：{}　楼栋：{}　房号：{}\n合同编号：{}　买受人：{}\n交付日期：{}\n\n",
        cell(project_name),
        cell(&h.building_name),
        cell(&h.unit_number),
        cell(&h.contract_number),
        cell(&h.customer_name),
        h.handed_over_on.map(|d| d.format("%Y年%m月%d日").to_string()).unwrap_or_default(),
    ));
    t.push_str("## 钥匙\n\n| 名称 | 数量 |\n|---|---:|\n");
    for k in &h.keys {
        t.push_str(&format!("| {} | {} |\n", cell(&k.name), k.count));
    }
    t.push_str("\n## 表具读数\n\n| 表具 | 读数 |\n|---|---:|\n");
    for m in &h.meters {
        t.push_str(&format!("| {} | {} |\n", cell(&m.meter), m.reading));
    }
    t.push_str("\n## 验房记录\n\n");
    if h.defects.is_empty() {
        t.push_str("验房未发现问题。\n");
    } else {
        t.push_str("| 序号 | 位置 | 项目 | 问题 | 程度 | 状态 |\n|---:|---|---|---|---|---|\n");
        for d in &h.defects {
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                d.number,
                cell(&d.room),
                item_text(d.item),
                cell(&d.description),
                severity_text(d.severity),
                status_text(d.status),
            ));
        }
        if h.open_defects_accepted {
            t.push_str("\n买受人同意先行收房，上列未验收问题由开发企业按期整改。\n");
        }
    }
    t.push_str("\n## 保修期\n\n| 保修项目 | 保修期 | 至 |\n|---|---|---|\n");
    for w in &h.warranty {
        let period = if w.months % 12 == 0 { format!("{} 年", w.months / 12) } else { format!("{} 个月", w.months) };
        t.push_str(&format!("| {} | {} | {} |\n", item_text(w.item), period, w.until.format("%Y年%m月%d日")));
    }
    t.push_str("\n买受人（签字）：　　　　　　　　　　交付经办人：\n\n");
    t.push_str(&format!("@right {} {} 客户服务中心\n", cell(company), cell(project_name)));
    t
}

/// The handover record as a PDF letter; 409 `not_handed_over` before the keys.
pub async fn record_pdf(services: &Services, actor: &Actor, id: &HandoverId) -> ServiceResult<Vec<u8>> {
    let h = handover(services, actor, id).await?;
    if h.status != HandoverStatus::HandedOver {
        return Err(ServiceError::Conflict("not_handed_over"));
    }
    let conn = services.store.conn();
    let project = loupan_store::inventory::find_project(conn, &h.project_id).await?.map(|p| p.name).unwrap_or_default();
    let company = crate::notices::letterhead::stored(services).await?.name;
    crate::notices::printed::print_apart(services, vec![record_text(&h, &project, &company)], false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plain_decimals() {
        assert_eq!(reading(" 12.5 ").as_deref(), Some("12.5"));
        assert_eq!(reading("0").as_deref(), Some("0"));
        assert_eq!(reading("3.125").as_deref(), Some("3.125"));
        for bad in ["", "-1", "1.", ".5", "1.2345", "1e3", "十"] {
            assert_eq!(reading(bad), None, "{bad}");
        }
    }
}
