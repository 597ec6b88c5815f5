//! Estimators of the score-matching objective from samples (`scorecheck estimate`): means
//! against closed forms and quadrature within 4 standard errors on fixed seeds, the exact
//! probe identities, reproducibility, and bad input.

use crate::common;

use common::{bad_input, exit_code, run_in, stdout};
use scorecheck::parse_case;
use scorecheck::{Agreement, SampleOptions, Sampler};
use scorecheck::{EstimateOptions, EstimateReport, Probe, estimate};
use std::path::Path;

fn run(toml: &str, sampler: Sampler, n: usize, seed: u64) -> EstimateReport {
    let spec = parse_case(toml, "case.toml", "case").unwrap();
    let case = spec.compile(&[], false).unwrap();
    let opts = EstimateOptions {
        sample: SampleOptions {
            n,
            seed,
            sampler,
            ..Default::default()
        },
        ..Default::default()
    };
    estimate(&case, &opts).unwrap()
}

/// Every estimator's mean within 4 standard errors of `exact` (a closed form), the quadrature
/// value within its error of `exact`, and every comparison agreeing.
#[track_caller]
fn assert_all_agree(r: &EstimateReport, exact: f64) {
    let q = r.ism.value.unwrap();
    assert!(
        (q - exact).abs() <= r.ism.error.unwrap() + 1e-12,
        "quadrature ism {q} vs closed form {exact}"
    );
    assert_eq!(r.estimators.len(), 5, "exact trace + 2 forms × 2 probes");
    for e in &r.estimators {
        assert!(e.mc.se > 0.0 && e.mc.se.is_finite());
        assert!(
            (e.mc.mean - exact).abs() <= 4.0 * e.mc.se,
            "{} {:?}: {} ± {} vs {exact}",
            e.form,
            e.probe,
            e.mc.mean,
            e.mc.se
        );
        assert_eq!(e.agreement, Agreement::Agrees, "{}", e.why);
    }
    assert_eq!(r.probe_identities.agreement, Agreement::Agrees);
    for p in &r.probe_variance {
        assert_eq!(p.agreement, Agreement::Agrees, "{:?}: {}", p.probe, p.why);
    }
    assert_eq!(r.verdict, Agreement::Agrees);
    assert_eq!(r.exit_code(), 0);
}

const MISMATCH: &str = "params = { mu = 0.3, s = 1.4 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-mu)/s^2\"]\n";

/// p = N(0, 1), s = −(x − μ)/s²: ism = ½E(x − μ)²/s⁴ − 1/s² = ½(1 + μ²)/s⁴ − 1/s².
fn mismatch_ism(mu: f64, s: f64) -> f64 {
    0.5 * (1.0 + mu * mu) / s.powi(4) - 1.0 / (s * s)
}

#[test]
fn one_d_inverse_cdf_estimators_agree_with_the_closed_form() {
    let r = run(MISMATCH, Sampler::Auto, 10_000, 1);
    assert!(matches!(
        r.sampler,
        scorecheck::SampleMethod::InverseCdf { .. }
    ));
    // Independent draws: the effective sample size is n.
    assert_eq!(r.estimators[0].mc.ess, 10_000.0);
    assert_all_agree(&r, mismatch_ism(0.3, 1.4));
    // In 1-D the Rademacher probe is ±1 and v·J·v = J exactly: no probe noise at all.
    let rad = &r.estimators[1];
    assert_eq!(rad.probe, Some(Probe::Rademacher));
    assert_eq!(rad.mc.mean, r.estimators[0].mc.mean);
    // Gaussian probe variance in 1-D: ½(2J)² = 2/s⁴ at every point.
    let g = r
        .probe_variance
        .iter()
        .find(|p| p.probe == Probe::Gaussian)
        .unwrap();
    assert!((g.closed_form.mean - 2.0 / 1.4f64.powi(4)).abs() < 1e-12);
}

#[test]
fn one_d_mala_agrees_with_the_closed_form() {
    let r = run(MISMATCH, Sampler::Mala, 8_000, 5);
    let scorecheck::SampleMethod::Mala { acceptance, .. } = r.sampler else {
        panic!("MALA was asked for")
    };
    assert!((0.3..0.9).contains(&acceptance), "{acceptance}");
    assert!(r.estimators[0].mc.ess < 8_000.0 && r.estimators[0].mc.ess > 500.0);
    assert_all_agree(&r, mismatch_ism(0.3, 1.4));
}

