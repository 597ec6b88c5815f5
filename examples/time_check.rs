//! In-process time of `check` on a case given by flags-like arguments, for comparing the
//! Python package's overhead (python/benches/bench.py).
//!
//! cargo run --release --example time_check -- '-x^2/2' '-(x-1)' 0 inf

use scorecheck::CheckOptions;
use scorecheck::DensityKind;
use scorecheck::{CaseSpec, End, Src};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (ld, field) = (
        a.first().cloned().unwrap_or("-x^2/2".into()),
        a.get(1).cloned().unwrap_or("-(x-1)".into()),
    );
    let end =
        |s: Option<&String>, dflt: f64| End::Value(s.and_then(|t| t.parse().ok()).unwrap_or(dflt));
    let src = |t: &str| Src {
        text: t.into(),
        origin: "arg".into(),
    };
    let spec = CaseSpec {
        name: "timed".into(),
        density: Some((DensityKind::Log, src(&ld))),
        field: Some(vec![src(&field)]),
        domain_ends: Some(vec![(
            end(a.get(2), 0.0),
            end(a.get(3), f64::INFINITY),
            "arg".into(),
        )]),
        origin: "arg".into(),
        ..Default::default()
    };
    let opts = CheckOptions::default();
    let mut times = vec![];
    for _ in 0..50 {
        let t = Instant::now();
        let case = spec.compile(&[], false).expect("a valid case");
        let r = scorecheck::check_case(&case, &opts).expect("a check");
        let json = r.to_json();
        times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(json);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "in-process check (compile + check + JSON): min {:.3} ms, median {:.3} ms",
        times[0] * 1e3,
        times[times.len() / 2] * 1e3
    );
}
