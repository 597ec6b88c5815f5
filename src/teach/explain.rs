//! The derivation of the score-matching identity walked step by step for one case, each step
//! with its equation, both sides as numbers with their errors, and ✓ or ✗ (see
//! `proofs/score-matching-ibp.md` for the steps in words).
//!
//! Every number comes from a [`Report`] of `check`, so `explain` and `check` always agree.

use crate::outcome::Outcome;
use crate::report::{Boundary, Quantity, Report, Status, fmt_value, markdown};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One side of an equation: a value with its error, or nothing when it is not finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub value: Option<f64>,
    pub error: Option<f64>,
    /// The quantity's status (`ok`, `not_converged`, `diverges`, `nonfinite`).
    pub status: Status,
}

impl Side {
    fn of(q: &Quantity) -> Side {
        Side {
            value: q.value,
            error: q.error,
            status: q.status,
        }
    }
    fn exact(v: f64) -> Side {
        Side {
            value: Some(v),
            error: Some(0.0),
            status: Status::Ok,
        }
    }
    /// `Σ sign·q` with errors added.
    fn sum(parts: &[(&Quantity, f64)]) -> Side {
        let mut st = Status::Ok;
        let (mut v, mut e) = (0.0, 0.0);
        // A part without a value (not computed: an undecided report) leaves the sum without one.
        let mut missing = false;
        for (q, sg) in parts {
            st = st.worst(q.status);
            if let (Some(a), Some(b)) = (q.value, q.error) {
                v += sg * a;
                e += b;
            } else {
                missing = true;
            }
        }
        if st.has_value() && !missing {
            Side {
                value: Some(v),
                error: Some(e),
                status: st,
            }
        } else {
            Side {
                value: None,
                error: None,
                status: st,
            }
        }
    }
    fn text(&self) -> String {
        match (self.value, self.error) {
            (Some(v), Some(e)) => fmt_value(v, e),
            _ => match self.status {
                Status::Diverges => "∞ (diverges)".into(),
                Status::Nonfinite => "NaN/inf where p has mass".into(),
                _ => "—".into(),
            },
        }
    }
}

/// One step of the derivation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Step number as in the derivation (1–5); sub-steps share a number.
    pub step: u8,
    /// Short name, e.g. `"integration by parts (x)"`.
    pub name: String,
    /// The equation in plain text.
    pub equation: String,
    pub left: Side,
    pub right: Side,
    /// `left − right`, when both are finite.
    pub difference: Option<f64>,
    /// `true` ✓, `false` ✗, `null` undecided.
    pub holds: Option<bool>,
    /// One line: why it holds or fails, with the numbers.
    pub why: String,
}

/// The walk through the derivation for one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub case: String,
    pub steps: Vec<Step>,
}

/// Compare two sides: equal within the sum of their errors (plus rounding).
fn compare(left: &Side, right: &Side) -> (Option<f64>, Option<bool>) {
    match (left.value, left.error, right.value, right.error) {
        (Some(a), Some(ea), Some(b), Some(eb)) => {
            let diff = a - b;
            let allowed = ea + eb + 4.0 * f64::EPSILON * a.abs().max(b.abs());
            let converged = left.status == Status::Ok && right.status == Status::Ok;
            let holds = if diff.abs() <= allowed {
                Some(true)
            } else if converged {
                Some(false)
            } else {
                None
            };
            (Some(diff), holds)
        }
        _ => (None, None),
    }
}

fn step(
    step: u8,
    name: &str,
    equation: &str,
    left: Side,
    right: Side,
    why_ok: &str,
    why_fail: String,
) -> Step {
    let (difference, holds) = compare(&left, &right);
    let why = match holds {
        Some(true) => why_ok.to_string(),
        Some(false) => why_fail,
        None => format!(
            "undecided: {} vs {} (an integral is infinite, NaN, or not converged)",
            left.text(),
            right.text()
        ),
    };
    Step {
        step,
        name: name.into(),
        equation: equation.into(),
        left,
        right,
        difference,
        holds,
        why,
    }
}

