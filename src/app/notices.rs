//! The one-line texts of what happens to the streams: synced, relisted, interrupted, resumed.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::engine::stream::Notice;
use crate::view::NoticeKind;

/// Beyond this many kinds, the synced line names the ones with the most objects and counts the rest.
const KINDS_NAMED: usize = 6;

/// `Synced 1234 pods, 56 services in 0.41s over HTTP/2; watching for changes`; with many kinds
/// (`--all-kinds`), `Synced 1290 objects of 48 kinds (1234 pods, 56 services, …) in 0.41s over HTTP/2; …`.
pub fn synced_line(counts: &[(&str, usize)], took: Duration, protocol: Option<&str>) -> String {
    let named = |counts: &[(&str, usize)]| -> Vec<String> {
        counts.iter().map(|(name, count)| format!("{count} {name}")).collect()
    };
    let what = if counts.len() <= KINDS_NAMED {
        named(counts).join(", ")
    } else {
        let mut largest = counts.to_vec();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        largest.truncate(KINDS_NAMED - 1);
        let total: usize = counts.iter().map(|(_, count)| count).sum();
        format!(
            "{total} objects of {} kinds ({}, …)",
            counts.len(),
            named(&largest).join(", ")
        )
    };
    let over = protocol.map(|protocol| format!(" over {protocol}")).unwrap_or_default();
    format!(
        "Synced {what} in {:.2}s{over}; watching for changes",
        took.as_secs_f64()
    )
}

/// When a stream stopped being watched, by the monotonic clock (for the gap's length) and by the wall clock
/// (for saying it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Gap {
    began: Instant,
    at: Timestamp,
}

impl Gap {
    pub(super) fn now() -> Gap {
        Gap {
            began: Instant::now(),
            at: Timestamp::now(),
        }
    }

    /// One that began at `at` on the wall clock (a state saved by an earlier run).
    pub(super) fn since(at: Timestamp) -> Gap {
        let ago = Duration::try_from(Timestamp::now().duration_since(at)).unwrap_or_default();
        Gap {
            began: Instant::now().checked_sub(ago).unwrap_or_else(Instant::now),
            at,
        }
    }

    /// From when to when, ending now.
    pub(super) fn until_now(&self) -> (Timestamp, Timestamp) {
        let lasted = jiff::SignedDuration::try_from(self.began.elapsed()).unwrap_or_default();
        (self.at, self.at.saturating_add(lasted).unwrap_or(self.at))
    }
}

/// `pods: relisted after 33.0s: 71 changes found; not watched from 22:41:03 to 22:41:36: objects created and
/// deleted in that time cannot be known`. A relist compares two states; what lived only between them is gone.
pub(super) fn relisted_line(
    name: &str,
    changes: usize,
    gap: Option<(Timestamp, Timestamp)>,
    zone: &TimeZone,
) -> String {
    let Some((from, to)) = gap else {
        return format!("{name}: relisted: {changes} changes found");
    };
    let clock = |at: Timestamp| at.to_zoned(zone.clone()).strftime("%H:%M:%S").to_string();
    let lasted = Duration::try_from(to.duration_since(from)).unwrap_or_default();
    format!(
        "{name}: relisted after {:.1}s: {changes} changes found; not watched from {} to {}: objects created and \
         deleted in that time cannot be known",
        lasted.as_secs_f64(),
        clock(from),
        clock(to)
    )
}

/// A notice as one line, and what kind of event it counts as; `gap` remembers when the stream broke off.
pub(super) fn notice_line(name: &str, notice: &Notice, gap: &mut Option<Gap>) -> (NoticeKind, String) {
    match notice {
        Notice::Interrupted { cause, retry_in } => {
            gap.get_or_insert_with(Gap::now);
            let text = if retry_in.is_zero() {
                format!("{name}: watch interrupted ({cause}); retrying now")
            } else {
                format!(
                    "{name}: watch interrupted ({cause}); retrying in {:.1}s",
                    retry_in.as_secs_f64()
                )
            };
            (NoticeKind::Other, text)
        }
        Notice::ListRetried { cause, retry_in } => (
            NoticeKind::Other,
            format!(
                "{name}: listing failed ({cause}); retrying in {:.1}s",
                retry_in.as_secs_f64()
            ),
        ),
        Notice::Resumed { gap: lasted } => {
            *gap = None;
            (
                NoticeKind::Reconnect,
                format!("{name}: reconnected after {:.1}s", lasted.as_secs_f64()),
            )
        }
        Notice::Expired => {
            gap.get_or_insert_with(Gap::now);
            (
                NoticeKind::Other,
                format!("{name}: watch expired (410 Gone); relisting"),
            )
        }
        Notice::StreamingListsUnsupported => (
            NoticeKind::Other,
            "the server does not stream initial lists (WatchList is off); using paginated lists".to_string(),
        ),
        Notice::SlowLink {
            objects,
            took,
            round_trip,
        } => (
            NoticeKind::Other,
            format!(
                "{name}: slow link (the first {objects} took {:.2}s{}): what exists is listed as metadata, as kubectl \
                 does; the whole objects follow in the background, and a change to one that has not come yet waits \
                 for it, to say what changed",
                took.as_secs_f64(),
                round_trip
                    .map(|round_trip| format!(", round trip {:.0}ms", round_trip.as_secs_f64() * 1000.0))
                    .unwrap_or_default(),
            ),
        ),
        Notice::Filled { objects, took } => (
            NoticeKind::Other,
            format!(
                "{name}: the whole objects that existed are read: {objects} in {:.1}s after the sync",
                took.as_secs_f64()
            ),
        ),
        Notice::FillFailed { cause } => (
            NoticeKind::Other,
            format!(
                "{name}: the whole objects that existed at the start could not be read ({cause}): what their first \
                 changes changed is not said"
            ),
        ),
    }
}

/// The Events cannot be watched: said once, and the rest goes on.
pub(super) fn events_unavailable_line(name: &str, error: &crate::error::Error) -> String {
    format!(
        "{name}: cannot be watched, so rows show no Events ({})",
        crate::view::summary::one_line(&error.to_string(), 200)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relist_after_a_gap_says_when_nothing_was_watched() {
        let from: Timestamp = "2026-12-06T22:41:03Z".parse().unwrap();
        let to: Timestamp = "2026-12-06T22:41:36Z".parse().unwrap();
        assert_eq!(
            relisted_line("pods", 71, Some((from, to)), &TimeZone::UTC),
            "pods: relisted after 33.0s: 71 changes found; not watched from 22:41:03 to 22:41:36: objects created \
             and deleted in that time cannot be known"
        );
        assert_eq!(
            relisted_line("pods", 0, None, &TimeZone::UTC),
            "pods: relisted: 0 changes found"
        );
    }

    #[test]
    fn many_kinds_are_summed_up_with_the_largest_named() {
        let took = Duration::from_millis(410);
        assert_eq!(
            synced_line(&[("pods", 1234), ("services", 56)], took, None),
            "Synced 1234 pods, 56 services in 0.41s; watching for changes"
        );
        let many: Vec<(&str, usize)> = vec![
            ("a", 1),
            ("pods", 100),
            ("b", 0),
            ("services", 7),
            ("c", 2),
            ("d", 3),
            ("e", 4),
        ];
        assert_eq!(
            synced_line(&many, took, Some("HTTP/2")),
            "Synced 117 objects of 7 kinds (100 pods, 7 services, 4 e, 3 d, 2 c, …) in 0.41s over HTTP/2; watching for changes"
        );
    }
}
