//! The Events about watched objects, joined to them: the latest one says on a row why it changed, and all of
//! them, in order, fill its details. Events come from `events.k8s.io/v1` or core `v1`; both read alike here.
//! Pure and bounded: the oldest Events are forgotten first, whether or not their object ever gets a row.

use std::collections::{HashMap, VecDeque};

use jiff::Timestamp;
use serde::Deserialize;

/// At most this many Events are kept in all, so that a cluster's Event churn cannot grow the memory without end.
pub const EVENTS_LIMIT: usize = 20_000;
/// And at most this many about one object: a crash loop's BackOff repeats as one Event with a count.
pub const EVENTS_PER_OBJECT: usize = 50;

/// The object an Event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Regarded {
    pub uid: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// One Event, as a row and its details show it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventNote {
    /// The Event's own uid: a repeated Event is the same object with a higher count.
    pub uid: String,
    pub warning: bool,
    pub reason: String,
    pub message: String,
    pub count: u32,
    /// When it was last seen to happen.
    pub last_seen: Option<Timestamp>,
    /// What reported it: `kubelet`, `default-scheduler`, `deployment-controller`.
    pub source: String,
    /// The order it was recorded in, to forget the oldest first.
    sequence: u64,
}

/// An Event read from either API.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEvent {
    pub regarding: Regarded,
    pub note: EventNote,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ObjectReference {
    uid: String,
    kind: String,
    namespace: Option<String>,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Series {
    count: Option<u32>,
    last_observed_time: Option<Timestamp>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EventSource {
    component: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EventMetadata {
    uid: String,
    creation_timestamp: Option<Timestamp>,
}

/// The fields of `events.k8s.io/v1` Event and, under their aliases, of the core `v1` Event.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireEvent {
    metadata: EventMetadata,
    #[serde(alias = "involvedObject")]
    regarding: ObjectReference,
    reason: String,
    #[serde(alias = "message")]
    note: String,
    #[serde(rename = "type")]
    event_type: String,
    series: Option<Series>,
    #[serde(alias = "count")]
    deprecated_count: Option<u32>,
    #[serde(alias = "lastTimestamp")]
    deprecated_last_timestamp: Option<Timestamp>,
    // A MicroTime; some writers leave it empty.
    event_time: Option<String>,
    reporting_controller: String,
    #[serde(alias = "source")]
    deprecated_source: Option<EventSource>,
}

impl ObservedEvent {
    /// Reads an Event object's JSON; `None` when it is not one or names no object.
    pub fn from_json(raw: &str) -> Option<ObservedEvent> {
        let event: WireEvent = serde_json::from_str(raw).ok()?;
        if event.regarding.name.is_empty() && event.regarding.uid.is_empty() {
            return None;
        }
        let series = event.series.unwrap_or_default();
        let event_time = event.event_time.as_deref().and_then(|text| text.parse().ok());
        let last_seen = series
            .last_observed_time
            .or(event.deprecated_last_timestamp)
            .or(event_time)
            .or(event.metadata.creation_timestamp);
        let source = match event.deprecated_source {
            Some(source) if !source.component.is_empty() => source.component,
            _ => event.reporting_controller,
        };
        Some(ObservedEvent {
            regarding: Regarded {
                uid: event.regarding.uid,
                kind: event.regarding.kind,
                namespace: event.regarding.namespace.filter(|namespace| !namespace.is_empty()),
                name: event.regarding.name,
            },
            note: EventNote {
                uid: event.metadata.uid,
                warning: event.event_type == "Warning",
                reason: event.reason,
                message: plain_message(&event.note),
                count: series.count.or(event.deprecated_count).unwrap_or(1).max(1),
                last_seen,
                source,
                sequence: 0,
            },
        })
    }
}

/// What an Event says, as people read it: without the `(combined from similar events): ` that client-go's
/// aggregator puts before the message of a series (its count says as much).
fn plain_message(note: &str) -> String {
    let note = note.trim();
    note.strip_prefix(COMBINED_PREFIX)
        .unwrap_or(note)
        .trim_start()
        .to_string()
}

/// client-go's `EventAggregatorByReasonMessageFunc` prefix (`tools/record/events_cache.go`).
const COMBINED_PREFIX: &str = "(combined from similar events):";

/// Where an object's Events are filed: by its uid, or by kind, namespace and name for an Event that has no uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Filed {
    Uid(String),
    Name(String, Option<String>, String),
}

impl Filed {
    fn of(regarding: &Regarded) -> Filed {
        if regarding.uid.is_empty() {
            Filed::Name(
                regarding.kind.clone(),
                regarding.namespace.clone(),
                regarding.name.clone(),
            )
        } else {
            Filed::Uid(regarding.uid.clone())
        }
    }
}

/// The Events seen, by the object they are about.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    /// By the uid of the object they regard: looked up for every row drawn, without building a key.
    by_uid: HashMap<String, VecDeque<EventNote>>,
    /// Events that name no uid, by kind, namespace and name (rare).
    by_name: HashMap<(String, Option<String>, String), VecDeque<EventNote>>,
    /// Every note recorded, oldest first, to forget the oldest; an entry whose note was updated since is stale.
    order: VecDeque<(u64, Filed)>,
    kept: usize,
    next_sequence: u64,
    /// Events recorded since the start, repeats included.
    pub seen: u64,
}

