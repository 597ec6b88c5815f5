//! The special functions of the expression language against independent values: mpmath at
//! 60 digits (`scripts/special_values.py`, values in `tests/data/special_values.tsv`: f and
//! its first three derivatives by mpmath's numerical differentiation) and closed forms derived
//! in the comments. Values with `f64`; first, second and third derivatives with `Dual64`,
//! `Dual2_64` and `Dual3_64`, and first and mixed second derivatives with `HyperDual64`.

use num_dual::{Dual2_64, Dual3_64, Dual64, HyperDual64};
use scorecheck::{FUNCTIONS, Program};

const TABLE: &str = include_str!("../data/special_values.tsv");

fn prog(src: &str) -> Program {
    Program::compile(src, &["x".to_string()], &[]).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// Relative error of `got` against `want`, measured against `max(|want|, floor)`.
fn rel(got: f64, want: f64, floor: f64) -> f64 {
    if got == want {
        return 0.0;
    }
    (got - want).abs() / want.abs().max(floor)
}

/// The tolerance each function's values and derivatives are held to (relative; `floor` is the
/// scale below which the error is taken as absolute). Where a derivative is wider, the
/// reason is given.
fn tolerance(name: &str, order: usize, x: f64) -> (f64, f64) {
    match (name, order) {
        // lognormcdf'' = -m(x + m) with m = φ/Φ = exp(ln φ - ln Φ) ≈ -x: for -10 < x < 0 the
        // exponent carries |ln Φ|·1e-16 of absolute error and x + m cancels x² of it
        // (x⁴ for the third derivative); below -10 both come from the asymptotic series
        // without cancellation.
        ("lognormcdf", 2) if (-10.0..0.0).contains(&x) => {
            (1e-13 + 3e-16 * x * x * (1.0 + 0.5 * x * x), 1e-300)
        }
        // The third derivative, -f''(x + 2m) - m, cancels once more (about x⁶·|ln Φ|·1e-16,
        // up to ~5e-10 near -10); the checks use derivatives up to the second order only.
        ("lognormcdf", 3) if (-10.0..0.0).contains(&x) => (1e-9, 1e-300),
        // digamma (statrs) loses digits near its root 1.4616 (absolute error ≈ 1e-15).
        ("lgamma", 1) => (1e-13, 1.0),
        ("gamma", _) => (1e-12, 1e-300),
        // libm's erfc far in its upper tail (erfc(21) ≈ 1e-198) is good to a few 1e-14.
        ("lognormcdf" | "erfc" | "normcdf", 0) => (5e-14, 1e-300),
        (_, 0) => (1e-14, 1e-300),
        (_, 1) | (_, 2) => (1e-13, 1e-300),
        _ => (1e-11, 1e-300),
    }
}

#[test]
fn functions_match_mpmath_with_derivatives() {
    let mut rows = 0;
    let mut worst: Vec<(f64, String)> = vec![];
    for line in TABLE.lines().filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let name = cols[0];
        let x: f64 = cols[1].parse().unwrap();
        let want: Vec<f64> = cols[2..6].iter().map(|v| v.parse().unwrap()).collect();
        // mpmath's numerical derivatives of an exact 0 are ~1e-74 noise: errors are absolute
        // below 1e-40 of the row's largest entry (and below 1e-300, where f64 underflows).
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let row_floor = (1e-40 * scale).max(1e-300);
        let p = prog(&format!("{name}(x)"));
        let v = p.eval(&[x]);
        let d1 = p.eval(&[Dual64::from(x).derivative()]);
        let d2 = p.eval(&[Dual2_64::from(x).derivative()]);
        let d3 = p.eval(&[Dual3_64::from(x).derivative()]);
        let hd = p.eval(&[HyperDual64::new(x, 1.0, 1.0, 0.0)]);
        let got: [(usize, f64, &str); 11] = [
            (0, v, "f64"),
            (0, d1.re, "Dual64 re"),
            (1, d1.eps, "Dual64"),
            (1, d2.v1, "Dual2 v1"),
            (2, d2.v2, "Dual2 v2"),
            (1, d3.v1, "Dual3 v1"),
            (2, d3.v2, "Dual3 v2"),
            (3, d3.v3, "Dual3 v3"),
            (1, hd.eps1, "HyperDual eps1"),
            (1, hd.eps2, "HyperDual eps2"),
            (2, hd.eps1eps2, "HyperDual eps1eps2"),
        ];
        for (order, g, what) in got {
            let (tol, floor) = tolerance(name, order, x);
            let floor = floor.max(row_floor);
            let e = rel(g, want[order], floor);
            assert!(
                e <= tol,
                "{name}({x}) {what}: got {g:e}, mpmath {:e} (rel. error {e:.1e} > {tol:.1e})",
                want[order]
            );
            worst.push((e, format!("{name}({x}) {what}")));
        }
        rows += 1;
    }
    assert!(rows >= 80, "only {rows} rows read");
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    eprintln!("largest errors: {:?}", &worst[..5]);
}

