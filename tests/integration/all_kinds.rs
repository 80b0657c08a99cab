//! `--all-kinds` against the real control plane: a change to any kind of a namespace, a custom resource
//! included, even of a CRD installed while it runs; the noisy kinds left out; the kinds a user may not watch
//! left out with a notice each, the others watched.

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, PostParams};
use serde_json::json;

use crate::support::watcher::Watcher;
use crate::support::{self, TestNamespace};

const LIMITED_CONTEXT: &str = "watchnew-limited";

/// A CRD of its own for one test, removed when it ends.
pub(crate) struct TestCrd {
    resource: ApiResource,
    name: String,
}

impl TestCrd {
    pub(crate) async fn create(client: &kube::Client) -> TestCrd {
        let id = support::unique_name("allkinds").replace('-', "");
        let group = format!("{id}.example.com");
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": format!("gadgets.{group}") },
            "spec": {
                "group": group,
                "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget" },
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
        TestCrd {
            resource: ApiResource {
                group: group.clone(),
                version: "v1".into(),
                api_version: format!("{group}/v1"),
                kind: "Gadget".into(),
                plural: "gadgets".into(),
            },
            name: format!("gadgets.{group}"),
        }
    }

    /// Creates a gadget, as soon as the new kind is served.
    pub(crate) async fn create_gadget(&self, client: &kube::Client, namespace: &str, name: &str) {
        let gadgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &self.resource);
        let gadget = DynamicObject::new(name, &self.resource).data(json!({ "spec": { "size": 3 } }));
        for _ in 0..100 {
            if gadgets.create(&PostParams::default(), &gadget).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no gadget could be created");
    }
}

impl Drop for TestCrd {
    fn drop(&mut self) {
        let _ = support::cluster().kubectl(&["delete", "crd", &self.name, "--wait=false"]);
    }
}

