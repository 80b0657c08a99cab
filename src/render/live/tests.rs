use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::*;
use crate::view::screen::{EntryId, Selection};

mod contexts;
mod details;
mod reading;
mod selection;
mod table;

fn synced(view: &mut ViewModel) {
    let synced = crate::view::feed::Synced {
        context: None,
        took: std::time::Duration::from_millis(120),
        streams: Vec::new(),
        line: String::new(),
    };
    view.synced(at(-50), &synced);
}
use crate::engine::tracker::{Change, ObjectKey, Origin};
use crate::engine::wire::{Column, Packed, Payload};
use crate::view::{StreamInfo, StreamLabel};

fn stream(kind: &str, plural: &str, columns: &[&str]) -> StreamInfo {
    let mut info = StreamInfo::new(StreamLabel {
        kind: kind.into(),
        api_version: "v1".into(),
        name: plural.into(),
        object_prefix: kind.to_lowercase(),
        secret: false,
    });
    info.columns = columns
        .iter()
        .map(|name| Column {
            name: name.to_string(),
            column_type: "string".into(),
            format: if *name == "Name" { "name".into() } else { String::new() },
            priority: 0,
        })
        .collect();
    info.existing = 7;
    info
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + second).expect("valid")
}

/// A change as a Table watch brings it, with the version before for a modification.
fn change(stream: &StreamInfo, event: ChangeType, name: &str, cells: &[&str], phase: &str) -> ChangeRecord {
    let object = |phase: &str| {
        format!(
            r#"{{"metadata":{{"name":"{name}","creationTimestamp":"2026-11-18T10:40:00Z"}},"status":{{"phase":"{phase}"}}}}"#
        )
    };
    let change = Change {
        change_type: event,
        key: ObjectKey {
            namespace: Some("shop".into()),
            name: name.into(),
        },
        uid: format!("uid-{name}"),
        resource_version: "9".into(),
        origin: Origin::Watch,
        payload: Some(Payload::new(
            object(phase).into(),
            Some(cells.iter().map(|cell| json!(cell)).collect()),
            true,
        )),
        previous: (event == ChangeType::Modified).then(|| crate::engine::wire::Memo {
            object: Some(Packed::pack(&object("Pending"))),
            writers: None,
            heartbeat_blind: None,
        }),
    };
    ChangeRecord::new(0, &stream.label, &change, at(0))
}

/// A change of an object with a controlling owner, kept whole for its details as the live view keeps it.
fn owned_change(stream: &StreamInfo, event: ChangeType, name: &str, owner: (&str, &str)) -> ChangeRecord {
    let (owner_kind, owner_name) = owner;
    let raw = format!(
        r#"{{"metadata":{{"name":"{name}","uid":"uid-{name}","managedFields":[{{"manager":"kube-controller-manager"}}],
        "ownerReferences":[{{"apiVersion":"apps/v1","kind":"{owner_kind}","name":"{owner_name}","uid":"uid-{owner_name}","controller":true}}]}},
        "spec":{{"replicas":3}}}}"#
    );
    let change = Change {
        change_type: event,
        key: ObjectKey {
            namespace: Some("shop".into()),
            name: name.into(),
        },
        uid: format!("uid-{name}"),
        resource_version: "9".into(),
        origin: Origin::Watch,
        payload: Some(Payload::new(raw.as_str().into(), Some(vec![json!(name)]), true)),
        previous: None,
    };
    let mut record = ChangeRecord::new(0, &stream.label, &change, at(0));
    record.object = Some(Packed::pack(&raw));
    record
}

fn event(about: &str, reason: &str, warning: bool, message: &str, second: i64) -> crate::view::events::ObservedEvent {
    let kind = if warning { "Warning" } else { "Normal" };
    let json = format!(
        r#"{{"metadata":{{"uid":"{about}-{reason}"}},"regarding":{{"kind":"Pod","namespace":"shop","name":"{about}","uid":"uid-{about}"}},
        "reason":"{reason}","note":"{message}","type":"{kind}","reportingController":"kubelet","eventTime":"{}"}}"#,
        at(second)
    );
    crate::view::events::ObservedEvent::from_json(&json).expect("an event")
}

fn ui() -> LiveState {
    let look = Look {
        options: TableOptions::default(),
        header: "context test · pods in namespace shop".into(),
        time_zone: TimeZone::UTC,
    };
    LiveState::new(Mode::Table, look, String::new())
}

/// The state with the entry at `index` on screen selected.
fn selecting(view: &ViewModel, mut state: LiveState, index: usize) -> LiveState {
    let selection = state.screen(view).select(index);
    state.selection = selection;
    state
}

/// The name of the object of the entry the screen shows selected.
fn selected_name(view: &ViewModel, state: &LiveState) -> Option<String> {
    let screen = state.screen(view);
    screen
        .selected(&state.selection)
        .map(|entry| entry.record.key.name.clone())
}

fn pods_view() -> ViewModel {
    let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Age"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    // web-1 existed at the start (no ADDED seen): its changes read MODIFIED.
    view.record(change(
        &pods,
        ChangeType::Modified,
        "web-1",
        &["web-1", "0/1", "Pending", "0s"],
        "Pending",
    ));
    view.record(change(
        &pods,
        ChangeType::Modified,
        "web-1",
        &["web-1", "1/1", "Running", "5s"],
        "Running",
    ));
    view.record(change(
        &pods,
        ChangeType::Deleted,
        "db-0",
        &["db-0", "1/1", "Terminating", "3d"],
        "Running",
    ));
    view
}

fn render(view: &ViewModel, ui: &LiveState, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| draw(frame, view, ui, at(10))).expect("drawn");
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}
