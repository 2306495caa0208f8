//! Service processes after the contract (A1, A2): the company's definitions,
//! versioned, and the cases that follow one contract through them.
//!
//! Signing a contract starts the cases its definitions start on: contract
//! registration for every contract, the mortgage and the provident-fund loan
//! by the contract's payment method. After-sales staff start the others by
//! hand. Each case is at one step at a time; the step is on the workbench of
//! the people with its role in the project (a sales agent's step only on the
//! contract's agent's), is done once its documents are ticked as received,
//! and the next step's deadline counts from then. The scheduled
//! `process_deadlines` job reminds before a deadline and escalates the day
//! after it, each once per step.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::Permission;
use loupan_domain::ids::{BuildingId, ContractId, ProcessCaseId, ProcessDefinitionId, ProjectId, UnitId, UserId};
use loupan_domain::inventory::PropertyType;
use loupan_domain::processes::{
    self as rules, Applicability, DeadlineFrom, FeeAmount, Place, ProcessKind, ProcessStatus, StartEvent,
    StepDefinition, StepFee,
};
use loupan_domain::sales::{ContractStatus, PaymentMethodKind};
use loupan_domain::{Invalid, Money, Role};
use loupan_store::Connection;
use loupan_store::processes::{self as store, Alarm, CaseFilter, CaseRow, DefinitionRow, DocumentRow, Move, StepRow};
use serde::{Deserialize, Serialize};

use crate::platform::audit::{self, Change};
use crate::platform::notifications::{self, Notice};
use crate::{Actor, ServiceError, ServiceResult, Services};
use loupan_domain::platform::NotificationKind;

/// A version of a process definition.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub id: ProcessDefinitionId,
    /// Shared by every version of the definition.
    pub lineage_id: ProcessDefinitionId,
    pub version: i32,
    pub kind: ProcessKind,
    pub name: String,
    pub start_event: StartEvent,
    pub city: Option<String>,
    pub project_id: Option<ProjectId>,
    pub property_type: Option<PropertyType>,
    pub steps: Vec<StepDefinition>,
    /// The newest version (cases started earlier keep theirs).
    pub current: bool,
    /// Applies nowhere any more.
    pub retired: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl Definition {
    fn applicability(&self) -> Applicability {
        Applicability {
            city: self.city.clone(),
            project_id: self.project_id.clone(),
            property_type: self.property_type,
        }
    }
}

fn definition_of(row: DefinitionRow) -> ServiceResult<Definition> {
    Ok(Definition {
        steps: serde_json::from_str(&row.steps).map_err(ServiceError::internal)?,
        id: row.id,
        lineage_id: row.lineage_id,
        version: row.version,
        kind: row.kind,
        name: row.name,
        start_event: row.start_event,
        city: row.city,
        project_id: row.project_id,
        property_type: row.property_type,
        current: row.current,
        retired: row.retired,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

/// A definition the actor may read: the company's and its cities', and
/// those of the projects they see.
fn readable(actor: &Actor, d: &Definition) -> bool {
    d.project_id.as_ref().is_none_or(|p| actor.sees_project(p))
}

/// A definition the actor may change: a project's by its after-sales
/// managers, the company's and a city's only by someone who sees every project.
fn check_may_edit(actor: &Actor, project_id: Option<&ProjectId>) -> ServiceResult<()> {
    actor.require(Permission::ManageAftersales)?;
    match project_id {
        Some(p) if !actor.sees_project(p) => Err(ServiceError::NotFound("project")),
        None if actor.visible_projects().is_some() => Err(ServiceError::Forbidden),
        _ => Ok(()),
    }
}

/// The current version of every definition the actor may read, by kind.
pub async fn definitions(services: &Services, actor: &Actor) -> ServiceResult<Vec<Definition>> {
    actor.require(Permission::ReadAftersales)?;
    let mut out = Vec::new();
    for row in store::current_definitions(services.store.conn()).await? {
        let d = definition_of(row)?;
        if readable(actor, &d) {
            out.push(d);
        }
    }
    out.sort_by_key(|d| (d.retired, d.kind.name(), d.project_id.is_some(), d.city.is_some()));
    Ok(out)
}

/// A version of a definition and the versions of its lineage (newest first).
pub async fn definition(
    services: &Services,
    actor: &Actor,
    id: &ProcessDefinitionId,
) -> ServiceResult<(Definition, Vec<Definition>)> {
    actor.require(Permission::ReadAftersales)?;
    let conn = services.store.conn();
    let row = store::find_definition(conn, id).await?.ok_or(ServiceError::NotFound("process_definition"))?;
    let d = definition_of(row)?;
    if !readable(actor, &d) {
        return Err(ServiceError::NotFound("process_definition"));
    }
    let versions =
        store::versions(conn, &d.lineage_id).await?.into_iter().map(definition_of).collect::<ServiceResult<_>>()?;
    Ok((d, versions))
}

/// A fee of a step as typed: a fixed amount or a formula.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FeeForm {
    pub name: Option<String>,
    pub amount: Option<String>,
    pub formula: Option<String>,
}

/// A step as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepForm {
    pub name: Option<String>,
    pub role: Option<String>,
    pub due_days: Option<String>,
    /// `previous_step` (default) or `start`.
    pub from: Option<String>,
    #[serde(default)]
    pub documents: Vec<String>,
    #[serde(default)]
    pub fees: Vec<FeeForm>,
    pub remind_days_before: Option<String>,
}

/// A definition as typed: a new one, or the next version of one.
#[derive(Debug, Clone, Default)]
pub struct DefinitionForm {
    /// Only for a new definition; a version keeps its lineage's kind.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub start_event: Option<String>,
    pub city: Option<String>,
    pub project_id: Option<String>,
    pub property_type: Option<String>,
    pub steps: Vec<StepForm>,
    pub retired: bool,
    /// The version the editor read; another saved meanwhile is a 409.
    pub version: Option<i32>,
}

fn days(errors: &mut Invalid, field: String, text: Option<&str>, default: Option<u32>) -> u32 {
    match (text.map(str::trim).filter(|t| !t.is_empty()), default) {
        (None, Some(d)) => d,
        (None, None) => {
            errors.push(field, "required");
            0
        }
        (Some(t), _) => t.parse::<u32>().unwrap_or_else(|_| {
            errors.push(field, "invalid_number");
            0
        }),
    }
}

fn steps_of_form(errors: &mut Invalid, forms: &[StepForm]) -> Vec<StepDefinition> {
    let mut steps = Vec::new();
    for (i, f) in forms.iter().enumerate() {
        let at = |field: &str| format!("steps[{i}].{field}");
        let role = match f.role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => {
                errors.push(at("role"), "required");
                Role::Aftersales
            }
            Some(r) => Role::parse(r).unwrap_or_else(|| {
                errors.push(at("role"), "unknown_role");
                Role::Aftersales
            }),
        };
        let from = match f.from.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => DeadlineFrom::PreviousStep,
            Some(t) => DeadlineFrom::parse(t).unwrap_or_else(|| {
                errors.push(at("from"), "unknown_value");
                DeadlineFrom::PreviousStep
            }),
        };
        let due_days = days(errors, at("due_days"), f.due_days.as_deref(), None);
        let remind_days_before = days(errors, at("remind_days_before"), f.remind_days_before.as_deref(), Some(0));
        let mut fees = Vec::new();
        for (j, fee) in f.fees.iter().enumerate() {
            let fee_at = |field: &str| at(&format!("fees[{j}].{field}"));
            let amount = fee.amount.as_deref().map(str::trim).filter(|t| !t.is_empty());
            let formula = fee.formula.as_deref().map(str::trim).filter(|t| !t.is_empty());
            let amount = match (amount, formula) {
                (Some(_), Some(_)) => {
                    errors.push(fee_at("formula"), "amount_or_formula");
                    continue;
                }
                (None, None) => {
                    errors.push(fee_at("amount"), "amount_or_formula");
                    continue;
                }
                (Some(a), None) => match Money::parse(a) {
                    Ok(m) => FeeAmount::Fixed(m),
                    Err(e) => {
                        errors.push(fee_at("amount"), e.code());
                        continue;
                    }
                },
                (None, Some(text)) => FeeAmount::Formula(text.to_owned()),
            };
            fees.push(StepFee { name: fee.name.clone().unwrap_or_default().trim().to_owned(), amount });
        }
        steps.push(StepDefinition {
            name: f.name.clone().unwrap_or_default().trim().to_owned(),
            role,
            due_days,
            from,
            documents: f.documents.iter().map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()).collect(),
            fees,
            remind_days_before,
        });
    }
    if let Err(problems) = rules::check_steps(&steps) {
        for (field, code) in problems {
            // A field already refused as typed is named once.
            if !errors.0.iter().any(|e| e.field == field) {
                errors.push(field, code);
            }
        }
    }
    steps
}

