//! Exact quantities: money in integer fen, area in integer hundredths of a square
//! metre. On the wire both are decimal strings with exactly two decimals
//! (`"1280000.00"`, `"89.37"`); floats never touch them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a decimal string was refused; the code is the translated field error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than two decimals")]
    TooPrecise,
    #[error("out of range")]
    OutOfRange,
}

impl DecimalError {
    pub fn code(self) -> &'static str {
        match self {
            DecimalError::NotANumber => "not_a_number",
            DecimalError::TooPrecise => "too_precise",
            DecimalError::OutOfRange => "out_of_range",
        }
    }
}

/// Parses `-12.3`, `12`, `12.30` into hundredths. At most two decimals: `1.001`
/// is refused rather than rounded, since the caller meant something we cannot keep.
pub fn parse_hundredths(text: &str) -> Result<i64, DecimalError> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // `2,080,354.86` as people write it: groups of three, the first of one to three.
    let ungrouped;
    let whole = if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or_default();
        let rest: Vec<&str> = groups.collect();
        if first.is_empty() || first.len() > 3 || rest.iter().any(|g| g.len() != 3) {
            return Err(DecimalError::NotANumber);
        }
        ungrouped = whole.replace(',', "");
        ungrouped.as_str()
    } else {
        whole
    };
    if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || (digits.contains('.') && frac.is_empty()) {
        return Err(DecimalError::NotANumber);
    }
    if frac.len() > 2 {
        return Err(DecimalError::TooPrecise);
    }
    // 15 digits of yuan is a quadrillion yuan: more than any project, well inside i64.
    if whole.len() > 15 {
        return Err(DecimalError::OutOfRange);
    }
    let whole: i64 = whole.parse().map_err(|_| DecimalError::OutOfRange)?;
    let frac_value: i64 = match frac.len() {
        0 => 0,
        1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
        _ => frac.parse().map_err(|_| DecimalError::NotANumber)?,
    };
    let value = whole * 100 + frac_value;
    Ok(if negative { -value } else { value })
}

