//! The real `scorecheck` binary: the text report, the JSON schema, every exit code, the
//! messages for bad input, the flags mode and `--param` overrides.
//!
//! Closed forms used below (x ~ N(0, 1), so E x = 0 and E x² = 1): for the field
//! s(x) = −(x − μ)/σ² the score of p is −x, so s − ∇log p = s + x = (1 − 1/σ²)x + μ/σ² and
//!
//!     esm = ½E[(s + x)²] = ½((1 − 1/σ²)² + μ²/σ⁴),   lhs = rhs = E[(x − μ)x]/σ² = 1/σ².

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common;
use common::{bad_input, exit_code, run, stderr, stdout};

/// A directory of its own for the case files one test writes; errors name files relative
/// to it, so the messages below do not depend on where the target directory is.
fn scratch(test: &str) -> PathBuf {
    common::scratch("cli", test)
}

/// Write `text` to `name` in `dir` and check it as bad input.
#[track_caller]
fn bad_file(test: &str, name: &str, text: &str, first: &str) -> String {
    let dir = scratch(test);
    std::fs::write(dir.join(name), text).expect("write case file");
    bad_input(&dir, &["check", name], first)
}

// ---------------------------------------------------------------------------------------
// The JSON schema, mirrored. `deny_unknown_fields` pins the field names; `check_keys`
// below pins that every quantity carries value and error even when they are null.

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JReport {
    case: String,
    vars: Vec<String>,
    params: BTreeMap<String, f64>,
    normalizer: JQ,
    /// log Z, always present (DESIGN.md); `normalizer.value` is null when Z overflows.
    log_normalizer: f64,
    log_normalizer_error: f64,
    components: Vec<JComponent>,
    cross: JCross,
    objective: JObjective,
    verdict: JVerdict,
    // Extra fields of the report (src/report.rs `Report`).
    domain: Vec<[Option<f64>; 2]>,
    tolerance: f64,
    modes: Vec<Vec<f64>>,
    flux: Vec<JFlux>,
    explanations: JExplanations,
    notes: Vec<String>,
    half_s2: JQ,
    /// Only when the case has a weight (`skip_serializing_if` in src/report.rs).
    #[serde(default)]
    weighted: Option<JWeighted>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JWeighted {
    weight: String,
    components: Vec<JComponent>,
    cross: JCross,
    objective: JObjective,
    verdict: JVerdict,
    explanations: JExplanations,
    half_s2: JQ,
}

/// One line per verdict, named as the verdicts are.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JExplanations {
    ibp: String,
    boundary: String,
    objective: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JQ {
    value: Option<f64>,
    error: Option<f64>,
    evals: u64,
    status: JStatus,
    /// Extra: where a non-finite integrand value was met (status `nonfinite` only).
    #[serde(default)]
    at: Option<Vec<f64>>,
}

#[derive(Deserialize, Debug, PartialEq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum JStatus {
    Ok,
    NotConverged,
    Diverges,
    Nonfinite,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JComponent {
    var: String,
    lhs: JQ,
    rhs: JQ,
    boundary: JQ,
    /// Extra: the terms of the two ends, `boundary = upper − lower`.
    faces: Vec<JFace>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JFace {
    end: String,
    at: Option<f64>,
    value: JQ,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JCross {
    lhs: JQ,
    rhs: JQ,
    boundary: JQ,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JObjective {
    esm: JQ,
    ism: JQ,
    #[serde(rename = "const")]
    constant: JQ,
    gap: JQ,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JVerdict {
    ibp: JIbp,
    boundary: JBoundary,
    objective: JObjectiveVerdict,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum JIbp {
    Holds,
    Violated,
    Undecided,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum JBoundary {
    Vanishes,
    Nonzero,
    Undecided,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum JObjectiveVerdict {
    Finite,
    Infinite,
    Undecided,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JFlux {
    var: String,
    end: String,
    samples: Vec<[f64; 2]>,
}

impl JReport {
    fn quantities(&self) -> Vec<(String, &JQ)> {
        let mut v = vec![("normalizer".to_string(), &self.normalizer)];
        for c in &self.components {
            v.push((format!("lhs_{}", c.var), &c.lhs));
            v.push((format!("rhs_{}", c.var), &c.rhs));
            v.push((format!("boundary_{}", c.var), &c.boundary));
        }
        v.push(("cross.lhs".into(), &self.cross.lhs));
        v.push(("cross.rhs".into(), &self.cross.rhs));
        v.push(("cross.boundary".into(), &self.cross.boundary));
        v.push(("esm".into(), &self.objective.esm));
        v.push(("ism".into(), &self.objective.ism));
        v.push(("const".into(), &self.objective.constant));
        v.push(("gap".into(), &self.objective.gap));
        v
    }
}

/// Every quantity object has exactly the keys value, error, evals, status (plus `at` when
/// non-finite), so a null value is written out rather than left away.
fn check_keys(v: &serde_json::Value) {
    let q = |q: &serde_json::Value, what: &str| {
        let o = q
            .as_object()
            .unwrap_or_else(|| panic!("{what} is an object"));
        let mut keys: Vec<&str> = o.keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        let nonfinite = o["status"] == "nonfinite";
        let expected: &[&str] = if nonfinite && o.contains_key("at") {
            &["at", "error", "evals", "status", "value"]
        } else {
            &["error", "evals", "status", "value"]
        };
        assert_eq!(keys, expected, "keys of {what}");
        if o["status"] == "ok" || o["status"] == "not_converged" {
            assert!(
                o["value"].is_f64() && o["error"].is_f64(),
                "{what} has a value: {q}"
            );
        } else {
            assert!(
                o["value"].is_null() && o["error"].is_null(),
                "{what} has no value: {q}"
            );
        }
    };
    // The components, cross term and objective of the report, or of its weighted section.
    let section = |v: &serde_json::Value| {
        for c in v["components"].as_array().expect("components") {
            for k in ["lhs", "rhs", "boundary"] {
                q(&c[k], k);
            }
            for f in c["faces"].as_array().into_iter().flatten() {
                q(&f["value"], "face");
            }
        }
        for k in ["lhs", "rhs", "boundary"] {
            q(&v["cross"][k], k);
        }
        for k in ["esm", "ism", "const", "gap"] {
            q(&v["objective"][k], k);
        }
    };
    // Z may have no value (Z outside the range of a double) while log Z has one.
    let overflowed = v["log_normalizer"]
        .as_f64()
        .is_some_and(|l| !l.exp().is_normal());
    if overflowed {
        assert!(v["normalizer"]["value"].is_null(), "{}", v["normalizer"]);
    } else {
        q(&v["normalizer"], "normalizer");
    }
    q(&v["half_s2"], "half_s2");
    section(v);
    if let Some(w) = v.get("weighted") {
        section(w);
    }
}

/// Run with `--json`, check the schema, and return the report and the exit code.
fn json(args: &[&str]) -> (JReport, i32) {
    let mut a = args.to_vec();
    a.push("--json");
    let o = run(&a);
    let text = stdout(&o);
    let raw: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON: {e}\n{text}"));
    check_keys(&raw);
    let r: JReport = serde_json::from_value(raw).unwrap_or_else(|e| panic!("schema: {e}\n{text}"));
    (r, o.status.code().expect("exit code"))
}

/// `q` converged and is within its error of `exact`.
#[track_caller]
fn near(q: &JQ, exact: f64, what: &str) {
    assert_eq!(q.status, JStatus::Ok, "{what}: {q:?}");
    let (v, e) = (q.value.expect(what), q.error.expect(what));
    assert!((v - exact).abs() <= e, "{what}: {v} ± {e:e}, exact {exact}");
}

// ---------------------------------------------------------------------------------------
// Exit 0 and the text report.

#[test]
fn gauss_text_report() {
    let o = run(&["check", "examples/cases/gauss.toml"]);
    exit_code(&o, 0);
    assert_eq!(stderr(&o), "");
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "case gauss: x ∈ [-inf, inf]");
    assert!(
        lines[1].starts_with("normalizer Z = 2.50662827463"),
        "{}",
        lines[1]
    );
    // lhs and rhs of the row of x (and of the total) print as 1.000000… with an error that
    // covers the distance to 1 and meets the 1-D tolerance 1e-10.
    for row in ["x", "total"] {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(row))
            .unwrap_or_else(|| panic!("row {row} in\n{out}"));
        let t: Vec<&str> = line.split_whitespace().collect();
        for (v, pm, e) in [(t[1], t[2], t[3]), (t[4], t[5], t[6])] {
            assert_eq!(pm, "±", "{line}");
            assert!(v.starts_with("1.0000000000"), "{line}");
            let (v, e): (f64, f64) = (v.parse().unwrap(), e.parse().unwrap());
            assert!((v - 1.0).abs() <= e && e <= 1e-10, "{line}");
        }
    }
    let verdict = |label: &str| {
        lines
            .iter()
            .rev() // the verdicts are at the end; "objective:" also heads the table
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in\n{out}"))
            .to_string()
    };
    assert!(verdict("ibp:").starts_with(
        "ibp:       holds     lhs_i = boundary_i + rhs_i for every variable, within the reported errors"
    ));
    assert!(verdict("boundary:").starts_with("boundary:  vanishes  the boundary term is "));
    assert!(
        verdict("boundary:")
            .ends_with("(zero within the tolerance 1e-10): p·s vanishes on the boundary")
    );
    assert!(verdict("objective:").starts_with(
        "objective: finite    esm, ism and const are finite; gap = esm − ism − const = "
    ));
}

#[test]
fn gauss_json_report() {
    let (r, code) = json(&["check", "examples/cases/gauss.toml"]);
    assert_eq!(code, 0);
    assert_eq!(r.case, "gauss");
    assert_eq!(r.vars, ["x"]);
    assert!(r.params.is_empty());
    assert_eq!(r.domain, [[None, None]]);
    assert_eq!(r.tolerance, 1e-10);
    // log Z = ½ ln(2π) for p̃ = e^{−x²/2}, within its error (Z's relative error).
    let lz = 0.5 * (2.0 * std::f64::consts::PI).ln();
    assert!(r.log_normalizer_error < 1e-12, "{}", r.log_normalizer_error);
    assert!((r.log_normalizer - lz).abs() <= r.log_normalizer_error + 1e-15);
    assert_eq!(r.verdict.ibp, JIbp::Holds);
    assert_eq!(r.verdict.boundary, JBoundary::Vanishes);
    assert_eq!(r.verdict.objective, JObjectiveVerdict::Finite);
    // Each verdict explained by name, saying why it holds.
    assert!(
        r.explanations.ibp.starts_with("lhs_i = boundary_i + rhs_i"),
        "{:?}",
        r.explanations
    );
    assert!(
        r.explanations
            .boundary
            .ends_with(": p·s vanishes on the boundary"),
        "{:?}",
        r.explanations
    );
    assert!(
        r.explanations
            .objective
            .starts_with("esm, ism and const are finite"),
        "{:?}",
        r.explanations
    );
    assert_eq!(r.modes.len(), 1);
    assert!(r.modes[0][0].abs() < 1e-6, "mode at 0: {:?}", r.modes);
    // The flux is followed out at both infinite ends of x.
    assert_eq!(r.flux.len(), 2);
    assert!(r.flux.iter().all(|f| f.var == "x" && !f.samples.is_empty()));
    assert_eq!(r.flux[0].end, "lower");
    assert_eq!(r.flux[1].end, "upper");
    // p = N(0,1), s = −x: Z = √(2π), lhs = rhs = 1, boundary 0, esm 0, ism −½, const ½.
    near(&r.normalizer, (2.0 * std::f64::consts::PI).sqrt(), "Z");
    let c = &r.components[0];
    assert_eq!(c.var, "x");
    near(&c.lhs, 1.0, "lhs");
    near(&c.rhs, 1.0, "rhs");
    near(&c.boundary, 0.0, "boundary");
    near(&r.cross.lhs, 1.0, "cross.lhs");
    near(&r.objective.esm, 0.0, "esm");
    near(&r.objective.ism, -0.5, "ism");
    near(&r.objective.constant, 0.5, "const");
    near(&r.objective.gap, 0.0, "gap");
    near(&r.half_s2, 0.5, "half_s2 = E[½x²]");
    assert!(r.weighted.is_none());
    // Both ends of x are infinite; the flux s·p vanishes there.
    let ends: Vec<(&str, Option<f64>)> = c.faces.iter().map(|f| (f.end.as_str(), f.at)).collect();
    assert_eq!(ends, [("lower", None), ("upper", None)]);
    for f in &c.faces {
        near(&f.value, 0.0, "face");
    }
    for (name, q) in r.quantities() {
        assert!(q.evals > 0, "{name} counts its evaluations");
        assert!(q.at.is_none(), "{name}");
    }
}

#[test]
fn flags_mode() {
    let o = run(&["check", "--log-density", "-x^2/2", "--score", "-x"]);
    exit_code(&o, 0);
    assert!(
        stdout(&o).starts_with("case command-line: x ∈ [-inf, inf]\n"),
        "{}",
        stdout(&o)
    );
    let (r, code) = json(&["check", "--log-density", "-x^2/2", "--score", "-x"]);
    assert_eq!(code, 0);
    near(&r.components[0].lhs, 1.0, "lhs");
}

#[test]
fn param_override_moves_esm_to_its_closed_form() {
    // gauss-mismatch: p = N(0,1), s = −(x − μ)/σ², params μ = 0.3, σ = 1.4 (named `s`).
    // esm = ½((1 − 1/σ²)² + μ²/σ⁴), lhs = rhs = 1/σ² (see the top of this file).
    let esm = |mu: f64, sig: f64| {
        let a = 1.0 / (sig * sig);
        0.5 * ((1.0 - a).powi(2) + mu * mu * a * a)
    };
    let file = "examples/cases/gauss-mismatch.toml";
    let mut seen = vec![];
    for (args, mu, sig) in [
        (vec![], 0.3, 1.4),
        (vec!["--param", "mu=2"], 2.0, 1.4),
        (vec!["--param", "mu=-1.5", "--param", "s=0.8"], -1.5, 0.8),
    ] {
        let mut a = vec!["check", file];
        a.extend(args);
        let (r, code) = json(&a);
        assert_eq!(code, 0, "{a:?}");
        assert_eq!(
            r.params,
            BTreeMap::from([("mu".to_string(), mu), ("s".to_string(), sig)])
        );
        near(&r.objective.esm, esm(mu, sig), "esm");
        near(&r.components[0].lhs, 1.0 / (sig * sig), "lhs");
        near(&r.components[0].rhs, 1.0 / (sig * sig), "rhs");
        seen.push(r.objective.esm.value.unwrap());
    }
    // The overrides really changed the result.
    assert!(
        (seen[0] - seen[1]).abs() > 0.1 && (seen[1] - seen[2]).abs() > 0.1,
        "{seen:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Exit 1: a check is violated.

#[test]
fn half_normal_boundary_is_nonzero() {
    let o = run(&["check", "examples/cases/half-normal.toml"]);
    exit_code(&o, 1);
    let out = stdout(&o);
    assert!(
        // −p(0)s(0)/Z = −1/√(π/2) = −0.7978845608…, printed to the digits its error supports.
        out.contains("boundary:  nonzero   the boundary term is -0.7978845608"),
        "{out}"
    );
    assert!(out.contains("ibp:       holds"), "{out}");
    let (r, code) = json(&["check", "examples/cases/half-normal.toml"]);
    assert_eq!(code, 1);
    assert_eq!(r.domain, [[Some(0.0), None]]);
    // boundary = −p(0)s(0) = −√(2/π) with s(0) = 1 and p(0) = √(2/π).
    near(
        &r.cross.boundary,
        -(2.0 / std::f64::consts::PI).sqrt(),
        "boundary",
    );
    assert_eq!(r.verdict.boundary, JBoundary::Nonzero);
    // The term comes from the lower end x = 0, where s p = √(2/π); boundary = upper − lower.
    let lower = &r.components[0].faces[0];
    assert_eq!((lower.end.as_str(), lower.at), ("lower", Some(0.0)));
    near(
        &lower.value,
        (2.0 / std::f64::consts::PI).sqrt(),
        "lower face",
    );
}

#[test]
fn weight_that_vanishes_on_the_boundary_rescues_the_identity() {
    // p = 1 on [0, 1], s = x − ½: the boundary term [s p] from 0 to 1 is 1, so the plain
    // identity fails, but with h = x(1 − x) the weighted one holds and decides the exit code.
    // With u = x − ½ (h = ¼ − u²): esm_h = ½E[h s²] = ½∫(¼ − u²)u² du = ½(1/48 − 1/80) = 1/240;
    // ism_h = E[h(½s² + 1) + h′s] = 1/240 + E h + E[−2u²] = 1/240 + 1/6 − 1/6 = 1/240; const_h = 0.
    let dir = scratch("weight");
    std::fs::write(
        dir.join("weighted.toml"),
        "domain = [[0, 1]]\nweight = \"x*(1-x)\"\n[density]\nlog = \"0*x\"\n[score]\nfield = [\"x - 1/2\"]\n",
    )
    .expect("write case");
    let path = dir.join("weighted.toml");
    let (r, code) = json(&["check", path.to_str().expect("UTF-8 path")]);
    assert_eq!(code, 0);
    assert_eq!(r.verdict.boundary, JBoundary::Nonzero);
    near(&r.cross.boundary, 1.0, "plain boundary");
    let w = r.weighted.expect("a weighted section");
    assert_eq!(w.weight, "x*(1-x)");
    assert_eq!(w.verdict.ibp, JIbp::Holds);
    assert_eq!(w.verdict.boundary, JBoundary::Vanishes);
    assert_eq!(w.verdict.objective, JObjectiveVerdict::Finite);
    // The weighted identity explains itself with its own flux h·p·s (issue 15: both
    // call sites of `verdicts` once passed `weighted = false`); the plain one with p·s.
    assert!(
        w.explanations
            .boundary
            .ends_with(": h·p·s vanishes on the boundary"),
        "{:?}",
        w.explanations
    );
    assert!(
        r.explanations
            .boundary
            .contains(": p·s does not vanish on the boundary")
            && !r.explanations.boundary.contains("h·p·s"),
        "{:?}",
        r.explanations
    );
    near(&w.cross.boundary, 0.0, "weighted boundary");
    // lhs_h = ∫h s ∂p = 0 (p is flat); rhs_h = −E[(h s)′] = −E[−2u² + h] = −(−1/6 + 1/6) = 0.
    assert_eq!(w.components.len(), 1);
    near(&w.components[0].lhs, 0.0, "weighted lhs");
    near(&w.components[0].rhs, 0.0, "weighted rhs");
    near(&w.objective.esm, 1.0 / 240.0, "weighted esm");
    near(&w.objective.ism, 1.0 / 240.0, "weighted ism");
    near(&w.objective.constant, 0.0, "weighted const");
    // E½h|s|² = esm_h here (∇log p = 0): 1/240, the first term of the expanded square.
    near(&w.half_s2, 1.0 / 240.0, "weighted E½h|s|²");
}

#[test]
fn cauchy_objective_is_infinite() {
    let o = run(&["check", "examples/cases/cauchy.toml"]);
    exit_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("objective: infinite  esm is infinite"),
        "{out}"
    );
    let (r, code) = json(&["check", "examples/cases/cauchy.toml"]);
    assert_eq!(code, 1);
    assert_eq!(r.verdict.objective, JObjectiveVerdict::Infinite);
    assert_eq!(r.objective.esm.status, JStatus::Diverges);
    assert_eq!(r.objective.esm.value, None);
    assert_eq!(r.objective.esm.error, None);
    // const = ½E[(2x/(1+x²))²] = ¼ stays finite.
    near(&r.objective.constant, 0.25, "const");
}

#[test]
fn jump_violates_ibp() {
    let o = run(&["check", "examples/cases/jump.toml"]);
    exit_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("ibp:       violated  for x: lhs − boundary − rhs = 1.000e0, more than the combined error"),
        "{out}"
    );
    let (r, _) = json(&["check", "examples/cases/jump.toml"]);
    assert_eq!(r.verdict.ibp, JIbp::Violated);
    near(&r.components[0].lhs, 1.0, "lhs");
    near(&r.components[0].rhs, 0.0, "rhs");
}

// ---------------------------------------------------------------------------------------
// Exit 3: undecided, with the reason on stderr.

#[test]
fn tiny_budget_leaves_the_boundary_undecided() {
    // p = e^{−x−y} on [0, ∞)², s = (y − 1, x − 1): on the face x = 0 the flux is
    // −∫(y − 1)e^{−y} dy = 0, and likewise on y = 0, so the boundary term is exactly 0 — but
    // 100 evaluations cannot show it to 1e-8, and the tool must say so rather than guess.
    let args = [
        "check",
        "--log-density",
        "-x-y",
        "--score",
        "y-1",
        "--score",
        "x-1",
        "--domain",
        "0:inf",
        "--domain",
        "0:inf",
        "--max-evals",
        "100",
    ];
    let o = run(&args);
    exit_code(&o, 3);
    let err = stderr(&o);
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("undecided: "), "{err}");
    assert!(
        first.contains("the boundary term could not be decided"),
        "{err}"
    );
    // Only the undecided verdicts are given as reasons.
    assert!(!first.contains("within the reported errors"), "{err}");
    assert!(
        stdout(&o).contains("boundary:  undecided"),
        "{}",
        stdout(&o)
    );
    // With --json the report still goes to stdout and the reason to stderr.
    let (r, code) = json(&args);
    assert_eq!(code, 3);
    assert_eq!(r.verdict.boundary, JBoundary::Undecided);
    assert_eq!(r.cross.boundary.status, JStatus::NotConverged);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("budget of 100 evaluations")),
        "{:?}",
        r.notes
    );
    // The estimate is honest: the true 0 lies within it.
    assert!(r.cross.boundary.value.unwrap().abs() <= r.cross.boundary.error.unwrap());
}

#[test]
fn field_undefined_where_p_has_mass_is_undecided() {
    // s = √x is NaN for x < 0, where N(0,1) has half its mass: the quantities that use s
    // are `nonfinite`, with the point where that was met.
    let args = ["check", "--log-density", "-x^2/2", "--score", "sqrt(x)"];
    let o = run(&args);
    exit_code(&o, 3);
    assert!(stderr(&o).starts_with("undecided: "), "{}", stderr(&o));
    let (r, code) = json(&args);
    assert_eq!(code, 3);
    let lhs = &r.components[0].lhs;
    assert_eq!(lhs.status, JStatus::Nonfinite);
    let at = lhs.at.as_ref().expect("where lhs met a non-finite value");
    assert!(at.len() == 1 && at[0] < 0.0, "{at:?}");
    near(&r.objective.constant, 0.5, "const");
    assert_eq!(r.verdict.objective, JObjectiveVerdict::Undecided);
}

#[test]
fn unreachable_tolerance_is_undecided() {
    // No integral can reach 1e-300; by the exit-code contract that is undecided (3).
    let o = run(&["check", "examples/cases/gauss.toml", "--tol", "1e-300"]);
    exit_code(&o, 3);
    assert!(stderr(&o).starts_with("undecided: "), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------
// The gallery: each case file states its exit code in its header ("-> exit N").

#[test]
fn gallery_exit_codes_match_their_headers() {
    let files = common::gallery_files(|_| true);
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let expected = common::header_exit(&f, "-> exit ");
        let o = run(&["check", f.to_str().expect("UTF-8 path")]);
        assert_eq!(
            o.status.code(),
            Some(expected),
            "{}\n{}{}",
            f.display(),
            stdout(&o),
            stderr(&o)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Exit 2: bad input — a clear message on stderr, nothing on stdout.

#[test]
fn missing_file() {
    let dir = scratch("missing_file");
    bad_input(
        &dir,
        &["check", "missing.toml"],
        "error: missing.toml: cannot read the case file: no such file",
    );
}

#[test]
fn toml_syntax_error() {
    bad_file(
        "toml_syntax_error",
        "syntax.toml",
        "[density]\nlog = \"-x^2/2\"\n[score\nfield = [\"-x\"]\n",
        "error: syntax.toml:3: unclosed table, expected `]`",
    );
}

#[test]
fn unknown_key() {
    bad_file(
        "unknown_key",
        "unknown.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\nfoo = 1\n",
        "error: unknown.toml:5: unknown field `foo`, expected one of `field`, `log_model`, `divergence`",
    );
}

#[test]
fn bad_expression_shows_a_caret() {
    let err = bad_file(
        "bad_expression_shows_a_caret",
        "badexpr.toml",
        "[density]\nlog = \"-x^2/2 +* 3\"\n[score]\nfield = [\"-x\"]\n",
        "error: badexpr.toml:2 (density.log): missing operand before `*`",
    );
    assert_eq!(
        err,
        "error: badexpr.toml:2 (density.log): missing operand before `*`\n  -x^2/2 +* 3\n          ^\n"
    );
}

#[test]
fn unknown_variable_lists_the_known_ones() {
    let err = bad_file(
        "unknown_variable_lists_the_known_ones",
        "unkvar.toml",
        "vars = [\"x\"]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x*z\"]\n",
        "error: unkvar.toml:5 (score.field[0]): unknown variable `z`; known variables: x",
    );
    assert_eq!(err.lines().nth(2), Some("     ^"), "{err}");
}

#[test]
fn field_with_wrong_number_of_components() {
    bad_file(
        "field_with_wrong_number_of_components",
        "ncomp.toml",
        "vars = [\"x\", \"y\"]\n[density]\nlog = \"-x^2/2 - y^2/2\"\n[score]\nfield = [\"-x\"]\n",
        "error: ncomp.toml:5 (score.field): the field has 1 component but there are 2 variables (x, y)",
    );
    let dir = scratch("field_with_wrong_number_of_components");
    bad_input(
        &dir,
        &["check", "--log-density", "-x^2/2 - y^2/2", "--score", "-x"],
        "error: --score: the field has 1 component but there are 2 variables (x, y); the variables are the free symbols of the expressions (set `vars`, or make a constant a parameter)",
    );
}

#[test]
fn domain_lower_above_upper() {
    bad_file(
        "domain_lower_above_upper",
        "lohi.toml",
        "domain = [[1, 0]]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n",
        "error: lohi.toml:1 (domain[0]): the interval [1, 0] is empty: the lower end must be below the upper end",
    );
    let dir = scratch("domain_lower_above_upper");
    bad_input(
        &dir,
        &[
            "check",
            "--log-density",
            "-x^2/2",
            "--score",
            "-x",
            "--domain",
            "1:0",
        ],
        "error: --domain 1:0: the interval [1, 0] is empty: the lower end must be below the upper end",
    );
}

#[test]
fn case_file_and_case_flags_conflict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    bad_input(
        dir,
        &[
            "check",
            "examples/cases/gauss.toml",
            "--log-density",
            "-x^2/2",
            "--json",
        ],
        "error: --log-density cannot be combined with a case file; edit the file, or drop it and give the case by flags",
    );
    bad_input(
        dir,
        &[
            "check",
            "--log-density",
            "-x^2/2",
            "--pdf",
            "exp(-x)",
            "--score",
            "-x",
        ],
        "error: the argument '--log-density <EXPR>' cannot be used with '--pdf <EXPR>'",
    );
    bad_input(
        dir,
        &["check"],
        "error: give a case file, or the density with --log-density EXPR or --pdf EXPR",
    );
}

#[test]
fn param_for_an_unknown_parameter() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    bad_input(
        dir,
        &[
            "check",
            "examples/cases/gauss-mismatch.toml",
            "--param",
            "sigma=2",
            "--json",
        ],
        "error: --param: unknown parameter `sigma`; the case's parameters: mu, s",
    );
    bad_input(
        dir,
        &[
            "check",
            "examples/cases/gauss-mismatch.toml",
            "--param",
            "mu",
        ],
        "error: --param: expected NAME=VALUE, got `mu`",
    );
}

#[test]
fn tolerance_must_be_positive() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (tol, shown) in [("0", "0"), ("-1", "-1"), ("nan", "NaN")] {
        bad_input(
            dir,
            &["check", "examples/cases/gauss.toml", "--tol", tol],
            &format!("error: --tol must be a positive number, got {shown}"),
        );
    }
}
