//! One run, start to end: connect, resolve the types, start a stream per type, then either append lines or run
//! the live view, until a signal, `q`, `--count`, `--timeout`, a closed pipe or a fatal error ends it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cluster::connection::{self, Connection};
use crate::cluster::resolver;
use crate::cluster::waits::ServerWaits;
use crate::engine::session::{Report, Session};
use crate::engine::stream::{ListStrategy, Notice, StreamDriver, StreamMessage, StreamSpec};
use crate::engine::tracker::{Change, ChangeType, StreamEvent};
use crate::engine::wire::Payload;
use crate::error::{Error, Result, request_error};
use crate::exit_code::ExitCode;
use crate::render::lines::{LineFormat, LinePrinter};
use crate::render::live::{self, Mode, Ui};
use crate::settings::{NamespaceScope, OutputMode, Settings};
use crate::view::waiting::WaitAnnouncer;
use crate::view::{ChangeRecord, NoticeKind, StreamInfo, StreamLabel, ViewModel};

/// Messages waiting between the streams and the output; a full channel makes the streams wait, not drop.
const CHANNEL_CAPACITY: usize = 4096;
/// At most this many waiting messages are taken at once, so that output and keys are never held back long.
const MESSAGES_PER_TURN: usize = 1024;
/// Changes are drawn at most this often: ten frames a second reads as live, and a frame of a full 200×50
/// terminal costs about half a millisecond.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// How long the live view lets events gather before a watch reads again: a quarter of a frame, unseen.
const LIVE_GATHER: Duration = Duration::from_millis(25);
/// With no time on screen counting seconds, it is drawn again this often for the ones that count minutes.
const SLOW_TICK: Duration = Duration::from_secs(10);
/// Until the first sync, how often the waits on the API server are looked at, to say why nothing happens.
const WAIT_CHECK: Duration = Duration::from_millis(250);

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
            OutputMode::Lines(format) => append_lines(engine, &settings, format, waits).await,
            OutputMode::Live { timeline } => run_live(engine, &settings, timeline, waits).await,
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
struct Engine {
    receiver: mpsc::Receiver<(usize, StreamMessage)>,
    streams: Vec<StreamInfo>,
    connection: Connection,
    namespace: Option<String>,
    started: Instant,
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
        for (index, target) in targets.iter().enumerate() {
            let spec = StreamSpec {
                path: target.resource.collection_path(namespace.as_deref()),
                label_selector: settings.label_selector.clone(),
                field_selector: settings.field_selector.clone(),
                names: target.names.clone(),
                representation: settings.representation,
                gather: matches!(settings.output, OutputMode::Live { .. }).then_some(LIVE_GATHER),
            };
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
        }
        let streams = targets
            .iter()
            .map(|target| StreamInfo::new(StreamLabel::from(&target.resource)))
            .collect();
        Ok(Engine {
            receiver,
            streams,
            connection,
            namespace,
            started,
        })
    }
}

/// What a message from the streams amounts to, for either output.
enum Outcome {
    Synced {
        existing: Vec<usize>,
        took: Duration,
    },
    Relisted {
        stream: usize,
        changes: usize,
    },
    Change {
        stream: usize,
        change: Box<Change<Payload>>,
    },
    Notice {
        stream: usize,
        notice: Notice,
    },
}

/// The session and the reporting rules shared by both outputs: `--types`, `--count`.
struct Pipeline {
    session: Session<Payload>,
    event_types: Vec<ChangeType>,
    remaining: Option<u64>,
    started: Instant,
    reports: Vec<Report<Payload>>,
}

impl Pipeline {
    fn new(engine: &Engine, settings: &Settings) -> Pipeline {
        Pipeline {
            session: Session::new(engine.streams.len()),
            event_types: settings.event_types.clone(),
            remaining: settings.count,
            started: engine.started,
            reports: Vec::new(),
        }
    }

    /// Whether every stream has synced: from then on, waits on the server are said as interruptions.
    fn synced(&self) -> bool {
        self.session.is_synced()
    }