fn format_hundredths(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `2080354.86` as `2,080,354.86`: a plain decimal string with two places
/// grouped in thousands, as people read amounts; anything else unchanged.
pub fn group_thousands(plain: &str) -> String {
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain),
    };
    let Some((whole, frac)) = digits.split_once('.') else { return plain.to_owned() };
    if whole.is_empty() || frac.len() != 2 || !(whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return plain.to_owned();
    }
    let mut grouped = String::with_capacity(plain.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

macro_rules! hundredths_type {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        /// In the database: a BIGINT of hundredths (the store maps it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
        pub struct $name(i64);

        impl $name {
            pub const ZERO: $name = $name(0);

            /// From the integer number of hundredths stored in the database.
            pub const fn from_hundredths(value: i64) -> Self {
                Self(value)
            }
            pub const fn hundredths(self) -> i64 {
                self.0
            }
            pub fn parse(text: &str) -> Result<Self, DecimalError> {
                parse_hundredths(text).map(Self)
            }
            pub fn is_negative(self) -> bool {
                self.0 < 0
            }
            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }
            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map(Self)
            }
            pub fn checked_neg(self) -> Option<Self> {
                self.0.checked_neg().map(Self)
            }
            /// The sum of `items`, or `None` if it leaves the range (a corrupt row, never real money).
            pub fn checked_sum(items: impl IntoIterator<Item = Self>) -> Option<Self> {
                items.into_iter().try_fold(Self::ZERO, Self::checked_add)
            }
            pub fn is_positive(self) -> bool {
                self.0 > 0
            }
            pub fn is_zero(self) -> bool {
                self.0 == 0
            }
            pub fn abs(self) -> Self {
                Self(self.0.abs())
            }
            /// The value (yuan, m2) as a float, for a spreadsheet cell only (Excel
            /// keeps numbers as floats; two decimals survive the trip exactly enough to print).
            pub fn to_spreadsheet_number(self) -> f64 {
                self.0 as f64 / 100.0
            }
            /// For a person to read: `2,080,354.86` (the wire keeps `2080354.86`).
            pub fn grouped(self) -> String {
                group_thousands(&format_hundredths(self.0))
            }
        }

        // Plain operators for sums of stored amounts, which are far inside i64
        // (15 digits of yuan are refused at parse time); an overflow is a bug and
        // panics in debug builds like integer arithmetic does.
        impl std::ops::Add for $name {
            type Output = Self;
            fn add(self, other: Self) -> Self {
                Self(self.0 + other.0)
            }
        }
        impl std::ops::Sub for $name {
            type Output = Self;
            fn sub(self, other: Self) -> Self {
                Self(self.0 - other.0)
            }
        }
        impl std::ops::Neg for $name {
            type Output = Self;
            fn neg(self) -> Self {
                Self(-self.0)
            }
        }
        impl std::ops::AddAssign for $name {
            fn add_assign(&mut self, other: Self) {
                self.0 += other.0;
            }
        }
        impl std::ops::SubAssign for $name {
            fn sub_assign(&mut self, other: Self) {
                self.0 -= other.0;
            }
        }
        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                iter.fold(Self::ZERO, |a, b| a + b)
            }
        }
        impl<'a> std::iter::Sum<&'a $name> for $name {
            fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
                iter.fold(Self::ZERO, |a, b| a + *b)
            }
        }

        /// A decimal string with at most two places in the OpenAPI document.
        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(r"^-?([0-9]{1,15}|[0-9]{1,3}(,[0-9]{3}){1,4})(\.[0-9]{1,2})?$"))
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&format_hundredths(self.0))
            }
        }

        impl std::str::FromStr for $name {
            type Err = DecimalError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

hundredths_type!(Money, "An amount of money in integer fen (0.01 yuan).");

/// Decimal texts a request carries, each with the sign it must have, as
/// schemas for the OpenAPI document (requests hold them as text so that a
/// form reports every bad field at once; `Money::parse` and `Area::parse`
/// read them). Greater than zero, at least zero, and not zero.
#[cfg(feature = "utoipa")]
pub mod amounts {
    const POSITIVE: &str = r"([1-9][0-9]{0,12}|[1-9][0-9]{0,2}(,[0-9]{3}){1,4})(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?)";

    fn decimal(pattern: String) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(pattern))
            .into()
    }

    macro_rules! amount_schema {
        ($(#[$meta:meta])* $name:ident, $pattern:expr) => {
            $(#[$meta])*
            pub struct $name;
            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    decimal($pattern)
                }
            }
            impl utoipa::ToSchema for $name {}
        };
    }

    amount_schema!(
        /// `"1280000.00"`, `"1,280,000.00"`, `"89.5"`: a price, a payment, an area.
        Positive,
        format!("^({POSITIVE})$")
    );
    amount_schema!(
        /// Zero or more: a deposit, a lowest budget.
        NonNegative,
        format!("^(0|0\\.0{{1,2}}|{POSITIVE})$")
    );
    amount_schema!(
        /// Either sign, never zero: a change, a correction.
        NonZero,
        format!("^-?({POSITIVE})$")
    );
}

impl Money {
    /// This amount per m² of `area` (a unit price: list price ÷ gross area),
    /// rounded half away from zero to the fen; None without area.
    pub fn per_m2(self, area: Area) -> Option<Money> {
        let area = i128::from(area.hundredths());
        if area <= 0 {
            return None;
        }
        // fen × 100 / hundredths of m² = fen per m².
        let numerator = i128::from(self.hundredths()) * 100;
        let rounded = if numerator >= 0 { (numerator + area / 2) / area } else { (numerator - area / 2) / area };
        i64::try_from(rounded).ok().map(Money::from_hundredths)
    }
}

impl Money {
    /// The amount in capital Chinese numerals as contracts and receipts write
    /// it (人民币大写): `1234567.89` → `壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分`.
    /// Amounts of a trillion yuan and more are written in digits.
    pub fn in_chinese_words(self) -> String {
        const DIGITS: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
        const SMALL: [&str; 4] = ["", "拾", "佰", "仟"];
        const BIG: [&str; 3] = ["", "万", "亿"];
        let abs = self.0.unsigned_abs();
        let (yuan, fen) = (abs / 100, abs % 100);
        if yuan >= 1_000_000_000_000 {
            return format!("人民币{self}元");
        }
        let mut out = String::new();
        if self.0 < 0 {
            out.push('负');
        }
        let digits: Vec<u64> = yuan.to_string().bytes().map(|b| u64::from(b - b'0')).collect();
        let mut zero_pending = false;
        let mut group_has_digit = false;
        for (i, d) in digits.iter().enumerate() {
            let p = digits.len() - 1 - i;
            if *d == 0 {
                zero_pending = yuan > 0 && !out.trim_start_matches('负').is_empty();
            } else {
                if zero_pending {
                    out.push('零');
                    zero_pending = false;
                }
                out.push_str(DIGITS[*d as usize]);
                out.push_str(SMALL[p % 4]);
                group_has_digit = true;
            }
            if p.is_multiple_of(4) && p > 0 {
                if group_has_digit {
                    out.push_str(BIG[p / 4]);
                }
                group_has_digit = false;
            }
        }
        if yuan > 0 {
            out.push('元');
        }
        let (jiao, fen) = (fen / 10, fen % 10);
        match (jiao, fen) {
            (0, 0) if yuan == 0 => out.push_str("零元整"),
            (0, 0) => out.push('整'),
            (j, 0) => {
                out.push_str(DIGITS[j as usize]);
                out.push_str("角整");
            }
            (0, f) => {
                if yuan > 0 {
                    out.push('零');
                }
                out.push_str(DIGITS[f as usize]);
                out.push('分');
            }
            (j, f) => {
                out.push_str(DIGITS[j as usize]);
                out.push('角');
                out.push_str(DIGITS[f as usize]);
                out.push('分');
            }
        }
        out
    }
}
hundredths_type!(Area, "An area in integer hundredths of a square metre.");

