//! Fuzz the case-file loader and the compilation of a case.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scorecheck::case::parse_case;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = parse_case(text, "fuzz.toml", "fuzz") {
        let _ = spec.compile(&[("mu".to_string(), 0.5)], true);
        let _ = spec.compile(&[], false);
    }
});
