//! The "only new changes" semantics of one list/watch stream, as a pure state machine.
//!
//! It takes what the server said (list pages, watch events, bookmarks) and gives out the changes a user should
//! see: nothing for the first snapshot; afterwards every ADDED, MODIFIED and DELETED exactly once, including the
//! differences a relist finds after a gap. It does no I/O and reads no clock, so it can be fed any sequence.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Where an object lives: its namespace (none for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub namespace: Option<String>,
    pub name: String,
}

/// One stream's state as `--state` keeps it in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedStream {
    /// The version its watch had reached.
    #[serde(rename = "resourceVersion")]
    pub resource_version: Option<String>,
    pub objects: Vec<SavedObject>,
}

/// An object as a saved state knows it: `[namespace, name, uid, resourceVersion]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SavedObject(pub Option<String>, pub String, pub String, pub String);

/// What is kept of an object between its versions, so that a change can be compared with the version before.
pub trait Remember {
    type Memo: std::fmt::Debug + Clone + PartialEq;
    fn remember(&self) -> Self::Memo;
    /// Whether a memo holds all that a change is compared with; one from a metadata-only list does not, and its
    /// object's first change waits for the whole version (`StreamEvent::Filled`).
    fn complete(_memo: &Self::Memo) -> bool {
        true
    }
}

/// Nothing is kept: identity and version are all the semantics need.
impl Remember for () {
    type Memo = ();
    fn remember(&self) {}
}

/// One version of one object, as the server sent it, with whatever the output needs in `payload`.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<P> {
    pub key: ObjectKey,
    pub uid: String,
    pub resource_version: String,
    pub payload: P,
}

/// What the server said, in the order it said it.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<P> {
    /// A list begins: the items up to `ListEnd` are the complete state at one resourceVersion. A `ListBegin`
    /// before the `ListEnd` of an earlier one abandons that one.
    ListBegin,
    ListItem(Observed<P>),
    ListEnd {
        resource_version: String,
    },
    Added(Observed<P>),
    Modified(Observed<P>),
    Deleted(Observed<P>),
    Bookmark {
        resource_version: String,
    },
    /// The first list read only what tells objects apart (metadata), and the whole objects of the same
    /// snapshot follow (`Filled`): until an object's arrives, its first change waits for it, to be compared.
    FillBegin,
    /// An object as the first list's snapshot had it, read whole after the list.
    Filled(Observed<P>),
    /// No more whole objects will come: the changes still waiting go out as they are (what they changed
    /// cannot be said).
    FillEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    /// The name Kubernetes gives this event type.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// How a change became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A watch event reported it as it happened.
    Watch,
    /// A relist after a gap found it by comparing the new snapshot with what was known.
    Relist,
}

/// A change to report.
#[derive(Debug, Clone, PartialEq)]
pub struct Change<P: Remember> {
    pub change_type: ChangeType,
    pub key: ObjectKey,
    pub uid: String,
    /// The version this change produced. For an object that vanished during a gap, the version of the relist
    /// that found it gone (the version of its deletion itself is lost with the gap).
    pub resource_version: String,
    pub origin: Origin,
    /// The object as the server sent it; `None` only for an object that vanished during a gap.
    pub payload: Option<P>,
    /// What was kept of the version before this change; `None` for an object new to the tracker.
    pub previous: Option<P::Memo>,
}

#[derive(Debug, Clone)]
struct Known<M> {
    uid: String,
    resource_version: String,
    /// The relist that last listed this object; the ones a relist did not list are gone.
    listed_in: u64,
    memo: M,
    /// Its memo is of metadata only, and its whole version from the snapshot is still to come (`Filled`).
    awaiting: bool,
    /// Known from a saved state only (`--state`): nothing of it is kept until a list or a change brings it.
    blank: bool,
}

enum Phase<P: Remember> {
    /// No snapshot has finished yet; listed objects go straight into `known`, silently.
    FirstList,
    /// A relist is under way: the changes it found wait for its end, since it may be abandoned.
    Relist {
        pending: Vec<Change<P>>,
    },
    Watching,
}

/// The state of one stream: what is known of each object, and where the stream stands.
pub struct Tracker<P: Remember> {
    known: HashMap<ObjectKey, Known<P::Memo>>,
    phase: Phase<P>,
    relist_generation: u64,
    synced: bool,
    resume_version: Option<String>,
    /// The changes of objects whose version before them is still to come, each with its place in the order
    /// of arrival; they go out when it arrives, or at `FillEnd`.
    waiting: HashMap<ObjectKey, Vec<(u64, Change<P>)>>,
    arrivals: u64,
}

impl<P: Remember> Default for Tracker<P> {
    fn default() -> Self {
        Tracker {
            known: HashMap::new(),
            phase: Phase::FirstList,
            relist_generation: 0,
            synced: false,
            resume_version: None,
            waiting: HashMap::new(),
            arrivals: 0,
        }
    }
}

