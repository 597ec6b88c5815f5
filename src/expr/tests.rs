use super::*;
use super::{error::*, eval::*, functions::*, lex::*, parse::*};
use approx::assert_relative_eq;
use meval::tokenizer::Token;
use num_dual::DualNum;
use num_dual::{Dual, Dual2_64, Dual64, DualSVec64, HyperDual64};

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn prog(src: &str) -> Program {
    Program::compile(src, &names(&["x", "y"]), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn err(src: &str) -> ExprError {
    Program::compile(
        src,
        &names(&["x", "y"]),
        &[("mu".into(), 1.5), ("s".into(), 2.0)],
    )
    .expect_err(src)
}

fn f(src: &str, x: f64, y: f64) -> f64 {
    prog(src).eval(&[x, y])
}

/// (value, d/dx) with Dual64.
fn d1(src: &str, x: f64, y: f64) -> (f64, f64) {
    let r = prog(src).eval(&[Dual64::from(x).derivative(), Dual64::from(y)]);
    (r.re, r.eps)
}

/// (value, d/dx, d2/dx2) with Dual2_64.
fn d2(src: &str, x: f64, y: f64) -> (f64, f64, f64) {
    let r = prog(src).eval(&[Dual2_64::from(x).derivative(), Dual2_64::from(y)]);
    (r.re, r.v1, r.v2)
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-14 * a.abs().max(b.abs())
}

#[test]
fn functions_match_std() {
    type F = fn(f64) -> f64;
    let table: &[(&str, F, &[f64])] = &[
        ("sqrt", f64::sqrt, &[0.0, 0.3, 2.0, -1.0]),
        ("exp", f64::exp, &[-2.0, 0.0, 0.7]),
        ("ln", f64::ln, &[0.3, 2.0, 0.0, -1.0]),
        ("abs", f64::abs, &[-2.5, 0.0, -0.0, 3.0]),
        ("sin", f64::sin, &[-2.0, 0.4]),
        ("cos", f64::cos, &[-2.0, 0.4]),
        ("tan", f64::tan, &[-1.0, 0.4]),
        ("asin", f64::asin, &[-0.9, 0.3, 2.0]),
        ("acos", f64::acos, &[-0.9, 0.3]),
        ("atan", f64::atan, &[-3.0, 0.3]),
        ("sinh", f64::sinh, &[-1.5, 0.3]),
        ("cosh", f64::cosh, &[-1.5, 0.3]),
        ("tanh", f64::tanh, &[-1.5, 0.3]),
        ("asinh", f64::asinh, &[-1.5, 0.3]),
        ("acosh", f64::acosh, &[1.5, 3.0, 0.5]),
        ("atanh", f64::atanh, &[-0.5, 0.3]),
        ("floor", f64::floor, &[-1.5, 0.3, 2.0]),
        ("ceil", f64::ceil, &[-1.5, 0.3, 2.0]),
        ("round", f64::round, &[-1.5, 0.5, 2.4]),
        ("signum", f64::signum, &[-1.5, 0.0, 2.0]),
    ];
    for &(name, g, points) in table {
        let p = prog(&format!("{name}(x)"));
        for &x in points {
            let want = g(x);
            let got = p.eval(&[x, 0.0]);
            assert!(same(got, want), "{name}({x}) = {got}, want {want}");
            // Real part of a dual evaluation agrees too.
            let got_d = p
                .eval(&[Dual64::from(x).derivative(), Dual64::from(0.0)])
                .re;
            assert!(
                same(got_d, want),
                "{name}({x}) dual re = {got_d}, want {want}"
            );
        }
    }
    assert!(f("abs(x)", -0.0, 0.0).is_sign_positive());
    assert!(
        prog("abs(x)")
            .eval(&[Dual64::from(-0.0), Dual64::from(0.0)])
            .re
            .is_sign_positive()
    );
}

#[test]
fn binary_functions_and_operators_match_std() {
    for &(x, y) in &[
        (1.5, -0.5),
        (-2.0, 3.0),
        (0.25, 7.0),
        (-3.5, -2.0),
        (0.0, 2.0),
        (5.0, 0.0),
    ] {
        assert!(same(f("x + y", x, y), x + y));
        assert!(same(f("x - y", x, y), x - y));
        assert!(same(f("x * y", x, y), x * y));
        assert!(same(f("x / y", x, y), x / y));
        assert!(same(f("x % y", x, y), x % y), "{x} % {y}");
        assert!(same(f("x ^ y", x, y), x.powf(y)), "{x} ^ {y}");
        assert!(same(f("atan2(x, y)", x, y), x.atan2(y)), "atan2({x}, {y})");
        assert!(same(f("max(x, y)", x, y), x.max(y)));
        assert!(same(f("min(x, y)", x, y), x.min(y)));
        assert!(same(f("max(x, y, 1)", x, y), x.max(y).max(1.0)));
        assert!(same(f("min(2, x, y)", x, y), x.min(y).min(2.0)));
        assert!(same(f("-x", x, y), -x));
        assert!(same(f("+x", x, y), x));
    }
    assert_eq!(f("max(x)", 4.0, 0.0), 4.0);
    assert_eq!(f("max(x, y)", f64::NAN, 2.0), 2.0);
    assert!(f("max(x, y)", f64::NAN, f64::NAN).is_nan());
    assert_eq!(f("pi", 0.0, 0.0), std::f64::consts::PI);
    assert_eq!(f("e", 0.0, 0.0), std::f64::consts::E);
    assert_eq!(
        f("1e3 + 2. + 2.e1 + 1.5E-1", 0.0, 0.0),
        1000.0 + 2.0 + 20.0 + 0.15
    );
    // % with a quotient where a/b rounds up to an integer: the value is still fmod's.
    assert_eq!(f("x % y", 0.3, 0.1), 0.3 % 0.1);
    assert_eq!(f("x % y", 1.0, f64::INFINITY), 1.0);
    assert!(f("x % y", 1.0, 0.0).is_nan());
}

#[test]
fn precedence() {
    assert_eq!(f("-x^2", 3.0, 0.0), -9.0);
    assert_eq!(f("2^3^2", 0.0, 0.0), 512.0);
    assert_eq!(f("(2^3)^2", 0.0, 0.0), 64.0);
    assert_eq!(f("2^-1", 0.0, 0.0), 0.5);
    assert_eq!(f("x^-2", 2.0, 0.0), 0.25);
    assert_eq!(f("1 - 2 - 3", 0.0, 0.0), -4.0);
    assert_eq!(f("8 / 4 / 2", 0.0, 0.0), 1.0);
    assert_eq!(f("1 + 2 * 3", 0.0, 0.0), 7.0);
    assert_eq!(f("-x*y", 2.0, 3.0), -6.0);
    assert_eq!(f("x - -y", 2.0, 3.0), 5.0);
    assert_eq!(f("--x", 2.0, 3.0), 2.0);
    assert_eq!(f("7 % 4 * 2", 0.0, 0.0), 6.0);
    assert_eq!(f("2 * x ^ 2", 3.0, 0.0), 18.0);
    assert_eq!(f(" sin (x)\n+\tcos(y) ", 0.0, 0.0), 1.0);
}

#[test]
fn integer_powers_are_exact() {
    assert_eq!(d1("x^2", -3.0, 0.0), (9.0, -6.0));
    assert_eq!(d2("x^2", -3.0, 0.0), (9.0, -6.0, 2.0));
    assert_eq!(d1("x^3", -2.0, 0.0), (-8.0, 12.0));
    assert_eq!(d2("x^3", -2.0, 0.0), (-8.0, 12.0, -12.0));
    assert_eq!(d1("x^-1", -2.0, 0.0), (-0.5, -0.25));
    assert_eq!(d1("x^(-2)", -2.0, 0.0), (0.25, 0.25));
    assert_eq!(d1("x^(2*1)", -3.0, 0.0), (9.0, -6.0));
    assert_eq!(d1("x^(4/2)", -3.0, 0.0), (9.0, -6.0));
    assert_eq!(d1("x^0", -3.0, 0.0), (1.0, 0.0));
    assert_eq!(d1("x^1", -3.0, 0.0), (-3.0, 1.0));
    assert_eq!(f("(-2)^3", 0.0, 0.0), -8.0);
    assert_eq!(f("x^3", -2.0, 0.0), -8.0);
    // A parameter exponent is a compile-time constant too.
    let p = Program::compile("x^k", &names(&["x"]), &[("k".into(), 3.0)]).unwrap();
    let r = p.eval(&[Dual64::new(-2.0, 1.0)]);
    assert_eq!((r.re, r.eps), (-8.0, 12.0));
    assert!(p.code.iter().any(|op| matches!(op, Op::PowI(3))));
    // Non-integer constant exponent: powf; x^2.5 -> 2.5 x^1.5, 3.75 x^0.5.
    let (v, d, dd) = d2("x^2.5", 1.7, 0.0);
    assert_relative_eq!(v, 1.7f64.powf(2.5), max_relative = 1e-14);
    assert_relative_eq!(d, 2.5 * 1.7f64.powf(1.5), max_relative = 1e-14);
    assert_relative_eq!(dd, 3.75 * 1.7f64.sqrt(), max_relative = 1e-14);
    assert!(
        prog("x^2.5")
            .code
            .iter()
            .any(|op| matches!(op, Op::PowF(_)))
    );
    // powf at 0: zero value and derivatives while p exceeds the derivative order.
    assert_eq!(d1("x^2.5", 0.0, 0.0), (0.0, 0.0));
    assert_eq!(d2("x^2.5", 0.0, 0.0), (0.0, 0.0, 0.0));
    assert_eq!(d1("x^1.5", 0.0, 0.0), (0.0, 0.0));
    assert!(d2("x^1.5", 0.0, 0.0).2.is_nan()); // 2nd derivative is infinite there
    assert_eq!(f("x^0.5", 0.0, 0.0), 0.0);
    // Negative integer powers at 0 are infinite, not NaN.
    assert_eq!(d1("x^-1", 0.0, 0.0).0, f64::INFINITY);
    assert_eq!(f("x^-3", -0.0, 0.0), f64::NEG_INFINITY);
    // ... and do not underflow early for large bases: (1e100)^-3 = 1e-300, and at 1e50
    // the derivative -3 x^-4 = -3e-200.
    assert_relative_eq!(d1("x^-3", 1e100, 0.0).0, 1e-300, max_relative = 1e-14);
    assert_relative_eq!(d1("x^-3", 1e50, 0.0).1, -3e-200, max_relative = 1e-14);
    // Huge integer exponents fall back to powf (still right for negative bases).
    assert_eq!(f("x^2000", -1.0, 0.0), 1.0);
    assert!(
        prog("x^2000")
            .code
            .iter()
            .any(|op| matches!(op, Op::PowF(_)))
    );
}

#[test]
fn variable_exponent() {
    // d/dx x^y = y x^(y-1); d/dy x^y = x^y ln x.
    let p = prog("x^y");
    let (x, y) = (1.3, 2.7);
    let rx = p.eval(&[Dual64::new(x, 1.0), Dual64::from(y)]);
    let ry = p.eval(&[Dual64::from(x), Dual64::new(y, 1.0)]);
    assert_relative_eq!(rx.re, x.powf(y), max_relative = 1e-14);
    assert_relative_eq!(rx.eps, y * x.powf(y - 1.0), max_relative = 1e-14);
    assert_relative_eq!(ry.eps, x.powf(y) * x.ln(), max_relative = 1e-14);
    assert!(
        p.eval(&[Dual64::new(-2.0, 1.0), Dual64::from(3.0)])
            .re
            .is_nan()
    );
    // f64 keeps std powf for negative bases.
    assert_eq!(p.eval(&[-2.0, 3.0]), -8.0);
    // 2^x: d/dx = 2^x ln 2
    let (v, d) = d1("2^x", 0.5, 0.0);
    assert_relative_eq!(v, 2f64.sqrt(), max_relative = 1e-15);
    assert_relative_eq!(d, 2f64.sqrt() * 2f64.ln(), max_relative = 1e-15);
}

#[test]
fn first_and_second_derivatives_match_closed_forms() {
    // (expression, x, f', f'') with the closed forms written out.
    let sq = |x: f64| x * x;
    let cases: Vec<(&str, f64, f64, f64)> = vec![
        // sqrt: 1/(2 sqrt x), -1/(4 x^(3/2))
        (
            "sqrt(x)",
            0.7,
            0.5 / 0.7f64.sqrt(),
            -0.25 / 0.7f64.powf(1.5),
        ),
        // exp: e^x, e^x
        ("exp(x)", -0.4, (-0.4f64).exp(), (-0.4f64).exp()),
        // ln: 1/x, -1/x^2
        ("ln(x)", 0.7, 1.0 / 0.7, -1.0 / sq(0.7)),
        // abs at x < 0: -1, 0; at x > 0: 1, 0; at 0: +x branch
        ("abs(x)", -0.7, -1.0, 0.0),
        ("abs(x)", 0.7, 1.0, 0.0),
        ("abs(x)", 0.0, 1.0, 0.0),
        // sin: cos, -sin
        ("sin(x)", 0.9, 0.9f64.cos(), -0.9f64.sin()),
        // cos: -sin, -cos
        ("cos(x)", 0.9, -0.9f64.sin(), -0.9f64.cos()),
        // tan: 1/cos^2, 2 tan/cos^2
        (
            "tan(x)",
            0.9,
            1.0 / sq(0.9f64.cos()),
            2.0 * 0.9f64.tan() / sq(0.9f64.cos()),
        ),
        // asin: 1/sqrt(1-x^2), x/(1-x^2)^(3/2)
        (
            "asin(x)",
            0.3,
            1.0 / (1.0 - sq(0.3)).sqrt(),
            0.3 / (1.0 - sq(0.3)).powf(1.5),
        ),
        // acos: -1/sqrt(1-x^2), -x/(1-x^2)^(3/2)
        (
            "acos(x)",
            0.3,
            -1.0 / (1.0 - sq(0.3)).sqrt(),
            -0.3 / (1.0 - sq(0.3)).powf(1.5),
        ),
        // atan: 1/(1+x^2), -2x/(1+x^2)^2
        (
            "atan(x)",
            0.6,
            1.0 / (1.0 + sq(0.6)),
            -1.2 / sq(1.0 + sq(0.6)),
        ),
        // sinh: cosh, sinh
        ("sinh(x)", 0.6, 0.6f64.cosh(), 0.6f64.sinh()),
        // cosh: sinh, cosh
        ("cosh(x)", 0.6, 0.6f64.sinh(), 0.6f64.cosh()),
        // tanh: 1 - tanh^2, -2 tanh (1 - tanh^2)
        (
            "tanh(x)",
            0.6,
            1.0 - sq(0.6f64.tanh()),
            -2.0 * 0.6f64.tanh() * (1.0 - sq(0.6f64.tanh())),
        ),
        // asinh: 1/sqrt(x^2+1), -x/(x^2+1)^(3/2)
        (
            "asinh(x)",
            0.6,
            1.0 / (sq(0.6) + 1.0).sqrt(),
            -0.6 / (sq(0.6) + 1.0).powf(1.5),
        ),
        // acosh: 1/sqrt(x^2-1), -x/(x^2-1)^(3/2)
        (
            "acosh(x)",
            1.6,
            1.0 / (sq(1.6) - 1.0).sqrt(),
            -1.6 / (sq(1.6) - 1.0).powf(1.5),
        ),
        // atanh: 1/(1-x^2), 2x/(1-x^2)^2
        (
            "atanh(x)",
            0.4,
            1.0 / (1.0 - sq(0.4)),
            0.8 / sq(1.0 - sq(0.4)),
        ),
        // piecewise constant: 0, 0
        ("floor(x)", 1.6, 0.0, 0.0),
        ("ceil(x)", 1.6, 0.0, 0.0),
        ("round(x)", 1.6, 0.0, 0.0),
        ("signum(x)", -1.6, 0.0, 0.0),
        // max/min follow the chosen argument: max(x, 1) at 2 -> x; min(x, 1) at 2 -> 1
        ("max(x, 1)", 2.0, 1.0, 0.0),
        ("min(x, 1)", 2.0, 0.0, 0.0),
        ("max(x^2, 1, x)", 2.0, 4.0, 2.0),
        ("max(x, x^2)", 1.0, 1.0, 0.0), // tie: first wins
        // x % 1.5 at 4: x - 1.5*2 -> 1, 0;  7 % x at 2: 7 - 3x -> -3, 0
        ("x % 1.5", 4.0, 1.0, 0.0),
        ("7 % x", 2.0, -3.0, 0.0),
        ("(-7) % x", 2.0, 3.0, 0.0),
        // product/quotient/chain rules: d/dx x sin x = sin x + x cos x,
        // d2 = 2 cos x - x sin x
        (
            "x*sin(x)",
            0.8,
            0.8f64.sin() + 0.8 * 0.8f64.cos(),
            2.0 * 0.8f64.cos() - 0.8 * 0.8f64.sin(),
        ),
        // 1/(1+x^2): -2x/(1+x^2)^2, (6x^2-2)/(1+x^2)^3
        (
            "1/(1+x^2)",
            0.8,
            -1.6 / sq(1.0 + sq(0.8)),
            (6.0 * sq(0.8) - 2.0) / (1.0 + sq(0.8)).powi(3),
        ),
        // exp(-x^2/2): -x e, (x^2-1) e
        (
            "exp(-x^2/2)",
            0.8,
            -0.8 * (-0.32f64).exp(),
            (sq(0.8) - 1.0) * (-0.32f64).exp(),
        ),
    ];
    for (src, x, want1, want2) in cases {
        let (v0, g1) = d1(src, x, 0.0);
        let (v2, g2a, g2) = d2(src, x, 0.0);
        let v = f(src, x, 0.0);
        assert!(same(v0, v) && same(v2, v), "{src}: value {v0} {v2} vs {v}");
        assert_relative_eq!(g1, want1, max_relative = 1e-13, epsilon = 1e-15);
        assert_relative_eq!(g2a, want1, max_relative = 1e-13, epsilon = 1e-15);
        assert_relative_eq!(g2, want2, max_relative = 1e-12, epsilon = 1e-14);
    }
}

#[test]
fn atan2_derivatives_in_all_quadrants() {
    // atan2(y, x): d/dy = x/r2, d/dx = -y/r2,
    // d2/dy2 = -2xy/r2^2, d2/dx2 = 2xy/r2^2 (r2 = x^2 + y^2).
    let p = Program::compile("atan2(y, x)", &names(&["x", "y"]), &[]).unwrap();
    let pts: [(f64, f64); 11] = [
        (1.0, 0.5),
        (-1.0, 0.5),
        (-1.0, -0.5),
        (1.0, -0.5),
        (0.0, 2.0),
        (0.0, -2.0),
        (-3.0, 0.0),
        (2.0, 0.0),
        (1e-200, 3e-200),
        (-4e200, 1e200),
        (-1.0, 1e-12),
    ];
    for (x, y) in pts {
        // Scaled closed forms so the extreme points are representable:
        // with h = max(|x|, |y|), d/dx = -ys/(r2s h), d/dy = xs/(r2s h).
        let h = x.abs().max(y.abs());
        let (xs, ys) = (x / h, y / h);
        let r2s = xs * xs + ys * ys;
        let gx = p.eval(&[Dual2_64::new(x, 1.0, 0.0), Dual2_64::from(y)]);
        let gy = p.eval(&[Dual2_64::from(x), Dual2_64::new(y, 1.0, 0.0)]);
        assert_eq!(gx.re, y.atan2(x), "value at ({x}, {y})");
        assert_eq!(gy.re, y.atan2(x));
        assert_relative_eq!(gx.v1 * h, -ys / r2s, max_relative = 1e-13, epsilon = 1e-300);
        assert_relative_eq!(gy.v1 * h, xs / r2s, max_relative = 1e-13, epsilon = 1e-300);
        let r2 = x * x + y * y;
        if h == 1.0 || h == 2.0 || h == 3.0 {
            assert_relative_eq!(
                gx.v2,
                2.0 * x * y / (r2 * r2),
                max_relative = 1e-12,
                epsilon = 1e-13
            );
            assert_relative_eq!(
                gy.v2,
                -2.0 * x * y / (r2 * r2),
                max_relative = 1e-12,
                epsilon = 1e-13
            );
            // mixed partial d2/dxdy = (y^2 - x^2)/r2^2
            let hd = p.eval(&[
                HyperDual64::new(x, 1.0, 0.0, 0.0),
                HyperDual64::new(y, 0.0, 1.0, 0.0),
            ]);
            assert_relative_eq!(
                hd.eps1eps2,
                (y * y - x * x) / (r2 * r2),
                max_relative = 1e-12,
                epsilon = 1e-13
            );
        }
    }
    // num-dual's own atan2 is NaN on the y axis, which is why we do not use it.
    let nd = Dual64::new(2.0, 0.0).atan2(Dual64::new(0.0, 1.0));
    assert!(nd.eps.is_nan());
    let ours = p.eval(&[Dual64::new(0.0, 1.0), Dual64::from(2.0)]);
    assert_eq!(ours.eps, -0.5);
    // At the origin the value is std's.
    assert_eq!(p.eval(&[0.0, 0.0]), 0.0);
    assert_eq!(p.eval(&[-1.0, 0.0]), std::f64::consts::PI);
}

#[test]
fn other_dual_types() {
    // gradient with DualSVec64<2>: f = x^2 y + sin(y) -> (2xy, x^2 + cos y)
    let p = prog("x^2*y + sin(y)");
    let (x, y) = (1.5, -0.5);
    let xv = DualSVec64::<2>::from(x).derivative(0);
    let yv = DualSVec64::<2>::from(y).derivative(1);
    let r = p.eval(&[xv, yv]);
    let g = r.eps.0.expect("gradient");
    assert_relative_eq!(g[0], 2.0 * x * y, max_relative = 1e-15);
    assert_relative_eq!(g[1], x * x + y.cos(), max_relative = 1e-15);
    // mixed partial with HyperDual64: d2/dxdy = 2x
    let h = p.eval(&[
        HyperDual64::new(x, 1.0, 0.0, 0.0),
        HyperDual64::new(y, 0.0, 1.0, 0.0),
    ]);
    assert_relative_eq!(h.eps1eps2, 2.0 * x, max_relative = 1e-15);
}

#[test]
fn nested_duals() {
    // Outer dual over an inner Dual64, as used for gradients of log-models: the outer
    // derivative of f in x, differentiated again (inner) in x, is d2f/dx2; compare with
    // Dual2_64 for an expression using the hand-written rules (abs, atan2, %, max, powi).
    let src = "x^2*y + atan2(y, x) + abs(x) * (x % 0.7) + max(x, y)^3 + x^-2";
    let p = prog(src);
    for &(x, y) in &[(0.9, -0.4), (-1.3, 0.6), (0.2, 1.1)] {
        let inner = Dual64::new(x, 1.0);
        let xs = [
            Dual::new(inner, Dual64::from(1.0)),
            Dual::new(Dual64::from(y), Dual64::from(0.0)),
        ];
        let r: Dual<Dual64> = p.eval(&xs);
        let (v, d1, d2) = d2(src, x, y);
        assert_relative_eq!(r.re.re, v, max_relative = 1e-14);
        assert_relative_eq!(r.eps.re, d1, max_relative = 1e-13);
        assert_relative_eq!(r.re.eps, d1, max_relative = 1e-13);
        assert_relative_eq!(r.eps.eps, d2, max_relative = 1e-12);
    }
}

#[test]
fn params_are_folded() {
    let vars = names(&["x"]);
    let params = vec![("mu".to_string(), 2.0), ("s".to_string(), 0.5)];
    let p = Program::compile("exp(-(x - mu)^2 / (2*s^2)) * pi", &vars, &params).unwrap();
    let want = (-(1.0f64 - 2.0).powi(2) / (2.0 * 0.25)).exp() * std::f64::consts::PI;
    assert_relative_eq!(p.eval(&[1.0]), want, max_relative = 1e-15);
    // 2*s^2 folded into one constant; no trace of the parameters remains.
    assert!(p.code.contains(&Op::Const(0.5)));
    assert!(p.code.contains(&Op::Const(2.0)));
    assert!(
        p.code
            .iter()
            .filter(|op| matches!(op, Op::Const(_)))
            .count()
            <= 3
    );
    let c = Program::compile("mu * s + sin(pi/2) + max(1, mu)", &vars, &params).unwrap();
    assert_eq!(c.constant_value(), Some(2.0 * 0.5 + 1.0 + 2.0));
    assert_eq!(c.len(), 1);
    assert_eq!(c.used_vars(), Vec::<usize>::new());
    assert_eq!(c.eval(&[Dual64::new(3.0, 1.0)]).eps, 0.0);
    // -2 is folded into an integer exponent.
    assert!(prog("x^-2").code.contains(&Op::PowI(-2)));
    assert!(prog("x^(1+1)").code.contains(&Op::PowI(2)));
    assert!(prog("x^y").code.contains(&Op::Pow));
}

#[test]
fn used_vars_and_source() {
    let p = Program::compile("z*2 + x - z", &names(&["x", "y", "z"]), &[]).unwrap();
    assert_eq!(p.used_vars(), vec![0, 2]);
    assert_eq!(p.source(), "z*2 + x - z");
    assert_eq!(p.n_vars(), 3);
}

#[test]
fn stack_depth_and_heap_fallback() {
    assert_eq!(prog("x").max_stack_depth(), 1);
    assert_eq!(prog("x + y*x").max_stack_depth(), 3);
    // Right-associative chains need a deep stack: exercise the Vec fallback.
    let src = vec!["x"; 300].join("^");
    let p = prog(&src);
    assert!(p.max_stack_depth() > INLINE_STACK);
    assert_eq!(p.eval(&[1.0, 0.0]), 1.0);
    let d = p.eval(&[Dual64::new(1.0, 1.0), Dual64::from(0.0)]);
    assert_eq!(d.re, 1.0);
    // d/dx of x^x^...^x at 1 is 1 (only the base contributes).
    assert_relative_eq!(d.eps, 1.0, max_relative = 1e-12);
    // depth between 8 and 64
    let mid = vec!["x"; 20].join("^(1+");
    let mid = format!("{mid}{}", ")".repeat(19));
    let pm = prog(&mid);
    assert!(pm.max_stack_depth() > 8 && pm.max_stack_depth() <= INLINE_STACK);
    assert_eq!(pm.eval(&[1.0, 0.0]), 1.0);
}

fn shown(src: &str) -> String {
    err(src).to_string()
}

#[test]
fn error_display_exact() {
    assert_eq!(
        shown("x + z"),
        "unknown variable `z`; known variables: x, y; parameters: mu, s\n  x + z\n      ^"
    );
    assert_eq!(
        shown("sin(x, y)"),
        "function `sin` takes 1 argument, got 2\n  sin(x, y)\n  ^^^^^^^^^"
    );
    assert_eq!(
        shown("2 * atan2(x)"),
        "function `atan2` takes 2 arguments, got 1\n  2 * atan2(x)\n      ^^^^^^^^"
    );
    assert_eq!(shown("(x + 1"), "unclosed `(`\n  (x + 1\n  ^");
    assert_eq!(shown("x + 1)"), "unmatched `)`\n  x + 1)\n       ^");
    assert_eq!(shown("x!"), "factorial `!` is not supported\n  x!\n   ^");
    assert_eq!(shown("   "), "empty expression");
    assert_eq!(shown(""), "empty expression");
    // Carets are counted in chars, not bytes.
    assert_eq!(shown("é + zz"), "unexpected character `é`\n  é + zz\n  ^");
    assert_eq!(
        shown("\u{3b1} + 1"),
        "unexpected character `\u{3b1}`\n  \u{3b1} + 1\n  ^"
    );
    assert_eq!(
        shown("x * \u{3b1}\u{3b2}"),
        "unexpected character `\u{3b1}`\n  x * \u{3b1}\u{3b2}\n      ^"
    );
    assert_eq!(
        shown("2*x+\tfoo(y)"),
        format!(
            "unknown function `foo`; supported functions: {}\n  2*x+ foo(y)\n       ^^^",
            listed_functions()
        )
    );
}

#[test]
fn error_messages() {
    type Case<'a> = (&'a str, &'a str, Option<(usize, usize)>);
    let cases: &[Case] = &[
        ("x +", "missing operand after `+`", Some((2, 3))),
        ("sin(", "missing operand after `sin(`", Some((0, 4))),
        ("x * * y", "missing operand before `*`", Some((4, 5))),
        ("()", "missing operand before `)`", Some((1, 2))),
        ("max()", "missing operand before `)`", Some((4, 5))),
        ("max(x,,y)", "missing operand before `,`", Some((6, 7))),
        ("x y", "missing operator before `y`", Some((2, 3))),
        ("2 3.5", "missing operator before `3.5`", Some((2, 5))),
        ("2x", "missing operator before `x`", Some((1, 2))),
        ("2 (x)", "missing operator before `(`", Some((2, 3))),
        ("sin x", "missing operator before `x`", Some((4, 5))),
        (
            "x, y",
            "unexpected `,` outside function arguments",
            Some((1, 2)),
        ),
        (
            "(x, y)",
            "unexpected `,` inside parentheses that are not a function call",
            Some((2, 3)),
        ),
        ("2e", "invalid number `2e`", Some((0, 2))),
        ("1 + 3e+", "invalid number `3e+`", Some((4, 7))),
        (".5", "invalid number `.5` (write `0.5`)", Some((0, 2))),
        ("x $ y", "unexpected character `$`", Some((2, 3))),
        ("x + $", "unexpected character `$`", Some((4, 5))),
        ("x = y", "unexpected character `=`", Some((2, 3))),
        ("3!", "factorial `!` is not supported", Some((1, 2))),
        ("!x", "factorial `!` is not supported", Some((0, 1))),
        ("((x)", "unclosed `(`", Some((0, 1))),
        ("exp(-(x)", "unclosed `(`", Some((3, 4))),
        ("x)", "unmatched `)`", Some((1, 2))),
        (
            "z",
            "unknown variable `z`; known variables: x, y; parameters: mu, s",
            Some((0, 1)),
        ),
        (
            "x + mu*sin(q)",
            "unknown variable `q`; known variables: x, y; parameters: mu, s",
            Some((11, 12)),
        ),
        (
            "sin",
            "function `sin` is used without parentheses; call it like `sin(x)`",
            Some((0, 3)),
        ),
        (
            "x(2)",
            "`x` is a variable, not a function (write `x*(...)` to multiply)",
            Some((0, 1)),
        ),
        (
            "mu (2)",
            "`mu` is a constant, not a function (write `mu*(...)` to multiply)",
            Some((0, 2)),
        ),
        (
            "pi(2)",
            "`pi` is a constant, not a function (write `pi*(...)` to multiply)",
            Some((0, 2)),
        ),
        (
            "atan2(x, y, 1)",
            "function `atan2` takes 2 arguments, got 3",
            Some((0, 14)),
        ),
        (
            "1 + exp (x, y)",
            "function `exp` takes 1 argument, got 2",
            Some((4, 14)),
        ),
        (
            "max(sin(x,y), 1)",
            "function `sin` takes 1 argument, got 2",
            Some((4, 12)),
        ),
    ];
    for &(src, msg, span) in cases {
        let e = err(src);
        assert_eq!(e.message, msg, "message for {src:?}");
        assert_eq!(e.span, span, "span for {src:?}");
        assert_eq!(e.source, src);
        assert!(!e.message.ends_with('.'));
        assert!(e.message.chars().next().is_some_and(|c| !c.is_uppercase()));
    }
    // No variables, no parameters.
    let e = Program::compile("a", &[], &[]).unwrap_err();
    assert_eq!(e.message, "unknown variable `a`; no variables are defined");
    let e = Program::compile("a", &[], &[("b".into(), 1.0)]).unwrap_err();
    assert_eq!(
        e.message,
        "unknown variable `a`; no variables are defined; parameters: b"
    );
    let e = Program::compile("a", &names(&["x"]), &[]).unwrap_err();
    assert_eq!(e.message, "unknown variable `a`; known variables: x");
}

#[test]
fn name_errors() {
    let c = |vars: &[&str], params: &[&str]| {
        let params: Vec<(String, f64)> = params.iter().map(|p| (p.to_string(), 1.0)).collect();
        Program::compile("1", &names(vars), &params).unwrap_err()
    };
    assert_eq!(
        c(&["pi"], &[]).message,
        "a variable named `pi` would shadow the constant pi = 3.14159…; rename the variable"
    );
    assert_eq!(
        c(&["x"], &["e"]).message,
        "a parameter named `e` would shadow the constant e = 2.71828…; rename the parameter"
    );
    assert_eq!(c(&["x", "x"], &[]).message, "variable `x` is listed twice");
    assert_eq!(c(&[], &["a", "a"]).message, "parameter `a` is listed twice");
    assert_eq!(
        c(&["a"], &["a"]).message,
        "name `a` is used for both a variable and a parameter"
    );
    assert_eq!(
        c(&["2x"], &[]).message,
        "invalid variable name `2x`: use letters, digits and `_`, not starting with a digit"
    );
    assert_eq!(c(&["pi"], &[]).span, None);
    assert_eq!(
        c(&["pi"], &[]).to_string(),
        "a variable named `pi` would shadow the constant pi = 3.14159…; rename the variable"
    );
    // A variable may be named like a function; calls still mean the function.
    let p = Program::compile("sin(sin)", &names(&["sin"]), &[]).unwrap();
    assert_relative_eq!(p.eval(&[0.5]), 0.5f64.sin());
}

#[test]
fn limits() {
    let long = "x+".repeat(500_000) + "x";
    let e = err(&long);
    assert_eq!(
        e.message,
        "expression is too long: 1000001 bytes (limit 100000)"
    );
    assert_eq!(e.span, None);
    assert_eq!(e.to_string(), e.message);

    let deep = "(".repeat(10_000) + "x" + &")".repeat(10_000);
    let e = err(&deep);
    assert_eq!(
        e.message,
        "expression nests too deeply: 10000 levels of parentheses (limit 200)"
    );
    assert_eq!(e.span, Some((200, 201)));
    // The display is a window around the caret, not 20000 characters.
    let shown = e.to_string();
    assert!(shown.len() < 500, "{}", shown.len());
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3);
    let caret = lines[2].find('^').unwrap();
    assert_eq!(&lines[1][caret..caret + 1], "(");
    assert!(lines[1].starts_with("  ...") && lines[1].ends_with("..."));

    // Function parentheses count too.
    let deep_fn = "sin(".repeat(201) + "x" + &")".repeat(201);
    assert!(
        err(&deep_fn)
            .message
            .starts_with("expression nests too deeply: 201 levels")
    );
    // Exactly at the limit is fine.
    let ok = "(".repeat(200) + "x" + &")".repeat(200);
    assert_eq!(prog(&ok).eval(&[2.0, 0.0]), 2.0);
    let ok_fn = "-sin(".repeat(200) + "x" + &")".repeat(200);
    let p = prog(&ok_fn);
    assert!(
        p.eval(&[Dual64::new(0.3, 1.0), Dual64::from(0.0)])
            .eps
            .is_finite()
    );

    // Just under the byte limit, long flat expressions compile and run without recursion.
    let flat = "-".repeat(99_998) + "x";
    assert_eq!(prog(&flat).eval(&[2.0, 0.0]), 2.0);
    let sum = "x+".repeat(49_999) + "x";
    assert_eq!(sum.len(), 99_999);
    assert_eq!(prog(&sum).eval(&[1.0, 0.0]), 50_000.0);
    let pow = "x^".repeat(49_999) + "x";
    let pp = prog(&pow);
    assert!(pp.max_stack_depth() >= 50_000);
    assert_eq!(pp.eval(&[1.0, 0.0]), 1.0);
    // Error display for a long source near its end.
    let e = err(&(sum.clone() + "+x"));
    assert!(e.message.starts_with("expression is too long"));
    let mut bad = "x+".repeat(1000);
    bad.push('$');
    let shown = err(&bad).to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[1].starts_with("  ...") && !lines[1].ends_with("..."));
    let caret = lines[2].find('^').unwrap();
    assert_eq!(&lines[1][caret..caret + 1], "$");
}

