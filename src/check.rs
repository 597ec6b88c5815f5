//! The identity checks: the normalizer, the cross term both ways with its boundary term,
//! and the objectives, from exact derivatives and honest quadrature.
//!
//! For each variable `i` of a box domain `D = ∏[a_i, b_i]` and the normalised `p = p̃/Z`:
//!
//! ```text
//! lhs_i      = ∫_D s_i ∂_i p dx
//! rhs_i      = −∫_D p ∂_i s_i dx
//! boundary_i = ∫ [s_i p]_{x_i=a_i}^{x_i=b_i} dx_{−i}      (limits at infinite ends)
//! lhs_i = boundary_i + rhs_i
//! esm = E_p ½|s − ∇log p|²,  ism = E_p[½|s|² + ∇·s],  const = ½E_p|∇log p|²,
//! gap = esm − ism − const  (= −Σ boundary_i when all are finite)
//! ```
//!
//! All integrands are formed from `log p̃ − log p̃_max`, so `p̃ ≤ 1` and nothing overflows:
//! `∂_i p̃ = p̃ ∂_i log p̃`. See `proofs/` for the derivation.
//!
//! Bounds (issue 17): a check is one main integral (1-D: 1217 points per piece; 2-D and
//! up: a cubature of at most `max_evals` evaluations), a divergence probe (at most 12
//! integrals of 20 000 evaluations per end), a second map of Z (`max_evals/10`), and per end
//! of each axis at most 8 (finite end) or 47 (infinite end) face integrals of at most
//! `max_evals/10` each: at most `(1.1 + 9.4·d)·max_evals + 480 000·d` evaluations. The
//! cells are at most `locate::MAX_CELLS`, the stored regions at most `quad::max_regions`. A
//! mass that doubles cannot resolve ends the check before any integral, undecided.

use crate::expr::Program;
use crate::frame::{Frame, InFrame, hessian_frame, principal_frame};
use crate::locate::{LocateError, Located, locate};
use crate::model::{
    Density, MAX_DIM, Point, ScalarFunction, ScoreField, eval_point, eval_points, value_gradient,
};
use crate::quad::{
    Cell, Estimate, Piece, cubature, cubature_from, cubature_hinted, cubature_hinted_from,
    integrate_1d_vec,
};
use crate::report::{
    Boundary, Component, Cross, Explanations, Face, Flux, Ibp, Objective, ObjectiveVerdict,
    Quantity, Report, Status, Verdict, Weighted, fmt_point,
};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// Below this `log(p̃/p̃_max)` (p/p_max < 1e-100) a non-finite integrand value is taken to be
/// in a negligible tail: an integrand would have to exceed 1e80 there to matter at 1e-20.
const NEGLIGIBLE_LOG: f64 = -230.0;

/// The most integrands: Z, lhs/rhs per variable, esm, ism, const, E½|s|², and the weighted
/// lhs/rhs, esm, ism, const (`4·MAX_DIM + 8`).
const MAX_K: usize = 4 * crate::model::MAX_DIM + 9;

/// Settings of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Target absolute error on every quantity; `None` picks the default for the dimension.
    pub tol: Option<f64>,
    /// Integrand evaluations allowed per cubature (2-D and up).
    pub max_evals: u64,
    /// Breakpoints per variable (kinks, jumps) the quadrature cuts the domain at.
    pub breaks: Vec<Vec<f64>>,
    /// Sub-expressions whose branch changes are found and added as breakpoints
    /// ([`crate::breaks::find_breaks`]).
    pub switches: Vec<crate::expr::Switch>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            tol: None,
            max_evals: 20_000_000,
            breaks: vec![],
            switches: vec![],
        }
    }
}

/// The default target absolute error for a dimension: 1e-10 (1-D), 1e-8 (2-D), 1e-6 (3-D, 4-D).
pub fn default_tol(d: usize) -> f64 {
    match d {
        1 => 1e-10,
        2 => 1e-8,
        _ => 1e-6,
    }
}

/// Why a check could not be run: the input is unusable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// log p̃ is −∞ or undefined at every point tried.
    #[error(
        "the density is zero or undefined everywhere it was evaluated; check the [density] expression and the domain"
    )]
    DensityNowhere,
    /// The density is negative or undefined (NaN) at a point of the domain.
    #[error(
        "the density is negative or undefined (NaN) at x = {}; a density must be defined and >= 0 on the whole domain",
        fmt_point(at)
    )]
    DensityUndefined { at: Vec<f64> },
    /// ∫ p̃ is infinite.
    #[error(
        "the density is not integrable on the domain (Z = ∫ p = ∞); restrict the domain or fix the density"
    )]
    NotIntegrable,
    /// ∫ p̃ is zero.
    #[error("the density integrates to 0 on the domain")]
    ZeroMass,
    /// The weight is negative where p has mass.
    #[error(
        "the weight is negative at x = {}; a weight must be >= 0 on the domain",
        fmt_point(at)
    )]
    NegativeWeight { at: Vec<f64> },
}

/// Identification of a case for the report.
#[derive(Clone, Debug, Default)]
pub struct CaseInfo {
    pub name: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    /// The weight's expression, when there is one (for the report).
    pub weight: Option<String>,
}

/// Records of what the integrand met.
#[derive(Default)]
struct Records {
    undefined_density: Option<Vec<f64>>,
    negative_weight: Option<Vec<f64>>,
    nonfinite: Vec<Option<Vec<f64>>>,
    dropped: u64,
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
struct Integrand<'a, P, S, W> {
    p: &'a P,
    s: &'a S,
    weight: Option<&'a W>,
    d: usize,
    log_max: f64,
    rec: Mutex<Records>,
}

/// Where each integral is in the integrand vector.
#[derive(Clone, Copy)]
struct Layout {
    d: usize,
    weighted: bool,
}

impl Layout {
    fn lhs(self, i: usize) -> usize {
        if self.weighted {
            2 * self.d + 5 + i
        } else {
            1 + i
        }
    }
    fn rhs(self, i: usize) -> usize {
        self.lhs(i) + self.d
    }
    fn esm(self) -> usize {
        self.lhs(0) + 2 * self.d
    }
    fn ism(self) -> usize {
        self.esm() + 1
    }
    fn constant(self) -> usize {
        self.esm() + 2
    }
    /// E ½|s|², and with a weight E ½h|s|².
    fn half_s2(self) -> usize {
        if self.weighted {
            self.esm() + 3
        } else {
            2 * self.d + 4
        }
    }
}

