//! The append-only outputs' loop: one line (or document) per change on stdout, notices on stderr; or, with
//! `-o none`, nothing on stdout.

use tokio::io::AsyncWriteExt;

use super::waits::WaitWatch;
use super::{Source, reporting, table_options};
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::export::Export;
use crate::render::lines::{LineFormat, LinePrinter};
use crate::settings::Settings;
use crate::view::StreamInfo;
use crate::view::events::{EventLog, ObservedEvent};
use crate::view::feed::{Fed, FeedItem};

/// How many recorded items a replay prints per write.
const REPLAY_BATCH: usize = 1024;

/// Appends one line (or document) per change to stdout, unless no `format`; notices go to stderr.
pub(super) async fn append_lines(
    source: &mut Source,
    settings: &Settings,
    format: Option<LineFormat>,
    export: Option<&mut Export>,
) -> Result<ExitCode> {
    let mut reporting = reporting(source, settings, export)?;
    let mut lines = Lines {
        printer: format.map(|format| LinePrinter::new(format, table_options(source, settings))),
        streams: Vec::new(),
        events: EventLog::default(),
        stdout: tokio::io::BufWriter::new(tokio::io::stdout()),
        text: String::new(),
    };
    let mut batch = Vec::new();
    match source {
        Source::Recording(recording) => {
            let items = std::mem::take(&mut recording.items);
            for chunk in items.chunks(REPLAY_BATCH) {
                batch.extend_from_slice(chunk);
                reporting.admit(&mut batch)?;
                lines.show(&mut batch, None);
                if !lines.write().await? || reporting.done() {
                    return Ok(ExitCode::Success);
                }
            }
            match recording.damage.take() {
                // A recording cut short is what a recording still being written looks like: said, not an error.
                Some((text, true)) => eprintln!("{text}"),
                Some((text, false)) => return Err(Error::Recording(text)),
                None => {}
            }
            Ok(ExitCode::Success)
        }
        Source::Clusters(clusters, waits) => loop {
            let taken = tokio::select! {
                taken = clusters.next(&mut batch) => taken,
                line = waits.next_line(), if !clusters.first_synced() => {
                    eprintln!("{line}");
                    continue;
                }
                line = reporting.export_notice() => {
                    eprintln!("{line}");
                    continue;
                }
            };
            reporting.admit(&mut batch)?;
            lines.show(&mut batch, Some(waits));
            if !lines.write().await? {
                return Ok(ExitCode::Success);
            }
            taken?;
            if reporting.done() {
                return Ok(ExitCode::Success);
            }
        },
    }
}

struct Lines {
    /// None: `-o none`.
    printer: Option<LinePrinter>,
    streams: Vec<StreamInfo>,
    events: EventLog,
    stdout: tokio::io::BufWriter<tokio::io::Stdout>,
    text: String,
}

impl Lines {
    /// What the items say, into the text to write (changes) or on stderr (notices).
    fn show(&mut self, batch: &mut Vec<Fed>, mut waits: Option<&mut WaitWatch>) {
        for fed in batch.drain(..) {
            match fed.item {
                FeedItem::Stream(stream) => self.streams.push(*stream),
                FeedItem::Columns { stream, columns } => {
                    if let Some(stream) = self.streams.get_mut(stream) {
                        stream.columns = columns;
                    }
                }
                FeedItem::Synced(synced) => {
                    for found in &synced.streams {
                        if let Some(stream) = self.streams.get_mut(found.stream) {
                            stream.existing = found.existing;
                            stream.cell_widths = found.cell_widths.clone();
                        }
                    }
                    if let Some(line) = waits.as_mut().and_then(|waits| waits.finish()) {
                        eprintln!("{line}");
                    }
                    eprintln!("{}", synced.line);
                }
                FeedItem::Change(change) => {
                    if change.stream < self.streams.len()
                        && let Some(printer) = &mut self.printer
                        && let Some(notice) =
                            printer.print(&mut self.text, &self.streams, &change, fed.at, &self.events)
                    {
                        eprintln!("{notice}");
                    }
                }
                // Counted by the live view only: a line for each would be the noise left out.
                // The notices say what the key of contexts sums up.
                FeedItem::Heartbeat { .. } | FeedItem::ContextState { .. } => {}
                FeedItem::Event {
                    change,
                    printed,
                    context,
                } => {
                    if printed && let Some(printer) = &mut self.printer {
                        printer.print_event(&mut self.text, &change, context.as_deref());
                    }
                    if let Some(observed) = change
                        .payload
                        .as_ref()
                        .and_then(|payload| ObservedEvent::from_json(&payload.raw))
                    {
                        self.events.record(observed);
                    }
                }
                FeedItem::Notice { text, .. } => eprintln!("{text}"),
            }
        }
    }

    /// Writes what was printed; false when the reader is gone (`| head`), a normal end.
    async fn write(&mut self) -> Result<bool> {
        if self.text.is_empty() {
            return Ok(true);
        }
        let written = async {
            self.stdout.write_all(self.text.as_bytes()).await?;
            self.stdout.flush().await
        };
        match written.await {
            Ok(()) => {
                self.text.clear();
                Ok(true)
            }
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(error) => Err(Error::Internal(anyhow::anyhow!("writing the output failed: {error}"))),
        }
    }
}
