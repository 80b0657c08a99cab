//! Why a thing changed and what it belongs to, against the real control plane: the controllers' and the
//! scheduler's Events joined to the rows and lines of the objects they regard, the owners named from
//! `ownerReferences` (a ReplicaSet when only pods are watched), the tree, the details of an ADDED object, a
//! user who may not read Events, and `--with-events` for the outputs that print objects.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use crate::live::Tmux;
use crate::support::watcher::{BINARY, Watcher};
use crate::support::{self, TestNamespace};

/// The lines of `watcher` until one satisfies `done`, with `kubectl annotate ... poke=N` run whenever a second
/// passes without a line. A line carries the Events received before it was printed, and an Event comes on a
/// watch of its own, with no order against the object's changes: once it has come, the next change of the
/// object (the poke) shows it.
async fn lines_until_poking(
    watcher: &mut Watcher,
    namespace: &str,
    object: &[&str],
    done: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    let mut pokes = 0;
    while tokio::time::Instant::now() < deadline {
        match watcher.next_line(Duration::from_secs(1)).await {
            Some(line) => {
                let finished = done(&line);
                lines.push(line);
                if finished {
                    return lines;
                }
            }
            None => {
                pokes += 1;
                let poke = format!("watchnew.example/poke={pokes}");
                let mut args = vec!["annotate", "--overwrite", "-n", namespace];
                args.extend(object);
                args.push(&poke);
                let poked = support::cluster().kubectl(&args);
                assert!(poked.status.success(), "{}", support::stderr_of(&poked));
            }
        }
    }
    panic!(
        "not seen within 60s ({pokes} pokes); the lines were:\n{}\nstderr:\n{}",
        lines.join("\n"),
        watcher.stderr()
    );
}

/// `kubectl create deployment web` in `namespace`, with `replicas` pods.
fn create_deployment(namespace: &str, replicas: u32) {
    let created = support::cluster().kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=registry.k8s.io/pause:3.10",
        &format!("--replicas={replicas}"),
        "-n",
        namespace,
    ]);
    assert!(created.status.success(), "{}", support::stderr_of(&created));
}

/// The ReplicaSet controller says `SuccessfulCreate` about the ReplicaSet it made pods for: the ReplicaSet's
/// later lines carry that reason in REASON.
#[tokio::test]
async fn the_lines_carry_the_reason_of_the_latest_event() {
    let cluster = support::cluster();
    if !support::runs_controllers() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "reason").await;
    let mut watcher = Watcher::start(&cluster.kubeconfig, &["deploy,rs", "-n", &namespace.name]).await;
    create_deployment(&namespace.name, 2);
    let lines = lines_until_poking(&mut watcher, &namespace.name, &["rs", "-l", "app=web"], |line| {
        line.starts_with("MODIFIED") && line.contains("replicaset.apps/web-") && line.contains(" SuccessfulCreate ")
    })
    .await;
    let header = lines.iter().find(|line| line.starts_with("EVENT")).expect("a header");
    assert!(header.contains(" REASON "), "{header}");
    // The deployment controller's reason, on the deployment's later lines (an annotation starts no rollout).
    let said = |line: &str| line.contains("deployment.apps/web") && line.contains(" ScalingReplicaSet ");
    if !lines.iter().any(|line| said(line)) {
        lines_until_poking(&mut watcher, &namespace.name, &["deployment", "web"], said).await;
    }
    assert!(!watcher.stderr().contains("cannot be watched"), "{}", watcher.stderr());
}

