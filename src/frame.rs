//! The rotated frame the cubature integrates in, on the whole space `R^d` (2-D to 4-D).
//!
//! The maps of the infinite ends act per axis, so mass that runs off to infinity along a
//! direction the axes do not follow (a heavy tail along a diagonal, the ridge of a correlated
//! law) ends in a corner of the mapped box as a wedge whose width shrinks like the square of
//! the distance to the corner. No rule's points follow it there: a Student-t(3) × Gaussian
//! law rotated by 0.7 rad lost 4% of `E½|s|²` with an error estimate of 4e-9. Integrating in
//! coordinates `z` with `x = c + Q z`, `Q` orthogonal, whose axes are the law's own, turns
//! those tails back into axis-parallel ones, which the maps follow (`dx = dz`, every
//! quantity is the same integral).
//!
//! `Q`'s columns are the eigenvectors of the Hessian of `log p̃` at the highest mode; for a
//! rotated product of laws they are the rotated axes exactly. Where eigenvalues coincide (the
//! same law on two axes), the Hessian does not fix the axes within their span; there the
//! directions in which `log p̃` falls off most slowly far out (its tails) are taken, one after
//! the other, each orthogonal to those before. A frame within 1e-12 of the axes is not used.

// A NaN must fail the `!(a > b)` tests here, which `a <= b` would not.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::locate::Located;
use crate::model::{Density, GradHess, MAX_DIM, log_density_at, log_density_hessian};
use num_dual::DualNum;

/// `x = c + Q z`.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub d: usize,
    pub c: [f64; MAX_DIM],
    /// `q[i][j]`: component `i` of axis `j`.
    pub q: [[f64; MAX_DIM]; MAX_DIM],
}

impl Frame {
    /// A gradient and Hessian in `x` taken into the frame's coordinates `z` (`x = c + Q z`):
    /// `Qᵀ g` and `Qᵀ H Q`.
    pub fn grad_hess_in(&self, (gx, hx): &GradHess) -> GradHess {
        let (d, q) = (self.d, &self.q);
        let mut g = [0.0; MAX_DIM];
        let mut h = [[0.0; MAX_DIM]; MAX_DIM];
        for a in 0..d {
            g[a] = (0..d).map(|i| q[i][a] * gx[i]).sum();
            for b in 0..d {
                h[a][b] = (0..d)
                    .map(|i| (0..d).map(|j| q[i][a] * hx[i][j] * q[j][b]).sum::<f64>())
                    .sum();
            }
        }
        (g, h)
    }

    /// `x` at `z`.
    pub fn to_x<D: DualNum<Primitive = f64> + Copy>(&self, z: &[D], x: &mut [D]) {
        for (i, xi) in x.iter_mut().enumerate().take(self.d) {
            let mut acc = D::from(self.c[i]);
            for (j, zj) in z.iter().enumerate().take(self.d) {
                acc += *zj * self.q[i][j];
            }
            *xi = acc;
        }
    }

    /// Points `z` (coordinate-major, `zs[v * n + l]`) to points `x` in the same layout.
    pub fn to_x_batch(&self, zs: &[f64], n: usize, xs: &mut [f64]) {
        let d = self.d;
        for i in 0..d {
            for l in 0..n {
                let mut acc = self.c[i];
                for j in 0..d {
                    acc += self.q[i][j] * zs[j * n + l];
                }
                xs[i * n + l] = acc;
            }
        }
    }

    /// A gradient in `x` as one in `z`: `Qᵀ g`.
    pub fn grad_to_z(&self, g: &mut [f64]) {
        let d = self.d;
        let mut out = [0.0; MAX_DIM];
        for (j, o) in out.iter_mut().enumerate().take(d) {
            *o = (0..d).map(|i| self.q[i][j] * g[i]).sum();
        }
        g[..d].copy_from_slice(&out[..d]);
    }
}

/// `p̃` seen in the frame's coordinates: `p̃_z(z) = p̃(c + Q z)`.
pub struct InFrame<'a, P> {
    pub p: &'a P,
    pub frame: &'a Frame,
}

