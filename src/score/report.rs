//! The report of `score`: points, discrepancies, the finite-difference table, the verdict
//! (serialised as JSON, with non-finite numbers as strings).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// The report
// ---------------------------------------------------------------------------------------------

/// Where a point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// A low-discrepancy point in the bulk of `p`.
    Bulk,
    /// A mode of `p`.
    Mode,
    /// `mode ± 5σ` or `mode ± 10σ` along an axis.
    Tail,
    /// A finite end of an axis, through a mode.
    Edge,
}

/// Two numbers compared at one point.
///
/// In JSON, a non-finite number is written as the string `"NaN"`, `"inf"` or `"-inf"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The point.
    pub at: Vec<f64>,
    /// Where it came from.
    pub kind: PointKind,
    /// `log p̃(x) − log p̃_max`.
    #[serde(with = "float")]
    pub log_p: f64,
    /// The first number (hand-written, or `∂_j s_i` in a Jacobian check).
    #[serde(with = "float")]
    pub a: f64,
    /// The second number (exact, or `∂_i s_j` in a Jacobian check).
    #[serde(with = "float")]
    pub b: f64,
    /// `|a − b|` (∞ when exactly one side is not finite).
    #[serde(with = "float")]
    pub abs: f64,
    /// `|a − b| / max(|a|, |b|)` (0 when `a = b`).
    #[serde(with = "float")]
    pub rel: f64,
    /// `p(x)/p_max · |a − b|`: how much the difference matters under `p`.
    #[serde(with = "float")]
    pub weighted: f64,
}

/// Verdict of one comparison (the crate's one `Agreement`, shared with `estimate`).
pub use crate::outcome::Agreement;

/// Verdict of the gradient-field check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientVerdict {
    /// The Jacobian is symmetric to tolerance: `s` may be the score of a model.
    Gradient,
    /// The Jacobian is not symmetric: `s` is not the score of any model.
    NotGradient,
    /// No point could be compared.
    Undecided,
}

/// One quantity compared over all points: a field component, the divergence, or one pair
/// of the Jacobian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// Short name: `s_x`, `∇·s`, `∂_y s_x − ∂_x s_y`.
    pub check: String,
    /// What `a` is, e.g. `s_x (hand-written)`.
    pub a: String,
    /// What `b` is, e.g. `∂_x log_model (exact)`.
    pub b: String,
    /// Points where `p` has mass and both sides could be compared.
    pub compared: u64,
    /// Of those, the points where they disagree.
    pub disagreeing: u64,
    /// Points where `p` has mass and both sides are NaN.
    pub both_nan: u64,
    /// Points where `p` is negligible and they disagree (these do not count).
    pub disagreeing_negligible: u64,
    /// The largest `|a − b|`.
    pub max_abs: Option<Sample>,
    /// The largest relative difference.
    pub max_rel: Option<Sample>,
    /// The largest `p/p_max · |a − b|`.
    pub max_weighted: Option<Sample>,
    /// The counterexample: of the points that disagree, the one where the difference
    /// matters most under `p` (a NaN on one side first, then the largest `p/p_max · |a − b|`).
    pub worst: Option<Sample>,
    pub verdict: Agreement,
}

/// A central difference at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FdStep {
    pub h: f64,
    /// `(f(x + h e_i) − f(x − h e_i)) / 2h`; NaN when a side leaves the domain.
    #[serde(with = "float")]
    pub value: f64,
    /// `|value − exact|`.
    #[serde(with = "float")]
    pub error: f64,
    /// Whether both `x ± h e_i` are in the domain.
    pub inside: bool,
}

/// One derivative, exact and by central differences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FdRow {
    /// `∂_x log_model` or `∂_x s_x`.
    pub derivative: String,
    #[serde(with = "float")]
    pub exact: f64,
    pub steps: Vec<FdStep>,
    /// The step with the smallest error, if any is finite.
    pub best_h: Option<f64>,
}

