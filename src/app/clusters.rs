//! The source of changes that watches clusters. For each context: its connection, its kinds resolved, a stream
//! per kind and the session that turns what the streams hear into changes; beside them the Events about the
//! watched objects; with `--all-kinds`, a look at discovery now and then for kinds installed since the start.
//! What it says goes out as `Fed` items, stamped with the time they were seen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::notices::{events_unavailable_line, notice_line, relisted_line, synced_line};
use crate::cluster::connection::Connection;
use crate::cluster::discovery::{Catalog, ResourceInfo};
use crate::cluster::resolver::{self, Target, TypeTarget};
use crate::engine::session::{Report, Session};
use crate::engine::stream::{ListStrategy, Representation, StreamDriver, StreamMessage, StreamSpec};
use crate::engine::tracker::{ChangeType, StreamEvent};
use crate::engine::wire::{self, Payload};
use crate::error::{Error, Result, request_error};
use crate::exit_code::ExitCode;
use crate::settings::{EventUse, NamespaceScope, OutputMode, Settings};
use crate::view::events::ObservedEvent;
use crate::view::feed::{Fed, FedChange, FeedItem, Synced, SyncedStream};
use crate::view::{NoticeKind, StreamInfo, StreamLabel, field_changes_of};

/// Messages waiting between the streams and the output; a full channel makes the streams wait, not drop.
const CHANNEL_CAPACITY: usize = 4096;
/// How long the live view lets events gather before a watch reads again: a quarter of a frame, unseen.
const LIVE_GATHER: Duration = Duration::from_millis(25);
/// At most this many waiting messages are taken at once, so that output and keys are never held back long.
const MESSAGES_PER_TURN: usize = 1024;
/// With `--all-kinds`, how often discovery is asked again for kinds installed since: two small requests.
const REDISCOVERY_INTERVAL: Duration = Duration::from_secs(15);
/// With several contexts, how long a context that could not start waits before it is tried again: at first,
/// then twice as long each time, up to the longest.
const CONTEXT_RETRY_FIRST: Duration = Duration::from_secs(5);
const CONTEXT_RETRY_LONGEST: Duration = Duration::from_secs(60);
/// With several contexts, how long a stream refused for good (forbidden, expired credentials) waits before it
/// is tried again: the others go on meanwhile.
const STREAM_RETRY: Duration = Duration::from_secs(30);

/// What every context watches, from the settings.
struct Plan {
    targets: Vec<TypeTarget>,
    all_kinds: bool,
    scope: NamespaceScope,
    label_selector: Option<String>,
    field_selector: Option<String>,
    representation: Representation,
    gather: Option<Duration>,
    silence_limit: Option<Duration>,
    streaming_lists: bool,
    events: EventUse,
    /// Several contexts: one failing is a notice, not the end of the run.
    several: bool,
}

/// A context's kinds, found: what its streams need.
struct Start {
    namespace: Option<String>,
    targets: Vec<Target>,
    /// The first this many targets were named on the command line (the others, `--all-kinds` found).
    named: usize,
    events: Option<ResourceInfo>,
    streaming: bool,
}

/// What the tasks beside the streams report.
enum Arrival {
    Started {
        context: usize,
        start: Result<Box<Start>>,
    },
    Discovered {
        context: usize,
        catalog: Result<Catalog>,
    },
    /// A stream refused for good, due to be tried again (several contexts).
    Restart {
        driver: usize,
    },
}

pub(super) struct Clusters {
    receiver: mpsc::Receiver<(usize, StreamMessage)>,
    sender: mpsc::Sender<(usize, StreamMessage)>,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    arrivals_sender: mpsc::UnboundedSender<Arrival>,
    contexts: Vec<ContextState>,
    /// Every stream started, by the number its driver sends with its messages.
    routes: Vec<Route>,
    /// How many streams of watched kinds the feed has announced.
    feed_streams: usize,
    plan: Arc<Plan>,
    started: Instant,
    started_at: Timestamp,
    reports: Vec<Report<Payload>>,
    /// What was said before the output started (the first context's streams), given out first.
    pending: Vec<Fed>,
}

struct ContextState {
    connection: Connection,
    /// Its name on rows and notices, when several contexts are watched.
    name: Option<String>,
    running: Option<Running>,
    synced: bool,
    /// The latest failure, which the exit code tells when the context never synced.
    failure: Option<Error>,
    retry_wait: Duration,
}

