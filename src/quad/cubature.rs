//! The rule of two to four dimensions: an adaptive Genz–Malik rule of degree 7 with an
//! embedded degree-5 rule over a union of cells, all quantities from shared evaluations; the
//! region with the largest error is split along the axis with the largest fourth difference,
//! and regions whose points' slopes show a peak between them are weighed at that peak
//! ([`cubature_hinted`]).
//!
//! Bounds (issue 17): a [`cubature`] ends when `max_evals` evaluations are spent or
//! [`max_regions`] regions ([`MEMORY_BUDGET`]) are stored, and its first cut spends at most
//! `max_evals` or one rule per cell, whichever is more (cells are bounded by
//! [`crate::locate::MAX_CELLS`]); its points are evaluated at most [`FIRST_BATCH`] regions or
//! one round (≤ 128 regions) at a time.

use super::Piece;
use super::sum::Neumaier;
use std::collections::BinaryHeap;

// Genz–Malik degree-7 rule with embedded degree-5 rule on [−1, 1]^d.

/// Points of the Genz–Malik rule in `d` dimensions: the centre, 4 per axis, 4 per pair of
/// axes and the 2^d vertices.
fn rule_size(d: usize) -> usize {
    1 + 4 * d + 2 * d * d.saturating_sub(1) + (1 << d)
}
const L2: f64 = 0.358_568_582_800_318_1; // sqrt(9/70)
const L3: f64 = 0.948_683_298_050_513_8; // sqrt(9/10)
const L4: f64 = 0.948_683_298_050_513_8; // sqrt(9/10)
const L5: f64 = 0.688_247_201_611_685_3; // sqrt(9/19)

struct GmWeights {
    w7: [f64; 5],
    w5: [f64; 4],
}

fn gm_weights(d: usize) -> GmWeights {
    let df = d as f64;
    GmWeights {
        w7: [
            (12824.0 - 9120.0 * df + 400.0 * df * df) / 19683.0,
            980.0 / 6561.0,
            (1820.0 - 400.0 * df) / 19683.0,
            200.0 / 19683.0,
            6859.0 / 19683.0 / 2f64.powi(d as i32),
        ],
        w5: [
            (729.0 - 950.0 * df + 50.0 * df * df) / 729.0,
            245.0 / 486.0,
            (265.0 - 100.0 * df) / 1458.0,
            25.0 / 729.0,
        ],
    }
}

/// A box of `u`-space with the pieces that map it to `x`.
#[derive(Clone, Debug)]
pub struct Cell {
    pub pieces: Vec<Piece>,
}

/// Share of the embedded-rule difference |r7 − r5| kept as a floor on a split region's error.
const EMBEDDED_SHARE: f64 = 0.02;

/// A region whose degree-7/degree-5 difference is above this share of its degree-7/degree-3
/// difference shows no order of convergence (see `finish_region`).
const ROUGH_SHARE: f64 = 1.0;

/// Regions, stored flat: per region its cell and split axis, and `2d + 4k` numbers (the
/// centre and half-widths, `d` each, then per component the estimate, its error, the share
/// of |r7 − r5| its children keep as a floor on their errors (see `finish_region`) and the
/// rounding floor, `k` each). One allocation for them all, not one a region: the
/// bookkeeping between rounds visits regions in the queue's order, and with an allocation
/// each it spent a third of a steep banana's time in cache misses, `malloc` and `free`.
struct Regions {
    d: usize,
    k: usize,
    /// Per region: its cell and the axis it is split along.
    meta: Vec<(u32, u32)>,
    data: Vec<f64>,
}

/// One region of [`Regions`].
#[derive(Clone, Copy)]
struct Region<'a> {
    cell: usize,
    axis: usize,
    d: usize,
    k: usize,
    data: &'a [f64],
}

impl<'a> Region<'a> {
    fn center(&self) -> &'a [f64] {
        &self.data[..self.d]
    }
    fn half(&self) -> &'a [f64] {
        &self.data[self.d..2 * self.d]
    }
    fn est(&self) -> &'a [f64] {
        let o = 2 * self.d;
        &self.data[o..o + self.k]
    }
    fn err(&self) -> &'a [f64] {
        let o = 2 * self.d + self.k;
        &self.data[o..o + self.k]
    }
    fn raw(&self) -> &'a [f64] {
        let o = 2 * self.d + 2 * self.k;
        &self.data[o..o + self.k]
    }
    fn floor(&self) -> &'a [f64] {
        let o = 2 * self.d + 3 * self.k;
        &self.data[o..o + self.k]
    }
}

impl Regions {
    fn new(d: usize, k: usize) -> Self {
        Self::with_capacity(d, k, 0)
    }
    fn with_capacity(d: usize, k: usize, n: usize) -> Self {
        Regions {
            d,
            k,
            meta: Vec::with_capacity(n),
            data: Vec::with_capacity(n * (2 * d + 4 * k)),
        }
    }
    fn stride(&self) -> usize {
        2 * self.d + 4 * self.k
    }
    fn len(&self) -> usize {
        self.meta.len()
    }
    fn get(&self, i: usize) -> Region<'_> {
        let n = self.stride();
        let (cell, axis) = self.meta[i];
        Region {
            cell: cell as usize,
            axis: axis as usize,
            d: self.d,
            k: self.k,
            data: &self.data[i * n..(i + 1) * n],
        }
    }
    fn iter(&self) -> impl Iterator<Item = Region<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }
    fn data_mut(&mut self, i: usize) -> &mut [f64] {
        let n = self.stride();
        &mut self.data[i * n..(i + 1) * n]
    }
    fn err_mut(&mut self, i: usize) -> &mut [f64] {
        let (d, k) = (self.d, self.k);
        &mut self.data_mut(i)[2 * d + k..2 * d + 2 * k]
    }
    fn floor_mut(&mut self, i: usize) -> &mut [f64] {
        let (d, k) = (self.d, self.k);
        &mut self.data_mut(i)[2 * d + 3 * k..2 * d + 4 * k]
    }
    fn set_axis(&mut self, i: usize, axis: usize) {
        self.meta[i].1 = axis as u32;
    }
    /// A new region of zeros in `cell`, to be filled in.
    fn push_zeros(&mut self, cell: usize) -> &mut [f64] {
        self.meta.push((cell as u32, 0));
        let n = self.stride();
        self.data.resize(self.data.len() + n, 0.0);
        let at = self.data.len() - n;
        &mut self.data[at..]
    }
    /// Put a copy of `r` at `slot`: in place of the region there, or after the last.
    fn put(&mut self, slot: usize, r: Region) {
        let meta = (r.cell as u32, r.axis as u32);
        if slot == self.len() {
            self.meta.push(meta);
            self.data.extend_from_slice(r.data);
        } else {
            self.meta[slot] = meta;
            self.data_mut(slot).copy_from_slice(r.data);
        }
    }
    fn append(&mut self, other: &Regions) {
        debug_assert!(other.len() == 0 || (other.d, other.k) == (self.d, self.k));
        self.meta.extend_from_slice(&other.meta);
        self.data.extend_from_slice(&other.data);
    }
}

/// A region's place in the queue: its priority and its index in the store of regions.
#[derive(Clone, Copy)]
struct Ranked {
    priority: f64,
    id: u32,
}

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o).is_eq()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.priority
            .total_cmp(&o.priority)
            .then_with(|| o.id.cmp(&self.id))
    }
}

/// Outcome of [`cubature`].
#[derive(Clone, Debug)]
pub struct CubatureResult {
    pub values: Vec<f64>,
    pub errors: Vec<f64>,
    pub evals: u64,
    pub converged: bool,
    /// Why the run stopped before its budget when its error could not reach the targets in
    /// it ([`STALL_MARGIN`]); `None` when it converged or spent its budget or memory.
    pub stopped: Option<String>,
}

/// A run that has spent at least an eighth of its budget stops early when, over both the
/// last two and the last three doublings of its evaluations, the error has fallen too slowly
/// to reach the targets within this many times its budget (at the rate measured): a kink
/// along a diagonal (error ∝ 1/evaluations in 2-D) used all of 20 million evaluations,
/// 10 s, to end a factor 60 short.
pub const STALL_MARGIN: f64 = 4.0;

/// A run stops early only while bounds of hidden peaks make at most this share of every
/// error above its target.
const PEAK_SHARE_TO_STOP: f64 = 0.1;

/// The integrand of [`cubature`]: `f(xs, n, out)` writes the `k` values at each of `n`
/// points, where `xs[v * n + l]` is coordinate `v` of point `l` and point `l`'s values go to
/// `out[l * k..(l + 1) * k]`. It may be called from several threads at once.
pub type VectorIntegrand<'a> = dyn Fn(&[f64], usize, &mut [f64]) + Sync + 'a;

/// A pointwise integrand `f(x, out)` (writing the `k` values at `x`) as a batch one.
pub fn pointwise<F: Fn(&[f64], &mut [f64]) + Sync>(
    f: F,
) -> impl Fn(&[f64], usize, &mut [f64]) + Sync {
    move |xs: &[f64], n: usize, out: &mut [f64]| {
        if n == 0 {
            return;
        }
        let (d, k) = (xs.len() / n, out.len() / n);
        let mut x = [0.0; MAX_CUBATURE_DIM];
        for (l, o) in out.chunks_exact_mut(k).enumerate() {
            for (v, xv) in x.iter_mut().enumerate().take(d) {
                *xv = xs[v * n + l];
            }
            f(&x[..d], o);
        }
    }
}

/// Where the integrand changes branch inside the regions: switches of its expressions (the
/// argument of a `max`, an `abs`, …) that no cell boundary follows, such as a kink of the
/// field along a diagonal (issue 13). Across such a switch the integrand has a jump or a
/// kink, and the embedded rules' difference says nothing about the rule's error: a jump of
/// ∂s between a region's points, with |r7 − r5| below |r7 − r3|, left rhs 8.1e-7 off with an
/// error of 5.6e-7. A region whose points see two branches of a switch is weighed instead at
/// a bound of any rule's error on a jump: its volume times the range of the values at its
/// points, times the rule's positive weights (`branch_factor`), unless its rules show the
/// order of a smooth integrand ([`SMOOTH_ACROSS`]); one whose corners alone see two, at the
/// range with the value at a corner beyond the switch, on [`CORNER_SHARE`] of its volume,
/// and it is split across the switch.
pub struct Branches<'a> {
    /// `eval(xs, n, out)`: at each of `n` points (`xs[v * n + l]`, in the integrand's
    /// coordinates), a number naming the branch of each of the `count` switches,
    /// `out[l * count + s]`; NaN where it is not known (a point at infinity).
    pub eval: &'a VectorIntegrand<'a>,
    pub count: usize,
    /// Per switch, which of the `k` integrands change with its branch.
    pub touches: Vec<Vec<bool>>,
}

/// A region across a switch keeps the rules' own error only where |r7 − r5| is below this
/// share of |r7 − r3|: the order of convergence of an integrand smooth across the switch (the
/// logistic's `abs` in `−|t| − 2 ln(1 + e^−|t|)` changes branch where the law is smooth),
/// which a jump between the points shows only by chance (a jump beyond the outermost
/// points along an axis, past 0.9 of the half-width: |r7 − r5| = 0.36 |r7 − r3|).
const SMOOTH_ACROSS: f64 = 0.01;

/// The share of a region that a plane which separates none of its points can cut off, at
/// most, with a margin: the plane passes outside the points' hull. In 2-D that hull is
/// [−λ₄, λ₄]², so the plane crosses a strip (1 − λ₄)/2 = 0.026 of the region; in 3-D and 4-D
/// the λ₃ points leave the same strips and the vertices at λ₅ corner caps of 0.017 (3-D) and
/// 0.006 (4-D).
const CORNER_SHARE: f64 = 0.05;

