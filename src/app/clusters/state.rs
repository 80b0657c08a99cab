//! `--state FILE`: where each stream stood, kept in a file, so that the next run resumes from it instead of
//! taking a new snapshot. A restored stream's first list is a relist against what the file knew: what changed
//! while no run watched is reported as that relist finds it (marked so), and nothing else.
//!
//! The file is JSON, written whole every `SAVE_EVERY` and at the end, through a temporary file renamed over
//! it (a run killed while writing leaves the last whole one): `{"watchnew":"state","version":1,"saved":TIME,
//! "contexts":[{"context":NAME,"streams":[{"stream":KEY,"resourceVersion":RV,"objects":[[NAMESPACE,NAME,UID,
//! RV],...]}]}]}`. A stream is known by its collection, selectors and names; a context by its name (its
//! server without one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::*;
use crate::engine::tracker::{SavedStream, Tracker};
use crate::settings::StateTo;

/// How often the state is written while the run goes on; also at its end.
const SAVE_EVERY: Duration = Duration::from_secs(30);
const FORMAT: &str = "state";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    watchnew: String,
    version: u32,
    saved: Timestamp,
    contexts: Vec<ContextLine>,
}

#[derive(Serialize, Deserialize)]
struct ContextLine {
    context: String,
    streams: Vec<StreamLine>,
}

#[derive(Serialize, Deserialize)]
struct StreamLine {
    stream: String,
    #[serde(flatten)]
    saved: SavedStream,
}

/// The state file of a run: what it held at the start, until each stream takes its own, and when it was
/// last written.
pub(in crate::app) struct StateKeeper {
    path: PathBuf,
    held: HashMap<(String, String), SavedStream>,
    /// When the file read at the start was written.
    saved_at: Option<Timestamp>,
    last_written: Instant,
}

impl StateKeeper {
    /// Reads the file, if there is one: none yet is a first run.
    pub(in crate::app) fn open(to: &StateTo) -> Result<StateKeeper> {
        let path = to.path.clone();
        let mut keeper = StateKeeper {
            path,
            held: HashMap::new(),
            saved_at: None,
            last_written: Instant::now(),
        };
        let text = match std::fs::read_to_string(&keeper.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(keeper),
            Err(error) => return Err(keeper.cannot("read", &error.to_string())),
        };
        let file: StateFile = serde_json::from_str(&text)
            .map_err(|error| keeper.cannot("read", &format!("it is not a state file of kubectl-watchnew ({error})")))?;
        if file.watchnew != FORMAT {
            return Err(keeper.cannot("read", "it is not a state file of kubectl-watchnew"));
        }
        if file.version > VERSION {
            return Err(keeper.cannot(
                "read",
                &format!(
                    "it is of version {}, newer than this build reads ({VERSION})",
                    file.version
                ),
            ));
        }
        keeper.saved_at = Some(file.saved);
        for context in file.contexts {
            for stream in context.streams {
                keeper
                    .held
                    .insert((context.context.clone(), stream.stream), stream.saved);
            }
        }
        Ok(keeper)
    }

    fn cannot(&self, what: &str, why: &str) -> Error {
        Error::Recording(format!("cannot {what} the state file {}: {why}", self.path.display()))
    }

    /// Where the file is, for notices.
    fn path(&self) -> &Path {
        &self.path
    }
}

/// How a context is known in the file.
fn context_key(connection: &Connection) -> String {
    connection.context.clone().unwrap_or_else(|| connection.server.clone())
}

/// How a stream is known in the file: what it watches.
fn stream_key(spec: &StreamSpec) -> String {
    let names: Vec<&str> = spec.names.iter().map(String::as_str).collect();
    format!(
        "{}?labelSelector={}&fieldSelector={}&names={}",
        spec.path,
        spec.label_selector.as_deref().unwrap_or_default(),
        spec.field_selector.as_deref().unwrap_or_default(),
        names.join(",")
    )
}

