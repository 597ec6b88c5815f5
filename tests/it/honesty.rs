//! Honesty under random cases with known answers: no verdict is ever wrong, and every
//! reported error estimate covers the real error. Cases the tool cannot decide must say so.
//!
//! The exact answers come from polynomial algebra on moments, independent of quadrature:
//! every polynomial is rewritten in `t = x − c` about a centre `c` so that no reference value
//! suffers cancellation, and the moments of `t` are
//! - `N(μ, σ²)` on the line, `c = μ`: `E t^{2j} = σ^{2j}(2j − 1)!!`, odd moments 0;
//! - `Exp(λ)` on `[L, ∞)`, `c = L`: `E t^k = k!/λ^k`; `∂log p = −λ`, boundary `−λ s(L)`;
//! - uniform on `[L, U]`, `c` the midpoint, `w = (U − L)/2`: `E t^{2j} = w^{2j}/(2j + 1)`;
//!   `∂log p = 0`, boundary `(s(U) − s(L))/(U − L)`.
//!
//! With `g = ∂log p`: lhs = E[s g], rhs = −E[s'], esm = ½E(s − g)², ism = E[½s² + s'],
//! const = ½E g². For the Gaussian, `g = −(x − μ)/σ²` is itself a polynomial.
//!
//! Counts of decided and undecided outcomes are printed with `--nocapture`.

use crate::common::proptest_config;
use proptest::prelude::*;
use scorecheck::CheckOptions;
use scorecheck::parse_case;
use scorecheck::{Boundary, Ibp, ObjectiveVerdict, Quantity, Report};

/// Polynomials as coefficient vectors, lowest degree first.
type Poly = Vec<f64>;

fn mul(a: &Poly, b: &Poly) -> Poly {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

fn add(a: &Poly, b: &Poly, sb: f64) -> Poly {
    let mut out = vec![0.0; a.len().max(b.len())];
    for (i, x) in a.iter().enumerate() {
        out[i] += x;
    }
    for (i, y) in b.iter().enumerate() {
        out[i] += sb * y;
    }
    out
}

fn deriv(a: &Poly) -> Poly {
    if a.len() <= 1 {
        return vec![0.0];
    }
    a.iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| i as f64 * c)
        .collect()
}

fn at(a: &Poly, x: f64) -> f64 {
    a.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

/// The polynomial `a` in `t = v − c`, as an expression in the variable `v`.
fn expr(a: &Poly, c: f64, v: &str) -> String {
    let terms: Vec<String> = a
        .iter()
        .enumerate()
        .map(|(i, k)| format!("({k:e})*({v} - ({c:e}))^{i}"))
        .collect();
    terms.join(" + ")
}

/// `E x^k` for k = 0..n under the three densities.
enum Law {
    Gauss { mu: f64, sigma: f64 },
    Exp { lo: f64, rate: f64 },
    Uniform { lo: f64, hi: f64 },
}

impl std::fmt::Debug for Law {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.log("x"))
    }
}

impl Law {
    /// Where the moments are centred: t = x − centre keeps the reference free of cancellation.
    fn centre(&self) -> f64 {
        match *self {
            Law::Gauss { mu, .. } => mu,
            Law::Exp { lo, .. } => lo,
            Law::Uniform { lo, hi } => 0.5 * (lo + hi),
        }
    }
    /// `E t^k` for k = 0..=n.
    fn moments(&self, n: usize) -> Vec<f64> {
        (0..=n)
            .map(|k| match *self {
                // E (σz)^k = σ^k (k − 1)!! for even k
                Law::Gauss { sigma, .. } => {
                    if k % 2 == 1 {
                        0.0
                    } else {
                        sigma.powi(k as i32) * (1..k).step_by(2).map(|v| v as f64).product::<f64>()
                    }
                }
                Law::Exp { rate, .. } => fact(k) / rate.powi(k as i32),
                Law::Uniform { lo, hi } => {
                    let w = 0.5 * (hi - lo);
                    if k % 2 == 1 {
                        0.0
                    } else {
                        w.powi(k as i32) / (k as f64 + 1.0)
                    }
                }
            })
            .collect()
    }
    /// ∂log p as a polynomial in t.
    fn score(&self) -> Poly {
        match *self {
            Law::Gauss { sigma, .. } => vec![0.0, -1.0 / (sigma * sigma)],
            Law::Exp { rate, .. } => vec![-rate],
            Law::Uniform { .. } => vec![0.0],
        }
    }
    fn domain(&self) -> String {
        match *self {
            Law::Gauss { .. } => "[-inf, inf]".to_string(),
            Law::Exp { lo, .. } => format!("[{lo:e}, inf]"),
            Law::Uniform { lo, hi } => format!("[{lo:e}, {hi:e}]"),
        }
    }
    fn log(&self, v: &str) -> String {
        match *self {
            Law::Gauss { mu, sigma } => format!("-({v} - ({mu:e}))^2/(2*({sigma:e})^2)"),
            Law::Exp { rate, .. } => format!("-({rate:e})*{v}"),
            Law::Uniform { .. } => format!("0*{v}"),
        }
    }
    /// The boundary term, from q(t) = s(centre + t).
    fn boundary(&self, q: &Poly) -> f64 {
        match *self {
            Law::Gauss { .. } => 0.0,
            Law::Exp { rate, .. } => -rate * at(q, 0.0),
            Law::Uniform { lo, hi } => {
                let w = 0.5 * (hi - lo);
                (at(q, w) - at(q, -w)) / (hi - lo)
            }
        }
    }
}

fn fact(n: usize) -> f64 {
    (1..=n).map(|v| v as f64).product()
}

fn expect(p: &Poly, m: &[f64]) -> f64 {
    p.iter().zip(m).map(|(c, mk)| c * mk).sum()
}

/// A finite quantity carries a value whose error covers the truth. A missing value fails: a
/// caller skips a quantity only where it is legitimately left open, and says so at the call.
fn covers(q: &Quantity, exact: f64, what: &str, case: &str) {
    let (Some(v), Some(e)) = (q.value, q.error) else {
        panic!("{what}: exact {exact} but no value reported ({q:?})\n{case}");
    };
    assert!(
        (v - exact).abs() <= e,
        "{what}: value {v} exact {exact}: error {:.3e} > estimate {e:.3e}\n{case}",
        (v - exact).abs()
    );
}

/// `s` is given in `t = x − centre`, the form the case writes it in: the test measures the
/// quadrature, not rounding inside a badly conditioned expression (which no estimate of a
/// quadrature error can see: a polynomial in x that nearly cancels over the mass loses digits
/// in every evaluation, in the tool and in any reference alike).
fn check_law(law: Law, s: Poly) {
    check_product(vec![(law, s)]);
}

