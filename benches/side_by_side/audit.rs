//! What kube-apiserver's audit log says of a tool (scripts/controlplane/audit-policy.yaml logs each get, list and
//! watch when it completes, and a watch also when its answer starts): the read requests it made, and the moment
//! its watch was answered, the same moment for every tool.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub struct AuditLog {
    path: PathBuf,
}

/// The read requests of one start, each counted once whatever stages the log has of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Requests {
    /// The tool's own: what it asked the server for to do its work.
    pub get: u32,
    pub list: u32,
    pub watch: u32,
    /// Of those, the ones on Events (kubectl-watchnew watches them to show the latest Event of each row).
    pub events: u32,
    /// Before the tool ran: the version check of kubectl's dispatcher (a kubectl that picks the kubectl of the
    /// server's version), made whatever it then runs.
    pub dispatcher: u32,
    /// By the user agent that made them.
    pub by_agent: BTreeMap<String, u32>,
}

impl Requests {
    /// The tool's own requests, the dispatcher's left out.
    pub fn total(&self) -> u32 {
        self.get + self.list + self.watch
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "auditID")]
    audit_id: String,
    stage: String,
    verb: String,
    user: User,
    #[serde(default)]
    user_agent: String,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    stage_timestamp: String,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct ObjectRef {
    #[serde(default)]
    resource: String,
}

/// kubectl's dispatcher names itself so in its User-Agent.
const DISPATCHER_AGENT: &str = "kubectl-dispatcher";

impl AuditLog {
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path }
    }

    /// Where the log ends now; what a run adds comes after it.
    pub fn end(&self) -> Result<u64> {
        Ok(std::fs::metadata(&self.path)
            .with_context(|| format!("reading the audit log {}", self.path.display()))?
            .len())
    }

    fn entries_since(&self, offset: u64, username: &str) -> Result<Vec<Entry>> {
        let mut file = std::fs::File::open(&self.path).context("opening the audit log")?;
        file.seek(SeekFrom::Start(offset))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<Entry>(line).ok())
            .filter(|entry| entry.user.username == username)
            .collect())
    }

    /// The requests of `username` logged after `offset`.
    pub fn requests_since(&self, offset: u64, username: &str) -> Result<Requests> {
        let mut requests = Requests::default();
        let mut counted = HashSet::new();
        for entry in self.entries_since(offset, username)? {
            if !matches!(entry.verb.as_str(), "get" | "list" | "watch") || !counted.insert(entry.audit_id) {
                continue;
            }
            let agent = entry.user_agent.split(' ').next().unwrap_or_default().to_string();
            if agent.starts_with(DISPATCHER_AGENT) {
                requests.dispatcher += 1;
            } else {
                match entry.verb.as_str() {
                    "get" => requests.get += 1,
                    "list" => requests.list += 1,
                    _ => requests.watch += 1,
                }
                if entry.object_ref.is_some_and(|object| object.resource == "events") {
                    requests.events += 1;
                }
            }
            *requests.by_agent.entry(agent).or_default() += 1;
        }
        Ok(requests)
    }

    /// When the server answered the first watch of `resource` by `username` after `offset` (the stage
    /// ResponseStarted: it sent its headers, the watch is open); waits up to `limit` for it to be logged.
    pub async fn watch_answered(
        &self,
        offset: u64,
        username: &str,
        resource: &str,
        limit: Duration,
    ) -> Result<jiff::Timestamp> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let answered = self.entries_since(offset, username)?.into_iter().find(|entry| {
                entry.verb == "watch"
                    && entry.stage == "ResponseStarted"
                    && entry
                        .object_ref
                        .as_ref()
                        .is_some_and(|object| object.resource == resource)
            });
            if let Some(entry) = answered {
                return entry
                    .stage_timestamp
                    .parse()
                    .with_context(|| format!("the audit log's time {:?}", entry.stage_timestamp));
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no answered watch of {resource} in the audit log within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
