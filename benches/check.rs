//! `check` end to end, in process, on the benchmark set `benches/cases/*.toml` (1-D to 4-D)
//! at each dimension's default tolerance.
//!
//! Run: `cargo bench --bench check`. Before timing, each case's integrand evaluations and
//! worst error estimate are printed once, so the time per case can be read against the work.
//! `SCORECHECK_BENCH=4d` (a substring of the file name) runs only the matching cases.

use criterion::{Criterion, criterion_group, criterion_main};
use scorecheck::CheckOptions;
use scorecheck::load_case_file;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn bench_check(cr: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("benches/cases")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let only = std::env::var("SCORECHECK_BENCH").unwrap_or_default();
    for f in files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        if !stem.contains(&only) {
            continue;
        }
        let case = load_case_file(&f)
            .and_then(|s| s.compile(&[], false))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let opts = CheckOptions::default();
        let r = scorecheck::check_case(&case, &opts).expect("benchmark case checks");
        let worst = r
            .components
            .iter()
            .flat_map(|c| [&c.lhs, &c.rhs])
            .chain([&r.objective.esm, &r.objective.ism, &r.normalizer])
            .filter_map(|q| q.error)
            .fold(0.0, f64::max);
        eprintln!(
            "{stem}: {} integrand evaluations, worst error estimate {worst:.2e} (tol {:.0e})",
            r.normalizer.evals, r.tolerance
        );
        let mut g = cr.benchmark_group("check");
        if case.vars.len() >= 3 {
            g.sample_size(10).measurement_time(Duration::from_secs(15));
        }
        g.bench_function(&stem, |b| {
            b.iter(|| scorecheck::check_case(black_box(&case), &opts).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
