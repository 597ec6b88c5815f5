//! Python functions as the model: a density given by `log_density(X)` with
//! `grad_log_density(X)`, a field given by `field(X)` with `divergence(X)`, each taking an
//! `(n, d)` float64 array of points.
//!
//! The engine asks for values and first derivatives at batches of points through
//! [`Density::log_density_points`] and [`ScoreField::field_points`]; these call each Python
//! function once per batch (the cubature hands out whole batches when it runs on one
//! thread, so a 2-D check makes a few hundred calls). Everything else reaches the model
//! through the generic dual-number methods, answered here by the Taylor jet at the real part:
//! `f(x₀) + ∇f(x₀)·(x − x₀)` (exact for first-order duals), plus `½(x − x₀)ᵀH(x − x₀)` for
//! second-order ones (exact given `H`), where the Hessian `H` of `log p̃` (used only to locate
//! the modes and to pick the cubature's axes) comes from central differences of the user's
//! gradient with steps `ε^{1/3}·max(1, |x_j|)`. A field's jet uses its own diagonal
//! `∂_i s_i`, all that `check` needs (component `i` is only differentiated along `x_i`).
//!
//! The Python side (`scorecheck/__init__.py`) wraps each function so that it receives the
//! points as an array and returns bytes of the checked shape, raising `BadInput` naming the
//! function otherwise. The first exception is kept, later calls return NaN without calling
//! Python, and the check's caller re-raises it with its traceback.

// Index loops over the small d×d matrices read as the formulas (H_jk, symmetrised).
#![allow(clippy::needless_range_loop)]

use num_dual::DualNum;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use scorecheck::Program;
use scorecheck::{Density, ExprDensity, ExprField, GradHess, MAX_DIM, Point, ScoreField};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The wrapped Python functions and what happened when they were called.
pub struct PyFns {
    pub d: usize,
    /// `(bytes of an (n, d) row-major array, n) -> bytes of the result`, per function.
    pub log_density: Option<Py<PyAny>>,
    pub grad_log_density: Option<Py<PyAny>>,
    pub field: Option<Py<PyAny>>,
    pub divergence: Option<Py<PyAny>>,
    /// The first exception a function raised.
    pub error: Mutex<Option<PyErr>>,
    /// Calls made into Python, and points passed.
    pub calls: AtomicU64,
    pub points: AtomicU64,
    /// `log p̃` at single points already asked for (a mode's value, then its Hessian there).
    /// Locating the modes evaluates its searches in batches (`gradient_hessian_points`, the
    /// batch methods), so few single points remain. At most [`CACHE_MAX`] entries.
    pub cache: Mutex<HashMap<[u64; MAX_DIM], f64>>,
}

/// The most single-point values kept.
const CACHE_MAX: usize = 1 << 16;

impl PyFns {
    /// Call `f` on the `n` points `xs` (coordinate-major, `xs[v * n + l]`); `width` values per
    /// point come back (row-major). NaN everywhere once a function has failed.
    fn call(&self, f: &Py<PyAny>, xs: &[f64], n: usize, width: usize) -> Vec<f64> {
        let mut out = vec![f64::NAN; n * width];
        if n == 0 || self.error.lock().map(|e| e.is_some()).unwrap_or(true) {
            return out;
        }
        let d = self.d;
        let mut rows = Vec::with_capacity(n * d * 8);
        for l in 0..n {
            for v in 0..d {
                rows.extend_from_slice(&xs[v * n + l].to_ne_bytes());
            }
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.points.fetch_add(n as u64, Ordering::Relaxed);
        let got = Python::attach(|py| -> PyResult<Vec<u8>> {
            let r = f.call1(py, (PyBytes::new(py, &rows), n))?;
            Ok(r.bind(py).cast::<PyBytes>()?.as_bytes().to_vec())
        });
        match got {
            Ok(b) if b.len() == n * width * 8 => {
                for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
                    *o = f64::from_ne_bytes(c.try_into().expect("8 bytes"));
                }
            }
            Ok(b) => self.fail(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "internal: a wrapped function returned {} bytes for {n} points of width {width}",
                b.len()
            ))),
            Err(e) => self.fail(e),
        }
        out
    }

    fn fail(&self, e: PyErr) {
        if let Ok(mut slot) = self.error.lock()
            && slot.is_none()
        {
            *slot = Some(e);
        }
    }

    fn record(&self, msg: String) {
        self.fail(crate::BadInput::new_err(msg));
    }

    /// Values and gradients of `log p̃` at `n` points: (`logp[l]`, `grad[l * d + j]`).
    fn density(&self, xs: &[f64], n: usize, grad: bool) -> (Vec<f64>, Vec<f64>) {
        let (Some(f), Some(g)) = (&self.log_density, &self.grad_log_density) else {
            unreachable!("a Python density has both functions")
        };
        let key = (n == 1).then(|| {
            let mut k = [0u64; MAX_DIM];
            for (kv, x) in k.iter_mut().zip(xs) {
                *kv = x.to_bits();
            }
            k
        });
        let cached = key.and_then(|k| self.cache.lock().ok()?.get(&k).copied());
        let v = match cached {
            Some(v) => vec![v],
            None => {
                let v = self.call(f, xs, n, 1);
                if let (Some(k), Ok(mut c)) = (key, self.cache.lock())
                    && c.len() < CACHE_MAX
                    && self.error.lock().map(|e| e.is_none()).unwrap_or(false)
                {
                    c.insert(k, v[0]);
                }
                v
            }
        };
        let gr = if grad {
            self.call(g, xs, n, self.d)
        } else {
            vec![]
        };
        (v, gr)
    }
}