impl EventLog {
    /// Records an Event, or its new count and time when it was seen before.
    pub fn record(&mut self, event: ObservedEvent) {
        let ObservedEvent { regarding, mut note } = event;
        self.seen += 1;
        self.next_sequence += 1;
        note.sequence = self.next_sequence;
        let filed = Filed::of(&regarding);
        let notes = match &filed {
            Filed::Uid(uid) => self.by_uid.entry(uid.clone()).or_default(),
            Filed::Name(kind, namespace, name) => self
                .by_name
                .entry((kind.clone(), namespace.clone(), name.clone()))
                .or_default(),
        };
        match notes
            .iter()
            .position(|known| !note.uid.is_empty() && known.uid == note.uid)
        {
            Some(index) => {
                notes.remove(index);
            }
            None => self.kept += 1,
        }
        // In the order they happened; Events of a relist or of the start can come in any order.
        let at = notes.partition_point(|known| known.last_seen <= note.last_seen || note.last_seen.is_none());
        notes.insert(at, note);
        if notes.len() > EVENTS_PER_OBJECT {
            notes.pop_front();
            self.kept -= 1;
        }
        self.order.push_back((self.next_sequence, filed));
        while self.kept > EVENTS_LIMIT {
            self.forget_oldest();
        }
        if self.order.len() > 2 * EVENTS_LIMIT {
            let (by_uid, by_name) = (&self.by_uid, &self.by_name);
            self.order.retain(|(sequence, filed)| {
                notes_of(by_uid, by_name, filed)
                    .is_some_and(|notes| notes.iter().any(|note| note.sequence == *sequence))
            });
        }
    }

    fn forget_oldest(&mut self) {
        while let Some((sequence, filed)) = self.order.pop_front() {
            let notes = match &filed {
                Filed::Uid(uid) => self.by_uid.get_mut(uid),
                Filed::Name(kind, namespace, name) => {
                    self.by_name.get_mut(&(kind.clone(), namespace.clone(), name.clone()))
                }
            };
            let Some(notes) = notes else {
                continue;
            };
            let Some(index) = notes.iter().position(|note| note.sequence == sequence) else {
                continue;
            };
            notes.remove(index);
            if notes.is_empty() {
                match &filed {
                    Filed::Uid(uid) => self.by_uid.remove(uid),
                    Filed::Name(kind, namespace, name) => {
                        self.by_name.remove(&(kind.clone(), namespace.clone(), name.clone()))
                    }
                };
            }
            self.kept -= 1;
            return;
        }
    }