/// A product density, one law per variable, with a field whose component i is a polynomial in
/// variable i alone: every quantity separates into one-dimensional moments.
/// Returns whether every verdict was decided.
fn check_product(axes: Vec<(Law, Poly)>) -> bool {
    let names = ["x", "y"];
    let vars: Vec<String> = (0..axes.len())
        .map(|i| format!("\"{}\"", names[i]))
        .collect();
    let domain: Vec<String> = axes.iter().map(|(l, _)| l.domain()).collect();
    let log: Vec<String> = axes
        .iter()
        .enumerate()
        .map(|(i, (l, _))| l.log(names[i]))
        .collect();
    let field: Vec<String> = axes
        .iter()
        .enumerate()
        .map(|(i, (l, p))| format!("\"{}\"", expr(p, l.centre(), names[i])))
        .collect();
    let case = format!(
        "vars = [{}]\ndomain = [{}]\n[density]\nlog = \"{}\"\n[score]\nfield = [{}]\n",
        vars.join(", "),
        domain.join(", "),
        log.join(" + "),
        field.join(", ")
    );
    let spec = parse_case(&case, "random.toml", "random").unwrap();
    let compiled = spec.compile(&[], false).unwrap();
    let opts = CheckOptions {
        max_evals: if axes.len() > 1 {
            2_000_000
        } else {
            20_000_000
        },
        ..CheckOptions::default()
    };
    let r: Report = scorecheck::check_case(&compiled, &opts).unwrap();
    let (mut esm, mut ism, mut cst, mut btot, mut scale) = (0.0, 0.0, 0.0, 0.0, 1.0f64);
    for (i, (law, s)) in axes.iter().enumerate() {
        let g = law.score();
        let ds = deriv(s);
        let n = 2 * s.len().max(g.len()) + 2;
        let m = law.moments(n);
        let lhs = expect(&mul(s, &g), &m);
        let rhs = -expect(&ds, &m);
        let diff = add(s, &g, -1.0);
        esm += 0.5 * expect(&mul(&diff, &diff), &m);
        ism += expect(&add(&mul(s, s), &ds, 2.0), &m) * 0.5;
        cst += 0.5 * expect(&mul(&g, &g), &m);
        let b = law.boundary(s);
        btot += b;
        scale = scale.max(lhs.abs()).max(rhs.abs());
        let c = &r.components[i];
        covers(&c.lhs, lhs, "lhs", &case);
        covers(&c.rhs, rhs, "rhs", &case);
        covers(&c.boundary, b, "boundary", &case);
    }
    covers(&r.objective.esm, esm, "esm", &case);
    covers(&r.objective.ism, ism, "ism", &case);
    covers(&r.objective.constant, cst, "const", &case);
    covers(&r.cross.boundary, btot, "cross.boundary", &case);
    // Verdicts: never wrong; undecided is allowed and counted.
    let v = &r.verdict;
    assert_ne!(v.ibp, Ibp::Violated, "{case}\n{}", r.to_text());
    assert_ne!(
        v.objective,
        ObjectiveVerdict::Infinite,
        "{case}\n{}",
        r.to_text()
    );
    if btot.abs() > 1e-6 * scale {
        assert_ne!(v.boundary, Boundary::Vanishes, "{case}\n{}", r.to_text());
    } else if btot == 0.0 {
        assert_ne!(v.boundary, Boundary::Nonzero, "{case}\n{}", r.to_text());
    }
    v.ibp == Ibp::Holds
        && v.boundary != Boundary::Undecided
        && v.objective == ObjectiveVerdict::Finite
}

fn law() -> impl Strategy<Value = Law> {
    prop_oneof![
        (-20.0f64..20.0, -2.0f64..2.0).prop_map(|(mu, ls)| Law::Gauss {
            mu,
            sigma: ls.exp()
        }),
        (-10.0f64..10.0, -1.5f64..1.5).prop_map(|(lo, lr)| Law::Exp { lo, rate: lr.exp() }),
        (-10.0f64..10.0, 0.05f64..10.0).prop_map(|(lo, w)| Law::Uniform { lo, hi: lo + w }),
    ]
}

fn poly() -> impl Strategy<Value = Poly> {
    prop::collection::vec(-3.0f64..3.0, 1..=4)
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn gaussian_on_the_line(mu in -50.0f64..50.0, log_sigma in -3.0f64..3.0, s in poly()) {
        check_law(Law::Gauss { mu, sigma: log_sigma.exp() }, s);
    }

    #[test]
    fn exponential_on_a_half_line(lo in -20.0f64..20.0, log_rate in -2.0f64..2.0, s in poly()) {
        check_law(Law::Exp { lo, rate: log_rate.exp() }, s);
    }

    #[test]
    fn uniform_on_an_interval(lo in -10.0f64..10.0, width in 0.01f64..20.0, s in poly()) {
        check_law(Law::Uniform { lo, hi: lo + width }, s);
    }
}

