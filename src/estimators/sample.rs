//! Drawing samples from a case's density `p`, reproducibly from a seed.
//!
//! * One variable: exact sampling by the inverse CDF. The CDF is tabulated by 5-point
//!   Gauss–Legendre quadrature on a fine grid of each quadrature [`Piece`] (in the piece's
//!   own mapped variable `u`, so infinite ends are covered); a uniform draw picks its cell
//!   by the cumulative masses and is refined inside the cell by safeguarded Newton steps on
//!   the cell's Gauss–Legendre CDF (the density is the derivative). The CDF's relative error
//!   is estimated by tabulating it again on cells half as wide.
//! * Product densities, `log p̃ = Σ_i f_i(x_i)`: the same exact sampler per coordinate, on the
//!   slice of `p̃` through its highest mode along each axis. Separability is detected, not
//!   assumed: every mixed second derivative `∂_i∂_j log p̃` (exact, hyper-dual numbers) must
//!   vanish at a grid of probe points around each mode (up to 3 widths out) — a test on many
//!   points, not a proof, which the report says.
//! * Otherwise: a Metropolis-adjusted Langevin (MALA) sampler driven by the exact
//!   gradient of `log p̃` (dual numbers), preconditioned by the widths of the modes found by
//!   [`crate::locate`]. Several chains start at the modes; the step is adapted towards an
//!   acceptance rate of 0.574 during burn-in only and then frozen, so the kept draws are a
//!   true Markov chain with `p` invariant. Effective sample sizes come from Geyer's initial
//!   positive sequence ([`mc_mean`](crate::stats::mc_mean)); the split-R̂ of the chains flags a sampler that has not
//!   mixed.
//!
//! Every random number comes from a PCG-64 generator seeded by mixing `(seed, stream,
//! index)` ([`rng_for`]): each chain, and each block of [`BLOCK`] inverse-CDF draws, has its
//! own generator, so the numbers do not depend on how the work is scheduled.
//!
//! Bounds (issue 17): at most [`MAX_DRAWS`] draws, [`MAX_CHAINS`] chains and
//! [`MAX_MALA_STEPS`] MALA steps (options beyond are bad input); the CDF table has 2048
//! cells per piece (at most `locate::MAX_PIECES_1D` pieces); a quantile takes at most 100
//! Newton or bisection steps; the autocorrelation sum at most [`MAX_LAG`](crate::stats::MAX_LAG) lags.

use crate::locate::{Located, locate};
use crate::model::{Density, MAX_DIM, log_density_hessian};
use crate::quad::Piece;
use num_dual::{Dual64, DualNum};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;
use serde::Serialize;

/// Draws per generator in the inverse-CDF sampler.
pub const BLOCK: usize = 1024;

/// Which sampler to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// Inverse CDF in 1-D, per coordinate for a product density, MALA otherwise.
    Auto,
    /// Inverse CDF (1-D only).
    InverseCdf,
    /// Inverse CDF per coordinate (product densities only).
    Product,
    /// MALA (any dimension).
    Mala,
}

/// The most draws [`sample`] keeps (`--n`): each is up to 4 coordinates and, in `estimate`, a
/// few numbers per estimator, about 100 bytes in all, so 4 million stay below 400 MB.
pub const MAX_DRAWS: usize = 4_000_000;

/// The most MALA chains (`--chains`).
pub const MAX_CHAINS: usize = 256;

/// The most MALA steps of a run, burn-in included (`chains · burn_in + n`): at about 1 µs a
/// step in 4-D, 100 million take a few minutes.
pub const MAX_MALA_STEPS: usize = 100_000_000;

/// Options of [`sample`].
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// Number of draws kept (over all chains).
    pub n: usize,
    pub seed: u64,
    pub sampler: Sampler,
    /// MALA chains.
    pub chains: usize,
    /// MALA burn-in steps per chain (step adaptation happens only here).
    pub burn_in: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            n: 10_000,
            seed: 1,
            sampler: Sampler::Auto,
            chains: 4,
            burn_in: 2_000,
        }
    }
}

