//! One run, start to end: open the source of changes (the clusters of the contexts, or a recording), then
//! either append lines or run the live view, until a signal, `q`, `--count`, `--timeout`, a closed pipe or a
//! fatal error ends it.

mod clusters;
mod lines;
mod live;
mod notices;
mod replay;
mod reporting;
mod waits;

use futures::StreamExt;
use jiff::Timestamp;
use tokio::signal::unix::{SignalKind, signal};

use crate::cluster::connection;
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::export::Export;
use crate::render::columns::TableOptions;
use crate::settings::{NamespaceScope, OutputMode, Settings, SourceChoice};
use crate::view::recording::Header;
use clusters::{Clusters, StateKeeper};
use replay::Recording;
use reporting::Reporting;
use waits::WaitWatch;

pub use notices::synced_line;

/// How many contexts are connected at once (their kubeconfig read, their credential plugin run).
const CONNECTING_AT_ONCE: usize = 8;

pub async fn run(settings: Settings) -> Result<ExitCode> {
    let mut signals = Signals::new()?;
    let deadline = settings.timeout.map(|timeout| tokio::time::Instant::now() + timeout);
    // Read first: a state file that cannot be read ends the run before anything starts.
    let state = settings.state.as_ref().map(StateKeeper::open).transpose()?;
    // Started next and finished last, so that what the run reported is sent whichever way the run ends.
    let mut export = settings.export.as_ref().map(Export::start).transpose()?;
    let exporting = &mut export;
    let ran = async {
        let source = match &settings.source {
            SourceChoice::Replay(path) => Source::Recording(Recording::read(path)?),
            SourceChoice::Contexts(contexts) => {
                if let Some(matched) = &settings.contexts_matched {
                    eprintln!("{matched}");
                }
                // Side by side, a few at a time: each may run an exec credential plugin (`aws eks get-token`),
                // which fifty contexts would otherwise wait for in turn. The first failure in the contexts'
                // order is the one said.
                let connected: Vec<Result<_>> = futures::stream::iter(contexts.iter().map(connection::connect))
                    .buffered(CONNECTING_AT_ONCE)
                    .collect()
                    .await;
                let connections = connected.into_iter().collect::<Result<Vec<_>>>()?;
                let mut waits = WaitWatch::new(&connections);
                let mut clusters = Clusters::start(&settings, connections, state);
                // One context: its kinds are known before the output starts, so that a wrong type is an error
                // on a terminal left as it was.
                if !clusters.several() {
                    waits.saying(clusters.first_ready()).await?;
                }
                Source::Clusters(Box::new(clusters), waits)
            }
        };
        let mut source = source;
        let ended = tokio::select! {
            biased;
            _ = sleep_until(deadline) => Ok(ExitCode::Success),
            ended = output(&mut source, &settings, exporting.as_mut()) => ended,
        };
        match ended {
            // Ended as asked (`--timeout`, `q`, `--count`), unless a context never synced.
            Ok(ExitCode::Success) => Ok(unsynced(&source)),
            other => other,
        }
    };
    let ended = tokio::select! {
        biased;
        number = signals.next() => Ok(ExitCode::Signal(number)),
        result = ran => result,
    };
    if let Some(export) = export {
        // A run that failed before reporting anything has its error as its one line.
        let said = export.finish().await;
        if ended.is_ok() || said.offered > 0 {
            eprintln!("{}", said.line);
        }
    }
    ended
}

async fn output(source: &mut Source, settings: &Settings, export: Option<&mut Export>) -> Result<ExitCode> {
    match settings.output {
        OutputMode::Lines(format) => lines::append_lines(source, settings, Some(format), export).await,
        OutputMode::Headless => lines::append_lines(source, settings, None, export).await,
        OutputMode::Live { timeline } => live::run_live(source, settings, timeline, export).await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Where the changes come from: the outputs take them from either without telling them apart.
enum Source {
    /// The clusters of the contexts, and what they wait on until the first sync.
    Clusters(Box<Clusters>, WaitWatch),
    Recording(Recording),
}

impl Source {
    /// The status line of the live view, and the header of a recording.
    fn header(&self, settings: &Settings) -> Header {
        match self {
            Source::Clusters(clusters, _) => Header::new(
                Timestamp::now(),
                clusters.header(settings),
                settings.scope == NamespaceScope::All,
                settings.source.several_contexts(),
                settings.table.events && clusters.joins_events(),
            ),
            Source::Recording(recording) => recording.header.clone(),
        }
    }
}

/// The reporting rules, the recorder and the export's feed, for a run from `source`.
fn reporting(source: &Source, settings: &Settings, export: Option<&mut Export>) -> Result<Reporting> {
    let feed = match (export, source) {
        (Some(export), Source::Clusters(clusters, _)) => export.feed(clusters.names()),
        _ => None,
    };
    Reporting::new(settings, source.header(settings), feed)
}

/// The table's options: the flags', with what the source decides (a replay's, as recorded).
fn table_options(source: &Source, settings: &Settings) -> TableOptions {
    let header = source.header(settings);
    TableOptions {
        all_namespaces: header.all_namespaces,
        contexts: header.contexts,
        events: settings.table.events && header.events,
        ..settings.table.clone()
    }
}

/// How a run that ended as asked ends: with the exit code of a context that never synced, if one did not.
fn unsynced(source: &Source) -> ExitCode {
    match source {
        Source::Clusters(clusters, _) => clusters.unsynced_exit_code().unwrap_or(ExitCode::Success),
        Source::Recording(_) => ExitCode::Success,
    }
}

/// SIGINT, SIGTERM and SIGHUP, as the number of the first to arrive.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|error| Error::Internal(anyhow::anyhow!("cannot listen for signals: {error}")))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> u8 {
        tokio::select! {
            _ = self.interrupt.recv() => 2,
            _ = self.terminate.recv() => 15,
            _ = self.hangup.recv() => 1,
        }
    }
}