fn optional<T>(
    errors: &mut Invalid,
    field: &'static str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    let parsed = parse(text);
    if parsed.is_none() {
        errors.push(field, "unknown_value");
    }
    parsed
}

/// Saves a new definition (`lineage` none) or the next version of one.
pub async fn save_definition(
    services: &Services,
    actor: &Actor,
    lineage: Option<&ProcessDefinitionId>,
    form: DefinitionForm,
) -> ServiceResult<Definition> {
    actor.require(Permission::ManageAftersales)?;
    let conn = services.store.conn();
    let previous = match lineage {
        Some(id) => {
            let row = store::find_definition(conn, id).await?.ok_or(ServiceError::NotFound("process_definition"))?;
            let latest = store::versions(conn, &row.lineage_id)
                .await?
                .into_iter()
                .next()
                .ok_or(ServiceError::NotFound("process_definition"))?;
            let d = definition_of(latest)?;
            if !readable(actor, &d) {
                return Err(ServiceError::NotFound("process_definition"));
            }
            check_may_edit(actor, d.project_id.as_ref())?;
            Some(d)
        }
        None => None,
    };
    let mut errors = Invalid::default();
    let kind = match &previous {
        Some(p) => Some(p.kind),
        None => match form.kind.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => {
                errors.push("kind", "needed_for_a_new_definition");
                None
            }
            Some(t) => ProcessKind::parse(t).or_else(|| {
                errors.push("kind", "unknown_value");
                None
            }),
        },
    };
    let name = loupan_domain::validation::required_text(&mut errors, "name", form.name.as_deref(), 60);
    let start_event = optional(&mut errors, "start_event", form.start_event.as_deref(), StartEvent::parse)
        .unwrap_or(StartEvent::Manual);
    let city = loupan_domain::validation::optional_text(&mut errors, "city", form.city.as_deref(), 40);
    let project_id =
        form.project_id.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| ProjectId::from(t.to_owned()));
    let property_type = optional(&mut errors, "property_type", form.property_type.as_deref(), PropertyType::parse);
    let steps = steps_of_form(&mut errors, &form.steps);
    if previous.is_some() && form.version.is_none() {
        errors.push("version", "needed_for_a_new_version");
    }
    if let Some(p) = &project_id
        && (!actor.sees_project(p) || loupan_store::inventory::find_project(conn, p).await?.is_none())
    {
        errors.push("project_id", "unknown_project");
    }
    errors.into_result()?;
    check_may_edit(actor, project_id.as_ref())?;
    let kind = kind.ok_or_else(|| ServiceError::internal("a checked form has a kind"))?;
    let now = services.clock.now();
    let id = ProcessDefinitionId::from(loupan_store::new_id());
    let (lineage_id, version) = match &previous {
        Some(p) => (p.lineage_id.clone(), p.version + 1),
        None => (id.clone(), 1),
    };
    let row = DefinitionRow {
        id,
        lineage_id,
        version,
        kind,
        name,
        start_event,
        city,
        project_id,
        property_type,
        steps: serde_json::to_string(&steps).map_err(ServiceError::internal)?,
        current: true,
        retired: form.retired,
        created_by: actor.by(),
        created_at: now,
    };
    let tx = services.store.begin_write().await?;
    if let Some(p) = &previous
        && (Some(p.version) != form.version || !store::supersede(&tx, &p.lineage_id, p.version).await?)
    {
        return Err(ServiceError::Conflict("stale_version"));
    }
    match store::insert_definition(&tx, &row).await {
        Ok(()) => {}
        Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("stale_version")),
        Err(e) => return Err(e.into()),
    }
    let saved = definition_of(row)?;
    audit::record(
        &tx,
        actor,
        Change {
            action: if previous.is_some() { "process_definition.version" } else { "process_definition.create" },
            record_type: "process_definition",
            record_id: saved.lineage_id.as_str(),
            before: match &previous {
                Some(p) => audit::snapshot(p)?,
                None => None,
            },
            after: audit::snapshot(&saved)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(saved)
}

/// The most specific current definition of `kind` for a unit, among those
/// that start on `event` (any when none is given).
async fn applicable<C: Connection>(
    conn: &C,
    kind: ProcessKind,
    event: Option<StartEvent>,
    place: Place<'_>,
) -> ServiceResult<Option<Definition>> {
    let current = current_in_force(conn).await?;
    Ok(choose(&current, kind, event, place).cloned())
}

/// The current versions that apply somewhere (not retired).
async fn current_in_force<C: Connection>(conn: &C) -> ServiceResult<Vec<Definition>> {
    let mut out = Vec::new();
    for row in store::current_definitions(conn).await? {
        if !row.retired {
            out.push(definition_of(row)?);
        }
    }
    Ok(out)
}

/// Of `current`, the most specific definition of `kind` for a place, among
/// those that start on `event` (any when none is given).
fn choose<'a>(
    current: &'a [Definition],
    kind: ProcessKind,
    event: Option<StartEvent>,
    place: Place<'_>,
) -> Option<&'a Definition> {
    let ranked: Vec<(Applicability, &Definition)> = current
        .iter()
        .filter(|d| d.kind == kind && event.is_none_or(|e| d.start_event == e))
        .map(|d| (d.applicability(), d))
        .collect();
    rules::most_specific(ranked.iter().map(|(a, d)| (a, *d)), place)
}

