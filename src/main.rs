//! The `scorecheck` command line: parse arguments, call the library, print, exit.

use clap::{Args, Parser, Subcommand};
use scorecheck::case::{
    CaseSpec, Src, load_case_file, parse_interval, parse_interval_ends, parse_param,
};
use scorecheck::check::CheckOptions;
use scorecheck::model::DensityKind;
use scorecheck::report::{Boundary, Ibp, ObjectiveVerdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check the integration-by-parts identity behind score matching, with exact derivatives.
#[derive(Parser)]
#[command(name = "scorecheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a case: the cross term both ways, the boundary term and the objectives.
    ///
    /// Exit codes: 0 every check holds; 1 a check is violated; 2 bad input; 3 undecided.
    Check(CheckArgs),
    /// Walk the score-matching derivation step by step for a case, with numbers: each step's
    /// equation, both sides with their errors, and ✓/✗ with the reason.
    ///
    /// Exit codes: 0 every step holds; 1 a step fails; 2 bad input; 3 a step is undecided.
    Explain(ExplainArgs),
    /// Check every claim of a proof (fenced ```claim blocks in a Markdown file) on every case
    /// of a gallery, and print a step × case table.
    ///
    /// Exit codes: 0 every outcome as expected; 1 an unexpected pass or failure; 2 bad input.
    Prove(ProveArgs),
    /// Check a hand-written score against exact derivatives: each field component against
    /// ∂_i log_model, a hand-written divergence against the exact ∇·s, and, without a
    /// log_model, whether the field is a gradient at all — over where p has its mass.
    ///
    /// Exit codes: 0 they agree; 1 they disagree (counterexamples printed); 2 bad input;
    /// 3 undecided.
    Score(ScoreArgs),
    /// Draw the figure that explains a case, as SVG or PNG by the extension of --out.
    ///
    /// --kind identity (default): 1-D, p, s and ∇log p, and the integrands s·p′ and −p·s′ with
    /// running integrals that end at the cross term's two sides, apart by the boundary term;
    /// 2-D, contours of p with s and ∇log p as arrows, and their difference.
    /// --kind boundary: the flux of p·s through the faces of [−R, R]^d against R (1-D, 2-D).
    /// --kind convergence: |estimate − final| against evaluations for both sides.
    ///
    /// Exit codes: 0 the figure is written (whatever the check found); 2 bad input (nothing
    /// is written); 3 the case cannot be computed in double precision (the reason is printed;
    /// nothing is written).
    Plot(PlotArgs),
    /// Check a case over a grid of parameter values, in parallel, and print the objectives
    /// per point (a table, or JSON with --json); --plot draws esm and ism + const against the
    /// parameter, with their minimisers.
    ///
    /// Grids: --param NAME=LO:HI:N is N points from LO to HI inclusive; several grids give
    /// their product (first grid outermost); --param NAME=VALUE fixes a parameter. Results
    /// do not depend on the number of threads. A progress bar shows on stderr when it is a
    /// terminal, except with --json.
    ///
    /// Exit codes: 0 every point holds; 1 some point is violated (as `check` would exit 1
    /// there); 2 bad input (nothing is written); 3 no point is violated but some is undecided.
    Sweep(SweepArgs),
    /// Estimate ism = E_p[½|s|² + ∇·s] from samples of p, as in practice, and compare with
    /// quadrature.
    ///
    /// Estimators: the exact trace, and sliced (Hutchinson) with Rademacher and Gaussian
    /// probes, plain and variance-reduced; each mean is compared with the quadrature value
    /// within 4 standard errors plus the quadrature error. Also checks the probe identities exactly at every
    /// draw (the average of vᵀJv over all 2^d sign vectors is tr J; the closed-form probe
    /// variances) and the sampled probe variance against the closed form.
    ///
    /// Samples: exact inverse CDF in 1-D and, per coordinate, for product densities (detected
    /// from vanishing mixed partials of log p); MALA with the exact gradient otherwise (its
    /// effective sample size and split-R̂ are reported). --seed makes every number
    /// reproducible.
    ///
    /// Exit codes: 0 every comparison agrees; 1 one disagrees; 2 bad input; 3 undecided
    /// (effective sample size below --min-ess, chains not mixed, or no quadrature value).
    Estimate(EstimateArgs),
    /// Denoising score matching: DSM(θ) against the objectives of the noised density, across a
    /// sweep of θ (cases of one or two variables).
    ///
    /// DSM(θ) = E½|s(x+ε) + ε/σ²|² (by cubature over (x, ε) and by Monte Carlo) against, in
    /// 1-D, the ESM of the noised density p_σ (its density and score by quadrature of the
    /// convolution), at each θ of a sweep. Their
    /// difference must be the same at every θ and equal 1/(2σ²) − ½E_pσ|∇log p_σ|²; and
    /// DSM − E_pσ[½s² + s'] (implicit score matching on noised data) must be 1/(2σ²).
    ///
    /// Exit codes: 0 every comparison agrees; 1 one disagrees; 2 bad input; 3 undecided.
    Dsm(DsmArgs),
    /// Fisher score matching: the same integration by parts in a simulator's parameter θ.
    ///
    /// For a simulator log p(x|θ), a proposal log q(θ) and a field s(x, θ), checks
    /// E[s·∂θ log p] = B − E[∂θ s + s·∂θ log q] with the boundary term B = ∫[q p s] over the
    /// ends of θ, and esm = E½(s − ∂θ log p)² = ism + const (see proofs/fisher.md).
    ///
    /// Exit codes: 0 the identity holds and B vanishes; 1 B is nonzero or a check fails;
    /// 2 bad input; 3 undecided.
    Fisher(FisherArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlotKind {
    /// The figure for the case's dimension (1-D or 2-D).
    Identity,
    /// The flux through the faces of [−R, R]^d against R.
    Boundary,
    /// |estimate − final| against evaluations.
    Convergence,
}

/// The quadrature settings of every command that runs `check`.
#[derive(Args)]
struct QuadArgs {
    /// Target error of every quantity: absolute for values up to 1 in size, relative above
    /// (default 1e-10 in 1-D, 1e-8 in 2-D, 1e-6 in 3-D and 4-D).
    #[arg(long, value_name = "TOL", allow_negative_numbers = true)]
    tol: Option<f64>,
    /// Evaluations allowed per cubature in 2-D and up (face integrals get N/10 each); when
    /// spent, the integrals are not converged and the check is undecided. A cubature also
    /// stops at 256 MiB of stored regions (see the README's limits).
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    max_evals: u64,
}

impl QuadArgs {
    fn options(&self) -> Result<CheckOptions, ExitCode> {
        check_options(self.tol, self.max_evals)
    }
}

#[derive(Args)]
struct PlotArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// The figure's file: .svg or .png.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Which figure.
    #[arg(long, value_enum, default_value = "identity")]
    kind: PlotKind,
    /// The figure's size in pixels, WIDTHxHEIGHT (default depends on the figure).
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    #[command(flatten)]
    quad: QuadArgs,
}

#[derive(Args)]
struct SweepArgs {
    /// The case; here `--param` is a grid NAME=LO:HI:N (N points, ends included) or a fixed
    /// NAME=VALUE, repeatable.
    #[command(flatten)]
    case: CaseArgs,
    /// Print JSON instead of the table (and no progress bar).
    #[arg(long)]
    json: bool,
    /// Write the table or JSON to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also draw esm(θ) and ism(θ) + const against the one grid parameter (.svg or .png).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// The figure's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    /// Threads to use (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    #[command(flatten)]
    quad: QuadArgs,
}

#[derive(Args)]
struct FisherArgs {
    /// log p(x|θ), normalized in x up to a constant that does not depend on θ.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    simulator: String,
    /// log q(θ), up to a constant, e.g. '-(theta - t0)^2/(2*h^2)'.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    proposal: String,
    /// The field s(x, θ) fitted to ∂θ log p(x|θ).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    field: String,
    /// Name of the parameter variable.
    #[arg(long, value_name = "NAME", default_value = "theta")]
    theta: String,
    /// Name of the data variable.
    #[arg(long, value_name = "NAME", default_value = "x")]
    data: String,
    /// The interval of θ as LO:HI.
    #[arg(
        long,
        value_name = "LO:HI",
        default_value = "-inf:inf",
        allow_hyphen_values = true
    )]
    theta_domain: String,
    /// The interval of x as LO:HI.
    #[arg(
        long,
        value_name = "LO:HI",
        default_value = "-inf:inf",
        allow_hyphen_values = true
    )]
    data_domain: String,
    /// Set a named constant, NAME=VALUE; repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    params: Vec<String>,
    /// Target error of the integrals.
    #[arg(
        long,
        value_name = "TOL",
        default_value_t = 1e-8,
        allow_negative_numbers = true
    )]
    tol: f64,
    /// Evaluations allowed for the cubature.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    max_evals: u64,
    /// Print the JSON report.
    #[arg(long)]
    json: bool,
    /// Write the output to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct DsmArgs {
    /// The case (one or two variables).
    #[command(flatten)]
    case: CaseArgs,
    /// Noise scale σ.
    #[arg(
        long,
        value_name = "SIGMA",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    sigma: f64,
    /// A parameter of the score to sweep: NAME=LO:HI:COUNT or NAME=V1,V2,…
    #[arg(long, value_name = "NAME=VALUES", allow_hyphen_values = true)]
    sweep: Option<String>,
    /// Monte Carlo draws.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    n: usize,
    /// Seed of every random number.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    seed: u64,
    /// Target error of the quadratures (default 1e-8 for one variable, 1e-5 for two).
    #[arg(long, value_name = "TOL", allow_negative_numbers = true)]
    tol: Option<f64>,
    /// Evaluations allowed for the cubature of DSM over (x, ε).
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    max_evals: u64,
    /// Print the JSON report.
    #[arg(long)]
    json: bool,
    /// Write the output to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct EstimateArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// Number of draws (over all chains).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    n: usize,
    /// Seed of every random number.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    seed: u64,
    /// The sampler: auto (inverse CDF in 1-D, per coordinate for a product density, MALA
    /// otherwise), inverse-cdf, product or mala.
    #[arg(long, value_name = "KIND", default_value = "auto")]
    sampler: String,
    /// MALA chains.
    #[arg(long, value_name = "K", default_value_t = 4)]
    chains: usize,
    /// MALA burn-in steps per chain (the step is adapted only during burn-in).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    burn_in: usize,
    /// Probe distributions of the sliced estimators, comma-separated: rademacher, gaussian.
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        default_value = "rademacher,gaussian"
    )]
    probes: Vec<String>,
    /// Probes per draw.
    #[arg(long, value_name = "M", default_value_t = 1)]
    probes_per_draw: usize,
    /// Below this effective sample size a comparison is undecided.
    #[arg(long, value_name = "ESS", default_value_t = 100.0)]
    min_ess: f64,
    #[command(flatten)]
    quad: QuadArgs,
    /// Print the JSON report (with the series of mean and se at n = 100, 300, 1000, …).
    #[arg(long)]
    json: bool,
    /// Write the output to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also draw each estimator's mean ± 2 se against n, with the quadrature value of ism
    /// (.svg or .png).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// The figure's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
}

