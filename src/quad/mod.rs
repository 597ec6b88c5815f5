//! Quadrature over box domains with finite and infinite ends.
//!
//! The domain is cut, per axis, into [`Piece`]s at the places where the density has its
//! mass (its modes, found by [`crate::locate`]); each piece carries a change of variables
//! that maps it onto a finite interval of `u`:
//!
//! * a finite piece `[lo, hi]` is used as it is;
//! * a half-infinite piece `[start, ∞)` uses `x = start + σ·u/(1−u)`, `u ∈ [0, 1)`, and
//!   `(−∞, end]` its mirror image, with `σ` the width of the nearby mode.
//!
//! In one dimension all quantities are integrated together with a tanh-sinh rule
//! ([`integrate_1d_vec`]) whose error estimate compares the rule over each piece with the rule
//! over its halves, plus a bound on what the rule's truncation at the ends of each piece
//! leaves out (`ends.rs`). In two to four dimensions all quantities are integrated
//! together from shared evaluations with an adaptive Genz–Malik rule of degree 7 with an
//! embedded degree-5 rule ([`cubature()`]), which splits the region with the largest error
//! along the axis with the largest fourth difference.
//!
//! Bounds (issue 17): [`integrate_1d_vec`] evaluates 1217 points per piece, once (no
//! refinement loop); a [`cubature()`] ends when `max_evals` evaluations are spent or
//! [`max_regions`] regions ([`MEMORY_BUDGET`]) are stored (see [`cubature`](mod@cubature)).
//!
//! | file | what it holds |
//! | --- | --- |
//! | `piece.rs` | [`Piece`]: an axis piece and its map `x(u)` |
//! | `sum.rs` | [`Estimate`] (value, error, evaluations) and compensated sums |
//! | `ends.rs` | probes of an end: divergence, and the bound beyond the rule's last node |
//! | `tail.rs` | `power_tail`: the sliver at a singular end the doubles cannot approach |
//! | `tanh_sinh.rs` | the 1-D rule, [`integrate_1d_vec`], vector-valued |
//! | `cubature.rs` | the 2-D to 4-D rule, Genz–Malik, adaptive, with hidden-peak hints |

mod cubature;
mod ends;
mod piece;
mod sum;
mod tail;
mod tanh_sinh;

pub use cubature::{
    Branches, Cell, CubatureResult, MEMORY_BUDGET, VectorIntegrand, cubature, cubature_from,
    cubature_hinted, cubature_hinted_from, cubature_hinted_with, max_regions, pointwise,
};
pub use piece::Piece;
pub use sum::Estimate;
pub use tanh_sinh::{integrate_1d, integrate_1d_vec};
// The coarser levels of the rule, for the convergence figure.
#[cfg(feature = "plot")]
pub use tanh_sinh::{TANH_SINH_LEVELS, tanh_sinh_at_level};
