//! What the live view shows, in the order it shows it: the entries (the table's rows, or the timeline's
//! changes) that pass the filter, arranged once per frame. Drawing, keys, the details and the tree all read
//! this one arrangement, and a selection names an entry rather than a place, so that the row highlighted is
//! always the row a key acts on. Pure.

use super::owners::{self, TreeLine};
use super::query::Query;
use super::{ChangeRecord, OwnerRef, Row, ViewModel};
use crate::engine::tracker::ObjectKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One row per object: a section per context and kind, each in the order its objects first changed.
    Table,
    /// One row per change, newest last.
    Timeline,
}

/// What the person chose about the arrangement.
#[derive(Debug, Clone, Copy)]
pub struct Arrangement<'f> {
    pub mode: Mode,
    /// The table groups rows under their owners.
    pub tree: bool,
    /// Only entries that match it are shown (empty: all).
    pub filter: &'f str,
}

/// An entry, whatever its place on screen: an object (a row of the table) or one change (of the timeline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryId {
    Object { stream: usize, key: ObjectKey },
    Change { sequence: u64 },
}

/// What is selected: the newest entry, whatever comes (the view follows), or one entry, wherever it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Newest,
    On(EntryId),
}

/// One entry on screen.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The change it shows: a row's latest, or one change of the timeline.
    pub record: &'a ChangeRecord,
    /// The table's row (none in the timeline, where `ViewModel::row_of` finds it).
    pub row: Option<&'a Row>,
    /// How deep under its owners, in the tree.
    pub depth: usize,
}

impl Entry<'_> {
    pub fn id(&self) -> EntryId {
        match self.row {
            Some(_) => EntryId::Object {
                stream: self.record.stream,
                key: self.record.key.clone(),
            },
            None => EntryId::Change {
                sequence: self.record.sequence,
            },
        }
    }

    /// Whether it is the entry `id` names, without building an id for each entry tested.
    pub fn is(&self, id: &EntryId) -> bool {
        match (id, self.row) {
            (EntryId::Object { stream, key }, Some(_)) => self.record.stream == *stream && &self.record.key == key,
            (EntryId::Change { sequence }, None) => self.record.sequence == *sequence,
            _ => false,
        }
    }

    /// How many changes its object had (the table's CHANGES column).
    pub fn changes(&self) -> u32 {
        self.row.map_or(1, |row| row.changes)
    }
}

/// One line of the table's body, top to bottom.
#[derive(Debug, Clone, Copy)]
pub enum Line<'a> {
    /// A section's title (`staging: pods (v1)`), when several kinds or contexts are watched.
    Title {
        stream: usize,
    },
    /// A section's column headers.
    Header {
        section: usize,
    },
    /// An owner that has no row, in the tree.
    Owner {
        section: usize,
        owner: &'a OwnerRef,
        depth: usize,
    },
    Entry {
        index: usize,
        section: usize,
    },
}

/// The entries of one frame, in screen order.
#[derive(Debug)]
pub struct Screen<'a> {
    pub mode: Mode,
    pub tree: bool,
    pub entries: Vec<Entry<'a>>,
    /// The table's lines: titles, headers, owners and entries (none in the timeline, whose lines are its
    /// entries).
    pub lines: Vec<Line<'a>>,
    /// How many entries the filter hides.
    pub hidden: usize,
}

