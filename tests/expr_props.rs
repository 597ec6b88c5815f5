//! Property tests for `scorecheck::expr`: random expressions from a small grammar, checked
//! against meval's own `f64` evaluation and against finite differences.
//!
//! * `f64` values agree with `meval::Expr::eval_with_context` to ~1e-12 (relative).
//! * `Dual64` partial derivatives in `x` and `y` agree with Richardson-extrapolated central
//!   differences of the `f64` values.
//! * `Dual2_64` second derivatives and `HyperDual64` mixed partials agree with central
//!   differences of the (already checked) `Dual64` first derivatives.
//! * `DualSVec64<2>` gradients equal the two `Dual64` partials.
//!
//! Points where the function is non-finite or huge are skipped; the test asserts that most
//! cases were actually checked. `PROPTEST_CASES` overrides the number of cases (default 256).

use std::cell::Cell;

use num_dual::{Dual2_64, Dual64, DualSVec64, HyperDual64};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scorecheck::expr::{Program, free_symbols};

/// Values beyond this are "huge": finite differences there say little.
const HUGE: f64 = 1e6;

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("x".to_string()),
        3 => Just("y".to_string()),
        2 => prop::sample::select(vec!["0.5", "1", "2", "3", "1.5", "0.25", "2.5e-1", "10", "pi", "e"])
            .prop_map(str::to_string),
    ]
}

/// A random expression that is smooth wherever it is finite.
fn smooth_expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 40, 2, |inner| {
        let exponent = prop::sample::select(vec!["0", "1", "2", "3", "4", "-1", "-2", "(-3)", "(1+1)"]);
        let func = prop::sample::select(vec!["sin", "cos", "exp", "tanh", "atan", "asinh"]);
        let op = prop::sample::select(vec!["+", "-", "*"]);
        prop_oneof![
            4 => (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) / ({b})")),
            1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} / (1 + ({b})^2)")),
            2 => (inner.clone(), exponent).prop_map(|(a, n)| format!("({a})^{n}")),
            2 => (func, inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => inner.clone().prop_map(|a| format!("sqrt(1 + ({a})^2)")),
            1 => inner.clone().prop_map(|a| format!("ln(2 + ({a})^2)")),
            1 => inner.clone().prop_map(|a| format!("-{a}")),
            1 => (inner.clone(), inner).prop_map(|(a, b)| format!("atan2({a}, 1 + ({b})^2)")),
        ]
    })
}

/// Flat chains without parentheses, to exercise precedence and associativity against meval.
/// `-`? leaf (`^` exponent)?
fn term() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        leaf(),
        prop::option::of(prop::sample::select(vec!["2", "3", "-1", "-2", "0.5", "x", "y"])),
    )
        .prop_map(|(neg, a, p)| {
            let mut s = String::new();
            if neg {
                s.push('-');
            }
            s.push_str(&a);
            if let Some(p) = p {
                s.push('^');
                s.push_str(p);
            }
            s
        })
}

/// Flat chains without parentheses, to exercise precedence and associativity against meval.
fn flat_expr() -> impl Strategy<Value = String> {
    (
        term(),
        prop::collection::vec((prop::sample::select(vec!["+", "-", "*", "/", "^"]), term()), 0..5),
    )
        .prop_map(|(first, rest)| {
            let mut s = first;
            for (op, t) in rest {
                s.push(' ');
                s.push_str(op);
                s.push(' ');
                s.push_str(&t);
            }
            s
        })
}