impl<P: Density> Density for InFrame<'_, P> {
    fn dim(&self) -> usize {
        self.frame.d
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, z: &[D]) -> D {
        let mut x = [D::from(0.0); MAX_DIM];
        self.frame.to_x(z, &mut x[..self.frame.d]);
        self.p.log_density(&x[..self.frame.d])
    }
    fn log_density_batch<D: DualNum<Primitive = f64> + Copy>(
        &self,
        zs: &[D],
        n: usize,
        out: &mut [D],
    ) {
        let d = self.frame.d;
        let mut xs = vec![D::from(0.0); d * n];
        for i in 0..d {
            for l in 0..n {
                let mut acc = D::from(self.frame.c[i]);
                for j in 0..d {
                    acc += zs[j * n + l] * self.frame.q[i][j];
                }
                xs[i * n + l] = acc;
            }
        }
        self.p.log_density_batch(&xs, n, out);
    }
    fn supplies_derivatives(&self) -> bool {
        self.p.supplies_derivatives()
    }
    // For a model that supplies its own derivatives, its Hessian turned: g_z = Qᵀ g_x,
    // H_z = Qᵀ H_x Q (one call of the model); otherwise hyper-dual numbers through the map.
    fn log_density_hessian(&self, z: &[f64]) -> (f64, [f64; MAX_DIM], [[f64; MAX_DIM]; MAX_DIM]) {
        if !self.p.supplies_derivatives() {
            return crate::model::hessian_by_duals(self, z);
        }
        let d = self.frame.d;
        let mut x = [0.0; MAX_DIM];
        self.frame.to_x(z, &mut x[..d]);
        let (v, gx, hx) = self.p.log_density_hessian(&x[..d]);
        let (g, h) = self.frame.grad_hess_in(&(gx, hx));
        (v, g, h)
    }
    // As `log_density_hessian`, with one call of the model for all the points.
    fn gradient_hessian_points(&self, zs: &[f64], n: usize, out: &mut [GradHess]) {
        if !self.p.supplies_derivatives() {
            for (l, o) in out.iter_mut().enumerate().take(n) {
                let d = self.frame.d;
                let z: Vec<f64> = (0..d).map(|v| zs[v * n + l]).collect();
                let (_, g, h) = crate::model::hessian_by_duals(self, &z);
                *o = (g, h);
            }
            return;
        }
        let d = self.frame.d;
        let mut xs = vec![0.0; d * n];
        self.frame.to_x_batch(zs, n, &mut xs);
        self.p.gradient_hessian_points(&xs, n, out);
        for gh in out.iter_mut().take(n) {
            *gh = self.frame.grad_hess_in(gh);
        }
    }
}

/// Directions this close (the cosine of 2°) count as the same.
const SAME_DIRECTION: f64 = 0.999_390_827;

/// Eigenvalues closer than this (relative) count as equal: the Hessian does not fix the axes.
const SAME_CURVATURE: f64 = 1e-3;

/// The frame for `p` on the whole space, or `None` when the axes are already the law's own
/// (or the domain has a finite end, where a rotation would not keep the box).
pub fn principal_frame<P: Density>(p: &P, loc: &Located, domain: &[(f64, f64)]) -> Option<Frame> {
    frame_of(p, loc, domain, true)
}

/// The frame of the Hessian's axes at the mode (tail directions where curvatures coincide)
/// whether or not the tails follow them, for an independent second integration; `None`
/// when that is the identity or the domain has a finite end.
pub fn hessian_frame<P: Density>(p: &P, loc: &Located, domain: &[(f64, f64)]) -> Option<Frame> {
    frame_of(p, loc, domain, false)
}

