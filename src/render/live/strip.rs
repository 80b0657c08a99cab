//! The strip under the table: the selected entry in full without opening anything, what its row can only
//! cut: what changed, the latest Event with its whole message, who changed it, and its owner, wrapped.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::state::LiveState;
use super::{clock, warning_style};
use crate::engine::tracker::Origin;
use crate::render::columns::{human_duration, last_event_short};
use crate::view::summary::{one_line, summarize};
use crate::view::{ChangeRecord, ViewModel, writers};

/// How many fields the strip lists, and how long each value may be: more than a cell, less than the details.
const STRIP_FIELDS: usize = 8;
const STRIP_VALUE: usize = 120;
/// The labels' width: `changed  `, `event    `, `by       `.
const LABEL: usize = 9;

/// The strip's lines for `record` at `width`: a title line, then each labelled part wrapped under its label.
pub(super) fn lines(
    view: &ViewModel,
    state: &LiveState,
    record: &ChangeRecord,
    now: Timestamp,
    width: usize,
) -> Vec<Line<'static>> {
    let stream = &view.streams[record.stream];
    let zone = &state.look.time_zone;
    let mut title = format!("{}/{}", stream.label.object_prefix, record.key.name);
    if let Some(namespace) = &record.key.namespace {
        title.push_str(&format!(" in {namespace}"));
    }
    if let Some(context) = &stream.context {
        title.push_str(&format!(" ({context})"));
    }
    title.push_str(&format!(
        " · {} at {} ({} ago)",
        record.event_label(),
        clock(record.at, zone),
        human_duration(now.duration_since(record.at))
    ));
    if let Some(owner) = &record.owner {
        title.push_str(&format!(" · owned by {}", owner.display()));
    }
    let rule = "─".repeat(width.saturating_sub(title.width() + 4));
    let mut lines = vec![Line::styled(
        one_line(&format!("── {title} {rule}"), width),
        Style::new().add_modifier(Modifier::DIM),
    )];

    let mut changed = summarize(&record.field_changes, STRIP_FIELDS, STRIP_VALUE);
    if record.origin == Origin::Relist {
        changed = format!("{changed} (found by relist)").trim_start().to_string();
    }
    if !changed.is_empty() {
        labelled(&mut lines, "changed", &changed, width, Style::new());
    }
    if let Some(event) = view.latest_event(record) {
        let mut text = last_event_short(event, Some(now));
        if !event.message.is_empty() {
            text.push_str(&format!(": {}", event.message));
        }
        if !event.source.is_empty() {
            text.push_str(&format!(" (from {})", event.source));
        }
        let style = if event.warning {
            warning_style(&state.look.options)
        } else {
            Style::new()
        };
        labelled(&mut lines, "event", &text, width, style);
    }
    let who = match &record.fight {
        Some(fight) => fight.display(),
        None => writers::who(&record.changed_by),
    };
    if !who.is_empty() {
        labelled(&mut lines, "by", &who, width, Style::new());
    }
    lines
}

/// `label` and `text` wrapped to `width`, the text's later lines under its first.
fn labelled(lines: &mut Vec<Line<'static>>, label: &str, text: &str, width: usize, style: Style) {
    let text = one_line(text, usize::MAX);
    for (index, part) in wrap(&text, width.saturating_sub(LABEL).max(10)).into_iter().enumerate() {
        let head = if index == 0 {
            format!("{label:<LABEL$}")
        } else {
            " ".repeat(LABEL)
        };
        lines.push(Line::from(vec![
            Span::styled(head, Style::new().add_modifier(Modifier::DIM)),
            Span::styled(part, style),
        ]));
    }
}

/// `text` in lines of at most `width` columns, broken at spaces where it can, inside a word where it must.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = if line.is_empty() {
            word.width()
        } else {
            line.width() + 1 + word.width()
        };
        if needed <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word longer than a line is cut across lines.
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// How tall the strip is in a body `height` lines tall: what it needs, up to a third of the body, and none
/// where the table would be left too little.
pub(super) fn height(needed: usize, body: u16) -> u16 {
    if body < 12 || needed == 0 {
        return 0;
    }
    (needed as u16).min(body / 3).max(2)
}

pub(super) fn draw(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    let shown = area.height as usize;
    let mut lines = lines;
    if lines.len() > shown {
        lines.truncate(shown);
        if let Some(last) = lines.last_mut() {
            last.spans.push(Span::styled(
                " … (enter: details)",
                Style::new().add_modifier(Modifier::DIM),
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_cuts_words_longer_than_a_line() {
        assert_eq!(
            wrap("status.phase Pending→Running", 40),
            vec!["status.phase Pending→Running"]
        );
        assert_eq!(
            wrap("status.phase Pending→Running, status.podIP →10.0.0.7", 30),
            vec!["status.phase Pending→Running,", "status.podIP →10.0.0.7"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), vec![""]);
        for line in wrap(
            "a long message: Back-off restarting failed container web in pod web-1",
            12,
        ) {
            assert!(line.width() <= 12, "{line}");
        }
    }

    #[test]
    fn the_strip_takes_what_it_needs_up_to_a_third_and_none_on_a_short_screen() {
        assert_eq!(height(4, 45), 4);
        assert_eq!(height(40, 45), 15);
        assert_eq!(height(1, 45), 2);
        assert_eq!(height(4, 11), 0);
        assert_eq!(height(0, 45), 0);
    }
}