/// The sum of the degree-7 rule's positive weights (over its points, as a mean): its error
/// on a jump of height 1 across any part of a region, a share `a` of it, is
/// |Σ_{points beyond} wᵢ − a| ≤ this (the weights sum to 1, so the negative ones at most
/// add to it).
fn branch_factor(d: usize, w: &GmWeights) -> f64 {
    let df = d as f64;
    let counts = [
        1.0,
        2.0 * df,
        2.0 * df,
        2.0 * df * (df - 1.0),
        2f64.powi(d as i32),
    ];
    w.w7.iter().zip(counts).map(|(w, c)| w.max(0.0) * c).sum()
}

/// The most dimensions [`cubature`] takes.
pub const MAX_CUBATURE_DIM: usize = 8;

/// Regions split per round in `d` dimensions with `stored` regions: their children are
/// evaluated together, on every core. A number fixed by the dimension and the store alone,
/// so the regions split, and so every result, do not depend on the thread count: about 2000
/// points a round in 2-D to 4-D, enough work to share between threads, and up to 8 times as
/// many once the store is large (then the round's parents are all
/// near the top of the queue anyway, and fewer, larger rounds spend less time waiting for
/// threads and on the serial bookkeeping between rounds): twice as many from 32,768 stored
/// regions, growing with the store to 8 times from 131,072.
fn splits_per_round(d: usize, stored: usize) -> usize {
    let base = match d {
        1 => 16,
        2 => 64,
        3 => 32,
        _ => 16,
    };
    base * (stored / 16_384).clamp(1, 8)
}

/// The memory the regions of one cubature may take (each stores its centre, half-widths and
/// four numbers per integrand, plus its place in the queue): 256 MiB, which a 4-D check
/// with the default budget of 20 million evaluations stays below (it stores about 175 000
/// regions of 0.9 kB: 160 MB; see the README's limits).
pub const MEMORY_BUDGET: usize = 256 << 20;

/// The most regions a cubature of `k` integrands in `d` dimensions stores: [`MEMORY_BUDGET`]
/// over the size of one region.
pub fn max_regions(d: usize, k: usize) -> usize {
    let per = std::mem::size_of::<(u32, u32)>()
        + std::mem::size_of::<Ranked>()
        + (2 * d + 4 * k) * std::mem::size_of::<f64>();
    MEMORY_BUDGET / per
}

/// The first regions are evaluated this many at a time (bounds the scratch of points).
pub const FIRST_BATCH: usize = 4096;

/// Below this many points a round is evaluated on the calling thread (same results).
const PARALLEL_POINTS: usize = 1024;

/// Adaptive Genz–Malik cubature of a vector of `k` integrands over a union of cells.
///
/// `targets(values)` returns, for the current totals, the absolute error wanted on each
/// component; the run stops when every component's summed error is below its target, or
/// when `max_evals` is spent or [`max_regions`] are stored (then `converged` is false and
/// the errors are the honest sums).
/// Each round splits the regions with the largest errors (relative to their targets), as
/// many as the dimension fixes, and evaluates the children's points in parallel; the
/// results are the same for any number of threads.
pub fn cubature(
    f: &VectorIntegrand,
    cells: &[Cell],
    k: usize,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
) -> CubatureResult {
    // Each cell starts cut into m^d equal regions, so that a narrow feature (the curved
    // ridge of a banana-shaped density, far out in its tail) is seen by some rule's points
    // before adaptivity decides where to work: with a single starting region per cell the
    // far ridge of `−x²/8 − (y − x²/4)²/2` was never sampled and its mass (5e-8 of Z) went
    // missing from every estimate.
    let m: usize = match cells[0].pieces.len() {
        1 | 2 => 8,
        3 => 4,
        _ => 3,
    };
    cubature_from(f, cells, k, targets, max_evals, m)
}

/// [`cubature`] of an integrand that also reports, after its `k` values at each point, the
/// log of the weight that carries its mass (`log p̃`, up to a constant; `−∞` where it is 0)
/// and that log's gradient in `x` (`d` values): `k + 1 + d` values per point.
///
/// Those are what lets a region notice mass that none of its points sits on. A narrow ridge
/// of `p̃` (the curved ridge of a banana-shaped density, a twisted Gaussian, a heavy tail along
/// a diagonal, all of them thin in `u` after the map of the infinite ends) can pass between
/// all of a region's points; then both rules see only its flanks and agree, and the region's
/// error estimate is tiny while it holds much of what is missing (measured: regions with
/// errors of 1e-24 that held 7e-9 of a banana's Z). The slopes at the points do see the
/// ridge: along each line of points parallel to an axis, slopes of `log p̃` that change sign
/// between two points, or rise towards the region's edge, mark a maximum the points missed.
/// A parabola through those slopes estimates its height; when it is more than `e²` above
/// every value the points saw, the region gets, on top of the rule's error, what it could
/// hold at that height (its volume times the peak, times the largest ratio of each quantity
/// to `p̃` at its points), so adaptivity splits it until its points sit on the ridge or its
/// share is negligible.
pub fn cubature_hinted(
    f: &VectorIntegrand,
    cells: &[Cell],
    k: usize,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
) -> CubatureResult {
    cubature_hinted_with(f, None, cells, k, targets, max_evals)
}

/// [`cubature_hinted`] over an integrand that changes branch where `branches` say.
pub fn cubature_hinted_with(
    f: &VectorIntegrand,
    branches: Option<&Branches>,
    cells: &[Cell],
    k: usize,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
) -> CubatureResult {
    // In 4-D a first cut of 3 per axis never sampled a steep banana's ridge beyond |x| ≈ 4
    // (x ~ N(0, 1), y = 1.9x² + N(0, 0.1), two Gaussian coordinates): Z stayed 6.3e-5 (the
    // mass of |x| > 4) below the truth at 2.5M to 20M evaluations, with an error of 4.4e-5.
    let d = cells[0].pieces.len();
    let m: usize = match d {
        1 | 2 => 8,
        _ => 4,
    };
    // In 4-D, the fourth cut per axis is for laws that are not Gaussian: where log p̃ is one
    // quadratic along every axis and every pair of axes, out to 4 scales of the pieces, 3 cuts
    // (as before the steep banana) give errors that cover (the 4-D benchmark: 4,096 first
    // regions of 57 points → 1,296, 5.36M → 4.68M evaluations). The cut is not made per axis:
    // 3 cuts along the Gaussian coordinates of a steep 4-D banana (4, 4, 3, 3) left Z 4.7e-5
    // below the truth with an error of 4.0e-5.
    let mut tested = 0;
    let mut m = m;
    if d == 4 {
        let (quadratic, n) = quadratic_axes(f, cells, k);
        tested = n as u64;
        if quadratic.iter().all(|&q| q) {
            m = 3;
        }
    }
    let mut r = cubature_inner(f, branches, cells, k, true, targets, max_evals, m);
    r.evals += tested;
    r
}

/// The offsets (in scales of the pieces) at which [`quadratic_axes`] looks along one axis and
/// at a pair of axes together.
const LINE: [f64; 8] = [-4.0, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 4.0];
const PAIR: [f64; 8] = [-0.25, 0.25, -0.5, 0.5, -1.0, 1.0, -4.0, 4.0];

/// Per axis, whether `log p̃` (the hint's value, output `k`) is a parabola along it and free
/// of other than bilinear coupling with every other axis, as seen from the point x₀ where the
/// cells' infinite pieces meet: along axis i at x₀ + t·scale for t in [`LINE`] (the parabola
/// through t = −¼, 0, ¼ must predict every value to 0.05 + 1e-6·|log p̃|), and for each pair
/// the interaction I(t) = f(t, t) − f(t, 0) − f(0, t) + f(0, 0) at t in [`PAIR`], which a
/// quadratic makes bilinear (I(2t) = 4·I(t), I(4t) = 16·I(t)). An axis with a finite piece, or
/// any value that is not finite, is not quadratic. Returns the answer per axis and the
/// evaluations spent (1 + 8d + 8·d(d−1)/2: 81 in 4-D).
fn quadratic_axes(f: &VectorIntegrand, cells: &[Cell], k: usize) -> (Vec<bool>, usize) {
    let d = cells[0].pieces.len();
    // Per axis: (x₀, scale below, scale above), from the cells' Lower and Upper pieces.
    let mut axes: Vec<Option<(f64, f64, f64)>> = vec![None; d];
    let mut ok = vec![true; d];
    for i in 0..d {
        let (mut lo, mut hi) = (None, None);
        for c in cells {
            match c.pieces[i] {
                Piece::Lower { end, scale } => lo = Some((end, scale)),
                Piece::Upper { start, scale } => hi = Some((start, scale)),
                Piece::Finite { .. } => ok[i] = false,
            }
        }
        if let (Some((e, sl)), Some((st, su))) = (lo, hi)
            && e == st
            && ok[i]
        {
            axes[i] = Some((e, sl, su));
        }
        ok[i] &= axes[i].is_some();
    }
    if !ok.iter().any(|&q| q) {
        return (ok, 0);
    }
    let x0: Vec<f64> = axes.iter().map(|a| a.map_or(0.0, |a| a.0)).collect();
    // Offsets t (in units of the scale on its side) along an axis.
    let step = |i: usize, t: f64| {
        let (_, sl, su) = axes[i].unwrap();
        if t < 0.0 { t * sl } else { t * su }
    };
    // The points: centre, axis lines, pair diagonals; each as a list of (axis, offset).
    let mut pts: Vec<Vec<(usize, f64)>> = vec![vec![]];
    let live: Vec<usize> = (0..d).filter(|&i| ok[i]).collect();
    for &i in &live {
        for t in LINE {
            pts.push(vec![(i, step(i, t))]);
        }
    }
    for (a, &i) in live.iter().enumerate() {
        for &j in &live[a + 1..] {
            for t in PAIR {
                pts.push(vec![(i, step(i, t)), (j, step(j, t))]);
            }
        }
    }
    let n = pts.len();
    let mut xs = vec![0.0; d * n];
    for (l, p) in pts.iter().enumerate() {
        for i in 0..d {
            xs[i * n + l] = x0[i];
        }
        for &(i, dx) in p {
            xs[i * n + l] += dx;
        }
    }
    let ks = k + 1 + d;
    let mut out = vec![0.0; ks * n];
    f(&xs, n, &mut out);
    let lp: Vec<f64> = (0..n).map(|l| out[l * ks + k]).collect();
    if lp.iter().any(|v| !v.is_finite()) {
        return (vec![false; d], n);
    }
    let f0 = lp[0];
    let tol = |v: f64| 0.05 + 1e-6 * v.abs().max(f0.abs());
    let mut at = 1;
    let nl = LINE.len();
    let mut single = vec![vec![0.0; nl]; d];
    for &i in &live {
        let v = &lp[at..at + nl];
        at += nl;
        single[i] = v.to_vec();
        // The parabola through (−¼, f₋), (0, f₀), (¼, f₊) in x, by Lagrange, at the others.
        let (a, b) = (step(i, -0.25), step(i, 0.25));
        let (fa, fb) = (v[3], v[4]);
        let par = |x: f64| {
            fa * (x * (x - b)) / (a * (a - b))
                + f0 * ((x - a) * (x - b)) / (a * b)
                + fb * (x * (x - a)) / (b * (b - a))
        };
        for (q, &t) in LINE.iter().enumerate() {
            if (par(step(i, t)) - v[q]).abs() > tol(v[q]) {
                ok[i] = false;
            }
        }
    }
    for (a, &i) in live.iter().enumerate() {
        for &j in &live[a + 1..] {
            let v = &lp[at..at + PAIR.len()];
            at += PAIR.len();
            // I(t) = f(t, t) − f(t, 0) − f(0, t) + f(0, 0) at each pair offset (all on the line).
            let interaction: Vec<f64> = PAIR
                .iter()
                .zip(v)
                .map(|(&t, &f)| {
                    let p = LINE
                        .iter()
                        .position(|&u| u == t)
                        .expect("pair offsets are on the line");
                    f - single[i][p] - single[j][p] + f0
                })
                .collect();
            // A bilinear I grows as t²: ∓½ against ∓¼, ∓1 against ∓½, ∓4 against ∓1.
            for (q, ratio) in [(2, 4.0), (3, 4.0), (4, 4.0), (5, 4.0), (6, 16.0), (7, 16.0)] {
                if (interaction[q] - ratio * interaction[q - 2]).abs() > tol(v[q]) {
                    ok[i] = false;
                    ok[j] = false;
                }
            }
        }
    }
    (ok, n)
}

