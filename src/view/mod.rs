//! What the user sees, independent of any terminal: each change made presentable (its kubectl cells, labels and
//! what it changed), the rows of the live table, the timeline, and the counters of the status line.
//! Pure: the time of each change comes in as an argument.

pub mod contexts;
pub mod details;
pub mod events;
pub mod feed;
pub mod fights;
pub mod owners;
pub mod query;
pub mod recording;
pub mod screen;
pub mod summary;
pub mod waiting;
pub mod writers;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::cluster::discovery::ResourceInfo;
use crate::engine::tracker::{Change, ChangeType, ObjectKey, Origin};
use crate::engine::wire::{self, Column, Packed, Payload};
use events::EventLog;
use fights::{Fight, Fights};
use summary::FieldChange;
use writers::Writer;

/// What the output says about one watched resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamLabel {
    pub kind: String,
    pub api_version: String,
    /// The name kubectl prints for the type: `pods`, `deployments.apps`.
    pub name: String,
    /// kubectl's prefix of an object's name with several types or `-o name`: `pod`, `deployment.apps`.
    pub object_prefix: String,
    /// A Secret: the values of its data are never shown.
    pub secret: bool,
}

impl From<&ResourceInfo> for StreamLabel {
    fn from(resource: &ResourceInfo) -> Self {
        let singular = if resource.singular.is_empty() {
            resource.kind.to_lowercase()
        } else {
            resource.singular.clone()
        };
        StreamLabel {
            kind: resource.kind.clone(),
            api_version: resource.api_version(),
            name: resource.qualified_name(),
            object_prefix: if resource.group.is_empty() {
                singular
            } else {
                format!("{singular}.{}", resource.group)
            },
            secret: resource.group.is_empty() && resource.plural == "secrets",
        }
    }
}

/// One change, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub stream: usize,
    pub key: ObjectKey,
    pub event: ChangeType,
    pub origin: Origin,
    pub at: Timestamp,
    /// The Table cells, as text; empty when the server sent none (an object that vanished during a gap).
    pub cells: Vec<String>,
    pub created: Option<Timestamp>,
    pub labels: BTreeMap<String, String>,
    /// For a modification: the fields it changed.
    pub field_changes: Vec<FieldChange>,
    /// Who made it, from the object's managedFields; empty when they do not say.
    pub changed_by: Vec<Writer>,
    /// The fight between writers this change is part of, once the view or the lines have seen one.
    pub fight: Option<Fight>,
    /// The object was created since the start (its ADDED was seen): how many modifications it has had since.
    /// `None` for an object that existed at the start.
    pub since_added: Option<u32>,
    pub uid: String,
    /// The controlling owner (or, without one, the first owner) from `metadata.ownerReferences`.
    pub owner: Option<OwnerRef>,
    /// The object as this change left it, compressed, for its details (the live view only); taken into its
    /// row when recorded, so that the timeline does not keep every version.
    pub object: Option<Packed>,
    /// Its managedFields as the server sent them, compressed, for the details' writers (the live view only);
    /// taken into its row as `object` is.
    pub managed_fields: Option<Packed>,
    /// Its place among the changes the view has recorded, from 1 (0 before it is recorded): what names it in
    /// the timeline, wherever the timeline shows it.
    pub sequence: u64,
}

/// An owner, as an object's `ownerReferences` name it: enough to find it among the rows, or to name it when its
/// type is not watched.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    #[serde(default)]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

