//! Exact derivatives by dual numbers: the gradient of a log-density as a field, Jacobians,
//! divergences.

use crate::model::Density;
use crate::model::MAX_DIM;
use crate::model::ScoreField;
use num_dual::Dual;
use num_dual::Dual64;
use num_dual::DualNum;

// Exact derivatives
// ---------------------------------------------------------------------------------------------

/// The gradient of a log-density as a score field, `s = ∇ log q`, with exact derivatives
/// (nested dual numbers, so its Jacobian is the exact Hessian of `log q`).
///
/// ```
/// use num_dual::DualNum;
/// use scorecheck::{Density, ScoreField};
/// use scorecheck::GradientOf;
///
/// struct Quartic;
/// impl Density for Quartic {
///     fn dim(&self) -> usize { 1 }
///     fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
///         -x[0].powi(4) / 4.0
///     }
/// }
/// let s = GradientOf(&Quartic);
/// assert_eq!(s.component(0, &[2.0]), -8.0); // −x³
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GradientOf<'a, M>(pub &'a M);

impl<M: Density> ScoreField for GradientOf<'_, M> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        let zero = D::from(0.0);
        let mut xs = [Dual::new(zero, zero); MAX_DIM];
        for (j, v) in x.iter().enumerate() {
            xs[j] = Dual::new(*v, if i == j { D::from(1.0) } else { zero });
        }
        self.0.log_density(&xs[..x.len()]).eps
    }
}

/// `x` with `x_j` seeded: a dual number per coordinate.
pub(super) fn seeded(x: &[f64], j: usize) -> [Dual64; MAX_DIM] {
    let mut xs = [Dual64::from(0.0); MAX_DIM];
    for (k, v) in x.iter().enumerate() {
        xs[k] = Dual64::new(*v, if k == j { 1.0 } else { 0.0 });
    }
    xs
}

/// The values `s_i(x)` and the exact Jacobian `J[i][j] = ∂_j s_i(x)`.
///
/// ```
/// use num_dual::DualNum;
/// use scorecheck::ScoreField;
/// use scorecheck::jacobian;
///
/// // s = (−x − y, x − y): a rotation added to −(x, y).
/// struct Swirl;
/// impl ScoreField for Swirl {
///     fn dim(&self) -> usize { 2 }
///     fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
///         if i == 0 { -x[0] - x[1] } else { x[0] - x[1] }
///     }
/// }
/// let (s, j) = jacobian(&Swirl, &[1.0, 2.0]);
/// assert_eq!(&s[..2], &[-3.0, -1.0]);
/// assert_eq!((j[0][1], j[1][0]), (-1.0, 1.0)); // ∂_y s_x ≠ ∂_x s_y: not a gradient
/// ```
pub fn jacobian<S: ScoreField>(s: &S, x: &[f64]) -> ([f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
    let d = x.len();
    let mut v = [0.0; MAX_DIM];
    let mut jac = [[0.0; MAX_DIM]; MAX_DIM];
    for j in 0..d {
        let xs = seeded(x, j);
        for (i, row) in jac.iter_mut().enumerate().take(d) {
            let r = s.component(i, &xs[..d]);
            v[i] = r.re;
            row[j] = r.eps;
        }
    }
    (v, jac)
}

/// The exact divergence `∇·s(x) = Σ_i ∂_i s_i(x)`.
///
/// ```
/// use scorecheck::{Density, ExprDensity, DensityKind};
/// use scorecheck::Program;
/// use scorecheck::{GradientOf, divergence};
///
/// let vars = ["x".to_string(), "y".to_string()];
/// let m = ExprDensity {
///     program: Program::compile("-(x^2 + y^2)/2", &vars, &[]).unwrap(),
///     kind: DensityKind::Log,
///     dim: 2,
/// };
/// assert_eq!(divergence(&GradientOf(&m), &[0.3, -1.0]), -2.0); // Δ log q = −2
/// ```
pub fn divergence<S: ScoreField>(s: &S, x: &[f64]) -> f64 {
    values_and_divergence(s, x).1
}

/// `s(x)` and the exact `∇·s(x)` from one dual evaluation per component (`d` in all; the
/// full [`jacobian`] takes `d²`).
pub fn values_and_divergence<S: ScoreField>(s: &S, x: &[f64]) -> ([f64; MAX_DIM], f64) {
    let d = x.len();
    let mut v = [0.0; MAX_DIM];
    let mut div = 0.0;
    for (i, vi) in v.iter_mut().enumerate().take(d) {
        let r = s.component(i, &seeded(x, i)[..d]);
        *vi = r.re;
        div += r.eps;
    }
    (v, div)
}

/// The exact gradient of `log q` at `x`.
pub fn log_gradient<M: Density>(m: &M, x: &[f64]) -> [f64; MAX_DIM] {
    let d = x.len();
    let mut g = [0.0; MAX_DIM];
    for (i, gi) in g.iter_mut().enumerate().take(d) {
        *gi = m.log_density(&seeded(x, i)[..d]).eps;
    }
    g
}

// ---------------------------------------------------------------------------------------------
