//! The options of `score` and its errors.

use super::FD_STEPS;
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
