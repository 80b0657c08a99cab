//! Pods that really run: on the local control plane kube-scheduler places them on nodes that kwok simulates,
//! and kwok's stages take them through the lifecycles people debug. What a user follows with the plugin:
//! a pod going from Pending to Running and ready, a crash loop's restarts, a rollout reaching its replicas,
//! a deleted pod terminating.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use crate::support::watcher::{PATIENCE, Watcher};
use crate::support::{self, Cluster, Skip, TestNamespace};

/// The cluster, when its pods run: the local control plane with its simulated nodes (it says whether it
/// runs them; they must then be Ready), or a cluster of the user's that has Ready nodes. `None` (the test is
/// skipped) otherwise.
fn cluster_whose_pods_run() -> Option<&'static Cluster> {
    let cluster = support::cluster();
    if cluster.local() && !cluster.runs_nodes() {
        support::skip(Skip::Missing(
            "the local control plane runs no simulated nodes (scripts/cluster up --nodes 0)".into(),
        ));
        return None;
    }
    let ready = || {
        let output = cluster.kubectl(&[
            "get",
            "nodes",
            "-o",
            r#"jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#,
        ]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|status| status == "True")
    };
    if !cluster.local() && !ready() {
        support::skip(Skip::UsersCluster("the cluster has no Ready node"));
        return None;
    }
    // kwok's nodes are Ready within moments of the start; a node that never gets there is a failure.
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "the local control plane's simulated nodes never got Ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(cluster)
}

fn pod(name: &str, lifecycle: Option<&str>) -> Pod {
    let labels = match lifecycle {
        Some(lifecycle) => json!({ "app": name, "watchnew.example/lifecycle": lifecycle }),
        None => json!({ "app": name }),
    };
    serde_json::from_value(json!({
        "metadata": { "name": name, "labels": labels },
        "spec": { "containers": [{ "name": "web", "image": "registry.k8s.io/pause:3.10" }] }
    }))
    .expect("a pod")
}

/// Lines of the watcher, the header left out, until one satisfies `done` (that one included), failing the test
/// after `within`.
async fn lines_until(watcher: &mut Watcher, within: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
    let lines = watcher.lines_until(within, done).await;
    lines.into_iter().filter(|line| !line.starts_with("EVENT ")).collect()
}

#[tokio::test]
async fn a_new_pod_is_scheduled_runs_and_gets_ready() {
    let Some(cluster) = cluster_whose_pods_run() else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "pod-runs").await;
    let pods: Api<Pod> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["pods", "-n", &namespace.name]).await;
    pods.create(&PostParams::default(), &pod("web", None))
        .await
        .expect("create");
    let lines = lines_until(&mut watcher, PATIENCE, |line| {
        line.starts_with("MODIFIED") && line.contains(" Running ")
    })
    .await;
    let added = lines
        .iter()
        .find(|line| line.starts_with("ADDED"))
        .expect("ADDED first");
    assert!(added.contains(" 0/1 ") && added.contains(" Pending "), "{added}");
    let running = lines.last().expect("a line");
    assert!(running.contains(" 1/1 "), "ready: {running}");
    assert!(
        running.contains("status.phase Pending→Running"),
        "WHAT CHANGED says it: {running}"
    );
    // The scheduler's binding came between: the pod was placed on a node.
    assert!(
        lines.iter().any(|line| line.contains("kwok-node-")),
        "the node is named:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn a_crash_loop_shows_the_restarts_rising_and_the_last_state() {
    let Some(cluster) = cluster_whose_pods_run() else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "crashloop").await;
    let pods: Api<Pod> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["pods", "-n", &namespace.name]).await;
    pods.create(&PostParams::default(), &pod("crasher", Some("crashloop")))
        .await
        .expect("create");
    let lines = lines_until(&mut watcher, Duration::from_secs(60), |line| {
        line.contains("restartCount 2→3")
    })
    .await;
    let third = lines.last().expect("a line");
    // kubectl's columns: the waiting reason, and the restarts with how long ago the last one ended.
    assert!(third.contains(" CrashLoopBackOff "), "the status column: {third}");
    assert!(third.contains(" 3 ("), "the restarts column: {third}");
    assert!(
        lines.iter().any(|line| line.contains("restartCount 1→2")),
        "each restart is a change:\n{}",
        lines.join("\n")
    );
    assert!(
        third.contains("lastState.terminated.finishedAt"),
        "WHAT CHANGED shows the last state moving on: {third}"
    );
}

#[tokio::test]
async fn a_deployment_reaches_its_desired_replicas() {
    let Some(cluster) = cluster_whose_pods_run() else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "rollout").await;
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["deploy", "-n", &namespace.name]).await;
    let created = cluster.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=registry.k8s.io/pause:3.10",
        "--replicas=3",
        "-n",
        &namespace.name,
    ]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    let lines = lines_until(&mut watcher, Duration::from_secs(60), |line| {
        line.starts_with("MODIFIED") && line.contains(" 3/3 ")
    })
    .await;
    assert!(
        lines[0].starts_with("ADDED") && lines[0].contains(" 0/3 "),
        "{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn a_deleted_pod_terminates_then_goes() {
    let Some(cluster) = cluster_whose_pods_run() else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "terminating").await;
    let pods: Api<Pod> = Api::namespaced(client, &namespace.name);
    pods.create(&PostParams::default(), &pod("doomed", None))
        .await
        .expect("create");
    let deadline = Instant::now() + PATIENCE;
    while pods
        .get("doomed")
        .await
        .expect("get")
        .status
        .and_then(|status| status.phase)
        .as_deref()
        != Some("Running")
    {
        assert!(Instant::now() < deadline, "the pod never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["pods", "-n", &namespace.name]).await;
    pods.delete("doomed", &DeleteParams::default()).await.expect("delete");
    let lines = lines_until(&mut watcher, PATIENCE, |line| line.starts_with("DELETED")).await;
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("MODIFIED") && line.contains(" Terminating ")),
        "Terminating first:\n{}",
        lines.join("\n")
    );
}
