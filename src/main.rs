use std::process::ExitCode;

fn main() -> ExitCode {
    kubectl_watchnew::run(std::env::args_os())
}
