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

//!
//! | file | what it holds |
//! | --- | --- |
//! | `mod.rs` | [`Src`], [`CaseSpec`] (a case before compilation), [`Case`] (compiled) |
//! | `parse.rs` | case files: [`load_case_file`], [`parse_case`] |
//! | `constants.rs` | constant expressions: [`constant_of`], [`End`], `NAME=VALUE` and `LO:HI` |
//! | `names.rs` | valid names of variables and parameters, [`natural_cmp`] |
//! | `compile.rs` | [`CaseSpec::compile`]: overrides, variables, domain, the models |
//! | `error.rs` | [`CaseError`] and [`Field`] |

mod compile;
mod constants;
mod error;
mod names;
mod parse;

pub use constants::{
    End, check_interval, constant_of, parse_interval, parse_interval_ends, parse_number,
    parse_param,
};
pub use error::{CaseError, Field};
pub use names::check_flag_vars;
pub use parse::{load_case_file, parse_case};

use crate::expr::Program;
use crate::model::{DensityKind, ExprDensity, ExprField};
use std::collections::BTreeMap;

/// A piece of source text and where it came from (e.g. `case.toml:7 (density.log)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Src {
    pub text: String,
    pub origin: String,
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
        let mut all = self.density.program.switches();
        all.extend(self.field_switches());
        all
    }

    /// The switches of the field and the weight alone (they leave the density, and so Z,
    /// unchanged): the end of [`Case::switches`].
    pub fn field_switches(&self) -> Vec<crate::expr::Switch> {
        let mut progs: Vec<&Program> = vec![];
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

#[cfg(test)]
mod tests {
    use super::names::natural_cmp;
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
