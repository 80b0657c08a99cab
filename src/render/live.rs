//! The live view, drawn with ratatui from the view model: a status line, the table (one section per type, one
//! row per object that changed) or the timeline (one row per change), a line of key hints, and the details of
//! a change on request. A pure function of the state, the current time and the frame's size.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::columns::{Layout, TableOptions, human_duration, what_changed};
use crate::engine::tracker::{ChangeType, ObjectKey};
use crate::view::details::object_yaml;
use crate::view::owners::{self, TreeLine};
use crate::view::query::Query;
use crate::view::summary::{describe_in_full, one_line, summarize};
use crate::view::{ChangeRecord, OwnerRef, Row, ViewModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One row per object, in the order objects first changed.
    Table,
    /// One row per change, newest last.
    Timeline,
}

/// What the person at the terminal has chosen, apart from the data.
#[derive(Debug, Clone)]
pub struct Ui {
    pub mode: Mode,
    /// The selected entry (row or change) in the current mode.
    pub selected: usize,
    /// Keep the selection on the newest entry as entries arrive (timeline) or stay (table).
    pub follow: bool,
    /// Paused: the screen stands still; this many changes wait to be shown.
    pub paused: Option<usize>,
    /// The details of the selected change are open.
    pub details: bool,
    pub options: TableOptions,
    /// Where and what is watched, for the status line: `context watchnew-admin · pods in team-a`.
    pub header: String,
    pub time_zone: TimeZone,
    /// The filter: only entries that match it are shown (empty: all).
    pub filter: String,
    /// The filter is being typed (after `/`).
    pub filtering: bool,
    /// The table groups rows under their owners.
    pub tree: bool,
    /// How far the details are scrolled down, in lines.
    pub scroll: u16,
    /// A replay: where it stands (`REPLAY 12:05:20 ▶ 2× · 40/120 changes`), first on the second line.
    pub replay: Option<String>,
    /// A time to jump to is being typed (after `g`, in a replay).
    pub jump: Option<String>,
}

/// How long a changed row stays highlighted.
const HIGHLIGHT_SECONDS: i64 = 3;
/// Space between columns.
const GAP: u16 = 2;

/// The number of entries the current mode shows: rows (table) or changes (timeline) that pass the filter.
pub fn entry_count(view: &ViewModel, ui: &Ui) -> usize {
    let query = Query::new(&ui.filter);
    match (ui.mode, query.is_empty()) {
        (Mode::Table, _) => ordered_rows(view, ui, &query).len(),
        (Mode::Timeline, true) => view.timeline().len(),
        (Mode::Timeline, false) => shown_timeline(view, &query).len(),
    }
}

/// The change the selection points at.
pub fn selected_record<'a>(view: &'a ViewModel, ui: &Ui) -> Option<&'a ChangeRecord> {
    let query = Query::new(&ui.filter);
    match ui.mode {
        Mode::Table => ordered_rows(view, ui, &query)
            .get(ui.selected)
            .map(|row| row.latest.as_ref()),
        Mode::Timeline => shown_timeline(view, &query).get(ui.selected).copied(),
    }
}

fn matches(view: &ViewModel, query: &Query, record: &ChangeRecord) -> bool {
    // Asked for every row on every turn under churn: without a filter, nothing is looked up.
    query.is_empty() || query.matches(record, &view.streams[record.stream], view.latest_event(record))
}

/// Rows that pass the filter: grouped by type (in the order the types were given), each group in the order its
/// objects first changed; or, as a tree, under their owners.
fn ordered_rows<'a>(view: &'a ViewModel, ui: &Ui, query: &Query) -> Vec<&'a Row> {
    let mut rows = filtered_rows(view, query);
    if ui.tree {
        return owners_tree(view, &rows)
            .into_iter()
            .filter_map(|line| match line {
                TreeLine::Object { row, .. } => Some(row),
                TreeLine::Owner { .. } => None,
            })
            .collect();
    }
    rows.sort_by_key(|row| row.latest.stream);
    rows
}

/// Rows that pass the filter, in the order their objects first changed.
fn filtered_rows<'a>(view: &'a ViewModel, query: &Query) -> Vec<&'a Row> {
    view.rows()
        .iter()
        .filter(|row| matches(view, query, &row.latest))
        .collect()
}

fn owners_tree<'a>(view: &'a ViewModel, rows: &[&'a Row]) -> Vec<TreeLine<'a>> {
    owners::tree(rows, |row| view.streams[row.latest.stream].label.kind.as_str())
}

/// The changes of the timeline that pass the filter, oldest first.
fn shown_timeline<'a>(view: &'a ViewModel, query: &Query) -> Vec<&'a ChangeRecord> {
    view.timeline()
        .iter()
        .map(|record| record.as_ref())
        .filter(|record| matches(view, query, record))
        .collect()
}

/// Where the row of an object is in the table as it is now shown.
pub fn position_of(view: &ViewModel, ui: &Ui, stream: usize, key: &ObjectKey) -> Option<usize> {
    ordered_rows(view, ui, &Query::new(&ui.filter))
        .iter()
        .position(|row| row.latest.stream == stream && &row.latest.key == key)
}

/// The row the selection is on (in the timeline: the row of the selected change's object).
pub fn selected_row<'a>(view: &'a ViewModel, ui: &Ui) -> Option<&'a Row> {
    match ui.mode {
        Mode::Table => ordered_rows(view, ui, &Query::new(&ui.filter))
            .get(ui.selected)
            .copied(),
        Mode::Timeline => selected_record(view, ui).and_then(|record| view.row_of(record.stream, &record.key)),
    }
}

