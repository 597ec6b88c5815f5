//! The compiler: meval's RPN to a stack program, with names resolved, parameters and
//! constants folded, integer powers recognised; and the branch points ([`Switch`]).

use super::Program;
use super::error::ExprError;
use super::eval::Op;
use super::eval::exec;
use super::functions::Arity;
use super::functions::FUNCTIONS;
use super::functions::Fun1;
use super::functions::Function;
use super::functions::MAX_POWI;
use super::functions::listed_functions;
use super::functions::lookup_function;
use super::lanes::fuse;
use super::lex::Call;
use super::lex::is_ident_char;
use super::lex::is_ident_start;
use super::logspace;
use super::parse::Parsed;
use super::parse::parse;
use meval::tokenizer::Operation;
use meval::tokenizer::Token;
use std::collections::HashMap;

/// Exponent `p` known at compile time: `powi` for integers, `powf` otherwise.
pub(super) fn const_pow(p: f64) -> Op {
    if p.fract() == 0.0 && p.abs() <= MAX_POWI {
        Op::PowI(p as i32)
    } else {
        Op::PowF(p)
    }
}

/// Builds the instruction list, folding constant sub-expressions on the fly.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) code: Vec<Op>,
    /// The compile-time stack: `Some(v)` for entries that are constants (each of which is a
    /// single `Const` instruction at the matching position at the end of `code`).
    pub(super) konst: Vec<Option<f64>>,
}

impl Builder {
    pub(super) fn emit(&mut self, op: Op) -> Result<(), ()> {
        let k = op.arity();
        let len = self.konst.len();
        if len < k {
            return Err(());
        }
        let folded = match op {
            Op::Const(c) => Some(c),
            Op::Var(_) => None,
            _ if self.konst[len - k..].iter().all(Option::is_some) => {
                let mut tmp: Vec<f64> = self.konst[len - k..].iter().flatten().copied().collect();
                exec::<f64>(op, &[], &mut tmp, k);
                Some(tmp[0])
            }
            _ => None,
        };
        match folded {
            Some(v) => {
                self.code.truncate(self.code.len() - k);
                self.code.push(Op::Const(v));
            }
            None => self.code.push(op),
        }
        self.konst.truncate(len - k);
        self.konst.push(folded);
        Ok(())
    }

    /// `base ^ exponent` with both already on the stack. A constant base with a constant
    /// exponent folds with `powf` (what meval computes); a non-constant base with a constant
    /// exponent gets `powi`/`powf`.
    pub(super) fn emit_pow(&mut self) -> Result<(), ()> {
        let n = self.konst.len();
        match self.konst.last() {
            Some(&Some(p)) if n >= 2 && self.konst[n - 2].is_none() => {
                self.konst.pop();
                self.code.pop();
                self.emit(const_pow(p))
            }
            _ => self.emit(Op::Pow),
        }
    }
}

/// How a [`Switch`]'s value changes the branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchKind {
    /// Where the value changes sign.
    Sign,
    /// Where the value crosses an integer.
    Integer,
    /// Where the value crosses an integer plus ½.
    HalfInteger,
}

/// A sub-expression whose value decides a branch of its expression (see
/// [`Program::switches`]).
#[derive(Clone, Debug)]
pub struct Switch {
    pub kind: SwitchKind,
    code: Vec<Op>,
    n_vars: usize,
}

impl Switch {
    pub(super) fn new(kind: SwitchKind, code: Vec<Op>, n_vars: usize) -> Switch {
        Switch { kind, code, n_vars }
    }
    /// The value at `x`.
    pub fn eval(&self, x: &[f64]) -> f64 {
        assert_eq!(
            x.len(),
            self.n_vars,
            "Switch::eval: wrong number of variables"
        );
        self.eval_with(x, &mut vec![])
    }
    /// [`Switch::eval`] with a stack the caller keeps, for many points.
    pub fn eval_with(&self, x: &[f64], st: &mut Vec<f64>) -> f64 {
        st.clear();
        st.resize(self.code.len() + 1, 0.0);
        let mut sp = 0;
        for &op in &self.code {
            sp = exec(op, x, st, sp);
        }
        st[0]
    }
    /// Indices of the variables the value depends on, ascending.
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
}

/// What a bare identifier in the expression refers to.
#[derive(Clone, Copy)]
pub(super) enum Symbol {
    Var(usize),
    Value(f64),
}

pub(super) fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && is_ident_start(b[0]) && b.iter().all(|&c| is_ident_char(c))
}

pub(super) fn join(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.map(|s| s.as_ref().to_string()).collect();
    v.join(", ")
}

