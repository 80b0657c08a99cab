//! From the types typed on the command line to the resources to watch, in one call: the discovery cache
//! first, the server when the cache does not know a name (a CRD installed since), as kubectl does.

use std::collections::BTreeSet;

use super::connection::Connection;
use super::discovery::{self, Catalog, DiscoveryCache, ResourceInfo};
use crate::error::{Error, Result};

/// One resource type as the user typed it, and the names asked for (empty: every object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeTarget {
    pub type_name: String,
    pub names: BTreeSet<String>,
}

/// A resource to watch, and the names asked for (empty: every object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub resource: ResourceInfo,
    pub names: BTreeSet<String>,
}

/// The resources the command line names, each once, in the order given.
pub async fn resolve(connection: &Connection, targets: &[TypeTarget]) -> Result<Vec<Target>> {
    let cache = cache_of(connection);
    let (catalog, cached) = connection
        .bounded(discovery::discover_cached(&connection.client, &cache))
        .await??;
    match resolve_in(&catalog, targets) {
        Err(Error::ResourceType(_)) if cached => resolve_in(&rediscover(connection).await?, targets),
        resolved => resolved,
    }
}

/// Adds to `targets` the kinds of `catalog` that `--all-kinds` watches and `targets` does not have yet; returns
/// how many were added (at the end).
pub fn add_every_kind(targets: &mut Vec<Target>, catalog: &Catalog, cluster_scoped: bool) -> usize {
    let before = targets.len();
    for resource in catalog.every_kind(cluster_scoped) {
        let known = targets
            .iter()
            .any(|target| target.resource.group == resource.group && target.resource.plural == resource.plural);
        if !known {
            targets.push(Target {
                resource: resource.clone(),
                names: BTreeSet::new(),
            });
        }
    }
    targets.len() - before
}

/// The server's catalog as it is now, kept in the cache for the next start.
pub async fn rediscover(connection: &Connection) -> Result<Catalog> {
    let catalog = connection.bounded(discovery::discover(&connection.client)).await??;
    cache_of(connection).store(&catalog);
    Ok(catalog)
}

/// The catalog, from the cache when it has one: for completion, where a stale answer is better than none.
pub async fn catalog(connection: &Connection) -> Result<Catalog> {
    let cache = cache_of(connection);
    let (catalog, _) = connection
        .bounded(discovery::discover_cached(&connection.client, &cache))
        .await??;
    Ok(catalog)
}

/// Where the Events are: `events.k8s.io/v1`, else core `v1` on a server without it; `None` on a server that
/// lists neither for watching.
pub async fn event_resource(connection: &Connection) -> Result<Option<ResourceInfo>> {
    let catalog = catalog(connection).await?;
    let find = |group: &str| {
        catalog
            .watchable()
            .find(|resource| resource.group == group && resource.plural == "events")
            .cloned()
    };
    Ok(find("events.k8s.io").or_else(|| find("")))
}

/// The server no longer serves a type the cache named: the next start asks it again.
pub fn forget_discovery(connection: &Connection) {
    cache_of(connection).forget();
}

fn cache_of(connection: &Connection) -> DiscoveryCache {
    DiscoveryCache::for_server(connection.cache_dir.as_deref(), &connection.server)
}

fn resolve_in(catalog: &Catalog, targets: &[TypeTarget]) -> Result<Vec<Target>> {
    let mut resolved: Vec<Target> = Vec::new();
    for target in targets {
        for resource in catalog.resolve_targets(&target.type_name)? {
            if !resolved.iter().any(|known| &known.resource == resource) {
                resolved.push(Target {
                    resource: resource.clone(),
                    names: target.names.clone(),
                });
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(plural: &str, kind: &str, short: &str, categories: &[&str]) -> ResourceInfo {
        ResourceInfo {
            group: String::new(),
            version: "v1".into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            short_names: vec![short.into()],
            namespaced: true,
            verbs: vec!["list".into(), "watch".into()],
            categories: categories.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn target(type_name: &str, names: &[&str]) -> TypeTarget {
        TypeTarget {
            type_name: type_name.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn each_resource_is_watched_once_with_the_names_first_asked_for() {
        let catalog = Catalog::from_resources(vec![
            resource("pods", "Pod", "po", &["all"]),
            resource("services", "Service", "svc", &["all"]),
        ]);
        let resolved = resolve_in(
            &catalog,
            &[target("po", &["web"]), target("all", &[]), target("pods", &[])],
        )
        .expect("resolves");
        let summary: Vec<(String, Vec<String>)> = resolved
            .iter()
            .map(|t| (t.resource.plural.clone(), t.names.iter().cloned().collect()))
            .collect();
        assert_eq!(
            summary,
            [("pods".into(), vec!["web".into()]), ("services".into(), vec![])]
        );
        assert!(matches!(
            resolve_in(&catalog, &[target("nodes", &[])]),
            Err(Error::ResourceType(_))
        ));
    }

    #[test]
    fn every_kind_leaves_out_the_noisy_ones_and_cluster_scoped_ones_unless_asked() {
        let mut nodes = resource("nodes", "Node", "no", &[]);
        nodes.namespaced = false;
        let mut leases = resource("leases", "Lease", "", &[]);
        leases.group = "coordination.k8s.io".into();
        let mut old_widgets = resource("widgets", "Widget", "wd", &[]);
        old_widgets.group = "example.com".into();
        old_widgets.version = "v1beta1".into();
        let mut widgets = old_widgets.clone();
        widgets.version = "v1".into();
        let mut status = resource("pods/status", "Pod", "", &[]);
        status.short_names.clear();
        let catalog = Catalog::from_resources(vec![
            resource("pods", "Pod", "po", &["all"]),
            resource("events", "Event", "ev", &[]),
            resource("endpoints", "Endpoints", "ep", &[]),
            status,
            nodes,
            leases,
            widgets,
            old_widgets,
        ]);
        let names = |cluster_scoped: bool| -> Vec<String> {
            catalog
                .every_kind(cluster_scoped)
                .iter()
                .map(|kind| format!("{}/{}", kind.qualified_name(), kind.version))
                .collect()
        };
        assert_eq!(names(false), ["pods/v1", "widgets.example.com/v1"]);
        assert_eq!(names(true), ["pods/v1", "nodes/v1", "widgets.example.com/v1"]);

        // Named kinds come first, and the noisy ones only when named.
        let mut targets = resolve_in(&catalog, &[target("events", &[])]).expect("resolves");
        assert_eq!(add_every_kind(&mut targets, &catalog, false), 2);
        let plurals: Vec<&str> = targets.iter().map(|t| t.resource.plural.as_str()).collect();
        assert_eq!(plurals, ["events", "pods", "widgets"]);
        assert_eq!(add_every_kind(&mut targets, &catalog, false), 0);
    }
}
