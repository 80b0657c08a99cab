//! Every appended output against the real control plane: kubectl's columns, -o wide/name/yaml, labels, the
//! filters --types, --count and --timeout, and Secret values kept out of sight.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::watcher::{PATIENCE, Watcher};
use crate::support::{self, TestNamespace};

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[tokio::test]
async fn lines_carry_kubectl_columns_and_what_changed() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "columns").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-L", "tier", "--show-labels"],
    )
    .await;
    config_maps
        .create(&PostParams::default(), &config_map("settings", &[("tier", "web")]))
        .await
        .expect("create");
    let patch = json!({ "data": { "k": "w", "extra": "1" } });
    config_maps
        .patch("settings", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");

    let header = watcher.next_line(PATIENCE).await.expect("a header");
    assert_eq!(
        words(&header),
        [
            "EVENT", "TIME", "NAME", "DATA", "AGE", "TIER", "LABELS", "REASON", "WHO", "WHAT", "CHANGED"
        ]
    );
    let added = words(&watcher.next_line(PATIENCE).await.expect("a line"));
    assert_eq!(
        (added[0].as_str(), added[2].as_str(), added[3].as_str()),
        ("ADDED", "settings", "1")
    );
    // Then WHO: the manager the server recorded for the test's client.
    assert_eq!(&added[5..7], ["web", "tier=web"]);
    assert_eq!(added.len(), 8, "{added:?}");
    let modified = watcher.next_line(PATIENCE).await.expect("a line");
    assert!(modified.starts_with("MODIFIED"), "{modified}");
    assert!(modified.contains("data.k v→w, +data.extra=1"), "{modified}");
    // Lines stay aligned under the header: NAME starts in the same column everywhere.
    let name_column = header.find("NAME").expect("NAME");
    assert_eq!(modified.find("settings"), Some(name_column), "{header}\n{modified}");
}

/// Only the first page of the initial list comes as a Table (for the columns); the later pages come as plain
/// objects. Objects of those pages must still have their columns and what changed when they change.
#[tokio::test]
async fn objects_beyond_the_first_list_page_show_columns_and_what_changed() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "pages").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    futures::stream::iter(0..600)
        .map(|index| {
            let config_maps = config_maps.clone();
            async move {
                let name = format!("existing-{index:03}");
                config_maps
                    .create(&PostParams::default(), &config_map(&name, &[]))
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("seeding");
    let existing = config_maps.list(&Default::default()).await.expect("list").items.len();
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["cm", "-n", &namespace.name]).await;
    let synced = format!("Synced {existing} configmaps");
    assert!(watcher.stderr().contains(&synced), "{}", watcher.stderr());
    // Names sort, and pages follow name order: the last one is on the second page.
    let patch = json!({ "data": { "k": "w" } });
    config_maps
        .patch("existing-599", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    let header = watcher.next_line(PATIENCE).await.expect("a header");
    assert_eq!(
        words(&header),
        [
            "EVENT", "TIME", "NAME", "DATA", "AGE", "REASON", "WHO", "WHAT", "CHANGED"
        ]
    );
    let modified = words(&watcher.next_line(PATIENCE).await.expect("a line"));
    assert_eq!(
        (modified[0].as_str(), modified[2].as_str(), modified[3].as_str()),
        ("MODIFIED", "existing-599", "1")
    );
    // WHO, then WHAT CHANGED.
    assert_eq!(modified[6..].join(" "), "data.k v→w", "{modified:?}");
}

#[tokio::test]
async fn secret_values_stay_out_of_the_table_and_the_summary() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "secret").await;
    let secrets: Api<Secret> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["secrets", "-n", &namespace.name]).await;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            ..Default::default()
        },
        string_data: Some([("password".to_string(), "first-Secret-value".to_string())].into()),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &secret).await.expect("create");
    let patch = json!({ "stringData": { "password": "second-Secret-value" } });
    secrets
        .patch("db", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    let mut lines = Vec::new();
    while lines.len() < 3 {
        lines.push(watcher.next_line(PATIENCE).await.expect("a line"));
    }
    assert!(lines[2].contains("data.password changed"), "{lines:#?}");
    for encoded in [
        "Zmlyc3QtU2VjcmV0LXZhbHVl",
        "c2Vjb25kLVNlY3JldC12YWx1ZQ==",
        "first-Secret-value",
        "second-Secret-value",
    ] {
        assert!(!lines.concat().contains(encoded), "a Secret value leaked: {lines:#?}");
    }
}

#[tokio::test]
async fn types_count_and_name_output_wait_for_one_deletion() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "count").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &[
            "cm",
            "-n",
            &namespace.name,
            "--types",
            "deleted",
            "--count",
            "1",
            "-o",
            "name",
        ],
    )
    .await;
    config_maps
        .create(&PostParams::default(), &config_map("short-lived", &[]))
        .await
        .expect("create");
    config_maps
        .create(&PostParams::default(), &config_map("stays", &[]))
        .await
        .expect("create");
    config_maps
        .delete("short-lived", &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(
        watcher.next_line(PATIENCE).await.as_deref(),
        Some("configmap/short-lived")
    );
    let (code, stderr) = watcher.finish().await;
    assert_eq!(code, Some(0), "--count ends the run with 0: {stderr}");
}

#[tokio::test]
async fn timeout_ends_the_run_with_success() {
    let cluster = support::cluster();
    let started = Instant::now();
    // Long enough to sync first on a busy machine, where the other tests run too.
    let watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", "default", "--timeout", "8s", "-o", "json"],
    )
    .await;
    let (code, stderr) = watcher.finish().await;
    assert_eq!(code, Some(0), "{stderr}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(8) && took < Duration::from_secs(20),
        "took {took:?}"
    );
}

#[tokio::test]
async fn yaml_is_one_watch_event_document_per_change() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "yaml").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-o", "yaml", "--count", "2"],
    )
    .await;
    config_maps
        .create(&PostParams::default(), &config_map("one", &[]))
        .await
        .expect("create");
    config_maps
        .create(&PostParams::default(), &config_map("two", &[]))
        .await
        .expect("create");
    let mut text = String::new();
    while let Some(line) = watcher.next_line(PATIENCE).await {
        text.push_str(&line);
        text.push('\n');
    }
    let documents: Vec<serde_json::Value> = text
        .split("---\n")
        .map(|document| serde_saphyr::from_str(document).unwrap_or_else(|e| panic!("not YAML ({e}): {document}")))
        .collect();
    assert_eq!(documents.len(), 2, "{text}");
    assert_eq!(documents[0]["type"], "ADDED");
    assert_eq!(documents[0]["object"]["metadata"]["name"], "one");
    assert_eq!(documents[1]["object"]["data"]["k"], "v");
}

#[tokio::test]
async fn wide_output_adds_the_servers_extra_columns() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "wide").await;
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["pods", "-n", &namespace.name, "-o", "wide", "--no-headers"],
    )
    .await;
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
        "metadata": { "name": "web" },
        "spec": { "containers": [{ "name": "web", "image": "registry.k8s.io/pause:3.10" }] }
    }))
    .expect("a pod");
    Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client, &namespace.name)
        .create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let line = watcher.next_line(PATIENCE).await.expect("a line");
    assert!(line.starts_with("ADDED"), "no header with --no-headers: {line}");
    // NAME READY STATUS RESTARTS AGE, then IP NODE NOMINATED-NODE READINESS-GATES: <none> for an unscheduled pod.
    let fields = words(&line);
    assert_eq!(&fields[2..5], ["web", "0/1", "Pending"]);
    assert!(fields.iter().filter(|field| *field == "<none>").count() >= 4, "{line}");
}
