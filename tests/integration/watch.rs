//! The watch engine against the real API server: the snapshot stays hidden, and every later change is
//! reported exactly once, for every kind of resource, across both initial-list paths and an expired watch.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PodTemplate, Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::support::proxy::Proxy;
use crate::support::watcher::{Watcher, summary};
use crate::support::{self, Cluster, LIMITED_CONTEXT, LIMITED_NAMESPACE, TestNamespace};

/// How long to wait for output that must not come.
const QUIET: Duration = Duration::from_millis(1500);

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

async fn create(api: &Api<ConfigMap>, name: &str) -> ConfigMap {
    api.create(&PostParams::default(), &config_map(name, &[]))
        .await
        .expect("create")
}

async fn touch(api: &Api<ConfigMap>, name: &str, value: &str) -> ConfigMap {
    let patch = json!({ "data": { "k": value } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch")
}

async fn delete(api: &Api<ConfigMap>, name: &str) {
    api.delete(name, &DeleteParams::default()).await.expect("delete");
}

fn summaries(events: &[serde_json::Value]) -> Vec<(String, String)> {
    events.iter().map(summary).collect()
}

fn pair(event_type: &str, name: &str) -> (String, String) {
    (event_type.to_string(), name.to_string())
}

#[tokio::test]
async fn existing_objects_stay_hidden_and_each_change_is_reported_once() {
    existing_objects_stay_hidden(&[]).await;
}

#[tokio::test]
async fn existing_objects_stay_hidden_with_a_streamed_initial_list() {
    existing_objects_stay_hidden(&["--streaming-lists"]).await;
}

async fn existing_objects_stay_hidden(list_flags: &[&str]) {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "once").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    for index in 0..20 {
        create(&config_maps, &format!("existing-{index}")).await;
    }
    let existing = config_maps.list(&Default::default()).await.expect("list").items.len();

    let mut args = vec!["configmaps", "-n", &namespace.name, "-o", "json"];
    args.extend(list_flags);
    let streamed_before = cluster.streamed_lists("configmaps");
    let mut watcher = Watcher::start(&cluster.kubeconfig, &args).await;
    assert!(
        watcher.stderr().contains(&format!("Synced {existing} configmaps in ")),
        "{}",
        watcher.stderr()
    );
    // Asked to stream, by a server that does: the server says it streamed the list (no other test streams
    // namespaced ConfigMaps on this control plane).
    if !list_flags.is_empty() && cluster.streams_initial_lists_by_default() {
        let streamed = cluster.streamed_lists_beyond("configmaps", streamed_before).await - streamed_before;
        assert!(
            streamed >= 1.0,
            "kube-apiserver {} streamed no list of configmaps",
            cluster.server_version
        );
    }
    // Asked to stream, a server with WatchList off (1.33, and before 1.32) says so and pages instead; by
    // default nothing is asked and nothing is said.
    let streamed_but_refused = !list_flags.is_empty() && !cluster.streams_initial_lists_by_default();
    assert_eq!(
        watcher
            .stderr()
            .contains("does not stream initial lists (WatchList is off); using paginated lists"),
        streamed_but_refused,
        "{} (kube-apiserver {})",
        watcher.stderr(),
        cluster.server_version
    );

    let added = create(&config_maps, "new").await;
    let modified = touch(&config_maps, "existing-0", "changed").await;
    delete(&config_maps, "existing-1").await;
    delete(&config_maps, "new").await;

    let events = watcher.json_events(4).await;
    assert_eq!(
        summaries(&events),
        [
            pair("ADDED", "new"),
            pair("MODIFIED", "existing-0"),
            pair("DELETED", "existing-1"),
            pair("DELETED", "new")
        ]
    );
    // The object is passed on as the server sent it.
    assert_eq!(
        events[0]["object"]["metadata"]["resourceVersion"],
        json!(added.resource_version())
    );
    assert_eq!(events[0]["object"]["data"], json!({ "k": "v" }));
    assert_eq!(
        events[1]["object"]["metadata"]["resourceVersion"],
        json!(modified.resource_version())
    );
    assert_eq!(events[1]["object"]["kind"], "ConfigMap");
    watcher.assert_quiet(QUIET).await;

    let (code, stderr) = watcher.interrupt().await;
    assert_eq!(code, Some(130), "Ctrl-C ends with 130: {stderr}");
}

/// A pod template whose spec carries `size` bytes of env values that do not compress, against metadata of a
/// few hundred bytes.
fn bulky_pod_template(name: &str, size: usize) -> PodTemplate {
    let mut noise = String::new();
    let mut state = name.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    while noise.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.push_str(&format!("{state:016x}"));
    }
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "template": { "spec": { "containers": [{
            "name": "app", "image": "registry.k8s.io/pause:3.10",
            "env": [{ "name": "NOISE", "value": noise }]
        }]}}
    }))
    .expect("a pod template")
}

