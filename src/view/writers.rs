//! Who changed an object: the writers of a change, named from the object's `metadata.managedFields` as the API
//! server names them (field managers: programs, not people), with the fields each owns. Pure.
//!
//! A writer is an entry that is new, or whose time moved, since the version before (`engine::managed`). When
//! none moved (a writer that wrote twice within one second: the server's times are to the second), the owners
//! of the fields that changed are the writers, as an Update takes ownership of what it changes. A deletion,
//! and a change no entry accounts for (a deletion's mark), names no one: nothing is guessed.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::summary::{FieldChange, push_key};
use crate::engine::managed::{self, ManagedEntry};
use crate::engine::tracker::{Change, ChangeType};
use crate::engine::wire::Payload;

/// One writer of a change: a managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WriterLine", into = "WriterLine")]
pub struct Writer {
    pub manager: String,
    /// `Update` or `Apply`.
    pub operation: String,
    /// `status`, `scale`; empty for the main resource.
    pub subresource: String,
    /// When it last wrote, as the server says (RFC 3339, to the second).
    pub time: Option<String>,
    owned: Owned,
}

/// The fields a writer owns: as the server sent them until they are asked for by name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    FieldsV1(Box<str>),
    Paths(Vec<String>),
}

/// A writer as `-o json` and recordings carry it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriterLine {
    manager: String,
    operation: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    subresource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

impl From<WriterLine> for Writer {
    fn from(line: WriterLine) -> Writer {
        Writer {
            manager: line.manager,
            operation: line.operation,
            subresource: line.subresource,
            time: line.time,
            owned: Owned::Paths(line.fields),
        }
    }
}

impl From<Writer> for WriterLine {
    fn from(writer: Writer) -> WriterLine {
        let fields = writer.fields().into_owned();
        WriterLine {
            manager: writer.manager,
            operation: writer.operation,
            subresource: writer.subresource,
            time: writer.time,
            fields,
        }
    }
}

/// A writer owns more fields than this: the rest are not named.
const OWNED_LIMIT: usize = 200;

impl Writer {
    fn of(entry: &ManagedEntry) -> Writer {
        Writer {
            manager: entry.manager.to_string(),
            operation: entry.operation.to_string(),
            subresource: entry.subresource.to_string(),
            time: entry.time.as_deref().map(str::to_string),
            owned: Owned::FieldsV1(entry.fields.map(|fields| fields.get().into()).unwrap_or_default()),
        }
    }

    /// `kubectl-edit`, `kube-controller-manager (status)`, `carol-deployer (apply)`: the manager, with its
    /// operation when it applied (an Update is the usual case) and its subresource.
    pub fn display(&self) -> String {
        let apply = self.operation == "Apply";
        match (apply, self.subresource.is_empty()) {
            (false, true) => self.manager.clone(),
            (true, true) => format!("{} (apply)", self.manager),
            (false, false) => format!("{} ({})", self.manager, self.subresource),
            (true, false) => format!("{} (apply, {})", self.manager, self.subresource),
        }
    }

    /// The fields it owns after the change, named as WHAT CHANGED names them (`spec.replicas`,
    /// `metadata.labels.app`, `status.conditions[Ready].status`).
    pub fn fields(&self) -> Cow<'_, [String]> {
        match &self.owned {
            Owned::Paths(paths) => Cow::Borrowed(paths),
            Owned::FieldsV1(text) => Cow::Owned(owned_paths(text)),
        }
    }

    /// Lets go of the fields it owns, where they are kept elsewhere (the live view's row keeps the object's
    /// managedFields): a change's writers are then its names only.
    pub fn forget_fields(&mut self) {
        self.owned = Owned::Paths(Vec::new());
    }

    /// Whether it owns the field at `path`, or a field inside it (a list item or map that came or went).
    pub fn owns(&self, path: &str) -> bool {
        let changed = segments(path);
        self.fields().iter().any(|owned| {
            let owned = segments(owned);
            let common = owned.len().min(changed.len());
            owned[..common]
                .iter()
                .zip(&changed[..common])
                .all(|(a, b)| same_segment(a, b))
        })
    }
}

/// The writers of `change`, whose fields `field_changes` are (empty where what changed is not worked out).
pub fn writers_of(change: &Change<Payload>, field_changes: &[FieldChange]) -> Vec<Writer> {
    let Some(text) = change
        .payload
        .as_ref()
        .and_then(|payload| payload.managed_fields.as_deref())
    else {
        return Vec::new();
    };
    let entries = managed::entries(text);
    let before = change.previous.as_ref().and_then(|memo| memo.writers.as_deref());
    let chosen = match (change.change_type, before) {
        (ChangeType::Deleted, _) => Vec::new(),
        (ChangeType::Added, _) => managed::creators(&entries),
        // The version before had no managedFields: the latest writers wrote this one.
        (ChangeType::Modified, Some([])) => latest(&entries),
        (ChangeType::Modified, Some(before)) => managed::moved(before, &entries),
        (ChangeType::Modified, None) => Vec::new(),
    };
    let writers: Vec<Writer> = chosen.into_iter().map(|index| Writer::of(&entries[index])).collect();
    // Fields that no entry ever holds (a deletion's marks) have no owner to find.
    let owned_ones: Vec<&str> = field_changes
        .iter()
        .map(|field| field.path.as_str())
        .filter(|path| !NEVER_MANAGED.contains(path))
        .collect();
    if !writers.is_empty() || change.change_type != ChangeType::Modified || owned_ones.is_empty() {
        return writers;
    }
    // No entry moved: the owners of what changed wrote it.
    entries
        .iter()
        .map(|entry| Writer {
            owned: Owned::Paths(entry.fields.map(|fields| owned_paths(fields.get())).unwrap_or_default()),
            ..Writer::of(entry)
        })
        .filter(|writer| owned_ones.iter().any(|path| writer.owns(path)))
        .collect()
}