/// Walk the derivation for the case of `r`.
///
/// With a weight `h`, the walk is through the weighted identity (the one `check`'s exit code
/// follows): `E½h|s − ∇log p|² = E½h|s|² − E[h⟨s, ∇log p⟩] + ½E h|∇log p|²`, the cross term
/// `∫h⟨s, ∇p⟩ = ∮h p s·n − ∫p ∇·(h s)`, and `ism = E[h(½|s|² + ∇·s) + ∇h·s]`.
pub fn explain(r: &Report) -> Explanation {
    let weighted = r.weighted.is_some();
    let view = r.deciding();
    let r = &view;
    let eq = |plain: &str, with_h: &str| -> String {
        if weighted {
            with_h.to_string()
        } else {
            plain.to_string()
        }
    };
    let ob = &r.objective;
    let mut steps = vec![];
    // Step 1: the objective is a finite number.
    let esm = Side::of(&ob.esm);
    let finite = esm.value.is_some();
    steps.push(Step {
        step: 1,
        name: "explicit objective".into(),
        equation: eq("esm = E_p[½|s − ∇log p|²]", "esm = E_p[½h|s − ∇log p|²]"),
        left: esm.clone(),
        right: esm.clone(),
        difference: finite.then_some(0.0),
        holds: match ob.esm.status {
            Status::Ok | Status::NotConverged if finite => Some(true),
            Status::Ok | Status::NotConverged => None,
            Status::Diverges => Some(false),
            Status::Nonfinite => None,
        },
        why: match ob.esm.status {
            Status::Diverges => "esm is infinite: there is no finite objective to rewrite".into(),
            Status::Nonfinite => "the integrand is NaN/inf where p has mass".into(),
            _ if !finite => "not computed (see the check's notes)".into(),
            _ => "a finite number: the objective we would like to minimise".into(),
        },
    });
    // Step 2: expand the square.
    let right2 = Side::sum(&[(&r.half_s2, 1.0), (&r.cross.lhs, -1.0), (&ob.constant, 1.0)]);
    steps.push(step(
        2,
        "expand the square",
        &eq(
            "E½|s − ∇log p|² = E½|s|² − E⟨s, ∇log p⟩ + ½E|∇log p|²",
            "E½h|s − ∇log p|² = E½h|s|² − E[h⟨s, ∇log p⟩] + ½E h|∇log p|²",
        ),
        esm,
        right2,
        "|a − b|² = |a|² − 2⟨a, b⟩ + |b|², term by term",
        "the expanded terms do not add up to esm".into(),
    ));
    // Step 3: p cancels. This is algebra, not a measurement: scorecheck forms ∇p as p ∇log p,
    // so both sides are the same integral and no number could disagree. Shown, not tested.
    let cross = Side::of(&r.cross.lhs);
    steps.push(Step {
        step: 3,
        name: "the density cancels".into(),
        equation: eq(
            "E_p⟨s, ∇log p⟩ = ∫⟨s, ∇p⟩ dx   (p ∇log p = ∇p where p > 0)",
            "E_p[h⟨s, ∇log p⟩] = ∫h⟨s, ∇p⟩ dx   (p ∇log p = ∇p where p > 0)",
        ),
        left: cross.clone(),
        right: cross,
        difference: None,
        holds: Some(true),
        why: "algebra, not a numerical check: p·(∇p/p) = ∇p wherever p > 0, so both sides are one integral".into(),
    });
    // Step 4: integration by parts per variable, then the boundary term.
    for c in &r.components {
        let right = Side::sum(&[(&c.boundary, 1.0), (&c.rhs, 1.0)]);
        steps.push(step(
            4,
            &format!("integration by parts ({})", c.var),
            &if weighted {
                format!("∫ h s_{0} ∂_{0} p dx = [h s_{0} p] − ∫ p ∂_{0}(h s_{0}) dx", c.var)
            } else {
                format!("∫ s_{0} ∂_{0} p dx = [s_{0} p] − ∫ p ∂_{0} s_{0} dx", c.var)
            },
            Side::of(&c.lhs),
            right,
            "the derivative moves from p to s, the boundary term included",
            format!(
                "lhs − (boundary + rhs) = {:.6}: s_{} p is not continuous (a jump inside the domain acts as a hidden boundary)",
                c.lhs.value.unwrap_or(f64::NAN) - c.boundary.value.unwrap_or(f64::NAN) - c.rhs.value.unwrap_or(f64::NAN),
                c.var
            ),
        ));
    }
    // Which variables' integration by parts fails (a jump of s·p inside the domain).
    let jumps: Vec<&str> = r
        .components
        .iter()
        .zip(steps.iter().filter(|s| s.step == 4))
        .filter(|(_, s)| s.holds == Some(false))
        .map(|(c, _)| c.var.as_str())
        .collect();
    // The flux of the identity being walked: p·s, or h·p·s with a weight.
    let ps = if weighted { "h·p·s" } else { "p·s" };
    let moved = eq("E⟨s, ∇log p⟩ = −E[∇·s]", "E[h⟨s, ∇log p⟩] = −E[∇·(h s)]");
    let vanishes = format!("{ps} vanishes on the boundary, so {moved}");
    let b = Side::of(&r.cross.boundary);
    let mut s4 = step(
        4,
        "the boundary term vanishes",
        &eq("Σ_i ∫[s_i p] = 0", "Σ_i ∫[h s_i p] = 0"),
        b,
        Side::exact(0.0),
        &vanishes,
        boundary_failure(r, weighted),
    );
    // The step follows check's boundary verdict ("vanishes" within the tolerance,
    // "nonzero" only when told from 0 at the tolerance), so explain and check agree.
    s4.holds = match r.verdict.boundary {
        Boundary::Vanishes => Some(true),
        Boundary::Nonzero => Some(false),
        Boundary::Undecided => None,
    };
    if s4.holds == Some(true) && s4.why != vanishes {
        s4.why = format!("{ps} vanishes on the boundary (within the tolerance), so {moved}");
    }
    if s4.holds == Some(false) && !s4.why.starts_with("the boundary term") {
        s4.why = boundary_failure(r, weighted);
    }
    let boundary_fails = s4.holds == Some(false);
    steps.push(s4);
    // Step 5: the tractable objective.
    let right5 = Side::sum(&[(&ob.ism, 1.0), (&ob.constant, 1.0)]);
    let gap = ob.gap.value.unwrap_or(f64::NAN);
    steps.push(step(
        5,
        "tractable objective",
        &eq(
            "esm = E[½|s|² + ∇·s] + ½E|∇log p|² = ism + const",
            "esm = E[h(½|s|² + ∇·s) + ∇h·s] + ½E h|∇log p|² = ism + const",
        ),
        Side::of(&ob.esm),
        right5,
        "score matching without ∇log p: esm and ism + const agree",
        tractable_failure(gap, &jumps, boundary_fails),
    ));
    Explanation {
        case: r.case.clone(),
        steps,
    }
}

