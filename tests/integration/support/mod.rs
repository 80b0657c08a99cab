//! Shared test ground: the real control planes (started once per run, or reused), clients for their two
//! identities, a namespace of its own for each test, the binary under test, and a proxy for faults.

pub mod collector;
pub mod proxy;
pub mod proxy_servers;
pub mod watcher;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// Points the tests at an existing cluster instead of the local control plane.
pub const KUBECONFIG_ENV: &str = "WATCHNEW_TEST_KUBECONFIG";
/// The Kubernetes minor of the local control planes of this run (`1.30`, `1.33`); the newest by default.
pub const KUBERNETES_VERSION_ENV: &str = "WATCHNEW_TEST_KUBERNETES_VERSION";
pub const LIMITED_CONTEXT: &str = "watchnew-limited";
pub const LIMITED_NAMESPACE: &str = "team-a";
/// Where `scripts/test` collects the skips of a run, to count them and say why at the end.
pub const SKIP_LOG_ENV: &str = "WATCHNEW_SKIP_LOG";
/// The options of `scripts/cluster up` that it also reads from the environment: a caller's value must not
/// change which control plane the tests get (no nodes, no controllers), so none is passed on.
const CLUSTER_OPTION_VARIABLES: [&str; 9] = [
    "WATCHNEW_CLUSTER_NAME",
    "WATCHNEW_KUBERNETES_VERSION",
    "WATCHNEW_APISERVER_ARGS",
    "WATCHNEW_CONTROLLER_MANAGER",
    "WATCHNEW_NODES",
    "WATCHNEW_APISERVERS",
    "WATCHNEW_BALANCER_CHECK",
    "WATCHNEW_AUDIT_LOG",
    "WATCHNEW_CLUSTER_TIMEOUT",
];