/// The fields the API server sets itself, which no managedFields entry holds.
const NEVER_MANAGED: &[&str] = &[
    "metadata.deletionTimestamp",
    "metadata.deletionGracePeriodSeconds",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.uid",
    "metadata.creationTimestamp",
    "metadata.managedFields",
];

fn latest(entries: &[ManagedEntry]) -> Vec<usize> {
    let last = entries.iter().filter_map(|entry| entry.time.as_deref()).max();
    (0..entries.len())
        .filter(|index| last.is_some() && entries[*index].time.as_deref() == last)
        .collect()
}

/// The writer of one changed field among a change's writers: the only one, or the one that owns it.
pub fn writer_of_field<'w>(writers: &'w [Writer], path: &str) -> Option<&'w Writer> {
    writer_index_of_field(writers, path).map(|index| &writers[index])
}

/// `writer_of_field`, as its place among `writers`.
pub fn writer_index_of_field(writers: &[Writer], path: &str) -> Option<usize> {
    match writers {
        [_] => Some(0),
        several => several.iter().position(|writer| writer.owns(path)),
    }
}

/// WHO: the writers of a change, by name, as one cell.
pub fn who(writers: &[Writer]) -> String {
    writers.iter().map(Writer::display).collect::<Vec<_>>().join(", ")
}

/// Every entry of a managedFields array's text, for the details: each writer, what it owns and when it last
/// wrote.
pub fn all_writers(managed_fields: &str) -> Vec<Writer> {
    managed::entries(managed_fields).iter().map(Writer::of).collect()
}

/// The leaves of a `fieldsV1` set as paths. A map or list item owned as a whole (`{".":{}}` alone, or `{}`)
/// is a leaf; `"."` beside named fields only says the map exists, which every writer of a field in it
/// implies, so it names nothing.
fn owned_paths(fields_v1: &str) -> Vec<String> {
    let Ok(set) = serde_json::from_str::<Value>(fields_v1) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    walk(&set, &mut String::new(), &mut paths, 0);
    paths
}

fn walk(node: &Value, path: &mut String, paths: &mut Vec<String>, depth: usize) {
    let Value::Object(map) = node else { return };
    if paths.len() >= OWNED_LIMIT || depth > 32 {
        return;
    }
    if !path.is_empty() && map.keys().all(|key| key == ".") {
        paths.push(path.clone());
        return;
    }
    for (key, child) in map {
        let length = path.len();
        if let Some(name) = key.strip_prefix("f:") {
            push_key(path, name);
        } else if let Some(item) = key.strip_prefix("k:") {
            path.push('[');
            path.push_str(&item_key(item));
            path.push(']');
        } else if let Some(value) = key.strip_prefix("v:") {
            path.push('[');
            path.push_str(&match serde_json::from_str::<Value>(value) {
                Ok(Value::String(text)) => text,
                _ => value.to_string(),
            });
            path.push(']');
        } else if let Some(index) = key.strip_prefix("i:") {
            path.push('[');
            path.push_str(index);
            path.push(']');
        } else {
            continue;
        }
        walk(child, path, paths, depth + 1);
        path.truncate(length);
    }
}

/// A list item's key as WHAT CHANGED names it: its `name` or `type` (containers, conditions), else its key's
/// fields (`containerPort=80,protocol=TCP`).
fn item_key(key: &str) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(key) else {
        return key.to_string();
    };
    for field in ["name", "type"] {
        if let Some(Value::String(text)) = fields.get(field) {
            return text.clone();
        }
    }
    fields
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) => format!("{name}={text}"),
            other => format!("{name}={other}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A path's steps: `spec`, `[web]`, `image`. Brackets hold keys with dots (`[app.kubernetes.io/name]`).
fn segments(path: &str) -> Vec<&str> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').map_or(rest.len(), |at| at + 2);
            steps.push(&rest[..end]);
            rest = &rest[end..];
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            steps.push(&rest_trimmed[..end]);
            rest = &rest_trimmed[end..];
        }
    }
    steps
}

/// Two steps name the same field; a list position (`[0]`, where a list's items have no name) matches any item.
fn same_segment(a: &str, b: &str) -> bool {
    let index = |step: &str| {
        step.strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .is_some_and(|inner| !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit()))
    };
    a == b || (a.starts_with('[') && b.starts_with('[') && (index(a) || index(b)))
}

#[cfg(test)]
mod tests;
