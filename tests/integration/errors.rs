//! Every mistake a user can make gets one clear line on stderr and its documented exit code.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::watcher::{BINARY, PATIENCE};
use crate::support::{self, stderr_of};

/// Runs the binary to its end; one still running when the patience runs out fails the test.
fn run(args: &[&str]) -> Output {
    let mut child = std::process::Command::new(BINARY)
        .args(args)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().expect("waitable").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("waitable");
            panic!("{args:?} did not end: {}", stderr_of(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("waitable")
}

fn run_against_cluster(args: &[&str]) -> Output {
    let kubeconfig = support::cluster().kubeconfig.to_str().expect("UTF-8 path").to_string();
    run(&[&["--kubeconfig", &kubeconfig], args].concat())
}

/// Asserts the exit code, that stderr is one line starting with "error: " and containing `says`, and returns it.
fn assert_error(output: &Output, code: i32, says: &str) -> String {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in {stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

#[test]
fn an_unknown_type_is_named_with_close_matches() {
    let output = run_against_cluster(&["podz"]);
    assert_error(
        &output,
        7,
        r#"the server doesn't have a resource type "podz"; did you mean pods"#,
    );
}

#[test]
fn a_type_that_cannot_be_watched_says_what_the_server_allows() {
    let output = run_against_cluster(&["bindings"]);
    assert_error(&output, 7, "bindings cannot be watched: the server allows only create");
}

#[test]
fn an_invalid_selector_shows_the_servers_answer() {
    let output = run_against_cluster(&["pods", "-l", "app in (web"]);
    assert_error(&output, 8, "unable to parse requirement");
}

#[test]
fn a_missing_kubeconfig_file_is_a_configuration_error() {
    let output = run(&["--kubeconfig", "/nonexistent/kubeconfig", "pods"]);
    assert_error(&output, 3, "/nonexistent/kubeconfig");
}

#[test]
fn a_malformed_kubeconfig_is_a_configuration_error() {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), "clusters: [this is: not: yaml").expect("written");
    let output = run(&["--kubeconfig", file.path().to_str().expect("UTF-8"), "pods"]);
    assert_error(&output, 3, "cannot read kubeconfig");
}

#[test]
fn an_unknown_context_lists_the_known_ones() {
    let output = run_against_cluster(&["--context", "nope", "pods"]);
    assert_error(
        &output,
        3,
        r#"context "nope" is not in the kubeconfig (contexts: watchnew-admin, watchnew-limited)"#,
    );
}

#[test]
fn an_unreachable_server_is_a_connection_error() {
    let output = run_against_cluster(&["--server", "https://127.0.0.1:1", "pods"]);
    assert_error(&output, 4, "cannot reach the API server");
}

#[test]
fn an_untrusted_certificate_is_a_connection_error() {
    let output = run_against_cluster(&["--certificate-authority", "/etc/ssl/certs/ca-certificates.crt", "pods"]);
    assert_error(&output, 4, "TLS");
}

#[test]
fn a_rejected_token_is_an_authentication_error_and_is_never_printed() {
    // The limited user authenticates with a token only; the administrator's client certificate would win.
    let output = run_against_cluster(&[
        "--context",
        "watchnew-limited",
        "--token",
        "not-a-valid-token-1234567",
        "pods",
    ]);
    let stderr = assert_error(&output, 5, "401 Unauthorized");
    assert!(
        !stderr.contains("not-a-valid-token-1234567"),
        "the token leaked: {stderr}"
    );
}

#[test]
fn a_kubeconfig_without_a_current_context_asks_for_one() {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let kubeconfig = std::fs::read_to_string(&support::cluster().kubeconfig).expect("readable");
    let without: String = kubeconfig
        .lines()
        .filter(|line| !line.starts_with("current-context:"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(file.path(), without).expect("written");
    let output = run(&["--kubeconfig", file.path().to_str().expect("UTF-8"), "pods"]);
    assert_error(
        &output,
        3,
        "the kubeconfig has no current context; choose one with --context",
    );
}

#[test]
fn a_name_with_a_selector_is_a_usage_error() {
    let output = run(&["pods", "web", "-l", "app=web"]);
    assert_error(&output, 2, "a NAME cannot be combined with --selector");
}

#[test]
fn invalid_types_count_and_timeout_are_usage_errors() {
    for (args, says) in [
        (
            &["pods", "--types", "created"][..],
            "invalid value 'created' for '--types",
        ),
        (&["pods", "--count", "0"], "invalid value '0' for '--count <N>'"),
        (&["pods", "--count", "many"], "invalid value 'many' for '--count <N>'"),
        (&["pods", "--timeout", "soon"], "--timeout \"soon\" is not a duration"),
        (&["pods", "--no-such-flag"], "unexpected argument '--no-such-flag'"),
    ] {
        assert_error(&run(args), 2, says);
    }
}