#[test]
fn free_symbols_in_order() {
    let known = names(&["mu"]);
    assert_eq!(
        free_symbols("b*x + exp(-(y - mu)^2) + x * pi * e + a", &known).unwrap(),
        vec!["b", "x", "y", "a"]
    );
    // Function names in call position are not symbols, bare ones neither.
    assert_eq!(
        free_symbols("sin(t) + max(u, 1) + cos", &[]).unwrap(),
        vec!["t", "u"]
    );
    assert_eq!(free_symbols("1 + 2", &[]).unwrap(), Vec::<String>::new());
    let e = free_symbols("x + ", &[]).unwrap_err();
    assert_eq!(e.message, "missing operand after `+`");
    assert_eq!(
        free_symbols(" ", &[]).unwrap_err().message,
        "empty expression"
    );
    // free_symbols does not check function names; compile does.
    assert_eq!(free_symbols("foo(x)", &[]).unwrap(), vec!["x"]);
}

/// The span lexer must accept exactly what meval accepts, with the same tokens and the
/// same error positions. Exhaustive over short strings from a small alphabet, plus a
/// pseudo-random sample of longer ones.
#[test]
fn span_lexer_agrees_with_meval() {
    use meval::tokenizer::{ParseError, tokenize};
    let alphabet: Vec<char> = " \t()+-*/^%,.e1x2!sin_é$E".chars().collect();
    let check = |s: &str| {
        if s.bytes().all(is_ws) {
            return; // meval panics on these; we reject them before calling it
        }
        let ours = lex(s);
        let theirs = tokenize(s);
        match (&ours, &theirs) {
            (Ok(l), Ok(t)) => {
                assert_eq!(l.toks.len(), t.len(), "{s:?}");
                for (a, b) in l.toks.iter().zip(t) {
                    let kind = match b {
                        Token::Number(_) => Kind::Number,
                        Token::Var(_) => Kind::Ident,
                        Token::Func(..) => Kind::Func,
                        Token::Unary(_) => Kind::Unary,
                        Token::Binary(_) => Kind::Binary,
                        Token::LParen => Kind::LParen,
                        Token::RParen => Kind::RParen,
                        Token::Comma => Kind::Comma,
                    };
                    assert_eq!(a.kind, kind, "{s:?}");
                }
                // meval's shunting-yard accepts everything its tokenizer accepts
                let expr: meval::Expr = s.parse().unwrap();
                let nfun = expr.iter().filter(|t| matches!(t, Token::Func(..))).count();
                assert_eq!(nfun, l.calls.len(), "{s:?}");
                let nopd = expr
                    .iter()
                    .filter(|t| matches!(t, Token::Var(_) | Token::Number(_)))
                    .count();
                assert_eq!(nopd, l.operands.len(), "{s:?}");
            }
            (Err(e), Err(ParseError::UnexpectedToken(i))) => {
                assert_eq!(e.span.map(|s| s.0), Some(*i), "{s:?}: {e}");
            }
            (Err(e), Err(ParseError::MissingRParen(_))) => {
                assert_eq!(e.message, "unclosed `(`", "{s:?}");
            }
            (Err(e), Err(ParseError::MissingArgument)) => {
                assert!(e.message.starts_with("missing operand after"), "{s:?}: {e}");
            }
            _ => panic!(
                "disagreement on {s:?}: ours {:?}, meval {:?}",
                ours.map(|l| l.toks),
                theirs
            ),
        }
    };
    // exhaustive up to length 4
    let k = alphabet.len();
    let mut buf = String::new();
    for len in 1..=4u32 {
        for mut code in 0..k.pow(len) {
            buf.clear();
            for _ in 0..len {
                buf.push(alphabet[code % k]);
                code /= k;
            }
            check(&buf);
        }
    }
    // random longer strings, biased towards valid-looking input
    let pieces = [
        "x", "2", "1.5e-3", "sin(", "max(", "(", ")", ",", "+", "-", "*", "^", " ", "e", "2.", "y",
        "!", "$", "1e", "\n",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200_000 {
        buf.clear();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = 1 + (state % 14) as usize;
        let mut t = state;
        for _ in 0..n {
            t = t
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            buf.push_str(pieces[((t >> 33) % pieces.len() as u64) as usize]);
        }
        check(&buf);
    }
}

#[test]
fn snippet_windows() {
    let e = ExprError::new("abc", "m", Some((3, 3)));
    assert_eq!(e.to_string(), "m\n  abc\n     ^");
    let e = ExprError::new("a\nb", "m", Some((2, 3)));
    assert_eq!(e.to_string(), "m\n  a b\n    ^");
    let e = ExprError::new("abc", "m", None);
    assert_eq!(e.to_string(), "m");
    // spans that are out of range or inside a char do not panic
    let e = ExprError::new("é", "m", Some((1, 9)));
    assert_eq!(e.to_string(), "m\n  é\n  ^");
    // long sources: a 160-char window with `...` at the cut ends
    let long: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let show = |span| {
        let e = ExprError::new(&long, "m", Some(span));
        let text = e.to_string();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let caret = lines[2].find('^').unwrap();
        let width = lines[2].len() - caret;
        (lines[1].clone(), caret, width)
    };
    let (line, caret, width) = show((0, 2));
    assert!(line.starts_with("  abc") && line.ends_with("..."));
    assert_eq!((caret, width), (2, 2));
    assert_eq!(line.len(), 2 + 160 + 3);
    let (line, caret, width) = show((150, 153));
    assert!(line.starts_with("  ...") && line.ends_with("..."));
    assert_eq!(&line[caret..caret + 3], &long[150..153]);
    assert_eq!(width, 3);
    let (line, caret, width) = show((299, 300));
    assert!(line.starts_with("  ...") && !line.ends_with("..."));
    assert_eq!(&line[caret..], &long[299..]);
    assert_eq!(width, 1);
    let (line, caret, width) = show((300, 300));
    assert_eq!((caret, width), (line.len(), 1));
    // a span running past the window end is cut there
    let (line, caret, width) = show((10, 290));
    assert_eq!(caret + width, line.len() - 3);
    // a function token spanning a line break is quoted on one line
    let e = err("sin\n(");
    assert_eq!(e.message, "missing operand after `sin (`");
    assert_eq!(
        e.to_string(),
        "missing operand after `sin (`\n  sin (\n  ^^^^^"
    );
}
