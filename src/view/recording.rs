//! The recording format (`--record`, `--replay`): one JSON document per line, so that a file being written can
//! be read up to its last whole line. The first line says what the file is; each later one is a `Fed` item with
//! the time it was seen. Pure: text in, items out, and the reverse.
//!
//! ```text
//! {"watchnew":"recording","version":2,"started":"…","header":"context kind · pods in all namespaces","allNamespaces":true}
//! {"at":"…","stream":{"stream":0,"kind":"Pod","apiVersion":"v1","name":"pods","prefix":"pod","secret":false}}
//! {"at":"…","columns":{"stream":0,"columns":[{"name":"Name","type":"string","format":"name","priority":0}, …]}}
//! {"at":"…","synced":{"tookMs":412,"streams":[{"stream":0,"existing":12,"cellWidths":[…]}],"line":"Synced 12 pods in 0.41s; …"}}
//! {"at":"…","change":{"stream":0,"type":"MODIFIED","origin":"watch","namespace":"shop","name":"web-1","uid":"…",
//!     "resourceVersion":"812","object":{…},"cells":["web-1","1/1",…],"changed":[{"path":"status.phase",…}]}}
//! {"at":"…","event":{"type":"ADDED","namespace":"shop","name":"web-1.1812","uid":"…","resourceVersion":"813","object":{…}}}
//! {"at":"…","notice":{"kind":"relist","text":"pods: relisted after 3.1s: 2 changes found"}}
//! {"at":"…","contextState":{"context":"prod","health":{"state":"reconnecting","streams":1,"cause":"…"}}}
//! ```

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::details::{hide_last_applied, hide_secret_values};
use super::feed::{ContextHealth, Fed, FedChange, FeedItem, Synced, SyncedStream};
use super::summary::FieldChange;
use super::writers::Writer;
use super::{NoticeKind, StreamInfo, StreamLabel};
use crate::engine::tracker::{Change, ChangeType, ObjectKey, Origin};
use crate::engine::wire::{Column, Payload};

/// What the first line calls the file, and the format's version: a later version is refused, not misread.
/// Version 2 added the contexts' states (`contextState` lines); version 1 files are read as they are.
const MAGIC: &str = "recording";
pub const VERSION: u32 = 2;

/// The first line: what was watched, for the replay's status line and table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub watchnew: String,
    pub version: u32,
    pub started: Timestamp,
    /// The live view's status line of the run: `context kind · pods in all namespaces`.
    pub header: String,
    /// `-A`: the replay has a NAMESPACE column.
    pub all_namespaces: bool,
    /// Several contexts: the replay has a CONTEXT column.
    #[serde(default)]
    pub contexts: bool,
    /// The Events about the objects were joined: the replay shows them.
    #[serde(default)]
    pub events: bool,
}

impl Header {
    pub fn new(started: Timestamp, header: String, all_namespaces: bool, contexts: bool, events: bool) -> Header {
        Header {
            watchnew: MAGIC.into(),
            version: VERSION,
            started,
            header,
            all_namespaces,
            contexts,
            events,
        }
    }

    pub fn encode(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    pub fn decode(line: &str) -> Result<Header, String> {
        let header: Header =
            serde_json::from_str(line).map_err(|_| "it is not a recording made with --record".to_string())?;
        if header.watchnew != MAGIC {
            return Err("it is not a recording made with --record".into());
        }
        if header.version > VERSION {
            return Err(format!(
                "it was recorded in format {}, newer than this version reads ({VERSION}): replay it with a newer kubectl-watchnew",
                header.version
            ));
        }
        Ok(header)
    }
}

/// One line: when, and one of the records (serde's `flatten` would buffer the objects, which it cannot do for
/// objects kept as the raw text they came in).
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Line {
    at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream: Option<StreamLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    columns: Option<ColumnsLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced: Option<SyncedLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<ChangeLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<EventLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice: Option<NoticeLine>,
    /// A modification that only beat, counted (its object is not kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heartbeat: Option<HeartbeatLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context_state: Option<ContextStateLine>,
}

#[derive(Serialize, Deserialize)]
struct ContextStateLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    health: ContextHealth,
}

