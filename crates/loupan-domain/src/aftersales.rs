//! After-sales money rules (DOMAIN.md): area compensation (面积补差) when the
//! measured area differs from the contracted one, and the default deed tax
//! (契税). Exact integer arithmetic; one rounding, half away from zero to the
//! fen, at the end of each computation.

use std::collections::BTreeMap;

use crate::formula::{EvalError, Formula, Fraction};
use crate::names::named_enum;
use crate::{Area, Money};

named_enum! {
    /// Where a building's batch of area compensations stands.
    pub enum CompensationBatchStatus("compensation batch status") {
        /// Computed; lines may be adjusted or the batch recomputed.
        Draft = "draft",
        /// At approval; a rejection makes it a draft again.
        Pending = "pending",
        /// Approved: every line is on its contract's plan.
        Applied = "applied",
    }
}

named_enum! {
    /// The rule a project settles area differences by.
    pub enum SettlementRule("settlement rule") {
        Statutory2001 = "2001",
        ModelContract2014Gross = "2014_gross",
        /// The project's own formula over `FORMULA_VARIABLES`.
        Formula = "formula",
    }
}

/// Which statutory rule settles the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompensationRule {
    /// 《商品房销售管理办法》 art. 20 (2001): one area basis, the one the
    /// contract priced on.
    Statutory2001,
    /// The 2014 model contract (GF-2014-0171, art. 13) for a price per m2 of
    /// gross area: both the gross and the inner area are checked.
    ModelContract2014Gross,
}

impl CompensationRule {
    pub fn parse(name: &str) -> Option<CompensationRule> {
        match name {
            "2001" => Some(CompensationRule::Statutory2001),
            "2014_gross" => Some(CompensationRule::ModelContract2014Gross),
            _ => None,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            CompensationRule::Statutory2001 => "2001",
            CompensationRule::ModelContract2014Gross => "2014_gross",
        }
    }

    /// Days the buyer has to rescind after the notice, when the error allows it.
    pub const fn rescission_days(self) -> u32 {
        match self {
            CompensationRule::Statutory2001 => 30,
            CompensationRule::ModelContract2014Gross => 15,
        }
    }
}

/// Contracted and measured area on one basis (gross or inner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaPair {
    pub contracted: Area,
    pub measured: Area,
}

impl AreaPair {
    /// `(measured - contracted) / contracted` as a decimal string with four
    /// places (`"-0.0500"` for 5 % less), rounded half away from zero.
    pub fn error_ratio(self) -> String {
        let d = i128::from(self.measured.hundredths() - self.contracted.hundredths());
        let q = divide_rounded(d * 10_000, i128::from(self.contracted.hundredths()));
        let sign = if q < 0 { "-" } else { "" };
        format!("{sign}{}.{:04}", q.abs() / 10_000, q.abs() % 10_000)
    }

    /// Whether the error is within 3 % either way (exactly 3 % is within).
    pub fn within_three_percent(self) -> bool {
        let d = i128::from(self.measured.hundredths() - self.contracted.hundredths()).abs();
        d * 100 <= 3 * i128::from(self.contracted.hundredths())
    }
}

/// What an area compensation comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    /// Positive: the buyer pays; negative: the developer refunds.
    pub amount: Money,
    /// The error is beyond 3 % (on either area for the 2014 rule): the buyer
    /// may rescind instead of settling.
    pub rescission_right: bool,
    /// The contract's price per m2 on the priced basis, to the fen (shown only;
    /// the amount is computed from the total, not from this rounded price).
    pub unit_price: Money,
    /// The error ratio of the priced basis (and of the inner area under the 2014 rule).
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
}

/// Why a compensation cannot be computed; each names its input field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompensationError {
    /// An area that must be positive is not.
    AreaNotPositive(&'static str),
    /// The contract total is negative.
    TotalNegative,
}