/// 2-D products: every error covers and most cases are decided. 2-D cases cost 10–1000× a
/// 1-D one; a cubature budget of 2e6 evaluations keeps the run short, and a case it cannot
/// settle must then say "undecided" rather than guess.
#[test]
fn products_in_two_dimensions() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(12));
    let (decided, total) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&(law(), law(), poly(), poly()), |(a, b, s, t)| {
            total.set(total.get() + 1);
            if check_product(vec![(a, s), (b, t)]) {
                decided.set(decided.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    assert_decided("2-D products", (decided.get(), total.get()), 75);
}

/// Undecided is honest, but a tool that decided nothing would be useless: on well-posed
/// random 1-D cases at the default settings, at least 90% of the cases must be decided.
#[test]
fn most_cases_are_decided() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(96));
    let (decided, total) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&(law(), poly()), |(l, s)| {
            total.set(total.get() + 1);
            if check_product(vec![(l, s)]) {
                decided.set(decided.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    eprintln!("decided {} of {} random cases", decided.get(), total.get());
    assert!(
        decided.get() * 10 >= total.get() * 9,
        "decided {} of {}",
        decided.get(),
        total.get()
    );
}

// ---------------------------------------------------------------------------------------
// Laws on a half-line and an interval whose density may vanish or blow up at an end
// (issue 12): Gamma(k, θ) on (0, ∞) and Beta(a, b) on (0, 1), k, a, b in (0.3, 5), with a
// random polynomial field s(x) = Σ c_i x^i.
//
// Every quantity is a finite sum of coefficients times moments, which are closed forms:
// - Gamma: E x^n = θ^n Γ(k + n)/Γ(k), finite iff k + n > 0; g = (k − 1)/x − 1/θ.
// - Beta: E[x^m (1 − x)^n] = B(a + m, b + n)/B(a, b), finite iff a + m > 0 and b + n > 0;
//   g = (a − 1)/x − (b − 1)/(1 − x).
// A quantity whose sum has a nonzero coefficient on an infinite moment is infinite.
// The boundary term [p s] at the ends: p ~ x^{k−1} (Gamma, at 0), so p·s → 0 when k > 1, and
// grows without bound when k < 1 and s(0) ≠ 0; likewise at 0 with a, and at 1 with b and
// s(1) = Σ c_i. At ∞ (Gamma) it is 0.

/// Terms `coef · x^m (1 − x)^n`.
type Laurent = Vec<(f64, i32, i32)>;

fn lmul(a: &Laurent, b: &Laurent) -> Laurent {
    let mut out = vec![];
    for &(c, m, n) in a {
        for &(d, p, q) in b {
            out.push((c * d, m + p, n + q));
        }
    }
    out
}

fn poly_terms(s: &Poly) -> Laurent {
    s.iter()
        .enumerate()
        .map(|(i, c)| (*c, i as i32, 0))
        .collect()
}

#[derive(Debug)]
enum EndLaw {
    Gamma { k: f64, theta: f64 },
    Beta { a: f64, b: f64 },
}

impl EndLaw {
    fn gamma(x: f64) -> f64 {
        libm::tgamma(x)
    }
    /// E[x^m (1 − x)^n], or None when infinite. For Gamma only n = 0 occurs.
    fn moment(&self, m: i32, n: i32) -> Option<f64> {
        match *self {
            EndLaw::Gamma { k, theta } => {
                assert_eq!(n, 0);
                (k + m as f64 > 0.0)
                    .then(|| theta.powi(m) * (libm::lgamma(k + m as f64) - libm::lgamma(k)).exp())
            }
            EndLaw::Beta { a, b } => {
                let (am, bn) = (a + m as f64, b + n as f64);
                (am > 0.0 && bn > 0.0).then(|| {
                    Self::gamma(am) * Self::gamma(bn) * Self::gamma(a + b)
                        / (Self::gamma(am + bn) * Self::gamma(a) * Self::gamma(b))
                })
            }
        }
    }
    /// E of a Laurent sum, None when a term with a nonzero coefficient is infinite.
    fn expect(&self, t: &Laurent) -> Option<f64> {
        let mut sum = 0.0;
        // Like terms first, so that cancelling coefficients (s·g − s·g) count as zero.
        let mut merged: Vec<(f64, i32, i32)> = vec![];
        for &(c, m, n) in t {
            match merged.iter_mut().find(|(_, p, q)| *p == m && *q == n) {
                Some(e) => e.0 += c,
                None => merged.push((c, m, n)),
            }
        }
        for (c, m, n) in merged {
            if c == 0.0 {
                continue;
            }
            sum += c * self.moment(m, n)?;
        }
        Some(sum)
    }
    fn score(&self) -> Laurent {
        match *self {
            EndLaw::Gamma { k, theta } => vec![(k - 1.0, -1, 0), (-1.0 / theta, 0, 0)],
            EndLaw::Beta { a, b } => vec![(a - 1.0, -1, 0), (-(b - 1.0), 0, -1)],
        }
    }
    fn case(&self, s: &Poly) -> String {
        let field = expr(s, 0.0, "x");
        match *self {
            EndLaw::Gamma { k, theta } => format!(
                "domain = [[0, inf]]\n[density]\nlog = \"({:e})*ln(x) - x/({theta:e})\"\n[score]\nfield = [\"{field}\"]\n",
                k - 1.0
            ),
            EndLaw::Beta { a, b } => format!(
                "domain = [[0, 1]]\n[density]\nlog = \"({:e})*ln(x) + ({:e})*ln(1 - x)\"\n[score]\nfield = [\"{field}\"]\n",
                a - 1.0,
                b - 1.0
            ),
        }
    }
    /// The boundary term, None when p·s grows without bound at an end.
    fn boundary(&self, s: &Poly) -> Option<f64> {
        let s0 = s[0];
        let s1: f64 = s.iter().sum();
        // p·s at an end where p ~ r^e (normalised by Z): 0 for e > 0, unbounded for e < 0
        // unless s vanishes there (then s ~ r and p·s ~ r^{e+1} → 0, since e > −1).
        let at = |e: f64, sv: f64| {
            if e > 0.0 || sv == 0.0 {
                Some(0.0)
            } else {
                None
            }
        };
        match *self {
            EndLaw::Gamma { k, .. } => at(k - 1.0, s0).map(|v| -v),
            EndLaw::Beta { a, b } => Some(at(b - 1.0, s1)? - at(a - 1.0, s0)?),
        }
    }
}

/// Check one Gamma or Beta case against its closed forms; returns whether all verdicts
/// were decided, and whether the identity is testable (lhs, rhs and the boundary finite).
fn check_end_law(law: EndLaw, s: Poly) -> (bool, bool) {
    let case = law.case(&s);
    let spec = parse_case(&case, "random.toml", "random").unwrap();
    let r = scorecheck::check_case(&spec.compile(&[], false).unwrap(), &CheckOptions::default())
        .unwrap();
    let sp = poly_terms(&s);
    let g = law.score();
    let ds = poly_terms(&deriv(&s));
    let neg = |t: &Laurent| t.iter().map(|&(c, m, n)| (-c, m, n)).collect::<Laurent>();
    let lhs = law.expect(&lmul(&sp, &g));
    let rhs = law.expect(&neg(&ds));
    let mut diff = sp.clone();
    diff.extend(neg(&g));
    let esm = law.expect(&lmul(&diff, &diff)).map(|v| 0.5 * v);
    let mut isum: Laurent = lmul(&sp, &sp)
        .iter()
        .map(|&(c, m, n)| (0.5 * c, m, n))
        .collect();
    isum.extend(ds.clone());
    let ism = law.expect(&isum);
    let cst = law.expect(&lmul(&g, &g)).map(|v| 0.5 * v);
    let b = law.boundary(&s);
    let c = &r.components[0];
    let text = || format!("{case}\n{}", r.to_text());
    // Finite quantities: the error covers the truth; infinite ones never carry a value that
    // is called converged.
    for (q, exact, what) in [
        (&c.lhs, lhs, "lhs"),
        (&c.rhs, rhs, "rhs"),
        (&c.boundary, b, "boundary"),
        (&r.objective.esm, esm, "esm"),
        (&r.objective.ism, ism, "ism"),
        (&r.objective.constant, cst, "const"),
    ] {
        match exact {
            // A finite integral is never called diverging (one whose integrand falls like
            // x^-0.96 at an end was, before issue 13: now it is not converged, with an error
            // that covers).
            Some(v) => covers(q, v, what, &case),
            None => assert!(
                q.status != scorecheck::Status::Ok,
                "{what} is infinite but reported {q:?}\n{}",
                text()
            ),
        }
    }
    let v = &r.verdict;
    assert_ne!(v.ibp, Ibp::Violated, "{}", text());
    let finite = esm.is_some() && ism.is_some() && cst.is_some();
    if finite {
        assert_ne!(v.objective, ObjectiveVerdict::Infinite, "{}", text());
    } else {
        assert_ne!(v.objective, ObjectiveVerdict::Finite, "{}", text());
    }
    match b {
        Some(bv) if bv.abs() > 1e-6 => assert_ne!(v.boundary, Boundary::Vanishes, "{}", text()),
        Some(0.0) => assert_ne!(v.boundary, Boundary::Nonzero, "{}", text()),
        None => assert_ne!(v.boundary, Boundary::Vanishes, "{}", text()),
        _ => {}
    }
    // Decided: every verdict settled (an identity that cannot be tested because lhs is
    // infinite counts as undecided, honestly).
    let decided = v.ibp != Ibp::Undecided
        && v.boundary != Boundary::Undecided
        && v.objective != ObjectiveVerdict::Undecided;
    if std::env::var("HONESTY_VERBOSE").is_ok() && !decided {
        eprintln!("undecided: {law:?} s = {s:?}: {:?}", r.explanations);
    }
    (decided, lhs.is_some() && rhs.is_some() && b.is_some())
}

fn end_law() -> impl Strategy<Value = EndLaw> {
    prop_oneof![
        (0.3f64..5.0, -1.0f64..1.0).prop_map(|(k, lt)| EndLaw::Gamma { k, theta: lt.exp() }),
        (0.3f64..5.0, 0.3f64..5.0).prop_map(|(a, b)| EndLaw::Beta { a, b }),
    ]
}

/// Random Gamma and Beta laws with random polynomial fields: no wrong verdict and every
/// error covering (checked in `check_end_law`), and a decided rate. Of 96 cases (fixed seed)
/// about half have an infinite lhs or an unbounded p·s at an end (k, a or b below 1 with s
/// not vanishing there, or a 1/x term against p ~ x^{k−1} with k ≤ 1): there the identity
/// cannot be tested and "undecided" is the honest ibp verdict. Of the testable cases at least
/// 75% must be decided (62 of 74 measured with the fixed seed, 61 before singular ends away
/// from 0 were integrated with a modelled sliver); of the 12 left, 8 are Beta laws with b a
/// little above 1, where the boundary limit of p·s ~ (1 − x)^{b−1} at x = 1, which f64
/// approaches only to an ulp, converges too slowly to settle, and 4 have esm or const (large,
/// 40 to 80) a little short of the tolerance.
#[test]
fn gamma_and_beta_laws_are_honest() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(96));
    let counts = std::cell::Cell::new([0u32; 4]); // all, decided, testable, testable+decided
    runner
        .run(&(end_law(), poly()), |(l, s)| {
            let (decided, testable) = check_end_law(l, s);
            let mut c = counts.get();
            c[0] += 1;
            c[1] += decided as u32;
            c[2] += testable as u32;
            c[3] += (testable && decided) as u32;
            counts.set(c);
            Ok(())
        })
        .unwrap();
    let [all, decided, testable, both] = counts.get();
    eprintln!(
        "gamma/beta: decided {decided} of {all} random cases; of the {testable} testable ones, {both} decided"
    );
    assert!(testable >= all / 3, "{testable} of {all} testable");
    assert!(
        both * 4 >= testable * 3,
        "decided {both} of {testable} testable"
    );
}
// 2-D families whose mass runs along curved ridges and rotated heavy tails (issue 13).
//
// Every case is written in coordinates (X, Y) = R(θ)(x − m), R(θ) = [[c, s], [−s, c]], so
// x = m + R(θ)ᵀ(X, Y) with the Jacobian 1: Z, E|∇log p|² and the law of (X, Y) do not depend
// on θ or m, and moments of x follow from those of (X, Y):
// E x = m + Rᵀ E(X, Y),  Cov x = Rᵀ Cov(X, Y) R.
// The field is linear, s(x) = A x + a, so ∂_i s_i = A_ii and, with the boundary terms 0
// (p·s decays at every infinite end for these laws),
//   lhs_i = rhs_i = −A_ii,   ism = ½E|s|² + tr A,   E|s|² = tr(A Σ Aᵀ) + |A μ + a|²,
//   const = ½E|∇log p|²,      esm = ism + const.
// ---------------------------------------------------------------------------------------

/// A linear field and the law's first two moments give everything but Z and the Fisher
/// information.
struct Linear {
    a: [[f64; 2]; 2],
    b: [f64; 2],
}

impl Linear {
    fn exprs(&self) -> [String; 2] {
        let r = |i: usize| {
            format!(
                "({:e})*x + ({:e})*y + ({:e})",
                self.a[i][0], self.a[i][1], self.b[i]
            )
        };
        [r(0), r(1)]
    }
    /// E|s|² for mean `mu` and covariance `sig` of x.
    #[allow(clippy::needless_range_loop)] // the sum written as in the formula
    fn mean_square(&self, mu: [f64; 2], sig: [[f64; 2]; 2]) -> f64 {
        let mut tr = 0.0;
        for i in 0..2 {
            for k in 0..2 {
                for l in 0..2 {
                    tr += self.a[i][k] * sig[k][l] * self.a[i][l];
                }
            }
        }
        let m: f64 = (0..2)
            .map(|i| {
                let v = self.a[i][0] * mu[0] + self.a[i][1] * mu[1] + self.b[i];
                v * v
            })
            .sum();
        tr + m
    }
}

/// `x = m + Rᵀ(X, Y)`: the moments of x from those of (X, Y), and the expressions of X, Y.
struct Placement {
    theta: f64,
    m: [f64; 2],
}

impl Placement {
    fn xy(&self) -> (String, String) {
        let (s, c) = self.theta.sin_cos();
        let (m0, m1) = (self.m[0], self.m[1]);
        (
            format!("(({c:e})*(x - ({m0:e})) + ({s:e})*(y - ({m1:e})))"),
            format!("((-({s:e}))*(x - ({m0:e})) + ({c:e})*(y - ({m1:e})))"),
        )
    }
    fn moments(&self, mean: [f64; 2], cov: [[f64; 2]; 2]) -> ([f64; 2], [[f64; 2]; 2]) {
        let (s, c) = self.theta.sin_cos();
        // Rᵀ = [[c, −s], [s, c]]
        let rt = [[c, -s], [s, c]];
        let mu = [
            self.m[0] + rt[0][0] * mean[0] + rt[0][1] * mean[1],
            self.m[1] + rt[1][0] * mean[0] + rt[1][1] * mean[1],
        ];
        let mut sig = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..2 {
                    for l in 0..2 {
                        sig[i][j] += rt[i][k] * cov[k][l] * rt[j][l];
                    }
                }
            }
        }
        (mu, sig)
    }
}

