//! Decoding what the API server sends: list pages and watch events, as plain objects or as server-side Tables
//! (the rendering `kubectl get` prints). Pure functions over bytes; the object itself is kept as the raw JSON
//! the server sent, so that `-o json` passes it on unchanged.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::tracker::{ObjectKey, Observed, Remember};

/// The annotation on the BOOKMARK that ends a streamed initial list.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// One column of a server-side Table (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    /// The object as the server sent it: the whole object, or only its metadata for a Table row without
    /// `includeObject=Object`.
    pub raw: Box<RawValue>,
    /// The Table row's cells, when the server rendered one.
    pub cells: Option<Vec<serde_json::Value>>,
}

/// The last version of an object, compressed: what a later version is compared with to say what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed(Box<[u8]>);

impl Packed {
    pub fn pack(json: &str) -> Packed {
        Packed(lz4_flex::compress_prepend_size(json.as_bytes()).into_boxed_slice())
    }

    pub fn unpack(&self) -> Option<String> {
        lz4_flex::decompress_size_prepended(&self.0)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }
}

/// Only the human outputs, which come from Tables, say what changed; JSON and YAML pass objects on unchanged
/// and keep nothing of them.
impl Remember for Payload {
    type Memo = Option<Packed>;
    fn remember(&self) -> Self::Memo {
        self.cells.is_some().then(|| Packed::pack(self.raw.get()))
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get() && self.cells == other.cells
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
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    #[serde(rename = "continue")]
    continue_token: Option<String>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Head {
    kind: Option<String>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Table<'a> {
    #[serde(default)]
    metadata: Metadata,
    column_definitions: Option<Vec<Column>>,
    #[serde(borrow, default)]
    rows: Vec<Row<'a>>,
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(default)]
    cells: Vec<serde_json::Value>,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct List<'a> {
    #[serde(default)]
    metadata: Metadata,
    #[serde(borrow, default)]
    items: Vec<&'a RawValue>,
}

/// Decodes one line of a watch stream.
pub fn decode_watch_event(line: &[u8]) -> Result<DecodedEvent, DecodeError> {
    let raw: RawEvent = serde_json::from_slice(line)?;
    let head: Head = serde_json::from_str(raw.object.get())?;
    if raw.event_type == "ERROR" {
        let status: ErrorStatus = serde_json::from_str(raw.object.get())?;
        return Ok(DecodedEvent {
            event: WatchEvent::Error(status),
            columns: None,
        });
    }
    let (row_object, cells, columns) = if head.kind.as_deref() == Some("Table") {
        let table: Table = serde_json::from_str(raw.object.get())?;
        let mut rows = table.rows.into_iter();
        let row = rows.next().ok_or(DecodeError::MissingField("a row in the Table"))?;
        let object = row
            .object
            .ok_or(DecodeError::MissingField("the object of a Table row"))?;
        (object, Some(row.cells), table.column_definitions)
    } else {
        (raw.object, None, None)
    };
    let event = match raw.event_type {
        "BOOKMARK" => {
            let head: Head = serde_json::from_str(row_object.get())?;
            let resource_version = head
                .metadata
                .resource_version
                .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?;
            let initial_events_end = head
                .metadata
                .annotations
                .is_some_and(|annotations| annotations.get(INITIAL_EVENTS_END).is_some_and(|v| v == "true"));
            WatchEvent::Bookmark {
                resource_version,
                initial_events_end,
            }
        }
        "ADDED" => WatchEvent::Added(wire_object(row_object, cells)?),
        "MODIFIED" => WatchEvent::Modified(wire_object(row_object, cells)?),
        "DELETED" => WatchEvent::Deleted(wire_object(row_object, cells)?),
        other => return Err(DecodeError::UnknownEventType(other.to_string())),
    };
    Ok(DecodedEvent { event, columns })
}

/// Decodes one page of a LIST, whether the server answered with a Table or with a plain list.
pub fn decode_list_page(body: &[u8]) -> Result<ListPage, DecodeError> {
    let head: Head = serde_json::from_slice(body)?;
    if head.kind.as_deref() == Some("Table") {
        let table: Table = serde_json::from_slice(body)?;
        let items = table
            .rows
            .into_iter()
            .map(|row| {
                let object = row
                    .object
                    .ok_or(DecodeError::MissingField("the object of a Table row"))?;
                wire_object(object, Some(row.cells))
            })
            .collect::<Result<_, _>>()?;
        return page(table.metadata, items, table.column_definitions);
    }
    let list: List = serde_json::from_slice(body)?;
    let items = list
        .items
        .into_iter()
        .map(|item| wire_object(item, None))
        .collect::<Result<_, _>>()?;
    page(list.metadata, items, None)
}

/// Decodes the body of an error response, if it is a `Status`.
pub fn decode_status(body: &[u8]) -> Option<ErrorStatus> {
    serde_json::from_slice::<ErrorStatus>(body)
        .ok()
        .filter(|status| status.code != 0)
}

fn page(metadata: Metadata, items: Vec<WireObject>, columns: Option<Vec<Column>>) -> Result<ListPage, DecodeError> {
    Ok(ListPage {
        resource_version: metadata
            .resource_version
            .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?,
        continue_token: metadata.continue_token.filter(|token| !token.is_empty()),
        items,
        columns,
    })
}

fn wire_object(object: &RawValue, cells: Option<Vec<serde_json::Value>>) -> Result<WireObject, DecodeError> {
    let head: Head = serde_json::from_str(object.get())?;
    let metadata = head.metadata;
    Ok(Observed {
        key: ObjectKey {
            namespace: metadata.namespace.filter(|namespace| !namespace.is_empty()),
            name: metadata.name.ok_or(DecodeError::MissingField("metadata.name"))?,
        },
        uid: metadata.uid.ok_or(DecodeError::MissingField("metadata.uid"))?,
        resource_version: metadata
            .resource_version
            .ok_or(DecodeError::MissingField("metadata.resourceVersion"))?,
        payload: Payload {
            raw: object.to_owned(),
            cells,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_watch_event_keeps_the_object_as_sent() {
        let line = br#"{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"42"},"data":{"k":"v"}}}"#;
        let decoded = decode_watch_event(line).expect("decodes");
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
            object.payload.raw.get(),
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"ns","uid":"u1","resourceVersion":"42"},"data":{"k":"v"}}"#
        );
        assert_eq!(object.payload.cells, None);
        assert_eq!(decoded.columns, None);
    }

    #[test]
    fn a_table_watch_event_gives_cells_columns_and_the_row_object() {
        let line = br#"{"type":"ADDED","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"271"},"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"d","priority":0},{"name":"Data","type":"string","format":"","description":"d","priority":0}],"rows":[{"cells":["exp1",1],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"exp1","namespace":"default","uid":"5ef3","resourceVersion":"271"}}}]}}"#;
        let decoded = decode_watch_event(line).expect("decodes");
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
        let bookmark = |line: &[u8]| decode_watch_event(line).expect("decodes").event;
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
        let event = decode_watch_event(line).expect("decodes").event;
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
        let page = decode_list_page(plain).expect("decodes");
        assert_eq!(page.resource_version, "90");
        assert_eq!(page.continue_token.as_deref(), Some("abc"));
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.columns, None);

        let table = br#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"91","continue":""},"columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0}],"rows":[{"cells":["node-1"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"node-1","uid":"u2","resourceVersion":"70"}}}]}"#;
        let page = decode_list_page(table).expect("decodes");
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
                decode_watch_event(line).is_err(),
                "{:?} should not decode",
                String::from_utf8_lossy(line)
            );
        }
        assert!(
            decode_list_page(b"{\"items\":[]}").is_err(),
            "a list without a resourceVersion"
        );
    }
}
