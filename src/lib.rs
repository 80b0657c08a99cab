//! kubectl-watchnew: a kubectl plugin that shows only the changes that happen after it starts.

pub mod cli;
pub mod exit_code;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::exit_code::ExitCode;

/// Runs the plugin with its command line (program name first) and says how the process should end.
pub fn run<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version end here too, on stdout and with success.
            let _ = err.print();
            let code = if err.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            return code.into();
        }
    };
    match cli.resource_types {
        None => {
            eprintln!(
                "error: you must specify the type of resource to watch, e.g. 'kubectl watchnew pods'"
            );
            ExitCode::Usage.into()
        }
        Some(_) => {
            eprintln!("error: watching is not implemented yet");
            ExitCode::Failure.into()
        }
    }
}