/// [`cubature`] with each cell first cut into `m^d` equal regions (`m ≥ 1`): a rough
/// integral (a probe of how an integrand falls off) needs fewer than [`cubature`] uses.
pub fn cubature_from(
    f: &VectorIntegrand,
    cells: &[Cell],
    k: usize,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
    m: usize,
) -> CubatureResult {
    cubature_inner(f, None, cells, k, false, targets, max_evals, m)
}

/// [`cubature_hinted_with`] with each cell first cut into `m^d` equal regions.
pub fn cubature_hinted_from(
    f: &VectorIntegrand,
    branches: Option<&Branches>,
    cells: &[Cell],
    k: usize,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
    m: usize,
) -> CubatureResult {
    cubature_inner(f, branches, cells, k, true, targets, max_evals, m)
}

/// [`cubature_from`], with `hint` as for [`cubature_hinted`].
#[allow(clippy::too_many_arguments)]
fn cubature_inner(
    f: &VectorIntegrand,
    br: Option<&Branches>,
    cells: &[Cell],
    k: usize,
    hint: bool,
    targets: &dyn Fn(&[f64]) -> Vec<f64>,
    max_evals: u64,
    m: usize,
) -> CubatureResult {
    let m = m.max(1);
    let d = cells[0].pieces.len();
    assert!(
        d <= MAX_CUBATURE_DIM,
        "cubature: at most {MAX_CUBATURE_DIM} dimensions"
    );
    let w = gm_weights(d);
    let npts = rule_size(d) as u64;
    // Bound on the first cut: m^d regions per cell only while they fit the evaluation
    // budget (m falls to 1, one rule per cell, which `locate::MAX_CELLS` bounds).
    let mut m = m;
    while m > 1 && (cells.len() as u64).saturating_mul(npts * (m as u64).pow(d as u32)) > max_evals
    {
        m -= 1;
    }
    // Bound on memory: at most `max_regions` regions are stored (see `MEMORY_BUDGET`).
    let max_regions = max_regions(d, k);
    let mut evals = 0u64;
    // The regions, each split region's place taken by its first child; the queue ranks them.
    let mut store = Regions::new(d, k);
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut jobs = vec![];
    for (ci, cell) in cells.iter().enumerate() {
        for idx in 0..m.pow(d as u32) {
            let mut center = [0.0; MAX_CUBATURE_DIM];
            let mut half = [0.0; MAX_CUBATURE_DIM];
            let mut rem = idx;
            for (i, p) in cell.pieces.iter().enumerate() {
                let (a, b) = p.u_range();
                let j = rem % m;
                rem /= m;
                let w = (b - a) / m as f64;
                center[i] = a + (j as f64 + 0.5) * w;
                half[i] = 0.5 * w;
            }
            jobs.push(Job {
                cell: ci,
                d,
                center,
                half,
            });
        }
    }
    // The first regions are ranked with unit targets for the choice of split axis.
    let ones = vec![1.0; k];
    evals += npts * jobs.len() as u64;
    // In batches of FIRST_BATCH regions, so the scratch of points stays small (a batch of all
    // of them needed 580 MB for 4096 cells in 4-D).
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let batch: Vec<Job> = jobs.by_ref().take(FIRST_BATCH).collect();
        let (first, extra) = eval_regions(f, br, cells, batch, k, hint, &w, &ones);
        evals += extra;
        store.append(&first);
    }
    // Running totals, compensated, updated as regions are split: they drift by no more than
    // rounding of the totals themselves (a plain running sum drifts by ulps of the largest
    // total it ever held, which a total a billion times smaller cannot afford, and re-summing
    // the store to mend that cost a tenth of a steep banana's time in cache misses). They
    // only steer the refinement: a run ends on totals re-summed in store order (below).
    let mut running = Running::new(&store);
    let mut tgt = targets(&running.totals()[0]);
    reprioritise(&mut heap, &store, &tgt);
    let mut since = 0usize;
    // (evaluations, worst error over its target, the share of hidden peaks' bounds in the
    // errors) at about every doubling of the evaluations.
    let mut history: Vec<(u64, f64, f64)> = vec![];
    let mut next_mark = evals.max(1);
    let mut stopped = None;
    loop {
        let [vals, errs, floors] = running.totals();
        if since >= 64 {
            // Re-rank every region only when a target has moved by more than 1%: ranking
            // all regions is O(n·k) and, done every 64 splits, cost more than the integrand.
            let new = targets(&vals);
            let moved = new
                .iter()
                .zip(&tgt)
                .any(|(a, b)| (a - b).abs() > 0.01 * b.abs());
            tgt = new;
            if moved {
                reprioritise(&mut heap, &store, &tgt);
            }
            since = 0;
        }
        let done = errs.iter().zip(&tgt).all(|(e, t)| e <= t);
        if !done && evals >= next_mark {
            next_mark = evals.saturating_mul(2);
            let q = errs
                .iter()
                .zip(&tgt)
                .map(|(e, t)| if *t > 0.0 { e / t } else { 0.0 })
                .fold(0.0, f64::max);
            // The share of the error that bounds of hidden peaks make (kept with the rounding
            // floors): while they dominate, the run is still finding where the mass is, and
            // its error may collapse at once (bananas at 1e11 times their targets after 0.9M
            // evaluations converged by 3M).
            let peaks = errs
                .iter()
                .zip(&tgt)
                .zip(&floors)
                .filter(|((e, t), _)| e > t)
                .map(|((e, _), f)| f / e)
                .fold(0.0, f64::max);
            history.push((evals, q, peaks));
            if evals.saturating_mul(8) >= max_evals {
                stopped = stall(&history, max_evals);
            }
        }
        // Bound: every round spends evaluations (or ends: no region left to split), and a
        // round adds at most splits_per_round(d, _) regions, so the run ends by max_evals or
        // by max_regions, whichever comes first.
        let per_round = splits_per_round(d, store.len());
        let full = store.len() + per_round > max_regions || heap.is_empty();
        if done || evals >= max_evals || full {
            let [vals, errs, _] = totals(&store);
            let done = errs.iter().zip(&tgt).all(|(e, t)| e <= t);
            if done || evals >= max_evals || full {
                return CubatureResult {
                    values: vals,
                    errors: errs,
                    evals,
                    converged: done,
                    stopped: None,
                };
            }
        }
        if stopped.is_some() {
            let [vals, errs, _] = totals(&store);
            return CubatureResult {
                values: vals,
                errors: errs,
                evals,
                converged: false,
                stopped,
            };
        }
        let mut parents = Vec::with_capacity(per_round);
        // Bound: splits_per_round(d, _) ≤ 512 parents a round.
        while parents.len() < per_round {
            let Some(top) = heap.pop() else { break };
            running.sub(store.get(top.id as usize));
            parents.push(top.id as usize);
        }
        let mut jobs = Vec::with_capacity(2 * parents.len());
        for &id in &parents {
            let worst = store.get(id);
            let ax = worst.axis;
            let mut h = [0.0; MAX_CUBATURE_DIM];
            h[..d].copy_from_slice(worst.half());
            h[ax] *= 0.5;
            for sgn in [-1.0, 1.0] {
                let mut c = [0.0; MAX_CUBATURE_DIM];
                c[..d].copy_from_slice(worst.center());
                c[ax] += sgn * h[ax];
                jobs.push(Job {
                    cell: worst.cell,
                    d,
                    center: c,
                    half: h,
                });
            }
        }
        evals += npts * jobs.len() as u64;
        let (mut children, extra) = eval_regions(f, br, cells, jobs, k, hint, &w, &tgt);
        evals += extra;
        debug_assert_eq!(children.len(), 2 * parents.len(), "two children per parent");
        for (p, &id) in parents.iter().enumerate() {
            let pair = [2 * p, 2 * p + 1];
            // Error of the children: half the change from the parent's degree-7 value to
            // the children's (an estimate of the parent's own error, so generous for the
            // children), but never below a small share of the children's embedded-rule
            // difference.
            // (That share is the whole difference in a region where the rules show no order
            // of convergence: see `finish_region`.)
            for (j, parent) in store.get(id).est().iter().enumerate() {
                let (a, b) = (children.get(pair[0]), children.get(pair[1]));
                let diff = (parent - (a.est()[j] + b.est()[j])).abs();
                for r in pair {
                    let c = children.get(r);
                    let e = (0.5 * diff).max(c.raw()[j]) + c.floor()[j];
                    children.err_mut(r)[j] = e;
                }
            }
            for (slot, r) in [(id, pair[0]), (store.len(), pair[1])] {
                let r = children.get(r);
                running.add(r);
                heap.push(Ranked {
                    priority: priority(r.err(), &tgt),
                    id: slot as u32,
                });
                store.put(slot, r);
            }
        }
        since += parents.len();
    }
}

/// [`cubature`]'s test for a run that cannot converge in its budget: `history` holds the
/// worst ratio of error to target at about every doubling of the evaluations. When, measured
/// from two and from three doublings back to now, that ratio falls so slowly that reaching 1
/// at the same rate would take more than [`STALL_MARGIN`] times `max_evals` either way, the
/// reason to stop, with the numbers.
fn stall(history: &[(u64, f64, f64)], max_evals: u64) -> Option<String> {
    let n = history.len();
    if n < 4 {
        return None;
    }
    // Only a rule's error that falls, slowly, at every step, with bounds of hidden peaks a
    // small part of it.
    if history[n - 4..]
        .windows(2)
        .any(|w| w[1].1 >= w[0].1 || w[1].2 > PEAK_SHARE_TO_STOP)
    {
        return None;
    }
    let (e1, q1, _) = history[n - 1];
    if !(q1.is_finite() && q1 > 1.0) {
        return None;
    }
    let need = |back: usize| {
        let (e0, q0, _) = history[n - 1 - back];
        let rate = (q0 / q1).ln() / (e1 as f64 / e0 as f64).ln();
        if !q0.is_finite() {
            return (rate, 0.0);
        }
        let need = if rate > 0.0 {
            e1 as f64 * q1.powf(1.0 / rate)
        } else {
            f64::INFINITY
        };
        (rate, need)
    };
    let (r2, n2) = need(2);
    let (_, n3) = need(3);
    let limit = STALL_MARGIN * max_evals as f64;
    if !(n2 > limit && n3 > limit) {
        return None;
    }
    let (e0, q0, _) = history[n - 3];
    let how = if r2 > 0.0 {
        format!(
            "fell from {q0:.3e} to {q1:.3e} times the tolerance's target between {e0} and {e1} evaluations (as evaluations^-{r2:.2}), at which rate reaching the tolerance would take about {:.1e} evaluations",
            n2.min(n3)
        )
    } else {
        format!(
            "did not fall between {e0} and {e1} evaluations ({q0:.3e}, then {q1:.3e} times the tolerance's target)"
        )
    };
    Some(format!(
        "the cubature stopped after {e1} of its {max_evals} evaluations: its error {how}"
    ))
}

/// A region to evaluate.
struct Job {
    cell: usize,
    d: usize,
    center: [f64; MAX_CUBATURE_DIM],
    half: [f64; MAX_CUBATURE_DIM],
}

