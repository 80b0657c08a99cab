//! Counting the read requests a tool made, from kube-apiserver's audit log (scripts/controlplane/audit-policy.yaml logs
//! each get, list and watch once, when it completes).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub struct AuditLog {
    path: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Requests {
    pub get: u32,
    pub list: u32,
    pub watch: u32,
    /// By the user agent that made them (kubectl's version dispatcher checks the server's version first).
    pub by_agent: BTreeMap<String, u32>,
}

impl Requests {
    pub fn total(&self) -> u32 {
        self.get + self.list + self.watch
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    verb: String,
    user: User,
    #[serde(default)]
    user_agent: String,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    username: String,
}

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

    /// The requests of `username` logged after `offset`.
    pub fn requests_since(&self, offset: u64, username: &str) -> Result<Requests> {
        let mut file = std::fs::File::open(&self.path).context("opening the audit log")?;
        file.seek(SeekFrom::Start(offset))?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let mut requests = Requests::default();
        for entry in text.lines().filter_map(|line| serde_json::from_str::<Entry>(line).ok()) {
            if entry.user.username != username {
                continue;
            }
            match entry.verb.as_str() {
                "get" => requests.get += 1,
                "list" => requests.list += 1,
                "watch" => requests.watch += 1,
                _ => continue,
            }
            let agent = entry.user_agent.split(' ').next().unwrap_or_default().to_string();
            *requests.by_agent.entry(agent).or_default() += 1;
        }
        Ok(requests)
    }
}