impl OwnerRef {
    /// `ReplicaSet/web-7d9f`, as `kubectl describe` says "Controlled By".
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataHead {
    creation_timestamp: Option<Timestamp>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    owner_references: Vec<OwnerRef>,
}

/// What a modification changed, from the version before it when that was kept; a Secret's values as
/// `secrecy` says.
pub fn field_changes_of(change: &Change<Payload>, secrecy: summary::Secrecy) -> Vec<FieldChange> {
    let previous = change.previous.as_ref().and_then(|memo| memo.object.as_ref());
    match (change.change_type, &change.payload, previous) {
        (ChangeType::Modified, Some(payload), Some(previous)) => previous
            .unpack()
            .and_then(|before| summary::field_changes_in_text(&before, &payload.raw, secrecy))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

impl ChangeRecord {
    /// A change ready to show, what it changed worked out from the version before it (a Secret's values
    /// withheld).
    pub fn new(stream: usize, label: &StreamLabel, change: &Change<Payload>, at: Timestamp) -> ChangeRecord {
        let secrecy = summary::Secrecy::of(label.secret, false);
        let field_changes = field_changes_of(change, secrecy);
        let changed_by = writers::writers_of(change, &field_changes);
        ChangeRecord::worked_out(stream, change, field_changes, changed_by, at)
    }

    /// A change ready to show, what it changed and who did already worked out (by its source, or in a
    /// recording). A Secret's values, if its source kept them for a recording, are withheld here: nothing
    /// shown holds them.
    pub fn worked_out(
        stream: usize,
        change: &Change<Payload>,
        field_changes: Vec<FieldChange>,
        changed_by: Vec<Writer>,
        at: Timestamp,
    ) -> ChangeRecord {
        let head: MetadataHead = change
            .payload
            .as_ref()
            .and_then(|payload| wire::metadata_of(&payload.raw).ok().flatten())
            .unwrap_or_default();
        let cells = change
            .payload
            .as_ref()
            .and_then(|payload| payload.cells.as_ref())
            .map(|cells| cells.iter().map(cell_text).collect())
            .unwrap_or_default();
        ChangeRecord {
            stream,
            key: change.key.clone(),
            event: change.change_type,
            origin: change.origin,
            at,
            cells,
            created: head.creation_timestamp,
            labels: head.labels,
            field_changes: field_changes.into_iter().map(FieldChange::withheld).collect(),
            changed_by,
            fight: None,
            since_added: None,
            uid: change.uid.clone(),
            owner: controlling_owner(head.owner_references),
            object: None,
            managed_fields: None,
            sequence: 0,
        }
    }
}

impl ChangeRecord {
    /// The change as the live view names it: an object created since the start stays `ADDED` (`ADDED +3`
    /// after three modifications, `ADDED→DELETED` once gone), told apart from one that existed and changed.
    pub fn event_label(&self) -> String {
        match (self.since_added, self.event) {
            (None, event) | (Some(0), event @ ChangeType::Added) => event.as_str().to_string(),
            (Some(_), ChangeType::Deleted) => "ADDED→DELETED".to_string(),
            (Some(modifications), _) => format!("ADDED +{modifications}"),
        }
    }
}

/// What a fight's notice names: `deployment.apps shop/web`.
pub fn fight_subject(streams: &[StreamInfo], record: &ChangeRecord) -> String {
    let prefix = streams
        .get(record.stream)
        .map(|stream| stream.label.object_prefix.as_str())
        .unwrap_or_default();
    match &record.key.namespace {
        Some(namespace) => format!("{prefix} {namespace}/{}", record.key.name),
        None => format!("{prefix} {}", record.key.name),
    }
}

/// The owner that controls an object, else its first owner (a ConfigMap owned by a custom resource has no
/// controller, but is still that resource's).
fn controlling_owner(mut owners: Vec<OwnerRef>) -> Option<OwnerRef> {
    let controller = owners
        .iter()
        .position(|owner| owner.controller == Some(true))
        .unwrap_or(0);
    (controller < owners.len()).then(|| owners.swap_remove(controller))
}

/// A Table cell as `kubectl get` prints it.
pub fn cell_text(cell: &serde_json::Value) -> String {
    match cell {
        serde_json::Value::Null => "<none>".to_string(),
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// One watched type, as the view knows it.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub label: StreamLabel,
    /// The kubeconfig context it watches, when several are watched.
    pub context: Option<String>,
    /// The server's Table columns, once known.
    pub columns: Vec<Column>,
    /// How many objects existed at the start (hidden).
    pub existing: usize,
    /// The widest cell of each Table column among the objects that existed at the start.
    pub cell_widths: Vec<usize>,
}

impl StreamInfo {
    pub fn new(label: StreamLabel) -> StreamInfo {
        StreamInfo {
            label,
            context: None,
            columns: Vec::new(),
            existing: 0,
            cell_widths: Vec::new(),
        }
    }

    /// Takes the widths of one listed object's cells into account.
    pub fn measure(&mut self, cells: &[serde_json::Value]) {
        if self.cell_widths.len() < cells.len() {
            self.cell_widths.resize(cells.len(), 0);
        }
        for (width, cell) in self.cell_widths.iter_mut().zip(cells) {
            *width = (*width).max(unicode_width::UnicodeWidthStr::width(cell_text(cell).as_str()));
        }
    }
}

/// A row of the live table: the latest change of one object, and how many it had.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Shared with the timeline, which holds the same record.
    pub latest: Rc<ChangeRecord>,
    pub changes: u32,
    /// The object as its latest change left it (or as last known, for a deletion found by a relist).
    pub object: Option<Packed>,
    /// Its managedFields as its latest change left them, when they were sent.
    pub managed_fields: Option<Packed>,
    /// Its changes since the start, oldest first, up to `HISTORY_LIMIT`.
    pub history: VecDeque<HistoryEntry>,
}

/// One change in an object's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub event: ChangeType,
    pub origin: Origin,
    pub field_changes: Vec<FieldChange>,
    pub changed_by: Vec<Writer>,
    pub fight: Option<Fight>,
}

impl HistoryEntry {
    fn of(record: &ChangeRecord) -> HistoryEntry {
        HistoryEntry {
            at: record.at,
            event: record.event,
            origin: record.origin,
            field_changes: record.field_changes.clone(),
            changed_by: record.changed_by.clone(),
            fight: record.fight.clone(),
        }
    }
}

/// An object's history keeps this many changes; older ones drop off (the row still counts them).
pub const HISTORY_LIMIT: usize = 100;

/// Counters for the status line.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub started: Option<Timestamp>,
    /// When every type had synced, and how long that took.
    pub synced: Option<(Timestamp, Duration)>,
    pub changes: u64,
    /// Modifications that only beat, counted and not shown (`engine::heartbeats`).
    pub heartbeats: u64,
    pub reconnects: u32,
    pub relists: u32,
    /// The latest notice (a reconnect, a relist), with its time.
    pub notice: Option<(Timestamp, String)>,
    recent: VecDeque<Timestamp>,
}

/// The window the change rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// The timeline keeps this many changes; older ones drop off its top.
pub const TIMELINE_LIMIT: usize = 10_000;
/// Deleted objects stay in the table, dimmed, but no more than this many; the oldest deletions go first.
pub const DELETED_ROWS_LIMIT: usize = 1_000;

impl Activity {
    /// Changes per second over the last ten seconds.
    pub fn rate(&self, now: Timestamp) -> f64 {
        let window = jiff::SignedDuration::try_from(RATE_WINDOW).unwrap_or_default();
        // Oldest first: the ones still in the window are a tail, found without walking them all.
        let outside = self.recent.partition_point(|at| now.duration_since(*at) > window);
        (self.recent.len() - outside) as f64 / RATE_WINDOW.as_secs_f64()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    Reconnect,
    Relist,
    Other,
}

/// The state of the live view.
#[derive(Debug, Clone)]
pub struct ViewModel {
    pub streams: Vec<StreamInfo>,
    rows: Vec<Row>,
    positions: HashMap<(usize, ObjectKey), usize>,
    timeline: VecDeque<Rc<ChangeRecord>>,
    deleted_rows: usize,
    /// The sequence number of the latest change recorded.
    sequence: u64,
    pub activity: Activity,
    /// The Events about the watched objects (and those not watched yet), joined to rows by uid.
    pub events: EventLog,
    /// The writers of every field, to call out those that fight.
    fights: Fights,
    /// The objects created since the start and not deleted, by stream and uid: how many modifications each
    /// has had since.
    created: HashMap<(usize, String), u32>,
    /// How each context is doing, for the key of contexts.
    pub contexts: contexts::Contexts,
}

/// kubectl's durations count seconds below this ("9m59s", then "10m").
const SECONDS_SHOWN_BELOW: jiff::SignedDuration = jiff::SignedDuration::from_secs(600);

/// Old deletions are dropped in batches, so that each costs one pass over the rows per this many deletions.
const DELETED_ROWS_BATCH: usize = 100;

impl ViewModel {
    pub fn new(streams: Vec<StreamInfo>, started: Timestamp) -> ViewModel {
        ViewModel {
            streams,
            rows: Vec::new(),
            positions: HashMap::new(),
            timeline: VecDeque::new(),
            deleted_rows: 0,
            sequence: 0,
            events: EventLog::default(),
            fights: Fights::default(),
            created: HashMap::new(),
            contexts: contexts::Contexts::default(),
            activity: Activity {
                started: Some(started),
                ..Activity::default()
            },
        }
    }

