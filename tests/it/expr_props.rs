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

use crate::common::proptest_config;
use num_dual::{Dual2_64, Dual64, DualSVec64, HyperDual64};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use scorecheck::{Program, free_symbols};

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
        let exponent =
            prop::sample::select(vec!["0", "1", "2", "3", "4", "-1", "-2", "(-3)", "(1+1)"]);
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

/// `-`? leaf (`^` exponent)?
fn term() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        leaf(),
        prop::option::of(prop::sample::select(vec![
            "2", "3", "-1", "-2", "0.5", "x", "y",
        ])),
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
        prop::collection::vec(
            (prop::sample::select(vec!["+", "-", "*", "/", "^"]), term()),
            0..5,
        ),
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

fn meval_value(src: &str, x: f64, y: f64) -> f64 {
    let expr: meval::Expr = src.parse().expect("meval parses what we compiled");
    let mut ctx = meval::Context::new();
    ctx.var("x", x).var("y", y);
    expr.eval_with_context(&ctx).expect("meval evaluates")
}

/// Rounding noise of `g` near `t`: its largest change when `t` moves by ~1e-13 (relative).
/// Large where big terms cancel, e.g. d2/dx2 of `x^-1 * x` near 0, whose true value is 0.
fn spread(g: &dyn Fn(f64) -> f64, t: f64) -> f64 {
    let g0 = g(t);
    [-2.0, -1.0, 1.0, 2.0]
        .iter()
        .map(|k| (g(t + k * 1e-13 * t.abs().max(1.0)) - g0).abs())
        .fold(0.0, f64::max)
}

/// Outcome of one finite-difference comparison.
enum Fd {
    Agrees,
    Skipped,
}

/// Compare `exact(t)` (claimed to be the derivative of `g` at `t`) with a
/// Richardson-extrapolated central difference of `g`.
///
/// The step starts at `1e-3 * max(1, |t|)` and is divided by 4 until the difference
/// quotients for steps `h`, `h/2` and `h/4` agree (the truncation error is then about their
/// differences; two pairs guard against a coincidental match), allowing for rounding noise
/// of about `1e-13 * |g| / h`. The verdict is taken at the first such step, with a tolerance
/// of a few times truncation plus noise plus the rounding noise of `exact` itself (see
/// [`spread`]). Points where `g` is non-finite or huge, or where no step converges, are
/// skipped.
fn check_fd(
    what: &str,
    src: &str,
    t: f64,
    exact: &dyn Fn(f64) -> f64,
    g: &dyn Fn(f64) -> f64,
) -> Result<Fd, String> {
    let e0 = exact(t);
    if !e0.is_finite() {
        return Ok(Fd::Skipped);
    }
    let self_noise = spread(exact, t);
    if !self_noise.is_finite() {
        return Ok(Fd::Skipped);
    }
    let mut h = 1e-3 * t.abs().max(1.0);
    for _ in 0..8 {
        let mut s = [0.0; 6];
        for (k, v) in s.iter_mut().enumerate() {
            let step = h / f64::from(1 << (k / 2));
            *v = g(if k % 2 == 0 { t - step } else { t + step });
        }
        if s.iter().any(|v| !v.is_finite() || v.abs() > HUGE) {
            return Ok(Fd::Skipped);
        }
        // central differences with steps h, h/2, h/4
        let d = [0, 1, 2].map(|i| (s[2 * i + 1] - s[2 * i]) * f64::from(1 << i) / (2.0 * h));
        let richardson = (4.0 * d[2] - d[1]) / 3.0;
        let scale = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let trunc = (d[0] - d[1]).abs().max((d[1] - d[2]).abs());
        let noise = 1e-13 * scale / (h / 4.0);
        if trunc <= 1e-5 * (richardson.abs() + 1.0) + 10.0 * noise {
            let tol = 10.0 * (trunc + noise + self_noise) + 1e-10 * (e0.abs() + scale + 1.0);
            return if (e0 - richardson).abs() <= tol {
                Ok(Fd::Agrees)
            } else {
                Err(format!(
                    "{what} of `{src}` at {t}: exact {e0}, finite differences {richardson} \
                     (steps {h}, /2, /4: {d:?}), tolerance {tol}"
                ))
            };
        }
        h /= 4.0;
    }
    Ok(Fd::Skipped)
}

/// (name, point, exact derivative as a function of the point, function it differentiates)
type Check<'a> = (&'a str, f64, &'a dyn Fn(f64) -> f64, &'a dyn Fn(f64) -> f64);

fn partial(p: &Program, x: f64, y: f64, wrt: usize) -> Dual64 {
    let mut v = [Dual64::from(x), Dual64::from(y)];
    v[wrt].eps = 1.0;
    p.eval(&v)
}

