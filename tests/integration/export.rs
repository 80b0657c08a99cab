//! `--export URL` against a real OpenTelemetry Collector (its OTLP receiver and its file exporter): every
//! change reported arrives once, with its attributes, and nothing of the snapshot; a collector stopped for 20
//! seconds loses nothing the queue holds, and what the queue cannot hold is dropped, counted and said; a
//! collector that refuses is said once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::collector::Collector;
use crate::support::watcher::Watcher;
use crate::support::{self, TestNamespace};

/// The cluster, a namespace of the test's own and a collector started for it; none when the collector cannot
/// be (a skip, a failure under `CI=true`).
async fn ground(test: &str) -> Option<(&'static support::Cluster, TestNamespace, Collector)> {
    let cluster = support::cluster();
    let namespace = TestNamespace::create(&cluster.admin_client().await, test).await;
    Some((cluster, namespace, Collector::start()?))
}

fn kubectl_ok(args: &[&str]) {
    let output = support::cluster().kubectl(args);
    assert!(output.status.success(), "{args:?}: {}", support::stderr_of(&output));
}

/// Creates, changes and deletes `count` ConfigMaps named `{prefix}-N`: three changes each.
fn churn(namespace: &str, prefix: &str, count: usize) {
    for n in 0..count {
        let name = format!("{prefix}-{n}");
        kubectl_ok(&["create", "configmap", &name, "--from-literal=k=before", "-n", namespace]);
        kubectl_ok(&[
            "patch",
            "configmap",
            &name,
            "-n",
            namespace,
            "-p",
            r#"{"data":{"k":"after"}}"#,
        ]);
        kubectl_ok(&["delete", "configmap", &name, "-n", namespace]);
    }
}

#[tokio::test]
async fn every_change_reported_arrives_once_with_its_attributes() {
    let Some((cluster, namespace, collector)) = ground("export").await else {
        return;
    };
    kubectl_ok(&[
        "create",
        "configmap",
        "existing",
        "--from-literal=k=v",
        "-n",
        &namespace.name,
    ]);
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &[
            "configmaps",
            "-n",
            &namespace.name,
            "-o",
            "json",
            "--export",
            &collector.url,
        ],
    )
    .await;
    churn(&namespace.name, "churned", 10);
    // What it printed is what it reported; each of those, and nothing else, is exported.
    let printed = watcher.json_events(30).await;
    let (_, stderr) = watcher.interrupt().await;
    assert!(
        stderr.contains(&format!("export: 30 changes sent to {}/v1/logs", collector.url)),
        "{stderr}"
    );
    let records = collector.wait_for_records(30, Duration::from_secs(30)).await;
    let reported: BTreeSet<(String, String, String)> = printed
        .iter()
        .map(|event| {
            let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
            (
                text(&event["type"]),
                text(&event["object"]["metadata"]["name"]),
                text(&event["object"]["metadata"]["resourceVersion"]),
            )
        })
        .collect();
    let mut exported = BTreeMap::new();
    for record in &records {
        *exported.entry(record.change()).or_insert(0) += 1;
    }
    assert!(
        exported.values().all(|times| *times == 1),
        "a change exported twice: {exported:#?}"
    );
    assert_eq!(
        exported.keys().cloned().collect::<BTreeSet<_>>(),
        reported,
        "the changes exported are the changes reported"
    );
    assert!(
        !records.iter().any(|record| record.change().1 == "existing"),
        "the snapshot is not exported"
    );

    let modified = records
        .iter()
        .find(|record| record.change().0 == "MODIFIED" && record.change().1 == "churned-3")
        .expect("the patch of churned-3");
    let attribute = |key: &str| {
        modified
            .attribute(key)
            .unwrap_or_else(|| panic!("no {key}: {modified:#?}"))
    };
    assert_eq!(attribute("k8s.cluster.name"), "watchnew");
    assert_eq!(attribute("kubeconfig.context"), "watchnew-admin");
    assert_eq!(attribute("k8s.namespace.name"), namespace.name);
    assert_eq!(attribute("k8s.object.kind"), "ConfigMap");
    assert_eq!(attribute("k8s.resource.name"), "configmaps");
    assert_eq!(attribute("watchnew.origin"), "watch");
    assert_eq!(attribute("watchnew.changed"), "data.k before→after");
    assert_eq!(attribute("watchnew.changed_by"), "kubectl-patch");
    assert_eq!(modified.record["eventName"], "watchnew.change");
    let event = modified.event();
    assert_eq!(event["type"], "MODIFIED");
    assert_eq!(event["object"]["data"]["k"], "after");
    assert_eq!(
        attribute("k8s.object.uid"),
        event["object"]["metadata"]["uid"].as_str().expect("a uid")
    );
    let service = &modified.resource["attributes"];
    assert!(
        service
            .to_string()
            .contains(r#"{"key":"service.name","value":{"stringValue":"kubectl-watchnew"}}"#),
        "{service}"
    );
}

