//! Until the first sync nothing appears, so a person must be told why when that takes long: a wait on the API
//! server longer than `SAY_AFTER` is said with its cause (it refuses requests and asks to come back later, or
//! has not answered yet), and said again when it ends. After the sync, the interruption lines cover it.

use std::time::{Duration, Instant};

use http::StatusCode;

use crate::cluster::waits::{Listing, Wait, WaitCause};

/// A wait shorter than this goes unsaid: a start takes that long on a slow link without anything wrong.
pub const SAY_AFTER: Duration = Duration::from_secs(2);

/// Decides, from the current wait each time it is looked at, what to say.
#[derive(Debug, Default)]
pub struct WaitAnnouncer {
    /// The wait that was said, not yet said to have ended.
    said: Option<Wait>,
}

impl WaitAnnouncer {
    /// What to say now about `current` (the wait on the server at `now`), if anything.
    pub fn update(&mut self, current: Option<&Wait>, now: Instant) -> Option<String> {
        if let Some(said) = &self.said {
            match current {
                Some(wait) if wait.since == said.since => {
                    // The same wait goes on; its latest figures are the ones to give when it ends.
                    self.said = Some(wait.clone());
                    return None;
                }
                _ => return self.finish(now),
            }
        }
        let wait = current.filter(|wait| now.saturating_duration_since(wait.since) >= SAY_AFTER)?;
        self.said = Some(wait.clone());
        Some(begun_line(wait, now))
    }

    /// The wait is over (the first sync came): says so if it was said to begin.
    pub fn finish(&mut self, now: Instant) -> Option<String> {
        let said = self.said.take()?;
        let lasted = now.saturating_duration_since(said.since).as_secs_f64();
        Some(match said.cause {
            WaitCause::Unanswered => format!("the API server answered after {lasted:.1}s"),
            WaitCause::Refused { refusals, .. } => format!(
                "the API server accepts requests again after {lasted:.1}s (refused {})",
                times(refusals)
            ),
        })
    }
}

/// A start's progress is said once it has taken this long, then again at most this often while it changes.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The kinds a progress line names; the rest are counted.
const KINDS_NAMED: usize = 3;

/// Decides when to say how far the first lists have come.
#[derive(Debug)]
pub struct ProgressAnnouncer {
    started: Instant,
    said_at: Option<Instant>,
    said: Vec<Listing>,
}

impl ProgressAnnouncer {
    pub fn new(started: Instant) -> ProgressAnnouncer {
        ProgressAnnouncer {
            started,
            said_at: None,
            said: Vec::new(),
        }
    }

    /// What to say now of the lists being read, if anything.
    pub fn update(&mut self, listings: &[Listing], now: Instant) -> Option<String> {
        let due = match self.said_at {
            None => now.saturating_duration_since(self.started) >= PROGRESS_EVERY,
            Some(at) => now.saturating_duration_since(at) >= PROGRESS_EVERY,
        };
        if !due || listings.is_empty() || listings == self.said.as_slice() {
            return None;
        }
        self.said = listings.to_vec();
        self.said_at = Some(now);
        Some(progress_line(listings))
    }
}

/// `listing what exists: 12500 of 50000 pods, 500 of 1200 services`: the largest lists first, and how many
/// more when there are many.
pub fn progress_line(listings: &[Listing]) -> String {
    let mut largest: Vec<&Listing> = listings.iter().collect();
    largest.sort_by_key(|listing| std::cmp::Reverse(listing.total.unwrap_or(listing.read)));
    let mut parts: Vec<String> = largest
        .iter()
        .take(KINDS_NAMED)
        .map(|listing| match listing.total {
            Some(total) => format!("{} of {total} {}", listing.read, listing.kind),
            None => format!("{} {} so far", listing.read, listing.kind),
        })
        .collect();
    if listings.len() > KINDS_NAMED {
        parts.push(format!("{} more kinds", listings.len() - KINDS_NAMED));
    }
    format!("listing what exists: {}", parts.join(", "))
}

