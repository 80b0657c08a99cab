//! What a modification changed: the fields whose values differ between two versions of an object, leaving out
//! the bookkeeping every update touches (resourceVersion, managedFields, generation, ...). Pure and bounded:
//! any JSON, however large or deep, gives a bounded answer.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json::value::RawValue;

/// One field that changed. `None` means the field was absent on that side. A hidden field's values are
/// `WITHHELD` (it was there, its value is not kept) unless its values were asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The values are withheld (Secret data): only that the field changed may be shown.
    pub hidden: bool,
    /// A whole object or list came or went: its value is for the detailed view, not for the summary.
    pub composite: bool,
}

/// What stands for a value that is withheld: the same word as in a Secret's object as shown.
pub const WITHHELD: &str = super::details::HIDDEN_VALUE;

/// Whose values the walk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// Not a Secret: every value is kept.
    Open,
    /// A Secret: its fields under `data` and `stringData` are named, their values never kept.
    Withheld,
    /// A Secret whose values were asked for (`--record-secret-values`): kept for the recording, still marked
    /// hidden so that no view shows them.
    Kept,
}

impl Secrecy {
    /// How a stream's changes are walked: `secret` for a Secret, `keep` when its values were asked for.
    pub fn of(secret: bool, keep: bool) -> Secrecy {
        match (secret, keep) {
            (false, _) => Secrecy::Open,
            (true, false) => Secrecy::Withheld,
            (true, true) => Secrecy::Kept,
        }
    }

    fn secret(self) -> bool {
        self != Secrecy::Open
    }
}

impl FieldChange {
    /// The same change with its values withheld if it is hidden: what may leave the process.
    pub fn withheld(mut self) -> FieldChange {
        if self.hidden {
            for side in [&mut self.before, &mut self.after] {
                if side.is_some() {
                    *side = Some(WITHHELD.to_string());
                }
            }
        }
        self
    }
}

/// Fields that change on every update, or never, and say nothing about what the update did.
const BOOKKEEPING: &[&str] = &[
    // Items of a plain LIST page carry neither; they never change for one object.
    "apiVersion",
    "kind",
    "metadata.resourceVersion",
    "metadata.managedFields",
    "metadata.generation",
    "metadata.uid",
    "metadata.creationTimestamp",
    "metadata.selfLink",
    "metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]",
    "status.observedGeneration",
];

/// Timestamps that move along with the real change (a condition's status) or on their own (heartbeats).
/// They are shown only when nothing else changed.
const TIMESTAMP_KEYS: &[&str] = &[
    "lastHeartbeatTime",
    "lastProbeTime",
    "lastTransitionTime",
    "lastUpdateTime",
];

/// Deeper than this, subtrees are compared as wholes.
const MAX_DEPTH: usize = 32;
/// More changed fields than this are not listed one by one.
const MAX_CHANGES: usize = 200;

/// The changed fields between two versions, in document order. A Secret's fields under `data` and
/// `stringData` are marked hidden, their values withheld unless `secrecy` keeps them.
pub fn field_changes(before: &Value, after: &Value, secrecy: Secrecy) -> Vec<FieldChange> {
    let mut walk = Walk {
        secrecy,
        real: Vec::new(),
        timestamps: Vec::new(),
        unreadable: false,
    };
    walk.compare(&mut String::new(), Some(before), Some(after), 0, false);
    if walk.real.is_empty() {
        walk.timestamps
    } else {
        walk.real
    }
}

/// The same answer as `field_changes` on the two documents parsed, for far less work: an API server writes a
/// field that did not change byte for byte as before, so only the subtrees whose text differs are decoded (a
/// pod's status update leaves its spec, most of its metadata and its managedFields unread). `None` when a text that
/// differs is not JSON.
pub fn field_changes_in_text(before: &str, after: &str, secrecy: Secrecy) -> Option<Vec<FieldChange>> {
    // No pass to check the texts first: the walk reads them, and notices text that is not JSON.
    let mut walk = Walk {
        secrecy,
        real: Vec::new(),
        timestamps: Vec::new(),
        unreadable: false,
    };
    walk.compare_text(&mut String::new(), Some(before), Some(after), 0, false);
    if walk.unreadable {
        return None;
    }
    Some(if walk.real.is_empty() {
        walk.timestamps
    } else {
        walk.real
    })
}

