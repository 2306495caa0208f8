//! Approval flows (审批流): what kinds of request exist, the facts each one
//! carries, and a flow definition's steps with their approvers, conditions and
//! deadlines. Evaluating a condition or validating a flow is pure; routing a
//! request to people is the service layer's work.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Role;
use crate::names::named_enum;
use crate::quantity::parse_hundredths;
use crate::validation::Invalid;

named_enum! {
    /// A kind of request modules submit, with the facts its flow's conditions may
    /// use. The engine's callers match on it exhaustively: a new kind does not
    /// compile until its module says what its decision does.
    pub enum RequestKind("request kind") {
        /// 特批: a subscription below the agent's discount limit.
        SpecialDiscount = "special_discount",
        /// 业务变更: cancellation, swap, price, payment method or buyers of a deal.
        DealChange = "deal_change",
        /// 调价: a price adjustment plan.
        PriceAdjustment = "price_adjustment",
        /// 成本合同: a cost contract or supplementary agreement before it is signed.
        CostContract = "cost_contract",
        /// 退款支付: paying a refund out to the buyer (no step until a group adds one).
        RefundPayment = "refund_payment",
        /// 定金转房款: moving a subscription's deposit onto its contract (no step until a group adds one).
        DepositTransfer = "deposit_transfer",
        /// 非标付款方式签约: a contract on a payment method marked non-standard.
        NonStandardContract = "non_standard_contract",
        /// 设计变更/现场签证: a change or visa before its estimate counts.
        CostVariation = "cost_variation",
        /// 合约规划调整: a plan line's amount changed (a strongly controlled
        /// line takes a larger contract only this way).
        PlanAdjustment = "plan_adjustment",
        /// 面积补差: a building's batch of area compensations before it lands on the plans.
        AreaCompensation = "area_compensation",
    }
}

impl RequestKind {
    /// The kind of record a request of this kind is about (its `subject_id` names one).
    pub const fn subject_type(self) -> &'static str {
        match self {
            RequestKind::SpecialDiscount | RequestKind::NonStandardContract => "unit",
            RequestKind::DealChange => "deal_change",
            RequestKind::PriceAdjustment => "price_adjustment",
            RequestKind::CostContract => "cost_contract",
            RequestKind::CostVariation => "cost_variation",
            RequestKind::PlanAdjustment => "cost_plan_line",
            RequestKind::AreaCompensation => "compensation_batch",
            RequestKind::RefundPayment => "refund",
            // The subject id is the contract's; the name is as stored since the kind began.
            RequestKind::DepositTransfer => "deposit_transfer",
        }
    }
}

named_enum! {
    /// Where an approval request stands.
    pub enum ApprovalStatus("approval status") {
        /// 审批中: waiting at its current step.
        Pending = "pending",
        /// 退回: sent back to the submitter, who may resubmit or withdraw it.
        Returned = "returned",
        Approved = "approved",
        Rejected = "rejected",
        /// 撤回 by the submitter.
        Withdrawn = "withdrawn",
    }
}

impl ApprovalStatus {
    /// Still the submitter's business: waiting, or returned to them.
    pub const fn is_open(self) -> bool {
        matches!(self, ApprovalStatus::Pending | ApprovalStatus::Returned)
    }

    /// Decided for good.
    pub const fn is_final(self) -> bool {
        matches!(self, ApprovalStatus::Approved | ApprovalStatus::Rejected | ApprovalStatus::Withdrawn)
    }
}

named_enum! {
    /// Where one approver's task stands.
    pub enum TaskStatus("task status") {
        /// Waiting for this approver.
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Returned = "returned",
        /// Not needed any more: another approver of an any-one step decided, or the request ended.
        Closed = "closed",
    }
}

impl RequestKind {
    /// Fact names, each a decimal with at most two places (amounts in yuan, percentages).
    pub const fn facts(self) -> &'static [&'static str] {
        match self {
            RequestKind::SpecialDiscount => &["discount_percent", "amount"],
            RequestKind::DealChange => &["amount"],
            RequestKind::PriceAdjustment => &["units", "change_percent"],
            // `over_plan`: yuan beyond the plan lines' balances (0 within them).
            RequestKind::CostContract => &["amount", "over_plan"],
            // `amount`: the estimate's size in yuan (a saving counts as much as a cost).
            RequestKind::CostVariation => &["amount"],
            // `amount`: the size of the change in yuan, up or down.
            RequestKind::PlanAdjustment => &["amount"],
            // `amount`: what the buyers pay in all, less what is refunded (yuan);
            // `refunds`: what is refunded in all; `units`: lines in the batch.
            RequestKind::AreaCompensation => &["amount", "refunds", "units"],
            RequestKind::RefundPayment | RequestKind::DepositTransfer => &["amount"],
            // `below_list_percent`: how far the price is below the unit's list price (0 at or above it).
            RequestKind::NonStandardContract => &["amount", "below_list_percent"],
        }
    }
}

