//! `scorecheck score` through the real binary: a gallery of wrong hand-written scores and
//! divergences (`examples/cases/score-*.toml`), each caught — or passed, when a mistake does
//! not change the score — with the bad component and a counterexample point named.
//!
//! Every counterexample is checked against the closed form derived in the test's comment:
//! the binary must report a point `x` where the hand-written value `a` and the exact value
//! `b` are what the formulas give at `x`, and differ.

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::common;
use common::{exit_code, run, stderr, stdout};

fn case(name: &str) -> String {
    format!("examples/cases/score-{name}.toml")
}

// ---------------------------------------------------------------------------------------
// The JSON report, mirrored so that a renamed or added top-level field fails here.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Report {
    case: String,
    vars: Vec<String>,
    params: Value,
    domain: Vec<[Option<f64>; 2]>,
    tolerance: Tolerance,
    points: Value,
    modes: Vec<Value>,
    field: Vec<Discrepancy>,
    divergence: Option<Discrepancy>,
    gradient: Vec<Discrepancy>,
    finite_differences: Option<Fd>,
    tails: Vec<Value>,
    verdict: Verdict,
    counterexamples: Vec<Counterexample>,
    explanations: Vec<String>,
    notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tolerance {
    rtol: f64,
    atol: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Discrepancy {
    check: String,
    a: String,
    b: String,
    compared: u64,
    disagreeing: u64,
    both_nan: u64,
    disagreeing_negligible: u64,
    max_abs: Option<Sample>,
    max_rel: Option<Sample>,
    max_weighted: Option<Sample>,
    worst: Option<Sample>,
    verdict: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Sample {
    at: Vec<f64>,
    kind: String,
    log_p: Value,
    a: Value,
    b: Value,
    abs: Value,
    rel: Value,
    weighted: Value,
}

impl Sample {
    fn a(&self) -> f64 {
        self.a.as_f64().expect("a finite a")
    }
    fn b(&self) -> f64 {
        self.b.as_f64().expect("a finite b")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    field: Option<String>,
    divergence: Option<String>,
    gradient: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Counterexample {
    check: String,
    a: String,
    b: String,
    sample: Sample,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Fd {
    at: Vec<f64>,
    why: String,
    rows: Vec<FdRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FdRow {
    derivative: String,
    exact: Value,
    steps: Vec<FdStep>,
    best_h: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FdStep {
    h: f64,
    value: Value,
    error: Value,
    inside: bool,
}

fn json(args: &[&str]) -> (Report, i32) {
    let mut a = args.to_vec();
    a.push("--json");
    let o = run(&a);
    let r: Report = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("JSON report: {e}\n{}", stdout(&o)));
    (r, o.status.code().expect("an exit code"))
}

/// The counterexample of check `name`.
#[track_caller]
fn counterexample<'a>(r: &'a Report, name: &str) -> &'a Sample {
    &r.counterexamples
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no counterexample for {name}: {:#?}", r.counterexamples))
        .sample
}

/// `a` and `b` at the counterexample are what the closed forms give there, and differ by
/// more than the tolerance.
#[track_caller]
fn closed_form(s: &Sample, a: f64, b: f64) {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + y.abs());
    assert!(
        close(s.a(), a),
        "hand-written {} but the formula gives {a}",
        s.a()
    );
    assert!(close(s.b(), b), "exact {} but the formula gives {b}", s.b());
    assert!(
        (a - b).abs() > 1e-10 + 1e-8 * a.abs().max(b.abs()),
        "not a counterexample: {a} vs {b}"
    );
}

/// A wrong case through the text report: exit 1; stdout names the bad component, says
/// DISAGREE and gives a counterexample point; stderr repeats it on `counterexample:` lines.
#[track_caller]
fn caught_in_text(name: &str, bad: &[&str], point_prefix: &str) {
    let o = run(&["score", &case(name)]);
    exit_code(&o, 1);
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(out.contains("DISAGREE"), "{out}");
    assert!(out.trim_end().ends_with("verdict: DISAGREE"), "{out}");
    for b in bad {
        assert!(
            out.contains(&format!("{b} (hand-written) vs")) || out.contains(&format!("{b}:")),
            "{b} not named\n{out}"
        );
        let line = format!("counterexample: {b} at {point_prefix}");
        assert!(err.contains(&line), "no `{line}` on stderr\n{err}");
    }
    assert!(
        out.contains(&format!("counterexample: at {point_prefix}")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------
// The gallery: eight and more wrong scores, each caught as it should be.

#[test]
fn sign_slip_is_caught() {
    // log q = −(x − 1)²/2 ⇒ ∂_x log q = −(x − 1); the field is +(x − 1).
    caught_in_text("sign", &["s_x"], "x = ");
    let (r, code) = json(&["score", &case("sign")]);
    assert_eq!(code, 1);
    assert_eq!(r.verdict.field.as_deref(), Some("disagrees"));
    let c = &r.counterexamples[0];
    assert_eq!(
        (c.check.as_str(), c.a.as_str(), c.b.as_str()),
        ("s_x", "s_x (hand-written)", "∂_x log_model (exact)")
    );
    let s = counterexample(&r, "s_x");
    let x = s.at[0];
    closed_form(s, x - 1.0, -(x - 1.0));
    // The relative difference |2(x − 1)|/|x − 1| is 2 wherever x ≠ 1.
    let rel = r.field[0].max_rel.as_ref().unwrap().rel.as_f64().unwrap();
    assert!((rel - 2.0).abs() < 1e-12, "{rel}");
    // Only x = 1, where both sides vanish, agrees: the mode, and the first bulk point (the
    // median of the map around the mode).
    assert!(r.field[0].compared - r.field[0].disagreeing <= 2);
}

#[test]
fn factor_of_two_is_caught() {
    // log q = −x²/(2v), v = 2 ⇒ ∂_x log q = −x/2; the field is −x/(2v) = −x/4.
    caught_in_text("factor", &["s_x"], "x = ");
    let (r, _) = json(&["score", &case("factor")]);
    let s = counterexample(&r, "s_x");
    let x = s.at[0];
    closed_form(s, -x / 4.0, -x / 2.0);
    assert_eq!(r.params, serde_json::json!({"v": 2.0}));
}

#[test]
fn missing_chain_rule_factor_is_caught() {
    // log q = −(x² − 1)²/4 ⇒ ∂_x log q = −(x² − 1)x; the field drops the x.
    caught_in_text("chain-rule", &["s_x"], "x = ");
    let (r, _) = json(&["score", &case("chain-rule")]);
    let s = counterexample(&r, "s_x");
    let x = s.at[0];
    closed_form(s, -(x * x - 1.0), -(x * x - 1.0) * x);
    // At the modes x = ±1 both vanish, so they are no counterexample.
    assert!((x.abs() - 1.0).abs() > 1e-3, "{x}");
}

#[test]
fn wrong_variable_is_caught() {
    // log q = −x²/2 − y²/8 ⇒ ∇log q = (−x, −y/4); the field has s_y = −x/4.
    caught_in_text("wrong-variable", &["s_y"], "(x, y) = (");
    let (r, _) = json(&["score", &case("wrong-variable")]);
    assert_eq!(r.field[0].verdict, "agrees", "s_x is right");
    assert_eq!(r.field[1].verdict, "disagrees");
    let s = counterexample(&r, "s_y");
    let (x, y) = (s.at[0], s.at[1]);
    closed_form(s, -x / 4.0, -y / 4.0);
    // ∂_y s_x = 0 but ∂_x s_y = −1/4: not a gradient either.
    assert_eq!(r.verdict.gradient.as_deref(), Some("not_gradient"));
    assert!(!r.counterexamples.iter().any(|c| c.check == "s_x"));
}

#[test]
fn swapped_components_are_caught() {
    // ∇log q = (−x, −y/4); the field is (−y/4, −x): both components are wrong.
    caught_in_text("swapped", &["s_x", "s_y"], "(x, y) = (");
    let (r, _) = json(&["score", &case("swapped")]);
    let s = counterexample(&r, "s_x");
    closed_form(s, -s.at[1] / 4.0, -s.at[0]);
    let s = counterexample(&r, "s_y");
    closed_form(s, -s.at[0], -s.at[1] / 4.0);
    // ∂_y s_x = −1/4, ∂_x s_y = −1.
    let g = counterexample(&r, "∂_y s_x − ∂_x s_y");
    assert_eq!((g.a(), g.b()), (-0.25, -1.0));
}

#[test]
fn taylor_term_right_only_near_zero_is_caught() {
    // log q = −ln cosh x ⇒ ∂_x log q = −tanh x; the field is −x. The relative error is about
    // x²/3, so points with |x| > 2e-4 disagree — nearly all of them — and the largest
    // difference lies far out in the tails, where p still has mass (sech 5 ≈ 0.013).
    caught_in_text("taylor", &["s_x"], "x = ");
    let (r, _) = json(&["score", &case("taylor")]);
    let s = counterexample(&r, "s_x");
    let x = s.at[0];
    closed_form(s, -x, -x.tanh());
    let far = r.field[0].max_abs.as_ref().unwrap();
    assert!(far.at[0].abs() > 5.0, "{far:?}");
    // Only x = 0 agrees (the mode, and the first bulk point, the median of the map).
    assert!(r.field[0].compared - r.field[0].disagreeing <= 2);
}

#[test]
fn wrong_divergence_of_a_correct_field_is_caught() {
    // s = (−x, −y) is ∇log q, but ∇·s = −2, not the hand-written −1.
    caught_in_text("divergence", &["∇·s"], "(x, y) = (");
    let (r, _) = json(&["score", &case("divergence")]);
    assert_eq!(r.verdict.field.as_deref(), Some("agrees"));
    assert_eq!(r.verdict.divergence.as_deref(), Some("disagrees"));
    assert_eq!(r.verdict.gradient.as_deref(), Some("gradient"));
    let s = counterexample(&r, "∇·s");
    closed_form(s, -1.0, -2.0);
    assert_eq!(r.counterexamples.len(), 1);
}

#[test]
fn summed_mixture_scores_are_caught() {
    // q = (N(−2, 1) + N(2, 1))/2 ⇒ ∂_x log q = −x + 2 tanh(2x) (responsibilities
    // r_± = (1 ± tanh 2x)/2); the field sums the component scores: −2x.
    caught_in_text("mixture", &["s_x"], "x = ");
    let (r, _) = json(&["score", &case("mixture")]);
    let s = counterexample(&r, "s_x");
    let x = s.at[0];
    closed_form(s, -2.0 * x, -x + 2.0 * (2.0 * x).tanh());
    // Both modes were found and checked.
    assert_eq!(r.modes.len(), 2);
}

#[test]
fn a_field_that_is_not_a_gradient_is_no_score() {
    // s = (−x − y, x − y): ∂_y s_x = −1, ∂_x s_y = 1 everywhere. No log-model to compare
    // with, so the check is the symmetry of the Jacobian alone.
    let o = run(&["score", &case("curl")]);
    exit_code(&o, 1);
    let out = stdout(&o);
    assert!(out.contains("not a gradient"), "{out}");
    assert!(out.contains("cannot be the score of any model"), "{out}");
    assert!(out.contains("the identity still holds"), "{out}");
    assert!(
        stderr(&o).contains("counterexample: ∂_y s_x − ∂_x s_y at (x, y) = ("),
        "{}",
        stderr(&o)
    );
    let (r, code) = json(&["score", &case("curl")]);
    assert_eq!(code, 1);
    assert_eq!(r.verdict.gradient.as_deref(), Some("not_gradient"));
    assert_eq!(r.verdict.field, None);
    let s = counterexample(&r, "∂_y s_x − ∂_x s_y");
    assert_eq!((s.a(), s.b()), (-1.0, 1.0));
    // Weighted by p, the asymmetry is largest where p is: |−1 − 1|·p/p_max = 2 at the mode.
    let w = r.gradient[0].max_weighted.as_ref().unwrap();
    assert_eq!(w.weighted.as_f64(), Some(2.0));
    assert_eq!(w.at, [0.0, 0.0]);
    // The finite-difference table shows both off-diagonal entries of the Jacobian.
    let fd = r.finite_differences.expect("a finite-difference table");
    let names: Vec<&str> = fd.rows.iter().map(|r| r.derivative.as_str()).collect();
    assert!(
        names.contains(&"∂_y s_x") && names.contains(&"∂_x s_y"),
        "{names:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Right scores pass.

#[test]
fn a_wrong_normalising_constant_passes() {
    // log q = −(x − 1)²/2 + 3.7: the constant has gradient 0, so s = −(x − 1) is the exact
    // score and −1 the exact divergence.
    let o = run(&["score", &case("constant")]);
    exit_code(&o, 0);
    let out = stdout(&o);
    assert!(out.trim_end().ends_with("verdict: agree"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let (r, _) = json(&["score", &case("constant")]);
    assert_eq!(r.verdict.field.as_deref(), Some("agrees"));
    assert_eq!(r.verdict.divergence.as_deref(), Some("agrees"));
    assert!(r.counterexamples.is_empty());
    // Affine in x: hand-written and exact agree to the last bit.
    assert_eq!(r.field[0].max_abs.as_ref().unwrap().abs.as_f64(), Some(0.0));
}

#[test]
fn a_correct_hand_derived_score_passes() {
    let o = run(&["score", &case("correct")]);
    exit_code(&o, 0);
    let (r, code) = json(&["score", &case("correct")]);
    assert_eq!(code, 0);
    assert_eq!(r.verdict.field.as_deref(), Some("agrees"));
    assert_eq!(r.verdict.divergence.as_deref(), Some("agrees"));
    assert_eq!(r.verdict.gradient.as_deref(), Some("gradient"));
    // Every point of the default set with mass was compared: 2048 bulk points, the mode, and
    // the tails that carry mass.
    let used = r.points["used"].as_u64().unwrap();
    assert!(used > 2000, "{used}");
    assert_eq!(r.field[0].compared, used);
    assert_eq!(
        (r.tolerance.rtol, r.tolerance.atol),
        (1e-8, 1e-10),
        "the defaults"
    );
}

#[test]
fn every_gallery_case_exits_as_its_header_says() {
    // Each score-*.toml states `=> exit N` for `scorecheck score` in its header.
    let files = common::gallery_files(|n| n.starts_with("score-"));
    let wrong = files
        .iter()
        .filter(|f| common::header_exit(f, "=> exit ") == 1)
        .count();
    assert!(wrong >= 8, "at least eight wrong scores: {files:?}");
    for f in files {
        let expected = common::header_exit(&f, "=> exit ");
        let o = run(&["score", f.to_str().expect("UTF-8 path")]);
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
// Finite differences: the reason exact derivatives matter.

#[test]
fn finite_differences_have_a_u_shaped_error() {
    // At the counterexample of the Taylor case, ∂_x log q = −tanh x. The central difference
    // has truncation error ≈ h²|f'''|/6 (f''' = 2 sech²x tanh x ≠ 0 off 0), so the error at
    // h = 1e-1 is far above the one at 1e-5; at h = 1e-11 rounding, ≈ ε|f|/h with
    // |f| = ln cosh x ≈ |x|, takes over and the error grows again.
    let (r, _) = json(&["score", &case("taylor")]);
    let fd = r.finite_differences.expect("a table");
    assert_eq!(fd.why, "the counterexample of s_x");
    let row = &fd.rows[0];
    assert_eq!(row.derivative, "∂_x log_model");
    let exact = row.exact.as_f64().unwrap();
    assert!((exact + fd.at[0].tanh()).abs() < 1e-15, "{exact}");
    let err = |h: f64| {
        row.steps
            .iter()
            .find(|s| s.h == h)
            .and_then(|s| s.error.as_f64())
            .unwrap()
    };
    assert!(err(1e-1) > 100.0 * err(1e-5), "{:?}", row.steps);
    assert!(err(1e-11) > 100.0 * err(1e-5), "{:?}", row.steps);
    assert_eq!(
        row.steps.iter().map(|s| s.h).collect::<Vec<_>>(),
        [1e-1, 1e-3, 1e-5, 1e-7, 1e-9, 1e-11]
    );
    let o = run(&["score", &case("taylor")]);
    let out = stdout(&o);
    assert!(out.contains("central differences"), "{out}");
    assert!(out.contains("h=1e-11"), "{out}");
}

// ---------------------------------------------------------------------------------------
// Flags, bad input and undecided cases.

fn scratch(test: &str, file: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("score_gallery")
        .join(test);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let f = dir.join(file);
    std::fs::write(&f, text).expect("write case");
    f
}

#[test]
fn tolerances_and_points_are_flags() {
    // With rtol = 10 every pair of numbers of the same sign agrees: −x against −tanh x.
    let o = run(&["score", &case("taylor"), "--rtol", "10"]);
    exit_code(&o, 0);
    let (r, _) = json(&[
        "score",
        &case("taylor"),
        "--points",
        "100",
        "--atol",
        "1e-3",
    ]);
    assert_eq!(r.points["bulk"].as_u64(), Some(100));
    assert_eq!(r.tolerance.atol, 1e-3);
    // A parameter override changes the case: with v = 1/2 the factor case's field −x/(2v)
    // is −x and the score −x/v is −2x: still caught.
    let (r, code) = json(&["score", &case("factor"), "--param", "v=0.5"]);
    assert_eq!(code, 1);
    let s = counterexample(&r, "s_x");
    closed_form(s, -s.at[0], -2.0 * s.at[0]);
}

#[test]
fn bad_options_are_bad_input() {
    for (flag, value, msg) in [
        (
            "--rtol",
            "-1",
            "error: rtol must be a finite number >= 0, got -1",
        ),
        ("--points", "0", "error: points must be at least 1"),
    ] {
        let o = run(&["score", &case("sign"), flag, value]);
        exit_code(&o, 2);
        assert!(stdout(&o).is_empty());
        assert_eq!(stderr(&o).lines().next(), Some(msg), "{}", stderr(&o));
    }
}

#[test]
fn a_case_with_nothing_hand_written_is_bad_input() {
    let f = scratch(
        "nothing",
        "model-only.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nlog_model = \"-x^2/2\"\n",
    );
    let o = run(&["score", f.to_str().unwrap()]);
    exit_code(&o, 2);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: nothing hand-written to check:"),
        "{err}"
    );
    assert!(err.contains("add a `field` to [score]"), "{err}");
}

#[test]
fn a_divergence_alone_is_checked_against_the_laplacian_of_the_model() {
    // No field: the divergence is compared with Δ log q = ∂²_x log q = −1 for log q = −x²/2.
    let f = scratch(
        "laplacian",
        "div-only.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nlog_model = \"-x^2/2\"\ndivergence = \"-2\"\n",
    );
    let (r, code) = json(&["score", f.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r.verdict.field, None);
    assert_eq!(r.verdict.divergence.as_deref(), Some("disagrees"));
    let s = counterexample(&r, "∇·s");
    assert_eq!((s.a(), s.b()), (-2.0, -1.0));
}

#[test]
fn nan_on_both_sides_everywhere_is_undecided() {
    // sqrt of a negative number is NaN for the field and for the model's derivative alike.
    let f = scratch(
        "nan",
        "nan.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nlog_model = \"sqrt(-1 - x^2)\"\nfield = [\"sqrt(-1 - x^2)\"]\n",
    );
    let o = run(&["score", f.to_str().unwrap()]);
    exit_code(&o, 3);
    assert!(
        stderr(&o).starts_with("undecided: field undecided"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).trim_end().ends_with("verdict: undecided"));
}

#[test]
fn nan_on_one_side_is_a_disagreement() {
    // ln(x) is NaN for x < 0, where p = N(0, 1) has half its mass; the model is fine there.
    let f = scratch(
        "nan-one-side",
        "nan1.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nlog_model = \"-x^2/2\"\nfield = [\"-x + 0*ln(x)\"]\n",
    );
    let (r, code) = json(&["score", f.to_str().unwrap()]);
    assert_eq!(code, 1);
    let s = counterexample(&r, "s_x");
    assert_eq!(s.a, Value::String("NaN".into()));
    // The counterexample is the NaN point where p is largest: the mode, where 0·ln 0 is NaN.
    assert_eq!(s.at, [0.0]);
    assert_eq!(s.abs, Value::String("inf".into()));
}

#[test]
fn a_one_dimensional_field_is_always_a_gradient() {
    let f = scratch(
        "one-d",
        "one-d.toml",
        "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"sin(x)\"]\n",
    );
    let o = run(&["score", f.to_str().unwrap()]);
    exit_code(&o, 0);
    assert!(
        stdout(&o).contains("a 1-D field is always a gradient"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tail_points_count_only_where_p_has_mass() {
    // N(0, 1): the tail points sit at ±5σ (log p/p_max = −12.5, checked) and ±10σ
    // (log p/p_max = −50, at the threshold, checked); a far bulk point beyond is not.
    let (r, _) = json(&["score", &case("sign")]);
    assert_eq!(r.tails.len(), 4);
    for t in &r.tails {
        let lp = t["log_p"].as_f64().unwrap();
        assert_eq!(t["used"].as_bool(), Some(lp >= -50.0), "{t}");
    }
    assert_eq!(r.points["tails"].as_u64(), Some(4));
}