/// Evaluate regions, in parallel when there is enough work; the output is in job order.
/// The points of several regions go to the integrand in one batch. How the regions are
/// grouped depends on the number of threads, but no value does: each point's integrand
/// values are the same in any batch.
#[allow(clippy::too_many_arguments)]
fn eval_regions(
    f: &VectorIntegrand,
    br: Option<&Branches>,
    cells: &[Cell],
    jobs: Vec<Job>,
    k: usize,
    hint: bool,
    w: &GmWeights,
    tgt: &[f64],
) -> (Regions, u64) {
    use rayon::prelude::*;
    let d = cells[0].pieces.len();
    let npts = rule_size(d);
    // On one thread, one batch: an integrand that pays per call (a Python function) gets
    // the points of all the regions at once.
    if jobs.len() * npts < PARALLEL_POINTS || rayon::current_num_threads() == 1 {
        let mut s = Scratch::new(k, tgt);
        return eval_batch_of_regions(f, br, cells, jobs, k, hint, w, &mut s);
    }
    let per = jobs
        .len()
        .div_ceil(4 * rayon::current_num_threads())
        .max(PARALLEL_POINTS.div_ceil(4 * npts));
    let mut groups: Vec<Vec<Job>> = vec![];
    let mut it = jobs.into_iter().peekable();
    // Bound: one group per `per` jobs (each pass takes at least one).
    while it.peek().is_some() {
        groups.push(it.by_ref().take(per).collect());
    }
    let done: Vec<(Regions, u64)> = groups
        .into_par_iter()
        .map_init(
            || Scratch::new(k, tgt),
            |s, g| eval_batch_of_regions(f, br, cells, g, k, hint, w, s),
        )
        .collect();
    let extra = done.iter().map(|g| g.1).sum();
    let mut all = Regions::new(d, k);
    for (g, _) in &done {
        all.append(g);
    }
    (all, extra)
}

/// The totals over the store of the regions' estimates, errors and floors, compensated
/// (thousands of regions would otherwise lose ~N·ε), in one pass over the store's one
/// allocation, in store order.
fn totals(store: &Regions) -> [Vec<f64>; 3] {
    Running::new(store).totals()
}

/// The store's totals kept up as regions leave and enter it (see [`totals`]).
struct Running {
    k: usize,
    /// The estimates', errors' and floors' sums, `k` each.
    acc: Vec<Neumaier>,
}

impl Running {
    fn new(store: &Regions) -> Self {
        let mut run = Running {
            k: store.k,
            acc: vec![Neumaier::default(); 3 * store.k],
        };
        for r in store.iter() {
            run.add(r);
        }
        run
    }
    fn add(&mut self, r: Region) {
        self.apply(r, 1.0);
    }
    fn sub(&mut self, r: Region) {
        self.apply(r, -1.0);
    }
    fn apply(&mut self, r: Region, sign: f64) {
        let k = self.k;
        let parts = [r.est(), r.err(), r.floor()];
        for (acc, part) in self.acc.chunks_exact_mut(k).zip(parts) {
            for (a, v) in acc.iter_mut().zip(part) {
                a.add(sign * v);
            }
        }
    }
    fn totals(&self) -> [Vec<f64>; 3] {
        let mut t = self.acc.iter().map(|a| a.total());
        [0, 1, 2].map(|_| t.by_ref().take(self.k).collect())
    }
}

fn priority(err: &[f64], tgt: &[f64]) -> f64 {
    err.iter()
        .zip(tgt)
        .map(|(e, t)| if *t > 0.0 { e / t } else { *e * 1e300 })
        .fold(0.0, f64::max)
}

fn reprioritise(heap: &mut BinaryHeap<Ranked>, store: &Regions, tgt: &[f64]) {
    let ranked: Vec<Ranked> = store
        .iter()
        .enumerate()
        .map(|(id, r)| Ranked {
            priority: priority(r.err(), tgt),
            id: id as u32,
        })
        .collect();
    *heap = BinaryHeap::from(ranked);
}

/// Per-thread working memory of [`eval_region`], reused from region to region.
struct Scratch {
    /// The points of a batch of regions, coordinate-major: `xs[v * n + l]`.
    xs: Vec<f64>,
    /// `|dx/du|` at each point.
    jac: Vec<f64>,
    /// The integrand's values, point-major.
    out: Vec<f64>,
    s2: Vec<f64>,
    s3: Vec<f64>,
    s4: Vec<f64>,
    s5: Vec<f64>,
    abs: Vec<f64>,
    p2: Vec<f64>,
    m2: Vec<f64>,
    /// Error targets, for weighing the components in the choice of split axis.
    tgt: Vec<f64>,
}

impl Scratch {
    fn new(k: usize, tgt: &[f64]) -> Self {
        Scratch {
            xs: vec![],
            jac: vec![],
            out: vec![],
            s2: vec![0.0; k],
            s3: vec![0.0; k],
            s4: vec![0.0; k],
            s5: vec![0.0; k],
            abs: vec![0.0; k],
            p2: vec![0.0; k],
            m2: vec![0.0; k],
            tgt: tgt
                .iter()
                .map(|t| if *t > 0.0 { *t } else { f64::MIN_POSITIVE })
                .collect(),
        }
    }
}

/// The rule's points for the region, in the order the sums take them: the centre; per axis
/// `±λ2` then `±λ3`; per pair of axes the four `±λ4` points; the `2^d` vertices at `λ5`.
fn rule_points(center: &[f64], half: &[f64], mut put: impl FnMut(&[f64])) {
    let d = center.len();
    let mut u = [0.0; MAX_CUBATURE_DIM];
    let u = &mut u[..d];
    u.copy_from_slice(center);
    put(u);
    for i in 0..d {
        for lambda in [L2, L3] {
            for sg in [-1.0, 1.0] {
                u.copy_from_slice(center);
                u[i] += sg * lambda * half[i];
                put(u);
            }
        }
    }
    for i in 0..d {
        for j in (i + 1)..d {
            for si in [-1.0, 1.0] {
                for sj in [-1.0, 1.0] {
                    u.copy_from_slice(center);
                    u[i] += si * L4 * half[i];
                    u[j] += sj * L4 * half[j];
                    put(u);
                }
            }
        }
    }
    for mask in 0..(1usize << d) {
        for i in 0..d {
            let sg = if mask >> i & 1 == 1 { 1.0 } else { -1.0 };
            u[i] = center[i] + sg * L5 * half[i];
        }
        put(u);
    }
}

/// The rule's points in `d` dimensions in units of the half-widths, and its lines: per axis,
/// the groups of at least two points that differ only in that coordinate, in increasing
/// order along it.
struct RuleGeometry {
    offsets: Vec<[f64; MAX_CUBATURE_DIM]>,
    lines: Vec<(usize, Vec<usize>)>,
}

fn rule_geometry(d: usize) -> &'static RuleGeometry {
    static GEOM: [std::sync::OnceLock<RuleGeometry>; MAX_CUBATURE_DIM + 1] =
        [const { std::sync::OnceLock::new() }; MAX_CUBATURE_DIM + 1];
    GEOM[d].get_or_init(|| {
        let mut offsets = vec![];
        rule_points(&vec![0.0; d], &vec![1.0; d], |u| {
            let mut o = [0.0; MAX_CUBATURE_DIM];
            o[..d].copy_from_slice(u);
            offsets.push(o);
        });
        let mut lines = vec![];
        for axis in 0..d {
            let mut seen = vec![false; offsets.len()];
            for a in 0..offsets.len() {
                if seen[a] {
                    continue;
                }
                let same = |b: usize| (0..d).all(|i| i == axis || offsets[a][i] == offsets[b][i]);
                let mut line: Vec<usize> = (a..offsets.len()).filter(|&b| same(b)).collect();
                for &b in &line {
                    seen[b] = true;
                }
                if line.len() >= 2 {
                    line.sort_by(|&p, &q| offsets[p][axis].total_cmp(&offsets[q][axis]));
                    lines.push((axis, line));
                }
            }
        }
        RuleGeometry { offsets, lines }
    })
}

/// How far above its points a region's weight may rise, in `log`, before the region counts
/// as hiding a peak (`e²`: a maximum the rule's points see at all keeps its flanks within a
/// few units of it, and then the rules' difference measures it).
const HIDDEN_PEAK_LOG: f64 = 2.0;