struct Running {
    namespace: Option<String>,
    strategy: Arc<ListStrategy>,
    session: Session<Payload>,
    /// The driver of each stream of the session.
    members: Vec<usize>,
    /// The kinds watched, for `--all-kinds` to know which are new.
    watched: Vec<Target>,
    /// Kinds whose stream ended because the server stopped serving them (a CRD deleted): watched again, as a new
    /// kind, if they come back.
    gone: Vec<ResourceInfo>,
    events: Option<EventsWatch>,
}

/// The Events about the watched objects of one context.
struct EventsWatch {
    session: Session<Payload>,
    label: StreamLabel,
    /// Events about these kinds only are printed (`--with-events`).
    kinds: Vec<String>,
    printed: bool,
    /// The Events failed before the watched kinds synced: said once they have, since a failure to connect at
    /// all ends the run with its own error, and the Events' would only repeat it.
    failure: Option<Error>,
}

struct Route {
    context: usize,
    role: Role,
    /// How notices name it: `pods`, or `staging: pods` with several contexts.
    name: String,
    spec: StreamSpec,
    /// When it broke off, for the length of the gap.
    gap: Option<Instant>,
}

enum Role {
    Watched {
        member: usize,
        feed: usize,
        info: Box<StreamInfo>,
        /// Named on the command line: a failure of it ends a run of one context.
        named: bool,
        /// Its kind appeared after the start: its first list is news, but for objects older than the run.
        late: bool,
    },
    Events,
}

impl Clusters {
    /// Starts every context; the first is connected already (its waits are said meanwhile).
    pub(super) fn start(settings: &Settings, connections: Vec<Connection>) -> Clusters {
        let several = connections.len() > 1;
        let plan = Arc::new(Plan {
            targets: settings.targets.clone(),
            all_kinds: settings.all_kinds,
            scope: settings.scope.clone(),
            label_selector: settings.label_selector.clone(),
            field_selector: settings.field_selector.clone(),
            representation: settings.representation,
            gather: matches!(settings.output, OutputMode::Live { .. }).then_some(LIVE_GATHER),
            silence_limit: settings.silence_limit,
            streaming_lists: settings.streaming_lists,
            events: settings.events,
            several,
        });
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let (arrivals_sender, arrivals) = mpsc::unbounded_channel();
        let contexts: Vec<ContextState> = connections
            .into_iter()
            .map(|connection| ContextState {
                name: several.then(|| connection.context.clone().unwrap_or_else(|| connection.server.clone())),
                connection,
                running: None,
                synced: false,
                failure: None,
                retry_wait: CONTEXT_RETRY_FIRST,
            })
            .collect();
        let clusters = Clusters {
            receiver,
            sender,
            arrivals,
            arrivals_sender,
            contexts,
            routes: Vec::new(),
            feed_streams: 0,
            plan,
            started: Instant::now(),
            started_at: Timestamp::now(),
            reports: Vec::new(),
            pending: Vec::new(),
        };
        for context in 0..clusters.contexts.len() {
            clusters.start_context(context, Duration::ZERO);
        }
        clusters
    }

    /// Whether several contexts are watched.
    pub(super) fn several(&self) -> bool {
        self.plan.several
    }

    /// Waits until the first context knows its kinds and has started their streams; its failure to, as the
    /// error that ends the run.
    pub(super) async fn first_ready(&mut self) -> Result<()> {
        while self.contexts[0].running.is_none() {
            let Some(arrival) = self.arrivals.recv().await else {
                break;
            };
            let mut pending = std::mem::take(&mut self.pending);
            let arrived = self.arrive(arrival, &mut pending);
            self.pending = pending;
            arrived?;
        }
        Ok(())
    }

