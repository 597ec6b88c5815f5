//! The case: a density, a field and a domain, from a TOML case file or from flags, and its
//! compiled form.
//!
//! ```toml
//! name   = "gauss-mismatch"             # optional; default: file stem
//! vars   = ["x", "y"]                   # optional; default: free symbols in natural order
//! domain = [[-inf, inf], [0, inf]]      # optional; default: the whole real line per variable
//! params = { mu = 0.3, s = 1.4 }        # optional named constants, overridable with --param
//! weight = "x*(1-x)"                    # optional h(x) >= 0 for the weighted identity
//! breaks = [[1.0], []]                  # optional breakpoints per variable (kinks, jumps),
//!                                       #   added to those found from the expressions
//!
//! [density]                             # exactly one of:
//! log = "-(x-1)^2/(2*0.25) - y"         #   log of an unnormalized density, or
//! # pdf = "exp(-x^2/2)"                 #   an unnormalized density (>= 0 on the domain)
//!
//! [score]                               # at least one of:
//! field = ["-(x-mu)/s^2", "-1"]         #   a vector field, one expression per variable
//! # log_model = "-(x-mu)^2/(2*s^2)"     #   s = gradient of this log-model
//! # divergence = "-1/s^2"               #   optional hand-written ∇·s
//! ```
//!
//! Every error names where the text came from (file and line, or the flag) and, for an
//! expression, shows it with a caret under the offending token.

