//! The task that sends what waits in the queue to the collector, a batch at a time, and what it says about
//! the collector as it goes: away, refusing, back.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{Logger, LoggerProvider};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord, SdkLoggerProvider};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Shared;
use super::http::{CollectorClient, Outcome};
use super::record::Outgoing;

/// The most records in one request, and how long the first waits for others to join it: the SDK's batch
/// processor's defaults. Sent one by one, 500 changes a second cost the watcher 74% more CPU (BENCHMARKS.md).
const MOST_IN_A_BATCH: usize = 512;
const GATHERING: Duration = Duration::from_secs(1);
/// The wait before sending a batch again to a collector that did not take it, doubled each time up to the most.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// How the collector is taking the changes, as far as the last batch says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Collector {
    Taking,
    /// Unreachable or answering that it cannot take them now (5xx, 408, 429), since then, when as many
    /// changes as `dropped` had been dropped for want of room in the queue.
    Away {
        since: Instant,
        why: Outcome,
        dropped: u64,
    },
    /// Answering that it will never take them (4xx): they are dropped.
    Refusing {
        status: u16,
    },
}

impl Collector {
    /// The state after a batch's attempt ended with `outcome` (`taken`: the collector took it), and what to
    /// say of the change, if it is one. `attempt` is when the batch began (its first change taken) and how many
    /// changes had been dropped for want of room then; `now` and `dropped`, the same at its end.
    pub(super) fn after(
        self,
        taken: bool,
        outcome: Outcome,
        attempt: (Instant, u64),
        (now, dropped): (Instant, u64),
        endpoint: &str,
    ) -> (Collector, Option<String>) {
        let next = match (taken, outcome) {
            (true, _) => Collector::Taking,
            (false, Outcome::Status(status)) if outcome.refused() => Collector::Refusing { status },
            (false, why) => match self {
                Collector::Away { since, dropped, .. } => Collector::Away { since, why, dropped },
                // Away since the batch that found it so began.
                _ => Collector::Away {
                    since: attempt.0,
                    why,
                    dropped: attempt.1,
                },
            },
        };
        let said = match (self, next) {
            (
                Collector::Away {
                    since, dropped: before, ..
                },
                Collector::Taking,
            ) => Some(format!(
                "export: the collector at {endpoint} takes the changes again after {}s away; {}",
                now.duration_since(since).as_secs(),
                match dropped - before {
                    0 => "none was lost".to_string(),
                    lost => format!("{lost} were dropped meanwhile, the queue being full"),
                }
            )),
            (Collector::Refusing { .. }, Collector::Taking) => {
                Some(format!("export: the collector at {endpoint} takes the changes again"))
            }
            (Collector::Away { .. }, Collector::Away { .. }) => None,
            (_, Collector::Away { why, .. }) => Some(format!(
                "export: {}; trying again, the changes wait in the queue",
                match why {
                    Outcome::Status(status) =>
                        format!("the collector at {endpoint} cannot take the changes now (HTTP {status})"),
                    _ => format!("cannot reach the collector at {endpoint}"),
                }
            )),
            (Collector::Refusing { status: before }, Collector::Refusing { status }) if before == status => None,
            (_, Collector::Refusing { status }) => Some(format!(
                "export: the collector at {endpoint} refuses the changes (HTTP {status}): they are dropped while it does; \
                 check the URL's path and OTEL_EXPORTER_OTLP_HEADERS"
            )),
            (Collector::Taking, Collector::Taking) => None,
        };
        (next, said)
    }
}

