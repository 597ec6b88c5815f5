//! The identity checks: the normalizer, the cross term both ways with its boundary term,
//! and the objectives, from exact derivatives and honest quadrature.
//!
//! For each variable `i` of a box domain `D = ∏[a_i, b_i]` and the normalised `p = p̃/Z`:
//!
//! ```text
//! lhs_i      = ∫_D s_i ∂_i p dx
//! rhs_i      = −∫_D p ∂_i s_i dx
//! boundary_i = ∫ [s_i p]_{x_i=a_i}^{x_i=b_i} dx_{−i}      (limits at infinite ends)
//! lhs_i = boundary_i + rhs_i
//! esm = E_p ½|s − ∇log p|²,  ism = E_p[½|s|² + ∇·s],  const = ½E_p|∇log p|²,
//! gap = esm − ism − const  (= −Σ boundary_i when all are finite)
//! ```
//!
//! All integrands are formed from `log p̃ − log p̃_max`, so `p̃ ≤ 1` and nothing overflows:
//! `∂_i p̃ = p̃ ∂_i log p̃`. See `proofs/` for the derivation.
//!
//! Bounds (issue 17): a check is one main integral (1-D: 1217 points per piece; 2-D and
//! up: a cubature of at most `max_evals` evaluations), a divergence probe (at most 12
//! integrals of 20 000 evaluations per end), a second map of Z (`max_evals/10`), and per end
//! of each axis at most 8 (finite end) or 47 (infinite end) face integrals of at most
//! `max_evals/10` each: at most `(1.1 + 9.4·d)·max_evals + 480 000·d` evaluations. The
//! cells are at most `locate::MAX_CELLS`, the stored regions at most `quad::max_regions`. A
//! mass that doubles cannot resolve ends the check before any integral, undecided.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `mod.rs` | [`check`] and [`check_weighted`]: the pipeline, from locating the mass to the report |
//! | `options.rs` | [`CheckOptions`], [`default_tol`], [`CaseInfo`] |
//! | `error.rs` | [`CheckError`]: why a check could not be run |
//! | `integrand.rs` | the integrand vector (Z, lhs/rhs per variable, objectives, weighted forms) and the flux |
//! | `kinks.rs` | the switches the cubature meets inside its regions (kinks and jumps it must not trust its rules across) |
//! | `divergence.rs` | which integrals diverge, probed before the main cubature (2-D and up) |
//! | `normalizer.rs` | Z and log Z, the targets of ratios `I/Z`, Z again through another map |
//! | `boundary.rs` | the boundary term: face integrals, their limits at finite ends, decay at infinite ones |
//! | `verdicts.rs` | the verdicts and their explanations; [`status_for_value`] |
//! | `confirm.rs` | a violation confirmed by a second, independent integration |

mod boundary;
mod confirm;
mod divergence;
mod error;
mod integrand;
mod kinks;
mod normalizer;
mod options;
mod verdicts;

pub use error::CheckError;
use normalizer::normalizer;
pub(crate) use normalizer::{cross_check_z, pilot_frame, ratio_targets};
pub use options::{CaseInfo, CheckOptions, default_tol};
pub use verdicts::status_for_value;

use boundary::face_term;
use confirm::{boundary_unconfirmed, second_integration, unconfirmed};
use divergence::probe_divergence;
use integrand::{Integrand, Layout, MAX_K, NEGLIGIBLE_LOG, Records};
use verdicts::verdicts;

use crate::expr::Program;
use crate::frame::{Frame, InFrame, hessian_frame, principal_frame};
use crate::locate::{LocateError, Located, locate};
use crate::model::{Density, ScalarFunction, ScoreField};
use crate::quad::{Cell, Estimate, Piece, cubature_hinted_with, integrate_1d_vec};
use crate::report::{
    Boundary, Component, Cross, Face, Flux, Found, Ibp, Objective, Quantity, Report, Status,
    Weighted,
};
use kinks::SwitchTest;
use std::sync::{Arc, Mutex};

