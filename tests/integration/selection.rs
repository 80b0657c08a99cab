//! The row highlighted is the row Enter opens, in a real terminal (tmux) against the real control plane: with
//! contexts named out of the order the table draws them, with a kind found while the view runs, in the tree of
//! owners and under a filter. Each test walks every row from the top: the row drawn reversed, then Enter, then
//! the object the details are about, which must be that row's.

use std::time::Duration;

use serde_json::json;

use crate::all_kinds::{TestCrd, settled};
use crate::live::Tmux;
use crate::support::watcher::BINARY;
use crate::support::{self, TestNamespace};

/// Whether an escape sequence's parameters (`1;7` of `ESC[1;7m`) turn reverse video on.
fn reverses(parameters: &str) -> bool {
    parameters.split(';').any(|parameter| parameter == "7")
}

/// The lines of a screen captured with its styles (`capture-pane -e`): each line's text, and whether any of it
/// is drawn reversed.
fn styled_lines(screen: &str) -> Vec<(String, bool)> {
    screen
        .lines()
        .map(|line| {
            let (mut text, mut reversed) = (String::new(), false);
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c != '\u{1b}' {
                    text.push(c);
                    continue;
                }
                // ESC [ parameters final-byte
                let mut sequence = String::new();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() && c != '[' {
                        if c == 'm' {
                            reversed |= reverses(sequence.trim_start_matches('['));
                        }
                        break;
                    }
                    sequence.push(c);
                }
            }
            (text, reversed)
        })
        .collect()
}

/// The row drawn reversed, below the two status lines (whose filter and pause marks are reversed too).
fn highlighted(tmux: &Tmux) -> Option<String> {
    let screen = tmux.run(&["capture-pane", "-p", "-e", "-t", "live"]);
    styled_lines(&screen)
        .into_iter()
        .skip(2)
        .find(|(_, reversed)| *reversed)
        .map(|(text, _)| text)
}

/// The object the open details are about, from their title (` configmap/web in staging · ADDED at 12:00:01 `):
/// its name, and the rest of the title.
fn opened(screen: &str) -> Option<(String, String)> {
    // The popup's title (the strip under the table has a title of its own, without the corner).
    let line = screen.lines().find(|line| {
        line.contains('┌')
            && [" · ADDED", " · MODIFIED at ", " · DELETED at "]
                .iter()
                .any(|at| line.contains(at))
    })?;
    // The title follows the popup's top left corner; the table shows on either side of it.
    let corner = line.find('┌')?;
    let title = line[corner + '┌'.len_utf8()..].trim_start();
    let (object, _) = title.split_once(" · ")?;
    let kind_and_name = object.split_whitespace().next()?;
    let name = kind_and_name.rsplit('/').next()?.to_string();
    Some((name, title.to_string()))
}

/// The rows of the table (or tree) on screen: lines that begin with an event.
fn rows_on(screen: &str) -> usize {
    screen
        .lines()
        .skip(2)
        .filter(|line| {
            ["ADDED ", "ADDED→DELETED ", "MODIFIED ", "DELETED "]
                .iter()
                .any(|event| line.starts_with(event))
        })
        .count()
}

