//! Fisher score matching: the integration by parts of score matching done in the parameter θ
//! of a simulator instead of in the data x (the derivation is `proofs/fisher.md`).
//!
//! A simulator `p(x|θ)` and a proposal `q(θ)` (typically `q(θ|θ_t)`, centred on the current
//! parameter) give the joint `π(θ, x) = q(θ) p(x|θ)`. A field `s(x, θ)` is fitted to the Fisher
//! score `u = ∂_θ log p(x|θ)`:
//!
//! ```text
//! esm   = E_π ½(s − u)²
//! ism   = E_π [½s² + ∂_θ s + s ∂_θ log q]        (no u: computable from simulations)
//! const = E_π ½u²
//! cross: E_π[s u] = ∫∫ q s ∂_θ p = B − E_π[∂_θ s + s ∂_θ log q]
//! B     = ∫ [q p s]_{θ=a}^{θ=b} dx              (the boundary term in θ)
//! esm   = ism + const − B
//! ```
//!
//! The boundary condition is `q(θ) p(x|θ) s(x, θ) → 0` at the ends of θ's domain: a Gaussian
//! proposal satisfies it; a uniform proposal on an interval does not (then `B ≠ 0` in
//! general). `u` is the exact θ-derivative of the simulator's log-density, so the simulator's
//! normalizing constant must not depend on θ; [`fisher`] checks that by quadrature.
//!
//! Every expectation is a two-dimensional integral over (θ, x), done by adaptive cubature
//! ([`crate::quad::cubature`]) on the pieces where the joint has its mass; `B` by tanh-sinh in
//! x at each finite end of θ, and as the limit of the same integral at infinite ends.
//!
//! ```
//! use scorecheck::{FisherOptions, FisherSpec, fisher};
//!
//! // x|θ ~ N(θ, 1), q = N(0.5, 0.3²), and the true Fisher score s = x − θ: esm = 0,
//! // const = E½u² = ½, so ism = −½.
//! let spec = FisherSpec {
//!     theta: "theta".into(),
//!     data: "x".into(),
//!     simulator: "-(x - theta)^2/2".into(),
//!     proposal: "-(theta - 0.5)^2/(2*0.09)".into(),
//!     field: "x - theta".into(),
//!     theta_domain: (f64::NEG_INFINITY, f64::INFINITY),
//!     data_domain: (f64::NEG_INFINITY, f64::INFINITY),
//!     params: vec![],
//! };
//! let r = fisher(&spec, &FisherOptions::default()).unwrap();
//! assert!((r.ism.value.unwrap() + 0.5).abs() <= r.ism.error.unwrap());
//! assert_eq!(r.exit_code(), 0);
//! ```
//!
//! Bounds (issue 17): a fixed number of integrals (the joint cubature over (θ, x) ending at
//! its `--max-evals` or `quad::max_regions`, 4 checks of the simulator's normalizer, at most
//! 4 limits per end of θ), each over pieces and cells bounded by `locate`.

use crate::check::{CheckOptions, cross_check_z, status_for_value};
use crate::expr::Program;
use crate::locate::locate;
use crate::model::Density;
use crate::quad::{Cell, Estimate, cubature, integrate_1d, pointwise};
use crate::report::{Quantity, Status, fmt_q};
use crate::stats::Agreement;
use num_dual::{Dual64, DualNum};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The expressions of a Fisher check, over the variables `[θ, x]`.
#[derive(Clone, Debug)]
pub struct FisherSpec {
    pub theta: String,
    pub data: String,
    /// `log p̃(x|θ)`, normalizer independent of θ.
    pub simulator: String,
    /// `log q̃(θ)`.
    pub proposal: String,
    /// `s(x, θ)`.
    pub field: String,
    pub theta_domain: (f64, f64),
    pub data_domain: (f64, f64),
    pub params: Vec<(String, f64)>,
}

/// Options of [`fisher`].
#[derive(Clone, Debug)]
pub struct FisherOptions {
    pub tol: f64,
    pub max_evals: u64,
}

impl Default for FisherOptions {
    fn default() -> Self {
        FisherOptions {
            tol: 1e-8,
            max_evals: 20_000_000,
        }
    }
}

/// Verdicts of the Fisher check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FisherVerdict {
    /// `E[s u] = B − E[∂_θ s + s ∂_θ log q]` within the errors.
    pub ibp: Agreement,
    /// `B = 0` within its error (`agrees`) or not (`disagrees`).
    pub boundary_vanishes: Agreement,
    /// `esm = ism + const` within the errors.
    pub tractable: Agreement,
}

