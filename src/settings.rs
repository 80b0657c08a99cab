//! The command line made sense of: what to watch, where, how to connect and how to print. Every usage error is
//! found here, before anything touches the network.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, ColorChoice, EventType, OutputFormat};
use crate::cluster::connection::{self, ConnectOptions};
use crate::cluster::proxy::ProxyEnvironment;
use crate::cluster::resolver::TypeTarget;
use crate::engine::stream::Representation;
use crate::engine::tracker::ChangeType;
use crate::error::{Error, Result};
use crate::render::columns::TableOptions;
use crate::render::lines::LineFormat;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How to connect: with several contexts, the options of the first (the others differ by context only).
    pub connection: ConnectOptions,
    /// Where the changes come from: the clusters of these contexts, or a recording.
    pub source: SourceChoice,
    pub targets: Vec<TypeTarget>,
    /// `--all-kinds`: every kind the server serves, beside the ones named in `targets`.
    pub all_kinds: bool,
    /// `--record`: where to write what is reported, and whether Secret values go with it.
    pub record: Option<RecordTo>,
    pub scope: NamespaceScope,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub output: OutputMode,
    /// The form the changes are asked for in, which the output decides.
    pub representation: Representation,
    pub table: TableOptions,
    /// The events to report; the others are tracked but not shown.
    pub event_types: Vec<ChangeType>,
    /// Exit after this many reported changes.
    pub count: Option<u64>,
    /// Exit when this much time has passed.
    pub timeout: Option<Duration>,
    /// Sync with a streamed initial list where the server can, instead of LIST pages.
    pub streaming_lists: bool,
    /// A watch silent this long is taken as dead; `None`: the default (see `StreamDriver`).
    pub silence_limit: Option<Duration>,
    /// `--lists-at-once`: paginated lists in flight, over every context.
    pub lists_at_once: usize,
    /// The live view's filter at start (empty: none).
    pub filter: String,
    /// What the Events about the watched objects are watched for.
    pub events: EventUse,
    /// Who changed each object is said (from its managedFields): not with `--no-who`.
    pub who: bool,
    /// Heartbeats are reported as changes (`--heartbeats`); by default they are counted only.
    pub heartbeats: bool,
    /// The contexts a pattern or `--all-contexts` chose, in a line said at the start.
    pub contexts_matched: Option<String>,
    /// `--export URL`: where the changes reported are sent as OTLP log records.
    pub export: Option<ExportTo>,
    /// `--state FILE`: where the streams' state is kept, to resume from.
    pub state: Option<StateTo>,
}

/// `--state FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTo {
    pub path: PathBuf,
}

/// `--export URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTo {
    /// The collector's OTLP/HTTP logs endpoint, `/v1/logs` added to a URL given without a path.
    pub endpoint: String,
    /// `--export-queue`: how many changes may wait for the collector.
    pub queue: usize,
}

impl ExportTo {
    /// The URL as typed, checked: http or https, a host, no credentials in it (they would be said in notices).
    pub fn parse(url: &str, queue: u64) -> Result<ExportTo> {
        let refuse = |why: &str| Error::Usage(format!("--export {url:?} {why}: use a URL like http://collector:4318"));
        let uri: http::Uri = url.parse().map_err(|_| refuse("is not a URL"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(refuse("is not an http or https URL"));
        }
        let Some(authority) = uri.authority() else {
            return Err(refuse("has no host"));
        };
        if authority.as_str().contains('@') {
            // Not repeated: the URL holds a password.
            return Err(Error::Usage(
                "--export URL holds credentials: pass them in OTEL_EXPORTER_OTLP_HEADERS instead".into(),
            ));
        }
        let endpoint = match uri.path() {
            "" | "/" => format!("{}://{}/v1/logs", uri.scheme_str().unwrap_or("http"), authority),
            _ => url.to_string(),
        };
        Ok(ExportTo {
            endpoint,
            queue: usize::try_from(queue).unwrap_or(usize::MAX),
        })
    }
}

/// Where the changes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceChoice {
    /// Clusters: one context (the current one, or `--context NAME`), or several (`--context a,b`), each with its
    /// own connection options.
    Contexts(Vec<ConnectOptions>),
    /// A recording made with `--record`, and no cluster.
    Replay(PathBuf),
}

