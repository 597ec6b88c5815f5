//! The command line: arguments ([`args`]), the shared case flags ([`case_flags`]), one file
//! per command, and the two things only the binary does: print, and turn an [`Outcome`] into
//! an exit code ([`exit_code`]).
//!
//! Every command returns a [`Done`]: the text to print (or to write to `--out`), its outcome
//! and what to say on stderr. [`run`] prints it; `main` exits. Bad input is a
//! [`CliError`], printed once by [`CliError::print`].

mod args;
mod case_flags;
mod check;
mod dsm;
mod estimate;
mod explain;
mod fisher;
mod plot;
mod prove;
mod score;
mod sweep;

use clap::Parser;
use scorecheck::Outcome;
use scorecheck::Pending;
use std::io::Write;
use std::process::ExitCode;

/// Why the command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments do not parse (or `--help`/`--version`, which clap prints itself).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// Bad input: the message names the flag or the file and line.
    #[error("{0}")]
    BadInput(String),
    /// Standard output was closed by the reader (`scorecheck check … | head -1`): not an
    /// error of ours; ripgrep's way is to stop quietly with exit code 0.
    #[error("standard output is closed")]
    BrokenPipe,
}

impl CliError {
    /// Print the error (nothing for a closed pipe).
    pub fn print(&self) {
        match self {
            CliError::Usage(e) => {
                let _ = e.print();
            }
            CliError::BadInput(m) => eprintln!("error: {m}"),
            CliError::BrokenPipe => {}
        }
    }

    /// DESIGN.md: 2 for bad input; 0 for `--help`, `--version` and a closed stdout.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(e) if !e.use_stderr() => ExitCode::SUCCESS,
            CliError::Usage(_) | CliError::BadInput(_) => ExitCode::from(2),
            CliError::BrokenPipe => ExitCode::SUCCESS,
        }
    }
}

/// Bad input from any library error (its message names fields and values; case errors go
/// through [`case_flags::case_error`], which names their flags).
pub(crate) fn bad(e: impl std::fmt::Display) -> CliError {
    CliError::BadInput(e.to_string())
}

/// The process's exit status for an outcome ([`Outcome::exit_code`]: 0 holds, 1 violated,
/// 3 undecided).
pub fn exit_code(outcome: Outcome) -> ExitCode {
    ExitCode::from(outcome.exit_code())
}

/// What a command did: its text (for stdout, or for `out`), its outcome, and what to say on
/// stderr about it.
pub(crate) struct Done {
    pub outcome: Outcome,
    /// The report; `None` when the command writes only files (plot).
    pub text: Option<String>,
    /// The `--out` file, opened before the work.
    pub out: Option<Pending>,
    /// Said as `undecided: a; b` when the outcome is undecided.
    pub undecided: Vec<String>,
    /// Said as `counterexample: …`, one a line, when the outcome is violated.
    pub counterexamples: Vec<String>,
}

impl Done {
    pub fn new(outcome: Outcome, text: String, out: Option<Pending>) -> Done {
        Done {
            outcome,
            text: Some(text),
            out,
            undecided: vec![],
            counterexamples: vec![],
        }
    }
}

/// Parse the arguments, run the command, print what it did; the outcome decides the exit
/// code.
pub fn run() -> Result<Outcome, CliError> {
    let cli = args::Cli::try_parse()?;
    let done = match cli.cmd {
        args::Cmd::Check(a) => check::run(a),
        args::Cmd::Explain(a) => explain::run(a),
        args::Cmd::Prove(a) => prove::run(a),
        args::Cmd::Score(a) => score::run(a),
        args::Cmd::Plot(a) => plot::run(a),
        args::Cmd::Sweep(a) => sweep::run(a),
        args::Cmd::Estimate(a) => estimate::run(a),
        args::Cmd::Dsm(a) => dsm::run(a),
        args::Cmd::Fisher(a) => fisher::run(a),
    }?;
    print(done)
}

/// The one place that prints a result: the text to stdout or into its file (whole or not
/// at all), then the reasons on stderr.
fn print(done: Done) -> Result<Outcome, CliError> {
    if let Some(text) = &done.text {
        match done.out {
            Some(p) => p.commit(text).map_err(bad)?,
            None => stdout(text)?,
        }
    }
    match done.outcome {
        Outcome::Undecided if !done.undecided.is_empty() => {
            eprintln!("undecided: {}", done.undecided.join("; "));
        }
        Outcome::Violated => {
            for line in &done.counterexamples {
                eprintln!("counterexample: {line}");
            }
        }
        _ => {}
    }
    Ok(done.outcome)
}

/// Write to stdout; a reader that closed it early is [`CliError::BrokenPipe`], not a panic.
fn stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::BrokenPipe),
        Err(e) => Err(CliError::BadInput(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}
