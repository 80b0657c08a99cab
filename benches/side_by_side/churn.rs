//! Steady churn: pods go through a lifecycle (created, then running, then deleted), started at an even pace so
//! that the API server sees a given number of changes a second. Each change is stamped when its request is sent.
//!
//! A lifecycle is four changes, as a watch sees them: ADDED at the creation, MODIFIED when the status says it
//! runs, and for the deletion MODIFIED (the deletion timestamp is set) then DELETED. With Events, each pod also
//! gets the two a scheduler and a kubelet would write: `Scheduled` after its creation, `Started` with its
//! running status.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use tokio::time::{Instant, MissedTickBehavior};

use crate::seed;

/// How long after its creation a pod is reported running, and after that deleted.
const STEP: Duration = Duration::from_millis(200);

/// Changes per pod lifecycle.
pub const CHANGES_PER_POD: u64 = 4;
/// The name the churn's writes are recorded under (managedFields): what WHO says of them.
pub const FIELD_MANAGER: &str = "watchnew-bench-churn";

/// One change the generator made, and when it sent the request.
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    /// The watch event it must cause: ADDED, MODIFIED or DELETED.
    pub event: &'static str,
    /// Which event of that type it is for this object, from 0.
    pub nth: u8,
    pub sent: Instant,
}

#[derive(Debug, Default)]
pub struct Record {
    /// The changes whose requests the server answered.
    pub changes: Vec<Change>,
    /// The changes a failed request would have made: the server may have made them all the same (a connection
    /// closed before its answer came), so a watcher that reports one is right, and one that does not is too.
    pub unanswered: Vec<Change>,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// Events written about the churned pods.
    pub events: u64,
    /// From the first request sent to the last answer.
    pub elapsed: Duration,
}

impl Record {
    /// Adds the changes of a later run.
    pub fn absorb(&mut self, later: Record) {
        self.changes.extend(later.changes);
        self.unanswered.extend(later.unanswered);
        self.failures += later.failures;
        self.events += later.events;
        if self.first_failure.is_none() {
            self.first_failure = later.first_failure;
        }
        self.elapsed += later.elapsed;
    }

    /// Changes a second, between the first request sent and the last.
    pub fn achieved_rate(&self) -> f64 {
        let first = self.changes.iter().map(|change| change.sent).min();
        let last = self.changes.iter().map(|change| change.sent).max();
        match (first, last) {
            (Some(first), Some(last)) if last > first => (self.changes.len() - 1) as f64 / (last - first).as_secs_f64(),
            _ => f64::NAN,
        }
    }
}

/// Makes `total` changes (rounded down to whole lifecycles) at `rate` changes a second, with two Events per pod
/// when `events` is set. `run` keeps the pod names of different runs apart.
pub async fn run(client: &kube::Client, run: &str, rate: u32, total: u64, events: bool) -> Result<Record> {
    let record = Arc::new(Mutex::new(Record::default()));
    let lifecycles = total / CHANGES_PER_POD;
    let pace_seconds = CHANGES_PER_POD as f64 / f64::from(rate);
    let mut pace = tokio::time::interval(Duration::from_secs_f64(pace_seconds));
    pace.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(lifecycles as usize);
    for index in 0..lifecycles as usize {
        pace.tick().await;
        let namespace = seed::spread_namespace(index);
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let writer = events.then(|| Api::<Event>::namespaced(client.clone(), &namespace));
        let name = format!("churn-{run}-{index:06}");
        let record = record.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = lifecycle(&pods, writer.as_ref(), &name, index, &record).await {
                let mut record = record.lock().expect("record");
                record.failures += 1;
                record.first_failure.get_or_insert_with(|| format!("{name}: {error:#}"));
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let mut record = Arc::try_unwrap(record)
        .map_err(|_| anyhow::anyhow!("a churn task outlived the run"))?
        .into_inner()
        .expect("record");
    record.elapsed = started.elapsed();
    Ok(record)
}

async fn lifecycle(
    pods: &Api<Pod>,
    events: Option<&Api<Event>>,
    name: &str,
    index: usize,
    record: &Mutex<Record>,
) -> Result<()> {
    // Each request's changes go to the record when it is answered, and as unanswered when it fails.
    let note = |changes: &[(&'static str, u8)], sent: Instant, answered: bool| {
        let mut record = record.lock().expect("record");
        let list = if answered {
            &mut record.changes
        } else {
            &mut record.unanswered
        };
        list.extend(changes.iter().map(|&(event, nth)| Change {
            name: name.to_string(),
            event,
            nth,
            sent,
        }));
    };
    let sent = Instant::now();
    let as_churn = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = pods.create(&as_churn, &seed::pod(name, index)?).await;
    note(&[("ADDED", 0)], sent, created.is_ok());
    let created = created?;
    let scheduled = format!("Successfully assigned {name} to node-{}", index % 3);
    say(events, &created, "Scheduled", scheduled, record).await?;

    tokio::time::sleep(STEP).await;
    let sent = Instant::now();
    let running = pods
        .patch_status(
            name,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            },
            &Patch::Merge(seed::running_status(index)),
        )
        .await;
    note(&[("MODIFIED", 0)], sent, running.is_ok());
    running?;
    say(events, &created, "Started", "Started container app".to_string(), record).await?;

    tokio::time::sleep(STEP).await;
    let sent = Instant::now();
    // No node runs it, so with no grace period it goes at once.
    let deleting = pods.delete(name, &DeleteParams::default().grace_period(0)).await;
    note(&[("MODIFIED", 1), ("DELETED", 0)], sent, deleting.is_ok());
    deleting?;
    Ok(())
}

/// Writes an Event about `pod` when Events are asked for.
async fn say(events: Option<&Api<Event>>, pod: &Pod, reason: &str, note: String, record: &Mutex<Record>) -> Result<()> {
    if let Some(events) = events {
        events
            .create(&PostParams::default(), &event_about(pod, reason, note))
            .await?;
        record.lock().expect("record").events += 1;
    }
    Ok(())
}

/// An Event about `pod`, as a scheduler or a kubelet writes it.
fn event_about(pod: &Pod, reason: &str, note: String) -> Event {
    let now = MicroTime(jiff::Timestamp::now());
    Event {
        metadata: ObjectMeta {
            // As a recorder names them: the object's name, then something of its own.
            name: Some(format!(
                "{}.{}",
                pod.metadata.name.as_deref().unwrap_or("pod"),
                reason.to_lowercase()
            )),
            namespace: pod.metadata.namespace.clone(),
            ..ObjectMeta::default()
        },
        event_time: Some(now),
        reason: Some(reason.to_string()),
        note: Some(note),
        type_: Some("Normal".to_string()),
        action: Some(reason.to_string()),
        reporting_controller: Some("bench.watchnew.example/churn".to_string()),
        reporting_instance: Some("bench".to_string()),
        regarding: Some(ObjectReference {
            api_version: Some("v1".to_string()),
            kind: Some("Pod".to_string()),
            name: pod.metadata.name.clone(),
            namespace: pod.metadata.namespace.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
        ..Event::default()
    }
}
