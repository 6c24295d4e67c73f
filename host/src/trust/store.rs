//! Where trust is recorded: one file per project file under `trust/` in
//! the data folder the plugin store uses (`$OPS_DATA_DIR`, else
//! `$XDG_DATA_HOME/ops`, else `~/.local/share/ops`), named by a
//! digest of the project file's canonical path and holding the digest of
//! the findings it was trusted with. Only the user reads or writes it
//! (0700 folder, 0600 files).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::TrustError;
use super::findings::Finding;

pub struct Store {
    dir: PathBuf,
}

fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// What trust is given to: the file's place and exactly the parts that
/// need it, in a stable order.
pub fn digest(file: &Path, findings: &[Finding]) -> String {
    let mut parts: Vec<&str> = findings.iter().map(|f| f.material.as_str()).collect();
    parts.sort_unstable();
    parts.dedup();
    sha256_hex(format!("{}\n{}", file.display(), parts.join("\n")))
}

impl Store {
    /// The store of the user `env` describes; `None` without a home.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<Store> {
        let absolute = |name: &str| env(name).filter(|v| v.starts_with('/')).map(PathBuf::from);
        let data = absolute("OPS_DATA_DIR")
            .or_else(|| absolute("XDG_DATA_HOME").map(|d| d.join("ops")))
            .or_else(|| absolute("HOME").map(|h| h.join(".local/share/ops")))?;
        Some(Store {
            dir: data.join("trust"),
        })
    }

    fn entry(&self, file: &Path) -> PathBuf {
        self.dir
            .join(sha256_hex(file.as_os_str().as_encoded_bytes()))
    }

    /// Whether `file` is trusted with exactly `digest`.
    pub fn trusts(&self, file: &Path, digest: &str) -> bool {
        fs::read_to_string(self.entry(file)).is_ok_and(|text| text.lines().nth(1) == Some(digest))
    }

    pub fn record(&self, file: &Path, digest: &str) -> Result<PathBuf, TrustError> {
        let io = |source| TrustError::Store {
            path: self.dir.clone(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io)?;
        let entry = self.entry(file);
        let partial = entry.with_extension("partial");
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io)?;
        writeln!(out, "{}\n{digest}", file.display()).map_err(io)?;
        drop(out);
        fs::rename(&partial, &entry).map_err(io)?;
        Ok(entry)
    }

    /// Forgets `file`; whether there was anything to forget.
    pub fn revoke(&self, file: &Path) -> Result<bool, TrustError> {
        match fs::remove_file(self.entry(file)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(TrustError::Store {
                path: self.dir.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn finding(material: &str) -> Finding {
        Finding {
            location: crate::config::Location {
                file: "ops.toml".into(),
                line: 1,
                column: 1,
            },
            what: String::new(),
            material: material.into(),
        }
    }

    #[test]
    fn records_checks_and_revokes_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().display().to_string();
        let store = Store::from_env(|n| (n == "XDG_DATA_HOME").then(|| data.clone())).unwrap();
        let file = Path::new("/p/ops.toml");
        let digest = digest(file, &[finding("b"), finding("a")]);
        assert_eq!(digest, super::digest(file, &[finding("a"), finding("b")]));
        assert!(!store.trusts(file, &digest));
        let entry = store.record(file, &digest).unwrap();
        assert!(store.trusts(file, &digest));
        assert!(!store.trusts(file, &super::digest(file, &[finding("a")])));
        assert!(!store.trusts(Path::new("/q/ops.toml"), &digest));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&entry), 0o600);
        assert_eq!(mode(entry.parent().unwrap()), 0o700);
        assert!(store.revoke(file).unwrap());
        assert!(!store.trusts(file, &digest) && !store.revoke(file).unwrap());
    }
}
