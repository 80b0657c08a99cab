//! The command line, as kubectl hands it to a plugin: only the words after `kubectl watchnew`. The flags keep
//! kubectl's names and meanings; this module only describes them, `settings` makes sense of them, and
//! `completion` attaches the completers to them.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Parser, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  # Every pod created, changed or deleted from now on, in every namespace
  kubectl watchnew pods -A

  # Pods, deployments and services of the current namespace
  kubectl watchnew pods,deploy,svc

  # One deployment, by name
  kubectl watchnew deploy/web

  # Pods with a label, as JSON watch events for scripts
  kubectl watchnew pods -l app=web -o json | jq .

  # Wait for the next deletion of a pod in namespace shop, then exit
  kubectl watchnew pods -n shop --types deleted --count 1

  # Everything that changes in a custom resource and its pods, as one timeline
  kubectl watchnew certificates.cert-manager.io,pods -A --timeline

  # What a Helm upgrade touches, whatever the kind
  kubectl watchnew --all-kinds -n shop

  # The same pods in two clusters, side by side
  kubectl watchnew pods -A --context staging,production

  # Did the rollout change anything in every production cluster?
  kubectl watchnew deployments,pods -A --context 'prod-*'

  # Keep the session, and look at it again later without the cluster
  kubectl watchnew pods -A --record pods.watch
  kubectl watchnew --replay pods.watch";

/// `v0.1.0 (commit 1a2b3c4d5e6f)`
pub const VERSION: &str = concat!(
    "v",
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WATCHNEW_GIT_COMMIT"),
    ")"
);

/// kubectl's order: what it does, examples, options, then how to call it.
const HELP_TEMPLATE: &str = "{about}{after-help}\n\n{all-args}\n\nUsage:\n  {usage}\n";

/// Watch Kubernetes resources and show only what changes from now on.
///
/// The objects that exist when it starts are never shown; every object created, modified or deleted
/// afterwards is, exactly once, across reconnects and expired watches. On a terminal it is a live table
/// with the columns of `kubectl get`; piped, one line per change.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-watchnew",
    bin_name = "kubectl watchnew",
    version = VERSION,
    after_help = EXAMPLES,
    help_template = HELP_TEMPLATE,
    override_usage = "kubectl watchnew TYPE[,TYPE...] [NAME...] [options]\n  kubectl watchnew TYPE/NAME [TYPE/NAME...] [options]\n  kubectl watchnew --all-kinds [TYPE,...] [options]\n  kubectl watchnew --replay FILE [options]\n  kubectl watchnew completion bash|zsh|fish|powershell"
)]
pub struct Cli {
    /// What to watch: TYPE[,TYPE...] [NAME...], or TYPE/NAME ... (pods, deploy, svc, a CRD's names,
    /// deployments.apps, deployments.v1.apps)
    #[arg(value_name = "TYPE[,TYPE...] [NAME...]")]
    pub targets: Vec<String>,

    /// Watch every kind the server serves (custom resources included; cluster-scoped ones with -A), except
    /// the noisy ones (events, leases, endpoints, endpointslices) unless they are named as well
    #[arg(long, help_heading = "Selection")]
    pub all_kinds: bool,

    /// Only objects whose labels match this selector (e.g. app=web,tier!=cache)
    #[arg(short = 'l', long, value_name = "SELECTOR", help_heading = "Selection")]
    pub selector: Option<String>,

    /// Only objects whose fields match this selector (e.g. status.phase=Running)
    #[arg(long, value_name = "SELECTOR", help_heading = "Selection")]
    pub field_selector: Option<String>,

    /// The namespace to watch (default: the context's namespace, else "default")
    #[arg(short = 'n', long, value_name = "NAMESPACE", help_heading = "Selection")]
    pub namespace: Option<String>,

    /// Watch every namespace
    #[arg(short = 'A', long, help_heading = "Selection", num_args = 0..=1, default_missing_value = "true",
        value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub all_namespaces: Option<bool>,

