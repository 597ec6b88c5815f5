//! Checking hand-written scores: a field `s` against the exact gradient of a log-model, a
//! hand-written divergence against the exact `∇·s`, and, without a log-model, whether `s` is
//! a gradient field at all — over the points where `p` has its mass.
//!
//! Every derivative here is exact (num-dual's [`Dual64`], nested for second derivatives of a
//! log-model); no step size is involved. Next to the exact values the report shows what
//! central finite differences would have given, so a reader can see why that matters.
//!
//! # Where the check looks
//!
//! [`locate`] finds the modes of `p` and their widths `σ`. The points are
//!
//! * `N` (default 2048) points of a Halton sequence, cycled over the modes, each mapped per
//!   axis through a logistic quantile centred on the mode with scale `1.5σ` (standard
//!   deviation ≈ 2.7σ), truncated to the domain so no point falls outside it; on an axis
//!   with two finite ends a quarter of the points are spread uniformly over it instead;
//! * the modes themselves;
//! * tail points at `mode ± 5σ` and `mode ± 10σ` along each axis, and the finite ends of each
//!   axis through every mode, when they lie in the domain.
//!
//! A point where `log p̃ − log p̃_max < −50` carries no mass worth checking: it is counted
//! (and listed, for tail points) but does not decide a verdict.
//!
//! # When two numbers agree
//!
//! `a` and `b` agree when `|a − b| ≤ atol + rtol·max(|a|, |b|)` (defaults `rtol = 1e-8`,
//! `atol = 1e-10`), or when they are the same infinity. A NaN on one side only is a
//! disagreement; NaN on both sides cannot be compared. A check with no comparable point is
//! undecided.
//!
//! ```
//! use num_dual::DualNum;
//! use scorecheck::check::CaseInfo;
//! use scorecheck::model::{Density, ScoreField};
//! use scorecheck::score::{Agreement, ScoreOptions, compare_score};
//!
//! // p = N(0, 1); the hand-written score forgets the sign.
//! struct Normal;
//! impl Density for Normal {
//!     fn dim(&self) -> usize { 1 }
//!     fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
//!         -x[0] * x[0] * 0.5
//!     }
//! }
//! struct SignSlip;
//! impl ScoreField for SignSlip {
//!     fn dim(&self) -> usize { 1 }
//!     fn component<D: DualNum<Primitive = f64> + Copy>(&self, _i: usize, x: &[D]) -> D {
//!         x[0] // should be −x
//!     }
//! }
//! let info = CaseInfo { name: "sign".into(), vars: vec!["x".into()], ..Default::default() };
//! let domain = [(f64::NEG_INFINITY, f64::INFINITY)];
//! let r = compare_score(&Normal, &SignSlip, &Normal, &domain, &info, &ScoreOptions::default())
//!     .unwrap();
//! assert_eq!(r.verdict.field, Some(Agreement::Disagrees));
//! assert_eq!(r.exit_code(), 1);
//! let bad = &r.counterexamples[0];
//! assert_eq!(bad.check, "s_x");
//! assert_eq!(bad.sample.a, -bad.sample.b); // s = x against ∂ log p = −x
//! ```
//!
//! Bounds (issue 17): at most [`MAX_POINTS`] points (`--points`; more is bad input), each
//! evaluated a fixed number of times (the field, the exact derivatives, a few
//! finite-difference steps); `locate` bounds the rest.

use crate::check::CaseInfo;
use crate::locate::{LocateError, Located, locate};
use crate::model::{Density, MAX_DIM, ScalarFunction, ScoreField};
use crate::report::fmt_point;
use num_dual::{Dual, Dual64, DualNum};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Below this `log p̃ − log p̃_max` a point carries no mass worth checking.
pub const NEGLIGIBLE_LOG: f64 = -50.0;

/// The finite-difference steps shown next to the exact derivatives.
pub const FD_STEPS: [f64; 6] = [1e-1, 1e-3, 1e-5, 1e-7, 1e-9, 1e-11];

/// Logistic scale of the bulk points, in mode widths.
const BULK_SPREAD: f64 = 1.5;

/// Tail offsets, in mode widths.
const TAIL_OFFSETS: [f64; 2] = [5.0, 10.0];

/// Halton bases: one per coordinate, and one more to choose the map of a finite axis.
const HALTON_BASES: [u64; MAX_DIM + 1] = [2, 3, 5, 7, 11];

// ---------------------------------------------------------------------------------------------
// Options and errors
// ---------------------------------------------------------------------------------------------

/// Settings of a score check.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreOptions {
    /// Number of low-discrepancy points spread over the bulk of `p` (modes and tail points
    /// come on top).
    pub points: usize,
    /// Relative tolerance of an agreement.
    pub rtol: f64,
    /// Absolute tolerance of an agreement.
    pub atol: f64,
    /// Steps of the central differences shown for teaching.
    pub fd_steps: Vec<f64>,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            points: 2048,
            rtol: 1e-8,
            atol: 1e-10,
            fd_steps: FD_STEPS.to_vec(),
        }
    }
}

