//! Connecting like kubectl: KUBECONFIG lists, impersonation, TLS flags, exec credential plugins, and the
//! ways a run ends (a closed pipe).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use kube::config::Kubeconfig;

use crate::support::watcher::{BINARY, Watcher};
use crate::support::{self, LIMITED_CONTEXT, TestNamespace};

/// Runs the binary with the given environment until it prints its Synced line, then stops it.
async fn syncs_with(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Result<String, String> {
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args(args)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the binary starts");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let first = tokio::time::timeout(support::watcher::PATIENCE, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if support::is_wait_line(&line) => continue,
                other => return other,
            }
        }
    })
    .await;
    let _ = child.kill().await;
    match first {
        Ok(Ok(Some(line))) if line.starts_with("Synced ") => Ok(line),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn kubeconfig_lists_skip_missing_files_and_merge_the_rest() {
    let cluster = support::cluster();
    let folder = tempfile::tempdir().expect("a temporary folder");
    // Contexts in one file, clusters and users in another: only the merge makes them usable.
    let full = Kubeconfig::read_from(&cluster.kubeconfig).expect("readable");
    let contexts_only = Kubeconfig {
        contexts: full.contexts.clone(),
        current_context: None,
        ..Default::default()
    };
    let rest = Kubeconfig {
        contexts: vec![],
        ..full
    };
    let first = folder.path().join("contexts.yaml");
    let second = folder.path().join("credentials.yaml");
    std::fs::write(&first, serde_yaml_string(&contexts_only)).expect("written");
    std::fs::write(&second, serde_yaml_string(&rest)).expect("written");
    let list = std::env::join_paths([folder.path().join("missing.yaml"), first, second]).expect("joinable");

    let synced = syncs_with(&["cm", "-n", "default"], &[("KUBECONFIG", list.as_os_str())]).await;
    assert!(synced.is_ok(), "{synced:?}");
}

fn serde_yaml_string(kubeconfig: &Kubeconfig) -> String {
    // JSON is YAML, and the kubeconfig types serialize with their YAML field names.
    serde_json::to_string(kubeconfig).expect("serializable")
}

#[tokio::test]
async fn impersonation_acts_as_the_named_user() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let kubeconfig = cluster.kubeconfig.to_str().expect("UTF-8");
    let refused = Watcher::spawn(&cluster.kubeconfig, &["--as", "watchnew-limited", "pods", "-A"]);
    let (code, stderr) = refused.finish().await;
    assert_eq!(code, Some(6), "{stderr}");
    // The refusal names the permission that is missing: the verb, the resource and the scope.
    assert!(
        stderr.contains(r#"User "watchnew-limited" cannot list resource "pods" in API group "" at the cluster scope"#),
        "{stderr}"
    );
    let args = [
        "--kubeconfig",
        kubeconfig,
        "--as",
        "watchnew-limited",
        "pods",
        "-n",
        "team-a",
    ];
    let allowed = syncs_with(&args, &[]).await;
    assert!(allowed.is_ok(), "{allowed:?}");
}

#[tokio::test]
async fn insecure_skip_tls_verify_turns_verification_off() {
    let cluster = support::cluster();
    let kubeconfig = cluster.kubeconfig.to_str().expect("UTF-8");
    // An unrelated CA makes verification fail (the error test); with the flag, nothing is verified.
    let args = [
        "--kubeconfig",
        kubeconfig,
        "--certificate-authority",
        "/etc/ssl/certs/ca-certificates.crt",
        "cm",
        "-n",
        "default",
    ];
    let with_flag = [&args[..], &["--insecure-skip-tls-verify"]].concat();
    assert!(syncs_with(&with_flag, &[]).await.is_ok());
}

#[tokio::test]
async fn exec_credential_plugins_provide_the_token() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let mut kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).expect("readable");
    let limited_user = kubeconfig
        .auth_infos
        .iter_mut()
        .find(|user| user.name == LIMITED_CONTEXT)
        .expect("a user");
    let auth = limited_user.auth_info.as_mut().expect("credentials");
    let token = auth
        .token
        .take()
        .map(|token| secrecy::ExposeSecret::expose_secret(&token).to_string())
        .expect("token");
    let folder = tempfile::tempdir().expect("a temporary folder");
    let plugin = folder.path().join("credential-plugin");
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": { "token": token }
    });
    std::fs::write(&plugin, format!("#!/bin/sh\ncat <<'EOF'\n{credential}\nEOF\n")).expect("written");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("executable");
    auth.exec = Some(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never"
        }))
        .expect("an exec configuration"),
    );
    let path = folder.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml_string(&kubeconfig)).expect("written");

    let path = path.to_str().expect("UTF-8");
    let synced = syncs_with(&["--kubeconfig", path, "--context", LIMITED_CONTEXT, "cm"], &[]).await;
    assert!(synced.is_ok(), "{synced:?}");
    let refused = Watcher::spawn(
        &folder.path().join("kubeconfig"),
        &["--context", LIMITED_CONTEXT, "cm", "-A"],
    );
    let (code, stderr) = refused.finish().await;
    assert_eq!(code, Some(6), "the plugin's identity is the limited one: {stderr}");
}

#[tokio::test]
async fn a_reader_that_goes_away_ends_the_run_quietly() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "pipe").await;
    let mut child = Command::new(BINARY)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["cm", "-n", &namespace.name, "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut synced = String::new();
    while synced.is_empty() || support::is_wait_line(&synced) {
        synced.clear();
        stderr.read_line(&mut synced).expect("a line");
    }
    assert!(synced.starts_with("Synced "), "{synced}");

    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let make = |name: &str| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    config_maps
        .create(&PostParams::default(), &make("first"))
        .await
        .expect("create");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    assert!(line.contains("\"first\""), "{line}");
    drop(stdout); // like `| head -1`
    config_maps
        .create(&PostParams::default(), &make("second"))
        .await
        .expect("create");

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joined")
        .expect("waitable");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("readable");
    assert_eq!(status.code(), Some(0), "a closed pipe is a normal end: {rest}");
    assert_eq!(rest, "", "and a quiet one");
}

/// Discovery is cached on disk, so the first request of a later start can be the list itself: a server that
/// cannot be reached by then must still be a connection error at once, not a retry loop.
#[tokio::test]
async fn with_discovery_cached_an_unreachable_server_is_still_an_error_at_once() {
    let cluster = support::cluster();
    let cache = tempfile::tempdir().expect("a temporary folder");
    let proxy = crate::support::proxy::Proxy::start(cluster.apiserver_address()).await;
    let server = format!("https://{}", proxy.address);
    let kubeconfig = cluster.kubeconfig.to_str().expect("UTF-8").to_string();
    let args = ["--kubeconfig", &kubeconfig, "--server", &server, "pods"];
    let env = [("KUBECACHEDIR", cache.path().as_os_str())];
    syncs_with(&args, &env).await.expect("syncs through the proxy");
    let cached = std::fs::read_dir(cache.path().join("watchnew"))
        .expect("the discovery cache was written")
        .count();
    assert_eq!(cached, 1, "one folder for the one server");

    proxy.cut_and_block();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(BINARY)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("KUBECACHEDIR", cache.path())
        .output();
    let output = tokio::time::timeout(support::watcher::PATIENCE, output)
        .await
        .expect("ends by itself")
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot reach the API server"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{stderr}");
}