impl SourceChoice {
    /// Whether several contexts are watched side by side (a CONTEXT column, a `context` field in JSON).
    pub fn several_contexts(&self) -> bool {
        matches!(self, SourceChoice::Contexts(contexts) if contexts.len() > 1)
    }
}

/// `--record FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordTo {
    pub path: PathBuf,
    /// `--record-secret-values`: Secret values are written too.
    pub secret_values: bool,
}

/// Why the Events about the watched objects are watched, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventUse {
    /// Not at all: `--no-events`, or an output that prints objects without `--with-events`.
    Off,
    /// To say on each row or line why it changed.
    Join,
    /// To print them too (`-o json|yaml|name --with-events`).
    Print,
}

/// What the process finds around it, decided once: where stdout goes, whether colour is unwanted, the
/// proxy variables, and the home folder (for kubectl's cache folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub stdout_is_terminal: bool,
    /// `NO_COLOR` is set and not empty.
    pub no_color: bool,
    pub proxy: ProxyEnvironment,
    pub home: Option<PathBuf>,
    /// `DISABLE_HTTP2` is set and not empty: HTTP/1.1 only, as client-go and kubectl take it.
    pub disable_http2: bool,
}

impl Environment {
    pub fn detect() -> Environment {
        use std::io::IsTerminal;
        Environment {
            stdout_is_terminal: std::io::stdout().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()),
            proxy: ProxyEnvironment::from_process(),
            home: std::env::home_dir(),
            disable_http2: std::env::var_os("DISABLE_HTTP2").is_some_and(|value| !value.is_empty()),
        }
    }
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
    /// The live view on the terminal, starting in the timeline or the table.
    Live { timeline: bool },
    /// Appended lines in this format.
    Lines(LineFormat),
    /// `-o none`: nothing on stdout; notices on stderr, what is reported recorded or exported.
    Headless,
}

/// kubectl's connection flags, checked, with what the environment adds (the proxy variables; `KUBECACHEDIR`
/// comes through the flag's own default).
pub fn connect_options(cli: &Cli, environment: &Environment) -> Result<ConnectOptions> {
    if cli.as_user.is_none() && (!cli.as_group.is_empty() || cli.as_uid.is_some()) {
        return Err(Error::Usage(
            "--as-group and --as-uid need --as (the user to impersonate)".into(),
        ));
    }
    // As in kubectl, an empty value means the default.
    let cache_dir = match cli.cache_dir.as_deref().map(str::trim) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => environment.home.as_ref().map(|home| home.join(".kube").join("cache")),
    };
    Ok(ConnectOptions {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        cluster: cli.cluster.clone(),
        user: cli.user.clone(),
        server: cli.server.clone(),
        token: cli.token.clone(),
        username: cli.username.clone(),
        password: cli.password.clone(),
        client_certificate: cli.client_certificate.clone(),
        client_key: cli.client_key.clone(),
        certificate_authority: cli.certificate_authority.clone(),
        insecure_skip_tls_verify: cli.insecure_skip_tls_verify.unwrap_or(false),
        tls_server_name: cli.tls_server_name.clone().filter(|name| !name.is_empty()),
        disable_compression: cli.disable_compression.unwrap_or(false),
        impersonate_user: cli.as_user.clone(),
        impersonate_groups: cli.as_group.clone(),
        impersonate_uid: cli.as_uid.clone(),
        request_timeout: parse_request_timeout(&cli.request_timeout)?,
        proxy_environment: environment.proxy.clone(),
        disable_http2: environment.disable_http2,
        cache_dir,
    })
}

