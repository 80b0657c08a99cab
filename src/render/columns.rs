//! Which columns a table has and what each cell says: the event and its time first, then exactly the columns
//! `kubectl get` shows for the kind (from the server's Table), then WHAT CHANGED. Shared by the appended lines
//! and the live table.

use jiff::Timestamp;

use crate::engine::tracker::{ChangeType, Origin};
use crate::engine::wire::Column;
use crate::view::events::EventNote;
use crate::view::{ChangeRecord, OwnerRef, StreamInfo};
use crate::view::{summary, writers};

/// The flags that shape the table, as kubectl has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Several contexts are watched: a CONTEXT column first.
    pub contexts: bool,
    /// `-o wide`: also the columns the server marks with a priority above 0.
    pub wide: bool,
    /// `-A`: a NAMESPACE column first, as kubectl adds.
    pub all_namespaces: bool,
    pub no_headers: bool,
    /// `-L`: one column per label key.
    pub label_columns: Vec<String>,
    /// `--show-labels`: a LABELS column.
    pub show_labels: bool,
    pub color: bool,
    /// The Events about the objects are watched: the live view's LAST EVENT, the lines' REASON.
    pub events: bool,
    /// Who changed each object is said: a WHO column.
    pub who: bool,
}

/// How many changed fields WHAT CHANGED lists, and how long each value may be.
const SUMMARY_FIELDS: usize = 4;
const SUMMARY_VALUE: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leading {
    /// EVENT, TIME: the appended lines.
    Lines,
    /// EVENT, LAST CHANGE, CHANGES: the live table.
    Live,
}

/// The columns of one table.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Where the leading columns end: 2 for the lines, 3 for the live table.
    leading_count: usize,
    context: bool,
    namespace: bool,
    /// The server columns shown, by index; `None` for several types in one table, where NAME is `kind/name`
    /// and the other kubectl columns go into DETAILS.
    server_columns: Option<Vec<usize>>,
    headers: Vec<String>,
    label_columns: Vec<String>,
    show_labels: bool,
    /// Where the OWNER column is (the live view only).
    owner: Option<usize>,
    /// Where the latest Event is: LAST EVENT in the live view, REASON in the lines.
    event: Option<usize>,
    /// Where WHO is.
    who: Option<usize>,
    leading: Leading,
}

/// The longest LAST EVENT cell; the whole message is in the details.
const EVENT_CELL: usize = 60;

impl Layout {
    /// The appended lines: one table for every type watched.
    pub fn for_lines(streams: &[StreamInfo], options: &TableOptions) -> Layout {
        match streams {
            // One kind (in one context, or the same kind in several): kubectl's columns.
            [first, rest @ ..] if rest.iter().all(|stream| stream.label == first.label) => {
                Layout::new(Leading::Lines, Some(first), options)
            }
            _ => Layout::new(Leading::Lines, None, options),
        }
    }

    /// One section of the live table: one type.
    pub fn for_live_section(stream: &StreamInfo, options: &TableOptions) -> Layout {
        Layout::new(Leading::Live, Some(stream), options)
    }

    /// The live table as a tree of owners: every type in one table, NAME as `kind/name`.
    pub fn for_live_tree(options: &TableOptions) -> Layout {
        Layout::new(Leading::Live, None, options)
    }

