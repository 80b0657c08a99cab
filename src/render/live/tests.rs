use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::*;
use crate::view::screen::{EntryId, Selection};

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
    view.record(change(
        &pods,
        ChangeType::Added,
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

#[test]
fn the_table_shows_kubectl_columns_counts_and_what_changed() {
    let lines = render(&pods_view(), &ui(), 110, 8);
    assert_eq!(
        lines,
        [
            "context test · pods in namespace shop · 7 existing hidden · watching since 11:05:50 (synced in 0.12s)",
            "3 changes (0.3/s) · reconnects 0 · relists 0",
            "EVENT     LAST CHANGE     CHANGES  NAME   READY  STATUS       AGE  WHAT CHANGED",
            "MODIFIED  11:06:40 (10s)  2        web-1  1/1    Running      26m  status.phase Pending→Running",
            "DELETED   11:06:40 (10s)  1        db-0   1/1    Terminating  26m",
            "",
            "",
            "q quit · space pause · c clear · t timeline/table · o owners · / filter · ↑↓ PgUp PgDn move · enter details",
        ]
    );
}

/// With several contexts, each row says its context and the sections are grouped by context, then kind.
#[test]
fn several_contexts_have_a_context_column_and_sections_by_context() {
    let mut pods_b = stream("Pod", "pods", &["Name", "Status"]);
    pods_b.context = Some("b".into());
    let mut pods_a = pods_b.clone();
    pods_a.context = Some("a".into());
    let mut view = ViewModel::new(vec![pods_b.clone(), pods_a.clone()], at(-60));
    let mut record = |stream: usize, info: &StreamInfo, name: &str| {
        let mut record = change(info, ChangeType::Added, name, &[name, "Running"], "Running");
        record.stream = stream;
        view.record(record);
    };
    record(0, &pods_b, "web-b");
    record(1, &pods_a, "web-a");
    let mut ui = ui();
    ui.look.options.contexts = true;
    let lines = render(&view, &ui, 100, 10);
    let body: Vec<&str> = lines[2..8].iter().map(|line| line.trim_end()).collect();
    assert_eq!(body[0], "a: pods (v1)", "{lines:#?}");
    assert!(
        body[1].starts_with("EVENT") && body[1].contains("CONTEXT"),
        "{lines:#?}"
    );
    assert!(body[2].contains(" a ") && body[2].contains("web-a"), "{lines:#?}");
    assert_eq!(body[3], "b: pods (v1)", "{lines:#?}");
    assert!(body[5].contains(" b ") && body[5].contains("web-b"), "{lines:#?}");
}

/// A fresh change is bold, a deletion dim, the selected row reversed from edge to edge, the event coloured;
/// headers are bold.
#[test]
fn rows_carry_the_styles_that_tell_fresh_deleted_and_selected_apart() {
    let view = pods_view();
    let mut ui = selecting(&view, ui(), 0);
    ui.look.options.color = true;
    let mut terminal = Terminal::new(TestBackend::new(110, 8)).expect("a test terminal");
    // Two seconds after the changes: still fresh.
    terminal.draw(|frame| draw(frame, &view, &ui, at(2))).expect("drawn");
    let buffer = terminal.backend().buffer();
    let style = |x: u16, y: u16| buffer[(x, y)].style();
    let (header, modified, deleted) = (2, 3, 4);
    assert!(style(0, header).add_modifier.contains(Modifier::BOLD));
    for x in [0, 20, 60, 109] {
        assert!(
            style(x, modified).add_modifier.contains(Modifier::BOLD),
            "fresh change at {x}"
        );
        assert!(
            style(x, modified).add_modifier.contains(Modifier::REVERSED),
            "selection at {x}"
        );
        assert!(
            style(x, deleted).add_modifier.contains(Modifier::DIM),
            "deletion at {x}"
        );
        assert!(
            !style(x, deleted).add_modifier.contains(Modifier::REVERSED),
            "not selected at {x}"
        );
    }
    assert_eq!(style(0, modified).fg, Some(Color::Yellow));
    assert_eq!(style(0, deleted).fg, Some(Color::Red));
    assert_eq!(style(12, modified).fg, Some(Color::Reset), "only the event is coloured");
}

#[test]
fn a_narrow_terminal_cuts_cells_with_an_ellipsis_and_keeps_the_event() {
    let lines = render(&pods_view(), &ui(), 48, 6);
    assert!(lines[3].starts_with("MODIFIED  "), "{lines:#?}");
    assert!(lines[3].contains('…'), "{lines:#?}");
    assert!(lines.iter().all(|line| line.chars().count() <= 48));
    for width in [1, 5, 20] {
        render(&pods_view(), &ui(), width, 4);
    }
}

#[test]
fn a_terminal_too_narrow_drops_columns_and_keeps_event_and_name() {
    let view = pods_view();
    // Wide enough for everything: every column is there.
    let wide = render(&view, &ui(), 160, 6);
    assert!(
        wide[2].contains("LAST CHANGE") && wide[2].contains("WHAT CHANGED"),
        "{wide:#?}"
    );
    // 30 columns: the event and the name, nothing squeezed to a letter.
    let narrow = render(&view, &ui(), 30, 6);
    assert!(
        narrow[2].starts_with("EVENT") && narrow[2].contains("NAME"),
        "{narrow:#?}"
    );
    assert!(
        !narrow[2].contains("CHANGES") && !narrow[2].contains("LAST"),
        "{narrow:#?}"
    );
    assert!(
        narrow[3].starts_with("MODIFIED") && narrow[3].contains("web-1"),
        "{narrow:#?}"
    );
    assert!(narrow.iter().all(|line| line.chars().count() <= 30));
    // In between, the columns that say least go first: how often and when, before kubectl's own.
    let middle = render(&view, &ui(), 40, 6);
    assert!(
        middle[2].contains("STATUS") && middle[2].contains("WHAT"),
        "{middle:#?}"
    );
    assert!(
        !middle[2].contains("CHANGES") && !middle[2].contains("LAST"),
        "{middle:#?}"
    );
}

#[test]
fn names_stay_whole_while_other_columns_can_give_way() {
    let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Restarts", "Age"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    let name = "bar-pod-1-5c47644f58-t28vv";
    view.record(change(
        &pods,
        ChangeType::Modified,
        name,
        &[name, "0/1", "CrashLoopBackOff", "4 (2s ago)", "3m"],
        "Running",
    ));
    view.events.record(event(
        name,
        "BackOff",
        true,
        "Back-off restarting failed container app",
        1,
    ));
    let mut ui = ui();
    ui.look.options.events = true;
    let wide = render(&view, &ui, 200, 6);
    assert!(wide[3].contains("⚠ BackOff"), "{wide:#?}");
    for width in [70, 60, 50, 40] {
        let lines = render(&view, &ui, width, 6);
        assert!(lines[3].contains(name), "{width} columns: {lines:#?}");
        assert!(lines.iter().all(|line| line.chars().count() <= width as usize));
    }
    // Only a terminal narrower than EVENT and NAME together cuts the name.
    let lines = render(&view, &ui, 30, 6);
    assert!(lines[3].starts_with("MODIFIED  bar-pod-1-5c"), "{lines:#?}");
}

#[test]
fn each_row_shows_its_owner_and_its_latest_event_a_warning_standing_out() {
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    view.record(owned_change(
        &pods,
        ChangeType::Added,
        "web-1",
        ("ReplicaSet", "web-7d9f"),
    ));
    view.record(owned_change(
        &pods,
        ChangeType::Added,
        "web-2",
        ("ReplicaSet", "web-7d9f"),
    ));
    // The scheduler's Event comes before the row, the kubelet's after it.
    view.events.record(event(
        "web-1",
        "Scheduled",
        false,
        "Successfully assigned shop/web-1 to node-1",
        1,
    ));
    view.events.record(event(
        "web-1",
        "BackOff",
        true,
        "Back-off restarting failed container",
        5,
    ));
    view.events
        .record(event("web-2", "Pulled", false, "Container image already present", 2));
    let mut ui = ui();
    ui.look.options.events = true;
    ui.look.options.color = true;
    let lines = render(&view, &ui, 150, 7);
    assert!(
        lines[2].contains("OWNER") && lines[2].contains("LAST EVENT"),
        "{lines:#?}"
    );
    assert!(
        lines[3].contains("web-1") && lines[3].contains("ReplicaSet/web-7d9f"),
        "{lines:#?}"
    );
    assert!(
        lines[3].contains("⚠ BackOff (5s): Back-off restarting failed container"),
        "{lines:#?}"
    );
    assert!(
        lines[4].contains("Pulled (8s): Container image already present"),
        "{lines:#?}"
    );

    let mut terminal = Terminal::new(TestBackend::new(150, 7)).expect("a test terminal");
    terminal.draw(|frame| draw(frame, &view, &ui, at(10))).expect("drawn");
    let buffer = terminal.backend().buffer();
    let x = lines[3]
        .find('⚠')
        .map(|byte| lines[3][..byte].chars().count())
        .expect("the warning");
    assert_eq!(buffer[(x as u16, 3)].fg, Color::Red, "a Warning stands out");
    let x = lines[4]
        .find("Pulled")
        .map(|byte| lines[4][..byte].chars().count())
        .expect("the event");
    assert_ne!(buffer[(x as u16, 4)].fg, Color::Red);

    // Without Events or owners on screen, their columns take no room.
    let plain = render(&pods_view(), &ui, 150, 7);
    assert!(
        !plain[2].contains("OWNER") && !plain[2].contains("LAST EVENT"),
        "{plain:#?}"
    );
}

#[test]
fn the_tree_puts_rows_under_their_owners_and_names_owners_not_watched() {
    let deployments = stream("Deployment", "deployments", &["Name"]);
    let replicasets = stream("ReplicaSet", "replicasets", &["Name"]);
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![deployments.clone(), replicasets.clone(), pods.clone()], at(-60));
    synced(&mut view);
    let mut add = |stream: usize, info: &StreamInfo, name: &str, owner: (&str, &str)| {
        let mut record = owned_change(info, ChangeType::Added, name, owner);
        record.stream = stream;
        view.record(record);
    };
    add(2, &pods, "web-7d9f-a", ("ReplicaSet", "web-7d9f"));
    add(1, &replicasets, "web-7d9f", ("Deployment", "web"));
    add(2, &pods, "report-x", ("Job", "report"));
    add(0, &deployments, "web", ("Shop", "main"));
    add(2, &pods, "web-7d9f-b", ("ReplicaSet", "web-7d9f"));
    let mut ui = ui();
    ui.tree = true;
    let lines = render(&view, &ui, 120, 12);
    let name_at = lines[2].find("NAME").expect("a NAME column");
    let details_at = lines[2].find("DETAILS").expect("a DETAILS column");
    assert!(!lines[2].contains("OWNER"), "the tree says the owners: {lines:#?}");
    let names: Vec<String> = lines[3..9]
        .iter()
        .map(|line| {
            let cell: String = line.chars().skip(name_at).take(details_at - name_at).collect();
            cell.trim_end().to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "Shop/main (not shown)",
            "└ deployment/web",
            "  └ replicaset/web-7d9f",
            "    └ pod/web-7d9f-a",
            "    └ pod/web-7d9f-b",
            "Job/report (not shown)",
        ],
        "{lines:#?}"
    );
    assert!(lines.iter().any(|line| line.contains("└ pod/report-x")), "{lines:#?}");
    // The selection walks the objects in the tree's order, not the placeholders.
    assert_eq!(ui.screen(&view).entries.len(), 5);
    let third = selecting(&view, ui.clone(), 2);
    assert_eq!(selected_name(&view, &third).as_deref(), Some("web-7d9f-a"));
}

#[test]
fn details_of_an_added_object_show_it_its_events_and_its_history() {
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    view.record(owned_change(
        &pods,
        ChangeType::Added,
        "web-1",
        ("ReplicaSet", "web-7d9f"),
    ));
    view.events.record(event(
        "web-1",
        "Scheduled",
        false,
        "Successfully assigned shop/web-1",
        1,
    ));
    view.events.record(event(
        "web-1",
        "BackOff",
        true,
        "Back-off restarting failed container",
        5,
    ));
    let on = EntryId::Object {
        stream: 0,
        key: view.rows()[0].latest.key.clone(),
    };
    let mut ui = ui();
    ui.overlay = Overlay::Details {
        on: on.clone(),
        scroll: 0,
    };
    let text = render(&view, &ui, 110, 40).join("\n");
    assert!(text.contains("pod/web-1 · ADDED at 11:06:40"), "{text}");
    assert!(text.contains("owned by ReplicaSet/web-7d9f"), "{text}");
    assert!(text.contains("The object as its latest change left it"), "{text}");
    assert!(text.contains("replicas: 3"), "{text}");
    assert!(
        !text.contains("managedFields") && !text.contains("kube-controller-manager"),
        "{text}"
    );
    assert!(
        text.contains("Normal   Scheduled  kubelet: Successfully assigned shop/web-1"),
        "{text}"
    );
    assert!(
        text.contains("Warning  BackOff  kubelet: Back-off restarting failed container"),
        "{text}"
    );
    assert!(text.contains("History (1 changes seen)"), "{text}");
    // The object comes first for an ADDED object; scrolling moves past it.
    let object_at = text.find("replicas: 3").expect("the object");
    assert!(object_at < text.find("History").expect("the history"), "{text}");
    assert!(details::length(&view, &ui, &on) > 15, "what scrolling is bounded by");
    ui.overlay = Overlay::Details { on, scroll: 3 };
    let scrolled = render(&view, &ui, 110, 40).join("\n");
    assert!(!scrolled.contains("owned by ReplicaSet"), "{scrolled}");
}

#[test]
fn a_filter_keeps_the_matching_rows_and_says_how_many_it_hides() {
    let view = pods_view();
    let mut filtered = ui();
    filtered.filter = "WEB".into();
    let lines = render(&view, &filtered, 120, 8);
    assert!(lines[1].starts_with("/WEB (1 hidden)"), "{lines:#?}");
    assert!(lines.iter().any(|line| line.contains("web-1")), "{lines:#?}");
    assert!(!lines.iter().any(|line| line.contains("db-0")), "{lines:#?}");
    assert_eq!(filtered.screen(&view).entries.len(), 1);
    assert_eq!(selected_name(&view, &filtered).as_deref(), Some("web-1"));
    filtered.mode = Mode::Timeline;
    assert_eq!(filtered.screen(&view).entries.len(), 2, "both changes of web-1");
    filtered.filter = "nothing-like-it".into();
    let lines = render(&view, &filtered, 120, 8);
    assert!(
        lines.iter().any(|line| line.contains("No change matches the filter.")),
        "{lines:#?}"
    );
    filtered.overlay = Overlay::Filter;
    let lines = render(&view, &filtered, 120, 8);
    assert!(lines[7].starts_with("type to filter"), "the keys say how: {lines:#?}");
}

#[test]
fn several_types_get_a_section_each() {
    let pods = stream("Pod", "pods", &["Name", "Status"]);
    let services = stream("Service", "services", &["Name", "Type"]);
    let mut view = ViewModel::new(vec![pods.clone(), services.clone()], at(0));
    let mut service = change(&services, ChangeType::Added, "api", &["api", "ClusterIP"], "x");
    service.stream = 1;
    view.record(service);
    view.record(change(
        &pods,
        ChangeType::Added,
        "web-1",
        &["web-1", "Pending"],
        "Pending",
    ));
    let lines = render(&view, &ui(), 80, 9);
    assert_eq!(lines[2], "pods (v1)");
    assert!(
        lines[3].starts_with("EVENT  LAST CHANGE") && lines[3].contains("STATUS"),
        "{lines:#?}"
    );
    assert!(lines[4].contains("web-1"), "{lines:#?}");
    assert_eq!(lines[5], "services (v1)");
    assert!(
        lines[6].contains("TYPE") && lines[7].contains("ClusterIP"),
        "{lines:#?}"
    );
}

#[test]
fn the_timeline_has_one_row_per_change_newest_last() {
    let mut ui = ui();
    ui.mode = Mode::Timeline;
    let lines = render(&pods_view(), &ui, 80, 7);
    assert_eq!(lines[2], "TIME      EVENT     NAME   WHAT CHANGED");
    assert_eq!(lines[3], "11:06:40  ADDED     web-1");
    assert_eq!(lines[4], "11:06:40  MODIFIED  web-1  status.phase Pending→Running");
    assert_eq!(lines[5], "11:06:40  DELETED   db-0");
}

#[test]
fn details_show_the_whole_change_and_pause_is_visible() {
    let view = pods_view();
    let mut ui = ui();
    ui.overlay = Overlay::Details {
        on: EntryId::Object {
            stream: 0,
            key: view.rows()[0].latest.key.clone(),
        },
        scroll: 0,
    };
    let held = view.timeline().iter().take(4).map(|record| (**record).clone());
    ui.paused = Some(held.cycle().take(4).collect());
    let text = render(&view, &ui, 90, 14).join("\n");
    assert!(text.contains("pod/web-1 · MODIFIED at 11:06:40"), "{text}");
    assert!(text.contains("status.phase Pending→Running"), "{text}");
    assert!(text.contains("PAUSED (4 waiting)"), "{text}");
}

fn key(code: ratatui::crossterm::event::KeyCode) -> ratatui::crossterm::event::KeyEvent {
    ratatui::crossterm::event::KeyEvent::new(code, ratatui::crossterm::event::KeyModifiers::NONE)
}

/// The screen's lines, and the one drawn reversed (the selection), if any.
fn drawn(view: &ViewModel, state: &LiveState, width: u16, height: u16) -> (Vec<String>, Option<String>) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| draw(frame, view, state, at(10))).expect("drawn");
    let buffer = terminal.backend().buffer();
    let line = |y: u16| -> String { (0..width).map(|x| buffer[(x, y)].symbol()).collect() };
    let lines: Vec<String> = (0..height).map(|y| line(y).trim_end().to_string()).collect();
    // Below the two status lines, whose filter and pause are reversed too.
    let reversed = (2..height)
        .find(|y| buffer[(0, *y)].modifier.contains(Modifier::REVERSED))
        .map(line);
    (lines, reversed)
}