/// [`cubature_hinted`]'s test for a peak between a region's points. `out` holds the points'
/// `k + 1 + d` values (integrands, `log p̃`, `∇_x log p̃`) before the map's Jacobian, `xs`
/// the batch's points (coordinate-major; this region's from point `at`), `jacs` the
/// Jacobians. Along each line of the rule, `log p̃` is modelled by the parabola in `x`
/// that its slopes at two neighbouring points
/// define (the exact shape across a Gaussian ridge); its maximum between them, or beyond the
/// outermost point up to the region's edge, capped at `log p̃_max` (0), is a candidate peak,
/// weighed by the map's Jacobian there. Returns, when the highest candidate exceeds every
/// point's `log(p̃·|dx/du|)` by more than [`HIDDEN_PEAK_LOG`], per component that height times
/// the largest ratio of the integrand to `p̃` at the points (what the region may hold per unit
/// volume of `u`); else `None`.
// A NaN must fail every `!(a > b)` test here, which `a <= b` would not.
#[allow(clippy::too_many_arguments, clippy::neg_cmp_op_on_partial_ord)]
fn hidden_peak(
    out: &[f64],
    xs: &[f64],
    at: usize,
    jacs: &[f64],
    pieces: &[Piece],
    center: &[f64],
    half: &[f64],
    k: usize,
    d: usize,
) -> Option<Candidate> {
    let geom = rule_geometry(d);
    let ks = k + 1 + d;
    let lp = |l: usize| out[l * ks + k];
    let mut best = f64::NEG_INFINITY;
    for (l, j) in jacs.iter().enumerate() {
        best = best.max(lp(l) + j.ln());
    }
    if best.is_nan() || best == f64::INFINITY {
        return None;
    }
    // log(p̃·J) at a candidate `x` on axis i through point `l`: its log p̃ `v` (at most
    // log p̃_max = 0) and point l's Jacobian with axis i's factor moved there.
    let weigh = |l: usize, i: usize, x: f64, v: f64| {
        let own = pieces[i].map(center[i] + geom.offsets[l][i] * half[i]).1;
        let (lo, hi) = (center[i] - half[i], center[i] + half[i]);
        let u = pieces[i].inverse(x).clamp(lo, hi - 1e-9 * (hi - lo));
        let there = pieces[i].map(u).1;
        v.min(0.0) + (jacs[l] / own * there).ln()
    };
    let mut peak = f64::NEG_INFINITY;
    // The candidates above the points: (through point l, at x on axis i), with, between two
    // points, the bracket (x_lo, slope there > 0, x_hi, slope < 0), or what lies beyond the
    // outermost point.
    type Bracket = Option<(f64, f64, f64, f64)>;
    let mut found: Vec<(usize, usize, f64, Bracket, Option<Beyond>)> = vec![];
    let mut note = |v: f64, l: usize, i: usize, x: f64, br, ed, peak: &mut f64| {
        *peak = peak.max(v);
        if v > best + HIDDEN_PEAK_LOG {
            found.push((l, i, x, br, ed));
        }
    };
    for (axis, line) in &geom.lines {
        let i = *axis;
        // Positions and slopes along x measured in the direction of increasing u (a lower
        // infinite piece runs backwards).
        let o = if matches!(pieces[i], Piece::Lower { .. }) {
            -1.0
        } else {
            1.0
        };
        let stride = xs.len() / d;
        let xat = |l: usize| o * xs[i * stride + at + l];
        let g = |l: usize| o * out[l * ks + k + 1 + i];
        for w in line.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (la, lb) = (lp(a), lp(b));
            let (ga, gb) = (g(a), g(b));
            if !(la.is_finite() && lb.is_finite() && ga.is_finite() && gb.is_finite()) {
                continue;
            }
            if ga > 0.0 && gb < 0.0 {
                // The parabola in x with slopes ga at x_a and gb at x_b: curvature −c.
                let c = (ga - gb) / (xat(b) - xat(a));
                // The parabola's top, or, higher, where the two tangents meet: a bound on a
                // concave log p̃ between the points, which the parabola is not on a quartic
                // (its slopes grow as the cube of the distance and fake a curvature far
                // above the ridge's own).
                let xm = (lb - la + ga * xat(a) - gb * xat(b)) / (ga - gb);
                let tangents = la + ga * (xm - xat(a));
                let v = (la + ga * ga / (2.0 * c))
                    .max(lb + gb * gb / (2.0 * c))
                    .max(if tangents.is_nan() {
                        f64::NEG_INFINITY
                    } else {
                        tangents
                    });
                // The Jacobian between two points of a line lies between theirs.
                if v.min(0.0) + jacs[a].max(jacs[b]).ln() <= best + HIDDEN_PEAK_LOG {
                    continue;
                }
                let x = o * (xat(a) + ga / c);
                let wv = weigh(a, i, x, v).max(weigh(b, i, x, v));
                // In x itself (a lower infinite piece runs backwards in u).
                let (xa, xb) = (o * xat(a), o * xat(b));
                let (ra, rb) = (o * ga, o * gb);
                let br = if xa < xb {
                    (xa, ra, xb, rb)
                } else {
                    (xb, rb, xa, ra)
                };
                note(wv, a, i, x, Some(br), None, &mut peak);
            }
        }
        // Beyond the outermost points, up to the region's edge, where log p̃ rises.
        for (end, prev, dir) in [
            (line[line.len() - 1], line[line.len() - 2], 1.0),
            (line[0], line[1], -1.0),
        ] {
            let (le, ge, gp) = (lp(end), dir * g(end), dir * g(prev));
            if !(le.is_finite() && ge.is_finite() && gp.is_finite()) || ge <= 0.0 {
                continue;
            }
            let (xe, xp) = (xat(end), xat(prev));
            let c = (gp - ge) / (dir * (xe - xp));
            if c.is_nan() {
                continue;
            }
            let u_edge = center[i] + dir * half[i];
            let edge = if u_edge >= 1.0 && !matches!(pieces[i], Piece::Finite { .. }) {
                f64::INFINITY
            } else {
                o * pieces[i].map(u_edge).0
            };
            let reach = dir * (edge - xe);
            // A convex rise towards an infinite edge cannot go on (p̃ is integrable): a peak
            // there shows as slopes of both signs once the region is split.
            if c <= 0.0 && reach == f64::INFINITY {
                continue;
            }
            let (t, v) = if c > 0.0 {
                let t = (ge / c).min(reach);
                // The tangent at the outermost point, followed to the edge, bounds a concave
                // log p̃ there; the parabola through two far slopes does not (a rotated
                // banana's ridge 0.6 beyond the last point, e^-22 above the points, was
                // predicted 30 below).
                (t, (le + ge * t - 0.5 * c * t * t).max(le + ge * reach))
            } else {
                // Where the slope grows towards the edge (log p̃ convex, as on a banana's far
                // flank, quadratic in the distance to a ridge that is quadratic in x), nothing
                // the points show bounds the rise. (A 3-D banana's region x ∈ [0.44, 6.32],
                // y ∈ [−13.4, −12.9] rose from e^-28 at its points to e^-15 at its edge, with
                // the ridge just beyond: it held 4.4e-4 of lhs_x, 1e11 times what it
                // reported.) The parabola through the two slopes, followed to the edge, is
                // only a prediction (a quartic rises faster), which a probe there confirms
                // or not; between the modes of a mixture, where log p̃ is convex too and the
                // points see the mass, it predicts little and costs no probe (a 2-D mixture's
                // check made 511 calls of a Python integrand when every convex rise was probed,
                // 451 with this prediction).
                (reach, le + ge * reach - 0.5 * c * reach * reach)
            };
            // Towards smaller u the Jacobian does not grow.
            let grows = dir > 0.0 && !matches!(pieces[i], Piece::Finite { .. });
            if !grows && v.min(0.0) + jacs[end].ln() <= best + HIDDEN_PEAK_LOG {
                continue;
            }
            let x = o * (xe + dir * t);
            let ed = Some(Beyond {
                x: o * xe,
                slope: o * dir * ge,
                edge: o * edge,
                convex: c <= 0.0,
            });
            note(weigh(end, i, x, v), end, i, x, None, ed, &mut peak);
        }
    }
    if !(peak > best + HIDDEN_PEAK_LOG) {
        return None;
    }
    // The curvature of −log p̃ in x along each axis (0: none shown), which bounds the
    // crest's rise along it.
    // Only where log p̃ is, as far as every point of the rule sees, a parabola in coordinate
    // i alone (∂ᵢ log p̃ = gᵢ(centre) − cᵢ·(xᵢ − xᵢ(centre)) at every point, as in a Gaussian
    // coordinate, to 0.1%): then the crest, too, rises along i by at most that parabola.
    // Where ∂ᵢ depends on the other coordinates (a Rosenbrock ridge: ∂_y log p̃ ∝ y − bx²),
    // the crest moves as it rises and no curvature along i bounds it (Z 4.9e-10 off with an
    // error of 2.4e-10 when one did).
    let mut curv = [0.0f64; MAX_CUBATURE_DIM];
    let stride = xs.len() / d;
    let npts = jacs.len();
    for (i, ci) in curv.iter_mut().enumerate().take(d) {
        let xv = |l: usize| xs[i * stride + at + l];
        let gv = |l: usize| out[l * ks + k + 1 + i];
        let (lo, hi) = (1 + 4 * i + 2, 1 + 4 * i + 3);
        let c = -(gv(hi) - gv(lo)) / (xv(hi) - xv(lo));
        if !(c.is_finite() && c > 0.0) {
            continue;
        }
        let scale = gv(0).abs() + c * (xv(hi) - xv(lo)).abs();
        let fits = (0..npts).all(|l| {
            let pred = gv(0) - c * (xv(l) - xv(0));
            (gv(l) - pred).abs() <= 1e-3 * scale
        });
        if fits {
            *ci = c;
        }
    }
    // Every candidate is probed. Their number is bounded by the rule's lines (at most
    // ⌈(n−1)/2⌉ brackets and 2 edges on a line of n points: 32, 84 and 184 in 2-D, 3-D and
    // 4-D, `candidates_per_region_are_bounded_by_the_rule_lines`), and each probe by
    // PROBE_ROUNDS. Probing only the 6 highest missed a banana's far ridge in 4-D: a region
    // of the first cut, x ∈ [6.3, ∞) × y ∈ (−∞, −4.8], held 6.1e-5 of Z (the ridge's arm
    // at u₁ < −3.6) and reported 1.8e-11 ± 1.2e-11, because the highest predictions were
    // where the map's Jacobian is largest (u → 1: e^14 there), parabolas through slopes of
    // 1e6 whose probes found e^-590; the bracket on the line at x = −λ₃ that confirms
    // log(p̃·J) = 2.7, e^18 above the points, ranked below them. Z of
    // tests/data/banana_4d_steep.toml was 4.0e-5 (relative) below the truth with an error of
    // 3.6e-6.
    let at = found
        .iter()
        .map(|&(l, i, x, bracket, beyond)| {
            let mut u = [0.0; MAX_CUBATURE_DIM];
            for (v, uv) in u.iter_mut().enumerate().take(d) {
                *uv = center[v] + geom.offsets[l][v] * half[v];
            }
            let (lo, hi) = (center[i] - half[i], center[i] + half[i]);
            u[i] = pieces[i].inverse(x).clamp(lo, hi - 1e-9 * (hi - lo));
            Probe {
                u,
                axis: i,
                x,
                bracket,
                beyond,
                side: 0,
                lo,
                hi,
            }
        })
        .collect();
    Some(Candidate { at, best, curv })
}

/// One candidate point of [`hidden_peak`]: at `u` (coordinate `axis` at `x`), with the
/// bracket of slopes it came from, if any, and the region's extent along that axis in `u`.
#[derive(Clone, Copy)]
struct Probe {
    u: [f64; MAX_CUBATURE_DIM],
    axis: usize,
    x: f64,
    bracket: Option<(f64, f64, f64, f64)>,
    /// For a candidate beyond the outermost point.
    beyond: Option<Beyond>,
    /// Which end of the bracket the last refinement moved (1 low, −1 high, 0 none yet).
    side: i8,
    lo: f64,
    hi: f64,
}

/// Where a [`Probe`] beyond a region's outermost point on its line started from: that point's
/// `x` and slope (towards the edge), the region's edge in `x`, and whether `log p̃` was convex
/// between the last two points (a flank rising to the edge, not a crest).
#[derive(Clone, Copy)]
struct Beyond {
    x: f64,
    slope: f64,
    edge: f64,
    convex: bool,
}

/// Rounds of refinement of a bracketed candidate that the integrand does not confirm: the
/// slope there replaces the bracket's end of its sign and the next point is the parabola's
/// vertex again (regula falsi on the slope), for ridges whose shape across the line is not
/// a parabola (the steep flank of a Rosenbrock ridge seen along x).
const PROBE_ROUNDS: usize = 12;

/// Points where [`hidden_peak`] expects `p̃·|dx/du|` above `e^best`, the most the region's
/// points saw; a region counts as hiding mass only once the integrand at one of them confirms
/// it.
struct Candidate {
    at: Vec<Probe>,
    best: f64,
    /// Per axis, the curvature of `−log p̃` the region's points show, where they show it a
    /// parabola in that coordinate alone (0: none).
    curv: [f64; MAX_CUBATURE_DIM],
}

/// Map the point `u` of a cell with `pieces` to `x`, stored as point `l` of a batch of `n`
/// (`xs[i * n + l]`); returns `|dx/du|` there.
fn map_point(pieces: &[Piece], u: &[f64], xs: &mut [f64], n: usize, l: usize) -> f64 {
    let mut jac = 1.0;
    for (i, p) in pieces.iter().enumerate() {
        let (x, j) = p.map(u[i]);
        xs[i * n + l] = x;
        jac *= j;
    }
    jac
}

