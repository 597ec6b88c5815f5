//! The arguments of every command, shared ones defined once and flattened: the case
//! ([`CaseArgs`], with `--param` from [`ParamArgs`]), the quadrature ([`QuadArgs`]) and the
//! output ([`OutArgs`]: `--json`, `--out`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Check the integration-by-parts identity behind score matching, with exact derivatives.
#[derive(Parser)]
#[command(name = "scorecheck", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
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
pub(crate) enum PlotKind {
    /// The figure for the case's dimension (1-D or 2-D).
    Identity,
    /// The flux through the faces of [−R, R]^d against R.
    Boundary,
    /// |estimate − final| against evaluations.
    Convergence,
}

/// The quadrature settings of every command that runs `check`.
#[derive(Args)]
pub(crate) struct QuadArgs {
    /// Target error of every quantity: absolute for values up to 1 in size, relative above
    /// (default 1e-10 in 1-D, 1e-8 in 2-D, 1e-6 in 3-D and 4-D).
    #[arg(long, value_name = "TOL", allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// Evaluations allowed per cubature in 2-D and up (face integrals get N/10 each); when
    /// spent, the integrals are not converged and the check is undecided. A cubature also
    /// stops at 256 MiB of stored regions (see the README's limits).
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub max_evals: u64,
}

#[derive(Args)]
pub(crate) struct PlotArgs {
    #[command(flatten)]
    pub case: CaseArgs,
    /// The figure's file: .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Which figure.
    #[arg(long, value_enum, default_value = "identity")]
    pub kind: PlotKind,
    /// The figure's size in pixels, WIDTHxHEIGHT (default depends on the figure).
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    #[command(flatten)]
    pub quad: QuadArgs,
}

#[derive(Args)]
pub(crate) struct SweepArgs {
    /// The case; here `--param` is a grid NAME=LO:HI:N (N points, ends included) or a fixed
    /// NAME=VALUE, repeatable.
    #[command(flatten)]
    pub case: CaseArgs,
    #[command(flatten)]
    pub output: OutArgs,
    /// Also draw esm(θ) and ism(θ) + const against the one grid parameter (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The figure's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
    /// Threads to use (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub quad: QuadArgs,
}

#[derive(Args)]
pub(crate) struct FisherArgs {
    /// log p(x|θ), normalized in x up to a constant that does not depend on θ.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub simulator: String,
    /// log q(θ), up to a constant, e.g. '-(theta - t0)^2/(2*h^2)'.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub proposal: String,
    /// The field s(x, θ) fitted to ∂θ log p(x|θ).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub field: String,
    /// Name of the parameter variable.
    #[arg(long, value_name = "NAME", default_value = "theta")]
    pub theta: String,
    /// Name of the data variable.
    #[arg(long, value_name = "NAME", default_value = "x")]
    pub data: String,
    /// The interval of θ as LO:HI.
    #[arg(
        long,
        value_name = "LO:HI",
        default_value = "-inf:inf",
        allow_hyphen_values = true
    )]
    pub theta_domain: String,
    /// The interval of x as LO:HI.
    #[arg(
        long,
        value_name = "LO:HI",
        default_value = "-inf:inf",
        allow_hyphen_values = true
    )]
    pub data_domain: String,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Target error of the integrals.
    #[arg(
        long,
        value_name = "TOL",
        default_value_t = 1e-8,
        allow_negative_numbers = true
    )]
    pub tol: f64,
    /// Evaluations allowed for the cubature.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub max_evals: u64,
    #[command(flatten)]
    pub output: OutArgs,
}

#[derive(Args)]
pub(crate) struct DsmArgs {
    /// The case (one or two variables).
    #[command(flatten)]
    pub case: CaseArgs,
    /// Noise scale σ.
    #[arg(
        long,
        value_name = "SIGMA",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub sigma: f64,
    /// A parameter of the score to sweep: NAME=LO:HI:COUNT or NAME=V1,V2,…
    #[arg(long, value_name = "NAME=VALUES", allow_hyphen_values = true)]
    pub sweep: Option<String>,
    /// Monte Carlo draws.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub n: usize,
    /// Seed of every random number.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    pub seed: u64,
    /// Target error of the quadratures (default 1e-8 for one variable, 1e-5 for two).
    #[arg(long, value_name = "TOL", allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// Evaluations allowed for the cubature of DSM over (x, ε).
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_evals: u64,
    #[command(flatten)]
    pub output: OutArgs,
}

#[derive(Args)]
pub(crate) struct EstimateArgs {
    #[command(flatten)]
    pub case: CaseArgs,
    /// Number of draws (over all chains).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub n: usize,
    /// Seed of every random number.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    pub seed: u64,
    /// The sampler: auto (inverse CDF in 1-D, per coordinate for a product density, MALA
    /// otherwise), inverse-cdf, product or mala.
    #[arg(long, value_name = "KIND", value_enum, default_value = "auto")]
    pub sampler: SamplerArg,
    /// MALA chains.
    #[arg(long, value_name = "K", default_value_t = 4)]
    pub chains: usize,
    /// MALA burn-in steps per chain (the step is adapted only during burn-in).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub burn_in: usize,
    /// Probe distributions of the sliced estimators, comma-separated: rademacher, gaussian.
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        value_enum,
        default_value = "rademacher,gaussian"
    )]
    pub probes: Vec<ProbeArg>,
    /// Probes per draw.
    #[arg(long, value_name = "M", default_value_t = 1)]
    pub probes_per_draw: usize,
    /// Below this effective sample size a comparison is undecided.
    #[arg(long, value_name = "ESS", default_value_t = 100.0)]
    pub min_ess: f64,
    #[command(flatten)]
    pub quad: QuadArgs,
    #[command(flatten)]
    pub output: OutArgs,
    /// Also draw each estimator's mean ± 2 se against n, with the quadrature value of ism
    /// (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// The figure's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH")]
    pub size: Option<String>,
}

