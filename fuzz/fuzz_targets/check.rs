//! Fuzz `check` end to end, in process: the fuzzer's bytes drive the case generator of the
//! end-to-end fuzz (`tests/common/fuzz_gen.rs`: expressions with every function and operator,
//! constants from 1e-300 to 1e300, domains, parameters, fields, weights), and each case is
//! checked with a budget of 20 000 evaluations per cubature, rendered and explained.
#![no_main]

#[path = "../../tests/common/fuzz_gen.rs"]
mod fuzz_gen;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static LANGUAGE: OnceLock<fuzz_gen::Language> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let lang = LANGUAGE.get_or_init(fuzz_gen::Language::probe);
    fuzz_gen::check_from_bytes(lang, data, 20_000);
});
