//! Resource types as kubectl resolves them: through API discovery, by plural, singular, short name or Kind,
//! optionally qualified by group (`deployments.apps`) or version and group (`deployments.v1.apps`).
//! Aggregated discovery gives everything in two requests; servers older than 1.26 get the per-group walk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::try_join_all;
use kube::Client;
use kube::core::discovery::v2::APIGroupDiscoveryList;
use serde::{Deserialize, Serialize};

use super::retry::{self, LONGEST_RETRY_AFTER};
use crate::error::{Error, Result, request_error};

/// One resource of one group version, as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInfo {
    /// "" for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    /// kubectl's categories, such as `all`.
    pub categories: Vec<String>,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name kubectl would print: `pods`, `deployments.apps`.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn can(&self, verb: &str) -> bool {
        self.verbs.iter().any(|allowed| allowed == verb)
    }

    /// Whether it can be listed and watched, which is all this tool asks of a type.
    pub fn watchable(&self) -> bool {
        self.can("list") && self.can("watch")
    }

    /// The URL path of the collection, in one namespace or across all of them.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let mut path = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        if let (true, Some(namespace)) = (self.namespaced, namespace) {
            path.push_str("/namespaces/");
            path.push_str(namespace);
        }
        path.push('/');
        path.push_str(&self.plural);
        path
    }
}

/// Kinds that change all the time on their own and say little one by one, left out of `--all-kinds` unless
/// named: Events (their own column tells why a row changed), Leases (every node and leader renews one every
/// few seconds), Endpoints and EndpointSlices (they follow every pod that becomes ready or not).
pub const NOISY_KINDS: &[(&str, &str)] = &[
    ("", "events"),
    ("events.k8s.io", "events"),
    ("coordination.k8s.io", "leases"),
    ("", "endpoints"),
    ("discovery.k8s.io", "endpointslices"),
];

/// Every resource the server offers, groups in the server's order of preference and, within a group, the
/// preferred version first; that order settles ambiguous names the way kubectl does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    resources: Vec<ResourceInfo>,
}

/// The server's resource types. A server that refuses for now (429, 5xx: overloaded, restarting) is asked
/// again and again, ever less often, as the streams do after their start: the wait is said meanwhile.
pub async fn discover(client: &Client) -> Result<Catalog> {
    let mut wait = FIRST_REFUSAL_WAIT;
    loop {
        match discover_once(client).await {
            Err(kube::Error::Api(status)) if is_refusal(status.code) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_RETRY_AFTER);
            }
            discovered => {
                return discovered.map_err(|error| request_error(error, "discovering the server's resource types"));
            }
        }
    }
}

/// The first wait after discovery was refused (once the server's own hints, if any, were followed).
const FIRST_REFUSAL_WAIT: Duration = Duration::from_secs(1);

fn is_refusal(code: u16) -> bool {
    http::StatusCode::from_u16(code).is_ok_and(retry::is_refusal)
}

async fn discover_once(client: &Client) -> Result<Catalog, kube::Error> {
    let aggregated = futures::try_join!(
        client.list_core_api_versions_aggregated(),
        client.list_api_groups_aggregated()
    );
    match aggregated {
        Ok((core, groups)) => Ok(Catalog::from_aggregated([core, groups])),
        Err(kube::Error::Api(status)) if is_refusal(status.code) => Err(kube::Error::Api(status)),
        // Servers without aggregated discovery answer with the older document, which does not decode as the new.
        Err(kube::Error::SerdeError(_)) | Err(kube::Error::Api(_)) => discover_per_group(client).await,
        Err(error) => Err(error),
    }
}

/// How long discovery is trusted on disk: kubectl's own cache lifetime.
const CACHE_LIFETIME: Duration = Duration::from_secs(6 * 60 * 60);
/// Changes when the file's layout does, so that an older file is ignored rather than misread.
const CACHE_FORMAT: u32 = 1;

/// Discovery kept on disk for one API server, as kubectl keeps its own (under `$KUBECACHEDIR`, else
/// `~/.kube/cache`), so that a start costs the server no discovery requests. A name it does not know, or a
/// resource the server no longer has, sends the next start back to the server.
pub struct DiscoveryCache {
    path: Option<PathBuf>,
}

