//! `check` against closed forms derived by hand in the comments. Every quantity is checked
//! against its reported error: |value − exact| ≤ error, and the error meets the tolerance.
//!
//! Notation: p the normalised density, s the field, E expectation under p.
//! lhs_i = E[s_i ∂_i log p], rhs_i = −E[∂_i s_i], boundary_i = ∫[s_i p] over the ends,
//! esm = ½E|s − ∇log p|², ism = E[½|s|² + ∇·s], const = ½E|∇log p|².
//! Gaussian moments used throughout: for x ~ N(0,1), E x² = 1, E x⁴ = 3, E x⁶ = 15,
//! E[g'(x)] = E[x g(x)] (Stein), E cos x = e^{−1/2}, E cos 2x = e^{−2}.

use scorecheck::parse_case;
use scorecheck::{Boundary, Ibp, ObjectiveVerdict, Quantity, Report, Status};
use scorecheck::{CheckOptions, default_tol};

fn run(toml: &str) -> Report {
    eprintln!("case: {}", toml.replace('\n', " | "));
    let spec = parse_case(toml, "test.toml", "test").expect("case parses");
    let case = spec.compile(&[], false).expect("case compiles");
    scorecheck::check_case(&case, &CheckOptions::default()).expect("check runs")
}

/// The quantity converged, its value is within its error of `exact`, and the error meets
/// the default tolerance of the dimension (absolute up to size 1, relative above).
#[track_caller]
fn close(q: &Quantity, exact: f64, d: usize, what: &str) {
    let tol = default_tol(d);
    let (v, e) = (q.value.expect(what), q.error.expect(what));
    assert_eq!(q.status, Status::Ok, "{what}: {q:?}");
    let real = (v - exact).abs();
    // The accuracy table: `cargo test --release --test it closed_forms -- --nocapture --test-threads 1`
    eprintln!("  {d}-D {what:<12} value {v:>23.15e}  real error {real:.1e}  reported {e:.1e}");
    assert!(
        real <= e,
        "{what}: value {v} exact {exact}: real error {real:e} > estimate {e:e}"
    );
    assert!(
        real <= tol * exact.abs().max(1.0),
        "{what}: real error {real:e} above tolerance"
    );
}

#[track_caller]
fn holds(r: &Report) {
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{}", r.to_text());
    assert_eq!(r.verdict.boundary, Boundary::Vanishes, "{}", r.to_text());
    assert_eq!(
        r.verdict.objective,
        ObjectiveVerdict::Finite,
        "{}",
        r.to_text()
    );
    assert_eq!(r.outcome(), scorecheck::Outcome::Holds);
}

#[track_caller]
fn objective(r: &Report, esm: f64, ism: f64, cst: f64, d: usize) {
    close(&r.objective.esm, esm, d, "esm");
    close(&r.objective.ism, ism, d, "ism");
    close(&r.objective.constant, cst, d, "const");
    // gap = esm − ism − const = −Σ boundary_i
    let b: f64 = -r.cross.boundary.value.unwrap();
    let g = r.objective.gap.value.unwrap();
    assert!((g - b).abs() <= r.objective.gap.error.unwrap() + r.cross.boundary.error.unwrap());
}

#[test]
fn standard_normal_true_score() {
    // p = N(0,1), s = −x = ∇log p: lhs = E x² = 1, rhs = −E[−1] = 1, esm = 0,
    // ism = E[½x² − 1] = −½, const = ½E x² = ½. Z = √(2π).
    let r = run("[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\n");
    holds(&r);
    close(&r.normalizer, (2.0 * std::f64::consts::PI).sqrt(), 1, "Z");
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    close(&r.components[0].boundary, 0.0, 1, "boundary");
    objective(&r, 0.0, -0.5, 0.5, 1);
}

#[test]
fn gaussian_linear_mismatch() {
    // p = N(0,1), s = −a(x − m), a = 2, m = 0.5:
    // lhs = E[−a(x−m)(−x)] = a(E x² − m E x) = a = 2; rhs = −E[−a] = 2;
    // esm = ½E[((1−a)x + am)²] = ½((1−a)² + a²m²) = 1; ism = ½a²(1 + m²) − a = 0.5; const = ½.
    let r = run(
        "params = { a = 2, m = 0.5 }\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-a*(x-m)\"]\n",
    );
    holds(&r);
    close(&r.components[0].lhs, 2.0, 1, "lhs");
    close(&r.components[0].rhs, 2.0, 1, "rhs");
    objective(&r, 1.0, 0.5, 0.5, 1);
}