/// Evaluate a batch of regions: all their points in one call of the integrand.
#[allow(clippy::too_many_arguments)]
fn eval_batch_of_regions(
    f: &VectorIntegrand,
    br: Option<&Branches>,
    cells: &[Cell],
    jobs: Vec<Job>,
    k: usize,
    hint: bool,
    w: &GmWeights,
    s: &mut Scratch,
) -> (Regions, u64) {
    let Some(first) = jobs.first() else {
        return (Regions::new(0, k), 0);
    };
    let d = first.d;
    let npts = rule_size(d);
    let n = npts * jobs.len();
    s.xs.resize(d * n, 0.0);
    s.jac.resize(n, 0.0);
    let ks = if hint { k + 1 + d } else { k };
    s.out.resize(ks * n, 0.0);
    // Map the rule's points to x, then evaluate them all at once.
    let mut l = 0;
    for job in &jobs {
        let pieces = &cells[job.cell].pieces;
        rule_points(&job.center[..d], &job.half[..d], |u| {
            s.jac[l] = map_point(pieces, u, &mut s.xs, n, l);
            l += 1;
        });
    }
    debug_assert_eq!(l, n);
    f(&s.xs, n, &mut s.out);
    // Per region, the integrands that change branch inside it (none without `br`).
    let (touched, beyond) = match br {
        Some(br) if br.count > 0 => branches_seen(br, cells, &jobs, &s.xs, k),
        _ => (vec![], vec![]),
    };
    // Where only corners see a switch, the points all see one branch: the integrand at a
    // corner beyond it (pulled in by 0.1% of the half-width) measures the jump.
    let mut extra = 0u64;
    let mut beyond_vals = vec![f64::NAN; beyond.len() * k];
    let probes: Vec<(usize, usize)> = beyond
        .iter()
        .enumerate()
        .filter_map(|(r, b)| b.map(|(q, _)| (r, q)))
        .collect();
    if !probes.is_empty() {
        let m = probes.len();
        let mut px = vec![0.0; d * m];
        let mut pj = vec![1.0; m];
        for (l, &(r, q)) in probes.iter().enumerate() {
            let job = &jobs[r];
            let mut u = [0.0; MAX_CUBATURE_DIM];
            for (i, ui) in u.iter_mut().enumerate().take(d) {
                let sg = if q >> i & 1 == 1 { 1.0 } else { -1.0 };
                *ui = job.center[i] + sg * 0.999 * job.half[i];
            }
            pj[l] = map_point(&cells[job.cell].pieces, &u[..d], &mut px, m, l);
        }
        let mut po = vec![0.0; ks * m];
        f(&px, m, &mut po);
        extra += m as u64;
        for (l, &(r, _)) in probes.iter().enumerate() {
            for j in 0..k {
                let v = po[l * ks + j];
                beyond_vals[r * k + j] = if v == 0.0 { 0.0 } else { v * pj[l] };
            }
        }
    }
    let mut regions = Regions::with_capacity(d, k, jobs.len());
    let mut cands = vec![];
    for (r, job) in jobs.into_iter().enumerate() {
        let pieces = &cells[job.cell].pieces;
        let t = touched
            .get(r * k..(r + 1) * k)
            .map(|t| (t, &beyond_vals[r * k..(r + 1) * k]));
        let cand = finish_region(job, pieces, r * npts, npts, k, hint, w, t, s, &mut regions);
        if let Some(&Some((_, Some(axis)))) = beyond.get(r) {
            regions.set_axis(r, axis);
        }
        if let Some(c) = cand {
            cands.push((r, c));
        }
    }
    if cands.is_empty() {
        return (regions, extra);
    }
    // The integrand at each region's candidate peak, all in one call: where it confirms a
    // peak above what the region's points saw, the region may hold its volume at that height
    // (on top of the rule's error; kept with the rounding floor, so a split region's children
    // carry their own).
    // Per region, its highest confirmed candidate: (log(p̃·J), J, the integrand values, the
    // probe's axis, the factor by which the crest may rise above p̃ there).
    type Top = Option<(f64, f64, Vec<f64>, usize, f64)>;
    let mut top: Vec<Top> = vec![None; cands.len()];
    let mut pending: Vec<(usize, Probe)> = cands
        .iter()
        .enumerate()
        .flat_map(|(c, (_, cand))| cand.at.iter().map(move |p| (c, *p)))
        .collect();
    for _ in 0..=PROBE_ROUNDS {
        if pending.is_empty() {
            break;
        }
        let m = pending.len();
        extra += m as u64;
        let mut xs = vec![0.0; d * m];
        let mut jac = vec![1.0; m];
        for (l, (c, pr)) in pending.iter().enumerate() {
            let pieces = &cells[regions.get(cands[*c].0).cell].pieces;
            jac[l] = map_point(pieces, &pr.u[..d], &mut xs, m, l);
        }
        let mut out = vec![0.0; ks * m];
        f(&xs, m, &mut out);
        let mut next = vec![];
        for (l, (c, pr)) in pending.iter().enumerate() {
            let o = &out[l * ks..(l + 1) * ks];
            let lw = o[k] + jac[l].ln();
            // A probe above what the points saw confirms a peak; its height there is only a
            // lower bound on the peak's, so a bracketed probe is refined on towards the top
            // either way (a confirmation on the flank, e^-245 where the top was e^-20, left a
            // banana's far ridge with 4e-8 of E|x|² and an error of 1e-104).
            if lw > cands[*c].1.best + HIDDEN_PEAK_LOG
                && jac[l].is_finite()
                && top[*c].as_ref().is_none_or(|t| lw > t.0)
            {
                // The probe sits on the ridge's crest where this line crosses it; along the
                // other axes the crest may rise towards the region's edge (a banana's ridge
                // across a region long in u₂ was e^-180 where the line met it and e^-16 at
                // the region's lower edge). Its tangent, followed to the edge, bounds a
                // concave crest from above: log p̃ + Σ|∂ᵢ log p̃|·(distance to the edge
                // uphill), capped at log p̃_max. Where the region's points show log p̃ a
                // parabola of curvature cᵢ in coordinate i alone (`hidden_peak`), that
                // parabola bounds it tighter: |gᵢ|t − cᵢt²/2 with t = min(|gᵢ|/cᵢ,
                // distance) (the straight line made a plain Gaussian's regions count up to
                // e^6 times their mass: 4-D benchmark 4.29M → 5.01M evaluations).
                let curv = &cands[*c].1.curv;
                let reg = regions.get(cands[*c].0);
                let pieces = &cells[reg.cell].pieces;
                let mut rise = 0.0;
                for i in (0..d).filter(|&i| i != pr.axis) {
                    let gi = o[k + 1 + i];
                    let ue = reg.center()[i] + gi.signum() * reg.half()[i];
                    let xe = if ue >= 1.0 && !matches!(pieces[i], Piece::Finite { .. }) {
                        f64::INFINITY
                    } else {
                        (pieces[i].map(ue).0 - xs[i * m + l]).abs()
                    };
                    let ci = curv[i];
                    rise += if gi == 0.0 {
                        0.0
                    } else if ci > 0.0 {
                        let t = (gi.abs() / ci).min(xe);
                        gi.abs() * t - 0.5 * ci * t * t
                    } else {
                        gi.abs() * xe
                    };
                }
                // A probe on a convex flank (beyond the outermost point, where the slope grew
                // towards the edge) is weighed at the height it confirmed alone: tangents
                // there, of slopes in the hundreds, bound nothing useful, and splitting
                // brings points to the edge. (Without the lift on every edge probe, a 2-D
                // banana's Z was 1.2e-8 off with an error of 4e-10: concave edges keep it.)
                let flank = pr.bracket.is_none() && pr.beyond.is_some_and(|b| b.convex);
                let lift = if rise.is_nan() || flank {
                    0.0
                } else {
                    rise.min(-o[k]).max(0.0)
                };
                top[*c] = Some((lw, jac[l], o[..k].to_vec(), pr.axis, lift.exp()));
            }
            let g = o[k + 1 + pr.axis];
            let pieces = &cells[regions.get(cands[*c].0).cell].pieces;
            let at_x = |x: f64, pr: &Probe| {
                let mut u = pr.u;
                u[pr.axis] = pieces[pr.axis]
                    .inverse(x)
                    .clamp(pr.lo, pr.hi - 1e-9 * (pr.hi - pr.lo));
                u
            };
            if let (None, Some(by)) = (pr.bracket, pr.beyond) {
                let Beyond {
                    x: xe,
                    slope: ge,
                    edge,
                    ..
                } = by;
                // Beyond the outermost point: a slope of the other sign brackets the peak
                // between the two; the same sign moves on towards the edge.
                if !g.is_finite() || !ge.is_finite() || pr.x == xe {
                    continue;
                }
                let ((xa, ga), (xb, gb)) = if xe < pr.x {
                    ((xe, ge), (pr.x, g))
                } else {
                    ((pr.x, g), (xe, ge))
                };
                let probe = if ga > 0.0 && gb < 0.0 {
                    let x = xa + ga * (xb - xa) / (ga - gb);
                    Probe {
                        u: at_x(x, pr),
                        x,
                        bracket: Some((xa, ga, xb, gb)),
                        beyond: None,
                        ..*pr
                    }
                } else if (g > 0.0) == (ge > 0.0) && pr.x != edge {
                    let x = if edge.is_finite() {
                        edge
                    } else {
                        pr.x + 4.0 * (pr.x - xe)
                    };
                    Probe {
                        u: at_x(x, pr),
                        x,
                        beyond: Some(Beyond {
                            x: pr.x,
                            slope: g,
                            ..by
                        }),
                        ..*pr
                    }
                } else {
                    continue;
                };
                next.push((*c, probe));
                continue;
            }
            let Some((xl, gl, xh, gh)) = pr.bracket else {
                continue;
            };
            if !g.is_finite() || pr.x <= xl || pr.x >= xh {
                continue;
            }
            // Illinois: when the same end of the bracket moves twice running, the slope kept
            // at the other end is halved, so the steep side of a non-parabolic ridge (a
            // quartic's slopes of 4e8 against 50) does not pin the secant to one end.
            let (xl, gl, xh, gh, side) = if g > 0.0 {
                let gh = if pr.side > 0 { 0.5 * gh } else { gh };
                (pr.x, g, xh, gh, 1)
            } else {
                let gl = if pr.side < 0 { 0.5 * gl } else { gl };
                (xl, gl, pr.x, g, -1)
            };
            let x = xl + gl * (xh - xl) / (gl - gh);
            if !(xl < x && x < xh) || (xh - xl) <= 1e-12 * x.abs().max(1e-300) {
                continue;
            }
            let u = at_x(x, pr);
            next.push((
                *c,
                Probe {
                    u,
                    x,
                    bracket: Some((xl, gl, xh, gh)),
                    side,
                    ..*pr
                },
            ));
        }
        pending = next;
    }
    for (c, t) in top.iter().enumerate() {
        let Some((_, jac, o, axis, lift)) = t else {
            continue;
        };
        let r = cands[c].0;
        // The region is split across the peak: along the line its points missed it on. Split
        // along the axis of the largest fourth difference instead, a region 1e-5 wide in u₁
        // and 0.03 long in u₂ was halved 16 times across a ridge that ran along u₂ and kept
        // 4e-6 of E|x|² unseen (errors of 1e-10 added each time, halving with the volume).
        regions.set_axis(r, *axis);
        let vol: f64 = regions.get(r).half().iter().map(|h| 2.0 * h).product();
        let h: Vec<f64> = o.iter().map(|oj| vol * jac * oj.abs() * lift).collect();
        let add = |part: &mut [f64]| {
            for (v, h) in part.iter_mut().zip(&h) {
                if h.is_finite() {
                    *v += h;
                }
            }
        };
        add(regions.floor_mut(r));
        add(regions.err_mut(r));
    }
    (regions, extra)
}

/// How a region meets the switches that change an integrand.
#[derive(Clone, Copy, Default)]
struct Across {
    /// Its points are on two branches of a switch: their values hold the jump.
    points: bool,
    /// Only its corners are, for a switch: it passes beyond the outermost points, which all
    /// see one branch, so their values say nothing of the jump.
    corners: bool,
}

/// A corner beyond a switch that only a region's corners see (its bits: 1 for the upper side
/// of each axis), and the axis to split the region across the switch, if one is found.
type CornerBeyond = (usize, Option<usize>);

