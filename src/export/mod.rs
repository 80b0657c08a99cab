//! `--export URL`: every change reported, as an OpenTelemetry log record sent to a collector over OTLP/HTTP
//! (the `opentelemetry-otlp` crate's exporter, through our own HTTP client). The watch never waits for the
//! collector: changes wait in a bounded queue, a change that finds it full is dropped and counted, and what
//! happens to the collector (away, refusing, back) reaches the outputs as notices.

mod http;
mod record;
mod sender;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::LogExporter;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::settings::ExportTo;
use crate::view::feed::{Fed, FeedItem};
use record::ExportedStream;

pub use record::{EVENT_NAME, Outgoing};

/// At the end, what still waits is sent for at most this long.
const LAST_SENDING: Duration = Duration::from_secs(5);

/// What the feed and the sending task share: the counts, and the way to say something.
struct Shared {
    /// The endpoint as said in notices: without its query, which may hold a key.
    endpoint: String,
    /// The queue's bound.
    bound: usize,
    sent: AtomicU64,
    /// Dropped for want of room in the queue.
    dropped: AtomicU64,
    /// Dropped because the collector refused them.
    refused: AtomicU64,
    /// In the queue or being sent.
    waiting: AtomicU64,
    /// The queue's being full has been said, and not since it had room again.
    full_said: AtomicBool,
    notices: mpsc::UnboundedSender<String>,
}

impl Shared {
    fn say(&self, text: String) {
        let _ = self.notices.send(text);
    }
}

/// The export of one run: started before the source, finished after the output.
pub struct Export {
    queue: Option<mpsc::UnboundedSender<Outgoing>>,
    notices: Option<mpsc::UnboundedReceiver<String>>,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Export {
    /// Starts the sending task (in the runtime this is called from).
    pub fn start(to: &ExportTo) -> Result<Export> {
        let client = http::CollectorClient::new().map_err(|why| Error::Config(format!("--export: {why}")))?;
        let mut exporter = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_http_client(client.clone())
            .with_endpoint(to.endpoint.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            .with_timeout(http::REQUEST_LIMIT)
            .build()
            .map_err(|error| Error::Config(format!("--export: {error}")))?;
        exporter.set_resource(
            &Resource::builder()
                .with_service_name("kubectl-watchnew")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        );
        let (queue, waiting) = mpsc::unbounded_channel();
        let (notify, notices) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            endpoint: to.endpoint.split('?').next().unwrap_or_default().to_string(),
            bound: to.queue,
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            full_said: AtomicBool::new(false),
            notices: notify,
        });
        let task = tokio::spawn(sender::send(waiting, exporter, client, shared.clone()));
        Ok(Export {
            queue: Some(queue),
            notices: Some(notices),
            shared,
            task,
        })
    }

    /// The feed that the reporting gives the changes reported to; `contexts` are the source's contexts, each
    /// with its cluster, the first standing for a stream that names none (one context watched).
    pub fn feed(&mut self, contexts: Vec<(Option<String>, Option<String>)>) -> Option<ExportFeed> {
        Some(ExportFeed {
            queue: self.queue.clone()?,
            notices: self.notices.take(),
            shared: self.shared.clone(),
            contexts,
            streams: Vec::new(),
        })
    }

    /// Sends what still waits, for a few seconds at most, and says what was sent in one line.
    pub async fn finish(mut self) -> Finished {
        // The feed went with the output; with this sender gone too, the task ends once the queue is empty.
        self.queue = None;
        let ended = tokio::time::timeout(LAST_SENDING, &mut self.task).await.is_ok();
        if !ended {
            self.task.abort();
        }
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let shared = &self.shared;
        let mut line = format!("export: {} changes sent to {}", count(&shared.sent), shared.endpoint);
        if count(&shared.dropped) > 0 {
            line += &format!(
                ", {} dropped (the queue of {} was full)",
                count(&shared.dropped),
                shared.bound
            );
        }
        if count(&shared.refused) > 0 {
            line += &format!(", {} refused by the collector", count(&shared.refused));
        }
        let unsent = count(&shared.waiting);
        if !ended && unsent > 0 {
            line += &format!(
                ", {unsent} not sent: the collector did not take them in the last {}s",
                LAST_SENDING.as_secs()
            );
        }
        Finished {
            offered: count(&shared.sent) + count(&shared.dropped) + count(&shared.refused) + unsent,
            line,
        }
    }
}

/// What an export did, at its end.
pub struct Finished {
    /// How many changes were given to it.
    pub offered: u64,
    /// What it says of them: `export: 1234 changes sent to URL`, and what was not.
    pub line: String,
}

/// The reporting's end of the export: it turns each change reported into a record and queues it, without
/// ever waiting.
pub struct ExportFeed {
    queue: mpsc::UnboundedSender<Outgoing>,
    notices: Option<mpsc::UnboundedReceiver<String>>,
    shared: Arc<Shared>,
    contexts: Vec<(Option<String>, Option<String>)>,
    streams: Vec<ExportedStream>,
}

impl ExportFeed {
    /// Queues the changes of `batch` (items already admitted: of the types asked for, within the count).
    pub fn offer(&mut self, batch: &[Fed]) {
        for fed in batch {
            match &fed.item {
                FeedItem::Stream(info) => {
                    let named = info
                        .context
                        .as_ref()
                        .and_then(|context| self.contexts.iter().find(|(name, _)| name.as_ref() == Some(context)));
                    let (context, cluster) = named.or(self.contexts.first()).cloned().unwrap_or_default();
                    self.streams.push(ExportedStream {
                        label: info.label.clone(),
                        context: info.context.clone().or(context),
                        cluster,
                    });
                }
                FeedItem::Change(change) => {
                    let Some(stream) = self.streams.get(change.stream) else {
                        continue;
                    };
                    self.queue_one(Outgoing::of(stream, change, fed.at));
                }
                _ => {}
            }
        }
    }

    /// Queues a change unless as many as the bound wait already (those in the batch being sent included, so
    /// that the bound is what is held): then it is dropped, counted, and the first of a run said.
    fn queue_one(&self, outgoing: Outgoing) {
        let shared = &self.shared;
        // The only one adding to `waiting`: what it reads can only shrink before the add.
        let waiting = shared.waiting.load(Ordering::Relaxed);
        if waiting >= shared.bound as u64 {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            if !shared.full_said.swap(true, Ordering::Relaxed) {
                shared.say(format!(
                    "export: {} changes wait for the collector at {}: the ones after are dropped and counted \
                     until there is room (--export-queue sets the bound)",
                    shared.bound, shared.endpoint
                ));
            }
            return;
        }
        if waiting <= shared.bound as u64 / 2 {
            shared.full_said.store(false, Ordering::Relaxed);
        }
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(outgoing).is_err() {
            // The sending task is gone (only at the end): nothing will take it.
            shared.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The next thing the export has to say; never, if nothing.
    pub async fn notice(&mut self) -> String {
        match &mut self.notices {
            Some(notices) => match notices.recv().await {
                Some(text) => text,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}
