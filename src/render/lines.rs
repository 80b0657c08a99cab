//! The append-only outputs, one change at a time: aligned lines with kubectl's columns (the default when stdout
//! is not a terminal), `-o name`, `-o json` and `-o yaml`. Pure: each change becomes text in a buffer.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::json;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Modify, Padding, Style, Width};
use unicode_width::UnicodeWidthStr;

use super::columns::{self, Layout, TableOptions};
use crate::engine::tracker::Change;
use crate::engine::wire::Payload;
use crate::view::events::EventLog;
use crate::view::feed::FedChange;
use crate::view::fights::Fights;
use crate::view::writers::Writer;
use crate::view::{ChangeRecord, StreamInfo, StreamLabel, fight_subject};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// Aligned columns: EVENT, TIME, then what `kubectl get` prints, then WHAT CHANGED.
    Table,
    /// `pod/web-1`, as `kubectl get -o name`.
    Name,
    /// `{"type":"ADDED","object":{...}}`, the object exactly as the server sent it.
    Json,
    /// The same WatchEvent as YAML, one document per change.
    Yaml,
}

pub struct LinePrinter {
    format: LineFormat,
    options: TableOptions,
    /// The widest cell seen so far in each column: later lines line up with earlier ones.
    widths: Vec<usize>,
    header_printed: bool,
    documents: usize,
    /// The writers of every field, to call out those that fight (the table lines).
    fights: Fights,
}

impl LinePrinter {
    pub fn new(format: LineFormat, options: TableOptions) -> Self {
        LinePrinter {
            format,
            options,
            widths: Vec::new(),
            header_printed: false,
            documents: 0,
            fights: Fights::default(),
        }
    }

    /// Appends the output for one change, seen at `at`, to `out`; `events` has the Events seen so far, for the
    /// REASON column. Returns a notice to say beside the output: a fight between writers, the first time.
    pub fn print(
        &mut self,
        out: &mut String,
        streams: &[StreamInfo],
        fed: &FedChange,
        at: Timestamp,
        events: &EventLog,
    ) -> Option<String> {
        let stream = &streams[fed.stream];
        let mut notice = None;
        self.print_as(
            out,
            &stream.label,
            stream.context.as_deref(),
            &fed.change,
            &fed.changed_by,
            |printer, out| {
                let mut record = ChangeRecord::worked_out(
                    fed.stream,
                    &fed.change,
                    fed.field_changes.clone(),
                    fed.changed_by.clone(),
                    at,
                );
                if let Some(observed) = printer.fights.observe(
                    record.stream,
                    &record.key,
                    record.event,
                    at,
                    &record.field_changes,
                    &record.changed_by,
                ) {
                    if observed.new {
                        notice = Some(format!(
                            "{} {}",
                            fight_subject(streams, &record),
                            observed.fight.display()
                        ));
                    }
                    record.fight = Some(observed.fight);
                }
                printer.table_line(out, streams, &record, events)
            },
        );
        notice
    }

    /// Appends a change of an Event about a watched object (`--with-events`), for the outputs that print
    /// objects; `context` when several are watched.
    pub fn print_event(&mut self, out: &mut String, change: &Change<Payload>, context: Option<&str>) {
        self.print_as(out, &event_label(change), context, change, &[], |_, _| {});
    }

    fn print_as(
        &mut self,
        out: &mut String,
        label: &StreamLabel,
        context: Option<&str>,
        change: &Change<Payload>,
        changed_by: &[Writer],
        table_line: impl FnOnce(&mut Self, &mut String),
    ) {
        match self.format {
            LineFormat::Json => {
                out.push_str(&watch_event_json(change, label, context, changed_by));
                out.push('\n');
            }
            LineFormat::Yaml => {
                if self.documents > 0 {
                    out.push_str("---\n");
                }
                self.documents += 1;
                let event: serde_json::Value =
                    serde_json::from_str(&watch_event_json(change, label, context, changed_by))
                        .unwrap_or(serde_json::Value::Null);
                match serde_saphyr::to_string(&event) {
                    Ok(yaml) => out.push_str(&yaml),
                    Err(error) => {
                        let _ = writeln!(out, "# this event could not be written as YAML: {error}");
                    }
                }
            }
            LineFormat::Name => {
                let _ = writeln!(out, "{}/{}", label.object_prefix, change.key.name);
            }
            LineFormat::Table => table_line(self, out),
        }
    }