impl Settings {
    pub fn from_cli(cli: Cli, environment: Environment) -> Result<Settings> {
        let has_selector = cli.selector.is_some() || cli.field_selector.is_some();
        if cli.replay.is_some() {
            check_replay(&cli)?;
        }
        let targets = match (cli.all_kinds || cli.replay.is_some(), cli.targets.is_empty()) {
            (true, true) => Vec::new(),
            _ => parse_targets(&cli.targets)?,
        };
        if cli.all_kinds && targets.iter().any(|target| !target.names.is_empty()) {
            return Err(Error::Usage(
                "--all-kinds watches whole kinds: name types to add to it (e.g. --all-kinds events), not objects"
                    .into(),
            ));
        }
        if has_selector && targets.iter().any(|target| !target.names.is_empty()) {
            return Err(Error::Usage(
                "a NAME cannot be combined with --selector or --field-selector: name the objects or select them".into(),
            ));
        }
        let scope = match (cli.all_namespaces.unwrap_or(false), cli.namespace.clone()) {
            (true, _) => NamespaceScope::All,
            (false, Some(namespace)) if namespace.trim().is_empty() => {
                return Err(Error::Usage("--namespace needs a namespace name".into()));
            }
            (false, Some(namespace)) => NamespaceScope::Named(namespace),
            (false, None) => NamespaceScope::ContextDefault,
        };
        let mut connection = connect_options(&cli, &environment)?;
        let (source, contexts_matched) = match &cli.replay {
            Some(path) => (SourceChoice::Replay(path.clone()), None),
            None => {
                let (contexts, matched) = context_options(&connection, cli.all_contexts)?;
                connection.context = contexts.first().and_then(|first| first.context.clone());
                (SourceChoice::Contexts(contexts), matched)
            }
        };
        let output = match cli.output {
            Some(OutputFormat::Json) => OutputMode::Lines(LineFormat::Json),
            Some(OutputFormat::Yaml) => OutputMode::Lines(LineFormat::Yaml),
            Some(OutputFormat::Name) => OutputMode::Lines(LineFormat::Name),
            Some(OutputFormat::None) => OutputMode::Headless,
            None | Some(OutputFormat::Wide) if environment.stdout_is_terminal && !cli.plain => {
                OutputMode::Live { timeline: cli.timeline }
            }
            None | Some(OutputFormat::Wide) => OutputMode::Lines(LineFormat::Table),
        };
        let representation = match output {
            // A recording keeps the objects and kubectl's columns, whatever this run prints; an export, the
            // objects and what changed in them, which needs the version before kept.
            _ if cli.record.is_some() || cli.export.is_some() => Representation::Table,
            OutputMode::Lines(LineFormat::Json | LineFormat::Yaml) => Representation::Objects,
            OutputMode::Lines(LineFormat::Name) | OutputMode::Headless => Representation::Metadata,
            // kubectl's columns, and what changed, which needs the whole object.
            OutputMode::Lines(LineFormat::Table) | OutputMode::Live { .. } => Representation::Table,
        };
        let events = match (&output, cli.no_events, cli.with_events) {
            (_, true, _) => EventUse::Off,
            (OutputMode::Lines(LineFormat::Table) | OutputMode::Live { .. }, _, true) => {
                return Err(Error::Usage(
                    "--with-events is for -o json, yaml or name: the live view and the lines show the Events already"
                        .into(),
                ));
            }
            (OutputMode::Lines(LineFormat::Table) | OutputMode::Live { .. }, _, false) => EventUse::Join,
            (OutputMode::Headless, _, true) => {
                return Err(Error::Usage(
                    "--with-events is for -o json, yaml or name: -o none prints nothing".into(),
                ));
            }
            (_, _, true) => EventUse::Print,
            (_, _, false) => EventUse::Off,
        };
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => environment.stdout_is_terminal && !environment.no_color,
        };
        let timeout = match cli.timeout.as_deref() {
            None => None,
            Some(text) => match parse_duration(text) {
                Some(duration) if !duration.is_zero() => Some(duration),
                _ => {
                    return Err(Error::Usage(format!(
                        "--timeout {text:?} is not a duration above zero: use a value like 30s, 5m or 1h"
                    )));
                }
            },
        };
        let silence_limit = match cli.silence_limit.as_deref() {
            None => None,
            Some(text) => match parse_duration(text) {
                Some(duration) if !duration.is_zero() => Some(duration),
                _ => {
                    return Err(Error::Usage(format!(
                        "--silence-limit {text:?} is not a duration above zero: use a value like 30s or 2m"
                    )));
                }
            },
        };
        let mut event_types: Vec<ChangeType> = cli
            .types
            .iter()
            .map(|event| match event {
                EventType::Added => ChangeType::Added,
                EventType::Modified => ChangeType::Modified,
                EventType::Deleted => ChangeType::Deleted,
            })
            .collect();
        if event_types.is_empty() {
            event_types = vec![ChangeType::Added, ChangeType::Modified, ChangeType::Deleted];
        }
        if cli.label_columns.iter().any(|key| key.trim().is_empty()) {
            return Err(Error::Usage(
                "--label-columns needs label keys, e.g. -L app,tier".into(),
            ));
        }
        let table = TableOptions {
            contexts: source.several_contexts(),
            wide: cli.output == Some(OutputFormat::Wide),
            all_namespaces: scope == NamespaceScope::All,
            no_headers: cli.no_headers.unwrap_or(false),
            label_columns: cli.label_columns,
            show_labels: cli.show_labels.unwrap_or(false),
            color,
            events: events == EventUse::Join,
            who: !cli.no_who,
        };
        Ok(Settings {
            connection,
            source,
            targets,
            all_kinds: cli.all_kinds,
            record: cli.record.clone().map(|path| RecordTo {
                path,
                secret_values: cli.record_secret_values,
            }),
            scope,
            label_selector: cli.selector.filter(|selector| !selector.is_empty()),
            field_selector: cli.field_selector.filter(|selector| !selector.is_empty()),
            output,
            representation,
            table,
            event_types,
            count: cli.count,
            timeout,
            streaming_lists: cli.streaming_lists,
            silence_limit,
            lists_at_once: cli.lists_at_once as usize,
            filter: cli.filter.clone().unwrap_or_default(),
            events,
            who: !cli.no_who,
            heartbeats: cli.heartbeats,
            contexts_matched,
            export: cli
                .export
                .as_deref()
                .map(|url| ExportTo::parse(url, cli.export_queue))
                .transpose()?,
            state: cli.state.clone().map(|path| StateTo { path }),
        })
    }
}

