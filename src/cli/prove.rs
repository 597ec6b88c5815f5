//! `scorecheck prove`: every claim of a proof on every case of its gallery.

use super::args::ProveArgs;
use super::{CliError, Done, bad};

pub(crate) fn run(a: ProveArgs) -> Result<Done, CliError> {
    let run = scorecheck::prove(&a.file, a.cases.as_deref(), a.max_evals).map_err(bad)?;
    Ok(Done::new(run.outcome(), run.to_text(), None))
}
