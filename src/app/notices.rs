//! The one-line texts of what happens to the streams: synced, relisted, interrupted, resumed.

use std::time::{Duration, Instant};

use crate::engine::stream::Notice;
use crate::view::{NoticeKind, StreamInfo, StreamLabel};

/// `Synced 1234 pods, 56 services in 0.41s; watching for changes`
pub fn synced_line(streams: &[StreamInfo], existing: &[usize], took: Duration) -> String {
    let counts: Vec<String> = streams
        .iter()
        .zip(existing)
        .map(|(stream, count)| format!("{count} {}", stream.label.name))
        .collect();
    format!(
        "Synced {} in {:.2}s; watching for changes",
        counts.join(", "),
        took.as_secs_f64()
    )
}

pub(super) fn relisted_line(label: &StreamLabel, changes: usize, after: Option<Duration>) -> String {
    let after = after
        .map(|gap| format!(" after {:.1}s", gap.as_secs_f64()))
        .unwrap_or_default();
    format!("{}: relisted{after}: {changes} changes found", label.name)
}

/// A notice as one line, and what kind of event it counts as; `gap` remembers when the stream broke off.
pub(super) fn notice_line(label: &StreamLabel, notice: &Notice, gap: &mut Option<Instant>) -> (NoticeKind, String) {
    match notice {
        Notice::Interrupted { cause, retry_in } => {
            gap.get_or_insert_with(Instant::now);
            let text = if retry_in.is_zero() {
                format!("{}: watch interrupted ({cause}); retrying now", label.name)
            } else {
                format!(
                    "{}: watch interrupted ({cause}); retrying in {:.1}s",
                    label.name,
                    retry_in.as_secs_f64()
                )
            };
            (NoticeKind::Other, text)
        }
        Notice::ListRetried { cause, retry_in } => (
            NoticeKind::Other,
            format!(
                "{}: listing failed ({cause}); retrying in {:.1}s",
                label.name,
                retry_in.as_secs_f64()
            ),
        ),
        Notice::Resumed { gap: lasted } => {
            *gap = None;
            (
                NoticeKind::Reconnect,
                format!("{}: reconnected after {:.1}s", label.name, lasted.as_secs_f64()),
            )
        }
        Notice::Expired => {
            gap.get_or_insert_with(Instant::now);
            (
                NoticeKind::Other,
                format!("{}: watch expired (410 Gone); relisting", label.name),
            )
        }
        Notice::StreamingListsUnsupported => (
            NoticeKind::Other,
            "the server does not stream initial lists (WatchList is off); using paginated lists".to_string(),
        ),
    }
}

/// The Events cannot be watched: said once, and the rest goes on.
pub(super) fn events_unavailable_line(label: &StreamLabel, error: &crate::error::Error) -> String {
    format!(
        "{}: cannot be watched, so rows show no Events ({})",
        label.name,
        crate::view::summary::one_line(&error.to_string(), 200)
    )
}
