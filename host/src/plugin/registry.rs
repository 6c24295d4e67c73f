//! The plugins `ops` knows: the built-ins embedded in the binary, and the
//! ones `[plugins.<name>]` installs (which replace a built-in of the same
//! name). Plugins are loaded on first use.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::capability::Grant;
use super::error::PluginError;
use super::handles::{ImageBuilder, RegistryAuth, SyncStrategy};
use super::loaded::Plugin;
use super::runtime::{PluginSource, Runtime};
use crate::config::{ConfigError, PluginDecl};

/// The built-in plugins, compiled by `cargo xtask plugins` and committed,
/// so that building `ops` needs no wasm toolchain.
pub const BUILTINS: &[(&str, &[u8])] = &[
    ("git", include_bytes!("../../../plugins/dist/git.wasm")),
    ("rsync", include_bytes!("../../../plugins/dist/rsync.wasm")),
    (
        "docker",
        include_bytes!("../../../plugins/dist/docker.wasm"),
    ),
    (
        "token-auth",
        include_bytes!("../../../plugins/dist/token-auth.wasm"),
    ),
];

pub struct Registry {
    runtime: Runtime,
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    source: PluginSource,
    /// `None` for built-ins: granted what they declare.
    grants: Option<Vec<Grant>>,
    builtin_bytes: Option<&'static [u8]>,
    /// `sha256 = "..."` and where it is written.
    pin: Option<(String, crate::config::Location)>,
    loaded: OnceCell<Plugin>,
}

impl Registry {
    /// Only the built-ins.
    pub fn builtins(runtime: &Runtime) -> Registry {
        Registry {
            runtime: runtime.clone(),
            entries: BUILTINS
                .iter()
                .map(|(name, bytes)| Entry {
                    name: (*name).to_owned(),
                    source: PluginSource::Builtin,
                    grants: None,
                    builtin_bytes: Some(bytes),
                    pin: None,
                    loaded: OnceCell::new(),
                })
                .collect(),
        }
    }

    /// The built-ins plus the config's `[plugins.<name>]` entries; a bad
    /// `grant` is a config error at its location.
    pub fn new(runtime: &Runtime, installed: &[PluginDecl]) -> Result<Registry, ConfigError> {
        let mut registry = Registry::builtins(runtime);
        for decl in installed {
            let mut grants = Vec::new();
            for (text, location) in &decl.grants {
                let grant = Grant::parse(text).map_err(|message| {
                    ConfigError::invalid(
                        location.clone(),
                        format!("plugins.{}.grant", decl.name),
                        message,
                    )
                })?;
                grants.push(grant);
            }
            registry.entries.retain(|e| e.name != decl.name);
            registry.entries.push(Entry {
                name: decl.name.clone(),
                source: PluginSource::Path(decl.path.clone()),
                grants: Some(grants),
                builtin_bytes: None,
                pin: decl.sha256.clone(),
                loaded: OnceCell::new(),
            });
        }
        Ok(registry)
    }

    /// Every plugin name with where it comes from, built-ins first.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &PluginSource)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.source))
    }

    /// The plugin called `name`, loaded on first use.
    pub async fn get(&self, name: &str) -> Result<Plugin, PluginError> {
        let Some(entry) = self.entries.iter().find(|e| e.name == name) else {
            let known: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
            let hint = crate::config::closest(name, &known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(PluginError::Unknown {
                name: name.to_owned(),
                known: format!("{}{hint}", known.join(", ")),
            });
        };
        entry
            .loaded
            .get_or_try_init(|| async {
                let bytes: Arc<[u8]> = match (&entry.builtin_bytes, &entry.source) {
                    (Some(bytes), _) => Arc::from(*bytes),
                    (None, PluginSource::Path(path)) => tokio::fs::read(path)
                        .await
                        .map_err(|source| PluginError::Read {
                            plugin: entry.name.clone(),
                            path: path.clone(),
                            source,
                        })?
                        .into(),
                    (None, PluginSource::Builtin) => {
                        return Err(PluginError::Engine(format!(
                            "built-in plugin {} has no bytes",
                            entry.name
                        )))
                    }
                };
                if let (Some((expected, at)), PluginSource::Path(path)) =
                    (&entry.pin, &entry.source)
                {
                    let actual = hex::encode(Sha256::digest(&bytes));
                    if actual != *expected {
                        return Err(PluginError::DigestMismatch {
                            plugin: entry.name.clone(),
                            path: path.clone(),
                            expected: expected.clone(),
                            actual,
                            at: at.to_string(),
                        });
                    }
                }
                self.runtime
                    .load(
                        &entry.name,
                        entry.source.clone(),
                        bytes,
                        entry.grants.clone(),
                    )
                    .await
            })
            .await
            .cloned()
    }

    pub async fn sync_strategy(&self, name: &str) -> Result<SyncStrategy, PluginError> {
        self.get(name).await?.sync_strategy()
    }

    pub async fn registry_auth(&self, name: &str) -> Result<RegistryAuth, PluginError> {
        self.get(name).await?.registry_auth()
    }

    pub async fn image_builder(&self, name: &str) -> Result<ImageBuilder, PluginError> {
        self.get(name).await?.image_builder()
    }
}