/// Sends batches until the queue is closed and empty. A batch the collector does not take is sent again,
/// waiting longer each time, while new changes wait behind it (the queue's bound keeps that finite); a batch
/// the collector refuses is dropped and counted.
pub(super) async fn send(
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    exporter: opentelemetry_otlp::LogExporter,
    client: CollectorClient,
    shared: Arc<Shared>,
) {
    let provider = SdkLoggerProvider::builder().build();
    let scope = InstrumentationScope::builder("kubectl-watchnew")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let logger = provider.logger_with_scope(scope.clone());
    let mut collector = Collector::Taking;
    let mut batch = Vec::with_capacity(MOST_IN_A_BATCH);
    let dropped = || shared.dropped.load(Ordering::Relaxed);
    while queue.recv_many(&mut batch, MOST_IN_A_BATCH).await > 0 {
        // The batch begins with its first change: what is dropped from then on is dropped while it waits.
        let attempt = (Instant::now(), dropped());
        let deadline = attempt.0 + GATHERING;
        while batch.len() < MOST_IN_A_BATCH {
            let room = MOST_IN_A_BATCH - batch.len();
            match tokio::time::timeout_at(deadline, queue.recv_many(&mut batch, room)).await {
                // The time is up, or the queue is closed (the run ends): send what there is.
                Err(_) | Ok(0) => break,
                Ok(_) => {}
            }
        }
        let records: Vec<SdkLogRecord> = batch
            .iter()
            .map(|outgoing| {
                let mut record = logger.create_log_record();
                outgoing.fill(&mut record);
                record
            })
            .collect();
        let pairs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            records.iter().map(|record| (record, &scope)).collect();
        let mut wait = FIRST_WAIT;
        loop {
            let taken = exporter.export(LogBatch::new(&pairs)).await.is_ok();
            let outcome = client.last();
            let (next, said) = collector.after(taken, outcome, attempt, (Instant::now(), dropped()), &shared.endpoint);
            collector = next;
            if let Some(text) = said {
                shared.say(text);
            }
            let count = batch.len() as u64;
            match collector {
                Collector::Taking => {
                    shared.sent.fetch_add(count, Ordering::Relaxed);
                    break;
                }
                Collector::Refusing { .. } => {
                    shared.refused.fetch_add(count, Ordering::Relaxed);
                    break;
                }
                Collector::Away { .. } => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LONGEST_WAIT);
                }
            }
        }
        shared.waiting.fetch_sub(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "http://collector:4318/v1/logs";

    fn after(state: Collector, taken: bool, outcome: Outcome, now: Instant) -> (Collector, Option<String>) {
        state.after(taken, outcome, (now, 0), (now, 0), AT)
    }

    #[test]
    fn a_collector_that_takes_the_changes_is_not_mentioned() {
        let now = Instant::now();
        assert_eq!(
            after(Collector::Taking, true, Outcome::Status(200), now),
            (Collector::Taking, None)
        );
    }

    #[test]
    fn going_away_is_said_once_and_coming_back_says_for_how_long() {
        let start = Instant::now();
        let (away, said) = after(Collector::Taking, false, Outcome::Unreachable, start);
        assert_eq!(
            said.as_deref(),
            Some(
                "export: cannot reach the collector at http://collector:4318/v1/logs; trying again, the changes wait in the queue"
            )
        );
        let (still, said) = after(away, false, Outcome::Status(503), start + Duration::from_secs(5));
        assert_eq!(said, None, "said once, whatever the next failure is");
        assert!(
            matches!(still, Collector::Away { since, .. } if since == start),
            "{still:?}"
        );
        let (back, said) = after(still, true, Outcome::Status(200), start + Duration::from_secs(21));
        assert_eq!(back, Collector::Taking);
        assert_eq!(
            said.as_deref(),
            Some(
                "export: the collector at http://collector:4318/v1/logs takes the changes again after 21s away; none was lost"
            )
        );
    }

    #[test]
    fn coming_back_says_how_many_were_dropped_while_away() {
        // The batch that found it away was first sent at `start`, when 7 had been dropped; the queue filled
        // while that batch waited for its first answer.
        let start = Instant::now();
        let noticed = start + Duration::from_secs(2);
        let (away, _) = Collector::Taking.after(false, Outcome::Unreachable, (start, 7), (noticed, 9), AT);
        assert!(
            matches!(away, Collector::Away { since, dropped: 7, .. } if since == start),
            "{away:?}"
        );
        let back = start + Duration::from_secs(3);
        let (_, said) = away.after(true, Outcome::Status(200), (noticed, 9), (back, 7 + 120), AT);
        assert!(
            said.expect("said")
                .ends_with("after 3s away; 120 were dropped meanwhile, the queue being full")
        );
    }

    #[test]
    fn a_server_error_or_throttling_is_waited_out_not_dropped() {
        let now = Instant::now();
        for status in [408, 429, 500, 503] {
            let (state, said) = after(Collector::Taking, false, Outcome::Status(status), now);
            assert!(matches!(state, Collector::Away { .. }), "{status}: {state:?}");
            assert!(
                said.expect("said")
                    .contains(&format!("cannot take the changes now (HTTP {status})"))
            );
        }
    }

    #[test]
    fn a_refusal_is_said_once_per_status_and_its_end_is_said() {
        let now = Instant::now();
        let (refusing, said) = after(Collector::Taking, false, Outcome::Status(404), now);
        assert_eq!(refusing, Collector::Refusing { status: 404 });
        assert!(said.expect("said").contains("refuses the changes (HTTP 404)"));
        assert_eq!(after(refusing, false, Outcome::Status(404), now), (refusing, None));
        let (other, said) = after(refusing, false, Outcome::Status(401), now);
        assert_eq!(other, Collector::Refusing { status: 401 });
        assert!(said.expect("said").contains("HTTP 401"));
        let (taking, said) = after(other, true, Outcome::Status(200), now);
        assert_eq!(taking, Collector::Taking);
        assert_eq!(
            said.as_deref(),
            Some("export: the collector at http://collector:4318/v1/logs takes the changes again")
        );
    }

    #[test]
    fn a_refusing_collector_that_goes_away_is_said_away() {
        let now = Instant::now();
        let (away, said) = after(Collector::Refusing { status: 400 }, false, Outcome::Unreachable, now);
        assert!(matches!(away, Collector::Away { .. }));
        assert!(said.expect("said").contains("cannot reach"));
    }
}
