//! What the tool is waiting on the API server for, right now: requests it has not answered yet, and refusals
//! (429, 5xx) since it last accepted one. Every request goes through `retry::RetryAfter`, which keeps this up
//! to date; the output reads it to tell a person why nothing happens yet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest wait on the API server at one moment, and its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// When it began: the first refusal since the last accepted request, or the oldest request still
    /// unanswered.
    pub since: Instant,
    pub cause: WaitCause,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitCause {
    /// A request was sent and nothing has come back yet: a busy server queues requests (API Priority and
    /// Fairness) or is slow to gather a large list.
    Unanswered,
    /// The server refuses requests: `status` is the latest refusal, `retry_after` what it asked for (none:
    /// it gave no hint, and the tool backs off on its own), `refusals` how many since the wait began.
    Refused {
        status: u16,
        retry_after: Option<Duration>,
        refusals: u32,
    },
}

/// One request in flight, from its first attempt to its answer (or until it is given up).
#[derive(Debug)]
pub struct Pending {
    waits: ServerWaits,
    id: u64,
}

impl Pending {
    /// The server refused this attempt; the request is to be retried after `retry_after` (none: not here).
    pub fn refused(&self, status: u16, retry_after: Option<Duration>, now: Instant) {
        let mut state = self.waits.lock();
        state.refusals += 1;
        state.refused_since.get_or_insert(now);
        state.latest_refusal = (status, retry_after);
        // While it waits to be retried, the refusal is the cause, not a missing answer.
        state.unanswered.remove(&self.id);
    }

    /// The request is sent (again).
    pub fn sent(&self, now: Instant) {
        self.waits.lock().unanswered.insert(self.id, now);
    }

    /// The server accepted the request (any answer but a refusal): whatever the wait was, it is over.
    pub fn accepted(&self) {
        let mut state = self.waits.lock();
        state.unanswered.remove(&self.id);
        state.refused_since = None;
        state.refusals = 0;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Answered, refused for good, or given up by its caller: no longer waited for.
        self.waits.lock().unanswered.remove(&self.id);
    }
}

/// Shared by every request of one connection.
#[derive(Debug, Clone, Default)]
pub struct ServerWaits {
    state: Arc<Mutex<State>>,
}

/// How far the first list of one kind has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `pods`, or `staging: pods` with several contexts.
    pub kind: String,
    pub read: usize,
    pub total: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    /// The first lists with more than one page, while they are read.
    listings: Vec<Listing>,
    /// Requests sent and not answered, with when each was sent.
    unanswered: HashMap<u64, Instant>,
    refused_since: Option<Instant>,
    refusals: u32,
    latest_refusal: (u16, Option<Duration>),
}

impl ServerWaits {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every update is one assignment.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new request, not sent yet.
    pub fn begin(&self) -> Pending {
        let mut state = self.lock();
        state.next_id += 1;
        Pending {
            waits: self.clone(),
            id: state.next_id,
        }
    }

    /// A first list has come this far; `None` for `total` when the server does not say.
    pub fn listing(&self, kind: &str, read: usize, total: Option<usize>) {
        let mut state = self.lock();
        let listing = Listing {
            kind: kind.to_string(),
            read,
            total,
        };
        match state.listings.iter_mut().find(|listing| listing.kind == kind) {
            Some(known) => *known = listing,
            None => state.listings.push(listing),
        }
    }

    /// A first list is read whole.
    pub fn listed(&self, kind: &str) {
        self.lock().listings.retain(|listing| listing.kind != kind);
    }

    /// The first lists being read, in the order they began.
    pub fn listings(&self) -> Vec<Listing> {
        self.lock().listings.clone()
    }

    /// The wait that began first, if the tool waits on the server at all. Refusals come first: while the
    /// server refuses, that is why nothing happens, whatever else is in flight.
    pub fn current(&self) -> Option<Wait> {
        let state = self.lock();
        if let Some(since) = state.refused_since {
            let (status, retry_after) = state.latest_refusal;
            return Some(Wait {
                since,
                cause: WaitCause::Refused {
                    status,
                    retry_after,
                    refusals: state.refusals,
                },
            });
        }
        state.unanswered.values().min().map(|since| Wait {
            since: *since,
            cause: WaitCause::Unanswered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_unanswered_request_is_the_wait() {
        let waits = ServerWaits::default();
        let start = Instant::now();
        assert_eq!(waits.current(), None);
        let first = waits.begin();
        first.sent(start);
        let second = waits.begin();
        second.sent(start + Duration::from_secs(1));
        assert_eq!(waits.current().map(|wait| wait.since), Some(start));
        drop(first);
        assert_eq!(
            waits.current().map(|wait| wait.since),
            Some(start + Duration::from_secs(1))
        );
        second.accepted();
        assert_eq!(waits.current(), None);
    }

    #[test]
    fn refusals_last_from_the_first_until_a_request_is_accepted() {
        let waits = ServerWaits::default();
        let start = Instant::now();
        let one_second = Some(Duration::from_secs(1));
        let request = waits.begin();
        request.sent(start);
        request.refused(429, one_second, start);
        request.sent(start + Duration::from_secs(1));
        request.refused(429, one_second, start + Duration::from_secs(1));
        // Given up for good (the stream backs off on its own): the refusals still count until one is accepted.
        drop(request);
        let refused = WaitCause::Refused {
            status: 429,
            retry_after: one_second,
            refusals: 2,
        };
        assert_eq!(
            waits.current(),
            Some(Wait {
                since: start,
                cause: refused
            })
        );
        let another = waits.begin();
        another.sent(start + Duration::from_secs(3));
        another.refused(503, None, start + Duration::from_secs(3));
        assert!(matches!(
            waits.current().map(|wait| wait.cause),
            Some(WaitCause::Refused {
                status: 503,
                retry_after: None,
                refusals: 3
            })
        ));
        another.sent(start + Duration::from_secs(4));
        another.accepted();
        assert_eq!(waits.current(), None);
    }
}
