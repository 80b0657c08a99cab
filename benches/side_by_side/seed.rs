//! The data: pods of a typical size, with a spec like a web service's, the labels and annotations a Deployment
//! and Helm give them (checksums that differ from pod to pod, as hashes do) and the status a kubelet would
//! report, spread over many namespaces; and ConfigMaps, all in one namespace. Values that are unique in a real
//! cluster (hashes, IDs, addresses) are unique here too, so that gzip finds no more repetition than it would.
//! The pods name no owner and no node: kube-controller-manager collects pods whose owner or node does not
//! exist, and this cluster has neither.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ServiceAccount};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

/// Namespaces the pods are spread over.
pub const SPREAD_NAMESPACES: usize = 20;
/// The namespace that holds every ConfigMap.
pub const CONFIG_MAP_NAMESPACE: &str = "bench-one";
/// Requests in flight while seeding.
const IN_FLIGHT: usize = 48;

pub fn spread_namespace(index: usize) -> String {
    format!("bench-spread-{:02}", index % SPREAD_NAMESPACES)
}

/// Creates the namespaces and waits for their default service accounts, without which pods are refused.
pub async fn prepare_namespaces(client: &kube::Client) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut names: Vec<String> = (0..SPREAD_NAMESPACES).map(spread_namespace).collect();
    names.push(CONFIG_MAP_NAMESPACE.to_string());
    for name in &names {
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
        match namespaces.create(&PostParams::default(), &namespace).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error).with_context(|| format!("creating namespace {name}")),
        }
    }
    for name in &names {
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
        let mut waited = Duration::ZERO;
        while accounts.get_opt("default").await?.is_none() {
            if waited > Duration::from_secs(60) {
                bail!("namespace {name} has no default service account after 60 s (is kube-controller-manager up?)");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            waited += Duration::from_millis(200);
        }
    }
    Ok(())
}

/// A hexadecimal digest of `length` digits that differs for each seed and purpose, as a hash would.
pub fn digest(seed: usize, purpose: u64, length: usize) -> String {
    let mut state = (seed as u64 ^ purpose.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut text = String::with_capacity(length + 16);
    while text.len() < length {
        // xorshift64*: cheap and well spread, which is all a stand-in for a hash needs.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        text.push_str(&format!("{:016x}", state.wrapping_mul(0x2545_f491_4f6c_dd1d)));
    }
    text.truncate(length);
    text
}

/// A pod as a Deployment of a web service would make it, with the annotations a Helm chart adds.
pub fn pod(name: &str, index: usize) -> Result<Pod> {
    let app = ["checkout", "cart", "catalog", "payments", "search"][index % 5];
    // Pods of one ReplicaSet share its template hash; a namespace holds a few of each app.
    let replica_set = index / 50;
    let template_hash = &digest(replica_set, 1, 10);
    Ok(serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/instance": format!("{app}-{}", replica_set % 7),
                "app.kubernetes.io/part-of": "shop",
                "app.kubernetes.io/version": "1.24.3",
                "app.kubernetes.io/managed-by": "Helm",
                "helm.sh/chart": format!("{app}-4.2.1"),
                "pod-template-hash": template_hash,
                "tier": "backend"
            },
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
                "checksum/config": digest(index, 2, 64),
                "checksum/secret": digest(index, 3, 64),
                "kubectl.kubernetes.io/restartedAt": "2026-11-20T09:12:44Z"
            }
        },
        "spec": {
            "containers": [{
                "name": app,
                "image": format!("registry.example.com/shop/{app}:1.24.3"),
                "imagePullPolicy": "IfNotPresent",
                "args": ["--listen=:8080", "--metrics=:9090", "--log-format=json"],
                "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
                ],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "DATABASE_URL", "value": format!("postgres://{app}@db.shop.svc:5432/{app}")},
                    {"name": "CACHE_TTL", "value": "300s"},
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "RELEASE_ID", "value": digest(replica_set, 9, 40)},
                    {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": format!("{app}-db"), "key": "password"}}}
                ],
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"}
                },
                "readinessProbe": {
                    "httpGet": {"path": "/ready", "port": "http"},
                    "periodSeconds": 5, "failureThreshold": 3
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http"},
                    "initialDelaySeconds": 10, "periodSeconds": 10
                },
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": true}]
            }],
            "volumes": [{"name": "config", "configMap": {"name": format!("{app}-config")}}],
            "terminationGracePeriodSeconds": 30,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "fsGroup": 10001}
        }
    }))?)
}

