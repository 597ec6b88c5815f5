//! Constant expressions: the value of a parameter or of an interval's end (numbers, `pi`,
//! `e`, `inf`, functions, other parameters), and the `NAME=VALUE` and `LO:HI` forms of
//! values given outside a file.

use super::Src;
use super::error::{CaseError, Field, expr_err};
use crate::expr::{Program, free_symbols};

/// One end of a domain interval: a number, or a constant expression (`"-pi"`, `"2*pi"`,
/// `"inf"`, parameters allowed) evaluated when the case is compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    Value(f64),
    Expr(Src),
}

/// The value of a constant expression (numbers, `pi`, `e`, `inf`, functions, the given
/// parameters).
pub fn constant_of(src: &Src, params: &[(String, f64)], what: &str) -> Result<f64, CaseError> {
    let mut ps: Vec<(String, f64)> = params.to_vec();
    for (name, v) in [("inf", f64::INFINITY), ("infinity", f64::INFINITY)] {
        if !ps.iter().any(|(k, _)| k == name) {
            ps.push((name.to_string(), v));
        }
    }
    let known: Vec<String> = ps.iter().map(|(k, _)| k.clone()).collect();
    let free = free_symbols(&src.text, &known).map_err(|e| expr_err(src, e))?;
    if let Some(f) = free.first() {
        let hint = if params.is_empty() {
            "no parameters are defined".to_string()
        } else {
            format!(
                "parameters: {}",
                params
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(CaseError::new(
            src.origin.clone(),
            if src.text.trim() == f {
                format!("{what} must be a constant expression; `{f}` is not a parameter ({hint})")
            } else {
                format!(
                    "{what} must be a constant expression; `{f}` in `{}` is not a parameter ({hint})",
                    src.text
                )
            },
        ));
    }
    let p = Program::compile(&src.text, &[], &ps).map_err(|e| expr_err(src, e))?;
    let v = p.constant_value().unwrap_or_else(|| p.eval::<f64>(&[]));
    if v.is_nan() {
        return Err(CaseError::new(
            src.origin.clone(),
            format!("{what} `{}` is NaN", src.text),
        ));
    }
    Ok(v)
}

/// Validate `[lo, hi]`.
pub fn check_interval(lo: f64, hi: f64, origin: &str) -> Result<(f64, f64), CaseError> {
    if lo.is_nan() || hi.is_nan() {
        return Err(CaseError::new(origin, "an interval end is NaN"));
    }
    if lo >= hi {
        return Err(CaseError::new(
            origin,
            format!(
                "the interval [{lo}, {hi}] is empty: the lower end must be below the upper end"
            ),
        ));
    }
    Ok((lo, hi))
}

/// Parse `name=value` (for `--param`); the value is a number or a constant expression
/// (`pi/2`, `sqrt(2)`, `inf`).
pub fn parse_param(s: &str) -> Result<(String, f64), CaseError> {
    let (k, v) = s.split_once('=').ok_or_else(|| {
        CaseError::at(Field::Params, "", format!("expected NAME=VALUE, got `{s}`"))
    })?;
    let k = k.trim();
    let text = v.trim();
    let v = match parse_number(text) {
        Some(v) => v,
        None => constant_of(
            &Src {
                text: text.to_string(),
                origin: format!("{} {s}", Field::Params.key()),
            },
            &[],
            &format!("the value of `{k}`"),
        )?,
    };
    Ok((k.to_string(), v))
}

/// Parse a number, accepting `inf`, `+inf`, `-inf`.
pub fn parse_number(s: &str) -> Option<f64> {
    match s {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => s
            .parse::<f64>()
            .ok()
            .filter(|v| !v.is_nan() || s.eq_ignore_ascii_case("nan")),
    }
}

/// Parse `LO:HI` (for `--domain`) into ends that are numbers or constant expressions
/// (evaluated when the case is compiled, so parameters may appear), with the origin.
pub fn parse_interval_ends(s: &str) -> Result<(End, End, String), CaseError> {
    let origin = format!("{} {s}", Field::Domain.key());
    let (a, b) = s.split_once(':').ok_or_else(|| {
        CaseError::new(
            origin.clone(),
            "expected LO:HI, for example 0:inf, -1:1 or -pi:pi",
        )
    })?;
    let end = |t: &str, which: &str| {
        let t = t.trim();
        if t.is_empty() {
            return Err(CaseError::new(
                origin.clone(),
                format!("the {which} end is empty (expected LO:HI, for example 0:inf)"),
            ));
        }
        Ok(match parse_number(t) {
            Some(v) => End::Value(v),
            None => End::Expr(Src {
                text: t.to_string(),
                origin: format!("{origin} ({which} end)"),
            }),
        })
    };
    Ok((end(a, "lower")?, end(b, "upper")?, origin.clone()))
}

/// Parse `LO:HI` into numbers; the ends may be constant expressions without parameters.
pub fn parse_interval(s: &str) -> Result<(f64, f64), CaseError> {
    let (lo, hi, origin) = parse_interval_ends(s)?;
    let value = |e: End, which: &str| match e {
        End::Value(v) => Ok(v),
        End::Expr(src) => constant_of(&src, &[], &format!("the {which} end")),
    };
    let (a, b) = (value(lo, "lower")?, value(hi, "upper")?);
    check_interval(a, b, &origin)
}
