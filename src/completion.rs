//! Shell completion. kubectl 1.26+ completes `kubectl watchnew <TAB>` by running `kubectl_complete-watchnew`
//! with the words typed so far, which answers in Cobra's `__complete` protocol; `kubectl watchnew completion
//! SHELL` prints a script that completes `kubectl-watchnew` itself. Both use clap_complete's engine, with
//! candidates from the cluster: resource types from discovery, object names, namespaces, and the contexts,
//! clusters and users of the kubeconfig.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate, ValueCompleter};
use clap_complete::env::Shells;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use kube::discovery::ApiResource;

use crate::cli::Cli;
use crate::cluster::connection::{self, ConnectOptions};
use crate::cluster::resolver;
use crate::exit_code::ExitCode;
use crate::settings::{self, Environment};

/// The variable that makes the binary answer a completion request from a script of `completion SHELL`.
pub const ENV_VAR: &str = "WATCHNEW_COMPLETE";
const BINARY: &str = "kubectl-watchnew";
/// Cobra's ShellCompDirectiveNoFileComp: never offer file names.
const NO_FILE_COMPLETION: u8 = 4;
/// A completion that waits on a slow cluster gives up after this long.
const PATIENCE: Duration = Duration::from_secs(3);

/// What the words before the one being completed say: where to connect, which namespace, which types.
#[derive(Debug, Default)]
struct Typed {
    connection: ConnectOptions,
    namespace: Option<String>,
    all_namespaces: bool,
    targets: Vec<String>,
}

static TYPED: OnceLock<Typed> = OnceLock::new();

/// Reads the flags among the words typed so far. A flag still waiting for its value (`-n` before `-n <TAB>`)
/// does not parse; the longest beginning that does is what counts.
fn remember_typed(words: &[OsString]) {
    let parse =
        |words: &[OsString]| Cli::try_parse_from(std::iter::once(OsString::from(BINARY)).chain(words.iter().cloned()));
    let cli = (0..=words.len()).rev().find_map(|end| parse(&words[..end]).ok());
    let typed = cli.map(|cli| Typed {
        // With several contexts, the first is asked for the types, names and namespaces.
        connection: settings::connect_options(&cli, &Environment::detect())
            .map(|options| ConnectOptions {
                context: options
                    .context
                    .as_deref()
                    .and_then(|typed| typed.split(',').next())
                    .map(str::to_string),
                ..options
            })
            .unwrap_or_default(),
        namespace: cli.namespace.clone(),
        all_namespaces: cli.all_namespaces.unwrap_or(false),
        targets: cli.targets.clone(),
    });
    let _ = TYPED.set(typed.unwrap_or_default());
}

fn typed() -> &'static Typed {
    TYPED.get_or_init(Typed::default)
}

/// The command line's definition with the completers attached to its arguments.
fn command() -> clap::Command {
    Cli::command()
        .mut_arg("targets", |arg| arg.add(ArgValueCompleter::new(TargetCompleter)))
        .mut_arg("namespace", |arg| arg.add(ArgValueCompleter::new(complete_namespaces)))
        .mut_arg("context", |arg| arg.add(ArgValueCompleter::new(complete_contexts)))
        .mut_arg("cluster", |arg| arg.add(ArgValueCompleter::new(complete_clusters)))
        .mut_arg("user", |arg| arg.add(ArgValueCompleter::new(complete_users)))
}

/// `kubectl_complete-watchnew WORD...` and `kubectl-watchnew __complete WORD...`: the last word is the one
/// being completed. Prints one candidate per line, then `:4`.
pub fn cobra_complete(words: Vec<OsString>) -> std::process::ExitCode {
    let (current, before) = match words.split_last() {
        Some((current, before)) => (current.clone(), before.to_vec()),
        None => (OsString::new(), Vec::new()),
    };
    remember_typed(&before);
    let mut args = vec![OsString::from(BINARY)];
    args.extend(before);
    args.push(current);
    let index = args.len() - 1;
    let candidates = clap_complete::engine::complete(&mut command(), args, index, None).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    for candidate in candidates {
        let value = candidate.get_value().to_string_lossy();
        let _ = match candidate.get_help() {
            Some(help) => writeln!(out, "{value}\t{}", help.to_string().lines().next().unwrap_or_default()),
            None => writeln!(out, "{value}"),
        };
    }
    let _ = writeln!(out, ":{NO_FILE_COMPLETION}");
    ExitCode::Success.into()
}

