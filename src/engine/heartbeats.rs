//! Heartbeats: writes that only say "still here" (a node's conditions' `lastHeartbeatTime`, a Lease renewed by
//! the holder it already had). Nothing a person debugging a cluster asks about changes in them, and they come
//! every few seconds per node and per leader, so they are counted, not reported. Pure.
//!
//! An object that can carry one gets a fingerprint of itself with its heartbeat fields (and the bookkeeping a
//! heartbeat write moves: `resourceVersion`, the managedFields, whose entry for the writer moves or appears)
//! left out; a modification whose fingerprint equals its version before's changed nothing else.

use std::hash::{DefaultHasher, Hasher};
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde_json::Value;

use super::tracker::{Change, ChangeType};
use super::wire::Payload;

static HEARTBEAT_TIME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"lastHeartbeatTime\""));
static RENEW_TIME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"renewTime\""));

/// The fingerprint of an object blind to its heartbeats; `None` for an object that has none (most: a search of
/// its bytes tells, without parsing it) or that is not JSON.
pub fn blind_fingerprint(raw: &str) -> Option<u64> {
    let bytes = raw.as_bytes();
    if HEARTBEAT_TIME.find(bytes).is_none() && RENEW_TIME.find(bytes).is_none() {
        return None;
    }
    let mut object: Value = serde_json::from_str(raw).ok()?;
    forget_heartbeats(&mut object);
    let mut hasher = HashWriter(DefaultHasher::new());
    serde_json::to_writer(&mut hasher, &object).ok()?;
    Some(hasher.0.finish())
}

/// Whether a modification from a version with fingerprint `before` to one with `after` was only a heartbeat.
pub fn only_heartbeats(before: Option<u64>, after: Option<u64>) -> bool {
    matches!((before, after), (Some(before), Some(after)) if before == after)
}

/// Whether `change` is a modification that only beat.
pub fn is_heartbeat(change: &Change<Payload>) -> bool {
    change.change_type == ChangeType::Modified
        && only_heartbeats(
            change.previous.as_ref().and_then(|memo| memo.heartbeat_blind),
            change.payload.as_ref().and_then(|payload| payload.heartbeat_blind),
        )
}

/// Leaves out what a heartbeat write moves: the conditions' `lastHeartbeatTime` (nodes, and the custom
/// resources that copy them), a Lease's `renewTime` and `acquireTime` (its holder and transitions stay: a new
/// holder is a change), the object's `resourceVersion` and its managedFields (who wrote is not what changed);
/// and `kind` and `apiVersion`, which a LIST's items leave out and a watch's objects carry.
fn forget_heartbeats(object: &mut Value) {
    if let Some(object) = object.as_object_mut() {
        object.remove("kind");
        object.remove("apiVersion");
    }
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("resourceVersion");
        metadata.remove("managedFields");
    }
    if let Some(conditions) = object.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
        for condition in conditions.iter_mut().filter_map(Value::as_object_mut) {
            condition.remove("lastHeartbeatTime");
        }
    }
    // A Lease by its shape, as a LIST's items do not say their kind.
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && (spec.contains_key("holderIdentity") || spec.contains_key("leaseDurationSeconds"))
    {
        spec.remove("renewTime");
        spec.remove("acquireTime");
    }
}

