//! Names of variables and parameters: which are valid, and their natural order.

use super::error::{CaseError, Field};

pub(super) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

pub(super) fn check_var_names(vars: &[String], origin: &str) -> Result<(), CaseError> {
    for (i, v) in vars.iter().enumerate() {
        if !is_ident(v) {
            return Err(CaseError::new(
                origin,
                format!("`{v}` is not a valid variable name"),
            ));
        }
        if v == "pi" || v == "e" {
            return Err(CaseError::new(
                origin,
                format!(
                    "a variable named `{v}` would shadow the constant {v} = {}; rename the variable",
                    constant_text(v)
                ),
            ));
        }
        if vars[..i].contains(v) {
            return Err(CaseError::new(
                origin,
                format!("variable `{v}` is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Check `vars` given as values (not from a file).
pub fn check_flag_vars(vars: &[String]) -> Result<(), CaseError> {
    check_var_names(vars, Field::Vars.key()).map_err(|mut e| {
        e.field = Some(Field::Vars);
        e
    })
}

/// The value of the constant `pi` or `e`, for messages.
pub(super) fn constant_text(name: &str) -> &'static str {
    if name == "pi" {
        "3.14159…"
    } else {
        "2.71828…"
    }
}

/// Compare names in natural order: `x2` before `x10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = vec![];
        for ch in s.chars() {
            let dig = ch.is_ascii_digit();
            match out.last_mut() {
                Some((d, t)) if *d == dig => t.push(ch),
                _ => out.push((dig, ch.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = if x.0 && y.0 {
            let (tx, ty) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
            tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
        } else {
            x.1.cmp(&y.1)
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}