/// `kubectl watchnew completion SHELL`: the script that makes SHELL complete `kubectl-watchnew`.
pub fn print_script(shell: Option<&OsStr>) -> std::process::ExitCode {
    let shells = Shells::builtins();
    let Some(completer) = shell.and_then(OsStr::to_str).and_then(|name| shells.completer(name)) else {
        let names: Vec<&str> = shells.names().collect();
        eprintln!("error: completion needs one of these shells: {}", names.join(", "));
        return ExitCode::Usage.into();
    };
    let mut script = Vec::new();
    if let Err(error) = completer.write_registration(ENV_VAR, BINARY, BINARY, BINARY, &mut script) {
        eprintln!("error: writing the completion script failed: {error}");
        return ExitCode::Failure.into();
    }
    let _ = std::io::stdout().write_all(&script);
    ExitCode::Success.into()
}

/// Answers a completion request from a script of `completion SHELL`, if this is one, and says how the
/// process ends then.
pub fn complete_from_environment(args: &[OsString]) -> Option<std::process::ExitCode> {
    if std::env::var_os(ENV_VAR).is_none_or(|value| value.is_empty() || value == "0") {
        return None;
    }
    // The script calls `kubectl-watchnew -- WORD...`; the last word is the one being completed.
    let words: Vec<OsString> = args.iter().skip_while(|arg| *arg != "--").skip(2).cloned().collect();
    remember_typed(words.split_last().map(|(_, before)| before).unwrap_or_default());
    let current_dir = std::env::current_dir().ok();
    let env = clap_complete::CompleteEnv::with_factory(command)
        .var(ENV_VAR)
        .bin(BINARY)
        .completer(BINARY);
    match env.try_complete(args.iter().cloned(), current_dir.as_deref()) {
        Ok(true) => Some(ExitCode::Success.into()),
        Ok(false) => None,
        Err(error) => {
            let _ = error.print();
            Some(ExitCode::Usage.into())
        }
    }
}

/// Runs one cluster request for a completion, within `PATIENCE`; any failure means no candidates.
fn with_cluster<T, F>(request: impl FnOnce(connection::Connection) -> F) -> Option<T>
where
    F: Future<Output = Option<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        tokio::time::timeout(PATIENCE, async {
            let connection = connection::connect(&typed().connection).await.ok()?;
            request(connection).await
        })
        .await
        .ok()
        .flatten()
    })
}

fn matching(current: &OsStr, names: impl IntoIterator<Item = String>, prefix: &str) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    let mut names: Vec<String> = names.into_iter().map(|name| format!("{prefix}{name}")).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The positional words: resource types first (`pods,dep<TAB>`), then names of the type (`web-<TAB>`), or
/// `TYPE/NAME` forms (`deploy/we<TAB>`).
#[derive(Debug, Clone, Copy)]
pub struct TargetCompleter;

impl ValueCompleter for TargetCompleter {
    fn complete(&self, current: &OsStr) -> Vec<CompletionCandidate> {
        self.complete_at(0, current)
    }

    fn complete_at(&self, _arg_index: usize, current: &OsStr) -> Vec<CompletionCandidate> {
        let text = current.to_string_lossy();
        if let Some((type_name, _)) = text.split_once('/') {
            return matching(current, object_names(type_name), &format!("{type_name}/"));
        }
        match typed().targets.first() {
            Some(types) if !types.contains('/') => matching(current, object_names(types), ""),
            _ => {
                let prefix = text.rfind(',').map(|comma| &text[..=comma]).unwrap_or_default();
                matching(current, resource_types(), prefix)
            }
        }
    }
}

/// Every type that can be watched, by the name `kubectl api-resources` gives it; group-qualified where the
/// plain name belongs to more than one group.
fn resource_types() -> Vec<String> {
    with_cluster(|connection| async move {
        let catalog = resolver::catalog(&connection).await.ok()?;
        let watchable: Vec<_> = catalog.watchable().collect();
        let names = watchable.iter().map(|resource| {
            let shared = watchable
                .iter()
                .any(|other| other.plural == resource.plural && other.group != resource.group);
            if shared && !resource.group.is_empty() {
                resource.qualified_name()
            } else {
                resource.plural.clone()
            }
        });
        Some(names.collect())
    })
    .unwrap_or_default()
}

