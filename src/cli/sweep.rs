//! `scorecheck sweep`: `check` over a grid of parameter values, in parallel.

use super::args::SweepArgs;
use super::case_flags::{case_error, declare_flag_params, open_figure, open_out, size_of, spec_of};
use super::{CliError, Done, bad};
use scorecheck::{ParamArg, parse_param_arg};
use std::io::IsTerminal;

pub(crate) fn run(a: SweepArgs) -> Result<Done, CliError> {
    let size = size_of(&a.size)?;
    let opts = a.quad.options()?;
    if a.threads == Some(0) {
        return Err(CliError::BadInput("--threads must be at least 1".into()));
    }
    let (grids, fixed) = grids_of(&a.case.params.list)?;
    if a.plot.is_some() && grids.len() != 1 {
        return Err(CliError::BadInput(
            "--plot draws the objectives against one parameter; give exactly one grid --param NAME=LO:HI:N (fix the others with --param NAME=VALUE)".into(),
        ));
    }
    let figure = a.plot.as_deref().map(open_figure).transpose()?;
    let out = open_out(&a.output.out)?;
    let mut spec = spec_of(&a.case)?;
    let declared: Vec<(String, f64)> = fixed
        .iter()
        .cloned()
        .chain(
            grids
                .iter()
                .filter_map(|g| Some((g.name.clone(), *g.values.first()?))),
        )
        .collect();
    declare_flag_params(&mut spec, &declared);
    // The case at the first point, so that a bad parameter is told by its flag before any
    // work (the sweep compiles every point itself).
    if !grids.is_empty() {
        spec.compile(&declared, false).map_err(case_error)?;
    }
    let n: usize = scorecheck::grid_points(&grids)
        .map(|p| p.len())
        .unwrap_or(0);
    let bar = progress(n as u64, a.output.json || !std::io::stderr().is_terminal());
    let done = || bar.inc(1);
    let work = || scorecheck::sweep(&spec, &grids, &fixed, &opts, &done);
    let sweep = match a.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| CliError::BadInput(format!("--threads {t}: {e}")))?
            .install(work),
        None => work(),
    };
    bar.finish_and_clear();
    let sweep = sweep.map_err(bad)?;
    if let Some((format, pending)) = figure {
        // The figure's domain text is the case's at the first grid point.
        let overrides: Vec<(String, f64)> = fixed
            .iter()
            .cloned()
            .chain(std::iter::once((grids[0].name.clone(), grids[0].values[0])))
            .collect();
        let case = spec.compile(&overrides, false).map_err(case_error)?;
        draw(&sweep, &case, format, size, pending)?;
    }
    let text = if a.output.json {
        format!("{}\n", sweep.to_json())
    } else {
        sweep.to_text()
    };
    Ok(Done::new(sweep.outcome(), text, out))
}

/// The progress bar on stderr (hidden under `--json` or off a terminal).
fn progress(n: u64, hidden: bool) -> indicatif::ProgressBar {
    if hidden {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(n);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} {pos}/{len} points [{wide_bar}] {elapsed}, about {eta} left",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_prefix("sweep");
    b
}

/// Draw esm and ism + const against the grid parameter into the pending figure.
fn draw(
    sweep: &scorecheck::Sweep,
    case: &scorecheck::Case,
    format: scorecheck::plot::Format,
    size: Option<(u32, u32)>,
    pending: scorecheck::Pending,
) -> Result<(), CliError> {
    let fig = sweep
        .figure(scorecheck::plot::domain_text(case))
        .map_err(bad)?;
    let bytes = scorecheck::plot::render(&scorecheck::plot::Figure::Sweep(fig), format, size)
        .map_err(bad)?;
    pending.commit_bytes(&bytes).map_err(bad)
}

/// `--param` as grids (`NAME=LO:HI:N`) and fixed values (`NAME=VALUE`), in order.
type Grids = (Vec<scorecheck::Grid>, Vec<(String, f64)>);
fn grids_of(params: &[String]) -> Result<Grids, CliError> {
    let mut grids = vec![];
    let mut fixed = vec![];
    for p in params {
        match parse_param_arg(p).map_err(bad)? {
            ParamArg::Grid(g) => grids.push(g),
            ParamArg::Fixed(k, v) => fixed.push((k, v)),
        }
    }
    Ok((grids, fixed))
}