/// What a 2-D case must report, with its exact values.
struct Exact2 {
    z: f64,
    lhs: [f64; 2],
    esm: f64,
    ism: f64,
    cst: f64,
}

/// Run a 2-D case and check it against `ex`; returns whether every verdict was decided.
fn check_exact_2d(log: &str, field: &Linear, ex: &Exact2) -> bool {
    check_exact_nd(log, &field.exprs(), ex, 0)
}

/// [`check_exact_2d`] with `extra` standard Gaussian coordinates z, w appended: the density
/// gains −z²/2 (−w²/2) and the field −z (−w), the exact score of those coordinates. Z gains
/// a factor √(2π) each; for each, lhs = rhs = −∂_z(−z) = 1, ½E z² + ∂_z(−z) = ½ − 1 adds −½
/// to ism, ½E z² = ½ to const, and esm (s − ∇log p = 0 there) is unchanged.
fn check_exact_nd(log: &str, field: &[String; 2], ex: &Exact2, extra: usize) -> bool {
    let [f0, f1] = field;
    let names = ["z", "w"];
    let mut vars = "\"x\", \"y\"".to_string();
    let mut log = log.to_string();
    let mut fields = format!("\"{f0}\", \"{f1}\"");
    for v in &names[..extra] {
        vars += &format!(", \"{v}\"");
        log += &format!(" - {v}^2/2");
        fields += &format!(", \"-{v}\"");
    }
    let g = extra as f64;
    let ex = &Exact2 {
        z: ex.z * (2.0 * std::f64::consts::PI).powf(0.5 * g),
        lhs: ex.lhs,
        esm: ex.esm,
        ism: ex.ism - 0.5 * g,
        cst: ex.cst + 0.5 * g,
    };
    let case =
        format!("vars = [{vars}]\n[density]\nlog = \"{log}\"\n[score]\nfield = [{fields}]\n");
    let compiled = compile_case(&case);
    let opts = CheckOptions {
        max_evals: family_budget(),
        ..CheckOptions::default()
    };
    let start = std::time::Instant::now();
    let r: Report = scorecheck::check_case(&compiled, &opts).unwrap();
    let elapsed = start.elapsed();
    covers(&r.normalizer, ex.z, "Z", &case);
    for (i, c) in r.components.iter().enumerate() {
        let lhs = if i < 2 { ex.lhs[i] } else { 1.0 };
        covers(&c.lhs, lhs, "lhs", &case);
        covers(&c.rhs, lhs, "rhs", &case);
        covers(&c.boundary, 0.0, "boundary", &case);
    }
    covers(&r.objective.esm, ex.esm, "esm", &case);
    covers(&r.objective.ism, ex.ism, "ism", &case);
    covers(&r.objective.constant, ex.cst, "const", &case);
    let v = &r.verdict;
    assert_ne!(v.ibp, Ibp::Violated, "{case}\n{}", r.to_text());
    assert_ne!(v.boundary, Boundary::Nonzero, "{case}\n{}", r.to_text());
    assert_ne!(
        v.objective,
        ObjectiveVerdict::Infinite,
        "{case}\n{}",
        r.to_text()
    );
    let decided = v.ibp == Ibp::Holds
        && v.boundary == Boundary::Vanishes
        && v.objective == ObjectiveVerdict::Finite;
    if std::env::var("HONESTY_VERBOSE").is_ok() && !decided {
        eprintln!("undecided:\n{case}{:?}\n", r.notes);
    }
    if std::env::var("HONESTY_TIMES").is_ok() {
        // A measurement to read, not an assertion: `time` lines sort by their seconds.
        eprintln!(
            "time {:.3} s decided {decided} case {}",
            elapsed.as_secs_f64(),
            case.replace('\n', " | ")
        );
    }
    decided
}