#[tokio::test]
async fn a_collector_away_for_20_seconds_loses_nothing_the_queue_holds() {
    let Some((cluster, namespace, mut collector)) = ground("export-away").await else {
        return;
    };
    let scope = [
        "configmaps",
        "-n",
        namespace.name.as_str(),
        "-o",
        "none",
        "--export",
        collector.url.as_str(),
    ];
    let holding = Watcher::start(&cluster.kubeconfig, &scope).await;
    let small = Watcher::start(&cluster.kubeconfig, &[&scope[..], &["--export-queue", "5"]].concat()).await;
    // Three changes each, fewer than the small queue holds while they gather into a batch.
    churn(&namespace.name, "before", 1);
    collector.wait_for_records(2 * 3, Duration::from_secs(30)).await;

    collector.stop();
    let stopped = tokio::time::Instant::now();
    churn(&namespace.name, "away", 4);
    for watcher in [&holding, &small] {
        watcher.wait_for_stderr("export: cannot reach the collector at").await;
    }
    small
        .wait_for_stderr("export: 5 changes wait for the collector at")
        .await;
    tokio::time::sleep_until(stopped + Duration::from_secs(20)).await;
    collector.start_again();
    for watcher in [&holding, &small] {
        watcher.wait_for_stderr("takes the changes again after").await;
    }
    assert!(holding.stderr().contains("none was lost"), "{}", holding.stderr());
    assert!(
        small
            .stderr()
            .contains("7 were dropped meanwhile, the queue being full"),
        "{}",
        small.stderr()
    );

    // Every change of the first, whole; five of the second's twelve.
    let (_, holding_said) = holding.interrupt().await;
    let (_, small_said) = small.interrupt().await;
    assert!(holding_said.contains("export: 15 changes sent to"), "{holding_said}");
    assert!(
        small_said.contains("export: 8 changes sent to")
            && small_said.contains(", 7 dropped (the queue of 5 was full)"),
        "{small_said}"
    );
    let records = collector.wait_for_records(15 + 8, Duration::from_secs(30)).await;
    let away: Vec<_> = records
        .iter()
        .filter(|record| record.change().1.starts_with("away-"))
        .collect();
    let distinct: BTreeSet<_> = away.iter().map(|record| record.change()).collect();
    assert_eq!(distinct.len(), 12, "every change made while it was away: {distinct:#?}");
    assert_eq!(
        away.len(),
        12 + 5,
        "twelve from the first watcher, five from the second"
    );
}

#[tokio::test]
async fn a_collector_that_refuses_is_said_once() {
    let Some((cluster, namespace, collector)) = ground("export-refused").await else {
        return;
    };
    // A path the collector does not serve: it answers 404 to every request.
    let wrong = format!("{}/v1/nothing-here", collector.url);
    // With a key in the headers, as a vendor's: never said.
    let watcher = Watcher::start_with_env(
        &cluster.kubeconfig,
        &["configmaps", "-n", &namespace.name, "-o", "none", "--export", &wrong],
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer k3y-n0t-t0-be-pr1nted",
        )],
    )
    .await;
    for n in 0..3 {
        kubectl_ok(&["create", "configmap", &format!("refused-{n}"), "-n", &namespace.name]);
        // Each in a request of its own.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    watcher.wait_for_stderr("refuses the changes (HTTP 404)").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, stderr) = watcher.interrupt().await;
    assert_eq!(stderr.matches("refuses the changes").count(), 1, "said once: {stderr}");
    assert!(!stderr.contains("k3y-n0t-t0-be-pr1nted"), "{stderr}");
    assert!(stderr.contains(", 3 refused by the collector"), "{stderr}");
    assert!(collector.records().is_empty());
}

