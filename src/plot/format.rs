//! Numbers as figures print them: ticks, quantities, the domain.

use crate::case::Case;
use crate::numbers::fmt_num;
use crate::report::Quantity;
use crate::report::Status;

/// An axis tick: the value to 10 significant digits, without a trailing `.0` or a `-0`.
pub(super) fn tick(v: &f64) -> String {
    // Ticks are multiples of a round step, so a tiny one is 0 up to rounding.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let p = 10f64.powi(9 - v.abs().log10().floor() as i32);
    let r = (v * p).round() / p;
    if r.abs() >= 1e5 || r.abs() < 1e-4 {
        format!("{r:.1e}")
    } else {
        format!("{r}")
    }
}

/// A tick of a log10 axis: `1e-8` at whole powers, the value itself between them.
pub(super) fn pow10(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("1e{}", v.round())
    } else {
        format!("{:.1e}", 10f64.powf(v))
    }
}

/// `v ± e` for a quantity in at most 6 significant digits, and never more digits than its
/// error supports ([`crate::report::fmt_value`]); or its status.
pub fn fmt_q(q: &Quantity) -> String {
    match (q.value, q.error) {
        (Some(v), Some(e)) => {
            let earned = if e > 0.0 && v != 0.0 && e.is_finite() {
                (v.abs().log10().floor() - e.log10().floor()) as i32 + 1
            } else {
                i32::MAX
            };
            let s = if earned < 6 {
                crate::report::fmt_value(v, e)
            } else {
                format!("{} ± {:.1e}", fmt_num(v), e)
            };
            if q.status == Status::NotConverged {
                format!("{s} (not converged)")
            } else {
                s
            }
        }
        (Some(v), None) => fmt_num(v),
        _ => format!("{:?}", q.status).to_lowercase(),
    }
}

/// The domain as text, e.g. `x ∈ [0, ∞)`-style intervals per variable.
pub fn domain_text(case: &Case) -> String {
    let parts: Vec<String> = case
        .vars
        .iter()
        .zip(&case.domain)
        .map(|(v, &(a, b))| {
            let e = |x: f64| {
                if x == f64::INFINITY {
                    "∞".to_string()
                } else if x == f64::NEG_INFINITY {
                    "−∞".to_string()
                } else {
                    fmt_num(x)
                }
            };
            let open = |x: f64, c: char, o: char| if x.is_finite() { c } else { o };
            format!(
                "{v} ∈ {}{}, {}{}",
                open(a, '[', '('),
                e(a),
                e(b),
                open(b, ']', ')')
            )
        })
        .collect();
    parts.join(", ")
}

// ---------------------------------------------------------------------------------------

/// A count as a tick: `100`, `3000`, `1e5`-style above 10⁵.
pub(super) fn count_tick(v: &f64) -> String {
    let n = 10f64.powf(*v).round();
    if n < 1e5 {
        format!("{n}")
    } else {
        let e = n.log10().floor();
        let m = n / 10f64.powf(e);
        if (m - m.round()).abs() < 0.05 {
            format!("{}e{e}", m.round())
        } else {
            format!("{m:.1}e{e}")
        }
    }
}
