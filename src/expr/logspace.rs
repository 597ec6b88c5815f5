//! Exact rewriting of logarithms, so that a density written as a pdf (and every `ln(...)` in
//! an expression) is evaluated in log space where the direct formula over- or underflows.
//!
//! The raw program (RPN, nothing folded) is turned into a tree, `ln` of a node is rewritten
//! by the rules below, and the tree is written back as RPN. Every rule is an identity of real
//! analysis on the set where its left side is defined, so values and all derivatives agree
//! wherever both forms are finite (checked by a property test, `tests/it/rewrite_props.rs`).
//!
//! `L(n)` below is `ln n` with `ln`'s NaN for `n < 0`; `A(n)` is `ln |n|`.
//!
//! * `L(c) = ln c` for a constant, `L(exp u) = u`, `L(sqrt u) = ½ L(u)`, `L(|u|) = A(u)`.
//! * Products and quotients are flattened: `L(∏ fᵢ^±1) = Σ ±L(fᵢ)`. A factor whose sign is
//!   not known from its form (see `nonneg`) keeps `L`'s NaN, so at most one such factor may be
//!   split off; two or more are kept together as `L(∏ unknown)` (their product's sign is what
//!   counts). In `A`, every factor is split (`|ab| = |a||b|`).
//! * `L(aᵖ)` for a constant `p`: `p A(a)` when `p` is an even integer (in `A` for any integer),
//!   `p L(a)` otherwise (`aᵖ < 0` for odd `p` and `a < 0`; NaN for fractional `p`); `L(a^b) =
//!   b L(a)` for a variable exponent (`a^b` is `exp(b ln a)`); `L(a⁰) = 0`.
//! * Sums and differences are flattened: `ln(1 + erf u) = ln 2 + lognormcdf(√2 u)`,
//!   `ln(1 − erf u) = ln 2 + lognormcdf(−√2 u)`, `ln(1 − Φ(u)) = lognormcdf(−u)`,
//!   `ln(1 − σ(u)) = logsigmoid(−u)`; a sum of positive terms each of exponential form
//!   (positive constants, `exp`, products and constant powers of those, `σ`, `Φ`, `erfc`) is
//!   `logsumexp` of their logs (`logaddexp` for two; `softplus(u)` for `1 + exp u`); `ln(1 + t)
//!   = log1p(t)`.
//! * `L(σ(u)) = logsigmoid(u)`, `L(Φ(u)) = lognormcdf(u)`, `L(erfc u) = ln 2 + lognormcdf(−√2 u)`,
//!   `L(Γ(u)) = lgamma(u)` when `u ≥ 0` is known (in `A` always: `lgamma` is `ln |Γ|`),
//!   else `lgamma(u) + ln(sign Γ(u))` (NaN where `Γ(u) < 0`).
//! * Anything else: `ln` of the value (`ln |value|` in `A`).
//!
//! The rules recurse at most [`MAX_REWRITE_DEPTH`] levels deep (deeper parts are left to the
//! fallback), and building and writing back the tree is iterative, so no input can exhaust
//! the stack.

use super::eval::{Op, exec};
use super::functions::Fun1;

/// Deepest nesting of rewrite rules; below it, `ln` of the value.
const MAX_REWRITE_DEPTH: usize = 48;

#[derive(Clone, Debug)]
struct Node {
    op: Op,
    kids: Vec<usize>,
    /// The value, when the subtree is constant.
    konst: Option<f64>,
    /// The value is known to be >= 0 (or NaN) from its form.
    nonneg: bool,
    /// A positive value whose log the rules write without `ln` of a sum (see the module doc).
    expish: bool,
}

struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn add(&mut self, op: Op, kids: Vec<usize>) -> usize {
        let k = |i: usize| &self.nodes[kids[i]];
        let konst = match op {
            Op::Const(c) => Some(c),
            Op::Var(_) => None,
            _ => {
                let vals: Option<Vec<f64>> = kids.iter().map(|&i| self.nodes[i].konst).collect();
                vals.map(|mut v| {
                    let n = v.len();
                    exec::<f64>(op, &[], &mut v, n);
                    v[0]
                })
            }
        };
        let (nonneg, expish) = if let Some(c) = konst {
            (c >= 0.0, c > 0.0)
        } else {
            match op {
                Op::Call(f) => {
                    use Fun1::*;
                    let nonneg = matches!(
                        f,
                        Exp | Sqrt | Abs | Cosh | Softplus | Sigmoid | NormCdf | Erfc | Acos
                    ) || (f == Gamma && k(0).nonneg);
                    let expish = match f {
                        Exp | Sigmoid | NormCdf | Erfc => true,
                        Sqrt => k(0).expish,
                        _ => false,
                    };
                    (nonneg, expish)
                }
                Op::Add => (k(0).nonneg && k(1).nonneg, false),
                Op::Mul | Op::Div => (k(0).nonneg && k(1).nonneg, k(0).expish && k(1).expish),
                Op::Pow => match k(1).konst {
                    Some(p) => {
                        let even_or_fractional = p.fract() != 0.0 || p % 2.0 == 0.0;
                        (even_or_fractional || k(0).nonneg, k(0).expish)
                    }
                    None => (k(0).nonneg, false),
                },
                Op::Hypot => (true, false),
                Op::Max(_) => (kids.iter().any(|&i| self.nodes[i].nonneg), false),
                Op::Min(_) => (kids.iter().all(|&i| self.nodes[i].nonneg), false),
                _ => (false, false),
            }
        };
        self.nodes.push(Node {
            op,
            kids,
            konst,
            nonneg,
            expish,
        });
        self.nodes.len() - 1
    }

    fn konst(&mut self, c: f64) -> usize {
        self.add(Op::Const(c), vec![])
    }

    fn call(&mut self, f: Fun1, a: usize) -> usize {
        self.add(Op::Call(f), vec![a])
    }

    fn bin(&mut self, op: Op, a: usize, b: usize) -> usize {
        self.add(op, vec![a, b])
    }

    fn is_const(&self, n: usize, c: f64) -> bool {
        self.nodes[n].konst == Some(c) && matches!(self.nodes[n].op, Op::Const(_))
    }

    fn is_call(&self, n: usize, f: Fun1) -> Option<usize> {
        (self.nodes[n].op == Op::Call(f)).then(|| self.nodes[n].kids[0])
    }

    /// `c · n`, without a multiplication when `c = 1`.
    fn scaled(&mut self, c: f64, n: usize) -> usize {
        if c == 1.0 {
            n
        } else {
            let k = self.konst(c);
            self.bin(Op::Mul, k, n)
        }
    }

    /// `Σ ±terms` (a term with `false` is subtracted); `0` for none.
    fn sum(&mut self, terms: &[(usize, bool)]) -> usize {
        let mut acc: Option<usize> = None;
        for &(t, plus) in terms {
            acc = Some(match acc {
                None if plus => t,
                None => self.add(Op::Neg, vec![t]),
                Some(a) => self.bin(if plus { Op::Add } else { Op::Sub }, a, t),
            });
        }
        acc.unwrap_or_else(|| self.konst(0.0))
    }

    /// The factors of a product/quotient chain, with `true` for the numerator.
    fn factors(&self, n: usize) -> Vec<(usize, bool)> {
        let mut out = vec![];
        let mut todo = vec![(n, true)];
        while let Some((m, up)) = todo.pop() {
            match self.nodes[m].op {
                Op::Mul if self.nodes[m].konst.is_none() => {
                    let k = &self.nodes[m].kids;
                    todo.push((k[1], up));
                    todo.push((k[0], up));
                }
                Op::Div if self.nodes[m].konst.is_none() => {
                    let k = &self.nodes[m].kids;
                    todo.push((k[1], !up));
                    todo.push((k[0], up));
                }
                _ => out.push((m, up)),
            }
        }
        out
    }

    /// The terms of a sum/difference chain, with `true` for added terms.
    fn terms(&self, n: usize) -> Vec<(usize, bool)> {
        let mut out = vec![];
        let mut todo = vec![(n, true)];
        while let Some((m, plus)) = todo.pop() {
            match self.nodes[m].op {
                Op::Add if self.nodes[m].konst.is_none() => {
                    let k = &self.nodes[m].kids;
                    todo.push((k[1], plus));
                    todo.push((k[0], plus));
                }
                Op::Sub if self.nodes[m].konst.is_none() => {
                    let k = &self.nodes[m].kids;
                    todo.push((k[1], !plus));
                    todo.push((k[0], plus));
                }
                _ => out.push((m, plus)),
            }
        }
        out
    }

    /// `ln n` (`abs`: `ln |n|`) where no rule applies.
    fn fallback(&mut self, n: usize, abs: bool) -> usize {
        let arg = if abs && !self.nodes[n].nonneg {
            self.call(Fun1::Abs, n)
        } else {
            n
        };
        self.call(Fun1::Ln, arg)
    }

    /// `ln n` (with `abs`, `ln |n|`) by the rules of the module doc.
    fn log(&mut self, n: usize, abs: bool, depth: usize) -> usize {
        if depth >= MAX_REWRITE_DEPTH {
            return self.fallback(n, abs);
        }
        let node = self.nodes[n].clone();
        let kid = |i: usize| node.kids[i];
        match node.op {
            Op::Const(c) => self.konst(if abs { c.abs() } else { c }.ln()),
            Op::Call(Fun1::Exp) => kid(0),
            Op::Call(Fun1::Sqrt) => {
                let l = self.log(kid(0), false, depth + 1);
                self.scaled(0.5, l)
            }
            Op::Call(Fun1::Abs) => self.log(kid(0), true, depth + 1),
            Op::Neg if abs => self.log(kid(0), true, depth + 1),
            Op::Call(Fun1::Sigmoid) => self.call(Fun1::LogSigmoid, kid(0)),
            Op::Call(Fun1::NormCdf) => self.call(Fun1::LogNormCdf, kid(0)),
            Op::Call(Fun1::Erfc) => self.log_erfc(kid(0), false),
            Op::Call(Fun1::Gamma) if abs || self.nodes[kid(0)].nonneg => {
                self.call(Fun1::Lgamma, kid(0))
            }
            Op::Call(Fun1::Gamma) => {
                // ln Γ(u) = lgamma(u) + ln(sign Γ(u)): NaN where Γ(u) < 0, as ln of the value.
                let lg = self.call(Fun1::Lgamma, kid(0));
                let sign = self.call(Fun1::Signum, n);
                let guard = self.call(Fun1::Ln, sign);
                self.bin(Op::Add, lg, guard)
            }
            Op::Mul | Op::Div => self.log_product(n, abs, depth),
            Op::Pow => self.log_power(kid(0), kid(1), abs, depth),
            Op::Add | Op::Sub => self.log_sum(n, abs, depth),
            _ => self.fallback(n, abs),
        }
    }

    /// ln erfc(u) = ln 2 + lognormcdf(−√2 u) (`negate`: of erfc(−u)).
    fn log_erfc(&mut self, u: usize, negate: bool) -> usize {
        let c = if negate {
            std::f64::consts::SQRT_2
        } else {
            -std::f64::consts::SQRT_2
        };
        let arg = self.scaled(c, u);
        let l = self.call(Fun1::LogNormCdf, arg);
        let ln2 = self.konst(std::f64::consts::LN_2);
        self.bin(Op::Add, ln2, l)
    }

    fn log_product(&mut self, n: usize, abs: bool, depth: usize) -> usize {
        let factors = self.factors(n);
        if factors
            .iter()
            .any(|&(f, _)| self.nodes[f].konst == Some(0.0))
        {
            // A zero factor: the value's sign no longer follows the other factors'.
            return self.fallback(n, abs);
        }
        let unknown: Vec<(usize, bool)> = factors
            .iter()
            .copied()
            .filter(|&(f, _)| !self.nodes[f].nonneg)
            .collect();
        let mut terms = vec![];
        if abs || unknown.len() <= 1 {
            for (f, up) in factors {
                terms.push((self.log(f, abs, depth + 1), up));
            }
        } else {
            for (f, up) in factors {
                if self.nodes[f].nonneg {
                    terms.push((self.log(f, false, depth + 1), up));
                }
            }
            // The factors of unknown sign stay together: their product's sign is the
            // density's.
            let mut prod: Option<usize> = None;
            for (f, up) in unknown {
                prod = Some(match prod {
                    None if up => f,
                    None => {
                        let one = self.konst(1.0);
                        self.bin(Op::Div, one, f)
                    }
                    Some(p) => self.bin(if up { Op::Mul } else { Op::Div }, p, f),
                });
            }
            if let Some(p) = prod {
                terms.push((self.fallback(p, false), true));
            }
        }
        self.sum(&terms)
    }

    fn log_power(&mut self, a: usize, b: usize, abs: bool, depth: usize) -> usize {
        match self.nodes[b].konst {
            Some(0.0) => self.konst(0.0),
            Some(p) => {
                let integer = p.fract() == 0.0;
                let inner_abs = integer && (abs || p % 2.0 == 0.0);
                let l = self.log(a, inner_abs, depth + 1);
                self.scaled(p, l)
            }
            None => {
                let l = self.log(a, false, depth + 1);
                self.bin(Op::Mul, b, l)
            }
        }
    }

    fn log_sum(&mut self, n: usize, abs: bool, depth: usize) -> usize {
        let terms = self.terms(n);
        if let [(a, true), (t, plus)] | [(t, plus), (a, true)] = terms[..]
            && self.is_const(a, 1.0)
        {
            // 1 ± erf(u), 1 − Φ(u), 1 − σ(u).
            if let Some(u) = self.is_call(t, Fun1::Erf) {
                return self.log_erfc(u, plus);
            }
            if !plus {
                if let Some(u) = self.is_call(t, Fun1::NormCdf) {
                    let m = self.add(Op::Neg, vec![u]);
                    return self.call(Fun1::LogNormCdf, m);
                }
                if let Some(u) = self.is_call(t, Fun1::Sigmoid) {
                    let m = self.add(Op::Neg, vec![u]);
                    return self.call(Fun1::LogSigmoid, m);
                }
            }
        }
        let all_exp = terms.len() >= 2
            && terms.iter().all(|&(t, plus)| plus && self.nodes[t].expish)
            && terms.iter().any(|&(t, _)| self.nodes[t].konst.is_none());
        if all_exp {
            let logs: Vec<usize> = terms
                .iter()
                .map(|&(t, _)| self.log(t, false, depth + 1))
                .collect();
            return match logs[..] {
                [a, b] if self.is_const(a, 0.0) => self.call(Fun1::Softplus, b),
                [a, b] if self.is_const(b, 0.0) => self.call(Fun1::Softplus, a),
                [a, b] => self.bin(Op::LogAddExp, a, b),
                _ => {
                    let k = logs.len();
                    self.add(Op::LogSumExp(k), logs)
                }
            };
        }
        if let [(a, true), (t, plus)] | [(t, plus), (a, true)] = terms[..]
            && self.is_const(a, 1.0)
            && (!abs || self.nodes[n].nonneg)
        {
            let arg = if plus { t } else { self.add(Op::Neg, vec![t]) };
            return self.call(Fun1::Log1p, arg);
        }
        self.fallback(n, abs)
    }
}