    /// `context watchnew-admin · pods in namespace team-a`, for the live view's status line.
    pub(super) fn header(&self, settings: &Settings) -> String {
        let where_ = match &self.contexts[..] {
            [only] => match &only.connection.context {
                Some(context) => format!("context {context}"),
                None => only.connection.server.clone(),
            },
            several => {
                let names: Vec<&str> = several.iter().filter_map(|context| context.name.as_deref()).collect();
                format!("contexts {}", names.join(","))
            }
        };
        // The types as the server names them once the first context knows them (`pods`, not `po`).
        let resolved = self.contexts[0].running.as_ref().map(|running| {
            running
                .watched
                .iter()
                .map(|target| target.resource.qualified_name())
                .collect::<Vec<_>>()
        });
        let mut kinds: Vec<String> = match (settings.all_kinds, resolved) {
            (false, Some(resolved)) => resolved,
            _ => settings.targets.iter().map(|target| target.type_name.clone()).collect(),
        };
        if settings.all_kinds {
            kinds.insert(0, "all kinds".into());
        }
        let scope = match &settings.scope {
            NamespaceScope::All => "all namespaces".to_string(),
            NamespaceScope::Named(namespace) => format!("namespace {namespace}"),
            NamespaceScope::ContextDefault => match &self.contexts[..] {
                [only] => format!("namespace {}", only.connection.default_namespace),
                _ => "each context's namespace".to_string(),
            },
        };
        let selectors = settings
            .label_selector
            .as_ref()
            .map(|labels| format!(" -l {labels}"))
            .unwrap_or_default();
        format!("{where_} · {} in {scope}{selectors}", kinds.join(","))
    }

    /// The exit code a run that ends now should have for a context that never synced: its latest failure's.
    pub(super) fn unsynced_exit_code(&self) -> Option<ExitCode> {
        self.contexts
            .iter()
            .find(|context| !context.synced)
            .map(|context| match &context.failure {
                Some(error) => error.exit_code(),
                None => ExitCode::Connection,
            })
    }

