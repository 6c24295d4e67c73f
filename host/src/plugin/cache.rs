//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes hundreds of milliseconds;
//! loading the compiled artifact takes a few. Artifacts are keyed by the
//! sha256 of the wasm and the engine's compatibility hash (wasmtime
//! version, target, settings), written atomically (temp file + rename), and
//! loaded only from the cache folder this host creates for itself (0700,
//! owned by the current user). A precompiled artifact is native code, so
//! nothing else is ever deserialised; an artifact that fails to load is
//! recompiled and rewritten.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// Compiled now, and written to the cache when `stored`.
    Compiled { stored: bool },
    /// Loaded from an artifact this host compiled earlier.
    Cache,
}

#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    /// `$OPS_CACHE_DIR`, else `$XDG_CACHE_HOME/ops`, else `~/.cache/ops`;
    /// artifacts go to its `components/` folder. No home at all: no cache.
    pub fn from_env() -> ComponentCache {
        ComponentCache {
            dir: base_from_env().map(|b| b.join("components")),
        }
    }

    /// A cache in `dir` itself.
    pub fn at(dir: impl Into<PathBuf>) -> ComponentCache {
        ComponentCache {
            dir: Some(dir.into()),
        }
    }

    /// Always compile, never store.
    pub fn disabled() -> ComponentCache {
        ComponentCache { dir: None }
    }

    /// The component for `wasm` (whose sha256 is `digest`), from the cache
    /// when possible. Cache problems never fail the load: they only cost a
    /// compilation.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        digest: &str,
    ) -> wasmtime::Result<(Component, LoadSource)> {
        let Some(dir) = &self.dir else {
            return Ok((
                Component::new(engine, wasm)?,
                LoadSource::Compiled { stored: false },
            ));
        };
        let path = dir.join(format!("{digest}-{}.cwasm", engine_key(engine)));
        if is_ours(dir, &path) {
            // SAFETY: `path` is in the private cache folder this host created
            // (checked by `is_ours`: owned by us, not writable by others), and
            // only `store` below writes there, with bytes from
            // `Component::serialize` of the same engine configuration (the
            // file name carries the engine's compatibility hash; wasmtime
            // checks it again and fails cleanly on mismatch).
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, LoadSource::Cache)),
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        let stored = match component.serialize() {
            Ok(bytes) => store(dir, &path, &bytes).is_ok(),
            Err(_) => false,
        };
        Ok((component, LoadSource::Compiled { stored }))
    }
}

/// `$OPS_CACHE_DIR`, else `$XDG_CACHE_HOME/ops`, else `~/.cache/ops`: the
/// folder of the compile cache and of downloaded plugins.
pub(crate) fn base_from_env() -> Option<PathBuf> {
    std::env::var_os("OPS_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(|d| PathBuf::from(d).join("ops"))
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache/ops"))
        })
}

/// Writes through a temp file in the same folder and renames it into place,
/// so that a reader never sees a partial artifact.
fn store(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".cwasm")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Creates `dir` (and its parents) if missing, and makes it 0700.
#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// True when `path` is a regular file that only this user could have
/// written, in a folder only this user can write.
#[cfg(unix)]
fn is_ours(dir: &Path, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let uid = current_uid();
    let private = |m: &std::fs::Metadata| m.uid() == uid && m.mode() & 0o022 == 0;
    match (
        std::fs::symlink_metadata(dir),
        std::fs::symlink_metadata(path),
    ) {
        (Ok(d), Ok(f)) => d.is_dir() && f.is_file() && private(&d) && private(&f),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_ours(_dir: &Path, path: &Path) -> bool {
    path.is_file()
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// A short stable digest of the engine's compatibility hash. `Hash` gives
/// no stable bytes by itself, so feed it into sha256.
fn engine_key(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}
