//! What eats into the target: contract planning (合约规划), suppliers and the
//! cost contracts signed with them under each cost item's control, design
//! changes and site visas (estimated, then confirmed), and expected further
//! cost. Each posts its movement to the ledger in the transaction that
//! records it.

use loupan_domain::sentence::Sentence;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::approvals::{ApprovalStatus, RequestKind};
use loupan_domain::cost::{
    self as rules, Bucket, Control, ControlMode, CostContractKind, CostContractStatus, DocumentType, VariationKind,
    VariationStatus,
};
use loupan_domain::ids::{CostContractId, CostItemId, CostPostingId, PlanLineId, ProjectId, SupplierId, VariationId};
use loupan_domain::quantity::Percent;
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::cost::{
    self as store, ContractLineRow, CostContractRow, PlanLineRow, PostingRow, SupplierRow, VariationRow,
};
use serde::{Deserialize, Serialize};

use super::{by, document_date, money, positive_money, required_id, tree::leaves, visible_project};
use crate::approvals::{self, Outcome, Submission};
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// One ledger entry to write.
struct Post<'a> {
    project: &'a ProjectId,
    item: &'a CostItemId,
    bucket: Bucket,
    amount: Money,
    on: NaiveDate,
    document: (DocumentType, &'a str),
    note: Option<String>,
}

fn posting(services: &Services, actor: &Actor, p: Post<'_>) -> PostingRow {
    PostingRow {
        id: CostPostingId::from(loupan_store::new_id()),
        project_id: p.project.clone(),
        cost_item_id: p.item.clone(),
        bucket: p.bucket,
        amount: p.amount,
        posted_on: p.on,
        document_type: p.document.0,
        document_id: p.document.1.to_owned(),
        note: p.note,
        posted_by: by(actor),
        created_at: services.clock.now(),
    }
}

async fn record<T: Serialize>(
    tx: &loupan_store::Transaction,
    actor: &Actor,
    action: &str,
    record_type: &str,
    id: &str,
    after: &T,
) -> ServiceResult<()> {
    audit::record(
        tx,
        actor,
        Change { action, record_type, record_id: id, before: None, after: audit::snapshot(after)? },
    )
    .await
}

// ---- Suppliers ----

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Supplier {
    pub id: SupplierId,
    pub name: String,
    pub credit_code: String,
    pub qualifications: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub blacklisted: bool,
    pub created_at: DateTime<Utc>,
}

impl From<SupplierRow> for Supplier {
    fn from(r: SupplierRow) -> Self {
        Supplier {
            id: r.id,
            name: r.name,
            credit_code: r.credit_code,
            qualifications: r.qualifications,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            blacklisted: r.blacklisted,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewSupplier {
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub name: Option<String>,
    /// 统一社会信用代码, 18 characters with its check character.
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, pattern = "^[0-9A-HJ-NP-RTUW-Ya-hj-np-rtuw-y]{18}$")
    )]
    pub credit_code: Option<String>,
    pub qualifications: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

/// Registers a supplier (group-wide); the credit code is checked and unique.
pub async fn add_supplier(services: &Services, actor: &Actor, form: NewSupplier) -> ServiceResult<Supplier> {
    actor.require(Permission::ManageCost)?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let code = match form.credit_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => {
            errors.push("credit_code", "required");
            String::new()
        }
        Some(c) => rules::credit_code(c).unwrap_or_else(|e| {
            errors.push("credit_code", e.code());
            String::new()
        }),
    };
    let qualifications = optional_text(&mut errors, "qualifications", form.qualifications.as_deref(), 500);
    let contact_name = optional_text(&mut errors, "contact_name", form.contact_name.as_deref(), 50);
    let contact_phone = match optional_text(&mut errors, "contact_phone", form.contact_phone.as_deref(), 30) {
        Some(p)
            if p.chars().filter(char::is_ascii_digit).count() < 7
                || !p.chars().all(|c| c.is_ascii_digit() || " -+()".contains(c)) =>
        {
            errors.push("contact_phone", "invalid_phone");
            None
        }
        p => p,
    };
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    if store::supplier_by_credit_code(&tx, &code).await?.is_some() {
        return Err(Invalid::one("credit_code", "credit_code_taken").into());
    }
    let row = SupplierRow {
        id: loupan_store::new_id().into(),
        name,
        credit_code: code,
        qualifications,
        contact_name,
        contact_phone,
        blacklisted: false,
        created_by: by(actor),
        created_at: services.clock.now(),
    };
    store::insert_suppliers(&tx, std::slice::from_ref(&row)).await.map_err(|e| match e {
        loupan_store::StoreError::Unique(_) => Invalid::one("credit_code", "credit_code_taken").into(),
        e => ServiceError::from(e),
    })?;
    let supplier = Supplier::from(row);
    record(&tx, actor, "supplier.create", "supplier", supplier.id.as_str(), &supplier).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(supplier)
}

pub async fn suppliers(services: &Services, actor: &Actor) -> ServiceResult<Vec<Supplier>> {
    actor.require(Permission::ReadCost)?;
    Ok(store::suppliers(services.store.conn()).await?.into_iter().map(Supplier::from).collect())
}

