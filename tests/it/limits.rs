//! Bounded work on every input (issue 17): cases that once grew memory without limit or ran
//! for minutes, each run through the binary under an address-space limit and a time cap; the
//! limits users see (options beyond their bounds are bad input); and the memory ceiling.

use crate::common::text;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scorecheck");

/// Run the binary in `dir` with 1 GiB of address space and 60 s; `None` if it was killed
/// for the time.
fn run_limited(dir: &Path, args: &[&str]) -> Option<Output> {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let start = Instant::now();
    // Bound: polls until the child ends or 60 s have passed.
    loop {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[track_caller]
fn ends_with(dir: &Path, args: &[&str], code: i32) -> Output {
    let o = run_limited(dir, args).unwrap_or_else(|| panic!("{args:?} ran for over 60 s"));
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}\n--- stdout\n{}\n--- stderr\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(!text(&o.stderr).contains("panicked at"));
    o
}

fn tmp(name: &str) -> std::path::PathBuf {
    crate::common::scratch("limits", name)
}

/// The two cases of issue 17: log p̃ of 1e250 and 3.8e269 at the maximum, where doubles are
/// 1.6e234 and 5.9e253 apart, so a drop of ½ (a mode's width) cannot be represented. They
/// grew `locate::axis_pieces` until the allocation failed; now they are undecided, saying why.
#[test]
fn log_density_beyond_double_resolution_is_undecided() {
    let dir = tmp("resolution");
    for (ld, dom) in [("1e250*sin(x)^2", "0:5"), ("1e270*(x - x^3)", "-1:1")] {
        let args = [
            "check",
            "--log-density",
            ld,
            "--score",
            "-x",
            "--domain",
            dom,
        ];
        let o = ends_with(&dir, &args, 3);
        let err = text(&o.stderr);
        assert!(
            err.contains("undecided: log p̃ reaches") && err.contains("double precision"),
            "{err}"
        );
        // The JSON report has every verdict undecided and the reason in the notes.
        let mut json = args.to_vec();
        json.push("--json");
        let o = ends_with(&dir, &json, 3);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["verdict"]["ibp"], "undecided");
        assert_eq!(v["verdict"]["boundary"], "undecided");
        assert_eq!(v["verdict"]["objective"], "undecided");
        assert!(v["notes"][0].as_str().unwrap().contains("log p̃ reaches"));
        assert!(v["objective"]["esm"]["value"].is_null());
    }
}

/// A mode 7e-126 wide at x = 1, where doubles are 2.2e-16 apart: a point mass as far as
/// doubles can tell (it used to be "integrates to 0", exit 2: bad input, which it is not).
#[test]
fn mode_narrower_than_doubles_is_undecided() {
    let dir = tmp("narrow");
    let args = [
        "check",
        "--log-density",
        "-1e250*(x-1)^2",
        "--score",
        "-x",
        "--domain",
        "0:5",
    ];
    let o = ends_with(&dir, &args, 3);
    assert!(text(&o.stderr).contains("fewer than 1e6 doubles"));
}