/// The report of `scorecheck fisher`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FisherReport {
    pub theta: String,
    pub data: String,
    pub simulator: String,
    pub proposal: String,
    pub field: String,
    pub params: BTreeMap<String, f64>,
    /// `∫∫ q̃ p̃` (scaled by `e^{−log_max}`).
    pub normalizer: Quantity,
    pub esm: Quantity,
    pub ism: Quantity,
    pub constant: Quantity,
    /// `E[s u]`.
    pub cross_lhs: Quantity,
    /// `−E[∂_θ s + s ∂_θ log q]`.
    pub cross_rhs: Quantity,
    /// `B`.
    pub boundary: Quantity,
    /// `esm − ism − const` (= −B when the identity holds).
    pub gap: Quantity,
    pub verdict: FisherVerdict,
    pub notes: Vec<String>,
}

/// Bad input for [`fisher`].
#[derive(Debug, Clone, PartialEq)]
pub struct FisherError(pub String);

impl std::fmt::Display for FisherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for FisherError {}

struct Joint<'a> {
    sim: &'a Program,
    prop: &'a Program,
}

impl Density for Joint<'_> {
    fn dim(&self) -> usize {
        2
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        self.prop.eval(x) + self.sim.eval(x)
    }
}

/// `p̃(x|θ)` at a fixed θ, as a density of x (to find where its mass is at that θ).
struct AtTheta<'a> {
    sim: &'a Program,
    theta: f64,
}

impl Density for AtTheta<'_> {
    fn dim(&self) -> usize {
        1
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        self.sim.eval(&[D::from(self.theta), x[0]])
    }
}

/// At `(θ, x)`: `log q̃ + log p̃`, `u = ∂_θ log p̃`, `g = ∂_θ log q̃`, `s`, `∂_θ s`.
fn at(sim: &Program, prop: &Program, field: &Program, th: f64, x: f64) -> [f64; 5] {
    let v = [Dual64::new(th, 1.0), Dual64::from(x)];
    let lp = sim.eval(&v);
    let lq = prop.eval(&v);
    let s = field.eval(&v);
    [lq.re + lp.re, lp.eps, lq.eps, s.re, s.eps]
}