#[derive(Args)]
struct ScoreArgs {
    /// The case: its [score] has a hand-written `field` (with `log_model` to compare against,
    /// and optionally `divergence`), in a file or as --score/--log-model/--divergence.
    #[command(flatten)]
    case: CaseArgs,
    /// Low-discrepancy points spread over the bulk of p (the modes and tail points come on top).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    points: usize,
    /// Relative tolerance: a and b agree when |a − b| <= atol + rtol·max(|a|, |b|).
    #[arg(
        long,
        value_name = "R",
        default_value = "1e-8",
        allow_negative_numbers = true
    )]
    rtol: f64,
    /// Absolute tolerance (see --rtol).
    #[arg(
        long,
        value_name = "A",
        default_value = "1e-10",
        allow_negative_numbers = true
    )]
    atol: f64,
    /// Print the JSON report instead of the text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProveArgs {
    /// The proof, e.g. proofs/score-matching-ibp.md.
    file: PathBuf,
    /// The folder of case files the claims run on.
    #[arg(long, value_name = "DIR", default_value = "proofs/cases")]
    cases: PathBuf,
    /// Evaluations allowed per cubature in 2-D and up.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    max_evals: u64,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    check: CheckArgs,
    /// Print a Markdown table instead of text (--json prints JSON).
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
}

