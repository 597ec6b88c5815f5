//! `scorecheck plot`: the figure that explains a case, SVG or PNG by the file's extension.

use super::args::{PlotArgs, PlotKind};
use super::case_flags::{load_case, open_figure, plot_error, size_of};
use super::{CliError, Done, bad};
use scorecheck::Outcome;

pub(crate) fn run(a: PlotArgs) -> Result<Done, CliError> {
    let size = size_of(&a.size)?;
    let opts = a.quad.options()?;
    let (format, pending) = open_figure(&a.out)?;
    let case = load_case(&a.case)?;
    let report = scorecheck::check_case(&case, &opts).map_err(bad)?;
    if report.normalizer.evals == 0 && report.outcome() == Outcome::Undecided {
        // Nothing was integrated (Report::undecided): there is nothing to draw.
        return Ok(Done {
            outcome: Outcome::Undecided,
            text: None,
            out: None,
            undecided: report.notes.clone(),
            counterexamples: vec![],
        });
    }
    let kind = match a.kind {
        PlotKind::Identity => scorecheck::plot::Kind::Identity,
        PlotKind::Boundary => scorecheck::plot::Kind::Boundary,
        PlotKind::Convergence => scorecheck::plot::Kind::Convergence,
    };
    // The convergence figure of a case of 2 or more variables draws check's capped runs.
    let capped = if kind == scorecheck::plot::Kind::Convergence && case.vars.len() > 1 {
        scorecheck::capped_runs(&case, &report, &opts).map_err(bad)?
    } else {
        vec![]
    };
    let fig =
        scorecheck::plot::figure_with_runs(&case, &report, kind, &capped).map_err(plot_error)?;
    let bytes = scorecheck::plot::render(&fig, format, size).map_err(bad)?;
    pending.commit_bytes(&bytes).map_err(bad)?;
    // The figure is written whatever the check found.
    Ok(Done {
        outcome: Outcome::Holds,
        text: None,
        out: None,
        undecided: vec![],
        counterexamples: vec![],
    })
}
