//! The table and the timeline: columns, widths, styles, sections.

use super::*;

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
    let lines = render(&pods_view(), &ui(), 40, 6);
    assert!(lines[3].starts_with("MODIFIED  "), "{lines:#?}");
    assert!(lines[3].contains('…'), "{lines:#?}");
    assert!(lines.iter().all(|line| line.chars().count() <= 40));
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
    // In between, the columns that say least go first: how often and when, then kubectl's own from the
    // right, whole, before WHAT CHANGED is cut.
    let middle = render(&view, &ui(), 66, 6);
    assert!(
        middle[2].contains("STATUS") && !middle[2].contains("AGE") && middle[2].contains("WHAT"),
        "{middle:#?}"
    );
    assert!(middle[3].ends_with("status.phase Pending→Running"), "{middle:#?}");
    assert!(middle[4].contains(" Terminating"), "{middle:#?}");
    let less = render(&view, &ui(), 60, 6);
    assert!(!less[2].contains("STATUS") && less[2].contains("READY"), "{less:#?}");
    assert!(less[3].ends_with("status.phase Pending→Running"), "{less:#?}");
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
    assert_eq!(lines[3], "11:06:40  MODIFIED  web-1");
    assert_eq!(lines[4], "11:06:40  MODIFIED  web-1  status.phase Pending→Running");
    assert_eq!(lines[5], "11:06:40  DELETED   db-0");
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
