//! The I/O half of one stream: list (streamed where the server can, paginated otherwise), watch from the
//! list's resourceVersion, resume after every end, relist after 410 Gone. It only talks to the server and
//! forwards what it heard, in order; the tracker decides what that means.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::AsyncBufReadExt;
use http::HeaderValue;
use kube::Client;
use kube::api::{ListParams, WatchParams};
use kube::core::Request;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::fill::{Fill, Snapshot};
use super::policy::{self, Backoff};
use super::tracker::{ObjectKey, StreamEvent};
use super::wire::{self, Column, Payload, WatchEvent, WireObject};
use crate::cluster::transport::RoundTrip;
use crate::error::{Error, causes, request_error};

/// The page size kubectl uses for its lists.
pub const PAGE_SIZE: u32 = 500;
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";
/// Metadata only, for a list and for a watch; a server that cannot (an aggregated API of its own making) may
/// answer with whole objects, which read the same.
const METADATA_LIST_ACCEPT: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json";
const METADATA_ACCEPT: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";
/// How much later than the server's own timeout a silent watch is given up as dead.
const IDLE_MARGIN: Duration = Duration::from_secs(15);
/// How long a watch may stay silent once the server is known to send bookmarks: kube-apiserver's watch cache
/// sends one to every watch about once a minute, so this is a missed bookmark and half. A stall in between
/// (a proxy or NAT that stops forwarding without closing) is noticed after this, not at the watch's timeout.
const SILENCE_LIMIT: Duration = Duration::from_secs(90);
/// How long, once synced, a watch may take to answer and a LIST page to arrive when `--request-timeout` does
/// not say: an API server answers a watch at once and sends a page of 500 in well under a second.
const WATCH_ANSWER_LIMIT: Duration = Duration::from_secs(30);
const PAGE_ANSWER_LIMIT: Duration = Duration::from_secs(60);
/// A first page of whole objects that takes longer than this, and comes slower than `SERVED_RATE`, over a
/// link whose round trip is at least `SLOW_LINK_ROUND_TRIP`, says the link is what bounds the start: the rest
/// of what exists is read as metadata (a third of the bytes of pods), and the whole objects follow in the
/// background (`fill.rs`). A page of 500 pods takes 70-150 ms from an API server on loopback or a LAN (at
/// 30-50 MB/s of JSON), 170 ms over 20 Mbit/s and 550 ms over 5 Mbit/s (gzip makes pods' JSON ten times
/// smaller on the wire).
const SLOW_PAGE: Duration = Duration::from_millis(250);
/// Bytes of JSON a second that a busy API server still sends a page at; a page slower than this and than
/// `SLOW_PAGE` was held up by the link or by the server.
const SERVED_RATE: f64 = 12_000_000.0;
/// The round trip (the fastest TLS handshake, `RoundTrip`) from which a slow page is the link's: a busy API
/// server on loopback or a LAN is slow too, and reading its snapshot twice would only add to its load. Links
/// slow enough to matter (a hotspot, a VPN, another continent) take tens of milliseconds; a handshake with
/// kube-apiserver on loopback took 2 ms at the median, and 11 ms at most with two heavy clients beside it
/// (README, "Remote clusters").
const SLOW_LINK_ROUND_TRIP: Duration = Duration::from_millis(15);
/// A bookmark closer than this to the watch's timeout is the one sent before it ends, not a periodic one.
const PRE_TIMEOUT_BOOKMARK: Duration = Duration::from_secs(10);

/// The form in which the changes are asked for; the first snapshot is always asked for in the cheapest form
/// that serves it (see `StreamDriver::list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// Objects as they are (what `-o json` prints).
    Objects,
    /// Only each object's metadata (what `-o name` needs).
    Metadata,
    /// The server's Table rendering, the columns of `kubectl get`, with the whole object (for what changed).
    Table,
}

/// The form of one request: how its Accept header and parameters ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Objects,
    Metadata,
    Table,
}

/// What one stream watches.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// The collection's URL path, e.g. `/api/v1/namespaces/team-a/pods`.
    pub path: String,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Only these objects; empty for all.
    pub names: BTreeSet<String>,
    pub representation: Representation,
    /// When set, a watch with nothing to read lets this much time pass before it waits for more, so that
    /// what arrives meanwhile is read in one wake-up, not one each: for a screen drawn ten times a second.
    pub gather: Option<Duration>,
    /// Who writes each object is followed: its managedFields are kept apart, to name a change's writers.
    pub writers: bool,
    /// The first list reads each object whole even where the output keeps only its identity: what tells a
    /// first heartbeat after the start from a change (`heartbeats.rs`).
    pub whole_snapshot: bool,
}

