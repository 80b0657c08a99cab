//! A real OpenTelemetry Collector (built from its Go modules by `scripts/collector`: an OTLP receiver and a
//! file exporter), started on a free loopback port for one test, and the log records it received, read back
//! from the files it wrote.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::proxy_servers::free_port;
use super::{Skip, repo_root, skip};

/// Where `scripts/test` says the Collector it built is.
const COLLECTOR_ENV: &str = "WATCHNEW_COLLECTOR";

/// The Collector's binary: the one `scripts/test` built, else built now (cached); none (a skip) if it cannot be.
fn binary() -> Option<&'static PathBuf> {
    static BINARY: OnceLock<Option<PathBuf>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(COLLECTOR_ENV) {
                return Some(PathBuf::from(path));
            }
            let built = Command::new(repo_root().join("scripts/collector"))
                .arg("build")
                .stderr(Stdio::inherit())
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&built.stdout).lines().last()?.to_string();
            (built.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
        .as_ref()
}

/// `scripts/collector config`: OTLP/HTTP taken at `listen`, written to `received`.
fn configuration(listen: SocketAddr, received: &Path) -> Vec<u8> {
    let made = Command::new(repo_root().join("scripts/collector"))
        .args(["config", &listen.to_string()])
        .arg(received)
        .output()
        .expect("scripts/collector runs");
    assert!(
        made.status.success(),
        "scripts/collector config: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    made.stdout
}

pub struct Collector {
    /// `http://127.0.0.1:PORT`, as `--export` takes it.
    pub url: String,
    listen: SocketAddr,
    dir: tempfile::TempDir,
    /// How many times it was started: each start writes a file of its own.
    starts: usize,
    child: Option<Child>,
}

impl Collector {
    /// Starts one, or says why it cannot (a failure under `CI=true`).
    pub fn start() -> Option<Collector> {
        let Some(binary) = binary() else {
            skip(Skip::Missing(
                "the OpenTelemetry Collector could not be built (scripts/collector build)".into(),
            ));
            return None;
        };
        assert!(binary.exists(), "{} is not there", binary.display());
        let port = free_port();
        let mut collector = Collector {
            url: format!("http://127.0.0.1:{port}"),
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: tempfile::tempdir().expect("a temporary folder"),
            starts: 0,
            child: None,
        };
        collector.start_again();
        Some(collector)
    }

    /// Starts it (again, after `stop`) on the same port, writing to a new file, and waits until it listens.
    pub fn start_again(&mut self) {
        self.starts += 1;
        let config = self.dir.path().join(format!("config-{}.yaml", self.starts));
        let received = self.dir.path().join(format!("received-{}.json", self.starts));
        std::fs::write(&config, configuration(self.listen, &received)).expect("written");
        let log = std::fs::File::create(self.dir.path().join(format!("collector-{}.log", self.starts))).expect("a log");
        let binary = binary().expect("built");
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloneable"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("{} could not be started: {error}", binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(self.listen).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("the collector exited with {status} before it listened: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the collector did not listen on {}: {}",
                self.listen,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it as an operator would (SIGTERM: what it received is written out), and waits until it has
    /// ended and its port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while !matches!(child.try_wait(), Ok(Some(_))) {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.wait();
        }
        assert!(
            TcpStream::connect(self.listen).is_err(),
            "the collector's port still takes connections"
        );
    }

    /// What it logged, every start.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|start| {
                std::fs::read_to_string(self.dir.path().join(format!("collector-{start}.log"))).unwrap_or_default()
            })
            .collect()
    }

    /// Every log record written so far, each start's files in turn, in the order written.
    pub fn records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        for start in 1..=self.starts {
            let text =
                std::fs::read_to_string(self.dir.path().join(format!("received-{start}.json"))).unwrap_or_default();
            // A line being written is not whole yet: read on the next look.
            for line in text.lines() {
                let Ok(request) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                for resource in request["resourceLogs"].as_array().into_iter().flatten() {
                    for scope in resource["scopeLogs"].as_array().into_iter().flatten() {
                        for record in scope["logRecords"].as_array().into_iter().flatten() {
                            records.push(Record {
                                resource: resource["resource"].clone(),
                                record: record.clone(),
                            });
                        }
                    }
                }
            }
        }
        records
    }

    /// Everything it wrote, as text: what a search for a secret value reads.
    pub fn written(&self) -> String {
        (1..=self.starts)
            .map(|start| {
                std::fs::read_to_string(self.dir.path().join(format!("received-{start}.json"))).unwrap_or_default()
            })
            .collect()
    }

    /// Waits until it has written `count` records at least, and gives them all.
    pub async fn wait_for_records(&self, count: usize, within: Duration) -> Vec<Record> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let records = self.records();
            if records.len() >= count {
                return records;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the collector wrote {} records, not {count}: {}",
                records.len(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One log record as the Collector wrote it (OTLP JSON), with its resource.
#[derive(Debug, Clone)]
pub struct Record {
    pub resource: Value,
    pub record: Value,
}

impl Record {
    /// An attribute's text (a list's items joined by newlines).
    pub fn attribute(&self, key: &str) -> Option<String> {
        let attribute = self.record["attributes"]
            .as_array()?
            .iter()
            .find(|attribute| attribute["key"] == key)?;
        let value = &attribute["value"];
        match value["arrayValue"]["values"].as_array() {
            Some(items) => Some(
                items
                    .iter()
                    .filter_map(|item| item["stringValue"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            None => value["stringValue"].as_str().map(str::to_string),
        }
    }

    /// The body: the WatchEvent.
    pub fn event(&self) -> Value {
        serde_json::from_str(self.record["body"]["stringValue"].as_str().unwrap_or_default()).expect("a JSON body")
    }

    /// `(event type, name, resourceVersion)`: what tells one change from another.
    pub fn change(&self) -> (String, String, String) {
        let text = |key: &str| self.attribute(key).unwrap_or_default();
        (
            text("watch.event.type"),
            text("k8s.object.name"),
            text("k8s.object.resource_version"),
        )
    }
}