/// Area compensation under `rule`. `priced` is the basis the contract priced
/// on (the gross area for the 2014 rule); `inner` is checked by the 2014 rule only.
pub fn area_compensation(
    rule: CompensationRule,
    contract_total: Money,
    priced: AreaPair,
    inner: Option<AreaPair>,
) -> Result<Compensation, CompensationError> {
    if contract_total.is_negative() {
        return Err(CompensationError::TotalNegative);
    }
    let (priced_field, inner_fields) = match rule {
        CompensationRule::Statutory2001 => (("contract_area", "measured_area"), None),
        CompensationRule::ModelContract2014Gross => {
            (("contract_gross_area", "measured_gross_area"), Some(("contract_inner_area", "measured_inner_area")))
        }
    };
    let positive =
        |a: Area, field| if a.is_positive() { Ok(()) } else { Err(CompensationError::AreaNotPositive(field)) };
    positive(priced.contracted, priced_field.0)?;
    positive(priced.measured, priced_field.1)?;
    let inner = match (rule, inner, inner_fields) {
        (CompensationRule::ModelContract2014Gross, Some(pair), Some((c, m))) => {
            positive(pair.contracted, c)?;
            positive(pair.measured, m)?;
            Some(pair)
        }
        (CompensationRule::ModelContract2014Gross, None, Some((c, _))) => {
            return Err(CompensationError::AreaNotPositive(c));
        }
        _ => None,
    };
    let total = i128::from(contract_total.hundredths());
    let ac = i128::from(priced.contracted.hundredths());
    let d = i128::from(priced.measured.hundredths()) - ac;
    // (numerator, denominator) of the amount in fen; rounded once.
    let (num, den) = if priced.within_three_percent() {
        // The actual difference at the contract price: d × total / Ac.
        (d * total, ac)
    } else if d > 0 {
        // The buyer pays for 3 % only: 0.03 × Ac × p = 0.03 × total.
        (3 * total, 100)
    } else {
        // The developer refunds 3 % once and the part beyond twice:
        // 0.03·total + 2·(|d| − 0.03·Ac)·total/Ac = (200·|d|·total − 3·total·Ac) / (100·Ac).
        (-(200 * d.abs() * total - 3 * total * ac), 100 * ac)
    };
    let amount = Money::from_hundredths(to_i64(divide_rounded(num, den)));
    let rescission_right = !priced.within_three_percent() || inner.is_some_and(|p| !p.within_three_percent());
    Ok(Compensation {
        amount,
        rescission_right,
        unit_price: Money::from_hundredths(to_i64(divide_rounded(total * 100, ac))),
        error_ratio: priced.error_ratio(),
        inner_error_ratio: inner.map(AreaPair::error_ratio),
    })
}

/// The default deed tax (契税) of an individual's purchase, announcement 2024
/// No. 16: a first home 1 % up to 140 m2 and 1.5 % above, a second home 1 % and
/// 2 %, anything more 3 %. Returns the rate in ten-thousandths and the tax.
pub fn deed_tax(price: Money, gross_area: Area, homes_owned_before: u32) -> (u32, Money) {
    DeedTaxTiers::default().tax(price, gross_area, homes_owned_before)
}

/// The deed-tax tiers of a project (契税, DOMAIN.md), rates in ten-thousandths.
/// The defaults are announcement 2024 No. 16's; a province sets the rate for a
/// third home (3–5 %), and a project may be in a city with its own threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeedTaxTiers {
    /// Gross area up to which the small-home rates apply (inclusive).
    pub threshold: Area,
    pub first_small: u32,
    pub first_large: u32,
    pub second_small: u32,
    pub second_large: u32,
    /// A third home or more, whatever its size.
    pub further: u32,
}

impl Default for DeedTaxTiers {
    fn default() -> Self {
        DeedTaxTiers {
            threshold: Area::from_hundredths(14_000),
            first_small: 100,
            first_large: 150,
            second_small: 100,
            second_large: 200,
            further: 300,
        }
    }
}

impl DeedTaxTiers {
    /// The highest rate a province may set (5 %), in ten-thousandths.
    pub const MAX_RATE: u32 = 500;