    fn new(leading: Leading, stream: Option<&StreamInfo>, options: &TableOptions) -> Layout {
        let mut headers: Vec<String> = match leading {
            Leading::Lines => vec!["EVENT".into(), "TIME".into()],
            Leading::Live => vec!["EVENT".into(), "LAST CHANGE".into(), "CHANGES".into()],
        };
        let leading_count = headers.len();
        if options.contexts {
            headers.push("CONTEXT".into());
        }
        if options.all_namespaces {
            headers.push("NAMESPACE".into());
        }
        let server_columns = stream.map(|stream| {
            let shown: Vec<usize> = visible_columns(&stream.columns, options.wide);
            if shown.is_empty() { Vec::new() } else { shown }
        });
        match (&server_columns, stream) {
            (Some(shown), Some(stream)) if !shown.is_empty() => {
                headers.extend(shown.iter().map(|index| stream.columns[*index].name.to_uppercase()));
            }
            // No Table from the server (or not yet): the name is what is known.
            (Some(_), _) => headers.push("NAME".into()),
            (None, _) => headers.extend(["NAME".to_string(), "DETAILS".to_string()]),
        }
        headers.extend(options.label_columns.iter().map(|key| label_header(key)));
        if options.show_labels {
            headers.push("LABELS".into());
        }
        let owner = (leading == Leading::Live).then(|| {
            headers.push("OWNER".into());
            headers.len() - 1
        });
        let event = options.events.then(|| {
            headers.push(match leading {
                Leading::Live => "LAST EVENT".into(),
                Leading::Lines => "REASON".into(),
            });
            headers.len() - 1
        });
        let who = options.who.then(|| {
            headers.push("WHO".into());
            headers.len() - 1
        });
        headers.push("WHAT CHANGED".into());
        Layout {
            leading_count,
            context: options.contexts,
            namespace: options.all_namespaces,
            server_columns,
            headers,
            label_columns: options.label_columns.clone(),
            show_labels: options.show_labels,
            owner,
            event,
            who,
            leading,
        }
    }

    pub fn headers(&self) -> Vec<String> {
        self.headers.clone()
    }

    /// The widths known before any change: EVENT's and TIME's, and each kubectl column's widest cell in the
    /// snapshot. Lines that start from these rarely need to widen a column later.
    pub fn known_widths(&self, streams: &[StreamInfo]) -> Vec<usize> {
        let mut widths = vec!["MODIFIED".len(), "2026-11-22T12:05:20.123Z".len()];
        widths.resize(
            widths.len() + usize::from(self.context) + usize::from(self.namespace),
            0,
        );
        if let (Some(shown), Some(stream)) = (&self.server_columns, streams.first()) {
            widths.extend(
                shown
                    .iter()
                    .map(|index| stream.cell_widths.get(*index).copied().unwrap_or(0)),
            );
        }
        widths
    }

    /// The cells of one record. `time` is the TIME (lines) or LAST CHANGE (live) text; with `live` set to the
    /// current time and the number of changes, ages tick (AGE is recomputed from the object's creation).
    /// `event` is the latest Event about the object.
    pub fn cells(
        &self,
        streams: &[StreamInfo],
        record: &ChangeRecord,
        time: &str,
        live: Option<(Timestamp, u32)>,
        event: Option<&EventNote>,
    ) -> Vec<String> {
        let stream = &streams[record.stream];
        let mut cells = match live {
            // The live view tells objects created since the start from those that existed.
            Some((_, changes)) => vec![record.event_label(), time.to_string(), changes.to_string()],
            None => vec![record.event.as_str().to_string(), time.to_string()],
        };
        if self.context {
            cells.push(stream.context.clone().unwrap_or_default());
        }
        if self.namespace {
            cells.push(record.key.namespace.clone().unwrap_or_default());
        }
        match &self.server_columns {
            Some(shown) if !shown.is_empty() => {
                for index in shown {
                    // The same kind in another context may have other columns (another version).
                    cells.push(match stream.columns.get(*index) {
                        Some(column) => cell(record, column, *index, live.map(|(now, _)| now)),
                        None => String::new(),
                    });
                }
            }
            Some(_) => cells.push(record.key.name.clone()),
            None => {
                cells.push(format!("{}/{}", stream.label.object_prefix, record.key.name));
                let details: Vec<String> = visible_columns(&stream.columns, false)
                    .into_iter()
                    .filter(|index| stream.columns[*index].format != "name")
                    .filter_map(|index| {
                        let text = cell(record, &stream.columns[index], index, live.map(|(now, _)| now));
                        (!text.is_empty()).then(|| format!("{}={}", stream.columns[index].name, text))
                    })
                    .collect();
                cells.push(details.join(" "));
            }
        }
        for key in &self.label_columns {
            cells.push(record.labels.get(key).cloned().unwrap_or_default());
        }
        if self.show_labels {
            let labels: Vec<String> = record
                .labels
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            cells.push(if labels.is_empty() {
                "<none>".to_string()
            } else {
                labels.join(",")
            });
        }
        if self.owner.is_some() {
            cells.push(record.owner.as_ref().map(OwnerRef::display).unwrap_or_default());
        }
        if self.event.is_some() {
            cells.push(match (self.leading, event) {
                (_, None) => String::new(),
                (Leading::Lines, Some(event)) => event_reason(event),
                (Leading::Live, Some(event)) => last_event(event, live.map(|(now, _)| now)),
            });
        }
        if self.who.is_some() {
            cells.push(who_cell(record));
        }
        cells.push(what_changed(record));
        cells
    }