/// Walks every entry from the first down: the row drawn highlighted is, each time, the object Enter opens.
fn assert_enter_opens_what_is_highlighted(view: &mut ViewModel, mut state: LiveState, count: usize) {
    use ratatui::crossterm::event::KeyCode;
    state.press(key(KeyCode::Home), view);
    let mut seen = Vec::new();
    for step in 0..count {
        let (lines, highlighted) = drawn(view, &state, 140, 30);
        let highlighted = highlighted.unwrap_or_else(|| panic!("step {step}: nothing highlighted: {lines:#?}"));
        // The tree names `kind/name`.
        let name = highlighted
            .split_whitespace()
            .find_map(|word| word.rsplit('/').next().filter(|name| name.starts_with("obj-")))
            .unwrap_or_else(|| panic!("step {step}: no object in {highlighted:?}"))
            .to_string();
        assert_eq!(state.press(key(KeyCode::Enter), view), KeyOutcome::Done);
        let (lines, _) = drawn(view, &state, 140, 30);
        let title = lines
            .iter()
            .find(|line| line.contains(" at 11:06:"))
            .unwrap_or_else(|| panic!("step {step}: no details: {lines:#?}"));
        assert!(
            title.contains(&format!("/{name} ")),
            "step {step}: highlighted {name}, opened {title}"
        );
        seen.push(name);
        state.press(key(KeyCode::Esc), view);
        state.press(key(KeyCode::Down), view);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), count, "every entry was visited once: {seen:?}");
}