/// The rows of a new case: every step's deadline projected from the start
/// as if each step were done on its deadline (a step's row takes its real
/// deadline when it becomes current).
fn new_case(
    d: &Definition,
    contract: &loupan_store::sales::ContractRow,
    building_id: &BuildingId,
    (started_on, started_by, now): (NaiveDate, String, DateTime<Utc>),
) -> ServiceResult<(CaseRow, Vec<StepRow>)> {
    let id = ProcessCaseId::from(loupan_store::new_id());
    let mut steps = Vec::new();
    let mut previous = None;
    for (i, s) in d.steps.iter().enumerate() {
        let due = rules::step_due(s, started_on, previous);
        previous = Some(due);
        steps.push(StepRow {
            case_id: id.clone(),
            position: i as i32,
            name: s.name.clone(),
            role: s.role.name().to_owned(),
            due_on: due,
            done_on: None,
            done_at: None,
            done_by: None,
            note: None,
            reminded_at: None,
            escalated_at: None,
        });
    }
    let first = d.steps.first().ok_or_else(|| ServiceError::internal("a definition without steps"))?;
    let due = steps[0].due_on;
    let row = CaseRow {
        id,
        definition_id: d.id.clone(),
        kind: d.kind,
        project_id: contract.project_id.clone(),
        building_id: building_id.clone(),
        unit_id: contract.unit_id.clone(),
        contract_id: contract.id.clone(),
        status: ProcessStatus::Open,
        started_on,
        started_by,
        started_at: now,
        current_position: Some(0),
        current_step: Some(first.name.clone()),
        current_role: Some(first.role.name().to_owned()),
        assignee_id: assignee(first.role, contract),
        due_on: Some(due),
        remind_on: Some(rules::remind_on(first, due)),
        reminded_at: None,
        escalated_at: None,
        closed_at: None,
        closed_by: None,
        cancel_reason: None,
        disbursement_receipt_id: None,
        disbursed_amount: None,
        disbursed_on: None,
        lender: None,
        version: 1,
    };
    Ok((row, steps))
}

/// A sales agent's step is the contract's agent's; any other role's belongs
/// to everyone with the role in the project.
fn assignee(role: Role, contract: &loupan_store::sales::ContractRow) -> Option<UserId> {
    (role == Role::SalesAgent).then(|| contract.agent_id.clone())
}

/// The fees a step collects on the buyer's behalf (代收), billed when the step
/// becomes current: each a `fee` instalment on the contract's plan, due on the
/// step's deadline (formulas on the surveyed areas once known). Returns what
/// was billed, for the record.
async fn bill_fees<C: Connection>(
    conn: &C,
    contract: &loupan_store::sales::ContractRow,
    step: &StepDefinition,
    due: NaiveDate,
) -> ServiceResult<Vec<(String, Money)>> {
    if step.fees.is_empty() || contract.status != ContractStatus::Active {
        return Ok(Vec::new());
    }
    let unit =
        loupan_store::inventory::find_unit(conn, &contract.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let plan = loupan_store::sales::instalments_of(conn, &contract.id).await?;
    let mut seq = plan.iter().map(|i| i.seq + 1).max().unwrap_or(0);
    let (mut rows, mut billed) = (Vec::new(), Vec::new());
    for fee in &step.fees {
        let gross = unit.measured_gross_area.unwrap_or(unit.gross_area);
        let inner = unit.measured_inner_area.unwrap_or(unit.inner_area);
        let Some(amount) = rules::fee_amount(&fee.amount, contract.total_price, gross, inner) else { continue };
        rows.push(loupan_store::sales::InstalmentRow {
            id: loupan_store::new_id(),
            contract_id: contract.id.clone(),
            seq,
            kind: loupan_domain::sales::TermKind::Fee,
            due_date: due,
            amount,
            paid: Money::ZERO,
        });
        seq += 1;
        billed.push((fee.name.clone(), amount));
    }
    loupan_store::sales::insert_instalments(conn, &rows).await?;
    Ok(billed)
}

/// The processes a contract signed on a payment method of `method` starts.
pub fn started_by_signing(method: PaymentMethodKind) -> &'static [ProcessKind] {
    match method {
        PaymentMethodKind::CommercialMortgage => &[ProcessKind::Registration, ProcessKind::Mortgage],
        PaymentMethodKind::ProvidentFund => &[ProcessKind::Registration, ProcessKind::ProvidentFund],
        PaymentMethodKind::Combined => &[ProcessKind::Registration, ProcessKind::Mortgage, ProcessKind::ProvidentFund],
        PaymentMethodKind::OneOff | PaymentMethodKind::Instalments => &[ProcessKind::Registration],
    }
}

/// Starts, in the signing's transaction, the cases a new contract starts.
pub(crate) async fn start_on_signing<C: Connection>(
    conn: &C,
    contract: &loupan_store::sales::ContractRow,
    unit: &loupan_store::inventory::UnitRow,
    method: PaymentMethodKind,
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let project = loupan_store::inventory::find_project(conn, &contract.project_id)
        .await?
        .ok_or(ServiceError::NotFound("project"))?;
    let place = Place { city: &project.city, project_id: &contract.project_id, property_type: unit.property_type };
    let mut started = 0;
    let current = current_in_force(conn).await?;
    for kind in started_by_signing(method) {
        if let Some(d) = choose(&current, *kind, Some(StartEvent::ContractSigned), place) {
            let (row, steps) =
                new_case(d, contract, &unit.building_id, (contract.signed_on, "contract_signed".to_owned(), now))?;
            store::insert_case(conn, &row, &steps).await?;
            if let (Some(first), Some(due)) = (d.steps.first(), row.due_on) {
                bill_fees(conn, contract, first, due).await?;
            }
            started += 1;
        }
    }
    Ok(started)
}

/// A step of a case, as the case page shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProcessCaseStep {
    pub position: i32,
    pub name: String,
    pub role: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    pub done_by: Option<String>,
    pub note: Option<String>,
    pub reminded: bool,
    pub escalated: bool,
    pub documents: Vec<ProcessCaseDocument>,
    /// The fees the step collects on the buyer's behalf (代收), for this contract.
    pub fees: Vec<ProcessCaseFee>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProcessCaseDocument {
    pub name: String,
    pub received_at: Option<DateTime<Utc>>,
    pub received_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProcessCaseFee {
    pub name: String,
    /// None: the formula gives no fee for this contract.
    pub amount: Option<Money>,
}

/// A case in a list or on the workbench.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProcessCaseSummary {
    pub id: ProcessCaseId,
    pub kind: ProcessKind,
    pub project_id: ProjectId,
    pub building_id: BuildingId,
    pub unit_id: UnitId,
    pub unit_number: String,
    pub contract_id: ContractId,
    pub contract_number: String,
    pub customer_name: String,
    pub status: ProcessStatus,
    pub started_on: NaiveDate,
    pub current_position: Option<i32>,
    pub current_step: Option<String>,
    pub current_role: Option<String>,
    pub assignee_id: Option<UserId>,
    pub due_on: Option<NaiveDate>,
    /// The current step is past its deadline.
    pub overdue: bool,
    pub escalated: bool,
}

/// A case with its steps.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProcessCase {
    #[serde(flatten)]
    pub summary: ProcessCaseSummary,
    pub definition_id: ProcessDefinitionId,
    pub definition_name: String,
    pub definition_version: i32,
    /// `contract_signed`, `building_ready`, or who started it by hand.
    pub started_by: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub steps: Vec<ProcessCaseStep>,
    /// Whether the reader may do the current step and tick its documents.
    pub may_work: bool,
    pub may_cancel: bool,
    /// A loan case: the bank's disbursement, once recorded (a receipt on the contract).
    pub disbursement: Option<Disbursement>,
    /// The reader may record the disbursement (a loan case without one, finance staff).
    pub may_disburse: bool,
    /// Send it back with an action; another's meanwhile is a 409.
    pub version: i64,
}

