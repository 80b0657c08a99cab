//! The source of changes that reads a recording (`--replay`), with no cluster: read whole up to its first
//! damaged line, then played in the live view (play, pause, step, jump) or printed as lines.

use std::time::Duration;

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::view::feed::{Fed, FeedItem};
use crate::view::recording::{self, Header};

/// While playing, a quiet stretch longer than this between two changes is shortened to it.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// A recording, read.
pub(super) struct Recording {
    pub header: Header,
    pub items: Vec<Fed>,
    /// Where the file stopped being readable, and whether that is only its last line cut short (a recording
    /// still being written, or ended abruptly) rather than damage in its middle.
    pub damage: Option<(String, bool)>,
}

impl Recording {
    pub(super) fn read(path: &std::path::Path) -> Result<Recording> {
        let shown = path.display();
        let text = std::fs::read(path).map_err(|error| Error::Recording(format!("cannot read {shown}: {error}")))?;
        let text = String::from_utf8_lossy(&text);
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().unwrap_or_default();
        let header = Header::decode(first.trim_end())
            .map_err(|reason| Error::Recording(format!("cannot replay {shown}: {reason}")))?;
        let mut items = Vec::new();
        let mut damage = None;
        for (index, line) in lines.enumerate() {
            let number = index + 2;
            if line.trim().is_empty() {
                continue;
            }
            match recording::decode(line.trim_end()) {
                Ok(fed) => items.push(fed),
                Err(_) if !line.ends_with('\n') => {
                    let text = format!("{shown}: its last line ({number}) is cut short; replayed up to it");
                    damage = Some((text, true));
                    break;
                }
                Err(reason) => {
                    let text = format!("{shown} is damaged at line {number} ({reason}); replayed up to it");
                    damage = Some((text, false));
                    break;
                }
            }
        }
        Ok(Recording { header, items, damage })
    }
}

/// What the live view does to the view when the player moves.
pub(super) struct Move {
    /// Start again from an empty view (a step or a jump back).
    pub reset: bool,
    pub items: Vec<Fed>,
}

/// A recording played in the live view: the items before `cursor` are shown.
pub(super) struct Player {
    items: Vec<Fed>,
    cursor: usize,
    pub playing: bool,
    pub speed: f64,
    /// When the next item is due, while playing.
    due: Option<tokio::time::Instant>,
    started: Timestamp,
}

impl Player {
    /// Starts playing from the beginning; the damage, if any, is the first notice.
    pub(super) fn new(recording: Recording) -> Player {
        let mut items = recording.items;
        if let Some((text, _)) = recording.damage {
            let at = items.first().map_or(recording.header.started, |first| first.at);
            items.insert(
                0,
                Fed {
                    at,
                    item: FeedItem::Notice {
                        kind: crate::view::NoticeKind::Other,
                        text,
                    },
                },
            );
        }
        Player {
            items,
            cursor: 0,
            playing: true,
            speed: 1.0,
            due: Some(tokio::time::Instant::now()),
            started: recording.header.started,
        }
    }

    /// The time the replay shows: that of the last item shown (the recording's start before any).
    pub(super) fn position(&self) -> Timestamp {
        self.cursor
            .checked_sub(1)
            .map_or(self.started, |last| self.items[last].at)
    }

    /// How many changes are shown, and how many the recording holds.
    pub(super) fn progress(&self) -> (usize, usize) {
        let changes = |items: &[Fed]| {
            items
                .iter()
                .filter(|fed| matches!(fed.item, FeedItem::Change(_)))
                .count()
        };
        (changes(&self.items[..self.cursor]), changes(&self.items))
    }

    /// While playing, waits until the next item is due and gives it with every item seen at the same time;
    /// paused or at the end, never returns.
    pub(super) async fn next(&mut self) -> Move {
        match (self.playing, self.due, self.items.get(self.cursor)) {
            (true, Some(due), Some(_)) => tokio::time::sleep_until(due).await,
            _ => std::future::pending().await,
        }
        let first = self.cursor;
        let at = self.items[first].at;
        while self.items.get(self.cursor).is_some_and(|fed| fed.at <= at) {
            self.cursor += 1;
        }
        self.schedule();
        Move {
            reset: false,
            items: self.items[first..self.cursor].to_vec(),
        }
    }

    fn schedule(&mut self) {
        let previous = self.position();
        self.due = self.items.get(self.cursor).map(|next| {
            let gap = next.at.duration_since(previous).unsigned_abs().min(LONGEST_PAUSE);
            tokio::time::Instant::now() + gap.div_f64(self.speed)
        });
    }

