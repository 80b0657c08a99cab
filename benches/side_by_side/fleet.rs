//! A fleet of contexts: each its own server address, over a link of its own with a 20 ms round trip (the link
//! forwarder of `link.rs`, one per context, all to the one API server), the same pods behind each. Ten
//! contexts at once against the slowest of them alone, and fifty at once: ready, and peak memory.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use kube::config::{Kubeconfig, NamedCluster, NamedContext};
use serde::Serialize;

use crate::link::{Link, Shape};
use crate::report::{RunStamp, Start, median, stamp_line};
use crate::{Bench, Ready, Tool, say, seed};

/// Where `--only-fleet` puts its section back.
pub const TITLE: &str = "## A fleet of contexts";

/// Each context's link.
const LINK: Shape = Shape {
    megabits_per_second: 100.0,
    round_trip: Duration::from_millis(20),
};
const TEN: usize = 10;
const FIFTY: usize = 50;
/// Ten at once against the slowest alone: at most this much slower.
const TARGET: f64 = 1.2;
/// A namespace without pods (the ConfigMaps' own).
const EMPTY: &str = crate::seed::CONFIG_MAP_NAMESPACE;

#[derive(Debug, Serialize)]
pub struct FleetCost {
    /// The namespace each context watches, and its pods.
    pub namespace: String,
    pub pods: usize,
    pub round_trip_ms: u64,
    pub megabits_per_second: f64,
    /// Each of the ten alone, `repeats` times one after the other.
    pub alone: Vec<Start>,
    pub repeats: usize,
    pub ten: Vec<Start>,
    pub fifty: Vec<Start>,
    /// One context, then fifty, watching pods where there are none (`EMPTY`): what a context costs before its
    /// objects.
    pub one_empty: Vec<Start>,
    pub fifty_empty: Vec<Start>,
    /// The machine's cores, which the one API server and the tool share.
    pub cores: usize,
    pub run: Option<RunStamp>,
}

