//! Fuzz of the whole path through the real binary: random cases (`tests/it/common/fuzz_gen.rs`)
//! run by `check`, `explain`, `score` and `plot`, each under an address-space limit and a
//! time cap. Every run must end with exit 0–3, no "panicked at" on stderr, no signal, within
//! the time cap; exit 2 must say why on stderr.
//!
//! `cargo test --release --test it fuzz_e2e` runs a fixed-seed batch (FUZZ_CASES, default 400)
//! on 2 threads. The long run is ignored by default and driven by environment variables:
//!
//! ```sh
//! FUZZ_SECONDS=1800 FUZZ_THREADS=1 FUZZ_SEED=7 nice -n 19 \
//!   cargo test --release --test it -- --ignored --nocapture fuzz_long
//! ```
//!
//! Variables (all optional): FUZZ_SECONDS (long run's duration, default 60), FUZZ_CASES (a
//! number of cases instead of a duration), FUZZ_SEED (default: the clock for the long run,
//! 17 for the fixed batch), FUZZ_THREADS (parallel cases), FUZZ_TIMEOUT (CPU seconds per
//! case, default 30, 60 for the long run; ten times that of wall time ends one that waits),
//! FUZZ_AS_MB (address-space limit per case, MiB), FUZZ_MAX_EVALS (the --max-evals given),
//! FUZZ_ONLY (rerun one case index of a seed, printing its case), FUZZ_BIN (the binary to
//! run, default the one cargo built), FUZZ_PROGRESS (print a line every N cases),
//! FUZZ_SHOW_BAD (print the first line of every bad-input message). Failing cases are kept
//! under `target/tmp/fuzz-e2e-failures/` with a `cmd` file that reruns them.

use crate::common::fuzz_gen;

use fuzz_gen::{Language, Rng, case, case_seed};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BUILT: &str = env!("CARGO_BIN_EXE_scorecheck");

/// The binary under test: FUZZ_BIN (a copy, so a long run is not changed by a rebuild), else
/// the one cargo built.
fn bin() -> String {
    std::env::var("FUZZ_BIN").unwrap_or_else(|_| BUILT.to_string())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[derive(Clone)]
struct Settings {
    seed: u64,
    threads: usize,
    timeout: Duration,
    as_bytes: u64,
    max_evals: u64,
}

impl Settings {
    fn from_env(default_seed: u64, default_threads: usize, default_timeout: u64) -> Settings {
        Settings {
            seed: env_u64("FUZZ_SEED").unwrap_or(default_seed),
            threads: env_u64("FUZZ_THREADS").map_or(default_threads, |t| t.max(1) as usize),
            timeout: Duration::from_secs(env_u64("FUZZ_TIMEOUT").unwrap_or(default_timeout)),
            // 1 GiB of address space: a check needs a few tens of MB (see the README's limits);
            // the threads' stacks and malloc arenas reserve more address space than they use.
            as_bytes: env_u64("FUZZ_AS_MB").unwrap_or(1024) << 20,
            max_evals: env_u64("FUZZ_MAX_EVALS").unwrap_or(20_000),
        }
    }
}

/// What one run did.
struct Outcome {
    code: Option<i32>,
    timed_out: bool,
    stderr: String,
    elapsed: Duration,
}

/// Run the binary with `args` in `dir` under the address-space limit and the time cap.
fn run_limited(args: &[String], dir: &Path, s: &Settings) -> Outcome {
    let as_bytes = s.as_bytes;
    let cpu = s.timeout.as_secs().max(1);
    let out = std::fs::File::create(dir.join("stdout")).expect("stdout file");
    let err = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: as_bytes,
                rlim_max: as_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            // The time cap is on CPU time (SIGXCPU, then SIGKILL a second later), so a
            // loaded machine does not make a quick case look like a hang.
            let cpu_lim = libc::rlimit {
                rlim_cur: cpu,
                rlim_max: cpu + 1,
            };
            if libc::setrlimit(libc::RLIMIT_CPU, &cpu_lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the scorecheck binary starts");
    let mut timed_out = false;
    // Bound: polls every 5 ms until the child ends (the CPU limit ends a busy one) or ten
    // times the time cap of wall time have passed (a child that waits forever), then kills it.
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the child") {
            break st;
        }
        if start.elapsed() > 10 * s.timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for the killed child");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&std::fs::read(dir.join("stderr")).unwrap_or_default())
        .into_owned();
    use std::os::unix::process::ExitStatusExt;
    let timed_out = timed_out || matches!(status.signal(), Some(libc::SIGXCPU | libc::SIGKILL));
    Outcome {
        code: status.code(),
        timed_out,
        stderr,
        elapsed,
    }
}

/// Why an outcome is a failure, if it is one.
fn failure(o: &Outcome, s: &Settings) -> Option<String> {
    if o.timed_out {
        return Some(format!(
            "still running after {:?} of CPU time or {:?} of wall time (killed)",
            s.timeout,
            10 * s.timeout
        ));
    }
    if o.stderr.contains("panicked at") {
        return Some("panicked".into());
    }
    match o.code {
        None => Some("killed by a signal (abort, or the address-space limit)".into()),
        Some(c) if !(0..=3).contains(&c) => Some(format!("exit code {c}")),
        Some(2) if o.stderr.trim().is_empty() => Some("exit 2 without a message".into()),
        _ => None,
    }
}

#[derive(Default)]
struct Tally {
    cases: u64,
    by_code: [u64; 4],
    failures: Vec<String>,
    slowest: Option<(Duration, String)>,
    /// The five slowest cases: (wall time, index, command line).
    slow: Vec<(Duration, u64, String)>,
}

fn failure_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-e2e-failures")
}

