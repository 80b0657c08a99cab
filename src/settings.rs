//! The command line made sense of: what to watch, where, how to connect and how to print. Every usage error is
//! found here, before anything touches the network.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, OutputFormat};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub connection: ConnectionSettings,
    pub targets: Vec<TypeTarget>,
    pub scope: NamespaceScope,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub output: OutputMode,
}

/// One resource type as the user typed it, and the names asked for (empty: every object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeTarget {
    pub type_name: String,
    pub names: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceScope {
    /// The namespace of the kubeconfig context, else "default".
    ContextDefault,
    Named(String),
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// One aligned line per change.
    Lines,
    /// One WatchEvent JSON object per line.
    Json,
}

/// How to reach and authenticate to the API server: the kubeconfig and kubectl's overriding flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub certificate_authority: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub impersonate_uid: Option<String>,
    /// Bounds each request (discovery, list pages, opening a watch); never a watch stream itself.
    pub request_timeout: Option<Duration>,
}

impl Settings {
    pub fn from_cli(cli: Cli) -> Result<Settings> {
        let has_selector = cli.selector.is_some() || cli.field_selector.is_some();
        let targets = parse_targets(&cli.targets)?;
        if has_selector && targets.iter().any(|target| !target.names.is_empty()) {
            return Err(Error::Usage(
                "a NAME cannot be combined with --selector or --field-selector: name the objects or select them".into(),
            ));
        }
        let scope = match (cli.all_namespaces.unwrap_or(false), cli.namespace) {
            (true, _) => NamespaceScope::All,
            (false, Some(namespace)) if namespace.trim().is_empty() => {
                return Err(Error::Usage("--namespace needs a namespace name".into()));
            }
            (false, Some(namespace)) => NamespaceScope::Named(namespace),
            (false, None) => NamespaceScope::ContextDefault,
        };
        if cli.as_user.is_none() && (!cli.as_group.is_empty() || cli.as_uid.is_some()) {
            return Err(Error::Usage(
                "--as-group and --as-uid need --as (the user to impersonate)".into(),
            ));
        }
        let connection = ConnectionSettings {
            kubeconfig: cli.kubeconfig,
            context: cli.context,
            cluster: cli.cluster,
            user: cli.user,
            server: cli.server,
            token: cli.token,
            client_certificate: cli.client_certificate,
            client_key: cli.client_key,
            certificate_authority: cli.certificate_authority,
            insecure_skip_tls_verify: cli.insecure_skip_tls_verify.unwrap_or(false),
            impersonate_user: cli.as_user,
            impersonate_groups: cli.as_group,
            impersonate_uid: cli.as_uid,
            request_timeout: parse_request_timeout(&cli.request_timeout)?,
        };
        Ok(Settings {
            connection,
            targets,
            scope,
            label_selector: cli.selector.filter(|selector| !selector.is_empty()),
            field_selector: cli.field_selector.filter(|selector| !selector.is_empty()),
            output: match cli.output {
                None => OutputMode::Lines,
                Some(OutputFormat::Json) => OutputMode::Json,
            },
        })
    }
}

/// kubectl's forms: `TYPE[,TYPE...] [NAME...]`, or `TYPE/NAME ...` for objects of one or more types.
fn parse_targets(args: &[String]) -> Result<Vec<TypeTarget>> {
    let Some(first) = args.first() else {
        return Err(Error::Usage(
            "you must specify the type of resource to watch, e.g. 'kubectl watchnew pods' \
             ('kubectl api-resources' lists the types)"
                .into(),
        ));
    };
    if first.contains('/') {
        let mut targets: Vec<TypeTarget> = Vec::new();
        for arg in args {
            let Some((type_name, name)) = arg.split_once('/') else {
                return Err(Error::Usage(format!(
                    "{arg:?} has no type: when objects are named as TYPE/NAME, every argument must be TYPE/NAME"
                )));
            };
            if type_name.is_empty() || name.is_empty() || name.contains('/') || type_name.contains(',') {
                return Err(Error::Usage(format!("{arg:?} is not of the form TYPE/NAME")));
            }
            match targets.iter_mut().find(|target| target.type_name == type_name) {
                Some(target) => {
                    target.names.insert(name.to_string());
                }
                None => targets.push(TypeTarget {
                    type_name: type_name.into(),
                    names: [name.to_string()].into(),
                }),
            }
        }
        return Ok(targets);
    }
    let type_names: Vec<&str> = first.split(',').map(str::trim).collect();
    if type_names.iter().any(|name| name.is_empty()) {
        return Err(Error::Usage(format!("{first:?} has an empty resource type")));
    }
    let names: BTreeSet<String> = args[1..].iter().cloned().collect();
    if let Some(typed) = names.iter().find(|name| name.contains('/')) {
        return Err(Error::Usage(format!(
            "{typed:?}: when objects are named as TYPE/NAME, give no separate type argument"
        )));
    }
    if !names.is_empty() && type_names.len() > 1 {
        return Err(Error::Usage(
            "NAMEs can follow one type only; name objects of several types as TYPE/NAME (e.g. pod/web svc/web)".into(),
        ));
    }
    let mut targets: Vec<TypeTarget> = Vec::new();
    for type_name in type_names {
        if !targets.iter().any(|target| target.type_name == type_name) {
            targets.push(TypeTarget {
                type_name: type_name.into(),
                names: names.clone(),
            });
        }
    }
    Ok(targets)
}

