//! End to end: cases written the way users write them (Python syntax, pdf forms, the special
//! functions, domains as constant expressions), checked against closed forms derived in the
//! comments or independent values (`scripts/e2e_values.py`, mpmath quadrature at 30 digits).
//! Every compared quantity must be within its reported error of the reference, and that error
//! within the tolerance.
//!
//! Notation: p the normalised density, s the field; lhs = E[s ∂log p], rhs = −E[s′],
//! boundary = [s p] over the ends, esm = ½E(s − ∂log p)², ism = E[½s² + s′], const = ½E(∂log p)².

use scorecheck::default_tol;
use scorecheck::{Boundary, Ibp, Quantity, Report, Status};

use crate::common::check_toml as run;

#[track_caller]
fn close(q: &Quantity, exact: f64, what: &str) {
    let tol = default_tol(1);
    let (v, e) = (q.value.expect(what), q.error.expect(what));
    assert_eq!(q.status, Status::Ok, "{what}: {q:?}");
    let real = (v - exact).abs();
    eprintln!("  {what:<22} value {v:>22.15e}  real error {real:.1e}  reported {e:.1e}");
    assert!(
        real <= e,
        "{what}: {v} vs {exact}: real error {real:e} > reported {e:e}"
    );
    assert!(
        real <= tol * exact.abs().max(1.0),
        "{what}: real error {real:e} above tolerance"
    );
}

/// lhs, rhs, boundary and the objective parts that are closed forms (None: not compared).
#[track_caller]
fn quantities(r: &Report, lhs: f64, boundary: f64, ism: Option<f64>, cst: Option<f64>) {
    close(&r.cross.lhs, lhs, "lhs");
    close(&r.cross.rhs, lhs - boundary, "rhs = lhs - boundary");
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{}", r.to_text());
    if let Some(v) = ism {
        close(&r.objective.ism, v, "ism");
    }
    if let Some(v) = cst {
        close(&r.objective.constant, v, "const");
    }
}

#[test]
fn logistic_in_pdf_form() {
    // p = e^-x/(1+e^-x)² (Z = 1), s = -tanh(x/2) = ∂ log p, so esm = 0. tanh(x/2) = 2F(x) − 1
    // with F the logistic CDF, so tanh(x/2) is uniform on (−1, 1): E tanh² = 1/3.
    // lhs = E s² = 1/3; const = 1/6; ism = 1/6 + E[−½ sech²(x/2)] = 1/6 − ½(1 − 1/3) = −1/6.
    for pdf in ["exp(-x)/(1+exp(-x))^2", "np.exp(-x)/(1 + np.exp(-x))**2"] {
        let r = run(&format!(
            "[density]\npdf = \"{pdf}\"\n[score]\nfield = [\"-tanh(x/2)\"]\n"
        ));
        close(&r.normalizer, 1.0, "Z");
        quantities(&r, 1.0 / 3.0, 0.0, Some(-1.0 / 6.0), Some(1.0 / 6.0));
        assert_eq!(r.verdict.boundary, Boundary::Vanishes, "{}", r.to_text());
        // esm is 0 up to rounding (s − ∂log p is O(1e-16)); its error estimate is left to the
        // quadrature's end analysis, which can report a noise-level integrand as unconverged.
        let esm = r.objective.esm.value.unwrap();
        assert!(esm.abs() < 1e-20, "esm = {esm}");
    }
    // The log form, with ln(1 + exp(-x)) rewritten to softplus(-x): the same numbers.
    let r = run("[density]\nlog = \"-x - 2*log(1+exp(-x))\"\n[score]\nfield = [\"-tanh(x/2)\"]\n");
    quantities(&r, 1.0 / 3.0, 0.0, Some(-1.0 / 6.0), Some(1.0 / 6.0));
}

#[test]
fn skew_normal_with_lognormcdf_and_with_erf() {
    // p ∝ φ(x)Φ(4x), s = −x. Stein: lhs = −E[s′] + boundary = 1, boundary 0. For a skew-normal
    // with location 0 and scale 1, E x² = 1, so ism = ½E x² − 1 = −1/2.
    // const = ½E(∂log p)² = 1.8891117565860078 (mpmath, scripts/e2e_values.py).
    let cst = 1.889_111_756_586_007_8;
    for density in [
        "log = \"-x**2/2 + lognormcdf(a*x)\"",
        "pdf = \"exp(-x^2/2)*(1 + erf(a*x/sqrt(2)))\"",
        "pdf = \"exp(-x^2/2)*normcdf(a*x)\"",
    ] {
        let r = run(&format!(
            "params = {{ a = 4 }}\n[density]\n{density}\n[score]\nfield = [\"-x\"]\n"
        ));
        quantities(&r, 1.0, 0.0, Some(-0.5), Some(cst));
        assert_eq!(r.verdict.boundary, Boundary::Vanishes, "{}", r.to_text());
    }
}

#[test]
fn mixture_with_logsumexp() {
    // p = ¼N(2,1) + ¾N(−2,1), s = −x: lhs = rhs = 1 (Stein), E x² = 1 + 4 = 5 so
    // ism = 5/2 − 1 = 3/2; const = 0.3842112921425991 (mpmath).
    let cst = 0.384_211_292_142_599_1;
    for density in [
        "log = \"logsumexp(-(x-2)**2/2 + log(0.25), -(x+2)**2/2 + log(0.75))\"",
        "log = \"logaddexp(-(x-2)^2/2 + ln(1/4), -(x+2)^2/2 + ln(3/4))\"",
        "pdf = \"0.25*exp(-(x-2)^2/2) + 0.75*exp(-(x+2)^2/2)\"",
    ] {
        let r = run(&format!(
            "[density]\n{density}\n[score]\nfield = [\"-x\"]\n"
        ));
        quantities(&r, 1.0, 0.0, Some(1.5), Some(cst));
    }
}