/// Run the check of `s` against `p` on the box `domain`.
pub fn check<P: Density, S: ScoreField>(
    p: &P,
    s: &S,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &CheckOptions,
) -> Result<Report, CheckError> {
    check_weighted::<P, S, Program>(p, s, None, domain, info, opts)
}

/// Run the check, and with a weight `h ≥ 0` also the weighted identity
/// `E_p[½h|s − ∇log p|²] = E_p[h(½|s|² + ∇·s) + ∇h·s] + ½E_p[h|∇log p|²]`, whose boundary
/// term is `∮ h p s·n` (generalized score matching for bounded domains).
pub fn check_weighted<P: Density, S: ScoreField, W: ScalarFunction>(
    p: &P,
    s: &S,
    weight: Option<&W>,
    domain: &[(f64, f64)],
    info: &CaseInfo,
    opts: &CheckOptions,
) -> Result<Report, CheckError> {
    let d = domain.len();
    let tol = opts.tol.unwrap_or_else(|| default_tol(d));
    let mut loc = locate(p, domain).map_err(|e| match e {
        LocateError::NowhereFinite => CheckError::DensityNowhere,
        LocateError::Undefined(at) => CheckError::DensityUndefined { at },
        LocateError::NoDecay => CheckError::NotIntegrable,
    })?;
    if let Some(why) = &loc.unresolved {
        // Bound: doubles cannot resolve the mass, so no integral is attempted (issue 17).
        let modes = loc.modes.iter().map(|m| m.x.clone()).collect();
        return Ok(Report::undecided(
            &info.name,
            &info.vars,
            &info.params,
            domain,
            tol,
            modes,
            weight.and(info.weight.as_deref()),
            why,
        ));
    }
    // As located, before the breakpoints: what the figures draw from (Report::located).
    let located = Found(Some(Arc::new(loc.clone())));
    let found = crate::breaks::find_breaks(&opts.switches, domain, &loc.modes);
    let breaks = crate::breaks::merge(&opts.breaks, &found, domain);
    // Breakpoints lie along the coordinate axes: a turned frame would make them diagonal,
    // so with any, the cubature keeps the coordinates.
    let axis_breaks = breaks.iter().any(|b| !b.is_empty());
    loc.add_breaks(&breaks);
    let ig = Integrand {
        p,
        s,
        weight,
        d,
        log_max: loc.log_max,
        rec: Mutex::new(Records {
            nonfinite: vec![None; MAX_K],
            ..Default::default()
        }),
    };
    let mut notes = vec![];

    // Raw integrals of p̃-weighted quantities.
    // What a second, independent integration needs (2-D and up): the frame, the mass's place
    // in it and the divergent integrals.
    let mut second: Option<SecondRun> = None;
    let (raw, diverges) = if d == 1 {
        integrate_all_1d(&ig, &loc)
    } else {
        let (est, divergent, again) =
            integrate_all_nd(&ig, p, &loc, domain, axis_breaks, tol, opts, &mut notes);
        second = Some(again);
        (est, divergent)
    };
    let rec = ig.records();
    if let Some(at) = &rec.undefined_density {
        return Err(CheckError::DensityUndefined { at: at.clone() });
    }
    if let Some(at) = &rec.negative_weight {
        return Err(CheckError::NegativeWeight { at: at.clone() });
    }
    if diverges[0] {
        return Err(CheckError::NotIntegrable);
    }
    let z = raw[0];
    if z.value.is_nan() || z.value <= 0.0 {
        return Err(CheckError::ZeroMass);
    }
    if !z.value.is_finite() {
        return Err(CheckError::NotIntegrable);
    }
    let (normalizer, log_normalizer, log_normalizer_error) =
        normalizer(z, loc.log_max, tol, &mut notes);
    let nonfinite = rec.nonfinite.clone();
    drop(rec);
    let quantity = |j: usize| -> Quantity {
        let e = raw[j];
        // An integral shown to diverge may overflow near where it does.
        if diverges[j] {
            return Quantity::none(e.evals, Status::Diverges);
        }
        if let Some(at) = &nonfinite[j] {
            let mut q = Quantity::none(e.evals, Status::Nonfinite);
            q.at = Some(at.clone());
            return q;
        }
        let v = e.value / z.value;
        let err = e.error / z.value + v.abs() * z.error / z.value;
        Quantity::new(v, err, e.evals, status_for_value(v, err, tol))
    };

    // The identity, unweighted and (with a weight) weighted.
    let var_name = |i: usize| {
        info.vars
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("x{}", i + 1))
    };
    let mut flux = vec![];
    let mut section = |weighted: bool| {
        let l = Layout { d, weighted };
        let mut components = vec![];
        for i in 0..d {
            let mut parts = vec![];
            for upper in [false, true] {
                let (q, samples) = face_term(
                    &ig,
                    &loc,
                    domain,
                    i,
                    upper,
                    tol,
                    (z.value, z.error),
                    weighted,
                    opts,
                );
                if let (Some(samples), false) = (samples, weighted) {
                    flux.push(Flux {
                        var: var_name(i),
                        end: if upper { "upper" } else { "lower" }.into(),
                        samples,
                    });
                }
                parts.push((q, if upper { 1.0 } else { -1.0 }));
            }
            let refs: Vec<(&Quantity, f64)> = parts.iter().map(|(q, s)| (q, *s)).collect();
            let boundary = Quantity::combine(&refs, tol);
            let faces = parts
                .iter()
                .zip([domain[i].0, domain[i].1])
                .zip(["lower", "upper"])
                .map(|(((q, _), at), end)| Face {
                    end: end.into(),
                    at: at.is_finite().then_some(at),
                    value: q.clone(),
                })
                .collect();
            components.push(Component {
                var: var_name(i),
                lhs: quantity(l.lhs(i)),
                rhs: quantity(l.rhs(i)),
                boundary,
                faces,
            });
        }
        let sum_of = |f: &dyn Fn(&Component) -> &Quantity| {
            let refs: Vec<(&Quantity, f64)> = components.iter().map(|c| (f(c), 1.0)).collect();
            Quantity::combine(&refs, tol)
        };
        let cross = Cross {
            lhs: sum_of(&|c| &c.lhs),
            rhs: sum_of(&|c| &c.rhs),
            boundary: sum_of(&|c| &c.boundary),
        };
        let esm = quantity(l.esm());
        let ism = quantity(l.ism());
        let constant = quantity(l.constant());
        let mut gap = Quantity::combine(&[(&esm, 1.0), (&ism, -1.0), (&constant, -1.0)], tol);
        if gap.status == Status::Nonfinite {
            gap.at = None;
        }
        let objective = Objective {
            esm,
            ism,
            constant,
            gap,
        };
        (components, cross, objective)
    };
    let (mut components, cross, objective) = section(false);
    let mut weighted_part = weight.map(|_| section(true));
    if opts.total_divergence && d > 1 {
        components = vec![summed(&components, &cross)];
        if let Some((c, cr, _)) = &mut weighted_part {
            *c = vec![summed(c, cr)];
        }
        notes.push(format!(
            "the divergence is given as ∇·s only: the identity is checked for the sum over the variables ({}), not per variable",
            components[0].var
        ));
    }
    let half_s2 = quantity(Layout { d, weighted: false }.half_s2());

    let rec = ig.records();
    if rec.dropped > 0 {
        notes.push(format!(
            "{} integrand values were NaN/inf (or at an infinite coordinate) where p/p_max < e^{} (1e-100); they were dropped as a negligible tail",
            rec.dropped, NEGLIGIBLE_LOG as i64
        ));
    }
    drop(rec);

    let (mut verdict, mut explanations) = verdicts(&components, &cross, &objective, false, tol);
    let z_pair = (z.value, z.error);
    if verdict.boundary == Boundary::Nonzero {
        let why = boundary_unconfirmed(&ig, &loc, domain, &components, tol, z_pair, false, opts);
        if let Some(why) = why {
            verdict.boundary = Boundary::Undecided;
            explanations.boundary = why;
        }
    }
    if let (Ibp::Violated, Some((frame, loc_z, divergent))) = (verdict.ibp, &second) {
        // A violation rests on cubature; it stands only if an independent integration, with
        // another map of the infinite ends and another first subdivision, finds it too.
        // In the other frame: the Hessian's axes when the first run kept the coordinates,
        // the coordinates when it turned.
        let other = match frame {
            Some(_) => None,
            None if axis_breaks => None,
            None => hessian_frame(p, &loc, domain),
        };
        let other_loc = match &other {
            Some(f) => locate(&InFrame { p, frame: f }, domain).unwrap_or_else(|_| loc.clone()),
            None if frame.is_some() => loc.clone(),
            None => loc_z.clone(),
        };
        let alt = second_integration(
            &ig,
            other.as_ref(),
            &other_loc,
            domain,
            divergent,
            tol,
            opts,
        );
        if let Some(why) = unconfirmed(&components, &alt, Layout { d, weighted: false }) {
            verdict.ibp = Ibp::Undecided;
            explanations.ibp = why;
        }
    }
    let weighted = weighted_part.map(|(components, cross, objective)| {
        let (mut verdict, mut explanations) = verdicts(&components, &cross, &objective, true, tol);
        if verdict.boundary == Boundary::Nonzero {
            let why = boundary_unconfirmed(&ig, &loc, domain, &components, tol, z_pair, true, opts);
            if let Some(why) = why {
                verdict.boundary = Boundary::Undecided;
                explanations.boundary = why;
            }
        }
        Weighted {
            weight: info.weight.clone().unwrap_or_default(),
            half_s2: quantity(Layout { d, weighted: true }.half_s2()),
            components,
            cross,
            objective,
            verdict,
            explanations,
        }
    });
    let mut notes_all = notes;
    let names: Vec<(String, &Quantity)> = std::iter::once(("Z".to_string(), &normalizer))
        .chain(components.iter().flat_map(|c| {
            [
                (format!("lhs_{}", c.var), &c.lhs),
                (format!("rhs_{}", c.var), &c.rhs),
                (format!("boundary_{}", c.var), &c.boundary),
            ]
        }))
        .collect();
    for (name, q) in names {
        if q.status == Status::NotConverged {
            notes_all.push(format!("{name} did not reach the tolerance {tol:.0e}"));
        }
    }
    Ok(Report {
        case: info.name.clone(),
        vars: info.vars.clone(),
        params: info.params.clone(),
        normalizer,
        log_normalizer,
        // Z's relative error, plus the rounding of ln z + log_max (an ulp or two of log Z).
        log_normalizer_error,
        components,
        cross,
        objective,
        verdict,
        domain: domain
            .iter()
            .map(|&(a, b)| [a.is_finite().then_some(a), b.is_finite().then_some(b)])
            .collect(),
        tolerance: tol,
        modes: loc.modes.iter().map(|m| m.x.clone()).collect(),
        flux,
        explanations,
        notes: notes_all,
        half_s2,
        weighted,
        located,
    })
}

