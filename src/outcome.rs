//! The outcome of any check: it holds, it is violated, or it cannot be decided.
//!
//! Every report of the library answers with one [`Outcome`] (`Report::outcome`,
//! `ScoreReport::outcome`, `Explanation::outcome`, …); a failed check is a result, not an
//! error. Only the command line turns an outcome into a process exit code (DESIGN.md: 0 holds,
//! 1 violated, 3 undecided; 2 is bad input, an `Err`).

use serde::{Deserialize, Serialize};

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every check holds (for the identity: the boundary vanishes, both sides agree, the
    /// objective is finite).
    Holds,
    /// A check is violated, confirmed beyond the reported errors.
    Violated,
    /// A check could not be decided (an integral did not converge, a verdict is open).
    Undecided,
}

impl Outcome {
    fn rank(self) -> u8 {
        match self {
            Outcome::Holds => 0,
            Outcome::Undecided => 1,
            Outcome::Violated => 2,
        }
    }

    /// The worse of two outcomes: a violation outweighs an undecided check, which outweighs
    /// one that holds.
    ///
    /// ```
    /// use scorecheck::Outcome;
    /// assert_eq!(Outcome::Holds.worst(Outcome::Undecided), Outcome::Undecided);
    /// assert_eq!(Outcome::Violated.worst(Outcome::Undecided), Outcome::Violated);
    /// ```
    pub fn worst(self, other: Outcome) -> Outcome {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The worst of several outcomes; [`Outcome::Holds`] for none.
    pub fn all(items: impl IntoIterator<Item = Outcome>) -> Outcome {
        items.into_iter().fold(Outcome::Holds, Outcome::worst)
    }

    /// The outcome of a three-way test: `Some(true)` holds, `Some(false)` violated, `None`
    /// undecided.
    pub fn of(holds: Option<bool>) -> Outcome {
        match holds {
            Some(true) => Outcome::Holds,
            Some(false) => Outcome::Violated,
            None => Outcome::Undecided,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Holds => "holds",
            Outcome::Violated => "violated",
            Outcome::Undecided => "undecided",
        })
    }
}

/// Whether two computations of one quantity agree: within the tolerance or the errors
/// (`agrees`), beyond them (`disagrees`), or not comparable (`undecided`: no point could be
/// compared, an estimate is not trusted, …). One enum for `score` and `estimate` (and the
/// reports built on them: `dsm`, `fisher`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Equal within the tolerance (or the errors) everywhere it was compared.
    Agrees,
    /// Different beyond the tolerance (or the errors) somewhere.
    Disagrees,
    /// Nothing could be compared.
    Undecided,
}

// ---------------------------------------------------------------------------------------------
// The outcome of the reports whose modules are being reorganised (score, estimate, dsm, fisher,
// sweep). They are inherent methods, written here so that every report answers with an
// `Outcome` now; at the merge they move beside their reports and the reports' `exit_code`
// methods (and `Agreement::exit_code` in estimate.rs) go.
// ---------------------------------------------------------------------------------------------

impl From<Agreement> for Outcome {
    fn from(a: Agreement) -> Outcome {
        match a {
            Agreement::Agrees => Outcome::Holds,
            Agreement::Disagrees => Outcome::Violated,
            Agreement::Undecided => Outcome::Undecided,
        }
    }
}

impl From<crate::score::GradientVerdict> for Outcome {
    fn from(g: crate::score::GradientVerdict) -> Outcome {
        use crate::score::GradientVerdict as G;
        match g {
            G::Gradient => Outcome::Holds,
            G::NotGradient => Outcome::Violated,
            G::Undecided => Outcome::Undecided,
        }
    }
}

impl crate::score::ScoreReport {
    /// Violated when a hand-written field or divergence disagrees with the exact derivatives
    /// or the field is not a gradient; undecided when one of them could not be compared.
    pub fn outcome(&self) -> Outcome {
        let v = &self.verdict;
        Outcome::all(
            [v.field.map(Outcome::from), v.divergence.map(Outcome::from)]
                .into_iter()
                .chain([v.gradient.map(Outcome::from)])
                .flatten(),
        )
    }
}

impl crate::estimate::EstimateReport {
    /// The worst comparison of the sample estimators with quadrature.
    pub fn outcome(&self) -> Outcome {
        self.verdict.into()
    }
}

impl crate::dsm::DsmReport {
    /// The worst comparison of DSM with the noised density's objectives.
    pub fn outcome(&self) -> Outcome {
        self.verdict.into()
    }
}

impl crate::fisher::FisherReport {
    /// Holds when integration by parts holds, the boundary term vanishes and esm = ism +
    /// const; when the first two hold, the last decides; otherwise the worst of the three.
    pub fn outcome(&self) -> Outcome {
        use Agreement as A;
        let v = &self.verdict;
        if v.ibp == A::Agrees && v.boundary_vanishes == A::Agrees {
            return v.tractable.into();
        }
        Outcome::all([v.ibp, v.boundary_vanishes, v.tractable].map(Outcome::from))
    }
}

impl crate::sweep::Sweep {
    /// The worst point: violated when `check` is violated at some point, else undecided when
    /// it is undecided at some point.
    pub fn outcome(&self) -> Outcome {
        Outcome::all(self.points.iter().map(|p| p.verdict.outcome()))
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome::{self, *};

    #[test]
    fn worst_orders_violated_over_undecided_over_holds() {
        for (a, b, w) in [
            (Holds, Holds, Holds),
            (Holds, Undecided, Undecided),
            (Undecided, Holds, Undecided),
            (Undecided, Violated, Violated),
            (Violated, Holds, Violated),
            (Violated, Undecided, Violated),
        ] {
            assert_eq!(a.worst(b), w, "{a} {b}");
        }
        assert_eq!(Outcome::all([]), Holds);
        assert_eq!(Outcome::all([Holds, Undecided, Holds]), Undecided);
        assert_eq!(Outcome::of(Some(false)), Violated);
        assert_eq!(Outcome::of(None), Undecided);
    }
}
