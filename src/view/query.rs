//! The live view's filter: text typed after `/` keeps the rows (and the changes of the timeline) whose type,
//! namespace, name or WHAT CHANGED contain it, ignoring case. Pure.

use super::{ChangeRecord, StreamLabel};

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

    /// Whether `record`, a change of an object of the type `label`, matches.
    pub fn matches(&self, record: &ChangeRecord, label: &StreamLabel) -> bool {
        if self.is_empty() {
            return true;
        }
        let contains = |haystack: &str| haystack.to_lowercase().contains(&self.needle);
        contains(&label.name)
            || contains(&label.kind)
            || record.key.namespace.as_deref().is_some_and(contains)
            || contains(&record.key.name)
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
    use crate::view::summary::FieldChange;

    fn label(kind: &str, name: &str) -> StreamLabel {
        StreamLabel {
            kind: kind.into(),
            api_version: "v1".into(),
            name: name.into(),
            object_prefix: kind.to_lowercase(),
            secret: kind == "Secret",
        }
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
            assert!(Query::new(text).matches(&web, &pods), "{text:?}");
        }
        for text in ["db", "kube-system", "Deployment", "Failed"] {
            assert!(!Query::new(text).matches(&web, &pods), "{text:?}");
        }
    }

    #[test]
    fn a_secrets_hidden_values_are_not_searchable() {
        let secrets = label("Secret", "secrets");
        let token = record(
            "shop",
            "api",
            vec![change("data.token", "s3cr3t-old", "s3cr3t-new", true)],
        );
        assert!(Query::new("data.token").matches(&token, &secrets));
        assert!(
            !Query::new("s3cr3t").matches(&token, &secrets),
            "a filter must not reveal a value"
        );
    }
}