/// Why a score check could not be run: the input is unusable.
#[derive(Clone, Debug, PartialEq)]
pub enum ScoreError {
    /// `log p̃` is −∞ or undefined at every point tried.
    DensityNowhere,
    /// The density is negative or undefined (NaN) at a point of the domain.
    DensityUndefined { at: Vec<f64> },
    /// The density does not decay towards an infinite end (∫ p̃ = ∞).
    NotIntegrable,
    /// Neither a field nor a divergence was given: nothing hand-written to check.
    NothingToCheck,
    /// A divergence was given with neither a field nor a log-model to take `∇·s` of.
    DivergenceOfNothing,
    /// The parts have different numbers of variables.
    Dimension {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    /// An option is out of range; the message names it.
    BadOption(String),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::NotIntegrable => write!(
                f,
                "the density is not integrable on the domain (Z = ∫ p = ∞); restrict the domain or fix the density"
            ),
            ScoreError::DensityNowhere => write!(
                f,
                "the density is zero or undefined everywhere it was evaluated; check the [density] expression and the domain"
            ),
            ScoreError::DensityUndefined { at } => write!(
                f,
                "the density is negative or undefined (NaN) at x = {}; a density must be defined and >= 0 on the whole domain",
                fmt_point(at)
            ),
            ScoreError::NothingToCheck => write!(
                f,
                "nothing hand-written to check: `score` compares a hand-written `field = [...]` (and an optional `divergence = \"...\"`) with exact derivatives of `log_model`; add a `field` to [score]"
            ),
            ScoreError::DivergenceOfNothing => write!(
                f,
                "a `divergence` needs a `field` or a `log_model` to compare with: add one to [score]"
            ),
            ScoreError::Dimension {
                what,
                got,
                expected,
            } => write!(
                f,
                "the {what} has {got} variables but the domain has {expected}"
            ),
            ScoreError::BadOption(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ScoreError {}

/// The most points `score` checks (`--points`): each is a few hundred bytes and a few dual
/// evaluations, so a million take under a second and 300 MB at most.
pub const MAX_POINTS: usize = 1_000_000;

impl ScoreOptions {
    /// Check the options; the error names the flag-like field that is wrong.
    pub fn validate(&self) -> Result<(), ScoreError> {
        let bad = |m: String| Err(ScoreError::BadOption(m));
        if self.points == 0 {
            return bad("points must be at least 1".into());
        }
        if self.points > MAX_POINTS {
            return bad(format!(
                "points must be at most {MAX_POINTS}, got {}",
                self.points
            ));
        }
        for (name, v) in [("rtol", self.rtol), ("atol", self.atol)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be a finite number >= 0, got {v}"));
            }
        }
        if let Some(h) = self.fd_steps.iter().find(|h| !(h.is_finite() && **h > 0.0)) {
            return bad(format!("finite-difference steps must be positive, got {h}"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

/// Where a point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// A low-discrepancy point in the bulk of `p`.
    Bulk,
    /// A mode of `p`.
    Mode,
    /// `mode ± 5σ` or `mode ± 10σ` along an axis.
    Tail,
    /// A finite end of an axis, through a mode.
    Edge,
}

/// Two numbers compared at one point.
///
/// In JSON, a non-finite number is written as the string `"NaN"`, `"inf"` or `"-inf"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The point.
    pub at: Vec<f64>,
    /// Where it came from.
    pub kind: PointKind,
    /// `log p̃(x) − log p̃_max`.
    #[serde(with = "float")]
    pub log_p: f64,
    /// The first number (hand-written, or `∂_j s_i` in a Jacobian check).
    #[serde(with = "float")]
    pub a: f64,
    /// The second number (exact, or `∂_i s_j` in a Jacobian check).
    #[serde(with = "float")]
    pub b: f64,
    /// `|a − b|` (∞ when exactly one side is not finite).
    #[serde(with = "float")]
    pub abs: f64,
    /// `|a − b| / max(|a|, |b|)` (0 when `a = b`).
    #[serde(with = "float")]
    pub rel: f64,
    /// `p(x)/p_max · |a − b|`: how much the difference matters under `p`.
    #[serde(with = "float")]
    pub weighted: f64,
}

/// Verdict of one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Equal to tolerance at every point where `p` has mass.
    Agrees,
    /// Different beyond tolerance at one point or more.
    Disagrees,
    /// No point could be compared (NaN on both sides everywhere).
    Undecided,
}

/// Verdict of the gradient-field check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientVerdict {
    /// The Jacobian is symmetric to tolerance: `s` may be the score of a model.
    Gradient,
    /// The Jacobian is not symmetric: `s` is not the score of any model.
    NotGradient,
    /// No point could be compared.
    Undecided,
}

/// One quantity compared over all points: a field component, the divergence, or one pair
/// of the Jacobian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// Short name: `s_x`, `∇·s`, `∂_y s_x − ∂_x s_y`.
    pub check: String,
    /// What `a` is, e.g. `s_x (hand-written)`.
    pub a: String,
    /// What `b` is, e.g. `∂_x log_model (exact)`.
    pub b: String,
    /// Points where `p` has mass and both sides could be compared.
    pub compared: u64,
    /// Of those, the points where they disagree.
    pub disagreeing: u64,
    /// Points where `p` has mass and both sides are NaN.
    pub both_nan: u64,
    /// Points where `p` is negligible and they disagree (these do not count).
    pub disagreeing_negligible: u64,
    /// The largest `|a − b|`.
    pub max_abs: Option<Sample>,
    /// The largest relative difference.
    pub max_rel: Option<Sample>,
    /// The largest `p/p_max · |a − b|`.
    pub max_weighted: Option<Sample>,
    /// The counterexample: of the points that disagree, the one where the difference
    /// matters most under `p` (a NaN on one side first, then the largest `p/p_max · |a − b|`).
    pub worst: Option<Sample>,
    pub verdict: Agreement,
}

/// A central difference at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FdStep {
    pub h: f64,
    /// `(f(x + h e_i) − f(x − h e_i)) / 2h`; NaN when a side leaves the domain.
    #[serde(with = "float")]
    pub value: f64,
    /// `|value − exact|`.
    #[serde(with = "float")]
    pub error: f64,
    /// Whether both `x ± h e_i` are in the domain.
    pub inside: bool,
}

/// One derivative, exact and by central differences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FdRow {
    /// `∂_x log_model` or `∂_x s_x`.
    pub derivative: String,
    #[serde(with = "float")]
    pub exact: f64,
    pub steps: Vec<FdStep>,
    /// The step with the smallest error, if any is finite.
    pub best_h: Option<f64>,
}

/// The finite-difference table (for teaching: the reason exact derivatives matter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiniteDifferences {
    pub at: Vec<f64>,
    /// Why this point: `the counterexample of s_x`, or `one width from the highest mode`.
    pub why: String,
    pub rows: Vec<FdRow>,
}

/// A tail or edge point, and whether it carries mass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailPoint {
    /// E.g. `mode 1 + 5σ along y`, `mode 1 at x = 0`.
    pub label: String,
    pub at: Vec<f64>,
    #[serde(with = "float")]
    pub log_p: f64,
    /// Whether it counts (`log_p ≥ −50`).
    pub used: bool,
}

/// How many points of each kind were evaluated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointCounts {
    pub bulk: u64,
    pub modes: u64,
    pub tails: u64,
    pub edges: u64,
    /// Points where `p` has mass (they decide the verdicts).
    pub used: u64,
    /// Points where `log p̃ − log p̃_max < −50`.
    pub negligible: u64,
    /// Points where `log p̃` is NaN (skipped).
    pub undefined_density: u64,
}

/// A mode of `p` and its width per axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeSummary {
    pub x: Vec<f64>,
    pub scale: Vec<f64>,
}

/// The tolerance of an agreement: `|a − b| ≤ atol + rtol·max(|a|, |b|)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// The verdicts; `None` where the check was not asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreVerdict {
    /// Hand-written field against the exact `∇ log_model`.
    pub field: Option<Agreement>,
    /// Hand-written divergence against the exact `∇·s`.
    pub divergence: Option<Agreement>,
    /// Whether the hand-written field is a gradient field.
    pub gradient: Option<GradientVerdict>,
}

/// One disagreement, to print as a counterexample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    pub check: String,
    pub a: String,
    pub b: String,
    pub sample: Sample,
}

/// The report of `scorecheck score`: one serializable structure, rendered as text by
/// [`ScoreReport::to_text`] and as JSON by [`ScoreReport::to_json`].
///
/// JSON: `{"case", "vars", "params", "domain", "tolerance": {"rtol", "atol"},
/// "points": {...counts}, "modes": [{"x", "scale"}], "field": [Discrepancy],
/// "divergence": Discrepancy|null, "gradient": [Discrepancy], "finite_differences": {...}|null,
/// "tails": [TailPoint], "verdict": {"field", "divergence", "gradient"},
/// "counterexamples": [...], "explanations": [str], "notes": [str]}` with the verdicts
/// `"agrees"`/`"disagrees"`/`"undecided"` and `"gradient"`/`"not_gradient"`/`"undecided"`
/// (null where not checked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    pub case: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    /// Per variable `[lo, hi]`, infinite ends as null.
    pub domain: Vec<[Option<f64>; 2]>,
    pub tolerance: Tolerance,
    pub points: PointCounts,
    pub modes: Vec<ModeSummary>,
    /// Each component of the hand-written field against `∂_i log_model`.
    pub field: Vec<Discrepancy>,
    /// The hand-written divergence against the exact `∇·s`.
    pub divergence: Option<Discrepancy>,
    /// The Jacobian pairs `∂_j s_i` against `∂_i s_j`, `i < j`.
    pub gradient: Vec<Discrepancy>,
    pub finite_differences: Option<FiniteDifferences>,
    pub tails: Vec<TailPoint>,
    pub verdict: ScoreVerdict,
    /// The worst point of every check that disagrees.
    pub counterexamples: Vec<Counterexample>,
    /// One line per verdict given, in the order field, divergence, gradient.
    pub explanations: Vec<String>,
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Exact derivatives
// ---------------------------------------------------------------------------------------------

