//! The cluster: connecting to it (through the proxy client-go would choose), learning from discovery which
//! resource types it serves, and resolving the types typed on the command line.

pub mod connection;
pub mod discovery;
pub mod gzip;
pub mod proxy;
pub mod resolver;
pub mod retry;
pub mod transport;
pub mod waits;