    fn table_line(&mut self, out: &mut String, streams: &[StreamInfo], record: &ChangeRecord, events: &EventLog) {
        let layout = Layout::for_lines(streams, &self.options);
        let time = format!("{:.3}", record.at);
        let label = &streams[record.stream].label;
        let event = events.latest(
            &record.uid,
            &label.kind,
            record.key.namespace.as_deref(),
            &record.key.name,
        );
        let cells = layout.cells(streams, record, &time, None, event);
        if !self.header_printed {
            // The widths start from the snapshot's cells, so that most later lines fit under the header.
            self.header_printed = true;
            self.grow(&layout.headers());
            self.grow_to(&layout.known_widths(streams));
            self.grow(&cells);
            if !self.options.no_headers {
                self.aligned(out, &layout.headers(), None);
            }
        }
        self.grow(&cells);
        let color = self.options.color.then(|| columns::event_color(record.event));
        self.aligned(out, &cells, color);
    }

    fn grow(&mut self, cells: &[String]) {
        self.grow_to(&cells.iter().map(|cell| cell.width()).collect::<Vec<_>>());
    }

    fn grow_to(&mut self, widths: &[usize]) {
        if self.widths.len() < widths.len() {
            self.widths.resize(widths.len(), 0);
        }
        for (width, wanted) in self.widths.iter_mut().zip(widths) {
            *width = (*width).max(*wanted);
        }
    }

