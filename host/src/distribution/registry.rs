//! The plugins `ops` knows: the built-ins embedded in the binary, the ones
//! `[plugins.<name>]` declares (which replace a built-in of the same name),
//! and those of the user's plugin store that a project names. Plugins are
//! loaded on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::downloads::{Downloads, Fetcher, NetFetcher};
use super::store::Store;
use crate::config::{ConfigError, DeclSource, PluginDecl};
use crate::exit::ExitStatusOf;
use crate::plugin::{
    Grant, ImageBuilder, Plugin, PluginError, PluginSource, RegistryAuth, Runtime, SyncStrategy,
    BUILTINS,
};

mod signature;

pub struct Registry {
    runtime: Runtime,
    entries: Vec<Entry>,
    store: Option<Store>,
    downloads: Downloads,
    fetcher: Arc<dyn Fetcher>,
    /// Digests ops.lock pins, by plugin: a `url`/`oci` plugin whose bytes
    /// are in the download cache under that digest is not fetched.
    cached: BTreeMap<String, String>,
    /// Third-party plugins are loaded granted nothing (`ops config check`,
    /// `--dry-run`): their code may run, but it can reach nothing.
    withhold: bool,
    /// Plugins whose tags were read on this run and offer a newer release
    /// in range than the one used: name, newer version.
    newer: Vec<(String, String)>,
    /// The notices file, when this run may look for newer releases of the
    /// plugins ops.lock keeps (a person at a terminal, not CI).
    notices: Option<std::path::PathBuf>,
}

