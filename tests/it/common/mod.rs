//! Helpers shared by the tests that run the real binary.
#![allow(dead_code)] // each test file uses a different subset

pub mod fuzz_gen;

use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_scorecheck");

/// Run the binary in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the scorecheck binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

#[track_caller]
pub fn exit_code(o: &Output, expected: i32) {
    assert_eq!(
        o.status.code(),
        Some(expected),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Bad input: exit 2, nothing on stdout, and `first` as the first line of stderr, which is
/// returned whole.
#[track_caller]
pub fn bad_input(dir: &Path, args: &[&str], first: &str) -> String {
    let o = run_in(dir, args);
    exit_code(&o, 2);
    assert_eq!(stdout(&o), "", "nothing is written on bad input");
    let err = stderr(&o);
    assert_eq!(
        err.lines().next(),
        Some(first),
        "first line of stderr:\n{err}"
    );
    err
}

/// The case files of `examples/cases/` whose names `keep`, sorted.
pub fn gallery_files(keep: impl Fn(&str) -> bool) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cases");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".toml") && keep(&n)
        })
        .collect();
    files.sort();
    files
}

/// The exit code a case file's header comment states after `marker` (e.g. `-> exit 1`).
pub fn header_exit(path: &Path, marker: &str) -> i32 {
    std::fs::read_to_string(path)
        .expect("read case")
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.split(marker).nth(1))
        .and_then(|s| s.trim().trim_end_matches('.').parse().ok())
        .unwrap_or_else(|| panic!("{}: no `{marker}N` in the header", path.display()))
}

/// The repository root (examples and proofs are named relative to it).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary in the repository root.
pub fn run(args: &[&str]) -> Output {
    run_in(root(), args)
}

/// Lossy UTF-8 text of a child's output.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A folder `area/test` of its own under cargo's temporary folder for tests, kept between runs;
/// errors name files relative to it, so messages do not depend on where the target folder is.
pub fn scratch(area: &str, test: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(area).join(test);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// [`scratch`], emptied first.
pub fn fresh(area: &str, test: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(area).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// `check` with default options on a case file's text, in-process; panics on bad input.
pub fn check_toml(toml: &str) -> scorecheck::Report {
    try_check_toml(toml).expect("check runs")
}

/// `check` with default options on a case file's text that parses and compiles.
pub fn try_check_toml(toml: &str) -> Result<scorecheck::Report, scorecheck::CheckError> {
    let spec = scorecheck::parse_case(toml, "test.toml", "test")
        .unwrap_or_else(|e| panic!("case parses: {e}"));
    let case = spec
        .compile(&[], false)
        .unwrap_or_else(|e| panic!("case compiles: {e}"));
    scorecheck::check_case(&case, &scorecheck::CheckOptions::default())
}

/// Property-test settings: `cases` cases from a fixed seed, so that CI runs the same cases every
/// time and a failure there is one anyone can rerun; `PROPTEST_RNG_SEED` (any value) explores
/// random ones and `PROPTEST_CASES` sets the count, for stress runs. No regression files.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let base = Config::default();
    let random = std::env::var("PROPTEST_RNG_SEED").is_ok();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        rng_seed: if random {
            base.rng_seed
        } else {
            RngSeed::Fixed(20_261_129)
        },
        ..base
    }
}
