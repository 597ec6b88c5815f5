//! The integration tests, one binary with a module per area (one link step instead of one per
//! file). Run one area with `cargo test --release --test it <module>::`, e.g.
//! `cargo test --release --test it honesty::`; the long fuzz run with
//! `cargo test --release --test it -- --ignored --nocapture fuzz_long`.
//!
//! Shared helpers (running the binary, its exit codes, case files, temporary folders, checking
//! a case in-process) are in `common`.

mod bad_inputs;
mod cli;
mod closed_forms;
mod common;
mod dsm;
mod edges;
mod errors;
mod estimators;
mod explain_prove;
mod expr_props;
mod fisher;
mod functions;
mod fuzz_e2e;
mod honesty;
mod limits;
mod pipe;
mod plots;
mod rewrite_props;
mod score_gallery;
mod stable_densities;
mod statuses;
mod sweep;
mod syntax;
mod teach;
mod threads;
