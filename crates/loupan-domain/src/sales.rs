//! Payment methods and payment plans (F2), and ageing buckets (F7).
//!
//! Ratios are exact decimals held as millionths. A plan's term amounts are
//! `ratio × total` rounded half away from zero to the fen, and the last term
//! takes the remainder, so a plan always sums to the total exactly.

use crate::names::named_enum;
use chrono::NaiveDate;

use crate::{Area, Money};

/// A ratio in millionths: `"0.3"` is 300 000, `"1"` is 1 000 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ratio(i64);

impl Ratio {
    pub const ONE: Ratio = Ratio(1_000_000);
    pub const ZERO: Ratio = Ratio(0);

    /// At most six decimals, between 0 and 1 inclusive.
    pub fn parse(text: &str) -> Result<Ratio, &'static str> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (!frac.is_empty() && !digits(frac)) || (text.contains('.') && frac.is_empty()) {
            return Err("not_a_number");
        }
        if frac.len() > 6 || whole.len() > 1 {
            return Err(if frac.len() > 6 { "too_precise" } else { "out_of_range" });
        }
        let whole: i64 = whole.parse().map_err(|_| "not_a_number")?;
        let frac_value: i64 = format!("{frac:0<6}").parse().map_err(|_| "not_a_number")?;
        let value = whole * 1_000_000 + frac_value;
        if value > 1_000_000 { Err("out_of_range") } else { Ok(Ratio(value)) }
    }

    pub const fn from_millionths(v: i64) -> Ratio {
        Ratio(v)
    }

    pub const fn millionths(self) -> i64 {
        self.0
    }

    /// `amount × ratio`, rounded half away from zero to the fen.
    pub fn of(self, amount: Money) -> Money {
        let product = i128::from(amount.hundredths()) * i128::from(self.0);
        let half = 500_000i128;
        let rounded = if product >= 0 { (product + half) / 1_000_000 } else { (product - half) / 1_000_000 };
        Money::from_hundredths(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000);
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        f.write_str(if trimmed.is_empty() { "0" } else { trimmed })
    }
}

named_enum! {
    /// What a payment-plan term is for (API.md).
    pub enum TermKind("term kind") {
        Deposit = "deposit",
        DownPayment = "down_payment",
        Instalment = "instalment",
        /// 按揭: paid by the bank; finance reports it apart from the buyer's own money.
        Mortgage = "mortgage",
        Compensation = "compensation",
        Fee = "fee",
    }
}

impl TermKind {
    /// The instalment's name as Chinese documents print it (letters, receipts).
    pub const fn printed_name(self) -> &'static str {
        match self {
            TermKind::Deposit => "定金",
            TermKind::DownPayment => "首付款",
            TermKind::Instalment => "分期款",
            TermKind::Mortgage => "按揭款",
            TermKind::Compensation => "面积补差款",
            TermKind::Fee => "代收费用",
        }
    }
}

named_enum! {
    /// The kinds of payment method (付款方式).
    pub enum PaymentMethodKind("payment method kind") {
        /// 一次性付款
        OneOff = "one_off",
        /// 分期付款
        Instalments = "instalments",
        /// 商业按揭
        CommercialMortgage = "commercial_mortgage",
        /// 公积金贷款
        ProvidentFund = "provident_fund",
        /// 组合贷款
        Combined = "combined",
    }
}

/// One term of a payment method: a share of the price due some days after signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub kind: TermKind,
    pub ratio: Ratio,
    pub days_after_signing: u32,
}

/// Checks that a method's terms are usable: at least one, ratios summing to 1.
pub fn check_terms(terms: &[Term]) -> Result<(), &'static str> {
    if terms.is_empty() {
        return Err("required");
    }
    let sum: i64 = terms.iter().map(|t| t.ratio.millionths()).sum();
    if sum != Ratio::ONE.millionths() { Err("ratios_must_sum_to_one") } else { Ok(()) }
}

/// One instalment of a contract's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedInstalment {
    pub kind: TermKind,
    pub due_date: NaiveDate,
    pub amount: Money,
}

