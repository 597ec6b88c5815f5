//! The options of `score` and its errors.

use super::FD_STEPS;
use crate::option_error::{Opt, OptionError};
use crate::report::fmt_point;

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
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// `log p̃` is −∞ or undefined at every point tried.
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
    /// The density does not decay towards an infinite end (∫ p̃ = ∞).
    #[error(
        "the density is not integrable on the domain (Z = ∫ p = ∞); restrict the domain or fix the density"
    )]
    NotIntegrable,
    /// Neither a field nor a divergence was given: nothing hand-written to check.
    #[error(
        "nothing hand-written to check: `score` compares a hand-written `field = [...]` (and an optional `divergence = \"...\"`) with exact derivatives of `log_model`; add a `field` to [score]"
    )]
    NothingToCheck,
    /// A divergence was given with neither a field nor a log-model to take `∇·s` of.
    #[error("a `divergence` needs a `field` or a `log_model` to compare with: add one to [score]")]
    DivergenceOfNothing,
    /// The parts have different numbers of variables.
    #[error("the {what} has {got} variables but the domain has {expected}")]
    Dimension {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    /// An option is out of range; the message names its field.
    #[error(transparent)]
    BadOption(#[from] OptionError),
}

/// The most points `score` checks (`--points`): each is a few hundred bytes and a few dual
/// evaluations, so a million take under a second and 300 MB at most.
pub const MAX_POINTS: usize = 1_000_000;

impl ScoreOptions {
    /// Check the options; the error names the flag-like field that is wrong.
    pub fn validate(&self) -> Result<(), ScoreError> {
        let bad = |o: Opt, m: String| Err(OptionError::new(o).text(m).into());
        if self.points == 0 {
            return bad(Opt::Points, " must be at least 1".into());
        }
        if self.points > MAX_POINTS {
            return bad(
                Opt::Points,
                format!(" must be at most {MAX_POINTS}, got {}", self.points),
            );
        }
        for (name, v) in [(Opt::Rtol, self.rtol), (Opt::Atol, self.atol)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, format!(" must be a finite number >= 0, got {v}"));
            }
        }
        if let Some(h) = self.fd_steps.iter().find(|h| !(h.is_finite() && **h > 0.0)) {
            return bad(Opt::FdSteps, format!(" must be positive, got {h}"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
