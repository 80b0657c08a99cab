//! The writers of changes, worked out from the API server's own bytes: watch streams of kube-apiserver 1.37.1
//! on the local control plane (`kubectl get --raw '/api/v1/namespaces/who/configmaps?watch=true&...'`), made
//! by kubectl create/patch/label/scale, two server-side appliers, the deployment and replica-set controllers,
//! the scheduler's binding and kwok's pod status.

use jiff::Timestamp;

use super::*;
use crate::engine::tracker::{StreamEvent, Tracker};
use crate::engine::wire::{self, Keep, WatchEvent};
use crate::view::field_changes_of;
use crate::view::fights::Fights;
use crate::view::summary::Secrecy;

const CONFIGMAPS: &str = include_str!("fixtures/configmaps.jsonl");
const DEPLOYMENTS: &str = include_str!("fixtures/deployments.jsonl");
const PODS: &str = include_str!("fixtures/pods.jsonl");

/// One reported change, as WHO and WHAT CHANGED would say it.
#[derive(Debug)]
struct Seen {
    event: ChangeType,
    name: String,
    who: String,
    changed: Vec<String>,
    writers: Vec<Writer>,
    field_changes: Vec<FieldChange>,
}

/// The stream's events through the tracker, after an empty snapshot (or with `existing` in it), as a human
/// output (`keep`) reports them.
fn replay(stream: &str, existing: &[&str], keep: Keep) -> Vec<Seen> {
    let mut tracker = Tracker::new();
    let mut changes = Vec::new();
    tracker.apply(StreamEvent::ListBegin, &mut changes);
    for line in stream.lines() {
        let decoded = wire::decode_watch_event(line.as_bytes(), keep).expect("decodes");
        if let WatchEvent::Added(object) = decoded.event
            && existing.contains(&object.key.name.as_str())
        {
            tracker.apply(StreamEvent::ListItem(object), &mut changes);
        }
    }
    tracker.apply(
        StreamEvent::ListEnd {
            resource_version: "290".into(),
        },
        &mut changes,
    );
    let mut seen = Vec::new();
    for line in stream.lines() {
        let event = match wire::decode_watch_event(line.as_bytes(), keep).expect("decodes").event {
            WatchEvent::Added(object) if existing.contains(&object.key.name.as_str()) => continue,
            WatchEvent::Added(object) => StreamEvent::Added(object),
            WatchEvent::Modified(object) => StreamEvent::Modified(object),
            WatchEvent::Deleted(object) => StreamEvent::Deleted(object),
            _ => continue,
        };
        tracker.apply(event, &mut changes);
        for change in changes.drain(..) {
            let field_changes = field_changes_of(&change, Secrecy::Open);
            let writers = writers_of(&change, &field_changes);
            seen.push(Seen {
                event: change.change_type,
                name: change.key.name.clone(),
                who: who(&writers),
                changed: field_changes.iter().map(|field| field.path.clone()).collect(),
                writers,
                field_changes,
            });
        }
    }
    seen
}

fn who_of(seen: &[Seen]) -> Vec<(&str, &str)> {
    seen.iter()
        .map(|seen| (seen.name.as_str(), seen.who.as_str()))
        .collect()
}

#[test]
fn kubectl_create_patch_label_and_two_appliers_are_named() {
    let seen = replay(CONFIGMAPS, &[], Keep::ALL);
    assert_eq!(
        who_of(&seen),
        [
            ("tuning", "kubectl-create"),
            // Each wrote within the same second as the one before: a new entry is a writer all the same.
            ("tuning", "carol-deployer"),
            ("tuning", "kubectl-label"),
            ("scaling", "alice-autoscaler (apply)"),
            // A forced apply takes the field: the entry that lost it is gone, and did not write.
            ("scaling", "bob-operator (apply)"),
            ("scaling", "alice-autoscaler (apply)"),
        ]
    );
    assert_eq!(seen[1].changed, ["data.mode"]);
    assert_eq!(seen[2].changed, ["metadata.labels.tier"]);
    assert_eq!(seen[1].writers[0].fields().as_ref(), ["data.mode"]);
    assert_eq!(seen[4].writers[0].fields().as_ref(), ["data.replicas"]);
    assert_eq!(seen[4].writers[0].operation, "Apply");
}

