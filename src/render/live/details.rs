//! The details of one entry, over the view: where the object is (its context, namespace and owner), what the
//! change changed and who did, a fight between its writers, the Events about it, its history, every writer
//! with the fields it owns, and the object itself (a Secret's values withheld).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::state::LiveState;
use super::{clock, warning_style};
use crate::engine::tracker::{ChangeType, Origin};
use crate::view::details::object_yaml;
use crate::view::screen::EntryId;
use crate::view::summary::{describe_in_full, summarize};
use crate::view::writers::{self, Writer, writer_of_field};
use crate::view::{ChangeRecord, Row, ViewModel};

/// The change and the row an entry names, while the view keeps them.
fn entry<'a>(view: &'a ViewModel, on: &EntryId) -> Option<(&'a ChangeRecord, Option<&'a Row>)> {
    match on {
        EntryId::Object { stream, key } => view.row_of(*stream, key).map(|row| (row.latest.as_ref(), Some(row))),
        EntryId::Change { sequence } => view
            .change(*sequence)
            .map(|record| (record, view.row_of(record.stream, &record.key))),
    }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, view: &ViewModel, state: &LiveState, on: &EntryId, scroll: u16) {
    let Some((title, lines)) = details(view, state, on) else {
        return;
    };
    popup(
        frame,
        area,
        title,
        " ↑↓ PgUp PgDn scroll · enter or esc closes ",
        lines,
        scroll,
    );
}

/// A box over most of `area`, titled, its lines wrapped and scrolled down `scroll` lines (no further than the
/// last), the keys that close it at its bottom.
pub(super) fn popup(frame: &mut Frame, area: Rect, title: String, closing: &str, lines: Vec<Line>, scroll: u16) {
    let popup = centered(area, 90, 80);
    let scroll = scroll.min(lines.len().saturating_sub(1) as u16);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::styled(closing.to_string(), Style::new().dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        popup,
    );
}

/// How many lines the details of `on` have (before wrapping): how far they can scroll.
pub(super) fn length(view: &ViewModel, state: &LiveState, on: &EntryId) -> usize {
    details(view, state, on).map_or(0, |(_, lines)| lines.len())
}

