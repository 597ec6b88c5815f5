//! The boundary term: per end of each axis, the face integral of `s_i p̃` and its limit at a
//! finite end (from inside) or its decay towards an infinite one.

use super::integrand::Integrand;
use super::verdicts::status_for_value;
use super::{CheckOptions, cells_of};
use crate::locate::Located;
use crate::model::{Density, ScalarFunction, ScoreField};
use crate::quad::{Estimate, Piece, cubature};
use crate::report::{Quantity, Status};

/// The points of the face `x_i = t` whose other coordinates are `ys` (`n` points laid out
/// coordinate-major, `ys[v * n + l]`), in the same layout.
pub(super) fn on_face_batch(ys: &[f64], n: usize, i: usize, t: f64, d: usize) -> Vec<f64> {
    let mut xs = Vec::with_capacity(d * n);
    let mut rest = ys.chunks_exact(n.max(1));
    for j in 0..d {
        if j == i {
            xs.extend(std::iter::repeat_n(t, n));
        } else {
            xs.extend_from_slice(rest.next().expect("d − 1 coordinates"));
        }
    }
    xs
}

/// `∫ s_i p̃ dx_{−i}` at `x_i = t` (a point value in 1-D), with error and evaluations;
/// `None` when a non-finite value is met where p̃ has mass.
#[allow(clippy::too_many_arguments)]
fn face_at<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    i: usize,
    t: f64,
    target: f64,
    rel: f64,
    weighted: bool,
    opts: &CheckOptions,
) -> Option<Estimate> {
    let d = ig.d;
    if d == 1 {
        return ig.flux(0, &[t], weighted).map(|v| Estimate {
            value: v,
            error: 4.0 * f64::EPSILON * v.abs(),
            evals: 1,
        });
    }
    let others: Vec<Vec<Piece>> = (0..d)
        .filter(|&j| j != i)
        .map(|j| loc.pieces[j].clone())
        .collect();
    let cells = cells_of(&others);
    let bad = std::sync::atomic::AtomicBool::new(false);
    let f = |ys: &[f64], n: usize, out: &mut [f64]| {
        let xs = on_face_batch(ys, n, i, t, d);
        if !ig.flux_batch(i, &xs, n, weighted, out) {
            bad.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let r = cubature(
        &f,
        &cells,
        1,
        &|v: &[f64]| vec![target.max(rel * v[0].abs())],
        opts.max_evals / 10,
    );
    if bad.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    Some(Estimate {
        value: r.values[0],
        error: r.errors[0],
        evals: r.evals,
    })
}

/// The contribution of one end of axis `i` to `boundary_i` (before the sign), normalised.
#[allow(clippy::too_many_arguments)]
pub(super) fn face_term<P: Density, S: ScoreField, W: ScalarFunction>(
    ig: &Integrand<'_, P, S, W>,
    loc: &Located,
    domain: &[(f64, f64)],
    i: usize,
    upper: bool,
    tol: f64,
    (z, z_err): (f64, f64),
    weighted: bool,
    opts: &CheckOptions,
) -> (Quantity, Option<Vec<[f64; 2]>>) {
    // A face value F/Z carries the relative error of Z too.
    let zrel = z_err / z;
    let (a, b) = domain[i];
    let end = if upper { b } else { a };
    let target = 0.2 * tol * z;
    let pieces = &loc.pieces[i];
    if end.is_finite() {
        // The one-sided limit of the face integral of s_i p̃ as x_i → end, from inside.
        let adjacent = if upper { pieces.last() } else { pieces.first() }
            .copied()
            .expect("an axis has pieces");
        let delta0 = 0.25 * adjacent.scale().abs().min((b - a).abs());
        let inward = if upper { -1.0 } else { 1.0 };
        let lim = end_limit(
            |t| face_at(ig, loc, i, t, 0.05 * target, 0.0, weighted, opts),
            end,
            inward,
            delta0,
            0.1 * target,
        );
        let q = match lim {
            Limit::Value {
                value,
                error,
                evals,
                ..
            } => {
                let v = value / z;
                let err = error / z + v.abs() * zrel;
                // Settled or not, the error is the limit's own (unbounded when the approach
                // showed no rate): the value has converged when that error meets the tolerance.
                Quantity::new(v, err, evals, status_for_value(v, err, tol))
            }
            Limit::Diverges { evals } => Quantity::none(evals, Status::Diverges),
            Limit::Nonfinite { at, evals } => {
                let mut q = Quantity::none(evals, Status::Nonfinite);
                let mut x = loc.modes[0].x.clone();
                x[i] = at;
                q.at = Some(x);
                q
            }
        };
        return (q, None);
    }
    // Infinite end: follow the flux out to where p̃ is negligible.
    let piece = if upper { pieces.last() } else { pieces.first() }
        .copied()
        .expect("an axis has pieces");
    let (origin, scale) = match piece {
        Piece::Upper { start, scale } => (start, scale),
        Piece::Lower { end, scale } => (end, scale),
        Piece::Finite { .. } => unreachable!("an infinite end has an infinite piece"),
    };
    let sgn = if upper { 1.0 } else { -1.0 };
    let mut samples: Vec<[f64; 2]> = vec![];
    let mut evals = 0;
    let mut nonfinite_at = None;
    let mut small_run = 0;
    // Out by √2 steps to 1000σ, then by decades to 1e30σ.
    let radii = (0..20)
        .map(|kk| scale * 2f64.powf(kk as f64 * 0.5 + 1.0))
        .chain((4..=30).map(|kk| scale * 10f64.powi(kk)));
    for r in radii {
        let t = origin + sgn * r;
        if !t.is_finite() {
            break;
        }
        // Evidence only: each sample to 1% (or far below the tolerance when it is tiny).
        match face_at(
            ig,
            loc,
            i,
            t,
            (1e-3 * target).max(f64::MIN_POSITIVE),
            1e-2,
            weighted,
            opts,
        ) {
            Some(e) => {
                evals += e.evals;
                samples.push([t, e.value / z]);
                if (e.value / z).abs() <= 1e-3 * tol {
                    small_run += 1;
                    if small_run >= 3 {
                        break;
                    }
                } else {
                    small_run = 0;
                }
            }
            None => {
                let mut x = loc.modes[0].x.clone();
                x[i] = t;
                nonfinite_at = Some(x);
                break;
            }
        }
    }
    if let Some(at) = nonfinite_at {
        let mut q = Quantity::none(evals, Status::Nonfinite);
        q.at = Some(at);
        return (q, Some(samples));
    }
    let n = samples.len();
    let last = samples.last().map(|s| s[1].abs()).unwrap_or(0.0);
    // Decayed: tiny at the end, or falling steadily out to the last radius.
    let falling = n >= 6
        && samples[n - 6..]
            .windows(2)
            .all(|w| w[1][1].abs() <= w[0][1].abs() * 1.0001);
    let decayed = small_run >= 3 || (falling && last <= tol);
    let q = if decayed {
        // The limit is 0; what is left is bounded by the last samples.
        let bound = samples[n.saturating_sub(3)..]
            .iter()
            .map(|s| s[1].abs())
            .fold(0.0, f64::max);
        Quantity::new(0.0, bound, evals, status_for_value(0.0, bound, tol))
    } else if n >= 4 {
        let prev = samples[n - 2][1].abs();
        let growing = last > 1.05 * prev && samples[n - 3][1].abs() < prev;
        if growing {
            Quantity::none(evals, Status::Diverges)
        } else {
            // Levels off at a nonzero value, or decays too slowly to tell.
            let v = samples[n - 1][1];
            let err = (samples[n - 1][1] - samples[n - 2][1]).abs();
            let st = if err <= tol && (v.abs() > 10.0 * err) {
                Status::Ok
            } else {
                Status::NotConverged
            };
            let err = if st == Status::Ok {
                err
            } else {
                err.max(v.abs())
            };
            Quantity::new(v, err, evals, st)
        }
    } else {
        Quantity::new(0.0, last, evals, status_for_value(0.0, last, tol))
    };
    (q, Some(samples))
}

/// The outcome of [`end_limit`].
#[derive(Clone, Debug, PartialEq)]
enum Limit {
    /// The limit, with an error; `settled` is false when the sequence had not settled to
    /// the target when the approach ran out (the value is then the best estimate).
    Value {
        value: f64,
        error: f64,
        evals: u64,
        settled: bool,
    },
    /// `|F|` grows without bound towards the end.
    Diverges { evals: u64 },
    /// `F` is NaN/inf at this coordinate, where p̃ is not negligible.
    Nonfinite { at: f64, evals: u64 },
}

/// The one-sided limit of `F(t)` as `t → end` from the side `inward` (+1: from above).
///
/// `F` is evaluated along `t_j = end + inward·δ_j`, `δ_j = δ_0·16^{−j}`, each value with its
/// own error. With `F(t) = L + c·δ^β + …` the differences `D_j = F_j − F_{j−1}` shrink by
/// `q = 16^{−β}` a step; when the last three ratios agree on a `q < 0.95`, the rest of the
/// geometric series, `|D_j|·q/(1 − q)`, is what the last value still misses (the estimate
/// takes twice that, plus the last step). Without such a rate, an unsettled sequence has an
/// unbounded error. Differences within the values' own errors count
/// as settled. When the differences stop shrinking (`q ≥ 0.98`) while `|F|` grows, `F`
/// diverges (`ln δ` growth has `q = 1`, `δ^{−β}` growth `q > 1`). The approach stops where
/// `t` can no longer be told from `end` in f64, or after 80 steps (`δ_0·10^{−96}`).
fn end_limit(
    mut f: impl FnMut(f64) -> Option<Estimate>,
    end: f64,
    inward: f64,
    delta0: f64,
    target: f64,
) -> Limit {
    let mut vals: Vec<(f64, f64)> = vec![];
    let mut evals = 0;
    let mut best: Option<(f64, f64)> = None;
    let mut delta = delta0.max(f64::MIN_POSITIVE);
    // A candidate (value, error): the limit when it meets the target, else kept if best.
    let offer = |cand: (f64, f64), evals: u64, best: &mut Option<(f64, f64)>| {
        if cand.1 <= target {
            return Some(Limit::Value {
                value: cand.0,
                error: cand.1,
                evals,
                settled: true,
            });
        }
        if best.is_none_or(|b| cand.1 < b.1) {
            *best = Some(cand);
        }
        None
    };
    for _ in 0..80 {
        let t = end + inward * delta;
        delta *= 1.0 / 16.0;
        if t == end || !t.is_finite() {
            break;
        }
        if (t - end) * inward <= 0.0 {
            break;
        }
        let Some(e) = f(t) else {
            return Limit::Nonfinite { at: t, evals };
        };
        evals += e.evals;
        vals.push((e.value, e.error));
        let n = vals.len();
        if n < 4 {
            continue;
        }
        let d = |j: usize| vals[j].0 - vals[j - 1].0;
        let noise = |j: usize| vals[j].1 + vals[j - 1].1 + 4.0 * f64::EPSILON * vals[j].0.abs();
        // Settled: the last three differences within the values' errors.
        let settled = (n - 3..n).all(|j| d(j).abs() <= noise(j));
        if settled {
            let err = (n - 3..n)
                .map(|j| d(j).abs() + noise(j))
                .fold(0.0, f64::max);
            let cand = (vals[n - 1].0, err);
            if let Some(done) = offer(cand, evals, &mut best) {
                return done;
            }
            continue;
        }
        if n < 5 {
            continue;
        }
        // Geometric convergence: consistent ratios in (0, 0.95).
        let q: Vec<f64> = (n - 2..n).map(|j| d(j) / d(j - 1)).collect();
        let q0 = d(n - 3) / d(n - 4);
        let geometric = q.iter().chain([&q0]).all(|&r| r > 0.0 && r < 0.95)
            && (q[1] - q[0]).abs() <= 0.1 * q[1].max(q[0]) + 0.02
            && (q0 - q[0]).abs() <= 0.1 * q0.max(q[0]) + 0.02;
        if geometric {
            let qq = q[1].max(q[0]);
            let rest = d(n - 1) * q[1] / (1.0 - q[1]);
            let err = 2.0 * (d(n - 1).abs() * qq / (1.0 - qq)) + d(n - 1).abs() + noise(n - 1);
            let cand = (vals[n - 1].0 + rest, err);
            if let Some(done) = offer(cand, evals, &mut best) {
                return done;
            }
            continue;
        }
        // Growth without bound: increasing |F|, differences not shrinking, far above noise.
        if n >= 6 {
            let grows = (n - 5..n).all(|j| vals[j].0.abs() > vals[j - 1].0.abs())
                && (n - 4..n).all(|j| d(j) / d(j - 1) >= 0.98)
                && (n - 4..n).all(|j| d(j).abs() > 10.0 * noise(j));
            if grows {
                return Limit::Diverges { evals };
            }
        }
    }
    match best {
        Some((value, error)) => Limit::Value {
            value,
            error,
            evals,
            settled: false,
        },
        None => {
            // Never settled, and no consistent rate of approach: the values seen say nothing
            // about where the sequence ends up, so the error is unbounded (honestly
            // undecided); the value is the last one seen.
            let last = vals.last().map_or(0.0, |v| v.0);
            Limit::Value {
                value: last,
                error: f64::INFINITY,
                evals,
                settled: false,
            }
        }
    }
}
