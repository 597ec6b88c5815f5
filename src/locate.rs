//! Finding where the mass of a density is: its modes and their widths, and from them the
//! pieces each axis of the domain is cut into for quadrature.
//!
//! From a set of starting points spread over the domain (its centre and points at 1, 10,
//! 100 and 1000 from it along each axis), each ascent climbs `log p̃` with Newton steps
//! (exact gradient and Hessian from hyper-dual numbers) where the Hessian is negative
//! definite and with gradient steps and a backtracking line search elsewhere (kinks,
//! flat or convex regions). Distinct local maxima within `e^46` of the highest are kept.
//! The width of a mode along an axis is the distance at which `log p̃` has dropped by ½.
//!
//! Bounds (issue 17): at most 1 + 16·d + 4 starting points; each ascent at most 300 steps
//! of at most 80 step halvings; each half width at most 200 halvings or doublings; the
//! modes at most the starting points; at most `MAX_GEOMETRIC_CUTS` geometric cuts per side
//! of a mode; at most [`MAX_CELLS`] cells ([`MAX_PIECES_1D`] pieces in 1-D). A mass doubles
//! cannot resolve (see `resolution`) is reported in [`Located::unresolved`].

use crate::model::{Density, GradHess, MAX_DIM};
use crate::quad::Piece;

/// A local maximum of the density.
#[derive(Clone, Debug, PartialEq)]
pub struct Mode {
    /// Where it is.
    pub x: Vec<f64>,
    /// `log p̃` there.
    pub logp: f64,
    /// Its width along each axis.
    pub scale: Vec<f64>,
}

/// Where the mass is, and how the domain is cut for quadrature.
#[derive(Clone, Debug)]
pub struct Located {
    /// The modes, highest first.
    pub modes: Vec<Mode>,
    /// The highest `log p̃` found (used to scale `p̃` to a maximum near 1).
    pub log_max: f64,
    /// Per axis, the pieces of the domain in increasing order.
    pub pieces: Vec<Vec<Piece>>,
    /// Per axis, breakpoints the pieces are also cut at.
    pub breaks: Vec<Vec<f64>>,
    /// Why the mass cannot be resolved in double precision, when it cannot (see
    /// `resolution`): a check must then be undecided. The modes and pieces are still
    /// usable for evaluating at points (widths are kept at the resolution floor).
    pub unresolved: Option<String>,
    /// How the axes were cut (kept so `pieces_with_spread` cuts them the same way).
    plan: CutPlan,
}

/// How many of the modes (highest first) cut the axes, and the ratio of the geometric cuts
/// per axis (8, or larger when the cells would be too many; infinite: no geometric cuts).
#[derive(Clone, Debug)]
struct CutPlan {
    modes: usize,
    ratio: Vec<f64>,
}

/// The most cells (products of one piece per axis) the axes are cut into. Every cell gets its
/// own cubature regions and rule evaluations (81 regions of 57 points in 4-D), so the cells
/// must fit in the evaluation budget; a Gaussian in 4-D needs 16, a mode near a corner of a
/// box with geometric cuts a few hundred. Beyond this the geometric cuts are thinned (ratio
/// 8 → 64 → 4096 …, then none), then only the highest modes cut the axes.
pub const MAX_CELLS: usize = 4096;

/// The most pieces of a 1-D domain: each costs 1217 points of `k ≤ 12` values (about 160 kB),
/// so 512 pieces stay below 80 MB. A mode 1e-300 wide at 0 has 2·330 geometric cuts at ratio
/// 8 and gets ratio 64 instead.
pub const MAX_PIECES_1D: usize = 512;

impl Located {
    /// The pieces of each axis again, with the infinite pieces mapped at `spread` mode widths
    /// instead of the usual (an independent map, for cross-checking an integral).
    pub fn pieces_with_spread(&self, domain: &[(f64, f64)], spread: f64) -> Vec<Vec<Piece>> {
        (0..domain.len())
            .map(|i| {
                let m = &self.modes[..self.plan.modes];
                let p = axis_pieces(m, i, domain[i], spread, self.plan.ratio[i]);
                split_pieces(&p, self.breaks.get(i).map_or(&[][..], |v| &v[..]))
            })
            .collect()
    }

    /// Cut the pieces of each axis at its breakpoints too (kinks, jumps).
    ///
    /// Bound: the cells stay within [`MAX_CELLS`] in 2-D and up ([`MAX_PIECES_1D`] pieces in
    /// 1-D). Beyond that, the axis with the most breakpoints keeps only the half nearest the
    /// highest mode, again until the cells fit (`1.5 % y` has a switch at every 1.5/n, and
    /// 256 of them on one axis of a 4-D case made 60 s of first cuts). The adaptive rule
    /// still meets the dropped ones, only without a cut there.
    pub fn add_breaks(&mut self, breaks: &[Vec<f64>]) {
        let d = self.pieces.len();
        let limit = if d == 1 { MAX_PIECES_1D } else { MAX_CELLS };
        let centre: Vec<f64> = (0..d).map(|i| self.modes[0].x[i]).collect();
        let mut kept: Vec<Vec<f64>> = (0..d)
            .map(|i| {
                let mut b = breaks.get(i).cloned().unwrap_or_default();
                b.sort_by(|p, q| (p - centre[i]).abs().total_cmp(&(q - centre[i]).abs()));
                b
            })
            .collect();
        // Bound: each pass halves one axis's list, so at most d·log2(MAX_BREAKS + 1) passes.
        let pieces = loop {
            let pieces: Vec<Vec<Piece>> = (0..d)
                .map(|i| split_pieces(&self.pieces[i], &kept[i]))
                .collect();
            let cells = pieces.iter().fold(1usize, |n, p| n.saturating_mul(p.len()));
            let most = (0..d).max_by_key(|&i| kept[i].len()).unwrap_or(0);
            if cells <= limit || kept[most].is_empty() {
                break pieces;
            }
            let half = kept[most].len() / 2;
            kept[most].truncate(half);
        };
        self.pieces = pieces;
        for (i, b) in kept.into_iter().enumerate() {
            self.breaks[i].extend(b);
        }
    }
}

