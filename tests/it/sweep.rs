//! `scorecheck sweep` through the real binary: its numbers are `check`'s at the same
//! parameters, bit for bit and on any number of threads; closed-form objectives and
//! minimisers; the product grid; the figure; exit codes and bad input.
//!
//! Closed forms. gauss-mismatch: x ~ N(0, 1), s = −(x − μ)/σ² with σ = 1.4, so
//! s − ∇log p = (1 − 1/σ²)x + μ/σ² and esm = ½((1 − 1/σ²)² + μ²/σ⁴), smallest at μ = 0.
//! half-line: x ~ half-normal on [0, ∞), s = −(x − μ), ∇log p = −x, so esm = μ²/2; the
//! boundary term is −p(0)s(0) = −√(2/π)μ, hence ism + const = esm + boundary
//! = μ²/2 − √(2/π)μ, smallest at μ = √(2/π).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::{exit_code, run, stderr, stdout};

fn scratch(test: &str) -> PathBuf {
    common::fresh("sweep", test)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{}", stdout(o)))
}

const GAUSS: &str = "examples/cases/gauss-mismatch.toml";
const HALF: &str = "examples/cases/half-line.toml";

#[test]
fn sweep_numbers_equal_check() {
    let o = run(&["sweep", GAUSS, "--param", "mu=-1:2:7", "--json"]);
    exit_code(&o, 0);
    // Piped: no progress bar, nothing on stderr.
    assert_eq!(stderr(&o), "");
    let sw = json(&o);
    let points = sw["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    for k in [0, 3, 6] {
        let p = &points[k];
        let mu = p["params"]["mu"].as_f64().unwrap();
        // The value as JSON prints it reads back as the same f64.
        let arg = format!("mu={}", p["params"]["mu"]);
        let c = run(&["check", GAUSS, "--json", "--param", &arg]);
        let rep = json(&c);
        assert_eq!(rep["params"]["mu"].as_f64().unwrap(), mu);
        for q in ["esm", "ism", "const", "gap"] {
            assert_eq!(p["objective"][q], rep["objective"][q], "{q} at mu = {mu}");
        }
        for q in ["lhs", "rhs", "boundary"] {
            assert_eq!(p["cross"][q], rep["cross"][q], "{q} at mu = {mu}");
        }
        assert_eq!(p["verdict"], rep["verdict"]);
        assert_eq!(p["exit_code"].as_i64(), c.status.code().map(i64::from));
        // And the closed form, within the reported error.
        let s2 = 1.4f64 * 1.4;
        let esm = 0.5 * ((1.0 - 1.0 / s2).powi(2) + mu * mu / (s2 * s2));
        let q = &p["objective"]["esm"];
        let (v, e) = (q["value"].as_f64().unwrap(), q["error"].as_f64().unwrap());
        assert!(
            (v - esm).abs() <= e,
            "esm({mu}) = {v} ± {e}, closed form {esm}"
        );
    }
    // Grid values: −1 + 3k/6.
    let mus: Vec<f64> = points
        .iter()
        .map(|p| p["params"]["mu"].as_f64().unwrap())
        .collect();
    assert_eq!(mus, [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]);
    let a = &sw["argmin"];
    assert!(a["esm"].as_f64().unwrap().abs() < 1e-9, "{a}");
    assert!(a["ism_plus_const"].as_f64().unwrap().abs() < 1e-9, "{a}");
}

#[test]
fn same_numbers_on_any_number_of_threads() {
    let one = run(&[
        "sweep",
        HALF,
        "--param",
        "mu=-1:2:13",
        "--json",
        "--threads",
        "1",
    ]);
    let two = run(&[
        "sweep",
        HALF,
        "--param",
        "mu=-1:2:13",
        "--json",
        "--threads",
        "2",
    ]);
    let many = run(&[
        "sweep",
        HALF,
        "--param",
        "mu=-1:2:13",
        "--json",
        "--threads",
        "5",
    ]);
    exit_code(&one, 1);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stdout, many.stdout);
}

