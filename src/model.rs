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

use crate::expr::Program;
use num_dual::{Dual, Dual64, DualNum, HyperDual64};

/// The largest dimension the checks support.
pub const MAX_DIM: usize = 4;

/// An unnormalized density, given by its logarithm.
pub trait Density {
    /// Number of variables.
    fn dim(&self) -> usize;
    /// `log p̃(x)` for an unnormalized density `p̃`. May be `−∞` where `p̃ = 0`.
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D;
}

/// A vector field `s(x)`, the candidate score.
pub trait ScoreField {
    /// Number of variables (and components).
    fn dim(&self) -> usize;
    /// Component `i` of `s(x)`.
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D;
}

/// How a density expression is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DensityKind {
    /// The expression is `log p̃`.
    Log,
    /// The expression is `p̃` itself (must be ≥ 0).
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

/// `log p̃`, its gradient and Hessian at `x` (for locating the modes).
pub fn log_density_hessian<P: Density>(
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
pub trait ScalarFunction {
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
