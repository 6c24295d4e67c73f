//! One wasmtime engine for the whole process, its epoch ticker, the linker
//! with every host interface, and loading (compile or cache, version check,
//! pre-instantiation, metadata).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy};

use super::bindings;
use super::cache::ComponentCache;
use super::capability::{Grant, Grants};
use super::error::PluginError;
use super::limits::Limits;
use super::loaded::{Plugin, PluginInner, Pre};
use super::metadata::{Kind, Metadata};
use super::state::PluginState;
use super::version;

/// How often the epoch advances; the deadline is checked at this grain.
const TICK: Duration = Duration::from_millis(10);

/// Where a plugin's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Embedded in the `ops` binary.
    Builtin,
    /// `[plugins.<name>] path = "..."`.
    Path(PathBuf),
    /// `[plugins.<name>] url = "..."`.
    Url(String),
    /// `[plugins.<name>] oci = "..."`.
    Oci(String),
    /// The user's plugin store (`ops plugin install`).
    Installed,
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin => f.write_str("builtin"),
            PluginSource::Path(p) => write!(f, "{}", p.display()),
            PluginSource::Url(u) | PluginSource::Oci(u) => f.write_str(u),
            PluginSource::Installed => f.write_str("installed"),
        }
    }
}

/// The plugin runtime. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    linker: Linker<PluginState>,
    cache: ComponentCache,
    pub(crate) limits: Limits,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// The runtime with the cache in its usual place
    /// ([`ComponentCache::from_env`]).
    pub fn new(limits: Limits) -> Result<Runtime, PluginError> {
        Runtime::with_cache(limits, ComponentCache::from_env())
    }

    pub fn with_cache(limits: Limits, cache: ComponentCache) -> Result<Runtime, PluginError> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            // Pooling reserves large address ranges up front and fails on
            // small VMs; a CLI instantiates a handful of plugins anyway.
            .allocation_strategy(InstanceAllocationStrategy::OnDemand);
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        // The sync-strategy world of each version imports every host
        // interface of that version; the other worlds import a subset, and
        // extra definitions are harmless. The versions' interface names
        // differ (`...@0.1.0`, `...@0.2.0`, ...), so one linker holds all.
        bindings::latest::OpsPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state: &mut PluginState| state,
        )
        .map_err(|e| PluginError::Engine(e.to_string()))?;
        bindings::v0_2_0::OpsPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state: &mut PluginState| state,
        )
        .map_err(|e| PluginError::Engine(e.to_string()))?;
        bindings::v0_1_0::sync::SyncStrategy::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut linker,
            |state: &mut PluginState| state,
        )
        .map_err(|e| PluginError::Engine(e.to_string()))?;
        // Restricted: see host/wasi.rs for what a plugin can reach (nothing).
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| PluginError::Engine(e.to_string()))?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop = stop_ticker.clone();
        std::thread::Builder::new()
            .name("ops-plugin-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| PluginError::Engine(format!("cannot start the epoch ticker: {e}")))?;

        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                limits,
                stop_ticker,
            }),
        })
    }

    /// Compiles (or loads from the cache) a plugin, refuses it if its API
    /// version is incompatible (before instantiating anything), links it,
    /// and asks it for its metadata, which must agree with the component.
    ///
    /// `grants`: `None` for a built-in (granted what it declares), else the
    /// user's `grant = [...]`.
    pub async fn load(
        &self,
        name: &str,
        source: PluginSource,
        wasm: Arc<[u8]>,
        grants: Option<Vec<Grant>>,
    ) -> Result<Plugin, PluginError> {
        self.load_as(Some(name), name, source, wasm, grants).await
    }

    /// Like [`Runtime::load`] for a component whose name is not known yet
    /// (`ops plugin install`): the name is the one its metadata gives, and
    /// `label` names it in errors until then. Nothing is granted.
    pub async fn load_unnamed(
        &self,
        label: &str,
        source: PluginSource,
        wasm: Arc<[u8]>,
    ) -> Result<Plugin, PluginError> {
        self.load_as(None, label, source, wasm, Some(Vec::new()))
            .await
    }

    /// The component's import and export names, from the compile cache
    /// when it is there.
    pub async fn interfaces(
        &self,
        label: &str,
        wasm: Arc<[u8]>,
    ) -> Result<(Vec<String>, Vec<String>), PluginError> {
        binary_component(label, &wasm)?;
        let engine = self.inner.engine.clone();
        let cache = self.inner.cache.clone();
        let digest = hex::encode(Sha256::digest(&wasm));
        let (component, _) =
            tokio::task::spawn_blocking(move || cache.load(&engine, &wasm, &digest))
                .await
                .map_err(|e| PluginError::Engine(format!("compile task failed: {e}")))?
                .map_err(|e| PluginError::Invalid {
                    plugin: label.to_owned(),
                    message: format!("{e:#}"),
                })?;
        let ty = component.component_type();
        let engine = &self.inner.engine;
        let imports = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
        let exports = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
        Ok((imports, exports))
    }

    /// `expected`: the name the plugin must call itself, or `None` to take
    /// the name it gives.
    async fn load_as(
        &self,
        expected: Option<&str>,
        name: &str,
        source: PluginSource,
        wasm: Arc<[u8]>,
        grants: Option<Vec<Grant>>,
    ) -> Result<Plugin, PluginError> {
        binary_component(name, &wasm)?;
        let sha256 = hex::encode(Sha256::digest(&wasm));
        let engine = self.inner.engine.clone();
        let cache = self.inner.cache.clone();
        let (component, load_source) = {
            let wasm = wasm.clone();
            let digest = sha256.clone();
            tokio::task::spawn_blocking(move || cache.load(&engine, &wasm, &digest))
                .await
                .map_err(|e| PluginError::Engine(format!("compile task failed: {e}")))?
                .map_err(|e| PluginError::Invalid {
                    plugin: name.to_owned(),
                    message: format!("{e:#}"),
                })?
        };

        let (api_target, kind) = self.inspect(name, &component)?;
        let instance_pre =
            self.inner
                .linker
                .instantiate_pre(&component)
                .map_err(|e| PluginError::Invalid {
                    plugin: name.to_owned(),
                    message: format!("it needs imports this host does not provide: {e:#}"),
                })?;
        let pre = pre_for(name, &api_target, kind, instance_pre)?;

        // Metadata comes from running the plugin, with no grants at all.
        let mut plugin = PluginInner {
            name: name.to_owned(),
            source,
            sha256,
            metadata: Metadata::placeholder(name, kind.unwrap_or(Kind::SyncStrategy)),
            api_target,
            load_source,
            pre,
            grants: Arc::new(Grants::builtin(name, &[])),
            runtime: self.inner.clone(),
        };
        let raw = plugin.raw_metadata().await?;
        let name = expected.map_or_else(|| raw.name.clone(), str::to_owned);
        plugin.name = name.clone();
        let metadata = Metadata::check(&name, raw, kind, &plugin.api_target)?;
        let name = name.as_str();
        plugin.grants = Arc::new(match &grants {
            None => Grants::builtin(name, &metadata.capabilities),
            Some(grants) => Grants::installed(name, &metadata.capabilities, grants),
        });
        plugin.metadata = metadata;
        Ok(Plugin::from_inner(plugin))
    }

    /// The API version the component targets and, for API 0.1.0, its kind,
    /// from its imports and exports alone: nothing runs before this passes.
    fn inspect(
        &self,
        name: &str,
        component: &Component,
    ) -> Result<(semver::Version, Option<Kind>), PluginError> {
        let engine = &self.inner.engine;
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
        let target = version::target_of(imports.iter().chain(&exports).map(String::as_str))
            .map_err(|message| PluginError::Invalid {
                plugin: name.to_owned(),
                message,
            })?;
        if version::implementation_for(&target).is_none() {
            return Err(PluginError::IncompatibleApi {
                plugin: name.to_owned(),
                target: target.to_string(),
                host: version::SUPPORTED.join(", "),
            });
        }
        let exported = |iface: &str| {
            exports.iter().any(|e| {
                e.strip_prefix("ops:plugin/")
                    .and_then(|r| r.split('@').next())
                    == Some(iface)
            })
        };
        let kinds: Vec<Kind> = [
            ("sync", Kind::SyncStrategy),
            ("registry", Kind::RegistryAuth),
            ("image", Kind::ImageBuilder),
        ]
        .into_iter()
        .filter(|(iface, _)| exported(iface))
        .map(|(_, kind)| kind)
        .collect();
        // APIs since 0.2.0 have one world exporting every kind; the plugin's
        // metadata says which it is. API 0.1.0 has a world per kind.
        let latest = version::implementation_for(&target) != Some(version::v0_1());
        match (exported("plugin"), kinds.as_slice()) {
            (true, [_, _, _]) if latest => Ok((target, None)),
            (true, _) if latest => Err(PluginError::Invalid {
                plugin: name.to_owned(),
                message: format!(
                    "it does not export all of ops:plugin/sync, registry, image, as API {target}'s \
                     world ops-plugin does"
                ),
            }),
            (true, [kind]) => Ok((target, Some(*kind))),
            (false, _) => Err(PluginError::Invalid {
                plugin: name.to_owned(),
                message: "it does not export ops:plugin/plugin".into(),
            }),
            (true, []) => Err(PluginError::Invalid {
                plugin: name.to_owned(),
                message: "it exports none of ops:plugin/sync, registry, image".into(),
            }),
            (true, _) => Err(PluginError::Invalid {
                plugin: name.to_owned(),
                message: "it exports more than one of ops:plugin/sync, registry, image".into(),
            }),
        }
    }
}