#[test]
fn truncated_domain_shifts_the_minimiser() {
    let dir = scratch("half");
    let fig = dir.join("s.svg");
    let o = run(&[
        "sweep",
        HALF,
        "--param",
        "mu=-1:2:31",
        "--json",
        "--plot",
        fig.to_str().unwrap(),
    ]);
    // Every point but μ = 0 has a nonzero boundary term: exit 1.
    exit_code(&o, 1);
    let sw = json(&o);
    let a = &sw["argmin"];
    // Both objectives are exact parabolas in μ, so the refined grid minimum is exact.
    assert!(a["esm"].as_f64().unwrap().abs() < 1e-8, "{a}");
    let want = (2.0 / std::f64::consts::PI).sqrt();
    assert!(
        (a["ism_plus_const"].as_f64().unwrap() - want).abs() < 1e-8,
        "{a}"
    );
    // The separation is the boundary term, point by point.
    for p in sw["points"].as_array().unwrap() {
        let mu = p["params"]["mu"].as_f64().unwrap();
        let b = p["cross"]["boundary"]["value"].as_f64().unwrap();
        let be = p["cross"]["boundary"]["error"].as_f64().unwrap();
        assert!((b + want * mu).abs() <= be + 1e-12, "boundary({mu}) = {b}");
    }
    let svg = std::fs::read_to_string(&fig).expect("figure written");
    assert!(svg.contains("width=\"1200\"") && svg.contains("height=\"650\""));
    assert!(svg.contains("argmin esm = 0"), "minimisers marked");
    assert!(svg.contains("argmin ism = 0.797885"), "minimisers marked");
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn identity_holds_same_minimiser_png() {
    let dir = scratch("gauss");
    let fig = dir.join("s.png");
    let o = run(&[
        "sweep",
        GAUSS,
        "--param",
        "mu=-1:2:13",
        "--plot",
        fig.to_str().unwrap(),
        "--size",
        "800x500",
    ]);
    exit_code(&o, 0);
    let bytes = std::fs::read(&fig).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 800);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 500);
    // The table: a title, a blank line, a header and 13 rows, then the minimisers.
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sweep of case gauss-mismatch over 13 points");
    assert!(lines[2].split_whitespace().eq([
        "mu",
        "esm",
        "ism",
        "const",
        "ism+const",
        "boundary",
        "exit"
    ]));
    assert_eq!(lines.len(), 3 + 13 + 2);
    assert_eq!(lines[17], "argmin over mu: esm 0, ism 0, ism+const 0");
}

#[test]
fn product_grid_and_fixed_values() {
    let o = run(&[
        "sweep", GAUSS, "--param", "mu=0:1:3", "--param", "s=1:2:2", "--json",
    ]);
    exit_code(&o, 0);
    let sw = json(&o);
    let pts = sw["points"].as_array().unwrap();
    assert_eq!(pts.len(), 6);
    let pairs: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| {
            (
                p["params"]["mu"].as_f64().unwrap(),
                p["params"]["s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (0.0, 1.0),
            (0.0, 2.0),
            (0.5, 1.0),
            (0.5, 2.0),
            (1.0, 1.0),
            (1.0, 2.0)
        ]
    );
    assert!(sw.get("argmin").is_none(), "no minimiser for two grids");
    // A fixed value: σ = 1 makes s = −(x − μ), esm = μ²/2.
    let o = run(&[
        "sweep", GAUSS, "--param", "mu=0:1:3", "--param", "s=1", "--json",
    ]);
    let sw = json(&o);
    assert_eq!(sw["fixed"]["s"].as_f64(), Some(1.0));
    for p in sw["points"].as_array().unwrap() {
        let mu = p["params"]["mu"].as_f64().unwrap();
        let q = &p["objective"]["esm"];
        let (v, e) = (q["value"].as_f64().unwrap(), q["error"].as_f64().unwrap());
        assert!((v - mu * mu / 2.0).abs() <= e, "esm({mu}) = {v}");
    }
}

/// Bad input: exit 2, nothing on stdout, `first` in the first line; no file in `dir`.
#[track_caller]
fn refused(dir: &Path, args: &[&str], first: &str) {
    let o = run(args);
    exit_code(&o, 2);
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    let line = err.lines().next().unwrap_or("");
    assert!(
        line.starts_with("error: ") && line.contains(first),
        "expected `{first}` in `{line}`"
    );
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn bad_input() {
    let dir = scratch("bad");
    let fig = dir.join("s.svg");
    let fig = fig.to_str().unwrap();
    let out = dir.join("t.txt");
    let out = out.to_str().unwrap();
    refused(&dir, &["sweep", GAUSS, "--param", "mu=0:1"], "NAME=LO:HI:N");
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "mu=1:0:3"],
        "LO must not exceed HI",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "mu=0:1:0"],
        "number of points",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "mu=0:x:3"],
        "`x` is not a finite number",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "nope=0:1:3", "--out", out],
        "unknown parameter `nope`",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "mu=0:1:3", "--param", "mu=1"],
        "more than once",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "s=1"],
        "at least one grid",
    );
    refused(
        &dir,
        &[
            "sweep", GAUSS, "--param", "mu=0:1:3", "--param", "s=1:2:3", "--plot", fig,
        ],
        "exactly one grid",
    );
    refused(
        &dir,
        &[
            "sweep",
            GAUSS,
            "--param",
            "mu=0:1:3",
            "--plot",
            &fig.replace(".svg", ".pdf"),
        ],
        "must end in .svg or .png",
    );
    refused(
        &dir,
        &["sweep", GAUSS, "--param", "mu=0:1:3", "--threads", "0"],
        "--threads",
    );
    refused(
        &dir,
        &[
            "sweep",
            GAUSS,
            "--param",
            "mu=0:1:1000",
            "--param",
            "s=1:2:1000",
        ],
        "more than 100000 points",
    );
    // A density that is not integrable at some grid point: the point is named.
    let case = scratch("bad-case").join("c.toml");
    std::fs::write(
        &case,
        "params = { a = 1 }\n[density]\nlog = \"-a*x^2/2\"\n[score]\nfield = [\"-x\"]\n",
    )
    .unwrap();
    refused(
        &dir,
        &[
            "sweep",
            case.to_str().unwrap(),
            "--param",
            "a=-1:1:3",
            "--plot",
            fig,
        ],
        "at a = -1",
    );
}