/// The payment plan of a contract of `total` signed on `signed_on`.
pub fn payment_plan(terms: &[Term], total: Money, signed_on: NaiveDate) -> Vec<PlannedInstalment> {
    let mut plan = Vec::with_capacity(terms.len());
    let mut allotted = Money::ZERO;
    for (i, term) in terms.iter().enumerate() {
        let amount = if i + 1 == terms.len() {
            total.checked_sub(allotted).unwrap_or(Money::ZERO)
        } else {
            term.ratio.of(total)
        };
        allotted = allotted.checked_add(amount).unwrap_or(allotted);
        let due_date = signed_on + chrono::Days::new(u64::from(term.days_after_signing));
        plan.push(PlannedInstalment { kind: term.kind, due_date, amount });
    }
    plan
}

/// What an instalment still owes, for allocation: its due date, its place in
/// the plan, and how much is still open (amount − paid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAmount {
    pub due: NaiveDate,
    pub seq: i32,
    pub open: Money,
}

/// Settles `amount` against instalments in due-date order, then plan order:
/// returns (index into `instalments`, amount) per instalment touched and what
/// is left over. Never takes more than an instalment owes.
pub fn allocate(instalments: &[OpenAmount], amount: Money) -> (Vec<(usize, Money)>, Money) {
    let mut order: Vec<usize> = (0..instalments.len()).collect();
    order.sort_by_key(|&i| (instalments[i].due, instalments[i].seq));
    let mut left = amount.max(Money::ZERO);
    let mut takes = Vec::new();
    for i in order {
        if left.is_zero() {
            break;
        }
        let open = instalments[i].open;
        if !open.is_positive() {
            continue;
        }
        let take = open.min(left);
        takes.push((i, take));
        left -= take;
    }
    (takes, left)
}

named_enum! {
    /// A business change to a deal (业务变更). Every `match` on it is exhaustive,
    /// so a new kind cannot fall through to another kind's handling.
    pub enum ChangeKind("change kind") {
        /// 退房: the contract ends, the unit is for sale again, the money paid is refunded.
        CancelContract = "cancel_contract",
        /// 退订: the same for a subscription.
        CancelSubscription = "cancel_subscription",
        /// 换房: the deal moves to another unit; the money paid moves with it.
        Swap = "swap",
        ChangePrice = "change_price",
        ChangePaymentMethod = "change_payment_method",
        /// 更名 / 增减权益人: the buyers and their shares are replaced.
        Rename = "rename",
    }
}

named_enum! {
    /// Where a change request stands; approved changes are executed at once.
    pub enum ChangeStatus("change status") {
        /// Waiting for its approval.
        Requested = "requested",
        Executed = "executed",
        Rejected = "rejected",
    }
}

named_enum! {
    /// A contract (合同) is in force until a change cancels it.
    pub enum ContractStatus("contract status") {
        Active = "active",
        /// 退房, or moved to another unit by a swap.
        Cancelled = "cancelled",
    }
}

named_enum! {
    /// A subscription (认购) is in force until it becomes a contract or is cancelled.
    pub enum SubscriptionStatus("subscription status") {
        Active = "active",
        /// 转签约: a contract replaced it.
        Converted = "converted",
        /// 退订, or moved to another unit by a swap.
        Cancelled = "cancelled",
    }
}

named_enum! {
    /// A reservation (预留) holds a unit for a customer until it expires.
    pub enum ReservationStatus("reservation status") {
        Active = "active",
        /// The customer subscribed the unit.
        Converted = "converted",
        /// The hold ran out and the unit went back on sale.
        Expired = "expired",
    }
}

named_enum! {
    /// Where a price adjustment (调价) stands.
    pub enum AdjustmentStatus("price adjustment status") {
        /// Being prepared; also where a rejected adjustment returns.
        Draft = "draft",
        /// In approval.
        Pending = "pending",
        /// The new prices are on the units.
        Applied = "applied",
    }
}

named_enum! {
    /// How a price adjustment (调价) moves each unit's list price.
    pub enum AdjustmentMethod("price adjustment method") {
        /// By a share of the current price: `0.03` raises by 3 %, `-0.05` lowers by 5 %.
        Percent = "percent",
        /// By an amount per m2 of gross area.
        PerM2 = "per_m2",
        /// By the same amount on every unit.
        PerUnit = "per_unit",
    }
}

