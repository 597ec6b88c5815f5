//! Breakpoints: where an expression changes branch (a kink or a jump of `abs`, `signum`,
//! `max`, `min`, `floor`, `ceil`, `round`, `%`), found from the expression itself, so the
//! quadrature can cut the domain there instead of meeting a kink inside a piece.
//!
//! Each [`Switch`] of an expression (the argument whose sign, or crossing of an integer,
//! switches a branch) that depends on a single variable `x_i` is scanned along axis `i`
//! over where the mass is — ±40 mode widths around each mode, and the whole axis when it
//! is finite — at 512 points per stretch; every change of branch between two neighbouring
//! samples is narrowed by bisection to adjacent doubles. A switch that depends on several
//! variables does not give axis-aligned cuts and is left to the adaptive cubature.

use crate::expr::{Switch, SwitchKind};
use crate::locate::Mode;

/// The most breakpoints kept per axis (a `floor` of a steep function could give many).
pub const MAX_BREAKS: usize = 256;

/// Samples per stretch of the scan.
const SAMPLES: usize = 512;

/// The branch a switch value is on: its sign, or which integer interval it is in.
pub(crate) fn branch(kind: SwitchKind, v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    Some(match kind {
        SwitchKind::Sign => {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        SwitchKind::Integer => v.floor(),
        SwitchKind::HalfInteger => (v - 0.5).floor(),
    })
}

/// Breakpoints per axis of the box `domain` from the switches, around the `modes`: sorted,
/// strictly inside the domain, at most [`MAX_BREAKS`] per axis.
pub fn find_breaks(switches: &[Switch], domain: &[(f64, f64)], modes: &[Mode]) -> Vec<Vec<f64>> {
    let d = domain.len();
    let mut out = vec![vec![]; d];
    for sw in switches {
        let used = sw.used_vars();
        let [i] = used[..] else { continue };
        if i >= d {
            continue;
        }
        let (a, b) = domain[i];
        let mut stretches: Vec<(f64, f64)> = modes
            .iter()
            .map(|m| {
                let (c, s) = (m.x[i], m.scale[i]);
                ((c - 40.0 * s).max(a), (c + 40.0 * s).min(b))
            })
            .collect();
        if a.is_finite() && b.is_finite() {
            stretches.push((a, b));
        }
        let base: Vec<f64> = modes.first().map(|m| m.x.clone()).unwrap_or(vec![0.0; d]);
        let at = |t: f64| {
            let mut x = base.clone();
            x[i] = t;
            branch(sw.kind, sw.eval(&x))
        };
        for (lo, hi) in stretches {
            if lo >= hi || !lo.is_finite() || !hi.is_finite() {
                continue;
            }
            let mut prev: Option<(f64, f64)> = None;
            for k in 0..=SAMPLES {
                let t = lo + (hi - lo) * (k as f64 / SAMPLES as f64);
                let Some(br) = at(t) else {
                    prev = None;
                    continue;
                };
                if let Some((t0, b0)) = prev
                    && br != b0
                    && out[i].len() < MAX_BREAKS
                {
                    out[i].push(narrow(&at, sw.kind, t0, b0, t));
                }
                prev = Some((t, br));
            }
        }
    }
    for (i, v) in out.iter_mut().enumerate() {
        let (a, b) = domain[i];
        v.retain(|&x| x > a && x < b);
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    out
}

/// Bisect between `lo` (on branch `b_lo`) and `hi` (on another) down to adjacent doubles;
/// the point returned is the one where the branch changes (the upper of the two, or the
/// lower when it sits exactly on the switch, as `max(0, x − 1)` does at `x = 1`).
fn narrow(
    at: &impl Fn(f64) -> Option<f64>,
    kind: SwitchKind,
    mut lo: f64,
    b_lo: f64,
    mut hi: f64,
) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if at(mid) == Some(b_lo) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // A sign switch that is exactly 0 at a double: the kink is there.
    if kind == SwitchKind::Sign && at(lo) == Some(0.0) {
        lo
    } else {
        hi
    }
}

/// Merge breakpoints given per axis (from the case file or the command line) with those
/// found: sorted, deduplicated, strictly inside the domain.
pub fn merge(given: &[Vec<f64>], found: &[Vec<f64>], domain: &[(f64, f64)]) -> Vec<Vec<f64>> {
    (0..domain.len())
        .map(|i| {
            let (a, b) = domain[i];
            let mut v: Vec<f64> = given
                .get(i)
                .into_iter()
                .chain(found.get(i))
                .flatten()
                .copied()
                .filter(|&x| x > a && x < b)
                .collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Program;

    fn mode(x: f64) -> Mode {
        Mode {
            x: vec![x],
            logp: 0.0,
            scale: vec![1.0],
        }
    }

    #[test]
    fn relu_kink_is_found_exactly() {
        let p = Program::compile("-x + 0.5*max(0, x - 1)", &["x".into()], &[]).unwrap();
        let b = find_breaks(
            &p.switches(),
            &[(f64::NEG_INFINITY, f64::INFINITY)],
            &[mode(0.0)],
        );
        assert_eq!(b, vec![vec![1.0]]);
    }

    #[test]
    fn floor_gives_every_integer_in_reach() {
        // floor(x) on [0, 3.5]: jumps at 1, 2 and 3.
        let p = Program::compile("floor(x)", &["x".into()], &[]).unwrap();
        let b = find_breaks(&p.switches(), &[(0.0, 3.5)], &[mode(1.0)]);
        assert_eq!(b, vec![vec![1.0, 2.0, 3.0]]);
    }

    #[test]
    fn abs_in_two_variables_cuts_only_its_axis() {
        let vars = ["x".to_string(), "y".to_string()];
        let p = Program::compile("-abs(y - 0.25) - x^2 - abs(x + y)", &vars, &[]).unwrap();
        let m = Mode {
            x: vec![0.0, 0.0],
            logp: 0.0,
            scale: vec![1.0, 1.0],
        };
        let inf = (f64::NEG_INFINITY, f64::INFINITY);
        let b = find_breaks(&p.switches(), &[inf, inf], &[m]);
        assert_eq!(b, vec![vec![], vec![0.25]]);
    }
}