    /// A stream begins: it is numbered after the ones before it.
    pub fn add_stream(&mut self, stream: StreamInfo) {
        self.streams.push(stream);
    }

    /// A context has its first snapshot: the first sync is the watch's; the others are said as notices.
    pub fn synced(&mut self, at: Timestamp, synced: &feed::Synced) {
        for found in &synced.streams {
            if let Some(stream) = self.streams.get_mut(found.stream) {
                stream.existing = found.existing;
                stream.cell_widths = found.cell_widths.clone();
            }
        }
        match self.activity.synced {
            None => self.activity.synced = Some((at, synced.took)),
            Some(_) => self.notice(NoticeKind::Other, synced.line.clone(), at),
        }
    }

    pub fn notice(&mut self, kind: NoticeKind, text: String, at: Timestamp) {
        match kind {
            NoticeKind::Reconnect => self.activity.reconnects += 1,
            NoticeKind::Relist => self.activity.relists += 1,
            NoticeKind::Other => {}
        }
        self.activity.notice = Some((at, text));
    }

    /// Whether the screen shows text that changes by the second on its own: the change rate while changes
    /// of the last ten seconds count in it, or an age or a "how long ago" under ten minutes. When nothing
    /// does, there is no reason to draw again until something happens.
    pub fn ticking(&self, now: Timestamp) -> bool {
        let recent = |at: Timestamp| now.duration_since(at) < SECONDS_SHOWN_BELOW;
        let rate_window = jiff::SignedDuration::try_from(RATE_WINDOW).unwrap_or_default();
        self.activity
            .recent
            .back()
            .is_some_and(|at| now.duration_since(*at) <= rate_window)
            || self.timeline.back().is_some_and(|record| recent(record.at))
            || self
                .rows
                .iter()
                .map(|row| &row.latest)
                .chain(&self.timeline)
                .any(|record| record.created.is_some_and(recent))
    }