/// The gradient of a log-density as a score field, `s = ∇ log q`, with exact derivatives
/// (nested dual numbers, so its Jacobian is the exact Hessian of `log q`).
///
/// ```
/// use num_dual::DualNum;
/// use scorecheck::model::{Density, ScoreField};
/// use scorecheck::score::GradientOf;
///
/// struct Quartic;
/// impl Density for Quartic {
///     fn dim(&self) -> usize { 1 }
///     fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
///         -x[0].powi(4) / 4.0
///     }
/// }
/// let s = GradientOf(&Quartic);
/// assert_eq!(s.component(0, &[2.0]), -8.0); // −x³
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GradientOf<'a, M>(pub &'a M);

impl<M: Density> ScoreField for GradientOf<'_, M> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        let zero = D::from(0.0);
        let mut xs = [Dual::new(zero, zero); MAX_DIM];
        for (j, v) in x.iter().enumerate() {
            xs[j] = Dual::new(*v, if i == j { D::from(1.0) } else { zero });
        }
        self.0.log_density(&xs[..x.len()]).eps
    }
}

/// `x` with `x_j` seeded: a dual number per coordinate.
fn seeded(x: &[f64], j: usize) -> [Dual64; MAX_DIM] {
    let mut xs = [Dual64::from(0.0); MAX_DIM];
    for (k, v) in x.iter().enumerate() {
        xs[k] = Dual64::new(*v, if k == j { 1.0 } else { 0.0 });
    }
    xs
}

/// The values `s_i(x)` and the exact Jacobian `J[i][j] = ∂_j s_i(x)`.
///
/// ```
/// use num_dual::DualNum;
/// use scorecheck::model::ScoreField;
/// use scorecheck::score::jacobian;
///
/// // s = (−x − y, x − y): a rotation added to −(x, y).
/// struct Swirl;
/// impl ScoreField for Swirl {
///     fn dim(&self) -> usize { 2 }
///     fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
///         if i == 0 { -x[0] - x[1] } else { x[0] - x[1] }
///     }
/// }
/// let (s, j) = jacobian(&Swirl, &[1.0, 2.0]);
/// assert_eq!(&s[..2], &[-3.0, -1.0]);
/// assert_eq!((j[0][1], j[1][0]), (-1.0, 1.0)); // ∂_y s_x ≠ ∂_x s_y: not a gradient
/// ```
pub fn jacobian<S: ScoreField>(s: &S, x: &[f64]) -> ([f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
    let d = x.len();
    let mut v = [0.0; MAX_DIM];
    let mut jac = [[0.0; MAX_DIM]; MAX_DIM];
    for j in 0..d {
        let xs = seeded(x, j);
        for (i, row) in jac.iter_mut().enumerate().take(d) {
            let r = s.component(i, &xs[..d]);
            v[i] = r.re;
            row[j] = r.eps;
        }
    }
    (v, jac)
}

/// The exact divergence `∇·s(x) = Σ_i ∂_i s_i(x)`.
///
/// ```
/// use scorecheck::model::{Density, ExprDensity, DensityKind};
/// use scorecheck::expr::Program;
/// use scorecheck::score::{GradientOf, divergence};
///
/// let vars = ["x".to_string(), "y".to_string()];
/// let m = ExprDensity {
///     program: Program::compile("-(x^2 + y^2)/2", &vars, &[]).unwrap(),
///     kind: DensityKind::Log,
///     dim: 2,
/// };
/// assert_eq!(divergence(&GradientOf(&m), &[0.3, -1.0]), -2.0); // Δ log q = −2
/// ```
pub fn divergence<S: ScoreField>(s: &S, x: &[f64]) -> f64 {
    values_and_divergence(s, x).1
}

/// `s(x)` and the exact `∇·s(x)` from one dual evaluation per component (`d` in all; the
/// full [`jacobian`] takes `d²`).
pub fn values_and_divergence<S: ScoreField>(s: &S, x: &[f64]) -> ([f64; MAX_DIM], f64) {
    let d = x.len();
    let mut v = [0.0; MAX_DIM];
    let mut div = 0.0;
    for (i, vi) in v.iter_mut().enumerate().take(d) {
        let r = s.component(i, &seeded(x, i)[..d]);
        *vi = r.re;
        div += r.eps;
    }
    (v, div)
}

/// The exact gradient of `log q` at `x`.
pub fn log_gradient<M: Density>(m: &M, x: &[f64]) -> [f64; MAX_DIM] {
    let d = x.len();
    let mut g = [0.0; MAX_DIM];
    for (i, gi) in g.iter_mut().enumerate().take(d) {
        *gi = m.log_density(&seeded(x, i)[..d]).eps;
    }
    g
}

// ---------------------------------------------------------------------------------------------
// Comparing two numbers
// ---------------------------------------------------------------------------------------------

/// `(|a − b|, relative difference, agree?)`; `None` for agree when both are NaN.
fn compare(a: f64, b: f64, tol: Tolerance) -> (f64, f64, Option<bool>) {
    if a.is_nan() && b.is_nan() {
        return (f64::NAN, f64::NAN, None);
    }
    if a == b {
        return (0.0, 0.0, Some(true));
    }
    if !a.is_finite() || !b.is_finite() {
        return (f64::INFINITY, f64::INFINITY, Some(false));
    }
    let abs = (a - b).abs();
    let m = a.abs().max(b.abs());
    (abs, abs / m, Some(abs <= tol.atol + tol.rtol * m))
}

/// One quantity compared over the points, as it is being accumulated.
struct Acc {
    out: Discrepancy,
    /// `(NaN or ∞ on one side, log of the weighted difference)` of `worst`.
    worst_key: (bool, f64),
}

impl Acc {
    fn new(check: String, a: String, b: String) -> Acc {
        Acc {
            out: Discrepancy {
                check,
                a,
                b,
                compared: 0,
                disagreeing: 0,
                both_nan: 0,
                disagreeing_negligible: 0,
                max_abs: None,
                max_rel: None,
                max_weighted: None,
                worst: None,
                verdict: Agreement::Undecided,
            },
            worst_key: (false, f64::NEG_INFINITY),
        }
    }

    fn add(&mut self, pt: &EvalPoint, a: f64, b: f64, tol: Tolerance) {
        let (abs, rel, ok) = compare(a, b, tol);
        let o = &mut self.out;
        if !pt.used {
            if ok == Some(false) {
                o.disagreeing_negligible += 1;
            }
            return;
        }
        let Some(ok) = ok else {
            o.both_nan += 1;
            return;
        };
        o.compared += 1;
        let weighted = if abs == 0.0 {
            0.0
        } else {
            pt.log_p.exp() * abs
        };
        let sample = || Sample {
            at: pt.x.clone(),
            kind: pt.kind,
            log_p: pt.log_p,
            a,
            b,
            abs,
            rel,
            weighted,
        };
        if o.max_abs.as_ref().is_none_or(|s| abs > s.abs) {
            o.max_abs = Some(sample());
        }
        if o.max_rel.as_ref().is_none_or(|s| rel > s.rel) {
            o.max_rel = Some(sample());
        }
        let is_heavier =
            |s: &Sample| weighted > s.weighted || (weighted == s.weighted && pt.log_p > s.log_p);
        if o.max_weighted.as_ref().is_none_or(is_heavier) {
            o.max_weighted = Some(sample());
        }
        if !ok {
            o.disagreeing += 1;
            let key = (abs.is_infinite(), pt.log_p + abs.ln());
            let key = if key.0 { (true, pt.log_p) } else { key };
            if o.worst.is_none() || key > self.worst_key {
                self.worst_key = key;
                o.worst = Some(sample());
            }
        }
    }

    fn finish(mut self) -> Discrepancy {
        self.out.verdict = if self.out.disagreeing > 0 {
            Agreement::Disagrees
        } else if self.out.compared == 0 {
            Agreement::Undecided
        } else {
            Agreement::Agrees
        };
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
// The points
// ---------------------------------------------------------------------------------------------

/// Radical inverse of `k` in base `b`: the `k`-th element of the van der Corput sequence.
fn radical_inverse(mut k: u64, base: u64) -> f64 {
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
fn truncated_logistic(u: f64, lo: f64, hi: f64) -> f64 {
    let cdf = |t: f64| 1.0 / (1.0 + (-t).exp());
    let (fl, fh) = (cdf(lo), cdf(hi));
    let q = fl + u * (fh - fl);
    let t = (q / (1.0 - q)).ln();
    t.clamp(lo, hi)
}

/// A point to check.
struct EvalPoint {
    x: Vec<f64>,
    kind: PointKind,
    label: String,
    log_p: f64,
    used: bool,
}

fn axis_name(vars: &[String], i: usize) -> String {
    vars.get(i)
        .cloned()
        .unwrap_or_else(|| format!("x{}", i + 1))
}

/// The points: bulk, modes, tails and edges (log densities not yet filled in).
fn point_set(loc: &Located, domain: &[(f64, f64)], n: usize, vars: &[String]) -> Vec<EvalPoint> {
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
// The checks
// ---------------------------------------------------------------------------------------------

/// A part of a check that was not given; a placeholder type for [`ScoreCheck`]. Its trait
/// methods are never called.
#[derive(Clone, Copy, Debug, Default)]
pub struct Absent;

impl Density for Absent {
    fn dim(&self) -> usize {
        0
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, _x: &[D]) -> D {
        unreachable!("an absent log-model is never evaluated")
    }
}

impl ScoreField for Absent {
    fn dim(&self) -> usize {
        0
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, _i: usize, _x: &[D]) -> D {
        unreachable!("an absent field is never evaluated")
    }
}

impl ScalarFunction for Absent {
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, _x: &[D]) -> D {
        unreachable!("an absent divergence is never evaluated")
    }
}

/// A score check being put together: the density `p`, its domain, and any of a hand-written
/// field, a log-model and a hand-written divergence.
///
/// * field and log-model: each `s_i` against the exact `∂_i log_model`;
/// * field alone: whether `s` is a gradient field (symmetric Jacobian);
/// * divergence: against the exact `∇·s` of the field, or of `∇ log_model` without a field.
///
/// ```
/// use scorecheck::check::CaseInfo;
/// use scorecheck::expr::Program;
/// use scorecheck::model::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::score::{Agreement, ScoreCheck, ScoreOptions};
///
/// let vars = vec!["x".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2-1)^2/4"), kind: DensityKind::Log, dim: 1 };
/// // The score of the double well is −(x² − 1)x; forgetting the chain rule drops the x.
/// let field = ExprField::Components(vec![compile("-(x^2-1)")]);
/// let div = compile("-(3*x^2-1)"); // right for the right field
/// let info = CaseInfo { name: "well".into(), vars: vars.clone(), ..Default::default() };
/// let r = ScoreCheck::new(&p, &[(f64::NEG_INFINITY, f64::INFINITY)])
///     .field(&field)
///     .log_model(&p)
///     .divergence(&div)
///     .run(&info, &ScoreOptions::default())
///     .unwrap();
/// assert_eq!(r.verdict.field, Some(Agreement::Disagrees));
/// // ∇·s is taken of the hand-written field −(x² − 1), whose derivative is −2x.
/// assert_eq!(r.verdict.divergence, Some(Agreement::Disagrees));
/// ```
pub struct ScoreCheck<'a, P, S = Absent, M = Absent, V = Absent> {
    p: &'a P,
    domain: &'a [(f64, f64)],
    field: Option<&'a S>,
    log_model: Option<&'a M>,
    divergence: Option<&'a V>,
}

impl<'a, P: Density> ScoreCheck<'a, P> {
    /// Start a check of hand-written parts against the density `p` on the box `domain`.
    pub fn new(p: &'a P, domain: &'a [(f64, f64)]) -> Self {
        ScoreCheck {
            p,
            domain,
            field: None,
            log_model: None,
            divergence: None,
        }
    }
}

impl<'a, P: Density, S: ScoreField, M: Density, V: ScalarFunction> ScoreCheck<'a, P, S, M, V> {
    /// The hand-written field `s`.
    pub fn field<S2: ScoreField>(self, field: &'a S2) -> ScoreCheck<'a, P, S2, M, V> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: Some(field),
            log_model: self.log_model,
            divergence: self.divergence,
        }
    }

    /// The log-model whose exact gradient the field should be.
    pub fn log_model<M2: Density>(self, log_model: &'a M2) -> ScoreCheck<'a, P, S, M2, V> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: self.field,
            log_model: Some(log_model),
            divergence: self.divergence,
        }
    }

    /// The hand-written divergence `∇·s`.
    pub fn divergence<V2: ScalarFunction>(self, div: &'a V2) -> ScoreCheck<'a, P, S, M, V2> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: self.field,
            log_model: self.log_model,
            divergence: Some(div),
        }
    }

    /// Run the checks.
    pub fn run(&self, info: &CaseInfo, opts: &ScoreOptions) -> Result<ScoreReport, ScoreError> {
        check_score(
            self.p,
            self.field,
            self.log_model,
            self.divergence,
            self.domain,
            info,
            opts,
        )
    }
}

