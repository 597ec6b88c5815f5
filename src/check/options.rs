//! What a check is asked: its settings and the case's identification for the report.

use std::collections::BTreeMap;

/// Settings of a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Target absolute error on every quantity; `None` picks the default for the dimension.
    pub tol: Option<f64>,
    /// Integrand evaluations allowed per cubature (2-D and up).
    pub max_evals: u64,
    /// Breakpoints per variable (kinks, jumps) the quadrature cuts the domain at.
    pub breaks: Vec<Vec<f64>>,
    /// Sub-expressions whose branch changes are found and added as breakpoints
    /// (by `breaks::find_breaks`).
    pub switches: Vec<crate::expr::Switch>,
    /// How many of `switches`, at their end, are the field's or the weight's: they change
    /// every integrand but Z. The others may change Z too (the density's; 0, the default,
    /// takes every switch as one that may).
    pub field_switches: usize,
    /// The field's derivatives are known only as their sum `∇·s` (a Python divergence that
    /// returns one value per point): the model gives it as `∂_1 s_1` and 0 for the others,
    /// and the identity is checked for the sum over the variables, reported as one component
    /// (named by the variables joined with `+`), since the per-variable terms are unknown.
    pub total_divergence: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            tol: None,
            max_evals: 20_000_000,
            breaks: vec![],
            switches: vec![],
            field_switches: 0,
            total_divergence: false,
        }
    }
}

/// The default target absolute error for a dimension: 1e-10 (1-D), 1e-8 (2-D), 1e-6 (3-D, 4-D).
pub fn default_tol(d: usize) -> f64 {
    match d {
        1 => 1e-10,
        2 => 1e-8,
        _ => 1e-6,
    }
}

/// Identification of a case for the report.
#[derive(Clone, Debug, Default)]
pub struct CaseInfo {
    pub name: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    /// The weight's expression, when there is one (for the report).
    pub weight: Option<String>,
}
