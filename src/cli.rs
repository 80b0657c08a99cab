//! The command line, as kubectl hands it to a plugin: only the words after `kubectl watchnew`.

use clap::Parser;

/// Watch Kubernetes resources and show only what changes from now on.
///
/// The objects that exist when it starts are never shown; every object created, modified or deleted
/// afterwards is.
#[derive(Debug, Parser)]
#[command(name = "kubectl-watchnew", bin_name = "kubectl watchnew", version)]
pub struct Cli {
    /// The resource types to watch, separated by commas (pods, deploy, svc, ...).
    #[arg(value_name = "TYPE[,TYPE...]")]
    pub resource_types: Option<String>,

    /// Watch only the objects with these names.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}
