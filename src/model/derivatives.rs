//! Exact derivatives of the models by dual numbers: the values at a point or a batch
//! ([`Point`]), Hessians (hyper-duals), and the gradient of a scalar function.

use super::{Density, MAX_DIM, ScalarFunction, ScoreField};
use crate::expr::LANES;
use num_dual::{Dual64, HyperDual64};

/// Everything the integrands need at one point, with exact derivatives.
#[derive(Clone, Copy, Debug, Default)]
pub struct Point {
    /// `log p̃(x)`.
    pub logp: f64,
    /// `∂_i log p̃(x)`.
    pub dlogp: [f64; MAX_DIM],
    /// `s_i(x)`.
    pub s: [f64; MAX_DIM],
    /// `∂_i s_i(x)`.
    pub ds: [f64; MAX_DIM],
}

/// Evaluate `log p̃`, `∇ log p̃`, `s` and the diagonal of `∂s` at `x` with dual numbers.
pub fn eval_point<P: Density, S: ScoreField>(p: &P, s: &S, x: &[f64]) -> Point {
    let d = x.len();
    let mut pt = Point::default();
    let mut xs = [Dual64::from(0.0); MAX_DIM];
    for i in 0..d {
        for j in 0..d {
            xs[j] = Dual64::new(x[j], if i == j { 1.0 } else { 0.0 });
        }
        let lp = p.log_density(&xs[..d]);
        pt.logp = lp.re;
        pt.dlogp[i] = lp.eps;
        let si = s.component(i, &xs[..d]);
        pt.s[i] = si.re;
        pt.ds[i] = si.eps;
    }
    pt
}

/// [`eval_point`] at `n` points at once: `xs[v * n + l]` is variable `v` at point `l`, and
/// `out[l]` receives point `l`'s values (the same numbers `eval_point` gives), through the
/// models' batch methods [`Density::log_density_points`] and [`ScoreField::field_points`].
pub fn eval_points<P: Density, S: ScoreField>(
    p: &P,
    s: &S,
    xs: &[f64],
    n: usize,
    out: &mut [Point],
) {
    if n == 0 {
        return;
    }
    p.log_density_points(xs, n, out);
    s.field_points(xs, n, out);
}

/// `log p̃`, its gradient and Hessian at `x` (for locating the modes).
pub fn log_density_hessian<P: Density>(
    p: &P,
    x: &[f64],
) -> (f64, [f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
    p.log_density_hessian(x)
}

/// [`Density::log_density_hessian`] by hyper-dual numbers (exact).
pub fn hessian_by_duals<P: Density>(
    p: &P,
    x: &[f64],
) -> (f64, [f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
    let d = x.len();
    let mut g = [0.0; MAX_DIM];
    let mut h = [[0.0; MAX_DIM]; MAX_DIM];
    let mut v = 0.0;
    let mut xs = [HyperDual64::from(0.0); MAX_DIM];
    for i in 0..d {
        for j in i..d {
            for k in 0..d {
                xs[k] = HyperDual64::new(
                    x[k],
                    if k == i { 1.0 } else { 0.0 },
                    if k == j { 1.0 } else { 0.0 },
                    0.0,
                );
            }
            let r = p.log_density(&xs[..d]);
            v = r.re;
            g[i] = r.eps1;
            g[j] = r.eps2;
            h[i][j] = r.eps1eps2;
            h[j][i] = r.eps1eps2;
        }
    }
    (v, g, h)
}

/// The value of `f` at `x` and its exact gradient.
pub fn value_gradient<F: ScalarFunction>(f: &F, x: &[f64]) -> (f64, [f64; MAX_DIM]) {
    let d = x.len();
    let mut g = [0.0; MAX_DIM];
    let mut v = 0.0;
    let mut xs = [Dual64::from(0.0); MAX_DIM];
    for (i, gi) in g.iter_mut().enumerate().take(d) {
        for (j, xj) in xs.iter_mut().enumerate().take(d) {
            *xj = Dual64::new(x[j], if i == j { 1.0 } else { 0.0 });
        }
        let r = f.value(&xs[..d]);
        v = r.re;
        *gi = r.eps;
    }
    (v, g)
}

/// Points `LANES` at a time seeded along direction `i`, each result stored by `put`.
pub(super) fn seeded_points(
    xs: &[f64],
    n: usize,
    i: usize,
    out: &mut [Point],
    eval: &mut impl FnMut(&[Dual64], usize, &mut [Dual64]),
    put: impl Fn(&mut Point, &Dual64),
) {
    let d = xs.len() / n;
    let mut dx = [Dual64::from(0.0); MAX_DIM * LANES];
    let mut res = [Dual64::from(0.0); LANES];
    let mut base = 0;
    while base < n {
        let m = (n - base).min(LANES);
        for v in 0..d {
            let seed = if v == i { 1.0 } else { 0.0 };
            for l in 0..m {
                dx[v * m + l] = Dual64::new(xs[v * n + base + l], seed);
            }
        }
        eval(&dx[..d * m], m, &mut res[..m]);
        for (pt, r) in out[base..base + m].iter_mut().zip(&res[..m]) {
            put(pt, r);
        }
        base += m;
    }
}