/// The evaluation budget of a family case: 4e6, or `SCORECHECK_HONESTY_EVALS` (for example
/// the default 2e7 of `check`, to measure the families as users run them).
fn family_budget() -> u64 {
    std::env::var("SCORECHECK_HONESTY_EVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000_000)
}

/// The banana family: X ~ N(a, σ²), Y = b X² + U with U ~ N(0, v) independent of X, placed by
/// `pl`. log p̃ = −(X − a)²/(2σ²) − (Y − bX²)²/(2v), so Z = 2πσ√v. With the moments of X
/// (E X = a, E X² = a² + σ², E X³ = a³ + 3aσ², E X⁴ = a⁴ + 6a²σ² + 3σ⁴):
/// E Y = b E X², E XY = b E X³, E Y² = b² E X⁴ + v.
/// ∂_X log p̃ = −(X − a)/σ² + 2bX U/v and ∂_Y log p̃ = −U/v, so, U being independent of X with
/// E U = 0, E U² = v: E|∇log p̃|² = 1/σ² + 4b² E X²/v + 1/v (rotation-invariant).
/// Rosenbrock's −(1 − x)² − 5(y − x²)² is a = 1, σ² = 1/2, b = 1, v = 1/10; Haario's twisted
/// Gaussian is a = 0, σ = 10, b = −b_H, v = 1, m = (0, 3).
struct Banana {
    a: f64,
    sigma: f64,
    b: f64,
    v: f64,
    pl: Placement,
}

impl std::fmt::Debug for Banana {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.log())
    }
}

impl Banana {
    fn log(&self) -> String {
        let (x, y) = self.pl.xy();
        format!(
            "-({x} - ({a:e}))^2/(2*({s:e})^2) - ({y} - ({b:e})*{x}^2)^2/(2*({v:e}))",
            a = self.a,
            s = self.sigma,
            b = self.b,
            v = self.v
        )
    }
    fn exact(&self, f: &Linear) -> Exact2 {
        let (a, s2, b, v) = (self.a, self.sigma * self.sigma, self.b, self.v);
        let ex2 = a * a + s2;
        let ex3 = a * a * a + 3.0 * a * s2;
        let ex4 = a.powi(4) + 6.0 * a * a * s2 + 3.0 * s2 * s2;
        let (ey, exy, ey2) = (b * ex2, b * ex3, b * b * ex4 + v);
        let cov = [[s2, exy - a * ey], [exy - a * ey, ey2 - ey * ey]];
        let (mu, sig) = self.pl.moments([a, ey], cov);
        let ism = 0.5 * f.mean_square(mu, sig) + f.a[0][0] + f.a[1][1];
        let cst = 0.5 * (1.0 / s2 + 4.0 * b * b * ex2 / v + 1.0 / v);
        Exact2 {
            z: 2.0 * std::f64::consts::PI * self.sigma * v.sqrt(),
            lhs: [-f.a[0][0], -f.a[1][1]],
            esm: ism + cst,
            ism,
            cst,
        }
    }
}

/// One coordinate's law for the rotated products, each with unit scale:
/// - Student-t(ν): log p̃ = −(ν+1)/2·ln(1 + t²/ν), Z = √(νπ)Γ(ν/2)/Γ((ν+1)/2), mean 0,
///   variance ν/(ν−2); score −(ν+1)t/(ν+t²), and with w = t²/(ν+t²) ~ Beta(½, ν/2),
///   E[score²] = (ν+1)²/ν · E[w(1−w)] = (ν+1)²/ν · ν/((ν+1)(ν+3)) = (ν+1)/(ν+3).
/// - logistic: log p̃ = −|t| − 2 ln(1 + e^{−|t|}) (= −t − 2 ln(1 + e^{−t}), written so it does
///   not overflow), Z = 1, mean 0, variance π²/3; score −tanh(t/2) = 1 − 2F(t) with F(t) ~
///   U(0, 1), so E[score²] = E(2F − 1)² = 1/3.
/// - Gumbel: log p̃ = −t − e^{−t}, Z = 1, mean γ (Euler), variance π²/6; score e^{−t} − 1 with
///   e^{−t} ~ Exp(1), so E[score²] = Var Exp(1) = 1.
#[derive(Clone, Copy, Debug)]
enum Tail {
    Student(u32),
    Logistic,
    Gumbel,
}

/// Γ(n/2) for n ≥ 1 by Γ(½) = √π, Γ(1) = 1, Γ(x + 1) = xΓ(x).
fn gamma_half(n: u32) -> f64 {
    let mut g = if n.is_multiple_of(2) {
        1.0
    } else {
        std::f64::consts::PI.sqrt()
    };
    let mut x = if n.is_multiple_of(2) { 1.0 } else { 0.5 };
    while 2.0 * x < n as f64 {
        g *= x;
        x += 1.0;
    }
    g
}

impl Tail {
    fn log(&self, t: &str) -> String {
        match *self {
            Tail::Student(nu) => format!("-({}/2)*ln(1 + {t}^2/{nu})", nu + 1),
            Tail::Logistic => format!("(-abs({t}) - 2*ln(1 + exp(-abs({t}))))"),
            Tail::Gumbel => format!("(-{t} - exp(-{t}))"),
        }
    }
    /// (Z, mean, variance, E score²)
    fn facts(&self) -> (f64, f64, f64, f64) {
        use std::f64::consts::PI;
        match *self {
            Tail::Student(nu) => {
                let n = nu as f64;
                (
                    (n * PI).sqrt() * gamma_half(nu) / gamma_half(nu + 1),
                    0.0,
                    n / (n - 2.0),
                    (n + 1.0) / (n + 3.0),
                )
            }
            Tail::Logistic => (1.0, 0.0, PI * PI / 3.0, 1.0 / 3.0),
            Tail::Gumbel => (1.0, 0.577_215_664_901_532_9, PI * PI / 6.0, 1.0),
        }
    }
}

fn rotated_product(t1: Tail, t2: Tail, pl: &Placement, f: &Linear) -> (String, Exact2) {
    let (x, y) = pl.xy();
    let log = format!("{} + {}", t1.log(&x), t2.log(&y));
    let (z1, m1, v1, f1) = t1.facts();
    let (z2, m2, v2, f2) = t2.facts();
    let (mu, sig) = pl.moments([m1, m2], [[v1, 0.0], [0.0, v2]]);
    let ism = 0.5 * f.mean_square(mu, sig) + f.a[0][0] + f.a[1][1];
    let cst = 0.5 * (f1 + f2);
    (
        log,
        Exact2 {
            z: z1 * z2,
            lhs: [-f.a[0][0], -f.a[1][1]],
            esm: ism + cst,
            ism,
            cst,
        },
    )
}