    pub(super) fn toggle(&mut self) {
        self.playing = !self.playing;
        self.schedule();
    }

    /// Twice or half as fast, between an eighth and 64 times.
    pub(super) fn faster(&mut self, faster: bool) {
        self.speed = if faster { self.speed * 2.0 } else { self.speed / 2.0 }.clamp(0.125, 64.0);
        self.schedule();
    }

    /// One change on (with what came before it), paused.
    pub(super) fn step_forward(&mut self) -> Move {
        self.playing = false;
        let first = self.cursor;
        while let Some(fed) = self.items.get(self.cursor) {
            self.cursor += 1;
            if matches!(fed.item, FeedItem::Change(_)) {
                break;
            }
        }
        Move {
            reset: false,
            items: self.items[first..self.cursor].to_vec(),
        }
    }

    /// One change back, paused: the view is built again up to the change before the last one shown.
    pub(super) fn step_back(&mut self) -> Move {
        self.playing = false;
        let last_change = self.items[..self.cursor]
            .iter()
            .rposition(|fed| matches!(fed.item, FeedItem::Change(_)));
        self.rewind_to(last_change.unwrap_or(0))
    }

    /// To `time`: everything seen up to it shown, nothing after.
    pub(super) fn jump(&mut self, time: Timestamp) -> Move {
        let target = self.items.partition_point(|fed| fed.at <= time);
        let moved = if target < self.cursor {
            self.rewind_to(target)
        } else {
            let first = self.cursor;
            self.cursor = target;
            Move {
                reset: false,
                items: self.items[first..target].to_vec(),
            }
        };
        self.schedule();
        moved
    }

    fn rewind_to(&mut self, cursor: usize) -> Move {
        self.cursor = cursor;
        self.schedule();
        Move {
            reset: true,
            items: self.items[..cursor].to_vec(),
        }
    }
}

/// What the person typed after `g` as a time: `12:05:20` or `12:05` (the time of day, on the day of the replay's
/// position, in the local time zone), or `+30s`/`-2m` from the position.
pub(super) fn jump_target(typed: &str, position: Timestamp, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
    let typed = typed.trim();
    if let Some(ahead) = typed.strip_prefix('+') {
        let ahead = crate::settings::parse_duration(ahead)?;
        return position.checked_add(jiff::SignedDuration::try_from(ahead).ok()?).ok();
    }
    if let Some(back) = typed.strip_prefix('-') {
        let back = crate::settings::parse_duration(back)?;
        return position.checked_sub(jiff::SignedDuration::try_from(back).ok()?).ok();
    }
    let time: jiff::civil::Time = typed.parse().ok().or_else(|| format!("{typed}:00").parse().ok())?;
    let day = position.to_zoned(zone.clone()).date();
    day.to_datetime(time)
        .to_zoned(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::NoticeKind;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + second).expect("valid")
    }

    fn notice(second: i64) -> Fed {
        Fed {
            at: at(second),
            item: FeedItem::Notice {
                kind: NoticeKind::Other,
                text: format!("at {second}"),
            },
        }
    }

    #[test]
    fn jumps_go_forward_by_adding_and_back_by_building_again() {
        let recording = Recording {
            header: Header::new(at(0), "test".into(), false, false, false),
            items: (1..=5).map(notice).collect(),
            damage: None,
        };
        let mut player = Player::new(recording);
        let forward = player.jump(at(3));
        assert!(!forward.reset);
        assert_eq!(forward.items.len(), 3);
        assert_eq!(player.position(), at(3));
        let back = player.jump(at(1));
        assert!(back.reset);
        assert_eq!(back.items.len(), 1);
        assert_eq!(player.position(), at(1));
        assert_eq!(player.jump(at(0)).items.len(), 0);
        assert_eq!(player.position(), at(0));
    }

    #[test]
    fn a_typed_time_is_a_time_of_day_or_an_offset() {
        let zone = jiff::tz::TimeZone::UTC;
        let position: Timestamp = "2026-12-02T06:10:00Z".parse().expect("valid");
        let read = |typed: &str| jump_target(typed, position, &zone).map(|time| time.to_string());
        assert_eq!(read("06:05:20").as_deref(), Some("2026-12-02T06:05:20Z"));
        assert_eq!(read("06:05").as_deref(), Some("2026-12-02T06:05:00Z"));
        assert_eq!(read("+90s").as_deref(), Some("2026-12-02T06:11:30Z"));
        assert_eq!(read("-2m").as_deref(), Some("2026-12-02T06:08:00Z"));
        assert_eq!(read("soon"), None);
    }
}