pub async fn supplier(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Supplier> {
    actor.require(Permission::ReadCost)?;
    store::find_supplier(services.store.conn(), &SupplierId::from(id))
        .await?
        .map(Supplier::from)
        .ok_or(ServiceError::NotFound("supplier"))
}

/// Puts a supplier on the blacklist (no new contracts) or takes it off.
pub async fn set_blacklisted(
    services: &Services,
    actor: &Actor,
    id: &str,
    blacklisted: bool,
) -> ServiceResult<Supplier> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let id = SupplierId::from(id);
    let before = store::find_supplier(&tx, &id).await?.ok_or(ServiceError::NotFound("supplier"))?;
    store::set_blacklisted(&tx, &id, blacklisted).await?;
    let after = Supplier::from(SupplierRow { blacklisted, ..before.clone() });
    audit::record(
        &tx,
        actor,
        Change {
            action: if blacklisted { "supplier.blacklist" } else { "supplier.unblacklist" },
            record_type: "supplier",
            record_id: id.as_str(),
            before: audit::snapshot(&Supplier::from(before))?,
            after: audit::snapshot(&after)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(after)
}

// ---- Contract planning ----

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PlanLine {
    pub id: PlanLineId,
    pub project_id: ProjectId,
    pub cost_item_id: CostItemId,
    pub name: String,
    pub planned_amount: Money,
    pub contracted: Money,
    /// Planned, not yet signed (never below zero).
    pub balance: Money,
    pub tender_mode: Option<String>,
    pub planned_month: Option<String>,
}

impl From<PlanLineRow> for PlanLine {
    fn from(r: PlanLineRow) -> Self {
        let left = r.planned_amount - r.contracted;
        PlanLine {
            balance: if left.is_negative() { Money::ZERO } else { left },
            id: r.id,
            project_id: r.project_id,
            cost_item_id: r.cost_item_id,
            name: r.name,
            planned_amount: r.planned_amount,
            contracted: r.contracted,
            tender_mode: r.tender_mode,
            planned_month: r.planned_month,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewPlanLine {
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub cost_item_id: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 100)
    )]
    pub name: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::Positive))]
    pub planned_amount: Option<String>,
    /// 招标方式, e.g. 公开招标, 邀请招标, 直接委托.
    #[cfg_attr(feature = "utoipa", schema(max_length = 40))]
    pub tender_mode: Option<String>,
    /// `YYYY-MM`.
    #[cfg_attr(feature = "utoipa", schema(pattern = "^([0-9]{4}-(0[1-9]|1[0-2]))?$"))]
    pub planned_month: Option<String>,
}

/// Plans a contract under a leaf item; its amount is pending until signed.
pub async fn add_plan_line(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewPlanLine,
) -> ServiceResult<PlanLine> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    let mut errors = Invalid::default();
    let item = CostItemId::from(required_id(&mut errors, "cost_item_id", form.cost_item_id.as_deref()));
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let planned = positive_money(&mut errors, "planned_amount", form.planned_amount.as_deref());
    let tender_mode = optional_text(&mut errors, "tender_mode", form.tender_mode.as_deref(), 40);
    let planned_month = optional_text(&mut errors, "planned_month", form.planned_month.as_deref(), 7);
    if planned_month.as_deref().is_some_and(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err()) {
        errors.push("planned_month", "invalid_month");
    }
    if !item.as_str().is_empty() && !leaves(&tx, &project).await?.contains_key(&item) {
        errors.push("cost_item_id", "unknown_cost_item");
    }
    errors.into_result()?;
    let row = PlanLineRow {
        id: loupan_store::new_id().into(),
        project_id: project.clone(),
        cost_item_id: item.clone(),
        name,
        planned_amount: planned,
        contracted: Money::ZERO,
        tender_mode,
        planned_month,
        created_by: by(actor),
        created_at: services.clock.now(),
    };
    store::insert_plan_lines(&tx, std::slice::from_ref(&row)).await?;
    let post = posting(
        services,
        actor,
        Post {
            project: &project,
            item: &item,
            bucket: Bucket::Pending,
            amount: planned,
            on: services.clock.today(),
            document: (DocumentType::PlanLine, row.id.as_str()),
            note: None,
        },
    );
    store::insert_postings(&tx, &[post]).await?;
    let line = PlanLine::from(row);
    record(&tx, actor, "cost_plan_line.create", "cost_plan_line", line.id.as_str(), &line).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(line)
}

/// Changing a plan line's planned amount (合约规划调整).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PlanAdjustment {
    /// The planned amount it should have.
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::Positive))]
    pub planned_amount: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 500)
    )]
    pub reason: Option<String>,
}

/// Asks to change a plan line's planned amount: a `plan_adjustment` approval
/// (the project manager by default). Approved, the line moves and its pending
/// cost with it; until then nothing changes.
pub async fn request_plan_adjustment(
    services: &Services,
    actor: &Actor,
    line: &str,
    form: PlanAdjustment,
) -> ServiceResult<crate::approvals::Request> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let row = match store::find_plan_line(&tx, &PlanLineId::from(line)).await? {
        Some(l) if actor.sees_project(&l.project_id) => l,
        _ => return Err(ServiceError::NotFound("cost_plan_line")),
    };
    let mut errors = Invalid::default();
    let planned = positive_money(&mut errors, "planned_amount", form.planned_amount.as_deref());
    let reason = required_text(&mut errors, "reason", form.reason.as_deref(), 500);
    errors.into_result()?;
    let change = planned - row.planned_amount;
    if change.is_zero() {
        return Err(Invalid::one("planned_amount", "same_amount").into());
    }
    if planned < row.contracted {
        return Err(Invalid::one("planned_amount", "below_contracted").into());
    }
    let size = if change.is_negative() { -change } else { change };
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: RequestKind::PlanAdjustment,
            project_id: Some(row.project_id.clone()),
            subject_id: row.id.to_string(),
            summary: Sentence::new(
                "approval_summary.plan_adjustment",
                &[
                    ("name", row.name.clone()),
                    ("before", row.planned_amount.grouped()),
                    ("after", planned.grouped()),
                    ("reason", reason.clone()),
                ],
            ),
            facts: [("amount".to_owned(), size.to_string())].into(),
            payload: serde_json::json!({"change": change.to_string(), "reason": reason}),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(request)
}