impl<P: Remember> Tracker<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream as a saved state left it (`--state`): synced, each object known by identity and version only.
    /// Its first list is then a relist: what changed meanwhile is reported, marked as found by a relist.
    pub fn restored(saved: SavedStream) -> Self
    where
        P::Memo: Default,
    {
        let known = saved
            .objects
            .into_iter()
            .map(|SavedObject(namespace, name, uid, resource_version)| {
                let known = Known {
                    uid,
                    resource_version,
                    listed_in: 0,
                    memo: P::Memo::default(),
                    awaiting: false,
                    blank: true,
                };
                (ObjectKey { namespace, name }, known)
            })
            .collect();
        Tracker {
            known,
            phase: Phase::Watching,
            synced: true,
            resume_version: saved.resource_version,
            ..Self::default()
        }
    }

    /// True once the first snapshot is complete; changes are reported only from then on.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// How many objects exist, as far as this stream knows.
    pub fn known_objects(&self) -> usize {
        self.known.len()
    }

    /// The resourceVersion to resume a watch from: the newest one seen on a list, event or bookmark.
    pub fn resume_version(&self) -> Option<&str> {
        self.resume_version.as_deref()
    }

    /// Where the stream stands, to be kept in a file (`--state`): the version to resume from and each object's
    /// identity and version, in the order of their keys. None before the first snapshot.
    pub fn saved(&self) -> Option<SavedStream> {
        if !self.synced {
            return None;
        }
        let mut objects: Vec<SavedObject> = self
            .known
            .iter()
            .map(|(key, known)| {
                SavedObject(
                    key.namespace.clone(),
                    key.name.clone(),
                    known.uid.clone(),
                    known.resource_version.clone(),
                )
            })
            .collect();
        objects.sort();
        Some(SavedStream {
            resource_version: self.resume_version.clone(),
            objects,
        })
    }

    /// Feeds one event in and appends the changes it makes to `changes`.
    pub fn apply(&mut self, event: StreamEvent<P>, changes: &mut Vec<Change<P>>) {
        match event {
            StreamEvent::ListBegin => self.begin_list(changes),
            StreamEvent::ListItem(object) => self.list_item(object),
            StreamEvent::ListEnd { resource_version } => self.end_list(resource_version, changes),
            StreamEvent::Added(object) | StreamEvent::Modified(object) => {
                // A modification of an object whose version before it is still to come waits for it.
                let awaited = self
                    .known
                    .get(&object.key)
                    .is_some_and(|known| known.awaiting && known.uid == object.uid);
                let mut found = Vec::new();
                self.observe(object, &mut found);
                self.pass_or_wait(found, awaited, changes);
            }
            StreamEvent::Deleted(object) => {
                let mut found = Vec::new();
                self.observe_deletion(object, &mut found);
                self.pass_or_wait(found, false, changes);
            }
            StreamEvent::Bookmark { resource_version } => self.resume_version = Some(resource_version),
            StreamEvent::FillBegin => self
                .known
                .values_mut()
                .for_each(|known| known.awaiting = !P::complete(&known.memo)),
            StreamEvent::Filled(object) => self.fill(object, changes),
            StreamEvent::FillEnd => self.end_fill(changes),
        }
    }

    /// Changes of an object whose version before them is still to come wait for it, and so do the later
    /// changes of an object with changes waiting, in order; the others go.
    fn pass_or_wait(&mut self, found: Vec<Change<P>>, awaited: bool, changes: &mut Vec<Change<P>>) {
        for change in found {
            if awaited || self.waiting.contains_key(&change.key) {
                self.arrivals += 1;
                let arrival = self.arrivals;
                self.waiting
                    .entry(change.key.clone())
                    .or_default()
                    .push((arrival, change));
            } else {
                changes.push(change);
            }
        }
    }

    /// The snapshot's whole version of one object: what its first change is compared with, or what the next
    /// one will be.
    fn fill(&mut self, object: Observed<P>, changes: &mut Vec<Change<P>>) {
        if let Some(mut waiting) = self.waiting.remove(&object.key) {
            if let Some((_, first)) = waiting.first_mut()
                && first.change_type == ChangeType::Modified
                && first.uid == object.uid
            {
                first.previous = Some(object.payload.remember());
            }
            changes.extend(waiting.into_iter().map(|(_, change)| change));
            return;
        }
        if let Some(known) = self.known.get_mut(&object.key)
            && known.awaiting
            && known.uid == object.uid
            && known.resource_version == object.resource_version
        {
            known.memo = object.payload.remember();
            known.awaiting = false;
        }
    }

    /// No whole version will come any more: what waited goes out in the order it arrived.
    fn end_fill(&mut self, changes: &mut Vec<Change<P>>) {
        self.release_waiting(changes);
        self.known.values_mut().for_each(|known| known.awaiting = false);
    }

    fn release_waiting(&mut self, changes: &mut Vec<Change<P>>) {
        let mut waited: Vec<(u64, Change<P>)> = self.waiting.drain().flat_map(|(_, waiting)| waiting).collect();
        waited.sort_by_key(|(arrival, _)| *arrival);
        changes.extend(waited.into_iter().map(|(_, change)| change));
    }

    fn begin_list(&mut self, changes: &mut Vec<Change<P>>) {
        if self.synced {
            // A relist compares with what is known: what waited goes out first, as it is.
            self.release_waiting(changes);
            self.relist_generation += 1;
            self.phase = Phase::Relist { pending: Vec::new() };
        } else {
            // An abandoned first list leaves nothing behind.
            self.known.clear();
            self.phase = Phase::FirstList;
        }
    }

    fn list_item(&mut self, object: Observed<P>) {
        let generation = self.relist_generation;
        match &mut self.phase {
            Phase::FirstList => {
                let memo = object.payload.remember();
                let known = Known {
                    uid: object.uid,
                    resource_version: object.resource_version,
                    listed_in: generation,
                    memo,
                    awaiting: false,
                    blank: false,
                };
                self.known.insert(object.key, known);
            }
            Phase::Relist { pending } => {
                let Some(known) = self.known.get_mut(&object.key) else {
                    pending.push(change(ChangeType::Added, Origin::Relist, object, None));
                    return;
                };
                // Marking is safe before the relist ends: an abandoned relist's marks are older than the next one's.
                known.listed_in = generation;
                if known.uid != object.uid {
                    pending.push(vanished(&object.key, &known.uid, &object.resource_version, None));
                    pending.push(change(ChangeType::Added, Origin::Relist, object, None));
                } else if known.resource_version != object.resource_version {
                    pending.push(change(ChangeType::Modified, Origin::Relist, object, None));
                } else if known.blank {
                    // The same version as the saved state's: now known whole, for its next change to be compared
                    // with (safe even if this relist is abandoned: it is that very version).
                    known.memo = object.payload.remember();
                    known.blank = false;
                }
            }
            Phase::Watching => debug_assert!(false, "a list item arrived outside a list"),
        }
    }

    fn end_list(&mut self, resource_version: String, changes: &mut Vec<Change<P>>) {
        match std::mem::replace(&mut self.phase, Phase::Watching) {
            Phase::FirstList => self.synced = true,
            Phase::Relist { mut pending } => {
                let generation = self.relist_generation;
                let mut gone: Vec<_> = self
                    .known
                    .iter()
                    .filter(|(_, known)| known.listed_in != generation)
                    .map(|(key, known)| vanished(key, &known.uid, &resource_version, None))
                    .collect();
                gone.sort_by(|a, b| a.key.cmp(&b.key));
                pending.extend(gone);
                // What was known is updated only now, since the relist could have been abandoned.
                for found in &mut pending {
                    found.previous = match found.change_type {
                        ChangeType::Deleted => self.known.remove(&found.key).map(|known| known.memo),
                        ChangeType::Added | ChangeType::Modified => {
                            let memo = found.payload.as_ref().map(Remember::remember);
                            let known = memo.map(|memo| Known {
                                uid: found.uid.clone(),
                                resource_version: found.resource_version.clone(),
                                listed_in: generation,
                                memo,
                                awaiting: false,
                                blank: false,
                            });
                            known
                                .and_then(|known| self.known.insert(found.key.clone(), known))
                                .map(|old| old.memo)
                        }
                    };
                }
                changes.extend(pending);
            }
            Phase::Watching => debug_assert!(false, "a list ended that never began"),
        }
        self.resume_version = Some(resource_version);
    }

    fn observe(&mut self, object: Observed<P>, changes: &mut Vec<Change<P>>) {
        self.resume_version = Some(object.resource_version.clone());
        let generation = self.relist_generation;
        let fresh = |object: &Observed<P>| Known {
            uid: object.uid.clone(),
            resource_version: object.resource_version.clone(),
            listed_in: generation,
            memo: object.payload.remember(),
            awaiting: false,
            blank: false,
        };
        match self.known.entry(object.key.clone()) {
            Entry::Vacant(entry) => {
                entry.insert(fresh(&object));
                changes.push(change(ChangeType::Added, Origin::Watch, object, None));
            }
            Entry::Occupied(mut entry) => {
                let known = entry.get_mut();
                if known.uid != object.uid {
                    // The old object's deletion was never seen; report it before its successor.
                    let old = std::mem::replace(known, fresh(&object));
                    changes.push(vanished(
                        &object.key,
                        &old.uid,
                        &object.resource_version,
                        Some(old.memo),
                    ));
                    changes.push(change(ChangeType::Added, Origin::Watch, object, None));
                } else if known.resource_version != object.resource_version {
                    let old = std::mem::replace(known, fresh(&object));
                    changes.push(change(ChangeType::Modified, Origin::Watch, object, Some(old.memo)));
                }
                // The same version again (a replayed event) is not a change.
            }
        }
    }

    fn observe_deletion(&mut self, object: Observed<P>, changes: &mut Vec<Change<P>>) {
        self.resume_version = Some(object.resource_version.clone());
        // An object never known was never shown, and a relist may already have reported it gone.
        if let Some(known) = self.known.remove(&object.key) {
            changes.push(change(ChangeType::Deleted, Origin::Watch, object, Some(known.memo)));
        }
    }
}