/// `-o json` prints whole objects for the changes, but keeps only identities of the snapshot: it is read as
/// metadata (PartialObjectMetadataList), as is everything `-o name` reads, while the human output still reads
/// whole objects (it compares the next version with them), gzipped unless `--disable-compression` or the
/// kubeconfig's `disable-compression` says otherwise. Measured with the API server's own count of the bytes
/// it sent for LISTs of pod templates, a type no other test lists (so the runs here go one after another).
#[tokio::test]
async fn json_and_name_outputs_take_the_snapshot_as_metadata_only() {
    let Some(cluster) =
        support::local_control_plane("counts the bytes of every LIST of pod templates, which another client may make")
    else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "metadata").await;
    let templates: Api<PodTemplate> = Api::namespaced(client, &namespace.name);
    const COUNT: usize = 40;
    const NOISE: usize = 16 * 1024;
    for index in 0..COUNT {
        templates
            .create(
                &PostParams::default(),
                &bulky_pod_template(&format!("existing-{index}"), NOISE),
            )
            .await
            .expect("create");
    }
    let whole = COUNT * NOISE;

    let uncompressed_kubeconfig = tempfile::NamedTempFile::new().expect("a temporary file");
    let text = std::fs::read_to_string(&cluster.kubeconfig).expect("readable");
    let text = text.replacen("    server: ", "    disable-compression: true\n    server: ", 1);
    std::fs::write(uncompressed_kubeconfig.path(), text).expect("written");
    let runs: [(&std::path::Path, &[&str]); 5] = [
        (&cluster.kubeconfig, &["-o", "json"]),
        (&cluster.kubeconfig, &["-o", "name"]),
        (&cluster.kubeconfig, &[]),
        (&cluster.kubeconfig, &["--disable-compression"]),
        (uncompressed_kubeconfig.path(), &[]),
    ];
    let mut sent = Vec::new();
    for (kubeconfig, output) in runs {
        let before = cluster.response_bytes("podtemplates", "LIST");
        let mut args = vec!["podtemplates", "-n", &namespace.name];
        args.extend(output);
        let watcher = Watcher::start(kubeconfig, &args).await;
        assert!(
            watcher.stderr().contains(&format!("Synced {COUNT} podtemplates")),
            "{}",
            watcher.stderr()
        );
        drop(watcher);
        sent.push(cluster.response_bytes("podtemplates", "LIST") - before);
    }
    let [json, name, human, flag, kubeconfig] = sent[..] else {
        unreachable!()
    };
    eprintln!(
        "bytes sent for the snapshot of {COUNT} pod templates ({whole} bytes of specs): -o json {json}, \
         -o name {name}, lines {human}, lines with --disable-compression {flag}, with the kubeconfig's {kubeconfig}"
    );
    assert!(
        json < whole as f64 / 8.0,
        "-o json read {json} bytes for {whole} bytes of specs"
    );
    assert!(
        name < whole as f64 / 8.0,
        "-o name read {name} bytes for {whole} bytes of specs"
    );
    assert!(
        human > whole as f64 / 4.0,
        "the human output read {human} bytes for {whole} bytes of specs"
    );
    assert!(
        human < whole as f64,
        "the human output's snapshot came gzipped: {human} bytes"
    );
    assert!(flag > whole as f64, "--disable-compression: {flag} bytes");
    assert!(
        kubeconfig > whole as f64,
        "disable-compression in the kubeconfig: {kubeconfig} bytes"
    );

    // A streamed initial list (WatchList) comes gzipped from kube-apiserver 1.37 (WatchListCompression), one
    // gzip member per flush: every member is read, else the list never ends (its last event is the bookmark
    // that ends it) or ends short.
    if cluster.streams_initial_lists_by_default() {
        let mut streamed = Vec::new();
        for flags in [
            &["--streaming-lists"][..],
            &["--streaming-lists", "--disable-compression"],
        ] {
            let lists_before = cluster.streamed_lists("podtemplates");
            let before = cluster.response_bytes("podtemplates", "WATCH");
            let mut args = vec!["podtemplates", "-n", &namespace.name];
            args.extend(flags);
            let watcher = Watcher::start(&cluster.kubeconfig, &args).await;
            assert!(
                watcher.stderr().contains(&format!("Synced {COUNT} podtemplates")),
                "{flags:?}: {}",
                watcher.stderr()
            );
            let lists = cluster.streamed_lists_beyond("podtemplates", lists_before).await;
            assert!(lists > lists_before, "{flags:?}: the server streamed no list");
            drop(watcher);
            // The server counts a watch's bytes when it ends, a moment after the client has gone.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut sent = cluster.response_bytes("podtemplates", "WATCH") - before;
            while sent <= 0.0 && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                sent = cluster.response_bytes("podtemplates", "WATCH") - before;
            }
            streamed.push(sent);
        }
        let [gzipped, plain] = streamed[..] else { unreachable!() };
        eprintln!("bytes sent for the streamed list: asked for gzip {gzipped}, without compression {plain}");
        assert!(plain > whole as f64, "--disable-compression: {plain} bytes");
        if cluster.minor() >= 37 {
            assert!(
                gzipped < plain * 0.75,
                "a streamed list came gzipped from {}: {gzipped} bytes against {plain}",
                cluster.server_version
            );
        }
    }

    // The changes themselves are whole objects, as the server sent them.
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["podtemplates", "-n", &namespace.name, "-o", "json"],
    )
    .await;
    templates
        .create(&PostParams::default(), &bulky_pod_template("new", 1024))
        .await
        .expect("create");
    let events = watcher.json_events(1).await;
    assert_eq!(summary(&events[0]), pair("ADDED", "new"));
    assert_eq!(events[0]["object"]["kind"], "PodTemplate");
    assert_eq!(events[0]["object"]["template"]["spec"]["containers"][0]["name"], "app");
}

