//! The live view in a real terminal: tmux runs the binary against the real control plane, and the test reads
//! the screen as a person would.

use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::watcher::{BINARY, PATIENCE};
use crate::support::{self, TestNamespace};

/// A tmux server of the test's own, killed at the end.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn new() -> Tmux {
        Tmux {
            socket: support::unique_name("wn-tmux"),
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub(crate) fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "live"])
    }

    /// Waits until the screen satisfies `check`, and returns it.
    pub(crate) fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(what, PATIENCE, check)
    }

    /// Waits until the screen satisfies `check`, at most `within`.
    pub(crate) fn wait_for_within(&self, what: &str, within: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == name))
}

#[tokio::test]
async fn the_live_view_shows_kubectl_columns_updates_rows_reflows_and_restores_the_terminal() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "live").await;
    let tmux = Tmux::new();
    let command = format!(
        "echo BEFORE-THE-VIEW; {BINARY} --kubeconfig {} pods -n {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "140", "-y", "30", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));

    let pods: Api<Pod> = Api::namespaced(client, &namespace.name);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": "web-1", "labels": { "app": "web" } },
        "spec": { "containers": [{ "name": "web", "image": "registry.k8s.io/pause:3.10" }] }
    }))
    .expect("a pod");
    pods.create(&PostParams::default(), &pod).await.expect("create");
    let screen = tmux.wait_for("the new pod", |screen| row(screen, "web-1").is_some());
    let header = screen.lines().find(|line| line.starts_with("EVENT")).expect("a header");
    let columns: Vec<&str> = header.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    // LAST EVENT is there once the scheduler's Event has come (where pods run): it may not have yet. WHO is
    // there while the row's latest change has a writer: the scheduler's binding, which may be it, has none.
    let columns: Vec<&str> = columns
        .into_iter()
        .filter(|column| *column != "LAST EVENT" && *column != "WHO")
        .collect();
    assert_eq!(
        columns,
        [
            "EVENT",
            "LAST CHANGE",
            "CHANGES",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "WHAT CHANGED"
        ],
        "{screen}"
    );
    // Created since the start, its row says ADDED for as long as it is shown, however often it changes (where
    // pods run, kwok schedules and starts it within milliseconds: `ADDED +2`).
    let runs = support::cluster().runs_nodes();
    assert!(
        row(&screen, "web-1").is_some_and(|row| row.starts_with("ADDED")),
        "{screen}"
    );

    let changes = |screen: &str| -> Option<u32> {
        let row = row(screen, "web-1")?;
        let cells: Vec<&str> = row.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        cells.get(2)?.parse().ok()
    };
    let settled = if runs {
        tmux.wait_for("the pod running", |screen| {
            row(screen, "web-1").is_some_and(|row| row.contains(" Running ") && row.contains(" 1/1 "))
        })
    } else {
        screen
    };
    let before = changes(&settled).unwrap_or_else(|| panic!("a count of changes: {settled}"));
    let patch = json!({ "metadata": { "labels": { "tier": "frontend" } } });
    pods.patch("web-1", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    let screen = tmux.wait_for("the modification", |screen| {
        row(screen, "web-1")
            .is_some_and(|row| row.starts_with("ADDED +") && row.contains("+metadata.labels.tier=frontend"))
    });
    // Where pods run, kwok may still touch the pod's status around the patch: at least one change more.
    assert!(
        changes(&screen).is_some_and(|after| after > before),
        "{before} changes before, more after: {screen}"
    );

    tmux.run(&["resize-window", "-t", "live", "-x", "60", "-y", "20"]);
    let screen = tmux.wait_for("a reflowed table", |screen| {
        screen.lines().all(|line| line.chars().count() <= 60) && row(screen, "web-1").is_some()
    });
    // At 60 columns what changed is kept before the counters and kubectl's columns.
    assert!(
        row(&screen, "web-1").is_some_and(|row| row.starts_with("ADDED +") && row.contains("+metadata.labels.tier=")),
        "{screen}"
    );

    tmux.run(&["send-keys", "-t", "live", "q"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "q exits with 0: {screen}");
    assert!(
        screen.contains("BEFORE-THE-VIEW"),
        "the screen from before is back: {screen}"
    );
    assert!(
        !screen.contains("WHAT CHANGED"),
        "the view is gone from the screen: {screen}"
    );
    assert!(screen.contains("changes in"), "a summary is left behind: {screen}");
}

#[tokio::test]
async fn keys_switch_to_the_timeline_pause_and_quit_with_ctrl_c() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "keys").await;
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} cm -n {} --timeline; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "120", "-y", "20", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, &namespace.name);
    let make = |name: &str| serde_json::from_value(json!({ "metadata": { "name": name } })).expect("a configmap");
    config_maps
        .create(&PostParams::default(), &make("first"))
        .await
        .expect("create");
    let screen = tmux.wait_for("the timeline", |screen| row(screen, "first").is_some());
    assert!(
        screen.lines().any(|line| line.starts_with("TIME ")),
        "the timeline starts with TIME: {screen}"
    );

    tmux.run(&["send-keys", "-t", "live", "Space"]);
    tmux.wait_for("the pause", |screen| screen.contains("PAUSED"));
    config_maps
        .create(&PostParams::default(), &make("second"))
        .await
        .expect("create");
    let screen = tmux.wait_for("a waiting change", |screen| screen.contains("PAUSED (1 waiting)"));
    assert!(
        row(&screen, "second").is_none(),
        "paused: the screen stands still: {screen}"
    );
    tmux.run(&["send-keys", "-t", "live", "Space"]);
    tmux.wait_for("the kept change", |screen| row(screen, "second").is_some());

    tmux.run(&["send-keys", "-t", "live", "t"]);
    tmux.wait_for("the table", |screen| {
        screen.lines().any(|line| line.starts_with("EVENT "))
    });
    tmux.run(&["send-keys", "-t", "live", "C-c"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=130"), "Ctrl-C exits with 130: {screen}");
}

/// `/` narrows the rows to those that match what is typed, the status line says how many it hides, Enter keeps
/// the filter, Esc clears it; `--filter` sets one at start.
#[tokio::test]
async fn a_filter_narrows_the_rows_and_esc_clears_it() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "filter").await;
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} cm -n {} --filter db; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "120", "-y", "20", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, &namespace.name);
    for name in ["web-settings", "db-settings", "web-flags"] {
        let config_map = serde_json::from_value(json!({ "metadata": { "name": name } })).expect("a configmap");
        config_maps
            .create(&PostParams::default(), &config_map)
            .await
            .expect("create");
    }
    let screen = tmux.wait_for("the filter from the command line", |screen| {
        screen.contains("/db (2 hidden)") && row(screen, "db-settings").is_some()
    });
    assert!(row(&screen, "web-settings").is_none(), "{screen}");

    tmux.run(&["send-keys", "-t", "live", "Escape", "/", "w", "e", "b", "Enter"]);
    let screen = tmux.wait_for("the typed filter", |screen| screen.contains("/web (1 hidden)"));
    assert!(
        row(&screen, "web-settings").is_some() && row(&screen, "web-flags").is_some(),
        "{screen}"
    );
    assert!(row(&screen, "db-settings").is_none(), "{screen}");
    // Kept after Enter: the keys move and quit again.
    tmux.run(&["send-keys", "-t", "live", "/", "Escape"]);
    let screen = tmux.wait_for("every row again", |screen| {
        !screen.contains("hidden)") && row(screen, "db-settings").is_some()
    });
    assert!(row(&screen, "web-flags").is_some(), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "q"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

/// The process of the binary that runs in the session, found by the namespace it watches.
fn watcher_pid(namespace: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let found = Command::new("pgrep")
            .args(["-f", namespace])
            .output()
            .expect("pgrep runs");
        let pid = String::from_utf8_lossy(&found.stdout)
            .lines()
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.starts_with("kubectl-watch"))
            })
            .map(str::to_string);
        if let Some(pid) = pid {
            return pid;
        }
        assert!(Instant::now() < deadline, "the binary watching {namespace} never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn sigterm_and_sighup_end_the_live_view_with_their_codes_and_restore_the_terminal() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let namespace = TestNamespace::create(&client, "signals").await;
        let tmux = Tmux::new();
        let command = format!(
            "{BINARY} --kubeconfig {} cm -n {}; echo EXIT=$?; sleep 600",
            cluster.kubeconfig.display(),
            namespace.name
        );
        tmux.run(&["new-session", "-d", "-s", "live", "-x", "100", "-y", "20", &command]);
        tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &watcher_pid(&namespace.name)])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
        assert!(
            screen.contains(&format!("EXIT={code}")),
            "SIG{signal} exits with {code}: {screen}"
        );
        assert!(
            !screen.contains("existing hidden"),
            "the live view's screen is gone after SIG{signal}: {screen}"
        );
    }
}

