//! Parsing: the limits checked on the raw text, normalisation (`**`, module prefixes),
//! the span lexer, then meval's RPN; and [`free_symbols`].

use super::MAX_EXPR_BYTES;
use super::MAX_NESTING;
use super::error::ExprError;
use super::error::floor_boundary;
use super::functions::CONSTANTS;
use super::functions::PREFIXES;
use super::functions::is_function;
use super::lex::Kind;
use super::lex::Lexed;
use super::lex::char_at;
use super::lex::is_ident_char;
use super::lex::is_ident_start;
use super::lex::is_ws;
use super::lex::lex;
use super::lex::scan_ident;
use super::lex::scan_number;
use std::collections::HashSet;

pub(super) struct Parsed {
    pub(super) rpn: meval::Expr,
    pub(super) lexed: Lexed,
}

/// Checks done on the raw text before anything else touches it.
pub(super) fn check_limits(src: &str) -> Result<(), ExprError> {
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
pub(super) fn from_meval_error(src: &str, lexed: &Lexed, err: meval::Error) -> ExprError {
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
pub(super) fn normalize(src: &str) -> String {
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
pub(super) fn in_source(src: &str, mut e: ExprError) -> ExprError {
    if let Some((start, end)) = e.span
        && src[start..].starts_with("**")
    {
        e.message = e.message.replace("`^`", "`**`");
        e.span = Some((start, end.max(start + 2)));
    }
    e.source = src.to_string();
    e
}

pub(super) fn parse(src: &str) -> Result<Parsed, ExprError> {
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
/// name used without parentheses is left to [`Program::compile`](super::Program::compile) to report).
///
/// Fails with the same syntax errors as [`Program::compile`](super::Program::compile).
///
/// ```
/// use scorecheck::free_symbols;
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