/// What a stream tells the session, in order.
#[derive(Debug)]
pub enum StreamMessage {
    Event(StreamEvent<Payload>),
    /// The Table columns, when the server sends them (first list page or first watch event).
    Columns(Vec<Column>),
    Notice(Notice),
    /// The stream cannot go on (forbidden, unknown, rejected): the whole watch ends with this error.
    Failed(Error),
    /// Before the first sync, how far its list has come: objects read, and how many in all when the server
    /// says (each page's `remainingItemCount`).
    Progress {
        read: usize,
        total: Option<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The watch broke off; the next attempt follows after `retry_in`.
    Interrupted { cause: String, retry_in: Duration },
    /// Before the first sync, the list failed; the next attempt follows after `retry_in`.
    ListRetried { cause: String, retry_in: Duration },
    /// The watch is back after an interruption that lasted `gap`, resumed where it stopped.
    Resumed { gap: Duration },
    /// The resume point is older than the server's history (410 Gone): a relist follows.
    Expired,
    /// The server does not stream initial lists (the WatchList feature is off); paginated lists from now on.
    StreamingListsUnsupported,
    /// The first page (`objects` whole objects) came slowly, in `took`, over a link whose round trip (the
    /// fastest TLS handshake) was that: the rest of the snapshot is read as metadata, and the whole objects
    /// after it.
    SlowLink {
        objects: usize,
        took: Duration,
        round_trip: Option<Duration>,
    },
    /// The whole objects of the snapshot are read, `objects` of them, `took` after the sync: from now on no
    /// change waits for one.
    Filled { objects: usize, took: Duration },
    /// The whole objects of the snapshot could not be read after it: what the first changes of objects that
    /// existed changed cannot be said.
    FillFailed { cause: String },
}

/// How a context's streams list: whether to try streamed initial lists (shared by all streams, so that one
/// refusal switches them all), what tells a slow link (its connections' round trip), and the places for
/// paginated lists in flight that every context shares (`--lists-at-once`).
#[derive(Debug)]
pub struct ListStrategy {
    streaming: AtomicBool,
    round_trip: RoundTrip,
    lists: Arc<Semaphore>,
}

impl ListStrategy {
    pub fn new(try_streaming: bool, round_trip: RoundTrip, lists: Arc<Semaphore>) -> Arc<Self> {
        Arc::new(ListStrategy {
            streaming: AtomicBool::new(try_streaming),
            round_trip,
            lists,
        })
    }

    /// Whether a first page that took `took` for `bytes` of JSON was held up by the link. Over plain `http://`
    /// (no handshake to time: `kubectl proxy`, a tunnel) the page's pace alone decides.
    fn slow_link(&self, took: Duration, bytes: usize) -> bool {
        let bytes_per_second = bytes as f64 / took.as_secs_f64().max(1e-3);
        let far = self
            .round_trip
            .fastest()
            .is_none_or(|round_trip| round_trip >= SLOW_LINK_ROUND_TRIP);
        took >= SLOW_PAGE && bytes_per_second < SERVED_RATE && far
    }