/// Waits until the controllers have made what they make in every new namespace (its service account and the
/// root certificate's ConfigMap), which would otherwise be reported as the first changes.
pub(crate) async fn settled(namespace: &str) {
    let cluster = support::cluster();
    if !cluster.runs_controller_manager() {
        return;
    }
    for _ in 0..200 {
        let made = |args: &[&str]| cluster.kubectl(args).status.success();
        if made(&["get", "serviceaccount", "default", "-n", namespace])
            && made(&["get", "configmap", "kube-root-ca.crt", "-n", namespace])
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("namespace {namespace} never got its service account and root certificate");
}

/// Every kind of a namespace: a ConfigMap and a custom resource of a CRD installed before the start are
/// reported; a Lease (noisy) is not; a CRD installed while the watch runs is picked up, and its first object,
/// created after the start, is reported as ADDED; deleted, its object goes and its stream ends with a notice.
#[tokio::test]
async fn every_kind_of_a_namespace_is_reported_a_custom_resource_and_a_new_crd_included() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "allkinds").await;
    settled(&namespace.name).await;
    let before = TestCrd::create(&client).await;
    // Served before the watch starts: the discovery at the start knows it.
    before.create_gadget(&client, &namespace.name, "old").await;
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["--all-kinds", "-n", &namespace.name, "-o", "json"],
    )
    .await;
    assert!(watcher.stderr().contains(" kinds ("), "{}", watcher.stderr());

    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(client.clone(), &namespace.name);
    leases
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "noisy" } })).expect("a lease"),
        )
        .await
        .expect("create a lease");
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &namespace.name);
    configmaps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({ "metadata": { "name": "settings" }, "data": { "a": "b" } }))
                .expect("a configmap"),
        )
        .await
        .expect("create a configmap");
    before.create_gadget(&client, &namespace.name, "new").await;
    let events = watcher.json_events(2).await;
    // Two kinds, two watch streams: nothing orders the one's change before the other's.
    let mut seen: Vec<(String, String, String)> = events
        .iter()
        .map(|event| {
            let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
            (
                text(&event["object"]["kind"]),
                text(&event["object"]["metadata"]["name"]),
                text(&event["type"]),
            )
        })
        .collect();
    seen.sort();
    let added = |kind: &str, name: &str| (kind.to_string(), name.to_string(), "ADDED".to_string());
    assert_eq!(
        seen,
        [added("ConfigMap", "settings"), added("Gadget", "new")],
        "the Lease is left out, the old gadget stays hidden"
    );

    // A kind installed while it runs: found within a look at discovery (every 15 s).
    let later = TestCrd::create(&client).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !watcher.stderr().contains(&format!("{}: a new kind", later.name)) {
        assert!(tokio::time::Instant::now() < deadline, "{}", watcher.stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    later.create_gadget(&client, &namespace.name, "fresh").await;
    let events = watcher.json_events(1).await;
    assert_eq!(events[0]["type"], "ADDED", "{events:?}");
    assert_eq!(events[0]["object"]["metadata"]["name"], "fresh");
    assert_eq!(events[0]["object"]["apiVersion"], later.resource.api_version);

    // Deleted: its objects go with it, and its stream ends, said once.
    let deleted = cluster.kubectl(&["delete", "crd", &later.name]);
    assert!(deleted.status.success(), "{}", support::stderr_of(&deleted));
    let events = watcher.json_events(1).await;
    assert_eq!(
        (
            events[0]["type"].as_str(),
            events[0]["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("fresh"))
    );
    let said = watcher
        .wait_for_stderr_line(&format!("{}: no longer served (", later.name))
        .await;
    assert!(said.ends_with("so its stream ends"), "{said}");
}

/// A deleted CRD whose watch the server keeps open: kube-apiserver closes it only once that kind's other
/// requests are over, here a create held by admission webhooks that never answer (as a webhook down in the
/// field does: each gives up after the API server's 10 s TLS handshake limit, one after the other). Discovery no longer lists the kind, and that ends its stream, said, while the create is
/// still held.
#[tokio::test]
async fn a_deleted_crd_whose_watch_stays_open_ends_when_discovery_drops_it() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "allkindsgone").await;
    settled(&namespace.name).await;
    let crd = TestCrd::create(&client).await;
    crd.create_gadget(&client, &namespace.name, "old").await;
    let watcher = Watcher::start(
        &cluster.kubeconfig,
        &["--all-kinds", "-n", &namespace.name, "-o", "json"],
    )
    .await;

    // The fault: webhooks for the gadgets' creates whose endpoint accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = silent.local_addr().expect("an address").port();
    let (accepted_sender, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in silent.incoming().flatten() {
            held.push(connection);
            let _ = accepted_sender.send(());
        }
    });
    let ca = cluster.kubectl(&[
        "config",
        "view",
        "--raw",
        "--flatten",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.certificate-authority-data}",
    ]);
    let webhook = SilentWebhook::create(&client, &crd, port, &String::from_utf8_lossy(&ca.stdout)).await;
    let held = {
        let client = client.clone();
        let resource = crd.resource.clone();
        let namespace = namespace.name.clone();
        tokio::spawn(async move {
            let gadgets: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            // Until the webhook is in force, a create goes through: the next one is tried.
            for index in 0..50 {
                let gadget = DynamicObject::new(&format!("held-{index}"), &resource).data(json!({ "spec": {} }));
                let started = std::time::Instant::now();
                let _ = gadgets.create(&PostParams::default(), &gadget).await;
                if started.elapsed() > Duration::from_secs(5) {
                    return;
                }
            }
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while accepted.try_recv().is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the API server never called the silent webhook"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let deleted = cluster.kubectl(&["delete", "crd", &crd.name, "--wait=false"]);
    assert!(deleted.status.success(), "{}", support::stderr_of(&deleted));
    let said = watcher
        .wait_for_stderr_line(&format!("{}: no longer served (", crd.name))
        .await;
    assert!(
        !held.is_finished(),
        "the create was still held, so the server still kept the watch open: {said}"
    );
    assert!(
        said.ends_with("no longer served (gone from discovery), so its stream ends"),
        "{said}"
    );
    drop(webhook);
    held.abort();
}

/// Mutating webhooks on one CRD's creates, called one after the other, removed when it ends.
struct SilentWebhook {
    name: String,
}

impl SilentWebhook {
    async fn create(client: &kube::Client, crd: &TestCrd, port: u16, ca_bundle: &str) -> SilentWebhook {
        let name = support::unique_name("silent-webhook");
        let webhooks: Vec<serde_json::Value> = (0..4)
            .map(|index| {
                json!({
                    "name": format!("silent{index}.watchnew.example.com"),
                    "clientConfig": { "url": format!("https://127.0.0.1:{port}/mutate"), "caBundle": ca_bundle },
                    "rules": [{
                        "apiGroups": [crd.resource.group], "apiVersions": ["v1"],
                        "operations": ["CREATE"], "resources": ["gadgets"]
                    }],
                    "failurePolicy": "Ignore",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "timeoutSeconds": 30
                })
            })
            .collect();
        let configuration: MutatingWebhookConfiguration =
            serde_json::from_value(json!({ "metadata": { "name": name }, "webhooks": webhooks }))
                .expect("a webhook configuration");
        let configurations: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        configurations
            .create(&PostParams::default(), &configuration)
            .await
            .expect("create the webhook configuration");
        SilentWebhook { name }
    }
}

impl Drop for SilentWebhook {
    fn drop(&mut self) {
        let _ = support::cluster().kubectl(&["delete", "mutatingwebhookconfiguration", &self.name]);
    }
}

/// A user who may watch ConfigMaps only: every other kind is left out with a notice, the ConfigMaps are
/// watched, and the run goes on.
#[tokio::test]
async fn kinds_the_user_may_not_watch_are_left_out_with_a_notice() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "allkindsrbac").await;
    settled(&namespace.name).await;
    let granted = cluster.kubectl(&[
        "create",
        "role",
        "configmaps-only",
        "--verb=get,list,watch",
        "--resource=configmaps",
        "-n",
        &namespace.name,
    ]);
    assert!(granted.status.success(), "{}", support::stderr_of(&granted));
    let bound = cluster.kubectl(&[
        "create",
        "rolebinding",
        "configmaps-only",
        "--role=configmaps-only",
        "--user=watchnew-limited",
        "-n",
        &namespace.name,
    ]);
    assert!(bound.status.success(), "{}", support::stderr_of(&bound));
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["--context", LIMITED_CONTEXT, "--all-kinds", "-n", &namespace.name],
    )
    .await;
    let stderr = watcher.stderr();
    assert!(
        stderr.contains("secrets: cannot be watched, so left out") && stderr.contains("forbidden"),
        "{stderr}"
    );
    assert!(!stderr.contains("configmaps: cannot be watched"), "{stderr}");
    let created = cluster.kubectl(&["create", "configmap", "allowed", "-n", &namespace.name]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
    watcher
        .lines_until(Duration::from_secs(30), |line| {
            line.starts_with("ADDED") && line.contains("configmap/allowed")
        })
        .await;
}

