//! Estimators of the score-matching objective from samples, checked against quadrature.
//!
//! In practice the implicit objective `ism = E_p[½|s|² + ∇·s]` is estimated from draws of
//! `p` ([`crate::sample`]), often with the trace `∇·s = tr J` (`J_ij = ∂s_i/∂x_j`) replaced
//! by a random projection `vᵀJv` (Hutchinson; sliced score matching). Per draw `x` and
//! probes `v_1 … v_M`:
//!
//! ```text
//! exact trace   ½|s|² + tr J
//! sliced-vr     ½|s|² + (1/M) Σ_m v_mᵀ J v_m          (the variance-reduced form)
//! sliced        (1/M) Σ_m [½(v_mᵀ s)² + v_mᵀ J v_m]
//! ```
//!
//! All three are unbiased for `ism` when `E[v] = 0, E[vvᵀ] = I` (Rademacher or standard
//! Gaussian probes). Their means are compared with the quadrature value of `ism` from
//! [`crate::check`] within four standard errors plus the quadrature error.
//!
//! The identities behind the probes are also checked exactly at every draw:
//!
//! * Rademacher: the average of `vᵀJv` over all `2^d` sign vectors is `tr J` (the cross
//!   terms `v_i v_j`, `i ≠ j`, cancel in pairs), and the average of `(vᵀJv − tr J)²` is
//!   `½ Σ_{i≠j} (J_ij + J_ji)²`;
//! * Gaussian: with the 3-point Gauss–Hermite rule per axis (exact for polynomials of degree
//!   5, and `vᵀJv` squared has degree 4) the mean of `vᵀJv` is `tr J` and its variance is
//!   `½ Σ_{i,j} (J_ij + J_ji)²`.
//!
//! Derivation of the variances: with `A = (J + Jᵀ)/2`, `vᵀJv = vᵀAv`. For Rademacher
//! `v_i² = 1`, so `vᵀAv − tr A = 2 Σ_{i<j} A_ij v_i v_j`; the products `v_i v_j` of distinct
//! pairs are uncorrelated with variance 1, giving `4 Σ_{i<j} A_ij² = ½ Σ_{i≠j}(J_ij + J_ji)²`.
//! For Gaussian `v`, `Var(vᵀAv) = 2 tr A² = ½ Σ_{i,j}(J_ij + J_ji)²`.
//!
//! The Monte Carlo side of the variance is checked too: the mean over draws of
//! `(v_1ᵀJv_1 − tr J)² − V(x)`, with `V` the closed form at the draw, is zero in expectation.
//!
//! ```
//! use scorecheck::parse_case;
//! use scorecheck::{EstimateOptions, estimate};
//! use scorecheck::Agreement;
//!
//! // p = N(0, 1), s = −2x: ism = ½E[4x²] − 2 = 0.
//! let spec = parse_case("[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-2*x\"]\n", "c.toml", "c")
//!     .unwrap();
//! let case = spec.compile(&[], false).unwrap();
//! let mut opts = EstimateOptions::default();
//! opts.sample.n = 4000;
//! let r = estimate(&case, &opts).unwrap();
//! let exact = &r.estimators[0];
//! assert!(exact.mc.mean.abs() <= 4.0 * exact.mc.se);
//! assert_eq!(r.verdict, Agreement::Agrees);
//! ```
//!
//! Bounds (issue 17): the draws are bounded by `sample` ([`crate::sample::MAX_DRAWS`],
//! MALA steps), the probes per draw by [`MAX_PROBES_PER_DRAW`], the exact probe average by
//! the 2^d ≤ 16 sign vectors, the series by its logarithmic sizes; the quadrature value is a
//! `check` (see [`crate::check`] for its bounds).

use crate::case::Case;
use crate::check::{CheckError, CheckOptions};
use crate::model::MAX_DIM;
use crate::report::{Quantity, Status, fmt_value};
use crate::sample::{
    BLOCK, Method, SampleError, SampleOptions, rng_for, sample, stream, untrusted,
};
use crate::score::jacobian;
use crate::stats::{Agreement, McMean, compare, compare_to, mc_mean};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A probe distribution for the sliced estimators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// Independent ±1 entries.
    Rademacher,
    /// Independent standard normal entries.
    Gaussian,
}

impl Probe {
    pub fn name(self) -> &'static str {
        match self {
            Probe::Rademacher => "rademacher",
            Probe::Gaussian => "gaussian",
        }
    }
}