    fn streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    fn give_up_streaming(&self) -> bool {
        self.streaming.swap(false, Ordering::Relaxed)
    }
}

/// Why a watch or list ended.
enum End {
    /// The server closed the watch, as it does at its timeout: resume at once.
    Closed,
    /// 410 Gone: the resume point expired.
    Expired,
    StreamingUnsupported,
    /// A transient failure: retry after a pause.
    Broken(String),
    /// Nothing came within a bounded wait (a dead connection, or a server that does not answer): the wait was
    /// the pause, so retry at once.
    Silent(String),
}

/// Why the stream stops for good.
enum Stop {
    Failed(Error),
    /// Nobody listens any more: the watch is over.
    Abandoned,
}

pub struct StreamDriver {
    client: Client,
    spec: StreamSpec,
    index: usize,
    sender: mpsc::Sender<(usize, StreamMessage)>,
    strategy: Arc<ListStrategy>,
    request_timeout: Option<Duration>,
    /// The newest resourceVersion delivered; `None` until a list completes, and again after 410 Gone.
    resume: Option<String>,
    /// When the stream last broke off, for the length of the gap.
    interrupted_at: Option<Instant>,
    /// Whether a first list has completed: only relists show what they find.
    synced: bool,
    /// Whether a watch has been opened since the last failure: the next failure starts the backoff afresh.
    recovered: bool,
    /// `--silence-limit`: how long a watch may stay silent, whatever the server.
    silence_limit: Option<Duration>,
    /// Whether the server has sent a periodic bookmark: its silence then means a dead connection.
    periodic_bookmarks: bool,
    /// The first list reads metadata after its first page (a slow link): the whole objects follow it.
    snapshot_by_metadata: bool,
    /// The objects that first list read as metadata, until its whole objects are sent for.
    listed_as_metadata: HashSet<ObjectKey>,
    /// The whole objects on their way after such a list.
    fill: Option<Arc<Fill>>,
}

impl StreamDriver {
    pub fn new(
        client: Client,
        spec: StreamSpec,
        index: usize,
        sender: mpsc::Sender<(usize, StreamMessage)>,
        strategy: Arc<ListStrategy>,
        request_timeout: Option<Duration>,
        silence_limit: Option<Duration>,
    ) -> Self {
        StreamDriver {
            client,
            spec,
            index,
            sender,
            strategy,
            request_timeout,
            resume: None,
            interrupted_at: None,
            synced: false,
            recovered: false,
            silence_limit,
            periodic_bookmarks: false,
            snapshot_by_metadata: false,
            listed_as_metadata: HashSet::new(),
            fill: None,
        }
    }

    /// A stream that resumes from a saved state: its tracker is synced already, so its first list is read as a
    /// relist (whole objects, for what it finds to be reported) and a failure is an interruption.
    pub fn resuming(mut self) -> Self {
        self.synced = true;
        self
    }

    /// Runs until the receiver goes away or the stream fails for good.
    pub async fn run(mut self) {
        let mut backoff = Backoff::default();
        loop {
            let outcome = match (&self.resume, self.strategy.streaming()) {
                (Some(_), _) | (None, true) => self.watch().await,
                (None, false) => {
                    // A list in flight holds one of the shared places from its first page to its last: fifty
                    // contexts starting (or relisting after a restart of their servers) read a few at a time.
                    let place = Arc::clone(&self.strategy.lists).acquire_owned().await.ok();
                    let listed = self.list().await;
                    drop(place);
                    match listed {
                        Ok(End::Closed) => self.watch().await,
                        other => other,
                    }
                }
            };
            match outcome {
                Ok(End::Closed) => backoff.reset(),
                Ok(End::Expired) => {
                    self.resume = None;
                    self.interrupted_at.get_or_insert_with(Instant::now);
                    if self.notify(Notice::Expired).await.is_err() {
                        return;
                    }
                }
                Ok(End::StreamingUnsupported) => {
                    if self.strategy.give_up_streaming()
                        && self.notify(Notice::StreamingListsUnsupported).await.is_err()
                    {
                        return;
                    }
                }
                Ok(End::Broken(cause)) => {
                    if std::mem::take(&mut self.recovered) {
                        backoff.reset();
                    }
                    let retry_in = backoff.next_wait(policy::clock_random());
                    let notice = self.interruption(cause, retry_in);
                    if self.notify(notice).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(retry_in).await;
                }
                Ok(End::Silent(cause)) => {
                    self.interrupted_at.get_or_insert_with(Instant::now);
                    let retry_in = Duration::ZERO;
                    if self.notify(Notice::Interrupted { cause, retry_in }).await.is_err() {
                        return;
                    }
                }
                Err(Stop::Failed(error)) => {
                    let _ = self.sender.send((self.index, StreamMessage::Failed(error))).await;
                    return;
                }
                Err(Stop::Abandoned) => return,
            }
        }
    }

    async fn send(&self, message: StreamMessage) -> Result<(), Stop> {
        self.sender
            .send((self.index, message))
            .await
            .map_err(|_| Stop::Abandoned)
    }

    async fn notify(&self, notice: Notice) -> Result<(), Stop> {
        self.send(StreamMessage::Notice(notice)).await
    }

