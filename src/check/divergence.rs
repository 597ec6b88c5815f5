//! Which integrals diverge, found before the main cubature (2-D and up) so that they do not
//! drive its refinement: slab integrals followed over decades towards each end.

use super::boundary::on_face_batch;
use super::cells_of;
use super::integrand::Integrand;
use crate::locate::Located;
use crate::model::{Density, ScalarFunction, ScoreField};
use crate::quad::{Piece, cubature_from};

/// For 2-D and up: which integrals diverge. Along each axis, towards each end, the slab
/// integral `G(r) = ∫|f_k| dx_{−i}` on the face at distance `r` from the mode (infinite end) or
/// from the end (finite end) is followed over decades; `∫ G` is infinite when `r·G(r)` does
/// not fall off (as `r → ∞`, or as `r → 0` at a finite end).
pub(super) fn probe_divergence<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    domain: &[(f64, f64)],
) -> Vec<bool> {
    let d = ig.d;
    let k = ig.k();
    let mut div = vec![false; k];
    let centre = &loc.modes[0];
    for (i, &(lo, hi)) in domain.iter().enumerate() {
        let others: Vec<Vec<Piece>> = (0..d)
            .filter(|&j| j != i)
            .map(|j| loc.pieces[j].clone())
            .collect();
        let cells = cells_of(&others);
        for upper in [false, true] {
            let end = if upper { hi } else { lo };
            let sgn = if upper { 1.0 } else { -1.0 };
            let sigma = centre.scale[i];
            let mut m: Vec<Vec<f64>> = vec![];
            for j in 1..=12 {
                let (r, t) = if end.is_infinite() {
                    let r = sigma * 10f64.powi(j);
                    (r, centre.x[i] + sgn * r)
                } else {
                    let gap = (end - centre.x[i]).abs();
                    let width =
                        if gap > 0.0 { gap.min(sigma) } else { sigma }.max(f64::MIN_POSITIVE);
                    let r = width * 10f64.powi(-j);
                    (r, end - sgn * r)
                };
                if !t.is_finite() || (end.is_finite() && t == end) {
                    break;
                }
                let f = |ys: &[f64], n: usize, out: &mut [f64]| {
                    let xs = on_face_batch(ys, n, i, t, d);
                    ig.eval_batch(&xs, n, out);
                    out.iter_mut().for_each(|v| *v = v.abs());
                };
                // A magnitude to 1%: two starting cuts per axis are enough to see it.
                let g = cubature_from(
                    &f,
                    &cells,
                    k,
                    &|v: &[f64]| v.iter().map(|x| 1e-2 * x.abs() + 1e-300).collect(),
                    20_000,
                    2,
                );
                m.push(g.values.iter().map(|v| r * v).collect());
            }
            if m.len() < 5 {
                continue;
            }
            for (kk, dv) in div.iter_mut().enumerate() {
                let tail: Vec<f64> = m[m.len() - 4..].iter().map(|v| v[kk]).collect();
                if tail.iter().all(|v| *v > 0.0 && v.is_finite())
                    && tail.windows(2).all(|w| w[1] >= 0.9 * w[0])
                {
                    *dv = true;
                }
            }
        }
    }
    div
}
