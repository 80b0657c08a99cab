//! The session and the rules both outputs share: what a message from the streams amounts to.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Engine;
use crate::engine::session::{Report, Session};
use crate::engine::stream::{Notice, StreamMessage};
use crate::engine::tracker::{Change, ChangeType, StreamEvent};
use crate::engine::wire::Payload;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::view::StreamInfo;
use crate::view::events::ObservedEvent;

/// At most this many waiting messages are taken at once, so that output and keys are never held back long.
const MESSAGES_PER_TURN: usize = 1024;

/// What a message from the streams amounts to, for either output.
pub(super) enum Outcome {
    Synced {
        existing: Vec<usize>,
        took: Duration,
    },
    Relisted {
        stream: usize,
        changes: usize,
    },
    Change {
        stream: usize,
        change: Box<Change<Payload>>,
    },
    Notice {
        stream: usize,
        notice: Notice,
    },
    /// An Event about a watched object; `change` is the Event's own change, once the Events have synced.
    Event {
        observed: ObservedEvent,
        change: Option<Box<Change<Payload>>>,
    },
    /// The Events cannot be watched (no permission, most often): the rest goes on without them.
    EventsUnavailable(Error),
}

/// The session and the reporting rules shared by both outputs: `--types`, `--count`.
pub(super) struct Pipeline {
    session: Session<Payload>,
    /// The Events' stream has a session of its own: the watched types never wait for it to sync.
    events: Option<(usize, Session<Payload>)>,
    /// The Events' stream failed before the watched types synced: said once they have, since a failure to
    /// connect at all ends the run with its own error, and the Events' would only repeat it.
    events_failure: Option<Error>,
    event_types: Vec<ChangeType>,
    remaining: Option<u64>,
    started: Instant,
    reports: Vec<Report<Payload>>,
}

impl Pipeline {
    pub(super) fn new(engine: &Engine, settings: &Settings) -> Pipeline {
        Pipeline {
            session: Session::new(engine.streams.len()),
            events: engine.events.as_ref().map(|events| (events.index, Session::new(1))),
            events_failure: None,
            event_types: settings.event_types.clone(),
            remaining: settings.count,
            started: engine.started,
            reports: Vec::new(),
        }
    }

    /// Whether every stream has synced: from then on, waits on the server are said as interruptions.
    pub(super) fn synced(&self) -> bool {
        self.session.is_synced()
    }

    /// True once `--count` changes have been reported.
    pub(super) fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Handles `first` and what is already waiting behind it (up to `MESSAGES_PER_TURN`), so that a burst
    /// costs one turn of the output's loop. Stops at the first failure; the outcomes before it stay.
    pub(super) fn take_burst(
        &mut self,
        receiver: &mut mpsc::Receiver<(usize, StreamMessage)>,
        first: (usize, StreamMessage),
        streams: &mut [StreamInfo],
        outcomes: &mut Vec<Outcome>,
    ) -> Result<()> {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some((stream, message)) = next.take() {
            self.handle(streams, stream, message, outcomes)?;
            taken += 1;
            if taken < MESSAGES_PER_TURN && !self.done() {
                next = receiver.try_recv().ok();
            }
        }
        Ok(())
    }

    fn handle(
        &mut self,
        streams: &mut [StreamInfo],
        stream: usize,
        message: StreamMessage,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<()> {
        if let Some((index, events)) = &mut self.events
            && *index == stream
        {
            match message {
                StreamMessage::Event(event) => {
                    // The Events that exist at the start are joined as well: why a pod restarts may be older.
                    if let (StreamEvent::ListItem(object), false) = (&event, events.is_synced())
                        && let Some(observed) = ObservedEvent::from_json(&object.payload.raw)
                    {
                        outcomes.push(Outcome::Event { observed, change: None });
                    }
                    events.apply(0, event, &mut self.reports);
                }
                StreamMessage::Columns(_) => {}
                StreamMessage::Notice(notice) => outcomes.push(Outcome::Notice { stream, notice }),
                StreamMessage::Failed(error) if self.session.is_synced() => {
                    outcomes.push(Outcome::EventsUnavailable(error))
                }
                StreamMessage::Failed(error) => self.events_failure = Some(error),
            }
            for report in self.reports.drain(..) {
                // An Event that expires (after an hour, by default) is deleted: it was, all the same.
                if let Report::Change { change, .. } = report
                    && change.change_type != ChangeType::Deleted
                    && let Some(observed) = change
                        .payload
                        .as_ref()
                        .and_then(|payload| ObservedEvent::from_json(&payload.raw))
                {
                    outcomes.push(Outcome::Event {
                        observed,
                        change: Some(Box::new(change)),
                    });
                }
            }
            return Ok(());
        }
        match message {
            StreamMessage::Event(event) => {
                if let (StreamEvent::ListItem(object), false) = (&event, self.session.is_synced())
                    && let Some(cells) = &object.payload.cells
                {
                    streams[stream].measure(cells);
                }
                self.session.apply(stream, event, &mut self.reports);
            }
            StreamMessage::Columns(columns) => streams[stream].columns = columns,
            StreamMessage::Notice(notice) => outcomes.push(Outcome::Notice { stream, notice }),
            StreamMessage::Failed(error) => return Err(error),
        }
        for report in self.reports.drain(..) {
            match report {
                Report::Synced { existing } => {
                    for (info, count) in streams.iter_mut().zip(&existing) {
                        info.existing = *count;
                    }
                    outcomes.push(Outcome::Synced {
                        existing,
                        took: self.started.elapsed(),
                    });
                    if let Some(error) = self.events_failure.take() {
                        outcomes.push(Outcome::EventsUnavailable(error));
                    }
                }
                Report::Relisted { stream, changes } => outcomes.push(Outcome::Relisted { stream, changes }),
                Report::Change { stream, change } => {
                    if self.remaining == Some(0) || !self.event_types.contains(&change.change_type) {
                        continue;
                    }
                    if let Some(remaining) = &mut self.remaining {
                        *remaining -= 1;
                    }
                    outcomes.push(Outcome::Change {
                        stream,
                        change: Box::new(change),
                    });
                }
            }
        }
        Ok(())
    }
}
