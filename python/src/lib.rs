//! `scorecheck._native`: the Python module over the scorecheck library.
//!
//! Every function takes a case spec ([`Spec`], from keyword arguments or a case file), runs
//! the library's own high-level call (`check_case`, `score_case`, `explain`, `sweep::run`,
//! `estimate`, `plot::figure_for`) with the GIL released, and returns the report as the JSON
//! text the command line prints with `--json` (the same serde serialization), with the text
//! rendering and the exit code. The thin Python layer (`python/scorecheck/__init__.py`) turns
//! that into report objects. Bad input raises `BadInput` (a `ValueError`) with the command
//! line's message, caret included.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use scorecheck::CheckOptions;
use scorecheck::DensityKind;
use scorecheck::{CaseSpec, End, Src, constant_of, load_case_file};
use std::path::PathBuf;

mod callables;
use callables::{DensityModel, FieldModel, PyFns};

create_exception!(
    _native,
    BadInput,
    PyValueError,
    "Bad input (a case, an expression, an option): the message is the command line's, with a caret under the offending token."
);
create_exception!(
    _native,
    Undecided,
    PyRuntimeError,
    "The case cannot be computed in double precision, so there is nothing to draw (the command line's exit code 3)."
);

fn bad(e: impl std::fmt::Display) -> PyErr {
    BadInput::new_err(e.to_string())
}

/// A case before compilation: from keyword arguments ([`spec`]) or a case file ([`load`]).
#[pyclass(frozen, module = "scorecheck._native")]
struct Spec {
    spec: CaseSpec,
}

#[pymethods]
impl Spec {
    /// The case's name.
    #[getter]
    fn name(&self) -> String {
        self.spec.name.clone()
    }
    /// Where the case came from: the file, or "keyword arguments".
    #[getter]
    fn origin(&self) -> String {
        self.spec.origin.clone()
    }
    /// The case's own parameters, as (name, value) pairs.
    #[getter]
    fn params(&self) -> Vec<(String, f64)> {
        self.spec
            .params
            .iter()
            .map(|(k, v, _)| (k.clone(), *v))
            .collect()
    }
}

/// A number or a constant expression (`"pi"`, `"2*pi"`, `"inf"`).
#[derive(FromPyObject)]
enum NumOrText {
    Num(f64),
    Text(String),
}

/// Read a case file (TOML, the command line's format).
#[pyfunction]
fn load(path: PathBuf) -> PyResult<Spec> {
    Ok(Spec {
        spec: load_case_file(&path).map_err(bad)?,
    })
}

const ORIGIN: &str = "keyword arguments";

/// Build a case from keyword arguments (the command line's flags, named as in the case file).
#[pyfunction]
#[pyo3(signature = (*, log_density=None, pdf=None, field=None, log_model=None, divergence=None,
    weight=None, vars=None, domain=None, params=None, breaks=None, named_breaks=None, name=None))]