pub fn draw(frame: &mut Frame, view: &ViewModel, ui: &Ui, now: Timestamp) {
    let [status, body, hints] =
        Split::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
    frame.render_widget(Paragraph::new(status_lines(view, ui, now)), status);
    match ui.mode {
        Mode::Table => draw_table(frame, body, view, ui, now),
        Mode::Timeline => draw_timeline(frame, body, view, ui, now),
    }
    let keys = if ui.jump.is_some() {
        "type a time (12:05:20, 12:05) or a step from here (+30s, -2m) · enter jumps · esc cancels"
    } else if ui.filtering {
        "type to filter by type, namespace, name, owner, what changed or Event · enter keeps it · esc clears it"
    } else if ui.replay.is_some() {
        "q quit · space play/pause · . , step · g jump · + - speed · t timeline/table · o owners · / filter · enter details"
    } else {
        "q quit · space pause · c clear · t timeline/table · o owners · / filter · ↑↓ PgUp PgDn move · enter details"
    };
    frame.render_widget(
        Paragraph::new(one_line(keys, hints.width as usize)).style(Style::new().dim()),
        hints,
    );
    if ui.details {
        draw_details(frame, body, view, ui);
    }
}

fn status_lines(view: &ViewModel, ui: &Ui, now: Timestamp) -> Vec<Line<'static>> {
    let activity = &view.activity;
    let mut first = ui.header.clone();
    match activity.synced {
        Some((at, took)) => {
            let hidden: usize = view.streams.iter().map(|stream| stream.existing).sum();
            first.push_str(&format!(
                " · {hidden} existing hidden · watching since {} (synced in {:.2}s)",
                clock(at, &ui.time_zone),
                took.as_secs_f64()
            ));
        }
        None => first.push_str(" · listing what exists (hidden)…"),
    }
    let mut second = vec![Span::raw(format!(
        "{} changes ({:.1}/s) · reconnects {} · relists {}",
        activity.changes,
        activity.rate(now),
        activity.reconnects,
        activity.relists
    ))];
    if ui.filtering || !ui.filter.is_empty() {
        let all = match ui.mode {
            Mode::Table => view.rows().len(),
            Mode::Timeline => view.timeline().len(),
        };
        let cursor = if ui.filtering { "▏" } else { "" };
        second.insert(
            0,
            Span::styled(
                format!("/{}{cursor} ({} hidden) ", ui.filter, all - entry_count(view, ui)),
                Style::new().reversed(),
            ),
        );
    }
    if let Some((at, notice)) = &activity.notice {
        second.push(Span::raw(format!(" · {} {notice}", clock(*at, &ui.time_zone))));
    }
    if let Some(waiting) = ui.paused {
        second.insert(
            0,
            Span::styled(format!("PAUSED ({waiting} waiting) "), Style::new().reversed().bold()),
        );
    }
    if let Some(replay) = &ui.replay {
        second.insert(0, Span::styled(format!("{replay} "), Style::new().reversed().bold()));
    }
    if let Some(typed) = &ui.jump {
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

/// One line of a table section: a title, a header, an owner without a row, or an entry.
enum Item<'a> {
    Title(String),
    Header(usize),
    Owner {
        section: usize,
        owner: &'a OwnerRef,
        depth: usize,
    },
    Entry {
        index: usize,
        section: usize,
        record: &'a ChangeRecord,
        changes: u32,
        depth: usize,
    },
}

