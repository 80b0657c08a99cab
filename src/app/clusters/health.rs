//! How a context is doing as a whole, from what its start and its streams said: failing while it cannot start
//! or a kind named is refused, starting until its first sync, reconnecting while a stream is broken off, else
//! watching. Said to the view only when it changes.

use crate::view::feed::ContextHealth;

#[derive(Debug, Default)]
pub(super) struct Health {
    /// Why the start failed, while it is tried again.
    start_failure: Option<String>,
    /// Streams broken off (by driver), with why, the latest last.
    broken: Vec<(usize, String)>,
    /// Named kinds refused (by driver) and tried again later, with why, the latest last.
    refused: Vec<(usize, String)>,
    /// What the view was last told.
    said: Option<ContextHealth>,
}

impl Health {
    pub(super) fn start_failed(&mut self, cause: String) {
        self.start_failure = Some(cause);
    }

    pub(super) fn started(&mut self) {
        self.start_failure = None;
    }

    /// A stream broke off (or its list failed) and is being tried again.
    pub(super) fn broke(&mut self, driver: usize, cause: String) {
        self.broken.retain(|(broken, _)| *broken != driver);
        self.broken.push((driver, cause));
    }

    /// A named kind was refused, to be tried again.
    pub(super) fn refused(&mut self, driver: usize, cause: String) {
        self.refused.retain(|(refused, _)| *refused != driver);
        self.refused.push((driver, cause));
    }

    /// A stream works (it resumed, or brought an object), or it ended for good: it troubles the context no
    /// more.
    pub(super) fn well(&mut self, driver: usize) {
        if !self.broken.is_empty() || !self.refused.is_empty() {
            self.broken.retain(|(broken, _)| *broken != driver);
            self.refused.retain(|(refused, _)| *refused != driver);
        }
    }

    pub(super) fn now(&self, synced: bool) -> ContextHealth {
        let latest = |causes: &[(usize, String)]| causes.last().map(|(_, cause)| cause.clone());
        if let Some(cause) = self.start_failure.clone().or_else(|| latest(&self.refused)) {
            return ContextHealth::Failing { cause };
        }
        match (synced, latest(&self.broken)) {
            // Before the first sync, a list that fails again and again keeps the context from starting.
            (false, Some(cause)) => ContextHealth::Failing { cause },
            (false, None) => ContextHealth::Starting,
            (true, Some(cause)) => ContextHealth::Reconnecting {
                streams: self.broken.len(),
                cause,
            },
            (true, None) => ContextHealth::Watching,
        }
    }

    /// The state, when it is not what the view was last told.
    pub(super) fn news(&mut self, synced: bool) -> Option<ContextHealth> {
        let now = self.now(synced);
        if self.said.as_ref() == Some(&now) {
            return None;
        }
        self.said = Some(now.clone());
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(cause: &str) -> ContextHealth {
        ContextHealth::Failing { cause: cause.into() }
    }

    #[test]
    fn a_context_starts_syncs_breaks_off_and_comes_back() {
        let mut health = Health::default();
        assert_eq!(health.news(false), Some(ContextHealth::Starting));
        assert_eq!(health.news(false), None, "said once");
        assert_eq!(health.news(true), Some(ContextHealth::Watching));
        health.broke(3, "pods: connection reset".into());
        health.broke(4, "services: connection reset".into());
        health.broke(3, "pods: no answer".into());
        assert_eq!(
            health.news(true),
            Some(ContextHealth::Reconnecting {
                streams: 2,
                cause: "pods: no answer".into()
            })
        );
        health.well(3);
        assert_eq!(
            health.news(true),
            Some(ContextHealth::Reconnecting {
                streams: 1,
                cause: "services: connection reset".into()
            })
        );
        health.well(4);
        assert_eq!(health.news(true), Some(ContextHealth::Watching));
    }

    #[test]
    fn a_start_that_fails_or_a_kind_refused_is_failing_until_it_works() {
        let mut health = Health::default();
        health.start_failed("cannot reach the API server".into());
        assert_eq!(health.now(false), failing("cannot reach the API server"));
        health.started();
        assert_eq!(health.now(false), ContextHealth::Starting);
        // A list failing before the first sync keeps it from starting.
        health.broke(1, "pods: 503".into());
        assert_eq!(health.now(false), failing("pods: 503"));
        health.well(1);
        health.refused(2, "secrets: forbidden".into());
        // Refused outweighs broken off, even once synced.
        health.broke(1, "pods: connection reset".into());
        assert_eq!(health.now(true), failing("secrets: forbidden"));
        health.well(2);
        health.well(1);
        assert_eq!(health.now(true), ContextHealth::Watching);
    }
}