#[test]
fn gaussian_cubic_field() {
    // p = N(0,1), s = −x³: lhs = E x⁴ = 3, rhs = E[3x²] = 3;
    // esm = ½E(x − x³)² = ½(1 − 6 + 15) = 5; ism = E[½x⁶ − 3x²] = 7.5 − 3 = 4.5; const = ½.
    let r = run("[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x^3\"]\n");
    holds(&r);
    close(&r.components[0].lhs, 3.0, 1, "lhs");
    close(&r.components[0].rhs, 3.0, 1, "rhs");
    objective(&r, 5.0, 4.5, 0.5, 1);
}

#[test]
fn gaussian_sine_field() {
    // p = N(0,1), s = sin x: lhs = −E[x sin x] = −E cos x = −e^{−1/2}; rhs = −E cos x;
    // esm = ½(E sin² + 2E x sin x + E x²) = ½((1 − e^{−2})/2 + 2e^{−1/2} + 1);
    // ism = (1 − e^{−2})/4 + e^{−1/2}; const = ½.
    let r = run("[density]\npdf = \"exp(-x^2/2)\"\n[score]\nfield = [\"sin(x)\"]\n");
    holds(&r);
    let c = (-0.5f64).exp();
    let e2 = (-2.0f64).exp();
    close(&r.components[0].lhs, -c, 1, "lhs");
    close(&r.components[0].rhs, -c, 1, "rhs");
    objective(
        &r,
        0.5 * ((1.0 - e2) / 2.0 + 2.0 * c + 1.0),
        (1.0 - e2) / 4.0 + c,
        0.5,
        1,
    );
}

#[test]
fn narrow_gaussian_far_out() {
    // p = N(100, σ²), σ = 0.01, s = −(x − 100): with u = x − 100,
    // lhs = E[u²/σ²] = 1; rhs = 1; esm = ½E[u²(1/σ² − 1)²] = ½(1 − σ²)²/σ²;
    // ism = E[½u² − 1] = ½σ² − 1; const = ½/σ².
    let r = run("[density]\nlog = \"-(x-100)^2/(2*0.01^2)\"\n[score]\nfield = [\"-(x-100)\"]\n");
    holds(&r);
    let s2: f64 = 1e-4;
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    close(
        &r.normalizer,
        (2.0 * std::f64::consts::PI * s2).sqrt(),
        1,
        "Z",
    );
    objective(
        &r,
        0.5 * (1.0 - s2).powi(2) / s2,
        0.5 * s2 - 1.0,
        0.5 / s2,
        1,
    );
}

#[test]
fn mixture_modes_eight_apart() {
    // p = ½N(−4,1) + ½N(4,1), s = −x/5. Var p = 1 + 16 = 17.
    // lhs = rhs = −E[−1/5] = 0.2 (boundary vanishes); ism = E[x²/50] − 0.2 = 0.34 − 0.2 = 0.14.
    let r = run(
        "[density]\npdf = \"exp(-(x-4)^2/2) + exp(-(x+4)^2/2)\"\n[score]\nfield = [\"-x/5\"]\n",
    );
    holds(&r);
    assert_eq!(r.modes.len(), 2, "both modes found: {:?}", r.modes);
    close(
        &r.normalizer,
        2.0 * (2.0 * std::f64::consts::PI).sqrt(),
        1,
        "Z",
    );
    close(&r.components[0].lhs, 0.2, 1, "lhs");
    close(&r.components[0].rhs, 0.2, 1, "rhs");
    close(&r.objective.ism, 0.14, 1, "ism");
}

#[test]
fn laplace_kink() {
    // p = ½e^{−|x|}, s = −x: ∂log p = −sign x.
    // lhs = E[x sign x] = E|x| = 1; rhs = 1; esm = ½E(−x + sign x)² = ½(2 − 2 + 1) = ½;
    // ism = E[½x² − 1] = 0; const = ½.
    let r = run("[density]\nlog = \"-abs(x)\"\n[score]\nfield = [\"-x\"]\n");
    holds(&r);
    close(&r.normalizer, 2.0, 1, "Z");
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    objective(&r, 0.5, 0.0, 0.5, 1);
}