/// The names of the objects of one type in the namespace the words so far select.
fn object_names(type_name: &str) -> Vec<String> {
    let type_name = type_name.to_string();
    with_cluster(|connection| async move {
        let catalog = resolver::catalog(&connection).await.ok()?;
        let resource = catalog.resolve(&type_name).ok()?;
        let api_resource = ApiResource {
            group: resource.group.clone(),
            version: resource.version.clone(),
            api_version: resource.api_version(),
            kind: resource.kind.clone(),
            plural: resource.plural.clone(),
        };
        let objects: Api<DynamicObject> = match (typed().all_namespaces, &typed().namespace) {
            _ if !resource.namespaced => Api::all_with(connection.client, &api_resource),
            (true, _) => Api::all_with(connection.client, &api_resource),
            (false, Some(namespace)) => Api::namespaced_with(connection.client, namespace, &api_resource),
            (false, None) => Api::namespaced_with(connection.client, &connection.default_namespace, &api_resource),
        };
        // Names only: the metadata of at most a page, the cheapest list there is.
        let list = objects.list_metadata(&ListParams::default().limit(500)).await.ok()?;
        Some(list.items.into_iter().filter_map(|item| item.metadata.name).collect())
    })
    .unwrap_or_default()
}

/// `-n`: the namespaces of the cluster.
pub fn complete_namespaces(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = with_cluster(|connection| async move {
        let namespaces: Api<Namespace> = Api::all(connection.client);
        let list = namespaces.list_metadata(&ListParams::default()).await.ok()?;
        Some(
            list.items
                .into_iter()
                .filter_map(|namespace| namespace.metadata.name)
                .collect::<Vec<_>>(),
        )
    });
    matching(current, names.unwrap_or_default(), "")
}

/// `--context`, `--cluster`, `--user`: the names in the kubeconfig.
fn kubeconfig_names(pick: fn(&kube::config::Kubeconfig) -> Vec<String>) -> Vec<String> {
    connection::load_kubeconfig(&typed().connection)
        .ok()
        .flatten()
        .map(|config| pick(&config))
        .unwrap_or_default()
}

/// `--context`: one name, or the next of a list (`staging,pro<TAB>`), each context once; a pattern being typed
/// (`prod-*<TAB>`) offers the contexts it matches, to take its place.
pub fn complete_contexts(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = kubeconfig_names(|config| config.contexts.iter().map(|c| c.name.clone()).collect());
    context_candidates(current, names)
}

fn context_candidates(current: &OsStr, names: Vec<String>) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let (listed, last) = typed.rsplit_once(',').unwrap_or(("", typed.as_ref()));
    let prefix = if listed.is_empty() {
        String::new()
    } else {
        format!("{listed},")
    };
    let unlisted = names
        .into_iter()
        .filter(|name| !listed.split(',').any(|given| given == name));
    if settings::is_pattern(last) {
        return match glob::Pattern::new(last) {
            Ok(pattern) => unlisted
                .filter(|name| pattern.matches(name))
                .map(|name| CompletionCandidate::new(format!("{prefix}{name}")))
                .collect(),
            Err(_) => Vec::new(),
        };
    }
    matching(current, unlisted, &prefix)
}

pub fn complete_clusters(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        current,
        kubeconfig_names(|config| config.clusters.iter().map(|c| c.name.clone()).collect()),
        "",
    )
}

pub fn complete_users(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(
        current,
        kubeconfig_names(|config| config.auth_infos.iter().map(|u| u.name.clone()).collect()),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(current: &str) -> Vec<String> {
        let names = ["prod-eu", "staging", "prod-us", "dev"].map(String::from).to_vec();
        context_candidates(OsStr::new(current), names)
            .into_iter()
            .map(|candidate| candidate.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn contexts_complete_by_name_and_by_pattern() {
        assert_eq!(offered("pro"), ["prod-eu", "prod-us"]);
        assert_eq!(
            offered("prod-eu,"),
            ["prod-eu,dev", "prod-eu,prod-us", "prod-eu,staging"]
        );
        // A pattern offers what it matches, in the kubeconfig's order, those listed already left out.
        assert_eq!(offered("prod-*"), ["prod-eu", "prod-us"]);
        assert_eq!(offered("prod-eu,*-??"), ["prod-eu,prod-us"]);
        assert_eq!(offered("qa-*"), Vec::<String>::new());
        assert_eq!(offered("prod-["), Vec::<String>::new());
    }
}