/// Two contexts named out of alphabetical order, so that the table (by context) and the streams (in the
/// order given) disagree: the highlight and Enter still agree, and the details name the context.
#[test]
fn the_row_highlighted_is_the_row_enter_opens_with_contexts_out_of_order() {
    let mut in_b = stream("ConfigMap", "configmaps", &["Name", "Data"]);
    in_b.context = Some("watchnew-limited".into());
    let mut in_a = in_b.clone();
    in_a.context = Some("watchnew-admin".into());
    let mut view = ViewModel::new(vec![in_b.clone(), in_a.clone()], at(-60));
    synced(&mut view);
    for (stream, info, name) in [
        (0, &in_b, "obj-b1"),
        (1, &in_a, "obj-a1"),
        (0, &in_b, "obj-b2"),
        (1, &in_a, "obj-a2"),
    ] {
        let mut record = change(info, ChangeType::Added, name, &[name, "1"], "x");
        record.stream = stream;
        view.record(record);
    }
    let mut state = ui();
    state.look.options.contexts = true;
    // The admin's context is drawn first.
    let (lines, _) = drawn(&view, &state, 140, 30);
    let first = lines.iter().position(|line| line.contains("obj-a1")).expect("drawn");
    let last = lines.iter().position(|line| line.contains("obj-b2")).expect("drawn");
    assert!(first < last, "{lines:#?}");
    assert_enter_opens_what_is_highlighted(&mut view, state.clone(), 4);

    // The details say where the object is.
    state.press(key(ratatui::crossterm::event::KeyCode::Home), &mut view);
    state.press(key(ratatui::crossterm::event::KeyCode::Enter), &mut view);
    let text = drawn(&view, &state, 140, 30).0.join("\n");
    assert!(text.contains("configmap/obj-a1 in watchnew-admin · ADDED"), "{text}");
    assert!(text.contains("context watchnew-admin · namespace shop"), "{text}");
}

