//! The report of a check: one serializable structure (the JSON contract of DESIGN.md, here
//! in `report/mod.rs`), rendered as text (`report/text.rs`), as JSON (serde), and, for
//! explanations, as Markdown tables (`report/markdown.rs`); every number becomes text in one
//! module (`report/format.rs`).
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
//! Extra fields (`domain`, `tolerance`, `modes`, `notes`, `flux`, `half_s2`, `weighted`,
//! `explanations` — one line per verdict, `{"ibp": str, "boundary": str, "objective": str}` —
//! and `at` on a quantity that met a non-finite value) may be added; these never change.

pub(crate) mod format;
pub(crate) mod markdown;
mod text;

pub(crate) use format::{fmt_point, fmt_q, fmt_value};
pub(crate) use text::header;

use crate::locate::Located;
use crate::outcome::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

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

impl Verdict {
    /// Violated when any verdict is (ibp violated, boundary nonzero, objective infinite),
    /// else undecided when any is undecided, else holds.
    pub fn outcome(&self) -> Outcome {
        let ibp = match self.ibp {
            Ibp::Holds => Outcome::Holds,
            Ibp::Violated => Outcome::Violated,
            Ibp::Undecided => Outcome::Undecided,
        };
        let boundary = match self.boundary {
            Boundary::Vanishes => Outcome::Holds,
            Boundary::Nonzero => Outcome::Violated,
            Boundary::Undecided => Outcome::Undecided,
        };
        let objective = match self.objective {
            ObjectiveVerdict::Finite => Outcome::Holds,
            ObjectiveVerdict::Infinite => Outcome::Violated,
            ObjectiveVerdict::Undecided => Outcome::Undecided,
        };
        Outcome::all([ibp, boundary, objective])
    }
}

/// One line explaining each verdict, named as the verdicts are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanations {
    pub ibp: String,
    pub boundary: String,
    pub objective: String,
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
    /// One line explaining each verdict.
    pub explanations: Explanations,
    /// Anything the reader should know (dropped tails, not-converged integrals, …).
    pub notes: Vec<String>,
    /// `E_p ½|s|²`, the first term of the expanded square (step 2 of the derivation).
    pub half_s2: Quantity,
    /// The weighted identity, when the case has a weight `h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Weighted>,
    /// Where check found the mass, for the figures (not part of the JSON).
    #[serde(skip)]
    pub(crate) located: Found,
}

/// The modes, widths and pieces check located the mass with (before its breakpoints), kept
/// in the report so the figures draw from them instead of locating again. It is a cache, not
/// content: it is not serialised, and two reports compare equal whatever it holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Found(pub(crate) Option<Arc<Located>>);

impl PartialEq for Found {
    fn eq(&self, _: &Found) -> bool {
        true
    }
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
    pub explanations: Explanations,
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
    /// What the check found: violated when integration by parts fails, the boundary term is
    /// nonzero or the objective infinite; undecided when a verdict is open; else it holds.
    ///
    /// With a weight, the weighted identity is the one the case asks about and decides.
    pub fn outcome(&self) -> Outcome {
        self.weighted
            .as_ref()
            .map_or(&self.verdict, |w| &w.verdict)
            .outcome()
    }

    /// Why the report is undecided: the explanations of its undecided verdicts (of the
    /// identity that decides, in the order ibp, boundary, objective), else its notes.
    pub fn undecided_reasons(&self) -> Vec<String> {
        let (v, e) = match &self.weighted {
            Some(w) => (&w.verdict, &w.explanations),
            None => (&self.verdict, &self.explanations),
        };
        let why: Vec<String> = [
            (v.ibp == Ibp::Undecided, &e.ibp),
            (v.boundary == Boundary::Undecided, &e.boundary),
            (v.objective == ObjectiveVerdict::Undecided, &e.objective),
        ]
        .into_iter()
        .filter(|(u, e)| *u && !e.is_empty())
        .map(|(_, e)| e.clone())
        .collect();
        if why.is_empty() {
            self.notes.clone()
        } else {
            why
        }
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
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
        let explanations = Explanations {
            ibp: why.to_string(),
            ..Default::default()
        };
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
            located: Found::default(),
        }
    }
}
