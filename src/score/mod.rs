//! Checking hand-written scores: a field `s` against the exact gradient of a log-model, a
//! hand-written divergence against the exact `∇·s`, and, without a log-model, whether `s` is
//! a gradient field at all — over the points where `p` has its mass.
//!
//! Every derivative here is exact (num-dual's [`Dual64`](num_dual::Dual64), nested for second derivatives of a
//! log-model); no step size is involved. Next to the exact values the report shows what
//! central finite differences would have given, so a reader can see why that matters.
//!
//! # Where the check looks
//!
//! [`locate`](crate::locate::locate) finds the modes of `p` and their widths `σ`. The points are
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
//! use scorecheck::CaseInfo;
//! use scorecheck::{Density, ScoreField};
//! use scorecheck::{Agreement, ScoreOptions, compare_score};
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
//!
//! # Where things are
//!
//! `options` (options, errors), `derivatives` (exact derivatives by dual numbers), `points`
//! (Halton points, tail points), `compare` (numbers within a tolerance), `check` (the checks
//! and the verdict), `fd` (the finite-difference table), `report` (the report types and their
//! JSON), `text` (the text rendering).

mod check;
mod compare;
mod derivatives;
mod fd;
mod options;
mod points;
mod report;
#[cfg(test)]
mod tests;
mod text;

pub use check::{Absent, ScoreCheck, check_score, compare_score, gradient_check};
pub use derivatives::{GradientOf, divergence, jacobian, values_and_divergence};
pub use options::{ScoreError, ScoreOptions};
pub use report::{
    Counterexample, Discrepancy, FdRow, FdStep, FiniteDifferences, GradientVerdict, ModeSummary,
    PointCounts, PointKind, Sample, ScoreReport, ScoreVerdict, TailPoint, Tolerance,
};

use crate::model::MAX_DIM;

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