#[test]
fn stable_where_the_naive_formula_is_not() {
    // softplus(800) = 800 + ln(1 + e^-800) = 800 in f64; naive ln(1 + e^800) = inf.
    assert_eq!(prog("softplus(x)").eval(&[800.0]), 800.0);
    // logsumexp(-1000, -1000) = -1000 + ln 2.
    let v = prog("logsumexp(-1000, x)").eval(&[-1000.0]);
    assert!(
        (v - (-1000.0 + std::f64::consts::LN_2)).abs() <= 1e-12,
        "{v}"
    );
    let v = prog("logaddexp(x, -1000)").eval(&[-1000.0]);
    assert!(
        (v - (-1000.0 + std::f64::consts::LN_2)).abs() <= 1e-12,
        "{v}"
    );
    // lognormcdf(-40) ≈ -804.608 (mpmath: -804.60844201375379), not -inf.
    let v: f64 = prog("lognormcdf(x)").eval(&[-40.0]);
    assert!((v + 804.608_442_013_753_8).abs() <= 1e-11, "{v}");
    // Derivatives of sigmoid and logsigmoid stay finite (and right) at ±800:
    // σ'(±800) = σ(1-σ) = e^-800 underflows to 0; logsigmoid'(x) = σ(-x) = 1 at -800, 0 at 800;
    // logsigmoid''(x) = -σσ̄ = 0 (underflow) at both.
    for x in [-800.0, 800.0] {
        let s = prog("sigmoid(x)").eval(&[Dual2_64::from(x).derivative()]);
        assert!(
            s.v1.is_finite() && s.v2.is_finite(),
            "sigmoid at {x}: {s:?}"
        );
        assert_eq!((s.v1, s.v2), (0.0, 0.0));
        let l = prog("logsigmoid(x)").eval(&[Dual2_64::from(x).derivative()]);
        assert!(l.re.is_finite() && l.v1.is_finite() && l.v2.is_finite());
        assert_eq!(l.v1, if x < 0.0 { 1.0 } else { 0.0 });
        assert_eq!(l.re, if x < 0.0 { -800.0 } else { 0.0 });
        let sp = prog("softplus(x)").eval(&[Dual2_64::from(x).derivative()]);
        assert_eq!(sp.v1, if x < 0.0 { 0.0 } else { 1.0 });
    }
}

/// (value, d/dx, d²/dx², d/dy, d²/dxdy) of a two-argument expression in (x, y).
fn two(src: &str, x: f64, y: f64) -> [f64; 5] {
    let p = Program::compile(src, &["x".to_string(), "y".to_string()], &[]).unwrap();
    let dx = p.eval(&[Dual2_64::from(x).derivative(), Dual2_64::from(y)]);
    let h = p.eval(&[
        HyperDual64::new(x, 1.0, 0.0, 0.0),
        HyperDual64::new(y, 0.0, 1.0, 0.0),
    ]);
    [dx.re, dx.v1, dx.v2, h.eps2, h.eps1eps2]
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1e-300) || g == w,
            "{what} [{i}]: got {g:e}, want {w:e}"
        );
    }
}

