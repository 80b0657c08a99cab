//! The figures, as JSON and as the Markdown of BENCHMARKS.md, with the targets checked against them.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::audit::Requests;
pub use crate::largest::Largest;
use crate::truth::TruthCheck;

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub apiserver: String,
    pub kubectl: String,
    pub watchnew: String,
    pub date: String,
    /// The commit of the benchmark's own source (the tree it ran from), with `+changes` if it had any.
    pub commit: String,
    pub sizes: Vec<usize>,
    pub repeats: usize,
}

/// Which run a section's figures come from: a spliced section stamps its own.
#[derive(Debug, Clone, Serialize)]
pub struct RunStamp {
    pub date: String,
    pub commit: String,
    pub command: String,
}

/// One start of a tool: until it was ready, its peak memory, the requests it made.
#[derive(Debug, Serialize)]
pub struct Start {
    pub ready_seconds: f64,
    pub peak_rss_mib: f64,
    pub requests: Requests,
    /// Over a link: what came from the API server and what went to it, until the tool was stopped.
    pub megabytes_received: Option<f64>,
    pub megabytes_sent: Option<f64>,
    /// What the start cost the API server, from its /proc: CPU from the tool's start to its being ready, and
    /// its peak resident memory meanwhile (VmHWM, reset just before).
    #[serde(default)]
    pub apiserver_cpu_seconds: Option<f64>,
    #[serde(default)]
    pub apiserver_peak_mib: Option<f64>,
    /// kubectl-watchnew over a slow link lists what exists as metadata and reads the whole objects after it:
    /// when they were all in, from the start. The bytes and the API server's cost above run until then.
    #[serde(default)]
    pub whole_objects_seconds: Option<f64>,
}

/// The API server's CPU seconds and peak MiB during a start.
pub(crate) type ApiServerCost = (f64, f64);

#[derive(Debug, Serialize)]
pub struct StartRow {
    pub scenario: String,
    pub objects: usize,
    pub watchnew: Vec<Start>,
    pub kubectl: Vec<Start>,
    /// kubectl-watchnew with `--disable-compression`: whether gzip pays on loopback.
    pub watchnew_uncompressed: Vec<Start>,
    /// kubectl-watchnew with `--streaming-lists` (ready at its Synced line): the API server's cost of a
    /// streamed initial list against pages.
    pub watchnew_streaming: Vec<Start>,
    pub list_floor_seconds: Vec<f64>,
}

/// Both tools started over one network link, with one output.
#[derive(Debug, Serialize)]
pub struct LinkRow {
    pub link: String,
    pub output: String,
    pub objects: usize,
    pub watchnew: Vec<Start>,
    pub kubectl: Vec<Start>,
}

impl LinkRow {
    fn received(starts: &[Start]) -> f64 {
        median(starts.iter().filter_map(|start| start.megabytes_received))
    }
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub tool: String,
    pub rate: u32,
    pub achieved_rate: f64,
    pub changes: usize,
    pub failed_requests: u64,
    pub reported: usize,
    pub lost: usize,
    pub duplicates: usize,
    pub unexpected: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Missing for the raw watch, which runs inside the benchmark.
    pub cpu_ms_per_1000: Option<f64>,
    /// Set when the tool stopped before the run was over.
    pub ended: Option<String>,
    /// Watches the API server closed in the run because their client fell behind.
    pub closed_watchers: u64,
}