fn linear() -> impl Strategy<Value = Linear> {
    (
        -2.0f64..-0.2,
        -2.0f64..-0.2,
        -0.5f64..0.5,
        -0.5f64..0.5,
        -1.0f64..1.0,
        -1.0f64..1.0,
    )
        .prop_map(|(a00, a11, a01, a10, b0, b1)| Linear {
            a: [[a00, a01], [a10, a11]],
            b: [b0, b1],
        })
}

fn placement() -> impl Strategy<Value = Placement> {
    (0.0f64..std::f64::consts::TAU, -3.0f64..3.0, -3.0f64..3.0)
        .prop_map(|(theta, m0, m1)| Placement { theta, m: [m0, m1] })
}

fn banana() -> impl Strategy<Value = Banana> {
    (0.25f64..2.0, 0.1f64..1.0, placement()).prop_map(|(b, v, pl)| Banana {
        a: 0.0,
        sigma: 1.0,
        b,
        v,
        pl,
    })
}

fn rosenbrock() -> impl Strategy<Value = Banana> {
    // −(a − x)²/(2σ²) − (y − b x²)²/(2v): the ridge y = b x² seen from x around a.
    (0.5f64..2.0, 0.4f64..1.0, 0.5f64..2.0, 0.05f64..0.5).prop_map(|(a, sigma, b, v)| Banana {
        a,
        sigma,
        b,
        v,
        pl: Placement {
            theta: 0.0,
            m: [0.0, 0.0],
        },
    })
}

fn haario() -> impl Strategy<Value = Banana> {
    // x ~ N(0, 100), y + b x² − 3 ~ N(0, 1).
    (0.01f64..0.1).prop_map(|b| Banana {
        a: 0.0,
        sigma: 10.0,
        b: -b,
        v: 1.0,
        pl: Placement {
            theta: 0.0,
            m: [0.0, 3.0],
        },
    })
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![
        (3u32..=10).prop_map(Tail::Student),
        Just(Tail::Logistic),
        Just(Tail::Gumbel),
    ]
}

/// Cases per family in the default run; `SCORECHECK_HONESTY_2D=N` runs N (the stress run).
fn family_cases() -> u32 {
    std::env::var("SCORECHECK_HONESTY_2D")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// Runs `n` cases of a family; returns (decided, total).
fn run_family<S: Strategy>(strategy: S, run: impl Fn(&S::Value) -> bool) -> (u32, u32)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(family_cases()));
    let (decided, total) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&strategy, |c| {
            total.set(total.get() + 1);
            if run(&c) {
                decided.set(decided.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    (decided.get(), total.get())
}

/// At least `min_percent` of a family's cases must be decided at the default tolerance
/// (within the test's budget of 4e6 evaluations per cubature).
fn assert_decided(name: &str, (decided, total): (u32, u32), min_percent: u32) {
    eprintln!("{name}: decided {decided} of {total}");
    assert!(
        decided * 100 >= total * min_percent,
        "{name}: decided {decided} of {total}"
    );
}

// Every reported error must cover; most cases are decided. Measured (issue 13): 8 of 8 in the
// default run, and 200 of 200 in a stress run at the default 20M evaluations (slowest 0.38–0.40 s,
// median 0.08 s), since a banana along a diagonal is integrated in its Hessian's axes
// (`pilot_frame`; before, the steepest ridges, b near 2 with v near 0.1, took up to 1.35 s and
// were undecided at this test's 4M).
#[test]
fn bananas_shifted_and_rotated() {
    let r = run_family((banana(), linear()), |(b, f)| {
        check_exact_2d(&b.log(), f, &b.exact(f))
    });
    assert_decided("banana", r, 60);
}

#[test]
fn rosenbrock_type_ridges() {
    let r = run_family((rosenbrock(), linear()), |(b, f)| {
        check_exact_2d(&b.log(), f, &b.exact(f))
    });
    assert_decided("rosenbrock", r, 90);
}

#[test]
fn haario_twisted_gaussians() {
    let r = run_family((haario(), linear()), |(b, f)| {
        check_exact_2d(&b.log(), f, &b.exact(f))
    });
    // Measured: 8 of 8 in the default run (6 of 8 before issue 13's probe fixes); 75 of 75 in
    // a stress run of 75 (70 before the mirrored-arms rule of frame.rs, test below).
    assert_decided("haario", r, 90);
}

/// The case file `case`, parsed and compiled.
fn compile_case(case: &str) -> scorecheck::Case {
    let spec = parse_case(case, "family.toml", "family").unwrap();
    spec.compile(&[], false).unwrap()
}

/// `check` at the default options on a case of `x, y` with the density `log` and the field.
fn check_2d(log: &str, field: [&str; 2]) -> (Report, String) {
    let case = format!(
        "vars = [\"x\", \"y\"]\n[density]\nlog = \"{log}\"\n[score]\nfield = [\"{}\", \"{}\"]\n",
        field[0], field[1]
    );
    let r = scorecheck::check_case(&compile_case(&case), &CheckOptions::default()).unwrap();
    (r, case)
}

const TURNED: &str = "axes of p's Hessian";

#[test]
fn a_diagonal_banana_turns_to_its_hessian_axes_and_a_rosenbrock_ridge_does_not() {
    // A banana in u = c x + s y, w = −s x + c y (c = cos 0.7, s = sin 0.7) around (0.5, −1):
    // log p̃ = −u²/2 − (w − 1.8u²)²/(2·0.15). Its Hessian at the mode (u = w = 0) is
    // diag(−1, −1/0.15) in (u, w), so its axes are the banana's own; there the ridge is a
    // parabola along an axis, and a pilot of Z finds it cheaper. Z = ∫e^{−u²/2} du ·
    // ∫e^{−t²/(2·0.15)} dt = 2π√0.15 (substituting t = w − 1.8u² at fixed u).
    let (c, s) = (0.7f64.cos(), 0.7f64.sin());
    let u = format!("(({c:e})*(x - 0.5) + ({s:e})*(y + 1))");
    let w = format!("((-{s:e})*(x - 0.5) + ({c:e})*(y + 1))");
    let log = format!("-{u}^2/2 - ({w} - 1.8*{u}^2)^2/(2*0.15)");
    let (r, case) = check_2d(&log, ["-x", "-y"]);
    // Turned by the pilot: a banana is not a quadratic form.
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains(TURNED) && n.contains("Z to a relative")),
        "not turned by the pilot: {:?}",
        r.notes
    );
    covers(
        &r.normalizer,
        2.0 * std::f64::consts::PI * 0.15f64.sqrt(),
        "Z",
        &case,
    );
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{:?}", r.explanations);
    // Rosenbrock's −(1 − x)² − 100(y − x²)²: its Hessian at (1, 1) is turned by 26° from the
    // axes, but its ridge y = x² bends away from those axes and is a parabola in the
    // coordinates, where Z costs less. Z = ∫e^{−(1−x)²} dx · ∫e^{−100t²} dt = √π·√(π/100) = π/10.
    let (r, case) = check_2d(
        "-(1-x)^2 - 100*(y - x^2)^2",
        ["2*(1-x) + 400*x*(y - x^2)", "-200*(y - x^2)"],
    );
    assert!(
        !r.notes.iter().any(|n| n.contains(TURNED)),
        "turned: {:?}",
        r.notes
    );
    covers(&r.normalizer, std::f64::consts::PI / 10.0, "Z", &case);
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{:?}", r.explanations);
}