/// Every score check in one call, with the parts that are given; [`ScoreCheck`] is the same
/// with a builder, and [`compare_score`] and [`gradient_check`] are the common cases.
///
/// A `None` part needs its type named; [`Absent`] serves:
///
/// ```
/// use scorecheck::check::CaseInfo;
/// use scorecheck::expr::Program;
/// use scorecheck::model::{DensityKind, ExprDensity};
/// use scorecheck::score::{Absent, Agreement, ScoreOptions, check_score};
///
/// let vars = vec!["x".to_string(), "y".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2+y^2)/2"), kind: DensityKind::Log, dim: 2 };
/// let div = compile("-1"); // ∇·∇log p = −2: one term forgotten
/// let info = CaseInfo { name: "div".into(), vars: vars.clone(), ..Default::default() };
/// let r = check_score(&p, None::<&Absent>, Some(&p), Some(&div),
///     &[(f64::NEG_INFINITY, f64::INFINITY); 2], &info, &ScoreOptions::default()).unwrap();
/// assert_eq!(r.verdict.divergence, Some(Agreement::Disagrees));
/// assert_eq!(r.verdict.field, None); // no hand-written field to compare
/// ```
pub fn check_score<P: Density, S: ScoreField, M: Density, V: ScalarFunction>(
    p: &P,
    field: Option<&S>,
    log_model: Option<&M>,
    divergence: Option<&V>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    opts.validate()?;
    let d = domain.len();
    let dims = [
        ("density", Some(p.dim())),
        ("field", field.map(|f| f.dim())),
        ("log-model", log_model.map(|m| m.dim())),
    ];
    for (what, got) in dims {
        if let Some(got) = got.filter(|g| *g != d) {
            return Err(ScoreError::Dimension {
                what,
                got,
                expected: d,
            });
        }
    }
    match (field, log_model) {
        (None, _) if divergence.is_none() => Err(ScoreError::NothingToCheck),
        (None, None) => Err(ScoreError::DivergenceOfNothing),
        (Some(f), m) => run_checks(p, f, true, m, divergence, domain, info, opts),
        (None, Some(m)) => run_checks(
            p,
            &GradientOf(m),
            false,
            Some(m),
            divergence,
            domain,
            info,
            opts,
        ),
    }
}

