//! What `explain` and `prove` say, checked word for word where a new user was misled
//! (issue 15, item 7): the true cause of a failing step, every end that contributes, the
//! weighted identity's own flux, Markdown tables that stay tables, and a proof that finds
//! its own gallery.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scorecheck"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// A case file in a fresh folder of its own.
fn case_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scorecheck-teach-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// The `why` of the first step whose name starts with `name`, from `explain --json`.
fn why(case: &str, name: &str) -> (String, Value) {
    let out = run(&["explain", case, "--json"]);
    let ex: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let step = ex["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("step {name}"))
        .clone();
    (step["why"].as_str().unwrap().to_string(), step)
}

#[test]
fn a_jump_is_named_as_the_cause_not_the_boundary_term() {
    // Laplace p = e^{−|x|}/2 with s = −sign(x): the boundary term at ±∞ is 0, and
    // lhs − rhs = E[sign²] − 0 = 1 is what the jump of s at 0 hides (its δ, −2δ(x), times
    // p(0) = ½). gap = esm − ism − const = −(lhs − rhs) = −1.
    let (b, bs) = why("examples/cases/jump.toml", "the boundary term vanishes");
    assert_eq!(bs["holds"], Value::Bool(true), "{b}");
    let (w, s5) = why("examples/cases/jump.toml", "tractable");
    assert_eq!(s5["holds"], Value::Bool(false));
    assert!(
        (s5["difference"].as_f64().unwrap() + 1.0).abs() < 1e-9,
        "{s5}"
    );
    assert!(
        w.starts_with("esm − (ism + const) = -1.000000, while the boundary term vanishes: integration by parts fails inside the domain in x (a jump"),
        "{w}"
    );
    assert!(!w.contains("off by the boundary term"), "{w}");
    // The half-line: the boundary term, and nothing else, is the cause.
    let (w, _) = why("proofs/cases/half-normal.toml", "tractable");
    assert!(
        w.ends_with("= −(boundary term): ism is off by the boundary term"),
        "{w}"
    );
}

#[test]
fn both_ends_of_a_truncated_normal_are_named() {
    // p ∝ e^{−x²/2} on [−1, 2], s = −x. Z = √(2π)(Φ(2) − Φ(−1)) = 2.0519208…;
    // at x = −1: s p = 1·e^{−1/2}/Z = 0.2955928…; at x = 2: s p = −2e^{−2}/Z = −0.1319113…;
    // boundary = upper − lower = −0.4275042….
    let p = case_file(
        "trunc",
        "domain = [[-1, 2]]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n",
    );
    let (w, step) = why(p.to_str().unwrap(), "the boundary term vanishes");
    assert_eq!(step["holds"], Value::Bool(false));
    assert!(w.starts_with("the boundary term is -0.4275042"), "{w}");
    assert!(
        w.contains("p·s does not vanish at x = -1 (s_x p = 0.2955928")
            && w.contains(" and at x = 2 (s_x p = -0.1319113"),
        "{w}"
    );
}

#[test]
fn the_weighted_walk_speaks_of_h_p_s() {
    // h = x vanishes at 0, so h·p·s does (the weighted identity holds) — said with h.
    let (w, step) = why(
        "proofs/cases/half-normal-weighted.toml",
        "the boundary term vanishes",
    );
    assert_eq!(step["holds"], Value::Bool(true));
    assert_eq!(
        w,
        "h·p·s vanishes on the boundary, so E[h⟨s, ∇log p⟩] = −E[∇·(h s)]"
    );
    // h = 1 + x does not vanish at 0: [h s p] at 0 is −h(0)s(0)p(0) = −1·1·√(2/π), and the
    // failure names h·p·s and the weighted term h s_x p.
    let p = case_file(
        "weighted-fails",
        "domain = [[0, inf]]\nweight = \"1 + x\"\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-1)\"]\n",
    );
    let (w, step) = why(p.to_str().unwrap(), "the boundary term vanishes");
    assert_eq!(step["holds"], Value::Bool(false));
    assert!(
        w.starts_with("the boundary term is -0.7978845")
            && w.contains("h·p·s does not vanish at x = 0 (h s_x p = 0.7978845"),
        "{w}"
    );
}

#[test]
fn markdown_cells_escape_their_pipes() {
    let out = run(&["explain", "proofs/cases/half-normal.toml", "--markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(rows.len() > 3, "{md}");
    for row in &rows {
        // Every unescaped `|` is a cell border: each row has the header's 8.
        let borders = row.len() - row.replace('|', "").len() - row.matches("\\|").count();
        assert_eq!(borders, 8, "{row}");
    }
    assert!(md.contains("`esm = E_p[½\\|s − ∇log p\\|²]`"), "{md}");
}

#[test]
fn the_fisher_proof_runs_on_the_gallery_it_names() {
    let out = run(&["prove", "proofs/fisher.md"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(text.contains("on 3 cases"), "{text}");
    assert!(text.contains("uniform-proposal"), "{text}");
    // The same as naming the gallery by hand.
    let by_hand = run(&[
        "prove",
        "proofs/fisher.md",
        "--cases",
        "proofs/fisher-cases",
    ]);
    assert_eq!(String::from_utf8(by_hand.stdout).unwrap(), text);
}