/// What a price adjustment does to one unit's price: a method and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceShift {
    /// Signed millionths of the current price, at most half of it either way.
    Percent(i64),
    PerM2(Money),
    PerUnit(Money),
}

impl PriceShift {
    /// The largest share of a price one adjustment may move (50 %).
    pub const MAX_PERCENT_MILLIONTHS: i64 = 500_000;

    /// Reads a value as typed for its method: a signed ratio for `percent`
    /// (`"-0.05"`), yuan otherwise; zero moves nothing and is refused.
    pub fn parse(method: AdjustmentMethod, text: &str) -> Result<PriceShift, &'static str> {
        let text = text.trim();
        match method {
            AdjustmentMethod::Percent => {
                let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
                let share = Ratio::parse(digits)?.millionths();
                if share == 0 || share > Self::MAX_PERCENT_MILLIONTHS {
                    return Err("out_of_range");
                }
                Ok(PriceShift::Percent(if negative { -share } else { share }))
            }
            AdjustmentMethod::PerM2 | AdjustmentMethod::PerUnit => {
                let amount = Money::parse(text).map_err(|e| e.code())?;
                if amount.is_zero() {
                    return Err("out_of_range");
                }
                Ok(if method == AdjustmentMethod::PerM2 {
                    PriceShift::PerM2(amount)
                } else {
                    PriceShift::PerUnit(amount)
                })
            }
        }
    }

    /// From the stored pair: millionths for `percent`, fen otherwise.
    pub const fn from_stored(method: AdjustmentMethod, value: i64) -> PriceShift {
        match method {
            AdjustmentMethod::Percent => PriceShift::Percent(value),
            AdjustmentMethod::PerM2 => PriceShift::PerM2(Money::from_hundredths(value)),
            AdjustmentMethod::PerUnit => PriceShift::PerUnit(Money::from_hundredths(value)),
        }
    }

    pub const fn method(self) -> AdjustmentMethod {
        match self {
            PriceShift::Percent(_) => AdjustmentMethod::Percent,
            PriceShift::PerM2(_) => AdjustmentMethod::PerM2,
            PriceShift::PerUnit(_) => AdjustmentMethod::PerUnit,
        }
    }

    /// The value column: millionths for `percent`, fen otherwise.
    pub const fn stored_value(self) -> i64 {
        match self {
            PriceShift::Percent(millionths) => millionths,
            PriceShift::PerM2(amount) | PriceShift::PerUnit(amount) => amount.hundredths(),
        }
    }

    /// The new list price of a unit of `gross_area` now priced at `old`
    /// (each step rounded half away from zero to the fen; an overflow keeps the old price).
    pub fn applied_to(self, old: Money, gross_area: Area) -> Money {
        let delta = match self {
            PriceShift::Percent(millionths) => {
                let moved = Ratio::from_millionths(millionths.abs()).of(old);
                if millionths < 0 { -moved } else { moved }
            }
            PriceShift::PerM2(per_m2) => gross_area.priced_at(per_m2),
            PriceShift::PerUnit(amount) => amount,
        };
        old.checked_add(delta).unwrap_or(old)
    }
}

/// As typed: a signed ratio for `percent`, yuan otherwise.
impl std::fmt::Display for PriceShift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PriceShift::Percent(millionths) => {
                let sign = if *millionths < 0 { "-" } else { "" };
                write!(f, "{sign}{}", Ratio::from_millionths(millionths.abs()))
            }
            PriceShift::PerM2(amount) | PriceShift::PerUnit(amount) => write!(f, "{amount}"),
        }
    }
}

impl ChangeKind {
    pub const fn is_cancellation(self) -> bool {
        matches!(self, ChangeKind::CancelContract | ChangeKind::CancelSubscription)
    }
}