/// A plan adjustment was decided: approved, the line's planned amount moves
/// by the change (never below what is contracted by then) and its pending
/// cost by what that frees or takes, on the day of the decision.
pub(crate) async fn on_plan_adjustment_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<()> {
    if outcome != Outcome::Approved {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct Payload {
        change: String,
        reason: String,
    }
    let payload: Payload = serde_json::from_str(&request.payload).map_err(ServiceError::internal)?;
    let change = Money::parse(&payload.change).map_err(|e| ServiceError::internal(e.code()))?;
    let id = PlanLineId::from(request.subject_id.as_str());
    let Some(after) = store::adjust_planned_amount(tx, &id, change).await? else {
        return Err(Invalid::one("planned_amount", "below_contracted").into());
    };
    let pending = |planned: Money| {
        let left = planned - after.contracted;
        if left.is_negative() { Money::ZERO } else { left }
    };
    let moved = pending(after.planned_amount) - pending(after.planned_amount - change);
    if !moved.is_zero() {
        let post = posting(
            services,
            actor,
            Post {
                project: &after.project_id,
                item: &after.cost_item_id,
                bucket: Bucket::Pending,
                amount: moved,
                on: services.clock.today(),
                document: (DocumentType::PlanLine, after.id.as_str()),
                note: Some(payload.reason),
            },
        );
        store::insert_postings(tx, &[post]).await?;
    }
    Ok(())
}

pub async fn plan_lines(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<PlanLine>> {
    actor.require(Permission::ReadCost)?;
    let project = visible_project(services.store.conn(), actor, project).await?;
    Ok(store::plan_lines(services.store.conn(), &project).await?.into_iter().map(PlanLine::from).collect())
}

// ---- Cost contracts ----

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContractLine {
    pub plan_line_id: PlanLineId,
    pub cost_item_id: CostItemId,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostContract {
    pub id: CostContractId,
    pub project_id: ProjectId,
    pub code: String,
    pub name: String,
    pub supplier_id: SupplierId,
    pub kind: CostContractKind,
    pub amount: Money,
    /// Retention (质保金) as a percentage with two decimals, e.g. `"5.00"`.
    pub retention_percent: String,
    pub payment_terms: Option<String>,
    pub signed_on: NaiveDate,
    /// Set on a supplementary agreement: the contract it amends.
    pub amends_id: Option<CostContractId>,
    pub over_plan_reason: Option<String>,
    /// `pending` while its approval runs (it counts nowhere yet), then `signed`,
    /// `rejected` or `withdrawn`.
    pub status: CostContractStatus,
    /// The approval request it went through.
    pub approval_id: Option<String>,
    pub lines: Vec<ContractLine>,
}

fn contract_of(r: CostContractRow, lines: Vec<ContractLineRow>) -> CostContract {
    CostContract {
        id: r.id,
        project_id: r.project_id,
        code: r.code,
        name: r.name,
        supplier_id: r.supplier_id,
        kind: r.kind,
        amount: r.amount,
        retention_percent: Percent::from_basis_points(r.retention_bp).to_string(),
        payment_terms: r.payment_terms,
        signed_on: r.signed_on,
        amends_id: r.amends_id,
        over_plan_reason: r.over_plan_reason,
        status: r.status,
        approval_id: r.approval_id,
        lines: lines
            .into_iter()
            .map(|l| ContractLine { plan_line_id: l.plan_line_id, cost_item_id: l.cost_item_id, amount: l.amount })
            .collect(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewCostContract {
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 40)
    )]
    pub code: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 200)
    )]
    pub name: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub supplier_id: Option<String>,
    /// `total_price`, `unit_price` or `framework`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<loupan_domain::cost::CostContractKind>))]
    pub kind: Option<String>,
    /// Retention (质保金) in percent, e.g. `"5"` (0 when absent).
    pub retention_percent: Option<String>,
    pub payment_terms: Option<String>,
    /// `YYYY-MM-DD`, today when absent, never later.
    #[cfg_attr(feature = "utoipa", schema(format = Date))]
    pub signed_on: Option<String>,
    /// A supplementary agreement (补充协议): the contract it amends.
    pub amends_id: Option<String>,
    /// Why a weak-control plan line is exceeded (required then).
    pub over_plan_reason: Option<String>,
    /// The plan lines it consumes; the contract's amount is their sum.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(required = true, min_items = 1))]
    pub lines: Vec<NewContractLine>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewContractLine {
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub plan_line_id: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::Positive))]
    pub amount: Option<String>,
}