/// The live view during a rollout, with only pods watched: each pod row names its ReplicaSet (a type not
/// watched) and its latest Event; `o` groups the pods under that ReplicaSet, named from the reference; `/`
/// finds a row by its Event; Enter on an ADDED pod shows the pod itself without its managed fields.
#[tokio::test]
async fn rows_say_why_and_what_they_belong_to_and_open_on_the_object() {
    let cluster = support::cluster();
    if !support::runs_controllers() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "why").await;
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} pods -n {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "200", "-y", "30", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
    create_deployment(&namespace.name, 2);

    // With nodes, the scheduler says where each pod went; without, the pods have no Event but their owner.
    let scheduled = cluster.runs_nodes();
    let screen = tmux.wait_for("two pods with their owner (and Event)", |screen| {
        let pods: Vec<&str> = table_rows(screen).filter(|line| line.contains("web-")).collect();
        pods.len() == 2
            // The owner by its kind and as much of the end of its name as the width allows (`ReplicaSet/…6cfb`).
            && pods.iter().all(|line| line.contains("ReplicaSet/"))
            && (!scheduled || pods.iter().all(|line| line.contains("Scheduled (")))
    });
    let header = screen.lines().find(|line| line.starts_with("EVENT")).expect("a header");
    assert!(header.contains("OWNER"), "{screen}");
    if scheduled {
        assert!(header.contains("LAST EVENT"), "{screen}");
    }

    tmux.run(&["send-keys", "-t", "live", "o"]);
    let screen = tmux.wait_for("the tree", |screen| screen.contains("(not shown)"));
    let owner_line = screen
        .lines()
        .position(|line| line.contains("ReplicaSet/web-") && line.contains("(not shown)"))
        .expect("the ReplicaSet's line");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[owner_line + 1].contains("└ pod/web-") && lines[owner_line + 2].contains("└ pod/web-"),
        "the pods under their ReplicaSet:\n{screen}"
    );
    tmux.run(&["send-keys", "-t", "live", "o"]);
    tmux.wait_for("the table again", |screen| !screen.contains("(not shown)"));

    if scheduled {
        tmux.run(&[
            "send-keys",
            "-t",
            "live",
            "/",
            "s",
            "c",
            "h",
            "e",
            "d",
            "u",
            "l",
            "e",
            "d",
            "Enter",
        ]);
        tmux.wait_for("the filter by Event", |screen| {
            screen.contains("/scheduled (0 hidden)")
                && table_rows(screen).filter(|line| line.contains("web-")).count() == 2
        });
        tmux.run(&["send-keys", "-t", "live", "Escape"]);
    }

    // The first row, opened: the pod as its latest change left it.
    tmux.run(&["send-keys", "-t", "live", "Home", "Enter"]);
    let screen = tmux.wait_for("the details", |screen| {
        screen.lines().any(|line| line.contains("┌ pod/web-")) && screen.contains("owned by ReplicaSet/web-")
    });
    // The object comes first for an ADDED pod, after what changed, its Events and history otherwise.
    let mut screen = screen;
    for _ in 0..10 {
        if screen.contains("image: registry.k8s.io/pause:3.10") {
            break;
        }
        tmux.run(&["send-keys", "-t", "live", "PageDown"]);
        std::thread::sleep(Duration::from_millis(300));
        screen = tmux.screen();
    }
    assert!(screen.contains("image: registry.k8s.io/pause:3.10"), "{screen}");
    assert!(!screen.contains("managedFields"), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "Escape", "q"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

/// The table's rows on a screen: lines that begin with an event (not the strip under the table).
fn table_rows(screen: &str) -> impl Iterator<Item = &str> {
    screen.lines().filter(|line| {
        ["ADDED", "MODIFIED", "DELETED"]
            .iter()
            .any(|event| line.starts_with(event))
    })
}

/// An object owned by one of another kind that has no row (a ConfigMap that existed at the start, here): the row
/// names the owner, the tree puts the object under it, and Enter on the ADDED object shows the object first.
#[tokio::test]
async fn an_added_object_opens_on_itself_and_names_an_owner_without_a_row() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "owned").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let parent = serde_json::from_value(json!({ "metadata": { "name": "parent" } })).expect("a configmap");
    let parent = config_maps
        .create(&PostParams::default(), &parent)
        .await
        .expect("create");
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} cm -n {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "40", &command]);
    tmux.wait_for("the synced status line", |screen| screen.contains("existing hidden"));
    let child = serde_json::from_value(json!({
        "metadata": {
            "name": "child",
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": "parent",
                "uid": parent.metadata.uid.clone().expect("a uid")
            }]
        },
        "data": { "greeting": "hello from the child" }
    }))
    .expect("a configmap");
    config_maps
        .create(&PostParams::default(), &child)
        .await
        .expect("create");
    let screen = tmux.wait_for("the owned row", |screen| {
        screen
            .lines()
            .any(|line| line.contains("child") && line.contains("ConfigMap/parent"))
    });
    assert!(screen.contains("OWNER"), "{screen}");

    tmux.run(&["send-keys", "-t", "live", "o"]);
    let screen = tmux.wait_for("the tree", |screen| screen.contains("ConfigMap/parent (not shown)"));
    assert!(screen.contains("└ configmap/child"), "{screen}");

    tmux.run(&["send-keys", "-t", "live", "Enter"]);
    let screen = tmux.wait_for("the details", |screen| screen.contains("configmap/child · ADDED"));
    let object = screen.find("The object as").expect("the object first");
    let events = screen.find("Events").unwrap_or(usize::MAX);
    assert!(object < events, "{screen}");
    assert!(screen.contains("greeting: hello from the child"), "{screen}");
    assert!(!screen.contains("managedFields"), "{screen}");
    tmux.run(&["send-keys", "-t", "live", "Escape", "q"]);
    let screen = tmux.wait_for("the shell again", |screen| screen.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
}

