//! The checks: field against the log-model's gradient, divergence against the exact ∇·s,
//! symmetry of the Jacobian; the verdict.

use super::derivatives::GradientOf;
use super::report::ModeSummary;
use super::report::ScoreVerdict;
use super::report::TailPoint;
use super::report::Tolerance;

use super::NEGLIGIBLE_LOG;
use super::compare::Acc;
use super::derivatives::jacobian;
use super::derivatives::log_gradient;
use super::fd::finite_difference_table;
use super::options::ScoreError;
use super::options::ScoreOptions;
use super::points::axis_name;
use super::points::point_set;
use super::report::Agreement;
use super::report::Counterexample;
use super::report::Discrepancy;
use super::report::GradientVerdict;
use super::report::PointCounts;
use super::report::PointKind;
use super::report::ScoreReport;
use crate::check::CaseInfo;
use crate::locate::LocateError;
use crate::locate::locate;
use crate::model::Density;
use crate::model::ScalarFunction;
use crate::model::ScoreField;
use num_dual::DualNum;

// The checks
// ---------------------------------------------------------------------------------------------

/// A part of a check that was not given; a placeholder type for [`ScoreCheck`]. Its trait
/// methods are never called.
#[derive(Clone, Copy, Debug, Default)]
pub struct Absent;

impl Density for Absent {
    fn dim(&self) -> usize {
        0
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, _x: &[D]) -> D {
        unreachable!("an absent log-model is never evaluated")
    }
}

impl ScoreField for Absent {
    fn dim(&self) -> usize {
        0
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, _i: usize, _x: &[D]) -> D {
        unreachable!("an absent field is never evaluated")
    }
}

impl ScalarFunction for Absent {
    fn value<D: DualNum<Primitive = f64> + Copy>(&self, _x: &[D]) -> D {
        unreachable!("an absent divergence is never evaluated")
    }
}

/// A score check being put together: the density `p`, its domain, and any of a hand-written
/// field, a log-model and a hand-written divergence.
///
/// * field and log-model: each `s_i` against the exact `∂_i log_model`;
/// * field alone: whether `s` is a gradient field (symmetric Jacobian);
/// * divergence: against the exact `∇·s` of the field, or of `∇ log_model` without a field.
///
/// ```
/// use scorecheck::CaseInfo;
/// use scorecheck::Program;
/// use scorecheck::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::{Agreement, ScoreCheck, ScoreOptions};
///
/// let vars = vec!["x".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2-1)^2/4"), kind: DensityKind::Log, dim: 1 };
/// // The score of the double well is −(x² − 1)x; forgetting the chain rule drops the x.
/// let field = ExprField::Components(vec![compile("-(x^2-1)")]);
/// let div = compile("-(3*x^2-1)"); // right for the right field
/// let info = CaseInfo { name: "well".into(), vars: vars.clone(), ..Default::default() };
/// let r = ScoreCheck::new(&p, &[(f64::NEG_INFINITY, f64::INFINITY)])
///     .field(&field)
///     .log_model(&p)
///     .divergence(&div)
///     .run(&info, &ScoreOptions::default())
///     .unwrap();
/// assert_eq!(r.verdict.field, Some(Agreement::Disagrees));
/// // ∇·s is taken of the hand-written field −(x² − 1), whose derivative is −2x.
/// assert_eq!(r.verdict.divergence, Some(Agreement::Disagrees));
/// ```
pub struct ScoreCheck<'a, P, S = Absent, M = Absent, V = Absent> {
    pub(super) p: &'a P,
    pub(super) domain: &'a [(f64, f64)],
    pub(super) field: Option<&'a S>,
    pub(super) log_model: Option<&'a M>,
    pub(super) divergence: Option<&'a V>,
}

impl<'a, P: Density> ScoreCheck<'a, P> {
    /// Start a check of hand-written parts against the density `p` on the box `domain`.
    pub fn new(p: &'a P, domain: &'a [(f64, f64)]) -> Self {
        ScoreCheck {
            p,
            domain,
            field: None,
            log_model: None,
            divergence: None,
        }
    }
}