    fn start_context(&self, context: usize, after: Duration) {
        let connection = self.contexts[context].connection.clone();
        let plan = Arc::clone(&self.plan);
        let arrivals = self.arrivals_sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let start = find_kinds(&connection, &plan).await.map(Box::new);
            let _ = arrivals.send(Arrival::Started { context, start });
        });
    }

    fn rediscover_later(&self, context: usize) {
        let connection = self.contexts[context].connection.clone();
        let arrivals = self.arrivals_sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REDISCOVERY_INTERVAL).await;
            let catalog = resolver::rediscover(&connection).await;
            let _ = arrivals.send(Arrival::Discovered { context, catalog });
        });
    }

    /// Waits for what the clusters say next and appends it to `out`, with what is already waiting behind it
    /// (up to `MESSAGES_PER_TURN`), so that a burst costs one turn of the output's loop. A failure that ends
    /// the run comes back as the error, the items before it in `out`.
    pub(super) async fn next(&mut self, out: &mut Vec<Fed>) -> Result<()> {
        if !self.pending.is_empty() {
            out.append(&mut self.pending);
            return Ok(());
        }
        tokio::select! {
            message = self.receiver.recv() => {
                // The source keeps a sender: the channel never closes while it is read.
                let Some(first) = message else { return Ok(()) };
                let mut next = Some(first);
                let mut taken = 0;
                while let Some((driver, message)) = next.take() {
                    self.handle(driver, message, out)?;
                    taken += 1;
                    if taken < MESSAGES_PER_TURN {
                        next = self.receiver.try_recv().ok();
                    }
                }
                Ok(())
            }
            Some(arrival) = self.arrivals.recv() => self.arrive(arrival, out),
        }
    }

    fn arrive(&mut self, arrival: Arrival, out: &mut Vec<Fed>) -> Result<()> {
        match arrival {
            Arrival::Started { context, start } => match start {
                Ok(start) => {
                    self.contexts[context].retry_wait = CONTEXT_RETRY_FIRST;
                    self.run_context(context, *start, out);
                }
                Err(error) if !self.plan.several => return Err(self.fatal(0, error)),
                Err(error) => {
                    let state = &mut self.contexts[context];
                    let error = state.connection.explain(error);
                    let wait = state.retry_wait;
                    state.retry_wait = (wait * 2).min(CONTEXT_RETRY_LONGEST);
                    let text = format!(
                        "{}: {}; trying again in {}s",
                        state.name.as_deref().unwrap_or_default(),
                        error.one_line(),
                        wait.as_secs()
                    );
                    state.failure = Some(error);
                    out.push(notice(NoticeKind::Other, text));
                    self.start_context(context, wait);
                }
            },
            Arrival::Discovered { context, catalog } => {
                if let Ok(catalog) = catalog {
                    self.add_new_kinds(context, &catalog, out);
                }
                // A failed look is no news: the next one may do better.
                self.rediscover_later(context);
            }
            Arrival::Restart { driver } => self.spawn_driver(driver),
        }
        Ok(())
    }

    /// The kinds of a context are known: its streams start.
    fn run_context(&mut self, context: usize, start: Start, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        state.running = Some(Running {
            namespace: start.namespace,
            strategy: ListStrategy::new(start.streaming),
            session: Session::new(start.targets.len()),
            members: Vec::new(),
            watched: Vec::new(),
            gone: Vec::new(),
            events: None,
        });
        for (index, target) in start.targets.into_iter().enumerate() {
            self.watch_kind(context, target, index < start.named, false, out);
        }
        self.watch_events(context, start.events);
        if self.plan.all_kinds {
            self.rediscover_later(context);
        }
    }

    /// Starts the stream of one kind in one context.
    fn watch_kind(&mut self, context: usize, target: Target, named: bool, late: bool, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        let Some(running) = &mut state.running else { return };
        let label = StreamLabel::from(&target.resource);
        let spec = StreamSpec {
            path: target.resource.collection_path(running.namespace.as_deref()),
            label_selector: self.plan.label_selector.clone(),
            field_selector: self.plan.field_selector.clone(),
            names: target.names.clone(),
            representation: self.plan.representation,
            gather: self.plan.gather,
        };
        // The kinds found at the start have their place in the session; a kind found later joins it.
        let member = match running.members.len() < running.session.stream_count() {
            true => running.members.len(),
            false => running.session.add_stream(),
        };
        let late = late && running.session.is_synced();
        let driver = self.routes.len();
        running.members.push(driver);
        running.watched.push(target);
        let mut info = StreamInfo::new(label);
        info.context = state.name.clone();
        let feed = self.feed_streams;
        self.feed_streams += 1;
        out.push(now(FeedItem::Stream(Box::new(info.clone()))));
        self.routes.push(Route {
            context,
            name: route_name(state.name.as_deref(), &info.label.name),
            role: Role::Watched {
                member,
                feed,
                info: Box::new(info),
                named,
                late,
            },
            spec,
            gap: None,
        });
        self.spawn_driver(driver);
    }

    /// Starts the stream of the Events about the watched kinds of one context, when they are wanted.
    fn watch_events(&mut self, context: usize, resource: Option<ResourceInfo>) {
        let state = &mut self.contexts[context];
        let (Some(running), Some(resource)) = (&mut state.running, resource) else {
            return;
        };
        // Events about Events are not watched: a watch of `events` alone has nothing to join.
        let kinds: Vec<String> = running
            .watched
            .iter()
            .map(|target| target.resource.kind.clone())
            .filter(|kind| kind != "Event")
            .collect();
        if kinds.is_empty() {
            return;
        }
        let driver = self.routes.len();
        let label = StreamLabel::from(&resource);
        running.events = Some(EventsWatch {
            session: Session::new(1),
            label: label.clone(),
            kinds,
            printed: self.plan.events == EventUse::Print,
            failure: None,
        });
        self.routes.push(Route {
            context,
            role: Role::Events,
            name: route_name(state.name.as_deref(), &label.name),
            spec: StreamSpec {
                path: resource.collection_path(running.namespace.as_deref()),
                label_selector: None,
                field_selector: None,
                names: Default::default(),
                representation: Representation::Objects,
                gather: self.plan.gather,
            },
            gap: None,
        });
        self.spawn_driver(driver);
    }

    fn spawn_driver(&self, driver: usize) {
        let route = &self.routes[driver];
        let state = &self.contexts[route.context];
        let Some(running) = &state.running else { return };
        let stream = StreamDriver::new(
            state.connection.client.clone(),
            route.spec.clone(),
            driver,
            self.sender.clone(),
            Arc::clone(&running.strategy),
            state.connection.request_timeout,
            self.plan.silence_limit,
        );
        tokio::spawn(stream.run());
    }

    /// `--all-kinds`: kinds the server serves now that are not watched yet (a CRD installed since) start.
    fn add_new_kinds(&mut self, context: usize, catalog: &Catalog, out: &mut Vec<Fed>) {
        let Some(running) = &self.contexts[context].running else {
            return;
        };
        let mut targets: Vec<Target> = running
            .watched
            .iter()
            .filter(|target| !running.gone.contains(&target.resource))
            .cloned()
            .collect();
        let before = targets.len();
        resolver::add_every_kind(&mut targets, catalog, self.plan.scope == NamespaceScope::All);
        for target in targets.into_iter().skip(before) {
            let text = format!(
                "{}: a new kind; watching it",
                route_name(
                    self.contexts[context].name.as_deref(),
                    &target.resource.qualified_name()
                )
            );
            out.push(notice(NoticeKind::Other, text));
            if let Some(running) = self.contexts[context].running.as_mut() {
                running.gone.retain(|gone| gone != &target.resource);
                if let Some(events) = running.events.as_mut() {
                    events.kinds.push(target.resource.kind.clone());
                }
            }
            self.watch_kind(context, target, false, true, out);
        }
    }

    fn handle(&mut self, driver: usize, message: StreamMessage, out: &mut Vec<Fed>) -> Result<()> {
        let context = self.routes[driver].context;
        let (member, feed, named) = match &self.routes[driver].role {
            Role::Events => {
                self.handle_events(context, driver, message, out);
                return Ok(());
            }
            Role::Watched {
                member, feed, named, ..
            } => (*member, *feed, *named),
        };
        match message {
            StreamMessage::Event(event) => {
                let Some(running) = &mut self.contexts[context].running else {
                    return Ok(());
                };
                if let (StreamEvent::ListItem(object), false) = (&event, running.session.is_synced())
                    && let Some(cells) = &object.payload.cells
                    && let Role::Watched { info, .. } = &mut self.routes[driver].role
                {
                    info.measure(cells);
                }
                running.session.apply(member, event, &mut self.reports);
            }
            StreamMessage::Columns(columns) => {
                if let Role::Watched { info, .. } = &mut self.routes[driver].role {
                    info.columns = columns.clone();
                }
                out.push(now(FeedItem::Columns { stream: feed, columns }));
            }
            StreamMessage::Notice(stream_notice) => {
                let route = &mut self.routes[driver];
                let (kind, text) = notice_line(&route.name, &stream_notice, &mut route.gap);
                out.push(notice(kind, text));
            }
            StreamMessage::Failed(error) if named && !self.plan.several => return Err(self.fatal(context, error)),
            StreamMessage::Failed(error) => self.stream_failed(context, driver, member, named, error, out)?,
        }
        self.report(context, out);
        Ok(())
    }

    /// A stream refused for good, in a run that goes on: a kind `--all-kinds` found is left out; a kind named,
    /// with several contexts, is tried again later (credentials may be renewed, access granted). With one
    /// context, when no kind is left to watch, the last refusal ends the run.
    fn stream_failed(
        &mut self,
        context: usize,
        driver: usize,
        member: usize,
        named: bool,
        error: Error,
        out: &mut Vec<Fed>,
    ) -> Result<()> {
        let state = &mut self.contexts[context];
        let error = state.connection.explain(error);
        let name = &self.routes[driver].name;
        let retried = named && self.plan.several;
        let no_longer_served = matches!(error, Error::ResourceType(_)) && state.synced;
        let text = if retried {
            format!(
                "{name}: {}; trying again in {}s",
                error.one_line(),
                STREAM_RETRY.as_secs()
            )
        } else if no_longer_served {
            format!("{name}: no longer served (404 Not Found), so its stream ends")
        } else {
            format!("{name}: cannot be watched, so left out ({})", error.one_line())
        };
        out.push(notice(NoticeKind::Other, text));
        if retried {
            let arrivals = self.arrivals_sender.clone();
            tokio::spawn(async move {
                tokio::time::sleep(STREAM_RETRY).await;
                let _ = arrivals.send(Arrival::Restart { driver });
            });
        } else if let Some(running) = &mut state.running {
            running.session.drop_stream(member, &mut self.reports);
            if no_longer_served {
                running.gone.push(running.watched[member].resource.clone());
            }
            if running.session.all_dropped() && !self.plan.several {
                return Err(self.fatal(context, error));
            }
        }
        if !state.synced {
            state.failure = Some(error);
        }
        Ok(())
    }

    /// What a context's session made known, as feed items.
    fn report(&mut self, context: usize, out: &mut Vec<Fed>) {
        // A stream whose kind appeared after the start: the changes its first list found are news only for
        // the objects created since the run started.
        let mut first_list_of = None;
        for report in std::mem::take(&mut self.reports) {
            match report {
                Report::Synced { existing } => {
                    let synced = self.synced_item(context, &existing);
                    out.push(now(FeedItem::Synced(synced)));
                    let state = &mut self.contexts[context];
                    state.synced = true;
                    if self.plan.several && self.contexts.iter().all(|context| context.synced) {
                        let text = format!(
                            "Synced every context in {:.2}s; watching for changes",
                            self.started.elapsed().as_secs_f64()
                        );
                        out.push(notice(NoticeKind::Other, text));
                    }
                    let state = &mut self.contexts[context];
                    if let Some(error) = state
                        .running
                        .as_mut()
                        .and_then(|running| running.events.as_mut())
                        .and_then(|events| events.failure.take())
                    {
                        let text = self.events_unavailable(context, &error);
                        out.push(notice(NoticeKind::Other, text));
                    }
                }
                Report::Relisted { stream, changes } => {
                    let driver = self.driver_of(context, stream);
                    if let Role::Watched { late: late @ true, .. } = &mut self.routes[driver].role {
                        *late = false;
                        first_list_of = Some(stream);
                        continue;
                    }
                    let route = &mut self.routes[driver];
                    let after = route.gap.take().map(|since| since.elapsed());
                    out.push(notice(NoticeKind::Relist, relisted_line(&route.name, changes, after)));
                }
                Report::Change { stream, change } => {
                    if first_list_of == Some(stream) && created_before(&change, self.started_at) {
                        continue;
                    }
                    let driver = self.driver_of(context, stream);
                    let Role::Watched { feed, info, .. } = &self.routes[driver].role else {
                        continue;
                    };
                    let field_changes = field_changes_of(&change, info.label.secret);
                    let mut change = change;
                    change.previous = None;
                    out.push(now(FeedItem::Change(Box::new(FedChange {
                        stream: *feed,
                        change,
                        field_changes,
                    }))));
                }
            }
        }
    }

    fn driver_of(&self, context: usize, member: usize) -> usize {
        self.contexts[context]
            .running
            .as_ref()
            .map(|running| running.members[member])
            .unwrap_or_default()
    }

    fn synced_item(&self, context: usize, existing: &[usize]) -> Synced {
        let streams: Vec<(&StreamInfo, SyncedStream)> = existing
            .iter()
            .enumerate()
            .filter_map(|(member, count)| {
                let driver = self.driver_of(context, member);
                match &self.routes[driver].role {
                    Role::Watched { feed, info, .. } => Some((
                        info.as_ref(),
                        SyncedStream {
                            stream: *feed,
                            existing: *count,
                            cell_widths: info.cell_widths.clone(),
                        },
                    )),
                    Role::Events => None,
                }
            })
            .collect();
        let took = self.started.elapsed();
        let counts: Vec<(&str, usize)> = streams
            .iter()
            .map(|(info, synced)| (info.label.name.as_str(), synced.existing))
            .collect();
        let name = self.contexts[context].name.clone();
        let line = match &name {
            Some(name) => format!("{name}: {}", synced_line(&counts, took)),
            None => synced_line(&counts, took),
        };
        Synced {
            context: name,
            took,
            streams: streams.into_iter().map(|(_, synced)| synced).collect(),
            line,
        }
    }

    fn handle_events(&mut self, context: usize, driver: usize, message: StreamMessage, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        let synced = state.synced;
        let name = state.name.clone();
        let Some(events) = state.running.as_mut().and_then(|running| running.events.as_mut()) else {
            return;
        };
        match message {
            StreamMessage::Event(event) => {
                // The Events that exist at the start are joined as well: why a pod restarts may be older.
                if let (StreamEvent::ListItem(object), false) = (&event, events.session.is_synced()) {
                    out.push(now(FeedItem::Event {
                        change: Box::new(listed_event(object)),
                        printed: false,
                        context: name.clone(),
                    }));
                }
                events.session.apply(0, event, &mut self.reports);
            }
            StreamMessage::Columns(_) => {}
            StreamMessage::Notice(stream_notice) => {
                let route = &mut self.routes[driver];
                let (kind, text) = notice_line(&route.name, &stream_notice, &mut route.gap);
                out.push(notice(kind, text));
            }
            StreamMessage::Failed(error) if synced => {
                let text = self.events_unavailable(context, &error);
                out.push(notice(NoticeKind::Other, text));
            }
            StreamMessage::Failed(error) => events.failure = Some(error),
        }
        let Some(events) = self.contexts[context]
            .running
            .as_ref()
            .and_then(|running| running.events.as_ref())
        else {
            return;
        };
        for report in self.reports.drain(..) {
            // An Event that expires (after an hour, by default) is deleted: it was, all the same.
            if let Report::Change { change, .. } = report
                && change.change_type != ChangeType::Deleted
            {
                let printed = events.printed && regarded_kind(&change).is_some_and(|kind| events.kinds.contains(&kind));
                out.push(now(FeedItem::Event {
                    change: Box::new(change),
                    printed,
                    context: name.clone(),
                }));
            }
        }
    }

    fn events_unavailable(&self, context: usize, error: &Error) -> String {
        let label = self.contexts[context]
            .running
            .as_ref()
            .and_then(|running| running.events.as_ref())
            .map(|events| events.label.name.as_str())
            .unwrap_or("events");
        events_unavailable_line(&route_name(self.contexts[context].name.as_deref(), label), error)
    }

    /// A failure that ends the run, with what helps to fix it. A kind the server no longer serves sends the
    /// next start back to discovery.
    fn fatal(&self, context: usize, error: Error) -> Error {
        let connection = &self.contexts[context].connection;
        if let Error::ResourceType(_) = error {
            resolver::forget_discovery(connection);
        }
        connection
            .explain(error)
            .with_namespace_hint(self.plan.scope == NamespaceScope::All)
    }

    /// Whether the first context has synced: until then, what its requests wait on is said.
    pub(super) fn first_synced(&self) -> bool {
        self.contexts[0].synced
    }

    /// Whether the Events about the objects are joined (the first context's, before the others have started).
    pub(super) fn joins_events(&self) -> bool {
        self.contexts
            .iter()
            .any(|context| context.running.as_ref().is_some_and(|running| running.events.is_some()))
            || (self.plan.several && self.plan.events != EventUse::Off)
    }
}

