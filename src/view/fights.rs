//! Writers that fight over a field: the same field of one object set by one writer, then by another, each
//! undoing the other, at least twice within a minute (an autoscaler and a GitOps controller over
//! `spec.replicas`). Pure: the time of each change comes in with it; memory is bounded by the fields written
//! in the last minute.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use jiff::{SignedDuration, Timestamp};

use super::summary::FieldChange;
use super::writers::{Writer, writer_index_of_field};
use crate::engine::tracker::{ChangeType, ObjectKey};

/// How close the overwrites of a fight are.
pub const FIGHT_WINDOW: SignedDuration = SignedDuration::from_secs(60);
/// Overwrites within the window that make a fight.
pub const FIGHT_OVERWRITES: usize = 2;
/// A fight keeps this many of its latest moves, for the details.
const MOVES_KEPT: usize = 10;

/// A fight, as one change shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fight {
    /// The field fought over: `spec.replicas`.
    pub path: String,
    /// The two writers, the one that wrote first first.
    pub writers: [String; 2],
    /// How many times one overwrote the other within the last minute.
    pub overwrites: usize,
    /// The latest values each wrote, oldest first.
    pub moves: Vec<Move>,
}

/// One value a writer of a fight set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub at: Timestamp,
    pub writer: String,
    /// `None`: it removed the field; withheld values (a Secret's) as everywhere.
    pub value: Option<String>,
}

impl Fight {
    /// `⚠ data.replicas: alice-autoscaler ↔ bob-operator ×3`.
    pub fn display(&self) -> String {
        format!(
            "⚠ {}: {} ↔ {} ×{}",
            self.path, self.writers[0], self.writers[1], self.overwrites
        )
    }
}

/// What is known of one field of one object: who last set it, and when.
#[derive(Debug, Clone)]
struct LastSet {
    at: Timestamp,
    writer: u64,
}

/// The overwrites between one pair of writers over one field.
#[derive(Debug, Clone)]
struct Contest {
    path: String,
    writers: [String; 2],
    overwrites: VecDeque<Timestamp>,
    moves: VecDeque<Move>,
}

/// Follows every field's writers to find fights.
#[derive(Debug, Clone, Default)]
pub struct Fights {
    last: HashMap<u64, LastSet>,
    /// Who created each object seen created within the window: the writer of the fields it came with.
    creators: HashMap<u64, LastSet>,
    contests: HashMap<u64, Contest>,
    /// The fights already said in a notice: once per field and pair.
    said: HashSet<u64>,
    /// Writers' names by their hash: few, however many fields they write.
    names: HashMap<u64, String>,
    /// Changes observed since the last pruning.
    observed: usize,
}

/// How often fields not written within the window are forgotten.
const PRUNE_EVERY: usize = 4096;

/// The outcome of one change: the fight it is part of, if any, and whether it has just become one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub fight: Fight,
    /// The first change that made it a fight: what a notice says, once per field and pair.
    pub new: bool,
}

