//! # scorecheck
//!
//! Check, with exact derivatives and honest quadrature, the integration-by-parts identity
//! behind score matching:
//!
//! ```text
//! E_p[½|s − ∇log p|²] = E_p[½|s|² + ∇·s] + ½E_p|∇log p|²   when  ∮ p s·n = 0.
//! ```
//!
//! A case is a density `p` (its log, or the pdf), a field `s` (hand-written, or the gradient
//! of a log-model) and a box domain. [`check_case`] computes the cross term both ways —
//! `∫⟨s, ∇p⟩` against `−∫p ∇·s` — with the boundary term, and the objectives, each with an
//! error estimate, and gives verdicts: a [`Report`], whose [`Outcome`] is holds, violated or
//! undecided.
//!
//! ```
//! use scorecheck::{Boundary, CheckOptions, Ibp, Outcome, check_case, parse_case};
//!
//! // Standard normal on the half-line (0, ∞) with s = −(x − 1): the boundary term
//! // −p(0)s(0) = −√(2/π) does not vanish.
//! let spec = parse_case(
//!     "domain = [[0, inf]]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-1)\"]\n",
//!     "half.toml",
//!     "half",
//! )
//! .unwrap();
//! let case = spec.compile(&[], false).unwrap();
//! let report = check_case(&case, &CheckOptions::default()).unwrap();
//! assert_eq!(report.verdict.ibp, Ibp::Holds);
//! assert_eq!(report.verdict.boundary, Boundary::Nonzero);
//! let b = report.cross.boundary.value.unwrap();
//! assert!((b + (2.0 / std::f64::consts::PI).sqrt()).abs() <= report.cross.boundary.error.unwrap());
//! assert_eq!(report.outcome(), Outcome::Violated);
//! println!("{}", report.to_text());
//! ```
//!
//! A model written in Rust implements [`Density`] and [`ScoreField`] (methods generic over
//! num-dual's `DualNum`, so one code path gives values and exact derivatives) and goes to
//! [`check`] or [`check_weighted`] directly; see [`Density`] for an example.
//!
//! ## What is here
//!
//! * **Cases**: [`parse_case`] / [`load_case_file`] give a [`CaseSpec`] (texts, and where each
//!   was given); [`CaseSpec::compile`] gives a [`Case`]. Bad input is a [`CaseError`] naming
//!   the file and line, or the [`CaseField`] and value, with a caret under a bad token.
//! * **Models**: the traits [`Density`], [`ScoreField`], [`ScalarFunction`]; the
//!   expression-backed [`ExprDensity`] and [`ExprField`] over a compiled [`Program`];
//!   [`eval_point`] gives a [`Point`] (values and exact derivatives).
//! * **Checks**: [`check_case`], [`check`], [`check_weighted`] with [`CheckOptions`] give a
//!   [`Report`] ([`Quantity`], [`Status`], [`Verdict`], …); [`score_case`] / [`check_score`]
//!   compare a hand-written score and divergence with exact derivatives ([`ScoreReport`]);
//!   [`explain`] walks the derivation with the report's numbers and [`prove`] runs a proof's
//!   claims on its gallery; [`sweep`] runs checks over a grid of parameters.
//! * **Estimators**: [`sample`] (inverse CDF, product, MALA), [`estimate`] (sample and sliced
//!   estimators against quadrature), [`dsm`] (denoising score matching), [`fisher`] (the same
//!   integration by parts in a simulator's parameter), with [`Agreement`] and [`McMean`].
//! * **Figures** (feature `plot`): the [`plot`] module.
//!
//! Every report's answer is an [`Outcome`]; a failed check is a result, not an error: `Err`
//! is for bad input (each area has its error type: [`CaseError`], [`CheckError`],
//! [`ScoreError`], …). The quadrature, the mode finding and the expression machine are
//! internal; the maths is in `proofs/`.
//!
//! ## The tree
//!
//! `expr/` the expression language (lex, parse, compile, eval, batch lanes, special
//! functions); `case/` case files and their compilation; `model/` the traits, the
//! expression-backed models and exact derivatives; `locate.rs` where the mass is; `frame.rs`
//! the principal axes the cubature turns to; `breaks.rs` kinks and jumps; `quad/` quadrature
//! (pieces, tanh-sinh, Genz–Malik cubature, sums); `check/` the identity checks (integrand,
//! boundary, divergence probes, normalizer, verdicts, confirmation); `report/` the report,
//! its text, Markdown and formatting; `outcome.rs` holds / violated / undecided; `score/`
//! hand-written scores; `stats.rs` Monte Carlo means, ESS, R̂; `estimators/` sample, estimate,
//! dsm, fisher; `teach/` explain and prove; `sweep.rs`; `plot/` one file per figure;
//! `output.rs` files written whole or not at all. The binary is `main.rs` and `cli/`.

mod breaks;
mod case;
mod check;
mod check_runs;
mod estimators;
mod expr;
mod frame;
mod locate;
mod model;
mod numbers;
mod option_error;
mod outcome;
mod output;
mod quad;
mod report;
mod score;
mod stats;
mod sweep;
mod teach;

// The estimators' crate paths (`crate::sample::…`), as the estimators and figures use them.
use estimators::sample;

// Figures: a module of its own, not flattened into the crate root, because its names (Kind,
// Format, Figure, render) read as figure vocabulary only under `plot::`.
#[cfg(feature = "plot")]
pub mod plot;