/// A user who may read ConfigMaps but not Events gets the changes and one notice, not a failure.
#[tokio::test]
async fn a_user_who_may_not_read_events_gets_the_rest_and_one_notice() {
    let cluster = support::cluster();
    if !support::has_limited_identity() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "no-events").await;
    let rbac = format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: configmaps-only, namespace: {ns}}}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: limited-configmaps-only, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps-only}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: watchnew-limited}}
"#,
        ns = namespace.name
    );
    let manifest = std::env::temp_dir().join(format!("{}.yaml", support::unique_name("rbac")));
    std::fs::write(&manifest, rbac).expect("written");
    let applied = cluster.kubectl(&["apply", "-f", &manifest.display().to_string()]);
    let _ = std::fs::remove_file(&manifest);
    assert!(applied.status.success(), "{}", support::stderr_of(&applied));

    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["--as", "watchnew-limited", "cm", "-n", &namespace.name],
    )
    .await;
    watcher
        .wait_for_stderr("cannot be watched, so rows show no Events")
        .await;
    let stderr = watcher.stderr();
    assert_eq!(stderr.matches("cannot be watched").count(), 1, "said once: {stderr}");
    assert!(
        stderr.contains("forbidden") || stderr.contains("cannot list"),
        "{stderr}"
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client, &namespace.name);
    let config_map = serde_json::from_value(json!({ "metadata": { "name": "settings" } })).expect("a configmap");
    config_maps
        .create(&PostParams::default(), &config_map)
        .await
        .expect("create");
    let lines = watcher
        .lines_until(Duration::from_secs(30), |line| line.contains("settings"))
        .await;
    assert!(lines.last().is_some_and(|line| line.starts_with("ADDED")), "{lines:?}");
}

/// `-o json` prints the watched objects only; `--with-events` adds the Events about them as changes of
/// their own, and no Event about another kind.
#[tokio::test]
async fn json_prints_events_only_when_asked() {
    let cluster = support::cluster();
    if !support::runs_controllers() {
        return;
    }
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "with-events").await;
    let mut with_events = Watcher::start(
        &cluster.kubeconfig,
        &["rs", "-n", &namespace.name, "-o", "json", "--with-events"],
    )
    .await;
    let mut without = Watcher::start(&cluster.kubeconfig, &["rs", "-n", &namespace.name, "-o", "json"]).await;
    // The Events' stream syncs on its own, after the ReplicaSets' perhaps: an Event it finds in its first list
    // existed before, and is not printed. Probes until one is printed, so that the controller's will be.
    events_are_printed(&mut with_events, &namespace.name).await;
    create_deployment(&namespace.name, 1);
    let lines = with_events
        .lines_until(Duration::from_secs(60), |line| {
            line.contains(r#""kind":"Event""#) && line.contains("SuccessfulCreate")
        })
        .await;
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let object = &event["object"];
        if object["kind"] == "Event" {
            assert_eq!(object["regarding"]["kind"], "ReplicaSet", "{line}");
            assert!(matches!(event["type"].as_str(), Some("ADDED" | "MODIFIED")), "{line}");
        }
    }
    let plain = without
        .lines_until(Duration::from_secs(30), |line| line.contains("ReplicaSet"))
        .await;
    // A moment for an Event to come, were it printed.
    let mut more = plain;
    while let Some(line) = without.next_line(Duration::from_secs(2)).await {
        more.push(line);
    }
    assert!(more.iter().all(|line| !line.contains(r#""kind":"Event""#)), "{more:?}");
}

/// Writes Events about a ReplicaSet (`probe-N`) until `watcher` prints one: its Events' stream is then past
/// its first list, and prints every later Event about ReplicaSets.
async fn events_are_printed(watcher: &mut Watcher, namespace: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for probe in 0.. {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no probe Event was printed:\n{}",
            watcher.stderr()
        );
        let name = format!("probe-{probe}");
        let event = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": { "name": name, "namespace": namespace },
            "eventTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "reportingController": "kubectl-watchnew.example/tests",
            "reportingInstance": "tests",
            "action": "Probe",
            "reason": "Probe",
            "type": "Normal",
            "note": "the Events are watched",
            "regarding": { "apiVersion": "apps/v1", "kind": "ReplicaSet", "namespace": namespace, "name": name },
        });
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), event.to_string()).expect("written");
        let path = file.path().to_string_lossy().into_owned();
        let created = support::cluster().kubectl(&["create", "-f", &path]);
        assert!(created.status.success(), "{}", support::stderr_of(&created));
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        while tokio::time::Instant::now() < until {
            if let Some(line) = watcher.next_line(Duration::from_millis(200)).await
                && line.contains(r#""kind":"Event""#)
                && line.contains(&format!(r#""name":"{name}""#))
            {
                return;
            }
        }
    }
}
