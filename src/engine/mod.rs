//! The watch engine: streams that list and watch (I/O), decoding of what the server sends (pure), the
//! state machines that turn it into the changes to report (pure), and the retry policy (pure).

pub mod fill;
pub mod heartbeats;
pub mod managed;
pub mod policy;
pub mod session;
pub mod stream;
pub mod tracker;
pub mod wire;