/// Hundreds of kinds at once, as a Crossplane provider brings (300 CRDs), under a desktop's `ulimit -n 1024`,
/// on a server that allows 100 streams per HTTP/2 connection: `--all-kinds -A` syncs, reports a change to the
/// last kind, and holds a handful of connections, one per 100 streams: a second one opens past the server's
/// limit, and no more than the streams need.
#[tokio::test]
async fn hundreds_of_kinds_over_a_handful_of_connections() {
    const KINDS: usize = 300;
    let Some(cluster) =
        support::named_control_plane_with("many-kinds", &[], &["--http2-max-streams-per-connection=100"])
    else {
        return;
    };
    let crds: String = (0..KINDS)
        .map(|index| {
            format!(
                "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
                 metadata: {{name: things.k{index:03}.many.example.com}}\nspec:\n  group: k{index:03}.many.example.com\n  \
                 names: {{plural: things, singular: thing, kind: Thing}}\n  scope: Namespaced\n  versions:\n  \
                 - {{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object, \
                 x-kubernetes-preserve-unknown-fields: true}}}}}}\n"
            )
        })
        .collect();
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), crds).expect("written");
    let path = file.path().to_str().expect("UTF-8 path");
    for args in [
        vec!["apply", "-f", path],
        vec!["wait", "--for=condition=Established", "crd", "--all", "--timeout=300s"],
    ] {
        let output = cluster.kubectl(&args);
        assert!(output.status.success(), "{}", support::stderr_of(&output));
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "many").await;
    let mut watcher =
        Watcher::start_with_open_files(&cluster.kubeconfig, &["--all-kinds", "-A", "-o", "json"], 1024).await;
    let stderr = watcher.stderr();
    let synced = stderr.lines().find(|line| line.starts_with("Synced ")).expect("synced");
    let kinds: usize = synced
        .split(" kinds")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("a count of kinds: {synced}"));
    assert!(kinds > KINDS && synced.contains(" over HTTP/2;"), "{synced}");
    // One stream per kind and one for the Events, at most 100 on a connection.
    let needed = (kinds + 1).div_ceil(100);
    let pid = watcher.pid();
    let output = std::process::Command::new("ss")
        .args(["-tnpH", "state", "established"])
        .output()
        .expect("ss runs");
    let connections = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(&format!("pid={pid},")))
        .count();
    eprintln!("hundreds of kinds: {synced}; {connections} TCP connections");
    assert!(
        (2..=needed + 1).contains(&connections),
        "{kinds} kinds over {connections} connections, {needed} needed at 100 streams each"
    );
    let last = ApiResource {
        group: format!("k{:03}.many.example.com", KINDS - 1),
        version: "v1".into(),
        api_version: format!("k{:03}.many.example.com/v1", KINDS - 1),
        kind: "Thing".into(),
        plural: "things".into(),
    };
    let things: Api<DynamicObject> = Api::namespaced_with(client, &namespace.name, &last);
    things
        .create(&PostParams::default(), &DynamicObject::new("the-last-kind", &last))
        .await
        .expect("create a thing");
    let lines = watcher
        .lines_until(Duration::from_secs(30), |line| line.contains("the-last-kind"))
        .await;
    let event: serde_json::Value = serde_json::from_str(lines.last().expect("a line")).expect("a JSON event");
    assert_eq!(
        crate::support::watcher::summary(&event),
        ("ADDED".to_string(), "the-last-kind".to_string())
    );
}