impl Area {
    /// The price of this area at `per_m2`, rounded half away from zero to the fen.
    pub fn priced_at(self, per_m2: Money) -> Money {
        let product = i128::from(self.0) * i128::from(per_m2.0);
        let rounded = if product >= 0 { (product + 50) / 100 } else { (product - 50) / 100 };
        Money(i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN }))
    }
}

impl Money {
    /// Whole yuan (`Money::yuan(3_000_000)` is ¥3,000,000.00).
    pub const fn yuan(yuan: i64) -> Money {
        Money(yuan * 100)
    }

    /// `percent` % of this amount, rounded half away from zero to the fen.
    pub fn times_percent(self, percent: i64) -> Money {
        let product = i128::from(self.0) * i128::from(percent);
        let rounded = if product >= 0 { (product + 50) / 100 } else { (product - 50) / 100 };
        Money(i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN }))
    }

    /// `self` as a percentage of `whole` with two places, rounded half away
    /// from zero (`"12.50"`); `"0.00"` of nothing.
    pub fn percent_of(self, whole: Money) -> String {
        percent(self.0, whole.0)
    }
}

/// A share of 0-100 % with two decimals (`"5.00"`), held as basis points
/// (hundredths of a percent): a cost contract's retention (质保金比例).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Percent(i32);

impl Percent {
    pub const fn from_basis_points(bp: i32) -> Percent {
        Percent(bp)
    }

    pub const fn basis_points(self) -> i32 {
        self.0
    }

    /// `"5"`, `"5.5"`, `"12.34"`: at most two decimals, from 0 to 100.
    pub fn parse(text: &str) -> Result<Percent, DecimalError> {
        let bp = parse_hundredths(text)?;
        if !(0..=10_000).contains(&bp) {
            return Err(DecimalError::OutOfRange);
        }
        i32::try_from(bp).map(Percent).map_err(|_| DecimalError::OutOfRange)
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_hundredths(i64::from(self.0)))
    }
}

