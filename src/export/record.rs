//! A change reported, as what an OpenTelemetry log record says of it: the WatchEvent for body (a Secret's
//! values left out, as everywhere), and attributes to find it by. The names follow the semantic conventions
//! where they have one (`k8s.cluster.name`, `k8s.namespace.name`); the rest are named for what they hold.

use std::time::SystemTime;

use jiff::Timestamp;
use opentelemetry::logs::{AnyValue, LogRecord, Severity};
use opentelemetry::{Key, StringValue};
use opentelemetry_sdk::logs::SdkLogRecord;
use serde_json::Value;

use crate::engine::tracker::Origin;
use crate::render::lines::watch_event_json;
use crate::view::StreamLabel;
use crate::view::details::{hide_last_applied, hide_secret_values};
use crate::view::feed::FedChange;
use crate::view::summary::describe_in_full;

/// The record's event name: what the records of kubectl-watchnew are told apart by in a shared pipeline.
pub const EVENT_NAME: &str = "watchnew.change";

/// Where a stream's changes come from: its kind, and the context and cluster it watches.
#[derive(Debug, Clone)]
pub(super) struct ExportedStream {
    pub label: StreamLabel,
    pub context: Option<String>,
    pub cluster: Option<String>,
}

/// One change on its way to the collector.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// When the watch saw it.
    seen: SystemTime,
    body: String,
    attributes: Vec<(Key, AnyValue)>,
}

impl Outgoing {
    pub(super) fn of(stream: &ExportedStream, fed: &FedChange, at: Timestamp) -> Outgoing {
        let change = &fed.change;
        let mut body = watch_event_json(change, &stream.label, None, &[]);
        if stream.label.secret
            && let Ok(mut event) = serde_json::from_str::<Value>(&body)
        {
            if let Some(object) = event.get_mut("object") {
                hide_secret_values(object);
                hide_last_applied(object);
            }
            body = event.to_string();
        }
        let text = |value: &str| AnyValue::String(StringValue::from(value.to_string()));
        let mut attributes = Vec::with_capacity(14);
        let mut add = |key: &'static str, value: AnyValue| attributes.push((Key::from_static_str(key), value));
        if let Some(cluster) = &stream.cluster {
            add("k8s.cluster.name", text(cluster));
        }
        if let Some(context) = &stream.context {
            add("kubeconfig.context", text(context));
        }
        if let Some(namespace) = &change.key.namespace {
            add("k8s.namespace.name", text(namespace));
        }
        add("k8s.object.kind", text(&stream.label.kind));
        add("k8s.object.api_version", text(&stream.label.api_version));
        add("k8s.resource.name", text(&stream.label.name));
        add("k8s.object.name", text(&change.key.name));
        add("k8s.object.uid", text(&change.uid));
        add("k8s.object.resource_version", text(&change.resource_version));
        add("watch.event.type", text(change.change_type.as_str()));
        // A relist after a gap found it, rather than a watch event as it happened: its time is when it was found.
        add(
            "watchnew.origin",
            text(match change.origin {
                Origin::Watch => "watch",
                Origin::Relist => "relist",
            }),
        );
        if !fed.field_changes.is_empty() {
            let changed = fed
                .field_changes
                .iter()
                .map(|field| text(&describe_in_full(&field.clone().withheld())))
                .collect();
            add("watchnew.changed", AnyValue::ListAny(Box::new(changed)));
        }
        if !fed.changed_by.is_empty() {
            let writers = fed.changed_by.iter().map(|writer| text(&writer.display())).collect();
            add("watchnew.changed_by", AnyValue::ListAny(Box::new(writers)));
        }
        Outgoing {
            seen: SystemTime::from(at),
            body,
            attributes,
        }
    }

    /// Fills a record made by the SDK's logger (the only way to make one).
    pub(super) fn fill(&self, record: &mut SdkLogRecord) {
        record.set_event_name(EVENT_NAME);
        record.set_timestamp(self.seen);
        record.set_observed_timestamp(SystemTime::now());
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.set_body(AnyValue::String(StringValue::from(self.body.clone())));
        record.add_attributes(self.attributes.iter().cloned());
    }