struct Entry {
    name: String,
    source: PluginSource,
    /// `None` for built-ins: granted what they declare.
    grants: Option<Vec<Grant>>,
    builtin_bytes: Option<&'static [u8]>,
    /// `sha256 = "..."` and where it is written.
    pin: Option<(String, crate::config::Location)>,
    /// Read (or fetched) once, and checked against `pin`, before anything
    /// compiles them.
    bytes: OnceCell<Arc<[u8]>>,
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
                    bytes: OnceCell::new(),
                    loaded: OnceCell::new(),
                })
                .collect(),
            store: Store::from_env().ok(),
            downloads: Downloads::from_env(),
            fetcher: Arc::new(NetFetcher),
            cached: BTreeMap::new(),
            withhold: false,
            newer: Vec::new(),
            notices: None,
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
            let source = match &decl.source {
                DeclSource::Path(path) => PluginSource::Path(path.clone()),
                DeclSource::Url(url) => PluginSource::Url(url.clone()),
                DeclSource::Oci(reference) => PluginSource::Oci(reference.clone()),
                DeclSource::Installed => PluginSource::Installed,
            };
            registry.entries.retain(|e| e.name != decl.name);
            registry.entries.push(Entry {
                name: decl.name.clone(),
                source,
                grants: Some(grants),
                builtin_bytes: None,
                pin: decl.sha256.clone(),
                bytes: OnceCell::new(),
                loaded: OnceCell::new(),
            });
        }
        Ok(registry)
    }

    /// Uses `store` instead of the user's plugin store.
    pub fn with_store(mut self, store: Store) -> Registry {
        self.store = Some(store);
        self
    }

    /// Fetches `url`/`oci` plugins with `fetcher`, keeping them in
    /// `downloads`.
    pub fn with_fetcher(mut self, downloads: Downloads, fetcher: Arc<dyn Fetcher>) -> Registry {
        self.downloads = downloads;
        self.fetcher = fetcher;
        self
    }

    /// Loads every plugin that is not built in with all its capabilities
    /// withheld, whatever its grant says: for checks that promise to touch
    /// nothing. Built-ins are part of ops and keep what they declare.
    pub fn withholding_grants(mut self) -> Registry {
        self.withhold = true;
        self
    }

    /// Lets this run look for newer releases in range of locked plugins,
    /// throttled by the notices file `file`.
    pub fn looking_for_newer(mut self, file: std::path::PathBuf) -> Registry {
        self.notices = Some(file);
        self
    }

    /// The notices file, if this run looks for newer releases.
    pub fn notices(&self) -> Option<&std::path::Path> {
        self.notices.as_deref()
    }

    /// What the project grants the plugin `name` (`None`: a built-in, or
    /// not known).
    pub fn grants_of(&self, name: &str) -> Option<&[Grant]> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| e.grants.as_deref())
    }

    /// The plugin store this registry reads installed plugins from.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Notes the digest ops.lock pins for `name` (see `cached`).
    pub fn prefer_cached(&mut self, name: &str, sha256: &str) {
        self.cached.insert(name.to_owned(), sha256.to_owned());
    }

    /// Fetches the plugin `name` from `source` instead of what ops.toml
    /// names (the release a version range picked, by digest).
    pub fn pick_source(&mut self, name: &str, source: PluginSource) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.name == name) {
            entry.source = source;
        }
    }

    /// Notes that the tags offer `version`, newer than the release `name`
    /// uses, within its range.
    pub fn note_newer(&mut self, name: &str, version: String) {
        self.newer.push((name.to_owned(), version));
    }

    /// What [`Registry::note_newer`] noted.
    pub fn newer_in_range(&self) -> &[(String, String)] {
        &self.newer
    }

    /// Adds the plugin `name` from the plugin store, granted nothing, if
    /// it is installed there and not known yet. Whether it was added.
    pub fn add_installed(&mut self, name: &str) -> bool {
        if self.entries.iter().any(|e| e.name == name) {
            return false;
        }
        let installed = self
            .store
            .as_ref()
            .and_then(|store| store.get(name).ok().flatten());
        if installed.is_none() {
            return false;
        }
        self.entries.push(Entry {
            name: name.to_owned(),
            source: PluginSource::Installed,
            grants: Some(Vec::new()),
            builtin_bytes: None,
            pin: None,
            bytes: OnceCell::new(),
            loaded: OnceCell::new(),
        });
        true
    }

    /// Whether `name` is known, and where from.
    pub fn source_of(&self, name: &str) -> Option<&PluginSource> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.source)
    }

    /// Every plugin name with where it comes from, built-ins first.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &PluginSource)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.source))
    }

    /// The bytes of the plugin `name`, read or fetched on first use and
    /// checked against its `sha256` pin; nothing of them is compiled here.
    pub async fn bytes(&self, name: &str) -> Result<Arc<[u8]>, PluginError> {
        let entry = self.entry(name)?;
        entry
            .bytes
            .get_or_try_init(|| async {
                let bytes = self.bytes_of(entry).await?;
                if let Some((expected, at)) = &entry.pin {
                    let actual = hex::encode(Sha256::digest(&bytes));
                    if actual != *expected {
                        return Err(PluginError::DigestMismatch {
                            plugin: entry.name.clone(),
                            from: entry.source.to_string(),
                            expected: expected.clone(),
                            actual,
                            at: at.to_string(),
                        });
                    }
                }
                Ok(bytes)
            })
            .await
            .cloned()
    }

    /// The plugin called `name`, loaded on first use.
    pub async fn get(&self, name: &str) -> Result<Plugin, PluginError> {
        let entry = self.entry(name)?;
        entry
            .loaded
            .get_or_try_init(|| async {
                let bytes = self.bytes(name).await?;
                let grants = match (&entry.grants, self.withhold) {
                    (Some(_), true) => Some(Vec::new()),
                    (grants, _) => grants.clone(),
                };
                self.runtime
                    .load(&entry.name, entry.source.clone(), bytes, grants)
                    .await
            })
            .await
            .cloned()
    }

    fn entry(&self, name: &str) -> Result<&Entry, PluginError> {
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
        Ok(entry)
    }

    async fn bytes_of(&self, entry: &Entry) -> Result<Arc<[u8]>, PluginError> {
        let plugin = || entry.name.clone();
        match (&entry.builtin_bytes, &entry.source) {
            (Some(bytes), _) => Ok(Arc::from(*bytes)),
            (None, PluginSource::Path(path)) => Ok(crate::local_file::read_local_file(
                path,
                crate::local_file::MAX_COMPONENT_FILE,
            )
            .map_err(|source| PluginError::Read {
                plugin: plugin(),
                path: path.clone(),
                source,
            })?
            .into()),
            (None, PluginSource::Installed) => {
                let not_installed = |message: String| PluginError::NotInstalled {
                    plugin: plugin(),
                    message,
                };
                let store = self.store.as_ref().ok_or_else(|| {
                    not_installed("there is no plugin store (HOME is not set)".into())
                })?;
                let installed = store
                    .get(&entry.name)
                    .map_err(|e| not_installed(e.to_string()))?
                    .ok_or_else(|| {
                        not_installed(format!(
                            "it is not installed; install it with `ops plugin install`, or give \
                             [plugins.{}] a path, url or oci",
                            entry.name
                        ))
                    })?;
                Ok(store
                    .read(&installed)
                    .map_err(|e| not_installed(e.to_string()))?
                    .into())
            }
            (None, PluginSource::Url(source) | PluginSource::Oci(source)) => {
                let pinned = entry
                    .pin
                    .as_ref()
                    .map(|(digest, _)| digest.clone())
                    .or_else(|| self.cached.get(&entry.name).cloned());
                let (downloads, fetcher, source) =
                    (self.downloads.clone(), self.fetcher.clone(), source.clone());
                let fetched = tokio::task::spawn_blocking(move || {
                    downloads.get(&source, pinned.as_deref(), fetcher.as_ref())
                })
                .await
                .map_err(|e| PluginError::Engine(format!("fetch task failed: {e}")))?;
                Ok(fetched
                    .map_err(|source| PluginError::Fetch {
                        plugin: plugin(),
                        exit: source.exit(),
                        source: Box::new(source),
                    })?
                    .into())
            }
            (None, PluginSource::Builtin) => Err(PluginError::Engine(format!(
                "built-in plugin {} has no bytes",
                entry.name
            ))),
        }
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