/// The walk through the plain (unweighted) derivation, also for a case with a weight: what
/// the claims of `proofs/score-matching-ibp.md` are about.
pub fn explain_plain(r: &Report) -> Explanation {
    let mut plain = r.clone();
    plain.weighted = None;
    explain(&plain)
}

/// Why step 5 fails: `gap = esm − ism − const = −(lhs − rhs)` of the cross term, which is
/// `−(boundary term)` when integration by parts holds, and also carries what a jump of s·p
/// inside the domain hides when it does not. The reason names what is actually nonzero.
fn tractable_failure(gap: f64, jumps: &[&str], boundary_fails: bool) -> String {
    let head = format!("esm − (ism + const) = {gap:.6}");
    let vars = jumps.join(", ");
    match (jumps.is_empty(), boundary_fails) {
        (true, true) => format!("{head} = −(boundary term): ism is off by the boundary term"),
        (false, false) => format!(
            "{head}, while the boundary term vanishes: integration by parts fails inside the domain in {vars} (a jump of the field acts as a hidden boundary), so ism is off by what the jump hides"
        ),
        (false, true) => format!(
            "{head}: ism is off by the boundary term and by what a jump inside the domain hides (integration by parts fails in {vars})"
        ),
        (true, false) => format!(
            "{head}: ism + const does not reach esm, although no boundary term or jump is found (an integral may be less accurate than its error says)"
        ),
    }
}