#[allow(clippy::too_many_arguments)]
fn spec(
    log_density: Option<String>,
    pdf: Option<String>,
    field: Option<Vec<String>>,
    log_model: Option<String>,
    divergence: Option<String>,
    weight: Option<String>,
    vars: Option<Vec<String>>,
    domain: Option<Vec<(NumOrText, NumOrText)>>,
    params: Option<Vec<(String, NumOrText)>>,
    breaks: Option<Vec<Vec<f64>>>,
    named_breaks: Option<Vec<(String, f64)>>,
    name: Option<String>,
) -> PyResult<Spec> {
    let src = |text: String, origin: &str| Src {
        text,
        origin: origin.to_string(),
    };
    let density = match (log_density, pdf) {
        (Some(l), None) => (DensityKind::Log, src(l, "log_density")),
        (None, Some(p)) => (DensityKind::Pdf, src(p, "pdf")),
        (Some(_), Some(_)) => {
            return Err(bad("give the density as log_density= or as pdf=, not both"));
        }
        (None, None) => {
            return Err(bad(
                "give the density: log_density=\"...\" (its log) or pdf=\"...\"",
            ));
        }
    };
    if field.is_none() && log_model.is_none() {
        return Err(bad(
            "give the score: field=[...] (one expression per variable) and/or log_model=\"...\"",
        ));
    }
    if let Some(v) = &vars {
        scorecheck::check_flag_vars(v)
            .map_err(|e| bad(e.to_string().replacen("--vars", "vars", 1)))?;
    }
    let domain_ends = domain.map(|d| {
        d.into_iter()
            .enumerate()
            .map(|(i, (lo, hi))| {
                let origin = format!("domain[{i}]");
                let end = |e: NumOrText, which: &str| match e {
                    NumOrText::Num(v) => End::Value(v),
                    NumOrText::Text(t) => End::Expr(Src {
                        text: t,
                        origin: format!("{origin} {which} end"),
                    }),
                };
                (end(lo, "lower"), end(hi, "upper"), origin.clone())
            })
            .collect()
    });
    let mut ps: Vec<(String, f64, String)> = vec![];
    for (k, v) in params.unwrap_or_default() {
        let origin = format!("params[{k:?}]");
        let value = match v {
            NumOrText::Num(x) => x,
            NumOrText::Text(t) => {
                let known: Vec<(String, f64)> =
                    ps.iter().map(|(n, x, _)| (n.clone(), *x)).collect();
                constant_of(
                    &Src {
                        text: t,
                        origin: origin.clone(),
                    },
                    &known,
                    &format!("parameter `{k}`"),
                )
                .map_err(bad)?
            }
        };
        if !value.is_finite() {
            return Err(bad(format!(
                "{origin}: parameter `{k}` must be a finite number, got {value}"
            )));
        }
        ps.push((k, value, origin));
    }
    let field = field.map(|f| {
        f.into_iter()
            .enumerate()
            .map(|(i, t)| src(t, &format!("field[{i}]")))
            .collect()
    });
    Ok(Spec {
        spec: CaseSpec {
            name: name.unwrap_or_else(|| "python".into()),
            vars,
            domain: None,
            domain_ends,
            params: ps,
            weight: weight.map(|w| src(w, "weight")),
            breaks: breaks.map(|b| (b, "breaks".to_string())),
            named_breaks: named_breaks.unwrap_or_default(),
            density: Some(density),
            field,
            log_model: log_model.map(|m| src(m, "log_model")),
            divergence: divergence.map(|d| src(d, "divergence")),
            origin: ORIGIN.into(),
        },
    })
}

/// The quadrature settings, checked as the command line checks `--tol` and `--max-evals`.
fn check_options(tol: Option<f64>, max_evals: u64) -> PyResult<CheckOptions> {
    if max_evals == 0 {
        return Err(bad("max_evals must be at least 1"));
    }
    if let Some(t) = tol.filter(|t| t.is_nan() || *t <= 0.0 || t.is_infinite()) {
        return Err(bad(format!("tol must be a positive number, got {t}")));
    }
    Ok(CheckOptions {
        tol,
        max_evals,
        ..Default::default()
    })
}

fn compile(spec: &Spec, params: &[(String, f64)]) -> PyResult<scorecheck::Case> {
    spec.spec
        .compile(params, false)
        .map_err(|e| bad(e.to_string().replacen("--param", "params", 1)))
}

/// `check`: (JSON, text, exit code).
#[pyfunction]
#[pyo3(signature = (spec, params, tol, max_evals))]
fn check(
    py: Python<'_>,
    spec: &Spec,
    params: Vec<(String, f64)>,
    tol: Option<f64>,
    max_evals: u64,
) -> PyResult<(String, String, u8)> {
    let opts = check_options(tol, max_evals)?;
    let case = compile(spec, &params)?;
    let r = py
        .detach(|| scorecheck::check_case(&case, &opts))
        .map_err(bad)?;
    Ok((r.to_json(), r.to_text(), code(r.outcome())))
}

/// `explain`: (JSON, Markdown, text, exit code).
#[pyfunction]
fn explain(
    py: Python<'_>,
    spec: &Spec,
    params: Vec<(String, f64)>,
    tol: Option<f64>,
    max_evals: u64,
) -> PyResult<(String, String, String, u8)> {
    let opts = check_options(tol, max_evals)?;
    let case = compile(spec, &params)?;
    let ex = py
        .detach(|| scorecheck::check_case(&case, &opts).map(|r| scorecheck::explain(&r)))
        .map_err(bad)?;
    Ok((
        ex.to_json(),
        ex.to_markdown(),
        ex.to_text(),
        code(ex.outcome()),
    ))
}

/// `score`: (JSON, text, exit code).
#[pyfunction]
fn score(
    py: Python<'_>,
    spec: &Spec,
    params: Vec<(String, f64)>,
    points: usize,
    rtol: f64,
    atol: f64,
) -> PyResult<(String, String, u8)> {
    let case = compile(spec, &params)?;
    let opts = scorecheck::ScoreOptions {
        points,
        rtol,
        atol,
        ..Default::default()
    };
    let r = py
        .detach(|| scorecheck::score_case(&case, &opts))
        .map_err(bad)?;
    Ok((r.to_json(), r.to_text(), code(r.outcome())))
}