    /// Output format: wide (more columns), name, json or yaml (one WatchEvent per change), or none (nothing on
    /// stdout, notices on stderr: for a run that only records or exports)
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT", help_heading = "Output")]
    pub output: Option<OutputFormat>,

    /// Only these events: added, modified, deleted, separated by commas
    #[arg(
        long,
        value_name = "TYPES",
        value_delimiter = ',',
        value_enum,
        help_heading = "Output"
    )]
    pub types: Vec<EventType>,

    /// Exit after this many reported changes
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Output")]
    pub count: Option<u64>,

    /// Exit when this much time has passed, e.g. 30s or 5m
    #[arg(long, value_name = "DURATION", help_heading = "Output")]
    pub timeout: Option<String>,

    /// Print no header line
    #[arg(long, help_heading = "Output", num_args = 0..=1, default_missing_value = "true",
        value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub no_headers: Option<bool>,

    /// A column with the value of each of these labels (separated by commas; repeatable)
    #[arg(
        short = 'L',
        long,
        value_name = "KEY,...",
        value_delimiter = ',',
        help_heading = "Output"
    )]
    pub label_columns: Vec<String>,

    /// A column with all labels
    #[arg(long, help_heading = "Output", num_args = 0..=1, default_missing_value = "true",
        value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub show_labels: Option<bool>,

    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Output"
    )]
    pub color: ColorChoice,

    /// Append plain lines even on a terminal, instead of the live table
    #[arg(long, help_heading = "Output")]
    pub plain: bool,

    /// Start the live view in the timeline (one row per change) instead of the table (one row per object)
    #[arg(long, help_heading = "Output")]
    pub timeline: bool,

    /// Start the live view with this filter, as typed after `/`: only rows whose type, context, namespace, name,
    /// owner, WHAT CHANGED or latest Event contain the text (ignoring case)
    #[arg(long, value_name = "TEXT", help_heading = "Output")]
    pub filter: Option<String>,

    /// Do not watch the Events about the watched objects (no LAST EVENT in the live view, no REASON in the lines)
    #[arg(long, help_heading = "Output", conflicts_with = "with_events")]
    pub no_events: bool,

    /// Do not say who changed each object (no WHO column, no changedBy in -o json|yaml, no fights between writers)
    #[arg(long, help_heading = "Output")]
    pub no_who: bool,

    /// Report heartbeats as changes: a modification whose only differences are a node's conditions'
    /// lastHeartbeatTime or a Lease renewed by the holder it had (by default they are counted, not reported)
    #[arg(long, help_heading = "Output")]
    pub heartbeats: bool,

    /// With -o json|yaml|name: also print the Events about objects of the watched types, as changes of their own
    #[arg(long, help_heading = "Output")]
    pub with_events: bool,

    /// Write every change reported, with the notices, to FILE as it goes (JSON lines), to replay later
    #[arg(long, value_name = "FILE", help_heading = "Recording", conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// With --record: keep the values of Secrets in the recording (left out by default)
    #[arg(long, help_heading = "Recording", requires = "record")]
    pub record_secret_values: bool,

    /// Send every change reported to an OpenTelemetry Collector as an OTLP log record (HTTP, protobuf), e.g.
    /// http://collector:4318 (/v1/logs is added to a URL without a path); headers from
    /// OTEL_EXPORTER_OTLP_HEADERS
    #[arg(long, value_name = "URL", help_heading = "Export", conflicts_with = "replay")]
    pub export: Option<String>,

    /// With --export: how many changes wait for the collector at most; beyond, changes are dropped, counted and
    /// said
    #[arg(long, value_name = "N", default_value = "10000", requires = "export", help_heading = "Export",
        value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub export_queue: u64,

    /// Keep where each stream stands in FILE (written every 30 s and at the end), and resume from it: a
    /// restarted run sends no snapshot, and what changed while none ran is reported as a relist finds it
    #[arg(long, value_name = "FILE", help_heading = "Export", conflicts_with = "replay")]
    pub state: Option<PathBuf>,

    /// Show a recording made with --record instead of watching a cluster: the live view (space plays and
    /// pauses, . and , step, g jumps to a time) or, piped or with -o, the recorded changes as lines
    #[arg(long, value_name = "FILE", help_heading = "Recording")]
    pub replay: Option<PathBuf>,

    /// Stream the initial state in one watch (WatchList, Kubernetes 1.27+) instead of LIST pages: lighter on
    /// the API server's memory, slower to be ready (see BENCHMARKS.md)
    #[arg(long, help_heading = "Connection")]
    pub streaming_lists: bool,

    /// Take a watch that has sent nothing, not even a bookmark, for this long as dead and reconnect, e.g. 30s
    /// [default: 90s once the server is seen sending its periodic bookmarks, else the watch's own timeout]
    #[arg(
        long,
        value_name = "DURATION",
        env = "KUBECTL_WATCHNEW_SILENCE_LIMIT",
        help_heading = "Connection"
    )]
    pub silence_limit: Option<String>,

    /// How many paginated lists (first snapshots, relists) may be read at once, over every context: a fleet
    /// starts a few at a time instead of all together
    #[arg(long, value_name = "N", default_value = "16", help_heading = "Connection",
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub lists_at_once: u32,

    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use; several, separated by commas, are watched side by side, and a shell-style
    /// pattern ('prod-*', 'eu-?-[ab]') stands for every context it matches
    #[arg(long, value_name = "NAME|PATTERN[,...]", help_heading = "Connection")]
    pub context: Option<String>,

    /// Watch every context of the kubeconfig side by side
    #[arg(long, conflicts_with = "context", help_heading = "Connection")]
    pub all_contexts: bool,

    /// The kubeconfig cluster to use
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub user: Option<String>,

    /// The address of the API server
    #[arg(short = 's', long, value_name = "URL", help_heading = "Connection")]
    pub server: Option<String>,

    /// Bearer token for authentication to the API server
    #[arg(long, value_name = "TOKEN", help_heading = "Connection", hide_env_values = true)]
    pub token: Option<String>,

    /// Username for basic authentication to the API server
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub username: Option<String>,

    /// Password for basic authentication to the API server
    #[arg(long, value_name = "PASSWORD", help_heading = "Connection", hide_env_values = true)]
    pub password: Option<String>,

    /// Path to a client certificate file for TLS
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub client_certificate: Option<PathBuf>,

    /// Path to a client key file for TLS
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub client_key: Option<PathBuf>,

    /// Path to a certificate file for the certificate authority
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub certificate_authority: Option<PathBuf>,

    /// The server name to verify the server's certificate against, and to send in the TLS handshake (SNI),
    /// when it differs from the server's address
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub tls_server_name: Option<String>,

    /// Do not ask for compressed (gzip) responses (the kubeconfig's disable-compression does the same)
    #[arg(long, help_heading = "Connection", num_args = 0..=1, default_missing_value = "true",
        value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub disable_compression: Option<bool>,

    /// Where discovery is cached (default: $KUBECACHEDIR, else ~/.kube/cache)
    #[arg(long, value_name = "PATH", env = "KUBECACHEDIR", help_heading = "Connection")]
    pub cache_dir: Option<String>,

    /// Do not verify the server's certificate (insecure)
    #[arg(long, help_heading = "Connection", num_args = 0..=1, default_missing_value = "true",
        value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub insecure_skip_tls_verify: Option<bool>,

    /// Act as this user (impersonation)
    #[arg(long = "as", value_name = "USER", help_heading = "Connection")]
    pub as_user: Option<String>,

    /// Act as a member of this group (impersonation; repeatable)
    #[arg(long = "as-group", value_name = "GROUP", help_heading = "Connection")]
    pub as_group: Vec<String>,

    /// Act as the user with this UID (impersonation)
    #[arg(long = "as-uid", value_name = "UID", help_heading = "Connection")]
    pub as_uid: Option<String>,

    /// How long a single request may take, e.g. 30s or 1m ("0": no limit). It never ends a watch.
    #[arg(long, value_name = "DURATION", default_value = "0", help_heading = "Connection")]
    pub request_timeout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Wide,
    Name,
    Json,
    Yaml,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
