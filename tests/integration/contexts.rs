//! `--context a,b` against the real control plane: each context with its own connection and streams, every
//! change marked with its context; a context that cannot be reached is a notice, retried, that stops nothing
//! but says so in the exit code.

use std::path::PathBuf;
use std::time::Duration;

use crate::live::Tmux;
use crate::support::watcher::{BINARY, Watcher};
use crate::support::{self, TestNamespace};

/// A copy of the test kubeconfig with two more contexts: `second` (the admin's cluster and user again, as a
/// second cluster would be) and `unreachable` (a server nothing listens on).
struct Kubeconfig {
    path: PathBuf,
}

impl Kubeconfig {
    fn with_more_contexts() -> Kubeconfig {
        let cluster = support::cluster();
        let path = std::env::temp_dir().join(format!("{}.kubeconfig", support::unique_name("contexts")));
        std::fs::copy(&cluster.kubeconfig, &path).expect("copy the kubeconfig");
        let kubectl = |args: &[&str]| {
            let output = support::kubectl(&path, args);
            assert!(output.status.success(), "{args:?}: {}", support::stderr_of(&output));
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        };
        let current = kubectl(&["config", "current-context"]);
        let field = |name: &str| {
            kubectl(&[
                "config",
                "view",
                "-o",
                &format!("jsonpath={{.contexts[?(@.name==\"{current}\")].context.{name}}}"),
            ])
        };
        let (cluster_name, user) = (field("cluster"), field("user"));
        kubectl(&[
            "config",
            "set-context",
            "second",
            "--cluster",
            &cluster_name,
            "--user",
            &user,
        ]);
        kubectl(&["config", "set-cluster", "nowhere", "--server", "https://127.0.0.1:9"]);
        kubectl(&[
            "config",
            "set-context",
            "unreachable",
            "--cluster",
            "nowhere",
            "--user",
            &user,
        ]);
        Kubeconfig { path }
    }
}

impl Drop for Kubeconfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn current_context() -> String {
    let output = support::kubectl(&support::cluster().kubeconfig, &["config", "current-context"]);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Two contexts: each change comes once from each, marked with its context, as JSON (`"context"` beside
/// `type` and `object`) and as lines (a CONTEXT column); recorded, the same JSON replays without a cluster.
#[tokio::test]
async fn each_context_reports_its_changes_marked_with_its_name() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "contexts").await;
    let kubeconfig = Kubeconfig::with_more_contexts();
    let contexts = format!("{},second", current_context());
    let recording = std::env::temp_dir().join(support::unique_name("contexts.watch"));
    let recording_path = recording.to_str().expect("a UTF-8 path");
    let mut json = Watcher::start(
        &kubeconfig.path,
        &[
            "configmaps",
            "-n",
            &namespace.name,
            "--context",
            &contexts,
            "-o",
            "json",
            "--record",
            recording_path,
        ],
    )
    .await;
    let mut lines = Watcher::start(
        &kubeconfig.path,
        &["configmaps", "-n", &namespace.name, "--context", &contexts],
    )
    .await;
    // Each context says when it synced.
    for watcher in [&json, &lines] {
        watcher.wait_for_stderr("second: Synced ").await;
        watcher
            .wait_for_stderr(&format!("{}: Synced ", current_context()))
            .await;
        watcher.wait_for_stderr("Synced every context in ").await;
    }
    let created = cluster.kubectl(&["create", "configmap", "shared", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));

    let events = json.json_events(2).await;
    let mut marked: Vec<(String, String, String)> = events
        .iter()
        .map(|event| {
            let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
            (
                text(&event["context"]),
                text(&event["type"]),
                text(&event["object"]["metadata"]["name"]),
            )
        })
        .collect();
    marked.sort();
    let mut expected = vec![
        (current_context(), "ADDED".to_string(), "shared".to_string()),
        ("second".into(), "ADDED".into(), "shared".into()),
    ];
    expected.sort();
    assert_eq!(marked, expected);

    let seen = lines
        .lines_until(Duration::from_secs(30), |line| {
            line.contains(" second ") && line.contains("shared")
        })
        .await;
    let header = seen.iter().find(|line| line.starts_with("EVENT")).expect("a header");
    assert!(header.contains(" CONTEXT ") && header.contains(" NAME "), "{header}");