#[test]
fn a_correlated_gaussian_turns_to_its_axes_without_a_pilot() {
    // N(0, Σ) with Σ = [[1, ρ], [ρ, 1]], ρ = −0.8, scored with s = (−x, −y): log p̃ is
    // quadratic, so the check turns to Σ's axes at once. Z = 2π√det Σ = 2π·0.6; with
    // s_i = −x_i, lhs_i = rhs_i = −E[∂_i s_i] = 1 (the boundary term vanishes).
    let log = "-(x^2 + 1.6*x*y + y^2)/(2*0.36)";
    let (r, case) = check_2d(log, ["-x", "-y"]);
    assert!(
        r.notes.iter().any(|n| n.contains("log p̃ is quadratic")),
        "{:?}",
        r.notes
    );
    covers(&r.normalizer, 2.0 * std::f64::consts::PI * 0.6, "Z", &case);
    for c in &r.components {
        covers(&c.lhs, 1.0, "lhs", &case);
        covers(&c.rhs, 1.0, "rhs", &case);
    }
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{:?}", r.explanations);
}

#[test]
fn twisted_gaussian_with_mirrored_arms_keeps_the_coordinates() {
    // Haario's law with b = 0.0518 (one of 75 random cases that were undecided): its two arms
    // y = 3 − b x² are mirror images across the x = 0 axis of its Hessian. Following one arm
    // (a frame turned by 34°) turned the other away from the axes, and the two maps of Z then
    // disagreed by 7e-5. In the coordinates it is decided. Z = 2π·10·1 = 20π (a shear of
    // N(0, 10²) × N(0, 1)); the field is linear, so p·s vanishes far out and ibp holds.
    let text = "vars = [\"x\", \"y\"]\n[density]\nlog = \"-x^2/(2*1e2) - ((y - 3) + 5.176517945530678e-2*x^2)^2/2\"\n[score]\nfield = [\"-0.636*x + 0.490*y + 0.014\", \"-0.455*x - 1.523*y - 0.323\"]\n";
    let case = parse_case(text, "haario", "haario")
        .unwrap()
        .compile(&[], false)
        .unwrap();
    let r = scorecheck::check_case(&case, &CheckOptions::default()).unwrap();
    let z = &r.normalizer;
    let exact = 20.0 * std::f64::consts::PI;
    assert!(
        (z.value.unwrap() - exact).abs() <= z.error.unwrap(),
        "Z = {:?} ± {:?}, exact {exact}",
        z.value,
        z.error
    );
    assert!(
        !r.notes.iter().any(|n| n.contains("principal axes")),
        "{:?}",
        r.notes
    );
    assert_eq!(r.verdict.ibp, Ibp::Holds, "{}", r.explanations.ibp);
    assert_eq!(r.verdict.boundary, Boundary::Vanishes);
    assert_eq!(r.verdict.objective, ObjectiveVerdict::Finite);
}

/// A field with a kink along a line: x ~ N(m, diag(s₀², s₁²)) and
/// s(x) = ∇log p(x) + α·max(0, n·x − c)·u, with n a unit normal of the line n·x = c.
/// With w = x − m, t = n·w has variance σ² = Σ nᵢ²sᵢ²; with τ = t/σ ~ N(0, 1) the kink is at
/// τ = k = (c − n·m)/σ, and g = max(0, t − σk) = σ·max(0, τ − k). Let Q(k) = P(τ > k) and φ
/// the standard normal density. Then
/// - E[max(0, τ − k)·τ] = E[τ²; τ > k] − k·E[τ; τ > k] = (Q + kφ) − kφ = Q, so E[g t] = σ²Q;
///   and wᵢ = (sᵢ²nᵢ/σ²)·t + (a part independent of t), so E[g wᵢ] = sᵢ²nᵢQ.
/// - E[max(0, τ − k)²] = (1 + k²)Q − kφ, so E g² = σ²((1 + k²)Q − kφ).
/// - ∂ᵢsᵢ = −1/sᵢ² + α uᵢ nᵢ·1{τ > k}: rhsᵢ = 1/sᵢ² − α uᵢ nᵢ Q, and
///   lhsᵢ = E[sᵢ·(−wᵢ/sᵢ²)] = 1/sᵢ² − α uᵢ E[g wᵢ]/sᵢ² = the same (p·s vanishes far out).
/// - esm = ½α²|u|² E g², const = ½E|∇log p|² = ½Σ 1/sᵢ², ism = esm − const; Z = 2π s₀s₁.
///
/// An axis-aligned kink is written as users write one, `max(0, x - c)` or `max(0, c - y)`.
struct Kink {
    m: [f64; 2],
    s: [f64; 2],
    /// The normal's angle; `None` for an axis-aligned line (then `axis` and `flip` say which).
    angle: Option<f64>,
    axis: usize,
    flip: bool,
    k: f64,
    alpha: f64,
    u: [f64; 2],
}

impl std::fmt::Debug for Kink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} | {:?}", self.log(), self.field())
    }
}

impl Kink {
    fn normal(&self) -> [f64; 2] {
        match self.angle {
            Some(a) => [a.cos(), a.sin()],
            None => {
                let sgn = if self.flip { -1.0 } else { 1.0 };
                let mut n = [0.0; 2];
                n[self.axis] = sgn;
                n
            }
        }
    }
    fn sigma(&self) -> f64 {
        let n = self.normal();
        (n[0] * n[0] * self.s[0] * self.s[0] + n[1] * n[1] * self.s[1] * self.s[1]).sqrt()
    }
    /// c of the line n·x = c.
    fn c(&self) -> f64 {
        let n = self.normal();
        n[0] * self.m[0] + n[1] * self.m[1] + self.k * self.sigma()
    }
    fn log(&self) -> String {
        format!(
            "-(x - ({:e}))^2/(2*({:e})^2) - (y - ({:e}))^2/(2*({:e})^2)",
            self.m[0], self.s[0], self.m[1], self.s[1]
        )
    }
    fn field(&self) -> [String; 2] {
        let c = self.c();
        let hinge = match self.angle {
            Some(_) => {
                let n = self.normal();
                format!("max(0, ({:e})*x + ({:e})*y - ({c:e}))", n[0], n[1])
            }
            None => {
                let v = ["x", "y"][self.axis];
                if self.flip {
                    // −v = c, so the hinge is max(0, −v − c) = max(0, (−c) − v).
                    format!("max(0, ({:e}) - {v})", -c)
                } else {
                    format!("max(0, {v} - ({c:e}))")
                }
            }
        };
        let comp = |i: usize| {
            let v = ["x", "y"][i];
            format!(
                "-({v} - ({:e}))/({:e})^2 + ({:e})*({:e})*{hinge}",
                self.m[i], self.s[i], self.alpha, self.u[i]
            )
        };
        [comp(0), comp(1)]
    }
    fn exact(&self) -> Exact2 {
        // libm's erfc: statrs 0.19's is off by up to 1e-10 (relative) at 0.5 to 3 (against
        // mpmath), which made a reference esm 1.6e-13 off, more than the tool's error.
        use libm::erfc;
        let k = self.k;
        let q = 0.5 * erfc(k / std::f64::consts::SQRT_2);
        let phi = (-0.5 * k * k).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let n = self.normal();
        let sig = self.sigma();
        let eg2 = sig * sig * ((1.0 + k * k) * q - k * phi);
        let uu = self.u[0] * self.u[0] + self.u[1] * self.u[1];
        let lhs = |i: usize| 1.0 / (self.s[i] * self.s[i]) - self.alpha * self.u[i] * n[i] * q;
        let esm = 0.5 * self.alpha * self.alpha * uu * eg2;
        let cst = 0.5 * (1.0 / (self.s[0] * self.s[0]) + 1.0 / (self.s[1] * self.s[1]));
        Exact2 {
            z: 2.0 * std::f64::consts::PI * self.s[0] * self.s[1],
            lhs: [lhs(0), lhs(1)],
            esm,
            ism: esm - cst,
            cst,
        }
    }
}