fn frame_of<P: Density>(
    p: &P,
    loc: &Located,
    domain: &[(f64, f64)],
    check_tails: bool,
) -> Option<Frame> {
    let d = domain.len();
    if !(2..=MAX_DIM).contains(&d) || domain.iter().any(|&(a, b)| a.is_finite() || b.is_finite()) {
        return None;
    }
    let mode = &loc.modes[0];
    let (_, _, h) = log_density_hessian(p, &mode.x);
    let m = nalgebra::DMatrix::from_fn(d, d, |i, j| -h[i][j]);
    if m.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let eig = nalgebra::SymmetricEigen::new(m);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let mut axes: Vec<[f64; MAX_DIM]> = vec![];
    let mut i = 0;
    while i < d {
        // A cluster of (nearly) equal curvatures.
        let mut j = i + 1;
        let lam = |k: usize| eig.eigenvalues[order[k]];
        while j < d && (lam(j) - lam(i)).abs() <= SAME_CURVATURE * lam(i).abs().max(lam(j).abs()) {
            j += 1;
        }
        let basis: Vec<[f64; MAX_DIM]> = (i..j)
            .map(|k| {
                let mut v = [0.0; MAX_DIM];
                for (r, vr) in v.iter_mut().enumerate().take(d) {
                    *vr = eig.eigenvectors[(r, order[k])];
                }
                v
            })
            .collect();
        if basis.len() == 1 {
            axes.push(basis[0]);
        } else {
            axes.extend(tail_directions(p, &mode.x, &basis, d));
        }
        i = j;
    }
    // The Hessian describes the law near its mode; its tails may run elsewhere (the ridge of
    // a Rosenbrock-type law bends away from its axes at the mode, a Cauchy law along a
    // diagonal has other axes at its mode). The frame is used only when the directions of
    // the tails, searched over the whole space, are its axes too.
    let all: Vec<[f64; MAX_DIM]> = (0..d)
        .map(|k| {
            let mut v = [0.0; MAX_DIM];
            for (r, vr) in v.iter_mut().enumerate().take(d) {
                *vr = eig.eigenvectors[(r, order[k])];
            }
            v
        })
        .collect();
    let far = if check_tails {
        tail_directions(p, &mode.x, &all, d)
    } else {
        axes.clone()
    };
    let agree = axes.iter().all(|a| {
        far.iter()
            .map(|f| (0..d).map(|i| a[i] * f[i]).sum::<f64>().abs())
            .fold(0.0, f64::max)
            >= SAME_DIRECTION
    });
    // Where they disagree and the tails are heavy, the tails' directions are the frame (a
    // Cauchy law along a diagonal); light tails keep the coordinates (a Rosenbrock ridge).
    // A law symmetric under a reflection across one of its Hessian's axes has its tails off
    // that axis in mirrored pairs (the two arms of Haario's twisted Gaussian): following one
    // arm turns the other away from the axes, so such tails keep the coordinates.
    let axes = if agree {
        axes
    } else if far.iter().any(|a| heavy_tail(p, &mode.x, a, d))
        && !far.iter().any(|a| mirrored_tail(p, &mode.x, a, &all, d))
    {
        far
    } else {
        return None;
    };
    // Turning is what heavy tails need; light ones (Gaussian, exponential) the maps follow
    // in any direction, and in the coordinates a field's kinks and jumps along the axes stay
    // along the axes. A tail is heavy when log p̃, having fallen by 20 from the mode at some
    // distance R along an axis, falls by less than 12 more out to 2R (polynomial decay: by
    // (ν+1)·ln 2 for Student-t(ν); exponential by 20, Gaussian by 60).
    if check_tails && !axes.iter().any(|a| heavy_tail(p, &mode.x, a, d)) {
        return None;
    }
    // Keep the frame close to the axes: each axis is matched to the coordinate it is nearest
    // to, with its sign, so a law already on the axes gives Q = I.
    let mut q = [[0.0; MAX_DIM]; MAX_DIM];
    let mut used = [false; MAX_DIM];
    let mut cols: Vec<usize> = (0..d).collect();
    cols.sort_by(|&a, &b| {
        let ma = (0..d).map(|r| axes[a][r].abs()).fold(0.0, f64::max);
        let mb = (0..d).map(|r| axes[b][r].abs()).fold(0.0, f64::max);
        mb.total_cmp(&ma)
    });
    for &a in &cols {
        let r = (0..d)
            .filter(|&r| !used[r])
            .max_by(|&r, &s| axes[a][r].abs().total_cmp(&axes[a][s].abs()))
            .expect("a free coordinate");
        used[r] = true;
        let sg = if axes[a][r] < 0.0 { -1.0 } else { 1.0 };
        for (row, qr) in q.iter_mut().enumerate().take(d) {
            qr[r] = sg * axes[a][row];
        }
    }
    let off: f64 = (0..d)
        .flat_map(|i| (0..d).map(move |j| (i, j)))
        .map(|(i, j)| (q[i][j] - if i == j { 1.0 } else { 0.0 }).abs())
        .fold(0.0, f64::max);
    if off <= 1e-12 {
        return None;
    }
    let mut c = [0.0; MAX_DIM];
    c[..d].copy_from_slice(&mode.x);
    Some(Frame { d, c, q })
}

