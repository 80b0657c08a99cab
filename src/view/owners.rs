//! Rows grouped under their owners, as a tree: Deployment → ReplicaSet → Pod, CronJob → Job → Pod, a custom
//! resource → what it made. An owner that has a row is that row; one that has none (its type is not watched, or
//! it has not changed) is named from the reference alone. Within a group, rows keep their order.

use std::collections::HashMap;

use super::{OwnerRef, Row};

/// One line of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeLine<'a> {
    /// An owner without a row of its own.
    Owner {
        owner: &'a OwnerRef,
        depth: usize,
    },
    Object {
        row: &'a Row,
        depth: usize,
    },
}

impl TreeLine<'_> {
    pub fn depth(&self) -> usize {
        match self {
            TreeLine::Owner { depth, .. } | TreeLine::Object { depth, .. } => *depth,
        }
    }
}

/// How an owner is found among the rows: by uid, or by kind and name when the reference has no uid.
fn owner_key(owner: &OwnerRef) -> (String, String) {
    if owner.uid.is_empty() {
        (owner.kind.clone(), owner.name.clone())
    } else {
        (owner.uid.clone(), String::new())
    }
}

/// `rows`, in their order, as a tree.
pub fn tree<'a, 'k>(rows: &[&'a Row], kind_of: impl Fn(&Row) -> &'k str) -> Vec<TreeLine<'a>> {
    // Each row can be found as an owner by its uid, and by its kind and name.
    let mut position: HashMap<(String, String), usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let record = &row.latest;
        if !record.uid.is_empty() {
            position.entry((record.uid.clone(), String::new())).or_insert(index);
        }
        position
            .entry((kind_of(row).to_string(), record.key.name.clone()))
            .or_insert(index);
    }
    let parent_of = |index: usize| -> Option<usize> {
        let owner = rows[index].latest.owner.as_ref()?;
        position
            .get(&owner_key(owner))
            .copied()
            .filter(|parent| *parent != index)
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    // Owners without a row, each with the rows under it, in the order their first row came.
    let mut absent: Vec<(&OwnerRef, Vec<usize>)> = Vec::new();
    let mut absent_index: HashMap<(String, String), usize> = HashMap::new();
    // The tops of the tree, in order: a row without a parent row, or an absent owner.
    enum Top {
        Row(usize),
        Absent(usize),
    }
    let mut tops: Vec<Top> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match (parent_of(index), row.latest.owner.as_ref()) {
            (Some(parent), _) => children[parent].push(index),
            (None, Some(owner)) => {
                let key = owner_key(owner);
                match absent_index.get(&key) {
                    Some(&group) => absent[group].1.push(index),
                    None => {
                        absent_index.insert(key, absent.len());
                        tops.push(Top::Absent(absent.len()));
                        absent.push((owner, vec![index]));
                    }
                }
            }
            (None, None) => tops.push(Top::Row(index)),
        }
    }

    // A group keeps the place of its earliest row: the tree moves rows under their owners, not groups past
    // each other.
    fn earliest(index: usize, children: &[Vec<usize>], seen: &mut [bool]) -> usize {
        if std::mem::replace(&mut seen[index], true) {
            return usize::MAX;
        }
        children[index]
            .iter()
            .map(|child| earliest(*child, children, seen))
            .fold(index, usize::min)
    }
    let mut seen = vec![false; rows.len()];
    let mut tops: Vec<(usize, Top)> = tops
        .into_iter()
        .map(|top| {
            let first = match &top {
                Top::Row(index) => earliest(*index, &children, &mut seen),
                Top::Absent(group) => absent[*group]
                    .1
                    .iter()
                    .map(|member| earliest(*member, &children, &mut seen))
                    .min()
                    .unwrap_or(usize::MAX),
            };
            (first, top)
        })
        .collect();
    tops.sort_by_key(|(first, _)| *first);

    let mut lines = Vec::with_capacity(rows.len());
    let mut shown = vec![false; rows.len()];
    fn descend<'a>(
        index: usize,
        depth: usize,
        rows: &[&'a Row],
        children: &[Vec<usize>],
        shown: &mut [bool],
        lines: &mut Vec<TreeLine<'a>>,
    ) {
        if shown[index] {
            return;
        }
        shown[index] = true;
        lines.push(TreeLine::Object {
            row: rows[index],
            depth,
        });
        for child in &children[index] {
            descend(*child, depth + 1, rows, children, shown, lines);
        }
    }
    for (_, top) in tops {
        match top {
            Top::Row(index) => descend(index, 0, rows, &children, &mut shown, &mut lines),
            Top::Absent(group) => {
                let (owner, members) = &absent[group];
                lines.push(TreeLine::Owner { owner, depth: 0 });
                for member in members {
                    descend(*member, 1, rows, &children, &mut shown, &mut lines);
                }
            }
        }
    }
    // Owners that own each other (never made by Kubernetes, but possible to write) still show every row.
    for index in 0..rows.len() {
        descend(index, 0, rows, &children, &mut shown, &mut lines);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::rc::Rc;

    use super::*;
    use crate::engine::tracker::{ChangeType, ObjectKey, Origin};
    use crate::view::ChangeRecord;

    fn row(kind: &str, name: &str, owner: Option<(&str, &str)>) -> (String, Row) {
        let record = ChangeRecord {
            stream: 0,
            key: ObjectKey {
                namespace: Some("shop".into()),
                name: name.into(),
            },
            event: ChangeType::Added,
            origin: Origin::Watch,
            at: jiff::Timestamp::UNIX_EPOCH,
            cells: Vec::new(),
            created: None,
            labels: Default::default(),
            field_changes: Vec::new(),
            changed_by: Vec::new(),
            fight: None,
            since_added: None,
            uid: format!("uid-{name}"),
            owner: owner.map(|(kind, name)| OwnerRef {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: name.into(),
                uid: format!("uid-{name}"),
                controller: Some(true),
            }),
            object: None,
            managed_fields: None,
            sequence: 0,
        };
        (
            kind.to_string(),
            Row {
                latest: Rc::new(record),
                changes: 1,
                object: None,
                managed_fields: None,
                history: VecDeque::new(),
            },
        )
    }

    fn drawn(rows: &[(String, Row)]) -> Vec<String> {
        let refs: Vec<&Row> = rows.iter().map(|(_, row)| row).collect();
        let kinds: HashMap<String, String> = rows
            .iter()
            .map(|(kind, row)| (row.latest.key.name.clone(), kind.clone()))
            .collect();
        tree(&refs, |row| kinds[&row.latest.key.name].as_str())
            .iter()
            .map(|line| {
                let indent = "  ".repeat(line.depth());
                match line {
                    TreeLine::Owner { owner, .. } => format!("{indent}({})", owner.display()),
                    TreeLine::Object { row, .. } => format!("{indent}{}", row.latest.key.name),
                }
            })
            .collect()
    }

    #[test]
    fn rows_go_under_their_owners_rows_in_their_order() {
        let rows = vec![
            row("Pod", "web-a-1", Some(("ReplicaSet", "web-a"))),
            row("Deployment", "web", None),
            row("ReplicaSet", "web-a", Some(("Deployment", "web"))),
            row("Pod", "web-a-2", Some(("ReplicaSet", "web-a"))),
            row("Pod", "lonely", None),
        ];
        assert_eq!(drawn(&rows), ["web", "  web-a", "    web-a-1", "    web-a-2", "lonely"]);
    }

    #[test]
    fn an_owner_without_a_row_is_named_from_the_reference() {
        let rows = vec![
            row("Pod", "report-1-x", Some(("Job", "report-1"))),
            row("Pod", "web-a-1", Some(("ReplicaSet", "web-a"))),
            row("Pod", "report-1-y", Some(("Job", "report-1"))),
            row("ConfigMap", "settings", Some(("Shop", "main"))),
        ];
        assert_eq!(
            drawn(&rows),
            [
                "(Job/report-1)",
                "  report-1-x",
                "  report-1-y",
                "(ReplicaSet/web-a)",
                "  web-a-1",
                "(Shop/main)",
                "  settings",
            ]
        );
    }

    #[test]
    fn a_group_keeps_the_place_of_its_earliest_row() {
        let rows = vec![
            row("Pod", "web-a-1", Some(("ReplicaSet", "web-a"))),
            row("Pod", "report-1-x", Some(("Job", "report-1"))),
            row("ReplicaSet", "web-a", Some(("Deployment", "web"))),
        ];
        assert_eq!(
            drawn(&rows),
            [
                "(Deployment/web)",
                "  web-a",
                "    web-a-1",
                "(Job/report-1)",
                "  report-1-x"
            ]
        );
    }

    #[test]
    fn owners_that_own_each_other_still_show_every_row_once() {
        let rows = vec![
            row("Thing", "a", Some(("Thing", "b"))),
            row("Thing", "b", Some(("Thing", "a"))),
        ];
        assert_eq!(drawn(&rows), ["a", "  b"]);
    }
}
