//! Stamps the git commit into `--version`: WATCHNEW_GIT_COMMIT when the release build sets it, else what git
//! says of this checkout, else "unknown" (a build from a source archive).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=WATCHNEW_GIT_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    let commit = std::env::var("WATCHNEW_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit);
    println!(
        "cargo:rustc-env=WATCHNEW_GIT_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}

fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| output.stdout)
    };
    let commit = String::from_utf8(run(&["rev-parse", "--short=12", "HEAD"])?)
        .ok()?
        .trim()
        .to_string();
    // Without optional locks `git status` leaves the index as it is: refreshing it would change .git/index,
    // and so make the next cargo command build the crate again.
    let dirty = run(&["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if dirty { format!("{commit}-dirty") } else { commit })
}
