//! The maths of single instructions, generic over the number type: integer powers, `abs`,
//! `%`, `atan2` with exact derivatives, `max`/`min`, and the one-argument functions.

use super::functions::Fun1;

use num_dual::DualNum;

use crate::expr::special;

/// `v^n` for an integer `n`. Squares and cubes are products (`powi` would call the
/// runtime's power function twice for a dual number); negative `n` is `(1/v)^|n|`.
#[inline(always)]
pub(super) fn powi<D: DualNum<Primitive = f64> + Copy>(v: D, n: i32) -> D {
    match n {
        2 => v * v,
        3 => v * v * v,
        n if n < 0 => v.recip().powi(-n),
        n => v.powi(n),
    }
}

/// `v` with its real part replaced by `re` (all derivative parts unchanged).
#[inline]
pub(super) fn with_re<D: DualNum<Primitive = f64> + Copy>(v: D, re: f64) -> D {
    v - D::from(v.re()) + D::from(re)
}

#[inline]
pub(super) fn abs<D: DualNum<Primitive = f64> + Copy>(v: D) -> D {
    if v.re() < 0.0 {
        -v
    } else {
        // `+ 0.0` turns a real part of -0.0 into +0.0, like f64::abs.
        v + 0.0
    }
}

/// `a - b*q` with `q = trunc(a/b)` held constant; the real part is exactly `re(a) % re(b)`.
#[inline]
pub(super) fn rem<D: DualNum<Primitive = f64> + Copy>(a: D, b: D) -> D {
    let (ar, br) = (a.re(), b.re());
    let r = ar % br;
    // (ar - r)/br is an integer in exact arithmetic; rounding recovers the quotient that
    // fmod used, even where ar/br itself rounds across an integer.
    let q = ((ar - r) / br).round();
    if q == 0.0 {
        return a;
    }
    with_re(a - b * q, r)
}

/// `atan2(y, x)` with exact derivatives in every quadrant.
///
/// Rotating `(x, y)` by minus the angle `t0` of the evaluation point gives
/// `atan2(y, x) = t0 + atan(num/den)` with `num = c*y - s*x` and `den = c*x + s*y`
/// (`c`, `s` proportional to `cos t0`, `sin t0`). This holds in a whole neighbourhood of the
/// point because `den > 0` there, so every derivative order is exact, and `num/den` is close
/// to 0 where `atan` is well conditioned.
#[inline]
pub(super) fn atan2<D: DualNum<Primitive = f64> + Copy>(y: D, x: D) -> D {
    let (yr, xr) = (y.re(), x.re());
    let t0 = yr.atan2(xr);
    let h = xr.abs().max(yr.abs());
    if !(h.is_finite() && h > 0.0) {
        // Origin, infinities, NaN: the value is still std's; derivatives are undefined.
        return y.atan2(x);
    }
    // Work with (x, y)/h so that neither tiny nor huge coordinates under- or overflow.
    let (c, s) = (xr / h, yr / h);
    let (xs, ys) = (x / h, y / h);
    let q = ((ys * c - xs * s) / (xs * c + ys * s)).atan();
    if !q.re().is_finite() {
        return y.atan2(x);
    }
    with_re(q, t0)
}

/// The argument with the largest (`greater = true`) or smallest real part; first wins ties,
/// NaNs lose unless all are NaN.
#[inline]
pub(super) fn pick<D: DualNum<Primitive = f64> + Copy>(args: &[D], greater: bool) -> D {
    let mut best = args[0];
    for &v in &args[1..] {
        let (vr, br) = (v.re(), best.re());
        let better = if greater { vr > br } else { vr < br };
        if better || (br.is_nan() && !vr.is_nan()) {
            best = v;
        }
    }
    best
}

#[inline]
pub(super) fn call1<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: D) -> D {
    match f {
        Fun1::Sqrt => v.sqrt(),
        Fun1::Exp => v.exp(),
        Fun1::Ln => v.ln(),
        Fun1::Abs => abs(v),
        Fun1::Sin => v.sin(),
        Fun1::Cos => v.cos(),
        Fun1::Tan => v.tan(),
        Fun1::Asin => v.asin(),
        Fun1::Acos => v.acos(),
        Fun1::Atan => v.atan(),
        Fun1::Sinh => v.sinh(),
        Fun1::Cosh => v.cosh(),
        Fun1::Tanh => v.tanh(),
        Fun1::Asinh => v.asinh(),
        Fun1::Acosh => v.acosh(),
        Fun1::Atanh => v.atanh(),
        Fun1::Floor => D::from(v.re().floor()),
        Fun1::Ceil => D::from(v.re().ceil()),
        Fun1::Round => D::from(v.re().round()),
        Fun1::Signum => D::from(v.re().signum()),
        _ => call_special(f, v),
    }
}

/// The functions added for statistics, kept out of line so that the hot dispatch of the
/// elementary operations stays as small as it was.
#[inline(never)]
pub(super) fn call_special<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: D) -> D {
    match f {
        Fun1::Log1p => v.ln_1p(),
        Fun1::Expm1 => v.exp_m1(),
        Fun1::Log2 => v.log2(),
        Fun1::Log10 => v.log10(),
        Fun1::Cbrt => v.cbrt(),
        Fun1::Erf => special::erf(v),
        Fun1::Erfc => special::erfc(v),
        Fun1::NormCdf => special::normcdf(v),
        Fun1::LogNormCdf => special::lognormcdf(v),
        Fun1::Gamma => special::gamma(v),
        Fun1::Lgamma => special::lgamma(v),
        Fun1::Softplus => special::softplus(v),
        Fun1::Sigmoid => special::sigmoid(v),
        Fun1::LogSigmoid => special::logsigmoid(v),
        _ => unreachable!("call_special: {f:?}"),
    }
}
