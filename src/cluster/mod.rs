//! The cluster: connecting to it, and learning from discovery which resource types it serves.

pub mod connection;
pub mod discovery;