#[test]
fn two_d_correlated_gaussian_agrees() {
    // Unit variances, correlation 0.6, s = (−x, −y): ism = ½E(x² + y²) − 2 = −1.
    let toml =
        "[density]\nlog = \"-(x^2 - 1.2*x*y + y^2)/(2*0.64)\"\n[score]\nfield = [\"-x\", \"-y\"]\n";
    let r = run(toml, Sampler::Auto, 10_000, 2);
    // Not a product (the x·y term): MALA, with an effective sample size below n.
    assert!(matches!(r.sampler, scorecheck::SampleMethod::Mala { .. }));
    assert!(r.estimators[0].mc.ess < 10_000.0);
    assert_all_agree(&r, -1.0);
}

/// p = N(0, I₃), s = −Ax + b with a non-symmetric A.
const THREE_D: &str = "[density]\nlog = \"-(x^2 + y^2 + z^2)/2\"\n[score]\nfield = [\"-(x + 0.5*y) + 0.1\", \"-(-0.3*x + 2*y + 0.4*z) - 0.2\", \"-(0.2*y + 1.5*z) + 0.3\"]\n";

#[test]
fn three_d_linear_field_agrees_and_probe_variances_match_closed_forms() {
    // ism = ½(Σ A_ij² + |b|²) − tr A = ½(7.79 + 0.14) − 4.5 = −0.535.
    let r = run(THREE_D, Sampler::Auto, 10_000, 3);
    // N(0, I₃) is a product: exact independent draws per coordinate.
    assert!(matches!(
        r.sampler,
        scorecheck::SampleMethod::Product { .. }
    ));
    assert_all_agree(&r, -0.535);
    // J = −A is constant. Rademacher: ½Σ_(i≠j)(J_ij + J_ji)² = ½·2·(0.2² + 0² + 0.6²) = 0.4.
    // Gaussian: that plus ½Σ_i (2J_ii)² = ½(4 + 16 + 9) = 14.5, so 14.9.
    for (probe, v) in [(Probe::Rademacher, 0.4), (Probe::Gaussian, 14.9)] {
        let p = r.probe_variance.iter().find(|p| p.probe == probe).unwrap();
        // (A sum of 10 000 equal values: rounding up to n·ε relative.)
        assert!(
            (p.closed_form.mean - v).abs() < 1e-10,
            "{probe:?}: {}",
            p.closed_form.mean
        );
        assert!(
            (p.empirical.mean - v).abs() <= 4.0 * p.empirical.se,
            "{probe:?}: {} ± {}",
            p.empirical.mean,
            p.empirical.se
        );
    }
}

#[test]
fn three_d_mala_agrees_with_the_closed_form() {
    let r = run(THREE_D, Sampler::Mala, 10_000, 4);
    assert!(matches!(r.sampler, scorecheck::SampleMethod::Mala { .. }));
    assert_all_agree(&r, -0.535);
}

#[test]
fn the_reports_hold_the_rademacher_identity_to_1e_12() {
    let r = run(THREE_D, Sampler::Auto, 2_000, 9);
    assert!(r.probe_identities.rademacher_mean_error <= 1e-12);
    assert!(r.probe_identities.gaussian_mean_error <= 1e-12);
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let a = run(THREE_D, Sampler::Auto, 2_000, 7).to_json();
    let b = run(THREE_D, Sampler::Auto, 2_000, 7).to_json();
    let c = run(THREE_D, Sampler::Auto, 2_000, 8).to_json();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let a = run(MISMATCH, Sampler::Auto, 3_000, 7).to_json();
    let b = run(MISMATCH, Sampler::Auto, 3_000, 7).to_json();
    assert_eq!(a, b);
}

#[test]
fn the_series_runs_over_1_3_decades_and_its_error_shrinks() {
    let r = run(MISMATCH, Sampler::Auto, 10_000, 4);
    let s = &r.estimators[0].series;
    let ns: Vec<usize> = s.iter().map(|p| p.n).collect();
    assert_eq!(ns, vec![100, 300, 1000, 3000, 10_000]);
    // se ~ 1/√n: from n = 100 to 10 000 it shrinks by about 10.
    let ratio = s[0].se / s[4].se;
    assert!((5.0..20.0).contains(&ratio), "{ratio}");
    assert_eq!(s[4].mean, r.estimators[0].mc.mean);
}

