//! Cross analysis (交叉分析, S8/M1): a contingency table of two variables
//! and Pearson's chi-square test of their independence.
//!
//! The p-value is the chi-square distribution's survival function, the
//! regularised upper incomplete gamma function Q(k/2, x/2), computed by its
//! series below a + 1 and by its continued fraction (modified Lentz) above,
//! with ln Γ by the Lanczos approximation: about 1e-13 relative, well inside
//! what a report shows.

/// Counts of two variables crossed, with the test of their independence.
#[derive(Debug, Clone, PartialEq)]
pub struct ChiSquare {
    pub statistic: f64,
    pub degrees_of_freedom: u32,
    /// None when the test does not apply (a row or column of zeros only, or a
    /// single row or column).
    pub p_value: Option<f64>,
}

/// Pearson's chi-square over `counts` (rows of equal length). Rows and
/// columns whose total is zero are left out, as they carry no information.
pub fn chi_square(counts: &[Vec<u64>]) -> ChiSquare {
    let cols = counts.first().map_or(0, Vec::len);
    let row_totals: Vec<u64> = counts.iter().map(|r| r.iter().sum()).collect();
    let col_totals: Vec<u64> = (0..cols).map(|j| counts.iter().map(|r| r.get(j).copied().unwrap_or(0)).sum()).collect();
    let total: u64 = row_totals.iter().sum();
    let rows_used = row_totals.iter().filter(|t| **t > 0).count();
    let cols_used = col_totals.iter().filter(|t| **t > 0).count();
    if total == 0 || rows_used < 2 || cols_used < 2 {
        return ChiSquare { statistic: 0.0, degrees_of_freedom: 0, p_value: None };
    }
    let n = total as f64;
    let mut statistic = 0.0;
    for (i, row) in counts.iter().enumerate() {
        if row_totals[i] == 0 {
            continue;
        }
        for (j, observed) in row.iter().enumerate() {
            if col_totals[j] == 0 {
                continue;
            }
            let expected = row_totals[i] as f64 * col_totals[j] as f64 / n;
            let d = *observed as f64 - expected;
            statistic += d * d / expected;
        }
    }
    let dof = ((rows_used - 1) * (cols_used - 1)) as u32;
    ChiSquare { statistic, degrees_of_freedom: dof, p_value: Some(chi_square_survival(statistic, dof)) }
}

/// P(X ≥ x) for X chi-square distributed with `dof` degrees of freedom.
pub fn chi_square_survival(x: f64, dof: u32) -> f64 {
    if x <= 0.0 || dof == 0 {
        return 1.0;
    }
    upper_gamma_regularised(f64::from(dof) / 2.0, x / 2.0)
}

/// ln Γ(z) for z > 0 (Lanczos, g = 7, nine coefficients).
fn ln_gamma(z: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if z < 0.5 {
        // Reflection: Γ(z) Γ(1 − z) = π / sin(πz).
        let pi = std::f64::consts::PI;
        return (pi / (pi * z).sin()).ln() - ln_gamma(1.0 - z);
    }
    let z = z - 1.0;
    let mut a = C[0];
    let t = z + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (z + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (z + 0.5) * t.ln() - t + a.ln()
}

/// Q(a, x) = Γ(a, x) / Γ(a).
fn upper_gamma_regularised(a: f64, x: f64) -> f64 {
    if x < a + 1.0 { 1.0 - lower_series(a, x) } else { upper_continued_fraction(a, x) }
}

/// P(a, x) by its series.
fn lower_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut ap = a;
    for _ in 0..1000 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * 1e-16 {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

/// Q(a, x) by its continued fraction (modified Lentz).
fn upper_continued_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
    }

    #[test]
    fn a_two_by_two_table_by_hand() {
        // Totals 30/70 and 40/60 of 100: expected 12, 18, 28, 42.
        let t = chi_square(&[vec![10, 20], vec![30, 40]]);
        let by_hand = 4.0 / 12.0 + 4.0 / 18.0 + 4.0 / 28.0 + 4.0 / 42.0;
        assert!(close(t.statistic, by_hand), "{t:?}");
        assert_eq!(t.degrees_of_freedom, 1);
        // One degree of freedom: P = erfc(√(x/2)); Python's math.erfc gives this.
        assert!(close(t.p_value.unwrap(), 0.372_998_483_613_487_14), "{t:?}");
    }

    #[test]
    fn even_degrees_of_freedom_match_the_closed_form() {
        // For 2k degrees of freedom, P(X ≥ x) = e^(−x/2) Σ_{i<k} (x/2)^i / i!.
        let closed = |x: f64, dof: u32| {
            let h = x / 2.0;
            let mut term = 1.0;
            let mut sum = 0.0;
            for i in 0..dof / 2 {
                if i > 0 {
                    term *= h / f64::from(i);
                }
                sum += term;
            }
            (-h).exp() * sum
        };
        for (x, dof) in [(0.5, 2), (3.2, 2), (9.49, 4), (25.0, 6), (0.01, 8), (60.0, 10), (140.0, 20)] {
            assert!(close(chi_square_survival(x, dof), closed(x, dof)), "x {x} dof {dof}");
        }
        // A 2×3 table: two degrees of freedom.
        let t = chi_square(&[vec![12, 5, 9], vec![3, 14, 7]]);
        assert_eq!(t.degrees_of_freedom, 2);
        assert!(close(t.p_value.unwrap(), (-t.statistic / 2.0).exp()));
    }

    #[test]
    fn empty_rows_and_columns_are_left_out() {
        let t = chi_square(&[vec![10, 0, 20], vec![0, 0, 0], vec![30, 0, 40]]);
        assert_eq!(t.degrees_of_freedom, 1);
        assert!(close(t.p_value.unwrap(), 0.372_998_483_613_487_14));
        assert_eq!(chi_square(&[vec![5, 5]]).p_value, None);
        assert_eq!(chi_square(&[]).p_value, None);
        // Independent counts: no evidence against independence.
        let t = chi_square(&[vec![10, 20], vec![20, 40]]);
        assert!(t.statistic.abs() < 1e-12 && close(t.p_value.unwrap(), 1.0));
    }
}