impl<'a, P: Density, S: ScoreField, M: Density, V: ScalarFunction> ScoreCheck<'a, P, S, M, V> {
    /// The hand-written field `s`.
    pub fn field<S2: ScoreField>(self, field: &'a S2) -> ScoreCheck<'a, P, S2, M, V> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: Some(field),
            log_model: self.log_model,
            divergence: self.divergence,
        }
    }

    /// The log-model whose exact gradient the field should be.
    pub fn log_model<M2: Density>(self, log_model: &'a M2) -> ScoreCheck<'a, P, S, M2, V> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: self.field,
            log_model: Some(log_model),
            divergence: self.divergence,
        }
    }

    /// The hand-written divergence `∇·s`.
    pub fn divergence<V2: ScalarFunction>(self, div: &'a V2) -> ScoreCheck<'a, P, S, M, V2> {
        ScoreCheck {
            p: self.p,
            domain: self.domain,
            field: self.field,
            log_model: self.log_model,
            divergence: Some(div),
        }
    }

    /// Run the checks.
    pub fn run(&self, info: &CaseInfo, opts: &ScoreOptions) -> Result<ScoreReport, ScoreError> {
        check_score(
            self.p,
            self.field,
            self.log_model,
            self.divergence,
            self.domain,
            info,
            opts,
        )
    }
}

/// Every score check in one call, with the parts that are given; [`ScoreCheck`] is the same
/// with a builder, and [`compare_score`] and [`gradient_check`] are the common cases.
///
/// A `None` part needs its type named; [`Absent`] serves:
///
/// ```
/// use scorecheck::CaseInfo;
/// use scorecheck::Program;
/// use scorecheck::{DensityKind, ExprDensity};
/// use scorecheck::{Absent, Agreement, ScoreOptions, check_score};
///
/// let vars = vec!["x".to_string(), "y".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2+y^2)/2"), kind: DensityKind::Log, dim: 2 };
/// let div = compile("-1"); // ∇·∇log p = −2: one term forgotten
/// let info = CaseInfo { name: "div".into(), vars: vars.clone(), ..Default::default() };
/// let r = check_score(&p, None::<&Absent>, Some(&p), Some(&div),
///     &[(f64::NEG_INFINITY, f64::INFINITY); 2], &info, &ScoreOptions::default()).unwrap();
/// assert_eq!(r.verdict.divergence, Some(Agreement::Disagrees));
/// assert_eq!(r.verdict.field, None); // no hand-written field to compare
/// ```
pub fn check_score<P: Density, S: ScoreField, M: Density, V: ScalarFunction>(
    p: &P,
    field: Option<&S>,
    log_model: Option<&M>,
    divergence: Option<&V>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    opts.validate()?;
    let d = domain.len();
    let dims = [
        ("density", Some(p.dim())),
        ("field", field.map(|f| f.dim())),
        ("log-model", log_model.map(|m| m.dim())),
    ];
    for (what, got) in dims {
        if let Some(got) = got.filter(|g| *g != d) {
            return Err(ScoreError::Dimension {
                what,
                got,
                expected: d,
            });
        }
    }
    match (field, log_model) {
        (None, _) if divergence.is_none() => Err(ScoreError::NothingToCheck),
        (None, None) => Err(ScoreError::DivergenceOfNothing),
        (Some(f), m) => run_checks(p, f, true, m, divergence, domain, info, opts),
        (None, Some(m)) => run_checks(
            p,
            &GradientOf(m),
            false,
            Some(m),
            divergence,
            domain,
            info,
            opts,
        ),
    }
}

/// Compare a hand-written field with the exact gradient of a log-model, over where `p` has
/// its mass. See [`ScoreCheck`] for a hand-written divergence too.
///
/// ```
/// use scorecheck::CaseInfo;
/// use scorecheck::Program;
/// use scorecheck::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::{ScoreOptions, compare_score};
///
/// let vars = vec!["x".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x-1)^2/2"), kind: DensityKind::Log, dim: 1 };
/// // A log-model off by a constant has the same score: this passes.
/// let model = ExprDensity { program: compile("-(x-1)^2/2 + 3.7"), kind: DensityKind::Log, dim: 1 };
/// let field = ExprField::Components(vec![compile("-(x-1)")]);
/// let info = CaseInfo { name: "shift".into(), vars: vars.clone(), ..Default::default() };
/// let r = compare_score(&p, &field, &model, &[(f64::NEG_INFINITY, f64::INFINITY)], &info,
///     &ScoreOptions::default()).unwrap();
/// assert_eq!(r.exit_code(), 0);
/// ```
pub fn compare_score<P: Density, S: ScoreField, M: Density>(
    p: &P,
    field: &S,
    log_model: &M,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    ScoreCheck::new(p, domain)
        .field(field)
        .log_model(log_model)
        .run(info, opts)
}