/// The finite-difference table (for teaching: the reason exact derivatives matter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiniteDifferences {
    pub at: Vec<f64>,
    /// Why this point: `the counterexample of s_x`, or `one width from the highest mode`.
    pub why: String,
    pub rows: Vec<FdRow>,
}

/// A tail or edge point, and whether it carries mass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailPoint {
    /// E.g. `mode 1 + 5σ along y`, `mode 1 at x = 0`.
    pub label: String,
    pub at: Vec<f64>,
    #[serde(with = "float")]
    pub log_p: f64,
    /// Whether it counts (`log_p ≥ −50`).
    pub used: bool,
}

/// How many points of each kind were evaluated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointCounts {
    pub bulk: u64,
    pub modes: u64,
    pub tails: u64,
    pub edges: u64,
    /// Points where `p` has mass (they decide the verdicts).
    pub used: u64,
    /// Points where `log p̃ − log p̃_max < −50`.
    pub negligible: u64,
    /// Points where `log p̃` is NaN (skipped).
    pub undefined_density: u64,
}

/// A mode of `p` and its width per axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeSummary {
    pub x: Vec<f64>,
    pub scale: Vec<f64>,
}

/// The tolerance of an agreement: `|a − b| ≤ atol + rtol·max(|a|, |b|)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// The verdicts; `None` where the check was not asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreVerdict {
    /// Hand-written field against the exact `∇ log_model`.
    pub field: Option<Agreement>,
    /// Hand-written divergence against the exact `∇·s`.
    pub divergence: Option<Agreement>,
    /// Whether the hand-written field is a gradient field.
    pub gradient: Option<GradientVerdict>,
}

/// One disagreement, to print as a counterexample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    pub check: String,
    pub a: String,
    pub b: String,
    pub sample: Sample,
}

/// The report of `scorecheck score`: one serializable structure, rendered as text by
/// [`ScoreReport::to_text`] and as JSON by [`ScoreReport::to_json`].
///
/// JSON: `{"case", "vars", "params", "domain", "tolerance": {"rtol", "atol"},
/// "points": {...counts}, "modes": [{"x", "scale"}], "field": [Discrepancy],
/// "divergence": Discrepancy|null, "gradient": [Discrepancy], "finite_differences": {...}|null,
/// "tails": [TailPoint], "verdict": {"field", "divergence", "gradient"},
/// "counterexamples": [...], "explanations": [str], "notes": [str]}` with the verdicts
/// `"agrees"`/`"disagrees"`/`"undecided"` and `"gradient"`/`"not_gradient"`/`"undecided"`
/// (null where not checked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    pub case: String,
    pub vars: Vec<String>,
    pub params: BTreeMap<String, f64>,
    /// Per variable `[lo, hi]`, infinite ends as null.
    pub domain: Vec<[Option<f64>; 2]>,
    pub tolerance: Tolerance,
    pub points: PointCounts,
    pub modes: Vec<ModeSummary>,
    /// Each component of the hand-written field against `∂_i log_model`.
    pub field: Vec<Discrepancy>,
    /// The hand-written divergence against the exact `∇·s`.
    pub divergence: Option<Discrepancy>,
    /// The Jacobian pairs `∂_j s_i` against `∂_i s_j`, `i < j`.
    pub gradient: Vec<Discrepancy>,
    pub finite_differences: Option<FiniteDifferences>,
    pub tails: Vec<TailPoint>,
    pub verdict: ScoreVerdict,
    /// The worst point of every check that disagrees.
    pub counterexamples: Vec<Counterexample>,
    /// One line per verdict given, in the order field, divergence, gradient.
    pub explanations: Vec<String>,
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------

// JSON for non-finite numbers
// ---------------------------------------------------------------------------------------------

/// `f64` in JSON: finite numbers as numbers, the others as `"NaN"`, `"inf"`, `"-inf"`.
pub(super) mod float {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum F {
            Num(f64),
            Text(String),
        }
        match F::deserialize(d)? {
            F::Num(v) => Ok(v),
            F::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(D::Error::custom(format!(
                    "expected a number, \"NaN\", \"inf\" or \"-inf\", got \"{other}\""
                ))),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