/// Submits a cost contract (or a supplementary agreement) against plan lines,
/// under each item's control: over a line's balance is refused on a strong
/// item and needs a reason on a weak one. It goes through the approval
/// engine (`cost_contract`, with its amount, how far it goes beyond the plan
/// and the dynamic cost before and after); once approved — at once when its
/// flow has no step for it — contracted rises by each line's amount and
/// pending falls by what the line had left.
pub async fn sign_contract(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewCostContract,
) -> ServiceResult<CostContract> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    let today = services.clock.today();
    let mut errors = Invalid::default();
    let code = required_text(&mut errors, "code", form.code.as_deref(), 40);
    let name = required_text(&mut errors, "name", form.name.as_deref(), 200);
    let kind = match form.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => Some(CostContractKind::TotalPrice),
        Some(k) => CostContractKind::parse(k).or_else(|| {
            errors.push("kind", "unknown_kind");
            None
        }),
    };
    let retention = match form.retention_percent.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => 0,
        Some(r) => Percent::parse(r).map(Percent::basis_points).unwrap_or_else(|e| {
            errors.push("retention_percent", e.code());
            0
        }),
    };
    let payment_terms = optional_text(&mut errors, "payment_terms", form.payment_terms.as_deref(), 1000);
    let signed_on = document_date(&mut errors, "signed_on", form.signed_on.as_deref(), today);
    let reason = optional_text(&mut errors, "over_plan_reason", form.over_plan_reason.as_deref(), 500);
    let supplier_id = SupplierId::from(required_id(&mut errors, "supplier_id", form.supplier_id.as_deref()));
    if !supplier_id.as_str().is_empty() {
        match store::find_supplier(&tx, &supplier_id).await? {
            None => errors.push("supplier_id", "unknown_supplier"),
            Some(s) if s.blacklisted => errors.push("supplier_id", "supplier_blacklisted"),
            Some(_) => {}
        }
    }
    let amends = match form.amends_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match store::find_contract(&tx, &CostContractId::from(a)).await? {
            Some(c) if c.project_id == project && c.amends_id.is_none() && c.status == CostContractStatus::Signed => {
                Some(c.id)
            }
            _ => {
                errors.push("amends_id", "unknown_contract");
                None
            }
        },
    };
    if !code.is_empty() && store::contract_by_code(&tx, &project, &code).await?.is_some() {
        errors.push("code", "code_taken");
    }
    if form.lines.is_empty() {
        errors.push("lines", "required");
    }
    let plan: BTreeMap<PlanLineId, PlanLineRow> =
        store::plan_lines(&tx, &project).await?.into_iter().map(|l| (l.id.clone(), l)).collect();
    let items: BTreeMap<CostItemId, ControlMode> =
        leaves(&tx, &project).await?.into_iter().map(|(id, i)| (id, i.control_mode)).collect();
    let mut lines: Vec<(PlanLineRow, Money, ControlMode)> = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        let amount = positive_money(&mut errors, &field("amount"), line.amount.as_deref());
        let id = PlanLineId::from(line.plan_line_id.as_deref().map(str::trim).unwrap_or_default());
        match plan.get(&id) {
            None => errors.push(field("plan_line_id"), "unknown_plan_line"),
            Some(_) if lines.iter().any(|(l, _, _)| l.id == id) => errors.push(field("plan_line_id"), "listed_twice"),
            Some(l) => {
                let mode = items.get(&l.cost_item_id).copied().unwrap_or(ControlMode::Weak);
                let balance = l.planned_amount - l.contracted;
                match rules::control(mode, balance, amount) {
                    Control::Within => {}
                    Control::Refused => errors.push(field("amount"), "over_plan_balance"),
                    Control::NeedsReason if reason.is_none() => {
                        errors.push("over_plan_reason", "reason_needed_over_plan")
                    }
                    Control::NeedsReason => {}
                }
                lines.push((l.clone(), amount, mode));
            }
        }
    }
    errors.into_result()?;
    let id = CostContractId::from(loupan_store::new_id());
    let total: Money = lines.iter().map(|(_, a, _)| *a).sum();
    // What the contract would add to the dynamic cost, and how far it goes
    // beyond its plan lines: the approvers' facts.
    let mut over_plan = Money::ZERO;
    let mut adds = Money::ZERO;
    for (line, amount, _) in &lines {
        let left = line.planned_amount - line.contracted;
        let left = if left.is_negative() { Money::ZERO } else { left };
        if *amount > left {
            over_plan += *amount - left;
        }
        adds += *amount - rules::pending_released(line.planned_amount, line.contracted, *amount);
    }
    let items: Vec<CostItemId> = lines.iter().map(|(l, _, _)| l.cost_item_id.clone()).collect();
    let mut before = Money::ZERO;
    // Only the contract's items, from their kept balances: no entry is read per contract.
    for (_, bucket, amount) in store::balances_of_items(&tx, &items).await? {
        if bucket != Bucket::Target {
            before += amount;
        }
    }
    let line_rows: Vec<ContractLineRow> = lines
        .iter()
        .map(|(line, amount, _)| ContractLineRow {
            id: loupan_store::new_id(),
            contract_id: id.clone(),
            plan_line_id: line.id.clone(),
            cost_item_id: line.cost_item_id.clone(),
            amount: *amount,
        })
        .collect();
    let row = CostContractRow {
        id: id.clone(),
        project_id: project.clone(),
        code,
        name,
        supplier_id,
        kind: kind.unwrap_or(CostContractKind::TotalPrice),
        amount: total,
        retention_bp: retention,
        payment_terms,
        signed_on,
        amends_id: amends,
        over_plan_reason: reason,
        status: CostContractStatus::Pending,
        approval_id: None,
        created_by: by(actor),
        created_at: services.clock.now(),
    };
    store::insert_contracts(&tx, std::slice::from_ref(&row)).await.map_err(|e| match e {
        loupan_store::StoreError::Unique(_) => Invalid::one("code", "code_taken").into(),
        e => ServiceError::from(e),
    })?;
    store::insert_contract_lines(&tx, &line_rows).await?;
    // Within the plan the default flow has no step and the contract is signed
    // here, through `on_contract_decided`; beyond it the project manager decides.
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: RequestKind::CostContract,
            project_id: Some(project.clone()),
            subject_id: id.to_string(),
            summary: Sentence::new(
                "approval_summary.cost_contract",
                &[
                    ("code", row.code.clone()),
                    ("name", row.name.clone()),
                    ("total", total.grouped()),
                    ("before", before.grouped()),
                    ("after", (before + adds).grouped()),
                ],
            ),
            facts: [("amount".to_owned(), total.to_string()), ("over_plan".to_owned(), over_plan.to_string())].into(),
            payload: serde_json::json!({}),
        },
    )
    .await?;
    let status = store::find_contract(&tx, &id).await?.map(|c| c.status).unwrap_or(CostContractStatus::Pending);
    store::set_contract_status(&tx, &id, status, status, Some(request.id.as_str())).await?;
    let stored = store::find_contract(&tx, &id).await?.ok_or(ServiceError::NotFound("cost_contract"))?;
    let contract = contract_of(stored, line_rows);
    record(&tx, actor, "cost_contract.submit", "cost_contract", contract.id.as_str(), &contract).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(contract)
}