#[tokio::test]
async fn piped_output_is_one_aligned_line_per_change_after_one_header() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "lines").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["cm", "-n", &namespace.name]).await;
    create(&config_maps, "first").await;
    create(&config_maps, "second-with-a-longer-name").await;

    let header = watcher.next_line(support::watcher::PATIENCE).await.expect("a header");
    let first = watcher.next_line(support::watcher::PATIENCE).await.expect("a line");
    let second = watcher.next_line(support::watcher::PATIENCE).await.expect("a line");
    let words = |line: &str| line.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        words(&header),
        [
            "EVENT", "TIME", "NAME", "DATA", "AGE", "REASON", "WHO", "WHAT", "CHANGED"
        ]
    );
    let first = words(&first);
    assert_eq!(
        (first[0].as_str(), first[2].as_str(), first[3].as_str()),
        ("ADDED", "first", "1")
    );
    assert!(
        first[1].parse::<jiff::Timestamp>().is_ok(),
        "an RFC 3339 time: {}",
        first[1]
    );
    assert_eq!(words(&second)[2], "second-with-a-longer-name");
    watcher.assert_quiet(QUIET).await;
}

#[tokio::test]
async fn several_types_are_watched_at_once() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "types").await;
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["configmaps,secrets,svc", "-n", &namespace.name, "-o", "json"],
    )
    .await;
    assert!(watcher.stderr().contains(" configmaps, "), "{}", watcher.stderr());
    assert!(watcher.stderr().contains(" secrets, "), "{}", watcher.stderr());
    assert!(watcher.stderr().contains(" services in "), "{}", watcher.stderr());

    let post = PostParams::default();
    create(&Api::namespaced(client.clone(), &namespace.name), "settings").await;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("password".into()),
            ..Default::default()
        },
        string_data: Some([("password".to_string(), "hunter2".to_string())].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client.clone(), &namespace.name)
        .create(&post, &secret)
        .await
        .expect("secret");
    let service = Service {
        metadata: ObjectMeta {
            name: Some("web".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                port: 80,
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    Api::<Service>::namespaced(client, &namespace.name)
        .create(&post, &service)
        .await
        .expect("service");

    let events = watcher.json_events(3).await;
    let kinds: BTreeSet<(String, String)> = events
        .iter()
        .map(|event| {
            (
                event["object"]["kind"].as_str().unwrap_or_default().to_string(),
                summary(event).1,
            )
        })
        .collect();
    let expected = [("ConfigMap", "settings"), ("Secret", "password"), ("Service", "web")];
    assert_eq!(
        kinds,
        expected.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect()
    );
    assert!(events.iter().all(|event| event["type"] == "ADDED"));
    watcher.assert_quiet(QUIET).await;
}

#[tokio::test]
async fn names_limit_the_watch_to_those_objects() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "names").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut several = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "a", "b", "-n", &namespace.name, "-o", "json"],
    )
    .await;
    let mut one = Watcher::start(&cluster.kubeconfig, &["cm/b", "-n", &namespace.name, "-o", "json"]).await;
    for name in ["a", "b", "c"] {
        create(&config_maps, name).await;
    }
    assert_eq!(
        summaries(&several.json_events(2).await),
        [pair("ADDED", "a"), pair("ADDED", "b")]
    );
    assert_eq!(summaries(&one.json_events(1).await), [pair("ADDED", "b")]);
    several.assert_quiet(QUIET).await;
    one.assert_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn objects_entering_and_leaving_a_selector_are_added_and_deleted() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "selector").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-l", "tier=web", "-o", "json"],
    )
    .await;

    create(&config_maps, "drifter").await;
    let label = |tier: &str| json!({ "metadata": { "labels": { "tier": tier } } });
    config_maps
        .patch("drifter", &PatchParams::default(), &Patch::Merge(&label("web")))
        .await
        .expect("label");
    config_maps
        .patch("drifter", &PatchParams::default(), &Patch::Merge(&label("db")))
        .await
        .expect("relabel");
    config_maps
        .create(&PostParams::default(), &config_map("born-web", &[("tier", "web")]))
        .await
        .expect("create");

    let events = watcher.json_events(3).await;
    assert_eq!(
        summaries(&events),
        [
            pair("ADDED", "drifter"),
            pair("DELETED", "drifter"),
            pair("ADDED", "born-web")
        ]
    );
    watcher.assert_quiet(QUIET).await;
}