async fn summaries<C: Connection>(
    conn: &C,
    rows: Vec<CaseRow>,
    today: NaiveDate,
) -> ServiceResult<Vec<ProcessCaseSummary>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut unit_ids: Vec<UnitId> = rows.iter().map(|r| r.unit_id.clone()).collect();
    unit_ids.sort();
    unit_ids.dedup();
    let mut contract_ids: Vec<ContractId> = rows.iter().map(|r| r.contract_id.clone()).collect();
    contract_ids.sort();
    contract_ids.dedup();
    let units: HashMap<UnitId, String> =
        loupan_store::inventory::units_by_ids(conn, &unit_ids).await?.into_iter().map(|u| (u.id, u.number)).collect();
    let contracts = loupan_store::finance::contracts_by_ids(conn, &contract_ids).await?;
    let mut customer_ids: Vec<_> = contracts.iter().map(|c| c.customer_id.clone()).collect();
    customer_ids.sort();
    customer_ids.dedup();
    let customers: HashMap<_, String> = loupan_store::customers::customers_by_ids(conn, &customer_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let contracts: HashMap<ContractId, (String, String)> = contracts
        .into_iter()
        .map(|c| (c.id, (c.number, customers.get(&c.customer_id).cloned().unwrap_or_default())))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (contract_number, customer_name) = contracts.get(&r.contract_id).cloned().unwrap_or_default();
            ProcessCaseSummary {
                unit_number: units.get(&r.unit_id).cloned().unwrap_or_default(),
                contract_number,
                customer_name,
                overdue: r.status == ProcessStatus::Open && r.due_on.is_some_and(|d| d < today),
                escalated: r.escalated_at.is_some(),
                id: r.id,
                kind: r.kind,
                project_id: r.project_id,
                building_id: r.building_id,
                unit_id: r.unit_id,
                contract_id: r.contract_id,
                status: r.status,
                started_on: r.started_on,
                current_position: r.current_position,
                current_step: r.current_step,
                current_role: r.current_role,
                assignee_id: r.assignee_id,
                due_on: r.due_on,
            }
        })
        .collect())
}

/// Who may read cases: after-sales, and everyone who deals with contracts.
fn check_may_read(actor: &Actor) -> ServiceResult<()> {
    if actor.can(Permission::ReadAftersales) || actor.can(Permission::ReadDeals) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// Whether the actor may do a step of `role` in the case: they hold the role
/// in the project (a sales agent only on their own contract), or manage after-sales.
fn may_work_step(actor: &Actor, row: &CaseRow, role: &str) -> bool {
    if !actor.sees_project(&row.project_id) {
        return false;
    }
    if actor.can(Permission::ManageAftersales) {
        return true;
    }
    let Some(role) = Role::parse(role) else { return false };
    actor.has_role(role) && (role != Role::SalesAgent || row.assignee_id.is_none() || row.assignee_id == actor.user_id)
}

/// The agent whose deals alone the actor sees (a sales agent), if any.
fn own_deals_only(actor: &Actor) -> Option<UserId> {
    match actor.customer_scope() {
        Some(loupan_domain::access::DataScope::Own) => {
            Some(actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str())))
        }
        _ => None,
    }
}

/// Whether the actor sees a contract's cases: its project, and for an agent only their own deals.
async fn sees_contract<C: Connection>(conn: &C, actor: &Actor, contract_id: &ContractId) -> ServiceResult<bool> {
    let Some(contract) = loupan_store::sales::find_contract(conn, contract_id).await? else { return Ok(false) };
    Ok(actor.sees_project(&contract.project_id) && own_deals_only(actor).is_none_or(|me| contract.agent_id == me))
}

async fn visible<C: Connection>(conn: &C, actor: &Actor, id: &ProcessCaseId) -> ServiceResult<CaseRow> {
    check_may_read(actor)?;
    match store::find_case(conn, id).await? {
        Some(row) if actor.sees_project(&row.project_id) => {
            if own_deals_only(actor).is_some() && !sees_contract(conn, actor, &row.contract_id).await? {
                return Err(ServiceError::NotFound("process_case"));
            }
            Ok(row)
        }
        _ => Err(ServiceError::NotFound("process_case")),
    }
}

pub async fn case(services: &Services, actor: &Actor, id: &ProcessCaseId) -> ServiceResult<ProcessCase> {
    let conn = services.store.conn();
    let row = visible(conn, actor, id).await?;
    case_of(services, conn, actor, row).await
}

async fn case_of<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    row: CaseRow,
) -> ServiceResult<ProcessCase> {
    let definition = store::find_definition(conn, &row.definition_id)
        .await?
        .ok_or(ServiceError::NotFound("process_definition"))
        .and_then(definition_of)?;
    let step_rows = store::steps_of(conn, &row.id).await?;
    let received = store::documents_of(conn, &row.id).await?;
    let contract = loupan_store::sales::find_contract(conn, &row.contract_id).await?;
    let unit = loupan_store::inventory::find_unit(conn, &row.unit_id).await?;
    let mut steps = Vec::new();
    for s in step_rows {
        let defined = definition.steps.get(s.position as usize);
        let documents = defined
            .map(|d| d.documents.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|name| {
                let got = received.iter().find(|r| r.position == s.position && &r.document == name);
                ProcessCaseDocument {
                    name: name.clone(),
                    received_at: got.map(|r| r.received_at),
                    received_by: got.map(|r| r.received_by.clone()),
                }
            })
            .collect();
        let fees = match (defined, &contract, &unit) {
            (Some(d), Some(c), Some(u)) => d
                .fees
                .iter()
                .map(|f| ProcessCaseFee {
                    name: f.name.clone(),
                    amount: rules::fee_amount(
                        &f.amount,
                        c.total_price,
                        u.measured_gross_area.unwrap_or(u.gross_area),
                        u.measured_inner_area.unwrap_or(u.inner_area),
                    ),
                })
                .collect(),
            _ => Vec::new(),
        };
        steps.push(ProcessCaseStep {
            position: s.position,
            name: s.name,
            role: s.role,
            due_on: s.due_on,
            done_on: s.done_on,
            done_by: s.done_by,
            note: s.note,
            reminded: s.reminded_at.is_some(),
            escalated: s.escalated_at.is_some(),
            documents,
            fees,
        });
    }
    let may_work = row.status == ProcessStatus::Open
        && row.current_role.as_deref().is_some_and(|role| may_work_step(actor, &row, role));
    let may_cancel = row.status == ProcessStatus::Open && actor.can(Permission::ManageAftersales);
    let disbursement = match (&row.disbursement_receipt_id, row.disbursed_amount, row.disbursed_on) {
        (Some(receipt_id), Some(amount), Some(on)) => Some(Disbursement {
            receipt_id: receipt_id.clone(),
            amount,
            received_on: on,
            lender: row.lender.clone().unwrap_or_default(),
        }),
        _ => None,
    };
    let may_disburse = is_loan(row.kind)
        && row.status == ProcessStatus::Open
        && disbursement.is_none()
        && actor.can(Permission::RecordReceipts);
    let version = row.version;
    let (definition_id, started_by, closed_at, closed_by, cancel_reason) = (
        row.definition_id.clone(),
        row.started_by.clone(),
        row.closed_at,
        row.closed_by.clone(),
        row.cancel_reason.clone(),
    );
    let summary = summaries(conn, vec![row], services.clock.today()).await?.remove(0);
    Ok(ProcessCase {
        summary,
        definition_id,
        definition_name: definition.name,
        definition_version: definition.version,
        started_by,
        closed_at,
        closed_by,
        cancel_reason,
        steps,
        may_work,
        may_cancel,
        disbursement,
        may_disburse,
        version,
    })
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub project_id: Option<ProjectId>,
    pub building_id: Option<BuildingId>,
    pub kind: Option<ProcessKind>,
    pub status: Option<ProcessStatus>,
    /// Only cases whose current step is past its deadline.
    pub overdue: bool,
    /// Only cases whose current step is the reader's to do.
    pub mine: bool,
    pub offset: u64,
    pub limit: u64,
}

