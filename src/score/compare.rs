//! Comparing two numbers within a tolerance, and the running account of discrepancies.

use super::points::EvalPoint;
use super::report::Agreement;
use super::report::Discrepancy;
use super::report::Sample;
use super::report::Tolerance;

// Comparing two numbers
// ---------------------------------------------------------------------------------------------

/// `(|a − b|, relative difference, agree?)`; `None` for agree when both are NaN.
pub(super) fn compare(a: f64, b: f64, tol: Tolerance) -> (f64, f64, Option<bool>) {
    if a.is_nan() && b.is_nan() {
        return (f64::NAN, f64::NAN, None);
    }
    if a == b {
        return (0.0, 0.0, Some(true));
    }
    if !a.is_finite() || !b.is_finite() {
        return (f64::INFINITY, f64::INFINITY, Some(false));
    }
    let abs = (a - b).abs();
    let m = a.abs().max(b.abs());
    (abs, abs / m, Some(abs <= tol.atol + tol.rtol * m))
}

/// One quantity compared over the points, as it is being accumulated.
pub(super) struct Acc {
    pub(super) out: Discrepancy,
    /// `(NaN or ∞ on one side, log of the weighted difference)` of `worst`.
    pub(super) worst_key: (bool, f64),
}

impl Acc {
    pub(super) fn new(check: String, a: String, b: String) -> Acc {
        Acc {
            out: Discrepancy {
                check,
                a,
                b,
                compared: 0,
                disagreeing: 0,
                both_nan: 0,
                disagreeing_negligible: 0,
                max_abs: None,
                max_rel: None,
                max_weighted: None,
                worst: None,
                verdict: Agreement::Undecided,
            },
            worst_key: (false, f64::NEG_INFINITY),
        }
    }

    pub(super) fn add(&mut self, pt: &EvalPoint, a: f64, b: f64, tol: Tolerance) {
        let (abs, rel, ok) = compare(a, b, tol);
        let o = &mut self.out;
        if !pt.used {
            if ok == Some(false) {
                o.disagreeing_negligible += 1;
            }
            return;
        }
        let Some(ok) = ok else {
            o.both_nan += 1;
            return;
        };
        o.compared += 1;
        let weighted = if abs == 0.0 {
            0.0
        } else {
            pt.log_p.exp() * abs
        };
        let sample = || Sample {
            at: pt.x.clone(),
            kind: pt.kind,
            log_p: pt.log_p,
            a,
            b,
            abs,
            rel,
            weighted,
        };
        if o.max_abs.as_ref().is_none_or(|s| abs > s.abs) {
            o.max_abs = Some(sample());
        }
        if o.max_rel.as_ref().is_none_or(|s| rel > s.rel) {
            o.max_rel = Some(sample());
        }
        let is_heavier =
            |s: &Sample| weighted > s.weighted || (weighted == s.weighted && pt.log_p > s.log_p);
        if o.max_weighted.as_ref().is_none_or(is_heavier) {
            o.max_weighted = Some(sample());
        }
        if !ok {
            o.disagreeing += 1;
            let key = (abs.is_infinite(), pt.log_p + abs.ln());
            let key = if key.0 { (true, pt.log_p) } else { key };
            if o.worst.is_none() || key > self.worst_key {
                self.worst_key = key;
                o.worst = Some(sample());
            }
        }
    }

    pub(super) fn finish(mut self) -> Discrepancy {
        self.out.verdict = if self.out.disagreeing > 0 {
            Agreement::Disagrees
        } else if self.out.compared == 0 {
            Agreement::Undecided
        } else {
            Agreement::Agrees
        };
        self.out
    }
}

// ---------------------------------------------------------------------------------------------
