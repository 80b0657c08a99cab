//! What makes the view read well: objects created since the start told apart, the selected entry whole in the
//! strip, owners and Events shortened to what tells them apart, heartbeats counted.

use super::*;

#[test]
fn an_object_created_since_the_start_stays_added_in_the_table_the_timeline_and_the_details() {
    let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Age"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    let step = |event: ChangeType, name: &str, status: &str| {
        let cells = [name, "1/1", status, "5s"].map(str::to_string);
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        change(&pods, event, name, &cells, "Running")
    };
    view.record(step(ChangeType::Added, "new-1", "Pending"));
    view.record(step(ChangeType::Modified, "old-1", "Running"));
    view.record(step(ChangeType::Modified, "new-1", "Running"));
    view.record(step(ChangeType::Modified, "new-1", "Running"));
    let lines = render(&view, &ui(), 100, 8);
    let row = |name: &str| {
        lines
            .iter()
            .find(|line| line.contains(name))
            .cloned()
            .unwrap_or_default()
    };
    assert!(row("new-1").starts_with("ADDED +2 "), "{lines:#?}");
    assert!(row("old-1").starts_with("MODIFIED "), "{lines:#?}");

    // The timeline: each change of the new object says so, with how many modifications it has had.
    let mut timeline = ui();
    timeline.mode = Mode::Timeline;
    let lines = render(&view, &timeline, 100, 8);
    let events: Vec<&str> = lines[3..7].iter().map(|line| &line[10..18]).collect();
    assert_eq!(events, ["ADDED   ", "MODIFIED", "ADDED +1", "ADDED +2"], "{lines:#?}");

    // A cleared table still knows: the next change of the new object reads ADDED, its deletion too.
    view.clear();
    view.record(step(ChangeType::Modified, "new-1", "Running"));
    let lines = render(&view, &ui(), 100, 8);
    assert!(lines[3].starts_with("ADDED +3 "), "{lines:#?}");
    view.record(step(ChangeType::Deleted, "new-1", "Running"));
    let lines = render(&view, &ui(), 100, 8);
    assert!(
        lines[3].starts_with("ADDED→DELETED "),
        "the event is never cut: {lines:#?}"
    );
    // Gone, it is forgotten: an object of that name and uid seen again later counts from its own ADDED.
    view.record(step(ChangeType::Modified, "new-1", "Running"));
    let lines = render(&view, &ui(), 100, 8);
    assert!(lines[3].starts_with("MODIFIED "), "{lines:#?}");

    // The details say it, in the title and first.
    view.record(step(ChangeType::Added, "new-2", "Pending"));
    let mut details = ui();
    details.overlay = Overlay::Details {
        on: EntryId::Object {
            stream: 0,
            key: ObjectKey {
                namespace: Some("shop".into()),
                name: "new-2".into(),
            },
        },
        scroll: 0,
    };
    let text = render(&view, &details, 110, 30).join("\n");
    assert!(text.contains("pod/new-2 · ADDED at"), "{text}");
    assert!(text.contains("created since the start"), "{text}");
}

/// A pod scheduled by the rollout, with its owner, an Event whose message is long, and who changed it.
fn rollout_view() -> ViewModel {
    let pods = stream("Pod", "pods", &["Name", "Ready", "Status", "Restarts", "Age"]);
    let mut view = ViewModel::new(vec![pods.clone()], at(-60));
    synced(&mut view);
    for (name, owner) in [
        ("shop-56d86f64f4-x7k2p", "shop-56d86f64f4"),
        ("shop-7b9c4d5e6f-q9w8e", "shop-7b9c4d5e6f"),
    ] {
        let mut record = change(
            &pods,
            ChangeType::Modified,
            name,
            &[name, "1/1", "Running", "0", "10s"],
            "Running",
        );
        record.owner = Some(crate::view::OwnerRef {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: owner.into(),
            uid: format!("uid-{owner}"),
            controller: Some(true),
        });
        record.changed_by = vec![
            serde_json::from_value(json!({"manager": "kubelet", "operation": "Update", "subresource": "status"}))
                .expect("a writer"),
        ];
        record.uid = format!("uid-{name}");
        view.record(record);
        let message =
            format!("Successfully assigned shop/{name} to kwok-node-0 after a long and detailed scheduling round");
        let mut scheduled = event(name, "Scheduled", false, &message, 1);
        scheduled.regarding.uid = format!("uid-{name}");
        view.events.record(scheduled);
    }
    view
}