fn write_case(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    common::fresh("estimators", tag)
}

#[test]
fn chains_stuck_in_separate_modes_are_undecided() {
    // 0.3·N(−4, 1) + 0.7·N(4, 1) with MALA: chains start at both modes and never cross, so
    // the pooled mean weighs the modes wrongly; split-R̂ sees it and the verdict is undecided.
    let dir = tmpdir("stuck");
    write_case(
        &dir,
        "mix.toml",
        "[density]\npdf = \"0.3*exp(-(x+4)^2/2) + 0.7*exp(-(x-4)^2/2)\"\n[score]\nfield = [\"-(x-1)/5\"]\n",
    );
    let o = run_in(
        &dir,
        &["estimate", "mix.toml", "--sampler", "mala", "--n", "4000"],
    );
    exit_code(&o, 3);
    assert!(common::stderr(&o).contains("R̂"), "{}", common::stderr(&o));
    // The exact sampler gets it right.
    let o = run_in(&dir, &["estimate", "mix.toml", "--n", "4000"]);
    exit_code(&o, 0);
}

#[test]
fn json_has_the_series_and_out_writes_the_file() {
    let dir = tmpdir("json");
    write_case(&dir, "m.toml", MISMATCH);
    let o = run_in(&dir, &["estimate", "m.toml", "--n", "1000", "--json"]);
    exit_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let series = v["estimators"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    assert_eq!(series[2]["n"], 1000);
    assert_eq!(v["verdict"], "agrees");
    // The schema's top level and an estimator's fields (extra fields may come; these stay).
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "case",
        "vars",
        "params",
        "seed",
        "n",
        "probes_per_draw",
        "sampler",
        "ism",
        "estimators",
        "probe_identities",
        "probe_variance",
        "verdict",
        "notes",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let e = &v["estimators"][1];
    assert_eq!(e["form"], "sliced_vr");
    assert_eq!(e["probe"], "rademacher");
    for k in [
        "mean",
        "se",
        "n",
        "ess",
        "rhat",
        "max_share",
        "z",
        "agreement",
        "series",
    ] {
        assert!(e.get(k).is_some(), "{k} missing from an estimator");
    }
    assert_eq!(v["sampler"]["kind"], "inverse-cdf");
    let o = run_in(
        &dir,
        &["estimate", "m.toml", "--n", "1000", "--out", "r.txt"],
    );
    exit_code(&o, 0);
    assert_eq!(stdout(&o), "");
    let text = std::fs::read_to_string(dir.join("r.txt")).unwrap();
    assert!(
        text.starts_with("estimate: m (x), n = 1000, seed 1"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tmpdir("bad");
    write_case(&dir, "m.toml", MISMATCH);
    write_case(
        &dir,
        "corr.toml",
        "[density]\nlog = \"-(x^2 + x*y + y^2)/2\"\n[score]\nfield = [\"-x\", \"-y\"]\n",
    );
    write_case(
        &dir,
        "two.toml",
        "[density]\nlog = \"-x^2/2 - y^2/2\"\n[score]\nfield = [\"-x\", \"-y\"]\n",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--sampler", "gibbs"],
        // clap's ValueEnum message; its second line lists the possible values.
        "error: invalid value 'gibbs' for '--sampler <KIND>'",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--probes", "rademacher,sobol"],
        "error: invalid value 'sobol' for '--probes <KINDS>'",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--n", "1"],
        "error: --n must be at least 2",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--probes-per-draw", "0"],
        "error: --probes-per-draw must be at least 1",
    );
    bad_input(
        &dir,
        &["estimate", "two.toml", "--sampler", "inverse-cdf"],
        "error: the inverse-CDF sampler is for one variable, the case has 2; use --sampler mala",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--param", "nu=1"],
        "error: --param: unknown parameter `nu`; the case's parameters: mu, s",
    );
    bad_input(
        &dir,
        &["estimate", "m.toml", "--out", "missing/r.txt"],
        "error: cannot write missing/r.txt: the folder missing does not exist",
    );
    assert!(!dir.join("missing").exists());
}