    /// A failure as it is told: before the first sync, as the list being tried again; after it, as an
    /// interruption, whose gap lasts until the stream works again.
    fn interruption(&mut self, cause: String, retry_in: Duration) -> Notice {
        if self.synced {
            self.interrupted_at.get_or_insert_with(Instant::now);
            Notice::Interrupted { cause, retry_in }
        } else {
            Notice::ListRetried { cause, retry_in }
        }
    }

    /// After an interruption, says how long it lasted, once the stream works again.
    async fn report_resumed(&mut self) -> Result<(), Stop> {
        match self.interrupted_at.take() {
            Some(since) => self.notify(Notice::Resumed { gap: since.elapsed() }).await,
            None => Ok(()),
        }
    }

    fn wanted(&self, object: &WireObject) -> bool {
        self.spec.names.is_empty() || self.spec.names.contains(&object.key.name)
    }

    fn field_selector(&self) -> Option<String> {
        // One name is selected on the server; several are filtered here, as field selectors cannot say "or".
        let by_name = match self.spec.names.len() {
            1 => self.spec.names.first().map(|name| format!("metadata.name={name}")),
            _ => None,
        };
        match (by_name, &self.spec.field_selector) {
            (Some(name), Some(fields)) => Some(format!("{name},{fields}")),
            (name, fields) => name.or_else(|| fields.clone()),
        }
    }

    /// What is kept of each object: a copy to say what changed in its next version (the human outputs), and
    /// its writers when they are followed.
    fn keep(&self) -> wire::Keep {
        wire::Keep {
            summarised: self.spec.representation == Representation::Table,
            writers: self.spec.writers,
        }
    }

    /// The form the changes are asked in: what the output prints.
    fn changes_form(&self) -> Form {
        match self.spec.representation {
            Representation::Objects => Form::Objects,
            Representation::Metadata => Form::Metadata,
            Representation::Table => Form::Table,
        }
    }

    /// The form of one page of a LIST. What a first list finds is never shown, only remembered: its identities
    /// and resourceVersions, and for the human outputs the whole object, which the first modification is
    /// compared with. So a first list asks for metadata only where that is all the output keeps, else its
    /// first page as a Table (for the columns) and the rest as plain objects, which the server sends in about
    /// half the time (BENCHMARKS.md); over a slow link, the rest as metadata, with the whole objects after the
    /// list (`fill`). A relist shows what it finds, so every page of it is in the changes' form.
    fn page_form(&self, first_page: bool) -> Form {
        match (self.synced, self.spec.representation) {
            (true, _) => self.changes_form(),
            (false, Representation::Objects | Representation::Metadata) if self.spec.whole_snapshot => Form::Objects,
            (false, Representation::Objects | Representation::Metadata) => Form::Metadata,
            (false, Representation::Table) if first_page => Form::Table,
            (false, Representation::Table) if self.snapshot_by_metadata => Form::Metadata,
            (false, Representation::Table) => Form::Objects,
        }
    }

    fn prepare(&self, mut request: http::Request<Vec<u8>>, form: Form, list: bool) -> http::Request<Vec<u8>> {
        let accept = match (form, list) {
            (Form::Objects, _) => None,
            (Form::Metadata, true) => Some(METADATA_LIST_ACCEPT),
            (Form::Metadata, false) => Some(METADATA_ACCEPT),
            (Form::Table, _) => Some(TABLE_ACCEPT),
        };
        if let Some(accept) = accept {
            request
                .headers_mut()
                .insert(http::header::ACCEPT, HeaderValue::from_static(accept));
        }
        if form == Form::Table {
            let uri = format!("{}&includeObject=Object", request.uri());
            if let Ok(uri) = uri.parse() {
                *request.uri_mut() = uri;
            }
        }
        request
    }

