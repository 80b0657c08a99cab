//! The live view's loop: changes, keys and ticks in, frames out, at most ten a second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ratatui::crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;

use super::keys::press;
use super::notices::{events_unavailable_line, notice_line, relisted_line};
use super::pipeline::{Outcome, Pipeline};
use super::waits::WaitWatch;
use super::{Engine, fatal};
use crate::engine::wire::Packed;
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::render::live::{self, Mode, Ui};
use crate::settings::Settings;
use crate::view::{ChangeRecord, NoticeKind, ViewModel};

/// Changes are drawn at most this often: ten frames a second reads as live, and a frame of a full 200×50
/// terminal costs about half a millisecond.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// With no time on screen counting seconds, it is drawn again this often for the ones that count minutes.
const SLOW_TICK: Duration = Duration::from_secs(10);

/// The live view: the terminal is taken over (raw mode, alternate screen) and given back on every way out,
/// since dropping `LiveTerminal` restores it and ratatui's panic hook does too.
pub(super) async fn run_live(
    mut engine: Engine,
    settings: &Settings,
    timeline: bool,
    mut waits: WaitWatch,
) -> Result<ExitCode> {
    let mut pipeline = Pipeline::new(&engine, settings);
    let mut view = ViewModel::new(engine.streams.clone(), Timestamp::now());
    let mut ui = Ui {
        mode: if timeline { Mode::Timeline } else { Mode::Table },
        selected: 0,
        follow: true,
        paused: None,
        details: false,
        options: engine.table_options(settings),
        header: live_header(&engine, settings),
        time_zone: jiff::tz::TimeZone::system(),
        filter: settings.filter.clone(),
        filtering: false,
        tree: false,
        scroll: 0,
    };
    let mut terminal = LiveTerminal::start()?;
    let mut keys = terminal_input()?;
    let mut waiting: VecDeque<ChangeRecord> = VecDeque::new();
    let mut outcomes = Vec::new();
    let mut gaps: Vec<Option<Instant>> = vec![None; engine.stream_count()];
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
                            let line = relisted_line(engine.label(stream), changes, after);
                            view.notice(NoticeKind::Relist, line, now);
                        }
                        Outcome::Notice { stream, notice } => {
                            let (kind, text) = notice_line(engine.label(stream), &notice, &mut gaps[stream]);
                            view.notice(kind, text, now);
                        }
                        Outcome::Change { stream, change } => {
                            let mut record = ChangeRecord::new(stream, &view.streams[stream].label, &change, now);
                            record.object = change.payload.as_ref().map(|payload| Packed::pack(&payload.raw));
                            match &mut ui.paused {
                                Some(count) => {
                                    waiting.push_back(record);
                                    *count += 1;
                                }
                                None => view.record(record),
                            }
                        }
                        // Joined at once, paused or not: an Event moves no row.
                        Outcome::Event { observed, .. } => view.events.record(observed),
                        Outcome::EventsUnavailable(error) => {
                            if let Some(events) = &engine.events {
                                view.notice(NoticeKind::Other, events_unavailable_line(&events.label, &error), now);
                            }
                        }
                    }
                }
                if let Err(error) = taken {
                    break Err(fatal(error, &engine.connection, settings));
                }
                // Open details stay on their object.
                if ui.follow && !ui.details {
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