/// The title and the lines of the details of `on`.
fn details<'a>(view: &'a ViewModel, state: &LiveState, on: &EntryId) -> Option<(String, Vec<Line<'a>>)> {
    let (record, row) = entry(view, on)?;
    let stream = &view.streams[record.stream];
    let zone = &state.look.time_zone;
    let context = stream
        .context
        .as_deref()
        .map(|context| format!(" in {context}"))
        .unwrap_or_default();
    let title = format!(
        " {}/{}{context} · {} at {} ",
        stream.label.object_prefix,
        record.key.name,
        record.event_label(),
        clock(record.at, zone)
    );
    let heading = |text: String| Line::styled(text, Style::new().bold());
    let mut about = Vec::new();
    if record.since_added.is_some() {
        about.push("created since the start".to_string());
    }
    if let Some(context) = &stream.context {
        about.push(format!("context {context}"));
    }
    if let Some(namespace) = &record.key.namespace {
        about.push(format!("namespace {namespace}"));
    }
    if let Some(owner) = &record.owner {
        about.push(format!("owned by {}", owner.display()));
    }
    let mut lines: Vec<Line> = Vec::new();
    if !about.is_empty() {
        lines.push(Line::styled(about.join(" · "), Style::new().dim()));
    }

    let mut changed: Vec<Line> = vec![heading("What changed".into())];
    if !record.changed_by.is_empty() {
        changed.push(Line::raw(format!("by {}", writers::who(&record.changed_by))));
    }
    let several = record.changed_by.len() > 1;
    changed.extend(record.field_changes.iter().map(|change| {
        let by = match writer_of_field(&record.changed_by, &change.path) {
            Some(writer) if several => format!("  ← {}", writer.display()),
            _ => String::new(),
        };
        Line::raw(format!("{}{by}", describe_in_full(change)))
    }));
    if record.field_changes.is_empty() {
        changed.push(Line::raw(match record.event {
            ChangeType::Modified => "No field changes were recorded for this modification.",
            ChangeType::Added => "The object was added; there is no earlier version to compare with.",
            ChangeType::Deleted => "The object was deleted.",
        }));
    }

    let mut fight = Vec::new();
    if let Some(found) = &record.fight {
        fight.push(Line::styled(
            format!(
                "Fight: {} set by {} and {}, each undoing the other, {} times within a minute",
                found.path, found.writers[0], found.writers[1], found.overwrites
            ),
            warning_style(&state.look.options),
        ));
        fight.extend(found.moves.iter().map(|set| {
            let value = set.value.as_deref().unwrap_or("(removed)");
            Line::raw(format!("{}  {}  {value}", clock(set.at, zone), set.writer))
        }));
    }

    let mut events = vec![heading("Events".into())];
    match view.events.about(
        &record.uid,
        &stream.label.kind,
        record.key.namespace.as_deref(),
        &record.key.name,
    ) {
        Some(notes) => events.extend(notes.iter().map(|note| {
            let when = note.last_seen.map(|at| clock(at, zone)).unwrap_or_default();
            let kind = if note.warning { "Warning" } else { "Normal " };
            let source = if note.source.is_empty() {
                String::new()
            } else {
                format!("{}: ", note.source)
            };
            let text = format!("{when}  {kind}  {}  {source}{}", note.reason_counted(), note.message);
            if note.warning {
                Line::styled(text, warning_style(&state.look.options))
            } else {
                Line::raw(text)
            }
        })),
        None => events.push(Line::styled("No Events seen about it.", Style::new().dim())),
    }

    let mut history = Vec::new();
    if let Some(row) = row {
        history.push(heading(format!("History ({} changes seen)", row.changes)));
        let forgotten = (row.changes as usize).saturating_sub(row.history.len());
        if forgotten > 0 {
            history.push(Line::styled(
                format!("({forgotten} earlier changes not kept)"),
                Style::new().dim(),
            ));
        }
        history.extend(row.history.iter().map(|entry| {
            let fields = summarize(&entry.field_changes, 4, 40);
            let relist = if entry.origin == Origin::Relist {
                " (found by relist)"
            } else {
                ""
            };
            let by = match entry.changed_by.as_slice() {
                [] => String::new(),
                writers => format!("by {}  ", writers::who(writers)),
            };
            let fight = entry
                .fight
                .as_ref()
                .map(|fight| format!("  {}", fight.display()))
                .unwrap_or_default();
            Line::raw(format!(
                "{}  {:<8}  {by}{fields}{relist}{fight}",
                clock(entry.at, zone),
                entry.event.as_str()
            ))
        }));
    }

    let writers = writers_section(record, row, zone);

    let mut object = vec![heading(match record.event {
        ChangeType::Deleted => "The object as it was last seen".into(),
        _ => "The object as its latest change left it".into(),
    })];
    match row
        .and_then(|row| row.object.as_ref())
        .and_then(|packed| packed.unpack())
    {
        Some(raw) => match object_yaml(&raw, stream.label.secret) {
            Some(yaml) => object.extend(yaml.lines().map(|line| Line::raw(line.to_string()))),
            None => object.push(Line::raw("It could not be read as YAML.")),
        },
        None => object.push(Line::styled("Not known.", Style::new().dim())),
    }

    // What is worth opening first: a new object itself; otherwise what changed.
    let sections = match record.event {
        ChangeType::Added => [object, changed, events, history, writers, fight],
        _ => [changed, fight, events, history, writers, object],
    };
    for section in sections {
        if !section.is_empty() {
            lines.push(Line::raw(""));
            lines.extend(section);
        }
    }
    Some((title, lines))
}

/// Every writer of the object as its latest change left it (its managedFields), or, where they were not sent
/// (a replay), the writers of this change: when each last wrote and the fields it owns.
fn writers_section<'a>(record: &ChangeRecord, row: Option<&Row>, zone: &jiff::tz::TimeZone) -> Vec<Line<'a>> {
    let all: Vec<Writer> = match row
        .and_then(|row| row.managed_fields.as_ref())
        .and_then(|packed| packed.unpack())
    {
        Some(text) => writers::all_writers(&text),
        None => record.changed_by.clone(),
    };
    if all.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        "Writers (from managedFields: programs, not people)".to_string(),
        Style::new().bold(),
    )];
    for writer in all {
        let when = writer
            .time
            .as_deref()
            .and_then(|time| time.parse::<jiff::Timestamp>().ok())
            .map(|at| format!("last wrote {}", clock(at, zone)))
            .unwrap_or_default();
        lines.push(Line::raw(format!("{}  {when}", writer.display())));
        let fields = writer.fields();
        if !fields.is_empty() {
            lines.push(Line::styled(
                format!("  owns {}", fields.join(", ")),
                Style::new().dim(),
            ));
        }
    }
    lines
}

fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let width = (area.width as u32 * percent_x as u32 / 100) as u16;
    let height = (area.height as u32 * percent_y as u32 / 100).max(3) as u16;
    Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height: height.min(area.height),
    }
}
