//! The case given on the command line: from a file, or from flags; the `--param`
//! overrides; and the one table that names a case field by its flag.

use super::args::{CaseArgs, QuadArgs};
use super::{CliError, bad};
// The case's fields as `Field`, the name the flag table below reads best with.
use scorecheck::CaseField as Field;
use scorecheck::{
    Case, CaseError, CaseSpec, CheckOptions, DensityKind, Pending, Src, check_flag_vars,
    load_case_file, parse_interval_ends, parse_param,
};
use std::path::{Path, PathBuf};

/// The flag of each case field: the one place a library message's field becomes a flag.
pub(crate) fn flag(field: Field) -> &'static str {
    match field {
        Field::Name => "--name",
        Field::Vars => "--vars",
        Field::Domain => "--domain",
        Field::Params => "--param",
        Field::Weight => "--weight",
        Field::Breaks => "--break",
        Field::DensityLog => "--log-density",
        Field::DensityPdf => "--pdf",
        Field::ScoreField => "--score",
        Field::LogModel => "--log-model",
        Field::Divergence => "--divergence",
    }
}

/// A case error as the command line shows it: its field named by its flag.
pub(crate) fn case_error(e: CaseError) -> CliError {
    CliError::BadInput(format!(
        "{}: {}",
        e.origin_named(|f| flag(f).to_string()),
        e.what()
    ))
}

/// A case error about a value given with `flag_name` (a flag that is no case field, e.g.
/// fisher's `--theta-domain`).
pub(crate) fn case_error_as(e: CaseError, flag_name: &str) -> CliError {
    CliError::BadInput(format!(
        "{}: {}",
        e.origin_named(|_| flag_name.to_string()),
        e.what()
    ))
}

