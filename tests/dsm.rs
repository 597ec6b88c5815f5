//! Denoising score matching (`scorecheck dsm`): DSM(θ) = ESM(p_σ)(θ) + a constant that is the
//! same at every θ, against closed forms.

mod common;

use common::{bad_input, exit_code, run_in, stdout};
use scorecheck::case::parse_case;
use scorecheck::dsm::{DsmOptions, DsmReport, dsm, parse_sweep};
use scorecheck::estimate::Agreement;

fn run(toml: &str, sweep: &str, sigma: f64) -> DsmReport {
    let spec = parse_case(toml, "case.toml", "case").unwrap();
    let opts = DsmOptions {
        sigma,
        n: 4_000,
        seed: 11,
        ..Default::default()
    };
    dsm(&spec, &[], Some(&parse_sweep(sweep).unwrap()), &opts).unwrap()
}

const GAUSS: &str =
    "params = { a = 2, m = 1 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-a*(x-m)\"]\n";

/// p = N(0, 1), s = −a(y − m), noise σ: p_σ = N(0, v) with v = 1 + σ², ∇log p_σ = −y/v.
///   ESM_σ = ½E(−a(y − m) + y/v)² = ½[(1/v − a)²·v + a²m²]
///   const = 1/(2σ²) − ½E(y/v)² = 1/(2σ²) − 1/(2v)
///   DSM   = ESM_σ + const.
/// At a = 2, m = 1, σ = 1: v = 2, ESM_σ = ½(2.25·2 + 4) = 4.25, const = ½ − ¼ = 0.25,
/// DSM = 4.5 (the issue's numbers).
fn closed(a: f64, m: f64, sigma: f64) -> (f64, f64, f64) {
    let v = 1.0 + sigma * sigma;
    let esm = 0.5 * ((1.0 / v - a).powi(2) * v + a * a * m * m);
    let c = 0.5 / (sigma * sigma) - 0.5 / v;
    (esm + c, esm, c)
}

#[track_caller]
fn near(q: &scorecheck::report::Quantity, want: f64, max_err: f64) {
    let (v, e) = (q.value.unwrap(), q.error.unwrap());
    assert!(e <= max_err, "error {e} above {max_err}");
    assert!((v - want).abs() <= e + 1e-13, "{v} ± {e} vs {want}");
}

#[test]
fn the_issue_closed_form_4_5_4_25_0_25() {
    let r = run(GAUSS, "m=1,3", 1.0);
    assert_eq!(closed(2.0, 1.0, 1.0), (4.5, 4.25, 0.25));
    let p = &r.points[0];
    assert_eq!(p.theta, Some(1.0));
    near(&p.dsm, 4.5, 1e-7);
    near(&p.esm_sigma, 4.25, 1e-9);
    near(&p.constant, 0.25, 1e-7);
    near(&r.constant_formula, 0.25, 1e-9);
    assert!((p.dsm_mc.mean - 4.5).abs() <= 4.0 * p.dsm_mc.se);
    assert_eq!(r.verdict, Agreement::Agrees);
}

#[test]
fn gaussian_sweep_matches_the_closed_forms_at_every_theta() {
    for sigma in [0.4, 1.7] {
        let r = run(GAUSS, "m=-1:2:4", sigma);
        assert_eq!(r.points.len(), 4);
        for p in &r.points {
            let (d, e, c) = closed(2.0, p.theta.unwrap(), sigma);
            near(&p.dsm, d, 1e-6);
            near(&p.esm_sigma, e, 1e-8);
            near(&p.constant, c, 1e-6);
            // ISM_σ = E_pσ[½a²(y − m)² − a] = ½a²(v + m²) − a, and DSM − ISM_σ = 1/(2σ²).
            let m = p.theta.unwrap();
            let v = 1.0 + sigma * sigma;
            near(&p.ism_sigma, 0.5 * 4.0 * (v + m * m) - 2.0, 1e-6);
            near(&p.dsm_minus_ism, 0.5 / (sigma * sigma), 1e-6);
            assert_eq!(p.ism_agreement, Agreement::Agrees);
            assert!(
                (p.dsm_mc.mean - d).abs() <= 4.0 * p.dsm_mc.se,
                "σ = {sigma}, θ = {:?}: {} ± {} vs {d}",
                p.theta,
                p.dsm_mc.mean,
                p.dsm_mc.se
            );
        }
        assert_eq!(r.constant_agreement, Agreement::Agrees);
        assert_eq!(r.exit_code(), 0);
    }
}