/// Options of [`estimate`].
#[derive(Clone, Debug)]
pub struct EstimateOptions {
    pub sample: SampleOptions,
    /// Probe distributions for the sliced estimators.
    pub probes: Vec<Probe>,
    /// Probes per draw (`M`).
    pub probes_per_draw: usize,
    /// Options of the quadrature reference.
    pub check: CheckOptions,
    /// Below this effective sample size a comparison is undecided.
    pub min_ess: f64,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            sample: SampleOptions::default(),
            probes: vec![Probe::Rademacher, Probe::Gaussian],
            probes_per_draw: 1,
            check: CheckOptions::default(),
            min_ess: 100.0,
        }
    }
}

/// One point of the convergence series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub n: usize,
    pub mean: f64,
    pub se: f64,
}

/// One estimator's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EstimatorResult {
    /// `exact_trace`, `sliced_vr` or `sliced`.
    pub form: String,
    pub probe: Option<Probe>,
    #[serde(flatten)]
    pub mc: McMean,
    /// `(mean − quadrature)/se`.
    pub z: Option<f64>,
    pub agreement: Agreement,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// The mean and standard error on the first n draws, n = 100, 300, 1000, …, all: the data
    /// of a plot of estimate ± 2 se against n.
    pub series: Vec<SeriesPoint>,
}

/// The relative rounding bound of the exact probe identities.
pub const IDENTITY_BOUND: f64 = 1e-12;

/// Exact checks of the probe identities over all draws. Each error is relative to the draw's
/// `max(1, Σ|J_ij|)` (means) or its square (variances).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeIdentities {
    /// max over draws of |average over all 2^d sign vectors of vᵀJv − tr J|.
    pub rademacher_mean_error: f64,
    /// max over draws of |average of (vᵀJv − tr J)² − ½Σ_{i≠j}(J_ij+J_ji)²|.
    pub rademacher_variance_error: f64,
    /// max over draws of |Gauss–Hermite mean of vᵀJv − tr J|.
    pub gaussian_mean_error: f64,
    /// max over draws of |Gauss–Hermite variance − ½Σ_{i,j}(J_ij+J_ji)²|.
    pub gaussian_variance_error: f64,
    /// The bound each relative error is held to ([`IDENTITY_BOUND`]).
    pub bound: f64,
    pub agreement: Agreement,
}

/// Monte Carlo checks of a probe distribution on the draws: the mean of `v₁ᵀJv₁ − tr J` is 0
/// (unbiasedness of the sliced trace, free of the sampling noise of `x`), and the mean of
/// `(v₁ᵀJv₁ − tr J)²` is the closed-form variance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeVariance {
    pub probe: Probe,
    /// Mean over draws of v₁ᵀJv₁ − tr J, zero in expectation.
    pub trace_bias: McMean,
    /// Mean over draws of (v₁ᵀJv₁ − tr J)².
    pub empirical: McMean,
    /// Mean over draws of the closed form V(x).
    pub closed_form: McMean,
    /// Mean of the difference, zero in expectation.
    pub difference: McMean,
    pub agreement: Agreement,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
}

/// The report of `scorecheck estimate`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EstimateReport {
    pub case: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    pub seed: u64,
    pub n: usize,
    pub probes_per_draw: usize,
    pub sampler: Method,
    /// `ism` by quadrature (from `check`).
    pub ism: Quantity,
    pub estimators: Vec<EstimatorResult>,
    pub probe_identities: ProbeIdentities,
    pub probe_variance: Vec<ProbeVariance>,
    pub verdict: Agreement,
    pub notes: Vec<String>,
}

/// Why an estimate cannot be run.
#[derive(Debug)]
pub enum EstimateError {
    Sample(SampleError),
    Check(CheckError),
    Options(String),
}

