//! kubectl-watchnew side by side with `kubectl get --watch-only --output-watch-events` and a raw paginated LIST,
//! against a real control plane, on the same data in the same run. `scripts/bench` starts the control plane and
//! runs this; the figures go to BENCHMARKS.md and BENCHMARKS.json.

mod audit;
mod churn;
mod export;
mod fleet;
mod largest;
mod link;
mod observe;
mod report;
mod seed;
mod truth;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Deserialize;
use tokio::time::Instant;

use audit::AuditLog;
use largest::{Largest, MemoryPoint};
use link::{Link, Shape};
use observe::{Observed, ReadySignal, StdoutUse};
use report::{
    Endurance, EventsCost, FormCost, Latency, LinkRow, LiveViewCost, Observer, RecordingCost, Report, SourcesCost,
    Start, StartRow, WhoCost,
};
use truth::TruthCheck;

/// The user of the kubeconfig's current context, whose requests the audit log is searched for.
const ADMIN: &str = "watchnew-admin";
const READY_LIMIT: Duration = Duration::from_secs(600);
/// What kubectl-watchnew says when a slow first page makes it list the rest as metadata, and when the whole
/// objects it reads after the sync are all in.
const SLOW_LINK_SAID: &str = ": slow link (the first ";
const WHOLE_OBJECTS_READ: &str = ": the whole objects that existed are read: ";
/// How long a quiet watch is measured: /proc counts CPU time in ticks of 10 ms, so less than 0.05% of a core
/// over this window is no tick at all.
pub const QUIET_WINDOW: Duration = Duration::from_secs(20);

#[derive(Parser)]
struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    /// kube-apiserver's audit log (the control plane must run with scripts/controlplane/audit-policy.yaml).
    #[arg(long)]
    audit_log: PathBuf,
    /// The folder that holds the kubectl-watchnew binary to measure; put first on PATH.
    #[arg(long)]
    plugin_dir: PathBuf,
    /// Object counts, cumulative: each adds to the one before.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
    sizes: Vec<usize>,
    /// Start measurements per tool, scenario and size; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Churn rates for the latency runs, in changes a second.
    #[arg(long, value_delimiter = ',', default_value = "200,1000")]
    rates: Vec<u32>,
    /// How long each latency run churns.
    #[arg(long, default_value_t = 15)]
    churn_seconds: u32,
    /// Changes of the long run, at the highest rate.
    #[arg(long, default_value_t = 100_000)]
    endurance_changes: u64,
    /// Changes of the run that measures what the Events cost (two Events per pod besides its four changes).
    #[arg(long, default_value_t = 20_000)]
    events_changes: u64,
    /// The rate of that run, in changes a second.
    #[arg(long, default_value_t = 500)]
    events_rate: u32,
    /// Only the Events' cost (on the pods of the largest size, seeded if need be), written into the report
    /// already there in place of its own section: the other figures stay those of their full run.
    #[arg(long)]
    only_events: bool,
    /// Changes of the run that measures what saying who changed each object (WHO) costs.
    #[arg(long, default_value_t = 20_000)]
    who_changes: u64,
    /// Only WHO's cost (on the pods of the largest size, seeded if need be), written into the report already
    /// there in place of its own section.
    #[arg(long)]
    only_who: bool,
    /// Changes of the run that measures what `--export` costs.
    #[arg(long, default_value_t = 20_000)]
    export_changes: u64,
    /// Only the export's cost (on the pods of the largest size, seeded if need be), written into the report
    /// already there in place of its own section.
    #[arg(long)]
    only_export: bool,
    /// Only the fleet of contexts (ten and fifty, each over its own 20 ms link; on the pods of the largest size,
    /// seeded if need be), written into the report already there in place of its own section.
    #[arg(long)]
    only_fleet: bool,
    /// Only the starts on every kind and on two contexts against the pods', and the recording's cost (on the
    /// pods of the largest size and a few CRDs, seeded if need be), written into the report already there in
    /// place of its own section.
    #[arg(long)]
    only_sources: bool,
    /// A folder with an earlier build's kubectl-watchnew, whose live view is measured beside this one's under one
    /// churn (scripts/bench --baseline REV builds it).
    #[arg(long)]
    baseline_plugin_dir: Option<PathBuf>,
    /// Only the live view against the earlier build's (needs --baseline-plugin-dir), written into the report
    /// already there in place of its own section.
    #[arg(long)]
    only_live_view: bool,
    /// Changes of the run that measures the live view against the earlier build's.
    #[arg(long, default_value_t = 20_000)]
    live_view_changes: u64,
    /// Changes of the recording's run.
    #[arg(long, default_value_t = 10_000)]
    recording_changes: u64,
    /// The largest size, of pods alone, measured after every other section: both tools' starts, the forms'
    /// cost and the machine's memory at half of it and at it (what the Kubernetes scalability limit would
    /// need); 0 for none.
    #[arg(long, default_value_t = 100_000)]
    largest: usize,
    /// Only the largest size's section (seeded from none), written into the report already there in place of
    /// its own section.
    #[arg(long)]
    only_largest: bool,
    /// The size (one of --sizes) at which the pods are also read over network links; 0 for none.
    #[arg(long, default_value_t = 10_000)]
    link_objects: usize,
    #[arg(long, default_value = "BENCHMARKS.md")]
    markdown: PathBuf,
    #[arg(long, default_value = "BENCHMARKS.json")]
    json: PathBuf,
    /// The command that produced the figures, as the report should show it.
    #[arg(long, default_value = "scripts/bench")]
    command: String,
    /// What `cargo bench` passes to every benchmark; nothing to do here.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn with_accept(
    mut request: http::Request<Vec<u8>>,
    accept: Option<&str>,
    table_objects: bool,
) -> Result<http::Request<Vec<u8>>> {
    if let Some(accept) = accept {
        request.headers_mut().insert(http::header::ACCEPT, accept.parse()?);
        if table_objects {
            *request.uri_mut() = format!("{}&includeObject=Object", request.uri()).parse()?;
        }
    }
    Ok(request)
}

/// Reads every LIST page of 500 to the end; gives the bytes read.
async fn read_list_pages(
    client: &kube::Client,
    path: &str,
    accept: Option<&str>,
    table_objects: bool,
) -> Result<usize> {
    #[derive(Deserialize)]
    struct Head {
        metadata: HeadMetadata,
    }
    #[derive(Deserialize)]
    struct HeadMetadata {
        #[serde(rename = "continue", default)]
        continue_token: Option<String>,
    }
    let mut continue_token = None;
    let mut bytes = 0;
    loop {
        let params = ListParams {
            limit: Some(500),
            continue_token: continue_token.take(),
            ..ListParams::default()
        };
        let request = with_accept(kube::core::Request::new(path).list(&params)?, accept, table_objects)?;
        let body = client.request_text(request).await?;
        bytes += body.len();
        // Only the metadata is decoded, and it comes first: the continue token.
        let head: Head = serde_json::Deserializer::from_str(&body)
            .into_iter::<Head>()
            .next()
            .context("an empty page")??;
        match head.metadata.continue_token.filter(|token| !token.is_empty()) {
            Some(token) => continue_token = Some(token),
            None => return Ok(bytes),
        }
    }
}

/// Reads a streamed initial list up to the bookmark that ends it; gives the bytes read.
async fn read_streamed_list(client: &kube::Client, path: &str, accept: Option<&str>) -> Result<usize> {
    use futures::AsyncBufReadExt;
    let params = kube::api::WatchParams {
        bookmarks: true,
        send_initial_events: true,
        ..kube::api::WatchParams::default()
    };
    let request = with_accept(kube::core::Request::new(path).watch(&params, "")?, accept, true)?;
    let mut reader = Box::pin(client.request_stream(request).await?);
    let mut line = Vec::new();
    let mut bytes = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            bail!("the streamed list of {path} ended before its last bookmark");
        }
        bytes += line.len();
        if line.starts_with(br#"{"type":"BOOKMARK""#) && contains(&line, b"k8s.io/initial-events-end") {
            return Ok(bytes);
        }
    }
}