struct Walk {
    secrecy: Secrecy,
    real: Vec<FieldChange>,
    timestamps: Vec<FieldChange>,
    /// A text compared was not JSON.
    unreadable: bool,
}

impl Walk {
    fn compare(
        &mut self,
        path: &mut String,
        before: Option<&Value>,
        after: Option<&Value>,
        depth: usize,
        hidden: bool,
    ) {
        if before == after || self.real.len() >= MAX_CHANGES || BOOKKEEPING.contains(&path.as_str()) {
            return;
        }
        // A map that came or went is compared with an empty one, so that its fields are listed one by one.
        let empty_map = Value::Object(serde_json::Map::new());
        let empty_list = Value::Array(Vec::new());
        let (before, after) = match (before, after) {
            (None, Some(Value::Object(_))) => (Some(&empty_map), after),
            (Some(Value::Object(_)), None) => (before, Some(&empty_map)),
            (None, Some(Value::Array(items))) if element_keys(items).is_some() => (Some(&empty_list), after),
            (Some(Value::Array(items)), None) if element_keys(items).is_some() => (before, Some(&empty_list)),
            sides => sides,
        };
        match (before, after) {
            (Some(Value::Object(old)), Some(Value::Object(new))) if depth < MAX_DEPTH => {
                let keys: Vec<&String> = old
                    .keys()
                    .chain(new.keys().filter(|key| !old.contains_key(*key)))
                    .collect();
                for key in keys {
                    let length = path.len();
                    push_key(path, key);
                    let hide =
                        hidden || (self.secrecy.secret() && depth == 0 && (key == "data" || key == "stringData"));
                    self.compare(path, old.get(key), new.get(key), depth + 1, hide);
                    path.truncate(length);
                }
            }
            (Some(Value::Array(old)), Some(Value::Array(new))) if depth < MAX_DEPTH => {
                match (keyed(old), keyed(new)) {
                    (Some(old_keys), Some(new_keys)) if !(old_keys.is_empty() && new_keys.is_empty()) => {
                        let mut keys: Vec<&str> = old_keys.clone();
                        keys.extend(new_keys.iter().filter(|key| !old_keys.contains(key)));
                        for key in keys {
                            let old_item = old_keys.iter().position(|k| *k == key).map(|i| &old[i]);
                            let new_item = new_keys.iter().position(|k| *k == key).map(|i| &new[i]);
                            let length = path.len();
                            path.push('[');
                            path.push_str(key);
                            path.push(']');
                            // An item that came or went is one change, not one per field.
                            if old_item.is_some() && new_item.is_some() {
                                self.compare(path, old_item, new_item, depth + 1, hidden);
                            } else {
                                self.record(path, old_item, new_item, hidden);
                            }
                            path.truncate(length);
                        }
                    }
                    _ => {
                        for index in 0..old.len().max(new.len()) {
                            let length = path.len();
                            path.push_str(&format!("[{index}]"));
                            self.compare(path, old.get(index), new.get(index), depth + 1, hidden);
                            path.truncate(length);
                        }
                    }
                }
            }
            _ => self.record(path, before, after, hidden),
        }
    }

    /// `compare` on text: objects are walked key by key without decoding their values, equal text is skipped
    /// unread, and anything else (lists, scalars, what cannot be read this way) is decoded and compared.
    fn compare_text(
        &mut self,
        path: &mut String,
        before: Option<&str>,
        after: Option<&str>,
        depth: usize,
        hidden: bool,
    ) {
        if self.real.len() >= MAX_CHANGES || BOOKKEEPING.contains(&path.as_str()) {
            return;
        }
        if let (Some(before), Some(after)) = (before, after)
            && before == after
        {
            return;
        }
        if depth < MAX_DEPTH {
            // A side that is absent counts as an empty object, as in `compare`.
            let sides = match (before.map(object_fields), after.map(object_fields)) {
                (Some(Some(old)), Some(Some(new))) => Some((old, new)),
                (None, Some(Some(new))) => Some((BTreeMap::new(), new)),
                (Some(Some(old)), None) => Some((old, BTreeMap::new())),
                _ => None,
            };
            if let Some((old, new)) = sides {
                let keys: Vec<&str> = old
                    .keys()
                    .chain(new.keys().filter(|key| !old.contains_key(*key)))
                    .copied()
                    .collect();
                for key in keys {
                    let length = path.len();
                    push_key(path, key);
                    let hide =
                        hidden || (self.secrecy.secret() && depth == 0 && (key == "data" || key == "stringData"));
                    let (before, after) = (old.get(key).map(|raw| raw.get()), new.get(key).map(|raw| raw.get()));
                    self.compare_text(path, before, after, depth + 1, hide);
                    path.truncate(length);
                }
                return;
            }
        }
        let mut decode = |side: Option<&str>| {
            let value = side.map(serde_json::from_str::<Value>)?;
            // Within a document that was read, every subtree reads too: only a whole text can fail here.
            self.unreadable |= value.is_err();
            value.ok()
        };
        let (before_value, after_value) = (decode(before), decode(after));
        if before_value.is_none() && after_value.is_none() {
            return;
        }
        self.compare(path, before_value.as_ref(), after_value.as_ref(), depth, hidden);
    }

