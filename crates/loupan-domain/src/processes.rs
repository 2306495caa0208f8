//! Service processes after the contract (A1, A2): the commercial mortgage
//! (按揭), the provident-fund loan (公积金), contract registration (网签备案),
//! the title certificate (办证) and the handover (交房).
//!
//! A process definition is an ordered list of steps, each with the role that
//! does it, a deadline in days from the previous step or from the case's start
//! (the contract's signing, the building's readiness), the documents to
//! collect and the fees to collect on the buyer's behalf (代收). A company
//! keeps definitions per region, project and property type; the most specific
//! one that applies wins. Definitions are versioned: a running case keeps the
//! version it started on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::formula::{Formula, Fraction};
use crate::ids::ProjectId;
use crate::inventory::PropertyType;
use crate::names::named_enum;
use crate::{Money, Role};

named_enum! {
    /// What a process is for; the built-in definitions have one each.
    pub enum ProcessKind("process kind") {
        /// 按揭: the commercial mortgage, to the bank's disbursement (放款).
        Mortgage = "mortgage",
        /// 公积金贷款.
        ProvidentFund = "provident_fund",
        /// 网签备案.
        Registration = "registration",
        /// 办证: the title certificate.
        Title = "title",
        /// 交房: the handover.
        Handover = "handover",
    }
}

named_enum! {
    /// What starts a case of a process by itself.
    pub enum StartEvent("start event") {
        /// A contract signed (with a loan payment method for the loan processes).
        ContractSigned = "contract_signed",
        /// A building declared ready for handover.
        BuildingReady = "building_ready",
        /// Only by hand.
        Manual = "manual",
    }
}

named_enum! {
    /// What a step's deadline counts from.
    pub enum DeadlineFrom("deadline basis") {
        /// The day the step before it was done (the case's start for the first).
        PreviousStep = "previous_step",
        /// The case's start: the contract's signing, the building's readiness.
        Start = "start",
    }
}

named_enum! {
    /// Where a case stands.
    pub enum ProcessStatus("service case status") {
        /// A step is still to do.
        Open = "open",
        /// Every step done.
        Completed = "completed",
        /// Stopped by hand (a contract rescinded, a loan refused); a new case may start.
        Cancelled = "cancelled",
    }
}

/// A fee a step collects on the buyer's behalf (代收): kept apart from the
/// price of the home in every report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFee {
    pub name: String,
    pub amount: FeeAmount,
}

/// Stored and sent as `{"fixed": "80.00"}` or `{"formula": "gross_area * 3"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeAmount {
    Fixed(Money),
    /// A formula over `FEE_VARIABLES`, rounded half away from zero to the fen.
    Formula(String),
}

/// What a fee's formula can use: the contract's total and the unit's areas
/// (gross and inner, m2, as surveyed when they are).
pub const FEE_VARIABLES: [&str; 3] = ["contract_total", "gross_area", "inner_area"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDefinition {
    pub name: String,
    /// Whose workbench the step is on.
    pub role: Role,
    pub due_days: u32,
    pub from: DeadlineFrom,
    /// The checklist of documents to receive (a receipt slip lists them).
    pub documents: Vec<String>,
    pub fees: Vec<StepFee>,
    /// Days before the deadline the responsible person is reminded (0: on the day).
    pub remind_days_before: u32,
}

/// Where a definition applies; an unset dimension applies everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applicability {
    pub city: Option<String>,
    pub project_id: Option<ProjectId>,
    pub property_type: Option<PropertyType>,
}

/// The unit a case is about, as applicability sees it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub city: &'a str,
    pub project_id: &'a ProjectId,
    pub property_type: PropertyType,
}

impl Applicability {
    pub fn applies_to(&self, place: Place<'_>) -> bool {
        self.city.as_deref().is_none_or(|c| c == place.city)
            && self.project_id.as_ref().is_none_or(|p| p == place.project_id)
            && self.property_type.is_none_or(|t| t == place.property_type)
    }

    /// A project is more specific than a city, and a city than the whole
    /// company; a property type decides between definitions otherwise equal.
    fn specificity(&self) -> (bool, bool, bool) {
        (self.project_id.is_some(), self.city.is_some(), self.property_type.is_some())
    }
}

/// The most specific of `candidates` that applies to `place`; of equally
/// specific ones the first (callers list the newest first).
pub fn most_specific<'a, T>(
    candidates: impl IntoIterator<Item = (&'a Applicability, T)>,
    place: Place<'_>,
) -> Option<T> {
    let mut best: Option<((bool, bool, bool), T)> = None;
    for (applicability, item) in candidates {
        if !applicability.applies_to(place) {
            continue;
        }
        let rank = applicability.specificity();
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, item));
        }
    }
    best.map(|(_, item)| item)
}