pub async fn cases(services: &Services, actor: &Actor, q: &CaseQuery) -> ServiceResult<(Vec<ProcessCaseSummary>, u64)> {
    check_may_read(actor)?;
    let conn = services.store.conn();
    let projects = match (&q.project_id, actor.visible_projects()) {
        (Some(p), _) if !actor.sees_project(p) => return Ok((Vec::new(), 0)),
        (Some(p), _) => Some(vec![p.clone()]),
        (None, visible) => visible.map(<[ProjectId]>::to_vec),
    };
    let today = services.clock.today();
    let mut filter = CaseFilter {
        projects,
        building: q.building_id.clone(),
        kind: q.kind,
        status: q.status,
        overdue_on: q.overdue.then_some(today),
        agent: own_deals_only(actor),
        ..CaseFilter::default()
    };
    if q.mine {
        filter.roles = Some(actor.roles.iter().map(|r| r.name().to_owned()).collect());
        filter.for_user = actor.user_id.clone();
    }
    let (rows, total) = store::list_cases(conn, &filter, (q.offset, q.limit.clamp(1, 200))).await?;
    let rows = rows.into_iter().filter(|r| !q.mine || may_work_current(actor, r)).collect();
    Ok((summaries(conn, rows, today).await?, total))
}

fn may_work_current(actor: &Actor, r: &CaseRow) -> bool {
    r.current_role.as_deref().is_some_and(|role| may_work_step(actor, r, role))
}

/// The steps on the reader's workbench: the current steps that are theirs,
/// the soonest due first, and how many there are.
pub async fn my_steps(services: &Services, actor: &Actor, limit: u64) -> ServiceResult<(Vec<ProcessCaseSummary>, u64)> {
    if actor.user_id.is_none() || !(actor.can(Permission::ReadAftersales) || actor.can(Permission::ReadDeals)) {
        return Ok((Vec::new(), 0));
    }
    cases(services, actor, &CaseQuery { mine: true, status: Some(ProcessStatus::Open), limit, ..CaseQuery::default() })
        .await
}

/// What doing a step says.
#[derive(Debug, Clone, Default)]
pub struct StepDone {
    /// The step the reader saw as current; another is a 409.
    pub position: Option<i32>,
    pub note: Option<String>,
    pub version: Option<i64>,
}

/// Marks the current step done (its documents all received) and moves the
/// case to the next step, whose deadline counts from today; the last closes it.
pub async fn complete_step(
    services: &Services,
    actor: &Actor,
    id: &ProcessCaseId,
    form: StepDone,
) -> ServiceResult<ProcessCase> {
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    let mut errors = Invalid::default();
    let note = loupan_domain::validation::optional_text(&mut errors, "note", form.note.as_deref(), 500);
    if form.position.is_none() {
        errors.push("position", "required");
    }
    if form.version.is_none() {
        errors.push("version", "required");
    }
    errors.into_result()?;
    if row.status != ProcessStatus::Open {
        return Err(ServiceError::Conflict("case_closed"));
    }
    let (Some(position), Some(role)) = (row.current_position, row.current_role.as_deref()) else {
        return Err(ServiceError::Conflict("case_closed"));
    };
    if !may_work_step(actor, &row, role) {
        return Err(ServiceError::Forbidden);
    }
    if form.position != Some(position) || form.version != Some(row.version) {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let definition = store::find_definition(&tx, &row.definition_id)
        .await?
        .ok_or(ServiceError::NotFound("process_definition"))
        .and_then(definition_of)?;
    let step =
        definition.steps.get(position as usize).ok_or_else(|| ServiceError::internal("a case past its steps"))?;
    let received = store::documents_of(&tx, &row.id).await?;
    let missing: Vec<&str> = step
        .documents
        .iter()
        .filter(|d| !received.iter().any(|r| r.position == position && &r.document == *d))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let mut errors = Invalid::default();
        errors.push_with("documents", "documents_missing", vec![("documents", missing.join("、"))]);
        return Err(errors.into());
    }
    let now = services.clock.now();
    let today = services.clock.today();
    store::finish_step(&tx, &row.id, position, (&actor.by(), now, today), note.as_deref()).await?;
    let next = position + 1;
    let contract =
        loupan_store::sales::find_contract(&tx, &row.contract_id).await?.ok_or(ServiceError::NotFound("contract"))?;
    // The steps still to do are due again as if each were done on its deadline from today.
    let mut previous = Some(today);
    for (i, s) in definition.steps.iter().enumerate().skip(next as usize) {
        let due = rules::step_due(s, row.started_on, previous);
        store::set_step_due(&tx, &row.id, i as i32, due).await?;
        previous = Some(due);
    }
    let to = match definition.steps.get(next as usize) {
        Some(s) => {
            let due = rules::step_due(s, row.started_on, Some(today));
            Move {
                status: ProcessStatus::Open,
                current: Some((
                    next,
                    s.name.clone(),
                    s.role.name().to_owned(),
                    assignee(s.role, &contract),
                    due,
                    rules::remind_on(s, due),
                )),
                closed: None,
                cancel_reason: None,
            }
        }
        None => Move {
            status: ProcessStatus::Completed,
            current: None,
            closed: Some((actor.by(), now)),
            cancel_reason: None,
        },
    };
    let billing = to.current.as_ref().map(|(_, _, _, _, due, _)| *due);
    if !store::move_case(&tx, &row.id, row.version, to).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let billed = match (definition.steps.get(next as usize), billing) {
        (Some(s), Some(due)) => bill_fees(&tx, &contract, s, due).await?,
        _ => Vec::new(),
    };
    audit::record(
        &tx,
        actor,
        Change {
            action: "process_case.step_done",
            record_type: "process_case",
            record_id: row.id.as_str(),
            before: Some(serde_json::json!({"step": step.name, "position": position})),
            after: Some(serde_json::json!({
                "position": definition.steps.get(next as usize).map(|_| next),
                "note": note,
                "fees_billed": billed,
            })),
        },
    )
    .await?;
    commit_moved(services, tx, actor, &row.id).await
}