/// Check the Fisher score-matching identity for a simulator, a proposal and a field.
pub fn fisher(spec: &FisherSpec, opts: &FisherOptions) -> Result<FisherReport, FisherError> {
    let vars = [spec.theta.clone(), spec.data.clone()];
    if spec.theta == spec.data {
        return Err(FisherError(format!(
            "--theta and --data must differ, both are `{}`",
            spec.theta
        )));
    }
    let compile = |src: &str, what: &str| {
        Program::compile(src, &vars, &spec.params).map_err(|e| FisherError(format!("{what}: {e}")))
    };
    let sim = compile(&spec.simulator, "--simulator")?;
    let prop = compile(&spec.proposal, "--proposal")?;
    let field = compile(&spec.field, "--field")?;
    if prop.used_vars().contains(&1) {
        return Err(FisherError(format!(
            "--proposal: the proposal q(θ) must not depend on the data `{}`",
            spec.data
        )));
    }
    for (what, (a, b)) in [
        ("--theta-domain", spec.theta_domain),
        ("--data-domain", spec.data_domain),
    ] {
        if a.is_nan() || b.is_nan() || a >= b {
            return Err(FisherError(format!(
                "{what}: expected LO < HI, got {a}:{b}"
            )));
        }
    }
    let tol = opts.tol;
    if tol.is_nan() || tol <= 0.0 {
        return Err(FisherError(format!(
            "--tol must be a positive number, got {tol}"
        )));
    }
    let domain = [spec.theta_domain, spec.data_domain];
    let joint = Joint {
        sim: &sim,
        prop: &prop,
    };
    let located = locate(&joint, &domain)
        .map_err(|e| FisherError(format!("cannot find where q(θ)·p(x|θ) has its mass: {e:?}")))?;
    let lm = located.log_max;
    let mut notes = vec![];

    // The simulator's normalizer must not depend on θ: ∫ p̃(x|θ) dx at θ across the mass.
    let mode = &located.modes[0];
    let xpieces = &located.pieces[1];
    // The pieces of x where p̃(x|θ) has its mass at this θ (the mass moves with θ), with the
    // highest log p̃(x|θ) there.
    let x_at = |th: f64| match locate(
        &AtTheta {
            sim: &sim,
            theta: th,
        },
        &domain[1..],
    ) {
        Ok(l) => (l.pieces[0].clone(), l.log_max),
        Err(_) => (xpieces.clone(), sim.eval(&[th, mode.x[1]])),
    };
    let zsim = |th: f64| {
        let (pieces, lp0) = x_at(th);
        integrate_1d(
            &|x| {
                let v = (sim.eval(&[th, x]) - lp0).exp();
                if v.is_finite() { v } else { 0.0 }
            },
            &pieces,
        )
        .0
        .value
            * lp0.exp()
    };
    let z0 = zsim(mode.x[0]);
    for k in [-2.0, -1.0, 1.0, 2.0] {
        let th = (mode.x[0] + k * mode.scale[0]).clamp(spec.theta_domain.0, spec.theta_domain.1);
        let z = zsim(th);
        if (z - z0).abs() > 1e-7 * z0.abs() {
            return Err(FisherError(format!(
                "--simulator: its normalizer ∫p̃(x|θ)dx depends on θ ({z0:.6e} at θ = {:.4}, {z:.6e} at θ = {th:.4}); \
                 give the normalized log-density so that its θ-derivative is the Fisher score",
                mode.x[0]
            )));
        }
    }

    // The expectations: component 0 is Z.
    let cells: Vec<Cell> = located.pieces[0]
        .iter()
        .flat_map(|tp| {
            xpieces.iter().map(move |xp| Cell {
                pieces: vec![*tp, *xp],
            })
        })
        .collect();
    let integrand = |v: &[f64], out: &mut [f64]| {
        let [l, u, g, s, ds] = at(&sim, &prop, &field, v[0], v[1]);
        let w = (l - lm).exp();
        if w == 0.0 || !w.is_finite() {
            out.iter_mut().for_each(|o| *o = 0.0);
            return;
        }
        out[0] = w;
        out[1] = w * 0.5 * (s - u) * (s - u);
        out[2] = w * (0.5 * s * s + ds + s * g);
        out[3] = w * 0.5 * u * u;
        out[4] = w * s * u;
        out[5] = -w * (ds + s * g);
    };
    let targets = |v: &[f64]| -> Vec<f64> {
        let z = v[0].abs().max(f64::MIN_POSITIVE);
        let mut t: Vec<f64> = v.iter().map(|x| 0.45 * tol * z.max(x.abs())).collect();
        t[0] = 0.45 * tol * z / (1.0 + v[1..].iter().map(|x| (x / z).abs()).fold(0.0, f64::max));
        t
    };
    let r = cubature(&pointwise(integrand), &cells, 6, &targets, opts.max_evals);
    if !r.converged {
        notes.push(format!(
            "the cubature used its budget of {} evaluations before reaching the tolerance",
            opts.max_evals
        ));
    }
    // The same check as `scorecheck check` makes: Z again through a second map of the
    // infinite ends, which shows mass that runs off where the cubature does not look (a
    // heavy-tailed proposal with the data following θ puts mass along the diagonal).
    let mut est: Vec<Estimate> = (0..6)
        .map(|j| Estimate {
            value: r.values[j],
            error: r.errors[j],
            evals: r.evals,
        })
        .collect();
    let check_opts = CheckOptions {
        tol: Some(tol),
        max_evals: opts.max_evals,
        ..Default::default()
    };
    if let Some(note) = cross_check_z(&joint, &located, &domain, &mut est, &check_opts, false) {
        notes.push(note);
    }
    let z = est[0].value;
    let ze = est[0].error;
    let q = |j: usize| {
        let v = est[j].value / z;
        let e = est[j].error / z + v.abs() * ze / z;
        if v.is_finite() && e.is_finite() {
            Quantity::new(v, e, r.evals, status_for_value(v, e, tol))
        } else {
            Quantity::none(r.evals, Status::Nonfinite)
        }
    };
    let normalizer = Quantity::new(z, ze, r.evals, status_for_value(z, ze, tol));
    let (esm, ism, constant, cross_lhs, cross_rhs) = (q(1), q(2), q(3), q(4), q(5));

    // The boundary term in θ: ∫ q̃ p̃ s dx at each end, over Z.
    let face = |th: f64| {
        let (pieces, _) = x_at(th);
        integrate_1d(
            &|x| {
                let [l, _, _, s, _] = at(&sim, &prop, &field, th, x);
                let w = (l - lm).exp();
                if w == 0.0 { 0.0 } else { w * s }
            },
            &pieces,
        )
        .0
    };
    let mut bval = 0.0;
    let mut berr = 0.0;
    let mut bevals = 0;
    for (end, sign) in [(spec.theta_domain.0, -1.0), (spec.theta_domain.1, 1.0)] {
        if end.is_finite() {
            let e = face(end);
            bval += sign * e.value;
            berr += e.error;
            bevals += e.evals;
        } else {
            // The limit: the face integral at θ ever farther out (10 to 10⁴ widths); the last
            // value stands for the limit, with the last change as its error.
            let mut vals = vec![];
            for k in 1..=4 {
                let th = mode.x[0] + sign * mode.scale[0] * 10f64.powi(k);
                let e = face(th);
                bevals += e.evals;
                vals.push(e);
            }
            let (a, b) = (vals[2], vals[3]);
            bval += sign * b.value;
            berr += b.error + (b.value - a.value).abs();
            if b.value != 0.0 {
                notes.push(format!(
                    "∫q·p·s dx does not fall to 0 as θ → {}: {:.3e} at {} widths, {:.3e} at {}",
                    if sign > 0.0 { "∞" } else { "−∞" },
                    a.value / z,
                    1000,
                    b.value / z,
                    10_000
                ));
            }
        }
    }
    let bv = bval / z;
    let be = berr / z + bv.abs() * ze / z;
    let boundary = if bv.is_finite() && be.is_finite() {
        Quantity::new(bv, be, bevals, status_for_value(bv, be, tol))
    } else {
        Quantity::none(bevals, Status::Nonfinite)
    };
    let gap = Quantity::combine(&[(&esm, 1.0), (&ism, -1.0), (&constant, -1.0)], tol);

    let within = |parts: &[(&Quantity, f64)]| -> Agreement {
        let mut v = 0.0;
        let mut e = 0.0;
        for (q, sgn) in parts {
            match (q.value, q.error) {
                (Some(a), Some(b)) => {
                    v += sgn * a;
                    e += b;
                }
                _ => return Agreement::Undecided,
            }
        }
        if v.abs() > e {
            Agreement::Disagrees
        } else if parts.iter().all(|(q, _)| q.status == Status::Ok) {
            Agreement::Agrees
        } else {
            // Equal within errors that are larger than the tolerance: as in `check`, that
            // decides nothing.
            Agreement::Undecided
        }
    };
    let verdict = FisherVerdict {
        ibp: within(&[(&cross_lhs, 1.0), (&boundary, -1.0), (&cross_rhs, -1.0)]),
        boundary_vanishes: within(&[(&boundary, 1.0)]),
        tractable: within(&[(&esm, 1.0), (&ism, -1.0), (&constant, -1.0)]),
    };
    Ok(FisherReport {
        theta: spec.theta.clone(),
        data: spec.data.clone(),
        simulator: spec.simulator.clone(),
        proposal: spec.proposal.clone(),
        field: spec.field.clone(),
        params: spec.params.iter().cloned().collect(),
        normalizer,
        esm,
        ism,
        constant,
        cross_lhs,
        cross_rhs,
        boundary,
        gap,
        verdict,
        notes,
    })
}