    // Recorded, the contexts replay with their changes, with no cluster.
    let replayed = std::process::Command::new(BINARY)
        .args(["--replay", recording_path, "-o", "json"])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_file(&recording);
    assert!(replayed.status.success(), "{}", support::stderr_of(&replayed));
    let replayed: Vec<serde_json::Value> = String::from_utf8_lossy(&replayed.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert_eq!(replayed, events, "the same JSON lines, contexts included");
}

/// `--context` with a pattern: the contexts it matches are said first and watched side by side, as listed
/// names are; a pattern that matches none is a usage error (exit code 2), before anything is watched.
#[tokio::test]
async fn a_pattern_chooses_the_contexts_it_matches_and_says_them() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "contexts-pattern").await;
    let kubeconfig = Kubeconfig::with_more_contexts();
    let current = current_context();
    let chosen = format!("{current},s?c*d");
    let mut json = Watcher::start(
        &kubeconfig.path,
        &["configmaps", "-n", &namespace.name, "--context", &chosen, "-o", "json"],
    )
    .await;
    json.wait_for_stderr(&format!("contexts (2 by --context \"{chosen}\"): {current}, second"))
        .await;
    json.wait_for_stderr("Synced every context in ").await;
    let created = cluster.kubectl(&["create", "configmap", "matched", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    let mut marked: Vec<String> = json
        .json_events(2)
        .await
        .iter()
        .map(|event| event["context"].as_str().unwrap_or_default().to_string())
        .collect();
    marked.sort();
    let mut expected = vec![current.clone(), "second".to_string()];
    expected.sort();
    assert_eq!(marked, expected, "one change from each context the pattern matched");

    let none = std::process::Command::new(BINARY)
        .args(["configmaps", "--context", "qa-*"])
        .env("KUBECONFIG", &kubeconfig.path)
        .output()
        .expect("the binary runs");
    let stderr = support::stderr_of(&none);
    assert_eq!(none.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --context \"qa-*\" matches no context of the kubeconfig (its contexts: "),
        "{stderr}"
    );
    assert!(stderr.contains("second") && stderr.contains("unreachable"), "{stderr}");
}

