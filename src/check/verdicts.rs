//! The verdicts and their explanations: whether the identity holds, whether the boundary
//! term vanishes, whether the objective is finite; and the status of a value.

use crate::report::{
    Boundary, Component, Cross, Explanations, Ibp, Objective, ObjectiveVerdict, Status, Verdict,
    fmt_point,
};

/// The status of a value: converged when its error is within `tol·max(1, |v|)` (the
/// tolerance is absolute for values up to 1 in size and relative above).
pub fn status_for_value(v: f64, err: f64, tol: f64) -> Status {
    if err <= tol * v.abs().max(1.0) && err.is_finite() {
        Status::Ok
    } else {
        Status::NotConverged
    }
}

pub(super) fn verdicts(
    components: &[Component],
    cross: &Cross,
    ob: &Objective,
    weighted: bool,
    tol: f64,
) -> (Verdict, Explanations) {
    let ps = if weighted { "h·p·s" } else { "p·s" };
    // IBP per component.
    let mut ibp = Ibp::Holds;
    let mut ibp_why =
        String::from("lhs_i = boundary_i + rhs_i for every variable, within the reported errors");
    for c in components {
        let (l, r, b) = (&c.lhs, &c.rhs, &c.boundary);
        match (l.value, r.value, b.value, l.error, r.error, b.error) {
            (Some(lv), Some(rv), Some(bv), Some(le), Some(re), Some(be)) => {
                let res = lv - bv - rv;
                let e = le + re + be;
                let converged = [l, r, b].iter().all(|q| q.status == Status::Ok);
                if res.abs() <= e {
                    if !converged && ibp == Ibp::Holds {
                        let slow = [("lhs", l), ("rhs", r), ("boundary", b)]
                            .into_iter()
                            .filter(|(_, q)| q.status == Status::NotConverged)
                            .map(|(n, _)| format!("{n}_{}", c.var))
                            .collect::<Vec<_>>()
                            .join(", ");
                        ibp = Ibp::Undecided;
                        ibp_why = format!(
                            "for {}: the two sides agree within their errors, but {slow} did not reach the tolerance",
                            c.var
                        );
                    }
                    continue;
                }
                if converged {
                    ibp = Ibp::Violated;
                    ibp_why = format!(
                        "for {}: lhs − boundary − rhs = {:.3e}, more than the combined error {:.1e}",
                        c.var, res, e
                    );
                    break;
                }
                ibp = Ibp::Undecided;
                ibp_why = format!(
                    "for {}: the residual {:.3e} is within reach of unconverged integrals",
                    c.var, res
                );
            }
            _ => {
                if ibp != Ibp::Violated {
                    ibp = Ibp::Undecided;
                    let bad = [("lhs", l), ("rhs", r), ("boundary", b)]
                        .into_iter()
                        .find(|(_, q)| !q.status.has_value())
                        .map(|(n, q)| match (q.status, &q.at) {
                            (Status::Nonfinite, Some(at)) => format!(
                                "{n} meets a NaN/inf integrand where p has mass (x = {})",
                                fmt_point(at)
                            ),
                            (Status::Nonfinite, None) => {
                                format!("{n} meets a NaN/inf integrand where p has mass")
                            }
                            _ => format!("{n} is infinite"),
                        })
                        .unwrap_or_default();
                    ibp_why = format!("for {}: {}, so the identity cannot be tested", c.var, bad);
                }
            }
        }
    }
    // Boundary: "nonzero" only when distinguishable from 0 at the tolerance.
    let b = &cross.boundary;
    let diverging_end = components.iter().find_map(|c| {
        c.faces
            .iter()
            .find(|f| f.value.status == Status::Diverges)
            .map(|f| {
                let at = f.at.map_or_else(
                    || {
                        if f.end == "upper" {
                            "∞".to_string()
                        } else {
                            "−∞".to_string()
                        }
                    },
                    |a| format!("{a}"),
                );
                format!("{} = {at} ({} end)", c.var, f.end)
            })
    });
    let (boundary, b_why) = match (b.value, b.error) {
        _ if diverging_end.is_some() => (
            Boundary::Nonzero,
            format!(
                "{ps} grows without bound towards {}: the boundary term diverges",
                diverging_end.unwrap_or_default()
            ),
        ),
        (Some(v), Some(e)) if v.abs() + e <= tol && b.status.has_value() => (
            Boundary::Vanishes,
            format!(
                "the boundary term is {} (zero within the tolerance {tol:.0e}): {ps} vanishes on the boundary",
                crate::report::fmt_value(v, e)
            ),
        ),
        (Some(v), Some(e)) if v.abs() - e > tol => {
            let worst = components
                .iter()
                .filter_map(|c| {
                    c.boundary
                        .value
                        .map(|bv| (c, bv, c.boundary.error.unwrap_or(0.0)))
                })
                .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()));
            let wh = worst
                .map(|(c, bv, be)| {
                    format!("; from {} ({})", c.var, crate::report::fmt_value(bv, be))
                })
                .unwrap_or_default();
            (
                Boundary::Nonzero,
                format!(
                    "the boundary term is {}, not 0 at the tolerance {tol:.0e}: {ps} does not vanish on the boundary{wh}",
                    crate::report::fmt_value(v, e)
                ),
            )
        }
        _ => (
            Boundary::Undecided,
            format!(
                "the boundary term could not be decided: {} cannot be told from 0 at the tolerance {tol:.0e}",
                crate::report::fmt_q(b)
            ),
        ),
    };
    // Objective.
    let qs = [("esm", &ob.esm), ("ism", &ob.ism), ("const", &ob.constant)];
    let (objective, o_why) =
        if let Some((n, _)) = qs.iter().find(|(_, q)| q.status == Status::Diverges) {
            (
                ObjectiveVerdict::Infinite,
                format!("{n} is infinite: the score-matching objective is not finite"),
            )
        } else if let Some((n, q)) = qs
            .iter()
            .find(|(_, q)| !q.status.has_value() || q.status == Status::NotConverged)
        {
            (
                ObjectiveVerdict::Undecided,
                if q.status == Status::NotConverged {
                    format!(
                        "{n} did not reach the tolerance: {}",
                        crate::report::fmt_q(q)
                    )
                } else {
                    format!("{n} is {}", crate::report::fmt_q(q))
                },
            )
        } else {
            let g = &ob.gap;
            (
                ObjectiveVerdict::Finite,
                format!(
                    "esm, ism and const are finite; gap = esm − ism − const = {}",
                    crate::report::fmt_q(g)
                ),
            )
        };
    (
        Verdict {
            ibp,
            boundary,
            objective,
        },
        Explanations {
            ibp: ibp_why,
            boundary: b_why,
            objective: o_why,
        },
    )
}