#[test]
fn laplace_discontinuous_score_violates_ibp() {
    // p = ½e^{−|x|}, s = −sign x (the score itself, with a jump at 0). Classically
    // ∂s = 0 away from 0, so rhs = 0, while lhs = E[sign² x] = 1 and the boundary at ±∞ is 0:
    // the jump carries the missing 2p(0) = 1, and the identity is violated.
    let r = run("[density]\nlog = \"-abs(x)\"\n[score]\nfield = [\"-signum(x)\"]\n");
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 0.0, 1, "rhs");
    assert_eq!(r.verdict.ibp, Ibp::Violated, "{}", r.to_text());
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn student_t_five() {
    // p ∝ (1 + x²/ν)^{−(ν+1)/2}, ν = 5, s = −x. With B = x²/(ν+x²) ~ Beta(½, ν/2):
    // lhs = (ν+1)E[B] = 1; rhs = 1; ism = ½E x² − 1 = ½ν/(ν−2) − 1 = −1/6;
    // const = ½(ν+1)² E[B(1−B)]/ν = ½(ν+1)/(ν+3) = 3/8; esm = ism + const = 5/24.
    let r = run("[density]\nlog = \"-3*ln(1 + x^2/5)\"\n[score]\nfield = [\"-x\"]\n");
    holds(&r);
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    objective(&r, 5.0 / 24.0, -1.0 / 6.0, 3.0 / 8.0, 1);
}

