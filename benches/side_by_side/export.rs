//! What `--export` costs: the same churn seen by two piped watchers side by side, one of them also sending
//! every change to a real OpenTelemetry Collector (built from its Go modules by `scripts/collector`, its OTLP
//! receiver writing to a file), and what the collector received.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::time::Instant;

use crate::observe::Observed;
use crate::report::{Observer, RunStamp, churn_table, stamp_line, stopped_early};
use crate::{Bench, READY_LIMIT, Tool, churn, churn_observers, say};

/// Where `--only-export` puts its section back.
pub const TITLE: &str = "## What the export costs";

#[derive(Debug, Serialize)]
pub struct ExportCost {
    pub rate: u32,
    pub changes: u64,
    pub achieved_rate: f64,
    pub failed_requests: u64,
    pub first_failure: Option<String>,
    /// Pods in the cluster besides the churned ones.
    pub pods: usize,
    /// The log records the collector wrote, and in how many requests they came.
    pub records_received: u64,
    pub requests_received: u64,
    pub observers: Vec<Observer>,
    /// Set when the section was measured on its own (`--only-export`) and spliced into another run's report.
    pub run: Option<RunStamp>,
}

const PLAIN: &str = "kubectl watchnew, piped";
const EXPORTING: &str = "kubectl watchnew, piped --export (to the collector)";

impl Bench {
    pub(crate) async fn export_cost(
        &self,
        target: &[String],
        rate: u32,
        total: u64,
        pods: usize,
    ) -> Result<ExportCost> {
        say(format!("the export's cost: {total} changes at {rate} changes/s"));
        let collector = Collector::start()?;
        let mut plain = self.lines_of(Tool::Watchnew, target, &[])?;
        let mut exporting = self.lines_of(Tool::Watchnew, target, &["--export", &collector.url])?;
        plain.wait_ready(READY_LIMIT).await?;
        exporting.wait_ready(READY_LIMIT).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pids = [plain.pid, exporting.pid];
        let ready = self.samples(&pids);
        let record = churn::run(&self.client, "export", rate, total, false).await?;
        let changes = record.changes.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        let count = |observed: &Observed| observed.output.lock().expect("output").events.len() as u64;
        while Instant::now() < deadline
            && ([&plain, &exporting].iter().any(|observed| count(observed) < changes)
                || collector.received().0 < changes)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let after = self.samples(&pids);
        let (records_received, requests_received) = collector.received();
        let ended = [plain.exited(), exporting.exited()];
        let reported = [Some(count(&plain)), Some(count(&exporting))];
        plain.stop().await?;
        exporting.stop().await?;
        Ok(ExportCost {
            rate,
            changes,
            achieved_rate: record.achieved_rate(),
            failed_requests: record.failures,
            first_failure: record.first_failure.clone(),
            pods,
            records_received,
            requests_received,
            observers: churn_observers(&[PLAIN, EXPORTING], &ready, &after, &reported, record.elapsed, &ended),
            run: None,
        })
    }
}

impl ExportCost {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{TITLE}\n");
        stamp_line(&mut out, &self.run);
        let _ = writeln!(
            out,
            "`--export URL` sends every change reported to an OpenTelemetry Collector as an OTLP log record. Its \
             cost, measured: pods churned on `pods -A` ({} pods in the cluster besides), {} changes asked at {}/s \
             ({:.0}/s achieved, {} failed requests). Two piped watchers side by side, one of them exporting to a \
             real Collector on loopback (built from its Go modules by `scripts/collector`: its OTLP receiver, its \
             file exporter writing to a file). The collector received {} log records in {} requests ({:.0} \
             records a request).\n",
            self.pods,
            self.changes,
            self.rate,
            self.achieved_rate,
            self.failed_requests,
            self.records_received,
            self.requests_received,
            self.records_received as f64 / self.requests_received.max(1) as f64,
        );
        churn_table(&mut out, &self.first_failure, &self.observers);
        let find = |label: &str| self.observers.iter().find(|o| o.observer == label);
        if let (Some(on), Some(off)) = (find(EXPORTING), find(PLAIN))
            && let (Some(cpu_on), Some(cpu_off), Some(rss_on), Some(rss_off)) = (
                on.cpu_ms_per_1000,
                off.cpu_ms_per_1000,
                on.rss_after_mib,
                off.rss_after_mib,
            )
        {
            let _ = writeln!(
                out,
                "\nThe export costs {:+.0} ms of CPU per 1,000 changes ({:+.0}%) and {:+.1} MiB of memory.",
                cpu_on - cpu_off,
                (cpu_on - cpu_off) / cpu_off * 100.0,
                rss_on - rss_off
            );
        }
        stopped_early(&mut out, &self.observers);
        out
    }
}

/// The Collector, on a free loopback port, writing what it receives to a file.
struct Collector {
    url: String,
    received: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Collector {
    fn start() -> Result<Collector> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let built = Command::new(root.join("scripts/collector"))
            .arg("build")
            .stderr(Stdio::inherit())
            .output()
            .context("scripts/collector build")?;
        let binary = String::from_utf8_lossy(&built.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        if !built.status.success() || binary.is_empty() {
            bail!("scripts/collector build failed");
        }
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let received = dir.path().join("received.json");
        let config = dir.path().join("config.yaml");
        let configuration = Command::new(root.join("scripts/collector"))
            .args(["config", &format!("127.0.0.1:{port}")])
            .arg(&received)
            .output()
            .context("scripts/collector config")?;
        if !configuration.status.success() {
            bail!("scripts/collector config failed");
        }
        std::fs::write(&config, configuration.stdout)?;
        let child = Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if std::time::Instant::now() > deadline {
                bail!("the collector did not listen on 127.0.0.1:{port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Collector {
            url: format!("http://127.0.0.1:{port}"),
            received,
            child,
            _dir: dir,
        })
    }

    /// The log records written so far, and the requests (one line each) they came in.
    fn received(&self) -> (u64, u64) {
        let text = std::fs::read_to_string(&self.received).unwrap_or_default();
        let (mut records, mut requests) = (0, 0);
        for line in text.lines() {
            let Ok(request) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            requests += 1;
            for resource in request["resourceLogs"].as_array().into_iter().flatten() {
                for scope in resource["scopeLogs"].as_array().into_iter().flatten() {
                    records += scope["logRecords"].as_array().map_or(0, Vec::len) as u64;
                }
            }
        }
        (records, requests)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