/// In the tree, under a filter, and in the timeline, the same holds.
#[test]
fn the_row_highlighted_is_the_row_enter_opens_in_the_tree_the_filter_and_the_timeline() {
    let replicasets = stream("ReplicaSet", "replicasets", &["Name"]);
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![pods.clone(), replicasets.clone()], at(-60));
    synced(&mut view);
    let mut add = |stream: usize, info: &StreamInfo, name: &str, owner: (&str, &str)| {
        let mut record = owned_change(info, ChangeType::Added, name, owner);
        record.stream = stream;
        view.record(record);
    };
    // Pods first, their ReplicaSet last: the tree puts it above them.
    add(0, &pods, "obj-pod-1", ("ReplicaSet", "obj-rs"));
    add(0, &pods, "obj-pod-2", ("ReplicaSet", "obj-rs"));
    add(0, &pods, "obj-other", ("Job", "report"));
    add(1, &replicasets, "obj-rs", ("Deployment", "web"));
    let mut tree = ui();
    tree.tree = true;
    assert_enter_opens_what_is_highlighted(&mut view, tree, 4);

    let mut filtered = ui();
    filtered.filter = "pod-".into();
    assert_eq!(filtered.screen(&view).entries.len(), 2);
    assert_enter_opens_what_is_highlighted(&mut view, filtered, 2);

    let mut timeline = ui();
    timeline.mode = Mode::Timeline;
    assert_enter_opens_what_is_highlighted(&mut view, timeline, 4);
}

