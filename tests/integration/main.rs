//! Integration tests against a real control plane: one test binary, one control plane for the whole run.

mod cluster_script;
mod connection;
mod errors;
mod faults;
mod ground;
mod lifecycle;
mod live;
mod output;
mod plugin;
mod proxies;
mod support;
mod watch;
mod why;
