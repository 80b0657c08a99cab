//! A watcher's output checked against the churn's ground truth: every change the churn made, by object, event
//! type and which of that type it is. What the watcher did not report is told apart by why: a relist reports
//! only the differences (an object created and deleted while the watch was down, or modified twice, cannot be
//! seen by any watch), a watch that ended reports nothing after, and the rest is lost.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tokio::time::Instant;

/// A change the churn made: the watch event it must cause, which of that type it is for its object (from 0),
/// and when its request was sent. Unanswered: its request failed on the churn's side, so the server may or may
/// not have made it (a connection closed before the answer came).
#[derive(Debug, Clone, Copy)]
pub struct Made<'a> {
    pub name: &'a str,
    pub event: &'a str,
    pub nth: u8,
    pub sent: Instant,
    pub answered: bool,
}

/// A change a watcher reported; its resourceVersion where its output has one, else empty.
#[derive(Debug, Clone, Copy)]
pub struct Reported<'a> {
    pub name: &'a str,
    pub event: &'a str,
    pub resource_version: &'a str,
}

/// What a watcher reported of a churn, against what the churn did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TruthCheck {
    /// Changes the churn made (each answered by the server).
    pub changes: u64,
    /// Reports of changes whose requests failed on the churn's side and that the server made all the same:
    /// neither repeated nor unexpected, and not counted lost when missing.
    pub unanswered_reported: u64,
    /// Changes reported that the churn made, each once.
    pub reported: u64,
    /// Reports of a change reported before: the same object and resourceVersion, or an event type reported
    /// more often for an object than the churn made it.
    pub duplicates: u64,
    /// Reports of objects the churn did not make.
    pub unexpected: u64,
    /// Changes not reported, of objects the watcher relisted over: the object's deletion was reported (or the
    /// object came and went without a trace), and the relist found only the difference.
    pub coalesced_after_relist: u64,
    /// Changes not reported, made after the watcher's output ended.
    pub after_watch_ended: u64,
    /// Changes not reported that nothing explains.
    pub lost: u64,
    /// Relists the watcher said it made.
    pub relists: u64,
}

impl TruthCheck {
    /// Every report the watcher printed of the churn: the changes, those of failed requests, and the repeats.
    pub fn lines_reported(&self) -> u64 {
        self.reported + self.unanswered_reported + self.duplicates
    }
}

/// Checks `seen` (the watcher's reports of churn objects, in the order it printed them) against `made`.
/// `relists` is how many relists the watcher said it made; `ended` when its output ended, if it did.
pub fn check(made: &[Made], seen: &[Reported], relists: u64, ended: Option<Instant>) -> TruthCheck {
    let mut expected: HashMap<&str, Vec<(&str, u8, Instant, bool)>> = HashMap::new();
    for change in made {
        expected
            .entry(change.name)
            .or_default()
            .push((change.event, change.nth, change.sent, change.answered));
    }
    let mut check = TruthCheck {
        changes: made.iter().filter(|change| change.answered).count() as u64,
        relists,
        ..TruthCheck::default()
    };
    let mut versions = HashSet::new();
    let mut counts: HashMap<(&str, &str), u8> = HashMap::new();
    let mut matched: HashSet<(&str, &str, u8)> = HashSet::new();
    for report in seen {
        let Some(changes) = expected.get(report.name) else {
            check.unexpected += 1;
            continue;
        };
        if !report.resource_version.is_empty() && !versions.insert((report.name, report.resource_version)) {
            check.duplicates += 1;
            continue;
        }
        let count = counts.entry((report.name, report.event)).or_default();
        let nth = *count;
        *count = count.saturating_add(1);
        match changes
            .iter()
            .find(|(event, n, ..)| *event == report.event && *n == nth)
        {
            Some((event, n, _, answered)) => {
                matched.insert((report.name, event, *n));
                if *answered {
                    check.reported += 1;
                } else {
                    check.unanswered_reported += 1;
                }
            }
            None => check.duplicates += 1,
        }
    }
    for (name, changes) in &expected {
        let missing: Vec<&(&str, u8, Instant, bool)> = changes
            .iter()
            .filter(|(event, n, _, answered)| *answered && !matched.contains(&(name, event, *n)))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let deletion_reported = matched.contains(&(name, "DELETED", 0));
        let never_reported = changes
            .iter()
            .all(|(event, n, ..)| !matched.contains(&(name, event, *n)));
        for (_, _, sent, _) in missing {
            if ended.is_some_and(|ended| *sent >= ended) {
                check.after_watch_ended += 1;
            } else if relists > 0 && (deletion_reported || never_reported) {
                check.coalesced_after_relist += 1;
            } else {
                check.lost += 1;
            }
        }
    }
    check
}