/// A control-plane component's pid: scripts/cluster keeps each beside the kubeconfig, as `run/NAME.pid`.
fn component_pid(kubeconfig: &std::path::Path, component: &str) -> Option<u32> {
    let path = kubeconfig.parent()?.join(format!("run/{component}.pid"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The commit the benchmark was built from, with `+changes` where the tree differs from it.
fn source_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{commit}+changes"),
            _ => commit,
        },
        None => "unknown".into(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn say(text: impl AsRef<str>) {
    eprintln!("bench: {}", text.as_ref());
}

/// What one tool is asked to watch, and where the raw LIST of the same objects goes.
struct Scenario {
    label: &'static str,
    target: Vec<String>,
    list_path: String,
    /// The resource of its watch, whose answer in the audit log is the moment of ready.
    resource: &'static str,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            label: "pods, 20 namespaces (-A)",
            target: vec!["pods".into(), "-A".into()],
            list_path: "/api/v1/pods".into(),
            resource: "pods",
        },
        Scenario {
            label: "ConfigMaps, one namespace",
            target: vec!["configmaps".into(), "-n".into(), seed::CONFIG_MAP_NAMESPACE.into()],
            list_path: format!("/api/v1/namespaces/{}/configmaps", seed::CONFIG_MAP_NAMESPACE),
            resource: "configmaps",
        },
    ]
}

/// The links the pods are read over: loopback through the forwarder (for the bytes), then a fast, a slow and a
/// very slow link (a phone's hotspot, a congested VPN) with the round trip of a VPN or a cloud region away.
fn links() -> [(&'static str, Option<Shape>); 4] {
    let round_trip = Duration::from_millis(20);
    [
        ("loopback (through the forwarder, no limit)", None),
        (
            "100 Mbit/s, 20 ms round trip",
            Some(Shape {
                megabits_per_second: 100.0,
                round_trip,
            }),
        ),
        (
            "20 Mbit/s, 20 ms round trip",
            Some(Shape {
                megabits_per_second: 20.0,
                round_trip,
            }),
        ),
        (
            "5 Mbit/s, 20 ms round trip",
            Some(Shape {
                megabits_per_second: 5.0,
                round_trip,
            }),
        ),
    ]
}

/// The outputs compared over a link: what a person sees by default, and what a script reads.
const LINK_OUTPUTS: [(&str, &[&str]); 2] = [("default human output", &[]), ("-o json", &["-o", "json"])];

/// The moment a start counts as ready.
#[derive(Debug, Clone, Copy)]
enum Ready {
    /// The server answered the tool's watch of this resource (its audit log's ResponseStarted): the same
    /// moment for both tools, from the same source.
    Answered(&'static str),
    /// The tool's own word (kubectl-watchnew's `Synced` line): where kubectl-watchnew is compared with itself
    /// (every kind, two contexts), or the start is not measured.
    Signal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Watchnew,
    Kubectl,
}

impl Tool {
    /// Who goes first in a repeat: each in turn, so that neither always meets the API server's warmer caches.
    fn turn(repeat: usize) -> [Tool; 2] {
        if repeat.is_multiple_of(2) {
            [Tool::Watchnew, Tool::Kubectl]
        } else {
            [Tool::Kubectl, Tool::Watchnew]
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tool::Watchnew => "kubectl watchnew",
            Tool::Kubectl => "kubectl get -w",
        }
    }

    fn args(self, target: &[String], extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = match self {
            Tool::Watchnew => vec!["watchnew".into()],
            Tool::Kubectl => vec!["get".into()],
        };
        args.extend(target.iter().cloned());
        if self == Tool::Kubectl {
            // -v=6 logs the watch request when it opens: kubectl's only sign that it is ready.
            args.extend(["--watch-only", "--output-watch-events", "-w", "-v=6"].map(String::from));
        }
        args.extend(extra.iter().map(|arg| arg.to_string()));
        args
    }

    fn signal(self) -> ReadySignal {
        match self {
            Tool::Watchnew => ReadySignal::WatchnewSynced,
            Tool::Kubectl => ReadySignal::KubectlWatchOpened,
        }
    }
}

struct Bench {
    client: kube::Client,
    kubeconfig: PathBuf,
    /// kube-apiserver's process, from the control plane's own record (`scripts/cluster`), to read its cost.
    apiserver: Option<u32>,
    audit: AuditLog,
    environment: Vec<(String, String)>,
    clock_ticks: f64,
    _kubectl_cache: tempfile::TempDir,
}

async fn run(args: Args) -> Result<()> {
    let bench = Bench::new(&args).await?;
    let mut report = Report::new(args.command.clone(), bench.machine(&args).await?);
    seed::prepare_namespaces(&bench.client).await?;
    bench.warm_up().await?;

    if measure_alone(&bench, &args, &report).await? {
        return Ok(());
    }
    let mut seeded = 0;
    for &size in &args.sizes {
        if size > seeded {
            let started = Instant::now();
            say(format!("seeding up to {size} pods and {size} ConfigMaps"));
            seed::pods(&bench.client, seeded, size).await?;
            seed::config_maps(&bench.client, seeded, size).await?;
            say(format!("seeded in {:.0} s", started.elapsed().as_secs_f64()));
            seeded = size;
        }
        for scenario in scenarios() {
            report
                .starts
                .push(bench.start_row(&scenario, size, args.repeats).await?);
        }
        report
            .forms
            .extend(bench.form_costs(&scenarios()[0].list_path, size, args.repeats).await?);
        report.write(&args.markdown, &args.json)?;
        if size == args.link_objects {
            for (name, shape) in links() {
                report.links.extend(
                    bench
                        .link_rows(&scenarios()[0], name, shape, size, args.repeats)
                        .await?,
                );
                report.write(&args.markdown, &args.json)?;
            }
        }
    }
    report.churn_objects = seeded;
    let pods = &scenarios()[0];
    for &rate in &args.rates {
        report.latencies.push(
            bench
                .raw_watch_latency(&pods.list_path, rate, args.churn_seconds)
                .await?,
        );
        for tool in [Tool::Watchnew, Tool::Kubectl] {
            report
                .latencies
                .push(bench.latency(tool, &pods.target, rate, args.churn_seconds).await?);
        }
        report.write(&args.markdown, &args.json)?;
    }
    let rate = args.rates.iter().copied().max().unwrap_or(1000);
    report.endurance = Some(bench.endurance(&pods.target, rate, args.endurance_changes).await?);
    report.write(&args.markdown, &args.json)?;
    report.events = Some(
        bench
            .events_cost(&pods.target, args.events_rate, args.events_changes, seeded)
            .await?,
    );
    report.write(&args.markdown, &args.json)?;
    report.who = Some(
        bench
            .who_cost(&pods.target, args.events_rate, args.who_changes, seeded)
            .await?,
    );
    report.write(&args.markdown, &args.json)?;
    report.export = Some(
        bench
            .export_cost(&pods.target, args.events_rate, args.export_changes, seeded)
            .await?,
    );
    report.write(&args.markdown, &args.json)?;
    report.sources = Some(bench.sources_cost(&args, seeded).await?);
    report.write(&args.markdown, &args.json)?;
    report.fleet = Some(bench.fleet(args.repeats).await?);
    report.write(&args.markdown, &args.json)?;
    if args.largest > seeded {
        report.largest = Some(bench.largest(args.largest, seeded, seeded, args.repeats).await?);
        report.write(&args.markdown, &args.json)?;
    }
    if let Some(baseline) = &args.baseline_plugin_dir {
        report.live_view = Some(
            bench
                .live_view_cost(&pods.target, args.events_rate, args.live_view_changes, seeded, baseline)
                .await?,
        );
        report.write(&args.markdown, &args.json)?;
    }
    say(format!("wrote {} and {}", args.markdown.display(), args.json.display()));
    Ok(())
}

/// A section measured on its own (`--only-events`, `--only-who`, `--only-export`, `--only-live-view`,
/// `--only-sources`): on the
/// pods of the largest size, seeded if need be, written into the report already there in place of its own
/// section, the other figures staying those of their full run. Whether one was asked for.
async fn measure_alone(bench: &Bench, args: &Args, report: &Report) -> Result<bool> {
    let asked = [
        ("--only-events", args.only_events),
        ("--only-who", args.only_who),
        ("--only-export", args.only_export),
        ("--only-fleet", args.only_fleet),
        ("--only-live-view", args.only_live_view),
        ("--only-sources", args.only_sources),
        ("--only-largest", args.only_largest),
    ];
    let Some((option, _)) = asked.into_iter().find(|(_, asked)| *asked) else {
        return Ok(false);
    };
    let (markdown, json) = (&args.markdown, &args.json);
    let stamp = Some(report.stamp(option));
    if option == "--only-largest" {
        let mut largest = bench.largest(args.largest, 0, 0, args.repeats).await?;
        largest.run = stamp;
        report::splice_largest(&largest, markdown, json)?;
        say(format!(
            "wrote the largest size's section into {} and {}",
            markdown.display(),
            json.display()
        ));
        return Ok(true);
    }
    let size = args.sizes.iter().copied().max().unwrap_or(0);
    say(format!("seeding up to {size} pods"));
    seed::pods(&bench.client, 0, size).await?;
    let target = &scenarios()[0].target;
    let section = match option {
        "--only-events" => {
            let mut cost = bench
                .events_cost(target, args.events_rate, args.events_changes, size)
                .await?;
            cost.run = stamp;
            report::splice_events(&cost, markdown, json)?;
            "the Events' section"
        }
        "--only-who" => {
            let mut cost = bench.who_cost(target, args.events_rate, args.who_changes, size).await?;
            cost.run = stamp;
            report::splice_who(&cost, markdown, json)?;
            "WHO's section"
        }
        "--only-fleet" => {
            let mut cost = bench.fleet(args.repeats).await?;
            cost.run = stamp;
            report::splice_fleet(&cost, markdown, json)?;
            "the fleet's section"
        }
        "--only-export" => {
            let mut cost = bench
                .export_cost(target, args.events_rate, args.export_changes, size)
                .await?;
            cost.run = stamp;
            report::splice_export(&cost, markdown, json)?;
            "the export's section"
        }
        "--only-live-view" => {
            let baseline = args
                .baseline_plugin_dir
                .as_deref()
                .context("--only-live-view needs --baseline-plugin-dir (scripts/bench --baseline REV)")?;
            let mut cost = bench
                .live_view_cost(target, args.events_rate, args.live_view_changes, size, baseline)
                .await?;
            cost.run = stamp;
            report::splice_live_view(&cost, markdown, json)?;
            "the live view's section"
        }
        _ => {
            let mut cost = bench.sources_cost(args, size).await?;
            cost.run = stamp;
            report::splice_sources(&cost, markdown, json)?;
            "the sources' section"
        }
    };
    say(format!(
        "wrote {section} into {} and {}",
        markdown.display(),
        json.display()
    ));
    Ok(true)
}

impl Bench {
    async fn new(args: &Args) -> Result<Bench> {
        let client = client(&args.kubeconfig).await?;
        let plugin_dir = std::fs::canonicalize(&args.plugin_dir)
            .with_context(|| format!("the plugin folder {}", args.plugin_dir.display()))?;
        if !plugin_dir.join("kubectl-watchnew").is_file() {
            bail!("no kubectl-watchnew in {}", plugin_dir.display());
        }
        let kubectl_cache = tempfile::tempdir()?;
        let path = format!("{}:{}", plugin_dir.display(), std::env::var("PATH").unwrap_or_default());
        let environment = vec![
            ("KUBECONFIG".into(), args.kubeconfig.display().to_string()),
            ("PATH".into(), path),
            // kubectl keeps discovery in a cache; a folder of the run's own, warmed once, as it is in daily use.
            ("KUBECACHEDIR".into(), kubectl_cache.path().display().to_string()),
        ];
        let apiserver = component_pid(&args.kubeconfig, "kube-apiserver");
        Ok(Bench {
            client,
            kubeconfig: args.kubeconfig.clone(),
            apiserver,
            audit: AuditLog::new(args.audit_log.clone()),
            environment,
            clock_ticks: observe::clock_ticks(),
            _kubectl_cache: kubectl_cache,
        })
    }

    async fn machine(&self, args: &Args) -> Result<report::Machine> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, name)| name.trim())
            })
            .unwrap_or("unknown")
            .to_string();
        let memory_kib: u64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let command_output = |program: &str, args: &[&str]| -> String {
            std::process::Command::new(program)
                .args(args)
                .envs(self.environment.iter().map(|(key, value)| (key, value)))
                .output()
                .ok()
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .and_then(|text| text.lines().next().map(str::to_string))
                .unwrap_or_else(|| "unknown".into())
        };
        let server = self.client.apiserver_version().await?;
        Ok(report::Machine {
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            memory_gib: memory_kib as f64 / 1024.0 / 1024.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            apiserver: server.git_version,
            kubectl: command_output("kubectl", &["version", "--client"]),
            watchnew: command_output("kubectl", &["watchnew", "--version"]),
            date: jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string(),
            commit: source_commit(),
            sizes: args.sizes.clone(),
            repeats: args.repeats,
        })
    }

    /// One run of each tool that is not measured: kubectl fills its discovery cache, and both binaries are read
    /// from disk once.
    async fn warm_up(&self) -> Result<()> {
        for tool in [Tool::Kubectl, Tool::Watchnew] {
            self.start(tool, &scenarios()[1].target, &[], Ready::Signal).await?;
        }
        Ok(())
    }

    /// `--all-kinds -A` and two contexts against `pods -A` on the same cluster, with a few CRDs and their objects
    /// added; then what `--record` costs under churn and what the replay takes.
    async fn sources_cost(&self, args: &Args, pods: usize) -> Result<SourcesCost> {
        say(format!(
            "every kind and two contexts at {pods} pods, with {} CRDs",
            seed::CRDS
        ));
        seed::custom_resources(&self.client).await?;
        let pods_target = scenarios()[0].target.clone();
        let all_kinds_target = vec!["--all-kinds".to_string(), "-A".to_string()];
        // A second context of the same cluster, as a second cluster would be named.
        let mut config = Kubeconfig::read_from(&self.kubeconfig)?;
        let current = config
            .current_context
            .clone()
            .context("the kubeconfig has no current context")?;
        let mut second = config
            .contexts
            .iter()
            .find(|context| context.name == current)
            .cloned()
            .context("the current context")?;
        second.name = "second".into();
        config.contexts.push(second);
        let (_kubeconfig, environment) = self.with_kubeconfig(&config)?;
        let contexts_target = vec![
            "pods".to_string(),
            "-A".to_string(),
            "--context".to_string(),
            format!("{current},second"),
        ];
        // Warmed once, as the others are: discovery of the new kinds is cached from then on.
        self.start(Tool::Watchnew, &all_kinds_target, &[], Ready::Signal)
            .await?;
        let (mut pods_only, mut all_kinds, mut two_contexts) = (Vec::new(), Vec::new(), Vec::new());
        for repeat in 0..args.repeats {
            let mut order = [0, 1, 2];
            order.rotate_left(repeat % 3);
            for start in order {
                match start {
                    0 => pods_only.push(self.start(Tool::Watchnew, &pods_target, &[], Ready::Signal).await?),
                    1 => all_kinds.push(
                        self.start(Tool::Watchnew, &all_kinds_target, &[], Ready::Signal)
                            .await?,
                    ),
                    _ => two_contexts.push(
                        self.start_with(Tool::Watchnew, &contexts_target, &[], &environment, None, Ready::Signal)
                            .await?,
                    ),
                }
            }
        }
        Ok(SourcesCost {
            pods,
            crds: seed::CRDS,
            custom_objects: seed::CRDS * seed::OBJECTS_PER_CRD,
            synced_line: self.synced_line(&all_kinds_target).await?,
            pods_only,
            all_kinds,
            two_contexts,
            recording: self
                .recording_cost(&pods_target, args.events_rate, args.recording_changes)
                .await?,
            run: None,
        })
    }

    /// `-o json` with and without `--record` under churn; then the recording replayed with `-o json`.
    async fn recording_cost(&self, target: &[String], rate: u32, total: u64) -> Result<RecordingCost> {
        say(format!("the recording's cost: {total} changes at {rate} changes/s"));
        let folder = tempfile::tempdir()?;
        let file = folder.path().join("churn.watch");
        let file_arg = file.display().to_string();
        let mut plain = self.counted(Tool::Watchnew, target, &["-o", "json"])?;
        let mut recording = self.counted(Tool::Watchnew, target, &["-o", "json", "--record", &file_arg])?;
        plain.wait_ready(READY_LIMIT).await?;
        recording.wait_ready(READY_LIMIT).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pids = [plain.pid, recording.pid];
        let ready = self.samples(&pids);
        let record = churn::run(&self.client, "rec", rate, total, false).await?;
        let changes = record.changes.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline
            && [&plain, &recording]
                .iter()
                .any(|observed| observed.output.lock().expect("output").lines < changes)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let after = self.samples(&pids);
        let ended = [plain.exited(), recording.exited()];
        // `-o json` prints one event a line.
        let reported = [&plain, &recording].map(|observed| Some(observed.output.lock().expect("output").lines));
        plain.stop().await?;
        recording.stop().await?;
        let labels = ["kubectl watchnew -o json", "kubectl watchnew -o json --record FILE"];
        let observers = churn_observers(&labels, &ready, &after, &reported, record.elapsed, &ended);
        let text = std::fs::read_to_string(&file).context("the recording")?;
        let recorded_changes = text.lines().filter(|line| line.contains(r#""change":"#)).count() as u64;
        // The replay, with no cluster: how long it takes to print everything, and its peak memory.
        let started = Instant::now();
        let mut replay = tokio::process::Command::new("kubectl")
            .args(["watchnew", "--replay", &file_arg, "-o", "json"])
            .envs(self.environment.iter().map(|(key, value)| (key, value)))
            .env("KUBECONFIG", "/nonexistent")
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let mut peak_kib = 0;
        let status = loop {
            if let Some(status) = replay.try_wait()? {
                break status;
            }
            // kubectl execs the plugin in its own process: its memory counts once the process is the plugin.
            if let Some(pid) = replay.id()
                && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|name| name.starts_with("kubectl-watchn"))
                && let Ok(kib) = observe::memory_kib(pid, "VmHWM")
            {
                peak_kib = peak_kib.max(kib);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let replay_seconds = started.elapsed().as_secs_f64();
        if !status.success() {
            bail!("the replay of the recording failed: {status}");
        }
        Ok(RecordingCost {
            rate,
            changes,
            achieved_rate: record.achieved_rate(),
            observers,
            file_megabytes: text.len() as f64 / 1e6,
            recorded_changes,
            replay_seconds,
            replay_peak_mib: peak_kib as f64 / 1024.0,
        })
    }

    /// What kubectl-watchnew says when it has synced on `target`.
    async fn synced_line(&self, target: &[String]) -> Result<String> {
        let output = tokio::process::Command::new("kubectl")
            .args(Tool::Watchnew.args(target, &["--timeout", "20s"]))
            .envs(self.environment.iter().map(|(key, value)| (key, value)))
            .stdout(std::process::Stdio::null())
            .output()
            .await?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        Ok(stderr
            .lines()
            .find(|line| line.starts_with("Synced "))
            .unwrap_or("")
            .to_string())
    }

    async fn start_row(&self, scenario: &Scenario, objects: usize, repeats: usize) -> Result<StartRow> {
        say(format!("start: {} at {objects} objects", scenario.label));
        let mut watchnew = Vec::new();
        let mut kubectl = Vec::new();
        let mut uncompressed = Vec::new();
        let mut streaming = Vec::new();
        let mut list_floor = Vec::new();
        for repeat in 0..repeats {
            for tool in Tool::turn(repeat) {
                let start = self
                    .start(tool, &scenario.target, &[], Ready::Answered(scenario.resource))
                    .await?;
                match tool {
                    Tool::Watchnew => watchnew.push(start),
                    Tool::Kubectl => kubectl.push(start),
                }
            }
            // On loopback, does gzip pay? The same start without it.
            uncompressed.push(
                self.start(
                    Tool::Watchnew,
                    &scenario.target,
                    &["--disable-compression"],
                    Ready::Answered(scenario.resource),
                )
                .await?,
            );
            // The streamed initial list (WatchList) instead of pages: what it costs the API server. Ready is
            // the tool's own Synced line, since the server answers a streamed list's watch before it streams.
            streaming.push(
                self.start(Tool::Watchnew, &scenario.target, &["--streaming-lists"], Ready::Signal)
                    .await?,
            );
            let (took, items) = self.list_floor(&scenario.list_path).await?;
            if items < objects {
                bail!(
                    "the raw LIST of {} found {items} objects, expected {objects}",
                    scenario.list_path
                );
            }
            list_floor.push(took.as_secs_f64());
        }
        Ok(StartRow {
            scenario: scenario.label.to_string(),
            objects,
            watchnew,
            kubectl,
            watchnew_uncompressed: uncompressed,
            watchnew_streaming: streaming,
            list_floor_seconds: list_floor,
        })
    }

    /// Both tools over one link, for each output: the same kubeconfig pointed at the link, warmed once
    /// (discovery is cached per server, by both), then measured as the direct starts are.
    async fn link_rows(
        &self,
        scenario: &Scenario,
        name: &str,
        shape: Option<Shape>,
        objects: usize,
        repeats: usize,
    ) -> Result<Vec<LinkRow>> {
        say(format!("link: {} at {objects} objects over {name}", scenario.label));
        let link = Link::start(self.apiserver_address()?, shape).await?;
        let mut config = Kubeconfig::read_from(&self.kubeconfig)?;
        for cluster in config.clusters.iter_mut().filter_map(|named| named.cluster.as_mut()) {
            cluster.server = Some(format!("https://{}", link.address));
        }
        let (_kubeconfig, environment) = self.with_kubeconfig(&config)?;
        for tool in [Tool::Kubectl, Tool::Watchnew] {
            self.start_with(tool, &scenarios()[1].target, &[], &environment, None, Ready::Signal)
                .await?;
        }
        let mut rows = Vec::new();
        for (output, extra) in LINK_OUTPUTS {
            let mut row = LinkRow {
                link: name.to_string(),
                output: output.to_string(),
                objects,
                watchnew: Vec::new(),
                kubectl: Vec::new(),
            };
            for repeat in 0..repeats {
                for tool in Tool::turn(repeat) {
                    let start = self
                        .start_with(
                            tool,
                            &scenario.target,
                            extra,
                            &environment,
                            Some(&link),
                            Ready::Answered(scenario.resource),
                        )
                        .await?;
                    match tool {
                        Tool::Watchnew => row.watchnew.push(start),
                        Tool::Kubectl => row.kubectl.push(start),
                    }
                }
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// Where the kubeconfig's API server listens.
    fn apiserver_address(&self) -> Result<std::net::SocketAddr> {
        let config = Kubeconfig::read_from(&self.kubeconfig)?;
        let server = config
            .clusters
            .iter()
            .find_map(|named| named.cluster.as_ref()?.server.clone())
            .context("the kubeconfig names no server")?;
        let address = server.trim_start_matches("https://").trim_end_matches('/');
        address
            .parse()
            .with_context(|| format!("the server {server} is not an address"))
    }

    /// Starts a tool, waits until it is ready, and stops it: how long it took, its peak memory, its requests.
    /// `config` written to a file of its own, and the environment that points the tools at it (the file lives as
    /// long as what is returned first).
    fn with_kubeconfig(&self, config: &Kubeconfig) -> Result<(tempfile::NamedTempFile, Vec<(String, String)>)> {
        let kubeconfig = tempfile::NamedTempFile::new()?;
        // JSON is YAML, and the kubeconfig types serialize with their YAML field names.
        std::fs::write(kubeconfig.path(), serde_json::to_string(config)?)?;
        let environment = self
            .environment
            .iter()
            .map(|(key, value)| match key.as_str() {
                "KUBECONFIG" => (key.clone(), kubeconfig.path().display().to_string()),
                _ => (key.clone(), value.clone()),
            })
            .collect();
        Ok((kubeconfig, environment))
    }

    async fn start(&self, tool: Tool, target: &[String], extra: &[&str], ready: Ready) -> Result<Start> {
        self.start_with(tool, target, extra, &self.environment, None, ready)
            .await
    }

    /// `start` with another environment, and the bytes that went over `link` if the tool went through it.
    async fn start_with(
        &self,
        tool: Tool,
        target: &[String],
        extra: &[&str],
        environment: &[(String, String)],
        link: Option<&Link>,
        ready_at: Ready,
    ) -> Result<Start> {
        let offset = self.audit.end()?;
        let bytes_before = link.map(Link::bytes);
        // The API server's own cost of this start: its CPU and its peak memory until the tool is ready.
        let apiserver_before = match self.apiserver {
            Some(pid) => {
                observe::reset_peak_memory(pid)?;
                Some(observe::cpu_time(pid, self.clock_ticks)?)
            }
            None => None,
        };
        let mut observed = Observed::spawn(
            "kubectl",
            &tool.args(target, extra),
            environment,
            tool.signal(),
            StdoutUse::Count,
        )?;
        let signalled = observed
            .wait_ready(READY_LIMIT)
            .await
            .with_context(|| format!("{} {}", tool.label(), target.join(" ")))?;
        let ready = match ready_at {
            Ready::Signal => signalled,
            Ready::Answered(resource) => {
                // kubectl-watchnew says it has synced before it sends its watch: the answer comes after.
                let answered = self
                    .audit
                    .watch_answered(offset, ADMIN, resource, Duration::from_secs(30))
                    .await
                    .with_context(|| format!("{} {}", tool.label(), target.join(" ")))?;
                let since_start = answered.duration_since(observed.started_at);
                Duration::try_from(since_start).context("the watch answered before the tool started")?
            }
        };
        // Over a slow link, the whole objects follow the sync: the start is complete once they are in.
        let whole_objects = match observed.stderr_count(SLOW_LINK_SAID) {
            0 => None,
            _ => Some(observed.wait_stderr(WHOLE_OBJECTS_READ, READY_LIMIT).await?),
        };
        let apiserver = match (self.apiserver, apiserver_before) {
            (Some(pid), Some(before)) => Some((
                (observe::cpu_time(pid, self.clock_ticks)? - before).as_secs_f64(),
                observe::memory_kib(pid, "VmHWM")? as f64 / 1024.0,
            )),
            _ => None,
        };
        // The lists are decoded and dropped by now; a moment more lets any late peak show.
        tokio::time::sleep(Duration::from_secs(1)).await;
        observed.still_running()?;
        let peak_kib = observe::memory_kib(observed.pid, "VmHWM")?;
        observed.stop().await?;
        // The watch is logged when the server sees it closed.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let requests = self.audit.requests_since(offset, ADMIN)?;
        let bytes = link.zip(bytes_before).map(|(link, (down, up))| {
            let (down_after, up_after) = link.bytes();
            ((down_after - down) as f64 / 1e6, (up_after - up) as f64 / 1e6)
        });
        Ok(Start {
            ready_seconds: ready.as_secs_f64(),
            peak_rss_mib: peak_kib as f64 / 1024.0,
            requests,
            megabytes_received: bytes.map(|(down, _)| down),
            megabytes_sent: bytes.map(|(_, up)| up),
            apiserver_cpu_seconds: apiserver.map(|(cpu, _)| cpu),
            apiserver_peak_mib: apiserver.map(|(_, peak)| peak),
            whole_objects_seconds: whole_objects.map(|took| took.as_secs_f64()),
        })
    }

    /// The floor: a paginated LIST of the same objects, pages of 500 as kubectl asks for, on a new connection,
    /// from inside this process (no program start, no discovery, no rendering).
    async fn list_floor(&self, path: &str) -> Result<(Duration, usize)> {
        #[derive(Deserialize)]
        struct Page {
            metadata: PageMetadata,
            items: Vec<serde::de::IgnoredAny>,
        }
        #[derive(Deserialize)]
        struct PageMetadata {
            #[serde(rename = "continue", default)]
            continue_token: Option<String>,
        }
        let client = client(&self.kubeconfig).await?;
        let started = Instant::now();
        let mut continue_token = None;
        let mut items = 0;
        loop {
            let params = ListParams {
                limit: Some(500),
                continue_token: continue_token.take(),
                ..ListParams::default()
            };
            let request = kube::core::Request::new(path).list(&params)?;
            let body = client.request_text(request).await?;
            let page: Page = serde_json::from_str(&body)?;
            items += page.items.len();
            match page.metadata.continue_token.filter(|token| !token.is_empty()) {
                Some(token) => continue_token = Some(token),
                None => return Ok((started.elapsed(), items)),
            }
        }
    }

    /// What the server takes to send the whole initial state in each form a client can ask for: the bound of
    /// the time to ready, whatever the client does with it. Read through the forwarder without limits, which
    /// counts the bytes as they went over the connection (compressed, where they were).
    async fn form_costs(&self, path: &str, objects: usize, repeats: usize) -> Result<Vec<FormCost>> {
        say(format!("server cost of each initial-state form at {objects} objects"));
        const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json";
        const METADATA: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json";
        // (form, Accept, rows with whole objects, streamed, gzip)
        let forms: [(&str, Option<&str>, bool, bool, bool); 8] = [
            ("LIST pages of 500, plain objects", None, false, false, false),
            ("LIST pages of 500, plain objects, gzip", None, false, false, true),
            (
                "LIST pages of 500, metadata only, gzip",
                Some(METADATA),
                false,
                false,
                true,
            ),
            (
                "LIST pages of 500, Tables of metadata (kubectl's), gzip",
                Some(TABLE),
                false,
                false,
                true,
            ),
            (
                "LIST pages of 500, Tables with objects",
                Some(TABLE),
                true,
                false,
                false,
            ),
            (
                "LIST pages of 500, Tables with objects, gzip",
                Some(TABLE),
                true,
                false,
                true,
            ),
            ("streamed list (WatchList), plain objects", None, false, true, false),
            (
                "streamed list (WatchList), Tables with objects",
                Some(TABLE),
                true,
                true,
                false,
            ),
        ];
        let link = Link::start(self.apiserver_address()?, None).await?;
        let server = format!("https://{}", link.address);
        let mut costs = Vec::new();
        for (form, accept, table_objects, streamed, compressed) in forms {
            let mut seconds = Vec::new();
            let mut apiserver_cpu_seconds = Vec::new();
            let mut bytes = 0;
            for _ in 0..repeats {
                let client = client_at(&self.kubeconfig, Some(&server), compressed).await?;
                let (before, _) = link.bytes();
                let cpu_before = self.apiserver_cpu()?;
                let started = Instant::now();
                if streamed {
                    read_streamed_list(&client, path, accept).await?;
                } else {
                    read_list_pages(&client, path, accept, table_objects).await?;
                }
                seconds.push(started.elapsed().as_secs_f64());
                if let (Some(before), Some(after)) = (cpu_before, self.apiserver_cpu()?) {
                    apiserver_cpu_seconds.push((after - before).as_secs_f64());
                }
                bytes = link.bytes().0 - before;
            }
            costs.push(FormCost {
                objects,
                form: form.to_string(),
                seconds,
                apiserver_cpu_seconds,
                megabytes: bytes as f64 / 1e6,
            });
        }
        Ok(costs)
    }

    /// The API server's CPU time so far, where its pid is known.
    fn apiserver_cpu(&self) -> Result<Option<Duration>> {
        self.apiserver
            .map(|pid| observe::cpu_time(pid, self.clock_ticks))
            .transpose()
    }

    /// The largest size of pods: their starts and the forms' cost at it, and the machine's memory at half of it
    /// and at it. `seeded` pods are there already, and `config_maps` ConfigMaps.
    async fn largest(&self, size: usize, seeded: usize, config_maps: usize, repeats: usize) -> Result<Largest> {
        let pods = &scenarios()[0];
        let half = size / 2;
        let mut there = seeded;
        let mut memory = Vec::new();
        for at in [half, size] {
            if at > there {
                let started = Instant::now();
                say(format!("seeding up to {at} pods"));
                seed::pods(&self.client, there, at).await?;
                say(format!("seeded in {:.0} s", started.elapsed().as_secs_f64()));
                there = at;
            }
            memory.push(self.memory_point(pods, at).await?);
        }
        let start = self.start_row(pods, size, repeats).await?;
        let forms = self.form_costs(&pods.list_path, size, repeats).await?;
        Ok(Largest {
            pods: size,
            config_maps,
            memory_total_mib: observe::meminfo_kib("MemTotal")? as f64 / 1024.0,
            start,
            forms,
            memory,
            run: None,
        })
    }

    /// The machine's memory during a kubectl start on `pods` pods: the API server's peak, kubectl's, etcd's, and
    /// the least available meanwhile.
    async fn memory_point(&self, scenario: &Scenario, pods: usize) -> Result<MemoryPoint> {
        say(format!("memory during a kubectl start at {pods} pods"));
        let least = Arc::new(Mutex::new(u64::MAX));
        let sampler = tokio::spawn({
            let least = Arc::clone(&least);
            async move {
                loop {
                    if let (Ok(available), Ok(mut least)) = (observe::meminfo_kib("MemAvailable"), least.lock()) {
                        *least = (*least).min(available);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let start = self
            .start(Tool::Kubectl, &scenario.target, &[], Ready::Answered(scenario.resource))
            .await;
        sampler.abort();
        let start = start?;
        let rss_of = |component: &str| -> Result<f64> {
            let pid = component_pid(&self.kubeconfig, component)
                .with_context(|| format!("no pid of {component} beside the kubeconfig (run/{component}.pid)"))?;
            Ok(observe::memory_kib(pid, "VmRSS")? as f64 / 1024.0)
        };
        let least_kib = *least
            .lock()
            .map_err(|_| anyhow::anyhow!("the memory sampler panicked"))?;
        Ok(MemoryPoint {
            pods,
            apiserver_peak_mib: start.apiserver_peak_mib.context("the API server's pid is not known")?,
            kubectl_peak_mib: start.peak_rss_mib,
            etcd_rss_mib: rss_of("etcd")?,
            controller_manager_rss_mib: rss_of("kube-controller-manager")?,
            least_available_mib: least_kib as f64 / 1024.0,
        })
    }

    /// Change-to-output latency: the tool prints `-o json` while pods churn at `rate` changes a second.
    async fn latency(&self, tool: Tool, target: &[String], rate: u32, seconds: u32) -> Result<Latency> {
        say(format!("latency: {} at {rate} changes/s for {seconds} s", tool.label()));
        let mut observed = Observed::spawn(
            "kubectl",
            &tool.args(target, &["-o", "json"]),
            &self.environment,
            tool.signal(),
            StdoutUse::ChurnEvents,
        )?;
        observed.wait_ready(READY_LIMIT).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cpu_before = observe::cpu_time(observed.pid, self.clock_ticks)?;
        let run = format!("{}{rate}", if tool == Tool::Watchnew { "w" } else { "k" });
        let churned = self.churn_and_match(&observed.output, &run, rate, seconds).await?;
        // A process that has ended stays readable in /proc until it is reaped, which `exited` does.
        let cpu = observe::cpu_time(observed.pid, self.clock_ticks)? - cpu_before;
        let ended = observed.exited();
        observed.stop().await?;
        Ok(churned.into_latency(tool.label(), rate, Some(cpu), ended))
    }

    /// The floor of the latency: the API server's own, read by a raw watch inside this process (no tool, no
    /// rendering), on the same churn.
    async fn raw_watch_latency(&self, list_path: &str, rate: u32, seconds: u32) -> Result<Latency> {
        say(format!("latency: raw watch at {rate} changes/s for {seconds} s"));
        let client = client_at(&self.kubeconfig, None, false).await?;
        let current = kube::core::Request::new(list_path).list(&ListParams::default().limit(1))?;
        let page: serde_json::Value = serde_json::from_str(&client.request_text(current).await?)?;
        let resource_version = page["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let params = kube::api::WatchParams::default().timeout(290);
        let request = kube::core::Request::new(list_path).watch(&params, &resource_version)?;
        let mut stream = Box::pin(client.request_stream(request).await?);
        let output = Arc::new(Mutex::new(observe::Output::default()));
        let reader = {
            let output = output.clone();
            tokio::spawn(async move {
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match futures::AsyncBufReadExt::read_until(&mut stream, b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            let mut output = output.lock().expect("output");
                            observe::decode_events(&line, Instant::now(), &mut output.events);
                        }
                    }
                }
            })
        };
        let churned = self.churn_and_match(&output, &format!("r{rate}"), rate, seconds).await;
        reader.abort();
        Ok(churned?.into_latency("raw watch (floor)", rate, None, None))
    }

    /// Churns, then waits until every change has been seen in `output` (or 20 s have passed) and matches them.
    async fn churn_and_match(
        &self,
        output: &Mutex<observe::Output>,
        run: &str,
        rate: u32,
        seconds: u32,
    ) -> Result<Churned> {
        let closed_before = self.closed_watchers().await?;
        let record = churn::run(&self.client, run, rate, u64::from(rate * seconds), false).await?;
        let expected = expected_events(&record);
        let deadline = Instant::now() + Duration::from_secs(20);
        let matching = loop {
            let matching = match_events(&output.lock().expect("output").events, &expected);
            if matching.latencies_ms.len() >= expected.len() || Instant::now() > deadline {
                break matching;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Ok(Churned {
            closed_watchers: self.closed_watchers().await? - closed_before,
            record,
            expected: expected.len(),
            matching,
        })
    }

    /// How many watches the API server has closed because their client fell behind
    /// (`apiserver_terminated_watchers_total`).
    async fn closed_watchers(&self) -> Result<u64> {
        let metrics = self
            .client
            .request_text(http::Request::get("/metrics").body(Vec::new())?)
            .await
            .context("reading kube-apiserver's metrics")?;
        Ok(metrics
            .lines()
            .filter(|line| line.starts_with("apiserver_terminated_watchers_total"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }

    /// The long run: two live views (in tmux; the second also records, so that what it showed can be checked
    /// change by change), the piped lines and kubectl side by side through `total` changes; each watcher checked
    /// against the churn's ground truth.
    async fn endurance(&self, target: &[String], rate: u32, total: u64) -> Result<Endurance> {
        say(format!("endurance: {total} changes at {rate} changes/s"));
        let folder = tempfile::tempdir()?;
        let recording = folder.path().join("endurance.watch");
        let recording_arg = recording.display().to_string();
        let live = TmuxView::start("live", &self.environment, &Tool::Watchnew.args(target, &[])).await?;
        let recorded = TmuxView::start(
            "recorded",
            &self.environment,
            &Tool::Watchnew.args(target, &["--record", &recording_arg]),
        )
        .await?;
        let mut piped = self.lines_of(Tool::Watchnew, target, &[])?;
        let mut kubectl = self.lines_of(Tool::Kubectl, target, &[])?;
        piped.wait_ready(READY_LIMIT).await?;
        kubectl.wait_ready(READY_LIMIT).await?;
        live.wait_synced().await?;
        recorded.wait_synced().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;

        let labels = [
            "kubectl watchnew, live view in tmux",
            "kubectl watchnew, live view in tmux, --record FILE",
            "kubectl watchnew, piped",
            "kubectl get -w, piped",
        ];
        let pids = [live.pid, recorded.pid, piped.pid, kubectl.pid];
        // Quiet: watching, and nothing has changed since the start; nothing on screen moves.
        let quiet_start = self.samples(&pids);
        tokio::time::sleep(QUIET_WINDOW).await;
        let quiet_end = self.samples(&pids);
        let ready = self.samples(&pids);
        let pods_before = self.count_pods().await?;
        // In quarters, with memory sampled after each: growth that levels off is the allocator settling,
        // growth that goes on is a leak.
        let mut record = churn::Record::default();
        let mut quarters = Vec::new();
        for quarter in 0..4 {
            let part = churn::run(&self.client, &format!("e{quarter}"), rate, total / 4, false).await?;
            record.absorb(part);
            tokio::time::sleep(Duration::from_secs(2)).await;
            quarters.push(self.samples(&pids));
        }
        let pods_after = self.count_pods().await?;
        let changes = record.changes.len() as u64;
        let made = made_by(&record);
        // Each watcher is given 30 s after the last change to report them all, and longer while it relists or
        // still prints: a relist of this many pods under churn takes tens of seconds, and reports only the
        // difference, so a watcher that relisted never prints a line per change.
        let churn_ended = Instant::now();
        let deadline = churn_ended + Duration::from_secs(30);
        let last_chance = churn_ended + Duration::from_secs(180);
        let truth_of = |observed: &Observed, relists: u64| {
            let output = observed.output.lock().expect("output");
            truth::check(&made, &reported(&output.events), relists, output.closed_at)
        };
        let waiting = |observed: &&mut Observed| {
            let relisting = observed.stderr_count("relisting") > observed.stderr_count(": relisted");
            let output = observed.output.lock().expect("output");
            let printing = output
                .events
                .last()
                .is_some_and(|seen| seen.at.elapsed() < Duration::from_secs(10));
            (output.events.len() as u64) < changes
                && output.closed_at.is_none()
                && (Instant::now() < deadline || relisting || printing)
        };
        while [&mut piped, &mut kubectl].iter().any(waiting) && Instant::now() < last_chance {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The live views' CPU counts only once they have shown every change: their status lines count them.
        let [live_shown, recorded_shown] = TmuxView::wait_shown([&live, &recorded], changes, deadline).await?;
        let after = self.samples(&pids);

        // Idle after the churn: nothing changes, but the ages and "how long ago" on screen count seconds.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_window = Duration::from_secs(10);
        let idle_start = self.samples(&pids);
        tokio::time::sleep(idle_window).await;
        let idle_end = self.samples(&pids);
        let screen = live.capture()?;
        if !screen.contains("churn-e") {
            bail!("the live view shows none of the churned pods:\n{screen}");
        }
        let behind = |shown: Option<u64>| {
            (shown < Some(changes)).then(|| {
                format!(
                    "showed {} of the {changes} changes within 30 s of the last one",
                    shown.map_or("none".to_string(), |shown| shown.to_string())
                )
            })
        };
        let piped_truth = truth_of(&piped, piped.stderr_count(": relisted"));
        let watch_notes = ["interrupted", "reconnected", "relist", "expired", "fell behind"];
        let said = [
            Vec::new(),
            Vec::new(),
            piped.stderr_matching(&watch_notes, 20),
            Vec::new(),
        ];
        let kubectl_truth = truth_of(&kubectl, 0);
        let ended = [
            behind(live_shown),
            behind(recorded_shown),
            piped.exited(),
            kubectl.exited(),
        ];
        piped.stop().await?;
        kubectl.stop().await?;
        live.stop()?;
        // The recorded view quits as a person would, which ends its recording; then the recording is replayed.
        recorded.quit().await?;
        let recorded_truth = self.recording_truth(&recording, &made).await?;

        let truths = [None, Some(recorded_truth), Some(piped_truth), Some(kubectl_truth)];
        // What each reported: the live views' status lines count the changes they showed.
        let reported_counts = [
            live_shown,
            recorded_shown,
            truths[2].as_ref().map(TruthCheck::lines_reported),
            truths[3].as_ref().map(TruthCheck::lines_reported),
        ];
        let seconds = |from: &Option<Sample>, to: &Option<Sample>| match (from, to) {
            (Some(from), Some(to)) => Some((to.cpu - from.cpu).as_secs_f64()),
            _ => None,
        };
        let observers = (0..pids.len())
            .map(|index| {
                let churn_cpu = seconds(&ready[index], &after[index]);
                Observer {
                    observer: labels[index].to_string(),
                    rss_ready_mib: ready[index].as_ref().map(|sample| sample.rss_kib as f64 / 1024.0),
                    rss_after_mib: after[index].as_ref().map(|sample| sample.rss_kib as f64 / 1024.0),
                    rss_quarters_mib: quarters
                        .iter()
                        .map(|samples| samples[index].as_ref().map(|sample| sample.rss_kib as f64 / 1024.0))
                        .collect(),
                    reported: reported_counts[index],
                    cpu_ms_per_1000: churn_cpu
                        .zip(reported_counts[index])
                        .map(|(cpu, reported)| cpu * 1000.0 / (reported.max(1) as f64 / 1000.0)),
                    cpu_percent_of_a_core: churn_cpu.map(|cpu| cpu / record.elapsed.as_secs_f64() * 100.0),
                    idle_cpu_percent: seconds(&idle_start[index], &idle_end[index])
                        .map(|cpu| cpu / idle_window.as_secs_f64() * 100.0),
                    quiet_cpu_percent: seconds(&quiet_start[index], &quiet_end[index])
                        .map(|cpu| cpu / QUIET_WINDOW.as_secs_f64() * 100.0),
                    truth: truths[index].clone(),
                    ended: ended[index].clone(),
                    said: said[index].clone(),
                }
            })
            .collect();
        Ok(Endurance {
            rate,
            changes,
            achieved_rate: record.achieved_rate(),
            failed_requests: record.failures,
            pods_before,
            pods_after,
            observers,
        })
    }

    /// The recording replayed with `-o json`, checked against the churn's changes; its relists are its
    /// notices of kind `relist`.
    async fn recording_truth(&self, recording: &std::path::Path, made: &[truth::Made<'_>]) -> Result<TruthCheck> {
        let text = std::fs::read_to_string(recording).context("the long run's recording")?;
        let relists = text.lines().filter(|line| line.contains(r#""kind":"relist""#)).count() as u64;
        let replay = tokio::process::Command::new("kubectl")
            .args(["watchnew", "--replay", &recording.display().to_string(), "-o", "json"])
            .envs(self.environment.iter().map(|(key, value)| (key, value)))
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .await?;
        if !replay.status.success() {
            bail!(
                "the replay of the long run's recording failed: {}",
                String::from_utf8_lossy(&replay.stderr).trim()
            );
        }
        let mut events = Vec::new();
        observe::decode_events(&replay.stdout, Instant::now(), &mut events);
        Ok(truth::check(made, &reported(&events), relists, None))
    }

    /// What watching the Events costs: the same churn, with two Events per pod, seen by the live view (Events on,
    /// as by default) and by the piped lines with and without `--no-events`.
    async fn events_cost(&self, target: &[String], rate: u32, total: u64, pods: usize) -> Result<EventsCost> {
        say(format!(
            "the Events' cost: {total} changes at {rate} changes/s, two Events per pod"
        ));
        let live = TmuxView::start("events", &self.environment, &Tool::Watchnew.args(target, &[])).await?;
        let mut with_events = self.lines_of(Tool::Watchnew, target, &[])?;
        let mut without = self.lines_of(Tool::Watchnew, target, &["--no-events"])?;
        with_events.wait_ready(READY_LIMIT).await?;
        without.wait_ready(READY_LIMIT).await?;
        live.wait_synced().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let labels = [
            "kubectl watchnew, live view in tmux (Events on)",
            "kubectl watchnew, piped (Events on)",
            "kubectl watchnew, piped --no-events",
        ];
        let pids = [live.pid, with_events.pid, without.pid];
        let ready = self.samples(&pids);
        let record = churn::run(&self.client, "ev", rate, total, true).await?;
        let changes = record.changes.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline
            && [&with_events, &without]
                .iter()
                .any(|observed| (observed.output.lock().expect("output").events.len() as u64) < changes)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let [live_shown] = TmuxView::wait_shown([&live], changes, deadline).await?;
        let after = self.samples(&pids);
        let screen = live.capture()?;
        // The churn's Events are joined: the live view's rows show them.
        let joined = screen.contains("Started (") || screen.contains("Scheduled (");
        let ended = [
            TmuxView::short_of(live_shown, changes),
            with_events.exited(),
            without.exited(),
        ];
        let [with_events_reported, without_reported] =
            [&with_events, &without].map(|observed| observed.output.lock().expect("output").events.len() as u64);
        with_events.stop().await?;
        without.stop().await?;
        live.stop()?;
        let reported = [live_shown, Some(with_events_reported), Some(without_reported)];
        let observers = churn_observers(&labels, &ready, &after, &reported, record.elapsed, &ended);
        Ok(EventsCost {
            rate,
            changes,
            events: record.events,
            achieved_rate: record.achieved_rate(),
            failed_requests: record.failures,
            first_failure: record.first_failure.clone(),
            pods,
            joined_on_screen: joined,
            observers,
            run: None,
        })
    }

    /// What saying who changed each object costs: the same churn seen by the live view and the piped lines,
    /// each with WHO (the default) and with `--no-who`, side by side.
    async fn who_cost(&self, target: &[String], rate: u32, total: u64, pods: usize) -> Result<WhoCost> {
        say(format!("WHO's cost: {total} changes at {rate} changes/s"));
        let live = TmuxView::start("who-on", &self.environment, &Tool::Watchnew.args(target, &[])).await?;
        let live_without =
            TmuxView::start("nowho", &self.environment, &Tool::Watchnew.args(target, &["--no-who"])).await?;
        let mut piped = self.lines_of(Tool::Watchnew, target, &[])?;
        let mut piped_without = self.lines_of(Tool::Watchnew, target, &["--no-who"])?;
        piped.wait_ready(READY_LIMIT).await?;
        piped_without.wait_ready(READY_LIMIT).await?;
        live.wait_synced().await?;
        live_without.wait_synced().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let labels = [
            "kubectl watchnew, live view in tmux (WHO on)",
            "kubectl watchnew, live view in tmux --no-who",
            "kubectl watchnew, piped (WHO on)",
            "kubectl watchnew, piped --no-who",
        ];
        let pids = [live.pid, live_without.pid, piped.pid, piped_without.pid];
        let ready = self.samples(&pids);
        // The live view's rows name writers while the churn goes on (at its end, the rows shown are deletions,
        // which name no one).
        let churning = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let looked = tokio::spawn({
            let churning = churning.clone();
            async move {
                while churning.load(std::sync::atomic::Ordering::Relaxed) {
                    if tmux(&["capture-pane", "-p", "-t", "who-on"]).is_ok_and(|screen| who_named(&screen)) {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                false
            }
        });
        let record = churn::run(&self.client, "who", rate, total, false).await?;
        churning.store(false, std::sync::atomic::Ordering::Relaxed);
        let named_on_screen = looked.await?;
        let changes = record.changes.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        let count = |observed: &Observed| observed.output.lock().expect("output").events.len() as u64;
        while Instant::now() < deadline
            && [&piped, &piped_without]
                .iter()
                .any(|observed| count(observed) < changes)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let shown = TmuxView::wait_shown([&live, &live_without], changes, deadline).await?;
        let after = self.samples(&pids);
        let short = |shown| TmuxView::short_of(shown, changes);
        let ended = [short(shown[0]), short(shown[1]), piped.exited(), piped_without.exited()];
        let reported = [shown[0], shown[1], Some(count(&piped)), Some(count(&piped_without))];
        piped.stop().await?;
        piped_without.stop().await?;
        live.stop()?;
        live_without.stop()?;
        Ok(WhoCost {
            rate,
            changes,
            achieved_rate: record.achieved_rate(),
            failed_requests: record.failures,
            first_failure: record.first_failure.clone(),
            pods,
            named_on_screen,
            observers: churn_observers(&labels, &ready, &after, &reported, record.elapsed, &ended),
            run: None,
        })
    }

    /// The live view of this build and of the build in `baseline`, side by side under one churn.
    async fn live_view_cost(
        &self,
        target: &[String],
        rate: u32,
        total: u64,
        pods: usize,
        baseline: &std::path::Path,
    ) -> Result<LiveViewCost> {
        say(format!(
            "the live view against the baseline: {total} changes at {rate} changes/s"
        ));
        let baseline = std::fs::canonicalize(baseline)
            .with_context(|| format!("the earlier build's folder {}", baseline.display()))?;
        let before_environment: Vec<(String, String)> = self
            .environment
            .iter()
            .map(|(key, value)| match key.as_str() {
                "PATH" => (key.clone(), format!("{}:{value}", baseline.display())),
                _ => (key.clone(), value.clone()),
            })
            .collect();
        let version = |environment: &[(String, String)]| -> String {
            std::process::Command::new("kubectl")
                .args(["watchnew", "--version"])
                .envs(environment.iter().map(|(key, value)| (key.as_str(), value.as_str())))
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
                .unwrap_or_default()
        };
        let (now_version, before_version) = (version(&self.environment), version(&before_environment));
        let now = TmuxView::start("lv-now", &self.environment, &Tool::Watchnew.args(target, &[])).await?;
        let before = TmuxView::start("lv-before", &before_environment, &Tool::Watchnew.args(target, &[])).await?;
        now.wait_synced().await?;
        before.wait_synced().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let labels = [
            "kubectl watchnew, live view in tmux (this build)",
            "kubectl watchnew, live view in tmux (the baseline)",
        ];
        let pids = [now.pid, before.pid];
        let ready = self.samples(&pids);
        let record = churn::run(&self.client, "lv", rate, total, false).await?;
        let changes = record.changes.len() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        let shown = TmuxView::wait_shown([&now, &before], changes, deadline).await?;
        let after = self.samples(&pids);
        let ended = shown.map(|shown| TmuxView::short_of(shown, changes));
        now.stop()?;
        before.stop()?;
        Ok(LiveViewCost {
            rate,
            changes,
            achieved_rate: record.achieved_rate(),
            failed_requests: record.failures,
            first_failure: record.first_failure.clone(),
            pods,
            now: now_version,
            before: before_version,
            observers: churn_observers(&labels, &ready, &after, &shown, record.elapsed, &ended),
            run: None,
        })
    }

    /// A watcher run through kubectl, piped, whose lines are counted.
    fn counted(&self, tool: Tool, target: &[String], extra: &[&str]) -> Result<Observed> {
        self.piped(tool, target, extra, StdoutUse::Count)
    }

    /// A watcher run through kubectl, piped, whose lines reporting changes of churn objects are kept.
    fn lines_of(&self, tool: Tool, target: &[String], extra: &[&str]) -> Result<Observed> {
        self.piped(tool, target, extra, StdoutUse::ChurnLines)
    }

    fn piped(&self, tool: Tool, target: &[String], extra: &[&str], stdout_use: StdoutUse) -> Result<Observed> {
        Observed::spawn(
            "kubectl",
            &tool.args(target, extra),
            &self.environment,
            tool.signal(),
            stdout_use,
        )
    }

    /// How many pods exist in the cluster.
    async fn count_pods(&self) -> Result<u64> {
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(self.client.clone());
        let page = pods.list_metadata(&ListParams::default().limit(1)).await?;
        Ok(page.items.len() as u64 + page.metadata.remaining_item_count.unwrap_or(0).max(0) as u64)
    }

    /// CPU time and resident memory of each process, where it still runs.
    fn samples(&self, pids: &[u32]) -> Vec<Option<Sample>> {
        pids.iter()
            .map(|&pid| {
                Some(Sample {
                    cpu: observe::cpu_time(pid, self.clock_ticks).ok()?,
                    rss_kib: observe::memory_kib(pid, "VmRSS").ok()?,
                })
            })
            .collect()
    }
}

/// The churn's changes, as the ground truth a watcher is checked against.
fn made_by(record: &churn::Record) -> Vec<truth::Made<'_>> {
    let answered = record.changes.iter().map(|change| (change, true));
    let unanswered = record.unanswered.iter().map(|change| (change, false));
    answered
        .chain(unanswered)
        .map(|(change, answered)| truth::Made {
            name: &change.name,
            event: change.event,
            nth: change.nth,
            sent: change.sent,
            answered,
        })
        .collect()
}

/// What a watcher printed, as the ground truth's check reads it.
fn reported(events: &[observe::Seen]) -> Vec<truth::Reported<'_>> {
    events
        .iter()
        .map(|seen| truth::Reported {
            name: &seen.name,
            event: &seen.event,
            resource_version: &seen.resource_version,
        })
        .collect()
}

/// The watchers of a churn, from their samples when ready and after: CPU per 1,000 changes reported (each
/// watcher's own count) and of a core, memory.
/// Whether a live view's screen names the churn's writer on some row.
fn who_named(screen: &str) -> bool {
    screen.contains(churn::FIELD_MANAGER)
}

fn churn_observers(
    labels: &[&str],
    ready: &[Option<Sample>],
    after: &[Option<Sample>],
    reported: &[Option<u64>],
    elapsed: Duration,
    ended: &[Option<String>],
) -> Vec<Observer> {
    (0..labels.len())
        .map(|index| {
            let cpu = match (&ready[index], &after[index]) {
                (Some(from), Some(to)) => Some((to.cpu - from.cpu).as_secs_f64()),
                _ => None,
            };
            Observer {
                observer: labels[index].to_string(),
                rss_ready_mib: ready[index].as_ref().map(|sample| sample.rss_kib as f64 / 1024.0),
                rss_after_mib: after[index].as_ref().map(|sample| sample.rss_kib as f64 / 1024.0),
                rss_quarters_mib: Vec::new(),
                reported: reported[index],
                cpu_ms_per_1000: cpu
                    .zip(reported[index])
                    .map(|(cpu, reported)| cpu * 1000.0 / (reported.max(1) as f64 / 1000.0)),
                cpu_percent_of_a_core: cpu.map(|cpu| cpu / elapsed.as_secs_f64() * 100.0),
                idle_cpu_percent: None,
                quiet_cpu_percent: None,
                truth: None,
                ended: ended[index].clone(),
                said: Vec::new(),
            }
        })
        .collect()
}

struct Sample {
    cpu: Duration,
    rss_kib: u64,
}

/// Each change the churn made, by object, event type and which of that type it is.
type Expected = HashMap<(String, String, u8), Instant>;

fn expected_events(record: &churn::Record) -> Expected {
    record
        .changes
        .iter()
        .map(|change| ((change.name.clone(), change.event.to_string(), change.nth), change.sent))
        .collect()
}

struct Matching {
    /// One per change reported, from its request to its output.
    latencies_ms: Vec<f64>,
    /// Events whose object and resourceVersion were reported before.
    duplicates: usize,
    /// Events no change of the churn explains.
    unexpected: usize,
}

/// One churn and what a watcher reported of it.
struct Churned {
    record: churn::Record,
    expected: usize,
    matching: Matching,
    closed_watchers: u64,
}

impl Churned {
    fn into_latency(self, tool: &str, rate: u32, cpu: Option<Duration>, ended: Option<String>) -> Latency {
        let mut latencies = self.matching.latencies_ms;
        latencies.sort_by(f64::total_cmp);
        Latency {
            tool: tool.to_string(),
            rate,
            achieved_rate: self.record.achieved_rate(),
            changes: self.expected,
            failed_requests: self.record.failures,
            reported: latencies.len(),
            lost: self.expected - latencies.len(),
            duplicates: self.matching.duplicates,
            unexpected: self.matching.unexpected,
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            max_ms: latencies.last().copied().unwrap_or(f64::NAN),
            cpu_ms_per_1000: cpu.map(|cpu| cpu.as_secs_f64() * 1000.0 / (latencies.len().max(1) as f64 / 1000.0)),
            ended,
            closed_watchers: self.closed_watchers,
        }
    }
}

fn match_events(events: &[observe::Seen], expected: &Expected) -> Matching {
    let mut versions = HashSet::new();
    let mut counts: HashMap<(&str, &str), u8> = HashMap::new();
    let mut matching = Matching {
        latencies_ms: Vec::new(),
        duplicates: 0,
        unexpected: 0,
    };
    for event in events {
        if !versions.insert((event.name.as_str(), event.resource_version.as_str())) {
            matching.duplicates += 1;
            continue;
        }
        let count = counts.entry((event.name.as_str(), event.event.as_str())).or_default();
        let nth = *count;
        *count += 1;
        match expected.get(&(event.name.clone(), event.event.clone(), nth)) {
            Some(sent) => matching
                .latencies_ms
                .push(event.at.saturating_duration_since(*sent).as_secs_f64() * 1000.0),
            None => matching.unexpected += 1,
        }
    }
    matching
}

fn percentile(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * quantile).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A client of the benchmark's own, asking for gzip as both tools do.
async fn client(kubeconfig: &std::path::Path) -> Result<kube::Client> {
    client_at(kubeconfig, None, true).await
}

/// A client for another address of the same server (a link), with or without gzip. Streamed lists must be
/// read without: kube-apiserver gzips them one member per event, and the decompression reads the first only.
async fn client_at(kubeconfig: &std::path::Path, server: Option<&str>, compressed: bool) -> Result<kube::Client> {
    let mut config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).context("reading the kubeconfig")?,
        &KubeConfigOptions::default(),
    )
    .await?;
    if let Some(server) = server {
        config.cluster_url = server.parse()?;
    }
    config.disable_compression = !compressed;
    Ok(kube::Client::try_from(config)?)
}

/// The live view on a real terminal: a tmux session of its own, 200 columns by 50 rows, on the benchmark's
/// tmux server.
struct TmuxView {
    pid: u32,
    session: &'static str,
}

const TMUX_SOCKET: &str = "watchnew-bench";

impl TmuxView {
    async fn start(session: &'static str, environment: &[(String, String)], args: &[String]) -> Result<TmuxView> {
        // A session left by a run that failed is stopped, and gone, before a new one starts under its name.
        // The session names are no prefix of one another: tmux matches them so.
        let target = session.to_string();
        let _ = tmux(&["kill-session", "-t", &target]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tmux(&["has-session", "-t", &target]).is_ok() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut command: Vec<String> = ["new-session", "-d", "-s", session, "-x", "200", "-y", "50"]
            .map(String::from)
            .to_vec();
        // The environment goes on the command line: the shell tmux starts may reset what `-e` sets, PATH included.
        let assignments: Vec<String> = environment
            .iter()
            .map(|(key, value)| format!("{key}='{}'", value.replace('\'', r"'\''")))
            .collect();
        command.push(format!("exec env {} kubectl {}", assignments.join(" "), args.join(" ")));
        tmux(&command.iter().map(String::as_str).collect::<Vec<_>>())?;
        let pane: u32 = tmux(&["display-message", "-p", "-t", &target, "#{pane_pid}"])?
            .trim()
            .parse()
            .context("tmux's pane pid")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // kubectl runs the plugin in its own process (exec), whose name is cut to 15 characters.
            if let Some(pid) = observe::find_descendant(pane, "kubectl-watchn") {
                return Ok(TmuxView { pid, session });
            }
            if Instant::now() > deadline {
                bail!(
                    "the live view did not start in tmux: {}",
                    tmux(&["capture-pane", "-p", "-t", &target])?
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn target(&self) -> String {
        self.session.to_string()
    }

    /// Waits, until `deadline`, for each view's status line to count `changes`: a live view's CPU counts only once
    /// it has shown them all. What each counted at the end.
    async fn wait_shown<const N: usize>(
        views: [&TmuxView; N],
        changes: u64,
        deadline: Instant,
    ) -> Result<[Option<u64>; N]> {
        loop {
            let mut shown = [None; N];
            for (shown, view) in shown.iter_mut().zip(views) {
                *shown = view.changes_shown()?;
            }
            if shown.iter().all(|shown| *shown >= Some(changes)) || Instant::now() >= deadline {
                return Ok(shown);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Why a view's figures are short, when it did not show every change.
    fn short_of(shown: Option<u64>, changes: u64) -> Option<String> {
        (shown < Some(changes)).then(|| format!("showed {shown:?} of the {changes} changes"))
    }

    /// Waits until the status line no longer says it is syncing.
    async fn wait_synced(&self) -> Result<()> {
        let deadline = Instant::now() + READY_LIMIT;
        loop {
            let screen = self.capture()?;
            if screen.contains("watching since") {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the live view never synced:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn capture(&self) -> Result<String> {
        tmux(&["capture-pane", "-p", "-t", &self.target()])
    }

    /// The number of changes the status line says were shown: `1234 changes (56.7/s) · reconnects 0 …`.
    fn changes_shown(&self) -> Result<Option<u64>> {
        let screen = self.capture()?;
        Ok(screen.lines().find_map(|line| {
            let (count, _) = line.split_once(" changes (")?;
            count.trim().rsplit(' ').next()?.parse().ok()
        }))
    }

    fn stop(&self) -> Result<()> {
        tmux(&["kill-session", "-t", &self.target()]).map(|_| ())
    }

    /// Quits as a person would (`q`), and waits until the program has ended.
    async fn quit(&self) -> Result<()> {
        tmux(&["send-keys", "-t", &self.target(), "q"])?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
            if Instant::now() > deadline {
                bail!("the live view did not quit on q:\n{}", self.capture()?);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}

impl Drop for TmuxView {
    /// Also when the run fails on the way: no terminal and no live view are left behind.
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.target()]);
    }
}

fn tmux(args: &[&str]) -> Result<String> {
    let output = std::process::Command::new("tmux")
        .args(["-L", TMUX_SOCKET])
        .args(args)
        .output()
        .context("running tmux")?;
    if !output.status.success() {
        bail!(
            "tmux {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