/// `Q` row by row, for a note.
/// What a second, independent integration needs (2-D and up): the frame the first ran in,
/// the mass's place in it and the integrals shown to diverge.
type SecondRun = (Option<Frame>, Located, Vec<bool>);

/// The raw integrals in 2-D and up: divergent ones found first, the cubature in the law's
/// principal frame (or the coordinates, with axis breakpoints), Z cross-checked on a second
/// map. Returns the estimates, which integrals diverge, and what a confirmation needs.
#[allow(clippy::too_many_arguments)]
fn integrate_all_nd<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    p: &P,
    loc: &Located,
    domain: &[(f64, f64)],
    axis_breaks: bool,
    tol: f64,
    opts: &CheckOptions,
    notes: &mut Vec<String>,
) -> (Vec<Estimate>, Vec<bool>, SecondRun) {
    let (d, k) = (ig.d, ig.k());
    // Integrals that diverge are found first, so they do not drive the refinement.
    let divergent = probe_divergence(ig, loc, domain);
    let targets = |v: &[f64]| ratio_targets(v, tol, &divergent);
    // On the whole space, the integrals are taken in the law's own axes (crate::frame), else
    // in the axes of its Hessian at the mode where a pilot shows them cheaper; with a
    // breakpoint along an axis, in the coordinates.
    let turned = if axis_breaks {
        None
    } else if let Some(f) = principal_frame(p, loc, domain) {
        let loc_z = locate(&InFrame { p, frame: &f }, domain).unwrap_or_else(|_| loc.clone());
        let note = format!(
            "the cubature ran in the principal axes of p at its mode (x = c + Q z, Q = {}), which the tails follow",
            fmt_frame(&f)
        );
        Some((f, loc_z, note))
    } else {
        pilot_frame(p, loc, domain, opts)
    };
    let (frame, loc_z) = match turned {
        Some((f, loc_z, note)) => {
            notes.push(note);
            (Some(f), loc_z)
        }
        None => (None, loc.clone()),
    };
    let in_frame = frame.as_ref().map(|f| InFrame { p, frame: f });
    let cells = cells_of(&loc_z.pieces);
    let main =
        |zs: &[f64], n: usize, out: &mut [f64]| ig.eval_batch_hinted_in(frame.as_ref(), zs, n, out);
    let r = SwitchTest::new(opts, frame.as_ref(), d, k)
        .with_branches(|br| cubature_hinted_with(&main, br, &cells, k, &targets, opts.max_evals));
    let est: Vec<Estimate> = (0..k)
        .map(|j| Estimate {
            value: r.values[j],
            error: r.errors[j],
            evals: r.evals,
        })
        .collect();
    if let Some(why) = &r.stopped {
        notes.push(why.clone());
    } else if !r.converged && r.evals < opts.max_evals {
        notes.push(format!(
            "the cubature stopped at its memory ceiling ({} regions, {} MiB) after {} evaluations, before reaching the tolerance",
            crate::quad::max_regions(d, k),
            crate::quad::MEMORY_BUDGET >> 20,
            r.evals
        ));
    } else if !r.converged {
        notes.push(format!(
            "the cubature used its budget of {} evaluations before reaching the tolerance",
            opts.max_evals
        ));
    }
    let mut est = est;
    let note = match &in_frame {
        Some(pz) => cross_check_z(pz, &loc_z, domain, &mut est, opts, true),
        None => cross_check_z(p, loc, domain, &mut est, opts, true),
    };
    if let Some(note) = note {
        notes.push(note);
    }
    let again = (frame.clone(), loc_z.clone(), divergent.clone());
    (est, divergent, again)
}