/// A duration as kubectl and Go write them (`30s`, `5m`, `1h30m`, `500ms`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let duration: jiff::SignedDuration = text.parse().ok()?;
    Duration::try_from(duration).ok()
}

fn parse_request_timeout(text: &str) -> Result<Option<Duration>> {
    match parse_duration(text) {
        Some(duration) if duration.is_zero() => Ok(None),
        Some(duration) => Ok(Some(duration)),
        None => Err(Error::Usage(format!(
            "--request-timeout {text:?} is not a duration: use a number of seconds or a value like 30s, 2m, 1h"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn settings(args: &[&str]) -> Result<Settings> {
        let cli = Cli::try_parse_from(std::iter::once("kubectl-watchnew").chain(args.iter().copied()))
            .map_err(|error| Error::Usage(error.to_string()))?;
        Settings::from_cli(cli)
    }

    fn targets(args: &[&str]) -> Vec<(String, Vec<String>)> {
        settings(args)
            .expect("valid")
            .targets
            .into_iter()
            .map(|target| (target.type_name, target.names.into_iter().collect()))
            .collect()
    }

    #[test]
    fn types_and_names_take_kubectl_forms() {
        assert_eq!(targets(&["pods"]), [("pods".into(), vec![])]);
        assert_eq!(targets(&["pods,deploy,svc"]).len(), 3);
        assert_eq!(targets(&["pods,pods"]).len(), 1, "a type named twice is watched once");
        assert_eq!(
            targets(&["po", "web", "db"]),
            [("po".into(), vec!["db".into(), "web".into()])]
        );
        assert_eq!(
            targets(&["pod/web", "svc/web", "pod/db"]),
            [
                ("pod".into(), vec!["db".into(), "web".into()]),
                ("svc".into(), vec!["web".into()])
            ]
        );
    }

    #[test]
    fn ambiguous_or_incomplete_targets_are_usage_errors() {
        for args in [
            &[][..],
            &["pods,svc", "web"],
            &["pod/web", "db"],
            &["pods", "svc/web"],
            &["pods,,svc"],
            &["pod/"],
            &["/web"],
            &["pods", "web", "-l", "app=web"],
            &["pod/web", "--field-selector", "metadata.name=web"],
            &["pods", "-n", ""],
            &["pods", "--request-timeout", "soon"],
            &["pods", "--as-group", "admins"],
        ] {
            let result = settings(args);
            assert!(matches!(result, Err(Error::Usage(_))), "{args:?} gave {result:?}");
        }
    }

    #[test]
    fn namespace_scope_follows_kubectl() {
        assert_eq!(
            settings(&["pods"]).expect("valid").scope,
            NamespaceScope::ContextDefault
        );
        assert_eq!(
            settings(&["pods", "-n", "team-a"]).expect("valid").scope,
            NamespaceScope::Named("team-a".into())
        );
        assert_eq!(settings(&["pods", "-A"]).expect("valid").scope, NamespaceScope::All);
        assert_eq!(
            settings(&["pods", "-n", "x", "--all-namespaces"]).expect("valid").scope,
            NamespaceScope::All
        );
        assert_eq!(
            settings(&["pods", "--all-namespaces=false"]).expect("valid").scope,
            NamespaceScope::ContextDefault
        );
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("-5s"), None);
        assert_eq!(parse_duration("later"), None);
        assert_eq!(settings(&["pods"]).expect("valid").connection.request_timeout, None);
        assert_eq!(
            settings(&["pods", "--request-timeout=10s"])
                .expect("valid")
                .connection
                .request_timeout,
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn connection_flags_keep_kubectl_names() {
        let settings = settings(&[
            "pods",
            "--context",
            "c",
            "--cluster",
            "k",
            "--user",
            "u",
            "-s",
            "https://h:6443",
            "--token",
            "t",
            "--insecure-skip-tls-verify",
            "--as",
            "jane",
            "--as-group",
            "g1",
            "--as-group",
            "g2",
        ])
        .expect("valid");
        let connection = settings.connection;
        assert_eq!(connection.context.as_deref(), Some("c"));
        assert_eq!(connection.server.as_deref(), Some("https://h:6443"));
        assert!(connection.insecure_skip_tls_verify);
        assert_eq!(connection.impersonate_groups, ["g1", "g2"]);
    }
}