/// How the draws were made.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Method {
    /// Independent exact draws by the inverse CDF; `cdf_error` is the estimated relative
    /// error of the tabulated CDF.
    InverseCdf { cdf_error: f64 },
    /// Independent exact draws, each coordinate by the inverse CDF of its factor;
    /// `probes` is the number of points at which the mixed partials of `log p̃` vanished.
    Product { cdf_error: f64, probes: usize },
    /// MALA chains.
    Mala {
        chains: usize,
        burn_in: usize,
        /// The frozen step (in units of the preconditioner's widths).
        step: f64,
        /// Accepted share of the proposals after burn-in.
        acceptance: f64,
    },
}

/// Draws from `p`: one or more chains of points (one chain of independent draws for the
/// inverse CDF).
#[derive(Clone, Debug)]
pub struct Samples {
    pub dim: usize,
    pub method: Method,
    /// `chains[c][t]` is draw `t` of chain `c` (only the first `dim` coordinates are used).
    pub chains: Vec<Vec<[f64; MAX_DIM]>>,
}

impl Samples {
    /// Whether the draws are independent (then the effective sample size is `n`).
    pub fn independent(&self) -> bool {
        matches!(
            self.method,
            Method::InverseCdf { .. } | Method::Product { .. }
        )
    }
    /// All draws, chain after chain.
    pub fn len(&self) -> usize {
        self.chains.iter().map(Vec::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why samples cannot be drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleError {
    /// The density's mass could not be found.
    Locate(String),
    /// The inverse CDF was asked for in more than one dimension.
    InverseCdfDim(usize),
    /// The product sampler was asked for a density that is not a product.
    NotProduct(Vec<f64>),
    /// The density integrates to zero or a non-finite number on the CDF grid.
    NoMass,
    /// Bad options.
    Options(String),
}

impl std::fmt::Display for SampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleError::Locate(m) => write!(f, "cannot find where the density has its mass: {m}"),
            SampleError::InverseCdfDim(d) => write!(
                f,
                "the inverse-CDF sampler is for one variable, the case has {d}; use --sampler mala"
            ),
            SampleError::NotProduct(x) => write!(
                f,
                "the density is not a product of one-variable factors: a mixed second derivative of log p is not 0 at {}; use --sampler mala",
                crate::report::fmt_point(x)
            ),
            SampleError::NoMass => write!(f, "the density has no finite positive mass to sample"),
            SampleError::Options(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SampleError {}

/// A generator for `(seed, stream, index)`: the three are mixed by SplitMix64 steps so that
/// nearby seeds, streams and indices give unrelated generators.
pub fn rng_for(seed: u64, stream: u64, index: u64) -> Pcg64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    Pcg64::seed_from_u64(mix(mix(mix(seed) ^ stream) ^ index))
}

/// Streams of [`rng_for`], one per use, so that no two uses share numbers.
pub mod stream {
    pub const INVERSE_CDF: u64 = 1;
    pub const MALA: u64 = 2;
    pub const PROBES: u64 = 3;
    pub const NOISE: u64 = 4;
}

/// Draw `opts.n` points from `p` on the box `domain`.
pub fn sample<P: Density>(
    p: &P,
    domain: &[(f64, f64)],
    opts: &SampleOptions,
) -> Result<Samples, SampleError> {
    let d = domain.len();
    if opts.n == 0 {
        return Err(SampleError::Options("--n must be at least 1".into()));
    }
    if opts.n > MAX_DRAWS {
        return Err(SampleError::Options(format!(
            "--n must be at most {MAX_DRAWS}, got {}",
            opts.n
        )));
    }
    if opts.chains > MAX_CHAINS {
        return Err(SampleError::Options(format!(
            "--chains must be at most {MAX_CHAINS}, got {}",
            opts.chains
        )));
    }
    let steps = opts
        .chains
        .max(1)
        .saturating_mul(opts.burn_in)
        .saturating_add(opts.n);
    if steps > MAX_MALA_STEPS {
        return Err(SampleError::Options(format!(
            "--chains × --burn-in + --n must be at most {MAX_MALA_STEPS} MALA steps, got {steps}"
        )));
    }
    let located = locate(p, domain).map_err(|e| SampleError::Locate(format!("{e:?}")))?;
    let method = match (opts.sampler, d) {
        (Sampler::Auto, 1) | (Sampler::InverseCdf, 1) => Sampler::InverseCdf,
        (Sampler::InverseCdf, d) => return Err(SampleError::InverseCdfDim(d)),
        (Sampler::Auto, _) => match separable(p, domain, &located) {
            Ok(_) => Sampler::Product,
            Err(_) => Sampler::Mala,
        },
        (Sampler::Product, _) => {
            separable(p, domain, &located).map_err(SampleError::NotProduct)?;
            Sampler::Product
        }
        _ => Sampler::Mala,
    };
    match method {
        Sampler::InverseCdf => {
            let cdf = Cdf::new(p, &located)?;
            let draws = exact_draws(opts, |rng, x| x[0] = cdf.quantile(p, rng.random()));
            Ok(Samples {
                dim: 1,
                method: Method::InverseCdf {
                    cdf_error: cdf.rel_error,
                },
                chains: vec![draws],
            })
        }
        Sampler::Product => {
            let probes = separable(p, domain, &located).map_err(SampleError::NotProduct)?;
            let x0 = &located.modes[0].x;
            let mut slices = vec![];
            for i in 0..d {
                let slice = Slice { p, x0, axis: i };
                let loc = locate(&slice, &domain[i..=i])
                    .map_err(|e| SampleError::Locate(format!("{e:?}")))?;
                let cdf = Cdf::new(&slice, &loc)?;
                slices.push((slice, cdf));
            }
            let draws = exact_draws(opts, |rng, x| {
                for (i, (slice, cdf)) in slices.iter().enumerate() {
                    x[i] = cdf.quantile(slice, rng.random());
                }
            });
            Ok(Samples {
                dim: d,
                method: Method::Product {
                    cdf_error: slices.iter().map(|s| s.1.rel_error).fold(0.0, f64::max),
                    probes,
                },
                chains: vec![draws],
            })
        }
        _ => mala(p, domain, &located, opts),
    }
}

/// `opts.n` independent draws in blocks of [`BLOCK`], each block with its own generator.
fn exact_draws(
    opts: &SampleOptions,
    mut draw: impl FnMut(&mut Pcg64, &mut [f64; MAX_DIM]),
) -> Vec<[f64; MAX_DIM]> {
    let mut draws = Vec::with_capacity(opts.n);
    // Bound: n ≤ MAX_DRAWS draws (checked in `sample`), each at most 100 Newton steps.
    for b in 0..opts.n.div_ceil(BLOCK) {
        let mut rng = rng_for(opts.seed, stream::INVERSE_CDF, b as u64);
        for _ in 0..BLOCK.min(opts.n - b * BLOCK) {
            let mut x = [0.0; MAX_DIM];
            draw(&mut rng, &mut x);
            draws.push(x);
        }
    }
    draws
}

/// `p̃` along axis `axis` through the point `x0`: for a product density, its factor `f_axis`.
struct Slice<'a, P> {
    p: &'a P,
    x0: &'a [f64],
    axis: usize,
}

impl<P: Density> Density for Slice<'_, P> {
    fn dim(&self) -> usize {
        1
    }
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        let d = self.x0.len();
        let mut full = [D::from(0.0); MAX_DIM];
        for (j, f) in full.iter_mut().enumerate().take(d) {
            *f = if j == self.axis {
                x[0]
            } else {
                D::from(self.x0[j])
            };
        }
        self.p.log_density(&full[..d])
    }
}

