//! kubectl-watchnew: a kubectl plugin that shows only the changes that happen after it starts.
//!
//! The layers, each using only those before it: `cli` (the flags) → `settings` (what they mean) → `cluster`
//! (connection and discovery) → `engine` (list, watch and the "only new changes" semantics) → `view` (rows,
//! summaries, counters; no terminal) → `render` (lines, JSON, YAML, the live table). `app` runs them.

pub mod app;
#[cfg(test)]
mod arbitrary;
pub mod cli;
pub mod cluster;
pub mod completion;
pub mod engine;
pub mod error;
pub mod exit_code;
pub mod render;
pub mod settings;
pub mod view;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::exit_code::ExitCode;
use crate::settings::Settings;

/// Runs the plugin with its command line (program name first) and says how the process should end.
pub fn run<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    completion::complete_from_environment(&args);
    match args.get(1).and_then(|word| word.to_str()) {
        Some("__complete") => return completion::cobra_complete(args[2..].to_vec()),
        Some("completion") => return completion::print_script(args.get(2).map(OsString::as_os_str)),
        _ => {}
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            eprintln!("error: {}", usage_error_line(&err));
            return ExitCode::Usage.into();
        }
        Err(err) => {
            // --help and --version end here, on stdout and with success.
            let _ = err.print();
            return ExitCode::Success.into();
        }
    };
    let outcome = Settings::from_cli(cli, settings::Environment::detect()).and_then(|settings| {
        // One thread: the streams and the output hand every change over without waking another thread, which
        // cost a fifth of the CPU per change; the snapshot's pages still arrive while one is decoded, as the
        // socket buffers them.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error::Error::Internal(anyhow::anyhow!("cannot start the async runtime: {error}")))?;
        runtime.block_on(app::run(settings))
    });
    match outcome {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("error: {}", error.one_line());
            error.exit_code().into()
        }
    }
}

/// clap's message in one line, as every other error: its first line, and where to read more.
fn usage_error_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("invalid command line");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    format!("{message} (see 'kubectl watchnew --help')")
}