    /// A paginated LIST. A page that fails for a passing reason is asked for again with the same continue
    /// token, so that the pages already read stay good; the list starts over only when the token expires.
    async fn list(&mut self) -> Result<End, Stop> {
        self.send(StreamMessage::Event(StreamEvent::ListBegin)).await?;
        self.listed_as_metadata.clear();
        let mut continue_token: Option<String> = None;
        let asked = Instant::now();
        let mut response = self.fetch_page(None).await?;
        let first_page_took = asked.elapsed();
        let mut page_backoff = Backoff::default();
        let mut read = 0;
        loop {
            let answered = match response {
                Ok(Ok(body)) => Ok(body),
                Ok(Err(kube::Error::Api(status))) if status.code == 410 && continue_token.is_some() => {
                    // The snapshot the pages came from is gone; start over with a fresh one.
                    continue_token = None;
                    read = 0;
                    self.listed_as_metadata.clear();
                    self.send(StreamMessage::Event(StreamEvent::ListBegin)).await?;
                    response = self.fetch_page(None).await?;
                    continue;
                }
                Ok(Err(error)) => Err(self.failure(error, "listing")?),
                Err(waited) => Err(self.unanswered("list", waited)?),
            };
            let body = match (answered, &continue_token) {
                (Ok(body), _) => body,
                (Err(End::Broken(cause)), Some(_)) => {
                    let retry_in = page_backoff.next_wait(policy::clock_random());
                    let notice = self.interruption(cause, retry_in);
                    self.notify(notice).await?;
                    tokio::time::sleep(retry_in).await;
                    response = self.fetch_page(continue_token.clone()).await?;
                    continue;
                }
                (Err(End::Silent(cause)), Some(_)) => {
                    // The wait for the answer was the pause.
                    let retry_in = Duration::ZERO;
                    self.notify(Notice::Interrupted { cause, retry_in }).await?;
                    response = self.fetch_page(continue_token.clone()).await?;
                    continue;
                }
                (Err(end), _) => return Ok(end),
            };
            let form = self.page_form(continue_token.is_none());
            let keep = match form {
                // Metadata is never what a change is compared with: the whole object will be.
                Form::Metadata => wire::Keep {
                    summarised: false,
                    ..self.keep()
                },
                _ => self.keep(),
            };
            let page = match wire::decode_list_page(body.as_bytes(), keep) {
                Ok(page) => page,
                Err(error) => return Ok(End::Broken(error.to_string())),
            };
            if continue_token.is_none()
                && page.continue_token.is_some()
                && self.fills_over_a_slow_link()
                && self.strategy.slow_link(first_page_took, body.len())
            {
                self.snapshot_by_metadata = true;
                let (objects, took) = (page.items.len(), first_page_took);
                let round_trip = self.strategy.round_trip.fastest();
                self.notify(Notice::SlowLink {
                    objects,
                    took,
                    round_trip,
                })
                .await?;
            }
            drop(body);
            if let Some(columns) = page.columns {
                self.send(StreamMessage::Columns(columns)).await?;
            }
            read += page.items.len();
            if form == Form::Metadata && self.fills_over_a_slow_link() {
                // Those a names filter leaves out are never filled.
                let names = &self.spec.names;
                let wanted = page
                    .items
                    .iter()
                    .filter(|item| names.is_empty() || names.contains(&item.key.name));
                self.listed_as_metadata.extend(wanted.map(|item| item.key.clone()));
            }
            if !self.synced && page.continue_token.is_some() {
                let total = page.remaining.map(|remaining| read + remaining as usize);
                self.send(StreamMessage::Progress { read, total }).await?;
            }
            let forward = async {
                for item in page.items {
                    if self.wanted(&item) {
                        self.send(StreamMessage::Event(StreamEvent::ListItem(item))).await?;
                    }
                }
                Ok::<(), Stop>(())
            };
            match page.continue_token {
                Some(token) => {
                    // The server prepares the next page while this one is taken in.
                    let (forwarded, next) = tokio::join!(forward, self.fetch_page(Some(token.clone())));
                    forwarded?;
                    response = next?;
                    continue_token = Some(token);
                }
                None => {
                    forward.await?;
                    self.resume = Some(page.resource_version.clone());
                    let fill_from = (!self.synced && self.snapshot_by_metadata).then(|| page.resource_version.clone());
                    self.send(StreamMessage::Event(StreamEvent::ListEnd {
                        resource_version: page.resource_version,
                    }))
                    .await?;
                    if let Some(resource_version) = fill_from {
                        self.send(StreamMessage::Event(StreamEvent::FillBegin)).await?;
                        let snapshot = Snapshot {
                            path: self.spec.path.clone(),
                            label_selector: self.spec.label_selector.clone(),
                            field_selector: self.field_selector(),
                            names: self.spec.names.clone(),
                            keep: self.keep(),
                            resource_version,
                        };
                        let unfilled = std::mem::take(&mut self.listed_as_metadata);
                        let fill = Fill::new(self.client.clone(), self.sender.clone(), self.index, snapshot, unfilled);
                        tokio::spawn(Arc::clone(&fill).run());
                        self.fill = Some(fill);
                    }
                    self.synced = true;
                    self.report_resumed().await?;
                    return Ok(End::Closed);
                }
            }
        }
    }