/// Whether `log p̃` looks separable: its mixed second derivatives vanish at every probe point
/// (a grid of 0, ±1, ±3 widths around each mode, kept inside the domain). Returns the number of
/// probes, or the first point where a mixed derivative is not 0.
fn separable<P: Density>(
    p: &P,
    domain: &[(f64, f64)],
    located: &Located,
) -> Result<usize, Vec<f64>> {
    const STEPS: [f64; 5] = [0.0, -1.0, 1.0, -3.0, 3.0];
    let d = domain.len();
    let mut probes = 0;
    for m in &located.modes {
        for idx in 0..STEPS.len().pow(d as u32) {
            let mut x = [0.0; MAX_DIM];
            let mut r = idx;
            for i in 0..d {
                let (a, b) = domain[i];
                x[i] = (m.x[i] + STEPS[r % STEPS.len()] * m.scale[i]).clamp(a, b);
                r /= STEPS.len();
            }
            let (v, _, h) = log_density_hessian(p, &x[..d]);
            if !v.is_finite() {
                continue;
            }
            probes += 1;
            for i in 0..d {
                for j in i + 1..d {
                    let size = 1.0 + h[i][i].abs() + h[j][j].abs();
                    if h[i][j].is_nan() || h[i][j].abs() > 1e-12 * size {
                        return Err(x[..d].to_vec());
                    }
                }
            }
        }
    }
    if probes == 0 {
        return Err(located.modes[0].x.clone());
    }
    Ok(probes)
}

