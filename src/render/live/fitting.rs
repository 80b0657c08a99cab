//! Fitting a table to the terminal's width: which columns stay when not all can be read, how narrow each
//! becomes, cells cut to their widths, and which lines of a long table are on screen. Pure.

use unicode_width::UnicodeWidthStr;

/// Space between columns.
pub(super) const GAP: u16 = 2;

/// The lines to show of `count`, so that the one at `selected` is on screen with as many above it as fit.
pub(super) fn window(count: usize, selected: usize, height: usize) -> std::ops::Range<usize> {
    let selected = selected.min(count.saturating_sub(1));
    let start = (selected + 1).saturating_sub(height.max(1));
    start..count.min(start + height)
}

/// WHAT CHANGED gives way first, down to this, to the other columns; LAST EVENT before it, down to its reason
/// and how long ago (`⚠ BackOff ×12 (5s)…`), since what changed is what the tool is for.
pub(super) const WHAT_CHANGED_FLOOR: usize = 12;
pub(super) const LAST_EVENT_FLOOR: usize = 24;

/// Below this, a cell cut short no longer says what it is ("Runni…"); a column that cannot have it goes.
const READABLE_WIDTH: usize = 6;

/// The columns kept: all of them, unless each cannot have a readable width (EVENT and the NAME at `name` whole,
/// the others `READABLE_WIDTH`); then columns go in `drop_order` until the rest can.
pub(super) fn columns_that_fit(widths: &[usize], available: usize, drop_order: &[usize], name: usize) -> Vec<usize> {
    let readable = |kept: &[usize]| {
        let cells: usize = kept
            .iter()
            .map(|index| match *index {
                0 => widths[0].min("MODIFIED".len()),
                index if index == name => widths[index],
                index => widths[index].min(READABLE_WIDTH),
            })
            .sum();
        cells + kept.len().saturating_sub(1) * GAP as usize
    };
    let mut kept: Vec<usize> = (0..widths.len()).collect();
    for column in drop_order {
        if readable(&kept) <= available {
            break;
        }
        kept.retain(|index| index != column);
    }
    kept
}

/// The items at the indexes `kept`, in that order.
pub(super) fn select<T: Clone>(items: &[T], kept: &[usize]) -> Vec<T> {
    kept.iter().filter_map(|index| items.get(*index).cloned()).collect()
}

/// Narrows columns until the table fits `available` cells: the `squeeze` columns first, in order, each down to
/// its floor (LAST EVENT to its reason and age, then WHAT CHANGED to 12), then always the widest other column,
/// keeping EVENT whole and no column below 3. The NAME at `name` is narrowed last, only when the others cannot
/// make room for it.
pub(super) fn fit(widths: &mut [usize], available: usize, squeeze: &[(usize, usize)], name: usize) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + widths.len().saturating_sub(1) * GAP as usize;
    let whole_name = widths.get(name).copied().unwrap_or(0);
    let mut name_floor = whole_name;
    loop {
        let floor = |index: usize| match index {
            0 => "MODIFIED".len(),
            index if index == name => name_floor,
            _ => 3,
        };
        shrink(widths, available, squeeze, floor, total);
        if total(widths) <= available || name_floor <= 3 || name >= widths.len() {
            break;
        }
        name_floor = 3;
    }
}

fn shrink(
    widths: &mut [usize],
    available: usize,
    squeeze: &[(usize, usize)],
    floor: impl Fn(usize) -> usize,
    total: impl Fn(&[usize]) -> usize,
) {
    while total(widths) > available {
        let shrinkable = squeeze
            .iter()
            .find(|(column, least)| widths.get(*column).is_some_and(|width| width > least))
            .map(|(column, _)| *column)
            .or_else(|| {
                widths
                    .iter()
                    .enumerate()
                    .filter(|(i, w)| **w > floor(*i))
                    .max_by_key(|(_, w)| **w)
                    .map(|(i, _)| i)
            });
        match shrinkable {
            Some(index) => widths[index] -= 1,
            None => break,
        }
    }
}

pub(super) fn cut_all(cells: &[String], widths: &[usize]) -> Vec<String> {
    cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| cut(cell, *width))
        .collect()
}

/// Text cut to `width` columns, ending in "…" when cut.
pub(super) fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let char_width = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + char_width + 1 > width {
            break;
        }
        used += char_width;
        cut.push(c);
    }
    if width > 0 {
        cut.push('…');
    }
    cut
}