/// Plugins are binary components. The text format is a language wasmtime
/// can be built to parse, and whatever parses it is one more parser in
/// front of untrusted bytes; nothing a plugin needs.
fn binary_component(name: &str, wasm: &[u8]) -> Result<(), PluginError> {
    const COMPONENT: [u8; 8] = *b"\0asm\x0d\0\x01\0";
    const MODULE: [u8; 8] = *b"\0asm\x01\0\0\0";
    let message = match wasm.get(..8) {
        Some(head) if head == COMPONENT => return Ok(()),
        Some(head) if head == MODULE => {
            "it is a core WebAssembly module, not a component (wrap it with `wasm-tools \
             component new`)"
        }
        Some(head) if head.starts_with(b"\0asm") => {
            "it is WebAssembly of a version or layer this host does not know"
        }
        _ => {
            "it is not a binary WebAssembly component (no WebAssembly magic bytes; the text \
              format is not accepted)"
        }
    };
    Err(PluginError::Invalid {
        plugin: name.to_owned(),
        message: message.to_owned(),
    })
}

/// The typed pre-instance for the API version that implements `target`
/// (checked by `inspect`): its one world, or for 0.1.0 the world `kind`.
fn pre_for(
    name: &str,
    target: &semver::Version,
    kind: Option<Kind>,
    instance_pre: wasmtime::component::InstancePre<PluginState>,
) -> Result<Pre, PluginError> {
    let invalid = |e: wasmtime::Error| PluginError::Invalid {
        plugin: name.to_owned(),
        message: format!("{e:#}"),
    };
    let implementation = version::implementation_for(target);
    if implementation == Some(version::host_api()) {
        let pre = bindings::latest::OpsPluginPre::new(instance_pre).map_err(invalid)?;
        return Ok(Pre::Latest(pre));
    }
    if implementation == Some(version::v0_2()) {
        let pre = bindings::v0_2_0::OpsPluginPre::new(instance_pre).map_err(invalid)?;
        return Ok(Pre::V0_2(pre));
    }
    use bindings::v0_1_0 as old;
    // `inspect` found the kind of every 0.1.0 component.
    Ok(match kind.unwrap_or(Kind::SyncStrategy) {
        Kind::SyncStrategy => {
            Pre::SyncV0_1(old::sync::SyncStrategyPre::new(instance_pre).map_err(invalid)?)
        }
        Kind::RegistryAuth => {
            Pre::AuthV0_1(old::auth::RegistryAuthPre::new(instance_pre).map_err(invalid)?)
        }
        Kind::ImageBuilder => {
            Pre::ImageV0_1(old::image::ImageBuilderPre::new(instance_pre).map_err(invalid)?)
        }
    })
}