fn begun_line(wait: &Wait, now: Instant) -> String {
    let lasted = now.saturating_duration_since(wait.since).as_secs_f64();
    match &wait.cause {
        WaitCause::Unanswered => {
            format!("waiting for the API server: no answer yet after {lasted:.1}s (a busy server queues requests)")
        }
        WaitCause::Refused {
            status,
            retry_after,
            refusals,
        } => {
            let reason = StatusCode::from_u16(*status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or("refused");
            let what = match *status {
                429 => "it asks to slow down",
                503 => "it is unavailable",
                _ => "it fails",
            };
            let retry = match retry_after {
                Some(after) => format!("retrying after {}s as it asks", after.as_secs()),
                None => "retrying with backoff".to_string(),
            };
            format!(
                "waiting for the API server: {what} ({status} {reason}), refused {} in {lasted:.1}s; {retry}",
                times(*refusals)
            )
        }
    }
}

fn times(count: u32) -> String {
    match count {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        _ => format!("{count} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(kind: &str, read: usize, total: Option<usize>) -> Listing {
        Listing {
            kind: kind.into(),
            read,
            total,
        }
    }

    #[test]
    fn a_start_says_its_progress_after_a_second_then_every_second_while_it_changes() {
        let start = Instant::now();
        let mut announcer = ProgressAnnouncer::new(start);
        let pods = [listing("pods", 500, Some(50000))];
        assert_eq!(announcer.update(&pods, at(start, 900)), None);
        assert_eq!(
            announcer.update(&pods, at(start, 1000)).as_deref(),
            Some("listing what exists: 500 of 50000 pods")
        );
        let more = [listing("pods", 1000, Some(50000))];
        assert_eq!(announcer.update(&more, at(start, 1500)), None);
        assert!(announcer.update(&more, at(start, 2000)).is_some());
        assert_eq!(announcer.update(&more, at(start, 3500)), None, "nothing new");
        assert_eq!(announcer.update(&[], at(start, 5000)), None);
    }

    #[test]
    fn the_largest_lists_are_named_first_and_the_rest_counted() {
        let listings = [
            listing("services", 500, Some(1200)),
            listing("pods", 500, Some(50000)),
            listing("secrets", 500, None),
            listing("configmaps", 500, Some(600)),
            listing("leases", 500, Some(700)),
        ];
        assert_eq!(
            progress_line(&listings),
            "listing what exists: 500 of 50000 pods, 500 of 1200 services, 500 of 700 leases, 2 more kinds"
        );
        assert_eq!(
            progress_line(&[listing("pods", 500, None)]),
            "listing what exists: 500 pods so far"
        );
    }

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn a_short_wait_goes_unsaid() {
        let start = Instant::now();
        let mut announcer = WaitAnnouncer::default();
        let wait = Wait {
            since: start,
            cause: WaitCause::Unanswered,
        };
        assert_eq!(announcer.update(Some(&wait), at(start, 1_900)), None);
        assert_eq!(announcer.update(None, at(start, 2_100)), None);
        assert_eq!(announcer.finish(at(start, 2_200)), None);
    }

    #[test]
    fn refusals_are_said_once_with_their_cause_and_again_when_they_end() {
        let start = Instant::now();
        let mut announcer = WaitAnnouncer::default();
        let refused = |refusals| Wait {
            since: start,
            cause: WaitCause::Refused {
                status: 429,
                retry_after: Some(Duration::from_secs(1)),
                refusals,
            },
        };
        assert_eq!(announcer.update(Some(&refused(2)), at(start, 1_000)), None);
        assert_eq!(
            announcer.update(Some(&refused(3)), at(start, 2_500)).as_deref(),
            Some(
                "waiting for the API server: it asks to slow down (429 Too Many Requests), refused 3 times in \
                 2.5s; retrying after 1s as it asks"
            )
        );
        assert_eq!(announcer.update(Some(&refused(9)), at(start, 9_000)), None, "said once");
        assert_eq!(
            announcer.update(None, at(start, 14_250)).as_deref(),
            Some("the API server accepts requests again after 14.2s (refused 9 times)")
        );
        assert_eq!(announcer.update(None, at(start, 15_000)), None);
    }

    #[test]
    fn an_unanswered_request_is_said_and_its_answer_too_also_at_the_sync() {
        let start = Instant::now();
        let mut announcer = WaitAnnouncer::default();
        let unanswered = Wait {
            since: start,
            cause: WaitCause::Unanswered,
        };
        assert_eq!(
            announcer.update(Some(&unanswered), at(start, 2_000)).as_deref(),
            Some("waiting for the API server: no answer yet after 2.0s (a busy server queues requests)")
        );
        assert_eq!(
            announcer.finish(at(start, 5_000)).as_deref(),
            Some("the API server answered after 5.0s")
        );
    }

    #[test]
    fn a_server_failing_without_a_hint_is_said_to_be_retried_with_backoff() {
        let start = Instant::now();
        let mut announcer = WaitAnnouncer::default();
        let failing = Wait {
            since: start,
            cause: WaitCause::Refused {
                status: 500,
                retry_after: None,
                refusals: 1,
            },
        };
        let line = announcer.update(Some(&failing), at(start, 3_000)).expect("said");
        assert!(
            line.contains("it fails (500 Internal Server Error), refused once")
                && line.ends_with("retrying with backoff"),
            "{line}"
        );
    }
}