    /// True once `--count` changes have been reported.
    fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Handles `first` and what is already waiting behind it (up to `MESSAGES_PER_TURN`), so that a burst
    /// costs one turn of the output's loop. Stops at the first failure; the outcomes before it stay.
    fn take_burst(
        &mut self,
        receiver: &mut mpsc::Receiver<(usize, StreamMessage)>,
        first: (usize, StreamMessage),
        streams: &mut [StreamInfo],
        outcomes: &mut Vec<Outcome>,
    ) -> Result<()> {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some((stream, message)) = next.take() {
            self.handle(streams, stream, message, outcomes)?;
            taken += 1;
            if taken < MESSAGES_PER_TURN && !self.done() {
                next = receiver.try_recv().ok();
            }
        }
        Ok(())
    }

    fn handle(
        &mut self,
        streams: &mut [StreamInfo],
        stream: usize,
        message: StreamMessage,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<()> {
        match message {
            StreamMessage::Event(event) => {
                if let (StreamEvent::ListItem(object), false) = (&event, self.session.is_synced())
                    && let Some(cells) = &object.payload.cells
                {
                    streams[stream].measure(cells);
                }
                self.session.apply(stream, event, &mut self.reports);
            }
            StreamMessage::Columns(columns) => streams[stream].columns = columns,
            StreamMessage::Notice(notice) => outcomes.push(Outcome::Notice { stream, notice }),
            StreamMessage::Failed(error) => return Err(error),
        }
        for report in self.reports.drain(..) {
            match report {
                Report::Synced { existing } => {
                    for (info, count) in streams.iter_mut().zip(&existing) {
                        info.existing = *count;
                    }
                    outcomes.push(Outcome::Synced {
                        existing,
                        took: self.started.elapsed(),
                    });
                }
                Report::Relisted { stream, changes } => outcomes.push(Outcome::Relisted { stream, changes }),
                Report::Change { stream, change } => {
                    if self.remaining == Some(0) || !self.event_types.contains(&change.change_type) {
                        continue;
                    }
                    if let Some(remaining) = &mut self.remaining {
                        *remaining -= 1;
                    }
                    outcomes.push(Outcome::Change {
                        stream,
                        change: Box::new(change),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Appends one line (or document) per change to stdout; notices go to stderr.
async fn append_lines(
    mut engine: Engine,
    settings: &Settings,
    format: LineFormat,
    mut waits: WaitWatch,
) -> Result<ExitCode> {
    let mut pipeline = Pipeline::new(&engine, settings);
    let mut printer = LinePrinter::new(format, settings.table.clone());
    let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
    let mut outcomes = Vec::new();
    let mut text = String::new();
    let mut gaps: Vec<Option<Instant>> = vec![None; engine.streams.len()];
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
                    eprintln!("{}", relisted_line(&engine.streams[stream].label, changes, after));
                }
                Outcome::Notice { stream, notice } => {
                    eprintln!(
                        "{}",
                        notice_line(&engine.streams[stream].label, &notice, &mut gaps[stream]).1
                    );
                }
                Outcome::Change { stream, change } => {
                    printer.print(&mut text, &engine.streams, stream, &change, Timestamp::now());
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

/// The live view: the terminal is taken over (raw mode, alternate screen) and given back on every way out,
/// since dropping `LiveTerminal` restores it and ratatui's panic hook does too.
async fn run_live(mut engine: Engine, settings: &Settings, timeline: bool, mut waits: WaitWatch) -> Result<ExitCode> {
    let mut pipeline = Pipeline::new(&engine, settings);
    let mut view = ViewModel::new(engine.streams.clone(), Timestamp::now());
    let mut ui = Ui {
        mode: if timeline { Mode::Timeline } else { Mode::Table },
        selected: 0,
        follow: true,
        paused: None,
        details: false,
        options: settings.table.clone(),
        header: live_header(&engine, settings),
        time_zone: jiff::tz::TimeZone::system(),
        filter: settings.filter.clone(),
        filtering: false,
    };
    let mut terminal = LiveTerminal::start()?;
    let mut keys = terminal_input()?;
    let mut waiting: VecDeque<ChangeRecord> = VecDeque::new();
    let mut outcomes = Vec::new();
    let mut gaps: Vec<Option<Instant>> = vec![None; view.streams.len()];
    let mut dirty = true;
    let mut last_frame = tokio::time::Instant::now() - FRAME_INTERVAL;
    // When the screen must be drawn again with nothing happening: decided after each frame.
    let mut next_tick: Option<tokio::time::Instant> = None;
    let ending = loop {
        if dirty {
            let next_frame = last_frame + FRAME_INTERVAL;
            if tokio::time::Instant::now() >= next_frame {
                terminal.draw(&view, &ui)?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &ui, last_frame);
                dirty = false;
            }
        }
        let tick_due = async {
            match next_tick {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        let frame_due = async {
            if dirty {
                tokio::time::sleep_until(last_frame + FRAME_INTERVAL).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            message = engine.receiver.recv() => {
                let Some(first) = message else {
                    break Err(Error::Internal(anyhow::anyhow!("every stream ended")));
                };
                let taken = pipeline.take_burst(&mut engine.receiver, first, &mut view.streams, &mut outcomes);
                let now = Timestamp::now();
                for outcome in outcomes.drain(..) {
                    match outcome {
                        Outcome::Synced { took, .. } => {
                            if let Some(line) = waits.finish() {
                                view.notice(NoticeKind::Other, line, now);
                            }
                            view.synced(now, took);
                        }
                        Outcome::Relisted { stream, changes } => {
                            let after = gaps[stream].take().map(|since| since.elapsed());
                            let line = relisted_line(&view.streams[stream].label, changes, after);
                            view.notice(NoticeKind::Relist, line, now);
                        }
                        Outcome::Notice { stream, notice } => {
                            let (kind, text) = notice_line(&view.streams[stream].label, &notice, &mut gaps[stream]);
                            view.notice(kind, text, now);
                        }
                        Outcome::Change { stream, change } => {
                            let record = ChangeRecord::new(stream, &view.streams[stream].label, &change, now);
                            match &mut ui.paused {
                                Some(count) => {
                                    waiting.push_back(record);
                                    *count += 1;
                                }
                                None => view.record(record),
                            }
                        }
                    }
                }
                if let Err(error) = taken {
                    break Err(fatal(error, &engine.connection, settings));
                }
                if ui.follow {
                    ui.selected = live::entry_count(&view, &ui).saturating_sub(1);
                }
                dirty = true;
                if pipeline.done() && ui.paused.is_none() {
                    break Ok(ExitCode::Success);
                }
            }
            key = keys.recv() => {
                match key {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        if let Some(code) = press(key, &mut view, &mut ui, &mut waiting) {
                            break Ok(code);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => break Err(Error::Internal(anyhow::anyhow!("reading the terminal failed: {error}"))),
                    None => break Ok(ExitCode::Success),
                }
                // A key is answered at once, not at the pace of the changes.
                terminal.draw(&view, &ui)?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &ui, last_frame);
                dirty = false;
            }
            line = waits.next_line(), if !pipeline.synced() => {
                view.notice(NoticeKind::Other, line, Timestamp::now());
                dirty = true;
            }
            _ = tick_due => {
                next_tick = None;
                dirty = true;
            }
            _ = frame_due => {}
        }
    };
    drop(terminal);
    if view.activity.synced.is_some() {
        let activity = &view.activity;
        eprintln!(
            "{} changes in {} ({} reconnects, {} relists)",
            activity.changes,
            crate::render::columns::human_duration(
                jiff::SignedDuration::try_from(engine.started.elapsed()).unwrap_or_default()
            ),
            activity.reconnects,
            activity.relists
        );
    }
    ending
}

/// Until the first sync, looks at the waits on the API server every `WAIT_CHECK` and says what a person
/// should know of them.
struct WaitWatch {
    waits: ServerWaits,
    announcer: WaitAnnouncer,
    checks: tokio::time::Interval,
}

impl WaitWatch {
    fn new(connection: &Connection) -> WaitWatch {
        let mut checks = tokio::time::interval(WAIT_CHECK);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        WaitWatch {
            waits: connection.waits.clone(),
            announcer: WaitAnnouncer::default(),
            checks,
        }
    }

    /// The next line to say; safe to drop unfinished (in a `select!`), as nothing is decided before a tick.
    async fn next_line(&mut self) -> String {
        loop {
            self.checks.tick().await;
            if let Some(line) = self.announcer.update(self.waits.current().as_ref(), Instant::now()) {
                return line;
            }
        }
    }

    /// Runs `work` (the start: discovery, the version probe), saying on stderr meanwhile what it waits for.
    async fn saying<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                line = self.next_line() => eprintln!("{line}"),
            }
        }
    }

    /// The first sync came: a wait that was said is over.
    fn finish(&mut self) -> Option<String> {
        self.announcer.finish(Instant::now())
    }
}

/// When to draw again if nothing happens: in a second while a time on screen counts seconds (ages, "how long
/// ago", the change rate); past ten minutes they count minutes, so ten seconds late is as good as on time;
/// never when nothing on screen moves, so that a quiet watch costs no CPU at all.
fn tick_after(view: &ViewModel, ui: &Ui, drawn: tokio::time::Instant) -> Option<tokio::time::Instant> {
    if ui.details || view.ticking(Timestamp::now()) {
        Some(drawn + Duration::from_secs(1))
    } else if !view.rows().is_empty() {
        Some(drawn + SLOW_TICK)
    } else {
        None
    }
}

/// Handles one key; gives the exit code when it ends the view.
fn press(key: KeyEvent, view: &mut ViewModel, ui: &mut Ui, waiting: &mut VecDeque<ChangeRecord>) -> Option<ExitCode> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(ExitCode::Signal(2));
    }
    if ui.filtering {
        type_filter(key, view, ui);
        return None;
    }
    let last = live::entry_count(view, ui).saturating_sub(1);
    let page = 10;
    match key.code {
        // A new filter, as `/` starts a new search in less or vim.
        KeyCode::Char('/') => {
            ui.filter.clear();
            ui.filtering = true;
            ui.details = false;
            return None;
        }
        KeyCode::Char('q') => return Some(ExitCode::Success),
        KeyCode::Esc if ui.details => ui.details = false,
        KeyCode::Esc if !ui.filter.is_empty() => {
            ui.filter.clear();
            ui.selected = live::entry_count(view, ui).saturating_sub(1);
        }
        KeyCode::Enter => ui.details = !ui.details,
        KeyCode::Char(' ') => match ui.paused.take() {
            Some(_) => {
                for record in waiting.drain(..) {
                    view.record(record);
                }
            }
            None => ui.paused = Some(0),
        },
        KeyCode::Char('c') => {
            view.clear();
            waiting.clear();
            if let Some(count) = &mut ui.paused {
                *count = 0;
            }
            ui.selected = 0;
            ui.details = false;
        }
        KeyCode::Char('t') => {
            ui.mode = match ui.mode {
                Mode::Table => Mode::Timeline,
                Mode::Timeline => Mode::Table,
            };
            ui.selected = live::entry_count(view, ui).saturating_sub(1);
            ui.follow = true;
        }
        KeyCode::Up | KeyCode::Char('k') => ui.selected = ui.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => ui.selected = (ui.selected + 1).min(last),
        KeyCode::PageUp => ui.selected = ui.selected.saturating_sub(page),
        KeyCode::PageDown => ui.selected = (ui.selected + page).min(last),
        KeyCode::Home => ui.selected = 0,
        KeyCode::End => ui.selected = last,
        _ => return None,
    }
    ui.follow = ui.selected >= last;
    None
}

/// A key while the filter is typed: text narrows the entries at once, Enter keeps the filter, Esc clears it.
fn type_filter(key: KeyEvent, view: &ViewModel, ui: &mut Ui) {
    match key.code {
        KeyCode::Enter => ui.filtering = false,
        KeyCode::Esc => {
            ui.filter.clear();
            ui.filtering = false;
        }
        KeyCode::Backspace => {
            ui.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => ui.filter.push(c),
        _ => {}
    }
    // The newest matching entry is selected, as when the view follows.
    ui.selected = live::entry_count(view, ui).saturating_sub(1);
    ui.follow = true;
}

fn live_header(engine: &Engine, settings: &Settings) -> String {
    let types: Vec<&str> = engine.streams.iter().map(|stream| stream.label.name.as_str()).collect();
    let scope = match &engine.namespace {
        None => "all namespaces".to_string(),
        Some(namespace) => format!("namespace {namespace}"),
    };
    let context = match &engine.connection.context {
        Some(context) => format!("context {context}"),
        None => engine.connection.server.clone(),
    };
    let mut selectors = String::new();
    if let Some(labels) = &settings.label_selector {
        selectors.push_str(&format!(" -l {labels}"));
    }
    format!("{context} · {} in {scope}{selectors}", types.join(","))
}

/// The terminal's input, read on a thread of its own: a blocking read costs nothing while no key is pressed,
/// where polling the terminal on each turn of the loop took a lock and a system call per burst of changes.
/// The thread ends with the process.
fn terminal_input() -> Result<mpsc::Receiver<std::io::Result<Event>>> {
    let (sender, receiver) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || {
            loop {
                let event = ratatui::crossterm::event::read();
                let failed = event.is_err();
                if sender.blocking_send(event).is_err() || failed {
                    break;
                }
            }
        })
        .map_err(|error| Error::Internal(anyhow::anyhow!("cannot read the terminal: {error}")))?;
    Ok(receiver)
}

/// The terminal, while the live view owns it.
struct LiveTerminal {
    terminal: ratatui::DefaultTerminal,
}

impl LiveTerminal {
    fn start() -> Result<LiveTerminal> {
        let terminal = ratatui::try_init()
            .map_err(|error| Error::Internal(anyhow::anyhow!("cannot take over the terminal: {error}")))?;
        Ok(LiveTerminal { terminal })
    }

    fn draw(&mut self, view: &ViewModel, ui: &Ui) -> Result<()> {
        let now = Timestamp::now();
        self.terminal
            .draw(|frame| live::draw(frame, view, ui, now))
            .map(|_| ())
            .map_err(|error| Error::Internal(anyhow::anyhow!("drawing the live view failed: {error}")))
    }
}

impl Drop for LiveTerminal {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// `Synced 1234 pods, 56 services in 0.41s; watching for changes`
pub fn synced_line(streams: &[StreamInfo], existing: &[usize], took: Duration) -> String {
    let counts: Vec<String> = streams
        .iter()
        .zip(existing)
        .map(|(stream, count)| format!("{count} {}", stream.label.name))
        .collect();
    format!(
        "Synced {} in {:.2}s; watching for changes",
        counts.join(", "),
        took.as_secs_f64()
    )
}

fn relisted_line(label: &StreamLabel, changes: usize, after: Option<Duration>) -> String {
    let after = after
        .map(|gap| format!(" after {:.1}s", gap.as_secs_f64()))
        .unwrap_or_default();
    format!("{}: relisted{after}: {changes} changes found", label.name)
}

/// A notice as one line, and what kind of event it counts as; `gap` remembers when the stream broke off.
fn notice_line(label: &StreamLabel, notice: &Notice, gap: &mut Option<Instant>) -> (NoticeKind, String) {
    match notice {
        Notice::Interrupted { cause, retry_in } => {
            gap.get_or_insert_with(Instant::now);
            let text = if retry_in.is_zero() {
                format!("{}: watch interrupted ({cause}); retrying now", label.name)
            } else {
                format!(
                    "{}: watch interrupted ({cause}); retrying in {:.1}s",
                    label.name,
                    retry_in.as_secs_f64()
                )
            };
            (NoticeKind::Other, text)
        }
        Notice::ListRetried { cause, retry_in } => (
            NoticeKind::Other,
            format!(
                "{}: listing failed ({cause}); retrying in {:.1}s",
                label.name,
                retry_in.as_secs_f64()
            ),
        ),
        Notice::Resumed { gap: lasted } => {
            *gap = None;
            (
                NoticeKind::Reconnect,
                format!("{}: reconnected after {:.1}s", label.name, lasted.as_secs_f64()),
            )
        }
        Notice::Expired => {
            gap.get_or_insert_with(Instant::now);
            (
                NoticeKind::Other,
                format!("{}: watch expired (410 Gone); relisting", label.name),
            )
        }
        Notice::StreamingListsUnsupported => (
            NoticeKind::Other,
            "the server does not stream initial lists (WatchList is off); using paginated lists".to_string(),
        ),
    }
}

/// A failure that ends the run, with what helps to fix it.
fn fatal(error: Error, connection: &Connection, settings: &Settings) -> Error {
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
