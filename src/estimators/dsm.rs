//! Denoising score matching (DSM) against explicit score matching of the noised density.
//!
//! With Gaussian noise of scale σ, `y = x + ε`, `x ~ p`, `ε ~ N(0, σ²)`:
//!
//! ```text
//! DSM(θ)       = E_{x,ε} ½|s_θ(x + ε) + ε/σ²|²
//! ESM_σ(θ)     = E_{p_σ} ½|s_θ(y) − ∇log p_σ(y)|²,   p_σ = p ∗ φ_σ
//! DSM(θ) − ESM_σ(θ) = d/(2σ²) − ½E_{p_σ}|∇log p_σ|²   (independent of θ)
//! ```
//!
//! (Expand both squares: the `½|s|²` terms agree; the cross terms agree because
//! `∫ p(x) φ_σ(y − x) (y − x)/σ² dx = −∇p_σ(y)`; what is left, `E|ε|²/(2σ⁴) = d/(2σ²)` on
//! one side and `½E|∇log p_σ|²` on the other, does not involve θ.)
//!
//! Each side is computed independently:
//!
//! * DSM by cubature over `(x, ε)` (2 or 4 dimensions, [`crate::quad::cubature`]), all θ of a
//!   sweep at once, and by Monte Carlo from draws of `p` ([`crate::sample`]) with Gaussian
//!   noise;
//! * for one variable, ESM_σ by nested quadrature: `p_σ(y)` and `∇p_σ(y)` by tanh-sinh over `x` at each `y`
//!   ([`crate::quad::integrate_1d`]), inside a tanh-sinh integral over `y`. The inner errors
//!   are carried to the outer value through the derivatives of the integrand
//!   `½(P s − G)²/P` in `P = p_σ` and `G = ∇p_σ`: `|s − g|·e_G + ½|s − g||s + g|·e_P`.
//!
//! The constant `DSM − ESM_σ` must then be the same at every θ, and equal to the closed
//! form `1/(2σ²) − ½E_{p_σ}|∇log p_σ|²` (whose last term is a third nested integral).
//! Since `ESM_σ = ISM_σ + ½E_{p_σ}|∇log p_σ|²` (score matching's own identity, for the noised
//! density), `DSM = ISM_σ + d/(2σ²)` with `ISM_σ = E_{p_σ}[½|s|² + ∇·s]`; that is checked too,
//! with `ISM_σ` from the same cubature over `(x, ε)` as DSM — and, for two variables, it is
//! the check (ESM_σ would need a 2-D quadrature of p_σ at every point of a 2-D quadrature).
//!
//! ```
//! use scorecheck::parse_case;
//! use scorecheck::{DsmOptions, dsm};
//!
//! // p = N(0, 1), σ = 1, s = −2(x − 1): DSM = 4.5, ESM(p_σ) = 4.25, constant 0.25.
//! let spec = parse_case("[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-2*(x-1)\"]\n", "c.toml", "c")
//!     .unwrap();
//! let r = dsm(&spec, &[], None, &DsmOptions { n: 2000, ..Default::default() }).unwrap();
//! let p = &r.points[0];
//! assert!((p.dsm.value.unwrap() - 4.5).abs() <= p.dsm.error.unwrap());
//! let esm = p.esm_sigma.as_ref().unwrap();
//! assert!((esm.value.unwrap() - 4.25).abs() <= esm.error.unwrap());
//! let c = p.constant.as_ref().unwrap();
//! assert!((c.value.unwrap() - 0.25).abs() <= c.error.unwrap());
//! ```
//!
//! Bounds (issue 17): at most [`MAX_SWEEP_VALUES`] values of θ and
//! [`crate::sample::MAX_DRAWS`] Monte Carlo draws (beyond is bad input); each cubature ends at
//! its `--max-evals` or at `quad::max_regions`; `locate` bounds the pieces.

