//! Watching a tool from the outside: its output as it arrives (each event stamped with the moment it was read),
//! when it says it is ready, and its memory and CPU time from /proc.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;

/// How a tool announces that it has synced and watches.
#[derive(Debug, Clone, Copy)]
pub enum ReadySignal {
    /// kubectl-watchnew: `Synced 1000 pods in 0.21s; watching for changes` on stderr.
    WatchnewSynced,
    /// kubectl with `-v=6`: the log line of the watch request's response (`...&watch=true 200 OK in 1 milliseconds`),
    /// written once the watch is open.
    KubectlWatchOpened,
}

impl ReadySignal {
    fn matches(self, line: &str) -> bool {
        match self {
            ReadySignal::WatchnewSynced => line.starts_with("Synced "),
            ReadySignal::KubectlWatchOpened => line.contains("watch=true") && line.contains(" 200 OK"),
        }
    }
}

/// What to do with the tool's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutUse {
    /// Read and count lines, as a terminal or a pipe would consume them.
    Count,
    /// Decode a stream of watch events (`-o json`; one per line, or pretty-printed over many) and keep those of
    /// objects whose name starts with `churn-`.
    ChurnEvents,
    /// Count lines, and keep those of human output that report a change of a churn object: the event first
    /// (both tools print EVENT first), and the object's name, the first field that starts with `churn-`.
    ChurnLines,
}

/// One watch event a tool printed, and when the benchmark read it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub event: String,
    pub name: String,
    pub resource_version: String,
    pub at: Instant,
}

#[derive(Debug, Default)]
pub struct Output {
    pub lines: u64,
    pub events: Vec<Seen>,
    /// When the output ended (the tool closed it, or exited).
    pub closed_at: Option<Instant>,
}

/// A running tool.
pub struct Observed {
    child: Child,
    pub pid: u32,
    pub started: Instant,
    /// The same moment on the wall clock, which the audit log's times are on.
    pub started_at: jiff::Timestamp,
    ready: watch::Receiver<Option<Instant>>,
    pub output: Arc<Mutex<Output>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Observed {
    pub fn spawn(
        program: &str,
        args: &[String],
        environment: &[(String, String)],
        signal: ReadySignal,
        stdout_use: StdoutUse,
    ) -> Result<Observed> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(environment.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let started_at = jiff::Timestamp::now();
        let mut child = command.spawn().with_context(|| format!("starting {program}"))?;
        let pid = child.id().ok_or_else(|| anyhow!("{program} exited at once"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");

        let output = Arc::new(Mutex::new(Output::default()));
        tokio::spawn(read_stdout(stdout, stdout_use, output.clone()));

        let (ready_sender, ready) = watch::channel(None);
        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr_lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if ready_sender.borrow().is_none() && signal.matches(&line) {
                    let _ = ready_sender.send(Some(Instant::now()));
                }
                // When it was said, from the tool's start: where in a run an interruption or a relist came.
                let line = format!("[+{:.1}s] {line}", started.elapsed().as_secs_f64());
                lines.lock().expect("stderr lines").push(line);
            }
        });
        Ok(Observed {
            child,
            pid,
            started,
            started_at,
            ready,
            output,
            stderr: stderr_lines,
        })
    }

    /// Waits for the ready signal and gives the time from start to ready.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<Duration> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(at) = *self.ready.borrow() {
                return Ok(at - self.started);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("exited ({status}) before it was ready: {}", self.stderr_tail());
            }
            if Instant::now() > deadline {
                bail!("not ready within {limit:?}: {}", self.stderr_tail());
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), self.ready.changed()).await;
        }
    }

    /// Waits until a line of its stderr contains `text`, and gives the time from start to then.
    pub async fn wait_stderr(&mut self, text: &str, limit: Duration) -> Result<Duration> {
        let deadline = Instant::now() + limit;
        loop {
            if self.stderr_count(text) > 0 {
                return Ok(self.started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("exited ({status}) before it said {text:?}: {}", self.stderr_tail());
            }
            if Instant::now() > deadline {
                bail!("did not say {text:?} within {limit:?}: {}", self.stderr_tail());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many lines of its stderr so far contain `text`.
    pub fn stderr_count(&self, text: &str) -> u64 {
        let lines = self.stderr.lock().expect("stderr lines");
        lines.iter().filter(|line| line.contains(text)).count() as u64
    }

    /// Its stderr lines that contain one of `texts`, at most `limit` of them, each with its time from the start.
    pub fn stderr_matching(&self, texts: &[&str], limit: usize) -> Vec<String> {
        let lines = self.stderr.lock().expect("stderr lines");
        lines
            .iter()
            .filter(|line| texts.iter().any(|text| line.contains(text)))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().expect("stderr lines");
        let start = lines.len().saturating_sub(5);
        lines[start..].join(" | ")
    }

    pub fn still_running(&mut self) -> Result<()> {
        match self.exited() {
            Some(how) => bail!("{how}"),
            None => Ok(()),
        }
    }

    /// How the tool ended, if it has: its status and last words. Read /proc before this, which reaps it.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("exited ({status}) while watching: {}", self.stderr_tail())),
            Ok(None) => None,
            Err(error) => Some(format!("cannot tell whether it runs: {error}")),
        }
    }

    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await.context("stopping the tool")
    }
}

