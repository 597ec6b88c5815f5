//! The numbers the figures share: p (normalised by the report's Z), s and their
//! derivatives at points, grids, running integrals, and clipping to a plotted range.

use crate::numbers::linspace;

use super::PlotError;
use crate::case::Case;
use crate::locate::Located;
use crate::locate::locate;
use crate::model::ExprField;
use crate::model::eval_point;
use crate::report::Report;

// Evaluating the normalised density and the field.

/// p, ∇log p, s and ∂_i s_i at points, with p normalised by the report's Z.
pub(super) struct Eval<'a> {
    pub(super) case: &'a Case,
    pub(super) field: ExprField,
    pub(super) loc: Located,
    /// Z of `p̃·e^(−log_max)`.
    pub(super) z_scaled: f64,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct At {
    pub(super) p: f64,
    pub(super) dlogp: [f64; 2],
    pub(super) s: [f64; 2],
    pub(super) ds: [f64; 2],
    /// log(p/p_max).
    pub(super) rel: f64,
    /// The weight h (1 without one) and its gradient.
    pub(super) h: f64,
    pub(super) dh: [f64; 2],
}

impl<'a> Eval<'a> {
    pub(super) fn new(case: &'a Case, report: &Report) -> Result<Eval<'a>, PlotError> {
        let loc = locate(&case.density, &case.domain).map_err(PlotError::NoMass)?;
        // Z of p̃·e^(−log_max), from log Z (Z itself may be outside f64 range).
        let z_scaled = (report.log_normalizer - loc.log_max).exp();
        if !(z_scaled.is_finite() && z_scaled > 0.0) {
            return Err(PlotError::NoNormalizer);
        }
        Ok(Eval {
            case,
            field: case.check_field(),
            loc,
            z_scaled,
        })
    }

    pub(super) fn at(&self, x: &[f64]) -> At {
        let pt = eval_point(&self.case.density, &self.field, x);
        let rel = pt.logp - self.loc.log_max;
        let mut a = At {
            p: rel.exp() / self.z_scaled,
            rel,
            ..Default::default()
        };
        for i in 0..x.len().min(2) {
            a.dlogp[i] = pt.dlogp[i];
            a.s[i] = pt.s[i];
            a.ds[i] = pt.ds[i];
        }
        a.h = 1.0;
        if let Some(w) = &self.case.weight {
            let (h, g) = crate::model::value_gradient(w, x);
            a.h = h;
            a.dh[..x.len().min(2)].copy_from_slice(&g[..x.len().min(2)]);
        }
        a
    }

    /// A range of axis `i` that shows where p has its mass: out from each mode along the axis
    /// until p/p_max < e^−drop (at most 60 widths), with finite domain ends close by included.
    pub(super) fn range(&self, i: usize, drop: f64) -> (f64, f64) {
        let (a, b) = self.case.domain[i];
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for m in &self.loc.modes {
            let w = m.scale[i].max(1e-12);
            for sgn in [-1.0, 1.0] {
                let mut x = m.x.clone();
                let mut far = m.x[i];
                for k in 1..=480 {
                    let t = (m.x[i] + sgn * w * k as f64 / 8.0).clamp(a, b);
                    x[i] = t;
                    let r = eval_point(&self.case.density, &self.field, &x).logp - self.loc.log_max;
                    far = t;
                    if r.is_nan() || r < -drop || t == a || t == b {
                        break;
                    }
                }
                lo = lo.min(far);
                hi = hi.max(far);
            }
        }
        if hi.is_nan() || lo.is_nan() || hi <= lo {
            let c = self.loc.modes[0].x[i];
            lo = (c - 1.0).max(a);
            hi = (c + 1.0).min(b);
        }
        let w = hi - lo;
        if a.is_finite() && lo - a <= 0.3 * w {
            lo = a;
        } else {
            lo -= 0.04 * w;
        }
        if b.is_finite() && b - hi <= 0.3 * w {
            hi = b;
        } else {
            hi += 0.04 * w;
        }
        (lo, hi)
    }
}

pub(super) fn logspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    linspace(a.ln(), b.ln(), n)
        .into_iter()
        .map(f64::exp)
        .collect()
}

/// The running trapezoid integral of `f` over `x`, from 0 at `x[0]`.
pub(super) fn running(x: &[f64], f: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    let mut acc = 0.0;
    out.push(0.0);
    for k in 1..x.len() {
        let (a, b) = (f[k - 1], f[k]);
        // A non-finite value (a pole at a finite end) adds nothing here; the report has it.
        if a.is_finite() && b.is_finite() {
            acc += 0.5 * (a + b) * (x[k] - x[k - 1]);
        }
        out.push(acc);
    }
    out
}

/// Pieces of a polyline inside `[ylo, yhi]`, broken where a value is outside or not finite.
pub(super) fn inside(xs: &[f64], ys: &[f64], ylo: f64, yhi: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![];
    let mut cur: Vec<(f64, f64)> = vec![];
    for (&x, &y) in xs.iter().zip(ys) {
        if y.is_finite() && y >= ylo && y <= yhi {
            cur.push((x, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A y-range covering the finite values of the given series where `weight` (p/p_max) is
/// not negligible, padded.
pub(super) fn y_range(series: &[&[f64]], keep: &[bool]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in series {
        for (v, k) in s.iter().zip(keep) {
            if *k && v.is_finite() {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + hi.abs()) {
        let c = 0.5 * (hi + lo);
        let w = 0.5 + 0.1 * c.abs();
        return (c - w, c + w);
    }
    let pad = 0.08 * (hi - lo);
    (lo - pad, hi + pad)
}
