//! The benchmark's check of each watcher against the churn's ground truth (benches/side_by_side/truth.rs), run
//! with the other tests: the benchmark's own harness runs none.

#[path = "../benches/side_by_side/truth.rs"]
mod truth;

use std::time::Duration;

use tokio::time::Instant;

use truth::{Made, Reported, TruthCheck, check};

const LIFECYCLE: [(&str, u8); 4] = [("ADDED", 0), ("MODIFIED", 0), ("MODIFIED", 1), ("DELETED", 0)];

/// The names of a churn of `pods` lifecycles.
fn names(pods: usize) -> Vec<String> {
    (0..pods).map(|pod| format!("churn-t-{pod}")).collect()
}

/// The changes of a lifecycle for each name, a second apart from one pod to the next.
fn churn<'a>(names: &'a [String], start: Instant) -> Vec<Made<'a>> {
    names
        .iter()
        .enumerate()
        .flat_map(|(pod, name)| {
            let sent = start + Duration::from_secs(pod as u64);
            LIFECYCLE.map(|(event, nth)| Made {
                name,
                event,
                nth,
                sent,
                answered: true,
            })
        })
        .collect()
}

fn reports<'a>(reports: &[(&'a str, &'a str, &'a str)]) -> Vec<Reported<'a>> {
    reports
        .iter()
        .map(|&(event, name, resource_version)| Reported {
            name,
            event,
            resource_version,
        })
        .collect()
}

fn lifecycle(name: &str) -> Vec<Reported<'_>> {
    LIFECYCLE
        .iter()
        .map(|&(event, _)| Reported {
            name,
            event,
            resource_version: "",
        })
        .collect()
}

#[test]
fn every_change_reported_once_is_all_reported() {
    let names = names(2);
    let made = churn(&names, Instant::now());
    let mut seen = lifecycle("churn-t-0");
    seen.extend(lifecycle("churn-t-1"));
    let check = check(&made, &seen, 0, None);
    assert_eq!(
        check,
        TruthCheck {
            changes: 8,
            reported: 8,
            ..TruthCheck::default()
        }
    );
}

#[test]
fn a_missing_change_without_a_relist_is_lost() {
    let names = names(1);
    let made = churn(&names, Instant::now());
    let seen = reports(&[
        ("ADDED", "churn-t-0", ""),
        ("MODIFIED", "churn-t-0", ""),
        ("DELETED", "churn-t-0", ""),
    ]);
    let check = check(&made, &seen, 0, None);
    assert_eq!((check.reported, check.lost, check.coalesced_after_relist), (3, 1, 0));
}

#[test]
fn after_a_relist_the_difference_is_coalescing_but_a_missed_delete_is_lost() {
    let names = names(3);
    let made = churn(&names, Instant::now());
    // churn-t-0: seen created, then its deletion found by the relist; churn-t-1: came and went unseen;
    // churn-t-2: seen created, and its deletion never reported.
    let seen = reports(&[
        ("ADDED", "churn-t-0", ""),
        ("DELETED", "churn-t-0", ""),
        ("ADDED", "churn-t-2", ""),
    ]);
    let check = check(&made, &seen, 1, None);
    assert_eq!(check.reported, 3);
    assert_eq!(check.coalesced_after_relist, 2 + 4);
    assert_eq!(check.lost, 3);
}

#[test]
fn without_a_relist_an_unseen_object_is_lost() {
    let names = names(2);
    let made = churn(&names, Instant::now());
    let check = check(&made, &lifecycle("churn-t-0"), 0, None);
    assert_eq!((check.reported, check.lost, check.coalesced_after_relist), (4, 4, 0));
}

#[test]
fn changes_after_the_output_ended_are_counted_apart() {
    let names = names(3);
    let start = Instant::now();
    let made = churn(&names, start);
    // The output ended between the second pod's changes and the third's.
    let ended = start + Duration::from_millis(1500);
    let check = check(&made, &lifecycle("churn-t-0"), 0, Some(ended));
    assert_eq!((check.reported, check.lost, check.after_watch_ended), (4, 4, 4));
}

#[test]
fn repeats_are_duplicates_whether_by_version_or_by_count() {
    let names = names(1);
    let made = churn(&names, Instant::now());
    let seen = reports(&[
        ("ADDED", "churn-t-0", "10"),
        ("ADDED", "churn-t-0", "10"),
        ("MODIFIED", "churn-t-0", ""),
        ("MODIFIED", "churn-t-0", ""),
        ("MODIFIED", "churn-t-0", ""),
        ("DELETED", "churn-t-0", ""),
        ("ADDED", "someone-else", ""),
    ]);
    let check = check(&made, &seen, 0, None);
    assert_eq!(
        (check.reported, check.duplicates, check.unexpected, check.lost),
        (4, 2, 1, 0)
    );
    assert_eq!(check.lines_reported(), 6);
}

#[test]
fn changes_of_failed_requests_are_neither_repeats_nor_lost() {
    let names = names(2);
    let start = Instant::now();
    // churn-t-0's deletion request failed on the churn's side, and the server deleted it all the same;
    // churn-t-1's creation failed, and the server never made it.
    let mut made: Vec<Made> = churn(&names[..1], start)
        .into_iter()
        .map(|change| Made {
            answered: change.event == "ADDED" || change.nth == 0 && change.event == "MODIFIED",
            ..change
        })
        .collect();
    made.push(Made {
        name: &names[1],
        event: "ADDED",
        nth: 0,
        sent: start,
        answered: false,
    });
    let check = check(&made, &lifecycle("churn-t-0"), 0, None);
    assert_eq!(
        check,
        TruthCheck {
            changes: 2,
            reported: 2,
            unanswered_reported: 2,
            ..TruthCheck::default()
        }
    );
    assert_eq!(check.lines_reported(), 4);
}