impl std::fmt::Display for EstimateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EstimateError::Sample(e) => write!(f, "{e}"),
            EstimateError::Check(e) => write!(f, "{e}"),
            EstimateError::Options(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EstimateError {}

fn quad_form(jac: &[[f64; MAX_DIM]; MAX_DIM], v: &[f64]) -> f64 {
    let d = v.len();
    let mut q = 0.0;
    for i in 0..d {
        for j in 0..d {
            q += v[i] * jac[i][j] * v[j];
        }
    }
    q
}

/// `½ Σ_{i≠j} (J_ij + J_ji)²` (Rademacher) or `½ Σ_{i,j} (J_ij + J_ji)²` (Gaussian): the
/// variance of `vᵀJv` at a point.
#[allow(clippy::needless_range_loop)] // the (i, j) and (j, i) entries are read together
pub fn probe_variance(jac: &[[f64; MAX_DIM]; MAX_DIM], d: usize, probe: Probe) -> f64 {
    let mut v = 0.0;
    for i in 0..d {
        for j in 0..d {
            if i == j && probe == Probe::Rademacher {
                continue;
            }
            let a = jac[i][j] + jac[j][i];
            v += a * a;
        }
    }
    0.5 * v
}

/// Mean and variance of `vᵀJv` over all `2^d` Rademacher sign vectors (exact).
pub fn rademacher_moments(jac: &[[f64; MAX_DIM]; MAX_DIM], d: usize) -> (f64, f64) {
    let tr: f64 = (0..d).map(|i| jac[i][i]).sum();
    let m = 1usize << d;
    let mut sum = 0.0;
    let mut sq = 0.0;
    let mut v = [0.0; MAX_DIM];
    // Bound: m = 2^d ≤ 16 sign vectors.
    for bits in 0..m {
        for (i, vi) in v.iter_mut().enumerate().take(d) {
            *vi = if bits >> i & 1 == 1 { -1.0 } else { 1.0 };
        }
        let q = quad_form(jac, &v[..d]);
        sum += q;
        sq += (q - tr) * (q - tr);
    }
    (sum / m as f64, sq / m as f64)
}

/// Mean and variance of `vᵀJv` for standard Gaussian `v`, by the 3-point Gauss–Hermite
/// product rule (nodes 0, ±√3 with weights 2/3, 1/6, 1/6: exact up to degree 5 per axis).
pub fn gaussian_moments(jac: &[[f64; MAX_DIM]; MAX_DIM], d: usize) -> (f64, f64) {
    let tr: f64 = (0..d).map(|i| jac[i][i]).sum();
    const NODES: [(f64, f64); 3] = [
        (0.0, 2.0 / 3.0),
        (1.732_050_807_568_877_2, 1.0 / 6.0),
        (-1.732_050_807_568_877_2, 1.0 / 6.0),
    ];
    let mut mean = 0.0;
    let mut var = 0.0;
    let mut v = [0.0; MAX_DIM];
    for idx in 0..3usize.pow(d as u32) {
        let mut w = 1.0;
        let mut r = idx;
        for vi in v.iter_mut().take(d) {
            let (x, wi) = NODES[r % 3];
            r /= 3;
            *vi = x;
            w *= wi;
        }
        let q = quad_form(jac, &v[..d]);
        mean += w * q;
        var += w * (q - tr) * (q - tr);
    }
    (mean, var)
}

/// The sizes at which the series is reported: 100, 300, 1000, 3000, … below `n`, then `n`.
pub fn series_sizes(n: usize) -> Vec<usize> {
    let mut out = vec![];
    let mut k = 100usize;
    let mut three = false;
    // Bound: k grows ×3 or ×10/3 each pass, so about 2·log10(n) passes.
    while k < n {
        out.push(k);
        k = if three { k / 3 * 10 } else { k * 3 };
        three = !three;
    }
    out.push(n);
    out
}

/// The most probes per draw (`--probes-per-draw`): the sliced estimators' cost is draws × probes.
pub const MAX_PROBES_PER_DRAW: usize = 1024;

/// Estimate `ism` from samples of the case's `p` and compare with quadrature.
pub fn estimate(case: &Case, opts: &EstimateOptions) -> Result<EstimateReport, EstimateError> {
    if opts.probes_per_draw == 0 {
        return Err(EstimateError::Options(
            "--probes-per-draw must be at least 1".into(),
        ));
    }
    // Bound: every draw runs probes_per_draw probes per estimator.
    if opts.probes_per_draw > MAX_PROBES_PER_DRAW {
        return Err(EstimateError::Options(format!(
            "--probes-per-draw must be at most {MAX_PROBES_PER_DRAW}, got {}",
            opts.probes_per_draw
        )));
    }
    let d = case.vars.len();
    let field = case.check_field();
    let report = crate::check_case(case, &opts.check).map_err(EstimateError::Check)?;
    let ism = report.objective.ism.clone();
    let samples =
        sample(&case.density, &case.domain, &opts.sample).map_err(EstimateError::Sample)?;
    let ind = samples.independent();
    let k = samples.chains.len();
    let mprobe = opts.probes_per_draw;

    // Per draw: the exact term, and per probe kind the two sliced terms and the variance
    // check values. Laid out [chain][draw] like the samples.
    let np = opts.probes.len();
    let shape = || vec![Vec::with_capacity(samples.chains[0].len()); k];
    let mut exact = shape();
    let mut vr: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut sl: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut emp: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut clo: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut dif: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut bias: Vec<Vec<Vec<f64>>> = (0..np).map(|_| shape()).collect();
    let mut ident = [0.0f64; 4];
    for (c, chain) in samples.chains.iter().enumerate() {
        let mut rng = rng_for(opts.sample.seed, stream::PROBES, (c as u64) << 32);
        for (t, x) in chain.iter().enumerate() {
            if t % BLOCK == 0 {
                rng = rng_for(
                    opts.sample.seed,
                    stream::PROBES,
                    ((c as u64) << 32) | (t / BLOCK) as u64,
                );
            }
            let (s, jac) = jacobian(&field, &x[..d]);
            let tr: f64 = (0..d).map(|i| jac[i][i]).sum();
            let half_s2: f64 = 0.5 * s[..d].iter().map(|v| v * v).sum::<f64>();
            exact[c].push(half_s2 + tr);
            // Rounding scales: Σ|J_ij| for the means, its square for the variances.
            let abs_j: f64 = (0..d)
                .flat_map(|i| (0..d).map(move |j| (i, j)))
                .map(|(i, j)| jac[i][j].abs())
                .sum::<f64>()
                .max(1.0);
            let (rm, rv) = rademacher_moments(&jac, d);
            let (gm, gv) = gaussian_moments(&jac, d);
            let e = [
                (rm - tr).abs() / abs_j,
                (rv - probe_variance(&jac, d, Probe::Rademacher)).abs() / (abs_j * abs_j),
                (gm - tr).abs() / abs_j,
                (gv - probe_variance(&jac, d, Probe::Gaussian)).abs() / (abs_j * abs_j),
            ];
            for (a, b) in ident.iter_mut().zip(e) {
                *a = a.max(if b.is_nan() { f64::INFINITY } else { b });
            }
            for (pi, probe) in opts.probes.iter().enumerate() {
                let mut sum_q = 0.0;
                let mut sum_sl = 0.0;
                let mut first = 0.0;
                let mut first_bias = 0.0;
                // Bound: mprobe ≤ MAX_PROBES_PER_DRAW.
                for m in 0..mprobe {
                    let mut v = [0.0; MAX_DIM];
                    for vi in v.iter_mut().take(d) {
                        *vi = match probe {
                            Probe::Rademacher => {
                                if rng.random::<bool>() {
                                    1.0
                                } else {
                                    -1.0
                                }
                            }
                            Probe::Gaussian => rng.sample(StandardNormal),
                        };
                    }
                    let q = quad_form(&jac, &v[..d]);
                    let vs: f64 = (0..d).map(|i| v[i] * s[i]).sum();
                    sum_q += q;
                    sum_sl += 0.5 * vs * vs + q;
                    if m == 0 {
                        first = (q - tr) * (q - tr);
                        first_bias = q - tr;
                    }
                }
                vr[pi][c].push(half_s2 + sum_q / mprobe as f64);
                sl[pi][c].push(sum_sl / mprobe as f64);
                let closed = probe_variance(&jac, d, *probe);
                emp[pi][c].push(first);
                clo[pi][c].push(closed);
                dif[pi][c].push(first - closed);
                bias[pi][c].push(first_bias);
            }
        }
    }

    // A sampler that barely moves: its chains cannot be trusted, whatever their spread says.
    let stuck = untrusted(&samples);
    let compare = |mc: &McMean, value: Option<f64>, error: f64, min_ess: f64| match &stuck {
        Some(why) => (Agreement::Undecided, why.clone()),
        None => compare(mc, value, error, min_ess),
    };
    let compare_ref = |mc: &McMean, reference: &Quantity, min_ess: f64| match &stuck {
        Some(why) => (Agreement::Undecided, why.clone()),
        None => compare_to(mc, reference, min_ess),
    };
    let sizes = series_sizes(samples.len());
    let result = |form: &str, probe: Option<Probe>, vals: &[Vec<f64>]| {
        let mc = mc_mean(vals, ind);
        let (agreement, why) = compare_ref(&mc, &ism, opts.min_ess);
        let z = ism.value.map(|v| (mc.mean - v) / mc.se);
        let series = sizes
            .iter()
            .filter_map(|&n| {
                let per = n / k;
                if per < 2 {
                    return None;
                }
                let cut: Vec<Vec<f64>> = vals
                    .iter()
                    .map(|c| c[..per.min(c.len())].to_vec())
                    .collect();
                let m = mc_mean(&cut, ind);
                Some(SeriesPoint {
                    n: m.n,
                    mean: m.mean,
                    se: m.se,
                })
            })
            .collect();
        EstimatorResult {
            form: form.into(),
            probe,
            mc,
            z,
            agreement,
            why,
            series,
        }
    };
    let mut estimators = vec![result("exact_trace", None, &exact)];
    for (pi, probe) in opts.probes.iter().enumerate() {
        estimators.push(result("sliced_vr", Some(*probe), &vr[pi]));
        estimators.push(result("sliced", Some(*probe), &sl[pi]));
    }
    let bound = IDENTITY_BOUND;
    let probe_identities = ProbeIdentities {
        rademacher_mean_error: ident[0],
        rademacher_variance_error: ident[1],
        gaussian_mean_error: ident[2],
        gaussian_variance_error: ident[3],
        bound,
        agreement: if ident.iter().all(|e| *e <= bound) {
            Agreement::Agrees
        } else {
            Agreement::Disagrees
        },
    };
    let probe_variance: Vec<ProbeVariance> = opts
        .probes
        .iter()
        .enumerate()
        .map(|(pi, probe)| {
            let difference = mc_mean(&dif[pi], ind);
            let trace_bias = mc_mean(&bias[pi], ind);
            let (a1, why1) = compare(&trace_bias, Some(0.0), 0.0, opts.min_ess);
            let (a2, why2) = compare(&difference, Some(0.0), 0.0, opts.min_ess);
            let agreement = Agreement::all([a1, a2]);
            let why = [why1, why2]
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            ProbeVariance {
                probe: *probe,
                trace_bias,
                empirical: mc_mean(&emp[pi], ind),
                closed_form: mc_mean(&clo[pi], ind),
                difference,
                agreement,
                why,
            }
        })
        .collect();
    let mut notes = vec![];
    if let Method::InverseCdf { cdf_error } | Method::Product { cdf_error, .. } = samples.method
        && cdf_error > 1e-6
    {
        {
            notes.push(format!(
                "the tabulated CDF has a relative error of about {cdf_error:.1e}"
            ));
        }
    }
    if ism.status != Status::Ok {
        notes.push(format!(
            "the quadrature value of ism is {:?}: comparisons with it are undecided unless it has a value",
            ism.status
        ));
    }
    let verdict = Agreement::all(
        estimators
            .iter()
            .map(|e| e.agreement)
            .chain(std::iter::once(probe_identities.agreement))
            .chain(probe_variance.iter().map(|p| p.agreement)),
    );
    Ok(EstimateReport {
        case: case.name.clone(),
        vars: case.vars.clone(),
        params: case.params.clone(),
        seed: opts.sample.seed,
        n: samples.len(),
        probes_per_draw: mprobe,
        sampler: samples.method.clone(),
        ism,
        estimators,
        probe_identities,
        probe_variance,
        verdict,
        notes,
    })
}

/// `mean ± se` with the digits the standard error supports.
pub fn fmt_mc(m: &McMean) -> String {
    if m.se == 0.0 {
        return format!("{} (no spread)", m.mean);
    }
    fmt_value(m.mean, m.se)
}

impl EstimateReport {
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// The reasons of undecided comparisons.
    pub fn undecided_reasons(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .estimators
            .iter()
            .filter(|e| e.agreement == Agreement::Undecided)
            .map(|e| format!("{}: {}", label(e), e.why))
            .collect();
        out.extend(
            self.probe_variance
                .iter()
                .filter(|p| p.agreement == Agreement::Undecided)
                .map(|p| format!("{} probes: {}", p.probe.name(), p.why)),
        );
        out.dedup();
        out
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "estimate: {} ({}), n = {}, seed {}",
            self.case,
            self.vars.join(", "),
            self.n,
            self.seed
        );
        if !self.params.is_empty() {
            let ps: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let _ = writeln!(o, "params: {}", ps.join(", "));
        }
        match &self.sampler {
            Method::InverseCdf { cdf_error } => {
                let _ = writeln!(
                    o,
                    "sampler: inverse CDF, independent exact draws (CDF relative error ~{cdf_error:.0e})"
                );
            }
            Method::Product { cdf_error, probes } => {
                let _ = writeln!(
                    o,
                    "sampler: product of 1-D inverse CDFs, independent exact draws (CDF relative error ~{cdf_error:.0e}; the mixed partials of log p vanished at {probes} probe points)"
                );
            }
            Method::Mala {
                chains,
                burn_in,
                step,
                acceptance,
            } => {
                let _ = writeln!(
                    o,
                    "sampler: MALA, {chains} chains, burn-in {burn_in} each, step {step:.3}, acceptance {acceptance:.3}"
                );
            }
        }
        let _ = writeln!(o, "ism by quadrature: {}", crate::report::fmt_q(&self.ism));
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<24} {:<26} {:>8} {:>7} {:>6}  verdict",
            "estimator", "mean ± se", "ESS", "R̂", "z"
        );
        for e in &self.estimators {
            let _ = writeln!(
                o,
                "{:<24} {:<26} {:>8.0} {:>7.3} {:>6}  {}",
                label(e),
                fmt_mc(&e.mc),
                e.mc.ess,
                e.mc.rhat,
                e.z.filter(|z| z.is_finite())
                    .map_or("—".to_string(), |z| format!("{z:+.2}")),
                e.agreement.mark()
            );
        }
        let _ = writeln!(o);
        let pi = &self.probe_identities;
        let _ = writeln!(
            o,
            "probe identities at every draw (exact; relative bound {:.0e}): {}",
            pi.bound,
            pi.agreement.mark()
        );
        let _ = writeln!(
            o,
            "  Rademacher, all 2^d signs: mean − tr J {:.1e}, variance − ½Σ_(i≠j)(J_ij+J_ji)² {:.1e}",
            pi.rademacher_mean_error, pi.rademacher_variance_error
        );
        let _ = writeln!(
            o,
            "  Gaussian, Gauss–Hermite:   mean − tr J {:.1e}, variance − ½Σ_(i,j)(J_ij+J_ji)² {:.1e}",
            pi.gaussian_mean_error, pi.gaussian_variance_error
        );
        for p in &self.probe_variance {
            let _ = writeln!(
                o,
                "{} probes on the draws: mean of vᵀJv − tr J {} (0 expected); variance {} vs closed form {}: {}",
                p.probe.name(),
                fmt_mc(&p.trace_bias),
                fmt_mc(&p.empirical),
                fmt_mc(&p.closed_form),
                p.agreement.mark()
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(o, "series (mean ± 2 se) of the exact-trace estimator:");
        if let Some(e) = self.estimators.first() {
            for s in &e.series {
                let _ = writeln!(o, "  n = {:>7}: {}", s.n, fmt_value(s.mean, 2.0 * s.se));
            }
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        let _ = writeln!(o, "verdict: {}", self.verdict.mark());
        o
    }
}

fn label(e: &EstimatorResult) -> String {
    match e.probe {
        Some(p) => format!("{} ({})", e.form, p.name()),
        None => e.form.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_sizes_are_1_3_decades() {
        assert_eq!(series_sizes(10_000), vec![100, 300, 1000, 3000, 10_000]);
        assert_eq!(series_sizes(500), vec![100, 300, 500]);
        assert_eq!(series_sizes(50), vec![50]);
    }

    #[test]
    fn probe_variances_of_a_known_matrix() {
        // J = [[1, 2], [0, 3]]: J+Jᵀ off-diagonal 2, diagonal 2 and 6.
        // Rademacher: ½(2² + 2²) = 4. Gaussian: ½(2² + 2² + 2² + 6²) = 24.
        let mut j = [[0.0; MAX_DIM]; MAX_DIM];
        j[0][0] = 1.0;
        j[0][1] = 2.0;
        j[1][1] = 3.0;
        assert_eq!(probe_variance(&j, 2, Probe::Rademacher), 4.0);
        assert_eq!(probe_variance(&j, 2, Probe::Gaussian), 24.0);
        // vᵀJv over signs: (1+2+3), (1−2+3), (1−2+3), (1+2+3) → mean 4 = tr J, var 4.
        assert_eq!(rademacher_moments(&j, 2), (4.0, 4.0));
        let (m, v) = gaussian_moments(&j, 2);
        assert!(
            (m - 4.0).abs() < 1e-14 && (v - 24.0).abs() < 1e-13,
            "{m} {v}"
        );
    }
}