/// A contract's approval was decided: approved, it is signed — each line
/// charged to its plan line (a strong line only within its balance, checked
/// again now), contracted and the pending it releases posted on the signing
/// date; rejected or withdrawn, it never counts.
pub(crate) async fn on_contract_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<()> {
    let id = CostContractId::from(request.subject_id.as_str());
    let row = store::find_contract(tx, &id).await?.ok_or(ServiceError::NotFound("cost_contract"))?;
    let to = match outcome {
        Outcome::Approved => CostContractStatus::Signed,
        Outcome::Rejected => CostContractStatus::Rejected,
        Outcome::Withdrawn => CostContractStatus::Withdrawn,
    };
    if !store::set_contract_status(tx, &id, CostContractStatus::Pending, to, None).await? {
        return Err(ServiceError::Conflict("contract_not_pending"));
    }
    if to != CostContractStatus::Signed {
        return Ok(());
    }
    let modes: BTreeMap<CostItemId, ControlMode> =
        leaves(tx, &row.project_id).await?.into_iter().map(|(id, i)| (id, i.control_mode)).collect();
    let mut postings = Vec::new();
    for (i, line) in store::contract_lines(tx, &id).await?.iter().enumerate() {
        // Charged with one conditional statement: another contract may have
        // taken the line's balance since this one was submitted.
        let strong = modes.get(&line.cost_item_id) == Some(&ControlMode::Strong);
        let Some(after) = store::charge_plan_line(tx, &line.plan_line_id, line.amount, strong).await? else {
            return Err(Invalid::one(format!("lines[{i}].amount"), "over_plan_balance").into());
        };
        let released = rules::pending_released(after.planned_amount, after.contracted - line.amount, line.amount);
        let planned_on = services.clock.date_of(after.created_at);
        let doc = (DocumentType::Contract, id.as_str());
        postings.push(posting(
            services,
            actor,
            Post {
                project: &row.project_id,
                item: &line.cost_item_id,
                bucket: Bucket::Contracted,
                amount: line.amount,
                on: row.signed_on,
                document: doc,
                note: None,
            },
        ));
        if !released.is_zero() {
            postings.push(posting(
                services,
                actor,
                Post {
                    project: &row.project_id,
                    item: &line.cost_item_id,
                    bucket: Bucket::Pending,
                    amount: -released,
                    // Never before the plan line's own posting.
                    on: row.signed_on.max(planned_on),
                    document: doc,
                    note: Some(after.name.clone()),
                },
            ));
        }
    }
    store::insert_postings(tx, &postings).await?;
    Ok(())
}

/// One cost item's dynamic cost before and after a pending contract, for its approvers.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContractImpact {
    pub cost_item_id: CostItemId,
    pub code: String,
    pub name: String,
    pub target: Money,
    pub before: Money,
    pub after: Money,
}

