//! scorecheck: check the integration-by-parts identity behind score matching.
pub mod expr;
