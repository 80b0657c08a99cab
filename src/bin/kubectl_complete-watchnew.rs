//! What kubectl 1.26+ runs to complete `kubectl watchnew <TAB>`: the words typed after the plugin's name in,
//! candidates in Cobra's `__complete` protocol out.

fn main() -> std::process::ExitCode {
    // SAFETY: the process has one thread still: nothing else reads or writes the environment yet.
    unsafe { kubectl_watchnew::cluster::proxy::make_readable_by_kube_rs() };
    kubectl_watchnew::completion::cobra_complete(std::env::args_os().skip(1).collect())
}