/// Compare a hand-written field with the exact gradient of a log-model, over where `p` has
/// its mass. See [`ScoreCheck`] for a hand-written divergence too.
///
/// ```
/// use scorecheck::check::CaseInfo;
/// use scorecheck::expr::Program;
/// use scorecheck::model::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::score::{ScoreOptions, compare_score};
///
/// let vars = vec!["x".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x-1)^2/2"), kind: DensityKind::Log, dim: 1 };
/// // A log-model off by a constant has the same score: this passes.
/// let model = ExprDensity { program: compile("-(x-1)^2/2 + 3.7"), kind: DensityKind::Log, dim: 1 };
/// let field = ExprField::Components(vec![compile("-(x-1)")]);
/// let info = CaseInfo { name: "shift".into(), vars: vars.clone(), ..Default::default() };
/// let r = compare_score(&p, &field, &model, &[(f64::NEG_INFINITY, f64::INFINITY)], &info,
///     &ScoreOptions::default()).unwrap();
/// assert_eq!(r.exit_code(), 0);
/// ```
pub fn compare_score<P: Density, S: ScoreField, M: Density>(
    p: &P,
    field: &S,
    log_model: &M,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    ScoreCheck::new(p, domain)
        .field(field)
        .log_model(log_model)
        .run(info, opts)
}

/// Check that a hand-written field is a gradient field — its Jacobian symmetric, weighted by
/// `p` — as every score `∇ log q` is. A 1-D field always is.
///
/// ```
/// use scorecheck::check::CaseInfo;
/// use scorecheck::expr::Program;
/// use scorecheck::model::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::score::{GradientVerdict, ScoreOptions, gradient_check};
///
/// let vars = vec!["x".to_string(), "y".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2+y^2)/2"), kind: DensityKind::Log, dim: 2 };
/// let swirl = ExprField::Components(vec![compile("-x - y"), compile("x - y")]);
/// let info = CaseInfo { name: "swirl".into(), vars: vars.clone(), ..Default::default() };
/// let dom = [(f64::NEG_INFINITY, f64::INFINITY); 2];
/// let r = gradient_check(&p, &swirl, &dom, &info, &Default::default()).unwrap();
/// assert_eq!(r.verdict.gradient, Some(GradientVerdict::NotGradient));
/// assert_eq!(r.gradient[0].worst.as_ref().unwrap().abs, 2.0); // ∂_y s_x − ∂_x s_y = −2
/// ```
pub fn gradient_check<P: Density, S: ScoreField>(
    p: &P,
    field: &S,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    ScoreCheck::new(p, domain).field(field).run(info, opts)
}

/// The first discrepancy of a group that disagrees.
fn first_worst(ds: &[Discrepancy]) -> Option<&Discrepancy> {
    ds.iter().find(|d| d.verdict == Agreement::Disagrees)
}

