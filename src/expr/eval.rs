//! The stack machine: its instructions ([`Op`]) and the interpreter behind [`Program::eval`].

use super::INLINE_STACK;
use super::Program;
use super::functions::Fun1;
use super::math::atan2;
use super::math::call1;
use super::math::pick;
use super::math::powi;
use super::math::rem;
use crate::expr::special;

use num_dual::DualNum;

/// One instruction of the stack machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Op {
    Const(f64),
    Var(usize),
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// Non-constant exponent: `exp(y ln x)`.
    Pow,
    PowI(i32),
    PowF(f64),
    Call(Fun1),
    /// Stack `[.., y, x]` -> `atan2(y, x)`.
    Atan2,
    Max(usize),
    Min(usize),
    /// Stack `[.., a, b]` -> `hypot(a, b)`.
    Hypot,
    /// Stack `[.., a, b]` -> `ln(e^a + e^b)`.
    LogAddExp,
    /// `ln Σ e^(a_i)` over the top `k` entries.
    LogSumExp(usize),
}

impl Op {
    /// Number of stack entries consumed (every op pushes exactly one).
    pub(super) fn arity(self) -> usize {
        match self {
            Op::Const(_) | Op::Var(_) => 0,
            Op::Neg | Op::PowI(_) | Op::PowF(_) | Op::Call(_) => 1,
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Rem
            | Op::Pow
            | Op::Atan2
            | Op::Hypot
            | Op::LogAddExp => 2,
            Op::Max(k) | Op::Min(k) | Op::LogSumExp(k) => k,
        }
    }
}

/// Execute one instruction on `st[..sp]`; returns the new stack pointer. Shared by
/// evaluation and by constant folding (with `D = f64`), so folded constants get exactly the
/// value the program would compute.
#[inline(always)]
pub(super) fn exec<D: DualNum<Primitive = f64> + Copy>(
    op: Op,
    x: &[D],
    st: &mut [D],
    sp: usize,
) -> usize {
    match op {
        Op::Const(c) => {
            st[sp] = D::from(c);
            sp + 1
        }
        Op::Var(i) => {
            st[sp] = x[i];
            sp + 1
        }
        Op::Neg => {
            st[sp - 1] = -st[sp - 1];
            sp
        }
        Op::PowI(n) => {
            let v = st[sp - 1];
            // x^-n as (1/x)^n: num-dual's own powi(-n) is NaN at 0 (inf * 0) and underflows
            // for large |x| (it computes x^(-n-3) first); 1/(x^n) would overflow in the
            // derivative (-1/(x^n)^2) long before the result does.
            st[sp - 1] = powi(v, n);
            sp
        }
        Op::PowF(p) => {
            let v = st[sp - 1];
            // At 0, num-dual's powf is NaN (it computes 0^(p-3) * 0^3). If p exceeds the
            // highest derivative order of D, the value and every derivative D carries are
            // exactly 0 there.
            st[sp - 1] = if v.re() == 0.0 && p > D::NDERIV as f64 {
                D::from(0.0)
            } else {
                v.powf(p)
            };
            sp
        }
        Op::Call(f) => {
            st[sp - 1] = call1(f, st[sp - 1]);
            sp
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem | Op::Pow | Op::Atan2 => {
            let (a, b) = (st[sp - 2], st[sp - 1]);
            st[sp - 2] = match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div => a / b,
                Op::Rem => rem(a, b),
                Op::Pow => a.powd(b),
                _ => atan2(a, b),
            };
            sp - 1
        }
        Op::Hypot | Op::LogAddExp | Op::LogSumExp(_) => exec_special(op, st, sp),
        Op::Max(k) | Op::Min(k) => {
            let lo = sp - k;
            st[lo] = pick(&st[lo..sp], matches!(op, Op::Max(_)));
            lo + 1
        }
    }
}

/// [`exec`] for the instructions added for statistics, out of line (see [`call_special`]).
#[inline(never)]
pub(super) fn exec_special<D: DualNum<Primitive = f64> + Copy>(
    op: Op,
    st: &mut [D],
    sp: usize,
) -> usize {
    match op {
        Op::Hypot => {
            st[sp - 2] = special::hypot(st[sp - 2], st[sp - 1]);
            sp - 1
        }
        Op::LogAddExp => {
            st[sp - 2] = special::logaddexp(st[sp - 2], st[sp - 1]);
            sp - 1
        }
        Op::LogSumExp(k) => {
            let lo = sp - k;
            st[lo] = special::logsumexp(&st[lo..sp]);
            lo + 1
        }
        _ => unreachable!("exec_special: {op:?}"),
    }
}

impl Program {
    /// Evaluate at `x` (one entry per variable, in the order given to [`compile`]).
    ///
    /// Works for `f64` and for every num-dual number type; derivatives are exact (see the
    /// module documentation for the non-smooth functions).
    ///
    /// # Panics
    ///
    /// If `x.len()` differs from the number of variables.
    ///
    /// [`compile`]: Program::compile
    pub fn eval<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        assert_eq!(
            x.len(),
            self.n_vars,
            "Program::eval: expected {} variable values, got {}",
            self.n_vars,
            x.len()
        );
        if self.max_depth <= 8 {
            let mut st = [D::from(0.0); 8];
            self.run(x, &mut st)
        } else if self.max_depth <= INLINE_STACK {
            let mut st = [D::from(0.0); INLINE_STACK];
            self.run(x, &mut st)
        } else {
            let mut st = vec![D::from(0.0); self.max_depth];
            self.run(x, &mut st)
        }
    }

    pub(super) fn run<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D], st: &mut [D]) -> D {
        let mut sp = 0;
        for &op in &self.code {
            sp = exec(op, x, st, sp);
        }
        st[0]
    }
}
