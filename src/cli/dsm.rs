//! `scorecheck dsm`: denoising score matching against the noised density's objectives.

use super::args::DsmArgs;
use super::case_flags::overrides_of;
use super::case_flags::{case_error, check_options, declare_flag_params, open_out, spec_of};
use super::{CliError, Done, bad};

pub(crate) fn run(a: DsmArgs) -> Result<Done, CliError> {
    let out = open_out(&a.output.out)?;
    let mut spec = spec_of(&a.case)?;
    let overrides = overrides_of(&a.case.params.list)?;
    let sweep = a
        .sweep
        .as_deref()
        .map(scorecheck::parse_noise_sweep)
        .transpose()
        .map_err(bad)?;
    let mut declared = overrides.clone();
    if let Some(first) = sweep
        .as_ref()
        .and_then(|s| Some((s.name.clone(), *s.values.first()?)))
    {
        declared.push(first);
    }
    declare_flag_params(&mut spec, &declared);
    // The `--param` overrides are told by their flag before any work (dsm compiles the
    // case at every θ itself).
    spec.compile(&overrides, false).map_err(case_error)?;
    check_options(a.tol, a.max_evals)?;
    let opts = scorecheck::DsmOptions {
        sigma: a.sigma,
        n: a.n,
        seed: a.seed,
        tol: a.tol,
        max_evals: a.max_evals,
        ..Default::default()
    };
    let report = scorecheck::dsm(&spec, &overrides, sweep.as_ref(), &opts).map_err(bad)?;
    let text = if a.output.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    let mut done = Done::new(report.outcome(), text, out);
    done.undecided = report.notes.clone();
    Ok(done)
}
