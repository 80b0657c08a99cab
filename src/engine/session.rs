//! Several streams (one per resource type) as one session: nothing is reported until every stream has its
//! first snapshot, and changes that arrive before that wait rather than being lost. Pure, like the tracker.

use super::tracker::{Change, Remember, StreamEvent, Tracker};

/// What the session has to say.
#[derive(Debug, Clone, PartialEq)]
pub enum Report<P: Remember> {
    /// Every stream has its first snapshot; `existing[i]` objects of stream `i` existed and stay hidden.
    Synced {
        existing: Vec<usize>,
    },
    Change {
        stream: usize,
        change: Change<P>,
    },
    /// A relist of `stream` (after its watch expired) ended and found `changes` differences, reported next.
    Relisted {
        stream: usize,
        changes: usize,
    },
}

pub struct Session<P: Remember> {
    trackers: Vec<Tracker<P>>,
    /// Streams that ended for good (forbidden, no longer served): they no longer hold the others back.
    dropped: Vec<bool>,
    /// Changes of streams that synced early, waiting for the others.
    held: Vec<(usize, Change<P>)>,
    all_synced: bool,
    scratch: Vec<Change<P>>,
}

impl<P: Remember> Session<P> {
    pub fn new(streams: usize) -> Self {
        Session {
            trackers: (0..streams).map(|_| Tracker::new()).collect(),
            dropped: vec![false; streams],
            held: Vec::new(),
            all_synced: streams == 0,
            scratch: Vec::new(),
        }
    }

    pub fn is_synced(&self) -> bool {
        self.all_synced
    }

    /// The tracker of one stream, to ask where it stands.
    pub fn tracker(&self, stream: usize) -> &Tracker<P> {
        &self.trackers[stream]
    }

    /// A stream as a saved state left it (`--state`), in place of a new one, before anything is applied to it.
    pub fn restore(&mut self, stream: usize, tracker: Tracker<P>) {
        self.trackers[stream] = tracker;
    }

    /// The number of streams, dropped ones included.
    pub fn stream_count(&self) -> usize {
        self.trackers.len()
    }

    /// A stream that joins after the start (a kind installed since, as a CRD): its objects did not exist when
    /// the session started, so its first list reports each as ADDED, as a relist would. Before the session
    /// has synced, it joins as any other stream does, its first list silent.
    pub fn add_stream(&mut self) -> usize {
        let mut tracker = Tracker::new();
        if self.all_synced {
            let mut none = Vec::new();
            tracker.apply(StreamEvent::ListBegin, &mut none);
            tracker.apply(
                StreamEvent::ListEnd {
                    resource_version: String::new(),
                },
                &mut none,
            );
        }
        self.trackers.push(tracker);
        self.dropped.push(false);
        self.trackers.len() - 1
    }

    /// Whether every stream has ended for good: nothing is left to watch.
    pub fn all_dropped(&self) -> bool {
        self.dropped.iter().all(|dropped| *dropped)
    }

    /// A stream that ended for good: its changes are over, and the others no longer wait for it to sync.
    pub fn drop_stream(&mut self, stream: usize, reports: &mut Vec<Report<P>>) {
        self.dropped[stream] = true;
        self.held.retain(|(held, _)| *held != stream);
        self.check_synced(reports);
    }

    /// Feeds one event of one stream in and appends what it makes known to `reports`.
    pub fn apply(&mut self, stream: usize, event: StreamEvent<P>, reports: &mut Vec<Report<P>>) {
        if self.dropped[stream] {
            return;
        }
        let tracker = &mut self.trackers[stream];
        let ends_relist = tracker.is_synced() && matches!(event, StreamEvent::ListEnd { .. });
        tracker.apply(event, &mut self.scratch);
        if ends_relist {
            reports.push(Report::Relisted {
                stream,
                changes: self.scratch.len(),
            });
        }
        if self.all_synced {
            reports.extend(self.scratch.drain(..).map(|change| Report::Change { stream, change }));
            return;
        }
        self.held.extend(self.scratch.drain(..).map(|change| (stream, change)));
        self.check_synced(reports);
    }

