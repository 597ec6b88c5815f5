//! Batch evaluation: [`LANES`] points at a time, one (fused) instruction over all of them.

use super::Program;
use super::eval::Op;
use super::eval::exec;
use super::functions::Fun1;
use super::math::call1;
use super::math::powi;

use num_dual::DualNum;

/// Points evaluated together by [`Program::eval_batch`].
pub const LANES: usize = 32;

/// The variables of points `base..base + m` of a batch of `n` (see [`Program::eval_batch`]).
pub(super) struct Lanes<'a, D> {
    pub(super) xs: &'a [D],
    pub(super) n: usize,
    pub(super) base: usize,
    pub(super) m: usize,
}

/// Apply `f` to each value in `v`.
#[inline(always)]
pub(super) fn map_lanes<D: Copy>(v: &mut [D], f: impl Fn(D) -> D) {
    for a in v {
        *a = f(*a);
    }
}

/// [`exec`] over the lanes of a batch: stack slot `k` holds `st[k * LANES..][..m]`. Each
/// lane sees exactly the operations `exec` would apply to it, in the same order.
#[inline(always)]
pub(super) fn exec_lanes<D: DualNum<Primitive = f64> + Copy>(
    op: Op,
    x: &Lanes<'_, D>,
    st: &mut [D],
    sp: usize,
) -> usize {
    let m = x.m;
    let slot = |k: usize| k * LANES..k * LANES + m;
    match op {
        Op::Const(c) => {
            st[slot(sp)].fill(D::from(c));
            sp + 1
        }
        Op::Var(i) => {
            let from = i * x.n + x.base;
            st[slot(sp)].copy_from_slice(&x.xs[from..from + m]);
            sp + 1
        }
        Op::Neg => {
            map_lanes(&mut st[slot(sp - 1)], |v| -v);
            sp
        }
        Op::PowI(n) => {
            let top = &mut st[slot(sp - 1)];
            // The same calls `exec` makes, with the branch taken once for all lanes.
            match n {
                2 => map_lanes(top, |v| v * v),
                3 => map_lanes(top, |v| v * v * v),
                n => map_lanes(top, |v| powi(v, n)),
            }
            sp
        }
        Op::Call(f) => {
            call_lanes(f, &mut st[slot(sp - 1)]);
            sp
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let (lo, hi) = st.split_at_mut((sp - 1) * LANES);
            let a = &mut lo[slot(sp - 2)];
            let b = &hi[..m];
            match op {
                Op::Add => a.iter_mut().zip(b).for_each(|(a, b)| *a += *b),
                Op::Sub => a.iter_mut().zip(b).for_each(|(a, b)| *a -= *b),
                Op::Mul => a.iter_mut().zip(b).for_each(|(a, b)| *a *= *b),
                _ => a.iter_mut().zip(b).for_each(|(a, b)| *a /= *b),
            }
            sp - 1
        }
        _ => {
            // The rarer instructions, one lane at a time through `exec` itself.
            let k = op.arity();
            let mut buf = [D::from(0.0); 16];
            let mut spill = vec![];
            let args: &mut [D] = if k <= buf.len() {
                &mut buf[..k]
            } else {
                spill.resize(k, D::from(0.0));
                &mut spill[..]
            };
            for l in 0..m {
                for (j, a) in args.iter_mut().enumerate() {
                    *a = st[(sp - k + j) * LANES + l];
                }
                exec(op, &[], args, k);
                st[(sp - k) * LANES + l] = args[0];
            }
            sp - k + 1
        }
    }
}

/// The four arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

/// An instruction of the batch evaluator: an [`Op`], or a push of a constant or a variable
/// fused with the operator that follows it (`top = top ∘ c`, `top = top ∘ x_i`): the same
/// arithmetic on the same values as the two instructions, without the stack slot between.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum LaneOp {
    Op(Op),
    WithConst(Bin, f64),
    WithVar(Bin, usize),
}

pub(super) fn bin_of(op: Op) -> Option<Bin> {
    match op {
        Op::Add => Some(Bin::Add),
        Op::Sub => Some(Bin::Sub),
        Op::Mul => Some(Bin::Mul),
        Op::Div => Some(Bin::Div),
        _ => None,
    }
}

/// The batch instructions of `code` (see [`LaneOp`]).
pub(super) fn fuse(code: &[Op]) -> Vec<LaneOp> {
    let mut out = Vec::with_capacity(code.len());
    let mut i = 0;
    while i < code.len() {
        let next = code.get(i + 1).copied().and_then(bin_of);
        match (code[i], next) {
            // A push right after another value: the operator takes the two top entries.
            (Op::Const(c), Some(b)) if i > 0 => {
                out.push(LaneOp::WithConst(b, c));
                i += 2;
            }
            (Op::Var(v), Some(b)) if i > 0 => {
                out.push(LaneOp::WithVar(b, v));
                i += 2;
            }
            (op, _) => {
                out.push(LaneOp::Op(op));
                i += 1;
            }
        }
    }
    out
}