#[test]
fn an_export_url_that_cannot_be_one_is_a_usage_error() {
    for url in [
        "ftp://collector:4318",
        "collector:4318",
        "http://user:secret@collector:4318",
    ] {
        let output = std::process::Command::new(crate::support::watcher::BINARY)
            .args(["pods", "--export", url])
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .output()
            .expect("the binary runs");
        let stderr = support::stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{url}: one line: {stderr}");
        assert!(stderr.contains("--export"), "{stderr}");
        assert!(
            !stderr.contains("secret@"),
            "the credentials are not repeated: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_restarted_export_sends_no_snapshot_and_what_changed_meanwhile_as_a_relist_finds_it() {
    let Some((cluster, namespace, collector)) = ground("export-state").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let state = dir.path().join("state.json");
    let state_arg = state.to_string_lossy().into_owned();
    for name in ["kept", "changed", "deleted"] {
        kubectl_ok(&["create", "configmap", name, "--from-literal=k=v", "-n", &namespace.name]);
    }
    let args = [
        "configmaps",
        "-n",
        namespace.name.as_str(),
        "-o",
        "none",
        "--export",
        collector.url.as_str(),
        "--state",
        state_arg.as_str(),
    ];
    let first = Watcher::start(&cluster.kubeconfig, &args).await;
    assert!(
        !first.stderr().contains("resumed"),
        "nothing to resume from: {}",
        first.stderr()
    );
    kubectl_ok(&["create", "configmap", "while-watched", "-n", &namespace.name]);
    collector.wait_for_records(1, Duration::from_secs(30)).await;
    let (_, stderr) = first.interrupt().await;
    let saved = std::fs::read_to_string(&state).unwrap_or_else(|error| panic!("no state file ({error}): {stderr}"));
    assert!(saved.contains(r#""while-watched""#), "{saved}");

    // While no run watches.
    kubectl_ok(&[
        "patch",
        "configmap",
        "changed",
        "-n",
        &namespace.name,
        "-p",
        r#"{"data":{"k":"w"}}"#,
    ]);
    kubectl_ok(&["delete", "configmap", "deleted", "-n", &namespace.name]);
    kubectl_ok(&["create", "configmap", "meanwhile", "-n", &namespace.name]);

    let second = Watcher::start(&cluster.kubeconfig, &args).await;
    second.wait_for_stderr("resumed 1 of 1 kinds from").await;
    // The relist really happened, and found the three.
    second.wait_for_stderr("configmaps: relisted after").await;
    assert!(second.stderr().contains(": 3 changes found;"), "{}", second.stderr());
    kubectl_ok(&["create", "configmap", "after", "-n", &namespace.name]);
    let records = collector.wait_for_records(5, Duration::from_secs(30)).await;
    let (_, stderr) = second.interrupt().await;
    assert!(stderr.contains("export: 4 changes sent to"), "{stderr}");
    let seen: BTreeSet<(String, String, String)> = records
        .iter()
        .map(|record| {
            let text = |key: &str| record.attribute(key).unwrap_or_default();
            (
                text("watch.event.type"),
                text("k8s.object.name"),
                text("watchnew.origin"),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("ADDED", "while-watched", "watch"),
        ("MODIFIED", "changed", "relist"),
        ("DELETED", "deleted", "relist"),
        ("ADDED", "meanwhile", "relist"),
        ("ADDED", "after", "watch"),
    ]
    .into_iter()
    .map(|(kind, name, origin)| (kind.to_string(), name.to_string(), origin.to_string()))
    .collect();
    assert_eq!(seen, expected, "no snapshot, each change once: {records:#?}");
    assert_eq!(records.len(), 5);

    // A file that is not a state is refused, in one line, before any connection.
    std::fs::write(&state, "{ not json").expect("written");
    let output = std::process::Command::new(crate::support::watcher::BINARY)
        .args(["--kubeconfig", &cluster.kubeconfig.to_string_lossy()])
        .args(args)
        .output()
        .expect("the binary runs");
    let stderr = support::stderr_of(&output);
    assert_eq!(output.status.code(), Some(9), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot read the state file"), "{stderr}");
}