/// Hashes what is written into it: the fingerprint of the JSON without building its text.
struct HashWriter(DefaultHasher);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(heartbeat: &str, ready: &str, version: &str) -> String {
        format!(
            r#"{{"kind":"Node","apiVersion":"v1","metadata":{{"name":"kwok-node-0","resourceVersion":"{version}",
            "managedFields":[{{"manager":"kwok","operation":"Update","subresource":"status","time":"{heartbeat}"}}]}},
            "status":{{"conditions":[{{"type":"Ready","status":"{ready}","lastHeartbeatTime":"{heartbeat}",
            "lastTransitionTime":"2026-12-06T10:00:00Z","reason":"KubeletReady"}},
            {{"type":"MemoryPressure","status":"False","lastHeartbeatTime":"{heartbeat}","lastTransitionTime":"2026-12-06T10:00:00Z"}}]}}}}"#
        )
    }

    fn lease(holder: &str, renewed: &str, acquired: &str, transitions: u32) -> String {
        format!(
            r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"kube-scheduler","namespace":"kube-system",
            "resourceVersion":"{renewed}"}},"spec":{{"holderIdentity":"{holder}","leaseDurationSeconds":15,
            "acquireTime":"{acquired}","renewTime":"{renewed}","leaseTransitions":{transitions}}}}}"#
        )
    }

    fn heartbeat(before: &str, after: &str) -> bool {
        only_heartbeats(blind_fingerprint(before), blind_fingerprint(after))
    }

    #[test]
    fn a_node_whose_heartbeat_alone_moved_only_beat() {
        let before = node("2026-12-06T10:00:00Z", "True", "100");
        let after = node("2026-12-06T10:00:20Z", "True", "140");
        assert!(heartbeat(&before, &after));
    }

    #[test]
    fn a_node_whose_condition_changed_with_its_heartbeat_changed() {
        let before = node("2026-12-06T10:00:00Z", "True", "100");
        let after = node("2026-12-06T10:00:20Z", "False", "140");
        assert!(!heartbeat(&before, &after));
    }

    #[test]
    fn a_lease_renewed_by_its_holder_only_beat_and_a_new_holder_is_a_change() {
        let before = lease(
            "scheduler-a",
            "2026-12-06T10:00:00.000000Z",
            "2026-12-06T09:00:00.000000Z",
            3,
        );
        let renewed = lease(
            "scheduler-a",
            "2026-12-06T10:00:02.000000Z",
            "2026-12-06T09:00:00.000000Z",
            3,
        );
        let reacquired = lease(
            "scheduler-a",
            "2026-12-06T10:00:04.000000Z",
            "2026-12-06T10:00:04.000000Z",
            3,
        );
        let taken = lease(
            "scheduler-b",
            "2026-12-06T10:00:06.000000Z",
            "2026-12-06T10:00:06.000000Z",
            4,
        );
        assert!(heartbeat(&before, &renewed));
        assert!(
            heartbeat(&renewed, &reacquired),
            "the same holder again is still a heartbeat"
        );
        assert!(!heartbeat(&reacquired, &taken));
    }

    #[test]
    fn a_listed_item_without_kind_only_beat_when_its_watched_version_has_one() {
        // A LIST's items carry no kind or apiVersion; a watch's objects do.
        let listed = lease(
            "scheduler-a",
            "2026-12-06T10:00:00.000000Z",
            "2026-12-06T09:00:00.000000Z",
            3,
        )
        .replace(r#""kind":"Lease","apiVersion":"coordination.k8s.io/v1","#, "");
        assert!(!listed.contains("\"kind\""));
        let watched = lease(
            "scheduler-a",
            "2026-12-06T10:00:02.000000Z",
            "2026-12-06T09:00:00.000000Z",
            3,
        );
        assert!(heartbeat(&listed, &watched));
        let node_listed =
            node("2026-12-06T10:00:00Z", "True", "100").replace(r#""kind":"Node","apiVersion":"v1","#, "");
        assert!(heartbeat(&node_listed, &node("2026-12-06T10:00:20Z", "True", "140")));
    }

    #[test]
    fn a_renew_time_outside_a_lease_is_part_of_the_object() {
        // Only a Lease's `spec.renewTime` is a heartbeat: a custom resource's field of that name is its own.
        let before = r#"{"kind":"Certificate","metadata":{"name":"c","resourceVersion":"1"},"spec":{"renewTime":"a"}}"#;
        let after = r#"{"kind":"Certificate","metadata":{"name":"c","resourceVersion":"2"},"spec":{"renewTime":"b"}}"#;
        assert!(!heartbeat(before, after));
    }

    #[test]
    fn objects_without_heartbeats_have_no_fingerprint_and_never_only_beat() {
        let pod = r#"{"kind":"Pod","metadata":{"name":"web","resourceVersion":"7"},"status":{"phase":"Running"}}"#;
        assert_eq!(blind_fingerprint(pod), None);
        assert!(!heartbeat(pod, pod));
        assert!(!only_heartbeats(None, blind_fingerprint(&node("t", "True", "1"))));
        assert_eq!(blind_fingerprint("\"lastHeartbeatTime\" but not JSON {"), None);
    }
}