/// Run case `index` of the seed; returns its command line, outcome and failure.
fn run_case(
    lang: &Language,
    s: &Settings,
    index: u64,
    scratch: &Path,
) -> (String, Outcome, Option<String>) {
    let mut r = Rng::new(case_seed(s.seed, index));
    let g = case(&mut r, lang, s.max_evals);
    let dir = scratch.join(format!("case-{index}"));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    std::fs::write(dir.join("case.toml"), &g.toml).expect("write the case");
    let args: Vec<String> = g
        .args
        .iter()
        .map(|a| a.replace("CASE", "case.toml").replace("OUT", "out"))
        .collect();
    let line = format!("scorecheck {}", args.join(" "));
    let o = run_limited(&args, &dir, s);
    let f = failure(&o, s);
    if let Some(why) = &f {
        let keep = failure_dir().join(format!("seed{}-case{index}", s.seed));
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::write(keep.join("case.toml"), &g.toml);
        let _ = std::fs::write(keep.join("stderr"), &o.stderr);
        let _ = std::fs::write(
            keep.join("cmd"),
            format!(
                "# {why}\n# FUZZ_SEED={} FUZZ_ONLY={index}\ncd {} && ulimit -v {} && timeout {} {} {}\n",
                s.seed,
                keep.display(),
                s.as_bytes >> 10,
                s.timeout.as_secs(),
                bin(),
                args.join(" ")
            ),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    (format!("{line}\n{}", g.toml), o, f)
}

/// Run cases on `s.threads` threads until `stop(next_index, elapsed)`.
fn run(s: &Settings, stop: impl Fn(u64, Duration) -> bool + Sync) -> Tally {
    let lang = Language::probe();
    assert!(
        lang.functions.len() >= scorecheck::FUNCTIONS.len(),
        "every function of the language compiles with some number of arguments: {:?}",
        lang.functions
    );
    for op in ["+", "-", "*", "/", "^", "%"] {
        assert!(lang.operators.contains(&op), "the operator {op} compiles");
    }
    let scratch = std::env::temp_dir().join(format!("scorecheck-fuzz-{}", std::process::id()));
    let next = AtomicU64::new(0);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let every = env_u64("FUZZ_PROGRESS").unwrap_or(0);
    std::thread::scope(|sc| {
        for _ in 0..s.threads {
            sc.spawn(|| {
                // Bound: the stop rule (a case count or a duration) ends every worker.
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if stop(i, start.elapsed()) {
                        break;
                    }
                    let (desc, o, f) = run_case(&lang, s, i, &scratch);
                    let mut t = tally.lock().unwrap();
                    t.cases += 1;
                    if let Some(c) = o.code.filter(|c| (0..=3).contains(c)) {
                        t.by_code[c as usize] += 1;
                    }
                    if t.slowest.as_ref().is_none_or(|(d, _)| o.elapsed > *d) {
                        t.slowest = Some((o.elapsed, format!("case {i}: {desc}")));
                    }
                    let line = desc.lines().next().unwrap_or_default().to_string();
                    t.slow.push((o.elapsed, i, line));
                    t.slow.sort_by_key(|s| std::cmp::Reverse(s.0));
                    t.slow.truncate(5);
                    if o.code == Some(2) && std::env::var_os("FUZZ_SHOW_BAD").is_some() {
                        eprintln!("[bad input] {}", o.stderr.lines().next().unwrap_or(""));
                    }
                    if let Some(why) = f {
                        eprintln!(
                            "FAIL case {i} (seed {}): {why}\n{desc}\n{}",
                            s.seed, o.stderr
                        );
                        t.failures.push(format!("case {i}: {why}: {desc}"));
                    }
                    if every > 0 && t.cases % every == 0 {
                        eprintln!(
                            "[fuzz] {} cases, {} failures, {:.0} s",
                            t.cases,
                            t.failures.len(),
                            start.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap()
}

fn summary(t: &Tally, s: &Settings, secs: f64) -> String {
    let slow = t
        .slowest
        .as_ref()
        .map(|(d, c)| format!("{:.2} s, {c}", d.as_secs_f64()))
        .unwrap_or_default();
    let top: Vec<String> = t
        .slow
        .iter()
        .map(|(d, i, l)| format!("  {:.2} s  case {i}: {l}", d.as_secs_f64()))
        .collect();
    format!(
        "fuzz_e2e: seed {}, {} cases in {secs:.0} s on {} threads, exit codes 0/1/2/3 = {:?}, {} failures; slowest: {slow}\nthe five slowest:\n{}",
        s.seed,
        t.cases,
        s.threads,
        t.by_code,
        t.failures.len(),
        top.join("\n")
    )
}

/// The fixed-seed batch that is part of `cargo test`.
#[test]
fn fuzz_fixed_seed() {
    let s = Settings::from_env(17, 2, 30);
    if let Some(i) = env_u64("FUZZ_ONLY") {
        let lang = Language::probe();
        let scratch = std::env::temp_dir().join(format!("scorecheck-fuzz-{}", std::process::id()));
        let (desc, o, f) = run_case(&lang, &s, i, &scratch);
        eprintln!("{desc}\nexit {:?} in {:?}\n{}", o.code, o.elapsed, o.stderr);
        assert!(f.is_none(), "{f:?}");
        return;
    }
    let n = env_u64("FUZZ_CASES").unwrap_or(400);
    let start = Instant::now();
    let t = run(&s, |i, _| i >= n);
    eprintln!("{}", summary(&t, &s, start.elapsed().as_secs_f64()));
    assert_eq!(t.cases, n);
    // Every exit code the contract knows occurs in a batch this size (a harness that only ran
    // bad inputs, or only passing cases, would not be testing much).
    assert!(
        t.by_code.iter().all(|&c| c > 0),
        "exit codes 0/1/2/3: {:?}",
        t.by_code
    );
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
}

/// The long run (ignored by default): FUZZ_SECONDS or FUZZ_CASES.
#[test]
#[ignore = "long; run with FUZZ_SECONDS=… -- --ignored fuzz_long"]
fn fuzz_long() {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let s = Settings::from_env(clock, 1, 60);
    let cases = env_u64("FUZZ_CASES");
    let secs = env_u64("FUZZ_SECONDS").unwrap_or(60);
    let start = Instant::now();
    let t = run(&s, |i, el| match cases {
        Some(n) => i >= n,
        None => el.as_secs() >= secs,
    });
    println!("{}", summary(&t, &s, start.elapsed().as_secs_f64()));
    assert!(
        t.failures.is_empty(),
        "{} failures:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
}

/// The body of the cargo-fuzz target `check` (which needs nightly to build) on fixed inputs,
/// in process, under an address-space limit on this test process (soft limit only, so the
/// children of the other tests can still set their own).
#[test]
fn check_target_in_process() {
    let lim = libc::rlimit {
        rlim_cur: 3 << 30,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid struct; only lowers this process's soft limit.
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        libc::getrlimit(libc::RLIMIT_AS, &mut old);
        if old.rlim_cur == libc::RLIM_INFINITY || old.rlim_cur > lim.rlim_cur {
            let lim = libc::rlimit {
                rlim_cur: lim.rlim_cur,
                rlim_max: old.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
        }
    }
    let lang = Language::probe();
    eprintln!(
        "functions {:?}\noperators {:?}\nprefixes {:?}",
        lang.functions, lang.operators, lang.prefixes
    );
    let mut r = Rng::new(99);
    for len in [0usize, 1, 7, 8, 64, 200, 512] {
        for _ in 0..4 {
            let bytes: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
            fuzz_gen::check_from_bytes(&lang, &bytes, 20_000);
        }
    }
}