fn change<P: Remember>(
    change_type: ChangeType,
    origin: Origin,
    object: Observed<P>,
    previous: Option<P::Memo>,
) -> Change<P> {
    Change {
        change_type,
        key: object.key,
        uid: object.uid,
        resource_version: object.resource_version,
        origin,
        payload: Some(object.payload),
        previous,
    }
}

fn vanished<P: Remember>(key: &ObjectKey, uid: &str, as_of: &str, previous: Option<P::Memo>) -> Change<P> {
    Change {
        change_type: ChangeType::Deleted,
        key: key.clone(),
        uid: uid.to_string(),
        resource_version: as_of.to_string(),
        origin: Origin::Relist,
        payload: None,
        previous,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn object(name: &str, uid: &str, resource_version: u64) -> Observed<()> {
        Observed {
            key: key(name),
            uid: uid.into(),
            resource_version: resource_version.to_string(),
            payload: (),
        }
    }

    fn feed(tracker: &mut Tracker<()>, events: Vec<StreamEvent<()>>) -> Vec<(ChangeType, String, String, bool)> {
        let mut changes = Vec::new();
        for event in events {
            tracker.apply(event, &mut changes);
        }
        changes
            .into_iter()
            .map(|c| (c.change_type, c.key.name, c.resource_version, c.payload.is_some()))
            .collect()
    }

    fn synced_with(objects: &[(&str, &str, u64)], list_version: u64) -> Tracker<()> {
        let mut tracker = Tracker::new();
        let mut events = vec![StreamEvent::ListBegin];
        events.extend(
            objects
                .iter()
                .map(|(name, uid, rv)| StreamEvent::ListItem(object(name, uid, *rv))),
        );
        events.push(StreamEvent::ListEnd {
            resource_version: list_version.to_string(),
        });
        assert!(
            feed(&mut tracker, events).is_empty(),
            "the first snapshot is never reported"
        );
        tracker
    }

    use ChangeType::{Added, Deleted, Modified};

    #[test]
    fn the_first_snapshot_is_silent_and_sets_the_resume_point() {
        let tracker = synced_with(&[("a", "ua", 5), ("b", "ub", 7)], 9);
        assert!(tracker.is_synced());
        assert_eq!(tracker.known_objects(), 2);
        assert_eq!(tracker.resume_version(), Some("9"));
    }

    #[test]
    fn watch_events_after_the_snapshot_are_reported_once() {
        let mut tracker = synced_with(&[("a", "ua", 5)], 9);
        let changes = feed(
            &mut tracker,
            vec![
                StreamEvent::Added(object("b", "ub", 10)),
                StreamEvent::Modified(object("a", "ua", 11)),
                StreamEvent::Modified(object("a", "ua", 11)), // replayed
                StreamEvent::Deleted(object("b", "ub", 12)),
                StreamEvent::Bookmark {
                    resource_version: "15".into(),
                },
            ],
        );
        assert_eq!(
            changes,
            vec![
                (Added, "b".into(), "10".into(), true),
                (Modified, "a".into(), "11".into(), true),
                (Deleted, "b".into(), "12".into(), true),
            ]
        );
        assert_eq!(tracker.resume_version(), Some("15"));
    }

    #[test]
    fn a_snapshot_object_seen_again_as_added_is_not_new() {
        let mut tracker = synced_with(&[("a", "ua", 5)], 9);
        assert!(feed(&mut tracker, vec![StreamEvent::Added(object("a", "ua", 5))]).is_empty());
    }

    #[test]
    fn a_relist_reports_only_the_differences() {
        let mut tracker = synced_with(
            &[
                ("same", "u1", 5),
                ("changed", "u2", 6),
                ("gone", "u3", 7),
                ("replaced", "u4", 8),
            ],
            9,
        );
        let changes = feed(
            &mut tracker,
            vec![
                StreamEvent::ListBegin,
                StreamEvent::ListItem(object("same", "u1", 5)),
                StreamEvent::ListItem(object("changed", "u2", 20)),
                StreamEvent::ListItem(object("replaced", "u5", 21)),
                StreamEvent::ListItem(object("new", "u6", 22)),
                StreamEvent::ListEnd {
                    resource_version: "30".into(),
                },
            ],
        );
        assert_eq!(
            changes,
            vec![
                (Modified, "changed".into(), "20".into(), true),
                (Deleted, "replaced".into(), "21".into(), false),
                (Added, "replaced".into(), "21".into(), true),
                (Added, "new".into(), "22".into(), true),
                (Deleted, "gone".into(), "30".into(), false),
            ]
        );
        assert_eq!(tracker.known_objects(), 4);
        assert_eq!(tracker.resume_version(), Some("30"));
        // What the relist learnt is what is known now: the same versions again are no change.
        let again = feed(&mut tracker, vec![StreamEvent::Modified(object("changed", "u2", 20))]);
        assert!(again.is_empty());
    }

    #[test]
    fn an_abandoned_relist_changes_nothing() {
        let mut tracker = synced_with(&[("a", "ua", 5), ("b", "ub", 6)], 9);
        let changes = feed(
            &mut tracker,
            vec![
                StreamEvent::ListBegin,
                StreamEvent::ListItem(object("a", "ua", 15)),
                StreamEvent::ListBegin, // the first relist broke off after one page
                StreamEvent::ListItem(object("a", "ua", 15)),
                StreamEvent::ListItem(object("b", "ub", 6)),
                StreamEvent::ListEnd {
                    resource_version: "20".into(),
                },
            ],
        );
        assert_eq!(changes, vec![(Modified, "a".into(), "15".into(), true)]);
    }

    #[test]
    fn an_abandoned_first_list_leaves_nothing_behind() {
        let mut tracker = Tracker::new();
        let changes = feed(
            &mut tracker,
            vec![
                StreamEvent::ListBegin,
                StreamEvent::ListItem(object("deleted-meanwhile", "u1", 3)),
                StreamEvent::ListBegin,
                StreamEvent::ListItem(object("a", "ua", 4)),
                StreamEvent::ListEnd {
                    resource_version: "9".into(),
                },
                StreamEvent::Added(object("deleted-meanwhile", "u7", 10)),
            ],
        );
        assert_eq!(changes, vec![(Added, "deleted-meanwhile".into(), "10".into(), true)]);
    }

    #[test]
    fn a_name_reused_by_a_new_object_is_a_delete_then_an_add() {
        let mut tracker = synced_with(&[("a", "old", 5)], 9);
        let changes = feed(&mut tracker, vec![StreamEvent::Added(object("a", "new", 12))]);
        assert_eq!(
            changes,
            vec![
                (Deleted, "a".into(), "12".into(), false),
                (Added, "a".into(), "12".into(), true)
            ]
        );
    }

    #[test]
    fn deletes_of_unknown_objects_are_not_reported() {
        let mut tracker = synced_with(&[], 9);
        assert!(feed(&mut tracker, vec![StreamEvent::Deleted(object("a", "ua", 12))]).is_empty());
        assert_eq!(tracker.resume_version(), Some("12"));
    }

    /// A payload that remembers which content it had, to check what each change says came before it.
    #[derive(Debug, Clone, PartialEq)]
    struct Content(&'static str);

    impl Remember for Content {
        type Memo = &'static str;
        fn remember(&self) -> &'static str {
            self.0
        }
    }

    fn content(name: &str, uid: &str, rv: u64, text: &'static str) -> Observed<Content> {
        Observed {
            key: key(name),
            uid: uid.into(),
            resource_version: rv.to_string(),
            payload: Content(text),
        }
    }

    #[test]
    fn each_change_carries_what_was_kept_of_the_version_before() {
        let mut tracker: Tracker<Content> = Tracker::new();
        let mut changes = Vec::new();
        for event in [
            StreamEvent::ListBegin,
            StreamEvent::ListItem(content("a", "ua", 1, "a1")),
            StreamEvent::ListItem(content("b", "ub", 2, "b1")),
            StreamEvent::ListItem(content("c", "uc", 3, "c1")),
            StreamEvent::ListEnd {
                resource_version: "3".into(),
            },
            StreamEvent::Modified(content("a", "ua", 4, "a2")),
            StreamEvent::Deleted(content("b", "ub", 5, "b-final")),
            StreamEvent::Added(content("n", "un", 6, "n1")),
            StreamEvent::ListBegin,
            StreamEvent::ListItem(content("a", "ua", 7, "a3")),
            StreamEvent::ListItem(content("n", "un2", 8, "n-new")),
            StreamEvent::ListEnd {
                resource_version: "9".into(),
            },
            StreamEvent::Modified(content("n", "un2", 10, "n-newer")),
        ] {
            tracker.apply(event, &mut changes);
        }
        let seen: Vec<(ChangeType, &str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.change_type, c.key.name.as_str(), c.previous))
            .collect();
        assert_eq!(
            seen,
            [
                (Modified, "a", Some("a1")),
                (Deleted, "b", Some("b1")),
                (Added, "n", None),
                (Modified, "a", Some("a2")),
                (Deleted, "n", Some("n1")),
                (Added, "n", None),
                (Deleted, "c", Some("c1")),
                (Modified, "n", Some("n-new")),
            ]
        );
    }

    #[test]
    fn a_restored_state_is_synced_and_its_first_list_reports_what_changed_meanwhile_as_a_relist() {
        let mut tracker = synced_with(&[("a", "ua", 5), ("b", "ub", 6), ("c", "uc", 7)], 9);
        assert!(feed(&mut tracker, vec![StreamEvent::Modified(object("b", "ub", 12))]).len() == 1);
        let saved = tracker.saved().expect("synced");
        assert_eq!(saved.resource_version.as_deref(), Some("12"));
        let text = serde_json::to_string(&saved).expect("serialised");
        assert_eq!(
            text,
            r#"{"resourceVersion":"12","objects":[["ns","a","ua","5"],["ns","b","ub","12"],["ns","c","uc","7"]]}"#
        );
        let mut restored: Tracker<()> = Tracker::restored(serde_json::from_str(&text).expect("read back"));
        assert!(restored.is_synced());
        assert_eq!(restored.known_objects(), 3);
        assert_eq!(restored.resume_version(), Some("12"));
        let mut changes = Vec::new();
        for event in [
            StreamEvent::ListBegin,
            StreamEvent::ListItem(object("a", "ua", 5)),
            StreamEvent::ListItem(object("b", "ub", 15)),
            StreamEvent::ListItem(object("d", "ud", 14)),
            StreamEvent::ListEnd {
                resource_version: "20".into(),
            },
        ] {
            restored.apply(event, &mut changes);
        }
        let found: Vec<(ChangeType, &str, Origin)> = changes
            .iter()
            .map(|change| (change.change_type, change.key.name.as_str(), change.origin))
            .collect();
        assert_eq!(
            found,
            [
                (Modified, "b", Origin::Relist),
                (Added, "d", Origin::Relist),
                (Deleted, "c", Origin::Relist)
            ]
        );
        assert!(
            Tracker::<()>::new().saved().is_none(),
            "nothing to keep before the first snapshot"
        );
    }

    #[test]
    fn a_restored_object_is_known_whole_once_a_list_or_a_change_brings_it() {
        let saved = SavedStream {
            resource_version: Some("9".into()),
            objects: vec![
                SavedObject(Some("ns".into()), "a".into(), "ua".into(), "5".into()),
                SavedObject(Some("ns".into()), "b".into(), "ub".into(), "6".into()),
            ],
        };
        let mut tracker: Tracker<Content> = Tracker::restored(saved);
        let mut changes = Vec::new();
        for event in [
            // b changes before any list: nothing of its version before is known.
            StreamEvent::Modified(content("b", "ub", 10, "b2")),
            StreamEvent::ListBegin,
            StreamEvent::ListItem(content("a", "ua", 5, "a1")),
            StreamEvent::ListItem(content("b", "ub", 10, "b2")),
            StreamEvent::ListEnd {
                resource_version: "11".into(),
            },
            // a was listed unchanged: its next change is compared with what the list brought.
            StreamEvent::Modified(content("a", "ua", 12, "a2")),
            StreamEvent::Modified(content("b", "ub", 13, "b3")),
        ] {
            tracker.apply(event, &mut changes);
        }
        let seen: Vec<(ChangeType, &str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.change_type, c.key.name.as_str(), c.previous))
            .collect();
        assert_eq!(
            seen,
            [
                (Modified, "b", Some("")),
                (Modified, "a", Some("a1")),
                (Modified, "b", Some("b2"))
            ]
        );
    }

    mod against_a_simulated_server {
        //! Random cluster histories with disconnects, compactions (410 Gone) and relists, checked against what
        //! the server really did.

        use std::collections::{BTreeMap, HashMap, HashSet};

        use proptest::prelude::*;

        use super::super::*;

        #[derive(Debug, Clone)]
        enum Step {
            Create(usize),
            Update(usize),
            Delete(usize),
            Disconnect,
            Reconnect,
            Compact,
            Bookmark,
            /// A relist that breaks off after this many items, followed by a complete one.
            AbandonedRelist(usize),
            /// The newest event delivered once more, as an at-least-once transport may.
            DuplicateLast,
        }

        const NAMES: usize = 4;

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                4 => (0..NAMES).prop_map(Step::Create),
                4 => (0..NAMES).prop_map(Step::Update),
                3 => (0..NAMES).prop_map(Step::Delete),
                2 => Just(Step::Disconnect),
                2 => Just(Step::Reconnect),
                1 => Just(Step::Compact),
                1 => Just(Step::Bookmark),
                1 => (0..3usize).prop_map(Step::AbandonedRelist),
                1 => Just(Step::DuplicateLast),
            ]
        }

        #[derive(Debug, Clone, Copy, PartialEq)]
        enum Kind {
            Added,
            Modified,
            Deleted,
        }

        #[derive(Default)]
        struct Server {
            revision: u64,
            next_uid: u64,
            objects: BTreeMap<usize, (String, u64)>,
            history: Vec<(u64, Kind, usize, String)>,
            compacted_to: u64,
        }

        impl Server {
            fn mutate(&mut self, kind: Kind, name: usize) -> bool {
                let exists = self.objects.contains_key(&name);
                if (kind == Kind::Added) == exists {
                    return false;
                }
                self.revision += 1;
                let uid = match kind {
                    Kind::Added => {
                        self.next_uid += 1;
                        format!("uid-{}", self.next_uid)
                    }
                    _ => self.objects[&name].0.clone(),
                };
                match kind {
                    Kind::Deleted => {
                        self.objects.remove(&name);
                    }
                    _ => {
                        self.objects.insert(name, (uid.clone(), self.revision));
                    }
                }
                self.history.push((self.revision, kind, name, uid));
                true
            }

            fn list(&self) -> Vec<StreamEvent<()>> {
                let mut events = vec![StreamEvent::ListBegin];
                events.extend(
                    self.objects
                        .iter()
                        .map(|(name, (uid, rv))| StreamEvent::ListItem(observed(*name, uid, *rv))),
                );
                events.push(StreamEvent::ListEnd {
                    resource_version: self.revision.to_string(),
                });
                events
            }
        }

        fn observed(name: usize, uid: &str, rv: u64) -> Observed<()> {
            Observed {
                key: ObjectKey {
                    namespace: None,
                    name: format!("o{name}"),
                },
                uid: uid.to_string(),
                resource_version: rv.to_string(),
                payload: (),
            }
        }

        fn event(kind: Kind, name: usize, uid: &str, rv: u64) -> StreamEvent<()> {
            let object = observed(name, uid, rv);
            match kind {
                Kind::Added => StreamEvent::Added(object),
                Kind::Modified => StreamEvent::Modified(object),
                Kind::Deleted => StreamEvent::Deleted(object),
            }
        }

        struct Client {
            tracker: Tracker<()>,
            connected: bool,
            changes: Vec<Change<()>>,
            /// Objects whose existence the client could have seen: live or replayed events, and lists.
            observable: HashSet<String>,
            relisted: bool,
            last_watch_event: Option<StreamEvent<()>>,
        }

        impl Client {
            fn feed(&mut self, event: StreamEvent<()>) {
                match &event {
                    StreamEvent::ListItem(o)
                    | StreamEvent::Added(o)
                    | StreamEvent::Modified(o)
                    | StreamEvent::Deleted(o) => {
                        self.observable.insert(o.uid.clone());
                    }
                    _ => {}
                }
                if matches!(
                    event,
                    StreamEvent::Added(_) | StreamEvent::Modified(_) | StreamEvent::Deleted(_)
                ) {
                    self.last_watch_event = Some(event.clone());
                }
                self.tracker.apply(event, &mut self.changes);
            }

            /// Resumes from the last version seen, or relists when the server's history no longer reaches it.
            fn reconnect(&mut self, server: &Server) {
                let resume: u64 = self.tracker.resume_version().expect("synced").parse().expect("numeric");
                if resume < server.compacted_to {
                    self.relisted = true;
                    for event in server.list() {
                        self.feed(event);
                    }
                } else {
                    for (rv, kind, name, uid) in server.history.iter().filter(|(rv, ..)| *rv > resume) {
                        self.feed(event(*kind, *name, uid, *rv));
                    }
                }
                self.connected = true;
            }
        }

        fn run(initial: Vec<usize>, ghosts: Vec<usize>, steps: Vec<Step>) -> Result<(), TestCaseError> {
            let mut server = Server::default();
            for name in initial {
                server.mutate(Kind::Added, name);
            }
            // A first list that breaks off after listing objects deleted before the complete list.
            let mut abandoned = Vec::new();
            for &name in &ghosts {
                server.mutate(Kind::Added, name);
            }
            if !ghosts.is_empty() {
                abandoned = server.list();
                abandoned.pop();
            }
            for name in ghosts {
                server.mutate(Kind::Deleted, name);
            }
            let snapshot: HashMap<String, u64> = server.objects.values().map(|(uid, rv)| (uid.clone(), *rv)).collect();
            let mut client = Client {
                tracker: Tracker::new(),
                connected: true,
                changes: Vec::new(),
                observable: HashSet::new(),
                relisted: false,
                last_watch_event: None,
            };
            for event in abandoned.into_iter().chain(server.list()) {
                client.tracker.apply(event, &mut client.changes);
            }
            prop_assert!(client.changes.is_empty(), "the snapshot was reported");
            let start = server.history.len();

            for step in steps {
                let mutated = match step {
                    Step::Create(name) => server.mutate(Kind::Added, name),
                    Step::Update(name) => server.mutate(Kind::Modified, name),
                    Step::Delete(name) => server.mutate(Kind::Deleted, name),
                    Step::Disconnect => {
                        client.connected = false;
                        client.last_watch_event = None;
                        false
                    }
                    Step::Reconnect => {
                        if !client.connected {
                            client.reconnect(&server);
                        }
                        false
                    }
                    Step::Compact => {
                        server.compacted_to = server.revision;
                        // The watch stream is cut with 410 Gone too, as a compaction under a slow watcher does.
                        client.connected = false;
                        client.last_watch_event = None;
                        false
                    }
                    Step::Bookmark => {
                        if client.connected {
                            client.feed(StreamEvent::Bookmark {
                                resource_version: server.revision.to_string(),
                            });
                        }
                        false
                    }
                    Step::DuplicateLast => {
                        if client.connected
                            && let Some(last) = client.last_watch_event.clone()
                        {
                            client.feed(last);
                        }
                        false
                    }
                    Step::AbandonedRelist(items) => {
                        if client.connected {
                            client.relisted = true;
                            let mut partial = server.list();
                            partial.truncate(1 + items.min(partial.len().saturating_sub(2)));
                            for event in partial {
                                client.feed(event);
                            }
                            for event in server.list() {
                                client.feed(event);
                            }
                        }
                        false
                    }
                };
                if mutated && client.connected {
                    let (rv, kind, name, uid) = server.history.last().cloned().expect("just mutated");
                    client.feed(event(kind, name, &uid, rv));
                }
            }
            if !client.connected {
                client.reconnect(&server);
            }

            // Replaying the reported changes over the snapshot gives exactly what the server has now.
            let mut view: HashMap<String, (String, String)> = HashMap::new();
            for (name, (uid, rv)) in
                server.history[..start]
                    .iter()
                    .fold(BTreeMap::new(), |mut state, (rv, kind, name, uid)| {
                        if *kind == Kind::Deleted {
                            state.remove(name);
                        } else {
                            state.insert(*name, (uid.clone(), *rv));
                        }
                        state
                    })
            {
                view.insert(format!("o{name}"), (uid, rv.to_string()));
            }
            let mut reported_versions = HashSet::new();
            let mut added = HashSet::new();
            for change in &client.changes {
                prop_assert!(
                    reported_versions.insert((change.uid.clone(), change.resource_version.clone())),
                    "version {} of {} reported twice",
                    change.resource_version,
                    change.uid
                );
                match change.change_type {
                    ChangeType::Added => {
                        prop_assert!(
                            !snapshot.contains_key(&change.uid),
                            "snapshot object {} reported as ADDED",
                            change.uid
                        );
                        prop_assert!(added.insert(change.uid.clone()), "{} ADDED twice", change.uid);
                        prop_assert!(
                            view.insert(
                                change.key.name.clone(),
                                (change.uid.clone(), change.resource_version.clone())
                            )
                            .is_none(),
                            "ADDED over a live object {}",
                            change.key.name
                        );
                    }
                    ChangeType::Modified => {
                        let current = view.get_mut(&change.key.name);
                        prop_assert!(
                            current.as_ref().is_some_and(|(uid, _)| *uid == change.uid),
                            "MODIFIED of an unknown object"
                        );
                        if let Some(current) = current {
                            current.1 = change.resource_version.clone();
                        }
                    }
                    ChangeType::Deleted => {
                        let removed = view.remove(&change.key.name);
                        prop_assert!(
                            removed.is_some_and(|(uid, _)| uid == change.uid),
                            "DELETED of an unknown object"
                        );
                    }
                }
            }
            let truth: HashMap<String, (String, String)> = server
                .objects
                .iter()
                .map(|(name, (uid, rv))| (format!("o{name}"), (uid.clone(), rv.to_string())))
                .collect();
            prop_assert_eq!(
                &view,
                &truth,
                "the reported changes do not add up to the server's state"
            );

            // Every object created after the start that the client could see is reported; only those created and
            // deleted inside one gap stay invisible.
            let created: HashSet<String> = server.history[start..]
                .iter()
                .filter(|(_, kind, ..)| *kind == Kind::Added)
                .map(|(.., uid)| uid.clone())
                .collect();
            for uid in &created {
                prop_assert_eq!(
                    added.contains(uid),
                    client.observable.contains(uid),
                    "object {} seen but not reported",
                    uid
                );
            }

            // Without a relist nothing is lost or merged: the output is the server's history since the start.
            if !client.relisted {
                let expected: Vec<(String, String)> = server.history[start..]
                    .iter()
                    .map(|(rv, _, _, uid)| (uid.clone(), rv.to_string()))
                    .collect();
                let reported: Vec<(String, String)> = client
                    .changes
                    .iter()
                    .map(|c| (c.uid.clone(), c.resource_version.clone()))
                    .collect();
                prop_assert_eq!(reported, expected);
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn reported_changes_match_the_server(
                initial in proptest::collection::vec(0..NAMES, 0..NAMES),
                ghosts in proptest::collection::vec(NAMES..NAMES + 2, 0..2),
                steps in proptest::collection::vec(step(), 0..60),
            ) {
                run(initial, ghosts, steps)?;
            }
        }
    }

    /// The first list read metadata only and the whole objects of its snapshot come after it (`Filled`).
    mod filled_after_the_list {
        use super::*;
        use proptest::prelude::*;

        /// A payload whose memo says which version it is, or that only its metadata was read.
        #[derive(Debug, Clone, PartialEq)]
        struct Version(String);

        impl Remember for Version {
            type Memo = String;
            fn remember(&self) -> String {
                self.0.clone()
            }
            fn complete(memo: &String) -> bool {
                memo != "metadata"
            }
        }

        fn version(name: &str, rv: u64, memo: &str) -> Observed<Version> {
            Observed {
                key: key(name),
                uid: format!("u-{name}"),
                resource_version: rv.to_string(),
                payload: Version(memo.to_string()),
            }
        }

        fn filling(names: &[&str]) -> Tracker<Version> {
            let mut tracker = Tracker::new();
            let mut none = Vec::new();
            tracker.apply(StreamEvent::ListBegin, &mut none);
            for (rv, name) in names.iter().enumerate() {
                tracker.apply(
                    StreamEvent::ListItem(version(name, rv as u64 + 1, "metadata")),
                    &mut none,
                );
            }
            tracker.apply(
                StreamEvent::ListEnd {
                    resource_version: "100".into(),
                },
                &mut none,
            );
            tracker.apply(StreamEvent::FillBegin, &mut none);
            assert!(none.is_empty());
            tracker
        }

        fn seen(changes: &[Change<Version>]) -> Vec<(ChangeType, String, String, Option<String>)> {
            changes
                .iter()
                .map(|c| {
                    (
                        c.change_type,
                        c.key.name.clone(),
                        c.resource_version.clone(),
                        c.previous.clone(),
                    )
                })
                .collect()
        }

        #[test]
        fn a_first_modification_waits_for_the_whole_version_before_it() {
            let mut tracker = filling(&["a", "b"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Modified(version("a", 101, "a@101")), &mut changes);
            tracker.apply(StreamEvent::Modified(version("a", 102, "a@102")), &mut changes);
            tracker.apply(StreamEvent::Added(version("c", 103, "c@103")), &mut changes);
            assert_eq!(
                seen(&changes),
                vec![(Added, "c".into(), "103".into(), None)],
                "a waits, c goes"
            );
            tracker.apply(StreamEvent::Filled(version("a", 1, "a@1")), &mut changes);
            assert_eq!(
                seen(&changes[1..]),
                vec![
                    (Modified, "a".into(), "101".into(), Some("a@1".into())),
                    (Modified, "a".into(), "102".into(), Some("a@101".into())),
                ]
            );
        }

        #[test]
        fn an_object_the_list_read_whole_does_not_wait() {
            let mut tracker = Tracker::new();
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::ListBegin, &mut changes);
            tracker.apply(StreamEvent::ListItem(version("a", 1, "a@1")), &mut changes);
            tracker.apply(StreamEvent::ListItem(version("b", 2, "metadata")), &mut changes);
            tracker.apply(
                StreamEvent::ListEnd {
                    resource_version: "100".into(),
                },
                &mut changes,
            );
            tracker.apply(StreamEvent::FillBegin, &mut changes);
            tracker.apply(StreamEvent::Modified(version("a", 101, "a@101")), &mut changes);
            tracker.apply(StreamEvent::Modified(version("b", 102, "b@102")), &mut changes);
            assert_eq!(
                seen(&changes),
                vec![(Modified, "a".into(), "101".into(), Some("a@1".into()))]
            );
        }

        #[test]
        fn a_version_filled_before_its_first_change_is_what_that_change_is_compared_with() {
            let mut tracker = filling(&["a"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Filled(version("a", 1, "a@1")), &mut changes);
            tracker.apply(StreamEvent::Modified(version("a", 101, "a@101")), &mut changes);
            assert_eq!(
                seen(&changes),
                vec![(Modified, "a".into(), "101".into(), Some("a@1".into()))]
            );
        }

        #[test]
        fn a_deletion_waits_behind_a_waiting_modification_and_goes_at_once_otherwise() {
            let mut tracker = filling(&["a", "b"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Modified(version("a", 101, "a@101")), &mut changes);
            tracker.apply(StreamEvent::Deleted(version("a", 102, "a@102")), &mut changes);
            tracker.apply(StreamEvent::Deleted(version("b", 103, "b@103")), &mut changes);
            assert_eq!(
                seen(&changes),
                vec![(Deleted, "b".into(), "103".into(), Some("metadata".into()))]
            );
            tracker.apply(StreamEvent::Filled(version("b", 2, "b@2")), &mut changes);
            tracker.apply(StreamEvent::Filled(version("a", 1, "a@1")), &mut changes);
            assert_eq!(
                seen(&changes[1..]),
                vec![
                    (Modified, "a".into(), "101".into(), Some("a@1".into())),
                    (Deleted, "a".into(), "102".into(), Some("a@101".into())),
                ]
            );
        }

        #[test]
        fn the_end_of_the_fill_lets_what_waited_go_in_the_order_it_came() {
            let mut tracker = filling(&["a", "b"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Modified(version("b", 101, "b@101")), &mut changes);
            tracker.apply(StreamEvent::Modified(version("a", 102, "a@102")), &mut changes);
            tracker.apply(StreamEvent::Modified(version("b", 103, "b@103")), &mut changes);
            assert!(changes.is_empty());
            tracker.apply(StreamEvent::FillEnd, &mut changes);
            assert_eq!(
                seen(&changes),
                vec![
                    (Modified, "b".into(), "101".into(), Some("metadata".into())),
                    (Modified, "a".into(), "102".into(), Some("metadata".into())),
                    (Modified, "b".into(), "103".into(), Some("b@101".into())),
                ]
            );
            // Nothing waits any more.
            tracker.apply(StreamEvent::Modified(version("a", 104, "a@104")), &mut changes);
            assert_eq!(changes.len(), 4);
        }

        #[test]
        fn a_relist_lets_what_waited_go_before_what_it_finds() {
            let mut tracker = filling(&["a"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Modified(version("a", 101, "a@101")), &mut changes);
            tracker.apply(StreamEvent::ListBegin, &mut changes);
            tracker.apply(StreamEvent::ListItem(version("a", 105, "a@105")), &mut changes);
            tracker.apply(
                StreamEvent::ListEnd {
                    resource_version: "106".into(),
                },
                &mut changes,
            );
            assert_eq!(
                seen(&changes),
                vec![
                    (Modified, "a".into(), "101".into(), Some("metadata".into())),
                    (Modified, "a".into(), "105".into(), Some("a@101".into())),
                ]
            );
        }

        #[test]
        fn a_recreated_object_is_not_filled_with_its_predecessor() {
            let mut tracker = filling(&["a"]);
            let mut changes = Vec::new();
            tracker.apply(StreamEvent::Deleted(version("a", 101, "a@101")), &mut changes);
            let mut successor = version("a", 102, "a@102");
            successor.uid = "u-a2".into();
            tracker.apply(StreamEvent::Added(successor.clone()), &mut changes);
            tracker.apply(StreamEvent::Filled(version("a", 1, "a@1")), &mut changes);
            successor.resource_version = "103".into();
            successor.payload = Version("a@103".into());
            tracker.apply(StreamEvent::Modified(successor), &mut changes);
            assert_eq!(
                seen(&changes),
                vec![
                    (Deleted, "a".into(), "101".into(), Some("metadata".into())),
                    (Added, "a".into(), "102".into(), None),
                    (Modified, "a".into(), "103".into(), Some("a@102".into())),
                ]
            );
        }

        /// One step after the list: a modification or deletion of an object, or its snapshot version filled.
        #[derive(Debug, Clone)]
        enum Step {
            Modify(usize),
            Delete(usize),
            Fill(usize),
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                (0..4usize).prop_map(Step::Modify),
                (0..4usize).prop_map(Step::Delete),
                (0..4usize).prop_map(Step::Fill),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            /// Whatever the order in which changes and filled versions come: every change is reported once,
            /// each object's in its order, every modification compared with the whole version before it when
            /// that was filled before the fill ended, and with the metadata otherwise.
            #[test]
            fn every_change_is_reported_once_and_compared_with_the_version_before_it(
                steps in proptest::collection::vec(step(), 0..40),
                end_early in any::<bool>(),
            ) {
                const NAMES: [&str; 4] = ["a", "b", "c", "d"];
                let mut tracker = filling(&NAMES);
                let mut changes = Vec::new();
                // What the server holds: each object's versions, the snapshot's first (rv = its index + 1).
                let mut versions: Vec<Vec<u64>> = (0..NAMES.len()).map(|i| vec![i as u64 + 1]).collect();
                let mut deleted = [false; 4];
                let mut filled = [false; 4];
                let mut ended = false;
                let mut expected: Vec<(usize, ChangeType, u64)> = Vec::new();
                let mut next_rv = 101;
                let cut = if end_early { steps.len() / 2 } else { steps.len() };
                for (index, step) in steps.iter().enumerate() {
                    if index == cut && !ended {
                        tracker.apply(StreamEvent::FillEnd, &mut changes);
                        ended = true;
                    }
                    match *step {
                        Step::Modify(i) if !deleted[i] => {
                            let name = NAMES[i];
                            tracker.apply(StreamEvent::Modified(version(name, next_rv, &format!("{name}@{next_rv}"))), &mut changes);
                            versions[i].push(next_rv);
                            expected.push((i, Modified, next_rv));
                            next_rv += 1;
                        }
                        Step::Delete(i) if !deleted[i] => {
                            let name = NAMES[i];
                            tracker.apply(StreamEvent::Deleted(version(name, next_rv, "gone")), &mut changes);
                            deleted[i] = true;
                            expected.push((i, Deleted, next_rv));
                            next_rv += 1;
                        }
                        Step::Fill(i) if !filled[i] && !ended => {
                            let name = NAMES[i];
                            let first = i as u64 + 1;
                            tracker.apply(StreamEvent::Filled(version(name, first, &format!("{name}@{first}"))), &mut changes);
                            filled[i] = true;
                        }
                        _ => {}
                    }
                }
                if !ended {
                    tracker.apply(StreamEvent::FillEnd, &mut changes);
                }
                // Every change once; each object's in its own order.
                prop_assert_eq!(changes.len(), expected.len());
                for (i, name) in NAMES.iter().enumerate() {
                    let reported: Vec<String> = changes.iter().filter(|c| c.key.name == *name).map(|c| c.resource_version.clone()).collect();
                    let wanted: Vec<String> = expected.iter().filter(|e| e.0 == i).map(|e| e.2.to_string()).collect();
                    prop_assert_eq!(reported, wanted);
                }
                // Each modification compared with the version before it.
                for change in changes.iter().filter(|c| c.change_type == Modified) {
                    let i = NAMES.iter().position(|name| *name == change.key.name).unwrap();
                    let rv: u64 = change.resource_version.parse().unwrap();
                    let at = versions[i].iter().position(|v| *v == rv).unwrap();
                    let before = versions[i][at - 1];
                    let memo = change.previous.clone().unwrap();
                    if at == 1 && memo == "metadata" {
                        // Only when the snapshot's version never came before the fill ended.
                        prop_assert!(!filled[i], "{} compared with metadata though filled", change.key.name);
                    } else {
                        prop_assert_eq!(memo, format!("{}@{}", change.key.name, before));
                    }
                }
            }
        }
    }
}