pub const SPECIAL_DISCOUNT: RequestKind = RequestKind::SpecialDiscount;
pub const DEAL_CHANGE: RequestKind = RequestKind::DealChange;
pub const PRICE_ADJUSTMENT: RequestKind = RequestKind::PriceAdjustment;

pub const REQUEST_KINDS: [RequestKind; 10] = RequestKind::ALL;

pub fn request_kind(name: &str) -> Option<RequestKind> {
    RequestKind::parse(name)
}

named_enum! {
    /// The `type` of an `Approvers`, as a form or an API request names it.
    pub enum ApproverKind("approver type") {
        Role = "role",
        User = "user",
        Manager = "manager",
    }
}

/// Who decides a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Approvers {
    /// Everyone holding the role in the request's project (all-project roles anywhere).
    Role { role: Role },
    /// One named user.
    User { user_id: crate::ids::UserId },
    /// The submitter's manager (set on the user).
    Manager,
}

/// Whether one approver decides the step, or every one of them must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Gt, Op::Ge, Op::Lt, Op::Le, Op::Eq];

    pub fn name(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Eq => "eq",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => "≥",
            Op::Lt => "<",
            Op::Le => "≤",
            Op::Eq => "=",
        }
    }

    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// A step applies only when `fact op value` holds (e.g. `discount_percent gt 3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub fact: String,
    pub op: Op,
    /// A decimal with at most two places.
    pub value: String,
}

