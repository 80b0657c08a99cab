//! What each key does in the live view.

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::exit_code::ExitCode;
use crate::render::live::{self, Mode, Ui};
use crate::view::{ChangeRecord, ViewModel};

/// Handles one key; gives the exit code when it ends the view.
pub(super) fn press(
    key: KeyEvent,
    view: &mut ViewModel,
    ui: &mut Ui,
    waiting: &mut VecDeque<ChangeRecord>,
) -> Option<ExitCode> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(ExitCode::Signal(2));
    }
    if ui.filtering {
        type_filter(key, view, ui);
        return None;
    }
    if ui.details {
        scroll_details(key, ui, live::details_length(view, ui));
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
        KeyCode::Enter => {
            ui.details = !ui.details;
            ui.scroll = 0;
        }
        // While the details are open, the moving keys scroll them.
        KeyCode::Up
        | KeyCode::Down
        | KeyCode::Char('j')
        | KeyCode::Char('k')
        | KeyCode::PageUp
        | KeyCode::PageDown
        | KeyCode::Home
        | KeyCode::End
            if ui.details =>
        {
            return None;
        }
        // Owners as a tree, or the rows by type; the selected row stays selected.
        KeyCode::Char('o') if ui.mode == Mode::Table => {
            let selected = live::selected_record(view, ui).map(|record| (record.stream, record.key.clone()));
            ui.tree = !ui.tree;
            ui.selected = selected
                .and_then(|(stream, key)| live::position_of(view, ui, stream, &key))
                .unwrap_or(last);
            return None;
        }
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

/// What a key asks of a replay's player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PlayerKey {
    /// Play or pause.
    Toggle,
    Forward,
    Back,
    Faster,
    Slower,
    /// Go to the time typed after `g`.
    Jump(String),
}

/// The keys of a replay, taken before the live view's own: space plays and pauses (the live view's pause
/// has nothing to hold back in a replay), `.` and `,` step, `+` and `-` change the speed, `g` asks for a time.
pub(super) fn replay_key(key: KeyEvent, ui: &mut Ui) -> Option<PlayerKey> {
    if let Some(typed) = &mut ui.jump {
        match key.code {
            KeyCode::Enter => return ui.jump.take().map(PlayerKey::Jump),
            KeyCode::Esc => ui.jump = None,
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => typed.push(c),
            _ => {}
        }
        return None;
    }
    if ui.filtering {
        return None;
    }
    match key.code {
        KeyCode::Char(' ') => Some(PlayerKey::Toggle),
        KeyCode::Char('.') | KeyCode::Right => Some(PlayerKey::Forward),
        KeyCode::Char(',') | KeyCode::Left => Some(PlayerKey::Back),
        KeyCode::Char('+') => Some(PlayerKey::Faster),
        KeyCode::Char('-') => Some(PlayerKey::Slower),
        KeyCode::Char('g') => {
            ui.jump = Some(String::new());
            None
        }
        _ => None,
    }
}

/// Whether `replay_key` takes the key: the live view does nothing more with it.
pub(super) fn is_replay_key(key: KeyEvent, ui: &Ui) -> bool {
    ui.jump.is_some()
        || (!ui.filtering
            && matches!(
                key.code,
                KeyCode::Char(' ' | '.' | ',' | '+' | '-' | 'g') | KeyCode::Right | KeyCode::Left
            ))
}

/// A moving key while the details are open scrolls them, no further than their last line.
fn scroll_details(key: KeyEvent, ui: &mut Ui, length: usize) {
    let page = 10;
    ui.scroll = match key.code {
        KeyCode::Up | KeyCode::Char('k') => ui.scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => ui.scroll.saturating_add(1),
        KeyCode::PageUp => ui.scroll.saturating_sub(page),
        KeyCode::PageDown => ui.scroll.saturating_add(page),
        KeyCode::Home => 0,
        KeyCode::End => u16::MAX,
        _ => ui.scroll,
    }
    .min(u16::try_from(length.saturating_sub(1)).unwrap_or(u16::MAX));
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
