//! The sampling estimators and the score-matching objectives estimated from draws or by
//! cubature: `sample` (exact draws, MALA), `estimate` (ism by sliced / Hutchinson probes
//! against the quadrature value), `dsm` (denoising score matching), `fisher` (the Fisher
//! divergence between two densities). The statistics they report (Monte Carlo means, ESS,
//! R̂, agreement with a reference) are in [`crate::stats`].

pub mod dsm;
pub mod estimate;
pub mod fisher;
pub mod sample;
