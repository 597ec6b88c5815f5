//! A violation confirmed: the main integrals again, independently of the first run (another
//! frame, another map of the infinite ends, another first subdivision), and whether they
//! find the violation too.

use super::integrand::{Integrand, Layout};
use super::normalizer::ratio_targets;
use super::{CheckOptions, cells_of};
use crate::frame::Frame;
use crate::locate::Located;
use crate::model::{Density, ScalarFunction, ScoreField};
use crate::quad::{Estimate, cubature_hinted_from};
use crate::report::Component;

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
    let r = cubature_hinted_from(
        &main,
        &cells,
        k,
        &|v: &[f64]| ratio_targets(v, tol, divergent),
        // A residual worth confirming is larger than the errors: a tenth of the budget.
        opts.max_evals / 10,
        m,
    );
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
        let ((l2, le2), (r2, re2)) = (q(l.lhs(i)), q(l.rhs(i)));
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
