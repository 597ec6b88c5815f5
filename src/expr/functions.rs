//! The function table of the language (names, arities, aliases, prefixes) and the
//! one-argument functions the compiler resolves names to.

use super::compile::join;

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
}

impl Arity {
    /// Whether `n` arguments are accepted.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }
}

/// The supported functions with their arities, in the order they are listed in error
/// messages and in the README. Aliases (`log` = `ln`, `sign` = `signum`, `pow`, numpy's
/// `arcsin` ... names) are listed too.
pub const FUNCTIONS: &[(&str, Arity)] = &[
    ("sqrt", Arity::Exactly(1)),
    ("exp", Arity::Exactly(1)),
    ("ln", Arity::Exactly(1)),
    ("log", Arity::Exactly(1)),
    ("log1p", Arity::Exactly(1)),
    ("expm1", Arity::Exactly(1)),
    ("log2", Arity::Exactly(1)),
    ("log10", Arity::Exactly(1)),
    ("cbrt", Arity::Exactly(1)),
    ("pow", Arity::Exactly(2)),
    ("hypot", Arity::Exactly(2)),
    ("abs", Arity::Exactly(1)),
    ("sign", Arity::Exactly(1)),
    ("signum", Arity::Exactly(1)),
    ("sin", Arity::Exactly(1)),
    ("cos", Arity::Exactly(1)),
    ("tan", Arity::Exactly(1)),
    ("asin", Arity::Exactly(1)),
    ("acos", Arity::Exactly(1)),
    ("atan", Arity::Exactly(1)),
    ("atan2", Arity::Exactly(2)),
    ("sinh", Arity::Exactly(1)),
    ("cosh", Arity::Exactly(1)),
    ("tanh", Arity::Exactly(1)),
    ("asinh", Arity::Exactly(1)),
    ("acosh", Arity::Exactly(1)),
    ("atanh", Arity::Exactly(1)),
    ("floor", Arity::Exactly(1)),
    ("ceil", Arity::Exactly(1)),
    ("round", Arity::Exactly(1)),
    ("max", Arity::AtLeast(1)),
    ("min", Arity::AtLeast(1)),
    ("erf", Arity::Exactly(1)),
    ("erfc", Arity::Exactly(1)),
    ("normcdf", Arity::Exactly(1)),
    ("lognormcdf", Arity::Exactly(1)),
    ("gamma", Arity::Exactly(1)),
    ("lgamma", Arity::Exactly(1)),
    ("logsumexp", Arity::AtLeast(1)),
    ("logaddexp", Arity::Exactly(2)),
    ("softplus", Arity::Exactly(1)),
    ("sigmoid", Arity::Exactly(1)),
    ("logsigmoid", Arity::Exactly(1)),
    ("arcsin", Arity::Exactly(1)),
    ("arccos", Arity::Exactly(1)),
    ("arctan", Arity::Exactly(1)),
    ("arctan2", Arity::Exactly(2)),
    ("arcsinh", Arity::Exactly(1)),
    ("arccosh", Arity::Exactly(1)),
    ("arctanh", Arity::Exactly(1)),
    ("power", Arity::Exactly(2)),
];

/// The built-in constants.
pub const CONSTANTS: &[(&str, f64)] = &[("pi", std::f64::consts::PI), ("e", std::f64::consts::E)];

/// Module prefixes accepted (and ignored) before a function or constant: `np.exp`, `math.pi`.
pub const PREFIXES: &[&str] = &["numpy.", "np.", "math.", "torch.", "jnp."];

/// numpy's spellings, accepted as aliases but not listed in error messages.
pub(super) const NUMPY_ALIASES: &[&str] = &[
    "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "power",
];

/// The function names listed in error messages.
pub(super) fn listed_functions() -> String {
    join(
        FUNCTIONS
            .iter()
            .map(|f| f.0)
            .filter(|f| !NUMPY_ALIASES.contains(f)),
    )
}

/// Whether `name` is a supported function (or alias).
pub fn is_function(name: &str) -> bool {
    FUNCTIONS.iter().any(|(f, _)| *f == name)
}

/// Largest `|n|` compiled to `powi`. num-dual multiplies `n*(n-1)*(n-2)` in `i32` for third
/// derivatives, which must not overflow.
pub(super) const MAX_POWI: f64 = 1024.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Fun1 {
    Sqrt,
    Exp,
    Ln,
    Abs,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Floor,
    Ceil,
    Round,
    Signum,
    Log1p,
    Expm1,
    Log2,
    Log10,
    Cbrt,
    Erf,
    Erfc,
    NormCdf,
    LogNormCdf,
    Gamma,
    Lgamma,
    Softplus,
    Sigmoid,
    LogSigmoid,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Function {
    One(Fun1),
    Atan2,
    Max,
    Min,
    Pow,
    Hypot,
    LogAddExp,
    LogSumExp,
}

pub(super) fn lookup_function(name: &str) -> Option<Function> {
    use Fun1::*;
    let f = match name {
        "sqrt" => Sqrt,
        "exp" => Exp,
        "ln" | "log" => Ln,
        "log1p" => Log1p,
        "expm1" => Expm1,
        "log2" => Log2,
        "log10" => Log10,
        "cbrt" => Cbrt,
        "erf" => Erf,
        "erfc" => Erfc,
        "normcdf" => NormCdf,
        "lognormcdf" => LogNormCdf,
        "gamma" => Gamma,
        "lgamma" => Lgamma,
        "softplus" => Softplus,
        "sigmoid" => Sigmoid,
        "logsigmoid" => LogSigmoid,
        "abs" => Abs,
        "sin" => Sin,
        "cos" => Cos,
        "tan" => Tan,
        "asin" | "arcsin" => Asin,
        "acos" | "arccos" => Acos,
        "atan" | "arctan" => Atan,
        "sinh" => Sinh,
        "cosh" => Cosh,
        "tanh" => Tanh,
        "asinh" | "arcsinh" => Asinh,
        "acosh" | "arccosh" => Acosh,
        "atanh" | "arctanh" => Atanh,
        "floor" => Floor,
        "ceil" => Ceil,
        "round" => Round,
        "signum" | "sign" => Signum,
        "atan2" | "arctan2" => return Some(Function::Atan2),
        "max" => return Some(Function::Max),
        "min" => return Some(Function::Min),
        "pow" | "power" => return Some(Function::Pow),
        "hypot" => return Some(Function::Hypot),
        "logaddexp" => return Some(Function::LogAddExp),
        "logsumexp" => return Some(Function::LogSumExp),
        _ => return None,
    };
    Some(Function::One(f))
}