#[tokio::test]
async fn a_cluster_scoped_kind_ignores_the_namespace() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let probe = support::unique_name("probe");
    let selector = format!("kubectl-watchnew/probe={probe}");
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["ns", "-n", "default", "-l", &selector, "-o", "json"],
    )
    .await;

    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(probe.clone()),
            labels: Some([("kubectl-watchnew/probe".to_string(), probe.clone())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let namespaces: Api<Namespace> = Api::all(client);
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
    let events = watcher.json_events(1).await;
    assert_eq!(summaries(&events), [pair("ADDED", &probe)]);
    assert_eq!(events[0]["object"]["metadata"].get("namespace"), None);
    namespaces
        .delete(&probe, &DeleteParams::default())
        .await
        .expect("delete namespace");
    // Deleting a namespace first marks it Terminating, then the namespace controller finalizes it.
    let mut last = watcher.json_events(1).await;
    while last[0]["type"] == "MODIFIED" {
        last = watcher.json_events(1).await;
    }
    assert_eq!(summaries(&last), [pair("DELETED", &probe)]);
}

#[tokio::test]
async fn a_custom_resource_is_watched_by_its_short_name() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let id = support::unique_name("crd").replace('-', "");
    let group = format!("{id}.example.com");
    let short_name = format!("wg{id}");
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": format!("widgets.{group}") },
        "spec": {
            "group": group,
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": [short_name] },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } }
            }]
        }
    }))
    .expect("a valid CRD");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.expect("create the CRD");
    let _remove = RemoveCrd(cluster, format!("widgets.{group}"));
    wait_until_served(cluster, &short_name).await;

    let namespace = TestNamespace::create(&client, "crd").await;
    let mut watcher = Watcher::start(&cluster.kubeconfig, &[&short_name, "-n", &namespace.name, "-o", "json"]).await;
    let resource = ApiResource {
        group: group.clone(),
        version: "v1".into(),
        api_version: format!("{group}/v1"),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let widgets: Api<DynamicObject> = Api::namespaced_with(client, &namespace.name, &resource);
    let widget = DynamicObject::new("gizmo", &resource).data(json!({ "spec": { "size": 3 } }));
    widgets
        .create(&PostParams::default(), &widget)
        .await
        .expect("create a widget");

    let events = watcher.json_events(1).await;
    assert_eq!(summaries(&events), [pair("ADDED", "gizmo")]);
    assert_eq!(events[0]["object"]["kind"], "Widget");
    assert_eq!(events[0]["object"]["spec"]["size"], 3);
}

