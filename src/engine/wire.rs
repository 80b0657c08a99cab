//! Decoding what the API server sends: list pages and watch events, as plain objects or as server-side Tables
//! (the rendering `kubectl get` prints). Pure functions over bytes; the object itself is kept as the raw JSON
//! the server sent, so that `-o json` passes it on unchanged.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::heartbeats;
use super::managed::{self, Stamps};
use super::tracker::{ObjectKey, Observed, Remember};

/// The annotation on the BOOKMARK that ends a streamed initial list.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// One column of a server-side Table (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type", default)]
    pub column_type: String,
    #[serde(default)]
    pub format: String,
    /// Columns with a priority above 0 are shown only with `-o wide`.
    #[serde(default)]
    pub priority: i32,
}

/// What the output needs of one object version, besides its identity.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The object's JSON as the server sent it: the whole object, or only its metadata for a Table row without
    /// `includeObject=Object`. When it is `summarised`, its `metadata.managedFields` are left empty (`[]`).
    pub raw: Box<str>,
    /// The Table row's cells, when the server rendered one.
    pub cells: Option<Vec<serde_json::Value>>,
    /// Whether a later version will be compared with this one to say what changed, so a copy is kept.
    pub summarised: bool,
    /// The text of `metadata.managedFields`, when who writes the object is followed: what names the writers
    /// of a change, and what a later version's are found from (`Memo::writers`).
    pub managed_fields: Option<Box<str>>,
    /// The object's fingerprint blind to its heartbeats, when it can carry one (`heartbeats.rs`).
    pub heartbeat_blind: Option<u64>,
    /// When a watch event brought it: the time of its change, even when the change waits to be compared
    /// with the version before it (`StreamEvent::Filled`).
    pub received: Option<jiff::Timestamp>,
    /// `raw` compressed, made once when first asked for: the tracker keeps it to compare the next version
    /// with, and the live view keeps the same bytes for the row's details.
    packed: std::sync::OnceLock<Packed>,
}

impl Payload {
    pub fn new(raw: Box<str>, cells: Option<Vec<serde_json::Value>>, summarised: bool) -> Payload {
        Payload {
            raw,
            cells,
            summarised,
            managed_fields: None,
            heartbeat_blind: None,
            received: None,
            packed: std::sync::OnceLock::new(),
        }
    }

    /// The object, compressed (once, however often asked).
    pub fn packed(&self) -> Packed {
        self.packed.get_or_init(|| Packed::pack(&self.raw)).clone()
    }
}

/// The last version of an object, compressed: what a later version is compared with to say what changed.
/// Shared, not copied, by those who keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed(std::sync::Arc<[u8]>);

impl Packed {
    pub fn pack(json: &str) -> Packed {
        Packed(lz4_flex::compress_prepend_size(json.as_bytes()).into())
    }

    pub fn unpack(&self) -> Option<String> {
        lz4_flex::decompress_size_prepended(&self.0)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }
}

/// What is kept of one version of an object, to compare the next one with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Memo {
    /// The object, for the human outputs, which say what changed; JSON and YAML pass objects on unchanged
    /// and keep none.
    pub object: Option<Packed>,
    /// Its managedFields' writers and when each last wrote, when who writes is followed (every output).
    pub writers: Option<Stamps>,
    /// Its fingerprint blind to heartbeats: a next version with the same one only beat.
    pub heartbeat_blind: Option<u64>,
}

impl Remember for Payload {
    type Memo = Memo;
    fn remember(&self) -> Self::Memo {
        Memo {
            object: self.summarised.then(|| self.packed()),
            writers: self
                .managed_fields
                .as_deref()
                .map(|text| managed::stamps(&managed::entries(text))),
            heartbeat_blind: self.heartbeat_blind,
        }
    }

    /// Without the object (a metadata-only list's), what a change changed cannot be said from it.
    fn complete(memo: &Memo) -> bool {
        memo.object.is_some()
    }
}

