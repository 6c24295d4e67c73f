//! The architecture of `host/src`, written down and held.
//!
//! Each top-level module of the host may use only the modules listed for it
//! below, and each lists only modules above it, so there are no cycles.
//! Read top to bottom, the table is the layering a newcomer needs: the
//! command line at the bottom turns arguments into settings for
//! `commands`, whose `ops build` drives the pipeline, which reaches the node
//! through `remote`, whose transport is `ssh`; plugins run in `plugin`
//! and reach this machine through `distribution`. A new `crate::...` path that
//! breaks the table fails here, naming the file and line. Paths are
//! resolved to the module they reach: `use crate::{a::X, b::Y}`, nested
//! groups, `super::super::...` and `crate::` in expressions and types all
//! count (see `architecture/scan.rs`).
//!
//! The same test holds the size rules for every crate's sources (the host,
//! the plugins, xtask, the toolchain): no file over 400 lines and no
//! function over 80.

use std::path::{Path, PathBuf};

#[path = "architecture/scan.rs"]
mod scan;
#[path = "architecture/tool_text.rs"]
mod tool_text;

/// (module, the modules it may use). Every module may use only modules
/// that come before it.
const LAYERS: &[(&str, &[&str])] = &[
    // Values with a grammar (image references, digests, plugin names, ...):
    // parsed once, used everywhere, so they depend on nothing.
    ("domain", &[]),
    // Exit codes and the signals that end a run.
    ("exit", &["domain"]),
    // Text helpers several layers need and none owns (line splitting,
    // identifier names, random names), so that no layer has to reach into
    // another for them.
    ("text", &["domain"]),
    // Bounded reads of files on this machine, shared by every layer that
    // reads a path a project may name.
    ("local_file", &["domain"]),
    // The node as everyone sees it: commands, errors, held processes,
    // scratch directories.
    ("remote", &["domain", "exit", "text"]),
    // The local terminal while a program on the node owns it (`ops exec
    // -t`): raw mode, size, resizes. It speaks the node's terminal size
    // type and nothing else, so any command can use it.
    ("terminal", &["remote"]),
    // The printer, events, live output and secret redaction.
    ("output", &["domain", "remote", "text"]),
    // ops.toml.
    (
        "config",
        &["domain", "exit", "local_file", "output", "text"],
    ),
    // The project's local hooks: a shell command on this machine with the
    // run's variables, its output through the printer. It needs the config
    // (which hooks, which variables are secrets) and nothing of the node,
    // so the pipeline (which decides when each runs) can sit above it.
    ("hooks", &["config", "exit", "output", "remote"]),
    // The SSH transport behind `remote::RemoteNode`.
    (
        "ssh",
        &["domain", "exit", "local_file", "output", "remote", "text"],
    ),
    // Local programs (rsync) reaching the node over the run's connection.
    ("relay", &["domain", "remote"]),
    // The connection keeper, both its process and a run's side of it. It
    // holds what `ssh` makes (authenticated connections) and hands a run an
    // `ssh` session over one, so it sits right above `ssh`; `node` decides
    // whether a run leases from it, and `commands` shows and stops it.
    (
        "keeper",
        &["domain", "exit", "local_file", "output", "ssh", "text"],
    ),
    // The wasmtime plugin runtime, its host calls and the embedded
    // built-ins. It runs the bytes it is given and knows nothing of where
    // they came from: it may not use `distribution`.
    (
        "plugin",
        &[
            "domain",
            "config",
            "exit",
            "local_file",
            "output",
            "remote",
            "text",
        ],
    ),
    // How plugins reach this machine: fetching (HTTPS, OCI), the store,
    // downloads, ops.lock, which plugin a project's name means.
    (
        "distribution",
        &["domain", "config", "exit", "local_file", "plugin"],
    ),
    // Writing plugins, for `ops plugin new` and `ops plugin build`.
    ("author", &["domain", "distribution", "exit", "plugin"]),
    // Which node and how to reach it.
    (
        "node",
        &[
            "domain", "config", "exit", "keeper", "output", "remote", "ssh",
        ],
    ),
    // What a project file may only do with the user's trust, and the gate.
    // Which keys of the git sync send a key or an agent it asks `plugin`,
    // whose host glue for that plugin reads them.
    (
        "trust",
        &["domain", "config", "exit", "output", "plugin", "ssh"],
    ),
    // Node disk hygiene: which of a project's images a prune removes (the
    // rule lives here so that no builder can widen it), through the image
    // builder's housekeeping calls, and the node's stale scratch and free
    // space. The pipeline's `[node]` policy and `ops node` use it.
    (
        "housekeeping",
        &["domain", "config", "exit", "plugin", "remote"],
    ),
    // The steps of `ops build`.
    (
        "pipeline",
        &[
            "domain",
            "config",
            "distribution",
            "exit",
            "hooks",
            "housekeeping",
            "node",
            "output",
            "plugin",
            "relay",
            "remote",
            "text",
        ],
    ),
    // Every subcommand's entry point, one file each, taking its settings.
    (
        "commands",
        &[
            "domain",
            "author",
            "config",
            "distribution",
            "exit",
            "housekeeping",
            "keeper",
            "local_file",
            "node",
            "output",
            "pipeline",
            "plugin",
            "remote",
            "terminal",
            "trust",
        ],
    ),
    // Clap's definitions, arguments to settings, dispatch, exit codes.
    (
        "cli",
        &[
            "domain", "author", "commands", "exit", "keeper", "node", "output", "pipeline", "relay",
        ],
    ),
];

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 80;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate sits in the repository")
        .to_owned()
}

