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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
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

/// How the tool runs through a fault.
#[derive(Default)]
struct Conditions<'a> {
    /// Arguments beside `cm -n NAMESPACE -o json`.
    args: &'a [&'a str],
    /// The reader of the tool's output stops reading this long, 8 s in.
    reader_pause: Option<Duration>,
    /// The tool acts as the limited identity (given read access to the test's namespace), which unlike the
    /// administrator is subject to the API server's limits on requests.
    limited_user: bool,
}

/// The protocols every fault is met on, by two watchers side by side under the same fault: HTTP/2 (one
/// connection, every request a stream of it) and HTTP/1.1 (`DISABLE_HTTP2`, one connection per request in
/// flight), and what each adds to the tool's environment.
const PROTOCOLS: [(&str, &[(&str, &str)]); 2] = [("HTTP/2", &[]), ("HTTP/1.1", &[("DISABLE_HTTP2", "1")])];

/// What one watcher went through: its protocol, what it said on stderr, and its process.
struct Heard {
    protocol: &'static str,
    stderr: String,
    pid: u32,
}

/// One watcher through the fault, and what it reported of each object.
struct Run {
    protocol: &'static str,
    watcher: Watcher,
    seen: BTreeMap<String, Seen>,
}

impl Run {
    fn read(&mut self, line: String) {
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = event["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let entry = self.seen.entry(name).or_default();
        entry.types.push(event["type"].as_str().unwrap_or_default().to_string());
        entry.versions.push(
            event["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }

    /// Reads what each watcher has written within `within`, each on its own.
    async fn read_all(runs: &mut [Run], within: Duration) {
        let reads = runs.iter_mut().map(|run| async move {
            let deadline = tokio::time::Instant::now() + within;
            while let Some(line) = run
                .watcher
                .next_line(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
            {
                run.read(line);
            }
        });
        futures::future::join_all(reads).await;
    }
}

/// Runs the generator and the fault side by side, with a watcher on each protocol, then reads their output
/// until each accounts for the ground truth (or `CATCH_UP` passes), checks every promise for each, and prints
/// the counts. Gives what each said on stderr, for checks of the fault's own.
async fn run_through_fault<F, Fut>(name: &str, cluster: &Cluster, conditions: Conditions<'_>, fault: F) -> Vec<Heard>
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Conditions {
        args: extra_args,
        reader_pause,
        limited_user,
    } = conditions;
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "faults").await;
    if limited_user {
        grant_read_access(cluster, &namespace.name);
    }
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
    if limited_user {
        args.extend(["--context", support::LIMITED_CONTEXT]);
    }
    args.extend(extra_args);
    let mut runs = Vec::new();
    for (protocol, env) in PROTOCOLS {
        let watcher = Watcher::start_with_env(&cluster.kubeconfig, &args, env).await;
        // The protocol asked for is the one spoken.
        assert!(
            watcher.stderr().contains(&format!(" over {protocol};")),
            "{name}: {}",
            watcher.stderr()
        );
        runs.push(Run {
            protocol,
            watcher,
            seen: BTreeMap::new(),
        });
    }

    let generating = tokio::spawn(generate(api.clone(), truth.clone(), Dice::new()));
    let stop_fault = Arc::new(AtomicBool::new(false));
    let faulting = tokio::spawn(fault(stop_fault.clone()));
    let started = Instant::now();
    let mut paused = false;
    while !generating.is_finished() {
        if let Some(pause) = reader_pause.filter(|_| !paused && started.elapsed() > Duration::from_secs(8)) {
            // The reader stops; the tool's writes block on the full pipe while changes go on.
            paused = true;
            tokio::time::sleep(pause).await;
        }
        Run::read_all(&mut runs, Duration::from_millis(200)).await;
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
    while !runs.iter().all(|run| accounted(&run.seen)) && Instant::now() < deadline {
        Run::read_all(&mut runs, Duration::from_millis(200)).await;
    }
    runs.into_iter()
        .map(|run| {
            let name = format!("{name}, over {}", run.protocol);
            let stderr = check(&name, &truth, &run.seen, run.watcher.stderr());
            Heard {
                protocol: run.protocol,
                stderr,
                pid: run.watcher.pid(),
            }
        })
        .collect()
}

/// Checks every promise of one watcher's reports against the ground truth, and prints the counts.
fn check(name: &str, truth: &Truth, seen: &BTreeMap<String, Seen>, stderr: String) -> String {
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

/// The seconds the tool gave after each `phrase` on stderr: `reconnected after 3.2s` gives 3.2.
fn seconds_after(stderr: &str, phrase: &str) -> Vec<f64> {
    stderr
        .split(phrase)
        .skip(1)
        .filter_map(|rest| rest.split('s').next()?.parse().ok())
        .collect()
}

/// The local control plane behind a proxy of the test's own, and the server address that goes through it;
/// `None` (the test is skipped) when the tests run against another cluster.
async fn behind_proxy() -> Option<(&'static Cluster, Arc<Proxy>, String)> {
    let cluster = support::local_control_plane("puts a proxy of its own in front of the local API server")?;
    let proxy = Arc::new(Proxy::start(cluster.apiserver_address()).await);
    let server = format!("https://{}", proxy.address);
    Some((cluster, proxy, server))
}

/// A TCP proxy between the tool and the API server cuts every connection at random moments, every 2 to 5 s:
/// over HTTP/2 its one connection, over HTTP/1.1 the one of each request in flight.
#[tokio::test]
async fn connections_cut_at_random_moments() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let cuts = Arc::new(AtomicUsize::new(0));
    let counted = cuts.clone();
    let heard = run_through_fault(
        "connections cut at random",
        cluster,
        Conditions {
            args: &["--server", &server],
            ..Conditions::default()
        },
        move |stop| async move {
            let mut dice = Dice::new();
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(dice.between(Duration::from_secs(2), Duration::from_secs(5))).await;
                // A cut that found the tools' connections open.
                counted.fetch_add(usize::from(proxy.cut() > 0), Ordering::SeqCst);
            }
        },
    )
    .await;
    // The fault happened: connections were open when cut, and each watcher came back after them.
    let cuts = cuts.load(Ordering::SeqCst);
    for Heard { protocol, stderr, .. } in heard {
        assert!(cuts >= 3, "only {cuts} cuts found connections open:\n{stderr}");
        let reconnects = stderr.matches("reconnected after").count();
        assert!(
            reconnects >= 3,
            "{protocol}: {reconnects} reconnections after {cuts} cuts:\n{stderr}"
        );
    }
}

/// The proxy stops forwarding the open connections without closing them, twice: the tool hears nothing, takes
/// the watch as dead after its silence limit (3 s here; 90 s by default once the server is seen sending
/// periodic bookmarks) and reconnects through a new connection; over HTTP/1.1 the pooled connections stall too.
#[tokio::test]
async fn connections_that_stall() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let staller = proxy.clone();
    let heard = run_through_fault(
        "connections that stall",
        cluster,
        Conditions {
            args: &["--server", &server, "--silence-limit", "3s"],
            ..Conditions::default()
        },
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
    for Heard { protocol, stderr, .. } in heard {
        let noticed = stderr.matches("nothing heard for 3s").count();
        assert!(
            noticed >= 2,
            "{protocol}: each stall is noticed by the silence limit:\n{stderr}"
        );
        // Each gap, from the last thing heard to the reconnection, is bounded: the silence limit, then as long
        // again for each pooled connection that stalled too; shorter than any object the generator deletes has
        // lived.
        let gaps: Vec<f64> = seconds_after(&stderr, "reconnected after ");
        assert!(
            gaps.len() >= 2,
            "{protocol}: the tool reconnects after each stall:\n{stderr}"
        );
        assert!(
            gaps.iter().all(|gap| *gap < MIN_LIFETIME.as_secs_f64()),
            "{protocol}: gaps of {gaps:?} s:\n{stderr}"
        );
    }
}

/// A load balancer that accepts connections for a server that never answers (starting, draining, gone): the
/// proxy cuts the tool's connection and, for 8 s, accepts new ones and never says a word. The attempt to
/// reconnect gives up on its TLS handshake after 10 s and says so; the next gets through. The gap is bounded by
/// that handshake limit, where a handshake bounded only by the 30 s connect timeout kept the watch away for 30
/// s; the change made meanwhile is reported after it.
#[tokio::test]
async fn a_balancer_that_accepts_and_never_answers() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "silent").await;
    let args = ["cm", "-n", &namespace.name, "-o", "json", "--server", &server];
    let mut watcher = Watcher::start(&cluster.kubeconfig, &args).await;
    let cut = proxy.cut_and_mute();
    assert!(cut >= 1, "the tool's connection was open, and cut");
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    api.create(&PostParams::default(), &config_map("made-while-silent", "1"))
        .await
        .expect("create");
    tokio::time::sleep(Duration::from_secs(8)).await;
    proxy.unmute();
    let events = watcher.json_events(1).await;
    assert_eq!(
        crate::support::watcher::summary(&events[0]),
        ("ADDED".to_string(), "made-while-silent".to_string())
    );
    let stderr = watcher.stderr();
    assert!(
        stderr.contains("did not finish within 10s"),
        "the handshake's limit is said:\n{stderr}"
    );
    let gaps: Vec<f64> = seconds_after(&stderr, "reconnected after ");
    assert!(
        gaps.len() == 1 && gaps[0] < 20.0,
        "one reconnection, within the handshake's limit and a retry: {gaps:?} s\n{stderr}"
    );
}

/// ConfigMaps `existing-0000` to `existing-{count - 1}` (`data.k: v`), made 16 at a time.
async fn seed(api: &Api<ConfigMap>, count: usize) {
    futures::stream::iter(0..count)
        .map(|index| {
            let api = api.clone();
            async move {
                api.create(
                    &PostParams::default(),
                    &config_map(&format!("existing-{index:04}"), "v"),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .for_each(|created| {
            created.expect("seeding");
        });
}

/// A start that takes more than a second says how far it has come, from each LIST page's
/// `remainingItemCount`: 1,500 ConfigMaps read in pages of 500 through a link that holds every chunk 400 ms.
#[tokio::test]
async fn a_slow_start_says_how_far_it_has_come() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "progress").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    seed(&api, 1500).await;
    proxy.slow_down(Duration::from_millis(400));
    let watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-o", "json", "--server", &server],
    )
    .await;
    proxy.slow_down(Duration::ZERO);
    let stderr = watcher.stderr();
    // The namespace holds the 1,500 and the root CA's ConfigMap that kube-controller-manager adds.
    let existing = api.list(&ListParams::default()).await.expect("listed").items.len();
    assert!(stderr.contains(&format!("Synced {existing} configmaps")), "{stderr}");
    let progress: Vec<&str> = stderr
        .lines()
        .take_while(|line| !line.starts_with("Synced "))
        .filter(|line| line.starts_with("listing what exists: "))
        .collect();
    let pages: Vec<String> = [500, 1000, 1500]
        .iter()
        .map(|read| format!("listing what exists: {read} of {existing} configmaps"))
        .collect();
    assert!(
        !progress.is_empty() && progress.iter().all(|line| pages.iter().any(|page| page == line)),
        "the progress, before the sync:\n{stderr}"
    );
}

/// Over a slow link the first list reads what exists as metadata after its first page (as kubectl does), and
/// the whole objects follow in the background: the first modification of an object that existed, made while
/// they are still on their way, waits for the version before it and says what it changed; an object created
/// meanwhile is not held back.
#[tokio::test]
async fn over_a_slow_link_what_exists_is_listed_as_metadata_and_changes_still_say_what_changed() {
    let Some((cluster, proxy, server)) = behind_proxy().await else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create_in(cluster, &client, "slow-link").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    seed(&api, 1500).await;
    proxy.slow_down(Duration::from_millis(300));
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["cm", "-n", &namespace.name, "--server", &server]).await;
    let stderr = watcher.stderr();
    // The namespace holds the 1,500 and the root CA's ConfigMap that kube-controller-manager adds.
    let existing = api.list(&ListParams::default()).await.expect("listed").items.len();
    assert!(stderr.contains(&format!("Synced {existing} configmaps")), "{stderr}");
    let before_sync = stderr.split("Synced ").next().unwrap_or_default();
    assert!(
        before_sync.contains("configmaps: slow link (") && before_sync.contains("listed as metadata"),
        "the slow link was noticed before the sync:\n{stderr}"
    );
    // The link is still slow: the whole objects of the last page are not in yet when these change.
    let patch = serde_json::json!({ "data": { "k": "w" } });
    for name in ["existing-1499", "existing-0000"] {
        api.patch(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .expect("patch");
    }
    api.create(&PostParams::default(), &config_map("fresh", "v"))
        .await
        .expect("create");
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.slow_down(Duration::ZERO);
    let seen = std::cell::RefCell::new(BTreeSet::new());
    let lines = watcher
        .lines_until(Duration::from_secs(60), |line| {
            let mut seen = seen.borrow_mut();
            if let Some(name) = line.split_whitespace().nth(2) {
                seen.insert(name.to_string());
            }
            ["existing-1499", "existing-0000", "fresh"]
                .iter()
                .all(|name| seen.contains(*name))
        })
        .await;
    let lines: Vec<String> = lines.into_iter().filter(|line| !line.starts_with("EVENT ")).collect();
    let line_of = |name: &str| {
        lines
            .iter()
            .find(|line| line.split_whitespace().nth(2) == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {lines:#?}\n{}", watcher.stderr()))
    };
    for name in ["existing-1499", "existing-0000"] {
        let line = line_of(name);
        assert!(line.starts_with("MODIFIED "), "{line}");
        assert!(
            line.trim_end().ends_with("data.k v→w"),
            "what changed, from the snapshot's version: {line}"
        );
    }
    assert!(line_of("fresh").starts_with("ADDED "), "{lines:#?}");
    watcher
        .wait_for_stderr(&format!(
            "configmaps: the whole objects that existed are read: {existing} in "
        ))
        .await;
    println!("over a slow link:\n{}\n{}", watcher.stderr(), lines.join("\n"));
    assert!(
        !watcher.stderr().contains("could not be read"),
        "the whole objects were read: {}",
        watcher.stderr()
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
    let heard = run_through_fault(
        "a slow API server",
        cluster,
        Conditions {
            args: &["--server", &server],
            ..Conditions::default()
        },
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
    for Heard { protocol, stderr, .. } in heard {
        assert!(
            !stderr.contains("nothing heard"),
            "{protocol}: a slow stream is not a dead one:\n{stderr}"
        );
    }
}

/// The reader of the tool's output stops reading for 15 s while changes go on, then reads again.
#[tokio::test]
async fn a_reader_that_stops_for_a_while() {
    let cluster = support::cluster();
    let conditions = Conditions {
        reader_pause: Some(Duration::from_secs(15)),
        ..Conditions::default()
    };
    run_through_fault("a reader that stops for 15 s", cluster, conditions, |_| async {}).await;
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
    let heard = run_through_fault(
        "watches expired by compaction",
        cluster,
        Conditions {
            args: &["--server", &server],
            ..Conditions::default()
        },
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
    // Each compaction left each watcher's resume point behind: three watches expired, three relists.
    for Heard { protocol, stderr, .. } in heard {
        let expired = stderr.matches("watch expired (410 Gone); relisting").count();
        let relisted = stderr.matches(": relisted").count();
        assert!(
            expired >= 3 && relisted >= 3,
            "{protocol}: {expired} expiries and {relisted} relists after 3 compactions:\n{stderr}"
        );
    }
}

/// kube-apiserver is killed (SIGKILL) and started again on the same address, twice, on a control plane of
/// its own; with its watch cache gone, the tool resumes or relists.
#[tokio::test]
async fn the_api_server_killed_and_restarted() {
    let Some(cluster) = support::named_control_plane("faults-restart", &[]) else {
        return;
    };
    let heard = run_through_fault(
        "API server killed and restarted",
        cluster,
        Conditions::default(),
        move |_| async move {
            for pause in [8, 10] {
                tokio::time::sleep(Duration::from_secs(pause)).await;
                cluster.script("kill-apiserver", &[]).await;
            }
        },
    )
    .await;
    // Each kill ended each watcher's watch, and it came back each time: resumed, or relisted.
    for Heard { protocol, stderr, .. } in heard {
        let interrupted = stderr.matches("watch interrupted").count();
        let back = stderr.matches("reconnected after").count() + stderr.matches(": relisted").count();
        assert!(
            interrupted >= 2 && back >= 2,
            "{protocol}: {interrupted} interruptions and {back} returns after 2 kills:\n{stderr}"
        );
    }
}

/// Read access for the limited identity to the ConfigMaps of a namespace of the test's. (The bootstrap `view`
/// role would get its rules from kube-controller-manager, which the named control planes do not run.)
fn grant_read_access(cluster: &Cluster, namespace: &str) {
    let user = format!("--user={}", support::LIMITED_CONTEXT);
    for args in [
        vec![
            "create",
            "role",
            "configmap-reader",
            "--verb=get,list,watch",
            "--resource=configmaps",
        ],
        vec![
            "create",
            "rolebinding",
            "configmap-reader",
            "--role=configmap-reader",
            &user,
        ],
    ] {
        let mut args = args.clone();
        args.extend(["-n", namespace]);
        let output = cluster.kubectl(&args);
        assert!(output.status.success(), "{}", support::stderr_of(&output));
    }
}

/// Two kube-apiservers on one etcd behind a load balancer (haproxy), restarted one after the other the graceful
/// way, four times, while changes happen, as in a managed cluster's rolling upgrade: each keeps serving for a
/// moment with /readyz failing (the balancer takes it out), then answers new requests 429 with Retry-After
/// while it drains, closes its watches and starts again. Nothing may be lost or reported twice, and the tool
/// must not stall: each gap is short.
#[tokio::test]
async fn api_servers_restarted_gracefully_behind_a_load_balancer() {
    let Some(cluster) = support::named_control_plane_with(
        "balanced",
        &["--apiservers", "2"],
        &["--shutdown-delay-duration=2s", "--shutdown-send-retry-after=true"],
    ) else {
        return;
    };
    let heard = run_through_fault(
        "API servers restarted gracefully behind a load balancer",
        cluster,
        Conditions::default(),
        move |_| async move {
            for index in ["1", "2", "1", "2"] {
                tokio::time::sleep(Duration::from_secs(2)).await;
                cluster.script("restart-apiserver", &["--index", index]).await;
            }
        },
    )
    .await;
    // Each restart was a graceful one: the balancer saw the server's /readyz fail (as it does from the moment
    // its shutdown begins), took it out, and put it back once it was ready again.
    let dir = cluster.state_dir.as_ref().expect("a local control plane");
    let balancer = std::fs::read_to_string(dir.join("logs/haproxy.log")).expect("haproxy's log");
    for server in ["kube-apiserver", "kube-apiserver-2"] {
        let taken_out = balancer
            .matches(&format!(
                "Server apiservers/{server} is DOWN, reason: Layer7 wrong status"
            ))
            .count();
        assert!(taken_out >= 2, "{server} was taken out {taken_out} times:\n{balancer}");
    }
    // A request that met a server draining its requests waits the 5 s its Retry-After asks for.
    for Heard { protocol, stderr, .. } in heard {
        let gaps: Vec<f64> = seconds_after(&stderr, "reconnected after ");
        assert!(
            gaps.iter().all(|gap| *gap < 8.0),
            "{protocol}: each reconnection is quick, through the other API server: gaps of {gaps:?} s\n{stderr}"
        );
    }
}

/// The control plane of the throttling tests: without API Priority and Fairness, one read request at a time
/// (for everybody but the administrators, who are exempt), so that a few busy clients make the server refuse
/// the others with 429 and `Retry-After: 1`; with an audit log, and without a watch cache, so that a relist can
/// be forced.
fn throttled_control_plane() -> Option<&'static Cluster> {
    support::named_control_plane_with(
        "throttled",
        &["--audit-log"],
        &[
            "--enable-priority-and-fairness=false",
            "--max-requests-inflight=1",
            "--watch-cache=false",
        ],
    )
}

/// Held for the whole of each test on the throttled control plane.
static THROTTLED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The namespace whose ConfigMaps the busy clients list.
const LOAD_NAMESPACE: &str = "throttle-load";

/// ConfigMaps for the busy clients to list, readable by the limited identity: enough that the server spends a
/// while on each list, holding its one slot. Made once per control plane.
async fn fill_for_load(cluster: &Cluster) {
    static FILLED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    FILLED
        .get_or_init(|| async {
            let _ = cluster.kubectl(&["create", "namespace", LOAD_NAMESPACE]);
            let _ = cluster.kubectl(&["delete", "rolebinding,role", "configmap-reader", "-n", LOAD_NAMESPACE]);
            grant_read_access(cluster, LOAD_NAMESPACE);
            let api: Api<ConfigMap> = Api::namespaced(cluster.admin_client().await, LOAD_NAMESPACE);
            let value = "x".repeat(16 * 1024);
            let creates = (0..1500).map(|index| {
                let (api, value) = (&api, &value);
                async move {
                    let name = format!("load-{index:04}");
                    let _ = api.create(&PostParams::default(), &config_map(&name, value)).await;
                }
            });
            futures::stream::iter(creates)
                .buffer_unordered(16)
                .collect::<Vec<()>>()
                .await;
        })
        .await;
}

/// Overloads the API server for the limited identity for `lasting`: a client of that identity lists the 24 MB
/// of ConfigMaps and reads the answer at 1 kB/s, so the server's one slot for read requests stays taken while it
/// writes, and every other read of that identity is refused with 429 and `Retry-After: 1`. (Busy clients listing
/// in a loop, as the reproduction had, leave the slot free now and then, at random: a slow reader holds
/// it the whole time.) Returns once a read of that identity is refused.
async fn overload(cluster: &Cluster) -> Overload {
    let dir = cluster.state_dir.as_ref().expect("a local control plane");
    let tokens = std::fs::read_to_string(dir.join("pki/tokens.csv")).expect("the tokens file");
    let token = tokens.split(',').next().expect("a token");
    let url = format!(
        "https://{}/api/v1/namespaces/{LOAD_NAMESPACE}/configmaps",
        cluster.apiserver_address()
    );
    let slow_read = || {
        tokio::process::Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--limit-rate", "1k", "--cacert"])
            .arg(dir.join("pki/ca.crt"))
            .args(["-H", &format!("Authorization: Bearer {token}"), &url])
            .kill_on_drop(true)
            .spawn()
            .expect("curl runs")
    };
    let mut slow_reader = slow_read();
    // The fault is there: a read of that identity is refused.
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).expect("readable");
    let options = kube::config::KubeConfigOptions {
        context: Some(support::LIMITED_CONTEXT.to_string()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("usable");
    // Its own answer, not kube's silent retries.
    config.default_retry = false;
    let probe: Api<ConfigMap> = Api::namespaced(
        kube::Client::try_from(config).expect("a client"),
        support::LIMITED_NAMESPACE,
    );
    let refused_by = Instant::now() + Duration::from_secs(30);
    let mut slow_reads = 1;
    loop {
        match probe.list(&ListParams::default().limit(1)).await {
            Err(kube::Error::Api(status)) if status.code == 429 => break,
            _ if Instant::now() < refused_by => {
                // The slow read is itself refused (429, and curl is done at once) when it arrives while
                // another read holds the one slot, this probe's included: then it is sent again.
                if slow_reader.try_wait().expect("curl's status").is_some() {
                    slow_reader = slow_read();
                    slow_reads += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("{slow_reads} slow reads did not overload the server: {other:?}"),
        }
    }
    Overload { slow_reader }
}

/// The API server overloaded by a slow reader (`overload`).
struct Overload {
    slow_reader: tokio::process::Child,
}

impl Overload {
    /// Ends the load after `lasting`; gives the moment it ended.
    async fn end_after(mut self, lasting: Duration) -> Instant {
        tokio::time::sleep(lasting).await;
        self.slow_reader.kill().await.expect("curl stops");
        Instant::now()
    }
}

/// Started while the API server refuses most requests (429, Retry-After: 1) for 15 s: the tool says within a
/// few seconds why it waits, says when the server accepts requests again, and is ready within about two
/// seconds of the load's end (it retries when the server asks, not on a backoff of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_api_server_is_said_and_waited_for() {
    let Some(cluster) = throttled_control_plane() else {
        return;
    };
    let _one_at_a_time = THROTTLED.lock().await;
    fill_for_load(cluster).await;
    let load = tokio::spawn(overload(cluster).await.end_after(Duration::from_secs(15)));
    let started = Instant::now();
    let args = [
        "cm",
        "-n",
        support::LIMITED_NAMESPACE,
        "-o",
        "json",
        "--context",
        support::LIMITED_CONTEXT,
    ];
    let watcher = Watcher::spawn(&cluster.kubeconfig, &args);
    let mut said_at = None;
    let mut synced_at = None;
    while synced_at.is_none() && started.elapsed() < Duration::from_secs(60) {
        let stderr = watcher.stderr();
        if said_at.is_none() && stderr.contains("waiting for the API server: it asks to slow down (429") {
            said_at = Some(started.elapsed());
        }
        if stderr.contains("Synced ") {
            synced_at = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Measured where the load ends, not after the wait for the sync, which would make the check below hold
    // whatever the tool did.
    let load_ended = load.await.expect("the load ran").duration_since(started);
    let stderr = watcher.stderr();
    eprintln!(
        "fault suite: throttled start: the wait said after {said_at:?}, ready after {synced_at:?}, the load \
         ended after {load_ended:?} (times from the tool's start); it said:\n{stderr}"
    );
    let said_at = said_at.unwrap_or_else(|| panic!("the wait was never said:\n{stderr}"));
    let synced_at = synced_at.unwrap_or_else(|| panic!("never synced:\n{stderr}"));
    assert!(said_at <= Duration::from_secs(5), "said after {said_at:?}:\n{stderr}");
    assert!(
        synced_at <= load_ended + Duration::from_millis(2_500),
        "ready {synced_at:?} after the start, the load ended after {load_ended:?}:\n{stderr}"
    );
    assert!(
        stderr.contains("the API server accepts requests again after"),
        "the end of the wait is said:\n{stderr}"
    );
    let said = stderr.find("waiting for the API server").expect("said");
    let ended = stderr.find("accepts requests again").expect("said");
    let synced = stderr.find("Synced ").expect("said");
    assert!(said < ended && ended < synced, "in order:\n{stderr}");
}

/// After the sync, the watch is kept away while etcd is compacted and the API server refuses most requests of
/// the tool's identity (429): the relist that follows 410 Gone is throttled, and loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_relist_loses_nothing() {
    let Some(cluster) = throttled_control_plane() else {
        return;
    };
    let _one_at_a_time = THROTTLED.lock().await;
    fill_for_load(cluster).await;
    let proxy = Arc::new(Proxy::start(cluster.apiserver_address()).await);
    let server = format!("https://{}", proxy.address);
    let blocker = proxy.clone();
    let heard = run_through_fault(
        "a throttled relist",
        cluster,
        Conditions {
            args: &["--server", &server],
            limited_user: true,
            ..Conditions::default()
        },
        move |_| async move {
            tokio::time::sleep(Duration::from_secs(8)).await;
            // In place before the gap, which stays shorter than the generator's youngest deletion, so that
            // nothing lives and dies inside it; the open watch is not held back by it (a watch takes no slot).
            let load = overload(cluster).await;
            blocker.cut_and_block();
            tokio::time::sleep(Duration::from_secs(1)).await;
            cluster.compact_etcd();
            let load = tokio::spawn(load.end_after(Duration::from_secs(8)));
            tokio::time::sleep(Duration::from_secs(1)).await;
            blocker.unblock();
            load.await.expect("the load ran");
        },
    )
    .await;
    // Each relist was held back by the refusals (the load runs 7 s after the watch is let through again).
    for Heard { protocol, stderr, .. } in heard {
        let relist_took: Vec<f64> = seconds_after(&stderr, "relisted after ");
        eprintln!("fault suite: a throttled relist, over {protocol}: relists took {relist_took:?} s");
        assert!(
            relist_took.iter().any(|took| *took >= 3.0),
            "{protocol}: the relist after 410 Gone met the refusals:\n{stderr}"
        );
    }
}

/// The API server's audit log names the tool in the User-Agent of each of its requests, as kubectl's names
/// kubectl: `kubectl-watchnew/v0.1.0 (linux/amd64) kubectl-watchnew/<commit>`.
#[tokio::test]
async fn the_audit_log_names_the_tool() {
    let Some(cluster) = throttled_control_plane() else {
        return;
    };
    let _one_at_a_time = THROTTLED.lock().await;
    let namespace = support::unique_name("audited");
    let watcher = Watcher::start(&cluster.kubeconfig, &["cm", "-n", &namespace, "-o", "json"]).await;
    drop(watcher);
    let expected = format!(
        "kubectl-watchnew/v{} ({}/{}) kubectl-watchnew/",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        }
    );
    // An entry is written when a request completes, and for a watch also when its answer starts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut agents: BTreeSet<String> = BTreeSet::new();
    while Instant::now() < deadline {
        agents = cluster
            .audit_log()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| {
                entry["objectRef"]["namespace"] == namespace.as_str() && entry["objectRef"]["resource"] == "configmaps"
            })
            .map(|entry| {
                format!(
                    "{} {}",
                    entry["verb"].as_str().unwrap_or("?"),
                    entry["userAgent"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if agents.iter().any(|agent| agent.starts_with("watch ")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("fault suite: audit log: {agents:?}");
    assert!(
        agents.iter().any(|agent| agent.starts_with("list ")) && agents.iter().any(|agent| agent.starts_with("watch ")),
        "the list and the watch are in the audit log: {agents:?}"
    );
    for agent in &agents {
        let user_agent = agent.split_once(' ').map(|(_, agent)| agent).unwrap_or_default();
        assert!(
            user_agent.starts_with(&expected),
            "{agent} names the tool as {expected}..."
        );
        let commit = &user_agent[expected.len()..];
        assert!(
            !commit.is_empty() && !commit.contains(' '),
            "{agent} ends with the commit"
        );
    }
}

/// The same rolling restart behind a plain TCP load balancer, as cloud TCP load balancers can be: a server is
/// taken in as soon as it accepts a TCP connection, so a new connection may reach one that is starting (it
/// accepts TCP before it can finish a TLS handshake) or draining. One server or the other is restarted every 3
/// to 5 s, so the tool's one HTTP/2 connection is cut wherever it goes. Connecting is bounded step by step
/// (the TLS handshake within 10 s), so each gap stays shorter than an object's life, every object is
/// reported, and a relist says from when to when nothing was watched.
#[tokio::test]
async fn api_servers_restarted_behind_a_tcp_balancer() {
    let Some(cluster) = support::named_control_plane_with(
        "tcp-balanced",
        &["--apiservers", "2", "--balancer-check", "tcp"],
        &["--shutdown-delay-duration=4s", "--shutdown-send-retry-after=true"],
    ) else {
        return;
    };
    let dir = cluster.state_dir.clone().expect("a local control plane");
    let url = std::fs::read_to_string(dir.join("run/apiserver.url")).expect("the balancer's address");
    let port: u16 = url
        .trim()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    let restarts = Arc::new(AtomicUsize::new(0));
    let counted = restarts.clone();
    // Each watcher's connections to the balancer, by process: every one seen, and the most at once.
    let connections: Arc<Mutex<ConnectionsSeen>> = Arc::default();
    let sampled = connections.clone();
    let heard = run_through_fault(
        "API servers restarted behind a TCP load balancer",
        cluster,
        Conditions::default(),
        move |stop| async move {
            let sampling = tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let now = tool_connections(port);
                    {
                        let mut seen = sampled.lock().expect("not poisoned");
                        for (pid, ports) in now {
                            let entry = seen.entry(pid).or_default();
                            entry.1 = entry.1.max(ports.len());
                            entry.0.extend(ports);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
            let mut dice = Dice::new();
            for index in ["2", "1", "2", "1", "2"] {
                tokio::time::sleep(dice.between(Duration::from_secs(3), Duration::from_secs(5))).await;
                cluster.script("restart-apiserver", &["--index", index]).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
            sampling.await.expect("sampled");
        },
    )
    .await;
    // The balancer checked TCP only: it took a server out only while nothing listened on its port.
    let balancer = std::fs::read_to_string(dir.join("logs/haproxy.log")).expect("haproxy's log");
    let taken_out = balancer.matches("is DOWN, reason: Layer4").count();
    let restarts = restarts.load(Ordering::SeqCst);
    assert!(
        restarts == 5 && taken_out >= 2,
        "{restarts} restarts, a server taken out {taken_out} times on TCP:\n{balancer}"
    );
    assert!(
        !balancer.contains("Layer7"),
        "the balancer checks TCP only:\n{balancer}"
    );
    // The restarts reached each watcher: its connections were cut and made again; over HTTP/2 it held one at a
    // time (two for a moment while one replaces the other), its watches multiplexed over it.
    let connections = std::mem::take(&mut *connections.lock().expect("not poisoned"));
    for Heard { protocol, stderr, pid } in heard {
        let (distinct, most) = connections.get(&pid).cloned().unwrap_or_default();
        eprintln!(
            "fault suite: over {protocol}, the tool's connections to the balancer: {} in all, at most {most} at \
             once; its notices:\n{stderr}",
            distinct.len()
        );
        assert!(
            distinct.len() >= 2 && (protocol != "HTTP/2" || most <= 2),
            "{protocol}: the tool's connections to the balancer: {} in all, at most {most} at once\n{stderr}",
            distinct.len()
        );
        let gaps: Vec<f64> = seconds_after(&stderr, "reconnected after ")
            .into_iter()
            .chain(seconds_after(&stderr, "relisted after "))
            .collect();
        assert!(
            gaps.iter().all(|gap| *gap < MIN_LIFETIME.as_secs_f64()),
            "{protocol}: each gap is shorter than an object's life: {gaps:?} s\n{stderr}"
        );
        for relist in stderr.lines().filter(|line| line.contains("relisted after ")) {
            assert!(
                relist.contains("not watched from ") && relist.contains("cannot be known"),
                "{protocol}: a relist after a gap says the gap: {relist}"
            );
        }
    }
}

/// By process: the local ports of every connection seen, and the most open at once.
type ConnectionsSeen = BTreeMap<u32, (BTreeSet<u16>, usize)>;

/// The local ports of each kubectl-watchnew's TCP connections to this port on loopback, by process, as `ss`
/// lists them.
fn tool_connections(port: u16) -> BTreeMap<u32, BTreeSet<u16>> {
    let output = std::process::Command::new("ss")
        .args(["-tnpH", "state", "established", "dst", &format!("127.0.0.1:{port}")])
        .output()
        .expect("ss runs");
    let mut by_process: BTreeMap<u32, BTreeSet<u16>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        // `... 127.0.0.1:41234 127.0.0.1:6443 users:(("kubectl-watchne",pid=4242,fd=9))`
        let Some(users) = line.split("\"kubectl-watchne\",pid=").nth(1) else {
            continue;
        };
        let pid = users.split(',').next().and_then(|pid| pid.parse().ok());
        let local = line
            .split_whitespace()
            .nth(2)
            .and_then(|local| local.rsplit(':').next()?.parse().ok());
        if let (Some(pid), Some(local)) = (pid, local) {
            by_process.entry(pid).or_default().insert(local);
        }
    }
    by_process
}