fn draw_table(frame: &mut Frame, area: Rect, view: &ViewModel, ui: &Ui, now: Timestamp) {
    let query = Query::new(&ui.filter);
    let mut rows = filtered_rows(view, &query);
    if rows.is_empty() {
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
    let mut items: Vec<Item> = Vec::new();
    // A section per type, each with its own columns; the tree is one section for every type.
    let layouts: Vec<Layout> = if ui.tree {
        items.push(Item::Header(0));
        let mut index = 0;
        for line in owners_tree(view, &rows) {
            match line {
                TreeLine::Owner { owner, depth } => items.push(Item::Owner {
                    section: 0,
                    owner,
                    depth,
                }),
                TreeLine::Object { row, depth } => {
                    items.push(Item::Entry {
                        index,
                        section: 0,
                        record: &row.latest,
                        changes: row.changes,
                        depth,
                    });
                    index += 1;
                }
            }
        }
        vec![Layout::for_live_tree(&ui.options)]
    } else {
        // Grouped by context, then by kind.
        rows.sort_by_key(|row| (view.streams[row.latest.stream].context.as_deref(), row.latest.stream));
        let several = view.streams.len() > 1;
        let mut current = None;
        for (index, row) in rows.iter().enumerate() {
            let section = row.latest.stream;
            if current != Some(section) {
                current = Some(section);
                let stream = &view.streams[section];
                if several {
                    let context = stream
                        .context
                        .as_deref()
                        .map(|context| format!("{context}: "))
                        .unwrap_or_default();
                    items.push(Item::Title(format!(
                        "{context}{} ({})",
                        stream.label.name, stream.label.api_version
                    )));
                }
                items.push(Item::Header(section));
            }
            items.push(Item::Entry {
                index,
                section,
                record: &row.latest,
                changes: row.changes,
                depth: 0,
            });
        }
        view.streams
            .iter()
            .map(|stream| Layout::for_live_section(stream, &ui.options))
            .collect()
    };
    // The stream whose columns decide a section's NAME and drop order (any, for the tree's `kind/name`).
    let section_stream = |section: usize| &view.streams[if ui.tree { 0 } else { section }];
    let visible = window(&items, ui.selected, area.height as usize);

    // Column widths per section, from what is on screen.
    let cells_of = |section: usize, record: &ChangeRecord, changes: u32, depth: usize| {
        let layout = &layouts[section];
        let mut cells = layout.cells(
            &view.streams,
            record,
            &last_change(record, now, &ui.time_zone),
            Some((now, changes)),
            view.latest_event(record),
        );
        if depth > 0
            && let Some(name) = cells.get_mut(layout.name_column(section_stream(section)))
        {
            *name = format!("{}└ {name}", "  ".repeat(depth - 1));
        }
        cells
    };
    let owner_cells = |section: usize, owner: &OwnerRef, depth: usize| {
        let layout = &layouts[section];
        let mut cells = vec![String::new(); layout.headers().len()];
        let name = layout.name_column(section_stream(section));
        let indent = if depth > 0 {
            format!("{}└ ", "  ".repeat(depth - 1))
        } else {
            String::new()
        };
        cells[name] = format!("{indent}{} (not shown)", owner.display());
        cells
    };
    let mut widths: Vec<Vec<usize>> = layouts
        .iter()
        .map(|layout| layout.headers().iter().map(|h| h.width()).collect())
        .collect();
    // Worked out once per frame: the cells size the columns, then fill them.
    let visible_cells: Vec<Option<Vec<String>>> = items[visible.clone()]
        .iter()
        .map(|item| match item {
            Item::Entry {
                section,
                record,
                changes,
                depth,
                ..
            } => Some(cells_of(*section, record, *changes, *depth)),
            Item::Owner { section, owner, depth } => Some(owner_cells(*section, owner, *depth)),
            _ => None,
        })
        .collect();
    for (item, cells) in items[visible.clone()].iter().zip(&visible_cells) {
        if let (Item::Entry { section, .. } | Item::Owner { section, .. }, Some(cells)) = (item, cells) {
            for (width, cell) in widths[*section].iter_mut().zip(cells) {
                *width = (*width).max(cell.width());
            }
        }
    }
    // OWNER and LAST EVENT take no room while no row on screen has one.
    let mut filled: Vec<Vec<bool>> = widths.iter().map(|widths| vec![false; widths.len()]).collect();
    for (item, cells) in items[visible.clone()].iter().zip(&visible_cells) {
        if let (Item::Entry { section, .. } | Item::Owner { section, .. }, Some(cells)) = (item, cells) {
            for (filled, cell) in filled[*section].iter_mut().zip(cells) {
                *filled |= !cell.is_empty();
            }
        }
    }
    // A terminal too narrow for every column gives up the least useful ones rather than squeeze them all.
    let kept: Vec<Vec<usize>> = layouts
        .iter()
        .enumerate()
        .zip(&widths)
        .map(|((section, layout), widths)| {
            let stream = section_stream(section);
            let name = layout.name_column(stream);
            let empty: Vec<usize> = [layout.owner_column(), layout.event_column()]
                .into_iter()
                .flatten()
                .filter(|column| {
                    !filled[section].get(*column).copied().unwrap_or(false)
                        || (ui.tree && Some(*column) == layout.owner_column())
                })
                .collect();
            let drop_order: Vec<usize> = empty.iter().copied().chain(layout.drop_order(stream)).collect();
            let mut kept = columns_that_fit(widths, area.width as usize, &drop_order, name);
            kept.retain(|column| !empty.contains(column));
            kept
        })
        .collect();
    for (section, layout) in layouts.iter().enumerate() {
        widths[section] = select(&widths[section], &kept[section]);
        let position = |column: usize| kept[section].iter().position(|index| *index == column);
        let what_changed = position(layout.what_changed_column()).unwrap_or(usize::MAX);
        let last_event = layout.event_column().and_then(position).unwrap_or(usize::MAX);
        let name = position(layout.name_column(section_stream(section))).unwrap_or(usize::MAX);
        let squeeze = [(last_event, LAST_EVENT_FLOOR), (what_changed, WHAT_CHANGED_FLOOR)];
        fit(&mut widths[section], area.width as usize, &squeeze, name);
    }

    let mut lines: Vec<TableLine> = Vec::new();
    let mut line_section: Vec<usize> = Vec::new();
    for (item, cells) in items[visible].iter().zip(visible_cells) {
        let (line, section) = match item {
            Item::Title(title) => (
                TableLine::new(vec![title.clone()], Style::new().bold().underlined()),
                usize::MAX,
            ),
            Item::Header(section) => {
                let headers = select(&layouts[*section].headers(), &kept[*section]);
                let cells = cut_all(&headers, &widths[*section]);
                (TableLine::new(cells, Style::new().bold()), *section)
            }
            Item::Owner { section, .. } => {
                let cells = select(&cells.unwrap_or_default(), &kept[*section]);
                let cells = cut_all(&cells, &widths[*section]);
                (TableLine::new(cells, Style::new().dim()), *section)
            }
            Item::Entry {
                index, section, record, ..
            } => {
                let cells = select(&cells.unwrap_or_default(), &kept[*section]);
                let cells = cut_all(&cells, &widths[*section]);
                let mut line = entry_line(cells, record, *index == ui.selected, now, &ui.options);
                if view.latest_event(record).is_some_and(|event| event.warning) {
                    line.warning_cell = layouts[*section]
                        .event_column()
                        .and_then(|column| kept[*section].iter().position(|index| *index == column))
                        .map(|cell| (cell, warning_style(&ui.options)));
                }
                (line, *section)
            }
        };
        lines.push(line);
        line_section.push(section);
    }
    // Each section is laid out with its own widths; a title spans the whole line.
    let whole_line = [area.width as usize];
    let buffer = frame.buffer_mut();
    for (offset, (line, section)) in lines.iter().zip(line_section).enumerate() {
        let line_area = Rect {
            y: area.y + offset as u16,
            height: 1,
            ..area
        };
        let widths = widths.get(section).map_or(&whole_line[..], Vec::as_slice);
        line.render(buffer, line_area, widths);
    }
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
        buffer.set_style(area, self.style);
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
            buffer.set_stringn(x, area.y, cell, width, style);
            x = x.saturating_add(width as u16).saturating_add(GAP);
        }
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
        line.first_cell = Style::new().fg(event_color(record.event));
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

fn draw_timeline(frame: &mut Frame, area: Rect, view: &ViewModel, ui: &Ui, now: Timestamp) {
    let query = Query::new(&ui.filter);
    let count = entry_count(view, ui);
    if count == 0 {
        let empty = if view.timeline().is_empty() {
            "No changes yet."
        } else {
            "No change matches the filter."
        };
        frame.render_widget(Paragraph::new(empty).style(Style::new().dim()), area);
        return;
    }
    let several = view.streams.len() > 1;
    let mut headers = vec!["TIME".to_string(), "EVENT".to_string()];
    if ui.options.contexts {
        headers.push("CONTEXT".into());
    }
    if several {
        headers.push("KIND".into());
    }
    if ui.options.all_namespaces {
        headers.push("NAMESPACE".into());
    }
    headers.extend(["NAME".to_string(), "WHAT CHANGED".to_string()]);
    let what_changed_column = headers.len() - 1;
    let visible = window_of(count, ui.selected, area.height.saturating_sub(1) as usize);
    // Without a filter only the visible changes are gathered: the timeline holds up to 10,000.
    let shown: Vec<&ChangeRecord> = if query.is_empty() {
        view.timeline()
            .range(visible.clone())
            .map(|record| record.as_ref())
            .collect()
    } else {
        shown_timeline(view, &query)[visible.clone()].to_vec()
    };
    let cells_of = |record: &ChangeRecord| {
        let mut cells = vec![clock(record.at, &ui.time_zone), record.event.as_str().to_string()];
        if ui.options.contexts {
            cells.push(view.streams[record.stream].context.clone().unwrap_or_default());
        }
        if several {
            cells.push(view.streams[record.stream].label.kind.clone());
        }
        if ui.options.all_namespaces {
            cells.push(record.key.namespace.clone().unwrap_or_default());
        }
        cells.extend([record.key.name.clone(), what_changed(record)]);
        cells
    };
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for record in &shown {
        for (width, cell) in widths.iter_mut().zip(cells_of(record)) {
            *width = (*width).max(cell.width());
        }
    }
    fit(
        &mut widths,
        area.width as usize,
        &[(what_changed_column, WHAT_CHANGED_FLOOR)],
        what_changed_column - 1,
    );
    let header = TableLine::new(cut_all(&headers, &widths), Style::new().bold());
    let entries = shown.iter().zip(visible).map(|(record, index)| {
        entry_line(
            cut_all(&cells_of(record), &widths),
            record,
            index == ui.selected,
            now,
            &ui.options,
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

fn draw_details(frame: &mut Frame, area: Rect, view: &ViewModel, ui: &Ui) {
    let Some((title, lines)) = details(view, ui) else {
        return;
    };
    let popup = centered(area, 90, 80);
    let scroll = ui.scroll.min(lines.len().saturating_sub(1) as u16);
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

/// How many lines the details of the selected entry have (before wrapping): how far they can scroll.
pub fn details_length(view: &ViewModel, ui: &Ui) -> usize {
    details(view, ui).map_or(0, |(_, lines)| lines.len())
}

/// The title and the lines of the details of the selected entry.
fn details<'a>(view: &'a ViewModel, ui: &Ui) -> Option<(String, Vec<Line<'a>>)> {
    let record = selected_record(view, ui)?;
    let stream = &view.streams[record.stream];
    let row = view.row_of(record.stream, &record.key);
    let title = format!(
        " {}/{} · {} at {} ",
        stream.label.object_prefix,
        record.key.name,
        record.event.as_str(),
        clock(record.at, &ui.time_zone)
    );
    let heading = |text: String| Line::styled(text, Style::new().bold());
    let mut about = Vec::new();
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
            let when = note.last_seen.map(|at| clock(at, &ui.time_zone)).unwrap_or_default();
            let kind = if note.warning { "Warning" } else { "Normal " };
            let source = if note.source.is_empty() {
                String::new()
            } else {
                format!("{}: ", note.source)
            };
            let text = format!("{when}  {kind}  {}  {source}{}", note.reason_counted(), note.message);
            if note.warning {
                Line::styled(text, warning_style(&ui.options))
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
            let relist = if entry.origin == crate::engine::tracker::Origin::Relist {
                " (found by relist)"
            } else {
                ""
            };
            Line::raw(format!(
                "{}  {:<8}  {fields}{relist}",
                clock(entry.at, &ui.time_zone),
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

/// The items to show so that the selected entry is on screen, with as many entries above it as fit.
fn window(items: &[Item], selected: usize, height: usize) -> std::ops::Range<usize> {
    let position = items
        .iter()
        .position(|item| matches!(item, Item::Entry { index, .. } if *index == selected))
        .unwrap_or(items.len().saturating_sub(1));
    let start = (position + 1).saturating_sub(height.max(1));
    start..items.len().min(start + height)
}

fn window_of(len: usize, selected: usize, height: usize) -> std::ops::Range<usize> {
    let selected = selected.min(len.saturating_sub(1));
    let start = (selected + 1).saturating_sub(height.max(1));
    start..len.min(start + height)
}

/// WHAT CHANGED gives way first, down to this, to the other columns; LAST EVENT before it, down to its reason
/// and how long ago (`⚠ BackOff ×12 (5s)…`), since what changed is what the tool is for.
const WHAT_CHANGED_FLOOR: usize = 12;
const LAST_EVENT_FLOOR: usize = 24;

/// Below this, a cell cut short no longer says what it is ("Runni…"); a column that cannot have it goes.
const READABLE_WIDTH: usize = 6;

/// The columns kept: all of them, unless each cannot have a readable width (EVENT and the NAME at `name` whole,
/// the others `READABLE_WIDTH`); then columns go in `drop_order` until the rest can.
fn columns_that_fit(widths: &[usize], available: usize, drop_order: &[usize], name: usize) -> Vec<usize> {
    let readable = |kept: &[usize]| {
        let cells: usize = kept
            .iter()
            .map(|index| match *index {
                0 => widths[0].min("MODIFIED".len()),
                index if index == name => widths[index],
                index => widths[index].min(READABLE_WIDTH),
            })
            .sum();
        cells + kept.len().saturating_sub(1) * GAP as usize
    };
    let mut kept: Vec<usize> = (0..widths.len()).collect();
    for column in drop_order {
        if readable(&kept) <= available {
            break;
        }
        kept.retain(|index| index != column);
    }
    kept
}

fn select<T: Clone>(items: &[T], kept: &[usize]) -> Vec<T> {
    kept.iter().filter_map(|index| items.get(*index).cloned()).collect()
}

/// Narrows columns until the table fits `available` cells: the `squeeze` columns first, in order, each down to
/// its floor (LAST EVENT to its reason and age, then WHAT CHANGED to 12), then always the widest other column,
/// keeping EVENT whole and no column below 3. The NAME at `name` is narrowed last, only when the others cannot
/// make room for it.
fn fit(widths: &mut [usize], available: usize, squeeze: &[(usize, usize)], name: usize) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + widths.len().saturating_sub(1) * GAP as usize;
    let whole_name = widths.get(name).copied().unwrap_or(0);
    let mut name_floor = whole_name;
    loop {
        let floor = |index: usize| match index {
            0 => "MODIFIED".len(),
            index if index == name => name_floor,
            _ => 3,
        };
        shrink(widths, available, squeeze, floor, total);
        if total(widths) <= available || name_floor <= 3 || name >= widths.len() {
            break;
        }
        name_floor = 3;
    }
}

fn shrink(
    widths: &mut [usize],
    available: usize,
    squeeze: &[(usize, usize)],
    floor: impl Fn(usize) -> usize,
    total: impl Fn(&[usize]) -> usize,
) {
    while total(widths) > available {
        let shrinkable = squeeze
            .iter()
            .find(|(column, least)| widths.get(*column).is_some_and(|width| width > least))
            .map(|(column, _)| *column)
            .or_else(|| {
                widths
                    .iter()
                    .enumerate()
                    .filter(|(i, w)| **w > floor(*i))
                    .max_by_key(|(_, w)| **w)
                    .map(|(i, _)| i)
            });
        match shrinkable {
            Some(index) => widths[index] -= 1,
            None => break,
        }
    }
}

fn cut_all(cells: &[String], widths: &[usize]) -> Vec<String> {
    cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| cut(cell, *width))
        .collect()
}

/// Text cut to `width` columns, ending in "…" when cut.
fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let char_width = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + char_width + 1 > width {
            break;
        }
        used += char_width;
        cut.push(c);
    }
    if width > 0 {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use serde_json::json;

    use super::*;

    fn synced(view: &mut ViewModel) {
        let synced = crate::view::feed::Synced {
            context: None,
            took: std::time::Duration::from_millis(120),
            streams: Vec::new(),
            line: String::new(),
        };
        view.synced(at(-50), &synced);
    }
    use crate::engine::tracker::{Change, ObjectKey, Origin};
    use crate::engine::wire::{Column, Packed, Payload};
    use crate::view::{StreamInfo, StreamLabel};

    fn stream(kind: &str, plural: &str, columns: &[&str]) -> StreamInfo {
        let mut info = StreamInfo::new(StreamLabel {
            kind: kind.into(),
            api_version: "v1".into(),
            name: plural.into(),
            object_prefix: kind.to_lowercase(),
            secret: false,
        });
        info.columns = columns
            .iter()
            .map(|name| Column {
                name: name.to_string(),
                column_type: "string".into(),
                format: if *name == "Name" { "name".into() } else { String::new() },
                priority: 0,
            })
            .collect();
        info.existing = 7;
        info
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + second).expect("valid")
    }

    /// A change as a Table watch brings it, with the version before for a modification.
    fn change(stream: &StreamInfo, event: ChangeType, name: &str, cells: &[&str], phase: &str) -> ChangeRecord {
        let object = |phase: &str| {
            format!(
                r#"{{"metadata":{{"name":"{name}","creationTimestamp":"2026-11-18T10:40:00Z"}},"status":{{"phase":"{phase}"}}}}"#
            )
        };
        let change = Change {
            change_type: event,
            key: ObjectKey {
                namespace: Some("shop".into()),
                name: name.into(),
            },
            uid: format!("uid-{name}"),
            resource_version: "9".into(),
            origin: Origin::Watch,
            payload: Some(Payload {
                raw: object(phase).into(),
                cells: Some(cells.iter().map(|cell| json!(cell)).collect()),
                summarised: true,
            }),
            previous: (event == ChangeType::Modified).then(|| Some(Packed::pack(&object("Pending")))),
        };
        ChangeRecord::new(0, &stream.label, &change, at(0))
    }

    /// A change of an object with a controlling owner, kept whole for its details as the live view keeps it.
    fn owned_change(stream: &StreamInfo, event: ChangeType, name: &str, owner: (&str, &str)) -> ChangeRecord {
        let (owner_kind, owner_name) = owner;
        let raw = format!(
            r#"{{"metadata":{{"name":"{name}","uid":"uid-{name}","managedFields":[{{"manager":"kube-controller-manager"}}],
            "ownerReferences":[{{"apiVersion":"apps/v1","kind":"{owner_kind}","name":"{owner_name}","uid":"uid-{owner_name}","controller":true}}]}},
            "spec":{{"replicas":3}}}}"#
        );
        let change = Change {
            change_type: event,
            key: ObjectKey {
                namespace: Some("shop".into()),
                name: name.into(),
            },
            uid: format!("uid-{name}"),
            resource_version: "9".into(),
            origin: Origin::Watch,
            payload: Some(Payload {
                raw: raw.as_str().into(),
                cells: Some(vec![json!(name)]),
                summarised: true,
            }),
            previous: None,
        };
        let mut record = ChangeRecord::new(0, &stream.label, &change, at(0));
        record.object = Some(Packed::pack(&raw));
        record
    }

    fn event(
        about: &str,
        reason: &str,
        warning: bool,
        message: &str,
        second: i64,
    ) -> crate::view::events::ObservedEvent {
        let kind = if warning { "Warning" } else { "Normal" };
        let json = format!(
            r#"{{"metadata":{{"uid":"{about}-{reason}"}},"regarding":{{"kind":"Pod","namespace":"shop","name":"{about}","uid":"uid-{about}"}},
            "reason":"{reason}","note":"{message}","type":"{kind}","reportingController":"kubelet","eventTime":"{}"}}"#,
            at(second)
        );
        crate::view::events::ObservedEvent::from_json(&json).expect("an event")
    }

    fn ui() -> Ui {
        Ui {
            mode: Mode::Table,
            selected: 0,
            follow: false,
            paused: None,
            details: false,
            options: TableOptions::default(),
            header: "context test · pods in namespace shop".into(),
            time_zone: TimeZone::UTC,
            filter: String::new(),
            filtering: false,
            tree: false,
            scroll: 0,
            replay: None,
            jump: None,
        }
    }

    fn pods_view() -> ViewModel {
        let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Age"]);
        let mut view = ViewModel::new(vec![pods.clone()], at(-60));
        synced(&mut view);
        view.record(change(
            &pods,
            ChangeType::Added,
            "web-1",
            &["web-1", "0/1", "Pending", "0s"],
            "Pending",
        ));
        view.record(change(
            &pods,
            ChangeType::Modified,
            "web-1",
            &["web-1", "1/1", "Running", "5s"],
            "Running",
        ));
        view.record(change(
            &pods,
            ChangeType::Deleted,
            "db-0",
            &["db-0", "1/1", "Terminating", "3d"],
            "Running",
        ));
        view
    }

    fn render(view: &ViewModel, ui: &Ui, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
        terminal.draw(|frame| draw(frame, view, ui, at(10))).expect("drawn");
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_table_shows_kubectl_columns_counts_and_what_changed() {
        let lines = render(&pods_view(), &ui(), 110, 8);
        assert_eq!(
            lines,
            [
                "context test · pods in namespace shop · 7 existing hidden · watching since 11:05:50 (synced in 0.12s)",
                "3 changes (0.3/s) · reconnects 0 · relists 0",
                "EVENT     LAST CHANGE     CHANGES  NAME   READY  STATUS       AGE  WHAT CHANGED",
                "MODIFIED  11:06:40 (10s)  2        web-1  1/1    Running      26m  status.phase Pending→Running",
                "DELETED   11:06:40 (10s)  1        db-0   1/1    Terminating  26m",
                "",
                "",
                "q quit · space pause · c clear · t timeline/table · o owners · / filter · ↑↓ PgUp PgDn move · enter details",
            ]
        );
    }

    /// With several contexts, each row says its context and the sections are grouped by context, then kind.
    #[test]
    fn several_contexts_have_a_context_column_and_sections_by_context() {
        let mut pods_b = stream("Pod", "pods", &["Name", "Status"]);
        pods_b.context = Some("b".into());
        let mut pods_a = pods_b.clone();
        pods_a.context = Some("a".into());
        let mut view = ViewModel::new(vec![pods_b.clone(), pods_a.clone()], at(-60));
        let mut record = |stream: usize, info: &StreamInfo, name: &str| {
            let mut record = change(info, ChangeType::Added, name, &[name, "Running"], "Running");
            record.stream = stream;
            view.record(record);
        };
        record(0, &pods_b, "web-b");
        record(1, &pods_a, "web-a");
        let mut ui = ui();
        ui.options.contexts = true;
        let lines = render(&view, &ui, 100, 10);
        let body: Vec<&str> = lines[2..8].iter().map(|line| line.trim_end()).collect();
        assert_eq!(body[0], "a: pods (v1)", "{lines:#?}");
        assert!(
            body[1].starts_with("EVENT") && body[1].contains("CONTEXT"),
            "{lines:#?}"
        );
        assert!(body[2].contains(" a ") && body[2].contains("web-a"), "{lines:#?}");
        assert_eq!(body[3], "b: pods (v1)", "{lines:#?}");
        assert!(body[5].contains(" b ") && body[5].contains("web-b"), "{lines:#?}");
    }

    /// A fresh change is bold, a deletion dim, the selected row reversed from edge to edge, the event coloured;
    /// headers are bold.
    #[test]
    fn rows_carry_the_styles_that_tell_fresh_deleted_and_selected_apart() {
        let view = pods_view();
        let mut ui = ui();
        ui.options.color = true;
        let mut terminal = Terminal::new(TestBackend::new(110, 8)).expect("a test terminal");
        // Two seconds after the changes: still fresh.
        terminal.draw(|frame| draw(frame, &view, &ui, at(2))).expect("drawn");
        let buffer = terminal.backend().buffer();
        let style = |x: u16, y: u16| buffer[(x, y)].style();
        let (header, modified, deleted) = (2, 3, 4);
        assert!(style(0, header).add_modifier.contains(Modifier::BOLD));
        for x in [0, 20, 60, 109] {
            assert!(
                style(x, modified).add_modifier.contains(Modifier::BOLD),
                "fresh change at {x}"
            );
            assert!(
                style(x, modified).add_modifier.contains(Modifier::REVERSED),
                "selection at {x}"
            );
            assert!(
                style(x, deleted).add_modifier.contains(Modifier::DIM),
                "deletion at {x}"
            );
            assert!(
                !style(x, deleted).add_modifier.contains(Modifier::REVERSED),
                "not selected at {x}"
            );
        }
        assert_eq!(style(0, modified).fg, Some(Color::Yellow));
        assert_eq!(style(0, deleted).fg, Some(Color::Red));
        assert_eq!(style(12, modified).fg, Some(Color::Reset), "only the event is coloured");
    }

    #[test]
    fn a_narrow_terminal_cuts_cells_with_an_ellipsis_and_keeps_the_event() {
        let lines = render(&pods_view(), &ui(), 48, 6);
        assert!(lines[3].starts_with("MODIFIED  "), "{lines:#?}");
        assert!(lines[3].contains('…'), "{lines:#?}");
        assert!(lines.iter().all(|line| line.chars().count() <= 48));
        for width in [1, 5, 20] {
            render(&pods_view(), &ui(), width, 4);
        }
    }

    #[test]
    fn a_terminal_too_narrow_drops_columns_and_keeps_event_and_name() {
        let view = pods_view();
        // Wide enough for everything: every column is there.
        let wide = render(&view, &ui(), 160, 6);
        assert!(
            wide[2].contains("LAST CHANGE") && wide[2].contains("WHAT CHANGED"),
            "{wide:#?}"
        );
        // 30 columns: the event and the name, nothing squeezed to a letter.
        let narrow = render(&view, &ui(), 30, 6);
        assert!(
            narrow[2].starts_with("EVENT") && narrow[2].contains("NAME"),
            "{narrow:#?}"
        );
        assert!(
            !narrow[2].contains("CHANGES") && !narrow[2].contains("LAST"),
            "{narrow:#?}"
        );
        assert!(
            narrow[3].starts_with("MODIFIED") && narrow[3].contains("web-1"),
            "{narrow:#?}"
        );
        assert!(narrow.iter().all(|line| line.chars().count() <= 30));
        // In between, the columns that say least go first: how often and when, before kubectl's own.
        let middle = render(&view, &ui(), 40, 6);
        assert!(
            middle[2].contains("STATUS") && middle[2].contains("WHAT"),
            "{middle:#?}"
        );
        assert!(
            !middle[2].contains("CHANGES") && !middle[2].contains("LAST"),
            "{middle:#?}"
        );
    }

    #[test]
    fn names_stay_whole_while_other_columns_can_give_way() {
        let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Restarts", "Age"]);
        let mut view = ViewModel::new(vec![pods.clone()], at(-60));
        synced(&mut view);
        let name = "bar-pod-1-5c47644f58-t28vv";
        view.record(change(
            &pods,
            ChangeType::Modified,
            name,
            &[name, "0/1", "CrashLoopBackOff", "4 (2s ago)", "3m"],
            "Running",
        ));
        view.events.record(event(
            name,
            "BackOff",
            true,
            "Back-off restarting failed container app",
            1,
        ));
        let ui = Ui {
            options: TableOptions {
                events: true,
                ..TableOptions::default()
            },
            ..ui()
        };
        let wide = render(&view, &ui, 200, 6);
        assert!(wide[3].contains("⚠ BackOff"), "{wide:#?}");
        for width in [70, 60, 50, 40] {
            let lines = render(&view, &ui, width, 6);
            assert!(lines[3].contains(name), "{width} columns: {lines:#?}");
            assert!(lines.iter().all(|line| line.chars().count() <= width as usize));
        }
        // Only a terminal narrower than EVENT and NAME together cuts the name.
        let lines = render(&view, &ui, 30, 6);
        assert!(lines[3].starts_with("MODIFIED  bar-pod-1-5c"), "{lines:#?}");
    }

    #[test]
    fn each_row_shows_its_owner_and_its_latest_event_a_warning_standing_out() {
        let pods = stream("Pod", "pods", &["Name"]);
        let mut view = ViewModel::new(vec![pods.clone()], at(-60));
        synced(&mut view);
        view.record(owned_change(
            &pods,
            ChangeType::Added,
            "web-1",
            ("ReplicaSet", "web-7d9f"),
        ));
        view.record(owned_change(
            &pods,
            ChangeType::Added,
            "web-2",
            ("ReplicaSet", "web-7d9f"),
        ));
        // The scheduler's Event comes before the row, the kubelet's after it.
        view.events.record(event(
            "web-1",
            "Scheduled",
            false,
            "Successfully assigned shop/web-1 to node-1",
            1,
        ));
        view.events.record(event(
            "web-1",
            "BackOff",
            true,
            "Back-off restarting failed container",
            5,
        ));
        view.events
            .record(event("web-2", "Pulled", false, "Container image already present", 2));
        let ui = Ui {
            options: TableOptions {
                events: true,
                color: true,
                ..TableOptions::default()
            },
            ..ui()
        };
        let lines = render(&view, &ui, 150, 7);
        assert!(
            lines[2].contains("OWNER") && lines[2].contains("LAST EVENT"),
            "{lines:#?}"
        );
        assert!(
            lines[3].contains("web-1") && lines[3].contains("ReplicaSet/web-7d9f"),
            "{lines:#?}"
        );
        assert!(
            lines[3].contains("⚠ BackOff (5s): Back-off restarting failed container"),
            "{lines:#?}"
        );
        assert!(
            lines[4].contains("Pulled (8s): Container image already present"),
            "{lines:#?}"
        );

        let mut terminal = Terminal::new(TestBackend::new(150, 7)).expect("a test terminal");
        terminal.draw(|frame| draw(frame, &view, &ui, at(10))).expect("drawn");
        let buffer = terminal.backend().buffer();
        let x = lines[3]
            .find('⚠')
            .map(|byte| lines[3][..byte].chars().count())
            .expect("the warning");
        assert_eq!(buffer[(x as u16, 3)].fg, Color::Red, "a Warning stands out");
        let x = lines[4]
            .find("Pulled")
            .map(|byte| lines[4][..byte].chars().count())
            .expect("the event");
        assert_ne!(buffer[(x as u16, 4)].fg, Color::Red);

        // Without Events or owners on screen, their columns take no room.
        let plain = render(&pods_view(), &ui, 150, 7);
        assert!(
            !plain[2].contains("OWNER") && !plain[2].contains("LAST EVENT"),
            "{plain:#?}"
        );
    }

    #[test]
    fn the_tree_puts_rows_under_their_owners_and_names_owners_not_watched() {
        let deployments = stream("Deployment", "deployments", &["Name"]);
        let replicasets = stream("ReplicaSet", "replicasets", &["Name"]);
        let pods = stream("Pod", "pods", &["Name"]);
        let mut view = ViewModel::new(vec![deployments.clone(), replicasets.clone(), pods.clone()], at(-60));
        synced(&mut view);
        let mut add = |stream: usize, info: &StreamInfo, name: &str, owner: (&str, &str)| {
            let mut record = owned_change(info, ChangeType::Added, name, owner);
            record.stream = stream;
            view.record(record);
        };
        add(2, &pods, "web-7d9f-a", ("ReplicaSet", "web-7d9f"));
        add(1, &replicasets, "web-7d9f", ("Deployment", "web"));
        add(2, &pods, "report-x", ("Job", "report"));
        add(0, &deployments, "web", ("Shop", "main"));
        add(2, &pods, "web-7d9f-b", ("ReplicaSet", "web-7d9f"));
        let ui = Ui { tree: true, ..ui() };
        let lines = render(&view, &ui, 120, 12);
        let name_at = lines[2].find("NAME").expect("a NAME column");
        let details_at = lines[2].find("DETAILS").expect("a DETAILS column");
        assert!(!lines[2].contains("OWNER"), "the tree says the owners: {lines:#?}");
        let names: Vec<String> = lines[3..9]
            .iter()
            .map(|line| {
                let cell: String = line.chars().skip(name_at).take(details_at - name_at).collect();
                cell.trim_end().to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "Shop/main (not shown)",
                "└ deployment/web",
                "  └ replicaset/web-7d9f",
                "    └ pod/web-7d9f-a",
                "    └ pod/web-7d9f-b",
                "Job/report (not shown)",
            ],
            "{lines:#?}"
        );
        assert!(lines.iter().any(|line| line.contains("└ pod/report-x")), "{lines:#?}");
        // The selection walks the objects in the tree's order, not the placeholders.
        assert_eq!(entry_count(&view, &ui), 5);
        let third = Ui {
            selected: 2,
            ..ui.clone()
        };
        assert_eq!(
            selected_record(&view, &third).map(|record| record.key.name.as_str()),
            Some("web-7d9f-a")
        );
    }

    #[test]
    fn details_of_an_added_object_show_it_its_events_and_its_history() {
        let pods = stream("Pod", "pods", &["Name"]);
        let mut view = ViewModel::new(vec![pods.clone()], at(-60));
        synced(&mut view);
        view.record(owned_change(
            &pods,
            ChangeType::Added,
            "web-1",
            ("ReplicaSet", "web-7d9f"),
        ));
        view.events.record(event(
            "web-1",
            "Scheduled",
            false,
            "Successfully assigned shop/web-1",
            1,
        ));
        view.events.record(event(
            "web-1",
            "BackOff",
            true,
            "Back-off restarting failed container",
            5,
        ));
        let ui = Ui { details: true, ..ui() };
        let text = render(&view, &ui, 110, 40).join("\n");
        assert!(text.contains("pod/web-1 · ADDED at 11:06:40"), "{text}");
        assert!(text.contains("owned by ReplicaSet/web-7d9f"), "{text}");
        assert!(text.contains("The object as its latest change left it"), "{text}");
        assert!(text.contains("replicas: 3"), "{text}");
        assert!(
            !text.contains("managedFields") && !text.contains("kube-controller-manager"),
            "{text}"
        );
        assert!(
            text.contains("Normal   Scheduled  kubelet: Successfully assigned shop/web-1"),
            "{text}"
        );
        assert!(
            text.contains("Warning  BackOff  kubelet: Back-off restarting failed container"),
            "{text}"
        );
        assert!(text.contains("History (1 changes seen)"), "{text}");
        // The object comes first for an ADDED object; scrolling moves past it.
        let object_at = text.find("replicas: 3").expect("the object");
        assert!(object_at < text.find("History").expect("the history"), "{text}");
        assert!(details_length(&view, &ui) > 15, "what scrolling is bounded by");
        let scrolled = render(
            &view,
            &Ui {
                scroll: 3,
                ..ui.clone()
            },
            110,
            40,
        )
        .join("\n");
        assert!(!scrolled.contains("owned by ReplicaSet"), "{scrolled}");
    }

    #[test]
    fn a_filter_keeps_the_matching_rows_and_says_how_many_it_hides() {
        let view = pods_view();
        let mut filtered = ui();
        filtered.filter = "WEB".into();
        let lines = render(&view, &filtered, 120, 8);
        assert!(lines[1].starts_with("/WEB (1 hidden)"), "{lines:#?}");
        assert!(lines.iter().any(|line| line.contains("web-1")), "{lines:#?}");
        assert!(!lines.iter().any(|line| line.contains("db-0")), "{lines:#?}");
        assert_eq!(entry_count(&view, &filtered), 1);
        assert_eq!(
            selected_record(&view, &filtered).map(|record| record.key.name.as_str()),
            Some("web-1")
        );
        filtered.mode = Mode::Timeline;
        assert_eq!(entry_count(&view, &filtered), 2, "both changes of web-1");
        filtered.filter = "nothing-like-it".into();
        let lines = render(&view, &filtered, 120, 8);
        assert!(
            lines.iter().any(|line| line.contains("No change matches the filter.")),
            "{lines:#?}"
        );
        filtered.filtering = true;
        let lines = render(&view, &filtered, 120, 8);
        assert!(lines[7].starts_with("type to filter"), "the keys say how: {lines:#?}");
    }

    #[test]
    fn several_types_get_a_section_each() {
        let pods = stream("Pod", "pods", &["Name", "Status"]);
        let services = stream("Service", "services", &["Name", "Type"]);
        let mut view = ViewModel::new(vec![pods.clone(), services.clone()], at(0));
        let mut service = change(&services, ChangeType::Added, "api", &["api", "ClusterIP"], "x");
        service.stream = 1;
        view.record(service);
        view.record(change(
            &pods,
            ChangeType::Added,
            "web-1",
            &["web-1", "Pending"],
            "Pending",
        ));
        let lines = render(&view, &ui(), 80, 9);
        assert_eq!(lines[2], "pods (v1)");
        assert!(
            lines[3].starts_with("EVENT  LAST CHANGE") && lines[3].contains("STATUS"),
            "{lines:#?}"
        );
        assert!(lines[4].contains("web-1"), "{lines:#?}");
        assert_eq!(lines[5], "services (v1)");
        assert!(
            lines[6].contains("TYPE") && lines[7].contains("ClusterIP"),
            "{lines:#?}"
        );
    }

    #[test]
    fn the_timeline_has_one_row_per_change_newest_last() {
        let ui = Ui {
            mode: Mode::Timeline,
            selected: 2,
            ..ui()
        };
        let lines = render(&pods_view(), &ui, 80, 7);
        assert_eq!(lines[2], "TIME      EVENT     NAME   WHAT CHANGED");
        assert_eq!(lines[3], "11:06:40  ADDED     web-1");
        assert_eq!(lines[4], "11:06:40  MODIFIED  web-1  status.phase Pending→Running");
        assert_eq!(lines[5], "11:06:40  DELETED   db-0");
    }

    #[test]
    fn details_show_the_whole_change_and_pause_is_visible() {
        let ui = Ui {
            details: true,
            paused: Some(4),
            ..ui()
        };
        let text = render(&pods_view(), &ui, 90, 14).join("\n");
        assert!(text.contains("pod/web-1 · MODIFIED at 11:06:40"), "{text}");
        assert!(text.contains("status.phase Pending→Running"), "{text}");
        assert!(text.contains("PAUSED (4 waiting)"), "{text}");
    }
}
