//! One run, start to end: connect, resolve the types, start a stream per type, then either append lines or run
//! the live view, until a signal, `q`, `--count`, `--timeout`, a closed pipe or a fatal error ends it.

mod keys;
mod lines;
mod live;
mod notices;
mod pipeline;
mod waits;

use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cluster::connection::{self, Connection};
use crate::cluster::resolver;
use crate::engine::stream::{ListStrategy, Representation, StreamDriver, StreamMessage, StreamSpec};
use crate::error::{Error, Result, request_error};
use crate::exit_code::ExitCode;
use crate::render::columns::TableOptions;
use crate::settings::{EventUse, NamespaceScope, OutputMode, Settings};
use crate::view::{StreamInfo, StreamLabel};
use waits::WaitWatch;

pub use notices::synced_line;

/// Messages waiting between the streams and the output; a full channel makes the streams wait, not drop.
const CHANNEL_CAPACITY: usize = 4096;
/// How long the live view lets events gather before a watch reads again: a quarter of a frame, unseen.
const LIVE_GATHER: Duration = Duration::from_millis(25);

pub async fn run(settings: Settings) -> Result<ExitCode> {
    let mut signals = Signals::new()?;
    let deadline = settings.timeout.map(|timeout| tokio::time::Instant::now() + timeout);
    let ran = async {
        let started = Instant::now();
        let connection = connection::connect(&settings.connection).await?;
        // Discovery and the version probe are requests too: a wait on them is said, as one on the lists.
        let mut waits = WaitWatch::new(&connection);
        let engine = waits.saying(Engine::start(&settings, connection, started)).await?;
        let connection = engine.connection.clone();
        let watched = match settings.output {
            OutputMode::Lines(format) => lines::append_lines(engine, &settings, format, waits).await,
            OutputMode::Live { timeline } => live::run_live(engine, &settings, timeline, waits).await,
        };
        if let Err(Error::ResourceType(_)) = watched {
            resolver::forget_discovery(&connection);
        }
        watched
    };
    tokio::select! {
        biased;
        number = signals.next() => Ok(ExitCode::Signal(number)),
        _ = sleep_until(deadline) => Ok(ExitCode::Success),
        result = ran => result,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The streams, started, and what the output needs to know about them.
pub(crate) struct Engine {
    receiver: mpsc::Receiver<(usize, StreamMessage)>,
    streams: Vec<StreamInfo>,
    /// The stream of the Events about the watched objects, numbered after the watched types.
    events: Option<EventStream>,
    connection: Connection,
    namespace: Option<String>,
    started: Instant,
}

/// The Events watched beside the watched types, and why.
pub(crate) struct EventStream {
    index: usize,
    label: StreamLabel,
    /// Events about these kinds only are printed (`--with-events`).
    kinds: Vec<String>,
    printed: bool,
}

impl Engine {
    async fn start(settings: &Settings, connection: Connection, started: Instant) -> Result<Engine> {
        let targets = resolver::resolve(&connection, &settings.targets)
            .await
            .map_err(|error| connection.explain(error))?;
        let namespace = match &settings.scope {
            NamespaceScope::All => None,
            NamespaceScope::Named(namespace) => Some(namespace.clone()),
            NamespaceScope::ContextDefault => Some(connection.default_namespace.clone()),
        };
        // LIST pages by default: kube-apiserver 1.37 sends them in half the time of a streamed list
        // (BENCHMARKS.md), and they need no version check.
        let strategy = ListStrategy::new(
            settings.streaming_lists
                && server_streams_lists(&connection)
                    .await
                    .map_err(|error| connection.explain(error))?,
        );
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let gather = matches!(settings.output, OutputMode::Live { .. }).then_some(LIVE_GATHER);
        let start_stream = |index: usize, spec: StreamSpec| {
            let driver = StreamDriver::new(
                connection.client.clone(),
                spec,
                index,
                sender.clone(),
                strategy.clone(),
                connection.request_timeout,
                settings.silence_limit,
            );
            tokio::spawn(driver.run());
        };
        for (index, target) in targets.iter().enumerate() {
            let spec = StreamSpec {
                path: target.resource.collection_path(namespace.as_deref()),
                label_selector: settings.label_selector.clone(),
                field_selector: settings.field_selector.clone(),
                names: target.names.clone(),
                representation: settings.representation,
                gather,
            };
            start_stream(index, spec);
        }
        // Events about Events are not watched: a watch of `events` alone has nothing to join.
        let watched_kinds: Vec<String> = targets
            .iter()
            .map(|target| target.resource.kind.clone())
            .filter(|kind| kind != "Event")
            .collect();
        let events = match settings.events {
            EventUse::Off => None,
            _ if watched_kinds.is_empty() => None,
            EventUse::Join | EventUse::Print => resolver::event_resource(&connection)
                .await
                .map_err(|error| connection.explain(error))?
                .map(|resource| {
                    let index = targets.len();
                    start_stream(
                        index,
                        StreamSpec {
                            path: resource.collection_path(namespace.as_deref()),
                            label_selector: None,
                            field_selector: None,
                            names: Default::default(),
                            representation: Representation::Objects,
                            gather,
                        },
                    );
                    EventStream {
                        index,
                        label: StreamLabel::from(&resource),
                        kinds: watched_kinds,
                        printed: settings.events == EventUse::Print,
                    }
                }),
        };
        let streams = targets
            .iter()
            .map(|target| StreamInfo::new(StreamLabel::from(&target.resource)))
            .collect();
        Ok(Engine {
            receiver,
            streams,
            events,
            connection,
            namespace,
            started,
        })
    }
}

impl Engine {
    /// The label of any stream, the Events' included.
    fn label(&self, stream: usize) -> &StreamLabel {
        match &self.events {
            Some(events) if events.index == stream => &events.label,
            _ => &self.streams[stream].label,
        }
    }

    /// The number of streams, the Events' included.
    fn stream_count(&self) -> usize {
        self.streams.len() + usize::from(self.events.is_some())
    }

    /// The table's options, with the Events' column only when they are watched.
    fn table_options(&self, settings: &Settings) -> TableOptions {
        TableOptions {
            events: settings.table.events && self.events.is_some(),
            ..settings.table.clone()
        }
    }

    /// Whether an Event about a `kind` object is printed (`--with-events`).
    fn prints_event_about(&self, kind: &str) -> bool {
        self.events
            .as_ref()
            .is_some_and(|events| events.printed && events.kinds.iter().any(|watched| watched == kind))
    }
}

/// A failure that ends the run, with what helps to fix it.
pub(crate) fn fatal(error: Error, connection: &Connection, settings: &Settings) -> Error {
    connection
        .explain(error)
        .with_namespace_hint(settings.scope == NamespaceScope::All)
}

/// Streamed initial lists exist from Kubernetes 1.27; older servers ignore the parameter and would replay
/// everything as a plain watch, so they are never asked.
async fn server_streams_lists(connection: &Connection) -> Result<bool> {
    let version = connection
        .bounded(connection.client.apiserver_version())
        .await?
        .map_err(|error| request_error(error, "reading the server version"))?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    Ok(version.major == "1" && minor >= 27)
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
