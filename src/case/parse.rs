//! Case files: reading one, parsing its TOML into a [`CaseSpec`] with where each value
//! was given, and parameters given as constant expressions.

use super::constants::constant_of;
use super::error::{CaseError, expr_err, plural};
use super::names::check_var_names;
use super::{CaseSpec, End, Src};
use crate::expr::free_symbols;
use crate::model::DensityKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Option<String>,
    vars: Option<toml::Spanned<Vec<String>>>,
    domain: Option<toml::Spanned<Vec<toml::Spanned<toml::Value>>>>,
    params: Option<BTreeMap<String, toml::Spanned<toml::Value>>>,
    weight: Option<toml::Spanned<String>>,
    breaks: Option<toml::Spanned<Vec<Vec<f64>>>>,
    density: Option<toml::Spanned<RawDensity>>,
    score: Option<toml::Spanned<RawScore>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDensity {
    log: Option<toml::Spanned<String>>,
    pdf: Option<toml::Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScore {
    field: Option<toml::Spanned<toml::Value>>,
    log_model: Option<toml::Spanned<String>>,
    divergence: Option<toml::Spanned<String>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Load a case file.
pub fn load_case_file(path: &Path) -> Result<CaseSpec, CaseError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a folder, not a file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        CaseError::new(shown.clone(), format!("cannot read the case file: {why}"))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        CaseError::new(
            format!(
                "{shown}:{}",
                line_of(&String::from_utf8_lossy(&e.into_bytes()), at)
            ),
            format!("the case file is not valid UTF-8 (bad byte at offset {at})"),
        )
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "case".into());
    parse_case(&text, &shown, &stem)
}

