//! The pieces of an axis and their changes of variables: a finite piece as it is, a
//! half-infinite one mapped onto `u ∈ [0, 1)` at the scale of the nearby mode.

/// One axis piece of the domain with its change of variables `x(u)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Piece {
    /// `[lo, hi]`, both finite; `x = u`.
    Finite { lo: f64, hi: f64 },
    /// `[start, ∞)`; `x = start + scale·u/(1−u)`, `u ∈ [0, 1)`.
    Upper { start: f64, scale: f64 },
    /// `(−∞, end]`; `x = end − scale·u/(1−u)`, `u ∈ [0, 1)`.
    Lower { end: f64, scale: f64 },
}

impl Piece {
    /// The range of `u`.
    pub fn u_range(&self) -> (f64, f64) {
        match *self {
            Piece::Finite { lo, hi } => (lo, hi),
            _ => (0.0, 1.0),
        }
    }

    /// `x(u)` and `|dx/du|`.
    #[inline]
    pub fn map(&self, u: f64) -> (f64, f64) {
        match *self {
            Piece::Finite { .. } => (u, 1.0),
            Piece::Upper { start, scale } => {
                let v = 1.0 - u;
                (start + scale * u / v, scale / (v * v))
            }
            Piece::Lower { end, scale } => {
                let v = 1.0 - u;
                (end - scale * u / v, scale / (v * v))
            }
        }
    }

    /// `u(x)`, the inverse of [`Piece::map`], for `x` in the piece.
    #[inline]
    pub fn inverse(&self, x: f64) -> f64 {
        match *self {
            Piece::Finite { .. } => x,
            Piece::Upper { start, scale } => {
                let t = (x - start).max(0.0);
                t / (scale + t)
            }
            Piece::Lower { end, scale } => {
                let t = (end - x).max(0.0);
                t / (scale + t)
            }
        }
    }

    /// The ends of the piece in `x`.
    pub fn x_range(&self) -> (f64, f64) {
        match *self {
            Piece::Finite { lo, hi } => (lo, hi),
            Piece::Upper { start, .. } => (start, f64::INFINITY),
            Piece::Lower { end, .. } => (f64::NEG_INFINITY, end),
        }
    }

    /// A length scale for the piece (its width, or σ for an infinite one).
    pub fn scale(&self) -> f64 {
        match *self {
            Piece::Finite { lo, hi } => hi - lo,
            Piece::Upper { scale, .. } | Piece::Lower { scale, .. } => scale,
        }
    }
}
