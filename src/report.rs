//! The report of a check: one serializable structure (the JSON contract of DESIGN.md) and
//! its text rendering.
//!
//! JSON schema (`scorecheck check CASE --json`): every quantity `Q` is
//! `{"value": f64|null, "error": f64|null, "evals": u64, "status": S}` with `S` one of
//! `"ok"`, `"not_converged"`, `"diverges"`, `"nonfinite"`; the report is
//!
//! ```text
//! { "case": str, "vars": [str], "params": {str: f64},
//!   "normalizer": Q,                      (value null when Z is outside f64 range)
//!   "log_normalizer": f64,                (log Z, always; its error in log_normalizer_error)
//!   "components": [ {"var": str, "lhs": Q, "rhs": Q, "boundary": Q} ],
//!   "cross": {"lhs": Q, "rhs": Q, "boundary": Q},
//!   "objective": {"esm": Q, "ism": Q, "const": Q, "gap": Q},
//!   "verdict": {"ibp": V, "boundary": B, "objective": O} }
//! ```
//!
//! with `V` one of `"holds"`, `"violated"`, `"undecided"`; `B` one of `"vanishes"`,
//! `"nonzero"`, `"undecided"`; `O` one of `"finite"`, `"infinite"`, `"undecided"`.
//! Extra fields (`domain`, `tolerance`, `modes`, `notes`, `flux`, the explanations, and
//! `at` on a quantity that met a non-finite value) may be added; these never change.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The state of one integral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Converged to the tolerance; the error estimate covers the real error.
    Ok,
    /// Best estimate with an honest error that is above the tolerance.
    NotConverged,
    /// The integral is infinite; no value.
    Diverges,
    /// The integrand is NaN or infinite where p carries mass.
    Nonfinite,
}

impl Status {
    fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::NotConverged => 1,
            Status::Diverges => 2,
            Status::Nonfinite => 3,
        }
    }
    /// The worse of two statuses.
    pub fn worst(self, o: Status) -> Status {
        if o.rank() > self.rank() { o } else { self }
    }
    /// Whether the quantity has a value.
    pub fn has_value(self) -> bool {
        matches!(self, Status::Ok | Status::NotConverged)
    }
}

/// One integral with its error estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    pub value: Option<f64>,
    pub error: Option<f64>,
    pub evals: u64,
    pub status: Status,
    /// Where a non-finite integrand value was met (status `nonfinite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Vec<f64>>,
}

impl Quantity {
    /// A quantity with a value.
    pub fn new(value: f64, error: f64, evals: u64, status: Status) -> Quantity {
        if status.has_value() {
            Quantity {
                value: Some(value),
                error: Some(error),
                evals,
                status,
                at: None,
            }
        } else {
            Quantity {
                value: None,
                error: None,
                evals,
                status,
                at: None,
            }
        }
    }
    /// A placeholder for a quantity a report did not carry (older JSON).
    pub fn missing() -> Quantity {
        Quantity::none(0, Status::NotConverged)
    }
    /// A quantity without a value.
    pub fn none(evals: u64, status: Status) -> Quantity {
        Quantity {
            value: None,
            error: None,
            evals,
            status,
            at: None,
        }
    }
    /// Sum (with signs) of quantities: errors add, the worst status wins. The sum has
    /// converged when its error is within the parts' tolerances added up, each part's being
    /// `tol·max(1, |value|)`.
    pub fn combine(parts: &[(&Quantity, f64)], tol: f64) -> Quantity {
        let allowed: f64 = parts
            .iter()
            .map(|(q, _)| tol * q.value.map_or(1.0, |v| v.abs().max(1.0)))
            .sum();
        let mut v = 0.0;
        let mut e = 0.0;
        let mut n = 0;
        let mut st = Status::Ok;
        // A part without a value (not computed: see `Report::undecided`) leaves the sum
        // without one.
        let mut missing = false;
        for (q, sign) in parts {
            n += q.evals;
            st = st.worst(q.status);
            if let (Some(a), Some(b)) = (q.value, q.error) {
                v += sign * a;
                e += b;
            } else {
                missing = true;
            }
        }
        if st == Status::Ok && e > allowed {
            st = Status::NotConverged;
        }
        let mut q = if missing && st.has_value() {
            Quantity::none(n, st)
        } else {
            Quantity::new(v, e, n, st)
        };
        if q.status == Status::Nonfinite {
            q.at = parts.iter().find_map(|(p, _)| p.at.clone());
        }
        q
    }
}

/// Per-variable quantities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub var: String,
    pub lhs: Quantity,
    pub rhs: Quantity,
    pub boundary: Quantity,
    /// The two ends' terms `∫ s_i p` on the faces `x_i = a_i` and `x_i = b_i`
    /// (`boundary = upper − lower`); at an infinite end, the limit.
    #[serde(default)]
    pub faces: Vec<Face>,
}