/// Ageing buckets (帐龄区间): after `not_due`, each bucket holds the amounts
/// overdue by one more day than the previous bucket's limit up to its own
/// limit (bounds inclusive), and a last bucket everything beyond. DOMAIN.md's
/// default is 30, 60, 90, 180, 365; a company or a project may set its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgeingBuckets {
    limits: Vec<u32>,
}

impl Default for AgeingBuckets {
    fn default() -> Self {
        AgeingBuckets { limits: vec![30, 60, 90, 180, 365] }
    }
}

/// The label of the bucket of amounts not yet due.
pub const NOT_DUE: &str = "not_due";

impl AgeingBuckets {
    /// Most buckets a report shows (columns on a page and in a spreadsheet).
    pub const MAX_LIMITS: usize = 12;

    /// Limits in days, increasing, each at least 1 and at most 36,500 (a
    /// century); the error is the field code.
    pub fn new(limits: Vec<u32>) -> Result<Self, &'static str> {
        if limits.is_empty() {
            return Err("required");
        }
        if limits.len() > Self::MAX_LIMITS {
            return Err("too_many_buckets");
        }
        if limits.iter().any(|&l| l == 0 || l > 36_500) {
            return Err("out_of_range");
        }
        if limits.windows(2).any(|w| w[0] >= w[1]) {
            return Err("buckets_not_increasing");
        }
        Ok(AgeingBuckets { limits })
    }

    /// `30, 60, 90` (commas, spaces or 、 between the limits).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let limits: Result<Vec<u32>, _> = text
            .split([',', '，', '、', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::parse::<u32>)
            .collect();
        Self::new(limits.map_err(|_| "not_a_number")?)
    }

    pub fn limits(&self) -> &[u32] {
        &self.limits
    }

    /// `not_due`, `1-30`, `31-60`, …, `>365`: the report's keys, in order.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = vec![NOT_DUE.to_owned()];
        let mut from = 1;
        for &limit in &self.limits {
            labels.push(format!("{from}-{limit}"));
            from = limit + 1;
        }
        labels.push(format!(">{}", from - 1));
        labels
    }

    /// The index in `labels()` of an amount due on `due`, seen on `as_of`.
    pub fn index_of(&self, due: NaiveDate, as_of: NaiveDate) -> usize {
        let days = (as_of - due).num_days();
        if days <= 0 {
            return 0;
        }
        1 + self.limits.iter().position(|&limit| days <= i64::from(limit)).unwrap_or(self.limits.len())
    }

    /// The label of an amount due on `due`, seen on `as_of`.
    pub fn label_of(&self, due: NaiveDate, as_of: NaiveDate) -> String {
        self.labels().swap_remove(self.index_of(due, as_of))
    }

    /// The buckets as due-date ranges for a query, in `labels()` order: each
    /// holds the instalments due on or after `from` and before `until`
    /// (`None`: unbounded), so that a database can sum them without knowing the rule.
    pub fn ranges(&self, as_of: NaiveDate) -> Vec<(Option<NaiveDate>, Option<NaiveDate>)> {
        let back = |days: u32| as_of.checked_sub_signed(chrono::Duration::days(i64::from(days)));
        let mut out = vec![(Some(as_of), None)];
        let mut until = Some(as_of);
        for &limit in &self.limits {
            let from = back(limit);
            out.push((from, until));
            until = from;
        }
        out.push((None, until));
        out
    }
}

/// DOMAIN.md's default bucket of an unpaid amount due on `due` as seen on `as_of`.
pub fn ageing_bucket(due: NaiveDate, as_of: NaiveDate) -> String {
    AgeingBuckets::default().label_of(due, as_of)
}

#[cfg(test)]
mod allocation_properties {
    use super::*;
    use proptest::prelude::*;

    /// A receipt (fen), or a new price for the plan (each instalment's new amount).
    #[derive(Debug, Clone)]
    enum Movement {
        Receipt(i64),
        Reprice(Vec<i64>),
    }