    /// Every Event kept about an object, oldest first: those filed by its uid, else by its kind and name.
    pub fn about(&self, uid: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<&VecDeque<EventNote>> {
        self.by_uid.get(uid).or_else(|| {
            // A key is built only when some Event named no uid.
            (!self.by_name.is_empty())
                .then(|| {
                    self.by_name
                        .get(&(kind.to_string(), namespace.map(str::to_string), name.to_string()))
                })
                .flatten()
        })
    }

    /// The latest Event about an object.
    pub fn latest(&self, uid: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<&EventNote> {
        self.about(uid, kind, namespace, name).and_then(|notes| notes.back())
    }

    /// How many Events are kept.
    pub fn len(&self) -> usize {
        self.kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept == 0
    }
}

fn notes_of<'a>(
    by_uid: &'a HashMap<String, VecDeque<EventNote>>,
    by_name: &'a HashMap<(String, Option<String>, String), VecDeque<EventNote>>,
    filed: &Filed,
) -> Option<&'a VecDeque<EventNote>> {
    match filed {
        Filed::Uid(uid) => by_uid.get(uid),
        Filed::Name(kind, namespace, name) => by_name.get(&(kind.clone(), namespace.clone(), name.clone())),
    }
}

impl EventNote {
    /// `Scheduled`, `BackOff ×12`: the reason, with the count of a repeated Event.
    pub fn reason_counted(&self) -> String {
        if self.count > 1 {
            format!("{} ×{}", self.reason, self.count)
        } else {
            self.reason.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uid: &str, about: &str, reason: &str, second: i64) -> ObservedEvent {
        ObservedEvent {
            regarding: Regarded {
                uid: format!("uid-{about}"),
                kind: "Pod".into(),
                namespace: Some("shop".into()),
                name: about.into(),
            },
            note: EventNote {
                uid: uid.into(),
                warning: false,
                reason: reason.into(),
                message: String::new(),
                count: 1,
                last_seen: Timestamp::from_second(1_800_000_000 + second).ok(),
                source: String::new(),
                sequence: 0,
            },
        }
    }

    fn reasons(log: &EventLog, about: &str) -> Vec<String> {
        log.about(&format!("uid-{about}"), "Pod", Some("shop"), about)
            .map(|notes| notes.iter().map(EventNote::reason_counted).collect())
            .unwrap_or_default()
    }

    #[test]
    fn both_apis_read_alike() {
        let new = r#"{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"uid":"e1","creationTimestamp":"2026-12-02T10:00:00Z"},
            "regarding":{"kind":"Pod","namespace":"shop","name":"web-1","uid":"p1"},"reason":"BackOff","note":"Back-off restarting failed container",
            "type":"Warning","series":{"count":7,"lastObservedTime":"2026-12-02T10:05:00.000000Z"},"reportingController":"kubelet","eventTime":"2026-12-02T10:00:00.000000Z"}"#;
        let core = r#"{"apiVersion":"v1","kind":"Event","metadata":{"uid":"e1","creationTimestamp":"2026-12-02T10:00:00Z"},
            "involvedObject":{"kind":"Pod","namespace":"shop","name":"web-1","uid":"p1"},"reason":"BackOff","message":"Back-off restarting failed container",
            "type":"Warning","count":7,"lastTimestamp":"2026-12-02T10:05:00Z","source":{"component":"kubelet"},"eventTime":null}"#;
        let new = ObservedEvent::from_json(new).expect("an event");
        let core = ObservedEvent::from_json(core).expect("an event");
        assert_eq!(new, core);
        assert!(new.note.warning);
        assert_eq!(new.note.reason_counted(), "BackOff ×7");
        assert_eq!(new.note.source, "kubelet");
        assert_eq!(new.note.last_seen, "2026-12-02T10:05:00Z".parse().ok());
        assert_eq!(new.regarding.uid, "p1");
        assert!(ObservedEvent::from_json(r#"{"kind":"Pod","metadata":{"name":"x"}}"#).is_none());
        assert!(ObservedEvent::from_json("not json").is_none());
    }

    #[test]
    fn a_series_reads_without_the_aggregators_prefix_and_keeps_its_count() {
        // As the deployment controller's ScalingReplicaSet reads once client-go has combined similar Events.
        let combined = r#"{"apiVersion":"v1","kind":"Event","metadata":{"uid":"e9"},
            "involvedObject":{"kind":"Deployment","namespace":"shop","name":"web","uid":"d1"},"reason":"ScalingReplicaSet",
            "message":"(combined from similar events): Scaled down replica set web-56d86f64f4 from 2 to 1","type":"Normal","count":11}"#;
        let note = ObservedEvent::from_json(combined).expect("an event").note;
        assert_eq!(note.message, "Scaled down replica set web-56d86f64f4 from 2 to 1");
        assert_eq!(note.reason_counted(), "ScalingReplicaSet ×11");
        assert_eq!(
            plain_message("  Pulled image (combined from similar events): x "),
            "Pulled image (combined from similar events): x"
        );
    }

