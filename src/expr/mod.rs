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
//!   power`. Values and derivatives of the special functions are in [`crate::special`].
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

use std::collections::{HashMap, HashSet};
use std::fmt;

use meval::tokenizer::{Operation, Token};
use num_dual::DualNum;

use crate::special;

mod logspace;

/// Longest accepted expression, in bytes.
pub const MAX_EXPR_BYTES: usize = 100_000;

/// Deepest accepted nesting of parentheses (function-call parentheses included).
pub const MAX_NESTING: usize = 200;

/// Evaluation stacks up to this many entries live in a fixed-size array (no allocation).
pub const INLINE_STACK: usize = 64;

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
const NUMPY_ALIASES: &[&str] = &[
    "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "power",
];

/// The function names listed in error messages.
fn listed_functions() -> String {
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
const MAX_POWI: f64 = 1024.0;

/// Sources longer than this many characters are shown as a window around the error.
const SNIPPET_CHARS: usize = 160;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An error in an expression (or in the variable/parameter names given with it).
///
/// `Display` renders the message, then (when `span` is set) the source and a line of carets
/// under the span, both indented by two spaces:
///
/// ```text
/// unknown variable `z`; known variables: x, y
///   x + z
///       ^
/// ```
///
/// Tabs and line breaks in the source are shown as spaces so that the carets line up
/// (columns are counted in characters). Sources longer than 160 characters are shown as a
/// window around the span, with `...` marking the cut ends.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// One-line description; starts lowercase, no trailing period.
    pub message: String,
    /// The expression text the error refers to.
    pub source: String,
    /// Byte range of the offending text in `source`, if there is one.
    pub span: Option<(usize, usize)>,
}

