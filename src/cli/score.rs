//! `scorecheck score`: a hand-written score and divergence against exact derivatives.

use super::args::ScoreArgs;
use super::case_flags::{load_case, open_out};
use super::{CliError, Done, bad};

pub(crate) fn run(a: ScoreArgs) -> Result<Done, CliError> {
    let out = open_out(&a.output.out)?;
    let case = load_case(&a.case)?;
    let opts = scorecheck::ScoreOptions {
        points: a.points,
        rtol: a.rtol,
        atol: a.atol,
        ..Default::default()
    };
    let report = scorecheck::score_case(&case, &opts).map_err(bad)?;
    let text = if a.output.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    let mut done = Done::new(report.outcome(), text, out);
    done.counterexamples = report.counterexample_lines();
    done.undecided = report.undecided_reasons();
    Ok(done)
}