/// A selection names its object: rows that come meanwhile do not move it to another, `t` takes it to the same
/// object's change in the timeline and back, and End follows the newest again.
#[test]
fn the_selection_stays_on_its_object() {
    use ratatui::crossterm::event::KeyCode;
    let pods = stream("Pod", "pods", &["Name"]);
    let services = stream("Service", "services", &["Name"]);
    let mut view = ViewModel::new(vec![pods.clone(), services.clone()], at(-60));
    synced(&mut view);
    let add = |view: &mut ViewModel, stream: usize, info: &StreamInfo, name: &str| {
        let mut record = change(info, ChangeType::Added, name, &[name], "x");
        record.stream = stream;
        view.record(record);
    };
    add(&mut view, 1, &services, "obj-svc");
    add(&mut view, 0, &pods, "obj-pod-1");
    let mut state = ui();
    assert_eq!(
        selected_name(&view, &state).as_deref(),
        Some("obj-svc"),
        "the newest on screen"
    );
    state.press(key(KeyCode::Up), &mut view);
    assert_eq!(selected_name(&view, &state).as_deref(), Some("obj-pod-1"));
    // A new pod's row comes below it, a new service's at the end: the selection stays.
    add(&mut view, 0, &pods, "obj-pod-2");
    add(&mut view, 1, &services, "obj-svc-2");
    assert_eq!(selected_name(&view, &state).as_deref(), Some("obj-pod-1"));
    state.press(key(KeyCode::Char('t')), &mut view);
    assert_eq!(state.mode, Mode::Timeline);
    assert_eq!(selected_name(&view, &state).as_deref(), Some("obj-pod-1"));
    state.press(key(KeyCode::Char('t')), &mut view);
    assert_eq!(selected_name(&view, &state).as_deref(), Some("obj-pod-1"));
    state.press(key(KeyCode::End), &mut view);
    assert_eq!(state.selection, Selection::Newest);
    add(&mut view, 1, &services, "obj-svc-3");
    assert_eq!(selected_name(&view, &state).as_deref(), Some("obj-svc-3"));
}