    pub fn rate(&self, gross_area: Area, homes_owned_before: u32) -> u32 {
        let small = gross_area <= self.threshold;
        match (homes_owned_before, small) {
            (0, true) => self.first_small,
            (0, false) => self.first_large,
            (1, true) => self.second_small,
            (1, false) => self.second_large,
            _ => self.further,
        }
    }

    /// The tax on `price`: rate × price, rounded once to the fen.
    pub fn tax(&self, price: Money, gross_area: Area, homes_owned_before: u32) -> (u32, Money) {
        let rate = self.rate(gross_area, homes_owned_before);
        (
            rate,
            Money::from_hundredths(to_i64(divide_rounded(i128::from(price.hundredths()) * i128::from(rate), 10_000))),
        )
    }
}

/// How a project's maintenance fund (专项维修资金) is assessed for one property type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum FundRate {
    /// Yuan per m2 of gross area.
    PerM2 { per_m2: Money },
    /// A share of the price in ten-thousandths (`200` is 2 %).
    PercentOfPrice { ten_thousandths: u32 },
}

impl FundRate {
    pub fn fund(self, price: Money, gross_area: Area) -> Money {
        let (num, den) = match self {
            FundRate::PerM2 { per_m2 } => (i128::from(per_m2.hundredths()) * i128::from(gross_area.hundredths()), 100),
            FundRate::PercentOfPrice { ten_thousandths } => {
                (i128::from(price.hundredths()) * i128::from(ten_thousandths), 10_000)
            }
        };
        Money::from_hundredths(to_i64(divide_rounded(num, den)))
    }
}

/// The variables a project's own compensation formula may use. Areas are in
/// m2, money in yuan, ratios as fractions (`0.03` is 3 %); the priced basis
/// (`contract_area`, `measured_area`) is the gross area.
pub const FORMULA_VARIABLES: &[&str] = &[
    "contract_area",
    "measured_area",
    "contract_gross_area",
    "measured_gross_area",
    "contract_inner_area",
    "measured_inner_area",
    "contract_total",
    "unit_price",
    "area_difference",
    "error_ratio",
    "inner_error_ratio",
];

/// Why a formula gave no amount for a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormulaFailure {
    AreaNotPositive(&'static str),
    Evaluation(EvalError),
}

/// Area compensation by a project's own formula. The buyer's right to rescind
/// is the model contract's (either area beyond 3 %), which a formula cannot waive.
pub fn compensation_by_formula(
    formula: &Formula,
    contract_total: Money,
    gross: AreaPair,
    inner: AreaPair,
) -> Result<Compensation, FormulaFailure> {
    for (area, field) in [
        (gross.contracted, "contract_gross_area"),
        (gross.measured, "measured_gross_area"),
        (inner.contracted, "contract_inner_area"),
        (inner.measured, "measured_inner_area"),
    ] {
        if !area.is_positive() {
            return Err(FormulaFailure::AreaNotPositive(field));
        }
    }
    let area = |a: Area| Fraction::from_hundredths(a.hundredths());
    let ratio = |p: AreaPair| {
        Fraction::new(
            i128::from(p.measured.hundredths() - p.contracted.hundredths()),
            i128::from(p.contracted.hundredths()),
        )
        .unwrap_or(Fraction::ZERO)
    };
    let total = Fraction::from_hundredths(contract_total.hundredths());
    let unit_price = Fraction::new(i128::from(contract_total.hundredths()), i128::from(gross.contracted.hundredths()))
        .unwrap_or(Fraction::ZERO);
    let values = BTreeMap::from([
        ("contract_area", area(gross.contracted)),
        ("measured_area", area(gross.measured)),
        ("contract_gross_area", area(gross.contracted)),
        ("measured_gross_area", area(gross.measured)),
        ("contract_inner_area", area(inner.contracted)),
        ("measured_inner_area", area(inner.measured)),
        ("contract_total", total),
        ("unit_price", unit_price),
        ("area_difference", Fraction::from_hundredths(gross.measured.hundredths() - gross.contracted.hundredths())),
        ("error_ratio", ratio(gross)),
        ("inner_error_ratio", ratio(inner)),
    ]);
    let value = formula.evaluate(&values).map_err(FormulaFailure::Evaluation)?;
    let amount = value.round_to_hundredths().ok_or(FormulaFailure::Evaluation(EvalError::Overflow))?;
    Ok(Compensation {
        amount: Money::from_hundredths(amount),
        rescission_right: !gross.within_three_percent() || !inner.within_three_percent(),
        unit_price: Money::from_hundredths(to_i64(divide_rounded(
            i128::from(contract_total.hundredths()) * 100,
            i128::from(gross.contracted.hundredths()),
        ))),
        error_ratio: gross.error_ratio(),
        inner_error_ratio: Some(inner.error_ratio()),
    })
}

