//! The expression language: parse a formula once, evaluate it many times over any
//! [`num_dual`] number type.
//!
//! Parsing is done by [`meval`], which turns the text into reverse Polish notation (RPN).
//! [`Program::compile`] turns that RPN into a small stack program in which variables become
//! indices into the argument slice, parameters and the constants `pi` and `e` become
//! numbers, and every constant sub-expression is folded into one number. [`Program::eval`]
//! runs the program generically, so the same code path gives plain `f64` values and exact
//! derivatives of any order (with `Dual64`, `Dual2_64`, `DualSVec64<N>`, `HyperDual64`, ...).
//! No heap allocation happens per evaluation unless the expression needs an evaluation stack
//! deeper than [`INLINE_STACK`] entries.
//!
//! # Language
//!
//! * Numbers (`2`, `2.`, `0.5`, `1e-3`; a number must start with a digit, so `.5` is an
//!   error), variables, parameters, and the constants `pi` and `e` (see [`CONSTANTS`]).
//! * Operators `+ - * / % ^` and `**` (= `^`), unary `+`/`-`. `^` is right-associative and
//!   binds tighter than unary minus: `-x^2` is `-(x^2)` and `2**3**2` is `512`.
//! * Functions with their arities in [`FUNCTIONS`]: `sqrt exp ln log` (= `ln`) `log1p expm1
//!   log2 log10 cbrt pow hypot abs sign signum sin cos tan asin acos atan atan2 sinh cosh
//!   tanh asinh acosh atanh floor ceil round max min erf erfc normcdf lognormcdf gamma lgamma
//!   logsumexp logaddexp softplus sigmoid logsigmoid`, and numpy's `arcsin … arctanh arctan2
//!   power`. Values and derivatives of the special functions are in [`crate::expr::special`].
//! * The prefixes in [`PREFIXES`] (`np.`, `numpy.`, `math.`, `torch.`, `jnp.`) before a
//!   function call or a constant are ignored; error carets still point at the user's text.
//! * Every `ln(u)` is rewritten exactly into log space (`ln(1 + exp u)` is `softplus(u)`, ...),
//!   and [`Program::compile_log`] compiles the log of a pdf the same way (see `logspace`).
//!
//! # Derivatives
//!
//! * `a ^ n` with a compile-time integer `n` (a literal, a parameter, or a constant
//!   sub-expression such as `-2` or `2*1`, with `|n| <= 1024`) uses `powi` (negative `n` as
//!   `(1/a)^|n|`), so `x^2` at `-3` is exactly `9` with derivative exactly `-6`, and `x^-1`
//!   at `0` is `inf`. Other constant exponents use `powf`; a non-constant exponent uses
//!   `exp(y ln x)` (NaN for `x <= 0` with dual numbers; plain `f64` keeps `powf`'s value).
//!   A power of two constants folds with `powf`, as meval computes it.
//! * `abs` is `x` or `-x` chosen by the sign of the real part (`+x` at zero).
//! * `signum`, `floor`, `ceil`, `round` are piecewise constant: derivative zero.
//! * `max`/`min` return the argument with the largest/smallest real part (the first one on
//!   ties; NaN arguments are skipped unless all are NaN, like `f64::max`).
//! * `a % b` is `a - b*q` with the integer quotient `q = trunc(a/b)` held constant; the value
//!   is exactly `f64`'s `%`.
//! * `atan2(y, x)` has the exact derivative `(x dy - y dx)/(x^2 + y^2)` in every quadrant,
//!   including on the `y` axis (num-dual's own `atan2` returns NaN derivatives at `x = 0`).
//! * Everything else follows IEEE / num-dual: NaN and infinities are possible results.
//!
//! # Errors
//!
//! Every [`ExprError`] carries the source and, where it makes sense, the byte span of the
//! offending token; its `Display` shows the expression with carets under that token.
//! Expressions longer than [`MAX_EXPR_BYTES`] bytes or nesting parentheses deeper than
//! [`MAX_NESTING`] levels are rejected before parsing. Nothing in this module recurses on the
//! structure of the expression.
//!
//! # Where things are
//!
//! * `functions`: the function table ([`FUNCTIONS`], [`CONSTANTS`], [`PREFIXES`]).
//! * `error`: [`ExprError`] and its caret rendering.
//! * `lex`: the span lexer; `parse`: limits, normalisation, meval's RPN, [`free_symbols`].
//! * `compile`: RPN to a stack program ([`Program::compile`]), branch points ([`Switch`]).
//! * `logspace`: the exact rewriting of `ln(...)` into log space.
//! * `eval`: the instructions and the interpreter ([`Program::eval`]).
//! * `lanes`: batch evaluation ([`Program::eval_batch`]).
//! * `math`: the maths of single instructions; [`special`]: special functions and their
//!   derivatives.

mod compile;
mod error;
mod eval;
mod functions;
mod lanes;
mod lex;
mod logspace;
mod math;
mod parse;
pub mod special;
#[cfg(test)]
mod tests;

pub use compile::{Switch, SwitchKind};
pub use error::ExprError;
pub use functions::{Arity, FUNCTIONS};
pub use lanes::LANES;
pub use parse::free_symbols;

use eval::Op;
use lanes::LaneOp;

/// Longest accepted expression, in bytes.
pub const MAX_EXPR_BYTES: usize = 100_000;

/// Deepest accepted nesting of parentheses (function-call parentheses included).
pub const MAX_NESTING: usize = 200;

/// Evaluation stacks up to this many entries live in a fixed-size array (no allocation).
pub const INLINE_STACK: usize = 64;

/// A compiled expression over named variables; parameters are folded in as constants.
#[derive(Clone, Debug)]
pub struct Program {
    source: String,
    code: Vec<Op>,
    /// `code` for batches, with a push followed by `+ − × ÷` fused into one instruction.
    lanes: Vec<LaneOp>,
    n_vars: usize,
    max_depth: usize,
}

impl Program {
    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Indices of the variables the expression actually uses, ascending.
    pub fn used_vars(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .code
            .iter()
            .filter_map(|op| match op {
                Op::Var(i) => Some(*i),
                _ => None,
            })
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// Number of variables (the length `eval` expects).
    pub fn n_vars(&self) -> usize {
        self.n_vars
    }

    /// The value, if the whole expression folded to a constant.
    pub fn constant_value(&self) -> Option<f64> {
        match self.code.as_slice() {
            [Op::Const(c)] => Some(*c),
            _ => None,
        }
    }

    /// Number of instructions after constant folding.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Always `false`: a program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// Deepest evaluation stack the program needs.
    pub fn max_stack_depth(&self) -> usize {
        self.max_depth
    }
}
