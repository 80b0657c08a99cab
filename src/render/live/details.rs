//! The details of one entry, over the view: where the object is (its context, namespace and owner), what the
//! change changed, the Events about it, its history, and the object itself (a Secret's values withheld).

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
    let popup = centered(area, 90, 80);
    let scroll = scroll.min(lines.len().saturating_sub(1) as u16);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::styled(
            " ↑↓ PgUp PgDn scroll · enter or esc closes ",
            Style::new().dim(),
        ));
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
        record.event.as_str(),
        clock(record.at, zone)
    );
    let heading = |text: String| Line::styled(text, Style::new().bold());
    let mut about = Vec::new();
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
    changed.extend(
        record
            .field_changes
            .iter()
            .map(|change| Line::raw(describe_in_full(change))),
    );
    if record.field_changes.is_empty() {
        changed.push(Line::raw(match record.event {
            ChangeType::Modified => "No field changes were recorded for this modification.",
            ChangeType::Added => "The object was added; there is no earlier version to compare with.",
            ChangeType::Deleted => "The object was deleted.",
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
            Line::raw(format!(
                "{}  {:<8}  {fields}{relist}",
                clock(entry.at, zone),
                entry.event.as_str()
            ))
        }));
    }

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
        ChangeType::Added => [object, events, history, changed],
        _ => [changed, events, history, object],
    };
    for section in sections {
        if !section.is_empty() {
            lines.push(Line::raw(""));
            lines.extend(section);
        }
    }
    Some((title, lines))
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
