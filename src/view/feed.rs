//! What a source of changes says, in the order it happened, each with the time it was seen: the one input of
//! the view, the live loop and the line printers, whether it came from a cluster context or a recording.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::summary::FieldChange;
use super::writers::Writer;
use super::{NoticeKind, StreamInfo};
use crate::engine::tracker::Change;
use crate::engine::wire::{Column, Payload};

/// One thing a source says, and when it was seen.
#[derive(Debug, Clone)]
pub struct Fed {
    pub at: Timestamp,
    pub item: FeedItem,
}

#[derive(Debug, Clone)]
pub enum FeedItem {
    /// A stream of one kind (in one context) begins; streams are numbered from 0 in the order they begin.
    Stream(Box<StreamInfo>),
    /// The server's Table columns of a stream, once known.
    Columns {
        stream: usize,
        columns: Vec<Column>,
    },
    /// Every stream of a context has its first snapshot.
    Synced(Synced),
    Change(Box<FedChange>),
    /// A modification of a stream's object that only beat (`engine::heartbeats`): counted, not shown.
    Heartbeat {
        stream: usize,
    },
    /// An Event about a watched object. `printed`: it is also printed as a change of its own (`--with-events`);
    /// `context`: where it happened, when several contexts are watched.
    Event {
        change: Box<Change<Payload>>,
        printed: bool,
        context: Option<String>,
    },
    /// Something to tell the person watching: a reconnect, a relist, a kind that cannot be watched.
    Notice {
        kind: NoticeKind,
        text: String,
    },
    /// A context's state changed; `context` is none when one context is watched without naming it.
    ContextState {
        context: Option<String>,
        health: ContextHealth,
    },
}

/// How a context is doing, as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ContextHealth {
    /// Finding its kinds and listing what exists.
    Starting,
    /// Synced, and every stream is watching.
    Watching,
    /// Synced; `streams` of its streams broke off and are being resumed, the latest for `cause`.
    Reconnecting { streams: usize, cause: String },
    /// It cannot start (unreachable, refused) or a kind named is refused: tried again meanwhile.
    Failing { cause: String },
}

impl ContextHealth {
    /// The states in the order a tally names them.
    pub const ORDER: [&'static str; 4] = ["watching", "starting", "reconnecting", "failing"];

    pub fn word(&self) -> &'static str {
        match self {
            ContextHealth::Starting => "starting",
            ContextHealth::Watching => "watching",
            ContextHealth::Reconnecting { .. } => "reconnecting",
            ContextHealth::Failing { .. } => "failing",
        }
    }

    /// Why it is not simply watching.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ContextHealth::Reconnecting { cause, .. } | ContextHealth::Failing { cause } => Some(cause),
            ContextHealth::Starting | ContextHealth::Watching => None,
        }
    }
}

/// A context's first sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Synced {
    /// The context, when several are watched.
    pub context: Option<String>,
    /// How long from the start it took.
    pub took: Duration,
    pub streams: Vec<SyncedStream>,
    /// What it is said as: `Synced 1234 pods, 56 services in 0.41s; watching for changes`.
    pub line: String,
}

/// One stream at its first sync: how many objects existed (and stay hidden), and the widest cell of each of
/// kubectl's columns among them, so that later lines fit under the header.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedStream {
    pub stream: usize,
    pub existing: usize,
    pub cell_widths: Vec<usize>,
}

/// A change of a stream, with what it changed worked out where the version before was known.
#[derive(Debug, Clone)]
pub struct FedChange {
    pub stream: usize,
    /// The change; its `previous` is not kept (it was compared into `field_changes`).
    pub change: Change<Payload>,
    pub field_changes: Vec<FieldChange>,
    /// Who made it, from the object's managedFields (empty when they do not say, or WHO is off).
    pub changed_by: Vec<Writer>,
}