/// Parse the text of a case file; `shown` names it in errors, `stem` is the default name.
pub fn parse_case(text: &str, shown: &str, stem: &str) -> Result<CaseSpec, CaseError> {
    let raw: RawCase = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        CaseError::new(format!("{shown}:{line}"), e.message().trim().to_string())
    })?;
    let at = |span: std::ops::Range<usize>, what: &str| {
        format!("{shown}:{} ({what})", line_of(text, span.start))
    };
    let src = |s: &toml::Spanned<String>, what: &str| Src {
        text: s.get_ref().clone(),
        origin: at(s.span(), what),
    };
    let mut spec = CaseSpec {
        name: raw.name.unwrap_or_else(|| stem.to_string()),
        origin: shown.to_string(),
        ..Default::default()
    };
    if let Some(v) = raw.vars {
        spec.vars = Some(v.get_ref().clone());
        check_var_names(v.get_ref(), &at(v.span(), "vars"))?;
    }
    if let Some(dom) = raw.domain {
        let items = dom.get_ref();
        // `domain = [lo, hi]` for one variable is read as `[[lo, hi]]`.
        let flat = !items.is_empty() && items.iter().all(|v| !v.get_ref().is_array());
        let intervals: Vec<(Vec<toml::Value>, String)> = if flat {
            vec![(
                items.iter().map(|v| v.get_ref().clone()).collect(),
                at(dom.span(), "domain"),
            )]
        } else {
            items
                .iter()
                .enumerate()
                .map(|(i, iv)| {
                    let where_ = at(iv.span(), &format!("domain[{i}]"));
                    match iv.get_ref() {
                        toml::Value::Array(a) => Ok((a.clone(), where_)),
                        other => Err(CaseError::new(
                            where_,
                            format!(
                                "an interval is [lower, upper], got {} (write the domain as [[lo, hi], ...], one interval per variable)",
                                other.type_str()
                            ),
                        )),
                    }
                })
                .collect::<Result<_, _>>()?
        };
        let mut out = vec![];
        for (v, where_) in intervals {
            if v.len() != 2 {
                return Err(CaseError::new(
                    where_,
                    format!(
                        "an interval is [lower, upper], two numbers or constant expressions; got {}",
                        plural(v.len(), "entry")
                    ),
                ));
            }
            let end = |x: &toml::Value, which: &str| -> Result<End, CaseError> {
                match x {
                    toml::Value::Float(f) => Ok(End::Value(*f)),
                    toml::Value::Integer(i) => Ok(End::Value(*i as f64)),
                    toml::Value::String(t) => Ok(End::Expr(Src {
                        text: t.clone(),
                        origin: format!("{where_} {which} end"),
                    })),
                    other => Err(CaseError::new(
                        where_.clone(),
                        format!(
                            "the {which} end must be a number or a constant expression in quotes (\"-pi\", \"2*pi\", \"inf\"), got {}",
                            other.type_str()
                        ),
                    )),
                }
            };
            out.push((end(&v[0], "lower")?, end(&v[1], "upper")?, where_));
        }
        spec.domain_ends = Some(out);
    }
    if let Some(ps) = raw.params {
        let mut pending: Vec<(String, Src)> = vec![];
        for (k, v) in ps {
            let origin = at(v.span(), &format!("params.{k}"));
            let val = match v.get_ref() {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                toml::Value::String(t) => {
                    pending.push((
                        k,
                        Src {
                            text: t.clone(),
                            origin,
                        },
                    ));
                    continue;
                }
                other => {
                    return Err(CaseError::new(
                        origin,
                        format!(
                            "parameter `{k}` must be a number or a constant expression in quotes, got {}",
                            other.type_str()
                        ),
                    ));
                }
            };
            if !val.is_finite() {
                return Err(CaseError::new(
                    origin,
                    format!("parameter `{k}` must be a finite number, got {val}"),
                ));
            }
            spec.params.push((k, val, origin));
        }
        resolve_param_exprs(&mut spec.params, pending)?;
    }
    if let Some(w) = &raw.weight {
        spec.weight = Some(src(w, "weight"));
    }
    if let Some(b) = &raw.breaks {
        let origin = at(b.span(), "breaks");
        if let Some(x) = b.get_ref().iter().flatten().find(|x| !x.is_finite()) {
            return Err(CaseError::new(
                origin,
                format!("a breakpoint must be a finite number, got {x}"),
            ));
        }
        spec.breaks = Some((b.get_ref().clone(), origin));
    }
    let dens = raw.density.ok_or_else(|| {
        CaseError::new(
            shown,
            "missing [density] table: give `log = \"...\"` or `pdf = \"...\"`",
        )
    })?;
    let dspan = dens.span();
    let d = dens.into_inner();
    spec.density = Some(match (d.log, d.pdf) {
        (Some(l), None) => (DensityKind::Log, src(&l, "density.log")),
        (None, Some(p)) => (DensityKind::Pdf, src(&p, "density.pdf")),
        (Some(_), Some(_)) => {
            return Err(CaseError::new(
                at(dspan, "density"),
                "[density] has both `log` and `pdf`; give exactly one",
            ));
        }
        (None, None) => {
            return Err(CaseError::new(
                at(dspan, "density"),
                "[density] needs exactly one of `log` or `pdf`",
            ));
        }
    });
    let score = raw.score.ok_or_else(|| {
        CaseError::new(
            shown,
            "missing [score] table: give `field = [...]` and/or `log_model = \"...\"`",
        )
    })?;
    let sspan = score.span();
    let sc = score.into_inner();
    if let Some(f) = &sc.field {
        let origin_of = |i: usize| at(f.span(), &format!("score.field[{i}]"));
        let items: Vec<Src> = match f.get_ref() {
            toml::Value::String(s) => vec![Src {
                text: s.clone(),
                origin: at(f.span(), "score.field"),
            }],
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    toml::Value::String(s) => Ok(Src {
                        text: s.clone(),
                        origin: origin_of(i),
                    }),
                    other => Err(CaseError::new(
                        origin_of(i),
                        format!(
                            "a field component must be an expression string, got {}",
                            other.type_str()
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(CaseError::new(
                    at(f.span(), "score.field"),
                    format!(
                        "`field` must be a list of expression strings, got {}",
                        other.type_str()
                    ),
                ));
            }
        };
        spec.field = Some(items);
    }
    spec.log_model = sc.log_model.as_ref().map(|s| src(s, "score.log_model"));
    spec.divergence = sc.divergence.as_ref().map(|s| src(s, "score.divergence"));
    if spec.field.is_none() && spec.log_model.is_none() {
        return Err(CaseError::new(
            at(sspan, "score"),
            "[score] needs `field` or `log_model` (or both)",
        ));
    }
    Ok(spec)
}

/// Evaluate parameters given as constant expressions; they may use `pi`, `e`, the functions
/// and other parameters (in any order, without cycles).
fn resolve_param_exprs(
    params: &mut Vec<(String, f64, String)>,
    mut pending: Vec<(String, Src)>,
) -> Result<(), CaseError> {
    let pending_names: Vec<String> = pending.iter().map(|(k, _)| k.clone()).collect();
    while !pending.is_empty() {
        let known: Vec<(String, f64)> = params.iter().map(|(k, v, _)| (k.clone(), *v)).collect();
        let mut names: Vec<String> = known.iter().map(|(k, _)| k.clone()).collect();
        names.extend(["inf".to_string(), "infinity".to_string()]);
        let mut still = vec![];
        let before = pending.len();
        for (k, src) in pending {
            let free = free_symbols(&src.text, &names).map_err(|e| expr_err(&src, e))?;
            if let Some(f) = free.iter().find(|f| !pending_names.contains(f)) {
                return Err(CaseError::new(
                    src.origin.clone(),
                    format!(
                        "parameter `{k}` = `{}` uses `{f}`, which is not a parameter; a parameter is a constant expression of numbers, pi, e, functions and other parameters",
                        src.text
                    ),
                ));
            }
            if free.is_empty() {
                let val = constant_of(&src, &known, &format!("parameter `{k}`"))?;
                if !val.is_finite() {
                    return Err(CaseError::new(
                        src.origin.clone(),
                        format!("parameter `{k}` must be finite, `{}` is {val}", src.text),
                    ));
                }
                params.push((k, val, src.origin.clone()));
            } else {
                still.push((k, src));
            }
        }
        if still.len() == before {
            let names: Vec<&str> = still.iter().map(|(n, _)| n.as_str()).collect();
            return Err(CaseError::new(
                still[0].1.origin.clone(),
                format!(
                    "parameters {} are defined in terms of each other in a cycle",
                    names.join(", ")
                ),
            ));
        }
        pending = still;
    }
    Ok(())
}