    /// Where OWNER is, in the live view.
    pub fn owner_column(&self) -> Option<usize> {
        self.owner
    }

    /// Where LAST EVENT is, to make a Warning stand out.
    pub fn event_column(&self) -> Option<usize> {
        self.event
    }

    /// Where WHO is.
    pub fn who_column(&self) -> Option<usize> {
        self.who
    }

    /// The columns a terminal too narrow for all of them gives up, in the order they go: how often and when an
    /// object changed, its owner, the label columns, its latest Event, who changed it, kubectl's columns from
    /// the right (its NAME stays), the namespace, and WHAT CHANGED. EVENT and NAME always stay.
    pub fn drop_order(&self, stream: &StreamInfo) -> Vec<usize> {
        let mut order = vec![2, 1]; // CHANGES, LAST CHANGE (the live view's leading columns)
        let what_changed = self.what_changed_column();
        let server_start = self.server_start();
        let server_count = match &self.server_columns {
            Some(shown) if !shown.is_empty() => shown.len(),
            Some(_) => 1,
            None => 2,
        };
        let labels_start = server_start + server_count;
        let labels_end = self.owner.or(self.event).or(self.who).unwrap_or(what_changed);
        order.extend(self.owner);
        order.extend((labels_start..labels_end).rev());
        order.extend(self.event);
        order.extend(self.who);
        let server_kept = |offset: usize| match &self.server_columns {
            Some(shown) if !shown.is_empty() => stream.columns[shown[offset]].format == "name",
            _ => offset == 0, // NAME (then DETAILS, for several types)
        };
        order.extend(
            (0..server_count)
                .rev()
                .filter(|offset| !server_kept(*offset))
                .map(|offset| server_start + offset),
        );
        if self.namespace {
            order.push(self.leading_count + usize::from(self.context));
        }
        if self.context {
            order.push(self.leading_count);
        }
        order.push(what_changed);
        order
    }

    /// The index of the object's NAME (kubectl's name column, or `kind/name` with several types): what a person
    /// reads first, kept whole as long as the terminal can hold it.
    pub fn name_column(&self, stream: &StreamInfo) -> usize {
        let server_start = self.server_start();
        let offset = match &self.server_columns {
            Some(shown) => shown
                .iter()
                .position(|column| {
                    stream
                        .columns
                        .get(*column)
                        .is_some_and(|column| column.format == "name")
                })
                .unwrap_or(0),
            None => 0,
        };
        server_start + offset
    }

    /// Where kubectl's columns begin: after the leading ones, CONTEXT and NAMESPACE.
    fn server_start(&self) -> usize {
        self.leading_count + usize::from(self.context) + usize::from(self.namespace)
    }

    /// The index of the WHAT CHANGED column, the one that gives way first when the table is too wide.
    pub fn what_changed_column(&self) -> usize {
        self.headers.len() - 1
    }
}

/// Which of the server's columns to show: priority 0, and with `-o wide` all of them.
fn visible_columns(columns: &[Column], wide: bool) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .filter(|(_, column)| wide || column.priority == 0)
        .map(|(index, _)| index)
        .collect()
}

