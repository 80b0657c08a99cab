//! Until the first sync nothing appears, so a person must be told why when that takes long: a wait on the API
//! server longer than `SAY_AFTER` is said with its cause (it refuses requests and asks to come back later, or
//! has not answered yet), and said again when it ends. After the sync, the interruption lines cover it.

use std::time::{Duration, Instant};

use http::StatusCode;

use crate::cluster::waits::{Wait, WaitCause};

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
