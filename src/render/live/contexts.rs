//! The key of contexts (`x`), over the view: each context's state and since when, its changes, the latest,
//! and how late it arrived; why, under a context that is not simply watching.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use super::details::popup;
use super::state::Look;
use super::{clock, warning_style};
use crate::render::columns::human_duration;
use crate::view::ViewModel;
use crate::view::contexts::ContextStatus;
use crate::view::feed::ContextHealth;

pub(super) fn draw(frame: &mut Frame, area: Rect, view: &ViewModel, look: &Look, scroll: u16, now: Timestamp) {
    let title = format!(" contexts: {} ", view.contexts.tally());
    let closing = " ↑↓ PgUp PgDn scroll · x, enter or esc closes ";
    popup(frame, area, title, closing, lines(view, look, now), scroll);
}

/// How many lines the key has (before wrapping): how far it can scroll.
pub(super) fn length(view: &ViewModel) -> usize {
    // The heading, a line a context, and one more for each that says why.
    1 + view
        .contexts
        .all()
        .iter()
        .map(|status| 1 + usize::from(status.health.cause().is_some()))
        .sum::<usize>()
}

fn lines(view: &ViewModel, look: &Look, now: Timestamp) -> Vec<Line<'static>> {
    let zone = &look.time_zone;
    let all = view.contexts.all();
    let name_of = |status: &ContextStatus| status.name.clone().unwrap_or_else(|| "(current)".into());
    let width = all
        .iter()
        .map(|status| name_of(status).chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut lines = vec![Line::styled(
        format!(
            "{:width$}  {:12}  {:8}  {:>7}  {:21}  LAG",
            "CONTEXT", "STATE", "SINCE", "CHANGES", "LAST CHANGE"
        ),
        Style::new().bold(),
    )];
    for status in all {
        let last_change = status
            .last_change
            .map(|at| format!("{} ({})", clock(at, zone), human_duration(now.duration_since(at))))
            .unwrap_or_else(|| "-".into());
        let lag = status
            .lag
            .map(|lag| format!("{}s", lag.as_secs()))
            .unwrap_or_else(|| "-".into());
        let text = format!(
            "{:width$}  {:12}  {:8}  {:>7}  {:21}  {lag}",
            name_of(status),
            status.health.word(),
            clock(status.since, zone),
            status.changes,
            last_change,
        );
        let style = match status.health {
            ContextHealth::Watching => Style::new(),
            ContextHealth::Starting => Style::new().dim(),
            ContextHealth::Reconnecting { .. } | ContextHealth::Failing { .. } => warning_style(&look.options),
        };
        lines.push(Line::styled(text, style));
        match &status.health {
            ContextHealth::Reconnecting { streams, cause } => {
                let streams = match streams {
                    1 => "1 stream".to_string(),
                    many => format!("{many} streams"),
                };
                lines.push(Line::raw(format!("  ↳ {streams} broken off; latest: {cause}")));
            }
            ContextHealth::Failing { cause } => lines.push(Line::raw(format!("  ↳ {cause}"))),
            ContextHealth::Starting | ContextHealth::Watching => {}
        }
    }
    lines
}