#[test]
fn two_argument_functions_against_closed_forms() {
    for &(x, y) in &[
        (0.3f64, -1.2f64),
        (-4.0, 2.5),
        (700.0, -690.0),
        (-1e3, -1e3 + 1.0),
    ] {
        // logaddexp(x, y) = ln(e^x + e^y) = m + ln(1 + e^(n-m)) (m = max, n = min).
        // d/dx = e^x/(e^x + e^y) = σ(x - y); d²/dx² = σ(x-y)σ(y-x); d/dy = σ(y - x);
        // d²/dxdy = -σ(x-y)σ(y-x).
        let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
        let (m, n) = (x.max(y), x.min(y));
        let v = m + (n - m).exp().ln_1p();
        let (a, b) = (sig(x - y), sig(y - x));
        let want = [v, a, a * b, b, -a * b];
        close(&two("logaddexp(x, y)", x, y), &want, 1e-13, "logaddexp");
        close(&two("logsumexp(x, y)", x, y), &want, 1e-13, "logsumexp2");
        // logsumexp(x, y, y) = ln(e^x + 2e^y) = logaddexp(x, y + ln 2).
        let v3 = m.max(y + std::f64::consts::LN_2);
        let lo = (x).min(y + std::f64::consts::LN_2);
        let v3 = v3 + (lo - v3).exp().ln_1p();
        let (a3, b3) = (
            sig(x - y - std::f64::consts::LN_2),
            sig(y + std::f64::consts::LN_2 - x),
        );
        close(
            &two("logsumexp(x, y, y)", x, y),
            &[v3, a3, a3 * b3, b3, -a3 * b3],
            1e-13,
            "logsumexp3",
        );
    }
    for &(x, y) in &[
        (3.0f64, 4.0f64),
        (-1e90, 2e90),
        (-1e120, 2e120),
        (1e-120, -3e-120),
        (0.5, -0.25),
    ] {
        // hypot = r = √(x² + y²); d/dx = x/r; d²/dx² = y²/r³; d/dy = y/r; d²/dxdy = -xy/r³.
        let sc = x.abs().max(y.abs());
        let r = sc * ((x / sc).powi(2) + (y / sc).powi(2)).sqrt();
        let want = [
            r,
            x / r,
            (y / r) * (y / r) / r,
            y / r,
            -(x / r) * (y / r) / r,
        ];
        close(&two("hypot(x, y)", x, y), &want, 1e-14, "hypot");
    }
    // pow(x, y) is x^y: d/dx = y x^(y-1), d/dy = x^y ln x, d²/dxdy = x^(y-1)(1 + y ln x).
    let (x, y) = (1.7f64, 2.3f64);
    let want = [
        x.powf(y),
        y * x.powf(y - 1.0),
        y * (y - 1.0) * x.powf(y - 2.0),
        x.powf(y) * x.ln(),
        x.powf(y - 1.0) * (1.0 + y * x.ln()),
    ];
    close(&two("pow(x, y)", x, y), &want, 1e-14, "pow");
    close(&two("x ** y", x, y), &want, 1e-14, "**");
    close(&two("np.power(x, y)", x, y), &want, 1e-14, "np.power");
    // pow with a constant integer exponent is exact like ^: x^3 at -2 is -8, 12, -12.
    assert_eq!(two("pow(x, 3)", -2.0, 0.0)[..3], [-8.0, 12.0, -12.0]);
}

#[test]
fn sign_and_aliases() {
    let p = prog("sign(x)");
    assert_eq!(p.eval(&[-2.0]), -1.0);
    assert_eq!(p.eval(&[3.0]), 1.0);
    assert_eq!(p.eval(&[Dual64::from(3.0).derivative()]).eps, 0.0);
    // log is ln; numpy's names.
    for (a, b) in [
        ("log(x)", "ln(x)"),
        ("np.log(x)", "ln(x)"),
        ("math.log1p(x)", "log1p(x)"),
        ("arctan2(x, 1)", "atan2(x, 1)"),
        ("numpy.arcsinh(x)", "asinh(x)"),
        ("torch.sigmoid(x)", "sigmoid(x)"),
        ("jnp.exp(x)", "exp(x)"),
    ] {
        for x in [0.3, 2.0] {
            assert_eq!(prog(a).eval(&[x]), prog(b).eval(&[x]), "{a} vs {b}");
        }
    }
}

#[test]
fn function_table_is_complete() {
    // Every listed function compiles with its arity, and its name is reported by the
    // did-you-mean of a near miss.
    use scorecheck::Arity;
    for &(name, arity) in FUNCTIONS {
        let n = match arity {
            Arity::Exactly(k) => k,
            Arity::AtLeast(k) => k + 2,
        };
        let args = vec!["x"; n].join(", ");
        let src = format!("{name}({args})");
        let p = prog(&src);
        let _ = p.eval(&[Dual64::from(0.7).derivative()]).re;
    }
}
