//! Why a check could not be run: the input is unusable.

use crate::report::fmt_point;

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