#[derive(Args)]
pub(crate) struct ScoreArgs {
    /// The case: its [score] has a hand-written `field` (with `log_model` to compare against,
    /// and optionally `divergence`), in a file or as --score/--log-model/--divergence.
    #[command(flatten)]
    pub case: CaseArgs,
    /// Low-discrepancy points spread over the bulk of p (the modes and tail points come on top).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub points: usize,
    /// Relative tolerance: a and b agree when |a − b| <= atol + rtol·max(|a|, |b|).
    #[arg(
        long,
        value_name = "R",
        default_value = "1e-8",
        allow_negative_numbers = true
    )]
    pub rtol: f64,
    /// Absolute tolerance (see --rtol).
    #[arg(
        long,
        value_name = "A",
        default_value = "1e-10",
        allow_negative_numbers = true
    )]
    pub atol: f64,
    #[command(flatten)]
    pub output: OutArgs,
}

#[derive(Args)]
pub(crate) struct ProveArgs {
    /// The proof, e.g. proofs/score-matching-ibp.md.
    pub file: PathBuf,
    /// The folder of case files the claims run on (default: the gallery the proof names in
    /// a ```proof block, else proofs/cases).
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Evaluations allowed per cubature in 2-D and up.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub max_evals: u64,
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Print a Markdown table instead of text (--json prints JSON).
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

/// The case, from a TOML file or from flags: one definition shared by every subcommand that
/// takes a case (check, explain, score, plot, sweep, estimate, dsm).
#[derive(Args)]
pub(crate) struct CaseArgs {
    /// A TOML case file (or give the case with --log-density/--pdf and --score/--log-model).
    pub case: Option<PathBuf>,
    /// Log of an unnormalized density, e.g. '-x**2/2'.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub log_density: Option<String>,
    /// An unnormalized density, e.g. 'exp(-x^2/2)' (evaluated in log space).
    #[arg(
        long,
        value_name = "EXPR",
        allow_hyphen_values = true,
        conflicts_with = "log_density"
    )]
    pub pdf: Option<String>,
    /// One component of the field s; repeat once per variable, in the order of --vars.
    #[arg(long = "score", value_name = "EXPR", allow_hyphen_values = true)]
    pub score: Vec<String>,
    /// A log-model whose gradient is the field (derivatives exact).
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub log_model: Option<String>,
    /// A hand-written divergence ∇·s, checked by `score`.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub divergence: Option<String>,
    /// A weight h(x) >= 0 for the weighted identity.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub weight: Option<String>,
    /// Variables, comma-separated (default: the free symbols in natural order).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub vars: Option<Vec<String>>,
    /// The interval of one variable as LO:HI, numbers or constant expressions (0:inf,
    /// -pi:pi, 0:2*pi); repeat once per variable.
    #[arg(long = "domain", value_name = "LO:HI", allow_hyphen_values = true)]
    pub domain: Vec<String>,
    #[command(flatten)]
    pub params: ParamArgs,
    /// The case name in the report (flags only; a file's name is its `name` or stem).
    #[arg(long)]
    pub name: Option<String>,
    /// A breakpoint (kink or jump) of one variable, VAR=X; repeatable; added to the case
    /// file's `breaks` and to those found from the expressions.
    #[arg(long = "break", value_name = "VAR=X", allow_hyphen_values = true)]
    pub breaks: Vec<String>,
}

#[derive(Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub case: CaseArgs,
    #[command(flatten)]
    pub quad: QuadArgs,
    #[command(flatten)]
    pub output: OutArgs,
}

/// `--param NAME=VALUE`, repeatable: one definition for every command that takes parameters.
#[derive(Args)]
pub(crate) struct ParamArgs {
    /// Set a named constant, NAME=VALUE (a number or a constant expression); repeatable;
    /// overrides the case file's params. (sweep: also a grid NAME=LO:HI:N, N points, ends
    /// included.)
    #[arg(long = "param", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    pub list: Vec<String>,
}

/// `--json` and `--out`: one definition for every command that prints a report.
#[derive(Args)]
pub(crate) struct OutArgs {
    /// Print the JSON report instead of the text (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Write the output to this file (whole or not at all) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--sampler`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SamplerArg {
    /// Inverse CDF in 1-D, per coordinate for a product density, MALA otherwise.
    Auto,
    /// Inverse CDF (one variable).
    InverseCdf,
    /// Inverse CDF per coordinate (product densities).
    Product,
    /// MALA with the exact gradient (any dimension).
    Mala,
}

/// `--probes`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ProbeArg {
    /// Independent ±1 entries.
    Rademacher,
    /// Independent standard normal entries.
    Gaussian,
}