#[test]
fn controllers_the_scale_subresource_and_same_second_writes_are_named() {
    let seen = replay(DEPLOYMENTS, &[], Keep::ALL);
    let names = who_of(&seen);
    assert_eq!(names[0], ("web", "kubectl-create"));
    // The deployment controller's status updates: its entry's time moves at most once a second, so the
    // later ones within that second are named by what it owns.
    for (index, (_, who)) in names.iter().enumerate().skip(1) {
        let changed = &seen[index].changed;
        let expected = if changed.iter().any(|path| path == "spec.replicas") {
            "kubectl (scale)"
        } else {
            "kube-controller-manager (status)"
        };
        assert_eq!(*who, expected, "change {index}: {changed:?}");
    }
    assert!(
        names.contains(&("web", "kubectl (scale)")),
        "kubectl scale writes through the scale subresource"
    );
}

#[test]
fn the_scheduler_s_binding_is_not_recorded_by_the_server_so_no_one_is_named() {
    let seen = replay(PODS, &[], Keep::ALL);
    let binding: Vec<&Seen> = seen
        .iter()
        .filter(|seen| seen.changed.iter().any(|path| path == "spec.nodeName"))
        .collect();
    assert_eq!(binding.len(), 2, "two pods bound");
    for seen in binding {
        assert_eq!(
            seen.who, "",
            "the binding moves no managedFields entry: {:?}",
            seen.changed
        );
    }
    let created: Vec<&str> = seen
        .iter()
        .filter(|seen| seen.event == ChangeType::Added)
        .map(|seen| seen.who.as_str())
        .collect();
    assert_eq!(created, ["kube-controller-manager", "kube-controller-manager"]);
    let running: Vec<&Seen> = seen
        .iter()
        .filter(|seen| seen.changed.iter().any(|path| path == "status.phase"))
        .collect();
    assert_eq!(running.len(), 2);
    for seen in running {
        assert_eq!(seen.who, "kwok (status)");
        assert!(seen.writers[0].owns("status.phase"));
        assert!(seen.writers[0].owns("status.conditions[Ready].status"));
        assert!(!seen.writers[0].owns("spec.nodeName"));
    }
}

#[test]
fn the_first_modification_after_the_snapshot_is_named_in_every_output() {
    // `tuning` existed before the start: its first modification is compared with the snapshot's version.
    for keep in [
        Keep::ALL,
        Keep {
            summarised: false,
            writers: true,
        },
    ] {
        let seen = replay(CONFIGMAPS, &["tuning"], keep);
        assert_eq!(seen[0].name, "tuning");
        assert_eq!(seen[0].who, "carol-deployer", "{keep:?}");
        assert_eq!(seen[1].who, "kubectl-label", "{keep:?}");
    }
}

#[test]
fn without_who_or_without_managed_fields_no_one_is_named() {
    let seen = replay(
        CONFIGMAPS,
        &["tuning"],
        Keep {
            summarised: true,
            writers: false,
        },
    );
    assert!(seen.iter().all(|seen| seen.who.is_empty()));
    // A server with managedFields off, or a client that cleared them.
    let stripped: String = CONFIGMAPS
        .lines()
        .map(|line| {
            let mut event: serde_json::Value = serde_json::from_str(line).expect("JSON");
            event["object"]["metadata"]
                .as_object_mut()
                .expect("metadata")
                .remove("managedFields");
            format!("{event}\n")
        })
        .collect();
    let seen = replay(&stripped, &[], Keep::ALL);
    assert_eq!(seen.len(), 6);
    assert!(seen.iter().all(|seen| seen.who.is_empty()));
}

#[test]
fn a_deletion_names_no_one() {
    let line = CONFIGMAPS
        .lines()
        .next()
        .expect("a line")
        .replacen("ADDED", "DELETED", 1);
    let stream = format!("{}\n{line}\n", CONFIGMAPS.lines().next().expect("a line"));
    let seen = replay(&stream, &[], Keep::ALL);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].event, ChangeType::Deleted);
    assert_eq!(seen[1].who, "");
}