/// The density of a check: an expression, or Python functions.
pub enum DensityModel<'a> {
    Expr(ExprDensity),
    Py(&'a PyFns),
}

/// The field of a check: expressions, or Python functions.
pub enum FieldModel<'a> {
    Expr(ExprField),
    Py(&'a PyFns),
}

/// The real parts of `n` dual points (coordinate-major).
fn re_parts<D: DualNum<Primitive = f64> + Copy>(xs: &[D]) -> Vec<f64> {
    xs.iter().map(|x| x.re()).collect()
}

/// Central-difference Hessians of `log p̃` at the `n` points `xs` (coordinate-major), from one
/// call of the gradient at every `x ± h e_j` — and at every `x` too when `centre`, whose
/// gradient is then returned beside the Hessian (else it is zero).
fn fd_grad_hessians(fns: &PyFns, xs: &[f64], n: usize, centre: bool) -> Vec<GradHess> {
    let d = fns.d;
    let c = usize::from(centre);
    let per = c + 2 * d;
    let m = per * n;
    let mut pts = vec![0.0; d * m];
    let mut steps = vec![[0.0; MAX_DIM]; n];
    for l in 0..n {
        let x = |v: usize| xs[v * n + l];
        if centre {
            for v in 0..d {
                pts[v * m + l * per] = x(v);
            }
        }
        for j in 0..d {
            let h = f64::EPSILON.cbrt() * x(j).abs().max(1.0);
            steps[l][j] = h;
            for (s, sign) in [(0, 1.0), (1, -1.0)] {
                let p = l * per + c + 2 * j + s;
                for v in 0..d {
                    pts[v * m + p] = x(v) + if v == j { sign * h } else { 0.0 };
                }
            }
        }
    }
    let g = fns.call(
        fns.grad_log_density.as_ref().expect("a gradient"),
        &pts,
        m,
        d,
    );
    (0..n)
        .map(|l| {
            let at = |p: usize, k: usize| g[(l * per + p) * d + k];
            let mut grad = [0.0; MAX_DIM];
            if centre {
                for (k, gk) in grad.iter_mut().enumerate().take(d) {
                    *gk = at(0, k);
                }
            }
            let mut hm = [[0.0; MAX_DIM]; MAX_DIM];
            for j in 0..d {
                for k in 0..d {
                    hm[j][k] = (at(c + 2 * j, k) - at(c + 2 * j + 1, k)) / (2.0 * steps[l][j]);
                }
            }
            for j in 0..d {
                for k in 0..j {
                    let s = 0.5 * (hm[j][k] + hm[k][j]);
                    hm[j][k] = s;
                    hm[k][j] = s;
                }
            }
            (grad, hm)
        })
        .collect()
}