/// `pieces` cut again at the points `at` (those inside a piece, not on its ends).
pub fn split_pieces(pieces: &[Piece], at: &[f64]) -> Vec<Piece> {
    let mut out = vec![];
    for &p in pieces {
        let (lo, hi) = p.x_range();
        let mut inner: Vec<f64> = at.iter().copied().filter(|&x| x > lo && x < hi).collect();
        inner.sort_by(f64::total_cmp);
        inner.dedup();
        if inner.is_empty() {
            out.push(p);
            continue;
        }
        let mut pts = vec![lo];
        pts.extend(inner);
        pts.push(hi);
        for w in pts.windows(2) {
            out.push(match (w[0].is_finite(), w[1].is_finite(), p) {
                (true, true, _) => Piece::Finite { lo: w[0], hi: w[1] },
                (true, false, Piece::Upper { scale, .. }) => Piece::Upper { start: w[0], scale },
                (false, true, Piece::Lower { scale, .. }) => Piece::Lower { end: w[1], scale },
                _ => unreachable!("only the outer pieces reach an infinite end"),
            });
        }
    }
    out
}

/// Modes below the highest by more than this (in log) carry no mass worth a piece.
const KEEP_BELOW: f64 = 46.0;

/// A mode narrower than this many doubles (spacings of f64 at its coordinate) cannot be
/// integrated: a quadrature node's position is rounded by up to half a spacing, which moves
/// `log p̃` by up to `spacing/width` there (2^-20 ≈ 1e-6 at this floor), and below a few
/// spacings the density is a point mass as far as doubles can tell.
const MIN_WIDTH_SPACINGS: f64 = 1048576.0;

/// The product of the widths of the mass over all axes must stay within `e^±LOG_VOLUME_RANGE`:
/// every integral is of order that volume (p̃ is scaled to a maximum of 1), and beyond
/// `e^±345` (1e±150) it leaves the range of doubles once integrands of size up to 1e150
/// (|s|² at widths up to 1e50, or ∂p at widths down to 1e-150) multiply it.
const LOG_VOLUME_RANGE: f64 = 345.0;

/// `|log p̃|` at the maximum above which doubles cannot resolve a drop of ½ there: the
/// spacing of doubles at `2^52` is 1, so beyond `2^51` the target `log p̃ − ½` of a width
/// rounds back to `log p̃` itself, and `p̃ = e^(log p̃ − log p̃_max)` is known only to a factor
/// `e^(±ε·|log p̃|)` everywhere near the mass.
const MAX_ABS_LOG_MAX: f64 = 2251799813685248.0; // 2^51

/// A width above this along any axis is refused (undecided): integrands such as `|s|²`
/// grow like the width squared, and a raw integral is their size times the volume, which
/// overflows doubles (1e308) for widths beyond about 1e75 in 1-D; 1e50 leaves room in 4-D
/// for the volume (≤ e^LOG_VOLUME_RANGE) and for fields that grow faster than x.
const MAX_WIDTH: f64 = 1e50;

/// The most geometric cuts on one side of a mode (see `axis_pieces`).
const MAX_GEOMETRIC_CUTS: usize = 700;

/// The spacing of doubles at `x` (the distance to the next one away from zero).
fn spacing(x: f64) -> f64 {
    let a = x.abs();
    (a.next_up() - a).max(f64::from_bits(1))
}

fn clamp_into(x: &mut [f64], domain: &[(f64, f64)]) {
    for (v, &(a, b)) in x.iter_mut().zip(domain) {
        *v = v.clamp(a, b);
    }
}

/// Starting points for the ascents.
fn starts(domain: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let centre: Vec<f64> = domain
        .iter()
        .map(|&(a, b)| match (a.is_finite(), b.is_finite()) {
            (true, true) => 0.5 * (a + b),
            (true, false) => a + 1.0,
            (false, true) => b - 1.0,
            (false, false) => 0.0,
        })
        .collect();
    let mut out = vec![centre.clone()];
    for (i, &(a, b)) in domain.iter().enumerate() {
        let mut cands = vec![];
        for k in [0.1, 1.0, 3.0, 10.0, 100.0, 1000.0] {
            cands.push(centre[i] + k);
            cands.push(centre[i] - k);
        }
        if a.is_finite() && b.is_finite() {
            for f in [0.02, 0.25, 0.75, 0.98] {
                cands.push(a + f * (b - a));
            }
        }
        for c in cands {
            if c > a && c < b {
                let mut x = centre.clone();
                x[i] = c;
                out.push(x);
            }
        }
    }
    if domain.len() > 1 {
        for sgn in [-1.0, 1.0] {
            for k in [1.0, 3.0] {
                let mut x: Vec<f64> = centre.iter().map(|c| c + sgn * k).collect();
                clamp_into(&mut x, domain);
                out.push(x);
            }
        }
    }
    out
}

/// `log p̃` at the points `pts`, in one batch through [`Density::log_density_batch`] (the same
/// values [`Density::log_density`] gives point by point, in one call of a model that pays per
/// call).
fn log_ps<P: Density>(p: &P, pts: &[Vec<f64>]) -> Vec<f64> {
    if !p.supplies_derivatives() {
        return pts.iter().map(|x| p.log_density(x)).collect();
    }
    crate::model::log_density_at(p, pts)
}