/// The case, from a TOML file or from flags: one definition shared by every subcommand that
/// takes a case (check, explain, score, plot, sweep, estimate, dsm).
#[derive(Args)]
struct CaseArgs {
    /// A TOML case file (or give the case with --log-density/--pdf and --score/--log-model).
    case: Option<PathBuf>,
    /// Log of an unnormalized density, e.g. '-x**2/2'.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    log_density: Option<String>,
    /// An unnormalized density, e.g. 'exp(-x^2/2)' (evaluated in log space).
    #[arg(
        long,
        value_name = "EXPR",
        allow_hyphen_values = true,
        conflicts_with = "log_density"
    )]
    pdf: Option<String>,
    /// One component of the field s; repeat once per variable, in the order of --vars.
    #[arg(long = "score", value_name = "EXPR", allow_hyphen_values = true)]
    score: Vec<String>,
    /// A log-model whose gradient is the field (derivatives exact).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    log_model: Option<String>,
    /// A hand-written divergence ∇·s, checked by `score`.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    divergence: Option<String>,
    /// A weight h(x) >= 0 for the weighted identity.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    weight: Option<String>,
    /// Variables, comma-separated (default: the free symbols in natural order).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    vars: Option<Vec<String>>,
    /// The interval of one variable as LO:HI, numbers or constant expressions (0:inf,
    /// -pi:pi, 0:2*pi); repeat once per variable.
    #[arg(long = "domain", value_name = "LO:HI", allow_hyphen_values = true)]
    domain: Vec<String>,
    /// Set a named constant, NAME=VALUE (a number or a constant expression); repeatable;
    /// overrides the case file's params.
    #[arg(long = "param", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    params: Vec<String>,
    /// The case name in the report (flags only; a file's name is its `name` or stem).
    #[arg(long)]
    name: Option<String>,
    /// A breakpoint (kink or jump) of one variable, VAR=X; repeatable; added to the case
    /// file's `breaks` and to those found from the expressions.
    #[arg(long = "break", value_name = "VAR=X", allow_hyphen_values = true)]
    breaks: Vec<String>,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    case: CaseArgs,
    #[command(flatten)]
    quad: QuadArgs,
    /// Print the JSON report instead of the text table.
    #[arg(long)]
    json: bool,
    /// Write the output to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Print `text`, or write it to `out` through a temporary file renamed into place.