impl Density for DensityModel<'_> {
    fn dim(&self) -> usize {
        match self {
            DensityModel::Expr(e) => e.dim(),
            DensityModel::Py(f) => f.d,
        }
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        match self {
            DensityModel::Expr(e) => e.log_density(x),
            DensityModel::Py(_) => {
                let mut out = [x[0]];
                self.log_density_batch(x, 1, &mut out);
                out[0]
            }
        }
    }
    fn log_density_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        let fns = match self {
            DensityModel::Expr(e) => return e.log_density_batch(xs, n, out),
            DensityModel::Py(f) => f,
        };
        if n == 0 {
            return;
        }
        let d = fns.d;
        let x0 = re_parts(xs);
        if D::NDERIV > 2 {
            fns.record("derivatives of order 3 of a Python log_density are not available".into());
        }
        let (v, g) = fns.density(&x0, n, D::NDERIV >= 1);
        let h = if D::NDERIV >= 2 {
            fd_grad_hessians(fns, &x0, n, false)
        } else {
            vec![]
        };
        for l in 0..n {
            let mut r = D::from(v[l]);
            if D::NDERIV >= 1 {
                let dx: Vec<D> = (0..d)
                    .map(|j| xs[j * n + l] - D::from(x0[j * n + l]))
                    .collect();
                for j in 0..d {
                    r += dx[j] * g[l * d + j];
                }
                if D::NDERIV >= 2 {
                    for j in 0..d {
                        for k in 0..d {
                            r += dx[j] * dx[k] * (0.5 * h[l].1[j][k]);
                        }
                    }
                }
            }
            out[l] = r;
        }
    }
    fn supplies_derivatives(&self) -> bool {
        matches!(self, DensityModel::Py(_))
    }
    fn log_density_hessian(&self, x: &[f64]) -> (f64, [f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
        let fns = match self {
            DensityModel::Expr(e) => return e.log_density_hessian(x),
            DensityModel::Py(f) => f,
        };
        // One value call and one gradient call at x and x ± h e_j.
        let (v, _) = fns.density(x, 1, false);
        let (g, h) = fd_grad_hessians(fns, x, 1, true).remove(0);
        (v[0], g, h)
    }
    fn gradient_hessian_points(&self, xs: &[f64], n: usize, out: &mut [GradHess]) {
        let fns = match self {
            DensityModel::Expr(e) => return e.gradient_hessian_points(xs, n, out),
            DensityModel::Py(f) => f,
        };
        if n == 0 {
            return;
        }
        for (o, gh) in out.iter_mut().zip(fd_grad_hessians(fns, xs, n, true)) {
            *o = gh;
        }
    }
    fn log_density_points(&self, xs: &[f64], n: usize, out: &mut [Point]) {
        let fns = match self {
            DensityModel::Expr(e) => return e.log_density_points(xs, n, out),
            DensityModel::Py(f) => f,
        };
        let d = fns.d;
        let (v, g) = fns.density(xs, n, true);
        for (l, pt) in out.iter_mut().enumerate().take(n) {
            pt.logp = v[l];
            pt.dlogp[..d].copy_from_slice(&g[l * d..(l + 1) * d]);
        }
    }
}

impl FieldModel<'_> {
    /// `s` (row-major `(n, d)`) and the Jacobian's diagonal (row-major `(n, d)`).
    fn py_values(fns: &PyFns, xs: &[f64], n: usize, diag: bool) -> (Vec<f64>, Vec<f64>) {
        let (Some(f), Some(dv)) = (&fns.field, &fns.divergence) else {
            unreachable!("a Python field has both functions")
        };
        let s = fns.call(f, xs, n, fns.d);
        let ds = if diag {
            fns.call(dv, xs, n, fns.d)
        } else {
            vec![]
        };
        (s, ds)
    }
}

impl ScoreField for FieldModel<'_> {
    fn dim(&self) -> usize {
        match self {
            FieldModel::Expr(e) => e.dim(),
            FieldModel::Py(f) => f.d,
        }
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        match self {
            FieldModel::Expr(e) => e.component(i, x),
            FieldModel::Py(_) => {
                let mut out = [x[0]];
                self.component_batch(i, x, 1, &mut out);
                out[0]
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
        let fns = match self {
            FieldModel::Expr(e) => return e.component_batch(i, xs, n, out),
            FieldModel::Py(f) => f,
        };
        if n == 0 {
            return;
        }
        let d = fns.d;
        if D::NDERIV > 1 {
            fns.record(
                "second derivatives of a Python field are not available (use expressions for this command)".into(),
            );
        }
        let x0 = re_parts(xs);
        let (s, ds) = Self::py_values(fns, &x0, n, D::NDERIV >= 1);
        for l in 0..n {
            let mut r = D::from(s[l * d + i]);
            if D::NDERIV >= 1 {
                // Along x_i only: the diagonal is all the callables give.
                r += (xs[i * n + l] - D::from(x0[i * n + l])) * ds[l * d + i];
            }
            out[l] = r;
        }
    }
    fn field_points(&self, xs: &[f64], n: usize, out: &mut [Point]) {
        let fns = match self {
            FieldModel::Expr(e) => return e.field_points(xs, n, out),
            FieldModel::Py(f) => f,
        };
        let d = fns.d;
        let (s, ds) = Self::py_values(fns, xs, n, true);
        for (l, pt) in out.iter_mut().enumerate().take(n) {
            pt.s[..d].copy_from_slice(&s[l * d..(l + 1) * d]);
            pt.ds[..d].copy_from_slice(&ds[l * d..(l + 1) * d]);
        }
    }
}

/// Compile an expression of the check (density, field component or weight).
pub fn compile(
    text: &str,
    origin: &str,
    vars: &[String],
    params: &[(String, f64)],
) -> PyResult<Program> {
    Program::compile(text, vars, params).map_err(|e| crate::bad(format!("{origin}: {e}")))
}