impl<P: Density, S: ScoreField, W: ScalarFunction> Integrand<'_, P, S, W> {
    fn k(&self) -> usize {
        2 * self.d
            + 5
            + if self.weight.is_some() {
                2 * self.d + 4
            } else {
                0
            }
    }

    fn records(&self) -> MutexGuard<'_, Records> {
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
    fn eval_batch(&self, xs: &[f64], n: usize, out: &mut [f64]) {
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
    fn eval_batch_hinted(&self, xs: &[f64], n: usize, out: &mut [f64]) {
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
    fn flux_batch(&self, i: usize, xs: &[f64], n: usize, weighted: bool, out: &mut [f64]) -> bool {
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
    fn flux(&self, i: usize, x: &[f64], weighted: bool) -> Option<f64> {
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

/// Run the check of `s` against `p` on the box `domain`.
pub fn check<P: Density, S: ScoreField>(
    p: &P,
    s: &S,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &CheckOptions,
) -> Result<Report, CheckError> {
    check_weighted::<P, S, Program>(p, s, None, domain, info, opts)
}

/// Run the check, and with a weight `h ≥ 0` also the weighted identity
/// `E_p[½h|s − ∇log p|²] = E_p[h(½|s|² + ∇·s) + ∇h·s] + ½E_p[h|∇log p|²]`, whose boundary
/// term is `∮ h p s·n` (generalized score matching for bounded domains).
pub fn check_weighted<P: Density, S: ScoreField, W: ScalarFunction>(
    p: &P,
    s: &S,
    weight: Option<&W>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &CheckOptions,
) -> Result<Report, CheckError> {
    let d = domain.len();
    let tol = opts.tol.unwrap_or_else(|| default_tol(d));
    let mut loc = locate(p, domain).map_err(|e| match e {
        LocateError::NowhereFinite => CheckError::DensityNowhere,
        LocateError::Undefined(at) => CheckError::DensityUndefined { at },
        LocateError::NoDecay => CheckError::NotIntegrable,
    })?;
    if let Some(why) = &loc.unresolved {
        // Bound: doubles cannot resolve the mass, so no integral is attempted (issue 17).
        let modes = loc.modes.iter().map(|m| m.x.clone()).collect();
        return Ok(Report::undecided(
            &info.name,
            &info.vars,
            &info.params,
            domain,
            tol,
            modes,
            weight.and(info.weight.as_deref()),
            why,
        ));
    }
    let found = crate::breaks::find_breaks(&opts.switches, domain, &loc.modes);
    let breaks = crate::breaks::merge(&opts.breaks, &found, domain);
    // Breakpoints lie along the coordinate axes: a turned frame would make them diagonal,
    // so with any, the cubature keeps the coordinates.
    let axis_breaks = breaks.iter().any(|b| !b.is_empty());
    loc.add_breaks(&breaks);
    let ig = Integrand {
        p,
        s,
        weight,
        d,
        log_max: loc.log_max,
        rec: Mutex::new(Records {
            nonfinite: vec![None; MAX_K],
            ..Default::default()
        }),
    };
    let k = ig.k();
    let mut notes = vec![];

    // Raw integrals of p̃-weighted quantities.
    // What a second, independent integration needs (2-D and up): the frame, the mass's place
    // in it and the divergent integrals.
    let mut second: Option<(Option<Frame>, Located, Vec<bool>)> = None;
    let (raw, diverges) = if d == 1 {
        integrate_all_1d(&ig, &loc)
    } else {
        // Integrals that diverge are found first, so they do not drive the refinement.
        let divergent = probe_divergence(&ig, &loc, domain);
        let targets = |v: &[f64]| ratio_targets(v, tol, &divergent);
        // On the whole space, the integrals are taken in the law's own axes (crate::frame).
        let frame = if axis_breaks {
            None
        } else {
            principal_frame(p, &loc, domain)
        };
        let in_frame = frame.as_ref().map(|f| InFrame { p, frame: f });
        let loc_z = match &in_frame {
            Some(pz) => locate(pz, domain).unwrap_or_else(|_| loc.clone()),
            None => loc.clone(),
        };
        if let Some(f) = &frame {
            notes.push(format!(
                "the cubature ran in the principal axes of p at its mode (x = c + Q z, Q = {}), which the tails follow",
                fmt_frame(f)
            ));
        }
        let cells = cells_of(&loc_z.pieces);
        let main = |zs: &[f64], n: usize, out: &mut [f64]| match &frame {
            None => ig.eval_batch_hinted(zs, n, out),
            Some(f) => {
                let mut xs = vec![0.0; d * n];
                f.to_x_batch(zs, n, &mut xs);
                ig.eval_batch_hinted(&xs, n, out);
                let ks = k + 1 + d;
                for l in 0..n {
                    f.grad_to_z(&mut out[l * ks + k + 1..(l + 1) * ks]);
                }
            }
        };
        let r = cubature_hinted(&main, &cells, k, &targets, opts.max_evals);
        let est: Vec<Estimate> = (0..k)
            .map(|j| Estimate {
                value: r.values[j],
                error: r.errors[j],
                evals: r.evals,
            })
            .collect();
        if let Some(why) = &r.stopped {
            notes.push(why.clone());
        } else if !r.converged && r.evals < opts.max_evals {
            notes.push(format!(
                "the cubature stopped at its memory ceiling ({} regions, {} MiB) after {} evaluations, before reaching the tolerance",
                crate::quad::max_regions(d, k),
                crate::quad::MEMORY_BUDGET >> 20,
                r.evals
            ));
        } else if !r.converged {
            notes.push(format!(
                "the cubature used its budget of {} evaluations before reaching the tolerance",
                opts.max_evals
            ));
        }
        let mut est = est;
        let note = match &in_frame {
            Some(pz) => cross_check_z(pz, &loc_z, domain, &mut est, opts, true),
            None => cross_check_z(p, &loc, domain, &mut est, opts, true),
        };
        if let Some(note) = note {
            notes.push(note);
        }
        second = Some((frame.clone(), loc_z.clone(), divergent.clone()));
        (est, divergent)
    };
    let rec = ig.records();
    if let Some(at) = &rec.undefined_density {
        return Err(CheckError::DensityUndefined { at: at.clone() });
    }
    if let Some(at) = &rec.negative_weight {
        return Err(CheckError::NegativeWeight { at: at.clone() });
    }
    if diverges[0] {
        return Err(CheckError::NotIntegrable);
    }
    let z = raw[0];
    if z.value.is_nan() || z.value <= 0.0 {
        return Err(CheckError::ZeroMass);
    }
    if !z.value.is_finite() {
        return Err(CheckError::NotIntegrable);
    }
    let zq = if z.error <= tol * z.value {
        Status::Ok
    } else {
        Status::NotConverged
    };
    // Z = z·e^{log_max}, kept in log space: log Z = ln z + log_max. Z itself is reported
    // only when it is a double (normal, not overflowed or underflowed to 0).
    let log_normalizer = z.value.ln() + loc.log_max;
    let scale = loc.log_max.exp();
    let mut normalizer = Quantity::new(z.value * scale, z.error * scale, z.evals, zq);
    if !(z.value * scale).is_normal() {
        normalizer = Quantity {
            value: None,
            error: None,
            evals: z.evals,
            status: zq,
            at: None,
        };
        notes.push(format!(
            "Z is outside the range of a double: log Z = {log_normalizer:.12} ± {:.1e} (every ratio is computed from p̃·e^(−{:.6}))",
            z.error / z.value,
            loc.log_max
        ));
    }
    let nonfinite = rec.nonfinite.clone();
    drop(rec);
    let quantity = |j: usize| -> Quantity {
        let e = raw[j];
        // An integral shown to diverge may overflow near where it does.
        if diverges[j] {
            return Quantity::none(e.evals, Status::Diverges);
        }
        if let Some(at) = &nonfinite[j] {
            let mut q = Quantity::none(e.evals, Status::Nonfinite);
            q.at = Some(at.clone());
            return q;
        }
        let v = e.value / z.value;
        let err = e.error / z.value + v.abs() * z.error / z.value;
        Quantity::new(v, err, e.evals, status_for_value(v, err, tol))
    };

    // The identity, unweighted and (with a weight) weighted.
    let var_name = |i: usize| {
        info.vars
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("x{}", i + 1))
    };
    let mut flux = vec![];
    let mut section = |weighted: bool| {
        let l = Layout { d, weighted };
        let mut components = vec![];
        for i in 0..d {
            let mut parts = vec![];
            for upper in [false, true] {
                let (q, samples) = face_term(
                    &ig,
                    &loc,
                    domain,
                    i,
                    upper,
                    tol,
                    (z.value, z.error),
                    weighted,
                    opts,
                );
                if let (Some(samples), false) = (samples, weighted) {
                    flux.push(Flux {
                        var: var_name(i),
                        end: if upper { "upper" } else { "lower" }.into(),
                        samples,
                    });
                }
                parts.push((q, if upper { 1.0 } else { -1.0 }));
            }
            let refs: Vec<(&Quantity, f64)> = parts.iter().map(|(q, s)| (q, *s)).collect();
            let boundary = Quantity::combine(&refs, tol);
            let faces = parts
                .iter()
                .zip([domain[i].0, domain[i].1])
                .zip(["lower", "upper"])
                .map(|(((q, _), at), end)| Face {
                    end: end.into(),
                    at: at.is_finite().then_some(at),
                    value: q.clone(),
                })
                .collect();
            components.push(Component {
                var: var_name(i),
                lhs: quantity(l.lhs(i)),
                rhs: quantity(l.rhs(i)),
                boundary,
                faces,
            });
        }
        let sum_of = |f: &dyn Fn(&Component) -> &Quantity| {
            let refs: Vec<(&Quantity, f64)> = components.iter().map(|c| (f(c), 1.0)).collect();
            Quantity::combine(&refs, tol)
        };
        let cross = Cross {
            lhs: sum_of(&|c| &c.lhs),
            rhs: sum_of(&|c| &c.rhs),
            boundary: sum_of(&|c| &c.boundary),
        };
        let esm = quantity(l.esm());
        let ism = quantity(l.ism());
        let constant = quantity(l.constant());
        let mut gap = Quantity::combine(&[(&esm, 1.0), (&ism, -1.0), (&constant, -1.0)], tol);
        if gap.status == Status::Nonfinite {
            gap.at = None;
        }
        let objective = Objective {
            esm,
            ism,
            constant,
            gap,
        };
        (components, cross, objective)
    };
    let (components, cross, objective) = section(false);
    let weighted_part = weight.map(|_| section(true));
    let half_s2 = quantity(Layout { d, weighted: false }.half_s2());

    let rec = ig.records();
    if rec.dropped > 0 {
        notes.push(format!(
            "{} integrand values were NaN/inf (or at an infinite coordinate) where p/p_max < e^{} (1e-100); they were dropped as a negligible tail",
            rec.dropped, NEGLIGIBLE_LOG as i64
        ));
    }
    drop(rec);

    let (mut verdict, mut explanations) = verdicts(&components, &cross, &objective, false, tol);
    if let (Ibp::Violated, Some((frame, loc_z, divergent))) = (verdict.ibp, &second) {
        // A violation rests on cubature; it stands only if an independent integration, with
        // another map of the infinite ends and another first subdivision, finds it too.
        // In the other frame: the Hessian's axes when the first run kept the coordinates,
        // the coordinates when it turned.
        let other = match frame {
            Some(_) => None,
            None if axis_breaks => None,
            None => hessian_frame(p, &loc, domain),
        };
        let other_loc = match &other {
            Some(f) => locate(&InFrame { p, frame: f }, domain).unwrap_or_else(|_| loc.clone()),
            None if frame.is_some() => loc.clone(),
            None => loc_z.clone(),
        };
        let alt = second_integration(
            &ig,
            other.as_ref(),
            &other_loc,
            domain,
            divergent,
            tol,
            opts,
        );
        if let Some(why) = unconfirmed(&components, &alt, Layout { d, weighted: false }) {
            verdict.ibp = Ibp::Undecided;
            explanations.ibp = why;
        }
    }
    let weighted = weighted_part.map(|(components, cross, objective)| {
        let (verdict, explanations) = verdicts(&components, &cross, &objective, true, tol);
        Weighted {
            weight: info.weight.clone().unwrap_or_default(),
            half_s2: quantity(Layout { d, weighted: true }.half_s2()),
            components,
            cross,
            objective,
            verdict,
            explanations,
        }
    });
    let mut notes_all = notes;
    let names: Vec<(String, &Quantity)> = std::iter::once(("Z".to_string(), &normalizer))
        .chain(components.iter().flat_map(|c| {
            [
                (format!("lhs_{}", c.var), &c.lhs),
                (format!("rhs_{}", c.var), &c.rhs),
                (format!("boundary_{}", c.var), &c.boundary),
            ]
        }))
        .collect();
    for (name, q) in names {
        if q.status == Status::NotConverged {
            notes_all.push(format!("{name} did not reach the tolerance {tol:.0e}"));
        }
    }
    Ok(Report {
        case: info.name.clone(),
        vars: info.vars.clone(),
        params: info.params.clone(),
        normalizer,
        log_normalizer,
        // Z's relative error, plus the rounding of ln z + log_max (an ulp or two of log Z).
        log_normalizer_error: z.error / z.value
            + 4.0 * f64::EPSILON * (loc.log_max.abs() + z.value.ln().abs()),
        components,
        cross,
        objective,
        verdict,
        domain: domain
            .iter()
            .map(|&(a, b)| [a.is_finite().then_some(a), b.is_finite().then_some(b)])
            .collect(),
        tolerance: tol,
        modes: loc.modes.iter().map(|m| m.x.clone()).collect(),
        flux,
        explanations,
        notes: notes_all,
        half_s2,
        weighted,
    })
}

/// The main integrals again, independently of the first run: in another frame (given), the
/// infinite ends mapped at 1 mode width instead of 4 and each cell first cut into fewer
/// regions, so no rule point is where it was.
#[allow(clippy::too_many_arguments)]
fn second_integration<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    frame: Option<&Frame>,
    loc_z: &Located,
    domain: &[(f64, f64)],
    divergent: &[bool],
    tol: f64,
    opts: &CheckOptions,
) -> Vec<Estimate> {
    let (d, k) = (ig.d, ig.k());
    let cells = cells_of(&loc_z.pieces_with_spread(domain, 1.0));
    let main = |zs: &[f64], n: usize, out: &mut [f64]| match frame {
        None => ig.eval_batch_hinted(zs, n, out),
        Some(f) => {
            let mut xs = vec![0.0; d * n];
            f.to_x_batch(zs, n, &mut xs);
            ig.eval_batch_hinted(&xs, n, out);
            let ks = k + 1 + d;
            for l in 0..n {
                f.grad_to_z(&mut out[l * ks + k + 1..(l + 1) * ks]);
            }
        }
    };
    let m = match d {
        2 => 5,
        3 => 3,
        _ => 2,
    };
    let r = cubature_hinted_from(
        &main,
        &cells,
        k,
        &|v: &[f64]| ratio_targets(v, tol, divergent),
        // A residual worth confirming is larger than the errors: a tenth of the budget.
        opts.max_evals / 10,
        m,
    );
    (0..k)
        .map(|j| Estimate {
            value: r.values[j],
            error: r.errors[j],
            evals: r.evals,
        })
        .collect()
}

/// Whether the second integration `alt` fails to confirm a violated identity: for some
/// component whose residual exceeds its error, the residual from `alt` (with the same
/// boundary term) is within its own error or of the other sign. Returns the reason.
fn unconfirmed(components: &[Component], alt: &[Estimate], l: Layout) -> Option<String> {
    let z = alt[0];
    if !(z.value.is_finite() && z.value > 0.0) {
        return Some("a second integration to confirm the violation found no mass".into());
    }
    let q = |j: usize| {
        let v = alt[j].value / z.value;
        (v, alt[j].error / z.value + v.abs() * z.error / z.value)
    };
    for (i, c) in components.iter().enumerate() {
        let (Some(lv), Some(rv), Some(bv), Some(le), Some(re), Some(be)) = (
            c.lhs.value,
            c.rhs.value,
            c.boundary.value,
            c.lhs.error,
            c.rhs.error,
            c.boundary.error,
        ) else {
            continue;
        };
        let res = lv - bv - rv;
        if res.abs() <= le + re + be {
            continue;
        }
        let ((l2, le2), (r2, re2)) = (q(l.lhs(i)), q(l.rhs(i)));
        let (res2, e2) = (l2 - bv - r2, le2 + re2 + be);
        if res2.abs() <= e2 || res2.signum() != res.signum() {
            return Some(format!(
                "for {}: lhs − boundary − rhs = {:.3e} (± {:.1e}), but a second integration (another map of the infinite ends, another first subdivision) gives {:.3e} ± {:.1e}: the cubature's errors cannot be trusted here",
                c.var,
                res,
                le + re + be,
                res2,
                e2
            ));
        }
    }
    None
}

/// `Q` row by row, for a note.
fn fmt_frame(f: &Frame) -> String {
    let rows: Vec<String> = (0..f.d)
        .map(|i| {
            let r: Vec<String> = (0..f.d).map(|j| format!("{:.4}", f.q[i][j])).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// Error targets for raw integrals `v` whose ratios `Q_k = I_k/Z` (`Z = v[0]`) are reported
/// to `tol·max(1, |Q_k|)`. The error of `Q_k` is `e_k/Z + |Q_k|·e_Z/Z`, so `e_k ≤
/// 0.45·tol·max(Z, |I_k|)` and `e_Z ≤ 0.45·tol·Z` give at most `0.9·tol·max(1, |Q_k|)`,
/// because `|Q_k| ≤ max(1, |Q_k|)`. Integrals marked in `skip` (divergent) get no target.
pub(crate) fn ratio_targets(v: &[f64], tol: f64, skip: &[bool]) -> Vec<f64> {
    let z = v[0].abs().max(f64::MIN_POSITIVE);
    v.iter()
        .enumerate()
        .map(|(j, x)| {
            if skip.get(j).copied().unwrap_or(false) {
                f64::INFINITY
            } else {
                0.45 * tol * z.max(x.abs())
            }
        })
        .collect()
}

/// For 2-D and up: Z again, at a looser tolerance, through a different map of the infinite
/// pieces (1 mode width instead of 4). A cubature cannot see mass its points never reach —
/// a ridge that runs off to infinity along a diagonal, say — and its error estimate does not
/// know; two maps reach differently far. When the two values of Z differ by more than their
/// errors allow, twice the difference (a share `δ` of Z) is added to every integral's error
/// (`δ·max(Z, |I_k|)`, so `δ·max(1, |Q_k|)` after normalising) and a note says why.
pub(crate) fn cross_check_z<P: Density>(
    p: &P,
    loc: &Located,
    domain: &[(f64, f64)],
    est: &mut [Estimate],
    opts: &CheckOptions,
    hinted: bool,
) -> Option<String> {
    let z = est[0];
    if !(z.value.is_finite() && z.value > 0.0) {
        return None;
    }
    let cells = cells_of(&loc.pieces_with_spread(domain, 1.0));
    let (target, budget) = (1e-4 * z.value, opts.max_evals / 10);
    // With the same hint as the main cubature (check's), or, for one without it (fisher's),
    // without: the two maps then differ by what no point saw.
    let alt = if hinted {
        cubature_hinted(
            &|xs: &[f64], n: usize, out: &mut [f64]| density_hinted(p, loc.log_max, xs, n, out),
            &cells,
            1,
            &|_| vec![target],
            budget,
        )
    } else {
        let log_max = loc.log_max;
        let f = |xs: &[f64], n: usize, out: &mut [f64]| {
            p.log_density_batch(xs, n, out);
            for (l, o) in out.iter_mut().enumerate().take(n) {
                let finite = (0..xs.len() / n.max(1)).all(|v| xs[v * n + l].is_finite());
                let w = (*o - log_max).exp();
                *o = if finite && w.is_finite() { w } else { 0.0 };
            }
        };
        cubature(&f, &cells, 1, &|_| vec![target], budget)
    };
    let (za, ea) = (alt.values[0], alt.errors[0]);
    let gap = (za - z.value).abs();
    if gap <= 2.0 * (ea + z.error) + 1e-14 * z.value {
        return None;
    }
    // Both maps may miss mass; the difference is doubled, as for the two rules in 1-D.
    let delta = 2.0 * gap / z.value;
    for e in est.iter_mut() {
        e.error += delta * e.value.abs().max(z.value);
    }
    Some(format!(
        "two maps of the infinite ends give Z values {:.3e} apart (relative), more than their errors allow: some mass lies where the cubature's points do not reach (far out along a direction the axes do not follow); every error includes twice that share",
        gap / z.value
    ))
}

/// `p̃/p̃_max` at `n` points (`xs[v * n + l]`) with the hint of [`cubature_hinted`]: per point
/// the value, `log(p̃/p̃_max)` and its gradient (`2 + d` values; 0 and −∞ where a coordinate
/// is not finite).
fn density_hinted<P: Density>(p: &P, log_max: f64, xs: &[f64], n: usize, out: &mut [f64]) {
    use num_dual::Dual64;
    if n == 0 {
        return;
    }
    let d = xs.len() / n;
    let ks = 2 + d;
    let mut dx = vec![Dual64::from(0.0); d * n];
    let mut res = vec![Dual64::from(0.0); n];
    for i in 0..d {
        for v in 0..d {
            let seed = if v == i { 1.0 } else { 0.0 };
            for l in 0..n {
                dx[v * n + l] = Dual64::new(xs[v * n + l], seed);
            }
        }
        p.log_density_batch(&dx, n, &mut res);
        for (l, r) in res.iter().enumerate() {
            out[l * ks + 1] = r.re - log_max;
            out[l * ks + 2 + i] = r.eps;
        }
    }
    for l in 0..n {
        let finite = (0..d).all(|v| xs[v * n + l].is_finite());
        let o = &mut out[l * ks..(l + 1) * ks];
        let w = o[1].exp();
        if finite && w.is_finite() && !o[1].is_nan() {
            o[0] = w;
        } else {
            o[0] = 0.0;
            o[1] = f64::NEG_INFINITY;
            o[2..].iter_mut().for_each(|g| *g = 0.0);
        }
    }
}

/// For 2-D and up: which integrals diverge. Along each axis, towards each end, the slab
/// integral `G(r) = ∫|f_k| dx_{−i}` on the face at distance `r` from the mode (infinite end) or
/// from the end (finite end) is followed over decades; `∫ G` is infinite when `r·G(r)` does
/// not fall off (as `r → ∞`, or as `r → 0` at a finite end).
fn probe_divergence<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    domain: &[(f64, f64)],
) -> Vec<bool> {
    let d = ig.d;
    let k = ig.k();
    let mut div = vec![false; k];
    let centre = &loc.modes[0];
    for (i, &(lo, hi)) in domain.iter().enumerate() {
        let others: Vec<Vec<Piece>> = (0..d)
            .filter(|&j| j != i)
            .map(|j| loc.pieces[j].clone())
            .collect();
        let cells = cells_of(&others);
        for upper in [false, true] {
            let end = if upper { hi } else { lo };
            let sgn = if upper { 1.0 } else { -1.0 };
            let sigma = centre.scale[i];
            let mut m: Vec<Vec<f64>> = vec![];
            for j in 1..=12 {
                let (r, t) = if end.is_infinite() {
                    let r = sigma * 10f64.powi(j);
                    (r, centre.x[i] + sgn * r)
                } else {
                    let gap = (end - centre.x[i]).abs();
                    let width =
                        if gap > 0.0 { gap.min(sigma) } else { sigma }.max(f64::MIN_POSITIVE);
                    let r = width * 10f64.powi(-j);
                    (r, end - sgn * r)
                };
                if !t.is_finite() || (end.is_finite() && t == end) {
                    break;
                }
                let f = |ys: &[f64], n: usize, out: &mut [f64]| {
                    let xs = on_face_batch(ys, n, i, t, d);
                    ig.eval_batch(&xs, n, out);
                    out.iter_mut().for_each(|v| *v = v.abs());
                };
                // A magnitude to 1%: two starting cuts per axis are enough to see it.
                let g = cubature_from(
                    &f,
                    &cells,
                    k,
                    &|v: &[f64]| v.iter().map(|x| 1e-2 * x.abs() + 1e-300).collect(),
                    20_000,
                    2,
                );
                m.push(g.values.iter().map(|v| r * v).collect());
            }
            if m.len() < 5 {
                continue;
            }
            for (kk, dv) in div.iter_mut().enumerate() {
                let tail: Vec<f64> = m[m.len() - 4..].iter().map(|v| v[kk]).collect();
                if tail.iter().all(|v| *v > 0.0 && v.is_finite())
                    && tail.windows(2).all(|w| w[1] >= 0.9 * w[0])
                {
                    *dv = true;
                }
            }
        }
    }
    div
}

/// 1-D: every quantity integrated together with the tanh-sinh rule, from one evaluation of
/// the integrand vector per point.
fn integrate_all_1d<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
) -> (Vec<Estimate>, Vec<bool>) {
    integrate_1d_vec(
        &|xs: &[f64], n: usize, out: &mut [f64]| ig.eval_batch(xs, n, out),
        &loc.pieces[0],
        ig.k(),
    )
}

/// The points of the face `x_i = t` whose other coordinates are `ys` (`n` points laid out
/// coordinate-major, `ys[v * n + l]`), in the same layout.
fn on_face_batch(ys: &[f64], n: usize, i: usize, t: f64, d: usize) -> Vec<f64> {
    let mut xs = Vec::with_capacity(d * n);
    let mut rest = ys.chunks_exact(n.max(1));
    for j in 0..d {
        if j == i {
            xs.extend(std::iter::repeat_n(t, n));
        } else {
            xs.extend_from_slice(rest.next().expect("d − 1 coordinates"));
        }
    }
    xs
}

/// All products of the axes' pieces (at most `locate::MAX_CELLS`).
fn cells_of(pieces: &[Vec<Piece>]) -> Vec<Cell> {
    let mut cells = vec![Cell { pieces: vec![] }];
    for axis in pieces {
        let mut next = vec![];
        for c in &cells {
            for p in axis {
                let mut q = c.pieces.clone();
                q.push(*p);
                next.push(Cell { pieces: q });
            }
        }
        cells = next;
    }
    cells
}

/// `∫ s_i p̃ dx_{−i}` at `x_i = t` (a point value in 1-D), with error and evaluations;
/// `None` when a non-finite value is met where p̃ has mass.
#[allow(clippy::too_many_arguments)]
fn face_at<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    i: usize,
    t: f64,
    target: f64,
    rel: f64,
    weighted: bool,
    opts: &CheckOptions,
) -> Option<Estimate> {
    let d = ig.d;
    if d == 1 {
        return ig.flux(0, &[t], weighted).map(|v| Estimate {
            value: v,
            error: 4.0 * f64::EPSILON * v.abs(),
            evals: 1,
        });
    }
    let others: Vec<Vec<Piece>> = (0..d)
        .filter(|&j| j != i)
        .map(|j| loc.pieces[j].clone())
        .collect();
    let cells = cells_of(&others);
    let bad = std::sync::atomic::AtomicBool::new(false);
    let f = |ys: &[f64], n: usize, out: &mut [f64]| {
        let xs = on_face_batch(ys, n, i, t, d);
        if !ig.flux_batch(i, &xs, n, weighted, out) {
            bad.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let r = cubature(
        &f,
        &cells,
        1,
        &|v: &[f64]| vec![target.max(rel * v[0].abs())],
        opts.max_evals / 10,
    );
    if bad.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    Some(Estimate {
        value: r.values[0],
        error: r.errors[0],
        evals: r.evals,
    })
}

/// The contribution of one end of axis `i` to `boundary_i` (before the sign), normalised.
#[allow(clippy::too_many_arguments)]
fn face_term<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    domain: &[(f64, f64)],
    i: usize,
    upper: bool,
    tol: f64,
    (z, z_err): (f64, f64),
    weighted: bool,
    opts: &CheckOptions,
) -> (Quantity, Option<Vec<[f64; 2]>>) {
    // A face value F/Z carries the relative error of Z too.
    let zrel = z_err / z;
    let (a, b) = domain[i];
    let end = if upper { b } else { a };
    let target = 0.2 * tol * z;
    let pieces = &loc.pieces[i];
    if end.is_finite() {
        // The one-sided limit of the face integral of s_i p̃ as x_i → end, from inside.
        let adjacent = if upper { pieces.last() } else { pieces.first() }
            .copied()
            .expect("an axis has pieces");
        let delta0 = 0.25 * adjacent.scale().abs().min((b - a).abs());
        let inward = if upper { -1.0 } else { 1.0 };
        let lim = end_limit(
            |t| face_at(ig, loc, i, t, 0.05 * target, 0.0, weighted, opts),
            end,
            inward,
            delta0,
            0.1 * target,
        );
        let q = match lim {
            Limit::Value {
                value,
                error,
                evals,
                ..
            } => {
                let v = value / z;
                let err = error / z + v.abs() * zrel;
                // Settled or not, the error is the limit's own (unbounded when the approach
                // showed no rate): the value has converged when that error meets the tolerance.
                Quantity::new(v, err, evals, status_for_value(v, err, tol))
            }
            Limit::Diverges { evals } => Quantity::none(evals, Status::Diverges),
            Limit::Nonfinite { at, evals } => {
                let mut q = Quantity::none(evals, Status::Nonfinite);
                let mut x = loc.modes[0].x.clone();
                x[i] = at;
                q.at = Some(x);
                q
            }
        };
        return (q, None);
    }
    // Infinite end: follow the flux out to where p̃ is negligible.
    let piece = if upper { pieces.last() } else { pieces.first() }
        .copied()
        .expect("an axis has pieces");
    let (origin, scale) = match piece {
        Piece::Upper { start, scale } => (start, scale),
        Piece::Lower { end, scale } => (end, scale),
        Piece::Finite { .. } => unreachable!("an infinite end has an infinite piece"),
    };
    let sgn = if upper { 1.0 } else { -1.0 };
    let mut samples: Vec<[f64; 2]> = vec![];
    let mut evals = 0;
    let mut nonfinite_at = None;
    let mut small_run = 0;
    // Out by √2 steps to 1000σ, then by decades to 1e30σ.
    let radii = (0..20)
        .map(|kk| scale * 2f64.powf(kk as f64 * 0.5 + 1.0))
        .chain((4..=30).map(|kk| scale * 10f64.powi(kk)));
    for r in radii {
        let t = origin + sgn * r;
        if !t.is_finite() {
            break;
        }
        // Evidence only: each sample to 1% (or far below the tolerance when it is tiny).
        match face_at(
            ig,
            loc,
            i,
            t,
            (1e-3 * target).max(f64::MIN_POSITIVE),
            1e-2,
            weighted,
            opts,
        ) {
            Some(e) => {
                evals += e.evals;
                samples.push([t, e.value / z]);
                if (e.value / z).abs() <= 1e-3 * tol {
                    small_run += 1;
                    if small_run >= 3 {
                        break;
                    }
                } else {
                    small_run = 0;
                }
            }
            None => {
                let mut x = loc.modes[0].x.clone();
                x[i] = t;
                nonfinite_at = Some(x);
                break;
            }
        }
    }
    if let Some(at) = nonfinite_at {
        let mut q = Quantity::none(evals, Status::Nonfinite);
        q.at = Some(at);
        return (q, Some(samples));
    }
    let n = samples.len();
    let last = samples.last().map(|s| s[1].abs()).unwrap_or(0.0);
    // Decayed: tiny at the end, or falling steadily out to the last radius.
    let falling = n >= 6
        && samples[n - 6..]
            .windows(2)
            .all(|w| w[1][1].abs() <= w[0][1].abs() * 1.0001);
    let decayed = small_run >= 3 || (falling && last <= tol);
    let q = if decayed {
        // The limit is 0; what is left is bounded by the last samples.
        let bound = samples[n.saturating_sub(3)..]
            .iter()
            .map(|s| s[1].abs())
            .fold(0.0, f64::max);
        Quantity::new(0.0, bound, evals, status_for_value(0.0, bound, tol))
    } else if n >= 4 {
        let prev = samples[n - 2][1].abs();
        let growing = last > 1.05 * prev && samples[n - 3][1].abs() < prev;
        if growing {
            Quantity::none(evals, Status::Diverges)
        } else {
            // Levels off at a nonzero value, or decays too slowly to tell.
            let v = samples[n - 1][1];
            let err = (samples[n - 1][1] - samples[n - 2][1]).abs();
            let st = if err <= tol && (v.abs() > 10.0 * err) {
                Status::Ok
            } else {
                Status::NotConverged
            };
            let err = if st == Status::Ok {
                err
            } else {
                err.max(v.abs())
            };
            Quantity::new(v, err, evals, st)
        }
    } else {
        Quantity::new(0.0, last, evals, status_for_value(0.0, last, tol))
    };
    (q, Some(samples))
}

/// The outcome of [`end_limit`].
#[derive(Clone, Debug, PartialEq)]
enum Limit {
    /// The limit, with an error; `settled` is false when the sequence had not settled to
    /// the target when the approach ran out (the value is then the best estimate).
    Value {
        value: f64,
        error: f64,
        evals: u64,
        settled: bool,
    },
    /// `|F|` grows without bound towards the end.
    Diverges { evals: u64 },
    /// `F` is NaN/inf at this coordinate, where p̃ is not negligible.
    Nonfinite { at: f64, evals: u64 },
}

/// The one-sided limit of `F(t)` as `t → end` from the side `inward` (+1: from above).
///
/// `F` is evaluated along `t_j = end + inward·δ_j`, `δ_j = δ_0·16^{−j}`, each value with its
/// own error. With `F(t) = L + c·δ^β + …` the differences `D_j = F_j − F_{j−1}` shrink by
/// `q = 16^{−β}` a step; when the last three ratios agree on a `q < 0.95`, the rest of the
/// geometric series, `|D_j|·q/(1 − q)`, is what the last value still misses (the estimate
/// takes twice that, plus the last step). Without such a rate, an unsettled sequence has an
/// unbounded error. Differences within the values' own errors count
/// as settled. When the differences stop shrinking (`q ≥ 0.98`) while `|F|` grows, `F`
/// diverges (`ln δ` growth has `q = 1`, `δ^{−β}` growth `q > 1`). The approach stops where
/// `t` can no longer be told from `end` in f64, or after 80 steps (`δ_0·10^{−96}`).
fn end_limit(
    mut f: impl FnMut(f64) -> Option<Estimate>,
    end: f64,
    inward: f64,
    delta0: f64,
    target: f64,
) -> Limit {
    let mut vals: Vec<(f64, f64)> = vec![];
    let mut evals = 0;
    let mut best: Option<(f64, f64)> = None;
    let mut delta = delta0.max(f64::MIN_POSITIVE);
    // A candidate (value, error): the limit when it meets the target, else kept if best.
    let offer = |cand: (f64, f64), evals: u64, best: &mut Option<(f64, f64)>| {
        if cand.1 <= target {
            return Some(Limit::Value {
                value: cand.0,
                error: cand.1,
                evals,
                settled: true,
            });
        }
        if best.is_none_or(|b| cand.1 < b.1) {
            *best = Some(cand);
        }
        None
    };
    for _ in 0..80 {
        let t = end + inward * delta;
        delta *= 1.0 / 16.0;
        if t == end || !t.is_finite() {
            break;
        }
        if (t - end) * inward <= 0.0 {
            break;
        }
        let Some(e) = f(t) else {
            return Limit::Nonfinite { at: t, evals };
        };
        evals += e.evals;
        vals.push((e.value, e.error));
        let n = vals.len();
        if n < 4 {
            continue;
        }
        let d = |j: usize| vals[j].0 - vals[j - 1].0;
        let noise = |j: usize| vals[j].1 + vals[j - 1].1 + 4.0 * f64::EPSILON * vals[j].0.abs();
        // Settled: the last three differences within the values' errors.
        let settled = (n - 3..n).all(|j| d(j).abs() <= noise(j));
        if settled {
            let err = (n - 3..n)
                .map(|j| d(j).abs() + noise(j))
                .fold(0.0, f64::max);
            let cand = (vals[n - 1].0, err);
            if let Some(done) = offer(cand, evals, &mut best) {
                return done;
            }
            continue;
        }
        if n < 5 {
            continue;
        }
        // Geometric convergence: consistent ratios in (0, 0.95).
        let q: Vec<f64> = (n - 2..n).map(|j| d(j) / d(j - 1)).collect();
        let q0 = d(n - 3) / d(n - 4);
        let geometric = q.iter().chain([&q0]).all(|&r| r > 0.0 && r < 0.95)
            && (q[1] - q[0]).abs() <= 0.1 * q[1].max(q[0]) + 0.02
            && (q0 - q[0]).abs() <= 0.1 * q0.max(q[0]) + 0.02;
        if geometric {
            let qq = q[1].max(q[0]);
            let rest = d(n - 1) * q[1] / (1.0 - q[1]);
            let err = 2.0 * (d(n - 1).abs() * qq / (1.0 - qq)) + d(n - 1).abs() + noise(n - 1);
            let cand = (vals[n - 1].0 + rest, err);
            if let Some(done) = offer(cand, evals, &mut best) {
                return done;
            }
            continue;
        }
        // Growth without bound: increasing |F|, differences not shrinking, far above noise.
        if n >= 6 {
            let grows = (n - 5..n).all(|j| vals[j].0.abs() > vals[j - 1].0.abs())
                && (n - 4..n).all(|j| d(j) / d(j - 1) >= 0.98)
                && (n - 4..n).all(|j| d(j).abs() > 10.0 * noise(j));
            if grows {
                return Limit::Diverges { evals };
            }
        }
    }
    match best {
        Some((value, error)) => Limit::Value {
            value,
            error,
            evals,
            settled: false,
        },
        None => {
            // Never settled, and no consistent rate of approach: the values seen say nothing
            // about where the sequence ends up, so the error is unbounded (honestly
            // undecided); the value is the last one seen.
            let last = vals.last().map_or(0.0, |v| v.0);
            Limit::Value {
                value: last,
                error: f64::INFINITY,
                evals,
                settled: false,
            }
        }
    }
}

/// The status of a value: converged when its error is within `tol·max(1, |v|)` (the
/// tolerance is absolute for values up to 1 in size and relative above).
pub fn status_for_value(v: f64, err: f64, tol: f64) -> Status {
    if err <= tol * v.abs().max(1.0) && err.is_finite() {
        Status::Ok
    } else {
        Status::NotConverged
    }
}

fn verdicts(
    components: &[Component],
    cross: &Cross,
    ob: &Objective,
    weighted: bool,
    tol: f64,
) -> (Verdict, Explanations) {
    let ps = if weighted { "h·p·s" } else { "p·s" };
    // IBP per component.
    let mut ibp = Ibp::Holds;
    let mut ibp_why =
        String::from("lhs_i = boundary_i + rhs_i for every variable, within the reported errors");
    for c in components {
        let (l, r, b) = (&c.lhs, &c.rhs, &c.boundary);
        match (l.value, r.value, b.value, l.error, r.error, b.error) {
            (Some(lv), Some(rv), Some(bv), Some(le), Some(re), Some(be)) => {
                let res = lv - bv - rv;
                let e = le + re + be;
                let converged = [l, r, b].iter().all(|q| q.status == Status::Ok);
                if res.abs() <= e {
                    if !converged && ibp == Ibp::Holds {
                        let slow = [("lhs", l), ("rhs", r), ("boundary", b)]
                            .into_iter()
                            .filter(|(_, q)| q.status == Status::NotConverged)
                            .map(|(n, _)| format!("{n}_{}", c.var))
                            .collect::<Vec<_>>()
                            .join(", ");
                        ibp = Ibp::Undecided;
                        ibp_why = format!(
                            "for {}: the two sides agree within their errors, but {slow} did not reach the tolerance",
                            c.var
                        );
                    }
                    continue;
                }
                if converged {
                    ibp = Ibp::Violated;
                    ibp_why = format!(
                        "for {}: lhs − boundary − rhs = {:.3e}, more than the combined error {:.1e}",
                        c.var, res, e
                    );
                    break;
                }
                ibp = Ibp::Undecided;
                ibp_why = format!(
                    "for {}: the residual {:.3e} is within reach of unconverged integrals",
                    c.var, res
                );
            }
            _ => {
                if ibp != Ibp::Violated {
                    ibp = Ibp::Undecided;
                    let bad = [("lhs", l), ("rhs", r), ("boundary", b)]
                        .into_iter()
                        .find(|(_, q)| !q.status.has_value())
                        .map(|(n, q)| match (q.status, &q.at) {
                            (Status::Nonfinite, Some(at)) => format!(
                                "{n} meets a NaN/inf integrand where p has mass (x = {})",
                                fmt_point(at)
                            ),
                            (Status::Nonfinite, None) => {
                                format!("{n} meets a NaN/inf integrand where p has mass")
                            }
                            _ => format!("{n} is infinite"),
                        })
                        .unwrap_or_default();
                    ibp_why = format!("for {}: {}, so the identity cannot be tested", c.var, bad);
                }
            }
        }
    }
    // Boundary: "nonzero" only when distinguishable from 0 at the tolerance.
    let b = &cross.boundary;
    let diverging_end = components.iter().find_map(|c| {
        c.faces
            .iter()
            .find(|f| f.value.status == Status::Diverges)
            .map(|f| {
                let at = f.at.map_or_else(
                    || {
                        if f.end == "upper" {
                            "∞".to_string()
                        } else {
                            "−∞".to_string()
                        }
                    },
                    |a| format!("{a}"),
                );
                format!("{} = {at} ({} end)", c.var, f.end)
            })
    });
    let (boundary, b_why) = match (b.value, b.error) {
        _ if diverging_end.is_some() => (
            Boundary::Nonzero,
            format!(
                "{ps} grows without bound towards {}: the boundary term diverges",
                diverging_end.unwrap_or_default()
            ),
        ),
        (Some(v), Some(e)) if v.abs() + e <= tol && b.status.has_value() => (
            Boundary::Vanishes,
            format!(
                "the boundary term is {} (zero within the tolerance {tol:.0e}): {ps} vanishes on the boundary",
                crate::report::fmt_value(v, e)
            ),
        ),
        (Some(v), Some(e)) if v.abs() - e > tol => {
            let worst = components
                .iter()
                .filter_map(|c| {
                    c.boundary
                        .value
                        .map(|bv| (c, bv, c.boundary.error.unwrap_or(0.0)))
                })
                .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()));
            let wh = worst
                .map(|(c, bv, be)| {
                    format!("; from {} ({})", c.var, crate::report::fmt_value(bv, be))
                })
                .unwrap_or_default();
            (
                Boundary::Nonzero,
                format!(
                    "the boundary term is {}, not 0 at the tolerance {tol:.0e}: {ps} does not vanish on the boundary{wh}",
                    crate::report::fmt_value(v, e)
                ),
            )
        }
        _ => (
            Boundary::Undecided,
            format!(
                "the boundary term could not be decided: {} cannot be told from 0 at the tolerance {tol:.0e}",
                crate::report::fmt_q(b)
            ),
        ),
    };
    // Objective.
    let qs = [("esm", &ob.esm), ("ism", &ob.ism), ("const", &ob.constant)];
    let (objective, o_why) =
        if let Some((n, _)) = qs.iter().find(|(_, q)| q.status == Status::Diverges) {
            (
                ObjectiveVerdict::Infinite,
                format!("{n} is infinite: the score-matching objective is not finite"),
            )
        } else if let Some((n, q)) = qs
            .iter()
            .find(|(_, q)| !q.status.has_value() || q.status == Status::NotConverged)
        {
            (
                ObjectiveVerdict::Undecided,
                if q.status == Status::NotConverged {
                    format!(
                        "{n} did not reach the tolerance: {}",
                        crate::report::fmt_q(q)
                    )
                } else {
                    format!("{n} is {}", crate::report::fmt_q(q))
                },
            )
        } else {
            let g = &ob.gap;
            (
                ObjectiveVerdict::Finite,
                format!(
                    "esm, ism and const are finite; gap = esm − ism − const = {}",
                    crate::report::fmt_q(g)
                ),
            )
        };
    (
        Verdict {
            ibp,
            boundary,
            objective,
        },
        Explanations {
            ibp: ibp_why,
            boundary: b_why,
            objective: o_why,
        },
    )
}
