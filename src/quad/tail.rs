//! The sliver next to a singular finite end that the doubles cannot approach, integrated
//! from a power-law model fitted on probes.

/// Distance, relative to `|x|`, at which [`integrate_1d_vec`] cuts a singular finite end `x`
/// that the doubles cannot approach (`x ≠ 0`): `2^−26`, about `2^27` ulps. The sliver
/// between the cut and the end is integrated from a power-law model ([`power_tail`]), whose
/// neglected second-order terms `(κδ0)²` are then ~1e-14; the rule over the rest meets the
/// cut as a regular end at scale `δ0`: a node rounded by an ulp moves `f` by a relative
/// `ulp/δ0 ≈ 1e-8`, and nodes and probes that round onto the cut are evaluated there (`f` is
/// finite and flat there at the scale of an ulp), so no `ulp·f(cut)` is left out.
/// (Leaving those out and bounding them, at `2^−30`, cost 1e-9 of a Beta(4, 1.5)'s `E[p′]`;
/// a first-order fit at `2^−20` cost as much through the fitted exponent.)
pub(super) const TAIL_CUT: f64 = 1.0 / (1u64 << 26) as f64;

/// Probes of the power-law model of a sliver: at `δ0·2^i`, `i = 0..TAIL_PROBES`.
pub(super) const TAIL_PROBES: usize = 5;

/// The integral over `(0, d[0]]` of `f(t)` (at distance `t` from an end), from the model
/// `f ≈ c·t^β·e^{κt}` (a power law times a smooth factor, to first order), fitted on each
/// three neighbouring probes `(d[i], v[i])`: `ln|v| = ln c + β ln d + κ d` is linear in the
/// unknowns. The triple `i` gives the tail
/// `T_i = c·d0^{β+1}·(1/(β+1) + κd0/(β+2) + (κd0)²/(2(β+3)))`. The value is `T_0`; its error
/// is 4 times the largest `|T_i − T_0|`: the model's neglected terms grow at least as `d`
/// from triple to triple (doubling), so `T_0`'s own error is below `|T_1 − T_0|`.
/// Infinite error when the probes change sign, are not finite, or the fitted exponents do
/// not settle (spread over 0.05) or reach −1 (not integrable: the end's own probes decide
/// "diverges").
pub fn power_tail(d: &[f64], v: &[f64]) -> (f64, f64) {
    let n = d.len().min(v.len());
    if n < 4 || v[..n].iter().any(|x| !x.is_finite()) {
        return (0.0, f64::INFINITY);
    }
    if v[..n].iter().all(|&x| x == 0.0) {
        return (0.0, 0.0);
    }
    let sign = v[0].signum();
    if v[..n].iter().any(|&x| x == 0.0 || x.signum() != sign) {
        return (0.0, f64::INFINITY);
    }
    let d0 = d[0];
    let mut tails = Vec::with_capacity(n - 2);
    let mut betas = Vec::with_capacity(n - 2);
    for i in 0..n - 2 {
        // Differences eliminate ln c: two equations in β and κ, by Cramer's rule.
        let (l0, l1, l2) = (v[i].abs().ln(), v[i + 1].abs().ln(), v[i + 2].abs().ln());
        let (a1, b1, r1) = ((d[i + 1] / d[i]).ln(), d[i + 1] - d[i], l1 - l0);
        let (a2, b2, r2) = ((d[i + 2] / d[i + 1]).ln(), d[i + 2] - d[i + 1], l2 - l1);
        let det = a1 * b2 - a2 * b1;
        let beta = (r1 * b2 - r2 * b1) / det;
        let kappa = (a1 * r2 - a2 * r1) / det;
        if !beta.is_finite() || !kappa.is_finite() || beta <= -0.98 {
            return (0.0, f64::INFINITY);
        }
        // c·d0^β from the probe i: v_i = c d_i^β e^{κ d_i}.
        let c_d0 = v[i] * (d0 / d[i]).powf(beta) * (-kappa * d[i]).exp();
        let kd = kappa * d0;
        betas.push(beta);
        tails.push(
            c_d0 * d0 * (1.0 / (beta + 1.0) + kd / (beta + 2.0) + kd * kd / (2.0 * (beta + 3.0))),
        );
    }
    let spread = betas
        .iter()
        .map(|b| (b - betas[0]).abs())
        .fold(0.0, f64::max);
    if spread > 0.05 {
        return (0.0, f64::INFINITY);
    }
    let t0 = tails[0];
    let dev = tails.iter().map(|t| (t - t0).abs()).fold(0.0, f64::max);
    (t0, 4.0 * dev + 64.0 * f64::EPSILON * t0.abs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn power_tail_of_a_power_law_times_a_smooth_factor() {
        use super::power_tail;
        // f(t) = t^{−1/2}(1 + 3t) + 0 on (0, d0]: ∫ = 2√d0 + 2·d0^{3/2} (3·(2/3)).
        let d0 = 1e-8;
        let d: Vec<f64> = (0..5).map(|i| d0 * (1u32 << i) as f64).collect();
        let f = |t: f64| t.powf(-0.5) * (1.0 + 3.0 * t);
        let v: Vec<f64> = d.iter().map(|&t| f(t)).collect();
        let (t, e) = power_tail(&d, &v);
        let exact = 2.0 * d0.sqrt() + 2.0 * d0.powf(1.5);
        assert!(
            (t - exact).abs() <= e && e < 1e-12 * exact,
            "{t} ± {e} vs {exact}"
        );
        // Negative values: the same with the sign.
        let w: Vec<f64> = v.iter().map(|x| -x).collect();
        let (tn, en) = power_tail(&d, &w);
        assert!((tn + exact).abs() <= en, "{tn} ± {en}");
        // t^{−1.2} is not integrable: no finite error.
        let u: Vec<f64> = d.iter().map(|&t| t.powf(-1.2)).collect();
        assert_eq!(power_tail(&d, &u).1, f64::INFINITY);
        // A sign change among the probes: no finite error.
        let mut x = v.clone();
        x[2] = -x[2];
        assert_eq!(power_tail(&d, &x).1, f64::INFINITY);
        // A law that is not a power law, t^{−1/2}(2 + sin(5 ln t)): exponents that
        // wander give an error that still covers, or none.
        let g = |t: f64| t.powf(-0.5) * (2.0 + (5.0 * t.ln()).sin());
        let y: Vec<f64> = d.iter().map(|&t| g(t)).collect();
        let (ty, ey) = power_tail(&d, &y);
        // ∫_0^{d0} t^{−1/2}(2 + sin(5 ln t)) dt = 4√d0 + √d0·(0.5 sin(5L) − 5 cos(5L))/(0.25 + 25)
        // with L = ln d0 (substituting t = e^s: ∫ e^{s/2}(2 + sin 5s) ds).
        let l = d0.ln();
        let exact_g =
            4.0 * d0.sqrt() + d0.sqrt() * (0.5 * (5.0 * l).sin() - 5.0 * (5.0 * l).cos()) / 25.25;
        assert!((ty - exact_g).abs() <= ey, "{ty} ± {ey} vs {exact_g}");
    }
}
