//! The points `score` evaluates at: Halton points over the bulk around the modes, and
//! tail points.

use super::BULK_SPREAD;
use super::HALTON_BASES;
use super::TAIL_OFFSETS;
use super::report::PointKind;
use crate::locate::Located;
use crate::model::MAX_DIM;

// The points
// ---------------------------------------------------------------------------------------------

/// Radical inverse of `k` in base `b`: the `k`-th element of the van der Corput sequence.
pub(super) fn radical_inverse(mut k: u64, base: u64) -> f64 {
    let inv = 1.0 / base as f64;
    let mut f = inv;
    let mut r = 0.0;
    // Bound: one pass per digit of k in base `base` (≤ 64).
    while k > 0 {
        r += f * (k % base) as f64;
        k /= base;
        f *= inv;
    }
    r
}

/// The logistic quantile of `u` on the part of the real line between `lo` and `hi` (in
/// standard units): uniform `u` gives the logistic distribution truncated to `[lo, hi]`.
pub(super) fn truncated_logistic(u: f64, lo: f64, hi: f64) -> f64 {
    let cdf = |t: f64| 1.0 / (1.0 + (-t).exp());
    let (fl, fh) = (cdf(lo), cdf(hi));
    let q = fl + u * (fh - fl);
    let t = (q / (1.0 - q)).ln();
    t.clamp(lo, hi)
}

/// A point to check.
pub(super) struct EvalPoint {
    pub(super) x: Vec<f64>,
    pub(super) kind: PointKind,
    pub(super) label: String,
    pub(super) log_p: f64,
    pub(super) used: bool,
}

pub(super) fn axis_name(vars: &[String], i: usize) -> String {
    vars.get(i)
        .cloned()
        .unwrap_or_else(|| format!("x{}", i + 1))
}

/// The points: bulk, modes, tails and edges (log densities not yet filled in).
pub(super) fn point_set(
    loc: &Located,
    domain: &[(f64, f64)],
    n: usize,
    vars: &[String],
) -> Vec<EvalPoint> {
    let d = domain.len();
    let nm = loc.modes.len();
    let mut pts = vec![];
    let point = |x: Vec<f64>, kind, label: String| EvalPoint {
        x,
        kind,
        label,
        log_p: f64::NAN,
        used: false,
    };
    for (k, m) in loc.modes.iter().enumerate() {
        pts.push(point(
            m.x.clone(),
            PointKind::Mode,
            format!("mode {}", k + 1),
        ));
    }
    // Bound: n ≤ MAX_POINTS (ScoreOptions::validate).
    for k in 0..n {
        let m = &loc.modes[k % nm];
        let idx = (k / nm + 1) as u64;
        let uniform_finite = radical_inverse(idx, HALTON_BASES[MAX_DIM]) < 0.25;
        let x: Vec<f64> = (0..d)
            .map(|i| {
                let (a, b) = domain[i];
                let u = radical_inverse(idx, HALTON_BASES[i]);
                if uniform_finite && a.is_finite() && b.is_finite() {
                    return (a + u * (b - a)).clamp(a, b);
                }
                let w = BULK_SPREAD
                    * if m.scale[i].is_finite() && m.scale[i] > 0.0 {
                        m.scale[i]
                    } else {
                        1.0
                    };
                let t = truncated_logistic(u, (a - m.x[i]) / w, (b - m.x[i]) / w);
                (m.x[i] + w * t).clamp(a, b)
            })
            .collect();
        pts.push(point(x, PointKind::Bulk, String::new()));
    }
    for (k, m) in loc.modes.iter().enumerate() {
        for i in 0..d {
            let (a, b) = domain[i];
            let name = axis_name(vars, i);
            for off in TAIL_OFFSETS {
                for sgn in [1.0, -1.0] {
                    let mut x = m.x.clone();
                    x[i] += sgn * off * m.scale[i];
                    if x[i] > a && x[i] < b && x[i].is_finite() {
                        let sign = if sgn > 0.0 { '+' } else { '−' };
                        let label = format!("mode {} {sign} {off}σ along {name}", k + 1);
                        pts.push(point(x, PointKind::Tail, label));
                    }
                }
            }
            for end in [a, b] {
                if end.is_finite() && end != m.x[i] {
                    let mut x = m.x.clone();
                    x[i] = end;
                    let label = format!("mode {} at {name} = {end}", k + 1);
                    pts.push(point(x, PointKind::Edge, label));
                }
            }
        }
    }
    pts
}

// ---------------------------------------------------------------------------------------------