#[test]
fn cauchy_objective_diverges() {
    // p = 1/(π(1+x²)), s = −x: lhs = 2E[B] (B ~ Beta(½,½)) = 1, rhs = 1, p s → 0 at ±∞;
    // esm and ism contain ½E x² = ∞; const = 2E[x²/(1+x²)²] = 2·1/8 = ¼.
    let r = run("[density]\npdf = \"1/(1+x^2)\"\n[score]\nfield = [\"-x\"]\n");
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    close(&r.objective.constant, 0.25, 1, "const");
    assert_eq!(r.objective.esm.status, Status::Diverges);
    assert_eq!(r.objective.ism.status, Status::Diverges);
    assert_eq!(r.objective.esm.value, None);
    assert_eq!(r.verdict.objective, ObjectiveVerdict::Infinite);
    assert_eq!(r.verdict.ibp, Ibp::Holds);
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn exponential_half_line_boundary() {
    // p = e^{−x} on [0, ∞), s = 1 − x: ∂log p = −1.
    // lhs = E[(1−x)(−1)] = E x − 1 = 0; rhs = −E[−1] = 1; boundary = 0 − s(0)p(0) = −1.
    // esm = ½E(2 − x)² = ½(4 − 4 + 2) = 1; ism = E[½(1−x)² − 1] = ½(1 − 2 + 2) − 1 = −½;
    // const = ½; gap = 1 = −boundary.
    let r = run("domain = [[0, inf]]\n[density]\nlog = \"-x\"\n[score]\nfield = [\"1 - x\"]\n");
    close(&r.components[0].lhs, 0.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    close(&r.components[0].boundary, -1.0, 1, "boundary");
    objective(&r, 1.0, -0.5, 0.5, 1);
    assert_eq!(r.verdict.ibp, Ibp::Holds);
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn half_normal_boundary() {
    // p ∝ e^{−x²/2} on (0, ∞), s = −(x − 1): E x = √(2/π), E x² = 1.
    // lhs = E[x(x−1)] = 1 − √(2/π) = 0.202115…; rhs = 1; boundary = −s(0)p(0) = −√(2/π).
    let r =
        run("domain = [[0, inf]]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-1)\"]\n");
    let k = (2.0 / std::f64::consts::PI).sqrt();
    close(&r.components[0].lhs, 1.0 - k, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    close(&r.components[0].boundary, -k, 1, "boundary");
    assert_eq!(r.verdict.ibp, Ibp::Holds);
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn uniform_interval_boundary() {
    // p = 1 on [0, 1], s = x − ½: ∂log p = 0, so lhs = 0; rhs = −1;
    // boundary = s(1) − s(0) = 1; esm = ½E s² = 1/24; ism = 1/24 + 1; const = 0; gap = −1.
    let r = run("domain = [[0, 1]]\n[density]\nlog = \"0*x\"\n[score]\nfield = [\"x - 1/2\"]\n");
    close(&r.components[0].lhs, 0.0, 1, "lhs");
    close(&r.components[0].rhs, -1.0, 1, "rhs");
    close(&r.components[0].boundary, 1.0, 1, "boundary");
    objective(&r, 1.0 / 24.0, 1.0 / 24.0 + 1.0, 0.0, 1);
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn gamma_field_singular_at_zero() {
    // p ∝ x² e^{−x} on (0, ∞) (Gamma(3)), s = 2/x − 1 = ∇log p, singular at x = 0, but
    // p s = x(2 − x)e^{−x}/2 → 0 there. E[1/x] = Γ(2)/Γ(3) = ½, E[1/x²] = Γ(1)/Γ(3) = ½.
    // lhs = E s² = 4·½ − 4·½ + 1 = 1; rhs = E[2/x²] = 1; esm = 0; ism = ½ − 1 = −½; const = ½.
    let r = run(
        "domain = [[0, inf]]\n[density]\nlog = \"2*ln(x) - x\"\n[score]\nfield = [\"2/x - 1\"]\n",
    );
    holds(&r);
    close(&r.normalizer, 2.0, 1, "Z");
    close(&r.components[0].lhs, 1.0, 1, "lhs");
    close(&r.components[0].rhs, 1.0, 1, "rhs");
    objective(&r, 0.0, -0.5, 0.5, 1);
}

#[test]
fn log_model_gradient_field() {
    // p = N(0,1), log_model = −(x − μ)²/(2σ²) with μ = 0.3, σ = 1.4: s = −(x − μ)/σ², ∂s = −1/σ².
    // lhs = E[(x − μ)x]/σ² = 1/σ²; rhs = 1/σ²; ism = E(x−μ)²/(2σ⁴) − 1/σ² = (1+μ²)/(2σ⁴) − 1/σ².
    let r = run(
        "params = { mu = 0.3, s = 1.4 }\n[density]\nlog = \"-x^2/2\"\n[score]\nlog_model = \"-(x-mu)^2/(2*s^2)\"\n",
    );
    holds(&r);
    let s2 = 1.4f64 * 1.4;
    close(&r.components[0].lhs, 1.0 / s2, 1, "lhs");
    close(&r.components[0].rhs, 1.0 / s2, 1, "rhs");
    close(
        &r.objective.ism,
        (1.0 + 0.09) / (2.0 * s2 * s2) - 1.0 / s2,
        1,
        "ism",
    );
}

#[test]
fn correlated_gaussian_2d() {
    // p = N(0, Σ), Σ = [[1, ρ], [ρ, 1]], ρ = 0.6, s = −(x, y).
    // ∂_x log p = −(x − ρy)/(1−ρ²): lhs_x = E[x² − ρxy]/(1−ρ²) = 1; rhs_x = 1 (same for y).
    // esm = ½ tr((Σ⁻¹ − I)Σ(Σ⁻¹ − I)) = ½ tr(Σ⁻¹ − 2I + Σ) = 1/(1−ρ²) − 1 = 0.5625;
    // ism = ½E|x|² − 2 = −1; const = ½ tr Σ⁻¹ = 1/(1−ρ²) = 1.5625.
    let r = run(
        "vars = [\"x\", \"y\"]\nparams = { r = 0.6 }\n[density]\nlog = \"-(x^2 - 2*r*x*y + y^2)/(2*(1-r^2))\"\n[score]\nfield = [\"-x\", \"-y\"]\n",
    );
    holds(&r);
    for c in &r.components {
        close(&c.lhs, 1.0, 2, "lhs");
        close(&c.rhs, 1.0, 2, "rhs");
        close(&c.boundary, 0.0, 2, "boundary");
    }
    close(&r.normalizer, 2.0 * std::f64::consts::PI * 0.8, 2, "Z");
    objective(&r, 0.5625, -1.0, 1.5625, 2);
}

#[test]
fn quadrant_2d_boundary() {
    // p = e^{−x−y} on [0, ∞)², s = (1 − x, 2 − y):
    // boundary_x = −∫ s_x(0, y) p(0, y) dy = −1, boundary_y = −2 (total −3);
    // lhs_x = E x − 1 = 0, rhs_x = 1; lhs_y = E y − 2 = −1, rhs_y = 1;
    // esm = ½(E(2−x)² + E(3−y)²) = ½(2 + 5) = 3.5; ism = ½(1 + 2) − 2 = −0.5; const = 1; gap = 3.
    let r = run(
        "domain = [[0, inf], [0, inf]]\n[density]\nlog = \"-x - y\"\n[score]\nfield = [\"1 - x\", \"2 - y\"]\n",
    );
    close(&r.components[0].lhs, 0.0, 2, "lhs_x");
    close(&r.components[0].rhs, 1.0, 2, "rhs_x");
    close(&r.components[0].boundary, -1.0, 2, "boundary_x");
    close(&r.components[1].lhs, -1.0, 2, "lhs_y");
    close(&r.components[1].rhs, 1.0, 2, "rhs_y");
    close(&r.components[1].boundary, -2.0, 2, "boundary_y");
    objective(&r, 3.5, -0.5, 1.0, 2);
    assert_eq!(r.verdict.ibp, Ibp::Holds);
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    assert_eq!(r.outcome(), scorecheck::Outcome::Violated);
}

#[test]
fn gaussian_3d_nonlinear() {
    // p = N(0, I₃), s = (−x³, sin y, −z + xy).
    // lhs/rhs: x: E x⁴ = 3 = E 3x²; y: −E[y sin y] = −e^{−1/2} = −E cos y; z: E z² − E xyz = 1 = 1.
    // esm = ½[E(x − x³)² + E(sin y + y)² + E(xy)²] = ½[10 + (1−e^{−2})/2 + 2e^{−1/2} + 1 + 1];
    // ism = ½[15 + (1−e^{−2})/2 + 2] − 3 + e^{−1/2} − 1; const = 3/2.
    let r = run(
        "vars = [\"x\", \"y\", \"z\"]\n[density]\nlog = \"-(x^2 + y^2 + z^2)/2\"\n[score]\nfield = [\"-x^3\", \"sin(y)\", \"-z + x*y\"]\n",
    );
    holds(&r);
    let c = (-0.5f64).exp();
    let e2 = (-2.0f64).exp();
    let expect = [(3.0, 3.0), (-c, -c), (1.0, 1.0)];
    for (comp, (l, rr)) in r.components.iter().zip(expect) {
        close(&comp.lhs, l, 3, "lhs");
        close(&comp.rhs, rr, 3, "rhs");
    }
    let esm = 0.5 * (12.0 + (1.0 - e2) / 2.0 + 2.0 * c);
    let ism = 0.5 * (17.0 + (1.0 - e2) / 2.0) - 4.0 + c;
    objective(&r, esm, ism, 1.5, 3);
}

#[test]
fn gaussian_4d_nonlinear() {
    // p = N(0, I₄), s = (−a³, sin b, −c + a·d, cos d).
    // lhs = rhs per component: 3, −e^{−1/2}, 1, and −E[d cos d] = E[sin d] = 0.
    // esm = ½[10 + ((1−e^{−2})/2 + 2e^{−1/2} + 1) + 1 + ((1+e^{−2})/2 + 0 + 1)] = 7 + e^{−1/2};
    // ism = ½[15 + (1−e^{−2})/2 + 2 + (1+e^{−2})/2] − 3 + e^{−1/2} − 1 − 0 = 5 + e^{−1/2}; const = 2.
    let r = run(
        "vars = [\"a\", \"b\", \"c\", \"d\"]\n[density]\nlog = \"-(a^2 + b^2 + c^2 + d^2)/2\"\n[score]\nfield = [\"-a^3\", \"sin(b)\", \"-c + a*d\", \"cos(d)\"]\n",
    );
    holds(&r);
    let c = (-0.5f64).exp();
    let expect = [3.0, -c, 1.0, 0.0];
    for (comp, l) in r.components.iter().zip(expect) {
        close(&comp.lhs, l, 4, "lhs");
        close(&comp.rhs, l, 4, "rhs");
    }
    objective(&r, 7.0 + c, 5.0 + c, 2.0, 4);
}

#[test]
fn weighted_half_normal() {
    // p ∝ e^{−x²/2} on (0, ∞), s = −(x − 1), weight h = x (vanishes at 0). With k = √(2/π):
    // E x = k, E x² = 1, E x³ = 2k. Unweighted: boundary −k (fails). Weighted:
    // lhs^h = E[h s ∂log p] = E[x²(x − 1)] = 2k − 1; rhs^h = −E[∂(h s)] = −E[1 − 2x] = 2k − 1;
    // boundary^h = [h s p] = 0; esm^h = ½E[x·1] = k/2; ism^h = E[x(½(x−1)² − 1) − (x − 1)]
    // = ½·2k − 1 + ½k − k − k + 1 = −k/2; const^h = ½E[x³] = k. The exit code follows h.
    let r = run(
        "domain = [[0, inf]]\nweight = \"x\"\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-(x-1)\"]\n",
    );
    let k = (2.0 / std::f64::consts::PI).sqrt();
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    close(&r.components[0].boundary, -k, 1, "boundary");
    let w = r.weighted.as_ref().expect("weighted section");
    close(&w.components[0].lhs, 2.0 * k - 1.0, 1, "lhs^h");
    close(&w.components[0].rhs, 2.0 * k - 1.0, 1, "rhs^h");
    close(&w.components[0].boundary, 0.0, 1, "boundary^h");
    close(&w.objective.esm, k / 2.0, 1, "esm^h");
    close(&w.objective.ism, -k / 2.0, 1, "ism^h");
    close(&w.objective.constant, k, 1, "const^h");
    assert_eq!(w.verdict.boundary, Boundary::Vanishes);
    assert_eq!(w.verdict.ibp, Ibp::Holds);
    assert_eq!(r.outcome(), scorecheck::Outcome::Holds);
}

#[test]
fn weighted_uniform_square() {
    // p = 1 on [0,1]², s = (x − ½, y − ½), h = x(1−x)y(1−y).
    // Unweighted: ∂log p = 0 so lhs_i = 0, rhs_i = −1, boundary_i = ½ − (−½) = 1.
    // Weighted: lhs^h = 0; rhs^h = −∫∂_x(h s_x) = −∫[h s_x] dy = 0 (h = 0 on the edges);
    // esm^h = ½E[h|s|²] = E[x(1−x)(x−½)²]·E[y(1−y)] = (1/120)(1/6) = 1/720 (with t = x − ½,
    // ∫(¼ − t²)t² dt over [−½, ½] = 1/48 − 1/80 = 1/120); const^h = 0; ism^h = esm^h = 1/720.
    let r = run(
        "domain = [[0, 1], [0, 1]]\nweight = \"x*(1-x)*y*(1-y)\"\n[density]\nlog = \"0*x + 0*y\"\n[score]\nfield = [\"x - 1/2\", \"y - 1/2\"]\n",
    );
    for c in &r.components {
        close(&c.lhs, 0.0, 2, "lhs");
        close(&c.rhs, -1.0, 2, "rhs");
        close(&c.boundary, 1.0, 2, "boundary");
    }
    let w = r.weighted.as_ref().expect("weighted section");
    for c in &w.components {
        close(&c.lhs, 0.0, 2, "lhs^h");
        close(&c.rhs, 0.0, 2, "rhs^h");
        close(&c.boundary, 0.0, 2, "boundary^h");
    }
    close(&w.objective.esm, 1.0 / 720.0, 2, "esm^h");
    close(&w.objective.ism, 1.0 / 720.0, 2, "ism^h");
    close(&w.objective.constant, 0.0, 2, "const^h");
    assert_eq!(r.verdict.boundary, Boundary::Nonzero);
    assert_eq!(w.verdict.boundary, Boundary::Vanishes);
    assert_eq!(r.outcome(), scorecheck::Outcome::Holds);
}

#[test]
fn banana_2d() {
    // p ∝ exp(−x²/8 − (y − x²/4)²/2): with u = y − x²/4, x ~ N(0, 4) and u ~ N(0, 1) are
    // independent, so Z = √(8π)·√(2π) = 4π. s = ∇log p (log_model): s_x = −x/4 + u x/2,
    // s_y = −u. lhs_x = E s_x² = E x²/16 + E u² E x²/4 = 1/4 + 1 = 5/4;
    // ∂_x s_x = −1/4 + u/2 − x²/4, so rhs_x = 1/4 + 1 = 5/4; lhs_y = E u² = 1 = rhs_y.
    // esm = 0, const = ½(5/4 + 1) = 9/8, ism = −9/8. The mass follows a curved ridge
    // out to y ≈ 30 and beyond: the case that once lost 5e-8 of Z.
    let r = run(
        "vars = [\"x\", \"y\"]\n[density]\nlog = \"-x^2/8 - (y - x^2/4)^2/2\"\n[score]\nlog_model = \"-x^2/8 - (y - x^2/4)^2/2\"\n",
    );
    holds(&r);
    close(&r.normalizer, 4.0 * std::f64::consts::PI, 2, "Z");
    close(&r.components[0].lhs, 1.25, 2, "lhs_x");
    close(&r.components[0].rhs, 1.25, 2, "rhs_x");
    close(&r.components[1].lhs, 1.0, 2, "lhs_y");
    close(&r.components[1].rhs, 1.0, 2, "rhs_y");
    objective(&r, 0.0, -1.125, 1.125, 2);
}