#[allow(clippy::too_many_arguments)]
fn run_checks<P: Density, S: ScoreField, M: Density, V: ScalarFunction>(
    p: &P,
    field: &S,
    hand_field: bool,
    log_model: Option<&M>,
    div: Option<&V>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    let d = domain.len();
    let vars: Vec<String> = (0..d).map(|i| axis_name(&info.vars, i)).collect();
    let tol = Tolerance {
        rtol: opts.rtol,
        atol: opts.atol,
    };
    let loc = locate(p, domain).map_err(|e| match e {
        LocateError::NowhereFinite => ScoreError::DensityNowhere,
        LocateError::Undefined(at) => ScoreError::DensityUndefined { at },
        LocateError::NoDecay => ScoreError::NotIntegrable,
    })?;
    let mut pts = point_set(&loc, domain, opts.points, &vars);
    let mut counts = PointCounts::default();
    let mut log_max = loc.log_max;
    for pt in &mut pts {
        pt.log_p = p.log_density(&pt.x);
        if pt.log_p.is_finite() {
            log_max = log_max.max(pt.log_p);
        }
        match pt.kind {
            PointKind::Bulk => counts.bulk += 1,
            PointKind::Mode => counts.modes += 1,
            PointKind::Tail => counts.tails += 1,
            PointKind::Edge => counts.edges += 1,
        }
    }
    for pt in &mut pts {
        if pt.log_p.is_nan() {
            counts.undefined_density += 1;
            continue;
        }
        pt.log_p -= log_max;
        pt.used = pt.log_p >= NEGLIGIBLE_LOG;
        if pt.used {
            counts.used += 1;
        } else {
            counts.negligible += 1;
        }
    }

    // Accumulators.
    let comp_name = |i: usize| format!("s_{}", vars[i]);
    let mut field_acc: Vec<Acc> = match (hand_field, log_model) {
        (true, Some(_)) => (0..d)
            .map(|i| {
                Acc::new(
                    comp_name(i),
                    format!("{} (hand-written)", comp_name(i)),
                    format!("∂_{} log_model (exact)", vars[i]),
                )
            })
            .collect(),
        _ => vec![],
    };
    let of_what = if hand_field { "∇·s" } else { "Δ log_model" };
    let mut div_acc = div.map(|_| {
        Acc::new(
            "∇·s".into(),
            "∇·s (hand-written)".into(),
            format!("{of_what} (exact)"),
        )
    });
    let mut pairs: Vec<(usize, usize, Acc)> = vec![];
    if hand_field {
        for i in 0..d {
            for j in (i + 1)..d {
                let a = format!("∂_{} s_{}", vars[j], vars[i]);
                let b = format!("∂_{} s_{}", vars[i], vars[j]);
                pairs.push((i, j, Acc::new(format!("{a} − {b}"), a, b)));
            }
        }
    }

    for pt in &pts {
        if pt.log_p.is_nan() {
            continue;
        }
        let (s, jac) = jacobian(field, &pt.x);
        if let Some(m) = log_model
            && !field_acc.is_empty()
        {
            let g = log_gradient(m, &pt.x);
            for (i, acc) in field_acc.iter_mut().enumerate() {
                acc.add(pt, s[i], g[i], tol);
            }
        }
        if let (Some(v), Some(acc)) = (div, div_acc.as_mut()) {
            let exact: f64 = (0..d).map(|i| jac[i][i]).sum();
            acc.add(pt, v.value(&pt.x), exact, tol);
        }
        for (i, j, acc) in &mut pairs {
            acc.add(pt, jac[*i][*j], jac[*j][*i], tol);
        }
    }

    let field_res: Vec<Discrepancy> = field_acc.into_iter().map(Acc::finish).collect();
    let div_res = div_acc.map(Acc::finish);
    let pair_ij: Vec<(usize, usize)> = pairs.iter().map(|(i, j, _)| (*i, *j)).collect();
    let grad_res: Vec<Discrepancy> = pairs.into_iter().map(|(_, _, a)| a.finish()).collect();

    // Verdicts and explanations.
    let mut explanations = vec![];
    let mut notes = vec![];
    // The points every check of a group could compare (fewer than `used` if both sides
    // were NaN somewhere).
    let compared = |rs: &[Discrepancy]| rs.iter().map(|r| r.compared).min().unwrap_or(0);
    let field_verdict = (!field_res.is_empty()).then(|| {
        let v = combine(field_res.iter().map(|r| r.verdict));
        explanations.push(match v {
            Agreement::Agrees => format!(
                "field agrees: every s_i equals the exact ∂_i log_model to tolerance at all {} points where p has mass",
                compared(&field_res)
            ),
            Agreement::Disagrees => {
                let bad: Vec<&str> = field_res
                    .iter()
                    .filter(|r| r.verdict == Agreement::Disagrees)
                    .map(|r| r.check.as_str())
                    .collect();
                format!(
                    "field disagrees: {} {} not the exact gradient of log_model",
                    bad.join(", "),
                    if bad.len() == 1 { "is" } else { "are" }
                )
            }
            Agreement::Undecided => {
                "field undecided: s and ∇log_model are NaN at every point where p has mass".into()
            }
        });
        v
    });
    let div_verdict = div_res.as_ref().map(|r| {
        explanations.push(match r.verdict {
            Agreement::Agrees => format!(
                "divergence agrees: the hand-written ∇·s equals the exact {of_what} at all {} points compared",
                r.compared
            ),
            Agreement::Disagrees => format!(
                "divergence disagrees: the hand-written ∇·s is not the exact {of_what} (at {} of {} points)",
                r.disagreeing, r.compared
            ),
            Agreement::Undecided => "divergence undecided: both sides are NaN at every point where p has mass".into(),
        });
        r.verdict
    });
    let grad_verdict = hand_field.then(|| {
        if d == 1 {
            explanations.push(
                "gradient: a 1-D field is always a gradient (of its antiderivative)".into(),
            );
            return GradientVerdict::Gradient;
        }
        let v = combine(grad_res.iter().map(|r| r.verdict));
        explanations.push(match v {
            Agreement::Agrees => format!(
                "gradient: the Jacobian of s is symmetric at all {} points, as a score's must be",
                compared(&grad_res)
            ),
            Agreement::Disagrees => {
                let r = first_worst(&grad_res).expect("a disagreeing pair");
                format!(
                    "not a gradient: {} ≠ 0, so s is not ∇log q for any model q; the identity still holds for such a field, but it cannot be the score of any model",
                    r.check
                )
            }
            Agreement::Undecided => {
                "gradient undecided: the Jacobian is NaN at every point where p has mass".into()
            }
        });
        match v {
            Agreement::Agrees => GradientVerdict::Gradient,
            Agreement::Disagrees => GradientVerdict::NotGradient,
            Agreement::Undecided => GradientVerdict::Undecided,
        }
    });
    if hand_field && log_model.is_none() {
        notes.push(
            "no log_model: the field is only checked for being a gradient field; add `log_model` to compare it with a model's exact score".into(),
        );
    }
    for r in field_res.iter().chain(&div_res).chain(&grad_res) {
        if r.both_nan > 0 {
            notes.push(format!(
                "{}: both sides are NaN at {} points where p has mass; those points were not compared",
                r.check, r.both_nan
            ));
        }
        if r.disagreeing_negligible > 0 {
            notes.push(format!(
                "{}: also differs at {} points where p is negligible (log p/p_max < {NEGLIGIBLE_LOG}); these do not count",
                r.check, r.disagreeing_negligible
            ));
        }
    }
    if counts.undefined_density > 0 {
        notes.push(format!(
            "log p is NaN at {} points; they were skipped",
            counts.undefined_density
        ));
    }

    let counterexamples: Vec<Counterexample> = field_res
        .iter()
        .chain(&div_res)
        .chain(&grad_res)
        .filter_map(|r| {
            r.worst.as_ref().map(|w| Counterexample {
                check: r.check.clone(),
                a: r.a.clone(),
                b: r.b.clone(),
                sample: w.clone(),
            })
        })
        .collect();

    // Finite differences at the first counterexample, else the highest mode.
    let (fd_at, why) = match counterexamples.first() {
        Some(c) => (
            c.sample.at.clone(),
            format!("the counterexample of {}", c.check),
        ),
        // One width from the highest mode along every axis: at the mode itself the score
        // vanishes, which hides the error of a difference quotient.
        None => {
            let m = &loc.modes[0];
            let x = (0..d)
                .map(|i| {
                    let (a, b) = domain[i];
                    let up = m.x[i] + m.scale[i];
                    if up <= b {
                        up
                    } else {
                        (m.x[i] - m.scale[i]).max(a)
                    }
                })
                .collect();
            (x, "one width from the highest mode".to_string())
        }
    };
    // For a failing Jacobian pair, also its two entries.
    let mut entries: Vec<(usize, usize)> = (0..d).map(|i| (i, i)).collect();
    let pair_first = field_res.iter().chain(&div_res).all(|r| r.worst.is_none());
    if pair_first && let Some(k) = grad_res.iter().position(|r| r.worst.is_some()) {
        let (i, j) = pair_ij[k];
        entries.extend([(i, j), (j, i)]);
    }
    let finite_differences = (!opts.fd_steps.is_empty()).then(|| {
        finite_difference_table(
            field,
            log_model,
            &fd_at,
            why,
            domain,
            &vars,
            &entries,
            &opts.fd_steps,
        )
    });

    let tails = pts
        .iter()
        .filter(|p| matches!(p.kind, PointKind::Tail | PointKind::Edge))
        .map(|p| TailPoint {
            label: p.label.clone(),
            at: p.x.clone(),
            log_p: p.log_p,
            used: p.used,
        })
        .collect();

    Ok(ScoreReport {
        case: info.name.clone(),
        vars,
        params: info.params.clone(),
        domain: domain
            .iter()
            .map(|&(a, b)| [a.is_finite().then_some(a), b.is_finite().then_some(b)])
            .collect(),
        tolerance: tol,
        points: counts,
        modes: loc
            .modes
            .iter()
            .map(|m| ModeSummary {
                x: m.x.clone(),
                scale: m.scale.clone(),
            })
            .collect(),
        field: field_res,
        divergence: div_res,
        gradient: grad_res,
        finite_differences,
        tails,
        verdict: ScoreVerdict {
            field: field_verdict,
            divergence: div_verdict,
            gradient: grad_verdict,
        },
        counterexamples,
        explanations,
        notes,
    })
}

/// Disagrees if any disagrees, else undecided if any is, else agrees.
fn combine(vs: impl Iterator<Item = Agreement>) -> Agreement {
    let mut out = Agreement::Agrees;
    for v in vs {
        match v {
            Agreement::Disagrees => return Agreement::Disagrees,
            Agreement::Undecided => out = Agreement::Undecided,
            Agreement::Agrees => {}
        }
    }
    out
}