/// A context nobody answers for: said, retried, and the others go on; at the end the exit code says it never
/// synced (4, as a connection failure).
#[tokio::test]
async fn an_unreachable_context_is_a_notice_and_the_exit_code_says_it_never_synced() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "contexts-down").await;
    let kubeconfig = Kubeconfig::with_more_contexts();
    let contexts = format!("unreachable,{}", current_context());
    let mut watcher = Watcher::start(
        &kubeconfig.path,
        &[
            "configmaps",
            "-n",
            &namespace.name,
            "--context",
            &contexts,
            "--timeout",
            "20s",
        ],
    )
    .await;
    let created = cluster.kubectl(&["create", "configmap", "still-seen", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    watcher
        .lines_until(Duration::from_secs(30), |line| line.contains("still-seen"))
        .await;
    let (code, stderr) = watcher.finish().await;
    assert!(stderr.contains("unreachable: cannot reach the API server"), "{stderr}");
    assert!(stderr.contains("trying again in 5s"), "{stderr}");
    assert!(stderr.contains("trying again in 10s"), "retried, less often: {stderr}");
    assert_eq!(code, Some(4), "{stderr}");
}

/// The live view with two contexts: one section per context (in the order of their names), each row with its
/// CONTEXT; the status line says which contexts are watched.
#[tokio::test]
async fn the_live_view_shows_a_section_per_context() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "contexts-live").await;
    let kubeconfig = Kubeconfig::with_more_contexts();
    let current = current_context();
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} configmaps -n {} --context {current},second; echo EXIT=$?; sleep 600",
        kubeconfig.path.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "30", &command]);
    tmux.wait_for("both contexts synced", |screen| screen.contains("Synced every context"));
    let created = cluster.kubectl(&["create", "configmap", "seen-twice", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    // The table's rows (the strip under the table names the selected object too).
    let screen = tmux.wait_for("a row from each context", |screen| {
        screen
            .lines()
            .filter(|line| line.starts_with("ADDED") && line.contains("seen-twice"))
            .count()
            == 2
    });
    assert!(screen.contains(&format!("contexts {current},second")), "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let title = |context: &str| {
        lines
            .iter()
            .position(|line| line.trim_start().starts_with(&format!("{context}: configmaps (v1)")))
    };
    // In the order of the contexts' names.
    let (admin, second) = (title(&current), title("second"));
    assert!(admin.is_some() && second.is_some(), "{screen}");
    assert_eq!(admin < second, current.as_str() < "second", "{screen}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("EVENT") && line.contains("CONTEXT")),
        "{screen}"
    );
    let row = |context: &str| {
        lines.iter().any(|line| {
            line.starts_with("ADDED")
                && line.contains("seen-twice")
                && line.split_whitespace().any(|word| word == context)
        })
    };
    assert!(row(&current) && row("second"), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("a clean exit", |screen| screen.contains("EXIT=0"));
}

/// The key of contexts (`x`) with two contexts that work and one that cannot be reached: the status line
/// tallies them, and the key shows each one's state, its changes, and why the third is failing.
#[tokio::test]
async fn the_contexts_key_shows_each_contexts_state_changes_and_why() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "contexts-key").await;
    let kubeconfig = Kubeconfig::with_more_contexts();
    let current = current_context();
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} configmaps -n {} --context {current},second,unreachable; echo EXIT=$?; sleep 600",
        kubeconfig.path.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "30", &command]);
    tmux.wait_for("two contexts watching, one failing", |screen| {
        screen.contains("contexts 2 watching, 1 failing")
    });
    let created = cluster.kubectl(&["create", "configmap", "counted", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    tmux.wait_for("a row from each context that works", |screen| {
        screen
            .lines()
            .filter(|line| line.starts_with("ADDED") && line.contains("counted"))
            .count()
            == 2
    });
    tmux.run(&["send-keys", "-t", "live", "x"]);
    let screen = tmux.wait_for("the key of contexts", |screen| {
        screen.contains("│CONTEXT") && screen.contains("x, enter or esc closes") && screen.contains("↳")
    });
    let line_of = |name: &str| {
        screen
            .lines()
            .find_map(|line| {
                line.split('│')
                    .nth(1)
                    .filter(|inside| inside.starts_with(&format!("{name} ")))
            })
            .map(|inside| inside.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    for context in [current.as_str(), "second"] {
        // Name, state, since, one change, when, and its lag: the creation came within seconds (to the second
        // of its creationTimestamp, on the same clock here).
        let line = line_of(context);
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            (words.first(), words.get(1), words.get(3)),
            (Some(&context), Some(&"watching"), Some(&"1")),
            "{screen}"
        );
        let lag: Option<u64> = words.get(6).and_then(|lag| lag.strip_suffix('s')?.parse().ok());
        assert!(lag.is_some_and(|lag| lag <= 5), "{screen}");
    }
    assert!(line_of("unreachable").starts_with("unreachable failing"), "{screen}");
    assert!(screen.contains("↳ cannot reach the API server"), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "x"]);
    tmux.wait_for("the key closed", |screen| !screen.contains("│CONTEXT"));
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("the exit code of a context that never synced", |screen| {
        screen.contains("EXIT=4")
    });
}

/// `--lists-at-once 1`: the paginated lists of every kind (and of the Events) are read one after another, as
/// kube-apiserver's audit log shows them: no two lists of the run overlap, from the request received to the
/// response complete.
#[tokio::test]
async fn lists_at_once_bounds_the_lists_in_flight() {
    let Some(cluster) = support::named_control_plane_with("audited", &["--audit-log"], &[]) else {
        return;
    };
    let namespace = support::unique_name("one-list-at-a-time");
    let kinds = "configmaps,secrets,serviceaccounts,services,endpoints,limitranges,resourcequotas,podtemplates";
    let watcher = Watcher::start(&cluster.kubeconfig, &[kinds, "-n", &namespace, "--lists-at-once", "1"]).await;
    drop(watcher);
    let time = |entry: &serde_json::Value, key: &str| {
        entry[key]
            .as_str()
            .and_then(|text| text.parse::<jiff::Timestamp>().ok())
            .unwrap_or_else(|| panic!("no {key} in {entry}"))
    };
    // An entry is written as a request completes: wait for the nine lists (eight kinds and the Events).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let lists = loop {
        let lists: Vec<(jiff::Timestamp, jiff::Timestamp, String)> = cluster
            .audit_log()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| {
                entry["verb"] == "list"
                    && entry["stage"] == "ResponseComplete"
                    && entry["objectRef"]["namespace"] == namespace.as_str()
            })
            .map(|entry| {
                (
                    time(&entry, "requestReceivedTimestamp"),
                    time(&entry, "stageTimestamp"),
                    entry["objectRef"]["resource"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        if lists.len() >= 9 || tokio::time::Instant::now() > deadline {
            break lists;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(lists.len(), 9, "a list of each kind and of the Events: {lists:#?}");
    let mut lists = lists;
    lists.sort();
    for pair in lists.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "{} was listed while {} was: {lists:#?}",
            pair[1].2,
            pair[0].2
        );
    }
}
