//! The fault suite: while a generator makes known creates, updates and deletes, the real control plane is put
//! through a fault, and the tool's `-o json` output is compared with the generator's ground truth. Each test
//! prints its counts. What must hold through every fault:
//! - every object created after the start is reported ADDED, and every deletion DELETED;
//! - each surviving object's last reported resourceVersion is its final one;
//! - no object of the snapshot is ever reported ADDED;
//! - no object's resourceVersion is reported twice.
//!
//! The generator deletes an object only once it has lived longer than any gap a fault makes, so the one loss
//! that no watch can avoid (an object created and deleted entirely inside a gap) cannot happen here: every
//! object must be accounted for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::proxy::Proxy;
use crate::support::watcher::Watcher;
use crate::support::{self, Cluster, TestNamespace};

/// How long the generator runs while the faults happen.
const CHURN: Duration = Duration::from_secs(30);
/// An object is deleted only after this long: longer than any gap the faults make.
const MIN_LIFETIME: Duration = Duration::from_secs(12);
/// How long the tool may take to catch up once the generator has stopped.
const CATCH_UP: Duration = Duration::from_secs(60);
const SNAPSHOT_OBJECTS: usize = 10;

/// A small deterministic random source (xorshift), seeded per test and printed, so that a run can be repeated.
struct Dice(u64);

impl Dice {
    fn new() -> Dice {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("fault suite: seed {seed}");
        Dice(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high - low).as_millis() as u64;
        low + Duration::from_millis(self.below(span + 1))
    }
}

/// What the generator did to one object, as the API server answered it.
#[derive(Debug, Default, Clone)]
struct Fate {
    /// Created before the tool started: part of the snapshot.
    snapshot: bool,
    final_version: String,
    deleted: bool,
    modifications: usize,
}