/// Exact derivatives against central differences at `x`: `∂_i log_model` for every `i`
/// (with a log-model), and `∂_j s_i` for every `(i, j)` in `entries`.
#[allow(clippy::too_many_arguments)]
fn finite_difference_table<S: ScoreField, M: Density>(
    field: &S,
    log_model: Option<&M>,
    x: &[f64],
    why: String,
    domain: &[(f64, f64)],
    vars: &[String],
    entries: &[(usize, usize)],
    steps: &[f64],
) -> FiniteDifferences {
    let d = x.len();
    let (_, jac) = jacobian(field, x);
    let mut rows = vec![];
    // Central differences of `f` along axis `j`.
    let row = |name: String, f: &dyn Fn(&[f64]) -> f64, j: usize, exact: f64| -> FdRow {
        let st: Vec<FdStep> = steps
            .iter()
            .map(|&h| {
                let (mut up, mut dn) = (x.to_vec(), x.to_vec());
                up[j] += h;
                dn[j] -= h;
                let inside = up[j] <= domain[j].1 && dn[j] >= domain[j].0;
                // Divide by the step actually taken: x ± h is rounded to the float grid.
                let value = if inside {
                    (f(&up) - f(&dn)) / (up[j] - dn[j])
                } else {
                    f64::NAN
                };
                FdStep {
                    h,
                    value,
                    error: (value - exact).abs(),
                    inside,
                }
            })
            .collect();
        let best_h = st
            .iter()
            .filter(|s| s.error.is_finite())
            .min_by(|a, b| a.error.total_cmp(&b.error))
            .map(|s| s.h);
        FdRow {
            derivative: name,
            exact,
            steps: st,
            best_h,
        }
    };
    if let Some(m) = log_model {
        let g = log_gradient(m, x);
        for i in 0..d {
            let name = format!("∂_{} log_model", vars[i]);
            rows.push(row(name, &|y: &[f64]| m.log_density(y), i, g[i]));
        }
    }
    for &(i, j) in entries {
        let name = format!("∂_{} s_{}", vars[j], vars[i]);
        rows.push(row(name, &|y: &[f64]| field.component(i, y), j, jac[i][j]));
    }
    FiniteDifferences {
        at: x.to_vec(),
        why,
        rows,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// A number with up to 8 significant digits, in exponent form when very large or small.
fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e7).contains(&a) {
        let mag = a.log10().floor() as i32;
        let decimals = (7 - mag).clamp(0, 11) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.7e}")
    }
}

/// `x = 0.5` or `(x, y) = (0.5, 1)`.
fn fmt_at(vars: &[String], x: &[f64]) -> String {
    if vars.len() == 1 {
        format!("{} = {}", vars[0], fmt_point(x))
    } else {
        format!("({}) = {}", vars.join(", "), fmt_point(x))
    }
}

/// A label without its parenthesised remark: `s_x (hand-written)` → `s_x`.
fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

fn kind_name(k: PointKind) -> &'static str {
    match k {
        PointKind::Bulk => "bulk point",
        PointKind::Mode => "mode",
        PointKind::Tail => "tail point",
        PointKind::Edge => "edge point",
    }
}

fn verdict_word(v: Agreement) -> &'static str {
    match v {
        Agreement::Agrees => "agree",
        Agreement::Disagrees => "DISAGREE",
        Agreement::Undecided => "undecided",
    }
}

impl ScoreReport {
    /// The process exit code: 0 every check agrees, 1 one disagrees (or the field is not a
    /// gradient), 3 one is undecided.
    pub fn exit_code(&self) -> u8 {
        let v = &self.verdict;
        let agreements = [v.field, v.divergence];
        if agreements.contains(&Some(Agreement::Disagrees))
            || v.gradient == Some(GradientVerdict::NotGradient)
        {
            1
        } else if agreements.contains(&Some(Agreement::Undecided))
            || v.gradient == Some(GradientVerdict::Undecided)
        {
            3
        } else {
            0
        }
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a score report always serializes")
    }

    /// One line per counterexample: `s_y at (x, y) = (…): s_y (hand-written) = … but ∂_y
    /// log_model (exact) = …`.
    pub fn counterexample_lines(&self) -> Vec<String> {
        self.counterexamples
            .iter()
            .map(|c| {
                let s = &c.sample;
                format!(
                    "{} at {}: {} = {} but {} = {}",
                    c.check,
                    fmt_at(&self.vars, &s.at),
                    c.a,
                    fmt_num(s.a),
                    c.b,
                    fmt_num(s.b)
                )
            })
            .collect()
    }

    /// Why the report is undecided (the explanations of the undecided verdicts).
    pub fn undecided_reasons(&self) -> Vec<String> {
        self.explanations
            .iter()
            .filter(|e| e.contains("undecided"))
            .cloned()
            .collect()
    }