/// One end's term of a boundary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// `"lower"` or `"upper"`.
    pub end: String,
    /// Where the face is; `null` for an infinite end.
    pub at: Option<f64>,
    pub value: Quantity,
}

/// The cross term, summed over components.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cross {
    pub lhs: Quantity,
    pub rhs: Quantity,
    pub boundary: Quantity,
}

/// The objectives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub esm: Quantity,
    pub ism: Quantity,
    #[serde(rename = "const")]
    pub constant: Quantity,
    pub gap: Quantity,
}

/// Verdict on the integration by parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ibp {
    Holds,
    Violated,
    Undecided,
}

/// Verdict on the boundary term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    Vanishes,
    Nonzero,
    Undecided,
}

/// Verdict on the objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveVerdict {
    Finite,
    Infinite,
    Undecided,
}

/// The three verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub ibp: Ibp,
    pub boundary: Boundary,
    pub objective: ObjectiveVerdict,
}

/// Flux `∫ s_i p` through the face `x_i = R` as `R` goes out to an infinite end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flux {
    pub var: String,
    /// `"lower"` or `"upper"`.
    pub end: String,
    /// `[R, flux]` pairs, flux normalised by Z.
    pub samples: Vec<[f64; 2]>,
}

/// The full report of `scorecheck check`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub case: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    /// `Z`; its value (and error) are null when `Z` is outside the range of a double.
    pub normalizer: Quantity,
    /// `log Z`, always present (its error is `normalizer`'s relative error).
    #[serde(default)]
    pub log_normalizer: f64,
    /// The error of `log Z` (Z's relative error and the rounding of the logarithm).
    #[serde(default)]
    pub log_normalizer_error: f64,
    pub components: Vec<Component>,
    pub cross: Cross,
    pub objective: Objective,
    pub verdict: Verdict,
    /// The domain, per variable `[lo, hi]` (infinite ends as null in JSON).
    pub domain: Vec<[Option<f64>; 2]>,
    /// The target absolute error on every quantity.
    pub tolerance: f64,
    /// The modes found, `x` per mode.
    pub modes: Vec<Vec<f64>>,
    /// Evidence that the flux through faces at infinite ends decays.
    pub flux: Vec<Flux>,
    /// One line explaining each verdict, in order ibp, boundary, objective.
    pub explanations: Vec<String>,
    /// Anything the reader should know (dropped tails, not-converged integrals, …).
    pub notes: Vec<String>,
    /// `E_p ½|s|²`, the first term of the expanded square (step 2 of the derivation).
    pub half_s2: Quantity,
    /// The weighted identity, when the case has a weight `h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Weighted>,
}

/// The weighted identity `E_p[½h|s − ∇log p|²] = E_p[h(½|s|² + ∇·s) + ∇h·s] + ½E_p[h|∇log p|²]`:
/// per variable `lhs_i = ∫ h s_i ∂_i p`, `rhs_i = −∫ p ∂_i(h s_i)`, `boundary_i = ∫[h s_i p]`;
/// `esm = E½h|s − ∇log p|²`, `ism = E[h(½|s|² + ∇·s) + ∇h·s]`, `const = ½E h|∇log p|²`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weighted {
    /// The weight's expression.
    pub weight: String,
    pub components: Vec<Component>,
    pub cross: Cross,
    pub objective: Objective,
    pub verdict: Verdict,
    pub explanations: Vec<String>,
    /// `E_p ½h|s|²`, the first term of the expanded weighted square.
    #[serde(default = "Quantity::missing")]
    pub half_s2: Quantity,
}