/// Deletes a CRD when the test ends.
struct RemoveCrd(&'static Cluster, String);

impl Drop for RemoveCrd {
    fn drop(&mut self) {
        let _ = self.0.kubectl(&["delete", "crd", &self.1, "--wait=false"]);
    }
}

/// A new CRD takes a moment to appear in discovery.
async fn wait_until_served(cluster: &Cluster, resource: &str) {
    for _ in 0..100 {
        if cluster.kubectl(&["get", resource, "-A"]).status.success() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{resource} is not served");
}

#[tokio::test]
async fn the_limited_identity_is_refused_cluster_wide_and_watches_its_own_namespace() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let refused = Watcher::spawn(&cluster.kubeconfig, &["--context", LIMITED_CONTEXT, "pods", "-A"]);
    let (code, stderr) = refused.finish().await;
    assert_eq!(code, Some(6), "forbidden exits with 6: {stderr}");
    let stderr = support::without_waits(&stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(r#"User "watchnew-limited" cannot list resource "pods""#),
        "{stderr}"
    );
    assert!(stderr.contains("at the cluster scope"), "{stderr}");
    assert!(stderr.contains("-n NAMESPACE"), "suggests a namespace: {stderr}");

    // Without -n, the context's namespace (team-a) is watched.
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["--context", LIMITED_CONTEXT, "cm", "-o", "json"]).await;
    let admin = cluster.admin_client().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(admin, LIMITED_NAMESPACE);
    let name = support::unique_name("limited");
    create(&config_maps, &name).await;
    let events = watcher.json_events(1).await;
    assert_eq!(summaries(&events), [pair("ADDED", &name)]);
    assert_eq!(events[0]["object"]["metadata"]["namespace"], LIMITED_NAMESPACE);
    delete(&config_maps, &name).await;
    assert_eq!(summaries(&watcher.json_events(1).await), [pair("DELETED", &name)]);
}

/// A control plane without streamed initial lists; its watch cache is off too, so that 410 Gone can be forced.
fn paginated_control_plane() -> Option<&'static Cluster> {
    support::named_control_plane(
        "watchlist-off",
        &["--feature-gates=WatchList=false", "--watch-cache=false"],
    )
}

/// A control plane that streams initial lists and serves watches straight from etcd (no watch cache).
fn streaming_control_plane_without_watch_cache() -> Option<&'static Cluster> {
    support::named_control_plane("no-watch-cache", &["--watch-cache=false"])
}

