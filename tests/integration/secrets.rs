//! A Secret's values never leave the process unless asked for: a Secret is applied (its `stringData` then sits
//! in plain text in the last-applied annotation), its `data` and its `stringData` patched, and applied again,
//! each time with values of its own, while every output watches it: the piped lines, the live view (its table,
//! its details scrolled through, its timeline), recordings and their replays, what is exported to an
//! OpenTelemetry Collector, and stderr throughout. Each is
//! searched for every value, as written and in base64. `-o json` prints the object as kubectl does, values
//! included; `--record-secret-values` keeps them in the recording.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::prelude::BASE64_STANDARD;

use crate::live::Tmux;
use crate::support::collector::Collector;
use crate::support::watcher::{BINARY, Watcher};
use crate::support::{self, TestNamespace};

/// The values the Secret holds in turn: the first two as it is applied, each later one written once.
const VALUES: [&str; 5] = [
    "0ld-passw0rd-in-data",
    "0ld-t0ken-in-stringdata",
    "n3w-passw0rd-patched-in-data",
    "n3w-t0ken-patched-in-stringdata",
    "n3w3st-t0ken-applied-again",
];

/// Every form a value could take in an output: as written, and base64 (as `data` and the annotation hold it).
fn forms() -> Vec<String> {
    VALUES
        .iter()
        .flat_map(|value| [value.to_string(), BASE64_STANDARD.encode(value)])
        .collect()
}

fn assert_no_value(what: &str, text: &str) {
    for form in forms() {
        assert!(!text.contains(&form), "{what} shows a Secret's value ({form}):\n{text}");
    }
}

fn kubectl_ok(args: &[&str]) {
    let output = support::cluster().kubectl(args);
    assert!(output.status.success(), "{args:?}: {}", support::stderr_of(&output));
}

/// `kubectl apply` of the Secret `db` with a password in `data` and a token in `stringData`.
fn apply(namespace: &str, password: &str, token: &str) {
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": "db", "namespace": namespace },
        "data": { "password": BASE64_STANDARD.encode(password) },
        "stringData": { "token": token },
    });
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), secret.to_string()).expect("written");
    kubectl_ok(&["apply", "-f", &file.path().to_string_lossy()]);
}

