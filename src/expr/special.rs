//! Special functions of statistics for the expression language: values and exact derivatives
//! over any [`num_dual`] number type.
//!
//! Values come from [`libm`] (erf, erfc, lgamma, tgamma) and [`statrs`] (digamma); trigamma
//! and tetragamma (needed for the 2nd and 3rd derivatives of `lgamma`) are computed here by
//! the standard recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) + (−1)ⁿ⁺¹ n!/xⁿ⁺¹ up to x ≥ 10, the
//! asymptotic (Bernoulli) expansion there, and the reflection formula for x < 0.
//!
//! A function `f` of one argument is applied to a dual number `x = a + h` (`h` the
//! infinitesimal part) as its Taylor polynomial `f(a) + f'(a) h + f''(a) h²/2 + f'''(a) h³/6`
//! ([`taylor`]): since `h` is nilpotent of order `NDERIV + 1`, this is exact for every
//! num-dual type up to third derivatives (`Dual64`, `Dual2_64`, `DualVec`, `HyperDual64`,
//! nested `Dual<Dual64>` and `Dual<HyperDual64>`), and derivatives are computed only to the
//! order the type carries. Where a derivative is infinite or NaN (a pole of `lgamma`,
//! `gamma` past 171.6) the value of a dual evaluation is NaN too.
//!
//! Each function is evaluated stably where its naive formula is not: `softplus(800) = 800`,
//! `sigmoid` and `logsigmoid` with finite derivatives at ±800, `lognormcdf` accurate far in the
//! lower tail (`lognormcdf(−40) = −804.608…`) through the asymptotic series of Mills' ratio.

use num_dual::DualNum;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// 2/√π.
const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

/// `f(x)` from `f`'s value and derivatives at `re(x)`: `derivs(a, n)` returns
/// `[f(a), f'(a), f''(a), f'''(a)]`, of which the first `n + 1` are used (`n` is the highest
/// derivative order of `D`, at most 3).
#[inline]
pub fn taylor<D: DualNum<Primitive = f64> + Copy>(
    x: D,
    derivs: impl FnOnce(f64, usize) -> [f64; 4],
) -> D {
    let a = x.re();
    let n = D::NDERIV;
    debug_assert!(n <= 3, "special functions are exact to third derivatives");
    let d = derivs(a, n);
    if n == 0 || d[0].is_infinite() {
        // An infinite value (gamma past 171.6, lgamma at a pole) keeps its value; its
        // derivative parts are 0 (they are undefined there).
        return D::from(d[0]);
    }
    // h has real part exactly 0 and the derivative parts of x.
    let h = x - D::from(a);
    let mut r = h * d[1];
    if n >= 2 {
        let h2 = h * h;
        r += h2 * (0.5 * d[2]);
        if n >= 3 {
            r += h2 * h * (d[3] / 6.0);
        }
    }
    r + d[0]
}

/// The logistic function and its complement, `(σ(a), σ(−a))`, each without cancellation.
#[inline]
fn sigmoid_pair(a: f64) -> (f64, f64) {
    if a >= 0.0 {
        let e = (-a).exp();
        let s = 1.0 / (1.0 + e);
        (s, e * s)
    } else {
        let e = a.exp();
        let c = 1.0 / (1.0 + e);
        (e * c, c)
    }
}

/// ln(1 + eᵃ) in f64, stable for every `a`.
#[inline]
pub fn softplus_f64(a: f64) -> f64 {
    if a > 0.0 {
        a + (-a).exp().ln_1p()
    } else {
        a.exp().ln_1p()
    }
}

/// softplus(x) = ln(1 + eˣ); derivatives σ(x), σ(x)σ(−x), σσ̄(σ̄ − σ).
#[inline]
pub fn softplus<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, n| {
        let f0 = softplus_f64(a);
        if n == 0 {
            return [f0, 0.0, 0.0, 0.0];
        }
        let (s, c) = sigmoid_pair(a);
        [f0, s, s * c, s * c * (c - s)]
    })
}