/// What a contract waiting for approval would do to the dynamic cost of its items.
pub async fn contract_impact(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Vec<ContractImpact>> {
    let c = contract(services, actor, id).await?;
    let cost = super::dynamic_cost(services, actor, &c.project_id, None).await?;
    let plan: BTreeMap<PlanLineId, PlanLineRow> =
        store::plan_lines(services.store.conn(), &c.project_id).await?.into_iter().map(|l| (l.id.clone(), l)).collect();
    let mut out: Vec<ContractImpact> = Vec::new();
    for line in &c.lines {
        let Some(item) = cost.items.iter().find(|i| i.cost_item_id == line.cost_item_id) else { continue };
        let adds = match plan.get(&line.plan_line_id) {
            Some(p) if c.status == CostContractStatus::Pending => {
                line.amount - rules::pending_released(p.planned_amount, p.contracted, line.amount)
            }
            _ => Money::ZERO,
        };
        match out.iter_mut().find(|o| o.cost_item_id == line.cost_item_id) {
            Some(o) => o.after += adds,
            None => out.push(ContractImpact {
                cost_item_id: item.cost_item_id.clone(),
                code: item.code.clone(),
                name: item.name.clone(),
                target: item.columns.target,
                before: item.columns.dynamic,
                after: item.columns.dynamic + adds,
            }),
        }
    }
    Ok(out)
}

pub async fn contracts(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<CostContract>> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    let project = visible_project(conn, actor, project).await?;
    // Two statements however many contracts (an export reads them all).
    let mut lines = store::contract_lines_of_project(conn, &project).await?;
    let rows = store::contracts(conn, &project).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let lines = lines.remove(&row.id).unwrap_or_default();
            contract_of(row, lines)
        })
        .collect())
}

pub async fn contract(services: &Services, actor: &Actor, id: &str) -> ServiceResult<CostContract> {
    actor.require(Permission::ReadCost)?;
    let conn = services.store.conn();
    match store::find_contract(conn, &CostContractId::from(id)).await? {
        Some(row) if actor.sees_project(&row.project_id) => {
            let lines = store::contract_lines(conn, &row.id).await?;
            Ok(contract_of(row, lines))
        }
        _ => Err(ServiceError::NotFound("cost_contract")),
    }
}

// ---- Design changes and site visas ----

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Variation {
    pub id: VariationId,
    pub project_id: ProjectId,
    pub kind: VariationKind,
    pub code: String,
    pub contract_id: Option<CostContractId>,
    pub cost_item_id: CostItemId,
    pub reason: String,
    pub estimated_amount: Money,
    pub confirmed_amount: Option<Money>,
    /// What counts in the dynamic cost: the confirmed amount once confirmed.
    pub amount: Money,
    pub status: VariationStatus,
    pub submitted_on: NaiveDate,
    pub confirmed_on: Option<NaiveDate>,
    /// The approval request it went through (large ones wait there).
    pub approval_id: Option<String>,
}

impl From<VariationRow> for Variation {
    fn from(r: VariationRow) -> Self {
        Variation {
            amount: r.confirmed_amount.unwrap_or(r.estimated_amount),
            id: r.id,
            project_id: r.project_id,
            kind: r.kind,
            code: r.code,
            contract_id: r.contract_id,
            cost_item_id: r.cost_item_id,
            reason: r.reason,
            estimated_amount: r.estimated_amount,
            confirmed_amount: r.confirmed_amount,
            status: r.status,
            submitted_on: r.submitted_on,
            confirmed_on: r.confirmed_on,
            approval_id: r.approval_id,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewVariation {
    /// `change` (设计变更) or `visa` (现场签证).
    #[cfg_attr(feature = "utoipa", schema(value_type = loupan_domain::cost::VariationKind, required = true, nullable = false))]
    pub kind: Option<String>,
    /// Numbered BG-0001 / QZ-0001 within the project when absent.
    pub code: Option<String>,
    pub contract_id: Option<String>,
    /// The leaf item it costs to (the contract's item when absent and the contract has one).
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub cost_item_id: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, pattern = "\\S", max_length = 1000)
    )]
    pub reason: Option<String>,
    /// The amount declared at submission (申报); may be negative (a saving).
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::NonZero))]
    pub estimated_amount: Option<String>,
    pub submitted_on: Option<String>,
}