async fn read_stdout(mut stdout: tokio::process::ChildStdout, stdout_use: StdoutUse, output: Arc<Mutex<Output>>) {
    let mut chunk = vec![0u8; 256 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let read = match stdout.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                output.lock().expect("output").closed_at = Some(Instant::now());
                return;
            }
            Ok(read) => read,
        };
        let at = Instant::now();
        let bytes = &chunk[..read];
        let newlines = bytes.iter().filter(|&&byte| byte == b'\n').count() as u64;
        let mut output = output.lock().expect("output");
        output.lines += newlines;
        match stdout_use {
            StdoutUse::Count => {}
            StdoutUse::ChurnEvents => {
                pending.extend_from_slice(bytes);
                let consumed = decode_events(&pending, at, &mut output.events);
                pending.drain(..consumed);
            }
            StdoutUse::ChurnLines => {
                pending.extend_from_slice(bytes);
                let complete = pending
                    .iter()
                    .rposition(|&byte| byte == b'\n')
                    .map_or(0, |last| last + 1);
                for line in pending[..complete].split(|&byte| byte == b'\n') {
                    if let Some(seen) = churn_line(&String::from_utf8_lossy(line), at) {
                        output.events.push(seen);
                    }
                }
                pending.drain(..complete);
            }
        }
    }
}

/// A line of human output that reports a change of a churn object.
fn churn_line(line: &str, at: Instant) -> Option<Seen> {
    let mut fields = line.split_whitespace();
    let event = fields
        .next()
        .filter(|event| matches!(*event, "ADDED" | "MODIFIED" | "DELETED"))?;
    let name = fields.find(|field| field.starts_with("churn-"))?;
    Some(Seen {
        event: event.to_string(),
        name: name.to_string(),
        resource_version: String::new(),
        at,
    })
}

#[derive(Deserialize)]
struct EventHead {
    #[serde(rename = "type")]
    event: String,
    object: ObjectHead,
}

#[derive(Deserialize)]
struct ObjectHead {
    metadata: MetadataHead,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetadataHead {
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource_version: String,
}

/// Decodes the complete watch events at the start of `bytes`, keeps those of churn objects, and says how many
/// bytes they took; an incomplete event at the end waits for more bytes.
pub fn decode_events(bytes: &[u8], at: Instant, events: &mut Vec<Seen>) -> usize {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<EventHead>();
    let mut consumed = 0;
    loop {
        match stream.next() {
            Some(Ok(head)) => {
                consumed = stream.byte_offset();
                if head.object.metadata.name.starts_with("churn-") {
                    events.push(Seen {
                        event: head.event,
                        name: head.object.metadata.name,
                        resource_version: head.object.metadata.resource_version,
                        at,
                    });
                }
            }
            Some(Err(error)) if error.is_eof() => return consumed,
            // Not an event (a table line, say): skip to the next line.
            Some(Err(_)) => {
                return match bytes[consumed..].iter().position(|&byte| byte == b'\n') {
                    Some(newline) => {
                        let skipped = consumed + newline + 1;
                        skipped + decode_events(&bytes[skipped..], at, events)
                    }
                    None => consumed,
                };
            }
            None => return consumed,
        }
    }
}

/// A line of `/proc/PID/status` in KiB, such as `VmHWM` (peak resident memory) or `VmRSS`.
pub fn memory_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// A line of `/proc/meminfo` in KiB, such as `MemTotal` or `MemAvailable`.
pub fn meminfo_kib(field: &str) -> Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/meminfo"))
}

/// User and system CPU time the process has used so far.
pub fn cpu_time(pid: u32, clock_ticks: f64) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc stat")?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> Result<f64> {
        fields
            .get(index)
            .and_then(|value| value.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("malformed /proc/{pid}/stat"))
    };
    // utime and stime are fields 14 and 15; field 3 is the first after the name.
    Ok(Duration::from_secs_f64((ticks(11)? + ticks(12)?) / clock_ticks))
}

/// The clock ticks per second that /proc counts CPU time in.
/// Resets a process's peak resident memory (VmHWM) to its current one (`clear_refs`, Linux 4.0 and later), so
/// that the peak of what follows can be read.
pub fn reset_peak_memory(pid: u32) -> Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("resetting the peak memory of {pid}"))
}

pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The first process at or below `root` whose command name starts with `prefix`.
pub fn find_descendant(root: u32, prefix: &str) -> Option<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let name_of = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let entries = std::fs::read_dir(Path::new("/proc")).ok()?;
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| name_of(pid).starts_with(prefix))
        .find(|&pid| {
            let mut current = Some(pid);
            while let Some(candidate) = current {
                if candidate == root {
                    return true;
                }
                current = parent_of(candidate).filter(|&parent| parent > 1);
            }
            false
        })
}
