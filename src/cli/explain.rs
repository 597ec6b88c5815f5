//! `scorecheck explain`: the derivation walked for one case, as text, Markdown or JSON.

use super::args::ExplainArgs;
use super::case_flags::open_out;
use super::check::report_of;
use super::{CliError, Done};

pub(crate) fn run(a: ExplainArgs) -> Result<Done, CliError> {
    let out = open_out(&a.check.output.out)?;
    let report = report_of(&a.check)?;
    let ex = scorecheck::explain(&report);
    let text = if a.check.output.json {
        format!("{}\n", ex.to_json())
    } else if a.markdown {
        ex.to_markdown()
    } else {
        ex.to_text()
    };
    Ok(Done::new(ex.outcome(), text, out))
}
