//! The span lexer: meval 0.2's tokenizer again, but recording byte spans for error carets.

use super::error::ExprError;
use super::error::one_line;

/// Token kinds, one per meval token, in the same order as `meval::tokenizer::tokenize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Lexeme {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A function call, recorded when its closing parenthesis is seen (the order in which
/// meval's shunting-yard emits `Token::Func`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Call {
    pub(super) name: (usize, usize),
    pub(super) whole: (usize, usize),
}

#[derive(Debug, Default)]
pub(super) struct Lexed {
    pub(super) toks: Vec<Lexeme>,
    /// Spans of numbers and variables in source order (= their order in meval's RPN).
    pub(super) operands: Vec<(usize, usize)>,
    /// Function calls in order of their closing parenthesis (= their order in meval's RPN).
    pub(super) calls: Vec<Call>,
}

pub(super) struct Open {
    pub(super) func: Option<(usize, usize)>,
    pub(super) paren: usize,
}

/// nom's `multispace`: the only whitespace meval skips.
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(super) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(super) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(super) fn scan_digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

pub(super) fn scan_ident(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ident_char(b[i]) {
        i += 1;
    }
    i
}

/// meval's number: `digits ('.' digits?)? ([eE] [+-]? digits)?`. An `e` that is not followed
/// by an exponent makes the whole number invalid; `Err` carries the end of the bad text.
pub(super) fn scan_number(b: &[u8], start: usize) -> Result<usize, usize> {
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

pub(super) fn char_at(src: &str, pos: usize) -> char {
    src[pos..].chars().next().unwrap_or(' ')
}

pub(super) fn unexpected_char(src: &str, pos: usize) -> (String, (usize, usize)) {
    let c = char_at(src, pos);
    (
        format!("unexpected character `{}`", c.escape_debug()),
        (pos, pos + c.len_utf8()),
    )
}

pub(super) fn factorial_error(pos: usize) -> (String, (usize, usize)) {
    ("factorial `!` is not supported".to_string(), (pos, pos + 1))
}

/// Error where a number, variable, function, unary sign or `(` was expected.
pub(super) fn operand_error(src: &str, pos: usize) -> (String, (usize, usize)) {
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
pub(super) fn operator_error(src: &str, pos: usize, parens: &[Open]) -> (String, (usize, usize)) {
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
pub(super) fn lex(src: &str) -> Result<Lexed, ExprError> {
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
