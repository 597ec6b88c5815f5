//! Densities and score fields: the traits every check runs on, and their expression-backed
//! implementations.
//!
//! Both traits have methods generic over num-dual's [`DualNum`], so the same code gives
//! values (`f64`) and exact derivatives (`Dual64`, `Dual2_64`, `HyperDual64`, …). A Rust
//! model implements them directly; a case file's expressions implement them through
//! [`ExprDensity`] and [`ExprField`].
//!
//! ```
//! use num_dual::DualNum;
//! use scorecheck::{Density, ScoreField, eval_point};
//!
//! struct StdNormal;
//! impl Density for StdNormal {
//!     fn dim(&self) -> usize { 1 }
//!     fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
//!         -x[0] * x[0] * 0.5
//!     }
//! }
//! struct Linear;
//! impl ScoreField for Linear {
//!     fn dim(&self) -> usize { 1 }
//!     fn component<D: DualNum<Primitive = f64> + Copy>(&self, _i: usize, x: &[D]) -> D {
//!         -x[0] * 2.0
//!     }
//! }
//! let pt = eval_point(&StdNormal, &Linear, &[1.5]);
//! assert_eq!(pt.dlogp[0], -1.5); // ∂ log p = −x
//! assert_eq!(pt.s[0], -3.0);
//! assert_eq!(pt.ds[0], -2.0); // ∂ s = −2
//! ```
//!
//! | file | what it holds |
//! | --- | --- |
//! | `mod.rs` | the traits [`Density`], [`ScoreField`], [`ScalarFunction`]; [`MAX_DIM`] |
//! | `expr.rs` | the expression-backed models [`ExprDensity`], [`ExprField`] |
//! | `derivatives.rs` | [`Point`], [`eval_point`], [`eval_points`], Hessians, [`value_gradient`] |

mod derivatives;
mod expr;

pub use derivatives::{
    Point, eval_point, eval_points, hessian_by_duals, log_density_hessian, value_gradient,
};
pub use expr::{DensityKind, ExprDensity, ExprField};

use derivatives::seeded_points;
use num_dual::{Dual64, DualNum};

/// The largest dimension the checks support.
pub const MAX_DIM: usize = 4;

/// A gradient and a Hessian (of `log p̃` at a point).
pub type GradHess = ([f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]);

/// An unnormalized density, given by its logarithm.
pub trait Density: Sync {
    /// Number of variables.
    fn dim(&self) -> usize;
    /// `log p̃(x)` for an unnormalized density `p̃`. May be `−∞` where `p̃ = 0`.
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D;
    /// `log p̃` at `n` points: `xs[v * n + l]` is variable `v` at point `l`; `out[l]`
    /// receives the value at point `l`. The default calls [`Density::log_density`] per
    /// point; an implementation may do better (the expression evaluator does).
    fn log_density_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        per_point(xs, n, out, |x| self.log_density(x));
    }
    /// `log p̃` and `∇ log p̃` at `n` points (`xs[v * n + l]` is variable `v` at point `l`)
    /// into `out[l].logp` and `out[l].dlogp`: what the integrands need, in one call for the
    /// whole batch. The default runs [`Density::log_density_batch`] on dual numbers, one
    /// direction at a time; a model that supplies values and gradients by itself (a Python
    /// function with its gradient) overrides it to take the batch at once.
    /// Whether the model supplies values and derivatives by itself (overriding the batch
    /// and Hessian methods) rather than through dual numbers; wrappers such as
    /// `frame::InFrame` then pass derivatives through by the chain rule.
    fn supplies_derivatives(&self) -> bool {
        false
    }
    /// `log p̃`, its gradient and Hessian at `x` (for locating the modes). The default uses
    /// hyper-dual numbers through [`Density::log_density`]; a model that supplies gradients
    /// by itself overrides it (a Python density takes central differences of its gradient).
    fn log_density_hessian(&self, x: &[f64]) -> (f64, [f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM])
    where
        Self: Sized,
    {
        hessian_by_duals(self, x)
    }
    /// The gradient and Hessian of [`Density::log_density_hessian`] at `n` points (`xs[v * n + l]`
    /// is variable `v` at point `l`) into `out[l]`: locating the modes takes them for all its
    /// ascents at once. The default calls [`Density::log_density_hessian`] per point; a model
    /// that pays per call (a Python function) overrides it to take the batch at once.
    fn gradient_hessian_points(&self, xs: &[f64], n: usize, out: &mut [GradHess])
    where
        Self: Sized,
    {
        let d = xs.len().checked_div(n).unwrap_or(0);
        let mut x = [0.0; MAX_DIM];
        for (l, o) in out.iter_mut().enumerate().take(n) {
            for (v, xv) in x.iter_mut().enumerate().take(d) {
                *xv = xs[v * n + l];
            }
            let (_, g, h) = self.log_density_hessian(&x[..d]);
            *o = (g, h);
        }
    }
    fn log_density_points(&self, xs: &[f64], n: usize, out: &mut [Point])
    where
        Self: Sized,
    {
        let d = xs.len().checked_div(n).unwrap_or(0);
        for i in 0..d {
            let mut eval =
                |dx: &[Dual64], m: usize, res: &mut [Dual64]| self.log_density_batch(dx, m, res);
            seeded_points(xs, n, i, out, &mut eval, |pt, r| {
                pt.logp = r.re;
                pt.dlogp[i] = r.eps;
            });
        }
    }
}

