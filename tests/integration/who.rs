//! Who changed it, against the real control plane: the writers the API server records in managedFields, named
//! on the lines (WHO), in `-o json` (`changedBy`), in the live view (the column, `/`, the details) and in a
//! replay; writers that fight over a field called out once; and nothing said where the server says nothing
//! (the scheduler's binding, an object whose managedFields were cleared).

use serde_json::Value;

use crate::live::Tmux;
use crate::support::watcher::{BINARY, PATIENCE, Watcher};
use crate::support::{self, TestNamespace};

fn kubectl(args: &[&str]) {
    let done = support::cluster().kubectl(args);
    assert!(done.status.success(), "kubectl {args:?}: {}", support::stderr_of(&done));
}

/// `kubectl apply --server-side` of ConfigMap `name` with `data.replicas` as `manager`, taking the field.
fn apply_replicas(namespace: &str, name: &str, manager: &str, replicas: u32) {
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\ndata: {{replicas: \"{replicas}\"}}\n"
    );
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), manifest).expect("written");
    let path = file.path().to_string_lossy().to_string();
    kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        &format!("--field-manager={manager}"),
        "-f",
        &path,
    ]);
}

/// A namespace of its own, with ConfigMap `tuning` (`data.mode: slow`) made by `kubectl create`.
async fn with_tuning(prefix: &str) -> TestNamespace {
    let client = support::cluster().admin_client().await;
    let namespace = TestNamespace::create(&client, prefix).await;
    kubectl(&[
        "create",
        "configmap",
        "tuning",
        "--from-literal=mode=slow",
        "-n",
        &namespace.name,
    ]);
    namespace
}

/// carol-deployer sets `data.mode` of ConfigMap `tuning` to `fast`.
fn patch_as_carol(namespace: &str) {
    let patch = r#"{"data":{"mode":"fast"}}"#;
    kubectl(&[
        "patch",
        "cm",
        "tuning",
        "-n",
        namespace,
        "--field-manager=carol-deployer",
        "-p",
        patch,
    ]);
}

/// The line of `lines` about the object named `object` that contains `text`.
fn line_with<'a>(lines: &'a [String], object: &str, text: &str) -> Option<&'a String> {
    lines
        .iter()
        .find(|line| line.contains(&format!(" {object} ")) && line.contains(text))
}

/// Whether `line` names `who` as a whole cell (WHO may be its last).
fn names(line: &str, who: &str) -> bool {
    line.contains(&format!(" {who} ")) || line.ends_with(&format!(" {who}"))
}