    /// Whether a slow first page makes the rest of the first list metadata: only where the snapshot's whole
    /// objects are kept for what a change changed, and not for kinds that beat (a heartbeat is told from a
    /// change by the whole object before it).
    fn fills_over_a_slow_link(&self) -> bool {
        !self.synced && self.spec.representation == Representation::Table && !self.spec.whole_snapshot
    }

    /// Asks for one LIST page: the first one, or the one a continue token points to.
    async fn fetch_page(
        &self,
        continue_token: Option<String>,
    ) -> Result<Result<Result<String, kube::Error>, Duration>, Stop> {
        let first = continue_token.is_none();
        let params = ListParams {
            label_selector: self.spec.label_selector.clone(),
            field_selector: self.field_selector(),
            limit: Some(PAGE_SIZE),
            continue_token,
            ..ListParams::default()
        };
        let request = Request::new(&self.spec.path).list(&params).map_err(internal)?;
        let request = self.prepare(request, self.page_form(first), true);
        Ok(self.bounded(self.client.request_text(request), PAGE_ANSWER_LIMIT).await)
    }

    /// A watch from the resume point; without one, a streamed initial list followed by the watch.
    async fn watch(&mut self) -> Result<End, Stop> {
        let initial = self.resume.is_none();
        let timeout_seconds = watch_timeout_seconds();
        let params = WatchParams {
            label_selector: self.spec.label_selector.clone(),
            field_selector: self.field_selector(),
            timeout: Some(timeout_seconds),
            bookmarks: true,
            send_initial_events: initial,
        };
        let request = Request::new(&self.spec.path)
            .watch(&params, self.resume.as_deref().unwrap_or(""))
            .map_err(internal)?;
        let answer_limit = silence_allowed(self.silence_limit, self.periodic_bookmarks)
            .map_or(WATCH_ANSWER_LIMIT, |silence| silence.min(WATCH_ANSWER_LIMIT));
        let opening = self
            .client
            .request_stream(self.prepare(request, self.changes_form(), false));
        let mut reader = match self.bounded(opening, answer_limit).await {
            Ok(Ok(reader)) => Box::pin(reader),
            Ok(Err(error)) => return self.failure(error, "watching"),
            Err(waited) => {
                return self.unanswered("watch", waited);
            }
        };
        self.recovered = true;
        let server_ends = Instant::now() + Duration::from_secs(timeout_seconds.into());
        let deadline = server_ends + IDLE_MARGIN;
        if initial {
            self.send(StreamMessage::Event(StreamEvent::ListBegin)).await?;
        } else {
            self.report_resumed().await?;
        }
        let mut listing = initial;
        let mut line = Vec::with_capacity(64 * 1024);
        let mut last_heard = Instant::now();
        loop {
            line.clear();
            let silence = silence_allowed(self.silence_limit, self.periodic_bookmarks);
            let give_up = silence.map_or(deadline, |silence| deadline.min(Instant::now() + silence));
            if let Some(gather) = self.spec.gather
                && !listing
                && nothing_to_read(reader.as_mut()).await
            {
                tokio::time::sleep(gather.min(give_up.saturating_duration_since(Instant::now()))).await;
            }
            let read = match tokio::time::timeout_at(give_up, reader.read_until(b'\n', &mut line)).await {
                Ok(read) => {
                    last_heard = Instant::now();
                    read
                }
                // The gap began when the stream went quiet, not when that was noticed.
                Err(_) if give_up == deadline => {
                    self.interrupted_at.get_or_insert(last_heard);
                    return Ok(End::Silent("the watch went silent past its timeout".into()));
                }
                Err(_) => {
                    self.interrupted_at.get_or_insert(last_heard);
                    let silent = silence.unwrap_or_default().as_secs_f64();
                    return Ok(End::Silent(format!(
                        "nothing heard for {silent:.0}s, not even a bookmark: the connection is taken as dead"
                    )));
                }
            };
            match read {
                Ok(0) if listing => {
                    return Ok(End::Broken(
                        "the watch ended before the initial list was complete".into(),
                    ));
                }
                Ok(0) => return Ok(End::Closed),
                Ok(_) => {}
                Err(error) => {
                    return Ok(End::Broken(format!("reading the watch failed: {}", causes(&error))));
                }
            }
            let decoded = match wire::decode_watch_event(line.trim_ascii_end(), self.keep()) {
                Ok(decoded) => decoded,
                Err(error) => return Ok(End::Broken(error.to_string())),
            };
            if let Some(columns) = decoded.columns {
                self.send(StreamMessage::Columns(columns)).await?;
            }
            let event = match decoded.event {
                WatchEvent::Error(status) if status.code == 410 => return Ok(End::Expired),
                WatchEvent::Error(status) => {
                    return Ok(End::Broken(format!(
                        "the server ended the watch: {} ({})",
                        status.message, status.code
                    )));
                }
                WatchEvent::Bookmark {
                    resource_version,
                    initial_events_end,
                } => {
                    if listing && !initial_events_end {
                        continue;
                    }
                    let event = if listing {
                        listing = false;
                        self.synced = true;
                        StreamEvent::ListEnd {
                            resource_version: resource_version.clone(),
                        }
                    } else {
                        StreamEvent::Bookmark {
                            resource_version: resource_version.clone(),
                        }
                    };
                    // The bookmark the server sends just before its timeout comes with or without a watch
                    // cache; one well before it is a periodic one.
                    if !listing && Instant::now() + PRE_TIMEOUT_BOOKMARK < server_ends {
                        self.periodic_bookmarks = true;
                    }
                    self.resume = Some(resource_version);
                    self.send(StreamMessage::Event(event)).await?;
                    if !listing && initial {
                        self.report_resumed().await?;
                    }
                    continue;
                }
                WatchEvent::Added(object) if listing => StreamEvent::ListItem(object),
                WatchEvent::Added(object) => StreamEvent::Added(object),
                WatchEvent::Modified(object) => StreamEvent::Modified(object),
                WatchEvent::Deleted(object) => StreamEvent::Deleted(object),
            };
            let mut event = event;
            let (object, modified) = match &mut event {
                StreamEvent::ListItem(o) => (&*o, false),
                StreamEvent::Added(o) | StreamEvent::Deleted(o) => {
                    o.payload.received = Some(jiff::Timestamp::now());
                    (&*o, false)
                }
                StreamEvent::Modified(o) => {
                    o.payload.received = Some(jiff::Timestamp::now());
                    (&*o, true)
                }
                _ => continue,
            };
            if !listing {
                self.resume = Some(object.resource_version.clone());
            }
            // The first change of an object whose whole version is still on its way: asked for alone.
            if let (true, Some(fill)) = (modified, &self.fill) {
                match fill.done() {
                    true => self.fill = None,
                    false => fill.hasten(&object.key),
                }
            }
            if self.wanted(object) {
                self.send(StreamMessage::Event(event)).await?;
            }
        }
    }