/// Ticks a document of a step not yet done as received (by whom, when).
pub async fn receive_document(
    services: &Services,
    actor: &Actor,
    id: &ProcessCaseId,
    position: i32,
    document: &str,
) -> ServiceResult<ProcessCase> {
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    if row.status != ProcessStatus::Open {
        return Err(ServiceError::Conflict("case_closed"));
    }
    let steps = store::steps_of(&tx, &row.id).await?;
    let step = steps.iter().find(|s| s.position == position).ok_or(ServiceError::NotFound("step"))?;
    if !may_work_step(actor, &row, &step.role) {
        return Err(ServiceError::Forbidden);
    }
    if step.done_at.is_some() {
        return Err(ServiceError::Conflict("step_done"));
    }
    let definition = store::find_definition(&tx, &row.definition_id)
        .await?
        .ok_or(ServiceError::NotFound("process_definition"))
        .and_then(definition_of)?;
    let document = document.trim();
    let listed = definition.steps.get(position as usize).is_some_and(|s| s.documents.iter().any(|d| d == document));
    if !listed {
        return Err(Invalid::one("document", "not_listed").into());
    }
    let received = DocumentRow {
        case_id: row.id.clone(),
        position,
        document: document.to_owned(),
        received_at: services.clock.now(),
        received_by: actor.by(),
    };
    if store::receive_document(&tx, &received).await? {
        audit::record(
            &tx,
            actor,
            Change {
                action: "process_case.document_received",
                record_type: "process_case",
                record_id: row.id.as_str(),
                before: None,
                after: Some(serde_json::json!({"step": step.name, "document": document})),
            },
        )
        .await?;
    }
    let case = case_of(services, &tx, actor, row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(case)
}

/// Starts a case of `kind` for a contract by hand, on the most specific
/// current definition; one live case of a kind per contract.
pub async fn start_case(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
    kind: Option<&str>,
) -> ServiceResult<ProcessCase> {
    actor.require(Permission::ManageAftersales)?;
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => return Err(Invalid::one("kind", "required").into()),
        Some(k) => ProcessKind::parse(k).ok_or_else(|| Invalid::one("kind", "unknown_value"))?,
    };
    let tx = services.store.begin_write().await?;
    let contract = match loupan_store::sales::find_contract(&tx, contract_id).await? {
        Some(c) if sees_contract(&tx, actor, contract_id).await? => c,
        _ => return Err(Invalid::one("contract_id", "unknown_contract").into()),
    };
    if contract.status != ContractStatus::Active {
        return Err(ServiceError::Conflict("contract_not_active"));
    }
    if store::live_case_of(&tx, contract_id, kind).await?.is_some() {
        return Err(ServiceError::Conflict("case_exists"));
    }
    let unit =
        loupan_store::inventory::find_unit(&tx, &contract.unit_id).await?.ok_or(ServiceError::NotFound("unit"))?;
    let project = loupan_store::inventory::find_project(&tx, &contract.project_id)
        .await?
        .ok_or(ServiceError::NotFound("project"))?;
    let place = Place { city: &project.city, project_id: &contract.project_id, property_type: unit.property_type };
    let d = applicable(&tx, kind, None, place).await?.ok_or(ServiceError::Conflict("no_definition"))?;
    let (row, steps) =
        new_case(&d, &contract, &unit.building_id, (services.clock.today(), actor.by(), services.clock.now()))?;
    match store::insert_case(&tx, &row, &steps).await {
        Ok(()) => {}
        Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("case_exists")),
        Err(e) => return Err(e.into()),
    }
    if let (Some(first), Some(due)) = (d.steps.first(), row.due_on) {
        bill_fees(&tx, &contract, first, due).await?;
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "process_case.start",
            record_type: "process_case",
            record_id: row.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"kind": kind, "contract_id": contract.id, "definition_id": d.id})),
        },
    )
    .await?;
    commit_moved(services, tx, actor, &row.id).await
}

/// Stops an open case (a loan refused, a contract rescinded); another of its
/// kind may then start.
pub async fn cancel_case(
    services: &Services,
    actor: &Actor,
    id: &ProcessCaseId,
    reason: Option<&str>,
    version: Option<i64>,
) -> ServiceResult<ProcessCase> {
    actor.require(Permission::ManageAftersales)?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    let mut errors = Invalid::default();
    let reason = loupan_domain::validation::required_text(&mut errors, "reason", reason, 200);
    if version.is_none() {
        errors.push("version", "required");
    }
    errors.into_result()?;
    if row.status != ProcessStatus::Open {
        return Err(ServiceError::Conflict("case_closed"));
    }
    let to = Move {
        status: ProcessStatus::Cancelled,
        current: None,
        closed: Some((actor.by(), services.clock.now())),
        cancel_reason: Some(reason.clone()),
    };
    if version != Some(row.version) || !store::move_case(&tx, &row.id, row.version, to).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "process_case.cancel",
            record_type: "process_case",
            record_id: row.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"reason": reason})),
        },
    )
    .await?;
    commit_moved(services, tx, actor, &row.id).await
}

/// The cases of a contract, for its page.
pub async fn cases_of_contract(
    services: &Services,
    actor: &Actor,
    contract_id: &ContractId,
) -> ServiceResult<Vec<ProcessCaseSummary>> {
    check_may_read(actor)?;
    let conn = services.store.conn();
    if !sees_contract(conn, actor, contract_id).await? {
        return Err(ServiceError::NotFound("contract"));
    }
    let rows = store::cases_of_contract(conn, contract_id).await?;
    summaries(conn, rows, services.clock.today()).await
}

/// A case moved: open service boards of its building hear of it (inside the
/// transaction on PostgreSQL; the returned change is broadcast after the
/// commit on SQLite).
async fn announce_in_tx<C: Connection>(
    services: &Services,
    conn: &C,
    row: &CaseRow,
) -> ServiceResult<Option<crate::platform::live::UnitChange>> {
    let Some(unit) = loupan_store::inventory::find_unit(conn, &row.unit_id).await? else { return Ok(None) };
    let change =
        crate::platform::live::UnitChange { unit_id: unit.id, building_id: unit.building_id, status: unit.status };
    crate::platform::live::announce_activity_in_tx(services, conn, &change).await?;
    Ok(Some(change))
}

/// The keys were handed over: the contract's open handover case is done,
/// each step still open marked done by the handover (in its transaction).
pub(crate) async fn close_by_handover<C: Connection>(
    conn: &C,
    actor: &Actor,
    contract_id: &ContractId,
    (now, today): (DateTime<Utc>, NaiveDate),
) -> ServiceResult<()> {
    let Some(row) = store::live_case_of(conn, contract_id, ProcessKind::Handover).await? else { return Ok(()) };
    if row.status != ProcessStatus::Open {
        return Ok(());
    }
    for step in store::steps_of(conn, &row.id).await? {
        if step.done_at.is_none() {
            store::finish_step(conn, &row.id, step.position, (&actor.by(), now, today), Some("交房完成")).await?;
        }
    }
    let to =
        Move { status: ProcessStatus::Completed, current: None, closed: Some((actor.by(), now)), cancel_reason: None };
    if !store::move_case(conn, &row.id, row.version, to).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    audit::record(
        conn,
        actor,
        Change {
            action: "process_case.closed_by_handover",
            record_type: "process_case",
            record_id: row.id.as_str(),
            before: Some(serde_json::json!({"position": row.current_position})),
            after: None,
        },
    )
    .await?;
    Ok(())
}

fn announce_after_commit(services: &Services, change: Option<crate::platform::live::UnitChange>) {
    if let Some(change) = change {
        crate::platform::live::announce_after_commit(services, change);
    }
}

/// Commits a case's move and answers the case as it now stands; open boards hear of it.
async fn commit_moved(
    services: &Services,
    tx: loupan_store::Transaction,
    actor: &Actor,
    id: &ProcessCaseId,
) -> ServiceResult<ProcessCase> {
    let moved = store::find_case(&tx, id).await?.ok_or(ServiceError::NotFound("process_case"))?;
    let change = announce_in_tx(services, &tx, &moved).await?;
    let case = case_of(services, &tx, actor, moved).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    announce_after_commit(services, change);
    Ok(case)
}

