//! The built binary, run against a test cluster: its stdout read line by line, its stderr kept whole.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_kubectl-watchnew");
/// How long a watcher may take to sync, or a change to show up.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Watcher {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    /// Reads stderr to its end: awaited when the process has ended, so that its last lines are kept.
    stderr_reader: tokio::task::JoinHandle<()>,
}

/// The variables that would send the tool's connections through a proxy, which no test inherits.
pub const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

impl Watcher {
    /// Starts `kubectl-watchnew --kubeconfig KUBECONFIG ARGS...` and waits until it says it has synced.
    pub async fn start(kubeconfig: &Path, args: &[&str]) -> Watcher {
        Watcher::start_with_env(kubeconfig, args, &[]).await
    }

    /// `start`, with these variables added to the environment.
    pub async fn start_with_env(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Watcher {
        Watcher::spawn_with_env(kubeconfig, args, env).synced(args).await
    }

    /// `start`, with at most `open_files` files open (`ulimit -n`), as on a desktop whose limit is 1024.
    pub async fn start_with_open_files(kubeconfig: &Path, args: &[&str], open_files: u32) -> Watcher {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {open_files} && exec \"$0\" \"$@\""))
            .arg(BINARY);
        Watcher::spawn_command(command, kubeconfig, args, &[])
            .synced(args)
            .await
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Waits until it says it has synced.
    async fn synced(mut self, args: &[&str]) -> Watcher {
        let watcher = &mut self;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !watcher.stderr().contains("Synced ") {
            if let Ok(Some(status)) = watcher.child.try_wait() {
                panic!(
                    "kubectl-watchnew {args:?} exited with {status} before syncing:\n{}",
                    watcher.stderr()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{args:?} did not sync in time:\n{}",
                watcher.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self
    }

    pub fn spawn(kubeconfig: &Path, args: &[&str]) -> Watcher {
        Watcher::spawn_with_env(kubeconfig, args, &[])
    }

    /// Starts it without waiting, with these variables added to an environment without any proxy variable.
    pub fn spawn_with_env(kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Watcher {
        Watcher::spawn_command(Command::new(BINARY), kubeconfig, args, env)
    }

    fn spawn_command(mut command: Command, kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Watcher {
        command
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG");
        for variable in PROXY_VARIABLES {
            command.env_remove(variable);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let collected = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = stderr_lines.next_line().await {
                let mut all = collected.lock().expect("not poisoned");
                all.push_str(&line);
                all.push('\n');
            }
        });
        Watcher {
            child,
            stdout,
            stderr,
            stderr_reader,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("not poisoned").clone()
    }

    /// The next line of output, or `None` if none comes within `within`.
    pub async fn next_line(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.stdout.next_line())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
    }

    /// The lines printed until one satisfies `done` (that one included), failing the test after `within`.
    pub async fn lines_until(&mut self, within: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut lines = Vec::new();
        while tokio::time::Instant::now() < deadline {
            if let Some(line) = self.next_line(Duration::from_millis(200)).await {
                let finished = done(&line);
                lines.push(line);
                if finished {
                    return lines;
                }
            }
        }
        panic!(
            "not seen within {within:?}; the lines were:\n{}\nstderr:\n{}",
            lines.join("\n"),
            self.stderr()
        );
    }

    /// The next `count` JSON events, failing the test if they do not all come in time.
    pub async fn json_events(&mut self, count: usize) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        while events.len() < count {
            let Some(line) = self.next_line(PATIENCE).await else {
                panic!(
                    "expected {count} events, got {}: {events:#?}\nstderr:\n{}",
                    events.len(),
                    self.stderr()
                );
            };
            events.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
        events
    }

    /// Fails the test if anything is printed within `quiet`.
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        if let Some(line) = self.next_line(quiet).await {
            panic!("unexpected output: {line}\nstderr:\n{}", self.stderr());
        }
    }

    /// Waits until stderr contains `text`.
    pub async fn wait_for_stderr(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.stderr().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stderr never said {text:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a line of stderr contains `text`, and gives that line.
    pub async fn wait_for_stderr_line(&self, text: &str) -> String {
        self.wait_for_stderr(text).await;
        let stderr = self.stderr();
        let line = stderr.lines().find(|line| line.contains(text)).unwrap_or_default();
        line.trim_end().to_string()
    }

    /// Sends SIGINT, as Ctrl-C would, and gives the exit code and stderr.
    pub async fn interrupt(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().expect("still running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits")
            .expect("waitable");
        self.stderr_read_to_its_end().await;
        (status.code(), self.stderr())
    }

    /// Waits for the process to end by itself and gives the exit code and stderr.
    pub async fn finish(mut self) -> (Option<i32>, String) {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits in time")
            .expect("waitable");
        self.stderr_read_to_its_end().await;
        (status.code(), self.stderr())
    }

    /// Once the process has ended: waits until every line it wrote on stderr has been read.
    async fn stderr_read_to_its_end(&mut self) {
        let reader = &mut self.stderr_reader;
        tokio::time::timeout(PATIENCE, reader)
            .await
            .expect("stderr ends with the process")
            .expect("the stderr reader ran");
    }
}

/// `(type, name)` of a JSON watch event.
pub fn summary(event: &serde_json::Value) -> (String, String) {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    (text(&event["type"]), text(&event["object"]["metadata"]["name"]))
}