fn cell(record: &ChangeRecord, column: &Column, index: usize, now: Option<Timestamp>) -> String {
    if let (Some(now), Some(created), true) = (now, record.created, column.name == "Age") {
        return human_duration(now.duration_since(created));
    }
    match record.cells.get(index) {
        Some(text) => text.clone(),
        // An object found deleted by a relist comes without cells; its name is all that is known.
        None if column.format == "name" => record.key.name.clone(),
        None => "<unknown>".to_string(),
    }
}

/// REASON in the lines: `Scheduled`, `⚠ BackOff ×3`.
fn event_reason(event: &EventNote) -> String {
    let warning = if event.warning { "⚠ " } else { "" };
    format!("{warning}{}", event.reason_counted())
}

/// LAST EVENT in the live view: `⚠ BackOff ×3 (5s): Back-off restarting failed container…`.
fn last_event(event: &EventNote, now: Option<Timestamp>) -> String {
    let short = last_event_short(event, now);
    let text = if event.message.is_empty() {
        short
    } else {
        format!("{short}: {}", event.message)
    };
    summary::one_line(&text, EVENT_CELL)
}

/// LAST EVENT where the message does not fit: its reason, count and age (`⚠ BackOff ×3 (5s)`).
pub fn last_event_short(event: &EventNote, now: Option<Timestamp>) -> String {
    let ago = match (now, event.last_seen) {
        (Some(now), Some(seen)) => format!(" ({})", human_duration(now.duration_since(seen))),
        _ => String::new(),
    };
    summary::one_line(&format!("{}{ago}", event_reason(event)), EVENT_CELL)
}

/// kubectl's header for a `-L` column: the key's last segment, upper-cased.
fn label_header(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_uppercase()
}

/// WHO: the writers of the change, or the fight it is part of (`⚠ spec.replicas: hpa ↔ argocd ×3`).
pub fn who_cell(record: &ChangeRecord) -> String {
    match &record.fight {
        Some(fight) => summary::one_line(&fight.display(), usize::MAX),
        None => summary::one_line(&writers::who(&record.changed_by), usize::MAX),
    }
}

/// WHAT CHANGED: the fields a modification changed; for a change found by a relist, that it was.
pub fn what_changed(record: &ChangeRecord) -> String {
    let fields = summary::summarize(&record.field_changes, SUMMARY_FIELDS, SUMMARY_VALUE);
    match (record.origin, fields.is_empty()) {
        (Origin::Watch, _) => fields,
        (Origin::Relist, true) => "(found by relist)".to_string(),
        (Origin::Relist, false) => format!("{fields} (found by relist)"),
    }
}

/// The ANSI colour of an event's name: green for ADDED, yellow for MODIFIED, red for DELETED.
pub fn event_color(event: ChangeType) -> &'static str {
    match event {
        ChangeType::Added => "\x1b[32m",
        ChangeType::Modified => "\x1b[33m",
        ChangeType::Deleted => "\x1b[31m",
    }
}

/// A duration the way kubectl prints ages (`k8s.io/apimachinery/pkg/util/duration.HumanDuration`).
pub fn human_duration(duration: jiff::SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    match seconds {
        s if s < 120 => format!("{s}s"),
        _ if minutes < 10 => match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        },
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        },
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        },
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        },
        _ => format!("{}y", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let age = |seconds: i64| human_duration(jiff::SignedDuration::from_secs(seconds));
        assert_eq!(age(-5), "<invalid>");
        assert_eq!(age(0), "0s");
        assert_eq!(age(119), "119s");
        assert_eq!(age(125), "2m5s");
        assert_eq!(age(600), "10m");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(age(30 * 3600), "30h");
        assert_eq!(age(3 * 86400 + 3600), "3d1h");
        assert_eq!(age(100 * 86400), "100d");
        assert_eq!(age(3 * 365 * 86400 + 86400), "3y1d");
    }

    #[test]
    fn label_headers_take_the_last_segment() {
        assert_eq!(label_header("app.kubernetes.io/name"), "NAME");
        assert_eq!(label_header("tier"), "TIER");
    }
}