/// Check that a hand-written field is a gradient field — its Jacobian symmetric, weighted by
/// `p` — as every score `∇ log q` is. A 1-D field always is.
///
/// ```
/// use scorecheck::CaseInfo;
/// use scorecheck::Program;
/// use scorecheck::{DensityKind, ExprDensity, ExprField};
/// use scorecheck::{GradientVerdict, ScoreOptions, gradient_check};
///
/// let vars = vec!["x".to_string(), "y".to_string()];
/// let compile = |s: &str| Program::compile(s, &vars, &[]).unwrap();
/// let p = ExprDensity { program: compile("-(x^2+y^2)/2"), kind: DensityKind::Log, dim: 2 };
/// let swirl = ExprField::Components(vec![compile("-x - y"), compile("x - y")]);
/// let info = CaseInfo { name: "swirl".into(), vars: vars.clone(), ..Default::default() };
/// let dom = [(f64::NEG_INFINITY, f64::INFINITY); 2];
/// let r = gradient_check(&p, &swirl, &dom, &info, &Default::default()).unwrap();
/// assert_eq!(r.verdict.gradient, Some(GradientVerdict::NotGradient));
/// assert_eq!(r.gradient[0].worst.as_ref().unwrap().abs, 2.0); // ∂_y s_x − ∂_x s_y = −2
/// ```
pub fn gradient_check<P: Density, S: ScoreField>(
    p: &P,
    field: &S,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    ScoreCheck::new(p, domain).field(field).run(info, opts)
}