#[derive(Deserialize)]
struct CacheFile {
    format: u32,
    catalog: Catalog,
}

/// What `store` writes: the same layout, borrowing the catalog.
#[derive(Serialize)]
struct CacheFileRef<'a> {
    format: u32,
    catalog: &'a Catalog,
}

impl DiscoveryCache {
    /// The cache of one server in kubectl's cache folder (`--cache-dir`); none when there is no such folder.
    pub fn for_server(cache_dir: Option<&Path>, server: &str) -> DiscoveryCache {
        DiscoveryCache {
            path: cache_dir.map(|base| base.join("watchnew").join(cache_key(server)).join("discovery.json")),
        }
    }

    /// A cache in this file.
    pub fn at(path: PathBuf) -> DiscoveryCache {
        DiscoveryCache { path: Some(path) }
    }

    /// The catalog on disk, if it is there, readable and young enough.
    pub fn load(&self) -> Option<Catalog> {
        let path = self.path.as_ref()?;
        let age = std::fs::metadata(path).ok()?.modified().ok()?.elapsed().ok()?;
        if age > CACHE_LIFETIME {
            return None;
        }
        let file: CacheFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        (file.format == CACHE_FORMAT).then_some(file.catalog)
    }

    /// Keeps the catalog for the next start. A cache that cannot be written only costs requests later.
    pub fn store(&self, catalog: &Catalog) {
        let Some(path) = &self.path else { return };
        let Some(dir) = path.parent() else { return };
        let file = CacheFileRef {
            format: CACHE_FORMAT,
            catalog,
        };
        let Ok(json) = serde_json::to_vec(&file) else { return };
        // Written aside and renamed, so that a concurrent start never reads half a file.
        let partial = dir.join(format!(".discovery.{}.json", std::process::id()));
        let stored = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&partial, json))
            .and_then(|()| std::fs::rename(&partial, path));
        if stored.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
    }

    /// Makes the next start ask the server again.
    pub fn forget(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The server's address as a folder name: `https://10.0.0.1:6443/k8s` gives `10.0.0.1_6443_k8s`.
fn cache_key(server: &str) -> String {
    let address = server.split_once("://").map_or(server, |(_, rest)| rest);
    address
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The catalog from the cache, else from the server (and then cached). Says whether it came from the cache.
pub async fn discover_cached(client: &Client, cache: &DiscoveryCache) -> Result<(Catalog, bool)> {
    if let Some(catalog) = cache.load() {
        return Ok((catalog, true));
    }
    let catalog = discover(client).await?;
    cache.store(&catalog);
    Ok((catalog, false))
}

/// Discovery the way servers before aggregated discovery need it: /api, /apis, then one request per group version.
async fn discover_per_group(client: &Client) -> Result<Catalog, kube::Error> {
    let core = client.list_core_api_versions().await?;
    let groups = client.list_api_groups().await?;
    let mut group_versions: Vec<(String, String)> = core
        .versions
        .iter()
        .map(|version| (String::new(), version.clone()))
        .collect();
    for group in &groups.groups {
        let preferred = group.preferred_version.as_ref().map(|version| version.version.clone());
        let mut versions: Vec<String> = group.versions.iter().map(|version| version.version.clone()).collect();
        if let Some(preferred) = preferred {
            versions.sort_by_key(|version| *version != preferred);
        }
        group_versions.extend(versions.into_iter().map(|version| (group.name.clone(), version)));
    }
    let lists = try_join_all(group_versions.iter().map(|(group, version)| async move {
        if group.is_empty() {
            client.list_core_api_resources(version).await
        } else {
            client.list_api_group_resources(&format!("{group}/{version}")).await
        }
    }))
    .await?;
    let resources = group_versions
        .iter()
        .zip(lists)
        .flat_map(|((group, version), list)| {
            list.resources
                .into_iter()
                .filter(|resource| !resource.name.contains('/'))
                .map(move |resource| ResourceInfo {
                    group: group.clone(),
                    version: version.clone(),
                    singular: if resource.singular_name.is_empty() {
                        resource.kind.to_lowercase()
                    } else {
                        resource.singular_name
                    },
                    plural: resource.name,
                    kind: resource.kind,
                    short_names: resource.short_names.unwrap_or_default(),
                    categories: resource.categories.unwrap_or_default(),
                    namespaced: resource.namespaced,
                    verbs: resource.verbs,
                })
        })
        .collect();
    Ok(Catalog { resources })
}

impl Catalog {
    pub fn from_resources(resources: Vec<ResourceInfo>) -> Catalog {
        Catalog { resources }
    }

    pub fn from_aggregated(lists: [APIGroupDiscoveryList; 2]) -> Catalog {
        let mut resources = Vec::new();
        for group in lists.into_iter().flat_map(|list| list.items) {
            let group_name = group.metadata.and_then(|metadata| metadata.name).unwrap_or_default();
            for version in group.versions {
                let Some(version_name) = version.version else {
                    continue;
                };
                for resource in version.resources {
                    let Some(plural) = resource.resource else {
                        continue;
                    };
                    let kind = resource.response_kind.and_then(|kind| kind.kind).unwrap_or_default();
                    resources.push(ResourceInfo {
                        group: group_name.clone(),
                        version: version_name.clone(),
                        singular: resource.singular_resource.unwrap_or_else(|| kind.to_lowercase()),
                        plural,
                        kind,
                        short_names: resource.short_names,
                        categories: resource.categories,
                        namespaced: resource.scope.as_deref() == Some("Namespaced"),
                        verbs: resource.verbs,
                    });
                }
            }
        }
        Catalog { resources }
    }

    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }

    /// The resources that can be listed and watched, in discovery order.
    pub fn watchable(&self) -> impl Iterator<Item = &ResourceInfo> {
        self.resources.iter().filter(|resource| resource.watchable())
    }

    /// Every kind that can be watched, once each in its preferred version, but the noisy ones: what
    /// `--all-kinds` watches. Cluster-scoped kinds only when asked for (`-A`).
    pub fn every_kind(&self, cluster_scoped: bool) -> Vec<&ResourceInfo> {
        let mut kinds: Vec<&ResourceInfo> = Vec::new();
        for resource in self.watchable() {
            let noisy = NOISY_KINDS.contains(&(resource.group.as_str(), resource.plural.as_str()));
            let in_scope = resource.namespaced || cluster_scoped;
            let known = kinds
                .iter()
                .any(|kind| kind.group == resource.group && kind.plural == resource.plural);
            if !noisy && in_scope && !known && !resource.plural.contains('/') {
                kinds.push(resource);
            }
        }
        kinds
    }

    /// Resolves a word of the command line to the resources to watch: one type, or every watchable type of a
    /// category such as `all` (each in its preferred version), as `kubectl get all` does.
    pub fn resolve_targets(&self, typed: &str) -> Result<Vec<&ResourceInfo>> {
        let wanted = typed.to_lowercase();
        if self.lookup(&wanted).is_none() {
            let mut members: Vec<&ResourceInfo> = Vec::new();
            for resource in self.watchable() {
                let member = resource.categories.contains(&wanted);
                let known = members
                    .iter()
                    .any(|m| m.group == resource.group && m.plural == resource.plural);
                if member && !known {
                    members.push(resource);
                }
            }
            if !members.is_empty() {
                return Ok(members);
            }
        }
        self.resolve(typed).map(|resource| vec![resource])
    }

    /// Resolves a type as typed on the command line to the resource to watch.
    pub fn resolve(&self, typed: &str) -> Result<&ResourceInfo> {
        let found = self.lookup(&typed.to_lowercase()).ok_or_else(|| {
            let suggestions = self.close_matches(typed);
            let hint = if suggestions.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", suggestions.join(", "))
            };
            Error::ResourceType(format!("the server doesn't have a resource type {typed:?}{hint}"))
        })?;
        if !found.watchable() {
            return Err(Error::ResourceType(format!(
                "{} cannot be watched: the server allows only {} on it",
                found.qualified_name(),
                if found.verbs.is_empty() {
                    "no verb".to_string()
                } else {
                    found.verbs.join(", ")
                }
            )));
        }
        Ok(found)
    }

    fn lookup(&self, wanted: &str) -> Option<&ResourceInfo> {
        let Some((name, qualifier)) = wanted.split_once('.') else {
            return self.find(wanted, |_| true);
        };
        // `name.version.group` when the middle part is a version of that group, else `name.group`.
        if let Some((version, group)) = qualifier.split_once('.')
            && let Some(found) = self.find(name, |r| r.version == version && r.group == group)
        {
            return Some(found);
        }
        self.find(name, |resource| resource.group == qualifier)
    }

    /// kubectl's order: plural, singular, short names, then Kind; the first resource in discovery order wins.
    fn find(&self, name: &str, scope: impl Fn(&ResourceInfo) -> bool) -> Option<&ResourceInfo> {
        let rules: [&dyn Fn(&ResourceInfo) -> bool; 4] = [
            &|r| r.plural == name,
            &|r| r.singular == name,
            &|r| r.short_names.iter().any(|short| short == name),
            &|r| r.kind.to_lowercase() == name,
        ];
        rules
            .iter()
            .find_map(|rule| self.resources.iter().find(|resource| scope(resource) && rule(resource)))
    }

    fn close_matches(&self, typed: &str) -> Vec<String> {
        let typed = typed.to_lowercase();
        let typed = typed.split('.').next().unwrap_or_default();
        let mut scored: Vec<(f64, String)> = Vec::new();
        for resource in &self.resources {
            let names = [&resource.plural, &resource.singular]
                .into_iter()
                .chain(&resource.short_names);
            let best = names.map(|name| strsim::jaro_winkler(typed, name)).fold(0.0, f64::max);
            let name = resource.qualified_name();
            if best >= 0.85 && !scored.iter().any(|(_, known)| *known == name) {
                scored.push((best, name));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(3).map(|(_, name)| name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_folder_is_named_after_the_server() {
        assert_eq!(cache_key("https://10.0.0.1:6443"), "10.0.0.1_6443");
        assert_eq!(
            cache_key("https://rancher.example.com/k8s/clusters/c-1/"),
            "rancher.example.com_k8s_clusters_c-1"
        );
    }

    #[test]
    fn a_cached_catalog_is_used_until_it_is_old_or_of_another_format() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("server").join("discovery.json");
        let cache = DiscoveryCache::at(path.clone());
        assert_eq!(cache.load(), None, "nothing cached yet");
        let catalog = Catalog {
            resources: vec![resource("", "v1", "pods", "Pod", &["po"], true)],
        };
        cache.store(&catalog);
        assert_eq!(cache.load(), Some(catalog.clone()));

        let file = std::fs::File::options().write(true).open(&path).expect("cached");
        let seven_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7 * 60 * 60);
        file.set_modified(seven_hours_ago).expect("settable");
        assert_eq!(cache.load(), None, "older than kubectl's six hours");

        cache.store(&catalog);
        let other_format = std::fs::read_to_string(&path)
            .expect("readable")
            .replace("\"format\":1", "\"format\":99");
        std::fs::write(&path, other_format).expect("writable");
        assert_eq!(cache.load(), None, "another layout is not misread");

        cache.store(&catalog);
        cache.forget();
        assert_eq!(cache.load(), None);
    }

    fn resource(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        short: &[&str],
        namespaced: bool,
    ) -> ResourceInfo {
        ResourceInfo {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            namespaced,
            verbs: ["get", "list", "watch", "create"].map(String::from).to_vec(),
            categories: if ["pods", "deployments"].contains(&plural) {
                vec!["all".into()]
            } else {
                vec![]
            },
        }
    }

    fn catalog() -> Catalog {
        let mut bindings = resource("", "v1", "bindings", "Binding", &[], true);
        bindings.verbs = vec!["create".into()];
        Catalog {
            resources: vec![
                resource("", "v1", "pods", "Pod", &["po"], true),
                resource("", "v1", "events", "Event", &["ev"], true),
                resource("", "v1", "nodes", "Node", &["no"], false),
                bindings,
                resource("apps", "v1", "deployments", "Deployment", &["deploy"], true),
                resource("events.k8s.io", "v1", "events", "Event", &["ev"], true),
                resource(
                    "autoscaling",
                    "v2",
                    "horizontalpodautoscalers",
                    "HorizontalPodAutoscaler",
                    &["hpa"],
                    true,
                ),
                resource(
                    "autoscaling",
                    "v1",
                    "horizontalpodautoscalers",
                    "HorizontalPodAutoscaler",
                    &["hpa"],
                    true,
                ),
                resource("stable.example.com", "v1", "crontabs", "CronTab", &["ct"], true),
            ],
        }
    }

    fn resolved(typed: &str) -> String {
        let found = catalog()
            .resolve(typed)
            .map(|r| format!("{}/{}", r.api_version(), r.plural));
        found.unwrap_or_else(|error| error.to_string())
    }

    #[test]
    fn names_resolve_like_kubectl() {
        for typed in ["pods", "pod", "po", "Pod", "PODS"] {
            assert_eq!(resolved(typed), "v1/pods", "{typed}");
        }
        for typed in [
            "deployments",
            "deploy",
            "Deployment",
            "deployments.apps",
            "deploy.apps",
            "deployments.v1.apps",
        ] {
            assert_eq!(resolved(typed), "apps/v1/deployments", "{typed}");
        }
        assert_eq!(resolved("ct"), "stable.example.com/v1/crontabs");
        assert_eq!(resolved("crontab.stable.example.com"), "stable.example.com/v1/crontabs");
    }

    #[test]
    fn ambiguity_goes_to_discovery_order_and_preferred_versions() {
        assert_eq!(resolved("events"), "v1/events", "the core group comes first");
        assert_eq!(resolved("events.events.k8s.io"), "events.k8s.io/v1/events");
        assert_eq!(
            resolved("hpa"),
            "autoscaling/v2/horizontalpodautoscalers",
            "the preferred version"
        );
        assert_eq!(
            resolved("hpa.v1.autoscaling"),
            "autoscaling/v1/horizontalpodautoscalers"
        );
    }

    #[test]
    fn unknown_and_unwatchable_types_explain_themselves() {
        assert_eq!(
            resolved("podz"),
            r#"the server doesn't have a resource type "podz"; did you mean pods?"#
        );
        assert_eq!(resolved("zzzz"), r#"the server doesn't have a resource type "zzzz""#);
        assert_eq!(
            resolved("deployments.v9.apps"),
            r#"the server doesn't have a resource type "deployments.v9.apps"; did you mean deployments.apps?"#
        );
        assert_eq!(
            resolved("bindings"),
            "bindings cannot be watched: the server allows only create on it"
        );
    }

    #[test]
    fn a_category_stands_for_its_members_once_each() {
        let catalog = catalog();
        let all: Vec<String> = catalog
            .resolve_targets("all")
            .expect("a category")
            .iter()
            .map(|r| r.qualified_name())
            .collect();
        assert_eq!(all, ["pods", "deployments.apps"]);
        let pods: Vec<String> = catalog
            .resolve_targets("po")
            .expect("a type")
            .iter()
            .map(|r| r.qualified_name())
            .collect();
        assert_eq!(pods, ["pods"]);
        assert!(catalog.resolve_targets("nothing").is_err());
    }

    #[test]
    fn collection_paths_follow_scope() {
        let catalog = catalog();
        let pods = catalog.resolve("pods").expect("known");
        assert_eq!(pods.collection_path(Some("team-a")), "/api/v1/namespaces/team-a/pods");
        assert_eq!(pods.collection_path(None), "/api/v1/pods");
        let nodes = catalog.resolve("nodes").expect("known");
        assert_eq!(
            nodes.collection_path(Some("team-a")),
            "/api/v1/nodes",
            "cluster-scoped kinds ignore -n"
        );
        let deployments = catalog.resolve("deploy").expect("known");
        assert_eq!(
            deployments.collection_path(Some("x")),
            "/apis/apps/v1/namespaces/x/deployments"
        );
    }
}
