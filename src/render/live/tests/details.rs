//! The details of an entry.

use super::*;

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
    assert!(
        text.contains("created since the start · namespace shop · owned by ReplicaSet/web-7d9f"),
        "{text}"
    );
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
    assert!(
        super::super::details::length(&view, &ui, &on) > 15,
        "what scrolling is bounded by"
    );
    ui.overlay = Overlay::Details { on, scroll: 3 };
    let scrolled = render(&view, &ui, 110, 40).join("\n");
    assert!(!scrolled.contains("created since the start"), "{scrolled}");
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
