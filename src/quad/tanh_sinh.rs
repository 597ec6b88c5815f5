//! The 1-D rule: tanh-sinh over each piece, all quantities from one set of evaluations,
//! with an error from the rule over the whole piece against the rule over its halves, plus
//! the bounds of the ends and the model of a singular end's sliver.

use super::ends::{
    DEEP_EDGE, EndBehaviour, deep_probe_points, end_from_probes, end_from_probes_at,
    probe_points_at,
};
use super::sum::{Estimate, two_sum_add};
use super::tail::{TAIL_CUT, TAIL_PROBES, power_tail};
use super::{Piece, VectorIntegrand};

/// Below this many points [`integrate_1d_vec`] evaluates on the calling thread.
const PARALLEL_POINTS_1D: usize = 8192;

/// The tanh-sinh (double exponential) rule on `[−1, 1]` at step `h = 1/64` over
/// `|t| ≤ 3`: for `t_j = j·h`, `j = 0..=192`, the pair (`1 − x(t_j)`, `h·w(t_j)`) with
/// `x(t) = tanh(π/2·sinh t)` and `w(t) = x′(t) = (π/2)·cosh t / cosh²(π/2·sinh t)`.
/// `1 − x` is computed as `2/(1 + e^{π sinh t})`, so nodes near the ends keep their digits.
fn tanh_sinh_nodes() -> &'static [(f64, f64)] {
    static NODES: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    NODES.get_or_init(|| (0..=192).map(tanh_sinh_node).collect())
}

/// The node `j` of the rule at step `1/64`: (`1 − x(t_j)`, `h·w(t_j)`).
fn tanh_sinh_node(j: usize) -> (f64, f64) {
    use std::f64::consts::FRAC_PI_2;
    let h = 1.0 / 64.0;
    let t = j as f64 * h;
    let s = FRAC_PI_2 * t.sinh();
    let one_minus_x = 2.0 / (1.0 + (2.0 * s).exp());
    let c = s.cosh();
    (one_minus_x, h * FRAC_PI_2 * t.cosh() / (c * c))
}

/// The rule's nodes beyond `t = 3`, out to `t = 5` (`1 − x` down to `1e-101`), used at a
/// finite end where the integrand is singular enough that what lies beyond `t = 3` matters
/// (`p ~ r^α` with `α` near −1 holds `r_e^{α+1}/(α+1)` within `r_e` of the end).
fn tanh_sinh_tail_nodes() -> &'static [(f64, f64)] {
    static NODES: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    NODES.get_or_init(|| (193..=320).map(tanh_sinh_node).collect())
}

/// The tanh-sinh rule over `[a, b]`: `(u, weight)` for each node.
fn tanh_sinh_rule(a: f64, b: f64, mut put: impl FnMut(f64, f64)) {
    let c = 0.5 * (b - a);
    let nodes = tanh_sinh_nodes();
    put(a + c, c * nodes[0].1);
    for &(om, w) in &nodes[1..] {
        // Measured from the nearer end, so the nodes crowding an end are exact there.
        put(a + c * om, c * w);
        put(b - c * om, c * w);
    }
}

/// The finest level of the tanh-sinh rule, the one [`integrate_1d_vec`] uses: step `2^−6`.
#[cfg(feature = "plot")]
pub const TANH_SINH_LEVELS: u32 = 6;

/// The tanh-sinh rule of [`integrate_1d_vec`] for one function over `[a, b]` at the coarser
/// step `h = 2^−level` (`level` up to [`TANH_SINH_LEVELS`], the rule's own): the value and
/// the number of evaluations. Its nodes are every `2^(6 − level)`-th node of the finest rule.
#[cfg(feature = "plot")]
pub fn tanh_sinh_at_level(f: &dyn Fn(f64) -> f64, a: f64, b: f64, level: u32) -> (f64, u64) {
    let stride = 1usize << (TANH_SINH_LEVELS - level.min(TANH_SINH_LEVELS));
    let c = 0.5 * (b - a);
    let nodes = tanh_sinh_nodes();
    let scale = c * stride as f64;
    let mut acc = super::sum::Neumaier::default();
    acc.add(scale * nodes[0].1 * f(a + c));
    let mut evals = 1;
    for &(om, w) in nodes.iter().skip(stride).step_by(stride) {
        acc.add(scale * w * (f(a + c * om) + f(b - c * om)));
        evals += 2;
    }
    (acc.total(), evals)
}