/// The gradient and Hessian of `log p̃` at the points `xs`, in one batch.
fn grad_hessians<P: Density>(p: &P, pts: &[&[f64]]) -> Vec<GradHess> {
    let n = pts.len();
    let mut out = vec![([0.0; MAX_DIM], [[0.0; MAX_DIM]; MAX_DIM]); n];
    if n > 0 {
        p.gradient_hessian_points(&crate::model::coordinate_major(pts), n, &mut out);
    }
    out
}

/// A one-dimensional search that evaluates `log p̃` at one point after another, each chosen
/// from the values before (a line search, a half width, the scan of an end). Many searches run
/// in lockstep ([`run_searches`]): each round, one batch of every unfinished search's next
/// points. A search may be evaluated ahead, at the points it would take next if the values
/// went the usual way (a line search failing, a halving going on); points it does not reach
/// are wasted evaluations, never a different result.
trait Search: Clone {
    /// The point the search evaluates next; `None` once it is done.
    fn next(&self) -> Option<Vec<f64>>;
    /// Take the value of `log p̃` at [`Search::next`].
    fn take(&mut self, v: f64);
    /// Step on as if the value at [`Search::next`] had let the search go on the usual way
    /// (to evaluate ahead); `false` when what comes next depends on that value.
    fn skip(&mut self) -> bool;
}

/// The most points one search is evaluated ahead in a round.
const MAX_AHEAD: usize = 64;

/// Run `searches` to their ends in lockstep: each round evaluates every unfinished search's
/// next point, and its following ones (twice as many each round, up to [`MAX_AHEAD`]), in one
/// batch. Each search takes exactly the values it would take alone.
fn run_searches<P: Density, S: Search>(p: &P, searches: &mut [S]) {
    if !p.supplies_derivatives() {
        // A model that does not pay per call (an expression, a Rust model): each search
        // alone, point by point, costs least (the same points, without the batches' upkeep:
        // batched, a 1-D check took twice as long).
        for s in searches.iter_mut() {
            // Bound: each search takes a bounded number of values (see its `Search` impl).
            while let Some(x) = s.next() {
                s.take(p.log_density(&x));
            }
        }
        return;
    }
    let mut ahead = vec![1usize; searches.len()];
    // Bound: each round every unfinished search takes at least one value (its first point in
    // the round is its own next one), and each search takes a bounded number of values.
    loop {
        let mut pts: Vec<Vec<f64>> = vec![];
        let mut spans = Vec::with_capacity(searches.len());
        for (s, &k) in searches.iter().zip(&ahead) {
            let start = pts.len();
            let mut sim = s.clone();
            while pts.len() - start < k {
                let Some(x) = sim.next() else { break };
                pts.push(x);
                if !sim.skip() {
                    break;
                }
            }
            spans.push(start..pts.len());
        }
        if pts.is_empty() {
            return;
        }
        let vals = log_ps(p, &pts);
        for ((s, span), k) in searches.iter_mut().zip(spans).zip(ahead.iter_mut()) {
            for j in span {
                let same = s.next().is_some_and(|x| {
                    x.len() == pts[j].len()
                        && x.iter()
                            .zip(&pts[j])
                            .all(|(a, b)| a.to_bits() == b.to_bits())
                });
                if !same {
                    break;
                }
                s.take(vals[j]);
            }
            *k = (*k * 2).min(MAX_AHEAD);
        }
    }
}

/// Solve `A y = g` for symmetric positive definite `A` (nalgebra's Cholesky, from the lower
/// triangle); `None` if not definite (or not finite).
fn spd_solve(a: &[[f64; MAX_DIM]; MAX_DIM], g: &[f64], d: usize) -> Option<[f64; MAX_DIM]> {
    match d {
        1 => spd_solve_n::<1>(a, g),
        2 => spd_solve_n::<2>(a, g),
        3 => spd_solve_n::<3>(a, g),
        4 => spd_solve_n::<4>(a, g),
        _ => None,
    }
}

/// [`spd_solve`] in dimension `N`, on the stack (no heap matrix per Newton step).
fn spd_solve_n<const N: usize>(a: &[[f64; MAX_DIM]; MAX_DIM], g: &[f64]) -> Option<[f64; MAX_DIM]> {
    let m = nalgebra::SMatrix::<f64, N, N>::from_fn(|i, j| a[i][j]);
    let chol = nalgebra::Cholesky::new(m)?;
    let l = chol.l_dirty();
    if (0..N).any(|i| !(l[(i, i)].is_finite() && l[(i, i)] > 0.0)) {
        return None;
    }
    let y = chol.solve(&nalgebra::SVector::<f64, N>::from_fn(|i, _| g[i]));
    let mut x = [0.0; MAX_DIM];
    x[..N].copy_from_slice(y.as_slice());
    Some(x)
}

/// The backtracking line search of one ascent step: from `x` along `dir`, halving `alpha` up
/// to 80 times (a factor 1e-24) until `log p̃` goes up.
#[derive(Clone)]
struct LineSearch<'a> {
    x: &'a [f64],
    l: f64,
    dir: Vec<f64>,
    alpha: f64,
    left: u32,
    domain: &'a [(f64, f64)],
    /// The point taken, its `log p̃` and step.
    found: Option<(Vec<f64>, f64, f64)>,
}