impl Report {
    /// The report as seen through the identity that decides the exit code: with a weight,
    /// its components, cross term, objective, verdict and explanations replace the
    /// unweighted ones (what `explain`, `sweep` and `plot` show). `flux` stays the
    /// unweighted p·s evidence at infinite ends.
    pub fn deciding(&self) -> Report {
        let mut r = self.clone();
        if let Some(w) = &self.weighted {
            r.components = w.components.clone();
            r.cross = w.cross.clone();
            r.objective = w.objective.clone();
            r.verdict = w.verdict.clone();
            r.explanations = w.explanations.clone();
            r.half_s2 = w.half_s2.clone();
        }
        r
    }
    /// The process exit code: 0 all checks hold, 1 a check is violated, 3 undecided.
    ///
    /// With a weight, the weighted identity is the one the case asks about and decides.
    pub fn exit_code(&self) -> u8 {
        let v = self.weighted.as_ref().map_or(&self.verdict, |w| &w.verdict);
        if v.ibp == Ibp::Violated
            || v.boundary == Boundary::Nonzero
            || v.objective == ObjectiveVerdict::Infinite
        {
            1
        } else if v.ibp == Ibp::Undecided
            || v.boundary == Boundary::Undecided
            || v.objective == ObjectiveVerdict::Undecided
        {
            3
        } else {
            0
        }
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// The text table.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        header(
            &mut o,
            &format!("case {}", self.case),
            &self.vars,
            &self.domain,
            &self.params,
        );
        if self.normalizer.value.is_some()
            || !self.normalizer.status.has_value()
            || !self.log_normalizer.is_finite()
        {
            let _ = writeln!(o, "normalizer Z = {}", fmt_q(&self.normalizer));
        } else {
            let _ = writeln!(
                o,
                "normalizer Z = e^{:.12} (outside the range of a double)",
                self.log_normalizer
            );
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "cross term ∫⟨s, ∇p⟩ = boundary − ∫p ∇·s, per variable (tolerance {:.0e}):",
            self.tolerance
        );
        let names = [
            "lhs ∫ s_i ∂_i p",
            "rhs −∫ p ∂_i s_i",
            "boundary [s_i p]",
            "esm   E½|s − ∇log p|²",
            "ism   E[½|s|² + ∇·s]",
            "const ½E|∇log p|²",
        ];
        section(
            &mut o,
            &self.components,
            &self.cross,
            &self.objective,
            names,
        );
        verdict_lines(&mut o, &self.verdict, &self.explanations);
        if let Some(w) = &self.weighted {
            let _ = writeln!(o);
            let _ = writeln!(o, "weighted identity, h(x) = {}:", w.weight);
            let names = [
                "lhs ∫ h s_i ∂_i p",
                "rhs −∫ p ∂_i(h s_i)",
                "boundary [h s_i p]",
                "esm   E½h|s − ∇log p|²",
                "ism   E[h(½|s|²+∇·s)+∇h·s]",
                "const ½E h|∇log p|²",
            ];
            section(&mut o, &w.components, &w.cross, &w.objective, names);
            verdict_lines(&mut o, &w.verdict, &w.explanations);
        }
        for n in &self.notes {
            let _ = writeln!(o, "note: {n}");
        }
        o
    }
}