/// Per region of `jobs` (whose rule points are `xs`), for each of the `k` integrands, how the
/// region meets the switches of `br` that change it ([`Across`]; a corner at infinity is
/// taken a millionth of the half-width inside), and, where only corners see a switch, a corner beyond
/// it (its bits: 1 for the upper side of each axis) and the axis to split across it. The
/// corners make the test exact for a switch linear in the coordinates: a plane meets a box
/// only if it separates two of its corners.
fn branches_seen(
    br: &Branches,
    cells: &[Cell],
    jobs: &[Job],
    xs: &[f64],
    k: usize,
) -> (Vec<Across>, Vec<Option<CornerBeyond>>) {
    let Some(first) = jobs.first() else {
        return (vec![], vec![]);
    };
    let d = first.d;
    let npts = rule_size(d);
    let n = npts * jobs.len();
    let nc = 1usize << d;
    let m = nc * jobs.len();
    let mut cx = vec![0.0; d * m];
    for (r, job) in jobs.iter().enumerate() {
        let pieces = &cells[job.cell].pieces;
        for mask in 0..nc {
            for (i, p) in pieces.iter().enumerate() {
                let sg = if mask >> i & 1 == 1 { 1.0 } else { -1.0 };
                // A corner at infinity stands in by a far point inside: a line at a small
                // slope to an axis crosses a region reaching infinity only far out.
                let x = p.map(job.center[i] + sg * job.half[i]).0;
                cx[i * m + r * nc + mask] = if x.is_finite() {
                    x
                } else {
                    p.map(job.center[i] + sg * (1.0 - 1e-6) * job.half[i]).0
                };
            }
        }
    }
    let c = br.count;
    let mut at_points = vec![0.0; n * c];
    (br.eval)(xs, n, &mut at_points);
    let mut at_corners = vec![0.0; m * c];
    (br.eval)(&cx, m, &mut at_corners);
    // The least and largest branch of switch `sw` among `vals` (NaN left out).
    let range = |vals: &[f64], sw: usize| {
        vals.iter()
            .skip(sw)
            .step_by(c)
            .filter(|b| !b.is_nan())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &b| {
                (lo.min(b), hi.max(b))
            })
    };
    let mut out = vec![Across::default(); jobs.len() * k];
    let mut axes = vec![None; jobs.len()];
    for r in 0..jobs.len() {
        for sw in 0..c {
            let (plo, phi) = range(&at_points[r * npts * c..(r + 1) * npts * c], sw);
            let corners = &at_corners[r * nc * c..(r + 1) * nc * c];
            let (clo, chi) = range(corners, sw);
            let points = plo < phi;
            if !points && clo.min(plo) < chi.max(phi) {
                // The points' branch (plo = phi) or, with none known, the least corner's.
                let ours = if plo.is_finite() { plo } else { clo };
                let beyond: Vec<usize> = (0..nc)
                    .filter(|&q| {
                        let b = corners[q * c + sw];
                        !b.is_nan() && b != ours
                    })
                    .collect();
                // Split across the switch: along an axis on whose one side every corner
                // beyond it lies (a switch along the region's edge was otherwise cut along
                // its length, each child keeping the sliver beyond its points).
                let axis = (0..d)
                    .filter(|&i| beyond.iter().all(|&q| (q >> i & 1) == (beyond[0] >> i & 1)))
                    .max_by(|&a, &b| jobs[r].half[a].total_cmp(&jobs[r].half[b]));
                if let (None, Some(&q)) = (axes[r], beyond.first()) {
                    axes[r] = Some((q, axis));
                }
            } else if !points {
                continue;
            }
            for (o, &t) in out[r * k..(r + 1) * k].iter_mut().zip(&br.touches[sw]) {
                if t {
                    o.points |= points;
                    o.corners |= !points;
                }
            }
        }
    }
    (out, axes)
}

/// The rule's sums for one region whose `npts` integrand vectors start at point `at` of the
/// scratch's batch; `touched` says how it meets the switches that change each integrand, with
/// the integrands at a corner beyond a switch that only its corners see (NaN where none).
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // one index, several arrays
fn finish_region(
    job: Job,
    pieces: &[Piece],
    at: usize,
    npts: usize,
    k: usize,
    hint: bool,
    w: &GmWeights,
    touched: Option<(&[Across], &[f64])>,
    s: &mut Scratch,
    regions: &mut Regions,
) -> Option<Candidate> {
    let Job {
        cell,
        d,
        center,
        half,
    } = job;
    let (center, half) = (&center[..d], &half[..d]);
    let ks = if hint { k + 1 + d } else { k };
    let jacs = &s.jac[at..at + npts];
    // With a hint: the estimated excess of a peak the points missed, per component.
    let candidate = if hint {
        hidden_peak(
            &s.out[at * ks..(at + npts) * ks],
            &s.xs,
            at,
            jacs,
            pieces,
            center,
            half,
            k,
            d,
        )
    } else {
        None
    };
    if hint {
        // Compact the k integrand values of each point to the front, as without a hint.
        let src = &mut s.out[at * ks..(at + npts) * ks];
        for l in 0..npts {
            src.copy_within(l * ks..l * ks + k, l * k);
        }
    }
    let out = &mut s.out[at * ks..at * ks + npts * k];
    s.abs.iter_mut().for_each(|a| *a = 0.0);
    for (o, jac) in out.chunks_exact_mut(k).zip(jacs) {
        for (v, a) in o.iter_mut().zip(s.abs.iter_mut()) {
            *v = if *v == 0.0 { 0.0 } else { *v * jac };
            *a += v.abs();
        }
    }
    for v in [&mut s.s2, &mut s.s3, &mut s.s4, &mut s.s5] {
        v.iter_mut().for_each(|a| *a = 0.0);
    }
    let out = &*out;
    let val = |l: usize| &out[l * k..(l + 1) * k];
    let f0 = val(0);
    let mut best_axis = 0;
    let mut best_diff = -1.0;
    for i in 0..d {
        let at = 1 + 4 * i;
        let ratio = (L2 * L2) / (L3 * L3);
        let mut diff = 0.0;
        for j in 0..k {
            // The pair sums at ±λ2 and ±λ3 along axis i.
            let p2 = 0.0 + val(at)[j] + val(at + 1)[j];
            let m2 = 0.0 + val(at + 2)[j] + val(at + 3)[j];
            s.p2[j] = p2;
            s.m2[j] = m2;
            s.s2[j] += p2;
            s.s3[j] += m2;
            let dd = (p2 - 2.0 * f0[j] - ratio * (m2 - 2.0 * f0[j])).abs();
            // Weigh each component's difference by its error target.
            diff += dd / s.tgt[j];
        }
        if diff > best_diff * (1.0 + 1e-12) || (diff == best_diff && half[i] > half[best_axis]) {
            best_diff = diff;
            best_axis = i;
        }
    }
    let n4 = 2 * d * d.saturating_sub(1);
    let first4 = 1 + 4 * d;
    for l in first4..first4 + n4 {
        for j in 0..k {
            s.s4[j] += val(l)[j];
        }
    }
    for l in first4 + n4..npts {
        for j in 0..k {
            s.s5[j] += val(l)[j];
        }
    }
    let vol: f64 = half.iter().map(|h| 2.0 * h).product();
    let data = regions.push_zeros(cell);
    data[..d].copy_from_slice(center);
    data[d..2 * d].copy_from_slice(half);
    let (est, rest) = data[2 * d..].split_at_mut(k);
    let (err, rest) = rest.split_at_mut(k);
    let (raw, floor) = rest.split_at_mut(k);
    for j in 0..k {
        let r7 = vol
            * (w.w7[0] * f0[j]
                + w.w7[1] * s.s2[j]
                + w.w7[2] * s.s3[j]
                + w.w7[3] * s.s4[j]
                + w.w7[4] * s.s5[j]);
        let r5 =
            vol * (w.w5[0] * f0[j] + w.w5[1] * s.s2[j] + w.w5[2] * s.s3[j] + w.w5[3] * s.s4[j]);
        // A degree-3 rule from the centre and the ±λ3 points: ∫x_i² = 1/3 on [−1, 1]^d (as
        // a mean) gives their weight 1/(6λ3²).
        let w3 = 1.0 / (6.0 * L3 * L3);
        let r3 = vol * ((1.0 - 2.0 * d as f64 * w3) * f0[j] + w3 * s.s3[j]);
        est[j] = r7;
        // Embedded-rule difference plus a floor of rounding error in the sums.
        let e5 = (r7 - r5).abs();
        floor[j] = 64.0 * f64::EPSILON * vol * s.abs[j] / npts as f64;
        err[j] = e5 + floor[j];
        // The children of a smooth region keep a small share of its difference as a floor;
        // where the rules show no order of convergence (|r7 − r5| not well below
        // |r7 − r3|, as across a jump or a kink, where the degree-7 rule is no better than
        // the lower ones) they keep all of it. (A jump of ∂s along a diagonal: regions
        // across it kept 2% of their difference, and rhs was 8.3e-7 off with an error of
        // 3.0e-7.)
        let rough = e5 > ROUGH_SHARE * (r7 - r3).abs();
        raw[j] = if rough { e5 } else { EMBEDDED_SHARE * e5 };
        let across = touched.map_or(Across::default(), |t| t.0[j]);
        let smooth = e5 <= SMOOTH_ACROSS * (r7 - r3).abs();
        if (across.points && !smooth) || across.corners {
            // Across a switch, unless the rules show the order of a smooth integrand there:
            // any rule's error bound on a jump, the range of the values at the points
            // standing for the jump's height (`Branches`); where only the corners see the
            // switch, with the value at a corner beyond it, on at most a sliver of the region.
            let (lo, hi) = (0..npts).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| {
                (lo.min(val(l)[j]), hi.max(val(l)[j]))
            });
            let mut height = if across.points && !smooth {
                hi - lo
            } else {
                0.0
            };
            if across.corners {
                height += CORNER_SHARE
                    * match touched.map(|t| t.1[j]) {
                        Some(b) if b.is_finite() => hi.max(b) - lo.min(b),
                        // No value beyond (none taken, or not finite): the points' largest.
                        _ => (hi - lo).max(hi.abs()).max(lo.abs()),
                    };
            }
            let jump = (branch_factor(d, w) * vol * height).max(e5);
            err[j] = jump + floor[j];
            raw[j] = jump;
        }
    }
    // If no axis shows a difference, split the widest.
    if best_diff <= 0.0 {
        best_axis = (0..d)
            .max_by(|&a, &b| half[a].total_cmp(&half[b]))
            .unwrap_or(0);
    }
    regions.set_axis(regions.len() - 1, best_axis);
    candidate
}

#[cfg(test)]
mod tests {

    use super::*;

    /// The 16 cells of a 4-D law split at x₀ on every axis, with the hint's layout: `k = 1`
    /// value, then log p̃ and its gradient (left 0: quadratic_axes reads log p̃ alone).
    fn quadratic_axes_of(logp: impl Fn(&[f64]) -> f64 + Sync) -> Vec<bool> {
        let x0 = [0.3, -0.2, 0.0, 1.0];
        let cells: Vec<Cell> = (0..16)
            .map(|c| Cell {
                pieces: (0..4)
                    .map(|i| {
                        if c >> i & 1 == 0 {
                            Piece::Lower {
                                end: x0[i],
                                scale: 2.0,
                            }
                        } else {
                            Piece::Upper {
                                start: x0[i],
                                scale: 3.0,
                            }
                        }
                    })
                    .collect(),
            })
            .collect();
        let f = |xs: &[f64], n: usize, out: &mut [f64]| {
            for l in 0..n {
                let x: Vec<f64> = (0..4).map(|i| xs[i * n + l]).collect();
                out[l * 6] = 0.0;
                out[l * 6 + 1] = logp(&x);
            }
        };
        let (q, n) = quadratic_axes(&f, &cells, 1);
        assert_eq!(n, 1 + 8 * 4 + 8 * 6);
        q
    }

    #[test]
    fn a_correlated_gaussian_is_quadratic_on_every_axis() {
        let q = quadratic_axes_of(|x| {
            -(x[0] * x[0] + 2.0 * x[1] * x[1] + x[2] * x[2] / 9.0 + x[3] * x[3]) / 2.0
                + 0.4 * x[0] * x[1]
                - 0.1 * x[2] * x[3]
                + x[0]
        });
        assert_eq!(q, [true; 4]);
    }