/// Submits a design change or site visa at its estimate through the
/// `cost_variation` approval (routed by the estimate's size): approved — at
/// once when no step applies — the estimate counts in the dynamic cost from
/// the submission date until it is confirmed.
pub async fn submit_variation(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewVariation,
) -> ServiceResult<Variation> {
    actor.require(Permission::RecordVariations)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    let mut errors = Invalid::default();
    let kind = match form.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => {
            errors.push("kind", "required");
            None
        }
        Some(k) => VariationKind::parse(k).or_else(|| {
            errors.push("kind", "unknown_kind");
            None
        }),
    };
    let reason = required_text(&mut errors, "reason", form.reason.as_deref(), 1000);
    let estimated = money(&mut errors, "estimated_amount", form.estimated_amount.as_deref());
    if estimated.is_zero() && form.estimated_amount.as_deref().is_some_and(|a| Money::parse(a.trim()).is_ok()) {
        errors.push("estimated_amount", "must_not_be_zero");
    }
    let submitted_on = document_date(&mut errors, "submitted_on", form.submitted_on.as_deref(), services.clock.today());
    let contract = match form.contract_id.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match store::find_contract(&tx, &CostContractId::from(c)).await? {
            Some(row) if row.project_id == project => Some(row),
            _ => {
                errors.push("contract_id", "unknown_contract");
                None
            }
        },
    };
    let leaves = leaves(&tx, &project).await?;
    let item = match form.cost_item_id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        Some(i) => {
            let id = CostItemId::from(i);
            if !leaves.contains_key(&id) {
                errors.push("cost_item_id", "unknown_cost_item");
            }
            id
        }
        None => {
            let first = match &contract {
                Some(c) => store::contract_lines(&tx, &c.id).await?.into_iter().next().map(|l| l.cost_item_id),
                None => None,
            };
            first.unwrap_or_else(|| {
                errors.push("cost_item_id", "required");
                CostItemId::from("")
            })
        }
    };
    let code = optional_text(&mut errors, "code", form.code.as_deref(), 40);
    errors.into_result()?;
    let kind = kind.unwrap_or(VariationKind::Change);
    let code = match code {
        Some(c) => {
            if store::variation_by_code(&tx, &project, &c).await?.is_some() {
                return Err(Invalid::one("code", "code_taken").into());
            }
            c
        }
        None => {
            // From the project's own sequence per kind (one locked row), skipping
            // any number someone typed by hand.
            let (prefix, sequence) = match kind {
                VariationKind::Change => ("BG", "cost_change"),
                VariationKind::Visa => ("QZ", "cost_visa"),
            };
            loop {
                let n = loupan_store::sales::next_number(&tx, &project, sequence).await?;
                let c = format!("{prefix}-{n:04}");
                if store::variation_by_code(&tx, &project, &c).await?.is_none() {
                    break c;
                }
            }
        }
    };
    let row = VariationRow {
        id: loupan_store::new_id().into(),
        project_id: project.clone(),
        kind,
        code,
        contract_id: contract.map(|c| c.id),
        cost_item_id: item.clone(),
        reason,
        estimated_amount: estimated,
        confirmed_amount: None,
        status: VariationStatus::Pending,
        submitted_on,
        confirmed_on: None,
        created_by: by(actor),
        created_at: services.clock.now(),
        confirmed_by: None,
        approval_id: None,
    };
    store::insert_variations(&tx, std::slice::from_ref(&row)).await.map_err(|e| match e {
        loupan_store::StoreError::Unique(_) => Invalid::one("code", "code_taken").into(),
        e => ServiceError::from(e),
    })?;
    // The item's dynamic cost before and after, for the approvers.
    let mut figures = loupan_domain::cost::Figures::default();
    for (_, bucket, amount) in store::balances_of_items(&tx, std::slice::from_ref(&item)).await? {
        figures.post(bucket, amount);
    }
    let before = figures.dynamic();
    let item_name = leaves.get(&item).map(|i| format!("{} {}", i.code, i.name)).unwrap_or_default();
    let size = if estimated.is_negative() { -estimated } else { estimated };
    let (request, after) = approvals::submit(
        services,
        &tx,
        actor,
        Submission {
            kind: RequestKind::CostVariation,
            project_id: Some(project.clone()),
            subject_id: row.id.to_string(),
            summary: Sentence::new(
                "approval_summary.cost_variation",
                &[
                    ("code", row.code.clone()),
                    ("reason", row.reason.clone()),
                    ("item", item_name),
                    ("amount", estimated.grouped()),
                    ("before", before.grouped()),
                    ("after", (before + estimated).grouped()),
                ],
            ),
            facts: [("amount".to_owned(), size.to_string())].into(),
            payload: serde_json::json!({}),
        },
    )
    .await?;
    // Passed at once, the handler has already made it count.
    let status = match request.status {
        ApprovalStatus::Approved => VariationStatus::Estimated,
        _ => VariationStatus::Pending,
    };
    store::set_variation_status(&tx, &row.id, status, status, Some(request.id.as_str())).await?;
    let variation = Variation::from(VariationRow { status, approval_id: Some(request.id.to_string()), ..row });
    record(&tx, actor, "cost_variation.submit", "cost_variation", variation.id.as_str(), &variation).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(variation)
}

/// A change or visa's approval was decided: approved, its estimate enters the
/// ledger on its submission date; rejected or withdrawn, it never counts.
pub(crate) async fn on_variation_decided(
    services: &Services,
    tx: &loupan_store::Transaction,
    actor: &Actor,
    request: &loupan_store::approvals::RequestRow,
    outcome: Outcome,
) -> ServiceResult<()> {
    let id = VariationId::from(request.subject_id.as_str());
    let row = store::find_variation(tx, &id).await?.ok_or(ServiceError::NotFound("cost_variation"))?;
    let to = match outcome {
        Outcome::Approved => VariationStatus::Estimated,
        Outcome::Rejected => VariationStatus::Rejected,
        Outcome::Withdrawn => VariationStatus::Withdrawn,
    };
    if !store::set_variation_status(tx, &id, VariationStatus::Pending, to, None).await? {
        return Err(ServiceError::Conflict("variation_not_pending"));
    }
    if to != VariationStatus::Estimated {
        return Ok(());
    }
    let post = posting(
        services,
        actor,
        Post {
            project: &row.project_id,
            item: &row.cost_item_id,
            bucket: row.kind.buckets().0,
            amount: row.estimated_amount,
            on: row.submitted_on,
            document: (DocumentType::Variation, row.id.as_str()),
            note: None,
        },
    );
    Ok(store::insert_postings(tx, &[post]).await?)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VariationConfirmation {
    /// The amount confirmed at completion (完工确认).
    #[cfg_attr(
        feature = "utoipa",
        schema(
            required = true,
            nullable = false,
            pattern = "^-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\\.[0-9]{1,2})?$"
        )
    )]
    pub confirmed_amount: Option<String>,
    /// `YYYY-MM-DD`; today when absent.
    #[cfg_attr(feature = "utoipa", schema(format = Date))]
    pub confirmed_on: Option<String>,
}