#[derive(Debug, Default)]
struct Truth {
    objects: BTreeMap<String, Fate>,
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some([("k".to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

/// Retries a request until the API server answers it (it may be down during a fault); a request whose answer
/// was lost is settled by reading the object afterwards.
async fn settle(api: &Api<ConfigMap>, name: &str, fate: &mut Fate) {
    loop {
        match api.get_opt(name).await {
            Ok(Some(object)) => {
                fate.final_version = object.resource_version().unwrap_or_default();
                fate.deleted = false;
                return;
            }
            Ok(None) => {
                fate.deleted = true;
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Creates, modifies and deletes ConfigMaps for `CHURN`, about twenty operations a second, and records what
/// the server made of each.
async fn generate(api: Api<ConfigMap>, truth: Arc<Mutex<Truth>>, mut dice: Dice) {
    let started = Instant::now();
    let mut born: BTreeMap<String, Instant> = BTreeMap::new();
    let mut next = 0;
    while started.elapsed() < CHURN {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let live: Vec<String> = {
            let truth = truth.lock().expect("not poisoned");
            truth
                .objects
                .iter()
                .filter(|(_, fate)| !fate.deleted)
                .map(|(name, _)| name.clone())
                .collect()
        };
        let roll = dice.below(10);
        if roll < 3 || live.len() < 5 {
            let name = format!("gen-{next:04}");
            next += 1;
            let mut fate = Fate::default();
            match api.create(&PostParams::default(), &config_map(&name, "0")).await {
                Ok(created) => fate.final_version = created.resource_version().unwrap_or_default(),
                Err(_) => {
                    settle(&api, &name, &mut fate).await;
                    if fate.deleted {
                        // The create never took effect: there is nothing to report.
                        continue;
                    }
                }
            }
            born.insert(name.clone(), Instant::now());
            truth.lock().expect("not poisoned").objects.insert(name, fate);
        } else if roll < 8 {
            let name = &live[dice.below(live.len() as u64) as usize];
            let mut fate = truth.lock().expect("not poisoned").objects[name].clone();
            let value = format!("{}", dice.next());
            let patch = serde_json::json!({ "data": { "k": value } });
            match api
                .patch(name, &Default::default(), &kube::api::Patch::Merge(&patch))
                .await
            {
                Ok(patched) => fate.final_version = patched.resource_version().unwrap_or_default(),
                Err(_) => settle(&api, name, &mut fate).await,
            }
            fate.modifications += 1;
            truth.lock().expect("not poisoned").objects.insert(name.clone(), fate);
        } else {
            let old_enough: Vec<&String> = live
                .iter()
                .filter(|name| born.get(*name).is_some_and(|at| at.elapsed() >= MIN_LIFETIME))
                .collect();
            if old_enough.is_empty() {
                continue;
            }
            let name = old_enough[dice.below(old_enough.len() as u64) as usize].clone();
            let mut fate = truth.lock().expect("not poisoned").objects[&name].clone();
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => fate.deleted = true,
                Err(_) => settle(&api, &name, &mut fate).await,
            }
            truth.lock().expect("not poisoned").objects.insert(name, fate);
        }
    }
}

/// What the tool reported for one object.
#[derive(Debug, Default)]
struct Seen {
    types: Vec<String>,
    versions: Vec<String>,
}

/// Runs the generator and the fault side by side, then reads the tool's output until it accounts for the
/// ground truth (or `CATCH_UP` passes), checks every promise, and prints the counts. Gives what the tool said
/// on stderr, for checks of its own.
async fn run_through_fault<F, Fut>(
    name: &str,
    cluster: &Cluster,
    extra_args: &[&str],
    reader_pause: Option<Duration>,
    fault: F,
) -> String
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "faults").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let truth = Arc::new(Mutex::new(Truth::default()));
    for index in 0..SNAPSHOT_OBJECTS {
        let name = format!("snap-{index}");
        let created = api
            .create(&PostParams::default(), &config_map(&name, "0"))
            .await
            .expect("create");
        let fate = Fate {
            snapshot: true,
            final_version: created.resource_version().unwrap_or_default(),
            ..Fate::default()
        };
        truth.lock().expect("not poisoned").objects.insert(name, fate);
    }
    let mut args = vec!["cm", "-n", &namespace.name, "-o", "json"];
    args.extend(extra_args);
    let mut watcher = Watcher::start(&cluster.kubeconfig, &args).await;

    let generating = tokio::spawn(generate(api.clone(), truth.clone(), Dice::new()));
    let stop_fault = Arc::new(AtomicBool::new(false));
    let faulting = tokio::spawn(fault(stop_fault.clone()));
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let read = |line: String, seen: &mut BTreeMap<String, Seen>| {
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = event["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let entry = seen.entry(name).or_default();
        entry.types.push(event["type"].as_str().unwrap_or_default().to_string());
        entry.versions.push(
            event["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    };
    let started = Instant::now();
    let mut paused = false;
    while !generating.is_finished() {
        if let Some(pause) = reader_pause.filter(|_| !paused && started.elapsed() > Duration::from_secs(8)) {
            // The reader stops; the tool's writes block on the full pipe while changes go on.
            paused = true;
            tokio::time::sleep(pause).await;
        }
        if let Some(line) = watcher.next_line(Duration::from_millis(200)).await {
            read(line, &mut seen);
        }
    }
    generating.await.expect("the generator ran");
    stop_fault.store(true, Ordering::SeqCst);
    faulting.await.expect("the fault ran");

    let truth = std::mem::take(&mut *truth.lock().expect("not poisoned"));
    let accounted = |seen: &BTreeMap<String, Seen>| {
        truth.objects.iter().all(|(name, fate)| {
            let Some(seen) = seen.get(name) else {
                return fate.snapshot && fate.modifications == 0;
            };
            if fate.deleted {
                seen.types.last().is_some_and(|t| t == "DELETED")
            } else {
                seen.versions.last() == Some(&fate.final_version)
            }
        })
    };
    let deadline = Instant::now() + CATCH_UP;
    while !accounted(&seen) && Instant::now() < deadline {
        if let Some(line) = watcher.next_line(Duration::from_millis(200)).await {
            read(line, &mut seen);
        }
    }

    let created: Vec<&String> = truth
        .objects
        .iter()
        .filter(|(_, f)| !f.snapshot)
        .map(|(n, _)| n)
        .collect();
    let added = created
        .iter()
        .filter(|name| {
            seen.get(**name)
                .is_some_and(|s| s.types.first().is_some_and(|t| t == "ADDED"))
        })
        .count();
    let deleted: Vec<&String> = truth
        .objects
        .iter()
        .filter(|(_, f)| f.deleted)
        .map(|(n, _)| n)
        .collect();
    let reported_deleted = deleted
        .iter()
        .filter(|name| {
            seen.get(**name)
                .is_some_and(|s| s.types.last().is_some_and(|t| t == "DELETED"))
        })
        .count();
    let surviving: Vec<(&String, &Fate)> = truth.objects.iter().filter(|(_, f)| !f.deleted).collect();
    let final_matched = surviving
        .iter()
        .filter(|(name, fate)| match seen.get(*name) {
            Some(seen) => seen.versions.last() == Some(&fate.final_version),
            None => fate.snapshot && fate.modifications == 0,
        })
        .count();
    let snapshot_added = truth
        .objects
        .iter()
        .filter(|(name, fate)| fate.snapshot && seen.get(*name).is_some_and(|s| s.types.iter().any(|t| t == "ADDED")))
        .count();
    let repeated: usize = seen
        .values()
        .map(|s| s.versions.len() - s.versions.iter().collect::<BTreeSet<_>>().len())
        .sum();
    let unknown = seen.keys().filter(|name| !truth.objects.contains_key(*name)).count();
    let modifications: usize = truth.objects.values().map(|f| f.modifications).sum();
    let events: usize = seen.values().map(|s| s.types.len()).sum();
    let stderr = watcher.stderr();
    let gaps = stderr.matches("reconnected after").count();
    let relists = stderr.matches("changes found").count() + stderr.matches("no change found").count();
    eprintln!(
        "fault suite: {name}: created {} (ADDED {added}), modified {modifications} times, deleted {} (DELETED \
         {reported_deleted}), final versions {final_matched}/{}, snapshot reported ADDED {snapshot_added}, \
         versions repeated {repeated}, unknown objects {unknown}; {events} events, {gaps} reconnections, \
         {relists} relists",
        created.len(),
        deleted.len(),
        surviving.len(),
    );
    let context = format!("{name}\nstderr:\n{stderr}");
    assert_eq!(
        added,
        created.len(),
        "every object created is reported ADDED: {context}"
    );
    assert_eq!(reported_deleted, deleted.len(), "every deletion is reported: {context}");
    assert_eq!(
        final_matched,
        surviving.len(),
        "last versions are the final ones: {context}"
    );
    assert_eq!(
        snapshot_added, 0,
        "no object of the snapshot is reported ADDED: {context}"
    );
    assert_eq!(repeated, 0, "no version is reported twice: {context}");
    assert_eq!(
        unknown, 0,
        "nothing is reported that the generator did not make: {context}"
    );
    stderr
}

/// The local control plane behind a proxy of the test's own, and the server address that goes through it;
/// `None` (the test is skipped) when the tests run against another cluster.
async fn behind_proxy() -> Option<(&'static Cluster, Arc<Proxy>, String)> {
    let cluster = support::cluster();
    if !cluster.local() {
        eprintln!("skipped: needs the local control plane");
        return None;
    }
    let proxy = Arc::new(Proxy::start(cluster.apiserver_address()).await);
    let server = format!("https://{}", proxy.address);
    Some((cluster, proxy, server))
}

/// A TCP proxy between the tool and the API server cuts every connection at random moments, every 2 to 5 s.
#[tokio::test]
async fn connections_cut_at_random_moments() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    run_through_fault(
        "connections cut at random",
        cluster,
        &["--server", &server],
        None,
        move |stop| async move {
            let mut dice = Dice::new();
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(dice.between(Duration::from_secs(2), Duration::from_secs(5))).await;
                proxy.cut();
            }
        },
    )
    .await;
}

/// The proxy stops forwarding the open connections without closing them, twice: the tool hears nothing, takes
/// the watch as dead after its silence limit (3 s here; 90 s by default once the server is seen sending
/// periodic bookmarks) and reconnects through a new connection.
#[tokio::test]
async fn connections_that_stall() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let staller = proxy.clone();
    let stderr = run_through_fault(
        "connections that stall",
        cluster,
        &["--server", &server, "--silence-limit", "3s"],
        None,
        move |_| async move {
            // Far enough apart that each finds a watch open: after a stall, the pooled connections are stalled
            // too, and the first attempt to reopen the watch may wait on one of them.
            for pause in [6, 16] {
                tokio::time::sleep(Duration::from_secs(pause)).await;
                staller.stall();
            }
        },
    )
    .await;
    let noticed = stderr.matches("nothing heard for 3s").count();
    assert!(noticed >= 2, "each stall is noticed by the silence limit:\n{stderr}");
    // Each gap, from the last thing heard to the reconnection, is bounded: the silence limit, then as long again
    // for each pooled connection that stalled too; shorter than any object the generator deletes has lived.
    let gaps: Vec<f64> = stderr
        .split("reconnected after ")
        .skip(1)
        .filter_map(|rest| rest.split('s').next()?.parse().ok())
        .collect();
    assert!(gaps.len() >= 2, "the tool reconnects after each stall:\n{stderr}");
    assert!(
        gaps.iter().all(|gap| *gap < MIN_LIFETIME.as_secs_f64()),
        "gaps of {gaps:?} s:\n{stderr}"
    );
}

/// The API server is slow to answer for 15 s: every chunk either way is held 300 ms on the way (so a watch
/// event comes late, and a request takes a second or more). The tool keeps up once it is fast again and
/// loses nothing; a slow stream is not a dead one.
#[tokio::test]
async fn a_slow_api_server() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let slower = proxy.clone();
    let stderr = run_through_fault(
        "a slow API server",
        cluster,
        &["--server", &server],
        None,
        move |_| async move {
            tokio::time::sleep(Duration::from_secs(8)).await;
            slower.slow_down(Duration::from_millis(300));
            // The proxy does slow things down: a request and its answer are held 300 ms each.
            let started = Instant::now();
            let mut probe = tokio::net::TcpStream::connect(slower.address).await.expect("the proxy");
            probe.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("sent");
            let mut answer = [0u8; 64];
            let _ = probe.read(&mut answer).await.expect("an answer");
            assert!(
                started.elapsed() >= Duration::from_millis(500),
                "{:?}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_secs(15)).await;
            slower.slow_down(Duration::ZERO);
        },
    )
    .await;
    assert!(
        !stderr.contains("nothing heard"),
        "a slow stream is not a dead one:\n{stderr}"
    );
}

/// The reader of the tool's output stops reading for 15 s while changes go on, then reads again.
#[tokio::test]
async fn a_reader_that_stops_for_a_while() {
    let cluster = support::cluster();
    let pause = Some(Duration::from_secs(15));
    run_through_fault("a reader that stops for 15 s", cluster, &[], pause, |_| async {}).await;
}

/// The watch is kept away (the proxy refuses connections) while etcd's history is compacted, three times: the
/// tool comes back to 410 Gone and relists, on a server without watch cache (so that 410 can be forced).
#[tokio::test]
async fn watches_expired_by_compaction() {
    let Some(cluster) = support::named_control_plane(
        "watchlist-off",
        &["--feature-gates=WatchList=false", "--watch-cache=false"],
    ) else {
        return;
    };
    let proxy = Arc::new(Proxy::start(cluster.apiserver_address()).await);
    let server = format!("https://{}", proxy.address);
    // The proxy outlives the fault: the tool catches up through it.
    let blocker = proxy.clone();
    run_through_fault(
        "watches expired by compaction",
        cluster,
        &["--server", &server],
        None,
        move |_| async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(6)).await;
                blocker.cut_and_block();
                tokio::time::sleep(Duration::from_secs(2)).await;
                cluster.compact_etcd();
                blocker.unblock();
            }
        },
    )
    .await;
}

/// kube-apiserver is killed (SIGKILL) and started again on the same address, twice, on a control plane of
/// its own; with its watch cache gone, the tool resumes or relists.
#[tokio::test]
async fn the_api_server_killed_and_restarted() {
    let Some(cluster) = support::named_control_plane("faults-restart", &[]) else {
        return;
    };
    let name = cluster
        .state_dir
        .as_ref()
        .and_then(|dir| dir.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .expect("a named control plane");
    run_through_fault(
        "API server killed and restarted",
        cluster,
        &[],
        None,
        move |_| async move {
            for pause in [8, 10] {
                tokio::time::sleep(Duration::from_secs(pause)).await;
                let name = name.clone();
                let killed = tokio::task::spawn_blocking(move || {
                    std::process::Command::new(support::repo_root().join("scripts/cluster"))
                        .args(["kill-apiserver", "--name", &name])
                        .output()
                        .expect("scripts/cluster runs")
                })
                .await
                .expect("joined");
                assert!(killed.status.success(), "{}", support::stderr_of(&killed));
            }
        },
    )
    .await;
}