    /// The body: the WatchEvent, `{"type":…,"object":…}`.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The attribute's text values: one for a text, each item's for a list.
    pub fn attribute(&self, key: &str) -> Option<Vec<String>> {
        let (_, value) = self.attributes.iter().find(|(name, _)| name.as_str() == key)?;
        let texts = |value: &AnyValue| match value {
            AnyValue::String(text) => vec![text.to_string()],
            _ => Vec::new(),
        };
        Some(match value {
            AnyValue::ListAny(items) => items.iter().flat_map(texts).collect(),
            other => texts(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tracker::{Change, ChangeType, ObjectKey};
    use crate::engine::wire::Payload;
    use crate::view::summary::{Secrecy, field_changes};

    fn stream(kind: &str, secret: bool, context: Option<&str>) -> ExportedStream {
        ExportedStream {
            label: StreamLabel {
                kind: kind.into(),
                api_version: "v1".into(),
                name: format!("{}s", kind.to_lowercase()),
                object_prefix: kind.to_lowercase(),
                secret,
            },
            context: context.map(str::to_string),
            cluster: context.map(|context| format!("{context}-cluster")),
        }
    }

    fn fed(
        change_type: ChangeType,
        origin: Origin,
        before: Option<&str>,
        after: Option<&str>,
        secrecy: Secrecy,
    ) -> FedChange {
        let field_changes = match (before, after) {
            (Some(before), Some(after)) => field_changes(
                &serde_json::from_str(before).expect("JSON"),
                &serde_json::from_str(after).expect("JSON"),
                secrecy,
            ),
            _ => Vec::new(),
        };
        FedChange {
            stream: 0,
            change: Change {
                change_type,
                key: ObjectKey {
                    namespace: Some("team-a".into()),
                    name: "db".into(),
                },
                uid: "u-1".into(),
                resource_version: "42".into(),
                origin,
                payload: after.map(|raw| Payload::new(raw.into(), None, false)),
                previous: None,
            },
            field_changes,
            changed_by: Vec::new(),
        }
    }

    fn texts(outgoing: &Outgoing, key: &str) -> Vec<String> {
        outgoing.attribute(key).unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn a_change_is_a_watch_event_with_its_identity_beside() {
        let before = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"db"},"data":{"k":"a"}}"#;
        let after = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"db"},"data":{"k":"b"}}"#;
        let change = fed(
            ChangeType::Modified,
            Origin::Watch,
            Some(before),
            Some(after),
            Secrecy::Open,
        );
        let outgoing = Outgoing::of(
            &stream("ConfigMap", false, Some("prod-eu")),
            &change,
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(outgoing.body(), format!(r#"{{"type":"MODIFIED","object":{after}}}"#));
        for (key, value) in [
            ("k8s.cluster.name", "prod-eu-cluster"),
            ("kubeconfig.context", "prod-eu"),
            ("k8s.namespace.name", "team-a"),
            ("k8s.object.kind", "ConfigMap"),
            ("k8s.object.api_version", "v1"),
            ("k8s.resource.name", "configmaps"),
            ("k8s.object.name", "db"),
            ("k8s.object.uid", "u-1"),
            ("k8s.object.resource_version", "42"),
            ("watch.event.type", "MODIFIED"),
            ("watchnew.origin", "watch"),
            ("watchnew.changed", "data.k a→b"),
        ] {
            assert_eq!(texts(&outgoing, key), [value], "{key}");
        }
        assert_eq!(
            outgoing.attribute("watchnew.changed_by"),
            None,
            "no writers known, none said"
        );
    }

    #[test]
    fn what_a_relist_found_is_marked_so_and_a_vanished_object_keeps_its_identity() {
        let change = fed(ChangeType::Deleted, Origin::Relist, None, None, Secrecy::Open);
        let outgoing = Outgoing::of(&stream("ConfigMap", false, None), &change, Timestamp::UNIX_EPOCH);
        assert_eq!(texts(&outgoing, "watchnew.origin"), ["relist"]);
        assert_eq!(outgoing.attribute("k8s.cluster.name"), None);
        let event: Value = serde_json::from_str(outgoing.body()).expect("JSON");
        assert_eq!(event["type"], "DELETED");
        assert_eq!(event["object"]["metadata"]["name"], "db");
        assert_eq!(event["object"]["metadata"]["uid"], "u-1");
    }

    #[test]
    fn a_secrets_values_are_never_exported_even_when_kept_for_a_recording() {
        let value = "aHVudGVyMg==";
        let before = r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"db"},"data":{"password":"b2xk"}}"#;
        let after = format!(
            r#"{{"kind":"Secret","apiVersion":"v1","metadata":{{"name":"db","annotations":{{"kubectl.kubernetes.io/last-applied-configuration":"{{\"stringData\":{{\"token\":\"hunter2\"}}}}"}}}},"data":{{"password":"{value}"}}}}"#
        );
        // `--record-secret-values` keeps the values in the source's changes: the export still leaves them out.
        let change = fed(
            ChangeType::Modified,
            Origin::Watch,
            Some(before),
            Some(&after),
            Secrecy::Kept,
        );
        let outgoing = Outgoing::of(&stream("Secret", true, None), &change, Timestamp::UNIX_EPOCH);
        let all = format!("{}{:?}", outgoing.body(), outgoing.attributes);
        for form in [value, "hunter2", "b2xk"] {
            assert!(!all.contains(form), "{form} exported: {all}");
        }
        assert!(
            outgoing.body().contains(r#""password":"<hidden>""#),
            "{}",
            outgoing.body()
        );
        assert_eq!(texts(&outgoing, "watchnew.changed"), ["data.password changed"]);
    }
}