#[derive(Debug, Serialize)]
pub struct Observer {
    pub observer: String,
    /// Each figure is missing where the process no longer ran.
    pub rss_ready_mib: Option<f64>,
    pub rss_after_mib: Option<f64>,
    /// After each quarter of the changes.
    pub rss_quarters_mib: Vec<Option<f64>>,
    /// The changes it reported (its own count: the live view's status line, the lines of the piped output);
    /// its CPU is per 1,000 of them.
    pub reported: Option<u64>,
    pub cpu_ms_per_1000: Option<f64>,
    pub cpu_percent_of_a_core: Option<f64>,
    pub idle_cpu_percent: Option<f64>,
    /// Watching before any change, nothing on screen moving (over `QUIET_WINDOW`).
    pub quiet_cpu_percent: Option<f64>,
    /// What it reported against the churn's ground truth, where its output says change by change.
    pub truth: Option<TruthCheck>,
    /// Set when the process stopped before the run was over.
    pub ended: Option<String>,
    /// What it said on stderr of its watch's interruptions and relists, each with its time from its start.
    pub said: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Endurance {
    pub rate: u32,
    pub changes: u64,
    pub achieved_rate: f64,
    pub failed_requests: u64,
    /// Pods in the cluster before and after: failed requests can leave churned pods behind.
    pub pods_before: u64,
    pub pods_after: u64,
    pub observers: Vec<Observer>,
}

/// What watching the Events costs, under churn with two Events per pod.
#[derive(Debug, Serialize)]
pub struct EventsCost {
    pub rate: u32,
    pub changes: u64,
    pub events: u64,
    pub achieved_rate: f64,
    pub failed_requests: u64,
    pub first_failure: Option<String>,
    /// Pods in the cluster besides the churned ones.
    pub pods: usize,
    /// The live view's screen showed one of the churn's Events on a row at the end.
    pub joined_on_screen: bool,
    pub observers: Vec<Observer>,
    /// Set when the section was measured on its own (`--only-events`) and spliced into another run's report.
    pub run: Option<RunStamp>,
}

/// What saying who changed each object costs, under churn.
#[derive(Debug, Serialize)]
pub struct WhoCost {
    pub rate: u32,
    pub changes: u64,
    pub achieved_rate: f64,
    pub failed_requests: u64,
    pub first_failure: Option<String>,
    /// Pods in the cluster besides the churned ones.
    pub pods: usize,
    /// The live view's screen named a writer in WHO at the end.
    pub named_on_screen: bool,
    pub observers: Vec<Observer>,
    /// Set when the section was measured on its own (`--only-who`) and spliced into another run's report.
    pub run: Option<RunStamp>,
}

/// The live view of this build against the same view of an earlier build (`--baseline`), side by side under
/// one churn: what a change to the view costs, measured in one run.
#[derive(Debug, Serialize)]
pub struct LiveViewCost {
    pub rate: u32,
    pub changes: u64,
    pub achieved_rate: f64,
    pub failed_requests: u64,
    pub first_failure: Option<String>,
    /// Pods in the cluster besides the churned ones.
    pub pods: usize,
    /// What each build says of itself (`--version`): this one, and the one before.
    pub now: String,
    pub before: String,
    pub observers: Vec<Observer>,
    /// Set when the section was measured on its own (`--only-live-view`) and spliced into another run's report.
    pub run: Option<RunStamp>,
}

/// What the header says of the figures, until a section of another run is spliced in.
const ONE_RUN: &str = "every figure below comes from that one run.";
const SPLICED_RUNS: &str = "every figure below comes from that one run, except in a section marked *spliced*, \
                            whose figures come from the run it names (its date and commit).";

/// The line that says which run a spliced section comes from.
pub(crate) fn stamp_line(out: &mut String, run: &Option<RunStamp>) {
    if let Some(run) = run {
        let _ = writeln!(
            out,
            "*Spliced: this section comes from `{}`, run on {} on commit {}; the rest of the report from the run \
             in its header.*\n",
            run.command, run.date, run.commit
        );
    }
}

/// The title of the Events' section, where `--only-events` puts it back.
const EVENTS_TITLE: &str = "## What the Events cost";
/// The title of the section on every kind, several contexts and a recording, where `--only-sources` puts it
/// back.
const SOURCES_TITLE: &str = "## Every kind, several contexts, a recording";

/// The title of WHO's section, where `--only-who` puts it back.
const WHO_TITLE: &str = "## What WHO costs";

/// The title of the live view's section before and after, where `--only-live-view` puts it back.
const LIVE_VIEW_TITLE: &str = "## The live view, before and after";

/// Writes the live view's section into the report already there, and the figures into the JSON's `live_view`.
pub fn splice_live_view(cost: &LiveViewCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(
        markdown,
        json,
        LIVE_VIEW_TITLE,
        &live_view_markdown(cost),
        "live_view",
        cost,
    )
}

/// Writes WHO's section into the report already there, and the figures into the JSON's `who`.
pub fn splice_who(cost: &WhoCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(markdown, json, WHO_TITLE, &who_markdown(cost), "who", cost)
}

/// Writes the fleet's section into the report already there, and the figures into the JSON's `fleet`.
pub fn splice_fleet(cost: &crate::fleet::FleetCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(markdown, json, crate::fleet::TITLE, &cost.markdown(), "fleet", cost)
}

/// Writes the export's section into the report already there, and the figures into the JSON's `export`.
pub fn splice_export(cost: &crate::export::ExportCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(markdown, json, crate::export::TITLE, &cost.markdown(), "export", cost)
}

/// Writes the Events' section into the report already there, and the figures into the JSON's `events`.
pub fn splice_events(cost: &EventsCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(markdown, json, EVENTS_TITLE, &events_markdown(cost), "events", cost)
}

/// Writes the largest size's section into the report already there, and the figures into `largest`.
pub fn splice_largest(largest: &Largest, markdown: &Path, json: &Path) -> Result<()> {
    splice(
        markdown,
        json,
        crate::largest::TITLE,
        &largest.markdown(),
        "largest",
        largest,
    )
}

/// Writes the section on every kind, several contexts and a recording into the report already there, and the
/// figures into `sources`.
pub fn splice_sources(cost: &SourcesCost, markdown: &Path, json: &Path) -> Result<()> {
    splice(markdown, json, SOURCES_TITLE, &sources_markdown(cost), "sources", cost)
}

/// Puts `section` (which starts with `title`) in place of the report's section of that title (or at its end),
/// and `value` in place of the JSON's top-level `key` (or at its end): the other figures stay as they are, in
/// their order.
fn splice(markdown: &Path, json: &Path, title: &str, section: &str, key: &str, value: &impl Serialize) -> Result<()> {
    let existing = std::fs::read_to_string(markdown)
        .unwrap_or_default()
        .replace(ONE_RUN, SPLICED_RUNS);
    let updated = match existing.find(title) {
        Some(start) => {
            let end = existing[start + title.len()..]
                .find("\n## ")
                .map_or(existing.len(), |offset| start + title.len() + offset + 1);
            format!("{}{section}{}", &existing[..start], &existing[end..])
        }
        None => format!("{}\n{section}", existing.trim_end()),
    };
    std::fs::write(markdown, updated).with_context(|| format!("writing {}", markdown.display()))?;
    // serde_json writes two spaces before each top-level key, more before any other.
    let existing = std::fs::read_to_string(json).unwrap_or_default();
    let body = existing.trim_end().trim_end_matches('}').trim_end();
    let field = format!("\n  \"{key}\": ");
    let (before, after) = match body.find(&field) {
        Some(at) => {
            let rest = &body[at + field.len()..];
            let after = rest.find("\n  \"").map_or("", |end| &rest[end..]);
            (body[..at].trim_end_matches(','), after)
        }
        None => (body, ""),
    };
    let value = serde_json::to_string_pretty(value)?.replace('\n', "\n  ");
    let updated = if before.trim().is_empty() {
        format!("{{\n  \"{key}\": {value}{after}\n}}\n")
    } else if after.is_empty() {
        format!("{before},\n  \"{key}\": {value}\n}}\n")
    } else {
        format!("{before},\n  \"{key}\": {value},{after}\n}}\n")
    };
    serde_json::from_str::<serde_json::Value>(&updated).context("the spliced report is not JSON")?;
    std::fs::write(json, updated).with_context(|| format!("writing {}", json.display()))
}

/// Every kind, two contexts and a recording, against the plain pods watch, on the same cluster.
#[derive(Debug, Serialize)]
pub struct SourcesCost {
    pub pods: usize,
    pub crds: usize,
    pub custom_objects: usize,
    /// What `--all-kinds -A` said when it had synced: the kinds it watched.
    pub synced_line: String,
    pub pods_only: Vec<Start>,
    pub all_kinds: Vec<Start>,
    /// `pods -A --context a,b`, two contexts of the same cluster.
    pub two_contexts: Vec<Start>,
    pub recording: RecordingCost,
    /// Set when the section was measured on its own (`--only-sources`) and spliced into another run's report.
    pub run: Option<RunStamp>,
}

/// What `--record` costs under churn, and what replaying the recording takes.
#[derive(Debug, Serialize)]
pub struct RecordingCost {
    pub rate: u32,
    pub changes: u64,
    pub achieved_rate: f64,
    /// `-o json` and `-o json --record`, side by side.
    pub observers: Vec<Observer>,
    pub file_megabytes: f64,
    pub recorded_changes: u64,
    pub replay_seconds: f64,
    pub replay_peak_mib: f64,
}

fn sources_markdown(cost: &SourcesCost) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{SOURCES_TITLE}\n");
    stamp_line(&mut out, &cost.run);
    let pods = StartRow::ready(&cost.pods_only);
    let _ = writeln!(
        out,
        "Three starts of kubectl-watchnew, in turn, {} times each (the median shown), on the same cluster: {} pods, \
         every built-in kind, and {} CRDs with {} objects in all. `--all-kinds -A` watches each kind in its own \
         stream, with its own LIST; it said: \"{}\". `--context a,b` names two contexts of this one cluster, so \
         that it reads everything twice. Ready: every kind in {:.2}× the time of `pods -A` (the target: at most \
         2×), two contexts in {:.2}×.\n",
        cost.pods_only.len(),
        cost.pods,
        cost.crds,
        cost.custom_objects,
        cost.synced_line,
        StartRow::ready(&cost.all_kinds) / pods,
        StartRow::ready(&cost.two_contexts) / pods,
    );
    let _ = writeln!(out, "| watch | ready | peak memory | requests |");
    let _ = writeln!(out, "|---|---:|---:|---|");
    for (name, starts) in [
        ("pods -A", &cost.pods_only),
        ("--all-kinds -A", &cost.all_kinds),
        ("pods -A --context a,b", &cost.two_contexts),
    ] {
        let _ = writeln!(
            out,
            "| `{name}` | {:.2} s | {:.1} MiB | {} |",
            StartRow::ready(starts),
            StartRow::peak(starts),
            StartRow::requests(starts)
        );
    }
    let r = &cost.recording;
    let _ = writeln!(
        out,
        "\nA recording: pods churned on `pods -A -o json`, {} changes asked at {}/s ({:.0}/s achieved), watched \
         side by side with and without `--record`. The recording holds {} changes in {:.1} MB ({:.1} kB per \
         change: the object, kubectl's cells, what changed). `--replay FILE -o json` printed them all in {:.2} s, \
         at {:.1} MiB at most.\n",
        r.changes,
        r.rate,
        r.achieved_rate,
        r.recorded_changes,
        r.file_megabytes,
        r.file_megabytes * 1000.0 / (r.recorded_changes.max(1) as f64),
        r.replay_seconds,
        r.replay_peak_mib
    );
    let _ = writeln!(
        out,
        "| watcher | memory after | CPU per 1,000 changes reported | CPU during churn |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for o in &r.observers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            o.observer,
            figure(o.rss_after_mib, |mib| format!("{mib:.1} MiB")),
            figure(o.cpu_ms_per_1000, |ms| format!("{ms:.0} ms")),
            figure(o.cpu_percent_of_a_core, |percent| format!("{percent:.1}% of a core")),
        );
    }
    stopped_early(&mut out, &r.observers);
    out
}

