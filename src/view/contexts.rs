//! How each watched context is doing, for the live view's key of contexts: its state as its source says it
//! (starting, watching, reconnecting, failing and why), and what the view saw of it: its changes, the latest,
//! and how late that one arrived.

use std::time::Duration;

use jiff::Timestamp;

use super::feed::ContextHealth;
use super::writers::Writer;

/// When the server says a change was written: the newest time among its writers' managedFields, or, for a
/// creation that names none, its creationTimestamp.
pub fn written(writers: &[Writer], created: Option<Timestamp>) -> Option<Timestamp> {
    writers
        .iter()
        .filter_map(|writer| writer.time.as_deref()?.parse::<Timestamp>().ok())
        .max()
        .or(created)
}

/// One context as the view knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextStatus {
    /// Its name; none when one context is watched without naming it.
    pub name: Option<String>,
    pub health: ContextHealth,
    /// Since when it has been in that state.
    pub since: Timestamp,
    pub changes: u64,
    pub last_change: Option<Timestamp>,
    /// How late the latest change that said when it was written arrived: its arrival less the newest time its
    /// writers' managedFields record, or its creationTimestamp for a creation (to the second, as the server
    /// keeps them, and across the two clocks).
    pub lag: Option<Duration>,
}

/// The contexts in the order their sources first spoke of them.
#[derive(Debug, Clone, Default)]
pub struct Contexts {
    known: Vec<ContextStatus>,
}

impl Contexts {
    pub fn all(&self) -> &[ContextStatus] {
        &self.known
    }

    /// A context's state, as its source says it (only when it changes).
    pub fn said(&mut self, name: Option<String>, health: ContextHealth, at: Timestamp) {
        let status = self.entry(name.as_deref(), at);
        if status.health != health {
            status.health = health;
            status.since = at;
        }
    }

    /// A change of an object of the context `name` that arrived `at`, written when the server says.
    pub fn changed(&mut self, name: Option<&str>, at: Timestamp, written: Option<Timestamp>) {
        let status = self.entry(name, at);
        status.changes += 1;
        status.last_change = Some(at);
        if let Some(written) = written {
            status.lag = Some(at.duration_since(written).unsigned_abs());
        }
    }

    /// How many are in each state: `9 watching, 1 reconnecting`, in the states' order, for the status line.
    pub fn tally(&self) -> String {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for status in &self.known {
            let word = status.health.word();
            match counts.iter_mut().find(|(counted, _)| *counted == word) {
                Some((_, count)) => *count += 1,
                None => counts.push((word, 1)),
            }
        }
        counts.sort_by_key(|(word, _)| ContextHealth::ORDER.iter().position(|known| known == word));
        counts
            .iter()
            .map(|(word, count)| format!("{count} {word}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn entry(&mut self, name: Option<&str>, at: Timestamp) -> &mut ContextStatus {
        let index = match self.known.iter().position(|status| status.name.as_deref() == name) {
            Some(index) => index,
            None => {
                self.known.push(ContextStatus {
                    name: name.map(str::to_string),
                    health: ContextHealth::Starting,
                    since: at,
                    changes: 0,
                    last_change: None,
                    lag: None,
                });
                self.known.len() - 1
            }
        };
        &mut self.known[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a time")
    }

    fn writer_at(seconds: i64) -> Writer {
        serde_json::from_value(serde_json::json!({
            "manager": "kubectl-edit", "operation": "Update", "time": at(seconds).to_string()
        }))
        .expect("a writer")
    }

    #[test]
    fn a_state_said_again_keeps_its_since_and_a_new_one_starts_it() {
        let mut contexts = Contexts::default();
        contexts.said(Some("prod".into()), ContextHealth::Watching, at(1));
        contexts.said(Some("prod".into()), ContextHealth::Watching, at(5));
        assert_eq!(contexts.all()[0].since, at(1));
        let broken = ContextHealth::Reconnecting {
            streams: 1,
            cause: "connection reset".into(),
        };
        contexts.said(Some("prod".into()), broken.clone(), at(7));
        assert_eq!(
            (contexts.all()[0].health.clone(), contexts.all()[0].since),
            (broken, at(7))
        );
    }

    #[test]
    fn changes_are_counted_by_context_with_the_lag_of_the_latest_that_says_when_it_was_written() {
        let mut contexts = Contexts::default();
        contexts.said(Some("a".into()), ContextHealth::Watching, at(0));
        contexts.changed(Some("b"), at(10), written(&[writer_at(7), writer_at(8)], Some(at(1))));
        contexts.changed(Some("b"), at(12), written(&[], None));
        contexts.changed(Some("a"), at(13), written(&[], Some(at(13))));
        let all = contexts.all();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].changes, all[0].lag), (1, Some(Duration::ZERO)));
        // The newest writer counts (before the creation); a change that does not say when it was written leaves
        // the lag as it was.
        assert_eq!(
            (all[1].changes, all[1].last_change, all[1].lag),
            (2, Some(at(12)), Some(Duration::from_secs(2)))
        );
        // A context first known by its changes is starting until its source says otherwise.
        assert_eq!(all[1].health, ContextHealth::Starting);
    }

    #[test]
    fn the_tally_counts_each_state_in_order() {
        let mut contexts = Contexts::default();
        let failing = ContextHealth::Failing {
            cause: "cannot reach the API server".into(),
        };
        contexts.said(Some("c".into()), failing, at(0));
        contexts.said(Some("a".into()), ContextHealth::Watching, at(0));
        contexts.said(Some("b".into()), ContextHealth::Watching, at(0));
        assert_eq!(contexts.tally(), "2 watching, 1 failing");
    }
}