/// The first discrepancy of a group that disagrees.
pub(super) fn first_worst(ds: &[Discrepancy]) -> Option<&Discrepancy> {
    ds.iter().find(|d| d.verdict == Agreement::Disagrees)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_checks<P: Density, S: ScoreField, M: Density, V: ScalarFunction>(
    p: &P,
    field: &S,
    hand_field: bool,
    log_model: Option<&M>,
    div: Option<&V>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &ScoreOptions,
) -> Result<ScoreReport, ScoreError> {
    let d = domain.len();
    let vars: Vec<String> = (0..d).map(|i| axis_name(&info.vars, i)).collect();
    let tol = Tolerance {
        rtol: opts.rtol,
        atol: opts.atol,
    };
    let loc = locate(p, domain).map_err(|e| match e {
        LocateError::NowhereFinite => ScoreError::DensityNowhere,
        LocateError::Undefined(at) => ScoreError::DensityUndefined { at },
        LocateError::NoDecay => ScoreError::NotIntegrable,
    })?;
    let mut pts = point_set(&loc, domain, opts.points, &vars);
    let mut counts = PointCounts::default();
    let mut log_max = loc.log_max;
    for pt in &mut pts {
        pt.log_p = p.log_density(&pt.x);
        if pt.log_p.is_finite() {
            log_max = log_max.max(pt.log_p);
        }
        match pt.kind {
            PointKind::Bulk => counts.bulk += 1,
            PointKind::Mode => counts.modes += 1,
            PointKind::Tail => counts.tails += 1,
            PointKind::Edge => counts.edges += 1,
        }
    }
    for pt in &mut pts {
        if pt.log_p.is_nan() {
            counts.undefined_density += 1;
            continue;
        }
        pt.log_p -= log_max;
        pt.used = pt.log_p >= NEGLIGIBLE_LOG;
        if pt.used {
            counts.used += 1;
        } else {
            counts.negligible += 1;
        }
    }

    // Accumulators.
    let comp_name = |i: usize| format!("s_{}", vars[i]);
    let mut field_acc: Vec<Acc> = match (hand_field, log_model) {
        (true, Some(_)) => (0..d)
            .map(|i| {
                Acc::new(
                    comp_name(i),
                    format!("{} (hand-written)", comp_name(i)),
                    format!("∂_{} log_model (exact)", vars[i]),
                )
            })
            .collect(),
        _ => vec![],
    };
    let of_what = if hand_field { "∇·s" } else { "Δ log_model" };
    let mut div_acc = div.map(|_| {
        Acc::new(
            "∇·s".into(),
            "∇·s (hand-written)".into(),
            format!("{of_what} (exact)"),
        )
    });
    let mut pairs: Vec<(usize, usize, Acc)> = vec![];
    if hand_field {
        for i in 0..d {
            for j in (i + 1)..d {
                let a = format!("∂_{} s_{}", vars[j], vars[i]);
                let b = format!("∂_{} s_{}", vars[i], vars[j]);
                pairs.push((i, j, Acc::new(format!("{a} − {b}"), a, b)));
            }
        }
    }

    for pt in &pts {
        if pt.log_p.is_nan() {
            continue;
        }
        let (s, jac) = jacobian(field, &pt.x);
        if let Some(m) = log_model
            && !field_acc.is_empty()
        {
            let g = log_gradient(m, &pt.x);
            for (i, acc) in field_acc.iter_mut().enumerate() {
                acc.add(pt, s[i], g[i], tol);
            }
        }
        if let (Some(v), Some(acc)) = (div, div_acc.as_mut()) {
            let exact: f64 = (0..d).map(|i| jac[i][i]).sum();
            acc.add(pt, v.value(&pt.x), exact, tol);
        }
        for (i, j, acc) in &mut pairs {
            acc.add(pt, jac[*i][*j], jac[*j][*i], tol);
        }
    }

    let field_res: Vec<Discrepancy> = field_acc.into_iter().map(Acc::finish).collect();
    let div_res = div_acc.map(Acc::finish);
    let pair_ij: Vec<(usize, usize)> = pairs.iter().map(|(i, j, _)| (*i, *j)).collect();
    let grad_res: Vec<Discrepancy> = pairs.into_iter().map(|(_, _, a)| a.finish()).collect();

    // Verdicts and explanations.
    let mut explanations = vec![];
    let mut notes = vec![];
    // The points every check of a group could compare (fewer than `used` if both sides
    // were NaN somewhere).
    let compared = |rs: &[Discrepancy]| rs.iter().map(|r| r.compared).min().unwrap_or(0);
    let field_verdict = (!field_res.is_empty()).then(|| {
        let v = combine(field_res.iter().map(|r| r.verdict));
        explanations.push(match v {
            Agreement::Agrees => format!(
                "field agrees: every s_i equals the exact ∂_i log_model to tolerance at all {} points where p has mass",
                compared(&field_res)
            ),
            Agreement::Disagrees => {
                let bad: Vec<&str> = field_res
                    .iter()
                    .filter(|r| r.verdict == Agreement::Disagrees)
                    .map(|r| r.check.as_str())
                    .collect();
                format!(
                    "field disagrees: {} {} not the exact gradient of log_model",
                    bad.join(", "),
                    if bad.len() == 1 { "is" } else { "are" }
                )
            }
            Agreement::Undecided => {
                "field undecided: s and ∇log_model are NaN at every point where p has mass".into()
            }
        });
        v
    });
    let div_verdict = div_res.as_ref().map(|r| {
        explanations.push(match r.verdict {
            Agreement::Agrees => format!(
                "divergence agrees: the hand-written ∇·s equals the exact {of_what} at all {} points compared",
                r.compared
            ),
            Agreement::Disagrees => format!(
                "divergence disagrees: the hand-written ∇·s is not the exact {of_what} (at {} of {} points)",
                r.disagreeing, r.compared
            ),
            Agreement::Undecided => "divergence undecided: both sides are NaN at every point where p has mass".into(),
        });
        r.verdict
    });
    let grad_verdict = hand_field.then(|| {
        if d == 1 {
            explanations.push(
                "gradient: a 1-D field is always a gradient (of its antiderivative)".into(),
            );
            return GradientVerdict::Gradient;
        }
        let v = combine(grad_res.iter().map(|r| r.verdict));
        explanations.push(match v {
            Agreement::Agrees => format!(
                "gradient: the Jacobian of s is symmetric at all {} points, as a score's must be",
                compared(&grad_res)
            ),
            Agreement::Disagrees => {
                let r = first_worst(&grad_res).expect("a disagreeing pair");
                format!(
                    "not a gradient: {} ≠ 0, so s is not ∇log q for any model q; the identity still holds for such a field, but it cannot be the score of any model",
                    r.check
                )
            }
            Agreement::Undecided => {
                "gradient undecided: the Jacobian is NaN at every point where p has mass".into()
            }
        });
        match v {
            Agreement::Agrees => GradientVerdict::Gradient,
            Agreement::Disagrees => GradientVerdict::NotGradient,
            Agreement::Undecided => GradientVerdict::Undecided,
        }
    });
    if hand_field && log_model.is_none() {
        notes.push(
            "no log_model: the field is only checked for being a gradient field; add `log_model` to compare it with a model's exact score".into(),
        );
    }
    for r in field_res.iter().chain(&div_res).chain(&grad_res) {
        if r.both_nan > 0 {
            notes.push(format!(
                "{}: both sides are NaN at {} points where p has mass; those points were not compared",
                r.check, r.both_nan
            ));
        }
        if r.disagreeing_negligible > 0 {
            notes.push(format!(
                "{}: also differs at {} points where p is negligible (log p/p_max < {NEGLIGIBLE_LOG}); these do not count",
                r.check, r.disagreeing_negligible
            ));
        }
    }
    if counts.undefined_density > 0 {
        notes.push(format!(
            "log p is NaN at {} points; they were skipped",
            counts.undefined_density
        ));
    }

    let counterexamples: Vec<Counterexample> = field_res
        .iter()
        .chain(&div_res)
        .chain(&grad_res)
        .filter_map(|r| {
            r.worst.as_ref().map(|w| Counterexample {
                check: r.check.clone(),
                a: r.a.clone(),
                b: r.b.clone(),
                sample: w.clone(),
            })
        })
        .collect();

    // Finite differences at the first counterexample, else the highest mode.
    let (fd_at, why) = match counterexamples.first() {
        Some(c) => (
            c.sample.at.clone(),
            format!("the counterexample of {}", c.check),
        ),
        // One width from the highest mode along every axis: at the mode itself the score
        // vanishes, which hides the error of a difference quotient.
        None => {
            let m = &loc.modes[0];
            let x = (0..d)
                .map(|i| {
                    let (a, b) = domain[i];
                    let up = m.x[i] + m.scale[i];
                    if up <= b {
                        up
                    } else {
                        (m.x[i] - m.scale[i]).max(a)
                    }
                })
                .collect();
            (x, "one width from the highest mode".to_string())
        }
    };
    // For a failing Jacobian pair, also its two entries.
    let mut entries: Vec<(usize, usize)> = (0..d).map(|i| (i, i)).collect();
    let pair_first = field_res.iter().chain(&div_res).all(|r| r.worst.is_none());
    if pair_first && let Some(k) = grad_res.iter().position(|r| r.worst.is_some()) {
        let (i, j) = pair_ij[k];
        entries.extend([(i, j), (j, i)]);
    }
    let finite_differences = (!opts.fd_steps.is_empty()).then(|| {
        finite_difference_table(
            field,
            log_model,
            &fd_at,
            why,
            domain,
            &vars,
            &entries,
            &opts.fd_steps,
        )
    });

    let tails = pts
        .iter()
        .filter(|p| matches!(p.kind, PointKind::Tail | PointKind::Edge))
        .map(|p| TailPoint {
            label: p.label.clone(),
            at: p.x.clone(),
            log_p: p.log_p,
            used: p.used,
        })
        .collect();

    Ok(ScoreReport {
        case: info.name.clone(),
        vars,
        params: info.params.clone(),
        domain: domain
            .iter()
            .map(|&(a, b)| [a.is_finite().then_some(a), b.is_finite().then_some(b)])
            .collect(),
        tolerance: tol,
        points: counts,
        modes: loc
            .modes
            .iter()
            .map(|m| ModeSummary {
                x: m.x.clone(),
                scale: m.scale.clone(),
            })
            .collect(),
        field: field_res,
        divergence: div_res,
        gradient: grad_res,
        finite_differences,
        tails,
        verdict: ScoreVerdict {
            field: field_verdict,
            divergence: div_verdict,
            gradient: grad_verdict,
        },
        counterexamples,
        explanations,
        notes,
    })
}

/// Disagrees if any disagrees, else undecided if any is, else agrees.
pub(super) fn combine(vs: impl Iterator<Item = Agreement>) -> Agreement {
    let mut out = Agreement::Agrees;
    for v in vs {
        match v {
            Agreement::Disagrees => return Agreement::Disagrees,
            Agreement::Undecided => out = Agreement::Undecided,
            Agreement::Agrees => {}
        }
    }
    out
}