/// σ(x) = 1/(1 + e⁻ˣ); derivatives σσ̄, σσ̄(σ̄ − σ), σσ̄(1 − 6σσ̄) (σ̄ = 1 − σ = σ(−x)).
#[inline]
pub fn sigmoid<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, _| {
        let (s, c) = sigmoid_pair(a);
        let sc = s * c;
        [s, sc, sc * (c - s), sc * (1.0 - 6.0 * sc)]
    })
}

/// ln σ(x) = −softplus(−x); derivatives σ̄, −σσ̄, −σσ̄(σ̄ − σ).
#[inline]
pub fn logsigmoid<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, _| {
        let (s, c) = sigmoid_pair(a);
        let sc = s * c;
        [-softplus_f64(-a), c, -sc, -sc * (c - s)]
    })
}

/// erf(x); derivatives (2/√π) e^{−x²} · (1, −2x, 4x² − 2).
#[inline]
pub fn erf<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, _| {
        let g = TWO_OVER_SQRT_PI * (-a * a).exp();
        [libm::erf(a), g, -2.0 * a * g, (4.0 * a * a - 2.0) * g]
    })
}

/// erfc(x) = 1 − erf(x) (values from libm, accurate in the upper tail).
#[inline]
pub fn erfc<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, _| {
        let g = TWO_OVER_SQRT_PI * (-a * a).exp();
        [libm::erfc(a), -g, 2.0 * a * g, -(4.0 * a * a - 2.0) * g]
    })
}

/// Φ(x), the standard normal CDF; derivatives φ(x) · (1, −x, x² − 1).
#[inline]
pub fn normcdf<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, _| {
        let phi = (-0.5 * a * a - LN_SQRT_2PI).exp();
        [
            0.5 * libm::erfc(-a * FRAC_1_SQRT_2),
            phi,
            -a * phi,
            (a * a - 1.0) * phi,
        ]
    })
}

/// Below this, `lognormcdf` uses the asymptotic series of Mills' ratio.
const LNCDF_TAIL: f64 = -10.0;

/// Terms of the asymptotic series (at t ≥ 10 the last is below 1e-19 of the first).
const MILLS_TERMS: usize = 30;

/// For t ≥ 10, with u = 1/t²: `S = t Φ(−t)/φ(t) = Σₖ cₖ uᵏ`, cₖ = (−1)ᵏ (2k−1)!!
/// (asymptotic; the terms fall while (2k−1)u < 1, far beyond the ones used), and the series
/// `T = t²(1 − S)` and `P = T(2 − S) − S²` whose leading terms cancel exactly in the
/// coefficients (P starts at 2u²), so that the derivatives of ln Φ below need no cancelling
/// subtraction of floating-point values.
fn mills_series(t: f64) -> (f64, f64, f64) {
    let mut c = [0.0f64; MILLS_TERMS + 1];
    c[0] = 1.0;
    for k in 1..=MILLS_TERMS {
        c[k] = -c[k - 1] * (2 * k - 1) as f64;
    }
    // T's coefficients: d_k = -c_{k+1}; (2 - S)'s: 1, then -c_j.
    let d = |k: usize| -c[k + 1];
    let two_minus_s = |j: usize| if j == 0 { 1.0 } else { -c[j] };
    let mut p = [0.0f64; MILLS_TERMS];
    for (k, pk) in p.iter_mut().enumerate() {
        let mut v = 0.0;
        for i in 0..=k {
            v += d(i) * two_minus_s(k - i) - c[i] * c[k - i];
        }
        *pk = v;
    }
    let u = 1.0 / (t * t);
    let horner = |coef: &mut dyn Iterator<Item = f64>| coef.fold(0.0, |acc, ck| acc * u + ck);
    let s = horner(&mut c.iter().rev().copied());
    let tt = horner(&mut (0..MILLS_TERMS).rev().map(d));
    let pp = horner(&mut p.iter().rev().copied());
    (s, tt, pp)
}