/// Edit distance (insertions, deletions, substitutions, transpositions of neighbours).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The known function closest to an unknown `name`, if one is close enough to be a likely
/// typo (or a common other name: `expit` is `sigmoid`, `logistic` too).
pub(super) fn did_you_mean(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let synonym = match lower.as_str() {
        "expit" | "logistic" => Some("sigmoid"),
        "log_sigmoid" | "logexpit" => Some("logsigmoid"),
        "gammaln" | "loggamma" | "lngamma" | "ln_gamma" => Some("lgamma"),
        "tgamma" => Some("gamma"),
        "log_softmax" | "logsumexp_" | "lse" => Some("logsumexp"),
        "norm_cdf" | "ndtr" | "phi" => Some("normcdf"),
        "log_ndtr" | "log_norm_cdf" | "lognorm_cdf" | "logndtr" => Some("lognormcdf"),
        "fabs" | "absolute" => Some("abs"),
        "exp1m" => Some("expm1"),
        "log1pexp" | "softplus_" => Some("softplus"),
        _ => None,
    };
    if synonym.is_some() {
        return synonym;
    }
    let mut best: Option<(usize, &'static str)> = None;
    for &(f, _) in FUNCTIONS {
        let d = edit_distance(&lower, f);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, f));
        }
    }
    let (d, f) = best?;
    // A third of the name's length, at least 1, at most 3 edits.
    let limit = (name.chars().count() / 3).clamp(1, 3);
    (d <= limit).then_some(f)
}

impl Program {
    /// Parse and compile `src`.
    ///
    /// `vars` are the variable names, in the order of the `x` slice given to [`eval`].
    /// `params` are named constants, substituted at compile time. `pi` and
    /// `e` are built in; a variable or parameter with one of those names is an error, as are
    /// invalid or duplicate names and a name used both as a variable and as a parameter.
    ///
    /// [`eval`]: Program::eval
    ///
    /// ```
    /// use num_dual::Dual64;
    /// use scorecheck::Program;
    ///
    /// let vars = ["x".to_string(), "y".to_string()];
    /// let params = [("mu".to_string(), 3.0)];
    /// let p = Program::compile("x^2 * y - mu*sin(y)", &vars, &params).unwrap();
    /// // value at (x, y) = (-3, 0)
    /// assert_eq!(p.eval(&[-3.0, 0.0]), 0.0);
    /// // d/dx of x^2*y - mu*sin(y) at (-3, 2) is 2*x*y = -12, exactly
    /// let d = p.eval(&[Dual64::new(-3.0, 1.0), Dual64::from(2.0)]);
    /// assert_eq!(d.eps, -12.0);
    /// ```
    pub fn compile(
        src: &str,
        vars: &[String],
        params: &[(String, f64)],
    ) -> Result<Program, ExprError> {
        let raw = Self::raw_code(src, vars, params)?;
        let raw = logspace::rewrite_logs(&raw);
        Self::assemble(src, &raw, vars.len())
    }

    /// Compile the natural logarithm of `src` (a density written as a pdf), by exact
    /// rewriting of its expression tree into log space: `ln(a·b) = ln a + ln b`,
    /// `ln(a/b) = ln a − ln b`, `ln(aⁿ) = n ln|a|`, `ln(exp u) = u`,
    /// `ln(c + exp u) = logaddexp(ln c, u)` (`softplus(u)` for `c = 1`),
    /// `ln(Σ exp uᵢ) = logsumexp(u…)`, `ln(1 + erf u) = ln 2 + lognormcdf(√2 u)`,
    /// `ln Φ(u) = lognormcdf(u)`, `ln Γ(u) = lgamma(u)` for `u > 0`, `ln σ(u) = logsigmoid(u)`,
    /// ..., and `ln` of the value where no rule applies. A factor whose sign is not known
    /// keeps `ln`'s NaN for negative values, so a density that is negative somewhere is
    /// still NaN there (the rules and how signs are kept are documented in `src/expr/logspace.rs`).
    ///
    /// ```
    /// use scorecheck::Program;
    /// let vars = ["x".to_string()];
    /// // The logistic density: exp(-x)/(1+exp(-x))^2 overflows to inf/inf at x = -1000.
    /// let p = Program::compile_log("exp(-x)/(1+exp(-x))^2", &vars, &[]).unwrap();
    /// // ln p = -x - 2 softplus(-x) = -1000 at x = 1000 and at x = -1000.
    /// assert!((p.eval(&[1000.0f64]) + 1000.0).abs() < 1e-9);
    /// assert!((p.eval(&[-1000.0f64]) + 1000.0).abs() < 1e-9);
    /// ```
    pub fn compile_log(
        src: &str,
        vars: &[String],
        params: &[(String, f64)],
    ) -> Result<Program, ExprError> {
        let raw = Self::raw_code(src, vars, params)?;
        let raw = logspace::rewrite_logs(&raw);
        let raw = logspace::log_of(&raw);
        Self::assemble(src, &raw, vars.len())
    }