// 5-point Gauss–Legendre on [−1, 1].
const GL_X: [f64; 5] = [
    -0.906_179_845_938_664,
    -0.538_469_310_105_683,
    0.0,
    0.538_469_310_105_683,
    0.906_179_845_938_664,
];
const GL_W: [f64; 5] = [
    0.236_926_885_056_189_1,
    0.478_628_670_499_366_5,
    0.568_888_888_888_888_9,
    0.478_628_670_499_366_5,
    0.236_926_885_056_189_1,
];

/// Cells per piece of the CDF table.
const CELLS: usize = 2048;

/// A tabulated CDF in 1-D.
struct Cdf {
    /// (piece, u0, u1) per cell, in increasing x.
    cells: Vec<(Piece, f64, f64)>,
    /// Cumulative mass at the start of each cell; the last entry is the total.
    cum: Vec<f64>,
    log_max: f64,
    rel_error: f64,
}

/// `p̃(x(u))·|dx/du|`, scaled by `e^{−log_max}`; zero where it is not finite.
fn mass_density<P: Density>(p: &P, piece: &Piece, u: f64, log_max: f64) -> f64 {
    let (x, j) = piece.map(u);
    if !x.is_finite() {
        return 0.0;
    }
    let v = (p.log_density(&[x]) - log_max).exp() * j;
    if v.is_finite() { v } else { 0.0 }
}

fn gl<F: Fn(f64) -> f64>(f: &F, a: f64, b: f64) -> f64 {
    let h = 0.5 * (b - a);
    let c = 0.5 * (a + b);
    GL_X.iter()
        .zip(GL_W)
        .map(|(x, w)| w * f(c + h * x))
        .sum::<f64>()
        * h
}

impl Cdf {
    fn new<P: Density>(p: &P, located: &Located) -> Result<Cdf, SampleError> {
        let log_max = located.log_max;
        let mut cells = vec![];
        let mut cum = vec![0.0];
        let mut total = 0.0;
        let mut fine_total = 0.0;
        for piece in &located.pieces[0] {
            let (ua, ub) = piece.u_range();
            let h = (ub - ua) / CELLS as f64;
            let f = |u: f64| mass_density(p, piece, u, log_max);
            for k in 0..CELLS {
                let u0 = ua + k as f64 * h;
                let u1 = if k + 1 == CELLS { ub } else { u0 + h };
                let m = gl(&f, u0, u1);
                let mid = 0.5 * (u0 + u1);
                fine_total += gl(&f, u0, mid) + gl(&f, mid, u1);
                total += m;
                cells.push((*piece, u0, u1));
                cum.push(total);
            }
        }
        if !(total > 0.0 && total.is_finite()) {
            return Err(SampleError::NoMass);
        }
        let rel_error = ((fine_total - total) / total).abs().max(f64::EPSILON);
        Ok(Cdf {
            cells,
            cum,
            log_max,
            rel_error,
        })
    }

