//! The live view's state apart from the data: how the entries are arranged (mode, tree, filter), which one is
//! selected, the one overlay open, the pause with the changes it holds back, and how it all looks. Keys change
//! it (`keys.rs`); drawing reads it.

use std::collections::VecDeque;

use jiff::tz::TimeZone;

use crate::render::columns::TableOptions;
use crate::view::screen::{Arrangement, EntryId, Mode, Screen, Selection};
use crate::view::{ChangeRecord, ViewModel};

/// How the view looks, decided at the start.
#[derive(Debug, Clone)]
pub struct Look {
    pub options: TableOptions,
    /// Where and what is watched, for the status line: `context watchnew-admin · pods in team-a`.
    pub header: String,
    pub time_zone: TimeZone,
}

/// What lies over the view and takes the keys first: at most one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    /// The filter is being typed (after `/`).
    Filter,
    /// A time to jump to is being typed (after `g`, in a replay).
    Jump(String),
    /// The details of an entry, scrolled down this many lines.
    Details {
        on: EntryId,
        scroll: u16,
    },
    /// The key of contexts (after `x`), scrolled down this many lines.
    Contexts {
        scroll: u16,
    },
}

#[derive(Debug, Clone)]
pub struct LiveState {
    pub mode: Mode,
    /// The table groups rows under their owners.
    pub tree: bool,
    /// Only entries that match it are shown (empty: all).
    pub filter: String,
    pub selection: Selection,
    pub overlay: Overlay,
    /// Paused: the screen stands still, and the changes that come meanwhile wait here.
    pub paused: Option<VecDeque<ChangeRecord>>,
    pub look: Look,
    /// A replay: where it stands (`REPLAY 12:05:20 ▶ 2× · 40/120 changes`), first on the second line.
    pub replay: Option<String>,
}

impl LiveState {
    pub fn new(mode: Mode, look: Look, filter: String) -> LiveState {
        LiveState {
            mode,
            tree: false,
            filter,
            selection: Selection::Newest,
            overlay: Overlay::None,
            paused: None,
            look,
            replay: None,
        }
    }

    /// The entries of `view` as this state arranges them: what is drawn, and what the keys act on.
    pub fn screen<'a>(&self, view: &'a ViewModel) -> Screen<'a> {
        Screen::arrange(
            view,
            Arrangement {
                mode: self.mode,
                tree: self.tree,
                filter: &self.filter,
            },
        )
    }

    /// One item of the source into the view; changes wait while the view is paused.
    pub fn take(&mut self, fed: crate::view::feed::Fed, view: &mut ViewModel) {
        view.apply(fed, self.paused.as_mut());
    }

    /// The view is built again from nothing (a replay stepped back): nothing is held back any more.
    pub fn start_over(&mut self) {
        if let Some(held) = &mut self.paused {
            held.clear();
        }
    }

    pub fn details_open(&self) -> bool {
        matches!(self.overlay, Overlay::Details { .. })
    }

    /// The key hints of the bottom line: the overlay's, or the view's. The key of contexts is hinted where
    /// there are several; with one, the status line says its state already.
    pub fn hints(&self, several_contexts: bool) -> &'static str {
        match (&self.overlay, self.replay.is_some()) {
            (Overlay::None, true) if several_contexts => {
                "q quit · space play/pause · . , step · g jump · + - speed · t timeline/table · o owners · x contexts · / filter · enter details"
            }
            (Overlay::None, false) if several_contexts => {
                "q quit · space pause · c clear · x contexts · t timeline/table · o owners · / filter · ↑↓ PgUp PgDn move · enter details"
            }
            (Overlay::Jump(_), _) => {
                "type a time (12:05:20, 12:05) or a step from here (+30s, -2m) · enter jumps · esc cancels"
            }
            (Overlay::Filter, _) => {
                "type to filter by type, context, namespace, name, owner, what changed or Event · enter keeps it · esc clears it"
            }
            (Overlay::Details { .. }, _) => {
                "↑↓ PgUp PgDn scroll · enter or esc closes · space pause · / filter · q quit"
            }
            (Overlay::Contexts { .. }, _) => "↑↓ PgUp PgDn scroll · x, enter or esc closes · space pause · q quit",
            (Overlay::None, true) => {
                "q quit · space play/pause · . , step · g jump · + - speed · t timeline/table · o owners · / filter · enter details"
            }
            (Overlay::None, false) => {
                "q quit · space pause · c clear · t timeline/table · o owners · / filter · ↑↓ PgUp PgDn move · enter details"
            }
        }
    }
}