#[derive(Serialize, Deserialize)]
struct HeartbeatLine {
    stream: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamLine {
    stream: usize,
    kind: String,
    api_version: String,
    name: String,
    prefix: String,
    secret: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ColumnsLine {
    stream: usize,
    columns: Vec<Column>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncedLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    took_ms: u64,
    streams: Vec<SyncedStreamLine>,
    line: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyncedStreamLine {
    stream: usize,
    existing: usize,
    cell_widths: Vec<usize>,
}

/// A change of a watched object: its identity and version, the object (absent for one that vanished in a
/// gap), kubectl's cells, and what it changed.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeLine {
    stream: usize,
    #[serde(rename = "type")]
    change_type: String,
    origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    uid: String,
    resource_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cells: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    changed: Vec<FieldChange>,
    /// Who made it (absent in recordings made before WHO, or when its writers were not known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    changed_by: Vec<Writer>,
}

/// An Event about a watched object.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventLine {
    #[serde(rename = "type")]
    change_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    uid: String,
    resource_version: String,
    object: Box<RawValue>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    printed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct NoticeLine {
    kind: NoticeKind,
    text: String,
}

/// Writes items as lines. The kinds of the streams are remembered, so that a Secret's values are left out
/// unless `secret_values`.
pub struct Encoder {
    secret_values: bool,
    secret_streams: Vec<bool>,
}

impl Encoder {
    pub fn new(secret_values: bool) -> Encoder {
        Encoder {
            secret_values,
            secret_streams: Vec::new(),
        }
    }

    /// The item as one line, newline included.
    pub fn encode(&mut self, fed: &Fed) -> String {
        let mut line = Line {
            at: Some(fed.at),
            ..Line::default()
        };
        match &fed.item {
            FeedItem::Stream(info) => {
                let stream = self.secret_streams.len();
                self.secret_streams.push(info.label.secret);
                line.stream = Some(StreamLine {
                    stream,
                    kind: info.label.kind.clone(),
                    api_version: info.label.api_version.clone(),
                    name: info.label.name.clone(),
                    prefix: info.label.object_prefix.clone(),
                    secret: info.label.secret,
                    context: info.context.clone(),
                });
            }
            FeedItem::Columns { stream, columns } => {
                line.columns = Some(ColumnsLine {
                    stream: *stream,
                    columns: columns.clone(),
                })
            }
            FeedItem::Synced(synced) => {
                line.synced = Some(SyncedLine {
                    context: synced.context.clone(),
                    took_ms: synced.took.as_millis() as u64,
                    streams: synced
                        .streams
                        .iter()
                        .map(|stream| SyncedStreamLine {
                            stream: stream.stream,
                            existing: stream.existing,
                            cell_widths: stream.cell_widths.clone(),
                        })
                        .collect(),
                    line: synced.line.clone(),
                })
            }
            FeedItem::Change(fed) => {
                let secret = self.secret_streams.get(fed.stream).copied().unwrap_or(false);
                let change = &fed.change;
                line.change = Some(ChangeLine {
                    stream: fed.stream,
                    change_type: change.change_type.as_str().into(),
                    origin: match change.origin {
                        Origin::Watch => "watch".into(),
                        Origin::Relist => "relist".into(),
                    },
                    namespace: change.key.namespace.clone(),
                    name: change.key.name.clone(),
                    uid: change.uid.clone(),
                    resource_version: change.resource_version.clone(),
                    object: self.object(change, secret),
                    cells: change.payload.as_ref().and_then(|payload| payload.cells.clone()),
                    // Withheld at the source already, unless asked for: withheld here too, whatever the source.
                    changed: fed
                        .field_changes
                        .iter()
                        .map(|change| match self.secret_values {
                            true => change.clone(),
                            false => change.clone().withheld(),
                        })
                        .collect(),
                    changed_by: fed.changed_by.clone(),
                });
            }
            FeedItem::Event {
                change,
                printed,
                context,
            } => {
                if let Some(object) = self.object(change, false) {
                    line.event = Some(EventLine {
                        change_type: change.change_type.as_str().into(),
                        namespace: change.key.namespace.clone(),
                        name: change.key.name.clone(),
                        uid: change.uid.clone(),
                        resource_version: change.resource_version.clone(),
                        object,
                        printed: *printed,
                        context: context.clone(),
                    });
                }
            }
            FeedItem::Notice { kind, text } => {
                line.notice = Some(NoticeLine {
                    kind: *kind,
                    text: text.clone(),
                })
            }
            FeedItem::Heartbeat { stream } => line.heartbeat = Some(HeartbeatLine { stream: *stream }),
            FeedItem::ContextState { context, health } => {
                line.context_state = Some(ContextStateLine {
                    context: context.clone(),
                    health: health.clone(),
                })
            }
        }
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }

    fn object(&self, change: &Change<Payload>, secret: bool) -> Option<Box<RawValue>> {
        let payload = change.payload.as_ref()?;
        if secret && !self.secret_values {
            let mut object: Value = serde_json::from_str(&payload.raw).ok()?;
            hide_secret_values(&mut object);
            hide_last_applied(&mut object);
            RawValue::from_string(object.to_string()).ok()
        } else {
            RawValue::from_string(payload.raw.to_string()).ok()
        }
    }
}

/// One line of a recording (after the header) as the item it records.
pub fn decode(text: &str) -> Result<Fed, String> {
    let line: Line = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let at = line.at.ok_or("no time (\"at\")")?;
    let item = if let Some(stream) = line.stream {
        let mut info = StreamInfo::new(StreamLabel {
            kind: stream.kind,
            api_version: stream.api_version,
            name: stream.name,
            object_prefix: stream.prefix,
            secret: stream.secret,
        });
        info.context = stream.context;
        FeedItem::Stream(Box::new(info))
    } else if let Some(ColumnsLine { stream, columns }) = line.columns {
        FeedItem::Columns { stream, columns }
    } else if let Some(synced) = line.synced {
        FeedItem::Synced(Synced {
            context: synced.context,
            took: Duration::from_millis(synced.took_ms),
            streams: synced
                .streams
                .into_iter()
                .map(|stream| SyncedStream {
                    stream: stream.stream,
                    existing: stream.existing,
                    cell_widths: stream.cell_widths,
                })
                .collect(),
            line: synced.line,
        })
    } else if let Some(change) = line.change {
        let origin = match change.origin.as_str() {
            "relist" => Origin::Relist,
            _ => Origin::Watch,
        };
        let key = ObjectKey {
            namespace: change.namespace,
            name: change.name,
        };
        let payload = change
            .object
            .map(|object| Payload::new(object.get().into(), change.cells, false));
        FeedItem::Change(Box::new(FedChange {
            stream: change.stream,
            change: object_change(
                &change.change_type,
                key,
                change.uid,
                change.resource_version,
                origin,
                payload,
            )?,
            field_changes: change.changed,
            changed_by: change.changed_by,
        }))
    } else if let Some(event) = line.event {
        let key = ObjectKey {
            namespace: event.namespace,
            name: event.name,
        };
        let payload = Payload::new(event.object.get().into(), None, false);
        FeedItem::Event {
            change: Box::new(object_change(
                &event.change_type,
                key,
                event.uid,
                event.resource_version,
                Origin::Watch,
                Some(payload),
            )?),
            printed: event.printed,
            context: event.context,
        }
    } else if let Some(NoticeLine { kind, text }) = line.notice {
        FeedItem::Notice { kind, text }
    } else if let Some(HeartbeatLine { stream }) = line.heartbeat {
        FeedItem::Heartbeat { stream }
    } else if let Some(ContextStateLine { context, health }) = line.context_state {
        FeedItem::ContextState { context, health }
    } else {
        return Err("no record in it".into());
    };
    Ok(Fed { at, item })
}

fn object_change(
    change_type: &str,
    key: ObjectKey,
    uid: String,
    resource_version: String,
    origin: Origin,
    payload: Option<Payload>,
) -> Result<Change<Payload>, String> {
    let change_type = match change_type {
        "ADDED" => ChangeType::Added,
        "MODIFIED" => ChangeType::Modified,
        "DELETED" => ChangeType::Deleted,
        other => return Err(format!("unknown change type {other:?}")),
    };
    Ok(Change {
        change_type,
        key,
        uid,
        resource_version,
        origin,
        payload,
        previous: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + second).expect("valid")
    }

    fn stream(kind: &str, plural: &str, secret: bool) -> Fed {
        let mut info = StreamInfo::new(StreamLabel {
            kind: kind.into(),
            api_version: "v1".into(),
            name: plural.into(),
            object_prefix: kind.to_lowercase(),
            secret,
        });
        info.context = Some("staging".into());
        Fed {
            at: at(0),
            item: FeedItem::Stream(Box::new(info)),
        }
    }

    fn change(stream: usize, name: &str, raw: &str) -> Fed {
        Fed {
            at: at(5),
            item: FeedItem::Change(Box::new(FedChange {
                stream,
                change: Change {
                    change_type: ChangeType::Modified,
                    key: ObjectKey {
                        namespace: Some("shop".into()),
                        name: name.into(),
                    },
                    uid: format!("uid-{name}"),
                    resource_version: "12".into(),
                    origin: Origin::Relist,
                    payload: Some(Payload::new(
                        raw.into(),
                        Some(vec![Value::from(name), Value::from(3)]),
                        true,
                    )),
                    previous: None,
                },
                field_changes: vec![FieldChange {
                    path: "status.phase".into(),
                    before: Some("Pending".into()),
                    after: Some("Running".into()),
                    hidden: false,
                    composite: false,
                }],
                changed_by: vec![
                    serde_json::from_value(serde_json::json!({"manager": "kwok", "operation": "Update",
                        "subresource": "status", "time": "2026-12-06T17:12:24Z", "fields": ["status.phase"]}))
                    .expect("a writer"),
                ],
            })),
        }
    }

    #[test]
    fn every_item_reads_back_as_it_was_written() {
        let mut encoder = Encoder::new(false);
        let items = [
            stream("Pod", "pods", false),
            Fed {
                at: at(1),
                item: FeedItem::Columns {
                    stream: 0,
                    columns: vec![Column {
                        name: "Name".into(),
                        column_type: "string".into(),
                        format: "name".into(),
                        priority: 0,
                    }],
                },
            },
            Fed {
                at: at(2),
                item: FeedItem::Synced(Synced {
                    context: Some("staging".into()),
                    took: Duration::from_millis(412),
                    streams: vec![SyncedStream {
                        stream: 0,
                        existing: 12,
                        cell_widths: vec![5, 3],
                    }],
                    line: "staging: Synced 12 pods in 0.41s; watching for changes".into(),
                }),
            },
            change(0, "web-1", r#"{"kind":"Pod","metadata":{"name":"web-1"}}"#),
            Fed {
                at: at(6),
                item: FeedItem::Notice {
                    kind: NoticeKind::Relist,
                    text: "pods: relisted".into(),
                },
            },
            Fed {
                at: at(7),
                item: FeedItem::ContextState {
                    context: Some("staging".into()),
                    health: ContextHealth::Reconnecting {
                        streams: 2,
                        cause: "pods: watch interrupted (connection reset)".into(),
                    },
                },
            },
        ];
        for item in &items {
            let line = encoder.encode(item);
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'), "{line}");
            let read = decode(&line).expect("reads back");
            assert_eq!(read.at, item.at);
            match (&read.item, &item.item) {
                (FeedItem::Stream(a), FeedItem::Stream(b)) => {
                    assert_eq!((&a.label, &a.context), (&b.label, &b.context))
                }
                (FeedItem::Columns { columns: a, .. }, FeedItem::Columns { columns: b, .. }) => assert_eq!(a, b),
                (FeedItem::Synced(a), FeedItem::Synced(b)) => assert_eq!(a, b),
                (FeedItem::Change(a), FeedItem::Change(b)) => {
                    assert_eq!(a.stream, b.stream);
                    assert_eq!(a.field_changes, b.field_changes);
                    assert_eq!(a.changed_by, b.changed_by, "who made it");
                    assert_eq!(a.change.key, b.change.key);
                    assert_eq!(a.change.origin, b.change.origin);
                    assert_eq!(a.change.change_type, b.change.change_type);
                    assert_eq!(a.change.payload, b.change.payload, "object and cells");
                }
                (FeedItem::Notice { kind: a, text: ta }, FeedItem::Notice { kind: b, text: tb }) => {
                    assert_eq!((a, ta), (b, tb))
                }
                (
                    FeedItem::ContextState { context: a, health: ha },
                    FeedItem::ContextState { context: b, health: hb },
                ) => assert_eq!((a, ha), (b, hb)),
                (read, written) => panic!("{read:?} read back from {written:?}"),
            }
        }
    }

    #[test]
    fn a_secrets_values_stay_out_unless_asked_for() {
        let raw = r#"{"kind":"Secret","metadata":{"name":"db","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"czNjcjN0\"}}"}},"data":{"password":"czNjcjN0"}}"#;
        // What it changed, as a source that kept the values (`--record-secret-values`) hands it over.
        let mut changed = change(0, "db", raw);
        if let FeedItem::Change(fed) = &mut changed.item {
            fed.field_changes = vec![FieldChange {
                path: "data.password".into(),
                before: Some("b2xkLXZhbHVl".into()),
                after: Some("czNjcjN0".into()),
                hidden: true,
                composite: false,
            }];
        }
        let mut encoder = Encoder::new(false);
        encoder.encode(&stream("Secret", "secrets", true));
        let line = encoder.encode(&changed);
        assert!(!line.contains("czNjcjN0") && !line.contains("b2xkLXZhbHVl"), "{line}");
        assert!(line.contains(r#""password":"<hidden>""#), "{line}");
        assert!(
            line.contains(r#""path":"data.password","before":"<hidden>","after":"<hidden>""#),
            "{line}"
        );

        let mut encoder = Encoder::new(true);
        encoder.encode(&stream("Secret", "secrets", true));
        let line = encoder.encode(&changed);
        assert!(line.contains(r#""data":{"password":"czNjcjN0"}"#), "{line}");
        assert!(line.contains(r#""before":"b2xkLXZhbHVl","after":"czNjcjN0""#), "{line}");
    }

    #[test]
    fn a_header_of_another_file_or_a_newer_format_is_refused() {
        let header = Header::new(at(0), "context kind · pods in all namespaces".into(), true, false, true);
        assert_eq!(Header::decode(header.encode().trim_end()), Ok(header.clone()));
        assert!(Header::decode(r#"{"type":"ADDED","object":{}}"#).is_err());
        let newer = header.encode().replace(r#""version":2"#, r#""version":9"#);
        assert!(Header::decode(&newer).unwrap_err().contains("newer"));
        assert!(decode(r#"{"at":"2026-12-02T06:00:00Z","change":{"stream":0}}"#).is_err());
    }
}