fn names() -> Vec<String> {
    vec!["x".to_string(), "y".to_string()]
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

fn meval_value(src: &str, x: f64, y: f64) -> f64 {
    let expr: meval::Expr = src.parse().expect("meval parses what we compiled");
    let mut ctx = meval::Context::new();
    ctx.var("x", x).var("y", y);
    expr.eval_with_context(&ctx).expect("meval evaluates")
}

/// Outcome of one finite-difference comparison.
enum Fd {
    Agrees,
    Skipped,
}

/// Compare `exact` (a derivative of `g` at `t`) with a Richardson-extrapolated central
/// difference of `g`. The tolerance grows with the observed step-size dependence of the
/// difference quotients (truncation error) and with rounding noise `|g|*eps/h`.
fn check_fd(what: &str, src: &str, exact: f64, t: f64, g: impl Fn(f64) -> f64) -> Result<Fd, String> {
    let h = 1e-3 * t.abs().max(1.0);
    let samples = [g(t - h), g(t + h), g(t - h / 2.0), g(t + h / 2.0), g(t)];
    if samples.iter().any(|v| !v.is_finite() || v.abs() > HUGE) || !exact.is_finite() {
        return Ok(Fd::Skipped);
    }
    let d_h = (samples[1] - samples[0]) / (2.0 * h);
    let d_h2 = (samples[3] - samples[2]) / h;
    let richardson = (4.0 * d_h2 - d_h) / 3.0;
    let scale = samples.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = 10.0 * (d_h - d_h2).abs() + 1e-9 * (scale + exact.abs()) + 1e-10;
    if (exact - richardson).abs() <= tol {
        Ok(Fd::Agrees)
    } else {
        Err(format!(
            "{what} of `{src}` at {t}: exact {exact}, finite differences {richardson} (h: {d_h}, h/2: {d_h2}), tol {tol}"
        ))
    }
}

fn partial(p: &Program, x: f64, y: f64, wrt: usize) -> Dual64 {
    let mut v = [Dual64::from(x), Dual64::from(y)];
    v[wrt].eps = 1.0;
    p.eval(&v)
}

/// All checks for one expression at one point; returns whether derivatives were checked.
///
/// `variable_powers`: the grammar may produce `a^b` with non-constant `b`, where dual numbers
/// give NaN for `a <= 0` (`exp(b ln a)`) while `f64` keeps `powf`'s value; such points are
/// skipped.
fn check_case(src: &str, x: f64, y: f64, variable_powers: bool) -> Result<bool, TestCaseError> {
    let p = Program::compile(src, &names(), &[])
        .map_err(|e| TestCaseError::fail(format!("compile failed:\n{e}")))?;

    // f64 values against meval.
    let v = p.eval(&[x, y]);
    let m = meval_value(src, x, y);
    let agree = close(v, m, 1e-12) || (v.is_infinite() && v == m);
    prop_assert!(agree, "`{}` at ({}, {}): ours {}, meval {}", src, x, y, v, m);

    // The symbols are exactly the used variables.
    let syms = free_symbols(src, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut sym_idx: Vec<usize> = syms.iter().map(|s| if s == "x" { 0 } else { 1 }).collect();
    sym_idx.sort_unstable();
    prop_assert_eq!(&sym_idx, &p.used_vars(), "symbols of `{}`", src);

    if !v.is_finite() || v.abs() > HUGE {
        return Ok(false);
    }

    let fail = |e: String| TestCaseError::fail(e);
    let f = |x: f64, y: f64| p.eval(&[x, y]);
    let dx = partial(&p, x, y, 0);
    let dy = partial(&p, x, y, 1);
    if variable_powers && (dx.re.is_nan() || dy.re.is_nan()) {
        return Ok(false);
    }
    prop_assert!(close(dx.re, v, 1e-13) && close(dy.re, v, 1e-13), "dual value of `{}`", src);

    let mut checked = true;
    for (what, exact, t, g) in [
        ("d/dx", dx.eps, x, &(|t: f64| f(t, y)) as &dyn Fn(f64) -> f64),
        ("d/dy", dy.eps, y, &|t: f64| f(x, t)),
    ] {
        if let Fd::Skipped = check_fd(what, src, exact, t, g).map_err(fail)? {
            checked = false;
        }
    }

    // Gradient in one pass.
    let grad = p.eval(&[
        DualSVec64::<2>::from(x).derivative(0),
        DualSVec64::<2>::from(y).derivative(1),
    ]);
    if let Some(g) = grad.eps.0 {
        prop_assert!(close(g[0], dx.eps, 1e-12) && close(g[1], dy.eps, 1e-12), "gradient of `{}`", src);
    }

    // Second derivatives against differences of exact first derivatives.
    let dxx = p.eval(&[Dual2_64::new(x, 1.0, 0.0), Dual2_64::from(y)]);
    let dyy = p.eval(&[Dual2_64::from(x), Dual2_64::new(y, 1.0, 0.0)]);
    prop_assert!(close(dxx.v1, dx.eps, 1e-12) && close(dyy.v1, dy.eps, 1e-12), "Dual2 first derivative of `{}`", src);
    let hxy = p.eval(&[HyperDual64::new(x, 1.0, 0.0, 0.0), HyperDual64::new(y, 0.0, 1.0, 0.0)]);
    prop_assert!(close(hxy.eps1, dx.eps, 1e-12) && close(hxy.eps2, dy.eps, 1e-12), "HyperDual first derivatives of `{}`", src);
    for (what, exact, t, g) in [
        ("d2/dx2", dxx.v2, x, &(|t: f64| partial(&p, t, y, 0).eps) as &dyn Fn(f64) -> f64),
        ("d2/dy2", dyy.v2, y, &|t: f64| partial(&p, x, t, 1).eps),
        ("d2/dxdy", hxy.eps1eps2, y, &|t: f64| partial(&p, x, t, 0).eps),
    ] {
        if let Fd::Skipped = check_fd(what, src, exact, t, g).map_err(fail)? {
            checked = false;
        }
    }
    Ok(checked)
}

fn run(strategy: impl Strategy<Value = (String, f64, f64)>, variable_powers: bool, min_checked: f64) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let (checked, total) = (Cell::new(0u32), Cell::new(0u32));
    let result = runner.run(&strategy, |(src, x, y)| {
        total.set(total.get() + 1);
        if check_case(&src, x, y, variable_powers)? {
            checked.set(checked.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let frac = f64::from(checked.get()) / f64::from(total.get().max(1));
    assert!(
        frac >= min_checked,
        "only {} of {} cases had all derivatives checked",
        checked.get(),
        total.get()
    );
}

fn point() -> impl Strategy<Value = (f64, f64)> {
    (-2.0..2.0f64, -2.0..2.0f64)
}

#[test]
fn smooth_expressions_derivatives_and_values() {
    run(
        (smooth_expr(), point()).prop_map(|(s, (x, y))| (s, x, y)),
        false,
        0.6,
    );
}

#[test]
fn flat_expressions_match_meval() {
    // Variable exponents and negative bases make many of these NaN; values are still
    // compared with meval everywhere, derivatives where finite.
    run(
        (flat_expr(), point()).prop_map(|(s, (x, y))| (s, x, y)),
        true,
        0.2,
    );
}