/// `sweep`: (JSON, text, exit code). `grids` are (name, values), outermost first.
#[pyfunction]
fn sweep(
    py: Python<'_>,
    spec: &Spec,
    grids: Vec<(String, Vec<f64>)>,
    fixed: Vec<(String, f64)>,
    tol: Option<f64>,
    max_evals: u64,
) -> PyResult<(String, String, u8)> {
    let opts = check_options(tol, max_evals)?;
    let grids: Vec<scorecheck::Grid> = grids
        .into_iter()
        .map(|(name, values)| scorecheck::Grid { name, values })
        .collect();
    if let Some(g) = grids.iter().find(|g| g.values.is_empty()) {
        return Err(bad(format!("the grid of `{}` has no values", g.name)));
    }
    let s = py
        .detach(|| scorecheck::sweep(&spec.spec, &grids, &fixed, &opts, &|| {}))
        .map_err(|e| bad(e.to_string().replace("--param", "params")))?;
    Ok((s.to_json(), s.to_text(), code(s.outcome())))
}

/// `estimate`: (JSON, text, exit code).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn estimate(
    py: Python<'_>,
    spec: &Spec,
    params: Vec<(String, f64)>,
    n: usize,
    seed: u64,
    sampler: &str,
    chains: usize,
    burn_in: usize,
    probes: Vec<String>,
    probes_per_draw: usize,
    min_ess: f64,
    tol: Option<f64>,
    max_evals: u64,
) -> PyResult<(String, String, u8)> {
    use scorecheck::Sampler;
    use scorecheck::{EstimateOptions, Probe};
    let check = check_options(tol, max_evals)?;
    let sampler = match sampler {
        "auto" => Sampler::Auto,
        "inverse-cdf" => Sampler::InverseCdf,
        "product" => Sampler::Product,
        "mala" => Sampler::Mala,
        _ => {
            return Err(bad(format!(
                "sampler must be auto, inverse-cdf, product or mala, got '{sampler}'"
            )));
        }
    };
    let probes = probes
        .iter()
        .map(|p| match p.as_str() {
            "rademacher" => Ok(Probe::Rademacher),
            "gaussian" => Ok(Probe::Gaussian),
            _ => Err(bad(format!(
                "probes takes rademacher and gaussian, got '{p}'"
            ))),
        })
        .collect::<PyResult<Vec<_>>>()?;
    if n < 2 {
        return Err(bad("n must be at least 2"));
    }
    if chains == 0 {
        return Err(bad("chains must be at least 1"));
    }
    if min_ess.is_nan() || min_ess < 0.0 {
        return Err(bad("min_ess must be a number >= 0"));
    }
    let case = compile(spec, &params)?;
    let opts = EstimateOptions {
        sample: scorecheck::SampleOptions {
            n,
            seed,
            sampler,
            chains,
            burn_in,
        },
        probes,
        probes_per_draw,
        check,
        min_ess,
    };
    let r = py
        .detach(|| scorecheck::estimate(&case, &opts))
        .map_err(bad)?;
    Ok((r.to_json(), r.to_text(), code(r.outcome())))
}

/// A figure, drawn on demand as SVG or PNG.
#[pyclass(frozen, module = "scorecheck._native")]
struct Figure {
    fig: scorecheck::plot::Figure,
}

