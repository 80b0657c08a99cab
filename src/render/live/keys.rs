//! What each key does to the live view: the overlay open takes it first (the filter or the time being typed,
//! the details being read), then a replay's player, then the view. Every key that acts on an entry acts on
//! the one the screen shows selected, found in the same arrangement the frame is drawn from.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::{LiveState, Overlay};
use super::{contexts, details};
use crate::exit_code::ExitCode;
use crate::view::ViewModel;
use crate::view::screen::{EntryId, Mode, Selection};

/// What a key asks of a replay's player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerKey {
    /// Play or pause.
    Toggle,
    Forward,
    Back,
    Faster,
    Slower,
    /// Go to the time typed after `g`.
    Jump(String),
}

/// What became of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Taken by the view (or ignored): draw again.
    Done,
    /// The view ends, with this exit code.
    Quit(ExitCode),
    /// For the replay's player.
    Player(PlayerKey),
}

/// How far PgUp and PgDn move.
const PAGE: usize = 10;

impl LiveState {
    pub fn press(&mut self, key: KeyEvent, view: &mut ViewModel) -> KeyOutcome {
        let typed = |key: &KeyEvent| match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
            _ => None,
        };
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return KeyOutcome::Quit(ExitCode::Signal(2));
        }
        match &mut self.overlay {
            Overlay::Jump(time) => {
                match key.code {
                    KeyCode::Enter => {
                        let time = std::mem::take(time);
                        self.overlay = Overlay::None;
                        return KeyOutcome::Player(PlayerKey::Jump(time));
                    }
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Backspace => {
                        time.pop();
                    }
                    _ => time.extend(typed(&key)),
                }
                return KeyOutcome::Done;
            }
            Overlay::Filter => {
                match key.code {
                    KeyCode::Enter => self.overlay = Overlay::None,
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.overlay = Overlay::None;
                    }
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    _ => self.filter.extend(typed(&key)),
                }
                // The newest matching entry is selected, as when the view follows.
                self.selection = Selection::Newest;
                return KeyOutcome::Done;
            }
            // Closed by the key that opened it; the keys that move scroll it; the others act on the view.
            Overlay::Contexts { scroll } => match key.code {
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('x') => {
                    self.overlay = Overlay::None;
                    return KeyOutcome::Done;
                }
                code if scrolls(code) => {
                    *scroll = scrolled(code, *scroll, contexts::length(view));
                    return KeyOutcome::Done;
                }
                _ => {}
            },
            Overlay::Details { .. } | Overlay::None => {}
        }
        if self.replay.is_some()
            && let Some(asked) = player_key(key.code)
        {
            return match asked {
                PlayerKey::Jump(_) => {
                    self.overlay = Overlay::Jump(String::new());
                    KeyOutcome::Done
                }
                asked => KeyOutcome::Player(asked),
            };
        }
        if let Overlay::Details { on, scroll } = &mut self.overlay {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => {
                    self.overlay = Overlay::None;
                    return KeyOutcome::Done;
                }
                code if scrolls(code) => {
                    let (on, at) = (on.clone(), *scroll);
                    let length = details::length(view, self, &on);
                    if let Overlay::Details { scroll, .. } = &mut self.overlay {
                        *scroll = scrolled(code, at, length);
                    }
                    return KeyOutcome::Done;
                }
                _ => {}
            }
        }
        match key.code {
            // A new filter, as `/` starts a new search in less or vim.
            KeyCode::Char('/') => {
                self.filter.clear();
                self.overlay = Overlay::Filter;
            }
            KeyCode::Char('q') => return KeyOutcome::Quit(ExitCode::Success),
            KeyCode::Char('x') => self.overlay = Overlay::Contexts { scroll: 0 },
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.selection = Selection::Newest;
            }
            // The details of the entry highlighted; the selection stays on it while they are read.
            KeyCode::Enter => {
                if let Some(id) = self.selected_id(view) {
                    self.selection = Selection::On(id.clone());
                    self.overlay = Overlay::Details { on: id, scroll: 0 };
                }
            }
            // Owners as a tree, or the rows by type; the selected row stays selected.
            KeyCode::Char('o') if self.mode == Mode::Table => {
                if let Some(id) = self.selected_id(view) {
                    self.selection = Selection::On(id);
                }
                self.tree = !self.tree;
            }
            KeyCode::Char(' ') => match self.paused.take() {
                Some(held) => {
                    for record in held {
                        view.record(record);
                    }
                }
                None => self.paused = Some(Default::default()),
            },
            KeyCode::Char('c') => {
                view.clear();
                self.start_over();
                self.selection = Selection::Newest;
                self.overlay = Overlay::None;
            }
            // The other mode, on the same object: its latest change, or the row of the change selected.
            KeyCode::Char('t') => {
                let selected = match &self.selection {
                    Selection::Newest => None,
                    Selection::On(_) => self.selected_id(view),
                };
                self.mode = match self.mode {
                    Mode::Table => Mode::Timeline,
                    Mode::Timeline => Mode::Table,
                };
                self.overlay = Overlay::None;
                self.selection = selected
                    .and_then(|id| counterpart(view, &id))
                    .map_or(Selection::Newest, Selection::On);
            }
            KeyCode::Up | KeyCode::Char('k') => self.move_by(view, -1),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(view, 1),
            KeyCode::PageUp => self.move_by(view, -(PAGE as isize)),
            KeyCode::PageDown => self.move_by(view, PAGE as isize),
            KeyCode::Home => self.move_by(view, isize::MIN),
            KeyCode::End => self.selection = Selection::Newest,
            _ => {}
        }
        KeyOutcome::Done
    }

    /// The entry the screen shows selected.
    fn selected_id(&self, view: &ViewModel) -> Option<EntryId> {
        let screen = self.screen(view);
        screen.selected(&self.selection).map(|entry| entry.id())
    }

    /// Moves the selection `by` entries on screen (up when negative), no further than the first and the newest.
    fn move_by(&mut self, view: &ViewModel, by: isize) {
        let screen = self.screen(view);
        if let Some(at) = screen.position(&self.selection) {
            self.selection = screen.select(at.saturating_add_signed(by));
        }
    }
}