/// ln Φ(a) and its first three derivatives.
fn lognormcdf_derivs(a: f64, n: usize) -> [f64; 4] {
    if a < LNCDF_TAIL {
        // Φ(a) = φ(t) S/t with t = −a: ln Φ = −t²/2 − ln t − ln √(2π) + ln S;
        // m = (ln Φ)′ = φ/Φ = t/S; a + m = T/(tS); (ln Φ)″ = −m(a + m) = −T/S²;
        // (ln Φ)‴ = m[(a + m)(a + 2m) − 1] = tP/S³.
        let t = -a;
        let (s, tt, p) = mills_series(t);
        let f0 = -0.5 * t * t - t.ln() - LN_SQRT_2PI + s.ln();
        return [f0, t / s, -tt / (s * s), t * p / (s * s * s)];
    }
    let f0 = if a > 0.0 {
        (-0.5 * libm::erfc(a * FRAC_1_SQRT_2)).ln_1p()
    } else {
        (0.5 * libm::erfc(-a * FRAC_1_SQRT_2)).ln()
    };
    if n == 0 {
        return [f0, 0.0, 0.0, 0.0];
    }
    let m = (-0.5 * a * a - LN_SQRT_2PI - f0).exp();
    // (ln Φ)″ = −m(a + m), (ln Φ)‴ = −(ln Φ)″·(a + 2m) − m.
    let f2 = -m * (a + m);
    let f3 = -f2 * (a + 2.0 * m) - m;
    [f0, m, f2, f3]
}

/// ln Φ(x), accurate far into the lower tail (where Φ underflows).
#[inline]
pub fn lognormcdf<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, lognormcdf_derivs)
}

/// Bernoulli numbers B₂, B₄, …, B₁₆.
const BERNOULLI: [f64; 8] = [
    1.0 / 6.0,
    -1.0 / 30.0,
    1.0 / 42.0,
    -1.0 / 30.0,
    5.0 / 66.0,
    -691.0 / 2730.0,
    7.0 / 6.0,
    -3617.0 / 510.0,
];

/// Where the recurrences hand over to the asymptotic expansions.
const POLYGAMMA_ASYMPTOTIC: f64 = 10.0;

/// ψ(x) = Γ'(x)/Γ(x) (statrs).
pub fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}

/// ψ′(x) = Σₖ 1/(x + k)², the trigamma function.
///
/// x ≤ 0 integers are poles (+∞); x < 0 uses ψ′(x) = π²/sin²(πx) − ψ′(1 − x); x > 0 shifts up
/// with ψ′(x) = ψ′(x + 1) + 1/x² to x ≥ 10, where
/// ψ′(x) ≈ 1/x + 1/(2x²) + Σₖ B₂ₖ/x²ᵏ⁺¹ (truncation below 1e-17 relative).
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::INFINITY;
        }
        let s = (PI * x).sin();
        return PI * PI / (s * s) - trigamma(1.0 - x);
    }
    let (mut acc, mut z) = (0.0, x);
    while z < POLYGAMMA_ASYMPTOTIC {
        acc += 1.0 / (z * z);
        z += 1.0;
    }
    let r = 1.0 / z;
    let r2 = r * r;
    // Σ B₂ₖ r^{2k+1}, Horner in r².
    let mut series = 0.0;
    for &b in BERNOULLI.iter().rev() {
        series = series * r2 + b;
    }
    acc + r + 0.5 * r2 + series * r2 * r
}

/// ψ″(x) = −2 Σₖ 1/(x + k)³, the tetragamma function.
///
/// x ≤ 0 integers are poles (NaN: the sign depends on the side); x < 0 uses
/// ψ″(x) = ψ″(1 − x) − 2π³ cos(πx)/sin³(πx); x > 0 shifts up with ψ″(x) = ψ″(x + 1) − 2/x³
/// to x ≥ 10, where ψ″(x) ≈ −1/x² − 1/x³ − Σₖ (2k + 1) B₂ₖ/x²ᵏ⁺².
pub fn tetragamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        let (s, c) = (PI * x).sin_cos();
        return tetragamma(1.0 - x) - 2.0 * PI * PI * PI * c / (s * s * s);
    }
    let (mut acc, mut z) = (0.0, x);
    while z < POLYGAMMA_ASYMPTOTIC {
        acc -= 2.0 / (z * z * z);
        z += 1.0;
    }
    let r = 1.0 / z;
    let r2 = r * r;
    let mut series = 0.0;
    for (k, &b) in BERNOULLI.iter().enumerate().rev() {
        series = series * r2 + (2 * k + 3) as f64 * b;
    }
    acc - r2 - r2 * r - series * r2 * r2
}

