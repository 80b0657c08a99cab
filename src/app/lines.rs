//! The append-only outputs' loop: one line (or document) per change on stdout, notices on stderr.

use std::time::Instant;

use jiff::Timestamp;
use tokio::io::AsyncWriteExt;

use super::notices::{events_unavailable_line, notice_line, relisted_line, synced_line};
use super::pipeline::{Outcome, Pipeline};
use super::waits::WaitWatch;
use super::{Engine, fatal};
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::render::lines::{LineFormat, LinePrinter};
use crate::settings::Settings;
use crate::view::events::EventLog;

/// Appends one line (or document) per change to stdout; notices go to stderr.
pub(super) async fn append_lines(
    mut engine: Engine,
    settings: &Settings,
    format: LineFormat,
    mut waits: WaitWatch,
) -> Result<ExitCode> {
    let mut pipeline = Pipeline::new(&engine, settings);
    let mut printer = LinePrinter::new(format, engine.table_options(settings));
    let mut events = EventLog::default();
    let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
    let mut outcomes = Vec::new();
    let mut text = String::new();
    let mut gaps: Vec<Option<Instant>> = vec![None; engine.stream_count()];
    loop {
        let first = tokio::select! {
            message = engine.receiver.recv() => match message {
                Some(message) => message,
                None => break,
            },
            line = waits.next_line(), if !pipeline.synced() => {
                eprintln!("{line}");
                continue;
            }
        };
        // What is already waiting goes out in the same write.
        let taken = pipeline.take_burst(&mut engine.receiver, first, &mut engine.streams, &mut outcomes);
        for outcome in outcomes.drain(..) {
            match outcome {
                Outcome::Synced { existing, took } => {
                    if let Some(line) = waits.finish() {
                        eprintln!("{line}");
                    }
                    eprintln!("{}", synced_line(&engine.streams, &existing, took))
                }
                Outcome::Relisted { stream, changes } => {
                    let after = gaps[stream].take().map(|since| since.elapsed());
                    eprintln!("{}", relisted_line(engine.label(stream), changes, after));
                }
                Outcome::Notice { stream, notice } => {
                    eprintln!("{}", notice_line(engine.label(stream), &notice, &mut gaps[stream]).1);
                }
                Outcome::Change { stream, change } => {
                    printer.print(&mut text, &engine.streams, stream, &change, Timestamp::now(), &events);
                }
                Outcome::Event { observed, change } => {
                    if let (Some(change), Some(label)) = (change, engine.events.as_ref().map(|events| &events.label))
                        && engine.prints_event_about(&observed.regarding.kind)
                    {
                        printer.print_event(&mut text, label, &change);
                    }
                    events.record(observed);
                }
                Outcome::EventsUnavailable(error) => {
                    if let Some(stream) = &engine.events {
                        eprintln!("{}", events_unavailable_line(&stream.label, &error));
                    }
                }
            }
        }
        if !text.is_empty() {
            let written = async {
                stdout.write_all(text.as_bytes()).await?;
                stdout.flush().await
            };
            match written.await {
                Ok(()) => text.clear(),
                // The reader is gone (`| head`): a normal end.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::Success),
                Err(error) => return Err(Error::Internal(anyhow::anyhow!("writing the output failed: {error}"))),
            }
        }
        taken.map_err(|error| fatal(error, &engine.connection, settings))?;
        if pipeline.done() {
            return Ok(ExitCode::Success);
        }
    }
    Err(Error::Internal(anyhow::anyhow!("every stream ended")))
}