impl<'a> Screen<'a> {
    pub fn arrange(view: &'a ViewModel, arrangement: Arrangement<'_>) -> Screen<'a> {
        let query = Query::new(arrangement.filter);
        match arrangement.mode {
            Mode::Table if arrangement.tree => Screen::tree(view, &query),
            Mode::Table => Screen::table(view, &query),
            Mode::Timeline => Screen::timeline(view, &query),
        }
    }

    fn table(view: &'a ViewModel, query: &Query) -> Screen<'a> {
        // Sections by context, then by kind in the order the kinds began; rows keep their order within.
        let mut sections: Vec<usize> = (0..view.streams.len()).collect();
        sections.sort_by_key(|stream| (view.streams[*stream].context.as_deref(), *stream));
        let mut by_stream: Vec<Vec<&Row>> = vec![Vec::new(); view.streams.len()];
        let mut shown = 0;
        for row in view.rows() {
            if let Some(rows) = by_stream.get_mut(row.latest.stream)
                && matches(view, query, &row.latest)
            {
                rows.push(row);
                shown += 1;
            }
        }
        let titled = view.streams.len() > 1;
        let mut entries = Vec::with_capacity(shown);
        let mut lines = Vec::with_capacity(shown + 2 * sections.len());
        for section in sections {
            let rows = &by_stream[section];
            if rows.is_empty() {
                continue;
            }
            if titled {
                lines.push(Line::Title { stream: section });
            }
            lines.push(Line::Header { section });
            for row in rows {
                lines.push(Line::Entry {
                    index: entries.len(),
                    section,
                });
                entries.push(Entry {
                    record: &row.latest,
                    row: Some(row),
                    depth: 0,
                });
            }
        }
        Screen {
            mode: Mode::Table,
            tree: false,
            hidden: view.rows().len() - shown,
            entries,
            lines,
        }
    }

    /// One section for every kind, each row under its owner.
    fn tree(view: &'a ViewModel, query: &Query) -> Screen<'a> {
        let rows: Vec<&Row> = view
            .rows()
            .iter()
            .filter(|row| matches(view, query, &row.latest))
            .collect();
        let mut entries = Vec::with_capacity(rows.len());
        let mut lines = Vec::with_capacity(rows.len() + 1);
        if !rows.is_empty() {
            lines.push(Line::Header { section: 0 });
        }
        for line in owners::tree(&rows, |row| view.streams[row.latest.stream].label.kind.as_str()) {
            match line {
                TreeLine::Owner { owner, depth } => lines.push(Line::Owner {
                    section: 0,
                    owner,
                    depth,
                }),
                TreeLine::Object { row, depth } => {
                    lines.push(Line::Entry {
                        index: entries.len(),
                        section: 0,
                    });
                    entries.push(Entry {
                        record: &row.latest,
                        row: Some(row),
                        depth,
                    });
                }
            }
        }
        Screen {
            mode: Mode::Table,
            tree: true,
            hidden: view.rows().len() - rows.len(),
            entries,
            lines,
        }
    }

    fn timeline(view: &'a ViewModel, query: &Query) -> Screen<'a> {
        let entries: Vec<Entry> = view
            .timeline()
            .iter()
            .filter(|record| matches(view, query, record))
            .map(|record| Entry {
                record,
                row: None,
                depth: 0,
            })
            .collect();
        Screen {
            mode: Mode::Timeline,
            tree: false,
            hidden: view.timeline().len() - entries.len(),
            entries,
            lines: Vec::new(),
        }
    }

    /// Where the selection is: the newest entry, or the one selected; the newest when that one is not shown
    /// (filtered out, or no longer kept). `None` when nothing is shown.
    pub fn position(&self, selection: &Selection) -> Option<usize> {
        let newest = self.entries.len().checked_sub(1)?;
        match selection {
            Selection::Newest => Some(newest),
            Selection::On(id) => Some(self.find(id).unwrap_or(newest)),
        }
    }

    /// Where the entry `id` names is.
    pub fn find(&self, id: &EntryId) -> Option<usize> {
        self.entries.iter().position(|entry| entry.is(id))
    }

    /// The selected entry.
    pub fn selected(&self, selection: &Selection) -> Option<&Entry<'a>> {
        self.position(selection).map(|index| &self.entries[index])
    }

    /// The selection after a move to `index` (clamped): on the newest entry it follows again.
    pub fn select(&self, index: usize) -> Selection {
        match self.entries.len().checked_sub(1) {
            Some(newest) if index < newest => Selection::On(self.entries[index].id()),
            _ => Selection::Newest,
        }
    }
}

fn matches(view: &ViewModel, query: &Query, record: &ChangeRecord) -> bool {
    // Asked for every row of every frame under churn: without a filter, nothing is looked up.
    query.is_empty() || query.matches(record, &view.streams[record.stream], view.latest_event(record))
}
