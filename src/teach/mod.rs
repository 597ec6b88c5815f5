//! Teaching output: the score-matching derivation walked step by step for one case with
//! numbers ([`explain`]), and the executable proofs of `proofs/*.md` run on a gallery of
//! cases ([`prove`]). Both read a `check` report; neither integrates anything itself.

pub mod explain;
pub mod prove;