#[test]
fn the_strip_shows_the_selected_entry_whole_and_the_row_gives_way_to_what_changed() {
    let view = rollout_view();
    let mut state = ui();
    state.look.options.events = true;
    state.look.options.who = true;
    let lines = render(&view, &state, 120, 24);
    let text = lines.join("\n");
    // The row: what changed whole; the counters and times, OWNER and LAST EVENT gave way (they are in the strip).
    let row = lines.iter().find(|line| line.contains("q9w8e")).expect("the row");
    assert!(row.contains("status.phase Pending→Running"), "{text}");
    assert!(row.contains("kubelet (status)"), "{text}");
    assert!(!lines[2].contains("OWNER") && !lines[2].contains("LAST"), "{text}");
    // The strip under it: the selected (newest) pod whole.
    let strip = lines
        .iter()
        .position(|line| line.starts_with("── pod/shop-7b9c4d5e6f-q9w8e in shop"))
        .expect(&text);
    assert!(lines[strip].contains("owned by ReplicaSet/shop-7b9c4d5e6f"), "{text}");
    let below = lines[strip + 1..].join("\n");
    assert!(below.contains("changed  status.phase Pending→Running"), "{text}");
    assert!(
        below.contains("event    Scheduled (9s): Successfully assigned shop/shop-7b9c4d5e6f-q9w8e"),
        "{text}"
    );
    assert!(
        below.contains("scheduling round (from kubelet)"),
        "the message wrapped, not cut: {text}"
    );
    assert!(below.contains("by       kubelet (status)"), "{text}");
    // Wider, OWNER comes back, as much of the end of each name as fits.
    let wide = render(&view, &state, 150, 24);
    let row = wide.iter().find(|line| line.contains("q9w8e")).expect("the row");
    assert!(row.contains("ReplicaSet/…") && row.contains("5e6f "), "{wide:#?}");
    assert!(
        row.contains("Scheduled (9s)") && !row.contains("Successfully"),
        "the reason alone: {wide:#?}"
    );
    assert!(row.contains("status.phase Pending→Running"), "{wide:#?}");
    // Too short a screen has no strip.
    let short = render(&view, &state, 120, 12).join("\n");
    assert!(!short.contains("── pod/"), "{short}");
}

#[test]
fn owners_shorten_to_what_tells_them_apart() {
    use super::super::fitting::{owner_floor, shorten_owner};
    let owners = [
        "ReplicaSet/shop-56d86f64f4",
        "ReplicaSet/shop-7b9c4d5e6f",
        "ReplicaSet/shop-56d86f64f4",
    ];
    assert_eq!(
        owner_floor(&owners),
        "ReplicaSet/…64f4".len() - 2,
        "four characters tell these apart"
    );
    assert_eq!(shorten_owner("ReplicaSet/shop-56d86f64f4", 16), "ReplicaSet/…64f4");
    assert_eq!(
        shorten_owner("ReplicaSet/shop-56d86f64f4", 40),
        "ReplicaSet/shop-56d86f64f4"
    );
    // Siblings that share their last four characters need more of them.
    let alike = ["Job/backup-10001234", "Job/backup-10011234"];
    assert_eq!(owner_floor(&alike), "Job/…01234".chars().count());
    assert_eq!(shorten_owner("Job/x", 3), "Jo…");
}

#[test]
fn heartbeats_are_counted_in_the_status_line() {
    let mut view = pods_view();
    for _ in 0..42 {
        view.apply(
            crate::view::feed::Fed {
                at: at(1),
                item: crate::view::feed::FeedItem::Heartbeat { stream: 0 },
            },
            None,
        );
    }
    let lines = render(&view, &ui(), 110, 8);
    assert!(
        lines[1].starts_with("3 changes (0.3/s) · heartbeats 42 ·"),
        "{lines:#?}"
    );
    assert_eq!(view.activity.changes, 3, "a heartbeat is no change");
}