/// `--context a,b`, `--context 'prod-*'`, `--all-contexts`: one set of connection options per context, each once,
/// and, where a pattern or `--all-contexts` chose them, the line that says which.
fn context_options(options: &ConnectOptions, all_contexts: bool) -> Result<(Vec<ConnectOptions>, Option<String>)> {
    let typed = match (&options.context, all_contexts) {
        (_, true) => "*".to_string(),
        (Some(typed), false) => typed.clone(),
        (None, false) => return Ok((vec![options.clone()], None)),
    };
    let by_pattern = all_contexts || typed.split(',').any(is_pattern);
    let known: Vec<String> = match by_pattern {
        true => connection::load_kubeconfig(options)?
            .map(|config| config.contexts.into_iter().map(|context| context.name).collect())
            .unwrap_or_default(),
        false => Vec::new(),
    };
    let names = match all_contexts {
        true if known.is_empty() => return Err(Error::Usage("--all-contexts: the kubeconfig has no context".into())),
        true => known,
        false => expand_contexts(&typed, &known)?,
    };
    let matched = by_pattern.then(|| {
        let chosen = match all_contexts {
            true => "every context of the kubeconfig".to_string(),
            false => format!("--context {typed:?}"),
        };
        format!("contexts ({} by {chosen}): {}", names.len(), names.join(", "))
    });
    let contexts = names
        .into_iter()
        .map(|name| ConnectOptions {
            context: Some(name),
            ..options.clone()
        })
        .collect();
    Ok((contexts, matched))
}