/// Whether `log p̃` falls off polynomially along `±v` from the mode (see [`frame_of`]).
fn heavy_tail<P: Density>(p: &P, mode: &[f64], v: &[f64; MAX_DIM], d: usize) -> bool {
    // Every radius of the doubling search (and the one beyond) in one batch.
    let radii: Vec<f64> = std::iter::successors(Some(1.0f64), |r| Some(2.0 * r))
        .take_while(|&r| r < 2e12)
        .collect();
    let mut pts: Vec<Vec<f64>> = vec![mode.to_vec()];
    for &r in &radii {
        pts.push((0..d).map(|i| mode[i] + r * v[i]).collect());
        pts.push((0..d).map(|i| mode[i] - r * v[i]).collect());
    }
    let vals = log_density_at(p, &pts);
    let l0 = vals[0];
    let at = |k: usize| vals[1 + 2 * k].max(vals[2 + 2 * k]);
    let mut k = 0;
    while radii[k] < 1e12 {
        let l = at(k);
        if !(l > l0 - 20.0) {
            return l.is_finite() && at(k + 1) > l - 12.0;
        }
        k += 1;
    }
    // Not even fallen by 20 at 1e12: heavier than any law with finite moments.
    true
}

/// Whether the reflection of the tail direction `v` across one of the orthonormal `axes` (a
/// reflection it is not already fixed by: `v` neither along nor across that axis) is a tail
/// as high: `log p̃` out there, at the first doubling radius where it has fallen by 20 along
/// `v`, within 2 of its value along `v`.
fn mirrored_tail<P: Density>(
    p: &P,
    mode: &[f64],
    v: &[f64; MAX_DIM],
    axes: &[[f64; MAX_DIM]],
    d: usize,
) -> bool {
    // The mode and every doubling radius along `v` in one batch, as `heavy_tail` does.
    let radii: Vec<f64> = (0..=40).map(|k| 2f64.powi(k)).collect();
    let point =
        |w: &[f64; MAX_DIM], r: f64| -> Vec<f64> { (0..d).map(|i| mode[i] + r * w[i]).collect() };
    let pts: Vec<Vec<f64>> = std::iter::once(mode.to_vec())
        .chain(radii.iter().map(|&r| point(v, r)))
        .collect();
    let vals = log_density_at(p, &pts);
    let Some(k) = (0..radii.len()).find(|&k| !(vals[1 + k] > vals[0] - 20.0)) else {
        return false;
    };
    let (r, lv) = (radii[k], vals[1 + k]);
    if !lv.is_finite() {
        return false;
    }
    // The reflections of `v` across the axes it is neither along nor across, in one batch.
    let mirrors: Vec<Vec<f64>> = axes
        .iter()
        .filter_map(|e| {
            let c: f64 = (0..d).map(|i| v[i] * e[i]).sum();
            (0.1..=0.995).contains(&c.abs()).then(|| {
                let mut w = [0.0; MAX_DIM];
                for i in 0..d {
                    w[i] = v[i] - 2.0 * c * e[i];
                }
                point(&w, r)
            })
        })
        .collect();
    log_density_at(p, &mirrors).iter().any(|&l| l >= lv - 2.0)
}