/// When a step is due once it is the current step: its days counted from the
/// case's start or from the day the step before it was done.
pub fn step_due(step: &StepDefinition, started_on: NaiveDate, previous_done_on: Option<NaiveDate>) -> NaiveDate {
    let base = match step.from {
        DeadlineFrom::Start => started_on,
        DeadlineFrom::PreviousStep => previous_done_on.unwrap_or(started_on),
    };
    base + Duration::days(i64::from(step.due_days))
}

/// The day the responsible person is reminded of a step due on `due`.
pub fn remind_on(step: &StepDefinition, due: NaiveDate) -> NaiveDate {
    due - Duration::days(i64::from(step.remind_days_before))
}

pub const MAX_STEPS: usize = 30;
pub const MAX_DOCUMENTS: usize = 30;
pub const MAX_FEES: usize = 10;
pub const MAX_DUE_DAYS: u32 = 3650;
const MAX_NAME: usize = 60;

/// A definition's problems, as (field, code) with the field naming the step:
/// `steps[2].name`, `steps[0].fees[1].amount`.
pub fn check_steps(steps: &[StepDefinition]) -> Result<(), Vec<(String, &'static str)>> {
    let mut problems = Vec::new();
    if steps.is_empty() {
        problems.push(("steps".to_owned(), "required"));
    }
    if steps.len() > MAX_STEPS {
        problems.push(("steps".to_owned(), "too_many"));
    }
    let mut names = BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        let at = |field: &str| format!("steps[{i}].{field}");
        let name = step.name.trim();
        if name.is_empty() {
            problems.push((at("name"), "required"));
        } else if name.chars().count() > MAX_NAME {
            problems.push((at("name"), "too_long"));
        } else if !names.insert(name.to_owned()) {
            problems.push((at("name"), "duplicate"));
        }
        if step.due_days > MAX_DUE_DAYS {
            problems.push((at("due_days"), "out_of_range"));
        }
        if step.remind_days_before > step.due_days {
            problems.push((at("remind_days_before"), "more_than_due_days"));
        }
        if step.documents.len() > MAX_DOCUMENTS {
            problems.push((at("documents"), "too_many"));
        }
        let mut documents = BTreeSet::new();
        for (j, d) in step.documents.iter().enumerate() {
            let d = d.trim();
            if d.is_empty() {
                problems.push((at(&format!("documents[{j}]")), "required"));
            } else if d.chars().count() > MAX_NAME {
                problems.push((at(&format!("documents[{j}]")), "too_long"));
            } else if !documents.insert(d) {
                problems.push((at(&format!("documents[{j}]")), "duplicate"));
            }
        }
        if step.fees.len() > MAX_FEES {
            problems.push((at("fees"), "too_many"));
        }
        for (j, fee) in step.fees.iter().enumerate() {
            let fee_at = |field: &str| at(&format!("fees[{j}].{field}"));
            let name = fee.name.trim();
            if name.is_empty() {
                problems.push((fee_at("name"), "required"));
            } else if name.chars().count() > MAX_NAME {
                problems.push((fee_at("name"), "too_long"));
            }
            match &fee.amount {
                FeeAmount::Fixed(m) if !m.is_positive() => problems.push((fee_at("amount"), "must_be_positive")),
                FeeAmount::Fixed(_) => {}
                FeeAmount::Formula(text) => {
                    if let Err(e) = Formula::parse(text, &FEE_VARIABLES) {
                        problems.push((fee_at("formula"), e.code()));
                    }
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// What a fee comes to for one contract; a formula that fails to evaluate
/// (a division by zero) or comes to less than a fen is no fee.
pub fn fee_amount(
    fee: &FeeAmount,
    contract_total: Money,
    gross_area: crate::Area,
    inner_area: crate::Area,
) -> Option<Money> {
    match fee {
        FeeAmount::Fixed(m) => Some(*m).filter(|m| m.is_positive()),
        FeeAmount::Formula(text) => {
            let formula = Formula::parse(text, &FEE_VARIABLES).ok()?;
            let values = BTreeMap::from([
                ("contract_total", Fraction::from_hundredths(contract_total.hundredths())),
                ("gross_area", Fraction::from_hundredths(gross_area.hundredths())),
                ("inner_area", Fraction::from_hundredths(inner_area.hundredths())),
            ]);
            let fen = formula.evaluate(&values).ok()?.round_to_hundredths()?;
            Some(Money::from_hundredths(fen)).filter(|m| m.is_positive())
        }
    }
}

/// A built-in definition: what a new company starts with, and edits.
#[derive(Debug, Clone)]
pub struct BuiltIn {
    pub kind: ProcessKind,
    pub name: &'static str,
    pub start: StartEvent,
    pub steps: Vec<StepDefinition>,
}

fn step(name: &str, role: Role, due_days: u32, documents: &[&str], fees: Vec<StepFee>) -> StepDefinition {
    StepDefinition {
        name: name.to_owned(),
        role,
        due_days,
        from: DeadlineFrom::PreviousStep,
        documents: documents.iter().map(|d| (*d).to_owned()).collect(),
        fees,
        remind_days_before: due_days.min(2),
    }
}

fn fixed(name: &str, yuan: i64) -> StepFee {
    StepFee { name: name.to_owned(), amount: FeeAmount::Fixed(Money::yuan(yuan)) }
}

/// The definitions every company starts with: common practice, not any
/// city's rules; each is edited into the company's own.
pub fn built_in() -> Vec<BuiltIn> {
    use Role::{Aftersales, Finance, SalesAgent};
    vec![
        BuiltIn {
            kind: ProcessKind::Mortgage,
            name: "商业贷款按揭",
            start: StartEvent::ContractSigned,
            steps: vec![
                step("收集按揭资料", SalesAgent, 7, &["身份证", "户口簿", "婚姻证明", "收入证明", "银行流水"], vec![]),
                step("银行面签", Aftersales, 7, &["贷款申请表"], vec![]),
                step("银行审批", Aftersales, 15, &["贷款批复"], vec![]),
                step("抵押登记", Aftersales, 15, &["抵押登记证明"], vec![fixed("抵押登记费", 80)]),
                step("银行放款", Finance, 10, &[], vec![]),
            ],
        },
        BuiltIn {
            kind: ProcessKind::ProvidentFund,
            name: "公积金贷款",
            start: StartEvent::ContractSigned,
            steps: vec![
                step("收集公积金资料", SalesAgent, 7, &["身份证", "户口簿", "婚姻证明", "公积金缴存证明"], vec![]),
                step("公积金中心受理", Aftersales, 10, &["受理回执"], vec![]),
                step("公积金审批", Aftersales, 20, &["贷款批复"], vec![]),
                step("抵押登记", Aftersales, 15, &["抵押登记证明"], vec![fixed("抵押登记费", 80)]),
                step("公积金放款", Finance, 15, &[], vec![]),
            ],
        },
        BuiltIn {
            kind: ProcessKind::Registration,
            name: "网签备案",
            start: StartEvent::ContractSigned,
            steps: vec![
                step("网签", SalesAgent, 3, &["身份证"], vec![]),
                step("提交备案", Aftersales, 7, &["网签合同"], vec![]),
                step("备案完成", Aftersales, 30, &["备案证明"], vec![]),
            ],
        },
        BuiltIn {
            kind: ProcessKind::Title,
            name: "办理产权证",
            start: StartEvent::BuildingReady,
            steps: vec![
                step("收齐办证资料", Aftersales, 30, &["身份证", "购房合同", "购房发票", "维修资金缴款凭证"], vec![]),
                step("缴纳契税", Aftersales, 15, &["契税完税凭证"], vec![]),
                step(
                    "递件",
                    Aftersales,
                    15,
                    &["不动产登记申请书"],
                    vec![fixed("不动产登记费", 80), fixed("证书工本费", 10)],
                ),
                step("领取产权证", Aftersales, 30, &["不动产权证书"], vec![]),
                step("交付业主", Aftersales, 15, &["领证签收单"], vec![]),
            ],
        },
        BuiltIn {
            kind: ProcessKind::Handover,
            name: "交房",
            start: StartEvent::BuildingReady,
            steps: vec![
                step("发出交房通知", Aftersales, 7, &[], vec![]),
                step("预约交房", Aftersales, 15, &[], vec![]),
                step("验房", Aftersales, 7, &["验房记录"], vec![]),
                step("整改复验", Aftersales, 15, &[], vec![]),
                step("交钥匙", Aftersales, 7, &["交房确认书", "钥匙签收单"], vec![]),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Area;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_most_specific_definition_that_applies_wins() {
        let home = ProjectId::from("p1".to_owned());
        let other = ProjectId::from("p2".to_owned());
        let company = Applicability::default();
        let city = Applicability { city: Some("苏州".into()), ..Applicability::default() };
        let city_parking = Applicability { property_type: Some(PropertyType::Parking), ..city.clone() };
        let project = Applicability { project_id: Some(home.clone()), ..Applicability::default() };
        let elsewhere = Applicability { project_id: Some(other), ..Applicability::default() };
        let all = [
            (&company, "company"),
            (&city, "city"),
            (&city_parking, "city parking"),
            (&project, "project"),
            (&elsewhere, "elsewhere"),
        ];
        let place = |city: &'static str, t| Place { city, project_id: &home, property_type: t };
        assert_eq!(
            most_specific(all.iter().map(|(a, n)| (*a, *n)), place("苏州", PropertyType::Residential)),
            Some("project")
        );
        assert_eq!(
            most_specific(all[..3].iter().map(|(a, n)| (*a, *n)), place("苏州", PropertyType::Parking)),
            Some("city parking")
        );
        assert_eq!(
            most_specific(all[..3].iter().map(|(a, n)| (*a, *n)), place("苏州", PropertyType::Residential)),
            Some("city")
        );
        assert_eq!(
            most_specific(all[..3].iter().map(|(a, n)| (*a, *n)), place("无锡", PropertyType::Parking)),
            Some("company")
        );
        assert_eq!(most_specific([(&elsewhere, "elsewhere")], place("苏州", PropertyType::Residential)), None);
        // Equally specific: the first listed (the newest).
        assert_eq!(
            most_specific([(&company, "newer"), (&company, "older")], place("苏州", PropertyType::Storage)),
            Some("newer")
        );
    }

    #[test]
    fn a_step_is_due_its_days_after_the_previous_step_or_the_start() {
        let mut s = step("银行审批", Role::Aftersales, 15, &[], vec![]);
        assert_eq!(step_due(&s, date(2026, 3, 1), None), date(2026, 3, 16));
        assert_eq!(step_due(&s, date(2026, 3, 1), Some(date(2026, 3, 10))), date(2026, 3, 25));
        s.from = DeadlineFrom::Start;
        assert_eq!(step_due(&s, date(2026, 3, 1), Some(date(2026, 3, 10))), date(2026, 3, 16));
        assert_eq!(remind_on(&s, date(2026, 3, 16)), date(2026, 3, 14));
    }

    #[test]
    fn steps_are_checked_with_the_field_that_is_wrong() {
        assert!(built_in().iter().all(|b| check_steps(&b.steps).is_ok()));
        assert_eq!(check_steps(&[]), Err(vec![("steps".to_owned(), "required")]));
        let mut bad = step("网签", Role::SalesAgent, 3, &["身份证", "身份证"], vec![fixed("费", 0)]);
        bad.remind_days_before = 5;
        let twice = step("网签", Role::SalesAgent, 3, &[], vec![]);
        let formula = StepFee { name: "登记费".into(), amount: FeeAmount::Formula("gross_area * rate".into()) };
        let third = step("备案", Role::Aftersales, 4000, &[""], vec![formula]);
        assert_eq!(
            check_steps(&[bad, twice, third]),
            Err(vec![
                ("steps[0].remind_days_before".to_owned(), "more_than_due_days"),
                ("steps[0].documents[1]".to_owned(), "duplicate"),
                ("steps[0].fees[0].amount".to_owned(), "must_be_positive"),
                ("steps[1].name".to_owned(), "duplicate"),
                ("steps[2].due_days".to_owned(), "out_of_range"),
                ("steps[2].documents[0]".to_owned(), "required"),
                ("steps[2].fees[0].formula".to_owned(), "formula_unknown_variable"),
            ])
        );
    }

    #[test]
    fn a_fee_by_formula_is_exact_and_rounded_once() {
        let area = |t: &str| Area::parse(t).unwrap();
        let per_m2 = FeeAmount::Formula("gross_area * 3.3".into());
        assert_eq!(
            fee_amount(&per_m2, Money::yuan(1_000_000), area("89.37"), area("77.00")),
            Some(Money::parse("294.92").unwrap())
        );
        let share = FeeAmount::Formula("contract_total * 0.0005".into());
        assert_eq!(
            fee_amount(&share, Money::parse("1234567.89").unwrap(), area("89.37"), area("77.00")),
            Some(Money::parse("617.28").unwrap())
        );
        assert_eq!(
            fee_amount(&FeeAmount::Fixed(Money::yuan(80)), Money::ZERO, area("1"), area("1")),
            Some(Money::yuan(80))
        );
        let none = FeeAmount::Formula("min(0, gross_area)".into());
        assert_eq!(fee_amount(&none, Money::yuan(1), area("1"), area("1")), None);
    }
}
