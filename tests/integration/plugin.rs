//! The binary runs on its own and as a kubectl plugin found on PATH.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_kubectl-watchnew");

fn help_text(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).expect("help is UTF-8");
    assert!(
        text.contains("\nUsage:\n  kubectl watchnew TYPE[,TYPE...] [NAME...]"),
        "unexpected help:\n{text}"
    );
    // kubectl's style: examples, each a command that starts with `kubectl watchnew`, under a comment.
    let examples = text.split("Examples:\n").nth(1).expect("an Examples section");
    let commands: Vec<&str> = examples
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with("  "))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert!(commands.len() >= 4, "{text}");
    assert!(
        commands.iter().all(|command| command.starts_with("kubectl watchnew ")),
        "{commands:?}"
    );
    text
}

#[test]
fn help_runs_as_a_plain_binary() {
    let output = Command::new(BINARY).arg("--help").output().expect("the binary runs");
    help_text(&output);
}

#[test]
fn help_runs_through_kubectl_plugin_discovery() {
    let binary_folder = Path::new(BINARY).parent().expect("the binary is in a folder");
    let path = std::env::join_paths(
        std::iter::once(binary_folder.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH can be joined");

    let listed = Command::new("kubectl")
        .args(["plugin", "list"])
        .env("PATH", &path)
        .output()
        .expect("kubectl runs");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&Path::new(binary_folder).join("kubectl-watchnew").display().to_string()),
        "{listed}"
    );

    let through_kubectl = Command::new("kubectl")
        .args(["watchnew", "--help"])
        .env("PATH", &path)
        .output()
        .expect("kubectl runs");
    let direct = Command::new(BINARY).arg("--help").output().expect("the binary runs");
    assert_eq!(help_text(&through_kubectl), help_text(&direct));
}

#[test]
fn a_missing_resource_type_is_a_usage_error() {
    let output = Command::new(BINARY).output().expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("specify the type of resource"));
}

#[test]
fn version_names_the_release_and_the_commit() {
    let output = Command::new(BINARY).arg("--version").output().expect("the binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        text.starts_with(&format!("kubectl-watchnew v{} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn completion_scripts_exist_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = Command::new(BINARY)
            .args(["completion", shell])
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            script.contains("WATCHNEW_COMPLETE") && script.contains("kubectl-watchnew"),
            "{shell}: {script}"
        );
    }
    let unknown = Command::new(BINARY)
        .args(["completion", "tcsh"])
        .output()
        .expect("the binary runs");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("bash"),
        "the message names the shells"
    );
}

#[test]
fn kubectl_complete_answers_in_cobras_protocol_from_the_cluster() {
    let kubeconfig = crate::support::cluster()
        .kubeconfig
        .to_str()
        .expect("UTF-8")
        .to_string();
    let complete = |words: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_kubectl_complete-watchnew"))
            .args(["--kubeconfig", &kubeconfig])
            .args(words)
            .env_remove("KUBECONFIG")
            .output()
            .expect("the completer runs");
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(
            lines.pop().as_deref(),
            Some(":4"),
            "the last line is the directive: {text}"
        );
        lines
    };
    assert!(complete(&["po"]).contains(&"pods".to_string()));
    assert!(complete(&["pods,deploy"]).contains(&"pods,deployments".to_string()));
    assert_eq!(complete(&["-n", "kube-sys"]), ["kube-system"]);
    assert!(complete(&["--context", ""]).contains(&"watchnew-admin".to_string()) || !crate::support::cluster().local());
    assert!(complete(&["-o", ""]).contains(&"json".to_string()));
    assert!(
        complete(&["-n", "kube-system", "serviceaccounts/name"])
            .contains(&"serviceaccounts/namespace-controller".to_string())
    );
}