/// A vector field `s(x)`, the candidate score.
pub trait ScoreField: Sync {
    /// Number of variables (and components).
    fn dim(&self) -> usize;
    /// Component `i` of `s(x)`.
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D;
    /// Component `i` at `n` points, laid out as in [`Density::log_density_batch`].
    fn component_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        i: usize,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        per_point(xs, n, out, |x| self.component(i, x));
    }
    /// `s_i` and `∂_i s_i` at `n` points laid out as in [`Density::log_density_points`] into
    /// `out[l].s` and `out[l].ds`. The default runs [`ScoreField::component_batch`] on dual
    /// numbers; a model that supplies values and the Jacobian's diagonal overrides it.
    fn field_points(&self, xs: &[f64], n: usize, out: &mut [Point])
    where
        Self: Sized,
    {
        let d = xs.len().checked_div(n).unwrap_or(0);
        for i in 0..d {
            // Only direction i is needed for component i: ∂_i s_i.
            let mut one =
                |dx: &[Dual64], m: usize, res: &mut [Dual64]| self.component_batch(i, dx, m, res);
            seeded_points(xs, n, i, out, &mut one, |pt, r| {
                pt.s[i] = r.re;
                pt.ds[i] = r.eps;
            });
        }
    }
}

/// A batch evaluated one point at a time (the default of the batch methods).
fn per_point<D: Copy>(xs: &[D], n: usize, out: &mut [D], f: impl Fn(&[D]) -> D) {
    if n == 0 {
        return;
    }
    let d = xs.len() / n;
    let mut pt = [xs[0]; MAX_DIM];
    for (l, o) in out.iter_mut().enumerate().take(n) {
        for (v, p) in pt.iter_mut().enumerate().take(d) {
            *p = xs[v * n + l];
        }
        *o = f(&pt[..d]);
    }
}

/// A scalar function of the variables: a weight `h(x)`, or a hand-written divergence.
pub trait ScalarFunction: Sync {
    /// The value at `x`.
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D;
}

/// The points `pts` laid out as the batch methods take them: coordinate-major, `xs[v * n + l]`
/// is variable `v` of point `l`.
pub(crate) fn coordinate_major<T: AsRef<[f64]>>(pts: &[T]) -> Vec<f64> {
    let n = pts.len();
    let d = pts.first().map_or(0, |x| x.as_ref().len());
    let mut xs = vec![0.0; d * n];
    for (l, x) in pts.iter().enumerate() {
        for (v, &xv) in x.as_ref().iter().enumerate().take(d) {
            xs[v * n + l] = xv;
        }
    }
    xs
}

/// `log p̃` at the points `pts`, in one batch (the values `log_density` gives one by one).
pub(crate) fn log_density_at<P: Density>(p: &P, pts: &[Vec<f64>]) -> Vec<f64> {
    let mut out = vec![0.0; pts.len()];
    if !pts.is_empty() {
        p.log_density_batch(&coordinate_major(pts), pts.len(), &mut out);
    }
    out
}