/// A line for each watcher that stopped before the run was over, and what each said of its watch.
pub(crate) fn stopped_early(out: &mut String, observers: &[Observer]) {
    for o in observers.iter().filter(|o| !o.said.is_empty()) {
        let _ = writeln!(out, "\n{} said of its watch: {}", o.observer, o.said.join(" | "));
    }
    for o in observers.iter().filter(|o| o.ended.is_some()) {
        let _ = writeln!(
            out,
            "\n{} stopped before the end: {}",
            o.observer,
            o.ended.as_deref().unwrap_or("")
        );
    }
}

/// The first failed request of a churn, if any, and a table of what each watcher took.
pub(crate) fn churn_table(out: &mut String, first_failure: &Option<String>, observers: &[Observer]) {
    if let Some(failure) = first_failure {
        let _ = writeln!(out, "The first failed request: {failure}\n");
    }
    let _ = writeln!(
        out,
        "| watcher | memory when ready | memory after | CPU per 1,000 changes reported | CPU during churn |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for o in observers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            o.observer,
            figure(o.rss_ready_mib, |v| format!("{v:.1} MiB")),
            figure(o.rss_after_mib, |v| format!("{v:.1} MiB")),
            figure(o.cpu_ms_per_1000, |v| format!("{v:.0} ms")),
            figure(o.cpu_percent_of_a_core, |v| format!("{v:.1}% of a core")),
        );
    }
}

fn events_markdown(e: &EventsCost) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{EVENTS_TITLE}\n");
    stamp_line(&mut out, &e.run);
    let _ = writeln!(
        out,
        "The rows and lines say why an object changed by joining the Events about it, from a second watch (on \
         `events.k8s.io/v1`). Its cost, measured: pods churned on `pods -A` ({} pods in the cluster besides), {} \
         changes asked at {}/s ({:.0}/s achieved, {} failed requests), and for each pod the two Events a \
         scheduler and a kubelet write (`Scheduled`, `Started`; {} Events in all). Three watchers side by side: \
         the live view in a 200×50 tmux terminal with the Events on (the default), and the piped lines with \
         and without `--no-events`. The difference between the two piped watchers is the Events' cost. Memory \
         is VmRSS when ready and after the churn. The live view showed the churn's Events on its rows at the \
         end: {}.\n",
        e.pods,
        e.changes,
        e.rate,
        e.achieved_rate,
        e.failed_requests,
        e.events,
        if e.joined_on_screen { "yes" } else { "no" }
    );
    churn_table(&mut out, &e.first_failure, &e.observers);
    let piped = |label: &str| e.observers.iter().find(|o| o.observer == label);
    if let (Some(on), Some(off)) = (
        piped("kubectl watchnew, piped (Events on)"),
        piped("kubectl watchnew, piped --no-events"),
    ) && let (Some(cpu_on), Some(cpu_off), Some(rss_on), Some(rss_off)) = (
        on.cpu_ms_per_1000,
        off.cpu_ms_per_1000,
        on.rss_after_mib,
        off.rss_after_mib,
    ) {
        let _ = writeln!(
            out,
            "\nThe Events cost {:+.0} ms of CPU per 1,000 changes ({:+.0}%) and {:+.1} MiB of memory.",
            cpu_on - cpu_off,
            (cpu_on - cpu_off) / cpu_off * 100.0,
            rss_on - rss_off
        );
    }
    stopped_early(&mut out, &e.observers);
    out
}

fn who_markdown(w: &WhoCost) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{WHO_TITLE}\n");
    stamp_line(&mut out, &w.run);
    let _ = writeln!(
        out,
        "WHO names the writers of each change from the object's managedFields. Its cost, measured: pods churned \
         on `pods -A` ({} pods in the cluster besides), {} changes asked at {}/s ({:.0}/s achieved, {} failed \
         requests), each pod created, its status patched (a writer new to the pod's managedFields, named from \
         its entry), then deleted (a MODIFIED that sets the deletion's marks, which no entry holds: no one \
         is named), then DELETED. Four watchers side by side: the live view in a 200×50 tmux terminal and the piped lines, each \
         with WHO (the default) and with `--no-who`. Memory is VmRSS when ready and after the churn. The live \
         view named writers on its rows during the churn: {}.\n",
        w.pods,
        w.changes,
        w.rate,
        w.achieved_rate,
        w.failed_requests,
        if w.named_on_screen { "yes" } else { "no" }
    );
    churn_table(&mut out, &w.first_failure, &w.observers);
    let find = |label: &str| w.observers.iter().find(|o| o.observer == label);
    for (what, on, off) in [
        (
            "the live view",
            "kubectl watchnew, live view in tmux (WHO on)",
            "kubectl watchnew, live view in tmux --no-who",
        ),
        (
            "the piped lines",
            "kubectl watchnew, piped (WHO on)",
            "kubectl watchnew, piped --no-who",
        ),
    ] {
        if let (Some(on), Some(off)) = (find(on), find(off))
            && let (Some(cpu_on), Some(cpu_off), Some(rss_on), Some(rss_off)) = (
                on.cpu_ms_per_1000,
                off.cpu_ms_per_1000,
                on.rss_after_mib,
                off.rss_after_mib,
            )
        {
            let share = (cpu_on - cpu_off) / cpu_off * 100.0;
            let _ = writeln!(
                out,
                "\nFor {what}, WHO costs {:+.0} ms of CPU per 1,000 changes ({share:+.0}%; target <= +15%: {}) and \
                 {:+.1} MiB of memory.",
                cpu_on - cpu_off,
                if share <= 15.0 { "met" } else { "missed" },
                rss_on - rss_off
            );
        }
    }
    stopped_early(&mut out, &w.observers);
    out
}