use crate::expr::{ExprError, Program, free_symbols};
use crate::model::{DensityKind, ExprDensity, ExprField, MAX_DIM};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A piece of source text and where it came from (e.g. `case.toml:7 (density.log)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Src {
    pub text: String,
    pub origin: String,
}

/// One end of a domain interval: a number, or a constant expression (`"-pi"`, `"2*pi"`,
/// `"inf"`, parameters allowed) evaluated when the case is compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    Value(f64),
    Expr(Src),
}

/// A case before compilation: texts and numbers.
#[derive(Clone, Debug, Default)]
pub struct CaseSpec {
    pub name: String,
    pub vars: Option<Vec<String>>,
    /// The domain as numbers (used when `domain_ends` is `None`).
    pub domain: Option<Vec<(f64, f64)>>,
    /// The domain with ends that may be constant expressions, and where each interval was
    /// given; takes precedence over `domain`.
    pub domain_ends: Option<Vec<(End, End, String)>>,
    /// Named constants, with where each was given.
    pub params: Vec<(String, f64, String)>,
    pub weight: Option<Src>,
    /// Breakpoints per variable (`breaks = [[1.0], []]`), with where they were given.
    pub breaks: Option<(Vec<Vec<f64>>, String)>,
    /// Breakpoints given by variable name (`--break x=1`), added after compilation.
    pub named_breaks: Vec<(String, f64)>,
    pub density: Option<(DensityKind, Src)>,
    pub field: Option<Vec<Src>>,
    pub log_model: Option<Src>,
    pub divergence: Option<Src>,
    /// Where the case came from (a file path or "command line").
    pub origin: String,
}

/// A compiled case.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub vars: Vec<String>,
    pub domain: Vec<(f64, f64)>,
    pub params: BTreeMap<String, f64>,
    pub density: ExprDensity,
    /// The hand-written field, if given.
    pub field: Option<ExprField>,
    /// The log-model, if given.
    pub log_model: Option<Program>,
    /// The hand-written divergence, if given.
    pub divergence: Option<Program>,
    /// The weight h(x), if given.
    pub weight: Option<Program>,
    /// Breakpoints per variable given by the case (kinks, jumps); more are found from
    /// the expressions ([`Case::switches`]).
    pub breaks: Vec<Vec<f64>>,
}

impl Case {
    /// Add breakpoints given by variable name (`--break x=1`).
    pub fn add_named_breaks(&mut self, named: &[(String, f64)]) -> Result<(), CaseError> {
        for (name, x) in named {
            let Some(i) = self.vars.iter().position(|v| v == name) else {
                return Err(CaseError::at(
                    Field::Breaks,
                    "",
                    format!(
                        "`{name}` is not a variable of the case; the variables: {}",
                        self.vars.join(", ")
                    ),
                ));
            };
            self.breaks[i].push(*x);
        }
        Ok(())
    }

    /// The sub-expressions of the density, the field and the weight whose branch changes
    /// (kinks, jumps) become breakpoints of the quadrature.
    pub fn switches(&self) -> Vec<crate::expr::Switch> {
        let mut progs: Vec<&Program> = vec![&self.density.program];
        match &self.field {
            Some(ExprField::Components(c)) => progs.extend(c.iter()),
            Some(ExprField::Gradient { log_model, .. }) => progs.push(log_model),
            None => {}
        }
        if self.field.is_none() {
            progs.extend(self.log_model.iter());
        }
        progs.extend(self.weight.iter());
        progs.iter().flat_map(|p| p.switches()).collect()
    }

    /// The field `check` uses: the hand-written one if given, else ∇ log_model.
    pub fn check_field(&self) -> ExprField {
        match (&self.field, &self.log_model) {
            (Some(f), _) => f.clone(),
            (None, Some(m)) => ExprField::Gradient {
                log_model: m.clone(),
                dim: self.vars.len(),
            },
            (None, None) => unreachable!("a compiled case has a field or a log-model"),
        }
    }
}

/// A field of a case, named as in the case file. A case (or an override) given as values
/// rather than in a file reports its errors against the field; the command line shows the
/// field as its flag (one table, in the binary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Vars,
    Domain,
    Params,
    Weight,
    Breaks,
    DensityLog,
    DensityPdf,
    ScoreField,
    LogModel,
    Divergence,
}

impl Field {
    /// The field's key in a case file (`score.field`, `params`, …).
    pub fn key(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Vars => "vars",
            Field::Domain => "domain",
            Field::Params => "params",
            Field::Weight => "weight",
            Field::Breaks => "breaks",
            Field::DensityLog => "density.log",
            Field::DensityPdf => "density.pdf",
            Field::ScoreField => "score.field",
            Field::LogModel => "score.log_model",
            Field::Divergence => "score.divergence",
        }
    }
}

const FIELDS: [Field; 11] = [
    Field::Name,
    Field::Vars,
    Field::Domain,
    Field::Params,
    Field::Weight,
    Field::Breaks,
    Field::DensityLog,
    Field::DensityPdf,
    Field::ScoreField,
    Field::LogModel,
    Field::Divergence,
];

/// The field an origin names: its key alone, or its key, a space and the value given.
fn field_of_origin(origin: &str) -> Option<Field> {
    FIELDS.into_iter().find(|f| {
        origin
            .strip_prefix(f.key())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })
}

/// Bad input in a case.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{origin}: {}", match expr { Some(e) => e.to_string(), None => message.clone() })]
pub struct CaseError {
    /// Where: file and line; or, for a value not from a file, the field's key and the value
    /// given (`params mu=x`, `domain 1:0`), with `field` set.
    pub origin: String,
    /// The field the error is about, when the value was given outside a file.
    pub field: Option<Field>,
    /// What is wrong, starting lowercase.
    pub message: String,
    /// The expression error, for a bad expression (rendered with its caret).
    #[source]
    pub expr: Option<Box<ExprError>>,
}

impl CaseError {
    /// An error at `origin`; an origin that is a field's key, alone or followed by the value
    /// given (`domain 1:0`), makes the error about that field.
    fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        let origin = origin.into();
        CaseError {
            field: field_of_origin(&origin),
            origin,
            message: message.into(),
            expr: None,
        }
    }

    /// An error about `field`, given as `value` (shown after the field; may be empty).
    fn at(field: Field, value: &str, message: impl Into<String>) -> Self {
        let origin = if value.is_empty() {
            field.key().to_string()
        } else {
            format!("{} {value}", field.key())
        };
        CaseError {
            origin,
            field: Some(field),
            message: message.into(),
            expr: None,
        }
    }

    /// The same error, about another field (a value parsed as one field's and used as
    /// another's, e.g. `VAR=X` for `breaks` parsed as a parameter's `NAME=VALUE`).
    pub fn for_field(mut self, field: Field) -> Self {
        if let Some(old) = self.field {
            self.origin = format!("{}{}", field.key(), &self.origin[old.key().len()..]);
            self.field = Some(field);
        }
        self
    }

    /// The origin with the field named by `name` (a flag, say) instead of its key; the
    /// origin as it is when the error is not about a field.
    pub fn origin_named(&self, name: impl Fn(Field) -> String) -> String {
        match self.field {
            Some(f) => format!("{}{}", name(f), &self.origin[f.key().len()..]),
            None => self.origin.clone(),
        }
    }

    /// The message (or the expression error, with its caret) without the origin.
    pub fn what(&self) -> String {
        match &self.expr {
            Some(e) => e.to_string(),
            None => self.message.clone(),
        }
    }
}

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

/// The value of the constant `pi` or `e`, for messages.
fn constant_text(name: &str) -> &'static str {
    if name == "pi" {
        "3.14159…"
    } else {
        "2.71828…"
    }
}

/// `1 number`, `2 numbers`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Check `vars` given as values (not from a file).
pub fn check_flag_vars(vars: &[String]) -> Result<(), CaseError> {
    check_var_names(vars, Field::Vars.key()).map_err(|mut e| {
        e.field = Some(Field::Vars);
        e
    })
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

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn check_var_names(vars: &[String], origin: &str) -> Result<(), CaseError> {
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

fn expr_err(src: &Src, e: ExprError) -> CaseError {
    CaseError {
        field: field_of_origin(&src.origin),
        origin: src.origin.clone(),
        message: e.message.clone(),
        expr: Some(Box::new(e)),
    }
}

impl CaseSpec {
    /// Every expression of the case, in a fixed order.
    fn sources(&self) -> Vec<&Src> {
        let mut v: Vec<&Src> = vec![];
        if let Some((_, s)) = &self.density {
            v.push(s);
        }
        if let Some(f) = &self.field {
            v.extend(f.iter());
        }
        v.extend(self.log_model.iter());
        v.extend(self.divergence.iter());
        v.extend(self.weight.iter());
        v
    }

    /// Apply `--param name=value` overrides and compile every expression.
    pub fn compile(
        &self,
        overrides: &[(String, f64)],
        allow_new_params: bool,
    ) -> Result<Case, CaseError> {
        let mut params: BTreeMap<String, f64> = self
            .params
            .iter()
            .map(|(k, v, _)| (k.clone(), *v))
            .collect();
        for (k, v) in overrides {
            if !is_ident(k) {
                return Err(CaseError::at(
                    Field::Params,
                    "",
                    format!("`{k}` is not a valid parameter name"),
                ));
            }
            if !v.is_finite() {
                return Err(CaseError::at(
                    Field::Params,
                    "",
                    format!("parameter `{k}` must be a finite number, got {v}"),
                ));
            }
            if !allow_new_params && !params.contains_key(k) {
                let known: Vec<&str> = params.keys().map(|s| s.as_str()).collect();
                let message = if known.is_empty() {
                    format!(
                        "unknown parameter `{k}`: the case has no parameters (add `params = {{ {k} = ... }}` to the file)"
                    )
                } else {
                    format!(
                        "unknown parameter `{k}`; the case's parameters: {}",
                        known.join(", ")
                    )
                };
                return Err(CaseError::at(Field::Params, "", message));
            }
            params.insert(k.clone(), *v);
        }
        for k in params.keys() {
            if k == "pi" || k == "e" {
                return Err(CaseError::new(
                    self.param_origin(k),
                    format!(
                        "a parameter named `{k}` would shadow the constant {k} = {}; rename the parameter",
                        constant_text(k)
                    ),
                ));
            }
        }
        let param_names: Vec<String> = params.keys().cloned().collect();
        // Variables: given, or the free symbols of every expression in natural order.
        let vars = match &self.vars {
            Some(v) => v.clone(),
            None => {
                let mut found: Vec<String> = vec![];
                for s in self.sources() {
                    let fs = free_symbols(&s.text, &param_names).map_err(|e| expr_err(s, e))?;
                    for f in fs {
                        if !found.contains(&f) {
                            found.push(f);
                        }
                    }
                }
                found.sort_by(|a, b| natural_cmp(a, b));
                found
            }
        };
        for v in &vars {
            if params.contains_key(v) {
                return Err(CaseError::new(
                    self.param_origin(v),
                    format!("parameter `{v}` has the same name as a variable; rename one of them"),
                ));
            }
        }
        let d = vars.len();
        if d == 0 {
            return Err(CaseError::new(
                self.origin.clone(),
                "the case has no variables: the expressions use none (give `vars` or use a variable)",
            ));
        }
        if d > MAX_DIM {
            return Err(CaseError::new(
                self.origin.clone(),
                format!(
                    "the case has {d} variables ({}); checks support 1 to {MAX_DIM}",
                    vars.join(", ")
                ),
            ));
        }
        let plist: Vec<(String, f64)> = params.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let evaluated: Option<Vec<(f64, f64)>> = match &self.domain_ends {
            Some(ends) => {
                let value = |e: &End, which: &str| match e {
                    End::Value(v) => Ok(*v),
                    End::Expr(s) => constant_of(s, &plist, &format!("the {which} end")),
                };
                let mut out = vec![];
                for (lo, hi, origin) in ends {
                    let (a, b) = (value(lo, "lower")?, value(hi, "upper")?);
                    out.push(check_interval(a, b, origin)?);
                }
                Some(out)
            }
            None => self.domain.clone(),
        };
        let domain = match &evaluated {
            Some(dom) => {
                if dom.len() != d && self.origin == "command line" {
                    return Err(CaseError::at(
                        Field::Domain,
                        "",
                        format!(
                            "given {} but the case has {} ({}); give one interval per variable, in the order of `vars`",
                            plural(dom.len(), "time"),
                            plural(d, "variable"),
                            vars.join(", ")
                        ),
                    ));
                }
                if dom.len() != d {
                    return Err(CaseError::new(
                        self.origin.clone(),
                        format!(
                            "the domain has {} but there {} {} ({})",
                            plural(dom.len(), "interval"),
                            if d == 1 { "is" } else { "are" },
                            plural(d, "variable"),
                            vars.join(", ")
                        ),
                    ));
                }
                dom.clone()
            }
            None => vec![(f64::NEG_INFINITY, f64::INFINITY); d],
        };
        let comp = |s: &Src| Program::compile(&s.text, &vars, &plist).map_err(|e| expr_err(s, e));
        let (kind, dsrc) = self
            .density
            .as_ref()
            .ok_or_else(|| CaseError::new(self.origin.clone(), "the case has no density"))?;
        // A pdf is evaluated in log space: its logarithm, rewritten exactly (see
        // `Program::compile_log`), is the log-density.
        let density = match kind {
            DensityKind::Log => ExprDensity {
                program: comp(dsrc)?,
                kind: DensityKind::Log,
                dim: d,
            },
            DensityKind::Pdf => ExprDensity {
                program: Program::compile_log(&dsrc.text, &vars, &plist)
                    .map_err(|e| expr_err(dsrc, e))?,
                kind: DensityKind::Log,
                dim: d,
            },
        };
        let field = match &self.field {
            Some(f) => {
                if f.len() != d {
                    let origin = if self.origin == "command line" {
                        Field::ScoreField.key().to_string()
                    } else {
                        f.first()
                            .map(|s| s.origin.replace("score.field[0]", "score.field"))
                            .unwrap_or_else(|| self.origin.clone())
                    };
                    let hint = if self.vars.is_none() {
                        "; the variables are the free symbols of the expressions (set `vars`, or make a constant a parameter)"
                    } else {
                        ""
                    };
                    return Err(CaseError::new(
                        origin,
                        format!(
                            "the field has {} component{} but there {} {d} variable{} ({}){hint}",
                            f.len(),
                            if f.len() == 1 { "" } else { "s" },
                            if d == 1 { "is" } else { "are" },
                            if d == 1 { "" } else { "s" },
                            vars.join(", ")
                        ),
                    ));
                }
                Some(ExprField::Components(
                    f.iter().map(comp).collect::<Result<_, _>>()?,
                ))
            }
            None => None,
        };
        let log_model = self.log_model.as_ref().map(comp).transpose()?;
        let divergence = self.divergence.as_ref().map(comp).transpose()?;
        let weight = self.weight.as_ref().map(comp).transpose()?;
        if field.is_none() && log_model.is_none() {
            return Err(CaseError::new(
                self.origin.clone(),
                "the case has no score: give a field or a log-model",
            ));
        }
        let breaks = match &self.breaks {
            None => vec![vec![]; d],
            Some((b, origin)) if b.len() != d => {
                return Err(CaseError::new(
                    origin.clone(),
                    format!(
                        "`breaks` has {} list{} but there {} {d} variable{} ({}); give one list per variable, e.g. [[1.0], []]",
                        b.len(),
                        if b.len() == 1 { "" } else { "s" },
                        if d == 1 { "is" } else { "are" },
                        if d == 1 { "" } else { "s" },
                        vars.join(", ")
                    ),
                ));
            }
            Some((b, _)) => b.clone(),
        };
        let mut case = Case {
            breaks,
            name: self.name.clone(),
            vars,
            domain,
            params,
            density,
            field,
            log_model,
            divergence,
            weight,
        };
        case.add_named_breaks(&self.named_breaks)?;
        Ok(case)
    }

    fn param_origin(&self, k: &str) -> String {
        self.params
            .iter()
            .find(|(n, _, _)| n == k)
            .map(|(_, _, o)| o.clone())
            .unwrap_or_else(|| Field::Params.key().to_string())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["x10", "y", "x2", "x1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["x1", "x2", "x10", "y"]);
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse_case(
            "[density]\nlog = \"-x^2\"\n[score]\nfield = [\"-x\"]\nfoo = 1\n",
            "c.toml",
            "c",
        )
        .unwrap_err();
        assert!(e.origin.starts_with("c.toml:5"), "{e}");
        assert!(e.message.contains("unknown field `foo`"), "{e}");
    }

    #[test]
    fn domain_checks() {
        assert!(parse_interval("0:inf").is_ok());
        assert!(parse_interval("1:0").unwrap_err().message.contains("empty"));
        assert!(parse_interval("nan:1").unwrap_err().message.contains("NaN"));
    }
}
