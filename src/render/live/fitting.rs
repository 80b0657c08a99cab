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

/// WHAT CHANGED is what the tool is for: the counters and times, the owner, the labels and the latest Event give
/// way before it drops under this; LAST EVENT narrows to its reason and age (`⚠ BackOff ×12 (5s)`, the message
/// is in the strip under the table), OWNER to what tells owners apart (`ReplicaSet/…64f4`).
pub(super) const WHAT_CHANGED_FLOOR: usize = 30;

/// Below this, a cell cut short no longer says what it is ("Runni…"); a column that cannot have it goes.
pub(super) const READABLE_WIDTH: usize = 6;

/// The columns kept: all of them, unless each cannot have its `least` width (the width below which it no longer
/// tells what it is for); then columns go in `drop_order` until the rest can.
pub(super) fn columns_that_fit(least: &[usize], available: usize, drop_order: &[usize]) -> Vec<usize> {
    let needed = |kept: &[usize]| {
        kept.iter().map(|index| least[*index]).sum::<usize>() + kept.len().saturating_sub(1) * GAP as usize
    };
    let mut kept: Vec<usize> = (0..least.len()).collect();
    for column in drop_order {
        if needed(&kept) <= available {
            break;
        }
        kept.retain(|index| index != column);
    }
    kept
}

/// The width an owner column needs to tell the `owners` (`Kind/name`) apart: each as its kind and the end of
/// its name (`ReplicaSet/…64f4`, where a controller's name ends in its hash), at least four characters of it.
pub(super) fn owner_floor(owners: &[&str]) -> usize {
    let widest = owners.iter().map(|owner| owner.width()).max().unwrap_or(0);
    let distinct: std::collections::BTreeSet<&str> = owners.iter().copied().collect();
    for tail in 4.. {
        let shortened: Vec<String> = distinct
            .iter()
            .map(|owner| shorten_owner_to_tail(owner, tail))
            .collect();
        let width = shortened.iter().map(|text| text.width()).max().unwrap_or(0);
        let unique: std::collections::BTreeSet<&String> = shortened.iter().collect();
        if unique.len() == distinct.len() || width >= widest {
            return width.min(widest);
        }
    }
    widest
}

/// `Kind/…` and the last `tail` characters of the name, or the owner whole when that is no shorter.
fn shorten_owner_to_tail(owner: &str, tail: usize) -> String {
    let Some((kind, name)) = owner.split_once('/') else {
        return owner.to_string();
    };
    let count = name.chars().count();
    if count <= tail + 1 {
        return owner.to_string();
    }
    let end: String = name.chars().skip(count - tail).collect();
    format!("{kind}/…{end}")
}

/// An owner cut to `width`: its kind and as much of the end of its name as fits, since what tells a
/// ReplicaSet or a Job from its siblings is at the end; when even the kind does not fit, cut as any text.
pub(super) fn shorten_owner(owner: &str, width: usize) -> String {
    if owner.width() <= width {
        return owner.to_string();
    }
    match owner.split_once('/') {
        Some((kind, _)) if kind.width() + 3 <= width => shorten_owner_to_tail(owner, width - kind.width() - 2),
        _ => cut(owner, width),
    }
}

/// The items at the indexes `kept`, in that order.
pub(super) fn select<T: Clone>(items: &[T], kept: &[usize]) -> Vec<T> {
    kept.iter().filter_map(|index| items.get(*index).cloned()).collect()
}

/// Narrows columns until the table fits `available` cells: the `squeeze` columns first, in order, each down to
/// its floor (LAST EVENT to its reason and age, OWNER to what tells owners apart); then the widest column down to
/// its `least` (WHAT CHANGED 30, the others a readable 6), then the widest down to 3. The first column (EVENT,
/// or the timeline's TIME) stays whole; the NAME at `name` is narrowed last, only when nothing else can give.
pub(super) fn fit(widths: &mut [usize], available: usize, squeeze: &[(usize, usize)], least: &[usize], name: usize) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + widths.len().saturating_sub(1) * GAP as usize;
    let whole = widths.to_vec();
    let kept_whole = |index: usize| index == 0 || index == name;
    shrink(widths, available, squeeze, |index| whole[index], total);
    shrink(
        widths,
        available,
        &[],
        |index| {
            if kept_whole(index) {
                whole[index]
            } else {
                least.get(index).copied().unwrap_or(3).min(whole[index])
            }
        },
        total,
    );
    shrink(
        widths,
        available,
        &[],
        |index| if kept_whole(index) { whole[index] } else { 3 },
        total,
    );
    shrink(
        widths,
        available,
        &[],
        |index| if index == 0 { whole[index] } else { 3 },
        total,
    );
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