    /// Rows in the order their objects first changed: a row keeps its place while it changes again.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row of an object of `stream`.
    pub fn row_of(&self, stream: usize, key: &ObjectKey) -> Option<&Row> {
        self.positions
            .get(&(stream, key.clone()))
            .and_then(|index| self.rows.get(*index))
    }

    /// The latest Event about the object of `record`.
    pub fn latest_event(&self, record: &ChangeRecord) -> Option<&events::EventNote> {
        let label = &self.streams.get(record.stream)?.label;
        self.events.latest(
            &record.uid,
            &label.kind,
            record.key.namespace.as_deref(),
            &record.key.name,
        )
    }

    /// Every change, oldest first, up to the last `TIMELINE_LIMIT`.
    pub fn timeline(&self) -> &VecDeque<Rc<ChangeRecord>> {
        &self.timeline
    }

    /// The change of the timeline with this sequence number, while the timeline keeps it.
    pub fn change(&self, sequence: u64) -> Option<&ChangeRecord> {
        let index = self.timeline.partition_point(|record| record.sequence < sequence);
        self.timeline
            .get(index)
            .filter(|record| record.sequence == sequence)
            .map(Rc::as_ref)
    }

    /// One item of a source into the view. A change goes to `held` instead while it is given: a paused view
    /// shows it later, with `record`.
    pub fn apply(&mut self, fed: feed::Fed, held: Option<&mut VecDeque<ChangeRecord>>) {
        match fed.item {
            feed::FeedItem::Stream(stream) => self.add_stream(*stream),
            feed::FeedItem::Columns { stream, columns } => {
                if let Some(stream) = self.streams.get_mut(stream) {
                    stream.columns = columns;
                }
            }
            feed::FeedItem::Synced(synced) => self.synced(fed.at, &synced),
            feed::FeedItem::Change(change) => {
                if change.stream >= self.streams.len() {
                    return;
                }
                let feed::FedChange {
                    stream,
                    change,
                    field_changes,
                    changed_by,
                } = *change;
                let mut record = ChangeRecord::worked_out(stream, &change, field_changes, changed_by, fed.at);
                // The same compressed bytes the tracker keeps to compare the next version with.
                record.object = change.payload.as_ref().map(Payload::packed);
                record.managed_fields = change
                    .payload
                    .as_ref()
                    .and_then(|payload| payload.managed_fields.as_deref())
                    .map(Packed::pack);
                match held {
                    Some(held) => held.push_back(record),
                    None => self.record(record),
                }
            }
            // Joined at once, paused or not: an Event moves no row.
            feed::FeedItem::Event { change, .. } => {
                if let Some(observed) = change
                    .payload
                    .as_ref()
                    .and_then(|payload| events::ObservedEvent::from_json(&payload.raw))
                {
                    self.events.record(observed);
                }
            }
            feed::FeedItem::Notice { kind, text } => self.notice(kind, text, fed.at),
            feed::FeedItem::Heartbeat { .. } => self.activity.heartbeats += 1,
            feed::FeedItem::ContextState { context, health } => self.contexts.said(context, health, fed.at),
        }
    }