impl Fights {
    /// Takes in one change (`event`) of the object `key` of `stream` at `at`: its changed fields and its
    /// writers.
    pub fn observe(
        &mut self,
        stream: usize,
        key: &ObjectKey,
        event: ChangeType,
        at: Timestamp,
        field_changes: &[FieldChange],
        writers: &[Writer],
    ) -> Option<Observed> {
        self.observed += 1;
        if self.observed >= PRUNE_EVERY {
            self.prune(at);
        }
        let object_key = hash_of(&(stream, key));
        match (event, writers) {
            (_, []) => return None,
            (ChangeType::Added, [creator, ..]) => {
                let name = creator.display();
                let writer = hash_of(&name);
                self.names.entry(writer).or_insert(name);
                self.creators.insert(object_key, LastSet { at, writer });
                return None;
            }
            (ChangeType::Deleted, _) => return None,
            (ChangeType::Modified, _) => {}
        }
        let mut found: Option<Observed> = None;
        let names: Vec<(String, u64)> = writers
            .iter()
            .map(|writer| {
                let name = writer.display();
                let hash = hash_of(&name);
                (name, hash)
            })
            .collect();
        for (name, hash) in &names {
            self.names.entry(*hash).or_insert_with(|| name.clone());
        }
        for field in field_changes {
            let Some(index) = writer_index_of_field(writers, &field.path) else {
                continue;
            };
            let (name, writer_key) = (&names[index].0, names[index].1);
            let field_key = hash_of(&(object_key, &field.path));
            let previous = self.last.insert(field_key, LastSet { at, writer: writer_key });
            // A field no change has set since the object was created came with it, from its creator.
            let previous = previous.or_else(|| {
                field
                    .before
                    .is_some()
                    .then(|| self.creators.get(&object_key).cloned())
                    .flatten()
            });
            let Some(previous) = previous else { continue };
            if previous.writer == writer_key || at.duration_since(previous.at) > FIGHT_WINDOW {
                continue;
            }
            let pair = hash_of(&(
                field_key,
                previous.writer.min(writer_key),
                previous.writer.max(writer_key),
            ));
            let contest = self.contests.entry(pair).or_insert_with(|| {
                // The first overwrite: the writer overwritten set the value it undid.
                let overwritten = self.names.get(&previous.writer).cloned().unwrap_or_default();
                Contest {
                    path: field.path.clone(),
                    writers: [overwritten.clone(), name.clone()],
                    overwrites: VecDeque::new(),
                    moves: VecDeque::from([Move {
                        at: previous.at,
                        writer: overwritten,
                        value: field.before.clone(),
                    }]),
                }
            });
            contest.overwrites.push_back(at);
            while contest
                .overwrites
                .front()
                .is_some_and(|first| at.duration_since(*first) > FIGHT_WINDOW)
            {
                contest.overwrites.pop_front();
            }
            contest.moves.push_back(Move {
                at,
                writer: name.clone(),
                value: field.after.clone(),
            });
            while contest.moves.len() > MOVES_KEPT {
                contest.moves.pop_front();
            }
            if contest.overwrites.len() >= FIGHT_OVERWRITES && found.is_none() {
                found = Some(Observed {
                    fight: Fight {
                        path: contest.path.clone(),
                        writers: contest.writers.clone(),
                        overwrites: contest.overwrites.len(),
                        moves: contest.moves.iter().cloned().collect(),
                    },
                    new: self.said.insert(pair),
                });
            }
        }
        found
    }

    /// Forgets the fields no one wrote within the window, and the contests with no overwrite in it.
    fn prune(&mut self, now: Timestamp) {
        self.observed = 0;
        self.last.retain(|_, set| now.duration_since(set.at) <= FIGHT_WINDOW);
        self.creators
            .retain(|_, set| now.duration_since(set.at) <= FIGHT_WINDOW);
        self.contests.retain(|_, contest| {
            contest
                .overwrites
                .back()
                .is_some_and(|last| now.duration_since(*last) <= FIGHT_WINDOW)
        });
    }
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer {
        serde_json::from_value(serde_json::json!({"manager": manager, "operation": "Update", "fields": ["data.x"]}))
            .expect("a writer")
    }

    fn set(before: &str, after: &str) -> FieldChange {
        FieldChange {
            path: "data.x".into(),
            before: Some(before.into()),
            after: Some(after.into()),
            hidden: false,
            composite: false,
        }
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).expect("time")
    }

    #[test]
    fn what_is_kept_is_the_last_minute_s_fields() {
        let mut fights = Fights::default();
        for index in 0..PRUNE_EVERY {
            let name = format!("o{index}");
            fights.observe(0, &key(&name), ChangeType::Added, at(0), &[], &[writer("a")]);
            fights.observe(
                0,
                &key(&name),
                ChangeType::Modified,
                at(0),
                &[set("1", "2")],
                &[writer("a")],
            );
        }
        assert_eq!(fights.last.len(), PRUNE_EVERY);
        for _ in 0..PRUNE_EVERY {
            fights.observe(
                0,
                &key("late"),
                ChangeType::Modified,
                at(120),
                &[set("2", "3")],
                &[writer("b")],
            );
        }
        assert_eq!(fights.last.len(), 1, "only the field written within the minute");
        assert!(fights.creators.is_empty());
        assert!(fights.contests.is_empty());
    }

    #[test]
    fn three_writers_in_turn_are_fights_between_pairs_and_a_deletion_is_none() {
        let mut fights = Fights::default();
        let mut found = Vec::new();
        for (second, manager) in ["a", "b", "c", "a", "b"].into_iter().enumerate() {
            let outcome = fights.observe(
                0,
                &key("x"),
                ChangeType::Modified,
                at(second as i64),
                &[set("1", "2")],
                &[writer(manager)],
            );
            found.push(outcome.map(|observed| observed.fight.writers));
        }
        // a→b, b→c, c→a, a→b: the pair a, b overwrote each other twice (once each way counts the same).
        assert_eq!(found[..4], [None, None, None, None]);
        assert_eq!(found[4], Some(["a".to_string(), "b".to_string()]));
        assert_eq!(
            fights.observe(
                0,
                &key("x"),
                ChangeType::Deleted,
                at(9),
                &[set("2", "3")],
                &[writer("c")]
            ),
            None
        );
    }
}
