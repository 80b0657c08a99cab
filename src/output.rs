//! Printing changes: aligned lines for people and logs, or WatchEvent JSON for scripts; and the short notices
//! on stderr. Formatting is pure: it writes into a buffer that the caller sends on.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::json;

use crate::cluster::discovery::ResourceInfo;
use crate::engine::tracker::Change;
use crate::engine::wire::Payload;
use crate::settings::OutputMode;

/// What the output says about one watched resource type.
#[derive(Debug, Clone)]
pub struct StreamLabel {
    pub kind: String,
    pub api_version: String,
    /// The name kubectl prints for the type: `pods`, `deployments.apps`.
    pub name: String,
}

impl From<&ResourceInfo> for StreamLabel {
    fn from(resource: &ResourceInfo) -> Self {
        StreamLabel {
            kind: resource.kind.clone(),
            api_version: resource.api_version(),
            name: resource.qualified_name(),
        }
    }
}

pub struct Printer {
    mode: OutputMode,
    show_namespace: bool,
    kind_width: usize,
    namespace_width: usize,
    header_printed: bool,
}

impl Printer {
    pub fn new(mode: OutputMode, labels: &[StreamLabel], show_namespace: bool) -> Self {
        Printer {
            mode,
            show_namespace,
            kind_width: labels
                .iter()
                .map(|label| label.kind.len())
                .max()
                .unwrap_or(0)
                .max("KIND".len()),
            namespace_width: "NAMESPACE".len(),
            header_printed: false,
        }
    }

    /// Appends the output for one change to `out`.
    pub fn change(&mut self, out: &mut String, label: &StreamLabel, change: &Change<Payload>, at: Timestamp) {
        match self.mode {
            OutputMode::Json => json_line(out, label, change),
            OutputMode::Lines => self.line(out, label, change, at),
        }
    }

    fn line(&mut self, out: &mut String, label: &StreamLabel, change: &Change<Payload>, at: Timestamp) {
        let namespace = change.key.namespace.as_deref().unwrap_or("");
        // Later lines widen for a longer namespace; earlier ones stay as printed.
        self.namespace_width = self.namespace_width.max(namespace.len());
        if !self.header_printed {
            self.header_printed = true;
            self.columns(out, "EVENT", "TIME", "KIND", "NAMESPACE", "NAME");
        }
        let time = format!("{at:.3}");
        self.columns(
            out,
            change.change_type.as_str(),
            &time,
            &label.kind,
            namespace,
            &change.key.name,
        );
    }

    fn columns(&self, out: &mut String, event: &str, time: &str, kind: &str, namespace: &str, name: &str) {
        let _ = write!(
            out,
            "{event:<8}   {time:<24}   {kind:<width$}   ",
            width = self.kind_width
        );
        if self.show_namespace {
            let _ = write!(out, "{namespace:<width$}   ", width = self.namespace_width);
        }
        out.push_str(name);
        out.push('\n');
    }
}

/// `{"type":"ADDED","object":{...}}`, the object exactly as the server sent it. An object that vanished while
/// the watch was down is known only by its identity, so that is what its DELETED event carries.
fn json_line(out: &mut String, label: &StreamLabel, change: &Change<Payload>) {
    let event_type = change.change_type.as_str();
    match &change.payload {
        Some(payload) => {
            let _ = write!(out, r#"{{"type":"{event_type}","object":{}}}"#, payload.raw.get());
        }
        None => {
            let mut metadata =
                json!({ "name": change.key.name, "uid": change.uid, "resourceVersion": change.resource_version });
            if let Some(namespace) = &change.key.namespace {
                metadata["namespace"] = json!(namespace);
            }
            let object = json!({ "apiVersion": label.api_version, "kind": label.kind, "metadata": metadata });
            let _ = write!(out, r#"{{"type":"{event_type}","object":{object}}}"#);
        }
    }
    out.push('\n');
}

/// `Synced 1234 pods, 56 services in 0.41s; watching for changes`
pub fn synced_line(labels: &[StreamLabel], existing: &[usize], elapsed: std::time::Duration) -> String {
    let counts: Vec<String> = labels
        .iter()
        .zip(existing)
        .map(|(label, count)| format!("{count} {}", label.name))
        .collect();
    format!(
        "Synced {} in {:.2}s; watching for changes",
        counts.join(", "),
        elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;
    use crate::engine::tracker::{ChangeType, ObjectKey, Origin};

    fn label() -> StreamLabel {
        StreamLabel {
            kind: "Pod".into(),
            api_version: "v1".into(),
            name: "pods".into(),
        }
    }

    fn change(change_type: ChangeType, payload: Option<&str>) -> Change<Payload> {
        Change {
            change_type,
            key: ObjectKey {
                namespace: Some("team-a".into()),
                name: "web-1".into(),
            },
            uid: "u1".into(),
            resource_version: "42".into(),
            origin: Origin::Watch,
            payload: payload.map(|raw| Payload {
                raw: RawValue::from_string(raw.into()).expect("json"),
                cells: None,
            }),
        }
    }

    fn at() -> Timestamp {
        "2026-11-22T12:05:20.123Z".parse().expect("timestamp")
    }

    #[test]
    fn lines_are_aligned_with_one_header() {
        let mut printer = Printer::new(OutputMode::Lines, &[label()], true);
        let mut out = String::new();
        printer.change(&mut out, &label(), &change(ChangeType::Added, Some("{}")), at());
        printer.change(&mut out, &label(), &change(ChangeType::Deleted, None), at());
        assert_eq!(
            out,
            "EVENT      TIME                       KIND   NAMESPACE   NAME\n\
             ADDED      2026-11-22T12:05:20.123Z   Pod    team-a      web-1\n\
             DELETED    2026-11-22T12:05:20.123Z   Pod    team-a      web-1\n"
        );
    }

    #[test]
    fn json_lines_carry_the_object_as_sent() {
        let mut printer = Printer::new(OutputMode::Json, &[label()], false);
        let mut out = String::new();
        printer.change(
            &mut out,
            &label(),
            &change(ChangeType::Modified, Some(r#"{"kind":"Pod","x":[1, 2]}"#)),
            at(),
        );
        assert_eq!(
            out,
            "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"x\":[1, 2]}}\n"
        );

        out.clear();
        printer.change(&mut out, &label(), &change(ChangeType::Deleted, None), at());
        let event: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(
            event,
            json!({"type": "DELETED", "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "team-a", "uid": "u1", "resourceVersion": "42"}}})
        );
    }

    #[test]
    fn the_synced_line_counts_each_type() {
        let labels = [
            label(),
            StreamLabel {
                kind: "Service".into(),
                api_version: "v1".into(),
                name: "services".into(),
            },
        ];
        assert_eq!(
            synced_line(&labels, &[1234, 56], std::time::Duration::from_millis(410)),
            "Synced 1234 pods, 56 services in 0.41s; watching for changes"
        );
    }
}