/// A shell-style pattern rather than a name: it holds `*`, `?` or `[`, which no one puts in a context's name.
pub fn is_pattern(item: &str) -> bool {
    item.contains(['*', '?', '['])
}

/// The contexts `typed` stands for among `known` (the kubeconfig's, in its order): each name as given, each
/// pattern's matches in the kubeconfig's order; each context once, in the order first met.
fn expand_contexts(typed: &str, known: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    };
    for item in typed.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(Error::Usage(format!("--context {typed:?} has an empty context name")));
        }
        if !is_pattern(item) {
            add(item);
            continue;
        }
        let pattern = glob::Pattern::new(item)
            .map_err(|error| Error::Usage(format!("--context {item:?} is not a valid pattern: {}", error.msg)))?;
        let matches: Vec<&String> = known.iter().filter(|name| pattern.matches(name)).collect();
        if matches.is_empty() {
            return Err(Error::Usage(format!(
                "--context {item:?} matches no context of the kubeconfig ({})",
                some_of(known)
            )));
        }
        matches.into_iter().for_each(|name| add(name));
    }
    Ok(names)
}

/// The kubeconfig's contexts, in a few words: the first ten names, and how many more.
fn some_of(known: &[String]) -> String {
    const SHOWN: usize = 10;
    match known.len() {
        0 => "it has none".to_string(),
        n if n <= SHOWN => format!("its contexts: {}", known.join(", ")),
        n => format!("its contexts: {}, and {} more", known[..SHOWN].join(", "), n - SHOWN),
    }
}

/// A replay shows what was recorded: what to watch, and where, was decided when it was.
fn check_replay(cli: &Cli) -> Result<()> {
    let watch_flags = [
        (!cli.targets.is_empty(), "a TYPE"),
        (cli.all_kinds, "--all-kinds"),
        (cli.context.is_some(), "--context"),
        (cli.all_contexts, "--all-contexts"),
        (cli.namespace.is_some(), "--namespace"),
        (cli.all_namespaces.is_some(), "--all-namespaces"),
        (cli.selector.is_some(), "--selector"),
        (cli.field_selector.is_some(), "--field-selector"),
    ];
    match watch_flags.iter().find(|(given, _)| *given) {
        Some((_, flag)) => Err(Error::Usage(format!(
            "--replay shows what the recording holds: {flag} was decided when it was recorded"
        ))),
        None => Ok(()),
    }
}

