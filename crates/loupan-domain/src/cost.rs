//! Project cost (PM3-PM7): the rules the cost ledger keeps — the supplier's
//! credit code, what a posting moves, how an item's dynamic cost is made up
//! and rolled up the cost item tree, and the control of a cost item.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Money;
use crate::names::named_enum;

/// The 31 characters of a unified social credit code, each worth its index.
const CREDIT_CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Why a unified social credit code (统一社会信用代码) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a credit code has 18 characters")]
    Length,
    /// A character outside digits and the 21 letters GB 32100-2015 uses (no I, O, S, V, Z).
    #[error("a credit code uses digits and capital letters other than I, O, S, V and Z")]
    Character,
    #[error("the check character does not match")]
    CheckCharacter,
}

impl CreditCodeError {
    pub fn code(self) -> &'static str {
        match self {
            CreditCodeError::Length => "invalid_credit_code_length",
            CreditCodeError::Character => "invalid_credit_code_character",
            CreditCodeError::CheckCharacter => "invalid_credit_code_check",
        }
    }
}

/// Checks a unified social credit code by GB 32100-2015: 18 characters, the
/// last the check character of the first 17 (weights 3^i mod 31). Returns
/// the code as stored: trimmed and in capitals.
pub fn credit_code(text: &str) -> Result<String, CreditCodeError> {
    let code = text.trim().to_ascii_uppercase();
    let values: Vec<u32> = code
        .chars()
        .map(|c| CREDIT_CODE_CHARS.find(c).map(|i| i as u32).ok_or(CreditCodeError::Character))
        .collect::<Result<_, _>>()
        .map_err(|e| if code.chars().count() != 18 { CreditCodeError::Length } else { e })?;
    if values.len() != 18 {
        return Err(CreditCodeError::Length);
    }
    let mut weight = 1;
    let mut sum = 0;
    for v in &values[..17] {
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    if values[17] == check { Ok(code) } else { Err(CreditCodeError::CheckCharacter) }
}

/// The full code for 17 characters: they and their check character (for
/// demo data and tests that need valid codes).
pub fn complete_credit_code(first17: &str) -> Option<String> {
    let mut candidate: String = first17.to_ascii_uppercase();
    if candidate.chars().count() != 17 {
        return None;
    }
    candidate.push('0');
    match credit_code(&candidate) {
        Ok(code) => Some(code),
        Err(CreditCodeError::CheckCharacter) => {
            CREDIT_CODE_CHARS.chars().map(|c| format!("{}{c}", &candidate[..17])).find(|code| credit_code(code).is_ok())
        }
        Err(_) => None,
    }
}

named_enum! {
    /// How a cost item guards its balance when a contract would exceed it.
    pub enum ControlMode("control mode") {
        /// Refuse what exceeds the balance (强控).
        Strong = "strong",
        /// Accept with a reason given (弱控).
        Weak = "weak",
    }
}

named_enum! {
    /// The area a cost per m² is read against.
    pub enum AreaBasis("area basis") {
        /// The gross area of the units, what is sold (可售面积).
        SaleableArea = "saleable_area",
        /// Everything built, basements and shared spaces too (总建筑面积).
        GrossFloorArea = "gross_floor_area",
    }
}

named_enum! {
    /// The column of the dynamic cost a posting moves.
    pub enum Bucket("cost bucket") {
        /// The current target cost version's amount.
        Target = "target",
        /// Signed contracts and supplementary agreements.
        Contracted = "contracted",
        /// Design changes at their estimate, until confirmed.
        ChangesEstimated = "changes_estimated",
        /// Design changes at their confirmed amount.
        ChangesConfirmed = "changes_confirmed",
        VisasEstimated = "visas_estimated",
        VisasConfirmed = "visas_confirmed",
        /// Planned contracts not yet signed: their planned amount or the rest of it.
        Pending = "pending",
        /// Further cost the cost engineer expects (预估), with a reason.
        Expected = "expected",
    }
}

named_enum! {
    /// The kind of document behind a posting (its drill-down).
    pub enum DocumentType("cost document type") {
        TargetVersion = "target_version",
        PlanLine = "plan_line",
        Contract = "contract",
        Variation = "variation",
        /// An expected further cost entered with its reason (the posting is its own document).
        Expected = "expected",
    }
}

named_enum! {
    /// A design change (设计变更) or a site visa (现场签证).
    pub enum VariationKind("variation kind") {
        Change = "change",
        Visa = "visa",
    }
}

impl VariationKind {
    /// The bucket of its estimate and of its confirmed amount.
    pub fn buckets(self) -> (Bucket, Bucket) {
        match self {
            VariationKind::Change => (Bucket::ChangesEstimated, Bucket::ChangesConfirmed),
            VariationKind::Visa => (Bucket::VisasEstimated, Bucket::VisasConfirmed),
        }
    }
}

named_enum! {
    /// Where a change or visa stands: its estimate counts from its approval
    /// until it is confirmed.
    pub enum VariationStatus("variation status") {
        /// Waiting for its approval (large ones: the flow routes by amount); counts nothing yet.
        Pending = "pending",
        /// Submitted (申报) and approved at an estimated amount: the estimate counts.
        Estimated = "estimated",
        /// Confirmed at completion (完工确认); the confirmed amount replaced the estimate.
        Confirmed = "confirmed",
        /// Refused by its approvers, or withdrawn by its submitter: never counts.
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// The design stage a target cost version was made at.
    pub enum TargetStage("target stage") {
        /// 方案
        Scheme = "scheme",
        /// 扩初
        Preliminary = "preliminary",
        /// 施工图
        ConstructionDrawings = "construction_drawings",
        /// 定稿
        Final = "final",
    }
}

named_enum! {
    pub enum TargetStatus("target version status") {
        /// Being prepared; counts nowhere.
        Draft = "draft",
        /// The version cost control uses (one per project).
        Current = "current",
        /// Was current once; kept for comparison.
        Superseded = "superseded",
    }
}

named_enum! {
    /// Where a cost contract stands. Only a signed one counts in the dynamic cost.
    pub enum CostContractStatus("cost contract status") {
        /// Submitted, waiting for its approval (beyond the plan, by default).
        Pending = "pending",
        Signed = "signed",
        Rejected = "rejected",
        /// Withdrawn by the one who submitted it.
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// How a cost contract prices its work.
    pub enum CostContractKind("cost contract kind") {
        /// 总价合同
        TotalPrice = "total_price",
        /// 单价合同
        UnitPrice = "unit_price",
        /// 框架协议
        Framework = "framework",
    }
}

/// An item's figures: the sums of its postings by bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub target: Money,
    pub contracted: Money,
    pub changes_estimated: Money,
    pub changes_confirmed: Money,
    pub visas_estimated: Money,
    pub visas_confirmed: Money,
    pub pending: Money,
    pub expected: Money,
}

impl Figures {
    pub fn post(&mut self, bucket: Bucket, amount: Money) {
        let column = match bucket {
            Bucket::Target => &mut self.target,
            Bucket::Contracted => &mut self.contracted,
            Bucket::ChangesEstimated => &mut self.changes_estimated,
            Bucket::ChangesConfirmed => &mut self.changes_confirmed,
            Bucket::VisasEstimated => &mut self.visas_estimated,
            Bucket::VisasConfirmed => &mut self.visas_confirmed,
            Bucket::Pending => &mut self.pending,
            Bucket::Expected => &mut self.expected,
        };
        *column += amount;
    }

    pub fn add(&mut self, other: &Figures) {
        self.target += other.target;
        self.contracted += other.contracted;
        self.changes_estimated += other.changes_estimated;
        self.changes_confirmed += other.changes_confirmed;
        self.visas_estimated += other.visas_estimated;
        self.visas_confirmed += other.visas_confirmed;
        self.pending += other.pending;
        self.expected += other.expected;
    }

    pub fn changes(&self) -> Money {
        self.changes_estimated + self.changes_confirmed
    }

    pub fn visas(&self) -> Money {
        self.visas_estimated + self.visas_confirmed
    }

    /// 动态成本 = contracted + changes + visas + pending + expected.
    pub fn dynamic(&self) -> Money {
        self.contracted + self.changes() + self.visas() + self.pending + self.expected
    }

    /// Target − dynamic: negative when the item is over its target.
    pub fn balance(&self) -> Money {
        self.target - self.dynamic()
    }
}

/// Each item's own figures plus those of every item below it. `parents`
/// maps every item to its parent (None at the top); an item missing from
/// `own` has no postings. A parent that is not in `parents` stops the walk.
pub fn roll_up<K: Ord + Clone>(parents: &BTreeMap<K, Option<K>>, own: &BTreeMap<K, Figures>) -> BTreeMap<K, Figures> {
    let mut total: BTreeMap<K, Figures> = parents.keys().map(|k| (k.clone(), Figures::default())).collect();
    for (item, figures) in own {
        let mut at = Some(item.clone());
        // A cycle would be a corrupt tree: never climb more steps than there are items.
        let mut steps = 0;
        while let Some(k) = at {
            let Some(t) = total.get_mut(&k) else { break };
            t.add(figures);
            steps += 1;
            if steps > parents.len() {
                break;
            }
            at = parents.get(&k).cloned().flatten();
        }
    }
    total
}

/// What the control of a cost item says about a contract line of `amount`
/// against a plan line with `balance` left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Within,
    /// Over the balance on a strong-control item: refused.
    Refused,
    /// Over the balance on a weak-control item: accepted with a reason.
    NeedsReason,
}

pub fn control(mode: ControlMode, balance: Money, amount: Money) -> Control {
    match (amount > balance, mode) {
        (false, _) => Control::Within,
        (true, ControlMode::Strong) => Control::Refused,
        (true, ControlMode::Weak) => Control::NeedsReason,
    }
}

/// How much of a plan line's pending amount a contract line of `amount`
/// releases: the line's balance left (never below zero), at most `amount`.
pub fn pending_released(planned: Money, contracted_before: Money, amount: Money) -> Money {
    let left = planned - contracted_before;
    if left.is_negative() { Money::ZERO } else { left.min(amount) }
}

/// An amount per m² of `area` (the project's saleable area), rounded half
/// away from zero to the fen; None without area.
pub fn per_m2(amount: Money, area: crate::Area) -> Option<Money> {
    amount.per_m2(area)
}

/// Trial calculation (测算) of one item: the mean of the finished projects'
/// per-m² figures (each rounded to the fen, the mean too), scaled to this
/// project's area (rounded to the fen). None when no source has area.
pub fn trial_amount(sources: &[(Money, crate::Area)], area: crate::Area) -> Option<(Money, Money)> {
    let rates: Vec<Money> = sources.iter().filter_map(|(amount, a)| per_m2(*amount, *a)).collect();
    if rates.is_empty() {
        return None;
    }
    let sum: i128 = rates.iter().map(|r| i128::from(r.hundredths())).sum();
    let n = rates.len() as i128;
    let mean = if sum >= 0 { (sum + n / 2) / n } else { (sum - n / 2) / n };
    let mean = Money::from_hundredths(i64::try_from(mean).ok()?);
    Some((mean, area.priced_at(mean)))
}

/// A change ratio beyond which the cost engineer is warned (changes and visas
/// over 5 % of the contracted amount), as basis points.
pub const CHANGE_RATIO_WARNING_BP: i64 = 500;

/// True when changes and visas exceed the warning ratio of the contracted amount.
pub fn change_ratio_exceeded(f: &Figures) -> bool {
    let variations = (f.changes() + f.visas()).hundredths() as i128;
    let contracted = f.contracted.hundredths() as i128;
    contracted > 0 && variations * 10_000 > contracted * CHANGE_RATIO_WARNING_BP as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_checked_by_their_check_character() {
        assert_eq!(credit_code("91350100M000100Y43"), Ok("91350100M000100Y43".to_owned()));
        assert_eq!(credit_code(" 91110000600037341l "), Ok("91110000600037341L".to_owned()));
        assert_eq!(credit_code("91350100M000100Y44"), Err(CreditCodeError::CheckCharacter));
        assert_eq!(credit_code("91350100M000100Y4"), Err(CreditCodeError::Length));
        assert_eq!(credit_code("9135010OM000100Y43"), Err(CreditCodeError::Character));
        assert_eq!(credit_code("中135010OM000100Y43"), Err(CreditCodeError::Character));
        assert_eq!(credit_code("中9135010OM000100Y43"), Err(CreditCodeError::Length));
        assert_eq!(credit_code(""), Err(CreditCodeError::Length));
        assert_eq!(complete_credit_code("91350100M000100Y4").as_deref(), Some("91350100M000100Y43"));
        assert_eq!(complete_credit_code("91350100M000100Y"), None);
    }

    #[test]
    fn names_round_trip() {
        crate::names::assert_names_round_trip(&Bucket::ALL, |b| b.name());
        crate::names::assert_names_round_trip(&ControlMode::ALL, |b| b.name());
        crate::names::assert_names_round_trip(&VariationKind::ALL, |b| b.name());
        crate::names::assert_names_round_trip(&TargetStage::ALL, |b| b.name());
        crate::names::assert_names_round_trip(&CostContractKind::ALL, |b| b.name());
        crate::names::assert_names_round_trip(&CostContractStatus::ALL, |b| b.name());
    }

    #[test]
    fn dynamic_cost_is_the_sum_of_its_columns_and_the_balance_what_is_left() {
        let mut f = Figures::default();
        f.post(Bucket::Target, Money::yuan(1_000_000));
        f.post(Bucket::Contracted, Money::yuan(600_000));
        f.post(Bucket::ChangesEstimated, Money::yuan(100_000));
        f.post(Bucket::ChangesEstimated, Money::yuan(-100_000));
        f.post(Bucket::ChangesConfirmed, Money::parse("86500.00").unwrap());
        f.post(Bucket::VisasEstimated, Money::yuan(20_000));
        f.post(Bucket::Pending, Money::yuan(250_000));
        f.post(Bucket::Expected, Money::yuan(50_000));
        assert_eq!(f.changes().to_string(), "86500.00");
        assert_eq!(f.dynamic().to_string(), "1006500.00");
        assert_eq!(f.balance().to_string(), "-6500.00");
        assert!(change_ratio_exceeded(&f));
    }

    #[test]
    fn figures_roll_up_the_tree() {
        let parents: BTreeMap<&str, Option<&str>> =
            [("01", None), ("01.01", Some("01")), ("01.01.01", Some("01.01")), ("02", None)].into_iter().collect();
        let mut own = BTreeMap::new();
        for (item, yuan) in [("01", 1), ("01.01", 10), ("01.01.01", 100), ("02", 1000)] {
            let mut f = Figures::default();
            f.post(Bucket::Contracted, Money::yuan(yuan));
            own.insert(item, f);
        }
        let total = roll_up(&parents, &own);
        let contracted = |k| total[k].contracted.to_string();
        assert_eq!(
            (contracted("01"), contracted("01.01"), contracted("01.01.01"), contracted("02")),
            ("111.00".into(), "110.00".into(), "100.00".into(), "1000.00".into())
        );
    }

    #[test]
    fn trial_calculation_scales_the_mean_per_m2_to_this_project() {
        let area = |t: &str| crate::Area::parse(t).unwrap();
        // 1,000,000.00 over 333.33 m² is 3000.0300… → 3000.03 per m²; 2,000,000.00 over 500 m² is 4000.00.
        assert_eq!(per_m2(Money::yuan(1_000_000), area("333.33")), Some(Money::parse("3000.03").unwrap()));
        assert_eq!(per_m2(Money::yuan(1), area("0")), None);
        let (mean, amount) = trial_amount(
            &[(Money::yuan(1_000_000), area("333.33")), (Money::yuan(2_000_000), area("500.00"))],
            area("120.50"),
        )
        .unwrap();
        // The mean 3500.015 rounds to 3500.02; × 120.50 m² = 421752.41.
        assert_eq!((mean.to_string(), amount.to_string()), ("3500.02".into(), "421752.41".into()));
    }

    #[test]
    fn control_and_pending() {
        let (balance, over) = (Money::yuan(100), Money::yuan(101));
        assert_eq!(control(ControlMode::Strong, balance, balance), Control::Within);
        assert_eq!(control(ControlMode::Strong, balance, over), Control::Refused);
        assert_eq!(control(ControlMode::Weak, balance, over), Control::NeedsReason);
        assert_eq!(pending_released(Money::yuan(100), Money::yuan(30), Money::yuan(50)), Money::yuan(50));
        assert_eq!(pending_released(Money::yuan(100), Money::yuan(80), Money::yuan(50)), Money::yuan(20));
        assert_eq!(pending_released(Money::yuan(100), Money::yuan(120), Money::yuan(50)), Money::ZERO);
    }
}
