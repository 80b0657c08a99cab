//! `metadata.managedFields` as the server writes it: which programs (field managers) wrote an object, with
//! which operation and subresource, when, and the fields each owns. The API server moves an entry's `time`
//! whenever its manager's request changes the object (it takes fields), and only then; so the writers of a
//! change are the entries that are new, or whose time moved, since the version before it.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use serde::Deserialize;
use serde_json::value::RawValue;

/// One entry of `metadata.managedFields`, its field set left as text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedEntry<'a> {
    // Borrowed from the text where it has no escapes: every change reads every entry.
    #[serde(borrow, default)]
    pub manager: Cow<'a, str>,
    /// `Update` or `Apply`.
    #[serde(borrow, default)]
    pub operation: Cow<'a, str>,
    /// `status`, `scale`; empty for the main resource.
    #[serde(borrow, default)]
    pub subresource: Cow<'a, str>,
    /// For an Update, the version is part of who the writer is: the server keeps one entry per version.
    #[serde(borrow, default)]
    pub api_version: Cow<'a, str>,
    /// RFC 3339, to the second.
    #[serde(borrow, default)]
    pub time: Option<Cow<'a, str>>,
    #[serde(rename = "fieldsV1", borrow, default)]
    pub fields: Option<&'a RawValue>,
}

impl ManagedEntry<'_> {
    /// What the server keys an entry by: its manager, operation and subresource (and, for an Update, version).
    fn identity(&self) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        (&self.manager, &self.operation, &self.subresource).hash(&mut hasher);
        if self.operation != "Apply" {
            self.api_version.hash(&mut hasher);
        }
        hasher.finish()
    }

    fn time_mark(&self) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        self.time.hash(&mut hasher);
        hasher.finish()
    }
}

/// The entries of a `managedFields` array's text; none when it is not one.
pub fn entries(managed_fields: &str) -> Vec<ManagedEntry<'_>> {
    serde_json::from_str::<Vec<ManagedEntry>>(managed_fields).unwrap_or_default()
}

/// What is kept of one entry between two versions of an object: who it is and when it last wrote, hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    identity: u64,
    time: u64,
}

/// What is kept of an object's managedFields to name the writers of its next change: 16 bytes an entry.
pub type Stamps = Box<[Stamp]>;

pub fn stamps(entries: &[ManagedEntry]) -> Stamps {
    entries
        .iter()
        .map(|entry| Stamp {
            identity: entry.identity(),
            time: entry.time_mark(),
        })
        .collect()
}

/// The entries (by index) that wrote the change from the version whose stamps are `before` to the one of
/// `after`: those that are new, or whose time moved. An entry that only lost fields (another writer took
/// them) keeps its time, and did not write. Empty when no entry moved (a writer that wrote twice within the
/// same second, or a change the field managers do not record, such as a deletion's mark).
pub fn moved(before: &[Stamp], after: &[ManagedEntry]) -> Vec<usize> {
    stamps(after)
        .iter()
        .enumerate()
        .filter(|(_, stamp)| !before.contains(stamp))
        .map(|(index, _)| index)
        .collect()
}

/// The entries that made a new object: those of the earliest time among them (one request makes an object,
/// so its entries share a time; an object found by a relist may have been written since).
pub fn creators(entries: &[ManagedEntry]) -> Vec<usize> {
    let earliest = entries.iter().filter_map(|entry| entry.time.as_deref()).min();
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.time.as_deref() == earliest)
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Deployment's managedFields as kube-apiserver 1.37 wrote them after `kubectl create deployment` and the
    /// deployment controller's status update.
    const CREATED: &str = r#"[{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time":"2026-12-06T17:30:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{}}}},{"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1","time":"2026-12-06T17:30:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:replicas":{}}},"subresource":"status"}]"#;

    #[test]
    fn the_entries_whose_time_moved_or_that_are_new_wrote_the_change() {
        let before = stamps(&entries(CREATED));
        let scaled = CREATED.replacen(
            r#""manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time":"2026-12-06T17:30:01Z""#,
            r#""manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time":"2026-12-06T17:31:09Z""#,
            1,
        );
        assert_eq!(moved(&before, &entries(&scaled)), [0]);
        assert!(moved(&before, &entries(CREATED)).is_empty(), "nothing moved");

        let applied = CREATED.replacen(
            "[",
            r#"[{"manager":"carol","operation":"Apply","apiVersion":"apps/v1","time":"2026-12-06T17:30:01Z","fieldsV1":{"f:spec":{"f:replicas":{}}}},"#,
            1,
        );
        assert_eq!(
            moved(&before, &entries(&applied)),
            [0],
            "a new entry wrote, even in the same second"
        );
    }

    #[test]
    fn an_entry_that_only_lost_fields_did_not_write() {
        let before = stamps(&entries(CREATED));
        let lost = CREATED.replacen(r#""f:spec":{"f:replicas":{}}"#, r#""f:spec":{}"#, 1);
        assert!(moved(&before, &entries(&lost)).is_empty());
    }

    #[test]
    fn an_update_in_another_version_is_another_writer() {
        let before = stamps(&entries(CREATED));
        let other = CREATED.replacen(r#""apiVersion":"apps/v1""#, r#""apiVersion":"apps/v1beta2""#, 1);
        assert_eq!(moved(&before, &entries(&other)), [0]);
    }

    #[test]
    fn creators_share_the_earliest_time() {
        let later = CREATED.replacen(
            "17:30:01Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status",
            "17:35:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status",
            1,
        );
        assert_eq!(creators(&entries(&later)), [0]);
        assert_eq!(creators(&entries(CREATED)), [0, 1]);
    }

    #[test]
    fn anything_else_has_no_entries() {
        for text in ["", "null", "{}", "[1,2]", r#"[{"manager":5}]"#, "[{"] {
            assert!(entries(text).is_empty(), "{text}");
        }
        assert!(creators(&[]).is_empty());
        assert!(moved(&[], &[]).is_empty());
    }
}