/// kubectl's forms: `TYPE[,TYPE...] [NAME...]`, or `TYPE/NAME ...` for objects of one or more types.
fn parse_targets(args: &[String]) -> Result<Vec<TypeTarget>> {
    let Some(first) = args.first() else {
        return Err(Error::Usage(
            "you must specify the type of resource to watch, e.g. 'kubectl watchnew pods', or every kind with \
             'kubectl watchnew --all-kinds' ('kubectl api-resources' lists the types)"
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

    const PIPED: Environment = Environment {
        stdout_is_terminal: false,
        no_color: false,
        proxy: ProxyEnvironment {
            https_proxy: None,
            http_proxy: None,
            no_proxy: None,
        },
        home: None,
        disable_http2: false,
    };
    const TERMINAL: Environment = Environment {
        stdout_is_terminal: true,
        ..PIPED
    };

    fn settings_in(environment: Environment, args: &[&str]) -> Result<Settings> {
        let cli = Cli::try_parse_from(std::iter::once("kubectl-watchnew").chain(args.iter().copied()))
            .map_err(|error| Error::Usage(error.to_string()))?;
        Settings::from_cli(cli, environment)
    }

    fn settings(args: &[&str]) -> Result<Settings> {
        settings_in(PIPED, args)
    }

    #[test]
    fn an_export_url_is_checked_and_given_the_logs_path_when_it_has_none() {
        let endpoint = |url: &str| ExportTo::parse(url, 10).map(|to| to.endpoint);
        assert_eq!(
            endpoint("http://collector:4318").expect("valid"),
            "http://collector:4318/v1/logs"
        );
        assert_eq!(
            endpoint("https://collector:4318/").expect("valid"),
            "https://collector:4318/v1/logs"
        );
        assert_eq!(
            endpoint("https://gateway.example/otlp/v1/logs").expect("valid"),
            "https://gateway.example/otlp/v1/logs"
        );
        for (url, why) in [
            ("collector:4318", "is not an http or https URL"),
            ("grpc://collector:4317", "is not an http or https URL"),
            ("http://", "is not a URL"),
            ("http://user:pass@collector:4318", "holds credentials"),
        ] {
            let error = endpoint(url).expect_err(url).to_string();
            assert!(error.contains(why), "{url}: {error}");
            assert!(!error.contains("pass@"), "{error}");
        }
        assert!(
            settings(&["pods", "--export-queue", "5"]).is_err(),
            "--export-queue needs --export"
        );
        let export = settings(&["pods", "--export", "http://collector:4318", "--export-queue", "5"]).expect("valid");
        assert_eq!(export.export.map(|to| to.queue), Some(5));
    }

    #[test]
    fn lists_at_once_has_a_laptop_friendly_default_and_at_least_one() {
        assert_eq!(settings(&["pods"]).expect("valid").lists_at_once, 16);
        assert_eq!(
            settings(&["pods", "--lists-at-once", "2"])
                .expect("valid")
                .lists_at_once,
            2
        );
        assert!(settings(&["pods", "--lists-at-once", "0"]).is_err());
    }

    #[test]
    fn an_export_asks_for_the_objects_and_what_changed_whatever_the_output() {
        let headless = settings_in(TERMINAL, &["pods", "-o", "none"]).expect("valid");
        assert_eq!(headless.output, OutputMode::Headless);
        assert_eq!(
            headless.representation,
            Representation::Metadata,
            "nothing printed, nothing more read"
        );
        assert_eq!(headless.events, EventUse::Off);
        for output in ["none", "name", "json"] {
            let exporting = settings(&["pods", "-o", output, "--export", "http://collector:4318"]).expect("valid");
            assert_eq!(exporting.representation, Representation::Table, "-o {output}");
        }
        assert!(settings(&["pods", "-o", "none", "--with-events"]).is_err());
        assert!(settings(&["pods", "--export", "http://c:4318", "--replay", "x.watch"]).is_err());
    }

    #[test]
    fn the_output_follows_the_terminal_and_the_flags() {
        let output = |environment, args: &[&str]| settings_in(environment, args).expect("valid").output;
        assert_eq!(output(TERMINAL, &["pods"]), OutputMode::Live { timeline: false });
        assert_eq!(
            output(TERMINAL, &["pods", "--timeline", "-o", "wide"]),
            OutputMode::Live { timeline: true }
        );
        assert_eq!(
            output(TERMINAL, &["pods", "--plain"]),
            OutputMode::Lines(LineFormat::Table)
        );
        assert_eq!(
            output(TERMINAL, &["pods", "-o", "json"]),
            OutputMode::Lines(LineFormat::Json)
        );
        assert_eq!(output(PIPED, &["pods"]), OutputMode::Lines(LineFormat::Table));
        assert_eq!(
            output(PIPED, &["pods", "-o", "yaml"]),
            OutputMode::Lines(LineFormat::Yaml)
        );
        assert_eq!(output(PIPED, &["pods", "-oname"]), OutputMode::Lines(LineFormat::Name));
        assert!(
            settings_in(TERMINAL, &["pods", "-o", "wide"])
                .expect("valid")
                .table
                .wide
        );
    }

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        let color = |environment, args: &[&str]| settings_in(environment, args).expect("valid").table.color;
        assert!(color(TERMINAL, &["pods"]));
        assert!(!color(PIPED, &["pods"]));
        assert!(!color(
            Environment {
                no_color: true,
                ..TERMINAL
            },
            &["pods"]
        ));
        assert!(color(PIPED, &["pods", "--color", "always"]));
        assert!(!color(TERMINAL, &["pods", "--color=never"]));
    }

    #[test]
    fn events_are_joined_for_people_and_printed_only_when_asked() {
        let events = |args: &[&str]| settings(args).map(|settings| settings.events);
        assert_eq!(events(&["pods", "--plain"]).expect("valid"), EventUse::Join);
        assert_eq!(
            events(&["pods", "--plain", "--no-events"]).expect("valid"),
            EventUse::Off
        );
        assert_eq!(events(&["pods", "-o", "json"]).expect("valid"), EventUse::Off);
        assert_eq!(
            events(&["pods", "-o", "json", "--with-events"]).expect("valid"),
            EventUse::Print
        );
        assert!(matches!(
            events(&["pods", "--plain", "--with-events"]),
            Err(Error::Usage(_))
        ));
        assert!(settings(&["pods", "--no-events", "--with-events", "-o", "json"]).is_err());
    }

    #[test]
    fn the_silence_limit_is_a_duration_above_zero() {
        assert_eq!(settings(&["pods"]).expect("valid").silence_limit, None);
        assert_eq!(
            settings(&["pods", "--silence-limit", "20s"])
                .expect("valid")
                .silence_limit,
            Some(Duration::from_secs(20))
        );
        for args in [&["pods", "--silence-limit", "0s"], &["pods", "--silence-limit", "soon"]] {
            assert!(matches!(settings(args), Err(Error::Usage(_))), "{args:?}");
        }
    }

    #[test]
    fn event_types_count_and_timeout() {
        let settings =
            settings(&["pods", "--types", "added,deleted", "--count", "3", "--timeout", "5m"]).expect("valid");
        assert_eq!(settings.event_types, [ChangeType::Added, ChangeType::Deleted]);
        assert_eq!(settings.count, Some(3));
        assert_eq!(settings.timeout, Some(Duration::from_secs(300)));
        assert_eq!(self::settings(&["pods"]).expect("valid").event_types.len(), 3);
        for bad in [
            &["pods", "--types", "created"][..],
            &["pods", "--count", "0"],
            &["pods", "--count", "x"],
            &["pods", "--timeout", "0s"],
            &["pods", "--timeout", "soon"],
            &["pods", "-o", "table"],
        ] {
            assert!(settings_usage(bad).is_some(), "{bad:?} should be refused");
        }
        let labels =
            self::settings(&["pods", "-L", "app,tier", "-L", "zone", "--show-labels", "--no-headers"]).expect("valid");
        assert_eq!(labels.table.label_columns, ["app", "tier", "zone"]);
        assert!(labels.table.show_labels && labels.table.no_headers);
    }

    fn settings_usage(args: &[&str]) -> Option<String> {
        match settings(args) {
            Err(Error::Usage(message)) => Some(message),
            _ => None,
        }
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

    fn names(typed: &str, known: &[&str]) -> Result<Vec<String>> {
        let known: Vec<String> = known.iter().map(|name| name.to_string()).collect();
        expand_contexts(typed, &known)
    }

    const FLEET: [&str; 5] = ["prod-eu", "staging", "prod-us", "dev", "prod-eu-2"];

    #[test]
    fn a_pattern_stands_for_its_matches_in_the_kubeconfigs_order_beside_names() {
        assert_eq!(
            names("staging,prod-*", &FLEET).expect("matches"),
            ["staging", "prod-eu", "prod-us", "prod-eu-2"]
        );
        // Each context once, where first met.
        assert_eq!(
            names("prod-us,prod-*", &FLEET).expect("matches"),
            ["prod-us", "prod-eu", "prod-eu-2"]
        );
        assert_eq!(
            names("prod-??,dev", &FLEET).expect("matches"),
            ["prod-eu", "prod-us", "dev"]
        );
        assert_eq!(names("prod-[u]*", &FLEET).expect("matches"), ["prod-us"]);
        // Names are taken as given, as before: one the kubeconfig lacks fails when it is connected to.
        assert_eq!(names("dev,elsewhere", &FLEET).expect("names"), ["dev", "elsewhere"]);
    }

    #[test]
    fn a_pattern_that_matches_nothing_or_cannot_be_read_is_a_usage_error() {
        let error = names("dev,qa-*", &FLEET).expect_err("no match");
        assert!(matches!(error, Error::Usage(_)));
        assert_eq!(
            error.one_line(),
            "--context \"qa-*\" matches no context of the kubeconfig (its contexts: prod-eu, staging, prod-us, dev, \
             prod-eu-2)"
        );
        let error = names("prod-[", &FLEET).expect_err("not a pattern");
        assert!(matches!(error, Error::Usage(_)), "{error:?}");
        assert!(
            error.one_line().contains("is not a valid pattern"),
            "{}",
            error.one_line()
        );
        assert!(matches!(names("dev,,prod-*", &FLEET), Err(Error::Usage(_))));
        let many: Vec<String> = (0..25).map(|n| format!("c{n}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let error = names("x*", &many).expect_err("no match");
        assert!(
            error.one_line().ends_with("c8, c9, and 15 more)"),
            "{}",
            error.one_line()
        );
        assert!(names("x*", &[]).expect_err("none").one_line().contains("(it has none)"));
    }

    /// A kubeconfig with the fleet's contexts, all on one cluster.
    fn fleet_kubeconfig() -> tempfile::NamedTempFile {
        let mut yaml = String::from(
            "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: c\n  cluster:\n    server: https://h:6443\nusers:\n- name: u\n  user: {}\ncontexts:\n",
        );
        for name in FLEET {
            yaml.push_str(&format!("- name: {name}\n  context:\n    cluster: c\n    user: u\n"));
        }
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), yaml).expect("written");
        file
    }

    fn contexts_of(settings: &Settings) -> Vec<String> {
        match &settings.source {
            SourceChoice::Contexts(contexts) => contexts.iter().filter_map(|c| c.context.clone()).collect(),
            SourceChoice::Replay(_) => Vec::new(),
        }
    }

    #[test]
    fn patterns_and_all_contexts_are_read_from_the_kubeconfig_and_said() {
        let file = fleet_kubeconfig();
        let path = file.path().to_str().expect("utf-8");
        let chosen = settings(&["pods", "--kubeconfig", path, "--context", "prod-*"]).expect("valid");
        assert_eq!(contexts_of(&chosen), ["prod-eu", "prod-us", "prod-eu-2"]);
        assert!(chosen.source.several_contexts());
        assert_eq!(chosen.connection.context.as_deref(), Some("prod-eu"));
        assert_eq!(
            chosen.contexts_matched.as_deref(),
            Some("contexts (3 by --context \"prod-*\"): prod-eu, prod-us, prod-eu-2")
        );
        let every = settings(&["pods", "--kubeconfig", path, "--all-contexts"]).expect("valid");
        assert_eq!(contexts_of(&every), FLEET);
        assert_eq!(
            every.contexts_matched.as_deref(),
            Some("contexts (5 by every context of the kubeconfig): prod-eu, staging, prod-us, dev, prod-eu-2")
        );
        // Names alone are said by nothing more than the CONTEXT column, as before.
        let named = settings(&["pods", "--kubeconfig", path, "--context", "dev,staging"]).expect("valid");
        assert_eq!(contexts_of(&named), ["dev", "staging"]);
        assert_eq!(named.contexts_matched, None);
        let missing = settings(&["pods", "--kubeconfig", path, "--context", "qa-*"]).expect_err("no match");
        assert_eq!(missing.exit_code(), crate::exit_code::ExitCode::Usage);
        assert!(matches!(
            settings(&["pods", "--all-contexts", "--context", "dev"]),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            settings(&["--replay", "x.watch", "--all-contexts"]),
            Err(Error::Usage(_))
        ));
    }
}
