//! kubectl-watchnew: a kubectl plugin that shows only the changes that happen after it starts.
//!
//! The layers, as data flows through them: `cli` (the flags) → `settings` (what they mean, resolved once) →
//! `cluster` (connection, proxies, discovery) → `engine` (list, watch and the "only new changes" semantics) →
//! `view` (rows, summaries, counters; no terminal) → `render` (lines, JSON, YAML, the live table). `app` runs
//! them. Imports point the other way only: a layer uses those after it (settings builds the options that
//! cluster, engine and render own) and never one before it; `layering` below checks it.

pub mod app;
#[cfg(test)]
mod arbitrary;
pub mod cli;
pub mod cluster;
pub mod completion;
pub mod engine;
pub mod error;
pub mod exit_code;
pub mod export;
pub mod render;
pub mod settings;
pub mod view;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::exit_code::ExitCode;
use crate::settings::Settings;

/// Runs the plugin with its command line (program name first) and says how the process should end.
pub fn run<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(code) = completion::complete_from_environment(&args) {
        return code;
    }
    match args.get(1).and_then(|word| word.to_str()) {
        Some("__complete") => return completion::cobra_complete(args[2..].to_vec()),
        Some("completion") => return completion::print_script(args.get(2).map(OsString::as_os_str)),
        _ => {}
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            eprintln!("error: {}", usage_error_line(&err));
            return ExitCode::Usage.into();
        }
        Err(err) => {
            // --help and --version end here, on stdout and with success.
            let _ = err.print();
            return ExitCode::Success.into();
        }
    };
    let outcome = Settings::from_cli(cli, settings::Environment::detect()).and_then(|settings| {
        // One thread: the streams and the output hand every change over without waking another thread, which
        // cost a fifth of the CPU per change; the snapshot's pages still arrive while one is decoded, as the
        // socket buffers them.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error::Error::Internal(anyhow::anyhow!("cannot start the async runtime: {error}")))?;
        runtime.block_on(app::run(settings))
    });
    match outcome {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("error: {}", error.one_line());
            error.exit_code().into()
        }
    }
}

/// clap's message in one line, as every other error: its first line, and where to read more.
fn usage_error_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("invalid command line");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    format!("{message} (see 'kubectl watchnew --help')")
}

#[cfg(test)]
mod layering {
    //! The imports between the crate's modules, read from the sources: none may point back up the layers.

    use std::collections::BTreeSet;
    use std::path::Path;

    /// Lowest first: a module may import only modules earlier in this list (and itself).
    const LAYERS: [&str; 13] = [
        "exit_code",
        "error",
        "arbitrary",
        "cli",
        "cluster",
        "engine",
        "view",
        "render",
        "settings",
        "export",
        "completion",
        "app",
        "lib",
    ];

    fn top_module(path: &Path, src: &Path) -> String {
        let relative = path.strip_prefix(src).expect("under src");
        let first = relative.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        name.trim_end_matches(".rs").to_string()
    }

    /// The top-level modules named by `crate::module` paths in a source file, `crate::{a, b::c}` included.
    fn imported(text: &str) -> BTreeSet<String> {
        let identifier = |text: &str| -> String {
            text.trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        let mut found = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let Some(group) = rest.strip_prefix('{') else {
                found.insert(identifier(rest));
                continue;
            };
            let mut depth = 0;
            let mut piece_start = 0;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(identifier(&group[piece_start..index]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(identifier(&group[piece_start..index]));
                        piece_start = index + 1;
                    }
                    _ => {}
                }
            }
        }
        found.remove("");
        found
    }

    fn sources(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }

    #[test]
    fn no_import_points_back_up_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let rank = |module: &str| LAYERS.iter().position(|layer| *layer == module);
        let mut upward = Vec::new();
        for file in files
            .iter()
            .filter(|file| !file.starts_with(src.join("bin")) && !file.ends_with("main.rs"))
        {
            let module = top_module(file, &src);
            let own = rank(&module).unwrap_or_else(|| panic!("{module} is not in LAYERS"));
            let text = std::fs::read_to_string(file).expect("readable");
            // Comments are not imports, and this very check names modules in its examples.
            let code: String = text
                .split("mod layering {")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for import in imported(&code) {
                let theirs = rank(&import).unwrap_or_else(|| panic!("{import} is not in LAYERS"));
                if theirs > own {
                    upward.push(format!("{} imports crate::{import}", file.display()));
                }
            }
        }
        assert!(upward.is_empty(), "imports that point back up:\n{}", upward.join("\n"));
    }

    #[test]
    fn the_check_sees_an_upward_import() {
        let names = |text: &str| imported(text).into_iter().collect::<Vec<_>>();
        assert_eq!(names("use crate::settings::Settings;"), ["settings"]);
        assert_eq!(names("use crate::{cli, error::{Error, Result}};"), ["cli", "error"]);
        assert_eq!(names("let x = crate::view::summary::one_line(y);"), ["view"]);
    }
}