use crate::case::{Case, CaseSpec};
use crate::check::status_for_value;
use crate::locate::Located;
use crate::locate::locate;
use crate::model::{Density, MAX_DIM, ScoreField};
use crate::quad::{Cell, Piece, cubature, integrate_1d, pointwise};
use crate::report::{Quantity, Status, fmt_q, fmt_value};
use crate::sample::{BLOCK, SampleOptions, Sampler, rng_for, sample, stream, untrusted};
use crate::score::values_and_divergence;
use crate::stats::{Agreement, compare_to};
use crate::stats::{McMean, mc_mean};
use rand_distr::StandardNormal;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// The most values of a `--sweep` (each is a full DSM comparison with its own cubatures).
pub const MAX_SWEEP_VALUES: usize = 1000;

/// A parameter swept over values: `NAME=LO:HI:COUNT` or `NAME=V1,V2,…`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    pub name: String,
    pub values: Vec<f64>,
}

/// Parse `NAME=LO:HI:COUNT` (COUNT evenly spaced values from LO to HI) or `NAME=V1,V2,…`.
pub fn parse_sweep(s: &str) -> Result<Sweep, String> {
    let bad = |why: &str| format!("--sweep {s}: {why}; expected NAME=LO:HI:COUNT or NAME=V1,V2,…");
    let (name, rest) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("no parameter name"));
    }
    let num = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(&format!("'{}' is not a finite number", t.trim())))
    };
    let values = if rest.contains(':') {
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 3 {
            return Err(bad("a range has three parts"));
        }
        let (lo, hi) = (num(parts[0])?, num(parts[1])?);
        let n: usize = parts[2]
            .trim()
            .parse()
            .ok()
            .filter(|n| (2..=MAX_SWEEP_VALUES).contains(n))
            .ok_or_else(|| bad("COUNT must be a whole number from 2 to 1000"))?;
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    } else {
        rest.split(',').map(num).collect::<Result<Vec<_>, _>>()?
    };
    if values.len() < 2 {
        return Err(bad("a sweep needs at least two values"));
    }
    if values.len() > MAX_SWEEP_VALUES {
        return Err(bad("a sweep has at most 1000 values"));
    }
    Ok(Sweep {
        name: name.to_string(),
        values,
    })
}

/// Options of [`dsm`].
#[derive(Clone, Debug)]
pub struct DsmOptions {
    /// Noise scale σ.
    pub sigma: f64,
    /// Monte Carlo draws.
    pub n: usize,
    pub seed: u64,
    /// Target error of the quadratures (absolute up to 1, relative above); default 1e-8 for
    /// one variable, 1e-5 for two (a 4-D cubature).
    pub tol: Option<f64>,
    /// Evaluations allowed for the 2-D cubature of DSM.
    pub max_evals: u64,
    pub min_ess: f64,
}

impl Default for DsmOptions {
    fn default() -> Self {
        DsmOptions {
            sigma: 1.0,
            n: 10_000,
            seed: 1,
            tol: None,
            max_evals: 10_000_000,
            min_ess: 100.0,
        }
    }
}

/// Results at one θ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DsmPoint {
    /// The swept parameter's value (absent without a sweep).
    pub theta: Option<f64>,
    /// DSM by 2-D cubature over (x, ε).
    pub dsm: Quantity,
    /// DSM by Monte Carlo.
    pub dsm_mc: McMean,
    /// Monte Carlo against cubature.
    pub mc_agreement: Agreement,
    /// ESM of p_σ by nested quadrature (one variable only).
    pub esm_sigma: Option<Quantity>,
    /// DSM − ESM_σ (one variable only).
    pub constant: Option<Quantity>,
    /// ISM_σ = E_{p_σ}[½s² + s'] (by the same cubature over (x, ε)).
    pub ism_sigma: Quantity,
    /// DSM − ISM_σ, which must be d/(2σ²) (the identity's other face: DSM is implicit score
    /// matching on noised data plus a known constant).
    pub dsm_minus_ism: Quantity,
    /// Whether DSM − ISM_σ = d/(2σ²) within its error.
    pub ism_agreement: Agreement,
}