/// Integrate `k` functions at once over a union of pieces (1-D) with the tanh-sinh rule.
///
/// `f` gives all `k` values at each point (as for [`cubature`]), so every quantity comes
/// from one set of evaluations. Each piece is integrated by the rule over the whole piece and
/// again over its two halves: two rules with different nodes. Their difference estimates
/// the error of either; the split one is reported, with twice the difference as its error,
/// plus a floor of rounding error and bounds on what lies beyond the rule's outermost nodes
/// ([`end_from_probes`]). (A rule's own estimate from the difference of its last two levels
/// can be far too small.) Non-finite values count as 0. The second value of the result says,
/// per function, whether the integral diverges at an end. `evals` counts every point.
pub fn integrate_1d_vec(
    f: &VectorIntegrand,
    pieces: &[Piece],
    k: usize,
) -> (Vec<Estimate>, Vec<bool>) {
    integrate_1d_vec_at(f, pieces, k, None, [f64::NAN; 2])
}

/// [`integrate_1d_vec`]; with `tails`, a singular finite end the doubles cannot approach is
/// cut at [`TAIL_CUT`] and its sliver integrated by [`power_tail`] (the rule over the cut
/// piece is this function without `tails`).
fn integrate_1d_vec_at(
    f: &VectorIntegrand,
    pieces: &[Piece],
    k: usize,
    cut_ends: Option<[bool; 2]>,
    singular_at: [f64; 2],
) -> (Vec<Estimate>, Vec<bool>) {
    // With `cut_ends` (the rule over a piece already cut), no further cuts, and points that
    // round onto a cut end are evaluated there.
    let tails = cut_ends.is_none();
    let keep = cut_ends.unwrap_or([false, false]);
    // Next to a cut, f ~ t^β at distance t from the singular end `singular_at[e]`, and a
    // node rounded by up to ulp/2 moves f by |β|·ulp/(2t): bounded by 4·ε|x|/t·|w f| for
    // |β| ≤ 8, summed over the reported (split) rule's nodes.
    let round_share = |x: f64| -> f64 {
        let mut r: f64 = 0.0;
        for e in 0..2 {
            if keep[e] {
                let t = (x - singular_at[e]).abs();
                r = r.max(if t > 0.0 {
                    4.0 * f64::EPSILON * x.abs() / t
                } else {
                    f64::INFINITY
                });
            }
        }
        r
    };
    let mut rounding = vec![0.0; k];
    use rayon::prelude::*;
    // Every point of every piece: the whole rule, the two halves, the end probes.
    struct Part {
        whole: std::ops::Range<usize>,
        halves: std::ops::Range<usize>,
        probes: [std::ops::Range<usize>; 2],
    }
    // Points, rule weights and |dx/du| (kept apart: a zero value times an infinite |dx/du|
    // at u = 1 is zero).
    // Bound: 1217 points per piece, so memory and work are linear in the pieces
    // (at most locate::MAX_PIECES_1D of them on an axis).
    let cap = pieces.len() * (3 * (2 * tanh_sinh_nodes().len() - 1) + 62);
    let mut xs = Vec::with_capacity(cap);
    let mut wts = Vec::with_capacity(cap);
    let mut jacs = Vec::with_capacity(cap);
    let mut parts = Vec::with_capacity(pieces.len());
    // The distance r of each probe point from its end (0 for the rule's points).
    let mut probe_r = Vec::with_capacity(cap);
    for piece in pieces {
        let (ua, ub) = piece.u_range();
        let mid = 0.5 * (ua + ub);
        let s0 = xs.len();
        let mut put = |u: f64, w: f64| {
            let (x, j) = piece.map(u);
            xs.push(x);
            wts.push(w);
            jacs.push(j);
            probe_r.push(0.0);
        };
        tanh_sinh_rule(ua, ub, &mut put);
        tanh_sinh_rule(ua, mid, &mut put);
        tanh_sinh_rule(mid, ub, &mut put);
        let per_rule = 2 * tanh_sinh_nodes().len() - 1;
        let (s1, s2) = (s0 + per_rule, s0 + 3 * per_rule);
        debug_assert_eq!(xs.len(), s2);
        let mut probes = [0..0, 0..0];
        for (e, upper) in [false, true].into_iter().enumerate() {
            let start = xs.len();
            for (r, x) in probe_points_at(piece, upper, keep[e]) {
                xs.push(x);
                wts.push(0.0);
                jacs.push(0.0);
                probe_r.push(r);
            }
            probes[e] = start..xs.len();
        }
        parts.push(Part {
            whole: s0..s1,
            halves: s1..s2,
            probes,
        });
    }
    let n = xs.len();
    // The values' buffer is kept from call to call on each thread: allocated afresh, its
    // pages were mapped and zeroed every time (17% of a 1-D check). A nested call (an
    // integrand that integrates) finds the slot empty and allocates its own.
    thread_local! {
        static VALS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut vals = VALS.with(|b| b.take());
    vals.clear();
    vals.resize(n * k, 0.0);
    // A few thousand points of a cheap integrand are done before other threads wake up
    // (waking them cost more than it saved for a 1-D Gaussian); larger or costlier sets
    // are shared.
    const CHUNK: usize = 128;
    if n < PARALLEL_POINTS_1D {
        for (out, x) in vals.chunks_mut(CHUNK * k).zip(xs.chunks(CHUNK)) {
            f(x, x.len(), out);
        }
    } else {
        vals.par_chunks_mut(CHUNK * k)
            .zip(xs.par_chunks(CHUNK))
            .for_each(|(out, x)| f(x, x.len(), out));
    }
    vals.iter_mut()
        .filter(|v| !v.is_finite())
        .for_each(|v| *v = 0.0);
    let mut est = vec![
        Estimate {
            evals: n as u64,
            ..Default::default()
        };
        k
    ];
    let mut div = vec![false; k];
    // One pass over each rule's points, all k sums at once (compensated), and with
    // `with_abs` the sums of absolute values too (for the rounding floor; plain sums).
    let rule = |r: std::ops::Range<usize>, with_abs: bool| {
        // Sums and their compensations in separate arrays, so the k lanes vectorise.
        let mut sum = vec![0.0; k];
        let mut comp = vec![0.0; k];
        let mut abs = vec![0.0; k];
        for i in r {
            let jw = jacs[i] * wts[i];
            let v = &vals[i * k..(i + 1) * k];
            if jw.is_finite() {
                for ((s, c), &v) in sum.iter_mut().zip(comp.iter_mut()).zip(v) {
                    two_sum_add(s, c, v * jw);
                }
                if with_abs {
                    for (a, &v) in abs.iter_mut().zip(v) {
                        *a += (v * jw).abs();
                    }
                }
            } else {
                // |dx/du| overflowed at the end of an infinite piece, where the values are 0.
                for (j, &v) in v.iter().enumerate() {
                    let t = if v == 0.0 { 0.0 } else { v * jw };
                    two_sum_add(&mut sum[j], &mut comp[j], t);
                    abs[j] += t.abs();
                }
            }
        }
        let sums: Vec<f64> = sum.iter().zip(&comp).map(|(s, c)| s + c).collect();
        (sums, abs)
    };
    let mut m = vec![];
    // Per piece: the whole rule, the split rule, Σ|f|, and the bound at each end.
    let mut sums = Vec::with_capacity(parts.len());
    for part in &parts {
        let (whole, mass) = rule(part.whole.clone(), true);
        let (split, _) = rule(part.halves.clone(), false);
        if !tails {
            for i in part.halves.clone() {
                let sh = round_share(xs[i]);
                let jw = (jacs[i] * wts[i]).abs();
                for j in 0..k {
                    let t = jw * vals[i * k + j].abs();
                    if t > 0.0 {
                        rounding[j] += sh * t;
                    }
                }
            }
        }
        let mut bound = [vec![0.0; k], vec![0.0; k]];
        for (e, pr) in part.probes.iter().enumerate() {
            for j in 0..k {
                m.clear();
                m.extend(pr.clone().map(|i| probe_r[i] * vals[i * k + j].abs()));
                match end_from_probes(&m) {
                    // The probe's bound covers everything beyond the rule's outermost node.
                    EndBehaviour::Finite { bound: b } => bound[e][j] = b,
                    EndBehaviour::Diverges => div[j] = true,
                }
            }
        }
        sums.push((whole, split, mass, bound));
    }
    // At a finite end whose bound is not negligible (a singular integrand, p ~ r^α), the
    // rule goes on beyond t = 3 (to t = 4.5) on the whole and the half next to the end, and
    // the bound is taken again where the extended rule stops.
    let total: Vec<f64> = (0..k).map(|j| sums.iter().map(|s| s.2[j]).sum()).collect();
    // Per piece, the ends whose sliver beyond the last representable probes is to be cut off
    // and modelled (see [`TAIL_CUT`]).
    let mut cut = vec![[false, false]; pieces.len()];
    for (pi, piece) in pieces.iter().enumerate() {
        for e in 0..2 {
            let (lo, hi) = piece.x_range();
            let x_end = if e == 1 { hi } else { lo };
            if !x_end.is_finite() {
                continue;
            }
            // A regular end leaves ~1e-13 of the width beyond t = 3; only more than 1e-12 of
            // the total (a singular end) is worth the extra points.
            let need = (0..k).any(|j| !div[j] && sums[pi].3[e][j] > 1e-12 * total[j]);
            if !need {
                continue;
            }
            let (ua, ub) = piece.u_range();
            let mid = 0.5 * (ua + ub);
            // The finite x end is u = ua except for the upper end of a finite piece.
            let u_lower = !(matches!(piece, Piece::Finite { .. }) && e == 1);
            let (cw, ch) = (0.5 * (ub - ua), 0.5 * (mid - ua));
            let mut ex: Vec<f64> = vec![];
            let mut ew: Vec<(f64, bool)> = vec![];
            for &(om, w) in tanh_sinh_tail_nodes() {
                for (c, whole) in [(cw, true), (ch, false)] {
                    let u = if u_lower { ua + c * om } else { ub - c * om };
                    let (x, jac) = piece.map(u);
                    if (x == x_end && !keep[e]) || !x.is_finite() || !jac.is_finite() {
                        continue;
                    }
                    ex.push(x);
                    ew.push((c * w * jac, whole));
                }
            }
            let rule_n = ex.len();

            let deep = deep_probe_points(piece, e == 1, keep[e]);
            // The probes stop short of the extended rule's reach: the doubles cannot get
            // closer to this end (it is not 0), and the last ~2√ulp of a p ~ r^−½ is missed.
            let short = tails
                && parts[pi].probes[e].len() + deep.len() < DEEP_EDGE + 2
                && x_end != 0.0
                && 16.0 * TAIL_CUT * x_end.abs() < piece.scale().abs() / 64.0;
            ex.extend(deep.iter().map(|p| p.1));
            let mut ev = vec![0.0; ex.len() * k];
            for (out, x) in ev.chunks_mut(CHUNK * k).zip(ex.chunks(CHUNK)) {
                f(x, x.len(), out);
            }
            ev.iter_mut()
                .filter(|v| !v.is_finite())
                .for_each(|v| *v = 0.0);
            for j in 0..k {
                est[j].evals += ex.len() as u64;
                let (mut aw, mut cwh) = (0.0, 0.0);
                let (mut asp, mut csp) = (0.0, 0.0);
                for (l, &(wt, whole)) in ew.iter().enumerate() {
                    let t = wt * ev[l * k + j];
                    if whole {
                        two_sum_add(&mut aw, &mut cwh, t);
                    } else {
                        two_sum_add(&mut asp, &mut csp, t);
                        if !tails && t != 0.0 {
                            rounding[j] += round_share(ex[l]) * t.abs();
                        }
                    }
                    sums[pi].2[j] += t.abs();
                }
                sums[pi].0[j] += aw + cwh;
                sums[pi].1[j] += asp + csp;
                m.clear();
                m.extend(
                    parts[pi].probes[e]
                        .clone()
                        .map(|i| probe_r[i] * vals[i * k + j].abs()),
                );
                m.extend(
                    deep.iter()
                        .enumerate()
                        .map(|(q, p)| p.0 * ev[(rule_n + q) * k + j].abs()),
                );
                match end_from_probes_at(&m, DEEP_EDGE) {
                    EndBehaviour::Finite { bound } => {
                        sums[pi].3[e][j] = bound;
                        // Still more than 1e-12 of the total beyond the last probe: the end
                        // is singular (a regular one leaves ulp·f there) and the sliver is
                        // worth its model.
                        // A regular end far out (x = 1000 at σ = 0.01) can leave that much
                        // too; only m = r·|f| falling slower than r^0.9 over the last three
                        // decades (f ~ r^β with β < −0.1) is a singular end.
                        let n = m.len();
                        let rate = if n >= 4 {
                            (m[n - 4] / m[n - 1]).log10() / 3.0
                        } else {
                            f64::NAN
                        };
                        if short && bound > 1e-12 * total[j] && rate < 0.9 {
                            cut[pi][e] = true;
                        }
                    }
                    EndBehaviour::Diverges => div[j] = true,
                }
            }
        }
    }
    // Pieces with a cut end: the rule over the piece without the sliver, plus the sliver's
    // model, replace the piece's sums.
    for (pi, piece) in pieces.iter().enumerate() {
        if !cut[pi].iter().any(|&c| c) {
            continue;
        }
        let (lo, hi) = piece.x_range();
        let delta = |x: f64| TAIL_CUT * x.abs();
        let inner = match *piece {
            Piece::Finite { lo, hi } => Piece::Finite {
                lo: if cut[pi][0] { lo + delta(lo) } else { lo },
                hi: if cut[pi][1] { hi - delta(hi) } else { hi },
            },
            Piece::Upper { start, scale } => Piece::Upper {
                start: start + delta(start),
                scale,
            },
            Piece::Lower { end, scale } => Piece::Lower {
                end: end - delta(end),
                scale,
            },
        };
        let (ie, idiv) = integrate_1d_vec_at(f, &[inner], k, Some(cut[pi]), [lo, hi]);
        let mut tail = vec![(0.0, 0.0); k];
        let mut tail_evals = 0;
        for (e, &is_cut) in cut[pi].iter().enumerate() {
            if !is_cut {
                continue;
            }
            let x_end = if e == 1 { hi } else { lo };
            // The probes from the cut outwards, at their exact distances from the end.
            let (mut px, mut pd) = (vec![], vec![]);
            for i in 0..TAIL_PROBES {
                let r = delta(x_end) * (1u64 << i) as f64;
                let x = if e == 1 { x_end - r } else { x_end + r };
                px.push(x);
                pd.push((x - x_end).abs());
            }
            let mut pv = vec![0.0; px.len() * k];
            f(&px, px.len(), &mut pv);
            tail_evals += px.len() as u64;
            for (j, t) in tail.iter_mut().enumerate() {
                let v: Vec<f64> = (0..px.len()).map(|i| pv[i * k + j]).collect();
                let (tv, te) = power_tail(&pd, &v);
                t.0 += tv;
                t.1 += te;
            }
        }
        for j in 0..k {
            div[j] |= idiv[j];
            est[j].evals += ie[j].evals + tail_evals;
            est[j].value += ie[j].value + tail[j].0;
            est[j].error += ie[j].error + tail[j].1;
        }
    }
    for (pi, (whole, split, mass, bound)) in sums.iter().enumerate() {
        if cut[pi].iter().any(|&c| c) {
            continue;
        }
        for j in 0..k {
            let err = 2.0 * (whole[j] - split[j]).abs()
                + 16.0 * f64::EPSILON * mass[j]
                + bound[0][j]
                + bound[1][j];
            est[j].value += split[j];
            est[j].error += err;
        }
    }
    for (e, r) in est.iter_mut().zip(&rounding) {
        e.error += r;
    }
    VALS.with(|b| b.set(vals));
    (est, div)
}

/// [`integrate_1d_vec`] for one function.
pub fn integrate_1d(f: &(dyn Fn(f64) -> f64 + Sync), pieces: &[Piece]) -> (Estimate, bool) {
    let g = |xs: &[f64], _n: usize, out: &mut [f64]| {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = f(x);
        }
    };
    let (e, div) = integrate_1d_vec(&g, pieces, 1);
    (e[0], div[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_sinh_half_line_and_finite() {
        // ∫_0^∞ e^{-x} dx = 1, ∫_0^1 x^2 dx = 1/3
        let (e, div) = integrate_1d(
            &|x: f64| (-x).exp(),
            &[Piece::Upper {
                start: 0.0,
                scale: 1.0,
            }],
        );
        assert!(!div);
        assert!((e.value - 1.0).abs() <= e.error && e.error < 1e-10, "{e:?}");
        let (e, _) = integrate_1d(&|x: f64| x * x, &[Piece::Finite { lo: 0.0, hi: 1.0 }]);
        assert!(
            (e.value - 1.0 / 3.0).abs() <= e.error && e.error < 1e-10,
            "{e:?}"
        );
    }

    #[test]
    fn divergence_is_recognised() {
        // ∫_0^∞ 1/(1+x) dx = ∞ and ∫_0^1 1/x dx = ∞; ∫_0^1 x^{-1/2} = 2 is finite.
        let (_, div) = integrate_1d(
            &|x: f64| 1.0 / (1.0 + x),
            &[Piece::Upper {
                start: 0.0,
                scale: 1.0,
            }],
        );
        assert!(div);
        let (_, div) = integrate_1d(&|x: f64| 1.0 / x, &[Piece::Finite { lo: 0.0, hi: 1.0 }]);
        assert!(div);
        let (e, div) = integrate_1d(
            &|x: f64| 1.0 / x.sqrt(),
            &[Piece::Finite { lo: 0.0, hi: 1.0 }],
        );
        assert!(!div);
        assert!((e.value - 2.0).abs() <= e.error, "{e:?}");
    }
}
