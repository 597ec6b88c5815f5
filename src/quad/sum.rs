//! An integral's estimate (value, error, evaluations) and compensated summation.

/// An integral's estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    /// The value.
    pub value: f64,
    /// An estimate of the absolute error, meant to be at least the real error.
    pub error: f64,
    /// Integrand evaluations spent.
    pub evals: u64,
}

/// Add `v` to the running sum `s`, keeping the rounding error in `c` (Knuth's branch-free
/// two-sum); the compensated total is `s + c`.
#[inline(always)]
pub(super) fn two_sum_add(s: &mut f64, c: &mut f64, v: f64) {
    let t = *s + v;
    let bv = t - *s;
    *c += (*s - (t - bv)) + (v - bv);
    *s = t;
}

/// A compensated sum: the running sum and the rounding errors it has dropped.
#[derive(Clone, Copy, Default)]
pub(super) struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    #[inline]
    pub(super) fn add(&mut self, v: f64) {
        two_sum_add(&mut self.sum, &mut self.comp, v);
    }
    pub(super) fn total(self) -> f64 {
        self.sum + self.comp
    }
}
