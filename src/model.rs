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
//! use scorecheck::model::{Density, ScoreField, eval_point};
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

use crate::expr::{LANES, Program};
use num_dual::{Dual, Dual64, DualNum, HyperDual64};

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
    /// [`crate::frame::InFrame`] then pass derivatives through by the chain rule.
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

/// Points `LANES` at a time seeded along direction `i`, each result stored by `put`.
fn seeded_points(
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

/// How a density expression is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DensityKind {
    /// The expression is `log p̃`.
    Log,
    /// The expression is `p̃` itself (must be ≥ 0); `log_density` takes `ln` of its value.
    /// A case compiles a pdf with [`Program::compile_log`] instead (exact rewriting into log
    /// space, right where `p̃` over- or underflows) and stores it as a `Log` density.
    Pdf,
}

/// A density given by an expression.
#[derive(Clone, Debug)]
pub struct ExprDensity {
    pub program: Program,
    pub kind: DensityKind,
    pub dim: usize,
}

impl Density for ExprDensity {
    fn dim(&self) -> usize {
        self.dim
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        match self.kind {
            DensityKind::Log => self.program.eval(x),
            DensityKind::Pdf => self.program.eval(x).ln(),
        }
    }
    fn log_density_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        self.program.eval_batch(xs, n, out);
        if self.kind == DensityKind::Pdf {
            out[..n].iter_mut().for_each(|v| *v = v.ln());
        }
    }
}

impl ExprDensity {
    /// The raw value of the expression (the pdf for `Pdf`, the log for `Log`).
    pub fn raw(&self, x: &[f64]) -> f64 {
        self.program.eval(x)
    }
}

/// A score field given by expressions.
#[derive(Clone, Debug)]
pub enum ExprField {
    /// One expression per component.
    Components(Vec<Program>),
    /// The gradient of a log-model, `s = ∇ log q`, with exact (nested dual) derivatives.
    Gradient { log_model: Program, dim: usize },
}

impl ScoreField for ExprField {
    fn dim(&self) -> usize {
        match self {
            ExprField::Components(c) => c.len(),
            ExprField::Gradient { dim, .. } => *dim,
        }
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        match self {
            ExprField::Components(c) => c[i].eval(x),
            ExprField::Gradient { log_model, .. } => {
                let zero = D::from(0.0);
                let mut xs = [Dual::new(zero, zero); MAX_DIM];
                for (j, v) in x.iter().enumerate() {
                    xs[j] = Dual::new(*v, if i == j { D::from(1.0) } else { zero });
                }
                log_model.eval(&xs[..x.len()]).eps
            }
        }
    }
    fn component_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        i: usize,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        match self {
            ExprField::Components(c) => c[i].eval_batch(xs, n, out),
            ExprField::Gradient { log_model, dim } => {
                // ∂_i log q through one more dual level, LANES points at a time.
                let zero = D::from(0.0);
                let mut dx = [Dual::new(zero, zero); MAX_DIM * LANES];
                let mut res = [Dual::new(zero, zero); LANES];
                let mut base = 0;
                while base < n {
                    let m = (n - base).min(LANES);
                    for v in 0..*dim {
                        let seed = if v == i { D::from(1.0) } else { zero };
                        for l in 0..m {
                            dx[v * m + l] = Dual::new(xs[v * n + base + l], seed);
                        }
                    }
                    log_model.eval_batch(&dx[..dim * m], m, &mut res[..m]);
                    for l in 0..m {
                        out[base + l] = res[l].eps;
                    }
                    base += m;
                }
            }
        }
    }
}

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

/// A scalar function of the variables: a weight `h(x)`, or a hand-written divergence.
pub trait ScalarFunction: Sync {
    /// The value at `x`.
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D;
}

impl ScalarFunction for Program {
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        self.eval(x)
    }
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