/// The status a kubelet reports for a pod that runs and is ready.
pub fn running_status(index: usize) -> serde_json::Value {
    let app = ["checkout", "cart", "catalog", "payments", "search"][index % 5];
    let ip = format!("10.{}.{}.{}", 244 + index / 65_536 % 8, index / 256 % 256, index % 256);
    let time = "2026-11-20T09:13:02Z";
    json!({
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": time},
                {"type": "Initialized", "status": "True", "lastTransitionTime": time},
                {"type": "Ready", "status": "True", "lastTransitionTime": time},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": time},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": time}
            ],
            "hostIP": format!("192.168.{}.{}", index / 256 % 200, index % 200 + 10),
            "hostIPs": [{"ip": format!("192.168.{}.{}", index / 256 % 200, index % 200 + 10)}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": time,
            "qosClass": "Burstable",
            "containerStatuses": [{
                "name": app,
                "image": format!("registry.example.com/shop/{app}:1.24.3"),
                "imageID": format!("registry.example.com/shop/{app}@sha256:{}", digest(index % 5, 10, 64)),
                "containerID": format!("containerd://{}", digest(index, 11, 64)),
                "ready": true,
                "started": true,
                "restartCount": 0,
                "state": {"running": {"startedAt": time}}
            }]
        }
    })
}

/// A ConfigMap like an application's configuration, about 1.5 KB of data.
pub fn config_map(name: &str, index: usize) -> Result<ConfigMap> {
    let properties: String = (0..24)
        .map(|line| format!("shop.service{index}.setting{line}=value-{line}-of-a-typical-length\n"))
        .collect();
    Ok(serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "shop", "config-set": format!("set-{}", index % 50)}
        },
        "data": {
            "application.properties": properties,
            "log-level": "info",
            "feature-flags.json": "{\"newCheckout\":true,\"recommendations\":false,\"betaSearch\":true}"
        }
    }))?)
}

/// Creates pods `from..to`, each with its running status, spread over the namespaces.
pub async fn pods(client: &kube::Client, from: usize, to: usize) -> Result<()> {
    futures::stream::iter(from..to)
        .map(|index| {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &spread_namespace(index));
            async move {
                let name = format!("pod-{index:06}");
                pods.create(&PostParams::default(), &pod(&name, index)?)
                    .await
                    .with_context(|| format!("creating pod {name}"))?;
                pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(running_status(index)))
                    .await
                    .with_context(|| format!("setting the status of pod {name}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
}

/// Creates ConfigMaps `from..to` in the one namespace.
pub async fn config_maps(client: &kube::Client, from: usize, to: usize) -> Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CONFIG_MAP_NAMESPACE);
    futures::stream::iter(from..to)
        .map(|index| {
            let api = api.clone();
            async move {
                let name = format!("cm-{index:06}");
                api.create(&PostParams::default(), &config_map(&name, index)?)
                    .await
                    .with_context(|| format!("creating ConfigMap {name}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
}

/// The custom resources of the every-kind start: this many CRDs, namespaced, each with this many objects
/// spread over the namespaces, as a Crossplane provider brings (several hundred kinds, few objects each).
pub const CRDS: usize = 300;
pub const OBJECTS_PER_CRD: usize = 2;

/// Creates the CRDs and their objects, unless they are there already.
pub async fn custom_resources(client: &kube::Client) -> Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{ApiResource, DynamicObject};
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let group = |crd: usize| format!("bench-{crd:03}.example.com");
    futures::stream::iter(0..CRDS)
        .map(|crd| {
            let crds = crds.clone();
            let group = group(crd);
            async move {
                let definition: CustomResourceDefinition = serde_json::from_value(json!({
                    "metadata": { "name": format!("widgets.{group}") },
                    "spec": {
                        "group": group,
                        "names": { "plural": "widgets", "singular": "widget", "kind": "Widget" },
                        "scope": "Namespaced",
                        "versions": [{
                            "name": "v1", "served": true, "storage": true,
                            "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } }
                        }]
                    }
                }))?;
                match crds.create(&PostParams::default(), &definition).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
                    Err(error) => Err(error).context("creating a CRD"),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let objects = (0..CRDS).flat_map(|crd| (0..OBJECTS_PER_CRD).map(move |index| (crd, index)));
    futures::stream::iter(objects)
        .map(|(crd, index)| {
            let group = group(crd);
            let resource = ApiResource {
                group: group.clone(),
                version: "v1".into(),
                api_version: format!("{group}/v1"),
                kind: "Widget".into(),
                plural: "widgets".into(),
            };
            let widgets: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &spread_namespace(crd * OBJECTS_PER_CRD + index), &resource);
            let widget = DynamicObject::new(&format!("widget-{index:04}"), &resource)
                .data(json!({ "spec": { "replicas": index % 5, "image": format!("registry.example/app:{}", digest(index, 7, 12)) } }));
            async move {
                // A new CRD is served a moment after it is created.
                let mut waited = Duration::ZERO;
                loop {
                    match widgets.create(&PostParams::default(), &widget).await {
                        Ok(_) => return Ok(()),
                        Err(kube::Error::Api(status)) if status.code == 409 => return Ok(()),
                        Err(error) if waited > Duration::from_secs(120) => {
                            return Err(error).context("creating a custom resource");
                        }
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            waited += Duration::from_millis(500);
                        }
                    }
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await
}
