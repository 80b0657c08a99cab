//! `--record` and `--replay`: a run against the real control plane is recorded, then replayed with no cluster
//! to the same changes, as JSON, as lines and in the live view (play, step back, jump); Secret values stay
//! out of the recording; a damaged or cut recording replays up to the damage and says where.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::live::Tmux;
use crate::support::watcher::{BINARY, Watcher};
use crate::support::{self, TestNamespace};

/// A file in the temporary folder, removed at the end.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(support::unique_name(name)))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the binary on a recording with no cluster anywhere: no kubeconfig, no proxy.
fn replay(recording: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(BINARY)
        .arg("--replay")
        .arg(recording)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Records `-o json` while a ConfigMap is created, labelled and deleted and a Secret created; gives the
/// recording and the JSON lines the run printed.
async fn record_a_run(namespace: &str, recording: &Path) -> Vec<String> {
    let cluster = support::cluster();
    let path = recording.to_str().expect("a UTF-8 path");
    let mut printed = Vec::new();
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["configmaps,secrets", "-n", namespace, "-o", "json", "--record", path],
    )
    .await;
    for args in [
        &["create", "configmap", "recorded", "--from-literal=a=b"][..],
        &[
            "create",
            "secret",
            "generic",
            "kept-out",
            "--from-literal=password=hunter2",
        ],
        &["label", "configmap", "recorded", "tier=web"],
        &["delete", "configmap", "recorded"],
    ] {
        let mut args = args.to_vec();
        args.extend(["-n", namespace]);
        let done = cluster.kubectl(&args);
        assert!(done.status.success(), "{args:?}: {}", support::stderr_of(&done));
        // Each change is seen before the next is made: the ConfigMaps and the Secrets are two watch streams,
        // with no order between them, and the replay's steps below count on the order the changes were made.
        let line = watcher
            .next_line(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("no change seen after {args:?}"));
        printed.push(line);
    }
    let (code, stderr) = watcher.interrupt().await;
    assert_eq!(code, Some(130), "{stderr}");
    printed
}

#[tokio::test]
async fn a_recorded_run_replays_to_the_same_changes_without_a_cluster() {
    let client = support::cluster().admin_client().await;
    let namespace = TestNamespace::create(&client, "record").await;
    let recording = TempFile::new("run.watch");
    let printed = record_a_run(&namespace.name, &recording.0).await;

    let text = std::fs::read_to_string(&recording.0).expect("the recording");
    assert!(text.starts_with(r#"{"watchnew":"recording","version":2"#), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("aHVudGVyMg"),
        "Secret values are left out"
    );

    // The same JSON lines, in the same order.
    let (code, stdout, stderr) = replay(&recording.0, &["-o", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let replayed: Vec<&str> = stdout.lines().collect();
    assert_eq!(replayed.len(), 4, "{stdout}");
    for (replayed, original) in replayed.iter().zip(&printed) {
        let (replayed, original): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(replayed).expect("JSON"),
            serde_json::from_str(original).expect("JSON"),
        );
        if original["object"]["kind"] == "Secret" {
            assert_eq!(replayed["object"]["data"]["password"], "<hidden>");
            assert_eq!(
                replayed["object"]["metadata"]["name"],
                original["object"]["metadata"]["name"]
            );
        } else {
            assert_eq!(replayed, original);
        }
    }
    assert!(
        stderr.contains("Synced ") && stderr.contains(" configmaps, 0 secrets in "),
        "{stderr}"
    );

    // As lines: kubectl's columns of the time, what changed, the time each change was seen.
    let (code, stdout, stderr) = replay(&recording.0, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("EVENT") && lines[0].contains("WHAT CHANGED"),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("MODIFIED") && line.contains("+metadata.labels.tier=web")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("DELETED") && line.contains("configmap/recorded")),
        "{stdout}"
    );
    let (_, only_deletions, _) = replay(&recording.0, &["--types", "deleted", "-o", "name"]);
    assert_eq!(only_deletions, "configmap/recorded\n");

    // Damage in the middle: what comes before it, then where it is, and exit code 9.
    let damaged = TempFile::new("damaged.watch");
    let mut damaged_lines: Vec<&str> = text.lines().collect();
    let last_change = damaged_lines
        .iter()
        .rposition(|line| line.contains(r#""change":"#))
        .expect("changes");
    damaged_lines[last_change] = "{\"at\":\"2026-12-02T06:00:00Z\",\"change\":{\"stre";
    std::fs::write(&damaged.0, damaged_lines.join("\n") + "\n").expect("write");
    let (code, stdout, stderr) = replay(&damaged.0, &["-o", "name"]);
    assert_eq!(code, Some(9), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stderr.contains(&format!("is damaged at line {}", last_change + 1)),
        "{stderr}"
    );

    // Cut short while it was written: what is whole, and a word about the rest.
    let cut = TempFile::new("cut.watch");
    std::fs::write(&cut.0, &text[..text.len() - 10]).expect("write");
    let (code, stdout, stderr) = replay(&cut.0, &["-o", "name"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stderr.contains("is cut short; replayed up to it"), "{stderr}");

    // Not a recording at all.
    let (code, _, stderr) = replay(Path::new("/etc/hostname"), &[]);
    assert_eq!(code, Some(9), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not a recording made with --record"), "{stderr}");
}

/// The live view over a recording: it plays to the end, steps back one change, jumps to before the first
/// and steps forward again, and quits, with no cluster.
#[tokio::test]
async fn the_live_view_replays_steps_and_jumps() {
    let client = support::cluster().admin_client().await;
    let namespace = TestNamespace::create(&client, "replay-live").await;
    let recording = TempFile::new("live.watch");
    record_a_run(&namespace.name, &recording.0).await;

    let tmux = Tmux::new();
    let command = format!(
        "KUBECONFIG=/nonexistent {BINARY} --replay {}; echo EXIT=$?; sleep 600",
        recording.0.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "30", &command]);
    let screen = tmux.wait_for("the whole recording played", |screen| screen.contains("4/4 changes"));
    assert!(screen.contains("REPLAY"), "{screen}");
    assert!(screen.contains("replay of "), "{screen}");
    let recorded_row = |screen: &str| {
        screen
            .lines()
            .find(|line| line.contains("recorded") && !line.contains("replay of"))
            .map(str::to_string)
    };
    // Created within the recording, its row stays ADDED to its end.
    assert!(
        recorded_row(&screen).is_some_and(|row| row.starts_with("ADDED→DELETED")),
        "{screen}"
    );

    // One change back: the ConfigMap is as its label left it.
    tmux.run(&["send-keys", "-t", "live", ","]);
    let screen = tmux.wait_for("one step back", |screen| screen.contains("3/4 changes"));
    assert!(screen.contains("⏸"), "stepping pauses: {screen}");
    assert!(
        recorded_row(&screen).is_some_and(|row| row.starts_with("ADDED +")),
        "{screen}"
    );

    // To a time before the first change, then one change on.
    tmux.run(&["send-keys", "-t", "live", "g"]);
    tmux.wait_for("the jump prompt", |screen| screen.contains("jump to:"));
    tmux.run(&["send-keys", "-t", "live", "--", "-1h", "Enter"]);
    let screen = tmux.wait_for("the jump back", |screen| screen.contains("0/4 changes"));
    assert!(recorded_row(&screen).is_none(), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "."]);
    let screen = tmux.wait_for("one step on", |screen| screen.contains("1/4 changes"));
    assert!(
        recorded_row(&screen).is_some_and(|row| row.starts_with("ADDED")),
        "{screen}"
    );

    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("a clean exit", |screen| screen.contains("EXIT=0"));
}