/// kubectl create, patch with a field manager, label and edit; two server-side appliers taking a field from
/// each other; an object whose managedFields were cleared. Each named on the lines and in `-o json` as the
/// server recorded it, the fight called out on the line and said once on stderr.
#[tokio::test]
async fn every_writer_is_named_on_the_lines_and_in_json_and_a_fight_is_said_once() {
    let cluster = support::cluster();
    // `tuning` existed before the start: its first modification is compared with the snapshot's version.
    let namespace = with_tuning("who").await;
    let ns = namespace.name.as_str();
    let mut lines = Watcher::start(&cluster.kubeconfig, &["cm", "-n", ns]).await;
    let mut json = Watcher::start(&cluster.kubeconfig, &["cm", "-n", ns, "-o", "json"]).await;
    let mut quiet = Watcher::start(&cluster.kubeconfig, &["cm", "-n", ns, "--no-who"]).await;

    patch_as_carol(ns);
    kubectl(&["label", "cm", "tuning", "-n", ns, "tier=web"]);
    let edited = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &cluster.kubeconfig.to_string_lossy(),
            "edit",
            "cm",
            "tuning",
            "-n",
            ns,
        ])
        .env("KUBE_EDITOR", "sed -i s/fast/medium/")
        .output()
        .expect("kubectl edit runs");
    assert!(edited.status.success(), "{}", support::stderr_of(&edited));
    kubectl(&["create", "configmap", "made", "--from-literal=a=1", "-n", ns]);
    kubectl(&["create", "configmap", "bare", "--from-literal=a=1", "-n", ns]);
    // A list with one empty entry clears an object's managedFields; the server keeps none after that.
    let patch_bare = |how: &[&str]| {
        let mut args = vec!["patch", "cm", "bare", "-n", ns, "--type=merge"];
        args.extend(how);
        kubectl(&args);
    };
    patch_bare(&["-p", r#"{"metadata":{"managedFields":[{}]},"data":{"a":"2"}}"#]);
    patch_bare(&["--field-manager=dave", "-p", r#"{"data":{"a":"3"}}"#]);
    for (manager, replicas) in [
        ("alice-autoscaler", 3),
        ("bob-operator", 5),
        ("alice-autoscaler", 3),
        ("bob-operator", 5),
    ] {
        apply_replicas(ns, "scaling", manager, replicas);
    }

    let seen = lines
        .lines_until(PATIENCE, |line| line.contains("scaling") && line.contains("×3"))
        .await;
    let header = seen.iter().find(|line| line.starts_with("EVENT")).expect("a header");
    assert!(header.contains(" WHO "), "{header}");
    let said = |object: &str, text: &str, who: &str| {
        let line = line_with(&seen, object, text)
            .unwrap_or_else(|| panic!("no line of {object} with {text}:\n{}", seen.join("\n")));
        assert!(names(line, who), "{who} should be named: {line}");
    };
    said("tuning", "data.mode slow→fast", "carol-deployer");
    said("tuning", "metadata.labels.tier", "kubectl-label");
    said("tuning", "data.mode fast→medium", "kubectl-edit");
    said("made", "ADDED", "kubectl-create");
    said("scaling", "ADDED", "alice-autoscaler (apply)");
    said("scaling", "data.replicas 3→5", "bob-operator (apply)");
    let fight = line_with(&seen, "scaling", "×3").expect("the fight, three overwrites on");
    assert!(
        fight.contains("⚠ data.replicas: alice-autoscaler (apply) ↔ bob-operator (apply) ×3"),
        "{fight}"
    );
    // The object without managedFields: nothing said, rather than a guess.
    for line in seen
        .iter()
        .filter(|line| line.contains(" bare ") && line.starts_with("MODIFIED"))
    {
        for writer in ["kubectl-create", "kubectl-patch", "dave"] {
            assert!(!line.contains(writer), "no writer recorded, none named: {line}");
        }
    }
    assert_eq!(
        seen.iter()
            .filter(|line| line.contains(" bare ") && line.starts_with("MODIFIED"))
            .count(),
        2,
        "{}",
        seen.join("\n")
    );
    lines.wait_for_stderr("⚠ data.replicas").await;
    // The server really keeps no managedFields for it.
    let bare = cluster.kubectl(&[
        "get",
        "cm",
        "bare",
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.managedFields}",
    ]);
    assert!(bare.status.success() && bare.stdout.is_empty(), "{:?}", bare);
    let notices = lines.stderr();
    assert_eq!(
        notices
            .matches("⚠ data.replicas: alice-autoscaler (apply) ↔ bob-operator (apply)")
            .count(),
        1,
        "said once per field and pair:\n{notices}"
    );
    assert!(notices.contains(&format!("configmap {ns}/scaling ⚠")), "{notices}");

    // --no-who: none of it.
    let unsaid = quiet
        .lines_until(PATIENCE, |line| line.contains(" scaling ") && line.contains("3→5"))
        .await;
    assert!(!unsaid[0].contains("WHO"), "{}", unsaid[0]);
    assert!(
        unsaid
            .iter()
            .all(|line| !line.contains("carol-deployer") && !line.contains('⚠')),
        "{}",
        unsaid.join("\n")
    );

    // -o json: `changedBy` beside `type` and `object`.
    let events = json.json_events(11).await;
    let by = |event: &Value| -> Vec<String> {
        event["changedBy"]
            .as_array()
            .map(|writers| {
                writers
                    .iter()
                    .map(|writer| writer["manager"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let carol = events
        .iter()
        .find(|event| by(event) == ["carol-deployer"])
        .unwrap_or_else(|| panic!("carol's patch in {events:#?}"));
    assert_eq!(carol["type"], "MODIFIED");
    assert_eq!(carol["object"]["metadata"]["name"], "tuning");
    assert_eq!(carol["changedBy"][0]["operation"], "Update");
    assert!(
        carol["changedBy"][0]["fields"]
            .as_array()
            .is_some_and(|fields| fields.contains(&Value::from("data.mode"))),
        "{carol}"
    );
    let applied: Vec<&Value> = events
        .iter()
        .filter(|event| event["object"]["metadata"]["name"] == "scaling")
        .collect();
    assert_eq!(applied.len(), 4);
    assert_eq!(applied[1]["changedBy"][0]["manager"], "bob-operator");
    assert_eq!(applied[1]["changedBy"][0]["operation"], "Apply");
    assert_eq!(
        applied[1]["changedBy"][0]["fields"],
        serde_json::json!(["data.replicas"])
    );
    for event in events
        .iter()
        .filter(|event| event["object"]["metadata"]["name"] == "bare" && event["type"] == "MODIFIED")
    {
        assert!(event.get("changedBy").is_none(), "nothing said: {event}");
    }
}

/// A deployment's life: created by kubectl, its status by the deployment controller, scaled through the scale
/// subresource; its pods created by the ReplicaSet controller, bound by the scheduler (which the server does
/// not record as a writer: nothing is said) and run by kwok's simulated kubelet (status).
#[tokio::test]
async fn controllers_the_scheduler_and_kwok_are_named_as_the_server_records_them() {
    let cluster = support::cluster();
    if !support::runs_controllers() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "who-deploy").await;
    let ns = namespace.name.as_str();
    let mut deployments = Watcher::start(&cluster.kubeconfig, &["deploy", "-n", ns]).await;
    let mut pods = Watcher::start(&cluster.kubeconfig, &["pods", "-n", ns]).await;
    kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=registry.k8s.io/pause:3.10",
        "--replicas=1",
        "-n",
        ns,
    ]);
    let created = deployments
        .lines_until(PATIENCE, |line| {
            line.starts_with("MODIFIED") && line.contains("kube-controller-manager (status)")
        })
        .await;
    assert!(
        line_with(&created, "web", "ADDED").is_some_and(|line| names(line, "kubectl-create")),
        "{}",
        created.join("\n")
    );
    kubectl(&["scale", "deployment", "web", "--replicas=2", "-n", ns]);
    let scaled = deployments
        .lines_until(PATIENCE, |line| line.contains("spec.replicas 1→2"))
        .await;
    let scale = scaled.last().expect("a line");
    assert!(names(scale, "kubectl (scale)"), "{scale}");

    let ran = cluster.runs_nodes();
    let pod_lines = pods
        .lines_until(PATIENCE, |line| match ran {
            true => line.contains("status.phase Pending→Running"),
            false => line.starts_with("ADDED"),
        })
        .await;
    let added = pod_lines
        .iter()
        .find(|line| line.starts_with("ADDED"))
        .expect("a pod created");
    assert!(names(added, "kube-controller-manager"), "{added}");
    if ran {
        let running = pod_lines.last().expect("a line");
        assert!(names(running, "kwok (status)"), "{running}");
        let bound = pod_lines
            .iter()
            .find(|line| line.contains("spec.nodeName"))
            .expect("the binding, a change of its own");
        for writer in ["kube-controller-manager", "kube-scheduler", "kwok (status)"] {
            assert!(
                !names(bound, writer),
                "the binding moves no managedFields entry: {bound}"
            );
        }
    }
}

/// The live view: a WHO column, `/` finds a change by its writer, the details name each writer with the
/// fields it owns; a recording replays with its writers.
#[tokio::test]
async fn the_live_view_and_a_replay_say_who() {
    let cluster = support::cluster();
    let namespace = with_tuning("who-live").await;
    let ns = namespace.name.as_str();
    kubectl(&["create", "configmap", "other", "--from-literal=a=1", "-n", ns]);
    let recording = tempfile::tempdir().expect("a directory");
    let file = recording.path().join("who.jsonl");
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} cm -n {ns} --record {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        file.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "200", "-y", "30", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
    patch_as_carol(ns);
    kubectl(&["label", "cm", "other", "-n", ns, "tier=web"]);
    let screen = tmux.wait_for("both changes with their writers", |screen| {
        screen.contains("carol-deployer") && screen.contains("kubectl-label")
    });
    assert!(screen.contains("WHO"), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "/", "carol", "Enter"]);
    let filtered = tmux.wait_for("only carol's change", |screen| {
        screen.contains("carol-deployer") && !screen.contains("kubectl-label")
    });
    assert!(filtered.contains("tuning"), "{filtered}");
    tmux.run(&["send-keys", "-t", "live", "Home", "Enter"]);
    let details = tmux.wait_for("the details with the writers", |screen| {
        screen.contains("Writers (from managedFields")
    });
    assert!(details.contains("by carol-deployer"), "{details}");
    assert!(details.contains("owns data.mode"), "{details}");
    assert!(
        details.contains("kubectl-create"),
        "the creator is a writer of the object: {details}"
    );
    tmux.run(&["send-keys", "-t", "live", "Escape", "Escape", "q"]);
    tmux.wait_for("the exit", |screen| screen.contains("EXIT=0"));

    let replayed = tokio::process::Command::new(BINARY)
        .arg("--replay")
        .arg(&file)
        .output()
        .await
        .expect("the replay runs");
    let text = String::from_utf8_lossy(&replayed.stdout);
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let line = text
        .lines()
        .find(|line| line.contains("data.mode"))
        .expect("carol's change replayed");
    assert!(names(line, "carol-deployer"), "{text}");
    assert!(text.lines().any(|line| names(line, "kubectl-label")), "{text}");
}