/// Space holds changes back and shows them all when pressed again; `c` clears the view and what is held.
#[test]
fn pause_holds_changes_back_until_it_ends() {
    use ratatui::crossterm::event::KeyCode;
    let pods = stream("Pod", "pods", &["Name"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    let mut state = ui();
    state.press(key(KeyCode::Char(' ')), &mut view);
    let fed = |name: &str| crate::view::feed::Fed {
        at: at(1),
        item: crate::view::feed::FeedItem::Change(Box::new(crate::view::feed::FedChange {
            stream: 0,
            change: Change {
                change_type: ChangeType::Added,
                key: ObjectKey {
                    namespace: Some("shop".into()),
                    name: name.into(),
                },
                uid: format!("uid-{name}"),
                resource_version: "3".into(),
                origin: Origin::Watch,
                payload: None,
                previous: None,
            },
            field_changes: Vec::new(),
            changed_by: Vec::new(),
        })),
    };
    state.take(fed("web-1"), &mut view);
    state.take(fed("web-2"), &mut view);
    assert!(view.rows().is_empty());
    assert!(drawn(&view, &state, 100, 8).0[1].starts_with("PAUSED (2 waiting)"));
    state.press(key(KeyCode::Char(' ')), &mut view);
    assert_eq!(view.rows().len(), 2);
    state.press(key(KeyCode::Char(' ')), &mut view);
    state.take(fed("web-3"), &mut view);
    state.press(key(KeyCode::Char('c')), &mut view);
    assert!(view.rows().is_empty());
    assert_eq!(state.paused.as_ref().map(|held| held.len()), Some(0));
}

/// The fast way to put ASCII text in the buffer draws what ratatui's own does, control characters included.
#[test]
fn ascii_text_is_drawn_as_ratatui_draws_it() {
    use ratatui::buffer::Buffer;
    let area = Rect::new(0, 0, 12, 1);
    for text in [
        "web-1",
        "tab\there",
        "a-much-longer-name",
        "",
        "ünïcode-ok",
        "x\u{7}y",
        "status.phase Pending→Running",
        "⚠ BackOff ×3 (5s)…",
        "  └ pod/web · x",
        "e\u{301}-combined",
        "🇺🇸-flag",
    ] {
        for width in [0, 3, 8, 12, 20] {
            let style = Style::new().bold();
            let (mut fast, mut reference) = (Buffer::empty(area), Buffer::empty(area));
            super::put(&mut fast, 1, 0, text, width, style);
            reference.set_stringn(1, 0, text, width, style);
            assert_eq!(fast, reference, "{text:?} in {width}");
        }
    }
}
