//! The largest size of pods this machine holds with both tools beside the control plane: their starts, what
//! each form of the initial state costs the API server there, and the machine's memory measured at half that
//! size and at it, from which what the Kubernetes scalability limit (150,000 pods) would need follows.

use std::fmt::Write as _;

use serde::Serialize;

use crate::report::{
    FormCost, RunStamp, Start, StartRow, Verdict, figure, forms_table, median, stamp_line, targets_table,
};

/// Where `--only-largest` puts its section back.
pub const TITLE: &str = "## The largest size this machine holds";

/// Pods per cluster at the Kubernetes scalability limit.
pub const SCALABILITY_LIMIT: usize = 150_000;

/// The machine's memory during one kubectl start (the hungriest client) on `pods` pods.
#[derive(Debug, Serialize)]
pub struct MemoryPoint {
    pub pods: usize,
    /// kube-apiserver's peak resident memory during the start (VmHWM, reset just before it).
    pub apiserver_peak_mib: f64,
    pub kubectl_peak_mib: f64,
    /// etcd's and kube-controller-manager's resident memory right after the start (the controller manager holds
    /// every pod in its informers' caches: on this one machine, it takes its share too).
    pub etcd_rss_mib: f64,
    pub controller_manager_rss_mib: f64,
    /// The least memory the machine had available meanwhile (MemAvailable, read every 100 ms).
    pub least_available_mib: f64,
}

impl MemoryPoint {
    fn together(&self) -> f64 {
        self.apiserver_peak_mib + self.kubectl_peak_mib + self.etcd_rss_mib + self.controller_manager_rss_mib
    }
}

#[derive(Debug, Serialize)]
pub struct Largest {
    pub pods: usize,
    /// ConfigMaps also in the cluster (those of the sizes before, in a full run).
    pub config_maps: usize,
    pub memory_total_mib: f64,
    pub start: StartRow,
    pub forms: Vec<FormCost>,
    /// At half the size, then at the size.
    pub memory: Vec<MemoryPoint>,
    /// Set when the section was measured alone and spliced into another run's report.
    pub run: Option<RunStamp>,
}

/// What the scalability limit would need of the API server, kubectl, etcd and the controller manager.
struct Projection {
    apiserver_mib: f64,
    kubectl_mib: f64,
    etcd_mib: f64,
    controller_manager_mib: f64,
}

impl Projection {
    fn total(&self) -> f64 {
        self.apiserver_mib + self.kubectl_mib + self.etcd_mib + self.controller_manager_mib
    }
}

impl Largest {
    /// Along the line through the two points measured: each grows by what it grew per pod between them.
    fn projected(&self) -> Option<Projection> {
        let [half, full] = self.memory.as_slice() else {
            return None;
        };
        let pods = (full.pods - half.pods) as f64;
        let beyond = SCALABILITY_LIMIT.saturating_sub(full.pods) as f64;
        let along = |low: f64, high: f64| high + (high - low) / pods * beyond;
        (pods > 0.0).then(|| Projection {
            apiserver_mib: along(half.apiserver_peak_mib, full.apiserver_peak_mib),
            kubectl_mib: along(half.kubectl_peak_mib, full.kubectl_peak_mib),
            etcd_mib: along(half.etcd_rss_mib, full.etcd_rss_mib),
            controller_manager_mib: along(half.controller_manager_rss_mib, full.controller_manager_rss_mib),
        })
    }

    /// The API server's CPU for the forms that tell the human output's cost from kubectl's: whole objects
    /// gzipped (the human output's), Tables of metadata gzipped (kubectl's), and metadata only.
    fn form_cpu(&self, starts_with: &str) -> Option<f64> {
        self.forms
            .iter()
            .find(|form| form.form.starts_with(starts_with) && !form.apiserver_cpu_seconds.is_empty())
            .map(|form| median(form.apiserver_cpu_seconds.iter().copied()))
    }