    pub fn record(&mut self, mut record: ChangeRecord) {
        self.sequence += 1;
        record.sequence = self.sequence;
        self.activity.changes += 1;
        let context = self
            .streams
            .get(record.stream)
            .and_then(|stream| stream.context.as_deref());
        let created = (record.event == ChangeType::Added).then_some(record.created).flatten();
        self.contexts
            .changed(context, record.at, contexts::written(&record.changed_by, created));
        self.activity.recent.push_back(record.at);
        while self.activity.recent.len() > 100_000
            || self
                .activity
                .recent
                .front()
                .is_some_and(|at| record.at.duration_since(*at).unsigned_abs() > RATE_WINDOW)
        {
            self.activity.recent.pop_front();
        }
        if self.timeline.len() == TIMELINE_LIMIT {
            self.timeline.pop_front();
        }
        if let Some(observed) = self.fights.observe(
            record.stream,
            &record.key,
            record.event,
            record.at,
            &record.field_changes,
            &record.changed_by,
        ) {
            if observed.new {
                let text = format!("{} {}", fight_subject(&self.streams, &record), observed.fight.display());
                self.notice(NoticeKind::Other, text, record.at);
            }
            record.fight = Some(observed.fight);
        }
        if record.managed_fields.is_some() {
            // Its row keeps the object's managedFields, each writer's fields with them: the timeline and the
            // history keep only the writers' names.
            record.changed_by.iter_mut().for_each(Writer::forget_fields);
        }

        record.since_added = self.created_since_start(&record);
        let position = (record.stream, record.key.clone());
        let deleted = record.event == ChangeType::Deleted;
        let object = record.object.take();
        let managed_fields = record.managed_fields.take();
        let entry = HistoryEntry::of(&record);
        match self.positions.get(&position) {
            Some(&index) => {
                let row = &mut self.rows[index];
                let was_deleted = row.latest.event == ChangeType::Deleted;
                self.deleted_rows = self.deleted_rows + usize::from(deleted) - usize::from(was_deleted);
                if record.cells.is_empty() {
                    // A deletion found by a relist carries no cells; the last ones known stay.
                    record.cells = row.latest.cells.clone();
                    record.labels = row.latest.labels.clone();
                    record.created = row.latest.created;
                    record.owner = row.latest.owner.clone();
                }
                let record = Rc::new(record);
                self.timeline.push_back(Rc::clone(&record));
                row.latest = record;
                row.changes += 1;
                if object.is_some() {
                    row.object = object;
                    row.managed_fields = managed_fields;
                }
                if row.history.len() == HISTORY_LIMIT {
                    row.history.pop_front();
                }
                row.history.push_back(entry);
            }
            None => {
                let record = Rc::new(record);
                self.timeline.push_back(Rc::clone(&record));
                self.deleted_rows += usize::from(deleted);
                self.positions.insert(position, self.rows.len());
                self.rows.push(Row {
                    latest: record,
                    changes: 1,
                    object,
                    managed_fields,
                    history: VecDeque::from([entry]),
                });
            }
        }
        if self.deleted_rows > DELETED_ROWS_LIMIT + DELETED_ROWS_BATCH {
            self.forget_old_deletions();
        }
    }