#[pymethods]
impl Figure {
    /// The figure as `"svg"` or `"png"` bytes; `size` is (width, height) in pixels.
    #[pyo3(signature = (format, size=None))]
    fn render<'py>(
        &self,
        py: Python<'py>,
        format: &str,
        size: Option<(u32, u32)>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let format = match format {
            "svg" => scorecheck::plot::Format::Svg,
            "png" => scorecheck::plot::Format::Png,
            _ => return Err(bad(format!("format must be svg or png, got '{format}'"))),
        };
        if let Some((w, h)) = size
            && !((200..=8000).contains(&w) && (150..=8000).contains(&h))
        {
            return Err(bad(format!(
                "size {w}x{h}: the size must be between 200x150 and 8000x8000 pixels"
            )));
        }
        let bytes = py
            .detach(|| scorecheck::plot::render(&self.fig, format, size))
            .map_err(bad)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// `plot`: the figure of a case (`kind`: identity, boundary or convergence).
#[pyfunction]
fn plot(
    py: Python<'_>,
    spec: &Spec,
    params: Vec<(String, f64)>,
    kind: &str,
    tol: Option<f64>,
    max_evals: u64,
) -> PyResult<Figure> {
    use scorecheck::plot::Kind;
    let kind = match kind {
        "identity" => Kind::Identity,
        "boundary" => Kind::Boundary,
        "convergence" => Kind::Convergence,
        _ => {
            return Err(bad(format!(
                "kind must be identity, boundary or convergence, got '{kind}'"
            )));
        }
    };
    let opts = check_options(tol, max_evals)?;
    let case = compile(spec, &params)?;
    let report = py
        .detach(|| scorecheck::check_case(&case, &opts))
        .map_err(bad)?;
    if report.normalizer.evals == 0 && report.outcome() == scorecheck::Outcome::Undecided {
        return Err(Undecided::new_err(format!(
            "undecided: {}",
            report.notes.join("; ")
        )));
    }
    let fig = py
        .detach(|| scorecheck::plot::figure_for(&case, &report, kind, &opts))
        .map_err(bad)?;
    Ok(Figure { fig })
}

/// `check` (or `explain`) with Python functions as the density and/or the field; the rest
/// as expressions. Returns (JSON, text, Markdown of the explanation or "", exit code,
/// Python calls, points passed to them).
#[pyfunction]
#[pyo3(signature = (*, vars, domain, params, log_density=None, pdf=None, log_density_fn=None,
    grad_fn=None, field=None, log_model=None, field_fn=None, divergence_fn=None, weight=None,
    breaks=None, name=None, tol=None, max_evals=20_000_000, explain=false,
    total_divergence=false))]
