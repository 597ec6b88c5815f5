//! `check` again at growing caps on evaluations: the runs the convergence figure draws
//! against the final run (2-D and up). Built on check's public API ([`crate::check_case`]),
//! so that the figure draws what `check` computes instead of running checks itself.

use crate::case::Case;
use crate::check::{CheckError, CheckOptions};
use crate::numbers::logspace;
use crate::report::Report;

/// How many capped runs (budgets from 500 evaluations to the final run's, evenly spaced in
/// log).
pub const CAPPED_RUNS: usize = 14;

/// `check` on `case` with `max_evals` capped at budgets growing from 500 to the final run's
/// evaluations (`report`, the run at `opts`); each run's deciding identity (the weighted one
/// with a weight, as [`Report::deciding`]), in order of budget.
pub fn capped_runs(
    case: &Case,
    report: &Report,
    opts: &CheckOptions,
) -> Result<Vec<Report>, CheckError> {
    let full = report.deciding().cross.lhs.evals.max(1000);
    logspace(500.0, full as f64, CAPPED_RUNS)
        .into_iter()
        .map(|b| {
            let o = CheckOptions {
                tol: opts.tol,
                max_evals: b.round() as u64,
                ..opts.clone()
            };
            Ok(crate::check_case(case, &o)?.deciding())
        })
        .collect()
}
