//! A live view that reads well, against the real control plane: a rollout at the widths people use (80 to 240
//! columns), objects created since the start told apart, the selected row whole in the strip under the table;
//! and heartbeats (kwok's node Leases, a node's conditions' lastHeartbeatTime) counted, not reported.

use std::time::Duration;

use crate::live::Tmux;
use crate::support::watcher::{BINARY, PATIENCE, Watcher};
use crate::support::{self, TestNamespace};

fn kubectl(args: &[&str]) -> String {
    let done = support::cluster().kubectl(args);
    assert!(done.status.success(), "kubectl {args:?}: {}", support::stderr_of(&done));
    String::from_utf8_lossy(&done.stdout).to_string()
}

/// The table's rows of the pods on a screen: lines that begin with an event and name a pod of `deployment`.
fn pod_rows<'a>(screen: &'a str, deployment: &str) -> Vec<&'a str> {
    let prefix = format!("{deployment}-");
    screen
        .lines()
        .filter(|line| {
            ["ADDED", "MODIFIED", "DELETED"]
                .iter()
                .any(|event| line.starts_with(event))
        })
        // A pod's name (`shop-56d86f64f4-9cqcb`), not its ReplicaSet's in an Event's message.
        .filter(|line| {
            line.split_whitespace()
                .any(|word| word.starts_with(&prefix) && word.matches('-').count() == 2 && !word.ends_with('…'))
        })
        .collect()
}

#[tokio::test]
async fn a_rollout_reads_at_every_width_people_use() {
    let cluster = support::cluster();
    if !support::runs_controllers() {
        return;
    }
    if !cluster.runs_nodes() {
        support::skip(support::Skip::Missing(
            "the local control plane runs no kwok nodes: pods would never run".into(),
        ));
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "widths").await;
    let ns = namespace.name.as_str();
    // One pod that existed before the start, modified later: MODIFIED, not ADDED.
    kubectl(&["create", "configmap", "settings", "--from-literal=mode=slow", "-n", ns]);
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} deploy,pods,cm -n {ns}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "45", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));

    kubectl(&[
        "create",
        "deployment",
        "shop",
        "--image=registry.k8s.io/pause:3.9",
        "--replicas=3",
        "-n",
        ns,
    ]);
    kubectl(&["rollout", "status", "deployment/shop", "--timeout=60s", "-n", ns]);
    kubectl(&[
        "set",
        "image",
        "deployment/shop",
        "pause=registry.k8s.io/pause:3.10",
        "-n",
        ns,
    ]);
    kubectl(&["rollout", "status", "deployment/shop", "--timeout=60s", "-n", ns]);
    kubectl(&["label", "configmap", "settings", "tier=backend", "-n", ns]);
    // The new pods run; the old ones are gone.
    tmux.wait_for("the rollout done", |screen| {
        let rows = pod_rows(screen, "shop");
        rows.iter().filter(|row| row.contains(" Running ")).count() >= 3
            && rows.iter().filter(|row| row.starts_with("ADDED→DELETED")).count() >= 3
            && screen
                .lines()
                .any(|line| line.starts_with("MODIFIED") && line.contains("tier=backend"))
    });
    // Every pod that runs was last changed by kwok's start, which WHAT CHANGED begins with.
    // A whole frame: the pods and the ConfigMap below them (a capture may come while a resize redraws).
    let settled = |screen: &str| {
        let rows = pod_rows(screen, "shop");
        rows.len() >= 6
            && rows.iter().filter(|row| !row.starts_with("ADDED→DELETED")).count() >= 3
            && screen
                .lines()
                .any(|line| line.starts_with("MODIFIED") && line.contains("settings"))
    };

    for width in [80u16, 120, 160, 200, 240] {
        let columns = width.to_string();
        tmux.run(&["resize-window", "-t", "live", "-x", &columns, "-y", "45"]);
        let screen = tmux.wait_for(&format!("the view at {width} columns"), |screen| {
            screen.lines().next().is_some_and(|line| line.chars().count() > 40)
                && screen
                    .lines()
                    .any(|line| line.chars().count() > usize::from(width) - 40)
                && settled(screen)
        });
        let rows = pod_rows(&screen, "shop");
        // Created since the start: every pod of the rollout says ADDED, whatever happened to it since.
        assert!(
            rows.iter().all(|row| row.starts_with("ADDED")),
            "{width} columns:\n{screen}"
        );
        // What changed is read whole at every width: the counters, times and owner gave way first.
        assert!(
            rows.iter()
                .filter(|row| !row.starts_with("ADDED→DELETED"))
                .all(|row| row.contains("status.phase Pending→Running")),
            "{width} columns:\n{screen}"
        );
        // An object that existed at the start reads MODIFIED.
        assert!(
            screen
                .lines()
                .any(|line| line.starts_with("MODIFIED") && line.contains("settings")),
            "{width} columns:\n{screen}"
        );
        assert!(
            !screen.contains("(combined from similar events)"),
            "a series reads without its prefix at {width} columns:\n{screen}"
        );
        // The strip under the table: the selected (newest) entry, titled with its name, whole.
        let strip = screen
            .lines()
            .position(|line| line.starts_with("── "))
            .unwrap_or_else(|| panic!("no strip at {width} columns:\n{screen}"));
        let below: Vec<&str> = screen.lines().skip(strip + 1).collect();
        assert!(
            below.iter().any(|line| line.starts_with("changed  ")),
            "{width} columns:\n{screen}"
        );
        if width >= 200 {
            // Room for all: the owner, shortened only as far as needed, and the latest Event.
            let header = screen
                .lines()
                .find(|line| line.starts_with("EVENT") && line.contains("RESTARTS"))
                .expect("the pods' header");
            assert!(header.contains("OWNER") && header.contains("LAST EVENT"), "{screen}");
            assert!(rows.iter().all(|row| row.contains("ReplicaSet/")), "{screen}");
        }
    }
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("the exit", |screen| screen.contains("EXIT=0"));
}

