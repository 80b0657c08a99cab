//! The live view, drawn with ratatui from the view model: a status line, the table (one section per context
//! and kind, one row per object that changed) or the timeline (one row per change), a line of key hints, and
//! the details of an entry on request. Each frame arranges the entries once (`view::screen`), and everything
//! drawn reads that arrangement. A pure function of the view, the state, the current time and the frame's
//! size.

mod contexts;
mod details;
mod fitting;
mod keys;
mod state;
mod strip;
mod table;
#[cfg(test)]
mod tests;
mod timeline;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub use keys::{KeyOutcome, PlayerKey};
pub use state::{LiveState, Look, Overlay};

use super::columns::{TableOptions, human_duration};
use crate::engine::tracker::ChangeType;
use crate::view::screen::{Mode, Screen};
use crate::view::summary::one_line;
use crate::view::{ChangeRecord, ViewModel};
use fitting::GAP;

/// How long a changed row stays highlighted.
const HIGHLIGHT_SECONDS: i64 = 3;

pub fn draw(frame: &mut Frame, view: &ViewModel, state: &LiveState, now: Timestamp) {
    let screen = state.screen(view);
    let selected = screen.position(&state.selection);
    let [status, body, hints] =
        Split::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
    frame.render_widget(Paragraph::new(status_lines(view, state, &screen, now)), status);
    // The selected entry in full under the table, as far as a third of the screen allows.
    let strip_lines = selected
        .map(|index| strip::lines(view, state, screen.entries[index].record, now, body.width as usize))
        .unwrap_or_default();
    let strip_height = strip::height(strip_lines.len(), body.height);
    let [body, strip_area] = Split::vertical([Constraint::Min(1), Constraint::Length(strip_height)]).areas(body);
    if strip_height > 0 {
        strip::draw(frame, strip_area, strip_lines);
    }
    match screen.mode {
        Mode::Table => table::draw(frame, body, view, state, &screen, selected, now),
        Mode::Timeline => timeline::draw(frame, body, view, state, &screen, selected, now),
    }
    frame.render_widget(
        Paragraph::new(one_line(
            state.hints(view.contexts.all().len() > 1),
            hints.width as usize,
        ))
        .style(Style::new().dim()),
        hints,
    );
    match &state.overlay {
        Overlay::Details { on, scroll } => details::draw(frame, body, view, state, on, *scroll),
        Overlay::Contexts { scroll } => contexts::draw(frame, body, view, &state.look, *scroll, now),
        Overlay::None | Overlay::Filter | Overlay::Jump(_) => {}
    }
}

fn status_lines(view: &ViewModel, state: &LiveState, screen: &Screen, now: Timestamp) -> Vec<Line<'static>> {
    let activity = &view.activity;
    let zone = &state.look.time_zone;
    let mut first = state.look.header.clone();
    match activity.synced {
        Some((at, took)) => {
            let hidden: usize = view.streams.iter().map(|stream| stream.existing).sum();
            first.push_str(&format!(
                " · {hidden} existing hidden · watching since {} (synced in {:.2}s)",
                clock(at, zone),
                took.as_secs_f64()
            ));
        }
        None => first.push_str(" · listing what exists (hidden)…"),
    }
    let heartbeats = match activity.heartbeats {
        0 => String::new(),
        beats => format!(" · heartbeats {beats}"),
    };
    // With several contexts, how many are in each state: `x` tells them apart.
    let contexts = match view.contexts.all().len() {
        0 | 1 => String::new(),
        _ => format!(" · contexts {}", view.contexts.tally()),
    };
    let mut second = vec![Span::raw(format!(
        "{} changes ({:.1}/s){heartbeats} · reconnects {} · relists {}{contexts}",
        activity.changes,
        activity.rate(now),
        activity.reconnects,
        activity.relists
    ))];
    let filtering = state.overlay == Overlay::Filter;
    if filtering || !state.filter.is_empty() {
        let cursor = if filtering { "▏" } else { "" };
        second.insert(
            0,
            Span::styled(
                format!("/{}{cursor} ({} hidden) ", state.filter, screen.hidden),
                Style::new().reversed(),
            ),
        );
    }
    if let Some((at, notice)) = &activity.notice {
        second.push(Span::raw(format!(" · {} {notice}", clock(*at, zone))));
    }
    if let Some(held) = &state.paused {
        second.insert(
            0,
            Span::styled(
                format!("PAUSED ({} waiting) ", held.len()),
                Style::new().reversed().bold(),
            ),
        );
    }
    if let Some(replay) = &state.replay {
        second.insert(0, Span::styled(format!("{replay} "), Style::new().reversed().bold()));
    }
    if let Overlay::Jump(typed) = &state.overlay {
        second.insert(0, Span::styled(format!("jump to: {typed}▏ "), Style::new().reversed()));
    }
    vec![Line::raw(first), Line::from(second)]
}