fn emit(out: Option<scorecheck::output::Pending>, text: &str) -> Result<(), ExitCode> {
    match out {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(p) => p.commit(text).map_err(bad_input),
    }
}

/// Open the output file early, so a bad path fails before the work.
fn open_out(path: &Option<PathBuf>) -> Result<Option<scorecheck::output::Pending>, ExitCode> {
    path.as_ref()
        .map(|p| scorecheck::output::Pending::create(p).map_err(bad_input))
        .transpose()
}

/// Print (or write) a report's text and exit with its code; when undecided, say why.
fn finish(
    out: Option<scorecheck::output::Pending>,
    text: &str,
    code: u8,
    why: &[String],
) -> ExitCode {
    if let Err(code) = emit(out, text) {
        return code;
    }
    if code == 3 {
        eprintln!("undecided: {}", why.join("; "));
    }
    ExitCode::from(code)
}

fn bad_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn spec_from_flags(a: &CaseArgs) -> Result<CaseSpec, String> {
    let density = match (&a.log_density, &a.pdf) {
        (Some(l), None) => (
            DensityKind::Log,
            Src {
                text: l.clone(),
                origin: "--log-density".into(),
            },
        ),
        (None, Some(p)) => (
            DensityKind::Pdf,
            Src {
                text: p.clone(),
                origin: "--pdf".into(),
            },
        ),
        _ => {
            return Err(
                "give a case file, or the density with --log-density EXPR or --pdf EXPR".into(),
            );
        }
    };
    if let Some(v) = &a.vars {
        scorecheck::case::check_flag_vars(v).map_err(|e| e.to_string())?;
    }
    if a.score.is_empty() && a.log_model.is_none() {
        return Err(
            "give the field with --score EXPR (once per variable) or --log-model EXPR".into(),
        );
    }
    let domain_ends = if a.domain.is_empty() {
        None
    } else {
        Some(
            a.domain
                .iter()
                .map(|s| parse_interval_ends(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
        )
    };
    let flag = |text: &Option<String>, origin: &str| {
        text.as_ref().map(|t| Src {
            text: t.clone(),
            origin: origin.into(),
        })
    };
    Ok(CaseSpec {
        name: a.name.clone().unwrap_or_else(|| "command-line".into()),
        vars: a.vars.clone(),
        domain: None,
        domain_ends,
        params: vec![],
        weight: flag(&a.weight, "--weight"),
        density: Some(density),
        field: (!a.score.is_empty()).then(|| {
            a.score
                .iter()
                .enumerate()
                .map(|(i, s)| Src {
                    text: s.clone(),
                    origin: format!("--score #{}", i + 1),
                })
                .collect()
        }),
        log_model: flag(&a.log_model, "--log-model"),
        divergence: flag(&a.divergence, "--divergence"),
        breaks: None,
        named_breaks: vec![],
        origin: "command line".into(),
    })
}

/// The case spec from the file or the flags (a file with case flags is bad input).
fn spec_of(a: &CaseArgs) -> Result<CaseSpec, ExitCode> {
    let mut spec = match &a.case {
        Some(path) => {
            let flags: Vec<&str> = [
                (a.log_density.is_some(), "--log-density"),
                (a.pdf.is_some(), "--pdf"),
                (!a.score.is_empty(), "--score"),
                (a.log_model.is_some(), "--log-model"),
                (a.divergence.is_some(), "--divergence"),
                (a.weight.is_some(), "--weight"),
                (a.vars.is_some(), "--vars"),
                (!a.domain.is_empty(), "--domain"),
                (a.name.is_some(), "--name"),
            ]
            .into_iter()
            .filter_map(|(on, n)| on.then_some(n))
            .collect();
            if !flags.is_empty() {
                return Err(bad_input(format!(
                    "{} cannot be combined with a case file; edit the file, or drop it and give the case by flags",
                    flags.join(", ")
                )));
            }
            load_case_file(path).map_err(bad_input)?
        }
        None => spec_from_flags(a).map_err(bad_input)?,
    };
    spec.named_breaks = a
        .breaks
        .iter()
        .map(|b| parse_param(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_input(e.to_string().replace("--param", "--break")))?;
    Ok(spec)
}

/// Make parameters set on the command line known to a case given by flags (which has no
/// params of its own), so that subcommands that only override known parameters accept them.
fn declare_flag_params(spec: &mut CaseSpec, params: &[(String, f64)]) {
    if spec.origin != "command line" {
        return;
    }
    for (k, v) in params {
        if !spec.params.iter().any(|(n, _, _)| n == k) {
            spec.params.push((k.clone(), *v, "--param".into()));
        }
    }
}

/// Load the case and run `check`; on bad input, the message is printed and the exit code
/// returned as the error.
fn report_of(a: &CheckArgs) -> Result<scorecheck::report::Report, ExitCode> {
    let case = load_case(&a.case)?;
    let opts = a.quad.options()?;
    scorecheck::check_case(&case, &opts).map_err(bad_input)
}

/// Parse the `--param NAME=VALUE` overrides.
fn overrides_of(params: &[String]) -> Result<Vec<(String, f64)>, ExitCode> {
    params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_input)
}

fn run_check(a: CheckArgs) -> ExitCode {
    let out = match open_out(&a.out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let report = match report_of(&a) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let text = if a.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    if let Err(code) = emit(out, &text) {
        return code;
    }
    let code = report.exit_code();
    if code == 3 {
        // The reasons: the explanations of the undecided verdicts only (in order ibp,
        // boundary, objective), else the notes.
        let v = &report.verdict;
        let undecided = [
            v.ibp == Ibp::Undecided,
            v.boundary == Boundary::Undecided,
            v.objective == ObjectiveVerdict::Undecided,
        ];
        let mut why: Vec<&str> = report
            .explanations
            .iter()
            .zip(undecided)
            .filter(|(e, u)| *u && !e.is_empty())
            .map(|(e, _)| e.as_str())
            .collect();
        if why.is_empty() {
            why = report.notes.iter().map(String::as_str).collect();
        }
        eprintln!("undecided: {}", why.join("; "));
    }
    ExitCode::from(code)
}

fn run_explain(a: ExplainArgs) -> ExitCode {
    let out = match open_out(&a.check.out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let report = match report_of(&a.check) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let ex = scorecheck::explain::explain(&report);
    let text = if a.check.json {
        format!("{}\n", ex.to_json())
    } else if a.markdown {
        ex.to_markdown()
    } else {
        ex.to_text()
    };
    if let Err(code) = emit(out, &text) {
        return code;
    }
    ExitCode::from(ex.exit_code())
}

fn run_score(a: ScoreArgs) -> ExitCode {
    let case = match load_case(&a.case) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = scorecheck::score::ScoreOptions {
        points: a.points,
        rtol: a.rtol,
        atol: a.atol,
        ..Default::default()
    };
    let report = match scorecheck::score_case(&case, &opts) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    if a.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    let code = report.exit_code();
    match code {
        1 => {
            for line in report.counterexample_lines() {
                eprintln!("counterexample: {line}");
            }
        }
        3 => eprintln!("undecided: {}", report.undecided_reasons().join("; ")),
        _ => {}
    }
    ExitCode::from(code)
}

/// Check `--tol` and `--max-evals`, shared by check, plot and sweep.
fn check_options(tol: Option<f64>, max_evals: u64) -> Result<CheckOptions, ExitCode> {
    if max_evals == 0 {
        return Err(bad_input("--max-evals must be at least 1"));
    }
    if let Some(t) = tol.filter(|t| t.is_nan() || *t <= 0.0 || t.is_infinite()) {
        return Err(bad_input(format!(
            "--tol must be a positive number, got {t}"
        )));
    }
    Ok(CheckOptions {
        tol,
        max_evals,
        ..Default::default()
    })
}

/// Parse `--size WxH`.
fn size_of(s: &Option<String>) -> Result<Option<(u32, u32)>, ExitCode> {
    let Some(s) = s else { return Ok(None) };
    let parsed = s
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if (200..=8000).contains(&w) && (150..=8000).contains(&h) => Ok(Some((w, h))),
        Some(_) => Err(bad_input(format!(
            "--size {s}: the size must be between 200x150 and 8000x8000 pixels"
        ))),
        None => Err(bad_input(format!(
            "--size {s}: expected WIDTHxHEIGHT in pixels, for example 1200x800"
        ))),
    }
}

/// Check a figure's file name (extension, folder) before any work; returns its format and
/// the pending file.
fn open_figure(
    path: &std::path::Path,
) -> Result<(scorecheck::plot::Format, scorecheck::output::Pending), ExitCode> {
    let format = scorecheck::plot::Format::of_path(path).map_err(bad_input)?;
    let pending = scorecheck::output::Pending::create(path).map_err(bad_input)?;
    Ok((format, pending))
}

fn run_plot(a: PlotArgs) -> ExitCode {
    let run = || -> Result<(), ExitCode> {
        let size = size_of(&a.size)?;
        let opts = a.quad.options()?;
        let (format, pending) = open_figure(&a.out)?;
        let case = load_case(&a.case)?;
        let report = scorecheck::check_case(&case, &opts).map_err(bad_input)?;
        if report.normalizer.evals == 0 && report.exit_code() == 3 {
            // Nothing was integrated (Report::undecided): there is nothing to draw.
            eprintln!("undecided: {}", report.notes.join("; "));
            return Err(ExitCode::from(3));
        }
        let kind = match a.kind {
            PlotKind::Identity => scorecheck::plot::Kind::Identity,
            PlotKind::Boundary => scorecheck::plot::Kind::Boundary,
            PlotKind::Convergence => scorecheck::plot::Kind::Convergence,
        };
        let fig = scorecheck::plot::figure_for(&case, &report, kind, &opts).map_err(bad_input)?;
        let bytes = scorecheck::plot::render(&fig, format, size).map_err(bad_input)?;
        pending.commit_bytes(&bytes).map_err(bad_input)
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn run_sweep(a: SweepArgs) -> ExitCode {
    use scorecheck::sweep::{ParamArg, parse_param_arg};
    use std::io::IsTerminal;
    let run = || -> Result<u8, ExitCode> {
        let size = size_of(&a.size)?;
        let opts = a.quad.options()?;
        if a.threads == Some(0) {
            return Err(bad_input("--threads must be at least 1"));
        }
        let mut grids = vec![];
        let mut fixed = vec![];
        for p in &a.case.params {
            match parse_param_arg(p).map_err(bad_input)? {
                ParamArg::Grid(g) => grids.push(g),
                ParamArg::Fixed(k, v) => fixed.push((k, v)),
            }
        }
        if a.plot.is_some() && grids.len() != 1 {
            return Err(bad_input(
                "--plot draws the objectives against one parameter; give exactly one grid --param NAME=LO:HI:N (fix the others with --param NAME=VALUE)",
            ));
        }
        let figure = a.plot.as_deref().map(open_figure).transpose()?;
        let out = open_out(&a.out)?;
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
        let n: usize = scorecheck::sweep::product(&grids)
            .map(|p| p.len())
            .unwrap_or(0);
        let bar = if a.json || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(n as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} {pos}/{len} points [{wide_bar}] {elapsed}, about {eta} left",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix("sweep");
            b
        };
        let done = || bar.inc(1);
        let work = || scorecheck::sweep::run(&spec, &grids, &fixed, &opts, &done);
        let sweep = match a.threads {
            Some(t) => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| bad_input(format!("--threads {t}: {e}")))?
                .install(work),
            None => work(),
        };
        bar.finish_and_clear();
        let sweep = sweep.map_err(bad_input)?;
        if let Some((format, pending)) = figure {
            let overrides: Vec<(String, f64)> = fixed
                .iter()
                .cloned()
                .chain(std::iter::once((grids[0].name.clone(), grids[0].values[0])))
                .collect();
            let case = spec.compile(&overrides, false).map_err(bad_input)?;
            let fig = sweep
                .figure(scorecheck::plot::domain_text(&case))
                .map_err(bad_input)?;
            let bytes =
                scorecheck::plot::render(&scorecheck::plot::Figure::Sweep(fig), format, size)
                    .map_err(bad_input)?;
            pending.commit_bytes(&bytes).map_err(bad_input)?;
        }
        let text = if a.json {
            format!("{}\n", sweep.to_json())
        } else {
            sweep.to_text()
        };
        emit(out, &text)?;
        Ok(sweep.exit_code)
    };
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(code) => code,
    }
}

/// Load the case (file or flags) and compile it with the `--param` overrides (a case given by
/// flags takes new parameters from them).
fn load_case(a: &CaseArgs) -> Result<scorecheck::case::Case, ExitCode> {
    let spec = spec_of(a)?;
    let overrides = overrides_of(&a.params)?;
    spec.compile(&overrides, spec.origin == "command line")
        .map_err(bad_input)
}

fn parse_sampler(s: &str) -> Result<scorecheck::sample::Sampler, ExitCode> {
    use scorecheck::sample::Sampler;
    match s {
        "auto" => Ok(Sampler::Auto),
        "inverse-cdf" => Ok(Sampler::InverseCdf),
        "product" => Ok(Sampler::Product),
        "mala" => Ok(Sampler::Mala),
        _ => Err(bad_input(format!(
            "--sampler must be auto, inverse-cdf, product or mala, got '{s}'"
        ))),
    }
}

fn run_estimate(a: EstimateArgs) -> ExitCode {
    use scorecheck::estimate::{EstimateOptions, Probe};
    // The figure's name and size are checked before any work, like the output file.
    let size = match size_of(&a.size) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let figure = match a.plot.as_deref().map(open_figure).transpose() {
        Ok(f) => f,
        Err(code) => return code,
    };
    let out = match open_out(&a.out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let prepared = (|| {
        let case = load_case(&a.case)?;
        let check = a.quad.options()?;
        let sampler = parse_sampler(&a.sampler)?;
        let mut probes = vec![];
        for p in &a.probes {
            probes.push(match p.as_str() {
                "rademacher" => Probe::Rademacher,
                "gaussian" => Probe::Gaussian,
                _ => {
                    return Err(bad_input(format!(
                        "--probes takes rademacher and gaussian, got '{p}'"
                    )));
                }
            });
        }
        if a.n < 2 {
            return Err(bad_input("--n must be at least 2"));
        }
        if a.chains == 0 {
            return Err(bad_input("--chains must be at least 1"));
        }
        if a.min_ess.is_nan() || a.min_ess < 0.0 {
            return Err(bad_input("--min-ess must be a number >= 0"));
        }
        let opts = EstimateOptions {
            sample: scorecheck::sample::SampleOptions {
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
        Ok((case, opts))
    })();
    let (case, opts) = match prepared {
        Ok(p) => p,
        Err(code) => return code,
    };
    let report = match scorecheck::estimate::estimate(&case, &opts) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    if let Some((format, pending)) = figure {
        let drawn = scorecheck::plot::estimate_figure(&report).and_then(|f| {
            scorecheck::plot::render(&scorecheck::plot::Figure::Estimate(f), format, size)
        });
        let written = drawn
            .map_err(bad_input)
            .and_then(|bytes| pending.commit_bytes(&bytes).map_err(bad_input));
        if let Err(code) = written {
            return code;
        }
    }
    let text = if a.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    finish(out, &text, report.exit_code(), &report.undecided_reasons())
}

fn run_dsm(a: DsmArgs) -> ExitCode {
    let out = match open_out(&a.out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut spec = match spec_of(&a.case) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let overrides = match overrides_of(&a.case.params) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let sweep = match a
        .sweep
        .as_deref()
        .map(scorecheck::dsm::parse_sweep)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let mut declared = overrides.clone();
    if let Some(first) = sweep
        .as_ref()
        .and_then(|s| Some((s.name.clone(), *s.values.first()?)))
    {
        declared.push(first);
    }
    declare_flag_params(&mut spec, &declared);
    if let Err(code) = check_options(a.tol, a.max_evals) {
        return code;
    }
    let opts = scorecheck::dsm::DsmOptions {
        sigma: a.sigma,
        n: a.n,
        seed: a.seed,
        tol: a.tol,
        max_evals: a.max_evals,
        ..Default::default()
    };
    let report = match scorecheck::dsm::dsm(&spec, &overrides, sweep.as_ref(), &opts) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let text = if a.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    finish(out, &text, report.exit_code(), &report.notes)
}

fn run_fisher(a: FisherArgs) -> ExitCode {
    let out = match open_out(&a.out) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let params = match overrides_of(&a.params) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let interval = |s: &str, flag: &str| {
        parse_interval(s).map_err(|e| bad_input(e.to_string().replacen("--domain", flag, 1)))
    };
    let theta_domain = match interval(&a.theta_domain, "--theta-domain") {
        Ok(d) => d,
        Err(code) => return code,
    };
    let data_domain = match interval(&a.data_domain, "--data-domain") {
        Ok(d) => d,
        Err(code) => return code,
    };
    if let Err(code) = check_options(Some(a.tol), a.max_evals) {
        return code;
    }
    let spec = scorecheck::fisher::FisherSpec {
        theta: a.theta,
        data: a.data,
        simulator: a.simulator,
        proposal: a.proposal,
        field: a.field,
        theta_domain,
        data_domain,
        params,
    };
    let opts = scorecheck::fisher::FisherOptions {
        tol: a.tol,
        max_evals: a.max_evals,
    };
    let report = match scorecheck::fisher::fisher(&spec, &opts) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let text = if a.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    finish(out, &text, report.exit_code(), &report.notes)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.cmd {
        Cmd::Check(a) => run_check(a),
        Cmd::Score(a) => run_score(a),
        Cmd::Explain(a) => run_explain(a),
        Cmd::Plot(a) => run_plot(a),
        Cmd::Sweep(a) => run_sweep(a),
        Cmd::Estimate(a) => run_estimate(a),
        Cmd::Dsm(a) => run_dsm(a),
        Cmd::Fisher(a) => run_fisher(a),
        Cmd::Prove(a) => match scorecheck::prove::prove(&a.file, &a.cases, a.max_evals) {
            Ok(run) => {
                print!("{}", run.to_text());
                ExitCode::from(run.exit_code())
            }
            Err(e) => bad_input(e),
        },
    }
}