impl Bench {
    pub(crate) async fn fleet(&self, repeats: usize) -> Result<FleetCost> {
        let namespace = seed::spread_namespace(0);
        let pods = self.pods_in(&namespace).await?;
        say(format!(
            "a fleet: {FIFTY} contexts over links of {} ms, {pods} pods in {namespace} behind each",
            LINK.round_trip.as_millis()
        ));
        let mut links = Vec::with_capacity(FIFTY);
        for _ in 0..FIFTY {
            links.push(Link::start(self.apiserver_address()?, Some(LINK)).await?);
        }
        let mut config = Kubeconfig::read_from(&self.kubeconfig)?;
        let current = config
            .current_context
            .clone()
            .context("the kubeconfig has no current context")?;
        let context = config
            .contexts
            .iter()
            .find(|context| context.name == current)
            .and_then(|named| named.context.clone())
            .context("the current context")?;
        let cluster = config
            .clusters
            .iter()
            .find(|named| named.name == context.cluster)
            .and_then(|named| named.cluster.clone())
            .context("the current context's cluster")?;
        for (index, link) in links.iter().enumerate() {
            let name = format!("fleet-{index:02}");
            let mut own = cluster.clone();
            own.server = Some(format!("https://{}", link.address));
            config.clusters.push(NamedCluster {
                name: name.clone(),
                cluster: Some(own),
                ..Default::default()
            });
            let mut own = context.clone();
            own.cluster = name.clone();
            config.contexts.push(NamedContext {
                name,
                context: Some(own),
                ..Default::default()
            });
        }
        let (_kubeconfig, environment) = self.with_kubeconfig(&config)?;
        let start_in = |namespace: &str, contexts: String| {
            let target: Vec<String> = ["pods", "-n", namespace, "--context", &contexts]
                .iter()
                .map(|word| word.to_string())
                .collect();
            let environment = environment.clone();
            async move {
                self.start_with(Tool::Watchnew, &target, &[], &environment, None, Ready::Signal)
                    .await
            }
        };
        let start = |contexts: String| start_in(&namespace, contexts);
        // Warmed once: each server address has its own discovery cache, as each cluster of a fleet would.
        start("fleet-*".into()).await?;
        let ten: Vec<String> = (0..TEN).map(|index| format!("fleet-{index:02}")).collect();
        let mut cost = FleetCost {
            namespace: namespace.clone(),
            pods,
            round_trip_ms: LINK.round_trip.as_millis() as u64,
            megabits_per_second: LINK.megabits_per_second,
            alone: Vec::new(),
            repeats,
            ten: Vec::new(),
            fifty: Vec::new(),
            one_empty: Vec::new(),
            fifty_empty: Vec::new(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            run: None,
        };
        for name in &ten {
            for _ in 0..repeats {
                cost.alone.push(start(name.clone()).await?);
            }
        }
        for _ in 0..repeats {
            cost.ten.push(start(ten.join(",")).await?);
            cost.fifty.push(start("fleet-*".into()).await?);
            cost.one_empty.push(start_in(EMPTY, ten[0].clone()).await?);
            cost.fifty_empty.push(start_in(EMPTY, "fleet-*".into()).await?);
        }
        Ok(cost)
    }
}

impl Bench {
    /// How many pods the namespace holds.
    async fn pods_in(&self, namespace: &str) -> Result<usize> {
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(self.client.clone(), namespace);
        Ok(pods.list_metadata(&kube::api::ListParams::default()).await?.items.len())
    }
}

impl FleetCost {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{TITLE}\n");
        stamp_line(&mut out, &self.run);
        let _ = writeln!(
            out,
            "Fifty contexts, each its own server address: a link forwarder of its own ({} ms round trip, {} \
             Mbit/s each way) in front of the one API server, so that each context connects, discovers, lists \
             and watches over its own link. Each watches `pods -n {}` ({} pods). Ready is the line `Synced every \
             context` (one context: its `Synced` line); when the first page came slowly, the snapshot was listed \
             as metadata and the whole objects read after the sync, and *whole objects in* says when they were \
             all in. Memory is the peak resident set. The API server's CPU is read from the tool's start until \
             it was ready, or until the whole objects were in where they followed. Discovery was cached by \
             one warming start, as in daily use. Each of the ten alone is started {} times, one start at a \
             time; the ten and the fifty together {} times each; the medians said.\n",
            self.round_trip_ms,
            self.megabits_per_second,
            self.namespace,
            self.pods,
            self.repeats,
            self.ten.len()
        );
        let ready = |starts: &[Start]| median(starts.iter().map(|start| start.ready_seconds));
        let peak = |starts: &[Start]| median(starts.iter().map(|start| start.peak_rss_mib));
        let server = |starts: &[Start]| median(starts.iter().filter_map(|start| start.apiserver_cpu_seconds));
        // Until the start was complete: ready, or the whole objects in where they followed the sync.
        let complete = |starts: &[Start]| {
            median(
                starts
                    .iter()
                    .map(|start| start.whole_objects_seconds.unwrap_or(start.ready_seconds)),
            )
        };
        let whole = |starts: &[Start]| match starts.iter().any(|start| start.whole_objects_seconds.is_some()) {
            true => format!("{:.2} s", complete(starts)),
            false => "with the sync".to_string(),
        };
        // Each context's median: one slow start of one context (a pause of the machine) is not its pace.
        let times: Vec<f64> = self.alone.chunks(self.repeats.max(1)).map(ready).collect();
        let slowest = times.iter().copied().fold(0.0, f64::max);
        let fastest = times.iter().copied().fold(f64::MAX, f64::min);
        let _ = writeln!(
            out,
            "| contexts | ready | whole objects in | peak memory | the API server's CPU |\n|---|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            out,
            "| 1 (each of the ten alone, its median: fastest, median, slowest) | {fastest:.2} s, {:.2} s, {slowest:.2} s | \
             {} | {:.0} MiB | {:.2} s |",
            median(times.iter().copied()),
            whole(&self.alone),
            peak(&self.alone),
            server(&self.alone)
        );
        for (count, starts) in [(TEN, &self.ten), (FIFTY, &self.fifty)] {
            let _ = writeln!(
                out,
                "| {count} | {:.2} s | {} | {:.0} MiB | {:.2} s |",
                ready(starts),
                whole(starts),
                peak(starts),
                server(starts)
            );
        }
        let ratio = ready(&self.ten) / slowest.max(1e-9);
        let per_context = (peak(&self.fifty) - peak(&self.alone)) / (FIFTY - 1) as f64;
        let _ = writeln!(
            out,
            "\nTen at once were ready in **{ratio:.2}× the slowest alone** (target ≤ {TARGET}×: {}). Each context \
             beyond the first adds about {per_context:.1} MiB at fifty ({} pods each).",
            if ratio <= TARGET { "met" } else { "missed" },
            self.pods
        );
        if !self.fifty_empty.is_empty() {
            let (one, fifty) = (peak(&self.one_empty), peak(&self.fifty_empty));
            let _ = writeln!(
                out,
                "\nWhat a context costs before its objects: watching `pods -n {EMPTY}`, where there are none, one \
                 context peaks at {one:.1} MiB and fifty at {fifty:.1} MiB, **{:.0} KiB per context** beyond the \
                 first (its connection, discovery, stream and their tasks). \
                 The rest of the {per_context:.1} MiB above is the context's objects as the tool keeps them \
                 (identity, version and the compressed object that the next change is compared with), about \
                 {:.1} KiB a pod: each cluster's own, nothing two clusters could share.",
                (fifty - one) * 1024.0 / (FIFTY - 1) as f64,
                (per_context * 1024.0 - (fifty - one) * 1024.0 / (FIFTY - 1) as f64) / self.pods.max(1) as f64,
            );
        }
        // What bounds it here: one API server serves every context, on the cores the tool uses too.
        let (ten, one) = (server(&self.ten), server(&self.alone));
        let until = complete(&self.ten);
        let followed = match self.ten.iter().any(|start| start.whole_objects_seconds.is_some()) {
            true => {
                " Behind the busy server their first pages came slowly, so they listed what exists as metadata \
                     and read the whole objects after the sync (ready above is that sync)."
            }
            false => "",
        };
        let _ = writeln!(
            out,
            "\nWhat bounds it on this machine: one API server serves every context, on the same {} cores as the \
             tool. Ten at once cost it {ten:.2} s of CPU, {:.1}× one context's {one:.2} s, in the {until:.2} s \
             until they were complete: {:.0}% of the machine's cores, the tool's own decoding sharing the \
             rest.{followed} In a fleet each context has servers of its own, and a start would be bound by the \
             slowest of them and the tool's own decoding.",
            self.cores,
            ten / one.max(1e-9),
            100.0 * ten / (until * self.cores as f64).max(1e-9),
        );
        out
    }
}
