//! Quadrature over box domains with finite and infinite ends (see [`cubature`] for the rules
//! and their bounds).

mod cubature;

pub use cubature::*;