/// The components as one, for a field whose derivatives are known only as `∇·s`: the cross
/// term's sums, named by the variables joined with `+`, with every face.
fn summed(components: &[Component], cross: &Cross) -> Component {
    Component {
        var: components
            .iter()
            .map(|c| c.var.as_str())
            .collect::<Vec<_>>()
            .join("+"),
        lhs: cross.lhs.clone(),
        rhs: cross.rhs.clone(),
        boundary: cross.boundary.clone(),
        faces: components.iter().flat_map(|c| c.faces.clone()).collect(),
    }
}

fn fmt_frame(f: &Frame) -> String {
    let rows: Vec<String> = (0..f.d)
        .map(|i| {
            let r: Vec<String> = (0..f.d).map(|j| format!("{:.4}", f.q[i][j])).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// 1-D: every quantity integrated together with the tanh-sinh rule, from one evaluation of
/// the integrand vector per point.
fn integrate_all_1d<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
) -> (Vec<Estimate>, Vec<bool>) {
    integrate_1d_vec(
        &|xs: &[f64], n: usize, out: &mut [f64]| ig.eval_batch(xs, n, out),
        &loc.pieces[0],
        ig.k(),
    )
}

/// All products of the axes' pieces (at most `locate::MAX_CELLS`).
fn cells_of(pieces: &[Vec<Piece>]) -> Vec<Cell> {
    let mut cells = vec![Cell { pieces: vec![] }];
    for axis in pieces {
        let mut next = vec![];
        for c in &cells {
            for p in axis {
                let mut q = c.pieces.clone();
                q.push(*p);
                next.push(Cell { pieces: q });
            }
        }
        cells = next;
    }
    cells
}
