//! The one place numbers and quantities become text, for every report, explanation and
//! figure label of the crate.
//!
//! The rule throughout: a number printed with its error shows only the digits the error
//! supports ([`fmt_value`]), so no digit claims more accuracy than the estimate allows; a
//! quantity without a value prints its status in words ([`status_text`]); a bare number (a
//! grid value, a difference, a label) has a fixed number of significant digits
//! ([`fmt_num`]).

use super::{Quantity, Status};

/// `value ± error` with as many digits as the error allows, or the status in words
/// (`diverges (∞)`, `nonfinite at x`, `—` when not computed); `(not converged)` is appended
/// to a value whose integral did not reach the tolerance.
pub(crate) fn fmt_q(q: &Quantity) -> String {
    fmt_q_capped(q, usize::MAX)
}

/// As [`fmt_q`], with at most `digits` significant digits of the value (a figure's label
/// has room for about 6): a value the error supports to more digits is cut to `digits`
/// significant ones ([`fmt_num`]), its error still shown.
pub(crate) fn fmt_q_capped(q: &Quantity, digits: usize) -> String {
    match (q.value, q.error) {
        (Some(v), Some(e)) => {
            let earned = if e > 0.0 && v != 0.0 && e.is_finite() {
                (v.abs().log10().floor() - e.log10().floor()) as i64 + 1
            } else {
                i64::MAX
            };
            let s = if earned <= digits as i64 || digits == usize::MAX {
                fmt_value(v, e)
            } else {
                format!("{} ± {e:.1e}", fmt_num(v, digits))
            };
            if q.status == Status::NotConverged {
                format!("{s} (not converged)")
            } else {
                s
            }
        }
        _ => status_text(q),
    }
}

/// A quantity without a value, in words: `diverges (∞)`, `nonfinite at x = …` (or
/// `nonfinite`), and `—` for one not computed.
pub(crate) fn status_text(q: &Quantity) -> String {
    match q.status {
        Status::Diverges => "diverges (∞)".to_string(),
        Status::Nonfinite => match &q.at {
            Some(x) => format!("nonfinite at {}", fmt_point(x)),
            None => "nonfinite".to_string(),
        },
        Status::Ok | Status::NotConverged => "—".to_string(),
    }
}

/// A point as `x1` or `(x1, x2, …)`, 6 decimals each.
pub(crate) fn fmt_point(x: &[f64]) -> String {
    let parts: Vec<String> = x.iter().map(|v| format!("{v:.6}")).collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Print `v ± e` showing only the digits the error supports (down to the error's leading
/// digit), so that no digit printed claims more accuracy than the estimate allows.
pub(crate) fn fmt_value(v: f64, e: f64) -> String {
    if e.is_nan() || e <= 0.0 {
        return if v == 0.0 {
            "0 ± 0".to_string()
        } else {
            format!("{v:.15e} ± 0")
        };
    }
    if v.abs() <= e {
        return format!("{v:.1e} ± {e:.1e}");
    }
    let mag_e = e.log10().floor() as i32;
    let mag_v = v.abs().log10().floor() as i32;
    if (-3..7).contains(&mag_v) {
        let decimals = (-mag_e).clamp(0, 17) as usize;
        format!("{v:.decimals$} ± {e:.1e}")
    } else {
        let digits = (mag_v - mag_e).clamp(0, 16) as usize;
        format!("{v:.digits$e} ± {e:.1e}")
    }
}

/// A bare number with `digits` significant digits (at least 1): plain, trailing zeros
/// dropped, for `1e-4 <= |v| < 1e7`; otherwise in exponent form; `0`, `inf`, `NaN` as such.
/// (`score` prints its comparisons with 8 digits, figures' labels with 6.)
pub(crate) fn fmt_num(v: f64, digits: usize) -> String {
    let digits = digits.clamp(1, 17);
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e7).contains(&a) {
        let mag = a.log10().floor() as i32;
        let decimals = (digits as i32 - 1 - mag).clamp(0, 17) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let d = digits - 1;
        format!("{v:.d$e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_show_only_the_digits_their_error_supports() {
        assert_eq!(
            fmt_value(0.7978845608028654, 3e-11),
            "0.79788456080 ± 3.0e-11"
        );
        assert_eq!(fmt_value(1234.5678, 0.02), "1234.57 ± 2.0e-2");
        assert_eq!(fmt_value(1e-9, 1e-8), "1.0e-9 ± 1.0e-8");
        assert_eq!(fmt_value(0.0, 0.0), "0 ± 0");
    }

    #[test]
    fn numbers_have_the_digits_asked_for() {
        // 8 digits, as score's comparisons (the numbers score printed before).
        assert_eq!(fmt_num(0.1234567891, 8), "0.12345679");
        assert_eq!(fmt_num(-2.5, 8), "-2.5");
        assert_eq!(fmt_num(1.5e-7, 8), "1.5000000e-7");
        assert_eq!(fmt_num(f64::INFINITY, 8), "inf");
        // 6 digits, as figures' labels.
        assert_eq!(fmt_num(std::f64::consts::PI, 6), "3.14159");
        assert_eq!(fmt_num(0.0, 6), "0");
    }

    #[test]
    fn statuses_read_the_same_everywhere() {
        let q = Quantity::none(10, Status::Diverges);
        assert_eq!(fmt_q(&q), "diverges (∞)");
        assert_eq!(fmt_q_capped(&q, 6), "diverges (∞)");
        let mut n = Quantity::none(10, Status::Nonfinite);
        n.at = Some(vec![0.5, 1.0]);
        assert_eq!(fmt_q(&n), "nonfinite at (0.500000, 1.000000)");
        assert_eq!(fmt_q(&Quantity::missing()), "—");
        // A value the error supports to 11 digits is cut to 6 on a figure.
        let q = Quantity::new(0.7978845608028654, 3e-11, 100, Status::Ok);
        assert_eq!(fmt_q_capped(&q, 6), "0.797885 ± 3.0e-11");
        assert_eq!(fmt_q(&q), "0.79788456080 ± 3.0e-11");
        let nc = Quantity::new(2.0, 0.5, 100, Status::NotConverged);
        assert_eq!(fmt_q(&nc), "2.0 ± 5.0e-1 (not converged)");
    }
}
