//! Shared test ground: the real control plane (started once per run, or reused), clients for its two
//! identities, and a namespace of its own for each test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// Points the tests at an existing cluster instead of the local control plane.
pub const KUBECONFIG_ENV: &str = "WATCHNEW_TEST_KUBECONFIG";
pub const LIMITED_CONTEXT: &str = "watchnew-limited";
pub const LIMITED_NAMESPACE: &str = "team-a";

pub struct Cluster {
    pub kubeconfig: PathBuf,
    /// `gitVersion` from the server's /version.
    pub server_version: String,
    /// True when the tests started or reused `scripts/cluster`'s control plane, false for a cluster of the user's.
    pub local: bool,
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The control plane for this run: the one named by WATCHNEW_TEST_KUBECONFIG, or the local one, started
/// with `scripts/cluster up` unless it already runs.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let (kubeconfig, local) = match std::env::var_os(KUBECONFIG_ENV) {
            Some(path) => (PathBuf::from(path), false),
            None => (start_local_control_plane(), true),
        };
        let server_version = server_version(&kubeconfig);
        // Written past the test harness's capture, so that every run's output names the server it tested.
        let _ = writeln!(
            std::io::stderr(),
            "integration tests: kube-apiserver {server_version} ({}; kubeconfig {})",
            if local {
                "local control plane from scripts/cluster"
            } else {
                KUBECONFIG_ENV
            },
            kubeconfig.display()
        );
        Cluster {
            kubeconfig,
            server_version,
            local,
        }
    })
}

fn start_local_control_plane() -> PathBuf {
    // stderr is inherited: a first run shows the build and start-up progress.
    let output = Command::new(repo_root().join("scripts/cluster"))
        .arg("up")
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/cluster could not be run");
    assert!(
        output.status.success(),
        "scripts/cluster up failed with {}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).expect("scripts/cluster printed non-UTF-8");
    let path = stdout
        .lines()
        .last()
        .expect("scripts/cluster up printed nothing on stdout");
    PathBuf::from(path)
}

fn server_version(kubeconfig: &Path) -> String {
    let output = kubectl(kubeconfig, &["get", "--raw", "/version"]);
    assert!(
        output.status.success(),
        "kubectl get --raw /version failed: {}",
        stderr_of(&output)
    );
    let version: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("/version is not JSON");
    version["gitVersion"]
        .as_str()
        .expect("/version has no gitVersion")
        .to_string()
}

/// The Kubernetes version pinned in scripts/controlplane/go.mod, which the local control plane is built from.
pub fn pinned_kubernetes_version() -> String {
    let go_mod = std::fs::read_to_string(repo_root().join("scripts/controlplane/go.mod"))
        .expect("go.mod is readable");
    go_mod
        .lines()
        .map(str::split_whitespace)
        .find_map(|mut words| match (words.next(), words.next()) {
            (Some("k8s.io/kubernetes"), Some(version)) if version.starts_with('v') => {
                Some(version.to_string())
            }
            _ => None,
        })
        .expect("go.mod requires k8s.io/kubernetes")
}

pub fn has_context(name: &str) -> bool {
    Kubeconfig::read_from(&cluster().kubeconfig)
        .map(|config| config.contexts.iter().any(|context| context.name == name))
        .unwrap_or(false)
}

/// A client that acts as the administrator: the current context of the test kubeconfig.
pub async fn admin_client() -> Client {
    client(None).await
}

/// A client that acts as the given context of the test kubeconfig (its current context for `None`).
pub async fn client(context: Option<&str>) -> Client {
    let kubeconfig =
        Kubeconfig::read_from(&cluster().kubeconfig).expect("the test kubeconfig is readable");
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("the context is usable");
    Client::try_from(config).expect("a client can be built")
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

/// A namespace that belongs to one test, deleted when the test ends (also when it fails).
pub struct TestNamespace {
    pub name: String,
}

impl TestNamespace {
    pub async fn create(client: &Client, test: &str) -> TestNamespace {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "wn-{test}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
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
        TestNamespace { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Synchronous, so that it also runs while a failed test unwinds; the deletion finishes in the background.
        let _ = kubectl(
            &cluster().kubeconfig,
            &["delete", "namespace", &self.name, "--wait=false"],
        );
    }
}
