//! The source of changes that watches clusters. For each context: its connection, its kinds resolved, a stream
//! per kind and the session that turns what the streams hear into changes; beside them the Events about the
//! watched objects; with `--all-kinds`, a look at discovery now and then for kinds installed since the start.
//! What it says goes out as `Fed` items, stamped with the time they were seen.
//!
//! Here: the contexts, their start and what arrives from the tasks beside the streams. `kinds`: finding a
//! context's kinds (and new ones). `streams`: the watched kinds' streams and their session. `events`: the Events.

mod events;
mod health;
mod kinds;
mod state;
mod streams;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::notices::{Gap, events_unavailable_line, notice_line, relisted_line, synced_line};
use crate::cluster::connection::Connection;
use crate::cluster::discovery::{Catalog, ResourceInfo};
use crate::cluster::resolver::{self, Target, TypeTarget};
use crate::engine::heartbeats;
use crate::engine::session::{Report, Session};
use crate::engine::stream::{ListStrategy, Representation, StreamDriver, StreamMessage, StreamSpec};
use crate::engine::tracker::{ChangeType, StreamEvent};
use crate::engine::wire::{self, Payload};
use crate::error::{Error, Result, request_error};
use crate::exit_code::ExitCode;
use crate::settings::{EventUse, NamespaceScope, OutputMode, Settings};
use crate::view::events::ObservedEvent;
use crate::view::feed::{Fed, FedChange, FeedItem, Synced, SyncedStream};
use crate::view::summary::Secrecy;
use crate::view::writers::writers_of;
use crate::view::{NoticeKind, StreamInfo, StreamLabel, field_changes_of};
use events::EventsWatch;
use kinds::Start;

pub(super) use state::StateKeeper;

/// Messages waiting between the streams and the output; a full channel makes the streams wait, not drop.
const CHANNEL_CAPACITY: usize = 4096;
/// How long the live view lets events gather before a watch reads again: a quarter of a frame, unseen.
const LIVE_GATHER: Duration = Duration::from_millis(25);
/// At most this many waiting messages are taken at once, so that output and keys are never held back long.
const MESSAGES_PER_TURN: usize = 1024;
/// With several contexts, how long a context that could not start waits before it is tried again: at first,
/// then twice as long each time, up to the longest.
const CONTEXT_RETRY_FIRST: Duration = Duration::from_secs(5);
const CONTEXT_RETRY_LONGEST: Duration = Duration::from_secs(60);

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
    /// `--record-secret-values`: a Secret's values are kept in what its changes changed, for the recording.
    secret_values: bool,
    /// Who changed each object is said.
    who: bool,
    /// `--heartbeats`: modifications that only beat are reported too.
    heartbeats: bool,
    /// The places for paginated lists in flight, shared by every context (`--lists-at-once`).
    lists: Arc<tokio::sync::Semaphore>,
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
    /// `--state FILE`: what the file held, and when to write it again.
    state: Option<StateKeeper>,
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
    /// How many of its streams resumed from the state file.
    restored: usize,
    /// How it is doing as a whole, for the live view's key of contexts.
    health: health::Health,
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

struct Route {
    context: usize,
    role: Role,
    /// How notices name it: `pods`, or `staging: pods` with several contexts.
    name: String,
    spec: StreamSpec,
    /// When it broke off, for saying the gap.
    gap: Option<Gap>,
    /// Its driver's task, stopped when discovery finds its kind gone.
    task: Option<tokio::task::AbortHandle>,
    /// Ended for good: what its driver sent before it stopped is not read.
    ended: bool,
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
    pub(super) fn start(settings: &Settings, connections: Vec<Connection>, state: Option<StateKeeper>) -> Clusters {
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
            secret_values: settings.record.as_ref().is_some_and(|record| record.secret_values),
            who: settings.who,
            heartbeats: settings.heartbeats,
            lists: Arc::new(tokio::sync::Semaphore::new(settings.lists_at_once)),
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
                restored: 0,
                health: health::Health::default(),
            })
            .collect();
        let mut clusters = Clusters {
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
            state,
        };
        for context in 0..clusters.contexts.len() {
            let mut said = Vec::new();
            clusters.say_health(context, &mut said);
            clusters.pending.append(&mut said);
            clusters.start_context(context, Duration::ZERO);
        }
        clusters
    }

    /// A context's state, when it changed since the view was last told.
    fn say_health(&mut self, context: usize, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        if let Some(health) = state.health.news(state.synced) {
            out.push(now(FeedItem::ContextState {
                context: state.name.clone(),
                health,
            }));
        }
    }

    /// Each context's name and its cluster's, in the kubeconfig's words.
    pub(super) fn names(&self) -> Vec<(Option<String>, Option<String>)> {
        self.contexts
            .iter()
            .map(|context| (context.connection.context.clone(), context.connection.cluster.clone()))
            .collect()
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
                self.save_state_if_due()
            }
            Some(arrival) = self.arrivals.recv() => self.arrive(arrival, out),
        }
    }

    fn arrive(&mut self, arrival: Arrival, out: &mut Vec<Fed>) -> Result<()> {
        match arrival {
            Arrival::Started { context, start } => match start {
                Ok(start) => {
                    self.contexts[context].retry_wait = CONTEXT_RETRY_FIRST;
                    self.contexts[context].health.started();
                    self.run_context(context, *start, out);
                    self.say_health(context, out);
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
                    state.health.start_failed(error.one_line());
                    state.failure = Some(error);
                    out.push(notice(NoticeKind::Other, text));
                    self.say_health(context, out);
                    self.start_context(context, wait);
                }
            },
            Arrival::Discovered { context, catalog } => {
                if let Ok(catalog) = catalog {
                    self.end_kinds_gone(context, &catalog, out);
                    self.add_new_kinds(context, &catalog, out);
                }
                // A failed look is no news: the next one may do better.
                self.rediscover_later(context);
            }
            Arrival::Restart { driver } => self.spawn_driver(driver, false),
        }
        Ok(())
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