/// A percentage with two places, rounded half away from zero: `part / whole × 100`.
pub fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.00".into();
    }
    let scaled = i128::from(part) * 10_000;
    let w = i128::from(whole);
    let q = if (scaled >= 0) == (w > 0) { (scaled + w.abs() / 2 * w.signum()) / w } else { (scaled - w / 2) / w };
    let sign = if q < 0 { "-" } else { "" };
    let q = q.abs();
    format!("{sign}{}.{:02}", q / 100, q % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_have_two_decimals_between_zero_and_a_hundred() {
        assert_eq!(Percent::parse("5").unwrap().basis_points(), 500);
        assert_eq!(Percent::parse("12.34").unwrap().to_string(), "12.34");
        assert_eq!(Percent::from_basis_points(5).to_string(), "0.05");
        assert_eq!(Percent::parse("100.01"), Err(DecimalError::OutOfRange));
        assert_eq!(Percent::parse("-1"), Err(DecimalError::OutOfRange));
        assert_eq!(Percent::parse("1.234"), Err(DecimalError::TooPrecise));
    }

    #[test]
    fn whole_yuan_and_percentages_of_money() {
        assert_eq!(Money::yuan(3_000_000).to_string(), "3000000.00");
        assert_eq!(Money::parse("1000.01").unwrap().times_percent(97).to_string(), "970.01");
        assert_eq!(
            Money::parse("0.50").unwrap().times_percent(1).to_string(),
            "0.01",
            "half a fen rounds away from zero"
        );
        assert_eq!(Money::parse("-0.50").unwrap().times_percent(1).to_string(), "-0.01");
    }

    #[test]
    fn amounts_read_grouped_in_thousands_and_are_typed_either_way() {
        let grouped = |t: &str| Money::parse(t).unwrap().grouped();
        assert_eq!(grouped("2080354.86"), "2,080,354.86");
        assert_eq!(grouped("-1234567"), "-1,234,567.00");
        assert_eq!(grouped("999.99"), "999.99");
        assert_eq!(grouped("100000"), "100,000.00");
        assert_eq!(grouped("0"), "0.00");
        assert_eq!(group_thousands("2026-12-04"), "2026-12-04");
        assert_eq!(group_thousands("01.02"), "01.02");
        assert_eq!(Money::parse("2,080,354.86"), Money::parse("2080354.86"));
        assert_eq!(Money::parse("-1,000").unwrap().to_string(), "-1000.00");
        assert_eq!(Area::parse("1,089.37").unwrap().to_string(), "1089.37");
        for wrong in ["1,00", ",100", "1,0000.00", "1234,567", "1,,000", "1,000,", "12,34.5"] {
            assert_eq!(Money::parse(wrong), Err(DecimalError::NotANumber), "{wrong}");
        }
    }

    #[test]
    fn amounts_in_capital_chinese_numerals() {
        let words = |t: &str| Money::parse(t).unwrap().in_chinese_words();
        assert_eq!(words("1234567.89"), "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分");
        assert_eq!(words("1000000"), "壹佰万元整");
        assert_eq!(words("1005000"), "壹佰万零伍仟元整");
        assert_eq!(words("10010"), "壹万零壹拾元整");
        assert_eq!(words("100000000"), "壹亿元整");
        assert_eq!(words("100010000"), "壹亿零壹万元整");
        assert_eq!(words("3014446.88"), "叁佰零壹万肆仟肆佰肆拾陆元捌角捌分");
        assert_eq!(words("50000.50"), "伍万元伍角整");
        assert_eq!(words("123.05"), "壹佰贰拾叁元零伍分");
        assert_eq!(words("0.50"), "伍角整");
        assert_eq!(words("0.05"), "伍分");
        assert_eq!(words("0"), "零元整");
        assert_eq!(words("-20"), "负贰拾元整");
    }

    #[test]
    fn parses_and_formats_exactly() {
        let cases = [
            ("1280000.00", Ok(128_000_000)),
            ("89.37", Ok(8937)),
            ("89.3", Ok(8930)),
            ("89", Ok(8900)),
            ("0.05", Ok(5)),
            ("-5.00", Ok(-500)),
            (" 12.5 ", Ok(1250)),
            ("1.001", Err(DecimalError::TooPrecise)),
            ("1e5", Err(DecimalError::NotANumber)),
            ("", Err(DecimalError::NotANumber)),
            ("12.", Err(DecimalError::NotANumber)),
            (".5", Err(DecimalError::NotANumber)),
            ("1,000.00", Ok(100_000)),
            ("1,0000.00", Err(DecimalError::NotANumber)),
            ("9999999999999999", Err(DecimalError::OutOfRange)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_hundredths(text), expected, "{text:?}");
        }
        assert_eq!(Money::from_hundredths(128_000_000).to_string(), "1280000.00");
        assert_eq!(Money::from_hundredths(-5).to_string(), "-0.05");
        assert_eq!(Area::from_hundredths(8937).to_string(), "89.37");
    }

    #[test]
    fn sums_and_differences_stay_exact() {
        let m = |t: &str| Money::parse(t).unwrap();
        let parts = [m("0.10"), m("0.20"), m("1000000.70")];
        assert_eq!(parts.iter().sum::<Money>(), m("1000001.00"));
        assert_eq!(parts.into_iter().sum::<Money>() - m("1.00"), m("1000000.00"));
        assert_eq!(-m("5.05"), m("-5.05"));
        let mut total = Money::ZERO;
        total += m("2.50");
        total -= m("3.00");
        assert_eq!(total, m("-0.50"));
        assert_eq!(total.abs(), m("0.50"));
        assert_eq!(Money::checked_sum([m("1"), Money::from_hundredths(i64::MAX)]), None);
        assert_eq!(Money::checked_sum(parts), Some(m("1000001.00")));
        assert_eq!(Money::from_hundredths(i64::MIN).checked_neg(), None);
    }

    #[test]
    fn round_trips_through_text() {
        for v in [-100_001, -1, 0, 1, 99, 100, 12_345_678_901] {
            let m = Money::from_hundredths(v);
            assert_eq!(Money::parse(&m.to_string()), Ok(m));
        }
    }
}
