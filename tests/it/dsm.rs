//! Denoising score matching (`scorecheck dsm`): DSM(θ) = ESM(p_σ)(θ) + a constant that is the
//! same at every θ, against closed forms.

use crate::common;

use common::{bad_input, exit_code, run_in, stdout};
use scorecheck::Agreement;
use scorecheck::parse_case;
use scorecheck::{DsmOptions, DsmReport, dsm, parse_noise_sweep as parse_sweep};

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
fn near(q: &scorecheck::Quantity, want: f64, max_err: f64) {
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
    near(p.esm_sigma.as_ref().unwrap(), 4.25, 1e-9);
    near(p.constant.as_ref().unwrap(), 0.25, 1e-7);
    near(r.constant_formula.as_ref().unwrap(), 0.25, 1e-9);
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
            near(p.esm_sigma.as_ref().unwrap(), e, 1e-8);
            near(p.constant.as_ref().unwrap(), c, 1e-6);
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
        assert_eq!(r.constant_agreement, Some(Agreement::Agrees));
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
    let c0 = r.points[0].constant.as_ref().unwrap().value.unwrap();
    for p in &r.points {
        let (v, e) = (
            p.constant.as_ref().unwrap().value.unwrap(),
            p.constant.as_ref().unwrap().error.unwrap(),
        );
        assert!(e < 1e-6, "{e}");
        assert!(
            (v - c0).abs() <= e + r.points[0].constant.as_ref().unwrap().error.unwrap(),
            "θ = {:?}: {v} vs {c0}",
            p.theta
        );
        assert_eq!(p.ism_agreement, Agreement::Agrees);
        // ESM_σ itself varies with θ by far more than the errors: the check is not vacuous.
        assert!(
            (p.esm_sigma.as_ref().unwrap().value.unwrap()
                - r.points[0].esm_sigma.as_ref().unwrap().value.unwrap())
            .abs()
                > 1e-3
                || p.theta == r.points[0].theta
        );
    }
    let f = r.constant_formula.as_ref().unwrap();
    assert!(
        (f.value.unwrap() - c0).abs()
            <= f.error.unwrap() + r.points[0].constant.as_ref().unwrap().error.unwrap()
    );
    assert_eq!(r.constant_agreement, Some(Agreement::Agrees));
    assert_eq!(r.verdict, Agreement::Agrees);
}

#[test]
fn two_d_dsm_is_ism_of_the_noised_density_plus_d_over_2_sigma_squared() {
    // p = N(0, I₂), s = (−a(y₁ − m), −a(y₂ + m/2) + 0.3·y₁), p_σ = N(0, v·I), v = 1 + σ²:
    //   ISM_σ = ½[a²(v + m²) + a²v + a²m²/4 + 0.09v] − 2a,  DSM = ISM_σ + 2/(2σ²).
    // At a = 2, σ = 1, m = ±1: ISM_σ = 6.59, DSM = 7.59.
    let toml = "params = { a = 2, m = 1 }\n[density]\nlog = \"-(x^2 + y^2)/2\"\n[score]\nfield = [\"-a*(x-m)\", \"-a*(y+0.5*m) + 0.3*x\"]\n";
    let sigma = 1.0;
    let r = run(toml, "m=-1,2", sigma);
    let v = 1.0 + sigma * sigma;
    for p in &r.points {
        let m = p.theta.unwrap();
        let ism = 0.5 * (4.0 * (v + m * m) + 4.0 * v + m * m + 0.09 * v) - 4.0;
        near(&p.ism_sigma, ism, 1e-4);
        near(&p.dsm, ism + 1.0 / (sigma * sigma), 1e-4);
        near(&p.dsm_minus_ism, 1.0 / (sigma * sigma), 1e-4);
        assert!(
            (p.dsm_mc.mean - (ism + 1.0)).abs() <= 4.0 * p.dsm_mc.se,
            "{} ± {}",
            p.dsm_mc.mean,
            p.dsm_mc.se
        );
        assert_eq!(p.ism_agreement, Agreement::Agrees);
        assert!(p.esm_sigma.is_none() && p.constant.is_none());
    }
    assert_eq!(r.constant_agreement, None);
    assert_eq!(r.verdict, Agreement::Agrees);
}

#[test]
fn two_d_dsm_with_a_correlated_density_and_mala() {
    // Not a product: the Monte Carlo side runs on MALA chains.
    let toml = "params = { a = 1 }\n[density]\nlog = \"-(x^2 - x*y + y^2)/2\"\n[score]\nfield = [\"-a*x + sin(y)\", \"-y\"]\n";
    let r = run(toml, "a=0.5,1.5", 0.8);
    for p in &r.points {
        near(&p.dsm_minus_ism, 2.0 / (2.0 * 0.64), 1e-4);
        assert_eq!(p.mc_agreement, Agreement::Agrees);
        assert!(p.dsm_mc.ess < p.dsm_mc.n as f64);
    }
    assert_eq!(r.verdict, Agreement::Agrees);
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    common::fresh("dsm", tag)
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
        dir.join("three.toml"),
        "[density]\nlog = \"-x^2/2 - y^2/2 - z^2/2\"\n[score]\nfield = [\"-x\", \"-y\", \"-z\"]\n",
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
        &["dsm", "three.toml"],
        "error: dsm handles cases of one or two variables; this case has 3 (x, y, z)",
    );
}
