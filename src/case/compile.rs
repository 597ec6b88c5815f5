//! A case compiled: parameters overridden, variables found, the domain's ends evaluated,
//! every expression compiled into the models.

use super::constants::{check_interval, constant_of};
use super::error::{CaseError, Field, expr_err, plural};
use super::names::{constant_text, is_ident, natural_cmp};
use super::{Case, CaseSpec, End, Src};
use crate::expr::{Program, free_symbols};
use crate::model::{DensityKind, ExprDensity, ExprField, MAX_DIM};
use std::collections::BTreeMap;

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
