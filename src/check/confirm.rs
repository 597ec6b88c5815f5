//! A violation confirmed: the main integrals again, independently of the first run (another
//! frame, another map of the infinite ends, another first subdivision), and whether they
//! find the violation too.

use super::boundary::face_term;
use super::integrand::{Integrand, Layout};
use super::normalizer::ratio_targets;
use super::{CheckOptions, cells_of};
use crate::frame::Frame;
use crate::locate::Located;
use crate::model::{Density, ScalarFunction, ScoreField};
use crate::quad::{Estimate, Piece, cubature_hinted_from};
use crate::report::{Component, Quantity, Status, fmt_q, fmt_value};

/// The main integrals again, independently of the first run: in another frame (given), the
/// infinite ends mapped at 1 mode width instead of 4 and each cell first cut into fewer
/// regions, so no rule point is where it was.
#[allow(clippy::too_many_arguments)]
pub(super) fn second_integration<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    frame: Option<&Frame>,
    loc_z: &Located,
    domain: &[(f64, f64)],
    divergent: &[bool],
    tol: f64,
    opts: &CheckOptions,
) -> Vec<Estimate> {
    let (d, k) = (ig.d, ig.k());
    let cells = cells_of(&loc_z.pieces_with_spread(domain, 1.0));
    let main = |zs: &[f64], n: usize, out: &mut [f64]| ig.eval_batch_hinted_in(frame, zs, n, out);
    let m = match d {
        2 => 5,
        3 => 3,
        _ => 2,
    };
    let r = super::kinks::SwitchTest::new(opts, frame, d, k).with_branches(|br| {
        cubature_hinted_from(
            &main,
            br,
            &cells,
            k,
            &|v: &[f64]| ratio_targets(v, tol, divergent),
            // A residual worth confirming is larger than the errors: a tenth of the budget.
            opts.max_evals / 10,
            m,
        )
    });
    (0..k)
        .map(|j| Estimate {
            value: r.values[j],
            error: r.errors[j],
            evals: r.evals,
        })
        .collect()
}

/// Whether the second integration `alt` fails to confirm a violated identity: for some
/// component whose residual exceeds its error, the residual from `alt` (with the same
/// boundary term) is within its own error or of the other sign. Returns the reason.
pub(super) fn unconfirmed(components: &[Component], alt: &[Estimate], l: Layout) -> Option<String> {
    let z = alt[0];
    if !(z.value.is_finite() && z.value > 0.0) {
        return Some("a second integration to confirm the violation found no mass".into());
    }
    let q = |j: usize| {
        let v = alt[j].value / z.value;
        (v, alt[j].error / z.value + v.abs() * z.error / z.value)
    };
    for (i, c) in components.iter().enumerate() {
        let (Some(lv), Some(rv), Some(bv), Some(le), Some(re), Some(be)) = (
            c.lhs.value,
            c.rhs.value,
            c.boundary.value,
            c.lhs.error,
            c.rhs.error,
            c.boundary.error,
        ) else {
            continue;
        };
        let res = lv - bv - rv;
        if res.abs() <= le + re + be {
            continue;
        }
        // One component per variable, or one for their sum (CheckOptions::total_divergence).
        let vars = if components.len() == l.d {
            i..i + 1
        } else {
            0..l.d
        };
        let side = |slot: &dyn Fn(usize) -> usize| {
            vars.clone()
                .map(|j| q(slot(j)))
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
        };
        let ((l2, le2), (r2, re2)) = (side(&|j| l.lhs(j)), side(&|j| l.rhs(j)));
        let (res2, e2) = (l2 - bv - r2, le2 + re2 + be);
        if res2.abs() <= e2 || res2.signum() != res.signum() {
            return Some(format!(
                "for {}: lhs − boundary − rhs = {:.3e} (± {:.1e}), but a second integration (another map of the infinite ends, another first subdivision) gives {:.3e} ± {:.1e}: the cubature's errors cannot be trusted here",
                c.var,
                res,
                le + re + be,
                res2,
                e2
            ));
        }
    }
    None
}

/// Whether a second computation of the boundary terms fails to confirm a nonzero one (2-D and
/// up, where the face integrals rest on cubature): every face again on [`other_faces`], each
/// component's term agreeing with the first within the two errors, and their sum still told
/// from 0 at the tolerance. Returns the reason when it is not confirmed. An end where the flux
/// diverges is not re-examined (that verdict rests on the probes' growth, not on a value).
#[allow(clippy::too_many_arguments)]
pub(super) fn boundary_unconfirmed<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    domain: &[(f64, f64)],
    components: &[Component],
    tol: f64,
    z: (f64, f64),
    weighted: bool,
    opts: &CheckOptions,
) -> Option<String> {
    let diverging = components
        .iter()
        .any(|c| c.faces.iter().any(|f| f.value.status == Status::Diverges));
    if ig.d < 2 || diverging {
        return None;
    }
    let again = other_faces(loc, domain);
    let second: Vec<Quantity> = (0..ig.d)
        .map(|i| {
            let [lower, upper] = [false, true]
                .map(|upper| face_term(ig, &again, domain, i, upper, tol, z, weighted, opts).0);
            Quantity::combine(&[(&lower, -1.0), (&upper, 1.0)], tol)
        })
        .collect();
    // One component for the sum over the variables (CheckOptions::total_divergence).
    let second = if components.len() < ig.d {
        let refs: Vec<(&Quantity, f64)> = second.iter().map(|q| (q, 1.0)).collect();
        vec![Quantity::combine(&refs, tol)]
    } else {
        second
    };
    boundary_disagreement(components, &second, tol)
}