/// What decoding keeps of each object, besides what every output needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keep {
    /// The object is compared with its next version to say what changed (the human outputs): its
    /// managedFields, never shown and never part of what changed, are emptied from the copy kept.
    pub summarised: bool,
    /// Who writes the object is followed: its managedFields are kept apart (`Payload::managed_fields`).
    pub writers: bool,
}

impl Keep {
    /// The human outputs' default: the object to compare, and its writers.
    pub const ALL: Keep = Keep {
        summarised: true,
        writers: true,
    };
    /// JSON's and YAML's without WHO: the object passed on, nothing kept.
    pub const NOTHING: Keep = Keep {
        summarised: false,
        writers: false,
    };
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw && self.cells == other.cells
    }
}

pub type WireObject = Observed<Payload>;

/// One decoded watch event.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    Added(WireObject),
    Modified(WireObject),
    Deleted(WireObject),
    Bookmark {
        resource_version: String,
        initial_events_end: bool,
    },
    /// An ERROR event: the server ended the watch with this status (410 Gone when the start point has expired).
    Error(ErrorStatus),
}

/// A decoded watch event, with the Table's columns when the event carried them (the first one of a watch).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    pub event: WatchEvent,
    pub columns: Option<Vec<Column>>,
}

/// One page of a LIST.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub resource_version: String,
    /// Set when more pages follow.
    pub continue_token: Option<String>,
    /// How many objects the pages after this one hold, when the server says (not with a label selector).
    pub remaining: Option<u64>,
    pub items: Vec<WireObject>,
    pub columns: Option<Vec<Column>>,
}

/// The parts of a `Status` that decide what happens next.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct ErrorStatus {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the server sent malformed JSON: {0}")]
    Json(String),
    #[error("the server sent an object without {0}")]
    MissingField(&'static str),
    #[error("the server sent an unknown watch event type {0:?}")]
    UnknownEventType(String),
}

impl From<serde_json::Error> for DecodeError {
    fn from(error: serde_json::Error) -> Self {
        DecodeError::Json(error.to_string())
    }
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    #[serde(rename = "continue")]
    continue_token: Option<String>,
    remaining_item_count: Option<u64>,
    annotations: Option<BTreeMap<String, String>>,
    #[serde(borrow)]
    managed_fields: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(default)]
    cells: Vec<serde_json::Value>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
}

/// A LIST page in either form, decoded in one pass: a Table has rows, a plain list has items.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    #[serde(borrow)]
    kind: Option<&'a str>,
    #[serde(borrow, default)]
    metadata: Metadata<'a>,
    column_definitions: Option<Vec<Column>>,
    #[serde(borrow)]
    rows: Option<Vec<Row<'a>>>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

/// A watch event's line, decoded in one pass whatever its object: a Table (rows), a Status (an ERROR event),
/// or a plain object, of which only the metadata is read here.
#[derive(Deserialize)]
struct EventLine<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(borrow)]
    object: EventObject<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventObject<'a> {
    kind: Option<String>,
    #[serde(borrow, default)]
    metadata: Metadata<'a>,
    column_definitions: Option<Vec<Column>>,
    #[serde(borrow, default)]
    rows: Vec<Row<'a>>,
    #[serde(default)]
    code: u16,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

