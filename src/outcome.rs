//! The outcome of any check: it holds, it is violated, or it cannot be decided.
//!
//! Every report of the library answers with one [`Outcome`] (`Report::outcome`,
//! `ScoreReport::outcome`, `Explanation::outcome`, …); a failed check is a result, not an
//! error. Only the command line turns an outcome into a process's exit status, with the number
//! [`Outcome::exit_code`] gives (DESIGN.md: 0 holds, 1 violated, 3 undecided; 2 is bad input,
//! an `Err`).

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

    /// DESIGN.md's number for the outcome: 0 holds, 1 violated, 3 undecided (2 is bad input,
    /// never an outcome). The one place it is written: the binary exits with it, and the
    /// sweep's JSON and the Python reports write it as `exit_code`.
    ///
    /// ```
    /// use scorecheck::Outcome;
    /// assert_eq!(Outcome::Undecided.exit_code(), 3);
    /// ```
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Holds => 0,
            Outcome::Violated => 1,
            Outcome::Undecided => 3,
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

impl From<Agreement> for Outcome {
    fn from(a: Agreement) -> Outcome {
        match a {
            Agreement::Agrees => Outcome::Holds,
            Agreement::Disagrees => Outcome::Violated,
            Agreement::Undecided => Outcome::Undecided,
        }
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
