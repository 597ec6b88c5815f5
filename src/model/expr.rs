//! The models of a case file: a density and a field given by expressions, and an
//! expression as a scalar function (a weight, a divergence).

use super::{Density, MAX_DIM, ScalarFunction, ScoreField};
use crate::expr::{LANES, Program};
use num_dual::{Dual, DualNum};

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

impl ScalarFunction for Program {
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        self.eval(x)
    }
}