/// Reads an object's `metadata` and nothing after it: the spec and status that follow are most of an object's
/// bytes, and nothing here needs them. `None` when the object has no metadata.
pub fn metadata_of<'de, M: Deserialize<'de>>(object: &'de str) -> Result<Option<M>, serde_json::Error> {
    struct UntilMetadata<'m, M>(&'m mut Option<M>);

    #[derive(Deserialize, PartialEq)]
    #[serde(field_identifier, rename_all = "lowercase")]
    enum TopLevelKey {
        Metadata,
        #[serde(other)]
        Other,
    }

    impl<'de, M: Deserialize<'de>> Visitor<'de> for UntilMetadata<'_, M> {
        type Value = ();

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<TopLevelKey>()? {
                if key == TopLevelKey::Metadata {
                    *self.0 = Some(map.next_value()?);
                    // Stopping here is the point; the caller knows this error for what it is.
                    return Err(serde::de::Error::custom(STOPPED_AFTER_METADATA));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    const STOPPED_AFTER_METADATA: &str = "stopped after metadata";
    let mut metadata = None;
    let mut deserializer = serde_json::Deserializer::from_str(object);
    let read = deserializer.deserialize_map(UntilMetadata(&mut metadata));
    match (metadata, read) {
        (Some(metadata), _) => Ok(Some(metadata)),
        (None, Ok(())) => deserializer.end().map(|()| None),
        (None, Err(error)) => Err(error),
    }
}

/// Decodes one line of a watch stream, keeping of its object what `keep` says.
pub fn decode_watch_event(line: &[u8], keep: Keep) -> Result<DecodedEvent, DecodeError> {
    let parsed: EventLine = serde_json::from_slice(line)?;
    let outer = parsed.object;
    if parsed.event_type == "ERROR" {
        return Ok(DecodedEvent {
            event: WatchEvent::Error(ErrorStatus {
                code: outer.code,
                reason: outer.reason,
                message: outer.message,
            }),
            columns: None,
        });
    }
    let is_change = matches!(parsed.event_type, "ADDED" | "MODIFIED" | "DELETED");
    let (object, metadata, cells, columns) = if outer.kind.as_deref() == Some("Table") {
        let row = outer
            .rows
            .into_iter()
            .next()
            .ok_or(DecodeError::MissingField("a row in the Table"))?;
        let object = row
            .object
            .ok_or(DecodeError::MissingField("the object of a Table row"))?;
        let metadata = metadata_of(object.get())?.unwrap_or_default();
        (Some(object), metadata, Some(row.cells), outer.column_definitions)
    } else if is_change {
        // A plain object is passed on as sent: a second, shallow pass finds where it is in the line.
        let raw: RawEvent = serde_json::from_slice(line)?;
        (Some(raw.object), outer.metadata, None, None)
    } else {
        (None, outer.metadata, None, None)
    };
    let event = match (parsed.event_type, object) {
        ("BOOKMARK", _) => {
            let resource_version = metadata
                .resource_version
                .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?;
            let initial_events_end = metadata
                .annotations
                .is_some_and(|annotations| annotations.get(INITIAL_EVENTS_END).is_some_and(|v| v == "true"));
            WatchEvent::Bookmark {
                resource_version,
                initial_events_end,
            }
        }
        ("ADDED", Some(object)) => WatchEvent::Added(observed(object, metadata, cells, keep)?),
        ("MODIFIED", Some(object)) => WatchEvent::Modified(observed(object, metadata, cells, keep)?),
        ("DELETED", Some(object)) => WatchEvent::Deleted(observed(object, metadata, cells, keep)?),
        (other, _) => return Err(DecodeError::UnknownEventType(other.to_string())),
    };
    Ok(DecodedEvent { event, columns })
}

/// Decodes one page of a LIST, whether the server answered with a Table or with a plain list, keeping of
/// its objects what `keep` says.
pub fn decode_list_page(body: &[u8], keep: Keep) -> Result<ListPage, DecodeError> {
    let page: Page = serde_json::from_slice(body)?;
    let items = match (page.rows, page.items) {
        (Some(rows), _) => rows
            .into_iter()
            .map(|row| {
                let object = row
                    .object
                    .ok_or(DecodeError::MissingField("the object of a Table row"))?;
                wire_object(object, Some(row.cells), keep)
            })
            .collect::<Result<_, _>>()?,
        (None, Some(items)) => items
            .into_iter()
            .map(|item| wire_object(item, None, keep))
            .collect::<Result<_, _>>()?,
        // A metadata-only list with nothing in it says `"items": null`, and so does the Table of an empty list
        // of some kinds (limitranges, roles: `"rows": null`).
        (None, None) if matches!(page.kind, Some("PartialObjectMetadataList" | "Table")) => Vec::new(),
        (None, None) => return Err(DecodeError::MissingField("items")),
    };
    page_of(page.metadata, items, page.column_definitions)
}

/// Decodes the body of an error response, if it is a `Status`.
pub fn decode_status(body: &[u8]) -> Option<ErrorStatus> {
    serde_json::from_slice::<ErrorStatus>(body)
        .ok()
        .filter(|status| status.code != 0)
}

fn page_of(
    metadata: Metadata<'_>,
    items: Vec<WireObject>,
    columns: Option<Vec<Column>>,
) -> Result<ListPage, DecodeError> {
    Ok(ListPage {
        resource_version: metadata
            .resource_version
            .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?,
        continue_token: metadata.continue_token.filter(|token| !token.is_empty()),
        remaining: metadata.remaining_item_count,
        items,
        columns,
    })
}

fn wire_object(
    object: &RawValue,
    cells: Option<Vec<serde_json::Value>>,
    keep: Keep,
) -> Result<WireObject, DecodeError> {
    let metadata = metadata_of(object.get())?.unwrap_or_default();
    observed(object, metadata, cells, keep)
}

fn observed(
    object: &RawValue,
    metadata: Metadata<'_>,
    cells: Option<Vec<serde_json::Value>>,
    keep: Keep,
) -> Result<WireObject, DecodeError> {
    let mut payload = Payload::new(
        match metadata.managed_fields {
            Some(managed_fields) if keep.summarised => without(object.get(), managed_fields.get()),
            _ => object.get().into(),
        },
        cells,
        keep.summarised,
    );
    if keep.writers {
        payload.managed_fields = metadata.managed_fields.map(|text| text.get().into());
    }
    payload.heartbeat_blind = heartbeats::blind_fingerprint(object.get());
    Ok(Observed {
        key: ObjectKey {
            namespace: metadata.namespace.filter(|namespace| !namespace.is_empty()),
            name: metadata.name.ok_or(DecodeError::MissingField("metadata.name"))?,
        },
        uid: metadata.uid.ok_or(DecodeError::MissingField("metadata.uid"))?,
        resource_version: metadata
            .resource_version
            .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?,
        payload,
    })
}

/// The object's text with one of its values, `part`, emptied to `[]`. Made for `metadata.managedFields`: up to
/// half of an object's bytes, never shown in a table and never part of what changed, so every later step
/// (the copy kept, the comparison with the next version) is spared them. `part` is a slice of `object`,
/// as serde borrows it; anything else leaves the object whole.
fn without(object: &str, part: &str) -> Box<str> {
    let start = (part.as_ptr() as usize).wrapping_sub(object.as_ptr() as usize);
    let end = start.wrapping_add(part.len());
    if start > object.len() || end > object.len() || start > end || !part.starts_with('[') {
        return object.into();
    }
    let mut stripped = String::with_capacity(object.len() - part.len() + 2);
    stripped.push_str(&object[..start]);
    stripped.push_str("[]");
    stripped.push_str(&object[end..]);
    stripped.into_boxed_str()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn a_plain_watch_event_keeps_the_object_as_sent() {
        let line = br#"{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"42"},"data":{"k":"v"}}}"#;
        let decoded = decode_watch_event(line, Keep::ALL).expect("decodes");
        let WatchEvent::Modified(object) = decoded.event else {
            panic!("expected MODIFIED, got {decoded:?}")
        };
        assert_eq!(
            object.key,
            ObjectKey {
                namespace: Some("ns".into()),
                name: "a".into()
            }
        );
        assert_eq!((object.uid.as_str(), object.resource_version.as_str()), ("u1", "42"));
        assert_eq!(
            &*object.payload.raw,
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"42"},"data":{"k":"v"}}"#
        );
        assert_eq!(object.payload.cells, None);
        assert_eq!(decoded.columns, None);
    }

    #[test]
    fn a_table_watch_event_gives_cells_columns_and_the_row_object() {
        let line = br#"{"type":"ADDED","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"271"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"d","priority":0},{"name":"Data","type":"string","format":"","description":"d","priority":0}],"rows":[{"cells":["exp1",1],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"exp1","namespace":"default","uid":"5ef3","resourceVersion":"271"}}}]}}"#;
        let decoded = decode_watch_event(line, Keep::ALL).expect("decodes");
        let columns = decoded.columns.expect("the first event has columns");
        assert_eq!(
            columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["Name", "Data"]
        );
        let WatchEvent::Added(object) = decoded.event else {
            panic!("expected ADDED")
        };
        assert_eq!(object.key.name, "exp1");
        assert_eq!(
            object.payload.cells,
            Some(vec![serde_json::json!("exp1"), serde_json::json!(1)])
        );
    }

    #[test]
    fn bookmarks_tell_where_the_initial_events_end() {
        let plain = br#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"273","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
        let table = br#"{"type":"BOOKMARK","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"275"},"columnDefinitions":null,"rows":[{"cells":["",0,"\u003cunknown\u003e"],"object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"275","annotations":{"k8s.io/initial-events-end":"true"}}}}]}}"#;
        let ordinary =
            br#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"300"}}}"#;
        let bookmark = |line: &[u8]| decode_watch_event(line, Keep::ALL).expect("decodes").event;
        assert_eq!(
            bookmark(plain),
            WatchEvent::Bookmark {
                resource_version: "273".into(),
                initial_events_end: true
            }
        );
        assert_eq!(
            bookmark(table),
            WatchEvent::Bookmark {
                resource_version: "275".into(),
                initial_events_end: true
            }
        );
        assert_eq!(
            bookmark(ordinary),
            WatchEvent::Bookmark {
                resource_version: "300".into(),
                initial_events_end: false
            }
        );
    }

    #[test]
    fn an_error_event_carries_the_status() {
        let line = br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (200)","reason":"Expired","code":410}}"#;
        let event = decode_watch_event(line, Keep::ALL).expect("decodes").event;
        assert_eq!(
            event,
            WatchEvent::Error(ErrorStatus {
                code: 410,
                reason: "Expired".into(),
                message: "too old resource version: 5 (200)".into()
            })
        );
    }

    #[test]
    fn list_pages_decode_from_tables_and_plain_lists() {
        let plain = br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"90","continue":"abc","remainingItemCount":3},"items":[{"metadata":{"name":"p","namespace":"n","uid":"u","resourceVersion":"80"}}]}"#;
        let page = decode_list_page(plain, Keep::NOTHING).expect("decodes");
        assert_eq!(page.resource_version, "90");
        assert_eq!(page.continue_token.as_deref(), Some("abc"));
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.columns, None);
        assert_eq!(
            page.items[0].payload.remember(),
            Memo::default(),
            "JSON output keeps no copies"
        );

        let table = br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"91","continue":""},"columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0}],"rows":[{"cells":["node-1"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"node-1","uid":"u2","resourceVersion":"70"}}}]}"#;
        let page = decode_list_page(table, Keep::ALL).expect("decodes");
        assert_eq!(page.resource_version, "91");
        assert_eq!(page.continue_token, None, "an empty continue token means the last page");
        assert_eq!(
            page.items[0].key,
            ObjectKey {
                namespace: None,
                name: "node-1".into()
            }
        );
        assert_eq!(page.items[0].payload.cells, Some(vec![serde_json::json!("node-1")]));
        let kept = page.items[0]
            .payload
            .remember()
            .object
            .expect("kept to summarise the next change");
        assert!(kept.unpack().is_some_and(|json| json.contains("\"uid\":\"u2\"")));
    }

    #[test]
    fn metadata_only_pages_decode_even_when_empty() {
        // As kube-apiserver 1.37 sends them for Accept: ...;as=PartialObjectMetadataList.
        let page = br#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"2049","continue":"x"},"items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"c1","namespace":"gz","uid":"u1","resourceVersion":"2001"}}]}"#;
        let page = decode_list_page(page, Keep::NOTHING).expect("decodes");
        assert_eq!(page.items[0].key.name, "c1");
        assert_eq!(page.items[0].resource_version, "2001");
        assert_eq!(page.continue_token.as_deref(), Some("x"));
        let empty = br#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"2049"},"items":null}"#;
        assert!(
            decode_list_page(empty, Keep::NOTHING)
                .expect("decodes")
                .items
                .is_empty()
        );
        // As kube-apiserver 1.37 sends the Table of an empty list of limitranges, roles or
        // csistoragecapacities (found by --all-kinds).
        let empty_table = br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"330"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0}],"rows":null}"#;
        assert!(
            decode_list_page(empty_table, Keep::ALL)
                .expect("decodes")
                .items
                .is_empty()
        );
        assert!(
            decode_list_page(
                br#"{"kind":"ConfigMapList","metadata":{"resourceVersion":"1"}}"#,
                Keep::NOTHING
            )
            .is_err(),
            "a full list without items is still malformed"
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for line in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"type\":\"ADDED\"}",
            b"{\"type\":\"ADDED\",\"object\":{}}",
            b"{\"type\":\"WHAT\",\"object\":{\"metadata\":{\"name\":\"a\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}}",
            b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Table\",\"rows\":[]}}",
        ] {
            assert!(
                decode_watch_event(line, Keep::ALL).is_err(),
                "{:?} should not decode",
                String::from_utf8_lossy(line)
            );
        }
        assert!(
            decode_list_page(b"{\"items\":[]}", Keep::NOTHING).is_err(),
            "a list without a resourceVersion"
        );
    }

    #[test]
    fn metadata_is_read_without_reading_what_follows_it() {
        let metadata: Option<Value> =
            metadata_of(r#"{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"app"}]}}"#)
                .expect("reads");
        assert_eq!(metadata, Some(json!({"name": "a"})));
        // An escaped key is still the metadata; the rest of the object is never looked at.
        let metadata: Option<Value> = metadata_of(r#"{"meta\u0064ata":{"name":"b"},"status":{}}"#).expect("reads");
        assert_eq!(metadata, Some(json!({"name": "b"})));
        let none: Option<Value> = metadata_of(r#"{"kind":"Status","code":410}"#).expect("reads");
        assert_eq!(none, None);
        assert!(
            metadata_of::<Value>(r#"{"metadata":{"name":}}"#).is_err(),
            "broken metadata"
        );
        assert!(metadata_of::<Value>(r#"["metadata"]"#).is_err(), "not an object");
        assert!(
            metadata_of::<Value>(r#"{"kind":"Pod"} trailing"#).is_err(),
            "trailing text"
        );
    }

    #[test]
    fn managed_fields_are_left_out_of_what_the_tables_keep_and_kept_for_json() {
        let object = r#"{"kind":"Pod","metadata":{"name":"a","namespace":"ns","uid":"u","resourceVersion":"7","managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}],"labels":{"app":"a"}},"spec":{"x":1}}"#;
        let line = format!(
            r#"{{"type":"MODIFIED","object":{{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{{}},"rows":[{{"cells":["a"],"object":{object}}}]}}}}"#
        );
        let kept = |summarised: bool| match decode_watch_event(
            line.as_bytes(),
            Keep {
                summarised,
                writers: true,
            },
        )
        .expect("decodes")
        .event
        {
            WatchEvent::Modified(object) => object.payload.raw,
            other => panic!("expected MODIFIED, got {other:?}"),
        };
        let mut expected: Value = serde_json::from_str(object).expect("JSON");
        assert_eq!(serde_json::from_str::<Value>(&kept(false)).expect("JSON"), expected);
        expected["metadata"]["managedFields"] = json!([]);
        assert_eq!(serde_json::from_str::<Value>(&kept(true)).expect("JSON"), expected);

        let page = format!(r#"{{"kind":"PodList","metadata":{{"resourceVersion":"8"}},"items":[{object}]}}"#);
        let listed = decode_list_page(page.as_bytes(), Keep::ALL).expect("decodes");
        assert_eq!(
            serde_json::from_str::<Value>(&listed.items[0].payload.raw).expect("JSON"),
            expected
        );
    }

    /// Hostile input: whatever bytes arrive, decoding answers with an event or an error, never a panic, and
    /// in time proportional to the input.
    mod hostile {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::super::*;

        fn json_value() -> impl Strategy<Value = Value> {
            crate::arbitrary::json_value(
                &[
                    "type",
                    "object",
                    "kind",
                    "metadata",
                    "name",
                    "uid",
                    "resourceVersion",
                    "rows",
                    "cells",
                    "items",
                    "columnDefinitions",
                    "continue",
                    "annotations",
                    "managedFields",
                ],
                &["Table", "BOOKMARK", "ERROR"],
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
            /// Reading up to the metadata answers as reading the whole object does, however the object is
            /// laid out or escaped.
            #[test]
            fn reading_up_to_the_metadata_finds_what_the_whole_object_has(value in json_value(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&value)
                } else {
                    serde_json::to_string(&value)
                }.expect("serialisable");
                let whole: Value = serde_json::from_str(&text).expect("valid");
                match (metadata_of::<Value>(&text), whole) {
                    (Ok(found), Value::Object(fields)) => prop_assert_eq!(found, fields.get("metadata").cloned()),
                    (Ok(found), other) => prop_assert!(false, "{found:?} read from {other}"),
                    (Err(_), whole) => prop_assert!(!whole.is_object(), "an object was refused: {text}"),
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
                let _ = decode_watch_event(&bytes, Keep::ALL);
                let _ = decode_list_page(&bytes, Keep::ALL);
                let _ = decode_status(&bytes);
            }

            #[test]
            fn arbitrary_json_never_panics(value in json_value(), event_type in prop_oneof![
                Just("ADDED"), Just("MODIFIED"), Just("DELETED"), Just("BOOKMARK"), Just("ERROR")
            ]) {
                let bare = serde_json::to_vec(&value).expect("serialisable");
                let _ = decode_watch_event(&bare, Keep::ALL);
                let _ = decode_list_page(&bare, Keep::ALL);
                let event = serde_json::to_vec(&json!({"type": event_type, "object": value})).expect("serialisable");
                if let Ok(decoded) = decode_watch_event(&event, Keep::ALL) {
                    // What decodes as an object is kept to say what changes next.
                    if let WatchEvent::Added(object) | WatchEvent::Modified(object) | WatchEvent::Deleted(object) = decoded.event {
                        prop_assert!(object.payload.remember().object.is_some());
                        // With its managed fields left out, the object is still JSON, the same but for them
                        // (a Table's row object is checked in the unit tests).
                        let table = value.get("kind") == Some(&json!("Table"));
                        let mut kept: Value = serde_json::from_str(&object.payload.raw).expect("still JSON");
                        let mut sent = value.clone();
                        for side in [&mut kept, &mut sent] {
                            if let Some(metadata) = side.get_mut("metadata").and_then(Value::as_object_mut) {
                                metadata.remove("managedFields");
                            }
                        }
                        if !table {
                            prop_assert_eq!(kept, sent);
                        }
                    }
                }
            }
        }

        #[test]
        fn deep_nesting_is_an_answer_not_a_crash() {
            let depth = 200_000;
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let line = format!(
                r#"{{"type":"ADDED","object":{{"metadata":{{"name":"a","uid":"u","resourceVersion":"1"}},"spec":{deep}}}}}"#
            );
            // Kept as raw JSON, never built as a tree: it decodes, and the summariser later refuses it.
            let _ = decode_watch_event(line.as_bytes(), Keep::ALL);
            let page = format!(r#"{{"metadata":{{"resourceVersion":"1"}},"items":[{deep}]}}"#);
            assert!(
                decode_list_page(page.as_bytes(), Keep::ALL).is_err(),
                "an item without metadata"
            );
        }

        #[test]
        fn huge_objects_decode_in_bounded_time() {
            let blob = "x".repeat(50_000_000);
            let line = format!(
                r#"{{"type":"MODIFIED","object":{{"metadata":{{"name":"a","uid":"u","resourceVersion":"1"}},"data":{{"blob":"{blob}"}}}}}}"#
            );
            let started = std::time::Instant::now();
            let decoded = decode_watch_event(line.as_bytes(), Keep::NOTHING).expect("decodes");
            assert!(matches!(decoded.event, WatchEvent::Modified(_)));
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
        }
    }
}
