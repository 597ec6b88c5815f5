//! The normalizer Z: the error targets of ratios `I/Z`, and, in 2-D and up, Z again through
//! another map of the infinite ends, whose disagreement widens every error.

use super::{CheckOptions, cells_of};
use crate::frame::{Frame, InFrame, hessian_frame};
use crate::locate::{Located, locate};
use crate::model::{Density, log_density_hessian};
use crate::quad::{Cell, CubatureResult, Estimate, cubature, cubature_hinted};
use crate::report::{Quantity, Status};

/// Error targets for raw integrals `v` whose ratios `Q_k = I_k/Z` (`Z = v[0]`) are reported
/// to `tol·max(1, |Q_k|)`. The error of `Q_k` is `e_k/Z + |Q_k|·e_Z/Z`, so `e_k ≤
/// 0.45·tol·max(Z, |I_k|)` and `e_Z ≤ 0.45·tol·Z` give at most `0.9·tol·max(1, |Q_k|)`,
/// because `|Q_k| ≤ max(1, |Q_k|)`. Integrals marked in `skip` (divergent) get no target.
pub(crate) fn ratio_targets(v: &[f64], tol: f64, skip: &[bool]) -> Vec<f64> {
    let z = v[0].abs().max(f64::MIN_POSITIVE);
    v.iter()
        .enumerate()
        .map(|(j, x)| {
            if skip.get(j).copied().unwrap_or(false) {
                f64::INFINITY
            } else {
                0.45 * tol * z.max(x.abs())
            }
        })
        .collect()
}

/// Z = z·e^{log_max} from the raw integral `z` of `p̃·e^{−log_max}`, kept in log space:
/// the reported Z (none, with a note, when it is not a normal double), log Z and its error
/// (Z's relative error, plus the rounding of `ln z + log_max`, an ulp or two of log Z).
pub(super) fn normalizer(
    z: Estimate,
    log_max: f64,
    tol: f64,
    notes: &mut Vec<String>,
) -> (Quantity, f64, f64) {
    let zq = if z.error <= tol * z.value {
        Status::Ok
    } else {
        Status::NotConverged
    };
    // Z = z·e^{log_max}, kept in log space: log Z = ln z + log_max. Z itself is reported
    // only when it is a double (normal, not overflowed or underflowed to 0).
    let log_normalizer = z.value.ln() + log_max;
    let scale = log_max.exp();
    let mut normalizer = Quantity::new(z.value * scale, z.error * scale, z.evals, zq);
    if !(z.value * scale).is_normal() {
        normalizer = Quantity {
            value: None,
            error: None,
            evals: z.evals,
            status: zq,
            at: None,
        };
        notes.push(format!(
            "Z is outside the range of a double: log Z = {log_normalizer:.12} ± {:.1e} (every ratio is computed from p̃·e^(−{:.6}))",
            z.error / z.value,
            log_max
        ));
    }
    let log_normalizer_error =
        z.error / z.value + 4.0 * f64::EPSILON * (log_max.abs() + z.value.ln().abs());
    (normalizer, log_normalizer, log_normalizer_error)
}

/// For 2-D and up: Z again, at a looser tolerance, through a different map of the infinite
/// pieces (1 mode width instead of 4). A cubature cannot see mass its points never reach —
/// a ridge that runs off to infinity along a diagonal, say — and its error estimate does not
/// know; two maps reach differently far. When the two values of Z differ by more than their
/// errors allow, twice the difference (a share `δ` of Z) is added to every integral's error
/// (`δ·max(Z, |I_k|)`, so `δ·max(1, |Q_k|)` after normalising) and a note says why.
pub(crate) fn cross_check_z<P: Density>(
    p: &P,
    loc: &Located,
    domain: &[(f64, f64)],
    est: &mut [Estimate],
    opts: &CheckOptions,
    hinted: bool,
) -> Option<String> {
    let z = est[0];
    if !(z.value.is_finite() && z.value > 0.0) {
        return None;
    }
    let cells = cells_of(&loc.pieces_with_spread(domain, 1.0));
    let (target, budget) = (1e-4 * z.value, opts.max_evals / 10);
    // With the same hint as the main cubature (check's), or, for one without it (fisher's),
    // without: the two maps then differ by what no point saw.
    let alt = if hinted {
        z_hinted(p, loc.log_max, &cells, &|_| vec![target], budget)
    } else {
        let log_max = loc.log_max;
        let f = |xs: &[f64], n: usize, out: &mut [f64]| {
            p.log_density_batch(xs, n, out);
            for (l, o) in out.iter_mut().enumerate().take(n) {
                let finite = (0..xs.len() / n.max(1)).all(|v| xs[v * n + l].is_finite());
                let w = (*o - log_max).exp();
                *o = if finite && w.is_finite() { w } else { 0.0 };
            }
        };
        cubature(&f, &cells, 1, &|_| vec![target], budget)
    };
    let (za, ea) = (alt.values[0], alt.errors[0]);
    let gap = (za - z.value).abs();
    if gap <= 2.0 * (ea + z.error) + 1e-14 * z.value {
        return None;
    }
    // Both maps may miss mass; the difference is doubled, as for the two rules in 1-D.
    let delta = 2.0 * gap / z.value;
    for e in est.iter_mut() {
        e.error += delta * e.value.abs().max(z.value);
    }
    Some(format!(
        "two maps of the infinite ends give Z values {:.3e} apart (relative), more than their errors allow: some mass lies where the cubature's points do not reach (far out along a direction the axes do not follow); every error includes twice that share",
        gap / z.value
    ))
}

