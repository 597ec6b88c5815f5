//! Unit tests of internals that were integration tests before the modules went private
//! (the quadrature's region ceiling, locate's widths and cells, the estimators' probe
//! variances, the comparison of a Monte Carlo mean, the polygamma functions): the same tests,
//! moved from `tests/it/limits.rs`, `estimators.rs` and `functions.rs`.

use crate::MAX_DIM;
use crate::estimators::estimate::{Probe, probe_variance, rademacher_moments};
use crate::expr::special;
use crate::stats::{Agreement, McMean, compare};

/// The memory ceiling of a cubature holds a 4-D check with the default budget far below it:
/// 20 million evaluations at 57 points a rule and two rules a split make at most 175 439
/// regions, against the ceiling's 486 296 for the 13 integrands of a 4-D check (and 300 000
/// and more for the 24 of a weighted one).
#[test]
fn default_budget_stays_below_the_region_ceiling() {
    let default = crate::CheckOptions::default().max_evals as usize;
    let regions_used = default / (2 * 57) + 81 * 16;
    for k in [13, 24] {
        let cap = crate::quad::max_regions(4, k);
        assert!(
            regions_used * 3 / 2 < cap,
            "{regions_used} regions against a ceiling of {cap}"
        );
    }
}

/// Found by the fuzz (seed 3, case 697: `plot --kind boundary` took 17 s): a mode 1e-165 from
/// a domain end got the width √(1 · 1e-165) = 3e-83 (the room left to the end taken as a
/// half width), hence ~90 geometric cuts of that axis and ~90 pieces in every face integral.
/// The room is not a half width: for `−u²/2` the drop by ½ is at u = 1, so the width is 1.
#[test]
fn a_domain_end_next_to_a_mode_does_not_shrink_its_width() {
    let spec = crate::parse_case(
        "vars = [\"u\", \"v\"]\ndomain = [[-9.4e-166, 5.14], [0, inf]]\n[density]\nlog = \"-u^2/2 - v^2/2 + v\"\n[score]\nfield = [\"v\", \"-v\"]\n",
        "case.toml",
        "case",
    )
    .unwrap();
    let case = spec.compile(&[], false).unwrap();
    let loc = crate::locate::locate(&case.density, &case.domain).unwrap();
    let m = &loc.modes[0];
    assert!((m.scale[0] - 1.0).abs() < 1e-9, "width {:e}", m.scale[0]);
    assert!(loc.pieces[0].len() <= 4, "{} pieces", loc.pieces[0].len());
}

/// The locate half of `tests/it/limits.rs`'s `many_cuts_in_4d_stay_within_memory` (found by
/// the fuzz, seed 20261201, case 631): a mode 1e-178 from a domain end got about 180
/// geometric cuts per axis; the cells are at most `locate::MAX_CELLS`.
#[test]
fn many_cuts_in_4d_give_at_most_max_cells() {
    let spec = crate::parse_case(
        include_str!("../tests/data/many_cuts_4d.toml"),
        "case.toml",
        "case",
    )
    .unwrap();
    let case = spec.compile(&[], false).unwrap();
    let loc = crate::locate::locate(&case.density, &case.domain).unwrap();
    let cells: usize = loc.pieces.iter().map(Vec::len).product();
    assert!(cells <= crate::locate::MAX_CELLS, "{cells} cells");
}

#[test]
fn rademacher_average_over_all_signs_is_the_trace() {
    // Non-symmetric 4×4 matrices with entries of mixed size and sign (a fixed LCG, so the
    // test is deterministic); the average over all 16 sign vectors must be tr J to 1e-12 and
    // the variance the closed form.
    let mut state: u64 = 12345;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 20.0
    };
    for _ in 0..200 {
        let mut j = [[0.0; MAX_DIM]; MAX_DIM];
        for row in j.iter_mut() {
            for v in row.iter_mut() {
                *v = next();
            }
        }
        for d in 1..=4 {
            let tr: f64 = (0..d).map(|i| j[i][i]).sum();
            let (m, v) = rademacher_moments(&j, d);
            assert!((m - tr).abs() <= 1e-12 * (1.0 + tr.abs()), "{m} vs {tr}");
            let want = probe_variance(&j, d, Probe::Rademacher);
            assert!((v - want).abs() <= 1e-12 * (1.0 + want), "{v} vs {want}");
        }
    }
}

#[test]
fn a_wrong_reference_disagrees_and_a_small_sample_is_undecided() {
    let mc = McMean {
        mean: 1.0,
        se: 0.01,
        n: 10_000,
        ess: 10_000.0,
        rhat: 1.0,
        max_share: 0.001,
    };
    assert_eq!(compare(&mc, Some(1.03), 0.0, 100.0).0, Agreement::Agrees);
    assert_eq!(compare(&mc, Some(1.05), 0.0, 100.0).0, Agreement::Disagrees);
    assert_eq!(compare(&mc, Some(1.05), 0.02, 100.0).0, Agreement::Agrees);
    let few = McMean { ess: 50.0, ..mc };
    assert_eq!(compare(&few, Some(1.0), 0.0, 100.0).0, Agreement::Undecided);
    let heavy = McMean {
        max_share: 0.8,
        ..mc
    };
    assert_eq!(
        compare(&heavy, Some(1.0), 0.0, 100.0).0,
        Agreement::Undecided
    );
    let stuck = McMean { rhat: 1.3, ..mc };
    assert_eq!(
        compare(&stuck, Some(1.0), 0.0, 100.0).0,
        Agreement::Undecided
    );
    assert_eq!(compare(&mc, None, 0.0, 100.0).0, Agreement::Undecided);
}

#[test]
fn polygamma_against_mpmath() {
    // mpmath: psi(1, x) and psi(2, x) at 50 digits (printed by scripts/special_values.py's
    // lgamma rows as the 2nd and 3rd derivatives); independent spot values here:
    // psi(1, 1) = π²/6, psi(2, 1) = -2ζ(3), psi(1, 1/2) = π²/2, psi(1, -0.5) = π²/2 + 4
    // (reflection: ψ'(x) + ψ'(1-x) = π²/sin²(πx); at -0.5: π² - ψ'(1.5) and
    // ψ'(1.5) = ψ'(0.5) - 4 = π²/2 - 4).
    let pi2 = std::f64::consts::PI.powi(2);
    let zeta3 = 1.202_056_903_159_594_3;
    let cases = [
        (special::trigamma(1.0), pi2 / 6.0),
        (special::tetragamma(1.0), -2.0 * zeta3),
        (special::trigamma(0.5), pi2 / 2.0),
        (special::trigamma(-0.5), pi2 / 2.0 + 4.0),
        // ψ''(1/2) = -14 ζ(3).
        (special::tetragamma(0.5), -14.0 * zeta3),
    ];
    for (i, (g, w)) in cases.iter().enumerate() {
        assert!((g - w).abs() <= 1e-14 * w.abs(), "case {i}: {g} vs {w}");
    }
}