impl FisherReport {
    /// 0 when the identity is usable (IBP holds, B = 0, esm = ism + const); 1 when one of
    /// those fails; 3 when one is undecided.
    pub fn exit_code(&self) -> u8 {
        let v = &self.verdict;
        if v.ibp == Agreement::Agrees && v.boundary_vanishes == Agreement::Agrees {
            return v.tractable.exit_code();
        }
        Agreement::all([v.ibp, v.boundary_vanishes, v.tractable]).exit_code()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let (t, x) = (&self.theta, &self.data);
        let _ = writeln!(o, "fisher score matching in {t} (data {x})");
        let _ = writeln!(o, "simulator log p({x}|{t}) = {}", self.simulator);
        let _ = writeln!(o, "proposal  log q({t})    = {}", self.proposal);
        let _ = writeln!(o, "field     s({x}, {t})    = {}", self.field);
        if !self.params.is_empty() {
            let ps: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            let _ = writeln!(o, "params: {}", ps.join(", "));
        }
        let _ = writeln!(o);
        let rows = [
            (format!("E[s·∂{t} log p]"), &self.cross_lhs),
            (format!("−E[∂{t} s + s·∂{t} log q]"), &self.cross_rhs),
            (format!("boundary ∫[q p s]_{t}"), &self.boundary),
            ("esm = E½(s − u)²".to_string(), &self.esm),
            (format!("ism = E[½s² + ∂{t} s + s·∂{t} log q]"), &self.ism),
            ("const = E½u²".to_string(), &self.constant),
            ("esm − ism − const".to_string(), &self.gap),
        ];
        for (l, q) in rows {
            let _ = writeln!(o, "{l:<34} {}", fmt_q(q));
        }
        let _ = writeln!(o);
        let word = |a: Agreement, yes: &str, no: &str| match a {
            Agreement::Agrees => yes.to_string(),
            Agreement::Disagrees => no.to_string(),
            Agreement::Undecided => "undecided".to_string(),
        };
        let v = &self.verdict;
        let _ = writeln!(
            o,
            "integration by parts in {t}: {}",
            word(v.ibp, "holds", "VIOLATED")
        );
        let _ = writeln!(
            o,
            "boundary term: {}",
            word(v.boundary_vanishes, "vanishes", "NONZERO")
        );
        let _ = writeln!(
            o,
            "esm = ism + const: {}",
            word(v.tractable, "holds", "FAILS")
        );
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }
}