impl Clusters {
    /// A kind found at the start takes its place from the state file, if the file has it: its session's
    /// tracker as the file left it, its first list a relist. Whether it did.
    pub(super) fn restore_stream(&mut self, context: usize, member: usize, spec: &StreamSpec) -> Option<Gap> {
        let keeper = self.state.as_mut()?;
        let state = &mut self.contexts[context];
        let running = state.running.as_mut()?;
        if running.session.is_synced() {
            return None;
        }
        let saved = keeper
            .held
            .remove(&(context_key(&state.connection), stream_key(spec)))?;
        running.session.restore(member, Tracker::restored(saved));
        state.restored += 1;
        Some(keeper.saved_at.map_or_else(Gap::now, Gap::since))
    }

    /// What to say once a context with restored streams has synced.
    pub(super) fn resumed_line(&self, context: usize) -> Option<String> {
        let state = &self.contexts[context];
        let keeper = self.state.as_ref()?;
        if state.restored == 0 {
            return None;
        }
        let kinds = state
            .running
            .as_ref()
            .map_or(0, |running| running.session.stream_count());
        let saved = keeper
            .saved_at
            .map(|at| format!(" (saved {})", at.strftime("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_default();
        let text = format!(
            "resumed {} of {kinds} kinds from {}{saved}: what changed since is reported as their relists find it",
            state.restored,
            keeper.path().display()
        );
        Some(match &state.name {
            Some(name) => format!("{name}: {text}"),
            None => text,
        })
    }

    /// Writes the state if it is due.
    pub(super) fn save_state_if_due(&mut self) -> Result<()> {
        match &self.state {
            Some(keeper) if keeper.last_written.elapsed() >= SAVE_EVERY => self.save_state(),
            _ => Ok(()),
        }
    }

    /// Writes where every synced stream stands; a context not started yet keeps what the file held for it.
    pub(super) fn save_state(&mut self) -> Result<()> {
        let Some(keeper) = &self.state else {
            return Ok(());
        };
        let mut contexts: Vec<ContextLine> = Vec::new();
        let line_of = |contexts: &mut Vec<ContextLine>, context: String| -> usize {
            match contexts.iter().position(|line| line.context == context) {
                Some(at) => at,
                None => {
                    contexts.push(ContextLine {
                        context,
                        streams: Vec::new(),
                    });
                    contexts.len() - 1
                }
            }
        };
        for state in &self.contexts {
            let Some(running) = &state.running else { continue };
            let context = context_key(&state.connection);
            for (member, &driver) in running.members.iter().enumerate() {
                let Some(saved) = running.session.tracker(member).saved() else {
                    continue;
                };
                let at = line_of(&mut contexts, context.clone());
                contexts[at].streams.push(StreamLine {
                    stream: stream_key(&self.routes[driver].spec),
                    saved,
                });
            }
        }
        for ((context, stream), saved) in &keeper.held {
            let started = self
                .contexts
                .iter()
                .any(|state| state.running.is_some() && &context_key(&state.connection) == context);
            if !started {
                let at = line_of(&mut contexts, context.clone());
                contexts[at].streams.push(StreamLine {
                    stream: stream.clone(),
                    saved: saved.clone(),
                });
            }
        }
        let file = StateFile {
            watchnew: FORMAT.into(),
            version: VERSION,
            saved: Timestamp::now(),
            contexts,
        };
        let written = write_whole(&keeper.path, &file);
        if let Some(keeper) = &mut self.state {
            keeper.last_written = Instant::now();
        }
        written.map_err(|why| {
            Error::Recording(format!(
                "cannot write the state file {}: {why}",
                keeper_path(&self.state)
            ))
        })
    }
}

fn keeper_path(keeper: &Option<StateKeeper>) -> String {
    keeper
        .as_ref()
        .map(|keeper| keeper.path.display().to_string())
        .unwrap_or_default()
}

/// Writes the file through a temporary one beside it, renamed over it: whole or not at all.
fn write_whole(path: &Path, file: &StateFile) -> std::result::Result<(), String> {
    let text = serde_json::to_vec(file).map_err(|error| error.to_string())?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            error.to_string()
        })
}

impl Drop for Clusters {
    /// The last state, whichever way the run ends (a signal drops the source too).
    fn drop(&mut self) {
        if let Err(error) = self.save_state() {
            eprintln!("error: {}", error.one_line());
        }
    }
}
