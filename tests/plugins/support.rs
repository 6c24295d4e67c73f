//! Small helpers for these tests: runtimes with private caches, contexts,
//! config sections from real `ops.toml` text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ops::config::{
    Config, DeclSource, Location, PluginDecl, PluginSection, SectionEntry, SectionValue,
};
use ops::output::{Format, Printer, Redactor, Verbosity};
use ops::plugin::{CallContext, ComponentCache, Limits, Runtime, SyncRequest};

use crate::recorder::Recorder;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn rogue_path() -> PathBuf {
    repo_root().join("plugins/dist/testing/rogue.wasm")
}

/// A runtime whose cache lives in a fresh temp dir (kept alive by the
/// returned guard).
pub fn runtime(limits: Limits) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let rt =
        Runtime::with_cache(limits, ComponentCache::at(dir.path().join("components"))).unwrap();
    (rt, dir)
}

pub fn quiet_printer() -> Arc<Printer> {
    Arc::new(Printer::new(
        Format::Human,
        Verbosity::Quiet,
        Redactor::new(),
    ))
}

pub fn context(node: &Arc<Recorder>) -> CallContext {
    CallContext::new(quiet_printer(), std::env::temp_dir()).with_node(node.clone())
}

/// Parses `toml` as `ops.toml` with `env` as the environment.
pub fn config(toml: &str, env: &[(&str, &str)]) -> Config {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Config::parse(Path::new("ops.toml"), toml, &lookup).unwrap_or_else(|e| panic!("{e}"))
}

pub fn git_section(toml: &str, env: &[(&str, &str)]) -> PluginSection {
    config(toml, env).build.unwrap().git.unwrap()
}

pub fn image_section(toml: &str, env: &[(&str, &str)]) -> PluginSection {
    config(toml, env).build.unwrap().image.unwrap().section
}

fn here() -> Location {
    Location {
        file: PathBuf::from("ops.toml"),
        line: 1,
        column: 1,
    }
}

/// A section for the rogue plugin: `action` and optional `arg`.
pub fn rogue_section(action: &str, arg: &str) -> PluginSection {
    let entry = |key: &str, value: &str| SectionEntry {
        key: key.into(),
        value: SectionValue::Text(value.into()),
        location: here(),
    };
    PluginSection {
        path: "build.push".into(),
        entries: vec![entry("action", action), entry("arg", arg)],
        location: here(),
    }
}

pub fn rogue_decl(grants: &[&str]) -> PluginDecl {
    PluginDecl {
        name: "rogue".into(),
        source: DeclSource::Path(rogue_path()),
        source_text: "rogue.wasm".into(),
        source_location: here(),
        grants: grants.iter().map(|g| (g.to_string(), here())).collect(),
        sha256: None,
        signed_by: None,
        version: None,
        location: here(),
    }
}

/// The test plugin that imports WASI 0.2 as a `wasm32-wasip2` build does.
pub fn wasi_probe_decl() -> PluginDecl {
    PluginDecl {
        name: "wasi-probe".into(),
        source: DeclSource::Path(repo_root().join("plugins/dist/testing/wasi-probe.wasm")),
        source_text: "wasi-probe.wasm".into(),
        source_location: here(),
        grants: Vec::new(),
        sha256: None,
        signed_by: None,
        version: None,
        location: here(),
    }
}

/// A sync into `/p` with neither `--ref` nor `build.branch`.
pub fn sync_request(section: &PluginSection) -> SyncRequest<'_> {
    SyncRequest {
        section,
        path: "/p".into(),
        git_ref: None,
        branch: None,
    }
}