#[tokio::test]
async fn a_server_without_streamed_lists_gets_paginated_lists() {
    let Some(cluster) = paginated_control_plane() else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "pages").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    // More than two pages of 500.
    futures::stream::iter(0..1200)
        .map(|index| {
            let config_maps = config_maps.clone();
            async move {
                config_maps
                    .create(&PostParams::default(), &config_map(&format!("existing-{index}"), &[]))
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("seeding");

    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-o", "json", "--streaming-lists"],
    )
    .await;
    let stderr = watcher.stderr();
    assert!(stderr.contains("does not stream initial lists"), "{stderr}");
    assert!(stderr.contains("Synced 1200 configmaps"), "{stderr}");
    create(&config_maps, "new").await;
    delete(&config_maps, "existing-700").await;
    assert_eq!(
        summaries(&watcher.json_events(2).await),
        [pair("ADDED", "new"), pair("DELETED", "existing-700")]
    );
    watcher.assert_quiet(QUIET).await;
}

#[tokio::test]
async fn an_expired_watch_relists_and_reports_exactly_the_differences_streamed() {
    if let Some(cluster) = streaming_control_plane_without_watch_cache() {
        expired_watch_reports_exactly_the_differences(cluster, &["--streaming-lists"]).await;
    }
}

#[tokio::test]
async fn an_expired_watch_relists_and_reports_exactly_the_differences_paginated() {
    if let Some(cluster) = paginated_control_plane() {
        expired_watch_reports_exactly_the_differences(cluster, &[]).await;
    }
}

/// The watch is cut and kept away while objects change, etcd's history is compacted, and the watch comes back
/// to a 410 Gone: the relist must report what happened in the gap and nothing else.
async fn expired_watch_reports_exactly_the_differences(cluster: &Cluster, list_flags: &[&str]) {
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "gone").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace.name);
    for name in ["keep", "change", "remove", "replace"] {
        create(&config_maps, name).await;
    }
    let replaced_uid = config_maps.get("replace").await.expect("get").uid();

    let proxy = Proxy::start(cluster.apiserver_address()).await;
    let server = format!("https://{}", proxy.address);
    let mut args = vec!["cm", "-n", &namespace.name, "-o", "json", "--server", &server];
    args.extend(list_flags);
    // Streamed where asked and served (this control plane is this test's alone): the first list and the relist.
    let streamed = !list_flags.is_empty() && cluster.streams_initial_lists_by_default();
    let streamed_before = cluster.streamed_lists("configmaps");
    let mut watcher = Watcher::start(&cluster.kubeconfig, &args).await;
    create(&config_maps, "before-the-gap").await;
    assert_eq!(
        summaries(&watcher.json_events(1).await),
        [pair("ADDED", "before-the-gap")]
    );

    proxy.cut_and_block();
    watcher.wait_for_stderr("watch interrupted").await;
    touch(&config_maps, "change", "in the gap").await;
    delete(&config_maps, "remove").await;
    delete(&config_maps, "replace").await;
    let replacement_uid = create(&config_maps, "replace").await.uid();
    create(&config_maps, "born").await;
    create(&config_maps, "ephemeral").await;
    delete(&config_maps, "ephemeral").await;
    cluster.compact_etcd();
    proxy.unblock();

    let events = watcher.json_events(5).await;
    let found: BTreeSet<(String, String)> = summaries(&events).into_iter().collect();
    let expected: BTreeSet<(String, String)> = [
        pair("MODIFIED", "change"),
        pair("DELETED", "remove"),
        pair("DELETED", "replace"),
        pair("ADDED", "replace"),
        pair("ADDED", "born"),
    ]
    .into();
    assert_eq!(found, expected, "{events:#?}");
    let replace_events: Vec<_> = events.iter().filter(|event| summary(event).1 == "replace").collect();
    assert_eq!(
        replace_events[0]["type"], "DELETED",
        "the old object goes before its successor comes"
    );
    assert_eq!(replace_events[0]["object"]["metadata"]["uid"], json!(replaced_uid));
    assert_eq!(replace_events[1]["object"]["metadata"]["uid"], json!(replacement_uid));
    // The relist's summary goes to stderr after its changes went to stdout, so it may arrive a moment later.
    watcher.wait_for_stderr("5 changes found").await;
    let stderr = watcher.stderr();
    assert!(stderr.contains("watch expired (410 Gone); relisting"), "{stderr}");
    if streamed {
        let lists = cluster.streamed_lists_beyond("configmaps", streamed_before + 1.0).await - streamed_before;
        assert!(
            lists >= 2.0,
            "the relist was not streamed: {lists} streamed lists:\n{stderr}"
        );
    } else {
        assert_eq!(
            stderr.contains("does not stream initial lists"),
            !list_flags.is_empty(),
            "{stderr}"
        );
    }

    // The watch goes on from the relist.
    create(&config_maps, "after-the-gap").await;
    assert_eq!(
        summaries(&watcher.json_events(1).await),
        [pair("ADDED", "after-the-gap")]
    );
    watcher.assert_quiet(QUIET).await;
}