fn live_view_markdown(l: &LiveViewCost) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{LIVE_VIEW_TITLE}\n");
    stamp_line(&mut out, &l.run);
    let _ = writeln!(
        out,
        "What a change to the live view costs, measured in one run against a baseline (the build before it, or \
         this build over HTTP/1.1 with `scripts/bench --baseline http1`): the live view of this build (`{}`) and \
         of the baseline (`{}`), each in a 200×50 tmux terminal on `pods -A`, side by \
         side under one churn ({} pods in the cluster besides, {} changes asked at {}/s, {:.0}/s achieved, {} \
         failed requests; each pod created, its status patched, deleted). Memory is VmRSS when ready and after \
         the churn.\n",
        l.now, l.before, l.pods, l.changes, l.rate, l.achieved_rate, l.failed_requests
    );
    churn_table(&mut out, &l.first_failure, &l.observers);
    if let [now, before] = l.observers.as_slice()
        && let (Some(cpu_now), Some(cpu_before)) = (now.cpu_ms_per_1000, before.cpu_ms_per_1000)
    {
        let share = (cpu_now - cpu_before) / cpu_before * 100.0;
        let memory = match (now.rss_after_mib, before.rss_after_mib) {
            (Some(now), Some(before)) => format!(" and {:+.1} MiB of memory", now - before),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\nThe live view now costs {cpu_now:.0} ms of CPU per 1,000 changes against {cpu_before:.0} ms for the baseline \
             ({share:+.0}%; target <= +10%: {}){memory}.",
            if share <= 10.0 { "met" } else { "missed" },
        );
    }
    stopped_early(&mut out, &l.observers);
    out
}

/// What the API server takes to send the whole initial state in one form, read to the end and not decoded.
#[derive(Debug, Serialize)]
pub struct FormCost {
    pub objects: usize,
    pub form: String,
    pub seconds: Vec<f64>,
    /// The API server's own CPU time (user and system) for each read, from its /proc.
    pub apiserver_cpu_seconds: Vec<f64>,
    pub megabytes: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: Machine,
    pub starts: Vec<StartRow>,
    pub links: Vec<LinkRow>,
    pub forms: Vec<FormCost>,
    pub churn_objects: usize,
    pub latencies: Vec<Latency>,
    pub endurance: Option<Endurance>,
    pub events: Option<EventsCost>,
    pub who: Option<WhoCost>,
    pub export: Option<crate::export::ExportCost>,
    pub fleet: Option<crate::fleet::FleetCost>,
    pub sources: Option<SourcesCost>,
    pub live_view: Option<LiveViewCost>,
    pub largest: Option<Largest>,
}

/// A watcher's reports against the churn's ground truth, in words.
fn truth_summary(truth: &TruthCheck) -> String {
    let mut text = format!(
        "{} of {} changes reported, {} lost, {} repeated",
        truth.reported, truth.changes, truth.lost, truth.duplicates
    );
    if truth.coalesced_after_relist > 0 || truth.relists > 0 {
        let _ = write!(
            text,
            "; {} relists, after which {} changes were not seen (a relist reports only the difference)",
            truth.relists, truth.coalesced_after_relist
        );
    }
    if truth.after_watch_ended > 0 {
        let _ = write!(text, "; {} made after its watch had ended", truth.after_watch_ended);
    }
    if truth.unanswered_reported > 0 {
        let _ = write!(
            text,
            "; {} reports of changes whose requests failed on the churn's side but that the server made",
            truth.unanswered_reported
        );
    }
    if truth.unexpected > 0 {
        let _ = write!(text, "; {} reports of objects the churn did not make", truth.unexpected);
    }
    text
}

pub(crate) fn figure(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "—".to_string(), show)
}

pub(crate) fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl StartRow {
    pub(crate) fn ready(starts: &[Start]) -> f64 {
        median(starts.iter().map(|start| start.ready_seconds))
    }
    pub(crate) fn peak(starts: &[Start]) -> f64 {
        median(starts.iter().map(|start| start.peak_rss_mib))
    }
    /// The API server's CPU seconds and peak memory during the starts (medians), where they were read.
    pub(crate) fn apiserver(starts: &[Start]) -> Option<ApiServerCost> {
        let cpu: Vec<f64> = starts.iter().filter_map(|start| start.apiserver_cpu_seconds).collect();
        let peak: Vec<f64> = starts.iter().filter_map(|start| start.apiserver_peak_mib).collect();
        (!cpu.is_empty() && !peak.is_empty()).then(|| (median(cpu), median(peak)))
    }
    /// The requests of the last start (every start of a tool makes the same ones).
    fn requests(starts: &[Start]) -> String {
        starts.last().map_or_else(String::new, |start| {
            let r = &start.requests;
            let events = if r.events > 0 {
                format!("; {} on Events", r.events)
            } else {
                String::new()
            };
            let dispatcher = if r.dispatcher > 0 {
                format!(" + {} by kubectl's dispatcher", r.dispatcher)
            } else {
                String::new()
            };
            format!(
                "{} ({} get, {} list, {} watch{events}){dispatcher}",
                r.total(),
                r.get,
                r.list,
                r.watch
            )
        })
    }
    /// The tool's own requests, its dispatcher's left out.
    fn request_total(starts: &[Start]) -> u32 {
        starts.iter().map(|start| start.requests.total()).max().unwrap_or(0)
    }
    fn events_requests(starts: &[Start]) -> u32 {
        starts.iter().map(|start| start.requests.events).max().unwrap_or(0)
    }
    fn dispatcher_requests(starts: &[Start]) -> u32 {
        starts.iter().map(|start| start.requests.dispatcher).max().unwrap_or(0)
    }
}

/// A target and whether this run met it.
pub(crate) struct Verdict {
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
    /// For a target missed: what bounds it, from other figures of the same run.
    pub(crate) bound: String,
}

impl Report {
    pub fn new(command: String, machine: Machine) -> Report {
        Report {
            command,
            machine,
            starts: Vec::new(),
            links: Vec::new(),
            forms: Vec::new(),
            churn_objects: 0,
            latencies: Vec::new(),
            endurance: None,
            events: None,
            who: None,
            export: None,
            fleet: None,
            sources: None,
            live_view: None,
            largest: None,
        }
    }

    /// This run, for a section spliced into another run's report; `option` is what measured the section alone.
    pub fn stamp(&self, option: &str) -> RunStamp {
        RunStamp {
            date: self.machine.date.clone(),
            commit: self.machine.commit.clone(),
            command: format!("{} {option}", self.command),
        }
    }