/// The same mode at 0, where doubles are dense: resolved and integrated. p ∝ e^{−a x²} with
/// a = 1e250 on [−1, 1] (the mass beyond ±1 is e^{−1e250}: none), s = −x, ∇log p = −2a x:
/// E x² = 1/(2a), so esm = ½(2a − 1)² E x² = a − 1 + 1/(4a), ism = E[½x² − 1] = 1/(4a) − 1,
/// const = ½(2a)² E x² = a; to double precision esm = const = 1e250 and ism = −1.
/// (The cut points of axis_pieces were merged within an absolute 1e-12, which removed the
/// mass: "integrates to 0".)
#[test]
fn mode_1e_125_wide_at_zero_is_integrated() {
    let dir = tmp("narrow0");
    let o = ends_with(
        &dir,
        &[
            "check",
            "--log-density",
            "-1e250*x^2",
            "--score",
            "-x",
            "--domain",
            "-1:1",
            "--json",
        ],
        0,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let q = |path: &[&str]| {
        let mut x = &v;
        for p in path {
            x = &x[*p];
        }
        (x["value"].as_f64().unwrap(), x["error"].as_f64().unwrap())
    };
    let (esm, e_esm) = q(&["objective", "esm"]);
    let (c, e_c) = q(&["objective", "const"]);
    let (ism, e_ism) = q(&["objective", "ism"]);
    // Within the reported errors plus the rounding of 1e250 (relative 1e-16).
    assert!(
        (esm - 1e250).abs() <= e_esm + 1e235,
        "esm {esm:e} ± {e_esm:e}"
    );
    assert!((c - 1e250).abs() <= e_c + 1e235, "const {c:e} ± {e_c:e}");
    assert!((ism + 1.0).abs() <= e_ism + 1e-15, "ism {ism} ± {e_ism:e}");
    assert!(e_esm <= 1e-6 * 1e250 && e_ism <= 1e-6);
}

/// Found by the fuzz (seed 20261201, case 631): in 4-D, a mode 1e-178 from a domain end got
/// about 180 geometric cuts per axis; the cells (their product) and the cubature's first
/// cut asked for gigabytes. Now the cells are at most `locate::MAX_CELLS`, and the run ends
/// within the limits (undecided at this budget).
#[test]
fn many_cuts_in_4d_stay_within_memory() {
    let dir = tmp("cells");
    std::fs::write(
        dir.join("case.toml"),
        // The case is shared with the library's test of its cells (src/tests.rs).
        include_str!("../data/many_cuts_4d.toml"),
    )
    .unwrap();
    let o = run_limited(&dir, &["explain", "case.toml", "--max-evals=20000"])
        .expect("ends within 60 s");
    let code = o.status.code();
    assert!(matches!(code, Some(0..=3)), "{code:?}\n{}", text(&o.stderr));
    // The pieces the cubature sees: `tests::many_cuts_in_4d_give_at_most_max_cells` in the
    // library (locate is internal).
}

/// Also from the fuzz (seed 17, case 170): a density constant in two unbounded variables is
/// not integrable — bad input, said at once (it aborted on a 580 MB allocation).
#[test]
fn flat_in_unbounded_variables_is_not_integrable() {
    let dir = tmp("flat");
    std::fs::write(
        dir.join("case.toml"),
        r#"vars = ["x", "y", "z", "w"]
domain = [[-inf, inf], [2.640420696334674e-42, 1e0], [-1.9300754949602588e-166, 3.98253950042702e0], [-inf, inf]]
params = { mu = 1.6786436312964326e267 }
[density]
log = "floor(cosh(-y))"
[score]
field = ["acos(cosh((9.606e106 - 3)))", "-y", "max(mu, (-2.859e74), (z - (y + z)))", "-mu"]
log_model = "z"
"#,
    )
    .unwrap();
    let o = ends_with(&dir, &["check", "case.toml", "--max-evals=20000"], 2);
    assert!(
        text(&o.stderr).contains("not integrable"),
        "{}",
        text(&o.stderr)
    );
}

/// Options beyond their bounds are bad input, refused before any work.
#[test]
fn options_beyond_their_bounds_are_bad_input() {
    let dir = tmp("options");
    std::fs::write(
        dir.join("case.toml"),
        "[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"-x\"]\nlog_model = \"-x^2/2\"\n",
    )
    .unwrap();
    for (args, msg) in [
        (
            vec!["score", "case.toml", "--points", "1000001"],
            "points must be at most 1000000",
        ),
        (
            vec!["estimate", "case.toml", "--n", "4000001"],
            "--n must be at most 4000000",
        ),
        (
            vec!["estimate", "case.toml", "--chains", "257"],
            "--chains must be at most 256",
        ),
        (
            vec!["estimate", "case.toml", "--burn-in", "1000000000"],
            "MALA steps",
        ),
        (
            vec!["estimate", "case.toml", "--probes-per-draw", "1025"],
            "--probes-per-draw must be at most 1024",
        ),
        (
            vec!["dsm", "case.toml", "--n", "4000001"],
            "--n must be at most 4000000",
        ),
    ] {
        let start = Instant::now();
        let o = ends_with(&dir, &args, 2);
        assert!(
            text(&o.stderr).contains(msg),
            "{args:?}: {}",
            text(&o.stderr)
        );
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(start.elapsed() < Duration::from_secs(60));
    }
}

/// `explain` and `plot` of a case that cannot be computed: undecided (exit 3) with the
/// reason; explain claims no step on numbers it does not have (its step 1 said "✓ a finite
/// number" and the sums showed "0 ± 0"); plot writes nothing (it said "bad input").
#[test]
fn explain_and_plot_of_an_unresolvable_case_are_undecided() {
    let dir = tmp("unresolvable");
    std::fs::write(
        dir.join("case.toml"),
        "[density]\nlog = \"1e250*sin(x)^2\"\n[score]\nfield = [\"-x\"]\n",
    )
    .unwrap();
    let o = ends_with(&dir, &["explain", "case.toml"], 3);
    let out = text(&o.stdout);
    let step1 = out
        .lines()
        .find(|l| l.starts_with("step 1"))
        .expect("a step 1");
    assert!(!step1.contains('✓'), "{out}");
    // Step 2's right side is a sum of quantities that were not computed: no value.
    let step2 = out.split("step 2").nth(1).expect("a step 2");
    let right2 = step2
        .lines()
        .find(|l| l.trim_start().starts_with("right"))
        .unwrap();
    assert_eq!(right2.trim(), "right = —", "{out}");
    let _ = std::fs::remove_file(dir.join("out.svg"));
    let o = ends_with(&dir, &["plot", "case.toml", "--out", "out.svg"], 3);
    assert!(text(&o.stderr).contains("undecided: log p̃ reaches"));
    assert!(!dir.join("out.svg").exists());
}

/// Found by the fuzz (seed 20261203, case 35481: `plot --kind convergence` ran for minutes):
/// the final lhs of a narrow mode (σ = 0.03 next to the end of a 1-D domain) had an
/// infinite error, the figure's y axis then ended at +∞ and plotters looked for its tick
/// marks forever. The figure is written.
#[test]
fn convergence_figure_with_an_infinite_error_is_drawn() {
    let dir = tmp("convergence");
    std::fs::write(
        dir.join("case.toml"),
        "vars = [\"u\"]\ndomain = [[-2e0, 3.039414420313644e0]]\n[density]\npdf = \"exp(-(u - (-2.670e-173))^2/(2*1e-3) + 0.84)\"\n[score]\nfield = [\"-u\"]\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join("out.svg"));
    ends_with(
        &dir,
        &[
            "plot",
            "case.toml",
            "--out=out.svg",
            "--kind=convergence",
            "--max-evals=20000",
        ],
        0,
    );
    assert!(dir.join("out.svg").exists());
}

/// Found by the fuzz (seed 9, case 1038: `plot --kind identity` ran until killed): values near
/// ±1.8e308 on the score axis made its range overflow to ±∞, and plotters looked for tick
/// marks forever. Every axis is now finite (`plot::axis`), and the figure is written. The
/// fuzz's case was a density growing in both tails (`exp(+(x − e)²/6.9e50)`), which the
/// log-space evaluation of a pdf now refuses as not integrable; the field `1e308*sinh(x)` on a
/// Gaussian reaches the same values (main before the fix: killed by a 15 s timeout).
#[test]
fn identity_figure_with_huge_values_is_drawn() {
    let dir = tmp("identity-huge");
    std::fs::write(
        dir.join("case.toml"),
        "vars = [\"x\"]\n[density]\nlog = \"-x^2/2\"\n[score]\nfield = [\"1e308*sinh(x)\"]\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join("out.svg"));
    ends_with(
        &dir,
        &[
            "plot",
            "case.toml",
            "--out=out.svg",
            "--kind=identity",
            "--max-evals=2000",
            "--tol=1e-3",
        ],
        0,
    );
    assert!(dir.join("out.svg").exists());
}

/// A density that does not decay towards an infinite end is bad input with the reason, for
/// check and score alike: e^{x²/100} and e^{(x−1)²/6.9e50} on the line have no width to fall
/// by ½ in (they said "zero or undefined everywhere it was evaluated").
#[test]
fn a_density_that_does_not_decay_is_not_integrable() {
    let dir = tmp("no-decay");
    for log in ["x^2/100", "(x-1)^2/6.9e50"] {
        for cmd in ["check", "score"] {
            let o = ends_with(
                &dir,
                &[
                    cmd,
                    "--log-density",
                    log,
                    "--score",
                    "-x",
                    "--log-model",
                    "-x^2/2",
                ],
                2,
            );
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("not integrable"), "{cmd} {log}: {err}");
        }
    }
}

/// Found by the fuzz on the merged tree (seed 1796172553, case 1846: `explain` killed after
/// 60 s of CPU): the weight's `1.5 % y` switches at every y = 1.5/n, and its 256 breakpoints
/// on one axis of a 4-D case multiplied the cells past the cell bound. The breakpoints now
/// thin out to keep the cells within `MAX_CELLS` (3 s, exit 3 at this budget).
#[test]
fn many_breakpoints_in_4d_stay_within_the_cell_bound() {
    let dir = tmp("many-breaks-4d");
    std::fs::write(dir.join("case.toml"), "name = \"fuzz\"\nvars = [\"x\", \"y\", \"z\", \"w\"]\ndomain = [[2e0, 1.2183930305477076e25], [0, inf], [0, inf], [-2.4247644671850878e-133, 3.659396180165132e128]]\nparams = { mu = 7.113089076513349e-1, s = 1.1351396402097025e0 }\nweight = \"softplus((1.5 % y))\"\n\n[density]\nlog = \"-x^4 + -y^4 + -z^2/2 + -(w - 8.035e-68)^2/(2*pi) + e*tanh(e)\"\n\n[score]\nfield = [\"(arcsin((4 ** y)) ^ (log10(x) ^ y))\", \"-(y - 2.906e-14)/(-3.395e-231)\", \"y\", \"(signum(mu) ** z)\"]\n").unwrap();
    for cmd in ["check", "explain"] {
        ends_with(&dir, &[cmd, "case.toml", "--max-evals=2000"], 3);
    }
}