    pub fn verdicts(&self) -> Vec<Verdict> {
        let row = &self.start;
        let what = format!("pods, 20 namespaces (-A), {} objects", self.pods);
        let (ready, kubectl_ready) = (StartRow::ready(&row.watchnew), StartRow::ready(&row.kubectl));
        let (peak, kubectl_peak) = (StartRow::peak(&row.watchnew), StartRow::peak(&row.kubectl));
        let mut verdicts = vec![
            Verdict {
                target: format!("ready ≤ 0.3 × kubectl on loopback: {what}"),
                measured: format!("{ready:.2} s vs {kubectl_ready:.2} s ({:.2}×)", ready / kubectl_ready),
                met: ready <= 0.3 * kubectl_ready,
                bound: format!(
                    "the API server's sending: the raw LIST took {:.2} s",
                    median(row.list_floor_seconds.iter().copied())
                ),
            },
            Verdict {
                target: format!("peak memory ≤ 0.1 × kubectl: {what}"),
                measured: format!("{peak:.1} MiB vs {kubectl_peak:.1} MiB ({:.2}×)", peak / kubectl_peak),
                met: peak <= 0.1 * kubectl_peak,
                bound: String::new(),
            },
        ];
        if let (Some((cpu, _)), Some((kubectl_cpu, _))) =
            (StartRow::apiserver(&row.watchnew), StartRow::apiserver(&row.kubectl))
        {
            let show = |cpu: Option<f64>| figure(cpu, |v| format!("{v:.2} s"));
            verdicts.push(Verdict {
                target: format!("the API server's CPU for a start ≤ kubectl's: {what}"),
                measured: format!("{cpu:.2} s vs {kubectl_cpu:.2} s ({:.2}×)", cpu / kubectl_cpu),
                met: cpu <= kubectl_cpu,
                bound: format!(
                    "the whole objects the human output keeps to say what changed: sending them gzipped cost the \
                     API server {} of CPU in this run, the Tables of metadata kubectl reads {}, metadata alone {}",
                    show(self.form_cpu("LIST pages of 500, plain objects, gzip")),
                    show(self.form_cpu("LIST pages of 500, Tables of metadata")),
                    show(self.form_cpu("LIST pages of 500, metadata only")),
                ),
            });
        }
        let held = format!("{SCALABILITY_LIMIT} pods: the control plane and kubectl held by the machine");
        match (self.memory.last(), self.projected()) {
            (Some(full), _) if full.pods >= SCALABILITY_LIMIT => verdicts.push(Verdict {
                target: held,
                measured: format!(
                    "measured at {} pods: {:.1} GiB together, {:.1} GiB left available at the least",
                    full.pods,
                    full.together() / 1024.0,
                    full.least_available_mib / 1024.0
                ),
                met: true,
                bound: String::new(),
            }),
            (Some(full), Some(projection)) => {
                // What the limit needs beyond what was held at the size, against what the machine had left.
                let more = projection.total() - full.together();
                verdicts.push(Verdict {
                    target: held,
                    measured: format!(
                        "{:.1} GiB more than at {} pods (projected), {:.1} GiB left available at the least there",
                        more / 1024.0,
                        full.pods,
                        full.least_available_mib / 1024.0
                    ),
                    met: more < full.least_available_mib,
                    bound: format!(
                        "the API server's memory ({:.1} GiB projected) and kubectl's ({:.1} GiB), with the \
                         controller manager's ({:.1} GiB) and etcd's ({:.1} GiB), on a machine of {:.1} GiB",
                        projection.apiserver_mib / 1024.0,
                        projection.kubectl_mib / 1024.0,
                        projection.controller_manager_mib / 1024.0,
                        projection.etcd_mib / 1024.0,
                        self.memory_total_mib / 1024.0
                    ),
                });
            }
            _ => {}
        }
        verdicts
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{TITLE}: {} pods\n", self.pods);
        stamp_line(&mut out, &self.run);
        let others = match self.config_maps {
            0 => String::new(),
            n => format!(" (and the {n} ConfigMaps of the sizes before)"),
        };
        let _ = writeln!(
            out,
            "{} pods in 20 namespaces{others}, measured as the starts above (`pods -A`, piped, ready when the \
             API server answered the watch; medians of {} starts of each; in a full run, after every other \
             section). The Kubernetes scalability limit is {SCALABILITY_LIMIT} pods: the memory the API server, \
             etcd, the controller manager and kubectl take is measured during a kubectl start at half this size and at it (below the \
             limit, projected along that line to it). \
             The forms' table is that of the section on the forms, at this size, with the API server's CPU for \
             each.\n",
            self.pods,
            self.start.watchnew.len()
        );
        targets_table(&mut out, &self.verdicts());
        let row = &self.start;
        let cost = |starts: &[Start]| StartRow::apiserver(starts);
        let show_cost = |starts: &[Start]| {
            cost(starts).map_or_else(
                || "— | —".to_string(),
                |(cpu, peak)| format!("{cpu:.2} s | {peak:.0} MiB"),
            )
        };
        let _ = writeln!(
            out,
            "\n| start | ready | peak memory | API server CPU | API server peak |\n|---|---:|---:|---:|---:|"
        );
        for (label, starts) in [
            ("kubectl-watchnew", &row.watchnew),
            ("kubectl get --watch-only", &row.kubectl),
            ("kubectl-watchnew --disable-compression", &row.watchnew_uncompressed),
            (
                "kubectl-watchnew --streaming-lists (ready at Synced)",
                &row.watchnew_streaming,
            ),
        ] {
            let _ = writeln!(
                out,
                "| {label} | {:.2} s | {:.1} MiB | {} |",
                StartRow::ready(starts),
                StartRow::peak(starts),
                show_cost(starts)
            );
        }
        let _ = writeln!(
            out,
            "| raw LIST, pages of 500 | {:.2} s | — | — | — |\n",
            median(row.list_floor_seconds.iter().copied())
        );
        forms_table(&mut out, &self.forms);
        let _ = writeln!(
            out,
            "\n| pods | API server peak | kubectl peak | controller manager | etcd | together | least available on the machine |\n|---:|---:|---:|---:|---:|---:|---:|"
        );
        for point in &self.memory {
            let _ = writeln!(
                out,
                "| {} | {:.1} GiB | {:.1} GiB | {:.1} GiB | {:.1} GiB | {:.1} GiB | {:.1} GiB |",
                point.pods,
                point.apiserver_peak_mib / 1024.0,
                point.kubectl_peak_mib / 1024.0,
                point.controller_manager_rss_mib / 1024.0,
                point.etcd_rss_mib / 1024.0,
                point.together() / 1024.0,
                point.least_available_mib / 1024.0
            );
        }
        if let Some(projection) = self.projected() {
            let _ = writeln!(
                out,
                "| {SCALABILITY_LIMIT} (projected) | {:.1} GiB | {:.1} GiB | {:.1} GiB | {:.1} GiB | {:.1} GiB | of {:.1} GiB |",
                projection.apiserver_mib / 1024.0,
                projection.kubectl_mib / 1024.0,
                projection.controller_manager_mib / 1024.0,
                projection.etcd_mib / 1024.0,
                projection.total() / 1024.0,
                self.memory_total_mib / 1024.0
            );
        }
        out
    }
}
