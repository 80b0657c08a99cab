//! One run, start to end: connect, resolve the types, start a stream per type, and turn what the session
//! reports into output until a signal, a closed pipe or a fatal error ends it.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cluster::connection::{self, Connection};
use crate::cluster::discovery::{self, ResourceInfo, request_error};
use crate::engine::session::{Report, Session};
use crate::engine::stream::{ListStrategy, Notice, Representation, StreamDriver, StreamMessage, StreamSpec};
use crate::engine::wire::Payload;
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::output::{self, Printer, StreamLabel};
use crate::settings::{NamespaceScope, OutputMode, Settings};

/// Messages waiting between the streams and the output; a full channel makes the streams wait, not drop.
const CHANNEL_CAPACITY: usize = 4096;

pub async fn run(settings: Settings) -> Result<ExitCode> {
    let started = Instant::now();
    let mut signals = Signals::new()?;
    tokio::select! {
        biased;
        number = signals.next() => Ok(ExitCode::Signal(number)),
        result = watch(settings, started) => result,
    }
}

async fn watch(settings: Settings, started: Instant) -> Result<ExitCode> {
    let connection = connection::connect(&settings.connection).await?;
    let catalog = bounded(&connection, discovery::discover(&connection.client)).await??;
    let mut resources: Vec<ResourceInfo> = Vec::new();
    let mut names = Vec::new();
    for target in &settings.targets {
        let resource = catalog.resolve(&target.type_name)?;
        if !resources.contains(resource) {
            resources.push(resource.clone());
            names.push(target.names.clone());
        }
    }
    let namespace = match &settings.scope {
        NamespaceScope::All => None,
        NamespaceScope::Named(namespace) => Some(namespace.clone()),
        NamespaceScope::ContextDefault => Some(connection.default_namespace.clone()),
    };
    let strategy = ListStrategy::new(server_streams_lists(&connection).await?);
    let representation = match settings.output {
        OutputMode::Json => Representation::Objects,
        OutputMode::Lines => Representation::Table { whole_objects: false },
    };

    let (sender, mut receiver) = mpsc::channel(CHANNEL_CAPACITY);
    for (index, (resource, names)) in resources.iter().zip(names).enumerate() {
        let spec = StreamSpec {
            path: resource.collection_path(namespace.as_deref()),
            label_selector: settings.label_selector.clone(),
            field_selector: settings.field_selector.clone(),
            names,
            representation,
        };
        let driver = StreamDriver::new(
            connection.client.clone(),
            spec,
            index,
            sender.clone(),
            strategy.clone(),
            connection.request_timeout,
        );
        tokio::spawn(driver.run());
    }
    drop(sender);

    let labels: Vec<StreamLabel> = resources.iter().map(StreamLabel::from).collect();
    let show_namespace = namespace.is_none() && resources.iter().any(|resource| resource.namespaced);
    let mut printer = Printer::new(settings.output, &labels, show_namespace);
    let mut session: Session<Payload> = Session::new(resources.len());
    let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
    let mut reports = Vec::new();
    let mut text = String::new();
    let mut gaps: Vec<Option<Instant>> = vec![None; resources.len()];
    while let Some((stream, message)) = receiver.recv().await {
        let mut next = Some((stream, message));
        // Take what is already waiting before writing, so that bursts go out in one write.
        let mut batch = 0;
        while let Some((stream, message)) = next.take() {
            match message {
                StreamMessage::Event(event) => session.apply(stream, event, &mut reports),
                StreamMessage::Columns(_) => {}
                StreamMessage::Notice(notice) => notify(&labels[stream], &notice, &mut gaps[stream]),
                StreamMessage::Failed(error) => return Err(forbidden_hint(error, &settings.scope)),
            }
            for report in reports.drain(..) {
                match report {
                    Report::Synced { existing } => {
                        eprintln!("{}", output::synced_line(&labels, &existing, started.elapsed()))
                    }
                    Report::Relisted { stream, changes } => {
                        let took = gaps[stream]
                            .take()
                            .map(|since| format!(" after {:.1}s", since.elapsed().as_secs_f64()));
                        eprintln!(
                            "{}: relisted{}: {changes} changes found",
                            labels[stream].name,
                            took.unwrap_or_default()
                        );
                    }
                    Report::Change { stream, change } => {
                        printer.change(&mut text, &labels[stream], &change, jiff::Timestamp::now())
                    }
                }
            }
            batch += 1;
            if batch < 1024 {
                next = receiver.try_recv().ok();
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
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::Success);
                }
                Err(error) => {
                    return Err(Error::Internal(anyhow::anyhow!("writing the output failed: {error}")));
                }
            }
        }
    }
    Err(Error::Internal(anyhow::anyhow!("every stream ended")))
}

fn notify(label: &StreamLabel, notice: &Notice, gap: &mut Option<Instant>) {
    match notice {
        Notice::Interrupted { cause, retry_in } => {
            gap.get_or_insert_with(Instant::now);
            eprintln!(
                "{}: watch interrupted ({cause}); retrying in {:.1}s",
                label.name,
                retry_in.as_secs_f64()
            );
        }
        Notice::Resumed { gap: lasted } => {
            *gap = None;
            eprintln!("{}: reconnected after {:.1}s", label.name, lasted.as_secs_f64());
        }
        Notice::Expired => {
            gap.get_or_insert_with(Instant::now);
            eprintln!("{}: watch expired (410 Gone); relisting", label.name);
        }
        Notice::StreamingListsUnsupported => {
            eprintln!("the server does not stream initial lists (WatchList is off); using paginated lists");
        }
    }
}

/// A refusal of a cluster-wide watch is often fixed by watching one namespace.
fn forbidden_hint(error: Error, scope: &NamespaceScope) -> Error {
    match (error, scope) {
        (Error::Forbidden(message), NamespaceScope::All) => {
            Error::Forbidden(format!("{message}; try one namespace with -n NAMESPACE instead of -A"))
        }
        (error, _) => error,
    }
}

/// Streamed initial lists exist from Kubernetes 1.27; older servers ignore the parameter and would replay
/// everything as a plain watch, so they are never asked.
async fn server_streams_lists(connection: &Connection) -> Result<bool> {
    let version = bounded(connection, connection.client.apiserver_version())
        .await?
        .map_err(|error| request_error(error, "reading the server version"))?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    Ok(version.major == "1" && minor >= 27)
}

/// Bounds a request by `--request-timeout`, when one is given.
async fn bounded<T>(connection: &Connection, request: impl Future<Output = T>) -> Result<T> {
    match connection.request_timeout {
        Some(limit) => tokio::time::timeout(limit, request).await.map_err(|_| {
            Error::Connection(format!(
                "the API server at {} did not answer within {}",
                connection.server,
                seconds(limit)
            ))
        }),
        None => Ok(request.await),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
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