    /// The program as meval's RPN gives it, with symbols resolved but nothing folded
    /// (`Op::Pow` stands for every power).
    pub(super) fn raw_code(
        src: &str,
        vars: &[String],
        params: &[(String, f64)],
    ) -> Result<Vec<Op>, ExprError> {
        let symbols = Self::symbol_table(src, vars, params)?;
        let parsed = parse(src)?;
        let Parsed { rpn, lexed } = &parsed;

        let mut raw: Vec<Op> = Vec::new();
        let mut depth = 0usize;
        let (mut operand, mut call) = (0usize, 0usize);
        let internal = || {
            ExprError::new(
                src,
                "internal error: meval produced an invalid program",
                None,
            )
        };
        for tok in rpn.iter() {
            let op = match tok {
                Token::Number(v) => {
                    operand += 1;
                    Op::Const(*v)
                }
                Token::Var(name) => {
                    let span = lexed.operands.get(operand).copied();
                    operand += 1;
                    match symbols.get(name.as_str()) {
                        Some(Symbol::Var(i)) => Op::Var(*i),
                        Some(Symbol::Value(v)) => Op::Const(*v),
                        None => return Err(Self::unknown_variable(src, name, span, vars, params)),
                    }
                }
                Token::Unary(Operation::Plus) => continue,
                Token::Unary(Operation::Minus) => Op::Neg,
                Token::Binary(Operation::Pow) => Op::Pow,
                Token::Binary(o) => match o {
                    Operation::Plus => Op::Add,
                    Operation::Minus => Op::Sub,
                    Operation::Times => Op::Mul,
                    Operation::Div => Op::Div,
                    Operation::Rem => Op::Rem,
                    _ => return Err(internal()),
                },
                Token::Func(name, Some(nargs)) => {
                    let site = lexed.calls.get(call).copied();
                    call += 1;
                    Self::function_op(src, name, *nargs, site, &symbols)?
                }
                _ => return Err(internal()),
            };
            if depth < op.arity() {
                return Err(internal());
            }
            depth = depth + 1 - op.arity();
            raw.push(op);
        }
        if depth != 1 {
            return Err(internal());
        }
        Ok(raw)
    }

    /// Fold constants, choose `powi`/`powf` for constant exponents, and build the program.
    pub(super) fn assemble(src: &str, raw: &[Op], n_vars: usize) -> Result<Program, ExprError> {
        let internal = || {
            ExprError::new(
                src,
                "internal error: meval produced an invalid program",
                None,
            )
        };
        let mut b = Builder::default();
        for &op in raw {
            match op {
                Op::Pow => b.emit_pow(),
                op => b.emit(op),
            }
            .map_err(|_| internal())?;
        }
        if b.konst.len() != 1 {
            return Err(internal());
        }
        let (mut depth, mut max_depth) = (0usize, 0usize);
        for op in &b.code {
            depth = depth + 1 - op.arity();
            max_depth = max_depth.max(depth);
        }
        Ok(Program {
            source: src.to_string(),
            lanes: fuse(&b.code),
            code: b.code,
            n_vars,
            max_depth,
        })
    }