    /// The text report.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        crate::report::header(
            &mut o,
            &format!("score check {}", self.case),
            &self.vars,
            &self.domain,
            &self.params,
        );
        let c = &self.points;
        let _ = writeln!(
            o,
            "points: {} in the bulk of p, {} mode{}, {} tail and {} edge points; {} where p has mass, {} negligible (log p/p_max < {NEGLIGIBLE_LOG})",
            c.bulk,
            c.modes,
            if c.modes == 1 { "" } else { "s" },
            c.tails,
            c.edges,
            c.used,
            c.negligible
        );
        let _ = writeln!(
            o,
            "tolerance: |a − b| ≤ {:e} + {:e}·max(|a|, |b|); derivatives exact (dual numbers)",
            self.tolerance.atol, self.tolerance.rtol
        );
        let sections: [(&str, Vec<&Discrepancy>); 3] = [
            (
                "hand-written field against the exact gradient of log_model:",
                self.field.iter().collect(),
            ),
            (
                "hand-written divergence against the exact divergence:",
                self.divergence.iter().collect(),
            ),
            (
                "is s a gradient field? (a score's Jacobian is symmetric):",
                self.gradient.iter().collect(),
            ),
        ];
        for (title, rows) in sections {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n{title}");
            for r in rows {
                self.render_discrepancy(&mut o, r);
            }
        }
        if let Some(fd) = &self.finite_differences {
            self.render_fd(&mut o, fd);
        }
        let used: Vec<&TailPoint> = self.tails.iter().filter(|t| t.used).collect();
        if !self.tails.is_empty() {
            let lowest = used.iter().map(|t| t.log_p).fold(f64::INFINITY, f64::min);
            let _ = writeln!(
                o,
                "\ntails: {} of {} tail and edge points carry mass and are checked{}",
                used.len(),
                self.tails.len(),
                if used.is_empty() {
                    String::new()
                } else {
                    format!(" (down to log p/p_max = {})", fmt_num(lowest))
                }
            );
        }
        let _ = writeln!(o);
        for e in &self.explanations {
            let _ = writeln!(o, "{e}");
        }
        if !self.counterexamples.is_empty() {
            let _ = writeln!(o, "counterexamples:");
            for (line, c) in self
                .counterexample_lines()
                .iter()
                .zip(&self.counterexamples)
            {
                let _ = writeln!(
                    o,
                    "  {line}  ({}, log p/p_max = {})",
                    kind_name(c.sample.kind),
                    fmt_num(c.sample.log_p)
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        let verdict = match self.exit_code() {
            0 => "verdict: agree",
            1 => "verdict: DISAGREE",
            _ => "verdict: undecided",
        };
        let _ = writeln!(o, "{verdict}");
        o
    }

    fn render_discrepancy(&self, o: &mut String, r: &Discrepancy) {
        let head = match r.verdict {
            Agreement::Disagrees => format!(
                "{} at {} of {} points",
                verdict_word(r.verdict),
                r.disagreeing,
                r.compared
            ),
            _ => format!("{} at all {} points", verdict_word(r.verdict), r.compared),
        };
        let _ = writeln!(o, "  {} vs {}: {head}", r.a, r.b);
        if r.verdict != Agreement::Disagrees {
            // Where they agree, the sizes of the differences are enough.
            if let (Some(a), Some(b)) = (&r.max_abs, &r.max_rel) {
                let _ = writeln!(
                    o,
                    "      max |a − b| = {}, max relative = {}",
                    fmt_num(a.abs),
                    fmt_num(b.rel)
                );
            }
            return;
        }
        let (sa, sb) = (short(&r.a), short(&r.b));
        let line = |o: &mut String, what: &str, v: f64, s: &Sample| {
            let _ = writeln!(
                o,
                "      {what:<20} {:<14} at {}  ({sa} = {}, {sb} = {})",
                fmt_num(v),
                fmt_at(&self.vars, &s.at),
                fmt_num(s.a),
                fmt_num(s.b)
            );
        };
        if let Some(s) = &r.max_abs {
            line(o, "max |a − b|", s.abs, s);
        }
        if let Some(s) = &r.max_rel {
            line(o, "max relative", s.rel, s);
        }
        if let Some(s) = &r.max_weighted {
            line(o, "max p/p_max·|a − b|", s.weighted, s);
        }
        if let Some(s) = &r.worst {
            let _ = writeln!(
                o,
                "      counterexample: at {} ({}, log p/p_max = {}): {} = {} but {} = {}",
                fmt_at(&self.vars, &s.at),
                kind_name(s.kind),
                fmt_num(s.log_p),
                r.a,
                fmt_num(s.a),
                r.b,
                fmt_num(s.b)
            );
        }
    }

    fn render_fd(&self, o: &mut String, fd: &FiniteDifferences) {
        let Some(first) = fd.rows.first() else {
            return;
        };
        let _ = writeln!(
            o,
            "\nexact derivatives against central differences (f(x+h) − f(x−h))/2h at {} ({}):",
            fmt_at(&self.vars, &fd.at),
            fd.why
        );
        let _ = write!(o, "  {:<18} {:>16}", "derivative", "exact");
        for s in &first.steps {
            let _ = write!(o, " {:>9}", format!("h={:.0e}", s.h));
        }
        let _ = writeln!(o, "   (error |fd − exact|)");
        for r in &fd.rows {
            let _ = write!(o, "  {:<18} {:>16}", r.derivative, fmt_num(r.exact));
            for s in &r.steps {
                let cell = if !s.inside {
                    "outside".to_string()
                } else if s.error == 0.0 {
                    "0".to_string()
                } else {
                    format!("{:.1e}", s.error)
                };
                let _ = write!(o, " {cell:>9}");
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(
            o,
            "  large h: truncation error ~h²·f'''/6; small h: rounding ~ε·|f|/h — the error curve is U-shaped and its best point is not known in advance; dual numbers give the derivative exactly, with no step"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JSON for non-finite numbers
// ---------------------------------------------------------------------------------------------

/// `f64` in JSON: finite numbers as numbers, the others as `"NaN"`, `"inf"`, `"-inf"`.
mod float {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum F {
            Num(f64),
            Text(String),
        }
        match F::deserialize(d)? {
            F::Num(v) => Ok(v),
            F::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(D::Error::custom(format!(
                    "expected a number, \"NaN\", \"inf\" or \"-inf\", got \"{other}\""
                ))),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn van_der_corput() {
        let v: Vec<f64> = (1..=4).map(|k| radical_inverse(k, 2)).collect();
        assert_eq!(v, [0.5, 0.25, 0.75, 0.125]);
        // 5 = 12 in base 3, mirrored: 0.21 = 2/3 + 1/9.
        assert!((radical_inverse(5, 3) - 7.0 / 9.0).abs() < 1e-15);
    }

    #[test]
    fn logistic_stays_in_its_interval() {
        for k in 1..200 {
            let u = radical_inverse(k, 2);
            let t = truncated_logistic(u, 0.0, f64::INFINITY);
            assert!(t >= 0.0 && t.is_finite(), "{u} -> {t}");
            let t = truncated_logistic(u, -2.0, 0.5);
            assert!((-2.0..=0.5).contains(&t));
        }
        // The median of the untruncated map is the centre.
        assert_eq!(
            truncated_logistic(0.5, f64::NEG_INFINITY, f64::INFINITY),
            0.0
        );
    }

    struct HalfLine;
    impl Density for HalfLine {
        fn dim(&self) -> usize {
            2
        }
        fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
            -(x[0] - 1.0).powi(2) * 0.5 - x[1] * x[1] * 0.5
        }
    }

    #[test]
    fn points_stay_in_the_domain() {
        let domain = [(0.0, f64::INFINITY), (-1.0, 100.0)];
        let loc = locate(&HalfLine, &domain).unwrap();
        let vars = ["x".to_string(), "y".to_string()];
        let pts = point_set(&loc, &domain, 500, &vars);
        let bulk = pts.iter().filter(|p| p.kind == PointKind::Bulk).count();
        assert_eq!(bulk, 500);
        for p in &pts {
            for (v, (a, b)) in p.x.iter().zip(domain) {
                assert!(*v >= a && *v <= b, "{:?} {}", p.x, p.label);
            }
        }
        // Mode (1, 0), widths 1: tails at x = 1 + 5, 1 + 10 (1 − 5 < 0 is outside) and
        // y = 5, 10 (−5, −10 are outside); edges x = 0, y = −1, y = 100.
        let tails: Vec<&str> = pts
            .iter()
            .filter(|p| p.kind != PointKind::Bulk && p.kind != PointKind::Mode)
            .map(|p| p.label.as_str())
            .collect();
        assert_eq!(
            tails,
            [
                "mode 1 + 5σ along x",
                "mode 1 + 10σ along x",
                "mode 1 at x = 0",
                "mode 1 + 5σ along y",
                "mode 1 + 10σ along y",
                "mode 1 at y = -1",
                "mode 1 at y = 100"
            ]
        );
        // About a quarter of the bulk points spread uniformly over the finite axis y, so about
        // 0.25·0.8·500 = 100 land above y = 20; the logistic map around the mode (scale 1.5)
        // puts one there with probability e^−13.
        let far = pts
            .iter()
            .filter(|p| p.kind == PointKind::Bulk && p.x[1] > 20.0)
            .count();
        assert!((60..140).contains(&far), "{far}");
    }

    #[test]
    fn comparisons() {
        let t = Tolerance {
            rtol: 1e-8,
            atol: 1e-10,
        };
        assert_eq!(compare(1.0, 1.0 + 1e-9, t).2, Some(true));
        assert_eq!(compare(1.0, 1.0 + 1e-7, t).2, Some(false));
        assert_eq!(compare(0.0, 1e-11, t).2, Some(true));
        assert_eq!(
            compare(f64::INFINITY, f64::INFINITY, t),
            (0.0, 0.0, Some(true))
        );
        assert_eq!(compare(f64::NAN, 1.0, t).2, Some(false));
        assert_eq!(compare(f64::NAN, f64::NAN, t).2, None);
        assert_eq!(compare(f64::INFINITY, 1.0, t).0, f64::INFINITY);
    }

    #[test]
    fn json_keeps_non_finite_numbers() {
        let s = Sample {
            at: vec![0.0],
            kind: PointKind::Mode,
            log_p: f64::NEG_INFINITY,
            a: f64::NAN,
            b: f64::INFINITY,
            abs: f64::INFINITY,
            rel: 0.5,
            weighted: 0.0,
        };
        let j = serde_json::to_string(&s).unwrap();
        assert!(
            j.contains("\"a\":\"NaN\"") && j.contains("\"log_p\":\"-inf\""),
            "{j}"
        );
        let back: Sample = serde_json::from_str(&j).unwrap();
        assert!(back.a.is_nan() && back.b == f64::INFINITY && back.rel == 0.5);
    }

    #[test]
    fn number_format() {
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(-1.25), "-1.25");
        assert_eq!(fmt_num(1.0 / 3.0), "0.33333333");
        assert_eq!(fmt_num(123.0), "123");
        assert_eq!(fmt_num(1e-9), "1.0000000e-9");
    }
}