// The case: files, specs, compilation, constant expressions, errors.
pub use case::{
    Case, CaseError, CaseSpec, End, Field as CaseField, Src, check_flag_vars, check_interval,
    constant_of, load_case_file, parse_case, parse_interval, parse_interval_ends, parse_number,
    parse_param,
};
// The expression language.
pub use expr::{Arity, ExprError, FUNCTIONS, Program, free_symbols};
// The models.
pub use model::{
    Density, DensityKind, ExprDensity, ExprField, GradHess, MAX_DIM, Point, ScalarFunction,
    ScoreField, eval_point, eval_points,
};
// Where the mass is: its one public name is its error.
pub use locate::LocateError;
// The identity check and its report.
pub use check::{CaseInfo, CheckError, CheckOptions, check, check_weighted, default_tol};
pub use outcome::{Agreement, Outcome};
pub use report::{
    Boundary, Component, Cross, Explanations, Face, Flux, Ibp, Objective, ObjectiveVerdict,
    Quantity, Report, Status, Verdict, Weighted,
};
// Hand-written scores against exact derivatives.
pub use score::{
    Absent, Counterexample, Discrepancy, FdRow, FdStep, FiniteDifferences, GradientVerdict,
    ModeSummary, PointCounts, PointKind, Sample as ScoreSample, ScoreCheck, ScoreError,
    ScoreOptions, ScoreReport, ScoreVerdict, TailPoint, Tolerance as ScoreTolerance, check_score,
    compare_score, divergence, gradient_check,
};
// Exact derivatives of a field, and the gradient of a log-model as a field.
pub use score::{GradientOf, jacobian};
// Teaching.
pub use teach::explain::{Explanation, explain};
pub use teach::prove::{ProofRun, ProveError, prove};
// Sweeps.
pub use sweep::{
    Grid, ParamArg, PointError, Sweep, SweepError, SweepPoint, parse_param_arg,
    product as grid_points, run as sweep,
};
// The estimators.
pub use estimators::dsm::{
    DsmError, DsmOptions, DsmReport, Sweep as NoiseSweep, dsm, parse_sweep as parse_noise_sweep,
};
pub use estimators::estimate::{EstimateError, EstimateOptions, EstimateReport, Probe, estimate};
pub use estimators::fisher::{FisherError, FisherOptions, FisherReport, FisherSpec, fisher};
pub use estimators::sample::{
    Method as SampleMethod, SampleError, SampleOptions, Sampler, Samples, sample,
};
pub use stats::{McMean, RHAT_MAX};
// Files written whole or not at all.
pub use output::{OutputError, Pending};
// Option errors: a message naming option fields, which the binary shows as flags.
pub use option_error::{Opt, OptionError};
// The capped runs of the convergence figure, computed once from check's own API.
pub use check_runs::capped_runs;

/// Run `check` on a compiled case.
pub fn check_case(case: &Case, opts: &CheckOptions) -> Result<Report, CheckError> {
    let info = CaseInfo {
        name: case.name.clone(),
        vars: case.vars.clone(),
        params: case.params.clone(),
        weight: case.weight.as_ref().map(|w| w.source().to_string()),
    };
    let opts = CheckOptions {
        breaks: breaks::merge(&opts.breaks, &case.breaks, &case.domain),
        switches: case.switches(),
        field_switches: case.field_switches().len(),
        ..opts.clone()
    };
    let mut report = check_weighted(
        &case.density,
        &case.check_field(),
        case.weight.as_ref(),
        &case.domain,
        &info,
        &opts,
    )?;
    if case.field.is_some() && case.log_model.is_some() {
        report.notes.push(
            "the hand-written `field` is checked; `log_model` is not used when `field` is given"
                .into(),
        );
    }
    if case.divergence.is_some() {
        report.notes.push(
            "`divergence` is not used by `check`: its ∇·s comes from exact derivatives of the field".into(),
        );
    }
    Ok(report)
}

/// Run `score` on a compiled case: the hand-written `field` against the exact gradient of
/// `log_model`, the hand-written `divergence` against the exact `∇·s`, and, without a
/// log-model, whether the field is a gradient field.
///
/// ```
/// use scorecheck::{Agreement, Outcome, ScoreOptions, parse_case, score_case};
///
/// // The double well's score is −(x² − 1)x; this one drops the chain-rule factor x.
/// let spec = parse_case(
///     "[density]\nlog = \"-(x^2-1)^2/4\"\n[score]\nlog_model = \"-(x^2-1)^2/4\"\nfield = [\"-(x^2-1)\"]\n",
///     "well.toml",
///     "well",
/// )
/// .unwrap();
/// let case = spec.compile(&[], false).unwrap();
/// let report = score_case(&case, &ScoreOptions::default()).unwrap();
/// assert_eq!(report.verdict.field, Some(Agreement::Disagrees));
/// assert_eq!(report.outcome(), Outcome::Violated);
/// ```
pub fn score_case(case: &Case, opts: &ScoreOptions) -> Result<ScoreReport, ScoreError> {
    let info = CaseInfo {
        name: case.name.clone(),
        vars: case.vars.clone(),
        params: case.params.clone(),
        ..Default::default()
    };
    let log_model = case.log_model.as_ref().map(|m| ExprDensity {
        program: m.clone(),
        kind: DensityKind::Log,
        dim: case.vars.len(),
    });
    let mut report = check_score(
        &case.density,
        case.field.as_ref(),
        log_model.as_ref(),
        case.divergence.as_ref(),
        &case.domain,
        &info,
        opts,
    )?;
    if case.weight.is_some() {
        report
            .notes
            .push("`weight` is not used by `score`: scores do not depend on it".into());
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
