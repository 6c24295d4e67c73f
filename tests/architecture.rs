//! The architecture of `host/src`, written down and held.
//!
//! Each top-level module of the host may use only the modules listed for it
//! below, and each lists only modules above it, so there are no cycles.
//! Read top to bottom, the table is the layering a newcomer needs: the
//! command line at the bottom turns arguments into settings for
//! `commands`, whose `ops build` drives the pipeline, which reaches the node
//! through `remote`, whose transport is `ssh`; plugins run in `plugin`
//! and reach this machine through `distribution`. A new `crate::...` path that
//! breaks the table fails here, naming the file and line.
//!
//! The same test holds the size rules: no file over 400 lines and no
//! function over 80.

use std::path::{Path, PathBuf};

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
    // The printer, events, live output and secret redaction.
    ("output", &["domain", "remote", "text"]),
    // ops.toml.
    (
        "config",
        &["domain", "exit", "local_file", "output", "text"],
    ),
    // The SSH transport behind `remote::RemoteNode`.
    (
        "ssh",
        &["domain", "exit", "local_file", "output", "remote", "text"],
    ),
    // Local programs (rsync) reaching the node over the run's connection.
    ("relay", &["domain", "remote"]),
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
        &["domain", "config", "exit", "output", "remote", "ssh"],
    ),
    // What a project file may only do with the user's trust, and the gate.
    // Which keys of the git sync send a key or an agent it asks `plugin`,
    // whose host glue for that plugin reads them.
    (
        "trust",
        &["domain", "config", "exit", "output", "plugin", "ssh"],
    ),
    // The steps of `ops build`.
    (
        "pipeline",
        &[
            "domain",
            "config",
            "distribution",
            "exit",
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
            "local_file",
            "node",
            "output",
            "pipeline",
            "plugin",
            "remote",
            "trust",
        ],
    ),
    // Clap's definitions, arguments to settings, dispatch, exit codes.
    (
        "cli",
        &[
            "domain", "author", "commands", "exit", "node", "output", "pipeline", "relay",
        ],
    ),
];

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 80;

fn host_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

/// Every source file with the top-level module it belongs to (`None` for
/// the crate root and the binary).
fn modules() -> Vec<(Option<String>, PathBuf)> {
    let root = host_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            let module = (!matches!(module.as_str(), "lib" | "main")).then_some(module);
            (module, path)
        })
        .collect()
}

/// The top-level modules named by `crate::NAME` in the code of `line`
/// (comments are prose, not dependencies).
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let code = code.split(" //").next().unwrap_or(code);
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `ops_crate::`, not this crate
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
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
    for (module, path) in modules() {
        if let Some(module) = module {
            assert!(
                allowed(&module).is_some(),
                "{}: module `{module}` is not in the architecture table of tests/architecture.rs",
                path.display()
            );
        }
    }
}

#[test]
fn modules_use_only_what_the_table_allows() {
    let mut violations = Vec::new();
    for (module, path) in modules() {
        let Some(module) = module else { continue };
        let Some(allowed) = allowed(&module) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            for used in crate_paths(line) {
                if used != module && !allowed.contains(&used.as_str()) {
                    violations.push(format!(
                        "{}:{}: `{module}` may not use `{used}` (allowed: {})",
                        path.display(),
                        number + 1,
                        allowed.join(", ")
                    ));
                }
            }
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
    for (_, path) in modules() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            problems.push(format!(
                "{}: {} lines (at most {MAX_FILE_LINES}: split it by concern)",
                path.display(),
                lines.len()
            ));
        }
        for (start, length, name) in functions(&lines) {
            if length > MAX_FN_LINES {
                problems.push(format!(
                    "{}:{}: fn {name} is {length} lines (at most {MAX_FN_LINES})",
                    path.display(),
                    start + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// (first line, length, name) of each function in rustfmt-formatted code:
/// from its `fn` line to the closing brace at the same indentation.
fn functions(lines: &[&str]) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        let after_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
        ]
        .iter()
        .chain(&[
            "pub async fn ",
            "pub(crate) async fn ",
            "pub(super) async fn ",
        ])
        .find_map(|prefix| code.strip_prefix(prefix));
        let Some(after_fn) = after_fn else { continue };
        let name: String = after_fn
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(length) = body_length(&lines[start..], indent) {
            found.push((start, length, name));
        }
    }
    found
}

/// Lines from a `fn` line to its closing brace; `None` for a declaration
/// without a body.
fn body_length(lines: &[&str], indent: usize) -> Option<usize> {
    let close = format!("{}}}", " ".repeat(indent));
    let mut opened = false;
    for (index, line) in lines.iter().enumerate() {
        let code = line.trim_end();
        if index == 0 && code.ends_with('}') {
            return Some(1);
        }
        if *line == close {
            return Some(index + 1);
        }
        opened |= code.ends_with('{');
        if !opened && code.ends_with(';') {
            return None;
        }
    }
    None
}

#[test]
fn the_scanner_finds_paths_and_functions() {
    assert_eq!(
        crate_paths("use crate::remote::{RemoteNode, Stdin};"),
        ["remote"]
    );
    assert_eq!(
        crate_paths("    let x = crate::exit::Exit::Usage; // crate::ssh"),
        ["exit"]
    );
    assert!(crate_paths("//! see [`Node`](crate::node::Node)").is_empty());
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
    ];
    assert_eq!(
        functions(&code),
        [
            (0, 3, "a".to_owned()),
            (3, 3, "b".to_owned()),
            (6, 1, "c".to_owned())
        ]
    );
}