fn spec_from_flags(a: &CaseArgs) -> Result<CaseSpec, CliError> {
    let src = |text: &str, field: Field| Src {
        text: text.to_string(),
        origin: flag(field).into(),
    };
    let density = match (&a.log_density, &a.pdf) {
        (Some(l), None) => (DensityKind::Log, src(l, Field::DensityLog)),
        (None, Some(p)) => (DensityKind::Pdf, src(p, Field::DensityPdf)),
        _ => {
            return Err(CliError::BadInput(
                "give a case file, or the density with --log-density EXPR or --pdf EXPR".into(),
            ));
        }
    };
    if let Some(v) = &a.vars {
        check_flag_vars(v).map_err(case_error)?;
    }
    if a.score.is_empty() && a.log_model.is_none() {
        return Err(CliError::BadInput(
            "give the field with --score EXPR (once per variable) or --log-model EXPR".into(),
        ));
    }
    let domain_ends = if a.domain.is_empty() {
        None
    } else {
        Some(
            a.domain
                .iter()
                .map(|s| parse_interval_ends(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(case_error)?,
        )
    };
    Ok(CaseSpec {
        name: a.name.clone().unwrap_or_else(|| "command-line".into()),
        vars: a.vars.clone(),
        domain: None,
        domain_ends,
        params: vec![],
        weight: a.weight.as_deref().map(|t| src(t, Field::Weight)),
        density: Some(density),
        field: (!a.score.is_empty()).then(|| {
            a.score
                .iter()
                .enumerate()
                .map(|(i, s)| Src {
                    text: s.clone(),
                    origin: format!("{} #{}", flag(Field::ScoreField), i + 1),
                })
                .collect()
        }),
        log_model: a.log_model.as_deref().map(|t| src(t, Field::LogModel)),
        divergence: a.divergence.as_deref().map(|t| src(t, Field::Divergence)),
        breaks: None,
        named_breaks: vec![],
        origin: "command line".into(),
    })
}

/// The case spec from the file or the flags (a file with case flags is bad input).
pub(crate) fn spec_of(a: &CaseArgs) -> Result<CaseSpec, CliError> {
    let mut spec = match &a.case {
        Some(path) => {
            let given: Vec<&str> = [
                (a.log_density.is_some(), Field::DensityLog),
                (a.pdf.is_some(), Field::DensityPdf),
                (!a.score.is_empty(), Field::ScoreField),
                (a.log_model.is_some(), Field::LogModel),
                (a.divergence.is_some(), Field::Divergence),
                (a.weight.is_some(), Field::Weight),
                (a.vars.is_some(), Field::Vars),
                (!a.domain.is_empty(), Field::Domain),
                (a.name.is_some(), Field::Name),
            ]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(flag(f)))
            .collect();
            if !given.is_empty() {
                return Err(CliError::BadInput(format!(
                    "{} cannot be combined with a case file; edit the file, or drop it and give the case by flags",
                    given.join(", ")
                )));
            }
            load_case_file(path).map_err(case_error)?
        }
        None => spec_from_flags(a)?,
    };
    spec.named_breaks = a
        .breaks
        .iter()
        .map(|b| parse_param(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| case_error(e.for_field(Field::Breaks)))?;
    Ok(spec)
}

/// Make parameters set on the command line known to a case given by flags (which has no
/// params of its own), so that subcommands that only override known parameters accept them.
pub(crate) fn declare_flag_params(spec: &mut CaseSpec, params: &[(String, f64)]) {
    if spec.origin != "command line" {
        return;
    }
    for (k, v) in params {
        if !spec.params.iter().any(|(n, _, _)| n == k) {
            spec.params
                .push((k.clone(), *v, flag(Field::Params).into()));
        }
    }
}

/// Load the case (file or flags) and compile it with the `--param` overrides (a case given by
/// flags takes new parameters from them).
pub(crate) fn load_case(a: &CaseArgs) -> Result<Case, CliError> {
    let spec = spec_of(a)?;
    let overrides = overrides_of(&a.params.list)?;
    spec.compile(&overrides, spec.origin == "command line")
        .map_err(case_error)
}

/// Parse the `--param NAME=VALUE` overrides.
pub(crate) fn overrides_of(params: &[String]) -> Result<Vec<(String, f64)>, CliError> {
    params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(case_error)
}

/// Check `--tol` and `--max-evals`.
pub(crate) fn check_options(tol: Option<f64>, max_evals: u64) -> Result<CheckOptions, CliError> {
    if max_evals == 0 {
        return Err(CliError::BadInput("--max-evals must be at least 1".into()));
    }
    if let Some(t) = tol.filter(|t| t.is_nan() || *t <= 0.0 || t.is_infinite()) {
        return Err(CliError::BadInput(format!(
            "--tol must be a positive number, got {t}"
        )));
    }
    Ok(CheckOptions {
        tol,
        max_evals,
        ..Default::default()
    })
}

impl QuadArgs {
    pub(crate) fn options(&self) -> Result<CheckOptions, CliError> {
        check_options(self.tol, self.max_evals)
    }
}

/// Parse `--size WxH`.
pub(crate) fn size_of(s: &Option<String>) -> Result<Option<(u32, u32)>, CliError> {
    let Some(s) = s else { return Ok(None) };
    let parsed = s
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if (200..=8000).contains(&w) && (150..=8000).contains(&h) => Ok(Some((w, h))),
        Some(_) => Err(CliError::BadInput(format!(
            "--size {s}: the size must be between 200x150 and 8000x8000 pixels"
        ))),
        None => Err(CliError::BadInput(format!(
            "--size {s}: expected WIDTHxHEIGHT in pixels, for example 1200x800"
        ))),
    }
}

/// Check a figure's file name (extension, folder) before any work; returns its format and
/// the pending file.
pub(crate) fn open_figure(path: &Path) -> Result<(scorecheck::plot::Format, Pending), CliError> {
    let format = scorecheck::plot::Format::of_path(path).map_err(bad)?;
    let pending = Pending::create(path).map_err(bad)?;
    Ok((format, pending))
}

/// Open the output file early, so a bad path fails before the work.
pub(crate) fn open_out(path: &Option<PathBuf>) -> Result<Option<Pending>, CliError> {
    path.as_ref()
        .map(|p| Pending::create(p).map_err(bad))
        .transpose()
}