#[tokio::test]
async fn a_terminal_twenty_columns_wide_still_works() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "narrow").await;
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} cm -n {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "20", "-y", "12", &command]);
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, &namespace.name);
    tmux.wait_for("the synced view", |screen| screen.contains("No changes yet."));
    let watching = watcher_pid(&namespace.name);
    let make = |name: &str| serde_json::from_value(json!({ "metadata": { "name": name } })).expect("a configmap");
    config_maps
        .create(&PostParams::default(), &make("a"))
        .await
        .expect("create");
    // The columns that cannot fit give way; the event and the name stay, whole, and nothing breaks.
    let screen = tmux.wait_for("the new row", |screen| row(screen, "a").is_some());
    let header = screen
        .lines()
        .find(|line| line.starts_with("EVENT"))
        .unwrap_or_default();
    assert!(header.contains("NAME"), "EVENT and NAME at 20 columns: {screen}");
    assert!(
        row(&screen, "a").is_some_and(|line| line.starts_with("ADDED")),
        "{screen}"
    );
    assert!(
        std::path::Path::new(&format!("/proc/{watching}")).exists(),
        "still running at 20 columns: {}",
        tmux.screen()
    );
    tmux.run(&["send-keys", "-t", "live", "q"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "q ends it with 0, not a panic: {screen}");
}