/// With a weight, the sweep shows the weighted identity, the one check's exit code follows.
/// Half-normal on [0, ∞) with s = −(x − μ) and h = x: s − ∇log p = μ, so
/// esm_h = ½μ²E[x] = ½μ²√(2/π) (E x = √(2/π)), smallest at μ = 0, and the weighted boundary
/// term [h p s] vanishes (h(0) = 0), so ism_h + const_h = esm_h — while the plain objective
/// would be minimised by ism + const at μ = √(2/π).
#[test]
fn weighted_sweep_shows_the_weighted_identity() {
    let dir = scratch("weighted");
    let case = dir.join("w.toml");
    std::fs::write(
        &case,
        "domain = [[0, inf]]\nweight = \"x\"\nparams = { mu = 1.0 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-mu)\"]\n",
    )
    .expect("write case");
    let path = case.to_str().expect("UTF-8 path");
    let o = run(&["sweep", path, "--param", "mu=0:2:5", "--json"]);
    exit_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["weight"], "x");
    let ex = (2.0 / std::f64::consts::PI).sqrt();
    for p in v["points"].as_array().expect("points") {
        let mu = p["params"]["mu"].as_f64().unwrap();
        let esm = &p["objective"]["esm"];
        let (val, err) = (
            esm["value"].as_f64().unwrap(),
            esm["error"].as_f64().unwrap(),
        );
        assert!(
            (val - 0.5 * mu * mu * ex).abs() <= err,
            "mu = {mu}: esm {val} ± {err}"
        );
        assert_eq!(p["verdict"]["boundary"], "vanishes");
        assert_eq!(p["exit_code"], 0);
    }
    assert_eq!(v["argmin"]["esm"].as_f64(), Some(0.0));
    // check agrees point by point: the weighted esm at μ = 1.
    let o = run(&["check", path, "--json"]);
    exit_code(&o, 0);
    let c = json(&o);
    let w = c["weighted"]["objective"]["esm"]["value"].as_f64().unwrap();
    assert_eq!(
        Some(w),
        v["points"][2]["objective"]["esm"]["value"].as_f64()
    );
    // explain walks the weighted derivation and exits like check.
    let o = run(&["explain", path]);
    exit_code(&o, 0);
    assert!(stdout(&o).contains("E½h|s − ∇log p|²"), "{}", stdout(&o));
}
