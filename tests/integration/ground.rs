//! The ground every later test stands on: a real API server that stores objects and enforces RBAC.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use crate::support::{self, LIMITED_CONTEXT, LIMITED_NAMESPACE, TestNamespace};

#[test]
fn local_control_plane_serves_the_pinned_kubernetes_version() {
    let Some(cluster) = support::local_control_plane("checks the local control plane's own version") else {
        return;
    };
    assert_eq!(cluster.server_version, support::pinned_kubernetes_version());
}

#[tokio::test]
async fn objects_can_be_created_read_updated_and_deleted() {
    let client = support::admin_client().await;
    let namespace = TestNamespace::create(&client, "crud").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);

    let created = config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: kube::api::ObjectMeta {
                    name: Some("settings".into()),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([("mode".to_string(), "fast".to_string())])),
                ..Default::default()
            },
        )
        .await
        .expect("create");
    let created_version = created
        .resource_version()
        .expect("a stored object has a resourceVersion");

    let read = config_maps.get("settings").await.expect("get");
    assert_eq!(
        read.data.as_ref().and_then(|data| data.get("mode")).map(String::as_str),
        Some("fast")
    );
    assert_eq!(read.uid(), created.uid());

    let patch = serde_json::json!({ "data": { "mode": "slow" } });
    let updated = config_maps
        .patch("settings", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch");
    assert_eq!(
        updated
            .data
            .as_ref()
            .and_then(|data| data.get("mode"))
            .map(String::as_str),
        Some("slow")
    );
    assert_ne!(
        updated.resource_version().as_deref(),
        Some(created_version.as_str()),
        "an update gets a new resourceVersion"
    );

    config_maps
        .delete("settings", &DeleteParams::default())
        .await
        .expect("delete");
    let error = config_maps.get("settings").await.expect_err("a deleted object is gone");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 404),
        "expected 404, got {error:?}"
    );
}

#[tokio::test]
async fn limited_identity_may_read_only_its_own_namespace() {
    if !support::has_limited_identity() {
        return;
    }
    let limited = support::cluster().client(Some(LIMITED_CONTEXT)).await;

    let everywhere: Api<Pod> = Api::all(limited.clone());
    let error = everywhere
        .list(&ListParams::default())
        .await
        .expect_err("listing pods cluster-wide is forbidden");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 403),
        "expected 403, got {error:?}"
    );

    let elsewhere: Api<Pod> = Api::namespaced(limited.clone(), "default");
    let error = elsewhere
        .list(&ListParams::default())
        .await
        .expect_err("another namespace is forbidden");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 403),
        "expected 403, got {error:?}"
    );

    let own: Api<Pod> = Api::namespaced(limited.clone(), LIMITED_NAMESPACE);
    own.list(&ListParams::default())
        .await
        .expect("listing pods in team-a is allowed");

    let config_maps: Api<ConfigMap> = Api::namespaced(limited, LIMITED_NAMESPACE);
    let error = config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: kube::api::ObjectMeta {
                    generate_name: Some("nope-".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect_err("the limited identity may not write");
    assert!(
        matches!(error, kube::Error::Api(ref status) if status.code == 403),
        "expected 403, got {error:?}"
    );
}

#[test]
fn kubectl_agrees_about_the_limited_identity() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let everywhere = support::kubectl(
        &cluster.kubeconfig,
        &["--context", LIMITED_CONTEXT, "get", "pods", "-A"],
    );
    assert!(!everywhere.status.success());
    assert!(
        support::stderr_of(&everywhere).contains("forbidden"),
        "{}",
        support::stderr_of(&everywhere)
    );

    let own = support::kubectl(&cluster.kubeconfig, &["--context", LIMITED_CONTEXT, "get", "pods"]);
    assert!(own.status.success(), "{}", support::stderr_of(&own));
}
