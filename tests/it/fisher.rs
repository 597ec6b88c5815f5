//! Fisher score matching (`scorecheck fisher`, proofs/fisher.md): the integration by parts in
//! the simulator's parameter, against the closed forms of a Gaussian simulator.

use crate::common;

use common::{bad_input, exit_code, run_in};
use scorecheck::Agreement;
use scorecheck::Quantity;
use scorecheck::{FisherOptions, FisherReport, FisherSpec, fisher};
use std::path::Path;

const SIM: &str = "-(x - a*theta - b)^2/(2*tau^2)";
const GAUSS_Q: &str = "-(theta - t0)^2/(2*h^2)";
const LINEAR: &str = "c0 + c1*x + c2*theta";

#[derive(Clone, Copy)]
struct P {
    a: f64,
    b: f64,
    tau: f64,
    t0: f64,
    h: f64,
    c0: f64,
    c1: f64,
    c2: f64,
}

fn spec(p: P, proposal: &str, field: &str, theta_domain: (f64, f64)) -> FisherSpec {
    let params = [
        ("a", p.a),
        ("b", p.b),
        ("tau", p.tau),
        ("t0", p.t0),
        ("h", p.h),
        ("c0", p.c0),
        ("c1", p.c1),
        ("c2", p.c2),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    FisherSpec {
        theta: "theta".into(),
        data: "x".into(),
        simulator: SIM.into(),
        proposal: proposal.into(),
        field: field.into(),
        theta_domain,
        data_domain: (f64::NEG_INFINITY, f64::INFINITY),
        params,
    }
}

#[track_caller]
fn near(q: &Quantity, want: f64) {
    let (v, e) = (q.value.unwrap(), q.error.unwrap());
    assert!(e < 1e-6, "error {e}");
    assert!((v - want).abs() <= e + 1e-12, "{v} ± {e} vs {want}");
}

/// Closed forms (proofs/fisher.md): with θ = t0 + h·w, x = aθ + b + τ·z,
///   m = c0 + c1(a·t0 + b) + c2·t0
///   esm = ½[m² + h²(c1·a + c2)² + (c1·τ − a/τ)²], const = a²/(2τ²), E[s u] = c1·a,
///   ism = ½m² + ½h²(c1·a + c2)² + ½c1²τ² − c1·a.
fn closed(p: P) -> (f64, f64, f64, f64) {
    let m = p.c0 + p.c1 * (p.a * p.t0 + p.b) + p.c2 * p.t0;
    let k = p.c1 * p.a + p.c2;
    let esm = 0.5 * (m * m + p.h * p.h * k * k + (p.c1 * p.tau - p.a / p.tau).powi(2));
    let ism =
        0.5 * m * m + 0.5 * p.h * p.h * k * k + 0.5 * p.c1 * p.c1 * p.tau * p.tau - p.c1 * p.a;
    (esm, ism, p.a * p.a / (2.0 * p.tau * p.tau), p.c1 * p.a)
}

const CASES: [P; 3] = [
    P {
        a: 1.5,
        b: 0.2,
        tau: 0.7,
        t0: 0.5,
        h: 0.3,
        c0: 0.1,
        c1: 0.8,
        c2: -0.4,
    },
    P {
        a: -0.6,
        b: 1.0,
        tau: 1.3,
        t0: -2.0,
        h: 1.1,
        c0: 0.0,
        c1: 2.0,
        c2: 0.5,
    },
    // A field of x only (the local Fisher score at t0): ∂θ s = 0.
    P {
        a: 2.0,
        b: 0.0,
        tau: 0.5,
        t0: 1.0,
        h: 0.05,
        c0: -3.0,
        c1: 1.0,
        c2: 0.0,
    },
];

fn run(s: &FisherSpec) -> FisherReport {
    fisher(s, &FisherOptions::default()).unwrap()
}

#[test]
fn gaussian_simulator_with_gaussian_proposal_matches_the_closed_forms() {
    for p in CASES {
        let r = run(&spec(
            p,
            GAUSS_Q,
            LINEAR,
            (f64::NEG_INFINITY, f64::INFINITY),
        ));
        let (esm, ism, c, cross) = closed(p);
        near(&r.esm, esm);
        near(&r.ism, ism);
        near(&r.constant, c);
        near(&r.cross_lhs, cross);
        near(&r.cross_rhs, cross);
        near(&r.boundary, 0.0);
        near(&r.gap, 0.0);
        assert_eq!(r.verdict.ibp, Agreement::Agrees);
        assert_eq!(r.verdict.boundary_vanishes, Agreement::Agrees);
        assert_eq!(r.verdict.tractable, Agreement::Agrees);
        assert_eq!(r.exit_code(), 0);
    }
}

#[test]
fn a_uniform_proposal_breaks_the_boundary_condition() {
    // q uniform on [θ0, θ1]: B = c1·a + c2 and esm − ism − const = −B; the integration by
    // parts itself still holds. (Here ism has no s·∂θ log q term: ∂θ log q = 0 inside.)
    for p in CASES {
        let r = run(&spec(p, "0", LINEAR, (p.t0 - 0.4, p.t0 + 0.6)));
        let b = p.c1 * p.a + p.c2;
        near(&r.boundary, b);
        near(&r.gap, -b);
        near(&r.cross_lhs, p.c1 * p.a);
        near(&r.constant, p.a * p.a / (2.0 * p.tau * p.tau));
        assert_eq!(r.verdict.ibp, Agreement::Agrees);
        // Every case here has B ≠ 0 (the case B = 0 is the next test).
        assert!(b.abs() > 0.1, "B = {b}");
        assert_eq!(r.verdict.boundary_vanishes, Agreement::Disagrees);
        assert_eq!(r.verdict.tractable, Agreement::Disagrees);
        assert_eq!(r.exit_code(), 1);
    }
}

#[test]
fn a_uniform_proposal_with_c1_a_plus_c2_zero_has_no_boundary_term() {
    // B = c1·a + c2 = 0 when c2 = −c1·a: then even the uniform proposal is fine.
    let p = P {
        c2: -1.2,
        ..CASES[0]
    };
    let r = run(&spec(p, "0", LINEAR, (0.1, 0.9)));
    near(&r.boundary, 0.0);
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn a_nonlinear_field_satisfies_the_identity() {
    let r = run(&spec(
        CASES[0],
        GAUSS_Q,
        "sin(x - theta) + 0.3*theta^2*x",
        (f64::NEG_INFINITY, f64::INFINITY),
    ));
    near(&r.gap, 0.0);
    // The cross term is far from zero, so the agreement of its two forms means something.
    assert!(r.cross_lhs.value.unwrap().abs() > 0.1);
    near(&r.cross_rhs, r.cross_lhs.value.unwrap());
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn a_simulator_whose_normalizer_depends_on_theta_is_refused() {
    // exp(−(x − θ)²/2 + θ) integrates to √(2π)·e^θ: its θ-derivative is not the Fisher score.
    let mut s = spec(
        CASES[0],
        GAUSS_Q,
        LINEAR,
        (f64::NEG_INFINITY, f64::INFINITY),
    );
    s.simulator = "-(x - theta)^2/2 + theta".into();
    let e = fisher(&s, &FisherOptions::default()).unwrap_err();
    assert!(e.0.starts_with("--simulator: its normalizer"), "{e}");
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_proof_runs_on_its_gallery() {
    let o = run_in(
        manifest(),
        &[
            "prove",
            "proofs/fisher.md",
            "--cases",
            "proofs/fisher-cases",
        ],
    );
    exit_code(&o, 0);
    let out = common::stdout(&o);
    assert!(out.contains("12 of 12 outcomes as expected"), "{out}");
}

#[test]
fn the_binary_reports_and_bad_input_exits_2() {
    let dir = std::env::temp_dir();
    let base = [
        "fisher",
        "--simulator",
        "-(x - theta)^2/2",
        "--proposal",
        "-theta^2/2",
        "--field",
        "x - theta",
    ];
    let o = run_in(&dir, &base);
    exit_code(&o, 0);
    assert!(common::stdout(&o).contains("esm = E½(s − u)²"));
    // The true Fisher score, x − θ for x|θ ~ N(θ, 1): esm = 0, const = ½E(x − θ)² = ½.
    let mut json = base.to_vec();
    json.push("--json");
    let o = run_in(&dir, &json);
    exit_code(&o, 0);
    let j: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    for (key, exact) in [("esm", 0.0), ("constant", 0.5)] {
        let (v, e) = (
            j[key]["value"].as_f64().unwrap(),
            j[key]["error"].as_f64().unwrap(),
        );
        assert!((v - exact).abs() <= e, "{key} = {v} ± {e}, exact {exact}");
    }
    let mut uni = base.to_vec();
    uni[4] = "0";
    uni[6] = "x";
    uni.extend(["--theta-domain", "-1:1"]);
    let o = run_in(&dir, &uni);
    exit_code(&o, 1);
    let mut bad = base.to_vec();
    bad[4] = "-theta^2/2 - x";
    bad_input(
        &dir,
        &bad,
        "error: --proposal: the proposal q(θ) must not depend on the data `x`",
    );
    let mut bad = base.to_vec();
    bad.extend(["--theta-domain", "1:0"]);
    bad_input(
        &dir,
        &bad,
        "error: --theta-domain 1:0: the interval [1, 0] is empty: the lower end must be below the upper end",
    );
    let mut bad = base.to_vec();
    bad.extend(["--data", "theta"]);
    bad_input(
        &dir,
        &bad,
        "error: --theta and --data must differ, both are `theta`",
    );
}

#[test]
fn a_cauchy_proposal_is_undecided_not_wrongly_precise() {
    // q(θ) ∝ 1/(1 + θ²) and x|θ ~ N(θ, 1): the joint's mass runs off along the diagonal
    // x = θ. With s = x − θ, the Fisher score ∂θ log p = x − θ, so
    // E[s·∂θ log p] = E[(x − θ)²] = 1 exactly, and const = ½E[(x − θ)²] = ½.
    // The cubature alone reported 0.999999329 ± 5e-9; the second map shows the shortfall.
    let s = FisherSpec {
        theta: "t".into(),
        data: "x".into(),
        simulator: "-(x-t)^2/2".into(),
        proposal: "-ln(1+t^2)".into(),
        field: "x - t".into(),
        theta_domain: (f64::NEG_INFINITY, f64::INFINITY),
        data_domain: (f64::NEG_INFINITY, f64::INFINITY),
        params: vec![],
    };
    let r = run(&s);
    for (q, exact) in [(&r.cross_lhs, 1.0), (&r.constant, 0.5)] {
        let (v, e) = (q.value.unwrap(), q.error.unwrap());
        assert!((v - exact).abs() <= e, "{v} ± {e}, exact {exact}");
    }
    assert_ne!(r.verdict.ibp, Agreement::Disagrees);
    assert_eq!(r.exit_code(), 3, "{:?}", r.verdict);
    assert!(
        r.notes.iter().any(|n| n.contains("two maps")),
        "{:?}",
        r.notes
    );
}
