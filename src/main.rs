//! The `scorecheck` command line: parse arguments, call the library, print, exit (see
//! [`cli`]).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(outcome) => cli::exit_code(outcome),
        Err(e) => {
            e.print();
            e.exit_code()
        }
    }
}