    fn check_synced(&mut self, reports: &mut Vec<Report<P>>) {
        let synced = |(tracker, dropped): (&Tracker<P>, &bool)| *dropped || tracker.is_synced();
        if !self.all_synced && self.trackers.iter().zip(&self.dropped).all(synced) {
            self.all_synced = true;
            reports.push(Report::Synced {
                existing: self.trackers.iter().map(Tracker::known_objects).collect(),
            });
            reports.extend(
                self.held
                    .drain(..)
                    .map(|(stream, change)| Report::Change { stream, change }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tracker::{ChangeType, ObjectKey, Observed};

    fn object(name: &str, rv: u64) -> Observed<()> {
        Observed {
            key: ObjectKey {
                namespace: None,
                name: name.into(),
            },
            uid: format!("uid-{name}"),
            resource_version: rv.to_string(),
            payload: (),
        }
    }

    fn list(session: &mut Session<()>, stream: usize, names: &[&str], rv: u64, reports: &mut Vec<Report<()>>) {
        session.apply(stream, StreamEvent::ListBegin, reports);
        for name in names {
            session.apply(stream, StreamEvent::ListItem(object(name, 1)), reports);
        }
        session.apply(
            stream,
            StreamEvent::ListEnd {
                resource_version: rv.to_string(),
            },
            reports,
        );
    }

    #[test]
    fn changes_wait_until_every_stream_has_synced() {
        let mut session = Session::new(2);
        let mut reports = Vec::new();
        list(&mut session, 0, &["a", "b"], 10, &mut reports);
        session.apply(0, StreamEvent::Added(object("c", 11)), &mut reports);
        assert!(reports.is_empty(), "nothing before every stream synced: {reports:?}");
        assert!(!session.is_synced());

        list(&mut session, 1, &["x"], 12, &mut reports);
        assert!(session.is_synced());
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0], Report::Synced { existing: vec![3, 1] });
        assert!(matches!(&reports[1], Report::Change { stream: 0, change } if change.key.name == "c"));

        reports.clear();
        session.apply(1, StreamEvent::Deleted(object("x", 13)), &mut reports);
        assert!(
            matches!(&reports[..], [Report::Change { stream: 1, change }] if change.change_type == ChangeType::Deleted)
        );
    }

    #[test]
    fn a_relist_announces_how_many_differences_it_found() {
        let mut session = Session::new(1);
        let mut reports = Vec::new();
        list(&mut session, 0, &["a", "b"], 10, &mut reports);
        reports.clear();
        list(&mut session, 0, &["b", "c"], 20, &mut reports);
        assert_eq!(reports[0], Report::Relisted { stream: 0, changes: 2 });
        assert_eq!(reports.len(), 3);
    }

    #[test]
    fn a_dropped_stream_no_longer_holds_the_others_back() {
        let mut session = Session::new(2);
        let mut reports = Vec::new();
        list(&mut session, 0, &["a"], 10, &mut reports);
        session.apply(0, StreamEvent::Added(object("b", 11)), &mut reports);
        assert!(reports.is_empty());
        session.drop_stream(1, &mut reports);
        assert!(session.is_synced());
        assert!(!session.all_dropped());
        assert_eq!(reports[0], Report::Synced { existing: vec![2, 0] });
        assert!(matches!(&reports[1], Report::Change { stream: 0, change } if change.key.name == "b"));
        reports.clear();
        session.apply(1, StreamEvent::Added(object("x", 12)), &mut reports);
        assert!(reports.is_empty(), "a dropped stream says nothing more: {reports:?}");
    }

    #[test]
    fn a_stream_added_after_the_sync_reports_what_its_first_list_finds() {
        let mut session = Session::new(1);
        let mut reports = Vec::new();
        list(&mut session, 0, &["a"], 10, &mut reports);
        reports.clear();
        let late = session.add_stream();
        assert_eq!(late, 1);
        list(&mut session, late, &["crd-1", "crd-2"], 20, &mut reports);
        let added: Vec<&str> = reports
            .iter()
            .filter_map(|report| match report {
                Report::Change { stream: 1, change } if change.change_type == ChangeType::Added => {
                    Some(change.key.name.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(added, ["crd-1", "crd-2"]);

        // Before the sync, a stream added joins the barrier and its first list stays silent.
        let mut session = Session::new(1);
        let early = session.add_stream();
        let mut reports = Vec::new();
        list(&mut session, 0, &["a"], 10, &mut reports);
        assert!(reports.is_empty());
        list(&mut session, early, &["b"], 11, &mut reports);
        assert_eq!(reports, [Report::Synced { existing: vec![1, 1] }]);
    }
}
