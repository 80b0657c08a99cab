//! The live view's loop: changes, keys and ticks in, frames out, at most ten a second.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;
use ratatui::crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;

use super::keys::{PlayerKey, is_replay_key, press, replay_key};
use super::replay::{Move, Player, Recording, jump_target};
use super::waits::WaitWatch;
use super::{Source, reporting, table_options};
use crate::engine::wire::Packed;
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::render::live::{self, Mode, Ui};
use crate::settings::{Settings, SourceChoice};
use crate::view::events::ObservedEvent;
use crate::view::feed::{Fed, FedChange, FeedItem};
use crate::view::{ChangeRecord, NoticeKind, ViewModel};

/// Changes are drawn at most this often: ten frames a second reads as live, and a frame of a full 200×50
/// terminal costs about half a millisecond.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// With no time on screen counting seconds, it is drawn again this often for the ones that count minutes.
const SLOW_TICK: Duration = Duration::from_secs(10);

/// The live view: the terminal is taken over (raw mode, alternate screen) and given back on every way out,
/// since dropping `LiveTerminal` restores it and ratatui's panic hook does too.
pub(super) async fn run_live(source: &mut Source, settings: &Settings, timeline: bool) -> Result<ExitCode> {
    let mut reporting = reporting(source, settings)?;
    let header = source.header(settings);
    let mut view = ViewModel::new(Vec::new(), Timestamp::now());
    let mut ui = Ui {
        mode: if timeline { Mode::Timeline } else { Mode::Table },
        selected: 0,
        follow: true,
        paused: None,
        details: false,
        options: table_options(source, settings),
        header: match &settings.source {
            SourceChoice::Replay(path) => format!("replay of {} · {}", path.display(), header.header),
            SourceChoice::Contexts(_) => header.header.clone(),
        },
        time_zone: jiff::tz::TimeZone::system(),
        filter: settings.filter.clone(),
        filtering: false,
        tree: false,
        scroll: 0,
        replay: None,
        jump: None,
    };
    let mut player = match source {
        Source::Recording(recording) => {
            // `--types` and `--count` once, on the whole recording: stepping back builds the view again from it.
            reporting.admit(&mut recording.items)?;
            let recording = std::mem::replace(
                recording,
                Recording {
                    header: header.clone(),
                    items: Vec::new(),
                    damage: None,
                },
            );
            Some(Player::new(recording))
        }
        Source::Clusters(..) => None,
    };
    let mut terminal = LiveTerminal::start()?;
    let mut keys = terminal_input()?;
    let mut waiting: VecDeque<ChangeRecord> = VecDeque::new();
    let mut batch = Vec::new();
    let mut dirty = true;
    let mut last_frame = tokio::time::Instant::now() - FRAME_INTERVAL;
    // When the screen must be drawn again with nothing happening: decided after each frame.
    let mut next_tick: Option<tokio::time::Instant> = None;
    // A replay's time is the recording's, so that ages and "how long ago" read as they did.
    let clock = |player: &Option<Player>| player.as_ref().map_or_else(Timestamp::now, Player::position);
    let ending = loop {
        if let Some(player) = &player {
            ui.replay = Some(replay_status(player, &ui.time_zone));
        }
        if dirty {
            let next_frame = last_frame + FRAME_INTERVAL;
            if tokio::time::Instant::now() >= next_frame {
                terminal.draw(&view, &ui, clock(&player))?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &ui, last_frame, clock(&player));
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
        let changes = async {
            match (&mut *source, &mut player) {
                (_, Some(player)) => {
                    let moved = player.next().await;
                    batch.extend(moved.items);
                    Ok(false)
                }
                (Source::Clusters(clusters, waits), None) => tokio::select! {
                    taken = clusters.next(&mut batch) => taken.map(|()| false),
                    line = waits.next_line(), if !clusters.first_synced() => {
                        batch.push(Fed { at: Timestamp::now(), item: FeedItem::Notice { kind: NoticeKind::Other, text: line } });
                        Ok(false)
                    }
                },
                (Source::Recording(_), None) => std::future::pending().await,
            }
        };
        tokio::select! {
            taken = changes => {
                if player.is_none() {
                    reporting.admit(&mut batch)?;
                }
                for fed in batch.drain(..) {
                    show(fed, &mut view, &mut ui, &mut waiting, source_waits(source));
                }
                if let Err(error) = taken {
                    break Err(error);
                }
                // Open details stay on their object.
                if ui.follow && !ui.details {
                    ui.selected = live::entry_count(&view, &ui).saturating_sub(1);
                }
                dirty = true;
                if reporting.done() && ui.paused.is_none() && player.is_none() {
                    break Ok(ExitCode::Success);
                }
            }
            key = keys.recv() => {
                match key {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        match &mut player {
                            Some(player) if is_replay_key(key, &ui) => {
                                if let Some(asked) = replay_key(key, &mut ui) {
                                    let moved = play(player, asked, &ui);
                                    if moved.reset {
                                        view = ViewModel::new(Vec::new(), view.activity.started.unwrap_or_default());
                                        waiting.clear();
                                    }
                                    for fed in moved.items {
                                        show(fed, &mut view, &mut ui, &mut waiting, None);
                                    }
                                    if ui.follow && !ui.details {
                                        ui.selected = live::entry_count(&view, &ui).saturating_sub(1);
                                    }
                                }
                            }
                            _ => {
                                if let Some(code) = press(key, &mut view, &mut ui, &mut waiting) {
                                    break Ok(code);
                                }
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => break Err(Error::Internal(anyhow::anyhow!("reading the terminal failed: {error}"))),
                    None => break Ok(ExitCode::Success),
                }
                // A key is answered at once, not at the pace of the changes.
                if let Some(player) = &player {
                    ui.replay = Some(replay_status(player, &ui.time_zone));
                }
                terminal.draw(&view, &ui, clock(&player))?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &ui, last_frame, clock(&player));
                dirty = false;
            }
            _ = tick_due => {
                next_tick = None;
                dirty = true;
            }
            _ = frame_due => {}
        }
    };
    drop(terminal);
    if let (Some(_), Some(started), None) = (view.activity.synced, view.activity.started, &player) {
        let activity = &view.activity;
        eprintln!(
            "{} changes in {} ({} reconnects, {} relists)",
            activity.changes,
            crate::render::columns::human_duration(Timestamp::now().duration_since(started)),
            activity.reconnects,
            activity.relists
        );
    }
    ending
}

/// The waits of a cluster source, whose announcement ends at the first sync.
fn source_waits(source: &mut Source) -> Option<&mut WaitWatch> {
    match source {
        Source::Clusters(_, waits) => Some(waits),
        Source::Recording(_) => None,
    }
}

/// One item of the source into the view; changes wait while the view is paused.
fn show(
    fed: Fed,
    view: &mut ViewModel,
    ui: &mut Ui,
    waiting: &mut VecDeque<ChangeRecord>,
    waits: Option<&mut WaitWatch>,
) {
    match fed.item {
        FeedItem::Stream(stream) => view.add_stream(*stream),
        FeedItem::Columns { stream, columns } => {
            if let Some(stream) = view.streams.get_mut(stream) {
                stream.columns = columns;
            }
        }
        FeedItem::Synced(synced) => {
            if let Some(line) = waits.and_then(|waits| waits.finish()) {
                view.notice(NoticeKind::Other, line, fed.at);
            }
            view.synced(fed.at, &synced);
        }
        FeedItem::Change(change) => {
            if change.stream >= view.streams.len() {
                return;
            }
            let FedChange {
                stream,
                change,
                field_changes,
            } = *change;
            let mut record = ChangeRecord::with_field_changes(stream, &change, field_changes, fed.at);
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
        FeedItem::Event { change, .. } => {
            if let Some(observed) = change
                .payload
                .as_ref()
                .and_then(|payload| ObservedEvent::from_json(&payload.raw))
            {
                view.events.record(observed);
            }
        }
        FeedItem::Notice { kind, text } => view.notice(kind, text, fed.at),
    }
}

/// Moves the player as a key asks.
fn play(player: &mut Player, asked: PlayerKey, ui: &Ui) -> Move {
    let still = || Move {
        reset: false,
        items: Vec::new(),
    };
    match asked {
        PlayerKey::Toggle => {
            player.toggle();
            still()
        }
        PlayerKey::Faster | PlayerKey::Slower => {
            player.faster(asked == PlayerKey::Faster);
            still()
        }
        PlayerKey::Forward => player.step_forward(),
        PlayerKey::Back => player.step_back(),
        PlayerKey::Jump(typed) => match jump_target(&typed, player.position(), &ui.time_zone) {
            Some(time) => player.jump(time),
            None => still(),
        },
    }
}

/// `REPLAY 12:05:20 ▶ 2× · 40/120 changes`
fn replay_status(player: &Player, zone: &jiff::tz::TimeZone) -> String {
    let (shown, total) = player.progress();
    let state = if player.playing { "▶" } else { "⏸" };
    let speed = if player.speed >= 1.0 {
        format!("{}×", player.speed)
    } else {
        format!("1/{}×", 1.0 / player.speed)
    };
    format!(
        "REPLAY {} {state} {speed} · {shown}/{total} changes",
        player.position().to_zoned(zone.clone()).strftime("%H:%M:%S")
    )
}

/// When to draw again if nothing happens: in a second while a time on screen counts seconds (ages, "how long
/// ago", the change rate); past ten minutes they count minutes, so ten seconds late is as good as on time;
/// never when nothing on screen moves, so that a quiet watch costs no CPU at all.
fn tick_after(view: &ViewModel, ui: &Ui, drawn: tokio::time::Instant, now: Timestamp) -> Option<tokio::time::Instant> {
    if ui.details || view.ticking(now) {
        Some(drawn + Duration::from_secs(1))
    } else if !view.rows().is_empty() {
        Some(drawn + SLOW_TICK)
    } else {
        None
    }
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

    fn draw(&mut self, view: &ViewModel, ui: &Ui, now: Timestamp) -> Result<()> {
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