    /// Bounds a request by `--request-timeout`, when one is given, else once synced by `answer_limit`: a
    /// pooled connection that died silently (the NAT or load balancer lost it) would never answer.
    async fn bounded<T>(&self, request: impl Future<Output = T>, answer_limit: Duration) -> Result<T, Duration> {
        match self.request_timeout.or(self.synced.then_some(answer_limit)) {
            Some(limit) => tokio::time::timeout(limit, request).await.map_err(|_| limit),
            None => Ok(request.await),
        }
    }

    /// A request given up on unanswered: fatal before the first sync, as any connection failure.
    fn unanswered(&mut self, request: &str, waited: Duration) -> Result<End, Stop> {
        let message = format!("no answer to a {request} request within {:.1}s", waited.as_secs_f64());
        if self.synced {
            self.interrupted_at
                .get_or_insert_with(|| Instant::now().checked_sub(waited).unwrap_or_else(Instant::now));
            Ok(End::Silent(message))
        } else {
            Err(Stop::Failed(Error::Connection(format!(
                "the API server gave {message}"
            ))))
        }
    }

    fn failure(&self, error: kube::Error, doing: &str) -> Result<End, Stop> {
        if let kube::Error::Api(status) = &error {
            match status.code {
                410 => return Ok(End::Expired),
                400 | 422 if status.message.contains("sendInitialEvents") => {
                    return Ok(End::StreamingUnsupported);
                }
                // The server is there but struggling, or asks to slow down: try again.
                429 | 500..=599 => {
                    return Ok(End::Broken(format!("{} ({})", status.message, status.code)));
                }
                _ => {}
            }
            return Err(Stop::Failed(request_error(
                error,
                &format!("{doing} {}", self.spec.path),
            )));
        }
        match error {
            kube::Error::Auth(_) => Err(Stop::Failed(request_error(error, doing))),
            // Before the first sync nothing has been seen that waiting would save: an unreachable or untrusted
            // server is the user's to fix, said at once (with discovery cached, this is the first request).
            other if !self.synced => Err(Stop::Failed(request_error(other, doing))),
            other => Ok(End::Broken(causes(&other))),
        }
    }
}

/// How long a watch may stay silent before it is taken as dead: what the user said, else `SILENCE_LIMIT` once
/// the server has shown that it sends periodic bookmarks, else no limit but the watch's own timeout (a server
/// without a watch cache sends none, and a quiet collection is no reason to reconnect).
fn silence_allowed(configured: Option<Duration>, periodic_bookmarks: bool) -> Option<Duration> {
    configured.or(periodic_bookmarks.then_some(SILENCE_LIMIT))
}

/// A watch timeout between 4 and 5 minutes, so that the streams of one run do not all reconnect at once.
fn watch_timeout_seconds() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    240 + nanos % 60
}

