//! `scorecheck estimate`: ism from samples of p, against quadrature.

use super::args::{EstimateArgs, ProbeArg, SamplerArg};
use super::case_flags::{load_case, open_figure, open_out, size_of};
use super::{CliError, Done, bad};
use scorecheck::{EstimateOptions, Probe};
use scorecheck::{SampleOptions, Sampler};

pub(crate) fn run(a: EstimateArgs) -> Result<Done, CliError> {
    // The figure's name and size are checked before any work, like the output file.
    let size = size_of(&a.size)?;
    let figure = a.plot.as_deref().map(open_figure).transpose()?;
    let out = open_out(&a.output.out)?;
    let case = load_case(&a.case)?;
    let check = a.quad.options()?;
    let sampler = match a.sampler {
        SamplerArg::Auto => Sampler::Auto,
        SamplerArg::InverseCdf => Sampler::InverseCdf,
        SamplerArg::Product => Sampler::Product,
        SamplerArg::Mala => Sampler::Mala,
    };
    let probes = a
        .probes
        .iter()
        .map(|p| match p {
            ProbeArg::Rademacher => Probe::Rademacher,
            ProbeArg::Gaussian => Probe::Gaussian,
        })
        .collect();
    if a.n < 2 {
        return Err(CliError::BadInput("--n must be at least 2".into()));
    }
    if a.chains == 0 {
        return Err(CliError::BadInput("--chains must be at least 1".into()));
    }
    if a.min_ess.is_nan() || a.min_ess < 0.0 {
        return Err(CliError::BadInput("--min-ess must be a number >= 0".into()));
    }
    let opts = EstimateOptions {
        sample: SampleOptions {
            n: a.n,
            seed: a.seed,
            sampler,
            chains: a.chains,
            burn_in: a.burn_in,
        },
        probes,
        probes_per_draw: a.probes_per_draw,
        check,
        min_ess: a.min_ess,
    };
    let report = scorecheck::estimate(&case, &opts).map_err(bad)?;
    if let Some((format, pending)) = figure {
        let fig = scorecheck::plot::estimate_figure(&report).map_err(bad)?;
        let bytes =
            scorecheck::plot::render(&scorecheck::plot::Figure::Estimate(fig), format, size)
                .map_err(bad)?;
        pending.commit_bytes(&bytes).map_err(bad)?;
    }
    let text = if a.output.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    let mut done = Done::new(report.outcome(), text, out);
    done.undecided = report.undecided_reasons();
    Ok(done)
}
