//! Fuzz the expression parser, compiler and evaluator over f64 and dual numbers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use num_dual::{Dual2_64, Dual64, HyperDual64};
use scorecheck::expr::{Program, free_symbols};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let vars = vec!["x".to_string(), "y".to_string()];
    let params = vec![("mu".to_string(), 0.3)];
    let _ = free_symbols(src, &[]);
    let Ok(p) = Program::compile(src, &vars, &params) else { return };
    for &(a, b) in &[(0.0, 0.0), (-1.5, 2.0), (1e300, -1e-300), (f64::NAN, 1.0)] {
        let _ = p.eval(&[a, b]);
        let _ = p.eval(&[Dual64::new(a, 1.0), Dual64::new(b, 0.0)]);
        let _ = p.eval(&[Dual2_64::new(a, 1.0, 0.0), Dual2_64::new(b, 0.0, 0.0)]);
        let _ = p.eval(&[HyperDual64::new(a, 1.0, 0.0, 0.0), HyperDual64::new(b, 0.0, 1.0, 0.0)]);
    }
});
