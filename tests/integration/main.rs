//! Integration tests against a real control plane: one test binary, one control plane for the whole run.

mod all_kinds;
mod cluster_script;
mod connection;
mod contexts;
mod errors;
mod export;
mod faults;
mod ground;
mod lifecycle;
mod live;
mod output;
mod plugin;
mod proxies;
mod reading;
mod recording;
mod secrets;
mod selection;
mod support;
mod watch;
mod who;
mod why;