/// A rate in ten-thousandths as a decimal string (`150` → `"0.015"`).
pub fn rate_text(ten_thousandths: u32) -> String {
    let text = format!("{}.{:04}", ten_thousandths / 10_000, ten_thousandths % 10_000);
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') { format!("{trimmed}0") } else { trimmed.to_owned() }
}

/// `num / den` rounded half away from zero (`den` > 0).
fn divide_rounded(num: i128, den: i128) -> i128 {
    let q = (num.abs() * 2 + den) / (den * 2);
    if num < 0 { -q } else { q }
}

fn to_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: &str) -> Money {
        Money::parse(t).unwrap()
    }
    fn a(t: &str) -> Area {
        Area::parse(t).unwrap()
    }
    fn statutory(total: &str, contracted: &str, measured: &str) -> Compensation {
        let pair = AreaPair { contracted: a(contracted), measured: a(measured) };
        area_compensation(CompensationRule::Statutory2001, m(total), pair, None).unwrap()
    }

    /// DOMAIN.md's worked examples: 100.00 m2 at 20,000 yuan/m2.
    #[test]
    fn the_statutory_rule_settles_the_worked_examples() {
        let cases = [
            ("100.00", "0.00", false),
            ("102.00", "40000.00", false),
            ("103.00", "60000.00", false),
            ("104.50", "60000.00", true),
            ("98.00", "-40000.00", false),
            ("97.00", "-60000.00", false),
            ("95.00", "-140000.00", true),
        ];
        for (measured, amount, rescind) in cases {
            let c = statutory("2000000.00", "100.00", measured);
            assert_eq!((c.amount.to_string().as_str(), c.rescission_right), (amount, rescind), "measured {measured}");
        }
        assert_eq!(statutory("2000000.00", "100.00", "95.00").error_ratio, "-0.0500");
        assert_eq!(statutory("2000000.00", "100.00", "95.00").unit_price, m("20000.00"));
    }

    #[test]
    fn amounts_are_computed_from_the_total_and_rounded_once() {
        // 89.37 m2 for 1,280,000.00: the unit price 14,322.48... is not rounded first.
        let c = statutory("1280000.00", "89.37", "90.12");
        // 0.75 × 1,280,000 / 89.37 = 10,741.86...
        assert_eq!(c.amount, m("10741.86"));
        let c = statutory("1280000.00", "89.37", "88.62");
        assert_eq!(c.amount, m("-10741.86"));
        // Beyond 3 % less: 2 × 4.00 × total/Ac − 3 % of total.
        let c = statutory("1280000.00", "89.37", "85.37");
        assert_eq!(c.amount, m("-76179.84"));
    }

    #[test]
    fn the_2014_rule_checks_both_areas_and_pays_on_the_gross_one() {
        let gross = AreaPair { contracted: a("100.00"), measured: a("102.00") };
        let inner_ok = AreaPair { contracted: a("80.00"), measured: a("81.00") };
        let inner_far = AreaPair { contracted: a("80.00"), measured: a("83.00") };
        let rule = CompensationRule::ModelContract2014Gross;
        let c = area_compensation(rule, m("2000000.00"), gross, Some(inner_ok)).unwrap();
        assert_eq!((c.amount, c.rescission_right), (m("40000.00"), false));
        let c = area_compensation(rule, m("2000000.00"), gross, Some(inner_far)).unwrap();
        assert_eq!((c.amount, c.rescission_right), (m("40000.00"), true), "inner beyond 3 %: may rescind");
        assert_eq!(c.inner_error_ratio.as_deref(), Some("0.0375"));
        assert_eq!(
            area_compensation(rule, m("2000000.00"), gross, None),
            Err(CompensationError::AreaNotPositive("contract_inner_area"))
        );
    }

    #[test]
    fn areas_must_be_positive() {
        let pair = AreaPair { contracted: a("0"), measured: a("95.00") };
        assert_eq!(
            area_compensation(CompensationRule::Statutory2001, m("1"), pair, None),
            Err(CompensationError::AreaNotPositive("contract_area"))
        );
    }

    #[test]
    fn deed_tax_follows_the_2024_tiers() {
        let cases = [
            ("3000000.00", "140.00", 0, "0.01", "30000.00"),
            ("3000000.00", "140.01", 0, "0.015", "45000.00"),
            ("3000000.00", "90.00", 1, "0.01", "30000.00"),
            ("3000000.00", "150.00", 1, "0.02", "60000.00"),
            ("3000000.00", "90.00", 2, "0.03", "90000.00"),
            ("1234567.89", "150.00", 0, "0.015", "18518.52"),
        ];
        for (price, area, homes, rate, tax) in cases {
            let (r, t) = deed_tax(m(price), a(area), homes);
            assert_eq!((rate_text(r).as_str(), t.to_string().as_str()), (rate, tax), "{price} {area} {homes}");
        }
    }

    #[test]
    fn project_tiers_and_funds_are_rounded_once() {
        let tiers = DeedTaxTiers { further: 400, threshold: a("90.00"), ..DeedTaxTiers::default() };
        assert_eq!(tiers.tax(m("2000000.00"), a("90.00"), 0), (100, m("20000.00")));
        assert_eq!(tiers.tax(m("2000000.00"), a("90.01"), 0), (150, m("30000.00")));
        assert_eq!(tiers.tax(m("2000000.00"), a("90.00"), 3), (400, m("80000.00")));
        assert_eq!(FundRate::PerM2 { per_m2: m("85.50") }.fund(m("1"), a("89.37")), m("7641.14"));
        assert_eq!(FundRate::PercentOfPrice { ten_thousandths: 200 }.fund(m("1234567.89"), a("1")), m("24691.36"));
    }

    #[test]
    fn a_formula_sees_the_contract_and_the_survey() {
        let statutory_like = Formula::parse(
            "if(abs(error_ratio) <= 3%, area_difference * unit_price, \
             if(error_ratio > 0, 3% * contract_total, -(3% * contract_total + 2 * (abs(area_difference) - 3% * contract_area) * unit_price)))",
            FORMULA_VARIABLES,
        )
        .unwrap();
        for measured in ["100.00", "102.00", "103.00", "104.50", "98.00", "97.00", "95.00", "89.37"] {
            let gross = AreaPair { contracted: a("100.00"), measured: a(measured) };
            let inner = AreaPair { contracted: a("80.00"), measured: a("80.00") };
            let by_formula = compensation_by_formula(&statutory_like, m("2000000.00"), gross, inner).unwrap();
            let by_rule = area_compensation(CompensationRule::Statutory2001, m("2000000.00"), gross, None).unwrap();
            assert_eq!(by_formula.amount, by_rule.amount, "measured {measured}");
            assert_eq!(by_formula.rescission_right, by_rule.rescission_right, "measured {measured}");
        }
        let gross = AreaPair { contracted: a("100.00"), measured: a("100.00") };
        let inner = AreaPair { contracted: a("0"), measured: a("80.00") };
        assert_eq!(
            compensation_by_formula(&statutory_like, m("1"), gross, inner),
            Err(FormulaFailure::AreaNotPositive("contract_inner_area"))
        );
    }
}
