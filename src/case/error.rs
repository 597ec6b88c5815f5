//! Bad input in a case: [`CaseError`], which names where the text came from (file and
//! line, or the field and the value given) and, for an expression, shows it with a caret;
//! and [`Field`], the fields of a case by their keys in a case file.

use super::Src;
use crate::expr::ExprError;

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
pub(super) fn field_of_origin(origin: &str) -> Option<Field> {
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
    pub(super) fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        let origin = origin.into();
        CaseError {
            field: field_of_origin(&origin),
            origin,
            message: message.into(),
            expr: None,
        }
    }

    /// An error about `field`, given as `value` (shown after the field; may be empty).
    pub(super) fn at(field: Field, value: &str, message: impl Into<String>) -> Self {
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

pub(super) fn expr_err(src: &Src, e: ExprError) -> CaseError {
    CaseError {
        field: field_of_origin(&src.origin),
        origin: src.origin.clone(),
        message: e.message.clone(),
        expr: Some(Box::new(e)),
    }
}

/// `1 number`, `2 numbers`.
pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
