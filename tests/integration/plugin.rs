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
    assert!(text.contains("Usage: kubectl watchnew"), "unexpected help:\n{text}");
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
