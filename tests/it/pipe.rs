//! A reader that closes standard output early (`scorecheck check … | head -1`) is not an
//! error: the binary stops quietly with exit code 0, as ripgrep does on a broken pipe, and
//! never panics. And `score --out` writes its report whole.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scorecheck"))
}

/// Spawn with piped stdout and stderr, read `lines` lines of stdout (0: none), close it,
/// and return the exit code and stderr.
fn close_early(args: &[&str], lines: usize) -> (Option<i32>, String) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a line");
        assert!(!line.is_empty(), "the report has at least {lines} lines");
    }
    drop(reader);
    let out = child.wait_with_output().expect("the binary exits");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_into_a_reader_that_reads_one_line() {
    let (code, err) = close_early(&["check", "examples/cases/gauss.toml"], 1);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
}

#[test]
fn check_into_a_reader_that_is_gone_before_the_report() {
    // stdout is closed before the report is computed, so writing it meets a broken pipe
    // (the check of a 2-D case takes far longer than closing a pipe).
    let (code, err) = close_early(&["check", "examples/cases/corr2d.toml"], 0);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
}

#[test]
fn a_report_longer_than_the_pipe_buffer_meets_the_closed_pipe() {
    // 1000 grid points of text are about 150 kB, more than a pipe holds (64 KiB on Linux):
    // the write after the first line is read and the pipe closed must fail with EPIPE.
    let (code, err) = close_early(
        &[
            "sweep",
            "examples/cases/gauss-mismatch.toml",
            "--param",
            "mu=-1:1:1000",
        ],
        1,
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
}

#[test]
fn score_writes_its_report_to_out() {
    let dir = std::env::temp_dir().join(format!("scorecheck-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("score.json");
    let out = bin()
        .args([
            "score",
            "examples/cases/score-correct.toml",
            "--json",
            "--out",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "the report goes to the file only");
    let printed = bin()
        .args(["score", "examples/cases/score-correct.toml", "--json"])
        .output()
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), printed.stdout);
    // A missing folder is bad input before any work, and nothing is written.
    let out = bin()
        .args([
            "score",
            "examples/cases/score-correct.toml",
            "--out",
            dir.join("missing").join("s.txt").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