fn host_src() -> PathBuf {
    repo_root().join("host/src")
}

/// Every crate's `src` the size rules cover: the host, xtask, the
/// toolchain and each plugin crate (built-in, SDK and test plugins).
fn source_roots() -> Vec<PathBuf> {
    let root = repo_root();
    let mut roots = vec![
        host_src(),
        root.join("xtask/src"),
        root.join("toolchain/src"),
    ];
    let plugins = root.join("plugins");
    for dir in [plugins.clone(), plugins.join("testing")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let src = entry.unwrap().path().join("src");
            if src.is_dir() {
                roots.push(src);
            }
        }
    }
    roots.sort();
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// Every host source file with the module path it defines (`[]` for the
/// crate root and the binary).
fn host_modules() -> Vec<(Vec<String>, PathBuf)> {
    let root = host_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|path| (scan::module_of(path.strip_prefix(&root).unwrap()), path))
        .collect()
}

#[test]
fn host_src_holds_no_docker_buildkit_or_registry_text() {
    let templates = host_src().join("author/templates");
    let mut found = Vec::new();
    for (_, path) in host_modules() {
        let name = path.file_name().unwrap().to_string_lossy();
        let in_tests = path.components().any(|c| c.as_os_str() == "tests");
        if path.starts_with(&templates) || name.ends_with("tests.rs") || in_tests {
            continue;
        }
        found.extend(tool_text::hits(
            &path,
            &std::fs::read_to_string(&path).unwrap(),
        ));
    }
    assert!(
        found.is_empty(),
        "builder or registry text in the host: {found:#?}"
    );
}

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, a)| *a)
}

#[test]
fn the_table_is_layered() {
    for (index, (module, uses)) in LAYERS.iter().enumerate() {
        let above: Vec<&str> = LAYERS[..index].iter().map(|(m, _)| *m).collect();
        for used in *uses {
            assert!(
                above.contains(used),
                "{module} may use {used}, which is not above it in the table: that allows a cycle"
            );
        }
    }
}

#[test]
fn every_top_level_module_is_in_the_table() {
    for (module, path) in host_modules() {
        if let Some(top) = module.first() {
            assert!(
                allowed(top).is_some(),
                "{}: module `{top}` is not in the architecture table of tests/architecture.rs",
                path.display()
            );
        }
    }
}

/// The violations of the table in one file of top-level module `module`
/// whose code is `text`.
fn violations_in(module: &[String], text: &str) -> Vec<(usize, String)> {
    let Some(top) = module.first() else {
        return Vec::new();
    };
    let allowed = allowed(top).unwrap_or(&[]);
    scan::reached_paths(text, module)
        .into_iter()
        .filter_map(|(line, reached)| {
            let used = reached.first()?;
            (used != top && !allowed.contains(&used.as_str())).then(|| (line, used.clone()))
        })
        .collect()
}