/// The report of `scorecheck dsm`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DsmReport {
    pub case: String,
    pub vars: Vec<String>,
    pub sigma: f64,
    pub n: usize,
    pub seed: u64,
    pub sweep: Option<String>,
    pub points: Vec<DsmPoint>,
    /// ½E_{p_σ}|∇log p_σ|² by nested quadrature (one variable only).
    pub fisher_sigma: Option<Quantity>,
    /// The closed form of the constant, 1/(2σ²) − fisher_sigma (one variable only).
    pub constant_formula: Option<Quantity>,
    /// The constants agree with each other and with the formula within their errors (one
    /// variable only).
    pub constant_agreement: Option<Agreement>,
    pub verdict: Agreement,
    pub notes: Vec<String>,
}

/// Bad input for [`dsm`].
#[derive(Debug, Clone, PartialEq)]
pub struct DsmError(pub String);

impl std::fmt::Display for DsmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for DsmError {}

fn phi(e: f64, sigma: f64) -> f64 {
    (-0.5 * (e / sigma).powi(2)).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

/// `p_σ` and `∇p_σ` (both times `Z e^{−log_max}`), with their error estimates.
#[derive(Clone, Copy, Debug)]
struct Noised {
    p: f64,
    ep: f64,
    g: f64,
    eg: f64,
    evals: u64,
}

/// Check the DSM identities on a case of one or two variables, at each value of the sweep
/// (or at the case's own parameters).
pub fn dsm(
    spec: &CaseSpec,
    overrides: &[(String, f64)],
    sweep: Option<&Sweep>,
    opts: &DsmOptions,
) -> Result<DsmReport, DsmError> {
    let sigma = opts.sigma;
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(DsmError(format!(
            "--sigma must be a positive number, got {sigma}"
        )));
    }
    if opts.n < 2 {
        return Err(DsmError("--n must be at least 2".into()));
    }
    if opts.n > crate::sample::MAX_DRAWS {
        return Err(DsmError(format!(
            "--n must be at most {}, got {}",
            crate::sample::MAX_DRAWS,
            opts.n
        )));
    }
    // One compiled case per θ.
    let thetas: Vec<Option<f64>> = match sweep {
        Some(s) => s.values.iter().map(|v| Some(*v)).collect(),
        None => vec![None],
    };
    let mut cases: Vec<Case> = vec![];
    for t in &thetas {
        let mut ov = overrides.to_vec();
        if let (Some(s), Some(v)) = (sweep, t) {
            if overrides.iter().any(|(k, _)| *k == s.name) {
                return Err(DsmError(format!(
                    "--sweep {}: the parameter is also set with --param",
                    s.name
                )));
            }
            if !spec.params.iter().any(|(k, _, _)| *k == s.name) {
                let have: Vec<&str> = spec.params.iter().map(|(k, _, _)| k.as_str()).collect();
                return Err(DsmError(format!(
                    "--sweep: unknown parameter `{}`; the case's parameters: {}",
                    s.name,
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                )));
            }
            ov.push((s.name.clone(), *v));
        }
        cases.push(
            spec.compile(&ov, false)
                .map_err(|e| DsmError(e.to_string()))?,
        );
    }
    let case0 = &cases[0];
    let d = case0.vars.len();
    if d > 2 {
        return Err(DsmError(format!(
            "dsm handles cases of one or two variables; this case has {} ({})",
            d,
            case0.vars.join(", ")
        )));
    }
    let p = &case0.density;
    let located = locate(p, &case0.domain)
        .map_err(|e| DsmError(format!("cannot find where the density has its mass: {e:?}")))?;
    // θ must be a parameter of the score only: the density must not change along the sweep.
    for c in &cases[1..] {
        for m in &located.modes {
            for k in [-2.0, -0.5, 0.0, 0.7, 1.9] {
                let x: Vec<f64> = (0..d)
                    .map(|i| {
                        let (lo, hi) = case0.domain[i];
                        (m.x[i] + k * m.scale[i] * (1.0 + 0.3 * i as f64)).clamp(lo, hi)
                    })
                    .collect();
                let (a, b) = (p.log_density(&x[..]), c.density.log_density(&x[..]));
                if a != b && !(a.is_nan() && b.is_nan()) {
                    return Err(DsmError(format!(
                        "--sweep {}: the parameter changes the density; DSM's θ must be a parameter of the score only",
                        sweep.map(|s| s.name.as_str()).unwrap_or("")
                    )));
                }
            }
        }
    }
    let fields: Vec<_> = cases.iter().map(Case::check_field).collect();
    let lm = located.log_max;
    let ptilde = |x: &[f64]| {
        let v = (p.log_density(x) - lm).exp();
        if v.is_finite() { v } else { 0.0 }
    };
    let tol = opts.tol.unwrap_or(if d == 1 { 1e-8 } else { 1e-5 });
    if tol.is_nan() || tol <= 0.0 {
        return Err(DsmError(format!(
            "--tol must be a positive number, got {tol}"
        )));
    }
    let mut notes = vec![];

    // --- DSM and ISM_σ by cubature over (x, ε) (2d variables): component 0 is Z, then DSM and
    // ISM_σ per θ.
    let k = fields.len();
    let epieces = [
        Piece::Lower {
            end: 0.0,
            scale: sigma,
        },
        Piece::Upper {
            start: 0.0,
            scale: sigma,
        },
    ];
    // Every combination of the x pieces of each axis and the two ε pieces of each axis.
    let axes: Vec<Vec<Piece>> = located
        .pieces
        .iter()
        .cloned()
        .chain((0..d).map(|_| epieces.to_vec()))
        .collect();
    let mut cells: Vec<Cell> = vec![Cell { pieces: vec![] }];
    for axis in &axes {
        cells = cells
            .iter()
            .flat_map(|c| {
                axis.iter().map(move |pc| {
                    let mut pieces = c.pieces.clone();
                    pieces.push(*pc);
                    Cell { pieces }
                })
            })
            .collect();
    }
    let integrand = |v: &[f64], out: &mut [f64]| {
        let (x, e) = v.split_at(d);
        let w = ptilde(x) * e.iter().map(|ei| phi(*ei, sigma)).product::<f64>();
        out[0] = w;
        let mut y = [0.0; MAX_DIM];
        for i in 0..d {
            y[i] = x[i] + e[i];
        }
        for (j, f) in fields.iter().enumerate() {
            if w == 0.0 {
                out[1 + j] = 0.0;
                out[1 + k + j] = 0.0;
                continue;
            }
            // Only s and ∇·s are needed here, not the whole Jacobian.
            let (sy, div) = values_and_divergence(f, &y[..d]);
            let mut dsm_t = 0.0;
            let mut ism_t = div;
            for i in 0..d {
                let r = sy[i] + e[i] / (sigma * sigma);
                dsm_t += 0.5 * r * r;
                ism_t += 0.5 * sy[i] * sy[i];
            }
            out[1 + j] = w * dsm_t;
            out[1 + k + j] = w * ism_t;
        }
    };
    let targets = |v: &[f64]| -> Vec<f64> {
        let z = v[0].abs().max(f64::MIN_POSITIVE);
        let mut t: Vec<f64> = v.iter().map(|x| 0.45 * tol * z.max(x.abs())).collect();
        t[0] = 0.45 * tol * z / (1.0 + v[1..].iter().map(|x| (x / z).abs()).fold(0.0, f64::max));
        t
    };
    let cub = cubature(
        &pointwise(integrand),
        &cells,
        2 * k + 1,
        &targets,
        opts.max_evals,
    );
    if !cub.converged {
        notes.push(format!(
            "the DSM cubature used its budget of {} evaluations before reaching the tolerance",
            opts.max_evals
        ));
    }
    let z2 = cub.values[0];
    let ratio = |c: usize| {
        let v = cub.values[c] / z2;
        let e = cub.errors[c] / z2 + v.abs() * cub.errors[0] / z2;
        if v.is_finite() && e.is_finite() {
            Quantity::new(v, e, cub.evals, status_for_value(v, e, tol))
        } else {
            Quantity::none(cub.evals, Status::Nonfinite)
        }
    };
    let dsm_q: Vec<Quantity> = (0..k).map(|j| ratio(1 + j)).collect();
    let ism_q: Vec<Quantity> = (0..k).map(|j| ratio(1 + k + j)).collect();

    // --- ESM_σ by nested quadrature (one variable).
    let (esm_q, fisher_sigma, constant_formula) = if d == 1 {
        let (e, f) = noised_objectives(p, &located, &fields, sigma, tol)?;
        let c = Quantity::combine(&[(&f, -1.0)], tol.max(1e-10));
        let c = Quantity {
            value: c.value.map(|v| v + 0.5 / (sigma * sigma)),
            ..c
        };
        (e.into_iter().map(Some).collect(), Some(f), Some(c))
    } else {
        notes.push(
            "ESM of p_σ is computed for one variable only (it needs p_σ and ∇p_σ by a 2-D quadrature at every point of a 2-D quadrature); DSM − ISM_σ = d/(2σ²) is checked".into(),
        );
        (vec![None; k], None, None)
    };

    // --- DSM by Monte Carlo: exact draws of p, Gaussian noise; the same (x, ε) for every θ.
    // (Exact draws in 1-D and for product densities, MALA chains otherwise.)
    let samples = sample(
        p,
        &case0.domain,
        &SampleOptions {
            n: opts.n,
            seed: opts.seed,
            sampler: Sampler::Auto,
            ..Default::default()
        },
    )
    .map_err(|e| DsmError(e.to_string()))?;
    // Noise per draw, laid out like the draws; one generator per chain and block.
    let eps: Vec<Vec<[f64; MAX_DIM]>> = samples
        .chains
        .iter()
        .enumerate()
        .map(|(c, chain)| {
            let mut rng = rng_for(opts.seed, stream::NOISE, (c as u64) << 32);
            (0..chain.len())
                .map(|t| {
                    if t % BLOCK == 0 {
                        rng = rng_for(
                            opts.seed,
                            stream::NOISE,
                            ((c as u64) << 32) | (t / BLOCK) as u64,
                        );
                    }
                    let mut e = [0.0; MAX_DIM];
                    for ei in e.iter_mut().take(d) {
                        *ei = sigma * rand::Rng::sample::<f64, _>(&mut rng, StandardNormal);
                    }
                    e
                })
                .collect()
        })
        .collect();

    let mut points = vec![];
    for (j, fld) in fields.iter().enumerate() {
        let vals: Vec<Vec<f64>> = samples
            .chains
            .iter()
            .zip(&eps)
            .map(|(chain, es)| {
                chain
                    .iter()
                    .zip(es)
                    .map(|(x, e)| {
                        let mut y = [0.0; MAX_DIM];
                        for i in 0..d {
                            y[i] = x[i] + e[i];
                        }
                        (0..d)
                            .map(|i| {
                                let r = fld.component(i, &y[..d]) + e[i] / (sigma * sigma);
                                0.5 * r * r
                            })
                            .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        let mc = mc_mean(&vals, samples.independent());
        let (mc_agreement, why) = match untrusted(&samples) {
            Some(why) => (Agreement::Undecided, why),
            None => compare_to(&mc, &dsm_q[j], opts.min_ess),
        };
        if !why.is_empty() {
            notes.push(format!("θ #{}: Monte Carlo DSM: {why}", j + 1));
        }
        let constant = esm_q[j]
            .as_ref()
            .map(|e| Quantity::combine(&[(&dsm_q[j], 1.0), (e, -1.0)], tol.max(1e-10)));
        let dsm_minus_ism =
            Quantity::combine(&[(&dsm_q[j], 1.0), (&ism_q[j], -1.0)], tol.max(1e-10));
        // As in `check`: agreement of integrals that did not converge is undecided.
        let ism_agreement = match (dsm_minus_ism.value, dsm_minus_ism.error) {
            (Some(v), Some(e)) if (v - 0.5 * d as f64 / (sigma * sigma)).abs() <= e + 1e-12 => {
                if dsm_minus_ism.status == Status::Ok {
                    Agreement::Agrees
                } else {
                    notes.push(format!(
                        "θ #{}: DSM − ISM_σ agrees with d/(2σ²) but its integrals did not converge",
                        j + 1
                    ));
                    Agreement::Undecided
                }
            }
            (Some(_), Some(_)) => Agreement::Disagrees,
            _ => Agreement::Undecided,
        };
        points.push(DsmPoint {
            theta: thetas[j],
            dsm: dsm_q[j].clone(),
            dsm_mc: mc,
            mc_agreement,
            esm_sigma: esm_q[j].clone(),
            constant,
            ism_sigma: ism_q[j].clone(),
            dsm_minus_ism,
            ism_agreement,
        });
    }

    // The constants: each against the formula, and against each other (one variable).
    let mut constant_agreement = Agreement::Agrees;
    let with_formula: Vec<&Quantity> = points
        .iter()
        .filter_map(|p| p.constant.as_ref())
        .chain(constant_formula.iter())
        .collect();
    for (i, a) in with_formula.iter().enumerate() {
        for b in &with_formula[i + 1..] {
            let ok = match (a.value, a.error, b.value, b.error) {
                (Some(x), Some(ex), Some(y), Some(ey)) => Some((x - y).abs() <= ex + ey),
                _ => None,
            };
            constant_agreement = Agreement::all([
                constant_agreement,
                match ok {
                    // As in `check`: equal within errors above the tolerance decides nothing.
                    Some(true) if a.status == Status::Ok && b.status == Status::Ok => {
                        Agreement::Agrees
                    }
                    Some(false) => Agreement::Disagrees,
                    _ => Agreement::Undecided,
                },
            ]);
        }
    }
    let constant_agreement = (d == 1).then_some(constant_agreement);
    if constant_agreement == Some(Agreement::Undecided) {
        notes.push(
            "a constant has no value (an integral diverged or was not finite) or did not reach the tolerance"
                .into(),
        );
    }
    let verdict = Agreement::all(
        points
            .iter()
            .flat_map(|p| [p.mc_agreement, p.ism_agreement])
            .chain(constant_agreement),
    );
    Ok(DsmReport {
        case: case0.name.clone(),
        vars: case0.vars.clone(),
        sigma,
        n: opts.n,
        seed: opts.seed,
        sweep: sweep.map(|s| s.name.clone()),
        points,
        fisher_sigma,
        constant_formula,
        constant_agreement,
        verdict,
        notes,
    })
}

/// One variable: `ESM_σ` for each field and `½E_{p_σ}|∇log p_σ|²`, by nested quadrature.
fn noised_objectives<P: Density, S: ScoreField>(
    p: &P,
    located: &Located,
    fields: &[S],
    sigma: f64,
    tol: f64,
) -> Result<(Vec<Quantity>, Quantity), DsmError> {
    let lm = located.log_max;
    let ptilde = |x: f64| {
        let v = (p.log_density(&[x]) - lm).exp();
        if v.is_finite() { v } else { 0.0 }
    };
    let xpieces = &located.pieces[0];
    // Z = ∫ p̃ e^{−log_max}.
    let (z, z_div) = integrate_1d(&ptilde, xpieces);
    if z_div || z.value.is_nan() || z.value <= 0.0 {
        return Err(DsmError("the density has no finite positive mass".into()));
    }
    let zrel = z.error / z.value;

    // --- p_σ and ∇p_σ by quadrature over x, memoised by y (the outer integrals share nodes).
    let memo: Mutex<HashMap<u64, Noised>> = Mutex::new(HashMap::new());
    let memo_of = || memo.lock().unwrap_or_else(|e| e.into_inner());
    let noised = |y: f64| -> Noised {
        if let Some(n) = memo_of().get(&y.to_bits()).copied() {
            return n;
        }
        let (a, _) = integrate_1d(&|x| ptilde(x) * phi(y - x, sigma), xpieces);
        // ∇p_σ ∝ ∫ p̃(x) φ(y − x) (x − y)/σ² dx. Its integrand vanishes at x = y, and when y
        // sits on a piece's end (a mode) the end probes of the rule cannot bound what lies
        // beyond; so integrate (x − y + k) instead, whose zero is inside a piece, and take
        // k·p_σ back off (another k if the first still meets an end).
        let mut g = (f64::NAN, f64::INFINITY, 0);
        for k in [sigma, -0.7 * sigma] {
            let (h, _) = integrate_1d(&|x| ptilde(x) * phi(y - x, sigma) * (x - y + k), xpieces);
            g = (
                (h.value - k * a.value) / (sigma * sigma),
                (h.error + k.abs() * a.error) / (sigma * sigma),
                g.2 + h.evals,
            );
            if g.1.is_finite() {
                break;
            }
        }
        let n = Noised {
            p: a.value,
            ep: a.error,
            g: g.0,
            eg: g.1,
            evals: a.evals + g.2,
        };
        memo_of().insert(y.to_bits(), n);
        n
    };
    // Pieces in y: cut at the modes of p, with widths grown by the noise.
    let ypieces = {
        let mut ms: Vec<(f64, f64)> = located
            .modes
            .iter()
            .map(|m| (m.x[0], (m.scale[0].powi(2) + sigma * sigma).sqrt()))
            .collect();
        ms.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut v = vec![Piece::Lower {
            end: ms[0].0,
            scale: ms[0].1,
        }];
        for w in ms.windows(2) {
            if w[1].0 > w[0].0 {
                v.push(Piece::Finite {
                    lo: w[0].0,
                    hi: w[1].0,
                });
            }
        }
        let last = ms[ms.len() - 1];
        v.push(Piece::Upper {
            start: last.0,
            scale: last.1,
        });
        v
    };
    // An outer integral with its propagated inner error: `f(y, n)` gives the integrand and
    // the inner-error density at y.
    let outer = |f: &(dyn Fn(f64, &Noised) -> (f64, f64) + Sync)| -> Quantity {
        let (val, div1) = integrate_1d(
            &|y| {
                let n = noised(y);
                if n.p > 0.0 { f(y, &n).0 } else { 0.0 }
            },
            &ypieces,
        );
        let (prop, div2) = integrate_1d(
            &|y| {
                let n = noised(y);
                if n.p > 0.0 { f(y, &n).1 } else { 0.0 }
            },
            &ypieces,
        );
        let evals = val.evals + prop.evals;
        if div1 || div2 {
            return Quantity::none(evals, Status::Diverges);
        }
        let v = val.value / z.value;
        let e = (val.error + prop.value.abs()) / z.value + v.abs() * zrel;
        if v.is_finite() && e.is_finite() {
            Quantity::new(v, e, evals, status_for_value(v, e, tol.max(1e-10)))
        } else {
            Quantity::none(evals, Status::Nonfinite)
        }
    };
    let esm_q: Vec<Quantity> = fields
        .iter()
        .map(|fld| {
            outer(&|y, n| {
                let s = fld.component(0, &[y]);
                let g = n.g / n.p;
                let r = s - g;
                (
                    0.5 * n.p * r * r,
                    r.abs() * n.eg + 0.5 * r.abs() * (s + g).abs() * n.ep,
                )
            })
        })
        .collect();
    let fisher = outer(&|_, n| {
        let g = n.g / n.p;
        (0.5 * n.g * g, g.abs() * n.eg + 0.5 * g * g * n.ep)
    });
    let inner_evals: u64 = memo_of().values().map(|n| n.evals).sum();
    let fisher_sigma = Quantity {
        evals: fisher.evals + inner_evals,
        ..fisher
    };
    Ok((esm_q, fisher_sigma))
}

fn opt_q(q: &Option<Quantity>) -> String {
    q.as_ref().map_or("— (1-D only)".to_string(), fmt_q)
}

impl DsmReport {
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "dsm: {} ({}), σ = {}, Monte Carlo n = {}, seed {}",
            self.case,
            self.vars.join(", "),
            self.sigma,
            self.n,
            self.seed
        );
        let _ = writeln!(
            o,
            "DSM = E½|s(x+ε) + ε/σ²|² (cubature over x, ε; and Monte Carlo), ESM_σ = E_pσ ½|s − ∇log p_σ|² (nested quadrature)"
        );
        let _ = writeln!(o);
        let th = self.sweep.clone().unwrap_or_else(|| "θ".into());
        let _ = writeln!(
            o,
            "{:>10}  {:<26} {:<22} {:<26} {:<26}",
            th, "DSM (cubature)", "DSM (Monte Carlo)", "ESM_σ", "DSM − ESM_σ"
        );
        for p in &self.points {
            let _ = writeln!(
                o,
                "{:>10}  {:<26} {:<22} {:<26} {:<26}{}",
                p.theta.map_or("—".to_string(), |t| format!("{t}")),
                fmt_q(&p.dsm),
                fmt_value(p.dsm_mc.mean, p.dsm_mc.se),
                opt_q(&p.esm_sigma),
                opt_q(&p.constant),
                if p.mc_agreement == Agreement::Agrees {
                    ""
                } else {
                    "  (Monte Carlo disagrees or is undecided)"
                }
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:>10}  {:<26} {:<26} (must be d/(2σ²) = {:.9})",
            th,
            "ISM_σ = E_pσ[½|s|² + ∇·s]",
            "DSM − ISM_σ",
            0.5 * self.vars.len() as f64 / (self.sigma * self.sigma)
        );
        for p in &self.points {
            let _ = writeln!(
                o,
                "{:>10}  {:<26} {:<26} {}",
                p.theta.map_or("—".to_string(), |t| format!("{t}")),
                fmt_q(&p.ism_sigma),
                fmt_q(&p.dsm_minus_ism),
                match p.ism_agreement {
                    Agreement::Agrees => "✓",
                    Agreement::Disagrees => "✗",
                    Agreement::Undecided => "?",
                }
            );
        }
        let _ = writeln!(o);
        if let (Some(f), Some(c), Some(a)) = (
            &self.fisher_sigma,
            &self.constant_formula,
            self.constant_agreement,
        ) {
            let _ = writeln!(
                o,
                "½E_pσ|∇log p_σ|² = {}; constant by formula 1/(2σ²) − that = {}",
                fmt_q(f),
                fmt_q(c)
            );
            let _ = writeln!(
                o,
                "constant the same at every θ and equal to the formula: {}",
                match a {
                    Agreement::Agrees => "yes, within the errors",
                    Agreement::Disagrees => "NO",
                    Agreement::Undecided => "undecided",
                }
            );
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        let _ = writeln!(
            o,
            "verdict: {}",
            match self.verdict {
                Agreement::Agrees => "agrees",
                Agreement::Disagrees => "DISAGREES",
                Agreement::Undecided => "undecided",
            }
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_parse() {
        assert_eq!(
            parse_sweep("mu=-1:2:4").unwrap().values,
            vec![-1.0, 0.0, 1.0, 2.0]
        );
        assert_eq!(parse_sweep("a=1,2.5").unwrap().values, vec![1.0, 2.5]);
        assert!(parse_sweep("mu").is_err());
        assert!(parse_sweep("mu=1").is_err());
        assert!(parse_sweep("mu=1:2:1").is_err());
        assert!(parse_sweep("mu=1:x:3").is_err());
    }
}
