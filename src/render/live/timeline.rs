//! The timeline: one row per change, newest last, with where and what it changed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::fitting::{READABLE_WIDTH, WHAT_CHANGED_FLOOR, cut_all, fit, window};
use super::state::LiveState;
use super::{TableLine, clock, entry_line};
use crate::render::columns::what_changed;
use crate::view::screen::Screen;
use crate::view::{ChangeRecord, ViewModel};

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    view: &ViewModel,
    state: &LiveState,
    screen: &Screen,
    selected: Option<usize>,
    now: jiff::Timestamp,
) {
    let Some(selected) = selected else {
        let empty = if view.timeline().is_empty() {
            "No changes yet."
        } else {
            "No change matches the filter."
        };
        frame.render_widget(Paragraph::new(empty).style(Style::new().dim()), area);
        return;
    };
    let options = &state.look.options;
    let several = view.streams.len() > 1;
    let mut headers = vec!["TIME".to_string(), "EVENT".to_string()];
    if options.contexts {
        headers.push("CONTEXT".into());
    }
    if several {
        headers.push("KIND".into());
    }
    if options.all_namespaces {
        headers.push("NAMESPACE".into());
    }
    headers.extend(["NAME".to_string(), "WHAT CHANGED".to_string()]);
    let what_changed_column = headers.len() - 1;
    let visible = window(screen.entries.len(), selected, area.height.saturating_sub(1) as usize);
    let cells_of = |record: &ChangeRecord| {
        let mut cells = vec![clock(record.at, &state.look.time_zone), record.event_label()];
        if options.contexts {
            cells.push(view.streams[record.stream].context.clone().unwrap_or_default());
        }
        if several {
            cells.push(view.streams[record.stream].label.kind.clone());
        }
        if options.all_namespaces {
            cells.push(record.key.namespace.clone().unwrap_or_default());
        }
        cells.extend([record.key.name.clone(), what_changed(record)]);
        cells
    };
    let shown: Vec<(usize, Vec<String>)> = visible
        .map(|index| (index, cells_of(screen.entries[index].record)))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for (_, cells) in &shown {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.width());
        }
    }
    let least: Vec<usize> = widths
        .iter()
        .enumerate()
        .map(|(column, width)| match column {
            column if column == what_changed_column => (*width).min(WHAT_CHANGED_FLOOR),
            _ => (*width).min(READABLE_WIDTH),
        })
        .collect();
    fit(&mut widths, area.width as usize, &[], &least, what_changed_column - 1);
    let header = TableLine::new(cut_all(&headers, &widths), Style::new().bold());
    let entries = shown.iter().map(|(index, cells)| {
        entry_line(
            cut_all(cells, &widths),
            screen.entries[*index].record,
            *index == selected,
            now,
            options,
        )
    });
    let buffer = frame.buffer_mut();
    for (offset, line) in std::iter::once(header)
        .chain(entries)
        .enumerate()
        .take(area.height as usize)
    {
        let line_area = Rect {
            y: area.y + offset as u16,
            height: 1,
            ..area
        };
        line.render(buffer, line_area, &widths);
    }
}