/// From the top, every row: the highlighted one is the one Enter opens. Gives the titles of the details seen.
fn walk(tmux: &Tmux, what: &str) -> Vec<String> {
    tmux.run(&["send-keys", "-t", "live", "Home"]);
    std::thread::sleep(Duration::from_millis(300));
    let rows = rows_on(&tmux.screen());
    assert!(rows > 0, "{what}: no rows:\n{}", tmux.screen());
    let mut titles = Vec::new();
    for step in 0..rows {
        let row =
            highlighted(tmux).unwrap_or_else(|| panic!("{what}, row {step}: none highlighted:\n{}", tmux.screen()));
        tmux.run(&["send-keys", "-t", "live", "Enter"]);
        let screen = tmux.wait_for("the details", |screen| opened(screen).is_some());
        let (name, title) = opened(&screen).expect("details");
        assert!(
            row.split_whitespace()
                .any(|word| word == name || word.ends_with(&format!("/{name}"))),
            "{what}, row {step}: highlighted {row:?}, Enter opened {title:?}"
        );
        titles.push(title);
        tmux.run(&["send-keys", "-t", "live", "Escape"]);
        tmux.wait_for("the details closed", |screen| opened(screen).is_none());
        tmux.run(&["send-keys", "-t", "live", "Down"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut distinct = titles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), rows, "{what}: every row opened once: {titles:#?}");
    titles
}

fn kubectl_ok(args: &[&str]) {
    let output = support::cluster().kubectl(args);
    assert!(output.status.success(), "{args:?}: {}", support::stderr_of(&output));
}

/// A copy of the test kubeconfig with two contexts of the administrator, each in a namespace of its own, whose
/// names sort the other way round from the order given (`zeta-…,alpha-…`): the table draws the contexts by
/// name, the streams begin in the order given.
struct TwoContexts {
    path: std::path::PathBuf,
}

impl TwoContexts {
    fn new(zeta_namespace: &str, alpha_namespace: &str) -> TwoContexts {
        let cluster = support::cluster();
        let path = std::env::temp_dir().join(format!("{}.kubeconfig", support::unique_name("selection")));
        std::fs::copy(&cluster.kubeconfig, &path).expect("copy the kubeconfig");
        let kubectl = |args: &[&str]| {
            let output = support::kubectl(&path, args);
            assert!(output.status.success(), "{args:?}: {}", support::stderr_of(&output));
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        };
        let current = kubectl(&["config", "current-context"]);
        let field = |name: &str| {
            kubectl(&[
                "config",
                "view",
                "-o",
                &format!("jsonpath={{.contexts[?(@.name==\"{current}\")].context.{name}}}"),
            ])
        };
        let (cluster_name, user) = (field("cluster"), field("user"));
        for (context, namespace) in [("zeta-ctx", zeta_namespace), ("alpha-ctx", alpha_namespace)] {
            kubectl(&[
                "config",
                "set-context",
                context,
                "--cluster",
                &cluster_name,
                "--user",
                &user,
                "--namespace",
                namespace,
            ]);
        }
        TwoContexts { path }
    }
}

impl Drop for TwoContexts {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn with_contexts_given_out_of_order_enter_opens_the_row_highlighted() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let (zeta, alpha) = (
        TestNamespace::create(&client, "select-zeta").await,
        TestNamespace::create(&client, "select-alpha").await,
    );
    let kubeconfig = TwoContexts::new(&zeta.name, &alpha.name);
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} configmaps --context zeta-ctx,alpha-ctx; echo EXIT=$?; sleep 600",
        kubeconfig.path.display()
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "160", "-y", "30", &command]);
    tmux.wait_for("both contexts synced", |screen| screen.contains("Synced every context"));
    for (name, namespace) in [("obj-z-1", &zeta), ("obj-a-1", &alpha), ("obj-z-2", &zeta)] {
        kubectl_ok(&["create", "configmap", name, "-n", &namespace.name]);
    }
    tmux.wait_for("the three rows", |screen| rows_on(screen) == 3);
    let titles = walk(&tmux, "two contexts");
    // The admin's alpha context is drawn first, though its streams began second; the details say where.
    assert!(
        titles[0].starts_with("configmap/obj-a-1 in alpha-ctx · ADDED"),
        "{titles:#?}"
    );
    assert!(
        titles[2].starts_with("configmap/obj-z-2 in zeta-ctx · ADDED"),
        "{titles:#?}"
    );
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("a clean exit", |screen| screen.contains("EXIT=0"));
}

/// `--all-kinds`, with a kind installed while the view runs (its stream begins last), then the same rows as a
/// tree of owners (ConfigMaps owned by a ConfigMap made after them, which the tree puts above them), then
/// under a filter.
#[tokio::test]
async fn in_a_kind_found_later_the_tree_and_the_filter_enter_opens_the_row_highlighted() {
    let cluster = support::cluster();
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "select-kinds").await;
    settled(&namespace.name).await;
    let tmux = Tmux::new();
    let command = format!(
        "{BINARY} --kubeconfig {} --all-kinds -n {}; echo EXIT=$?; sleep 600",
        cluster.kubeconfig.display(),
        namespace.name
    );
    tmux.run(&["new-session", "-d", "-s", "live", "-x", "180", "-y", "40", &command]);
    tmux.wait_for("the sync", |screen| screen.contains("existing hidden"));
    kubectl_ok(&["create", "configmap", "obj-first", "-n", &namespace.name]);
    // A kind of its own, found by a later look at discovery: its stream begins after the others.
    let crd = TestCrd::create(&client).await;
    crd.create_gadget(&client, &namespace.name, "obj-gadget").await;
    tmux.wait_for("the new kind's object", |screen| screen.contains("obj-gadget"));
    for child in ["obj-child-1", "obj-child-2"] {
        let owned = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": child, "namespace": namespace.name, "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": "obj-parent", "uid": "4c6f6e67-0000-4000-8000-000000000001"
            }]}
        });
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), owned.to_string()).expect("written");
        kubectl_ok(&["create", "-f", &file.path().to_string_lossy()]);
    }
    kubectl_ok(&["create", "configmap", "obj-last", "-n", &namespace.name]);
    let screen = tmux.wait_for("every row", |screen| {
        ["obj-first", "obj-gadget", "obj-child-1", "obj-child-2", "obj-last"]
            .iter()
            .all(|name| screen.contains(name))
    });
    let titles = walk(&tmux, "every kind");
    assert_eq!(titles.len(), rows_on(&screen));

    tmux.run(&["send-keys", "-t", "live", "o"]);
    tmux.wait_for("the tree", |screen| screen.contains("ConfigMap/obj-parent (not shown)"));
    walk(&tmux, "the tree");
    tmux.run(&["send-keys", "-t", "live", "o"]);
    tmux.wait_for("the table again", |screen| !screen.contains("(not shown)"));

    tmux.run(&["send-keys", "-t", "live", "/", "c", "h", "i", "l", "d", "Enter"]);
    tmux.wait_for("the filter", |screen| {
        screen.contains("/child (") && rows_on(screen) == 2
    });
    let titles = walk(&tmux, "the filter");
    assert!(titles.iter().all(|title| title.contains("obj-child-")), "{titles:#?}");
    tmux.run(&["send-keys", "-t", "live", "q"]);
    tmux.wait_for("a clean exit", |screen| screen.contains("EXIT=0"));
}
