//! `scorecheck fisher`: the integration by parts in a simulator's parameter.

use super::args::FisherArgs;
use super::case_flags::{case_error_as, check_options, open_out, overrides_of};
use super::{CliError, Done, bad};
use scorecheck::parse_interval;

pub(crate) fn run(a: FisherArgs) -> Result<Done, CliError> {
    let out = open_out(&a.output.out)?;
    let params = overrides_of(&a.params.list)?;
    let interval = |s: &str, flag: &str| parse_interval(s).map_err(|e| case_error_as(e, flag));
    let theta_domain = interval(&a.theta_domain, "--theta-domain")?;
    let data_domain = interval(&a.data_domain, "--data-domain")?;
    check_options(Some(a.tol), a.max_evals)?;
    let spec = scorecheck::FisherSpec {
        theta: a.theta,
        data: a.data,
        simulator: a.simulator,
        proposal: a.proposal,
        field: a.field,
        theta_domain,
        data_domain,
        params,
    };
    let opts = scorecheck::FisherOptions {
        tol: a.tol,
        max_evals: a.max_evals,
    };
    let report = scorecheck::fisher(&spec, &opts).map_err(bad)?;
    let text = if a.output.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    let mut done = Done::new(report.outcome(), text, out);
    done.undecided = report.notes.clone();
    Ok(done)
}