fn clock(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned(time_zone.clone()).strftime("%H:%M:%S").to_string()
}

fn last_change(record: &ChangeRecord, now: Timestamp, time_zone: &TimeZone) -> String {
    format!(
        "{} ({})",
        clock(record.at, time_zone),
        human_duration(now.duration_since(record.at))
    )
}

/// One line of a table, drawn straight into the buffer: the cells come cut to their columns' widths, so no
/// layout is needed, and a full screen of them costs a fraction of a table widget's cells and spans.
struct TableLine {
    cells: Vec<String>,
    /// The whole line's style (bold for a fresh change, dim for a deletion, reversed when selected).
    style: Style,
    /// Added to the first cell's: the event's colour.
    first_cell: Style,
    /// The cell of a Warning Event, which stands out, and its style.
    warning_cell: Option<(usize, Style)>,
}

impl TableLine {
    fn new(cells: Vec<String>, style: Style) -> TableLine {
        TableLine {
            cells,
            style,
            first_cell: Style::new(),
            warning_cell: None,
        }
    }

    fn render(&self, buffer: &mut ratatui::buffer::Buffer, area: Rect, widths: &[usize]) {
        // Each frame starts from an empty buffer: a line without a style of its own has nothing to set.
        if self.style != Style::new() {
            buffer.set_style(area, self.style);
        }
        let right = area.x + area.width;
        let mut x = area.x;
        for (index, (cell, width)) in self.cells.iter().zip(widths).enumerate() {
            if x >= right {
                break;
            }
            let width = (*width).min((right - x) as usize);
            let style = if index == 0 {
                self.first_cell
            } else if let Some((_, style)) = self.warning_cell.filter(|(cell, _)| *cell == index) {
                style
            } else {
                Style::new()
            };
            put(buffer, x, area.y, cell, width, style);
            x = x.saturating_add(width as u16).saturating_add(GAP);
        }
    }
}

/// Characters the view writes itself (`Pending→Running`, a cut `…`, the tree's `└`, `⚠ BackOff ×3`): each one
/// cell wide and a grapheme of its own, as every ASCII character but the control ones is.
const OWN_SYMBOLS: [char; 6] = ['→', '…', '└', '⚠', '×', '·'];

/// `Buffer::set_stringn`, for the text of the table, drawn every frame: where each character is a grapheme
/// one cell wide (ASCII, and the view's own symbols), it needs none of the Unicode segmentation that cost most
/// of a frame; anything else goes the general way.
fn put(buffer: &mut ratatui::buffer::Buffer, x: u16, y: u16, text: &str, width: usize, style: Style) {
    if !text.chars().all(|c| c.is_ascii() || OWN_SYMBOLS.contains(&c)) {
        buffer.set_stringn(x, y, text, width, style);
        return;
    }
    let right = buffer
        .area
        .right()
        .min(x.saturating_add(u16::try_from(width).unwrap_or(u16::MAX)));
    // As `set_stringn`, control characters take no cell.
    let shown = text.chars().filter(|c| !c.is_ascii_control());
    for (x, c) in (x..right).zip(shown) {
        buffer[(x, y)].set_char(c).set_style(style);
    }
}

fn entry_line(
    cells: Vec<String>,
    record: &ChangeRecord,
    selected: bool,
    now: Timestamp,
    options: &TableOptions,
) -> TableLine {
    let mut style = Style::new();
    if record.event == ChangeType::Deleted {
        style = style.add_modifier(Modifier::DIM);
    } else if now.duration_since(record.at).as_secs() < HIGHLIGHT_SECONDS {
        style = style.add_modifier(Modifier::BOLD);
    }
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
    }
    let mut line = TableLine::new(cells, style);
    if options.color {
        // An object created since the start stays green until it goes.
        let shown_as = match (record.since_added, record.event) {
            (Some(_), ChangeType::Modified) => ChangeType::Added,
            (_, event) => event,
        };
        line.first_cell = Style::new().fg(event_color(shown_as));
    }
    line
}

/// A Warning Event: red and bold, or bold alone without colour.
fn warning_style(options: &TableOptions) -> Style {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    if options.color { bold.fg(Color::Red) } else { bold }
}

fn event_color(event: ChangeType) -> Color {
    match event {
        ChangeType::Added => Color::Green,
        ChangeType::Modified => Color::Yellow,
        ChangeType::Deleted => Color::Red,
    }
}