/// "the boundary term is −0.797885, not 0: p·s does not vanish at x = 0 (…)": every end
/// whose term is told from 0 at the tolerance is named (both ends of a truncated density).
fn boundary_failure(r: &Report, weighted: bool) -> String {
    let total = r.cross.boundary.value.unwrap_or(f64::NAN);
    let total_s = fmt_value(total, r.cross.boundary.error.unwrap_or(0.0));
    let (ps, h) = if weighted {
        ("h·p·s", "h ")
    } else {
        ("p·s", "")
    };
    let faces: Vec<_> = r
        .components
        .iter()
        .flat_map(|c| c.faces.iter().map(move |f| (c, f)))
        .filter_map(|(c, f)| f.value.value.map(|v| (c, f, v)))
        .collect();
    // The ends that contribute: those distinguishable from 0 at the tolerance, in the
    // order of the variables and ends; without any, the largest one.
    let mut named: Vec<_> = faces
        .iter()
        .filter(|(_, f, v)| v.abs() - f.value.error.unwrap_or(0.0) > r.tolerance)
        .collect();
    if named.is_empty() {
        named.extend(faces.iter().max_by(|a, b| a.2.abs().total_cmp(&b.2.abs())));
    }
    let places: Vec<String> = named
        .iter()
        .map(|(c, f, v)| {
            let place = match f.at {
                Some(a) => format!("at {} = {}", c.var, a),
                None => format!(
                    "as {} → {}∞",
                    c.var,
                    if f.end == "upper" { "+" } else { "−" }
                ),
            };
            let fv = fmt_value(*v, f.value.error.unwrap_or(0.0));
            let what = if r.components.len() == 1 {
                format!("{h}s_{} p = {fv} there", c.var)
            } else {
                format!("∫ {h}s_{} p over that face = {fv}", c.var)
            };
            format!("{place} ({what})")
        })
        .collect();
    if places.is_empty() {
        format!("the boundary term is {total_s}, not 0")
    } else {
        format!(
            "the boundary term is {total_s}, not 0: {ps} does not vanish {}",
            places.join(" and ")
        )
    }
}

impl Explanation {
    /// Violated when a step fails, undecided when a step is undecided, else holds.
    pub fn outcome(&self) -> Outcome {
        Outcome::all(self.steps.iter().map(|s| Outcome::of(s.holds)))
    }

    /// Plain text.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "the score-matching derivation for case {}:", self.case);
        for s in &self.steps {
            let mark = match s.holds {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "?",
            };
            let _ = writeln!(o);
            let _ = writeln!(o, "step {} — {}  {}", s.step, s.name, mark);
            let _ = writeln!(o, "  {}", s.equation);
            let _ = writeln!(o, "  left  = {}", s.left.text());
            let _ = writeln!(o, "  right = {}", s.right.text());
            if let Some(d) = s.difference {
                let _ = writeln!(o, "  left − right = {d:.3e}");
            }
            let _ = writeln!(o, "  {}", s.why);
        }
        o
    }

    /// A Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "### The derivation for `{}`\n", self.case);
        let _ = writeln!(
            o,
            "| step | equation | left | right | left − right | | why |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for s in &self.steps {
            let mark = match s.holds {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "?",
            };
            let d = s
                .difference
                .map(|d| format!("{d:.3e}"))
                .unwrap_or_else(|| "—".into());
            let _ = writeln!(
                o,
                "{}",
                markdown::row(&[
                    format!("{} {}", s.step, s.name),
                    format!("`{}`", s.equation),
                    s.left.text(),
                    s.right.text(),
                    d,
                    mark.to_string(),
                    s.why.clone(),
                ])
            );
        }
        o
    }

    /// JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an explanation always serializes")
    }
}
