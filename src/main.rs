use std::process::ExitCode;

// mimalloc without transparent huge pages (the `no_thp` feature): with them its memory grew, and was
// zeroed, 2 MiB at a time, which cost a third more resident memory and a few percent of CPU under churn.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // SAFETY: the process has one thread still: nothing else reads or writes the environment yet.
    unsafe { kubectl_watchnew::cluster::proxy::make_readable_by_kube_rs() };
    kubectl_watchnew::run(std::env::args_os())
}