/// The four changes: ADDED by an apply, `data` patched, `stringData` patched, applied again.
fn change_the_secret(namespace: &str) {
    apply(namespace, VALUES[0], VALUES[1]);
    let data = format!(r#"{{"data":{{"password":"{}"}}}}"#, BASE64_STANDARD.encode(VALUES[2]));
    kubectl_ok(&["patch", "secret", "db", "-n", namespace, "-p", &data]);
    let string_data = format!(r#"{{"stringData":{{"token":"{}"}}}}"#, VALUES[3]);
    kubectl_ok(&["patch", "secret", "db", "-n", namespace, "-p", &string_data]);
    apply(namespace, VALUES[2], VALUES[4]);
}

fn recording_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn replay(recording: &Path, args: &[&str]) -> (String, String) {
    let output = std::process::Command::new(BINARY)
        .arg("--replay")
        .arg(recording)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{}", support::stderr_of(&output));
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        support::stderr_of(&output),
    )
}

#[tokio::test]
async fn a_secrets_values_stay_out_of_every_output_unless_asked_for() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "secrets").await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (recorded_json, recorded_live, recorded_with_values) = (
        recording_in(dir.path(), "json.watch"),
        recording_in(dir.path(), "live.watch"),
        recording_in(dir.path(), "with-values.watch"),
    );
    let path = |path: &Path| path.to_string_lossy().into_owned();
    let scope = ["secrets", "-n", &namespace.name];
    fn with<'a>(scope: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        [scope, more].concat()
    }

    let mut lines = Watcher::start(&cluster.kubeconfig, &scope).await;
    let mut json = Watcher::start(
        &cluster.kubeconfig,
        &with(&scope, &["-o", "json", "--record", &path(&recorded_json)]),
    )
    .await;
    let mut kept = Watcher::start(
        &cluster.kubeconfig,
        &with(
            &scope,
            &[
                "-o",
                "json",
                "--record",
                &path(&recorded_with_values),
                "--record-secret-values",
            ],
        ),
    )
    .await;
    let collector = Collector::start();
    let exported = match &collector {
        Some(collector) => Some(
            Watcher::start(
                &cluster.kubeconfig,
                &with(&scope, &["-o", "none", "--export", &collector.url]),
            )
            .await,
        ),
        None => None,
    };
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} secrets -n {} --record {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name,
        recorded_live.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "45", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));

    change_the_secret(&namespace.name);

    // The piped lines: four, naming what changed without a value.
    let mut printed = Vec::new();
    while printed.len() < 4 {
        let line = lines
            .next_line(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("4 changes expected: {printed:#?}\n{}", lines.stderr()));
        if !line.starts_with("EVENT") {
            printed.push(line);
        }
    }
    let printed = printed.join("\n");
    assert!(printed.contains("data.password changed"), "{printed}");
    assert!(printed.contains("data.token changed"), "{printed}");
    assert_no_value("the piped lines", &printed);
    let (_, stderr) = lines.interrupt().await;
    assert_no_value("the piped lines' stderr", &stderr);

    // `-o json` prints the objects as kubectl does, values included; its recording leaves them out.
    let events = json.json_events(4).await;
    let stdout: String = events.iter().map(|event| format!("{event}\n")).collect();
    assert!(stdout.contains(&BASE64_STANDARD.encode(VALUES[2])), "{stdout}");
    let (_, stderr) = json.interrupt().await;
    assert_no_value("-o json's stderr", &stderr);
    let recording = std::fs::read_to_string(&recorded_json).expect("the recording");
    assert!(recording.contains(r#""password":"<hidden>""#), "{recording}");
    assert!(
        recording.contains(r#""path":"data.token""#),
        "what changed is named: {recording}"
    );
    assert_no_value("the recording of -o json", &recording);

    // Asked for, they are kept: in the objects and in what changed.
    kept.json_events(4).await;
    let (_, stderr) = kept.interrupt().await;
    assert_no_value("--record-secret-values's stderr", &stderr);
    let recording = std::fs::read_to_string(&recorded_with_values).expect("the recording");
    assert!(recording.contains(&BASE64_STANDARD.encode(VALUES[2])), "{recording}");
    assert!(
        recording.contains(&format!(r#""after":"{}""#, BASE64_STANDARD.encode(VALUES[2]))),
        "what changed keeps the values: {recording}"
    );

    // Exported: the objects with their values hidden, what changed named without them.
    if let (Some(collector), Some(exported)) = (&collector, exported) {
        let records = collector.wait_for_records(4, Duration::from_secs(30)).await;
        let (_, stderr) = exported.interrupt().await;
        assert_no_value("the export's stderr", &stderr);
        let written = collector.written();
        assert!(written.contains(r#"\"password\":\"<hidden>\""#), "{written}");
        let changed: Vec<String> = records
            .iter()
            .filter_map(|record| record.attribute("watchnew.changed"))
            .collect();
        assert!(
            changed.iter().any(|changed| changed == "data.password changed"),
            "{changed:?}"
        );
        assert_no_value("what the collector received", &written);
    }

    // The live view: the row, its details from top to bottom, the timeline, and what is left at its end.
    let mut seen = tmux.wait_for("the fourth change", |screen| {
        screen
            .lines()
            .any(|line| line.starts_with("ADDED +3") && line.split_whitespace().any(|word| word == "4"))
    });
    tmux.run(&["send-keys", "-t", "live", "Enter"]);
    seen.push_str(&tmux.wait_for("the details", |screen| screen.contains("secret/db · ADDED +3")));
    for _ in 0..8 {
        tmux.run(&["send-keys", "-t", "live", "PageDown"]);
        std::thread::sleep(Duration::from_millis(200));
        seen.push_str(&tmux.screen());
    }
    assert!(
        seen.contains("password: <hidden>"),
        "the object, its values hidden: {seen}"
    );
    assert!(seen.contains("data.token changed"), "{seen}");
    tmux.run(&["send-keys", "-t", "live", "Escape", "t"]);
    seen.push_str(&tmux.wait_for("the timeline", |screen| screen.contains("TIME ")));
    tmux.run(&["send-keys", "-t", "live", "q"]);
    seen.push_str(&tmux.wait_for("the end", |screen| screen.contains("EXIT=0")));
    assert_no_value("the live view", &seen);
    let recording = std::fs::read_to_string(&recorded_live).expect("the recording");
    assert_no_value("the live view's recording", &recording);

    // Replayed, as lines and as JSON: nothing that was not recorded.
    for (recording, args) in [
        (&recorded_json, &["-o", "json"][..]),
        (&recorded_json, &[][..]),
        (&recorded_live, &["-o", "yaml"][..]),
    ] {
        let (stdout, stderr) = replay(recording, args);
        assert!(stdout.contains("db"), "{stdout}");
        assert_no_value(
            &format!("--replay {} {args:?}", recording.display()),
            &(stdout + &stderr),
        );
    }
}