fn link_of(id: &ProcessCaseId) -> String {
    format!("/aftersales/service-cases/{id}")
}

/// Reminds whoever does each current step on its reminder day and escalates
/// the day after its deadline, each once per step. Run by the scheduled
/// `process_deadlines` job; returns how many alarms it raised.
pub async fn check_deadlines(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let today = services.clock.date_of(now);
    let mut raised = 0;
    for alarm in [Alarm::Remind, Alarm::Escalate] {
        let due = store::due_alarms(services.store.conn(), alarm, today, 500).await?;
        let rows = summaries(services.store.conn(), due.clone(), today).await?;
        for (row, summary) in due.into_iter().zip(rows) {
            let tx = services.store.begin_write().await?;
            if !store::claim_alarm(&tx, &row, alarm, now).await? {
                continue;
            }
            let role = row.current_role.clone().unwrap_or_default();
            let doers = match &row.assignee_id {
                Some(user) => vec![user.clone()],
                None => loupan_store::approvals::users_with_role(&tx, &role, Some(&row.project_id), false).await?,
            };
            let recipients = match alarm {
                Alarm::Remind => doers,
                Alarm::Escalate => {
                    let mut managers = Vec::new();
                    for user in &doers {
                        if let Some(u) = loupan_store::users::find_user(&tx, user).await?
                            && let Some(manager) = u.manager_id
                        {
                            managers.push(manager);
                        }
                    }
                    if managers.is_empty() {
                        // Nobody named above them: the project's sales managers for an agent's
                        // step, the administrators otherwise.
                        let above = if role == Role::SalesAgent.name() { "sales_manager" } else { "admin" };
                        managers =
                            loupan_store::approvals::users_with_role(&tx, above, Some(&row.project_id), true).await?;
                    }
                    managers.sort();
                    managers.dedup();
                    managers
                }
            };
            let kind = match alarm {
                Alarm::Remind => NotificationKind::ProcessStepDueSoon,
                Alarm::Escalate => NotificationKind::ProcessStepOverdue,
            };
            let title = format!(
                "{} · {} · {}",
                summary.unit_number,
                summary.customer_name,
                row.current_step.as_deref().unwrap_or_default()
            );
            notifications::notify(
                &tx,
                &recipients,
                &Notice { kind, title: &title, title_said: None, body: "", link: &link_of(&row.id) },
            )
            .await?;
            tx.commit().await.map_err(ServiceError::internal)?;
            raised += 1;
        }
    }
    Ok(raised)
}

/// A unit's tile on the service board: where its case of the board's process stands.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BoardUnit {
    pub unit_id: UnitId,
    pub number: String,
    pub floor: i32,
    /// The unit's sales status, as the 销控图 shows it.
    pub unit_status: loupan_domain::inventory::UnitStatus,
    /// None: the unit has no case of this process (unsold, or not started).
    pub case_id: Option<ProcessCaseId>,
    pub case_status: Option<ProcessStatus>,
    pub position: Option<i32>,
    pub step: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub overdue: bool,
}

/// A step as the board's legend counts it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BoardStep {
    pub position: i32,
    pub name: String,
    pub units: u64,
    /// Of them, past the step's deadline.
    pub overdue: u64,
}

/// 服务看板: a building's units coloured by the step their case of one
/// process is at (the 销控图's grid), with the number of units at each step.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ServiceBoard {
    pub building_id: BuildingId,
    pub building_name: String,
    pub project_id: ProjectId,
    pub kind: ProcessKind,
    /// Every step some unit is at, in the process's order.
    pub steps: Vec<BoardStep>,
    pub completed: u64,
    /// Units without a case of the process.
    pub without_case: u64,
    /// By floor from the top, then by number.
    pub units: Vec<BoardUnit>,
    /// The day the building was declared ready for handover, if it was.
    pub ready_on: Option<NaiveDate>,
}

/// The board of a building for one process (after-sales readers of its project).
pub async fn board(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    kind: ProcessKind,
) -> ServiceResult<ServiceBoard> {
    actor.require(Permission::ReadAftersales)?;
    let (building, mut units) = crate::inventory::building_chart(services, actor, building_id).await?;
    let rows = store::cases_of_building(services.store.conn(), building_id, kind).await?;
    let ready_on = store::readiness_of(services.store.conn(), building_id).await?.map(|r| r.ready_on);
    // A unit sold again has the newest contract's case (rows come oldest first).
    let mut latest: HashMap<UnitId, CaseRow> = HashMap::new();
    for row in rows {
        latest.insert(row.unit_id.clone(), row);
    }
    let today = services.clock.today();
    units.sort_by(|a, b| b.floor.cmp(&a.floor).then_with(|| a.number.cmp(&b.number)));
    let mut steps: Vec<BoardStep> = Vec::new();
    let (mut completed, mut without_case) = (0, 0);
    let tiles = units
        .into_iter()
        .map(|u| {
            let case = latest.remove(&u.id);
            let overdue =
                case.as_ref().is_some_and(|c| c.status == ProcessStatus::Open && c.due_on.is_some_and(|d| d < today));
            match &case {
                None => without_case += 1,
                Some(c) if c.status == ProcessStatus::Completed => completed += 1,
                Some(c) => {
                    if let (Some(position), Some(name)) = (c.current_position, &c.current_step) {
                        match steps.iter_mut().find(|s| s.position == position && &s.name == name) {
                            Some(s) => {
                                s.units += 1;
                                s.overdue += u64::from(overdue);
                            }
                            None => steps.push(BoardStep {
                                position,
                                name: name.clone(),
                                units: 1,
                                overdue: u64::from(overdue),
                            }),
                        }
                    }
                }
            }
            BoardUnit {
                unit_id: u.id,
                number: u.number,
                floor: u.floor,
                unit_status: u.status,
                case_id: case.as_ref().map(|c| c.id.clone()),
                case_status: case.as_ref().map(|c| c.status),
                position: case.as_ref().and_then(|c| c.current_position),
                step: case.as_ref().and_then(|c| c.current_step.clone()),
                due_on: case.as_ref().and_then(|c| c.due_on),
                overdue,
            }
        })
        .collect();
    steps.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.name.cmp(&b.name)));
    Ok(ServiceBoard {
        building_id: building.id,
        building_name: building.name,
        project_id: building.project_id,
        kind,
        steps,
        completed,
        without_case,
        units: tiles,
        ready_on,
    })
}

/// A loan's disbursement as its case records it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Disbursement {
    /// The receipt that carries the money through audit to the plan.
    pub receipt_id: String,
    pub amount: Money,
    pub received_on: NaiveDate,
    /// The bank (or provident-fund centre) that paid.
    pub lender: String,
}

fn is_loan(kind: ProcessKind) -> bool {
    matches!(kind, ProcessKind::Mortgage | ProcessKind::ProvidentFund)
}

/// What finance types when the bank pays.
#[derive(Debug, Clone, Default)]
pub struct DisbursementForm {
    /// Decimal yuan; the contract's open loan instalments when empty.
    pub amount: Option<String>,
    pub received_on: Option<String>,
    pub lender: Option<String>,
    pub version: Option<i64>,
}