/// Confirms a change or visa: its estimate leaves the dynamic cost and the
/// confirmed amount enters it, both on the confirmation date.
pub async fn confirm_variation(
    services: &Services,
    actor: &Actor,
    id: &str,
    form: VariationConfirmation,
) -> ServiceResult<Variation> {
    actor.require(Permission::RecordVariations)?;
    let tx = services.store.begin_write().await?;
    let row = match store::find_variation(&tx, &VariationId::from(id)).await? {
        Some(v) if actor.sees_project(&v.project_id) => v,
        _ => return Err(ServiceError::NotFound("cost_variation")),
    };
    let mut errors = Invalid::default();
    let amount = money(&mut errors, "confirmed_amount", form.confirmed_amount.as_deref());
    let on = document_date(&mut errors, "confirmed_on", form.confirmed_on.as_deref(), services.clock.today());
    if on < row.submitted_on {
        errors.push("confirmed_on", "before_submission");
    }
    errors.into_result()?;
    match row.status {
        VariationStatus::Estimated => {}
        VariationStatus::Pending => return Err(ServiceError::Conflict("variation_pending")),
        VariationStatus::Rejected | VariationStatus::Withdrawn => {
            return Err(ServiceError::Conflict("variation_not_approved"));
        }
        VariationStatus::Confirmed => return Err(ServiceError::Conflict("variation_confirmed")),
    }
    if !store::confirm_variation(&tx, &row.id, amount, on, &by(actor)).await? {
        return Err(ServiceError::Conflict("variation_confirmed"));
    }
    let (estimated, confirmed) = row.kind.buckets();
    let doc = (DocumentType::Variation, row.id.as_str());
    let post = |bucket, amount| {
        posting(
            services,
            actor,
            Post { project: &row.project_id, item: &row.cost_item_id, bucket, amount, on, document: doc, note: None },
        )
    };
    let postings = vec![post(estimated, -row.estimated_amount), post(confirmed, amount)];
    store::insert_postings(&tx, &postings).await?;
    let after = store::find_variation(&tx, &row.id).await?.ok_or(ServiceError::NotFound("cost_variation"))?;
    let variation = Variation::from(after);
    audit::record(
        &tx,
        actor,
        Change {
            action: "cost_variation.confirm",
            record_type: "cost_variation",
            record_id: id,
            before: audit::snapshot(&Variation::from(row.clone()))?,
            after: audit::snapshot(&variation)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(variation)
}

pub async fn variations(services: &Services, actor: &Actor, project: &ProjectId) -> ServiceResult<Vec<Variation>> {
    actor.require(Permission::ReadCost)?;
    let project = visible_project(services.store.conn(), actor, project).await?;
    Ok(store::variations(services.store.conn(), &project).await?.into_iter().map(Variation::from).collect())
}

pub async fn variation(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Variation> {
    actor.require(Permission::ReadCost)?;
    match store::find_variation(services.store.conn(), &VariationId::from(id)).await? {
        Some(v) if actor.sees_project(&v.project_id) => Ok(v.into()),
        _ => Err(ServiceError::NotFound("cost_variation")),
    }
}

// ---- Expected further cost ----

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewExpectedCost {
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub cost_item_id: Option<String>,
    /// Added to what is expected (negative to take some back).
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = loupan_domain::quantity::amounts::NonZero))]
    pub amount: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, min_length = 1, pattern = "\\S"))]
    pub reason: Option<String>,
    /// `YYYY-MM-DD`; today when absent.
    #[cfg_attr(feature = "utoipa", schema(format = Date))]
    pub posted_on: Option<String>,
}

/// Records further cost the cost engineer expects on an item (预估), with its reason.
pub async fn add_expected(
    services: &Services,
    actor: &Actor,
    project: &ProjectId,
    form: NewExpectedCost,
) -> ServiceResult<super::Posting> {
    actor.require(Permission::ManageCost)?;
    let tx = services.store.begin_write().await?;
    let project = visible_project(&tx, actor, project).await?;
    let mut errors = Invalid::default();
    let item = CostItemId::from(required_id(&mut errors, "cost_item_id", form.cost_item_id.as_deref()));
    let amount = money(&mut errors, "amount", form.amount.as_deref());
    if amount.is_zero() && form.amount.as_deref().is_some_and(|a| Money::parse(a.trim()).is_ok()) {
        errors.push("amount", "must_not_be_zero");
    }
    let reason = required_text(&mut errors, "reason", form.reason.as_deref(), 500);
    let on = document_date(&mut errors, "posted_on", form.posted_on.as_deref(), services.clock.today());
    if !item.as_str().is_empty() && !leaves(&tx, &project).await?.contains_key(&item) {
        errors.push("cost_item_id", "unknown_cost_item");
    }
    errors.into_result()?;
    let id = loupan_store::new_id();
    let mut row = posting(
        services,
        actor,
        Post {
            project: &project,
            item: &item,
            bucket: Bucket::Expected,
            amount,
            on,
            document: (DocumentType::Expected, &id),
            note: Some(reason),
        },
    );
    row.id = CostPostingId::from(id);
    store::insert_postings(&tx, std::slice::from_ref(&row)).await?;
    let entry = super::Posting::from(row);
    record(&tx, actor, "cost_expected.create", "cost_posting", entry.id.as_str(), &entry).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(entry)
}
