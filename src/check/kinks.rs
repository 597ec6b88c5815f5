//! The switches of the case's expressions that no cell boundary follows (a `max` or an `abs`
//! of several variables, or any switch once the cubature runs in a turned frame), for the
//! cubature's test of regions across them ([`crate::quad::Branches`]).

use super::CheckOptions;
use crate::expr::{Switch, SwitchKind};
use crate::frame::Frame;
use crate::quad::Branches;

/// The switches a cubature in `frame` (or the coordinates) meets inside its regions.
pub(super) struct SwitchTest<'a> {
    switches: Vec<&'a Switch>,
    /// Per switch, the integrands it changes (all `k`, or all but Z for the field's).
    touches: Vec<Vec<bool>>,
    frame: Option<&'a Frame>,
    d: usize,
}

impl<'a> SwitchTest<'a> {
    /// In the coordinates, a switch of one variable is cut along its axis by the breakpoints
    /// (`breaks::find_breaks`), so only those of several variables are met; in a turned
    /// frame, every one.
    pub(super) fn new(
        opts: &'a CheckOptions,
        frame: Option<&'a Frame>,
        d: usize,
        k: usize,
    ) -> Self {
        let first_field = opts.switches.len().saturating_sub(opts.field_switches);
        let mut switches = vec![];
        let mut touches = vec![];
        for (i, sw) in opts.switches.iter().enumerate() {
            if frame.is_none() && sw.used_vars().len() < 2 {
                continue;
            }
            switches.push(sw);
            touches.push((0..k).map(|j| j > 0 || i < first_field).collect());
        }
        SwitchTest {
            switches,
            touches,
            frame,
            d,
        }
    }

    pub(super) fn count(&self) -> usize {
        self.switches.len()
    }

    /// `run` with these switches as the cubature's [`Branches`].
    pub(super) fn with_branches<R>(&self, run: impl FnOnce(Option<&Branches>) -> R) -> R {
        let test = |zs: &[f64], n: usize, out: &mut [f64]| self.eval(zs, n, out);
        let branches = Branches {
            eval: &test,
            count: self.count(),
            touches: self.touches.clone(),
        };
        run(Some(&branches))
    }

    /// The branch of each switch at each of `n` points `zs` (`zs[v * n + l]`, in the frame's
    /// coordinates), `out[l * count + s]`; NaN where the value is not finite.
    pub(super) fn eval(&self, zs: &[f64], n: usize, out: &mut [f64]) {
        let d = self.d;
        let mapped = self.frame.map(|f| {
            let mut x = vec![0.0; d * n];
            f.to_x_batch(zs, n, &mut x);
            x
        });
        let xs = mapped.as_deref().unwrap_or(zs);
        let c = self.count();
        let mut x = [0.0; crate::model::MAX_DIM];
        let mut stack = vec![];
        for l in 0..n {
            for (v, xv) in x.iter_mut().enumerate().take(d) {
                *xv = xs[v * n + l];
            }
            // A point on the switch (to rounding) is on neither side: the line through a
            // logistic's mode, −|t| − 2 ln(1 + e^−|t|), lies on the cells' boundary in its
            // frame, and its corners there, at t = ±1e-17, made every region along it seem
            // to cross it.
            let near = 1e-10 * x[..d].iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (s, sw) in self.switches.iter().enumerate() {
                let v = sw.eval_with(&x[..d], &mut stack);
                let off = match sw.kind {
                    SwitchKind::Sign => v,
                    SwitchKind::Integer => v - v.round(),
                    SwitchKind::HalfInteger => (v - 0.5) - (v - 0.5).round(),
                };
                out[l * c + s] = if off.abs() <= near * (1.0 + v.abs()) {
                    f64::NAN
                } else {
                    crate::breaks::branch(sw.kind, v).unwrap_or(f64::NAN)
                };
            }
        }
    }
}
