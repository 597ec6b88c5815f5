//! `scorecheck check`: the identity's report for one case.

use super::args::CheckArgs;
use super::case_flags::{load_case, open_out};
use super::{CliError, Done, bad};
use scorecheck::Report;

/// Load the case and run `check`.
pub(crate) fn report_of(a: &CheckArgs) -> Result<Report, CliError> {
    let case = load_case(&a.case)?;
    let opts = a.quad.options()?;
    scorecheck::check_case(&case, &opts).map_err(bad)
}

pub(crate) fn run(a: CheckArgs) -> Result<Done, CliError> {
    let out = open_out(&a.output.out)?;
    let report = report_of(&a)?;
    let text = if a.output.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    let mut done = Done::new(report.outcome(), text, out);
    done.undecided = report.undecided_reasons();
    Ok(done)
}
