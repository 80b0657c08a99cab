//! Until the first sync, what the requests wait for, said as it happens.

use std::time::{Duration, Instant};

use crate::cluster::connection::Connection;
use crate::cluster::waits::ServerWaits;
use crate::view::waiting::{ProgressAnnouncer, WaitAnnouncer};

/// Until the first sync, how often the waits on the API server are looked at, to say why nothing happens.
const WAIT_CHECK: Duration = Duration::from_millis(250);

/// Until the first sync, looks at the waits on the API server every `WAIT_CHECK` and says what a person
/// should know of them.
pub(super) struct WaitWatch {
    waits: ServerWaits,
    announcer: WaitAnnouncer,
    /// Every context's waits, for the progress of its first lists.
    lists: Vec<ServerWaits>,
    progress: ProgressAnnouncer,
    checks: tokio::time::Interval,
}

impl WaitWatch {
    pub(super) fn new(connections: &[Connection]) -> WaitWatch {
        let mut checks = tokio::time::interval(WAIT_CHECK);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        WaitWatch {
            waits: connections[0].waits.clone(),
            announcer: WaitAnnouncer::default(),
            lists: connections.iter().map(|connection| connection.waits.clone()).collect(),
            progress: ProgressAnnouncer::new(Instant::now()),
            checks,
        }
    }

    /// The next line to say; safe to drop unfinished (in a `select!`), as nothing is decided before a tick.
    pub(super) async fn next_line(&mut self) -> String {
        loop {
            self.checks.tick().await;
            let now = Instant::now();
            if let Some(line) = self.announcer.update(self.waits.current().as_ref(), now) {
                return line;
            }
            let listings: Vec<_> = self.lists.iter().flat_map(ServerWaits::listings).collect();
            if let Some(line) = self.progress.update(&listings, now) {
                return line;
            }
        }
    }

    /// Runs `work` (the start: discovery, the version probe), saying on stderr meanwhile what it waits for.
    pub(super) async fn saying<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                line = self.next_line() => eprintln!("{line}"),
            }
        }
    }

    /// The first sync came: a wait that was said is over.
    pub(super) fn finish(&mut self) -> Option<String> {
        self.announcer.finish(Instant::now())
    }
}
