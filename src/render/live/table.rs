//! The table: a section per context and kind (or one tree of owners), each with kubectl's columns fitted to
//! the width, one row per object, the selected one reversed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::fitting::{
    GAP, READABLE_WIDTH, WHAT_CHANGED_FLOOR, columns_that_fit, cut, cut_all, fit, owner_floor, select, shorten_owner,
    window,
};
use super::state::LiveState;
use super::{TableLine, entry_line, last_change, warning_style};
use crate::render::columns::{Layout, last_event_short};
use crate::view::screen::{Line, Screen};
use crate::view::{ChangeRecord, OwnerRef, ViewModel};

/// The width of kubectl's columns below which a cell would be cut rather than the column go.
const KUBECTL_CELL: usize = 16;

/// WHO below this no longer names a writer and what it wrote with (`kube-controller-manager (status)`, cut).
const WHO_FLOOR: usize = 24;

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    view: &ViewModel,
    state: &LiveState,
    screen: &Screen,
    selected: Option<usize>,
    now: jiff::Timestamp,
) {
    if screen.entries.is_empty() {
        let waiting = if !view.rows().is_empty() {
            "No change matches the filter."
        } else if view.activity.synced.is_some() {
            "No changes yet."
        } else {
            "Listing what exists…"
        };
        frame.render_widget(Paragraph::new(waiting).style(Style::new().dim()), area);
        return;
    }
    let options = &state.look.options;
    // A section per kind, each with its own columns; the tree is one section for every kind.
    let layouts: Vec<Layout> = if screen.tree {
        vec![Layout::for_live_tree(options)]
    } else {
        view.streams
            .iter()
            .map(|stream| Layout::for_live_section(stream, options))
            .collect()
    };
    // The stream whose columns decide a section's NAME and drop order (any, for the tree's `kind/name`).
    let section_stream = |section: usize| &view.streams[if screen.tree { 0 } else { section }];
    let lines = &screen.lines;
    let selected_line = selected
        .and_then(|selected| {
            lines
                .iter()
                .position(|line| matches!(line, Line::Entry { index, .. } if *index == selected))
        })
        .unwrap_or(lines.len().saturating_sub(1));
    let visible = window(lines.len(), selected_line, area.height as usize);

    let indent = |depth: usize| match depth {
        0 => String::new(),
        depth => format!("{}└ ", "  ".repeat(depth - 1)),
    };
    let cells_of = |section: usize, record: &ChangeRecord, changes: u32, depth: usize| {
        let layout = &layouts[section];
        let mut cells = layout.cells(
            &view.streams,
            record,
            &last_change(record, now, &state.look.time_zone),
            Some((now, changes)),
            view.latest_event(record),
        );
        if depth > 0
            && let Some(name) = cells.get_mut(layout.name_column(section_stream(section)))
        {
            *name = format!("{}{name}", indent(depth));
        }
        cells
    };
    let owner_cells = |section: usize, owner: &OwnerRef, depth: usize| {
        let layout = &layouts[section];
        let mut cells = vec![String::new(); layout.headers().len()];
        let name = layout.name_column(section_stream(section));
        cells[name] = format!("{}{} (not shown)", indent(depth), owner.display());
        cells
    };
    let mut widths: Vec<Vec<usize>> = layouts
        .iter()
        .map(|layout| layout.headers().iter().map(|h| h.width()).collect())
        .collect();
    // Worked out once per frame: the cells size the columns, then fill them.
    let visible_cells: Vec<Option<(usize, Vec<String>)>> = lines[visible.clone()]
        .iter()
        .map(|line| match *line {
            Line::Entry { index, section } => {
                let entry = &screen.entries[index];
                Some((section, cells_of(section, entry.record, entry.changes(), entry.depth)))
            }
            Line::Owner { section, owner, depth } => Some((section, owner_cells(section, owner, depth))),
            Line::Title { .. } | Line::Header { .. } => None,
        })
        .collect();
    // LAST EVENT without its message, where the message does not fit.
    let short_events: Vec<Option<String>> = lines[visible.clone()]
        .iter()
        .map(|line| match *line {
            Line::Entry { index, .. } => view
                .latest_event(screen.entries[index].record)
                .map(|event| last_event_short(event, Some(now))),
            _ => None,
        })
        .collect();
    // OWNER, LAST EVENT and WHO take no room while no row on screen has one.
    let mut filled: Vec<Vec<bool>> = widths.iter().map(|widths| vec![false; widths.len()]).collect();
    for (section, cells) in visible_cells.iter().flatten() {
        for ((width, filled), cell) in widths[*section].iter_mut().zip(&mut filled[*section]).zip(cells) {
            *width = (*width).max(cell.width());
            *filled |= !cell.is_empty();
        }
    }
    // Per section: the width LAST EVENT needs for its reason and age, and OWNER to tell its owners apart.
    let mut event_floor = vec![0usize; layouts.len()];
    let mut owners: Vec<Vec<&str>> = vec![Vec::new(); layouts.len()];
    for (cells, short) in visible_cells.iter().zip(&short_events) {
        let Some((section, cells)) = cells else { continue };
        if let Some(short) = short {
            event_floor[*section] = event_floor[*section].max(short.width());
        }
        if let Some(owner) = layouts[*section].owner_column().and_then(|column| cells.get(column))
            && !owner.is_empty()
        {
            owners[*section].push(owner.as_str());
        }
    }
    let owner_floor: Vec<usize> = owners.iter().map(|owners| owner_floor(owners)).collect();
    // The width below which each column no longer tells what it is for.
    let leasts: Vec<Vec<usize>> = layouts
        .iter()
        .enumerate()
        .zip(&widths)
        .map(|((section, layout), widths)| {
            let name = layout.name_column(section_stream(section));
            widths
                .iter()
                .enumerate()
                .map(|(column, width)| {
                    // EVENT, LAST CHANGE and CHANGES (a time cut short tells nothing) and the name, whole.
                    let least = if column < 3 || column == name {
                        *width
                    } else if Some(column) == layout.who_column() {
                        WHO_FLOOR
                    } else if column == layout.what_changed_column() {
                        WHAT_CHANGED_FLOOR
                    } else if Some(column) == layout.event_column() {
                        event_floor[section]
                    } else if Some(column) == layout.owner_column() {
                        owner_floor[section]
                    } else {
                        // kubectl's columns (and the namespace, context and labels) are cut only past what
                        // most of their cells need (`CrashLoopBackOff`, `10.244.0.12`): they go whole, from the
                        // right, once the counters, times, owner, Event and WHO have given way.
                        KUBECTL_CELL
                    };
                    least.min(*width)
                })
                .collect()
        })
        .collect();
    // A terminal too narrow for every column gives up the least useful ones rather than squeeze them all.
    let kept: Vec<Vec<usize>> = layouts
        .iter()
        .enumerate()
        .map(|(section, layout)| {
            let stream = section_stream(section);
            let empty: Vec<usize> = [layout.owner_column(), layout.event_column(), layout.who_column()]
                .into_iter()
                .flatten()
                .filter(|column| {
                    !filled[section].get(*column).copied().unwrap_or(false)
                        || (screen.tree && Some(*column) == layout.owner_column())
                })
                .collect();
            let least = &leasts[section];
            // WHAT CHANGED is never given up for others; only where not even a few of its characters fit.
            let what_changed = layout.what_changed_column();
            let drop_order: Vec<usize> = empty
                .iter()
                .copied()
                .chain(layout.drop_order(stream))
                .filter(|column| *column != what_changed)
                .collect();
            let mut kept = columns_that_fit(least, area.width as usize, &drop_order);
            kept.retain(|column| !empty.contains(column));
            let others: usize = kept
                .iter()
                .filter(|column| **column != what_changed)
                .map(|column| least[*column] + GAP as usize)
                .sum();
            if (area.width as usize).saturating_sub(others) < READABLE_WIDTH {
                kept.retain(|column| *column != what_changed);
            }
            kept
        })
        .collect();
    for (section, layout) in layouts.iter().enumerate() {
        widths[section] = select(&widths[section], &kept[section]);
        let position = |column: usize| kept[section].iter().position(|index| *index == column);
        let what_changed = position(layout.what_changed_column()).unwrap_or(usize::MAX);
        let last_event = layout.event_column().and_then(position).unwrap_or(usize::MAX);
        let owner = layout.owner_column().and_then(position).unwrap_or(usize::MAX);
        let name = position(layout.name_column(section_stream(section))).unwrap_or(usize::MAX);
        let squeeze = [
            (last_event, event_floor[section]),
            (owner, owner_floor[section]),
            (what_changed, WHAT_CHANGED_FLOOR),
        ];
        let least = select(&leasts[section], &kept[section]);
        fit(&mut widths[section], area.width as usize, &squeeze, &least, name);
    }
    // How each kept column's cells are cut to its width: an owner keeps its kind and the end of its name, a
    // LAST EVENT too narrow for its message says its reason and age.
    let fitted = |section: usize, line: usize, cells: Vec<String>| -> Vec<String> {
        let layout = &layouts[section];
        let cells = select(&cells, &kept[section]);
        cells
            .into_iter()
            .zip(&kept[section])
            .zip(&widths[section])
            .map(|((cell, column), width)| {
                if Some(*column) == layout.owner_column() {
                    shorten_owner(&cell, *width)
                } else if Some(*column) == layout.event_column()
                    && cell.width() > *width
                    && let Some(short) = &short_events[line]
                {
                    cut(short, *width)
                } else {
                    cut(&cell, *width)
                }
            })
            .collect()
    };

    // Each section is laid out with its own widths; a title spans the whole line.
    let whole_line = [area.width as usize];
    let buffer = frame.buffer_mut();
    for (offset, (line, cells)) in lines[visible].iter().zip(visible_cells).enumerate() {
        let (drawn, section) = match *line {
            Line::Title { stream } => {
                let stream = &view.streams[stream];
                let context = stream
                    .context
                    .as_deref()
                    .map(|context| format!("{context}: "))
                    .unwrap_or_default();
                let title = format!("{context}{} ({})", stream.label.name, stream.label.api_version);
                (TableLine::new(vec![title], Style::new().bold().underlined()), None)
            }
            Line::Header { section } => {
                let headers = select(&layouts[section].headers(), &kept[section]);
                let cells = cut_all(&headers, &widths[section]);
                (TableLine::new(cells, Style::new().bold()), Some(section))
            }
            Line::Owner { section, .. } => {
                let cells = fitted(section, offset, cells.map(|(_, cells)| cells).unwrap_or_default());
                (TableLine::new(cells, Style::new().dim()), Some(section))
            }
            Line::Entry { index, section } => {
                let record = screen.entries[index].record;
                let cells = fitted(section, offset, cells.map(|(_, cells)| cells).unwrap_or_default());
                let mut drawn = entry_line(cells, record, selected == Some(index), now, options);
                if view.latest_event(record).is_some_and(|event| event.warning) {
                    drawn.warning_cell = layouts[section]
                        .event_column()
                        .and_then(|column| kept[section].iter().position(|index| *index == column))
                        .map(|cell| (cell, warning_style(options)));
                }
                (drawn, Some(section))
            }
        };
        let line_area = Rect {
            y: area.y + offset as u16,
            height: 1,
            ..area
        };
        let widths = section.map_or(&whole_line[..], |section| widths[section].as_slice());
        drawn.render(buffer, line_area, widths);
    }
}