/// `p̃/p̃_max` at `n` points (`xs[v * n + l]`) with the hint of [`cubature_hinted`]: per point
/// the value, `log(p̃/p̃_max)` and its gradient (`2 + d` values; 0 and −∞ where a coordinate
/// is not finite).
fn density_hinted<P: Density>(p: &P, log_max: f64, xs: &[f64], n: usize, out: &mut [f64]) {
    use num_dual::Dual64;
    if n == 0 {
        return;
    }
    let d = xs.len() / n;
    let ks = 2 + d;
    let mut dx = vec![Dual64::from(0.0); d * n];
    let mut res = vec![Dual64::from(0.0); n];
    for i in 0..d {
        for v in 0..d {
            let seed = if v == i { 1.0 } else { 0.0 };
            for l in 0..n {
                dx[v * n + l] = Dual64::new(xs[v * n + l], seed);
            }
        }
        p.log_density_batch(&dx, n, &mut res);
        for (l, r) in res.iter().enumerate() {
            out[l * ks + 1] = r.re - log_max;
            out[l * ks + 2 + i] = r.eps;
        }
    }
    for l in 0..n {
        let finite = (0..d).all(|v| xs[v * n + l].is_finite());
        let o = &mut out[l * ks..(l + 1) * ks];
        let w = o[1].exp();
        if finite && w.is_finite() && !o[1].is_nan() {
            o[0] = w;
        } else {
            o[0] = 0.0;
            o[1] = f64::NEG_INFINITY;
            o[2..].iter_mut().for_each(|g| *g = 0.0);
        }
    }
}

/// The relative tolerance of the pilot runs of Z that choose a frame ([`pilot_frame`]).
const PILOT_TOL: f64 = 1e-5;

/// For a law of one mode on the whole space whose Hessian there is turned from the coordinates
/// but whose tails do not call for turning ([`crate::frame::principal_frame`] keeps the
/// coordinates): the frame of that Hessian's axes when Z, taken alone to [`PILOT_TOL`], costs
/// there at most half the evaluations it costs in the coordinates. A ridge that follows the
/// Hessian's axes (a banana along a diagonal: 3.5 to 3.7 times fewer in 2-D; in 3-D the
/// coordinates had not converged at 1.8 times the frame's count) is then integrated along
/// them; one that bends away from them (a Rosenbrock ridge, which in the frame does not
/// converge on half the coordinates' evaluations) keeps the coordinates.
/// The pilot only ranks the two, but not at a loose tolerance: there the frame's count is
/// mostly the first cut and the search for hidden peaks, the same at 1e-3 as at 1e-5 (47,217
/// for one banana), while the coordinates' grows with the tolerance (91,720 at 1e-3, 174,206
/// at 1e-5), and at 1e-3 that banana stayed in the coordinates and took 0.65 s instead of
/// 0.18 s. Returns the frame, the mass's place in it and a note with the numbers.
pub(crate) fn pilot_frame<P: Density>(
    p: &P,
    loc: &Located,
    domain: &[(f64, f64)],
    opts: &CheckOptions,
) -> Option<(Frame, Located, String)> {
    // The Hessian at one mode of several describes one component, not the law.
    if loc.modes.len() != 1 {
        return None;
    }
    let frame = hessian_frame(p, loc, domain)?;
    let pz = InFrame { p, frame: &frame };
    let loc_z = locate(&pz, domain).ok()?;
    let (d, q) = (domain.len(), super::fmt_frame(&frame));
    if quadratic(&pz, d) {
        let note = format!(
            "the cubature ran in the axes of p's Hessian at its mode (x = c + Q z, Q = {q}): log p̃ is quadratic (a Gaussian law), which those axes make a product"
        );
        return Some((frame, loc_z, note));
    }
    let budget = opts.max_evals / 20;
    let coords = z_pilot(p, loc, budget);
    // The frame has to converge in half the coordinates' evaluations to be taken.
    let turned = z_pilot(&pz, &loc_z, if coords.1 { coords.0 / 2 } else { budget });
    if !turned.1 || (coords.1 && 2 * turned.0 > coords.0) {
        return None;
    }
    let how = if coords.1 {
        format!("{} in the coordinates", coords.0)
    } else {
        format!("more than {budget} in the coordinates")
    };
    let note = format!(
        "the cubature ran in the axes of p's Hessian at its mode (x = c + Q z, Q = {q}): Z to a relative {PILOT_TOL:e} took {} evaluations there, {how}",
        turned.0
    );
    Some((frame, loc_z, note))
}