    /// The `q`-quantile, `q ∈ [0, 1)`.
    fn quantile<P: Density>(&self, p: &P, q: f64) -> f64 {
        let total = *self.cum.last().unwrap();
        let target = q * total;
        // The cell whose cumulative range holds the target (skipping empty cells).
        let k = self.cum[1..]
            .partition_point(|&c| c <= target)
            .min(self.cells.len() - 1);
        let (piece, u0, u1) = self.cells[k];
        let want = target - self.cum[k];
        let f = |u: f64| mass_density(p, &piece, u, self.log_max);
        // Solve F(u) = ∫_{u0}^{u} f = want on [u0, u1]: Newton steps kept inside a shrinking
        // bracket, bisecting when a step leaves it.
        let (mut lo, mut hi) = (u0, u1);
        let mut u = u0 + (u1 - u0) * (want / (self.cum[k + 1] - self.cum[k])).clamp(0.0, 1.0);
        for _ in 0..100 {
            let g = gl(&f, u0, u) - want;
            if g > 0.0 {
                hi = u;
            } else {
                lo = u;
            }
            let fu = f(u);
            let mut next = if fu > 0.0 { u - g / fu } else { f64::NAN };
            if !(next > lo && next < hi) {
                next = 0.5 * (lo + hi);
            }
            if (next - u).abs() <= 4.0 * f64::EPSILON * (1.0 + u.abs()) || hi - lo <= f64::EPSILON {
                u = next;
                break;
            }
            u = next;
        }
        piece.map(u).0
    }
}

/// `log p̃(x)` and its gradient with dual numbers; `−∞` outside the domain.
fn log_p_grad<P: Density>(p: &P, x: &[f64], domain: &[(f64, f64)]) -> (f64, [f64; MAX_DIM]) {
    let d = x.len();
    let mut g = [0.0; MAX_DIM];
    if x.iter().zip(domain).any(|(v, (a, b))| !(v >= a && v <= b)) {
        return (f64::NEG_INFINITY, g);
    }
    let mut v = f64::NEG_INFINITY;
    let mut xs = [Dual64::from(0.0); MAX_DIM];
    for (i, gi) in g.iter_mut().enumerate().take(d) {
        for j in 0..d {
            xs[j] = Dual64::new(x[j], if i == j { 1.0 } else { 0.0 });
        }
        let r = p.log_density(&xs[..d]);
        v = r.re;
        *gi = r.eps;
    }
    if v.is_nan() || g[..d].iter().any(|gi| !gi.is_finite()) {
        return (f64::NEG_INFINITY, g);
    }
    (v, g)
}

/// Target acceptance rate of MALA (the optimal-scaling result for smooth targets).
const TARGET_ACCEPT: f64 = 0.574;

