//! scripts/cluster itself: a second, named control plane shows that `up` prints its kubeconfig last, is safe
//! to repeat, refuses to mix options, reports a component that fails, and that `down` leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support;

fn cluster_script(args: &[&str]) -> Output {
    Command::new(support::repo_root().join("scripts/cluster"))
        .args(args)
        .output()
        .expect("scripts/cluster runs")
}

fn component_processes(state_dir: &Path) -> String {
    let output = Command::new("pgrep")
        .arg("-a")
        .arg("-f")
        .arg(state_dir)
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Stops the named control plane also when an assertion fails half-way.
struct Stop(String);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = cluster_script(&["down", "--name", &self.0]);
    }
}

#[test]
fn named_control_plane_starts_is_reused_and_stops_without_leftovers() {
    if support::local_control_plane("tests scripts/cluster itself").is_none() {
        return;
    }
    let name = format!("wn-script-{}", std::process::id());
    let _stop = Stop(name.clone());
    let options = [
        "--name",
        &name,
        "--no-controller-manager",
        "--apiserver-arg=--watch-cache=false",
    ];

    let first = cluster_script(&[&["up"], &options[..]].concat());
    assert!(first.status.success(), "up failed: {}", support::stderr_of(&first));
    let stdout = String::from_utf8(first.stdout).expect("UTF-8");
    let kubeconfig = PathBuf::from(stdout.lines().last().expect("up prints the kubeconfig path last"));
    assert!(kubeconfig.is_file(), "{} is not a file", kubeconfig.display());
    let state_dir = kubeconfig
        .parent()
        .expect("the kubeconfig is in the state folder")
        .to_path_buf();

    let version = support::kubectl(&kubeconfig, &["get", "--raw", "/version"]);
    assert!(version.status.success(), "{}", support::stderr_of(&version));
    let version: serde_json::Value = serde_json::from_slice(&version.stdout).expect("JSON");
    assert_eq!(version["gitVersion"], support::pinned_kubernetes_version().as_str());

    let again = cluster_script(&[&["up"], &options[..]].concat());
    assert!(
        again.status.success(),
        "a second up failed: {}",
        support::stderr_of(&again)
    );
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).lines().last(),
        Some(kubeconfig.to_str().expect("UTF-8 path"))
    );

    let clash = cluster_script(&["up", "--name", &name, "--no-controller-manager"]);
    assert_eq!(
        clash.status.code(),
        Some(3),
        "other options must be refused: {}",
        support::stderr_of(&clash)
    );
    assert!(support::stderr_of(&clash).contains("already runs with other options"));

    assert!(
        !component_processes(&state_dir).is_empty(),
        "the components should be running before down"
    );
    let down = cluster_script(&["down", "--name", &name]);
    assert!(down.status.success(), "down failed: {}", support::stderr_of(&down));
    assert_eq!(component_processes(&state_dir), "", "down left processes behind");
    assert!(!state_dir.exists(), "down left {} behind", state_dir.display());
}

#[test]
fn a_component_that_cannot_start_is_reported_and_cleaned_up() {
    if support::local_control_plane("tests scripts/cluster itself").is_none() {
        return;
    }
    let name = format!("wn-broken-{}", std::process::id());
    let _stop = Stop(name.clone());
    let up = cluster_script(&[
        "up",
        "--name",
        &name,
        "--no-controller-manager",
        "--apiserver-arg=--no-such-flag",
    ]);
    assert_eq!(up.status.code(), Some(1));
    let stderr = support::stderr_of(&up);
    assert!(stderr.contains("kube-apiserver exited during start-up"), "{stderr}");
    assert!(
        stderr.contains("unknown flag: --no-such-flag"),
        "the log tail should say why: {stderr}"
    );
    assert!(up.stdout.is_empty(), "a failed up prints no kubeconfig");
    let state_dir = support::cluster()
        .kubeconfig
        .parent()
        .expect("state folder")
        .with_file_name(&name);
    assert_eq!(component_processes(&state_dir), "", "a failed up left processes behind");
}

#[test]
fn building_without_go_is_a_clear_error() {
    let empty_cache = tempfile::tempdir().expect("a temporary folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path_without_go = std::env::join_paths(std::env::split_paths(&path).filter(|dir| !dir.join("go").exists()))
        .expect("PATH can be joined");
    let output = Command::new(support::repo_root().join("scripts/cluster"))
        .arg("build")
        .env("WATCHNEW_CACHE_DIR", empty_cache.path())
        .env("PATH", path_without_go)
        .output()
        .expect("scripts/cluster runs");
    assert_eq!(output.status.code(), Some(2), "{}", support::stderr_of(&output));
    assert!(
        support::stderr_of(&output).contains("Go is not installed"),
        "{}",
        support::stderr_of(&output)
    );
}

#[test]
fn a_kubernetes_version_that_is_not_pinned_is_a_usage_error_that_lists_those_that_are() {
    let versions = cluster_script(&["versions"]);
    assert!(versions.status.success());
    let pinned: Vec<String> = String::from_utf8_lossy(&versions.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(pinned.len() >= 3 && pinned.contains(&"1.30".to_string()), "{pinned:?}");
    for wanted in ["1.29", "2.0", "1.30.2", "latest"] {
        let output = cluster_script(&["up", "--name", "never-started", "--kubernetes-version", wanted]);
        let stderr = support::stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{wanted}: {stderr}");
        assert!(stderr.contains(wanted), "{stderr}");
        assert!(
            stderr.contains("is not one this checkout builds") || stderr.contains("is not pinned here"),
            "{stderr}"
        );
        assert!(stderr.contains("1.30"), "the pinned versions are named: {stderr}");
    }
}