    fn record(&mut self, path: &str, before: Option<&Value>, after: Option<&Value>, hidden: bool) {
        let composite = |side: Option<&Value>| matches!(side, Some(Value::Object(_) | Value::Array(_)));
        // A withheld value is never copied out of the object, not even for a moment.
        let kept = |side: Option<&Value>| match hidden && self.secrecy != Secrecy::Kept {
            true => side.map(|_| WITHHELD.to_string()),
            false => side.map(display_value),
        };
        let change = FieldChange {
            path: path.to_string(),
            before: kept(before),
            after: kept(after),
            hidden,
            composite: (before.is_none() || after.is_none()) && (composite(before) || composite(after)),
        };
        let last_key = path.rsplit(['.', '[']).next().unwrap_or_default();
        if TIMESTAMP_KEYS.contains(&last_key) {
            self.timestamps.push(change);
        } else {
            self.real.push(change);
        }
    }
}

/// The fields of a JSON object, each as its text; `None` for anything else, and for an object with a key that
/// has escapes in it (it cannot be borrowed as it is; `compare` decodes such an object instead).
fn object_fields(text: &str) -> Option<BTreeMap<&str, &RawValue>> {
    if !text.starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Map keys with dots or slashes (labels, annotations) go in brackets, so that the path stays readable.
pub(super) fn push_key(path: &mut String, key: &str) {
    if key.contains(['.', '/']) || key.is_empty() {
        path.push('[');
        path.push_str(key);
        path.push(']');
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

/// The keys of a list's items, an empty list counting as keyed, so that one can be compared with a keyed one.
fn keyed(items: &[Value]) -> Option<Vec<&str>> {
    if items.is_empty() {
        Some(Vec::new())
    } else {
        element_keys(items)
    }
}

/// Lists of named things (containers, conditions, ports) are matched by name or type rather than position,
/// so that an insertion does not read as every later element changing.
fn element_keys(items: &[Value]) -> Option<Vec<&str>> {
    ["name", "type"].into_iter().find_map(|field| {
        let keys: Vec<&str> = items
            .iter()
            .map(|item| item.get(field).and_then(Value::as_str))
            .collect::<Option<_>>()?;
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        (unique.len() == keys.len() && !keys.is_empty()).then_some(keys)
    })
}

/// Values are kept for the detailed view, but no longer than this.
const MAX_KEPT_VALUE: usize = 4096;

fn display_value(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.len() > MAX_KEPT_VALUE {
        one_line(&text, MAX_KEPT_VALUE)
    } else {
        text
    }
}

/// `status.phase Pending→Running, spec.replicas 2→3, +metadata.labels.tier=web (+2 more)`, at most
/// `max_fields` fields, each value cut to `max_value` characters, all on one line. A value that moved says the
/// most, so those come first, then fields that came or went, then whole objects and lists that did (a pod's
/// new conditions); each in document order.
pub fn summarize(changes: &[FieldChange], max_fields: usize, max_value: usize) -> String {
    let mut ordered: Vec<&FieldChange> = changes.iter().collect();
    ordered.sort_by_key(|change| match (&change.before, &change.after, change.composite) {
        (_, _, true) => 2,
        (Some(_), Some(_), false) => 0,
        _ => 1,
    });
    let shown: Vec<String> = ordered
        .into_iter()
        .take(max_fields)
        .map(|change| describe(change, max_value))
        .collect();
    let mut summary = shown.join(", ");
    if changes.len() > max_fields {
        summary.push_str(&format!(" (+{} more)", changes.len() - max_fields));
    }
    summary
}

/// One change in full, for the detailed view: `path: before → after`.
pub fn describe_in_full(change: &FieldChange) -> String {
    describe(change, usize::MAX)
}

fn describe(change: &FieldChange, max_value: usize) -> String {
    let value = |text: &str| one_line(text, max_value);
    // Keys come from the object too, and may hold anything: a line break in one must not break the line.
    let path = one_line(&change.path, usize::MAX);
    let brief = change.hidden || (change.composite && max_value != usize::MAX);
    match (&change.before, &change.after, brief) {
        (Some(_), Some(_), true) => format!("{path} changed"),
        (None, Some(_), true) => format!("+{path}"),
        (None, Some(after), false) => format!("+{path}={}", value(after)),
        (Some(_), None, _) => format!("-{path}"),
        (Some(before), Some(after), false) => format!("{path} {}→{}", value(before), value(after)),
        (None, None, _) => path,
    }
}

/// Control characters become spaces, and text longer than `max` characters is cut with "…".
pub fn one_line(text: &str, max: usize) -> String {
    let mut line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if line.chars().count() > max {
        line = line.chars().take(max.saturating_sub(1)).collect();
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary(before: Value, after: Value) -> String {
        summarize(&field_changes(&before, &after, Secrecy::Open), 5, 30)
    }

    #[test]
    fn scalar_changes_read_as_path_old_new() {
        let before = json!({"metadata": {"name": "web", "resourceVersion": "1"}, "spec": {"replicas": 2}, "status": {"phase": "Pending"}});
        let after = json!({"metadata": {"name": "web", "resourceVersion": "2"}, "spec": {"replicas": 3}, "status": {"phase": "Running"}});
        assert_eq!(
            summary(before, after),
            "spec.replicas 2→3, status.phase Pending→Running"
        );
    }

    #[test]
    fn a_listed_item_without_kind_compares_equal_to_its_watched_self() {
        let listed = json!({"metadata": {"name": "a"}, "data": {"k": "v"}});
        let watched = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "w"}});
        assert_eq!(summary(listed, watched), "data.k v→w");
    }

    #[test]
    fn values_that_moved_come_before_what_came_or_went() {
        let before = json!({"status": {"phase": "Pending"}});
        let after = json!({"status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "hostIP": "10.0.0.1",
            "phase": "Running"
        }});
        assert_eq!(
            summary(before, after),
            "status.phase Pending→Running, +status.hostIP=10.0.0.1, +status.conditions[Ready]"
        );
    }

    #[test]
    fn bookkeeping_is_left_out() {
        let before = json!({"metadata": {"resourceVersion": "1", "generation": 1, "managedFields": [{"manager": "a"}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "status": {"observedGeneration": 1}});
        let after = json!({"metadata": {"resourceVersion": "2", "generation": 2, "managedFields": [{"manager": "b"}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"x\":1}"}}, "status": {"observedGeneration": 2}});
        assert_eq!(summary(before, after), "");
    }

    #[test]
    fn named_list_items_are_matched_by_name_and_labels_keep_their_dots() {
        let before = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "fluent:1"}]},
            "metadata": {"labels": {"app.kubernetes.io/name": "shop"}}});
        let after = json!({"spec": {"containers": [{"name": "sidecar", "image": "envoy"}, {"name": "web", "image": "nginx:2"}, {"name": "log", "image": "fluent:1"}]},
            "metadata": {"labels": {"app.kubernetes.io/name": "store", "tier": "web"}}});
        let changes = field_changes(&before, &after, Secrecy::Open);
        assert_eq!(
            summarize(&changes, 5, 60),
            "metadata.labels[app.kubernetes.io/name] shop→store, spec.containers[web].image nginx:1→nginx:2, \
             +metadata.labels.tier=web, +spec.containers[sidecar]"
        );
        let sidecar = changes
            .iter()
            .find(|change| change.path == "spec.containers[sidecar]")
            .expect("listed");
        assert_eq!(
            describe_in_full(sidecar),
            "+spec.containers[sidecar]={\"image\":\"envoy\",\"name\":\"sidecar\"}"
        );
    }

    #[test]
    fn maps_and_named_lists_that_appear_are_listed_by_their_parts() {
        let before = json!({"metadata": {"name": "web"}, "status": {}});
        let after = json!({"metadata": {"name": "web", "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "status": {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True"}]}});
        assert_eq!(
            summary(before, after),
            "+metadata.annotations[deployment.kubernetes.io/revision]=1, +status.conditions[Available], \
             +status.conditions[Progressing]"
        );
    }

    #[test]
    fn timestamps_count_only_when_nothing_else_changed() {
        let condition = |status: &str, time: &str| json!({"status": {"conditions": [{"type": "Ready", "status": status, "lastTransitionTime": time}]}});
        assert_eq!(
            summary(condition("False", "t1"), condition("True", "t2")),
            "status.conditions[Ready].status False→True"
        );
        assert_eq!(
            summary(condition("True", "t1"), condition("True", "t2")),
            "status.conditions[Ready].lastTransitionTime t1→t2"
        );
    }

    #[test]
    fn secret_values_are_never_shown() {
        let before = json!({"data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}, "type": "Opaque"});
        let after = json!({"data": {"password": "c2VjcmV0", "token": "dG9rZW4="}, "type": "Opaque"});
        let changes = field_changes(&before, &after, Secrecy::Withheld);
        let text = summarize(&changes, 5, 30) + &changes.iter().map(describe_in_full).collect::<String>();
        assert_eq!(
            summarize(&changes, 5, 30),
            "data.password changed, -data.user, +data.token"
        );
        let serialized = serde_json::to_string(&changes).expect("serializable");
        for secret in ["aHVudGVyMg==", "c2VjcmV0", "YWRtaW4=", "dG9rZW4="] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
            assert!(!serialized.contains(secret), "{secret} leaked: {serialized}");
        }
        // That a field came, went or changed is still known.
        let sides: Vec<(bool, bool)> = changes
            .iter()
            .map(|c| (c.before.is_some(), c.after.is_some()))
            .collect();
        assert_eq!(sides, [(true, true), (true, false), (false, true)]);
        // A Secret's whole `data` that came from nothing (or was null) is withheld as one value too.
        let from_null = field_changes(&json!({"data": null}), &after, Secrecy::Withheld);
        let serialized = serde_json::to_string(&from_null).expect("serializable");
        assert!(!serialized.contains("c2VjcmV0"), "{serialized}");
    }

    #[test]
    fn long_and_multi_line_values_stay_on_one_short_line() {
        let before = json!({"data": {"script": "#!/bin/sh\necho one\necho two\necho three and more"}});
        let after = json!({"data": {"script": "short"}});
        assert_eq!(
            summary(before, after),
            "data.script #!/bin/sh echo one echo two e…→short"
        );
        let many: Vec<FieldChange> = (0..8)
            .map(|i| FieldChange {
                path: format!("f{i}"),
                before: Some("a".into()),
                after: Some("b".into()),
                hidden: false,
                composite: false,
            })
            .collect();
        assert_eq!(summarize(&many, 2, 10), "f0 a→b, f1 a→b (+6 more)");
    }

    #[test]
    fn deep_and_wide_documents_give_bounded_answers() {
        // Deeper than the server's JSON decoder would ever hand over is not needed; deeper than the walk goes is.
        let mut deep = json!(1);
        for _ in 0..120 {
            deep = json!({ "a": deep });
        }
        let changes = field_changes(&deep, &json!({"a": 2}), Secrecy::Open);
        assert_eq!(changes.len(), 1);
        let wide_before: serde_json::Map<String, Value> = (0..5000).map(|i| (format!("k{i}"), json!(i))).collect();
        let wide_after: serde_json::Map<String, Value> = (0..5000).map(|i| (format!("k{i}"), json!(i + 1))).collect();
        let changes = field_changes(&Value::Object(wide_before), &Value::Object(wide_after), Secrecy::Open);
        assert_eq!(changes.len(), MAX_CHANGES);
    }

    /// Hostile input: whatever two objects the server sends, the summary is computed without panicking, stays
    /// on one line, and never shows a Secret's values.
    mod hostile {
        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::*;

        fn secrecy() -> impl Strategy<Value = Secrecy> {
            prop_oneof![Just(Secrecy::Open), Just(Secrecy::Withheld), Just(Secrecy::Kept)]
        }

        fn json_value() -> impl Strategy<Value = Value> {
            crate::arbitrary::json_value(
                &["metadata", "data", "status", "name", "conditions", "type"],
                &["Running", "Pending"],
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
            #[test]
            fn any_two_objects_summarise_on_one_line(before in json_value(), after in json_value(), secret in secrecy()) {
                let changes = field_changes(&before, &after, secret);
                let summary = summarize(&changes, 3, 40);
                prop_assert!(!summary.contains('\n') && !summary.contains('\r'), "{}", summary);
                for change in &changes {
                    prop_assert!(!describe_in_full(change).contains('\n'));
                }
            }

            /// Reading the text gives the same answer as decoding both documents, whatever they are: the same
            /// text or text that differs only in layout, documents that share most of their fields (as two
            /// versions of one object do) and documents that share nothing.
            #[test]
            fn the_text_walk_finds_what_decoding_finds(
                before in json_value(),
                patch in json_value(),
                unrelated in json_value(),
                how in 0..3u8,
                pretty in any::<bool>(),
                secret in secrecy(),
            ) {
                let after = match how {
                    0 => merge(before.clone(), patch),
                    1 => unrelated,
                    _ => before.clone(),
                };
                let before_text = if pretty {
                    serde_json::to_string_pretty(&before).unwrap()
                } else {
                    serde_json::to_string(&before).unwrap()
                };
                let after_text = serde_json::to_string(&after).unwrap();
                // Compared with the documents as read back: a float may not survive the round trip exactly.
                let before: Value = serde_json::from_str(&before_text).unwrap();
                let after: Value = serde_json::from_str(&after_text).unwrap();
                prop_assert_eq!(
                    field_changes_in_text(&before_text, &after_text, secret),
                    Some(field_changes(&before, &after, secret))
                );
            }

            #[test]
            fn secret_values_never_show(key in "[a-z]{1,8}", old in "[a-z]{12,20}", new in "[a-z]{12,20}") {
                prop_assume!(old != new);
                let before = serde_json::json!({"data": {key.clone(): old.clone()}});
                let after = serde_json::json!({"data": {key: new.clone()}});
                let changes = field_changes(&before, &after, Secrecy::Withheld);
                let summary = summarize(&changes, 3, 200);
                prop_assert!(!summary.contains(&old) && !summary.contains(&new), "{}", summary);
                // Not in any form that can leave the process either: what a recording writes, or debug output.
                let serialized = serde_json::to_string(&changes).unwrap() + &format!("{changes:?}");
                prop_assert!(!serialized.contains(&old) && !serialized.contains(&new), "{}", serialized);
                for change in &changes {
                    let full = describe_in_full(change);
                    prop_assert!(!full.contains(&old) && !full.contains(&new), "{}", full);
                }
                // Kept when asked for, and still never shown.
                let kept = field_changes(&before, &after, Secrecy::Kept);
                prop_assert_eq!(kept[0].after.as_deref(), Some(new.as_str()));
                prop_assert!(!summarize(&kept, 3, 200).contains(&new));
                prop_assert_eq!(kept[0].clone().withheld(), changes[0].clone());
            }
        }

        /// A JSON merge patch (RFC 7386): what a later version of an object looks like.
        fn merge(target: Value, patch: Value) -> Value {
            match (target, patch) {
                (Value::Object(mut target), Value::Object(patch)) => {
                    for (key, value) in patch {
                        if value.is_null() {
                            target.remove(&key);
                        } else {
                            let merged = merge(target.remove(&key).unwrap_or(Value::Null), value);
                            target.insert(key, merged);
                        }
                    }
                    Value::Object(target)
                }
                (_, patch) => patch,
            }
        }

        #[test]
        fn text_that_is_not_json_gives_no_answer() {
            assert_eq!(field_changes_in_text("{", "{}", Secrecy::Open), None);
            assert_eq!(field_changes_in_text("{}", "not json", Secrecy::Open), None);
        }

        #[test]
        fn huge_objects_summarise_in_bounded_time_and_length() {
            let big = "x".repeat(20_000_000);
            let before = serde_json::json!({"data": {"blob": big}});
            let after = serde_json::json!({"data": {"blob": "small"}});
            let started = std::time::Instant::now();
            let summary = summarize(&field_changes(&before, &after, Secrecy::Open), 3, 40);
            assert!(summary.chars().count() < 200, "{summary}");
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            let wide: serde_json::Map<String, Value> =
                (0..100_000).map(|i| (format!("k{i}"), Value::from(i))).collect();
            let summary = summarize(&field_changes(&Value::Object(wide), &Value::Null, Secrecy::Open), 3, 40);
            assert!(summary.chars().count() < 200, "{summary}");
        }
    }
}