#[test]
fn continuous_poisson_with_lgamma_has_a_boundary_term_at_zero() {
    // p ∝ 3^x/Γ(x+1) on [0, ∞); s = ∂log p = ln 3 − ψ(x+1) (from the log-model, exact).
    // boundary = [s p] from 0 to ∞ = −s(0)p(0) = −(ln 3 + γ)/Z, nonzero;
    // Z = 19.726881214236452, boundary = −0.08495149006930882, rhs = E[ψ′(x+1)] =
    // 0.36488892642509306, const = 0.13996871817789212 (mpmath); lhs = boundary + rhs.
    let r = run(
        "domain = [[0, \"inf\"]]\n[density]\nlog = \"x*log(3) - lgamma(x + 1)\"\n[score]\nlog_model = \"x*ln(3) - lgamma(x+1)\"\n",
    );
    let (b, rhs, cst) = (
        -0.084_951_490_069_308_82,
        0.364_888_926_425_093,
        0.139_968_718_177_892,
    );
    close(&r.normalizer, 19.726_881_214_236_452, "Z");
    close(&r.cross.boundary, b, "boundary");
    quantities(&r, b + rhs, b, None, Some(cst));
    assert_eq!(r.verdict.boundary, Boundary::Nonzero, "{}", r.to_text());
    // The pdf form with gamma: the same case.
    let r = run(
        "domain = [[0, \"inf\"]]\n[density]\npdf = \"3^x/gamma(x+1)\"\n[score]\nlog_model = \"x*ln(3) - lgamma(x+1)\"\n",
    );
    close(&r.cross.boundary, b, "boundary (pdf form)");
}

#[test]
fn student_t_with_log1p() {
    // t with ν = 3: log p = −(ν+1)/2 · log1p(x²/ν), s = −(ν+1)x/(ν + x²) = ∂log p (esm = 0).
    // The location Fisher information of t_ν is (ν+1)/(ν+3): lhs = E s² = 2/3, const = 1/3,
    // ism = −const = −1/3 (esm = 0, boundary 0).
    for density in [
        "log = \"-(nu+1)/2 * log1p(x**2/nu)\"",
        "pdf = \"(1 + x^2/nu)^(-(nu+1)/2)\"",
    ] {
        let r = run(&format!(
            "params = {{ nu = 3 }}\n[density]\n{density}\n[score]\nfield = [\"-(nu+1)*x/(nu + x^2)\"]\n"
        ));
        quantities(&r, 2.0 / 3.0, 0.0, Some(-1.0 / 3.0), Some(1.0 / 3.0));
        assert_eq!(r.verdict.boundary, Boundary::Vanishes, "{}", r.to_text());
    }
}

#[test]
fn von_mises_on_minus_pi_pi() {
    // log p = k cos x on [−π, π], k = 2, s = −k sin x = ∂log p. E cos x = I₁(k)/I₀(k), so
    // lhs = rhs = E[k² sin² x] = k E cos x = k I₁/I₀ = 1.395549315928016 (mpmath; the
    // recurrence I₀ − I₂ = (2/k) I₁ gives both forms); const = lhs/2, ism = −const.
    // The boundary is s(±π)p(±π) = 0 up to sin(π) ≈ 1.2e-16 in floating point.
    let lhs = 1.395_549_315_928_016;
    for domain in [
        "[[\"-pi\", \"pi\"]]",
        "[\"-pi\", \"np.pi\"]",
        "[[\"-2*pi/2\", \"math.pi\"]]",
    ] {
        let r = run(&format!(
            "domain = {domain}\nparams = {{ k = \"4/2\" }}\n[density]\nlog = \"k*cos(x)\"\n[score]\nfield = [\"-k*sin(x)\"]\n"
        ));
        quantities(&r, lhs, 0.0, Some(-lhs / 2.0), Some(lhs / 2.0));
        let b = r.cross.boundary.value.unwrap();
        assert!(b.abs() < 1e-14, "boundary {b}");
    }
}

#[test]
fn gamma_density_with_k_150_over_the_whole_half_line() {
    // p ∝ x^(k−1) e^−x / Γ(k) on [0, ∞) with k = 150: x^149 overflows past x ≈ 117 and Γ(150)
    // is 1e260, the log space form is 149 ln x − x − lgamma(150). s = (k−1)/x − 1 = ∂log p.
    // E[(k−1)/x] = 1 and E[1/x²] = 1/((k−1)(k−2)), so lhs = E s² = (k−1)²/((k−1)(k−2)) − 1
    // = 1/(k−2) = 1/148; the boundary is 0 (p(0) = 0 to order 149).
    let r = run(
        "domain = [[0, \"inf\"]]\nparams = { k = 150 }\n[density]\npdf = \"x^(k-1)*exp(-x)/gamma(k)\"\n[score]\nfield = [\"(k-1)/x - 1\"]\n",
    );
    close(&r.normalizer, 1.0, "Z");
    quantities(&r, 1.0 / 148.0, 0.0, Some(-0.5 / 148.0), Some(0.5 / 148.0));
}