    /// One line, each column as wide as the widest cell seen in it so far; the last column is not padded.
    fn aligned(&self, out: &mut String, cells: &[String], event_color: Option<&str>) {
        let mut builder = Builder::default();
        builder.push_record(cells.iter().cloned());
        let mut table = builder.build();
        table.with(Style::empty()).with(Padding::new(0, 3, 0, 0));
        for (index, width) in self.widths.iter().enumerate().take(cells.len().saturating_sub(1)) {
            table.with(Modify::new(Columns::one(index)).with(Width::increase(*width)));
        }
        let line = table.to_string();
        let line = line.trim_end();
        match event_color {
            // EVENT is the first column: colour its word, after alignment, so that widths stay right.
            Some(color) => {
                let word_end = line.find(' ').unwrap_or(line.len());
                let _ = writeln!(out, "{color}{}\x1b[0m{}", &line[..word_end], &line[word_end..]);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
}

/// An Event's type, as `-o name` and a vanished Event's identity need it: from its own apiVersion.
fn event_label(change: &Change<Payload>) -> StreamLabel {
    let core = change
        .payload
        .as_ref()
        .is_some_and(|payload| payload.raw.contains(r#""apiVersion":"v1""#));
    let (api_version, name, object_prefix) = match core {
        true => ("v1", "events", "event"),
        false => ("events.k8s.io/v1", "events.events.k8s.io", "event.events.k8s.io"),
    };
    StreamLabel {
        kind: "Event".into(),
        api_version: api_version.into(),
        name: name.into(),
        object_prefix: object_prefix.into(),
        secret: false,
    }
}

/// `{"type":"ADDED","object":{...}}`, then `"changedBy":[...]` when its writers are known, and
/// `"context":"staging"` when several contexts are watched. An object that vanished while the watch was down
/// is known only by its identity, so that is what its DELETED event carries.
pub fn watch_event_json(
    change: &Change<Payload>,
    label: &StreamLabel,
    context: Option<&str>,
    changed_by: &[Writer],
) -> String {
    let mut event = watch_event_object(change, label);
    if !changed_by.is_empty() {
        event.pop();
        // Written as the writers' own fields are ordered (manager first), not sorted as a `Value` would be.
        let writers = serde_json::to_string(changed_by).unwrap_or_else(|_| "[]".into());
        let _ = write!(event, r#","changedBy":{writers}}}"#);
    }
    if let Some(context) = context {
        event.pop();
        let _ = write!(event, r#","context":{}}}"#, json!(context));
    }
    event
}

fn watch_event_object(change: &Change<Payload>, label: &StreamLabel) -> String {
    let event_type = change.change_type.as_str();
    match &change.payload {
        Some(payload) => format!(r#"{{"type":"{event_type}","object":{}}}"#, payload.raw),
        None => {
            let mut metadata =
                json!({ "name": change.key.name, "uid": change.uid, "resourceVersion": change.resource_version });
            if let Some(namespace) = &change.key.namespace {
                metadata["namespace"] = json!(namespace);
            }
            let object = json!({ "apiVersion": label.api_version, "kind": label.kind, "metadata": metadata });
            format!(r#"{{"type":"{event_type}","object":{object}}}"#)
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::engine::tracker::{ChangeType, ObjectKey, Origin};
    use crate::engine::wire::{Column, Memo, Packed};
    use crate::view::StreamLabel;

    fn pods() -> StreamInfo {
        let column = |name: &str, priority: i32| Column {
            name: name.into(),
            column_type: "string".into(),
            format: String::new(),
            priority,
        };
        StreamInfo {
            columns: vec![column("Name", 0), column("Status", 0), column("Node", 1)],
            ..StreamInfo::new(StreamLabel {
                kind: "Pod".into(),
                api_version: "v1".into(),
                name: "pods".into(),
                object_prefix: "pod".into(),
                secret: false,
            })
        }
    }

    fn change(event: ChangeType, name: &str, raw: Option<&str>) -> Change<Payload> {
        Change {
            change_type: event,
            key: ObjectKey {
                namespace: Some("team-a".into()),
                name: name.into(),
            },
            uid: "u1".into(),
            resource_version: "42".into(),
            origin: Origin::Watch,
            payload: raw.map(|raw| Payload::new(raw.into(), None, false)),
            previous: None,
        }
    }

    /// A pod change as a Table watch brings it: cells, the whole object, and the version before.
    fn pod_change(event: ChangeType, name: &str, status: &str) -> Change<Payload> {
        let object = |phase: &str| {
            format!(
                r#"{{"kind":"Pod","metadata":{{"name":"{name}","labels":{{"app":"web"}}}},"status":{{"phase":"{phase}"}}}}"#
            )
        };
        let mut change = change(event, name, Some(&object(status)));
        if let Some(payload) = &mut change.payload {
            payload.cells = Some(vec![json!(name), json!(status), json!("node-1")]);
        }
        if event == ChangeType::Modified {
            change.previous = Some(Memo {
                object: Some(Packed::pack(&object("Pending"))),
                writers: None,
                heartbeat_blind: None,
            });
        }
        change
    }

    fn at() -> Timestamp {
        "2026-11-22T12:05:20.123Z".parse().expect("time")
    }

    fn print(format: LineFormat, options: TableOptions, events: &[(ChangeType, &str, &str)]) -> String {
        print_with(format, options, events, &EventLog::default())
    }

    fn print_with(
        format: LineFormat,
        options: TableOptions,
        events: &[(ChangeType, &str, &str)],
        log: &EventLog,
    ) -> String {
        let mut printer = LinePrinter::new(format, options);
        let mut out = String::new();
        for (event, name, status) in events {
            let change = pod_change(*event, name, status);
            let fed = FedChange {
                stream: 0,
                field_changes: crate::view::field_changes_of(&change, crate::view::summary::Secrecy::Open),
                changed_by: Vec::new(),
                change,
            };
            printer.print(&mut out, &[pods()], &fed, at(), log);
        }
        out
    }

    #[test]
    fn the_latest_event_s_reason_is_on_the_line() {
        let mut log = EventLog::default();
        for (uid, reason, kind) in [("e1", "Scheduled", "Normal"), ("e2", "BackOff", "Warning")] {
            let event = format!(
                r#"{{"metadata":{{"uid":"{uid}"}},"regarding":{{"kind":"Pod","namespace":"team-a","name":"web-1"}},"reason":"{reason}","type":"{kind}","deprecatedCount":2}}"#
            );
            log.record(crate::view::events::ObservedEvent::from_json(&event).expect("an event"));
        }
        let options = TableOptions {
            events: true,
            ..TableOptions::default()
        };
        let out = print_with(
            LineFormat::Table,
            options,
            &[
                (ChangeType::Added, "web-1", "Pending"),
                (ChangeType::Added, "web-2", "Pending"),
            ],
            &log,
        );
        assert_eq!(
            out,
            "EVENT      TIME                       NAME    STATUS    REASON         WHAT CHANGED\n\
             ADDED      2026-11-22T12:05:20.123Z   web-1   Pending   ⚠ BackOff ×2\n\
             ADDED      2026-11-22T12:05:20.123Z   web-2   Pending\n"
        );
    }

    #[test]
    fn lines_have_kubectl_columns_between_event_and_what_changed() {
        let out = print(
            LineFormat::Table,
            TableOptions::default(),
            &[
                (ChangeType::Added, "web-1", "Pending"),
                (ChangeType::Modified, "web-1", "Running"),
            ],
        );
        assert_eq!(
            out,
            "EVENT      TIME                       NAME    STATUS    WHAT CHANGED\n\
             ADDED      2026-11-22T12:05:20.123Z   web-1   Pending\n\
             MODIFIED   2026-11-22T12:05:20.123Z   web-1   Running   status.phase Pending→Running\n"
        );
    }

    #[test]
    fn wide_labels_namespace_and_no_headers() {
        let options = TableOptions {
            contexts: false,
            wide: true,
            all_namespaces: true,
            no_headers: true,
            label_columns: vec!["app".into(), "tier".into()],
            show_labels: true,
            color: false,
            events: false,
            who: false,
        };
        let out = print(LineFormat::Table, options, &[(ChangeType::Deleted, "web-1", "Running")]);
        // Columns keep the width of their headers even when the headers are not printed.
        assert_eq!(
            out,
            "DELETED    2026-11-22T12:05:20.123Z   team-a      web-1   Running   node-1   web          app=web\n"
        );
    }

    #[test]
    fn colour_marks_the_event_word_only() {
        let options = TableOptions {
            color: true,
            no_headers: true,
            ..TableOptions::default()
        };
        let out = print(LineFormat::Table, options, &[(ChangeType::Added, "web-1", "Pending")]);
        assert!(out.starts_with("\x1b[32mADDED\x1b[0m      2026"), "{out:?}");
    }

    #[test]
    fn name_json_and_yaml_formats() {
        let events = [
            (ChangeType::Added, "web-1", "Pending"),
            (ChangeType::Deleted, "web-2", "Running"),
        ];
        assert_eq!(
            print(LineFormat::Name, TableOptions::default(), &events),
            "pod/web-1\npod/web-2\n"
        );
        assert_eq!(
            print(LineFormat::Json, TableOptions::default(), &events[..1]),
            "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",\"labels\":{\"app\":\"web\"}},\"status\":{\"phase\":\"Pending\"}}}\n"
        );
        let yaml = print(LineFormat::Yaml, TableOptions::default(), &events);
        let documents: Vec<&str> = yaml.split("---\n").collect();
        assert_eq!(documents.len(), 2, "{yaml}");
        assert!(
            documents[0].contains("type: ADDED") && documents[0].contains("name: web-1"),
            "{yaml}"
        );
        assert!(documents[1].contains("type: DELETED"), "{yaml}");
    }

    #[test]
    fn a_vanished_object_is_known_by_its_identity() {
        let mut vanished = change(ChangeType::Deleted, "web-1", None);
        vanished.origin = Origin::Relist;
        let event: serde_json::Value =
            serde_json::from_str(&watch_event_json(&vanished, &pods().label, None, &[])).expect("valid JSON");
        assert_eq!(
            event,
            json!({"type": "DELETED", "object": {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "team-a", "uid": "u1", "resourceVersion": "42"}}})
        );
    }

    #[test]
    fn with_several_contexts_json_names_the_context_beside_type_and_object() {
        let change = change(ChangeType::Added, "web-1", Some(r#"{"kind":"Pod"}"#));
        let event: serde_json::Value =
            serde_json::from_str(&watch_event_json(&change, &pods().label, Some("staging"), &[])).expect("valid JSON");
        assert_eq!(
            event,
            json!({"type": "ADDED", "object": {"kind": "Pod"}, "context": "staging"})
        );
    }
}