impl Condition {
    /// A missing or unreadable fact never satisfies a condition.
    pub fn holds(&self, facts: &BTreeMap<String, String>) -> bool {
        let (Some(fact), Ok(limit)) = (facts.get(&self.fact), parse_hundredths(&self.value)) else { return false };
        let Ok(fact) = parse_hundredths(fact) else { return false };
        match self.op {
            Op::Gt => fact > limit,
            Op::Ge => fact >= limit,
            Op::Lt => fact < limit,
            Op::Le => fact <= limit,
            Op::Eq => fact == limit,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub approvers: Approvers,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Hours the approvers have; past it they are reminded and, if set, the step escalates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_hours: Option<u32>,
    /// Who is added to the step when its deadline passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<Approvers>,
}

impl Step {
    pub fn applies(&self, facts: &BTreeMap<String, String>) -> bool {
        self.condition.as_ref().is_none_or(|c| c.holds(facts))
    }
}

/// Checks a flow an admin wrote; every problem is named by `steps[i].field`.
pub fn validate_steps(kind: RequestKind, steps: &[Step]) -> Result<(), Invalid> {
    let mut errors = Invalid::default();
    if steps.is_empty() {
        errors.push("steps", "required");
    }
    if steps.len() > 10 {
        errors.push("steps", "too_many");
    }
    for (i, step) in steps.iter().enumerate() {
        let name = step.name.trim();
        if name.is_empty() {
            errors.push(format!("steps[{i}].name"), "required");
        } else if name.chars().count() > 60 {
            errors.push(format!("steps[{i}].name"), "too_long");
        }
        if let Approvers::User { user_id } = &step.approvers
            && user_id.as_str().trim().is_empty()
        {
            errors.push(format!("steps[{i}].approvers"), "required");
        }
        if let Some(c) = &step.condition {
            if !kind.facts().contains(&c.fact.as_str()) {
                errors.push(format!("steps[{i}].condition"), "unknown_fact");
            }
            if parse_hundredths(&c.value).is_err() {
                errors.push(format!("steps[{i}].condition"), "not_a_number");
            }
        }
        if let Some(h) = step.deadline_hours
            && !(1..=24 * 90).contains(&h)
        {
            errors.push(format!("steps[{i}].deadline_hours"), "out_of_range");
        }
        if step.escalate_to.is_some() && step.deadline_hours.is_none() {
            errors.push(format!("steps[{i}].escalate_to"), "needs_deadline");
        }
    }
    errors.into_result()
}

/// The flow a kind has until an admin defines one.
pub fn default_steps(kind: RequestKind) -> Vec<Step> {
    let role = |name: &str, role: Role| Step {
        name: name.to_owned(),
        approvers: Approvers::Role { role },
        mode: Mode::Any,
        condition: None,
        deadline_hours: Some(24),
        escalate_to: None,
    };
    match kind {
        RequestKind::SpecialDiscount => vec![
            role("销售经理审批", Role::SalesManager),
            Step {
                condition: Some(Condition { fact: "discount_percent".into(), op: Op::Gt, value: "3".into() }),
                ..role("项目经理审批", Role::ProjectManager)
            },
        ],
        RequestKind::PriceAdjustment => vec![role("项目经理审批", Role::ProjectManager)],
        RequestKind::DealChange => vec![role("销售经理审批", Role::SalesManager)],
        // Within the plan a contract is signed at once; beyond it (weak
        // control, with a reason) the project manager decides. A group that
        // wants every contract approved drops the condition.
        RequestKind::CostContract => vec![Step {
            condition: Some(Condition { fact: "over_plan".into(), op: Op::Gt, value: "0".into() }),
            ..role("项目经理审批", Role::ProjectManager)
        }],
        // Changes and visas route by their size: small ones count at once, the
        // project manager decides above 50,000.00, the general manager (an
        // executive) as well above 500,000.00.
        RequestKind::CostVariation => vec![
            Step {
                condition: Some(Condition { fact: "amount".into(), op: Op::Gt, value: "50000".into() }),
                ..role("项目经理审批", Role::ProjectManager)
            },
            Step {
                condition: Some(Condition { fact: "amount".into(), op: Op::Gt, value: "500000".into() }),
                ..role("总经理审批", Role::Executive)
            },
        ],
        // The budget behind contracts moves only with the project manager.
        RequestKind::PlanAdjustment => vec![role("项目经理审批", Role::ProjectManager)],
        // Money to and from every buyer of a building: the project manager,
        // and finance once refunds are owed.
        RequestKind::AreaCompensation => vec![
            role("项目经理审批", Role::ProjectManager),
            Step {
                condition: Some(Condition { fact: "refunds".into(), op: Op::Gt, value: "0".into() }),
                ..role("财务审批", Role::Finance)
            },
        ],
        // Money a cashier moves on finance's rules: no approval until a group
        // configures one (for example finance above some amount).
        RequestKind::RefundPayment | RequestKind::DepositTransfer => Vec::new(),
        // Terms outside the project's standard methods are the sales manager's call.
        RequestKind::NonStandardContract => vec![role("销售经理审批", Role::SalesManager)],
    }
}

/// The first step at or after `from` whose condition holds.
pub fn next_step(steps: &[Step], from: usize, facts: &BTreeMap<String, String>) -> Option<usize> {
    (from..steps.len()).find(|&i| steps[i].applies(facts))
}

pub use crate::quantity::percent;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_kind_names_round_trip() {
        use crate::names::assert_names_round_trip;
        assert_names_round_trip(&RequestKind::ALL, |s| s.name());
        assert_names_round_trip(&ApprovalStatus::ALL, |s| s.name());
        assert_names_round_trip(&TaskStatus::ALL, |s| s.name());
    }

    fn facts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn conditions_compare_decimals_exactly() {
        let c = Condition { fact: "discount_percent".into(), op: Op::Gt, value: "3".into() };
        assert!(c.holds(&facts(&[("discount_percent", "3.01")])));
        assert!(!c.holds(&facts(&[("discount_percent", "3.00")])));
        assert!(!c.holds(&facts(&[("discount_percent", "2.5")])));
        assert!(!c.holds(&facts(&[])), "a missing fact never holds");
        assert!(!c.holds(&facts(&[("discount_percent", "abc")])));
        let big = Condition { fact: "amount".into(), op: Op::Ge, value: "1000000".into() };
        assert!(big.holds(&facts(&[("amount", "1000000.00")])));
        assert!(!big.holds(&facts(&[("amount", "999999.99")])));
    }

    #[test]
    fn the_default_discount_flow_adds_the_project_manager_above_three_percent() {
        let steps = default_steps(SPECIAL_DISCOUNT);
        let small = facts(&[("discount_percent", "2.00")]);
        let large = facts(&[("discount_percent", "5.00")]);
        assert_eq!(next_step(&steps, 0, &small), Some(0));
        assert_eq!(next_step(&steps, 1, &small), None);
        assert_eq!(next_step(&steps, 1, &large), Some(1));
        assert!(validate_steps(SPECIAL_DISCOUNT, &steps).is_ok());
    }

    #[test]
    fn flows_with_mistakes_name_each_one() {
        let bad = vec![Step {
            name: " ".into(),
            approvers: Approvers::User { user_id: crate::ids::UserId::default() },
            mode: Mode::All,
            condition: Some(Condition { fact: "colour".into(), op: Op::Eq, value: "x".into() }),
            deadline_hours: None,
            escalate_to: Some(Approvers::Manager),
        }];
        let err = validate_steps(DEAL_CHANGE, &bad).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(fields.contains(&("steps[0].name", "required")));
        assert!(fields.contains(&("steps[0].approvers", "required")));
        assert!(fields.contains(&("steps[0].condition", "unknown_fact")));
        assert!(fields.contains(&("steps[0].condition", "not_a_number")));
        assert!(fields.contains(&("steps[0].escalate_to", "needs_deadline")));
        assert_eq!(validate_steps(DEAL_CHANGE, &[]).unwrap_err().0[0].code, "required");
    }

    #[test]
    fn steps_round_trip_through_json() {
        let steps = default_steps(SPECIAL_DISCOUNT);
        let json = serde_json::to_string(&steps).unwrap();
        assert!(json.contains(r#""approvers":{"type":"role","role":"sales_manager"}"#), "{json}");
        let back: Vec<Step> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, steps);
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        assert_eq!(percent(3, 100), "3.00");
        assert_eq!(percent(1, 3), "33.33");
        assert_eq!(percent(2, 3), "66.67");
        assert_eq!(percent(5, 1000), "0.50");
        assert_eq!(percent(-1, 3), "-33.33");
        assert_eq!(percent(1, 0), "0.00");
    }
}