impl Search for LineSearch<'_> {
    fn next(&self) -> Option<Vec<f64>> {
        if self.found.is_some() || self.left == 0 {
            return None;
        }
        let mut xn: Vec<f64> = self
            .x
            .iter()
            .zip(&self.dir)
            .map(|(a, b)| a + self.alpha * b)
            .collect();
        clamp_into(&mut xn, self.domain);
        Some(xn)
    }
    fn take(&mut self, v: f64) {
        if v.is_finite() && v > self.l {
            let xn = self.next().expect("a point was evaluated");
            self.found = Some((xn, v, self.alpha));
        } else {
            self.skip();
        }
    }
    fn skip(&mut self) -> bool {
        self.alpha *= 0.5;
        self.left -= 1;
        self.left > 0
    }
}

/// One ascent (see [`ascend_all`]).
struct Ascent {
    x: Vec<f64>,
    l: f64,
    trust: f64,
    climbing: bool,
}

/// Climb from every start in lockstep; each gives its end point and log density (`None` where
/// `log p̃` is not finite at the start, whose value is `l0`). One batch of gradients and
/// Hessians per step, the line searches run together ([`run_searches`]): the same points as
/// one ascent after another.
fn ascend_all<P: Density>(
    p: &P,
    x0: &[Vec<f64>],
    l0: &[f64],
    domain: &[(f64, f64)],
) -> Vec<Option<(Vec<f64>, f64)>> {
    let mut asc: Vec<Option<Ascent>> = x0
        .iter()
        .zip(l0)
        .map(|(x, &l)| {
            l.is_finite().then(|| Ascent {
                x: x.clone(),
                l,
                trust: 1.0f64.max(0.1 * x.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
                climbing: true,
            })
        })
        .collect();
    // Bound: 300 steps (Newton converges in a few; gradient steps end when none goes up).
    for _ in 0..300 {
        let live: Vec<usize> = (0..asc.len())
            .filter(|&j| asc[j].as_ref().is_some_and(|a| a.climbing))
            .collect();
        if live.is_empty() {
            break;
        }
        let at: Vec<&[f64]> = live
            .iter()
            .map(|&j| &asc[j].as_ref().expect("live").x[..])
            .collect();
        let gh = grad_hessians(p, &at);
        let mut searches = vec![];
        let mut owners = vec![];
        let mut newton_of = vec![];
        for (&j, (g, h)) in live.iter().zip(&gh) {
            let a = asc[j].as_ref().expect("live");
            let d = a.x.len();
            let gnorm = g[..d].iter().map(|v| v * v).sum::<f64>().sqrt();
            if g[..d].iter().any(|v| !v.is_finite()) || gnorm == 0.0 {
                continue;
            }
            let mut neg_h = [[0.0; MAX_DIM]; MAX_DIM];
            for i in 0..d {
                for k in 0..d {
                    neg_h[i][k] = -h[i][k];
                }
            }
            let newton = spd_solve(&neg_h, &g[..d], d);
            let (dir, alpha) = match newton {
                Some(step) => (step[..d].to_vec(), 1.0),
                None => (
                    g[..d].iter().map(|v| v / gnorm).collect::<Vec<_>>(),
                    a.trust,
                ),
            };
            searches.push(LineSearch {
                x: &a.x,
                l: a.l,
                dir,
                alpha,
                left: 80,
                domain,
                found: None,
            });
            owners.push(j);
            newton_of.push(newton.is_some());
        }
        run_searches(p, &mut searches);
        let taken: Vec<Option<(Vec<f64>, f64, f64)>> =
            searches.into_iter().map(|s| s.found).collect();
        for &j in &live {
            let a = asc[j].as_mut().expect("live");
            let Some(s) = owners.iter().position(|&o| o == j) else {
                a.climbing = false;
                continue;
            };
            let Some((xn, ln, alpha)) = taken[s].clone() else {
                a.climbing = false;
                continue;
            };
            let step: f64 =
                a.x.iter()
                    .zip(&xn)
                    .map(|(u, v)| (u - v).abs())
                    .fold(0.0, f64::max);
            a.x = xn;
            a.l = ln;
            a.climbing = step > 1e-15 * (1.0 + a.x.iter().fold(0.0f64, |m, v| m.max(v.abs())));
            if !newton_of[s] {
                a.trust = (alpha * 2.0).max(1e-300);
            }
        }
    }
    asc.into_iter().map(|a| a.map(|a| (a.x, a.l))).collect()
}

/// Where along axis `i` (direction `sgn`) `log p̃` has dropped by ½ from the mode at `x`
/// (whose `log p̃` is `logp`): halving from the guess while below, doubling while above.
#[derive(Clone)]
struct HalfWidth {
    x: Vec<f64>,
    i: usize,
    sgn: f64,
    target: f64,
    room: f64,
    t: f64,
    phase: Phase,
    /// The answer once done: the distance, or `None` if the domain ends first.
    done: Option<Option<f64>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// The value at the guess decides the direction.
    Start,
    /// Halving while still below the target (the count left).
    Halving(u32),
    /// Doubling while still above the target (the count left).
    Doubling(u32),
}

impl HalfWidth {
    fn new(x: &[f64], logp: f64, i: usize, sgn: f64, domain: &[(f64, f64)], guess: f64) -> Self {
        let (a, b) = domain[i];
        let room = if sgn > 0.0 { b - x[i] } else { x[i] - a };
        HalfWidth {
            x: x.to_vec(),
            i,
            sgn,
            target: logp - 0.5,
            room,
            t: guess.min(room),
            phase: Phase::Start,
            done: (room <= 0.0).then_some(None),
        }
    }
    fn below(&self, v: f64) -> bool {
        v.is_nan() || v <= self.target
    }
    /// The distance evaluated next.
    fn t_next(&self) -> f64 {
        match self.phase {
            Phase::Start => self.t,
            Phase::Halving(_) => 0.5 * self.t,
            Phase::Doubling(_) => (2.0 * self.t).min(self.room),
        }
    }
    /// Before each halving or doubling: whether the search ends without an evaluation.
    fn settle(&mut self) {
        match self.phase {
            // Bound: 200 halvings (widths are floored in `resolution` anyway).
            Phase::Halving(left) if left == 0 || 0.5 * self.t == 0.0 => {
                self.done = Some(Some(self.t));
            }
            // Bound: 200 doublings (2^200 ≈ 1e60 times the guess; beyond, the width is
            // unknown).
            Phase::Doubling(0) => self.done = Some(None),
            Phase::Doubling(_) if self.t >= self.room => {
                self.done = Some(self.room.is_finite().then_some(self.room));
            }
            _ => {}
        }
    }
    fn step(&mut self, below: bool) {
        let tn = self.t_next();
        match self.phase {
            Phase::Start => {
                self.phase = if below {
                    Phase::Halving(200)
                } else {
                    Phase::Doubling(200)
                };
            }
            Phase::Halving(left) => {
                if !below {
                    self.done = Some(Some(self.t));
                    return;
                }
                self.t = tn;
                self.phase = Phase::Halving(left - 1);
            }
            Phase::Doubling(left) => {
                self.t = tn;
                if below {
                    self.done = Some(Some(self.t));
                    return;
                }
                self.phase = Phase::Doubling(left - 1);
            }
        }
        self.settle();
    }
}

impl Search for HalfWidth {
    fn next(&self) -> Option<Vec<f64>> {
        if self.done.is_some() {
            return None;
        }
        let mut x = self.x.clone();
        x[self.i] += self.sgn * self.t_next();
        Some(x)
    }
    fn take(&mut self, v: f64) {
        let b = self.below(v);
        self.step(b);
    }
    fn skip(&mut self) -> bool {
        match self.phase {
            Phase::Start => return false,
            Phase::Halving(_) => self.step(true),
            Phase::Doubling(_) => self.step(false),
        }
        self.done.is_none()
    }
}

/// The half widths `searches` describe, run together; `None` where the domain ends first.
fn half_widths<P: Density>(p: &P, mut searches: Vec<HalfWidth>) -> Vec<Option<f64>> {
    run_searches(p, &mut searches);
    searches
        .into_iter()
        .map(|s| s.done.expect("a search runs to its end"))
        .collect()
}

/// The scan of a finite end `e` of axis `i` from the point `x` (see [`modes_at_ends`]): the
/// distance `δ` from the end, at quarter decades from the reach down to 4 ulps of the end,
/// at which `δ·p̃` is largest.
#[derive(Clone)]
struct EndScan {
    y: Vec<f64>,
    i: usize,
    e: f64,
    inward: f64,
    reach: f64,
    least: f64,
    /// The next quarter decade, `δ = 10^(k/4)`, and that `δ`.
    k: i32,
    delta: f64,
    /// (δ·p̃ in log, δ, log p̃) at the best δ so far.
    best: Option<(f64, f64, f64)>,
    done: bool,
}

impl EndScan {
    fn new(x: &[f64], i: usize, e: f64, inward: f64, domain: &[(f64, f64)]) -> Self {
        let (a, b) = domain[i];
        // Half the width at most: beyond, the other end's behaviour would count.
        let reach = if (b - a).is_finite() {
            0.5 * (b - a)
        } else {
            1e6 * (1.0 + e.abs())
        };
        let mut s = EndScan {
            y: x.to_vec(),
            i,
            e,
            inward,
            reach,
            least: (4.0 * f64::EPSILON * e.abs()).max(1e-300),
            k: 0,
            delta: 1.0,
            best: None,
            done: false,
        };
        s.set_k((reach.log10() * 4.0).floor() as i32);
        s.settle();
        s
    }
    fn set_k(&mut self, k: i32) {
        self.k = k;
        self.delta = 10f64.powf(k as f64 / 4.0);
    }
    /// Skip the quarter decades beyond the reach; end below the least distance.
    fn settle(&mut self) {
        // Bound: k falls by one each pass, to −1300 at most.
        while !self.done {
            if self.k <= -1300 || self.delta < self.least {
                self.done = true;
            } else if self.delta > self.reach {
                self.set_k(self.k - 1);
            } else {
                break;
            }
        }
    }
}

impl Search for EndScan {
    fn next(&self) -> Option<Vec<f64>> {
        if self.done {
            return None;
        }
        let mut y = self.y.clone();
        y[self.i] = self.e + self.inward * self.delta;
        Some(y)
    }
    fn take(&mut self, l: f64) {
        let delta = self.delta;
        self.set_k(self.k - 1);
        if l.is_finite() {
            let score = l + delta.ln();
            if self.best.is_none_or(|(s, _, _)| score > s) {
                self.best = Some((score, delta, l));
            } else if self
                .best
                .is_some_and(|(s, _, _)| score < s - 2.0 * KEEP_BELOW)
            {
                // Nearer the end, δ·p̃ keeps falling for an integrable p̃ ~ δ^α (α > −1).
                self.done = true;
                return;
            }
        }
        self.settle();
    }
    fn skip(&mut self) -> bool {
        self.set_k(self.k - 1);
        self.settle();
        !self.done
    }
}

/// Modes on finite ends, one per `(x, i, e, inward)`: the density rises from `x` towards the
/// end `e` of axis `i`. The width along `i` is the distance `δ` from the end (at quarter
/// decades from 4 ulps of the end out to the axis' width) at which `δ·p̃` is largest, and
/// `log p̃` is taken there; along the other axes, the half-widths at that point. `None` where
/// `log p̃` is nowhere finite along the scan. All scans, then all half widths, run together.
fn modes_at_ends<P: Density>(
    p: &P,
    tasks: &[(&[f64], usize, f64, f64)],
    domain: &[(f64, f64)],
) -> Vec<Option<Mode>> {
    let mut scans: Vec<EndScan> = tasks
        .iter()
        .map(|&(x, i, e, inward)| EndScan::new(x, i, e, inward, domain))
        .collect();
    run_searches(p, &mut scans);
    let mut modes: Vec<Option<(Mode, Mode)>> = vec![];
    let mut searches = vec![];
    for (&(x, i, e, inward), s) in tasks.iter().zip(&scans) {
        let Some((_, delta, logp)) = s.best else {
            modes.push(None);
            continue;
        };
        let mut m = Mode {
            x: x.to_vec(),
            logp,
            scale: vec![1.0; x.len()],
        };
        m.x[i] = e;
        m.scale[i] = delta;
        let mut inner = m.clone();
        inner.x[i] = e + inward * delta;
        for j in (0..x.len()).filter(|&j| j != i) {
            for sgn in [1.0, -1.0] {
                searches.push(HalfWidth::new(&inner.x, inner.logp, j, sgn, domain, 1.0));
            }
        }
        modes.push(Some((m, inner)));
    }
    let mut widths = half_widths(p, searches).into_iter();
    modes
        .into_iter()
        .zip(tasks)
        .map(|(m, &(_, i, _, _))| {
            let (mut m, _) = m?;
            for j in (0..m.x.len()).filter(|&j| j != i) {
                let (up, dn) = (widths.next().expect("up"), widths.next().expect("down"));
                m.scale[j] = match (up, dn) {
                    (Some(u), Some(v)) => (u * v).sqrt(),
                    (Some(u), None) | (None, Some(u)) => u,
                    (None, None) => 1.0,
                };
            }
            Some(m)
        })
        .collect()
}

/// Why the mass of a density could not be found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LocateError {
    /// `log p̃` is −∞ or undefined at every starting point.
    #[error(
        "the density is zero or undefined (log p = −∞) at every point tried; check the [density] expression and the domain"
    )]
    NowhereFinite,
    /// `log p̃` is NaN (a negative or undefined density) at this point of the domain.
    #[error(
        "the density is negative or undefined (NaN) at x = {}; a density must be defined and >= 0 on the whole domain",
        crate::report::fmt_point(.0)
    )]
    Undefined(Vec<f64>),
    /// `log p̃` is finite, but from its highest point found it does not fall by ½ towards an
    /// infinite end: the density does not decay, so it is not integrable.
    #[error(
        "the density does not decay towards an infinite end of the domain, so it is not integrable; restrict the domain or fix the density"
    )]
    NoDecay,
}

