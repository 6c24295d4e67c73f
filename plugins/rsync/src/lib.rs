//! `rsync`: the sync strategy for `source = "push"`: the local project tree
//! to `build.path` with delta transfer, honouring `.gitignore` and
//! `[build.push] exclude`.
//!
//! Its transport must be the SSH connection ops already verified (ops as
//! rsync's remote-shell program), which the host does not offer yet; until
//! it does, `sync` says so instead of pretending to have synced anything.

wit_bindgen::generate!({
    path: "../../wit/v0.1.0",
    world: "sync-strategy",
});

// Makes cargo rebuild this crate when the contract changes: the macro
// above reads the WIT without telling cargo.
const _: &str = include_str!("../../../wit/v0.1.0/plugin.wit");

pub mod args;

use exports::ops::plugin::plugin::Guest as PluginGuest;
use exports::ops::plugin::sync::{Guest as SyncGuest, SyncOutcome, SyncRequest};
use ops::plugin::types::{
    Capability, Config, ConfigError, ConfigValue, PluginKind, PluginMetadata,
};
use ops_plugin_common::unknown_key_message;

const SECTION: &str = "build.push";
const KEYS: &[&str] = &["exclude"];

struct Rsync;

impl PluginGuest for Rsync {
    fn metadata() -> PluginMetadata {
        PluginMetadata {
            name: "rsync".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api_version: "0.1.0".into(),
            kind: PluginKind::SyncStrategy,
            description: "Push the local project tree to the build node with rsync".into(),
            capabilities: vec![Capability::LocalExec(vec!["rsync".into()])],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        excludes(&config).map(|_| ())
    }
}

impl SyncGuest for Rsync {
    fn sync(request: SyncRequest) -> Result<SyncOutcome, String> {
        excludes(&request.config).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Err(format!(
            "source = \"push\" cannot sync to {} yet: this ops version has no rsync transport over its SSH connection; use source = \"git\"",
            request.path
        ))
    }
}

fn excludes(config: &Config) -> Result<Vec<String>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut patterns = Vec::new();
    for entry in config {
        match (entry.key.as_str(), &entry.value) {
            ("exclude", ConfigValue::TextList(list)) => {
                for pattern in list {
                    match args::check_pattern(pattern) {
                        Ok(()) => patterns.push(pattern.clone()),
                        Err(problem) => errors.push(ConfigError {
                            key: "exclude".into(),
                            message: format!("exclude pattern {pattern:?} {problem}"),
                        }),
                    }
                }
            }
            ("exclude", _) => errors.push(ConfigError {
                key: "exclude".into(),
                message:
                    "`exclude` must be a list of patterns, e.g. exclude = [\"target/\", \"*.log\"]"
                        .into(),
            }),
            (key, _) => errors.push(ConfigError {
                key: key.into(),
                message: unknown_key_message(key, SECTION, KEYS),
            }),
        }
    }
    if errors.is_empty() {
        Ok(patterns)
    } else {
        Err(errors)
    }
}

export!(Rsync);
