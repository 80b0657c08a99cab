//! The rules every output shares, whatever the source: `--types` and `--count` decide which changes are
//! reported, `--record` writes what is reported as it goes, and `--export` sends it.

use std::fs::File;
use std::io::{BufWriter, Write};

use crate::engine::tracker::ChangeType;
use crate::error::{Error, Result};
use crate::export::ExportFeed;
use crate::settings::{RecordTo, Settings};
use crate::view::feed::{Fed, FeedItem};
use crate::view::recording::{Encoder, Header};

pub(super) struct Reporting {
    event_types: Vec<ChangeType>,
    remaining: Option<u64>,
    recorder: Option<Recorder>,
    export: Option<ExportFeed>,
}

impl Reporting {
    pub(super) fn new(settings: &Settings, header: Header, export: Option<ExportFeed>) -> Result<Reporting> {
        let recorder = settings
            .record
            .as_ref()
            .map(|record| Recorder::create(record, &header))
            .transpose()?;
        Ok(Reporting {
            event_types: settings.event_types.clone(),
            remaining: settings.count,
            recorder,
            export,
        })
    }

    /// True once `--count` changes have been reported.
    pub(super) fn done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Keeps in `batch` what is reported (the changes of the types asked for, up to the count; everything
    /// else), records it and exports it.
    pub(super) fn admit(&mut self, batch: &mut Vec<Fed>) -> Result<()> {
        batch.retain(|fed| match &fed.item {
            FeedItem::Change(change) => {
                if self.remaining == Some(0) || !self.event_types.contains(&change.change.change_type) {
                    return false;
                }
                if let Some(remaining) = &mut self.remaining {
                    *remaining -= 1;
                }
                true
            }
            _ => true,
        });
        if let Some(export) = &mut self.export {
            export.offer(batch);
        }
        match &mut self.recorder {
            Some(recorder) => recorder.write(batch),
            None => Ok(()),
        }
    }

    /// The next thing the export has to say (the collector away, refusing, back); never without an export.
    pub(super) async fn export_notice(&mut self) -> String {
        match &mut self.export {
            Some(export) => export.notice().await,
            None => std::future::pending().await,
        }
    }
}

/// `--record FILE`: a line per item, flushed after each batch, so that the file can be read while it grows
/// and holds every whole line written before an abrupt end.
struct Recorder {
    file: BufWriter<File>,
    encoder: Encoder,
    path: String,
}

impl Recorder {
    fn create(record: &RecordTo, header: &Header) -> Result<Recorder> {
        let path = record.path.display().to_string();
        let file = File::create(&record.path).map_err(|error| cannot_write(&path, &error))?;
        let mut recorder = Recorder {
            file: BufWriter::new(file),
            encoder: Encoder::new(record.secret_values),
            path,
        };
        recorder
            .file
            .write_all(header.encode().as_bytes())
            .and_then(|()| recorder.file.flush())
            .map_err(|error| cannot_write(&recorder.path, &error))?;
        Ok(recorder)
    }

    fn write(&mut self, batch: &[Fed]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut written = Ok(());
        for fed in batch {
            written = self.file.write_all(self.encoder.encode(fed).as_bytes());
            if written.is_err() {
                break;
            }
        }
        written
            .and_then(|()| self.file.flush())
            .map_err(|error| cannot_write(&self.path, &error))
    }
}

fn cannot_write(path: &str, error: &std::io::Error) -> Error {
    Error::Recording(format!("cannot write the recording {path}: {error}"))
}