fn kink(aligned: bool) -> impl Strategy<Value = Kink> {
    (
        (-3.0f64..3.0, -3.0f64..3.0, -1.0f64..1.0, -1.0f64..1.0),
        (0.0f64..std::f64::consts::TAU, 0usize..2, any::<bool>()),
        (
            -2.0f64..2.0,
            0.2f64..2.0,
            any::<bool>(),
            -1.0f64..1.0,
            -1.0f64..1.0,
        ),
    )
        .prop_map(
            move |((m0, m1, ls0, ls1), (angle, axis, flip), (k, a, neg, u0, u1))| Kink {
                m: [m0, m1],
                s: [ls0.exp(), ls1.exp()],
                angle: (!aligned).then_some(angle),
                axis,
                flip,
                k,
                alpha: if neg { -a } else { a },
                u: [u0, u1],
            },
        )
}

// A kink along an axis is cut there (`breaks::find_breaks`), so the pieces are smooth and the
// case is decided; along any other line the cubature meets the kink inside its regions, where
// its rules show no order of convergence, and may stop honestly undecided (issue 13).
// Measured at 20M evaluations, 200 cases each: along an axis 200 decided; along any line 3
// decided, every error covering (before quad's `Branches`, the first default run missed: rhs
// 8.1e-7 off with an error of 5.6e-7).
#[test]
fn kinks_along_a_line() {
    let r = run_family(kink(true), |c| {
        check_exact_nd(&c.log(), &c.field(), &c.exact(), 0)
    });
    assert_decided("kink along an axis", r, 90);
    let r = run_family(kink(false), |c| {
        check_exact_nd(&c.log(), &c.field(), &c.exact(), 0)
    });
    eprintln!("kink along any line: decided {} of {}", r.0, r.1);
}

#[test]
fn rotated_products_of_heavy_tails() {
    let r = run_family(
        (tail(), tail(), placement(), linear()),
        |(t1, t2, pl, f)| {
            let (log, ex) = rotated_product(*t1, *t2, pl, f);
            check_exact_2d(&log, f, &ex)
        },
    );
    assert_decided("rotated heavy tails", r, 90);
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.exprs())
    }
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "θ = {}, m = {:?}", self.theta, self.m)
    }
}

/// Runs `n` cases of a strategy (fixed seed); returns (decided, total).
fn run_n<S: Strategy>(n: u32, strategy: S, run: impl Fn(&S::Value) -> bool) -> (u32, u32)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(n));
    let (decided, total) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&strategy, |c| {
            total.set(total.get() + 1);
            if run(&c) {
                decided.set(decided.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    (decided.get(), total.get())
}

/// 3-D and 4-D: the banana and rotated-heavy-tail families extended by standard Gaussian
/// coordinates. Decided or honestly undecided, never a miss beyond the reported error (the
/// decided share is printed, not asserted: a 4e6-evaluation budget in 4-D often ends first).
/// `SCORECHECK_HONESTY_ND=N` runs N cases per family and dimension (default 2).
//
// Steep ridges (b ≈ 1.9, v = 0.1) end undecided in 3-D and 4-D, every error covering: they
// once ended the budget with errors that did not (4-D ism 3.2e-3 off against a reported
// 6.2e-4; 3-D esm 0.12 against 0.10), from regions across the ridge that kept 2% of their
// embedded-rule difference though their rules showed no order of convergence (quad's
// `finish_region`); now they stop early (the error falls too slowly for the budget) with
// errors that cover. Measured with the default 2 per family: decided 3-D banana 0 of 2,
// rotated heavy tails 2 of 2; 4-D 0 of 2 and 0 of 2 (the 4-D heavy tails end with errors
// of 1e6 on Z, as before issue 13's early stop, which now comes at 0.6M evaluations).
// With SCORECHECK_HONESTY_ND=8: decided 3-D bananas 3 of 8, 3-D heavy tails 8 of 8, 4-D 0 of
// 8 and 0 of 8, every error covering (it once found the miss of
// `steep_rotated_banana_in_3d_and_4d_covers_after_its_budget`).
#[test]
fn families_in_three_and_four_dimensions() {
    let n = std::env::var("SCORECHECK_HONESTY_ND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for extra in [1usize, 2] {
        let r = run_n(n, (banana(), linear()), |(b, f)| {
            check_exact_nd(&b.log(), &f.exprs(), &b.exact(f), extra)
        });
        eprintln!("{}-D banana: decided {} of {}", 2 + extra, r.0, r.1);
        let r = run_n(
            n,
            (tail(), tail(), placement(), linear()),
            |(t1, t2, pl, f)| {
                let (log, ex) = rotated_product(*t1, *t2, pl, f);
                check_exact_nd(&log, &f.exprs(), &ex, extra)
            },
        );
        eprintln!(
            "{}-D rotated heavy tails: decided {} of {}",
            2 + extra,
            r.0,
            r.1
        );
    }
}

/// A steep rotated banana (b = 1.198, v = 0.115) with one and two Gaussian coordinates,
/// found by `SCORECHECK_HONESTY_ND=8` (issue 13), against `Banana::exact`'s closed form. In
/// 4-D its Z missed by 4.0e-5 (relative) with an error of 3.6e-6 and esm by 0.031 with an
/// error of 0.0014 (a Monte Carlo mean, scripts/banana_4d_mc.py, agrees with the closed
/// form): a first-cut region held the ridge's far arm, but of the hidden-peak hint's
/// candidates only the 6 highest were probed, all where the map's Jacobian is largest, and
/// the one on the ridge was not. Once every candidate was probed, the 3-D version missed
/// instead (lhs_x 2.0e-4 off with an error of 4.5e-5): a region whose points' slopes grew
/// towards its edge (a convex flank, the ridge just beyond) was never a candidate at all.
/// Both are in quad's `hidden_peak`. Now at this budget (4M) the 4-D case is undecided with
/// Z = 13 ± 24, at the default 20M 13.384 ± 1.6e-3. The 4-D case as a file for the binary:
/// `scorecheck check tests/data/banana_4d_steep.toml`.
#[test]
fn steep_rotated_banana_in_3d_and_4d_covers_after_its_budget() {
    let theta = (-3.3209969375484394e-1f64).atan2(-9.432442914791157e-1);
    let b = Banana {
        a: 0.0,
        sigma: 1.0,
        b: 1.1979953864378023,
        v: 1.149331234304062e-1,
        pl: Placement {
            theta,
            m: [-2.504949680703243, 1.2763723168441248],
        },
    };
    let f = Linear {
        a: [
            [-1.7527133173481044, 3.3725022504829466e-1],
            [-3.781007115249719e-2, -1.6063661455527112],
        ],
        b: [-9.431542737012972e-1, -7.027540518356963e-1],
    };
    for extra in [1, 2] {
        check_exact_nd(&b.log(), &f.exprs(), &b.exact(&f), extra);
    }
}