    fn cases() -> impl Strategy<Value = (Vec<(i64, u32)>, Vec<Movement>)> {
        prop::collection::vec((1i64..500_000_000, 0u32..720), 1..8).prop_flat_map(|plan| {
            let n = plan.len();
            let movement = prop_oneof![
                3 => (1i64..300_000_000).prop_map(Movement::Receipt),
                1 => prop::collection::vec(1i64..500_000_000, n..=n).prop_map(Movement::Reprice),
            ];
            (Just(plan), prop::collection::vec(movement, 0..12))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Receipts settle instalments in due order and never over-allocate; when
        /// the price changes every receipt is allocated again to the new plan and
        /// what it does not need is a refund. At every step: 0 ≤ paid ≤ amount per
        /// instalment, and paid + refunds = money received.
        #[test]
        fn allocation_never_breaks_the_invariant((plan, movements) in cases()) {
            let signed = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
            let dues: Vec<NaiveDate> = plan.iter().map(|p| signed + chrono::Days::new(u64::from(p.1))).collect();
            let mut amounts: Vec<i64> = plan.iter().map(|p| p.0).collect();
            let mut paid = vec![0i64; plan.len()];
            let mut receipts: Vec<i64> = Vec::new();
            let mut refunds = 0i64;
            let open = |amounts: &[i64], paid: &[i64]| -> Vec<OpenAmount> {
                (0..amounts.len()).map(|i| OpenAmount { due: dues[i], seq: i as i32, open: Money::from_hundredths(amounts[i] - paid[i]) }).collect()
            };
            for m in movements {
                match m {
                    Movement::Receipt(fen) => {
                        let now = open(&amounts, &paid);
                        let (takes, left) = allocate(&now, Money::from_hundredths(fen));
                        let (takes, left): (Vec<(usize, i64)>, i64) =
                            (takes.into_iter().map(|(i, t)| (i, t.hundredths())).collect(), left.hundredths());
                        let mut last: Option<(NaiveDate, i32)> = None;
                        for (i, take) in &takes {
                            prop_assert!(*take > 0 && *take <= now[*i].open.hundredths(), "over-allocated");
                            if let Some(l) = last { prop_assert!((now[*i].due, now[*i].seq) > l, "not in due order"); }
                            last = Some((now[*i].due, now[*i].seq));
                            paid[*i] += take;
                        }
                        // Anything left over is money the plan does not owe: refunded.
                        prop_assert_eq!(takes.iter().map(|t| t.1).sum::<i64>() + left, fen);
                        refunds += left;
                        receipts.push(fen - left);
                    }
                    Movement::Reprice(new_amounts) => {
                        amounts = new_amounts;
                        paid = vec![0; amounts.len()];
                        for r in &receipts {
                            let (takes, left) = allocate(&open(&amounts, &paid), Money::from_hundredths(*r));
                            for (i, take) in takes { paid[i] += take.hundredths(); }
                            refunds += left.hundredths();
                        }
                        receipts = vec![paid.iter().sum::<i64>()];
                    }
                }
                for i in 0..amounts.len() {
                    prop_assert!(paid[i] >= 0 && paid[i] <= amounts[i]);
                }
                let received: i64 = receipts.iter().sum::<i64>() + refunds;
                prop_assert_eq!(paid.iter().sum::<i64>() + refunds, received);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ageing_ranges_put_every_due_date_in_the_bucket_of_the_rule() {
        let as_of = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for buckets in [super::AgeingBuckets::default(), super::AgeingBuckets::parse("7, 15、45").unwrap()] {
            let ranges = buckets.ranges(as_of);
            let labels = buckets.labels();
            assert_eq!(ranges.len(), labels.len());
            for back in -40..800 {
                let due = as_of - chrono::Duration::days(back);
                let holding: Vec<&str> = ranges
                    .iter()
                    .zip(&labels)
                    .filter(|((from, until), _)| from.is_none_or(|f| due >= f) && until.is_none_or(|u| due < u))
                    .map(|(_, b)| b.as_str())
                    .collect();
                assert_eq!(holding, [buckets.label_of(due, as_of)], "due {due}");
            }
        }
        // DOMAIN.md's bounds, inclusive.
        let day = |n: i64| as_of - chrono::Duration::days(n);
        let bucket = |n| super::ageing_bucket(day(n), as_of);
        assert_eq!(
            [bucket(0), bucket(1), bucket(30), bucket(31), bucket(365), bucket(366)],
            ["not_due", "1-30", "1-30", "31-60", "181-365", ">365"]
        );
        assert_eq!(
            super::AgeingBuckets::default().labels(),
            ["not_due", "1-30", "31-60", "61-90", "91-180", "181-365", ">365"]
        );
    }

    #[test]
    fn custom_buckets_are_increasing_limits_in_days() {
        use super::AgeingBuckets;
        let b = AgeingBuckets::parse("7, 15，45").unwrap();
        assert_eq!(b.labels(), ["not_due", "1-7", "8-15", "16-45", ">45"]);
        let as_of = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let day = |n: i64| as_of - chrono::Duration::days(n);
        let labels: Vec<String> = [0, 1, 7, 8, 15, 16, 45, 46].iter().map(|&n| b.label_of(day(n), as_of)).collect();
        assert_eq!(labels, ["not_due", "1-7", "1-7", "8-15", "8-15", "16-45", "16-45", ">45"]);
        assert_eq!(AgeingBuckets::parse("30, 30"), Err("buckets_not_increasing"));
        assert_eq!(AgeingBuckets::parse("60, 30"), Err("buckets_not_increasing"));
        assert_eq!(AgeingBuckets::parse(""), Err("required"));
        assert_eq!(AgeingBuckets::parse("0, 30"), Err("out_of_range"));
        assert_eq!(AgeingBuckets::parse("30, x"), Err("not_a_number"));
        assert_eq!(AgeingBuckets::parse("1 2 3 4 5 6 7 8 9 10 11 12 13"), Err("too_many_buckets"));
    }

    use super::*;

    #[test]
    fn status_and_kind_names_round_trip() {
        use crate::names::assert_names_round_trip;
        assert_names_round_trip(&ChangeKind::ALL, |s| s.name());
        assert_names_round_trip(&ChangeStatus::ALL, |s| s.name());
        assert_names_round_trip(&ContractStatus::ALL, |s| s.name());
        assert_names_round_trip(&SubscriptionStatus::ALL, |s| s.name());
        assert_names_round_trip(&ReservationStatus::ALL, |s| s.name());
        assert_names_round_trip(&AdjustmentStatus::ALL, |s| s.name());
        assert_names_round_trip(&AdjustmentMethod::ALL, |s| s.name());
    }

    #[test]
    fn a_price_shift_moves_a_price_by_a_share_per_m2_or_per_unit() {
        let price = Money::parse("1000000.00").unwrap();
        let area = Area::parse("89.35").unwrap();
        let shift = |m, t| PriceShift::parse(m, t).unwrap();
        assert_eq!(shift(AdjustmentMethod::Percent, "0.03").applied_to(price, area).to_string(), "1030000.00");
        assert_eq!(shift(AdjustmentMethod::Percent, "-0.000005").applied_to(price, area).to_string(), "999995.00");
        assert_eq!(shift(AdjustmentMethod::PerM2, "-100").applied_to(price, area).to_string(), "991065.00");
        assert_eq!(shift(AdjustmentMethod::PerUnit, "5000.5").applied_to(price, area).to_string(), "1005000.50");
        assert_eq!(shift(AdjustmentMethod::Percent, "-0.05").to_string(), "-0.05");
        let stored = shift(AdjustmentMethod::PerM2, "12.34");
        assert_eq!(PriceShift::from_stored(stored.method(), stored.stored_value()), stored);
        assert_eq!(PriceShift::parse(AdjustmentMethod::Percent, "0.6"), Err("out_of_range"));
        assert_eq!(PriceShift::parse(AdjustmentMethod::Percent, "0"), Err("out_of_range"));
        assert_eq!(PriceShift::parse(AdjustmentMethod::PerUnit, "0.00"), Err("out_of_range"));
        assert_eq!(PriceShift::parse(AdjustmentMethod::PerUnit, "abc"), Err("not_a_number"));
        // As stored: millionths for a share, fen for amounts.
        let (old, area) = (Money::parse("1340550.00").unwrap(), Area::parse("89.37").unwrap());
        let stored = |m, v| PriceShift::from_stored(m, v).applied_to(old, area).to_string();
        assert_eq!(stored(AdjustmentMethod::Percent, 30_000), "1380766.50");
        assert_eq!(stored(AdjustmentMethod::Percent, -50_000), "1273522.50");
        assert_eq!(stored(AdjustmentMethod::PerM2, 20_000), "1358424.00");
        assert_eq!(stored(AdjustmentMethod::PerUnit, -1_000_000), "1330550.00");
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn term(kind: TermKind, ratio: &str, days: u32) -> Term {
        Term { kind, ratio: Ratio::parse(ratio).unwrap(), days_after_signing: days }
    }

    #[test]
    fn ratios_parse_exactly() {
        assert_eq!(Ratio::parse("0.3"), Ok(Ratio::from_millionths(300_000)));
        assert_eq!(Ratio::parse("1"), Ok(Ratio::ONE));
        assert_eq!(Ratio::parse("0.333333"), Ok(Ratio::from_millionths(333_333)));
        assert_eq!(Ratio::parse("0.3333333"), Err("too_precise"));
        assert_eq!(Ratio::parse("1.5"), Err("out_of_range"));
        assert_eq!(Ratio::parse("-0.1"), Err("not_a_number"));
        assert_eq!(Ratio::parse("30%"), Err("not_a_number"));
        assert_eq!(Ratio::from_millionths(300_000).to_string(), "0.3");
        assert_eq!(Ratio::ZERO.to_string(), "0");
    }

    #[test]
    fn plans_sum_to_the_total_with_the_remainder_last() {
        let terms = [
            term(TermKind::DownPayment, "0.3", 0),
            term(TermKind::Instalment, "0.3", 90),
            term(TermKind::Instalment, "0.4", 180),
        ];
        let plan = payment_plan(&terms, Money::parse("1234567.89").unwrap(), d("2026-01-10"));
        let amounts: Vec<String> = plan.iter().map(|p| p.amount.to_string()).collect();
        assert_eq!(amounts, ["370370.37", "370370.37", "493827.15"]);
        assert_eq!(plan[1].due_date, d("2026-04-10"));
        assert_eq!(plan[2].due_date, d("2026-07-09"));
    }

    #[test]
    fn plans_always_sum_exactly() {
        // A thirds plan over many totals: the sum never drifts by a fen.
        let terms = [
            term(TermKind::Instalment, "0.333333", 0),
            term(TermKind::Instalment, "0.333333", 30),
            term(TermKind::Instalment, "0.333334", 60),
        ];
        for fen in (1..2_000_000i64).step_by(7919) {
            let total = Money::from_hundredths(fen);
            let plan = payment_plan(&terms, total, d("2026-01-01"));
            let sum: i64 = plan.iter().map(|p| p.amount.hundredths()).sum();
            assert_eq!(sum, fen);
            assert!(plan.iter().all(|p| !p.amount.is_negative()));
        }
    }

    #[test]
    fn terms_must_cover_the_whole_price() {
        assert_eq!(check_terms(&[term(TermKind::DownPayment, "0.3", 0)]), Err("ratios_must_sum_to_one"));
        assert_eq!(check_terms(&[]), Err("required"));
        assert_eq!(check_terms(&[term(TermKind::DownPayment, "0.3", 0), term(TermKind::Mortgage, "0.7", 30)]), Ok(()));
    }

    #[test]
    fn ageing_bounds_are_inclusive() {
        let due = d("2026-01-31");
        for (as_of, bucket) in [
            ("2026-01-31", "not_due"),
            ("2026-01-01", "not_due"),
            ("2026-02-01", "1-30"),
            ("2026-03-02", "1-30"),
            ("2026-03-03", "31-60"),
            ("2026-05-01", "61-90"),
            ("2026-05-02", "91-180"),
            ("2026-07-30", "91-180"),
            ("2026-07-31", "181-365"),
            ("2027-01-31", "181-365"),
            ("2027-02-01", ">365"),
        ] {
            assert_eq!(ageing_bucket(due, d(as_of)), bucket, "{as_of}");
        }
    }
}
