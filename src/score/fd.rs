//! The finite-difference table: exact derivatives against central differences.

use super::derivatives::jacobian;
use super::derivatives::log_gradient;
use super::report::FdRow;
use super::report::FdStep;
use super::report::FiniteDifferences;
use crate::model::Density;
use crate::model::ScoreField;

/// Exact derivatives against central differences at `x`: `∂_i log_model` for every `i`
/// (with a log-model), and `∂_j s_i` for every `(i, j)` in `entries`.
#[allow(clippy::too_many_arguments)]
pub(super) fn finite_difference_table<S: ScoreField, M: Density>(
    field: &S,
    log_model: Option<&M>,
    x: &[f64],
    why: String,
    domain: &[(f64, f64)],
    vars: &[String],
    entries: &[(usize, usize)],
    steps: &[f64],
) -> FiniteDifferences {
    let d = x.len();
    let (_, jac) = jacobian(field, x);
    let mut rows = vec![];
    // Central differences of `f` along axis `j`.
    let row = |name: String, f: &dyn Fn(&[f64]) -> f64, j: usize, exact: f64| -> FdRow {
        let st: Vec<FdStep> = steps
            .iter()
            .map(|&h| {
                let (mut up, mut dn) = (x.to_vec(), x.to_vec());
                up[j] += h;
                dn[j] -= h;
                let inside = up[j] <= domain[j].1 && dn[j] >= domain[j].0;
                // Divide by the step actually taken: x ± h is rounded to the float grid.
                let value = if inside {
                    (f(&up) - f(&dn)) / (up[j] - dn[j])
                } else {
                    f64::NAN
                };
                FdStep {
                    h,
                    value,
                    error: (value - exact).abs(),
                    inside,
                }
            })
            .collect();
        let best_h = st
            .iter()
            .filter(|s| s.error.is_finite())
            .min_by(|a, b| a.error.total_cmp(&b.error))
            .map(|s| s.h);
        FdRow {
            derivative: name,
            exact,
            steps: st,
            best_h,
        }
    };
    if let Some(m) = log_model {
        let g = log_gradient(m, x);
        for i in 0..d {
            let name = format!("∂_{} log_model", vars[i]);
            rows.push(row(name, &|y: &[f64]| m.log_density(y), i, g[i]));
        }
    }
    for &(i, j) in entries {
        let name = format!("∂_{} s_{}", vars[j], vars[i]);
        rows.push(row(name, &|y: &[f64]| field.component(i, y), j, jac[i][j]));
    }
    FiniteDifferences {
        at: x.to_vec(),
        why,
        rows,
    }
}

// ---------------------------------------------------------------------------------------------