/// The per-variable table and the objective block.
fn section(
    o: &mut String,
    components: &[Component],
    cross: &Cross,
    ob: &Objective,
    names: [&str; 6],
) {
    let _ = writeln!(
        o,
        "  {:<6} {:>30} {:>30} {:>30} {:>12}",
        "var", names[0], names[1], names[2], "residual"
    );
    let rows = components
        .iter()
        .map(|c| (c.var.as_str(), &c.lhs, &c.rhs, &c.boundary))
        .chain(std::iter::once((
            "total",
            &cross.lhs,
            &cross.rhs,
            &cross.boundary,
        )));
    for (name, l, r, b) in rows {
        let res = match (l.value, r.value, b.value) {
            (Some(l), Some(r), Some(b)) => format!("{:.2e}", l - b - r),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            o,
            "  {:<6} {:>30} {:>30} {:>30} {:>12}",
            name,
            fmt_q(l),
            fmt_q(r),
            fmt_q(b),
            res
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "objective:");
    for (name, q) in [
        (names[3], &ob.esm),
        (names[4], &ob.ism),
        (names[5], &ob.constant),
        ("gap   esm − ism − const", &ob.gap),
    ] {
        let _ = writeln!(o, "  {:<28} {}", name, fmt_q(q));
    }
    let _ = writeln!(o);
}

fn verdict_lines(o: &mut String, v: &Verdict, explanations: &[String]) {
    let labels = [
        format!("ibp:       {}", ser(&v.ibp)),
        format!("boundary:  {}", ser(&v.boundary)),
        format!("objective: {}", ser(&v.objective)),
    ];
    for (l, e) in labels.iter().zip(explanations) {
        let _ = writeln!(o, "{l:<20} {e}");
    }
}

/// The first lines of a text report: `title: x ∈ [a, b], …` and the parameters.
pub fn header(
    o: &mut String,
    title: &str,
    vars: &[String],
    domain: &[[Option<f64>; 2]],
    params: &BTreeMap<String, f64>,
) {
    let dom: Vec<String> = vars
        .iter()
        .zip(domain)
        .map(|(v, [a, b])| format!("{v} ∈ [{}, {}]", end(*a, "-inf"), end(*b, "inf")))
        .collect();
    let _ = writeln!(o, "{title}: {}", dom.join(", "));
    if !params.is_empty() {
        let ps: Vec<String> = params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let _ = writeln!(o, "params: {}", ps.join(", "));
    }
}

fn ser<T: Serialize>(t: &T) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn end(v: Option<f64>, inf: &str) -> String {
    match v {
        Some(x) => format!("{x}"),
        None => inf.to_string(),
    }
}

/// `value ± error` with as many digits as the error allows, or the status.
pub fn fmt_q(q: &Quantity) -> String {
    match (q.value, q.error, q.status) {
        (Some(v), Some(e), st) => {
            let s = fmt_value(v, e);
            if st == Status::NotConverged {
                format!("{s} (not converged)")
            } else {
                s
            }
        }
        (_, _, Status::Diverges) => "diverges (∞)".to_string(),
        (_, _, Status::Nonfinite) => match &q.at {
            Some(x) => format!("nonfinite at {}", fmt_point(x)),
            None => "nonfinite".to_string(),
        },
        _ => "—".to_string(),
    }
}

/// A point as `(x1, x2, …)`.
pub fn fmt_point(x: &[f64]) -> String {
    let parts: Vec<String> = x.iter().map(|v| format!("{v:.6}")).collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Print `v ± e` showing only the digits the error supports (down to the error's leading
/// digit), so that no digit printed claims more accuracy than the estimate allows.
pub fn fmt_value(v: f64, e: f64) -> String {
    if e.is_nan() || e <= 0.0 {
        return if v == 0.0 {
            "0 ± 0".to_string()
        } else {
            format!("{v:.15e} ± 0")
        };
    }
    if v.abs() <= e {
        return format!("{v:.1e} ± {e:.1e}");
    }
    let mag_e = e.log10().floor() as i32;
    let mag_v = v.abs().log10().floor() as i32;
    if (-3..7).contains(&mag_v) {
        let decimals = (-mag_e).clamp(0, 17) as usize;
        format!("{v:.decimals$} ± {e:.1e}")
    } else {
        let digits = (mag_v - mag_e).clamp(0, 16) as usize;
        format!("{v:.digits$e} ± {e:.1e}")
    }
}

impl Report {
    /// A report in which nothing could be computed, for the reason `why`: every quantity
    /// without a value (status `not_converged`, 0 evaluations), every verdict undecided,
    /// `why` as the explanation of the first (ibp) and as the only note. Used when a bound is hit
    /// before any integral (the mass cannot be resolved in doubles).
    #[allow(clippy::too_many_arguments)]
    pub fn undecided(
        case: &str,
        vars: &[String],
        params: &BTreeMap<String, f64>,
        domain: &[(f64, f64)],
        tolerance: f64,
        modes: Vec<Vec<f64>>,
        weight: Option<&str>,
        why: &str,
    ) -> Report {
        let none = || Quantity::none(0, Status::NotConverged);
        let components: Vec<Component> = (0..domain.len())
            .map(|i| Component {
                var: vars
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("x{}", i + 1)),
                lhs: none(),
                rhs: none(),
                boundary: none(),
                faces: ["lower", "upper"]
                    .iter()
                    .zip([domain[i].0, domain[i].1])
                    .map(|(end, at)| Face {
                        end: end.to_string(),
                        at: at.is_finite().then_some(at),
                        value: none(),
                    })
                    .collect(),
            })
            .collect();
        let cross = || Cross {
            lhs: none(),
            rhs: none(),
            boundary: none(),
        };
        let objective = || Objective {
            esm: none(),
            ism: none(),
            constant: none(),
            gap: none(),
        };
        let verdict = || Verdict {
            ibp: Ibp::Undecided,
            boundary: Boundary::Undecided,
            objective: ObjectiveVerdict::Undecided,
        };
        let explanations = vec![why.to_string(), String::new(), String::new()];
        Report {
            case: case.to_string(),
            vars: vars.to_vec(),
            params: params.clone(),
            normalizer: none(),
            // Not computed: the mass cannot be resolved (NaN and ∞ are null in the JSON).
            log_normalizer: f64::NAN,
            log_normalizer_error: f64::INFINITY,
            components: components.clone(),
            cross: cross(),
            objective: objective(),
            verdict: verdict(),
            domain: domain
                .iter()
                .map(|&(a, b)| [a.is_finite().then_some(a), b.is_finite().then_some(b)])
                .collect(),
            tolerance,
            modes,
            flux: vec![],
            explanations: explanations.clone(),
            notes: vec![why.to_string()],
            half_s2: none(),
            weighted: weight.map(|w| Weighted {
                weight: w.to_string(),
                half_s2: none(),
                components,
                cross: cross(),
                objective: objective(),
                verdict: verdict(),
                explanations,
            }),
        }
    }
}