#[allow(clippy::too_many_arguments)]
fn check_callables(
    py: Python<'_>,
    vars: Vec<String>,
    domain: Option<Vec<(NumOrText, NumOrText)>>,
    params: Vec<(String, f64)>,
    log_density: Option<String>,
    pdf: Option<String>,
    log_density_fn: Option<Py<PyAny>>,
    grad_fn: Option<Py<PyAny>>,
    field: Option<Vec<String>>,
    log_model: Option<String>,
    field_fn: Option<Py<PyAny>>,
    divergence_fn: Option<Py<PyAny>>,
    weight: Option<String>,
    breaks: Option<Vec<Vec<f64>>>,
    name: Option<String>,
    tol: Option<f64>,
    max_evals: u64,
    explain: bool,
    total_divergence: bool,
) -> PyResult<(String, String, String, u8, u64, u64)> {
    use scorecheck::CaseInfo;
    use scorecheck::ExprDensity;
    let mut opts = check_options(tol, max_evals)?;
    // The divergence function gives ∇·s alone (one value per point): the wrapper passes it as
    // ∂_1 s_1 with zeros, and the identity is checked for the sum over the variables.
    opts.total_divergence = total_divergence;
    scorecheck::check_flag_vars(&vars)
        .map_err(|e| bad(e.to_string().replacen("--vars", "vars", 1)))?;
    let d = vars.len();
    if d == 0 || d > scorecheck::MAX_DIM {
        return Err(bad(format!(
            "the case has {d} variables; checks support 1 to {}",
            scorecheck::MAX_DIM
        )));
    }
    let domain: Vec<(f64, f64)> = match domain {
        None => vec![(f64::NEG_INFINITY, f64::INFINITY); d],
        Some(dom) => {
            if dom.len() != d {
                return Err(bad(format!(
                    "the domain has {} intervals but there are {d} variables ({})",
                    dom.len(),
                    vars.join(", ")
                )));
            }
            let mut out = vec![];
            for (i, (lo, hi)) in dom.into_iter().enumerate() {
                let origin = format!("domain[{i}]");
                let value = |e: NumOrText, which: &str| match e {
                    NumOrText::Num(v) => Ok(v),
                    NumOrText::Text(t) => constant_of(
                        &Src {
                            text: t,
                            origin: format!("{origin} {which} end"),
                        },
                        &params,
                        &format!("the {which} end"),
                    )
                    .map_err(bad),
                };
                let (a, b) = (value(lo, "lower")?, value(hi, "upper")?);
                out.push(scorecheck::check_interval(a, b, &origin).map_err(bad)?);
            }
            out
        }
    };
    let fns = PyFns {
        d,
        log_density: log_density_fn,
        grad_log_density: grad_fn,
        field: field_fn,
        divergence: divergence_fn,
        error: std::sync::Mutex::new(None),
        calls: Default::default(),
        points: Default::default(),
        cache: Default::default(),
    };
    let density = match (&log_density, &pdf, fns.log_density.is_some()) {
        (_, _, true) => DensityModel::Py(&fns),
        (Some(l), None, false) => DensityModel::Expr(ExprDensity {
            program: callables::compile(l, "log_density", &vars, &params)?,
            kind: DensityKind::Log,
            dim: d,
        }),
        (None, Some(p), false) => DensityModel::Expr(ExprDensity {
            program: scorecheck::Program::compile_log(p, &vars, &params)
                .map_err(|e| bad(format!("pdf: {e}")))?,
            kind: DensityKind::Log,
            dim: d,
        }),
        _ => return Err(bad("give the density once: log_density= or pdf=")),
    };
    let field_model = match (&field, &log_model, fns.field.is_some()) {
        (_, _, true) => FieldModel::Py(&fns),
        (Some(f), _, false) => {
            if f.len() != d {
                return Err(bad(format!(
                    "field: the field has {} components but there are {d} variables ({})",
                    f.len(),
                    vars.join(", ")
                )));
            }
            FieldModel::Expr(scorecheck::ExprField::Components(
                f.iter()
                    .enumerate()
                    .map(|(i, t)| callables::compile(t, &format!("field[{i}]"), &vars, &params))
                    .collect::<PyResult<_>>()?,
            ))
        }
        (None, Some(m), false) => FieldModel::Expr(scorecheck::ExprField::Gradient {
            log_model: callables::compile(m, "log_model", &vars, &params)?,
            dim: d,
        }),
        (None, None, false) => return Err(bad("give the score: field= or log_model=")),
    };
    let weight = weight
        .as_ref()
        .map(|w| callables::compile(w, "weight", &vars, &params))
        .transpose()?;
    if let Some(b) = breaks {
        if b.len() != d {
            return Err(bad(format!(
                "`breaks` has {} lists but there are {d} variables; give one list per variable",
                b.len()
            )));
        }
        opts.breaks = b;
    }
    let info = CaseInfo {
        name: name.unwrap_or_else(|| "python".into()),
        vars: vars.clone(),
        params: params.iter().cloned().collect(),
        weight: weight.as_ref().map(|w| w.source().to_string()),
    };
    // The Python functions are called from one thread: the check runs on a pool of one (its
    // results do not depend on the number of threads), with the GIL released between calls.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    // The worker attaches once and detaches for the check, so each call of a function only
    // takes the GIL back on a thread state that already exists.
    let result = py.detach(|| {
        pool.install(|| {
            Python::attach(|py| {
                py.detach(|| {
                    scorecheck::check_weighted(
                        &density,
                        &field_model,
                        weight.as_ref(),
                        &domain,
                        &info,
                        &opts,
                    )
                })
            })
        })
    });
    if let Some(e) = fns.error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    let r = result.map_err(bad)?;
    let (calls, points) = (
        fns.calls.load(std::sync::atomic::Ordering::Relaxed),
        fns.points.load(std::sync::atomic::Ordering::Relaxed),
    );
    if explain {
        let ex = scorecheck::explain(&r);
        return Ok((
            ex.to_json(),
            ex.to_text(),
            ex.to_markdown(),
            code(ex.outcome()),
            calls,
            points,
        ));
    }
    Ok((
        r.to_json(),
        r.to_text(),
        String::new(),
        code(r.outcome()),
        calls,
        points,
    ))
}

/// The native half of the `scorecheck` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("BadInput", m.py().get_type::<BadInput>())?;
    m.add("Undecided", m.py().get_type::<Undecided>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Spec>()?;
    m.add_class::<Figure>()?;
    for f in [
        wrap_pyfunction!(load, m)?,
        wrap_pyfunction!(spec, m)?,
        wrap_pyfunction!(check, m)?,
        wrap_pyfunction!(explain, m)?,
        wrap_pyfunction!(score, m)?,
        wrap_pyfunction!(sweep, m)?,
        wrap_pyfunction!(estimate, m)?,
        wrap_pyfunction!(plot, m)?,
        wrap_pyfunction!(check_callables, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}

/// The exit code the command line gives for `outcome` ([`scorecheck::Outcome::exit_code`]),
/// so that a Python report's `exit_code` matches the CLI's.
fn code(outcome: scorecheck::Outcome) -> u8 {
    outcome.exit_code()
}