    /// A banana's x axis is quartic; its y axis is a parabola through x = 0 but couples with x
    /// cubically (I(t) ∝ t³); the Gaussian coordinates stay quadratic. A Student-t coordinate
    /// is not quadratic.
    #[test]
    fn a_banana_or_a_heavy_tail_is_not_quadratic() {
        let q = quadratic_axes_of(|x| {
            -x[0] * x[0] / 2.0
                - (x[1] - 1.9 * x[0] * x[0]).powi(2) / 0.2
                - (x[2] * x[2] + x[3] * x[3]) / 2.0
        });
        assert_eq!(q, [false, false, true, true]);
        let q = quadratic_axes_of(|x| {
            -3.0 * (1.0 + x[2] * x[2] / 5.0).ln() - (x[0] * x[0] + x[1] * x[1] + x[3] * x[3]) / 2.0
        });
        assert_eq!(q, [true, true, false, true]);
    }

    /// The most candidates `hidden_peak` can note in one region, as its comment states: per
    /// line of n points, at most ⌈(n−1)/2⌉ brackets (two neighbouring windows cannot both
    /// turn from a rising to a falling slope) and 2 edges. Per axis there is the centre line
    /// (5 points), 2(d−1) lines of 3 (the axis points at ±λ₃ with the pair points at ±λ₄ = ±λ₃)
    /// and 2^(d−1) lines of 2 (vertices): 4 + 6(d−1) + 3·2^(d−1) candidates per axis.
    #[test]
    fn candidates_per_region_are_bounded_by_the_rule_lines() {
        for (d, bound) in [(2, 32), (3, 84), (4, 184)] {
            let per_line: usize = rule_geometry(d)
                .lines
                .iter()
                .map(|(_, l)| (l.len() - 1).div_ceil(2) + 2)
                .sum();
            assert_eq!(per_line, bound, "d = {d}");
            assert_eq!(bound, d * (4 + 6 * (d - 1) + 3 * (1 << (d - 1))));
        }
    }

    #[test]
    fn gm_weights_sum_to_one() {
        for d in 1..=6 {
            let w = gm_weights(d);
            let n = d as f64;
            let s7 = w.w7[0]
                + 2.0 * n * (w.w7[1] + w.w7[2])
                + 2.0 * n * (n - 1.0) * w.w7[3]
                + 2f64.powi(d as i32) * w.w7[4];
            let s5 = w.w5[0] + 2.0 * n * (w.w5[1] + w.w5[2]) + 2.0 * n * (n - 1.0) * w.w5[3];
            assert!((s7 - 1.0).abs() < 1e-14, "d={d} s7={s7}");
            assert!((s5 - 1.0).abs() < 1e-14, "d={d} s5={s5}");
        }
    }

    /// A steep rotated banana (the one of tests/data/banana_4d_steep.toml) with one Gaussian
    /// coordinate, in the hint's layout (`k = 1`: p̃, then log p̃ and its gradient): in the
    /// banana's own coordinates u₁ = c·dx + s·dy, u₂ = −s·dx + c·dy and r = u₂ − b·u₁²,
    /// log p̃ = −u₁²/2 − r²/(2v) − z²/2, so ∂/∂u₁ = −u₁ + 2b·u₁·r/v and ∂/∂u₂ = −r/v.
    fn steep_banana_3d(xs: &[f64], n: usize, out: &mut [f64]) {
        let (c, s) = (-9.432442914791157e-1, -3.3209969375484394e-1);
        let (x0, y0, b, v) = (
            -2.504949680703243,
            1.2763723168441248,
            1.1979953864378023,
            0.1149331234304062,
        );
        for l in 0..n {
            let (dx, dy, z) = (xs[l] - x0, xs[n + l] - y0, xs[2 * n + l]);
            let (u1, u2) = (c * dx + s * dy, -s * dx + c * dy);
            let r = u2 - b * u1 * u1;
            let lp = -u1 * u1 / 2.0 - r * r / (2.0 * v) - z * z / 2.0;
            let (g1, g2) = (-u1 + 2.0 * b * u1 * r / v, -r / v);
            out[l * 5..l * 5 + 5].copy_from_slice(&[
                lp.exp(),
                lp,
                g1 * c - g2 * s,
                g1 * s + g2 * c,
                -z,
            ]);
        }
    }

    /// A region on the banana's far flank, x ∈ [0.4365, 6.3193], y ∈ [−13.3765, −12.8555],
    /// z ∈ [0, 1.3333], where log p̃ rises convexly from e^-28 at the rule's points to e^-15 at
    /// the edge x = 6.3193, the ridge just beyond. It holds 5.615e-7 of Z
    /// (scripts/banana_flank_region.py: for each u₁ the box is an interval of r, whose
    /// Gaussian mass is an erf difference; a Gauss–Legendre sum over u₁; times the z factor).
    /// The rule alone sees 1.4e-18 ± 3.3e-18; the hint must make its error cover the mass
    /// (it did not before convex rises were candidates).
    /// One region [−1, 1]² and the step 1{x + t·y > c}: its estimate and error, with the
    /// step's switch given as `Branches` or not.
    fn step_region(c: f64, t: f64, with_branches: bool) -> (f64, f64) {
        let cells = vec![Cell {
            pieces: vec![Piece::Finite { lo: -1.0, hi: 1.0 }; 2],
        }];
        let arg = move |xs: &[f64], n: usize, l: usize| xs[l] + t * xs[n + l] - c;
        let step = move |xs: &[f64], n: usize, out: &mut [f64]| {
            for (l, o) in out.iter_mut().enumerate() {
                *o = if arg(xs, n, l) > 0.0 { 1.0 } else { 0.0 };
            }
        };
        let side = move |xs: &[f64], n: usize, out: &mut [f64]| {
            for (l, o) in out.iter_mut().enumerate() {
                *o = arg(xs, n, l).signum();
            }
        };
        let br = Branches {
            eval: &side,
            count: 1,
            touches: vec![vec![true]],
        };
        let mut center = [0.0; MAX_CUBATURE_DIM];
        let mut half = [0.0; MAX_CUBATURE_DIM];
        center[..2].copy_from_slice(&[0.0, 0.0]);
        half[..2].copy_from_slice(&[1.0, 1.0]);
        let jobs = vec![Job {
            cell: 0,
            d: 2,
            center,
            half,
        }];
        let mut s = Scratch::new(1, &[1.0]);
        let b = with_branches.then_some(&br);
        let (r, _) =
            eval_batch_of_regions(&step, b, &cells, jobs, 1, false, &gm_weights(2), &mut s);
        (r.get(0).est()[0], r.get(0).err()[0])
    }

    #[test]
    fn a_jump_across_a_region_is_bounded_where_the_rules_miss_it() {
        // 1{x > c} on [−1, 1]² has the integral 2(1 − c). At c = 0.97 the jump lies beyond
        // every point (λ₃ = λ₄ = 0.949), so the rules see 0 and their difference is 0; at
        // c = 0.6 it lies between points; along x + 0.4y = 0.7, across the region.
        for (c, t) in [(0.97, 0.0), (0.6, 0.0), (0.7, 0.4)] {
            // ∫∫ 1{x > c − t y} dx dy = ∫ (1 − (c − t y)) dy over y ∈ [−1, 1] (c − t y stays
            // in [−1, 1]) = 2(1 − c), for t = 0 and t = 0.4 alike.
            let exact = 2.0 * (1.0 - c);
            let (est, err) = step_region(c, t, true);
            assert!(
                (est - exact).abs() <= err,
                "c = {c}, t = {t}: {est} ± {err}, exact {exact}"
            );
        }
        // Without the switch, the region beyond every point reports 0 ± 0.
        let (est, err) = step_region(0.97, 0.0, false);
        assert!(est == 0.0 && err == 0.0, "{est} ± {err}");
    }

    #[test]
    fn a_convex_flank_rising_to_the_edge_is_a_hidden_peak() {
        let (x0, y0) = (-2.504949680703243, 1.2763723168441248);
        let px = Piece::Upper {
            start: x0,
            scale: (6.3193 - x0) / 3.0,
        };
        let py = Piece::Lower {
            end: y0,
            scale: (y0 + 4.7801) / 3.0,
        };
        let pz = Piece::Upper {
            start: 0.0,
            scale: 4.0,
        };
        let cells = vec![Cell {
            pieces: vec![px, py, pz],
        }];
        let ends = [
            (px.inverse(0.4365), px.inverse(6.3193)),
            (py.inverse(-12.8555), py.inverse(-13.3765)),
            (pz.inverse(0.0), pz.inverse(1.3333)),
        ];
        let mut center = [0.0; MAX_CUBATURE_DIM];
        let mut half = [0.0; MAX_CUBATURE_DIM];
        for (i, (a, b)) in ends.iter().enumerate() {
            center[i] = 0.5 * (a + b);
            half[i] = 0.5 * (b - a);
        }
        let jobs = vec![Job {
            cell: 0,
            d: 3,
            center,
            half,
        }];
        let mut s = Scratch::new(1, &[1.0]);
        let (r, _) = eval_batch_of_regions(
            &steep_banana_3d,
            None,
            &cells,
            jobs,
            1,
            true,
            &gm_weights(3),
            &mut s,
        );
        let mass = 5.615e-7;
        assert!(
            r.get(0).est()[0] < 1e-9 * mass,
            "the rule should not see it: {:e}",
            r.get(0).est()[0]
        );
        assert!(
            r.get(0).err()[0] >= mass,
            "error {:e} < mass {mass:e}",
            r.get(0).err()[0]
        );
    }

    #[test]
    fn cubature_gaussian_3d_infinite() {
        // ∫_{R^3} exp(-|x|^2/2) dx = (2π)^{3/2}, split at 0 into 8 orthants.
        let mut cells = vec![];
        for mask in 0..8u32 {
            let pieces = (0..3)
                .map(|i| {
                    if mask >> i & 1 == 1 {
                        Piece::Upper {
                            start: 0.0,
                            scale: 4.0,
                        }
                    } else {
                        Piece::Lower {
                            end: 0.0,
                            scale: 4.0,
                        }
                    }
                })
                .collect();
            cells.push(Cell { pieces });
        }
        let f = |x: &[f64], out: &mut [f64]| {
            let r2: f64 = x.iter().map(|v| v * v).sum();
            out[0] = (-0.5 * r2).exp();
            out[1] = x[0] * x[0] * (-0.5 * r2).exp();
        };
        let r = cubature(&pointwise(f), &cells, 2, &|_| vec![1e-8, 1e-8], 5_000_000);
        let exact = (2.0 * std::f64::consts::PI).powf(1.5);
        assert!(r.converged);
        for j in 0..2 {
            let e = (r.values[j] - exact).abs();
            assert!(e <= r.errors[j], "j={j} err {e} > est {}", r.errors[j]);
            assert!(e < 1e-8);
        }
    }
}
#[cfg(test)]
mod summation {
    use super::*;

    /// A constant over 4096 irregular regions: the sum must be exact to rounding. Before
    /// compensated summation it was off by 218 ε, four times its error estimate.
    #[test]
    fn constant_over_many_regions() {
        let cuts = [0.0, 0.02, 0.25, 0.4, 0.5, 0.6, 0.75, 0.98, 1.0];
        let pieces: Vec<Piece> = cuts
            .windows(2)
            .map(|w| Piece::Finite { lo: w[0], hi: w[1] })
            .collect();
        let mut cells = vec![];
        for p in &pieces {
            for q in &pieces {
                cells.push(Cell {
                    pieces: vec![*p, *q],
                });
            }
        }
        let r = cubature(
            &pointwise(|_x: &[f64], out: &mut [f64]| out[0] = 1.0),
            &cells,
            1,
            &|_| vec![1e-9],
            1_000_000,
        );
        assert!(
            (r.values[0] - 1.0).abs() <= r.errors[0],
            "{:e} > {:e}",
            r.values[0] - 1.0,
            r.errors[0]
        );
        assert!((r.values[0] - 1.0).abs() <= 4.0 * f64::EPSILON);
    }
}