impl ExprError {
    fn new(src: &str, message: impl Into<String>, span: Option<(usize, usize)>) -> Self {
        ExprError {
            message: message.into(),
            source: src.to_string(),
            span,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some((start, end)) = self.span {
            let (line, col, width) = snippet(&self.source, start, end);
            write!(f, "\n  {line}\n  {}{}", " ".repeat(col), "^".repeat(width))?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// Largest char boundary of `s` that is `<= i`.
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The source line to print, the caret column and the caret count (all in chars).
fn snippet(src: &str, start: usize, end: usize) -> (String, usize, usize) {
    let start = floor_boundary(src, start);
    let end = floor_boundary(src, end).max(start);
    let chars: Vec<char> = src
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let col = src[..start].chars().count();
    let width = src[start..end].chars().count().max(1);
    if chars.len() <= SNIPPET_CHARS {
        return (chars.into_iter().collect(), col, width);
    }
    // A window of SNIPPET_CHARS chars starting a little before the span (and ending at the
    // end of the source when the span is near it).
    let n = chars.len();
    let lo = col.saturating_sub(SNIPPET_CHARS / 4).min(n - SNIPPET_CHARS);
    let hi = lo + SNIPPET_CHARS;
    // Carets stop at the window's end (or mark one column past it, at the very end).
    let width = width.min(hi.max(col + 1) - col);
    let mut line = String::new();
    let mut shown_col = col - lo;
    if lo > 0 {
        line.push_str("...");
        shown_col += 3;
    }
    line.extend(&chars[lo..hi]);
    if hi < n {
        line.push_str("...");
    }
    (line, shown_col, width)
}

/// Source text for quoting inside a one-line message.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Span lexer (mirrors meval 0.2's tokenizer, but records byte spans)
// ---------------------------------------------------------------------------------------------

/// Token kinds, one per meval token, in the same order as `meval::tokenizer::tokenize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Number,
    Ident,
    /// `name(` (optionally with whitespace before the parenthesis): one meval token.
    Func,
    Unary,
    Binary,
    LParen,
    RParen,
    Comma,
}

#[derive(Clone, Copy, Debug)]
struct Lexeme {
    kind: Kind,
    start: usize,
    end: usize,
}

/// A function call, recorded when its closing parenthesis is seen (the order in which
/// meval's shunting-yard emits `Token::Func`).
#[derive(Clone, Copy, Debug)]
struct Call {
    name: (usize, usize),
    whole: (usize, usize),
}

#[derive(Debug, Default)]
struct Lexed {
    toks: Vec<Lexeme>,
    /// Spans of numbers and variables in source order (= their order in meval's RPN).
    operands: Vec<(usize, usize)>,
    /// Function calls in order of their closing parenthesis (= their order in meval's RPN).
    calls: Vec<Call>,
}

struct Open {
    func: Option<(usize, usize)>,
    paren: usize,
}

/// nom's `multispace`: the only whitespace meval skips.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn scan_digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn scan_ident(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ident_char(b[i]) {
        i += 1;
    }
    i
}

/// meval's number: `digits ('.' digits?)? ([eE] [+-]? digits)?`. An `e` that is not followed
/// by an exponent makes the whole number invalid; `Err` carries the end of the bad text.
fn scan_number(b: &[u8], start: usize) -> Result<usize, usize> {
    let mut i = scan_digits(b, start);
    if i < b.len() && b[i] == b'.' {
        i = scan_digits(b, i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let k = scan_digits(b, j);
        if k == j {
            return Err(j);
        }
        i = k;
    }
    Ok(i)
}

fn char_at(src: &str, pos: usize) -> char {
    src[pos..].chars().next().unwrap_or(' ')
}

fn unexpected_char(src: &str, pos: usize) -> (String, (usize, usize)) {
    let c = char_at(src, pos);
    (
        format!("unexpected character `{}`", c.escape_debug()),
        (pos, pos + c.len_utf8()),
    )
}

fn factorial_error(pos: usize) -> (String, (usize, usize)) {
    ("factorial `!` is not supported".to_string(), (pos, pos + 1))
}

/// Error where a number, variable, function, unary sign or `(` was expected.
fn operand_error(src: &str, pos: usize) -> (String, (usize, usize)) {
    let b = src.as_bytes();
    match b[pos] {
        b'!' => factorial_error(pos),
        c @ (b'*' | b'/' | b'%' | b'^' | b')' | b',') => (
            format!("missing operand before `{}`", c as char),
            (pos, pos + 1),
        ),
        b'.' if pos + 1 < b.len() && b[pos + 1].is_ascii_digit() => {
            let end = scan_digits(b, pos + 1);
            let text = &src[pos..end];
            (
                format!("invalid number `{text}` (write `0{text}`)"),
                (pos, end),
            )
        }
        c if c.is_ascii_digit() => {
            let end = match scan_number(b, pos) {
                Ok(end) | Err(end) => end,
            };
            (format!("invalid number `{}`", &src[pos..end]), (pos, end))
        }
        _ => unexpected_char(src, pos),
    }
}

/// Error where an operator, `)` or `,` was expected.
fn operator_error(src: &str, pos: usize, parens: &[Open]) -> (String, (usize, usize)) {
    let b = src.as_bytes();
    match b[pos] {
        b'!' => factorial_error(pos),
        b')' => ("unmatched `)`".to_string(), (pos, pos + 1)),
        b',' => {
            let msg = if parens.is_empty() {
                "unexpected `,` outside function arguments"
            } else {
                "unexpected `,` inside parentheses that are not a function call"
            };
            (msg.to_string(), (pos, pos + 1))
        }
        b'(' => ("missing operator before `(`".to_string(), (pos, pos + 1)),
        c if c.is_ascii_digit() || is_ident_start(c) => {
            let mut end = pos;
            while end < b.len() && (is_ident_char(b[end]) || b[end] == b'.') {
                end += 1;
            }
            (
                format!("missing operator before `{}`", &src[pos..end]),
                (pos, end),
            )
        }
        _ => unexpected_char(src, pos),
    }
}

/// Tokenise like meval 0.2 does (same tokens, same accept/reject decisions, same error
/// positions), keeping byte spans. Iterative; linear in the input length.
fn lex(src: &str) -> Result<Lexed, ExprError> {
    let b = src.as_bytes();
    let n = b.len();
    let mut out = Lexed::default();
    let mut parens: Vec<Open> = Vec::new();
    let mut want_operand = true;
    let mut pos = 0;
    let fail = |(msg, span): (String, (usize, usize))| ExprError::new(src, msg, Some(span));
    loop {
        while pos < n && is_ws(b[pos]) {
            pos += 1;
        }
        if pos >= n {
            break;
        }
        let c = b[pos];
        let start = pos;
        let kind;
        if want_operand {
            if c.is_ascii_digit() {
                pos = scan_number(b, pos).map_err(|_| fail(operand_error(src, start)))?;
                out.operands.push((start, pos));
                want_operand = false;
                kind = Kind::Number;
            } else if is_ident_start(c) {
                let name_end = scan_ident(b, pos);
                let mut q = name_end;
                while q < n && is_ws(b[q]) {
                    q += 1;
                }
                if q < n && b[q] == b'(' {
                    parens.push(Open {
                        func: Some((start, name_end)),
                        paren: q,
                    });
                    pos = q + 1;
                    kind = Kind::Func;
                } else {
                    pos = name_end;
                    out.operands.push((start, pos));
                    want_operand = false;
                    kind = Kind::Ident;
                }
            } else if c == b'+' || c == b'-' {
                pos += 1;
                kind = Kind::Unary;
            } else if c == b'(' {
                parens.push(Open {
                    func: None,
                    paren: pos,
                });
                pos += 1;
                kind = Kind::LParen;
            } else {
                return Err(fail(operand_error(src, pos)));
            }
        } else {
            match c {
                b'+' | b'-' | b'*' | b'/' | b'%' | b'^' => {
                    want_operand = true;
                    kind = Kind::Binary;
                }
                b')' if !parens.is_empty() => {
                    if let Some(Open {
                        func: Some(name), ..
                    }) = parens.pop()
                    {
                        out.calls.push(Call {
                            name,
                            whole: (name.0, pos + 1),
                        });
                    }
                    kind = Kind::RParen;
                }
                b',' if matches!(parens.last(), Some(Open { func: Some(_), .. })) => {
                    want_operand = true;
                    kind = Kind::Comma;
                }
                _ => return Err(fail(operator_error(src, pos, &parens))),
            }
            pos += 1;
        }
        out.toks.push(Lexeme {
            kind,
            start,
            end: pos,
        });
    }
    if want_operand {
        return Err(match out.toks.last() {
            None => ExprError::new(src, "empty expression", None),
            Some(t) => ExprError::new(
                src,
                format!("missing operand after `{}`", one_line(&src[t.start..t.end])),
                Some((t.start, t.end)),
            ),
        });
    }
    if let Some(open) = parens.last() {
        return Err(ExprError::new(
            src,
            "unclosed `(`",
            Some((open.paren, open.paren + 1)),
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parsing: limits, span lexer, meval
// ---------------------------------------------------------------------------------------------

struct Parsed {
    rpn: meval::Expr,
    lexed: Lexed,
}

/// Checks done on the raw text before anything else touches it.
fn check_limits(src: &str) -> Result<(), ExprError> {
    if src.len() > MAX_EXPR_BYTES {
        return Err(ExprError::new(
            src,
            format!(
                "expression is too long: {} bytes (limit {MAX_EXPR_BYTES})",
                src.len()
            ),
            None,
        ));
    }
    if src.bytes().all(is_ws) {
        return Err(ExprError::new(src, "empty expression", None));
    }
    let (mut depth, mut deepest, mut first_over) = (0usize, 0usize, None);
    for (i, c) in src.bytes().enumerate() {
        if c == b'(' {
            depth += 1;
            deepest = deepest.max(depth);
            if depth > MAX_NESTING && first_over.is_none() {
                first_over = Some(i);
            }
        } else if c == b')' {
            depth = depth.saturating_sub(1);
        }
    }
    if let Some(i) = first_over {
        return Err(ExprError::new(
            src,
            format!(
                "expression nests too deeply: {deepest} levels of parentheses (limit {MAX_NESTING})"
            ),
            Some((i, i + 1)),
        ));
    }
    Ok(())
}

/// Translate an error from meval. The span lexer rejects everything meval rejects first, so
/// this is only a safety net.
fn from_meval_error(src: &str, lexed: &Lexed, err: meval::Error) -> ExprError {
    use meval::{ParseError, RPNError};
    let tok_span = |i: usize| lexed.toks.get(i).map(|t| (t.start, t.end));
    match err {
        meval::Error::ParseError(ParseError::UnexpectedToken(i)) if i < src.len() => {
            let i = floor_boundary(src, i);
            let c = char_at(src, i);
            ExprError::new(
                src,
                format!("unexpected `{}`", c.escape_debug()),
                Some((i, i + c.len_utf8())),
            )
        }
        meval::Error::ParseError(ParseError::MissingRParen(_)) => {
            ExprError::new(src, "unclosed `(`", None)
        }
        meval::Error::RPNError(RPNError::MismatchedLParen(i)) => {
            ExprError::new(src, "unclosed `(`", tok_span(i))
        }
        meval::Error::RPNError(RPNError::MismatchedRParen(i)) => {
            ExprError::new(src, "unmatched `)`", tok_span(i))
        }
        meval::Error::RPNError(RPNError::UnexpectedComma(i)) => ExprError::new(
            src,
            "unexpected `,` outside function arguments",
            tok_span(i),
        ),
        meval::Error::RPNError(RPNError::NotEnoughOperands(_)) => {
            ExprError::new(src, "missing operand", Some((0, src.len())))
        }
        meval::Error::RPNError(RPNError::TooManyOperands) => {
            ExprError::new(src, "too many operands", Some((0, src.len())))
        }
        other => ExprError::new(src, format!("cannot parse expression: {other}"), None),
    }
}

/// The text the lexer and meval see: `**` becomes `^ ` and a module prefix before a function
/// call or a known constant (`np.exp(`, `math.pi`) becomes spaces. Every byte keeps its position,
/// so spans found in it point at the same text in the user's source.
fn normalize(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'*' && b.get(i + 1) == Some(&b'*') {
            out[i] = b'^';
            out[i + 1] = b' ';
            i += 2;
            continue;
        }
        let at_word_start = i == 0 || !(is_ident_char(b[i - 1]) || b[i - 1] == b'.');
        if at_word_start && is_ident_start(b[i]) {
            let rest = &src[i..];
            if let Some(p) = PREFIXES.iter().find(|p| rest.starts_with(**p)) {
                let j = i + p.len();
                let end = scan_ident(b, j);
                let name = &src[j..end];
                let mut q = end;
                while q < b.len() && is_ws(b[q]) {
                    q += 1;
                }
                // Before a function call (known or not: an unknown one then gets the
                // did-you-mean), or before a known constant.
                let call = q < b.len() && b[q] == b'(';
                if end > j && (call || CONSTANTS.iter().any(|(c, _)| *c == name)) {
                    out[i..j].fill(b' ');
                    i = end;
                    continue;
                }
            }
            i = scan_ident(b, i);
            continue;
        }
        if b[i].is_ascii_digit() {
            // Skip the whole number (so that `1e5` is not taken apart).
            i = match scan_number(b, i) {
                Ok(end) | Err(end) => end.max(i + 1),
            };
            continue;
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    String::from_utf8(out).unwrap_or_else(|_| src.to_string())
}

/// An error found in the normalized text, shown against the user's own text.
fn in_source(src: &str, mut e: ExprError) -> ExprError {
    if let Some((start, end)) = e.span
        && src[start..].starts_with("**")
    {
        e.message = e.message.replace("`^`", "`**`");
        e.span = Some((start, end.max(start + 2)));
    }
    e.source = src.to_string();
    e
}

fn parse(src: &str) -> Result<Parsed, ExprError> {
    check_limits(src)?;
    let norm = normalize(src);
    let lexed = lex(&norm).map_err(|e| in_source(src, e))?;
    let rpn: meval::Expr = norm
        .parse()
        .map_err(|e| in_source(src, from_meval_error(&norm, &lexed, e)))?;
    Ok(Parsed { rpn, lexed })
}

/// The free symbols of `src`, in order of first appearance: identifiers used as values that
/// are not `pi` or `e`, not in `known`, and not the name of a supported function (a function
/// name used without parentheses is left to [`Program::compile`] to report).
///
/// Fails with the same syntax errors as [`Program::compile`].
///
/// ```
/// use scorecheck::expr::free_symbols;
/// let known = vec!["mu".to_string()];
/// let syms = free_symbols("exp(-(y - mu)^2) * x + y * pi", &known).unwrap();
/// assert_eq!(syms, ["y", "x"]);
/// ```
pub fn free_symbols(src: &str, known: &[String]) -> Result<Vec<String>, ExprError> {
    let parsed = parse(src)?;
    let known: HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for tok in parsed.lexed.toks.iter().filter(|t| t.kind == Kind::Ident) {
        let name = &src[tok.start..tok.end];
        if name != "pi"
            && name != "e"
            && !known.contains(name)
            && !is_function(name)
            && seen.insert(name)
        {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fun1 {
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
enum Function {
    One(Fun1),
    Atan2,
    Max,
    Min,
    Pow,
    Hypot,
    LogAddExp,
    LogSumExp,
}

fn lookup_function(name: &str) -> Option<Function> {
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

/// One instruction of the stack machine.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
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
    fn arity(self) -> usize {
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

/// `v^n` for an integer `n`. Squares and cubes are products (`powi` would call the
/// runtime's power function twice for a dual number); negative `n` is `(1/v)^|n|`.
#[inline(always)]
fn powi<D: DualNum<Primitive = f64> + Copy>(v: D, n: i32) -> D {
    match n {
        2 => v * v,
        3 => v * v * v,
        n if n < 0 => v.recip().powi(-n),
        n => v.powi(n),
    }
}

/// `v` with its real part replaced by `re` (all derivative parts unchanged).
#[inline]
fn with_re<D: DualNum<Primitive = f64> + Copy>(v: D, re: f64) -> D {
    v - D::from(v.re()) + D::from(re)
}

#[inline]
fn abs<D: DualNum<Primitive = f64> + Copy>(v: D) -> D {
    if v.re() < 0.0 {
        -v
    } else {
        // `+ 0.0` turns a real part of -0.0 into +0.0, like f64::abs.
        v + 0.0
    }
}

/// `a - b*q` with `q = trunc(a/b)` held constant; the real part is exactly `re(a) % re(b)`.
#[inline]
fn rem<D: DualNum<Primitive = f64> + Copy>(a: D, b: D) -> D {
    let (ar, br) = (a.re(), b.re());
    let r = ar % br;
    // (ar - r)/br is an integer in exact arithmetic; rounding recovers the quotient that
    // fmod used, even where ar/br itself rounds across an integer.
    let q = ((ar - r) / br).round();
    if q == 0.0 {
        return a;
    }
    with_re(a - b * q, r)
}

/// `atan2(y, x)` with exact derivatives in every quadrant.
///
/// Rotating `(x, y)` by minus the angle `t0` of the evaluation point gives
/// `atan2(y, x) = t0 + atan(num/den)` with `num = c*y - s*x` and `den = c*x + s*y`
/// (`c`, `s` proportional to `cos t0`, `sin t0`). This holds in a whole neighbourhood of the
/// point because `den > 0` there, so every derivative order is exact, and `num/den` is close
/// to 0 where `atan` is well conditioned.
#[inline]
fn atan2<D: DualNum<Primitive = f64> + Copy>(y: D, x: D) -> D {
    let (yr, xr) = (y.re(), x.re());
    let t0 = yr.atan2(xr);
    let h = xr.abs().max(yr.abs());
    if !(h.is_finite() && h > 0.0) {
        // Origin, infinities, NaN: the value is still std's; derivatives are undefined.
        return y.atan2(x);
    }
    // Work with (x, y)/h so that neither tiny nor huge coordinates under- or overflow.
    let (c, s) = (xr / h, yr / h);
    let (xs, ys) = (x / h, y / h);
    let q = ((ys * c - xs * s) / (xs * c + ys * s)).atan();
    if !q.re().is_finite() {
        return y.atan2(x);
    }
    with_re(q, t0)
}

/// The argument with the largest (`greater = true`) or smallest real part; first wins ties,
/// NaNs lose unless all are NaN.
#[inline]
fn pick<D: DualNum<Primitive = f64> + Copy>(args: &[D], greater: bool) -> D {
    let mut best = args[0];
    for &v in &args[1..] {
        let (vr, br) = (v.re(), best.re());
        let better = if greater { vr > br } else { vr < br };
        if better || (br.is_nan() && !vr.is_nan()) {
            best = v;
        }
    }
    best
}

#[inline]
fn call1<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: D) -> D {
    match f {
        Fun1::Sqrt => v.sqrt(),
        Fun1::Exp => v.exp(),
        Fun1::Ln => v.ln(),
        Fun1::Abs => abs(v),
        Fun1::Sin => v.sin(),
        Fun1::Cos => v.cos(),
        Fun1::Tan => v.tan(),
        Fun1::Asin => v.asin(),
        Fun1::Acos => v.acos(),
        Fun1::Atan => v.atan(),
        Fun1::Sinh => v.sinh(),
        Fun1::Cosh => v.cosh(),
        Fun1::Tanh => v.tanh(),
        Fun1::Asinh => v.asinh(),
        Fun1::Acosh => v.acosh(),
        Fun1::Atanh => v.atanh(),
        Fun1::Floor => D::from(v.re().floor()),
        Fun1::Ceil => D::from(v.re().ceil()),
        Fun1::Round => D::from(v.re().round()),
        Fun1::Signum => D::from(v.re().signum()),
        _ => call_special(f, v),
    }
}

/// The functions added for statistics, kept out of line so that the hot dispatch of the
/// elementary operations stays as small as it was.
#[inline(never)]
fn call_special<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: D) -> D {
    match f {
        Fun1::Log1p => v.ln_1p(),
        Fun1::Expm1 => v.exp_m1(),
        Fun1::Log2 => v.log2(),
        Fun1::Log10 => v.log10(),
        Fun1::Cbrt => v.cbrt(),
        Fun1::Erf => special::erf(v),
        Fun1::Erfc => special::erfc(v),
        Fun1::NormCdf => special::normcdf(v),
        Fun1::LogNormCdf => special::lognormcdf(v),
        Fun1::Gamma => special::gamma(v),
        Fun1::Lgamma => special::lgamma(v),
        Fun1::Softplus => special::softplus(v),
        Fun1::Sigmoid => special::sigmoid(v),
        Fun1::LogSigmoid => special::logsigmoid(v),
        _ => unreachable!("call_special: {f:?}"),
    }
}

/// Execute one instruction on `st[..sp]`; returns the new stack pointer. Shared by
/// evaluation and by constant folding (with `D = f64`), so folded constants get exactly the
/// value the program would compute.
#[inline(always)]
fn exec<D: DualNum<Primitive = f64> + Copy>(op: Op, x: &[D], st: &mut [D], sp: usize) -> usize {
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
fn exec_special<D: DualNum<Primitive = f64> + Copy>(op: Op, st: &mut [D], sp: usize) -> usize {
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

/// Points evaluated together by [`Program::eval_batch`].
pub const LANES: usize = 32;

/// The variables of points `base..base + m` of a batch of `n` (see [`Program::eval_batch`]).
struct Lanes<'a, D> {
    xs: &'a [D],
    n: usize,
    base: usize,
    m: usize,
}

/// Apply `f` to each value in `v`.
#[inline(always)]
fn map_lanes<D: Copy>(v: &mut [D], f: impl Fn(D) -> D) {
    for a in v {
        *a = f(*a);
    }
}

/// [`exec`] over the lanes of a batch: stack slot `k` holds `st[k * LANES..][..m]`. Each
/// lane sees exactly the operations `exec` would apply to it, in the same order.
#[inline(always)]
fn exec_lanes<D: DualNum<Primitive = f64> + Copy>(
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
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

/// An instruction of the batch evaluator: an [`Op`], or a push of a constant or a variable
/// fused with the operator that follows it (`top = top ∘ c`, `top = top ∘ x_i`): the same
/// arithmetic on the same values as the two instructions, without the stack slot between.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LaneOp {
    Op(Op),
    WithConst(Bin, f64),
    WithVar(Bin, usize),
}

fn bin_of(op: Op) -> Option<Bin> {
    match op {
        Op::Add => Some(Bin::Add),
        Op::Sub => Some(Bin::Sub),
        Op::Mul => Some(Bin::Mul),
        Op::Div => Some(Bin::Div),
        _ => None,
    }
}

/// The batch instructions of `code` (see [`LaneOp`]).
fn fuse(code: &[Op]) -> Vec<LaneOp> {
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
fn binary_lanes<D: DualNum<Primitive = f64> + Copy>(
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
fn call_lanes<D: DualNum<Primitive = f64> + Copy>(f: Fun1, v: &mut [D]) {
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

/// Exponent `p` known at compile time: `powi` for integers, `powf` otherwise.
fn const_pow(p: f64) -> Op {
    if p.fract() == 0.0 && p.abs() <= MAX_POWI {
        Op::PowI(p as i32)
    } else {
        Op::PowF(p)
    }
}

/// Builds the instruction list, folding constant sub-expressions on the fly.
#[derive(Default)]
struct Builder {
    code: Vec<Op>,
    /// The compile-time stack: `Some(v)` for entries that are constants (each of which is a
    /// single `Const` instruction at the matching position at the end of `code`).
    konst: Vec<Option<f64>>,
}

impl Builder {
    fn emit(&mut self, op: Op) -> Result<(), ()> {
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
    fn emit_pow(&mut self) -> Result<(), ()> {
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
    fn new(kind: SwitchKind, code: Vec<Op>, n_vars: usize) -> Switch {
        Switch { kind, code, n_vars }
    }
    /// The value at `x`.
    pub fn eval(&self, x: &[f64]) -> f64 {
        assert_eq!(
            x.len(),
            self.n_vars,
            "Switch::eval: wrong number of variables"
        );
        let mut st = vec![0.0; self.code.len() + 1];
        let mut sp = 0;
        for &op in &self.code {
            sp = exec(op, x, &mut st, sp);
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
enum Symbol {
    Var(usize),
    Value(f64),
}

fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && is_ident_start(b[0]) && b.iter().all(|&c| is_ident_char(c))
}

fn join(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.map(|s| s.as_ref().to_string()).collect();
    v.join(", ")
}

/// Edit distance (insertions, deletions, substitutions, transpositions of neighbours).
fn edit_distance(a: &str, b: &str) -> usize {
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
fn did_you_mean(name: &str) -> Option<&'static str> {
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
    /// use scorecheck::expr::Program;
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
    /// use scorecheck::expr::Program;
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
    fn raw_code(
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
    fn assemble(src: &str, raw: &[Op], n_vars: usize) -> Result<Program, ExprError> {
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

    fn symbol_table<'a>(
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

    fn unknown_variable(
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

    fn function_op(
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

    fn run<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D], st: &mut [D]) -> D {
        let mut sp = 0;
        for &op in &self.code {
            sp = exec(op, x, st, sp);
        }
        st[0]
    }

    /// Evaluate at `n` points at once: `xs[v * n + l]` is variable `v` at point `l`, and
    /// `out[l]` receives the value at point `l`.
    ///
    /// The points are run [`LANES`] at a time, one instruction over all of them before the
    /// next, so the cost of decoding each instruction is shared; each point's value is
    /// bit-for-bit the one [`eval`](Program::eval) gives.
    ///
    /// ```
    /// use scorecheck::expr::Program;
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

    fn run_lanes<D: DualNum<Primitive = f64> + Copy>(
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

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
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
            "x", "2", "1.5e-3", "sin(", "max(", "(", ")", ",", "+", "-", "*", "^", " ", "e", "2.",
            "y", "!", "$", "1e", "\n",
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
}