/// The entry of the other mode for the same object: a row's latest change in the timeline, or the row of a
/// change in the table.
fn counterpart(view: &ViewModel, id: &EntryId) -> Option<EntryId> {
    match id {
        EntryId::Object { stream, key } => view.row_of(*stream, key).map(|row| EntryId::Change {
            sequence: row.latest.sequence,
        }),
        EntryId::Change { sequence } => view.change(*sequence).map(|record| EntryId::Object {
            stream: record.stream,
            key: record.key.clone(),
        }),
    }
}

/// The keys of a replay's player, taken before the view's own: space plays and pauses (the view's pause has
/// nothing to hold back in a replay), `.` and `,` step, `+` and `-` change the speed, `g` asks for a time.
fn player_key(code: KeyCode) -> Option<PlayerKey> {
    match code {
        KeyCode::Char(' ') => Some(PlayerKey::Toggle),
        KeyCode::Char('.') | KeyCode::Right => Some(PlayerKey::Forward),
        KeyCode::Char(',') | KeyCode::Left => Some(PlayerKey::Back),
        KeyCode::Char('+') => Some(PlayerKey::Faster),
        KeyCode::Char('-') => Some(PlayerKey::Slower),
        KeyCode::Char('g') => Some(PlayerKey::Jump(String::new())),
        _ => None,
    }
}

/// Whether a key scrolls an overlay's lines.
fn scrolls(code: KeyCode) -> bool {
    matches!(
        code,
        KeyCode::Up
            | KeyCode::Down
            | KeyCode::Char('j' | 'k')
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Home
            | KeyCode::End
    )
}

/// An overlay's scroll after a moving key: no further than their last line.
fn scrolled(code: KeyCode, scroll: u16, length: usize) -> u16 {
    let page = PAGE as u16;
    match code {
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
        KeyCode::PageUp => scroll.saturating_sub(page),
        KeyCode::PageDown => scroll.saturating_add(page),
        KeyCode::Home => 0,
        _ => u16::MAX,
    }
    .min(u16::try_from(length.saturating_sub(1)).unwrap_or(u16::MAX))
}
