//! The per-user plugin store: what `ops plugin install` put there.
//!
//! Lives in `$OPS_DATA_DIR`, else `$XDG_DATA_HOME/ops`, else
//! `~/.local/share/ops`, under `plugins/<name>/`: the component as
//! `plugin.wasm` and what was learnt when it was installed as
//! `plugin.json`. Compiled artifacts are not kept here but in the compile
//! cache ([`crate::plugin::ComponentCache`]), which only this host writes.
//!
//! Writes are atomic (temp file + rename in the same folder), so a crashed
//! install leaves the previous version or nothing, never half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One installed plugin, as `plugin.json` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub name: String,
    /// The plugin's own semver version.
    pub version: String,
    pub kind: crate::domain::PluginKind,
    /// The plugin API version it targets.
    pub api_version: String,
    /// Where it was installed from, as given: a path, `https://...` or
    /// `oci://...`.
    pub source: String,
    /// Of `plugin.wasm`, lowercase hex.
    pub sha256: String,
    /// What its metadata declares, in grant syntax (`remote-exec`,
    /// `http:auth.example.com`).
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no plugin store: none of OPS_DATA_DIR, XDG_DATA_HOME or HOME is set")]
    NoHome,
    #[error("plugin store {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plugin store {}: unreadable record: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("plugin store: `{0}` is not a plugin name (lowercase letters, digits and `-`, starting with a letter)")]
    BadName(String),
    #[error(
        "plugin store: {} has sha256 {actual}, but it was installed with sha256 {expected}; \
         reinstall it with `ops plugin install`",
        path.display()
    )]
    Tampered {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

/// The store folder; nothing is created until something is installed.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in its usual place (see the module docs).
    pub fn from_env() -> Result<Store, StoreError> {
        let base = non_empty_env("OPS_DATA_DIR")
            .or_else(|| non_empty_env("XDG_DATA_HOME").map(|d| d.join("ops")))
            .or_else(|| non_empty_env("HOME").map(|h| h.join(".local/share/ops")))
            .ok_or(StoreError::NoHome)?;
        Ok(Store::at(base))
    }

    /// A store rooted at `dir` (its `plugins/` folder holds the plugins).
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn plugins_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// The folder of the plugin `name`, whether or not it is installed.
    pub fn plugin_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        Ok(self.plugins_dir().join(name))
    }

    /// The component file of the plugin `name`.
    pub fn wasm_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        Ok(self.plugin_dir(name)?.join("plugin.wasm"))
    }

    /// The record of the installed plugin `name`, if there is one.
    pub fn get(&self, name: &str) -> Result<Option<Installed>, StoreError> {
        let record = self.plugin_dir(name)?.join("plugin.json");
        let text =
            match crate::local_file::read_local_text(&record, crate::local_file::MAX_TEXT_FILE) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => {
                    return Err(StoreError::Io {
                        path: record,
                        source,
                    })
                }
            };
        let installed: Installed =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                path: record.clone(),
                message: e.to_string(),
            })?;
        Ok(Some(installed))
    }

    /// The bytes of the installed plugin `name`, checked against the digest
    /// recorded at install time.
    pub fn read(&self, installed: &Installed) -> Result<Vec<u8>, StoreError> {
        let path = self.wasm_path(&installed.name)?;
        let bytes =
            crate::local_file::read_local_file(&path, crate::local_file::MAX_COMPONENT_FILE)
                .map_err(|source| StoreError::Io {
                    path: path.clone(),
                    source,
                })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != installed.sha256 {
            return Err(StoreError::Tampered {
                path,
                expected: installed.sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Every installed plugin, by name.
    pub fn list(&self) -> Result<Vec<Installed>, StoreError> {
        let dir = self.plugins_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        let mut all = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            // Temp folders of an install in progress, or foreign files.
            if check_name(&name).is_err() {
                continue;
            }
            if let Some(installed) = self.get(&name)? {
                all.push(installed);
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Records `wasm` as the plugin `installed.name`, replacing any earlier
    /// version. `installed.sha256` must be the digest of `wasm`.
    pub fn put(&self, installed: &Installed, wasm: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = self.plugin_dir(&installed.name)?;
        create_private_dir(&dir)?;
        let json = serde_json::to_vec_pretty(installed).map_err(|e| StoreError::Corrupt {
            path: dir.join("plugin.json"),
            message: e.to_string(),
        })?;
        // The wasm first: a record never names bytes that are not there.
        let wasm_path = dir.join("plugin.wasm");
        write_atomic(&wasm_path, wasm)?;
        write_atomic(&dir.join("plugin.json"), &json)?;
        Ok(wasm_path)
    }

    /// Keeps `armored` as the signature of the installed plugin `name`
    /// (`plugin.wasm.sig`, beside it, as for a file), or removes an old
    /// one when there is none.
    pub fn put_signature(&self, name: &str, armored: Option<&str>) -> Result<(), StoreError> {
        let path = self.plugin_dir(name)?.join("plugin.wasm.sig");
        match armored {
            Some(text) => write_atomic(&path, text.as_bytes()),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(StoreError::Io { path, source: e })
                }
                _ => Ok(()),
            },
        }
    }

    /// Removes the plugin `name`; `false` if it was not installed.
    pub fn remove(&self, name: &str) -> Result<bool, StoreError> {
        let dir = self.plugin_dir(name)?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Io { path: dir, source }),
        }
    }
}

/// Plugin names are also folder names and config keys.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    name.parse::<crate::domain::PluginName>()
        .map(drop)
        .map_err(|_| StoreError::BadName(name.to_owned()))
}

fn non_empty_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    temp.write_all(bytes).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, wasm: &[u8]) -> Installed {
        Installed {
            name: name.to_owned(),
            version: "1.2.3".to_owned(),
            kind: crate::domain::PluginKind::SyncStrategy,
            api_version: "0.2.0".to_owned(),
            source: "/tmp/x.wasm".to_owned(),
            sha256: hex::encode(Sha256::digest(wasm)),
            capabilities: vec!["remote-exec".to_owned()],
            description: String::new(),
        }
    }

    #[test]
    fn put_get_list_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        assert_eq!(store.list().unwrap(), Vec::new());
        let acme = record("acme-sync", b"\0asm one");
        store.put(&acme, b"\0asm one").unwrap();
        store.put(&record("b", b"two"), b"two").unwrap();
        assert_eq!(store.get("acme-sync").unwrap(), Some(acme.clone()));
        assert_eq!(store.read(&acme).unwrap(), b"\0asm one");
        let names: Vec<String> = store.list().unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["acme-sync", "b"]);
        assert!(store.remove("acme-sync").unwrap());
        assert!(!store.remove("acme-sync").unwrap());
        assert_eq!(store.get("acme-sync").unwrap(), None);
    }

    #[test]
    fn a_changed_file_is_refused_naming_both_digests() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let acme = record("acme", b"original");
        let path = store.put(&acme, b"original").unwrap();
        std::fs::write(&path, b"swapped").unwrap();
        let err = store.read(&acme).unwrap_err().to_string();
        assert!(err.contains(&acme.sha256), "{err}");
        assert!(
            err.contains(&hex::encode(Sha256::digest(b"swapped"))),
            "{err}"
        );
    }

    #[test]
    fn names_that_could_escape_the_store_are_refused() {
        let store = Store::at("/nonexistent");
        for bad in ["", "../x", "a/b", "A", "-x", "x y", ".."] {
            assert!(store.get(bad).is_err(), "{bad:?} accepted");
        }
    }
}