    /// Whether the object of `record` was created since the start, and how many modifications it has had
    /// since: followed by uid for as long as the object lives, so that a cleared table still knows.
    fn created_since_start(&mut self, record: &ChangeRecord) -> Option<u32> {
        let key = (record.stream, record.uid.clone());
        match record.event {
            ChangeType::Added => {
                self.created.insert(key, 0);
                Some(0)
            }
            ChangeType::Modified => self.created.get_mut(&key).map(|modifications| {
                *modifications += 1;
                *modifications
            }),
            ChangeType::Deleted => self.created.remove(&key),
        }
    }

    /// Empties the table and the timeline; objects appear again when they change again.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.positions.clear();
        self.timeline.clear();
        self.deleted_rows = 0;
    }

    /// Drops the oldest deleted rows down to `DELETED_ROWS_LIMIT`.
    fn forget_old_deletions(&mut self) {
        let mut deletions: Vec<(Timestamp, usize)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.latest.event == ChangeType::Deleted)
            .map(|(index, row)| (row.latest.at, index))
            .collect();
        deletions.sort_unstable();
        let excess = deletions.len().saturating_sub(DELETED_ROWS_LIMIT);
        let mut forget = vec![false; self.rows.len()];
        for (_, index) in &deletions[..excess] {
            forget[*index] = true;
        }
        let mut index = 0;
        self.rows.retain(|_| {
            index += 1;
            !forget[index - 1]
        });
        self.deleted_rows -= excess;
        self.positions = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| ((row.latest.stream, row.latest.key.clone()), i))
            .collect();
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::engine::wire::Packed;

    fn label(secret: bool) -> StreamLabel {
        StreamLabel {
            kind: if secret { "Secret" } else { "Pod" }.into(),
            api_version: "v1".into(),
            name: if secret { "secrets" } else { "pods" }.into(),
            object_prefix: if secret { "secret" } else { "pod" }.into(),
            secret,
        }
    }

    fn stream() -> StreamInfo {
        StreamInfo::new(label(false))
    }