    /// Writes both files; called after each phase, so that a run cut short still leaves what it measured.
    pub fn write(&self, markdown: &Path, json: &Path) -> Result<()> {
        std::fs::write(json, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", json.display()))?;
        std::fs::write(markdown, self.markdown()).with_context(|| format!("writing {}", markdown.display()))
    }

    fn verdicts(&self) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        let largest = self.starts.iter().map(|row| row.objects).max().unwrap_or(0);
        for row in &self.starts {
            let (watchnew, kubectl) = (StartRow::ready(&row.watchnew), StartRow::ready(&row.kubectl));
            // On loopback the plugin is to be well ahead where it matters: at 10,000 objects and more.
            let share = if row.objects >= 10_000 { 0.5 } else { 1.0 };
            verdicts.push(Verdict {
                target: format!(
                    "ready ≤ {}kubectl on loopback: {}, {} objects",
                    if share < 1.0 { "0.5 × " } else { "" },
                    row.scenario,
                    row.objects
                ),
                measured: format!("{watchnew:.2} s vs {kubectl:.2} s ({:.2}×)", watchnew / kubectl),
                met: watchnew <= share * kubectl,
                bound: String::new(),
            });
            if row.objects == largest && largest >= 50_000 {
                let floor = median(row.list_floor_seconds.iter().copied());
                verdicts.push(Verdict {
                    target: format!("ready ≤ 1.3 × raw LIST: {}, {} objects", row.scenario, row.objects),
                    measured: format!("{watchnew:.2} s vs {floor:.2} s ({:.2}×)", watchnew / floor),
                    met: watchnew <= 1.3 * floor,
                    bound: String::new(),
                });
            }
            if row.objects >= 10_000 {
                let (watchnew, kubectl) = (StartRow::peak(&row.watchnew), StartRow::peak(&row.kubectl));
                verdicts.push(Verdict {
                    target: format!("peak memory ≤ 0.5 × kubectl: {}, {} objects", row.scenario, row.objects),
                    measured: format!("{watchnew:.1} MiB vs {kubectl:.1} MiB ({:.2}×)", watchnew / kubectl),
                    met: watchnew <= 0.5 * kubectl,
                    bound: String::new(),
                });
            }
            if let (Some((cpu, peak)), Some((kubectl_cpu, kubectl_peak))) =
                (StartRow::apiserver(&row.watchnew), StartRow::apiserver(&row.kubectl))
            {
                verdicts.push(Verdict {
                    target: format!(
                        "the API server's CPU for a start ≤ kubectl's: {}, {} objects",
                        row.scenario, row.objects
                    ),
                    measured: format!("{cpu:.2} s vs {kubectl_cpu:.2} s ({:.2}×)", cpu / kubectl_cpu),
                    met: cpu <= kubectl_cpu,
                    bound: String::new(),
                });
                verdicts.push(Verdict {
                    target: format!(
                        "the API server's peak memory during a start ≤ kubectl's: {}, {} objects",
                        row.scenario, row.objects
                    ),
                    measured: format!("{peak:.0} MiB vs {kubectl_peak:.0} MiB"),
                    met: peak <= kubectl_peak,
                    bound: String::new(),
                });
            }
            let (watchnew, kubectl) = (
                StartRow::request_total(&row.watchnew),
                StartRow::request_total(&row.kubectl),
            );
            let dispatcher = |starts: &[Start]| match StartRow::dispatcher_requests(starts) {
                0 => String::new(),
                n => format!(" (+{n} by kubectl's dispatcher)"),
            };
            // kubectl reads no Events: the target compares the requests for the watched kind itself.
            let events = StartRow::events_requests(&row.watchnew);
            verdicts.push(Verdict {
                target: format!(
                    "requests for the watched kind ≤ kubectl's: {}, {} objects",
                    row.scenario, row.objects
                ),
                measured: format!(
                    "{} (+{events} on Events){} vs {kubectl}{}",
                    watchnew - events,
                    dispatcher(&row.watchnew),
                    dispatcher(&row.kubectl)
                ),
                met: watchnew - events <= kubectl,
                bound: String::new(),
            });
        }
        for row in &self.links {
            let (watchnew, kubectl) = (StartRow::ready(&row.watchnew), StartRow::ready(&row.kubectl));
            let (received, kubectl_received) = (LinkRow::received(&row.watchnew), LinkRow::received(&row.kubectl));
            verdicts.push(Verdict {
                target: format!(
                    "ready ≤ kubectl over {}: pods -A, {}, {} objects",
                    row.link, row.output, row.objects
                ),
                measured: format!(
                    "{watchnew:.2} s vs {kubectl:.2} s ({:.2}×); {received:.1} MB vs {kubectl_received:.1} MB received",
                    watchnew / kubectl
                ),
                met: watchnew <= kubectl,
                bound: format!(
                    "the bytes over the link: {received:.1} MB for watchnew (whole objects to say what changed, \
                     {}), against kubectl's {kubectl_received:.1} MB",
                    match whole_objects(&row.watchnew).as_str() {
                        "—" => "read before it is ready".to_string(),
                        at => format!("read after it is ready, all in at {at}"),
                    }
                ),
            });
        }
        for latency in self.latencies.iter().filter(|l| l.tool == "kubectl watchnew") {
            if latency.rate >= 1000 {
                let floor = self
                    .latencies
                    .iter()
                    .find(|l| l.tool.starts_with("raw watch") && l.rate == latency.rate);
                let bound = floor.map_or_else(String::new, |floor| {
                    format!(
                        "the API server itself: its own delivery to a raw watch in the same run had p99 {:.0} ms \
                         and lost {} of {} changes; the churn reached {:.0} of {}/s asked. etcd, kube-apiserver, \
                         the churn and the watchers share 2 cores. watchnew's p99 is {:.2}× the raw watch's",
                        floor.p99_ms,
                        floor.lost,
                        floor.changes,
                        floor.achieved_rate,
                        floor.rate,
                        latency.p99_ms / floor.p99_ms
                    )
                });
                verdicts.push(Verdict {
                    target: format!("p99 latency ≤ 100 ms at {} changes/s", latency.rate),
                    measured: format!(
                        "{:.1} ms at {:.0} changes/s achieved",
                        latency.p99_ms, latency.achieved_rate
                    ),
                    met: latency.p99_ms <= 100.0,
                    bound,
                });
            }
            verdicts.push(Verdict {
                target: format!("no change lost at {} changes/s", latency.rate),
                measured: format!(
                    "{} of {} reported, {} duplicates",
                    latency.reported, latency.changes, latency.duplicates
                ),
                met: latency.lost == 0 && latency.duplicates == 0 && latency.unexpected == 0,
                bound: String::new(),
            });
        }
        if let Some(endurance) = &self.endurance {
            if let Some(live) = endurance.observers.first() {
                let busy = live.cpu_percent_of_a_core.unwrap_or(f64::NAN);
                let per_1000 = live.cpu_ms_per_1000.unwrap_or(f64::NAN);
                let piped = endurance
                    .observers
                    .iter()
                    .find(|o| o.observer == "kubectl watchnew, piped")
                    .and_then(|o| o.cpu_ms_per_1000);
                // Judged at the rate reached: 50 ms per 1,000 changes is 10% of a core at 1,000 changes a second.
                verdicts.push(Verdict {
                    target: "live view ≤ 50 ms of CPU per 1,000 changes (10% of a core at 1,000/s), at the rate \
                             reached"
                        .into(),
                    measured: format!(
                        "{per_1000:.0} ms per 1,000 changes at {:.0} changes/s ({busy:.1}% of a core)",
                        endurance.achieved_rate
                    ),
                    // A view that fell behind the changes has not done their work yet.
                    met: per_1000 <= 50.0 && live.ended.is_none(),
                    bound: match piped {
                        Some(piped) => format!(
                            "the work per change that needs no screen: the piped watcher of the same run, which \
                             reads the same Table events with their objects, keeps a compressed copy of each and \
                             compares it with the version before for WHAT CHANGED, but draws nothing, took \
                             {piped:.0} ms per 1,000 changes; the screen is drawn at most four times a second \
                             under churn"
                        ),
                        None => String::new(),
                    },
                });
                let quiet = live.quiet_cpu_percent.unwrap_or(f64::NAN);
                let window = crate::QUIET_WINDOW.as_secs_f64();
                // /proc counts CPU time in ticks of 10 ms: less than one tick in the window is not measurable.
                let one_tick = 0.01 / window * 100.0;
                let idle = live.idle_cpu_percent.unwrap_or(f64::NAN);
                verdicts.push(Verdict {
                    target: "live view idle: no measurable CPU".into(),
                    measured: format!(
                        "{quiet:.2}% of a core over {window:.0} s of watching with nothing changed; {idle:.2}% \
                         right after the churn, while the ages on screen count seconds"
                    ),
                    met: quiet < one_tick,
                    bound: "less than one 10 ms tick of /proc is not measurable; after changes, the live view \
                            draws once a second while a time under ten minutes is on screen (\"9m59s\"), and \
                            every ten seconds after that"
                        .into(),
                });
            }
            for observer in endurance
                .observers
                .iter()
                .filter(|o| o.observer.starts_with("kubectl watchnew"))
            {
                let Some(truth) = &observer.truth else {
                    continue;
                };
                verdicts.push(Verdict {
                    target: format!(
                        "no change lost or repeated in the long run, against the churn's ground truth ({})",
                        observer.observer
                    ),
                    measured: truth_summary(truth),
                    met: truth.lost == 0 && truth.duplicates == 0 && truth.unexpected == 0,
                    bound: String::new(),
                });
            }
            for observer in endurance
                .observers
                .iter()
                .filter(|o| o.observer.starts_with("kubectl watchnew"))
            {
                let ready = observer.rss_ready_mib.unwrap_or(f64::NAN);
                let after = observer.rss_after_mib.unwrap_or(f64::NAN);
                let growth = after - ready;
                verdicts.push(Verdict {
                    target: format!(
                        "memory after {} changes: no growth ({})",
                        endurance.changes, observer.observer
                    ),
                    measured: format!("{ready:.1} → {after:.1} MiB ({growth:+.1} MiB)"),
                    // The live view keeps bounded records (1,000 deleted rows, 10,000 timeline entries).
                    met: growth <= 16.0,
                    bound: {
                        let quarters: Vec<String> = observer
                            .rss_quarters_mib
                            .iter()
                            .map(|q| figure(*q, |v| format!("{v:.0}")))
                            .collect();
                        // The piped watcher holds the same objects: the live view's memory above it is what the
                        // view itself keeps, apart from the allocator's ups and downs that both share.
                        let piped = endurance.observers.iter().find(|o| o.observer == "kubectl watchnew, piped");
                        let above_piped: Vec<String> = piped
                            .map(|piped| {
                                observer
                                    .rss_quarters_mib
                                    .iter()
                                    .zip(&piped.rss_quarters_mib)
                                    .map(|(live, piped)| match (live, piped) {
                                        (Some(live), Some(piped)) => format!("{:.0}", live - piped),
                                        _ => "—".to_string(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        let history = if observer.observer.contains("live view") {
                            format!(
                                "the live view keeps, by design, the last 10,000 changes (its timeline, each with \
                                 its cells and WHAT CHANGED) and up to 1,000 deleted rows, full after the first \
                                 quarter; its memory above the piped watcher's, which holds the same objects, after \
                                 each quarter: {} MiB; ",
                                above_piped.join(" → ")
                            )
                        } else {
                            String::new()
                        };
                        format!(
                            "{history}after each quarter of the changes: {} MiB; pods in the cluster: {} before, {} after",
                            quarters.join(" → "),
                            endurance.pods_before,
                            endurance.pods_after
                        )
                    },
                });
            }
        }
        if let Some(largest) = &self.largest {
            verdicts.extend(largest.verdicts());
        }
        verdicts
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(out, "# Benchmarks\n");
        let _ = writeln!(
            out,
            "Generated by `{}` (benches/side_by_side); {ONE_RUN} Rerun it to check them on your machine.\n",
            self.command
        );
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| date | {} |", m.date);
        let _ = writeln!(out, "| commit | {} (the benchmark's own tree) |", m.commit);
        let _ = writeln!(
            out,
            "| machine | {}, {} cores, {:.0} GiB, Linux {} |",
            m.cpu, m.cores, m.memory_gib, m.kernel
        );
        let _ = writeln!(
            out,
            "| API server | kube-apiserver {} and etcd from scripts/cluster, on the same machine |",
            m.apiserver
        );
        let _ = writeln!(out, "| kubectl | {} |", m.kubectl);
        let _ = writeln!(out, "| kubectl-watchnew | {} |", m.watchnew);
        let _ = writeln!(
            out,
            "| repeats | each start measured {} times; medians shown |\n",
            m.repeats
        );

        let _ = writeln!(out, "## Targets\n");
        targets_table(&mut out, &self.verdicts());

        let _ = writeln!(out, "\n## Start: time to ready, peak memory, requests\n");
        let _ = writeln!(
            out,
            "Ready: from the program's start to the moment the API server answered its watch of the kind (the \
             watch request's `ResponseStarted` entry in kube-apiserver's audit log, on the server's clock, which \
             is this machine's): the same moment for both tools, from the same source, after the initial list. \
             Both run through `kubectl` (the plugin as `kubectl watchnew`), piped, with the default human output. \
             The raw LIST is the floor: pages of 500 on a new connection from inside the benchmark, with no \
             program start, discovery or rendering. Peak memory is VmHWM from /proc. Requests are the get, list \
             and watch requests in the audit log, each counted once: the tool's own, with those on Events (which \
             kubectl-watchnew watches for the latest Event of each row) said, and apart from them the version \
             check that this kubectl's dispatcher makes before it runs anything (`{}`).\n",
            m.kubectl
        );
        let _ = writeln!(
            out,
            "| objects | scenario | ready: watchnew | ready: kubectl | raw LIST | watchnew / kubectl | watchnew / LIST | watchnew without gzip | peak: watchnew | peak: kubectl | ratio | requests: watchnew | requests: kubectl |"
        );
        let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        for row in &self.starts {
            let (w, k) = (StartRow::ready(&row.watchnew), StartRow::ready(&row.kubectl));
            let floor = median(row.list_floor_seconds.iter().copied());
            let (wp, kp) = (StartRow::peak(&row.watchnew), StartRow::peak(&row.kubectl));
            let uncompressed = StartRow::ready(&row.watchnew_uncompressed);
            let _ = writeln!(
                out,
                "| {} | {} | {w:.2} s | {k:.2} s | {floor:.2} s | {:.2} | {:.2} | {uncompressed:.2} s | {wp:.1} MiB | {kp:.1} MiB | {:.2} | {} | {} |",
                row.objects,
                row.scenario,
                w / k,
                w / floor,
                wp / kp,
                StartRow::requests(&row.watchnew),
                StartRow::requests(&row.kubectl),
            );
        }
        // A start taken for one over a slow link here (a first page over 250 ms) reads the whole objects after
        // the sync: said, since its API server cost then runs until they are in.
        let read_after: Vec<String> = self
            .starts
            .iter()
            .filter(|row| row.watchnew.iter().any(|start| start.whole_objects_seconds.is_some()))
            .map(|row| format!("{} {} ({})", row.objects, row.scenario, whole_objects(&row.watchnew)))
            .collect();
        let _ = writeln!(
            out,
            "\nStarts of kubectl-watchnew whose first page was slow enough to read the rest as metadata and the \
             whole objects after the sync (their API server cost below runs until those were in): {}.",
            match read_after.is_empty() {
                true => "none".to_string(),
                false => read_after.join(", "),
            }
        );

        let apiserver_rows: Vec<(&StartRow, ApiServerCost, ApiServerCost, ApiServerCost)> = self
            .starts
            .iter()
            .filter_map(|row| {
                Some((
                    row,
                    StartRow::apiserver(&row.watchnew)?,
                    StartRow::apiserver(&row.kubectl)?,
                    StartRow::apiserver(&row.watchnew_streaming)?,
                ))
            })
            .collect();
        if !apiserver_rows.is_empty() {
            let _ = writeln!(out, "\n## What each start costs the API server\n");
            let _ = writeln!(
                out,
                "The same starts, seen from kube-apiserver's /proc: its CPU time (user and system) from the tool's \
                 start to its being ready (or, for a start that read whole objects after the sync, to their being \
                 in), and its peak resident memory meanwhile (VmHWM, reset through \
                 `clear_refs` just before the start). Its memory before a start is mostly its watch cache, the \
                 same for both tools. Medians of the same repeats. The last columns are kubectl-watchnew with \
                 `--streaming-lists`: the initial state streamed (WatchList) instead of read in pages, ready at its \
                 Synced line.\n"
            );
            let _ = writeln!(
                out,
                "| objects | scenario | API server CPU: watchnew | API server CPU: kubectl | ratio | API server peak: watchnew | API server peak: kubectl | streamed: API server CPU | streamed: API server peak | streamed: ready |"
            );
            let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (row, (wc, wp), (kc, kp), (sc, sp)) in &apiserver_rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {wc:.2} s | {kc:.2} s | {:.2} | {wp:.0} MiB | {kp:.0} MiB | {sc:.2} s | {sp:.0} MiB | {:.2} s |",
                    row.objects,
                    row.scenario,
                    wc / kc,
                    StartRow::ready(&row.watchnew_streaming),
                );
            }
        }

        if !self.links.is_empty() {
            let _ = writeln!(out, "\n## Over a network link: time to ready and bytes received\n");
            let _ = writeln!(
                out,
                "The same starts, with the client and the API server joined by a link: a forwarder inside the \
                 benchmark (benches/side_by_side/link.rs) that delivers each chunk half a round trip later and no \
                 faster than the link's bandwidth, shared by every connection of that direction, and counts the \
                 bytes. kubectl and kubectl-watchnew go through the same link with the same kubeconfig, each \
                 warmed once on it (both cache discovery per server). Both ask for gzip, which kube-apiserver \
                 applies to responses over 128 KiB. kubectl reads Tables whose rows carry only metadata for its \
                 human output, and plain whole objects for `-o json`; kubectl-watchnew reads the first page as a Table with \
                 whole objects and the rest as whole objects (its human output keeps them to say what changed) or \
                 only metadata (`-o json`, which prints whole objects for the changes only). When the first page \
                 takes over 250 ms and comes slower than 12 MB/s of JSON, the human output too reads the rest as \
                 metadata, ready as soon as that is in, and reads the whole objects after it, at the same \
                 resourceVersion, in the background: \"whole objects in\" is when they all were, and the bytes \
                 received and the API server's CPU (from the start to ready, or to the whole objects in) count \
                 them. The default human output is measured piped; the live view makes the same \
                 requests.\n"
            );
            let _ = writeln!(
                out,
                "| link | output | objects | ready: watchnew | ready: kubectl | watchnew / kubectl | whole objects in: watchnew | received: watchnew | received: kubectl | sent: watchnew | sent: kubectl | API server CPU: watchnew | API server CPU: kubectl |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            let cpu = |starts: &[Start]| median(starts.iter().filter_map(|start| start.apiserver_cpu_seconds));
            let sent = |starts: &[Start]| median(starts.iter().filter_map(|start| start.megabytes_sent));
            for row in &self.links {
                let (w, k) = (StartRow::ready(&row.watchnew), StartRow::ready(&row.kubectl));
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {w:.2} s | {k:.2} s | {:.2} | {} | {:.1} MB | {:.1} MB | {:.0} kB | {:.0} kB | {:.2} s | {:.2} s |",
                    row.link,
                    row.output,
                    row.objects,
                    w / k,
                    whole_objects(&row.watchnew),
                    LinkRow::received(&row.watchnew),
                    LinkRow::received(&row.kubectl),
                    sent(&row.watchnew) * 1000.0,
                    sent(&row.kubectl) * 1000.0,
                    cpu(&row.watchnew),
                    cpu(&row.kubectl),
                );
            }
        }

        if !self.forms.is_empty() {
            let _ = writeln!(
                out,
                "\n## What bounds the time to ready: the server's cost of each form of the initial state\n"
            );
            let _ = writeln!(
                out,
                "The pods of the first scenario, read to the end inside the benchmark and not decoded: how long the \
                 API server takes to send them, and its own CPU time for it (user and system, from its /proc), as \
                 plain LIST pages of 500, as pages of only their metadata, as pages of Tables whose rows carry only \
                 metadata (what `kubectl get` asks for), as pages of Tables with whole objects, as one streamed \
                 initial list (`sendInitialEvents`, WatchList) of plain objects, and streamed as Tables. \
                 kubectl-watchnew syncs \
                 with the cheapest form that still gives it the columns: the first page as a Table, the rest as \
                 plain objects; the watch that follows is a Table watch, and a relist after 410 Gone is all \
                 Tables, because what it finds is shown. `--streaming-lists` chooses the streamed form instead, \
                 lighter on the API server's memory. What is left between watchnew and the LIST floor is the \
                 program's start (kubectl's plugin dispatch included) and decoding, on the same two cores as the \
                 API server.\n"
            );
            forms_table(&mut out, &self.forms);
        }

        if !self.latencies.is_empty() {
            let _ = writeln!(out, "\n## Change-to-output latency under churn\n");
            let _ = writeln!(
                out,
                "With {} pods and {} ConfigMaps in place, pods are created, reported running and deleted at a steady \
                 rate in the 20 namespaces (four changes each: ADDED; MODIFIED for the running status; MODIFIED and \
                 DELETED for the deletion), while the tool watches `pods -A -o json`. Latency: from the moment the \
                 change's request is sent to the moment the benchmark reads the event from the tool's stdout. The \
                 raw watch is the floor: the API server's own delivery, read by a plain watch inside the benchmark. \
                 CPU is the tool's user+system time over the churn, per 1,000 changes reported. Lost: changes never \
                 reported; duplicates: an object's resourceVersion reported twice. The benchmark's own control plane \
                 runs no simulated nodes (`scripts/cluster up --nodes 0`): the churn writes each pod's running status \
                 itself, the same status write a kubelet (or kwok) makes, because a latency is measured from the \
                 moment the change's request is sent, which only the program that sends it knows; with kwok writing \
                 the status, kwok would also compete for the same two cores at a rate the benchmark cannot set.\n",
                self.churn_objects, self.churn_objects
            );
            let _ = writeln!(
                out,
                "| tool | rate asked | rate achieved | changes | reported | lost | duplicates | p50 | p99 | max | CPU per 1,000 changes |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for l in &self.latencies {
                let lost = match &l.ended {
                    Some(_) => format!("{} (it exited)", l.lost),
                    None => l.lost.to_string(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {}/s | {:.0}/s | {} | {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
                    l.tool,
                    l.rate,
                    l.achieved_rate,
                    l.changes,
                    l.reported,
                    lost,
                    l.duplicates,
                    l.p50_ms,
                    l.p99_ms,
                    l.max_ms,
                    figure(l.cpu_ms_per_1000, |v| format!("{v:.0} ms")),
                );
            }
            for l in self
                .latencies
                .iter()
                .filter(|l| l.ended.is_some() || l.closed_watchers > 0)
            {
                let _ = writeln!(
                    out,
                    "\n{} at {}/s: the API server closed {} watch(es) whose client fell behind \
                     (apiserver_terminated_watchers_total). {}",
                    l.tool,
                    l.rate,
                    l.closed_watchers,
                    l.ended
                        .as_deref()
                        .map_or(String::new(), |ended| format!("The tool {ended}")),
                );
            }
        }

        if let Some(e) = &self.endurance {
            let _ = writeln!(out, "\n## A long run: {} changes\n", e.changes);
            let _ = writeln!(
                out,
                "Four watchers side by side on `pods -A` through {} changes asked at {}/s ({:.0}/s achieved, {} \
                 failed requests): the live view in a 200×50 tmux terminal; a second live view that also records \
                 (`--record FILE`), whose recording, replayed with `-o json` after it quit, says change by change \
                 what it showed; the piped lines; and `kubectl get -w` piped. Pods in the cluster: {} before, {} \
                 after (a failed request can leave a churned pod behind). Each watcher's reports (its lines, or \
                 the recorded view's replay) are checked against the churn's ground truth: every change the \
                 churn made, by pod, event type and which of that type it is. A change not reported counts as \
                 lost unless the watcher relisted and the pod's deletion was reported, or the pod came and went \
                 unseen (a relist after 410 Gone reports only the difference: changes in between cannot be \
                 seen by any watch), or it was made after the watcher's output ended. CPU is per 1,000 changes \
                 the watcher reported (the live views' status lines count the changes they showed). Memory is \
                 VmRSS when ready, after each quarter of the changes and after the last one. Quiet CPU is \
                 measured before the churn, with nothing changed since the start; idle CPU over 10 s after it, \
                 with no change but the ages on screen still counting seconds.\n",
                e.changes, e.rate, e.achieved_rate, e.failed_requests, e.pods_before, e.pods_after
            );
            let _ = writeln!(
                out,
                "| watcher | reported | against the ground truth | memory when ready | after each quarter of the changes | memory after | CPU per 1,000 changes reported | CPU during churn | CPU quiet | CPU idle after churn |"
            );
            let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
            for o in &e.observers {
                let quarters: Vec<String> = o
                    .rss_quarters_mib
                    .iter()
                    .map(|q| figure(*q, |v| format!("{v:.0}")))
                    .collect();
                let truth = o.truth.as_ref().map_or_else(
                    || "— (the same program as the recorded view; its status line counts)".to_string(),
                    truth_summary,
                );
                let _ = writeln!(
                    out,
                    "| {} | {} | {truth} | {} | {} MiB | {} | {} | {} | {} | {} |",
                    o.observer,
                    o.reported
                        .map_or_else(|| "—".to_string(), |reported| reported.to_string()),
                    figure(o.rss_ready_mib, |v| format!("{v:.1} MiB")),
                    quarters.join(" → "),
                    figure(o.rss_after_mib, |v| format!("{v:.1} MiB")),
                    figure(o.cpu_ms_per_1000, |v| format!("{v:.0} ms")),
                    figure(o.cpu_percent_of_a_core, |v| format!("{v:.1}% of a core")),
                    figure(o.quiet_cpu_percent, |v| format!("{v:.2}%")),
                    figure(o.idle_cpu_percent, |v| format!("{v:.2}%")),
                );
            }
            stopped_early(&mut out, &e.observers);
        }
        if let Some(events) = &self.events {
            out.push('\n');
            out.push_str(&events_markdown(events));
        }
        if let Some(who) = &self.who {
            out.push('\n');
            out.push_str(&who_markdown(who));
        }
        if let Some(export) = &self.export {
            out.push('\n');
            out.push_str(&export.markdown());
        }
        if let Some(sources) = &self.sources {
            out.push('\n');
            out.push_str(&sources_markdown(sources));
        }
        if let Some(fleet) = &self.fleet {
            out.push('\n');
            out.push_str(&fleet.markdown());
        }
        if let Some(live_view) = &self.live_view {
            out.push('\n');
            out.push_str(&live_view_markdown(live_view));
        }
        if let Some(largest) = &self.largest {
            out.push('\n');
            out.push_str(&largest.markdown());
        }
        out
    }
}

/// The targets and whether each was met, with what bounds those missed.
pub(crate) fn targets_table(out: &mut String, verdicts: &[Verdict]) {
    let _ = writeln!(
        out,
        "| target | measured | met | what bounds it (where missed) |\n|---|---|---|---|"
    );
    for verdict in verdicts {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            verdict.target,
            verdict.measured,
            if verdict.met { "yes" } else { "**no**" },
            if verdict.met { "" } else { verdict.bound.as_str() }
        );
    }
}

/// The forms of the initial state: what each took, and what each cost the API server.
pub fn forms_table(out: &mut String, forms: &[FormCost]) {
    let _ = writeln!(
        out,
        "| objects | form | time (median) | runs | API server CPU (median) | MB sent |\n|---:|---|---:|---|---:|---:|"
    );
    for form in forms {
        let runs: Vec<String> = form.seconds.iter().map(|s| format!("{s:.2}")).collect();
        let cpu = (!form.apiserver_cpu_seconds.is_empty()).then(|| median(form.apiserver_cpu_seconds.iter().copied()));
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} s | {} | {} | {:.1} |",
            form.objects,
            form.form,
            median(form.seconds.iter().copied()),
            runs.join(", "),
            figure(cpu, |v| format!("{v:.2} s")),
            form.megabytes
        );
    }
}

/// When the whole objects read after the sync (over a slow link) were all in: the median over the starts that
/// read them, with how many did when not all; "—" when none did.
fn whole_objects(starts: &[Start]) -> String {
    let read: Vec<f64> = starts.iter().filter_map(|start| start.whole_objects_seconds).collect();
    match read.len() {
        0 => "—".to_string(),
        n if n == starts.len() => format!("{:.2} s", median(read.iter().copied())),
        n => format!("{:.2} s ({n} of {} starts)", median(read.iter().copied()), starts.len()),
    }
}
