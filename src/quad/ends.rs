//! How an integrand behaves at the ends of a piece: probes at decades of distance from an
//! end, whether the integral there diverges, and a bound on what lies beyond a rule's
//! outermost node.

use super::Piece;

/// How an integrand behaves at one end of a piece, from probes ever closer to the end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EndBehaviour {
    /// The integral near the end is finite; `bound` bounds what lies beyond the probes.
    Finite { bound: f64 },
    /// The integrand does not fall off fast enough: the integral is infinite.
    Diverges,
}

/// The probes of an end: `(r, x)` at decades of distance `r` from the piece's finite end
/// (infinite end) or from the end itself (finite end); they depend only on the piece. With
/// `keep_end`, probes that round onto the end are kept there (at a cut end, where `f` is
/// finite and flat at the scale of an ulp).
pub(super) fn probe_points_at(piece: &Piece, upper_end: bool, keep_end: bool) -> Vec<(f64, f64)> {
    let (lo, hi) = piece.x_range();
    let end = if upper_end { hi } else { lo };
    let sigma = piece.scale().abs().max(f64::MIN_POSITIVE);
    let mut out = Vec::with_capacity(31);
    for k in 0..=30 {
        let (r, x) = if end.is_infinite() {
            let origin = if upper_end { lo } else { hi };
            let r = sigma * 10f64.powi(k);
            (r, if upper_end { origin + r } else { origin - r })
        } else {
            // The first probe at half the width: at the full width it would sit on the
            // piece's other end, where the integrand may be singular.
            let r = sigma * if k == 0 { 0.5 } else { 10f64.powi(-k) };
            (r, if upper_end { end - r } else { end + r })
        };
        if (x == end && !keep_end) || !x.is_finite() {
            break;
        }
        out.push((r, x));
    }
    out
}

/// How `f` behaves at an end, from `m(r) = r·|f(x)|` at the probes of [`probe_points_at`].
/// For an infinite end `m(r)` is followed as `r → ∞`, for a finite end as `r → 0`. With
/// `m ~ r^(−g)` (infinite end) or `m ~ r^g` (finite end) the integral over the end converges
/// iff `g > 0`, and what lies beyond the distance `r_e` that the rule reaches is
/// `∫ m(r)/r dr = m(r_e)/g`, which we bound by twice that.
pub fn end_from_probes(m: &[f64]) -> EndBehaviour {
    // The tanh-sinh rule stops at t = ±3, 2.15e-14 short of the ends of [0, 1] in u; in x
    // that is about 4.7e13·σ out (infinite end) or 2.15e-14 of the width in (finite end).
    // Probes at decades; index 13 is on the safe side of that.
    end_from_probes_at(m, 13)
}

/// [`end_from_probes`] for a rule that reaches the probe of decade index `edge`.
pub(super) fn end_from_probes_at(m: &[f64], edge: usize) -> EndBehaviour {
    let n = m.len();
    if n < 6 {
        return EndBehaviour::Finite { bound: 0.0 };
    }
    // Divergence: the last finite probes do not fall off at all (to rounding). Where they
    // fall, but by less than 10% a decade, the integral may be finite or not (x^-0.96 at 0,
    // finite, and 1/(x·ln(1/x)), infinite, look alike over the decades a double reaches):
    // the bound below is then infinite, an honest "not converged", where a test of `≥ 0.9×`
    // called the finite ∫x^-0.96 diverging.
    let tail: Vec<f64> = m.iter().rev().take(5).copied().collect(); // farthest first
    if tail.iter().all(|v| v.is_finite() && *v > 0.0)
        && tail.windows(2).all(|w| w[0] >= (1.0 - 1e-9) * w[1])
    {
        return EndBehaviour::Diverges;
    }
    if tail.iter().any(|v| v.is_infinite()) {
        return EndBehaviour::Diverges;
    }
    // When the probes stop short of the edge (a finite end away from 0, where points
    // closer than an ulp fall on the end itself), the rule's nodes stop there too: what
    // it misses lies within the last probe's distance. The rate g is then taken over the
    // last three decades (the very last probes sit within a few ulps of the end, where
    // rounding of the point blurs a single decade's ratio).
    let (me, mn) = if n < edge + 2 {
        let span = (m[n - 4] / m[n - 1]).powf(1.0 / 3.0);
        (
            m[n - 1],
            if span.is_finite() && span > 0.0 {
                m[n - 1] / span
            } else {
                f64::NAN
            },
        )
    } else {
        (m[edge], m[edge + 1])
    };
    if !me.is_finite() {
        return EndBehaviour::Finite {
            bound: f64::INFINITY,
        };
    }
    if me == 0.0 {
        return EndBehaviour::Finite { bound: 0.0 };
    }
    let g = if mn.is_finite() && mn > 0.0 {
        (me / mn).log10()
    } else {
        f64::INFINITY
    };
    // (g ≤ 0.046: m falls by less than 10% a decade, see above.)
    if g > 0.046 {
        EndBehaviour::Finite {
            bound: 2.0 * me / g.min(50.0),
        }
    } else {
        EndBehaviour::Finite {
            bound: f64::INFINITY,
        }
    }
}

/// Decade index of the probe at a finite end just inside the reach of the extended rule
/// (`t = 5`: `2.5e-102` of the width for the half rule): the probes beyond [`probe_points_at`]'s
/// 30 decades, from [`deep_probe_points`].
pub(super) const DEEP_EDGE: usize = 101;

/// Probes at a finite end of a piece at decades 31 to 110 of distance from it, for the
/// extended rule's bound; they stop where the point can no longer be told from the end.
pub(super) fn deep_probe_points(piece: &Piece, upper_end: bool, keep_end: bool) -> Vec<(f64, f64)> {
    let (lo, hi) = piece.x_range();
    let end = if upper_end { hi } else { lo };
    let sigma = piece.scale().abs().max(f64::MIN_POSITIVE);
    let mut out = vec![];
    if end.is_infinite() {
        return out;
    }
    for k in 31..=110 {
        let r = sigma * 10f64.powi(-k);
        let x = if upper_end { end - r } else { end + r };
        if (x == end && !keep_end) || r == 0.0 {
            break;
        }
        out.push((r, x));
    }
    out
}