    fn change(event: ChangeType, name: &str, raw: Option<&str>, previous: Option<&str>) -> Change<Payload> {
        Change {
            change_type: event,
            key: ObjectKey {
                namespace: Some("ns".into()),
                name: name.into(),
            },
            uid: format!("uid-{name}"),
            resource_version: "2".into(),
            origin: Origin::Watch,
            payload: raw.map(|raw| {
                Payload::new(
                    raw.into(),
                    Some(vec![
                        serde_json::json!(name),
                        serde_json::json!(1),
                        serde_json::Value::Null,
                    ]),
                    true,
                )
            }),
            previous: previous.map(|text| crate::engine::wire::Memo {
                object: Some(Packed::pack(text)),
                writers: None,
                heartbeat_blind: None,
            }),
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).expect("valid")
    }

    #[test]
    fn a_modification_says_what_it_changed_and_a_record_has_cells_labels_and_age() {
        let before = r#"{"metadata":{"name":"web","labels":{"app":"web"},"creationTimestamp":"2026-11-22T10:00:00Z"},"status":{"phase":"Pending"}}"#;
        let after = r#"{"metadata":{"name":"web","labels":{"app":"web"},"creationTimestamp":"2026-11-22T10:00:00Z"},"status":{"phase":"Running"}}"#;
        let record = ChangeRecord::new(
            0,
            &label(false),
            &change(ChangeType::Modified, "web", Some(after), Some(before)),
            at(0),
        );
        assert_eq!(
            summary::summarize(&record.field_changes, 3, 20),
            "status.phase Pending→Running"
        );
        assert_eq!(record.cells, ["web", "1", "<none>"]);
        assert_eq!(record.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!(record.created, Some("2026-11-22T10:00:00Z".parse().expect("time")));
    }

    #[test]
    fn the_view_ticks_only_while_it_shows_seconds_counting() {
        let created_long_ago = r#"{"metadata":{"name":"web","creationTimestamp":"2020-01-01T00:00:00Z"}}"#;
        let mut view = ViewModel::new(vec![stream()], at(0));
        assert!(!view.ticking(at(5)), "nothing on screen moves");
        let old_object = change(ChangeType::Modified, "web", Some(created_long_ago), None);
        view.record(ChangeRecord::new(0, &label(false), &old_object, at(10)));
        assert!(view.ticking(at(15)), "the rate counts the change");
        assert!(view.ticking(at(10 + 599)), "\"9m59s ago\" counts seconds");
        assert!(!view.ticking(at(10 + 600)), "\"10m ago\" counts minutes, the age years");

        let created_now = format!(r#"{{"metadata":{{"name":"new","creationTimestamp":"{}"}}}}"#, at(700));
        let new_object = change(ChangeType::Added, "new", Some(&created_now), None);
        view.record(ChangeRecord::new(0, &label(false), &new_object, at(700)));
        assert!(view.ticking(at(700 + 599)));
        assert!(!view.ticking(at(700 + 600)));
        view.clear();
        assert!(!view.ticking(at(701)) || view.activity.rate(at(701)) > 0.0);
    }

    #[test]
    fn secret_changes_are_named_without_values() {
        let before = r#"{"data":{"password":"b2xk"}}"#;
        let after = r#"{"data":{"password":"bmV3"}}"#;
        let record = ChangeRecord::new(
            0,
            &label(true),
            &change(ChangeType::Modified, "db", Some(after), Some(before)),
            at(0),
        );
        assert_eq!(
            summary::summarize(&record.field_changes, 3, 20),
            "data.password changed"
        );
    }

    #[test]
    fn rows_keep_their_place_and_count_changes() {
        let mut view = ViewModel::new(vec![stream()], at(0));
        for (second, name, event) in [
            (1, "a", ChangeType::Added),
            (2, "b", ChangeType::Added),
            (3, "a", ChangeType::Modified),
        ] {
            let record = ChangeRecord::new(0, &label(false), &change(event, name, Some("{}"), None), at(second));
            view.record(record);
        }
        let rows: Vec<(&str, ChangeType, u32)> = view
            .rows()
            .iter()
            .map(|row| (row.latest.key.name.as_str(), row.latest.event, row.changes))
            .collect();
        assert_eq!(rows, [("a", ChangeType::Modified, 2), ("b", ChangeType::Added, 1)]);
        assert_eq!(view.timeline().len(), 3);
        assert_eq!(view.activity.changes, 3);
        assert!((view.activity.rate(at(4)) - 0.3).abs() < 1e-9);
        view.clear();
        assert!(view.rows().is_empty() && view.timeline().is_empty());
    }

    #[test]
    fn a_row_keeps_its_latest_object_and_a_bounded_history() {
        let mut view = ViewModel::new(vec![stream()], at(0));
        for second in 0..(HISTORY_LIMIT as i64 + 3) {
            let event = if second == 0 {
                ChangeType::Added
            } else {
                ChangeType::Modified
            };
            let raw = format!(r#"{{"metadata":{{"name":"a"}},"spec":{{"n":{second}}}}}"#);
            let mut record = ChangeRecord::new(0, &label(false), &change(event, "a", Some(&raw), None), at(second));
            record.object = Some(Packed::pack(&raw));
            view.record(record);
        }
        let row = &view.rows()[0];
        assert_eq!(row.changes as usize, HISTORY_LIMIT + 3);
        assert_eq!(row.history.len(), HISTORY_LIMIT);
        assert_eq!(row.history.front().map(|entry| entry.at), Some(at(3)));
        assert!(
            row.object
                .as_ref()
                .and_then(Packed::unpack)
                .is_some_and(|raw| raw.contains(r#""n":102"#))
        );
        assert!(
            view.timeline().iter().all(|record| record.object.is_none()),
            "the timeline keeps no object"
        );
        assert!(view.row_of(0, &row.latest.key).is_some());
    }

    #[test]
    fn a_deletion_found_by_a_relist_keeps_the_last_cells() {
        let mut view = ViewModel::new(vec![stream()], at(0));
        view.record(ChangeRecord::new(
            0,
            &label(false),
            &change(ChangeType::Added, "a", Some("{}"), None),
            at(1),
        ));
        let mut vanished = change(ChangeType::Deleted, "a", None, None);
        vanished.origin = Origin::Relist;
        view.record(ChangeRecord::new(0, &label(false), &vanished, at(2)));
        assert_eq!(view.rows()[0].latest.cells, ["a", "1", "<none>"]);
        assert_eq!(view.rows()[0].latest.event, ChangeType::Deleted);
    }

    #[test]
    fn deleted_rows_are_bounded() {
        let mut view = ViewModel::new(vec![stream()], at(0));
        for index in 0..(DELETED_ROWS_LIMIT + 5) {
            let name = format!("p{index}");
            view.record(ChangeRecord::new(
                0,
                &label(false),
                &change(ChangeType::Deleted, &name, Some("{}"), None),
                at(index as i64),
            ));
        }
        assert_eq!(
            view.rows().len(),
            DELETED_ROWS_LIMIT + 5,
            "nothing is dropped before a batch is due"
        );
        for index in (DELETED_ROWS_LIMIT + 5)..(DELETED_ROWS_LIMIT + DELETED_ROWS_BATCH + 1) {
            let name = format!("p{index}");
            view.record(ChangeRecord::new(
                0,
                &label(false),
                &change(ChangeType::Deleted, &name, Some("{}"), None),
                at(index as i64),
            ));
        }
        assert_eq!(view.rows().len(), DELETED_ROWS_LIMIT);
        assert_eq!(
            view.rows()[0].latest.key.name,
            "p101",
            "the oldest deletions went first"
        );
        view.record(ChangeRecord::new(
            0,
            &label(false),
            &change(ChangeType::Added, "p101", Some("{}"), None),
            at(5000),
        ));
        assert_eq!(
            view.rows()[0].latest.event,
            ChangeType::Added,
            "positions follow the rows that stayed"
        );
    }
}