/// Why a test cannot run here.
pub enum Skip {
    /// The tests run against a cluster of the user's (`WATCHNEW_TEST_KUBECONFIG`), which lacks what only the
    /// local control plane has: its processes, its etcd, its address, its second identity. The one kind of skip
    /// the README lists, and the only one a CI run may meet (and then only with that variable set).
    UsersCluster(&'static str),
    /// Anything else the test needs and did not find: under `CI=true`, a failure.
    Missing(String),
}

/// The cluster, when it is the local control plane; a skip otherwise.
pub fn local_control_plane(needs: &'static str) -> Option<&'static Cluster> {
    let cluster = cluster();
    if !cluster.local() {
        skip(Skip::UsersCluster(needs));
        return None;
    }
    Some(cluster)
}

/// Whether the kubeconfig has the limited identity (`watchnew-limited`, which `scripts/cluster up` makes); a
/// skip when it has not. On the local control plane it is always there: its absence is a failure under CI.
pub fn has_limited_identity() -> bool {
    let cluster = cluster();
    if cluster.has_context(LIMITED_CONTEXT) {
        return true;
    }
    match cluster.local() {
        true => skip(Skip::Missing(format!(
            "the local control plane's kubeconfig has no {LIMITED_CONTEXT} context"
        ))),
        false => skip(Skip::UsersCluster(
            "the identity watchnew-limited exists only on the local control plane",
        )),
    }
    false
}

/// Whether controllers run (kube-controller-manager makes ReplicaSets, pods, Events); a skip when they do
/// not, which the local control plane's default has them do.
pub fn runs_controllers() -> bool {
    if cluster().runs_controller_manager() {
        return true;
    }
    skip(Skip::Missing(
        "the local control plane runs no kube-controller-manager (scripts/cluster up --no-controller-manager)".into(),
    ));
    false
}

/// Says that this test does not run, and why, for `scripts/test`'s count of skips at the end. Under `CI=true`
/// a test that cannot run fails, with the reason, unless the README lists the skip.
pub fn skip(why: Skip) {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let (reason, listed) = match why {
        Skip::UsersCluster(reason) => (reason.to_string(), std::env::var_os(KUBECONFIG_ENV).is_some()),
        Skip::Missing(reason) => (reason, false),
    };
    if std::env::var("CI").is_ok_and(|ci| ci == "true") && !listed {
        panic!("{test} cannot run: {reason} (under CI=true a test that cannot run fails)");
    }
    eprintln!("skipped: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV) {
        let line = format!("{test}\t{reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = appended {
            panic!(
                "{test}: the skip could not be logged in {}: {error}",
                path.to_string_lossy()
            );
        }
    }
}

pub struct Cluster {
    pub kubeconfig: PathBuf,
    /// `gitVersion` from the server's /version.
    pub server_version: String,
    /// The control plane's folder when `scripts/cluster` runs it; none for a cluster of the user's.
    pub state_dir: Option<PathBuf>,
}

impl Cluster {
    pub fn local(&self) -> bool {
        self.state_dir.is_some()
    }

    /// The server's minor version: 37 for v1.37.1.
    pub fn minor(&self) -> u32 {
        self.server_version
            .trim_start_matches('v')
            .split('.')
            .nth(1)
            .and_then(|minor| minor.trim_end_matches('+').parse().ok())
            .unwrap_or_else(|| panic!("a version like v1.37.1: {}", self.server_version))
    }

    /// Whether kube-apiserver streams initial lists unless told otherwise: the WatchList feature gate is on
    /// by default in 1.32 and from 1.34 (beta), off in 1.33 and before 1.32.
    pub fn streams_initial_lists_by_default(&self) -> bool {
        matches!(self.minor(), 32 | 34..)
    }

    /// A client that acts as the administrator: the current context of the kubeconfig.
    pub async fn admin_client(&self) -> Client {
        self.client(None).await
    }

    /// A client that acts as the given context of the kubeconfig (its current context for `None`).
    pub async fn client(&self, context: Option<&str>) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("the test kubeconfig is readable");
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("the context is usable");
        Client::try_from(config).expect("a client can be built")
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl(&self.kubeconfig, args)
    }

    pub fn has_context(&self, name: &str) -> bool {
        Kubeconfig::read_from(&self.kubeconfig)
            .map(|config| config.contexts.iter().any(|context| context.name == name))
            .unwrap_or(false)
    }

    /// Whether kube-controller-manager runs, adding root CAs and service accounts to new namespaces.
    pub fn runs_controller_manager(&self) -> bool {
        match &self.state_dir {
            Some(dir) => std::fs::read_to_string(dir.join("run/components"))
                .is_ok_and(|components| components.contains("kube-controller-manager")),
            None => true,
        }
    }

    /// Whether pods run: kwok simulates nodes of the local control plane (`scripts/cluster up --nodes`), or a
    /// cluster of the user's has nodes.
    pub fn runs_nodes(&self) -> bool {
        match &self.state_dir {
            Some(dir) => std::fs::read_to_string(dir.join("run/components"))
                .is_ok_and(|components| components.split_whitespace().any(|component| component == "kwok")),
            None => true,
        }
    }

    fn run_file(&self, name: &str) -> String {
        let dir = self.state_dir.as_ref().expect("a local control plane");
        let path = dir.join("run").join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }

    /// Where kube-apiserver listens, for a proxy in front of it.
    pub fn apiserver_address(&self) -> SocketAddr {
        let url = self.run_file("apiserver.url");
        url.trim_start_matches("https://")
            .parse()
            .unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    /// The bytes kube-apiserver has sent in answer to requests with this verb on this resource, in every
    /// namespace, by its own count (`apiserver_response_sizes_sum`): after compression, as they went out.
    pub fn response_bytes(&self, resource: &str, verb: &str) -> f64 {
        let output = self.kubectl(&["get", "--raw", "/metrics"]);
        assert!(output.status.success(), "reading /metrics: {}", stderr_of(&output));
        let wanted = [
            format!("resource=\"{resource}\""),
            format!("verb=\"{verb}\""),
            "scope=\"namespace\"".into(),
        ];
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.starts_with("apiserver_response_sizes_sum{"))
            .filter(|line| wanted.iter().all(|label| line.contains(label.as_str())))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// How many streamed initial lists (`sendInitialEvents`, WatchList) of this resource, in any namespace,
    /// kube-apiserver has finished sending, by its own count (`apiserver_watch_list_duration_seconds_count`):
    /// the proof that a list was streamed rather than paged. Zero on a server that has never streamed one.
    pub fn streamed_lists(&self, resource: &str) -> f64 {
        let output = self.kubectl(&["get", "--raw", "/metrics"]);
        assert!(output.status.success(), "reading /metrics: {}", stderr_of(&output));
        let wanted = [format!("resource=\"{resource}\""), "scope=\"namespace\"".into()];
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.starts_with("apiserver_watch_list_duration_seconds_count{"))
            .filter(|line| wanted.iter().all(|label| line.contains(label.as_str())))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Waits until kube-apiserver has sent more than `before` streamed lists of `resource` (the count is kept
    /// when the list's last event goes out, a moment after the client may have read it), and gives how many.
    pub async fn streamed_lists_beyond(&self, resource: &str, before: f64) -> f64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = self.streamed_lists(resource);
            if now > before || std::time::Instant::now() > deadline {
                return now;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// What the first kube-apiserver has written to its audit log (a control plane started with `--audit-log`).
    pub fn audit_log(&self) -> String {
        let dir = self.state_dir.as_ref().expect("a local control plane");
        let path = dir.join("logs/kube-apiserver.audit.log");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The control plane's name for `scripts/cluster --name`.
    pub fn name(&self) -> String {
        self.state_dir
            .as_ref()
            .and_then(|dir| dir.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .expect("a local control plane")
    }

    /// Runs `scripts/cluster COMMAND --name NAME ARGS...` on this control plane, failing the test if it fails.
    pub async fn script(&self, command: &str, args: &[&str]) -> String {
        let mut all = vec![command.to_string(), "--name".to_string(), self.name()];
        all.extend(args.iter().map(|arg| arg.to_string()));
        let output = tokio::task::spawn_blocking(move || {
            Command::new(repo_root().join("scripts/cluster"))
                .args(&all)
                .output()
                .expect("scripts/cluster runs")
        })
        .await
        .expect("joined");
        assert!(
            output.status.success(),
            "scripts/cluster {command}: {}",
            stderr_of(&output)
        );
        stderr_of(&output)
    }

    /// Compacts etcd's history up to now, so that watches resuming from before get 410 Gone.
    pub fn compact_etcd(&self) {
        let etcd = self.run_file("etcd.url");
        let range = curl_json(&format!("{etcd}/v3/kv/range"), r#"{"key":"AA=="}"#);
        let revision = range["header"]["revision"]
            .as_str()
            .expect("etcd reports its revision")
            .to_string();
        let body = format!(r#"{{"revision":"{revision}","physical":true}}"#);
        curl_json(&format!("{etcd}/v3/kv/compaction"), &body);
    }
}

fn curl_json(url: &str, body: &str) -> serde_json::Value {
    let output = Command::new("curl")
        .args(["-sSf", "-X", "POST", url, "-d", body])
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "POST {url}: {}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).expect("etcd answers JSON")
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The control plane for this run: the one named by WATCHNEW_TEST_KUBECONFIG, or the local one, started
/// with `scripts/cluster up` unless it already runs.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let cluster = match std::env::var_os(KUBECONFIG_ENV) {
            Some(path) => {
                let kubeconfig = PathBuf::from(path);
                Cluster {
                    server_version: server_version(&kubeconfig),
                    kubeconfig,
                    state_dir: None,
                }
            }
            None => start_local_control_plane(&with_version("default", &[])),
        };
        // Written past the test harness's capture, so that every run's output names the server it tested.
        let _ = writeln!(
            std::io::stderr(),
            "integration tests: kube-apiserver {} ({}; kubeconfig {})",
            cluster.server_version,
            if cluster.local() {
                "local control plane from scripts/cluster"
            } else {
                KUBECONFIG_ENV
            },
            cluster.kubeconfig.display()
        );
        cluster
    })
}

/// A second local control plane with other kube-apiserver flags, started once per run under `name` and shared
/// by the tests that need those flags. `None` when the tests run against a cluster of the user's.
pub fn named_control_plane(name: &str, apiserver_args: &[&str]) -> Option<&'static Cluster> {
    named_control_plane_with(name, &[], apiserver_args)
}

/// `named_control_plane`, with options of `scripts/cluster up` too (`--apiservers 2`, `--audit-log`).
pub fn named_control_plane_with(name: &str, up_args: &[&str], apiserver_args: &[&str]) -> Option<&'static Cluster> {
    static NAMED: OnceLock<Mutex<HashMap<String, &'static Cluster>>> = OnceLock::new();
    if !cluster().local() {
        skip(Skip::UsersCluster(
            "needs a control plane of its own, with other kube-apiserver flags",
        ));
        return None;
    }
    let mut named = NAMED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cluster = named.entry(name.to_string()).or_insert_with(|| {
        let mut args = vec!["--no-controller-manager".to_string()];
        args.extend(up_args.iter().map(|arg| arg.to_string()));
        args.extend(apiserver_args.iter().map(|arg| format!("--apiserver-arg={arg}")));
        Box::leak(Box::new(start_local_control_plane(&with_version(name, &args))))
    });
    Some(cluster)
}

/// `scripts/cluster up` arguments for a control plane of this run's Kubernetes version: the newest under the
/// name given, or another under that name with the version added, so that runs of several versions can share
/// one machine.
fn with_version(name: &str, args: &[String]) -> Vec<String> {
    let mut all = match kubernetes_version() {
        None => vec!["--name".to_string(), name.to_string()],
        // The compatibility tests need no pods that run: no nodes, and no kube-scheduler or kwok to build.
        Some(minor) => vec![
            "--name".to_string(),
            format!("{name}-v{}", minor.replace('.', "-")),
            "--kubernetes-version".to_string(),
            minor,
            "--nodes".to_string(),
            "0".to_string(),
        ],
    };
    all.extend(args.iter().cloned());
    all
}

/// The minor asked for with `WATCHNEW_TEST_KUBERNETES_VERSION`, unless it is the newest (the default).
fn kubernetes_version() -> Option<String> {
    let minor = std::env::var(KUBERNETES_VERSION_ENV)
        .ok()
        .filter(|minor| !minor.is_empty())?;
    let minor = minor.trim_start_matches('v').to_string();
    (minor != newest_pinned_minor()).then_some(minor)
}

/// The Kubernetes minors with a module in scripts/controlplane, newest last.
fn pinned_minors() -> Vec<String> {
    let mut minors: Vec<(u32, String)> = std::fs::read_dir(repo_root().join("scripts/controlplane"))
        .expect("scripts/controlplane is readable")
        .flatten()
        .filter(|entry| entry.path().join("go.mod").is_file())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let minor = name.strip_prefix("1.")?.parse().ok()?;
            Some((minor, name))
        })
        .collect();
    minors.sort();
    minors.into_iter().map(|(_, name)| name).collect()
}

fn newest_pinned_minor() -> String {
    pinned_minors().pop().expect("a module in scripts/controlplane")
}

fn start_local_control_plane(args: &[String]) -> Cluster {
    // stderr is inherited: a first run shows the build and start-up progress.
    let mut command = Command::new(repo_root().join("scripts/cluster"));
    for variable in CLUSTER_OPTION_VARIABLES {
        command.env_remove(variable);
    }
    let output = command
        .arg("up")
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/cluster could not be run");
    assert!(
        output.status.success(),
        "scripts/cluster up {args:?} failed with {}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).expect("scripts/cluster printed non-UTF-8");
    let kubeconfig = PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("scripts/cluster up printed nothing on stdout"),
    );
    let state_dir = kubeconfig.parent().map(Path::to_path_buf);
    Cluster {
        server_version: server_version(&kubeconfig),
        kubeconfig,
        state_dir,
    }
}

fn server_version(kubeconfig: &Path) -> String {
    let output = kubectl(kubeconfig, &["get", "--raw", "/version"]);
    assert!(
        output.status.success(),
        "kubectl get --raw /version failed: {}",
        stderr_of(&output)
    );
    let version: serde_json::Value = serde_json::from_slice(&output.stdout).expect("/version is not JSON");
    version["gitVersion"]
        .as_str()
        .expect("/version has no gitVersion")
        .to_string()
}

/// The Kubernetes version pinned in scripts/controlplane/MINOR/go.mod for this run's minor, which the local
/// control plane is built from.
pub fn pinned_kubernetes_version() -> String {
    let minor = kubernetes_version().unwrap_or_else(newest_pinned_minor);
    let go_mod = std::fs::read_to_string(repo_root().join("scripts/controlplane").join(minor).join("go.mod"))
        .expect("go.mod is readable");
    go_mod
        .lines()
        .map(str::split_whitespace)
        .find_map(|mut words| match (words.next(), words.next()) {
            (Some("k8s.io/kubernetes"), Some(version)) if version.starts_with('v') => Some(version.to_string()),
            _ => None,
        })
        .expect("go.mod requires k8s.io/kubernetes")
}

/// A client that acts as the administrator of the default test cluster.
pub async fn admin_client() -> Client {
    cluster().admin_client().await
}

pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl could not be run")
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether a line of the tool's stderr says a wait on the API server before the first sync (a request
/// unanswered or refused for 2 s, which a busy machine can cause), said beside whatever else it says.
pub fn is_wait_line(line: &str) -> bool {
    [
        "waiting for the API server",
        "the API server answered after",
        "the API server accepts requests again",
    ]
    .iter()
    .any(|wait| line.starts_with(wait))
}

/// The tool's stderr without the lines that say waits on the API server.
pub fn without_waits(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !is_wait_line(line))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A name no other test of this run uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A namespace that belongs to one test, deleted when the test ends (also when it fails).
pub struct TestNamespace {
    pub name: String,
    kubeconfig: PathBuf,
}

impl TestNamespace {
    pub async fn create(client: &Client, test: &str) -> TestNamespace {
        Self::create_in(cluster(), client, test).await
    }

    pub async fn create_in(cluster: &Cluster, client: &Client, test: &str) -> TestNamespace {
        let name = unique_name(&format!("wn-{test}"));
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("kubectl-watchnew/test".to_string(), test.to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("the test namespace can be created");
        if cluster.runs_controller_manager() {
            settle(client, &name).await;
        }
        TestNamespace {
            name,
            kubeconfig: cluster.kubeconfig.clone(),
        }
    }
}

/// Waits for what kube-controller-manager adds to a new namespace, so that no test mistakes it for a change.
async fn settle(client: &Client, namespace: &str) {
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let service_accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    for _ in 0..200 {
        let root_ca = config_maps
            .get_opt("kube-root-ca.crt")
            .await
            .expect("reading configmaps");
        let account = service_accounts
            .get_opt("default")
            .await
            .expect("reading service accounts");
        if root_ca.is_some() && account.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("namespace {namespace} did not get its root CA and default service account");
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Synchronous, so that it also runs while a failed test unwinds; the deletion finishes in the background.
        let _ = kubectl(&self.kubeconfig, &["delete", "namespace", &self.name, "--wait=false"]);
    }
}