/// Within the span of `basis` (orthonormal), directions one after the other, each orthogonal
/// to those before, along which `log p̃` is highest on a sphere far out (where it has fallen
/// by about 20 from the mode along the basis): the directions of the heaviest tails.
fn tail_directions<P: Density>(
    p: &P,
    mode: &[f64],
    basis: &[[f64; MAX_DIM]],
    d: usize,
) -> Vec<[f64; MAX_DIM]> {
    let point =
        |v: &[f64; MAX_DIM], r: f64| -> Vec<f64> { (0..d).map(|i| mode[i] + r * v[i]).collect() };
    // The radius: where log p̃ along the first basis direction has dropped by 20 (every
    // radius of the doubling search in one batch, with the mode).
    let radii: Vec<f64> = std::iter::successors(Some(1.0f64), |r| Some(2.0 * r))
        .take_while(|&r| r < 1e8)
        .collect();
    let mut pts = vec![mode.to_vec()];
    for &r in &radii {
        pts.push(point(&basis[0], r));
        pts.push(point(&basis[0].map(|c| -c), r));
    }
    let vals = log_density_at(p, &pts);
    let l0 = vals[0];
    let mut r = 1.0;
    for (k, &rk) in radii.iter().enumerate() {
        r = rk;
        let v = vals[1 + 2 * k].max(vals[2 + 2 * k]);
        if !(v > l0 - 20.0) {
            break;
        }
        r = 2.0 * rk;
    }
    let mut left: Vec<[f64; MAX_DIM]> = basis.to_vec();
    let mut out = vec![];
    while left.len() > 1 {
        let m = left.len();
        // Directions in the span of `left`: a fine circle in 2-D, ±pairs of sums otherwise,
        // then polished by a few rounds of halving steps along each pair of coordinates.
        let combine = |w: &[f64]| {
            let mut v = [0.0; MAX_DIM];
            for (k, b) in left.iter().enumerate() {
                for i in 0..d {
                    v[i] += w[k] * b[i];
                }
            }
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.map(|x| x / n)
        };
        let mut best_w = vec![0.0; m];
        best_w[0] = 1.0;
        let mut best = f64::NEG_INFINITY;
        let mut cands: Vec<Vec<f64>> = vec![];
        if m == 2 {
            for s in 0..360 {
                let t = s as f64 * std::f64::consts::PI / 360.0;
                cands.push(vec![t.cos(), t.sin()]);
            }
        } else {
            for a in 0..m {
                let mut w = vec![0.0; m];
                w[a] = 1.0;
                cands.push(w);
                for b in a + 1..m {
                    for sg in [-1.0, 1.0] {
                        let mut w = vec![0.0; m];
                        w[a] = 1.0;
                        w[b] = sg;
                        cands.push(w);
                    }
                }
            }
        }
        // The scores of directions `ws`, in one batch.
        let scores = |ws: &[Vec<f64>]| -> Vec<f64> {
            let mut pts = Vec::with_capacity(2 * ws.len());
            for w in ws {
                let v = combine(w);
                pts.push(point(&v, r));
                pts.push(point(&v.map(|c| -c), r));
            }
            let vals = log_density_at(p, &pts);
            vals.chunks(2).map(|u| u[0].max(u[1])).collect()
        };
        // Only a clear gain moves a direction: on a law that looks the same every way (an
        // isotropic Gaussian) the first candidate, an axis, stays.
        let gain = |s: f64, best: f64| {
            s > best && (best == f64::NEG_INFINITY || s > best + 1e-9 * (1.0 + best.abs()))
        };
        let cand_scores = scores(&cands);
        for (w, s) in cands.into_iter().zip(cand_scores) {
            if gain(s, best) {
                best = s;
                best_w = w;
            }
        }
        let mut step = if m == 2 {
            0.5 * std::f64::consts::PI / 360.0
        } else {
            0.25
        };
        // 80 rounds of a turn by ±step in each plane of two coordinates; a round that moves
        // nothing halves the step. Evaluated ahead: from the current turn on, every turn of
        // the rounds left as if none moved, in one batch; the turns after one that moves
        // are evaluated again from there.
        let planes: Vec<(usize, usize, f64)> = (0..m)
            .flat_map(|a| (a + 1..m).flat_map(move |b| [(a, b, -1.0), (a, b, 1.0)]))
            .collect();
        let np = planes.len();
        let turned = |w: &[f64], (a, b, sg): (usize, usize, f64), step: f64| {
            // Turn by `step` in the plane of coordinates a, b.
            let (cs, sn) = ((sg * step).cos(), (sg * step).sin());
            let mut w = w.to_vec();
            let (wa, wb) = (w[a], w[b]);
            w[a] = cs * wa - sn * wb;
            w[b] = sn * wa + cs * wb;
            w
        };
        // Before turn `t` (a new round when t is a multiple of np): the step and moved flag.
        let round_start = |t: usize, step: &mut f64, moved: &mut bool| {
            if t > 0 && t.is_multiple_of(np) {
                if !*moved {
                    *step *= 0.5;
                }
                *moved = false;
            }
        };
        let mut moved = false;
        let mut t = 0;
        // Turns evaluated in a batch: one round at first, twice as many after a batch in
        // which none moved, half after one that moved.
        let mut ahead = np;
        // Bound: 80 rounds of np turns; each batch takes at least one turn.
        while t < 80 * np {
            let (mut st, mut mv) = (step, moved);
            let ws: Vec<Vec<f64>> = (t..(t + ahead).min(80 * np))
                .map(|u| {
                    round_start(u, &mut st, &mut mv);
                    turned(&best_w, planes[u % np], st)
                })
                .collect();
            let sc = scores(&ws);
            let mut turned_to = false;
            for (w, s) in ws.into_iter().zip(sc) {
                round_start(t, &mut step, &mut moved);
                t += 1;
                if gain(s, best) {
                    best = s;
                    best_w = w;
                    moved = true;
                    turned_to = true;
                    break;
                }
            }
            ahead = if turned_to {
                (ahead / 2).max(np)
            } else {
                2 * ahead
            };
        }
        // Then the vertex of the parabola through three turns in each plane, twice: a turn
        // of 1e-6 rad matters for a tail as heavy as Student-t(3)'s, and near its maximum the
        // score is too flat for halving steps to find that (the flat score of an isotropic
        // law, with no clear curvature, is left alone).
        let turn = |w: &[f64], a: usize, b: usize, t: f64| {
            let mut w = w.to_vec();
            let (wa, wb) = (w[a], w[b]);
            w[a] = t.cos() * wa - t.sin() * wb;
            w[b] = t.sin() * wa + t.cos() * wb;
            w
        };
        for delta in [1e-3, 1e-5] {
            for a in 0..m {
                for b in a + 1..m {
                    let three = scores(&[
                        best_w.clone(),
                        turn(&best_w, a, b, delta),
                        turn(&best_w, a, b, -delta),
                    ]);
                    let (s0, sp, sm) = (three[0], three[1], three[2]);
                    let bend = s0 - 0.5 * (sp + sm);
                    if !(bend > 1e-9 * (1.0 + s0.abs())) {
                        continue;
                    }
                    let t = 0.25 * delta * (sp - sm) / bend;
                    if t.abs() <= delta {
                        let w = turn(&best_w, a, b, t);
                        if scores(std::slice::from_ref(&w))[0] >= s0 {
                            best_w = w;
                        }
                    }
                }
            }
        }
        let v = combine(&best_w);
        out.push(v);
        // The rest of the span, orthogonal to v (Gram–Schmidt, dropping the most parallel).
        let drop = (0..left.len())
            .max_by(|&a, &b| {
                let da: f64 = (0..d).map(|i| left[a][i] * v[i]).sum::<f64>().abs();
                let db: f64 = (0..d).map(|i| left[b][i] * v[i]).sum::<f64>().abs();
                da.total_cmp(&db)
            })
            .expect("non-empty");
        left.remove(drop);
        let mut ortho: Vec<[f64; MAX_DIM]> = vec![];
        for b in &left {
            let mut u = *b;
            for w in out.iter().chain(ortho.iter()) {
                let dot: f64 = (0..d).map(|i| u[i] * w[i]).sum();
                for i in 0..d {
                    u[i] -= dot * w[i];
                }
            }
            let n = u.iter().map(|x| x * x).sum::<f64>().sqrt();
            ortho.push(u.map(|x| x / n));
        }
        left = ortho;
    }
    out.extend(left);
    out
}