/// kwok renews each node's Lease every ten seconds, and a heartbeat of a node's own is written here as the
/// kubelet writes it (`lastHeartbeatTime` of its conditions, through the status subresource).
#[tokio::test]
async fn heartbeats_are_counted_not_reported_and_a_new_holder_is_a_change() {
    let cluster = support::cluster();
    if !cluster.runs_nodes() {
        support::skip(support::Skip::Missing(
            "the local control plane runs no kwok nodes, whose Leases beat".into(),
        ));
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "beats").await;
    let ns = namespace.name.as_str();
    let node = kubectl(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let mut quiet = Watcher::start(&cluster.kubeconfig, &["nodes,leases", "-A"]).await;
    let mut beating = Watcher::start(&cluster.kubeconfig, &["nodes,leases", "-A", "--heartbeats"]).await;
    // JSON reads the snapshot by metadata alone where it can: nodes and Leases it reads whole, so that the first
    // heartbeat after the start is told from a change too.
    let mut json = Watcher::start(&cluster.kubeconfig, &["nodes,leases", "-A", "-o", "json"]).await;

    // Made with `kubectl create` and changed with patches, as a leader elector does (an apply would also change
    // its last-applied annotation each time, which is a change).
    let manifest = format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: leader, namespace: {ns}}}\n\
         spec: {{holderIdentity: alpha, leaseDurationSeconds: 15, acquireTime: \"2026-12-06T10:00:00.000000Z\", \
         renewTime: \"2026-12-06T10:00:00.000000Z\"}}\n"
    );
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), manifest).expect("written");
    kubectl(&["create", "-f", &file.path().to_string_lossy()]);
    let patch_lease = |spec: &str| {
        kubectl(&[
            "patch",
            "lease",
            "leader",
            "-n",
            ns,
            "--type=merge",
            "-p",
            &format!(r#"{{"spec":{spec}}}"#),
        ]);
    };
    // Renewed by its holder: a heartbeat. Then a node's heartbeat. Then a new holder, and a label on the node.
    patch_lease(r#"{"renewTime":"2026-12-06T10:00:02.000000Z"}"#);
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let beat = format!(r#"{{"status":{{"conditions":[{{"type":"Ready","lastHeartbeatTime":"{now}"}}]}}}}"#);
    kubectl(&[
        "patch",
        "node",
        &node,
        "--subresource=status",
        "--type=strategic",
        "-p",
        &beat,
    ]);
    patch_lease(r#"{"holderIdentity":"beta","renewTime":"2026-12-06T10:00:04.000000Z"}"#);
    // Labelled with a value of this run's own, which a label left by an earlier run cannot already have.
    kubectl(&["label", "node", &node, &format!("watchnew-test={ns}"), "--overwrite"]);
    let label = |line: &str| line.contains("watchnew-test") && line.contains(ns);

    // The fault took effect: the watcher that reports heartbeats saw the renewal and the node's heartbeat.
    let leader = format!("{ns} ");
    let seen = beating.lines_until(PATIENCE, label).await;
    let renewed =
        |line: &&String| line.contains(&leader) && line.contains("spec.renewTime") && !line.contains("holderIdentity");
    assert!(seen.iter().any(|line| renewed(&line)), "{seen:#?}");
    let node_beat =
        |line: &&String| line.contains(&node) && line.contains("lastHeartbeatTime") && !line.contains("watchnew-test");
    assert!(seen.iter().any(|line| node_beat(&line)), "{seen:#?}");

    // The default watcher reported the Lease's creation and its new holder, the node's label, and no heartbeat.
    // The node and the Lease are two streams, with no order between them: both are waited for.
    let holder_changed = |line: &String| line.contains(&leader) && line.contains("spec.holderIdentity alpha→beta");
    let mut seen: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !(seen.iter().any(holder_changed) && seen.iter().any(|line| label(line))) {
        assert!(tokio::time::Instant::now() < deadline, "{seen:#?}\n{}", quiet.stderr());
        if let Some(line) = quiet.next_line(Duration::from_millis(200)).await {
            seen.push(line);
        }
    }
    assert!(
        seen.iter()
            .any(|line| line.starts_with("ADDED") && line.contains(&leader)),
        "{seen:#?}"
    );
    assert!(
        !seen.iter().any(|line| renewed(&line)),
        "a renewal by its holder is no change: {seen:#?}"
    );
    assert!(
        !seen.iter().any(|line| node_beat(&line)),
        "a node's heartbeat is no change: {seen:#?}"
    );
    assert!(
        !seen.iter().any(|line| line.contains("kube-node-lease")),
        "kwok's renewals of the nodes' Leases are no change: {seen:#?}"
    );
    // The same in JSON: the Lease made and given to a new holder, the node labelled, and nothing else.
    let mut events: Vec<serde_json::Value> = Vec::new();
    let about = |event: &serde_json::Value, what: &str| event["object"]["metadata"][what].as_str().map(str::to_string);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !(events
        .iter()
        .any(|event| event["object"]["spec"]["holderIdentity"] == "beta")
        && events
            .iter()
            .any(|event| event["object"]["metadata"]["labels"]["watchnew-test"] == ns))
    {
        assert!(tokio::time::Instant::now() < deadline, "{events:#?}\n{}", json.stderr());
        if let Some(line) = json.next_line(Duration::from_millis(200)).await {
            events.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
    }
    // Ten seconds more: kwok renews every node's Lease meanwhile, and none of it is printed.
    while let Some(line) = json.next_line(Duration::from_secs(11)).await {
        events.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
    }
    let summary: Vec<(String, Option<String>, Option<String>)> = events
        .iter()
        .map(|event| {
            (
                event["type"].as_str().unwrap_or("").to_string(),
                about(event, "namespace"),
                about(event, "name"),
            )
        })
        .collect();
    let leader = (Some(ns.to_string()), Some("leader".to_string()));
    let node_name = (None, Some(node.clone()));
    let expected = [("ADDED", &leader), ("MODIFIED", &leader), ("MODIFIED", &node_name)];
    assert_eq!(summary.len(), expected.len(), "{summary:#?}");
    for (kind, (namespace, name)) in expected {
        assert!(
            summary.contains(&(kind.to_string(), namespace.clone(), name.clone())),
            "{kind} {name:?}: {summary:#?}"
        );
    }
    drop(quiet);
    drop(beating);
    drop(json);
    kubectl(&["label", "node", &node, "watchnew-test-"]);

    // The live view counts them in its status line (kwok renews each node's Lease every ten seconds).
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} leases -n kube-node-lease; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "120", "-y", "20", &command]);
    let screen = tmux.wait_for_within("heartbeats counted", Duration::from_secs(40), |screen| {
        screen.contains("0 changes") && screen.contains(" · heartbeats ")
    });
    assert!(screen.contains("No changes yet."), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("the exit", |screen| screen.contains("EXIT=0"));
}