/// The comparison behind [`boundary_unconfirmed`]: `second[i]` is component `i`'s boundary
/// term from the second integration.
pub(super) fn boundary_disagreement(
    components: &[Component],
    second: &[Quantity],
    tol: f64,
) -> Option<String> {
    const HOW: &str = "another subdivision of the faces, another map of the infinite ends";
    let (mut total, mut total_err) = (0.0, 0.0);
    for (c, b2) in components.iter().zip(second) {
        let (Some(v2), Some(e2)) = (b2.value, b2.error) else {
            return Some(format!(
                "for {}: a second integration of the boundary term ({HOW}) gives {}, so 'nonzero' is not confirmed",
                c.var,
                fmt_q(b2)
            ));
        };
        total += v2;
        total_err += e2;
        let (Some(v1), Some(e1)) = (c.boundary.value, c.boundary.error) else {
            continue;
        };
        if (v1 - v2).abs() > e1 + e2 {
            return Some(format!(
                "for {}: the boundary term is {} in one integration and {} in a second ({HOW}): they disagree beyond their errors, so 'nonzero' is not confirmed",
                c.var,
                fmt_value(v1, e1),
                fmt_value(v2, e2)
            ));
        }
    }
    if total.abs() - total_err <= tol {
        return Some(format!(
            "a second integration of the boundary term ({HOW}) gives {}, which cannot be told from 0 at the tolerance {tol:.0e}, so 'nonzero' is not confirmed",
            fmt_value(total, total_err)
        ));
    }
    None
}

/// Where the mass is, with the pieces cut another way for a second integration of the faces:
/// the infinite ends mapped at 1 mode width instead of the usual, and the widest finite piece
/// of each axis halved, so neither the face cubature's first cells nor the approach to a
/// finite end (which starts at a fraction of the adjacent piece) are where they were.
fn other_faces(loc: &Located, domain: &[(f64, f64)]) -> Located {
    let mut again = loc.clone();
    again.pieces = loc
        .pieces_with_spread(domain, 1.0)
        .into_iter()
        .map(halve_widest)
        .collect();
    again
}

/// The pieces of an axis with the widest finite one cut at its midpoint.
fn halve_widest(mut pieces: Vec<Piece>) -> Vec<Piece> {
    let widest = pieces
        .iter()
        .enumerate()
        .filter_map(|(k, p)| match *p {
            Piece::Finite { lo, hi } => Some((k, lo, hi)),
            _ => None,
        })
        .max_by(|a, b| (a.2 - a.1).total_cmp(&(b.2 - b.1)));
    if let Some((k, lo, hi)) = widest {
        let mid = 0.5 * (lo + hi);
        pieces.splice(
            k..=k,
            [Piece::Finite { lo, hi: mid }, Piece::Finite { lo: mid, hi }],
        );
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::boundary_disagreement;
    use crate::report::{Component, Quantity, Status};

    fn component(var: &str, boundary: Quantity) -> Component {
        let q = Quantity::new(0.0, 1e-12, 1, Status::Ok);
        Component {
            var: var.into(),
            lhs: q.clone(),
            rhs: q,
            boundary,
            faces: vec![],
        }
    }

    #[test]
    fn a_nonzero_boundary_term_stands_only_when_the_second_integration_finds_it() {
        let tol = 1e-8;
        let ok = |v: f64, e: f64| Quantity::new(v, e, 1, Status::Ok);
        let first = [
            component("x", ok(-0.46, 1e-9)),
            component("y", ok(0.0, 1e-12)),
        ];
        // Agreeing within the two errors, and far from 0: confirmed.
        let agree = [ok(-0.46 + 5e-10, 1e-9), ok(1e-13, 1e-12)];
        assert_eq!(boundary_disagreement(&first, &agree, tol), None);
        // A second value 1e-6 away, beyond 2e-9 of errors: not confirmed, naming the variable.
        let apart = [ok(-0.460001, 1e-9), ok(0.0, 1e-12)];
        let why = boundary_disagreement(&first, &apart, tol).expect("disagreement");
        assert!(
            why.starts_with("for x:") && why.contains("disagree"),
            "{why}"
        );
        // No value the second time.
        let none = [Quantity::none(1, Status::Nonfinite), ok(0.0, 1e-12)];
        let why = boundary_disagreement(&first, &none, tol).expect("no value");
        assert!(why.contains("not confirmed"), "{why}");
        // Agreeing, but the second's error is too large to tell the sum from 0.
        let wide = [ok(-0.3, 0.5), ok(0.0, 1e-12)];
        let why = boundary_disagreement(&first, &wide, tol).expect("cannot be told from 0");
        assert!(why.contains("cannot be told from 0"), "{why}");
    }
}