    #[test]
    fn events_join_by_uid_then_by_kind_and_name_and_a_repeat_updates_its_event() {
        let mut log = EventLog::default();
        log.record(event("e1", "web-1", "Scheduled", 1));
        log.record(event("e2", "web-1", "Pulled", 2));
        let mut repeated = event("e3", "web-1", "BackOff", 3);
        log.record(repeated.clone());
        repeated.note.count = 4;
        repeated.note.last_seen = Timestamp::from_second(1_800_000_010).ok();
        log.record(repeated);
        assert_eq!(reasons(&log, "web-1"), ["Scheduled", "Pulled", "BackOff ×4"]);
        assert_eq!(log.len(), 3);

        let mut nameless = event("e4", "job-1", "Completed", 5);
        nameless.regarding.uid.clear();
        log.record(nameless);
        let latest = log.latest("uid-of-the-job", "Pod", Some("shop"), "job-1");
        assert_eq!(latest.map(|note| note.reason.as_str()), Some("Completed"));
        assert!(log.latest("uid-x", "Pod", Some("other"), "job-1").is_none());
    }

    #[test]
    fn events_that_come_out_of_order_are_kept_in_the_order_they_happened() {
        let mut log = EventLog::default();
        log.record(event("e2", "web-1", "Started", 20));
        log.record(event("e1", "web-1", "Scheduled", 10));
        assert_eq!(reasons(&log, "web-1"), ["Scheduled", "Started"]);
        assert_eq!(
            log.latest("uid-web-1", "Pod", Some("shop"), "web-1")
                .map(|note| note.reason.as_str()),
            Some("Started")
        );
    }

    #[test]
    fn memory_stays_bounded_and_the_oldest_go_first() {
        let mut log = EventLog::default();
        for index in 0..(EVENTS_LIMIT + 10) {
            log.record(event(
                &format!("e{index}"),
                &format!("pod-{index}"),
                "Scheduled",
                index as i64,
            ));
        }
        assert_eq!(log.len(), EVENTS_LIMIT);
        assert!(reasons(&log, "pod-0").is_empty(), "the oldest object's Event went");
        assert_eq!(reasons(&log, &format!("pod-{}", EVENTS_LIMIT + 9)), ["Scheduled"]);
        // An Event seen again is young again: the next to go is the oldest untouched one.
        log.record(event("e10", "pod-10", "Scheduled", 99_999));
        log.record(event("new", "pod-new", "Scheduled", 100_000));
        assert_eq!(reasons(&log, "pod-10"), ["Scheduled"]);
        assert!(reasons(&log, "pod-11").is_empty());
        assert!(log.order.len() <= 2 * EVENTS_LIMIT + 1);

        let mut one = EventLog::default();
        for index in 0..(EVENTS_PER_OBJECT + 5) {
            one.record(event(&format!("e{index}"), "web-1", &format!("R{index}"), index as i64));
        }
        let kept = reasons(&one, "web-1");
        assert_eq!(kept.len(), EVENTS_PER_OBJECT);
        assert_eq!(kept.first().map(String::as_str), Some("R5"));
        assert_eq!(one.len(), EVENTS_PER_OBJECT);
    }

    #[test]
    fn many_updates_of_one_event_keep_one_note() {
        let mut log = EventLog::default();
        for count in 1..(3 * EVENTS_LIMIT as u32) {
            let mut repeated = event("e1", "web-1", "BackOff", count as i64);
            repeated.note.count = count;
            log.record(repeated);
        }
        assert_eq!(log.len(), 1);
        assert!(log.order.len() <= 2 * EVENTS_LIMIT + 1);
        assert_eq!(reasons(&log, "web-1"), [format!("BackOff ×{}", 3 * EVENTS_LIMIT - 1)]);
    }
}
