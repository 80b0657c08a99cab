//! What kubectl 1.26+ runs to complete `kubectl watchnew <TAB>`: the words typed after the plugin's name in,
//! candidates in Cobra's `__complete` protocol out.

fn main() -> std::process::ExitCode {
    kubectl_watchnew::completion::cobra_complete(std::env::args_os().skip(1).collect())
}
