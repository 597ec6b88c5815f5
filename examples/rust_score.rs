//! A score written in Rust, checked end to end.
//!
//! The model is a mixture of two axis-aligned Gaussians in 2-D,
//!
//! ```text
//! q(x) = Σ_k w_k N(x; μ_k, diag(σ_k²)),
//! ∇log q(x) = Σ_k r_k(x) · (−(x − μ_k)/σ_k²),   r_k(x) = w_k N_k(x) / q(x),
//! ```
//!
//! whose score weighs each component's score by its responsibility `r_k(x)`. The density
//! and the hand-derived score are plain Rust structs implementing scorecheck's `Density` and
//! `ScoreField` traits, generic over num-dual numbers, so one code path gives values and
//! exact derivatives. The program runs
//!
//! 1. `scorecheck::check`: the integration-by-parts identity for `p = q` and `s`;
//! 2. `scorecheck::compare_score`: `s` against the exact gradient of `log q`.
//!
//! ```text
//! cargo run --release --example rust_score            # the right score: exit 0
//! cargo run --release --example rust_score -- --buggy # prior weights w_k for r_k(x): exit 1
//! ```

use num_dual::DualNum;
use scorecheck::Outcome;
use scorecheck::{CaseInfo, CheckOptions, check};
use scorecheck::{Density, ScoreField};
use scorecheck::{ScoreOptions, compare_score};
use std::process::ExitCode;

/// A two-component Gaussian mixture with diagonal covariances.
struct Mixture {
    weight: [f64; 2],
    mean: [[f64; 2]; 2],
    sd: [[f64; 2]; 2],
}

impl Mixture {
    /// `ln(w_k N_k(x))` up to the shared constant `−ln 2π`.
    fn log_component<D: DualNum<Primitive = f64> + Copy>(&self, k: usize, x: &[D]) -> D {
        let mut l = D::from(self.weight[k].ln());
        for ((xi, mean), sd) in x.iter().zip(self.mean[k]).zip(self.sd[k]) {
            let z = (*xi - mean) / sd;
            l -= z * z * 0.5 + sd.ln();
        }
        l
    }

    /// The responsibilities `r_k(x)`, by a softmax that cannot overflow.
    fn responsibilities<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> [D; 2] {
        let l = [self.log_component(0, x), self.log_component(1, x)];
        let m = if l[0].re() >= l[1].re() { l[0] } else { l[1] };
        let e = [(l[0] - m).exp(), (l[1] - m).exp()];
        let total = e[0] + e[1];
        [e[0] / total, e[1] / total]
    }
}

impl Density for Mixture {
    fn dim(&self) -> usize {
        2
    }
    /// `ln Σ_k w_k N_k(x)`, as a log-sum-exp that stays finite far in the tails.
    fn log_density<D: DualNum<Primitive = f64> + Copy>(&self, x: &[D]) -> D {
        let l = [self.log_component(0, x), self.log_component(1, x)];
        let m = if l[0].re() >= l[1].re() { l[0] } else { l[1] };
        m + ((l[0] - m).exp() + (l[1] - m).exp()).ln()
    }
}

/// The hand-derived score of [`Mixture`].
struct MixtureScore<'a> {
    q: &'a Mixture,
    /// Weigh the component scores by the prior weights `w_k` instead of `r_k(x)`: a common
    /// slip, which gives the score of one Gaussian rather than of the mixture.
    buggy: bool,
}

impl ScoreField for MixtureScore<'_> {
    fn dim(&self) -> usize {
        2
    }
    fn component<D: DualNum<Primitive = f64> + Copy>(&self, i: usize, x: &[D]) -> D {
        let q = self.q;
        let r = if self.buggy {
            [D::from(q.weight[0]), D::from(q.weight[1])]
        } else {
            q.responsibilities(x)
        };
        let mut s = D::from(0.0);
        for (k, rk) in r.iter().enumerate() {
            let var = q.sd[k][i] * q.sd[k][i];
            s -= *rk * (x[i] - q.mean[k][i]) / var;
        }
        s
    }
}

fn main() -> ExitCode {
    let buggy = std::env::args().any(|a| a == "--buggy");
    let q = Mixture {
        weight: [0.3, 0.7],
        mean: [[-1.5, 1.0], [1.5, -0.5]],
        sd: [[1.0, 1.0], [0.7, 1.2]],
    };
    let s = MixtureScore { q: &q, buggy };
    let domain = [(f64::NEG_INFINITY, f64::INFINITY); 2];
    let info = CaseInfo {
        name: if buggy { "mixture-buggy" } else { "mixture" }.into(),
        vars: vec!["x".into(), "y".into()],
        ..Default::default()
    };

    // 1. The identity behind score matching, for p = q and the hand-written s.
    let report = match check(&q, &s, &domain, &info, &CheckOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", report.to_text());

    // 2. The hand-written s against the exact gradient of log q (q is its own log-model).
    let scored = match compare_score(&q, &s, &q, &domain, &info, &ScoreOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", scored.to_text());

    // The score comparison first: a wrong score decides; else the identity's check.
    let outcome = match scored.outcome() {
        Outcome::Holds => report.outcome(),
        o => o,
    };
    if outcome == Outcome::Holds {
        println!("\nthe hand-written Rust score is the exact score of the model");
    }
    // DESIGN.md's exit codes.
    ExitCode::from(match outcome {
        Outcome::Holds => 0,
        Outcome::Violated => 1,
        Outcome::Undecided => 3,
    })
}