/// Find the modes of `p` on the box `domain` and cut each axis into pieces.
///
/// The density is evaluated in batches: the starting points together, the ascents in
/// lockstep (one batch of gradients and Hessians per Newton step, the line searches
/// together), and likewise the scans of the ends, the half widths and the probes that each
/// mode is a maximum. The points are the ones the searches would take one after another
/// (plus some evaluated ahead), so the modes and widths are too.
pub fn locate<P: Density>(p: &P, domain: &[(f64, f64)]) -> Result<Located, LocateError> {
    let d = domain.len();
    // Bound: one ascent per starting point (at most 1 + 16·d + 4).
    let starts = starts(domain);
    let l0 = log_ps(p, &starts);
    if let Some(j) = l0.iter().position(|l| l.is_nan()) {
        return Err(LocateError::Undefined(starts[j].clone()));
    }
    let mut found: Vec<(Vec<f64>, f64)> = ascend_all(p, &starts, &l0, domain)
        .into_iter()
        .flatten()
        .collect();
    if found.is_empty() {
        return Err(LocateError::NowhereFinite);
    }
    // Ascents that ran into a finite end: the density rises towards that end (it may be
    // unbounded there, or undefined at the end itself, like 0·ln 0). Such an end gets a
    // mode of its own, placed on the end, whose width is where the mass per decade of
    // distance from the end, δ·p̃(end ± δ), is largest; its log p̃ is the value there, not
    // the (perhaps unbounded) values the ascent climbed to.
    let mut at_end = vec![false; found.len()];
    let mut tasks: Vec<(&[f64], usize, f64, f64)> = vec![];
    for (f, (x, _)) in found.iter().enumerate() {
        for (i, &(a, b)) in domain.iter().enumerate() {
            for (e, inward) in [(a, 1.0), (b, -1.0)] {
                if !e.is_finite() {
                    continue;
                }
                let width = if (b - a).is_finite() {
                    b - a
                } else {
                    1.0 + e.abs()
                };
                if (x[i] - e).abs() > 1e-9 * width {
                    continue;
                }
                at_end[f] = true;
                tasks.push((x, i, e, inward));
            }
        }
    }
    let mut end_modes: Vec<Mode> = vec![];
    for m in modes_at_ends(p, &tasks, domain).into_iter().flatten() {
        if !end_modes.iter().any(|o| o.x == m.x) {
            end_modes.push(m);
        }
    }
    let mut ends = at_end.into_iter();
    found.retain(|_| !ends.next().expect("one flag per ascent"));
    let log_max = found
        .iter()
        .map(|f| f.1)
        .chain(end_modes.iter().map(|m| m.logp))
        .fold(f64::NEG_INFINITY, f64::max);
    if !log_max.is_finite() {
        return Err(LocateError::NowhereFinite);
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut modes: Vec<Mode> = end_modes
        .into_iter()
        .filter(|m| m.logp >= log_max - KEEP_BELOW)
        .collect();
    found.retain(|(_, l)| *l >= log_max - KEEP_BELOW);
    // Every candidate's Hessian, half widths and maximum probes, each in one batch.
    let at: Vec<&[f64]> = found.iter().map(|(x, _)| &x[..]).collect();
    let hs = grad_hessians(p, &at);
    let guesses: Vec<Vec<f64>> = hs
        .iter()
        .map(|(_, h)| {
            (0..d)
                .map(|i| {
                    if h[i][i] < 0.0 && h[i][i].is_finite() {
                        1.0 / (-h[i][i]).sqrt()
                    } else {
                        1.0
                    }
                })
                .collect()
        })
        .collect();
    let mut searches = vec![];
    for ((x, l), guess) in found.iter().zip(&guesses) {
        for (i, &g) in guess.iter().enumerate() {
            for sgn in [1.0, -1.0] {
                searches.push(HalfWidth::new(x, *l, i, sgn, domain, g));
            }
        }
    }
    let mut widths = half_widths(p, searches).into_iter();
    let mut cands = vec![];
    let mut probes = vec![];
    for ((x, l), guess) in found.into_iter().zip(&guesses) {
        let mut m = Mode {
            x,
            logp: l,
            scale: vec![1.0; d],
        };
        for (i, &guess) in guess.iter().enumerate() {
            let (up, dn) = (widths.next().expect("up"), widths.next().expect("down"));
            // A side whose half width is the room left to the domain's end says only that
            // the width is at least that: it does not count when the other side has a drop
            // (a mode 1e-165 from an end had a width of 3e-83, and ~90 cuts per axis).
            let (a, b) = domain[i];
            let ended = |w: Option<f64>, room: f64| w.filter(|&w| w < room);
            let (up, dn) = match (ended(up, b - m.x[i]), ended(dn, m.x[i] - a)) {
                (None, None) => (up, dn),
                cut => cut,
            };
            m.scale[i] = match (up, dn) {
                // sqrt of each first: u·v underflows to 0 for widths below 1e-162.
                (Some(u), Some(v)) => u.sqrt() * v.sqrt(),
                (Some(u), None) | (None, Some(u)) => u,
                (None, None) => guess,
            };
            // A local maximum: small steps either way do not go up.
            let probe = (1e-6 * m.scale[i]).max(1e-12 * (1.0 + m.x[i].abs()));
            for sgn in [-1.0, 1.0] {
                let mut y = m.x.clone();
                y[i] = (y[i] + sgn * probe).clamp(domain[i].0, domain[i].1);
                probes.push(y);
            }
        }
        cands.push(m);
    }
    let probed = log_ps(p, &probes);
    for (m, vals) in cands.into_iter().zip(probed.chunks(2 * d.max(1))) {
        let higher = vals
            .iter()
            .any(|&v| v > m.logp + 1e-12 * (1.0 + m.logp.abs()));
        if higher {
            continue;
        }
        let dup = modes.iter().any(|o| {
            (0..d).all(|i| {
                (o.x[i] - m.x[i]).abs()
                    <= 1e-3 * o.scale[i].min(m.scale[i]) + 1e-12 * (1.0 + m.x[i].abs())
            })
        });
        if !dup {
            modes.push(m);
        }
    }
    if modes.is_empty() {
        // log_max is finite here: the density is finite somewhere but nowhere has a width.
        return Err(LocateError::NoDecay);
    }
    modes.sort_by(|a, b| b.logp.total_cmp(&a.logp));
    let unresolved = resolution(&mut modes, log_max);
    // The maps of infinite pieces use 4 mode widths in 2-D and up: measured on Gaussians in
    // 3-D and 4-D, Genz–Malik then needs 2.7× fewer evaluations than with 1 width (and 1.5×
    // fewer than with 2); in 1-D tanh-sinh does best with 1.
    let spread = if d == 1 { 1.0 } else { 4.0 };
    let mut plan = CutPlan {
        modes: modes.len(),
        ratio: vec![8.0; d],
    };
    // Bound: every pass squares one axis's ratio (8 → 64 → … → ∞ after 9 squarings) or
    // drops one mode from the cuts, so at most 10·d + modes.len() passes.
    let pieces = loop {
        let pieces: Vec<Vec<Piece>> = (0..d)
            .map(|i| axis_pieces(&modes[..plan.modes], i, domain[i], spread, plan.ratio[i]))
            .collect();
        let cells = pieces.iter().fold(1usize, |n, p| n.saturating_mul(p.len()));
        if cells <= if d == 1 { MAX_PIECES_1D } else { MAX_CELLS } {
            break pieces;
        }
        let widest = (0..d)
            .filter(|&i| plan.ratio[i].is_finite())
            .max_by_key(|&i| pieces[i].len());
        match widest {
            Some(i) => {
                let r = plan.ratio[i] * plan.ratio[i];
                plan.ratio[i] = if r < 1e300 { r } else { f64::INFINITY };
            }
            None if plan.modes > 1 => plan.modes -= 1,
            None => break pieces,
        }
    };
    Ok(Located {
        modes,
        log_max,
        pieces,
        breaks: vec![vec![]; d],
        unresolved,
        plan,
    })
}

/// Whether doubles resolve the mass: `|log p̃|` at the maximum below [`MAX_ABS_LOG_MAX`],
/// every width at least [`MIN_WIDTH_SPACINGS`] spacings of doubles and at most [`MAX_WIDTH`], the highest mode's
/// volume within `e^±`[`LOG_VOLUME_RANGE`]. Returns the first reason it does not. Widths
/// below the floor are raised to it, so the pieces cut from them stay few (a width of 0,
/// from a drop of ½ that doubles could not represent, once made `axis_pieces` loop forever).
fn resolution(modes: &mut [Mode], log_max: f64) -> Option<String> {
    let mut why = None;
    if log_max.abs() > MAX_ABS_LOG_MAX {
        why = Some(format!(
            "log p̃ reaches {log_max:.3e} at its maximum, where doubles are {:.1e} apart: its drop by ½ \
             across the mass (and p̃ itself) cannot be computed in double precision; subtract a constant \
             from the log-density or rescale it",
            spacing(log_max)
        ));
    }
    for m in modes.iter_mut() {
        for (i, w) in m.scale.iter_mut().enumerate() {
            let floor = MIN_WIDTH_SPACINGS * spacing(m.x[i]);
            if w.is_nan() || *w < floor {
                if why.is_none() {
                    why = Some(format!(
                        "the mass at x = {} is {:.2e} wide along axis {}, fewer than {:.0e} doubles \
                         (they are {:.1e} apart there): it cannot be integrated in double precision; \
                         shift that variable so the mass is near 0, or rescale it",
                        crate::report::fmt_point(&m.x),
                        *w,
                        i + 1,
                        MIN_WIDTH_SPACINGS,
                        spacing(m.x[i]),
                    ));
                }
                *w = floor;
            }
            if *w > MAX_WIDTH {
                if why.is_none() {
                    why = Some(format!(
                        "the mass at x = {} is {:.2e} wide along axis {}, wider than {MAX_WIDTH:.0e}: \
                         its integrals would overflow double precision; rescale that variable",
                        crate::report::fmt_point(&m.x),
                        *w,
                        i + 1,
                    ));
                }
                *w = MAX_WIDTH;
            }
        }
    }
    if why.is_none() {
        let log_volume: f64 = modes[0].scale.iter().map(|w| w.ln()).sum();
        if log_volume.abs() > LOG_VOLUME_RANGE {
            why = Some(format!(
                "the mass at x = {} occupies a volume of e^{log_volume:.0} (widths {:?}), outside the range \
                 of doubles once integrated; rescale the variables",
                crate::report::fmt_point(&modes[0].x),
                modes[0].scale
            ));
        }
    }
    why
}

/// Cut axis `i` at the modes' coordinates; long finite stretches are cut again at
/// geometric distances (`ratio` apart, from 8 widths; none when `ratio` is infinite) from the
/// nearest mode so the rule sees the scale of the mass.
fn axis_pieces(
    modes: &[Mode],
    i: usize,
    (a, b): (f64, f64),
    spread: f64,
    ratio: f64,
) -> Vec<Piece> {
    // (position, scale) of cut points
    let mut cuts: Vec<(f64, f64)> = modes.iter().map(|m| (m.x[i], m.scale[i])).collect();
    cuts.sort_by(|p, q| p.0.total_cmp(&q.0));
    // Merged when closer than 1e-3 widths (or 1e-9 relative): in units of the widths, not of
    // 1, so the mass of a mode 1e-125 wide at 0 is not merged away.
    cuts.dedup_by(|p, q| {
        (p.0 - q.0).abs() <= 1e-9 * p.0.abs().max(q.0.abs()) + 1e-3 * p.1.min(q.1)
    });
    let mut extra = vec![];
    for &(c, s) in &cuts {
        for sgn in [-1.0, 1.0] {
            // Bound: r starts at 8·s > 0 (widths are at least MIN_WIDTH_SPACINGS spacings of
            // doubles, see `resolution`) and grows `ratio`× (at least 8×) up to 1e300, so at most
            // log8(1e300 / 5e-324) < 700 cuts per side of a mode; MAX_GEOMETRIC_CUTS says so.
            let mut r = 8.0 * s.max(f64::MIN_POSITIVE);
            let mut n = 0;
            while ratio.is_finite() && r.is_finite() && r < 1e300 && n < MAX_GEOMETRIC_CUTS {
                n += 1;
                let x = c + sgn * r;
                // only inside the domain and before the next mode
                let blocked = cuts
                    .iter()
                    .any(|&(o, _)| (o - c) * sgn > 0.0 && (o - x) * sgn <= 8.0 * s);
                if !(x > a && x < b) || blocked {
                    break;
                }
                // only where the axis end on that side is finite: an infinite end is mapped
                if (sgn > 0.0 && b.is_infinite()) || (sgn < 0.0 && a.is_infinite()) {
                    // still cut if another mode lies that way (handled by the mode cut itself)
                    break;
                }
                extra.push((x, s));
                r *= ratio;
            }
        }
    }
    cuts.extend(extra);
    cuts.retain(|&(x, _)| x > a && x < b);
    cuts.sort_by(|p, q| p.0.total_cmp(&q.0));
    cuts.dedup_by(|p, q| (p.0 - q.0).abs() <= 1e-12 * (p.0.abs().max(q.0.abs()) + p.1.min(q.1)));
    let nearest_scale = |x: f64| {
        modes
            .iter()
            .min_by(|m, n| (m.x[i] - x).abs().total_cmp(&(n.x[i] - x).abs()))
            .map(|m| spread * m.scale[i])
            .unwrap_or(spread)
    };
    let mut pts: Vec<f64> = vec![a];
    pts.extend(cuts.iter().map(|c| c.0));
    pts.push(b);
    if pts.len() == 2 && a.is_infinite() && b.is_infinite() {
        let c = modes.first().map(|m| m.x[i]).unwrap_or(0.0);
        pts = vec![a, c, b];
    }
    let mut out = vec![];
    for w in pts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let piece = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => Piece::Finite { lo, hi },
            (true, false) => Piece::Upper {
                start: lo,
                scale: nearest_scale(lo),
            },
            (false, true) => Piece::Lower {
                end: hi,
                scale: nearest_scale(hi),
            },
            (false, false) => unreachable!("an infinite axis is always cut once"),
        };
        out.push(piece);
    }
    out
}
