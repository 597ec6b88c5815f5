//! The text reports pinned by snapshots (insta): `check`, `score` and `explain` on a few
//! cases of `examples/cases/` and `proofs/cases/`, through the real binary. Every number in
//! them is deterministic (no timings, no thread-dependent sums); a change shows as a diff in
//! `tests/snapshots/`, reviewed with `cargo insta review`.

use std::process::Command;

/// Run the binary; the snapshot holds stdout, then the exit code and stderr.
fn output(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_scorecheck"))
        .args(args)
        .output()
        .expect("the binary runs");
    format!(
        "{}\n--- exit code {}\n--- stderr\n{}",
        String::from_utf8(out.stdout).expect("UTF-8"),
        out.status.code().expect("an exit code"),
        String::from_utf8(out.stderr).expect("UTF-8")
    )
}

macro_rules! snapshot {
    ($name:ident, $($arg:expr),+) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), output(&[$($arg),+]));
        }
    };
}

// check: holds, a nonzero boundary term, a jump, a weighted identity, two variables.
snapshot!(check_gauss, "check", "examples/cases/gauss.toml");
snapshot!(check_half_normal, "check", "proofs/cases/half-normal.toml");
snapshot!(check_jump, "check", "examples/cases/jump.toml");
snapshot!(
    check_weighted,
    "check",
    "proofs/cases/half-normal-weighted.toml"
);
snapshot!(check_corr2d, "check", "examples/cases/corr2d.toml");

// score: agrees, a wrong sign (counterexamples on stderr), not a gradient.
snapshot!(score_correct, "score", "examples/cases/score-correct.toml");
snapshot!(score_sign, "score", "examples/cases/score-sign.toml");
snapshot!(score_curl, "score", "examples/cases/score-curl.toml");

// explain: every step holds, the boundary step fails, a jump, the weighted walk, Markdown.
snapshot!(
    explain_gauss_mismatch,
    "explain",
    "proofs/cases/gauss-mismatch.toml"
);
snapshot!(
    explain_half_normal,
    "explain",
    "proofs/cases/half-normal.toml"
);
snapshot!(explain_jump, "explain", "examples/cases/jump.toml");
snapshot!(
    explain_weighted,
    "explain",
    "proofs/cases/half-normal-weighted.toml"
);
snapshot!(
    explain_markdown_half_normal,
    "explain",
    "proofs/cases/half-normal.toml",
    "--markdown"
);