/// 放款: the bank paid the buyer's loan. Recorded as a receipt on the
/// contract (channel `mortgage_bank` or `provident_fund`, the bank as payer)
/// in the same transaction as the case's record of it, so it goes through
/// arrival and audit and settles the plan like any receipt.
pub async fn record_disbursement(
    services: &Services,
    actor: &Actor,
    id: &ProcessCaseId,
    form: DisbursementForm,
) -> ServiceResult<ProcessCase> {
    actor.require(Permission::RecordReceipts)?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    let mut errors = Invalid::default();
    let lender = loupan_domain::validation::required_text(&mut errors, "lender", form.lender.as_deref(), 100);
    if form.version.is_none() {
        errors.push("version", "required");
    }
    errors.into_result()?;
    if !is_loan(row.kind) {
        return Err(ServiceError::Conflict("not_a_loan"));
    }
    if row.status != ProcessStatus::Open {
        return Err(ServiceError::Conflict("case_closed"));
    }
    if row.disbursement_receipt_id.is_some() {
        return Err(ServiceError::Conflict("already_disbursed"));
    }
    if form.version != Some(row.version) {
        return Err(ServiceError::Conflict("stale_version"));
    }
    // A plan has one loan term (按揭款), whichever lender pays it.
    let term = loupan_domain::sales::TermKind::Mortgage;
    let amount = match form.amount.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => text.to_owned(),
        None => {
            let open: Money = loupan_store::sales::instalments_of(&tx, &row.contract_id)
                .await?
                .iter()
                .filter(|i| i.kind == term)
                .map(|i| i.amount - i.paid)
                .sum();
            if !open.is_positive() {
                return Err(Invalid::one("amount", "required").into());
            }
            open.to_string()
        }
    };
    let channel = match row.kind {
        ProcessKind::ProvidentFund => "provident_fund",
        _ => "mortgage_bank",
    };
    let receipt = crate::finance::record_receipt_in(
        services,
        &tx,
        actor,
        crate::finance::NewReceipt {
            contract_id: Some(row.contract_id.to_string()),
            amount: Some(amount),
            received_on: form.received_on.clone(),
            channel: Some(channel.to_owned()),
            payer: Some(lender.clone()),
            ..crate::finance::NewReceipt::default()
        },
    )
    .await?;
    let record = (receipt.id.as_str(), receipt.amount, receipt.received_on, lender.as_str());
    if !store::set_disbursement(&tx, &row.id, row.version, record).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "process_case.disbursement",
            record_type: "process_case",
            record_id: row.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"receipt_id": receipt.id, "amount": receipt.amount, "lender": lender})),
        },
    )
    .await?;
    commit_moved(services, tx, actor, &row.id).await
}

/// A building declared ready for handover (交付条件具备).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub building_id: BuildingId,
    pub ready_on: NaiveDate,
    pub declared_by: String,
    pub declared_at: DateTime<Utc>,
    /// Cases this declaration started (the title certificate, the handover).
    pub cases_started: usize,
    /// Handovers this declaration opened, each with its booking link.
    pub handovers_opened: usize,
}

/// Declares a building ready for handover on a day: every active contract
/// of its units starts the cases whose definitions start on
/// `building_ready`, counted from that day. Declared again (a later
/// contract, a moved date), it starts only the cases still missing.
pub async fn declare_ready(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
    ready_on: Option<&str>,
) -> ServiceResult<Readiness> {
    actor.require(Permission::ManageAftersales)?;
    let building = crate::inventory::get_building(services, actor, building_id).await?;
    let ready_on = match ready_on.map(str::trim).filter(|t| !t.is_empty()) {
        None => return Err(Invalid::one("ready_on", "required").into()),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| Invalid::one("ready_on", "invalid_date"))?,
    };
    let now = services.clock.now();
    let tx = services.store.begin_write().await?;
    let row =
        store::ReadinessRow { building_id: building.id.clone(), ready_on, declared_by: actor.by(), declared_at: now };
    store::set_readiness(&tx, &row).await?;
    let project = loupan_store::inventory::find_project(&tx, &building.project_id)
        .await?
        .ok_or(ServiceError::NotFound("project"))?;
    let units = loupan_store::inventory::units_of_building(&tx, building_id).await?;
    let unit_ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    let types: HashMap<UnitId, PropertyType> = units.iter().map(|u| (u.id.clone(), u.property_type)).collect();
    let current = current_in_force(&tx).await?;
    let kinds: Vec<ProcessKind> = ProcessKind::ALL
        .into_iter()
        .filter(|k| current.iter().any(|d| d.kind == *k && d.start_event == StartEvent::BuildingReady))
        .collect();
    // The contracts that already have a case of each kind, read once per kind.
    let mut existing = std::collections::HashSet::new();
    for kind in &kinds {
        for case in store::cases_of_building(&tx, building_id, *kind).await? {
            existing.insert((case.contract_id, *kind));
        }
    }
    let mut started = 0;
    let mut opened = 0;
    for chunk in unit_ids.chunks(500) {
        for contract in loupan_store::finance::active_contracts_of_units(&tx, chunk).await? {
            if super::handover::open_in(services, &tx, "building_ready", &contract, building_id, now).await? {
                opened += 1;
            }
            let Some(property_type) = types.get(&contract.unit_id).copied() else { continue };
            let place = Place { city: &project.city, project_id: &contract.project_id, property_type };
            for kind in &kinds {
                if existing.contains(&(contract.id.clone(), *kind)) {
                    continue;
                }
                let Some(d) = choose(&current, *kind, Some(StartEvent::BuildingReady), place) else { continue };
                let (case, steps) = new_case(d, &contract, building_id, (ready_on, "building_ready".to_owned(), now))?;
                match store::insert_case(&tx, &case, &steps).await {
                    Ok(()) => {}
                    Err(loupan_store::StoreError::Unique(_)) => return Err(ServiceError::Conflict("stale_version")),
                    Err(e) => return Err(e.into()),
                }
                if let (Some(first), Some(due)) = (d.steps.first(), case.due_on) {
                    bill_fees(&tx, &contract, first, due).await?;
                }
                started += 1;
            }
        }
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: "handover_readiness.declare",
            record_type: "building",
            record_id: building_id.as_str(),
            before: None,
            after: Some(
                serde_json::json!({"ready_on": ready_on, "cases_started": started, "handovers_opened": opened}),
            ),
        },
    )
    .await?;
    let change = match units.first() {
        Some(u) => {
            let change = crate::platform::live::UnitChange {
                unit_id: u.id.clone(),
                building_id: u.building_id.clone(),
                status: u.status,
            };
            crate::platform::live::announce_activity_in_tx(services, &tx, &change).await?;
            Some(change)
        }
        None => None,
    };
    tx.commit().await.map_err(ServiceError::internal)?;
    announce_after_commit(services, change);
    Ok(Readiness {
        building_id: row.building_id,
        ready_on,
        declared_by: row.declared_by,
        declared_at: now,
        cases_started: started,
        handovers_opened: opened,
    })
}

/// When a building was declared ready for handover, if it was.
pub async fn readiness(
    services: &Services,
    actor: &Actor,
    building_id: &BuildingId,
) -> ServiceResult<Option<NaiveDate>> {
    actor.require(Permission::ReadAftersales)?;
    crate::inventory::get_building(services, actor, building_id).await?;
    Ok(store::readiness_of(services.store.conn(), building_id).await?.map(|r| r.ready_on))
}
