//! The integrand vector at a point: Z, the cross term both ways, the objectives and, with a
//! weight, their weighted forms, from the models' values and exact derivatives, evaluated in
//! batches; and the flux `s_i p̃` for the faces. What goes wrong on the way (an undefined
//! density, a negative weight, a non-finite value) is recorded, not hidden.

use crate::frame::Frame;
use crate::model::{
    Density, MAX_DIM, Point, ScalarFunction, ScoreField, eval_point, eval_points, value_gradient,
};
use std::sync::{Mutex, MutexGuard};

/// Below this `log(p̃/p̃_max)` (p/p_max < 1e-100) a non-finite integrand value is taken to be
/// in a negligible tail: an integrand would have to exceed 1e80 there to matter at 1e-20.
pub(super) const NEGLIGIBLE_LOG: f64 = -230.0;

/// The most integrands: Z, lhs/rhs per variable, esm, ism, const, E½|s|², and the weighted
/// lhs/rhs, esm, ism, const (`4·MAX_DIM + 8`).
pub(super) const MAX_K: usize = 4 * crate::model::MAX_DIM + 9;

/// Records of what the integrand met.
#[derive(Default)]
pub(super) struct Records {
    pub(super) undefined_density: Option<Vec<f64>>,
    pub(super) negative_weight: Option<Vec<f64>>,
    pub(super) nonfinite: Vec<Option<Vec<f64>>>,
    pub(super) dropped: u64,
}

/// `e^lp`, without the slow underflow path of `exp` in the far tails: below −745.2 the
/// result rounds to 0 in f64 (the least subnormal is e^−744.44), so 0 is exact there.
#[inline]
fn p_ratio(lp: f64) -> f64 {
    if lp < -745.2 { 0.0 } else { lp.exp() }
}

/// Keep, of the points where something went wrong, the least in lexicographic order: the
/// same point however the evaluations were spread over threads.
fn keep_least(slot: &mut Option<Vec<f64>>, x: &[f64]) {
    let less = match slot {
        None => true,
        Some(y) => {
            x.iter()
                .zip(y.iter())
                .map(|(a, b)| a.total_cmp(b))
                .find(|o| o.is_ne())
                == Some(std::cmp::Ordering::Less)
        }
    };
    if less {
        *slot = Some(x.to_vec());
    }
}

/// The integrands at one point, in the order Z, lhs_1..d, rhs_1..d, esm, ism, const.
/// With a weight `h`, the weighted quantities follow, from `WB = 2d + 5`: lhs_i^h
/// (`∫ h s_i ∂_i p`), rhs_i^h (`−∫ p ∂_i(h s_i)`), esm^h, ism^h, const^h.
pub(super) struct Integrand<'a, P, S, W> {
    pub(super) p: &'a P,
    pub(super) s: &'a S,
    pub(super) weight: Option<&'a W>,
    pub(super) d: usize,
    pub(super) log_max: f64,
    pub(super) rec: Mutex<Records>,
}

/// Where each integral is in the integrand vector.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    pub(super) d: usize,
    pub(super) weighted: bool,
}

impl Layout {
    pub(super) fn lhs(self, i: usize) -> usize {
        if self.weighted {
            2 * self.d + 5 + i
        } else {
            1 + i
        }
    }
    pub(super) fn rhs(self, i: usize) -> usize {
        self.lhs(i) + self.d
    }
    pub(super) fn esm(self) -> usize {
        self.lhs(0) + 2 * self.d
    }
    pub(super) fn ism(self) -> usize {
        self.esm() + 1
    }
    pub(super) fn constant(self) -> usize {
        self.esm() + 2
    }
    /// E ½|s|², and with a weight E ½h|s|².
    pub(super) fn half_s2(self) -> usize {
        if self.weighted {
            self.esm() + 3
        } else {
            2 * self.d + 4
        }
    }
}