/// `top[l] = top[l] ∘ rhs(l)` for every lane.
#[inline(always)]
pub(super) fn binary_lanes<D: DualNum<Primitive = f64> + Copy>(
    b: Bin,
    top: &mut [D],
    rhs: impl Fn(usize) -> D,
) {
    match b {
        Bin::Add => top.iter_mut().enumerate().for_each(|(l, a)| *a += rhs(l)),
        Bin::Sub => top.iter_mut().enumerate().for_each(|(l, a)| *a -= rhs(l)),
        Bin::Mul => top.iter_mut().enumerate().for_each(|(l, a)| *a *= rhs(l)),
        Bin::Div => top.iter_mut().enumerate().for_each(|(l, a)| *a /= rhs(l)),
    }
}

/// A one-argument function over the lanes, the function chosen once.
pub(super) fn call_lanes<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: &mut [D]) {
    macro_rules! each {
        ($($name:ident),*) => {
            match f {
                $(Fun1::$name => map_lanes(v, |a| call1(Fun1::$name, a)),)*
            }
        };
    }
    each!(
        Sqrt, Exp, Ln, Abs, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh,
        Floor, Ceil, Round, Signum, Log1p, Expm1, Log2, Log10, Cbrt, Erf, Erfc, NormCdf,
        LogNormCdf, Gamma, Lgamma, Softplus, Sigmoid, LogSigmoid
    );
}

impl Program {
    /// Evaluate at `n` points at once: `xs[v * n + l]` is variable `v` at point `l`, and
    /// `out[l]` receives the value at point `l`.
    ///
    /// The points are run `LANES` at a time, one instruction over all of them before the
    /// next, so the cost of decoding each instruction is shared; each point's value is
    /// bit-for-bit the one [`eval`](Program::eval) gives.
    ///
    /// ```
    /// use scorecheck::Program;
    ///
    /// let p = Program::compile("x*y + 1", &["x".into(), "y".into()], &[]).unwrap();
    /// let xs = [1.0, 2.0, 3.0, /* y: */ 10.0, 20.0, 30.0];
    /// let mut out = [0.0; 3];
    /// p.eval_batch(&xs, 3, &mut out);
    /// assert_eq!(out, [11.0, 41.0, 91.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `xs.len()` is not `n` times the number of variables, or `out` is shorter than `n`.
    pub fn eval_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        xs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        assert_eq!(
            xs.len(),
            self.n_vars * n,
            "Program::eval_batch: expected {} values ({} variables at {n} points), got {}",
            self.n_vars * n,
            self.n_vars,
            xs.len()
        );
        assert!(out.len() >= n, "Program::eval_batch: out is shorter than n");
        let mut base = 0;
        while base < n {
            let m = (n - base).min(LANES);
            let lanes = Lanes { xs, n, base, m };
            let out = &mut out[base..base + m];
            // A stack no larger than the program needs: it is zeroed on every call.
            if self.max_depth <= 2 {
                let mut st = [D::from(0.0); 2 * LANES];
                self.run_lanes(&lanes, &mut st, out);
            } else if self.max_depth <= 4 {
                let mut st = [D::from(0.0); 4 * LANES];
                self.run_lanes(&lanes, &mut st, out);
            } else if self.max_depth <= 8 {
                let mut st = [D::from(0.0); 8 * LANES];
                self.run_lanes(&lanes, &mut st, out);
            } else {
                let mut st = vec![D::from(0.0); self.max_depth * LANES];
                self.run_lanes(&lanes, &mut st, out);
            }
            base += m;
        }
    }

    pub(super) fn run_lanes<D: DualNum<Primitive = f64> + Copy>(
        &self,
        x: &Lanes<'_, D>,
        st: &mut [D],
        out: &mut [D],
    ) {
        let mut sp = 0;
        for &op in &self.lanes {
            sp = match op {
                LaneOp::Op(op) => exec_lanes(op, x, st, sp),
                LaneOp::WithConst(b, c) => {
                    let top = &mut st[(sp - 1) * LANES..(sp - 1) * LANES + x.m];
                    binary_lanes(b, top, |_| D::from(c));
                    sp
                }
                LaneOp::WithVar(b, i) => {
                    let top = &mut st[(sp - 1) * LANES..(sp - 1) * LANES + x.m];
                    let from = i * x.n + x.base;
                    let v = &x.xs[from..from + x.m];
                    binary_lanes(b, top, |l| v[l]);
                    sp
                }
            };
        }
        out.copy_from_slice(&st[..x.m]);
    }
}