fn mala<P: Density>(
    p: &P,
    domain: &[(f64, f64)],
    located: &Located,
    opts: &SampleOptions,
) -> Result<Samples, SampleError> {
    let d = domain.len();
    let k = opts.chains.max(1);
    if opts.n < k {
        return Err(SampleError::Options(format!(
            "--n must be at least the number of chains ({k})"
        )));
    }
    let per = opts.n / k;
    // Diagonal preconditioner: the largest width of any mode along each axis.
    let mut width = [1.0; MAX_DIM];
    for (i, w) in width.iter_mut().enumerate().take(d) {
        *w = located
            .modes
            .iter()
            .map(|m| m.scale[i])
            .filter(|s| s.is_finite() && *s > 0.0)
            .fold(0.0, f64::max);
        if *w == 0.0 {
            *w = 1.0;
        }
    }
    let mut chains = Vec::with_capacity(k);
    let mut accepted = 0usize;
    let mut proposed = 0usize;
    let mut steps = vec![];
    for c in 0..k {
        let mut rng = rng_for(opts.seed, stream::MALA, c as u64);
        let start = &located.modes[c % located.modes.len()].x;
        let mut x = [0.0; MAX_DIM];
        x[..d].copy_from_slice(&start[..d]);
        let (mut lp, mut g) = log_p_grad(p, &x[..d], domain);
        // Start from the typical width: a step of about 1.6·d^(−1/6) preconditioned widths.
        let mut log_h = (1.6 * (d as f64).powf(-1.0 / 6.0)).ln();
        let mut draws = Vec::with_capacity(per);
        // Bound: chains·(burn_in + per) ≤ MAX_MALA_STEPS steps in all (checked in `sample`).
        for t in 0..opts.burn_in + per {
            let h = log_h.exp();
            let mut y = [0.0; MAX_DIM];
            for i in 0..d {
                let z: f64 = rng.sample(StandardNormal);
                let m = width[i] * width[i];
                y[i] = x[i] + 0.5 * h * h * m * g[i] + h * width[i] * z;
            }
            let (lq, gq) = log_p_grad(p, &y[..d], domain);
            let mut log_a = f64::NEG_INFINITY;
            if lq.is_finite() {
                // log q(x | y) − log q(y | x) for the preconditioned Langevin proposal.
                let mut fwd = 0.0;
                let mut bwd = 0.0;
                for i in 0..d {
                    let m = width[i] * width[i];
                    let a = y[i] - x[i] - 0.5 * h * h * m * g[i];
                    let b = x[i] - y[i] - 0.5 * h * h * m * gq[i];
                    fwd += a * a / m;
                    bwd += b * b / m;
                }
                log_a = lq - lp + (fwd - bwd) / (2.0 * h * h);
            }
            let acc = if log_a >= 0.0 {
                1.0
            } else {
                log_a.exp() // 0 for −∞ and NaN-free by construction
            };
            let uu: f64 = rng.random();
            if uu < acc {
                x = y;
                lp = lq;
                g = gq;
            }
            if t < opts.burn_in {
                // Robbins–Monro on log h, during burn-in only.
                let gamma = 1.0 / ((t + 1) as f64).powf(0.6);
                log_h += gamma * (acc - TARGET_ACCEPT);
            } else {
                proposed += 1;
                if uu < acc {
                    accepted += 1;
                }
                draws.push(x);
            }
        }
        steps.push(log_h.exp());
        chains.push(draws);
    }
    let step = steps.iter().sum::<f64>() / steps.len() as f64;
    Ok(Samples {
        dim: d,
        method: Method::Mala {
            chains: k,
            burn_in: opts.burn_in,
            step,
            acceptance: accepted as f64 / proposed.max(1) as f64,
        },
        chains,
    })
}

/// Below this MALA acceptance rate (after burn-in) every comparison is undecided.
pub const MIN_ACCEPTANCE: f64 = 0.05;

/// Why no mean of these draws can be trusted, whatever its standard error says: a MALA chain
/// that accepted almost nothing after burn-in has barely moved.
pub fn untrusted(samples: &Samples) -> Option<String> {
    match samples.method {
        Method::Mala { acceptance, .. } if acceptance < MIN_ACCEPTANCE => Some(format!(
            "MALA accepted only {:.1}% of its proposals after burn-in",
            100.0 * acceptance
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Normal;
    impl Density for Normal {
        fn dim(&self) -> usize {
            1
        }
        fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
            -x[0] * x[0] * 0.5
        }
    }

    #[test]
    fn inverse_cdf_quantiles_of_the_normal() {
        let located = locate(&Normal, &[(f64::NEG_INFINITY, f64::INFINITY)]).unwrap();
        let cdf = Cdf::new(&Normal, &located).unwrap();
        // Φ⁻¹(0.975) = 1.959963984540054, Φ⁻¹(0.5) = 0.
        assert!((cdf.quantile(&Normal, 0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!(cdf.quantile(&Normal, 0.5).abs() < 1e-9);
        assert!(cdf.rel_error < 1e-10, "{}", cdf.rel_error);
    }
}
