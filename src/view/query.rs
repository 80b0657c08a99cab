//! The live view's filter: text typed after `/` keeps the rows (and the changes of the timeline) whose type,
//! context, namespace, name, owner, WHAT CHANGED, WHO or latest Event contain it, ignoring case. Pure.

use super::events::EventNote;
use super::{ChangeRecord, StreamInfo};

/// A filter as typed, ready to test changes against.
#[derive(Debug, Clone, Default)]
pub struct Query {
    needle: String,
}

impl Query {
    pub fn new(text: &str) -> Query {
        Query {
            needle: text.trim().to_lowercase(),
        }
    }

    /// An empty filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Whether `record`, a change of an object of `stream` (its type, its context) whose latest Event is `event`,
    /// matches.
    pub fn matches(&self, record: &ChangeRecord, stream: &StreamInfo, event: Option<&EventNote>) -> bool {
        if self.is_empty() {
            return true;
        }
        let contains = |haystack: &str| haystack.to_lowercase().contains(&self.needle);
        let label = &stream.label;
        contains(&label.name)
            || contains(&label.kind)
            || stream.context.as_deref().is_some_and(contains)
            || record.key.namespace.as_deref().is_some_and(contains)
            || contains(&record.key.name)
            || record
                .owner
                .as_ref()
                .is_some_and(|owner| contains(&owner.kind) || contains(&owner.name))
            || event.is_some_and(|event| contains(&event.reason) || contains(&event.message))
            || record.changed_by.iter().any(|writer| contains(&writer.display()))
            || record.field_changes.iter().any(|change| {
                contains(&change.path)
                    || (!change.hidden
                        && (change.before.as_deref().is_some_and(contains)
                            || change.after.as_deref().is_some_and(contains)))
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::Timestamp;

    use super::*;
    use crate::engine::tracker::{ChangeType, ObjectKey, Origin};
    use crate::view::StreamLabel;
    use crate::view::summary::FieldChange;

    fn label(kind: &str, name: &str) -> StreamInfo {
        StreamInfo::new(StreamLabel {
            kind: kind.into(),
            api_version: "v1".into(),
            name: name.into(),
            object_prefix: kind.to_lowercase(),
            secret: kind == "Secret",
        })
    }

    fn record(namespace: &str, name: &str, changes: Vec<FieldChange>) -> ChangeRecord {
        ChangeRecord {
            stream: 0,
            key: ObjectKey {
                namespace: Some(namespace.into()),
                name: name.into(),
            },
            event: ChangeType::Modified,
            origin: Origin::Watch,
            at: Timestamp::UNIX_EPOCH,
            cells: Vec::new(),
            created: None,
            labels: BTreeMap::new(),
            field_changes: changes,
            changed_by: Vec::new(),
            fight: None,
            since_added: None,
            uid: format!("uid-{name}"),
            owner: Some(crate::view::OwnerRef {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "web-5c47644f58".into(),
                uid: "uid-rs".into(),
                controller: Some(true),
            }),
            object: None,
            managed_fields: None,
            sequence: 0,
        }
    }

    fn change(path: &str, before: &str, after: &str, hidden: bool) -> FieldChange {
        FieldChange {
            path: path.into(),
            before: Some(before.into()),
            after: Some(after.into()),
            hidden,
            composite: false,
        }
    }

    #[test]
    fn type_namespace_name_and_what_changed_match_ignoring_case() {
        let pods = label("Pod", "pods");
        let web = record(
            "shop",
            "web-5c47644f58-t28vv",
            vec![change("status.phase", "Pending", "Running", false)],
        );
        for text in [
            "",
            "  ",
            "web",
            "WEB-5c",
            "shop",
            "pod",
            "Pods",
            "status.phase",
            "running",
            "pending",
        ] {
            assert!(Query::new(text).matches(&web, &pods, None), "{text:?}");
        }
        for text in ["db", "kube-system", "Deployment", "Failed", "BackOff", "staging"] {
            assert!(!Query::new(text).matches(&web, &pods, None), "{text:?}");
        }
        // With several contexts, the context's name too.
        let mut staging_pods = pods.clone();
        staging_pods.context = Some("staging".into());
        assert!(Query::new("Staging").matches(&web, &staging_pods, None));
    }

    #[test]
    fn the_owner_and_the_latest_event_match_too() {
        let pods = label("Pod", "pods");
        let web = record("shop", "web-5c47644f58-t28vv", Vec::new());
        let backoff = crate::view::events::ObservedEvent::from_json(
            r#"{"involvedObject":{"kind":"Pod","name":"web"},"reason":"BackOff","message":"Back-off restarting failed container app","type":"Warning"}"#,
        )
        .expect("an event");
        for text in ["replicaset", "web-5c47644f58", "backoff", "restarting failed"] {
            assert!(Query::new(text).matches(&web, &pods, Some(&backoff.note)), "{text:?}");
        }
        assert!(!Query::new("backoff").matches(&web, &pods, None));
        assert!(!Query::new("Scheduled").matches(&web, &pods, Some(&backoff.note)));
    }

    #[test]
    fn a_secrets_hidden_values_are_not_searchable() {
        let secrets = label("Secret", "secrets");
        let token = record(
            "shop",
            "api",
            vec![change("data.token", "s3cr3t-old", "s3cr3t-new", true)],
        );
        assert!(Query::new("data.token").matches(&token, &secrets, None));
        assert!(
            !Query::new("s3cr3t").matches(&token, &secrets, None),
            "a filter must not reveal a value"
        );
    }
}
