//! The live view's loop: changes, keys and ticks in, frames out, at most ten a second.

use std::time::Duration;

use jiff::Timestamp;
use ratatui::crossterm::event::{Event, KeyEventKind};
use tokio::sync::mpsc;

use super::replay::{Move, Player, Recording, jump_target};
use super::waits::WaitWatch;
use super::{Source, reporting, table_options};
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::export::Export;
use crate::render::live::{self, KeyOutcome, LiveState, Look, PlayerKey};
use crate::settings::{Settings, SourceChoice};
use crate::view::feed::{Fed, FeedItem};
use crate::view::screen::Mode;
use crate::view::{NoticeKind, ViewModel};

/// Changes are drawn at most this often: ten frames a second reads as live.
const FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// Under churn, four frames a second: the rows scroll by faster than anyone reads either way (space pauses
/// them), and a frame that moves every row of a 200×50 terminal cost about 0.8 ms of drawing and of writing
/// it out, a third of the live view's CPU at 150 changes a second. Keys are still answered at once.
const BUSY_FRAME_INTERVAL: Duration = Duration::from_millis(250);
/// Changes a second, over the last ten, above which the view counts as under churn.
const BUSY_RATE: f64 = 50.0;
/// With no time on screen counting seconds, it is drawn again this often for the ones that count minutes.
const SLOW_TICK: Duration = Duration::from_secs(10);

/// The live view: the terminal is taken over (raw mode, alternate screen) and given back on every way out,
/// since dropping `LiveTerminal` restores it and ratatui's panic hook does too.
pub(super) async fn run_live(
    source: &mut Source,
    settings: &Settings,
    timeline: bool,
    export: Option<&mut Export>,
) -> Result<ExitCode> {
    let mut reporting = reporting(source, settings, export)?;
    let header = source.header(settings);
    let mut view = ViewModel::new(Vec::new(), Timestamp::now());
    let look = Look {
        options: table_options(source, settings),
        header: match &settings.source {
            SourceChoice::Replay(path) => format!("replay of {} · {}", path.display(), header.header),
            SourceChoice::Contexts(_) => header.header.clone(),
        },
        time_zone: jiff::tz::TimeZone::system(),
    };
    let mode = if timeline { Mode::Timeline } else { Mode::Table };
    let mut state = LiveState::new(mode, look, settings.filter.clone());
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
    let mut batch = Vec::new();
    let mut dirty = true;
    let mut last_frame = tokio::time::Instant::now() - FRAME_INTERVAL;
    // When the screen must be drawn again with nothing happening: decided after each frame.
    let mut next_tick: Option<tokio::time::Instant> = None;
    // A replay's time is the recording's, so that ages and "how long ago" read as they did.
    let clock = |player: &Option<Player>| player.as_ref().map_or_else(Timestamp::now, Player::position);
    let ending = loop {
        if let Some(player) = &player {
            state.replay = Some(replay_status(player, &state.look.time_zone));
        }
        let frame_interval = match view.activity.rate(clock(&player)) > BUSY_RATE {
            true => BUSY_FRAME_INTERVAL,
            false => FRAME_INTERVAL,
        };
        if dirty {
            let next_frame = last_frame + frame_interval;
            if tokio::time::Instant::now() >= next_frame {
                terminal.draw(&view, &state, clock(&player))?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &state, last_frame, clock(&player));
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
                tokio::time::sleep_until(last_frame + frame_interval).await;
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
                    show(fed, &mut view, &mut state, source_waits(source));
                }
                if let Err(error) = taken {
                    break Err(error);
                }
                dirty = true;
                if reporting.done() && state.paused.is_none() && player.is_none() {
                    break Ok(ExitCode::Success);
                }
            }
            key = keys.recv() => {
                match key {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        match state.press(key, &mut view) {
                            KeyOutcome::Done => {}
                            KeyOutcome::Quit(code) => break Ok(code),
                            KeyOutcome::Player(asked) => {
                                if let Some(player) = &mut player {
                                    let moved = play(player, asked, &state);
                                    if moved.reset {
                                        view = ViewModel::new(Vec::new(), view.activity.started.unwrap_or_default());
                                        state.start_over();
                                    }
                                    for fed in moved.items {
                                        show(fed, &mut view, &mut state, None);
                                    }
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
                    state.replay = Some(replay_status(player, &state.look.time_zone));
                }
                terminal.draw(&view, &state, clock(&player))?;
                last_frame = tokio::time::Instant::now();
                next_tick = tick_after(&view, &state, last_frame, clock(&player));
                dirty = false;
            }
            text = reporting.export_notice() => {
                show(Fed { at: Timestamp::now(), item: FeedItem::Notice { kind: NoticeKind::Other, text } }, &mut view, &mut state, source_waits(source));
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
    if let (Some(_), Some(started), None) = (view.activity.synced, view.activity.started, &player) {
        let activity = &view.activity;
        let heartbeats = match activity.heartbeats {
            0 => String::new(),
            beats => format!(", {beats} heartbeats not shown"),
        };
        eprintln!(
            "{} changes in {} ({} reconnects, {} relists{heartbeats})",
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

/// One item of the source into the view; the first sync also ends what was said of the waits before it.
fn show(fed: Fed, view: &mut ViewModel, state: &mut LiveState, waits: Option<&mut WaitWatch>) {
    if let FeedItem::Synced(_) = &fed.item
        && let Some(line) = waits.and_then(|waits| waits.finish())
    {
        view.notice(NoticeKind::Other, line, fed.at);
    }
    state.take(fed, view);
}

/// Moves the player as a key asks.
fn play(player: &mut Player, asked: PlayerKey, state: &LiveState) -> Move {
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
        PlayerKey::Jump(typed) => match jump_target(&typed, player.position(), &state.look.time_zone) {
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
fn tick_after(
    view: &ViewModel,
    state: &LiveState,
    drawn: tokio::time::Instant,
    now: Timestamp,
) -> Option<tokio::time::Instant> {
    if state.details_open() || view.ticking(now) {
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

    fn draw(&mut self, view: &ViewModel, state: &LiveState, now: Timestamp) -> Result<()> {
        self.terminal
            .draw(|frame| live::draw(frame, view, state, now))
            .map(|_| ())
            .map_err(|error| Error::Internal(anyhow::anyhow!("drawing the live view failed: {error}")))
    }
}

impl Drop for LiveTerminal {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
