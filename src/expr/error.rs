//! [`ExprError`]: a message with the source and a caret under the offending token.

use std::fmt;

/// Sources longer than this many characters are shown as a window around the error.
pub(super) const SNIPPET_CHARS: usize = 160;

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
    pub(super) fn new(src: &str, message: impl Into<String>, span: Option<(usize, usize)>) -> Self {
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
pub(super) fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The source line to print, the caret column and the caret count (all in chars).
pub(super) fn snippet(src: &str, start: usize, end: usize) -> (String, usize, usize) {
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
pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