/// ln|Γ(x)|; derivatives ψ, ψ′, ψ″.
#[inline]
pub fn lgamma<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, n| {
        let f0 = libm::lgamma_r(a).0;
        match n {
            0 => [f0, 0.0, 0.0, 0.0],
            1 => [f0, digamma(a), 0.0, 0.0],
            2 => [f0, digamma(a), trigamma(a), 0.0],
            _ => [f0, digamma(a), trigamma(a), tetragamma(a)],
        }
    })
}

/// Γ(x); derivatives Γψ, Γ(ψ² + ψ′), Γ(ψ³ + 3ψψ′ + ψ″).
#[inline]
pub fn gamma<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    taylor(x, |a, n| {
        let g = libm::tgamma(a);
        if n == 0 {
            return [g, 0.0, 0.0, 0.0];
        }
        let p = digamma(a);
        let p1 = if n >= 2 { trigamma(a) } else { 0.0 };
        let p2 = if n >= 3 { tetragamma(a) } else { 0.0 };
        [
            g,
            g * p,
            g * (p * p + p1),
            g * (p * p * p + 3.0 * p * p1 + p2),
        ]
    })
}

/// `v` with its real part replaced by `re` (derivative parts unchanged).
#[inline]
fn with_re<D: DualNum<Primitive = f64> + Copy>(v: D, re: f64) -> D {
    v - D::from(v.re()) + D::from(re)
}

/// √(a² + b²); the value is libm's `hypot` (no overflow or underflow). Derivatives are those
/// of `√(a² + b²)` for `1e-100 ≤ max(|a|, |b|) ≤ 1e100`, and of `m √((a/m)² + (b/m)²)` with
/// `m = max(|a|, |b|)` held constant outside that range (first derivatives stay exact there;
/// second derivatives, of size 1/m, under- or overflow in the intermediate 1/m² beyond about
/// 1e154 or below 1e-154). NaN derivatives at the origin.
#[inline]
pub fn hypot<D: DualNum<Primitive = f64> + Copy>(a: D, b: D) -> D {
    let (ar, br) = (a.re(), b.re());
    let v = libm::hypot(ar, br);
    let m = ar.abs().max(br.abs());
    if !(m.is_finite() && m > 0.0) || (1e-100..=1e100).contains(&m) {
        return with_re((a * a + b * b).sqrt(), v);
    }
    let (x, y) = (a / m, b / m);
    with_re((x * x + y * y).sqrt() * m, v)
}

/// ln(eᵃ + eᵇ) = max + softplus(min − max), exact for every argument size.
#[inline]
pub fn logaddexp<D: DualNum<Primitive = f64> + Copy>(a: D, b: D) -> D {
    let (hi, lo) = if a.re() >= b.re() || b.re().is_nan() {
        (a, b)
    } else {
        (b, a)
    };
    let (h, l) = (hi.re(), lo.re());
    if h.is_nan() || l.is_nan() {
        return hi + lo;
    }
    if h == f64::INFINITY || l == f64::NEG_INFINITY {
        // e^hi dominates (or e^lo is exactly 0).
        return hi;
    }
    hi + softplus(lo - hi)
}

/// ln Σ exp(aᵢ) over one or more arguments: the largest m plus ln(1 + Σ_{i≠m} exp(aᵢ − m)).
#[inline]
pub fn logsumexp<D: DualNum<Primitive = f64> + Copy>(args: &[D]) -> D {
    match args {
        [a] => *a,
        [a, b] => logaddexp(*a, *b),
        _ => {
            let mut k = 0;
            for (i, v) in args.iter().enumerate() {
                let (vr, br) = (v.re(), args[k].re());
                if vr > br || (br.is_nan() && !vr.is_nan()) {
                    k = i;
                }
            }
            let m = args[k];
            let mr = m.re();
            if mr.is_nan() {
                return m;
            }
            if mr.is_infinite() {
                // +inf dominates; all -inf gives -inf (exactly 0 mass).
                return m;
            }
            let mut sum = D::from(0.0);
            for (i, v) in args.iter().enumerate() {
                if i != k {
                    sum += (*v - m).exp();
                }
            }
            m + sum.ln_1p()
        }
    }
}