    pub(super) fn symbol_table<'a>(
        src: &str,
        vars: &'a [String],
        params: &'a [(String, f64)],
    ) -> Result<HashMap<&'a str, Symbol>, ExprError> {
        let fail = |msg: String| Err(ExprError::new(src, msg, None));
        let mut symbols: HashMap<&str, Symbol> = HashMap::new();
        let names = vars
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), Symbol::Var(i), "variable"))
            .chain(
                params
                    .iter()
                    .map(|(p, v)| (p.as_str(), Symbol::Value(*v), "parameter")),
            );
        for (name, sym, what) in names {
            if name == "pi" || name == "e" {
                return fail(format!(
                    "a {what} named `{name}` would shadow the constant {name} = {}; rename the {what}",
                    if name == "pi" {
                        "3.14159…"
                    } else {
                        "2.71828…"
                    }
                ));
            }
            if !valid_name(name) {
                return fail(format!(
                    "invalid {what} name `{name}`: use letters, digits and `_`, not starting with a digit"
                ));
            }
            if let Some(prev) = symbols.insert(name, sym) {
                let msg = match (prev, sym) {
                    (Symbol::Var(_), Symbol::Var(_)) => {
                        format!("variable `{name}` is listed twice")
                    }
                    (Symbol::Value(_), Symbol::Value(_)) => {
                        format!("parameter `{name}` is listed twice")
                    }
                    _ => format!("name `{name}` is used for both a variable and a parameter"),
                };
                return fail(msg);
            }
        }
        symbols.insert("pi", Symbol::Value(std::f64::consts::PI));
        symbols.insert("e", Symbol::Value(std::f64::consts::E));
        Ok(symbols)
    }

    pub(super) fn unknown_variable(
        src: &str,
        name: &str,
        span: Option<(usize, usize)>,
        vars: &[String],
        params: &[(String, f64)],
    ) -> ExprError {
        if lookup_function(name).is_some() {
            return ExprError::new(
                src,
                format!("function `{name}` is used without parentheses; call it like `{name}(x)`"),
                span,
            );
        }
        let mut msg = format!("unknown variable `{name}`");
        if vars.is_empty() {
            msg.push_str("; no variables are defined");
        } else {
            msg.push_str("; known variables: ");
            msg.push_str(&join(vars.iter()));
        }
        if !params.is_empty() {
            msg.push_str("; parameters: ");
            msg.push_str(&join(params.iter().map(|p| &p.0)));
        }
        ExprError::new(src, msg, span)
    }

    pub(super) fn function_op(
        src: &str,
        name: &str,
        nargs: usize,
        site: Option<Call>,
        symbols: &HashMap<&str, Symbol>,
    ) -> Result<Op, ExprError> {
        let name_span = site.map(|c| c.name);
        let Some(f) = lookup_function(name) else {
            let msg = match symbols.get(name) {
                Some(Symbol::Var(_)) => format!(
                    "`{name}` is a variable, not a function (write `{name}*(...)` to multiply)"
                ),
                Some(Symbol::Value(_)) => format!(
                    "`{name}` is a constant, not a function (write `{name}*(...)` to multiply)"
                ),
                None => match did_you_mean(name) {
                    Some(best) => format!(
                        "unknown function `{name}`; did you mean `{best}`? (supported functions: {})",
                        listed_functions()
                    ),
                    None => format!(
                        "unknown function `{name}`; supported functions: {}",
                        listed_functions()
                    ),
                },
            };
            return Err(ExprError::new(src, msg, name_span));
        };
        let arity = FUNCTIONS
            .iter()
            .find(|(f, _)| *f == name)
            .map_or(Arity::Exactly(1), |f| f.1);
        if !arity.accepts(nargs) {
            let msg = match arity {
                Arity::Exactly(k) => format!(
                    "function `{name}` takes {k} argument{}, got {nargs}",
                    if k == 1 { "" } else { "s" }
                ),
                Arity::AtLeast(k) => format!(
                    "function `{name}` takes at least {k} argument{}, got {nargs}",
                    if k == 1 { "" } else { "s" }
                ),
            };
            return Err(ExprError::new(src, msg, site.map(|c| c.whole)));
        }
        Ok(match f {
            Function::One(g) => Op::Call(g),
            Function::Atan2 => Op::Atan2,
            Function::Max => Op::Max(nargs),
            Function::Min => Op::Min(nargs),
            Function::Pow => Op::Pow,
            Function::Hypot => Op::Hypot,
            Function::LogAddExp => Op::LogAddExp,
            Function::LogSumExp => Op::LogSumExp(nargs),
        })
    }
}

impl Program {
    /// The places where a branch of the expression changes: for each `abs`, `signum`,
    /// `max`, `min`, `floor`, `ceil`, `round` and `%`, the sub-expression whose sign (or
    /// crossing of an integer, or of a half-integer for `round`) switches it. `max`/`min` of
    /// `k` arguments give the pairwise differences; `a % b` gives `a / b`.
    pub fn switches(&self) -> Vec<Switch> {
        // Code range of each stack entry, simulated over the program.
        let mut stack: Vec<usize> = vec![];
        let mut out = vec![];
        for (i, &op) in self.code.iter().enumerate() {
            let a = op.arity();
            let starts: Vec<usize> = stack.split_off(stack.len() - a);
            let range = |j: usize| -> Vec<Op> {
                let end = if j + 1 < a { starts[j + 1] } else { i };
                self.code[starts[j]..end].to_vec()
            };
            let kind = match op {
                Op::Call(Fun1::Abs) | Op::Call(Fun1::Signum) => Some(SwitchKind::Sign),
                Op::Call(Fun1::Floor) | Op::Call(Fun1::Ceil) => Some(SwitchKind::Integer),
                Op::Call(Fun1::Round) => Some(SwitchKind::HalfInteger),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(Switch::new(kind, range(0), self.n_vars));
            }
            match op {
                Op::Max(k) | Op::Min(k) => {
                    for p in 0..k {
                        for q in p + 1..k {
                            let mut c = range(p);
                            c.extend(range(q));
                            c.push(Op::Sub);
                            out.push(Switch::new(SwitchKind::Sign, c, self.n_vars));
                        }
                    }
                }
                Op::Rem => {
                    let mut c = range(0);
                    c.extend(range(1));
                    c.push(Op::Div);
                    out.push(Switch::new(SwitchKind::Integer, c, self.n_vars));
                }
                _ => {}
            }
            stack.push(starts.first().copied().unwrap_or(i));
        }
        out
    }
}
