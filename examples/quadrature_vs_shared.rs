//! The measurement behind the README's "Dependencies" section: a 1-D check's quantities
//! integrated one at a time with the `quadrature` crate's double-exponential rule, against
//! `check`'s own vector-valued tanh-sinh rule, which integrates them all from the same points.
//!
//! The case is examples/cases/gauss-mismatch.toml: p = N(0, 1) on the line, the field
//! s(x) = −(x − μ)/σ², μ = 0.3, σ = 1.4. Closed forms (E x = 0, E x² = 1, so
//! E(x − μ)² = 1 + μ²):
//!
//! ```text
//! Z = ∫ e^{−x²/2} = √(2π)
//! lhs = E[s ∂log p] = E[x(x − μ)]/σ² = 1/σ²         rhs = −E[s′] = 1/σ²
//! esm = ½E(s + x)² = ½((1 − 1/σ²)² + μ²/σ⁴)         const = ½E x² = ½
//! ism = E[½s² + s′] = ½(1 + μ²)/σ⁴ − 1/σ²
//! ```
//!
//! Each scalar integral ∫ p̃ g over the line is mapped to (−1, 1) by x = t/(1 − t²) and given
//! the absolute target `tol · |∫ p̃ g|` with check's tolerance, so that both reach the same
//! relative accuracy. Run: `cargo run --release --example quadrature_vs_shared`.

use scorecheck::CheckOptions;
use scorecheck::parse_case;

fn main() {
    let (mu, sig2) = (0.3f64, 1.4f64 * 1.4);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/cases/gauss-mismatch.toml"
    ))
    .expect("the gallery case");
    let spec = parse_case(&text, "gauss-mismatch.toml", "gauss-mismatch").expect("parses");
    let case = spec.compile(&[], false).expect("compiles");
    let report = scorecheck::check_case(&case, &CheckOptions::default()).expect("checks");
    let tol = report.tolerance;

    let z = (2.0 * std::f64::consts::PI).sqrt();
    let s = move |x: f64| -(x - mu) / sig2;
    let ds = -1.0 / sig2;
    let p = move |x: f64| (-0.5 * x * x).exp();
    // (name, ∫ p̃ g with g as check weighs it, the closed form of ∫ p̃ g)
    type G = Box<dyn Fn(f64) -> f64>;
    let quantities: Vec<(&str, G, f64)> = vec![
        ("Z", Box::new(p), z),
        ("lhs", Box::new(move |x| s(x) * -x * p(x)), z / sig2),
        ("rhs", Box::new(move |x| -ds * p(x)), z / sig2),
        (
            "esm",
            Box::new(move |x| 0.5 * (s(x) + x).powi(2) * p(x)),
            z * 0.5 * ((1.0 - 1.0 / sig2).powi(2) + mu * mu / (sig2 * sig2)),
        ),
        (
            "ism",
            Box::new(move |x| (0.5 * s(x) * s(x) + ds) * p(x)),
            z * (0.5 * (1.0 + mu * mu) / (sig2 * sig2) - 1.0 / sig2),
        ),
        ("const", Box::new(move |x| 0.5 * x * x * p(x)), z * 0.5),
    ];
    println!("case gauss-mismatch, tolerance {tol:.0e} (check's default in 1-D)");
    println!(
        "{:<6} {:>8} {:>12} {:>12}",
        "", "evals", "|error|", "est. error"
    );
    let mut total = 0u64;
    let mut worst = 0.0f64;
    for (name, g, exact) in &quantities {
        let mapped = |t: f64| {
            let d = 1.0 - t * t;
            if d <= 0.0 {
                return 0.0;
            }
            let x = t / d;
            let v = g(x) * (1.0 + t * t) / (d * d);
            if v.is_finite() { v } else { 0.0 }
        };
        let out = quadrature::double_exponential::integrate(mapped, -1.0, 1.0, tol * exact.abs());
        let err = ((out.integral - exact) / exact).abs();
        worst = worst.max(err);
        total += out.num_function_evaluations as u64;
        println!(
            "{name:<6} {:>8} {err:>12.1e} {:>12.1e}",
            out.num_function_evaluations,
            out.error_estimate / exact.abs()
        );
    }
    println!(
        "quadrature::double_exponential, one quantity at a time: {total} evaluations of p̃ and s in all, worst relative error {worst:.1e}"
    );
    // check's quantities are ratios to Z; compare them with the closed forms too.
    let checks = [
        ("lhs", report.cross.lhs.value, 1.0 / sig2),
        ("rhs", report.cross.rhs.value, 1.0 / sig2),
        (
            "esm",
            report.objective.esm.value,
            0.5 * ((1.0 - 1.0 / sig2).powi(2) + mu * mu / (sig2 * sig2)),
        ),
        (
            "ism",
            report.objective.ism.value,
            0.5 * (1.0 + mu * mu) / (sig2 * sig2) - 1.0 / sig2,
        ),
        ("const", report.objective.constant.value, 0.5),
    ];
    let worst_check = checks
        .iter()
        .map(|(_, v, e)| ((v.expect("a value") - e) / e).abs())
        .fold(((report.normalizer.value.unwrap() - z) / z).abs(), f64::max);
    println!(
        "scorecheck check, every quantity from the same points: {} evaluations (each a dual evaluation giving p̃, ∇log p̃, s and ∇·s), worst relative error {worst_check:.1e}",
        report.normalizer.evals
    );
}
