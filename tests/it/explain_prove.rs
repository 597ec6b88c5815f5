//! `explain` and `prove` through the real binary; every number `explain` prints is the same
//! quantity `check` reports.

use serde_json::Value;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scorecheck"))
}

fn json(args: &[&str]) -> (Value, i32) {
    let out = bin().args(args).output().expect("binary runs");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (v, out.status.code().expect("exit code"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// The explain steps of a case and its check report.
fn both(case: &str) -> (Value, i32, Value, i32) {
    let (ex, ec) = json(&["explain", case, "--json"]);
    let (ck, cc) = json(&["check", case, "--json"]);
    (ex, ec, ck, cc)
}

fn step<'a>(ex: &'a Value, name: &str) -> &'a Value {
    ex["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().unwrap().starts_with(name))
        .unwrap_or_else(|| panic!("step {name}"))
}

#[test]
fn explain_every_step_holds_and_matches_check() {
    let (ex, ec, ck, cc) = both("proofs/cases/gauss-mismatch.toml");
    assert_eq!((ec, cc), (0, 0));
    for s in ex["steps"].as_array().unwrap() {
        assert_eq!(s["holds"], Value::Bool(true), "{s}");
    }
    // Step 1 and step 5's left side are esm; step 5's right side is ism + const.
    let ob = &ck["objective"];
    assert_eq!(
        num(&step(&ex, "explicit")["left"]["value"]),
        num(&ob["esm"]["value"])
    );
    let s5 = step(&ex, "tractable");
    assert_eq!(num(&s5["left"]["value"]), num(&ob["esm"]["value"]));
    let r5 = num(&ob["ism"]["value"]) + num(&ob["const"]["value"]);
    assert!((num(&s5["right"]["value"]) - r5).abs() <= 1e-15 * r5.abs().max(1.0));
    // Step 2: E½|s|² − cross.lhs + const.
    let r2 = num(&ck["half_s2"]["value"]) - num(&ck["cross"]["lhs"]["value"])
        + num(&ob["const"]["value"]);
    assert!((num(&step(&ex, "expand")["right"]["value"]) - r2).abs() <= 1e-15 * r2.abs().max(1.0));
    // Step 4: lhs_x and boundary_x + rhs_x.
    let c = &ck["components"][0];
    let s4 = step(&ex, "integration by parts (x)");
    assert_eq!(num(&s4["left"]["value"]), num(&c["lhs"]["value"]));
    let r4 = num(&c["boundary"]["value"]) + num(&c["rhs"]["value"]);
    assert!((num(&s4["right"]["value"]) - r4).abs() <= 1e-15 * r4.abs().max(1.0));
}

#[test]
fn explain_step_four_fails_on_the_half_line() {
    let (ex, ec, ck, cc) = both("proofs/cases/half-normal.toml");
    assert_eq!((ec, cc), (1, 1));
    assert_eq!(
        step(&ex, "integration by parts")["holds"],
        Value::Bool(true)
    );
    let b = step(&ex, "the boundary term vanishes");
    assert_eq!(b["holds"], Value::Bool(false));
    assert_eq!(
        num(&b["left"]["value"]),
        num(&ck["cross"]["boundary"]["value"])
    );
    // −√(2/π) = −0.7978845608…, in the digits its error supports, named with the place
    // where p·s does not vanish.
    let why = b["why"].as_str().unwrap();
    assert!(
        why.starts_with("the boundary term is -0.7978845608")
            && why.contains(", not 0: p·s does not vanish at x = 0"),
        "{why}"
    );
    let s5 = step(&ex, "tractable");
    assert_eq!(s5["holds"], Value::Bool(false));
    assert!((num(&s5["difference"]) - num(&ck["objective"]["gap"]["value"])).abs() < 1e-12);
}

#[test]
fn explain_text_and_markdown() {
    let out = bin()
        .args(["explain", "proofs/cases/half-normal.toml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("step 4 — the boundary term vanishes  ✗"),
        "{text}"
    );
    assert!(text.contains("step 2 — expand the square  ✓"), "{text}");
    let out = bin()
        .args(["explain", "proofs/cases/gauss.toml", "--markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("### The derivation for `gauss`"), "{md}");
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        1 + 6,
        "{md}"
    );
}

#[test]
fn prove_gallery_as_expected() {
    for file in ["proofs/score-matching-ibp.md", "proofs/weighted.md"] {
        let out = bin().args(["prove", file]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(!text.contains("UNEXPECTED"), "{text}");
    }
}

#[test]
fn prove_fails_on_an_unexpected_outcome() {
    // A claim that the boundary term vanishes on every case, with no expected failures:
    // the half-line cases must make the run fail.
    let dir = std::env::temp_dir().join(format!("scorecheck-prove-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = dir.join("wrong.md");
    std::fs::write(
        &proof,
        "# A wrong claim\n\n```claim\nstep = \"boundary-vanishes\"\n```\n",
    )
    .unwrap();
    let out = bin()
        .args(["prove", proof.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "unexpected: `boundary-vanishes` (line 3) on half-normal: Fail where Pass was expected"
        ),
        "{text}"
    );
    // An unknown step is bad input.
    std::fs::write(&proof, "```claim\nstep = \"magic\"\n```\n").unwrap();
    let out = bin()
        .args(["prove", proof.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "error: {}:1: unknown step `magic`; steps: objective-finite",
            proof.display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