/// Whether `log p̃` of `p` (in a frame whose origin is its mode) is a quadratic form: its
/// third differences along every axis and every diagonal of two axes, at steps of 1 and 2
/// of its scales there (from the Hessian), vanish to 1e-9 of the change across them (two calls
/// of the model: its Hessian at the mode, then every point at once). A
/// Gaussian law is then a product in the Hessian's axes, and integrating there needs no
/// pilot (a correlated 2-D Gaussian: 35,232 evaluations there against 50,404 in the
/// coordinates, and a pilot of Z cost 18,180 more, 11% of its time).
fn quadratic<P: Density>(p: &P, d: usize) -> bool {
    let (f0, _, h) = log_density_hessian(p, &vec![0.0; d]);
    let scale: Vec<f64> = (0..d).map(|i| 1.0 / (-h[i][i]).sqrt()).collect();
    if !f0.is_finite() || scale.iter().any(|s| !s.is_finite()) {
        return false;
    }
    let mut dirs = vec![];
    for i in 0..d {
        let mut v = vec![0.0; d];
        v[i] = 1.0;
        dirs.push(v.clone());
        for j in i + 1..d {
            for sg in [-1.0, 1.0] {
                let mut w = v.clone();
                w[j] = sg;
                dirs.push(w);
            }
        }
    }
    // Per direction and step t, the points at −t, t and 2t, all in one call of the model.
    let ts: Vec<f64> = [1.0, 2.0].iter().flat_map(|t| [-t, *t, 2.0 * t]).collect();
    let n = dirs.len() * ts.len();
    let mut zs = vec![0.0; d * n];
    for (l, (v, t)) in dirs
        .iter()
        .flat_map(|v| ts.iter().map(move |t| (v, t)))
        .enumerate()
    {
        for i in 0..d {
            zs[i * n + l] = t * v[i] * scale[i];
        }
    }
    let mut f = vec![0.0; n];
    p.log_density_batch(&zs, n, &mut f);
    f.chunks_exact(3).all(|w| {
        let [a, c, e] = [w[0], w[1], w[2]];
        let third = e - 3.0 * c + 3.0 * f0 - a;
        third.abs() <= 1e-9 * ((e - f0).abs() + (a - f0).abs())
    })
}

/// Z alone, hinted, to [`PILOT_TOL`] on at most `budget` evaluations: the evaluations spent
/// and whether it converged.
fn z_pilot<P: Density>(p: &P, loc: &Located, budget: u64) -> (u64, bool) {
    let cells = cells_of(&loc.pieces);
    let r = z_hinted(
        p,
        loc.log_max,
        &cells,
        &|v| vec![PILOT_TOL * v[0].abs()],
        budget,
    );
    (r.evals, r.converged)
}

/// Z (in units of `p̃_max = e^log_max`) over `cells` by [`cubature_hinted`].
fn z_hinted<P: Density>(
    p: &P,
    log_max: f64,
    cells: &[Cell],
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    budget: u64,
) -> CubatureResult {
    let f = |xs: &[f64], n: usize, out: &mut [f64]| density_hinted(p, log_max, xs, n, out);
    cubature_hinted(&f, cells, 1, targets, budget)
}
