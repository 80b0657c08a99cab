//! The selection, the keys that move it, pause and clear.

use super::*;

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