#[test]
fn modules_use_only_what_the_table_allows() {
    let mut violations = Vec::new();
    for (module, path) in host_modules() {
        let Some(top) = module.first() else { continue };
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, used) in violations_in(&module, &text) {
            violations.push(format!(
                "{}:{line}: `{top}` may not use `{used}` (allowed: {})",
                path.display(),
                allowed(top).unwrap_or(&[]).join(", ")
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "dependencies outside the architecture table:\n{}",
        violations.join("\n")
    );
}

#[test]
fn files_and_functions_stay_small() {
    let mut problems = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() > MAX_FILE_LINES {
                problems.push(format!(
                    "{}: {} lines (at most {MAX_FILE_LINES}: split it by concern)",
                    path.display(),
                    lines.len()
                ));
            }
            for (start, length, name) in scan::functions(&lines) {
                if length > MAX_FN_LINES {
                    problems.push(format!(
                        "{}:{}: fn {name} is {length} lines (at most {MAX_FN_LINES})",
                        path.display(),
                        start + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn module(path: &str) -> Vec<String> {
    scan::module_of(Path::new(path))
}

fn reached(text: &str, file: &str) -> Vec<String> {
    scan::reached_paths(text, &module(file))
        .into_iter()
        .map(|(line, path)| format!("{line}:{}", path.join("::")))
        .collect()
}

#[test]
fn the_scanner_resolves_every_kind_of_path() {
    assert_eq!(
        module("pipeline/tests/fake_node.rs"),
        ["pipeline", "tests", "fake_node"]
    );
    assert_eq!(module("plugin/mod.rs"), ["plugin"]);
    assert!(module("lib.rs").is_empty());
    assert_eq!(
        reached("use crate::remote::{RemoteNode, Stdin};", "output/live.rs"),
        ["1:remote::RemoteNode", "1:remote::Stdin"]
    );
    // Comments and strings are prose, not dependencies.
    assert_eq!(
        reached(
            "let x = crate::exit::Exit::Usage; // crate::ssh\n/* crate::node */ \"crate::trust\"",
            "output.rs"
        ),
        ["1:exit::Exit::Usage"]
    );
    assert!(reached("//! see [`Node`](crate::node::Node)", "cli.rs").is_empty());
    assert!(reached("let s = r#\"crate::ssh\"#; let c = '\"';", "cli.rs").is_empty());
    // A grouped, nested, multi-line import reaches every module it names.
    assert_eq!(
        reached(
            "use crate::{\n    exit::Exit,\n    output::{Printer, event::{Event as E}},\n    ssh,\n};",
            "config/load.rs"
        ),
        ["2:exit::Exit", "3:output::Printer", "3:output::event::Event", "4:ssh"]
    );
    // `super::super::` climbs from the file's module (and from an inline
    // `mod tests`) before naming the next one.
    assert_eq!(
        reached("use super::super::ssh::Session;", "node/auth.rs"),
        ["1:ssh::Session"]
    );
    assert_eq!(
        reached(
            "fn f() {}\nmod tests {\n    use super::super::{lock, steps::Run};\n    use super::super::super::cli::Args;\n}\nuse super::x;",
            "pipeline/steps.rs"
        ),
        [
            "3:pipeline::lock",
            "3:pipeline::steps::Run",
            "4:cli::Args",
            "6:pipeline::x"
        ]
    );
    assert_eq!(
        reached("pub(crate) fn f(n: &crate::node::Node) {}", "cli/run.rs"),
        ["1:node::Node"]
    );
    assert_eq!(
        reached("use self::inner::X;", "trust/mod.rs"),
        ["1:trust::inner::X"]
    );
}

#[test]
fn the_table_catches_grouped_and_super_paths() {
    let file = module("output/live.rs");
    assert_eq!(
        violations_in(&file, "use crate::{remote::Stdin, pipeline::Run};"),
        [(1, "pipeline".to_owned())]
    );
    assert_eq!(
        violations_in(
            &file,
            "mod tests {\n    use super::super::super::cli::Args;\n}"
        ),
        [(2, "cli".to_owned())]
    );
    assert!(violations_in(&file, "use super::super::remote::Stdin;").is_empty());
}

#[test]
fn the_scanner_measures_functions() {
    let code = [
        "fn a() {",
        "    x();",
        "}",
        "    pub async fn b(",
        "    ) {",
        "    }",
        "    fn c(&self) {}",
        "    fn d<'a>(",
        "    ) -> X;",
        "}",
        "pub(in crate::x) const unsafe fn e() {",
        "}",
    ];
    assert_eq!(
        scan::functions(&code),
        [
            (0, 3, "a".to_owned()),
            (3, 3, "b".to_owned()),
            (6, 1, "c".to_owned()),
            (10, 2, "e".to_owned())
        ]
    );
}