#[test]
fn two_appliers_undoing_each_other_are_a_fight_said_once() {
    let mut seen = replay(CONFIGMAPS, &[], Keep::ALL);
    // alice, bob, alice: then two more rounds.
    let rounds: Vec<Seen> = seen.drain(4..).collect();
    let mut fights = Fights::default();
    let key = crate::engine::tracker::ObjectKey {
        namespace: Some("who".into()),
        name: "scaling".into(),
    };
    let at = |second: i64| Timestamp::from_second(1_800_000_000 + second).expect("time");
    let mut outcomes = Vec::new();
    for (second, change) in [&seen[3]].into_iter().chain(&rounds).chain(&rounds).enumerate() {
        outcomes.push(fights.observe(
            0,
            &key,
            change.event,
            at(second as i64 * 5),
            &change.field_changes,
            &change.writers,
        ));
    }
    assert_eq!(outcomes[0], None, "alice created it");
    assert_eq!(outcomes[1], None, "bob overwrote it once");
    let fight = outcomes[2].as_ref().expect("alice undid it: a fight");
    assert!(fight.new);
    assert_eq!(
        fight.fight.display(),
        "⚠ data.replicas: alice-autoscaler (apply) ↔ bob-operator (apply) ×2"
    );
    let values: Vec<(&str, Option<&str>)> = fight
        .fight
        .moves
        .iter()
        .map(|set| (set.writer.as_str(), set.value.as_deref()))
        .collect();
    assert_eq!(
        values,
        [
            ("alice-autoscaler (apply)", Some("3")),
            ("bob-operator (apply)", Some("5")),
            ("alice-autoscaler (apply)", Some("3"))
        ]
    );
    let later = outcomes[4].as_ref().expect("still a fight");
    assert!(!later.new, "said once per field and pair");
    assert_eq!(later.fight.overwrites, 4);
}

#[test]
fn overwrites_further_apart_than_a_minute_are_no_fight() {
    let seen = replay(CONFIGMAPS, &[], Keep::ALL);
    let mut fights = Fights::default();
    let key = crate::engine::tracker::ObjectKey {
        namespace: Some("who".into()),
        name: "scaling".into(),
    };
    for (index, change) in seen[3..6].iter().enumerate() {
        let at = Timestamp::from_second(1_800_000_000 + index as i64 * 61).expect("time");
        assert_eq!(
            fights.observe(0, &key, change.event, at, &change.field_changes, &change.writers),
            None
        );
    }
    // One writer setting a field again and again is no fight either.
    let mut fights = Fights::default();
    for second in 0..5 {
        let at = Timestamp::from_second(1_800_000_000 + second).expect("time");
        assert_eq!(
            fights.observe(0, &key, seen[4].event, at, &seen[4].field_changes, &seen[4].writers),
            None
        );
    }
}

#[test]
fn field_sets_read_as_what_changed_names_fields() {
    let set = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{},"f:app.kubernetes.io/name":{}},"f:finalizers":{".":{},"v:\"kubernetes\"":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}},"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{}}}}}"#;
    assert_eq!(
        owned_paths(set),
        [
            "metadata.finalizers[kubernetes]",
            "metadata.labels.app",
            "metadata.labels[app.kubernetes.io/name]",
            "spec.containers[web].image",
            "spec.containers[web].ports[containerPort=80,protocol=TCP].containerPort",
            "status.conditions[Ready].status",
        ]
    );
    let writer = Writer {
        manager: "m".into(),
        operation: "Update".into(),
        subresource: String::new(),
        time: None,
        owned: Owned::FieldsV1(set.into()),
    };
    assert!(writer.owns("spec.containers[web].image"));
    assert!(writer.owns("spec.containers[web]"), "an item that came or went");
    assert!(
        writer.owns("spec.containers[web].ports[0].containerPort"),
        "a list position"
    );
    assert!(writer.owns("metadata.finalizers[0]"));
    assert!(!writer.owns("spec.containers[sidecar].image"));
    assert!(!writer.owns("spec.replicas"));
    assert!(
        !writer.owns("metadata.labels.tier"),
        "the map's \".\" owns no other key"
    );
    assert!(owned_paths("not json").is_empty());
}

#[test]
fn writers_are_said_and_carried_as_json() {
    let writer = Writer {
        manager: "kube-controller-manager".into(),
        operation: "Update".into(),
        subresource: "status".into(),
        time: Some("2026-12-06T17:12:24Z".into()),
        owned: Owned::FieldsV1(r#"{"f:status":{"f:replicas":{}}}"#.into()),
    };
    assert_eq!(writer.display(), "kube-controller-manager (status)");
    let json = serde_json::to_value(&writer).expect("JSON");
    assert_eq!(
        json,
        serde_json::json!({"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
            "time": "2026-12-06T17:12:24Z", "fields": ["status.replicas"]})
    );
    let back: Writer = serde_json::from_value(json).expect("reads back");
    assert_eq!(back.fields().as_ref(), ["status.replicas"]);
    assert_eq!(back.display(), writer.display());
    let applier = Writer {
        operation: "Apply".into(),
        ..back
    };
    assert_eq!(applier.display(), "kube-controller-manager (apply, status)");
}