/// Discovery for one context: the kinds to watch, where, the Events' kind, and whether lists can stream.
async fn find_kinds(connection: &Connection, plan: &Plan) -> Result<Start> {
    let mut targets = resolver::resolve(connection, &plan.targets).await?;
    let named = targets.len();
    if plan.all_kinds {
        // Fresh, not cached: a CRD installed since the cache was written is watched from the start.
        let catalog = resolver::rediscover(connection).await?;
        resolver::add_every_kind(&mut targets, &catalog, plan.scope == NamespaceScope::All);
    }
    let namespace = match &plan.scope {
        NamespaceScope::All => None,
        NamespaceScope::Named(namespace) => Some(namespace.clone()),
        NamespaceScope::ContextDefault => Some(connection.default_namespace.clone()),
    };
    // LIST pages by default: kube-apiserver 1.37 sends them in half the time of a streamed list
    // (BENCHMARKS.md), and they need no version check.
    let streaming = plan.streaming_lists && server_streams_lists(connection).await?;
    let events = match plan.events {
        EventUse::Off => None,
        EventUse::Join | EventUse::Print => resolver::event_resource(connection).await?,
    };
    Ok(Start {
        namespace,
        targets,
        named,
        events,
        streaming,
    })
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

fn route_name(context: Option<&str>, name: &str) -> String {
    match context {
        Some(context) => format!("{context}: {name}"),
        None => name.to_string(),
    }
}

fn now(item: FeedItem) -> Fed {
    Fed {
        at: Timestamp::now(),
        item,
    }
}

fn notice(kind: NoticeKind, text: String) -> Fed {
    now(FeedItem::Notice { kind, text })
}

/// An Event that existed at the start, as a change, to be joined (never printed).
fn listed_event(object: &wire::WireObject) -> crate::engine::tracker::Change<Payload> {
    crate::engine::tracker::Change {
        change_type: ChangeType::Added,
        key: object.key.clone(),
        uid: object.uid.clone(),
        resource_version: object.resource_version.clone(),
        origin: crate::engine::tracker::Origin::Relist,
        payload: Some(object.payload.clone()),
        previous: None,
    }
}

/// The kind of the object an Event is about.
fn regarded_kind(change: &crate::engine::tracker::Change<Payload>) -> Option<String> {
    let payload = change.payload.as_ref()?;
    ObservedEvent::from_json(&payload.raw).map(|observed| observed.regarding.kind)
}

/// Whether a change's object was created before `started` (it existed, only its kind was not known yet).
fn created_before(change: &crate::engine::tracker::Change<Payload>, started: Timestamp) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        creation_timestamp: Option<Timestamp>,
    }
    change
        .payload
        .as_ref()
        .and_then(|payload| wire::metadata_of::<Created>(&payload.raw).ok().flatten())
        .and_then(|created| created.creation_timestamp)
        .is_some_and(|created| created < started)
}
