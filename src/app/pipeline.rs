//! The session and the rules both outputs share: what a message from the streams amounts to.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Engine;
use crate::engine::session::{Report, Session};
use crate::engine::stream::{Notice, StreamMessage};
use crate::engine::tracker::{Change, ChangeType, StreamEvent};
use crate::engine::wire::Payload;
use crate::error::Result;
use crate::settings::Settings;
use crate::view::StreamInfo;

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
}

/// The session and the reporting rules shared by both outputs: `--types`, `--count`.
pub(super) struct Pipeline {
    session: Session<Payload>,
    event_types: Vec<ChangeType>,
    remaining: Option<u64>,
    started: Instant,
    reports: Vec<Report<Payload>>,
}

impl Pipeline {
    pub(super) fn new(engine: &Engine, settings: &Settings) -> Pipeline {
        Pipeline {
            session: Session::new(engine.streams.len()),
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
