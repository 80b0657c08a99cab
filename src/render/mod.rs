//! Turning the view into text: the appended lines (and name, JSON, YAML), and the live terminal view. Both
//! take their columns from `columns`, so that they show the same thing.

pub mod columns;
pub mod lines;
pub mod live;