/// How much `g` moves when `x` and `y` move by about 1e-12 (relative): results that differ
/// by less than this are equal up to the conditioning of the expression (e.g. `sin` of a
/// large argument amplifies a one-ulp difference between `powi` and `powf`).
fn sensitivity(g: impl Fn(f64, f64) -> f64, x: f64, y: f64) -> f64 {
    let base = g(x, y);
    let step = |t: f64, s: f64| t + s * 1e-12 * t.abs().max(1.0);
    let mut worst = 0.0f64;
    for (sx, sy) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
        let d = (g(step(x, sx), step(y, sy)) - base).abs();
        if d.is_finite() {
            worst = worst.max(d);
        }
    }
    worst
}

/// `a` and `b` agree to ~1e-12 relative, allowing for the conditioning `sens`.
fn agree(a: f64, b: f64, sens: f64) -> bool {
    (a.is_nan() && b.is_nan())
        || a == b
        || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0) + sens
}

/// All checks for one expression at one point; returns whether derivatives were checked.
fn check_case(src: &str, x: f64, y: f64) -> Result<bool, TestCaseError> {
    let p = Program::compile(src, &names(), &[])
        .map_err(|e| TestCaseError::fail(format!("compile failed:\n{e}")))?;
    let f = |x: f64, y: f64| p.eval(&[x, y]);

    // f64 values against meval.
    let v = f(x, y);
    let m = meval_value(src, x, y);
    let sens = sensitivity(|x, y| meval_value(src, x, y), x, y);
    prop_assert!(
        agree(v, m, sens),
        "`{}` at ({}, {}): ours {}, meval {}",
        src,
        x,
        y,
        v,
        m
    );

    // The symbols are exactly the used variables.
    let syms = free_symbols(src, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut sym_idx: Vec<usize> = syms.iter().map(|s| if s == "x" { 0 } else { 1 }).collect();
    sym_idx.sort_unstable();
    prop_assert_eq!(&sym_idx, &p.used_vars(), "symbols of `{}`", src);

    if !v.is_finite() || v.abs() > HUGE {
        return Ok(false);
    }

    let fail = |e: String| TestCaseError::fail(e);
    let dx = partial(&p, x, y, 0);
    let dy = partial(&p, x, y, 1);
    // Dual arithmetic can give NaN where plain f64 does not: `0 * inf` where f64 went
    // through an infinity and came back finite (e.g. `atan2(x, 1/0)`), and `a^b` with a
    // non-constant `b` and `a <= 0` (`exp(b ln a)`, while f64 keeps `powf`'s value). Such
    // points are skipped, not failed; the share of checked cases is asserted at the end.
    if dx.re.is_nan() || dy.re.is_nan() {
        return Ok(false);
    }
    // num-dual computes some real parts differently from std (e.g. tanh as sinh/cosh).
    let sens = sensitivity(f, x, y);
    prop_assert!(
        agree(dx.re, v, sens) && agree(dy.re, v, sens),
        "dual value of `{}`",
        src
    );

    let mut checked = true;
    let first: [Check; 2] = [
        ("d/dx", x, &|t| partial(&p, t, y, 0).eps, &|t| f(t, y)),
        ("d/dy", y, &|t| partial(&p, x, t, 1).eps, &|t| f(x, t)),
    ];
    for (what, t, exact, g) in first {
        if let Fd::Skipped = check_fd(what, src, t, exact, g).map_err(fail)? {
            checked = false;
        }
    }

    // Other dual types give the same first derivatives, up to rounding: num-dual's
    // formulas differ slightly between types, which matters where big terms cancel.
    let nx = 10.0 * spread(&|t| partial(&p, t, y, 0).eps, x);
    let ny = 10.0 * spread(&|t| partial(&p, x, t, 1).eps, y);

    // Gradient in one pass.
    let grad = p.eval(&[
        DualSVec64::<2>::from(x).derivative(0),
        DualSVec64::<2>::from(y).derivative(1),
    ]);
    if let Some(g) = grad.eps.0 {
        prop_assert!(
            agree(g[0], dx.eps, nx) && agree(g[1], dy.eps, ny),
            "gradient of `{}`",
            src
        );
    }

    // Second derivatives against differences of exact first derivatives.
    let dxx = p.eval(&[Dual2_64::new(x, 1.0, 0.0), Dual2_64::from(y)]);
    let dyy = p.eval(&[Dual2_64::from(x), Dual2_64::new(y, 1.0, 0.0)]);
    prop_assert!(
        agree(dxx.v1, dx.eps, nx) && agree(dyy.v1, dy.eps, ny),
        "Dual2 first derivative of `{}`",
        src
    );
    let hxy = p.eval(&[
        HyperDual64::new(x, 1.0, 0.0, 0.0),
        HyperDual64::new(y, 0.0, 1.0, 0.0),
    ]);
    prop_assert!(
        agree(hxy.eps1, dx.eps, nx) && agree(hxy.eps2, dy.eps, ny),
        "HyperDual first derivatives of `{}`",
        src
    );
    let d2 = |x: f64, y: f64, i: usize| {
        let mut v = [Dual2_64::from(x), Dual2_64::from(y)];
        v[i].v1 = 1.0;
        p.eval(&v).v2
    };
    let dxy = |x: f64, y: f64| {
        p.eval(&[
            HyperDual64::new(x, 1.0, 0.0, 0.0),
            HyperDual64::new(y, 0.0, 1.0, 0.0),
        ])
        .eps1eps2
    };
    let second: [Check; 3] = [
        ("d2/dx2", x, &|t| d2(t, y, 0), &|t| partial(&p, t, y, 0).eps),
        ("d2/dy2", y, &|t| d2(x, t, 1), &|t| partial(&p, x, t, 1).eps),
        ("d2/dxdy", y, &|t| dxy(x, t), &|t| partial(&p, x, t, 0).eps),
    ];
    for (what, t, exact, g) in second {
        if let Fd::Skipped = check_fd(what, src, t, exact, g).map_err(fail)? {
            checked = false;
        }
    }
    Ok(checked)
}

fn run(strategy: impl Strategy<Value = (String, f64, f64)>, min_checked: f64) {
    let mut runner = TestRunner::new(proptest_config(256));
    let (checked, total) = (Cell::new(0u32), Cell::new(0u32));
    let result = runner.run(&strategy, |(src, x, y)| {
        total.set(total.get() + 1);
        if check_case(&src, x, y)? {
            checked.set(checked.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let frac = f64::from(checked.get()) / f64::from(total.get().max(1));
    eprintln!(
        "{} of {} cases had all derivatives checked",
        checked.get(),
        total.get()
    );
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
        0.6,
    );
}

#[test]
fn flat_expressions_match_meval() {
    // Variable exponents and negative bases make many of these NaN; values are still
    // compared with meval everywhere, derivatives where finite.
    run(
        (flat_expr(), point()).prop_map(|(s, (x, y))| (s, x, y)),
        0.2,
    );
}

/// Bitwise equality, NaN equal to NaN.
fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `eval_batch` must give every point exactly what `eval` gives it: values and derivatives,
/// over a batch longer than one run of lanes, and through the instructions that the batch
/// evaluator runs one lane at a time (`%`, `max`, `min`, `atan2`, non-integer powers).
#[test]
fn batch_evaluation_equals_pointwise() {
    let extra = prop::sample::select(vec![
        "max(x, y, 0.5)",
        "min(x^2, y)",
        "x % 0.7",
        "atan2(y, x)",
        "abs(x)^1.5",
        "x^y",
        "floor(x) + signum(y)",
    ])
    .prop_map(str::to_string);
    let exprs = prop_oneof![3 => smooth_expr(), 2 => flat_expr(), 1 => extra];
    let pts = prop::collection::vec(point(), 1..75);
    let mut runner = TestRunner::new(proptest_config(128));
    runner
        .run(&(exprs, pts), |(src, pts)| {
            let p = Program::compile(&src, &names(), &[]).unwrap();
            let n = pts.len();
            let mut xs: Vec<f64> = pts.iter().map(|q| q.0).collect();
            xs.extend(pts.iter().map(|q| q.1));
            let mut out = vec![0.0; n];
            p.eval_batch(&xs, n, &mut out);
            let mut dxs: Vec<Dual64> = pts.iter().map(|q| Dual64::new(q.0, 1.0)).collect();
            dxs.extend(pts.iter().map(|q| Dual64::new(q.1, 0.5)));
            let mut dout = vec![Dual64::from(0.0); n];
            p.eval_batch(&dxs, n, &mut dout);
            for (l, &(x, y)) in pts.iter().enumerate() {
                let v = p.eval(&[x, y]);
                prop_assert!(
                    same_bits(out[l], v),
                    "{src} at ({x}, {y}): {} vs {v}",
                    out[l]
                );
                let dv = p.eval(&[Dual64::new(x, 1.0), Dual64::new(y, 0.5)]);
                prop_assert!(
                    same_bits(dout[l].re, dv.re) && same_bits(dout[l].eps, dv.eps),
                    "{src} at ({x}, {y}): {:?} vs {dv:?}",
                    dout[l]
                );
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
