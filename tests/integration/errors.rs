//! Every mistake a user can make gets one clear line on stderr and its documented exit code.

use std::process::{Output, Stdio};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;

use crate::support::watcher::{BINARY, PATIENCE};
use crate::support::{self, stderr_of};

/// Runs the binary to its end, its output read meanwhile (a full pipe would hold it up); one still running when
/// the patience runs out fails the test.
fn run(args: &[&str]) -> Output {
    let child = std::process::Command::new(BINARY)
        .args(args)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id().to_string();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(PATIENCE) {
        Ok(output) => output.expect("waitable"),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
            let output = receiver.recv().expect("ended").expect("waitable");
            panic!("{args:?} did not end: {}", stderr_of(&output));
        }
    }
}

fn run_against_cluster(args: &[&str]) -> Output {
    let kubeconfig = support::cluster().kubeconfig.to_str().expect("UTF-8 path").to_string();
    run(&[&["--kubeconfig", &kubeconfig], args].concat())
}

/// Asserts the exit code, that stderr is one line starting with "error: " and containing `says`, and returns it.
fn assert_error(output: &Output, code: i32, says: &str) -> String {
    let stderr = support::without_waits(&stderr_of(output));
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
fn among_several_contexts_connected_side_by_side_the_first_unknown_one_is_said() {
    let output = run_against_cluster(&["--context", "watchnew-admin,nope-1,watchnew-limited,nope-2", "pods"]);
    assert_error(
        &output,
        3,
        r#"context "nope-1" is not in the kubeconfig (contexts: watchnew-admin, watchnew-limited)"#,
    );
}

#[test]
fn an_unreachable_server_is_a_connection_error() {
    let output = run_against_cluster(&["--server", "https://127.0.0.1:1", "pods"]);
    assert_error(&output, 4, "cannot reach the API server");
}

/// A listener that accepts and never answers, as a load balancer's for a server that is starting or gone: the
/// TLS handshake's own limit ends the wait after 10 s, not the 30 s connect limit.
#[test]
fn a_server_that_accepts_and_never_answers_is_given_up_after_the_handshake_limit() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let server = format!("https://{}", listener.local_addr().expect("bound"));
    let holding = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let started = std::time::Instant::now();
    let output = run_against_cluster(&["--server", &server, "pods"]);
    let took = started.elapsed();
    assert!(holding.join().expect("joined").is_ok(), "the connection was accepted");
    assert_error(&output, 4, "the TLS handshake with 127.0.0.1 did not finish within 10s");
    assert!(
        took >= std::time::Duration::from_secs(10) && took < std::time::Duration::from_secs(15),
        "given up after {took:?}"
    );
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

/// Security: the credentials of the kubeconfig (the token, the client key) never reach stdout or stderr, on a
/// run that works (sync, changes, the end) or one they break.
#[test]
fn credentials_never_reach_the_output() {
    use kube::config::Kubeconfig;
    use secrecy::ExposeSecret;

    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).expect("readable");
    let credentials = |name: &str| {
        kubeconfig
            .auth_infos
            .iter()
            .find(|user| user.name == name)
            .and_then(|user| user.auth_info.clone())
            .expect("a user")
    };
    let token = credentials(support::LIMITED_CONTEXT)
        .token
        .map(|token| token.expose_secret().to_string())
        .expect("the limited user has a token");
    let admin = kubeconfig
        .contexts
        .iter()
        .find(|context| Some(&context.name) == kubeconfig.current_context.as_ref())
        .and_then(|context| context.context.as_ref())
        .map(|context| context.user.clone().unwrap_or_default())
        .expect("a current context");
    let key = credentials(&admin)
        .client_key_data
        .map(|key| key.expose_secret().to_string())
        .expect("the administrator has a client key");
    let leaks = |output: &Output| {
        let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(output));
        let key_body: Vec<String> = decoded_pem_lines(&key);
        assert!(!all.contains(&token), "the token leaked: {all}");
        assert!(!all.contains(&key), "the client key leaked: {all}");
        for line in key_body {
            assert!(!all.contains(&line), "the client key leaked: {all}");
        }
    };

    // Runs that work: the token's user in its namespace, the administrator with its key; each to its end.
    let path = cluster.kubeconfig.to_str().expect("UTF-8");
    for args in [
        vec![
            "--kubeconfig",
            path,
            "--context",
            support::LIMITED_CONTEXT,
            "cm",
            "-n",
            support::LIMITED_NAMESPACE,
        ],
        vec!["--kubeconfig", path, "cm", "-A", "-o", "wide"],
    ] {
        // Long enough to sync first on a busy machine, where the other tests run too.
        let output = run(&[args, vec!["--timeout", "10s"]].concat());
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        assert!(stderr_of(&output).contains("Synced"), "{}", stderr_of(&output));
        leaks(&output);
    }

    // A key that cannot be used: the error names the problem, not the key.
    let mut broken = kubeconfig.clone();
    let unusable =
        "-----BEGIN EC PRIVATE KEY-----\nTk9UQUtFWUJVVFNFQ1JFVE1BVEVSSUFMMTIzNDU2Nzg5\n-----END EC PRIVATE KEY-----\n";
    for user in &mut broken.auth_infos {
        if user.name == admin {
            let auth = user.auth_info.as_mut().expect("credentials");
            auth.client_key_data = Some(BASE64_STANDARD.encode(unusable).into());
        }
    }
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), serde_json::to_string(&broken).expect("serializable")).expect("written");
    let output = run(&["--kubeconfig", file.path().to_str().expect("UTF-8"), "cm"]);
    let stderr = stderr_of(&output);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        !stderr.contains("Tk9UQUtFWUJVVFNFQ1JFVE1BVEVSSUFM"),
        "the client key leaked: {stderr}"
    );
    assert!(
        !stderr.contains("BEGIN EC PRIVATE KEY"),
        "the client key leaked: {stderr}"
    );
}

/// The base64 lines inside a PEM block given as base64 (kubeconfig `*-data` fields).
fn decoded_pem_lines(data: &str) -> Vec<String> {
    let pem = String::from_utf8(BASE64_STANDARD.decode(data).unwrap_or_default()).unwrap_or_default();
    pem.lines()
        .filter(|line| !line.starts_with("-----") && line.len() > 16)
        .map(str::to_string)
        .collect()
}