fn internal(error: kube::core::request::Error) -> Stop {
    Stop::Failed(Error::Internal(anyhow::anyhow!("building a request: {error}")))
}

/// Whether nothing at all can be read now, without waiting (a partial line is read on at once). The body's
/// bytes come from hyper's connection task, so it runs once before an empty read is believed.
async fn nothing_to_read<R: futures::AsyncBufRead + ?Sized>(mut reader: std::pin::Pin<&mut R>) -> bool {
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::task::yield_now().await;
        }
        let empty = futures::future::poll_fn(|context| {
            std::task::Poll::Ready(reader.as_mut().poll_fill_buf(context).is_pending())
        })
        .await;
        if !empty {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_limited_when_asked_or_when_the_server_sends_periodic_bookmarks() {
        let asked = Some(Duration::from_secs(20));
        assert_eq!(silence_allowed(asked, false), asked);
        assert_eq!(silence_allowed(asked, true), asked);
        assert_eq!(silence_allowed(None, true), Some(SILENCE_LIMIT));
        assert_eq!(
            silence_allowed(None, false),
            None,
            "a quiet server without bookmarks is not a dead one"
        );
    }

    #[test]
    fn a_slow_first_page_is_the_links_only_over_a_long_round_trip() {
        let strategy = |handshake: Option<u64>| {
            let round_trip = RoundTrip::default();
            if let Some(millis) = handshake {
                round_trip.record(Duration::from_millis(millis));
            }
            ListStrategy::new(false, round_trip, Arc::new(Semaphore::new(1)))
        };
        // A page of 500 pods, 2 MB of JSON, as it comes over 5 Mbit/s and from a busy server on loopback.
        let (slow, page) = (Duration::from_millis(550), 2_000_000);
        assert!(strategy(Some(22)).slow_link(slow, page), "a hotspot's 20 ms");
        assert!(
            !strategy(Some(3)).slow_link(slow, page),
            "a busy API server close by is not a slow link"
        );
        assert!(
            strategy(None).slow_link(slow, page),
            "without a handshake to time (plain http://), the page decides"
        );
        assert!(
            !strategy(Some(80)).slow_link(Duration::from_millis(100), page),
            "a far server that sends fast enough"
        );
        assert!(
            !strategy(Some(80)).slow_link(slow, 20_000_000),
            "a page slower than 250 ms that came at more than 12 MB/s of JSON"
        );
        let fastest = strategy(Some(40));
        fastest.round_trip.record(Duration::from_millis(2));
        fastest.round_trip.record(Duration::from_millis(30));
        assert_eq!(fastest.round_trip.fastest(), Some(Duration::from_millis(2)));
    }
}