impl<P: Density, S: ScoreField, W: ScalarFunction> Integrand<'_, P, S, W> {
    pub(super) fn k(&self) -> usize {
        2 * self.d
            + 5
            + if self.weight.is_some() {
                2 * self.d + 4
            } else {
                0
            }
    }

    pub(super) fn records(&self) -> MutexGuard<'_, Records> {
        // A panic elsewhere cannot leave the records half-written: take them as they are.
        self.rec.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The density's and field's values at `n` points (`xs[v * n + l]` is variable `v` at
    /// point `l`), evaluated in batches, handed to `each(l, x, values)` point by point;
    /// `x` is `None` where a coordinate is not finite.
    fn for_points(
        &self,
        xs: &[f64],
        n: usize,
        mut each: impl FnMut(usize, Option<&[f64]>, &Point),
    ) {
        let d = self.d;
        // The whole batch goes to the models at once (a model backed by Python functions
        // takes one call per batch; the expression models work LANES points at a time).
        let mut pts = vec![Point::default(); n];
        eval_points(self.p, self.s, &xs[..d * n], n, &mut pts);
        for (l, pt) in pts.iter().enumerate() {
            let mut x = [0.0; MAX_DIM];
            for (v, xv) in x.iter_mut().enumerate().take(d) {
                *xv = xs[v * n + l];
            }
            let finite = x[..d].iter().all(|v| v.is_finite());
            each(l, finite.then_some(&x[..d]), pt);
        }
    }

    /// The integrand vectors at `n` points laid out as for [`Integrand::for_points`]; point
    /// `l`'s vector goes to `out[l * k..(l + 1) * k]`. The same numbers as computing each
    /// point on its own would give.
    pub(super) fn eval_batch(&self, xs: &[f64], n: usize, out: &mut [f64]) {
        let k = self.k();
        self.for_points(xs, n, |l, x, pt| {
            let o = &mut out[l * k..(l + 1) * k];
            o.iter_mut().for_each(|v| *v = 0.0);
            match x {
                Some(x) => self.fill(x, pt, o),
                None => self.records().dropped += 1,
            }
        });
    }

    /// [`Integrand::eval_batch`] with, after each point's `k` values, `log p̃ − log p̃_max`
    /// and its gradient (`1 + d` values): the hint of [`cubature_hinted`].
    pub(super) fn eval_batch_hinted(&self, xs: &[f64], n: usize, out: &mut [f64]) {
        let (k, d) = (self.k(), self.d);
        let ks = k + 1 + d;
        self.for_points(xs, n, |l, x, pt| {
            let o = &mut out[l * ks..(l + 1) * ks];
            o.iter_mut().for_each(|v| *v = 0.0);
            o[k] = f64::NEG_INFINITY;
            match x {
                Some(x) => {
                    self.fill(x, pt, &mut o[..k]);
                    o[k] = pt.logp - self.log_max;
                    o[k + 1..].copy_from_slice(&pt.dlogp[..d]);
                }
                None => self.records().dropped += 1,
            }
        });
    }

    /// [`Integrand::eval_batch_hinted`] at `n` points given in the frame's coordinates `z`
    /// (in `x` without a frame), with the gradient of the hint turned into `z`.
    pub(super) fn eval_batch_hinted_in(
        &self,
        frame: Option<&Frame>,
        zs: &[f64],
        n: usize,
        out: &mut [f64],
    ) {
        match frame {
            None => self.eval_batch_hinted(zs, n, out),
            Some(f) => {
                let (k, d) = (self.k(), self.d);
                let mut xs = vec![0.0; d * n];
                f.to_x_batch(zs, n, &mut xs);
                self.eval_batch_hinted(&xs, n, out);
                let ks = k + 1 + d;
                for l in 0..n {
                    f.grad_to_z(&mut out[l * ks + k + 1..(l + 1) * ks]);
                }
            }
        }
    }

    /// The integrand vector at `x` from the density's and field's values there; `out` is
    /// zero on entry.
    fn fill(&self, x: &[f64], pt: &Point, out: &mut [f64]) {
        let d = self.d;
        let lp = pt.logp - self.log_max;
        if lp.is_nan() {
            keep_least(&mut self.records().undefined_density, x);
            return;
        }
        let w = p_ratio(lp);
        if w == 0.0 {
            return;
        }
        out[0] = w;
        let (mut esm, mut ism, mut cst) = (0.0, 0.0, 0.0);
        for i in 0..d {
            let (s, g, ds) = (pt.s[i], pt.dlogp[i], pt.ds[i]);
            out[1 + i] = w * s * g;
            out[1 + d + i] = -w * ds;
            esm += 0.5 * (s - g) * (s - g);
            ism += 0.5 * s * s + ds;
            cst += 0.5 * g * g;
        }
        out[2 * d + 1] = w * esm;
        out[2 * d + 2] = w * ism;
        out[2 * d + 3] = w * cst;
        out[2 * d + 4] = w * 0.5 * pt.s[..d].iter().map(|v| v * v).sum::<f64>();
        if let Some(hf) = self.weight {
            let (h, gh) = value_gradient(hf, x);
            if h < 0.0 && lp >= NEGLIGIBLE_LOG {
                keep_least(&mut self.records().negative_weight, x);
            }
            let l = Layout { d, weighted: true };
            let mut hs = 0.0;
            for i in 0..d {
                let (s, g, ds) = (pt.s[i], pt.dlogp[i], pt.ds[i]);
                out[l.lhs(i)] = w * h * s * g;
                out[l.rhs(i)] = -w * (h * ds + s * gh[i]);
                hs += gh[i] * s;
            }
            out[l.esm()] = w * h * esm;
            out[l.ism()] = w * (h * ism + hs);
            out[l.constant()] = w * h * cst;
            out[l.half_s2()] = w * h * 0.5 * pt.s[..d].iter().map(|v| v * v).sum::<f64>();
        }
        if out.iter().all(|v| v.is_finite()) {
            return;
        }
        let mut r = self.records();
        for (k, v) in out.iter_mut().enumerate() {
            if !v.is_finite() {
                if lp < NEGLIGIBLE_LOG {
                    r.dropped += 1;
                } else {
                    keep_least(&mut r.nonfinite[k], x);
                }
                *v = 0.0;
            }
        }
    }

    /// [`Integrand::flux`] at `n` points laid out as for [`Integrand::for_points`] into
    /// `out[..n]`; `false` if a value is non-finite where p̃ is not negligible.
    pub(super) fn flux_batch(
        &self,
        i: usize,
        xs: &[f64],
        n: usize,
        weighted: bool,
        out: &mut [f64],
    ) -> bool {
        let mut ok = true;
        self.for_points(xs, n, |l, x, pt| {
            out[l] = match x.map(|x| self.flux_of(i, x, pt, weighted)) {
                None => 0.0,
                Some(Some(v)) => v,
                Some(None) => {
                    ok = false;
                    0.0
                }
            };
        });
        ok
    }

    /// `s_i p̃` (times `h` when `weighted`) at x, for faces; `None` if non-finite where p̃
    /// is not negligible.
    pub(super) fn flux(&self, i: usize, x: &[f64], weighted: bool) -> Option<f64> {
        self.flux_of(i, x, &eval_point(self.p, self.s, x), weighted)
    }

    /// [`Integrand::flux`] from the values at `x`.
    fn flux_of(&self, i: usize, x: &[f64], pt: &Point, weighted: bool) -> Option<f64> {
        let lp = pt.logp - self.log_max;
        if lp.is_nan() {
            return None;
        }
        let w = p_ratio(lp);
        if w == 0.0 {
            return Some(0.0);
        }
        let h = match (weighted, self.weight) {
            (true, Some(hf)) => hf.value(x),
            _ => 1.0,
        };
        let v = w * pt.s[i] * h;
        if v.is_finite() {
            Some(v)
        } else if lp < NEGLIGIBLE_LOG {
            Some(0.0)
        } else {
            None
        }
    }
}