#[test]
fn the_constant_is_the_same_at_every_theta_for_a_non_gaussian_case() {
    // Half-normal p on [0, ∞) (its noised density is not Gaussian; no closed form), with a
    // nonlinear field swept over its amplitude. Both sides are computed by different
    // integrals: DSM over (x, ε), ESM_σ over y with p_σ and ∇p_σ by inner quadrature.
    let toml = "domain = [[0, inf]]\nparams = { b = 0.5 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x + b*sin(2*x) + b^2\"]\n";
    let r = run(toml, "b=-1:1.5:6", 0.6);
    let c0 = r.points[0].constant.value.unwrap();
    for p in &r.points {
        let (v, e) = (p.constant.value.unwrap(), p.constant.error.unwrap());
        assert!(e < 1e-6, "{e}");
        assert!(
            (v - c0).abs() <= e + r.points[0].constant.error.unwrap(),
            "θ = {:?}: {v} vs {c0}",
            p.theta
        );
        assert_eq!(p.ism_agreement, Agreement::Agrees);
        // ESM_σ itself varies with θ by far more than the errors: the check is not vacuous.
        assert!(
            (p.esm_sigma.value.unwrap() - r.points[0].esm_sigma.value.unwrap()).abs() > 1e-3
                || p.theta == r.points[0].theta
        );
    }
    let f = &r.constant_formula;
    assert!(
        (f.value.unwrap() - c0).abs() <= f.error.unwrap() + r.points[0].constant.error.unwrap()
    );
    assert_eq!(r.constant_agreement, Agreement::Agrees);
    assert_eq!(r.verdict, Agreement::Agrees);
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("scorecheck-dsm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_binary_prints_the_sweep_and_json() {
    let dir = tmpdir("cli");
    std::fs::write(dir.join("g.toml"), GAUSS).unwrap();
    let o = run_in(
        &dir,
        &["dsm", "g.toml", "--sweep", "m=0,1", "--n", "2000", "--json"],
    );
    exit_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["points"].as_array().unwrap().len(), 2);
    assert_eq!(v["constant_agreement"], "agrees");
    let o = run_in(&dir, &["dsm", "g.toml", "--n", "2000"]);
    exit_code(&o, 0);
    assert!(stdout(&o).contains("4.500000"), "{}", stdout(&o));
}

#[test]
fn bad_input_exits_2() {
    let dir = tmpdir("bad");
    std::fs::write(dir.join("g.toml"), GAUSS).unwrap();
    std::fs::write(
        dir.join("d.toml"),
        "params = { m = 0 }\n[density]\nlog = \"-(x-m)^2/2\"\n[score]\nfield = [\"-x\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("two.toml"),
        "[density]\nlog = \"-x^2/2 - y^2/2\"\n[score]\nfield = [\"-x\", \"-y\"]\n",
    )
    .unwrap();
    bad_input(
        &dir,
        &["dsm", "g.toml", "--sigma", "0"],
        "error: --sigma must be a positive number, got 0",
    );
    bad_input(
        &dir,
        &["dsm", "g.toml", "--sweep", "m=1"],
        "error: --sweep m=1: a sweep needs at least two values; expected NAME=LO:HI:COUNT or NAME=V1,V2,…",
    );
    bad_input(
        &dir,
        &["dsm", "g.toml", "--sweep", "q=1,2"],
        "error: --sweep: unknown parameter `q`; the case's parameters: a, m",
    );
    bad_input(
        &dir,
        &["dsm", "d.toml", "--sweep", "m=0,1"],
        "error: --sweep m: the parameter changes the density; DSM's θ must be a parameter of the score only",
    );
    bad_input(
        &dir,
        &["dsm", "two.toml"],
        "error: dsm handles cases of one variable; this case has 2 (x, y)",
    );
}
