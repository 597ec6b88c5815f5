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
//! of a log-model) and a box domain. [`check::check`] computes the cross term both ways —
//! `∫⟨s, ∇p⟩` against `−∫p ∇·s` — with the boundary term, and the objectives, each with an
//! error estimate, and gives verdicts.
//!
//! ```
//! use scorecheck::case::parse_case;
//! use scorecheck::check::CheckOptions;
//! use scorecheck::report::{Boundary, Ibp};
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
//! let report = scorecheck::check_case(&case, &CheckOptions::default()).unwrap();
//! assert_eq!(report.verdict.ibp, Ibp::Holds);
//! assert_eq!(report.verdict.boundary, Boundary::Nonzero);
//! let b = report.cross.boundary.value.unwrap();
//! assert!((b + (2.0 / std::f64::consts::PI).sqrt()).abs() <= report.cross.boundary.error.unwrap());
//! assert_eq!(report.outcome(), scorecheck::Outcome::Violated);
//! ```
//!
//! Modules: [`expr`] the expression language; [`case`] case files and flags; [`model`]
//! the density and field traits with exact derivatives; [`locate`] where the mass is;
//! [`quad`] quadrature; [`check`] the identity checks; [`report`] the report and its
//! renderings; [`outcome`] holds / violated / undecided, the answer of every report;
//! [`teach`] the derivation walked for a case (`explain`) and the executable proofs (`prove`); [`score`] hand-written scores and divergences against exact derivatives;
//! [`plot`] figures (SVG/PNG); [`sweep`] checks over a grid of parameters, in parallel;
//! [`sample`] reproducible draws from `p` (inverse CDF, product, MALA) with effective sample
//! sizes; [`estimate`] sample and sliced estimators of the objective against quadrature;
//! [`dsm`] denoising score matching against the noised density's explicit objective;
//! [`fisher`] the same integration by parts in a simulator's parameter.

pub mod breaks;
pub mod case;
pub mod check;
pub mod check_runs;
pub mod estimators;
pub mod expr;
pub mod frame;
pub mod locate;
pub mod model;
pub mod numbers;
pub mod option_error;
pub mod outcome;
pub mod output;
#[cfg(feature = "plot")]
pub mod plot;
pub mod quad;
pub mod report;
pub mod score;
pub mod stats;

pub mod sweep;
pub mod teach;

pub use outcome::Outcome;
pub use teach::{explain, prove};

// The estimators' old paths, used by the binary.
pub use estimators::{dsm, estimate, fisher, sample};

use case::Case;
use check::{CaseInfo, CheckError, CheckOptions};
use report::Report;

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
        ..opts.clone()
    };
    let mut report = check::check_weighted(
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
/// use scorecheck::case::parse_case;
/// use scorecheck::score::{Agreement, ScoreOptions};
///
/// // The double well's score is −(x² − 1)x; this one drops the chain-rule factor x.
/// let spec = parse_case(
///     "[density]\nlog = \"-(x^2-1)^2/4\"\n[score]\nlog_model = \"-(x^2-1)^2/4\"\nfield = [\"-(x^2-1)\"]\n",
///     "well.toml",
///     "well",
/// )
/// .unwrap();
/// let case = spec.compile(&[], false).unwrap();
/// let report = scorecheck::score_case(&case, &ScoreOptions::default()).unwrap();
/// assert_eq!(report.verdict.field, Some(Agreement::Disagrees));
/// assert_eq!(report.outcome(), scorecheck::Outcome::Violated);
/// ```
pub fn score_case(
    case: &Case,
    opts: &score::ScoreOptions,
) -> Result<score::ScoreReport, score::ScoreError> {
    let info = CaseInfo {
        name: case.name.clone(),
        vars: case.vars.clone(),
        params: case.params.clone(),
        ..Default::default()
    };
    let log_model = case.log_model.as_ref().map(|m| model::ExprDensity {
        program: m.clone(),
        kind: model::DensityKind::Log,
        dim: case.vars.len(),
    });
    let mut report = score::check_score(
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
