//! The key of contexts: each context's state, its changes and lag, and why when it is not simply watching.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::view::feed::{ContextHealth, Fed, FeedItem};

fn said(view: &mut ViewModel, context: &str, health: ContextHealth, second: i64) {
    view.apply(
        Fed {
            at: at(second),
            item: FeedItem::ContextState {
                context: Some(context.into()),
                health,
            },
        },
        None,
    );
}

/// Three contexts: one watching with two changes (the latest written 2 s before it came), one broken off, one
/// that cannot start.
fn fleet() -> ViewModel {
    let mut in_prod = stream("ConfigMap", "configmaps", &["Name", "Data"]);
    in_prod.context = Some("prod-eu".into());
    let mut view = ViewModel::new(vec![in_prod.clone()], at(-60));
    synced(&mut view);
    said(&mut view, "prod-eu", ContextHealth::Starting, -60);
    said(&mut view, "prod-us", ContextHealth::Starting, -60);
    said(&mut view, "staging", ContextHealth::Starting, -60);
    said(&mut view, "prod-eu", ContextHealth::Watching, -59);
    said(&mut view, "prod-us", ContextHealth::Watching, -59);
    let failing = ContextHealth::Failing {
        cause: "cannot reach the API server while discovering the server's resource types: connection refused".into(),
    };
    said(&mut view, "staging", failing, -58);
    for (name, second) in [("settings", -20), ("flags", -5)] {
        let mut record = change(&in_prod, ChangeType::Added, name, &[name, "1"], "x");
        record.at = at(second);
        record.changed_by = vec![
            serde_json::from_value(
                json!({"manager": "kubectl-create", "operation": "Update", "time": at(second - 2).to_string()}),
            )
            .expect("a writer"),
        ];
        view.record(record);
    }
    let broken = ContextHealth::Reconnecting {
        streams: 1,
        cause: "configmaps: the connection was cut".into(),
    };
    said(&mut view, "prod-us", broken, -3);
    view
}

#[test]
fn x_shows_each_contexts_state_changes_lag_and_why_and_closes_again() {
    let mut view = fleet();
    let mut state = ui();
    state.look.options.contexts = true;
    let text = render(&view, &state, 140, 30).join("\n");
    assert!(
        text.contains("contexts 1 watching, 1 reconnecting, 1 failing"),
        "the status line tallies them:\n{text}"
    );
    assert!(text.contains("x contexts"), "the key is hinted:\n{text}");

    state.press(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE), &mut view);
    let lines = render(&view, &state, 140, 30);
    let text = lines.join("\n");
    let line_of = |name: &str| {
        lines
            .iter()
            .find(|line| line.contains(&format!("│{name} ")))
            .unwrap_or_else(|| panic!("{name} drawn:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        text.contains("contexts: 1 watching, 1 reconnecting, 1 failing"),
        "{text}"
    );
    // Name, state, since, changes, last change, lag.
    assert!(
        line_of("prod-eu").contains("│prod-eu watching 11:05:41 2 11:06:35 (15s) 2s │"),
        "{text}"
    );
    assert!(
        line_of("prod-us").contains("│prod-us reconnecting 11:06:37 0 - - │"),
        "{text}"
    );
    assert!(
        line_of("staging").contains("│staging failing 11:05:42 0 - - │"),
        "{text}"
    );
    assert!(
        text.contains("1 stream broken off; latest: configmaps: the connection was cut"),
        "{text}"
    );
    assert!(text.contains("cannot reach the API server while discovering"), "{text}");

    state.press(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &mut view);
    let text = render(&view, &state, 140, 30).join("\n");
    assert!(!text.contains("broken off"), "closed:\n{text}");
}

#[test]
fn one_context_is_not_tallied_nor_hinted() {
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![pods], at(-60));
    synced(&mut view);
    view.apply(
        Fed {
            at: at(-59),
            item: FeedItem::ContextState {
                context: None,
                health: ContextHealth::Watching,
            },
        },
        None,
    );
    let text = render(&view, &ui(), 140, 20).join("\n");
    assert!(!text.contains("contexts") && !text.contains("x contexts"), "{text}");
}