/// The tree of a raw program; with `rewrite_ln`, each `ln(u)` is replaced by the rules'
/// form of `ln u` as it is built. Returns the tree and its root.
fn build(raw: &[Op], rewrite_ln: bool) -> (Tree, usize) {
    let mut t = Tree {
        nodes: Vec::with_capacity(raw.len()),
    };
    let mut stack: Vec<usize> = vec![];
    for &op in raw {
        let k = op.arity();
        let kids = stack.split_off(stack.len() - k);
        let id = if rewrite_ln && op == Op::Call(Fun1::Ln) {
            t.log(kids[0], false, 0)
        } else {
            t.add(op, kids)
        };
        stack.push(id);
    }
    let root = stack.pop().expect("a raw program leaves one value");
    (t, root)
}

/// The RPN of the subtree at `root` (iterative post-order).
fn emit(t: &Tree, root: usize) -> Vec<Op> {
    let mut out = vec![];
    let mut todo = vec![(root, 0usize)];
    while let Some((n, next)) = todo.pop() {
        let node = &t.nodes[n];
        if next < node.kids.len() {
            todo.push((n, next + 1));
            todo.push((node.kids[next], 0));
        } else {
            out.push(node.op);
        }
    }
    out
}

/// `raw` with every `ln(u)` rewritten (a program without `ln` is returned unchanged).
pub(super) fn rewrite_logs(raw: &[Op]) -> Vec<Op> {
    if !raw.contains(&Op::Call(Fun1::Ln)) {
        return raw.to_vec();
    }
    let (t, root) = build(raw, true);
    emit(&t, root)
}

/// The program of `ln` of `raw`'s value, rewritten.
pub(super) fn log_of(raw: &[Op]) -> Vec<Op> {
    let (mut t, root) = build(raw, false);
    let l = t.log(root, false, 0);
    emit(&t, l)
}
